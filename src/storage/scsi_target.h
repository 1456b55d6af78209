/* SPDX-License-Identifier: MIT */
/*
 * A SCSI target for one logical unit: a direct-access block device (SBC-3)
 * over an ovb_blk backend.  It takes a CDB, a data direction and the data
 * buffer as iovecs over guest memory, and completes asynchronously with a
 * SCSI status, fixed-format sense data and the byte count moved.  READ and
 * WRITE hand the caller's iovecs straight to the backend (zero copy).
 * Layer: devices (storage), used by storvsp; independent of VMBus.
 *
 * Completion contract: every submitted command completes exactly once
 * through cmd->done.  Commands that need no backend I/O (INQUIRY, MODE
 * SENSE, errors found while decoding...) complete before ovb_scsi_submit()
 * returns; the others complete from ovb_blk_poll() on the queue given at
 * submit.  A WRITE completes only when the backend completed it;
 * SYNCHRONIZE CACHE only after the flush completed.  Nothing completes
 * GOOD unless it was done: errors are CHECK CONDITION with sense data.
 *
 * Buffer-length rule (what real HBAs do, and what storvsc expects): the
 * data buffer caps the transfer.  If a command wants to move more bytes
 * than the buffer holds, the target moves as many whole logical blocks (or
 * bytes, for generated data such as INQUIRY) as fit, completes with the
 * status of that shorter operation, and sets overrun; residual is always
 * the buffer bytes not moved.  The caller reports overrun to the initiator
 * (storvsp: SRB_STATUS_DATA_OVERRUN with data_transfer_length = xfer), so
 * a short transfer is never mistaken for a full one.  A buffer given with
 * the wrong direction for the command (data-out buffer for READ...) is an
 * error: ILLEGAL REQUEST, INVALID FIELD IN CDB.
 *
 * Threading: a target is immutable after creation except for its LUN list;
 * any number of threads may submit concurrently, each with its own
 * ovb_blk_queue.  A command belongs to one thread until it completes.
 */
#ifndef OPENVMBUS_SCSI_TARGET_H
#define OPENVMBUS_SCSI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "openvmbus/blk.h"
#include "openvmbus/wire/scsi.h"

#define OVB_SCSI_MAX_CDB 16u
#define OVB_SCSI_MAX_LUNS 256u  /**< largest LUN set REPORT LUNS lists */

/** Data direction, as the initiator declared it. */
enum ovb_scsi_dir {
	OVB_SCSI_DIR_NONE = 0,     /**< no data buffer */
	OVB_SCSI_DIR_TO_DEV = 1,   /**< data out (write) */
	OVB_SCSI_DIR_FROM_DEV = 2, /**< data in (read) */
	OVB_SCSI_DIR_UNKNOWN = 3,  /**< either: the command decides */
};

struct ovb_scsi_cmd;
struct ovb_scsi_target;

/** Completion: the result fields of @cmd are valid. */
typedef void ovb_scsi_done_fn(struct ovb_scsi_cmd *cmd);

/** One SCSI command: caller's inputs, the result, the target's state. */
struct ovb_scsi_cmd {
	/* Inputs, set by the caller: */
	uint8_t cdb[OVB_SCSI_MAX_CDB];
	uint8_t cdb_len;           /**< bytes of cdb, 1..16 */
	enum ovb_scsi_dir dir;
	const struct iovec *iov;   /**< data buffer; kept alive until done */
	int iovcnt;
	ovb_scsi_done_fn *done;
	void *priv;                /**< the caller's */

	/* Result, valid in done(): */
	uint8_t status;            /**< SCSI_STATUS_* */
	uint8_t sense_len;         /**< 0, or 18 with CHECK CONDITION */
	uint8_t sense[SCSI_SENSE_FIXED_LEN]; /**< fixed-format sense */
	uint32_t xfer;             /**< bytes moved to or from the buffer */
	uint32_t residual;         /**< buffer bytes not moved */
	bool overrun;              /**< the command wanted more than fit */

	/* Private to the target: */
	struct {
		struct ovb_scsi_target *t;
		struct ovb_blk_queue *q;
		struct ovb_blk_req breq;
		size_t buflen;          /**< usable buffer bytes */
		uint64_t lba;           /**< next block of a multi-step op */
		uint64_t left;          /**< blocks (or descriptors) left */
		size_t idx;             /**< next UNMAP descriptor */
		uint8_t *scratch;       /**< heap buffer of this command */
		struct iovec *tiov;     /**< trimmed copy of iov, or NULL */
		struct iovec one;       /**< single-segment iovec */
		bool writing;           /**< medium error is a write error */
	} p;
};

/** How a target presents itself; strings are copied. */
struct ovb_scsi_target_config {
	const char *name;     /**< for log lines, e.g. "storvsp0 lun 1" */
	uint16_t lun;         /**< its own LUN, listed by REPORT LUNS */
	const char *vendor;   /**< INQUIRY, <= 8 chars; NULL: "Msft" */
	const char *product;  /**< <= 16 chars; NULL: "Virtual Disk" */
	const char *revision; /**< <= 4 chars; NULL: "1.0" */
	const char *serial;   /**< VPD 0x80, <= 32 chars; NULL: from name */
	uint64_t naa_id;      /**< low 60 bits of the NAA-3 id; 0: hash */
	uint32_t max_xfer_bytes; /**< largest READ/WRITE; 0: no limit */
};

/**
 * Create a target over @blk (which must outlive it).  @cfg may be NULL.
 * Returns 0, -EINVAL (block size not 512/4096, a string too long) or
 * -ENOMEM.
 */
int ovb_scsi_target_create(struct ovb_blk *blk,
			   const struct ovb_scsi_target_config *cfg,
			   struct ovb_scsi_target **out);

/** Free a target; no command may be in flight. */
void ovb_scsi_target_destroy(struct ovb_scsi_target *t);

/**
 * Set the LUNs REPORT LUNS lists (all LUNs of the owning controller).  The
 * array is copied.  Not safe against a concurrent REPORT LUNS on the same
 * target: call it while the controller is quiesced.  Returns 0 or -EINVAL
 * (more than OVB_SCSI_MAX_LUNS).  Without a list, only cfg->lun is listed.
 */
int ovb_scsi_target_set_luns(struct ovb_scsi_target *t, const uint16_t *luns,
			     size_t n);

/**
 * Start one command.  @q is the calling thread's queue on the target's
 * backend.  Completes through cmd->done, possibly before returning (see
 * the completion contract).  Never fails: every error is a completion.
 */
void ovb_scsi_submit(struct ovb_scsi_target *t, struct ovb_blk_queue *q,
		     struct ovb_scsi_cmd *cmd);

/**
 * Answer a command addressed to a LUN that does not exist, as a SCSI
 * target does: REPORT LUNS lists @luns, INQUIRY returns peripheral
 * qualifier 3 (no device), REQUEST SENSE returns LOGICAL UNIT NOT
 * SUPPORTED as data; anything else is CHECK CONDITION, ILLEGAL REQUEST,
 * LOGICAL UNIT NOT SUPPORTED.  Completes before returning.
 */
void ovb_scsi_submit_no_lun(const uint16_t *luns, size_t n,
			    struct ovb_scsi_cmd *cmd);

#endif /* OPENVMBUS_SCSI_TARGET_H */
