// SPDX-License-Identifier: MIT
/*
 * The echo VSC: a guest driver that collects echo offers, and a
 * synchronous request API over tracked requests.  It validates every
 * reply and every transfer-page packet the host sends.  Layer: devices.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openvmbus/echo.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"

struct ovb_echo {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	void *buf;          /* receive buffer for transfer pages */
	size_t buflen;
	uint64_t xfers;     /* atomic */
	uint64_t xfer_hash; /* atomic */
	bool polling;
};

static int echo_probe(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_echo_driver_ctx *c = drv_ctx;

	if (c->ndev == OVB_ECHO_MAX_DEVS)
		return -ENOSPC;
	c->dev[c->ndev++] = dev;
	return 0;
}

static void echo_subchannel(struct ovb_vsc_dev *primary,
			    struct ovb_vsc_dev *sub, void *drv_ctx)
{
	struct ovb_echo_driver_ctx *c = drv_ctx;

	if (c->nsub < OVB_ECHO_MAX_DEVS)
		__atomic_store_n(&c->sub[c->nsub], sub, __ATOMIC_RELEASE);
	__atomic_fetch_add(&c->nsub, 1, __ATOMIC_RELEASE);
}

static void echo_remove(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_echo_driver_ctx *c = drv_ctx;
	struct ovb_echo *e = ovb_vsc_dev_get_ctx(dev);

	if (e)
		ovb_echo_close(e);
	for (unsigned int i = 0; i < c->ndev; i++)
		if (c->dev[i] == dev)
			c->dev[i] = NULL;
	__atomic_fetch_add(&c->removed, 1, __ATOMIC_RELEASE);
}

const struct ovb_vsc_driver ovb_echo_driver = {
	.name = "echo",
	.class_id = ECHO_CLASS_GUID,
	.probe = echo_probe,
	.remove = echo_remove,
	.subchannel = echo_subchannel,
};

/* ---- packets from the host ----------------------------------------------- */

static void echo_vsc_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			  void *ctx)
{
	struct ovb_echo *e = ctx;
	uint64_t h = OVB_ECHO_FNV_INIT;

	if (pkt->type == VM_PKT_COMP) {
		/* Ours are all tracked: the channel took them already. */
		ovb_peer("%s: unexpected completion %#llx dropped",
			 ovb_chan_name(chan), (unsigned long long)pkt->xid);
		return;
	}
	if (pkt->type != VM_PKT_DATA_USING_XFER_PAGES)
		return; /* untracked in-band replies: nothing to do */
	if (pkt->xfer_pageset_id != ECHO_XFER_PAGESET || !e->buf) {
		ovb_peer("%s: transfer pages for unknown set %u",
			 ovb_chan_name(chan), pkt->xfer_pageset_id);
		return;
	}
	for (uint32_t i = 0; i < pkt->xfer_cnt; i++) {
		struct vmtransfer_page_range r;

		memcpy(&r, &pkt->xfer[i], sizeof(r));
		if (r.byte_offset > e->buflen ||
		    r.byte_count > e->buflen - r.byte_offset) {
			ovb_peer("%s: transfer range %u+%u outside the %zu-byte "
				 "buffer", ovb_chan_name(chan), r.byte_offset,
				 r.byte_count, e->buflen);
			return;
		}
		h = ovb_echo_fnv(h, (uint8_t *)e->buf + r.byte_offset,
				 r.byte_count);
	}
	__atomic_store_n(&e->xfer_hash, h, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->xfers, 1, __ATOMIC_RELEASE);
	if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		ovb_chan_send_comp(chan, pkt->xid, NULL, 0);
}

int ovb_echo_open(struct ovb_vsc_dev *dev, uint32_t ring,
		  const struct ovb_vsc_open_params *extra,
		  struct ovb_echo **out)
{
	struct ovb_vsc_open_params p = { 0 };
	struct ovb_echo *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	if (extra)
		p = *extra;
	p.out_ring = p.in_ring = ring;
	p.recv = echo_vsc_recv;
	p.ctx = e;
	e->dev = dev;
	rc = ovb_vsc_open(dev, &p, &e->chan);
	if (rc) {
		free(e);
		return rc;
	}
	ovb_vsc_dev_set_ctx(dev, e);
	*out = e;
	return 0;
}

void ovb_echo_close(struct ovb_echo *e)
{
	ovb_vsc_dev_set_ctx(e->dev, NULL);
	ovb_vsc_close(e->dev);
	free(e);
}

struct ovb_chan *ovb_echo_chan(struct ovb_echo *e) { return e->chan; }

void ovb_echo_set_polling(struct ovb_echo *e, bool on)
{
	e->polling = on;
}

void ovb_echo_set_buffer(struct ovb_echo *e, void *buf, size_t len)
{
	e->buf = buf;
	e->buflen = len;
}
uint64_t ovb_echo_xfer_count(const struct ovb_echo *e)
{
	return __atomic_load_n(&e->xfers, __ATOMIC_ACQUIRE);
}
uint64_t ovb_echo_xfer_hash(const struct ovb_echo *e)
{
	return __atomic_load_n(&e->xfer_hash, __ATOMIC_ACQUIRE);
}

/* ---- synchronous calls ------------------------------------------------------ */

static int gpa_direct_ranges(struct ovb_echo *e, const void *buf, size_t len,
			     uint64_t *words, size_t max)
{
	struct ovb_gmem *gm = ovb_client_gmem(ovb_vsc_dev_client(e->dev));

	return ovb_gpa_range_words(ovb_gmem_gpa(gm, buf), len, words, max);
}

int ovb_echo_call(struct ovb_echo *e, const struct echo_msg *req,
		  const void *data, const void *buf, size_t buflen,
		  struct echo_msg *reply, void *rdata, size_t rlen,
		  int timeout_ms)
{
	uint8_t pkt[sizeof(*req) + 4096], back[sizeof(*req) + 4096];
	uint64_t words[257];
	struct ovb_send s = { 0 };
	size_t len;
	int rc, nw;

	if (data && req->len > 4096)
		return -EINVAL;
	if (buf) {
		nw = gpa_direct_ranges(e, buf, buflen, words, 257);
		if (nw < 0)
			return nw;
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = (size_t)nw * 8;
		s.range_cnt = 1;
	}
	memcpy(pkt, req, sizeof(*req));
	if (data && req->len)
		memcpy(pkt + sizeof(*req), data, req->len);
	s.data = pkt;
	s.len = sizeof(*req) + (data ? req->len : 0);
	rc = ovb_chan_call(e->chan, &s, back, sizeof(back), &len, timeout_ms,
			   e->polling);
	if (rc)
		return rc;
	if (len < sizeof(*req) || len > sizeof(back))
		return -EIO; /* not an echo reply */
	if (reply)
		memcpy(reply, back, sizeof(*reply));
	if (rdata)
		memcpy(rdata, back + sizeof(*req),
		       len - sizeof(*req) < rlen ? len - sizeof(*req) : rlen);
	return 0;
}
