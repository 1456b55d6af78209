// SPDX-License-Identifier: MIT
/*
 * netvsp against what real guest drivers put on the wire and check in the
 * host's replies: a real host (netvsp on a virtual switch, plus a test
 * port on that switch that sees what the guest sent and injects frames
 * towards it) and a scripted guest that speaks NVSP and RNDIS byte by
 * byte the way Linux netvsc (drivers/net/hyperv) and DPDK's netvsc PMD do:
 * RNDIS messages split across pages in GPA-direct sends, several RNDIS
 * packets in one send section, offload PPIs that do not fit their frame,
 * DPDK's 31 MiB receive and 16 MiB send buffers, receive transaction ids
 * used as slot indices, and the checks both drivers make on the host's
 * completions and RNDIS replies.  docs/compat.md names each rule.
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

#include "openvmbus/link.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/nvsp.h"
#include "openvmbus/offload.h"
#include "openvmbus/rndis.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/pair.h"

#define PAGE 4096u
#define RXBUF_ID 0xcafe  /* Linux's and DPDK's receive buffer id */
#define MAXREC 1024
#define MAXSINK 64

/* One transfer-page packet the host sent us. */
struct xfer_rec {
	uint64_t xid;
	uint16_t pageset;
	uint32_t nranges, off, len;
	uint32_t nvsp_type, channel_type;
};

/* One completion the host sent us. */
struct comp_rec {
	uint64_t xid;
	uint32_t len;
	uint8_t msg[64];
};

/* The scripted guest and the host it talks to. */
struct sg {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	unsigned int port;      /* the test's own switch port */

	uint8_t *rx;            /* receive buffer */
	size_t rx_len;
	uint8_t *tx;            /* send buffer */
	size_t tx_len;
	uint8_t *pages;         /* scratch pages for GPA-direct sends */
	uint64_t pages_gpa;
	uint32_t sub_size, nsub, section_size;
	uint8_t recv_buf_comp[64];
	uint32_t recv_buf_comp_len;

	pthread_mutex_t lock;
	bool hold;              /* keep receive slots instead of completing */
	unsigned int nxfer, ncomp;
	struct xfer_rec xfer[MAXREC];
	struct comp_rec comp[MAXREC];
	uint8_t inband[256];    /* the last in-band message received */
	uint32_t inband_len;
	unsigned int ninband;
	uint8_t last_ctl[1024]; /* the last control message received */
	uint32_t last_ctl_len;
	unsigned int nctl;

	unsigned int nsink;     /* frames the switch delivered to our port */
	uint32_t sink_len[MAXSINK];
	uint8_t *sink[MAXSINK];
	struct ovb_net_meta sink_meta[MAXSINK];
	uint64_t next_xid;
};

static int sg_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	((struct sg *)ctx)->dev = dev;
	return 0;
}

static const struct ovb_vsc_driver sg_driver = {
	.name = "scripted-nic",
	.class_id = { { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91,
			0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	.probe = sg_probe,
};

static uint32_t ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void st32(void *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Complete receive slot @xid the way Linux enq_receive_complete does. */
static void sg_ack(struct sg *g, uint64_t xid)
{
	union nvsp_message m = { .raw = { 0 } };

	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	m.rndis_pkt_complete.status = NVSP_STAT_SUCCESS;
	assert_int_equal(ovb_chan_send_comp(g->chan, xid, &m, sizeof(m)), 0);
}

static void sg_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
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
		x->nvsp_type = pkt->len >= 4 ? ld32(pkt->data) : 0;
		x->channel_type = pkt->len >= 8 ? ld32((const uint8_t *)
						       pkt->data + 4) : 0;
		if (x->channel_type == NVSP_CHANNEL_TYPE_CONTROL &&
		    g->rx && x->off < g->rx_len &&
		    x->len <= sizeof(g->last_ctl) &&
		    x->len <= g->rx_len - x->off) {
			memcpy(g->last_ctl, g->rx + x->off, x->len);
			g->last_ctl_len = x->len;
			g->nctl++;
		}
		ack = !g->hold;
		__atomic_store_n(&g->nxfer, g->nxfer + 1, __ATOMIC_RELEASE);
	} else if (pkt->type == VM_PKT_DATA_INBAND) {
		g->inband_len = pkt->len;
		memcpy(g->inband, pkt->data,
		       pkt->len < sizeof(g->inband) ? pkt->len
						    : sizeof(g->inband));
		__atomic_store_n(&g->ninband, g->ninband + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g->lock);
	if (ack)
		sg_ack(g, pkt->xid);
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

static unsigned int sg_nsink(struct sg *g)
{
	return __atomic_load_n(&g->nsink, __ATOMIC_ACQUIRE);
}

static void sg_sink_reset(struct sg *g)
{
	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->nsink && i < MAXSINK; i++)
		free(g->sink[i]);
	g->nsink = 0;
	pthread_mutex_unlock(&g->lock);
}

/* Completions recorded for @xid; the first one copied to @out. */
static unsigned int sg_comps(struct sg *g, uint64_t xid, struct comp_rec *out)
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
static unsigned int sg_call(struct sg *g, const void *msg, size_t len,
			    const void *ranges, size_t ranges_len,
			    uint32_t range_cnt, struct comp_rec *out)
{
	struct ovb_send s = { .type = VM_PKT_DATA_INBAND, .data = msg,
			      .len = len,
			      .flags = OVB_SEND_COMPLETION };

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

static uint32_t nvsp_status(const struct comp_rec *c)
{
	return ld32(c->msg + 4);
}

/* An NVSP request of NVSP_MESSAGE_SIZE bytes with @w words after type. */
static unsigned int sg_nvsp(struct sg *g, uint32_t type, const uint32_t *w,
			    int nw, struct comp_rec *out)
{
	union nvsp_message m = { .raw = { 0 } };

	m.hdr.msg_type = type;
	memcpy(m.raw + 4, w, (size_t)nw * 4);
	return sg_call(g, &m, sizeof(m), NULL, 0, 0, out);
}

static void sg_inband(struct sg *g, uint32_t type, const uint32_t *w, int nw)
{
	union nvsp_message m = { .raw = { 0 } };
	struct ovb_send s = { .data = &m, .len = sizeof(m) };

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
static uint32_t sg_recv_buf(struct sg *g, size_t len)
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
	return nvsp_status(&c);
}

static uint32_t sg_send_buf(struct sg *g, size_t len)
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
	return nvsp_status(&c);
}

/*
 * Lay @msg out in scratch pages and send it as GPA-direct SEND_RNDIS_PKT:
 * the first @k bytes end page 0, the next @k2 bytes (0: the rest) sit at
 * offset 100 of page 2, the rest starts page 4 (pages never adjacent).
 * With @one_range and no @k2, one range of two PFNs describes it.
 * Returns the completion status.
 */
static uint32_t sg_send_split(struct sg *g, uint32_t channel_type,
			      const uint8_t *msg, size_t len, size_t k,
			      size_t k2, bool one_range)
{
	uint64_t words[16], pfn = g->pages_gpa / PAGE;
	size_t nw = 0, rest = len - k;
	uint32_t w[3] = { channel_type, NVSP_INVALID_SECTION_INDEX, 0 };
	union nvsp_message m = { .raw = { 0 } };
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
	return nvsp_status(&c);
}

/* An RNDIS control request through one page; wait for its reply. */
static void sg_rndis(struct sg *g, const void *msg, size_t len)
{
	unsigned int before = __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);

	sg_send_split(g, NVSP_CHANNEL_TYPE_CONTROL, msg, len, len, 0, false);
	PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > before);
}

static size_t rndis_set(uint8_t *b, uint32_t rid, uint32_t oid,
			const void *val, uint32_t vlen)
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

static size_t rndis_query(uint8_t *b, uint32_t rid, uint32_t oid)
{
	memset(b, 0, 28);
	st32(b, RNDIS_MSG_QUERY);
	st32(b + 4, 28);
	st32(b + 8, rid);
	st32(b + 12, oid);
	st32(b + 20, 20);
	return 28;
}

struct sg_opts {
	uint32_t nvsp;       /* 0: 6.1 */
	size_t rx_len, tx_len; /* 0: 1 MiB; tx SIZE_MAX: none */
	size_t mem;          /* 0: 64 MiB */
	bool no_init;        /* stop after the buffers */
};

/* Everything Linux netvsc_device_add and rndis_filter_device_add do,
 * minus the sub-channels. */
static struct sg *sg_new(const struct sg_opts *o)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0" };
	struct ovb_inproc_params ip = { .name = "guest",
					.mem_gpa = 1ull << 32 };
	struct ovb_vsc_open_params op = { .out_ring = 256 << 10,
					  .in_ring = 256 << 10,
					  .recv = sg_recv };
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
	assert_int_equal(ovb_netvsp_create(&cfg, &g->vsp), 0);
	assert_int_equal(ovb_netvsp_register(g->vsp, g->srv), 0);
	assert_int_equal(ovb_vswitch_port_add(g->sw, "test",
					      OVB_VSWITCH_CAP_VLAN, sg_sink, g,
					      &g->port), 0);
	assert_int_equal(ovb_inproc_create(g->srv, &ip, &g->link), 0);
	g->cl = ovb_inproc_client(g->link);
	assert_int_equal(ovb_client_register_driver(g->cl, &sg_driver, g), 0);
	assert_int_equal(ovb_client_connect(g->cl, 0, 5000), 0);
	assert_non_null(g->dev);
	op.ctx = g;
	assert_int_equal(ovb_vsc_open(g->dev, &op, &g->chan), 0);
	assert_int_equal(ovb_client_alloc(g->cl, 6 * PAGE, (void **)&g->pages,
					  &gpa), 0);
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
		w[2] = 1 << 3; /* 802.1Q */
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
	sg_rndis(g, b, rndis_set(b, 2, OID_GEN_CURRENT_PACKET_FILTER, w, 4));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	return g;
}

static void sg_free(struct sg *g)
{
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
static size_t tx_packet(uint8_t *b, size_t flen, uint32_t seed)
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
	memcpy(b + hl + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	b[hl + 12] = 0x88;
	b[hl + 13] = 0xb5;
	for (size_t i = 14; i < flen; i++)
		b[hl + i] = (uint8_t)(i * 3 + seed);
	return hl + flen;
}

/*
 * Item 1 (openvmm #1590): Linux >= 6.14 netvsc hands the RNDIS message to
 * the host as page buffers that may cut it anywhere -- inside the 8-byte
 * type and length, the PACKET body, the PPIs -- across two or three
 * ranges, or as one range over two PFNs.  Data and control alike.
 */
static void test_rndis_split_pages(void **state)
{
	struct sg_opts o = { .tx_len = SIZE_MAX };
	struct sg *g = sg_new(&o);
	uint8_t msg[400], q[64];
	size_t len = tx_packet(msg, 200, 1), qlen;

	for (size_t k = 1; k < len; k += k < 100 ? 1 : 37) {
		for (int layout = 0; layout < 3; layout++) {
			size_t k2 = layout == 2 ? 5 : 0;

			if (layout == 2 && k + k2 >= len)
				continue;
			assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA,
						       msg, len, k, k2,
						       layout == 1),
					 NVSP_STAT_SUCCESS);
			PAIR_WAIT(sg_nsink(g) >= 1);
			assert_int_equal(sg_nsink(g), 1);
			assert_int_equal(g->sink_len[0], 200);
			assert_memory_equal(g->sink[0], msg + 76, 200);
			assert_true(g->sink_meta[0].flags & OVB_NET_META_VLAN);
			assert_int_equal(g->sink_meta[0].vlan_tci & 0xfff, 5);
			sg_sink_reset(g);
		}
	}
	/* Control messages, split at every byte. */
	qlen = rndis_query(q, 0, OID_802_3_CURRENT_ADDRESS);
	for (size_t k = 1; k < qlen; k++) {
		for (int layout = 0; layout < 2; layout++) {
			unsigned int before = __atomic_load_n(&g->nctl,
							      __ATOMIC_ACQUIRE);

			st32(q + 8, (uint32_t)(100 + k * 2 + layout));
			assert_int_equal(sg_send_split(g,
						       NVSP_CHANNEL_TYPE_CONTROL,
						       q, qlen, k, 0,
						       layout == 1),
					 NVSP_STAT_SUCCESS);
			PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) >
				  before);
			assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
			assert_int_equal(ld32(g->last_ctl + 8),
					 100 + k * 2 + layout);
			assert_int_equal(ld32(g->last_ctl + 12),
					 RNDIS_STATUS_SUCCESS);
			assert_int_equal(ld32(g->last_ctl + 16), 6);
		}
	}
	sg_free(g);
}


static uint64_t vsp_stat(struct sg *g, size_t off)
{
	struct ovb_netvsp_stats st;
	uint64_t v;

	ovb_netvsp_get_stats(g->vsp, &st);
	memcpy(&v, (uint8_t *)&st + off, 8);
	return v;
}

/* A broadcast frame of @len bytes from the test port towards the guest. */
static void inject(struct sg *g, size_t len, uint32_t seed)
{
	static const struct ovb_net_meta none;
	uint8_t f[1514];

	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i + seed);
	ovb_vswitch_input(g->sw, g->port, f, len, &none);
}

/*
 * What Linux rndis_filter_receive_data / rndis_get_ppi and DPDK
 * hn_rndis_rx_data check on every RNDIS PACKET the host delivers.
 * Linux loops forever on a PPI whose size exceeds what is left or whose
 * ppi_offset is not inside it, so those are hard rules for a host.
 */
static void check_rx_packet(const uint8_t *p, uint32_t range_len)
{
	uint32_t mlen = ld32(p + 4), doff = ld32(p + 8), dlen = ld32(p + 12);
	uint32_t poff = ld32(p + 28), plen = ld32(p + 32);

	assert_int_equal(ld32(p), RNDIS_MSG_PACKET);
	assert_true(range_len >= 44 && mlen <= range_len && mlen >= 44);
	assert_true(doff >= 36 && dlen >= 14 && 8 + doff + dlen <= mlen);
	assert_true(mlen >= dlen + plen);
	if (!poff) {
		assert_int_equal(plen, 0);
		return;
	}
	assert_true(poff >= 36 && !(poff & 3) && poff <= mlen - 8);
	assert_true(plen >= 12 && plen <= mlen - 8 - poff);
	for (const uint8_t *pi = p + 8 + poff; plen;) {
		uint32_t size = ld32(pi), ppi_off = ld32(pi + 8);

		assert_true(plen >= 12 && size <= plen && !(size & 3));
		assert_true(ppi_off >= 12 && ppi_off < size &&
			    size - ppi_off >= 4);
		plen -= size;
		pi += size;
	}
}

/*
 * Item 6, DPDK's netvsc PMD (hn_nvs_conn_rxbuf, hn_nvs_conn_chim,
 * hn_nvs_handle_rxbuf) and Linux (netvsc_init_buf, netvsc_receive):
 * uio_hv_generic's 31 MiB receive and 16 MiB send buffers are accepted;
 * the receive-buffer completion describes one section at offset 0; each
 * transfer-page packet's transaction id is a slot index below
 * num_sub_allocs and names the slot that holds its data, which stays the
 * guest's until that id is completed; duplicate and unknown completion
 * ids are ignored and counted.
 */
static void test_rxbuf_dpdk(void **state)
{
	struct sg_opts o = { .rx_len = 31u << 20, .tx_len = 16u << 20 };
	struct sg *g = sg_new(&o);
	const uint8_t *c = g->recv_buf_comp;
	const size_t bad_off = offsetof(struct ovb_netvsp_stats,
					bad_completions);
	bool seen[MAXREC] = { false };
	unsigned int first, n = 40;
	uint64_t bad0;

	/* SEND_RECV_BUF_COMPLETE: status, 1 section, offset 0. */
	assert_int_equal(ld32(c + 4), NVSP_STAT_SUCCESS);
	assert_true(g->recv_buf_comp_len >= 28 &&
		    g->recv_buf_comp_len <= 256);
	assert_int_equal(ld32(c + 8), 1);
	assert_int_equal(ld32(c + 12), 0);
	assert_true(g->sub_size >= 1514 + 44 && g->nsub >= 2);
	assert_true((uint64_t)g->sub_size * g->nsub <= g->rx_len);
	assert_int_equal(ld32(c + 24), g->sub_size * g->nsub);
	/* SEND_SEND_BUF_COMPLETE: a usable section size. */
	assert_true(g->section_size >= 68 && !(g->section_size & 3));

	g->hold = true;
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < n; i++)
		inject(g, 60 + i * 30, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >= first + n);
	assert_int_equal(g->nxfer, first + n);
	for (unsigned int i = first; i < first + n; i++) {
		struct xfer_rec *x = &g->xfer[i];

		assert_int_equal(x->pageset, RXBUF_ID);
		assert_int_equal(x->nvsp_type, NVSP_MSG1_TYPE_SEND_RNDIS_PKT);
		assert_int_equal(x->channel_type, NVSP_CHANNEL_TYPE_DATA);
		assert_int_equal(x->nranges, 1);
		assert_true(x->xid < g->nsub);
		assert_false(seen[x->xid]);
		seen[x->xid] = true;
		assert_true(x->off >= x->xid * g->sub_size &&
			    x->len <= g->sub_size &&
			    x->off + x->len <= (x->xid + 1) * g->sub_size);
		check_rx_packet(g->rx + x->off, x->len);
		assert_int_equal(ld32(g->rx + x->off + 12),
				 60 + (i - first) * 30);
	}
	for (unsigned int i = first; i < first + n; i++)
		sg_ack(g, g->xfer[i].xid);
	/* The same ids again, and ids that were never handed out. */
	bad0 = vsp_stat(g, bad_off);
	sg_ack(g, g->xfer[first].xid);
	sg_ack(g, g->xfer[first + 7].xid);
	sg_ack(g, g->nsub);
	sg_ack(g, 1ull << 40);
	PAIR_WAIT(vsp_stat(g, bad_off) >= bad0 + 4);
	assert_int_equal(vsp_stat(g, bad_off), bad0 + 4);
	/* The slots came back: more frames flow. */
	g->hold = false;
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < n; i++)
		inject(g, 1514, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >= first + n);
	assert_int_equal(g->nxfer, first + n);
	sg_free(g);
}

/*
 * Linux sizes its receive-completion ring from num_sub_allocs
 * (netvsc_init_buf: recv_section_cnt + 1): the host never has more
 * transfer-page packets outstanding than there are sub-allocations; the
 * rest are dropped and counted until the guest completes some.
 */
static void test_rxbuf_exhaust(void **state)
{
	struct sg_opts o = { .rx_len = 64u << 10 };
	struct sg *g = sg_new(&o);
	struct ovb_netvsp_stats st0, st;
	unsigned int first;

	g->hold = true;
	ovb_netvsp_get_stats(g->vsp, &st0);
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < 2 * g->nsub; i++)
		inject(g, 1000, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >=
		  first + g->nsub);
	usleep(20000);
	assert_int_equal(g->nxfer - first, g->nsub);
	ovb_netvsp_get_stats(g->vsp, &st);
	assert_int_equal(st.no_buffer - st0.no_buffer, g->nsub);
	g->hold = false;
	for (unsigned int i = first; i < first + g->nsub; i++)
		sg_ack(g, g->xfer[i].xid);
	/* Once the host has read the completions, frames flow again. */
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (int i = 0; i < 500 && __atomic_load_n(&g->nxfer,
						    __ATOMIC_ACQUIRE) == first;
	     i++) {
		inject(g, 1000, 0);
		usleep(10000);
	}
	assert_int_equal(g->nxfer, first + 1);
	sg_free(g);
}

/* Receive buffer ceilings (WIRE-FACTS B9, Linux netvsc_init_buf): 15 MiB
 * up to NVSP 2, 31 MiB after. */
static void test_rxbuf_limits(void **state)
{
	struct {
		uint32_t nvsp;
		size_t len;
		uint32_t status;
	} c[] = {
		{ NVSP_PROTOCOL_VERSION_2, 16u << 20, NVSP_STAT_FAIL },
		{ NVSP_PROTOCOL_VERSION_2, 15u << 20, NVSP_STAT_SUCCESS },
		{ NVSP_PROTOCOL_VERSION_4, 31u << 20, NVSP_STAT_SUCCESS },
		{ NVSP_PROTOCOL_VERSION_61, 32u << 20, NVSP_STAT_FAIL },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sg_opts o = { .nvsp = c[i].nvsp, .rx_len = SIZE_MAX,
				     .tx_len = SIZE_MAX, .no_init = true };
		struct sg *g = sg_new(&o);

		assert_int_equal(sg_recv_buf(g, c[i].len), c[i].status);
		sg_free(g);
	}
}

/* A query's reply: checks Linux rndis_filter_query_device and DPDK
 * hn_rndis_query make, for a caller buffer of @room bytes. */
static void check_query(struct sg *g, uint32_t oid, uint32_t room)
{
	uint8_t q[64];
	uint32_t mlen, ilen, ioff;

	rndis_query(q, oid, oid);
	sg_rndis(g, q, 28);
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
	assert_int_equal(ld32(g->last_ctl + 8), oid);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	mlen = ld32(g->last_ctl + 4);
	ilen = ld32(g->last_ctl + 16);
	ioff = ld32(g->last_ctl + 20);
	assert_true(mlen <= g->last_ctl_len);
	assert_true(ilen > 0 && ilen <= room);
	assert_true(ioff >= 16 && mlen - 8 >= ioff && ilen <= mlen - 8 - ioff);
}

/*
 * RNDIS replies as Linux (rndis_filter_init_device, _query_device) and
 * DPDK (hn_rndis_init, hn_rndis_query) read them: INITIALIZE_COMPLETE's
 * fields, and query values no longer than the fixed buffers the drivers
 * pass for each OID.
 */
static void test_rndis_replies(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	uint8_t b[64];

	memset(b, 0, sizeof(b));
	st32(b, RNDIS_MSG_INIT);
	st32(b + 4, 24);
	st32(b + 8, 77);
	st32(b + 12, 1);
	st32(b + 20, 0x4000);
	sg_rndis(g, b, 24);
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_INIT_C);
	assert_true(ld32(g->last_ctl + 4) >= 52);
	assert_int_equal(ld32(g->last_ctl + 8), 77);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(ld32(g->last_ctl + 16), 1);            /* major */
	assert_int_equal(ld32(g->last_ctl + 20), 0);            /* minor */
	assert_int_equal(ld32(g->last_ctl + 28), RNDIS_MEDIUM_802_3);
	assert_true(ld32(g->last_ctl + 32) >= 1);               /* pkts/msg */
	assert_true(ld32(g->last_ctl + 36) >= 6144);            /* transfer */
	assert_true(ld32(g->last_ctl + 40) >= 2 &&
		    ld32(g->last_ctl + 40) <= 12);              /* align */
	check_query(g, OID_802_3_PERMANENT_ADDRESS, 6);
	check_query(g, OID_802_3_CURRENT_ADDRESS, 6);
	check_query(g, OID_GEN_MAXIMUM_FRAME_SIZE, 4);
	check_query(g, OID_GEN_MEDIA_CONNECT_STATUS, 4);
	check_query(g, OID_GEN_LINK_SPEED, 4);
	check_query(g, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, 156);
	/* Linux rndis_query_hwcaps: type, revision, 6.0 size at least. */
	assert_int_equal(g->last_ctl[24], NDIS_OBJECT_TYPE_OFFLOAD);
	assert_true(g->last_ctl[25] >= 1);
	assert_true((ld32(g->last_ctl + 24) >> 16) >= NDIS_OFFLOAD_SIZE_6_0 &&
		    (ld32(g->last_ctl + 24) >> 16) <= 156);
	check_query(g, OID_GEN_RECEIVE_SCALE_CAPABILITIES, 18);
	assert_true((ld32(g->last_ctl + 24) >> 16) <= 18); /* header.size */
	sg_free(g);
}

/* Send @len bytes from send section @idx; the completion's status.
 * *@ncomp gets the number of completions seen for it. */
static uint32_t sg_send_section(struct sg *g, uint32_t idx, const void *msg,
				size_t len, unsigned int *ncomp)
{
	uint32_t w[3] = { NVSP_CHANNEL_TYPE_DATA, idx, (uint32_t)len };
	struct comp_rec c;
	unsigned int n;

	memcpy(g->tx + (size_t)idx * g->section_size, msg, len);
	n = sg_nvsp(g, NVSP_MSG1_TYPE_SEND_RNDIS_PKT, w, 3, &c);
	if (ncomp)
		*ncomp = n;
	return nvsp_status(&c);
}

/*
 * Item 3 (openvmm #2141): one malformed RNDIS message among several in a
 * send section.  The others reach the switch; the NVSP packet gets one
 * completion, with NVSP_STAT_FAIL, never two.
 */
static void test_batch_one_bad(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	uint8_t sec[6144];
	size_t off, a, b;
	unsigned int n;

	for (int bad = 0; bad < 3; bad++) {
		off = 0;
		for (int i = 0; i < 3; i++) {
			a = tx_packet(sec + off, 100, (uint32_t)i);
			if (i == bad)
				st32(sec + off + 12, 5000); /* data past msg */
			off += a;
		}
		sg_sink_reset(g);
		assert_int_equal(sg_send_section(g, 1, sec, off, &n),
				 NVSP_STAT_FAIL);
		PAIR_WAIT(sg_nsink(g) >= 2);
		usleep(50000);
		assert_int_equal(n, 1);
		assert_int_equal(sg_comps(g, g->next_xid, NULL), 1);
		assert_int_equal(sg_nsink(g), 2);
		for (int i = 0, j = 0; i < 3; i++) {
			if (i == bad)
				continue;
			tx_packet(sec, 100, (uint32_t)i);
			assert_memory_equal(g->sink[j], sec + 76, 100);
			j++;
		}
	}
	/* A middle message whose own length is garbage: nothing after it
	 * can be found, the first still goes, one failed completion. */
	a = tx_packet(sec, 100, 0);
	b = tx_packet(sec + a, 100, 1);
	st32(sec + a + 4, 3);
	tx_packet(sec + a + b, 100, 2);
	sg_sink_reset(g);
	assert_int_equal(sg_send_section(g, 2, sec, a + 2 * b, &n),
			 NVSP_STAT_FAIL);
	usleep(50000);
	assert_int_equal(sg_comps(g, g->next_xid, NULL), 1);
	assert_int_equal(sg_nsink(g), 1);
	/* And a clean batch still succeeds. */
	off = 0;
	for (int i = 0; i < 3; i++)
		off += tx_packet(sec + off, 100, (uint32_t)i);
	sg_sink_reset(g);
	assert_int_equal(sg_send_section(g, 3, sec, off, &n),
			 NVSP_STAT_SUCCESS);
	PAIR_WAIT(sg_nsink(g) >= 3);
	assert_int_equal(sg_nsink(g), 3);
	sg_free(g);
}

/* An RNDIS PACKET carrying @frame with one PPI (@ppi_type, @ppi_val). */
static size_t tx_ppi_packet(uint8_t *b, const uint8_t *frame, size_t flen,
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

/* A TCP/IPv4 frame with @payload bytes; returns its length. */
static size_t tcp_frame(uint8_t *f, size_t payload)
{
	size_t len = 14 + 20 + 20 + payload;

	memset(f, 0, 54);
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[35] = 80;
	f[37] = 81;
	f[46] = 0x50;
	f[47] = 0x10;
	for (size_t i = 54; i < len; i++)
		f[i] = (uint8_t)i;
	return len;
}

/*
 * Item 5: LSO with MSS 0, below the host's minimum, headers past the
 * frame, or less payload than one segment; checksum PPIs on frames too
 * short for the headers they name.  Each is dropped and counted in
 * netvsp's stats (offload_dropped), never segmented; the send completes
 * with NVSP_STAT_FAIL.  A sane LSO frame still goes, in segments.
 */
static void test_offload_garbage(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	static uint8_t f[4000], msg[4200];
	const uint32_t lso = NDIS_LSO2_INFO_ISLSO2 |
			     34u << NDIS_LSO2_INFO_THOFF_SHIFT;
	const uint32_t csum = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_TCPCS;
	struct {
		size_t payload, flen; /* flen 0: the whole TCP frame */
		uint32_t type, val;
	} bad[] = {
		{ 3000, 0, NDIS_PPI_LSO, lso | 0 },
		{ 3000, 0, NDIS_PPI_LSO, lso | 10 },
		{ 500, 0, NDIS_PPI_LSO,
		  NDIS_LSO2_INFO_ISLSO2 | 100 |
			  1000u << NDIS_LSO2_INFO_THOFF_SHIFT },
		{ 100, 0, NDIS_PPI_LSO, lso | 1400 },
		{ 0, 0, NDIS_PPI_LSO, lso | 1400 },
		{ 0, 30, NDIS_PPI_LSO, lso | 1400 },
		{ 0, 30, NDIS_PPI_CHECKSUM, csum },
		{ 0, 40, NDIS_PPI_CHECKSUM, csum | 34u << 16 },
		{ 0, 20, NDIS_PPI_CHECKSUM, NDIS_TXCSUM_INFO_IPV4 |
						    NDIS_TXCSUM_INFO_IPCS },
	};
	uint64_t before = vsp_stat(g, offsetof(struct ovb_netvsp_stats,
					       offload_dropped));
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = tcp_frame(f, bad[i].payload);
		if (bad[i].flen)
			len = bad[i].flen;
		len = tx_ppi_packet(msg, f, len, bad[i].type, bad[i].val);
		sg_sink_reset(g);
		assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg,
					       len, len / 2, 0, false),
				 NVSP_STAT_FAIL);
		usleep(20000);
		assert_int_equal(sg_nsink(g), 0);
		assert_int_equal(vsp_stat(g, offsetof(struct ovb_netvsp_stats,
						      offload_dropped)),
				 before + i + 1);
	}
	len = tx_ppi_packet(msg, f, tcp_frame(f, 3000), NDIS_PPI_LSO,
			    lso | 1000);
	assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg, len,
				       100, 0, false), NVSP_STAT_SUCCESS);
	PAIR_WAIT(sg_nsink(g) >= 3);
	assert_int_equal(sg_nsink(g), 3);
	assert_int_equal(g->sink_len[0], 54 + 1000);
	sg_free(g);
}

/*
 * Sub-channels as Linux asks for them (rndis_set_subchannel,
 * netvsc_send_table): the SUBCHANNEL completion carries at most the
 * number asked for, and the send indirection table that follows has
 * exactly VRSS_SEND_TAB_SIZE (16) entries at offset 40 -- where Linux
 * reads it for NVSP <= 6 whatever the offset field says -- each naming a
 * channel that exists.
 */
static void test_subchannel_reply(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	uint32_t w[2] = { NVSP_SUBCHANNEL_ALLOCATE, 3 };
	unsigned int before = __atomic_load_n(&g->ninband, __ATOMIC_ACQUIRE);
	struct comp_rec c;
	uint32_t n;

	assert_int_equal(sg_nvsp(g, NVSP_MSG5_TYPE_SUBCHANNEL, w, 2, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG5_TYPE_SUBCHANNEL);
	assert_true(c.len >= NVSP_MESSAGE_SIZE && c.len <= 256);
	assert_int_equal(nvsp_status(&c), NVSP_STAT_SUCCESS);
	n = ld32(c.msg + 8);
	assert_true(n >= 1 && n <= 3);
	PAIR_WAIT(__atomic_load_n(&g->ninband, __ATOMIC_ACQUIRE) > before);
	assert_int_equal(ld32(g->inband),
			 NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE);
	assert_int_equal(ld32(g->inband + 4), 16);
	assert_true(g->inband_len >= 40 + 16 * 4);
	for (int i = 0; i < 16; i++)
		assert_true(ld32(g->inband + 40 + 4 * i) <= n);
	sg_free(g);
}

/*
 * IPv4 header checksum offload alone (NDIS_TXCSUM_INFO_IPCS without TCP
 * or UDP), which FreeBSD's hn sets on every IPv4 packet once the host
 * offers NDIS_TXCSUM_CAP_IP4 -- ICMP and IP fragments included: the
 * host fills the header checksum and forwards the frame.
 */
static void test_ipcs_only(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	uint8_t f[14 + 20 + 8 + 32], msg[256];
	size_t len;

	for (int frag = 0; frag < 2; frag++) {
		memset(f, 0, sizeof(f));
		memset(f, 0xff, 6);
		memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 20 + 8 + 32;
		f[20] = frag ? 0x20 : 0; /* more fragments */
		f[22] = 64;
		f[23] = frag ? 17 : 1;   /* UDP fragment, or ICMP */
		memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		f[34] = 8;               /* echo request */
		for (int i = 42; i < (int)sizeof(f); i++)
			f[i] = (uint8_t)i;
		len = tx_ppi_packet(msg, f, sizeof(f), NDIS_PPI_CHECKSUM,
				    NDIS_TXCSUM_INFO_IPV4 |
					    NDIS_TXCSUM_INFO_IPCS);
		sg_sink_reset(g);
		assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg,
					       len, 60, 0, false),
				 NVSP_STAT_SUCCESS);
		PAIR_WAIT(sg_nsink(g) >= 1);
		assert_int_equal(sg_nsink(g), 1);
		assert_int_equal(g->sink_len[0], sizeof(f));
		assert_int_equal(ovb_offload_csum_fold(ovb_offload_csum_add(
					 0, g->sink[0] + 14, 20)), 0);
		assert_memory_equal(g->sink[0] + 34, f + 34, sizeof(f) - 34);
	}
	sg_free(g);
}

/*
 * Link changes reach the guest as RNDIS INDICATE_STATUS messages that
 * Linux netvsc_linkstatus_callback (msg_len - 8 >= 12) and DPDK
 * hn_rndis_link_status accept: MEDIA_DISCONNECT, then MEDIA_CONNECT, on
 * the control channel type; OID_GEN_MEDIA_CONNECT_STATUS agrees.
 */
static void test_media_indications(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	const uint32_t want[2] = { RNDIS_STATUS_MEDIA_DISCONNECT,
				   RNDIS_STATUS_MEDIA_CONNECT };
	uint8_t q[64];

	for (int i = 0; i < 2; i++) {
		unsigned int before = __atomic_load_n(&g->nctl,
						      __ATOMIC_ACQUIRE);

		ovb_netvsp_set_link(g->vsp, i == 1);
		PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > before);
		assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_INDICATE);
		assert_true(ld32(g->last_ctl + 4) >= 20 &&
			    ld32(g->last_ctl + 4) <= g->last_ctl_len);
		assert_int_equal(ld32(g->last_ctl + 8), want[i]);
		sg_rndis(g, q, rndis_query(q, 9, OID_GEN_MEDIA_CONNECT_STATUS));
		assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
		assert_int_equal(ld32(g->last_ctl + 24),
				 i ? NDIS_MEDIA_STATE_CONNECTED
				   : NDIS_MEDIA_STATE_DISCONNECTED);
	}
	sg_free(g);
}

/* A frame to @dst from the test port. */
static void inject_to(struct sg *g, const uint8_t *dst)
{
	static const struct ovb_net_meta none;
	uint8_t f[100] = { 0 };

	memcpy(f, dst, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	ovb_vswitch_input(g->sw, g->port, f, sizeof(f), &none);
}

/* Data transfer-page packets received since @first. */
static unsigned int data_xfers(struct sg *g, unsigned int first)
{
	unsigned int n = 0;

	pthread_mutex_lock(&g->lock);
	for (unsigned int i = first; i < g->nxfer && i < MAXREC; i++)
		n += g->xfer[i].channel_type == NVSP_CHANNEL_TYPE_DATA;
	pthread_mutex_unlock(&g->lock);
	return n;
}

/*
 * A MAC change the way Linux makes it (rndis_filter_set_device_mac):
 * SET OID_GEN_RNDIS_CONFIG_PARAMETER "NetworkAddress" = 12 hex digits in
 * UTF-16.  If the host says success, Linux commits the new address, so
 * the host must from then on pass directed frames for it (and no longer
 * for the old one) and report it as OID_802_3_CURRENT_ADDRESS; the
 * permanent address stays.  A value that is not a unicast MAC is refused.
 */
static void test_mac_change(void **state)
{
	struct sg_opts o = { 0 };
	struct sg *g = sg_new(&o);
	const char *name = "NetworkAddress", *val = "02aabbccdd0e";
	const uint8_t new_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e };
	uint8_t b[128], cpi[20 + 28 + 24], old[6], q[64];
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED;
	unsigned int first;

	sg_rndis(g, q, rndis_query(q, 5, OID_802_3_PERMANENT_ADDRESS));
	memcpy(old, g->last_ctl + 24, 6);
	sg_rndis(g, b, rndis_set(b, 6, OID_GEN_CURRENT_PACKET_FILTER, &filter,
				 4));
	memset(cpi, 0, sizeof(cpi));
	st32(cpi, 20);
	st32(cpi + 4, 28);
	st32(cpi + 8, RNDIS_CONFIG_PARAM_TYPE_STRING);
	st32(cpi + 12, 48);
	st32(cpi + 16, 24);
	for (int i = 0; i < 14; i++)
		cpi[20 + 2 * i] = (uint8_t)name[i];
	for (int i = 0; i < 12; i++)
		cpi[48 + 2 * i] = (uint8_t)val[i];
	sg_rndis(g, b, rndis_set(b, 7, OID_GEN_RNDIS_CONFIG_PARAMETER, cpi,
				 sizeof(cpi)));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	sg_rndis(g, q, rndis_query(q, 8, OID_802_3_CURRENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, new_mac, 6);
	sg_rndis(g, q, rndis_query(q, 9, OID_802_3_PERMANENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, old, 6);

	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	inject_to(g, old);
	inject_to(g, new_mac);
	PAIR_WAIT(data_xfers(g, first) >= 1);
	usleep(20000);
	assert_int_equal(data_xfers(g, first), 1);

	/* A multicast "address" is refused and changes nothing. */
	cpi[48] = '0';
	cpi[50] = '1';
	sg_rndis(g, b, rndis_set(b, 10, OID_GEN_RNDIS_CONFIG_PARAMETER, cpi,
				 sizeof(cpi)));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_not_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	sg_rndis(g, q, rndis_query(q, 11, OID_802_3_CURRENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, new_mac, 6);
	sg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rndis_split_pages),
		cmocka_unit_test(test_rxbuf_dpdk),
		cmocka_unit_test(test_rxbuf_exhaust),
		cmocka_unit_test(test_rxbuf_limits),
		cmocka_unit_test(test_rndis_replies),
		cmocka_unit_test(test_batch_one_bad),
		cmocka_unit_test(test_offload_garbage),
		cmocka_unit_test(test_subchannel_reply),
		cmocka_unit_test(test_ipcs_only),
		cmocka_unit_test(test_media_indications),
		cmocka_unit_test(test_mac_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
