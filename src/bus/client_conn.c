// SPDX-License-Identifier: MIT
/*
 * The client's connection lifecycle: version negotiation newest first with
 * the per-version rules (connection id 4 and msg_sint from 5.0, the
 * interrupt page before it, monitor pages always), REQUEST_OFFERS and
 * driver binding, UNLOAD, destruction and the offer listing.  Layer: bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/client_priv.h"
#include "openvmbus/client.h"
#include "openvmbus/log.h"
#include "openvmbus/version.h"

/* One INITIATE_CONTACT.  Returns 1 accepted, 0 refused, or -errno. */
static int try_version(struct ovb_client *cl, uint32_t version)
{
	struct vmbus_channel_initiate_contact c;
	struct vmbus_channel_version_response r = { 0 };
	struct cl_wait w;
	uint64_t mon = ovb_gmem_gpa(cl->gm, cl->monitor);
	uint32_t conn;
	int rc;

	memset(&c, 0, sizeof(c));
	c.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	c.vmbus_version_requested = version;
	c.target_vcpu = 0;
	if (version >= VMBUS_VERSION_WIN10_V5) {
		c.msg_sint = VMBUS_MESSAGE_SINT;
		conn = VMBUS_MESSAGE_CONNECTION_ID_4;
	} else {
		c.interrupt_page = ovb_gmem_gpa(cl->gm, cl->int_page);
		conn = VMBUS_MESSAGE_CONNECTION_ID;
	}
	c.monitor_page1 = mon;
	c.monitor_page2 = mon + HV_PAGE_SIZE;
	ovb__cl_wait_init(cl, &w, CHANNELMSG_VERSION_RESPONSE, 0);
	rc = cl->ops->post_message(cl->link, conn, &c,
				   VMBUS_INITIATE_CONTACT_SIZE);
	if (rc) {
		ovb__cl_wait_cancel(cl, &w);
		return rc;
	}
	rc = ovb__cl_wait(cl, &w);
	if (rc)
		return rc;
	memcpy(&r, w.msg, w.len < sizeof(r) ? w.len : sizeof(r));
	if (!r.version_supported)
		return 0;
	cl->version = version;
	cl->msg_conn_id = version >= VMBUS_VERSION_WIN10_V5
				  ? r.msg_conn_id
				  : VMBUS_MESSAGE_CONNECTION_ID;
	if (!cl->msg_conn_id)
		cl->msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
	return 1;
}

int ovb_client_connect(struct ovb_client *cl, uint32_t max_version,
		       int timeout_ms)
{
	struct vmbus_channel_message_header req = {
		.msgtype = CHANNELMSG_REQUESTOFFERS,
	};
	struct cl_wait w;
	uint64_t gpa;
	int rc = 0, saved = cl->timeout_ms;

	if (cl->connected)
		return -EISCONN;
	if (timeout_ms > 0)
		cl->timeout_ms = timeout_ms;
	if (!cl->int_page && ovb_gmem_alloc(cl->gm, 1, &gpa, &cl->int_page))
		return -ENOMEM;
	if (!cl->monitor && ovb_gmem_alloc(cl->gm, 2, &gpa, &cl->monitor))
		return -ENOMEM;
	cl->msg_conn_id = 0;
	/* Newest first, down to 0.13. */
	for (int i = VMBUS_VERSION_COUNT - 1; i >= 0; i--) {
		if (max_version && ovb_vmbus_versions[i] > max_version)
			continue;
		rc = try_version(cl, ovb_vmbus_versions[i]);
		if (rc)
			break;
	}
	if (rc <= 0) {
		cl->timeout_ms = saved;
		return rc ? rc : -EPROTONOSUPPORT;
	}
	ovb_info("VMBus %u.%u negotiated", cl->version >> 16,
		 cl->version & 0xffff);
	cl->offers_done = false;
	ovb__cl_wait_init(cl, &w, CHANNELMSG_ALLOFFERS_DELIVERED, 0);
	rc = ovb__cl_post(cl, &req, sizeof(req));
	rc = rc ? rc : ovb__cl_wait(cl, &w);
	if (rc)
		ovb__cl_wait_cancel(cl, &w);
	cl->timeout_ms = saved;
	if (rc) {
		/* Not connected after all: report no version. */
		__atomic_store_n(&cl->version, 0, __ATOMIC_RELAXED);
		cl->msg_conn_id = 0;
		return rc;
	}
	cl->connected = true;
	/*
	 * Probe primaries first, then tell drivers of their sub-channels.
	 * Hot adds and rescinds that come meanwhile queue for the work
	 * thread, which waits on bind_lock: no device is probed twice or
	 * freed under us.
	 */
	pthread_mutex_lock(&cl->bind_lock);
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
			struct ovb_vsc_dev *dev;
			bool probe;

			pthread_mutex_lock(&cl->lock);
			dev = cl->dev[r];
			probe = dev && !dev->rescinded &&
				!dev->primary == !pass;
			pthread_mutex_unlock(&cl->lock);
			if (probe)
				ovb__cl_bind(cl, dev);
		}
	pthread_mutex_unlock(&cl->bind_lock);
	return 0;
}

static void remove_all(struct ovb_client *cl)
{
	/* Sub-channels first, so drivers close them before the primary. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
			struct ovb_vsc_dev *dev = cl->dev[r];

			if (dev && !dev->primary == !!pass)
				ovb__cl_unbind(cl, dev);
		}
	pthread_mutex_lock(&cl->lock);
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
		free(cl->dev[r]);
		cl->dev[r] = NULL;
	}
	pthread_mutex_unlock(&cl->lock);
}

int ovb_client_unload(struct ovb_client *cl, int timeout_ms)
{
	struct vmbus_channel_message_header req = {
		.msgtype = CHANNELMSG_UNLOAD,
	};
	struct cl_wait w;
	int rc, saved = cl->timeout_ms;

	if (!cl->connected)
		return 0;
	/*
	 * Hot adds and rescinds queued for the work thread name devices
	 * that remove_all() frees: drop them, and take no more (offers that
	 * still come are freed with the rest).
	 */
	pthread_mutex_lock(&cl->lock);
	cl->offers_done = false;
	ovb__cl_work_block(cl);
	pthread_mutex_unlock(&cl->lock);
	remove_all(cl);
	if (timeout_ms > 0)
		cl->timeout_ms = timeout_ms;
	/*
	 * Hosts before Windows Server 2012 R2 (VMBus < 3.0) never answer
	 * UNLOAD: Linux vmbus_initiate_unload sends nothing there.
	 */
	rc = 0;
	if (cl->version >= VMBUS_VERSION_WIN8_1) {
		ovb__cl_wait_init(cl, &w, CHANNELMSG_UNLOAD_RESPONSE, 0);
		rc = ovb__cl_post(cl, &req, sizeof(req));
		rc = rc ? rc : ovb__cl_wait(cl, &w);
		if (rc)
			ovb__cl_wait_cancel(cl, &w);
	}
	cl->timeout_ms = saved;
	cl->connected = false;
	cl->version = 0;
	pthread_mutex_lock(&cl->lock);
	cl->offers_done = false;
	ovb__cl_work_unblock(cl);
	pthread_mutex_unlock(&cl->lock);
	return rc;
}

void ovb_client_destroy(struct ovb_client *cl)
{
	if (!cl)
		return;
	pthread_mutex_lock(&cl->lock);
	cl->work_stop = true;
	pthread_cond_broadcast(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
	pthread_join(cl->worker, NULL);
	while (cl->work) {
		struct cl_work *w = cl->work;

		cl->work = w->next;
		free(w);
	}
	remove_all(cl);
	pthread_mutex_destroy(&cl->bind_lock);
	pthread_mutex_destroy(&cl->lock);
	pthread_cond_destroy(&cl->cond);
	free(cl);
}

size_t ovb_client_offers(struct ovb_client *cl, struct ovb_offer_info *out,
			 size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&cl->lock);
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
		const struct ovb_vsc_dev *dev = cl->dev[r];
		const struct vmbus_channel_offer_channel *o;

		if (!dev)
			continue;
		o = &dev->offer;
		if (n < max)
			out[n] = (struct ovb_offer_info){
				.relid = r,
				.subidx = o->sub_channel_index,
				.class_id = o->if_type,
				.instance_id = o->if_instance,
				.connection_id = o->connection_id,
				.dedicated = o->is_dedicated_interrupt & 1,
				.monitored = o->monitor_allocated & 1,
				.monitor_id = o->monitorid,
				.rescinded = dev->rescinded,
				.open = dev->chan != NULL,
				.driver = dev->primary ? (dev->primary->bound ?
					  dev->primary->drv->name : NULL)
					  : dev->bound ? dev->drv->name : NULL,
			};
		n++;
	}
	pthread_mutex_unlock(&cl->lock);
	return n;
}
