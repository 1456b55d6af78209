/* SPDX-License-Identifier: MIT */
/*
 * The storage pair: a server with a storvsp SCSI controller over RAM disks
 * (and optionally an IDE disk), a client with both storvsc drivers, joined
 * by the inproc link.  Plus a "gate" backend that holds requests until the
 * test opens it, for timeouts and host death with I/O in flight.
 */
#ifndef OPENVMBUS_TESTS_STORAGE_FX_H
#define OPENVMBUS_TESTS_STORAGE_FX_H

#include <pthread.h>

#include "openvmbus/link.h"
#include "openvmbus/storvsc.h"
#include "openvmbus/storvsp.h"
#include "tests/lib/dispatch-fx.h"

#define SFX_DISK (8u << 20) /* bytes per RAM LUN */

struct sfx_opts {
	unsigned int nluns;        /**< SCSI LUNs 0..n-1 (default 2) */
	bool ide;                  /**< also an IDE disk */
	bool no_scsi;              /**< no SCSI controller */
	uint16_t host_max_version; /**< storvsp cfg.max_version */
	uint16_t guest_max_version;
	unsigned int subchannels;  /**< guest asks for (default 0) */
	unsigned int host_subs;    /**< host offers at most (default 4) */
	unsigned int depth;        /**< host in-flight per channel */
	int timeout_ms;            /**< guest request timeout */
	uint32_t vmbus_max;        /**< server max VMBus version */
	bool gated;                /**< LUN 0 sits on the gate backend */
	uint32_t guest_poll_us;    /**< storvsc cfg.poll_us */
	uint32_t host_poll_us;     /**< storvsp cfg.poll_us (SCSI and IDE) */
	uint32_t host_spin_us;     /**< storvsp cfg.spin_us (SCSI) */
	bool host_stream;          /**< storvsp cfg.stream_spin (SCSI) */
	unsigned int host_answer_every; /**< storvsp cfg.answer_every (SCSI) */
	bool remote;               /**< SCSI LUNs say they are remote (ovb_blk.remote) */
	struct ovb_blk *lun0;      /**< SCSI LUN 0's backend instead of a RAM
				    *   disk (the pair closes it) */
	uint32_t guest_ring_bytes; /**< storvsc cfg.ring_bytes (default 128 KiB) */
	bool no_connect;
	bool no_drivers;           /**< register no storvsc driver */
	bool caller_dispatch;      /**< caller-driven server (dispatch-fx.h) */
};

struct sfx {
	struct ovb_server *srv;
	struct ovb_storvsp *scsi, *ide;
	struct ovb_blk *blk[8];    /**< SCSI LUN i's RAM disk */
	struct ovb_blk *ide_blk;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct ovb_storvsc_set set;
	int changes;               /**< on_change calls (atomic) */
	struct dfx_loop *loop;     /**< caller-driven server's loop, or NULL */
};

struct sfx *sfx_new(const struct sfx_opts *o);
void sfx_free(struct sfx *f);
/** The first SCSI (or IDE) controller the guest bound; asserts. */
struct ovb_storvsc *sfx_ctl(struct sfx *f, bool ide);

/** Counters of a set of channels, summed, and their mask state. */
struct sfx_chans {
	struct ovb_chan_stats st;  /**< sums */
	unsigned int n;            /**< open channels */
	unsigned int peer_masked;  /**< host side: guest's mask set on them */
	unsigned int host_masked;  /**< host side: the host's own mask set */
};

/** The host's storvsp channels (every controller), as the server sees them. */
void sfx_host_chans(struct sfx *f, struct sfx_chans *out);
/** The guest's channels of controller @s. */
void sfx_guest_chans(struct ovb_storvsc *s, struct sfx_chans *out);
/** Packets the guest sent on each channel of @s, up to @max; returns how
 * many channels. */
unsigned int sfx_guest_chan_pkts(struct ovb_storvsc *s, uint64_t *out,
				 unsigned int max);

/** A RAM disk of @size bytes and @bs blocks; asserts. */
struct ovb_blk *sfx_ram(uint64_t size, uint32_t bs);

/** Wrap a RAM disk so that requests wait while the gate is closed. */
void sfx_gate_wrap(struct ovb_blk *blk);
void sfx_gate_close(void);
/** Open the gate: held requests go to the RAM disk and complete. */
void sfx_gate_open(void);
/** Requests held right now. */
int sfx_gate_held(void);


/** A byte pattern of @seed over @n bytes. */
void sfx_fill(uint8_t *p, size_t n, unsigned int seed);
/** Write, flush and read back @len bytes at @off through the guest; with
 * @blk (a RAM disk) also check the bytes the host holds. */
void sfx_rw_check(struct sfx *f, struct ovb_storvsc *s, uint16_t lun,
		  struct ovb_blk *blk, uint64_t off, size_t len,
		  unsigned int seed);
/** One request of a flight: its result, and a count and condvar shared by
 * the flight (sfx_flight_done decrements and broadcasts). */
struct sfx_flight {
	struct ovb_storvsc_io io;
	int64_t res;
	int *left;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

void sfx_flight_done(struct ovb_storvsc_io *io, int64_t res);

/** Wait until no request of a flight is left (*@left == 0), 30 s at
 * most: a flight that never ends fails the test, not its timeout. */
#define SFX_FLIGHT_WAIT_MS 30000
void sfx_flight_wait(int *left, pthread_mutex_t *lock, pthread_cond_t *cond);
/** Submit @n 4 KiB READs of LUN 0 at 0, 4096, ... into @buf, one flight:
 * @fl[i] shares @left (n, set by the caller), @lock and @cond. */
void sfx_reads_start(struct ovb_storvsc *s, struct sfx_flight *fl, int n,
		     uint8_t *buf, int *left, pthread_mutex_t *lock,
		     pthread_cond_t *cond);

/** Submit @n writes of @len bytes spread over LUNs 0 and 2, wait, and
 * check each result and the RAM disks. */
void sfx_flight_run(struct sfx *f, struct ovb_storvsc *s, int n, size_t len);

/* A request of the polling tests: its result, and where done() ran. */
struct sfx_io {
	struct ovb_storvsc_io io;
	int64_t res;
	bool done; /* atomic */
};

/** Set by a thread that polls with its own loop ... */
extern __thread bool sfx_in_poller;
/** ... counted here (atomic) each time sfx_io_done() runs on one. */
extern int sfx_dones_on_pollers;

/** done() of an sfx_io: records @res, then sets done. */
void sfx_io_done(struct ovb_storvsc_io *io, int64_t res);

/** Fill @p (zeroed first) and submit it; fails the test if refused. */
void sfx_io_submit(struct ovb_storvsc *s, struct sfx_io *p,
		   enum ovb_storvsc_op op, uint16_t lun, uint64_t off,
		   void *buf, uint64_t len, bool fua);

/** CLOCK_MONOTONIC in milliseconds. */
uint64_t sfx_now_ms(void);

#endif
