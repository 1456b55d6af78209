// SPDX-License-Identifier: MIT
/*
 * The SCSI target's mode parameters: MODE SENSE(6/10) with the caching page
 * (write cache enabled: the host page cache is a volatile cache, flushed by
 * SYNCHRONIZE CACHE), the control page, all pages, the block descriptor
 * (short, or long with LLBAA) and the write-protect bit; and MODE
 * SELECT(6/10), which accepts a parameter list only if it keeps every
 * current value (nothing is changeable).  Layer: devices (storage).
 * Implements SPC-4 6.11-6.14 and 7.5, SBC-3 6.4.
 */
#include <string.h>

#include "storage/scsi_internal.h"

#define MODE_MAX 512u

/* Current value of page @code into @buf; returns its length, 0 if none. */
static size_t mode_page(const struct ovb_blk *blk, uint8_t code, uint8_t *buf)
{
	switch (code) {
	case SCSI_MODE_PAGE_CACHING:
		memset(buf, 0, SCSI_MODE_CACHING_LEN);
		buf[0] = SCSI_MODE_PAGE_CACHING;
		buf[1] = SCSI_MODE_CACHING_LEN - 2;
		/* A backend without a volatile cache: nothing to flush. */
		buf[2] = blk->no_write_cache ? 0 : SCSI_MODE_CACHING_WCE;
		return SCSI_MODE_CACHING_LEN;
	case SCSI_MODE_PAGE_CONTROL:
		memset(buf, 0, SCSI_MODE_CONTROL_LEN);
		buf[0] = SCSI_MODE_PAGE_CONTROL;
		buf[1] = SCSI_MODE_CONTROL_LEN - 2;
		buf[3] = 0x10; /* queue algorithm: unrestricted reordering */
		return SCSI_MODE_CONTROL_LEN;
	default:
		return 0;
	}
}

/* The pages @code asks for, at @pc, into @buf; returns bytes, 0 if none. */
static size_t mode_pages(const struct ovb_blk *blk, uint8_t code, uint8_t pc,
			 uint8_t *buf)
{
	size_t len;

	if (code == SCSI_MODE_PAGE_ALL) {
		len = mode_page(blk, SCSI_MODE_PAGE_CACHING, buf);
		len += mode_page(blk, SCSI_MODE_PAGE_CONTROL, buf + len);
	} else {
		len = mode_page(blk, code, buf);
	}
	/* Changeable values: a mask of zeros after each page header. */
	if (pc == SCSI_MODE_PC_CHANGEABLE)
		for (size_t off = 0; off < len; off += 2u + buf[off + 1])
			memset(buf + off + 2, 0, buf[off + 1]);
	return len;
}

/* The block descriptor, short (8) or long (16); returns its length. */
static size_t mode_block_desc(const struct ovb_scsi_target *t, bool llba,
			      uint8_t *buf)
{
	if (llba) {
		memset(buf, 0, 16);
		ovb_put_be64(buf, t->nblocks);
		ovb_put_be32(buf + 12, t->bs);
		return 16;
	}
	ovb_put_be32(buf, t->nblocks > 0xFFFFFFFFull ? 0xFFFFFFFFu
						      : (uint32_t)t->nblocks);
	buf[4] = 0;
	buf[5] = (uint8_t)(t->bs >> 16);
	ovb_put_be16(buf + 6, (uint16_t)t->bs);
	return 8;
}

void ovb__scsi_mode_sense(struct ovb_scsi_cmd *cmd)
{
	const struct ovb_scsi_target *t = cmd->p.t;
	bool ten = cmd->cdb[0] == SCSI_MODE_SENSE_10;
	bool dbd = cmd->cdb[1] & SCSI_MODE_DBD;
	bool llba = ten && (cmd->cdb[1] & SCSI_MODE_LLBAA);
	uint8_t pc = cmd->cdb[2] >> 6, code = cmd->cdb[2] & 0x3f;
	uint8_t sub = cmd->cdb[3];
	size_t hl = ten ? 8 : 4, bdl = 0, len;
	uint8_t buf[MODE_MAX];

	if (pc == SCSI_MODE_PC_SAVED) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
		return;
	}
	/* No subpages; 0x3F/0xFF (all pages and subpages) is all pages. */
	if (sub != 0 && !(sub == 0xFF && code == SCSI_MODE_PAGE_ALL)) {
		ovb__scsi_bad_cdb(cmd, 3, -1);
		return;
	}
	memset(buf, 0, hl);
	if (!dbd)
		bdl = mode_block_desc(t, llba, buf + hl);
	len = mode_pages(t->blk, code, pc, buf + hl + bdl);
	if (len == 0) {
		ovb__scsi_bad_cdb(cmd, 2, 5);
		return;
	}
	len += hl + bdl;
	if (ten) {
		ovb_put_be16(buf, (uint16_t)(len - 2));
		buf[3] = (t->blk->read_only ? SCSI_MODE_DEVSPEC_WP : 0) |
			 (t->blk->no_fua ? 0 : SCSI_MODE_DEVSPEC_DPOFUA);
		buf[4] = bdl == 16 ? 0x01 : 0; /* LONGLBA */
		ovb_put_be16(buf + 6, (uint16_t)bdl);
		ovb__scsi_reply(cmd, buf, len, ovb_get_be16(cmd->cdb + 7));
		return;
	}
	buf[0] = (uint8_t)(len - 1);
	buf[2] = (t->blk->read_only ? SCSI_MODE_DEVSPEC_WP : 0) |
		 (t->blk->no_fua ? 0 : SCSI_MODE_DEVSPEC_DPOFUA);
	buf[3] = (uint8_t)bdl;
	ovb__scsi_reply(cmd, buf, len, cmd->cdb[4]);
}

/*
 * Check a block descriptor of @bdl bytes at @d (offset @off in the list):
 * it may restate, never change, the geometry.
 */
static bool mode_select_bd(struct ovb_scsi_cmd *cmd, const uint8_t *d,
			   size_t bdl, size_t off)
{
	const struct ovb_scsi_target *t = cmd->p.t;
	uint8_t want[16];

	mode_block_desc(t, bdl == 16, want);
	/* Number of blocks 0 means "unchanged"; else it must match. */
	if (!(bdl == 16 ? ovb_get_be64(d) == 0 : ovb_get_be32(d) == 0) &&
	    memcmp(d, want, bdl == 16 ? 8 : 4)) {
		ovb__scsi_bad_param(cmd, (unsigned)off, -1);
		return false;
	}
	if (bdl == 16 ? memcmp(d + 12, want + 12, 4)
		      : memcmp(d + 5, want + 5, 3)) {
		ovb__scsi_bad_param(cmd, (unsigned)off + (bdl == 16 ? 12 : 5),
				    -1);
		return false;
	}
	return true;
}

/* Check each page of @buf[@off..@end): every byte must equal the current. */
static bool mode_select_pages(struct ovb_scsi_cmd *cmd, const uint8_t *buf,
			      size_t off, size_t end)
{
	uint8_t cur[SCSI_MODE_CACHING_LEN];

	while (off < end) {
		size_t plen, clen;

		if (off + 2 > end || off + 2u + buf[off + 1] > end) {
			ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
					SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
			return false;
		}
		if (buf[off] & 0x40) { /* SPF: we have no subpages */
			ovb__scsi_bad_param(cmd, (unsigned)off, 6);
			return false;
		}
		/* PS (bit 7) is reserved in MODE SELECT: ignored. */
		clen = mode_page(cmd->p.t->blk, buf[off] & 0x3f, cur);
		if (clen == 0) {
			ovb__scsi_bad_param(cmd, (unsigned)off, 5);
			return false;
		}
		plen = 2u + buf[off + 1];
		if (plen != clen) {
			ovb__scsi_bad_param(cmd, (unsigned)off + 1, -1);
			return false;
		}
		for (size_t i = 2; i < plen; i++) {
			if (buf[off + i] != cur[i]) {
				ovb__scsi_bad_param(cmd, (unsigned)(off + i),
						    -1);
				return false;
			}
		}
		off += plen;
	}
	return true;
}

void ovb__scsi_mode_select(struct ovb_scsi_cmd *cmd)
{
	bool ten = cmd->cdb[0] == SCSI_MODE_SELECT_10;
	size_t plen = ten ? ovb_get_be16(cmd->cdb + 7) : cmd->cdb[4];
	size_t hl = ten ? 8 : 4, bdl, got;
	uint8_t buf[MODE_MAX];

	if (!(cmd->cdb[1] & SCSI_MODE_PF)) {
		ovb__scsi_bad_cdb(cmd, 1, 4);
		return;
	}
	if (cmd->cdb[1] & SCSI_MODE_SP) {
		ovb__scsi_bad_cdb(cmd, 1, 0);
		return;
	}
	if (plen == 0) {
		ovb__scsi_good(cmd);
		return;
	}
	/* A list must arrive whole to be judged; ours are short. */
	got = ovb__scsi_fetch(cmd, buf, plen < MODE_MAX ? plen : MODE_MAX);
	if (plen > MODE_MAX || got < plen || got < hl) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	/* medium type */
	if (buf[ten ? 2 : 1] != 0) {
		ovb__scsi_bad_param(cmd, ten ? 2 : 1, -1);
		return;
	}
	bdl = ten ? ovb_get_be16(buf + 6) : buf[3];
	if (bdl != 0 && bdl != 8 && !(ten && bdl == 16 && (buf[4] & 0x01))) {
		ovb__scsi_bad_param(cmd, ten ? 6 : 3, -1);
		return;
	}
	if (hl + bdl > got) {
		ovb__scsi_check(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	if (bdl && !mode_select_bd(cmd, buf + hl, bdl, hl))
		return;
	if (!mode_select_pages(cmd, buf, hl + bdl, got))
		return;
	ovb__scsi_good(cmd);
}
