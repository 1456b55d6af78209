/* SPDX-License-Identifier: MIT */
/*
 * The VMBus client: the guest role, as an application sees it.  It
 * negotiates a version (newest first, 6.0 down to 0.13), collects offers,
 * binds VSC drivers by class GUID, follows hot add and rescind, and
 * unloads.  Layer: bus.  Tier: application.  Writing a guest driver
 * (VSC): vsc.h.  Creating a client over a link of one's own: hv.h.
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

#include "api.h"
#include "wire/vmbus.h"

struct ovb_client;
struct ovb_vsc_driver;

/** Register a driver (before connect).  Returns 0 or -ENOSPC. */
OVB_API
int ovb_client_register_driver(struct ovb_client *cl,
			       const struct ovb_vsc_driver *drv, void *ctx);

/**
 * Negotiate the newest version <= @max_version (0: newest we know), ask for
 * offers, wait for ALL_OFFERS_DELIVERED and probe drivers.  Returns 0;
 * -EPROTONOSUPPORT (the host refused every version); -ETIMEDOUT;
 * -ECONNRESET (the host went away).
 */
OVB_API
int ovb_client_connect(struct ovb_client *cl, uint32_t max_version,
		       int timeout_ms);

/** The negotiated version (0 when not connected). */
OVB_API
uint32_t ovb_client_version(const struct ovb_client *cl);

/** True once the link reported the host gone (ovb_client_link_down). */
OVB_API
bool ovb_client_host_gone(const struct ovb_client *cl);

/**
 * Remove every driver (closing channels), post UNLOAD and wait for
 * UNLOAD_COMPLETE -- from VMBus 3.0 (Win8.1) on only: older hosts do not
 * answer UNLOAD (Linux vmbus_initiate_unload sends nothing below 3.0), so
 * there the client only forgets the connection.  The client may connect
 * again afterwards.  Returns 0, -ETIMEDOUT, -ECONNRESET.
 */
OVB_API
int ovb_client_unload(struct ovb_client *cl, int timeout_ms);

/** Remove drivers, stop the work thread, free everything. */
OVB_API
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
OVB_API
size_t ovb_client_offers(struct ovb_client *cl, struct ovb_offer_info *out,
			 size_t max);

/** Response timeout for control messages (default 10000 ms). */
OVB_API
void ovb_client_set_timeout(struct ovb_client *cl, int ms);

/**
 * From now on, no wait for the host (open, close, GPADLs, unload) lasts
 * beyond @ms milliseconds from this call: for a bounded teardown when the
 * host may have stopped answering.  Waits under way are cut short too.
 * @ms < 0 removes the deadline.  Any thread.
 */
OVB_API
void ovb_client_set_deadline(struct ovb_client *cl, int ms);

#endif /* OPENVMBUS_CLIENT_H */
