// SPDX-License-Identifier: MIT
/*
 * A hostile host against the real client: raw messages delivered to the
 * client (bad offers, rescinds of unknown relids, unsolicited responses,
 * unknown types), the server's real messages dropped or altered (a host
 * that never answers; refused opens are in test-hostile-host-open.c), and
 * raw packets and index scribbles in the rings of an open echo channel.
 * The client must log a clear warning, return a clear error, and keep
 * everything else working.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/vsc.h"
#include "tests/lib/hostile.h"

#define PG 4096u
#define RING HH_RING

static void host_send(struct hh *h, const void *msg, size_t len)
{
	assert_int_equal(ovb_inproc_host_send(h->p->link, msg, len), 0);
	ovb_inproc_sync(h->p->link);
}

static size_t offers(struct hh *h)
{
	return ovb_client_offers(h->p->cl, NULL, 0);
}

/* ---- control messages ------------------------------------------------------ */

static struct vmbus_channel_offer_channel offer(uint32_t relid, uint8_t inst,
						uint16_t subidx)
{
	struct vmbus_channel_offer_channel o;

	memset(&o, 0, sizeof(o));
	o.header.msgtype = CHANNELMSG_OFFERCHANNEL;
	o.if_type = (struct vmbus_guid)ECHO_CLASS_GUID;
	o.if_instance.b[0] = 0xbb;
	o.if_instance.b[15] = inst;
	o.sub_channel_index = subidx;
	o.child_relid = relid;
	o.is_dedicated_interrupt = 1;
	o.connection_id = VMBUS_CHAN_CONNECTION_ID_BASE + relid;
	return o;
}

static void test_bad_offers(void **state)
{
	struct hh *h = *state;
	struct vmbus_channel_offer_channel o;
	size_t n0 = offers(h);

	o = offer(10, 1, 0);
	host_send(h, &o, sizeof(o) - 1);
	assert_int_equal(logcap_count("host: bad OFFERCHANNEL (relid 0, 195 "
				      "bytes) ignored"), 1);
	static const uint32_t bad_relids[] = { 0, 2048, 0xffffffffu, 1, 2 };

	for (size_t i = 0; i < 5; i++) {
		char needle[64];

		o = offer(bad_relids[i], 1, 0);
		host_send(h, &o, sizeof(o));
		snprintf(needle, sizeof(needle),
			 "bad OFFERCHANNEL (relid %u, 196 bytes)",
			 bad_relids[i]);
		assert_int_equal(logcap_count(needle), 1);
	}
	o = offer(20, 9, 1);
	host_send(h, &o, sizeof(o));
	assert_int_equal(logcap_count("host: sub-channel offer relid 20 "
				      "without a primary ignored"), 1);
	o = offer(21, 1, 0);
	o.monitor_allocated = 1;
	o.monitorid = 128;
	host_send(h, &o, sizeof(o));
	o.monitorid = 255;
	o.child_relid = 22;
	host_send(h, &o, sizeof(o));
	assert_int_equal(logcap_count("bad OFFERCHANNEL (relid 21"), 1);
	assert_int_equal(logcap_count("bad OFFERCHANNEL (relid 22"), 1);
	assert_int_equal(offers(h), n0);
	assert_int_equal(h->p->echo.ndev, 2);

	/* The client still takes a good hot-added offer and its sub-channel. */
	o = offer(30, 1, 0);
	host_send(h, &o, sizeof(o));
	PAIR_WAIT(h->p->echo.ndev == 3);
	assert_int_equal(h->p->echo.ndev, 3);
	o = offer(31, 1, 1);
	host_send(h, &o, sizeof(o));
	PAIR_WAIT(__atomic_load_n(&h->p->echo.nsub, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(h->p->echo.nsub, 1);
	assert_int_equal(offers(h), n0 + 2);
	hh_ping_dev(h, 0);
}

static void test_rescind_unknown(void **state)
{
	struct hh *h = *state;
	static const uint32_t relids[] = { 0, 99, 2048, 0xffffffffu };
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER };
	size_t n0 = offers(h);

	for (size_t i = 0; i < 4; i++) {
		m.child_relid = relids[i];
		host_send(h, &m, sizeof(m));
	}
	m.child_relid = 1;
	host_send(h, &m, sizeof(m) - 1);
	assert_int_equal(logcap_count("RESCIND for unknown relid"), 4);
	assert_int_equal(logcap_count("host: RESCIND of 11 bytes ignored"), 1);
	assert_int_equal(logcap_count("host: RESCIND for unknown relid 99 "
				      "ignored"), 1);
	assert_int_equal(offers(h), n0);
	hh_ping_dev(h, 0);
	/* Rescinding a real offer twice: the second one is ignored. */
	m.child_relid = 2;
	host_send(h, &m, sizeof(m));
	host_send(h, &m, sizeof(m));
	PAIR_WAIT(offers(h) == n0 - 1);
	assert_int_equal(offers(h), n0 - 1);
	assert_int_equal(logcap_count("host: RESCIND for unknown relid 2 "
				      "ignored"), 1);
	assert_int_equal(h->p->echo.removed, 1);
	hh_ping_dev(h, 0);
}

static void test_unsolicited(void **state)
{
	struct hh *h = *state;
	struct vmbus_channel_gpadl_created gc = {
		.header.msgtype = CHANNELMSG_GPADL_CREATED, .child_relid = 1,
		.gpadl = 0x999 };
	struct vmbus_channel_open_result or = {
		.header.msgtype = CHANNELMSG_OPENCHANNEL_RESULT,
		.child_relid = 77 };
	struct vmbus_channel_version_response vr = {
		.header.msgtype = CHANNELMSG_VERSION_RESPONSE,
		.version_supported = 1, .msg_conn_id = 99 };
	struct vmbus_channel_gpadl_torndown td = {
		.header.msgtype = CHANNELMSG_GPADL_TORNDOWN, .gpadl = 0x999 };
	struct vmbus_channel_modify_channel_response mr = {
		.header.msgtype = CHANNELMSG_MODIFYCHANNEL_RESPONSE,
		.child_relid = 1 };
	struct vmbus_channel_message_header ur = {
		.msgtype = CHANNELMSG_UNLOAD_RESPONSE };
	uint32_t version = ovb_client_version(h->p->cl), handle;
	void *buf;
	uint64_t gpa;

	host_send(h, &gc, sizeof(gc));
	assert_int_equal(logcap_count("host: unsolicited message type 10 (key "
				      "0x999) ignored"), 1);
	host_send(h, &or, sizeof(or));
	assert_int_equal(logcap_count("unsolicited message type 6 (key 0x4d)"),
			 1);
	host_send(h, &vr, VMBUS_VERSION_RESPONSE_SIZE);
	host_send(h, &vr, sizeof(vr));
	assert_int_equal(logcap_count("unsolicited message type 15"), 2);
	host_send(h, &td, sizeof(td));
	host_send(h, &mr, sizeof(mr));
	host_send(h, &ur, sizeof(ur));
	assert_int_equal(logcap_count("unsolicited message type 12"), 1);
	assert_int_equal(logcap_count("unsolicited message type 24"), 1);
	assert_int_equal(logcap_count("unsolicited message type 17"), 1);
	/* Too short to be what they claim. */
	host_send(h, &gc, sizeof(gc) - 1);
	host_send(h, &vr, VMBUS_VERSION_RESPONSE_SIZE - 1);
	assert_int_equal(logcap_count("host: unexpected or malformed message "
				      "type 10 (19 bytes) ignored"), 1);
	assert_int_equal(logcap_count("malformed message type 15 (15 bytes)"),
			 1);
	/* Nothing changed: same version, GPADLs and channels work. */
	assert_int_equal(ovb_client_version(h->p->cl), version);
	assert_int_equal(ovb_client_alloc(h->p->cl, 4 * PG, &buf, &gpa), 0);
	assert_int_equal(ovb_vsc_gpadl_create(h->p->echo.dev[1], buf, 4 * PG,
					      &handle), 0);
	assert_int_equal(ovb_vsc_gpadl_teardown(h->p->echo.dev[1], handle), 0);
	hh_ping_dev(h, 0);
}

static void test_unknown_types(void **state)
{
	struct hh *h = *state;
	static const uint32_t types[] = {
		0, 30, 0xffff, 0xffffffffu, CHANNELMSG_REQUESTOFFERS,
		CHANNELMSG_OPENCHANNEL, CHANNELMSG_GPADL_HEADER,
		CHANNELMSG_INITIATE_CONTACT, CHANNELMSG_UNLOAD,
	};
	uint8_t msg[240] = { 0 };
	char needle[80];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memcpy(msg, &types[i], 4);
		host_send(h, msg, 200);
		snprintf(needle, sizeof(needle),
			 "unexpected or malformed message type %u (200 bytes)",
			 types[i]);
		assert_int_equal(logcap_count(needle), 1);
	}
	/* Outside a SynIC payload: the link refuses, and so does the client. */
	assert_int_equal(ovb_inproc_host_send(h->p->link, msg, 241),
			 -EMSGSIZE);
	ovb_client_deliver_message(h->p->cl, VMBUS_MESSAGE_SINT, msg, 7);
	host_send(h, msg, 0);
	assert_int_equal(logcap_count("host: message of 7 bytes ignored"), 1);
	assert_int_equal(logcap_count("host: message of 0 bytes ignored"), 1);
	hh_ping_dev(h, 1);
}

/* ---- a host that does not answer, or refuses -------------------------------- */

static void test_no_version_response(void **state)
{
	struct hh *h = *state;
	uint64_t t0 = ovb_now_us();

	hrec_set(h->rec, CHANNELMSG_VERSION_RESPONSE, false);
	assert_int_equal(ovb_client_connect(h->p->cl, 0, 300), -ETIMEDOUT);
	PAIR_NO_HANG(t0);
	assert_int_equal(ovb_client_version(h->p->cl), 0);
	assert_int_equal(h->rec->dropped, 1);
}

static void test_no_offers_delivered(void **state)
{
	struct hh *h = *state;
	uint64_t t0 = ovb_now_us();

	hrec_set(h->rec, CHANNELMSG_ALLOFFERS_DELIVERED, false);
	assert_int_equal(ovb_client_connect(h->p->cl, 0, 300), -ETIMEDOUT);
	PAIR_NO_HANG(t0);
	assert_int_equal(ovb_client_version(h->p->cl), 0);
	assert_int_equal(h->p->echo.ndev, 0);
}

/*
 * A hot add, or a rescind, right behind ALL_OFFERS_DELIVERED, while
 * connect is still probing the offers it collected: a device is probed
 * once, and one rescinded meanwhile is not used after it was freed.
 */
static void test_offer_during_connect(void **state)
{
	struct hh *h = *state;
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
		.child_relid = 1 };

	for (uint32_t relid = 2000; relid < 2010; relid++) {
		struct vmbus_channel_offer_channel o = offer(relid, 7, 0);

		o.if_instance.b[1] = (uint8_t)relid;
		memset(&h->p->echo, 0, sizeof(h->p->echo));
		hrec_send_after(h->rec, CHANNELMSG_ALLOFFERS_DELIVERED, &o,
				sizeof(o));
		assert_int_equal(ovb_client_connect(h->p->cl, 0, 5000), 0);
		ovb_inproc_sync(h->p->link);
		PAIR_WAIT(offers(h) == 2 &&
			  __atomic_load_n(&h->p->echo.ndev, __ATOMIC_ACQUIRE) ==
				  2);
		usleep(2000);
		assert_int_equal(offers(h), 2);
		assert_int_equal(h->p->echo.ndev, 2);
		assert_int_equal(ovb_client_unload(h->p->cl, 5000), 0);

		memset(&h->p->echo, 0, sizeof(h->p->echo));
		hrec_send_after(h->rec, CHANNELMSG_ALLOFFERS_DELIVERED, &m,
				sizeof(m));
		assert_int_equal(ovb_client_connect(h->p->cl, 0, 5000), 0);
		ovb_inproc_sync(h->p->link);
		PAIR_WAIT(offers(h) == 0);
		assert_int_equal(offers(h), 0);
		PAIR_WAIT(h->p->echo.removed == h->p->echo.ndev);
		assert_int_equal(h->p->echo.removed, h->p->echo.ndev);
		assert_true(h->p->echo.ndev <= 1);
		assert_int_equal(ovb_client_unload(h->p->cl, 5000), 0);
	}
}

/* ---- rings ------------------------------------------------------------------ */

struct call {
	struct ovb_echo *e;
	uint32_t op;
	int rc;
	bool done;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	struct echo_msg req = { .op = c->op }, rep;

	c->rc = ovb_echo_call(c->e, &req, NULL, NULL, 0, &rep, NULL, 0, 5000);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A request is pending (ECHO_OP_SINK is never answered) when the host
 * corrupts write_index of the host->guest ring: the client's channel fails
 * and the request completes with -ECONNRESET at once, not by timeout.
 */
static void corrupt_in(struct hh *h, uint32_t value, const char *needle)
{
	struct ovb_echo *e;
	struct call c = { .op = ECHO_OP_SINK };
	struct ovb_chan_stats st;
	struct vmbus_ring_control *in;
	pthread_t th;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e), 0);
	pair_ping(e, 10);
	c.e = e;
	assert_int_equal(pthread_create(&th, NULL, call_main, &c), 0);
	PAIR_WAIT((ovb_chan_get_stats(ovb_echo_chan(e), &st),
		   st.pkts_out == 2));
	usleep(20 * 1000);
	assert_false(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	in = hring_ctl(ovb_echo_chan(e), false);
	__atomic_store_n(HCTL(in, write_index), value, __ATOMIC_RELEASE);
	ovb_client_deliver_event(h->p->cl, 1);
	pthread_join(th, NULL);
	/* -ECONNRESET now, not the -ETIMEDOUT of the call's 5 s timeout */
	assert_int_equal(c.rc, -ECONNRESET);
	assert_int_equal(logcap_count(needle), 1);
	assert_true(logcap_count("relid 1: channel failed: inbound ring "
				 "corrupt") >= 1);
	assert_true(ovb_chan_is_dead(ovb_echo_chan(e)));
	ovb_echo_close(e);
	hh_ping_dev(h, 0);
	hh_ping_dev(h, 1);
}

static void test_corrupt_in_ring(void **state)
{
	struct hh *h = *state;

	corrupt_in(h, 13, "relid 1 in: write_index 13 not a multiple of 8");
	corrupt_in(h, RING, "relid 1 in: write_index 16384 beyond the data");
}

/* The host owns read_index of the guest->host ring. */
static void test_corrupt_out_ring(void **state)
{
	struct hh *h = *state;
	struct echo_msg req = { .op = ECHO_OP_PING }, rep;
	struct vmbus_ring_control *out;
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e), 0);
	pair_ping(e, 10);
	hring_quiesce(ovb_echo_chan(e), true);
	out = hring_ctl(ovb_echo_chan(e), true);
	__atomic_store_n(HCTL(out, read_index), 20, __ATOMIC_RELEASE);
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), -ECONNRESET);
	assert_int_equal(logcap_count("relid 1 out: read_index 20 not a "
				      "multiple of 8"), 1);
	assert_int_equal(logcap_count("relid 1: channel failed: outbound ring "
				      "indices corrupt"), 1);
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), -ECONNRESET);
	ovb_echo_close(e);
	hh_ping_dev(h, 0);
}

/* Build a transfer-page packet of one range with an echo header payload. */
static size_t xfer_pkt(uint8_t *p, uint16_t set, uint32_t off, uint32_t count)
{
	struct vmtransfer_page_packet_header x = { 0 };
	struct vmtransfer_page_range r = { .byte_count = count,
					   .byte_offset = off };
	struct echo_msg m = { .op = ECHO_OP_XFER, .len = count };

	x.d.type = VM_PKT_DATA_USING_XFER_PAGES;
	x.d.offset8 = (sizeof(x) + sizeof(r)) / 8;
	x.d.len8 = (sizeof(x) + sizeof(r) + sizeof(m)) / 8;
	x.d.flags = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	x.d.trans_id = 0x77;
	x.xfer_pageset_id = set;
	x.range_cnt = 1;
	memcpy(p, &x, sizeof(x));
	memcpy(p + sizeof(x), &r, sizeof(r));
	memcpy(p + sizeof(x) + sizeof(r), &m, sizeof(m));
	return sizeof(x) + sizeof(r) + sizeof(m);
}

static void inject_in(struct hh *h, struct ovb_echo *e, const void *pkt,
		      size_t len)
{
	assert_int_equal(hring_inject(ovb_echo_chan(e), false, pkt, len), 0);
	ovb_client_deliver_event(h->p->cl, ovb_chan_relid(ovb_echo_chan(e)));
}

static void test_xfer_outside(void **state)
{
	struct hh *h = *state;
	struct ovb_echo *e;
	uint8_t pkt[64], *buf;
	uint64_t gpa;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e), 0);
	assert_int_equal(ovb_client_alloc(h->p->cl, PG, (void **)&buf, &gpa),
			 0);
	memset(buf, 0x3c, PG);
	ovb_echo_set_buffer(e, buf, PG);
	inject_in(h, e, pkt, xfer_pkt(pkt, ECHO_XFER_PAGESET, 4090, 100));
	PAIR_WAIT(logcap_count("relid 1: transfer range 4090+100 outside the "
			       "4096-byte buffer") == 1);
	assert_int_equal(logcap_count("transfer range 4090+100 outside"), 1);
	inject_in(h, e, pkt, xfer_pkt(pkt, ECHO_XFER_PAGESET, 0xfffffff0u,
				      0x20));
	PAIR_WAIT(logcap_count("transfer range 4294967280+32 outside") == 1);
	inject_in(h, e, pkt, xfer_pkt(pkt, ECHO_XFER_PAGESET, 8, 0xfffffffcu));
	PAIR_WAIT(logcap_count("transfer range 8+4294967292 outside") == 1);
	inject_in(h, e, pkt, xfer_pkt(pkt, 7, 0, 100));
	PAIR_WAIT(logcap_count("relid 1: transfer pages for unknown set 7") ==
		  1);
	assert_int_equal(ovb_echo_xfer_count(e), 0);
	/* A good one is taken; the channel never failed. */
	inject_in(h, e, pkt, xfer_pkt(pkt, ECHO_XFER_PAGESET, 96, 4000));
	PAIR_WAIT(ovb_echo_xfer_count(e) == 1);
	assert_int_equal(ovb_echo_xfer_hash(e),
			 ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf + 96, 4000));
	assert_false(ovb_chan_is_dead(ovb_echo_chan(e)));
	pair_ping(e, 100);
	ovb_echo_close(e);
}

static void test_unknown_completion(void **state)
{
	struct hh *h = *state;
	struct vmpacket_descriptor d = { .type = VM_PKT_COMP, .offset8 = 2,
					 .len8 = 2 };
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e), 0);
	pair_ping(e, 1);
	/* Tagged like ours, but no such request (slot 7, generation 5). */
	d.trans_id = (1ull << 62) | 5ull << 24 | 7;
	inject_in(h, e, &d, sizeof(d));
	PAIR_WAIT(logcap_count("relid 1: completion for unknown transaction "
			       "0x4000000005000007 dropped") == 1);
	assert_int_equal(logcap_count("completion for unknown transaction"), 1);
	/* An xid the echo driver never uses. */
	d.trans_id = 42;
	inject_in(h, e, &d, sizeof(d));
	PAIR_WAIT(logcap_count("relid 1: unexpected completion 0x2a "
			       "dropped") == 1);
	assert_int_equal(logcap_count("unexpected completion 0x2a"), 1);
	for (int i = 0; i < 10; i++)
		pair_ping(e, 10 + (uint32_t)i);
	assert_false(ovb_chan_is_dead(ovb_echo_chan(e)));
	ovb_echo_close(e);
}

/*
 * A host that rescinds a primary but not its sub-channel: the client must
 * take the sub-channel down with it rather than keep a pointer to the freed
 * primary.
 */
static void test_rescind_primary_first(void **state)
{
	struct hh *h = *state;
	struct echo_msg req = { .op = ECHO_OP_SUBCHANNELS, .arg = 1 }, rep;
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
		.child_relid = 1 };
	struct ovb_offer_info info[4];
	struct ovb_echo *e, *sub;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e), 0);
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), 0);
	PAIR_WAIT(__atomic_load_n(&h->p->echo.nsub, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(h->p->echo.nsub, 1);
	assert_int_equal(ovb_echo_open(h->p->echo.sub[0], 8192, NULL, &sub),
			 0);
	pair_ping(sub, 5);
	assert_int_equal(offers(h), 3);
	host_send(h, &m, sizeof(m));
	PAIR_WAIT(offers(h) == 1);
	assert_int_equal(ovb_client_offers(h->p->cl, info, 4), 1);
	assert_int_equal(info[0].relid, 2);
	assert_int_equal(h->p->echo.removed, 2);
	assert_int_equal(logcap_count("host: rescind of relid 1 before its "
				      "sub-channel relid 3"), 1);
	hh_ping_dev(h, 1);

	/* A sub-channel offered right after its primary's rescind. */
	struct vmbus_channel_offer_channel o = offer(30, 1, 0);

	host_send(h, &o, sizeof(o));
	PAIR_WAIT(offers(h) == 2);
	m.child_relid = 30;
	o = offer(31, 1, 1);
	assert_int_equal(ovb_inproc_host_send(h->p->link, &m, sizeof(m)), 0);
	assert_int_equal(ovb_inproc_host_send(h->p->link, &o, sizeof(o)), 0);
	ovb_inproc_sync(h->p->link);
	PAIR_WAIT(offers(h) == 1);
	assert_int_equal(offers(h), 1);
	assert_int_equal(logcap_count("host: sub-channel offer relid 31 "
				      "without a primary ignored"), 1);
}

/*
 * Hot adds and rescinds still queued for the client's work thread when the
 * guest unloads: unload frees the devices they name.
 */
static void test_offers_racing_unload(void **state)
{
	struct hh *h = *state;

	for (int round = 0; round < 4; round++) {
		for (uint32_t r = 100; r < 164; r++) {
			struct vmbus_channel_offer_channel o =
				offer(r, (uint8_t)r, 0);
			struct vmbus_channel_relid_msg m = {
				.header.msgtype =
					CHANNELMSG_RESCIND_CHANNELOFFER,
				.child_relid = r - 1,
			};

			o.if_type.b[0] = 0x77; /* a class no driver takes */
			ovb_inproc_host_send(h->p->link, &o, sizeof(o));
			if (r % 3 == 0)
				ovb_inproc_host_send(h->p->link, &m, sizeof(m));
		}
		assert_int_equal(ovb_client_unload(h->p->cl, 5000), 0);
		ovb_inproc_sync(h->p->link);
		h->p->echo.ndev = 0;
		assert_int_equal(ovb_client_connect(h->p->cl, 0, 5000), 0);
		assert_int_equal(h->p->echo.ndev, 2);
	}
	hh_ping_dev(h, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, hh_setup, hh_teardown)
#define TF(fn) cmocka_unit_test_setup_teardown(fn, hh_setup_fresh, hh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bad_offers),
		T(test_rescind_unknown),
		T(test_unsolicited),
		T(test_unknown_types),
		TF(test_no_version_response),
		TF(test_no_offers_delivered),
		TF(test_offer_during_connect),
		T(test_corrupt_in_ring),
		T(test_corrupt_out_ring),
		T(test_xfer_outside),
		T(test_unknown_completion),
		T(test_rescind_primary_first),
		T(test_offers_racing_unload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
