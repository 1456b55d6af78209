// SPDX-License-Identifier: MIT
/*
 * Unit tests: runs of frames through the switch (ovb_vswitch_input_run).
 * A run whose destination changes mid-run reaches each port in order, in
 * one call per stretch for a port with a run callback; a port without
 * one, and a frame that needs a software fallback, gets frames one at a
 * time, in order; frames for an unknown MAC are flooded as a run; counters
 * are exact per port with drops in the middle of a run and refused
 * frames; a port removed while another thread's batch sends runs to it is
 * never called after its removal returned (its context is freed then:
 * ASan sees any use) and got whole runs only.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/vswitch.h"
#include "tests/lib/net-frame-fx.h"

/* Every delivery, in the order the switch made them. */
#define LOGMAX 1024
struct rec {
	uint8_t port; /* the receiving port's tag */
	uint8_t seq;  /* the frame's sequence number (byte 14) */
	uint8_t call; /* 'n': a run call, 't': the transmit callback */
	uint8_t nrun; /* frames in that run call */
	uint16_t len;
};

static struct rec logv[LOGMAX];
static unsigned int nlog;

struct port_ctx {
	uint8_t tag;
	uint64_t drop_odd; /* run callback: drop frames with an odd seq */
	_Atomic uint64_t frames, calls;
	useconds_t delay_us; /* each call sleeps this long */
	bool nolog;          /* a port another thread feeds */
};

static void log_one(struct port_ctx *c, uint8_t call, unsigned int n,
		    const uint8_t *f, size_t len)
{
	if (c->nolog || nlog == LOGMAX)
		return;
	logv[nlog++] = (struct rec){ .port = c->tag, .seq = f[14],
				     .call = call, .nrun = (uint8_t)n,
				     .len = (uint16_t)len };
}

static int ctx_tx(void *ctx, const void *frame, size_t len,
		  const struct ovb_net_meta *meta)
{
	struct port_ctx *c = ctx;

	(void)meta;
	if (c->delay_us)
		usleep(c->delay_us);
	atomic_fetch_add(&c->calls, 1);
	atomic_fetch_add(&c->frames, 1);
	/* a tagged frame has its sequence number 4 bytes further */
	log_one(c, 't', 1, (const uint8_t *)frame + (len == 68 ? 4 : 0),
		len);
	return 0;
}

static uint64_t ctx_txn(void *ctx, const struct ovb_vswitch_frame *fr,
			unsigned int n)
{
	struct port_ctx *c = ctx;
	uint64_t drop = 0;

	assert_true(n >= 1 && n <= OVB_VSWITCH_RUN_MAX);
	if (c->delay_us)
		usleep(c->delay_us);
	atomic_fetch_add(&c->calls, 1);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *f = fr[i].frame;

		assert_non_null(fr[i].meta);
		/* one run: the same two MACs throughout */
		assert_memory_equal(f, fr[0].frame, 12);
		if (c->drop_odd && (f[14] & 1)) {
			drop |= 1ull << i;
			continue;
		}
		atomic_fetch_add(&c->frames, 1);
		log_one(c, 'n', n, f, fr[i].len);
	}
	return drop;
}

/* Frame @seq from MAC 02:..:@src to 02:..:@dst, @len bytes. */
static void mk(uint8_t *f, uint8_t dst, uint8_t src, uint8_t seq,
	       size_t len)
{
	const uint8_t d[6] = { 0x02, 0, 0, 0, 0, dst };
	const uint8_t s[6] = { 0x02, 0, 0, 0, 0, src };

	nff_eth(f, len, d, s, 0, 0);
	f[14] = seq;
}

enum { P_IN, P_A, P_B, P_C, P_D, NP };

struct fx {
	struct ovb_vswitch *sw;
	struct port_ctx ctx[NP];
	unsigned int port[NP];
	struct ovb_vswitch_port_stats base[NP]; /* after the set-up */
};

/*
 * Ports: in (where runs come from), A and B (run callbacks, every
 * capability), C (no run callback), D (a run callback but no offloads).
 * Each has learned MAC 02:..:(0xa0 + its index).
 */
static int setup(void **state)
{
	static const bool run[NP] = { false, true, true, false, true };
	struct fx *x = calloc(1, sizeof(*x));
	uint8_t f[64];

	nlog = 0;
	if (!x || ovb_vswitch_create(NULL, &x->sw))
		return -1;
	for (int i = 0; i < NP; i++) {
		uint32_t caps = i == P_D ? 0 : 0x0f;

		x->ctx[i].tag = (uint8_t)i;
		if (ovb_vswitch_port_add(x->sw, "p", caps, ctx_tx, &x->ctx[i],
					 &x->port[i]))
			return -1;
		if (run[i] && ovb_vswitch_port_set_txn(x->sw, x->port[i],
						       ctx_txn))
			return -1;
	}
	for (int i = 1; i < NP; i++) {
		/* to the in port's MAC: learned, delivered to in only */
		mk(f, 0xa0, (uint8_t)(0xa0 + i), 0, 64);
		ovb_vswitch_input(x->sw, x->port[i], f, 64, NULL);
	}
	mk(f, 0xa1, 0xa0, 0, 64);
	ovb_vswitch_input(x->sw, x->port[P_IN], f, 64, NULL);
	for (int i = 0; i < NP; i++) {
		x->ctx[i].frames = x->ctx[i].calls = 0;
		if (ovb_vswitch_port_stats(x->sw, x->port[i], &x->base[i]))
			return -1;
	}
	nlog = 0;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	ovb_vswitch_destroy(x->sw);
	free(x);
	return 0;
}

/* A port's counters since the set-up. */
static struct ovb_vswitch_port_stats stats(struct fx *x, int p)
{
	struct ovb_vswitch_port_stats st, *b = &x->base[p];

	assert_int_equal(ovb_vswitch_port_stats(x->sw, x->port[p], &st), 0);
	st.rx_packets -= b->rx_packets;
	st.rx_bytes -= b->rx_bytes;
	st.rx_drops -= b->rx_drops;
	st.floods -= b->floods;
	st.tx_packets -= b->tx_packets;
	st.tx_bytes -= b->tx_bytes;
	st.tx_drops -= b->tx_drops;
	return st;
}

/* A run to A, B, A, C: each stretch to its port, in order. */
static void test_destination_changes(void **state)
{
	struct fx *x = *state;
	static const uint8_t to[10] = { P_A, P_A, P_A, P_B, P_B,
					P_B, P_B, P_A, P_A, P_C };
	uint8_t f[10][64];
	struct ovb_vswitch_frame run[10];
	struct ovb_vswitch_port_stats in0 = stats(x, P_IN), st;
	int res[10];

	for (int i = 0; i < 10; i++) {
		mk(f[i], (uint8_t)(0xa0 + to[i]), 0xa0, (uint8_t)i, 64);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	ovb_vswitch_batch_begin(x->sw);
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 10,
					       res), 10);
	ovb_vswitch_batch_end(x->sw);
	assert_int_equal(nlog, 10);
	for (unsigned int i = 0; i < 10; i++) {
		assert_int_equal(logv[i].seq, i);
		assert_int_equal(logv[i].port, to[i]);
		assert_int_equal(res[i], 1);
	}
	/* One call per stretch: 3, 4, 2 frames; C one by one. */
	assert_int_equal(logv[0].nrun, 3);
	assert_int_equal(logv[3].nrun, 4);
	assert_int_equal(logv[7].nrun, 2);
	assert_int_equal(logv[9].call, 't');
	assert_int_equal(atomic_load(&x->ctx[P_A].calls), 2);
	assert_int_equal(atomic_load(&x->ctx[P_B].calls), 1);
	st = stats(x, P_IN);
	assert_int_equal(st.rx_packets - in0.rx_packets, 10);
	assert_int_equal(st.rx_bytes - in0.rx_bytes, 640);
	assert_int_equal(st.floods - in0.floods, 0);
	assert_int_equal(stats(x, P_A).tx_packets, 5);
	assert_int_equal(stats(x, P_A).tx_bytes, 320);
	assert_int_equal(stats(x, P_B).tx_packets, 4);
	assert_int_equal(stats(x, P_C).tx_packets, 1);
	assert_int_equal(stats(x, P_D).tx_packets, 0);
}

/*
 * A port without a run callback gets a run one frame at a time; a port
 * with one but without VLAN offload gets the tagged frame alone (tag
 * inserted), the frames around it in run calls, all in order.
 */
static void test_fallbacks(void **state)
{
	struct fx *x = *state;
	uint8_t f[6][64];
	struct ovb_vswitch_frame run[6];
	struct ovb_net_meta vlan = { .flags = OVB_NET_META_VLAN,
				     .vlan_tci = 7 };
	static const char calls[6] = { 'n', 'n', 'n', 't', 'n', 'n' };

	for (int i = 0; i < 6; i++) {
		mk(f[i], 0xa0 + P_C, 0xa0, (uint8_t)i, 64);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 6,
					       NULL), 6);
	assert_int_equal(nlog, 6);
	for (unsigned int i = 0; i < 6; i++) {
		assert_int_equal(logv[i].port, P_C);
		assert_int_equal(logv[i].seq, i);
		assert_int_equal(logv[i].call, 't');
	}
	assert_int_equal(atomic_load(&x->ctx[P_C].calls), 6);
	assert_int_equal(stats(x, P_C).tx_packets, 6);
	nlog = 0;
	for (int i = 0; i < 6; i++) {
		mk(f[i], 0xa0 + P_D, 0xa0, (uint8_t)i, 64);
		run[i].meta = i == 3 ? &vlan : NULL;
	}
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 6,
					       NULL), 6);
	assert_int_equal(nlog, 6);
	for (unsigned int i = 0; i < 6; i++) {
		assert_int_equal(logv[i].port, P_D);
		assert_int_equal(logv[i].seq, i);
		assert_int_equal(logv[i].call, calls[i]);
		assert_int_equal(logv[i].len, i == 3 ? 68 : 64);
	}
	assert_int_equal(atomic_load(&x->ctx[P_D].calls), 3);
	assert_int_equal(stats(x, P_D).tx_packets, 6);
}

/* Frames for an unknown MAC: the run goes to every other port. */
static void test_flood(void **state)
{
	struct fx *x = *state;
	uint8_t f[5][64];
	struct ovb_vswitch_frame run[5];
	struct ovb_vswitch_port_stats in0 = stats(x, P_IN);
	int res[5];

	for (int i = 0; i < 5; i++) {
		mk(f[i], 0x77, 0xa0, (uint8_t)i, 64);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 5,
					       res), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(res[i], NP - 1);
	for (int p = P_A; p < NP; p++) {
		unsigned int k = 0;

		assert_int_equal(atomic_load(&x->ctx[p].frames), 5);
		assert_int_equal(stats(x, p).tx_packets, 5);
		for (unsigned int i = 0; i < nlog; i++)
			if (logv[i].port == p)
				assert_int_equal(logv[i].seq, k++);
		assert_int_equal(k, 5);
	}
	/* run ports: one call each; C: one per frame */
	assert_int_equal(atomic_load(&x->ctx[P_A].calls), 1);
	assert_int_equal(atomic_load(&x->ctx[P_B].calls), 1);
	assert_int_equal(atomic_load(&x->ctx[P_D].calls), 1);
	assert_int_equal(atomic_load(&x->ctx[P_C].calls), 5);
	assert_int_equal(stats(x, P_IN).floods - in0.floods, 5);
	assert_int_equal(stats(x, P_IN).rx_packets - in0.rx_packets, 5);
	assert_int_equal(atomic_load(&x->ctx[P_IN].frames), 0);
}

/*
 * Counters with drops: A's run callback drops odd frames, a runt and a
 * multicast source in the run are refused, frames of different lengths.
 */
static void test_counters_with_drops(void **state)
{
	struct fx *x = *state;
	uint8_t f[12][128];
	struct ovb_vswitch_frame run[12];
	struct ovb_vswitch_port_stats in0 = stats(x, P_IN), a;
	uint64_t ok_bytes = 0, all_bytes = 0;
	int res[12];

	x->ctx[P_A].drop_odd = 1;
	for (int i = 0; i < 12; i++) {
		size_t len = 60 + (size_t)i * 5;

		mk(f[i], 0xa0 + P_A, 0xa0, (uint8_t)i, len);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = len };
		all_bytes += len;
		if (i != 4 && i != 9 && !(i & 1))
			ok_bytes += len;
	}
	run[4].len = 13; /* a runt */
	all_bytes -= 60 + 4 * 5 - 13;
	f[9][6] = 0x03; /* a multicast source */
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 12,
					       res), 10);
	for (int i = 0; i < 12; i++)
		assert_int_equal(res[i], i == 4 || i == 9 ? -EBADMSG
							  : !(i & 1));
	a = stats(x, P_A);
	assert_int_equal(a.tx_packets, 5); /* 0 2 6 8 10 */
	assert_int_equal(a.tx_bytes, ok_bytes);
	assert_int_equal(a.tx_drops, 5);   /* 1 3 5 7 11 */
	assert_int_equal(stats(x, P_IN).rx_packets - in0.rx_packets, 12);
	assert_int_equal(stats(x, P_IN).rx_bytes - in0.rx_bytes, all_bytes);
	assert_int_equal(stats(x, P_IN).rx_drops - in0.rx_drops, 2);
	/* the frames around the refused ones: three runs */
	assert_int_equal(atomic_load(&x->ctx[P_A].calls), 3);
	/* bad arguments */
	assert_int_equal(ovb_vswitch_input_run(x->sw, 63, run, 1, NULL),
			 -ENODEV);
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run,
					       OVB_VSWITCH_RUN_MAX + 1, NULL),
			 -EINVAL);
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], NULL, 0,
					       NULL), 0);
}

/* The source learns once per forward: two sources in one run. */
static void test_learns_per_source(void **state)
{
	struct fx *x = *state;
	uint8_t f[4][64];
	struct ovb_vswitch_frame run[4];
	unsigned int p;

	for (int i = 0; i < 4; i++) {
		mk(f[i], 0xa0 + P_A, i < 2 ? 0x31 : 0x32, (uint8_t)i, 64);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	assert_int_equal(ovb_vswitch_input_run(x->sw, x->port[P_IN], run, 4,
					       NULL), 4);
	assert_int_equal(ovb_vswitch_lookup(x->sw, f[0] + 6, &p), 0);
	assert_int_equal(p, x->port[P_IN]);
	assert_int_equal(ovb_vswitch_lookup(x->sw, f[2] + 6, &p), 0);
	assert_int_equal(p, x->port[P_IN]);
	assert_int_equal(atomic_load(&x->ctx[P_A].calls), 2);
}

struct holder {
	struct ovb_vswitch *sw;
	unsigned int in;
	_Atomic bool holding, stop, in_batch;
	_Atomic uint64_t sent;
};

#define HOLD_RUN 8
#define MAC_KEEP 0x21
#define MAC_GONE 0x22

/*
 * One batch of runs of HOLD_RUN until told to stop (or 5000 runs): frames
 * 0-2 and 5-7 of each run to "gone", 3-4 to "keep", so that a run is
 * three forwards, the middle one slow.
 */
static void *hold_run(void *arg)
{
	struct holder *h = arg;
	uint8_t fg[64], fk[64];
	struct ovb_vswitch_frame run[HOLD_RUN];

	mk(fg, MAC_GONE, 0x10, 0, 64);
	mk(fk, MAC_KEEP, 0x10, 0, 64);
	for (int i = 0; i < HOLD_RUN; i++)
		run[i] = (struct ovb_vswitch_frame){
			.frame = i == 3 || i == 4 ? fk : fg, .len = 64 };
	ovb_vswitch_batch_begin(h->sw);
	atomic_store(&h->in_batch, true);
	for (int i = 0; i < 5000 && !atomic_load(&h->stop); i++) {
		ovb_vswitch_input_run(h->sw, h->in, run, HOLD_RUN, NULL);
		atomic_fetch_add(&h->sent, HOLD_RUN);
		atomic_store(&h->holding, true);
	}
	atomic_store(&h->in_batch, false);
	ovb_vswitch_batch_end(h->sw);
	return NULL;
}

/*
 * Ports: in (the holder's), keep (a run callback that takes a while, so
 * that the removal comes in the middle of a run), gone (removed while the
 * holder's batch sends it runs; its context freed as soon as the removal
 * returns).  The removal waits for the run in flight: "gone" got both of
 * its forwards of every run it saw (a multiple of 6 frames), never one
 * without the other, and nothing after.  Every frame reached exactly one
 * port (after the removal, "gone"'s MAC is forgotten: flooded to "keep").
 */
static void test_remove_mid_run(void **state)
{
	struct ovb_vswitch *sw;
	struct port_ctx *keep = calloc(1, sizeof(*keep)),
			*gone = calloc(1, sizeof(*gone)), in = { 0 };
	struct holder h = { 0 };
	unsigned int pin, pk, pg;
	uint64_t gone_frames, sent;
	struct ovb_vswitch_port_stats st;
	uint8_t f[64];
	pthread_t t;

	(void)state;
	assert_non_null(keep);
	assert_non_null(gone);
	keep->nolog = gone->nolog = in.nolog = true;
	assert_int_equal(ovb_vswitch_create(NULL, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "in", 0, ctx_tx, &in, &pin),
			 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "keep", 0, ctx_tx, keep,
					      &pk), 0);
	assert_int_equal(ovb_vswitch_port_set_txn(sw, pk, ctx_txn), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "gone", 0, ctx_tx, gone, &pg),
			 0);
	assert_int_equal(ovb_vswitch_port_set_txn(sw, pg, ctx_txn), 0);
	/* learn both MACs (frames to in's MAC, unknown yet: flooded) */
	mk(f, 0x10, MAC_KEEP, 0, 64);
	ovb_vswitch_input(sw, pk, f, 64, NULL);
	mk(f, 0x10, MAC_GONE, 0, 64);
	ovb_vswitch_input(sw, pg, f, 64, NULL);
	keep->frames = keep->calls = gone->frames = gone->calls = 0;
	keep->delay_us = 200;
	h.sw = sw;
	h.in = pin;
	assert_int_equal(pthread_create(&t, NULL, hold_run, &h), 0);
	while (!atomic_load(&h.holding))
		usleep(100);
	usleep(1000);
	assert_int_equal(ovb_vswitch_port_remove(sw, pg), 0);
	assert_true(atomic_load(&h.in_batch));
	gone_frames = atomic_load(&gone->frames);
	free(gone); /* ASan: any later call into it is a use after free */
	assert_true(gone_frames >= 6);
	assert_int_equal(gone_frames % 6, 0);
	usleep(20000);
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	sent = atomic_load(&h.sent);
	assert_true(sent > gone_frames);
	assert_int_equal(ovb_vswitch_port_stats(sw, pin, &st), 0);
	assert_int_equal(st.rx_packets, sent);
	assert_int_equal(ovb_vswitch_port_stats(sw, pk, &st), 0);
	/* 2 of 8 before the removal, all 8 after; one call per forward */
	assert_int_equal(atomic_load(&keep->frames), sent - gone_frames);
	assert_int_equal(st.tx_packets - 1, sent - gone_frames);
	assert_int_equal(ovb_vswitch_port_stats(sw, pg, &st), -ENODEV);
	ovb_vswitch_destroy(sw);
	free(keep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destination_changes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallbacks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_with_drops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_learns_per_source, setup,
						teardown),
		cmocka_unit_test(test_remove_mid_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
