// SPDX-License-Identifier: MIT
/*
 * Unit tests: header parsing, software checksums (checked against an
 * independent, deliberately naive RFC 1071 implementation in this file),
 * TCP segmentation of 64 KiB TSO frames over IPv4 and IPv6, VLAN insertion
 * and the virtio-net header mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_net.h>

#include "net/offload_priv.h"
#include "tests/lib/net-frame-fx.h"

/* ---- independent reference: 16-bit big-endian words, no tricks ---- */

static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2) {
		uint32_t w = (uint32_t)p[i] << 8;

		if (i + 1 < len)
			w |= p[i + 1];
		sum += w;
	}
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* True if the IPv4 header at @ip sums to 0xffff (checksum valid). */
static int ref_ip4_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(0, ip, (ip[0] & 0xf) * 4u)) == 0xffff;
}

/* True if the L4 segment at @l4 (@len bytes) verifies with a pseudo-header. */
static int ref_l4_ok(const uint8_t *ip, int v6, uint8_t proto,
		     const uint8_t *l4, uint32_t len)
{
	uint32_t sum;

	if (v6)
		sum = ref_sum(0, ip + 8, 32);
	else
		sum = ref_sum(0, ip + 12, 8);
	sum += proto + (len >> 16) + (len & 0xffff);
	return ref_fold(ref_sum(sum, l4, len)) == 0xffff;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

/* ---- frame builders ---- */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 + L4 header of @l4len bytes + @plen payload bytes. */
static size_t build_v4(uint8_t *f, uint8_t proto, size_t l4len, size_t plen)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 },
			     src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	const struct nff_l4 h = {
		.dst = dst, .src = src, .saddr = a, .daddr = b, .ip_len = true,
		.ip_id = 0x1234, .df = true, .ttl = 64, .proto = proto,
		.sport = 40000, .dport = 5201, .l4len = (uint8_t)l4len,
		.seq = 0x10203040, .flags = 0x10, .window = 64240,
		.payload = plen, .mul = 7, .add = 3,
	};

	return nff_ip4(f, &h);
}

static size_t build_v6(uint8_t *f, uint8_t proto, size_t l4len, size_t plen)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 },
			     src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t a[16] = { 0xfd, [15] = 1 },
			     b[16] = { 0xfd, [15] = 2 };
	const struct nff_l4 h = {
		.dst = dst, .src = src, .saddr = a, .daddr = b, .ip_len = true,
		.ttl = 64, .proto = proto, .sport = 40000, .dport = 5201,
		.l4len = (uint8_t)l4len, .seq = 0xffffff00, /* wraps */
		.flags = 0x10, .payload = plen, .mul = 13, .add = 1,
	};

	return nff_ip6(f, &h);
}

/* ---- parsing ---- */

static void test_parse(void **state)
{
	uint8_t f[200];
	struct ovb_net_hdrs h;
	size_t n = build_v4(f, 6, 32, 10);

	assert_int_equal(ovb_offload_parse(f, 13, &h), -EBADMSG);
	assert_int_equal(ovb_offload_parse(f, n, &h), 0);
	assert_int_equal(h.ip_version, 4);
	assert_int_equal(h.l3_off, 14);
	assert_int_equal(h.l4_off, 34);
	assert_int_equal(h.payload_off, 66);
	assert_int_equal(h.l3_end, n);
	f[14 + 6] = 0x20; /* more fragments */
	assert_int_equal(ovb_offload_parse(f, n, &h), 0);
	assert_int_equal(h.l4_off, 0);

	/* IPv6 with an 8-byte hop-by-hop header before UDP. */
	n = build_v6(f, 0, 16, 4);
	f[54 + 0] = 17; /* next header: UDP */
	f[54 + 1] = 0;  /* (0 + 1) * 8 bytes */
	memset(f + 56, 0, 6);
	assert_int_equal(ovb_offload_parse(f, n, &h), 0);
	assert_int_equal(h.ip_version, 6);
	assert_int_equal(h.l4_proto, 17);
	assert_int_equal(h.l4_off, 62);
	assert_int_equal(h.payload_off, 70);

	/* Truncated TCP header: no L4. */
	n = build_v4(f, 6, 20, 0);
	assert_int_equal(ovb_offload_parse(f, n - 4, &h), 0);
	assert_int_equal(h.l4_off, 0);
}

/* ---- checksums ---- */

static void test_ip4_header_golden(void **state)
{
	/* The classic example header; its checksum is 0xb861. */
	uint8_t f[34] = { [12] = 0x08, [13] = 0x00 };
	static const uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x14, 0x00, 0x00,
					0x40, 0x00, 0x40, 0x11, 0xff, 0xff,
					0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
					0x00, 0xc7 };
	struct ovb_net_meta m = { .flags = OVB_NET_META_IP4_CSUM };

	memcpy(f + 14, ip, 20);
	f[16] = 0x00;
	f[17] = 0x73; /* total length 115, longer than the frame */
	assert_int_equal(ovb_offload_csum(f, sizeof(f), &m), 0);
	assert_int_equal(be16(f + 24), 0xb861);
	assert_int_equal(m.flags, 0);
}

static void test_tcp4_csum(void **state)
{
	uint8_t f[2000];
	size_t n = build_v4(f, 6, 20, 1001); /* odd payload */
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM,
		.csum_start = 34,
		.csum_offset = 16,
	};

	f[50] = 0xde; /* garbage seed */
	f[51] = 0xad;
	assert_int_equal(ovb_offload_csum(f, n, &m), 0);
	assert_true(ref_ip4_ok(f + 14));
	assert_true(ref_l4_ok(f + 14, 0, 6, f + 34, n - 34));
	f[100] ^= 1;
	assert_false(ref_l4_ok(f + 14, 0, 6, f + 34, n - 34));
}

static void test_udp6_csum_and_padding(void **state)
{
	uint8_t f[2000];
	size_t n = build_v6(f, 17, 8, 333);
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL,
		.csum_start = 54,
		.csum_offset = 6,
	};

	/* Trailing bytes beyond the IPv6 payload length must be ignored. */
	memset(f + n, 0xee, 16);
	assert_int_equal(ovb_offload_csum(f, n + 16, &m), 0);
	assert_true(ref_l4_ok(f + 14, 1, 17, f + 54, n - 54));
	assert_int_not_equal(be16(f + 60), 0);
}

static void test_vlan_tagged_csum(void **state)
{
	uint8_t f[300], t[304];
	size_t n = build_v4(f, 17, 8, 100);
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM,
		.csum_start = 38,
		.csum_offset = 6,
	};

	assert_int_equal(ovb_offload_vlan_insert(f, n, 0x2064, t, sizeof(t)),
			 n + 4);
	assert_int_equal(be16(t + 12), 0x8100);
	assert_int_equal(be16(t + 14), 0x2064);
	assert_memory_equal(t + 16, f + 12, n - 12);
	assert_int_equal(ovb_offload_csum(t, n + 4, &m), 0);
	assert_true(ref_ip4_ok(t + 18));
	assert_true(ref_l4_ok(t + 18, 0, 17, t + 38, n - 34));
	assert_int_equal(ovb_offload_vlan_insert(f, n, 1, t, n + 3), -EMSGSIZE);
	assert_int_equal(ovb_offload_vlan_insert(f, 10, 1, t, 100), -EBADMSG);
}

static void test_generic_virtio_csum(void **state)
{
	uint8_t f[200] = { [12] = 0x88, [13] = 0xb5 };
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL,
		.csum_start = 20,
		.csum_offset = 4,
	};
	uint32_t sum;

	for (int i = 14; i < 100; i++)
		f[i] = (uint8_t)i;
	f[24] = 0x12; /* seed */
	f[25] = 0x34;
	sum = ref_sum(0, f + 20, 80);
	assert_int_equal(ovb_offload_csum(f, 100, &m), 0);
	assert_int_equal(be16(f + 24), (uint16_t)~ref_fold(sum));
	/* The seed stays part of the sum: data + seed + result == 0xffff. */
	assert_int_equal(ref_fold(ref_sum(0x1234, f + 20, 80)), 0xffff);

	m.flags = OVB_NET_META_CSUM_PARTIAL;
	m.csum_offset = 79;
	assert_int_equal(ovb_offload_csum(f, 100, &m), -EBADMSG);
	m.flags = OVB_NET_META_IP4_CSUM;
	assert_int_equal(ovb_offload_csum(f, 100, &m), -EBADMSG);
	assert_int_equal(ovb_offload_csum(NULL, 100, &m), -EINVAL);
}

/* ---- segmentation ---- */

struct segs {
	uint8_t *payload;
	size_t payload_len;
	unsigned int n;
	int v6;
	size_t hdr;
	uint32_t seq0;
	uint16_t id0;
	uint16_t mss;
	int fail_at;
};

static int seg_check(void *ctx, const void *seg, size_t len)
{
	struct segs *s = ctx;
	const uint8_t *p = seg, *ip = p + 14, *tcp = ip + (s->v6 ? 40 : 20);
	size_t plen = len - s->hdr;

	if ((int)s->n == s->fail_at)
		return -EIO;
	assert_true(plen <= s->mss);
	if (s->v6) {
		assert_int_equal(be16(ip + 4), len - 54);
	} else {
		assert_int_equal(be16(ip + 2), len - 14);
		assert_int_equal(be16(ip + 4), (uint16_t)(s->id0 + s->n));
		assert_true(ref_ip4_ok(ip));
	}
	assert_true(ref_l4_ok(ip, s->v6, 6, tcp, len - (tcp - p)));
	assert_int_equal(be32(tcp + 4), s->seq0 + (uint32_t)s->payload_len);
	memcpy(s->payload + s->payload_len, p + s->hdr, plen);
	s->payload_len += plen;
	s->n++;
	return 0;
}

static void run_tso(int v6, size_t l4len, size_t plen, uint16_t mss)
{
	size_t cap = 14 + 40 + l4len + plen;
	uint8_t *f = malloc(cap);
	struct segs s = { .v6 = v6, .mss = mss, .fail_at = -1 };
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL,
		.gso_type = v6 ? OVB_NET_GSO_TCPV6 : OVB_NET_GSO_TCPV4,
		.gso_size = mss,
	};
	size_t n = v6 ? build_v6(f, 6, l4len, plen) : build_v4(f, 6, l4len,
								 plen);
	unsigned int want = (unsigned int)((plen + mss - 1) / mss);

	s.hdr = n - plen;
	s.payload = malloc(plen + 1);
	s.seq0 = be32(f + s.hdr - l4len + 4);
	s.id0 = v6 ? 0 : be16(f + 18);
	f[s.hdr - l4len + 13] = 0x10 | 0x08 | 0x01 | 0x80; /* ACK PSH FIN CWR */
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_check, &s), want);
	assert_int_equal(s.n, want);
	assert_int_equal(s.payload_len, plen);
	assert_memory_equal(s.payload, f + s.hdr, plen);
	free(s.payload);
	free(f);
}

/* Flags per segment: FIN/PSH on the last only, CWR on the first only. */
static int seg_flags(void *ctx, const void *seg, size_t len)
{
	uint8_t *flags = ctx;
	const uint8_t *p = seg;

	flags[flags[0] + 1] = p[14 + 20 + 13];
	flags[0]++;
	return 0;
}

static void test_tso_v4_64k(void **state)
{
	/* 65535-byte datagram with a 32-byte TCP header (timestamps). */
	run_tso(0, 32, 65535 - 20 - 32, 1448);
}

static void test_tso_v6_64k(void **state)
{
	run_tso(1, 20, 65536 - 20, 1440);
	run_tso(1, 20, 1000, 1440); /* one segment */
}

static void test_tso_flags(void **state)
{
	uint8_t f[5000], flags[8] = { 0 };
	size_t n = build_v4(f, 6, 20, 3000);
	struct ovb_net_meta m = { .gso_type = OVB_NET_GSO_TCPV4,
				  .gso_size = 1000 };

	f[47] = 0x10 | 0x08 | 0x01 | 0x80;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_flags, flags), 3);
	assert_int_equal(flags[0], 3);
	assert_int_equal(flags[1], 0x90); /* ACK CWR */
	assert_int_equal(flags[2], 0x10); /* ACK */
	assert_int_equal(flags[3], 0x19); /* ACK PSH FIN */
}

static void test_tso_errors(void **state)
{
	uint8_t f[5000];
	size_t n = build_v4(f, 6, 20, 3000);
	struct segs s = { .mss = 1000, .hdr = 54, .fail_at = 1 };
	struct ovb_net_meta m = { .gso_type = OVB_NET_GSO_TCPV4,
				  .gso_size = 1000 };

	s.payload = malloc(4000);
	s.seq0 = be32(f + 38);
	s.id0 = 0x1234;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_check, &s), -EIO);
	assert_int_equal(s.n, 1);
	free(s.payload);

	m.gso_size = OVB_OFFLOAD_MIN_MSS - 1;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_flags, f), -EBADMSG);
	m.gso_size = 1000;
	m.gso_type = OVB_NET_GSO_TCPV6;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_flags, f), -EBADMSG);
	m.gso_type = OVB_NET_GSO_NONE;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_flags, f), -EINVAL);
	n = build_v4(f, 17, 8, 3000);
	m.gso_type = OVB_NET_GSO_TCPV4;
	assert_int_equal(ovb_offload_tso(f, n, &m, seg_flags, f), -EBADMSG);
}

/* ---- NDIS <-> Linux/virtio offload conventions ---- */

/* Folded pseudo-header sum for @l4len bytes, as a big-endian value. */
static uint16_t ref_pseudo(const uint8_t *ip, int v6, uint8_t proto,
			   uint32_t l4len)
{
	uint32_t sum = v6 ? ref_sum(0, ip + 8, 32) : ref_sum(0, ip + 12, 8);

	return ref_fold(sum + proto + (l4len >> 16) + (l4len & 0xffff));
}

/* What a virtio device does with a seeded field: sum and complement. */
static void virtio_complete(uint8_t *l4, uint32_t len, size_t field)
{
	uint16_t c = (uint16_t)~ref_fold(ref_sum(0, l4, len));

	put16(l4 + field, c);
}

static void test_ndis_lso_roundtrip_v4(void **state)
{
	static uint8_t f[4000];
	size_t n = build_v4(f, 6, 20, 3000);
	struct ovb_net_meta m = { .gso_type = OVB_NET_GSO_TCPV4,
				  .gso_size = 1000 };

	/* What Linux netvsc sends: lengths and IP checksum zeroed, TCP
	 * seeded without the length. */
	assert_int_equal(ovb_offload_ndis_lso(f, n, &m), 0);
	assert_int_equal(be16(f + 16), 0);
	assert_int_equal(be16(f + 24), 0);
	assert_int_equal(be16(f + 50), ref_pseudo(f + 14, 0, 6, 0));

	assert_int_equal(ovb_offload_canonicalize(f, n, &m), 0);
	assert_int_equal(be16(f + 16), 3040);
	assert_true(ref_ip4_ok(f + 14));
	assert_int_equal(be16(f + 50), ref_pseudo(f + 14, 0, 6, 3020));
	assert_int_equal(m.flags, OVB_NET_META_CSUM_PARTIAL);
	assert_int_equal(m.csum_start, 34);
	assert_int_equal(m.csum_offset, 16);
	assert_int_equal(m.hdr_len, 54);
	/* A virtio device finishing the seeded sum gets a valid checksum. */
	virtio_complete(f + 34, 3020, 16);
	assert_true(ref_l4_ok(f + 14, 0, 6, f + 34, 3020));
}

static void test_ndis_lso_roundtrip_v6(void **state)
{
	static uint8_t f[4000];
	size_t n = build_v6(f, 6, 20, 2000);
	struct ovb_net_meta m = { .gso_type = OVB_NET_GSO_TCPV6,
				  .gso_size = 1000 };

	assert_int_equal(ovb_offload_ndis_lso(f, n, &m), 0);
	assert_int_equal(be16(f + 18), 0);
	assert_int_equal(ovb_offload_canonicalize(f, n, &m), 0);
	assert_int_equal(be16(f + 18), 2020);
	assert_int_equal(be16(f + 70), ref_pseudo(f + 14, 1, 6, 2020));
	virtio_complete(f + 54, 2020, 16);
	assert_true(ref_l4_ok(f + 14, 1, 6, f + 54, 2020));
}

/*
 * Headers held apart from the payload (netvsc's coalesced frames in
 * place) come out as ovb_offload_canonicalize() makes the whole frame,
 * whatever lengths the copy held, and the payload is never read.
 */
static void tso_headers(int v6)
{
	static uint8_t whole[70000], hdr[128];
	size_t n = v6 ? build_v6(whole, 6, 32, 60000)
		      : build_v4(whole, 6, 32, 60000);
	size_t hlen = 14 + (v6 ? 40 : 20) + 32;
	struct ovb_net_meta mw = { .gso_type = v6 ? OVB_NET_GSO_TCPV6
						  : OVB_NET_GSO_TCPV4,
				   .gso_size = 1448,
				   .flags = OVB_NET_META_CSUM_VALID };
	struct ovb_net_meta mh = mw;

	/* The copy: headers only, lengths as a host might leave them. */
	memcpy(hdr, whole, hlen);
	put16(hdr + (v6 ? 18 : 16), 77);
	assert_int_equal(ovb_offload_canonicalize(whole, n, &mw), 0);
	assert_int_equal(ovb_offload_tso_headers(hdr, hlen, n, &mh), 0);
	assert_memory_equal(hdr, whole, hlen);
	assert_memory_equal(&mh, &mw, sizeof(mh));
	if (!v6)
		assert_true(ref_ip4_ok(hdr + 14));
	assert_int_equal(be16(hdr + (v6 ? 18 : 16)),
			 v6 ? n - 54 : n - 14);

	/* Errors: a header past the copy, not TSO, a copy longer than the
	 * frame, a datagram too long for IPv4. */
	mh = (struct ovb_net_meta){ .gso_type = mw.gso_type };
	assert_int_equal(ovb_offload_tso_headers(hdr, hlen - 1, n, &mh),
			 -EBADMSG);
	mh.gso_type = OVB_NET_GSO_NONE;
	assert_int_equal(ovb_offload_tso_headers(hdr, hlen, n, &mh), -EINVAL);
	mh.gso_type = v6 ? OVB_NET_GSO_TCPV4 : OVB_NET_GSO_TCPV6;
	assert_int_equal(ovb_offload_tso_headers(hdr, hlen, n, &mh),
			 -EBADMSG);
	mh.gso_type = mw.gso_type;
	assert_int_equal(ovb_offload_tso_headers(hdr, hlen, hlen - 1, &mh),
			 -EINVAL);
	if (!v6)
		assert_int_equal(ovb_offload_tso_headers(hdr, hlen, 14 + 65536,
							 &mh), -EBADMSG);
}

static void test_tso_headers(void **state)
{
	tso_headers(0);
	tso_headers(1);
}

static void test_canonicalize_csum_and_errors(void **state)
{
	uint8_t f[400];
	size_t n = build_v4(f, 17, 8, 101);
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM,
		.csum_start = 34, .csum_offset = 6,
	};

	f[40] = 0x5a; /* garbage in the UDP checksum field */
	assert_int_equal(ovb_offload_canonicalize(f, n, &m), 0);
	assert_true(ref_ip4_ok(f + 14));
	assert_int_equal(m.flags, OVB_NET_META_CSUM_PARTIAL);
	assert_int_equal(be16(f + 40), ref_pseudo(f + 14, 0, 17, 109));
	virtio_complete(f + 34, 109, 6);
	assert_true(ref_l4_ok(f + 14, 0, 17, f + 34, 109));

	m.csum_start = 30;
	assert_int_equal(ovb_offload_canonicalize(f, n, &m), -EBADMSG);
	m = (struct ovb_net_meta){ .gso_type = OVB_NET_GSO_TCPV6,
				   .gso_size = 1000 };
	n = build_v4(f, 6, 20, 300);
	assert_int_equal(ovb_offload_canonicalize(f, n, &m), -EBADMSG);
	assert_int_equal(ovb_offload_ndis_lso(f, n, &m), -EBADMSG);
	m.gso_type = OVB_NET_GSO_NONE;
	assert_int_equal(ovb_offload_ndis_lso(f, n, &m), -EINVAL);
	assert_int_equal(ovb_offload_canonicalize(f, n, &m), 0); /* no-op */
	assert_int_equal(ovb_offload_canonicalize(NULL, n, &m), -EINVAL);
}

/* ---- virtio-net header ---- */

static void test_virtio_mapping(void **state)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
		.hdr_len = 74,
		.gso_size = 1440,
		.csum_start = 54,
		.csum_offset = 16,
	}, out;
	struct ovb_net_meta m;

	assert_int_equal(ovb_offload_from_virtio(&vh, &m), 0);
	assert_int_equal(m.flags, OVB_NET_META_CSUM_PARTIAL);
	assert_int_equal(m.gso_type, OVB_NET_GSO_TCPV6);
	assert_int_equal(m.gso_size, 1440);
	assert_int_equal(m.hdr_len, 74);
	assert_int_equal(m.csum_start, 54);
	assert_int_equal(m.csum_offset, 16);
	ovb_offload_to_virtio(&m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(out.gso_size, 1440);
	assert_int_equal(out.csum_start, 54);

	vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	assert_int_equal(ovb_offload_from_virtio(&vh, &m), 0);
	assert_int_equal(m.flags, OVB_NET_META_CSUM_VALID);
	assert_int_equal(m.gso_size, 0);
	ovb_offload_to_virtio(&m, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(out.gso_type, 0);

	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(ovb_offload_from_virtio(&vh, &m), -EOPNOTSUPP);
	m = (struct ovb_net_meta){ .gso_type = OVB_NET_GSO_TCPV4,
				   .gso_size = 1448, .hdr_len = 66 };
	ovb_offload_to_virtio(&m, &out);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.hdr_len, 66);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_ip4_header_golden),
		cmocka_unit_test(test_tcp4_csum),
		cmocka_unit_test(test_udp6_csum_and_padding),
		cmocka_unit_test(test_vlan_tagged_csum),
		cmocka_unit_test(test_generic_virtio_csum),
		cmocka_unit_test(test_tso_v4_64k),
		cmocka_unit_test(test_tso_v6_64k),
		cmocka_unit_test(test_tso_flags),
		cmocka_unit_test(test_tso_errors),
		cmocka_unit_test(test_ndis_lso_roundtrip_v4),
		cmocka_unit_test(test_ndis_lso_roundtrip_v6),
		cmocka_unit_test(test_canonicalize_csum_and_errors),
		cmocka_unit_test(test_tso_headers),
		cmocka_unit_test(test_virtio_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
