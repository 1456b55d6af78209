// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NBD backend's own transmission phase (blk_nbd_wire.c)
 * against a scripted fake server (tests/lib/nbd-fake.h) that breaks the
 * rules once, as its script says, on the first READ it is sent: a bad magic, an
 * unknown cookie, a repeated cookie, a READ's data cut short by a hang-up,
 * an error value the protocol does not define, ESHUTDOWN, an answer and
 * then a hang-up with a second request in flight; and answers trickled in
 * pieces, a large write read slowly (partial sends).  Each case must end
 * with the connection dropped and I/O going on over a new one (or, for the
 * pieces, nothing dropped), the data right and nothing acknowledged that
 * the server did not answer.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "tests/lib/nbd-fake.h"

/*
 * One hostile READ of @len at @off: the first read's result must be
 * @first_res (a read sent again on the next connection succeeds), then a
 * second read succeeds; the connection was made again @reconn times.
 */
static void hostile_read(enum nbd_fake_script s, size_t len, int first_res,
			 uint64_t reconn)
{
	static uint8_t buf[256 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	nbd_fake_start(s);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	memset(buf, 0, len);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 64 * KIB, buf, len), first_res);
	if (first_res == 0)
		assert_memory_equal(buf, nbd_fake.disk + 64 * KIB, len);
	/* The next request finds (or makes) the new connection. */
	memset(buf, 0, len);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 128 * KIB, buf, len), 0);
	assert_memory_equal(buf, nbd_fake.disk + 128 * KIB, len);
	assert_int_equal(nbd_fake_reconnects(blk), reconn);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/* A reply whose magic is wrong: dropped, the read sent again. */
static void test_bad_magic(void **state)
{
	hostile_read(S_BAD_MAGIC, 4 * KIB, 0, 1);
	assert_int_equal(nbd_fake.conns, 3); /* probe, the bad one, the new one */
	assert_int_equal(nbd_fake.discs, 1); /* the clean close's only */
}

/* A reply to a cookie never sent: dropped, the read sent again. */
static void test_unknown_cookie(void **state)
{
	hostile_read(S_UNKNOWN_COOKIE, 4 * KIB, 0, 1);
}

/* A second reply to the same cookie: the first stands, then dropped. */
static void test_repeated_cookie(void **state)
{
	hostile_read(S_REPEATED_COOKIE, 4 * KIB, 0, 1);
}

/* A READ's data cut short by a hang-up, small and large (in place). */
static void test_data_short(void **state)
{
	hostile_read(S_DATA_SHORT, 4 * KIB, 0, 1);
	hostile_read(S_DATA_SHORT, 128 * KIB, 0, 1);
}

/* An error value the protocol lacks: that read fails, then dropped. */
static void test_error_out_of_range(void **state)
{
	hostile_read(S_ERROR_RANGE, 4 * KIB, -EIO, 1);
}

/* ESHUTDOWN: NBD_CMD_DISC, a new connection, the read sent again. */
static void test_eshutdown(void **state)
{
	hostile_read(S_ESHUTDOWN, 4 * KIB, 0, 1);
	assert_int_equal(nbd_fake.discs, 2); /* after ESHUTDOWN, and at close */
}

/* Answers in pieces of a few bytes: nothing dropped, the data right. */
static void test_partial_reads(void **state)
{
	hostile_read(S_TRICKLE, 4 * KIB, 0, 0);
	hostile_read(S_TRICKLE, 64 * KIB, 0, 0);
}

/*
 * Two reads in one batch; the server answers the first and hangs up:
 * the first stands, the second is sent again and succeeds.
 */
static void test_answer_then_hangup(void **state)
{
	static uint8_t a[4 * KIB], b[4 * KIB];
	struct iovec ia = { a, sizeof(a) }, ib = { b, sizeof(b) };
	struct ovb_blk_req req[2] = {
		{ .op = OVB_BLK_READ, .off = 0, .len = sizeof(a), .iov = &ia,
		  .iovcnt = 1 },
		{ .op = OVB_BLK_READ, .off = 512 * KIB, .len = sizeof(b),
		  .iov = &ib, .iovcnt = 1 },
	};
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	int res[2];

	nbd_fake_start(S_ANSWER_HANGUP);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	nbd_fake_run_batch(q, req, 2, res);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_memory_equal(a, nbd_fake.disk, sizeof(a));
	assert_memory_equal(b, nbd_fake.disk + 512 * KIB, sizeof(b));
	assert_int_equal(nbd_fake.reads, 3); /* a, b, b again */
	assert_int_equal(nbd_fake_reconnects(blk), 1);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/*
 * A 4 MiB write (four iovecs, sent as they are) to a server that reads
 * it 64 KiB at a time: many partial sends, then a read in the same batch
 * behind it; both right, nothing dropped.
 */
static void test_partial_sends(void **state)
{
	static uint8_t w[4 << 20], r[64 * KIB];
	struct iovec iov[4], ir = { r, sizeof(r) };
	struct ovb_blk_req req[2] = {
		{ .op = OVB_BLK_WRITE, .off = 1 << 20, .len = sizeof(w),
		  .iov = iov, .iovcnt = 4 },
		{ .op = OVB_BLK_READ, .off = (1 << 20) + 64 * KIB,
		  .len = sizeof(r), .iov = &ir, .iovcnt = 1 },
	};
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	int res[2];

	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < 4; i++)
		iov[i] = (struct iovec){ w + i * (1 << 20), 1 << 20 };
	nbd_fake_start(S_SLOW_READER);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	nbd_fake_run_batch(q, req, 2, res);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_memory_equal(nbd_fake.disk + (1 << 20), w, sizeof(w));
	assert_memory_equal(r, w + 64 * KIB, sizeof(r));
	assert_int_equal(nbd_fake_reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/*
 * The server hangs up while nothing is in flight: the queue's descriptor
 * turns readable, one poll notices the loss (no connection up), and the
 * descriptor is quiet again -- not readable for ever, which would spin
 * the owner's worker.  The next read reconnects.
 */
static void test_idle_hangup(void **state)
{
	static uint8_t buf[4 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct ovb_blk_stats st;
	struct pollfd pfd = { .events = POLLIN };

	nbd_fake_start(S_IDLE_HANGUP);
	blk = nbd_fake_disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	pfd.fd = ovb_blk_queue_eventfd(q);
	/* Woken by the hang-up (or by the connect step's timer first). */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		assert_true(ovb_blk_poll(q, 0) >= 0);
		assert_int_equal(ovb_blk_get_stats(blk, &st), 0);
		if (!st.connections)
			break;
	}
	assert_int_equal(st.connections, 0);
	/* A one-shot timer armed before (the connect step's) may still
	 * ring once; after that, quiet. */
	for (int i = 0; i < 3 && poll(&pfd, 1, 100) == 1; i++)
		assert_true(ovb_blk_poll(q, 0) >= 0);
	assert_int_equal(poll(&pfd, 1, 200), 0);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 4 * KIB, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, nbd_fake.disk + 4 * KIB, sizeof(buf));
	assert_int_equal(nbd_fake_reconnects(blk), 1);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

/* wire=libnbd: the same server, libnbd's transmission phase. */
static void test_libnbd_path(void **state)
{
	static uint8_t buf[64 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	nbd_fake_start(S_HONEST);
	blk = nbd_fake_disk_open(",wire=libnbd");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(nbd_fake.disk, buf, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(nbd_fake_io1(q, OVB_BLK_READ, 256 * KIB, buf, sizeof(buf)),
			 0);
	assert_memory_equal(buf, nbd_fake.disk + 256 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	nbd_fake_stop();
}

static void test_bad_wire_option(void **state)
{
	nbd_fake_start(S_HONEST);
	nbd_fake_refused("/x", ",wire=both");
	nbd_fake_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_unknown_cookie),
		cmocka_unit_test(test_repeated_cookie),
		cmocka_unit_test(test_data_short),
		cmocka_unit_test(test_error_out_of_range),
		cmocka_unit_test(test_eshutdown),
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_answer_then_hangup),
		cmocka_unit_test(test_partial_sends),
		cmocka_unit_test(test_idle_hangup),
		cmocka_unit_test(test_libnbd_path),
		cmocka_unit_test(test_bad_wire_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
