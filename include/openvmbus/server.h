/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server: the host role.  It serves many guest partitions; each
 * gets its own offers from the registered VSPs, its own relids, GPADLs and
 * channels.  Layer: bus.  Two audiences:
 *  - a partition link (src/link/) creates partitions and feeds them the
 *    guest's messages and signals (the "link-facing" calls);
 *  - VSPs register through one explicit list, add offers to partitions and
 *    see only the channel API.
 *
 * Threads: a partition's messages are handled on the thread that calls
 * ovb_server_post_message() (the link's thread); VSP open/close callbacks
 * run there too and must not wait for the guest.  Channel callbacks run on
 * each channel's worker -- or, when the embedder chose caller-driven
 * dispatch (ovb_server_set_threading), on the thread that calls
 * ovb_server_dispatch().  docs/architecture.md "Threads and embedding".
 */
#ifndef OPENVMBUS_SERVER_H
#define OPENVMBUS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "gmem.h"
#include "wire/vmbus.h"

struct ovb_server;
struct ovb_partition;
struct ovb_vsp_dev;

/* ---- VSPs ---------------------------------------------------------------- */

/** A host device provider; one const table per device kind. */
/*
 * No callback runs under a server lock: each may call any ovb_server_* or
 * ovb_vsp_* function, except that a channel's worker never closes or
 * rescinds its own channel or its primary.
 */
struct ovb_vsp_ops {
	const char *name; /**< "echo", "storvsp", "netvsp" */
	/** A partition joined: add this VSP's offers (ovb_server_offer). */
	int (*partition_add)(struct ovb_partition *part, void *vsp_ctx);
	/** A partition is going away (after its channels closed). */
	void (*partition_remove)(struct ovb_partition *part, void *vsp_ctx);
	/**
	 * The guest opened a channel of @dev.  Set per-channel state and
	 * callbacks (ovb_chan_set_idle, ovb_chan_add_fd); return 0 to accept
	 * or a negative errno to refuse (the guest sees a failed open).
	 */
	int (*open)(struct ovb_vsp_dev *dev, struct ovb_chan *chan,
		    const uint8_t *userdata);
	/** The channel closed (guest close, rescind, death); worker stopped. */
	void (*close)(struct ovb_vsp_dev *dev, struct ovb_chan *chan);
	/** Packets from the guest, on the channel's worker. */
	ovb_chan_recv_fn *recv;
};

/** What an offer says about its device. */
struct ovb_offer_params {
	struct vmbus_guid class_id;
	struct vmbus_guid instance_id;
	uint16_t chn_flags;       /**< VMBUS_CHANNEL_* (0 is fine) */
	uint16_t mmio_megabytes;
	uint8_t user_defined[120];
	bool monitored;           /**< allocate a monitor id for signalling */
	void *dev_ctx;            /**< ovb_vsp_dev_ctx() returns it */
};

/** Create a server.  Returns 0 or -ENOMEM. */
int ovb_server_create(struct ovb_server **out);

/* ---- threading: the embedder's choice ------------------------------------ */

/** Who runs the channels' callbacks and the monitor-page scan. */
enum ovb_server_threading {
	/** Default: a worker thread per open channel, a scanner thread
	 *  per partition with a monitored channel open. */
	OVB_SERVER_THREADS = 0,
	/** Caller-driven: the library starts no thread for this server;
	 *  the embedder waits on ovb_server_dispatch_fd() and calls
	 *  ovb_server_dispatch() from its own loop. */
	OVB_SERVER_CALLER = 1,
};

/**
 * Choose the threading of @srv's channels.  Call after
 * ovb_server_create() and before the first partition joins.
 * Returns 0; -EBUSY (a partition joined already); -EINVAL; -ENOMEM /
 * -EMFILE (no epoll fd).
 *
 * Caller-driven, the server creates no thread at all: no channel workers,
 * no monitor scanner.  Everything a worker does -- draining the inbound
 * ring with interrupts masked, the VSP's recv, reply batching, idle and
 * fd callbacks (ovb_chan_add_fd), bounded polling (ovb_chan_set_poll),
 * the inbound-ring hold -- happens in turns taken by ovb_server_dispatch().
 * A channel's turns never overlap and keep the worker's order; the turns
 * of different channels may run on different threads if several threads
 * call ovb_server_dispatch() (serialised per channel, not globally).
 * Polling mode never spins in a turn: a channel that is polling keeps
 * the dispatch fd readable until it has been idle for its spin time.
 * Monitored channels: while one is open, a 100 us timerfd in the
 * dispatch set scans the monitor page (the guest sets its bits without a
 * hypercall, so nothing else would tell us); a guest's HvSignalEvent
 * (ovb_server_signal_event) works as in the threaded mode.
 * Close, rescind and partition destroy take the channel out of the set
 * and wait only for a turn that runs on another thread; the contract that
 * a channel never closes or rescinds itself from its own callback holds
 * as before.
 */
int ovb_server_set_threading(struct ovb_server *srv,
			     enum ovb_server_threading mode);

/**
 * The fd to wait on (epoll-able, readable when a channel or the monitor
 * scan has work: guest kicks and signals, VSP fds, timers, wake-ups from
 * other threads such as a block backend's completions).  Owned by the
 * server; valid until ovb_server_destroy().  Returns the fd, or -EINVAL
 * if @srv is not caller-driven.
 */
int ovb_server_dispatch_fd(const struct ovb_server *srv);

/**
 * Take at most @budget turns (0: 64) of whatever is ready, round robin
 * between channels, and return; never waits for an event.  A turn is one
 * pass of a worker: at most 64 packets of one channel and their
 * callbacks.  Any thread; usually the embedder's loop thread, never from
 * inside a channel callback.  A turn can wait only where a worker would:
 * a VSP's blocking send on a full ring (up to its send timeout; VSPs that
 * must not wait use OVB_SEND_NONBLOCK) and part->lock held by a message
 * handler.  Returns the number of turns run (0: nothing was ready), or
 * -EINVAL if @srv is not caller-driven.
 */
int ovb_server_dispatch(struct ovb_server *srv, unsigned int budget);

/** Destroy a server whose partitions are all gone. */
void ovb_server_destroy(struct ovb_server *srv);

/**
 * Accept only VMBus versions <= @max_version (0: every version), like an
 * older Hyper-V host.
 */
void ovb_server_set_max_version(struct ovb_server *srv, uint32_t max_version);

/** Refuse VMBus versions below @min_version (0: accept 0.13 and up). */
void ovb_server_set_min_version(struct ovb_server *srv, uint32_t min_version);

/**
 * Register a VSP (the explicit device list).  Call before partitions
 * join.  Returns 0, -ENOSPC.
 */
int ovb_server_register_vsp(struct ovb_server *srv,
			    const struct ovb_vsp_ops *ops, void *vsp_ctx);

/**
 * Offer a device to a partition; sent at once if the guest already asked
 * for offers (hot add).  Any thread.  Returns 0; -ENOSPC (no relid left).
 */
int ovb_server_offer(struct ovb_partition *part, const struct ovb_vsp_ops *ops,
		     const struct ovb_offer_params *p,
		     struct ovb_vsp_dev **out);

/**
 * Offer @n sub-channels of a primary device (sub_channel_index 1..n, same
 * class and instance).  Any thread.  Returns the number offered;
 * -EPROTONOSUPPORT below VMBus 2.4 (Win8), which has no sub-channels.
 */
int ovb_server_offer_subchannels(struct ovb_vsp_dev *primary, unsigned int n);

/**
 * Rescind a device: close its channel if open, send RESCIND_CHANNEL_OFFER;
 * the relid is freed when the guest answers RELID_RELEASED.  Any thread
 * except the device's own worker.  Returns 0 or -ENODEV.
 */
int ovb_server_rescind(struct ovb_vsp_dev *dev);

/** The device offered as @relid in @part, or NULL. */
struct ovb_vsp_dev *ovb_server_find_dev(struct ovb_partition *part,
					uint32_t relid);

void *ovb_vsp_dev_ctx(const struct ovb_vsp_dev *dev);
struct ovb_partition *ovb_vsp_dev_partition(const struct ovb_vsp_dev *dev);
uint32_t ovb_vsp_dev_relid(const struct ovb_vsp_dev *dev);
uint16_t ovb_vsp_dev_subidx(const struct ovb_vsp_dev *dev);
/** The primary device of a sub-channel (itself for a primary). */
struct ovb_vsp_dev *ovb_vsp_dev_primary(struct ovb_vsp_dev *dev);

/**
 * Map a GPADL the guest created on @dev's channel (e.g. a receive buffer)
 * and hold it until ovb_vsp_gpadl_put(); a teardown waits for the put.
 * Returns 0, -ENOENT (no such GPADL on this channel), -EFAULT.
 */
int ovb_vsp_gpadl_get(struct ovb_vsp_dev *dev, uint32_t handle,
		      struct ovb_gmem_view *view);
void ovb_vsp_gpadl_put(struct ovb_vsp_dev *dev, uint32_t handle,
		       struct ovb_gmem_view *view);

/** The partition's guest memory (for GPA-direct packets). */
struct ovb_gmem *ovb_partition_gmem(struct ovb_partition *part);
const char *ovb_partition_name(const struct ovb_partition *part);
/** Negotiated VMBus version, 0 before contact. */
uint32_t ovb_partition_version(const struct ovb_partition *part);
/**
 * The VP the guest wants channel messages on (INITIATE_CONTACT's
 * target_vcpu; 0 before contact).  Lock-free: a link's send_message may
 * call it.
 */
uint32_t ovb_partition_message_vp(const struct ovb_partition *part);
/** Server-wide partition id (1, 2, ...). */
unsigned int ovb_partition_id(const struct ovb_partition *part);

/* ---- link-facing: the hypervisor side ------------------------------------ */

/*
 * A partition link is the hypervisor as the server sees it: the socket and
 * inproc links of src/link/, or a VMM embedding the server with its own
 * SynIC emulation.  The contract, both ways:
 *
 * Into the server (the link calls us):
 *  - ovb_server_post_message() for the guest's HvPostMessage, and
 *    ovb_server_signal_event() for its HvSignalEvent, in the order the
 *    guest issued them, from one thread per partition at a time (the
 *    guest's opens and closes are handled in that order).  Neither may be
 *    called from inside a link op below or from a channel callback.
 *  - post_message may wait: for a VSP's open or close callback (a disk
 *    finishing its in-flight requests) and, with worker threads, for a
 *    channel's worker to stop; caller-driven, for a channel's turn that
 *    runs on another thread.  A VMM that calls post_message and
 *    ovb_server_dispatch() from one loop thread never waits for a turn.
 *  - signal_event never waits (a lock held for a few stores).
 *  - Monitor pages need nothing from the link: they are guest memory
 *    named in INITIATE_CONTACT, and the server scans them (a thread, or a
 *    timerfd in the dispatch set; ovb_server_set_threading).
 *  - add_memory before the first message; partition_destroy when the
 *    guest is gone, not from a link op or channel callback.
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
 *  - A full message slot: SINT 2's slot holds one message until the guest
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
	 * names.
	 * Returns 0 (delivered or queued), -EAGAIN (queue full: the guest
	 * stopped taking messages), or another negative errno (lost).
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
 * A guest partition joined.  Calls every VSP's partition_add.
 * Returns 0, -ENOMEM.
 */
int ovb_server_partition_create(struct ovb_server *srv, const char *name,
				const struct ovb_partition_link_ops *ops,
				void *link, struct ovb_partition **out);

/** MEM_REGION: map guest RAM.  Errors as ovb_gmem_add_region(). */
int ovb_server_partition_add_memory(struct ovb_partition *part, uint64_t gpa,
				    uint64_t size, int fd, uint64_t fd_offset);

/**
 * HvPostMessage from the guest: one channel message of @len bytes posted
 * to @conn_id.  Returns 0; -EBADMSG (malformed: truncated, oversized,
 * unknown type); -EPROTO (out of sequence); -EFAULT (a GPADL names memory
 * outside the guest); -ENOSPC (a GPADL over the partition's quota);
 * -EBUSY (GPADL_TEARDOWN deferred while the GPADL is in use).  The
 * partition keeps running either way; the error is logged with its
 * reason.
 */
int ovb_server_post_message(struct ovb_partition *part, uint32_t conn_id,
			    const void *msg, size_t len);

/**
 * HvSignalEvent from the guest (slow path): wakes the channel of a
 * dedicated connection id (VMBUS_CHAN_CONNECTION_ID_BASE + relid), or
 * scans the interrupt page for the shared one.  Never waits.
 */
void ovb_server_signal_event(struct ovb_partition *part, uint32_t conn_id);

/**
 * EVENT_FDS: from now on the guest signals @relid by @kick_fd and we signal
 * it by @call_fd (both owned by the server on success).
 * Returns 0, -ENODEV (no open channel), -EINVAL.
 */
int ovb_server_set_event_fds(struct ovb_partition *part, uint32_t relid,
			     uint32_t conn_id, int kick_fd, int call_fd);

/** The guest is gone: release everything it held.  Link thread. */
void ovb_server_partition_destroy(struct ovb_partition *part);

/* ---- statistics ---------------------------------------------------------- */

/** One channel as `vmbus stat` shows it. */
struct ovb_chan_report {
	unsigned int partition_id;
	const char *partition;
	uint32_t version;       /**< negotiated VMBus version, 0 if none */
	const char *device;     /**< VSP name */
	uint32_t relid;
	uint16_t subidx;
	bool open;
	struct ovb_chan_stats st;
	struct ovb_chan_ring_info ring;
};

/** Call @fn for every offer of every partition (server lock held). */
void ovb_server_report(struct ovb_server *srv,
		       void (*fn)(const struct ovb_chan_report *r, void *ctx),
		       void *ctx);

/**
 * Every partition and channel with its counters as one JSON document
 * (malloc'ed, NUL-terminated, in *@out).  Returns 0 or -ENOMEM.
 */
int ovb_server_stat_json(struct ovb_server *srv, char **out);

#endif /* OPENVMBUS_SERVER_H */
