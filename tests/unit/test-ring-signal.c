// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ring buffer's signalling contract (docs/wire.md B5 rules
 * 1-3): the writer signals on empty -> non-empty with the mask clear, the
 * reader's unmask re-check, the peek a polling thread makes without the
 * reader's side, and the pending_send_sz crossing that wakes a blocked
 * writer exactly once.
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

/* ---- writer -> reader signals ------------------------------------------ */

static void test_signal_empty_to_nonempty(void **state)
{
	struct rfx *f = *state;
	bool sig = false;

	assert_int_equal(rfx_put(&f->w, 32, 1, &sig), 0);
	assert_true(sig);
	assert_int_equal(rfx_put(&f->w, 32, 2, &sig), 0);
	assert_false(sig); /* ring was not empty */
}

static void test_signal_masked(void **state)
{
	struct rfx *f = *state;
	bool sig = true;

	ovb_ring_mask_interrupts(&f->rd);
	assert_int_equal(f->ctl->interrupt_mask, 1);
	assert_int_equal(rfx_put(&f->w, 32, 1, &sig), 0);
	assert_false(sig);
}

static void test_signal_again_after_drain(void **state)
{
	struct rfx *f = *state;
	bool sig;

	assert_int_equal(rfx_put(&f->w, 32, 1, &sig), 0);
	assert_true(sig);
	rfx_get(&f->rd, 32, 1);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(rfx_put(&f->w, 32, 2, &sig), 0);
	assert_true(sig);
}

static void test_no_signal_before_reader_commits(void **state)
{
	struct rfx *f = *state;
	bool sig;

	/* The reader took the packet but has not published read_index: it
	 * is still running and will find the next packet itself. */
	assert_int_equal(rfx_put(&f->w, 32, 1, &sig), 0);
	rfx_get(&f->rd, 32, 1);
	assert_int_equal(rfx_put(&f->w, 32, 2, &sig), 0);
	assert_false(sig);
	rfx_get(&f->rd, 32, 2);
}

static void test_unmask_recheck_empty(void **state)
{
	struct rfx *f = *state;

	ovb_ring_mask_interrupts(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
	assert_int_equal(f->ctl->interrupt_mask, 0);
}

static void test_unmask_recheck_data_arrived(void **state)
{
	struct rfx *f = *state;
	bool sig = true;

	ovb_ring_mask_interrupts(&f->rd);
	assert_int_equal(rfx_put(&f->w, 48, 1, &sig), 0);
	assert_false(sig); /* masked: the reader must find it itself */
	assert_true(ovb_ring_unmask_interrupts(&f->rd));
	rfx_get(&f->rd, 48, 1);
	ovb_ring_read_commit(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
}

static void test_unmask_recheck_uncommitted(void **state)
{
	struct rfx *f = *state;
	bool sig;

	assert_int_equal(rfx_put(&f->w, 48, 1, &sig), 0);
	assert_int_equal(rfx_put(&f->w, 48, 2, &sig), 0);
	ovb_ring_mask_interrupts(&f->rd);
	rfx_get(&f->rd, 48, 1);
	/* read_index is still 0, but the reader's own position counts. */
	assert_true(ovb_ring_unmask_interrupts(&f->rd));
	rfx_get(&f->rd, 48, 2);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
	ovb_ring_read_commit(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
}

/* What a thread that does not hold the reader's side may look at. */
static void test_peek_and_masked(void **state)
{
	struct rfx *f = *state;
	bool sig;

	assert_false(ovb_ring_peek(&f->rd));
	assert_false(ovb_ring_masked(&f->rd));
	assert_int_equal(rfx_put(&f->w, 48, 1, &sig), 0);
	assert_true(ovb_ring_peek(&f->rd));
	/* Taken but not published: still there for anyone else. */
	rfx_get(&f->rd, 48, 1);
	assert_true(ovb_ring_peek(&f->rd));
	ovb_ring_read_commit(&f->rd);
	assert_false(ovb_ring_peek(&f->rd));
	ovb_ring_mask_interrupts(&f->rd);
	assert_true(ovb_ring_masked(&f->rd));
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
	assert_false(ovb_ring_masked(&f->rd));
}

/* ---- reader -> writer signals (pending_send_sz) ------------------------- */

/* Fill the ring with 16-byte packets (24 bytes each); return how many. */
static uint32_t fill_small(struct rfx *f)
{
	uint32_t n = 0;
	bool sig;

	while (rfx_put(&f->w, 16, n, &sig) == 0)
		n++;
	return n;
}

static void test_pending_unset_no_signal(void **state)
{
	struct rfx *f = *state;
	uint32_t n = fill_small(f);

	for (uint32_t i = 0; i < n; i++) {
		rfx_get(&f->rd, 16, i);
		assert_false(ovb_ring_read_commit(&f->rd));
	}
}

static void test_pending_crossing_once(void **state)
{
	struct rfx *f = *state;
	uint32_t n = fill_small(f), need = 1000, signals = 0;

	assert_false(ovb_ring_set_pending_send(&f->w, need));
	assert_int_equal(f->ctl->pending_send_sz, need);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t before = ovb_ring_write_avail(&f->w) + 8, now;
		bool sig;

		rfx_get(&f->rd, 16, i);
		sig = ovb_ring_read_commit(&f->rd);
		now = ovb_ring_write_avail(&f->w) + 8;
		/* Exactly on the commit that crosses, never again. */
		assert_int_equal(sig, before <= need && now > need);
		signals += sig;
		if (sig)
			assert_true(ovb_ring_set_pending_send(&f->w, need));
	}
	assert_int_equal(signals, 1);
}

static void test_pending_crossing_in_one_batch(void **state)
{
	struct rfx *f = *state;
	uint32_t n = fill_small(f);

	assert_false(ovb_ring_set_pending_send(&f->w, 2000));
	/* 40 packets = 960 bytes: free grows from 16 to 976, no crossing. */
	for (uint32_t i = 0; i < 40; i++)
		rfx_get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
	/* 60 more: free goes to 2416 in one batch, one signal. */
	for (uint32_t i = 40; i < 100; i++)
		rfx_get(&f->rd, 16, i);
	assert_true(ovb_ring_read_commit(&f->rd));
	for (uint32_t i = 100; i < n; i++)
		rfx_get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_pending_needs_feature_bit(void **state)
{
	struct rfx *f = *state;
	uint32_t n = fill_small(f);

	f->ctl->feature_bits = 0;
	f->ctl->pending_send_sz = 100;
	for (uint32_t i = 0; i < n; i++)
		rfx_get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_pending_low_bits_ignored(void **state)
{
	struct rfx *f = *state;
	uint32_t n = fill_small(f);

	/* A peer that writes 103 means 96: free 16 -> 112 crosses it. */
	f->ctl->pending_send_sz = 103;
	for (uint32_t i = 0; i < 3; i++)
		rfx_get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd)); /* 16 -> 88 */
	rfx_get(&f->rd, 16, 3);
	assert_true(ovb_ring_read_commit(&f->rd)); /* 88 -> 112 */
	for (uint32_t i = 4; i < n; i++)
		rfx_get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_set_pending_matches_write(void **state)
{
	struct rfx *f = *state;
	bool sig;

	/* 1008 + 24 bytes used: raw free 3064, usable 3056. */
	assert_int_equal(rfx_put(&f->w, 1000, 1, &sig), 0);
	assert_int_equal(rfx_put(&f->w, 16, 2, &sig), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w), 3056);
	/* need == usable space: a packet of that space fits, so the writer
	 * must not sleep (the reader would never signal: no crossing). */
	assert_true(ovb_ring_set_pending_send(&f->w, 3056));
	assert_false(ovb_ring_set_pending_send(&f->w, 3064));
	/* Space 3064 does not fit, space 3056 does. */
	assert_int_equal(rfx_put(&f->w, 3056, 3, &sig), -EAGAIN);
	assert_int_equal(rfx_put(&f->w, 3048, 3, &sig), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
}

static void test_set_pending_rounds_and_clears(void **state)
{
	struct rfx *f = *state;

	assert_true(ovb_ring_set_pending_send(&f->w, 1001));
	assert_int_equal(f->ctl->pending_send_sz, 1008);
	assert_true(ovb_ring_set_pending_send(&f->w, 0));
	assert_int_equal(f->ctl->pending_send_sz, 0);
	assert_false(ovb_ring_set_pending_send(&f->w, UINT32_MAX));
	assert_int_equal(f->ctl->pending_send_sz, UINT32_MAX & ~7u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rfx_setup, rfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_signal_empty_to_nonempty),
		T(test_signal_masked),
		T(test_signal_again_after_drain),
		T(test_no_signal_before_reader_commits),
		T(test_unmask_recheck_empty),
		T(test_unmask_recheck_data_arrived),
		T(test_unmask_recheck_uncommitted),
		T(test_peek_and_masked),
		T(test_pending_unset_no_signal),
		T(test_pending_crossing_once),
		T(test_pending_crossing_in_one_batch),
		T(test_pending_needs_feature_bit),
		T(test_pending_low_bits_ignored),
		T(test_set_pending_matches_write),
		T(test_set_pending_rounds_and_clears),
	};
	int failed;

	failed = cmocka_run_group_tests_name("contiguous", tests, NULL, NULL);
	/* Again over a paged data area (ring-fx.h rfx_pages). */
	rfx_paged = true;
	failed += cmocka_run_group_tests_name("paged", tests, NULL, NULL);
	return failed;
}
