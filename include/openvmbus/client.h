/* SPDX-License-Identifier: MIT */
/*
 * The VMBus client: the guest role.  It negotiates a version (newest first,
 * 6.0 down to 0.13), collects offers, binds VSC drivers by class GUID,
 * opens channels with rings in guest memory, creates GPADLs for any
 * buffer, follows hot add and rescind, and unloads.  Layer: bus.
 *
 * Threads: the link delivers host messages on its own thread
 * (ovb_client_deliver_*); calls that wait for the host (connect, open,
 * GPADLs, unload) must come from other threads.  Driver probe runs on the
 * thread calling ovb_client_connect() for offers present at connect time
 * and on the client's work thread for later ones; remove and subchannel
 * run on the work thread (or the unloading thread).
 */
#ifndef OPENVMBUS_CLIENT_H
#define OPENVMBUS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "gmem.h"
#include "wire/vmbus.h"

struct ovb_client;
struct ovb_vsc_dev;

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

/**
 * Create a client over a link; @gm is the guest memory (already shared,
 * borrowed), whose pools (ovb_gmem_pool_add) the client allocates rings
 * and buffers from.
 */
int ovb_client_create(const struct ovb_client_link_ops *ops, void *link,
		      struct ovb_gmem *gm, struct ovb_client **out);

/** Register a driver (before connect).  Returns 0 or -ENOSPC. */
int ovb_client_register_driver(struct ovb_client *cl,
			       const struct ovb_vsc_driver *drv, void *ctx);

/**
 * Negotiate the newest version <= @max_version (0: newest we know), ask for
 * offers, wait for ALL_OFFERS_DELIVERED and probe drivers.  Returns 0;
 * -EPROTONOSUPPORT (the host refused every version); -ETIMEDOUT;
 * -ECONNRESET (the host went away).
 */
int ovb_client_connect(struct ovb_client *cl, uint32_t max_version,
		       int timeout_ms);

/** The negotiated version (0 when not connected). */
uint32_t ovb_client_version(const struct ovb_client *cl);

/** True once the link reported the host gone (ovb_client_link_down). */
bool ovb_client_host_gone(const struct ovb_client *cl);

/**
 * Remove every driver (closing channels), post UNLOAD and wait for
 * UNLOAD_COMPLETE -- from VMBus 3.0 (Win8.1) on only: older hosts do not
 * answer UNLOAD (Linux vmbus_initiate_unload sends nothing below 3.0), so
 * there the client only forgets the connection.  The client may connect
 * again afterwards.  Returns 0, -ETIMEDOUT, -ECONNRESET.
 */
int ovb_client_unload(struct ovb_client *cl, int timeout_ms);

/** Remove drivers, stop the work thread, free everything. */
void ovb_client_destroy(struct ovb_client *cl);

/** One offer as the client saw it. */
struct ovb_offer_info {
	uint32_t relid;
	uint16_t subidx;
	struct vmbus_guid class_id, instance_id;
	uint32_t connection_id;
	bool dedicated, monitored, rescinded, open;
	uint8_t monitor_id;
	const char *driver; /**< bound driver name or NULL */
};

/** Snapshot of the offers: fills up to @max, returns the total count. */
size_t ovb_client_offers(struct ovb_client *cl, struct ovb_offer_info *out,
			 size_t max);

/* ---- link-facing ------------------------------------------------------- */

/** A SynIC message for @sint arrived from the host.  Link thread. */
void ovb_client_deliver_message(struct ovb_client *cl, uint32_t sint,
				const void *msg, size_t len);

/** The host signalled channel @relid (slow path).  Link thread. */
void ovb_client_deliver_event(struct ovb_client *cl, uint32_t relid);

/** The host is gone: fail waiters and channels with -ECONNRESET. */
void ovb_client_link_down(struct ovb_client *cl);

/* ---- devices ------------------------------------------------------------- */

/** The offer message as the host sent it. */
const struct vmbus_channel_offer_channel *
ovb_vsc_dev_offer(const struct ovb_vsc_dev *dev);
struct ovb_client *ovb_vsc_dev_client(const struct ovb_vsc_dev *dev);
void *ovb_vsc_dev_get_ctx(const struct ovb_vsc_dev *dev);
void ovb_vsc_dev_set_ctx(struct ovb_vsc_dev *dev, void *ctx);
/** The open channel, or NULL. */
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
int ovb_vsc_open_user(struct ovb_vsc_dev *dev, uint32_t out_ring,
		      uint32_t in_ring, void **ring);

/**
 * The connection's shared pages (guest memory): the interrupt page (NULL
 * from VMBus 5.0 on) and the two monitor pages (parent->child, then
 * child->parent), as a uio driver maps them for user space.
 */
void ovb_client_sync_pages(struct ovb_client *cl, void **int_page,
			   void **monitor);

/**
 * Stop the worker, CLOSECHANNEL, tear down the ring GPADL and free the
 * rings (unless the host did not confirm the teardown: then they stay
 * allocated, as in ovb_vsc_open()).
 */
void ovb_vsc_close(struct ovb_vsc_dev *dev);

/**
 * Create a GPADL over @len bytes at @buf, which must lie in guest memory
 * (ovb_client_alloc).  Returns 0 and the handle; -EFAULT; -EIO (refused);
 * -ETIMEDOUT; -ECONNRESET.
 */
int ovb_vsc_gpadl_create(struct ovb_vsc_dev *dev, const void *buf, size_t len,
			 uint32_t *handle);

/** Tear a GPADL down and wait for GPADL_TORNDOWN. */
int ovb_vsc_gpadl_teardown(struct ovb_vsc_dev *dev, uint32_t handle);

/** MODIFYCHANNEL (>= 4.1).  Returns 0, -EPROTONOSUPPORT, -EIO. */
int ovb_vsc_modify(struct ovb_vsc_dev *dev, uint32_t target_vp);

/** Allocate @bytes (rounded to pages) of zeroed guest memory. */
int ovb_client_alloc(struct ovb_client *cl, size_t bytes, void **hva,
		     uint64_t *gpa);
void ovb_client_free(struct ovb_client *cl, void *hva, size_t bytes);
struct ovb_gmem *ovb_client_gmem(struct ovb_client *cl);

/** Response timeout for control messages (default 10000 ms). */
void ovb_client_set_timeout(struct ovb_client *cl, int ms);

/**
 * From now on, no wait for the host (open, close, GPADLs, unload) lasts
 * beyond @ms milliseconds from this call: for a bounded teardown when the
 * host may have stopped answering.  Waits under way are cut short too.
 * @ms < 0 removes the deadline.  Any thread.
 */
void ovb_client_set_deadline(struct ovb_client *cl, int ms);

#endif /* OPENVMBUS_CLIENT_H */
