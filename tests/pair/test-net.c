// SPDX-License-Identifier: MIT
/*
 * Pair tests of the synthetic NIC: a real server with netvsp on a virtual
 * switch and two real guests with netvsc, in one process over the inproc
 * link.  NVSP negotiation at every version, RNDIS init and OID traffic,
 * frames of every size from 60 bytes to the MTU through send sections and
 * page buffers, jumbo frames, batching, sub-channels with RSS, link
 * down/up, checksum offload across the switch.
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

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "bus/chan_priv.h"
#include "net/netvsc_priv.h"
#include "net/nvsp.h"
#include "net/rndis.h"
#include "tests/lib/pair.h"

#define MAXF 256

/* What one guest received. */
struct rxlog {
	pthread_mutex_t lock;
	unsigned int n, queues_seen;
	uint32_t len[MAXF];
	uint8_t *frame[MAXF];
	struct ovb_net_meta meta[MAXF];
	int link; /* -1 none, 0 down, 1 up */
};

struct guest {
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	struct rxlog rx;
};

struct net {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct guest g[2];
};

static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct rxlog *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->queues_seen |= 1u << queue;
	if (r->n < MAXF) {
		r->frame[r->n] = malloc(len);
		memcpy(r->frame[r->n], frame, len);
		r->len[r->n] = (uint32_t)len;
		r->meta[r->n] = *meta;
	}
	r->n++;
	pthread_mutex_unlock(&r->lock);
}

static void on_link(void *ctx, bool up)
{
	struct rxlog *r = ctx;

	__atomic_store_n(&r->link, up ? 1 : 0, __ATOMIC_RELEASE);
}

static unsigned int rx_count(struct rxlog *r)
{
	return __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);
}

static void rx_reset(struct rxlog *r)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < MAXF; i++)
		free(r->frame[i]);
	r->n = 0;
	r->queues_seen = 0;
	pthread_mutex_unlock(&r->lock);
}

/* Guests on the slow signalling path (ovb_inproc_freeze_host works). */
static bool net_slow;

static struct net *net_new(uint32_t mtu, const struct ovb_netvsc_params *np)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0", .mtu = mtu };
	struct net *t = calloc(1, sizeof(*t));

	assert_int_equal(ovb_server_create(&t->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &t->sw), 0);
	cfg.sw = t->sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &t->vsp), 0);
	assert_int_equal(ovb_netvsp_register(t->vsp, t->srv), 0);
	for (int i = 0; i < 2; i++) {
		struct guest *g = &t->g[i];
		struct ovb_inproc_params ip = { .name = i ? "g1" : "g0",
						.mem_gpa = 1ull << 32,
						.mem_size = 64ull << 20,
						.no_eventfd = net_slow };
		struct ovb_netvsc_params p = np ? *np : (struct ovb_netvsc_params){ 0 };

		pthread_mutex_init(&g->rx.lock, NULL);
		g->rx.link = -1;
		pair_mem_params(&ip);
		assert_int_equal(ovb_inproc_create(t->srv, &ip, &g->link), 0);
		assert_int_equal(ovb_client_register_driver(
					 ovb_inproc_client(g->link),
					 &ovb_netvsc_driver, &g->drv), 0);
		assert_int_equal(ovb_client_connect(ovb_inproc_client(g->link),
						    0, 5000), 0);
		assert_int_equal(g->drv.ndev, 1);
		p.rx = on_rx;
		p.link = on_link;
		p.ctx = &g->rx;
		assert_int_equal(ovb_netvsc_open(g->drv.dev[0], &p, &g->nic),
				 0);
	}
	return t;
}

static void net_free(struct net *t)
{
	for (int i = 0; i < 2; i++) {
		if (t->g[i].nic)
			ovb_netvsc_close(t->g[i].nic);
		pair_check_paged(t->g[i].link);
		ovb_inproc_destroy(t->g[i].link);
		rx_reset(&t->g[i].rx);
	}
	ovb_server_destroy(t->srv);
	ovb_netvsp_destroy(t->vsp);
	ovb_vswitch_destroy(t->sw);
	free(t);
}

/* An Ethernet frame from @src to @dst of @len bytes with a pattern. */
static void make_frame(uint8_t *f, size_t len, const uint8_t *dst,
		       const uint8_t *src, uint32_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental ethertype */
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
}

/* Guest @a sends frames of @lens to guest @b; each arrives intact. */
static void exchange(struct net *t, int a, int b, const uint32_t *lens,
		     unsigned int n, bool more)
{
	struct ovb_netvsc_info ia, ib;
	static uint8_t f[9100];
	struct rxlog *r = &t->g[b].rx;

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	rx_reset(r);
	for (unsigned int i = 0; i < n; i++) {
		make_frame(f, lens[i], ib.mac, ia.mac, i);
		assert_int_equal(ovb_netvsc_send(t->g[a].nic, 0, f, lens[i],
						 NULL, more), 0);
	}
	ovb_netvsc_flush(t->g[a].nic, 0);
	PAIR_WAIT(rx_count(r) >= n);
	assert_int_equal(rx_count(r), n);
	for (unsigned int i = 0; i < n && i < MAXF; i++) {
		make_frame(f, lens[i], ib.mac, ia.mac, i);
		assert_int_equal(r->len[i], lens[i]);
		assert_memory_equal(r->frame[i], f, lens[i]);
	}
}

static void test_every_version(void **state)
{
	for (int v = 0; v < OVB_NVSP_VERSION_COUNT; v++) {
		struct ovb_netvsc_params p = { .max_nvsp = ovb_nvsp_versions[v] };
		struct net *t = net_new(0, &p);
		struct ovb_netvsc_info info;
		uint32_t lens[3] = { 60, 600, 1514 };

		ovb_netvsc_get_info(t->g[0].nic, &info);
		assert_int_equal(info.nvsp_version, ovb_nvsp_versions[v]);
		assert_int_equal(info.ndis_version,
				 ovb_nvsp_ndis_version(ovb_nvsp_versions[v]));
		assert_int_equal(info.mtu, 1500);
		assert_true(info.link_up);
		assert_true(info.csum);
		/* 4 MiB send buffer (the default): 256 sections of 16 KiB. */
		assert_int_equal(info.send_section, 16384);
		exchange(t, 0, 1, lens, 3, false);
		exchange(t, 1, 0, lens, 3, false);
		net_free(t);
	}
}

/*
 * The host cuts a send buffer that holds 256 sections of 16 KiB into
 * those, so a guest packs up to 10 frames of 1514 bytes per send (3 in
 * 6144); a smaller buffer keeps Windows' 6144.  Frames of every size
 * still arrive whole through either.
 */
static void test_send_sections(void **state)
{
	static const struct {
		uint32_t buf, section;
	} c[] = { { 4u << 20, 16384 }, { (4u << 20) - 4096, 6144 },
		  { 1u << 20, 6144 }, { 64u << 10, 6144 } };
	uint32_t lens[10] = { 1514, 1514, 1514, 1514, 1514,
			      1514, 1514, 1514, 60, 9000 };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ovb_netvsc_params p = { .send_buf_bytes = c[i].buf };
		struct net *t = net_new(9000, &p);
		struct ovb_netvsc_info info;
		struct ovb_netvsc_stats st;

		ovb_netvsc_get_info(t->g[0].nic, &info);
		assert_int_equal(info.send_section, c[i].section);
		exchange(t, 0, 1, lens, 10, true);
		ovb_netvsc_get_stats(t->g[0].nic, &st);
		assert_int_equal(st.tx_frames, 10);
		/*
		 * 16 KiB: the 8 of 1514 and 60 (netvsp takes 64 messages a
		 * send), then 9000.  6 KiB: 3, 3, 2 and 60, then 9000 as a
		 * page buffer.
		 */
		assert_int_equal(st.tx_sends, c[i].section == 16384 ? 2 : 4);
		net_free(t);
	}
}

static void test_rndis_oids(void **state)
{
	struct net *t = net_new(0, NULL);
	struct ovb_netvsc_info info;
	uint8_t buf[512], mcast[12] = { 0x01, 0, 0x5e, 0, 0, 1,
					0x33, 0x33, 0, 0, 0, 1 };
	uint32_t v;
	uint64_t v64;
	size_t len;

	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_equal(info.mac[0], 0x00);
	assert_int_equal(info.mac[1], 0x15);
	assert_int_equal(info.mac[2], 0x5d);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic,
					  OID_802_3_CURRENT_ADDRESS, buf, &len),
			 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, info.mac, 6);
	len = sizeof(v);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_LINK_SPEED, &v,
					  &len), 0);
	assert_int_equal(v, 100000000);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_SUPPORTED_LIST,
					  buf, &len), 0);
	assert_true(len >= 30 * 4);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					mcast, sizeof(mcast)), 0);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					  buf, &len), 0);
	assert_int_equal(len, 12);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					mcast, 7), -EIO);
	assert_int_equal(ovb_netvsc_keepalive(t->g[0].nic), 0);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, 0x0badbeef, buf, &len),
			 -EIO);
	uint32_t lens[1] = { 100 };

	exchange(t, 0, 1, lens, 1, false);
	len = sizeof(v64);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_XMIT_OK, &v64,
					  &len), 0);
	assert_int_equal(v64, 1);
	net_free(t);
}

/* 60..1514 through send sections, batched and unbatched. */
static void test_every_size(void **state)
{
	struct net *t = net_new(0, NULL);
	uint32_t lens[MAXF];
	unsigned int n = 0;

	for (uint32_t len = 60; len <= 1514; len++) {
		lens[n++] = len;
		if (n == MAXF || len == 1514) {
			exchange(t, 0, 1, lens, n, (len & 1) != 0);
			n = 0;
		}
	}
	struct ovb_netvsc_stats st;

	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_frames, 1514 - 60 + 1);
	assert_int_equal(st.tx_errors, 0);
	assert_true(st.tx_sends < st.tx_frames); /* batching happened */
	net_free(t);
}

/* Page buffers only, every size up to 1514 in steps. */
static void test_page_buffers(void **state)
{
	struct ovb_netvsc_params p = { .no_send_buf = true };
	struct net *t = net_new(0, &p);
	uint32_t lens[64];
	unsigned int n = 0;
	struct ovb_netvsc_stats st;

	for (uint32_t len = 60; len <= 1514; len += 23)
		lens[n++] = len;
	exchange(t, 0, 1, lens, n, true);
	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_pagebuf, n);
	net_free(t);
}

static void test_jumbo(void **state)
{
	struct net *t = net_new(9000, NULL);
	struct ovb_netvsc_info info;
	uint32_t lens[] = { 60, 1514, 6000, 6144, 6200, 8000, 9014 };

	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_equal(info.mtu, 9000);
	exchange(t, 0, 1, lens, sizeof(lens) / 4, false);
	exchange(t, 1, 0, lens, sizeof(lens) / 4, true);
	net_free(t);
}

static void test_link(void **state)
{
	struct net *t = net_new(0, NULL);
	struct ovb_netvsc_info info;
	uint32_t lens[1] = { 200 };
	static uint8_t f[200];

	ovb_netvsp_set_link(t->vsp, false);
	PAIR_WAIT(__atomic_load_n(&t->g[1].rx.link, __ATOMIC_ACQUIRE) == 0);
	assert_int_equal(t->g[1].rx.link, 0);
	ovb_netvsc_get_info(t->g[1].nic, &info);
	assert_false(info.link_up);
	rx_reset(&t->g[1].rx);
	make_frame(f, 200, info.mac, info.mac, 0);
	f[6] = 0x02; /* a source MAC that is not multicast */
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, 200, NULL, false),
			 0);
	usleep(100000);
	assert_int_equal(rx_count(&t->g[1].rx), 0);
	ovb_netvsp_set_link(t->vsp, true);
	PAIR_WAIT(__atomic_load_n(&t->g[1].rx.link, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(t->g[1].rx.link, 1);
	exchange(t, 0, 1, lens, 1, false);
	net_free(t);
}

/* A UDP/IPv4 frame with its checksum left to the host arrives valid. */
static void test_csum_offload(void **state)
{
	struct net *t = net_new(0, NULL);
	struct ovb_netvsc_info ia, ib;
	struct ovb_net_meta meta = { 0 };
	uint8_t f[14 + 20 + 8 + 100] = { 0 };
	struct rxlog *r = &t->g[1].rx;

	ovb_netvsc_get_info(t->g[0].nic, &ia);
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	memcpy(f, ib.mac, 6);
	memcpy(f + 6, ia.mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 20 + 8 + 100;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[34] = 0x12;
	f[36] = 0x34;
	f[39] = 108;
	for (int i = 0; i < 100; i++)
		f[42 + i] = (uint8_t)i;
	meta.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM;
	meta.csum_start = 34;
	meta.csum_offset = 6;
	rx_reset(r);
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, sizeof(f), &meta,
					 false), 0);
	PAIR_WAIT(rx_count(r) >= 1);
	assert_int_equal(rx_count(r), 1);
	assert_true(r->meta[0].flags & OVB_NET_META_CSUM_VALID);
	/* Our receive side verifies both checksums itself. */
	assert_int_equal(ovb_offload_csum_fold(ovb_offload_csum_add(
				 0, r->frame[0] + 14, 20)), 0);
	assert_true(r->frame[0][40] || r->frame[0][41]);
	net_free(t);
}

static void test_subchannels(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct net *t = net_new(0, &p);
	struct ovb_netvsc_info ia, ib;
	struct rxlog *r = &t->g[1].rx;
	uint8_t f[14 + 20 + 20 + 10] = { 0 };

	ovb_netvsc_get_info(t->g[0].nic, &ia);
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	assert_int_equal(ia.queues, 4);
	assert_int_equal(ib.queues, 4);
	rx_reset(r);
	/* 64 TCP flows: RSS spreads them over the receiver's channels. */
	for (int i = 0; i < 64; i++) {
		memset(f, 0, sizeof(f));
		memcpy(f, ib.mac, 6);
		memcpy(f + 6, ia.mac, 6);
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 50;
		f[22] = 64;
		f[23] = 6;
		memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		f[34] = (uint8_t)(i * 13);
		f[35] = (uint8_t)i;
		f[37] = 80;
		f[46] = 0x50;
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, (unsigned)i, f,
						 sizeof(f), NULL, false), 0);
	}
	PAIR_WAIT(rx_count(r) >= 64);
	assert_int_equal(rx_count(r), 64);
	assert_true(__builtin_popcount(r->queues_seen) >= 2);
	assert_true(r->meta[0].flags & OVB_NET_META_HASH);
	net_free(t);
}

static size_t flow_frame(struct net *t, int a, int b, int i, uint8_t *f);

/* Every channel's polling spin of @n, as ovb_chan_set_poll() left it. */
static void assert_poll(struct ovb_netvsc *n, uint32_t us)
{
	assert_int_equal(n->nq, 4);
	assert_int_equal(n->p.poll_us, us);
	for (unsigned int i = 0; i < n->nq; i++)
		assert_int_equal(__atomic_load_n(&n->q[i].chan->spin_us,
						 __ATOMIC_RELAXED), us);
}

/*
 * ovb_netvsc_set_poll switches every channel of a running NIC, sub-
 * channels included, both ways, and frames keep flowing in either mode.
 */
static void test_set_poll(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4, .poll_us = 100 };
	struct net *t = net_new(0, &p);
	uint8_t f[64];

	assert_poll(t->g[1].nic, 100);
	for (uint32_t us = 0; us <= 200; us += 200) {
		struct rxlog *r = &t->g[1].rx;

		ovb_netvsc_set_poll(t->g[1].nic, us);
		assert_poll(t->g[1].nic, us);
		rx_reset(r);
		for (int i = 0; i < 64; i++) {
			flow_frame(t, 0, 1, i, f);
			assert_int_equal(ovb_netvsc_send(t->g[0].nic,
							 (unsigned)i, f,
							 sizeof(f), NULL,
							 false), 0);
		}
		PAIR_WAIT(rx_count(r) >= 64);
		assert_int_equal(rx_count(r), 64);
		assert_true(__builtin_popcount(r->queues_seen) >= 2);
	}
	net_free(t);
}

/* A TCP/IPv4 frame from guest @a to guest @b, flow @i. */
static size_t flow_frame(struct net *t, int a, int b, int i, uint8_t *f)
{
	struct ovb_netvsc_info ia, ib;

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	memset(f, 0, 64);
	memcpy(f, ib.mac, 6);
	memcpy(f + 6, ia.mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 50;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[34] = (uint8_t)(i * 13);
	f[35] = (uint8_t)i;
	f[37] = 80;
	f[46] = 0x50;
	return 64;
}

/* 64 TCP flows from g0 to g1; the set of g1 queues they arrived on. */
static unsigned int rss_flows(struct net *t)
{
	struct rxlog *r = &t->g[1].rx;
	uint8_t f[64];

	rx_reset(r);
	for (int i = 0; i < 64; i++) {
		flow_frame(t, 0, 1, i, f);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, (unsigned)i, f,
						 sizeof(f), NULL, false), 0);
	}
	PAIR_WAIT(rx_count(r) >= 64);
	assert_int_equal(rx_count(r), 64);
	return r->queues_seen;
}

static int drop_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *m)
{
	return 0;
}

/* Each frame's hash as g1 received it, by the sequence number at 60. */
static void hashes_by_seq(struct rxlog *r, uint32_t *h, unsigned int n)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < MAXF; i++) {
		assert_true(r->meta[i].flags & OVB_NET_META_HASH);
		assert_true(r->frame[i][60] < n);
		h[r->frame[i][60]] = r->meta[i].hash;
	}
	pthread_mutex_unlock(&r->lock);
}

/*
 * RSS inside a run: 64 frames to g1 in one run, 16 TCP flows of 4
 * consecutive frames (and two flows that differ only in the destination
 * port), each hashed by its own headers: every frame's hash is the one
 * it gets when it goes alone, and the flows spread over channels.
 */
static void test_rss_in_run(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct net *t = net_new(0, &p);
	struct rxlog *r = &t->g[1].rx;
	static uint8_t f[64][64];
	struct ovb_vswitch_frame run[64];
	uint32_t alone[64], inrun[64];
	unsigned int port, distinct = 0;

	assert_int_equal(ovb_vswitch_port_add(t->sw, "src", 0, drop_tx, NULL,
					      &port), 0);
	for (int i = 0; i < 64; i++) {
		/* the last flow is the one before it to another port */
		flow_frame(t, 0, 1, i < 60 ? i / 4 : 14, f[i]);
		f[i][6] = 0x02; /* from the test port's own MAC */
		f[i][11] = 0x77;
		if (i >= 60)
			f[i][37] = 81;
		f[i][60] = (uint8_t)i;
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	rx_reset(r);
	for (int i = 0; i < 64; i++)
		ovb_vswitch_input(t->sw, port, f[i], 64, NULL);
	PAIR_WAIT(rx_count(r) >= 64);
	hashes_by_seq(r, alone, 64);
	rx_reset(r);
	ovb_vswitch_batch_begin(t->sw);
	assert_int_equal(ovb_vswitch_input_run(t->sw, port, run, 64, NULL), 64);
	ovb_vswitch_batch_end(t->sw);
	PAIR_WAIT(rx_count(r) >= 64);
	assert_int_equal(rx_count(r), 64);
	assert_true(__builtin_popcount(r->queues_seen) >= 2);
	hashes_by_seq(r, inrun, 64);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(inrun[i], alone[i]);
		if (i % 4 == 0 && (!i || inrun[i] != inrun[i - 1]))
			distinct++;
	}
	assert_int_not_equal(inrun[59], inrun[60]);
	assert_true(distinct >= 8);
	net_free(t);
}

/* NDIS_RECEIVE_SCALE_PARAMETERS as Linux rndis_set_rss_param_msg builds
 * it: @n table entries of @val (or i % 4 when @val is ~0), a key of
 * @keylen bytes. */
static size_t rss_params(uint8_t *b, uint32_t n, uint32_t val,
			 uint16_t keylen, uint16_t flags)
{
	struct ndis_rss_params rp = { 0 };
	uint32_t *tab = (uint32_t *)(void *)(b + sizeof(rp));

	rp.header.type = NDIS_OBJECT_TYPE_RSS_PARAMETERS;
	rp.header.revision = NDIS_RSS_PARAMS_REVISION_2;
	rp.header.size = NDIS_RSS_PARAMS_SIZE_REVISION_2;
	rp.flags = flags;
	rp.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 |
		       NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 |
		       NDIS_HASH_TCP_IPV6;
	rp.indirect_tabsize = (uint16_t)(n * 4);
	rp.indirect_taboffset = sizeof(rp);
	rp.hashkey_size = keylen;
	rp.hashkey_offset = sizeof(rp) + n * 4;
	memcpy(b, &rp, sizeof(rp));
	for (uint32_t i = 0; i < n; i++)
		tab[i] = val == ~0u ? i % 4 : val;
	for (uint32_t i = 0; i < keylen; i++)
		b[sizeof(rp) + n * 4 + i] = (uint8_t)(i * 37 + 11);
	return sizeof(rp) + n * 4 + keylen;
}

/*
 * Item 4 (openvmm netvsp fuzzing): degenerate RSS parameters never divide
 * by zero or pick a channel that is not there.  An all-zero table sends
 * everything to channel 0; a table of zero entries, entries naming
 * channels that are not open (or do not exist), and RSS disabled send
 * everything to the primary; a hash key of the wrong size is refused and
 * changes nothing.
 */
static void test_rss_degenerate(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct net *t = net_new(0, &p);
	struct ovb_netvsc *rx = t->g[1].nic;
	static uint8_t b[1024];
	const uint32_t bad[] = { 4, 7, 63, 64, 1000, 0xfffffffe };

	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	/* Zero entries: no table, so the primary. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 0, 0, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	/* A key of the wrong size: refused, the spread table stays. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 20, 0)), -EIO);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 41, 0)), -EIO);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	/* Channels that are not open or cannot exist. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ovb_netvsc_set(rx,
						OID_GEN_RECEIVE_SCALE_PARAMETERS,
						b, rss_params(b, 128, bad[i], 40,
							      0)), 0);
		assert_int_equal(rss_flows(t), 1);
	}
	/* RSS off. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 0, 0, 0,
						   NDIS_RSS_PARAM_FLAG_DISABLE_RSS)),
			 0);
	assert_int_equal(rss_flows(t), 1);
	net_free(t);

	/* One channel only (no sub-channels): a table naming 1..3. */
	p.queues = 1;
	t = net_new(0, &p);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	net_free(t);
}

struct flood {
	struct net *t;
	bool stop;
	unsigned long sent;
};

static void *flood_run(void *arg)
{
	struct flood *fl = arg;
	uint8_t f[64];

	for (int i = 0; !__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE); i++) {
		flow_frame(fl->t, 0, 1, i & 63, f);
		if (ovb_netvsc_send(fl->t->g[0].nic, (unsigned)i, f, sizeof(f),
				    NULL, false) == 0)
			fl->sent++;
		if (!(i & 15))
			usleep(100);
	}
	return NULL;
}

static uint64_t to_guest(struct net *t)
{
	struct ovb_netvsp_stats st;

	ovb_netvsp_get_stats(t->vsp, &st);
	return st.to_guest;
}

/*
 * Item 2 (openvmm #1873, #1967): OID_GEN_CURRENT_PACKET_FILTER = 0, which
 * Linux sets in rndis_filter_close_device before it waits for every
 * channel's ring to drain (netvsc_wait_until_empty), stops delivery to
 * that NIC at once -- directed, broadcast and multicast, on every RSS
 * sub-channel -- and from the moment the SET completes not one more
 * frame is written; a non-zero filter resumes it.
 */
static void test_filter_zero(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct net *t = net_new(0, &p);
	const uint32_t none = 0, linux_on = NDIS_PACKET_TYPE_DIRECTED |
					    NDIS_PACKET_TYPE_BROADCAST |
					    NDIS_PACKET_TYPE_ALL_MULTICAST;
	struct flood fl = { .t = t };
	struct rxlog *r = &t->g[1].rx;
	pthread_t th;
	uint8_t f[64];
	uint64_t n0;

	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_CURRENT_PACKET_FILTER, &none,
					4), 0);
	rx_reset(r);
	n0 = to_guest(t);
	for (int i = 0; i < 64; i++) {
		flow_frame(t, 0, 1, i, f);
		if (i % 3 == 1)
			memset(f, 0xff, 6);          /* broadcast */
		else if (i % 3 == 2)
			memcpy(f, (uint8_t[]){ 0x01, 0, 0x5e, 0, 0, 1 }, 6);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, (unsigned)i, f,
						 sizeof(f), NULL, false), 0);
	}
	usleep(100000);
	assert_int_equal(rx_count(r), 0);
	assert_int_equal(to_guest(t), n0);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_CURRENT_PACKET_FILTER,
					&linux_on, 4), 0);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);

	/* Under load: after the SET's completion, nothing more. */
	for (int round = 0; round < 5; round++) {
		fl.stop = false;
		assert_int_equal(pthread_create(&th, NULL, flood_run, &fl), 0);
		PAIR_WAIT(rx_count(r) >= 200);
		assert_int_equal(ovb_netvsc_set(t->g[1].nic,
						OID_GEN_CURRENT_PACKET_FILTER,
						&none, 4), 0);
		n0 = to_guest(t);
		usleep(30000);
		assert_int_equal(to_guest(t), n0);
		__atomic_store_n(&fl.stop, true, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		assert_int_equal(to_guest(t), n0);
		assert_int_equal(ovb_netvsc_set(t->g[1].nic,
						OID_GEN_CURRENT_PACKET_FILTER,
						&linux_on, 4), 0);
		rx_reset(r);
	}
	assert_true(fl.sent > 0);
	net_free(t);
}

/*
 * The host stops answering (frozen) and a control request goes
 * unanswered: netvsc stops its queues (-ENETDOWN) and reports the link
 * down, as a front end needs to drop its carrier; it still closes.
 */
static void test_silent_host(void **state)
{
	struct net *t;
	struct ovb_netvsc_info info;
	uint32_t filter = 0xb; /* directed | multicast | broadcast */
	static uint8_t f[200];

	/* The host's silence is noticed after 1 s, not the default 5. */
	net_slow = true;
	t = net_new(0, &(struct ovb_netvsc_params){ .ctl_timeout_ms = 1000 });
	net_slow = false;
	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_true(info.link_up);
	ovb_inproc_freeze_host(t->g[0].link, true);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic,
					OID_GEN_CURRENT_PACKET_FILTER,
					&filter, sizeof(filter)), -ETIMEDOUT);
	assert_int_equal(__atomic_load_n(&t->g[0].rx.link, __ATOMIC_ACQUIRE),
			 0);
	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_false(info.link_up);
	make_frame(f, 200, info.mac, info.mac, 0);
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, 200, NULL, false),
			 -ENETDOWN);
	assert_int_equal(ovb_netvsc_keepalive(t->g[0].nic), -ENETDOWN);
	ovb_inproc_freeze_host(t->g[0].link, false);
	/* The other guest never noticed. */
	ovb_netvsc_get_info(t->g[1].nic, &info);
	assert_true(info.link_up);
	net_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_send_sections),
		cmocka_unit_test(test_rndis_oids),
		cmocka_unit_test(test_every_size),
		cmocka_unit_test(test_page_buffers),
		cmocka_unit_test(test_jumbo),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_silent_host),
		cmocka_unit_test(test_csum_offload),
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_set_poll),
		cmocka_unit_test(test_rss_in_run),
		cmocka_unit_test(test_rss_degenerate),
		cmocka_unit_test(test_filter_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
