// SPDX-License-Identifier: MIT
/*
 * The scripted netvsc guest of net-guest-fx.h: bring-up the way Linux
 * netvsc_device_add and rndis_filter_device_add do it, raw NVSP and RNDIS
 * sends (in-band, send-buffer sections, GPA-direct ranges cut anywhere),
 * and a recorder of what the host answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsp.h"
#include "net/nvsp.h"
#include "openvmbus/offload.h"
#include "net/rndis.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/net-guest-fx.h"
#include "tests/lib/pair.h"

static int sg_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	((struct sg *)ctx)->dev = dev;
	return 0;
}

static const struct ovb_vsc_driver sg_driver = {
    .name = "scripted-nic",
    .class_id = {{0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f,
		  0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e}},
    .probe = sg_probe,
};

/* Complete receive slot @xid the way Linux enq_receive_complete does. */
void sg_ack(struct sg *g, uint64_t xid)
{
	union nvsp_message m = {.raw = {0}};

	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	m.rndis_pkt_complete.status = NVSP_STAT_SUCCESS;
	assert_int_equal(ovb_chan_send_comp(g->chan, xid, &m, sizeof(m)), 0);
}

/*
 * The same from the channel's receive callback, a thread of the bus: no
 * cmocka assert there (a failure outside the test's thread ends the
 * process without a word), the first error is kept for sg_free to check.
 */
static void sg_ack_cb(struct sg *g, uint64_t xid)
{
	union nvsp_message m = {.raw = {0}};
	int rc, none = 0;

	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	m.rndis_pkt_complete.status = NVSP_STAT_SUCCESS;
	rc = ovb_chan_send_comp(g->chan, xid, &m, sizeof(m));
	if (rc && !__atomic_load_n(&g->closing, __ATOMIC_ACQUIRE))
		__atomic_compare_exchange_n(&g->ack_err, &none, rc, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static void sg_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt, void *ctx)
{
	struct sg *g = ctx;
	bool ack = false;

	pthread_mutex_lock(&g->lock);
	if (pkt->type == VM_PKT_COMP && g->ncomp < MAXREC) {
		struct comp_rec *c = &g->comp[g->ncomp];

		c->xid = pkt->xid;
		c->len = pkt->len;
		memcpy(c->msg, pkt->data, pkt->len < 64 ? pkt->len : 64);
		__atomic_store_n(&g->ncomp, g->ncomp + 1, __ATOMIC_RELEASE);
	} else if (pkt->type == VM_PKT_DATA_USING_XFER_PAGES &&
		   g->nxfer < MAXREC) {
		struct xfer_rec *x = &g->xfer[g->nxfer];

		x->xid = pkt->xid;
		x->pageset = pkt->xfer_pageset_id;
		x->nranges = pkt->xfer_cnt;
		x->off = pkt->xfer[0].byte_offset;
		x->len = pkt->xfer[0].byte_count;
		for (uint32_t i = 0; i < pkt->xfer_cnt && i < MAXRANGES; i++) {
			x->roff[i] = pkt->xfer[i].byte_offset;
			x->rlen[i] = pkt->xfer[i].byte_count;
		}
		x->nvsp_type = pkt->len >= 4 ? ld32(pkt->data) : 0;
		x->channel_type =
		    pkt->len >= 8 ? ld32((const uint8_t *)pkt->data + 4) : 0;
		if (x->channel_type == NVSP_CHANNEL_TYPE_CONTROL && g->rx &&
		    x->off < g->rx_len && x->len <= sizeof(g->last_ctl) &&
		    x->len <= g->rx_len - x->off) {
			memcpy(g->last_ctl, g->rx + x->off, x->len);
			g->last_ctl_len = x->len;
			g->nctl++;
		}
		ack = !g->hold;
		__atomic_store_n(&g->nxfer, g->nxfer + 1, __ATOMIC_RELEASE);
	} else if (pkt->type == VM_PKT_DATA_USING_XFER_PAGES) {
		ack = !g->hold; /* past MAXREC: not recorded, still completed */
	} else if (pkt->type == VM_PKT_DATA_INBAND) {
		g->inband_len = pkt->len;
		memcpy(g->inband, pkt->data,
		       pkt->len < sizeof(g->inband) ? pkt->len
						    : sizeof(g->inband));
		__atomic_store_n(&g->ninband, g->ninband + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g->lock);
	if (ack)
		sg_ack_cb(g, pkt->xid);
}

/* The test's switch port: what the guest sent. */
static int sg_sink(void *ctx, const void *frame, size_t len,
		   const struct ovb_net_meta *meta)
{
	struct sg *g = ctx;

	pthread_mutex_lock(&g->lock);
	if (g->nsink < MAXSINK) {
		g->sink[g->nsink] = malloc(len);
		memcpy(g->sink[g->nsink], frame, len);
		g->sink_len[g->nsink] = (uint32_t)len;
		g->sink_meta[g->nsink] = *meta;
	}
	__atomic_store_n(&g->nsink, g->nsink + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

unsigned int sg_nsink(struct sg *g)
{
	return __atomic_load_n(&g->nsink, __ATOMIC_ACQUIRE);
}

void sg_sink_reset(struct sg *g)
{
	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->nsink && i < MAXSINK; i++)
		free(g->sink[i]);
	g->nsink = 0;
	pthread_mutex_unlock(&g->lock);
}

/* Completions recorded for @xid; the first one copied to @out. */
unsigned int sg_comps(struct sg *g, uint64_t xid, struct comp_rec *out)
{
	unsigned int n = 0;

	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->ncomp && i < MAXREC; i++)
		if (g->comp[i].xid == xid && n++ == 0 && out)
			*out = g->comp[i];
	pthread_mutex_unlock(&g->lock);
	return n;
}

/* Send @len bytes in-band (and GPA ranges if @ranges); wait for a
 * completion; return the count of completions with that xid. */
unsigned int sg_call(struct sg *g, const void *msg, size_t len,
		     const void *ranges, size_t ranges_len, uint32_t range_cnt,
		     struct comp_rec *out)
{
	struct ovb_send s = {.type = VM_PKT_DATA_INBAND,
			     .data = msg,
			     .len = len,
			     .flags = OVB_SEND_COMPLETION};

	s.xid = ++g->next_xid;
	if (ranges) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = ranges;
		s.ranges_len = ranges_len;
		s.range_cnt = range_cnt;
	}
	assert_int_equal(ovb_chan_send(g->chan, &s), 0);
	PAIR_WAIT(sg_comps(g, s.xid, NULL) >= 1);
	return sg_comps(g, s.xid, out);
}

uint32_t sg_nvsp_status(const struct comp_rec *c)
{
	return ld32(c->msg + 4);
}

/* An NVSP request of NVSP_MESSAGE_SIZE bytes with @w words after type. */
unsigned int sg_nvsp(struct sg *g, uint32_t type, const uint32_t *w, int nw,
		     struct comp_rec *out)
{
	union nvsp_message m = {.raw = {0}};

	m.hdr.msg_type = type;
	memcpy(m.raw + 4, w, (size_t)nw * 4);
	return sg_call(g, &m, sizeof(m), NULL, 0, 0, out);
}

void sg_inband(struct sg *g, uint32_t type, const uint32_t *w, int nw)
{
	union nvsp_message m = {.raw = {0}};
	struct ovb_send s = {.data = &m, .len = sizeof(m)};

	m.hdr.msg_type = type;
	memcpy(m.raw + 4, w, (size_t)nw * 4);
	assert_int_equal(ovb_chan_send(g->chan, &s), 0);
}

/* A GPADL over fresh guest memory of @len bytes. */
static uint32_t sg_buffer(struct sg *g, size_t len, uint8_t **va)
{
	uint64_t gpa;
	uint32_t h;

	assert_int_equal(ovb_client_alloc(g->cl, len, (void **)va, &gpa), 0);
	assert_int_equal(ovb_vsc_gpadl_create(g->dev, *va, len, &h), 0);
	return h;
}

/* SEND_RECEIVE_BUFFER of @len bytes; the completion's status. */
uint32_t sg_recv_buf(struct sg *g, size_t len)
{
	struct comp_rec c;
	uint32_t w[2];

	w[0] = sg_buffer(g, len, &g->rx);
	w[1] = RXBUF_ID;
	g->rx_len = len;
	assert_int_equal(sg_nvsp(g, NVSP_MSG1_TYPE_SEND_RECV_BUF, w, 2, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE);
	assert_true(c.len >= NVSP_MESSAGE_SIZE && c.len <= 256);
	memcpy(g->recv_buf_comp, c.msg, sizeof(g->recv_buf_comp));
	g->recv_buf_comp_len = c.len;
	g->sub_size = ld32(c.msg + 16);
	g->nsub = ld32(c.msg + 20);
	return sg_nvsp_status(&c);
}

uint32_t sg_send_buf(struct sg *g, size_t len)
{
	struct comp_rec c;
	uint32_t w[2];

	w[0] = sg_buffer(g, len, &g->tx);
	w[1] = 0xface;
	g->tx_len = len;
	assert_int_equal(sg_nvsp(g, NVSP_MSG1_TYPE_SEND_SEND_BUF, w, 2, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE);
	assert_true(c.len >= NVSP_MESSAGE_SIZE && c.len <= 256);
	g->section_size = ld32(c.msg + 8);
	return sg_nvsp_status(&c);
}

/*
 * Lay @msg out in scratch pages and send it as GPA-direct SEND_RNDIS_PKT:
 * the first @k bytes end page 0, the next @k2 bytes (0: the rest) sit at
 * offset 100 of page 2, the rest starts page 4 (pages never adjacent).
 * With @one_range and no @k2, one range of two PFNs describes it.
 * Returns the completion status.
 */
uint32_t sg_send_split(struct sg *g, uint32_t channel_type, const uint8_t *msg,
		       size_t len, size_t k, size_t k2, bool one_range)
{
	uint64_t words[16], pfn = g->pages_gpa / PAGE;
	size_t nw = 0, rest = len - k;
	uint32_t w[3] = {channel_type, NVSP_INVALID_SECTION_INDEX, 0};
	union nvsp_message m = {.raw = {0}};
	struct comp_rec c;
	uint32_t cnt;

	memset(g->pages, 0xee, 6 * PAGE);
	memcpy(g->pages + PAGE - k, msg, k);
	if (one_range) {
		st32(&words[0], (uint32_t)len);
		st32((uint8_t *)&words[0] + 4, PAGE - (uint32_t)k);
		words[1] = pfn;
		words[2] = pfn + 4;
		memcpy(g->pages + 4 * PAGE, msg + k, rest);
		nw = 3;
		cnt = 1;
	} else {
		st32(&words[0], (uint32_t)k);
		st32((uint8_t *)&words[0] + 4, PAGE - (uint32_t)k);
		words[1] = pfn;
		nw = 2;
		cnt = 1;
		if (k2 && k2 < rest) {
			memcpy(g->pages + 2 * PAGE + 100, msg + k, k2);
			st32(&words[nw], (uint32_t)k2);
			st32((uint8_t *)&words[nw] + 4, 100);
			words[nw + 1] = pfn + 2;
			nw += 2;
			cnt++;
			rest -= k2;
			k += k2;
		}
		if (rest) {
			memcpy(g->pages + 4 * PAGE, msg + k, rest);
			st32(&words[nw], (uint32_t)rest);
			st32((uint8_t *)&words[nw] + 4, 0);
			words[nw + 1] = pfn + 4;
			nw += 2;
			cnt++;
		}
	}
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	memcpy(m.raw + 4, w, sizeof(w));
	assert_int_equal(sg_call(g, &m, sizeof(m), words, nw * 8, cnt, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE);
	assert_true(c.len >= 8 && c.len <= 256);
	return sg_nvsp_status(&c);
}

/* An RNDIS control request through one page; wait for its reply. */
void sg_rndis(struct sg *g, const void *msg, size_t len)
{
	unsigned int before = __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);

	sg_send_split(g, NVSP_CHANNEL_TYPE_CONTROL, msg, len, len, 0, false);
	PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > before);
}

size_t sg_rndis_set(uint8_t *b, uint32_t rid, uint32_t oid, const void *val,
		    uint32_t vlen)
{
	memset(b, 0, 28);
	st32(b, RNDIS_MSG_SET);
	st32(b + 4, 28 + vlen);
	st32(b + 8, rid);
	st32(b + 12, oid);
	st32(b + 16, vlen);
	st32(b + 20, 20);
	memcpy(b + 28, val, vlen);
	return 28 + vlen;
}

size_t sg_rndis_query(uint8_t *b, uint32_t rid, uint32_t oid)
{
	memset(b, 0, 28);
	st32(b, RNDIS_MSG_QUERY);
	st32(b + 4, 28);
	st32(b + 8, rid);
	st32(b + 12, oid);
	st32(b + 20, 20);
	return 28;
}

/* Everything Linux netvsc_device_add and rndis_filter_device_add do,
 * minus the sub-channels. */
struct sg *sg_new(const struct sg_opts *o)
{
	struct ovb_netvsp_cfg cfg = {.name = "sw0"};
	struct ovb_inproc_params ip = {.name = "guest", .mem_gpa = 1ull << 32};
	struct ovb_vsc_open_params op = {
	    .out_ring = 256 << 10, .in_ring = 256 << 10, .recv = sg_recv};
	struct sg *g = calloc(1, sizeof(*g));
	uint32_t ver = o->nvsp ? o->nvsp : NVSP_PROTOCOL_VERSION_61;
	uint32_t w[4];
	struct comp_rec c;
	uint8_t b[64];
	uint64_t gpa;

	pthread_mutex_init(&g->lock, NULL);
	ip.mem_size = o->mem ? o->mem : 64ull << 20;
	assert_int_equal(ovb_server_create(&g->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &g->sw), 0);
	cfg.sw = g->sw;
	cfg.rx_wait_ms = o->rx_wait_ms;
	cfg.rx_slot = o->rx_slot;
	assert_int_equal(ovb_netvsp_create(&cfg, &g->vsp), 0);
	assert_int_equal(ovb_netvsp_register(g->vsp, g->srv), 0);
	assert_int_equal(ovb_vswitch_port_add(g->sw, "test",
					      OVB_VSWITCH_CAP_VLAN, sg_sink, g,
					      &g->port),
			 0);
	assert_int_equal(ovb_inproc_create(g->srv, &ip, &g->link), 0);
	g->cl = ovb_inproc_client(g->link);
	assert_int_equal(ovb_client_register_driver(g->cl, &sg_driver, g), 0);
	assert_int_equal(ovb_client_connect(g->cl, 0, 5000), 0);
	assert_non_null(g->dev);
	op.ctx = g;
	assert_int_equal(ovb_vsc_open(g->dev, &op, &g->chan), 0);
	assert_int_equal(
	    ovb_client_alloc(g->cl, 6 * PAGE, (void **)&g->pages, &gpa), 0);
	g->pages_gpa = gpa;

	w[0] = w[1] = ver;
	assert_int_equal(sg_nvsp(g, NVSP_MSG_TYPE_INIT, w, 2, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG_TYPE_INIT_COMPLETE);
	assert_int_equal(ld32(c.msg + 12), NVSP_STAT_SUCCESS);
	/* Linux netvsc_send_completion copies sizeof(struct nvsp_message),
	 * 40 bytes, of INIT, SEND_*_BUF and SUBCHANNEL completions. */
	assert_true(c.len >= NVSP_MESSAGE_SIZE && c.len <= 256);
	if (ver >= NVSP_PROTOCOL_VERSION_2) {
		w[0] = 1514;
		w[1] = 0;
		w[2] = 1 << 3 | (o->rsc ? 1u << 7 : 0); /* 802.1Q, RSC */
		w[3] = 0;
		sg_inband(g, NVSP_MSG2_TYPE_SEND_NDIS_CONFIG, w, 4);
	}
	w[0] = 6;
	w[1] = ver <= NVSP_PROTOCOL_VERSION_4 ? 1 : 30;
	sg_inband(g, NVSP_MSG1_TYPE_SEND_NDIS_VER, w, 2);
	if (o->rx_len != SIZE_MAX)
		sg_recv_buf(g, o->rx_len ? o->rx_len : 1u << 20);
	if (o->tx_len != SIZE_MAX)
		sg_send_buf(g, o->tx_len ? o->tx_len : 1u << 20);
	if (o->no_init)
		return g;
	assert_int_equal(ld32(g->recv_buf_comp + 4), NVSP_STAT_SUCCESS);
	memset(b, 0, sizeof(b));
	st32(b, RNDIS_MSG_INIT);
	st32(b + 4, 24);
	st32(b + 8, 1);
	st32(b + 12, 1);
	st32(b + 20, 0x4000);
	sg_rndis(g, b, 24);
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_INIT_C);
	w[0] = NDIS_PACKET_TYPE_PROMISCUOUS;
	sg_rndis(g, b, sg_rndis_set(b, 2, OID_GEN_CURRENT_PACKET_FILTER, w, 4));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	return g;
}

void sg_free(struct sg *g)
{
	/* Every receive completion the guest sent while open went out. */
	assert_int_equal(__atomic_load_n(&g->ack_err, __ATOMIC_ACQUIRE), 0);
	__atomic_store_n(&g->closing, true, __ATOMIC_RELEASE);
	ovb_vsc_close(g->dev);
	ovb_inproc_destroy(g->link);
	ovb_server_destroy(g->srv);
	ovb_netvsp_destroy(g->vsp);
	ovb_vswitch_destroy(g->sw);
	sg_sink_reset(g);
	free(g);
}

/* An RNDIS PACKET: header, VLAN and (zero) checksum PPIs, @flen bytes of
 * a frame from a unicast source to the broadcast address. */
size_t sg_tx_packet(uint8_t *b, size_t flen, uint32_t seed)
{
	const size_t ppis = 2 * 16, hl = 44 + ppis;

	memset(b, 0, hl);
	st32(b, RNDIS_MSG_PACKET);
	st32(b + 4, (uint32_t)(hl + flen));
	st32(b + 8, (uint32_t)(hl - 8));
	st32(b + 12, (uint32_t)flen);
	st32(b + 28, 36);
	st32(b + 32, ppis);
	st32(b + 44, 16);
	st32(b + 48, NDIS_PPI_8021Q);
	st32(b + 52, 12);
	st32(b + 56, 5u << 4); /* VLAN 5 */
	st32(b + 60, 16);
	st32(b + 64, NDIS_PPI_CHECKSUM);
	st32(b + 68, 12);
	st32(b + 72, 0);
	memset(b + hl, 0xff, 6);
	memcpy(b + hl + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
	b[hl + 12] = 0x88;
	b[hl + 13] = 0xb5;
	for (size_t i = 14; i < flen; i++)
		b[hl + i] = (uint8_t)(i * 3 + seed);
	return hl + flen;
}

uint64_t sg_vsp_stat(struct sg *g, size_t off)
{
	struct ovb_netvsp_stats st;
	uint64_t v;

	ovb_netvsp_get_stats(g->vsp, &st);
	memcpy(&v, (uint8_t *)&st + off, 8);
	return v;
}

/* A broadcast frame of @len bytes from the test port towards the guest. */
void sg_inject(struct sg *g, size_t len, uint32_t seed)
{
	static const struct ovb_net_meta none;
	uint8_t f[1514];

	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 9}, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i + seed);
	ovb_vswitch_input(g->sw, g->port, f, len, &none);
}

/* Send @len bytes from send section @idx; the completion's status.
 * *@ncomp gets the number of completions seen for it. */
uint32_t sg_send_section(struct sg *g, uint32_t idx, const void *msg,
			 size_t len, unsigned int *ncomp)
{
	uint32_t w[3] = {NVSP_CHANNEL_TYPE_DATA, idx, (uint32_t)len};
	struct comp_rec c;
	unsigned int n;

	memcpy(g->tx + (size_t)idx * g->section_size, msg, len);
	n = sg_nvsp(g, NVSP_MSG1_TYPE_SEND_RNDIS_PKT, w, 3, &c);
	if (ncomp)
		*ncomp = n;
	return sg_nvsp_status(&c);
}

/* An RNDIS PACKET carrying @frame with one PPI (@ppi_type, @ppi_val). */
size_t sg_tx_ppi_packet(uint8_t *b, const uint8_t *frame, size_t flen,
			uint32_t ppi_type, uint32_t ppi_val)
{
	const size_t hl = 44 + 16;

	memset(b, 0, hl);
	st32(b, RNDIS_MSG_PACKET);
	st32(b + 4, (uint32_t)(hl + flen));
	st32(b + 8, (uint32_t)(hl - 8));
	st32(b + 12, (uint32_t)flen);
	st32(b + 28, 36);
	st32(b + 32, 16);
	st32(b + 44, 16);
	st32(b + 48, ppi_type);
	st32(b + 52, 12);
	st32(b + 56, ppi_val);
	memcpy(b + hl, frame, flen);
	return hl + flen;
}

/* A frame to @dst from the test port. */
void sg_inject_to(struct sg *g, const uint8_t *dst)
{
	static const struct ovb_net_meta none;
	uint8_t f[100] = {0};

	memcpy(f, dst, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 9}, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	ovb_vswitch_input(g->sw, g->port, f, sizeof(f), &none);
}

/* Data transfer-page packets received since @first. */
unsigned int sg_data_xfers(struct sg *g, unsigned int first)
{
	unsigned int n = 0;

	pthread_mutex_lock(&g->lock);
	for (unsigned int i = first; i < g->nxfer && i < MAXREC; i++)
		n += g->xfer[i].channel_type == NVSP_CHANNEL_TYPE_DATA;
	pthread_mutex_unlock(&g->lock);
	return n;
}