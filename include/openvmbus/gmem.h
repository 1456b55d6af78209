/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: regions backed by memfds, GPA/PFN -> pointer
 * translation with bounds checks, contiguous views of scattered PFN lists,
 * and the guest-side page allocator.  Layer: core.
 *
 * Ownership: the guest creates regions (ovb_gmem_create_region) and shares
 * their memfds; the host maps the same fds (ovb_gmem_add_region).  Regions
 * are added before any translation happens and never removed until
 * ovb_gmem_destroy(), so translation takes no lock.
 */
#ifndef OPENVMBUS_GMEM_H
#define OPENVMBUS_GMEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

#define OVB_GMEM_MAX_REGIONS 16
/**
 * Separate mappings (runs of scattered GPADL pages) one guest may make us
 * hold at once: a hostile guest must not exhaust the process's map count
 * (vm.max_map_count, 65530 by default) and break every other partition.
 */
#define OVB_GMEM_MAX_MAPS 16384u

struct ovb_gmem_region {
	uint64_t gpa;       /**< guest physical base, page aligned */
	uint64_t size;      /**< bytes, page multiple */
	uint8_t *hva;       /**< our mapping of the region */
	int fd;             /**< memfd backing the region (we own it) */
	uint64_t fd_offset; /**< offset of gpa in fd */
	uint64_t *bitmap;   /**< guest allocator: 1 bit per page, NULL on host */
};

struct ovb_gmem {
	struct ovb_gmem_region region[OVB_GMEM_MAX_REGIONS];
	unsigned int nregions;
	pthread_mutex_t lock; /**< guards the allocator bitmaps */
	unsigned int maps;    /**< separate mappings held (atomic) */
	char name[32];        /**< for log lines */
};

/** A contiguous view of guest pages. */
struct ovb_gmem_view {
	void *va;        /**< first byte of the first page */
	size_t len;      /**< bytes (page multiple) */
	bool owned;      /**< a separate mapping we must unmap */
	unsigned int nmaps;     /**< runs mapped into it (counted in gm) */
	struct ovb_gmem *gm;    /**< whose budget they count against */
};

/** Initialise an empty memory map. */
OVB_API
void ovb_gmem_init(struct ovb_gmem *gm, const char *name);

/** Unmap every region and view owner's fds. */
OVB_API
void ovb_gmem_destroy(struct ovb_gmem *gm);

/**
 * Host side: map @size bytes of @fd from @fd_offset at @gpa (takes ownership
 * of @fd on success).  Returns 0; -EINVAL if unaligned, empty or wrapping;
 * -EEXIST if it overlaps a region; -ENOSPC if too many regions; -errno of
 * mmap.
 */
OVB_API
int ovb_gmem_add_region(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
			int fd, uint64_t fd_offset);

/**
 * Guest side: create a memfd of @size bytes at @gpa, map it and make its
 * pages available to ovb_gmem_alloc().  Errors as ovb_gmem_add_region().
 */
OVB_API
int ovb_gmem_create_region(struct ovb_gmem *gm, uint64_t gpa, uint64_t size);

/**
 * Pointer to [@gpa, @gpa + @len) if it lies inside one region, else NULL.
 * @len 0 is treated as 1.
 */
OVB_API
void *ovb_gmem_ptr(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len);

/** GPA of a pointer into a region, or UINT64_MAX if it is not one. */
OVB_API
uint64_t ovb_gmem_gpa(const struct ovb_gmem *gm, const void *p);

/**
 * A contiguous view of @n pages named by @pfns.  When the pages are
 * contiguous in one region the view points into it; otherwise each run of
 * adjacent pages is mapped with MAP_FIXED from its region's fd into a
 * fresh range, against the OVB_GMEM_MAX_MAPS budget of @gm.
 * Returns 0; -EFAULT if a PFN is outside guest memory; -EINVAL if @n is 0;
 * -ENOMEM if the mapping budget is spent.
 */
OVB_API
int ovb_gmem_map_pfns(struct ovb_gmem *gm, const uint64_t *pfns, size_t n,
		      struct ovb_gmem_view *view);

struct iovec;
struct ovb_gpa_range;

/**
 * Translate GPA ranges (a GPA-direct packet) into iovecs over our mapping
 * of guest memory, merging pages that are adjacent in both spaces.
 * Returns the iovec count and the total bytes in *@total; -EFAULT if any
 * page is outside guest memory; -E2BIG if more than @max iovecs are needed.
 */
OVB_API
int ovb_gmem_ranges_iov(const struct ovb_gmem *gm,
			const struct ovb_gpa_range *ranges, uint32_t n,
			struct iovec *iov, int max, size_t *total);

/** Release a view (unmaps it if it was a separate mapping). */
OVB_API
void ovb_gmem_unmap(struct ovb_gmem_view *view);

/**
 * Guest side: allocate @npages contiguous zeroed pages.  Returns 0 and the
 * GPA and pointer; -ENOMEM when no run is free.  Thread-safe.
 */
OVB_API
int ovb_gmem_alloc(struct ovb_gmem *gm, size_t npages, uint64_t *gpa,
		   void **hva);

/** Guest side: free pages from ovb_gmem_alloc().  Thread-safe. */
OVB_API
void ovb_gmem_free(struct ovb_gmem *gm, uint64_t gpa, size_t npages);

#endif /* OPENVMBUS_GMEM_H */
