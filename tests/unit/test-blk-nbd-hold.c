// SPDX-License-Identifier: MIT
/*
 * Unit tests: how the NBD backend's own transmission phase (blk_nbd_wire.c)
 * paces what it hands back, against the scripted fake server of
 * tests/lib/nbd-fake.h: the hold (answers gathered for the guest while
 * more requests are in flight than answered, up to hold= microseconds,
 * never at QD1; the server's pace set by the test, not by a clock), the
 * look skipped right after a batch went out, and READ data of mixed sizes
 * read into place once, whole and in pieces.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "tests/lib/hang.h"
#include "tests/lib/nbd-fake.h"

/*
 * Three 4k reads in one batch to a server that answers the second late
 * (in pieces if @trickle): once the client has read the first answer,
 * or if @held only once the first poll that delivered anything returned
 * (nbd_fake_release).  On a disk with @opts; returns how many that first
 * poll delivered; the data must be right.
 */
static int held_batch(const char *opts, bool held, bool trickle)
{
	static uint8_t buf[3][4 * KIB];
	struct iovec iov[3];
	struct ovb_blk_req req[3];
	struct blkfx_waiter w[3] = { 0 };
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	int first = 0, done = 0;

	nbd_fake_start(S_LATE_SECOND);
	nbd_fake.late_held = held;
	nbd_fake.trickle = trickle;
	blk = nbd_fake_disk_open(opts);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	/* Connected before the batch. */
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_WRITE, 0, buf[0], sizeof(buf[0])), 0);
	nbd_fake.reads = 0;
	ovb_blk_queue_set_batch(q, true);
	for (int i = 0; i < 3; i++) {
		memset(buf[i], 0, sizeof(buf[i]));
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		req[i] = (struct ovb_blk_req){ .op = OVB_BLK_READ,
					       .off = (uint64_t)(i + 1) * 64 *
						      KIB,
					       .len = sizeof(buf[i]),
					       .iov = &iov[i], .iovcnt = 1,
					       .done = blkfx_done,
					       .priv = &w[i] };
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	ovb_blk_queue_set_batch(q, false);
	while (done < 3) {
		int n = ovb_blk_poll(q, -1);

		assert_true(n >= 0);
		if (n > 0 && !first) {
			first = n;
			nbd_fake_release();
		}
		done += n;
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].calls, 1);
		assert_int_equal(w[i].res, 0);
		assert_memory_equal(buf[i], nbd_fake.disk + (i + 1) * 64 * KIB,
				    sizeof(buf[i]));
	}
	assert_int_equal(nbd_fake_reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
	return first;
}

/*
 * The hold: the first answer comes at once, the second once the client
 * has read the first.  With hold= 1 s the owner waits for it (two still
 * in flight, one answered) and both reach the caller in one poll; with
 * hold=0 the first goes alone (the second held back until it has).
 */
static void test_hold_gathers(void **state)
{
	assert_true(held_batch(",hold=1000000", false, false) >= 2);
	assert_int_equal(held_batch(",hold=0", true, false), 1);
}

/* ... also when the late answer comes in pieces of a few bytes. */
static void test_hold_pieces(void **state)
{
	assert_true(held_batch(",hold=1000000", false, true) >= 2);
}

/*
 * The hold's bound: hold=100 ms, the second answer held back by the
 * server until the first poll returned.  That poll delivers the first
 * answer alone: the hold ended by its bound (a hold without one would
 * wait for the answer, which comes only after the hang guard, and
 * deliver it too; one bounded by the 5 s request deadline would fail
 * the request).
 */
static void test_hold_bound(void **state)
{
	assert_int_equal(held_batch(",hold=100000", true, false), 1);
}

/*
 * A lone request is never held: with hold=1 s, reads at QD1 twice as
 * many as the hang guard has seconds.  Held, each would take 1 s and
 * together they would run past the guard; not held, they take
 * milliseconds.
 */
static void test_hold_not_qd1(void **state)
{
	static uint8_t buf[4 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	uint64_t t0;

	nbd_fake_start(S_HONEST);
	blk = nbd_fake_disk_open(",hold=1000000");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	t0 = ovb_now_us();
	for (int i = 0; i < 2 * TEST_HANG_MS / 1000; i++) {
		assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 4 * KIB, buf,
					      sizeof(buf)),
				 0);
		TEST_NO_HANG(t0);
	}
	assert_memory_equal(buf, nbd_fake.disk + 4 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/*
 * The look right after a batch went out is left to the queue's
 * descriptor: with the answer already waiting, the first poll(0) after
 * the send does not read it, the descriptor stays readable (a sleeping
 * owner comes back), and the next poll delivers it.
 */
static void test_first_look_skipped(void **state)
{
	static uint8_t buf[4 * KIB];
	struct iovec iov = { buf, sizeof(buf) };
	struct blkfx_waiter w = { 0 };
	struct ovb_blk_req req = { .op = OVB_BLK_READ, .off = 8 * KIB,
				   .len = sizeof(buf), .iov = &iov,
				   .iovcnt = 1, .done = blkfx_done,
				   .priv = &w };
	struct pollfd pfd = { .events = POLLIN };
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	nbd_fake_start(S_HONEST);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	pfd.fd = ovb_blk_queue_eventfd(q);
	ovb_blk_queue_set_batch(q, true);
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	ovb_blk_queue_set_batch(q, false); /* sent */
	/* The answer is there (its header and data are two sends). */
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	usleep(50000);
	assert_int_equal(ovb_blk_poll(q, 0), 0); /* not looked at */
	assert_int_equal(w.calls, 0);
	for (int i = 0; i < 10 && !w.calls; i++) {
		assert_int_equal(poll(&pfd, 1, 5000), 1); /* still readable */
		assert_true(ovb_blk_poll(q, 0) >= 0);
	}
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.res, 0);
	assert_memory_equal(buf, nbd_fake.disk + 8 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/*
 * Large and small answers mixed in one batch (READs of 64k and 20k,
 * whose data goes in place, with 4k READs and a write between them):
 * reads into the buffer stop at the next header while a large READ may
 * come next; every byte lands where it belongs, whole answers and in
 * pieces.
 */
static void mixed_batch(enum nbd_fake_script s)
{
	static const uint32_t len[8] = { 64 * KIB, 4 * KIB, 20 * KIB, 4 * KIB,
					 64 * KIB, 4 * KIB, 4 * KIB,
					 64 * KIB };
	static uint8_t buf[8][64 * KIB];
	struct iovec iov[8];
	struct ovb_blk_req req[8];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	int res[8];

	nbd_fake_start(s);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	for (int i = 0; i < 8; i++) {
		bool wr = i == 5;

		memset(buf[i], wr ? 0x77 : 0, sizeof(buf[i]));
		iov[i] = (struct iovec){ buf[i], len[i] };
		req[i] = (struct ovb_blk_req){
			.op = wr ? OVB_BLK_WRITE : OVB_BLK_READ,
			.off = (uint64_t)i * 96 * KIB + (wr ? 0 : 512),
			.len = len[i], .iov = &iov[i], .iovcnt = 1 };
	}
	nbd_fake_run_batch(q, req, 8, res);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(res[i], 0);
		if (i == 5)
			assert_memory_equal(nbd_fake.disk + i * 96 * KIB, buf[i],
					    len[i]);
		else
			assert_memory_equal(buf[i],
					    nbd_fake.disk + i * 96 * KIB + 512,
					    len[i]);
	}
	assert_int_equal(nbd_fake_reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

static void test_mixed_answers(void **state)
{
	mixed_batch(S_HONEST);
	mixed_batch(S_TRICKLE);
}

static void test_bad_hold_option(void **state)
{
	const char *bad[] = { ",hold=x", ",hold=-1", ",hold=1000001",
			      ",hold=5us" };

	nbd_fake_start(S_HONEST);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbd_fake_refused(nbd_fake.path, bad[i]);
	nbd_fake_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_gathers),
		cmocka_unit_test(test_hold_pieces),
		cmocka_unit_test(test_hold_bound),
		cmocka_unit_test(test_hold_not_qd1),
		cmocka_unit_test(test_first_look_skipped),
		cmocka_unit_test(test_mixed_answers),
		cmocka_unit_test(test_bad_hold_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
