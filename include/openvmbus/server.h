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
 * each channel's worker.
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
 * The view may be paged (gmem.h): reach it through ovb_gmem_view_read,
 * _write and _ptr rather than view->va.  Returns 0, -ENOENT (no such
 * GPADL on this channel), -EINVAL (not whole pages), -EFAULT, -ENOMEM.
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
/** Server-wide partition id (1, 2, ...). */
unsigned int ovb_partition_id(const struct ovb_partition *part);

/* ---- link-facing --------------------------------------------------------- */

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
int ovb_server_post_message(struct ovb_partition *part, uint32_t conn_id,
			    const void *msg, size_t len);

/** HvSignalEvent from the guest (slow path). */
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
