// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NBD backend against a real nbdkit (memory plugin under
 * the log filter, on a unix socket in a temporary directory), through the
 * ovb_blk interface with several queues, as storvsp's channel workers use
 * it.  A connection per queue when the server offers multi-conn: the data
 * one queue wrote is read back through the others, each queue has its
 * own connection (the counters and the server's log say so), a FLUSH on
 * one connection after a write acknowledged on another.  Durability
 * across connections: after the server restarts (the memory plugin loses
 * everything, as a volatile cache would), a FLUSH on any queue -- one that
 * never wrote, or one connected only after the restart -- fails with EIO
 * once, then succeeds.  The same with multiconn=off (one connection, the
 * engine thread).  A server that stops answering: the deadline wakes the
 * owner's poll, the read fails, I/O recovers.  The counters: requests,
 * reconnects, deadlines, failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "tests/lib/hang.h"

#define KIB 1024u
#define NQ 3

static char dir[48], sock[96], logpath[96], errpath[96];
static pid_t srv = -1;
static const char *srv_delay_write; /* the delay filter's, or NULL */

/* True once the server accepts on its socket. */
static bool server_answers(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void server_start(void)
{
	char logarg[160];

	unlink(sock);
	snprintf(logarg, sizeof(logarg), "logfile=%s", logpath);
	srv = fork();
	assert_true(srv >= 0);
	if (srv == 0) {
		/* -v: the option negotiation shows in errpath. */
		int err = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(err, 2);
		if (srv_delay_write)
			execlp("nbdkit", "nbdkit", "-f", "-v", "-U", sock,
			       "--filter=log", "--filter=delay", "memory",
			       "64M", logarg, srv_delay_write, (char *)NULL);
		else
			execlp("nbdkit", "nbdkit", "-f", "-v", "-U", sock,
			       "--filter=log", "memory", "64M", logarg,
			       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !server_answers(); i++)
		usleep(25000);
	assert_true(server_answers());
}

/* SIGKILL: the server dies with whatever it held, sockets hung up. */
static void server_kill(void)
{
	if (srv <= 0)
		return;
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	srv = -1;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ovb-nbd-unit.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/nbd.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/nbd.log", dir);
	snprintf(errpath, sizeof(errpath), "%s/nbdkit.err", dir);
	server_start();
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	server_kill();
	srv_delay_write = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ovb_blk *disk_open_t(const char *extra, unsigned timeout_s)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[256];

	snprintf(arg, sizeof(arg), "nbd+unix:///?socket=%s,timeout=%u%s", sock,
		 timeout_s, extra);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
	assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)), 0);
	return blk;
}

static struct ovb_blk *disk_open(const char *extra)
{
	return disk_open_t(extra, 5);
}

struct waiter {
	int calls;
	int res;
};

static void on_done(struct ovb_blk_req *req, int res)
{
	struct waiter *w = req->priv;

	w->calls++;
	w->res = res;
}

/* One request through @q, reaped until its callback ran: its result. */
static int run(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       struct iovec *iov, int iovcnt)
{
	struct waiter w = { 0, 0 };
	struct ovb_blk_req req = { .op = op, .off = off, .iov = iov,
				   .iovcnt = iovcnt, .done = on_done,
				   .priv = &w };

	for (int i = 0; i < iovcnt; i++)
		req.len += iov[i].iov_len;
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	while (!w.calls)
		assert_true(ovb_blk_poll(q, -1) >= 0);
	assert_int_equal(w.calls, 1);
	return w.res;
}

static int io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       void *buf, size_t len)
{
	struct iovec iov = { buf, len };

	return run(q, op, off, &iov, op == OVB_BLK_FLUSH ? 0 : 1);
}

/* Connection numbers of the log filter's lines naming @what ("Write"). */
static int log_conns(const char *what, int *conns, int max)
{
	FILE *f = fopen(logpath, "r");
	char line[512], key[32];
	int n = 0;

	assert_non_null(f);
	snprintf(key, sizeof(key), " %s id=", what);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "connection=");
		int c;

		if (!p || !strstr(line, key) || strstr(line, "return="))
			continue;
		c = atoi(p + strlen("connection="));
		for (int i = 0; i < n; i++)
			if (conns[i] == c)
				goto next;
		if (n < max)
			conns[n++] = c;
next:;
	}
	fclose(f);
	return n;
}

static void stats(struct ovb_blk *blk, struct ovb_blk_stats *st)
{
	assert_int_equal(ovb_blk_get_stats(blk, st), 0);
}

/* Data written through each queue is read back through another. */
static void test_multiconn_data(void **state)
{
	struct ovb_blk *blk = disk_open("");
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

			assert_int_equal(run(q[i], OVB_BLK_WRITE,
					     i * 1024 * KIB, iov, 2), 0);
		} else {
			assert_int_equal(io1(q[i], OVB_BLK_WRITE,
					     i * 1024 * KIB, wbuf[i],
					     sizeof(wbuf[i])), 0);
		}
	}
	for (int i = 0; i < NQ; i++) {
		memset(rbuf, 0, sizeof(rbuf));
		assert_int_equal(io1(q[(i + 1) % NQ], OVB_BLK_READ,
				     i * 1024 * KIB, rbuf, sizeof(rbuf)), 0);
		assert_memory_equal(rbuf, wbuf[i], sizeof(rbuf));
	}
	stats(blk, &st);
	assert_int_equal(st.connections, NQ);
	assert_int_equal(st.requests, 2 * NQ);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.reconnects, 0);
	/* The server saw the writes arrive on three connections. */
	assert_int_equal(log_conns("Write", conns, 8), NQ);
	for (int i = 0; i < NQ; i++)
		ovb_blk_queue_destroy(q[i]);
	ovb_blk_close(blk);
}

/* A flush on one connection after a write acknowledged on another. */
static void test_flush_other_conn(void **state)
{
	struct ovb_blk *blk = disk_open("");
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[4 * KIB], back[4 * KIB];
	int wc[4], fc[4];

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(io1(q0, OVB_BLK_WRITE, 8 * KIB, buf, sizeof(buf)), 0);
	assert_int_equal(io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	assert_int_equal(io1(q1, OVB_BLK_READ, 8 * KIB, back, sizeof(back)),
			 0);
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(log_conns("Write", wc, 4), 1);
	assert_int_equal(log_conns("Flush", fc, 4), 1);
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
	struct ovb_blk *blk = disk_open(extra);
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[4 * KIB];
	struct ovb_blk_stats st;

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	if (!late_queue)
		assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(io1(q0, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	server_kill();
	server_start();
	if (late_queue)
		assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	assert_int_equal(io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), -EIO);
	assert_int_equal(io1(q1, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	/* The writer carries on over a new connection. */
	assert_int_equal(io1(q0, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	assert_int_equal(io1(q0, OVB_BLK_FLUSH, 0, NULL, 0), 0);
	stats(blk, &st);
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
	struct ovb_blk *blk = disk_open(",multiconn=off");
	struct ovb_blk_queue *q0, *q1;
	static uint8_t buf[16 * KIB], back[16 * KIB];
	struct ovb_blk_stats st;
	int conns[4];

	assert_int_equal(ovb_blk_queue_create(blk, &q0), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q1), 0);
	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)(k * 13 + 5);
	assert_int_equal(io1(q0, OVB_BLK_WRITE, 64 * KIB, buf, sizeof(buf)),
			 0);
	assert_int_equal(io1(q1, OVB_BLK_READ, 64 * KIB, back, sizeof(back)),
			 0);
	assert_memory_equal(back, buf, sizeof(buf));
	stats(blk, &st);
	assert_int_equal(st.connections, 1);
	assert_int_equal(log_conns("Write", conns, 4), 1);
	ovb_blk_queue_destroy(q0);
	ovb_blk_queue_destroy(q1);
	ovb_blk_close(blk);
	restart_case(",multiconn=off", false);
}

/*
 * A server that stops answering: the owner sleeping in ovb_blk_poll() is
 * woken by the deadline (the queue's timer), the read fails, and I/O
 * works again once the server answers.
 */
static void test_silent_server(void **state)
{
	struct ovb_blk *blk = disk_open_t("", 1);
	struct ovb_blk_queue *q;
	static uint8_t buf[4 * KIB];
	struct ovb_blk_stats st;
	uint64_t t0;
	int ws;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	kill(srv, SIGSTOP);
	/* Stopped for sure (our child): not answering one more read. */
	assert_int_equal(waitpid(srv, &ws, WUNTRACED), srv);
	assert_true(WIFSTOPPED(ws));
	t0 = ovb_now_us();
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)),
			 -ETIMEDOUT);
	TEST_NO_HANG(t0);
	kill(srv, SIGCONT);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	stats(blk, &st);
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
	struct ovb_blk *blk = disk_open_t(extra, 20);
	struct ovb_blk_queue *q;
	static uint8_t buf[2][4 * KIB];
	struct waiter w[2] = { { 0, 0 }, { 0, 0 } };
	struct iovec iov[2] = { { buf[0], sizeof(buf[0]) },
				{ buf[1], sizeof(buf[1]) } };
	struct ovb_blk_req req[2];
	uint64_t t0;
	int ws;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf[0], sizeof(buf[0])), 0);
	kill(srv, SIGSTOP);
	assert_int_equal(waitpid(srv, &ws, WUNTRACED), srv);
	assert_true(WIFSTOPPED(ws));
	for (int i = 0; i < 2; i++) {
		req[i] = (struct ovb_blk_req){ .op = OVB_BLK_READ,
					       .off = (uint64_t)i * 4096,
					       .iov = &iov[i], .iovcnt = 1,
					       .len = sizeof(buf[i]),
					       .done = on_done, .priv = &w[i] };
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
	kill(srv, SIGCONT);
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

static void test_bad_option(void **state)
{
	static const char *const bad[] = { ",multiconn=maybe",
					   ",replies=compact" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ovb_disk_spec spec;
		struct ovb_blk *blk = NULL;
		char arg[256], err[256];

		snprintf(arg, sizeof(arg), "nbd+unix:///?socket=%s%s", sock,
			 bad[i]);
		assert_int_equal(
			ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
		assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)),
				 -EINVAL);
		assert_null(blk);
	}
}

/* Connections that asked the server for structured replies so far. */
static int structured_asks(void)
{
	FILE *f = fopen(errpath, "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "client requested structured replies") != NULL;
	fclose(f);
	return n;
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
	struct ovb_blk *blk = disk_open_t(extra, 20);
	struct ovb_blk_queue *q;
	static uint8_t wbuf[2048 * KIB], rbuf[2048 * KIB];
	struct waiter w = { 0, 0 };
	struct iovec iov = { wbuf, sizeof(wbuf) };
	struct ovb_blk_req req = { .op = OVB_BLK_WRITE, .off = 8192 * KIB,
				   .iov = &iov, .iovcnt = 1,
				   .len = sizeof(wbuf), .done = on_done,
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
			stats(blk, &st);
		} while (!st.connections && ovb_now_us() < end &&
			 !usleep(1000));
		assert_int_equal(st.connections, 1);
	} else {
		assert_int_equal(io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB), 0);
	}
	kill(srv, SIGSTOP);
	assert_int_equal(waitpid(srv, &ws, WUNTRACED), srv);
	assert_true(WIFSTOPPED(ws));
	/* The connect's short timer runs out, and the reap below takes it
	 * down: from there on only the socket wakes the owner before 20 s. */
	usleep(50000);
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	assert_int_equal(ovb_blk_flush(q), 0);
	/* storvsp's reap after its batch: nothing to read yet. */
	assert_int_equal(ovb_blk_poll(q, 0), 0);
	kill(srv, SIGCONT);
	pfd = (struct pollfd){ .fd = ovb_blk_queue_eventfd(q),
			       .events = POLLIN };
	end = ovb_now_us() + TEST_HANG_MS * 1000ull;
	while (!w.calls && ovb_now_us() < end)
		if (poll(&pfd, 1, 100) > 0)
			assert_true(ovb_blk_poll(q, 0) >= 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.res, 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 8192 * KIB, rbuf, sizeof(rbuf)),
			 0);
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
		struct ovb_blk *blk = disk_open(cases[i].opts);
		struct ovb_blk_queue *q;

		assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
		for (size_t k = 0; k < sizeof(wbuf); k++)
			wbuf[k] = (uint8_t)(k * 13 + i + 1);
		assert_int_equal(io1(q, OVB_BLK_WRITE, i * 64 * KIB, wbuf,
				     sizeof(wbuf)),
				 0);
		memset(rbuf, 0, sizeof(rbuf));
		assert_int_equal(io1(q, OVB_BLK_READ, i * 64 * KIB, rbuf,
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
		struct ovb_blk *blk = disk_open("");
		struct ovb_blk_queue *q;
		struct ovb_blk_stats st;

		assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
		assert_int_equal(io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB), 0);
		server_kill();
		server_start();
		assert_int_equal(io1(q, OVB_BLK_READ, 0, rbuf, 4 * KIB), 0);
		stats(blk, &st);
		assert_int_equal(st.reconnects, 1);
		ovb_blk_queue_destroy(q);
		ovb_blk_close(blk);
		assert_int_equal(structured_asks(), before);
	}
}

/* The line number in the server's log of the first line holding @a and @b. */
static int log_line(const char *a, const char *b)
{
	FILE *f = fopen(logpath, "r");
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
	struct waiter w[18] = { 0 };
	struct iovec iov[18];
	struct ovb_blk_req req[18];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct pollfd pfd;
	char key[32];
	uint64_t end;
	int done;

	server_kill();
	srv_delay_write = "delay-write=3";
	server_start();
	blk = disk_open_t(extra, 20);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	ovb_blk_queue_set_batch(q, true);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf[0], 4 * KIB), 0);
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
			.done = on_done, .priv = &w[i] };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_multiconn_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_other_conn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_flush_other_queue,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_flush_new_queue,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_connection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_silent_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_one_connection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_option, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_write_stopped_server,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_big_write_stopped_server_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_big_write_stopped_server_one_connection, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_answers_counted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_big_write_stopped_server_one_connection_libnbd,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_answers_counted_one_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_counted_wire,
						setup, teardown),
	};

	if (system("command -v nbdkit >/dev/null 2>&1") != 0) {
		printf("skip: nbdkit is not installed (bash scripts/run deps)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
