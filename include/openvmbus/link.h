/* SPDX-License-Identifier: MIT */
/*
 * Partition links: the emulated hypervisor boundary between a guest
 * partition (client) and the host (server).  Layer: link.
 *  - inproc: both sides in one process, for tests, fuzzing and the no-root
 *    lab; messages cross through two queues, each drained by its own
 *    thread, so the two sides never call each other directly.
 *  - socket: docs/link.md, one SOCK_SEQPACKET connection per guest
 *    process: link_socket.h (ovb_link_host_* and ovb_link_guest_*), in
 *    libopenvmbus-linux.
 * Both are built on the calls of hv.h.  Tier: application.  Library:
 * libopenvmbus.  The inproc link's hooks for hostile-peer tests are
 * private (src/link/inproc_test.h).
 */
#ifndef OPENVMBUS_LINK_H
#define OPENVMBUS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct ovb_client;
struct ovb_partition;
struct ovb_server;

/* ---- inproc ------------------------------------------------------------- */

struct ovb_inproc;

struct ovb_inproc_params {
	const char *name;   /**< partition name */
	uint64_t mem_gpa;   /**< guest RAM base (page aligned) */
	uint64_t mem_size;  /**< guest RAM bytes */
	bool no_eventfd;    /**< do not offer the eventfd fast path */
};

/**
 * Create a guest partition on @srv: its memory, the server-side partition,
 * and a client (not yet connected) that talks to it.
 * Returns 0 or -errno.
 */
OVB_API
int ovb_inproc_create(struct ovb_server *srv,
		      const struct ovb_inproc_params *p,
		      struct ovb_inproc **out);

OVB_API
struct ovb_client *ovb_inproc_client(struct ovb_inproc *l);
OVB_API
struct ovb_partition *ovb_inproc_partition(struct ovb_inproc *l);

/**
 * Tear the partition down as a guest death would: the server releases
 * everything first, then the client sees the link go down and is freed.
 */
OVB_API
void ovb_inproc_destroy(struct ovb_inproc *l);

/** Wait until both queues are empty and their last item was handled. */
OVB_API
void ovb_inproc_sync(struct ovb_inproc *l);

#endif /* OPENVMBUS_LINK_H */
