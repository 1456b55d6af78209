/* SPDX-License-Identifier: MIT */
/*
 * Test hooks of the inproc link: a hostile guest or host made of raw
 * bytes, a frozen host, and observers of what crosses the link.  Layer:
 * link.  Private: for tests, fuzzers and benchmarks, which link the
 * static library; not part of the API (include/openvmbus/link.h is).
 */
#ifndef OVB_LINK_INPROC_TEST_H
#define OVB_LINK_INPROC_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvmbus/link.h"

/** Hostile guest: post raw bytes to the server as HvPostMessage would. */
int ovb_inproc_guest_post(struct ovb_inproc *l, uint32_t conn_id,
			  const void *msg, size_t len);

/** Hostile host: deliver raw bytes to the client as a SynIC message. */
int ovb_inproc_host_send(struct ovb_inproc *l, const void *msg, size_t len);

/**
 * A frozen host, as SIGSTOP makes one over the socket link: while
 * @frozen, nothing the guest posts or signals reaches the server (it is
 * held, in order, until thawed).  Eventfd kicks bypass the queue: use
 * no_eventfd.  Do not ovb_inproc_sync() while frozen.  Tests only.
 */
void ovb_inproc_freeze_host(struct ovb_inproc *l, bool frozen);

/**
 * Observe host->guest messages (before the client sees them).  The hook
 * returns false to drop the message.  Tests only.
 */
void ovb_inproc_set_host_hook(struct ovb_inproc *l,
			      bool (*hook)(const void *msg, size_t len,
					   void *ctx),
			      void *ctx);

/**
 * Observe host->guest channel signals that cross the link (the slow path:
 * not those written to an installed call eventfd), in order with the
 * messages, before the client sees them.  Tests only.
 */
void ovb_inproc_set_event_hook(struct ovb_inproc *l,
			       void (*hook)(uint32_t relid, void *ctx),
			       void *ctx);

#endif
