// SPDX-License-Identifier: MIT
/*
 * Unit tests of guest memory over the memfd provider (src/core/gmem*.c,
 * src/link/mem_memfd.c): the region rules a
 * MEM_REGION must pass (alignment, size, overlap, wrap, count), bounds of
 * ovb_gmem_ptr() at region edges and near the top of the address space,
 * contiguous and scattered PFN views (a scattered view must alias the
 * guest's pages), GPA-range iovecs and their merging, and the guest page
 * allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/gmem.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/link.h"

#define PG 4096ull
#define BASE (1ull << 30)

/* Guest side: a fresh memfd region that is also a pool. */
static int mkregion(struct ovb_gmem *gm, uint64_t gpa, uint64_t size)
{
	int fd = ovb_memfd_gmem_create_region(gm, gpa, size);

	return fd < 0 ? fd : 0;
}

static unsigned int maps(const struct ovb_gmem *gm)
{
	struct ovb_gmem_stats st;

	ovb_gmem_get_stats(gm, &st);
	return st.maps;
}

/* A memfd of @size bytes, as a guest would share it. */
static int mkfd(uint64_t size)
{
	int fd = memfd_create("test-gmem", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Add a region or check the error; the fd is closed on failure. */
static int add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
	       uint64_t fd_off)
{
	int fd = mkfd(size + fd_off + PG);
	int rc = ovb_memfd_gmem_add(gm, gpa, size, fd, fd_off);

	if (rc)
		close(fd);
	return rc;
}

static void test_region_rules(void **state)
{
	struct ovb_gmem *gm;

	assert_int_equal(ovb_memfd_gmem_create("rules", &gm), 0);
	assert_int_equal(add(gm, BASE, 16 * PG, 0), 0);
	/* Unaligned base, size, file offset; zero size. */
	assert_int_equal(add(gm, BASE + 100 * PG + 1, PG, 0), -EINVAL);
	assert_int_equal(add(gm, BASE + 100 * PG, PG + 8, 0), -EINVAL);
	assert_int_equal(add(gm, BASE + 100 * PG, PG, 512), -EINVAL);
	assert_int_equal(add(gm, BASE + 100 * PG, 0, 0), -EINVAL);
	/* Wrapping past 2^64, and an end exactly at 2^64. */
	assert_int_equal(add(gm, UINT64_MAX - PG + 1, 2 * PG, 0), -EINVAL);
	assert_int_equal(add(gm, 0ull - PG, PG, 0), -EINVAL);
	/* Overlaps: inside, straddling either edge, covering. */
	assert_int_equal(add(gm, BASE + 4 * PG, PG, 0), -EEXIST);
	assert_int_equal(add(gm, BASE - PG, 2 * PG, 0), -EEXIST);
	assert_int_equal(add(gm, BASE + 15 * PG, 2 * PG, 0), -EEXIST);
	assert_int_equal(add(gm, BASE - PG, 18 * PG, 0), -EEXIST);
	/* Touching at either edge is not an overlap. */
	assert_int_equal(add(gm, BASE + 16 * PG, PG, 0), 0);
	assert_int_equal(add(gm, BASE - PG, PG, 0), 0);
	{
		struct iovec iov[3];

		/* All three translate; each is its own mapping. */
		assert_true(ovb_gmem_translate(gm, BASE - PG, 18 * PG, iov,
					       3) >= 1);
		assert_int_equal(ovb_gmem_translate(gm, BASE - 2 * PG, 2 * PG,
						    iov, 3), -EFAULT);
	}
	/* Negative fd. */
	assert_int_equal(ovb_memfd_gmem_add(gm, 0, PG, -1, 0), -EINVAL);
	/* At most OVB_GMEM_MAX_REGIONS. */
	for (unsigned int i = 3; i < OVB_GMEM_MAX_REGIONS; i++)
		assert_int_equal(add(gm, (uint64_t)i << 32, PG, 0), 0);
	assert_int_equal(add(gm, 1ull << 50, PG, 0), -ENOSPC);
	ovb_gmem_destroy(gm);
}

static void test_ptr_edges(void **state)
{
	struct ovb_gmem *gm;
	uint8_t *base;

	assert_int_equal(ovb_memfd_gmem_create("edges", &gm), 0);
	assert_int_equal(add(gm, BASE, 4 * PG, 0), 0);
	base = ovb_gmem_ptr(gm, BASE, 4 * PG);
	assert_non_null(base);
	assert_ptr_equal(ovb_gmem_ptr(gm, BASE + 4 * PG - 1, 1),
			 base + 4 * PG - 1);
	assert_ptr_equal(ovb_gmem_ptr(gm, BASE + 3 * PG, PG), base + 3 * PG);
	/* len 0 counts as 1: the byte after the end is outside. */
	assert_null(ovb_gmem_ptr(gm, BASE + 4 * PG, 0));
	assert_null(ovb_gmem_ptr(gm, BASE + 4 * PG, 1));
	assert_null(ovb_gmem_ptr(gm, BASE - 1, 1));
	assert_null(ovb_gmem_ptr(gm, BASE - 1, 2));
	assert_null(ovb_gmem_ptr(gm, BASE, 4 * PG + 1));
	assert_null(ovb_gmem_ptr(gm, BASE + PG, 4 * PG));
	assert_null(ovb_gmem_ptr(gm, BASE + 1, UINT64_MAX));
	assert_null(ovb_gmem_ptr(gm, UINT64_MAX, 2));
	assert_null(ovb_gmem_ptr(gm, 0, 1));
	/* The reverse translation. */
	assert_int_equal(ovb_gmem_gpa(gm, base + 5), BASE + 5);
	assert_int_equal(ovb_gmem_gpa(gm, base + 4 * PG), UINT64_MAX);
	assert_int_equal(ovb_gmem_gpa(gm, &gm), UINT64_MAX);
	ovb_gmem_destroy(gm);
}

/* A user-space guest may put its RAM near 2^47 (docs/wire.md B12). */
static void test_high_gpa(void **state)
{
	const uint64_t top = 1ull << 47, gpa = top - 8 * PG;
	struct ovb_gmem *gm;
	struct ovb_gmem_view v;
	uint64_t pfns[2] = { top / PG - 1, top / PG - 8 };
	uint8_t *p;

	assert_int_equal(ovb_memfd_gmem_create("high", &gm), 0);
	assert_int_equal(add(gm, gpa, 8 * PG, 0), 0);
	p = ovb_gmem_ptr(gm, top - 1, 1);
	assert_non_null(p);
	assert_null(ovb_gmem_ptr(gm, top - 1, 2));
	assert_null(ovb_gmem_ptr(gm, top, 1));
	*p = 0x5a;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 2, &v), 0);
	assert_true(v.nmaps > 0);
	assert_int_equal(((uint8_t *)v.va)[PG - 1], 0x5a);
	ovb_gmem_unmap(&v);
	pfns[0] = top / PG;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 2, &v), -EFAULT);
	ovb_gmem_destroy(gm);
}

static void test_map_contiguous(void **state)
{
	struct ovb_gmem *gm;
	struct ovb_gmem_view v;
	uint64_t pfns[3] = { BASE / PG + 2, BASE / PG + 3, BASE / PG + 4 };
	uint8_t *g;

	assert_int_equal(ovb_memfd_gmem_create("contig", &gm), 0);
	assert_int_equal(mkregion(gm, BASE, 8 * PG), 0);
	g = ovb_gmem_ptr(gm, BASE, 8 * PG);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), 0);
	assert_int_equal(v.nmaps, 0);
	assert_ptr_equal(v.va, g + 2 * PG);
	assert_int_equal(v.len, 3 * PG);
	ovb_gmem_unmap(&v);
	assert_null(v.va);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 0, &v), -EINVAL);
	/* One PFN past the end, or absurdly large: refused. */
	pfns[2] = BASE / PG + 8;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), -EFAULT);
	pfns[2] = UINT64_MAX;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), -EFAULT);
	pfns[2] = UINT64_MAX / PG + 1;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), -EFAULT);
	ovb_gmem_destroy(gm);
}

/*
 * Scattered PFNs, and contiguous ones that cross from one region into the
 * next: one contiguous view whose bytes are the guest's pages, both ways.
 */
static void test_map_scattered(void **state)
{
	struct ovb_gmem *gm;
	struct ovb_gmem_view v;
	uint64_t pfns[4] = { BASE / PG + 5, BASE / PG + 1, BASE / PG + 5,
			     BASE / PG + 8 };
	uint8_t *g, *va;

	assert_int_equal(ovb_memfd_gmem_create("scatter", &gm), 0);
	assert_int_equal(mkregion(gm, BASE, 8 * PG), 0);
	assert_int_equal(mkregion(gm, BASE + 8 * PG, 4 * PG),
			 0);
	g = ovb_gmem_ptr(gm, BASE, 8 * PG);
	for (unsigned int i = 0; i < 8; i++)
		memset(g + i * PG, 0x10 + i, PG);
	memset(ovb_gmem_ptr(gm, BASE + 8 * PG, PG), 0x77, PG);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 4, &v), 0);
	assert_true(v.nmaps > 0);
	assert_int_equal(v.len, 4 * PG);
	va = v.va;
	assert_int_equal(va[0], 0x15);
	assert_int_equal(va[PG + 17], 0x11);
	assert_int_equal(va[2 * PG + PG - 1], 0x15);
	assert_int_equal(va[3 * PG], 0x77);
	/* Aliases: a write through the view is a write to guest memory. */
	va[PG + 9] = 0xee;
	assert_int_equal(g[PG + 9], 0xee);
	g[5 * PG + 3] = 0xcd;
	assert_int_equal(va[3], 0xcd);
	assert_int_equal(va[2 * PG + 3], 0xcd);
	ovb_gmem_unmap(&v);

	/* Contiguous in GPA, but split across two regions. */
	uint64_t cross[2] = { BASE / PG + 7, BASE / PG + 8 };

	assert_int_equal(ovb_gmem_map_pfns(gm, cross, 2, &v), 0);
	assert_true(v.nmaps > 0);
	va = v.va;
	assert_int_equal(va[0], 0x17);
	assert_int_equal(va[PG], 0x77);
	ovb_gmem_unmap(&v);
	ovb_gmem_destroy(gm);
}

static struct ovb_gpa_range rng(uint32_t off, uint32_t count,
				const uint64_t *pfns)
{
	return (struct ovb_gpa_range){ .byte_offset = off, .byte_count = count,
				       .npfns = ovb_gpa_range_npfns(off, count),
				       .pfns = pfns };
}

/*
 * Runs of adjacent pages are mapped once each, and a guest cannot make us
 * hold more than OVB_GMEM_MAX_MAPS of them: the next view is -ENOMEM
 * until one is released.
 */
static void test_map_budget(void **state)
{
	static struct ovb_gmem_view v[OVB_GMEM_MAX_MAPS / 2];
	uint64_t pfns[5] = { BASE / PG + 10, BASE / PG + 11, BASE / PG + 12,
			     BASE / PG + 20, BASE / PG + 21 };
	struct ovb_gmem_view extra;
	struct ovb_gmem *gm;
	uint8_t *g;
	size_t i;

	assert_int_equal(ovb_memfd_gmem_create("budget", &gm), 0);
	assert_int_equal(mkregion(gm, BASE, 64 * PG), 0);
	g = ovb_gmem_ptr(gm, BASE, 64 * PG);
	g[12 * PG] = 0x12;
	g[20 * PG] = 0x20;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 5, &v[0]), 0);
	assert_true(v[0].nmaps > 0);
	assert_int_equal(v[0].nmaps, 2); /* two runs, not five pages */
	assert_int_equal(((uint8_t *)v[0].va)[2 * PG], 0x12);
	assert_int_equal(((uint8_t *)v[0].va)[3 * PG], 0x20);
	for (i = 1; i < OVB_GMEM_MAX_MAPS / 2; i++)
		assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 5, &v[i]), 0);
	assert_int_equal(maps(gm), OVB_GMEM_MAX_MAPS);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 5, &extra), -ENOMEM);
	/* A view inside one run costs nothing and still works. */
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &extra), 0);
	assert_int_equal(extra.nmaps, 0);
	ovb_gmem_unmap(&v[0]);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 5, &v[0]), 0);
	for (i = 0; i < OVB_GMEM_MAX_MAPS / 2; i++)
		ovb_gmem_unmap(&v[i]);
	assert_int_equal(maps(gm), 0);
	ovb_gmem_destroy(gm);
}

static void test_ranges_iov(void **state)
{
	struct ovb_gmem *gm;
	struct iovec iov[8];
	struct ovb_gpa_range r[3];
	uint64_t p0[3] = { BASE / PG, BASE / PG + 1, BASE / PG + 2 };
	uint64_t p1[2] = { BASE / PG + 3, BASE / PG + 1 };
	uint64_t bad[1] = { BASE / PG + 64 };
	uint8_t *g;
	size_t total;

	assert_int_equal(ovb_memfd_gmem_create("iov", &gm), 0);
	assert_int_equal(mkregion(gm, BASE, 16 * PG), 0);
	g = ovb_gmem_ptr(gm, BASE, 16 * PG);
	/* One range over three adjacent pages: one iovec. */
	r[0] = rng(100, 2 * PG + 5, p0);
	assert_int_equal(ovb_gmem_ranges_iov(gm, r, 1, iov, 8, &total), 1);
	assert_ptr_equal(iov[0].iov_base, g + 100);
	assert_int_equal(iov[0].iov_len, 2 * PG + 5);
	assert_int_equal(total, 2 * PG + 5);
	/* Pages out of order: one iovec per run; a following range that
	 * continues the last one merges with it. */
	r[0] = rng(4000, 200, p1);
	r[1] = rng(104, 10, p1 + 1);
	assert_int_equal(ovb_gmem_ranges_iov(gm, r, 2, iov, 8, &total), 2);
	assert_ptr_equal(iov[0].iov_base, g + 3 * PG + 4000);
	assert_int_equal(iov[0].iov_len, 96);
	assert_ptr_equal(iov[1].iov_base, g + PG);
	assert_int_equal(iov[1].iov_len, 104 + 10);
	assert_int_equal(total, 210);
	/* Not enough iovecs. */
	assert_int_equal(ovb_gmem_ranges_iov(gm, r, 2, iov, 1, &total),
			 -E2BIG);
	/* A page outside guest memory, or a range running off the end. */
	r[2] = rng(0, 1, bad);
	assert_int_equal(ovb_gmem_ranges_iov(gm, r, 3, iov, 8, &total),
			 -EFAULT);
	uint64_t last[2] = { BASE / PG + 15, BASE / PG + 16 };

	r[0] = rng(8, PG, last);
	assert_int_equal(ovb_gmem_ranges_iov(gm, r, 1, iov, 8, &total),
			 -EFAULT);
	ovb_gmem_destroy(gm);
}

static void test_allocator(void **state)
{
	struct ovb_gmem *gm;
	uint64_t gpa[4];
	void *hva[4];

	assert_int_equal(ovb_memfd_gmem_create("alloc", &gm), 0);
	assert_int_equal(mkregion(gm, BASE, 8 * PG), 0);
	assert_int_equal(ovb_gmem_alloc(gm, 0, &gpa[0], &hva[0]), -EINVAL);
	assert_int_equal(ovb_gmem_alloc(gm, 3, &gpa[0], &hva[0]), 0);
	assert_int_equal(gpa[0], BASE);
	assert_ptr_equal(hva[0], ovb_gmem_ptr(gm, BASE, PG));
	memset(hva[0], 0xff, 3 * PG);
	assert_int_equal(ovb_gmem_alloc(gm, 4, &gpa[1], &hva[1]), 0);
	assert_int_equal(gpa[1], BASE + 3 * PG);
	assert_int_equal(ovb_gmem_alloc(gm, 2, &gpa[2], &hva[2]), -ENOMEM);
	assert_int_equal(ovb_gmem_alloc(gm, 1, &gpa[2], &hva[2]), 0);
	assert_int_equal(gpa[2], BASE + 7 * PG);
	/* Freed pages come back zeroed, first fit. */
	ovb_gmem_free(gm, gpa[0], 3);
	assert_int_equal(ovb_gmem_alloc(gm, 2, &gpa[3], &hva[3]), 0);
	assert_int_equal(gpa[3], BASE);
	for (size_t i = 0; i < 2 * PG; i++)
		assert_int_equal(((uint8_t *)hva[3])[i], 0);
	/* A run never crosses into a used page, nor past the region. */
	assert_int_equal(ovb_gmem_alloc(gm, 2, &gpa[0], &hva[0]), -ENOMEM);
	assert_int_equal(ovb_gmem_alloc(gm, 1, &gpa[0], &hva[0]), 0);
	assert_int_equal(gpa[0], BASE + 2 * PG);
	/* Freeing outside the region is ignored. */
	ovb_gmem_free(gm, BASE + 7 * PG, 2);
	assert_int_equal(ovb_gmem_alloc(gm, 1, &gpa[0], &hva[0]), -ENOMEM);
	/* A second region serves what the first cannot. */
	assert_int_equal(mkregion(gm, BASE + (1ull << 20),
						16 * PG), 0);
	assert_int_equal(ovb_gmem_alloc(gm, 16, &gpa[0], &hva[0]), 0);
	assert_int_equal(gpa[0], BASE + (1ull << 20));
	/* Host-side regions have no allocator. */
	assert_int_equal(add(gm, 0, 4 * PG, 0), 0);
	assert_int_equal(ovb_gmem_alloc(gm, 1, &gpa[0], &hva[0]), -ENOMEM);
	ovb_gmem_destroy(gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_rules),
		cmocka_unit_test(test_ptr_edges),
		cmocka_unit_test(test_high_gpa),
		cmocka_unit_test(test_map_contiguous),
		cmocka_unit_test(test_map_scattered),
		cmocka_unit_test(test_map_budget),
		cmocka_unit_test(test_ranges_iov),
		cmocka_unit_test(test_allocator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
