/* SPDX-License-Identifier: MIT */
/*
 * Writing a host device (VSP): the ops table a VSP registers with the
 * server (server.h), offers, sub-channels and rescind, the device and
 * partition accessors, and GPADLs the guest created.  Layer: bus.  Tier:
 * device SDK; with channel.h, ring.h, gpadl.h and gmem.h.
 *
 * Threads: VSP open/close callbacks run on the partition's link thread
 * and must not wait for the guest; channel callbacks run on each
 * channel's worker.
 */
#ifndef OPENVMBUS_VSP_H
#define OPENVMBUS_VSP_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "channel.h"
#include "gmem.h"
#include "wire/vmbus.h"

struct ovb_partition;
struct ovb_vsp_dev;

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

/**
 * Offer a device to a partition; sent at once if the guest already asked
 * for offers (hot add).  Any thread.  Returns 0; -ENOSPC (no relid left).
 */
OVB_API
int ovb_server_offer(struct ovb_partition *part, const struct ovb_vsp_ops *ops,
		     const struct ovb_offer_params *p,
		     struct ovb_vsp_dev **out);

/**
 * Offer @n sub-channels of a primary device (sub_channel_index 1..n, same
 * class and instance).  Any thread.  Returns the number offered;
 * -EPROTONOSUPPORT below VMBus 2.4 (Win8), which has no sub-channels.
 */
OVB_API
int ovb_server_offer_subchannels(struct ovb_vsp_dev *primary, unsigned int n);

/**
 * Rescind a device: close its channel if open, send RESCIND_CHANNEL_OFFER;
 * the relid is freed when the guest answers RELID_RELEASED.  Any thread
 * except the device's own worker.  Returns 0 or -ENODEV.
 */
OVB_API
int ovb_server_rescind(struct ovb_vsp_dev *dev);

/** The device offered as @relid in @part, or NULL. */
OVB_API
struct ovb_vsp_dev *ovb_server_find_dev(struct ovb_partition *part,
					uint32_t relid);

OVB_API
void *ovb_vsp_dev_ctx(const struct ovb_vsp_dev *dev);
OVB_API
struct ovb_partition *ovb_vsp_dev_partition(const struct ovb_vsp_dev *dev);
OVB_API
uint32_t ovb_vsp_dev_relid(const struct ovb_vsp_dev *dev);
OVB_API
uint16_t ovb_vsp_dev_subidx(const struct ovb_vsp_dev *dev);
/** The primary device of a sub-channel (itself for a primary). */
OVB_API
struct ovb_vsp_dev *ovb_vsp_dev_primary(struct ovb_vsp_dev *dev);

/**
 * Map a GPADL the guest created on @dev's channel (e.g. a receive buffer)
 * and hold it until ovb_vsp_gpadl_put(); a teardown waits for the put.
 * The view may be paged (gmem.h): reach it through ovb_gmem_view_read,
 * _write and _ptr rather than view->va.  Returns 0, -ENOENT (no such
 * GPADL on this channel), -EINVAL (not whole pages), -EFAULT, -ENOMEM.
 */
OVB_API
int ovb_vsp_gpadl_get(struct ovb_vsp_dev *dev, uint32_t handle,
		      struct ovb_gmem_view *view);
OVB_API
void ovb_vsp_gpadl_put(struct ovb_vsp_dev *dev, uint32_t handle,
		       struct ovb_gmem_view *view);

/** The partition's guest memory (for GPA-direct packets). */
OVB_API
struct ovb_gmem *ovb_partition_gmem(struct ovb_partition *part);
OVB_API
const char *ovb_partition_name(const struct ovb_partition *part);
/** Negotiated VMBus version, 0 before contact. */
OVB_API
uint32_t ovb_partition_version(const struct ovb_partition *part);
/** Server-wide partition id (1, 2, ...). */
OVB_API
unsigned int ovb_partition_id(const struct ovb_partition *part);

#endif /* OPENVMBUS_VSP_H */
