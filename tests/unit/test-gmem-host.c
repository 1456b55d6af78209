// SPDX-License-Identifier: MIT
/*
 * Unit tests of the guest memory interface over the host-memory provider
 * (src/core/gmem*.c): region rules, translation across region edges and
 * near 2^64, hostile PFNs, paged views of scattered pages (and that they
 * alias guest memory), the view accessors at page edges, slices, the
 * allocator over host memory, and a custom provider's map and budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "openvmbus/gmem.h"
#include "openvmbus/gpadl.h"

#define PG 4096ull
#define BASE (1ull << 30)

/* Host memory of @n pages, page aligned, filled with a page pattern. */
static uint8_t *host_pages(size_t n)
{
	uint8_t *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	for (size_t i = 0; i < n; i++)
		memset(p + i * PG, (int)(0x40 + i), PG);
	return p;
}

static struct ovb_gmem *host_gm(const char *name)
{
	struct ovb_gmem *gm;

	assert_int_equal(ovb_gmem_host_create(name, &gm), 0);
	return gm;
}

static void test_host_region_rules(void **state)
{
	struct ovb_gmem *gm = host_gm("rules");
	uint8_t *h = host_pages(8);

	assert_int_equal(ovb_gmem_host_add(gm, BASE, 4 * PG, h), 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 1, PG, h), -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 8 * PG, PG + 1, h),
			 -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 8 * PG, PG, h + 1),
			 -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 8 * PG, 0, h), -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 8 * PG, PG, NULL),
			 -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, 0ull - PG, PG, h), -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, 0ull - PG, 2 * PG, h), -EINVAL);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 3 * PG, PG, h), -EEXIST);
	assert_int_equal(ovb_gmem_host_add(gm, BASE - PG, 2 * PG, h), -EEXIST);
	/* Below and above, touching: fine; in any order. */
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 4 * PG, PG, h + 7 * PG),
			 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE - PG, PG, h + 6 * PG), 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE - 9 * PG, PG, h + 5 * PG),
			 0);
	assert_int_equal(*(uint8_t *)ovb_gmem_ptr(gm, BASE - PG, 1), 0x46);
	assert_int_equal(*(uint8_t *)ovb_gmem_ptr(gm, BASE + 4 * PG, 1), 0x47);
	assert_int_equal(*(uint8_t *)ovb_gmem_ptr(gm, BASE - 9 * PG, 1), 0x45);
	assert_null(ovb_gmem_ptr(gm, BASE - 8 * PG, 1));
	ovb_gmem_destroy(gm);
	munmap(h, 8 * PG);
}

/* Many regions added in both orders stay searchable (binary search). */
static void test_host_many_regions(void **state)
{
	struct ovb_gmem *gm = host_gm("many");
	uint8_t *h = host_pages(1);

	for (uint64_t i = 0; i < 300; i++) {
		uint64_t slot = i % 2 ? 1000 + i : 1000 - i;

		assert_int_equal(ovb_gmem_host_add(gm, slot * 2 * PG, PG, h),
				 0);
	}
	for (uint64_t i = 0; i < 300; i++) {
		uint64_t slot = i % 2 ? 1000 + i : 1000 - i;

		assert_ptr_equal(ovb_gmem_ptr(gm, slot * 2 * PG + 5, 1), h + 5);
		assert_null(ovb_gmem_ptr(gm, slot * 2 * PG + PG, 1));
	}
	ovb_gmem_destroy(gm);
	munmap(h, PG);
}

/*
 * Two GPA-adjacent regions whose host memory is not adjacent: a range
 * across the edge is two iovecs, no single pointer; in host-adjacent
 * regions it is one.
 */
static void test_translate_edges(void **state)
{
	struct ovb_gmem *gm = host_gm("edges");
	uint8_t *h = host_pages(8);
	struct iovec iov[4];

	/* GPA BASE..+2 pages at host pages 4..5; +2..+4 at host 0..1. */
	assert_int_equal(ovb_gmem_host_add(gm, BASE, 2 * PG, h + 4 * PG), 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 2 * PG, 2 * PG, h), 0);
	/* ...and +4..+6 right after host page 1: host-adjacent. */
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 4 * PG, 2 * PG,
					   h + 2 * PG), 0);
	assert_int_equal(ovb_gmem_translate(gm, BASE + PG + 100, 2 * PG, iov,
					    4), 2);
	assert_ptr_equal(iov[0].iov_base, h + 5 * PG + 100);
	assert_int_equal(iov[0].iov_len, PG - 100);
	assert_ptr_equal(iov[1].iov_base, h);
	assert_int_equal(iov[1].iov_len, PG + 100);
	assert_int_equal(ovb_gmem_translate(gm, BASE + PG, 2 * PG, iov, 1),
			 -E2BIG);
	assert_null(ovb_gmem_ptr(gm, BASE + PG, 2 * PG));
	/* Adjacent in both spaces: merged. */
	assert_int_equal(ovb_gmem_translate(gm, BASE + 2 * PG, 4 * PG, iov, 4),
			 1);
	assert_ptr_equal(ovb_gmem_ptr(gm, BASE + 3 * PG, 2 * PG), h + PG);
	/* Past the end, wrapping, zero length. */
	assert_int_equal(ovb_gmem_translate(gm, BASE + 5 * PG, 2 * PG, iov, 4),
			 -EFAULT);
	assert_int_equal(ovb_gmem_translate(gm, BASE, UINT64_MAX, iov, 4),
			 -EFAULT);
	assert_int_equal(ovb_gmem_translate(gm, UINT64_MAX, 1, iov, 4),
			 -EFAULT);
	assert_int_equal(ovb_gmem_translate(gm, BASE, 0, iov, 4), -EINVAL);
	assert_null(ovb_gmem_ptr(gm, UINT64_MAX - 1, 2));
	/* Reverse translation. */
	assert_int_equal(ovb_gmem_gpa(gm, h + 5), BASE + 2 * PG + 5);
	assert_int_equal(ovb_gmem_gpa(gm, h + 4 * PG), BASE);
	assert_int_equal(ovb_gmem_gpa(gm, h + 6 * PG), UINT64_MAX);
	ovb_gmem_destroy(gm);
	munmap(h, 8 * PG);
}

static struct ovb_gpa_range rng(uint32_t off, uint32_t count,
				const uint64_t *pfns)
{
	return (struct ovb_gpa_range){ .byte_offset = off, .byte_count = count,
				       .npfns = ovb_gpa_range_npfns(off, count),
				       .pfns = pfns };
}

static void test_ranges_iov_split(void **state)
{
	struct ovb_gmem *gm = host_gm("iov");
	uint8_t *h = host_pages(4);
	uint64_t pfns[3] = { BASE / PG, BASE / PG + 1, BASE / PG + 2 };
	uint64_t hostile[2] = { BASE / PG, UINT64_MAX / PG };
	struct ovb_gpa_range r;
	struct iovec iov[4];
	size_t total;

	/* Three GPA pages; host pages 2, 0, 1. */
	assert_int_equal(ovb_gmem_host_add(gm, BASE, PG, h + 2 * PG), 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + PG, 2 * PG, h), 0);
	r = rng(10, 3 * PG - 20, pfns);
	assert_int_equal(ovb_gmem_ranges_iov(gm, &r, 1, iov, 4, &total), 2);
	assert_ptr_equal(iov[0].iov_base, h + 2 * PG + 10);
	assert_int_equal(iov[0].iov_len, PG - 10);
	assert_ptr_equal(iov[1].iov_base, h);
	assert_int_equal(iov[1].iov_len, 2 * PG - 10);
	assert_int_equal(total, 3 * PG - 20);
	/* A PFN whose address overflows. */
	r = rng(0, 2 * PG, hostile);
	assert_int_equal(ovb_gmem_ranges_iov(gm, &r, 1, iov, 4, &total),
			 -EFAULT);
	ovb_gmem_destroy(gm);
	munmap(h, 4 * PG);
}

/* Scattered pages through a provider that cannot map: a paged view. */
static void test_paged_view(void **state)
{
	struct ovb_gmem *gm = host_gm("paged");
	uint8_t *h = host_pages(8), buf[3 * PG];
	uint64_t pfns[4] = { BASE / PG + 5, BASE / PG + 1, BASE / PG + 5,
			     BASE / PG + 7 };
	struct ovb_gmem_view v, s;
	struct ovb_gmem_stats st;

	assert_int_equal(ovb_gmem_host_add(gm, BASE, 8 * PG, h), 0);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 4, &v), 0);
	assert_true(ovb_gmem_view_paged(&v));
	assert_null(v.va);
	assert_int_equal(v.len, 4 * PG);
	assert_ptr_equal(v.pages[0], h + 5 * PG);
	assert_ptr_equal(v.pages[3], h + 7 * PG);
	/* Pointers only where the bytes are contiguous. */
	assert_ptr_equal(ovb_gmem_view_ptr(&v, PG + 7, 100), h + PG + 7);
	assert_null(ovb_gmem_view_ptr(&v, PG - 1, 2));
	assert_null(ovb_gmem_view_ptr(&v, 4 * PG - 1, 2));
	assert_ptr_equal(ovb_gmem_view_ptr(&v, 4 * PG - 1, 1),
			 h + 8 * PG - 1);
	/* Reads and writes across page edges land in the guest's pages. */
	assert_int_equal(ovb_gmem_view_read(&v, PG - 2, buf, 2 * PG + 4), 0);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(buf[2], 0x41);
	assert_int_equal(buf[PG + 2], 0x45);
	assert_int_equal(buf[2 * PG + 2], 0x47);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(ovb_gmem_view_write(&v, 2 * PG - 1, buf, PG + 2), 0);
	assert_int_equal(h[2 * PG - 1], 0xab);     /* page 1's last byte */
	assert_int_equal(h[5 * PG + PG - 1], 0xab); /* all of page 5 */
	assert_int_equal(h[5 * PG], 0xab);
	assert_int_equal(h[7 * PG], 0xab);          /* page 7's first byte */
	assert_int_equal(h[7 * PG + 1], 0x47);
	assert_int_equal(ovb_gmem_view_read(&v, 4 * PG - 1, buf, 2), -ERANGE);
	assert_int_equal(ovb_gmem_view_write(&v, SIZE_MAX, buf, 2), -ERANGE);
	/* A slice of pages 1..2 is paged too and frees nothing. */
	assert_int_equal(ovb_gmem_view_slice(&v, PG, 2 * PG, &s), 0);
	assert_ptr_equal(s.pages[0], h + PG);
	assert_int_equal(ovb_gmem_view_slice(&v, PG, 4 * PG, &s), -EINVAL);
	assert_int_equal(ovb_gmem_view_slice(&v, 1, PG, &s), -EINVAL);
	ovb_gmem_get_stats(gm, &st);
	assert_int_equal(st.paged_views, 1);
	assert_int_equal(st.maps, 0);
	ovb_gmem_unmap(&v);
	assert_null(v.pages);
	assert_int_equal(v.len, 0);
	/* Adjacent pages: a direct view. */
	pfns[0] = BASE / PG + 2;
	pfns[1] = BASE / PG + 3;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 2, &v), 0);
	assert_ptr_equal(v.va, h + 2 * PG);
	ovb_gmem_unmap(&v);
	ovb_gmem_get_stats(gm, &st);
	assert_int_equal(st.direct_views, 1);
	ovb_gmem_destroy(gm);
	munmap(h, 8 * PG);
}

/* Hostile PFN lists are refused before anything is built. */
static void test_view_hostile(void **state)
{
	struct ovb_gmem *gm = host_gm("hostile");
	uint8_t *h = host_pages(2);
	uint64_t pfns[3] = { BASE / PG, BASE / PG + 1, 0 };
	struct ovb_gmem_view v;
	static const uint64_t bad[] = { BASE / PG + 2, BASE / PG - 1,
					UINT64_MAX, UINT64_MAX / PG,
					(UINT64_MAX / PG) + 1 };

	assert_int_equal(ovb_gmem_host_add(gm, BASE, 2 * PG, h), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pfns[2] = bad[i];
		assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), -EFAULT);
		assert_int_equal(v.len, 0);
	}
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 0, &v), -EINVAL);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, (1ull << 28) + 1, &v),
			 -EINVAL);
	ovb_gmem_destroy(gm);
	munmap(h, 2 * PG);
}

static void test_pool_over_host_memory(void **state)
{
	struct ovb_gmem *gm = host_gm("pool");
	uint8_t *h = host_pages(8);
	uint64_t gpa;
	void *hva;

	assert_int_equal(ovb_gmem_host_add(gm, BASE, 4 * PG, h + 4 * PG), 0);
	assert_int_equal(ovb_gmem_host_add(gm, BASE + 4 * PG, 4 * PG, h), 0);
	/* A pool must be one host-contiguous piece of guest RAM. */
	assert_int_equal(ovb_gmem_pool_add(gm, BASE + 2 * PG, 4 * PG), -EFAULT);
	assert_int_equal(ovb_gmem_pool_add(gm, BASE + 8 * PG, PG), -EFAULT);
	assert_int_equal(ovb_gmem_pool_add(gm, BASE + 1, PG), -EINVAL);
	assert_int_equal(ovb_gmem_alloc(gm, 1, &gpa, &hva), -ENOMEM);
	assert_int_equal(ovb_gmem_pool_add(gm, BASE + 4 * PG, 4 * PG), 0);
	assert_int_equal(ovb_gmem_pool_add(gm, BASE + 5 * PG, PG), -EEXIST);
	assert_int_equal(ovb_gmem_alloc(gm, 2, &gpa, &hva), 0);
	assert_int_equal(gpa, BASE + 4 * PG);
	assert_ptr_equal(hva, h);
	assert_int_equal(h[0], 0); /* zeroed */
	assert_int_equal(ovb_gmem_gpa(gm, (uint8_t *)hva + PG + 3),
			 BASE + 5 * PG + 3);
	assert_int_equal(ovb_gmem_alloc(gm, 3, &gpa, &hva), -ENOMEM);
	ovb_gmem_free(gm, BASE + 4 * PG, 2);
	assert_int_equal(ovb_gmem_alloc(gm, 4, &gpa, &hva), 0);
	ovb_gmem_destroy(gm);
	munmap(h, 8 * PG);
}

/* ---- a custom provider that maps (or declines to) ---------------------- */

struct fake {
	uint8_t *h;
	int map_rc;
	unsigned int maps, unmaps;
	uint8_t map_area[4 * PG] __attribute__((aligned(4096)));
};

/* GPA page i is host page (7 - i): nothing is adjacent. */
static int fake_translate(void *ctx, uint64_t gpa, uint64_t len,
			  struct iovec *iov, int max)
{
	struct fake *f = ctx;
	int cnt = 0;

	while (len) {
		uint64_t page = (gpa - BASE) / PG, off = gpa % PG;
		uint64_t chunk = PG - off < len ? PG - off : len;

		if (gpa < BASE || page >= 8)
			return -EFAULT;
		if (cnt == max)
			return -E2BIG;
		iov[cnt].iov_base = f->h + (7 - page) * PG + off;
		iov[cnt++].iov_len = chunk;
		gpa += chunk;
		len -= chunk;
	}
	return cnt;
}

static int fake_map(void *ctx, const uint64_t *pfns, size_t n, void **va)
{
	struct fake *f = ctx;

	if (f->map_rc)
		return f->map_rc;
	f->maps++;
	*va = f->map_area;
	return 0;
}

static void fake_unmap(void *ctx, void *va, size_t n)
{
	struct fake *f = ctx;

	f->unmaps++;
}

static const struct ovb_gmem_ops fake_ops = {
	.translate = fake_translate,
	.map = fake_map,
	.unmap = fake_unmap,
};

static void test_custom_provider(void **state)
{
	static struct fake f;
	static const struct ovb_gmem_ops no_unmap = {
		.translate = fake_translate, .map = fake_map };
	uint64_t pfns[3] = { BASE / PG, BASE / PG + 1, BASE / PG + 2 };
	struct ovb_gmem_view v;
	struct ovb_gmem_stats st;
	struct ovb_gmem *gm;

	f.h = host_pages(8);
	assert_int_equal(ovb_gmem_create(&no_unmap, &f, "x", &gm), -EINVAL);
	assert_int_equal(ovb_gmem_create(&fake_ops, &f, "fake", &gm), 0);
	assert_ptr_equal(ovb_gmem_provider(gm, &fake_ops), &f);
	assert_null(ovb_gmem_provider(gm, &no_unmap));
	/* The host-memory calls refuse another provider's memory. */
	assert_int_equal(ovb_gmem_host_add(gm, 0, PG, f.h), -ENODEV);
	/* Mapped: charged one mapping per run (three here). */
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), 0);
	assert_ptr_equal(v.va, f.map_area);
	assert_int_equal(v.nmaps, 3);
	ovb_gmem_get_stats(gm, &st);
	assert_int_equal(st.maps, 3);
	assert_int_equal(st.mapped_views, 1);
	ovb_gmem_unmap(&v);
	assert_int_equal(f.unmaps, 1);
	ovb_gmem_get_stats(gm, &st);
	assert_int_equal(st.maps, 0);
	/* Declined: a paged view instead, nothing charged. */
	f.map_rc = -EOPNOTSUPP;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), 0);
	assert_true(ovb_gmem_view_paged(&v));
	assert_ptr_equal(v.pages[2], f.h + 5 * PG);
	ovb_gmem_unmap(&v);
	/* Failed: the view fails, the budget is given back. */
	f.map_rc = -EIO;
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 3, &v), -EIO);
	ovb_gmem_get_stats(gm, &st);
	assert_int_equal(st.maps, 0);
	assert_int_equal(st.paged_views, 1);
	ovb_gmem_destroy(gm);
	munmap(f.h, 8 * PG);
}

/* The mapping budget holds for any provider that maps. */
static void test_custom_budget(void **state)
{
	static struct fake f;
	static struct ovb_gmem_view v[OVB_GMEM_MAX_MAPS / 8];
	uint64_t pfns[8];
	struct ovb_gmem_view extra;
	struct ovb_gmem *gm;
	size_t i;

	f.h = host_pages(8);
	for (i = 0; i < 8; i++)
		pfns[i] = BASE / PG + i;
	assert_int_equal(ovb_gmem_create(&fake_ops, &f, "budget", &gm), 0);
	for (i = 0; i < OVB_GMEM_MAX_MAPS / 8; i++)
		assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 8, &v[i]), 0);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 1, &extra), 0);
	ovb_gmem_unmap(&extra); /* one page: one run, no mapping needed */
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 2, &extra), -ENOMEM);
	ovb_gmem_unmap(&v[0]);
	assert_int_equal(ovb_gmem_map_pfns(gm, pfns, 8, &v[0]), 0);
	for (i = 0; i < OVB_GMEM_MAX_MAPS / 8; i++)
		ovb_gmem_unmap(&v[i]);
	assert_int_equal(f.unmaps, OVB_GMEM_MAX_MAPS / 8 + 1);
	ovb_gmem_destroy(gm);
	munmap(f.h, 8 * PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_region_rules),
		cmocka_unit_test(test_host_many_regions),
		cmocka_unit_test(test_translate_edges),
		cmocka_unit_test(test_ranges_iov_split),
		cmocka_unit_test(test_paged_view),
		cmocka_unit_test(test_view_hostile),
		cmocka_unit_test(test_pool_over_host_memory),
		cmocka_unit_test(test_custom_provider),
		cmocka_unit_test(test_custom_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
