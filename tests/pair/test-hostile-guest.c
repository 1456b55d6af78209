// SPDX-License-Identifier: MIT
/*
 * A hostile guest's channel messages against the real server: messages
 * before contact, truncated, oversized and unknown ones, bad
 * INITIATE_CONTACTs, malformed GPADLs, bad opens, closes and releases.
 * Each case checks the server's log line and the host->guest reply (if
 * any), and that the abused partition still works afterwards -- while a
 * second partition on the same server pings its echo device throughout
 * and never sees a failure (tests/lib/hostile.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vsp.h"
#include "tests/lib/hostile.h"

#define BASE (1ull << 30)          /* the hostile guest's RAM */
#define MEMSZ (64ull << 20)
#define H(n) (0x70000000u + (n))   /* raw GPADL handles */
#define PG 4096u

/* What a guest may post, at the smallest size each type allows. */
static const struct {
	uint32_t type;
	size_t min, max;
	const char *name;
} guest_msgs[] = {
	{ CHANNELMSG_REQUESTOFFERS, 8, 8, "REQUESTOFFERS" },
	{ CHANNELMSG_OPENCHANNEL, 148, 156, "OPENCHANNEL" },
	{ CHANNELMSG_CLOSECHANNEL, 12, 12, "CLOSECHANNEL" },
	{ CHANNELMSG_GPADL_HEADER, 28, 240, "GPADL_HEADER" },
	{ CHANNELMSG_GPADL_BODY, 16, 240, "GPADL_BODY" },
	{ CHANNELMSG_GPADL_TEARDOWN, 16, 16, "GPADL_TEARDOWN" },
	{ CHANNELMSG_RELID_RELEASED, 12, 12, "RELID_RELEASED" },
	{ CHANNELMSG_INITIATE_CONTACT, 40, 56, "INITIATE_CONTACT" },
	{ CHANNELMSG_UNLOAD, 8, 8, "UNLOAD" },
	{ CHANNELMSG_MODIFYCHANNEL, 16, 16, "MODIFYCHANNEL" },
	{ CHANNELMSG_TL_CONNECT_REQUEST, 40, 56, "TL_CONNECT_REQUEST" },
};
#define NGUEST (sizeof(guest_msgs) / sizeof(guest_msgs[0]))

static int setup_connected(void **state)
{
	*state = hg_fx_new(true);
	return 0;
}

static int setup_fresh(void **state)
{
	*state = hg_fx_new(false);
	return 0;
}

static int teardown(void **state)
{
	hg_fx_free(*state);
	return 0;
}

/* The abused partition still does real work: open echo @i, ping, close. */
static void still_works(struct hg_fx *f, unsigned int i)
{
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(f->p->echo.dev[i], 16384, NULL, &e), 0);
	pair_ping(e, 333);
	ovb_echo_close(e);
}

static void sync_host(struct hg_fx *f)
{
	ovb_inproc_sync(f->p->link);
}

static void test_before_contact(void **state)
{
	struct hg_fx *f = *state;
	uint32_t body[60] = { 1 };

	for (size_t i = 0; i < NGUEST; i++)
		if (guest_msgs[i].type != CHANNELMSG_INITIATE_CONTACT)
			assert_int_equal(hg_post_type(f->p->link,
						      guest_msgs[i].type, body,
						      guest_msgs[i].min), 0);
	sync_host(f);
	assert_int_equal(logcap_count("before INITIATE_CONTACT dropped"),
			 NGUEST - 1);
	assert_int_equal(logcap_count("guest0: REQUESTOFFERS before"), 1);
	assert_int_equal(hrec_nmsgs(f->rec), 0); /* not one reply */
	assert_int_equal(ovb_partition_version(f->part), 0);
	/* MEM_REGIONs that overlap or are unaligned (test-gmem has the
	 * rest; the socket link refuses regions after the first message,
	 * test-socket): the partition's memory stays as it was. */
	struct ovb_gmem *gm = ovb_partition_gmem(f->part);
	int fd = memfd_create("hostile", MFD_CLOEXEC);

	assert_true(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	assert_int_equal(ovb_memfd_gmem_add(gm, BASE + PG, PG, fd, 0),
			 -EEXIST);
	assert_int_equal(ovb_memfd_gmem_add(gm, 1ull << 40, PG + 1, fd, 0),
			 -EINVAL);
	assert_null(ovb_gmem_ptr(gm, 1ull << 40, 1));
	/* The guest may still connect properly. */
	assert_int_equal(ovb_client_connect(f->p->cl, 0, 5000), 0);
	still_works(f, 0);
	close(fd);
}

static void test_truncated(void **state)
{
	struct hg_fx *f = *state;
	uint32_t body[60] = { 0 };
	char needle[96];
	int n = 0;

	hrec_clear(f->rec);
	for (size_t i = 0; i < NGUEST; i++) {
		size_t len = guest_msgs[i].min - 1;
		int before;

		if (len < 8)
			snprintf(needle, sizeof(needle),
				 "channel message of %zu bytes dropped", len);
		else
			snprintf(needle, sizeof(needle),
				 "%s of %zu bytes dropped (expected %zu..%zu)",
				 guest_msgs[i].name, len, guest_msgs[i].min,
				 guest_msgs[i].max);
		before = logcap_count(needle);
		assert_int_equal(hg_post_type(f->p->link, guest_msgs[i].type,
					      body, len), 0);
		sync_host(f);
		assert_int_equal(logcap_count(needle), before + 1);
		n++;
	}
	/* Between the short and the long form of the two-size messages. */
	static const struct {
		uint32_t type;
		size_t len;
		const char *needle;
	} mid[] = {
		{ CHANNELMSG_OPENCHANNEL, 149, "OPENCHANNEL of 149 bytes dropped "
					       "(expected 148 or 156)" },
		{ CHANNELMSG_OPENCHANNEL, 155, "OPENCHANNEL of 155 bytes" },
		{ CHANNELMSG_INITIATE_CONTACT, 48, "INITIATE_CONTACT of 48 bytes "
						    "dropped (expected 40 or "
						    "56)" },
		{ CHANNELMSG_INITIATE_CONTACT, 55, "INITIATE_CONTACT of 55" },
		{ CHANNELMSG_TL_CONNECT_REQUEST, 48, "TL_CONNECT_REQUEST of 48 "
						      "bytes dropped (expected "
						      "40 or 56)" },
	};

	for (size_t i = 0; i < sizeof(mid) / sizeof(mid[0]); i++) {
		assert_int_equal(hg_post_type(f->p->link, mid[i].type, body,
					      mid[i].len), 0);
		sync_host(f);
		assert_int_equal(logcap_count(mid[i].needle), 1);
		n++;
	}
	/* Shorter still, down to nothing. */
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(ovb_inproc_guest_post(f->p->link, 1, body,
						       len), 0);
	sync_host(f);
	assert_int_equal(logcap_count("channel message of 0 bytes dropped"), 1);
	assert_int_equal(logcap_count("bytes dropped"), n + 8);
	assert_int_equal(hrec_nmsgs(f->rec), 0);
	still_works(f, 0);
}

static void test_oversized(void **state)
{
	struct hg_fx *f = *state;
	static uint8_t big[4096];
	uint32_t type = CHANNELMSG_REQUESTOFFERS;
	struct ovb_echo *e;
	char needle[96];

	assert_int_equal(ovb_echo_open(f->p->echo.dev[0], 16384, NULL, &e), 0);
	memcpy(big, &type, 4);
	/* The link itself refuses more than a SynIC payload... */
	assert_int_equal(ovb_inproc_guest_post(f->p->link, 1, big, 241),
			 -EMSGSIZE);
	/* ...and so does the server, whatever link it sits behind. */
	assert_int_equal(ovb_server_post_message(f->part, 1, big, 241),
			 -EBADMSG);
	assert_int_equal(ovb_server_post_message(f->part, 1, big, 4096),
			 -EBADMSG);
	assert_int_equal(logcap_count("channel message of 241 bytes dropped"),
			 1);
	assert_int_equal(logcap_count("channel message of 4096 bytes"), 1);
	/* One byte above each type's own maximum. */
	hrec_clear(f->rec);
	for (size_t i = 0; i < NGUEST; i++) {
		size_t len = guest_msgs[i].max + 1;

		if (len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
			continue;
		assert_int_equal(hg_post_type(f->p->link, guest_msgs[i].type,
					      big + 8, len), 0);
		sync_host(f);
		snprintf(needle, sizeof(needle), "%s of %zu bytes dropped",
			 guest_msgs[i].name, len);
		assert_int_equal(logcap_count(needle), 1);
	}
	assert_int_equal(hrec_nmsgs(f->rec), 0);
	/* An UNLOAD of 9 bytes unloaded nothing. */
	pair_ping(e, 100);
	ovb_echo_close(e);
}

static void test_unknown_types(void **state)
{
	static const uint32_t types[] = {
		0, 30, 31, 0xffff, 0x80000001u, 0xffffffffu,
		/* host->guest messages, and ones this server does not do */
		CHANNELMSG_OFFERCHANNEL, CHANNELMSG_RESCIND_CHANNELOFFER,
		CHANNELMSG_ALLOFFERS_DELIVERED,
		CHANNELMSG_OPENCHANNEL_RESULT, CHANNELMSG_GPADL_CREATED,
		CHANNELMSG_GPADL_TORNDOWN, CHANNELMSG_VERSION_RESPONSE,
		CHANNELMSG_UNLOAD_RESPONSE, CHANNELMSG_OPEN_RESERVED_CHANNEL,
		CHANNELMSG_CLOSE_RESERVED_CHANNEL,
		CHANNELMSG_CLOSE_RESERVED_RESPONSE,
		CHANNELMSG_TL_CONNECT_RESULT,
		CHANNELMSG_MODIFYCHANNEL_RESPONSE,
		CHANNELMSG_MODIFY_CONNECTION,
		CHANNELMSG_MODIFY_CONNECTION_RESPONSE, CHANNELMSG_PAUSE,
		CHANNELMSG_PAUSE_RESPONSE, CHANNELMSG_RESUME,
	};
	struct hg_fx *f = *state;
	uint8_t body[240] = { 0 };
	char needle[96];

	hrec_clear(f->rec);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t len = types[i] == CHANNELMSG_OFFERCHANNEL ? 196 : 24;

		/* More than a burst of one warning: each line counted. */
		ovb_log_ratelimit_reset();
		assert_int_equal(hg_post_type(f->p->link, types[i], body, len),
				 0);
		sync_host(f);
		snprintf(needle, sizeof(needle),
			 "unknown or host-only channel message type %u "
			 "dropped", types[i]);
		assert_int_equal(logcap_count(needle), 1);
	}
	assert_int_equal(hrec_nmsgs(f->rec), 0);
	assert_int_equal(ovb_partition_version(f->part),
			 VMBUS_VERSION_WIN10_V6_0);
	still_works(f, 1);
}

/* Post INITIATE_CONTACT; return the VERSION_RESPONSE it got. */
static struct vmbus_channel_version_response
contact(struct hg_fx *f, uint32_t conn, uint32_t version, uint64_t intpage,
	uint64_t mon1, uint64_t mon2)
{
	struct vmbus_channel_initiate_contact c;
	struct vmbus_channel_version_response r = { 0 };
	uint8_t buf[240];
	unsigned int before = hrec_count(f->rec, CHANNELMSG_VERSION_RESPONSE);

	memset(&c, 0, sizeof(c));
	c.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	c.vmbus_version_requested = version;
	c.interrupt_page = intpage;
	c.monitor_page1 = mon1;
	c.monitor_page2 = mon2;
	assert_int_equal(ovb_inproc_guest_post(f->p->link, conn, &c,
					       VMBUS_INITIATE_CONTACT_SIZE), 0);
	sync_host(f);
	assert_int_equal(hrec_count(f->rec, CHANNELMSG_VERSION_RESPONSE),
			 before + 1);
	assert_true(hrec_find(f->rec, CHANNELMSG_VERSION_RESPONSE, 0,
			      CHANNELMSG_VERSION_RESPONSE, buf));
	memcpy(&r, buf, VMBUS_VERSION_RESPONSE_SIZE);
	return r;
}

static void test_contact_versions(void **state)
{
	struct hg_fx *f = *state;
	struct vmbus_channel_version_response r;

	ovb_log_set_level(OVB_LOG_INFO); /* a refused version is news only */
	r = contact(f, 1, 0x00070000, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("guest0: VMBus version 7.0 refused"), 1);
	r = contact(f, 1, 0, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	r = contact(f, 1, 0xffffffffu, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("VMBus version 65535.65535 refused"), 1);
	ovb_log_set_level(OVB_LOG_WARN);
	/* 5.0 and later must come on connection 4, older ones on 1. */
	r = contact(f, 1, VMBUS_VERSION_WIN10_V5, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("INITIATE_CONTACT for 5.0 posted to "
				      "connection 1, must be 4"), 1);
	r = contact(f, 2, VMBUS_VERSION_WIN10_V6_0, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("for 6.0 posted to connection 2"), 1);
	r = contact(f, 4, VMBUS_VERSION_WIN10, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("for 4.0 posted to connection 4, must "
				      "be 1"), 1);
	assert_int_equal(ovb_partition_version(f->part), 0);

	/* A real guest connects after all that. */
	assert_int_equal(ovb_client_connect(f->p->cl, 0, 5000), 0);
	assert_int_equal(ovb_partition_version(f->part),
			 VMBUS_VERSION_WIN10_V6_0);
	/* A second contact while connected is refused; nothing changes. */
	r = contact(f, 4, VMBUS_VERSION_WIN10_V5, 0, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(r.connection_state, VMBUS_CONNECTION_STATE_FAILURE);
	assert_int_equal(logcap_count("INITIATE_CONTACT while connected"), 1);
	assert_int_equal(ovb_partition_version(f->part),
			 VMBUS_VERSION_WIN10_V6_0);
	still_works(f, 2);
}

static void test_contact_pages(void **state)
{
	struct hg_fx *f = *state;
	struct vmbus_channel_version_response r;
	const uint64_t end = BASE + MEMSZ;

	r = contact(f, 1, VMBUS_VERSION_WIN10, 0x1000, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(r.connection_state, VMBUS_CONNECTION_STATE_FAILURE);
	assert_int_equal(logcap_count("interrupt page GPA 0x1000 not a page "
				      "of guest memory"), 1);
	r = contact(f, 1, VMBUS_VERSION_WS2008, BASE + 8, 0, 0);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("interrupt page GPA 0x40000008"), 1);
	r = contact(f, 1, VMBUS_VERSION_WIN8, BASE, end, BASE + PG);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("monitor page 1 GPA 0x44000000 not"), 1);
	r = contact(f, 1, VMBUS_VERSION_WIN8_1, BASE, BASE + PG,
		    end - PG / 2);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("monitor page 2 GPA 0x43fff800"), 1);
	r = contact(f, 4, VMBUS_VERSION_WIN10_V6_0, 0, BASE,
		    0xfffffffffffff000ull);
	assert_int_equal(r.version_supported, 0);
	assert_int_equal(logcap_count("monitor page 2 GPA 0xfffffffffffff000"),
			 1);
	/* From 5.0 the interrupt-page word is msg_sint etc.: not a GPA. */
	r = contact(f, 4, VMBUS_VERSION_WIN10_V5_2, 0xdeadbeefcafe, 0, 0);
	assert_int_equal(r.version_supported, 1);
	assert_int_equal(ovb_partition_version(f->part),
			 VMBUS_VERSION_WIN10_V5_2);
	/* Undo the raw contact, then let the real guest in. */
	hg_post_type(f->p->link, CHANNELMSG_UNLOAD, NULL, 8);
	sync_host(f);
	assert_int_equal(ovb_client_connect(f->p->cl, 0, 5000), 0);
	still_works(f, 0);
}

/* ---- GPADLs ---------------------------------------------------------------- */

static void post_header(struct hg_fx *f, uint32_t relid, uint32_t handle,
			uint16_t buflen, uint16_t rangecount,
			const uint64_t *w, size_t nw)
{
	uint8_t msg[240] = { 0 };
	struct vmbus_channel_gpadl_header *h = (void *)msg;

	h->header.msgtype = CHANNELMSG_GPADL_HEADER;
	h->child_relid = relid;
	h->gpadl = handle;
	h->range_buflen = buflen;
	h->rangecount = rangecount;
	memcpy(h + 1, w, nw * 8);
	assert_int_equal(hg_post(f->p->link, msg, sizeof(*h) + nw * 8), 0);
}

static void post_body(struct hg_fx *f, uint32_t handle, const uint64_t *w,
		      size_t nw)
{
	uint8_t msg[240] = { 0 };
	struct vmbus_channel_gpadl_body *b = (void *)msg;

	b->header.msgtype = CHANNELMSG_GPADL_BODY;
	b->gpadl = handle;
	memcpy(b->pfn, w, nw * 8);
	assert_int_equal(hg_post(f->p->link, msg, sizeof(*b) + nw * 8), 0);
}

/* The status of the last GPADL_CREATED for @handle (-1: none). */
static int64_t created(struct hg_fx *f, uint32_t handle)
{
	struct vmbus_channel_gpadl_created c;
	uint8_t buf[240];

	sync_host(f);
	if (!hrec_find(f->rec, CHANNELMSG_GPADL_CREATED,
		       offsetof(struct vmbus_channel_gpadl_created, gpadl),
		       handle, buf))
		return -1;
	memcpy(&c, buf, sizeof(c));
	return c.creation_status;
}

static bool torndown(struct hg_fx *f, uint32_t handle)
{
	uint8_t buf[240];

	sync_host(f);
	return hrec_find(f->rec, CHANNELMSG_GPADL_TORNDOWN,
			 offsetof(struct vmbus_channel_gpadl_torndown, gpadl),
			 handle, buf);
}

static void test_gpadl_malformed(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	uint64_t w[32], gpa;
	void *buf;

	assert_int_equal(ovb_client_alloc(f->p->cl, 32 * PG, &buf, &gpa), 0);
	for (int i = 0; i < 32; i++)
		w[i] = gpa / PG + (uint64_t)i;
	/* rangecount 0; range_buflen not a multiple of 8; offset 4096. */
	w[0] = PG;
	post_header(f, relid, H(1), 16, 0, w, 2);
	assert_int_equal(created(f, H(1)), VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL_HEADER 0x70000001 malformed "
				      "(range_buflen 16, rangecount 0"), 1);
	post_header(f, relid, H(2), 12, 1, w, 2);
	assert_int_equal(created(f, H(2)), VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("0x70000002 malformed (range_buflen 12"),
			 1);
	w[0] = PG | (uint64_t)PG << 32;
	post_header(f, relid, H(3), 16, 1, w, 2);
	assert_int_equal(created(f, H(3)), VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL_HEADER 0x70000003 malformed"), 1);
	/* In a multi-range GPADL the bad offset is found on completion. */
	uint64_t two[4] = { PG, gpa / PG, 8 | (uint64_t)PG << 32, gpa / PG };

	post_header(f, relid, H(4), 32, 2, two, 4);
	assert_int_equal(created(f, H(4)), VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL 0x70000004: malformed ranges"), 1);
	/* PFNs outside guest memory, low and high. */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(5), 0x5000, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL 0x70000005 range 0: PFN 0x5 "
				      "outside guest memory"), 1);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(6),
					 BASE + MEMSZ - PG, 2 * PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("PFN 0x44000 outside"), 1);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(7),
					 0xfffffffffffff000ull, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("PFN 0xfffffffffffff outside"), 1);
	/* A body for a GPADL nobody started: no reply at all. */
	post_body(f, H(8), w, 4);
	assert_int_equal(created(f, H(8)), -1);
	assert_int_equal(logcap_count("GPADL_BODY for unknown GPADL "
				      "0x70000008"), 1);
	/* A header announcing 30 PFNs, then a body with 5 more words than
	 * remain. */
	w[0] = 30 * PG;
	post_header(f, relid, H(9), 31 * 8, 1, w, 27);
	assert_int_equal(created(f, H(9)), -1);
	post_body(f, H(9), w + 27, 5);
	assert_int_equal(created(f, H(9)), VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL_BODY 0x70000009: more PFNs than "
				      "announced"), 1);
	post_body(f, H(9), w + 27, 4); /* the slot is gone */
	sync_host(f);
	assert_int_equal(logcap_count("GPADL_BODY for unknown GPADL "
				      "0x70000009"), 1);
	/* Unknown relids. */
	assert_int_equal(hg_gpadl_status(l, f->rec, 0, H(10), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(hg_gpadl_status(l, f->rec, 2048, H(11), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(hg_gpadl_status(l, f->rec, 99, H(12), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL_HEADER 0x7000000c for unknown "
				      "relid 99"), 1);
	/* Teardown of a GPADL that never was. */
	hg_teardown(l, relid, H(12));
	assert_false(torndown(f, H(12)));
	assert_int_equal(logcap_count("GPADL_TEARDOWN of unknown GPADL "
				      "0x7000000c"), 1);
	/* The guest's own GPADLs on that channel still work. */
	uint32_t handle;

	assert_int_equal(ovb_vsc_gpadl_create(f->p->echo.dev[1], buf, 32 * PG,
					      &handle), 0);
	assert_int_equal(ovb_vsc_gpadl_teardown(f->p->echo.dev[1], handle), 0);
	still_works(f, 1);
}

static void test_gpadl_duplicates(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	uint64_t w[32], gpa;
	void *buf;

	assert_int_equal(ovb_client_alloc(f->p->cl, 32 * PG, &buf, &gpa), 0);
	for (int i = 0; i < 32; i++)
		w[i] = gpa / PG + (uint64_t)i;
	w[0] = 30 * PG;
	/* A complete GPADL, then its handle again: refused, and the first
	 * one still exists (it tears down). */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, PG), 0);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 2 * PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL handle 0x70000001 already in "
				      "use"), 1);
	hg_teardown(l, relid, H(1));
	assert_true(torndown(f, H(1)));
	/* The same while the first is still being assembled. */
	post_header(f, relid, H(2), 31 * 8, 1, w, 27);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(2), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL handle 0x70000002 already in "
				      "use"), 1);
	post_body(f, H(2), w + 27, 4);
	assert_int_equal(created(f, H(2)), 0);
	hg_teardown(l, relid, H(2));
	assert_true(torndown(f, H(2)));
	/* At most eight GPADLs in flight. */
	for (uint32_t i = 0; i < 8; i++)
		post_header(f, relid, H(10 + i), 31 * 8, 1, w, 27);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(18), gpa, 30 * PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("too many GPADLs in flight"), 1);
	for (uint32_t i = 0; i < 8; i++) {
		post_body(f, H(10 + i), w + 27, 4);
		assert_int_equal(created(f, H(10 + i)), 0);
		hg_teardown(l, relid, H(10 + i));
		assert_true(torndown(f, H(10 + i)));
	}
	still_works(f, 1);
}

/* One partition may not make the host hold GPADLs without bound. */
static void test_gpadl_quota(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	struct ovb_echo *e;
	uint64_t gpa;
	void *buf;

	assert_int_equal(ovb_client_alloc(f->p->cl, PG, &buf, &gpa), 0);
	for (uint32_t i = 0; i < 4096; i++)
		assert_int_equal(hg_gpadl(l, relid, H(1000 + i), gpa, PG), 0);
	assert_int_equal(created(f, H(1000 + 4095)), 0);
	assert_int_equal(logcap_count("quota"), 0);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(9999), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("guest0: GPADL 0x7000270f refused: over "
				      "the partition's quota of 4096 GPADLs"),
			 1);
	/* Another partition is not affected by this one's quota. */
	assert_int_equal(ovb_echo_open(f->good_echo.dev[1], 16384, NULL, &e),
			 0);
	pair_ping(e, 64);
	ovb_echo_close(e);
	/* Giving one back makes room for one. */
	hg_teardown(l, relid, H(1000));
	assert_true(torndown(f, H(1000)));
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(9998), gpa, PG),
			 0);
}

/* ---- open, close, release ----------------------------------------------------- */

static void test_open_bad(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1), other = hg_relid(f, 2);
	struct ovb_echo *e;
	uint64_t gpa;
	void *ring;

	assert_int_equal(ovb_client_alloc(f->p->cl, 8 * PG, &ring, &gpa), 0);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 8 * PG),
			 0);
	/* Unknown relids. */
	assert_int_not_equal(hg_open_status(l, f->rec, 0, H(1), 4), 0);
	assert_int_not_equal(hg_open_status(l, f->rec, 99, H(1), 4), 0);
	assert_int_not_equal(hg_open_status(l, f->rec, 0xffffffffu, H(1), 4),
			     0);
	assert_int_equal(logcap_count("OPEN_CHANNEL for unknown relid 99"), 1);
	assert_int_equal(logcap_count("OPEN_CHANNEL for unknown relid"), 3);
	/* An unknown GPADL, and one that belongs to another relid. */
	assert_int_not_equal(hg_open_status(l, f->rec, relid, 0xdead, 4), 0);
	assert_int_equal(logcap_count("ring GPADL 0xdead unknown"), 1);
	assert_int_equal(hg_gpadl_status(l, f->rec, other, H(2), gpa, 8 * PG),
			 0);
	assert_int_not_equal(hg_open_status(l, f->rec, relid, H(2), 4), 0);
	assert_int_equal(logcap_count("ring GPADL 0x70000002 unknown"), 1);
	/* Downstream offsets that leave a ring without data pages. */
	static const uint32_t bad_off[] = { 0, 1, 7, 8, 9, 0xffffffffu };

	for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++)
		assert_int_not_equal(hg_open_status(l, f->rec, relid, H(1),
						    bad_off[i]), 0);
	assert_int_equal(logcap_count("downstream ring offset 0 invalid for "
				      "a 8-page GPADL"), 1);
	assert_int_equal(logcap_count("downstream ring offset 8 invalid"), 1);
	assert_int_equal(logcap_count("downstream ring offset"), 6);
	/* Our client closes after a refused open in case the host kept the
	 * rings anyway; a host that did not open takes that quietly, once. */
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	sync_host(f);
	assert_int_equal(logcap_count("not open"), 0);
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	sync_host(f);
	assert_int_equal(logcap_count("CLOSECHANNEL relid 2: not open"), 1);
	/* A ring GPADL that is not whole pages. */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(3), gpa + 100,
					 3 * PG), 0);
	assert_int_not_equal(hg_open_status(l, f->rec, relid, H(3), 2), 0);
	assert_int_equal(logcap_count("ring GPADL 0x70000003: not one range "
				      "of whole pages"), 1);
	/* None of that stuck: a good raw open works, and closes. */
	assert_int_equal(hg_open_status(l, f->rec, relid, H(1), 4), 0);
	assert_int_not_equal(hg_open_status(l, f->rec, relid, H(1), 4), 0);
	assert_int_equal(logcap_count("OPEN_CHANNEL relid 2: already open"), 1);
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	hg_teardown(l, relid, H(1));
	assert_true(torndown(f, H(1)));

	/* Double open of the guest's real channel: refused, and the first
	 * channel keeps working. */
	assert_int_equal(ovb_echo_open(f->p->echo.dev[0], 16384, NULL, &e), 0);
	pair_ping(e, 10);
	assert_int_equal(hg_gpadl_status(l, f->rec, hg_relid(f, 0), H(4), gpa,
					 8 * PG), 0);
	assert_int_not_equal(hg_open_status(l, f->rec, hg_relid(f, 0), H(4), 4),
			     0);
	assert_int_equal(logcap_count("OPEN_CHANNEL relid 1: already open"), 1);
	for (int i = 0; i < 20; i++)
		pair_ping(e, 100 + i);
	ovb_echo_close(e);
	still_works(f, 1);
}

static void test_close_release(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	struct vmbus_channel_modify_channel m = {
		.header.msgtype = CHANNELMSG_MODIFYCHANNEL,
		.child_relid = 555,
	};

	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, hg_relid(f, 1));
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, 77);
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, 0xffffffffu);
	hg_relid_msg(l, CHANNELMSG_RELID_RELEASED, hg_relid(f, 1));
	hg_relid_msg(l, CHANNELMSG_RELID_RELEASED, 4000);
	hg_post(l, &m, sizeof(m));
	sync_host(f);
	assert_int_equal(logcap_count("CLOSECHANNEL relid 2: not open"), 1);
	assert_int_equal(logcap_count("CLOSECHANNEL for unknown relid 77"), 1);
	assert_int_equal(logcap_count("CLOSECHANNEL for unknown relid "
				      "4294967295"), 1);
	assert_int_equal(logcap_count("RELID_RELEASED relid 2: not "
				      "rescinded"), 1);
	assert_int_equal(logcap_count("RELID_RELEASED for unknown relid 4000"),
			 1);
	assert_int_equal(logcap_count("MODIFYCHANNEL for unknown relid 555"),
			 1);
	/* The offer is still there and still opens. */
	still_works(f, 1);
}

/*
 * GPADL_TEARDOWN of a ring GPADL in use is deferred (test-bus covers a
 * device's buffer); closing the channel then releases it and sends
 * GPADL_TORNDOWN.
 */
static void test_teardown_then_close(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	uint64_t gpa;
	void *ring;

	assert_int_equal(ovb_client_alloc(f->p->cl, 8 * PG, &ring, &gpa), 0);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 8 * PG),
			 0);
	assert_int_equal(hg_open_status(l, f->rec, relid, H(1), 4), 0);
	hg_teardown(l, relid, H(1));
	assert_false(torndown(f, H(1)));
	assert_int_equal(logcap_count("GPADL_TEARDOWN of GPADL 0x70000001 "
				      "still in use by relid 2; deferred"), 1);
	/* A second teardown changes nothing. */
	hg_teardown(l, relid, H(1));
	assert_false(torndown(f, H(1)));
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	assert_true(torndown(f, H(1)));
	assert_int_equal(hrec_count(f->rec, CHANNELMSG_GPADL_TORNDOWN), 1);
	/* The handle is free again, and the device opens. */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 8 * PG),
			 0);
	hg_teardown(l, relid, H(1));
	sync_host(f);
	assert_int_equal(hrec_count(f->rec, CHANNELMSG_GPADL_TORNDOWN), 2);
	ovb_client_free(f->p->cl, ring, 8 * PG);
	still_works(f, 1);
}

/* Lines the flood test's sink saw, and how many said "suppressed". */
static int flood_lines, flood_suppressed;

static void flood_sink(enum ovb_log_level level, const char *line, void *ctx)
{
	__atomic_fetch_add(&flood_lines, 1, __ATOMIC_RELAXED);
	if (strstr(line, "suppressed"))
		__atomic_fetch_add(&flood_suppressed, 1, __ATOMIC_RELAXED);
}

/*
 * 10000 bad messages: the host's log gets one burst of warnings and then
 * one a second (with a count of what it dropped), not 10000 lines behind
 * its log lock.
 */
static void test_flood(void **state)
{
	struct hg_fx *f = *state;
	uint8_t body[240] = { 0 };
	struct timespec t0, t1;
	long secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ovb_log_ratelimit_reset();
	ovb_log_set_sink(flood_sink, NULL);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(hg_post_type(f->p->link, 0xffff, body, 24), 0);
	sync_host(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	logcap_start();
	secs = t1.tv_sec - t0.tv_sec + 1;
	/* A burst of 10, then per second one line and one "suppressed". */
	assert_true(flood_lines >= OVB_LOG_BURST);
	assert_true(flood_lines <= OVB_LOG_BURST + 2 * secs + 8);
	assert_true(flood_suppressed <= secs + 1);
	still_works(f, 0);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_before_contact, setup_fresh),
		T(test_truncated, setup_connected),
		T(test_oversized, setup_connected),
		T(test_unknown_types, setup_connected),
		T(test_contact_versions, setup_fresh),
		T(test_contact_pages, setup_fresh),
		T(test_gpadl_malformed, setup_connected),
		T(test_gpadl_duplicates, setup_connected),
		T(test_gpadl_quota, setup_connected),
		T(test_open_bad, setup_connected),
		T(test_close_release, setup_connected),
		T(test_teardown_then_close, setup_connected),
		T(test_flood, setup_connected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
