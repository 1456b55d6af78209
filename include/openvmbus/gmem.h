/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory as an interface.  Layer: core.
 *
 * A guest memory object (struct ovb_gmem, opaque) reaches guest RAM through
 * a provider: an ops table that translates guest physical addresses (GPAs)
 * into host virtual memory and, when it can, maps a list of scattered
 * guest pages as one contiguous range.  The library wraps every provider
 * with the same rules, applied here and nowhere else:
 *  - every GPA that comes from a peer is checked (ranges that wrap past
 *    2^64, PFNs whose address overflows, pages outside guest RAM);
 *  - separate mappings a guest makes us hold are counted against
 *    OVB_GMEM_MAX_MAPS;
 *  - a PFN list that is not contiguous in host memory becomes a contiguous
 *    view when the provider can map it, and otherwise a paged view (one
 *    host pointer per page) that the library builds from translations.
 *
 * Two providers come with the library:
 *  - host memory (this header, ovb_gmem_host_*): regions given as
 *    (gpa, size, host pointer), e.g. a VMM's anonymous guest RAM.  It
 *    translates but cannot remap, so scattered GPADLs become paged views;
 *  - memfd (link.h, ovb_memfd_gmem_*): regions backed by memfds, as the
 *    socket and inproc links share them; it maps scattered pages with
 *    MAP_FIXED into one range.
 * An embedder with other memory implements struct ovb_gmem_ops itself.
 *
 * The guest side also allocates from guest RAM (rings, buffers): pools
 * (ovb_gmem_pool_add) make GPA ranges that are contiguous in host memory
 * available to ovb_gmem_alloc(), with either provider.
 *
 * Threads: translation, views and the allocator may be used from any
 * thread at once; regions and pools are added before the memory is used
 * (adding later is safe too, it never moves what readers see).
 */
#ifndef OPENVMBUS_GMEM_H
#define OPENVMBUS_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct iovec;
struct ovb_gpa_range;
struct ovb_gmem;

/**
 * Separate mappings (runs of scattered GPADL pages) one guest may make us
 * hold at once: a hostile guest must not exhaust the process's map count
 * (vm.max_map_count, 65530 by default) and break every other partition.
 */
#define OVB_GMEM_MAX_MAPS 16384u
/** Regions of one memfd guest memory (link.h). */
#define OVB_GMEM_MAX_REGIONS 16
/** Regions of one host-memory guest memory. */
#define OVB_GMEM_HOST_MAX_REGIONS 65536u
/** Allocation pools of one guest memory. */
#define OVB_GMEM_MAX_POOLS 16

/* ---- providers --------------------------------------------------------- */

/**
 * What a provider implements.  The library calls these with checked
 * arguments only (no wrap, page-aligned PFN lists whose pages all
 * translated); @ctx is the provider's, given to ovb_gmem_create().  Every
 * call may come from any thread at once and must not block.
 */
struct ovb_gmem_ops {
	/**
	 * Required.  Describe [@gpa, @gpa + @len) (@len >= 1) as iovecs over
	 * host memory, in GPA order, one per piece that is contiguous in the
	 * provider's backing.  Returns the count (1..@max); -EFAULT if any
	 * byte is not guest RAM; -E2BIG if more than @max are needed.
	 */
	int (*translate)(void *ctx, uint64_t gpa, uint64_t len,
			 struct iovec *iov, int max);
	/**
	 * Optional.  The GPA of host address @p inside guest RAM, or
	 * UINT64_MAX.  The guest side needs it for memory it did not take
	 * from a pool.
	 */
	uint64_t (*gpa_of)(void *ctx, const void *p);
	/**
	 * Optional.  Map the @n pages @pfns (not contiguous in host memory)
	 * as one contiguous range of host memory in *@va.  Returns 0;
	 * -EOPNOTSUPP to have the library build a paged view instead; or
	 * -errno (the view fails).  The library charges the view one
	 * mapping per run of pages adjacent in host memory.
	 */
	int (*map)(void *ctx, const uint64_t *pfns, size_t n, void **va);
	/** Undo a successful map of @n pages at @va.  Required with map. */
	void (*unmap)(void *ctx, void *va, size_t n);
	/** Optional.  Last call, from ovb_gmem_destroy(). */
	void (*release)(void *ctx);
};

/**
 * Wrap a provider.  @name names the memory in log lines.
 * Returns 0, -EINVAL (no translate, or map without unmap), -ENOMEM.
 */
OVB_API
int ovb_gmem_create(const struct ovb_gmem_ops *ops, void *ctx,
		    const char *name, struct ovb_gmem **out);

/** Release the provider (ops->release) and the object.  NULL is fine. */
OVB_API
void ovb_gmem_destroy(struct ovb_gmem *gm);

/** The provider's @ctx if @gm was created with @ops, else NULL. */
OVB_API
void *ovb_gmem_provider(const struct ovb_gmem *gm,
			const struct ovb_gmem_ops *ops);

OVB_API
const char *ovb_gmem_name(const struct ovb_gmem *gm);

/* ---- host-memory provider ---------------------------------------------- */

/** A guest memory whose regions are host memory the caller owns. */
OVB_API
int ovb_gmem_host_create(const char *name, struct ovb_gmem **out);

/**
 * Guest RAM [@gpa, @gpa + @size) is the host memory at @hva (borrowed: it
 * must stay mapped until ovb_gmem_destroy()).  Adding in ascending GPA
 * order is cheapest.  Returns 0; -EINVAL if not page aligned, empty or
 * wrapping; -EEXIST if it overlaps a region; -ENOSPC past
 * OVB_GMEM_HOST_MAX_REGIONS; -ENODEV if @gm is not a host-memory one;
 * -ENOMEM.
 */
OVB_API
int ovb_gmem_host_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
		      void *hva);

/* ---- translation (host side: every GPA from the guest goes here) -------- */

/**
 * [@gpa, @gpa + @len) as iovecs over host memory (see ovb_gmem_ops).
 * Returns the count; -EFAULT (outside guest RAM or wrapping), -E2BIG,
 * -EINVAL (@len 0 or @max < 1).
 */
OVB_API
int ovb_gmem_translate(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len,
		       struct iovec *iov, int max);

/**
 * Pointer to [@gpa, @gpa + @len) if it is contiguous in host memory, else
 * NULL (outside guest RAM, wrapping, or split).  @len 0 is treated as 1.
 */
OVB_API
void *ovb_gmem_ptr(const struct ovb_gmem *gm, uint64_t gpa, uint64_t len);

/**
 * GPA of a host pointer into guest RAM (a pool first, then the provider's
 * gpa_of), or UINT64_MAX.
 */
OVB_API
uint64_t ovb_gmem_gpa(const struct ovb_gmem *gm, const void *p);

/**
 * Translate GPA ranges (a GPA-direct packet) into iovecs over host memory,
 * merging pieces that are adjacent in both spaces.  Returns the iovec count
 * and the total bytes in *@total; -EFAULT if any page is outside guest
 * memory; -E2BIG if more than @max iovecs are needed.
 */
OVB_API
int ovb_gmem_ranges_iov(const struct ovb_gmem *gm,
			const struct ovb_gpa_range *ranges, uint32_t n,
			struct iovec *iov, int max, size_t *total);

/* ---- views of PFN lists ------------------------------------------------ */

/**
 * A view of whole guest pages, as one of:
 *  - contiguous: @va points at @len bytes (pages adjacent in host memory,
 *    or mapped so by the provider);
 *  - paged: @va is NULL and @pages[i] points at page i.
 * Use the accessors below rather than either field where a piece may
 * straddle pages.  @len is 0 when there is no view.
 */
struct ovb_gmem_view {
	uint8_t *va;          /**< contiguous view, or NULL */
	uint8_t **pages;      /**< paged view: @len / 4096 page pointers */
	size_t len;           /**< bytes, a page multiple; 0: none */
	/* private to the library */
	struct ovb_gmem *gm;  /**< owner of the mapping budget */
	unsigned int nmaps;   /**< runs the provider mapped (charged) */
};

/**
 * A view of the @n pages @pfns.  Contiguous when the pages are adjacent in
 * host memory, or when the provider maps them (charged one mapping per run
 * of adjacent pages against OVB_GMEM_MAX_MAPS); paged otherwise.
 * Returns 0; -EFAULT if a PFN is outside guest memory; -EINVAL if @n is 0
 * or above 2^28; -ENOMEM (no memory, or the mapping budget is spent).
 */
OVB_API
int ovb_gmem_map_pfns(struct ovb_gmem *gm, const uint64_t *pfns, size_t n,
		      struct ovb_gmem_view *view);

/** Release a view (unmaps or frees what it holds; zeroes it). */
OVB_API
void ovb_gmem_unmap(struct ovb_gmem_view *view);

/** True if the view is paged (no single pointer covers it). */
static inline bool ovb_gmem_view_paged(const struct ovb_gmem_view *v)
{
	return v->len && !v->va;
}

/**
 * A view made of part of @v: [@off, @off + @len), both page multiples.
 * Shares @v's memory: valid while @v is, and never unmapped itself.
 * Returns 0 or -EINVAL (out of range or unaligned).
 */
OVB_API
int ovb_gmem_view_slice(const struct ovb_gmem_view *v, size_t off,
			size_t len, struct ovb_gmem_view *out);

/**
 * Pointer to [@off, @off + @len) of the view if those bytes are
 * contiguous (always in a contiguous view; within one page, or adjacent
 * pages, in a paged one), else NULL.  NULL also when out of range.
 */
OVB_API
void *ovb_gmem_view_ptr(const struct ovb_gmem_view *v, size_t off,
			size_t len);

/** Copy @len bytes out of the view at @off.  Returns 0 or -ERANGE. */
OVB_API
int ovb_gmem_view_read(const struct ovb_gmem_view *v, size_t off, void *dst,
		       size_t len);

/** Copy @len bytes into the view at @off.  Returns 0 or -ERANGE. */
OVB_API
int ovb_gmem_view_write(const struct ovb_gmem_view *v, size_t off,
			const void *src, size_t len);

/* ---- statistics --------------------------------------------------------- */

struct ovb_gmem_stats {
	unsigned int maps;     /**< provider mappings held now */
	uint64_t direct_views; /**< views that needed no mapping (total) */
	uint64_t mapped_views; /**< views the provider mapped (total) */
	uint64_t paged_views;  /**< paged views built (total) */
};

OVB_API
void ovb_gmem_get_stats(const struct ovb_gmem *gm, struct ovb_gmem_stats *st);

/* ---- guest side: page allocator ----------------------------------------- */

/**
 * Make the pages of [@gpa, @gpa + @size) available to ovb_gmem_alloc().
 * The range must be guest RAM and contiguous in host memory.  Returns 0;
 * -EINVAL (unaligned, empty); -EFAULT (not guest RAM, or not contiguous);
 * -EEXIST (overlaps a pool); -ENOSPC past OVB_GMEM_MAX_POOLS; -ENOMEM.
 */
OVB_API
int ovb_gmem_pool_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size);

/**
 * Allocate @npages contiguous zeroed pages from the pools.  Returns 0 and
 * the GPA and pointer; -ENOMEM when no run is free.  Thread-safe.
 */
OVB_API
int ovb_gmem_alloc(struct ovb_gmem *gm, size_t npages, uint64_t *gpa,
		   void **hva);

/** Free pages from ovb_gmem_alloc().  Thread-safe. */
OVB_API
void ovb_gmem_free(struct ovb_gmem *gm, uint64_t gpa, size_t npages);

#endif /* OPENVMBUS_GMEM_H */
