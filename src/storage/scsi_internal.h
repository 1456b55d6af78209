/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the SCSI target's files: the target object, the
 * per-opcode handlers, completion and sense helpers, and big-endian field
 * accessors for CDBs and SCSI data.  Layer: devices (storage); not
 * installed.
 */
#ifndef OPENVMBUS_SCSI_INTERNAL_H
#define OPENVMBUS_SCSI_INTERNAL_H

#include <stdint.h>

#include "openvmbus/byteorder.h"
#include "storage/scsi_target.h"

/* Limits we advertise in the Block Limits VPD page and enforce. */
#define OVB_SCSI_MAX_WS_BLOCKS 0x400000u    /**< WRITE SAME blocks */
#define OVB_SCSI_MAX_UNMAP_BLOCKS 0x400000u /**< blocks per descriptor */
#define OVB_SCSI_MAX_UNMAP_DESC 256u        /**< descriptors per UNMAP */

/** One logical unit. */
struct ovb_scsi_target {
	struct ovb_blk *blk;
	uint64_t nblocks;       /**< capacity in logical blocks */
	uint32_t bs;            /**< logical block size */
	uint32_t max_xfer_blocks; /**< 0: no limit */
	uint64_t naa_id;        /**< 60-bit NAA-3 identifier */
	uint16_t lun;           /**< own LUN */
	size_t nluns;           /**< entries in luns, 0: only own LUN */
	uint16_t luns[OVB_SCSI_MAX_LUNS];
	char name[48];
	char vendor[9];
	char product[17];
	char revision[5];
	char serial[33];
};

/* ---- completion (scsi_target.c) ----------------------------------------- */

/** Complete @cmd: set residual, free its scratch, call done. */
void ovb__scsi_finish(struct ovb_scsi_cmd *cmd);

/** Complete with GOOD status. */
void ovb__scsi_good(struct ovb_scsi_cmd *cmd);

/** Fill fixed sense data for @key and the ASC/ASCQ @pair (no pointer). */
void ovb__scsi_set_sense(uint8_t *sense, uint8_t key, uint16_t pair);

/** Complete with CHECK CONDITION, @key, @pair. */
void ovb__scsi_check(struct ovb_scsi_cmd *cmd, uint8_t key, uint16_t pair);

/**
 * Complete with CHECK CONDITION, MEDIUM ERROR (or DATA PROTECT for -EROFS
 * and -ENOSPC) for a backend error @res, the failing @lba in the
 * information field.
 */
void ovb__scsi_medium_error(struct ovb_scsi_cmd *cmd, int res, uint64_t lba);

/**
 * Complete with ILLEGAL REQUEST, INVALID FIELD IN CDB (@in_cdb) or IN
 * PARAMETER LIST, pointing at @byte and, if @bit >= 0, at @bit of it.
 */
void ovb__scsi_bad_field(struct ovb_scsi_cmd *cmd, bool in_cdb, unsigned byte,
			 int bit);

/** Shorthands for the two kinds of bad field. */
#define ovb__scsi_bad_cdb(cmd, byte, bit)                                     \
	ovb__scsi_bad_field(cmd, true, byte, bit)
#define ovb__scsi_bad_param(cmd, byte, bit)                                   \
	ovb__scsi_bad_field(cmd, false, byte, bit)

/**
 * Complete a data-in command whose answer is @data (@len bytes), cut to
 * the CDB's allocation length @alloc and to the buffer (the latter sets
 * overrun).
 */
void ovb__scsi_reply(struct ovb_scsi_cmd *cmd, const void *data, size_t len,
		     size_t alloc);

/**
 * Copy up to @want bytes of the data-out buffer into @buf; sets xfer and,
 * if the buffer is shorter, overrun.  Returns the bytes copied.
 */
size_t ovb__scsi_fetch(struct ovb_scsi_cmd *cmd, void *buf, size_t want);

/** REPORT LUNS over @luns (or @own alone when @n is 0). */
void ovb__scsi_report_luns(struct ovb_scsi_cmd *cmd, const uint16_t *luns,
			   size_t n, uint16_t own);

/* ---- handlers ----------------------------------------------------------- */

/* scsi_rw.c */
void ovb__scsi_read_write(struct ovb_scsi_cmd *cmd);
void ovb__scsi_verify(struct ovb_scsi_cmd *cmd);
void ovb__scsi_sync_cache(struct ovb_scsi_cmd *cmd);
void ovb__scsi_write_same(struct ovb_scsi_cmd *cmd);
void ovb__scsi_unmap(struct ovb_scsi_cmd *cmd);

/* scsi_inquiry.c */
void ovb__scsi_inquiry(struct ovb_scsi_cmd *cmd);
void ovb__scsi_read_capacity10(struct ovb_scsi_cmd *cmd);
void ovb__scsi_service_action_in(struct ovb_scsi_cmd *cmd);

/* scsi_mode.c */
void ovb__scsi_mode_sense(struct ovb_scsi_cmd *cmd);
void ovb__scsi_mode_select(struct ovb_scsi_cmd *cmd);

#endif /* OPENVMBUS_SCSI_INTERNAL_H */
