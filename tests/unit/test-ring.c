// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ring buffer (src/core/ring.c): attach and control-page
 * set-up, framing and trailer, a wrap at every offset, exact fit, full and
 * empty rings, size limits and write batches (docs/wire.md B5/B6).  Signals
 * are in test-ring-signal.c, corrupt rings in test-ring-corrupt.c, threads
 * in test-ring-stress.c; the shared fixture is tests/lib/ring-fx.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/log.h"
#include "openvmbus/ring.h"
#include "tests/lib/ring-fx.h"

/* ---- attach, init, sizes ----------------------------------------------- */

static void test_attach_rejects_bad_sizes(void **state)
{
	struct rfx *f = *state;
	struct ovb_ring r;

	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 0, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4095, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4097, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data,
					 (1u << 30) + 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, NULL, f->data, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, NULL, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 1u << 30, "x"),
			 0);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 8192, NULL), 0);
	assert_string_equal(r.name, "ring");
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4096,
			 "a name much longer than thirty-one characters"), 0);
	assert_int_equal(strlen(r.name), sizeof(r.name) - 1);
}

static void test_init_control(void **state)
{
	struct rfx *f = *state;
	const uint8_t *p = (const uint8_t *)f->ctl;

	memset(f->ctl, 0xff, sizeof(*f->ctl));
	ovb_ring_init_control(&f->w);
	assert_int_equal(f->ctl->write_index, 0);
	assert_int_equal(f->ctl->read_index, 0);
	assert_int_equal(f->ctl->interrupt_mask, 0);
	assert_int_equal(f->ctl->pending_send_sz, 0);
	assert_int_equal(f->ctl->feature_bits,
			 VMBUS_RING_FEAT_PENDING_SEND_SZ);
	for (size_t i = 0; i < sizeof(*f->ctl); i++)
		if (i < 64 || i >= 68)
			assert_int_equal(p[i], 0);
}

static void test_packet_space(void **state)
{
	assert_int_equal(ovb_ring_packet_space(0), 8);
	assert_int_equal(ovb_ring_packet_space(16), 24);
	assert_int_equal(ovb_ring_packet_space(17), 32);
	assert_int_equal(ovb_ring_packet_space(23), 32);
	assert_int_equal(ovb_ring_packet_space(24), 32);
	assert_int_equal(ovb_ring_packet_space(4080), 4088);
	assert_int_equal(ovb_ring_packet_space((size_t)1 << 31), UINT32_MAX);
}

/* ---- framing ----------------------------------------------------------- */

static void test_roundtrip_one(void **state)
{
	struct rfx *f = *state;
	bool sig;

	assert_int_equal(rfx_put(&f->w, 40, 7, &sig), 0);
	assert_int_equal(f->ctl->write_index, 48);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 48);
	rfx_get(&f->rd, 40, 7);
	assert_int_equal(f->ctl->read_index, 0); /* not yet committed */
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(f->ctl->read_index, 48);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_int_equal(rfx_log_count, 0);
}

static void test_trailer_and_padding(void **state)
{
	struct rfx *f = *state;
	static const uint8_t want[8] = { 0, 0, 0, 0, 0xa0, 0x0f, 0, 0 };
	bool sig;

	rfx_set_indices(f, 4000, 4000);
	assert_int_equal(rfx_put(&f->w, 37, 1, &sig), 0);
	/* 37 bytes, 3 zero bytes of padding, trailer at 4040. */
	for (uint32_t i = 4037; i < 4040; i++)
		assert_int_equal(f->data[i], 0);
	assert_memory_equal(f->data + 4040, want, 8);
	assert_true(rfx_trailer_at(f, 4040) == (uint64_t)4000 << 32);
	assert_int_equal(f->ctl->write_index, 4048);
	/* The next packet starts at 4048 and its trailer wraps to 0. */
	assert_int_equal(rfx_put(&f->w, 40, 2, &sig), 0);
	assert_true(rfx_trailer_at(f, 4088) == (uint64_t)4048 << 32);
	assert_int_equal(f->ctl->write_index, 0);
	rfx_get(&f->rd, 37, 1);
	rfx_get(&f->rd, 40, 2);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
}

static void test_trailer_split_by_wrap(void **state)
{
	struct rfx *f = *state;
	bool sig;

	/* 4088 + 16 bytes of packet: the trailer lands at 8..15. */
	rfx_set_indices(f, 4088, 4088);
	assert_int_equal(rfx_put(&f->w, 16, 3, &sig), 0);
	assert_true(rfx_trailer_at(f, 8) == (uint64_t)4088 << 32);
	assert_int_equal(f->ctl->write_index, 16);
	rfx_get(&f->rd, 16, 3);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(f->ctl->read_index, 16);
}

static void test_iov_gather_across_wrap(void **state)
{
	struct rfx *f = *state;
	uint8_t pkt[100], got[104];
	struct iovec iov[4];
	bool sig;

	rfx_make_pkt(pkt, sizeof(pkt), 9);
	iov[0] = (struct iovec){ pkt, 10 };
	iov[1] = (struct iovec){ pkt + 10, 0 };
	iov[2] = (struct iovec){ pkt + 10, 50 };
	iov[3] = (struct iovec){ pkt + 60, 40 };
	rfx_set_indices(f, 4056, 4056);
	assert_int_equal(ovb_ring_write(&f->w, iov, 4, &sig), 0);
	assert_int_equal(ovb_ring_read(&f->rd, got, sizeof(got)), 104);
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_true(rfx_trailer_at(f, (4056 + 104) % RFX_SIZE) ==
		    (uint64_t)4056 << 32);
}

/* Write and read one packet of @len starting at every 8-byte offset. */
static void wrap_sweep(struct rfx *f, uint32_t len)
{
	uint32_t space = ovb_ring_packet_space(len);
	bool sig;

	for (uint32_t off = 0; off < RFX_SIZE; off += 8) {
		uint32_t end = (off + space) % RFX_SIZE, tail;

		memset(f->data, 0xee, RFX_SIZE);
		rfx_set_indices(f, off, off);
		assert_int_equal(rfx_put(&f->w, len, off, &sig), 0);
		assert_true(sig);
		assert_int_equal(f->ctl->write_index, end);
		tail = (end + RFX_SIZE - 8) % RFX_SIZE;
		assert_true(rfx_trailer_at(f, tail) == (uint64_t)off << 32);
		/* Nothing outside the packet was touched. */
		for (uint32_t i = space; i < RFX_SIZE; i++)
			assert_int_equal(f->data[(off + i) % RFX_SIZE], 0xee);
		rfx_get(&f->rd, len, off);
		assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
		assert_false(ovb_ring_read_commit(&f->rd));
		assert_int_equal(f->ctl->read_index, end);
	}
	assert_int_equal(rfx_log_count, 0);
}

static void test_wrap_every_offset_16(void **state)
{
	wrap_sweep(*state, 16);
}

static void test_wrap_every_offset_37(void **state)
{
	wrap_sweep(*state, 37);
}

static void test_wrap_every_offset_100(void **state)
{
	wrap_sweep(*state, 100);
}

static void test_wrap_every_offset_1001(void **state)
{
	wrap_sweep(*state, 1001);
}

static void test_wrap_every_offset_2048(void **state)
{
	wrap_sweep(*state, 2048);
}

static void test_wrap_every_offset_max(void **state)
{
	wrap_sweep(*state, RFX_MAX_PKT);
}

/* ---- capacity ----------------------------------------------------------- */

static void test_empty_is_eagain(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[64];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_false(ovb_ring_read_commit(&f->rd));
	assert_int_equal(ovb_ring_write_avail(&f->w), RFX_SIZE - 8);
}

static void test_exact_fit_empty_ring(void **state)
{
	struct rfx *f = *state;
	bool sig;

	/* The largest packet leaves exactly the 8 reserved bytes. */
	assert_int_equal(rfx_put(&f->w, RFX_MAX_PKT, 1, &sig), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(rfx_put(&f->w, 16, 2, &sig), -EAGAIN);
	rfx_get(&f->rd, RFX_MAX_PKT, 1);
	ovb_ring_read_commit(&f->rd);
	/* One 8 more could never fit. */
	assert_int_equal(rfx_put(&f->w, RFX_MAX_PKT + 1, 3, &sig), -EMSGSIZE);
	assert_int_equal(rfx_put(&f->w, RFX_MAX_PKT + 8, 3, &sig), -EMSGSIZE);
}

static void test_exact_fit_partial_ring(void **state)
{
	struct rfx *f = *state;
	bool sig;

	rfx_set_indices(f, 3000, 3000);
	assert_int_equal(rfx_put(&f->w, 1000, 1, &sig), 0); /* 1008 used */
	assert_int_equal(ovb_ring_write_avail(&f->w), RFX_SIZE - 1008 - 8);
	/* 3088 bytes free: 3088 rejected, 3080 leaves exactly 8. */
	assert_int_equal(rfx_put(&f->w, 3080, 2, &sig), -EAGAIN);
	assert_int_equal(f->ctl->write_index, (3000 + 1008) % RFX_SIZE);
	assert_int_equal(rfx_put(&f->w, 3072, 3, &sig), 0);
	assert_false(sig);
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(f->ctl->write_index, 3000 - 8);
	assert_int_equal(rfx_put(&f->w, 16, 4, &sig), -EAGAIN);
	rfx_get(&f->rd, 1000, 1);
	rfx_get(&f->rd, 3072, 3);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
}

static void test_full_then_drain(void **state)
{
	struct rfx *f = *state;
	uint32_t n = 0, want = (RFX_SIZE - 8) / 24;
	bool sig;

	rfx_set_indices(f, 816, 816);
	while (rfx_put(&f->w, 16, n, &sig) == 0)
		n++;
	assert_int_equal(n, want);
	assert_int_equal(rfx_put(&f->w, 16, n, &sig), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), n * 24);
	for (uint32_t i = 0; i < n; i++)
		rfx_get(&f->rd, 16, i);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(ovb_ring_write_avail(&f->w), RFX_SIZE - 8);
}

static void test_too_large_emsgsize(void **state)
{
	struct rfx *f = *state;
	uint8_t big[8192] = { 0 };
	struct iovec iov[2] = { { big, 4000 }, { big, 4000 } };
	bool sig = true;

	assert_int_equal(rfx_put(&f->w, RFX_MAX_PKT + 1, 1, &sig), -EMSGSIZE);
	assert_false(sig);
	assert_int_equal(ovb_ring_write(&f->w, iov, 2, &sig), -EMSGSIZE);
	iov[0].iov_len = sizeof(big);
	assert_int_equal(ovb_ring_write(&f->w, iov, 1, &sig), -EMSGSIZE);
	iov[0].iov_len = SIZE_MAX;
	assert_int_equal(ovb_ring_write(&f->w, iov, 1, &sig), -EMSGSIZE);
	assert_int_equal(f->ctl->write_index, 0);
	/* The failed writes left no batch open. */
	assert_int_equal(rfx_put(&f->w, 16, 2, &sig), 0);
}

static void test_small_buffer_emsgsize(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[104];
	bool sig;

	assert_int_equal(rfx_put(&f->w, 100, 5, &sig), 0);
	assert_int_equal(ovb_ring_read(&f->rd, buf, 103), -EMSGSIZE);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EMSGSIZE);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 112);
	rfx_get(&f->rd, 100, 5);
}

static void test_caller_mistakes_einval(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[16] = { 0 };
	struct iovec iov = { buf, 15 };
	bool sig;

	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	assert_int_equal(ovb_ring_write_begin(&f->w), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, NULL, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, -1), -EINVAL);
	assert_false(ovb_ring_write_commit(&f->w));
	assert_int_equal(ovb_ring_write(&f->w, &iov, 1, &sig), -EINVAL);
	assert_int_equal(f->ctl->write_index, 0);
}

/* ---- batches ----------------------------------------------------------- */

static void test_batch_invisible_until_commit(void **state)
{
	struct rfx *f = *state;

	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(rfx_stage(&f->w, 24 + i * 8, i), 0);
	assert_int_equal(f->ctl->write_index, 0);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w),
			 RFX_SIZE - 8 - (32 + 40 + 48));
	assert_true(ovb_ring_write_commit(&f->w));
	assert_int_equal(f->ctl->write_index, 32 + 40 + 48);
	for (uint32_t i = 0; i < 3; i++)
		rfx_get(&f->rd, 24 + i * 8, i);
}

static void test_batch_one_signal(void **state)
{
	struct rfx *f = *state;

	/* First batch makes the ring non-empty: one signal for 5 packets. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(rfx_stage(&f->w, 64, i), 0);
	assert_true(ovb_ring_write_commit(&f->w));
	/* Second batch finds the ring non-empty: no signal. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 5; i < 10; i++)
		assert_int_equal(rfx_stage(&f->w, 64, i), 0);
	assert_false(ovb_ring_write_commit(&f->w));
	for (uint32_t i = 0; i < 10; i++)
		rfx_get(&f->rd, 64, i);
}

static void test_batch_partial_when_full(void **state)
{
	struct rfx *f = *state;
	uint32_t n = 0;
	int rc;

	/* A batch that runs out of room keeps what it staged. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	while ((rc = rfx_stage(&f->w, 1000, n)) == 0)
		n++;
	assert_int_equal(rc, -EAGAIN);
	assert_int_equal(n, 4); /* 4 x 1008 = 4032 < 4088 */
	assert_true(ovb_ring_write_commit(&f->w));
	for (uint32_t i = 0; i < n; i++)
		rfx_get(&f->rd, 1000, i);
}

static void test_empty_batch_no_signal(void **state)
{
	struct rfx *f = *state;

	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	assert_false(ovb_ring_write_commit(&f->w));
	assert_int_equal(f->ctl->write_index, 0);
	assert_false(ovb_ring_write_commit(&f->w)); /* no batch open */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rfx_setup, rfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_attach_rejects_bad_sizes),
		T(test_init_control),
		T(test_packet_space),
		T(test_roundtrip_one),
		T(test_trailer_and_padding),
		T(test_trailer_split_by_wrap),
		T(test_iov_gather_across_wrap),
		T(test_wrap_every_offset_16),
		T(test_wrap_every_offset_37),
		T(test_wrap_every_offset_100),
		T(test_wrap_every_offset_1001),
		T(test_wrap_every_offset_2048),
		T(test_wrap_every_offset_max),
		T(test_empty_is_eagain),
		T(test_exact_fit_empty_ring),
		T(test_exact_fit_partial_ring),
		T(test_full_then_drain),
		T(test_too_large_emsgsize),
		T(test_small_buffer_emsgsize),
		T(test_caller_mistakes_einval),
		T(test_batch_invisible_until_commit),
		T(test_batch_one_signal),
		T(test_batch_partial_when_full),
		T(test_empty_batch_no_signal),
	};
	int failed;

	failed = cmocka_run_group_tests_name("contiguous", tests, NULL, NULL);
	/* Again over a paged data area (ring-fx.h rfx_pages). */
	rfx_paged = true;
	failed += cmocka_run_group_tests_name("paged", tests, NULL, NULL);
	return failed;
}
