// SPDX-License-Identifier: MIT
/* A scripted fake NBD server for the NBD backend's unit tests: nbd-fake.h. */
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/sockios.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "openvmbus/wire/nbd.h"
#include "tests/lib/hang.h"
#include "tests/lib/nbd-fake.h"

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

struct nbd_fake nbd_fake;


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
		} info = { 0, htobe64(NBD_FAKE_DISK),
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

/*
 * S_LATE_SECOND's wait before the second answer: for the test's release,
 * or until the client has read all we sent (nothing of ours left unread
 * in the socket, SIOCOUTQ), bounded by the hang guard.
 */
static void late_wait(int fd)
{
	uint64_t end = ovb_now_us() + (uint64_t)TEST_HANG_MS * 1000;

	while (ovb_now_us() < end) {
		int unread = 0;

		if (nbd_fake.late_held) {
			if (__atomic_load_n(&nbd_fake.released,
					    __ATOMIC_ACQUIRE))
				return;
		} else if (ioctl(fd, SIOCOUTQ, &unread) || !unread) {
			return;
		}
		usleep(500);
	}
}

void nbd_fake_release(void)
{
	__atomic_store_n(&nbd_fake.released, true, __ATOMIC_RELEASE);
}

/* Answer one READ as the script says; -1: hang up now. */
static int fake_read(int fd, uint64_t cookie, uint64_t off, uint32_t len)
{
	const uint8_t *d = nbd_fake.disk + off;
	bool hostile = !nbd_fake.hostile_done && nbd_fake.script != S_HONEST &&
		       nbd_fake.script != S_LATE_SECOND &&
		       nbd_fake.script != S_TRICKLE && nbd_fake.script != S_SLOW_READER &&
		       nbd_fake.script != S_IDLE_HANGUP;
	struct nbd_simple_reply bad = { htobe32(0xdeadbeef), 0,
					htobe64(cookie) };

	nbd_fake.reads++;
	if (nbd_fake.script == S_LATE_SECOND) {
		if (nbd_fake.reads == 2)
			late_wait(fd);
		return reply(fd, 0, cookie, d, len,
			     nbd_fake.reads == 2 && nbd_fake.trickle);
	}
	if (nbd_fake.script == S_IDLE_HANGUP && !nbd_fake.hostile_done) {
		nbd_fake.hostile_done = true;
		reply(fd, 0, cookie, d, len, false);
		return -1;
	}
	if (nbd_fake.script == S_ANSWER_HANGUP && !nbd_fake.hostile_done) {
		if (nbd_fake.reads == 1)
			return reply(fd, 0, cookie, d, len, false);
		nbd_fake.hostile_done = true;
		return -1;
	}
	if (!hostile)
		return reply(fd, 0, cookie, d, len, nbd_fake.script == S_TRICKLE);
	nbd_fake.hostile_done = true;
	switch (nbd_fake.script) {
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
	if (nbd_fake.script != S_SLOW_READER)
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
	static uint8_t scratch[NBD_FAKE_DISK];

	nbd_fake.conns++;
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
		    (off > NBD_FAKE_DISK || len > NBD_FAKE_DISK - off))
			return;
		switch (type) {
		case NBD_CMD_READ:
			rc = fake_read(fd, cookie, off, len);
			break;
		case NBD_CMD_WRITE:
			rc = fake_payload(fd, scratch, len);
			if (!rc) {
				memcpy(nbd_fake.disk + off, scratch, len);
				rc = reply(fd, 0, cookie, NULL, 0, false);
			}
			break;
		case NBD_CMD_FLUSH:
			rc = reply(fd, 0, cookie, NULL, 0, false);
			break;
		case NBD_CMD_DISC:
			nbd_fake.discs++;
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
		int fd = accept(nbd_fake.lfd, NULL, NULL);

		if (fd < 0)
			return NULL; /* the listening socket was shut down */
		if (fake_handshake(fd) == 0)
			fake_serve(fd);
		close(fd);
	}
}

void nbd_fake_start(enum nbd_fake_script s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&nbd_fake, 0, sizeof(nbd_fake));
	for (size_t i = 0; i < NBD_FAKE_DISK; i++)
		nbd_fake.disk[i] = (uint8_t)(i * 13 + (i >> 12));
	nbd_fake.script = s;
	snprintf(nbd_fake.dir, sizeof(nbd_fake.dir), "/tmp/ovb-nbd-wire.XXXXXX");
	assert_non_null(mkdtemp(nbd_fake.dir));
	snprintf(nbd_fake.path, sizeof(nbd_fake.path), "%s/s", nbd_fake.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", nbd_fake.path);
	nbd_fake.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(nbd_fake.lfd >= 0);
	assert_int_equal(bind(nbd_fake.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(nbd_fake.lfd, 8), 0);
	assert_int_equal(pthread_create(&nbd_fake.th, NULL, fake_main, NULL), 0);
}

void nbd_fake_stop(void)
{
	nbd_fake_release();
	shutdown(nbd_fake.lfd, SHUT_RDWR);
	pthread_join(nbd_fake.th, NULL);
	close(nbd_fake.lfd);
	unlink(nbd_fake.path);
	rmdir(nbd_fake.dir);
}

struct ovb_blk *nbd_fake_open_at(const char *sock, unsigned timeout_s,
				 const char *extra)
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

struct ovb_blk *nbd_fake_disk_open(const char *extra)
{
	return nbd_fake_open_at(nbd_fake.path, 5, extra);
}

/* Submit @n requests in one batch and reap them; results in @res. */
void nbd_fake_run_batch(struct ovb_blk_queue *q, struct ovb_blk_req *req,
		      int n, int *res)
{
	struct blkfx_waiter w[8] = { 0 };
	int done = 0;

	assert_true(n <= 8);
	ovb_blk_queue_set_batch(q, true);
	for (int i = 0; i < n; i++) {
		req[i].done = blkfx_done;
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

int nbd_fake_io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	struct ovb_blk_req req = { .op = op, .off = off, .len = len,
				   .iov = &iov, .iovcnt = 1 };
	int res;

	nbd_fake_run_batch(q, &req, 1, &res);
	return res;
}

void nbd_fake_refused(const char *sock, const char *opts)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[256];

	snprintf(arg, sizeof(arg), "nbd+unix:///?socket=%s%s", sock, opts);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
	assert_int_equal(ovb_blk_open(&spec, &blk, err, sizeof(err)), -EINVAL);
	assert_null(blk);
}

uint64_t nbd_fake_reconnects(struct ovb_blk *blk)
{
	struct ovb_blk_stats st;

	assert_int_equal(ovb_blk_get_stats(blk, &st), 0);
	return st.reconnects;
}
