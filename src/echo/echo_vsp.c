// SPDX-License-Identifier: MIT
/*
 * The echo VSP: a built-in host test device that answers pings, hashes and
 * fills guest pages named by GPA-direct packets, sends transfer-page
 * packets out of a guest receive buffer and offers sub-channels on
 * request.  Layer: devices.  It uses only the channel and VSP APIs, like
 * a real device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "openvmbus/echo.h"
#include "openvmbus/log.h"
#include "openvmbus/vsp.h"

#define ECHO_MAX_IOV 256

/* Per-channel state. */
struct echo_chan {
	struct ovb_vsp_dev *dev;
	struct ovb_gmem_view buf; /* guest receive buffer, if set */
	uint32_t buf_gpadl;
	uint64_t sunk;            /* bytes of ECHO_OP_SINK */
};

uint64_t ovb_echo_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int echo_partition_add(struct ovb_partition *part, void *vsp_ctx)
{
	const struct ovb_echo_vsp_cfg *cfg = vsp_ctx;

	for (unsigned int i = 0; i < cfg->instances; i++) {
		struct ovb_offer_params p = { 0 };

		p.class_id = (struct vmbus_guid)ECHO_CLASS_GUID;
		/* A stable instance id per index: 00..0e00 + i. */
		p.instance_id.b[0] = 0xec;
		p.instance_id.b[15] = (uint8_t)i;
		p.monitored = cfg->monitored;
		snprintf((char *)p.user_defined, sizeof(p.user_defined),
			 "echo%u", i);
		if (ovb_server_offer(part, &ovb_echo_vsp_ops, &p, NULL))
			return -ENOSPC;
	}
	return 0;
}

static int echo_open(struct ovb_vsp_dev *dev, struct ovb_chan *chan,
		     const uint8_t *userdata)
{
	struct echo_chan *ec = calloc(1, sizeof(*ec));

	if (!ec)
		return -ENOMEM;
	struct echo_open_data od;

	ec->dev = dev;
	ovb_chan_set_ctx(chan, ec);
	memcpy(&od, userdata, sizeof(od));
	if (od.magic == ECHO_OPEN_MAGIC && od.poll_us <= 100000)
		ovb_chan_set_poll(chan, od.poll_us);
	if (od.magic == ECHO_OPEN_MAGIC && (od.flags & ECHO_OPEN_STREAM)) {
		ovb_chan_set_adaptive(chan, true);
		ovb_chan_set_reply_batch(chan, true);
	}
	return 0;
}

static void echo_close(struct ovb_vsp_dev *dev, struct ovb_chan *chan)
{
	struct echo_chan *ec = ovb_chan_ctx(chan);

	if (ec->buf.len)
		ovb_vsp_gpadl_put(dev, ec->buf_gpadl, &ec->buf);
	free(ec);
}

static void echo_reply(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		       struct echo_msg *m, const void *data)
{
	uint8_t out[sizeof(*m) + 4096];
	size_t n = data ? m->len : 0;
	int rc;

	memcpy(out, m, sizeof(*m));
	if (n)
		memcpy(out + sizeof(*m), data, n);
	if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		rc = ovb_chan_send_comp(chan, pkt->xid, out, sizeof(*m) + n);
	else
		rc = ovb_chan_send_inband(chan, out, sizeof(*m) + n, pkt->xid,
					  0);
	if (rc && rc != -ECONNRESET)
		ovb_peer("%s: echo reply failed: %d", ovb_chan_name(chan), rc);
}

/* Hash (SUM) or fill (FILL) the guest pages of a GPA-direct packet. */
static int echo_pages(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      struct echo_msg *m)
{
	struct echo_chan *ec = ovb_chan_ctx(chan);
	struct ovb_gmem *gm = ovb_partition_gmem(ovb_vsp_dev_partition(ec->dev));
	struct iovec iov[ECHO_MAX_IOV];
	uint64_t h = OVB_ECHO_FNV_INIT, k = 0;
	size_t total;
	int n;

	if (pkt->type != VM_PKT_DATA_USING_GPA_DIRECT)
		return EINVAL;
	n = ovb_gmem_ranges_iov(gm, pkt->ranges, pkt->range_cnt, iov,
				ECHO_MAX_IOV, &total);
	if (n < 0) {
		ovb_peer("%s: echo GPA-direct request names memory outside "
			 "the guest", ovb_chan_name(chan));
		return EFAULT;
	}
	for (int i = 0; i < n; i++) {
		uint8_t *p = iov[i].iov_base;

		if (m->op == ECHO_OP_SUM) {
			h = ovb_echo_fnv(h, p, iov[i].iov_len);
			continue;
		}
		for (size_t j = 0; j < iov[i].iov_len; j++)
			p[j] = (uint8_t)(m->arg + k++);
	}
	m->arg = m->op == ECHO_OP_SUM ? h : total;
	return 0;
}

static int echo_xfer(struct ovb_chan *chan, struct echo_msg *m)
{
	struct echo_chan *ec = ovb_chan_ctx(chan);
	struct vmtransfer_page_range r = { .byte_count = m->len };
	struct ovb_send s = { 0 };
	uint8_t chunk[256];

	if (!ec->buf.len || !m->len || m->len > ec->buf.len)
		return EINVAL;
	/* The buffer may be a paged view: fill it through the accessor. */
	for (uint32_t off = 0; off < m->len; off += sizeof(chunk)) {
		uint32_t n = m->len - off < sizeof(chunk) ? m->len - off
							  : sizeof(chunk);

		for (uint32_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)(m->arg + off + i);
		ovb_gmem_view_write(&ec->buf, off, chunk, n);
	}
	s.type = VM_PKT_DATA_USING_XFER_PAGES;
	s.flags = OVB_SEND_COMPLETION;
	s.xid = m->arg;
	s.xfer_pageset_id = ECHO_XFER_PAGESET;
	s.xfer = &r;
	s.xfer_cnt = 1;
	s.data = m;
	s.len = sizeof(*m);
	return -ovb_chan_send(chan, &s);
}

static void echo_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	struct echo_chan *ec = ctx;
	struct echo_msg m;
	const uint8_t *data = (const uint8_t *)pkt->data + sizeof(m);

	if (pkt->type == VM_PKT_COMP)
		return; /* the guest finished with a transfer-page packet */
	if (pkt->len < sizeof(m)) {
		ovb_peer("%s: echo request of %u bytes dropped",
			 ovb_chan_name(chan), pkt->len);
		return;
	}
	memcpy(&m, pkt->data, sizeof(m));
	m.status = 0;
	switch (m.op) {
	case ECHO_OP_PING:
		if (m.len > pkt->len - sizeof(m) || m.len > 4096) {
			m.status = EMSGSIZE;
			m.len = 0;
		}
		echo_reply(chan, pkt, &m, m.status ? NULL : data);
		return;
	case ECHO_OP_SINK:
		ec->sunk += pkt->len;
		return;
	case ECHO_OP_STREAM:
		ec->sunk += pkt->len;
		if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) {
			uint64_t done = 0; /* as SEND_RNDIS_PKT_COMPLETE */

			if (ovb_chan_send_comp(chan, pkt->xid, &done,
					       sizeof(done)) &&
			    !ovb_chan_is_dead(chan))
				ovb_peer("%s: stream completion failed",
					 ovb_chan_name(chan));
		}
		return;
	case ECHO_OP_SUM:
	case ECHO_OP_FILL:
		m.status = (uint32_t)echo_pages(chan, pkt, &m);
		break;
	case ECHO_OP_SET_BUFFER:
		if (ec->buf.len)
			ovb_vsp_gpadl_put(ec->dev, ec->buf_gpadl, &ec->buf);
		ec->buf_gpadl = (uint32_t)m.arg;
		m.status = (uint32_t)-ovb_vsp_gpadl_get(ec->dev, ec->buf_gpadl,
							&ec->buf);
		break;
	case ECHO_OP_DROP_BUFFER:
		if (ec->buf.len)
			ovb_vsp_gpadl_put(ec->dev, ec->buf_gpadl, &ec->buf);
		break;
	case ECHO_OP_XFER:
		m.status = (uint32_t)echo_xfer(chan, &m);
		break;
	case ECHO_OP_HOTADD: {
		struct ovb_offer_params op = { .class_id = ECHO_CLASS_GUID };
		struct ovb_vsp_dev *nd;

		op.instance_id.b[0] = 0xad;
		op.instance_id.b[15] = (uint8_t)ovb_vsp_dev_relid(ec->dev);
		m.status = (uint32_t)-ovb_server_offer(
			ovb_vsp_dev_partition(ec->dev), &ovb_echo_vsp_ops, &op,
			&nd);
		m.arg = m.status ? 0 : ovb_vsp_dev_relid(nd);
		break;
	}
	case ECHO_OP_RESCIND: {
		struct ovb_vsp_dev *victim = ovb_server_find_dev(
			ovb_vsp_dev_partition(ec->dev), (uint32_t)m.arg);

		/* Never our own channel: we are its worker. */
		m.status = !victim || victim == ec->dev ||
					   ovb_vsp_dev_primary(victim) == ec->dev
				   ? EINVAL
				   : (uint32_t)-ovb_server_rescind(victim);
		break;
	}
	case ECHO_OP_SUBCHANNELS: {
		int n = ovb_server_offer_subchannels(
			ovb_vsp_dev_primary(ec->dev), (unsigned int)m.arg);

		m.status = n < 0 ? (uint32_t)-n : 0;
		m.arg = n < 0 ? 0 : (uint64_t)n;
		break;
	}
	default:
		m.status = EINVAL;
	}
	m.len = 0;
	echo_reply(chan, pkt, &m, NULL);
}

const struct ovb_vsp_ops ovb_echo_vsp_ops = {
	.name = "echo",
	.partition_add = echo_partition_add,
	.open = echo_open,
	.close = echo_close,
	.recv = echo_recv,
};
