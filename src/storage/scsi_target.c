// SPDX-License-Identifier: MIT
/*
 * The SCSI target's core: target lifetime, the opcode table and the checks
 * every command passes before its handler (CDB length, NACA, data
 * direction, write protection), completion and sense-data helpers, and the
 * small commands (TEST UNIT READY, REQUEST SENSE, REPORT LUNS, START STOP
 * UNIT, PREVENT ALLOW MEDIUM REMOVAL), plus the answers for a LUN that does
 * not exist.  Layer: devices (storage).  Implements SPC-4 and SBC-3 as far
 * as a virtual disk needs; sense data is fixed format (SPC-4 4.5.3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/log.h"
#include "storage/scsi_internal.h"

/* ---- completion and sense ----------------------------------------------- */

void ovb__scsi_finish(struct ovb_scsi_cmd *cmd)
{
	if (cmd->xfer > cmd->p.buflen)
		cmd->xfer = (uint32_t)cmd->p.buflen; /* our invariant */
	cmd->residual = (uint32_t)(cmd->p.buflen - cmd->xfer);
	free(cmd->p.scratch);
	cmd->p.scratch = NULL;
	free(cmd->p.tiov);
	cmd->p.tiov = NULL;
	cmd->done(cmd);
}

void ovb__scsi_good(struct ovb_scsi_cmd *cmd)
{
	cmd->status = SCSI_STATUS_GOOD;
	cmd->sense_len = 0;
	ovb__scsi_finish(cmd);
}

void ovb__scsi_set_sense(uint8_t *sense, uint8_t key, uint16_t pair)
{
	memset(sense, 0, SCSI_SENSE_FIXED_LEN);
	sense[0] = SCSI_SENSE_FIXED_CURRENT;
	sense[2] = key;
	sense[7] = SCSI_SENSE_FIXED_LEN - 8;
	sense[12] = SCSI_ASC(pair);
	sense[13] = SCSI_ASCQ(pair);
}

void ovb__scsi_check(struct ovb_scsi_cmd *cmd, uint8_t key, uint16_t pair)
{
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->sense_len = SCSI_SENSE_FIXED_LEN;
	ovb__scsi_set_sense(cmd->sense, key, pair);
	ovb__scsi_finish(cmd);
}

void ovb__scsi_medium_error(struct ovb_scsi_cmd *cmd, int res, uint64_t lba)
{
	struct ovb_scsi_target *t = cmd->p.t;
	uint8_t key = SCSI_SENSE_MEDIUM_ERROR;
	uint16_t pair = cmd->p.writing ? SCSI_ASC_WRITE_ERROR
				       : SCSI_ASC_UNRECOVERED_READ_ERROR;

	if (res == -EROFS) {
		key = SCSI_SENSE_DATA_PROTECT;
		pair = SCSI_ASC_WRITE_PROTECTED;
	} else if (res == -ENOSPC && cmd->p.writing) {
		key = SCSI_SENSE_DATA_PROTECT;
		pair = SCSI_ASC_SPACE_ALLOC_FAILED_WP;
	}
	ovb_peer("%s: opcode %#x at lba %llu failed: %s", t->name, cmd->cdb[0],
		 (unsigned long long)lba, strerror(-res));
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->sense_len = SCSI_SENSE_FIXED_LEN;
	ovb__scsi_set_sense(cmd->sense, key, pair);
	if (lba <= UINT32_MAX) {
		cmd->sense[0] |= SCSI_SENSE_VALID;
		ovb_put_be32(cmd->sense + 3, (uint32_t)lba);
	}
	ovb__scsi_finish(cmd);
}

void ovb__scsi_bad_field(struct ovb_scsi_cmd *cmd, bool in_cdb, unsigned byte,
			 int bit)
{
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->sense_len = SCSI_SENSE_FIXED_LEN;
	ovb__scsi_set_sense(cmd->sense, SCSI_SENSE_ILLEGAL_REQUEST,
			    in_cdb ? SCSI_ASC_INVALID_FIELD_IN_CDB
				   : SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	cmd->sense[15] = SCSI_SKS_SKSV | (in_cdb ? SCSI_SKS_CD : 0);
	if (bit >= 0)
		cmd->sense[15] |= SCSI_SKS_BPV | (uint8_t)(bit & 7);
	ovb_put_be16(cmd->sense + 16, (uint16_t)byte);
	ovb__scsi_finish(cmd);
}

void ovb__scsi_reply(struct ovb_scsi_cmd *cmd, const void *data, size_t len,
		     size_t alloc)
{
	size_t want = len < alloc ? len : alloc;
	size_t n = want < cmd->p.buflen ? want : cmd->p.buflen;

	cmd->xfer =
	    (uint32_t)ovb_blk_iov_from_buf(cmd->iov, cmd->iovcnt, 0, data, n);
	cmd->overrun = want > cmd->p.buflen;
	ovb__scsi_good(cmd);
}

size_t ovb__scsi_fetch(struct ovb_scsi_cmd *cmd, void *buf, size_t want)
{
	size_t n = want < cmd->p.buflen ? want : cmd->p.buflen;

	n = ovb_blk_iov_to_buf(cmd->iov, cmd->iovcnt, 0, buf, n);
	cmd->xfer = (uint32_t)n;
	cmd->overrun = want > cmd->p.buflen;
	return n;
}

/* ---- small commands ----------------------------------------------------- */

/* Encode @lun as an 8-byte SAM LUN: peripheral or flat addressing. */
static void scsi_encode_lun(uint8_t *p, uint16_t lun)
{
	memset(p, 0, 8);
	if (lun < 256) {
		p[1] = (uint8_t)lun;
	} else {
		p[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		p[1] = (uint8_t)lun;
	}
}

void ovb__scsi_report_luns(struct ovb_scsi_cmd *cmd, const uint16_t *luns,
			   size_t n, uint16_t own)
{
	uint8_t buf[8 + 8 * OVB_SCSI_MAX_LUNS];
	uint32_t alloc = ovb_get_be32(cmd->cdb + 6);
	uint8_t select = cmd->cdb[2];

	if (select > 2) {
		ovb__scsi_bad_cdb(cmd, 2, -1);
		return;
	}
	if (alloc < 16) {
		ovb__scsi_bad_cdb(cmd, 6, -1);
		return;
	}
	if (n == 0) {
		luns = &own;
		n = 1;
	}
	if (n > OVB_SCSI_MAX_LUNS)
		n = OVB_SCSI_MAX_LUNS;
	if (select == 1) /* well-known LUNs only: we have none */
		n = 0;
	memset(buf, 0, 8);
	ovb_put_be32(buf, (uint32_t)(8 * n));
	for (size_t i = 0; i < n; i++)
		scsi_encode_lun(buf + 8 + 8 * i, luns[i]);
	ovb__scsi_reply(cmd, buf, 8 + 8 * n, alloc);
}

static void scsi_report_luns(struct ovb_scsi_cmd *cmd)
{
	struct ovb_scsi_target *t = cmd->p.t;

	ovb__scsi_report_luns(cmd, t->luns, t->nluns, t->lun);
}

static void scsi_test_unit_ready(struct ovb_scsi_cmd *cmd)
{
	ovb__scsi_good(cmd);
}

static void scsi_request_sense(struct ovb_scsi_cmd *cmd)
{
	uint8_t sense[SCSI_SENSE_FIXED_LEN];

	/* We report errors by autosense only: nothing is ever pending. */
	/* DESC: descriptor format not supported */
	if (cmd->cdb[1] & 0x01) {
		ovb__scsi_bad_cdb(cmd, 1, 0);
		return;
	}
	ovb__scsi_set_sense(sense, SCSI_SENSE_NO_SENSE,
			    SCSI_ASC_NO_ADDITIONAL_SENSE);
	ovb__scsi_reply(cmd, sense, sizeof(sense), cmd->cdb[4]);
}

static void scsi_start_stop(struct ovb_scsi_cmd *cmd)
{
	/* power conditions: only START_VALID */
	if (cmd->cdb[4] & 0xF0) {
		ovb__scsi_bad_cdb(cmd, 4, 7);
		return;
	}
	/* LOEJ: there is no medium to eject */
	if (cmd->cdb[4] & 0x02) {
		ovb__scsi_bad_cdb(cmd, 4, 1);
		return;
	}
	ovb__scsi_good(cmd);
}

static void scsi_prevent_allow(struct ovb_scsi_cmd *cmd)
{
	/* not removable: cannot prevent */
	if (cmd->cdb[4] & 0x03) {
		ovb__scsi_bad_cdb(cmd, 4, 1);
		return;
	}
	ovb__scsi_good(cmd);
}

/* ---- dispatch ----------------------------------------------------------- */

#define OP_IN 0x1u     /* moves data to the initiator */
#define OP_OUT 0x2u    /* moves data from the initiator */
#define OP_WRITES 0x4u /* changes the medium: refused when read-only */

/** One supported opcode. */
struct scsi_op {
	uint8_t len;   /**< CDB bytes it needs */
	uint8_t flags; /**< OP_* */
	void (*fn)(struct ovb_scsi_cmd *cmd);
};

static const struct scsi_op scsi_ops[256] = {
	[SCSI_TEST_UNIT_READY] = {6, 0, scsi_test_unit_ready},
	[SCSI_REQUEST_SENSE] = {6, OP_IN, scsi_request_sense},
	[SCSI_READ_6] = {6, OP_IN, ovb__scsi_read_write},
	[SCSI_WRITE_6] = {6, OP_OUT | OP_WRITES, ovb__scsi_read_write},
	[SCSI_INQUIRY] = {6, OP_IN, ovb__scsi_inquiry},
	[SCSI_MODE_SELECT_6] = {6, OP_OUT, ovb__scsi_mode_select},
	[SCSI_MODE_SENSE_6] = {6, OP_IN, ovb__scsi_mode_sense},
	[SCSI_START_STOP_UNIT] = {6, 0, scsi_start_stop},
	[SCSI_PREVENT_ALLOW_MEDIUM_REMOVAL] = {6, 0, scsi_prevent_allow},
	[SCSI_READ_CAPACITY_10] = {10, OP_IN, ovb__scsi_read_capacity10},
	[SCSI_READ_10] = {10, OP_IN, ovb__scsi_read_write},
	[SCSI_WRITE_10] = {10, OP_OUT | OP_WRITES, ovb__scsi_read_write},
	[SCSI_VERIFY_10] = {10, 0, ovb__scsi_verify},
	[SCSI_SYNCHRONIZE_CACHE_10] = {10, 0, ovb__scsi_sync_cache},
	[SCSI_WRITE_SAME_10] = {10, OP_OUT | OP_WRITES, ovb__scsi_write_same},
	[SCSI_UNMAP] = {10, OP_OUT | OP_WRITES, ovb__scsi_unmap},
	[SCSI_MODE_SELECT_10] = {10, OP_OUT, ovb__scsi_mode_select},
	[SCSI_MODE_SENSE_10] = {10, OP_IN, ovb__scsi_mode_sense},
	[SCSI_READ_16] = {16, OP_IN, ovb__scsi_read_write},
	[SCSI_WRITE_16] = {16, OP_OUT | OP_WRITES, ovb__scsi_read_write},
	[SCSI_VERIFY_16] = {16, 0, ovb__scsi_verify},
	[SCSI_SYNCHRONIZE_CACHE_16] = {16, 0, ovb__scsi_sync_cache},
	[SCSI_WRITE_SAME_16] = {16, OP_OUT | OP_WRITES, ovb__scsi_write_same},
	[SCSI_SERVICE_ACTION_IN_16] = {16, OP_IN, ovb__scsi_service_action_in},
	[SCSI_REPORT_LUNS] = {12, OP_IN, scsi_report_luns},
	[SCSI_READ_12] = {12, OP_IN, ovb__scsi_read_write},
	[SCSI_WRITE_12] = {12, OP_OUT | OP_WRITES, ovb__scsi_read_write},
};

/* Reset the result and private state; compute the usable buffer length. */
static void scsi_cmd_init(struct ovb_scsi_cmd *cmd, struct ovb_scsi_target *t,
			  struct ovb_blk_queue *q)
{
	size_t len = 0;

	cmd->status = SCSI_STATUS_GOOD;
	cmd->sense_len = 0;
	memset(cmd->sense, 0, sizeof(cmd->sense));
	cmd->xfer = 0;
	cmd->residual = 0;
	cmd->overrun = false;
	memset(&cmd->p, 0, sizeof(cmd->p));
	cmd->p.t = t;
	cmd->p.q = q;
	if (cmd->dir != OVB_SCSI_DIR_NONE && cmd->iov && cmd->iovcnt > 0)
		len = ovb_blk_iov_len(cmd->iov, cmd->iovcnt);
	cmd->p.buflen = len > UINT32_MAX ? UINT32_MAX : len;
}

/*
 * The checks common to every command.  Returns the opcode's entry, or NULL
 * after completing the command with the error.
 */
static const struct scsi_op *scsi_precheck(struct ovb_scsi_cmd *cmd,
					   bool read_only)
{
	const struct scsi_op *op = &scsi_ops[cmd->cdb[0]];

	if (cmd->cdb_len == 0 || cmd->cdb_len > OVB_SCSI_MAX_CDB) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_FIELD_IN_CDB);
		return NULL;
	}
	if (!op->fn) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_COMMAND_OPCODE);
		return NULL;
	}
	if (cmd->cdb_len < op->len) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_FIELD_IN_CDB);
		return NULL;
	}
	if (cmd->cdb[op->len - 1] & SCSI_CONTROL_NACA) {
		ovb__scsi_bad_cdb(cmd, op->len - 1u, 2);
		return NULL;
	}
	if (cmd->p.buflen &&
	    (((op->flags & OP_IN) && cmd->dir == OVB_SCSI_DIR_TO_DEV) ||
	     ((op->flags & OP_OUT) && cmd->dir == OVB_SCSI_DIR_FROM_DEV))) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_FIELD_IN_CDB);
		return NULL;
	}
	if ((op->flags & OP_WRITES) && read_only) {
		ovb__scsi_check(cmd, SCSI_SENSE_DATA_PROTECT,
				SCSI_ASC_WRITE_PROTECTED);
		return NULL;
	}
	return op;
}

void ovb_scsi_submit(struct ovb_scsi_target *t, struct ovb_blk_queue *q,
		     struct ovb_scsi_cmd *cmd)
{
	const struct scsi_op *op;

	scsi_cmd_init(cmd, t, q);
	op = scsi_precheck(cmd, t->blk->read_only);
	if (op)
		op->fn(cmd);
}

void ovb_scsi_submit_no_lun(const uint16_t *luns, size_t n,
			    struct ovb_scsi_cmd *cmd)
{
	uint8_t data[SCSI_INQUIRY_STD_LEN];

	scsi_cmd_init(cmd, NULL, NULL);
	if (cmd->cdb_len == 0 || cmd->cdb_len > OVB_SCSI_MAX_CDB) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	switch (cmd->cdb[0]) {
	case SCSI_REPORT_LUNS:
		if (cmd->cdb_len < 12)
			break;
		ovb__scsi_report_luns(cmd, luns, n, 0);
		return;
	case SCSI_INQUIRY:
		if (cmd->cdb_len < 6 || (cmd->cdb[1] & SCSI_INQUIRY_EVPD))
			break;
		memset(data, 0, sizeof(data));
		data[0] = SCSI_PQ_NOT_CONNECTED;
		data[2] = SCSI_VERSION_SPC4;
		data[3] = SCSI_INQUIRY_RDF_HISUP;
		data[4] = SCSI_INQUIRY_STD_LEN - 5;
		ovb__scsi_reply(cmd, data, sizeof(data),
				ovb_get_be16(cmd->cdb + 3));
		return;
	case SCSI_REQUEST_SENSE:
		if (cmd->cdb_len < 6)
			break;
		ovb__scsi_set_sense(data, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_LUN_NOT_SUPPORTED);
		ovb__scsi_reply(cmd, data, SCSI_SENSE_FIXED_LEN, cmd->cdb[4]);
		return;
	default:
		break;
	}
	ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
			SCSI_ASC_LUN_NOT_SUPPORTED);
}

/* ---- lifetime ----------------------------------------------------------- */

/* Copy @src (or @def) into @dst of @size bytes; -EINVAL if too long. */
static int scsi_copy_str(char *dst, size_t size, const char *src,
			 const char *def)
{
	if (!src)
		src = def;
	if (strlen(src) >= size)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

/* FNV-1a over @s: a stable identity when the owner gives none. */
static uint64_t scsi_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

int ovb_scsi_target_create(struct ovb_blk *blk,
			   const struct ovb_scsi_target_config *cfg,
			   struct ovb_scsi_target **out)
{
	static const struct ovb_scsi_target_config defaults;
	struct ovb_scsi_target *t;
	char serial[33];

	if (!blk || !out || (blk->block_size != 512 && blk->block_size != 4096))
		return -EINVAL;
	if (!cfg)
		cfg = &defaults;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->blk = blk;
	t->bs = blk->block_size;
	t->nblocks = blk->capacity / blk->block_size;
	t->lun = cfg->lun;
	t->max_xfer_blocks = cfg->max_xfer_bytes / t->bs;
	snprintf(t->name, sizeof(t->name), "%.47s",
		 cfg->name ? cfg->name : blk->name);
	snprintf(serial, sizeof(serial), "%016llx",
		 (unsigned long long)scsi_hash(t->name));
	if (scsi_copy_str(t->vendor, sizeof(t->vendor), cfg->vendor, "Msft") ||
	    scsi_copy_str(t->product, sizeof(t->product), cfg->product,
			  "Virtual Disk") ||
	    scsi_copy_str(t->revision, sizeof(t->revision), cfg->revision,
			  "1.0") ||
	    scsi_copy_str(t->serial, sizeof(t->serial), cfg->serial, serial)) {
		free(t);
		return -EINVAL;
	}
	t->naa_id = (cfg->naa_id ? cfg->naa_id : scsi_hash(t->serial)) &
		    0x0FFFFFFFFFFFFFFFull;
	*out = t;
	return 0;
}

void ovb_scsi_target_destroy(struct ovb_scsi_target *t)
{
	free(t);
}

int ovb_scsi_target_set_luns(struct ovb_scsi_target *t, const uint16_t *luns,
			     size_t n)
{
	if (!t || n > OVB_SCSI_MAX_LUNS || (n && !luns))
		return -EINVAL;
	if (n)
		memcpy(t->luns, luns, n * sizeof(*luns));
	t->nluns = n;
	return 0;
}
