// SPDX-License-Identifier: MIT
/*
 * A hostile guest's rings and packets against the real server: corrupt
 * indices written into the ring control pages of an open echo channel,
 * malformed packets, and GPA-direct requests naming memory outside the
 * guest.  The host channel that was abused fails with a log line naming
 * what was wrong; the guest's other channel, and a second partition
 * pinging throughout (tests/lib/hostile.c), are unaffected, and the abused
 * device opens again.
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

#include "openvmbus/hv.h"
#include "openvmbus/vsc.h"
#include "tests/lib/hostile.h"

#define PG 4096u
#define RING 16384u

static struct ovb_echo *open_dev(struct hg_fx *f, unsigned int i)
{
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(f->p->echo.dev[i], RING, NULL, &e), 0);
	return e;
}

/* HvSignalEvent on the channel's connection id, as the guest would. */
static void signal_host(struct hg_fx *f, struct ovb_echo *e)
{
	uint32_t relid = ovb_chan_relid(ovb_echo_chan(e));

	ovb_server_signal_event(f->part,
				VMBUS_CHAN_CONNECTION_ID_BASE + relid);
}

/* Wait for @needle in the log; assert it appeared @n times. */
static void expect_log(const char *needle, int n)
{
	PAIR_WAIT(logcap_count(needle) >= n);
	assert_int_equal(logcap_count(needle), n);
}

/* The device that was abused opens again and works. */
static void reopen_works(struct hg_fx *f, unsigned int i)
{
	struct ovb_echo *e = open_dev(f, i);

	pair_ping(e, 1234);
	ovb_echo_close(e);
}

static void corrupt_write_index(struct hg_fx *f, uint32_t value,
				const char *needle)
{
	struct ovb_echo *keep = open_dev(f, 0), *v = open_dev(f, 1);
	struct vmbus_ring_control *ctl = hring_ctl(ovb_echo_chan(v), true);
	int failed = logcap_count("guest0 echo relid 2: channel failed");

	pair_ping(v, 10);
	__atomic_store_n(HCTL(ctl, write_index), value, __ATOMIC_RELEASE);
	signal_host(f, v);
	expect_log(needle, 1);
	expect_log("guest0 echo relid 2: channel failed: inbound ring corrupt",
		   failed + 1);
	expect_log("guest0: relid 2: channel stopped", failed + 1);
	for (int i = 0; i < 20; i++)
		pair_ping(keep, 50 + i);
	ovb_echo_close(v);
	reopen_works(f, 1);
	ovb_echo_close(keep);
}

static void test_write_index_unaligned(void **state)
{
	corrupt_write_index(*state, 13, "relid 2 in: write_index 13 not a "
					"multiple of 8 (size 16384)");
}

static void test_write_index_beyond(void **state)
{
	struct hg_fx *f = *state;

	corrupt_write_index(f, RING, "relid 2 in: write_index 16384 beyond "
				     "the data area (size 16384)");
	corrupt_write_index(f, 0xfffffff8u, "write_index 4294967288 beyond");
}

/*
 * The guest owns read_index of the host->guest ring: a bad one makes the
 * host's next reply fail, and only that channel stops.
 */
static void test_read_index(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_echo *keep = open_dev(f, 0), *v = open_dev(f, 1);
	struct vmbus_ring_control *ctl = hring_ctl(ovb_echo_chan(v), false);
	struct echo_msg req = { .op = ECHO_OP_PING }, rep;
	int rc;

	pair_ping(v, 10);
	hring_quiesce(ovb_echo_chan(v), false);
	__atomic_store_n(HCTL(ctl, read_index), 12, __ATOMIC_RELEASE);
	rc = ovb_echo_call(v, &req, NULL, NULL, 0, &rep, NULL, 0, 300);
	assert_true(rc == -ETIMEDOUT || rc == -ECONNRESET);
	expect_log("relid 2 out: read_index 12 not a multiple of 8", 1);
	expect_log("guest0 echo relid 2: channel failed: outbound ring "
		   "indices corrupt", 1);
	pair_ping(keep, 77);
	ovb_echo_close(v);
	reopen_works(f, 1);
	ovb_echo_close(keep);
}

/* Scribbles on fields the guest owns, or that only steer signalling. */
static void test_harmless_scribbles(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_echo *v = open_dev(f, 1);
	struct vmbus_ring_control *out = hring_ctl(ovb_echo_chan(v), true);
	struct vmbus_ring_control *in = hring_ctl(ovb_echo_chan(v), false);

	pair_ping(v, 10);
	memset(out->reserved1, 0xff, sizeof(out->reserved1));
	memset(out->reserved2, 0xa5, sizeof(out->reserved2));
	memset(in->reserved2, 0x5a, sizeof(in->reserved2));
	out->feature_bits = 0xffffffffu;
	in->feature_bits = 0;
	out->pending_send_sz = 0xffffffffu;
	in->pending_send_sz = 7;
	for (int i = 0; i < 50; i++)
		pair_ping(v, (uint32_t)i * 80);
	assert_int_equal(logcap_count("channel failed"), 0);
	ovb_echo_close(v);
}

struct reply {
	bool done, failed;
	struct echo_msg m;
};

static void got_reply(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	struct reply *r = ctx;

	if (pkt && pkt->len >= sizeof(r->m))
		memcpy(&r->m, pkt->data, sizeof(r->m));
	else
		r->failed = true;
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
}

/* A hand-built GPA-direct request of one range; returns the reply. */
static struct echo_msg gpa_request(struct ovb_echo *e, uint32_t op,
				   uint32_t off, uint32_t count,
				   const uint64_t *pfns)
{
	struct echo_msg req = { .op = op, .arg = 3 };
	uint64_t words[8] = { count | (uint64_t)off << 32 };
	uint32_t n = ovb_gpa_range_npfns(off, count);
	struct reply r = { 0 };
	struct ovb_send s = {
		.type = VM_PKT_DATA_USING_GPA_DIRECT,
		.data = &req,
		.len = sizeof(req),
		.ranges = words,
		.ranges_len = (1 + n) * 8,
		.range_cnt = 1,
		.on_comp = got_reply,
		.comp_ctx = &r,
	};

	assert_true(n < 8);
	memcpy(words + 1, pfns, n * 8);
	assert_int_equal(ovb_chan_send(ovb_echo_chan(e), &s), 0);
	PAIR_WAIT(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
	assert_true(r.done);
	assert_false(r.failed);
	return r.m;
}

static void test_gpa_direct_outside(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_echo *v = open_dev(f, 1);
	struct echo_msg rep;
	uint64_t gpa;
	uint8_t *buf;

	assert_int_equal(ovb_client_alloc(f->p->cl, 2 * PG, (void **)&buf,
					  &gpa), 0);
	memset(buf, 0x11, 2 * PG);
	/* Wholly outside, high and low. */
	rep = gpa_request(v, ECHO_OP_SUM, 0, PG, (uint64_t[]){ 5 });
	assert_int_equal(rep.status, EFAULT);
	rep = gpa_request(v, ECHO_OP_SUM, 0, PG, (uint64_t[]){ 1ull << 52 });
	assert_int_equal(rep.status, EFAULT);
	rep = gpa_request(v, ECHO_OP_SUM, 0, PG,
			  (uint64_t[]){ UINT64_MAX / PG });
	assert_int_equal(rep.status, EFAULT);
	/* One good page, then one past the end of guest memory. */
	rep = gpa_request(v, ECHO_OP_FILL, 4000, 200,
			  (uint64_t[]){ gpa / PG, ((1ull << 30) + (64ull << 20))
							  / PG });
	assert_int_equal(rep.status, EFAULT);
	expect_log("guest0 echo relid 2: echo GPA-direct request names memory "
		   "outside the guest", 4);
	/* FILL wrote nothing before it found the bad page. */
	for (int i = 0; i < 2 * (int)PG; i++)
		assert_int_equal(buf[i], 0x11);
	/* A good request on the same channel still works. */
	rep = gpa_request(v, ECHO_OP_SUM, 100, 50, (uint64_t[]){ gpa / PG });
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.arg, ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf + 100,
					       50));
	pair_ping(v, 99);
	assert_int_equal(logcap_count("channel failed"), 0);
	ovb_echo_close(v);
}

/* ---- malformed packets ------------------------------------------------------- */

struct bad_pkt {
	const char *what;
	uint8_t bytes[64];
	size_t len;
	const char *needle;
};

static void desc(uint8_t *p, uint16_t type, uint16_t off8, uint16_t len8,
		 uint16_t flags)
{
	struct vmpacket_descriptor d = { .type = type, .offset8 = off8,
					 .len8 = len8, .flags = flags,
					 .trans_id = 0x42 };

	memcpy(p, &d, sizeof(d));
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void build_bad(struct bad_pkt *b, int i)
{
	memset(b, 0, sizeof(*b));
	b->len = 32;
	switch (i) {
	case 0:
		b->what = "offset8 < 2";
		desc(b->bytes, VM_PKT_DATA_INBAND, 1, 4, 0);
		b->needle = "offset8 1 outside 2..len8 4";
		break;
	case 1:
		b->what = "offset8 > len8";
		desc(b->bytes, VM_PKT_DATA_INBAND, 5, 4, 0);
		b->needle = "offset8 5 outside 2..len8 4";
		break;
	case 2:
		b->what = "len8 beyond the data";
		desc(b->bytes, VM_PKT_DATA_INBAND, 2, 64, 0);
		b->needle = "len8 64 plus trailer exceeds the 40 bytes written";
		break;
	case 3:
		b->what = "len8 < 2";
		desc(b->bytes, VM_PKT_DATA_INBAND, 2, 1, 0);
		b->needle = "len8 1 shorter than a descriptor";
		break;
	case 4:
		b->what = "a type the channel does not carry";
		desc(b->bytes, VM_PKT_DATA_USING_GPADL, 2, 4, 0);
		b->needle = "malformed packet (type 8, offset8 2, len8 4, "
			    "flags 0)";
		break;
	case 5:
		b->what = "an unknown flag";
		desc(b->bytes, VM_PKT_DATA_INBAND, 2, 4, 0x8001);
		b->needle = "malformed packet (type 6, offset8 2, len8 4, "
			    "flags 0x8001)";
		break;
	case 6:
		b->what = "transfer pages without ranges";
		desc(b->bytes, VM_PKT_DATA_USING_XFER_PAGES, 3, 4, 0);
		b->needle = "malformed packet (type 7";
		break;
	case 7:
		b->what = "GPA direct: two ranges announced, one present";
		desc(b->bytes, VM_PKT_DATA_USING_GPA_DIRECT, 5, 8, 1);
		put32(b->bytes, 20, 2);
		put32(b->bytes, 24, 8);
		b->len = 64;
		b->needle = "malformed packet (type 9, offset8 5";
		break;
	case 8:
		b->what = "GPA direct: no ranges";
		desc(b->bytes, VM_PKT_DATA_USING_GPA_DIRECT, 3, 4, 0);
		b->needle = "malformed packet (type 9, offset8 3";
		break;
	default:
		b->what = "GPA direct: byte_offset 4096";
		desc(b->bytes, VM_PKT_DATA_USING_GPA_DIRECT, 5, 8, 0);
		put32(b->bytes, 20, 1);
		put32(b->bytes, 24, 8);
		put32(b->bytes, 28, 4096);
		b->len = 64;
		b->needle = "malformed packet (type 9, offset8 5, len8 8, "
			    "flags 0)";
	}
}

static void test_malformed_packets(void **state)
{
	struct hg_fx *f = *state;
	struct ovb_echo *keep = open_dev(f, 0);

	for (int i = 0; i < 10; i++) {
		struct ovb_echo *v = open_dev(f, 1);
		struct bad_pkt b;

		build_bad(&b, i);
		print_message("malformed: %s\n", b.what);
		pair_ping(v, 8);
		assert_int_equal(hring_inject(ovb_echo_chan(v), true, b.bytes,
					      b.len), 0);
		signal_host(f, v);
		expect_log(b.needle, 1);
		expect_log("guest0 echo relid 2: channel failed", i + 1);
		pair_ping(keep, 100 + (uint32_t)i);
		ovb_echo_close(v);
	}
	assert_int_equal(logcap_count("echo relid 1: channel failed"), 0);
	reopen_works(f, 1);
	ovb_echo_close(keep);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, hg_fx_setup, hg_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_index_unaligned),
		T(test_write_index_beyond),
		T(test_read_index),
		T(test_harmless_scribbles),
		T(test_gpa_direct_outside),
		T(test_malformed_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
