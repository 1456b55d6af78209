// SPDX-License-Identifier: MIT
/*
 * Unit tests: the Toeplitz hash against Microsoft's RSS verification suite
 * (the well-known key and its published IPv4/IPv6 results), hashing of
 * whole frames by NDIS hash type, and the indirection-table helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "net/toeplitz.h"
#include "openvmbus/wire/rndis.h"
#include "tests/lib/net-frame-fx.h"

static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct vec {
	const char *dst;
	uint16_t dport;
	const char *src;
	uint16_t sport;
	uint32_t l3;
	uint32_t l4;
};

/* "Verifying the RSS Hash Calculation": destination, source, IP, IP+TCP. */
static const struct vec v4[] = {
	{ "161.142.100.80", 1766, "66.9.149.187", 2794,
	  0x323e8fc2, 0x51ccc178 },
	{ "65.69.140.83", 4739, "199.92.111.2", 14230,
	  0xd718262a, 0xc626b0ea },
	{ "12.22.207.184", 38024, "24.19.198.95", 12898,
	  0xd2d0a5de, 0x5c2b394a },
	{ "209.142.163.6", 2217, "38.27.205.30", 48228,
	  0x82989176, 0xafc7327f },
	{ "202.188.127.2", 1303, "153.39.163.191", 44251,
	  0x5d1809c5, 0x10e828a2 },
};

static const struct vec v6[] = {
	{ "3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794,
	  0x2cc18cd5, 0x40207d3d },
	{ "ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230,
	  0x0f0c461c, 0xdde51bbf },
	{ "fe80::200:f8ff:fe21:67cf", 38024,
	  "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251,
	  0x4b61e985, 0x02d1feef },
};

static void test_ipv4_suite(void **state)
{
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uint8_t s[4], d[4];

		assert_int_equal(inet_pton(AF_INET, v4[i].src, s), 1);
		assert_int_equal(inet_pton(AF_INET, v4[i].dst, d), 1);
		assert_int_equal(ovb_toeplitz_ipv4(ms_key, s, d, v4[i].sport,
						   v4[i].dport, false),
				 v4[i].l3);
		assert_int_equal(ovb_toeplitz_ipv4(ms_key, s, d, v4[i].sport,
						   v4[i].dport, true),
				 v4[i].l4);
	}
}

static void test_ipv6_suite(void **state)
{
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		uint8_t s[16], d[16];

		assert_int_equal(inet_pton(AF_INET6, v6[i].src, s), 1);
		assert_int_equal(inet_pton(AF_INET6, v6[i].dst, d), 1);
		assert_int_equal(ovb_toeplitz_ipv6(ms_key, s, d, v6[i].sport,
						   v6[i].dport, false),
				 v6[i].l3);
		assert_int_equal(ovb_toeplitz_ipv6(ms_key, s, d, v6[i].sport,
						   v6[i].dport, true),
				 v6[i].l4);
	}
}

static void test_raw_input_limits(void **state)
{
	uint8_t in[40] = { 0 };

	/* Zero input hashes to zero; bytes past 36 are ignored. */
	assert_int_equal(ovb_toeplitz_hash(ms_key, in, 36), 0);
	in[0] = 0x80; /* the first bit selects the first 32 key bits */
	assert_int_equal(ovb_toeplitz_hash(ms_key, in, 1), 0x6d5a56da);
	in[0] = 0;
	in[38] = 0xff;
	assert_int_equal(ovb_toeplitz_hash(ms_key, in, 40), 0);
}

/* Build Ethernet + IPv4 + TCP/UDP for the first IPv4 vector. */
static size_t make_v4_frame(uint8_t *f, uint8_t proto)
{
	uint8_t a[4], b[4];
	struct nff_l4 h = { .saddr = a, .daddr = b, .ip_len = true,
			    .proto = 6, .sport = 2794, .dport = 1766 };
	size_t len;

	inet_pton(AF_INET, "66.9.149.187", a);
	inet_pton(AF_INET, "161.142.100.80", b);
	len = nff_ip4(f, &h);
	f[23] = proto; /* the TCP layout under @proto: the hash reads ports */
	return len;
}

static void test_frame_types(void **state)
{
	uint8_t f[64];
	uint32_t h = 0, t = 0;
	size_t n = make_v4_frame(f, 6);

	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_TCP_IPV4 |
					    NDIS_HASH_IPV4, f, n, &h, &t), 0);
	assert_int_equal(h, 0x51ccc178);
	assert_int_equal(t, NDIS_HASH_TCP_IPV4);
	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_IPV4, f, n, &h,
					    &t), 0);
	assert_int_equal(h, 0x323e8fc2);
	assert_int_equal(t, NDIS_HASH_IPV4);
	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_TCP_IPV6, f, n,
					    &h, &t), -ENOENT);

	n = make_v4_frame(f, 17);
	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_UDP_IPV4 |
					    NDIS_HASH_TCP_IPV4, f, n, &h, &t),
			 0);
	assert_int_equal(h, 0x51ccc178);
	assert_int_equal(t, NDIS_HASH_UDP_IPV4);

	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	assert_int_equal(ovb_toeplitz_frame(ms_key, ~0u, f, n, &h, &t),
			 -ENOENT);
}

static void test_frame_ipv6(void **state)
{
	uint8_t f[80] = { 0 }, a[16], b[16];
	struct nff_l4 fh = { .saddr = a, .daddr = b, .ip_len = true,
			     .proto = 6, .sport = v6[0].sport,
			     .dport = v6[0].dport };
	uint32_t h = 0, t = 0;
	size_t n;

	inet_pton(AF_INET6, v6[0].src, a);
	inet_pton(AF_INET6, v6[0].dst, b);
	n = nff_ip6(f, &fh); /* 74 bytes */
	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_TCP_IPV6, f, n,
					    &h, &t), 0);
	assert_int_equal(h, v6[0].l4);
	assert_int_equal(ovb_toeplitz_frame(ms_key, NDIS_HASH_IPV6, f, n, &h,
					    &t), 0);
	assert_int_equal(h, v6[0].l3);
}

static void test_indirection(void **state)
{
	uint32_t table[OVB_TOEPLITZ_TABLE_SIZE];

	ovb_toeplitz_table_init(table, OVB_TOEPLITZ_TABLE_SIZE, 3);
	assert_int_equal(table[0], 0);
	assert_int_equal(table[4], 1);
	assert_int_equal(table[127], 1);
	/* NDIS uses the low 7 bits of the hash. */
	assert_int_equal(ovb_toeplitz_lookup(table, 128, 0x51ccc178),
			 table[0x78]);
	assert_int_equal(ovb_toeplitz_lookup(table, 128, 0xffffff80), 0);
	assert_int_equal(ovb_toeplitz_lookup(table, 0, 5), 0);
	ovb_toeplitz_table_init(table, 16, 0);
	assert_int_equal(table[15], 0);
}

/* The object Linux's rndis_set_rss_param_msg() sends. */
static size_t linux_rss_params(uint8_t *b)
{
	struct ndis_rss_params rp = {
		.header = { NDIS_OBJECT_TYPE_RSS_PARAMETERS,
			    NDIS_RSS_PARAMS_REVISION_2, 40 },
		.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 |
			     NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 |
			     NDIS_HASH_TCP_IPV6,
		.indirect_tabsize = 4 * 128,
		.indirect_taboffset = 40,
		.hashkey_size = 40,
		.hashkey_offset = 40 + 512,
	};

	memcpy(b, &rp, sizeof(rp));
	for (uint32_t i = 0; i < 128; i++) {
		uint32_t q = i % 4;

		memcpy(b + 40 + 4 * i, &q, 4);
	}
	memcpy(b + 552, ms_key, 40);
	return 592;
}

static void test_rss_params(void **state)
{
	static uint8_t b[700];
	struct ovb_rss_config c;
	size_t n = linux_rss_params(b);
	struct ndis_rss_params *rp = (struct ndis_rss_params *)b;

	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), 0);
	assert_int_equal(c.table_entries, 128);
	assert_int_equal(c.table[5], 1);
	assert_int_equal(c.table[127], 3);
	assert_int_equal(c.key_len, 40);
	assert_memory_equal(c.key, ms_key, 40);
	assert_int_equal(c.hash_info & NDIS_HASH_FUNCTION_MASK,
			 NDIS_HASH_FUNCTION_TOEPLITZ);
	assert_int_equal(ovb_toeplitz_rss_parse(b, n - 1, &c), -EBADMSG);

	/* Unchanged parts are not read, even if their offsets are junk. */
	rp->flags = NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED |
		    NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED;
	rp->indirect_taboffset = 0xfffffff0;
	rp->hashkey_offset = 0xfffffff0;
	assert_int_equal(ovb_toeplitz_rss_parse(b, 40, &c), 0);
	assert_int_equal(c.table_entries, 0);
	assert_int_equal(c.key_len, 0);
	rp->flags = 0;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);

	n = linux_rss_params(b);
	rp->indirect_taboffset = 8; /* inside the fixed fields */
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);
	n = linux_rss_params(b);
	rp->indirect_tabsize = 4 * 129;
	assert_int_equal(ovb_toeplitz_rss_parse(b, 700, &c), -EBADMSG);
	rp->indirect_tabsize = 4 * 96; /* not a power of two */
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);
	rp->indirect_tabsize = 4 * 64 + 2;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);
	n = linux_rss_params(b);
	rp->hashkey_size = 20;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EOPNOTSUPP);
	n = linux_rss_params(b);
	rp->hash_info = (rp->hash_info & ~0xffu) | 2;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EOPNOTSUPP);
	n = linux_rss_params(b);
	rp->header.type = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);
	n = linux_rss_params(b);
	rp->header.size = 39;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), -EBADMSG);
	rp->header.size = 40;
	assert_int_equal(ovb_toeplitz_rss_parse(b, 39, &c), -EBADMSG);
	/* Revision 1: 28-byte object, 1-byte table entries. */
	n = linux_rss_params(b);
	rp->header.revision = 1;
	rp->header.size = 28;
	rp->indirect_tabsize = 16;
	rp->flags = NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), 0);
	assert_int_equal(c.table_entries, 16);
	assert_int_equal(c.table[4], 1); /* byte 44 = low byte of entry 1 */
	rp->flags = NDIS_RSS_PARAM_FLAG_DISABLE_RSS;
	assert_int_equal(ovb_toeplitz_rss_parse(b, n, &c), 0);
	assert_int_equal(c.flags, NDIS_RSS_PARAM_FLAG_DISABLE_RSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_suite),
		cmocka_unit_test(test_ipv6_suite),
		cmocka_unit_test(test_raw_input_limits),
		cmocka_unit_test(test_frame_types),
		cmocka_unit_test(test_frame_ipv6),
		cmocka_unit_test(test_indirection),
		cmocka_unit_test(test_rss_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
