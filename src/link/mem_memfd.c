// SPDX-License-Identifier: MIT
/*
 * The memfd guest memory provider: guest RAM as memfd regions, the way the
 * socket link shares it (docs/link.md MEM_REGION) and the inproc link
 * mirrors it.  Translation is the host-memory provider's over our own
 * mapping of each region; a GPADL whose pages are scattered becomes one
 * contiguous view by mapping each run of adjacent pages with MAP_FIXED
 * from its region's fd into a fresh range.  Layer: link.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "openvmbus/gmem.h"
#include "openvmbus/link.h"
#include "openvmbus/wire/vmbus.h"

#define PAGE HV_PAGE_SIZE

struct memfd_region {
	uint64_t gpa;       /* guest physical base, page aligned */
	uint64_t size;      /* bytes, page multiple */
	uint8_t *hva;       /* our mapping of the region */
	int fd;             /* memfd backing the region (we own it) */
	uint64_t fd_offset; /* offset of gpa in fd */
};

struct memfd_mem {
	struct ovb_gmem *tr; /* host-memory translation over our mappings */
	struct memfd_region region[OVB_GMEM_MAX_REGIONS];
	unsigned int nregions; /* published with release */
};

static int memfd_translate(void *ctx, uint64_t gpa, uint64_t len,
			   struct iovec *iov, int max)
{
	struct memfd_mem *mm = ctx;

	return ovb_gmem_translate(mm->tr, gpa, len, iov, max);
}

static uint64_t memfd_gpa_of(void *ctx, const void *p)
{
	struct memfd_mem *mm = ctx;

	return ovb_gmem_gpa(mm->tr, p);
}

static const struct memfd_region *memfd_find(const struct memfd_mem *mm,
					     uint64_t gpa)
{
	unsigned int n = __atomic_load_n(&mm->nregions, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < n; i++) {
		const struct memfd_region *r = &mm->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

/* End of the run of pages adjacent in one region that starts at @i. */
static size_t memfd_run(const struct memfd_mem *mm, const uint64_t *pfns,
			size_t n, size_t i)
{
	const struct memfd_region *r = memfd_find(mm, pfns[i] * PAGE);
	size_t j = i + 1;

	while (j < n && pfns[j] == pfns[j - 1] + 1 &&
	       memfd_find(mm, pfns[j] * PAGE) == r)
		j++;
	return j;
}

/* The library translated every PFN already: each has a region. */
static int memfd_map(void *ctx, const uint64_t *pfns, size_t n, void **va)
{
	struct memfd_mem *mm = ctx;
	uint8_t *base;

	/* Reserve a range, then map each run over it. */
	base = mmap(NULL, n * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t gpa = pfns[i] * PAGE;
		const struct memfd_region *r = memfd_find(mm, gpa);

		j = memfd_run(mm, pfns, n, i);
		if (!r || mmap(base + i * PAGE, (j - i) * PAGE,
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       r->fd, (off_t)(r->fd_offset + gpa - r->gpa)) ==
				  MAP_FAILED) {
			int rc = r ? -errno : -EFAULT;

			munmap(base, n * PAGE);
			return rc;
		}
	}
	*va = base;
	return 0;
}

static void memfd_unmap(void *ctx, void *va, size_t n)
{
	munmap(va, n * PAGE);
}

static void memfd_release(void *ctx)
{
	struct memfd_mem *mm = ctx;

	for (unsigned int i = 0; i < mm->nregions; i++) {
		munmap(mm->region[i].hva, mm->region[i].size);
		close(mm->region[i].fd);
	}
	ovb_gmem_destroy(mm->tr);
	free(mm);
}

static const struct ovb_gmem_ops memfd_ops = {
	.translate = memfd_translate,
	.gpa_of = memfd_gpa_of,
	.map = memfd_map,
	.unmap = memfd_unmap,
	.release = memfd_release,
};

int ovb_memfd_gmem_create(const char *name, struct ovb_gmem **out)
{
	struct memfd_mem *mm = calloc(1, sizeof(*mm));
	int rc;

	if (!mm)
		return -ENOMEM;
	rc = ovb_gmem_host_create(name, &mm->tr);
	if (!rc) {
		rc = ovb_gmem_create(&memfd_ops, mm, name, out);
		if (rc)
			ovb_gmem_destroy(mm->tr);
	}
	if (rc)
		free(mm);
	return rc;
}

int ovb_memfd_gmem_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
		       int fd, uint64_t fd_offset)
{
	struct memfd_mem *mm = ovb_gmem_provider(gm, &memfd_ops);
	struct memfd_region *r;
	void *hva;
	int rc;

	if (!mm)
		return -ENODEV;
	if (!size || (gpa | size | fd_offset) % PAGE || gpa + size < gpa ||
	    size > (1ull << 40) || fd < 0)
		return -EINVAL;
	if (mm->nregions == OVB_GMEM_MAX_REGIONS)
		return -ENOSPC;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)fd_offset);
	if (hva == MAP_FAILED)
		return -errno;
	/* The translation table checks alignment, wrap and overlap. */
	rc = ovb_gmem_host_add(mm->tr, gpa, size, hva);
	if (rc) {
		munmap(hva, size);
		return rc;
	}
	r = &mm->region[mm->nregions];
	*r = (struct memfd_region){ .gpa = gpa, .size = size, .hva = hva,
				    .fd = fd, .fd_offset = fd_offset };
	/* Publish the region only after it is filled in. */
	__atomic_store_n(&mm->nregions, mm->nregions + 1, __ATOMIC_RELEASE);
	return 0;
}

int ovb_memfd_gmem_create_region(struct ovb_gmem *gm, uint64_t gpa,
				 uint64_t size)
{
	int fd, rc;

	if (!ovb_gmem_provider(gm, &memfd_ops))
		return -ENODEV;
	if (!size || size % PAGE)
		return -EINVAL;
	fd = memfd_create(ovb_gmem_name(gm), MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = ovb_memfd_gmem_add(gm, gpa, size, fd, 0);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = ovb_gmem_pool_add(gm, gpa, size);
	/* The region stays (it is the guest's RAM either way). */
	return rc ? rc : fd;
}

int ovb_memfd_gmem_fd(const struct ovb_gmem *gm, uint64_t gpa,
		      uint64_t *fd_offset)
{
	const struct memfd_mem *mm = ovb_gmem_provider(gm, &memfd_ops);
	const struct memfd_region *r;

	if (!mm)
		return -ENODEV;
	if (!(r = memfd_find(mm, gpa)))
		return -EFAULT;
	*fd_offset = r->fd_offset + (gpa - r->gpa);
	return r->fd;
}
