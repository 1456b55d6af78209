// SPDX-License-Identifier: MIT
/*
 * Unit tests: the block backends (the disk spec parser is in
 * test-blk-spec.c).  The file
 * backend runs on a temporary file under /tmp: sparse creation, read/write
 * round trips through split iovecs, FUA, flush, hole punching (zeros read
 * back and st_blocks shrinks), O_DIRECT, request checks, the eventfd,
 * completions seen without it (ovb_blk_ready) and two threads on two
 * queues.  Batch mode (one kick for a batch, nothing before the flush) and
 * the fast path: a page-cache hit copied at submit, EAGAIN and a partly
 * cached range handed to io_uring, a short read at EOF and a bad buffer
 * failing as io_uring fails them (MEDIUM ERROR through the SCSI target).
 * The RAM backend: failure injection and callbacks that run only from
 * poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "storage/scsi_target.h"

#define MIB (1024u * 1024u)

static char tmpdir[64];

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

/* Submit @req and reap until its callback ran; returns its result. */
static int run(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct waiter w = {0, 0};
	int rc;

	req->done = on_done;
	req->priv = &w;
	rc = ovb_blk_submit(q, req);
	if (rc)
		return rc;
	assert_int_equal(w.calls, 0); /* never from inside submit */
	while (w.calls == 0)
		assert_true(ovb_blk_poll(q, -1) >= 0);
	assert_int_equal(w.calls, 1);
	return w.res;
}

static void scsi_done(struct ovb_scsi_cmd *cmd)
{
	(*(int *)cmd->priv)++;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 10));
}

static int rw(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	      struct iovec *iov, int cnt, bool fua)
{
	struct ovb_blk_req req = {
	    .op = op, .off = off, .iov = iov, .iovcnt = cnt, .fua = fua};

	req.len = ovb_blk_iov_len(iov, cnt);
	return run(q, &req);
}

static int simple(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
		  uint64_t len)
{
	struct ovb_blk_req req = {.op = op, .off = off, .len = len};

	return run(q, &req);
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/ovb-test-blk-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ovb_blk *open_file(const char *name, const char *opts)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[128];

	snprintf(arg, sizeof(arg), "%s/%s%s", tmpdir, name, opts);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
	assert_int_equal(ovb_blk_file_open(&spec, &blk), 0);
	return blk;
}

static void test_sparse_create(void **state)
{
	struct ovb_blk *blk = open_file("sparse.img", ",size=64M,sector=4096");
	char path[128];
	struct stat st;

	path_in_tmp(path, sizeof(path), "sparse.img");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 64 * MIB);
	assert_true(st.st_blocks * 512 < 64 * 1024); /* sparse */
	assert_int_equal(blk->capacity, 64 * MIB);
	assert_int_equal(blk->block_size, 4096);
	assert_false(blk->read_only);
	assert_true(blk->can_discard);
	ovb_blk_close(blk);

	/* Re-open without size= keeps the size; larger size= grows it. */
	blk = open_file("sparse.img", "");
	assert_int_equal(blk->capacity, 64 * MIB);
	ovb_blk_close(blk);
	blk = open_file("sparse.img", ",size=128M");
	assert_int_equal(blk->capacity, 128 * MIB);
	ovb_blk_close(blk);
}

static void test_open_errors(void **state)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk;
	char err[128];

	memset(&spec, 0, sizeof(spec));
	path_in_tmp(spec.path, sizeof(spec.path), "missing.img");
	assert_int_equal(ovb_blk_file_open(&spec, &blk), -EINVAL);
	spec.ro = true;
	spec.size = MIB;
	assert_int_equal(ovb_blk_file_open(&spec, &blk), -ENOENT);
	/* Never shrink an existing image. */
	spec.ro = false;
	spec.size = 2 * MIB;
	assert_int_equal(ovb_blk_file_open(&spec, &blk), 0);
	ovb_blk_close(blk);
	spec.size = MIB;
	assert_int_equal(ovb_blk_file_open(&spec, &blk), -EINVAL);
	assert_int_equal(ovb_disk_spec_parse(tmpdir, &spec, err, sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_file_open(&spec, &blk), -EISDIR);
}

static void test_rw_roundtrip(void **state)
{
	struct ovb_blk *blk = open_file("rw.img", ",size=16M");
	struct ovb_blk_queue *q;
	static uint8_t a[1536], b[2048], c[512], back[4096];
	struct iovec wiov[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
	struct iovec riov[2] = {{back, 1000}, {back + 1000, 3096}};
	uint8_t disk[4096];
	char path[128];
	int fd;

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	memset(b, 0x5a, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, MIB, wiov, 3, false), 0);
	assert_int_equal(rw(q, OVB_BLK_READ, MIB, riov, 2, false), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + 1536, b, sizeof(b));
	assert_memory_equal(back + 3584, c, sizeof(c));
	/* FUA write, then flush: the file holds the bytes. */
	assert_int_equal(rw(q, OVB_BLK_WRITE, 2 * MIB, wiov, 3, true), 0);
	assert_int_equal(simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	path_in_tmp(path, sizeof(path), "rw.img");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, disk, sizeof(disk), 2 * MIB), 4096);
	assert_memory_equal(disk, back, sizeof(disk));
	close(fd);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

static void test_discard_punches_hole(void **state)
{
	struct ovb_blk *blk = open_file("hole.img", ",size=8M");
	struct ovb_blk_queue *q;
	uint8_t *buf = malloc(MIB);
	struct iovec iov = {buf, MIB};
	struct stat before, after;
	char path[128];

	assert_non_null(buf);
	path_in_tmp(path, sizeof(path), "hole.img");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	memset(buf, 0xab, MIB);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 2 * MIB, &iov, 1, false), 0);
	assert_int_equal(simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_true(before.st_blocks * 512 >= MIB);
	assert_int_equal(simple(q, OVB_BLK_DISCARD, 2 * MIB, MIB), 0);
	assert_int_equal(rw(q, OVB_BLK_READ, 2 * MIB, &iov, 1, false), 0);
	for (size_t i = 0; i < MIB; i++)
		if (buf[i])
			fail_msg("byte %zu is %#x after discard", i, buf[i]);
	assert_int_equal(stat(path, &after), 0);
	assert_true(after.st_blocks < before.st_blocks);
	assert_true(after.st_blocks * 512 < MIB / 2);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	free(buf);
}

static void test_direct(void **state)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	void *w, *r;
	struct iovec wi, ri;
	char arg[128];
	int rc;

	snprintf(arg, sizeof(arg), "%s/direct.img,size=4M,direct", tmpdir);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, NULL, 0), 0);
	rc = ovb_blk_file_open(&spec, &blk);
	if (rc == -EINVAL) {
		/* tmpfs and a few others refuse O_DIRECT */
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(posix_memalign(&w, 4096, 8192), 0);
	assert_int_equal(posix_memalign(&r, 4096, 8192), 0);
	memset(w, 0x77, 8192);
	memset(r, 0, 8192);
	wi = (struct iovec){w, 8192};
	ri = (struct iovec){r, 8192};
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 4096, &wi, 1, true), 0);
	assert_int_equal(rw(q, OVB_BLK_READ, 4096, &ri, 1, false), 0);
	assert_memory_equal(w, r, 8192);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	free(w);
	free(r);
}

static void test_request_checks(void **state)
{
	struct ovb_blk *blk = open_file("chk.img", ",size=1M");
	struct ovb_blk_queue *q;
	uint8_t buf[1024];
	struct iovec iov = {buf, 512};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = on_done};

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	req.off = 100; /* unaligned */
	assert_int_equal(ovb_blk_submit(q, &req), -EINVAL);
	req.off = MIB; /* past the end */
	assert_int_equal(ovb_blk_submit(q, &req), -EINVAL);
	req.off = 0;
	req.len = 1024; /* iovecs hold 512 */
	assert_int_equal(ovb_blk_submit(q, &req), -EINVAL);
	req.len = 512;
	req.op = (enum ovb_blk_op)9;
	assert_int_equal(ovb_blk_submit(q, &req), -EINVAL);
	req.op = OVB_BLK_DISCARD;
	req.off = MIB - 512;
	req.len = 1024;
	assert_int_equal(ovb_blk_submit(q, &req), -EINVAL);
	/* No WRITE_SAME on files; their requests end on their own. */
	req.op = OVB_BLK_WRITE_SAME;
	req.off = 0;
	assert_int_equal(ovb_blk_submit(q, &req), -EOPNOTSUPP);
	assert_int_equal(ovb_blk_queue_cancel(q), -EOPNOTSUPP);
	assert_int_equal(q->inflight, 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);

	/* A read-only disk refuses writes and discards up front. */
	blk = open_file("chk.img", ",ro");
	assert_true(blk->read_only);
	assert_false(blk->can_discard);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 0, &iov, 1, false), -EROFS);
	assert_int_equal(simple(q, OVB_BLK_DISCARD, 0, 512), -EROFS);
	assert_int_equal(rw(q, OVB_BLK_READ, 0, &iov, 1, false), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

static void test_eventfd_and_spin(void **state)
{
	struct ovb_blk *blk = open_file("ev.img", ",size=1M");
	struct ovb_blk_queue *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = on_done,
				  .priv = &w};
	struct pollfd pfd;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	pfd.fd = ovb_blk_queue_eventfd(q);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* cleared by the reap */
	/* Spin mode finds the completion within its budget. */
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	while (w.calls == 1)
		assert_true(ovb_blk_poll(q, 100000) >= 0);
	assert_int_equal(w.calls, 2);
	/* Nothing in flight: a blocking poll returns at once. */
	assert_int_equal(ovb_blk_poll(q, -1), 0);
	/* Destroy with a request in flight reaps it first. */
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	ovb_blk_queue_destroy(q);
	assert_int_equal(w.calls, 3);
	ovb_blk_close(blk);
}

/* ovb_blk_ready() finds waiting completions without the eventfd. */
static void test_ready(void **state)
{
	struct ovb_blk *blk = open_file("ready.img", ",size=1M");
	struct ovb_blk *ram;
	struct ovb_blk_queue *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = on_done,
				  .priv = &w};

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_false(ovb_blk_ready(q));
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	for (long i = 0; !ovb_blk_ready(q); i++)
		if (i > 100000000)
			fail_msg("no completion in sight");
	assert_int_equal(w.calls, 0);
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	assert_false(ovb_blk_ready(q));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);

	assert_int_equal(ovb_blk_ram_create(MIB, 512, &ram), 0);
	assert_int_equal(ovb_blk_queue_create(ram, &q), 0);
	assert_false(ovb_blk_ready(q));
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	assert_true(ovb_blk_ready(q));
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	assert_false(ovb_blk_ready(q));
	assert_int_equal(w.calls, 2);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(ram);
}

/* ---- batch mode and the fast path ---------------------------------------- */

/* A directory on a file system with a page cache in front of a device. */
static bool disk_dir(char *dir, size_t len)
{
	const char *cands[] = {tmpdir, "/var/tmp"};
	struct statfs sf;

	for (size_t i = 0; i < 2; i++)
		if (statfs(cands[i], &sf) == 0 && sf.f_type != TMPFS_MAGIC &&
		    sf.f_type != RAMFS_MAGIC) {
			snprintf(dir, len, "%s", cands[i]);
			return true;
		}
	return false;
}

static bool is_mem_dir(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 &&
	       (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

static struct ovb_blk *open_in(const char *dir, const char *name,
			       const char *opts)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256];

	snprintf(arg, sizeof(arg), "%s/%s%s", dir, name, opts);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, NULL, 0), 0);
	assert_int_equal(ovb_blk_file_open(&spec, &blk), 0);
	return blk;
}

/* Reap until @n callbacks of @w ran. */
static void reap_all(struct ovb_blk_queue *q, struct waiter *w, int n)
{
	int calls;

	do {
		calls = 0;
		assert_true(ovb_blk_poll(q, -1) >= 0);
		for (int i = 0; i < n; i++)
			calls += w[i].calls;
	} while (calls < n);
}

/* Batch mode: nothing moves before the flush, then one kick for all. */
static void test_batch_one_kick(void **state)
{
	struct ovb_blk *blk = open_file("batch.img", ",size=1M");
	struct ovb_blk_queue *q;
	static uint8_t buf[8][4096];
	struct iovec iov[8];
	struct ovb_blk_req req[8];
	struct waiter w[8];
	struct pollfd pfd;
	uint64_t kicks;

	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	ovb_blk_queue_set_batch(q, true);
	pfd = (struct pollfd){.fd = ovb_blk_queue_eventfd(q), .events = POLLIN};
	/* FUA writes never take the fast path: all go to io_uring. */
	kicks = q->st.kicks;
	for (int i = 0; i < 8; i++) {
		memset(buf[i], 0x30 + i, sizeof(buf[i]));
		iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
		w[i] = (struct waiter){0, 0};
		req[i] = (struct ovb_blk_req){.op = OVB_BLK_WRITE,
					      .off = 4096u * (unsigned)i,
					      .len = 4096,
					      .iov = &iov[i],
					      .iovcnt = 1,
					      .fua = true,
					      .done = on_done,
					      .priv = &w[i]};
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	assert_int_equal(q->inflight, 8);
	assert_int_equal(q->st.submitted, 8);
	assert_int_equal(q->st.kicks, kicks);
	assert_false(ovb_blk_ready(q));
	assert_int_equal(poll(&pfd, 1, 20), 0); /* staged, not started */
	assert_int_equal(ovb_blk_flush(q), 0);
	assert_int_equal(q->st.kicks, kicks + 1);
	assert_int_equal(q->st.inline_done, 0);
	reap_all(q, w, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(w[i].res, 0);
	/* Eight reads: one kick on a disk, copies on the spot in memory. */
	kicks = q->st.kicks;
	for (int i = 0; i < 8; i++) {
		memset(buf[i], 0, sizeof(buf[i]));
		w[i] = (struct waiter){0, 0};
		req[i].op = OVB_BLK_READ;
		req[i].fua = false;
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	assert_int_equal(ovb_blk_flush(q), 0);
	if (is_mem_dir(tmpdir)) {
		assert_int_equal(q->st.kicks, kicks);
		assert_int_equal(q->st.inline_done, 8);
		assert_true(ovb_blk_ready(q));
	} else {
		assert_int_equal(q->st.kicks, kicks + 1);
		assert_int_equal(q->st.inline_done, 0);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(w[i].calls, 0); /* only from poll */
	reap_all(q, w, 8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(w[i].res, 0);
		assert_int_equal(buf[i][4095], 0x30 + i);
	}
	/* Poll leaves nothing staged or unannounced behind. */
	assert_false(ovb_blk_ready(q));
	assert_int_equal(q->inflight, 0);
	/*
	 * A CQE's signal may outlive its reap; the next poll clears it, so
	 * an owner asleep on the eventfd does not wake for nothing again.
	 */
	assert_int_equal(ovb_blk_poll(q, 0), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

/* The RAM disk in batch mode: done at once, seen by ready(), no eventfd. */
static void test_batch_ram(void **state)
{
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ, .iov = &iov, .iovcnt = 1,
				  .len = 512, .done = on_done, .priv = &w};
	struct pollfd pfd;

	assert_int_equal(ovb_blk_ram_create(MIB, 512, &blk), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	ovb_blk_queue_set_batch(q, true);
	pfd = (struct pollfd){.fd = ovb_blk_queue_eventfd(q), .events = POLLIN};
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	assert_int_equal(ovb_blk_flush(q), 0);
	assert_true(ovb_blk_ready(q));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	/* Back to the eventfd contract: what the flush finished is told. */
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	ovb_blk_queue_set_batch(q, false);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	assert_int_equal(w.calls, 2);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

/* A callback that submits a follow-up, once. */
struct chain {
	struct ovb_blk_queue *q;
	struct ovb_blk_req req[2];
	int calls;
};

static void chain_done(struct ovb_blk_req *req, int res)
{
	struct chain *c = req->priv;

	if (c->calls++ == 0 && res == 0)
		assert_int_equal(ovb_blk_submit(c->q, &c->req[1]), 0);
}

/*
 * In batch mode a follow-up submitted from a callback finishes inside the
 * same ovb_blk_poll(): nothing may wait unannounced when it returns.
 */
static void test_batch_follow_up(void **state)
{
	struct ovb_blk *blks[2];
	uint8_t buf[2][4096];
	struct iovec iov[2] = {{buf[0], 4096}, {buf[1], 4096}};

	assert_int_equal(ovb_blk_ram_create(MIB, 512, &blks[0]), 0);
	blks[1] = open_file("chain.img", ",size=1M");
	for (int b = 0; b < 2; b++) {
		struct chain c = {0};

		assert_int_equal(ovb_blk_queue_create(blks[b], &c.q), 0);
		ovb_blk_queue_set_batch(c.q, true);
		for (int i = 0; i < 2; i++)
			c.req[i] = (struct ovb_blk_req){
			    .op = OVB_BLK_READ, .off = 4096u * (unsigned)i,
			    .len = 4096, .iov = &iov[i], .iovcnt = 1,
			    .done = chain_done, .priv = &c};
		assert_int_equal(ovb_blk_submit(c.q, &c.req[0]), 0);
		/* RAM: both in one poll.  File: io_uring may announce one. */
		if (b == 0)
			assert_int_equal(ovb_blk_poll(c.q, 0), 2);
		while (c.calls < 2)
			assert_true(ovb_blk_poll(c.q, -1) > 0);
		assert_false(ovb_blk_ready(c.q));
		assert_int_equal(c.q->inflight, 0);
		ovb_blk_queue_destroy(c.q);
		ovb_blk_close(blks[b]);
	}
}

/* A lone page-cache hit is copied at submit; its callback waits for poll. */
static void test_fast_path_hit(void **state)
{
	struct ovb_blk *blk = open_file("hit.img", ",size=1M");
	struct ovb_blk_queue *q;
	static uint8_t wbuf[8192], rbuf[8192];
	struct iovec wi = {wbuf, sizeof(wbuf)}, ri = {rbuf, sizeof(rbuf)};
	struct waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ, .off = 65536,
				  .iov = &ri, .iovcnt = 1, .len = 8192,
				  .done = on_done, .priv = &w};
	uint64_t kicks, inl, fb;

	fill_pattern(wbuf, sizeof(wbuf), 3);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 65536, &wi, 1, false), 0);
	kicks = q->st.kicks;
	inl = q->st.inline_done;
	fb = q->st.fallback;
	assert_int_equal(ovb_blk_submit(q, &req), 0);
	if (q->st.inline_done == inl && q->st.fallback > fb)
		skip(); /* this file system refuses RWF_NOWAIT reads */
	assert_int_equal(q->st.inline_done, inl + 1);
	assert_int_equal(q->st.kicks, kicks);
	assert_int_equal(w.calls, 0);
	assert_true(ovb_blk_ready(q));
	assert_int_equal(ovb_blk_poll(q, 0), 1);
	assert_int_equal(w.res, 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

/*
 * Pages not cached: RWF_NOWAIT says EAGAIN and io_uring reads them; half
 * cached: the fast path moves the first half, io_uring the rest.
 */
static void test_fast_path_eagain(void **state)
{
	static uint8_t wbuf[65536], rbuf[65536];
	struct iovec wi = {wbuf, sizeof(wbuf)}, ri = {rbuf, sizeof(rbuf)};
	struct ovb_blk_queue *q;
	struct ovb_blk *blk;
	char dir[64], path[128];
	uint64_t kicks, fb;
	int fd;

	if (!disk_dir(dir, sizeof(dir)))
		skip(); /* no disk-backed file system to drop pages from */
	blk = open_in(dir, "ovb-test-blk-eagain.img", ",size=4M");
	snprintf(path, sizeof(path), "%s/ovb-test-blk-eagain.img", dir);
	fill_pattern(wbuf, sizeof(wbuf), 9);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, MIB, &wi, 1, false), 0);
	assert_int_equal(simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	/* Clean now: dropping them from the page cache sticks. */
	assert_int_equal(posix_fadvise(fd, MIB, sizeof(wbuf),
				       POSIX_FADV_DONTNEED), 0);
	kicks = q->st.kicks;
	fb = q->st.fallback;
	assert_int_equal(rw(q, OVB_BLK_READ, MIB, &ri, 1, false), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
	if (q->st.fallback == fb) {
		close(fd);
		ovb_blk_queue_destroy(q);
		ovb_blk_close(blk);
		unlink(path);
		skip(); /* the pages came back before we read */
	}
	assert_int_equal(q->st.fallback, fb + 1);
	assert_true(q->st.kicks > kicks);
	/* Now the first half cached, the second not. */
	assert_int_equal(posix_fadvise(fd, MIB + sizeof(wbuf) / 2,
				       sizeof(wbuf) / 2, POSIX_FADV_DONTNEED),
			 0);
	memset(rbuf, 0, sizeof(rbuf));
	fb = q->st.fallback;
	assert_int_equal(rw(q, OVB_BLK_READ, MIB, &ri, 1, false), 0);
	assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
	assert_int_equal(q->st.fallback, fb + 1);
	close(fd);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	unlink(path);
}

/*
 * The file shrank under the disk: the fast path's short read ends in -EIO
 * as io_uring's does, and the SCSI target answers MEDIUM ERROR.  A buffer
 * the kernel cannot write is -EFAULT, the same error io_uring gives.
 */
static void test_fast_path_errors(void **state)
{
	struct ovb_blk *blk = open_file("short.img", ",size=1M");
	struct ovb_scsi_target *t;
	struct ovb_blk_queue *q;
	struct ovb_scsi_cmd cmd;
	static uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	uint64_t inl;
	char path[128];
	void *bad;
	int calls = 0;

	path_in_tmp(path, sizeof(path), "short.img");
	assert_int_equal(truncate(path, MIB - 2048), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	inl = q->st.inline_done;
	assert_int_equal(rw(q, OVB_BLK_READ, MIB - 4096, &iov, 1, false),
			 -EIO);
	assert_int_equal(q->st.inline_done, inl);
	assert_int_equal(ovb_scsi_target_create(blk, NULL, &t), 0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.cdb[0] = SCSI_READ_10;
	cmd.cdb[4] = (uint8_t)(((MIB - 4096) / 512) >> 8); /* LBA 2040 */
	cmd.cdb[5] = (uint8_t)((MIB - 4096) / 512);
	cmd.cdb[8] = 8; /* blocks */
	cmd.cdb_len = 10;
	cmd.dir = OVB_SCSI_DIR_FROM_DEV;
	cmd.iov = &iov;
	cmd.iovcnt = 1;
	cmd.done = scsi_done;
	cmd.priv = &calls;
	ovb_scsi_submit(t, q, &cmd);
	while (!calls)
		assert_true(ovb_blk_poll(q, -1) >= 0);
	assert_int_equal(cmd.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(cmd.sense[2] & 0xf, SCSI_SENSE_MEDIUM_ERROR);
	ovb_scsi_target_destroy(t);
	/* Unwritable memory: -EFAULT, from whichever path read it. */
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bad != MAP_FAILED);
	iov = (struct iovec){bad, 4096};
	assert_int_equal(rw(q, OVB_BLK_READ, 0, &iov, 1, false), -EFAULT);
	munmap(bad, 4096);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

struct worker {
	struct ovb_blk *blk;
	uint64_t base;
	uint8_t fill;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct ovb_blk_queue *q;
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};

	if (ovb_blk_queue_create(wk->blk, &q))
		return NULL;
	memset(buf, wk->fill, sizeof(buf));
	for (int i = 0; i < 64; i++) {
		struct waiter w = {0, 0};
		struct ovb_blk_req req = {.op = OVB_BLK_WRITE,
					  .iov = &iov,
					  .iovcnt = 1,
					  .len = 4096,
					  .off = wk->base + 4096u * (unsigned)i,
					  .done = on_done,
					  .priv = &w};

		if (ovb_blk_submit(q, &req)) {
			wk->failures++;
			continue;
		}
		while (w.calls == 0)
			ovb_blk_poll(q, -1);
		wk->failures += w.res != 0;
	}
	ovb_blk_queue_destroy(q);
	return NULL;
}

static void test_two_queues_two_threads(void **state)
{
	struct ovb_blk *blk = open_file("mq.img", ",size=2M");
	struct worker wk[2] = {{blk, 0, 0x11, 0}, {blk, MIB, 0x22, 0}};
	pthread_t t[2];
	uint8_t buf[4096];
	char path[128];
	int fd;

	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_main, &wk[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(wk[0].failures + wk[1].failures, 0);
	path_in_tmp(path, sizeof(path), "mq.img");
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, buf, 4096, 63 * 4096), 4096);
	assert_int_equal(buf[0], 0x11);
	assert_int_equal(pread(fd, buf, 4096, MIB + 63 * 4096), 4096);
	assert_int_equal(buf[4095], 0x22);
	close(fd);
	ovb_blk_close(blk);
}

static void test_ram_injection(void **state)
{
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};

	assert_int_equal(ovb_blk_ram_create(MIB, 3000, &blk), -EINVAL);
	assert_int_equal(ovb_blk_ram_create(1000, 512, &blk), -EINVAL);
	assert_int_equal(ovb_blk_ram_create(MIB, 4096, &blk), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	memset(buf, 0x42, sizeof(buf));
	ovb_blk_ram_fail_next(blk, 2, 0);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 8192, &iov, 1, false), -EIO);
	assert_int_equal(simple(q, OVB_BLK_FLUSH, 0, 0), -EIO);
	assert_int_equal(rw(q, OVB_BLK_WRITE, 8192, &iov, 1, false), 0);
	assert_int_equal(ovb_blk_ram_data(blk)[8192], 0x42);
	ovb_blk_ram_fail_next(blk, 1, -ENOSPC);
	assert_int_equal(simple(q, OVB_BLK_DISCARD, 8192, 4096), -ENOSPC);
	assert_int_equal(simple(q, OVB_BLK_DISCARD, 8192, 4096), 0);
	assert_int_equal(ovb_blk_ram_data(blk)[8192], 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_create),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_rw_roundtrip),
		cmocka_unit_test(test_discard_punches_hole),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_request_checks),
		cmocka_unit_test(test_eventfd_and_spin),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_batch_one_kick),
		cmocka_unit_test(test_batch_ram),
		cmocka_unit_test(test_batch_follow_up),
		cmocka_unit_test(test_fast_path_hit),
		cmocka_unit_test(test_fast_path_eagain),
		cmocka_unit_test(test_fast_path_errors),
		cmocka_unit_test(test_two_queues_two_threads),
		cmocka_unit_test(test_ram_injection),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
