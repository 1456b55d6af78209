/* SPDX-License-Identifier: MIT */
/*
 * The fault engine's hooks in the bus (src/bus/fault.c), beside the
 * capture's (capture_hook.h) and at the same places: where the server
 * hands a channel message to the link, and where a host channel frames a
 * ring packet, and where netvsp writes an RNDIS message into a guest's
 * receive buffer.  Each call site tests OVB_FAULT_ON() first.  Layer: bus.
 * Private: internal symbols of the library, never exported.
 */
#ifndef OVB_BUS_FAULT_HOOK_H
#define OVB_BUS_FAULT_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "openvmbus/fault.h"

struct ovb_partition;
struct ovb_chan;

/** Faults armed in this process (0 when none); read relaxed. */
extern int ovb__fault_on;

#define OVB_FAULT_ON()                                                        \
	__builtin_expect(__atomic_load_n(&ovb__fault_on, __ATOMIC_RELAXED), 0)

/**
 * netvsp wrote an RNDIS message of @len bytes at @msg, in a guest's
 * receive buffer, and will announce it on host channel @chan: the
 * rndis-lie fault may rewrite its header in place.
 */
void ovb__fault_rndis(struct ovb_chan *chan, void *msg, size_t len);

/**
 * Send a channel message to @part's guest as the server would, with no
 * fault applied (server.c).  The fault engine sends through it.
 */
int ovb__srv_send_raw(struct ovb_partition *part, const void *msg,
		      size_t len);

/**
 * A channel message for @part's guest: the faults may change, drop,
 * precede or follow it.  Sends what is left; returns what the link said.
 */
int ovb__fault_msg(struct ovb_partition *part, const void *msg, size_t len);

/** What the faults did to one host->guest ring packet. */
struct ovb_fault_pkt {
	struct iovec iov;  /**< the packet to write instead, if buf */
	void *buf;         /**< owned copy of the changed packet, or NULL */
	bool drop;         /**< do not write it; the sender sees success */
	bool scribble;     /**< after the write: corrupt the ring's indices */
};

/**
 * A packet about to be written to host channel @chan (framed in @iov,
 * @n vectors, @total bytes).  Returns true if @f says to change
 * something.  Called with no channel lock held.
 */
bool ovb__fault_pkt(struct ovb_chan *chan, const struct iovec *iov, int n,
		    size_t total, struct ovb_fault_pkt *f);

/**
 * After the write (@rc its result): free @f's copy, and scribble on the
 * ring if asked.  Returns true if the peer should be signalled again.
 */
bool ovb__fault_pkt_done(struct ovb_chan *chan, struct ovb_fault_pkt *f,
			 int rc);

#endif
