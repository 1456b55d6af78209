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
 * a thread that waits for the host.  The server's side of the contract in
 * full is below, beside struct ovb_partition_link_ops.
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

/*
 * The contract between the server and a partition link -- the socket and
 * inproc links of link.h, or a VMM with its own SynIC emulation -- both
 * ways.  docs/architecture.md "The hypervisor side" has it as a table.
 *
 * Into the server (the link calls us):
 *  - ovb_server_post_message() for the guest's HvPostMessage, and
 *    ovb_server_signal_event() for its HvSignalEvent, in the order the
 *    guest issued them, from one thread per partition at a time (the
 *    guest's opens and closes are handled in that order).  Neither may be
 *    called from inside a link op below or from a channel callback.
 *  - post_message may wait: for a VSP's open or close callback (a disk
 *    finishing its in-flight requests) and, with worker threads, for a
 *    channel's worker to stop; caller-driven (server.h), for a channel's
 *    turn that runs on another thread.  A VMM that calls post_message and
 *    ovb_server_dispatch() from one loop thread never waits for a turn.
 *  - signal_event never waits (a lock held for a few stores).
 *  - Monitor pages need nothing from the link: they are guest memory
 *    named in INITIATE_CONTACT, and the server scans them (a thread, or a
 *    timerfd in the dispatch set).
 *  - guest memory (gmem.h) given at partition_create, its regions added
 *    before the first message; partition_destroy when the guest is gone,
 *    not from a link op or channel callback, and the memory destroyed
 *    after it.
 *
 * Out of the server (we call the link's ops):
 *  - send_message runs with the partition's lock held, on the thread of
 *    the call that caused it (post_message, offer, rescind, a device's
 *    thread).  signal runs on channel threads (workers, dispatch turns,
 *    device threads that send) with or without that lock.  So neither may
 *    call back into the server for this partition, nor wait for the guest
 *    beyond a short bound; both must be safe from several threads.
 *  - Order: messages and signals of a partition reach the guest in the
 *    order we call the ops (the signal right after OPENCHANNEL_RESULT
 *    depends on it).
 *  - A full message slot: a SINT's slot holds one message until the guest
 *    ends it (EOM); the link queues what comes meanwhile, in order, and
 *    returns 0.  Its queue may be bounded: when it is full the link
 *    returns -EAGAIN -- the guest stopped taking messages -- and the
 *    server drops the message, logs it and calls disconnect (if set).
 *    The server never retries a message; any other error loses it too
 *    (logged); the guest's own timeouts take it from there.  What a
 *    well-behaved guest has outstanding is small: one reply per message
 *    it posted, offers and rescinds (at most one per relid).
 */

/** How the server reaches the guest: provided by a partition link. */
struct ovb_partition_link_ops {
	/**
	 * Deliver a channel message of @len bytes (<= 240) to SINT @sint
	 * (VMBUS_MESSAGE_SINT, or from VMBus 5.0 the msg_sint of the
	 * guest's INITIATE_CONTACT) of the VP ovb_partition_message_vp()
	 * names.  Returns 0 (delivered or queued), -EAGAIN (queue full: the
	 * guest stopped taking messages), or another negative errno (lost).
	 */
	int (*send_message)(void *link, uint32_t sint, const void *msg,
			    size_t len);
	/** Slow-path channel interrupt for @relid (the SIEF bit @relid). */
	int (*signal)(void *link, uint32_t relid);
	/**
	 * Optional: drop the guest's link now, as if it had broken; the
	 * link then tears the partition down as for any peer that left.
	 * @why is logged.  The fault engine's link-close and a guest that
	 * leaves its message slot full use it.  Lock held: must not wait.
	 */
	void (*disconnect)(void *link, const char *why);
	/**
	 * Optional, used instead of @signal when set: the interrupt for
	 * @relid goes to VP @vp (OPENCHANNEL's or MODIFYCHANNEL's
	 * target_vp), as a VMM with per-VP SynICs needs.
	 */
	int (*signal_vp)(void *link, uint32_t relid, uint32_t vp);
};

/**
 * The VP the guest wants channel messages on (INITIATE_CONTACT's
 * target_vcpu; 0 before contact).  Lock-free: a link's send_message may
 * call it.
 */
OVB_API
uint32_t ovb_partition_message_vp(const struct ovb_partition *part);

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

/**
 * HvSignalEvent from the guest (slow path): wakes the channel of a
 * dedicated connection id (VMBUS_CHAN_CONNECTION_ID_BASE + relid), or
 * scans the interrupt page for the shared one.  Never waits.
 */
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

/* ---- caller-driven dispatch (server.h: ovb_server_set_threading) -------- */

/**
 * The fd to wait on (epoll-able, readable when a channel or the monitor
 * scan has work: guest kicks and signals, VSP fds, timers, wake-ups from
 * other threads such as a block backend's completions).  Owned by the
 * server; valid until ovb_server_destroy().  Returns the fd, or -EINVAL
 * if @srv is not caller-driven.
 */
OVB_API
int ovb_server_dispatch_fd(const struct ovb_server *srv);

/**
 * Take at most @budget turns (0: 64) of whatever is ready, round robin
 * between channels, and return; never waits for an event.  A turn is one
 * pass of a worker: at most 64 packets of one channel and their
 * callbacks.  Any thread; usually the embedder's loop thread, never from
 * inside a channel callback.  A turn can wait only where a worker would:
 * a VSP's blocking send on a full ring (up to its send timeout; VSPs that
 * must not wait use OVB_SEND_NONBLOCK) and the partition's lock held by a
 * message handler.  Returns the number of turns run (0: nothing was
 * ready), or -EINVAL if @srv is not caller-driven.
 */
OVB_API
int ovb_server_dispatch(struct ovb_server *srv, unsigned int budget);

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
