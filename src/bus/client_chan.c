// SPDX-License-Identifier: MIT
/*
 * The client's channels: ring allocation in guest memory, GPADL creation
 * (split into GPADL_HEADER + GPADL_BODY messages) and teardown,
 * OPEN_CHANNEL/CLOSECHANNEL, MODIFYCHANNEL, and how the guest signals the
 * host: an eventfd on the fast path, else HvSignalEvent on the offer's
 * connection id, the interrupt page (shared interrupt, before Win7) or the
 * monitor page.  Layer: bus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus/client_priv.h"
#include "openvmbus/atomic.h"
#include "openvmbus/log.h"
#include "openvmbus/ring.h"
#include "openvmbus/vsc.h"

/* ---- GPADLs -------------------------------------------------------------- */

int ovb_vsc_gpadl_create(struct ovb_vsc_dev *dev, const void *buf, size_t len,
			 uint32_t *handle)
{
	struct ovb_client *cl = dev->cl;
	uint64_t gpa = ovb_gmem_gpa(cl->gm, buf);
	struct ovb_gpa_range range;
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	uint64_t *words;
	size_t nwords, mlen;
	struct cl_wait w;
	uint32_t h;
	int rc = 0;

	if (gpa == UINT64_MAX || !len || len > UINT32_MAX ||
	    !ovb_gmem_ptr(cl->gm, gpa, len))
		return -EFAULT;
	range.byte_offset = gpa % HV_PAGE_SIZE;
	range.byte_count = (uint32_t)len;
	range.npfns = ovb_gpa_range_npfns(range.byte_offset, range.byte_count);
	nwords = 1 + range.npfns;
	words = calloc(nwords, sizeof(*words));
	if (!words)
		return -ENOMEM;
	uint64_t *pfns = words + 1;

	for (uint32_t i = 0; i < range.npfns; i++)
		pfns[i] = gpa / HV_PAGE_SIZE + i;
	range.pfns = pfns;
	ovb_gpadl_stream_fill(&range, 1, words);

	h = __atomic_fetch_add(&cl->next_gpadl, 1, __ATOMIC_RELAXED);
	ovb__cl_wait_init(cl, &w, CHANNELMSG_GPADL_CREATED, h);
	w.relid = dev->offer.child_relid;
	for (unsigned int i = 0;
	     !rc && (mlen = ovb_gpadl_msg(dev->offer.child_relid, h, 1, words,
					  nwords, i, msg));
	     i++)
		rc = ovb__cl_post(cl, msg, mlen);
	free(words);
	rc = rc ? rc : ovb__cl_wait(cl, &w);
	if (rc) {
		ovb__cl_wait_cancel(cl, &w);
		return rc;
	}
	struct vmbus_channel_gpadl_created r;

	memcpy(&r, w.msg, sizeof(r));
	if (r.creation_status) {
		ovb_peer("host refused GPADL %#x on relid %u: status %#x", h,
			 dev->offer.child_relid, r.creation_status);
		return -EIO;
	}
	*handle = h;
	return 0;
}

int ovb_vsc_gpadl_teardown(struct ovb_vsc_dev *dev, uint32_t handle)
{
	struct vmbus_channel_gpadl_teardown m = {
		.header.msgtype = CHANNELMSG_GPADL_TEARDOWN,
		.child_relid = dev->offer.child_relid,
		.gpadl = handle,
	};
	struct cl_wait w;
	int rc;

	if (dev->rescinded)
		return 0; /* the host dropped it with the offer */
	ovb__cl_wait_init(dev->cl, &w, CHANNELMSG_GPADL_TORNDOWN, handle);
	w.relid = dev->offer.child_relid;
	rc = ovb__cl_post(dev->cl, &m, sizeof(m));
	rc = rc ? rc : ovb__cl_wait(dev->cl, &w);
	if (rc)
		ovb__cl_wait_cancel(dev->cl, &w);
	return rc;
}

/* ---- signalling ------------------------------------------------------------ */

uint32_t ovb__cl_signal_conn_id(const struct ovb_vsc_dev *dev)
{
	return dev->cl->version == VMBUS_VERSION_WS2008
		       ? VMBUS_EVENT_CONNECTION_ID
		       : dev->offer.connection_id;
}

static int cl_chan_signal(struct ovb_chan *chan, void *role_ctx)
{
	struct ovb_vsc_dev *dev = role_ctx;
	struct ovb_client *cl = dev->cl;
	const struct vmbus_channel_offer_channel *o = &dev->offer;
	uint32_t relid = o->child_relid;

	if (dev->use_monitor) {
		struct hv_monitor_page *mp = (void *)((uint8_t *)cl->monitor +
						      HV_PAGE_SIZE);

		__atomic_fetch_or(
			OVB_U32(mp->trigger_group[o->monitorid / 32].pending),
			1u << (o->monitorid % 32), __ATOMIC_RELEASE);
		return 0;
	}
	if (cl->version == VMBUS_VERSION_WS2008 ||
	    !(o->is_dedicated_interrupt & 1)) {
		struct vmbus_interrupt_page *ip = cl->int_page;

		__atomic_fetch_or((uint32_t *)(void *)ip->send + relid / 32,
				  1u << (relid % 32), __ATOMIC_RELEASE);
		return cl->ops->signal_event(cl->link,
					     ovb__cl_signal_conn_id(dev));
	}
	return cl->ops->signal_event(cl->link, ovb__cl_signal_conn_id(dev));
}

static void cl_chan_failed(struct ovb_chan *chan, void *role_ctx, int err)
{
}

static const struct ovb_chan_role_ops cl_chan_role = {
	.signal = cl_chan_signal,
	.failed = cl_chan_failed,
};

/* ---- open and close ---------------------------------------------------------- */

static void close_post(struct ovb_vsc_dev *dev)
{
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_CLOSECHANNEL,
		.child_relid = dev->offer.child_relid,
	};

	ovb__cl_post(dev->cl, &m, sizeof(m));
}

/*
 * Tear down the ring GPADL.  False if the host did not confirm it: then it
 * may still map the ring pages, and reusing them for anything else would
 * let its writes land there.
 */
static bool ring_gpadl_release(struct ovb_vsc_dev *dev)
{
	int rc = ovb_vsc_gpadl_teardown(dev, dev->ring_gpadl);

	if (rc && rc != -ECONNRESET) {
		ovb_peer("relid %u: ring GPADL %#x not torn down (%d); its %zu "
			 "bytes stay allocated", dev->offer.child_relid,
			 dev->ring_gpadl, rc, dev->ring_bytes);
		return false;
	}
	return true;
}

/* Free the ring pages, unless the host may still map them. */
static void ring_free(struct ovb_vsc_dev *dev, bool host_may_map)
{
	if (!host_may_map)
		ovb_client_free(dev->cl, dev->ring, dev->ring_bytes);
	dev->ring = NULL;
}

/* Tear down the ring GPADL and free the ring pages (see above). */
static void ring_release(struct ovb_vsc_dev *dev)
{
	ring_free(dev, !ring_gpadl_release(dev));
}

/*
 * The fast path's two eventfds, or neither (both -1): without them the
 * channel signals through the link, so running out of fds is no failure.
 */
static void event_fds_new(int *kick, int *call)
{
	*kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*call = *kick >= 0 ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	if (*call < 0 && *kick >= 0) {
		close(*kick);
		*kick = -1;
	}
}

/*
 * Give the host copies of @kick and @call (the channel keeps waiting on
 * @call); from then on the channel signals by writing @kick.  If that
 * fails the channel keeps the slow path.  Consumes @kick either way.
 */
static void event_fds_give(struct ovb_vsc_dev *dev, int kick, int call)
{
	struct ovb_client *cl = dev->cl;
	int k = dup(kick), c = k >= 0 ? dup(call) : -1;

	if (c < 0) {
		if (k >= 0)
			close(k);
		close(kick);
		return;
	}
	/* The link owns @k and @c now, whatever it returns. */
	if (cl->ops->set_event_fds(cl->link, dev->offer.child_relid,
				   ovb__cl_signal_conn_id(dev), k, c)) {
		close(kick);
		return;
	}
	ovb__chan_set_peer_fds(dev->chan, -1, kick);
}

static int open_post(struct ovb_vsc_dev *dev, const struct ovb_vsc_open_params *p,
		     uint32_t downstream)
{
	struct vmbus_channel_open_channel o;
	struct vmbus_channel_open_result r;
	struct cl_wait w;
	uint32_t relid = dev->offer.child_relid;
	int rc;

	memset(&o, 0, sizeof(o));
	o.header.msgtype = CHANNELMSG_OPENCHANNEL;
	o.child_relid = relid;
	o.openid = relid;
	o.ringbuffer_gpadlhandle = dev->ring_gpadl;
	/*
	 * Before Win8 every channel interrupt goes to the VP that connected
	 * (Linux init_vp_index: VMBUS_CONNECT_CPU, VP 0).
	 */
	o.target_vp = dev->cl->version < VMBUS_VERSION_WIN8 ? 0 : p->target_vp;
	o.downstream_ringbuffer_pageoffset = downstream;
	if (p->userdata_len)
		memcpy(o.userdata, p->userdata,
		       p->userdata_len < 120 ? p->userdata_len : 120);
	ovb__cl_wait_init(dev->cl, &w, CHANNELMSG_OPENCHANNEL_RESULT, relid);
	w.relid = relid;
	rc = ovb__cl_post(dev->cl, &o, VMBUS_OPEN_CHANNEL_SIZE);
	rc = rc ? rc : ovb__cl_wait(dev->cl, &w);
	if (rc) {
		ovb__cl_wait_cancel(dev->cl, &w);
		return rc;
	}
	memcpy(&r, w.msg, sizeof(r));
	if (r.status) {
		ovb_peer("host refused to open relid %u: status %#x", relid,
			 r.status);
		return -EIO;
	}
	return 0;
}

int ovb_vsc_open(struct ovb_vsc_dev *dev, const struct ovb_vsc_open_params *p,
		 struct ovb_chan **out)
{
	struct ovb_client *cl = dev->cl;
	struct ovb_chan_params cp = { 0 };
	uint32_t relid = dev->offer.child_relid;
	uint32_t out_pages = p->out_ring / HV_PAGE_SIZE;
	bool host_may_map = false;
	uint64_t gpa;
	int kick = -1, call = -1, rc;
	struct ovb_ring r;
	uint8_t *ring;
	char name[64];

	if (dev->chan)
		return -EBUSY;
	if (!p->out_ring || !p->in_ring || p->out_ring % HV_PAGE_SIZE ||
	    p->in_ring % HV_PAGE_SIZE || p->userdata_len > 120)
		return -EINVAL;
	dev->ring_bytes = (size_t)p->out_ring + p->in_ring + 2 * HV_PAGE_SIZE;
	rc = ovb_client_alloc(cl, dev->ring_bytes, &dev->ring, &gpa);
	if (rc)
		return rc;
	ring = dev->ring;
	dev->use_monitor = p->use_monitor && dev->offer.monitor_allocated & 1;
	if (cl->ops->set_event_fds && !p->no_eventfd && !dev->use_monitor)
		event_fds_new(&kick, &call);
	/* Guest->host ring first, host->guest after it; we own both. */
	snprintf(name, sizeof(name), "relid %u", relid);
	cp.name = name;
	cp.relid = relid;
	cp.subidx = dev->offer.sub_channel_index;
	cp.out_ctl = ring;
	cp.out_data = ring + HV_PAGE_SIZE;
	cp.out_size = p->out_ring;
	cp.in_ctl = ring + (out_pages + 1) * HV_PAGE_SIZE;
	cp.in_data = ring + (out_pages + 2) * HV_PAGE_SIZE;
	cp.in_size = p->in_ring;
	cp.wait_fd = call;
	cp.signal_fd = -1;
	cp.role = &cl_chan_role;
	cp.role_ctx = dev;
	cp.recv = p->recv;
	cp.ctx = p->ctx;
	if ((rc = ovb__chan_create(&cp, &dev->chan)) != 0)
		goto err_chan;
	ovb_ring_attach(&r, cp.out_ctl, cp.out_data, cp.out_size, "init");
	ovb_ring_init_control(&r);
	ovb_ring_attach(&r, cp.in_ctl, cp.in_data, cp.in_size, "init");
	ovb_ring_init_control(&r);
	if ((rc = ovb_vsc_gpadl_create(dev, dev->ring, dev->ring_bytes,
				       &dev->ring_gpadl)) != 0)
		goto err_gpadl;
	if ((rc = open_post(dev, p, out_pages + 1)) != 0)
		goto err_open;
	if (kick >= 0)
		event_fds_give(dev, kick, call);
	kick = -1;
	if ((rc = ovb__chan_start(dev->chan)) != 0)
		goto err_start;
	*out = dev->chan;
	return 0;

err_start:
err_open:
	/*
	 * A host that refused, or did not answer in time, may hold the rings
	 * all the same: have it close them before the GPADL goes (a host
	 * that did not open ignores this; one that is gone cannot answer).
	 */
	if (rc != -ECONNRESET)
		close_post(dev);
	host_may_map = !ring_gpadl_release(dev);
err_gpadl:
	ovb__chan_destroy(dev->chan); /* closes @call, its wait fd */
	dev->chan = NULL;
	call = -1;
err_chan:
	if (call >= 0)
		close(call);
	if (kick >= 0)
		close(kick);
	ring_free(dev, host_may_map);
	return rc;
}

int ovb_vsc_open_user(struct ovb_vsc_dev *dev, uint32_t out_ring,
		      uint32_t in_ring, void **ring)
{
	struct ovb_vsc_open_params p = { .out_ring = out_ring,
					 .in_ring = in_ring };
	uint32_t out_pages = out_ring / HV_PAGE_SIZE;
	struct ovb_ring r;
	uint8_t *va;
	uint64_t gpa;
	int rc;

	if (dev->chan || dev->ring)
		return -EBUSY;
	if (!out_ring || !in_ring || out_ring % HV_PAGE_SIZE ||
	    in_ring % HV_PAGE_SIZE)
		return -EINVAL;
	dev->ring_bytes = (size_t)out_ring + in_ring + 2 * HV_PAGE_SIZE;
	rc = ovb_client_alloc(dev->cl, dev->ring_bytes, &dev->ring, &gpa);
	if (rc)
		return rc;
	va = dev->ring;
	ovb_ring_attach(&r, va, va + HV_PAGE_SIZE, out_ring, "init");
	ovb_ring_init_control(&r);
	va += (out_pages + 1) * HV_PAGE_SIZE;
	ovb_ring_attach(&r, va, va + HV_PAGE_SIZE, in_ring, "init");
	ovb_ring_init_control(&r);
	/* The user driver polls: the host must not signal (uio_hv_generic). */
	__atomic_store_n(OVB_U32(((struct vmbus_ring_control *)(void *)va)
					 ->interrupt_mask),
			 1, __ATOMIC_RELEASE);
	rc = ovb_vsc_gpadl_create(dev, dev->ring, dev->ring_bytes,
				  &dev->ring_gpadl);
	if (rc) {
		ovb_client_free(dev->cl, dev->ring, dev->ring_bytes);
		dev->ring = NULL;
		return rc;
	}
	rc = open_post(dev, &p, out_pages + 1);
	if (rc) {
		if (rc != -ECONNRESET)
			close_post(dev);
		ring_release(dev);
		return rc;
	}
	dev->user_rings = true;
	*ring = dev->ring;
	return 0;
}

void ovb_client_sync_pages(struct ovb_client *cl, void **int_page,
			   void **monitor)
{
	*int_page = cl->int_page;
	*monitor = cl->monitor;
}

void ovb_vsc_close(struct ovb_vsc_dev *dev)
{
	struct ovb_chan *chan = dev->chan;

	if (dev->user_rings) {
		dev->user_rings = false;
		if (!dev->rescinded)
			close_post(dev);
		ring_release(dev);
		return;
	}
	if (!chan)
		return;
	ovb__chan_stop(chan);
	/*
	 * Rescinded or not, an open channel is closed: Linux
	 * vmbus_close_internal posts CLOSECHANNEL either way (only the
	 * GPADL teardown is skipped after a rescind: no answer would come).
	 */
	close_post(dev);
	pthread_mutex_lock(&dev->cl->lock);
	dev->chan = NULL;
	pthread_mutex_unlock(&dev->cl->lock);
	ovb__chan_destroy(chan);
	/* The host unmaps the rings at close, so the GPADL is free now. */
	ring_release(dev);
}

int ovb_vsc_modify(struct ovb_vsc_dev *dev, uint32_t target_vp)
{
	struct vmbus_channel_modify_channel m = {
		.header.msgtype = CHANNELMSG_MODIFYCHANNEL,
		.child_relid = dev->offer.child_relid,
		.target_vp = target_vp,
	};
	struct vmbus_channel_modify_channel_response r;
	struct cl_wait w;
	int rc;

	if (dev->cl->version < VMBUS_VERSION_WIN10_V4_1)
		return -EPROTONOSUPPORT;
	if (dev->cl->version < VMBUS_VERSION_WIN10_V5_3)
		return ovb__cl_post(dev->cl, &m, sizeof(m));
	ovb__cl_wait_init(dev->cl, &w, CHANNELMSG_MODIFYCHANNEL_RESPONSE,
			  m.child_relid);
	rc = ovb__cl_post(dev->cl, &m, sizeof(m));
	rc = rc ? rc : ovb__cl_wait(dev->cl, &w);
	if (rc) {
		ovb__cl_wait_cancel(dev->cl, &w);
		return rc;
	}
	memcpy(&r, w.msg, sizeof(r));
	return r.status ? -EIO : 0;
}
