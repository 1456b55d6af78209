// SPDX-License-Identifier: MIT
/*
 * Unit tests: the SCSI target's non-data commands over a RAM backend:
 * TEST UNIT READY and unknown opcodes, REQUEST SENSE, INQUIRY (standard
 * and VPD), REPORT LUNS over a LUN set and missing LUNs, READ CAPACITY,
 * MODE SENSE/SELECT and the target configuration, each error case with
 * its exact 18 bytes of sense data.  The data path is in test-scsi-io.c.
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

static void test_tur_and_unknown(void **state)
{
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	exec(&f, &c, CDB(0x00, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_good(&c);
	exec(&f, &c, CDB(0xFF, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2000, 0, 0);
	exec(&f, &c, CDB(0x04, 0, 0, 0, 0, 0), NONE, NULL, 0); /* FORMAT */
	expect_sense(&c, 5, 0x2000, 0, 0);
	/* READ(10) in six bytes; TEST UNIT READY in one. */
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2400, 0, 0);
	exec(&f, &c, CDB(0x00), NONE, NULL, 0);
	expect_sense(&c, 5, 0x2400, 0, 0);
	/* NACA in the control byte is not supported. */
	exec(&f, &c, CDB(0x00, 0, 0, 0, 0, 0x04), NONE, NULL, 0);
	expect_bad_cdb(&c, 5, 2);
	exec(&f, &c, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04), NONE, NULL, 0);
	expect_bad_cdb(&c, 9, 2);
	fx_close(&f);
}

static void test_request_sense(void **state)
{
	struct ovb_scsi_cmd c;
	uint8_t buf[64];
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	memset(buf, 0xee, sizeof(buf));
	exec(&f, &c, CDB(0x03, 0, 0, 0, 252, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 18);
	assert_int_equal(buf[0], 0x70);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[7], 10);
	assert_int_equal(buf[12], 0);
	assert_int_equal(buf[18], 0xee);
	exec(&f, &c, CDB(0x03, 0x01, 0, 0, 252, 0), IN, buf, sizeof(buf));
	expect_bad_cdb(&c, 1, 0);
	fx_close(&f);
}

/* ---- INQUIRY ------------------------------------------------------------ */

static void test_inquiry_standard(void **state)
{
	struct ovb_scsi_cmd c;
	uint8_t buf[100];
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	exec(&f, &c, CDB(0x12, 0, 0, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 36);
	assert_int_equal(c.residual, 64);
	assert_false(c.overrun);
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(buf[1], 0x00);
	assert_int_equal(buf[2], 0x06);
	assert_int_equal(buf[3], 0x12);
	assert_int_equal(buf[4], 31);
	assert_int_equal(buf[7], 0x02);
	assert_memory_equal(buf + 8, "Msft    Virtual Disk    1.0 ", 28);
	/* The allocation length cuts the data without an overrun. */
	exec(&f, &c, CDB(0x12, 0, 0, 0, 5, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 5);
	assert_false(c.overrun);
	/* A buffer shorter than what is returned: capped, overrun. */
	exec(&f, &c, CDB(0x12, 0, 0, 0, 36, 0), IN, buf, 10);
	expect_good(&c);
	assert_int_equal(c.xfer, 10);
	assert_int_equal(c.residual, 0);
	assert_true(c.overrun);
	exec(&f, &c, CDB(0x12, 0x02, 0, 0, 36, 0), IN, buf, 36);
	expect_bad_cdb(&c, 1, 1); /* CMDDT */
	exec(&f, &c, CDB(0x12, 0, 0x80, 0, 36, 0), IN, buf, 36);
	expect_bad_cdb(&c, 2, -1); /* page without EVPD */
	/* A data-out buffer for a data-in command. */
	exec(&f, &c, CDB(0x12, 0, 0, 0, 36, 0), OUT, buf, 36);
	expect_sense(&c, 5, 0x2400, 0, 0);
	fx_close(&f);
}

static void test_inquiry_vpd(void **state)
{
	struct ovb_scsi_target_config cfg = {
	    .name = "t0", .serial = "SER123", .naa_id = 0x123456789abcdefull};
	struct ovb_scsi_cmd c;
	uint8_t buf[255];
	struct fx f;

	fx_open(&f, MIB, 512, &cfg);
	exec(&f, &c, CDB(0x12, 1, 0x00, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 10);
	assert_memory_equal(
	    buf, ((uint8_t[]){0, 0, 0, 6, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2}),
	    10);
	exec(&f, &c, CDB(0x12, 1, 0x80, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[1], 0x80);
	assert_int_equal(buf[3], 6);
	assert_memory_equal(buf + 4, "SER123", 6);
	exec(&f, &c, CDB(0x12, 1, 0x83, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[1], 0x83);
	assert_int_equal(be32(buf) & 0xffff, c.xfer - 4);
	assert_int_equal(buf[4], 0x01); /* binary */
	assert_int_equal(buf[5], 0x03); /* LUN, NAA */
	assert_int_equal(buf[7], 8);
	assert_int_equal(be64(buf + 8), 0x3123456789abcdefull);
	assert_int_equal(buf[16], 0x02); /* ASCII */
	assert_int_equal(buf[17], 0x01); /* T10 vendor id */
	assert_int_equal(buf[19], 14);
	assert_memory_equal(buf + 20, "Msft    SER123", 14);
	exec(&f, &c, CDB(0x12, 1, 0xb0, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 64);
	assert_int_equal(buf[3], 0x3c);
	assert_int_equal(buf[4], 0x01);		     /* WSNZ */
	assert_int_equal(be32(buf + 4) & 0xffff, 8); /* granularity */
	assert_int_equal(be32(buf + 8), 0);	     /* no transfer limit */
	assert_int_equal(be32(buf + 20), 0x400000);  /* max unmap LBAs */
	assert_int_equal(be32(buf + 24), 256);	     /* max descriptors */
	assert_int_equal(be32(buf + 28), 8);	     /* unmap granularity */
	assert_int_equal(be64(buf + 36), 0x400000);  /* max WRITE SAME */
	exec(&f, &c, CDB(0x12, 1, 0xb1, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[1], 0xb1);
	assert_int_equal(buf[4], 0);
	assert_int_equal(buf[5], 1); /* non-rotating */
	exec(&f, &c, CDB(0x12, 1, 0xb2, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 8);
	assert_int_equal(buf[5], 0xe4); /* LBPU LBPWS LBPWS10 LBPRZ */
	assert_int_equal(buf[6], 0x02); /* thin */
	exec(&f, &c, CDB(0x12, 1, 0x99, 0, 255, 0), IN, buf, sizeof(buf));
	expect_bad_cdb(&c, 2, -1);
	/* A discard that may leave data behind (NBD TRIM): no LBPRZ;
	 * WRITE SAME still unmaps through WRITE ZEROES when there is one. */
	f.blk->discard_unzeroed = true;
	exec(&f, &c, CDB(0x12, 1, 0xb2, 0, 255, 0), IN, buf, sizeof(buf));
	assert_int_equal(buf[5], 0x80); /* LBPU only */
	f.blk->can_zero = true;
	exec(&f, &c, CDB(0x12, 1, 0xb2, 0, 255, 0), IN, buf, sizeof(buf));
	assert_int_equal(buf[5], 0xe0); /* LBPU LBPWS LBPWS10, no LBPRZ */
	f.blk->can_zero = false;
	f.blk->discard_unzeroed = false;
	/* Without discard: no provisioning bits, no unmap limits. */
	f.blk->can_discard = false;
	exec(&f, &c, CDB(0x12, 1, 0xb2, 0, 255, 0), IN, buf, sizeof(buf));
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6], 0);
	exec(&f, &c, CDB(0x12, 1, 0xb0, 0, 255, 0), IN, buf, sizeof(buf));
	assert_int_equal(be32(buf + 20), 0);
	fx_close(&f);
}

/* ---- REPORT LUNS and absent LUNs ---------------------------------------- */

static void test_report_luns(void **state)
{
	struct ovb_scsi_target_config cfg = {.lun = 7};
	static const uint16_t luns[] = {0, 1, 5, 300};
	uint16_t many[OVB_SCSI_MAX_LUNS + 1] = {0};
	struct ovb_scsi_cmd c;
	uint8_t buf[128];
	struct fx f;

	fx_open(&f, MIB, 512, &cfg);
	exec(&f, &c, CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 16);
	assert_int_equal(be32(buf), 8);
	assert_int_equal(be64(buf + 8), 0x0007000000000000ull);
	assert_int_equal(ovb_scsi_target_set_luns(f.t, luns, 4), 0);
	exec(&f, &c, CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 40);
	assert_int_equal(be32(buf), 32);
	assert_int_equal(be64(buf + 16), 0x0001000000000000ull);
	assert_int_equal(be64(buf + 24), 0x0005000000000000ull);
	assert_int_equal(be64(buf + 32), 0x412c000000000000ull); /* flat */
	/* Well-known LUNs only: none. */
	exec(&f, &c, CDB(0xa0, 0, 1, 0, 0, 0, 0, 0, 0, 128, 0, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(be32(buf), 0);
	exec(&f, &c, CDB(0xa0, 0, 3, 0, 0, 0, 0, 0, 0, 128, 0, 0), IN, buf,
	     sizeof(buf));
	expect_bad_cdb(&c, 2, -1);
	exec(&f, &c, CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0), IN, buf,
	     sizeof(buf));
	expect_bad_cdb(&c, 6, -1);
	assert_int_equal(
	    ovb_scsi_target_set_luns(f.t, many, OVB_SCSI_MAX_LUNS + 1),
	    -EINVAL);
	fx_close(&f);
}

static void test_no_lun(void **state)
{
	static const uint16_t luns[] = {0, 2};
	struct ovb_scsi_cmd c;
	uint8_t buf[64];
	int calls = 0;
	struct iovec iov = {buf, sizeof(buf)};

#define NOLUN(...)                                                             \
	do {                                                                   \
		const uint8_t cdb_[] = {__VA_ARGS__};                          \
		memset(&c, 0, sizeof(c));                                      \
		memcpy(c.cdb, cdb_, sizeof(cdb_));                             \
		c.cdb_len = sizeof(cdb_);                                      \
		c.dir = IN;                                                    \
		c.iov = &iov;                                                  \
		c.iovcnt = 1;                                                  \
		c.done = on_done;                                              \
		c.priv = &calls;                                               \
		ovb_scsi_submit_no_lun(luns, 2, &c);                           \
	} while (0)
	NOLUN(0x12, 0, 0, 0, 36, 0);
	expect_good(&c);
	assert_int_equal(buf[0], 0x7f);
	NOLUN(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0);
	expect_good(&c);
	assert_int_equal(be32(buf), 16);
	assert_int_equal(buf[17], 2);
	NOLUN(0x03, 0, 0, 0, 18, 0);
	expect_good(&c);
	assert_int_equal(buf[2], 5);
	assert_int_equal(buf[12], 0x25);
	NOLUN(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	expect_sense(&c, 5, 0x2500, 0, 0);
	NOLUN(0x00, 0, 0, 0, 0, 0);
	expect_sense(&c, 5, 0x2500, 0, 0);
	assert_int_equal(calls, 5);
#undef NOLUN
}

/* ---- capacity ----------------------------------------------------------- */

static void test_read_capacity(void **state)
{
	static const uint32_t sizes[] = {512, 4096};
	struct ovb_scsi_cmd c;
	uint8_t buf[32];
	struct fx f;

	for (int i = 0; i < 2; i++) {
		fx_open(&f, MIB, sizes[i], NULL);
		exec(&f, &c, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IN, buf, 8);
		expect_good(&c);
		assert_int_equal(be32(buf), MIB / sizes[i] - 1);
		assert_int_equal(be32(buf + 4), sizes[i]);
		exec(&f, &c, CDB(0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0), IN, buf, 8);
		expect_bad_cdb(&c, 2, -1);
		exec(&f, &c,
		     CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
		     IN, buf, 32);
		expect_good(&c);
		assert_int_equal(c.xfer, 32);
		assert_int_equal(be64(buf), MIB / sizes[i] - 1);
		assert_int_equal(be32(buf + 8), sizes[i]);
		assert_int_equal(buf[14], 0xc0); /* LBPME | LBPRZ */
		fx_close(&f);
	}
	fx_open(&f, MIB, 512, NULL);
	/* 4 TiB: too big for READ CAPACITY(10) (geometry only). */
	ovb_scsi_target_destroy(f.t);
	f.blk->capacity = 4ull << 40;
	f.blk->can_discard = false;
	assert_int_equal(ovb_scsi_target_create(f.blk, NULL, &f.t), 0);
	exec(&f, &c, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IN, buf, 8);
	expect_good(&c);
	assert_int_equal(be32(buf), 0xffffffffu);
	exec(&f, &c, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0),
	     IN, buf, 32);
	expect_good(&c);
	assert_int_equal(c.xfer, 12);
	assert_int_equal(be64(buf), (4ull << 40) / 512 - 1);
	exec(&f, &c, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
	     IN, buf, 32);
	assert_int_equal(buf[14], 0); /* no LBPME without discard */
	f.blk->can_zero = true; /* WRITE ZEROES alone: LBPME, no LBPRZ */
	exec(&f, &c, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
	     IN, buf, 32);
	assert_int_equal(buf[14], 0x80);
	f.blk->can_discard = true;
	f.blk->discard_unzeroed = true;
	exec(&f, &c, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
	     IN, buf, 32);
	assert_int_equal(buf[14], 0x80);
	exec(&f, &c, CDB(0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
	     IN, buf, 32);
	expect_bad_cdb(&c, 1, 4);
	exec(&f, &c, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 32, 0, 0),
	     IN, buf, 32);
	expect_bad_cdb(&c, 2, -1);
	f.blk->capacity = MIB;
	fx_close(&f);
}

/* ---- READ / WRITE ------------------------------------------------------- */

static void test_mode_sense(void **state)
{
	uint8_t buf[255];
	struct ovb_scsi_cmd c;
	struct fx f;

	fx_open(&f, MIB, 512, NULL);
	exec(&f, &c, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 4 + 8 + 20 + 12);
	assert_int_equal(buf[0], c.xfer - 1);
	assert_int_equal(buf[2], 0x10); /* DPOFUA, not WP */
	assert_int_equal(buf[3], 8);
	assert_int_equal(be32(buf + 4), 2048);
	assert_int_equal(be32(buf + 8) & 0xffffff, 512);
	assert_int_equal(buf[12], 0x08);
	assert_int_equal(buf[13], 0x12);
	assert_int_equal(buf[14], 0x04); /* WCE */
	assert_int_equal(buf[32], 0x0a);
	assert_int_equal(buf[33], 0x0a);
	/* DBD: no block descriptor. */
	exec(&f, &c, CDB(0x1a, 0x08, 0x08, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 24);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 0x08);
	/* Changeable values: nothing. */
	exec(&f, &c, CDB(0x1a, 0x08, 0x48, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[4], 0x08);
	assert_int_equal(buf[6], 0);
	/* MODE SENSE(10) with a long descriptor. */
	exec(&f, &c, CDB(0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 8 + 16 + 12);
	assert_int_equal(be32(buf) >> 16, c.xfer - 2);
	assert_int_equal(buf[4], 0x01); /* LONGLBA */
	assert_int_equal(buf[7], 16);
	assert_int_equal(be64(buf + 8), 2048);
	assert_int_equal(be32(buf + 20), 512);
	assert_int_equal(buf[24], 0x0a);
	/* All pages and subpages is all pages. */
	exec(&f, &c, CDB(0x5a, 0x08, 0x3f, 0xff, 0, 0, 0, 0, 255, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(c.xfer, 8 + 20 + 12);
	/* Errors. */
	exec(&f, &c, CDB(0x1a, 0, 0xc8, 0, 255, 0), IN, buf, sizeof(buf));
	expect_sense(&c, 5, 0x3900, 0, 0); /* saved values */
	exec(&f, &c, CDB(0x1a, 0, 0x1c, 0, 255, 0), IN, buf, sizeof(buf));
	expect_bad_cdb(&c, 2, 5);
	exec(&f, &c, CDB(0x1a, 0, 0x08, 1, 255, 0), IN, buf, sizeof(buf));
	expect_bad_cdb(&c, 3, -1);
	/* A backend without FUA or without a volatile cache says so. */
	f.blk->no_fua = true;
	f.blk->no_write_cache = true;
	exec(&f, &c, CDB(0x1a, 0, 0x08, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[2], 0);      /* no DPOFUA */
	assert_int_equal(buf[12 + 2], 0); /* no WCE */
	exec(&f, &c, CDB(0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, buf,
	     sizeof(buf));
	expect_good(&c);
	assert_int_equal(buf[3], 0);
	fx_close(&f);

	fx_open(&f, MIB, 4096, NULL);
	exec(&f, &c, CDB(0x1a, 0, 0x08, 0, 255, 0), IN, buf, sizeof(buf));
	expect_good(&c);
	assert_int_equal(be32(buf + 4), 256);
	assert_int_equal(be32(buf + 8) & 0xffffff, 4096);
	fx_close(&f);
}

static void test_mode_select(void **state)
{
	uint8_t cur[255], list[255];
	struct ovb_scsi_cmd c;
	struct fx f;
	size_t len;

	fx_open(&f, MIB, 512, NULL);
	/* Send back exactly what MODE SENSE(6) reported. */
	exec(&f, &c, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, cur, sizeof(cur));
	len = c.xfer;
	memcpy(list, cur, len);
	list[0] = 0;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_good(&c);
	assert_int_equal(c.xfer, len);
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, 0, 0), OUT, list, 0);
	expect_good(&c);
	/* Turning the write cache off is refused at its byte. */
	list[14] = 0;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 14, -1);
	list[14] = 0x04;
	/* A wrong block length in the descriptor. */
	list[10] = 0x10;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 9, -1);
	list[10] = 0x02;
	/* An unknown page; a subpage format page; a wrong page length. */
	list[32] = 0x1c;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 32, 5);
	list[32] = 0x4a;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 32, 6);
	list[32] = 0x0a;
	list[33] = 0x08;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 33, -1);
	list[33] = 0x0a;
	/* A page running past the list. */
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)(len - 1), 0), OUT, list,
	     len - 1);
	expect_sense(&c, 5, 0x1a00, 0, 0);
	/* The buffer is shorter than the parameter list length. */
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, 20);
	expect_sense(&c, 5, 0x1a00, 0, 0);
	/* Medium type, descriptor length. */
	list[1] = 1;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 1, -1);
	list[1] = 0;
	list[3] = 4;
	exec(&f, &c, CDB(0x15, 0x10, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_param(&c, 3, -1);
	list[3] = 8;
	/* CDB fields: PF must be set, SP must not. */
	exec(&f, &c, CDB(0x15, 0x00, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_cdb(&c, 1, 4);
	exec(&f, &c, CDB(0x15, 0x11, 0, 0, (uint8_t)len, 0), OUT, list, len);
	expect_bad_cdb(&c, 1, 0);
	/* MODE SELECT(10) with the MODE SENSE(10) data, no descriptor. */
	exec(&f, &c, CDB(0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, cur,
	     sizeof(cur));
	len = c.xfer;
	memcpy(list, cur, len);
	list[0] = list[1] = 0;
	exec(&f, &c, CDB(0x55, 0x10, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT,
	     list, len);
	expect_good(&c);
	list[10] = 0;
	exec(&f, &c, CDB(0x55, 0x10, 0, 0, 0, 0, 0, 0, (uint8_t)len, 0), OUT,
	     list, len);
	expect_bad_param(&c, 10, -1);
	fx_close(&f);
}

static void test_target_config(void **state)
{
	struct ovb_scsi_target_config cfg = {.vendor = "TOOLONGVENDOR"};
	struct ovb_scsi_target *t;
	struct ovb_blk *blk;

	assert_int_equal(ovb_blk_ram_create(MIB, 512, &blk), 0);
	assert_int_equal(ovb_scsi_target_create(blk, &cfg, &t), -EINVAL);
	cfg.vendor = "OVB";
	cfg.serial = "0123456789012345678901234567890123";
	assert_int_equal(ovb_scsi_target_create(blk, &cfg, &t), -EINVAL);
	cfg.serial = NULL;
	assert_int_equal(ovb_scsi_target_create(blk, &cfg, &t), 0);
	ovb_scsi_target_destroy(t);
	assert_int_equal(ovb_scsi_target_create(NULL, &cfg, &t), -EINVAL);
	ovb_blk_close(blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tur_and_unknown),
		cmocka_unit_test(test_request_sense),
		cmocka_unit_test(test_inquiry_standard),
		cmocka_unit_test(test_inquiry_vpd),
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_no_lun),
		cmocka_unit_test(test_read_capacity),
		cmocka_unit_test(test_mode_sense),
		cmocka_unit_test(test_mode_select),
		cmocka_unit_test(test_target_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
