// SPDX-License-Identifier: MIT
/*
 * Wire-format tests for include/openvmbus/wire/vmbus.h: every struct is
 * filled field by field and compared with golden bytes written by hand from
 * docs/wire.md B1-B4 and B7 (offsets and little-endian values), then the
 * golden bytes are decoded back through the struct.  The ring and packet
 * structs of wire/ring.h and the class GUIDs are in test-wire-ring.c;
 * INITIATE_CONTACT onwards is in test-wire-contact.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/guid.h"
#include "openvmbus/wire/vmbus.h"
#include "tests/lib/wire-check.h"

/* ---- B1: SynIC message transport ---------------------------------------- */

static const uint8_t hv_message_golden[256] = {
	[0] = 0x01,                   /* message_type 1 */
	[4] = 0xf0,                   /* payload_size 240 */
	[5] = 0x01,                   /* flags: message pending */
	[8] = 0x88, 0x77, 0x66, 0x55, /* sender 0x1122334455667788 */
	0x44, 0x33, 0x22, 0x11,
	[16] = 0xaa,                  /* payload[0] */
	[255] = 0xbb,                 /* payload[239] */
};

static void test_hv_message_encode(void **state)
{
	struct hv_message m;

	memset(&m, 0, sizeof(m));
	m.header.message_type = HVMSG_VMBUS;
	m.header.payload_size = HV_MESSAGE_PAYLOAD_BYTE_COUNT;
	m.header.message_flags = 1;
	m.header.sender = 0x1122334455667788ull;
	m.payload[0] = 0xaa;
	m.payload[239] = 0xbb;
	assert_int_equal(sizeof(m), HV_MESSAGE_SIZE);
	assert_int_equal(sizeof(m.header), 16);
	expect_wire(&m, hv_message_golden, sizeof(hv_message_golden));
}

static void test_hv_message_decode(void **state)
{
	struct hv_message m;

	memcpy(&m, hv_message_golden, sizeof(m));
	assert_int_equal(m.header.message_type, 1);
	assert_int_equal(m.header.payload_size, 240);
	assert_int_equal(m.header.message_flags, 1);
	assert_int_equal(m.header.reserved, 0);
	assert_true(m.header.sender == 0x1122334455667788ull);
	assert_int_equal(m.payload[0], 0xaa);
	assert_int_equal(m.payload[239], 0xbb);
}

static const uint8_t post_message_golden[256] = {
	[0] = 0x04,  /* connection_id 4 */
	[8] = 0x01,  /* message_type 1 */
	[12] = 0x38, /* payload_size 56 */
	[16] = 0x0e, /* payload: INITIATE_CONTACT header */
	[255] = 0xcc,
};

static void test_post_message(void **state)
{
	struct hv_input_post_message m;

	memset(&m, 0, sizeof(m));
	m.connection_id = VMBUS_MESSAGE_CONNECTION_ID_4;
	m.message_type = HVMSG_VMBUS;
	m.payload_size = VMBUS_INITIATE_CONTACT2_SIZE;
	m.payload[0] = CHANNELMSG_INITIATE_CONTACT;
	m.payload[239] = 0xcc;
	expect_wire(&m, post_message_golden, sizeof(post_message_golden));

	memset(&m, 0xff, sizeof(m));
	memcpy(&m, post_message_golden, sizeof(m));
	assert_int_equal(m.connection_id, 4);
	assert_int_equal(m.reserved, 0);
	assert_int_equal(m.message_type, 1);
	assert_int_equal(m.payload_size, 56);
	assert_int_equal(m.payload[0], 14);
}

static void test_ids_and_versions(void **state)
{
	assert_int_equal(VMBUS_MESSAGE_CONNECTION_ID, 1);
	assert_int_equal(VMBUS_EVENT_CONNECTION_ID, 2);
	assert_int_equal(VMBUS_MONITOR_CONNECTION_ID, 3);
	assert_int_equal(VMBUS_MESSAGE_CONNECTION_ID_4, 4);
	assert_int_equal(VMBUS_MESSAGE_SINT, 2);
	assert_int_equal(VMBUS_CHAN_CONNECTION_ID_BASE, 0x2000);
	assert_int_equal(VMBUS_VERSION_WS2008, 0x0000000d);
	assert_int_equal(VMBUS_VERSION_WIN7, 0x00010001);
	assert_int_equal(VMBUS_VERSION_WIN8, 0x00020004);
	assert_int_equal(VMBUS_VERSION_WIN8_1, 0x00030000);
	assert_int_equal(VMBUS_VERSION_WIN10, 0x00040000);
	assert_int_equal(VMBUS_VERSION_WIN10_V4_1, 0x00040001);
	assert_int_equal(VMBUS_VERSION_WIN10_V5, 0x00050000);
	assert_int_equal(VMBUS_VERSION_WIN10_V5_1, 0x00050001);
	assert_int_equal(VMBUS_VERSION_WIN10_V5_2, 0x00050002);
	assert_int_equal(VMBUS_VERSION_WIN10_V5_3, 0x00050003);
	assert_int_equal(VMBUS_VERSION_WIN10_V6_0, 0x00060000);
}

static void test_message_type_numbers(void **state)
{
	static const int want[] = {
		CHANNELMSG_INVALID, CHANNELMSG_OFFERCHANNEL,
		CHANNELMSG_RESCIND_CHANNELOFFER, CHANNELMSG_REQUESTOFFERS,
		CHANNELMSG_ALLOFFERS_DELIVERED, CHANNELMSG_OPENCHANNEL,
		CHANNELMSG_OPENCHANNEL_RESULT, CHANNELMSG_CLOSECHANNEL,
		CHANNELMSG_GPADL_HEADER, CHANNELMSG_GPADL_BODY,
		CHANNELMSG_GPADL_CREATED, CHANNELMSG_GPADL_TEARDOWN,
		CHANNELMSG_GPADL_TORNDOWN, CHANNELMSG_RELID_RELEASED,
		CHANNELMSG_INITIATE_CONTACT, CHANNELMSG_VERSION_RESPONSE,
		CHANNELMSG_UNLOAD, CHANNELMSG_UNLOAD_RESPONSE,
		CHANNELMSG_OPEN_RESERVED_CHANNEL,
		CHANNELMSG_CLOSE_RESERVED_CHANNEL,
		CHANNELMSG_CLOSE_RESERVED_RESPONSE,
		CHANNELMSG_TL_CONNECT_REQUEST, CHANNELMSG_MODIFYCHANNEL,
		CHANNELMSG_TL_CONNECT_RESULT,
		CHANNELMSG_MODIFYCHANNEL_RESPONSE,
		CHANNELMSG_MODIFY_CONNECTION,
		CHANNELMSG_MODIFY_CONNECTION_RESPONSE, CHANNELMSG_PAUSE,
		CHANNELMSG_PAUSE_RESPONSE, CHANNELMSG_RESUME,
	};

	/* docs/wire.md B3 numbers them 0..29 in this order. */
	for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++)
		assert_int_equal(want[i], i);
	assert_int_equal(CHANNELMSG_COUNT, 30);
}

/* Messages that are only the 8-byte header. */
static void test_header_only_messages(void **state)
{
	static const uint32_t types[] = { 3, 4, 16, 17, 27, 28, 29 };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct vmbus_channel_message_header h = { 0 };
		const uint8_t golden[8] = { (uint8_t)types[i] };

		h.msgtype = types[i];
		expect_wire(&h, golden, sizeof(golden));
	}
	assert_int_equal(sizeof(struct vmbus_channel_message_header), 8);
}

/* ---- B3: OFFER_CHANNEL -------------------------------------------------- */

static const uint8_t offer_golden[196] = {
	[0] = 0x01, /* msgtype OFFER_CHANNEL */
	/* if_type @8: NET */
	[8] = 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e,
	/* if_instance @24 */
	[24] = 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	/* int_latency @40, if_revision @48, server_ctx_size @52 */
	[40] = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	[48] = 0x09, 0x0a, 0x0b, 0x0c,
	[52] = 0x00, 0x01, 0x00, 0x00,
	[56] = 0x01, 0x24, /* chn_flags 0x2401 */
	[58] = 0x10, 0x00, /* mmio_megabytes 16 */
	[60] = 0x55,       /* user_defined[0] */
	[179] = 0x77,      /* user_defined[119] */
	[180] = 0x03, 0x00, /* sub_channel_index 3 */
	[184] = 0x2a, 0x00, 0x00, 0x00, /* child_relid 42 */
	[188] = 0x41,       /* monitorid 65 */
	[189] = 0x01,       /* monitor_allocated */
	[190] = 0x01, 0x00, /* is_dedicated_interrupt */
	[192] = 0x2a, 0x20, 0x00, 0x00, /* connection_id 0x202a */
};

static void test_offer_encode(void **state)
{
	struct vmbus_channel_offer_channel m;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_OFFERCHANNEL;
	m.if_type = OVB_GUID_NET;
	m.if_instance = guid_c0;
	m.int_latency = 0x0807060504030201ull;
	m.if_revision = 0x0c0b0a09;
	m.server_ctx_size = 0x100;
	m.chn_flags = VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER |
		      VMBUS_CHANNEL_REQUEST_MONITORED_NOTIFICATION |
		      VMBUS_CHANNEL_ENUMERATE_DEVICE_INTERFACE;
	m.mmio_megabytes = 16;
	m.user_defined[0] = 0x55;
	m.user_defined[119] = 0x77;
	m.sub_channel_index = 3;
	m.child_relid = 42;
	m.monitorid = 65;
	m.monitor_allocated = 1;
	m.is_dedicated_interrupt = 1;
	m.connection_id = VMBUS_CHAN_CONNECTION_ID_BASE + 42;
	expect_wire(&m, offer_golden, sizeof(offer_golden));
}

static void test_offer_decode(void **state)
{
	struct vmbus_channel_offer_channel m;

	memcpy(&m, offer_golden, sizeof(m));
	assert_int_equal(m.header.msgtype, 1);
	assert_int_equal(m.header.padding, 0);
	assert_true(ovb_guid_equal(&m.if_type, &OVB_GUID_NET));
	assert_true(ovb_guid_equal(&m.if_instance, &guid_c0));
	assert_int_equal(m.chn_flags, 0x2401);
	assert_int_equal(m.mmio_megabytes, 16);
	assert_int_equal(m.user_defined[0], 0x55);
	assert_int_equal(m.user_defined[119], 0x77);
	assert_int_equal(m.sub_channel_index, 3);
	assert_int_equal(m.reserved, 0);
	assert_int_equal(m.child_relid, 42);
	assert_int_equal(m.monitorid, 65);
	assert_int_equal(m.monitor_allocated, 1);
	assert_int_equal(m.is_dedicated_interrupt, 1);
	assert_int_equal(m.connection_id, 0x202a);
}

static void test_offer_flags(void **state)
{
	assert_int_equal(VMBUS_CHANNEL_ENUMERATE_DEVICE_INTERFACE, 0x1);
	assert_int_equal(VMBUS_CHANNEL_CONFIDENTIAL_RING_BUFFER, 0x2);
	assert_int_equal(VMBUS_CHANNEL_CONFIDENTIAL_EXTERNAL_MEMORY, 0x4);
	assert_int_equal(VMBUS_CHANNEL_NAMED_PIPE_MODE, 0x10);
	assert_int_equal(VMBUS_CHANNEL_LOOPBACK_OFFER, 0x100);
	assert_int_equal(VMBUS_CHANNEL_PARENT_OFFER, 0x200);
	assert_int_equal(VMBUS_CHANNEL_REQUEST_MONITORED_NOTIFICATION, 0x400);
	assert_int_equal(VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER, 0x2000);
}

/* ---- B3: relid-only messages -------------------------------------------- */

static void test_relid_messages(void **state)
{
	static const uint32_t types[] = {
		CHANNELMSG_RESCIND_CHANNELOFFER, CHANNELMSG_CLOSECHANNEL,
		CHANNELMSG_RELID_RELEASED, CHANNELMSG_CLOSE_RESERVED_RESPONSE,
	};
	static const uint8_t want_types[] = { 2, 7, 13, 20 };

	for (size_t i = 0; i < 4; i++) {
		struct vmbus_channel_relid_msg m = { 0 };
		const uint8_t golden[12] = {
			want_types[i], 0, 0, 0, 0, 0, 0, 0,
			0x78, 0x56, 0x34, 0x12,
		};

		m.header.msgtype = types[i];
		m.child_relid = 0x12345678;
		expect_wire(&m, golden, sizeof(golden));
		memcpy(&m, golden, sizeof(m));
		assert_int_equal(m.child_relid, 0x12345678);
	}
}

/* ---- B3: OPEN_CHANNEL and its result ------------------------------------ */

static const uint8_t open_golden[156] = {
	[0] = 0x05,                     /* msgtype OPEN_CHANNEL */
	[8] = 0x2a, 0x00, 0x00, 0x00,   /* child_relid 42 */
	[12] = 0xef, 0xbe, 0x00, 0x00,  /* openid 0xbeef */
	[16] = 0x10, 0x1e, 0x0e, 0x00,  /* gpadl 0xe1e10 */
	[20] = 0xff, 0xff, 0xff, 0xff,  /* target_vp: none */
	[24] = 0x00, 0x02, 0x00, 0x00,  /* downstream page offset 512 */
	[28] = 0x99,                    /* userdata[0] */
	[147] = 0x98,                   /* userdata[119] */
	[148] = 0x05, 0x20, 0x00, 0x00, /* v2: connection_id 0x2005 */
	[152] = 0x07, 0x00,             /* v2: event_flag 7 */
	[154] = 0x01, 0x00,             /* v2: flags: redirect interrupt */
};

static void open_fill(struct vmbus_channel_open_channel *m)
{
	memset(m, 0, sizeof(*m));
	m->header.msgtype = CHANNELMSG_OPENCHANNEL;
	m->child_relid = 42;
	m->openid = 0xbeef;
	m->ringbuffer_gpadlhandle = 0xe1e10;
	m->target_vp = 0xffffffff;
	m->downstream_ringbuffer_pageoffset = 512;
	m->userdata[0] = 0x99;
	m->userdata[119] = 0x98;
}

static void test_open_148(void **state)
{
	struct vmbus_channel_open_channel m;

	open_fill(&m);
	expect_wire(&m, open_golden, VMBUS_OPEN_CHANNEL_SIZE);
	memset(&m, 0xff, sizeof(m));
	memcpy(&m, open_golden, VMBUS_OPEN_CHANNEL_SIZE);
	assert_int_equal(m.child_relid, 42);
	assert_int_equal(m.openid, 0xbeef);
	assert_int_equal(m.ringbuffer_gpadlhandle, 0xe1e10);
	assert_int_equal(m.target_vp, 0xffffffff);
	assert_int_equal(m.downstream_ringbuffer_pageoffset, 512);
	assert_int_equal(m.userdata[119], 0x98);
	assert_int_equal(m.connection_id, 0xffffffff); /* not in 148 */
}

static void test_open_156(void **state)
{
	struct vmbus_channel_open_channel m;

	open_fill(&m);
	m.connection_id = 0x2005;
	m.event_flag = 7;
	m.flags = 1;
	assert_int_equal(sizeof(m), VMBUS_OPEN_CHANNEL2_SIZE);
	expect_wire(&m, open_golden, sizeof(open_golden));
	memcpy(&m, open_golden, sizeof(m));
	assert_int_equal(m.connection_id, 0x2005);
	assert_int_equal(m.event_flag, 7);
	assert_int_equal(m.flags, 1);
}

static void test_open_result(void **state)
{
	static const uint8_t golden[20] = {
		0x06, 0, 0, 0, 0, 0, 0, 0,
		0x2a, 0x00, 0x00, 0x00, /* child_relid */
		0xef, 0xbe, 0x00, 0x00, /* openid */
		0x36, 0x02, 0x00, 0xc0, /* status CONNECTION_REFUSED */
	};
	struct vmbus_channel_open_result m = { 0 };

	m.header.msgtype = CHANNELMSG_OPENCHANNEL_RESULT;
	m.child_relid = 42;
	m.openid = 0xbeef;
	m.status = VMBUS_STATUS_CONNECTION_REFUSED;
	expect_wire(&m, golden, sizeof(golden));
	memcpy(&m, golden, sizeof(m));
	assert_int_equal(m.status, 0xc0000236);
	assert_int_equal(VMBUS_STATUS_UNSUCCESSFUL, 0x8000ffff);
	assert_int_equal(VMBUS_STATUS_SUCCESS, 0);
}

/* ---- B3/B4: GPADL messages ---------------------------------------------- */

/* GPADL_HEADER with one range: 8 KiB at offset 0x100 spans 3 pages. */
static const uint8_t gpadl_header_golden[52] = {
	0x08, 0, 0, 0, 0, 0, 0, 0,
	0x2a, 0x00, 0x00, 0x00,                         /* @8 child_relid */
	0x10, 0x1e, 0x0e, 0x00,                         /* @12 gpadl */
	0x20, 0x00,                                     /* @16 buflen 32 */
	0x01, 0x00,                                     /* @18 rangecount 1 */
	0x00, 0x20, 0x00, 0x00,                         /* @20 byte_count */
	0x00, 0x01, 0x00, 0x00,                         /* @24 byte_offset */
	0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* @28 pfn 0x10000 */
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* @36 pfn 0x10001 */
	0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00, /* @44 pfn 2^35-1 */
};

static void test_gpadl_header(void **state)
{
	uint8_t buf[52];
	struct vmbus_channel_gpadl_header *h = (void *)buf;
	struct vmbus_gpa_range *r = (void *)(buf + sizeof(*h));

	memset(buf, 0, sizeof(buf));
	h->header.msgtype = CHANNELMSG_GPADL_HEADER;
	h->child_relid = 42;
	h->gpadl = 0xe1e10;
	h->range_buflen = sizeof(*r) + 3 * sizeof(uint64_t);
	h->rangecount = 1;
	r->byte_count = 0x2000;
	r->byte_offset = 0x100;
	r->pfn_array[0] = 0x10000;
	r->pfn_array[1] = 0x10001;
	r->pfn_array[2] = 0x7ffffffffull; /* a GPA just below 2^47 */
	assert_int_equal(sizeof(*h), 20);
	assert_int_equal(sizeof(*r), 8);
	expect_wire(buf, gpadl_header_golden, sizeof(gpadl_header_golden));

	memcpy(buf, gpadl_header_golden, sizeof(buf));
	assert_int_equal(h->child_relid, 42);
	assert_int_equal(h->gpadl, 0xe1e10);
	assert_int_equal(h->range_buflen, 32);
	assert_int_equal(h->rangecount, 1);
	assert_int_equal(r->byte_count, 0x2000);
	assert_int_equal(r->byte_offset, 0x100);
	assert_true(r->pfn_array[2] == 0x7ffffffffull);
	/* 240-byte payload: 26 PFNs after the header and one range. */
	assert_int_equal(VMBUS_GPADL_HEADER_MAX_PFNS,
			 (HV_MESSAGE_PAYLOAD_BYTE_COUNT - 20 - 8) / 8);
}

static void test_gpadl_body(void **state)
{
	static const uint8_t golden[32] = {
		0x09, 0, 0, 0, 0, 0, 0, 0,
		0x01, 0x00, 0x00, 0x00,                         /* msgnumber */
		0x10, 0x1e, 0x0e, 0x00,                         /* gpadl */
		0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x20000 */
		0xf1, 0xee, 0xdb, 0xea, 0x0d, 0x00, 0x00, 0x00, /* big pfn */
	};
	uint8_t buf[32];
	struct vmbus_channel_gpadl_body *b = (void *)buf;

	memset(buf, 0, sizeof(buf));
	b->header.msgtype = CHANNELMSG_GPADL_BODY;
	b->msgnumber = 1;
	b->gpadl = 0xe1e10;
	b->pfn[0] = 0x20000;
	b->pfn[1] = 0xdeadbeef1ull;
	assert_int_equal(sizeof(*b), 16);
	expect_wire(buf, golden, sizeof(golden));
	memcpy(buf, golden, sizeof(buf));
	assert_int_equal(b->msgnumber, 1);
	assert_true(b->pfn[1] == 0xdeadbeef1ull);
	assert_int_equal(VMBUS_GPADL_BODY_MAX_PFNS,
			 (HV_MESSAGE_PAYLOAD_BYTE_COUNT - 16) / 8);
}

static void test_gpadl_created_teardown_torndown(void **state)
{
	static const uint8_t created[20] = {
		0x0a, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0, 0, 0,
		0x10, 0x1e, 0x0e, 0x00, 0x01, 0x00, 0x00, 0xc0,
	};
	static const uint8_t teardown[16] = {
		0x0b, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0, 0, 0,
		0x10, 0x1e, 0x0e, 0x00,
	};
	static const uint8_t torndown[12] = {
		0x0c, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x1e, 0x0e, 0x00,
	};
	struct vmbus_channel_gpadl_created c = { 0 };
	struct vmbus_channel_gpadl_teardown t = { 0 };
	struct vmbus_channel_gpadl_torndown d = { 0 };

	c.header.msgtype = CHANNELMSG_GPADL_CREATED;
	c.child_relid = 42;
	c.gpadl = 0xe1e10;
	c.creation_status = 0xc0000001;
	expect_wire(&c, created, sizeof(created));
	t.header.msgtype = CHANNELMSG_GPADL_TEARDOWN;
	t.child_relid = 42;
	t.gpadl = 0xe1e10;
	expect_wire(&t, teardown, sizeof(teardown));
	d.header.msgtype = CHANNELMSG_GPADL_TORNDOWN;
	d.gpadl = 0xe1e10;
	expect_wire(&d, torndown, sizeof(torndown));

	memcpy(&c, created, sizeof(c));
	assert_int_equal(c.creation_status, 0xc0000001);
	memcpy(&t, teardown, sizeof(t));
	assert_int_equal(t.gpadl, 0xe1e10);
	memcpy(&d, torndown, sizeof(d));
	assert_int_equal(d.gpadl, 0xe1e10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hv_message_encode),
		cmocka_unit_test(test_hv_message_decode),
		cmocka_unit_test(test_post_message),
		cmocka_unit_test(test_ids_and_versions),
		cmocka_unit_test(test_message_type_numbers),
		cmocka_unit_test(test_header_only_messages),
		cmocka_unit_test(test_offer_encode),
		cmocka_unit_test(test_offer_decode),
		cmocka_unit_test(test_offer_flags),
		cmocka_unit_test(test_relid_messages),
		cmocka_unit_test(test_open_148),
		cmocka_unit_test(test_open_156),
		cmocka_unit_test(test_open_result),
		cmocka_unit_test(test_gpadl_header),
		cmocka_unit_test(test_gpadl_body),
		cmocka_unit_test(test_gpadl_created_teardown_torndown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
