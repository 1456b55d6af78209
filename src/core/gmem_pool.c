// SPDX-License-Identifier: MIT
/*
 * The guest side's page allocator: first fit over pools of guest pages
 * that are contiguous in host memory, one bit per page.  Works over any
 * provider: a pool is checked by translating it once.  Layer: core.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/gmem_priv.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

int ovb_gmem_pool_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size)
{
	struct gmem_pool *pl;
	uint64_t *bitmap;
	uint8_t *hva;
	int rc = 0;

	if (!size || (gpa | size) % PAGE || size > (1ull << 40))
		return -EINVAL;
	if (!(hva = ovb_gmem_ptr(gm, gpa, size)))
		return -EFAULT;
	bitmap = calloc((size / PAGE + 63) / 64, sizeof(uint64_t));
	if (!bitmap)
		return -ENOMEM;
	pthread_mutex_lock(&gm->lock);
	for (unsigned int i = 0; i < gm->npools; i++)
		if (gpa < gm->pool[i].gpa + gm->pool[i].size &&
		    gm->pool[i].gpa < gpa + size)
			rc = -EEXIST;
	if (!rc && gm->npools == OVB_GMEM_MAX_POOLS)
		rc = -ENOSPC;
	if (rc) {
		pthread_mutex_unlock(&gm->lock);
		free(bitmap);
		return rc;
	}
	pl = &gm->pool[gm->npools];
	*pl = (struct gmem_pool){ .gpa = gpa, .size = size, .hva = hva,
				  .bitmap = bitmap };
	/* Publish the pool only after it is filled in (ovb_gmem_gpa reads
	 * the pools without the lock). */
	__atomic_store_n(&gm->npools, gm->npools + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gm->lock);
	return 0;
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
	for (unsigned int i = 0; i < gm->npools; i++) {
		struct gmem_pool *pl = &gm->pool[i];
		uint64_t total = pl->size / PAGE, run = 0;

		for (uint64_t p = 0; p < total; p++) {
			run = bit_test(pl->bitmap, p) ? 0 : run + 1;
			if (run < npages)
				continue;
			uint64_t first = p + 1 - npages;

			bits_assign(pl->bitmap, first, npages, true);
			pthread_mutex_unlock(&gm->lock);
			*gpa = pl->gpa + first * PAGE;
			*hva = pl->hva + first * PAGE;
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
	for (unsigned int i = 0; i < gm->npools; i++) {
		struct gmem_pool *pl = &gm->pool[i];

		if (gpa >= pl->gpa && npages <= pl->size / PAGE &&
		    gpa - pl->gpa <= pl->size - npages * PAGE) {
			bits_assign(pl->bitmap, (gpa - pl->gpa) / PAGE, npages,
				    false);
			break;
		}
	}
	pthread_mutex_unlock(&gm->lock);
}
