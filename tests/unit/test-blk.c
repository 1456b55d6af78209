// SPDX-License-Identifier: MIT
/*
 * Unit tests: the block backends (the disk spec parser is in
 * test-blk-spec.c, batch mode and the fast path in test-blk-batch.c).
 * The file backend runs on a temporary file under /tmp: sparse creation,
 * read/write round trips through split iovecs, FUA, flush, hole punching
 * (zeros read back and st_blocks shrinks), O_DIRECT, request checks, the
 * eventfd, completions seen without it (ovb_blk_ready) and two threads on
 * two queues.  The RAM backend: failure injection and callbacks that run
 * only from poll.
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

static void test_sparse_create(void **state)
{
	struct ovb_blk *blk = blkfx_open("sparse.img", ",size=64M,sector=4096");
	char path[128];
	struct stat st;

	blkfx_path(path, sizeof(path), "sparse.img");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 64 * MIB);
	assert_true(st.st_blocks * 512 < 64 * 1024); /* sparse */
	assert_int_equal(blk->capacity, 64 * MIB);
	assert_int_equal(blk->block_size, 4096);
	assert_false(blk->read_only);
	assert_true(blk->can_discard);
	ovb_blk_close(blk);

	/* Re-open without size= keeps the size; larger size= grows it. */
	blk = blkfx_open("sparse.img", "");
	assert_int_equal(blk->capacity, 64 * MIB);
	ovb_blk_close(blk);
	blk = blkfx_open("sparse.img", ",size=128M");
	assert_int_equal(blk->capacity, 128 * MIB);
	ovb_blk_close(blk);
}

static void test_open_errors(void **state)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk;
	char err[128];

	memset(&spec, 0, sizeof(spec));
	blkfx_path(spec.path, sizeof(spec.path), "missing.img");
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
	assert_int_equal(ovb_disk_spec_parse(blkfx_dir, &spec, err, sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_file_open(&spec, &blk), -EISDIR);
}

static void test_rw_roundtrip(void **state)
{
	struct ovb_blk *blk = blkfx_open("rw.img", ",size=16M");
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
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, MIB, wiov, 3, false), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, MIB, riov, 2, false), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + 1536, b, sizeof(b));
	assert_memory_equal(back + 3584, c, sizeof(c));
	/* FUA write, then flush: the file holds the bytes. */
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 2 * MIB, wiov, 3, true), 0);
	assert_int_equal(blkfx_simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	blkfx_path(path, sizeof(path), "rw.img");
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
	struct ovb_blk *blk = blkfx_open("hole.img", ",size=8M");
	struct ovb_blk_queue *q;
	uint8_t *buf = malloc(MIB);
	struct iovec iov = {buf, MIB};
	struct stat before, after;
	char path[128];

	assert_non_null(buf);
	blkfx_path(path, sizeof(path), "hole.img");
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	memset(buf, 0xab, MIB);
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 2 * MIB, &iov, 1, false), 0);
	assert_int_equal(blkfx_simple(q, OVB_BLK_FLUSH, 0, 0), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_true(before.st_blocks * 512 >= MIB);
	assert_int_equal(blkfx_simple(q, OVB_BLK_DISCARD, 2 * MIB, MIB), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, 2 * MIB, &iov, 1, false), 0);
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

	snprintf(arg, sizeof(arg), "%s/direct.img,size=4M,direct", blkfx_dir);
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
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 4096, &wi, 1, true), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, 4096, &ri, 1, false), 0);
	assert_memory_equal(w, r, 8192);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
	free(w);
	free(r);
}

static void test_request_checks(void **state)
{
	struct ovb_blk *blk = blkfx_open("chk.img", ",size=1M");
	struct ovb_blk_queue *q;
	uint8_t buf[1024];
	struct iovec iov = {buf, 512};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = blkfx_done};

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
	blk = blkfx_open("chk.img", ",ro");
	assert_true(blk->read_only);
	assert_false(blk->can_discard);
	assert_int_equal(ovb_blk_queue_create(blk, &q), 0);
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 0, &iov, 1, false), -EROFS);
	assert_int_equal(blkfx_simple(q, OVB_BLK_DISCARD, 0, 512), -EROFS);
	assert_int_equal(blkfx_rw(q, OVB_BLK_READ, 0, &iov, 1, false), 0);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(blk);
}

static void test_eventfd_and_spin(void **state)
{
	struct ovb_blk *blk = blkfx_open("ev.img", ",size=1M");
	struct ovb_blk_queue *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct blkfx_waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = blkfx_done,
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
	struct ovb_blk *blk = blkfx_open("ready.img", ",size=1M");
	struct ovb_blk *ram;
	struct ovb_blk_queue *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct blkfx_waiter w = {0, 0};
	struct ovb_blk_req req = {.op = OVB_BLK_READ,
				  .iov = &iov,
				  .iovcnt = 1,
				  .len = 512,
				  .done = blkfx_done,
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
		struct blkfx_waiter w = {0, 0};
		struct ovb_blk_req req = {.op = OVB_BLK_WRITE,
					  .iov = &iov,
					  .iovcnt = 1,
					  .len = 4096,
					  .off = wk->base + 4096u * (unsigned)i,
					  .done = blkfx_done,
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
	struct ovb_blk *blk = blkfx_open("mq.img", ",size=2M");
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
	blkfx_path(path, sizeof(path), "mq.img");
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
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 8192, &iov, 1, false), -EIO);
	assert_int_equal(blkfx_simple(q, OVB_BLK_FLUSH, 0, 0), -EIO);
	assert_int_equal(blkfx_rw(q, OVB_BLK_WRITE, 8192, &iov, 1, false), 0);
	assert_int_equal(ovb_blk_ram_data(blk)[8192], 0x42);
	ovb_blk_ram_fail_next(blk, 1, -ENOSPC);
	assert_int_equal(blkfx_simple(q, OVB_BLK_DISCARD, 8192, 4096), -ENOSPC);
	assert_int_equal(blkfx_simple(q, OVB_BLK_DISCARD, 8192, 4096), 0);
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
		cmocka_unit_test(test_two_queues_two_threads),
		cmocka_unit_test(test_ram_injection),
	};
	return cmocka_run_group_tests(tests, blkfx_setup, blkfx_teardown);
}
