// SPDX-License-Identifier: MIT
/*
 * Wire-format tests for include/openvmbus/wire/vmbus.h, second half:
 * INITIATE_CONTACT, VERSION_RESPONSE and the messages after them, the
 * monitor and interrupt pages (docs/wire.md B3-B7), golden bytes written
 * by hand as in test-wire-vmbus.c, which has the SynIC transport, offers,
 * relids, OPENCHANNEL and GPADLs.
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

/* ---- B3: INITIATE_CONTACT and VERSION_RESPONSE -------------------------- */

static void test_initiate_contact_40(void **state)
{
	/* Before 5.0: the u64 at 16 is the interrupt page GPA. */
	static const uint8_t golden[40] = {
		0x0e, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x00, 0x04, 0x00,                         /* 4.0 */
		0x00, 0x00, 0x00, 0x00,                         /* vcpu 0 */
		0x00, 0x50, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, /* int page */
		0x00, 0x60, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, /* monitor 1 */
		0x00, 0x70, 0x34, 0x12, 0x01, 0x00, 0x00, 0x00, /* monitor 2 */
	};
	struct vmbus_channel_initiate_contact m;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	m.vmbus_version_requested = VMBUS_VERSION_WIN10;
	m.target_vcpu = 0;
	m.interrupt_page = 0x12345000;
	m.monitor_page1 = 0x12346000;
	m.monitor_page2 = 0x112347000ull;
	expect_wire(&m, golden, VMBUS_INITIATE_CONTACT_SIZE);
	memcpy(&m, golden, sizeof(golden));
	assert_int_equal(m.vmbus_version_requested, 0x00040000);
	assert_true(m.interrupt_page == 0x12345000);
	assert_true(m.monitor_page1 == 0x12346000);
	assert_true(m.monitor_page2 == 0x112347000ull);
}

static void test_initiate_contact_56(void **state)
{
	/* 6.0: the u64 at 16 is {msg_sint, msg_vtl, reserved, features}. */
	static const uint8_t golden[56] = {
		0x0e, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x00, 0x06, 0x00,                         /* 6.0 */
		0x01, 0x00, 0x00, 0x00,                         /* vcpu 1 */
		0x02, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, /* sint 2 */
		0x00, 0x60, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x70, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, /* client id */
		0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	};
	struct vmbus_channel_initiate_contact m;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	m.vmbus_version_requested = VMBUS_VERSION_WIN10_V6_0;
	m.target_vcpu = 1;
	m.msg_sint = VMBUS_MESSAGE_SINT;
	m.msg_vtl = 0;
	m.feature_flags = VMBUS_FEATURE_GUEST_SIGNAL_PARAMS |
			  VMBUS_FEATURE_INTERRUPT_REDIRECTION |
			  VMBUS_FEATURE_MODIFY_CONNECTION |
			  VMBUS_FEATURE_CLIENT_ID |
			  VMBUS_FEATURE_CONFIDENTIAL_CHANNELS |
			  VMBUS_FEATURE_PAUSE_RESUME;
	m.monitor_page1 = 0x12346000;
	m.monitor_page2 = 0x12347000;
	m.client_id = guid_c0;
	assert_int_equal(sizeof(m), VMBUS_INITIATE_CONTACT2_SIZE);
	expect_wire(&m, golden, sizeof(golden));

	memcpy(&m, golden, sizeof(m));
	assert_int_equal(m.msg_sint, 2);
	assert_int_equal(m.msg_vtl, 0);
	assert_int_equal(m.feature_flags, 0x3f);
	/* The same 8 bytes read as the pre-5.0 interrupt page. */
	assert_true(m.interrupt_page == 0x0000003f00000002ull);
	assert_true(ovb_guid_equal(&m.client_id, &guid_c0));
	assert_int_equal(VMBUS_FEATURE_SERVER_MONITOR_PAGES, 0x40);
	assert_int_equal(VMBUS_FEATURE_GPA_PINNING, 0x80);
}

static const uint8_t version_response_golden[40] = {
	0x0f, 0, 0, 0, 0, 0, 0, 0,
	0x01, 0x00, 0x00, 0x00,                         /* supported, ok */
	0x04, 0x00, 0x00, 0x00,                         /* msg_conn_id 4 */
	0x1f, 0x00, 0x00, 0x00,                         /* v2: features */
	0x00, 0x00, 0x00, 0x00,                         /* v3: padding */
	0x00, 0x80, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, /* v3: monitor 1 */
	0x00, 0x90, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, /* v3: monitor 2 */
};

static void version_response_fill(struct vmbus_channel_version_response *m)
{
	memset(m, 0, sizeof(*m));
	m->header.msgtype = CHANNELMSG_VERSION_RESPONSE;
	m->version_supported = 1;
	m->connection_state = VMBUS_CONNECTION_STATE_OK;
	m->msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID_4;
}

static void test_version_response_16_20_40(void **state)
{
	struct vmbus_channel_version_response m;

	version_response_fill(&m);
	expect_wire(&m, version_response_golden, VMBUS_VERSION_RESPONSE_SIZE);
	m.supported_features = 0x1f;
	expect_wire(&m, version_response_golden,
		    VMBUS_VERSION_RESPONSE2_SIZE);
	m.monitor_page1 = 0x12348000;
	m.monitor_page2 = 0x12349000;
	assert_int_equal(sizeof(m), VMBUS_VERSION_RESPONSE3_SIZE);
	expect_wire(&m, version_response_golden,
		    VMBUS_VERSION_RESPONSE3_SIZE);

	memcpy(&m, version_response_golden, sizeof(m));
	assert_int_equal(m.version_supported, 1);
	assert_int_equal(m.connection_state, 0);
	assert_int_equal(m.msg_conn_id, 4);
	assert_int_equal(m.supported_features, 0x1f);
	assert_true(m.monitor_page2 == 0x12349000);
}

static void test_version_response_refused(void **state)
{
	static const uint8_t golden[16] = {
		0x0f, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00, 0, 0, 0, 0,
	};
	struct vmbus_channel_version_response m;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_VERSION_RESPONSE;
	m.connection_state = VMBUS_CONNECTION_STATE_FAILURE;
	expect_wire(&m, golden, sizeof(golden));
	assert_int_equal(VMBUS_CONNECTION_STATE_LOW_RESOURCES, 1);
}

/* ---- B3: MODIFY_CHANNEL, reserved channels, hvsock, connection ---------- */

static void test_modify_channel_and_response(void **state)
{
	static const uint8_t modify[16] = {
		0x16, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0, 0, 0, 0x03, 0, 0, 0,
	};
	static const uint8_t response[16] = {
		0x18, 0, 0, 0, 0, 0, 0, 0,
		0x2a, 0, 0, 0, 0xff, 0xff, 0x00, 0x80,
	};
	struct vmbus_channel_modify_channel m = { 0 };
	struct vmbus_channel_modify_channel_response r = { 0 };

	m.header.msgtype = CHANNELMSG_MODIFYCHANNEL;
	m.child_relid = 42;
	m.target_vp = 3;
	expect_wire(&m, modify, sizeof(modify));
	r.header.msgtype = CHANNELMSG_MODIFYCHANNEL_RESPONSE;
	r.child_relid = 42;
	r.status = VMBUS_STATUS_UNSUCCESSFUL;
	expect_wire(&r, response, sizeof(response));
	memcpy(&m, modify, sizeof(m));
	assert_int_equal(m.target_vp, 3);
	memcpy(&r, response, sizeof(r));
	assert_int_equal(r.status, 0x8000ffff);
}

static void test_reserved_channel_messages(void **state)
{
	static const uint8_t open[28] = {
		0x12, 0, 0, 0, 0, 0, 0, 0,
		0x2a, 0, 0, 0,          /* relid */
		0x01, 0, 0, 0,          /* target_vp */
		0x02, 0, 0, 0,          /* target_sint */
		0x10, 0x1e, 0x0e, 0x00, /* gpadl */
		0x10, 0, 0, 0,          /* downstream page offset */
	};
	static const uint8_t close[20] = {
		0x13, 0, 0, 0, 0, 0, 0, 0,
		0x2a, 0, 0, 0, 0x01, 0, 0, 0, 0x02, 0, 0, 0,
	};
	struct vmbus_channel_open_reserved o = { 0 };
	struct vmbus_channel_close_reserved c = { 0 };

	o.header.msgtype = CHANNELMSG_OPEN_RESERVED_CHANNEL;
	o.child_relid = 42;
	o.target_vp = 1;
	o.target_sint = 2;
	o.ringbuffer_gpadlhandle = 0xe1e10;
	o.downstream_page_offset = 16;
	expect_wire(&o, open, sizeof(open));
	c.header.msgtype = CHANNELMSG_CLOSE_RESERVED_CHANNEL;
	c.child_relid = 42;
	c.target_vp = 1;
	c.target_sint = 2;
	expect_wire(&c, close, sizeof(close));
	memcpy(&o, open, sizeof(o));
	assert_int_equal(o.ringbuffer_gpadlhandle, 0xe1e10);
	assert_int_equal(o.downstream_page_offset, 16);
	memcpy(&c, close, sizeof(c));
	assert_int_equal(c.target_sint, 2);
}

static void test_tl_connect(void **state)
{
	uint8_t golden[56] = { 0x15 };
	uint8_t result[44] = { 0x17 };
	struct vmbus_channel_tl_connect_request q;
	struct vmbus_channel_tl_connect_result r;

	/* endpoint @8, service @24, silo @40; result status @40 */
	memcpy(golden + 8, guid_c0.b, 16);
	memcpy(golden + 24, OVB_GUID_KVP.b, 16);
	memcpy(golden + 40, OVB_GUID_VSS.b, 16);
	memcpy(result + 8, guid_c0.b, 16);
	memcpy(result + 24, OVB_GUID_KVP.b, 16);
	result[40] = 0x36; /* status 0xc0000236 */
	result[41] = 0x02;
	result[43] = 0xc0;

	memset(&q, 0, sizeof(q));
	q.header.msgtype = CHANNELMSG_TL_CONNECT_REQUEST;
	q.guest_endpoint_id = guid_c0;
	q.host_service_id = OVB_GUID_KVP;
	expect_wire(&q, golden, 40); /* before 5.2: no silo */
	q.silo_id = OVB_GUID_VSS;
	expect_wire(&q, golden, sizeof(golden));

	memset(&r, 0, sizeof(r));
	r.header.msgtype = CHANNELMSG_TL_CONNECT_RESULT;
	r.guest_endpoint_id = guid_c0;
	r.host_service_id = OVB_GUID_KVP;
	r.status = (int32_t)VMBUS_STATUS_CONNECTION_REFUSED;
	expect_wire(&r, result, sizeof(result));
	memcpy(&r, result, sizeof(r));
	assert_true(r.status < 0);
	assert_true(ovb_guid_equal(&r.host_service_id, &OVB_GUID_KVP));
}

static void test_modify_connection(void **state)
{
	static const uint8_t golden[24] = {
		0x19, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0xa0, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,
		0x00, 0xb0, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t response[9] = { 0x1a, 0, 0, 0, 0, 0, 0, 0, 0x01 };
	struct vmbus_channel_modify_connection m = { 0 };
	struct vmbus_channel_modify_connection_response r = { 0 };

	m.header.msgtype = CHANNELMSG_MODIFY_CONNECTION;
	m.monitor_page1 = 0x1234a000;
	m.monitor_page2 = 0x1234b000;
	expect_wire(&m, golden, sizeof(golden));
	r.header.msgtype = CHANNELMSG_MODIFY_CONNECTION_RESPONSE;
	r.connection_state = VMBUS_CONNECTION_STATE_LOW_RESOURCES;
	assert_int_equal(sizeof(r), 9);
	expect_wire(&r, response, sizeof(response));
	memcpy(&m, golden, sizeof(m));
	assert_true(m.monitor_page2 == 0x1234b000);
}

/* ---- B7: monitor page; B1: interrupt page -------------------------------- */

/* Monitor id 37 = group 1, bit 5; the child uses connection 0x2025. */
static const uint8_t monitor_golden[4096] = {
	[0] = 0x0f,                         /* trigger_state: 4 groups */
	[16] = 0x20, 0x00, 0x00, 0x00,      /* group 1 pending: bit 5 */
	[20] = 0x20, 0x00, 0x00, 0x00,      /* group 1 armed: bit 5 */
	[64 + 37 * 4] = 0x10, 0x27, 0, 0,   /* next_checktime[1][5] */
	[576 + 37 * 2] = 0x32, 0x00,        /* latency[1][5] = 50 */
	[1088 + 37 * 8] = 0x25, 0x20, 0, 0, /* parameter[1][5].connection_id */
	[1088 + 37 * 8 + 4] = 0x25, 0x00,   /* parameter[1][5].flag_number */
	[4095] = 0x00,
};

static void test_monitor_page(void **state)
{
	static struct hv_monitor_page m;

	memset(&m, 0, sizeof(m));
	m.trigger_state = 0xf;
	m.trigger_group[37 / 32].pending = 1u << (37 % 32);
	m.trigger_group[37 / 32].armed = 1u << (37 % 32);
	m.next_checktime[1][5] = 10000;
	m.latency[1][5] = 50;
	m.parameter[1][5].connection_id = 0x2025;
	m.parameter[1][5].flag_number = 37;
	expect_wire(&m, monitor_golden, sizeof(monitor_golden));

	memcpy(&m, monitor_golden, sizeof(m));
	assert_int_equal(m.trigger_group[1].pending, 0x20);
	assert_int_equal(m.trigger_group[0].pending, 0);
	assert_int_equal(m.latency[1][5], 50);
	assert_int_equal(m.parameter[1][5].connection_id, 0x2025);
	assert_int_equal(m.parameter[1][5].flag_number, 37);
	assert_int_equal(offsetof(struct hv_monitor_page, parameter), 0x440);
	assert_int_equal(offsetof(struct hv_monitor_page, latency), 0x240);
	assert_int_equal(sizeof(struct hv_monitor_parameter), 8);
	assert_int_equal(sizeof(struct hv_monitor_trigger_group), 8);
	assert_int_equal(VMBUS_MONITOR_IDS, 128);
}

static void test_interrupt_page(void **state)
{
	static struct vmbus_interrupt_page p;

	/* relid 42: byte 5, bit 2 of each half. */
	memset(&p, 0, sizeof(p));
	p.recv[42 / 8] |= 1u << (42 % 8);
	p.send[42 / 8] |= 1u << (42 % 8);
	assert_int_equal(((uint8_t *)&p)[5], 0x04);
	assert_int_equal(((uint8_t *)&p)[2048 + 5], 0x04);
	assert_int_equal(offsetof(struct vmbus_interrupt_page, send), 2048);
	assert_int_equal(VMBUS_MAX_RELID, 2047);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiate_contact_40),
		cmocka_unit_test(test_initiate_contact_56),
		cmocka_unit_test(test_version_response_16_20_40),
		cmocka_unit_test(test_version_response_refused),
		cmocka_unit_test(test_modify_channel_and_response),
		cmocka_unit_test(test_reserved_channel_messages),
		cmocka_unit_test(test_tl_connect),
		cmocka_unit_test(test_modify_connection),
		cmocka_unit_test(test_monitor_page),
		cmocka_unit_test(test_interrupt_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
