// SPDX-License-Identifier: MIT
/*
 * Views of guest PFN lists (a GPADL's pages): contiguous when the pages
 * are adjacent in host memory or the provider maps them so, paged (one
 * host pointer per page) otherwise, and the accessors that read and write
 * either kind at a byte offset.  Layer: core.  Every PFN is translated
 * (and so validated) before the provider is asked to map anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/gmem_priv.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

/* Host pointer of each page of @pfns into @pages; -EFAULT if one is not
 * one whole host-contiguous page of guest RAM. */
static int view_translate(const struct ovb_gmem *gm, const uint64_t *pfns,
			  size_t n, uint8_t **pages)
{
	for (size_t i = 0; i < n; i++) {
		if (pfns[i] > UINT64_MAX / PAGE - 1)
			return -EFAULT;
		pages[i] = ovb_gmem_ptr(gm, pfns[i] * PAGE, PAGE);
		if (!pages[i])
			return -EFAULT;
	}
	return 0;
}

/* Runs of pages adjacent in host memory. */
static size_t view_runs(uint8_t *const *pages, size_t n)
{
	size_t runs = 1;

	for (size_t i = 1; i < n; i++)
		if (pages[i] != pages[i - 1] + PAGE)
			runs++;
	return runs;
}

/* Ask the provider for a mapping of @runs runs; -EOPNOTSUPP: page it. */
static int view_map(struct ovb_gmem *gm, const uint64_t *pfns, size_t n,
		    size_t runs, struct ovb_gmem_view *view)
{
	void *va = NULL;
	int rc;

	if (!gm->ops->map)
		return -EOPNOTSUPP;
	/* Claim the budget first; give it back on any failure. */
	if (runs > OVB_GMEM_MAX_MAPS ||
	    __atomic_add_fetch(&gm->maps, (unsigned int)runs,
			       __ATOMIC_RELAXED) > OVB_GMEM_MAX_MAPS) {
		if (runs <= OVB_GMEM_MAX_MAPS)
			__atomic_sub_fetch(&gm->maps, (unsigned int)runs,
					   __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	rc = gm->ops->map(gm->ctx, pfns, n, &va);
	if (rc) {
		__atomic_sub_fetch(&gm->maps, (unsigned int)runs,
				   __ATOMIC_RELAXED);
		return rc;
	}
	view->va = va;
	view->nmaps = (unsigned int)runs;
	__atomic_fetch_add(&gm->mapped_views, 1, __ATOMIC_RELAXED);
	return 0;
}

int ovb_gmem_map_pfns(struct ovb_gmem *gm, const uint64_t *pfns, size_t n,
		      struct ovb_gmem_view *view)
{
	uint8_t **pages;
	size_t runs;
	int rc;

	memset(view, 0, sizeof(*view));
	if (!n || n > (1ull << 28))
		return -EINVAL;
	pages = malloc(n * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	if ((rc = view_translate(gm, pfns, n, pages)) != 0)
		goto out;
	view->gm = gm;
	view->len = n * PAGE;
	runs = view_runs(pages, n);
	if (runs == 1) {
		view->va = pages[0];
		__atomic_fetch_add(&gm->direct_views, 1, __ATOMIC_RELAXED);
		goto out;
	}
	rc = view_map(gm, pfns, n, runs, view);
	if (rc != -EOPNOTSUPP)
		goto out;
	rc = 0;
	view->pages = pages;
	__atomic_fetch_add(&gm->paged_views, 1, __ATOMIC_RELAXED);
	return 0;
out:
	free(pages);
	if (rc)
		memset(view, 0, sizeof(*view));
	return rc;
}

void ovb_gmem_unmap(struct ovb_gmem_view *view)
{
	struct ovb_gmem *gm = view->gm;

	if (gm && view->nmaps) {
		gm->ops->unmap(gm->ctx, view->va, view->len / PAGE);
		__atomic_sub_fetch(&gm->maps, view->nmaps, __ATOMIC_RELAXED);
	}
	if (gm)
		free(view->pages);
	memset(view, 0, sizeof(*view));
}

int ovb_gmem_view_slice(const struct ovb_gmem_view *v, size_t off,
			size_t len, struct ovb_gmem_view *out)
{
	memset(out, 0, sizeof(*out));
	if (off % PAGE || len % PAGE || !len || off > v->len ||
	    len > v->len - off)
		return -EINVAL;
	out->len = len;
	if (v->va)
		out->va = v->va + off;
	else
		out->pages = v->pages + off / PAGE;
	/* No owner: a slice never unmaps or frees anything. */
	return 0;
}

static bool view_in_range(const struct ovb_gmem_view *v, size_t off,
			  size_t len)
{
	return off <= v->len && len <= v->len - off;
}

void *ovb_gmem_view_ptr(const struct ovb_gmem_view *v, size_t off,
			size_t len)
{
	size_t first, last;

	if (!view_in_range(v, off, len) || !v->len)
		return NULL;
	if (v->va)
		return v->va + off;
	if (off == v->len)
		return NULL;
	first = off / PAGE;
	last = len ? (off + len - 1) / PAGE : first;
	for (size_t i = first + 1; i <= last; i++)
		if (v->pages[i] != v->pages[i - 1] + PAGE)
			return NULL;
	return v->pages[first] + off % PAGE;
}

int ovb_gmem_view_read(const struct ovb_gmem_view *v, size_t off, void *dst,
		       size_t len)
{
	uint8_t *d = dst;

	if (!view_in_range(v, off, len))
		return -ERANGE;
	if (v->va) {
		memcpy(d, v->va + off, len);
		return 0;
	}
	while (len) {
		size_t po = off % PAGE, chunk = PAGE - po;

		if (chunk > len)
			chunk = len;
		memcpy(d, v->pages[off / PAGE] + po, chunk);
		d += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int ovb_gmem_view_write(const struct ovb_gmem_view *v, size_t off,
			const void *src, size_t len)
{
	const uint8_t *s = src;

	if (!view_in_range(v, off, len))
		return -ERANGE;
	if (v->va) {
		memcpy(v->va + off, s, len);
		return 0;
	}
	while (len) {
		size_t po = off % PAGE, chunk = PAGE - po;

		if (chunk > len)
			chunk = len;
		memcpy(v->pages[off / PAGE] + po, s, chunk);
		s += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}
