// SPDX-License-Identifier: MIT
/*
 * A hostile host against netvsc's receive segment coalescing: a real
 * netvsp brings the guest up, then the test writes its own RNDIS messages
 * into the guest's receive buffer and sends them on the host's end of the
 * channel as transfer-page packets -- fragments without a first, a frame
 * left open at the end of its packet, a new first fragment in the middle
 * of a frame, a plain frame in the middle, too many bytes, fragments to a
 * guest that never asked for them.  netvsc drops each bad frame, counts
 * it, delivers the good frames around it exactly, and keeps working.
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

#include "net/netvsp_priv.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/offload.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/pair.h"

#define MAXF 16

struct rxlog {
	pthread_mutex_t lock;
	unsigned int n;
	uint32_t len[MAXF];
	uint8_t *frame[MAXF];
	struct ovb_net_meta meta[MAXF];
};

struct t {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	struct rxlog rx;
	struct netvsp_nic *host;  /* the netvsp side of the NIC */
	uint32_t next_slot;       /* the test's slots: top of the buffer */
};

static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct rxlog *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->n < MAXF) {
		r->frame[r->n] = malloc(len);
		memcpy(r->frame[r->n], frame, len);
		r->len[r->n] = (uint32_t)len;
		r->meta[r->n] = *meta;
	}
	__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->lock);
}

static bool rxv_bad; /* pieces that do not add up to the length */

/* In pieces: joined for the log exactly as rx would have got it. */
static void on_rxv(void *ctx, unsigned int queue, const struct iovec *iov,
		   unsigned int iovcnt, size_t len,
		   const struct ovb_net_meta *meta)
{
	/* No cmocka asserts here: this is the channel worker's thread. */
	uint8_t *f = pair_iov_join(iov, iovcnt, len, &rxv_bad);

	on_rx(ctx, queue, f, len, meta);
	free(f);
}

static unsigned int rx_count(struct t *t)
{
	return __atomic_load_n(&t->rx.n, __ATOMIC_ACQUIRE);
}

static struct t *t_new(bool no_rsc, bool inplace)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0" };
	struct ovb_inproc_params ip = { .name = "g0", .mem_gpa = 1ull << 32,
					.mem_size = 64ull << 20 };
	struct ovb_netvsc_params p = { .rx = on_rx, .no_rsc = no_rsc };
	struct t *t = calloc(1, sizeof(*t));

	assert_int_equal(ovb_server_create(&t->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &t->sw), 0);
	cfg.sw = t->sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &t->vsp), 0);
	assert_int_equal(ovb_netvsp_register(t->vsp, t->srv), 0);
	pthread_mutex_init(&t->rx.lock, NULL);
	assert_int_equal(ovb_inproc_create(t->srv, &ip, &t->link), 0);
	assert_int_equal(ovb_client_register_driver(ovb_inproc_client(t->link),
						    &ovb_netvsc_driver,
						    &t->drv), 0);
	assert_int_equal(ovb_client_connect(ovb_inproc_client(t->link), 0,
					    5000), 0);
	p.ctx = &t->rx;
	p.rxv = inplace ? on_rxv : NULL;
	assert_int_equal(ovb_netvsc_open(t->drv.dev[0], &p, &t->nic), 0);
	t->host = t->vsp->nics;
	assert_non_null(t->host);
	assert_non_null(t->host->ch[0]);
	t->next_slot = t->host->nslots - 1;
	return t;
}

static void t_free(struct t *t)
{
	ovb_netvsc_close(t->nic);
	ovb_inproc_destroy(t->link);
	for (unsigned int i = 0; i < t->rx.n && i < MAXF; i++)
		free(t->rx.frame[i]);
	ovb_server_destroy(t->srv);
	ovb_netvsp_destroy(t->vsp);
	ovb_vswitch_destroy(t->sw);
	free(t);
}

/* One RNDIS message the test sends: @len bytes of data, a fragment flag. */
struct frag {
	const uint8_t *data;
	uint32_t len;
	int flag;   /* RNDIS_PKTINFO_* bits; -1: no id PPI at all */
	int csum;   /* checksum PPI: 1 TCP and IP verified, 2 UDP and IP */
};

/* Send @n messages as the ranges of one transfer-page packet. */
static void host_send(struct t *t, const struct frag *fr, unsigned int n)
{
	struct netvsp_nic *h = t->host;
	struct vmtransfer_page_range r[64];
	union nvsp_message m;
	struct ovb_send s = { .type = VM_PKT_DATA_USING_XFER_PAGES };

	assert_true(n <= 64);
	for (unsigned int i = 0; i < n; i++) {
		struct ovb_rndis_pktinfo info = { 0 };
		uint32_t slot = t->next_slot--;
		uint8_t *p = (uint8_t *)h->rx_view.va +
			     (size_t)slot * h->slot_size;
		ssize_t hl;

		if (fr[i].flag >= 0) {
			info.present |= OVB_RNDIS_PPI_PKT_ID;
			info.pkt_id = 1u | (uint32_t)fr[i].flag << 8 |
				      77u << 16;
		}
		if (fr[i].csum) {
			info.present |= OVB_RNDIS_PPI_CSUM;
			info.csum = NDIS_RXCSUM_INFO_IPCS_OK |
				    (fr[i].csum == 2 ? NDIS_RXCSUM_INFO_UDPCS_OK
						     : NDIS_RXCSUM_INFO_TCPCS_OK);
		}
		hl = ovb_rndis_packet_build_header(p, h->slot_size, fr[i].len,
						   &info);
		assert_true(hl > 0 && hl + fr[i].len <= h->slot_size);
		memcpy(p + hl, fr[i].data, fr[i].len);
		r[i].byte_offset = slot * h->slot_size;
		r[i].byte_count = (uint32_t)hl + fr[i].len;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	m.rndis_pkt.send_buf_section_index = NVSP_INVALID_SECTION_INDEX;
	s.flags = OVB_SEND_COMPLETION;
	s.xid = 0xdead0000u + n;
	s.xfer_pageset_id = h->rx_id;
	s.xfer = r;
	s.xfer_cnt = n;
	s.data = &m;
	s.len = sizeof(m);
	assert_int_equal(ovb_chan_send(h->ch[0]->chan, &s), 0);
}

/* The guest's counters once @frames were delivered and @bad dropped. */
static uint64_t rsc_dropped(struct t *t)
{
	struct ovb_netvsc_stats st;

	ovb_netvsc_get_stats(t->nic, &st);
	return st.rx_rsc_dropped;
}

static void expect(struct t *t, unsigned int frames, uint64_t dropped)
{
	struct ovb_netvsc_stats st;

	/*
	 * Wait for both counts (a drop may come last: on a loaded machine
	 * 20 ms were not always enough), then for anything extra.
	 */
	PAIR_WAIT(rx_count(t) >= frames && rsc_dropped(t) >= dropped);
	usleep(20000);
	assert_int_equal(rx_count(t), frames);
	ovb_netvsc_get_stats(t->nic, &st);
	assert_int_equal(st.rx_rsc_dropped, dropped);
}

static void bad_sequences(bool inplace)
{
	struct t *t = t_new(false, inplace);
	static uint8_t f[4000];
	size_t len = nff_tcp4(f, 3000, 1);
	const int S = RNDIS_PKTINFO_SUBALLOC, F = RNDIS_PKTINFO_1ST_FRAG,
		  L = RNDIS_PKTINFO_LAST_FRAG;
	const struct frag a = { f, 1000, S | F, true },
			  b = { f + 1000, 1000, S, false },
			  c = { f + 2000, (uint32_t)len - 2000, S | L, false };
	struct ovb_netvsc_info info;
	static uint8_t want[4000];
	struct ovb_net_meta wm = { .gso_type = OVB_NET_GSO_TCPV4,
				   .gso_size = 1460,
				   .flags = OVB_NET_META_CSUM_PARTIAL };

	/* Joined, it goes up as TSO of the MTU's MSS, Linux conventions. */
	memcpy(want, f, len);
	assert_int_equal(ovb_offload_canonicalize(want, len, &wm), 0);
	ovb_netvsc_get_info(t->nic, &info);
	assert_true(info.rsc);
	/* A middle and a last fragment with no first: both dropped. */
	host_send(t, (struct frag[]){ b, c }, 2);
	expect(t, 0, 2);
	/* The packet ends with the frame still open. */
	host_send(t, (struct frag[]){ a, b }, 2);
	expect(t, 0, 3);
	/* A new first fragment cuts the open frame short; the second one
	 * is whole and arrives. */
	host_send(t, (struct frag[]){ a, b, a, b, c }, 5);
	expect(t, 1, 4);
	assert_int_equal(t->rx.len[0], len);
	assert_memory_equal(t->rx.frame[0], want, len);
	assert_int_equal(t->rx.meta[0].gso_type, OVB_NET_GSO_TCPV4);
	assert_int_equal(t->rx.meta[0].gso_size, 1460);
	/* A plain frame in the middle: the open frame is dropped, the
	 * plain one delivered as it is. */
	host_send(t, (struct frag[]){ a, { f, 200, -1, false }, c }, 3);
	expect(t, 2, 6);
	assert_int_equal(t->rx.len[1], 200);
	assert_memory_equal(t->rx.frame[1], f, 200);
	/* A fragment claiming to be first and last at once is a frame. */
	{
		static uint8_t f2[1100];
		size_t l2 = nff_tcp4(f2, 1000, 9);

		host_send(t, (struct frag[]){ { f2, (uint32_t)l2, S | F | L,
						true } }, 1);
		expect(t, 3, 6);
		assert_int_equal(t->rx.len[2], l2);
		assert_memory_equal(t->rx.frame[2], f2, l2);
		assert_int_equal(t->rx.meta[2].gso_type, OVB_NET_GSO_NONE);
		assert_true(t->rx.meta[2].flags & OVB_NET_META_CSUM_VALID);
	}
	/* Joined but not TCP with a verified checksum: dropped; so is one
	 * whose host vouches only for a UDP checksum (it is TCP). */
	host_send(t, (struct frag[]){ { f, 1000, S | F, false }, b, c }, 3);
	expect(t, 3, 7);
	host_send(t, (struct frag[]){ { f, 1000, S | F, 2 }, b, c }, 3);
	expect(t, 3, 8);
	/* And afterwards a good one, exactly. */
	host_send(t, (struct frag[]){ a, b, c }, 3);
	expect(t, 4, 8);
	assert_int_equal(t->rx.len[3], len);
	assert_memory_equal(t->rx.frame[3], want, len);
	/* Headers cut by the first fragment (30 bytes): joined, exactly,
	 * in either mode. */
	host_send(t, (struct frag[]){ { f, 30, S | F, true },
				      { f + 30, 970, S, false }, b, c }, 4);
	expect(t, 5, 8);
	assert_int_equal(t->rx.len[4], len);
	assert_memory_equal(t->rx.frame[4], want, len);
	{
		struct ovb_netvsc_stats st;

		/* In place: the five coalesced frames but the last. */
		ovb_netvsc_get_stats(t->nic, &st);
		assert_int_equal(st.rx_rsc_inplace, inplace ? 3 : 0);
		assert_int_equal(st.rx_coalesced, 4);
		assert_false(rxv_bad);
	}
	t_free(t);
}

static void test_bad_sequences(void **state)
{
	bad_sequences(false);
}

/* The same against the in-place path (rxv): the same frames, exactly. */
static void test_bad_sequences_inplace(void **state)
{
	bad_sequences(true);
}

static uint64_t rx_bad(struct t *t)
{
	struct ovb_netvsc_stats st;

	ovb_netvsc_get_stats(t->nic, &st);
	return st.rx_bad;
}

/*
 * More than 64 KiB of fragments: dropped, nothing overflows; a frame is
 * never joined across two packets.
 */
static void test_too_long(void **state)
{
	struct t *t = t_new(false, true);
	static uint8_t f[1600];
	struct frag fr[50];
	uint64_t d0;

	nff_tcp4(f, 1500 - 54, 2);
	for (int i = 0; i < 50; i++)
		fr[i] = (struct frag){ f, 1500, RNDIS_PKTINFO_SUBALLOC |
				       (i ? 0 : RNDIS_PKTINFO_1ST_FRAG), !i };
	fr[49].flag |= RNDIS_PKTINFO_LAST_FRAG;
	host_send(t, fr, 50); /* 75000 bytes */
	PAIR_WAIT(rsc_dropped(t) >= 1);
	usleep(20000);
	assert_int_equal(rx_count(t), 0);
	/* 20 fragments, no last; then the rest in the next packet. */
	d0 = rsc_dropped(t);
	host_send(t, fr, 20);
	host_send(t, fr + 40, 10);
	PAIR_WAIT(rsc_dropped(t) >= d0 + 2);
	usleep(20000);
	assert_int_equal(rx_count(t), 0);
	/* The same 10 fragments behind a first: 15000 bytes, delivered. */
	host_send(t, (struct frag[]){ fr[0], fr[1], fr[2], fr[3], fr[4],
				      fr[5], fr[6], fr[7], fr[8], fr[49] },
		  10);
	PAIR_WAIT(rx_count(t) >= 1);
	assert_int_equal(t->rx.len[0], 15000);
	t_free(t);
}

/*
 * A range longer than a sub-allocation (Linux drops it: "Packet too
 * big"): refused and counted, though it lies inside the buffer; the
 * range after it in the same packet arrives.
 */
static void test_range_past_section(void **state)
{
	struct t *t = t_new(false, false);
	struct netvsp_nic *h = t->host;
	uint32_t slot = t->next_slot - 1, flen = h->slot_size;
	struct vmtransfer_page_range r[2];
	struct ovb_rndis_pktinfo info = { 0 };
	struct ovb_send s = { .type = VM_PKT_DATA_USING_XFER_PAGES };
	uint8_t *p = (uint8_t *)h->rx_view.va + (size_t)slot * h->slot_size;
	static uint8_t f[200];
	union nvsp_message m;
	uint64_t b0 = rx_bad(t);
	ssize_t hl;

	t->next_slot -= 2; /* two slots, one message across both */
	memset(p, 0, 2 * (size_t)h->slot_size);
	hl = ovb_rndis_packet_build_header(p, h->slot_size, flen, &info);
	assert_true(hl > 0);
	memset(p + hl, 0xff, 12);
	r[0].byte_offset = slot * h->slot_size;
	r[0].byte_count = (uint32_t)hl + flen;
	assert_true(r[0].byte_count > h->slot_size);
	/* A good frame packed 8-aligned behind a small one's place. */
	p = (uint8_t *)h->rx_view.va + (size_t)t->next_slot * h->slot_size;
	nff_tcp4(f, 100, 4);
	hl = ovb_rndis_packet_build_header(p + 64, h->slot_size, 154, &info);
	memcpy(p + 64 + hl, f, 154);
	r[1].byte_offset = t->next_slot-- * h->slot_size + 64;
	r[1].byte_count = (uint32_t)hl + 154;
	memset(&m, 0, sizeof(m));
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	m.rndis_pkt.send_buf_section_index = NVSP_INVALID_SECTION_INDEX;
	s.flags = OVB_SEND_COMPLETION;
	s.xid = 0xbeef;
	s.xfer_pageset_id = h->rx_id;
	s.xfer = r;
	s.xfer_cnt = 2;
	s.data = &m;
	s.len = sizeof(m);
	assert_int_equal(ovb_chan_send(h->ch[0]->chan, &s), 0);
	PAIR_WAIT(rx_count(t) >= 1 && rx_bad(t) >= b0 + 1);
	usleep(20000);
	assert_int_equal(rx_count(t), 1);
	assert_int_equal(rx_bad(t) - b0, 1);
	assert_int_equal(t->rx.len[0], 154);
	assert_memory_equal(t->rx.frame[0], f, 154);
	t_free(t);
}

/* A guest that said no to RSC refuses fragments as host errors. */
static void test_not_asked(void **state)
{
	struct t *t = t_new(true, false);
	static uint8_t f[4000];
	size_t len = nff_tcp4(f, 3000, 1);
	struct ovb_netvsc_info info;

	ovb_netvsc_get_info(t->nic, &info);
	assert_false(info.rsc);
	host_send(t, (struct frag[]){
			     { f, 1500, RNDIS_PKTINFO_SUBALLOC |
						RNDIS_PKTINFO_1ST_FRAG, true },
			     { f + 1500, (uint32_t)len - 1500,
			       RNDIS_PKTINFO_SUBALLOC |
				       RNDIS_PKTINFO_LAST_FRAG, false } },
		  2);
	PAIR_WAIT(rx_bad(t) >= 2);
	usleep(20000);
	assert_int_equal(rx_count(t), 0);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sequences),
		cmocka_unit_test(test_bad_sequences_inplace),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_not_asked),
		cmocka_unit_test(test_range_past_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
