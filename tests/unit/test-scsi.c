// SPDX-License-Identifier: MIT
/*
 * Unit tests: the SCSI target over a RAM backend.  Every supported command,
 * each of its error cases with the exact 18 bytes of sense data (key,
 * ASC/ASCQ, sense-key-specific field pointer), 512- and 4096-byte blocks,
 * read-only disks, backend failures by injection, the buffer-caps-transfer
 * rule, REPORT LUNS over a LUN set, and that writes and flushes complete
 * only from the backend's completion.  A spy wraps the RAM ops to see what
 * reached the backend.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/scsi_target.h"

#define MIB (1024u * 1024u)

/* ---- spy backend: RAM underneath, records what was submitted ----------- */

static const struct ovb_blk_ops *ram_ops;
static struct {
	int count[4]; /* per enum ovb_blk_op */
	bool last_fua;
	uint64_t last_off, last_len;
} spy;

static int spy_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	spy.count[req->op]++;
	spy.last_fua = req->fua;
	spy.last_off = req->off;
	spy.last_len = req->len;
	return ram_ops->submit(q, req);
}

static int spy_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	return ram_ops->queue_create(blk, out);
}

static void spy_queue_destroy(struct ovb_blk_queue *q)
{
	ram_ops->queue_destroy(q);
}

static int spy_poll(struct ovb_blk_queue *q, int timeout_us)
{
	return ram_ops->poll(q, timeout_us);
}

static void spy_close(struct ovb_blk *blk)
{
	ram_ops->close(blk);
}

static const struct ovb_blk_ops spy_ops = {
	.name = "spy",
	.queue_create = spy_queue_create,
	.queue_destroy = spy_queue_destroy,
	.submit = spy_submit,
	.poll = spy_poll,
	.close = spy_close,
};

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct ovb_scsi_target *t;
	uint8_t *disk; /* the RAM bytes */
};

static void fx_open(struct fx *f, uint64_t cap, uint32_t bs,
		    const struct ovb_scsi_target_config *cfg)
{
	assert_int_equal(ovb_blk_ram_create(cap, bs, &f->blk), 0);
	f->disk = ovb_blk_ram_data(f->blk);
	ram_ops = f->blk->ops;
	f->blk->ops = &spy_ops;
	assert_int_equal(ovb_blk_queue_create(f->blk, &f->q), 0);
	assert_int_equal(ovb_scsi_target_create(f->blk, cfg, &f->t), 0);
	memset(&spy, 0, sizeof(spy));
}

static void fx_close(struct fx *f)
{
	ovb_scsi_target_destroy(f->t);
	ovb_blk_queue_destroy(f->q);
	f->blk->ops = ram_ops;
	ovb_blk_close(f->blk);
}

/* Failure injection needs the RAM ops in place to recognise the disk. */
static void fail_next(struct fx *f, unsigned n, int err)
{
	f->blk->ops = ram_ops;
	ovb_blk_ram_fail_next(f->blk, n, err);
	f->blk->ops = &spy_ops;
}

static void on_done(struct ovb_scsi_cmd *cmd)
{
	(*(int *)cmd->priv)++;
}

/* Run one command to completion; the result is in *@c. */
static void exec(struct fx *f, struct ovb_scsi_cmd *c, const uint8_t *cdb,
		 size_t cdb_len, enum ovb_scsi_dir dir, void *buf, size_t len)
{
	static struct iovec iov;
	int calls = 0;

	memset(c, 0, sizeof(*c));
	memcpy(c->cdb, cdb, cdb_len);
	c->cdb_len = (uint8_t)cdb_len;
	c->dir = dir;
	iov.iov_base = buf;
	iov.iov_len = len;
	c->iov = buf ? &iov : NULL;
	c->iovcnt = buf ? 1 : 0;
	c->done = on_done;
	c->priv = &calls;
	ovb_scsi_submit(f->t, f->q, c);
	while (calls == 0)
		if (ovb_blk_poll(f->q, -1) <= 0 && calls == 0)
			fail_msg("opcode %#x never completed", cdb[0]);
	assert_int_equal(calls, 1);
	assert_int_equal(c->xfer + c->residual, buf ? len : 0);
}

#define CDB(...)                                                               \
	(const uint8_t[]){__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})
#define IN OVB_SCSI_DIR_FROM_DEV
#define OUT OVB_SCSI_DIR_TO_DEV
#define NONE OVB_SCSI_DIR_NONE

static void expect_good(const struct ovb_scsi_cmd *c)
{
	if (c->status != SCSI_STATUS_GOOD)
		fail_msg("status %#x, sense key %#x asc %#x/%#x", c->status,
			 c->sense[2], c->sense[12], c->sense[13]);
	assert_int_equal(c->sense_len, 0);
}

/*
 * The exact sense bytes: current error, @key, @pair, and the sense-key
 * specific bytes @sks0 and field pointer @field (both 0: none).
 */
static void expect_sense(const struct ovb_scsi_cmd *c, uint8_t key,
			 uint16_t pair, uint8_t sks0, uint16_t field)
{
	uint8_t want[18] = {0x70,
			    0,
			    key,
			    0,
			    0,
			    0,
			    0,
			    10,
			    0,
			    0,
			    0,
			    0,
			    (uint8_t)(pair >> 8),
			    (uint8_t)pair,
			    0,
			    sks0,
			    (uint8_t)(field >> 8),
			    (uint8_t)field};

	assert_int_equal(c->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(c->sense_len, 18);
	assert_memory_equal(c->sense, want, 18);
}

/* INVALID FIELD IN CDB with the pointer at @byte / @bit (-1: no bit). */
static void expect_bad_cdb(const struct ovb_scsi_cmd *c, uint16_t byte, int bit)
{
	uint8_t sks0 = 0xC0 | (bit >= 0 ? 0x08 | bit : 0);

	expect_sense(c, 5, 0x2400, sks0, byte);
}

static void expect_bad_param(const struct ovb_scsi_cmd *c, uint16_t byte,
			     int bit)
{
	uint8_t sks0 = 0x80 | (bit >= 0 ? 0x08 | bit : 0);

	expect_sense(c, 5, 0x2600, sks0, byte);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ---- generic checks ----------------------------------------------------- */

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
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_rw_errors),
		cmocka_unit_test(test_buffer_caps_transfer),
		cmocka_unit_test(test_write_completes_from_backend),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_medium_errors),
		cmocka_unit_test(test_verify_sync_misc),
		cmocka_unit_test(test_write_same),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_mode_sense),
		cmocka_unit_test(test_mode_select),
		cmocka_unit_test(test_target_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
