/* SPDX-License-Identifier: MIT */
/*
 * storvsc: the guest's synthetic storage driver (SCSI and IDE flavours)
 * and its block client API.  Layer: devices.  Front ends (the FUSE disk,
 * the fio engine) use only this header.
 *
 * The driver negotiates VSTOR newest first (6.2 down to 2.0), asks for
 * sub-channels and spreads requests over them, keeps a tagged queue with
 * completion by transaction id, escalates a timeout to RESET_LUN and then
 * RESET_ADAPTER, rescans on ENUMERATE_BUS, decodes CHECK CONDITION into
 * errno values and validates everything the host sends.
 *
 * Threads: ovb_storvsc_submit() may be called from any thread.  Completion
 * callbacks must not block; they run on whichever thread drains the
 * channel that carried the answer: a channel worker, or a thread inside
 * ovb_storvsc_poll() (caller polling), or, with cfg.poll_us set, a thread
 * inside ovb_storvsc_sync() -- which may run other requests' callbacks
 * too.  A request that gives up after the resets completes with
 * -ETIMEDOUT on the controller's service thread; when the host goes away,
 * pending requests complete with -ECONNRESET on the thread that noticed.
 *
 * Modes: interrupt mode by default (workers sleep until the host
 * signals).  cfg.poll_us selects polling mode: every channel worker spins
 * that long with the host's signals masked before it sleeps (and stops
 * spinning while a caller polls), and ovb_storvsc_sync() drains the
 * channels itself for that long before it sleeps.  Caller polling works
 * in either mode.
 */
#ifndef OPENVMBUS_STORVSC_H
#define OPENVMBUS_STORVSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "client.h"
#include "vsc.h"

struct ovb_storvsc;

/** Driver configuration (the ctx given with the driver). */
struct ovb_storvsc_cfg {
	uint32_t ring_bytes;      /**< per channel, each way (default 256 KiB) */
	unsigned int subchannels; /**< sub-channels to ask for (default 1) */
	/**
	 * Deadline of every request, in ms (default 30000): a request the
	 * host has not answered after a third of it brings RESET_LUN, after
	 * two thirds RESET_ADAPTER, and at the deadline it fails with
	 * -ETIMEDOUT.  If the host did not answer the resets either, the
	 * controller goes offline (see on_fail).
	 */
	int timeout_ms;
	uint16_t max_version;     /**< 0: newest (6.2) */
	/**
	 * Polling mode: microseconds each channel worker (primary and
	 * sub-channels) spins before it sleeps, and ovb_storvsc_sync()
	 * polls for its answer before it sleeps.  0: interrupt mode.
	 */
	uint32_t poll_us;
};

#define OVB_STORVSC_MAX 8

/** The driver context: every controller it bound. */
struct ovb_storvsc_set {
	struct ovb_storvsc_cfg cfg;
	struct ovb_storvsc *ctl[OVB_STORVSC_MAX];
	unsigned int n;
	/** Called (any thread) when LUNs appear or disappear. */
	void (*on_change)(struct ovb_storvsc *s, void *ctx);
	/**
	 * Called once per controller, on its service thread, when a request
	 * gave up after resets that went unanswered too (@err -ETIMEDOUT):
	 * the host stopped answering.  From then on the controller is
	 * offline: submits fail with -EIO at once.  May be NULL.
	 */
	void (*on_fail)(struct ovb_storvsc *s, int err, void *ctx);
	void *ctx;
};

/** Bind with ovb_client_register_driver(cl, &drv, &set). */
OVB_API
extern const struct ovb_vsc_driver ovb_storvsc_scsi_driver;
OVB_API
extern const struct ovb_vsc_driver ovb_storvsc_ide_driver;

/** One logical unit as READ CAPACITY and INQUIRY describe it. */
struct ovb_storvsc_lun {
	uint8_t path, target;
	uint16_t lun;
	uint64_t blocks;      /**< logical blocks */
	uint32_t block_size;  /**< 512 or 4096 */
	bool read_only;       /**< MODE SENSE write-protect bit */
	bool can_discard;     /**< READ CAPACITY(16) LBPME and LBPRZ */
	char vendor[9], product[17], serial[64];
};

/** "scsi0", "ide0" ... */
OVB_API
const char *ovb_storvsc_name(const struct ovb_storvsc *s);
OVB_API
bool ovb_storvsc_is_ide(const struct ovb_storvsc *s);
/** Negotiated VSTOR version (major << 8 | minor). */
OVB_API
uint16_t ovb_storvsc_version(const struct ovb_storvsc *s);
/** Open channels (primary + sub-channels). */
OVB_API
unsigned int ovb_storvsc_channels(const struct ovb_storvsc *s);
/**
 * Wait until every channel the controller will have is open: the primary
 * and the sub-channels the host grants -- the cfg.subchannels asked for,
 * cut to the host's max_channel_count (or to a smaller count the host
 * names in its CREATE_SUB_CHANNELS answer), none if it refused them or
 * offers no multi-channel (IDE, old VSTOR or VMBus).  Ends as soon as
 * that is known and open, or at @timeout_ms.  @expect (may be NULL) gets
 * the channels expected, primary included (0: the host has not answered
 * CREATE_SUB_CHANNELS yet).  Returns the open channels (>= 1), -ETIMEDOUT
 * (fewer open: ovb_storvsc_channels() says how many) or -ECONNRESET (the
 * controller was removed).  Blocks; not on the client's work thread
 * (sub-channels open there).
 */
OVB_API
int ovb_storvsc_wait_channels(struct ovb_storvsc *s, int timeout_ms,
			      unsigned int *expect);
/**
 * True once the controller can do no I/O: its primary channel failed
 * (the host broke the ring or a packet) or it was removed.  A scan that
 * found no LUNs then says nothing about the disks.  Any thread.
 */
OVB_API
bool ovb_storvsc_failed(struct ovb_storvsc *s);

/** Snapshot of the LUNs: fills up to @max, returns the count. */
OVB_API
size_t ovb_storvsc_luns(struct ovb_storvsc *s, struct ovb_storvsc_lun *out,
			size_t max);

enum ovb_storvsc_op {
	OVB_STORVSC_READ,
	OVB_STORVSC_WRITE,
	OVB_STORVSC_FLUSH,   /**< SYNCHRONIZE CACHE */
	OVB_STORVSC_DISCARD, /**< UNMAP */
};

/** One block request; the caller owns it until done() runs. */
struct ovb_storvsc_io {
	enum ovb_storvsc_op op;
	uint16_t lun;
	uint64_t offset;  /**< bytes, a multiple of the block size */
	uint64_t len;     /**< bytes, a multiple of the block size */
	void *buf;        /**< guest memory (ovb_storvsc_alloc) for READ/WRITE */
	bool fua;         /**< WRITE: force unit access */
	/**
	 * @res: bytes transferred, or -EIO (medium/host error), -EROFS (data
	 * protect), -EINVAL (illegal request), -ENXIO (no such LUN),
	 * -ETIMEDOUT (reset did not help), -ECONNRESET (host gone, or
	 * ovb_storvsc_abort()).
	 */
	void (*done)(struct ovb_storvsc_io *io, int64_t res);
	void *ctx;
	/* private to storvsc */
	uint64_t priv[8];
};

/**
 * Submit asynchronously.  Returns 0 (done() will run exactly once) or
 * -EINVAL (unaligned, out of guest memory), -ENXIO, -ECONNRESET, -EIO
 * (the controller is offline: the host stopped answering).
 */
OVB_API
int ovb_storvsc_submit(struct ovb_storvsc *s, struct ovb_storvsc_io *io);

/**
 * Submit @n requests as one batch: their SRBs go on one channel and reach
 * the host with one ring index update and at most one signal (more only
 * when the ring fills midway: what is staged then goes out, and the rest
 * waits for room as ovb_storvsc_submit() would).  @err[i] gets what
 * ovb_storvsc_submit() would have returned for @ios[i]: 0 (its done()
 * will run) or -errno (it was not submitted; the others still were).
 * Returns how many were submitted.  Any thread, like ovb_storvsc_submit().
 */
OVB_API
unsigned int ovb_storvsc_submit_many(struct ovb_storvsc *s,
				     struct ovb_storvsc_io *const *ios,
				     unsigned int n, int *err);

/**
 * Synchronous wrapper: returns bytes or -errno as done() would.  With
 * cfg.poll_us set it polls the channels on the calling thread (a bounded
 * spin of poll_us, then it sleeps until a worker completes the request).
 * Never from a done() callback.
 */
OVB_API
int64_t ovb_storvsc_sync(struct ovb_storvsc *s, enum ovb_storvsc_op op,
			 uint16_t lun, uint64_t offset, void *buf,
			 uint64_t len, bool fua);

/**
 * Caller polling: drain every channel of @s on the calling thread and run
 * the completions (done() callbacks) here.  Returns the done() callbacks
 * of @s's requests that ran on this thread during the call (>= 0; never
 * another controller's), or -ECONNRESET when the host is gone.  Cheap
 * when nothing is there.  Call ovb_storvsc_poll_end() before the thread
 * stops polling and sleeps.
 *
 * Several threads may poll one controller at once; each channel is drained
 * by one of them at a time, so a thread may run other threads' done()
 * callbacks.  Polling masks the host's signals on the channels, and the
 * workers stop spinning while a caller polls; ovb_storvsc_poll_end()
 * unmasks them so that the workers take over again.  Neither call may be
 * made from a done() callback.
 */
OVB_API
int ovb_storvsc_poll(struct ovb_storvsc *s);
OVB_API
void ovb_storvsc_poll_end(struct ovb_storvsc *s);

/**
 * Caller polling, asleep: after an ovb_storvsc_poll() that found nothing,
 * wait up to @timeout_ms (-1: no limit) for the host's next signal on a
 * channel of @s, or for @fd (the caller's eventfd, written by its done()
 * callbacks when they run on a worker; -1: none), with the workers kept
 * asleep: one wake-up, this thread's, per completion batch
 * (ovb_chan_poll_sleep).  Then poll again.  ovb_storvsc_poll_end() hands
 * the channels back.  Sleeps 50 ms at most (a sub-channel's removal
 * waits for it), so a caller loops.  Returns >= 0, or -ECONNRESET when
 * the host is gone.
 */
OVB_API
int ovb_storvsc_poll_sleep(struct ovb_storvsc *s, int fd, int timeout_ms);

/**
 * Give up on everything in flight: every pending request completes now
 * with -ECONNRESET (late answers are dropped) and the controller goes
 * offline.  For a shutdown that must not wait on a silent host.  Any
 * thread but a done() callback.
 */
OVB_API
void ovb_storvsc_abort(struct ovb_storvsc *s);

/**
 * Hold controller @i of @set, so that a rescind on the client's worker
 * cannot free it while the caller still uses it.  A rescinded controller
 * stays valid but offline (submits fail with -EIO at once) until the last
 * ovb_storvsc_put().  Returns 0 and the controller in @out, or -ENODEV
 * when @set has no controller @i (any more).  Any thread.
 */
OVB_API
int ovb_storvsc_get(struct ovb_storvsc_set *set, unsigned int i,
		    struct ovb_storvsc **out);

/**
 * One more hold on @s, which the caller already holds (ovb_storvsc_get):
 * for an object that outlives the caller's use, such as a buffer freed
 * through @s later.  Any thread.
 */
OVB_API
void ovb_storvsc_hold(struct ovb_storvsc *s);

/** Release a hold from ovb_storvsc_get(); the client must still exist. */
OVB_API
void ovb_storvsc_put(struct ovb_storvsc *s);

/** Guest memory for data buffers (page aligned). */
OVB_API
void *ovb_storvsc_alloc(struct ovb_storvsc *s, size_t len);
OVB_API
void ovb_storvsc_free(struct ovb_storvsc *s, void *buf, size_t len);

/** Largest transfer one request may carry (from QUERY_PROPERTIES). */
OVB_API
uint64_t ovb_storvsc_max_transfer(const struct ovb_storvsc *s);

#endif /* OPENVMBUS_STORVSC_H */
