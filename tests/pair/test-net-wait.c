// SPDX-License-Identifier: MIT
/*
 * A thread delivering to a guest that must wait for receive slots, or
 * for a channel's batch lock, first sends what it left batched on the
 * NIC's other channels: those frames hold slots too, and only the
 * guest's completions of them can give a wait for slots its slots.  A real server with netvsp on a switch and a real guest
 * with netvsc (two queues, RSS) over the inproc link; frames from a test
 * port in one switch batch, so that nothing is flushed before its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define MAXF 128

struct wt {
	struct nvfx fx;
	pthread_mutex_t lock;
	unsigned int n;
	uint8_t queue[MAXF], flow[MAXF], seq[MAXF];
};

/* The guest's receive: which queue, flow and sequence number. */
static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct wt *t = ctx;
	const uint8_t *f = frame;

	(void)meta;
	if (len < 62)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->n < MAXF) {
		t->queue[t->n] = (uint8_t)queue;
		t->flow[t->n] = f[35];
		t->seq[t->n] = f[61];
	}
	t->n++;
	pthread_mutex_unlock(&t->lock);
}

static unsigned int nrx(struct wt *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* TCP/IPv4 from the test port to the guest, flow @flow, number @seq. */
static void flow_frame(struct wt *t, uint8_t flow, uint8_t seq, uint8_t *f)
{
	struct ovb_netvsc_info info;

	ovb_netvsc_get_info(t->fx.g[0].nic, &info);
	nvfx_tcp_frame(f, info.mac, (uint8_t[]){ 0x02, 0, 0, 0, 0x77, 0x01 },
		       9, (uint16_t)(0x4000 | flow));
	f[61] = seq;
}

static uint64_t vsp_stat(struct wt *t, size_t off)
{
	struct ovb_netvsp_stats st;
	uint64_t v;

	ovb_netvsp_get_stats(t->fx.vsp, &st);
	memcpy(&v, (const uint8_t *)&st + off, sizeof(v));
	return v;
}

#define STAT(f) vsp_stat(t, offsetof(struct ovb_netvsp_stats, f))

static struct wt *wt_new(void)
{
	/* A wait that runs out shows in wait_timeouts; 2 s is never hit
	 * when the slots come back. */
	struct ovb_netvsp_cfg cfg = { .name = "sw0", .rx_wait_ms = 2000 };
	/* 64 KiB: 37 receive slots at MTU 1500. */
	struct ovb_netvsc_params p = { .queues = 2, .recv_buf_bytes = 65536,
				       .rx = on_rx };
	struct wt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	pthread_mutex_init(&t->lock, NULL);
	p.ctx = t;
	nvfx_open(&t->fx, &(struct nvfx_opts){ .cfg = cfg, .port = true }, &p);
	return t;
}

static void wt_free(struct wt *t)
{
	nvfx_close(&t->fx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * Two flows RSS puts on different queues: @fq[q] is the number of a flow
 * on queue q.  Each probe frame goes alone (flushed); what arrived is
 * forgotten after (t->n = 0).
 */
static void wt_two_flows(struct wt *t, int fq[2])
{
	uint8_t f[64];
	unsigned int n0;

	fq[0] = fq[1] = -1;
	for (unsigned int i = 0; i < 32 && (fq[0] < 0 || fq[1] < 0); i++) {
		n0 = nrx(t);
		flow_frame(t, (uint8_t)i, 0, f);
		assert_int_equal(ovb_vswitch_input(t->fx.sw, t->fx.port, f, 64, NULL),
				 1);
		PAIR_WAIT(nrx(t) > n0);
		pthread_mutex_lock(&t->lock);
		if (fq[t->queue[n0] & 1] < 0)
			fq[t->queue[n0] & 1] = (int)i;
		pthread_mutex_unlock(&t->lock);
	}
	assert_true(fq[0] >= 0 && fq[1] >= 0);
	pthread_mutex_lock(&t->lock);
	t->n = 0;
	pthread_mutex_unlock(&t->lock);
}

/*
 * 37 frames of a flow RSS puts on one queue, then 3 of a flow on the
 * other, in one switch batch: the first 37 take every receive slot and
 * wait in their channel's batch for the batch's end, so the first frame
 * of the second flow must wait for the guest with nothing of its own
 * channel out.  It gets its slots only if the first channel's batch goes
 * out before the wait; kept back, the wait runs out (wait_timeouts) and
 * the frames after it are dropped (no_buffer).  All 40 arrive, each
 * flow in order, and no wait runs out.
 */
#define FIRST 37 /* every slot of the 64 KiB buffer */
static void test_wait_sends_other_batches(void **state)
{
	struct wt *t = wt_new();
	static uint8_t f[64];
	int fq[2];
	uint64_t w0, nb0;
	unsigned int got[2] = { 0, 0 };

	(void)state;
	wt_two_flows(t, fq);
	w0 = STAT(wait_timeouts);
	nb0 = STAT(no_buffer);
	ovb_vswitch_batch_begin(t->fx.sw);
	for (uint8_t s = 0; s < 40; s++) {
		flow_frame(t, (uint8_t)fq[s < FIRST ? 1 : 0], s, f);
		ovb_vswitch_input(t->fx.sw, t->fx.port, f, 64, NULL);
	}
	ovb_vswitch_batch_end(t->fx.sw);
	PAIR_WAIT(nrx(t) >= 40);
	assert_int_equal(STAT(wait_timeouts) - w0, 0);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	usleep(10000);
	pthread_mutex_lock(&t->lock);
	assert_int_equal(t->n, 40);
	for (unsigned int i = 0; i < 40; i++) {
		unsigned int k = t->flow[i] == fq[1] ? 0 : 1;

		assert_int_equal(t->flow[i], fq[k ? 0 : 1]);
		/* each flow in order: 0..36, then 37..39 */
		assert_int_equal(t->seq[i], k ? FIRST + got[1] : got[0]);
		got[k]++;
	}
	pthread_mutex_unlock(&t->lock);
	assert_int_equal(got[0], FIRST);
	assert_int_equal(got[1], 40 - FIRST);
	wt_free(t);
}

struct waiter {
	struct wt *t;
	uint8_t flow;
	bool done; /* atomic */
};

/* One frame of @w->flow from the test port, alone (no switch batch). */
static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	uint8_t f[64];

	flow_frame(w->t, w->flow, FIRST, f);
	ovb_vswitch_input(w->t->fx.sw, w->t->fx.port, f, 64, NULL);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The other side of the same rule: a thread that finds a channel's batch
 * lock taken sends what it keeps before it waits for the lock.  Our
 * switch batch keeps 37 frames of one flow (every slot) on one channel;
 * another thread's frame for the other channel then waits for slots,
 * holding that channel's batch lock; our next frame for that channel
 * must wait for the lock.  Unless our kept batch goes out first, the
 * other thread's wait runs out (wait_timeouts) and both frames are lost;
 * with it, all 39 arrive and no wait runs out.
 */
static void test_lock_wait_sends_kept(void **state)
{
	struct wt *t = wt_new();
	static uint8_t f[64];
	struct waiter w = { .t = t };
	int fq[2];
	unsigned int got[2] = { 0, 0 };
	uint64_t w0, nb0;
	pthread_t th;

	(void)state;
	wt_two_flows(t, fq);
	w0 = STAT(wait_timeouts);
	nb0 = STAT(no_buffer);
	ovb_vswitch_batch_begin(t->fx.sw);
	for (uint8_t s = 0; s < FIRST; s++) {
		flow_frame(t, (uint8_t)fq[1], s, f);
		ovb_vswitch_input(t->fx.sw, t->fx.port, f, 64, NULL);
	}
	w.flow = (uint8_t)fq[0];
	assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
	/* Let it reach its wait for slots (no slot is free, none of its
	 * channel's frames is out); a later start only makes this frame the
	 * one that waits for slots instead. */
	usleep(200000);
	flow_frame(t, (uint8_t)fq[0], FIRST + 1, f);
	ovb_vswitch_input(t->fx.sw, t->fx.port, f, 64, NULL);
	ovb_vswitch_batch_end(t->fx.sw);
	pthread_join(th, NULL);
	assert_true(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	PAIR_WAIT(nrx(t) >= FIRST + 2);
	assert_int_equal(STAT(wait_timeouts) - w0, 0);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	usleep(10000);
	pthread_mutex_lock(&t->lock);
	assert_int_equal(t->n, FIRST + 2);
	for (unsigned int i = 0; i < FIRST + 2; i++) {
		unsigned int k = t->flow[i] == fq[1] ? 0 : 1;

		if (!k) /* the kept flow in order */
			assert_int_equal(t->seq[i], got[0]);
		got[k]++;
	}
	pthread_mutex_unlock(&t->lock);
	assert_int_equal(got[0], FIRST);
	assert_int_equal(got[1], 2);
	wt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_sends_other_batches),
		cmocka_unit_test(test_lock_wait_sends_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
