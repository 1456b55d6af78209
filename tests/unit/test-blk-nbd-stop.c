// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NBD backend against a real nbdkit (tests/lib/nbdkit-fx.h)
 * that stops (SIGSTOP) with requests in flight.  The owner sleeping in
 * ovb_blk_poll() is woken by the deadline (the queue's timer), the read
 * fails, and I/O works again once the server answers; a closing channel
 * cancels what is in flight at once (ovb_blk_queue_cancel); a write
 * larger than the socket holds completes once the server reads again.
 * On a connection per queue and on one connection (the engine thread).
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

/*
 * A server that stops answering: the owner sleeping in ovb_blk_poll() is
 * woken by the deadline (the queue's timer), the read fails, and I/O
 * works again once the server answers.
 */
static void test_silent_server(void **state)
{
	struct ovb_blk *blk = nbdkit_disk_open_t("", 1);
	struct ovb_blk_queue *q;
	static uint8_t buf[4 * KIB];
	struct ovb_blk_stats st;
	uint64_t t0;
	int ws;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	kill(nbdkit.pid, SIGSTOP);
	/* Stopped for sure (our child): not answering one more read. */
	assert_int_equal(waitpid(nbdkit.pid, &ws, WUNTRACED), nbdkit.pid);
	assert_true(WIFSTOPPED(ws));
	t0 = ovb_now_us();
	assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)),
			 -ETIMEDOUT);
	TEST_NO_HANG(t0);
	kill(nbdkit.pid, SIGCONT);
	assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	nbdkit_stats(blk, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.reconnects, 1);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

/*
 * A stopped server and a closing channel: ovb_blk_queue_cancel fails the
 * requests at once with -ECANCELED, on a connection per queue and on the
 * engine thread's one connection (left to the 20 s deadline, they would
 * end -ETIMEDOUT).
 */
static void cancel_case(const char *extra)
{
	struct ovb_blk *blk = nbdkit_disk_open_t(extra, 20);
	struct ovb_blk_queue *q;
	static uint8_t buf[2][4 * KIB];
	struct blkfx_waiter w[2] = { { 0, 0 }, { 0, 0 } };
	struct iovec iov[2] = { { buf[0], sizeof(buf[0]) },
				{ buf[1], sizeof(buf[1]) } };
	struct ovb_blk_req req[2];
	uint64_t t0;
	int ws;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, buf[0], sizeof(buf[0])),
			 0);
	kill(nbdkit.pid, SIGSTOP);
	assert_int_equal(waitpid(nbdkit.pid, &ws, WUNTRACED), nbdkit.pid);
	assert_true(WIFSTOPPED(ws));
	for (int i = 0; i < 2; i++) {
		req[i] = (struct ovb_blk_req){.op = OVB_BLK_READ,
					      .off = (uint64_t)i * 4096,
					      .iov = &iov[i],
					      .iovcnt = 1,
					      .len = sizeof(buf[i]),
					      .done = blkfx_done,
					      .priv = &w[i]};
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	/* Sent and unanswered, then cancelled. */
	assert_int_equal(ovb_blk_poll(q, 200000), 0);
	t0 = ovb_now_us();
	assert_int_equal(ovb_blk_queue_cancel(q), 0);
	while (q->inflight)
		assert_true(ovb_blk_poll(q, 100000) >= 0);
	TEST_NO_HANG(t0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].calls, 1);
		assert_int_equal(w[i].res, -ECANCELED);
	}
	/*
	 * Not asserted: what the server does next.  nbdkit 1.32 sometimes
	 * aborts (SIGABRT) when it resumes to find the connection that held
	 * its unanswered reads gone.
	 */
	kill(nbdkit.pid, SIGCONT);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

static void test_cancel(void **state)
{
	cancel_case("");
}

static void test_cancel_one_connection(void **state)
{
	cancel_case(",multiconn=off");
}

/*
 * A write larger than the socket can hold while the server does not read
 * (stopped): libnbd sends part of it and waits for the socket to drain.
 * The owner then reaps as storvsp does -- once at once (after its batch),
 * later only when the queue's eventfd says so.  A read notification made
 * while the socket has nothing to read would pause the send to take an
 * answer that cannot come (the server waits for the rest of the payload)
 * and leave libnbd waiting for input alone: the eventfd would never fire.
 * Reading only what the socket holds, the write completes once the
 * server resumes.  Twice: as the first request of a fresh connection
 * (@fresh), and after a read was answered on it.  Also with one
 * connection (the engine thread, which always polled first).
 */
static void big_write_case(const char *extra, bool fresh)
{
	struct ovb_blk *blk = nbdkit_disk_open_t(extra, 20);
	struct ovb_blk_queue *q;
	static uint8_t wbuf[2048 * KIB], rbuf[2048 * KIB];
	struct blkfx_waiter w = { 0, 0 };
	struct iovec iov = { wbuf, sizeof(wbuf) };
	struct ovb_blk_req req = { .op = OVB_BLK_WRITE, .off = 8192 * KIB,
				   .iov = &iov, .iovcnt = 1,
				   .len = sizeof(wbuf), .done = blkfx_done,
				   .priv = &w };
	struct ovb_blk_stats st;
	struct pollfd pfd;
	uint64_t end;
	int ws;

	for (size_t k = 0; k < sizeof(wbuf); k++)
		wbuf[k] = (uint8_t)(k * 11 + 5);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	ovb_blk_queue_set_batch(q, true);
	if (fresh) {
		/* Driven until the handshake is done, not one round more. */
		end = ovb_now_us() + TEST_HANG_MS * 1000ull;
		do {
			assert_true(ovb_blk_poll(q, 0) >= 0);
			nbdkit_stats(blk, &st);
		} while (!st.connections && ovb_now_us() < end &&
			 !usleep(1000));
		assert_int_equal(st.connections, 1);
	} else {
		assert_int_equal(nbdkit_io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB),
				 0);
	}
	kill(nbdkit.pid, SIGSTOP);
	assert_int_equal(waitpid(nbdkit.pid, &ws, WUNTRACED), nbdkit.pid);
	assert_true(WIFSTOPPED(ws));
	/* The connect's short timer runs out, and the reap below takes it
	 * down: from there on only the socket wakes the owner before 20 s. */
	usleep(50000);
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	assert_int_equal(ovb_blk_flush(q), 0);
	/* storvsp's reap after its batch: nothing to read yet. */
	assert_int_equal(ovb_blk_poll(q, 0), 0);
	kill(nbdkit.pid, SIGCONT);
	pfd = (struct pollfd){ .fd = ovb_blk_queue_eventfd(q),
			       .events = POLLIN };
	end = ovb_now_us() + TEST_HANG_MS * 1000ull;
	while (!w.calls && ovb_now_us() < end)
		if (poll(&pfd, 1, 100) > 0)
			assert_true(ovb_blk_poll(q, 0) >= 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.res, 0);
	assert_int_equal(
	    nbdkit_io1(q, OVB_BLK_READ, 8192 * KIB, rbuf, sizeof(rbuf)), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(rbuf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

static void test_big_write_stopped_server(void **state)
{
	big_write_case("", false);
}

/* libnbd's loop: its stale-POLLIN hang was on a fresh connection. */
static void test_big_write_stopped_server_fresh(void **state)
{
	big_write_case(",wire=libnbd", true);
}

static void test_big_write_stopped_server_one_connection(void **state)
{
	big_write_case(",multiconn=off", false);
}

static void test_big_write_stopped_server_one_connection_libnbd(void **state)
{
	big_write_case(",multiconn=off,wire=libnbd", false);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, nbdkit_setup, nbdkit_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_silent_server),
		T(test_cancel),
		T(test_cancel_one_connection),
		T(test_big_write_stopped_server),
		T(test_big_write_stopped_server_fresh),
		T(test_big_write_stopped_server_one_connection),
		T(test_big_write_stopped_server_one_connection_libnbd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
