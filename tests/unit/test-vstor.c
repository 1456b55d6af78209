// SPDX-License-Identifier: MIT
/*
 * Unit tests: the VSTOR codec.  Wire sizes and offsets, the version list,
 * golden bytes for each encoded packet layout at both SRB sizes, round trips
 * at every version, and every rejection of the packet validator.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "storage/vstor.h"

static const uint16_t all_versions[] = {0x0602, 0x0600, 0x0501, 0x0402, 0x0200};
#define NVERS (sizeof(all_versions) / sizeof(all_versions[0]))

static void test_wire_sizes(void **state)
{
	assert_int_equal(sizeof(struct vstor_packet), 64);
	assert_int_equal(sizeof(struct vmscsi_request), 52);
	assert_int_equal(sizeof(struct vmscsi_win8_extension), 16);
	assert_int_equal(sizeof(struct vmstorage_channel_properties), 24);
	assert_int_equal(sizeof(struct vmstorage_protocol_version), 4);
	assert_int_equal(sizeof(struct vstor_offer_properties), 24);
	assert_int_equal(offsetof(struct vstor_packet, vm_srb), 12);
	assert_int_equal(offsetof(struct vmscsi_request, cdb), 16);
	assert_int_equal(offsetof(struct vmscsi_request, win8_extension), 36);
	assert_int_equal(VSTOR_PACKET_SIZE_PRE_WIN8, 48);
	assert_int_equal(VSTOR_SENSE_SIZE_WIN8, 0x14);
	assert_int_equal(VSTOR_SENSE_SIZE_PRE_WIN8, 0x12);
}

/* A reply is as long as its request, within 48..64 (OpenVMM storvsp). */
static void test_reply_len(void **state)
{
	assert_int_equal(ovb_vstor_reply_len(64), 64);
	assert_int_equal(ovb_vstor_reply_len(48), 48);
	assert_int_equal(ovb_vstor_reply_len(56), 56);
	assert_int_equal(ovb_vstor_reply_len(0), 48);
	assert_int_equal(ovb_vstor_reply_len(20), 48);
	assert_int_equal(ovb_vstor_reply_len(72), 64);
	assert_int_equal(ovb_vstor_reply_len(4096), 64);
}

/* The answer to QUERY_PROTOCOL_VERSION echoes the proposal. */
static void test_golden_version_reply(void **state)
{
	uint8_t buf[64], want[64] = { 1, 0, 0, 0, 0, 0, 0, 0,
				      0x59, 0, 0, 0xc0, 0x02, 0x06, 0, 0 };

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(ovb_vstor_encode_version_reply(
				 buf, sizeof(buf), VSTOR_PROTO_VERSION_WIN10,
				 VSTOR_STATUS_REVISION_MISMATCH, 0x0602), 64);
	assert_memory_equal(buf, want, 64);
	assert_int_equal(ovb_vstor_encode_version_reply(
				 buf, sizeof(buf), VSTOR_PROTO_VERSION_WIN6, 0,
				 0x0602), 48);
	assert_int_equal(buf[8], 0);
	assert_int_equal(buf[12], 0x02);
}

static void test_versions(void **state)
{
	size_t n;
	const uint16_t *list = ovb_vstor_version_list(&n);

	assert_int_equal(n, NVERS);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(list[i], all_versions[i]);
		assert_true(ovb_vstor_version_supported(list[i]));
	}
	assert_false(ovb_vstor_version_supported(0x0A00));
	assert_false(ovb_vstor_version_supported(0x0601));
	assert_false(ovb_vstor_version_supported(0));
	assert_int_equal(ovb_vstor_version_next(0x0602), 0x0600);
	assert_int_equal(ovb_vstor_version_next(0x0501), 0x0402);
	assert_int_equal(ovb_vstor_version_next(0x0200), 0);
	assert_int_equal(ovb_vstor_version_next(0x0A00), 0);
	assert_int_equal(ovb_vstor_packet_size(0x0602), 64);
	assert_int_equal(ovb_vstor_packet_size(0x0600), 64);
	assert_int_equal(ovb_vstor_packet_size(0x0501), 64);
	assert_int_equal(ovb_vstor_packet_size(0x0402), 48);
	assert_int_equal(ovb_vstor_packet_size(0x0200), 48);
	assert_int_equal(ovb_vstor_packet_size(0x0300), 0);
	assert_int_equal(ovb_vstor_sense_size(0x0501), 0x14);
	assert_int_equal(ovb_vstor_sense_size(0x0402), 0x12);
	assert_int_equal(ovb_vstor_sense_size(0x0100), 0);
}

/* A READ(10) SRB with every field set to something recognisable. */
static void sample_srb(struct ovb_vstor_srb *s)
{
	static const uint8_t cdb[10] = {0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0};

	memset(s, 0, sizeof(*s));
	s->port = 1;
	s->path_id = 2;
	s->target_id = 3;
	s->lun = 4;
	s->cdb_length = 10;
	memcpy(s->cdb, cdb, sizeof(cdb));
	s->sense_info_length = 0x12;
	s->data_in = VSTOR_DATA_READ;
	s->data_transfer_length = 4096;
	s->queue_tag = 0x55;
	s->queue_action = 0x20;
	s->srb_flags = VSTOR_SRB_FLAGS_DATA_IN;
	s->timeout = 180;
	s->queue_sort_key = 0x10;
}

static const uint8_t golden_srb_win8[64] = {
	/* operation 3, flags 1, status 0 */
	0x03,
	0,
	0,
	0,
	0x01,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* length 52, srb_status, scsi_status, port, path, target, lun */
	0x34,
	0x00,
	0x00,
	0x00,
	0x01,
	0x02,
	0x03,
	0x04,
	/* cdb_length 10, sense 0x12, data_in 1, reserved, xfer 4096 */
	0x0a,
	0x12,
	0x01,
	0x00,
	0x00,
	0x10,
	0x00,
	0x00,
	/* cdb (16) + 4 spare */
	0x28,
	0,
	0,
	0,
	0x10,
	0,
	0,
	0,
	0x08,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	/* reserve, queue_tag, queue_action, srb_flags 0x40 */
	0,
	0,
	0x55,
	0x20,
	0x40,
	0,
	0,
	0,
	/* timeout 180, sort key 0x10 */
	0xb4,
	0,
	0,
	0,
	0x10,
	0,
	0,
	0,
};

static void test_golden_srb(void **state)
{
	struct ovb_vstor_srb s;
	uint8_t buf[64];
	uint8_t want[48];

	sample_srb(&s);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(ovb_vstor_encode_srb(buf, sizeof(buf), 0x0501, &s),
			 64);
	assert_memory_equal(buf, golden_srb_win8, 64);

	/* Pre-Win8: the first 48 bytes, SRB length 36, no extension. */
	memcpy(want, golden_srb_win8, 48);
	want[12] = 36;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(ovb_vstor_encode_srb(buf, sizeof(buf), 0x0402, &s),
			 48);
	assert_memory_equal(buf, want, 48);
	assert_int_equal(buf[48], 0xee); /* nothing written past 48 */
}

static void test_golden_simple(void **state)
{
	static const uint8_t ver[48] = {0x09, 0, 0, 0, 0x01, 0,	   0,	 0,
					0,    0, 0, 0, 0x02, 0x06, 0x00, 0x00};
	static const uint8_t sub[64] = {0x0d, 0, 0, 0, 0x01, 0,	   0,
					0,    0, 0, 0, 0,    0x07, 0x00};
	static const uint8_t mismatch[48] = {0x01, 0, 0,    0,	  0,	0,
					     0,	   0, 0x59, 0x00, 0x00, 0xc0};
	static const uint8_t props[64] = {
	    0x01, 0, 0,	   0,	 0, 0, 0,    0, 0, 0, 0,    0,	  0,	0,
	    0,	  0, 0x08, 0x00, 0, 0, 0x01, 0, 0, 0, 0x00, 0x00, 0x20, 0x00};
	static const uint8_t ev[64] = {0x0e, 0, 0, 0, 0,    0,	  0,	0,
				       0,    0, 0, 0, 0x05, 0x01, 0x02, 0x03};
	struct ovb_vstor_props p = {.max_channel_count = 8,
				    .flags =
					VSTOR_PROPERTY_SUPPORTS_MULTI_CHANNEL,
				    .max_transfer_bytes = 0x200000};
	struct vmstorage_event_notification e = {5, 1, 2, 3};
	uint8_t buf[64];

	assert_int_equal(ovb_vstor_encode_version(buf, 64, 0x0200, 0x0602), 48);
	assert_memory_equal(buf, ver, 48);
	assert_int_equal(ovb_vstor_encode_subchannels(buf, 64, 0x0600, 7), 64);
	assert_memory_equal(buf, sub, 64);
	assert_int_equal(ovb_vstor_encode_simple(
			     buf, 64, 0x0200, VSTOR_OPERATION_COMPLETE_IO, 0,
			     VSTOR_STATUS_REVISION_MISMATCH),
			 48);
	assert_memory_equal(buf, mismatch, 48);
	assert_int_equal(ovb_vstor_encode_properties(buf, 64, 0x0602, 0, &p),
			 64);
	assert_memory_equal(buf, props, 64);
	assert_int_equal(ovb_vstor_encode_event(buf, 64, 0x0602, &e), 64);
	assert_memory_equal(buf, ev, 64);
}

static void test_golden_complete(void **state)
{
	struct ovb_vstor_srb s;
	uint8_t buf[64];

	sample_srb(&s);
	s.srb_status =
	    VSTOR_SRB_STATUS_ERROR | VSTOR_SRB_STATUS_AUTOSENSE_VALID;
	s.scsi_status = 2;
	s.data_transfer_length = 0;
	s.sense_info_length = 18;
	memset(s.sense, 0, sizeof(s.sense));
	s.sense[0] = 0x70;
	s.sense[2] = 0x05;
	s.sense[7] = 10;
	s.sense[12] = 0x24;
	assert_int_equal(ovb_vstor_encode_srb_complete(
			     buf, 64, 0x0402, VSTOR_STATUS_SUCCESS, &s),
			 48);
	assert_int_equal(buf[0], 1);	 /* COMPLETE_IO */
	assert_int_equal(buf[4], 0);	 /* no completion flag */
	assert_int_equal(buf[12], 36);	 /* SRB length */
	assert_int_equal(buf[14], 0x84); /* srb_status */
	assert_int_equal(buf[15], 2);	 /* scsi_status */
	assert_int_equal(buf[18], 3);	 /* target echoed */
	assert_int_equal(buf[21], 18);	 /* sense_info_length */
	assert_int_equal(buf[28], 0x70); /* sense starts at SRB + 16 */
	assert_int_equal(buf[30], 0x05);
	assert_int_equal(buf[40], 0x24);
	/* 0x14 sense bytes fit only at >= 5.1. */
	s.sense_info_length = 0x14;
	assert_int_equal(ovb_vstor_encode_srb_complete(buf, 64, 0x0402, 0, &s),
			 -EINVAL);
	assert_int_equal(ovb_vstor_encode_srb_complete(buf, 64, 0x0501, 0, &s),
			 64);
}

static void test_roundtrip_every_version(void **state)
{
	for (size_t i = 0; i < NVERS; i++) {
		uint16_t v = all_versions[i];
		bool ext = v >= 0x0501;
		struct ovb_vstor_srb s, back;
		struct ovb_vstor_msg m;
		uint8_t buf[64];
		ssize_t n;

		sample_srb(&s);
		n = ovb_vstor_encode_srb(buf, sizeof(buf), v, &s);
		assert_int_equal(n, ext ? 64 : 48);
		assert_int_equal(ovb_vstor_parse(buf, (size_t)n, v, &m), 0);
		assert_int_equal(m.operation, VSTOR_OPERATION_EXECUTE_SRB);
		assert_int_equal(m.flags, VSTOR_FLAG_REQUEST_COMPLETION);
		assert_int_equal(m.len, (size_t)n);
		back = m.srb;
		assert_int_equal(back.length, ext ? 52 : 36);
		assert_int_equal(back.lun, 4);
		assert_int_equal(back.cdb_length, 10);
		assert_memory_equal(back.cdb, s.cdb, 16);
		assert_int_equal(back.data_transfer_length, 4096);
		assert_int_equal(back.srb_flags, ext ? s.srb_flags : 0);
		assert_int_equal(back.timeout, ext ? 180 : 0);
		assert_int_equal(back.queue_tag, ext ? 0x55 : 0);

		n = ovb_vstor_encode_version(buf, sizeof(buf), v, v);
		assert_int_equal(ovb_vstor_parse(buf, (size_t)n, v, &m), 0);
		assert_int_equal(m.version, v);
		assert_int_equal(m.revision, 0);

		s.sense_info_length = ovb_vstor_sense_size(v);
		memset(s.sense, 0xab, sizeof(s.sense));
		n = ovb_vstor_encode_srb_complete(buf, sizeof(buf), v, 0, &s);
		assert_int_equal(ovb_vstor_parse(buf, (size_t)n, v, &m), 0);
		assert_int_equal(m.operation, VSTOR_OPERATION_COMPLETE_IO);
		assert_int_equal(ovb_vstor_srb_validate(&m.srb, v, true), 0);
		assert_memory_equal(m.srb.sense, s.sense,
				    m.srb.sense_info_length);
	}
}

static void test_parse_rejects(void **state)
{
	struct ovb_vstor_srb s;
	struct ovb_vstor_msg m;
	uint8_t buf[64], bad[64];

	sample_srb(&s);
	assert_int_equal(ovb_vstor_encode_srb(buf, 64, 0x0602, &s), 64);
	/* Short packets: one byte below the version's size. */
	assert_int_equal(ovb_vstor_parse(buf, 63, 0x0602, &m), -EBADMSG);
	assert_int_equal(ovb_vstor_parse(buf, 47, 0x0402, &m), -EBADMSG);
	assert_int_equal(ovb_vstor_parse(buf, 0, 0x0200, &m), -EBADMSG);
	/* A 64-byte packet at a pre-Win8 version: extension ignored. */
	assert_int_equal(ovb_vstor_parse(buf, 64, 0x0402, &m), 0);
	assert_int_equal(m.srb.srb_flags, 0);
	assert_int_equal(m.len, 48);
	/* Unsupported version is our caller's mistake. */
	assert_int_equal(ovb_vstor_parse(buf, 64, 0x0A00, &m), -EINVAL);
	assert_int_equal(ovb_vstor_parse(NULL, 64, 0x0602, &m), -EINVAL);

#define MUTATE(off, val, want)                                                 \
	do {                                                                   \
		memcpy(bad, buf, 64);                                          \
		bad[off] = (val);                                              \
		assert_int_equal(ovb_vstor_parse(bad, 64, 0x0602, &m), want);  \
	} while (0)
	MUTATE(0, 0, -EBADMSG);	    /* operation 0 */
	MUTATE(0, 15, -EBADMSG);    /* operation 15 */
	MUTATE(3, 1, -EBADMSG);	    /* operation 0x01000003 */
	MUTATE(20, 0, -EBADMSG);    /* cdb_length 0 */
	MUTATE(20, 17, -EBADMSG);   /* cdb_length 17 */
	MUTATE(20, 16, 0);	    /* cdb_length 16 */
	MUTATE(22, 3, -EBADMSG);    /* data_in 3 */
	MUTATE(22, 2, 0);	    /* data_in unknown */
	MUTATE(21, 0x15, -EBADMSG); /* sense room above 0x14 */
	MUTATE(21, 0x14, 0);
#undef MUTATE
	/* 0x14 is too much sense room before 5.1. */
	memcpy(bad, buf, 64);
	bad[21] = 0x13;
	assert_int_equal(ovb_vstor_parse(bad, 48, 0x0402, &m), -EBADMSG);
	bad[21] = 0x12;
	assert_int_equal(ovb_vstor_parse(bad, 48, 0x0402, &m), 0);
	/* Bytes past cdb_length are cleared in the decoded CDB. */
	memcpy(bad, buf, 64);
	bad[20] = 6;
	assert_int_equal(ovb_vstor_parse(bad, 64, 0x0602, &m), 0);
	assert_int_equal(m.srb.cdb[8], 0);
	/* Every valid operation without a payload parses. */
	for (uint32_t op = 1; op <= VSTOR_OPERATION_MAX; op++) {
		if (op == VSTOR_OPERATION_EXECUTE_SRB)
			continue;
		assert_int_equal(
		    ovb_vstor_encode_simple(bad, 64, 0x0200, op, 0, 0), 48);
		assert_int_equal(ovb_vstor_parse(bad, 48, 0x0200, &m), 0);
		assert_int_equal(m.operation, op);
	}
}

static void test_fc_wwn(void **state)
{
	struct vmstorage_fc_wwn w = {.primary_active = 1};
	struct ovb_vstor_msg m;
	uint8_t buf[64];

	for (int i = 0; i < 8; i++) {
		w.primary_port_wwn[i] = (uint8_t)(0x10 + i);
		w.secondary_node_wwn[i] = (uint8_t)(0x80 + i);
	}
	assert_int_equal(ovb_vstor_encode_fc_wwn(buf, 64, 0x0402, 0, &w), 48);
	assert_int_equal(buf[12], 1);    /* primary_active */
	assert_int_equal(buf[16], 0x10); /* primary port WWN at +4 */
	assert_int_equal(buf[40], 0x80); /* secondary node WWN at +28 */
	assert_int_equal(ovb_vstor_parse(buf, 48, 0x0402, &m), 0);
	assert_memory_equal(&m.wwn, &w, sizeof(w));
	assert_int_equal(ovb_vstor_encode_fc_wwn(buf, 64, 0x0402, 0, NULL),
			 -EINVAL);
}

static void test_encode_errors(void **state)
{
	struct ovb_vstor_srb s;
	uint8_t buf[64];

	sample_srb(&s);
	assert_int_equal(ovb_vstor_encode_srb(buf, 63, 0x0602, &s), -EMSGSIZE);
	assert_int_equal(ovb_vstor_encode_srb(buf, 48, 0x0402, &s), 48);
	assert_int_equal(ovb_vstor_encode_srb(buf, 64, 0x0700, &s), -EINVAL);
	s.cdb_length = 17;
	assert_int_equal(ovb_vstor_encode_srb(buf, 64, 0x0602, &s), -EINVAL);
	assert_int_equal(ovb_vstor_encode_simple(buf, 64, 0x0602, 0, 0, 0),
			 -EINVAL);
	assert_int_equal(ovb_vstor_encode_simple(buf, 64, 0x0602, 15, 0, 0),
			 -EINVAL);
	assert_int_equal(ovb_vstor_encode_properties(buf, 64, 0x0602, 0, NULL),
			 -EINVAL);
	assert_int_equal(ovb_vstor_encode_version(buf, 47, 0x0200, 0x0200),
			 -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_sizes),
		cmocka_unit_test(test_reply_len),
		cmocka_unit_test(test_golden_version_reply),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_golden_srb),
		cmocka_unit_test(test_golden_simple),
		cmocka_unit_test(test_golden_complete),
		cmocka_unit_test(test_roundtrip_every_version),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_fc_wwn),
		cmocka_unit_test(test_encode_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
