// SPDX-License-Identifier: MIT
/*
 * Large frames end to end: a real server with netvsp on a virtual switch,
 * two real netvsc guests and a test port on the switch, in one process
 * over the inproc link.  TSO frames from a guest (LSO v2) reach a port
 * that takes them whole byte for byte, and a port without TSO as
 * segments with correct checksums; TSO frames towards a guest arrive as
 * one frame through receive segment coalescing (RSC) when the guest asked
 * for it (joined, or in place in pieces for a receiver that takes them),
 * and as segments when it did not; IPv4, IPv6 and a VLAN tag.
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
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "net/offload_priv.h"
#include "openvmbus/offload.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define BIG 65000u /* a TSO frame a little under the 64 KiB IP limit */

static const uint8_t port_mac[6] = { 0x02, 0, 0, 0, 0, 0x77 };

/* In pieces (rxv): joined for the log, the shape kept. */
static unsigned int rxv_iovcnt;
static size_t rxv_hdr_len;
static bool rxv_bad; /* pieces that do not add up to the length */
static unsigned int rxv_unaligned; /* payload pieces off their lines */

static void on_rxv(void *ctx, unsigned int queue, const struct iovec *iov,
		   unsigned int iovcnt, size_t len,
		   const struct ovb_net_meta *meta)
{
	/* No cmocka asserts here: this is the channel worker's thread. */
	uint8_t *f = pair_iov_join(iov, iovcnt, len, &rxv_bad);

	rxv_iovcnt = iovcnt;
	rxv_hdr_len = iov[0].iov_len;
	/*
	 * The payload on whole lines: every fragment after the first starts
	 * a line, every one but the last is whole lines long.
	 */
	rxv_unaligned = 0;
	for (unsigned int i = 1; i < iovcnt; i++)
		if ((i >= 2 && (uintptr_t)iov[i].iov_base % 64) ||
		    (i + 1 < iovcnt && iov[i].iov_len % 64))
			rxv_unaligned++;
	nvfx_log_add(ctx, queue, f, len, meta);
	free(f);
}

/*
 * Two guests (@np1 for the second, NULL: defaults) and a test port
 * taking @caps, every frame logged.
 */
static struct nvfx *net_new(uint32_t caps,
			   const struct ovb_netvsc_params *np1)
{
	struct nvfx_opts o = { .guests = 2, .log = true, .port = true,
			       .port_name = "test", .port_caps = caps,
			       .port_log = true };
	struct ovb_netvsc_params p[2] = { { 0 } };

	if (np1)
		p[1] = *np1;
	return nvfx_new(&o, p);
}

/*
 * A TCP frame from @src to @dst carrying @payload bytes of a pattern, in
 * the Linux GSO conventions (real lengths, valid IPv4 header checksum,
 * pseudo-header seed in the TCP checksum) with @m describing it as TSO of
 * @mss.  @v6 for IPv6.  Returns its length.
 */
static size_t tso_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
			bool v6, size_t payload, uint16_t mss, uint32_t seed,
			struct ovb_net_meta *m)
{
	static const uint8_t a4[4] = { 10, 0, 0, 1 }, b4[4] = { 10, 0, 0, 2 };
	static const uint8_t a6[16] = { 0xfd, [15] = 1 }, /* in fd00::/8 */
			     b6[16] = { 0xfd, [15] = 2 };
	size_t l4 = 14 + (v6 ? 40 : 20), len;
	const struct nff_l4 h = {
		.dst = dst, .src = src, .saddr = v6 ? a6 : a4,
		.daddr = v6 ? b6 : b4, .ip_id = (uint16_t)seed, .ttl = 64,
		.proto = 6, .sport = 40000, .dport = 5201,
		.l4len = 32, .seq = (seed & 0xffff0000u) | 1, .flags = 0x18,
		.window = 0xff00, .payload = payload, .mul = 13,
		/* byte i of the frame: i * 13 + seed */
		.add = (uint8_t)((l4 + 32) * 13 + seed),
	};

	len = v6 ? nff_ip6(f, &h) : nff_ip4(f, &h);
	/* Options: NOP, NOP, timestamps (kind 8, 10 bytes). */
	memcpy(f + l4 + 20, (uint8_t[]){ 1, 1, 8, 10 }, 4);
	memset(m, 0, sizeof(*m));
	m->gso_type = v6 ? OVB_NET_GSO_TCPV6 : OVB_NET_GSO_TCPV4;
	m->gso_size = mss;
	m->flags = OVB_NET_META_CSUM_PARTIAL;
	assert_int_equal(ovb_offload_canonicalize(f, len, m), 0);
	return len;
}

/* The TCP checksum of a complete segment is right. */
static void assert_tcp_csum(const uint8_t *f, size_t len)
{
	struct ovb_net_meta m = { .flags = OVB_NET_META_CSUM_PARTIAL };
	struct ovb_net_hdrs h;
	uint8_t *c = malloc(len);

	assert_int_equal(ovb_offload_parse(f, len, &h), 0);
	assert_int_not_equal(h.l4_off, 0);
	memcpy(c, f, len);
	m.csum_start = h.l4_off;
	m.csum_offset = 16;
	assert_int_equal(ovb_offload_csum(c, len, &m), 0);
	assert_memory_equal(c + h.l4_off + 16, f + h.l4_off + 16, 2);
	free(c);
}

/*
 * @r holds the segments of @orig (TSO of @mss): as many as it takes,
 * each with correct checksums, payloads joining to the original's.
 */
static void assert_segments(struct nvfx_log *r, const uint8_t *orig,
			    size_t len, uint16_t mss)
{
	struct ovb_net_hdrs h;
	size_t hdr, payload, off = 0;
	unsigned int n;

	assert_int_equal(ovb_offload_parse(orig, len, &h), 0);
	hdr = h.payload_off;
	payload = len - hdr;
	n = (unsigned int)((payload + mss - 1) / mss);
	PAIR_WAIT(nvfx_log_count(r) >= n);
	usleep(20000);
	assert_int_equal(nvfx_log_count(r), n);
	for (unsigned int i = 0; i < n; i++) {
		size_t want = payload - off < mss ? payload - off : mss;

		assert_int_equal(r->len[i], hdr + want);
		assert_memory_equal(r->frame[i], orig, 12);
		assert_memory_equal(r->frame[i] + hdr, orig + hdr + off, want);
		assert_int_equal(r->meta[i].gso_type, OVB_NET_GSO_NONE);
		assert_tcp_csum(r->frame[i], r->len[i]);
		if (h.ip_version == 4)
			assert_int_equal(ovb_offload_csum_fold(
				ovb_offload_csum_add(0, r->frame[i] + 14, 20)),
					 0);
		off += want;
	}
}

/*
 * Guest 0 sends a TSO frame; a TSO port takes it whole, byte for byte.
 * With @vlan the guest gives the tag out of band and the port (no VLAN
 * offload) gets it in the frame.
 */
static void gso_to_port(bool v6, bool vlan)
{
	struct nvfx *t = net_new(OVB_VSWITCH_CAP_CSUM | OVB_VSWITCH_CAP_TSO4 |
				OVB_VSWITCH_CAP_TSO6, NULL);
	static uint8_t f[BIG + 200];
	struct ovb_net_meta m;
	size_t len = tso_frame(f, port_mac, t->g[0].info.mac, v6,
			       60000, 1448, 7, &m);
	struct ovb_netvsc_stats st;

	assert_true(t->g[0].info.lso_max >= len);
	if (vlan) {
		m.flags |= OVB_NET_META_VLAN;
		m.vlan_tci = 0x6000 | 7;
	}
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, len, &m, false),
			 0);
	PAIR_WAIT(nvfx_log_count(&t->port_log) >= 1);
	usleep(20000);
	assert_int_equal(nvfx_log_count(&t->port_log), 1);
	if (vlan) {
		static const uint8_t tag[4] = { 0x81, 0x00, 0x60, 0x07 };

		assert_int_equal(t->port_log.len[0], len + 4);
		assert_memory_equal(t->port_log.frame[0], f, 12);
		assert_memory_equal(t->port_log.frame[0] + 12, tag, 4);
		assert_memory_equal(t->port_log.frame[0] + 16, f + 12, len - 12);
	} else {
		assert_int_equal(t->port_log.len[0], len);
		assert_memory_equal(t->port_log.frame[0], f, len);
	}
	assert_int_equal(t->port_log.meta[0].gso_type, m.gso_type);
	assert_int_equal(t->port_log.meta[0].gso_size, 1448);
	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_pagebuf, 1); /* one LSO send */
	nvfx_free(t);
}

static void test_gso_to_port_v4(void **state)
{
	gso_to_port(false, false);
}

static void test_gso_to_port_v6(void **state)
{
	gso_to_port(true, false);
}

static void test_gso_to_port_vlan(void **state)
{
	gso_to_port(false, true);
	gso_to_port(true, true);
}

/*
 * netvsc takes a transfer-page packet of many frames: a switch batch of
 * 40 frames towards guest 1 is one packet and arrives whole, in order.
 */
static void test_batch_to_guest(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	struct nvfx_guest *g = &t->g[1];
	struct ovb_netvsp_stats st0, st;
	uint8_t f[1514];

	ovb_netvsp_get_stats(t->vsp, &st0);
	ovb_vswitch_batch_begin(t->sw);
	for (int i = 0; i < 40; i++) {
		size_t len = 60 + 36 * (size_t)i;

		memcpy(f, g->info.mac, 6);
		memcpy(f + 6, port_mac, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
		for (size_t j = 14; j < len; j++)
			f[j] = (uint8_t)(j * 3 + (size_t)i);
		assert_true(ovb_vswitch_input(t->sw, t->port, f, len, NULL) >=
			    1);
	}
	ovb_vswitch_batch_end(t->sw);
	PAIR_WAIT(nvfx_log_count(&t->log[1]) >= 40);
	usleep(20000);
	assert_int_equal(nvfx_log_count(&t->log[1]), 40);
	ovb_netvsp_get_stats(t->vsp, &st);
	assert_int_equal(st.to_guest - st0.to_guest, 40);
	assert_int_equal(st.to_guest_batches - st0.to_guest_batches, 1);
	for (int i = 0; i < 40; i++) {
		size_t len = 60 + 36 * (size_t)i;

		assert_int_equal(t->log[1].len[i], len);
		for (size_t j = 14; j < len; j++)
			assert_int_equal(t->log[1].frame[i][j],
					 (uint8_t)(j * 3 + (size_t)i));
	}
	nvfx_free(t);
}

/* A port without offloads gets the same frame as checked segments. */
static void test_gso_fallback_port(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	static uint8_t f[BIG + 200];
	struct ovb_net_meta m;

	for (int v6 = 0; v6 < 2; v6++) {
		size_t len = tso_frame(f, port_mac, t->g[0].info.mac, v6,
				       20000, 1400, 9, &m);

		nvfx_log_reset(&t->port_log);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, len, &m,
						 false), 0);
		assert_segments(&t->port_log, f, len, 1400);
	}
	nvfx_free(t);
}

/*
 * The test port sends a TSO frame to guest 1: with RSC it arrives as one
 * frame, byte for byte, as a TSO frame of the guest's MSS; without, as
 * segments.  @vlan: with an out-of-band tag.
 */
static void port_to_guest_len(bool v6, bool vlan, bool rsc, bool inplace,
			      size_t payload)
{
	struct ovb_netvsc_params p1 = { .no_rsc = !rsc,
					.rxv = inplace ? on_rxv : NULL };
	struct nvfx *t = net_new(0, &p1);
	struct nvfx_guest *g = &t->g[1];
	static uint8_t f[BIG + 200];
	struct ovb_net_meta m;
	struct ovb_netvsp_stats st0, st;
	struct ovb_netvsc_stats cs;
	size_t len = tso_frame(f, g->info.mac, port_mac, v6, payload, 1200, 3,
			       &m);

	assert_int_equal(g->info.rsc, rsc);
	ovb_netvsp_get_stats(t->vsp, &st0);
	if (vlan) {
		m.flags |= OVB_NET_META_VLAN;
		m.vlan_tci = 0x2000 | 42;
	}
	assert_true(ovb_vswitch_input(t->sw, t->port, f, len, &m) >= 1);
	ovb_netvsp_get_stats(t->vsp, &st);
	if (!rsc) {
		assert_int_equal(st.segmented - st0.segmented, 1);
		assert_segments(&t->log[1], f, len, 1200);
		for (unsigned int i = 0; i < nvfx_log_count(&t->log[1]); i++) {
			assert_true(t->log[1].meta[i].flags &
				    OVB_NET_META_CSUM_VALID);
			assert_int_equal(!!(t->log[1].meta[i].flags &
					    OVB_NET_META_VLAN), vlan);
		}
		nvfx_free(t);
		return;
	}
	assert_int_equal(st.coalesced - st0.coalesced, 1);
	PAIR_WAIT(nvfx_log_count(&t->log[1]) >= 1);
	usleep(20000);
	assert_int_equal(nvfx_log_count(&t->log[1]), 1);
	assert_int_equal(t->log[1].len[0], len);
	assert_memory_equal(t->log[1].frame[0], f, len);
	assert_int_equal(t->log[1].meta[0].gso_type, m.gso_type);
	/* MSS from the guest's MTU: 1500 less IP and TCP headers. */
	assert_int_equal(t->log[1].meta[0].gso_size,
			 1500 - (v6 ? 40 : 20) - 32);
	assert_true(t->log[1].meta[0].flags & OVB_NET_META_CSUM_PARTIAL);
	assert_int_equal(!!(t->log[1].meta[0].flags & OVB_NET_META_VLAN), vlan);
	if (vlan)
		assert_int_equal(t->log[1].meta[0].vlan_tci, 0x2000 | 42);
	ovb_netvsc_get_stats(g->nic, &cs);
	assert_int_equal(cs.rx_coalesced, 1);
	assert_int_equal(cs.rx_rsc_inplace, inplace);
	assert_int_equal(cs.rx_rsc_dropped, 0);
	assert_int_equal(cs.rx_bad, 0);
	if (inplace) {
		/* Headers apart, then the fragments where they lie. */
		assert_int_equal(rxv_hdr_len, 14 + (v6 ? 40 : 20) + 32);
		/*
		 * 16 KiB slots: the ~64 KiB frame is 4 or 5 ranges at MTU
		 * 1500 (40 of 1728 bytes before), each a payload iovec.
		 */
		assert_true(rxv_iovcnt >= 2 && rxv_iovcnt <= 1 + 5);
		assert_false(rxv_bad);
		assert_int_equal(rxv_unaligned, 0);
	}
	nvfx_free(t);
}

static void port_to_guest(bool v6, bool vlan, bool rsc, bool inplace)
{
	port_to_guest_len(v6, vlan, rsc, inplace, BIG - 100);
}

static void test_rsc_v4(void **state)
{
	port_to_guest(false, false, true, false);
}

static void test_rsc_v6(void **state)
{
	port_to_guest(true, false, true, false);
}

static void test_rsc_vlan(void **state)
{
	port_to_guest(false, true, true, false);
}

/* The same through rxv: fragments in place, headers in a copy. */
static void test_rsc_inplace(void **state)
{
	port_to_guest(false, false, true, true);
	port_to_guest(true, false, true, true);
	port_to_guest(false, true, true, true);
	port_to_guest(true, true, true, true);
}

/*
 * A TSO frame that fits one receive slot (8 KiB in 16 KiB) is still
 * coalesced: one range flagged first and last fragment, not cut into
 * segments.
 */
static void test_rsc_one_range(void **state)
{
	port_to_guest_len(false, false, true, false, 8000);
	port_to_guest_len(true, true, true, false, 8000);
	port_to_guest_len(false, false, true, true, 8000);
}

static void test_no_rsc_v4(void **state)
{
	port_to_guest(false, false, false, false);
}

static void test_no_rsc_v6_vlan(void **state)
{
	port_to_guest(true, true, false, false);
}

/*
 * Guest to guest: a TSO frame leaves one guest and arrives whole, IPv4
 * and IPv6, the last two with a VLAN tag given and received out of band.
 */
static void test_gso_guest_to_guest(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	static uint8_t f[BIG + 200];
	struct ovb_net_meta m;

	for (int i = 0; i < 4; i++) {
		bool v6 = i & 1, vlan = i >= 2;
		size_t len = tso_frame(f, t->g[1].info.mac, t->g[0].info.mac,
				       v6, 30000 + 1000 * i, 1448, 100 + i, &m);

		if (vlan) {
			m.flags |= OVB_NET_META_VLAN;
			m.vlan_tci = 0xa000 | 300;
		}
		nvfx_log_reset(&t->log[1]);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, len, &m,
						 false), 0);
		PAIR_WAIT(nvfx_log_count(&t->log[1]) >= 1);
		usleep(10000);
		assert_int_equal(nvfx_log_count(&t->log[1]), 1);
		assert_int_equal(t->log[1].len[0], len);
		assert_memory_equal(t->log[1].frame[0], f, len);
		assert_int_equal(t->log[1].meta[0].gso_type, m.gso_type);
		assert_int_equal(!!(t->log[1].meta[0].flags &
				    OVB_NET_META_VLAN), vlan);
		if (vlan)
			assert_int_equal(t->log[1].meta[0].vlan_tci,
					 0xa000 | 300);
	}
	/* From a transmit buffer, as the TAP front end sends: by page
	 * buffers, the payload read where it lies in the sender's memory. */
	for (int i = 0; i < 2; i++) {
		struct ovb_netvsc_txbuf tb;
		size_t len = tso_frame(f, t->g[1].info.mac, t->g[0].info.mac,
				       i, 50000 + 777 * i, 1448, 7 + i, &m);

		assert_int_equal(ovb_netvsc_txbuf_get(t->g[0].nic, &tb), 0);
		assert_true(tb.cap >= len);
		memcpy(tb.frame, f, len);
		nvfx_log_reset(&t->log[1]);
		assert_int_equal(ovb_netvsc_send_txbuf(t->g[0].nic, 0, &tb,
						       len, &m, false), 1);
		PAIR_WAIT(nvfx_log_count(&t->log[1]) >= 1);
		assert_int_equal(t->log[1].len[0], len);
		assert_memory_equal(t->log[1].frame[0], f, len);
		assert_int_equal(t->log[1].meta[0].gso_type, m.gso_type);
	}
	nvfx_free(t);
}

/*
 * From a transmit buffer in guest memory: a TSO frame goes where it lies
 * (the buffer is used up), a small one is copied (the buffer stays).
 */
static void test_gso_txbuf(void **state)
{
	struct nvfx *t = net_new(OVB_VSWITCH_CAP_CSUM | OVB_VSWITCH_CAP_TSO4 |
				OVB_VSWITCH_CAP_TSO6, NULL);
	static uint8_t f[BIG + 200];
	struct ovb_netvsc_txbuf tb;
	struct ovb_netvsc_stats st;
	struct ovb_net_meta m;
	size_t len;

	for (int i = 0; i < 3; i++) {
		len = tso_frame(f, port_mac, t->g[0].info.mac, i & 1,
				40000 + 5000 * i, 1448, 20 + i, &m);
		assert_int_equal(ovb_netvsc_txbuf_get(t->g[0].nic, &tb), 0);
		assert_true(tb.cap >= len);
		memcpy(tb.frame, f, len);
		assert_int_equal(ovb_netvsc_send_txbuf(t->g[0].nic, 0, &tb,
						       len, &m, false), 1);
		assert_null(tb.frame);
		PAIR_WAIT(nvfx_log_count(&t->port_log) >= (unsigned int)i + 1);
		assert_int_equal(t->port_log.len[i], len);
		assert_memory_equal(t->port_log.frame[i], f, len);
	}
	assert_int_equal(ovb_netvsc_txbuf_get(t->g[0].nic, &tb), 0);
	len = tso_frame(tb.frame, port_mac, t->g[0].info.mac, false, 100,
			1448, 5, &m);
	memcpy(f, tb.frame, len);
	assert_int_equal(ovb_netvsc_send_txbuf(t->g[0].nic, 0, &tb, len, NULL,
					       false), 0);
	assert_non_null(tb.frame);
	ovb_netvsc_txbuf_put(t->g[0].nic, &tb);
	PAIR_WAIT(nvfx_log_count(&t->port_log) >= 4);
	assert_int_equal(t->port_log.len[3], len);
	assert_memory_equal(t->port_log.frame[3], f, len);
	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_pagebuf, 3);
	nvfx_free(t);
}

/*
 * The sender drains its own queue (ovb_netvsc_poll), as the TAP front
 * end's reader does, then stops reaping with the ring still masked and
 * sends more large frames than there are transmit buffers: a buffer wait
 * must drain the masked ring itself (or hand it back to the worker)
 * instead of waiting NETVSC_TIMEOUT for a completion nobody reads.
 */
static void test_txbuf_polled(void **state)
{
	struct nvfx *t = net_new(OVB_VSWITCH_CAP_CSUM | OVB_VSWITCH_CAP_TSO4 |
				OVB_VSWITCH_CAP_TSO6, NULL);
	struct ovb_netvsc *nic = t->g[0].nic;
	static uint8_t f[BIG + 200];
	struct ovb_netvsc_txbuf tb;
	struct ovb_net_meta m;
	unsigned int sent = 0;
	size_t len = 0;
	int got = 0;

	usleep(20000); /* the guest's worker asleep, its ring unmasked */
	assert_true(ovb_netvsc_poll(nic, 0) >= 0);
	for (int i = 0; i < 3; i++) {
		len = tso_frame(f, port_mac, t->g[0].info.mac, i & 1,
				30000 + 1000 * i, 1448, 40 + i, &m);
		assert_int_equal(ovb_netvsc_txbuf_get(nic, &tb), 0);
		memcpy(tb.frame, f, len);
		assert_int_equal(ovb_netvsc_send_txbuf(nic, 0, &tb, len, &m,
						       false), 1);
		sent++;
		for (int k = 0; k < 2000 && got <= 0; k++) {
			got = ovb_netvsc_poll(nic, 0);
			usleep(500);
		}
	}
	PAIR_WAIT(nvfx_log_count(&t->port_log) >= sent);
	/* 3 x 32 frames on 32 buffers, without another poll. */
	for (int i = 0; i < 96; i++) {
		len = tso_frame(f, port_mac, t->g[0].info.mac, false, 20000,
				1448, 100 + (uint32_t)i, &m);
		assert_int_equal(ovb_netvsc_txbuf_get(nic, &tb), 0);
		memcpy(tb.frame, f, len);
		assert_int_equal(ovb_netvsc_send_txbuf(nic, 0, &tb, len, &m,
						       true), 1);
		sent++;
	}
	ovb_netvsc_poll_end(nic, 0);
	PAIR_WAIT(nvfx_log_count(&t->port_log) >= sent);
	assert_int_equal(nvfx_log_count(&t->port_log), sent);
	assert_int_equal(t->port_log.len[sent - 1], len);
	assert_memory_equal(t->port_log.frame[sent - 1], f, len);
	for (unsigned int i = 3; i < sent; i++) {
		tso_frame(f, port_mac, t->g[0].info.mac, false, 20000, 1448,
			  100 + (uint32_t)(i - 3), &m);
		assert_memory_equal(t->port_log.frame[i], f, len);
	}
	nvfx_free(t);
}

/* Frames for a guest, while @g's queue is polled or after poll_end. */
static void port_burst(struct nvfx *t, struct nvfx_guest *g, int first, int n)
{
	uint8_t f[1514];

	for (int i = first; i < first + n; i++) {
		size_t len = 60 + 29 * (size_t)i;

		memcpy(f, g->info.mac, 6);
		memcpy(f + 6, port_mac, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
		for (size_t j = 14; j < len; j++)
			f[j] = (uint8_t)(j * 7 + (size_t)i);
		assert_true(ovb_vswitch_input(t->sw, t->port, f, len, NULL) >=
			    1);
	}
}

/*
 * Received frames reach the callback from a thread that polls the queue,
 * and after ovb_netvsc_poll_end() from the worker again: the ring is not
 * left masked with nobody to read it.
 */
static void test_rx_polled(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	struct nvfx_guest *g = &t->g[1];
	int rc;

	usleep(20000);
	assert_true(ovb_netvsc_poll(g->nic, 0) >= 0);
	port_burst(t, g, 0, 20);
	for (int k = 0; k < 4000 && nvfx_log_count(&t->log[1]) < 20; k++) {
		rc = ovb_netvsc_poll(g->nic, 0);
		assert_true(rc >= 0);
		usleep(500);
	}
	assert_int_equal(nvfx_log_count(&t->log[1]), 20);
	ovb_netvsc_poll_end(g->nic, 0);
	usleep(20000);
	port_burst(t, g, 20, 20);
	PAIR_WAIT(nvfx_log_count(&t->log[1]) >= 40);
	for (int i = 0; i < 40; i++) {
		size_t len = 60 + 29 * (size_t)i;

		assert_int_equal(t->log[1].len[i], len);
		for (size_t j = 14; j < len; j++)
			assert_int_equal(t->log[1].frame[i][j],
					 (uint8_t)(j * 7 + (size_t)i));
	}
	nvfx_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gso_to_port_v4),
		cmocka_unit_test(test_gso_to_port_v6),
		cmocka_unit_test(test_gso_to_port_vlan),
		cmocka_unit_test(test_batch_to_guest),
		cmocka_unit_test(test_gso_fallback_port),
		cmocka_unit_test(test_rsc_v4),
		cmocka_unit_test(test_rsc_v6),
		cmocka_unit_test(test_rsc_vlan),
		cmocka_unit_test(test_rsc_inplace),
		cmocka_unit_test(test_rsc_one_range),
		cmocka_unit_test(test_no_rsc_v4),
		cmocka_unit_test(test_no_rsc_v6_vlan),
		cmocka_unit_test(test_gso_guest_to_guest),
		cmocka_unit_test(test_gso_txbuf),
		cmocka_unit_test(test_txbuf_polled),
		cmocka_unit_test(test_rx_polled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
