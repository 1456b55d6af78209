// SPDX-License-Identifier: MIT
/* The SCSI target test fixture (see scsi-fx.h). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/lib/scsi-fx.h"



/* ---- spy backend: RAM underneath, records what was submitted ----------- */

const struct ovb_blk_ops *ram_ops;
struct scsi_spy spy;

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


void fx_open(struct fx *f, uint64_t cap, uint32_t bs,
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

void fx_close(struct fx *f)
{
	ovb_scsi_target_destroy(f->t);
	ovb_blk_queue_destroy(f->q);
	f->blk->ops = ram_ops;
	ovb_blk_close(f->blk);
}

/* Failure injection needs the RAM ops in place to recognise the disk. */
void fail_next(struct fx *f, unsigned n, int err)
{
	f->blk->ops = ram_ops;
	ovb_blk_ram_fail_next(f->blk, n, err);
	f->blk->ops = &spy_ops;
}

void on_done(struct ovb_scsi_cmd *cmd)
{
	(*(int *)cmd->priv)++;
}

/* Run one command to completion; the result is in *@c. */
void exec(struct fx *f, struct ovb_scsi_cmd *c, const uint8_t *cdb,
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






void expect_good(const struct ovb_scsi_cmd *c)
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
void expect_sense(const struct ovb_scsi_cmd *c, uint8_t key,
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
void expect_bad_cdb(const struct ovb_scsi_cmd *c, uint16_t byte, int bit)
{
	uint8_t sks0 = 0xC0 | (bit >= 0 ? 0x08 | bit : 0);

	expect_sense(c, 5, 0x2400, sks0, byte);
}

void expect_bad_param(const struct ovb_scsi_cmd *c, uint16_t byte,
			     int bit)
{
	uint8_t sks0 = 0x80 | (bit >= 0 ? 0x08 | bit : 0);

	expect_sense(c, 5, 0x2600, sks0, byte);
}

void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ---- generic checks ----------------------------------------------------- */

