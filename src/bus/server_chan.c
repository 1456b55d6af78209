// SPDX-License-Identifier: MIT
/*
 * Server side of GPADLs and channel open/close: reassembly of
 * GPADL_HEADER/GPADL_BODY, validation of every PFN against guest memory,
 * reference-counted teardown, mapping of the ring GPADL into the two rings
 * on OPEN_CHANNEL, and the channel's role callbacks.  Layer: bus.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/server_priv.h"
#include "openvmbus/log.h"
#include "openvmbus/vsp.h"

#define GPADL_MAX_RANGES 64

/* ---- GPADLs ------------------------------------------------------------------- */

static struct srv_gpadl *gpadl_find(struct ovb_partition *part, uint32_t h)
{
	for (struct srv_gpadl *g = part->gpadls; g; g = g->next)
		if (g->handle == h)
			return g;
	return NULL;
}

static void gpadl_created(struct ovb_partition *part, uint32_t relid,
			  uint32_t handle, uint32_t status)
{
	struct vmbus_channel_gpadl_created m = {
		.header.msgtype = CHANNELMSG_GPADL_CREATED,
		.child_relid = relid,
		.gpadl = handle,
		.creation_status = status,
	};

	ovb__srv_send(part, &m, sizeof(m));
}

static void gpadl_torndown(struct ovb_partition *part, uint32_t handle)
{
	struct vmbus_channel_gpadl_torndown m = {
		.header.msgtype = CHANNELMSG_GPADL_TORNDOWN,
		.gpadl = handle,
	};

	ovb__srv_send(part, &m, sizeof(m));
}

static void gpadl_free(struct srv_gpadl *g)
{
	ovb_gpadl_asm_free(&g->words);
	free(g->ranges);
	free(g);
}

/* A reassembled GPADL: validate it and every PFN, then keep it. */
static int gpadl_finish(struct ovb_partition *part, struct ovb_gpadl_asm *a)
{
	struct srv_gpadl *g = calloc(1, sizeof(*g));
	int n;

	if (!g)
		return -ENOMEM;
	g->ranges = calloc(GPADL_MAX_RANGES, sizeof(*g->ranges));
	n = g->ranges ? ovb_gpadl_asm_ranges(a, g->ranges, GPADL_MAX_RANGES)
		      : -ENOMEM;
	for (int i = 0; n > 0 && i < n; i++)
		for (uint32_t p = 0; p < g->ranges[i].npfns; p++) {
			uint64_t pfn = g->ranges[i].pfns[p];

			if (pfn > UINT64_MAX / HV_PAGE_SIZE ||
			    !ovb_gmem_ptr(part->gmem, pfn * HV_PAGE_SIZE,
					  HV_PAGE_SIZE)) {
				ovb_peer("%s: GPADL %#x range %d: PFN %#llx "
					 "outside guest memory", part->name,
					 a->handle, i, (unsigned long long)pfn);
				n = -EFAULT;
				break;
			}
		}
	if (n <= 0) {
		if (n == -EBADMSG)
			ovb_peer("%s: GPADL %#x: malformed ranges", part->name,
				 a->handle);
		gpadl_created(part, a->relid, a->handle,
			      VMBUS_STATUS_UNSUCCESSFUL);
		ovb_gpadl_asm_free(a);
		free(g->ranges);
		free(g);
		return n ? n : -EBADMSG;
	}
	g->handle = a->handle;
	g->relid = a->relid;
	g->nranges = (uint32_t)n;
	g->words = *a; /* takes the PFN storage the ranges point into */
	g->next = part->gpadls;
	part->gpadls = g;
	gpadl_created(part, g->relid, g->handle, VMBUS_STATUS_SUCCESS);
	return 0;
}

static int asm_slot(struct ovb_partition *part, uint32_t handle)
{
	for (int i = 0; i < SRV_MAX_ASM; i++)
		if (part->asm_used[i] && part->asm_[i].handle == handle)
			return i;
	return -1;
}

/*
 * A guest may not make the host hold GPADLs without bound: that memory is
 * every partition's.  True if @a fits beside what the partition holds.
 */
static bool gpadl_quota_ok(struct ovb_partition *part,
			   const struct ovb_gpadl_asm *a)
{
	unsigned int n = 1;
	size_t words = a->nwords;

	for (const struct srv_gpadl *g = part->gpadls; g; g = g->next) {
		n++;
		words += g->words.nwords;
	}
	for (int i = 0; i < SRV_MAX_ASM; i++)
		if (part->asm_used[i]) {
			n++;
			words += part->asm_[i].nwords;
		}
	if (n <= SRV_MAX_GPADLS && words <= SRV_MAX_GPADL_WORDS)
		return true;
	ovb_peer("%s: GPADL %#x refused: over the partition's quota of %u "
		 "GPADLs and %u PFN words (%u GPADLs, %zu words with it)",
		 part->name, a->handle, SRV_MAX_GPADLS, SRV_MAX_GPADL_WORDS, n,
		 words);
	return false;
}

int ovb__srv_gpadl_header(struct ovb_partition *part, const void *msg,
			  size_t len)
{
	const struct vmbus_channel_gpadl_header *h = msg;
	struct ovb_gpadl_asm a;
	struct ovb_vsp_dev *dev;
	int rc, slot;

	if (len < sizeof(*h))
		return -EBADMSG;
	dev = h->child_relid <= VMBUS_MAX_RELID ? part->dev[h->child_relid]
						: NULL;
	if (!dev || dev->state == OFFER_RESCINDED) {
		ovb_peer("%s: GPADL_HEADER %#x for unknown relid %u", part->name,
			 h->gpadl, h->child_relid);
		gpadl_created(part, h->child_relid, h->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		return -EPROTO;
	}
	if (gpadl_find(part, h->gpadl) || asm_slot(part, h->gpadl) >= 0) {
		ovb_peer("%s: GPADL handle %#x already in use", part->name,
			 h->gpadl);
		gpadl_created(part, h->child_relid, h->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		return -EPROTO;
	}
	rc = ovb_gpadl_asm_start(&a, msg, len);
	if (rc < 0) {
		ovb_peer("%s: GPADL_HEADER %#x malformed (range_buflen %u, "
			 "rangecount %u, %zu bytes)", part->name, h->gpadl,
			 h->range_buflen, h->rangecount, len);
		ovb_gpadl_asm_free(&a);
		gpadl_created(part, h->child_relid, h->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		return rc;
	}
	if (!gpadl_quota_ok(part, &a)) {
		ovb_gpadl_asm_free(&a);
		gpadl_created(part, h->child_relid, h->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		return -ENOSPC;
	}
	if (rc == 1)
		return gpadl_finish(part, &a);
	for (slot = 0; slot < SRV_MAX_ASM && part->asm_used[slot]; slot++)
		;
	if (slot == SRV_MAX_ASM) {
		ovb_peer("%s: too many GPADLs in flight", part->name);
		ovb_gpadl_asm_free(&a);
		gpadl_created(part, h->child_relid, h->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		return -EPROTO;
	}
	part->asm_[slot] = a;
	part->asm_used[slot] = true;
	return 0;
}

int ovb__srv_gpadl_body(struct ovb_partition *part, const void *msg,
			size_t len)
{
	const struct vmbus_channel_gpadl_body *b = msg;
	int slot, rc;

	if (len < sizeof(*b))
		return -EBADMSG;
	slot = asm_slot(part, b->gpadl);
	if (slot < 0) {
		ovb_peer("%s: GPADL_BODY for unknown GPADL %#x", part->name,
			 b->gpadl);
		return -EPROTO;
	}
	rc = ovb_gpadl_asm_body(&part->asm_[slot], msg, len);
	if (rc == 0)
		return 0;
	part->asm_used[slot] = false;
	if (rc < 0) {
		ovb_peer("%s: GPADL_BODY %#x: more PFNs than announced",
			 part->name, b->gpadl);
		gpadl_created(part, part->asm_[slot].relid, b->gpadl,
			      VMBUS_STATUS_UNSUCCESSFUL);
		ovb_gpadl_asm_free(&part->asm_[slot]);
		return rc;
	}
	return gpadl_finish(part, &part->asm_[slot]);
}

static void gpadl_remove(struct ovb_partition *part, struct srv_gpadl *g)
{
	for (struct srv_gpadl **pp = &part->gpadls; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	gpadl_free(g);
}

int ovb__srv_gpadl_teardown(struct ovb_partition *part, const void *msg,
			    size_t len)
{
	const struct vmbus_channel_gpadl_teardown *t = msg;
	struct srv_gpadl *g;

	if (len < sizeof(*t))
		return -EBADMSG;
	g = gpadl_find(part, t->gpadl);
	if (!g) {
		ovb_peer("%s: GPADL_TEARDOWN of unknown GPADL %#x", part->name,
			 t->gpadl);
		return -EPROTO;
	}
	if (g->refs) {
		/* Still mapped by a ring or a device: finish on release. */
		ovb_peer("%s: GPADL_TEARDOWN of GPADL %#x still in use by "
			 "relid %u; deferred until released", part->name,
			 t->gpadl, g->relid);
		g->teardown_pending = true;
		return -EBUSY;
	}
	gpadl_remove(part, g);
	gpadl_torndown(part, t->gpadl);
	return 0;
}

static void gpadl_unref(struct ovb_partition *part, uint32_t handle)
{
	struct srv_gpadl *g = gpadl_find(part, handle);

	if (!g || --g->refs > 0)
		return;
	if (g->teardown_pending) {
		gpadl_remove(part, g);
		gpadl_torndown(part, handle);
	}
}

void ovb__srv_gpadl_free_relid(struct ovb_partition *part, uint32_t relid)
{
	struct srv_gpadl **pp = &part->gpadls;

	while (*pp) {
		struct srv_gpadl *g = *pp;

		if (relid == UINT32_MAX || g->relid == relid) {
			*pp = g->next;
			gpadl_free(g);
		} else {
			pp = &g->next;
		}
	}
}

static int gpadl_map(struct ovb_partition *part, struct srv_gpadl *g,
		     struct ovb_gmem_view *view)
{
	const uint64_t *pfns = g->ranges[0].pfns;
	size_t n = 0;

	/* A mapped GPADL is one page-aligned range of whole pages. */
	if (g->nranges != 1 || g->ranges[0].byte_offset ||
	    g->ranges[0].byte_count % HV_PAGE_SIZE)
		return -EINVAL;
	n = g->ranges[0].npfns;
	return ovb_gmem_map_pfns(part->gmem, pfns, n, view);
}

int ovb_vsp_gpadl_get(struct ovb_vsp_dev *dev, uint32_t handle,
		      struct ovb_gmem_view *view)
{
	struct ovb_partition *part = dev->part;
	struct srv_gpadl *g;
	int rc;

	ovb__srv_lock(part);
	g = gpadl_find(part, handle);
	if (!g || g->relid != dev->relid || g->teardown_pending)
		rc = -ENOENT;
	else
		rc = gpadl_map(part, g, view);
	if (!rc)
		g->refs++;
	ovb__srv_unlock(part);
	return rc;
}

void ovb_vsp_gpadl_put(struct ovb_vsp_dev *dev, uint32_t handle,
		       struct ovb_gmem_view *view)
{
	struct ovb_partition *part = dev->part;

	ovb__srv_lock(part);
	ovb_gmem_unmap(view);
	gpadl_unref(part, handle);
	ovb__srv_unlock(part);
}

/* ---- open and close ---------------------------------------------------------- */

static int srv_chan_signal(struct ovb_chan *chan, void *role_ctx)
{
	struct ovb_vsp_dev *dev = role_ctx;
	struct ovb_partition *part = dev->part;

	/* Before Win8 the guest also reads the recv half of the int page. */
	if (part->int_page && part->version < VMBUS_VERSION_WIN8)
		__atomic_fetch_or((uint32_t *)(void *)part->int_page->recv +
					  dev->relid / 32,
				  1u << (dev->relid % 32), __ATOMIC_RELEASE);
	if (part->ops->signal_vp)
		return part->ops->signal_vp(part->link, dev->relid,
					    __atomic_load_n(&dev->target_vp,
							    __ATOMIC_RELAXED));
	return part->ops->signal(part->link, dev->relid);
}

static void srv_chan_failed(struct ovb_chan *chan, void *role_ctx, int err)
{
	struct ovb_vsp_dev *dev = role_ctx;

	ovb_peer("%s: relid %u: channel stopped; the guest must reopen it",
		 dev->part->name, dev->relid);
}

static const struct ovb_chan_role_ops srv_chan_role = {
	.signal = srv_chan_signal,
	.failed = srv_chan_failed,
};

static void open_result(struct ovb_partition *part, uint32_t relid,
			uint32_t openid, uint32_t status)
{
	struct vmbus_channel_open_result m = {
		.header.msgtype = CHANNELMSG_OPENCHANNEL_RESULT,
		.child_relid = relid,
		.openid = openid,
		.status = status,
	};

	ovb__srv_send(part, &m, sizeof(m));
}

/* Map the ring GPADL and build the channel; the guest's ring is "in". */
static int open_rings(struct ovb_partition *part, struct ovb_vsp_dev *dev,
		      const struct vmbus_channel_open_channel *o)
{
	struct srv_gpadl *g = gpadl_find(part, o->ringbuffer_gpadlhandle);
	struct ovb_chan_params cp = { 0 };
	uint8_t *va;
	size_t npages, off = o->downstream_ringbuffer_pageoffset;
	char name[160];
	int rc;

	if (!g || g->relid != dev->relid || g->teardown_pending) {
		ovb_peer("%s: OPEN_CHANNEL relid %u: ring GPADL %#x unknown",
			 part->name, dev->relid, o->ringbuffer_gpadlhandle);
		return -ENOENT;
	}
	rc = gpadl_map(part, g, &dev->ring_view);
	if (rc) {
		ovb_peer("%s: OPEN_CHANNEL relid %u: ring GPADL %#x: %s",
			 part->name, dev->relid, g->handle,
			 rc == -ENOMEM ? "the partition's mapping budget is spent"
			 : rc == -EINVAL ? "not one range of whole pages"
					 : strerror(-rc));
		return rc;
	}
	npages = dev->ring_view.len / HV_PAGE_SIZE;
	if (off < 2 || off > npages - 2 || npages - off > (1u << 18) ||
	    off > (1u << 18)) {
		ovb_peer("%s: OPEN_CHANNEL relid %u: downstream ring offset %zu "
			 "invalid for a %zu-page GPADL", part->name, dev->relid,
			 off, npages);
		ovb_gmem_unmap(&dev->ring_view);
		return -EINVAL;
	}
	va = dev->ring_view.va;
	snprintf(name, sizeof(name), "%.40s %.16s relid %u", part->name,
		 dev->ops->name, dev->relid);
	cp.name = name;
	cp.relid = dev->relid;
	cp.subidx = dev->subidx;
	cp.in_size = (uint32_t)((off - 1) * HV_PAGE_SIZE);
	cp.out_size = (uint32_t)((npages - off - 1) * HV_PAGE_SIZE);
	if (va) {
		cp.in_ctl = va;
		cp.in_data = va + HV_PAGE_SIZE;
		cp.out_ctl = va + off * HV_PAGE_SIZE;
		cp.out_data = va + (off + 1) * HV_PAGE_SIZE;
	} else {
		/* Scattered pages the provider could not map: paged rings. */
		uint8_t **pg = dev->ring_view.pages;

		cp.in_ctl = pg[0];
		cp.in_pages = pg + 1;
		cp.out_ctl = pg[off];
		cp.out_pages = pg + off + 1;
	}
	cp.wait_fd = -1;
	cp.signal_fd = -1;
	cp.role = &srv_chan_role;
	cp.role_ctx = dev;
	cp.recv = dev->ops->recv;
	cp.ctx = dev->p.dev_ctx;
	cp.tap = dev;
	rc = ovb__chan_create(&cp, &dev->chan);
	if (rc) {
		ovb_gmem_unmap(&dev->ring_view);
		return rc;
	}
	if (part->srv->loop)
		ovb__chan_set_loop(dev->chan, part->srv->loop);
	g->refs++;
	dev->ring_gpadl = g->handle;
	return 0;
}

/* Refuse an OPEN_CHANNEL for a relid that is not (or no more) offered. */
static int open_unknown(struct ovb_partition *part,
			const struct vmbus_channel_open_channel *o)
{
	ovb_peer("%s: OPEN_CHANNEL for unknown relid %u", part->name,
		 o->child_relid);
	open_result(part, o->child_relid, o->openid,
		    VMBUS_STATUS_UNSUCCESSFUL);
	return -EPROTO;
}

/*
 * The device's open, then the worker, with part->lock dropped (@dev busy
 * and held).  A device that accepted is closed again if the worker does
 * not start, or if its callback rescinded its own device (which the
 * contract in server.c forbids, but a guest must not get a channel that
 * is gone).
 */
static int open_device(struct ovb_partition *part, struct ovb_vsp_dev *dev,
		       const uint8_t *userdata)
{
	struct ovb_chan *chan = dev->chan;
	int rc = 0;

	dev->busy = true;
	dev->busy_thread = pthread_self();
	ovb__srv_unlock(part);
	assert(ovb__srv_unlocked(part));
	if (dev->ops->open)
		rc = dev->ops->open(dev, chan, userdata);
	if (!rc && (rc = ovb__chan_start(chan)) != 0 && dev->ops->close)
		dev->ops->close(dev, chan);
	ovb__srv_lock(part);
	if (!rc && (dev->freed || dev->state == OFFER_RESCINDED)) {
		ovb__srv_unlock(part);
		ovb__chan_stop(chan);
		if (dev->ops->close)
			dev->ops->close(dev, chan);
		ovb__srv_lock(part);
		rc = -ENODEV;
	}
	dev->busy = false;
	pthread_cond_broadcast(&part->cond);
	return rc;
}

int ovb__srv_open(struct ovb_partition *part, const void *msg, size_t len)
{
	struct vmbus_channel_open_channel o = { 0 };
	struct ovb_vsp_dev *dev;
	int rc;

	if (len != VMBUS_OPEN_CHANNEL_SIZE && len != VMBUS_OPEN_CHANNEL2_SIZE)
		return -EBADMSG;
	memcpy(&o, msg, len);
	dev = o.child_relid <= VMBUS_MAX_RELID ? part->dev[o.child_relid]
					       : NULL;
	if (!dev)
		return open_unknown(part, &o);
	ovb__srv_dev_hold(part, dev);
	/* A rescind on another thread may be closing it: let it finish. */
	if (!ovb__srv_dev_wait_idle(part, dev) || dev->freed ||
	    dev->state == OFFER_RESCINDED) {
		ovb__srv_dev_put(part, dev);
		return open_unknown(part, &o);
	}
	if (dev->state == OFFER_OPEN) {
		ovb_peer("%s: OPEN_CHANNEL relid %u: already open", part->name,
			 o.child_relid);
		open_result(part, o.child_relid, o.openid,
			    VMBUS_STATUS_UNSUCCESSFUL);
		ovb__srv_dev_put(part, dev);
		return -EPROTO;
	}
	/* Before the channel starts: its first signal goes to this VP. */
	__atomic_store_n(&dev->target_vp, o.target_vp, __ATOMIC_RELAXED);
	rc = open_rings(part, dev, &o);
	if (!rc)
		rc = open_device(part, dev, o.userdata);
	if (rc) {
		if (dev->chan) {
			ovb__chan_destroy(dev->chan); /* no worker runs */
			dev->chan = NULL;
			ovb_gmem_unmap(&dev->ring_view);
			gpadl_unref(part, dev->ring_gpadl);
		}
		dev->open_refused = true;
		open_result(part, o.child_relid, o.openid,
			    VMBUS_STATUS_UNSUCCESSFUL);
		ovb__srv_dev_put(part, dev);
		return rc == -ENOENT || rc == -EINVAL ? -EPROTO : 0;
	}
	dev->open_refused = false;
	dev->state = OFFER_OPEN;
	open_result(part, o.child_relid, o.openid, VMBUS_STATUS_SUCCESS);
	/*
	 * One signal right behind the result, whatever the rings hold.
	 * Linux storvsc ignores signals that come before it has seen the
	 * result, so a first reply that raced it would leave the channel
	 * stuck; this one comes after (the link keeps messages and signals
	 * in order).  OpenVMM sends its "unstick" signal 100 ms later and
	 * only if a ring needs one (vmbus_server, openvmm #1829); an extra
	 * signal on an idle channel costs the guest one empty look.
	 */
	ovb__chan_signal_peer(dev->chan);
	ovb__srv_monitor_update(part);
	ovb_info("%s: relid %u (%s, sub-channel %u) open", part->name,
		 dev->relid, dev->ops->name, dev->subidx);
	ovb__srv_dev_put(part, dev);
	return 0;
}

bool ovb__srv_close(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	struct ovb_chan *chan;

	ovb__srv_dev_hold(part, dev);
	if (!ovb__srv_dev_wait_idle(part, dev) || dev->freed ||
	    dev->state != OFFER_OPEN)
		return ovb__srv_dev_put(part, dev);
	chan = dev->chan;
	dev->state = OFFER_OFFERED;
	dev->busy = true;
	dev->busy_thread = pthread_self();
	/* The worker may be waiting for part->lock: never join under it. */
	ovb__srv_unlock(part);
	ovb__chan_stop(chan);
	assert(ovb__srv_unlocked(part));
	if (dev->ops->close)
		dev->ops->close(dev, chan);
	ovb__chan_destroy(chan);
	ovb__srv_lock(part);
	dev->chan = NULL;
	ovb_gmem_unmap(&dev->ring_view);
	gpadl_unref(part, dev->ring_gpadl);
	dev->busy = false;
	pthread_cond_broadcast(&part->cond);
	return ovb__srv_dev_put(part, dev);
}
