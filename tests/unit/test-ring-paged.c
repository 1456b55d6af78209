// SPDX-License-Identifier: MIT
/*
 * The ring over a paged data area (src/core/ring.c, ovb_ring_attach_pages)
 * against the same ring over a contiguous one: a fixed pseudo-random
 * stream of packets and batches of every size up to a page and beyond,
 * gathered from several iovecs, goes into both; after every batch the two
 * data areas hold the same bytes (the paged one read in order through its
 * second mapping, ring-fx.h rfx_pages) and the reader gets the same
 * packets from both.  Packets cross every page edge and the wrap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/ring.h"
#include "tests/lib/ring-fx.h"

#define SIZE (4 * 4096u)

struct side {
	struct vmbus_ring_control *ctl;
	struct ovb_ring w, rd;
	uint8_t *bytes; /* the data area in order */
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void side_init(struct side *sd, struct rfx_pages *pg, uint8_t *flat)
{
	sd->ctl = aligned_alloc(4096, 4096);
	assert_non_null(sd->ctl);
	if (pg) {
		assert_int_equal(ovb_ring_attach_pages(&sd->w, sd->ctl,
						       pg->pages, SIZE, "pw"),
				 0);
		assert_int_equal(ovb_ring_attach_pages(&sd->rd, sd->ctl,
						       pg->pages, SIZE, "pr"),
				 0);
		sd->bytes = pg->lin;
	} else {
		assert_int_equal(ovb_ring_attach(&sd->w, sd->ctl, flat, SIZE,
						 "cw"), 0);
		assert_int_equal(ovb_ring_attach(&sd->rd, sd->ctl, flat, SIZE,
						 "cr"), 0);
		sd->bytes = flat;
	}
	memset(sd->bytes, 0xee, SIZE);
	ovb_ring_init_control(&sd->w);
}

/* Write one packet of @len from @seq, in up to three iovecs. */
static int put(struct side *sd, uint32_t len, uint64_t seq, uint32_t cut)
{
	static uint8_t buf[SIZE];
	struct iovec iov[3];
	uint32_t a = cut % len, b = a + (len - a) / 2;

	rfx_make_pkt(buf, len, seq);
	if (a < 16)
		a = 16; /* the descriptor stays whole in the first piece */
	if (b < a)
		b = a;
	iov[0] = (struct iovec){ buf, a };
	iov[1] = (struct iovec){ buf + a, b - a };
	iov[2] = (struct iovec){ buf + b, len - b };
	return ovb_ring_write_packet(&sd->w, iov, 3);
}

static void test_paged_matches_contiguous(void **state)
{
	struct rfx_pages *pg = rfx_pages_new(SIZE);
	uint8_t *flat = aligned_alloc(4096, SIZE);
	static uint8_t got_c[SIZE], got_p[SIZE];
	struct side c, p;
	uint32_t seed = 12345, written = 0, read = 0;
	uint64_t seq = 0;

	assert_non_null(flat);
	side_init(&c, NULL, flat);
	side_init(&p, pg, NULL);
	for (int round = 0; round < 3000; round++) {
		uint32_t batch = 1 + rnd(&seed) % 4;
		bool sig_c, sig_p;

		assert_int_equal(ovb_ring_write_begin(&c.w), 0);
		assert_int_equal(ovb_ring_write_begin(&p.w), 0);
		for (uint32_t i = 0; i < batch; i++) {
			uint32_t len = 16 + rnd(&seed) % 6000;
			uint32_t cut = rnd(&seed);
			int rc_c = put(&c, len, seq, cut);

			assert_int_equal(put(&p, len, seq, cut), rc_c);
			if (rc_c == 0) {
				seq++;
				written++;
			}
		}
		sig_c = ovb_ring_write_commit(&c.w);
		sig_p = ovb_ring_write_commit(&p.w);
		assert_int_equal(sig_c, sig_p);
		assert_memory_equal(c.bytes, p.bytes, SIZE);
		assert_int_equal(c.ctl->write_index, p.ctl->write_index);
		/* Drain some, sometimes all. */
		for (uint32_t n = rnd(&seed) % 5; n--;) {
			ssize_t lc = ovb_ring_read(&c.rd, got_c, sizeof(got_c));
			ssize_t lp = ovb_ring_read(&p.rd, got_p, sizeof(got_p));

			assert_int_equal(lc, lp);
			if (lc == -EAGAIN)
				break;
			assert_true(lc > 0);
			assert_memory_equal(got_c, got_p, (size_t)lc);
			read++;
		}
		assert_int_equal(ovb_ring_read_commit(&c.rd),
				 ovb_ring_read_commit(&p.rd));
		assert_int_equal(c.ctl->read_index, p.ctl->read_index);
	}
	/* The stream did go round and did fill the ring. */
	assert_true(written > 1000);
	assert_true(read > 1000);
	free(c.ctl);
	free(p.ctl);
	free(flat);
	rfx_pages_free(pg);
}

static void test_attach_pages_rejects(void **state)
{
	struct rfx_pages *pg = rfx_pages_new(2 * 4096);
	uint8_t *hole[2] = { pg->pages[0], NULL };
	struct vmbus_ring_control ctl __attribute__((aligned(4096)));
	struct ovb_ring r;

	assert_int_equal(ovb_ring_attach_pages(&r, &ctl, NULL, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach_pages(&r, &ctl, hole, 8192, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach_pages(&r, &ctl, pg->pages, 4095, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach_pages(&r, NULL, pg->pages, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach_pages(&r, &ctl, pg->pages, 8192, "x"),
			 0);
	assert_null(r.data);
	rfx_pages_free(pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paged_matches_contiguous),
		cmocka_unit_test(test_attach_pages_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
