// SPDX-License-Identifier: MIT
/*
 * netvsc bring-up and control: the VSC driver, NVSP negotiation (newest
 * version first, as Linux does), receive and send buffers, RNDIS
 * INITIALIZE and the OID calls, offloads, sub-channels and RSS, and the
 * orderly teardown.  Layer: devices.  Spec: docs/wire.md B9.  Frames are
 * in netvsc_data.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/netvsc_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "net/toeplitz.h"

#define NETVSC_CLASS_GUID                                                      \
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2,  \
	    0xd2, 0xf9, 0x65, 0xed, 0x0e } }

/* ---- the driver ------------------------------------------------------------ */

static int netvsc_probe(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_netvsc_driver_ctx *c = drv_ctx;

	if (c->ndev == OVB_NETVSC_MAX_QUEUES)
		return -ENOSPC;
	c->dev[c->ndev++] = dev;
	return 0;
}

static void netvsc_subchannel(struct ovb_vsc_dev *primary,
			      struct ovb_vsc_dev *sub, void *drv_ctx)
{
	struct ovb_netvsc *n = ovb_vsc_dev_get_ctx(primary);

	if (!n)
		return;
	pthread_mutex_lock(&n->sub_lock);
	if (n->nsub < OVB_NETVSC_MAX_QUEUES)
		n->sub[n->nsub++] = sub;
	pthread_cond_broadcast(&n->sub_cond);
	pthread_mutex_unlock(&n->sub_lock);
}

static void netvsc_remove(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_netvsc_driver_ctx *c = drv_ctx;

	/* Sub-channels are closed with their NIC (ovb_netvsc_close). */
	for (unsigned int i = 0; i < c->ndev; i++)
		if (c->dev[i] == dev) {
			struct ovb_netvsc *n = ovb_vsc_dev_get_ctx(dev);

			if (n)
				ovb_netvsc_close(n);
			c->dev[i] = NULL;
		}
}

const struct ovb_vsc_driver ovb_netvsc_driver = {
	.name = "netvsc",
	.class_id = NETVSC_CLASS_GUID,
	.probe = netvsc_probe,
	.remove = netvsc_remove,
	.subchannel = netvsc_subchannel,
};

/* ---- synchronous NVSP requests --------------------------------------------- */

/* Send @req, wait for its completion, validate it as @want.  0 or -errno. */
static int nvsc_request(struct ovb_netvsc *n, const struct ovb_nvsp_msg *req,
			uint32_t want, struct ovb_nvsp_msg *resp)
{
	uint8_t buf[NVSP_MESSAGE_SIZE + 64];
	struct ovb_send s = { 0 };
	ssize_t len = ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_HOST, req);
	size_t got;
	int rc;

	if (len < 0)
		return (int)len;
	s.data = buf;
	s.len = (size_t)len;
	/* Parsed pointers (receive-buffer sections) point into n->resp. */
	rc = ovb_chan_call(n->q[0].chan, &s, n->resp, sizeof(n->resp), &got,
			   NETVSC_TIMEOUT, false);
	if (rc)
		return rc;
	rc = ovb_nvsp_parse(n->resp, got < sizeof(n->resp) ? got
							   : sizeof(n->resp),
			    OVB_NVSP_TO_GUEST, OVB_NVSP_VERSION_ANY, resp);
	if (!rc && resp->type != want)
		rc = -EBADMSG;
	if (rc)
		ovb_peer("netvsc %s: bad reply to %s", ovb_chan_name(n->q[0].chan),
			 ovb_nvsp_type_name(req->type));
	return rc;
}

static int nvsc_post(struct ovb_netvsc *n, const struct ovb_nvsp_msg *m)
{
	uint8_t buf[NVSP_MESSAGE_SIZE];
	ssize_t len = ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_HOST, m);

	return len < 0 ? (int)len
		       : ovb_chan_send_inband(n->q[0].chan, buf, (size_t)len,
					      0, 0);
}

/* ---- RNDIS control ------------------------------------------------------------ */

static void ctl_sent(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
	/* The host copied the request; the reply comes as transfer pages. */
}

/*
 * The host left a control request unanswered: it has stopped answering.
 * Stop the queues (sends fail with -ENETDOWN) and report the link down,
 * so the front end drops its carrier instead of queueing into a silence.
 */
static void nvsc_stall(struct ovb_netvsc *n, const char *what)
{
	if (__atomic_exchange_n(&n->stalled, true, __ATOMIC_ACQ_REL))
		return;
	ovb_warn("netvsc %s: no answer to %s within %u ms: the host stopped "
		 "answering; queues stopped, link down",
		 ovb_chan_name(n->q[0].chan), what, n->p.ctl_timeout_ms);
	__atomic_store_n(&n->info.link_up, false, __ATOMIC_RELEASE);
	if (n->p.link)
		n->p.link(n->p.ctx, false);
}

/* One RNDIS request and its reply (none for HALT).  0 or -errno. */
static int rndis_call(struct ovb_netvsc *n, struct ovb_rndis_msg *m,
		      void *out, size_t *outlen)
{
	struct ovb_nvsp_msg nm = { .type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT };
	uint8_t buf[NVSP_MESSAGE_SIZE];
	uint64_t words[3];
	struct ovb_send s = { .type = VM_PKT_DATA_USING_GPA_DIRECT };
	struct timespec dl;
	ssize_t len;
	int rc = 0, nw;

	/* A host that stopped answering gets no more requests to ignore. */
	if (__atomic_load_n(&n->stalled, __ATOMIC_ACQUIRE) &&
	    m->type != RNDIS_MSG_HALT)
		return -ENETDOWN;
	pthread_mutex_lock(&n->ctl_lock);
	m->request_id = ++n->req_counter;
	len = ovb_rndis_build(n->ctl, NETVSC_CTL_SIZE, m);
	nw = len > 0 ? netvsc__gpa_range(n, n->ctl, (size_t)len, words, 3)
		     : (int)len;
	if (nw < 0) {
		pthread_mutex_unlock(&n->ctl_lock);
		return nw;
	}
	pthread_mutex_lock(&n->ctl_wait_lock);
	n->ctl_req_id = m->type == RNDIS_MSG_HALT ? 0 : m->request_id;
	n->ctl_done = false;
	pthread_mutex_unlock(&n->ctl_wait_lock);
	nm.u.rndis_pkt.channel_type = NVSP_CHANNEL_TYPE_CONTROL;
	nm.u.rndis_pkt.section_index = NVSP_INVALID_SECTION_INDEX;
	s.len = (size_t)ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_HOST,
					&nm);
	s.data = buf;
	s.ranges = words;
	s.ranges_len = (size_t)nw * 8;
	s.range_cnt = 1;
	s.on_comp = ctl_sent;
	if ((rc = ovb_chan_send(n->q[0].chan, &s)) != 0 ||
	    m->type == RNDIS_MSG_HALT) {
		pthread_mutex_unlock(&n->ctl_lock);
		return rc;
	}
	ovb_deadline_ms(&dl, (int)n->p.ctl_timeout_ms);
	pthread_mutex_lock(&n->ctl_wait_lock);
	/* In slices: a channel that fails meanwhile ends the wait. */
	while (!n->ctl_done && !rc && !ovb_chan_is_dead(n->q[0].chan)) {
		struct timespec slice;

		ovb_deadline_ms(&slice, 50);
		if (ovb_ts_reached(&slice, &dl))
			slice = dl;
		rc = ovb_cond_timedwait(&n->ctl_cond, &n->ctl_wait_lock,
					&slice);
		if (rc == -ETIMEDOUT && !ovb_deadline_passed(&dl))
			rc = 0;
	}
	n->ctl_req_id = 0;
	if (!n->ctl_done && ovb_chan_is_dead(n->q[0].chan)) {
		rc = -ECONNRESET;
	} else if (!n->ctl_done) {
		rc = -ETIMEDOUT;
	} else if (n->ctl_type != (m->type | RNDIS_MSG_COMPLETION)) {
		rc = -EBADMSG;
	} else if (n->ctl_status != RNDIS_STATUS_SUCCESS) {
		ovb_info("netvsc: RNDIS %#x of OID %#x: status %#x", m->type,
			 m->oid, n->ctl_status);
		rc = -EIO;
	} else {
		rc = 0;
		if (out && outlen) {
			if (*outlen > n->ctl_info_len)
				*outlen = n->ctl_info_len;
			memcpy(out, n->ctl_info, *outlen);
		}
	}
	pthread_mutex_unlock(&n->ctl_wait_lock);
	pthread_mutex_unlock(&n->ctl_lock);
	if (rc == -ETIMEDOUT)
		nvsc_stall(n, "an RNDIS request");
	return rc;
}

int ovb_netvsc_query(struct ovb_netvsc *n, uint32_t oid, void *buf,
		     size_t *len)
{
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_QUERY, .oid = oid };

	return rndis_call(n, &m, buf, len);
}

int ovb_netvsc_set(struct ovb_netvsc *n, uint32_t oid, const void *buf,
		   size_t len)
{
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_SET, .oid = oid,
				   .info = buf, .info_len = (uint32_t)len };

	return rndis_call(n, &m, NULL, NULL);
}

int ovb_netvsc_keepalive(struct ovb_netvsc *n)
{
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_KEEPALIVE };

	return rndis_call(n, &m, NULL, NULL);
}

/* ---- bring-up steps ---------------------------------------------------------- */

static int nvsc_negotiate(struct ovb_netvsc *n)
{
	struct ovb_nvsp_msg m = { .type = NVSP_MSG_TYPE_INIT }, r;
	uint32_t max = n->p.max_nvsp ? n->p.max_nvsp : NVSP_PROTOCOL_VERSION_61;
	int rc;

	for (int i = 0; i < OVB_NVSP_VERSION_COUNT; i++) {
		if (ovb_nvsp_versions[i] > max)
			continue;
		m.u.init.min = m.u.init.max = ovb_nvsp_versions[i];
		rc = nvsc_request(n, &m, NVSP_MSG_TYPE_INIT_COMPLETE, &r);
		if (rc)
			return rc;
		if (r.u.init_complete.status == NVSP_STAT_SUCCESS) {
			n->nvsp = ovb_nvsp_versions[i];
			break;
		}
	}
	if (!n->nvsp)
		return -EPROTONOSUPPORT;
	n->ndis = ovb_nvsp_ndis_version(n->nvsp);
	m.type = NVSP_MSG1_TYPE_SEND_NDIS_VER;
	m.u.ndis_version.major = n->ndis >> 16;
	m.u.ndis_version.minor = n->ndis & 0xffff;
	if ((rc = nvsc_post(n, &m)) != 0)
		return rc;
	if (n->nvsp < NVSP_PROTOCOL_VERSION_2)
		return 0;
	m.type = NVSP_MSG2_TYPE_SEND_NDIS_CONFIG;
	m.u.ndis_config.mtu = 9000 + 14;
	m.u.ndis_config.capability = NVSP_NDIS_CAP_IEEE8021Q;
	/* Linux sets the RSC bit from NVSP 6.1 on, LRO or not. */
	if (n->nvsp >= NVSP_PROTOCOL_VERSION_61)
		m.u.ndis_config.capability |= NVSP_NDIS_CAP_RSC;
	return nvsc_post(n, &m);
}

/*
 * Allocate the receive and send buffers and create their GPADLs.  Normally
 * part of the NVSP set-up; with gpadls_before_open it runs before
 * OPEN_CHANNEL, as Linux's uio_hv_generic does when it binds.
 */
static int nvsc_buffer_gpadls(struct ovb_netvsc *n)
{
	uint64_t gpa;
	int rc;

	n->rxlen = n->p.recv_buf_bytes ? n->p.recv_buf_bytes : 4u << 20;
	if ((rc = ovb_client_alloc(n->cl, n->rxlen, (void **)&n->rxbuf, &gpa)) ||
	    (rc = ovb_vsc_gpadl_create(n->dev, n->rxbuf, n->rxlen,
				       &n->rx_gpadl)))
		return rc;
	if (n->p.no_send_buf)
		return 0;
	n->txlen = n->p.send_buf_bytes ? n->p.send_buf_bytes : 4u << 20;
	if ((rc = ovb_client_alloc(n->cl, n->txlen, (void **)&n->txbuf, &gpa)) ||
	    (rc = ovb_vsc_gpadl_create(n->dev, n->txbuf, n->txlen,
				       &n->tx_gpadl)))
		return rc;
	return 0;
}

static int nvsc_buffers(struct ovb_netvsc *n)
{
	struct ovb_nvsp_msg m = { .type = NVSP_MSG1_TYPE_SEND_RECV_BUF }, r;
	struct nvsp1_receive_buffer_section sec;
	int rc;

	if (!n->rx_gpadl && (rc = nvsc_buffer_gpadls(n)) != 0)
		return rc;
	m.u.send_buffer.gpadl = n->rx_gpadl;
	m.u.send_buffer.id = NVSP_RECEIVE_BUFFER_ID;
	if ((rc = nvsc_request(n, &m, NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE,
			       &r)) != 0)
		return rc;
	if (r.u.recv_buf_complete.status != NVSP_STAT_SUCCESS)
		return -EIO;
	if (r.u.recv_buf_complete.num_sections != 1)
		return -EBADMSG;
	memcpy(&sec, r.u.recv_buf_complete.sections, sizeof(sec));
	if (!sec.sub_alloc_size || sec.offset > n->rxlen ||
	    (uint64_t)sec.sub_alloc_size * sec.num_sub_allocs >
		    n->rxlen - sec.offset)
		return -EBADMSG;
	n->rx_section = sec.sub_alloc_size;
	if (n->p.no_send_buf)
		return 0;

	m.type = NVSP_MSG1_TYPE_SEND_SEND_BUF;
	m.u.send_buffer.gpadl = n->tx_gpadl;
	m.u.send_buffer.id = 0;
	if ((rc = nvsc_request(n, &m, NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE,
			       &r)) != 0)
		return rc;
	if (r.u.send_buf_complete.status != NVSP_STAT_SUCCESS)
		return -EIO;
	n->sec_size = r.u.send_buf_complete.section_size;
	if (n->sec_size < 256 || n->sec_size > n->txlen)
		return -EBADMSG;
	return netvsc__pool_init(&n->secs, n, n->txlen / n->sec_size, false);
}

static int nvsc_rndis_init(struct ovb_netvsc *n)
{
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_INIT };
	struct rndis_initialize_complete ic;
	uint32_t v, mtu;
	size_t len = sizeof(v);
	int rc;

	m.u.init.major = RNDIS_MAJOR_VERSION;
	m.u.init.minor = RNDIS_MINOR_VERSION;
	m.u.init.max_transfer_size = NETVSC_BIG_SIZE;
	if ((rc = rndis_call(n, &m, NULL, NULL)) != 0)
		return rc;
	/* INIT_C's fields were kept by the receive path. */
	memcpy(&ic, n->ctl_info, sizeof(ic));
	n->max_pkt = ic.max_packets_per_message;
	n->align = ic.packet_alignment_factor <= 8
			   ? 1u << ic.packet_alignment_factor : 0;
	if (!n->max_pkt || !n->align)
		return -EBADMSG;
	if (n->max_pkt > 64)
		n->max_pkt = 64;
	len = 6;
	if ((rc = ovb_netvsc_query(n, OID_802_3_PERMANENT_ADDRESS,
				   n->info.mac, &len)) != 0)
		return rc;
	if (len != 6 || n->info.mac[0] & 1)
		return -EBADMSG;
	len = sizeof(mtu);
	if ((rc = ovb_netvsc_query(n, OID_GEN_MAXIMUM_FRAME_SIZE, &mtu, &len)))
		return rc;
	if (len != 4 || mtu < 68 || mtu > 65535 - 14)
		return -EBADMSG;
	n->info.mtu = mtu;
	len = sizeof(v);
	if ((rc = ovb_netvsc_query(n, OID_GEN_MEDIA_CONNECT_STATUS, &v, &len)))
		return rc;
	n->info.link_up = len == 4 && v == NDIS_MEDIA_STATE_CONNECTED;
	return 0;
}

static int nvsc_offloads(struct ovb_netvsc *n)
{
	struct ndis_offload caps = { 0 };
	struct ndis_offload_params op = { 0 };
	size_t len = sizeof(caps);
	bool v630 = n->ndis >= NVSP_NDIS_VERSION_6_30;
	int rc;

	rc = ovb_netvsc_query(n, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &caps,
			      &len);
	if (rc || len < NDIS_OFFLOAD_SIZE_6_0 ||
	    caps.header.type != NDIS_OBJECT_TYPE_OFFLOAD)
		return rc == -EIO ? 0 : (rc ? rc : -EBADMSG); /* none */
	op.header.type = NDIS_OBJECT_TYPE_DEFAULT;
	op.header.revision = v630 ? NDIS_OFFLOAD_PARAMETERS_REVISION_3
				  : NDIS_OFFLOAD_PARAMETERS_REVISION_2;
	op.header.size = v630 ? NDIS_OFFLOAD_PARAMETERS_SIZE_6_30
			      : NDIS_OFFLOAD_PARAMETERS_SIZE_6_1;
	if ((caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_TCP4) &&
	    (caps.csum.ip6_txcsum & NDIS_TXCSUM_CAP_TCP6)) {
		op.tcp4_csum = op.udp4_csum = NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED;
		op.tcp6_csum = op.udp6_csum = NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED;
		n->info.csum = true;
	}
	if (n->info.csum && caps.lsov2.ip4_encap & NDIS_OFFLOAD_ENCAP_8023 &&
	    caps.lsov2.ip6_encap & NDIS_OFFLOAD_ENCAP_8023 &&
	    caps.lsov2.ip4_maxsz >= 16384) {
		op.lsov2_ip4 = op.lsov2_ip6 = NDIS_OFFLOAD_PARAMETERS_LSO_ENABLED;
		n->info.lso_max = caps.lsov2.ip4_maxsz < caps.lsov2.ip6_maxsz
					  ? caps.lsov2.ip4_maxsz
					  : caps.lsov2.ip6_maxsz;
		if (n->info.lso_max > NETVSC_BIG_SIZE - 4096)
			n->info.lso_max = NETVSC_BIG_SIZE - 4096;
	}
	/*
	 * RSC as Linux's rndis_netdev_set_hwcaps asks for it: when the host
	 * offers it for both IP versions; ENABLED, or DISABLED with LRO off.
	 */
	if (v630 && len >= offsetof(struct ndis_offload, rsc_ip6) + 1 &&
	    caps.rsc_ip4 && caps.rsc_ip6) {
		n->info.rsc = !n->p.no_rsc;
		op.rsc_ip4 = op.rsc_ip6 = n->info.rsc
			? NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED
			: NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED;
	}
	rc = ovb_netvsc_set(n, OID_TCP_OFFLOAD_PARAMETERS, &op, op.header.size);
	if (rc) {
		n->info.csum = false;
		n->info.lso_max = 0;
		n->info.rsc = false;
	}
	return rc == -EIO ? 0 : rc;
}

/* Sub-channels, then RSS over every open channel. */
static int nvsc_multiqueue(struct ovb_netvsc *n)
{
	struct ovb_nvsp_msg m = { .type = NVSP_MSG5_TYPE_SUBCHANNEL }, r;
	struct ndis_rss_caps caps = { 0 };
	uint8_t rss[sizeof(struct ndis_rss_params) + 4 * 128 + 40];
	struct ndis_rss_params *rp = (void *)rss;
	struct timespec dl;
	size_t len = sizeof(caps);
	uint32_t want = n->p.queues ? n->p.queues : 1, got;
	int rc;

	if (want < 2 || n->nvsp < NVSP_PROTOCOL_VERSION_5)
		return 0;
	rc = ovb_netvsc_query(n, OID_GEN_RECEIVE_SCALE_CAPABILITIES, &caps,
			      &len);
	if (rc || len < NDIS_RSS_CAPS_SIZE_REVISION_1)
		return 0; /* no RSS: one queue */
	if (caps.num_recv_queues < want)
		want = caps.num_recv_queues;
	if (want > OVB_NETVSC_MAX_QUEUES)
		want = OVB_NETVSC_MAX_QUEUES;
	if (want < 2)
		return 0;
	m.u.subchannel_request.op = NVSP_SUBCHANNEL_ALLOCATE;
	m.u.subchannel_request.num = want - 1;
	if ((rc = nvsc_request(n, &m, NVSP_MSG5_TYPE_SUBCHANNEL, &r)) != 0)
		return rc;
	if (r.u.subchannel_complete.status != NVSP_STAT_SUCCESS)
		return 0;
	got = r.u.subchannel_complete.num;
	if (got > want - 1)
		return -EBADMSG;
	ovb_deadline_ms(&dl, NETVSC_TIMEOUT);
	pthread_mutex_lock(&n->sub_lock);
	while (n->nsub < got &&
	       !ovb_cond_timedwait(&n->sub_cond, &n->sub_lock, &dl))
		;
	got = n->nsub < got ? n->nsub : got;
	pthread_mutex_unlock(&n->sub_lock);
	for (uint32_t i = 0; i < got; i++) {
		struct ovb_vsc_dev *sd = n->sub[i];
		struct ovb_vsc_open_params op = { 0 };
		unsigned int idx = ovb_vsc_dev_offer(sd)->sub_channel_index;
		struct netvsc_q *q;

		if (idx != n->nq)
			continue; /* out of order: keep queues dense */
		q = &n->q[n->nq];
		q->n = n;
		q->dev = sd;
		q->idx = idx;
		q->cur = -1;
		pthread_mutex_init(&q->lock, NULL);
		op.out_ring = op.in_ring = n->p.ring_bytes;
		op.recv = netvsc__recv;
		op.ctx = q;
		if ((rc = ovb_vsc_open(sd, &op, &q->chan)) != 0)
			return rc;
		ovb_vsc_dev_set_ctx(sd, n);
		ovb_chan_set_adaptive(q->chan, true);
		ovb_chan_set_poll(q->chan, __atomic_load_n(&n->p.poll_us,
							   __ATOMIC_RELAXED));
		__atomic_store_n(&n->nq, n->nq + 1, __ATOMIC_RELEASE);
	}
	memset(rss, 0, sizeof(rss));
	rp->header.type = NDIS_OBJECT_TYPE_RSS_PARAMETERS;
	rp->header.revision = NDIS_RSS_PARAMS_REVISION_2;
	rp->header.size = NDIS_RSS_PARAMS_SIZE_REVISION_2;
	rp->hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 |
			NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6;
	rp->indirect_tabsize = 4 * 128;
	rp->indirect_taboffset = sizeof(*rp);
	rp->hashkey_size = NDIS_RSS_HASH_KEY_SIZE;
	rp->hashkey_offset = sizeof(*rp) + 4 * 128;
	for (uint32_t i = 0; i < 128; i++) {
		uint32_t q = i % n->nq;

		memcpy(rss + sizeof(*rp) + 4 * i, &q, 4);
	}
	for (uint32_t i = 0; i < NDIS_RSS_HASH_KEY_SIZE; i++)
		rss[rp->hashkey_offset + i] = (uint8_t)(0x6d + 37 * i);
	rc = ovb_netvsc_set(n, OID_GEN_RECEIVE_SCALE_PARAMETERS, rss,
			    rp->hashkey_offset + NDIS_RSS_HASH_KEY_SIZE);
	return rc == -EIO ? 0 : rc;
}

/* ---- open and close ---------------------------------------------------------- */

static int nvsc_up(struct ovb_netvsc *n)
{
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST |
			  NDIS_PACKET_TYPE_BROADCAST;
	int rc;

	if ((rc = nvsc_negotiate(n)) != 0 || (rc = nvsc_buffers(n)) != 0 ||
	    (rc = netvsc__pool_init(&n->bigs, n, NETVSC_BIG_BUFS, true)) ||
	    (rc = nvsc_rndis_init(n)) != 0 || (rc = nvsc_offloads(n)) != 0 ||
	    (rc = nvsc_multiqueue(n)) != 0)
		return rc;
	return ovb_netvsc_set(n, OID_GEN_CURRENT_PACKET_FILTER, &filter, 4);
}

int ovb_netvsc_open(struct ovb_vsc_dev *dev, const struct ovb_netvsc_params *p,
		    struct ovb_netvsc **out)
{
	struct ovb_vsc_open_params op = { 0 };
	struct ovb_netvsc *n = calloc(1, sizeof(*n));
	uint64_t gpa;
	int rc;

	if (!n)
		return -ENOMEM;
	n->p = *p;
	if (!n->p.ring_bytes)
		n->p.ring_bytes = 256u << 10;
	if (!n->p.ctl_timeout_ms || n->p.ctl_timeout_ms > 600000)
		n->p.ctl_timeout_ms = NETVSC_TIMEOUT;
	n->dev = dev;
	n->cl = ovb_vsc_dev_client(dev);
	pthread_mutex_init(&n->sub_lock, NULL);
	ovb_cond_init(&n->sub_cond);
	pthread_mutex_init(&n->ctl_lock, NULL);
	pthread_mutex_init(&n->ctl_wait_lock, NULL);
	ovb_cond_init(&n->ctl_cond);
	for (uint32_t i = 0; i < NVSP_SEND_INDIRECTION_TABLE_SIZE; i++)
		n->send_table[i] = 0xffffffffu; /* none yet: queue % nq */
	rc = ovb_client_alloc(n->cl, NETVSC_CTL_SIZE, (void **)&n->ctl, &gpa);
	if (rc) {
		free(n);
		return rc;
	}
	n->q[0].n = n;
	n->q[0].dev = dev;
	n->q[0].cur = -1;
	pthread_mutex_init(&n->q[0].lock, NULL);
	op.out_ring = op.in_ring = n->p.ring_bytes;
	op.recv = netvsc__recv;
	op.ctx = &n->q[0];
	op.use_monitor = n->p.use_monitor;
	op.no_eventfd = n->p.use_monitor;
	ovb_vsc_dev_set_ctx(dev, n);
	rc = n->p.gpadls_before_open ? nvsc_buffer_gpadls(n) : 0;
	if (!rc)
		rc = ovb_vsc_open(dev, &op, &n->q[0].chan);
	if (rc) {
		ovb_vsc_dev_set_ctx(dev, NULL);
		if (n->rx_gpadl)
			ovb_vsc_gpadl_teardown(dev, n->rx_gpadl);
		if (n->tx_gpadl)
			ovb_vsc_gpadl_teardown(dev, n->tx_gpadl);
		if (n->rxbuf)
			ovb_client_free(n->cl, n->rxbuf, n->rxlen);
		if (n->txbuf)
			ovb_client_free(n->cl, n->txbuf, n->txlen);
		ovb_client_free(n->cl, n->ctl, NETVSC_CTL_SIZE);
		free(n);
		return rc;
	}
	/* A NIC's traffic is streams: spin while it flows (channel.h). */
	ovb_chan_set_adaptive(n->q[0].chan, true);
	if (n->p.poll_us)
		ovb_chan_set_poll(n->q[0].chan, n->p.poll_us);
	n->nq = 1;
	rc = nvsc_up(n);
	if (rc) {
		ovb_warn("netvsc %s: bring-up failed: %s",
			 ovb_chan_name(n->q[0].chan), strerror(-rc));
		ovb_netvsc_close(n);
		return rc;
	}
	n->info.nvsp_version = n->nvsp;
	n->info.ndis_version = n->ndis;
	n->info.send_section = n->sec_size;
	n->info.recv_section = n->rx_section;
	*out = n;
	return 0;
}

void ovb_netvsc_close(struct ovb_netvsc *n)
{
	struct ovb_nvsp_msg m = { .type = NVSP_MSG1_TYPE_REVOKE_RECV_BUF };
	struct ovb_rndis_msg halt = { .type = RNDIS_MSG_HALT };

	if (__atomic_exchange_n(&n->closing, true, __ATOMIC_ACQ_REL))
		return;
	netvsc__pool_quiesce(&n->secs);
	netvsc__pool_quiesce(&n->bigs);
	for (unsigned int i = 1; i < n->nq; i++) {
		ovb_vsc_dev_set_ctx(n->q[i].dev, NULL);
		ovb_vsc_close(n->q[i].dev);
	}
	if (!ovb_chan_is_dead(n->q[0].chan)) {
		rndis_call(n, &halt, NULL, NULL);
		if (n->rx_gpadl) {
			m.u.revoke.id = NVSP_RECEIVE_BUFFER_ID;
			nvsc_post(n, &m);
		}
		if (n->tx_gpadl) {
			m.type = NVSP_MSG1_TYPE_REVOKE_SEND_BUF;
			m.u.revoke.id = 0;
			nvsc_post(n, &m);
		}
	}
	ovb_vsc_dev_set_ctx(n->dev, NULL);
	ovb_vsc_close(n->dev);
	if (n->rx_gpadl)
		ovb_vsc_gpadl_teardown(n->dev, n->rx_gpadl);
	if (n->tx_gpadl)
		ovb_vsc_gpadl_teardown(n->dev, n->tx_gpadl);
	if (n->rxbuf)
		ovb_client_free(n->cl, n->rxbuf, n->rxlen);
	if (n->txbuf)
		ovb_client_free(n->cl, n->txbuf, n->txlen);
	if (n->big)
		ovb_client_free(n->cl, n->big,
				(size_t)NETVSC_BIG_BUFS * NETVSC_BIG_SIZE);
	ovb_client_free(n->cl, n->ctl, NETVSC_CTL_SIZE);
	netvsc__pool_fini(&n->secs);
	netvsc__pool_fini(&n->bigs);
	for (unsigned int i = 0; i < n->nq; i++) {
		pthread_mutex_destroy(&n->q[i].lock);
		free(n->q[i].rsc.buf);
		free(n->q[i].rsc.iov);
	}
	free(n);
}

void ovb_netvsc_set_poll(struct ovb_netvsc *n, uint32_t poll_us)
{
	unsigned int nq = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);

	/* Sub-channels opened from now on read it. */
	__atomic_store_n(&n->p.poll_us, poll_us, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < nq; i++)
		ovb_chan_set_poll(n->q[i].chan, poll_us);
}

void ovb_netvsc_get_info(struct ovb_netvsc *n, struct ovb_netvsc_info *info)
{
	*info = n->info;
	info->queues = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);
	info->link_up = __atomic_load_n(&n->info.link_up, __ATOMIC_ACQUIRE);
}

void ovb_netvsc_get_stats(struct ovb_netvsc *n, struct ovb_netvsc_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < OVB_NETVSC_MAX_QUEUES; i++) {
		const struct netvsc_q *q = &n->q[i];

		st->tx_frames += __atomic_load_n(&q->tx_frames,
						 __ATOMIC_RELAXED);
		st->tx_bytes += __atomic_load_n(&q->tx_bytes, __ATOMIC_RELAXED);
		st->rx_frames += __atomic_load_n(&q->rx_frames,
						 __ATOMIC_RELAXED);
		st->rx_bytes += __atomic_load_n(&q->rx_bytes, __ATOMIC_RELAXED);
	}
	st->tx_sends = __atomic_load_n(&n->tx_sends, __ATOMIC_RELAXED);
	st->tx_pagebuf = __atomic_load_n(&n->tx_pagebuf, __ATOMIC_RELAXED);
	st->tx_errors = __atomic_load_n(&n->tx_errors, __ATOMIC_RELAXED);
	st->rx_bad = __atomic_load_n(&n->rx_bad, __ATOMIC_RELAXED);
	st->rx_coalesced = __atomic_load_n(&n->rx_coalesced, __ATOMIC_RELAXED);
	st->rx_rsc_dropped = __atomic_load_n(&n->rx_rsc_dropped,
					     __ATOMIC_RELAXED);
	st->rx_rsc_inplace = __atomic_load_n(&n->rx_rsc_inplace,
					     __ATOMIC_RELAXED);
}
