/* SPDX-License-Identifier: MIT */
/*
 * netvsp: the host side of the synthetic NIC (class
 * f8615163-df3e-46c5-913f-f2d2f965ed0e).  One netvsp instance serves one
 * virtual switch: every guest partition gets one NIC on it, which speaks
 * NVSP 1 to 6.1 and an RNDIS device over its channel and sub-channels, and
 * is one port of the switch.  Layer: devices.  Spec: docs/wire.md B9,
 * Linux drivers/net/hyperv (the guest it must satisfy).
 *
 * Threads: NVSP and RNDIS requests are handled on each channel's worker
 * (or a worker shared by several channels, cfg.workers);
 * frames for a guest arrive on whatever thread fed the switch and are
 * copied into the guest's receive buffer there without blocking (a full
 * receive buffer or ring drops the frame and counts it).
 */
#ifndef OPENVMBUS_NETVSP_H
#define OPENVMBUS_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "server.h"
#include "vsp.h"
#include "vswitch.h"

/** Channels per NIC (primary + sub-channels) we offer at most. */
#define OVB_NETVSP_MAX_CHANNELS 8u

/** Largest MTU (L3 payload bytes) a switch may have. */
#define OVB_NETVSP_MAX_MTU 9000u

struct ovb_netvsp;

/** Which host threads run the NICs' channels. */
enum ovb_netvsp_workers {
	/** a worker thread per channel (the default) */
	OVB_NETVSP_WORKERS_PER_CHANNEL = 0,
	/** one shared worker per queue index: queue N of every NIC of this
	 *  switch on one thread (ovb_chan_group) */
	OVB_NETVSP_WORKERS_SHARED,
	/** one shared worker for every channel of every NIC */
	OVB_NETVSP_WORKERS_ONE,
};

struct ovb_netvsp_cfg {
	const char *name;           /**< switch name for logs ("sw0") */
	struct ovb_vswitch *sw;     /**< the switch NICs join (not owned) */
	uint32_t mtu;               /**< 68..9000; 0: 1500 */
	uint8_t mac_id;             /**< MAC byte 3: 00:15:5d:ID:PART:0 */
	unsigned int max_channels;  /**< 1..8; 0: 8 */
	bool link_down;             /**< start with the link down */
	/** backpressure: how long delivery waits for a guest's receive
	 *  completions before it drops (and counts); 0: 50 ms */
	unsigned int rx_wait_ms;
	/** polling mode for every channel (ovb_chan_set_poll): the worker
	 *  spins this long after each drain, so that a polling guest's ring
	 *  writes (DPDK's netvsc PMD) are seen without a signal; 0: interrupt
	 *  mode with adaptive spinning */
	uint32_t poll_us;
	/** how the host runs the channels; a caller-driven server's
	 *  channels stay on the embedder's threads whatever this says */
	enum ovb_netvsp_workers workers;
	/** bytes per receive-buffer sub-allocation (the sub_alloc_size
	 *  offered in SEND_RECV_BUF_COMPLETE), rounded up to 64 and raised
	 *  to what one frame of the MTU needs; small frames share one, a
	 *  coalesced frame takes one range per sub-allocation; at most
	 *  262144.  0: 16384 for a receive buffer of 1 MiB or more, else
	 *  the MTU's frame with its header (1728 at 1500) (docs/compat.md) */
	uint32_t rx_slot;
};

/** Counters over every NIC of one netvsp (monotonic). */
struct ovb_netvsp_stats {
	uint64_t nics;          /**< NICs whose primary channel is open */
	uint64_t to_guest;      /**< frames copied into a receive buffer */
	uint64_t to_guest_bytes;
	uint64_t no_buffer;     /**< frames dropped: receive buffer/ring full */
	uint64_t from_guest;    /**< frames a guest sent into the switch */
	uint64_t from_guest_bytes;
	uint64_t bad;           /**< malformed or refused guest requests */
	/** frames dropped for an offload request that does not fit them
	 *  (LSO MSS 0 or below OVB_OFFLOAD_MIN_MSS, less payload than one
	 *  segment, headers past the frame, checksum PPIs on short frames) */
	uint64_t offload_dropped;
	/** receive completions for a slot the guest did not hold
	 *  (duplicates, unknown transaction ids): ignored */
	uint64_t bad_completions;
	uint64_t to_guest_batches; /**< transfer-page packets of frames */
	uint64_t coalesced;  /**< TSO frames delivered whole (RSC) */
	uint64_t segmented;  /**< TSO frames cut into segments for a guest */
	/** backpressure waits for the guest's completions that ran out
	 *  (NETVSP_RX_WAIT_MS) */
	uint64_t wait_timeouts;
	/** trips to the receive-slot allocator that took slots: about one
	 *  per batch while batches keep their size, one per frame before */
	uint64_t slot_takes;
	/** times a delivery short of receive slots took the guest's
	 *  completions from its rings itself and found some: a shared
	 *  worker (it must not sleep waiting for itself), or a worker of
	 *  its own, its ring lent meanwhile (the receiver's worker may be
	 *  waiting for it in turn) */
	uint64_t reaps;
};

/**
 * Create a netvsp for @cfg->sw.  Register it with ovb_netvsp_register()
 * before partitions join.  Returns 0, -EINVAL (bad MTU or channels),
 * -ENOMEM.
 */
OVB_API
int ovb_netvsp_create(const struct ovb_netvsp_cfg *cfg,
		      struct ovb_netvsp **out);

/** Register with a server: every partition gets one NIC.  0 or -ENOSPC. */
OVB_API
int ovb_netvsp_register(struct ovb_netvsp *vsp, struct ovb_server *srv);

/** Free; every partition must be gone. */
OVB_API
void ovb_netvsp_destroy(struct ovb_netvsp *vsp);

/**
 * Set the link state of every NIC of this netvsp; guests with an
 * initialised RNDIS device get MEDIA_CONNECT / MEDIA_DISCONNECT.  While the
 * link is down no frames reach or leave the guests.  Any thread.
 */
OVB_API
void ovb_netvsp_set_link(struct ovb_netvsp *vsp, bool up);

/** The current link state. */
OVB_API
bool ovb_netvsp_link(const struct ovb_netvsp *vsp);

/** Copy the counters. */
OVB_API
void ovb_netvsp_get_stats(struct ovb_netvsp *vsp, struct ovb_netvsp_stats *st);

/** The ops netvsp registers (for tests that look at offers). */
OVB_API
extern const struct ovb_vsp_ops ovb_netvsp_ops;

#endif /* OPENVMBUS_NETVSP_H */
