// SPDX-License-Identifier: MIT
/*
 * The VMBus client (guest role): version negotiation newest first, the
 * host-message parser (one validator per type), offers and their drivers,
 * rescind and hot add on a work thread, unload and link loss.  Channels
 * and GPADLs are in client_chan.c.  Layer: bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/client_priv.h"
#include "openvmbus/client.h"
#include "openvmbus/deadline.h"
#include "openvmbus/hv.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"

/* ---- waiting for the host ---------------------------------------------- */

void ovb__cl_wait_init(struct ovb_client *cl, struct cl_wait *w,
		       uint32_t type, uint32_t key)
{
	memset(w, 0, offsetof(struct cl_wait, msg));
	w->type = type;
	w->key = key;
	pthread_mutex_lock(&cl->lock);
	w->next = cl->waits;
	cl->waits = w;
	pthread_mutex_unlock(&cl->lock);
}

static void wait_unlink(struct ovb_client *cl, struct cl_wait *w)
{
	for (struct cl_wait **pp = &cl->waits; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
}

void ovb__cl_wait_cancel(struct ovb_client *cl, struct cl_wait *w)
{
	pthread_mutex_lock(&cl->lock);
	wait_unlink(cl, w);
	pthread_mutex_unlock(&cl->lock);
}

int ovb__cl_wait(struct ovb_client *cl, struct cl_wait *w)
{
	struct timespec dl;
	int rc = 0;

	ovb_deadline_ms(&dl, cl->timeout_ms);
	pthread_mutex_lock(&cl->lock);
	if (cl->has_deadline && !ovb_ts_reached(&cl->deadline, &dl))
		dl = cl->deadline;
	while (!w->done && !w->rescinded && !cl->dead && !rc)
		rc = ovb_cond_timedwait(&cl->cond, &cl->lock, &dl);
	wait_unlink(cl, w);
	rc = w->done ? 0 : cl->dead ? -ECONNRESET
		: w->rescinded ? -ENODEV : -ETIMEDOUT;
	pthread_mutex_unlock(&cl->lock);
	return rc;
}

void ovb_client_set_deadline(struct ovb_client *cl, int ms)
{
	pthread_mutex_lock(&cl->lock);
	if (ms < 0) {
		cl->has_deadline = false;
	} else {
		ovb_deadline_ms(&cl->deadline, ms);
		cl->has_deadline = true;
	}
	pthread_cond_broadcast(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
}

int ovb__cl_post(struct ovb_client *cl, const void *msg, size_t len)
{
	uint32_t conn = cl->msg_conn_id ? cl->msg_conn_id
					: VMBUS_MESSAGE_CONNECTION_ID;

	if (__atomic_load_n(&cl->dead, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	return cl->ops->post_message(cl->link, conn, msg, len);
}

/* ---- creation ---------------------------------------------------------- */

static void *cl_work_main(void *arg);

int ovb_client_create(const struct ovb_client_link_ops *ops, void *link,
		      struct ovb_gmem *gm, struct ovb_client **out)
{
	struct ovb_client *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return -ENOMEM;
	cl->ops = ops;
	cl->link = link;
	cl->gm = gm;
	cl->timeout_ms = 10000;
	cl->next_gpadl = 0xE1E10;
	cl->work_tail = &cl->work;
	pthread_mutex_init(&cl->lock, NULL);
	pthread_mutex_init(&cl->bind_lock, NULL);
	ovb_cond_init(&cl->cond);
	if (pthread_create(&cl->worker, NULL, cl_work_main, cl)) {
		free(cl);
		return -EAGAIN;
	}
	*out = cl;
	return 0;
}

int ovb_client_register_driver(struct ovb_client *cl,
			       const struct ovb_vsc_driver *drv, void *ctx)
{
	if (cl->ndrv == CL_MAX_DRIVERS)
		return -ENOSPC;
	cl->drv[cl->ndrv].drv = drv;
	cl->drv[cl->ndrv].ctx = ctx;
	cl->ndrv++;
	return 0;
}

void ovb_client_set_timeout(struct ovb_client *cl, int ms)
{
	cl->timeout_ms = ms;
}

uint32_t ovb_client_version(const struct ovb_client *cl)
{
	return __atomic_load_n(&cl->version, __ATOMIC_RELAXED);
}

struct ovb_gmem *ovb_client_gmem(struct ovb_client *cl) { return cl->gm; }

const struct vmbus_channel_offer_channel *
ovb_vsc_dev_offer(const struct ovb_vsc_dev *dev)
{
	return &dev->offer;
}

struct ovb_client *ovb_vsc_dev_client(const struct ovb_vsc_dev *dev)
{
	return dev->cl;
}

void *ovb_vsc_dev_get_ctx(const struct ovb_vsc_dev *dev) { return dev->ctx; }
void ovb_vsc_dev_set_ctx(struct ovb_vsc_dev *dev, void *ctx) { dev->ctx = ctx; }
struct ovb_chan *ovb_vsc_dev_chan(const struct ovb_vsc_dev *dev) { return dev->chan; }

int ovb_client_alloc(struct ovb_client *cl, size_t bytes, void **hva,
		     uint64_t *gpa)
{
	size_t pages = (bytes + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;

	return ovb_gmem_alloc(cl->gm, pages ? pages : 1, gpa, hva);
}

void ovb_client_free(struct ovb_client *cl, void *hva, size_t bytes)
{
	size_t pages = (bytes + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;

	if (hva)
		ovb_gmem_free(cl->gm, ovb_gmem_gpa(cl->gm, hva),
			      pages ? pages : 1);
}

/* ---- drivers and the work thread ------------------------------------------ */

static void cl_queue(struct ovb_client *cl, int kind, struct ovb_vsc_dev *dev)
{
	struct cl_work *w;

	/* cl->lock held by the caller */
	if (cl->work_blocked)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->kind = kind;
	w->dev = dev;
	*cl->work_tail = w;
	cl->work_tail = &w->next;
	pthread_cond_broadcast(&cl->cond);
}

/* Tell the primary's driver of @sub once, when both exist and are bound. */
static void cl_notify_sub(struct ovb_client *cl, struct ovb_vsc_dev *sub)
{
	struct ovb_vsc_dev *p = sub->primary;
	bool notify;

	pthread_mutex_lock(&cl->lock);
	notify = p->bound && !sub->notified && !sub->rescinded;
	if (notify)
		sub->notified = true;
	pthread_mutex_unlock(&cl->lock);
	if (notify && p->drv->subchannel)
		p->drv->subchannel(p, sub, p->drv_ctx);
}

/*
 * Bind a primary to its driver, or tell a bound primary's driver of a
 * sub-channel.  A sub-channel offer may arrive while its primary is still
 * probing (the driver asked for sub-channels from probe): it is held and
 * delivered as soon as the probe succeeds.
 */
void ovb__cl_bind(struct ovb_client *cl, struct ovb_vsc_dev *dev)
{
	/* Connect and the work thread may both be handed a hot add. */
	if (dev->probed)
		return;
	dev->probed = true;
	if (dev->primary) {
		cl_notify_sub(cl, dev);
		return;
	}
	for (unsigned int i = 0; i < cl->ndrv; i++) {
		const struct ovb_vsc_driver *drv = cl->drv[i].drv;
		bool ok;

		if (memcmp(&drv->class_id, &dev->offer.if_type,
			   sizeof(drv->class_id)))
			continue;
		dev->drv = drv;
		dev->drv_ctx = cl->drv[i].ctx;
		ok = !drv->probe || drv->probe(dev, dev->drv_ctx) == 0;
		if (!ok) {
			ovb_warn("driver %s: probe of relid %u failed",
				 drv->name, dev->offer.child_relid);
			return;
		}
		/* Sub-channel offers that came during probe, in relid order. */
		struct ovb_vsc_dev *held[64];
		unsigned int n = 0;

		pthread_mutex_lock(&cl->lock);
		dev->bound = true;
		for (uint32_t r = 1; r <= VMBUS_MAX_RELID && n < 64; r++) {
			struct ovb_vsc_dev *sub = cl->dev[r];

			if (sub && sub->primary == dev && !sub->notified &&
			    !sub->rescinded) {
				sub->notified = true;
				held[n++] = sub;
			}
		}
		pthread_mutex_unlock(&cl->lock);
		for (unsigned int k = 0; k < n && drv->subchannel; k++)
			drv->subchannel(dev, held[k], dev->drv_ctx);
		return;
	}
}

void ovb__cl_unbind(struct ovb_client *cl, struct ovb_vsc_dev *dev)
{
	/* A sub-channel belongs to its primary's driver. */
	struct ovb_vsc_dev *owner = dev->primary ? dev->primary : dev;

	if (owner->bound && owner->drv->remove)
		owner->drv->remove(dev, owner->drv_ctx);
	dev->bound = false;
	if (dev->chan)
		ovb_vsc_close(dev);
}

static void cl_release(struct ovb_client *cl, struct ovb_vsc_dev *dev)
{
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RELID_RELEASED,
		.child_relid = dev->offer.child_relid,
	};

	/* Sub-channels of a rescinded primary are rescinded with it. */
	ovb__cl_unbind(cl, dev);
	ovb__cl_post(cl, &m, sizeof(m));
	pthread_mutex_lock(&cl->lock);
	if (cl->dev[m.child_relid] == dev)
		cl->dev[m.child_relid] = NULL;
	pthread_mutex_unlock(&cl->lock);
	free(dev);
}

static void *cl_work_main(void *arg)
{
	struct ovb_client *cl = arg;

	pthread_mutex_lock(&cl->lock);
	while (!cl->work_stop) {
		struct cl_work *w = cl->work;

		if (!w) {
			pthread_cond_wait(&cl->cond, &cl->lock);
			continue;
		}
		cl->work = w->next;
		if (!cl->work)
			cl->work_tail = &cl->work;
		cl->work_busy = true;
		pthread_mutex_unlock(&cl->lock);
		pthread_mutex_lock(&cl->bind_lock);
		if (w->kind == WORK_OFFER)
			ovb__cl_bind(cl, w->dev);
		else
			cl_release(cl, w->dev);
		pthread_mutex_unlock(&cl->bind_lock);
		free(w);
		pthread_mutex_lock(&cl->lock);
		cl->work_busy = false;
		pthread_cond_broadcast(&cl->cond);
	}
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

void ovb__cl_work_block(struct ovb_client *cl)
{
	cl->work_blocked = true;
	while (cl->work) {
		struct cl_work *w = cl->work;

		cl->work = w->next;
		free(w);
	}
	cl->work_tail = &cl->work;
	while (cl->work_busy)
		pthread_cond_wait(&cl->cond, &cl->lock);
}

void ovb__cl_work_unblock(struct ovb_client *cl)
{
	cl->work_blocked = false;
}

/* ---- host messages ------------------------------------------------------- */

static void on_offer(struct ovb_client *cl, const void *msg, size_t len)
{
	const struct vmbus_channel_offer_channel *o = msg;
	struct ovb_vsc_dev *dev;

	if (len < sizeof(*o) || o->child_relid == 0 ||
	    o->child_relid > VMBUS_MAX_RELID || cl->dev[o->child_relid] ||
	    (o->monitor_allocated & 1 && o->monitorid >= VMBUS_MONITOR_IDS)) {
		ovb_peer("host: bad OFFERCHANNEL (relid %u, %zu bytes) ignored",
			 len >= sizeof(*o) ? o->child_relid : 0, len);
		return;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return;
	dev->cl = cl;
	memcpy(&dev->offer, o, sizeof(*o));
	if (o->sub_channel_index) {
		for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
			struct ovb_vsc_dev *p = cl->dev[r];

			/* A rescinded primary is about to be freed. */
			if (p && !p->offer.sub_channel_index && !p->rescinded &&
			    !memcmp(&p->offer.if_instance, &o->if_instance,
				    sizeof(o->if_instance)))
				dev->primary = p;
		}
		if (!dev->primary) {
			ovb_peer("host: sub-channel offer relid %u without a "
				 "primary ignored", o->child_relid);
			free(dev);
			return;
		}
	}
	cl->dev[o->child_relid] = dev;
	if (cl->offers_done)
		cl_queue(cl, WORK_OFFER, dev);
}

/* Mark @dev rescinded, fail its channel, queue its release.  cl->lock held. */
static void rescind_locked(struct ovb_client *cl, struct ovb_vsc_dev *dev)
{
	/* Waits about this channel (open, GPADLs) end now: no answer comes. */
	for (struct cl_wait *w = cl->waits; w; w = w->next)
		if (w->relid == dev->offer.child_relid) {
			w->rescinded = true;
			pthread_cond_broadcast(&cl->cond);
		}
	dev->rescinded = true;
	if (dev->chan)
		ovb_chan_fail(dev->chan, -ECONNRESET, "rescinded by the host");
	cl_queue(cl, WORK_RESCIND, dev);
}

static void on_rescind(struct ovb_client *cl, const void *msg, size_t len)
{
	const struct vmbus_channel_relid_msg *m = msg;
	struct ovb_vsc_dev *dev;

	if (len < sizeof(*m)) {
		ovb_peer("host: RESCIND of %zu bytes ignored", len);
		return;
	}
	if (m->child_relid > VMBUS_MAX_RELID ||
	    !(dev = cl->dev[m->child_relid]) || dev->rescinded) {
		ovb_peer("host: RESCIND for unknown relid %u ignored",
			 m->child_relid);
		return;
	}
	/*
	 * A host rescinds sub-channels before their primary.  One that does
	 * not would leave them pointing at a freed primary: they go first.
	 */
	for (uint32_t r = 1; !dev->primary && r <= VMBUS_MAX_RELID; r++) {
		struct ovb_vsc_dev *sub = cl->dev[r];

		if (!sub || sub->primary != dev || sub->rescinded)
			continue;
		ovb_peer("host: rescind of relid %u before its sub-channel "
			 "relid %u; rescinding that too", m->child_relid, r);
		rescind_locked(cl, sub);
	}
	rescind_locked(cl, dev);
}

/* Key of a response message (relid or GPADL), or -1 if malformed. */
static int64_t response_key(uint32_t type, const void *msg, size_t len)
{
	static const uint16_t sizes[CHANNELMSG_COUNT] = {
		[CHANNELMSG_ALLOFFERS_DELIVERED] = 8,
		[CHANNELMSG_OPENCHANNEL_RESULT] = 20,
		[CHANNELMSG_GPADL_CREATED] = 20,
		[CHANNELMSG_GPADL_TORNDOWN] = 12,
		[CHANNELMSG_VERSION_RESPONSE] = 16,
		[CHANNELMSG_UNLOAD_RESPONSE] = 8,
		[CHANNELMSG_MODIFYCHANNEL_RESPONSE] = 16,
		[CHANNELMSG_TL_CONNECT_RESULT] = 44,
	};
	const uint32_t *w = msg;

	if (type >= CHANNELMSG_COUNT || !sizes[type] || len < sizes[type])
		return -1;
	switch (type) {
	case CHANNELMSG_OPENCHANNEL_RESULT:
	case CHANNELMSG_MODIFYCHANNEL_RESPONSE:
		return w[2]; /* relid */
	case CHANNELMSG_GPADL_CREATED:
		return w[3]; /* gpadl */
	case CHANNELMSG_GPADL_TORNDOWN:
		return w[2]; /* gpadl */
	default:
		return 0;
	}
}

void ovb_client_deliver_message(struct ovb_client *cl, uint32_t sint,
				const void *msg, size_t len)
{
	struct vmbus_channel_message_header h;
	int64_t key;

	if (len < sizeof(h) || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT) {
		ovb_peer("host: message of %zu bytes ignored", len);
		return;
	}
	memcpy(&h, msg, sizeof(h));
	pthread_mutex_lock(&cl->lock);
	if (h.msgtype == CHANNELMSG_OFFERCHANNEL) {
		on_offer(cl, msg, len);
	} else if (h.msgtype == CHANNELMSG_RESCIND_CHANNELOFFER) {
		on_rescind(cl, msg, len);
	} else if ((key = response_key(h.msgtype, msg, len)) < 0) {
		ovb_peer("host: unexpected or malformed message type %u (%zu "
			 "bytes) ignored", h.msgtype, len);
	} else {
		struct cl_wait *w;

		if (h.msgtype == CHANNELMSG_ALLOFFERS_DELIVERED)
			cl->offers_done = true;
		for (w = cl->waits; w; w = w->next)
			if (!w->done && w->type == h.msgtype &&
			    w->key == (uint32_t)key)
				break;
		if (w) {
			memcpy(w->msg, msg, len);
			w->len = len;
			w->done = true;
			pthread_cond_broadcast(&cl->cond);
		} else if (h.msgtype != CHANNELMSG_ALLOFFERS_DELIVERED) {
			ovb_peer("host: unsolicited message type %u (key "
				 "%#llx) ignored", h.msgtype,
				 (unsigned long long)key);
		}
	}
	pthread_mutex_unlock(&cl->lock);
}

void ovb_client_deliver_event(struct ovb_client *cl, uint32_t relid)
{
	struct ovb_vsc_dev *dev;

	if (relid == 0 || relid > VMBUS_MAX_RELID)
		return;
	pthread_mutex_lock(&cl->lock);
	dev = cl->dev[relid];
	if (dev && dev->chan)
		ovb__chan_peer_signal(dev->chan);
	pthread_mutex_unlock(&cl->lock);
}

bool ovb_client_host_gone(const struct ovb_client *cl)
{
	return __atomic_load_n(&cl->dead, __ATOMIC_ACQUIRE);
}

void ovb_client_link_down(struct ovb_client *cl)
{
	pthread_mutex_lock(&cl->lock);
	__atomic_store_n(&cl->dead, true, __ATOMIC_RELEASE);
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++)
		if (cl->dev[r] && cl->dev[r]->chan)
			ovb_chan_fail(cl->dev[r]->chan, -ECONNRESET,
				      "the host went away");
	pthread_cond_broadcast(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
}
