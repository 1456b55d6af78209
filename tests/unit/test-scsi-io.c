// SPDX-License-Identifier: MIT
/*
 * Unit tests: the SCSI target's data path over a RAM backend behind a
 * spy: READ/WRITE 6/10/12/16 at 512- and 4096-byte blocks, range and
 * field errors with exact sense data, the buffer-caps-transfer rule,
 * writes and flushes completing only from the backend, read-only disks,
 * medium errors by injection, VERIFY/SYNCHRONIZE CACHE, WRITE SAME and
 * UNMAP.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/lib/scsi-fx.h"

static void test_read_write(void **state)
{
	static const uint32_t sizes[] = {512, 4096};

	for (int i = 0; i < 2; i++) {
		uint32_t bs = sizes[i];
		size_t len = 256u * bs;
		uint8_t *w = malloc(len), *r = malloc(len);
		struct ovb_scsi_cmd c;
		struct fx f;

		fx_open(&f, 2 * MIB, bs, NULL);
		fill(w, len, (uint8_t)i);
		/* WRITE(10) 4 blocks at LBA 10, read back four ways. */
		exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 10, 0, 0, 4, 0), OUT, w,
		     4 * bs);
		expect_good(&c);
		assert_int_equal(c.xfer, 4 * bs);
		assert_memory_equal(f.disk + 10 * bs, w, 4 * bs);
		exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 10, 0, 0, 4, 0), IN, r,
		     4 * bs);
		expect_good(&c);
		assert_memory_equal(r, w, 4 * bs);
		memset(r, 0, len);
		exec(&f, &c, CDB(0x08, 0, 0, 10, 4, 0), IN, r, 4 * bs);
		expect_good(&c);
		assert_memory_equal(r, w, 4 * bs);
		memset(r, 0, len);
		exec(&f, &c, CDB(0xa8, 0, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0), IN, r,
		     4 * bs);
		expect_good(&c);
		assert_memory_equal(r, w, 4 * bs);
		memset(r, 0, len);
		exec(&f, &c,
		     CDB(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0),
		     IN, r, 4 * bs);
		expect_good(&c);
		assert_memory_equal(r, w, 4 * bs);
		/* WRITE(6) with length 0 means 256 blocks; WRITE(12/16). */
		exec(&f, &c, CDB(0x0a, 0, 0, 0, 0, 0), OUT, w, len);
		expect_good(&c);
		assert_int_equal(c.xfer, len);
		assert_memory_equal(f.disk, w, len);
		exec(&f, &c, CDB(0xaa, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0), OUT, w,
		     2 * bs);
		expect_good(&c);
		assert_memory_equal(f.disk + 256u * bs, w, 2 * bs);
		exec(&f, &c,
		     CDB(0x8a, 0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1, 0, 0),
		     OUT, w, bs);
		expect_good(&c);
		assert_memory_equal(f.disk + 260u * bs, w, bs);
		/* Zero blocks: nothing moves, nothing reaches the disk. */
		spy.count[OVB_BLK_READ] = 0;
		exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 10, 0, 0, 0, 0), IN, r, bs);
		expect_good(&c);
		assert_int_equal(c.xfer, 0);
		assert_int_equal(spy.count[OVB_BLK_READ], 0);
		fx_close(&f);
		free(w);
		free(r);
	}
}

static void test_rw_errors(void **state)
{
	uint8_t buf[4096];
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL); /* 2048 blocks */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0), IN, buf, 1024);
	expect_sense(&c, 5, 0x2100, 0, 0);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0x08, 0x00, 0, 0, 0, 0), IN, buf, 0);
	expect_sense(&c, 5, 0x2100, 0, 0); /* zero blocks past the end */
	exec(&f, &c,
	     CDB(0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
		 0, 1, 0, 0),
	     IN, buf, 512);
	expect_sense(&c, 5, 0x2100, 0, 0); /* wraps around 2^64 */
	exec(&f, &c, CDB(0x0a, 0x1f, 0xff, 0xff, 1, 0), OUT, buf, 512);
	expect_sense(&c, 5, 0x2100, 0, 0);
	exec(&f, &c, CDB(0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0), IN, buf, 512);
	expect_bad_cdb(&c, 1, 7); /* RDPROTECT */
	exec(&f, &c, CDB(0x2a, 0x40, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, 512);
	expect_bad_cdb(&c, 1, 7); /* WRPROTECT */
	/* Direction mismatch with a buffer is refused. */
	exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), IN, buf, 512);
	expect_sense(&c, 5, 0x2400, 0, 0);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, 512);
	expect_sense(&c, 5, 0x2400, 0, 0);
	fx_close(&f);

	/* The owner's transfer limit: 8 blocks of 512. */
	struct ovb_scsi_target_config cfg = {.max_xfer_bytes = 4096};
	fx_open(&f, MIB, 512, &cfg);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), IN, buf, 4096);
	expect_good(&c);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 9, 0), IN, buf, 4096);
	expect_bad_cdb(&c, 7, -1);
	exec(&f, &c, CDB(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0), IN,
	     buf, 4096);
	expect_bad_cdb(&c, 10, -1);
	fx_close(&f);
}

static void test_buffer_caps_transfer(void **state)
{
	uint8_t buf[8192], pat[4096];
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	fill(f.disk, 4096, 3);
	/* 8 blocks wanted, 3.5 blocks of buffer: 3 move, overrun. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), IN, buf, 1792);
	expect_good(&c);
	assert_int_equal(c.xfer, 1536);
	assert_int_equal(c.residual, 256);
	assert_true(c.overrun);
	assert_memory_equal(buf, f.disk, 1536);
	/* Less than a block: nothing moves, still not a silent success. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), IN, buf, 100);
	expect_good(&c);
	assert_int_equal(c.xfer, 0);
	assert_true(c.overrun);
	/* A larger buffer: underrun, the rest is residual. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0), IN, buf, 8192);
	expect_good(&c);
	assert_int_equal(c.xfer, 4096);
	assert_int_equal(c.residual, 4096);
	assert_false(c.overrun);
	/* A short write writes only the whole blocks it was given. */
	memset(pat, 0x99, sizeof(pat));
	exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 16, 0, 0, 4, 0), OUT, pat, 1000);
	expect_good(&c);
	assert_int_equal(c.xfer, 512);
	assert_true(c.overrun);
	assert_int_equal(f.disk[16 * 512 + 511], 0x99);
	assert_int_equal(f.disk[17 * 512], 0);
	/* No buffer at all (direction NONE): the same rule. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), NONE, NULL, 0);
	expect_good(&c);
	assert_int_equal(c.xfer, 0);
	assert_true(c.overrun);
	fx_close(&f);
}

static void test_write_completes_from_backend(void **state)
{
	uint8_t buf[512] = {1};
	struct iovec iov = {buf, sizeof(buf)};
	struct ovb_scsi_cmd c;
	int calls = 0;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, (uint8_t[]){0x2a, 0x08, 0, 0, 0, 1, 0, 0, 1, 0}, 10);
	c.cdb_len = 10;
	c.dir = OUT;
	c.iov = &iov;
	c.iovcnt = 1;
	c.done = on_done;
	c.priv = &calls;
	ovb_scsi_submit(f.t, f.q, &c);
	assert_int_equal(calls, 0); /* not before the backend answered */
	assert_int_equal(spy.count[OVB_BLK_WRITE], 1);
	assert_true(spy.last_fua); /* FUA bit honoured */
	assert_int_equal(spy.last_off, 512);
	assert_int_equal(ovb_blk_poll(f.q, -1), 1);
	assert_int_equal(calls, 1);
	expect_good(&c);
	/* SYNCHRONIZE CACHE likewise waits for the flush. */
	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, (uint8_t[]){0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10);
	c.cdb_len = 10;
	c.done = on_done;
	c.priv = &calls;
	ovb_scsi_submit(f.t, f.q, &c);
	assert_int_equal(calls, 1);
	assert_int_equal(spy.count[OVB_BLK_FLUSH], 1);
	assert_int_equal(ovb_blk_poll(f.q, -1), 1);
	assert_int_equal(calls, 2);
	expect_good(&c);
	/* Without FUA the flag stays clear. */
	exec(&f, &c, CDB(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0),
	     OUT, buf, 512);
	assert_false(spy.last_fua);
	exec(&f, &c, CDB(0xaa, 0x08, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0), OUT, buf,
	     512);
	assert_true(spy.last_fua);
	fx_close(&f);
}

static void test_read_only(void **state)
{
	uint8_t buf[512] = {0};
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	f.blk->read_only = true;
	exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0x0a, 0, 0, 0, 1, 0), OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0), OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
	     OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0x41, 0x08, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0),
	     OUT, buf, 512);
	expect_sense(&c, 7, 0x2700, 0, 0);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), OUT, buf, 24);
	expect_sense(&c, 7, 0x2700, 0, 0);
	assert_int_equal(spy.count[OVB_BLK_WRITE] + spy.count[OVB_BLK_DISCARD],
			 0);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), IN, buf, 512);
	expect_good(&c);
	exec(&f, &c, CDB(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, buf, 255);
	expect_good(&c);
	assert_int_equal(buf[2], 0x90); /* WP | DPOFUA */
	exec(&f, &c, CDB(0x5a, 0, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255);
	expect_good(&c);
	assert_int_equal(buf[3], 0x90);
	f.blk->read_only = false;
	fx_close(&f);
}

static void test_medium_errors(void **state)
{
	uint8_t buf[512] = {0};
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	fail_next(&f, 1, -EIO);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0x01, 0x02, 0, 0, 1, 0), IN, buf, 512);
	assert_int_equal(c.status, 2);
	assert_memory_equal(c.sense,
			    ((uint8_t[]){0xf0, 0, 3, 0, 0, 1, 2, 10, 0, 0, 0, 0,
					 0x11, 0, 0, 0, 0, 0}),
			    18);
	assert_int_equal(c.xfer, 0);
	fail_next(&f, 1, -EIO);
	exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0), OUT, buf, 512);
	assert_memory_equal(c.sense,
			    ((uint8_t[]){0xf0, 0, 3, 0, 0, 0, 5, 10, 0, 0, 0, 0,
					 0x0c, 0, 0, 0, 0, 0}),
			    18);
	fail_next(&f, 1, -EIO);
	exec(&f, &c, CDB(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	     NONE, NULL, 0);
	assert_int_equal(c.status, 2);
	assert_int_equal(c.sense[2], 3);
	assert_int_equal(c.sense[12], 0x0c);
	/* A full thin pool: DATA PROTECT, SPACE ALLOCATION FAILED. */
	fail_next(&f, 1, -ENOSPC);
	exec(&f, &c, CDB(0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0), OUT, buf, 512);
	assert_int_equal(c.sense[2], 7);
	assert_int_equal(c.sense[12], 0x27);
	assert_int_equal(c.sense[13], 0x07);
	/* Failures in the middle of multi-step commands. */
	fail_next(&f, 1, -EIO);
	exec(&f, &c, CDB(0x41, 0x08, 0, 0, 0, 0, 0, 0, 4, 0), OUT, buf, 512);
	assert_int_equal(c.sense[2], 3);
	assert_int_equal(c.sense[12], 0x0c);
	fail_next(&f, 1, -EIO);
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 0, 0, 0, 4, 0), OUT, buf, 512);
	assert_int_equal(c.sense[12], 0x0c);
	/* After the failures everything works again. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0x01, 0x02, 0, 0, 1, 0), IN, buf, 512);
	expect_good(&c);
	fx_close(&f);
}

/* ---- VERIFY, SYNCHRONIZE CACHE, START STOP, PREVENT --------------------- */

static void test_verify_sync_misc(void **state)
{
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 4096, NULL); /* 256 blocks */
	exec(&f, &c, CDB(0x2f, 0, 0, 0, 0, 0, 0, 1, 0, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0), NONE, NULL, 0);
	expect_bad_cdb(&c, 1, 2); /* BYTCHK */
	exec(&f, &c, CDB(0x2f, 0x20, 0, 0, 0, 0, 0, 0, 1, 0), NONE, NULL, 0);
	expect_bad_cdb(&c, 1, 7); /* VRPROTECT */
	exec(&f, &c, CDB(0x2f, 0, 0, 0, 0, 0xff, 0, 0, 2, 0), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2100, 0, 0);
	exec(&f, &c, CDB(0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 1, 0, 0),
	     NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x8f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0),
	     NONE, NULL, 0);
	expect_sense(&c, 5, 0x2100, 0, 0);
	spy.count[OVB_BLK_FLUSH] = 0;
	exec(&f, &c, CDB(0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c,
	     CDB(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0), NONE,
	     NULL, 0);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_FLUSH], 2);
	exec(&f, &c, CDB(0x35, 0, 0, 0, 1, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2100, 0, 0);
	exec(&f, &c, CDB(0x35, 0, 0, 0, 0, 0xff, 0, 0, 2, 0), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2100, 0, 0);
	assert_int_equal(spy.count[OVB_BLK_FLUSH], 2);
	exec(&f, &c, CDB(0x1b, 0, 0, 0, 0x01, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x1b, 0x01, 0, 0, 0x00, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x1b, 0, 0, 0, 0x02, 0), NONE, NULL, 0);
	expect_bad_cdb(&c, 4, 1); /* LOEJ */
	exec(&f, &c, CDB(0x1b, 0, 0, 0, 0x30, 0), NONE, NULL, 0);
	expect_bad_cdb(&c, 4, 7); /* power condition */
	exec(&f, &c, CDB(0x1e, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0x1e, 0, 0, 0, 1, 0), NONE, NULL, 0);
	expect_bad_cdb(&c, 4, 1);
	fx_close(&f);
}

/* ---- WRITE SAME and UNMAP ----------------------------------------------- */

static void test_write_same(void **state)
{
	uint8_t pat[4096], zero[4096] = {0};
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, 4 * MIB, 512, NULL);
	fill(pat, sizeof(pat), 1);
	/* WRITE SAME(10), 10 blocks at 100. */
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 100, 0, 0, 10, 0), OUT, pat, 512);
	expect_good(&c);
	assert_int_equal(c.xfer, 512);
	for (int i = 0; i < 10; i++)
		assert_memory_equal(f.disk + (100 + i) * 512, pat, 512);
	assert_int_equal(f.disk[110 * 512], 0);
	/* More than one 1 MiB chunk: 4096 blocks. */
	exec(&f, &c,
	     CDB(0x93, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0), OUT,
	     pat, 512);
	expect_good(&c);
	assert_memory_equal(f.disk + 0x1000 * 512, pat, 512);
	assert_memory_equal(f.disk + 0x1fff * 512, pat, 512);
	assert_int_equal(f.disk[0x1000 * 512 - 1], 0);
	/* UNMAP bit with a zero block: a discard, reads zeros. */
	spy.count[OVB_BLK_DISCARD] = spy.count[OVB_BLK_WRITE] = 0;
	exec(&f, &c,
	     CDB(0x93, 0x08, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 8, 0, 0), OUT,
	     zero, 512);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_DISCARD], 1);
	assert_int_equal(spy.count[OVB_BLK_WRITE], 0);
	assert_memory_equal(f.disk + 0x1000 * 512, zero, 512);
	/* UNMAP bit with data: the data is written. */
	exec(&f, &c, CDB(0x41, 0x08, 0, 0, 0, 0, 0, 0, 2, 0), OUT, pat, 512);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_WRITE], 1);
	assert_memory_equal(f.disk + 512, pat, 512);
	/* NDOB: zeros, no buffer needed. */
	exec(&f, &c, CDB(0x93, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0),
	     NONE, NULL, 0);
	expect_good(&c);
	assert_memory_equal(f.disk, zero, 1024);
	/* Errors. */
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0), OUT, pat, 512);
	expect_bad_cdb(&c, 7, -1); /* zero blocks (WSNZ) */
	exec(&f, &c, CDB(0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 1, 0, 0),
	     OUT, pat, 512);
	expect_bad_cdb(&c, 10, -1); /* above the advertised maximum */
	exec(&f, &c, CDB(0x41, 0x10, 0, 0, 0, 0, 0, 0, 1, 0), OUT, pat, 512);
	expect_bad_cdb(&c, 1, 4); /* ANCHOR */
	exec(&f, &c, CDB(0x41, 0x20, 0, 0, 0, 0, 0, 0, 1, 0), OUT, pat, 512);
	expect_bad_cdb(&c, 1, 7); /* WRPROTECT */
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0x1f, 0xff, 0, 0, 2, 0), OUT, pat, 512);
	expect_sense(&c, 5, 0x2100, 0, 0);
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, pat, 100);
	expect_sense(&c, 5, 0x1a00, 0, 0); /* less than one block of data */
	/* A backend whose discard may leave data (NBD TRIM) but which can
	 * write zeros: zeros go as WRITE ZEROES, UNMAP bit or not. */
	f.blk->discard_unzeroed = true;
	f.blk->can_zero = true;
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 50, 0, 0, 4, 0), OUT, pat, 512);
	expect_good(&c);
	spy.count[OVB_BLK_DISCARD] = spy.count[OVB_BLK_WRITE] = 0;
	spy.count[OVB_BLK_WRITE_ZEROES] = 0;
	exec(&f, &c,
	     CDB(0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0), OUT,
	     zero, 512);
	expect_good(&c);
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 52, 0, 0, 2, 0), OUT, zero, 512);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_WRITE_ZEROES], 2);
	assert_int_equal(spy.count[OVB_BLK_DISCARD], 0);
	assert_int_equal(spy.count[OVB_BLK_WRITE], 0);
	assert_memory_equal(f.disk + 50 * 512, zero, 512);
	assert_memory_equal(f.disk + 53 * 512, zero, 512);
	/* Without WRITE ZEROES, zeros are written as data. */
	f.blk->can_zero = false;
	exec(&f, &c, CDB(0x41, 0x08, 0, 0, 0, 60, 0, 0, 2, 0), OUT, zero, 512);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_WRITE], 1);
	assert_int_equal(spy.count[OVB_BLK_DISCARD], 0);
	/* A backend that repeats a block itself (RBD's writesame): one
	 * WRITE_SAME request for a patterned block, UNMAP bit or not. */
	f.blk->can_write_same = true;
	spy.count[OVB_BLK_WRITE] = 0;
	exec(&f, &c, CDB(0x41, 0x08, 0, 0, 0, 70, 0, 0, 3, 0), OUT, pat, 512);
	expect_good(&c);
	assert_int_equal(spy.count[OVB_BLK_WRITE_SAME], 1);
	assert_int_equal(spy.count[OVB_BLK_WRITE], 0);
	assert_int_equal(spy.last_len, 3 * 512);
	for (int i = 70; i < 73; i++)
		assert_memory_equal(f.disk + i * 512, pat, 512);
	fx_close(&f);

	/* 4096-byte blocks. */
	fx_open(&f, MIB, 4096, NULL);
	exec(&f, &c, CDB(0x41, 0, 0, 0, 0, 3, 0, 0, 5, 0), OUT, pat, 4096);
	expect_good(&c);
	assert_memory_equal(f.disk + 7 * 4096, pat, 4096);
	fx_close(&f);
}

/* Build an UNMAP parameter list of @n descriptors from @d (lba, count). */
static size_t unmap_list(uint8_t *buf, const uint64_t (*d)[2], size_t n)
{
	memset(buf, 0, 8 + 16 * n);
	buf[1] = (uint8_t)(6 + 16 * n);
	buf[3] = (uint8_t)(16 * n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = buf + 8 + 16 * i;

		for (int b = 0; b < 8; b++)
			p[b] = (uint8_t)(d[i][0] >> (56 - 8 * b));
		for (int b = 0; b < 4; b++)
			p[8 + b] = (uint8_t)(d[i][1] >> (24 - 8 * b));
	}
	return 8 + 16 * n;
}

static void test_unmap(void **state)
{
	static const uint64_t two[][2] = {{4, 2}, {100, 8}};
	static const uint64_t bad_range[][2] = {{4, 2}, {2047, 2}};
	static const uint64_t too_big[][2] = {{0, 0x400001}};
	static const uint64_t empty[][2] = {{99999, 0}};
	uint8_t list[64];
	struct ovb_scsi_cmd c;
	size_t len;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	memset(f.disk, 0xaa, MIB);
	len = unmap_list(list, two, 2);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_good(&c);
	assert_int_equal(c.xfer, len);
	assert_int_equal(f.disk[4 * 512 - 1], 0xaa);
	assert_int_equal(f.disk[4 * 512], 0);
	assert_int_equal(f.disk[6 * 512 - 1], 0);
	assert_int_equal(f.disk[6 * 512], 0xaa);
	assert_int_equal(f.disk[108 * 512 - 1], 0);
	assert_int_equal(f.disk[108 * 512], 0xaa);
	/* Empty lists and zero-block descriptors are fine. */
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0), OUT, list, 0);
	expect_good(&c);
	len = unmap_list(list, empty, 1);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_good(&c);
	len = unmap_list(list, empty, 0); /* a header, no descriptors */
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 8, 0), OUT, list, len);
	expect_good(&c);
	/* Errors. */
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 6, 0), OUT, list, 6);
	expect_sense(&c, 5, 0x1a00, 0, 0); /* shorter than the header */
	len = unmap_list(list, two, 2);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0), OUT, list, 24);
	expect_sense(&c, 5, 0x1a00, 0, 0); /* descriptors cut off */
	list[3] = 15;
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_bad_param(&c, 2, -1);
	memset(f.disk, 0xaa, MIB);
	len = unmap_list(list, bad_range, 2);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_sense(&c, 5, 0x2100, 0, 0);
	assert_int_equal(f.disk[4 * 512], 0xaa); /* nothing was discarded */
	len = unmap_list(list, too_big, 1);
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_bad_param(&c, 16, -1);
	exec(&f, &c, CDB(0x42, 0x01, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT,
	     list, len);
	expect_bad_cdb(&c, 1, 0); /* ANCHOR */
	f.blk->can_discard = false;
	exec(&f, &c, CDB(0x42, 0, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT, list,
	     len);
	expect_sense(&c, 5, 0x2000, 0, 0);
	fx_close(&f);
}

/* ---- MODE SENSE / MODE SELECT ------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_rw_errors),
		cmocka_unit_test(test_buffer_caps_transfer),
		cmocka_unit_test(test_write_completes_from_backend),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_medium_errors),
		cmocka_unit_test(test_verify_sync_misc),
		cmocka_unit_test(test_write_same),
		cmocka_unit_test(test_unmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
