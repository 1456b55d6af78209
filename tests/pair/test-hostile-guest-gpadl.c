// SPDX-License-Identifier: MIT
/*
 * A hostile guest's GPADL messages against the real server: malformed
 * headers and bodies, duplicate handles, a partition over its GPADL
 * quota.  Each case checks the server's log line and GPADL_CREATED or
 * GPADL_TORNDOWN reply, and that the abused partition still works
 * afterwards -- while a second partition on the same server pings its
 * echo device throughout (tests/lib/hostile.c).  The other channel
 * messages: test-hostile-guest.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vsp.h"
#include "tests/lib/hostile.h"

#define BASE (1ull << 30)          /* the hostile guest's RAM */
#define MEMSZ (64ull << 20)
#define H(n) (0x70000000u + (n))   /* raw GPADL handles */
#define PG 4096u

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

	hg_sync(f);
	if (!hrec_find(f->rec, CHANNELMSG_GPADL_CREATED,
		       offsetof(struct vmbus_channel_gpadl_created, gpadl),
		       handle, buf))
		return -1;
	memcpy(&c, buf, sizeof(c));
	return c.creation_status;
}

/* 32 pages of the guest's memory (their address in *@gpa), PFNs in @w. */
static void *pages32(struct hg_fx *f, uint64_t w[32], uint64_t *gpa)
{
	void *buf;

	assert_int_equal(ovb_client_alloc(f->p->cl, 32 * PG, &buf, gpa), 0);
	for (int i = 0; i < 32; i++)
		w[i] = *gpa / PG + (uint64_t)i;
	return buf;
}

static void test_gpadl_malformed(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	uint64_t w[32], gpa;
	void *buf = pages32(f, w, &gpa);

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
	hg_sync(f);
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
	assert_false(hg_torndown(f, H(12)));
	assert_int_equal(logcap_count("GPADL_TEARDOWN of unknown GPADL "
				      "0x7000000c"), 1);
	/* The guest's own GPADLs on that channel still work. */
	uint32_t handle;

	assert_int_equal(ovb_vsc_gpadl_create(f->p->echo.dev[1], buf, 32 * PG,
					      &handle), 0);
	assert_int_equal(ovb_vsc_gpadl_teardown(f->p->echo.dev[1], handle), 0);
	hg_still_works(f, 1);
}

static void test_gpadl_duplicates(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_inproc *l = f->p->link;
	uint32_t relid = hg_relid(f, 1);
	uint64_t w[32], gpa;

	pages32(f, w, &gpa);
	w[0] = 30 * PG;
	/* A complete GPADL, then its handle again: refused, and the first
	 * one still exists (it tears down). */
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, PG), 0);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(1), gpa, 2 * PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL handle 0x70000001 already in "
				      "use"), 1);
	hg_teardown(l, relid, H(1));
	assert_true(hg_torndown(f, H(1)));
	/* The same while the first is still being assembled. */
	post_header(f, relid, H(2), 31 * 8, 1, w, 27);
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(2), gpa, PG),
			 VMBUS_STATUS_UNSUCCESSFUL);
	assert_int_equal(logcap_count("GPADL handle 0x70000002 already in "
				      "use"), 1);
	post_body(f, H(2), w + 27, 4);
	assert_int_equal(created(f, H(2)), 0);
	hg_teardown(l, relid, H(2));
	assert_true(hg_torndown(f, H(2)));
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
		assert_true(hg_torndown(f, H(10 + i)));
	}
	hg_still_works(f, 1);
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
	assert_true(hg_torndown(f, H(1000)));
	assert_int_equal(hg_gpadl_status(l, f->rec, relid, H(9998), gpa, PG),
			 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, hg_fx_setup, hg_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gpadl_malformed),
		T(test_gpadl_duplicates),
		T(test_gpadl_quota),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
