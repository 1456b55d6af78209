// SPDX-License-Identifier: MIT
/*
 * A hostile guest's channel messages against the real server: messages
 * before contact, truncated, oversized and unknown ones, bad
 * INITIATE_CONTACTs, bad opens, closes and releases, a flood (GPADLs:
 * test-hostile-guest-gpadl.c).
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

static void test_before_contact(void **state)
{
	struct hg_fx *f = *state;
	uint32_t body[60] = { 1 };

	for (size_t i = 0; i < NGUEST; i++)
		if (guest_msgs[i].type != CHANNELMSG_INITIATE_CONTACT)
			assert_int_equal(hg_post_type(f->p->link,
						      guest_msgs[i].type, body,
						      guest_msgs[i].min), 0);
	hg_sync(f);
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
	hg_still_works(f, 0);
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
		hg_sync(f);
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
		hg_sync(f);
		assert_int_equal(logcap_count(mid[i].needle), 1);
		n++;
	}
	/* Shorter still, down to nothing. */
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(ovb_inproc_guest_post(f->p->link, 1, body,
						       len), 0);
	hg_sync(f);
	assert_int_equal(logcap_count("channel message of 0 bytes dropped"), 1);
	assert_int_equal(logcap_count("bytes dropped"), n + 8);
	assert_int_equal(hrec_nmsgs(f->rec), 0);
	hg_still_works(f, 0);
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
		hg_sync(f);
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
		hg_sync(f);
		snprintf(needle, sizeof(needle),
			 "unknown or host-only channel message type %u "
			 "dropped", types[i]);
		assert_int_equal(logcap_count(needle), 1);
	}
	assert_int_equal(hrec_nmsgs(f->rec), 0);
	assert_int_equal(ovb_partition_version(f->part),
			 VMBUS_VERSION_WIN10_V6_0);
	hg_still_works(f, 1);
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
	hg_sync(f);
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
	hg_still_works(f, 2);
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
	hg_sync(f);
	assert_int_equal(ovb_client_connect(f->p->cl, 0, 5000), 0);
	hg_still_works(f, 0);
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
	hg_sync(f);
	assert_int_equal(logcap_count("not open"), 0);
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	hg_sync(f);
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
	assert_true(hg_torndown(f, H(1)));

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
	hg_still_works(f, 1);
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
	hg_sync(f);
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
	hg_still_works(f, 1);
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
	assert_false(hg_torndown(f, H(1)));
	assert_int_equal(logcap_count("GPADL_TEARDOWN of GPADL 0x70000001 "
				      "still in use by relid 2; deferred"), 1);
	/* A second teardown changes nothing. */
	hg_teardown(l, relid, H(1));
	assert_false(hg_torndown(f, H(1)));
	hg_relid_msg(l, CHANNELMSG_CLOSECHANNEL, relid);
	assert_true(hg_torndown(f, H(1)));
	assert_int_equal(hrec_count(f->rec, CHANNELMSG_GPADL_TORNDOWN), 1);
	/* The handle is free again, and the device opens. */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 8 * PG),
			 0);
	hg_teardown(l, relid, H(1));
	hg_sync(f);
	assert_int_equal(hrec_count(f->rec, CHANNELMSG_GPADL_TORNDOWN), 2);
	ovb_client_free(f->p->cl, ring, 8 * PG);
	hg_still_works(f, 1);
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
	hg_sync(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	logcap_start();
	secs = t1.tv_sec - t0.tv_sec + 1;
	/* A burst of 10, then per second one line and one "suppressed". */
	assert_true(flood_lines >= OVB_LOG_BURST);
	assert_true(flood_lines <= OVB_LOG_BURST + 2 * secs + 8);
	assert_true(flood_suppressed <= secs + 1);
	hg_still_works(f, 0);
}

#define T(fn, setup)                                                          \
	cmocka_unit_test_setup_teardown(fn, hg_fx_##setup, hg_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_before_contact, setup_fresh),
		T(test_truncated, setup),
		T(test_oversized, setup),
		T(test_unknown_types, setup),
		T(test_contact_versions, setup_fresh),
		T(test_contact_pages, setup_fresh),
		T(test_open_bad, setup),
		T(test_close_release, setup),
		T(test_teardown_then_close, setup),
		T(test_flood, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
