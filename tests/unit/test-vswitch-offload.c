// SPDX-License-Identifier: MIT
/*
 * Unit tests of the virtual switch's offloads: the software fallbacks per
 * port capability (checksums, TSO segmentation, VLAN tags) and frames
 * handed to a port in pieces (ovb_vswitch_port_set_txv).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/vswitch.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/vswitch-fx.h"

/* Ethernet + IPv4 + TCP with @plen payload bytes, checksums left 0. */
static size_t tcp_frame(uint8_t *f, uint8_t src, size_t plen)
{
	const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, src };
	const struct nff_l4 h = { .dst = dmac, .src = smac, .ip_len = true,
				  .ttl = 64, .proto = 6, .flags = 0x10,
				  .payload = plen, .mul = 1 };

	return nff_ip4(f, &h);
}

static void test_offload_fallbacks(void **state)
{
	struct ovb_vswitch *sw;
	struct ovb_vswitch_config cfg = { .clock = fake_clock };
	struct ovb_vswitch_port_stats st;
	unsigned int full, plain;
	static uint8_t f[9000];
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM,
		.csum_start = 34, .csum_offset = 16,
	};
	size_t n = tcp_frame(f, 0x60, 100);

	memset(sinks, 0, sizeof(sinks));
	assert_int_equal(ovb_vswitch_create(&cfg, &sw), 0);
	ovb_vswitch_port_add(sw, "full", OVB_VSWITCH_CAP_CSUM |
			     OVB_VSWITCH_CAP_TSO4 | OVB_VSWITCH_CAP_VLAN,
			     sink_tx, &sinks[0], &full);
	ovb_vswitch_port_add(sw, "plain", 0, sink_tx, &sinks[1], &plain);
	ovb_vswitch_port_add(sw, "in", 0, sink_tx, &sinks[2], &(unsigned){0});

	/* Checksums: passed through to "full", done in software for "plain". */
	assert_int_equal(ovb_vswitch_input(sw, 2, f, n, &m), 2);
	assert_int_equal(sinks[0].last_meta.flags, m.flags);
	assert_int_equal(sinks[0].last[24] | sinks[0].last[25], 0);
	assert_int_equal(sinks[1].last_meta.flags, OVB_NET_META_CSUM_VALID);
	assert_int_not_equal(sinks[1].last[24] | sinks[1].last[25], 0);
	assert_int_not_equal(sinks[1].last[50] | sinks[1].last[51], 0);
	assert_int_equal(f[24] | f[25], 0); /* the input is not modified */

	/* TSO: one frame for "full", segments for "plain". */
	n = tcp_frame(f, 0x60, 8000);
	m.gso_type = OVB_NET_GSO_TCPV4;
	m.gso_size = 1460;
	memset(sinks, 0, sizeof(sinks));
	assert_int_equal(ovb_vswitch_input(sw, 2, f, n, &m), 2);
	assert_int_equal(got(0), 1);
	assert_int_equal(sinks[0].last_len, n);
	assert_int_equal(got(1), 6);
	assert_int_equal(sinks[1].last_len, 54 + 8000 - 5 * 1460);
	assert_int_equal(sinks[1].last_meta.gso_type, OVB_NET_GSO_NONE);

	/* VLAN: kept out of band for "full", put in the frame for "plain". */
	n = tcp_frame(f, 0x60, 100);
	m = (struct ovb_net_meta){ .flags = OVB_NET_META_VLAN |
					    OVB_NET_META_CSUM_PARTIAL,
				   .vlan_tci = 0x2005, .csum_start = 34,
				   .csum_offset = 16 };
	assert_int_equal(ovb_vswitch_input(sw, 2, f, n, &m), 2);
	assert_int_equal(sinks[0].last_len, n);
	assert_int_equal(sinks[0].last_meta.vlan_tci, 0x2005);
	assert_int_equal(sinks[1].last_len, n + 4);
	assert_int_equal(sinks[1].last[12], 0x81);
	assert_int_equal(sinks[1].last[15], 0x05);
	assert_false(sinks[1].last_meta.flags & OVB_NET_META_VLAN);
	assert_int_not_equal(sinks[1].last[54] | sinks[1].last[55], 0);

	/* IPv6 TSO announced on an IPv4 frame: neither port takes TSO6 and
	 * the frame cannot be segmented, so both deliveries are drops. */
	m = (struct ovb_net_meta){ .gso_type = OVB_NET_GSO_TCPV6,
				   .gso_size = 1000 };
	assert_int_equal(ovb_vswitch_input(sw, 2, f, n, &m), 0);
	assert_int_equal(ovb_vswitch_port_stats(sw, plain, &st), 0);
	assert_int_equal(st.tx_drops, 1);
	ovb_vswitch_destroy(sw);
}

/* What a port taking pieces saw (ovb_vswitch_port_set_txv). */
static struct {
	unsigned int calls;
	const void *hdr, *rest;
	size_t hlen, rest_len;
	uint8_t joined[9000];
} pieces;

static int sink_txv(void *ctx, const void *hdr, size_t hlen,
		    const void *rest, size_t rest_len,
		    const struct ovb_net_meta *meta)
{
	pieces.calls++;
	pieces.hdr = hdr;
	pieces.rest = rest;
	pieces.hlen = hlen;
	pieces.rest_len = rest_len;
	if (hlen + rest_len <= sizeof(pieces.joined)) {
		memcpy(pieces.joined, hdr, hlen);
		memcpy(pieces.joined + hlen, rest, rest_len);
	}
	return 0;
}

/*
 * A frame in two pieces: a port with a txv callback that needs no
 * fallback gets the caller's pieces themselves (no copy made); a port
 * without one gets the frame joined, byte for byte; a port that needs a
 * fallback (no TSO) gets segments of the joined frame through tx, even
 * with a txv callback.
 */
static void test_split_input(void **state)
{
	struct ovb_vswitch *sw;
	struct ovb_vswitch_config cfg = { .clock = fake_clock };
	struct ovb_vswitch_port_stats st;
	unsigned int pc, whole, plain, in;
	static uint8_t f[9000];
	uint8_t hdr[54];
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL, .csum_start = 34,
		.csum_offset = 16, .gso_type = OVB_NET_GSO_TCPV4,
		.gso_size = 1460, .hdr_len = 54,
	};
	size_t n = tcp_frame(f, 0x60, 8000);
	uint32_t all = OVB_VSWITCH_CAP_CSUM | OVB_VSWITCH_CAP_TSO4 |
		       OVB_VSWITCH_CAP_VLAN;

	for (size_t i = 54; i < n; i++)
		f[i] = (uint8_t)(i * 7);
	memcpy(hdr, f, sizeof(hdr));
	memset(sinks, 0, sizeof(sinks));
	memset(&pieces, 0, sizeof(pieces));
	assert_int_equal(ovb_vswitch_create(&cfg, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "pieces", all, sink_tx,
					      &sinks[0], &pc), 0);
	assert_int_equal(ovb_vswitch_port_set_txv(sw, pc, sink_txv), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "whole", all, sink_tx,
					      &sinks[1], &whole), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "plain", 0, sink_tx,
					      &sinks[2], &plain), 0);
	assert_int_equal(ovb_vswitch_port_set_txv(sw, plain, sink_txv), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "in", 0, sink_tx,
					      &sinks[3], &in), 0);
	assert_int_equal(ovb_vswitch_port_set_txv(sw, 40, sink_txv), -ENODEV);

	/* Unknown destination: flooded to the three other ports. */
	assert_int_equal(ovb_vswitch_input_split(sw, in, hdr, sizeof(hdr),
						 f + 54, n - 54, &m), 3);
	assert_int_equal(pieces.calls, 1);
	assert_ptr_equal(pieces.hdr, hdr);
	assert_ptr_equal(pieces.rest, f + 54);
	assert_int_equal(pieces.hlen, 54);
	assert_int_equal(pieces.rest_len, n - 54);
	assert_memory_equal(pieces.joined, f, n);
	assert_int_equal(got(0), 0);
	assert_int_equal(got(1), 1);
	assert_int_equal(sinks[1].last_len, n);
	assert_int_equal(sinks[1].last_meta.gso_type, OVB_NET_GSO_TCPV4);
	assert_int_equal(got(2), 6);
	assert_int_equal(sinks[2].last_len, 54 + 8000 - 5 * 1460);
	assert_memory_equal(sinks[2].last + 54, f + 54 + 5 * 1460,
			    8000 - 5 * 1460);
	assert_int_equal(ovb_vswitch_port_stats(sw, pc, &st), 0);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, n);
	assert_int_equal(ovb_vswitch_port_stats(sw, in, &st), 0);
	assert_int_equal(st.rx_bytes, n);

	/* The source was learned from the header piece: unicast back. */
	memset(sinks, 0, sizeof(sinks));
	memcpy(hdr, f, sizeof(hdr));
	hdr[5] = 0x60;
	hdr[11] = 0x61;
	assert_int_equal(ovb_vswitch_input_split(sw, pc, hdr, sizeof(hdr),
						 f + 54, n - 54, &m), 1);
	assert_int_equal(got(3), 6); /* "in" takes no TSO: segments */
	assert_memory_equal(sinks[3].last, hdr, 12);

	/* Bad pieces. */
	assert_int_equal(ovb_vswitch_input_split(sw, in, hdr, 13, f + 13,
						 100, &m), -EBADMSG);
	assert_int_equal(ovb_vswitch_input_split(sw, in, hdr, 54, NULL, 100,
						 &m), -EINVAL);
	ovb_vswitch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offload_fallbacks),
		cmocka_unit_test(test_split_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
