/* SPDX-License-Identifier: MIT */
/*
 * storvsp: the host's synthetic storage controller.  Layer: devices.  One
 * ovb_storvsp is one controller: a synthetic SCSI controller (class
 * ba6163d9-..., up to 64 LUNs, sub-channels) or an IDE accelerator disk
 * (class 32412632-..., one LUN, no sub-channels).  Every guest partition
 * gets its own offer of every registered controller; the LUNs (backends)
 * are the controller's and shared by those offers.
 *
 * Protocol: VSTOR 2.0, 4.2, 5.1, 6.0 and 6.2 (docs/wire.md B10); the init
 * sequence BEGIN_INIT, QUERY_PROTOCOL_VERSION, QUERY_PROPERTIES, optional
 * CREATE_SUB_CHANNELS, END_INIT; then EXECUTE_SRB with GPA-direct data
 * handed to the backend as iovecs over guest memory (zero copy), resets,
 * and ENUMERATE_BUS to the guest when a LUN comes or goes.
 *
 * Threads: the VSP callbacks run on the link thread (open, close) and on
 * each channel's worker (packets).  Each worker owns one ovb_blk_queue per
 * LUN it touched and reaps completions itself.  ovb_storvsp_add_lun() and
 * ovb_storvsp_remove_lun() may be called from any other thread.
 *
 * Modes: in interrupt mode (the default) a worker sleeps on the guest's
 * signal and its queues' eventfds.  With cfg.poll_us it first spins that
 * long on both its inbound ring and its queues' completion queues (looked
 * at in shared memory, no system call), with the guest's signals masked.
 * Between the two, cfg.spin_us (spin for the next request, learnt gap) and
 * cfg.stream_spin (the NIC's stream rule) spin briefly after a drain while
 * requests come and sleep once the disk is idle.
 */
#ifndef OPENVMBUS_STORVSP_H
#define OPENVMBUS_STORVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "blk.h"
#include "server.h"
#include "vsp.h"
#include "wire/vstor.h"

/** Class GUIDs of the two flavours (wire byte order). */
#define OVB_STORVSP_SCSI_CLASS VSTOR_SCSI_CLASS_GUID
#define OVB_STORVSP_IDE_CLASS VSTOR_IDE_CLASS_GUID

#define OVB_STORVSP_MAX_LUNS 64u  /**< LUNs of a SCSI controller */
#define OVB_STORVSP_MAX_SUB 8u    /**< sub-channels a guest may ask for */

/** How a controller presents itself. */
struct ovb_storvsp_cfg {
	const char *name;        /**< log name, e.g. "storvsp0" */
	bool ide;                /**< IDE accelerator flavour */
	unsigned int ide_index;  /**< IDE: 0..3 = channel * 2 + device */
	uint16_t max_subchannels; /**< SCSI: offered at most (default 4) */
	uint32_t max_transfer;   /**< bytes per SRB (default 1 MiB) */
	uint16_t max_version;    /**< newest VSTOR version taken (0: 6.2) */
	unsigned int depth;      /**< in-flight SRBs per channel (default 64) */
	/**
	 * Polling mode: microseconds each channel worker spins on its ring
	 * and its backend completions before it sleeps (at most 1000000).
	 * 0: interrupt mode.
	 */
	uint32_t poll_us;
	/**
	 * Interrupt mode: at most this many microseconds each channel
	 * worker spins for the guest's next request after a drain, while
	 * the gaps between requests stay that short (ovb_chan_set_adaptive_
	 * reply: an idle channel sleeps).  0: never (the default; on two
	 * cores the spinner takes the core the guest's side needs, see
	 * docs/fuse.md); at most 1000000.
	 */
	uint32_t spin_us;
	/**
	 * Interrupt mode without spin_us: the channel workers spin the
	 * stream way (ovb_chan_set_adaptive: 16-64 us after a drain while
	 * requests keep coming, halving on a miss, none once idle).  false
	 * (the zero config): every worker sleeps after every drain.  `vmbus
	 * host` turns it on unless told `--disk-spin 0` (docs/storage.md).
	 * Left off on a channel opened while every LUN is remote (struct
	 * ovb_blk's remote: NBD, RBD), whose answers need the server's CPU.
	 * With it, while requests to a remote LUN are in flight, the worker
	 * spins for their answers after a drain, yielding after every look
	 * (ovb_chan_set_busy, up to 200 us learnt from the answers' waits;
	 * an engine that wakes the worker itself, RBD, bounds it lower:
	 * struct ovb_blk's busy_max_us).
	 */
	bool stream_spin;
	/**
	 * A drain hands its SRBs to the backends, and their answers to the
	 * guest, every this many SRBs instead of once at its end, so that
	 * the guest starts on the first answers while the worker does the
	 * rest (the QD32 convoy of docs/fuse.md).  0: once per drain (the
	 * default: one backend batch and one answer batch per drain).
	 */
	unsigned int answer_every;
};

/** Counters (monotonic) over every partition and channel. */
struct ovb_storvsp_stats {
	uint64_t srbs;           /**< EXECUTE_SRB handled */
	uint64_t srb_errors;     /**< completed with an SRB status != SUCCESS */
	uint64_t bad_packets;    /**< malformed or out-of-sequence packets */
	uint64_t busy;           /**< SRBs refused because the queue was full */
	uint64_t reset_lun, reset_adapter, reset_bus;
	uint64_t enumerates;     /**< ENUMERATE_BUS sent */
	uint64_t bytes_read, bytes_written;
	/** System calls that queued SRBs at a backend (io_uring_enter). */
	uint64_t backend_kicks;
	/** Backend requests finished at the flush (page-cache hits). */
	uint64_t backend_inline;
	/**
	 * Completions reaped and answered on the backend's own thread (RBD's
	 * callback), the worker left asleep: one batch each.
	 */
	uint64_t backend_direct;
};

struct ovb_storvsp;

/** The VSP table (registered by ovb_storvsp_register()). */
OVB_API
extern const struct ovb_vsp_ops ovb_storvsp_ops;

/**
 * Create a controller with no LUNs.  Returns 0, -EINVAL (bad cfg),
 * -ENOMEM.
 */
OVB_API
int ovb_storvsp_create(const struct ovb_storvsp_cfg *cfg,
		       struct ovb_storvsp **out);

/**
 * Register the controller with @srv so that every partition that joins
 * later gets an offer of it.  Returns 0 or -ENOSPC.
 */
OVB_API
int ovb_storvsp_register(struct ovb_server *srv, struct ovb_storvsp *c);

/**
 * Attach @blk as LUN @lun (-1: the lowest free one).  The controller owns
 * @blk from then on (closed when the LUN is removed or the controller
 * destroyed).  Guests with an open controller get ENUMERATE_BUS.  Any
 * thread.  Returns the LUN number, or -EEXIST (taken), -ENOSPC (full),
 * -EINVAL (IDE controllers take only LUN 0), -ENOMEM.
 */
OVB_API
int ovb_storvsp_add_lun(struct ovb_storvsp *c, int lun, struct ovb_blk *blk);

/**
 * Detach LUN @lun: new SRBs for it fail with SRB_STATUS_INVALID_LUN, the
 * guests get ENUMERATE_BUS, and the backend closes once in-flight
 * commands are done.  Any thread except a channel worker.  Returns 0 or
 * -ENOENT.
 */
OVB_API
int ovb_storvsp_remove_lun(struct ovb_storvsp *c, uint16_t lun);

/** LUN numbers present, ascending; fills up to @max, returns the count. */
OVB_API
size_t ovb_storvsp_luns(struct ovb_storvsp *c, uint16_t *out, size_t max);

/** The backend of LUN @lun, or NULL (valid until it is removed). */
OVB_API
struct ovb_blk *ovb_storvsp_lun_blk(struct ovb_storvsp *c, uint16_t lun);

/** Copy the counters. */
OVB_API
void ovb_storvsp_get_stats(struct ovb_storvsp *c, struct ovb_storvsp_stats *st);

OVB_API
const char *ovb_storvsp_name(const struct ovb_storvsp *c);
OVB_API
bool ovb_storvsp_is_ide(const struct ovb_storvsp *c);

/**
 * Free a controller and close its backends.  Every partition that saw it
 * must be gone (ovb_server_destroy or partitions destroyed) first.
 */
OVB_API
void ovb_storvsp_destroy(struct ovb_storvsp *c);

#endif /* OPENVMBUS_STORVSP_H */
