// SPDX-License-Identifier: MIT
/*
 * Guest physical memory: the object that wraps a provider (include/
 * openvmbus/gmem.h) and the checks every GPA from a peer passes before a
 * provider sees it: no wrap past 2^64, no PFN whose address overflows.
 * Translation of single ranges and of GPA-direct range lists.  Layer: core.
 * Views live in gmem_view.c, the allocator in gmem_pool.c, the host-memory
 * provider in gmem_host.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/gmem_priv.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

int ovb_gmem_create(const struct ovb_gmem_ops *ops, void *ctx,
		    const char *name, struct ovb_gmem **out)
{
	struct ovb_gmem *gm;

	if (!ops || !ops->translate || (ops->map && !ops->unmap) || !out)
		return -EINVAL;
	gm = calloc(1, sizeof(*gm));
	if (!gm)
		return -ENOMEM;
	gm->ops = ops;
	gm->ctx = ctx;
	pthread_mutex_init(&gm->lock, NULL);
	snprintf(gm->name, sizeof(gm->name), "%s", name ? name : "gmem");
	*out = gm;
	return 0;
}

void ovb_gmem_destroy(struct ovb_gmem *gm)
{
	if (!gm)
		return;
	for (unsigned int i = 0; i < gm->npools; i++)
		free(gm->pool[i].bitmap);
	if (gm->ops->release)
		gm->ops->release(gm->ctx);
	pthread_mutex_destroy(&gm->lock);
	free(gm);
}

void *ovb_gmem_provider(const struct ovb_gmem *gm,
			const struct ovb_gmem_ops *ops)
{
	return gm && gm->ops == ops ? gm->ctx : NULL;
}

const char *ovb_gmem_name(const struct ovb_gmem *gm) { return gm->name; }

int ovb_gmem_translate(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len,
		       struct iovec *iov, int max)
{
	if (!len || max < 1)
		return -EINVAL;
	if (gpa + len < gpa || gpa + len == 0)
		return -EFAULT;
	return gm->ops->translate(gm->ctx, gpa, len, iov, max);
}

void *ovb_gmem_ptr(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len)
{
	struct iovec iov;

	if (ovb_gmem_translate(gm, gpa, len ? len : 1, &iov, 1) != 1)
		return NULL;
	return iov.iov_base;
}

uint64_t ovb_gmem_gpa(const struct ovb_gmem *gm, const void *p)
{
	unsigned int n = __atomic_load_n(&gm->npools, __ATOMIC_ACQUIRE);
	const uint8_t *b = p;

	for (unsigned int i = 0; i < n; i++) {
		const struct gmem_pool *pl = &gm->pool[i];

		if (b >= pl->hva && b < pl->hva + pl->size)
			return pl->gpa + (uint64_t)(b - pl->hva);
	}
	return gm->ops->gpa_of ? gm->ops->gpa_of(gm->ctx, p) : UINT64_MAX;
}

/* Append @piece to @iov, merged with the last one when adjacent. */
static int iov_add(struct iovec *iov, int cnt, int max,
		   const struct iovec *piece)
{
	if (cnt && (uint8_t *)iov[cnt - 1].iov_base + iov[cnt - 1].iov_len ==
			   piece->iov_base) {
		iov[cnt - 1].iov_len += piece->iov_len;
		return cnt;
	}
	if (cnt == max)
		return -E2BIG;
	iov[cnt] = *piece;
	return cnt + 1;
}

int ovb_gmem_ranges_iov(const struct ovb_gmem *gm,
			const struct ovb_gpa_range *ranges, uint32_t n,
			struct iovec *iov, int max, size_t *total)
{
	struct iovec piece[4];
	int cnt = 0;

	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ovb_gpa_range *r = &ranges[i];
		uint64_t left = r->byte_count, off = r->byte_offset;

		for (uint32_t p = 0; p < r->npfns && left; p++) {
			uint64_t pfn, chunk = PAGE - off;
			int np;

			memcpy(&pfn, &r->pfns[p], sizeof(pfn));
			if (chunk > left)
				chunk = left;
			if (pfn > UINT64_MAX / PAGE)
				return -EFAULT;
			/* A page may be split only by a provider whose
			 * backing changes inside it: a few pieces at most. */
			np = ovb_gmem_translate(gm, pfn * PAGE + off, chunk,
						piece, 4);
			if (np < 0)
				return np == -E2BIG ? -EFAULT : np;
			for (int k = 0; k < np; k++)
				if ((cnt = iov_add(iov, cnt, max, &piece[k])) < 0)
					return cnt;
			*total += chunk;
			left -= chunk;
			off = 0;
		}
	}
	return cnt;
}

void ovb_gmem_get_stats(const struct ovb_gmem *gm, struct ovb_gmem_stats *st)
{
	st->maps = __atomic_load_n(&gm->maps, __ATOMIC_RELAXED);
	st->direct_views = __atomic_load_n(&gm->direct_views, __ATOMIC_RELAXED);
	st->mapped_views = __atomic_load_n(&gm->mapped_views, __ATOMIC_RELAXED);
	st->paged_views = __atomic_load_n(&gm->paged_views, __ATOMIC_RELAXED);
}
