// SPDX-License-Identifier: MIT
/*
 * Unit tests: the NVSP codec.  Every message type is encoded and compared
 * with golden bytes written from docs/wire.md B9, then parsed back; the size,
 * direction, version and table rules are exercised with malformed input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/nvsp.h"

#define LE16(x) (uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff)
#define LE32(x) LE16((x) & 0xffff), LE16(((x) >> 16) & 0xffff)

#define V61 NVSP_PROTOCOL_VERSION_61

/* Encode @m, compare with @gold (zero-padded to 40), parse it back. */
static void roundtrip(enum ovb_nvsp_dir dir, const struct ovb_nvsp_msg *m,
		      const uint8_t *gold, size_t gold_len,
		      struct ovb_nvsp_msg *back)
{
	uint8_t buf[256], want[256] = { 0 };
	size_t n = gold_len < NVSP_MESSAGE_SIZE ? NVSP_MESSAGE_SIZE : gold_len;

	memcpy(want, gold, gold_len);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ovb_nvsp_encode(buf, sizeof(buf), dir, m), n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(ovb_nvsp_parse(buf, n, dir, V61, back), 0);
	assert_int_equal(back->type, m->type);
	assert_false(back->short_request);
}

static void test_versions(void **state)
{
	static const uint32_t want[] = { 0x60001, 0x60000, 0x50000,
					 0x40000, 0x30002, 0x2 };

	assert_memory_equal(ovb_nvsp_versions, want, sizeof(want));
	assert_true(ovb_nvsp_version_known(0x30002));
	assert_false(ovb_nvsp_version_known(0x30000));
	assert_int_equal(ovb_nvsp_ndis_version(NVSP_PROTOCOL_VERSION_4),
			 0x00060001);
	assert_int_equal(ovb_nvsp_ndis_version(NVSP_PROTOCOL_VERSION_5),
			 0x0006001e);
	assert_string_equal(ovb_nvsp_type_name(107), "SEND_RNDIS_PKT");
	assert_string_equal(ovb_nvsp_type_name(999), "UNKNOWN");
}

static void test_init(void **state)
{
	static const uint8_t g1[] = { LE32(1), LE32(V61), LE32(V61) };
	static const uint8_t g2[] = { LE32(2), LE32(0), LE32(0), LE32(1) };
	struct ovb_nvsp_msg m = { .type = 1, .u.init = { V61, V61 } }, b;

	roundtrip(OVB_NVSP_TO_HOST, &m, g1, sizeof(g1), &b);
	assert_int_equal(b.u.init.min, V61);
	assert_int_equal(b.u.init.max, V61);
	m = (struct ovb_nvsp_msg){ .type = 2, .u.init_complete.status = 1 };
	roundtrip(OVB_NVSP_TO_GUEST, &m, g2, sizeof(g2), &b);
	assert_int_equal(b.u.init_complete.status, NVSP_STAT_SUCCESS);
}

static void test_v1_buffers(void **state)
{
	static const uint8_t ndis[] = { LE32(100), LE32(6), LE32(30) };
	static const uint8_t rxbuf[] = { LE32(101), LE32(0x1234),
					 LE16(0xcafe) };
	static const uint8_t txbuf[] = { LE32(104), LE32(0x99), LE16(0) };
	static const uint8_t rev[] = { LE32(103), LE16(0xcafe) };
	static const uint8_t txc[] = { LE32(105), LE32(1), LE32(6144) };
	struct ovb_nvsp_msg m = { .type = 100, .u.ndis_version = { 6, 30 } }, b;

	roundtrip(OVB_NVSP_TO_HOST, &m, ndis, sizeof(ndis), &b);
	assert_int_equal(b.u.ndis_version.minor, 30);
	m = (struct ovb_nvsp_msg){ .type = 101,
				   .u.send_buffer = { 0x1234, 0xcafe } };
	roundtrip(OVB_NVSP_TO_HOST, &m, rxbuf, sizeof(rxbuf), &b);
	assert_int_equal(b.u.send_buffer.gpadl, 0x1234);
	assert_int_equal(b.u.send_buffer.id, 0xcafe);
	m = (struct ovb_nvsp_msg){ .type = 104, .u.send_buffer = { 0x99, 0 } };
	roundtrip(OVB_NVSP_TO_HOST, &m, txbuf, sizeof(txbuf), &b);
	m = (struct ovb_nvsp_msg){ .type = 103, .u.revoke.id = 0xcafe };
	roundtrip(OVB_NVSP_TO_HOST, &m, rev, sizeof(rev), &b);
	assert_int_equal(b.u.revoke.id, 0xcafe);
	m.type = 106;
	{
		uint8_t g[] = { LE32(106), LE16(0xcafe) };

		roundtrip(OVB_NVSP_TO_HOST, &m, g, sizeof(g), &b);
	}
	m = (struct ovb_nvsp_msg){ .type = 105,
				   .u.send_buf_complete = { 1, 6144 } };
	roundtrip(OVB_NVSP_TO_GUEST, &m, txc, sizeof(txc), &b);
	assert_int_equal(b.u.send_buf_complete.section_size, 6144);
}

static void test_recv_buf_complete(void **state)
{
	static const struct nvsp1_receive_buffer_section sec[2] = {
		{ 0, 1728, 9709, 1728 * 9709 },
		{ 1728 * 9709, 64, 2, 1728 * 9709 + 128 },
	};
	static const uint8_t g1[] = { LE32(102), LE32(1), LE32(1), LE32(0),
				      LE32(1728), LE32(9709),
				      LE32(1728 * 9709) };
	struct ovb_nvsp_msg m = {
		.type = 102,
		.u.recv_buf_complete = { 1, 1, sec },
	}, b;
	uint8_t buf[64];

	roundtrip(OVB_NVSP_TO_GUEST, &m, g1, sizeof(g1), &b);
	assert_int_equal(b.u.recv_buf_complete.num_sections, 1);
	assert_int_equal(b.u.recv_buf_complete.sections[0].num_sub_allocs,
			 9709);
	/* Two sections outgrow 40 bytes. */
	m.u.recv_buf_complete.num_sections = 2;
	assert_int_equal(ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_GUEST,
					 &m), 44);
	assert_int_equal(ovb_nvsp_parse(buf, 44, OVB_NVSP_TO_GUEST, V61, &b),
			 0);
	assert_int_equal(b.u.recv_buf_complete.sections[1].sub_alloc_size, 64);
	assert_int_equal(ovb_nvsp_parse(buf, 43, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	/* A section count that would overflow a 32-bit multiply. */
	buf[8] = buf[9] = buf[10] = buf[11] = 0xff;
	assert_int_equal(ovb_nvsp_parse(buf, 44, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	assert_int_equal(ovb_nvsp_encode(buf, 43, OVB_NVSP_TO_GUEST, &m),
			 -EMSGSIZE);
}

static void test_rndis_pkt(void **state)
{
	static const uint8_t g[] = { LE32(107), LE32(1), LE32(0xffffffff),
				     LE32(0) };
	static const uint8_t gc[] = { LE32(108), LE32(1) };
	struct ovb_nvsp_msg m = {
		.type = 107,
		.u.rndis_pkt = { NVSP_CHANNEL_TYPE_CONTROL,
				 NVSP_INVALID_SECTION_INDEX, 0 },
	}, b;

	roundtrip(OVB_NVSP_TO_HOST, &m, g, sizeof(g), &b);
	assert_int_equal(b.u.rndis_pkt.section_index, 0xffffffff);
	roundtrip(OVB_NVSP_TO_GUEST, &m, g, sizeof(g), &b);
	m = (struct ovb_nvsp_msg){ .type = 108, .u.rndis_pkt_complete = { 1 } };
	roundtrip(OVB_NVSP_TO_HOST, &m, gc, sizeof(gc), &b);
	roundtrip(OVB_NVSP_TO_GUEST, &m, gc, sizeof(gc), &b);
	assert_int_equal(b.u.rndis_pkt_complete.status, 1);
}

static void test_v2_v4_v5(void **state)
{
	static const uint8_t cfg[] = { LE32(125), LE32(1514), LE32(0),
				       LE32(0x88), LE32(0) };
	static const uint8_t vf[] = { LE32(128), LE32(1), LE32(42) };
	static const uint8_t dp[] = { LE32(129), LE32(1) };
	static const uint8_t sreq[] = { LE32(133), LE32(1), LE32(7) };
	static const uint8_t scmp[] = { LE32(133), LE32(1), LE32(3) };
	struct ovb_nvsp_msg m = {
		.type = 125,
		.u.ndis_config = { 1514, NVSP_NDIS_CAP_IEEE8021Q |
						 NVSP_NDIS_CAP_RSC },
	}, b;

	roundtrip(OVB_NVSP_TO_HOST, &m, cfg, sizeof(cfg), &b);
	assert_int_equal(b.u.ndis_config.capability, 0x88);
	m = (struct ovb_nvsp_msg){ .type = 128, .u.vf_association = { 1, 42 } };
	roundtrip(OVB_NVSP_TO_GUEST, &m, vf, sizeof(vf), &b);
	assert_int_equal(b.u.vf_association.serial, 42);
	m = (struct ovb_nvsp_msg){ .type = 129,
				   .u.switch_data_path.active = 1 };
	roundtrip(OVB_NVSP_TO_HOST, &m, dp, sizeof(dp), &b);
	assert_int_equal(b.u.switch_data_path.active, NVSP_DATAPATH_VF);
	m = (struct ovb_nvsp_msg){ .type = 133,
				   .u.subchannel_request = { 1, 7 } };
	roundtrip(OVB_NVSP_TO_HOST, &m, sreq, sizeof(sreq), &b);
	assert_int_equal(b.u.subchannel_request.num, 7);
	m = (struct ovb_nvsp_msg){ .type = 133,
				   .u.subchannel_complete = { 1, 3 } };
	roundtrip(OVB_NVSP_TO_GUEST, &m, scmp, sizeof(scmp), &b);
	assert_int_equal(b.u.subchannel_complete.status, 1);
	assert_int_equal(b.u.subchannel_complete.num, 3);
}

static void test_indirection_table(void **state)
{
	uint8_t gold[104] = { LE32(134), LE32(16), LE32(40) };
	struct ovb_nvsp_msg m = { .type = 134 }, b;
	uint8_t buf[128];

	for (uint32_t i = 0; i < 16; i++) {
		m.u.indirection_table.table[i] = i % 4;
		gold[40 + 4 * i] = (uint8_t)(i % 4);
	}
	m.u.indirection_table.count = 16;
	roundtrip(OVB_NVSP_TO_GUEST, &m, gold, sizeof(gold), &b);
	assert_int_equal(b.u.indirection_table.count, 16);
	assert_memory_equal(b.u.indirection_table.table,
			    m.u.indirection_table.table, 64);

	/* Old hosts wrote a too-small offset: NVSP <= 6 reads at 40. */
	memcpy(buf, gold, sizeof(gold));
	buf[8] = 4;
	assert_int_equal(ovb_nvsp_parse(buf, 104, OVB_NVSP_TO_GUEST,
					NVSP_PROTOCOL_VERSION_6, &b), 0);
	assert_int_equal(b.u.indirection_table.table[3], 3);
	assert_int_equal(ovb_nvsp_parse(buf, 104, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	/* Offset past the end, table past the end, too many entries. */
	buf[8] = 100;
	assert_int_equal(ovb_nvsp_parse(buf, 104, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	buf[8] = 40;
	assert_int_equal(ovb_nvsp_parse(buf, 103, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	buf[4] = 17;
	assert_int_equal(ovb_nvsp_parse(buf, 104, OVB_NVSP_TO_GUEST, V61, &b),
			 -EBADMSG);
	m.u.indirection_table.count = 17;
	assert_int_equal(ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_GUEST,
					 &m), -EINVAL);
}

static void test_size_rules(void **state)
{
	uint8_t b40[40] = { LE32(1), LE32(V61), LE32(V61) };
	uint8_t rx[40] = { LE32(101), LE32(5), LE16(0xcafe) };
	struct ovb_nvsp_msg m;

	assert_int_equal(ovb_nvsp_parse(b40, 3, OVB_NVSP_TO_HOST, 0, &m),
			 -EBADMSG);
	assert_int_equal(ovb_nvsp_parse(b40, 11, OVB_NVSP_TO_HOST, 0, &m),
			 -EBADMSG);
	/* Holds its fields but is below Windows' 32-byte floor. */
	assert_int_equal(ovb_nvsp_parse(b40, 12, OVB_NVSP_TO_HOST, 0, &m), 0);
	assert_true(m.short_request);
	assert_int_equal(ovb_nvsp_parse(b40, 32, OVB_NVSP_TO_HOST, 0, &m), 0);
	assert_false(m.short_request);
	/* Linux packs SEND_RECV_BUF to 10 bytes of fields. */
	assert_int_equal(ovb_nvsp_parse(rx, 9, OVB_NVSP_TO_HOST, V61, &m),
			 -EBADMSG);
	assert_int_equal(ovb_nvsp_parse(rx, 10, OVB_NVSP_TO_HOST, V61, &m), 0);
	assert_int_equal(m.u.send_buffer.id, 0xcafe);
	assert_int_equal(ovb_nvsp_parse(NULL, 10, OVB_NVSP_TO_HOST, V61, &m),
			 -EINVAL);
	assert_int_equal(ovb_nvsp_encode(b40, 39, OVB_NVSP_TO_HOST, &m),
			 -EMSGSIZE);
}

static void test_direction_version_type(void **state)
{
	uint8_t b[40] = { LE32(1) };
	struct ovb_nvsp_msg m = { .type = 2 };

	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_GUEST, 0, &m),
			 -EPROTO);
	b[0] = 2;
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST, 0, &m),
			 -EPROTO);
	b[0] = 101; /* before negotiation */
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST, 0, &m),
			 -EPROTO);
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST,
					NVSP_PROTOCOL_VERSION_1, &m), 0);
	b[0] = 133; /* SUBCHANNEL needs NVSP 5 */
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST,
					NVSP_PROTOCOL_VERSION_4, &m), -EPROTO);
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST,
					OVB_NVSP_VERSION_ANY, &m), 0);
	b[0] = 125; /* SEND_NDIS_CONFIG needs NVSP 2 */
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST,
					NVSP_PROTOCOL_VERSION_1, &m), -EPROTO);
	for (uint32_t t = 109; t <= 136; t++) {
		int want = (t >= 109 && t <= 124) || t == 126 || t == 127 ||
			   t == 130 || t == 131 || t == 132 || t == 135 ||
			   t == 136 ? -EOPNOTSUPP : 0;

		b[0] = (uint8_t)t;
		if (want)
			assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST,
							V61, &m), want);
	}
	b[0] = 3;
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST, V61, &m),
			 -EBADMSG);
	b[0] = 137;
	assert_int_equal(ovb_nvsp_parse(b, 40, OVB_NVSP_TO_HOST, V61, &m),
			 -EBADMSG);
	m.type = 2;
	assert_int_equal(ovb_nvsp_encode(b, 40, OVB_NVSP_TO_HOST, &m), -EINVAL);
	m.type = 110;
	assert_int_equal(ovb_nvsp_encode(b, 40, OVB_NVSP_TO_GUEST, &m),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_v1_buffers),
		cmocka_unit_test(test_recv_buf_complete),
		cmocka_unit_test(test_rndis_pkt),
		cmocka_unit_test(test_v2_v4_v5),
		cmocka_unit_test(test_indirection_table),
		cmocka_unit_test(test_size_rules),
		cmocka_unit_test(test_direction_version_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
