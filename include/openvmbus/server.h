/* SPDX-License-Identifier: MIT */
/*
 * The VMBus server: the host role, as an application sees it.  It serves
 * many guest partitions; each gets its own offers from the registered
 * VSPs, its own relids, GPADLs and channels.  Layer: bus.  Tier:
 * application (create, destroy, versions, register VSPs, statistics).
 * Writing a VSP: vsp.h.  Carrying the guests' messages and signals (a
 * partition link, or an embedder that is its own hypervisor): hv.h.
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

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "channel.h"

struct ovb_server;
struct ovb_vsp_ops;

/** Create a server.  Returns 0 or -ENOMEM. */
OVB_API
int ovb_server_create(struct ovb_server **out);

/* ---- threading: the embedder's choice ------------------------------------ */

/** Who runs the channels' callbacks and the monitor-page scan. */
enum ovb_server_threading {
	/** Default: a worker thread per open channel, a scanner thread
	 *  per partition with a monitored channel open. */
	OVB_SERVER_THREADS = 0,
	/** Caller-driven: the library starts no thread for this server;
	 *  the embedder waits on ovb_server_dispatch_fd() and calls
	 *  ovb_server_dispatch() from its own loop (hv.h). */
	OVB_SERVER_CALLER = 1,
};

/**
 * Choose the threading of @srv's channels.  Call after
 * ovb_server_create() and before the first partition joins (switching
 * back to OVB_SERVER_THREADS closes the dispatch fd).  Returns 0; -EBUSY
 * (a partition joined already); -EINVAL; -ENOMEM / -EMFILE (no epoll fd).
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
 * as before.  The loop's calls, ovb_server_dispatch_fd() and
 * ovb_server_dispatch(), and the hypervisor side's contract are in hv.h;
 * the socket link's host takes the turns on its own thread
 * (link_socket.h).
 */
OVB_API
int ovb_server_set_threading(struct ovb_server *srv,
			     enum ovb_server_threading mode);

/** Destroy a server whose partitions are all gone. */
OVB_API
void ovb_server_destroy(struct ovb_server *srv);

/**
 * Accept only VMBus versions <= @max_version (0: every version), like an
 * older Hyper-V host.
 */
OVB_API
void ovb_server_set_max_version(struct ovb_server *srv, uint32_t max_version);

/** Refuse VMBus versions below @min_version (0: accept 0.13 and up). */
OVB_API
void ovb_server_set_min_version(struct ovb_server *srv, uint32_t min_version);

/**
 * Register a VSP (the explicit device list).  Call before partitions
 * join.  Returns 0, -ENOSPC.
 */
OVB_API
int ovb_server_register_vsp(struct ovb_server *srv,
			    const struct ovb_vsp_ops *ops, void *vsp_ctx);

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
OVB_API
void ovb_server_report(struct ovb_server *srv,
		       void (*fn)(const struct ovb_chan_report *r, void *ctx),
		       void *ctx);

/**
 * Every partition and channel with its counters as one JSON document
 * (malloc'ed, NUL-terminated, in *@out).  Returns 0 or -ENOMEM.
 */
OVB_API
int ovb_server_stat_json(struct ovb_server *srv, char **out);

#endif /* OPENVMBUS_SERVER_H */
