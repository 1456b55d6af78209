// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NBD backend against a real nbdkit (tests/lib/nbdkit-fx.h:
 * the memory plugin under the log filter, on a unix socket in a temporary
 * directory), through the ovb_blk interface with several queues, as
 * storvsp's channel workers use it.  A connection per queue when the
 * server offers multi-conn: the data one queue wrote is read back through
 * the others, each queue has its own connection (the counters and the
 * server's log say so), a FLUSH on one connection after a write
 * acknowledged on another.  Durability across connections: after the
 * server restarts (the memory plugin loses everything, as a volatile
 * cache would), a FLUSH on any queue -- one that never wrote, or one
 * connected only after the restart -- fails with EIO once, then succeeds.
 * The same with multiconn=off (one connection, the engine thread).
 * Simple or structured replies as asked; answers counted as the server
 * sent them.  The counters: requests, reconnects, failures.  A server
 * that stops answering: test-blk-nbd-stop.c.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "tests/lib/hang.h"
#include "tests/lib/nbd-fake.h"
#include "tests/lib/nbdkit-fx.h"

#define NQ 3

/* Data written through each queue is read back through another. */
static void test_multiconn_data(void **state)
{
	struct ovb_blk *blk = nbdkit_disk_open("");
	struct ovb_blk_queue *q[NQ];
	static uint8_t wbuf[NQ][64 * KIB], rbuf[64 * KIB];
	struct ovb_blk_stats st;
	int conns[8];

	for (int i = 0; i < NQ; i++)
		assert_int_equal(ovb_blk_queue_create(blk, &q[i]), 0);
	for (int i = 0; i < NQ; i++) {
		for (size_t k = 0; k < sizeof(wbuf[i]); k++)
			wbuf[i][k] = (uint8_t)(k * 7 + i * 31 + 1);
		if (i == 2) { /* two iovecs: the bounce buffer */
			struct iovec iov[2] = { { wbuf[i], 12 * KIB },
						{ wbuf[i] + 12 * KIB,
						  52 * KIB } };

			assert_int_equal(blkfx_rw(q[i], OVB_BLK_WRITE,
					     i * 1024 * KIB, iov, 2, false),
					 0);
		} else {
			assert_int_equal(nbdkit_io1(q[i], OVB_BLK_WRITE,
					     i * 1024 * KIB, wbuf[i],
					     sizeof(wbuf[i])), 0);
		}
	}
	for (int i = 0; i < NQ; i++) {
		memset(rbuf, 0, sizeof(rbuf));
		assert_int_equal(nbdkit_io1(q[(i + 1) % NQ], OVB_BLK_READ,
				     i * 1024 * KIB, rbuf, sizeof(rbuf)), 0);
		assert_memory_equal(rbuf, wbuf[i], sizeof(rbuf));
	}
	nbdkit_stats(blk, &st);
	assert_int_equal(st.connections, NQ);
	assert_int_equal(st.requests, 2 * NQ);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.reconnects, 0);
	/* The server saw the writes arrive on three connections. */
	assert_int_equal(nbdkit_log_conns("Write", conns, 8), NQ);
	for (int i = 0; i < NQ; i++)
		ovb_blk_queue_destroy(q[i]);
	ovb_blk_close(blk);
}

/* A flush on one connection after a write acknowledged on another. */
static void test_flush_other_conn(void **state)
{
	struct ovb_blk *blk = nbdkit_disk_open("");
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[4 * KIB], back[4 * KIB];
	int wc[4], fc[4];

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(
	    nbdkit_io1(q0, OVB_BLK_WRITE, 8 * KIB, buf, sizeof(buf)), 0);
	assert_int_equal(nbdkit_io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	assert_int_equal(
	    nbdkit_io1(q1, OVB_BLK_READ, 8 * KIB, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(nbdkit_log_conns("Write", wc, 4), 1);
	assert_int_equal(nbdkit_log_conns("Flush", fc, 4), 1);
	assert_int_not_equal(wc[0], fc[0]);
	ovb_blk_queue_destroy(q0);
	ovb_blk_queue_destroy(q1);
	ovb_blk_close(blk);
}

/*
 * The server restarts with a write acknowledged and not flushed: a FLUSH
 * through a queue that never wrote fails, once; a queue whose connection
 * was made after the restart fails its first FLUSH too.
 */
static void restart_case(const char *extra, bool late_queue)
{
	struct ovb_blk *blk = nbdkit_disk_open(extra);
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[4 * KIB];
	struct ovb_blk_stats st;

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	if (!late_queue)
		assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(nbdkit_io1(q0, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	nbdkit_kill();
	nbdkit_start();
	if (late_queue)
		assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	assert_int_equal(nbdkit_io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), -EIO);
	assert_int_equal(nbdkit_io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	/* The writer carries on over a new connection. */
	assert_int_equal(nbdkit_io1(q0, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	assert_int_equal(nbdkit_io1(q0, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	nbdkit_stats(blk, &st);
	assert_true(st.reconnects >= 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.timeouts, 0);
	ovb_blk_queue_destroy(q0);
	ovb_blk_queue_destroy(q1);
	ovb_blk_close(blk);
}

static void test_restart_flush_other_queue(void **state)
{
	restart_case("", false);
}

static void test_restart_flush_new_queue(void **state)
{
	restart_case("", true);
}

/* multiconn=off: one connection for every queue, the same guarantees. */
static void test_one_connection(void **state)
{
	struct ovb_blk *blk = nbdkit_disk_open(",multiconn=off");
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[16 * KIB], back[16 * KIB];
	struct ovb_blk_stats st;
	int conns[4];

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)(k * 13 + 5);
	assert_int_equal(
	    nbdkit_io1(q0, OVB_BLK_WRITE, 64 * KIB, buf, sizeof(buf)), 0);
	assert_int_equal(
	    nbdkit_io1(q1, OVB_BLK_READ, 64 * KIB, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	nbdkit_stats(blk, &st);
	assert_int_equal(st.connections, 1);
	assert_int_equal(nbdkit_log_conns("Write", conns, 4), 1);
	ovb_blk_queue_destroy(q0);
	ovb_blk_queue_destroy(q1);
	ovb_blk_close(blk);
	restart_case(",multiconn=off", false);
}

static void test_bad_option(void **state)
{
	static const char *const bad[] = { ",multiconn=maybe",
					   ",replies=compact" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbd_fake_refused(nbdkit.sock, bad[i]);
}

/* Connections that asked the server for structured replies so far. */
static int structured_asks(void)
{
	FILE *f = fopen(nbdkit.errpath, "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n +=
		    strstr(line, "client requested structured replies") != NULL;
	fclose(f);
	return n;
}

/*
 * Simple replies unless replies=structured asks for them, on every
 * connection of both modes (the probe's, each queue's, a reconnect's);
 * data goes through either way.
 */
static void test_replies(void **state)
{
	static const struct {
		const char *opts;
		int asks; /* connections that ask for structured replies */
	} cases[] = {
		{ "", 0 },
		{ ",multiconn=off", 0 },
		{ ",replies=simple", 0 },
		{ ",replies=structured", 2 }, /* the probe's, the queue's */
		{ ",replies=structured,multiconn=off", 1 },
	};
	static uint8_t wbuf[64 * KIB], rbuf[64 * KIB];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = structured_asks();
		struct ovb_blk *blk = nbdkit_disk_open(cases[i].opts);
		struct ovb_blk_queue *q;

		assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
		for (size_t k = 0; k < sizeof(wbuf); k++)
			wbuf[k] = (uint8_t)(k * 13 + i + 1);
		assert_int_equal(nbdkit_io1(q, OVB_BLK_WRITE, i * 64 * KIB,
					    wbuf, sizeof(wbuf)),
				 0);
		memset(rbuf, 0, sizeof(rbuf));
		assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, i * 64 * KIB, rbuf,
				     sizeof(rbuf)),
				 0);
		assert_memory_equal(rbuf, wbuf, sizeof(rbuf));
		ovb_blk_queue_destroy(q);
		ovb_blk_close(blk);
		assert_int_equal(structured_asks() - before, cases[i].asks);
	}
	/* A reconnect keeps the choice (the log outlives the restart). */
	{
		int before = structured_asks();
		struct ovb_blk *blk = nbdkit_disk_open("");
		struct ovb_blk_queue *q;
		struct ovb_blk_stats st;

		assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
		assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB),
				 0);
		nbdkit_kill();
		nbdkit_start();
		assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB),
				 0);
		nbdkit_stats(blk, &st);
		assert_int_equal(st.reconnects, 1);
		ovb_blk_queue_destroy(q);
		ovb_blk_close(blk);
		assert_int_equal(structured_asks(), before);
	}
}

/* The line number in the server's log of the first line holding @a and @b. */
static int log_line(const char *a, const char *b)
{
	FILE *f = fopen(nbdkit.logpath, "r");
	char line[512];
	int n = 0, at = -1;

	assert_non_null(f);
	while (at < 0 && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, a) && strstr(line, b))
			at = n;
	}
	fclose(f);
	return at;
}

/*
 * Answers taken by count (one FIONREAD a round, each simple reply counted
 * off by its size): a write the server holds for 3 s (delay filter), 16
 * reads answered meanwhile, taken with the queue's eventfd as the only
 * wake-up while the write is still out; then one more read.  It must
 * reach the server at once: a count that thought more bytes waited than
 * did would make a read notification on the empty socket, which leaves
 * libnbd (1.14) in REPLY.START -- and a command issued there is only
 * queued, sent after the next answer (the write's, 3 s later).  The
 * server's log says which came first.  Both ways of driving a
 * connection: the queue's own, and the engine thread's (@extra
 * ",multiconn=off").
 */
static void answers_counted_case(const char *extra)
{
	static uint8_t buf[17][64 * KIB], wbuf[4 * KIB];
	struct blkfx_waiter w[18] = { 0 };
	struct iovec iov[18];
	struct ovb_blk_req req[18];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct pollfd pfd;
	char key[32];
	uint64_t end;
	int done;

	nbdkit_kill();
	nbdkit.delay_write = "delay-write=3";
	nbdkit_start();
	blk = nbdkit_disk_open_t(extra, 20);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	ovb_blk_queue_set_batch(q, true);
	assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, buf[0], 4 * KIB), 0);
	memset(wbuf, 0x5a, sizeof(wbuf));
	for (int i = 0; i < 18; i++) {
		bool wr = i == 0;

		/* Reads of 4 KiB to 64 KiB: answers of different sizes. */
		iov[i] = (struct iovec){ wr ? wbuf : buf[i - 1],
					 wr ? sizeof(wbuf)
					    : (size_t)(4 * KIB) << (i % 5) };
		req[i] = (struct ovb_blk_req){
			.op = wr ? OVB_BLK_WRITE : OVB_BLK_READ,
			.off = wr ? 32768 * KIB : (uint64_t)i * 64 * KIB,
			.iov = &iov[i], .iovcnt = 1, .len = iov[i].iov_len,
			.done = blkfx_done, .priv = &w[i] };
	}
	/* The write and 16 reads in one batch. */
	for (int i = 0; i < 17; i++)
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	assert_int_equal(ovb_blk_flush(q), 0);
	pfd = (struct pollfd){ .fd = ovb_blk_queue_eventfd(q),
			       .events = POLLIN };
	end = ovb_now_us() + TEST_HANG_MS * 1000ull;
	do {
		done = 0;
		if (poll(&pfd, 1, 100) > 0)
			assert_true(ovb_blk_poll(q, 0) >= 0);
		for (int i = 1; i < 17; i++)
			done += w[i].calls;
	} while (done < 16 && ovb_now_us() < end);
	assert_int_equal(done, 16);
	assert_int_equal(w[0].calls, 0); /* the write is still held */
	for (int i = 1; i < 17; i++)
		assert_int_equal(w[i].res, 0);
	/* One more read, after every answer there was was taken. */
	assert_int_equal(ovb_blk_submit(q, &req[17]), 0);
	assert_int_equal(ovb_blk_flush(q), 0);
	end = ovb_now_us() + TEST_HANG_MS * 1000ull;
	while ((!w[0].calls || !w[17].calls) && ovb_now_us() < end)
		if (poll(&pfd, 1, 100) > 0)
			assert_true(ovb_blk_poll(q, 0) >= 0);
	assert_int_equal(w[0].calls, 1);
	assert_int_equal(w[0].res, 0);
	assert_int_equal(w[17].calls, 1);
	assert_int_equal(w[17].res, 0);
	/* The last read reached the server before it answered the write. */
	snprintf(key, sizeof(key), "offset=0x%x ", 17 * 64 * KIB);
	{
		int rd = log_line(" Read id=", key);
		int wr = log_line("...Write id=", "return=");

		assert_true(rd > 0);
		assert_true(wr > 0);
		assert_true(rd < wr);
	}
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

/* The count is libnbd's loops' (own mode and engine thread). */
static void test_answers_counted(void **state)
{
	answers_counted_case(",wire=libnbd");
}

static void test_answers_counted_one_connection(void **state)
{
	answers_counted_case(",multiconn=off,wire=libnbd");
}

/* Our wire takes them as they come: the same order at the server. */
static void test_answers_counted_wire(void **state)
{
	answers_counted_case("");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, nbdkit_setup, nbdkit_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_multiconn_data),
		T(test_flush_other_conn),
		T(test_restart_flush_other_queue),
		T(test_restart_flush_new_queue),
		T(test_one_connection),
		T(test_bad_option),
		T(test_replies),
		T(test_answers_counted),
		T(test_answers_counted_one_connection),
		T(test_answers_counted_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
