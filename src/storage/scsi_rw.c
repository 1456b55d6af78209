// SPDX-License-Identifier: MIT
/*
 * The SCSI target's medium commands: READ and WRITE (6/10/12/16) passing
 * the initiator's iovecs straight to the backend, VERIFY, SYNCHRONIZE
 * CACHE, WRITE SAME (hole punch with UNMAP, else the block written
 * repeatedly) and UNMAP.  Every one completes from its backend completion,
 * so a WRITE is acknowledged only once written and a SYNCHRONIZE CACHE only
 * once flushed.  Layer: devices (storage).  Implements SBC-3 5.x.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/scsi_internal.h"

#define WS_CHUNK_BYTES (1024u * 1024u) /* WRITE SAME pattern buffer */

static struct ovb_scsi_cmd *cmd_of(struct ovb_blk_req *req)
{
	return req->priv;
}

/*
 * Range check: complete with LBA OUT OF RANGE and return false unless @lba
 * is a block of the medium and @n blocks from it fit.  (A transfer of zero
 * blocks still needs a valid LBA, SBC-3 4.5.)
 */
static bool rw_in_range(struct ovb_scsi_cmd *cmd, uint64_t lba, uint64_t n)
{
	uint64_t total = cmd->p.t->nblocks;

	if (lba < total && n <= total - lba)
		return true;
	ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
			SCSI_ASC_LBA_OUT_OF_RANGE);
	return false;
}

/* Submit cmd->p.breq; on a refusal complete the command with the error. */
static void rw_submit(struct ovb_scsi_cmd *cmd, ovb_blk_done_fn *done)
{
	int rc;

	cmd->p.breq.done = done;
	cmd->p.breq.priv = cmd;
	rc = ovb_blk_submit(cmd->p.q, &cmd->p.breq);
	if (rc == 0)
		return;
	if (rc == -EAGAIN) {
		/* Queue full: the initiator retries a BUSY command. */
		cmd->status = SCSI_STATUS_BUSY;
		ovb__scsi_finish(cmd);
		return;
	}
	ovb__scsi_medium_error(cmd, rc, cmd->p.breq.off / cmd->p.t->bs);
}

/* Decoded LBA, block count and flags of a READ/WRITE/VERIFY CDB. */
struct rw_args {
	uint64_t lba;
	uint64_t n;
	unsigned len_byte; /**< where the transfer length sits */
	bool fua;
	bool protect; /**< RD/WR/VRPROTECT non-zero */
};

static void rw_decode(const uint8_t *cdb, struct rw_args *a)
{
	memset(a, 0, sizeof(*a));
	switch (cdb[0] >> 5) {
	case 0: /* 6-byte: 21-bit LBA, 0 blocks means 256 */
		a->lba =
		    (uint64_t)(cdb[1] & 0x1f) << 16 | ovb_get_be16(cdb + 2);
		a->n = cdb[4] ? cdb[4] : 256;
		a->len_byte = 4;
		return;
	case 1: /* 10-byte */
	case 2:
		a->lba = ovb_get_be32(cdb + 2);
		a->n = ovb_get_be16(cdb + 7);
		a->len_byte = 7;
		break;
	case 5: /* 12-byte */
		a->lba = ovb_get_be32(cdb + 2);
		a->n = ovb_get_be32(cdb + 6);
		a->len_byte = 6;
		break;
	default: /* 16-byte */
		a->lba = ovb_get_be64(cdb + 2);
		a->n = ovb_get_be32(cdb + 10);
		a->len_byte = 10;
		break;
	}
	a->fua = cdb[1] & SCSI_CDB_FUA;
	a->protect = cdb[1] & SCSI_CDB_PROTECT;
}

/*
 * Point the request at the first @bytes of the buffer: the caller's iovecs
 * when they match exactly, else a trimmed copy.  Returns 0 or -ENOMEM.
 */
static int rw_trim_iov(struct ovb_scsi_cmd *cmd, size_t bytes)
{
	struct iovec *v;
	int i;

	cmd->p.breq.iov = cmd->iov;
	cmd->p.breq.iovcnt = cmd->iovcnt;
	if (bytes == cmd->p.buflen)
		return 0;
	v = malloc(sizeof(*v) * (size_t)cmd->iovcnt);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < cmd->iovcnt && bytes > 0; i++) {
		v[i] = cmd->iov[i];
		if (v[i].iov_len > bytes)
			v[i].iov_len = bytes;
		bytes -= v[i].iov_len;
	}
	cmd->p.tiov = v;
	cmd->p.breq.iov = v;
	cmd->p.breq.iovcnt = i;
	return 0;
}

static void rw_done(struct ovb_blk_req *req, int res)
{
	struct ovb_scsi_cmd *cmd = cmd_of(req);

	if (res < 0) {
		cmd->xfer = 0;
		ovb__scsi_medium_error(cmd, res, cmd->p.lba);
		return;
	}
	cmd->xfer = (uint32_t)req->len;
	ovb__scsi_good(cmd);
}

void ovb__scsi_read_write(struct ovb_scsi_cmd *cmd)
{
	struct ovb_scsi_target *t = cmd->p.t;
	bool write =
	    cmd->cdb[0] == SCSI_WRITE_6 || cmd->cdb[0] == SCSI_WRITE_10 ||
	    cmd->cdb[0] == SCSI_WRITE_12 || cmd->cdb[0] == SCSI_WRITE_16;
	struct rw_args a;
	uint64_t fit;

	rw_decode(cmd->cdb, &a);
	if (a.protect) {
		ovb__scsi_bad_cdb(cmd, 1, 7);
		return;
	}
	if (!rw_in_range(cmd, a.lba, a.n))
		return;
	if (t->max_xfer_blocks && a.n > t->max_xfer_blocks) {
		ovb__scsi_bad_cdb(cmd, a.len_byte, -1);
		return;
	}
	if (a.n == 0) {
		ovb__scsi_good(cmd);
		return;
	}
	/* The buffer caps the transfer (see scsi_target.h). */
	fit = cmd->p.buflen / t->bs;
	if (fit < a.n) {
		cmd->overrun = true;
		a.n = fit;
		if (a.n == 0) {
			ovb__scsi_good(cmd);
			return;
		}
	}
	if (rw_trim_iov(cmd, a.n * t->bs)) {
		ovb__scsi_check(cmd, SCSI_SENSE_HARDWARE_ERROR,
				SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	cmd->p.writing = write;
	cmd->p.lba = a.lba;
	cmd->p.breq.op = write ? OVB_BLK_WRITE : OVB_BLK_READ;
	cmd->p.breq.off = a.lba * t->bs;
	cmd->p.breq.len = a.n * t->bs;
	cmd->p.breq.fua = write && a.fua;
	rw_submit(cmd, rw_done);
}

void ovb__scsi_verify(struct ovb_scsi_cmd *cmd)
{
	struct rw_args a;

	rw_decode(cmd->cdb, &a);
	if (a.protect) {
		ovb__scsi_bad_cdb(cmd, 1, 7);
		return;
	}
	/* BYTCHK: comparing against data-out is not supported. */
	if (cmd->cdb[1] & SCSI_CDB_BYTCHK) {
		ovb__scsi_bad_cdb(cmd, 1, 2);
		return;
	}
	if (!rw_in_range(cmd, a.lba, a.n))
		return;
	/* The medium is a file: every in-range block is readable. */
	ovb__scsi_good(cmd);
}

static void sync_done(struct ovb_blk_req *req, int res)
{
	struct ovb_scsi_cmd *cmd = cmd_of(req);

	if (res < 0) {
		ovb__scsi_medium_error(cmd, res, cmd->p.lba);
		return;
	}
	ovb__scsi_good(cmd);
}

void ovb__scsi_sync_cache(struct ovb_scsi_cmd *cmd)
{
	struct rw_args a;

	rw_decode(cmd->cdb, &a);
	/* SYNCHRONIZE CACHE(10) keeps its block count at bytes 7-8 too. */
	if (!rw_in_range(cmd, a.lba, a.n))
		return;
	/* IMMED is ignored: we answer only once the data is stable. */
	cmd->p.writing = true;
	cmd->p.lba = a.lba;
	cmd->p.breq.op = OVB_BLK_FLUSH;
	rw_submit(cmd, sync_done);
}

/* ---- WRITE SAME --------------------------------------------------------- */

/* Submit the next chunk of a repeated-block write. */
static void ws_next(struct ovb_scsi_cmd *cmd, ovb_blk_done_fn *done)
{
	struct ovb_scsi_target *t = cmd->p.t;
	uint64_t chunk = WS_CHUNK_BYTES / t->bs;

	if (chunk > cmd->p.left)
		chunk = cmd->p.left;
	cmd->p.one.iov_base = cmd->p.scratch;
	cmd->p.one.iov_len = chunk * t->bs;
	cmd->p.breq.op = OVB_BLK_WRITE;
	cmd->p.breq.off = cmd->p.lba * t->bs;
	cmd->p.breq.len = chunk * t->bs;
	cmd->p.breq.iov = &cmd->p.one;
	cmd->p.breq.iovcnt = 1;
	rw_submit(cmd, done);
}

static void ws_write_done(struct ovb_blk_req *req, int res)
{
	struct ovb_scsi_cmd *cmd = cmd_of(req);
	uint64_t n = req->len / cmd->p.t->bs;

	if (res < 0) {
		ovb__scsi_medium_error(cmd, res, cmd->p.lba);
		return;
	}
	cmd->p.lba += n;
	cmd->p.left -= n;
	if (cmd->p.left == 0) {
		ovb__scsi_good(cmd);
		return;
	}
	ws_next(cmd, ws_write_done);
}

static void ws_discard_done(struct ovb_blk_req *req, int res)
{
	struct ovb_scsi_cmd *cmd = cmd_of(req);

	if (res < 0) {
		ovb__scsi_medium_error(cmd, res, cmd->p.lba);
		return;
	}
	ovb__scsi_good(cmd);
}

/* True if @len bytes at @p are all zero. */
static bool ws_all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

void ovb__scsi_write_same(struct ovb_scsi_cmd *cmd)
{
	struct ovb_scsi_target *t = cmd->p.t;
	bool ndob =
	    cmd->cdb[0] == SCSI_WRITE_SAME_16 && (cmd->cdb[1] & SCSI_WS_NDOB);
	struct rw_args a;
	uint64_t chunk;

	rw_decode(cmd->cdb, &a);
	if (a.protect) {
		ovb__scsi_bad_cdb(cmd, 1, 7);
		return;
	}
	if (cmd->cdb[1] & SCSI_WS_ANCHOR) {
		ovb__scsi_bad_cdb(cmd, 1, 4);
		return;
	}
	/* WSNZ is set in the Block Limits page: 0 blocks is invalid. */
	if (a.n == 0 || a.n > OVB_SCSI_MAX_WS_BLOCKS) {
		ovb__scsi_bad_cdb(cmd, a.len_byte, -1);
		return;
	}
	if (!rw_in_range(cmd, a.lba, a.n))
		return;
	chunk = WS_CHUNK_BYTES / t->bs;
	if (chunk > a.n)
		chunk = a.n;
	cmd->p.scratch = calloc(1, chunk * t->bs);
	if (!cmd->p.scratch) {
		ovb__scsi_check(cmd, SCSI_SENSE_HARDWARE_ERROR,
				SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	/* Copy the pattern out of guest memory once: it cannot change. */
	if (!ndob && ovb__scsi_fetch(cmd, cmd->p.scratch, t->bs) < t->bs) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	cmd->p.writing = true;
	cmd->p.lba = a.lba;
	cmd->p.left = a.n;
	/* A hole reads back as zeros (LBPRZ), so only a zero block may unmap.
	 */
	if ((cmd->cdb[1] & SCSI_WS_UNMAP) && t->blk->can_discard &&
	    !t->blk->discard_unzeroed && ws_all_zero(cmd->p.scratch, t->bs)) {
		cmd->p.breq.op = OVB_BLK_DISCARD;
		cmd->p.breq.off = a.lba * t->bs;
		cmd->p.breq.len = a.n * t->bs;
		rw_submit(cmd, ws_discard_done);
		return;
	}
	/* Zeros, unmapped or not: the backend's WRITE ZEROES (NBD, RBD). */
	if (t->blk->can_zero && ws_all_zero(cmd->p.scratch, t->bs)) {
		cmd->p.breq.op = OVB_BLK_WRITE_ZEROES;
		cmd->p.breq.off = a.lba * t->bs;
		cmd->p.breq.len = a.n * t->bs;
		rw_submit(cmd, ws_discard_done);
		return;
	}
	/* Any pattern: the backend's own WRITE SAME (RBD's writesame). */
	if (t->blk->can_write_same) {
		cmd->p.one.iov_base = cmd->p.scratch;
		cmd->p.one.iov_len = t->bs;
		cmd->p.breq.op = OVB_BLK_WRITE_SAME;
		cmd->p.breq.off = a.lba * t->bs;
		cmd->p.breq.len = a.n * t->bs;
		cmd->p.breq.iov = &cmd->p.one;
		cmd->p.breq.iovcnt = 1;
		rw_submit(cmd, ws_discard_done);
		return;
	}
	for (uint64_t i = 1; i < chunk; i++)
		memcpy(cmd->p.scratch + i * t->bs, cmd->p.scratch, t->bs);
	ws_next(cmd, ws_write_done);
}

/* ---- UNMAP -------------------------------------------------------------- */

/* Discard the next non-empty descriptor, or complete when none is left. */
static void unmap_next(struct ovb_scsi_cmd *cmd);

static void unmap_done(struct ovb_blk_req *req, int res)
{
	struct ovb_scsi_cmd *cmd = cmd_of(req);

	if (res < 0) {
		ovb__scsi_medium_error(cmd, res, cmd->p.lba);
		return;
	}
	unmap_next(cmd);
}

static void unmap_next(struct ovb_scsi_cmd *cmd)
{
	struct ovb_scsi_target *t = cmd->p.t;

	while (cmd->p.left > 0) {
		const uint8_t *d = cmd->p.scratch + SCSI_UNMAP_HEADER_LEN +
				   SCSI_UNMAP_DESC_LEN * cmd->p.idx;
		uint64_t lba = ovb_get_be64(d);
		uint32_t n = ovb_get_be32(d + 8);

		cmd->p.idx++;
		cmd->p.left--;
		if (n == 0)
			continue;
		cmd->p.lba = lba;
		cmd->p.breq.op = OVB_BLK_DISCARD;
		cmd->p.breq.off = lba * t->bs;
		cmd->p.breq.len = (uint64_t)n * t->bs;
		rw_submit(cmd, unmap_done);
		return;
	}
	ovb__scsi_good(cmd);
}

/*
 * Check every descriptor before discarding anything.  Returns true, or
 * false after completing the command with the error.
 */
static bool unmap_validate(struct ovb_scsi_cmd *cmd, size_t ndesc)
{
	for (size_t i = 0; i < ndesc; i++) {
		size_t off = SCSI_UNMAP_HEADER_LEN + SCSI_UNMAP_DESC_LEN * i;
		const uint8_t *d = cmd->p.scratch + off;
		uint32_t n = ovb_get_be32(d + 8);

		if (n > OVB_SCSI_MAX_UNMAP_BLOCKS) {
			ovb__scsi_bad_param(cmd, (unsigned)off + 8, -1);
			return false;
		}
		/* A descriptor of zero blocks is no error, whatever its LBA. */
		if (n && !rw_in_range(cmd, ovb_get_be64(d), n))
			return false;
	}
	return true;
}

void ovb__scsi_unmap(struct ovb_scsi_cmd *cmd)
{
	const size_t max = SCSI_UNMAP_HEADER_LEN +
			   SCSI_UNMAP_DESC_LEN * OVB_SCSI_MAX_UNMAP_DESC;
	size_t plen = ovb_get_be16(cmd->cdb + 7), got;
	uint16_t bd_len;

	if (!cmd->p.t->blk->can_discard) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_COMMAND_OPCODE);
		return;
	}
	if (cmd->cdb[1] & SCSI_UNMAP_ANCHOR) {
		ovb__scsi_bad_cdb(cmd, 1, 0);
		return;
	}
	if (plen == 0) {
		ovb__scsi_good(cmd);
		return;
	}
	cmd->p.scratch = malloc(max);
	if (!cmd->p.scratch) {
		ovb__scsi_check(cmd, SCSI_SENSE_HARDWARE_ERROR,
				SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	got = ovb__scsi_fetch(cmd, cmd->p.scratch, plen < max ? plen : max);
	if (got < SCSI_UNMAP_HEADER_LEN) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	bd_len = ovb_get_be16(cmd->p.scratch + 2);
	if (bd_len % SCSI_UNMAP_DESC_LEN ||
	    bd_len / SCSI_UNMAP_DESC_LEN > OVB_SCSI_MAX_UNMAP_DESC) {
		ovb__scsi_bad_param(cmd, 2, -1);
		return;
	}
	if (bd_len > got - SCSI_UNMAP_HEADER_LEN) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	if (!unmap_validate(cmd, bd_len / SCSI_UNMAP_DESC_LEN))
		return;
	cmd->p.writing = true;
	cmd->p.left = bd_len / SCSI_UNMAP_DESC_LEN;
	cmd->p.idx = 0;
	unmap_next(cmd);
}
