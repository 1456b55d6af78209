/* SPDX-License-Identifier: MIT */
/*
 * A learning L2 virtual switch joining synthetic NICs (netvsp ports), TAP
 * uplinks and anything else that moves Ethernet frames.  It learns source
 * MACs per port, forwards unicast to the learned port, floods broadcast,
 * multicast and unknown unicast to every other port, never sends a frame
 * back out of its ingress port, ages MAC entries, and keeps per-port
 * counters.  Each port states which offloads its receiver takes; for a port
 * that lacks one the switch does the work in software (checksums, TSO
 * segmentation, VLAN tag insertion, see offload.h) before delivery.
 * Layer: devices (no VMBus knowledge).  Behaviour follows IEEE 802.1D
 * transparent bridging, without spanning tree or VLAN-aware forwarding.
 *
 * Threading: ovb_vswitch_input() may run concurrently on any number of
 * threads (one per port or queue).  Ports live under a reader-preferring
 * rwlock held for reading across a whole input, deliveries included; MAC
 * lookups are lock-free and only learning a new or moved MAC takes a
 * mutex.  A transmit callback may call ovb_vswitch_input() (also on this
 * switch) but must not add or remove ports.  Once ovb_vswitch_port_remove()
 * returns, that port's callback is never called again.
 */
#ifndef OPENVMBUS_VSWITCH_H
#define OPENVMBUS_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "offload.h"

#define OVB_VSWITCH_MAX_PORTS 64u

/* Port capabilities: what the port's receiver accepts as is. */
#define OVB_VSWITCH_CAP_CSUM 0x01u /**< frames with checksums pending */
#define OVB_VSWITCH_CAP_TSO4 0x02u /**< TSO frames over IPv4 */
#define OVB_VSWITCH_CAP_TSO6 0x04u /**< TSO frames over IPv6 */
#define OVB_VSWITCH_CAP_VLAN 0x08u /**< VLAN tag in metadata, not in frame */

struct ovb_vswitch;

/**
 * Deliver one frame to a port.  @frame is valid only during the call.
 * Returns >= 0 on success or a negative errno (counted as a tx drop).
 */
typedef int ovb_vswitch_tx_fn(void *ctx, const void *frame, size_t len,
			      const struct ovb_net_meta *meta);

/**
 * Deliver one frame given in two pieces: @hdr holds its first @hlen bytes
 * (all of its headers), @rest the other @rest_len (for example payload in
 * the sending guest's memory, which may change under the call: data, not
 * headers).  Both are valid only during the call.  Returns as
 * ovb_vswitch_tx_fn.
 */
typedef int ovb_vswitch_txv_fn(void *ctx, const void *hdr, size_t hlen,
			       const void *rest, size_t rest_len,
			       const struct ovb_net_meta *meta);

/**
 * Hand over what the port's receiver holds back (see
 * ovb_vswitch_port_set_flush).  Called with no switch lock held by the
 * caller's own thread; may run concurrently with deliveries.
 */
typedef void ovb_vswitch_flush_fn(void *ctx);

/** One frame of a run (ovb_vswitch_input_run); @meta may be NULL. */
struct ovb_vswitch_frame {
	const void *frame;
	size_t len;
	const struct ovb_net_meta *meta;
};

/** The most frames one run may hold. */
#define OVB_VSWITCH_RUN_MAX 64u

/**
 * Deliver a run of @n frames (1..OVB_VSWITCH_RUN_MAX) to a port, in
 * order.  The switch hands a port only frames that share their
 * destination and source MACs and need no software fallback for the
 * port's capabilities (their @meta is never NULL); everything else about
 * them (lengths, headers past the MACs, metadata) may differ.  The frames
 * are valid only during the call.  Returns a mask with bit i set for
 * each frame i that was dropped (counted as a tx drop), 0 when all were
 * delivered (or filtered, which is not an error).
 */
typedef uint64_t ovb_vswitch_txn_fn(void *ctx,
				    const struct ovb_vswitch_frame *frames,
				    unsigned int n);

/** A monotonic clock in milliseconds (tests inject one to test aging). */
typedef uint64_t ovb_vswitch_clock_fn(void *ctx);

struct ovb_vswitch_config {
	uint32_t aging_ms;           /**< MAC entry lifetime; 0: 300 s */
	uint32_t fdb_entries;        /**< power of 2 >= 4; 0: 4096 */
	ovb_vswitch_clock_fn *clock; /**< NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
};

/** Counters of one port; "rx" is into the switch, "tx" out to the port. */
struct ovb_vswitch_port_stats {
	uint64_t rx_packets; /**< frames the port sent into the switch */
	uint64_t rx_bytes;
	uint64_t rx_drops;   /**< input refused: runt or bad source MAC */
	uint64_t floods;     /**< input frames flooded to all other ports */
	uint64_t tx_packets; /**< frames (or segments) delivered to the port */
	uint64_t tx_bytes;
	uint64_t tx_drops;   /**< deliveries that failed */
};

/**
 * Create a switch; @cfg may be NULL for defaults.
 * Returns 0, -EINVAL for a bad table size, or -ENOMEM.
 */
OVB_API
int ovb_vswitch_create(const struct ovb_vswitch_config *cfg,
		       struct ovb_vswitch **out);

/** Destroy a switch.  No other call may be running or start. */
OVB_API
void ovb_vswitch_destroy(struct ovb_vswitch *sw);

/**
 * Add a port named @name (for logs) whose receiver takes @caps
 * (OVB_VSWITCH_CAP_*) and is reached through @tx(@ctx, ...).  Stores the
 * port number in @port.  May block while inputs are in flight.
 * Returns 0, -EINVAL, or -ENOSPC when all OVB_VSWITCH_MAX_PORTS are used.
 */
OVB_API
int ovb_vswitch_port_add(struct ovb_vswitch *sw, const char *name,
			 uint32_t caps, ovb_vswitch_tx_fn *tx, void *ctx,
			 unsigned int *port);

/**
 * Let a port's receiver hold frames back and deliver them together: after
 * a delivery the switch calls @flush once the input (or the caller's batch,
 * ovb_vswitch_batch_begin) ends.  Without one the port's transmit callback
 * must deliver at once.  Returns 0 or -ENODEV.
 */
OVB_API
int ovb_vswitch_port_set_flush(struct ovb_vswitch *sw, unsigned int port,
			       ovb_vswitch_flush_fn *flush);

/**
 * Let a port take frames in two pieces (ovb_vswitch_input_split) through
 * @txv when it needs no software fallback for them; other frames still go
 * through its transmit callback.  Returns 0 or -ENODEV.
 */
OVB_API
int ovb_vswitch_port_set_txv(struct ovb_vswitch *sw, unsigned int port,
			     ovb_vswitch_txv_fn *txv);

/**
 * Let a port take runs of frames (ovb_vswitch_input_run) through @txn;
 * without one, a run reaches the port one frame at a time through its
 * transmit callback.  Returns 0 or -ENODEV.
 */
OVB_API
int ovb_vswitch_port_set_txn(struct ovb_vswitch *sw, unsigned int port,
			     ovb_vswitch_txn_fn *txn);

/**
 * Open a batch of inputs on the calling thread: ports that deliver with a
 * flush callback are flushed once, by ovb_vswitch_batch_end(), instead of
 * after every input.  Nests; only the outermost end flushes.  A batch on
 * one switch does not hold back inputs on another.
 */
OVB_API
void ovb_vswitch_batch_begin(struct ovb_vswitch *sw);

/**
 * Close the calling thread's batch; the outermost end flushes, and adds
 * the counts the batch kept on the thread to the ports' counters.
 */
OVB_API
void ovb_vswitch_batch_end(struct ovb_vswitch *sw);

/**
 * Remove a port and forget the MACs learned on it.  Waits for inputs in
 * flight.  Must not be called from a transmit callback.
 * Returns 0 or -ENODEV.
 */
OVB_API
int ovb_vswitch_port_remove(struct ovb_vswitch *sw, unsigned int port);

/**
 * Switch one frame that arrived on @port.  @meta may be NULL (a plain
 * frame).  Learns the source MAC, then delivers to the learned port of the
 * destination, or floods.  Returns the number of ports the frame reached
 * (0 when it was filtered, e.g. destined back to @port), -ENODEV for an
 * unknown port, or -EBADMSG for a runt frame or a multicast or all-zero
 * source MAC (counted as an rx drop).
 */
OVB_API
int ovb_vswitch_input(struct ovb_vswitch *sw, unsigned int port,
		      const void *frame, size_t len,
		      const struct ovb_net_meta *meta);

/**
 * ovb_vswitch_input() for a frame in two pieces: @hdr, its first @hlen
 * bytes (at least the Ethernet header; for a TSO frame all its headers),
 * and @rest, the other @rest_len.  A port with a txv callback
 * (ovb_vswitch_port_set_txv) that takes the frame as it is gets the
 * pieces unjoined; every other port, and every software fallback, gets
 * one joined copy, made at most once per input.  Same returns, and
 * -EBADMSG also for @hlen below 14.
 */
OVB_API
int ovb_vswitch_input_split(struct ovb_vswitch *sw, unsigned int port,
			    const void *hdr, size_t hlen, const void *rest,
			    size_t rest_len, const struct ovb_net_meta *meta);

/**
 * Switch a run of @n frames that arrived on @port, in order: what
 * ovb_vswitch_input() does to each, with the work shared along the run.
 * Consecutive frames with the same destination and source MACs are one
 * forward: the source is learned and the destination looked up once, the
 * counters added once, and a port with a run callback
 * (ovb_vswitch_port_set_txn) gets them in one call (a frame that needs a
 * software fallback there goes alone, through the port's transmit
 * callback).  A change of either MAC starts a new forward.  The whole run
 * is one input for the locking contract (a port removal waits for it).
 * Stores each frame's result, as ovb_vswitch_input() would return it, in
 * @res[i] when @res is not NULL.  Returns the number of frames the
 * switch took (not refused as runts or bad sources), -ENODEV for an
 * unknown port, or -EINVAL for @n above OVB_VSWITCH_RUN_MAX.
 */
OVB_API
int ovb_vswitch_input_run(struct ovb_vswitch *sw, unsigned int port,
			  const struct ovb_vswitch_frame *frames,
			  unsigned int n, int *res);

/**
 * Copy a port's counters.  Exact for every input that has returned outside
 * a batch; inside one (ovb_vswitch_batch_begin) the frames that follow the
 * batch's previous unicast path are counted once that path changes or the
 * batch ends.  Returns 0 or -ENODEV.
 */
OVB_API
int ovb_vswitch_port_stats(struct ovb_vswitch *sw, unsigned int port,
			   struct ovb_vswitch_port_stats *st);

/**
 * Find the port a MAC was learned on (entries past their age count as
 * gone).  Returns 0 and stores the port, or -ENOENT.
 */
OVB_API
int ovb_vswitch_lookup(struct ovb_vswitch *sw, const uint8_t mac[6],
		       unsigned int *port);

/** Drop every MAC entry past its age; returns how many were dropped. */
OVB_API
unsigned int ovb_vswitch_age(struct ovb_vswitch *sw);

#endif /* OPENVMBUS_VSWITCH_H */
