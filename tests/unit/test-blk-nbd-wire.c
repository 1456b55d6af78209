// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NBD backend's own transmission phase (blk_nbd_wire.c)
 * against a scripted fake server.  The server is a thread of this test on
 * a unix socket in a temporary directory (libnbd connects by URI, so a
 * listening socket stands in for a socketpair): it answers libnbd's fixed
 * newstyle handshake (NBD_OPT_GO with NBD_INFO_EXPORT, every other option
 * unsupported), offers flush, FUA and multi-conn (so each queue has its
 * own connection on our wire), serves a 1 MiB disk, and breaks the rules
 * once, as its script says, on the first READ it is sent: a bad magic, an
 * unknown cookie, a repeated cookie, a READ's data cut short by a hang-up,
 * an error value the protocol does not define, ESHUTDOWN, an answer and
 * then a hang-up with a second request in flight; and answers trickled in
 * pieces, a large write read slowly (partial sends).  Each case must end
 * with the connection dropped and I/O going on over a new one (or, for the
 * pieces, nothing dropped), the data right and nothing acknowledged that
 * the server did not answer.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/wire/nbd.h"

#define KIB 1024u
#define DISK (8u << 20)

/* Handshake numbers (NBD protocol, "Fixed newstyle negotiation"). */
#define NBDMAGIC 0x4e42444d41474943ull
#define IHAVEOPT 0x49484156454f5054ull
#define OPT_REPLY_MAGIC 0x3e889045565a9ull
#define OPT_ABORT 2u
#define OPT_INFO 6u
#define OPT_GO 7u
#define REP_ACK 1u
#define REP_INFO 3u
#define REP_ERR_UNSUP 0x80000001u

enum script {
	S_HONEST,
	S_BAD_MAGIC,
	S_UNKNOWN_COOKIE,
	S_REPEATED_COOKIE,
	S_DATA_SHORT,
	S_ERROR_RANGE,
	S_ESHUTDOWN,
	S_ANSWER_HANGUP, /* answer the first READ, hang up on the second */
	S_TRICKLE,       /* every answer in small pieces */
	S_SLOW_READER,   /* read requests in small pieces, slowly */
	S_IDLE_HANGUP,   /* answer the first READ, then hang up */
	S_LATE_SECOND,   /* the second READ answered delay_us late */
};

static struct fake {
	char dir[48], path[96];
	int lfd;
	pthread_t th;
	enum script script;
	bool hostile_done;
	int conns;      /* connections that reached transmission */
	int discs;      /* NBD_CMD_DISC seen */
	int reads;      /* READ requests seen */
	unsigned delay_us; /* S_LATE_SECOND: the second READ's delay */
	bool trickle;   /* S_LATE_SECOND: ... and its answer in pieces */
	uint8_t disk[DISK];
} F;

static int rd_all(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int wr_all(int fd, const void *buf, size_t len)
{
	for (size_t put = 0; put < len;) {
		ssize_t n = send(fd, (const char *)buf + put, len - put,
				 MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

/* Write @len bytes in pieces of @piece with a pause between. */
static int wr_trickle(int fd, const void *buf, size_t len, size_t piece)
{
	for (size_t put = 0; put < len; put += piece) {
		size_t n = len - put < piece ? len - put : piece;

		if (wr_all(fd, (const char *)buf + put, n))
			return -1;
		usleep(300);
	}
	return 0;
}

static int opt_reply(int fd, uint32_t opt, uint32_t type, const void *data,
		     uint32_t len)
{
	struct __attribute__((packed)) {
		uint64_t magic;
		uint32_t opt, type, len;
	} h = { htobe64(OPT_REPLY_MAGIC), htobe32(opt), htobe32(type),
		htobe32(len) };

	return wr_all(fd, &h, sizeof(h)) || (len && wr_all(fd, data, len));
}

/* The server's side of the handshake; 0 once in transmission. */
static int fake_handshake(int fd)
{
	struct __attribute__((packed)) {
		uint64_t magic, ihaveopt;
		uint16_t flags;
	} hello = { htobe64(NBDMAGIC), htobe64(IHAVEOPT), htobe16(3) };
	uint32_t cflags;

	if (wr_all(fd, &hello, sizeof(hello)) || rd_all(fd, &cflags, 4))
		return -1;
	for (;;) {
		struct __attribute__((packed)) {
			uint64_t magic;
			uint32_t opt, len;
		} o;
		struct __attribute__((packed)) {
			uint16_t type;
			uint64_t size;
			uint16_t flags;
		} info = { 0, htobe64(DISK),
			   htobe16(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
				   NBD_FLAG_SEND_FUA |
				   NBD_FLAG_CAN_MULTI_CONN) };
		char data[4096];
		uint32_t opt, len;

		if (rd_all(fd, &o, sizeof(o)) || be64toh(o.magic) != IHAVEOPT)
			return -1;
		opt = be32toh(o.opt);
		len = be32toh(o.len);
		if (len > sizeof(data) || rd_all(fd, data, len))
			return -1;
		if (opt == OPT_GO || opt == OPT_INFO) {
			if (opt_reply(fd, opt, REP_INFO, &info, sizeof(info)) ||
			    opt_reply(fd, opt, REP_ACK, NULL, 0))
				return -1;
			if (opt == OPT_GO)
				return 0;
		} else if (opt == OPT_ABORT) {
			opt_reply(fd, opt, REP_ACK, NULL, 0);
			return -1;
		} else if (opt_reply(fd, opt, REP_ERR_UNSUP, NULL, 0)) {
			return -1;
		}
	}
}

static int reply(int fd, uint32_t err, uint64_t cookie, const void *data,
		 uint32_t len, bool trickle)
{
	struct nbd_simple_reply r = { htobe32(NBD_SIMPLE_REPLY_MAGIC),
				      htobe32(err), htobe64(cookie) };

	if (trickle)
		return wr_trickle(fd, &r, sizeof(r), 5) ||
		       (len && wr_trickle(fd, data, len, 1500));
	return wr_all(fd, &r, sizeof(r)) || (len && wr_all(fd, data, len));
}

/* Answer one READ as the script says; -1: hang up now. */
static int fake_read(int fd, uint64_t cookie, uint64_t off, uint32_t len)
{
	const uint8_t *d = F.disk + off;
	bool hostile = !F.hostile_done && F.script != S_HONEST &&
		       F.script != S_LATE_SECOND &&
		       F.script != S_TRICKLE && F.script != S_SLOW_READER &&
		       F.script != S_IDLE_HANGUP;
	struct nbd_simple_reply bad = { htobe32(0xdeadbeef), 0,
					htobe64(cookie) };

	F.reads++;
	if (F.script == S_LATE_SECOND) {
		if (F.reads == 2)
			usleep(F.delay_us);
		return reply(fd, 0, cookie, d, len,
			     F.reads == 2 && F.trickle);
	}
	if (F.script == S_IDLE_HANGUP && !F.hostile_done) {
		F.hostile_done = true;
		reply(fd, 0, cookie, d, len, false);
		return -1;
	}
	if (F.script == S_ANSWER_HANGUP && !F.hostile_done) {
		if (F.reads == 1)
			return reply(fd, 0, cookie, d, len, false);
		F.hostile_done = true;
		return -1;
	}
	if (!hostile)
		return reply(fd, 0, cookie, d, len, F.script == S_TRICKLE);
	F.hostile_done = true;
	switch (F.script) {
	case S_BAD_MAGIC:
		wr_all(fd, &bad, sizeof(bad));
		return wr_all(fd, d, len);
	case S_UNKNOWN_COOKIE:
		return reply(fd, 0, cookie + 1000, d, len, false);
	case S_REPEATED_COOKIE:
		reply(fd, 0, cookie, d, len, false);
		return reply(fd, 0, cookie, d, len, false);
	case S_DATA_SHORT:
		reply(fd, 0, cookie, d, len / 2, false);
		return -1;
	case S_ERROR_RANGE:
		return reply(fd, 9999, cookie, NULL, 0, false);
	case S_ESHUTDOWN:
		return reply(fd, NBD_ESHUTDOWN, cookie, NULL, 0, false);
	default:
		return -1;
	}
}

/* Read a request's payload, slowly if the script says so. */
static int fake_payload(int fd, uint8_t *dst, uint32_t len)
{
	if (F.script != S_SLOW_READER)
		return rd_all(fd, dst, len);
	for (uint32_t got = 0; got < len;) {
		uint32_t n = len - got < 64 * KIB ? len - got : 64 * KIB;

		if (rd_all(fd, dst + got, n))
			return -1;
		got += n;
		usleep(2000);
	}
	return 0;
}

static void fake_serve(int fd)
{
	static uint8_t scratch[DISK];

	F.conns++;
	for (;;) {
		struct nbd_request r;
		uint64_t off, cookie;
		uint32_t len;
		uint16_t type;
		int rc = 0;

		if (rd_all(fd, &r, sizeof(r)) ||
		    be32toh(r.magic) != NBD_REQUEST_MAGIC)
			return;
		type = be16toh(r.type);
		off = be64toh(r.offset);
		len = be32toh(r.length);
		cookie = be64toh(r.cookie);
		if (type != NBD_CMD_FLUSH && type != NBD_CMD_DISC &&
		    (off > DISK || len > DISK - off))
			return;
		switch (type) {
		case NBD_CMD_READ:
			rc = fake_read(fd, cookie, off, len);
			break;
		case NBD_CMD_WRITE:
			rc = fake_payload(fd, scratch, len);
			if (!rc) {
				memcpy(F.disk + off, scratch, len);
				rc = reply(fd, 0, cookie, NULL, 0, false);
			}
			break;
		case NBD_CMD_FLUSH:
			rc = reply(fd, 0, cookie, NULL, 0, false);
			break;
		case NBD_CMD_DISC:
			F.discs++;
			return;
		default:
			rc = reply(fd, NBD_EINVAL, cookie, NULL, 0, false);
			break;
		}
		if (rc)
			return;
	}
}

static void *fake_main(void *arg)
{
	for (;;) {
		int fd = accept(F.lfd, NULL, NULL);

		if (fd < 0)
			return NULL; /* the listening socket was shut down */
		if (fake_handshake(fd) == 0)
			fake_serve(fd);
		close(fd);
	}
}

static void fake_start(enum script s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&F, 0, sizeof(F));
	for (size_t i = 0; i < DISK; i++)
		F.disk[i] = (uint8_t)(i * 13 + (i >> 12));
	F.script = s;
	snprintf(F.dir, sizeof(F.dir), "/tmp/ovb-nbd-wire.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.path, sizeof(F.path), "%s/s", F.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", F.path);
	F.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(F.lfd >= 0);
	assert_int_equal(bind(F.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(F.lfd, 8), 0);
	assert_int_equal(pthread_create(&F.th, NULL, fake_main, NULL), 0);
}

static void fake_stop(void)
{
	shutdown(F.lfd, SHUT_RDWR);
	pthread_join(F.th, NULL);
	close(F.lfd);
	unlink(F.path);
	rmdir(F.dir);
}

static struct ovb_blk *disk_open(const char *extra)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[256];

	snprintf(arg, sizeof(arg), "nbd+unix:///?socket=%s,timeout=5%s",
		 F.path, extra);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
	assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)), 0);
	return blk;
}

struct waiter {
	int calls, res;
};

static void on_done(struct ovb_blk_req *req, int res)
{
	struct waiter *w = req->priv;

	w->calls++;
	w->res = res;
}

/* Submit @n requests in one batch and reap them; results in @res. */
static void run_batch(struct ovb_blk_queue *q, struct ovb_blk_req *req,
		      int n, int *res)
{
	struct waiter w[8] = { 0 };
	int done = 0;

	assert_true(n <= 8);
	ovb_blk_queue_set_batch(q, true);
	for (int i = 0; i < n; i++) {
		req[i].done = on_done;
		req[i].priv = &w[i];
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	ovb_blk_queue_set_batch(q, false); /* flushes: one sendmsg */
	while (done < n) {
		assert_true(ovb_blk_poll(q, -1) >= 0);
		done = 0;
		for (int i = 0; i < n; i++)
			done += w[i].calls;
	}
	for (int i = 0; i < n; i++) {
		assert_int_equal(w[i].calls, 1);
		res[i] = w[i].res;
	}
}

static int io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	struct ovb_blk_req req = { .op = op, .off = off, .len = len,
				   .iov = &iov, .iovcnt = 1 };
	int res;

	run_batch(q, &req, 1, &res);
	return res;
}

static uint64_t reconnects(struct ovb_blk *blk)
{
	struct ovb_blk_stats st;

	assert_int_equal(ovb_blk_get_stats(blk, &st), 0);
	return st.reconnects;
}

/*
 * One hostile READ of @len at @off: the first read's result must be
 * @first_res (a read sent again on the next connection succeeds), then a
 * second read succeeds; the connection was made again @reconn times.
 */
static void hostile_read(enum script s, size_t len, int first_res,
			 uint64_t reconn)
{
	static uint8_t buf[256 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	fake_start(s);
	blk = disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	memset(buf, 0, len);
	assert_int_equal(io1(q, OVB_BLK_READ, 64 * KIB, buf, len), first_res);
	if (first_res == 0)
		assert_memory_equal(buf, F.disk + 64 * KIB, len);
	/* The next request finds (or makes) the new connection. */
	memset(buf, 0, len);
	assert_int_equal(io1(q, OVB_BLK_READ, 128 * KIB, buf, len), 0);
	assert_memory_equal(buf, F.disk + 128 * KIB, len);
	assert_int_equal(reconnects(blk), reconn);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
}

/* A reply whose magic is wrong: dropped, the read sent again. */
static void test_bad_magic(void **state)
{
	hostile_read(S_BAD_MAGIC, 4 * KIB, 0, 1);
	assert_int_equal(F.conns, 3); /* probe, the bad one, the new one */
	assert_int_equal(F.discs, 1); /* the clean close's only */
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
	assert_int_equal(F.discs, 2); /* after ESHUTDOWN, and at close */
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

	fake_start(S_ANSWER_HANGUP);
	blk = disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	run_batch(q, req, 2, res);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_memory_equal(a, F.disk, sizeof(a));
	assert_memory_equal(b, F.disk + 512 * KIB, sizeof(b));
	assert_int_equal(F.reads, 3); /* a, b, b again */
	assert_int_equal(reconnects(blk), 1);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
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
	fake_start(S_SLOW_READER);
	blk = disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	run_batch(q, req, 2, res);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_memory_equal(F.disk + (1 << 20), w, sizeof(w));
	assert_memory_equal(r, w + 64 * KIB, sizeof(r));
	assert_int_equal(reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
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

	fake_start(S_IDLE_HANGUP);
	blk = disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
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
	assert_int_equal(io1(q, OVB_BLK_READ, 4 * KIB, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, F.disk + 4 * KIB, sizeof(buf));
	assert_int_equal(reconnects(blk), 1);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Three 4k reads in one batch to a server that answers the second
 * @delay_us late (in pieces if @trickle), on a disk with @opts: returns
 * how many the first poll that delivered anything delivered, and in
 * *@ms how long that poll took; the data must be right.
 */
static int held_batch(const char *opts, unsigned delay_us, bool trickle,
		      uint64_t *ms)
{
	static uint8_t buf[3][4 * KIB];
	struct iovec iov[3];
	struct ovb_blk_req req[3];
	struct waiter w[3] = { 0 };
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	int first = 0, done = 0;

	fake_start(S_LATE_SECOND);
	F.delay_us = delay_us;
	F.trickle = trickle;
	blk = disk_open(opts);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	/* Connected before the clock starts. */
	assert_int_equal(io1(q, OVB_BLK_WRITE, 0, buf[0], sizeof(buf[0])), 0);
	F.reads = 0;
	ovb_blk_queue_set_batch(q, true);
	for (int i = 0; i < 3; i++) {
		memset(buf[i], 0, sizeof(buf[i]));
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		req[i] = (struct ovb_blk_req){ .op = OVB_BLK_READ,
					       .off = (uint64_t)(i + 1) * 64 *
						      KIB,
					       .len = sizeof(buf[i]),
					       .iov = &iov[i], .iovcnt = 1,
					       .done = on_done,
					       .priv = &w[i] };
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	ovb_blk_queue_set_batch(q, false);
	while (done < 3) {
		uint64_t t0 = now_ms();
		int n = ovb_blk_poll(q, -1);

		assert_true(n >= 0);
		if (n > 0 && !first) {
			first = n;
			*ms = now_ms() - t0;
		}
		done += n;
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].calls, 1);
		assert_int_equal(w[i].res, 0);
		assert_memory_equal(buf[i], F.disk + (i + 1) * 64 * KIB,
				    sizeof(buf[i]));
	}
	assert_int_equal(reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
	return first;
}

/*
 * The hold: the first answer comes at once, the second 100 ms later.
 * With hold= above that, the owner waits for it (two still in flight,
 * one answered) and both reach the caller in one poll; with hold=0 the
 * first goes alone.
 */
static void test_hold_gathers(void **state)
{
	uint64_t ms;

	assert_true(held_batch(",hold=1000000", 100000, false, &ms) >= 2);
	assert_int_equal(held_batch(",hold=0", 100000, false, &ms), 1);
}

/* ... also when the late answer comes in pieces of a few bytes. */
static void test_hold_pieces(void **state)
{
	uint64_t ms;

	assert_true(held_batch(",hold=1000000", 50000, true, &ms) >= 2);
}

/*
 * The hold's bound: hold=100 ms, the second answer 800 ms late.  The
 * first answer is delivered alone, before the second came: the hold
 * ended by its bound, not by the answer (or the request's deadline).
 */
static void test_hold_bound(void **state)
{
	uint64_t ms = 0;

	assert_int_equal(held_batch(",hold=100000", 800000, false, &ms), 1);
	assert_true(ms < 700);
}

/*
 * A lone request is never held: with hold=1 s a read at QD1 comes back
 * well before the hold's bound (it would take 1 s if it were held).
 */
static void test_hold_not_qd1(void **state)
{
	static uint8_t buf[4 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	uint64_t t0;

	fake_start(S_HONEST);
	blk = disk_open(",hold=1000000");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
	t0 = now_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(io1(q, OVB_BLK_READ, 4 * KIB, buf,
				     sizeof(buf)),
				 0);
	assert_true(now_ms() - t0 < 900);
	assert_memory_equal(buf, F.disk + 4 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
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
	struct waiter w = { 0 };
	struct ovb_blk_req req = { .op = OVB_BLK_READ, .off = 8 * KIB,
				   .len = sizeof(buf), .iov = &iov,
				   .iovcnt = 1, .done = on_done, .priv = &w };
	struct pollfd pfd = { .events = POLLIN };
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	fake_start(S_HONEST);
	blk = disk_open("");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(io1(q, OVB_BLK_READ, 0, buf, sizeof(buf)), 0);
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
	assert_memory_equal(buf, F.disk + 8 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
}

/*
 * Large and small answers mixed in one batch (READs of 64k and 20k,
 * whose data goes in place, with 4k READs and a write between them):
 * reads into the buffer stop at the next header while a large READ may
 * come next; every byte lands where it belongs, whole answers and in
 * pieces.
 */
static void mixed_batch(enum script s)
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

	fake_start(s);
	blk = disk_open("");
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
	run_batch(q, req, 8, res);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(res[i], 0);
		if (i == 5)
			assert_memory_equal(F.disk + i * 96 * KIB, buf[i],
					    len[i]);
		else
			assert_memory_equal(buf[i],
					    F.disk + i * 96 * KIB + 512,
					    len[i]);
	}
	assert_int_equal(reconnects(blk), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
}

static void test_mixed_answers(void **state)
{
	mixed_batch(S_HONEST);
	mixed_batch(S_TRICKLE);
}

static void test_bad_hold_option(void **state)
{
	const char *bad[] = { "hold=x", "hold=-1", "hold=1000001",
			      "hold=5us" };
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[256];

	fake_start(S_HONEST);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "nbd+unix:///?socket=%s,%s",
			 F.path, bad[i]);
		assert_int_equal(ovb_disk_spec_parse(arg, &spec, err,
						     sizeof(err)),
				 0);
		assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)),
				 -EINVAL);
	}
	fake_stop();
}

/* wire=libnbd: the same server, libnbd's transmission phase. */
static void test_libnbd_path(void **state)
{
	static uint8_t buf[64 * KIB];
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;

	fake_start(S_HONEST);
	blk = disk_open(",wire=libnbd");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(io1(q, OVB_BLK_WRITE, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(F.disk, buf, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(io1(q, OVB_BLK_READ, 256 * KIB, buf, sizeof(buf)),
			 0);
	assert_memory_equal(buf, F.disk + 256 * KIB, sizeof(buf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	fake_stop();
}

static void test_bad_wire_option(void **state)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char err[256];

	fake_start(S_HONEST);
	assert_int_equal(ovb_disk_spec_parse("nbd+unix:///?socket=/x,wire=both",
					     &spec, err, sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)),
			 -EINVAL);
	fake_stop();
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
