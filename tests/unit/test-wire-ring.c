// SPDX-License-Identifier: MIT
/*
 * Wire-format tests for include/openvmbus/wire/ring.h and the class GUIDs:
 * the ring control page, the packet descriptor and trailer, the transfer-
 * page and GPA-direct headers (docs/wire.md B5/B6), and the wire bytes of
 * every device class GUID (B8).  Each struct is filled field by field and
 * compared with golden bytes written by hand, then decoded back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/guid.h"
#include "openvmbus/wire/ring.h"
#include "tests/lib/wire-check.h"

/* ---- B5: ring control page ---------------------------------------------- */

static const uint8_t control_golden[4096] = {
	[0] = 0x38, 0x12, 0x00, 0x00,  /* write_index 0x1238 */
	[4] = 0x00, 0x10, 0x00, 0x00,  /* read_index 0x1000 */
	[8] = 0x01, 0x00, 0x00, 0x00,  /* interrupt_mask 1 */
	[12] = 0x00, 0x04, 0x00, 0x00, /* pending_send_sz 1024 */
	[64] = 0x01, 0x00, 0x00, 0x00, /* feature_bits: pending_send_sz */
};

static void test_ring_control(void **state)
{
	static struct vmbus_ring_control c;

	memset(&c, 0, sizeof(c));
	c.write_index = 0x1238;
	c.read_index = 0x1000;
	c.interrupt_mask = 1;
	c.pending_send_sz = 1024;
	c.feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	assert_int_equal(sizeof(c), HV_PAGE_SIZE);
	expect_wire(&c, control_golden, sizeof(control_golden));

	memcpy(&c, control_golden, sizeof(c));
	assert_int_equal(c.write_index, 0x1238);
	assert_int_equal(c.read_index, 0x1000);
	assert_int_equal(c.interrupt_mask, 1);
	assert_int_equal(c.pending_send_sz, 1024);
	assert_int_equal(c.feature_bits, 1);
	assert_int_equal(offsetof(struct vmbus_ring_control, feature_bits),
			 64);
	assert_int_equal(offsetof(struct vmbus_ring_control, reserved1), 16);
}

/* ---- B6: descriptor, trailer, packet types ------------------------------ */

static const uint8_t desc_golden[16] = {
	0x06, 0x00, /* type: in-band */
	0x02, 0x00, /* offset8: payload at 16 */
	0x10, 0x00, /* len8: 128 bytes */
	0x01, 0x00, /* flags: completion requested */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* trans_id */
};

static void test_descriptor(void **state)
{
	struct vmpacket_descriptor d;

	memset(&d, 0, sizeof(d));
	d.type = VM_PKT_DATA_INBAND;
	d.offset8 = 2;
	d.len8 = 16;
	d.flags = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	d.trans_id = 0x0102030405060708ull;
	expect_wire(&d, desc_golden, sizeof(desc_golden));

	memcpy(&d, desc_golden, sizeof(d));
	assert_int_equal(d.type, 6);
	assert_int_equal(d.offset8, 2);
	assert_int_equal(d.len8, 16);
	assert_int_equal(d.flags, 1);
	assert_true(d.trans_id == 0x0102030405060708ull);
}

static void test_trailer(void **state)
{
	/* Upper 32 bits: the offset the packet started at (0x1238). */
	static const uint8_t golden[8] = { 0, 0, 0, 0, 0x38, 0x12, 0, 0 };
	uint64_t t = (uint64_t)0x1238 << 32;

	assert_int_equal(VMBUS_PKT_TRAILER_SIZE, 8);
	expect_wire(&t, golden, sizeof(golden));
}

static void test_packet_type_numbers(void **state)
{
	assert_int_equal(VM_PKT_INVALID, 0);
	assert_int_equal(VM_PKT_SYNCH, 1);
	assert_int_equal(VM_PKT_ADD_XFER_PAGESET, 2);
	assert_int_equal(VM_PKT_RM_XFER_PAGESET, 3);
	assert_int_equal(VM_PKT_ESTABLISH_GPADL, 4);
	assert_int_equal(VM_PKT_TEARDOWN_GPADL, 5);
	assert_int_equal(VM_PKT_DATA_INBAND, 6);
	assert_int_equal(VM_PKT_DATA_USING_XFER_PAGES, 7);
	assert_int_equal(VM_PKT_DATA_USING_GPADL, 8);
	assert_int_equal(VM_PKT_DATA_USING_GPA_DIRECT, 9);
	assert_int_equal(VM_PKT_CANCEL_REQUEST, 0xa);
	assert_int_equal(VM_PKT_COMP, 0xb);
	assert_int_equal(VM_PKT_DATA_USING_ADDITIONAL_PKT, 0xc);
	assert_int_equal(VM_PKT_ADDITIONAL_DATA, 0xd);
}

/* ---- B6: transfer-page packet (type 7) ---------------------------------- */

static const uint8_t xfer_golden[40] = {
	0x07, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00, /* 40 bytes, hdr 40 */
	0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* trans_id 42 */
	0xfe, 0xca,             /* @16 xfer_pageset_id 0xcafe */
	0x00,                   /* @18 sender_owns_set */
	0x77,                   /* @19 reserved (garbage allowed) */
	0x02, 0x00, 0x00, 0x00, /* @20 range_cnt 2 */
	0xea, 0x05, 0x00, 0x00, /* @24 byte_count 1514 */
	0x00, 0x00, 0x00, 0x00, /* @28 byte_offset 0 */
	0x3c, 0x00, 0x00, 0x00, /* @32 byte_count 60 */
	0xc0, 0x06, 0x00, 0x00, /* @36 byte_offset 1728 */
};

static void test_xfer_page_header(void **state)
{
	uint8_t buf[40];
	struct vmtransfer_page_packet_header *h = (void *)buf;

	memset(buf, 0, sizeof(buf));
	h->d.type = VM_PKT_DATA_USING_XFER_PAGES;
	h->d.offset8 = 5;
	h->d.len8 = 5;
	h->d.trans_id = 42;
	h->xfer_pageset_id = 0xcafe;
	h->sender_owns_set = 0;
	h->reserved = 0x77;
	h->range_cnt = 2;
	h->ranges[0].byte_count = 1514;
	h->ranges[0].byte_offset = 0;
	h->ranges[1].byte_count = 60;
	h->ranges[1].byte_offset = 1728;
	assert_int_equal(sizeof(*h), 24);
	assert_int_equal(sizeof(h->ranges[0]), 8);
	expect_wire(buf, xfer_golden, sizeof(xfer_golden));

	memcpy(buf, xfer_golden, sizeof(buf));
	assert_int_equal(h->xfer_pageset_id, 0xcafe);
	assert_int_equal(h->reserved, 0x77);
	assert_int_equal(h->range_cnt, 2);
	assert_int_equal(h->ranges[1].byte_count, 60);
	assert_int_equal(h->ranges[1].byte_offset, 1728);
}

/* ---- B6: GPA-direct packet (type 9) -------------------------------------- */

static const uint8_t gpa_direct_golden[48] = {
	0x09, 0x00, 0x06, 0x00, 0x06, 0x00, 0x01, 0x00, /* hdr = len = 48 */
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, /* trans_id */
	0xef, 0xbe, 0xad, 0xde,                         /* @16 reserved */
	0x01, 0x00, 0x00, 0x00,                         /* @20 range_cnt 1 */
	0x00, 0x10, 0x00, 0x00,                         /* @24 byte_count */
	0x00, 0x02, 0x00, 0x00,                         /* @28 byte_offset */
	0x34, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* @32 pfn 0x1234 */
	0x35, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* @40 pfn 0x1235 */
};

static void test_gpa_direct_header(void **state)
{
	uint8_t buf[48];
	struct vmdata_gpa_direct *h = (void *)buf;
	struct vmbus_gpa_range *r = (void *)(buf + sizeof(*h));

	memset(buf, 0, sizeof(buf));
	h->d.type = VM_PKT_DATA_USING_GPA_DIRECT;
	h->d.offset8 = 6;
	h->d.len8 = 6;
	h->d.flags = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	h->d.trans_id = 0x8000000000000001ull;
	h->reserved = 0xdeadbeef;
	h->range_cnt = 1;
	r->byte_count = 4096;
	r->byte_offset = 0x200;
	r->pfn_array[0] = 0x1234;
	r->pfn_array[1] = 0x1235;
	assert_int_equal(sizeof(*h), 24);
	expect_wire(buf, gpa_direct_golden, sizeof(gpa_direct_golden));

	memcpy(buf, gpa_direct_golden, sizeof(buf));
	assert_int_equal(h->d.type, 9);
	assert_true(h->d.trans_id == 0x8000000000000001ull);
	assert_int_equal(h->range_cnt, 1);
	assert_int_equal(r->byte_count, 4096);
	assert_int_equal(r->byte_offset, 0x200);
	assert_true(r->pfn_array[1] == 0x1235);
}

/* ---- B8: class GUIDs ----------------------------------------------------- */

static const struct {
	const struct vmbus_guid *guid;
	const char *str;
	uint8_t wire[16];
} classes[] = {
	{ &OVB_GUID_NET, "f8615163-df3e-46c5-913f-f2d2f965ed0e",
	  { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ &OVB_GUID_SCSI, "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
	  { 0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
	    0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f } },
	{ &OVB_GUID_IDE, "32412632-86cb-44a2-9b5c-50d1417354f5",
	  { 0x32, 0x26, 0x41, 0x32, 0xcb, 0x86, 0xa2, 0x44,
	    0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5 } },
	{ &OVB_GUID_FC, "2f9bcc4a-0069-4af3-b76b-6fd0be528cda",
	  { 0x4a, 0xcc, 0x9b, 0x2f, 0x69, 0x00, 0xf3, 0x4a,
	    0xb7, 0x6b, 0x6f, 0xd0, 0xbe, 0x52, 0x8c, 0xda } },
	{ &OVB_GUID_VPCI, "44c4f61d-4444-4400-9d52-802e27ede19f",
	  { 0x1d, 0xf6, 0xc4, 0x44, 0x44, 0x44, 0x00, 0x44,
	    0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f } },
	{ &OVB_GUID_SHUTDOWN, "0e0b6031-5213-4934-818b-38d90ced39db",
	  { 0x31, 0x60, 0x0b, 0x0e, 0x13, 0x52, 0x34, 0x49,
	    0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb } },
	{ &OVB_GUID_KVP, "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6",
	  { 0xe7, 0xf4, 0xa0, 0xa9, 0x45, 0x5a, 0x96, 0x4d,
	    0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6 } },
	{ &OVB_GUID_VSS, "35fa2e29-ea23-4236-96ae-3a6ebacba440",
	  { 0x29, 0x2e, 0xfa, 0x35, 0x23, 0xea, 0x36, 0x42,
	    0x96, 0xae, 0x3a, 0x6e, 0xba, 0xcb, 0xa4, 0x40 } },
	{ &OVB_GUID_TIMESYNC, "9527e630-d0ae-497b-adce-e80ab0175caf",
	  { 0x30, 0xe6, 0x27, 0x95, 0xae, 0xd0, 0x7b, 0x49,
	    0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf } },
	{ &OVB_GUID_HEARTBEAT, "57164f39-9115-4e78-ab55-382f3bd5422d",
	  { 0x39, 0x4f, 0x16, 0x57, 0x15, 0x91, 0x78, 0x4e,
	    0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d } },
	{ &OVB_GUID_ECHO, "9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19",
	  { 0x1d, 0x5e, 0x2c, 0x9a, 0x3f, 0x7b, 0x8e, 0x4c,
	    0xa1, 0xd6, 0x0e, 0x5f, 0x4b, 0x3a, 0x2c, 0x19 } },
};

#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

static void test_class_guid_first_8_bytes(void **state)
{
	/* The three docs/wire.md B8 spells out byte by byte. */
	static const uint8_t net[8] = { 0x63, 0x51, 0x61, 0xf8,
					0x3e, 0xdf, 0xc5, 0x46 };
	static const uint8_t scsi[8] = { 0xd9, 0x63, 0x61, 0xba,
					 0xa1, 0x04, 0x29, 0x4d };
	static const uint8_t ide[8] = { 0x32, 0x26, 0x41, 0x32,
					0xcb, 0x86, 0xa2, 0x44 };

	expect_wire(OVB_GUID_NET.b, net, 8);
	expect_wire(OVB_GUID_SCSI.b, scsi, 8);
	expect_wire(OVB_GUID_IDE.b, ide, 8);
}

static void test_class_guid_wire_bytes(void **state)
{
	for (size_t i = 0; i < N_CLASSES; i++) {
		if (memcmp(classes[i].guid->b, classes[i].wire, 16) != 0)
			print_message("class %s:\n", classes[i].str);
		expect_wire(classes[i].guid->b, classes[i].wire, 16);
	}
}

static void test_class_guid_roundtrip(void **state)
{
	for (size_t i = 0; i < N_CLASSES; i++) {
		struct vmbus_guid g;
		char s[37];

		assert_int_equal(ovb_guid_parse(classes[i].str, &g), 0);
		expect_wire(g.b, classes[i].wire, 16);
		ovb_guid_format(classes[i].guid, s);
		assert_string_equal(s, classes[i].str);
		for (size_t j = 0; j < N_CLASSES; j++)
			assert_int_equal(ovb_guid_equal(&g, classes[j].guid),
					 i == j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_control),
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_trailer),
		cmocka_unit_test(test_packet_type_numbers),
		cmocka_unit_test(test_xfer_page_header),
		cmocka_unit_test(test_gpa_direct_header),
		cmocka_unit_test(test_class_guid_first_8_bytes),
		cmocka_unit_test(test_class_guid_wire_bytes),
		cmocka_unit_test(test_class_guid_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
