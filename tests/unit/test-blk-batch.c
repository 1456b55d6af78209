// SPDX-License-Identifier: MIT
/*
 * Unit tests: the file backend's batch mode (one kick for a batch,
 * nothing before the flush) and its fast path: a page-cache hit copied
 * at submit, EAGAIN and a partly cached range handed to io_uring, a short
 * read at EOF and a bad buffer failing as io_uring fails them (MEDIUM
 * ERROR through the SCSI target).
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

#include "tests/lib/blk-fx.h"
#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "storage/scsi_target.h"

/* A directory on a file system with a page cache in front of a device. */
static bool disk_dir(char *dir, size_t len)
{
	const char *cands[] = {blkfx_dir, "/var/tmp"};
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
static void reap_all(struct ovb_blk_queue *q, struct blkfx_waiter *w, int n)
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
	struct ovb_blk *blk = blkfx_open("batch.img", ",size=1M");
	struct ovb_blk_queue *q;
	static uint8_t buf[8][4096];
	struct iovec iov[8];
	struct ovb_blk_req req[8];
	struct blkfx_waiter w[8];
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
		w[i] = (struct blkfx_waiter){0, 0};
		req[i] = (struct ovb_blk_req){.op = OVB_BLK_WRITE,
					      .off = 4096u * (unsigned)i,
					      .len = 4096,
					      .iov = &iov[i],
					      .iovcnt = 1,
					      .fua = true,
					      .done = blkfx_done,
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
		w[i] = (struct blkfx_waiter){0, 0};
		req[i].op = OVB_BLK_READ;
		req[i].fua = false;
		assert_int_equal(ovb_blk_submit(q, &req[i]), 0);
	}
	assert_int_equal(ovb_blk_flush(q), 0);
	if (is_mem_dir(blkfx_dir)) {
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
	struct blkfx_waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ, .iov = &iov, .iovcnt = 1,
				  .len = 512, .done = blkfx_done, .priv = &w};
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
	blks[1] = blkfx_open("chain.img", ",size=1M");
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
	struct ovb_blk *blk = blkfx_open("hit.img", ",size=1M");
	struct ovb_blk_queue *q;
	static uint8_t wbuf[8192], rbuf[8192];
	struct iovec wi = {wbuf, sizeof(wbuf)}, ri = {rbuf, sizeof(rbuf)};
	struct blkfx_waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ, .off = 65536,
				  .iov = &ri, .iovcnt = 1, .len = 8192,
				  .done = blkfx_done, .priv = &w};
	uint64_t kicks, inl, fb;

	blkfx_fill(wbuf, sizeof(wbuf), 3);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 65536, &wi, 1, false), 0);
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
	blkfx_fill(wbuf, sizeof(wbuf), 9);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, MIB, &wi, 1, false), 0);
	assert_int_equal(blkfx_simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	/* Clean now: dropping them from the page cache sticks. */
	assert_int_equal(posix_fadvise(fd, MIB, sizeof(wbuf),
				       POSIX_FADV_DONTNEED), 0);
	kicks = q->st.kicks;
	fb = q->st.fallback;
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, MIB, &ri, 1, false), 0);
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
	/*
	 * Now the first half cached, the second not.  The kernel's readahead
	 * for the read before may still be bringing the second half back
	 * when we drop it: a few tries, each must read right, one must fall
	 * back.
	 */
	for (int tries = 0; tries < 5; tries++) {
		assert_int_equal(posix_fadvise(fd, MIB + sizeof(wbuf) / 2,
					       sizeof(wbuf) / 2,
					       POSIX_FADV_DONTNEED),
				 0);
		memset(rbuf, 0, sizeof(rbuf));
		fb = q->st.fallback;
		assert_int_equal(blkfx_rw(q, OVB_BLK_READ, MIB, &ri, 1, false),
				 0);
		assert_memory_equal(rbuf, wbuf, sizeof(wbuf));
		if (q->st.fallback != fb)
			break;
	}
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
	struct ovb_blk *blk = blkfx_open("short.img", ",size=1M");
	struct ovb_scsi_target *t;
	struct ovb_blk_queue *q;
	struct ovb_scsi_cmd cmd;
	static uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	uint64_t inl;
	char path[128];
	void *bad;
	int calls = 0;

	blkfx_path(path, sizeof(path), "short.img");
	assert_int_equal(truncate(path, MIB - 2048), 0);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	inl = q->st.inline_done;
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, MIB - 4096, &iov, 1, false),
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
	cmd.done = blkfx_scsi_done;
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
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, 0, &iov, 1, false), -EFAULT);
	munmap(bad, 4096);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_one_kick),
		cmocka_unit_test(test_batch_ram),
		cmocka_unit_test(test_batch_follow_up),
		cmocka_unit_test(test_fast_path_hit),
		cmocka_unit_test(test_fast_path_eagain),
		cmocka_unit_test(test_fast_path_errors),
	};
	return cmocka_run_group_tests(tests, blkfx_setup, blkfx_teardown);
}
