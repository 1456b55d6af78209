/* SPDX-License-Identifier: MIT */
/*
 * Writing a guest driver (VSC): the driver a client binds to offers of
 * its class, the device accessors, opening channels (with a worker, or
 * raw for a user-space driver), GPADLs and guest memory.  Layer: bus.
 * Tier: device SDK; with channel.h, ring.h, gpadl.h and gmem.h.
 *
 * Threads: calls that wait for the host (open, close, GPADLs, modify)
 * must not come from the link's thread.
 */
#ifndef OPENVMBUS_VSC_H
#define OPENVMBUS_VSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "channel.h"
#include "gmem.h"
#include "wire/vmbus.h"

struct ovb_client;
struct ovb_vsc_dev;

/** A guest driver, bound to offers by class GUID. */
struct ovb_vsc_driver {
	const char *name;
	struct vmbus_guid class_id;
	/** An offer of our class (a primary channel): set up the device. */
	int (*probe)(struct ovb_vsc_dev *dev, void *drv_ctx);
	/**
	 * The device or one of its sub-channels is going (rescind, unload,
	 * destroy): close it.  Sub-channels go before their primary.
	 */
	void (*remove)(struct ovb_vsc_dev *dev, void *drv_ctx);
	/** A sub-channel offer of a bound primary arrived. */
	void (*subchannel)(struct ovb_vsc_dev *primary, struct ovb_vsc_dev *sub,
			   void *drv_ctx);
};

/** The offer message as the host sent it. */
OVB_API
const struct vmbus_channel_offer_channel *
ovb_vsc_dev_offer(const struct ovb_vsc_dev *dev);
OVB_API
struct ovb_client *ovb_vsc_dev_client(const struct ovb_vsc_dev *dev);
OVB_API
void *ovb_vsc_dev_get_ctx(const struct ovb_vsc_dev *dev);
OVB_API
void ovb_vsc_dev_set_ctx(struct ovb_vsc_dev *dev, void *ctx);
/** The open channel, or NULL. */
OVB_API
struct ovb_chan *ovb_vsc_dev_chan(const struct ovb_vsc_dev *dev);

/** How to open a channel. */
struct ovb_vsc_open_params {
	uint32_t out_ring;     /**< guest->host data bytes (page multiple) */
	uint32_t in_ring;      /**< host->guest data bytes (page multiple) */
	const void *userdata;  /**< up to 120 bytes of OPEN_CHANNEL user data */
	size_t userdata_len;
	ovb_chan_recv_fn *recv;
	void *ctx;             /**< passed to recv (ovb_chan_ctx) */
	bool use_monitor;      /**< signal through the monitor page if offered */
	bool no_eventfd;       /**< keep to the slow path (SIGNAL_EVENT) */
	uint32_t target_vp;
};

/**
 * Allocate rings, create their GPADL, OPEN_CHANNEL, start the worker.
 * When the open fails after OPEN_CHANNEL went out, CLOSECHANNEL follows
 * (a host that refused may hold the rings anyway) before the GPADL is
 * torn down.  Ring pages whose teardown the host does not confirm are
 * never reused (logged).
 * Returns 0; -EIO (the host refused: open result status logged);
 * -ENOMEM; -ETIMEDOUT; -ECONNRESET; -EBUSY (already open).
 */
OVB_API
int ovb_vsc_open(struct ovb_vsc_dev *dev, const struct ovb_vsc_open_params *p,
		 struct ovb_chan **out);

/**
 * Open a channel whose rings a user-space driver runs itself, as Linux's
 * uio_hv_generic opens one for DPDK: allocate the rings (@out_ring and
 * @in_ring data bytes, page multiples), initialise both control pages
 * (pending-send-size feature bit set, inbound interrupt_mask = 1, so the
 * host never needs to signal), create the ring GPADL and OPEN_CHANNEL with
 * the host->guest ring right after the guest->host one.  No worker runs
 * and the client never touches the rings again.  *@ring gets the ring
 * pages (control page + data out, then control page + data in).
 * ovb_vsc_close() closes it.  Blocks.  Returns 0 or as ovb_vsc_open().
 */
OVB_API
int ovb_vsc_open_user(struct ovb_vsc_dev *dev, uint32_t out_ring,
		      uint32_t in_ring, void **ring);

/**
 * The connection's shared pages (guest memory): the interrupt page (NULL
 * from VMBus 5.0 on) and the two monitor pages (parent->child, then
 * child->parent), as a uio driver maps them for user space.
 */
OVB_API
void ovb_client_sync_pages(struct ovb_client *cl, void **int_page,
			   void **monitor);

/**
 * Stop the worker, CLOSECHANNEL, tear down the ring GPADL and free the
 * rings (unless the host did not confirm the teardown: then they stay
 * allocated, as in ovb_vsc_open()).
 */
OVB_API
void ovb_vsc_close(struct ovb_vsc_dev *dev);

/**
 * Create a GPADL over @len bytes at @buf, which must lie in guest memory
 * (ovb_client_alloc).  Returns 0 and the handle; -EFAULT; -EIO (refused);
 * -ETIMEDOUT; -ECONNRESET.
 */
OVB_API
int ovb_vsc_gpadl_create(struct ovb_vsc_dev *dev, const void *buf, size_t len,
			 uint32_t *handle);

/** Tear a GPADL down and wait for GPADL_TORNDOWN. */
OVB_API
int ovb_vsc_gpadl_teardown(struct ovb_vsc_dev *dev, uint32_t handle);

/** MODIFYCHANNEL (>= 4.1).  Returns 0, -EPROTONOSUPPORT, -EIO. */
OVB_API
int ovb_vsc_modify(struct ovb_vsc_dev *dev, uint32_t target_vp);

/** Allocate @bytes (rounded to pages) of zeroed guest memory. */
OVB_API
int ovb_client_alloc(struct ovb_client *cl, size_t bytes, void **hva,
		     uint64_t *gpa);
OVB_API
void ovb_client_free(struct ovb_client *cl, void *hva, size_t bytes);
OVB_API
struct ovb_gmem *ovb_client_gmem(struct ovb_client *cl);

#endif /* OPENVMBUS_VSC_H */
