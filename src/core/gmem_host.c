// SPDX-License-Identifier: MIT
/*
 * The host-memory provider: guest RAM as regions of host memory the
 * embedder owns, given as (gpa, size, host pointer), with no fd.  It
 * translates (binary search over regions sorted by GPA) but cannot remap,
 * so a GPADL whose pages are scattered in host memory becomes a paged
 * view.  Layer: core.
 *
 * Readers take no lock.  The region table is published through one atomic
 * pointer: adding a region above every other one writes the next slot and
 * then publishes the count; any other add copies the table, publishes the
 * copy and keeps the old one until destroy (a reader may still be in it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "openvmbus/gmem.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

struct host_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct host_table {
	struct host_table *retired; /* older tables, freed at destroy */
	unsigned int n;             /* published with release */
	unsigned int cap;
	struct host_region r[];
};

struct host_mem {
	pthread_mutex_t lock;     /* serialises adds */
	struct host_table *table; /* atomic */
};

/* The region holding @gpa, or NULL. */
static const struct host_region *host_find(const struct host_table *t,
					   unsigned int n, uint64_t gpa)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct host_region *r = &t->r[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static int host_translate(void *ctx, uint64_t gpa, uint64_t len,
			  struct iovec *iov, int max)
{
	struct host_mem *hm = ctx;
	const struct host_table *t =
		__atomic_load_n(&hm->table, __ATOMIC_ACQUIRE);
	unsigned int n = t ? __atomic_load_n(&t->n, __ATOMIC_ACQUIRE) : 0;
	int cnt = 0;

	while (len) {
		const struct host_region *r = host_find(t, n, gpa);
		uint64_t off, chunk;
		uint8_t *va;

		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		chunk = r->size - off < len ? r->size - off : len;
		va = r->hva + off;
		if (cnt && (uint8_t *)iov[cnt - 1].iov_base +
					   iov[cnt - 1].iov_len == va) {
			iov[cnt - 1].iov_len += chunk;
		} else {
			if (cnt == max)
				return -E2BIG;
			iov[cnt].iov_base = va;
			iov[cnt].iov_len = chunk;
			cnt++;
		}
		gpa += chunk;
		len -= chunk;
	}
	return cnt;
}

static uint64_t host_gpa_of(void *ctx, const void *p)
{
	struct host_mem *hm = ctx;
	const struct host_table *t =
		__atomic_load_n(&hm->table, __ATOMIC_ACQUIRE);
	unsigned int n = t ? __atomic_load_n(&t->n, __ATOMIC_ACQUIRE) : 0;
	const uint8_t *b = p;

	/* Guest side only (building GPADLs): a linear walk is enough. */
	for (unsigned int i = 0; i < n; i++)
		if (b >= t->r[i].hva && b - t->r[i].hva < (ptrdiff_t)t->r[i].size)
			return t->r[i].gpa + (uint64_t)(b - t->r[i].hva);
	return UINT64_MAX;
}

static void host_release(void *ctx)
{
	struct host_mem *hm = ctx;
	struct host_table *t = hm->table;

	while (t) {
		struct host_table *next = t->retired;

		free(t);
		t = next;
	}
	pthread_mutex_destroy(&hm->lock);
	free(hm);
}

static const struct ovb_gmem_ops host_ops = {
	.translate = host_translate,
	.gpa_of = host_gpa_of,
	.release = host_release,
};

int ovb_gmem_host_create(const char *name, struct ovb_gmem **out)
{
	struct host_mem *hm = calloc(1, sizeof(*hm));
	int rc;

	if (!hm)
		return -ENOMEM;
	pthread_mutex_init(&hm->lock, NULL);
	rc = ovb_gmem_create(&host_ops, hm, name, out);
	if (rc) {
		pthread_mutex_destroy(&hm->lock);
		free(hm);
	}
	return rc;
}

/* A copy of @t with room for @cap regions and @add inserted at @at. */
static struct host_table *host_grow(struct host_table *t, unsigned int cap,
				    unsigned int at,
				    const struct host_region *add)
{
	unsigned int n = t ? t->n : 0;
	struct host_table *nt =
		malloc(sizeof(*nt) + (size_t)cap * sizeof(nt->r[0]));

	if (!nt)
		return NULL;
	nt->retired = t;
	nt->cap = cap;
	nt->n = n + 1;
	if (at)
		memcpy(nt->r, t->r, at * sizeof(nt->r[0]));
	nt->r[at] = *add;
	if (n > at)
		memcpy(&nt->r[at + 1], &t->r[at], (n - at) * sizeof(nt->r[0]));
	return nt;
}

int ovb_gmem_host_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
		      void *hva)
{
	struct host_mem *hm = ovb_gmem_provider(gm, &host_ops);
	struct host_region add = { gpa, size, hva };
	struct host_table *t, *nt;
	unsigned int n, at = 0;
	int rc = 0;

	if (!hm)
		return -ENODEV;
	if (!size || (gpa | size) % PAGE || gpa + size < gpa ||
	    gpa + size == 0 || size > (1ull << 46) || !hva ||
	    (uintptr_t)hva % PAGE)
		return -EINVAL;
	pthread_mutex_lock(&hm->lock);
	t = hm->table;
	n = t ? t->n : 0;
	while (at < n && t->r[at].gpa < gpa)
		at++;
	if ((at > 0 && t->r[at - 1].gpa + t->r[at - 1].size > gpa) ||
	    (at < n && gpa + size > t->r[at].gpa))
		rc = -EEXIST;
	else if (n == OVB_GMEM_HOST_MAX_REGIONS)
		rc = -ENOSPC;
	if (rc)
		goto out;
	if (t && at == n && n < t->cap) {
		/* Above every region: readers never look past n. */
		t->r[n] = add;
		__atomic_store_n(&t->n, n + 1, __ATOMIC_RELEASE);
		goto out;
	}
	nt = host_grow(t, t && at == n ? t->cap * 2 : (t ? t->cap : 8) + 8,
		       at, &add);
	if (!nt) {
		rc = -ENOMEM;
		goto out;
	}
	__atomic_store_n(&hm->table, nt, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&hm->lock);
	return rc;
}
