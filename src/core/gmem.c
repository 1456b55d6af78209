// SPDX-License-Identifier: MIT
/*
 * Guest physical memory: memfd-backed regions, bounds-checked translation,
 * contiguous views of PFN lists and a first-fit page allocator for the
 * guest.  Layer: core.  Every GPA that arrives from a peer is translated
 * here and nowhere else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "openvmbus/gmem.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/log.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

void ovb_gmem_init(struct ovb_gmem *gm, const char *name)
{
	memset(gm, 0, sizeof(*gm));
	pthread_mutex_init(&gm->lock, NULL);
	snprintf(gm->name, sizeof(gm->name), "%s", name ? name : "gmem");
}

void ovb_gmem_destroy(struct ovb_gmem *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct ovb_gmem_region *r = &gm->region[i];

		munmap(r->hva, r->size);
		close(r->fd);
		free(r->bitmap);
	}
	gm->nregions = 0;
	pthread_mutex_destroy(&gm->lock);
}

static bool gmem_overlaps(const struct ovb_gmem *gm, uint64_t gpa,
			  uint64_t size)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct ovb_gmem_region *r = &gm->region[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return true;
	}
	return false;
}

int ovb_gmem_add_region(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
			int fd, uint64_t fd_offset)
{
	struct ovb_gmem_region *r;
	void *hva;

	if (!size || (gpa | size | fd_offset) % PAGE || gpa + size < gpa ||
	    size > (1ull << 40) || fd < 0)
		return -EINVAL;
	if (gmem_overlaps(gm, gpa, size))
		return -EEXIST;
	if (gm->nregions == OVB_GMEM_MAX_REGIONS)
		return -ENOSPC;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)fd_offset);
	if (hva == MAP_FAILED)
		return -errno;
	r = &gm->region[gm->nregions];
	*r = (struct ovb_gmem_region){ .gpa = gpa, .size = size, .hva = hva,
				       .fd = fd, .fd_offset = fd_offset };
	/* Publish the region only after it is filled in. */
	__atomic_store_n(&gm->nregions, gm->nregions + 1, __ATOMIC_RELEASE);
	return 0;
}

int ovb_gmem_create_region(struct ovb_gmem *gm, uint64_t gpa, uint64_t size)
{
	uint64_t npages = size / PAGE;
	uint64_t *bitmap;
	int fd, rc;

	if (!size || size % PAGE)
		return -EINVAL;
	fd = memfd_create(gm->name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	bitmap = calloc((npages + 63) / 64, sizeof(uint64_t));
	if (!bitmap) {
		close(fd);
		return -ENOMEM;
	}
	rc = ovb_gmem_add_region(gm, gpa, size, fd, 0);
	if (rc) {
		free(bitmap);
		close(fd);
		return rc;
	}
	gm->region[gm->nregions - 1].bitmap = bitmap;
	return 0;
}

static const struct ovb_gmem_region *gmem_find(const struct ovb_gmem *gm,
					       uint64_t gpa, uint64_t len)
{
	unsigned int n = __atomic_load_n(&gm->nregions, __ATOMIC_ACQUIRE);

	if (!len)
		len = 1;
	if (gpa + len < gpa)
		return NULL;
	for (unsigned int i = 0; i < n; i++) {
		const struct ovb_gmem_region *r = &gm->region[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *ovb_gmem_ptr(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len)
{
	const struct ovb_gmem_region *r = gmem_find(gm, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

uint64_t ovb_gmem_gpa(const struct ovb_gmem *gm, const void *p)
{
	const uint8_t *b = p;

	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct ovb_gmem_region *r = &gm->region[i];

		if (b >= r->hva && b < r->hva + r->size)
			return r->gpa + (uint64_t)(b - r->hva);
	}
	return UINT64_MAX;
}

/* Pages @i..end of the run starting at @i: adjacent in one region. */
static size_t gmem_run(const struct ovb_gmem *gm, const uint64_t *pfns,
		       size_t n, size_t i)
{
	const struct ovb_gmem_region *r = gmem_find(gm, pfns[i] * PAGE, PAGE);
	size_t j = i + 1;

	while (j < n && pfns[j] == pfns[j - 1] + 1 &&
	       gmem_find(gm, pfns[j] * PAGE, PAGE) == r)
		j++;
	return j;
}

int ovb_gmem_map_pfns(struct ovb_gmem *gm, const uint64_t *pfns, size_t n,
		      struct ovb_gmem_view *view)
{
	unsigned int runs = 0;
	uint8_t *base;

	if (!n || n > (1ull << 28))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (pfns[i] > UINT64_MAX / PAGE ||
		    !gmem_find(gm, pfns[i] * PAGE, PAGE))
			return -EFAULT;
	for (size_t i = 0; i < n; i = gmem_run(gm, pfns, n, i))
		runs++;
	memset(view, 0, sizeof(*view));
	if (runs == 1) {
		const struct ovb_gmem_region *r =
			gmem_find(gm, pfns[0] * PAGE, PAGE);

		view->va = r->hva + (pfns[0] * PAGE - r->gpa);
		view->len = n * PAGE;
		return 0;
	}
	/* Claim the budget first; give it back on any failure. */
	if (__atomic_add_fetch(&gm->maps, runs, __ATOMIC_RELAXED) >
	    OVB_GMEM_MAX_MAPS) {
		__atomic_sub_fetch(&gm->maps, runs, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	/* Scattered pages: reserve a range, then map each run over it. */
	base = mmap(NULL, n * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED) {
		__atomic_sub_fetch(&gm->maps, runs, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t gpa = pfns[i] * PAGE;
		const struct ovb_gmem_region *r = gmem_find(gm, gpa, PAGE);

		j = gmem_run(gm, pfns, n, i);
		if (mmap(base + i * PAGE, (j - i) * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, r->fd,
			 (off_t)(r->fd_offset + gpa - r->gpa)) == MAP_FAILED) {
			int rc = -errno;

			munmap(base, n * PAGE);
			__atomic_sub_fetch(&gm->maps, runs, __ATOMIC_RELAXED);
			return rc;
		}
	}
	view->va = base;
	view->len = n * PAGE;
	view->owned = true;
	view->nmaps = runs;
	view->gm = gm;
	return 0;
}

int ovb_gmem_ranges_iov(const struct ovb_gmem *gm,
			const struct ovb_gpa_range *ranges, uint32_t n,
			struct iovec *iov, int max, size_t *total)
{
	int cnt = 0;

	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ovb_gpa_range *r = &ranges[i];
		uint64_t left = r->byte_count, off = r->byte_offset;

		for (uint32_t p = 0; p < r->npfns && left; p++) {
			uint64_t pfn, chunk = PAGE - off;
			uint8_t *va;

			memcpy(&pfn, &r->pfns[p], sizeof(pfn));
			if (chunk > left)
				chunk = left;
			if (pfn > UINT64_MAX / PAGE ||
			    !(va = ovb_gmem_ptr(gm, pfn * PAGE + off, chunk)))
				return -EFAULT;
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
			*total += chunk;
			left -= chunk;
			off = 0;
		}
	}
	return cnt;
}

void ovb_gmem_unmap(struct ovb_gmem_view *view)
{
	if (view->owned && view->va) {
		munmap(view->va, view->len);
		__atomic_sub_fetch(&view->gm->maps, view->nmaps,
				   __ATOMIC_RELAXED);
	}
	memset(view, 0, sizeof(*view));
}

static bool bit_test(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void bits_assign(uint64_t *bm, uint64_t first, uint64_t n, bool set)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (set)
			bm[i / 64] |= 1ull << (i % 64);
		else
			bm[i / 64] &= ~(1ull << (i % 64));
	}
}

int ovb_gmem_alloc(struct ovb_gmem *gm, size_t npages, uint64_t *gpa,
		   void **hva)
{
	if (!npages)
		return -EINVAL;
	pthread_mutex_lock(&gm->lock);
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct ovb_gmem_region *r = &gm->region[i];
		uint64_t total = r->size / PAGE, run = 0;

		if (!r->bitmap)
			continue;
		for (uint64_t p = 0; p < total; p++) {
			run = bit_test(r->bitmap, p) ? 0 : run + 1;
			if (run < npages)
				continue;
			uint64_t first = p + 1 - npages;

			bits_assign(r->bitmap, first, npages, true);
			pthread_mutex_unlock(&gm->lock);
			*gpa = r->gpa + first * PAGE;
			*hva = r->hva + first * PAGE;
			memset(*hva, 0, npages * PAGE);
			return 0;
		}
	}
	pthread_mutex_unlock(&gm->lock);
	return -ENOMEM;
}

void ovb_gmem_free(struct ovb_gmem *gm, uint64_t gpa, size_t npages)
{
	pthread_mutex_lock(&gm->lock);
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct ovb_gmem_region *r = &gm->region[i];

		if (r->bitmap && gpa >= r->gpa &&
		    gpa + npages * PAGE <= r->gpa + r->size) {
			bits_assign(r->bitmap, (gpa - r->gpa) / PAGE, npages,
				    false);
			break;
		}
	}
	pthread_mutex_unlock(&gm->lock);
}
