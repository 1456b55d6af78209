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
 * each channel's worker.
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
