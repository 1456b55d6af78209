/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor side of both buses: what a partition link provides and
 * calls.  The server (host role) gets a partition per guest, the guest's
 * memory, its HvPostMessage/HvSignalEvent and its eventfds; the client
 * (guest role) gets the host's SynIC messages and signals.  The links of
 * link.h (inproc, socket) are built on these calls; an embedder that
 * carries messages and signals itself (its own hypervisor or transport)
 * uses them directly.  Layer: bus.  Tier: hypervisor/embedder.
 *
 * Threads: each partition's calls come from one thread, the link's; the
 * client's deliver calls come from the link's thread too, and never from
 * a thread that waits for the host.
 */
#ifndef OPENVMBUS_HV_H
#define OPENVMBUS_HV_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct ovb_client;
struct ovb_gmem;
struct ovb_partition;
struct ovb_server;

/* ---- server (host role) ----------------------------------------------- */

/** How the server reaches the guest: provided by a partition link. */
struct ovb_partition_link_ops {
	/** Deliver a channel message of @len bytes to SINT @sint. */
	int (*send_message)(void *link, uint32_t sint, const void *msg,
			    size_t len);
	/** Slow-path channel interrupt for @relid. */
	int (*signal)(void *link, uint32_t relid);
	/**
	 * Optional: drop the guest's link now, as if it had broken; the
	 * link then tears the partition down as for any peer that left.
	 * @why is logged.  The fault engine's link-close uses it.
	 */
	void (*disconnect)(void *link, const char *why);
};

/**
 * A guest partition joined, its RAM reached through @gm (gmem.h: the
 * memfd provider of a link, the host-memory provider of an embedder with
 * anonymous guest RAM, or the embedder's own).  @gm is borrowed: it must
 * outlive the partition (destroy it after ovb_server_partition_destroy()).
 * Regions may still be added to @gm until the guest's first message.
 * Calls every VSP's partition_add.  Returns 0, -EINVAL, -ENOMEM.
 */
OVB_API
int ovb_server_partition_create(struct ovb_server *srv, const char *name,
				const struct ovb_partition_link_ops *ops,
				void *link, struct ovb_gmem *gm,
				struct ovb_partition **out);

/**
 * HvPostMessage from the guest: one channel message of @len bytes posted
 * to @conn_id.  Returns 0; -EBADMSG (malformed: truncated, oversized,
 * unknown type); -EPROTO (out of sequence); -EFAULT (a GPADL names memory
 * outside the guest); -ENOSPC (a GPADL over the partition's quota);
 * -EBUSY (GPADL_TEARDOWN deferred while the GPADL is in use).  The
 * partition keeps running either way; the error is logged with its
 * reason.
 */
OVB_API
int ovb_server_post_message(struct ovb_partition *part, uint32_t conn_id,
			    const void *msg, size_t len);

/** HvSignalEvent from the guest (slow path). */
OVB_API
void ovb_server_signal_event(struct ovb_partition *part, uint32_t conn_id);

/**
 * EVENT_FDS: from now on the guest signals @relid by @kick_fd and we signal
 * it by @call_fd (both owned by the server on success).
 * Returns 0, -ENODEV (no open channel), -EINVAL.
 */
OVB_API
int ovb_server_set_event_fds(struct ovb_partition *part, uint32_t relid,
			     uint32_t conn_id, int kick_fd, int call_fd);

/** The guest is gone: release everything it held.  Link thread. */
OVB_API
void ovb_server_partition_destroy(struct ovb_partition *part);

/* ---- client (guest role) ---------------------------------------------- */

/** How the client reaches the host: provided by a partition link. */
struct ovb_client_link_ops {
	/** HvPostMessage: one channel message to connection @conn_id. */
	int (*post_message)(void *link, uint32_t conn_id, const void *msg,
			    size_t len);
	/** HvSignalEvent on @conn_id (slow path). */
	int (*signal_event)(void *link, uint32_t conn_id);
	/**
	 * Optional fast path: give the host @kick_fd (we write it) and
	 * @call_fd (the host writes it) for @relid.  The callee owns the fds.
	 */
	int (*set_event_fds)(void *link, uint32_t relid, uint32_t conn_id,
			     int kick_fd, int call_fd);
};
/**
 * Create a client over a link; @gm is the guest memory (already shared,
 * borrowed), whose pools (ovb_gmem_pool_add) the client allocates rings
 * and buffers from.
 */
OVB_API
int ovb_client_create(const struct ovb_client_link_ops *ops, void *link,
		      struct ovb_gmem *gm, struct ovb_client **out);
/** A SynIC message for @sint arrived from the host.  Link thread. */
OVB_API
void ovb_client_deliver_message(struct ovb_client *cl, uint32_t sint,
				const void *msg, size_t len);

/** The host signalled channel @relid (slow path).  Link thread. */
OVB_API
void ovb_client_deliver_event(struct ovb_client *cl, uint32_t relid);

/** The host is gone: fail waiters and channels with -ECONNRESET. */
OVB_API
void ovb_client_link_down(struct ovb_client *cl);

#endif /* OPENVMBUS_HV_H */
