// SPDX-License-Identifier: MIT
/*
 * Unit tests: the RNDIS codec.  Every control request and completion is
 * built and compared with golden bytes written from wire/rndis.h, then
 * parsed back; PACKET messages are built and parsed with every PPI, and
 * the validators are fed malformed areas and PPI records (size 0, offsets
 * past the end, overlaps, 32-bit wrap-around).  Also the PPI <-> metadata
 * translation in both directions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/rndis.h"
#include "tests/lib/net-frame-fx.h"

#define LE16(x) (uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff)
#define LE32(x) LE16((x) & 0xffff), LE16(((x) >> 16) & 0xffff)

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Build @m, compare with @gold, parse it back into @back. */
static void ctl_roundtrip(const struct ovb_rndis_msg *m, const uint8_t *gold,
			  size_t n, struct ovb_rndis_msg *back)
{
	uint8_t buf[256];

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ovb_rndis_build(buf, sizeof(buf), m), n);
	assert_memory_equal(buf, gold, n);
	assert_int_equal(ovb_rndis_parse(buf, n, back), 0);
	assert_int_equal(back->type, m->type);
	assert_int_equal(back->len, n);
	assert_int_equal(back->request_id, m->request_id);
	assert_int_equal(back->status, m->status);
	assert_int_equal(back->info_len, m->info_len);
	if (m->info_len)
		assert_memory_equal(back->info, m->info, m->info_len);
	assert_int_equal(ovb_rndis_build(buf, n - 1, m), -EMSGSIZE);
}

static void test_init(void **state)
{
	static const uint8_t g[] = { LE32(2), LE32(24), LE32(1), LE32(1),
				     LE32(0), LE32(0x4000) };
	static const uint8_t gc[] = { LE32(0x80000002), LE32(52), LE32(1),
				      LE32(0), LE32(1), LE32(0), LE32(1),
				      LE32(0), LE32(8), LE32(0x4000),
				      LE32(3), LE32(0), LE32(0) };
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_INIT, .request_id = 1,
				   .u.init = { 1, 0, 0x4000 } }, b;

	ctl_roundtrip(&m, g, sizeof(g), &b);
	assert_int_equal(b.u.init.max_transfer_size, 0x4000);
	m = (struct ovb_rndis_msg){
		.type = RNDIS_MSG_INIT_C, .request_id = 1,
		.status = RNDIS_STATUS_SUCCESS,
		.u.init_c = { 1, 0, RNDIS_DF_CONNECTIONLESS, RNDIS_MEDIUM_802_3,
			      8, 0x4000, 3 },
	};
	ctl_roundtrip(&m, gc, sizeof(gc), &b);
	assert_int_equal(b.u.init_c.max_packets, 8);
	assert_int_equal(b.u.init_c.align_factor, 3);
}

static void test_query_set(void **state)
{
	static const uint8_t q[] = { LE32(4), LE32(28), LE32(2),
				     LE32(0x01010101), LE32(0), LE32(20),
				     LE32(0) };
	static const uint8_t qc[] = { LE32(0x80000004), LE32(30), LE32(2),
				      LE32(0), LE32(6), LE32(16), 0x00, 0x15,
				      0x5d, 0x01, 0x02, 0x03 };
	static const uint8_t s[] = { LE32(5), LE32(32), LE32(4),
				     LE32(0x0001010e), LE32(4), LE32(20),
				     LE32(0), LE32(0x0b) };
	static const uint8_t sc[] = { LE32(0x80000005), LE32(16), LE32(4),
				      LE32(0xc00000bb) };
	static const uint8_t mac[6] = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 };
	static const uint8_t filter[4] = { LE32(0x0b) };
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_QUERY, .request_id = 2,
				   .oid = OID_802_3_PERMANENT_ADDRESS }, b;

	ctl_roundtrip(&m, q, sizeof(q), &b);
	assert_int_equal(b.oid, OID_802_3_PERMANENT_ADDRESS);
	assert_null(b.info);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_QUERY_C, .request_id = 2,
				    .info = mac, .info_len = 6 };
	ctl_roundtrip(&m, qc, sizeof(qc), &b);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_SET, .request_id = 4,
				    .oid = OID_GEN_CURRENT_PACKET_FILTER,
				    .info = filter, .info_len = 4 };
	ctl_roundtrip(&m, s, sizeof(s), &b);
	assert_int_equal(b.oid, OID_GEN_CURRENT_PACKET_FILTER);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_SET_C, .request_id = 4,
				    .status = RNDIS_STATUS_NOT_SUPPORTED };
	ctl_roundtrip(&m, sc, sizeof(sc), &b);
}

static void test_reset_halt_keepalive_indicate(void **state)
{
	static const uint8_t rst[] = { LE32(6), LE32(12), LE32(0) };
	static const uint8_t rstc[] = { LE32(0x80000006), LE32(16), LE32(0),
					LE32(1) };
	static const uint8_t halt[] = { LE32(3), LE32(12), LE32(7) };
	static const uint8_t ka[] = { LE32(8), LE32(12), LE32(9) };
	static const uint8_t kac[] = { LE32(0x80000008), LE32(16), LE32(9),
				       LE32(0) };
	static const uint8_t ind[] = { LE32(7), LE32(20), LE32(0x4001000b),
				       LE32(0), LE32(12) };
	static const uint8_t spd[] = { LE32(7), LE32(24), LE32(0x40010013),
				       LE32(4), LE32(12), LE32(100000000) };
	static const uint8_t speed[4] = { LE32(100000000) };
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_RESET }, b;

	ctl_roundtrip(&m, rst, sizeof(rst), &b);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_RESET_C,
				    .u.reset_c.addressing_reset = 1 };
	ctl_roundtrip(&m, rstc, sizeof(rstc), &b);
	assert_int_equal(b.u.reset_c.addressing_reset, 1);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_HALT, .request_id = 7 };
	ctl_roundtrip(&m, halt, sizeof(halt), &b);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_KEEPALIVE,
				    .request_id = 9 };
	ctl_roundtrip(&m, ka, sizeof(ka), &b);
	m.type = RNDIS_MSG_KEEPALIVE_C;
	ctl_roundtrip(&m, kac, sizeof(kac), &b);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_INDICATE,
				    .status = RNDIS_STATUS_MEDIA_CONNECT };
	ctl_roundtrip(&m, ind, sizeof(ind), &b);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_INDICATE,
				    .status = RNDIS_STATUS_LINK_SPEED_CHANGE,
				    .info = speed, .info_len = 4 };
	ctl_roundtrip(&m, spd, sizeof(spd), &b);
}

static void test_ctl_malformed(void **state)
{
	uint8_t q[36] = { LE32(4), LE32(32), LE32(2), LE32(0x01010101),
			  LE32(4), LE32(20), LE32(0), LE32(0) };
	struct ovb_rndis_msg m;

	assert_int_equal(ovb_rndis_parse(q, 7, &m), -EBADMSG);
	assert_int_equal(ovb_rndis_parse(q, 31, &m), -EBADMSG); /* > buffer */
	assert_int_equal(ovb_rndis_parse(q, 32, &m), 0);
	put32(q + 4, 27); /* below QUERY's 28 */
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q + 4, 32);
	put32(q + 20, 8); /* info inside the fixed fields */
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q + 20, 21); /* info runs one byte past msg_len */
	assert_int_equal(ovb_rndis_parse(q, 36, &m), -EBADMSG);
	put32(q + 20, 0xfffffff8); /* 8 + offset wraps in 32 bits */
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q + 20, 20);
	put32(q + 16, 0xffffffff);
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q + 16, 0); /* empty: offset not used */
	put32(q + 20, 0xffffffff);
	assert_int_equal(ovb_rndis_parse(q, 32, &m), 0);
	assert_null(m.info);
	put32(q, 0x10);
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q, 0x80000003); /* HALT has no completion */
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EBADMSG);
	put32(q, RNDIS_MSG_SET_EX);
	assert_int_equal(ovb_rndis_parse(q, 32, &m), -EOPNOTSUPP);
	assert_int_equal(ovb_rndis_parse(NULL, 32, &m), -EINVAL);
	m = (struct ovb_rndis_msg){ .type = RNDIS_MSG_HALT, .info = q,
				    .info_len = 4 };
	assert_int_equal(ovb_rndis_build(q, sizeof(q), &m), -EINVAL);
	m.type = RNDIS_MSG_PACKET;
	assert_int_equal(ovb_rndis_build(q, sizeof(q), &m), -EINVAL);
}

static void test_ctl_batch(void **state)
{
	uint8_t buf[64];
	struct ovb_rndis_msg m = { .type = RNDIS_MSG_KEEPALIVE,
				   .request_id = 1 };
	ssize_t a = ovb_rndis_build(buf, sizeof(buf), &m), b;

	m.type = RNDIS_MSG_HALT;
	m.request_id = 2;
	b = ovb_rndis_build(buf + a, sizeof(buf) - (size_t)a, &m);
	assert_int_equal(ovb_rndis_parse(buf, (size_t)(a + b), &m), 0);
	assert_int_equal(m.type, RNDIS_MSG_KEEPALIVE);
	assert_int_equal(ovb_rndis_parse(buf + m.len, (size_t)(a + b) - m.len,
					 &m), 0);
	assert_int_equal(m.type, RNDIS_MSG_HALT);
	assert_int_equal(m.request_id, 2);
}

/* ---- PACKET ---- */

static uint8_t frame[60];

static void fill_frame(void)
{
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 1);
}

static void test_packet_golden(void **state)
{
	struct ovb_rndis_pktinfo pi = {
		.present = OVB_RNDIS_PPI_CSUM | OVB_RNDIS_PPI_VLAN |
			   OVB_RNDIS_PPI_HASH_VALUE,
		.csum = NDIS_RXCSUM_INFO_TCPCS_OK,
		.vlan = 0xa5,
		.hash_value = 0x51ccc178,
	};
	static const uint8_t gold[92] = {
		LE32(1), LE32(152), LE32(84), LE32(60), LE32(0), LE32(0),
		LE32(0), LE32(36), LE32(48), LE32(0), LE32(0),
		LE32(16), LE32(0), LE32(12), LE32(8),
		LE32(16), LE32(6), LE32(12), LE32(0xa5),
		LE32(16), LE32(8), LE32(12), LE32(0x51ccc178),
	};
	struct ovb_rndis_packet pkt;
	uint8_t buf[256];

	fill_frame();
	assert_int_equal(ovb_rndis_packet_header_len(&pi), 92);
	assert_int_equal(ovb_rndis_packet_build(buf, sizeof(buf), frame, 60,
						&pi), 152);
	assert_memory_equal(buf, gold, sizeof(gold));
	assert_memory_equal(buf + 92, frame, 60);
	assert_int_equal(ovb_rndis_packet_parse(buf, 152, &pkt), 0);
	assert_ptr_equal(pkt.frame, buf + 92);
	assert_int_equal(pkt.frame_len, 60);
	assert_int_equal(pkt.msg_len, 152);
	assert_int_equal(pkt.info.present, pi.present);
	assert_int_equal(pkt.info.csum, pi.csum);
	assert_int_equal(pkt.info.vlan, 0xa5);
	assert_int_equal(pkt.info.hash_value, 0x51ccc178);
	assert_int_equal(ovb_rndis_packet_build(buf, 151, frame, 60, &pi),
			 -EMSGSIZE);
	assert_int_equal(ovb_rndis_packet_build(buf, 91, frame, 60, &pi),
			 -EMSGSIZE);
	assert_int_equal(ovb_rndis_packet_build(buf, 256, frame, 0, &pi),
			 -EINVAL);
}

static void test_packet_all_ppis(void **state)
{
	struct ovb_rndis_pktinfo pi = {
		.present = 0x3f,
		.csum = 1, .lso = 2, .vlan = 3, .hash_value = 4,
		.hash_info = 5, .pkt_id = 6,
	};
	struct ovb_rndis_packet pkt;
	uint8_t buf[256];
	ssize_t n;

	fill_frame();
	n = ovb_rndis_packet_build(buf, sizeof(buf), frame, 60, &pi);
	assert_int_equal(n, 44 + 6 * 16 + 60);
	/* The packet-id PPI is internal type 1. */
	assert_int_equal(buf[44 + 5 * 16 + 4], 1);
	assert_int_equal(buf[44 + 5 * 16 + 7], 0x80);
	assert_int_equal(ovb_rndis_packet_parse(buf, (size_t)n, &pkt), 0);
	assert_memory_equal(&pkt.info, &pi, sizeof(pi));
	/* No PPIs at all: offset and length stay 0. */
	n = ovb_rndis_packet_build(buf, sizeof(buf), frame, 60, NULL);
	assert_int_equal(n, 104);
	assert_int_equal(buf[28], 0);
	assert_int_equal(ovb_rndis_packet_parse(buf, (size_t)n, &pkt), 0);
	assert_int_equal(pkt.info.present, 0);
}

/*
 * A header with a gap before the frame (RSC fragments' payload on a line):
 * the data offset and msg_len count the gap, which is zeroed, and the
 * parser finds the frame behind it with the PPIs intact.
 */
static void test_packet_pad(void **state)
{
	struct ovb_rndis_pktinfo pi = { .present = OVB_RNDIS_PPI_PKT_ID,
					.pkt_id = 0x1234 };
	struct ovb_rndis_packet pkt;
	uint8_t buf[256];
	ssize_t n;

	fill_frame();
	memset(buf, 0xee, sizeof(buf));
	n = ovb_rndis_packet_build_header_pad(buf, sizeof(buf), 60, &pi, 4);
	assert_int_equal(n, 64);
	for (int i = 60; i < 64; i++)
		assert_int_equal(buf[i], 0);
	memcpy(buf + n, frame, 60);
	assert_int_equal(ovb_rndis_packet_parse(buf, (size_t)n + 60, &pkt), 0);
	assert_ptr_equal(pkt.frame, buf + 64);
	assert_int_equal(pkt.frame_len, 60);
	assert_int_equal(pkt.msg_len, 124);
	assert_int_equal(pkt.info.pkt_id, 0x1234);
	/* No PPIs: the gap follows the fixed header. */
	n = ovb_rndis_packet_build_header_pad(buf, sizeof(buf), 60, NULL, 20);
	assert_int_equal(n, 64);
	memcpy(buf + n, frame, 60);
	assert_int_equal(ovb_rndis_packet_parse(buf, (size_t)n + 60, &pkt), 0);
	assert_ptr_equal(pkt.frame, buf + 64);
	/* The data offset stays 4-byte aligned; the gap must fit. */
	assert_int_equal(ovb_rndis_packet_build_header_pad(buf, sizeof(buf),
							   60, &pi, 2),
			 -EINVAL);
	assert_int_equal(ovb_rndis_packet_build_header_pad(buf, 62, 60, &pi, 4),
			 -EMSGSIZE);
}

/* A packet with two PPI records, laid out by hand like Linux does. */
static size_t hand_packet(uint8_t *b)
{
	memset(b, 0, 200);
	put32(b, 1);
	put32(b + 4, 44 + 32 + 60);
	put32(b + 8, 36 + 32);
	put32(b + 12, 60);
	put32(b + 28, 36);
	put32(b + 32, 32);
	put32(b + 44, 16); /* checksum */
	put32(b + 48, 0);
	put32(b + 52, 12);
	put32(b + 56, 0x00220015);
	put32(b + 60, 16); /* LSO */
	put32(b + 64, 2);
	put32(b + 68, 12);
	put32(b + 72, 0x40000000 | 34 << 20 | 1448);
	memcpy(b + 76, frame, 60);
	return 136;
}

static void test_ppi_malformed(void **state)
{
	struct ovb_rndis_packet pkt;
	uint8_t b[200];

	fill_frame();
	assert_int_equal(ovb_rndis_packet_parse(b, hand_packet(b), &pkt), 0);
	assert_int_equal(pkt.info.csum, 0x00220015);
	assert_int_equal(pkt.info.lso & NDIS_LSO2_INFO_MSS_MASK, 1448);

	hand_packet(b);
	put32(b + 44, 0); /* PPI size 0 would loop forever */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 44, 11); /* smaller than its own header */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 60, 20); /* runs past the PPI area */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 52, 17); /* value offset past the record */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 52, 14); /* value of a known type shorter than 4 bytes */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	put32(b + 48, 99); /* ...is fine for a type we skip */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), 0);
	assert_int_equal(pkt.info.present, OVB_RNDIS_PPI_LSO);
	hand_packet(b);
	put32(b + 52, 4); /* value offset inside the record header */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 32, 28); /* area ends inside the second record */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 64, 0); /* duplicate checksum PPI: the first wins */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), 0);
	assert_int_equal(pkt.info.csum, 0x00220015);
	assert_int_equal(pkt.info.present, OVB_RNDIS_PPI_CSUM);
}

static void test_packet_areas_malformed(void **state)
{
	struct ovb_rndis_packet pkt;
	uint8_t b[200];

	fill_frame();
	hand_packet(b);
	put32(b + 28, 200); /* PPI offset past the end */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 28, 60); /* PPI area overlaps the frame */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 28, 0xfffffff8); /* offset + 8 wraps */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 32, 0xffffffe0); /* offset + length wraps */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 8, 20); /* data inside the fixed fields */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 12, 61); /* frame one byte past msg_len */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 12, 0xffffffff);
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 12, 0); /* no frame */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 16, 36); /* OOB data over the PPIs */
	put32(b + 20, 8);
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 4, 137); /* msg_len beyond the buffer */
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b + 4, 43);
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	hand_packet(b);
	put32(b, RNDIS_MSG_INIT);
	assert_int_equal(ovb_rndis_packet_parse(b, 136, &pkt), -EBADMSG);
	assert_int_equal(ovb_rndis_packet_parse(b, 40, &pkt), -EBADMSG);
}

/* ---- metadata ---- */

/* Ethernet + IPv4 + TCP, 100 payload bytes. */
static size_t tcp4_frame(uint8_t *f)
{
	const struct nff_l4 h = { .ip_len = true, .proto = 6, .payload = 100 };

	return nff_ip4(f, &h);
}

static void test_vlan_conversion(void **state)
{
	assert_int_equal(ovb_rndis_tci_to_vlan(0xa00a), 0xa5);
	assert_int_equal(ovb_rndis_vlan_to_tci(0xa5), 0xa00a);
	assert_int_equal(ovb_rndis_tci_to_vlan(0x1fff), 0xfff8);
	assert_int_equal(ovb_rndis_vlan_to_tci(0xfff8), 0x1fff);
}

static void test_tx_meta(void **state)
{
	uint8_t f[160];
	size_t n = tcp4_frame(f);
	struct ovb_rndis_pktinfo pi = {
		.present = OVB_RNDIS_PPI_CSUM | OVB_RNDIS_PPI_VLAN,
		.csum = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_TCPCS |
			NDIS_TXCSUM_INFO_IPCS | 34u << 16,
		.vlan = 0xa5,
	}, back;
	struct ovb_net_meta m;

	assert_int_equal(ovb_rndis_tx_to_meta(&pi, f, n, &m), 0);
	assert_int_equal(m.flags, OVB_NET_META_CSUM_PARTIAL |
					  OVB_NET_META_IP4_CSUM |
					  OVB_NET_META_VLAN);
	assert_int_equal(m.csum_start, 34);
	assert_int_equal(m.csum_offset, 16);
	assert_int_equal(m.vlan_tci, 0xa00a);
	assert_int_equal(ovb_rndis_meta_to_tx(&m, f, n, &back), 0);
	assert_memory_equal(&back, &pi, sizeof(pi));

	/* An offset of 0 means "find it yourself". */
	pi.csum = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_UDPCS;
	assert_int_equal(ovb_rndis_tx_to_meta(&pi, f, n, &m), 0);
	assert_int_equal(m.csum_start, 34);
	assert_int_equal(m.csum_offset, 6);
	pi.csum = NDIS_TXCSUM_INFO_TCPCS | 1000u << 16; /* past the frame */
	assert_int_equal(ovb_rndis_tx_to_meta(&pi, f, n, &m), -EBADMSG);
	/* UDP checksum requested on a TCP frame cannot be expressed back. */
	m = (struct ovb_net_meta){ .flags = OVB_NET_META_CSUM_PARTIAL,
				   .csum_start = 34, .csum_offset = 6 };
	assert_int_equal(ovb_rndis_meta_to_tx(&m, f, n, &back), -EBADMSG);

	/* LSOv2 over IPv4. */
	pi = (struct ovb_rndis_pktinfo){
		.present = OVB_RNDIS_PPI_LSO,
		.lso = NDIS_LSO2_INFO_ISLSO2 | 34u << 20 | 1448,
	};
	assert_int_equal(ovb_rndis_tx_to_meta(&pi, f, n, &m), 0);
	assert_int_equal(m.gso_type, OVB_NET_GSO_TCPV4);
	assert_int_equal(m.gso_size, 1448);
	assert_int_equal(m.hdr_len, 54);
	assert_int_equal(m.csum_start, 34);
	assert_int_equal(ovb_rndis_meta_to_tx(&m, f, n, &back), 0);
	assert_int_equal(back.present, OVB_RNDIS_PPI_LSO);
	assert_int_equal(back.lso, pi.lso);
	pi.lso = NDIS_LSO2_INFO_ISLSO2 | 34u << 20; /* MSS 0 */
	assert_int_equal(ovb_rndis_tx_to_meta(&pi, f, n, &m), -EBADMSG);
	m = (struct ovb_net_meta){ .gso_type = OVB_NET_GSO_TCPV6,
				   .gso_size = 1440 };
	assert_int_equal(ovb_rndis_meta_to_tx(&m, f, n, &back), -EBADMSG);
}

static void test_rx_meta(void **state)
{
	uint8_t f[160];
	size_t n = tcp4_frame(f);
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_VALID | OVB_NET_META_HASH |
			 OVB_NET_META_VLAN,
		.hash = 0x1234, .hash_type = NDIS_HASH_TCP_IPV4,
		.vlan_tci = 0x0005,
	}, back;
	struct ovb_rndis_pktinfo pi;

	assert_int_equal(ovb_rndis_meta_to_rx(&m, f, n, &pi), 0);
	assert_int_equal(pi.present, OVB_RNDIS_PPI_CSUM | OVB_RNDIS_PPI_VLAN |
					     OVB_RNDIS_PPI_HASH_VALUE |
					     OVB_RNDIS_PPI_HASH_INFO);
	assert_int_equal(pi.csum, NDIS_RXCSUM_INFO_IPCS_OK |
					  NDIS_RXCSUM_INFO_TCPCS_OK);
	assert_int_equal(pi.hash_info, NDIS_HASH_FUNCTION_TOEPLITZ |
					       NDIS_HASH_TCP_IPV4);
	ovb_rndis_rx_to_meta(&pi, &back);
	assert_int_equal(back.flags, m.flags);
	assert_int_equal(back.hash, 0x1234);
	assert_int_equal(back.hash_type, NDIS_HASH_TCP_IPV4);
	assert_int_equal(back.vlan_tci, 5);

	pi.csum |= NDIS_RXCSUM_INFO_IPCS_FAILED;
	ovb_rndis_rx_to_meta(&pi, &back);
	assert_false(back.flags & OVB_NET_META_CSUM_VALID);

	m.flags = OVB_NET_META_CSUM_PARTIAL;
	assert_int_equal(ovb_rndis_meta_to_rx(&m, f, n, &pi), -EINVAL);
	m.flags = 0;
	m.gso_type = OVB_NET_GSO_TCPV4;
	assert_int_equal(ovb_rndis_meta_to_rx(&m, f, n, &pi), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_query_set),
		cmocka_unit_test(test_reset_halt_keepalive_indicate),
		cmocka_unit_test(test_ctl_malformed),
		cmocka_unit_test(test_ctl_batch),
		cmocka_unit_test(test_packet_golden),
		cmocka_unit_test(test_packet_all_ppis),
		cmocka_unit_test(test_packet_pad),
		cmocka_unit_test(test_ppi_malformed),
		cmocka_unit_test(test_packet_areas_malformed),
		cmocka_unit_test(test_vlan_conversion),
		cmocka_unit_test(test_tx_meta),
		cmocka_unit_test(test_rx_meta),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
