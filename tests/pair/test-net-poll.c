// SPDX-License-Identifier: MIT
/*
 * A netvsc queue that callers poll (ovb_netvsc_poll, as the TAP front
 * end's reader does) is never left masked with nobody to read it: the
 * poller's own ovb_netvsc_poll_end, another thread's hand-back of every
 * polled ring (netvsc__unpoll_all, before it sleeps for a free buffer)
 * and its reap of them (netvsc__reap_spin) may meet in any order.  Left
 * masked, the host writes without signalling, the worker sleeps, and
 * the host's completions and the peer's frames wait until the reader
 * polls again -- in a TCP stream, a retransmission timeout later.  A
 * real server with netvsp on a switch and a real guest with netvsc over
 * the inproc link.
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
#include "bus/chan_priv.h"
#include "core/spin.h"
#include "net/netvsc_priv.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

struct pt {
	struct nvfx fx;
	unsigned int n;    /* frames received (atomic) */
};

static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct pt *t = ctx;

	(void)queue, (void)frame, (void)len, (void)meta;
	__atomic_fetch_add(&t->n, 1, __ATOMIC_RELEASE);
}

static unsigned int nrx(struct pt *t)
{
	return __atomic_load_n(&t->n, __ATOMIC_ACQUIRE);
}

static struct pt *pt_new(void)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0" };
	/* One queue: every frame on the ring the threads below fight over. */
	struct ovb_netvsc_params p = { .queues = 1, .rx = on_rx };
	struct pt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	p.ctx = t;
	nvfx_open(&t->fx, &(struct nvfx_opts){ .cfg = cfg, .port = true }, &p);
	return t;
}

static void pt_free(struct pt *t)
{
	nvfx_close(&t->fx);
	free(t);
}

/* One frame from the test port to the guest. */
static void port_frame(struct pt *t)
{
	struct ovb_netvsc_info info;
	uint8_t f[64] = { 0 };

	ovb_netvsc_get_info(t->fx.g[0].nic, &info);
	nff_eth(f, sizeof(f), info.mac,
		(uint8_t[]){ 0x02, 0, 0, 0, 0x77, 0x01 }, 0, 0);
	assert_int_equal(ovb_vswitch_input(t->fx.sw, t->fx.port, f, sizeof(f), NULL),
			 1);
}

static struct ovb_chan *q0(struct pt *t)
{
	return t->fx.g[0].nic->q[0].chan;
}

/*
 * Nobody polls the ring and nobody drains it: masked, it is ours to
 * worry about.  The worker masks it while it drains and spins (no
 * traffic here: a few hundred microseconds at most), so only a ring
 * still masked after 100 ms counts.
 */
static bool left_masked(struct pt *t)
{
	for (int i = 0; i < 100; i++) {
		if (!ovb_ring_masked(&q0(t)->in))
			return false;
		usleep(1000);
	}
	return true;
}

/*
 * The deterministic half: a thread that saw the ring polled a moment ago
 * joins the polling (ovb_chan_poll_join) after the poller handed the
 * ring back.  The join reads nothing and leaves the ring unmasked, and a
 * frame sent then reaches the guest through its worker.  (A plain
 * ovb_chan_poll there -- what that thread did before -- masks the ring
 * for good: the frame stays in it.)
 */
static void test_join_after_end(void **state)
{
	struct pt *t = pt_new();

	(void)state;
	usleep(20000); /* the worker asleep, its ring unmasked */
	assert_true(ovb_netvsc_poll(t->fx.g[0].nic, 0) >= 0);
	assert_true(ovb_chan_polling(q0(t)));
	assert_true(ovb_ring_masked(&q0(t)->in));
	ovb_netvsc_poll_end(t->fx.g[0].nic, 0);
	assert_false(ovb_chan_polling(q0(t)));
	assert_int_equal(ovb_chan_poll_join(q0(t)), 0);
	assert_false(ovb_chan_polling(q0(t)));
	assert_false(left_masked(t));
	port_frame(t);
	PAIR_WAIT(nrx(t) >= 1);
	assert_int_equal(nrx(t), 1);
	/* While polled, the join drains as the poller would.  (A poll that
	 * meets the worker draining reads nothing and masks nothing.) */
	usleep(20000);
	for (int i = 0; i < 1000 && !ovb_chan_polling(q0(t)); i++)
		assert_true(ovb_netvsc_poll(t->fx.g[0].nic, 0) >= 0);
	assert_true(ovb_chan_polling(q0(t)));
	port_frame(t);
	for (int i = 0; i < 5000 && nrx(t) < 2; i++) {
		assert_true(ovb_chan_poll_join(q0(t)) >= 0);
		usleep(200);
	}
	assert_int_equal(nrx(t), 2);
	assert_true(ovb_chan_polling(q0(t)));
	ovb_netvsc_poll_end(t->fx.g[0].nic, 0);
	pt_free(t);
}

/* ---- the race: a poller against a thread short of buffers ---------------- */

#define ROUNDS 4000

struct racer {
	struct pt *t;
	pthread_barrier_t *go, *done;
	bool poller; /* else the other thread */
	unsigned int seed;
};

/* A pause of 0..~1000 relaxes: sweeps where the two calls meet. */
static void jitter(unsigned int *seed)
{
	unsigned int n = (unsigned int)(rand_r(seed) % 1024);

	for (unsigned int i = 0; i < n; i++)
		ovb__cpu_relax();
}

static void *racer_run(void *arg)
{
	struct racer *r = arg;
	struct ovb_netvsc *n = r->t->fx.g[0].nic;
	const uint32_t one = 1;

	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(r->go);
		jitter(&r->seed);
		if (r->poller) {
			/* The reader: a poll, a poll that finds nothing,
			 * the hand-back before it sleeps. */
			ovb_netvsc_poll(n, 0);
			ovb_netvsc_poll(n, 0);
			ovb_netvsc_poll_end(n, 0);
		} else {
			/* Short of a buffer (netvsc__pool_get): reap the
			 * polled rings, hand them back, then sleep. */
			netvsc__reap_spin(n, &one, 1);
			netvsc__unpoll_all(n);
		}
		pthread_barrier_wait(r->done);
	}
	return NULL;
}

/*
 * The reader polls its queue and ends; another thread, short of a
 * buffer, reaps the polled rings and hands them back, at the same time,
 * ROUNDS times with the two starts swept against each other.  After
 * every round nobody polls: the ring must not stay masked, and at the
 * end a frame must still reach the guest.  Not forced: before the rule
 * (netvsc's flag beside the mask) 10 of 11 runs on this machine left it
 * masked, in 0-3 rounds each (docs/net-perf.md); the count is asserted 0.
 */
static void test_poll_race(void **state)
{
	struct pt *t = pt_new();
	pthread_barrier_t go, done;
	struct racer r[2] = {
		{ t, &go, &done, true, 1 },
		{ t, &go, &done, false, 2 },
	};
	pthread_t th[2];
	unsigned int lost = 0;

	(void)state;
	usleep(20000);
	pthread_barrier_init(&go, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
				 0);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		/* Cheap first look; the worker's own mask passes in 100 ms. */
		if (ovb_ring_masked(&q0(t)->in) && left_masked(t)) {
			lost++;
			/* Hand it back, so that the next round starts clean. */
			ovb_netvsc_poll_end(t->fx.g[0].nic, 0);
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&done);
	print_message("rounds %d, ring left masked after %u\n", ROUNDS, lost);
	assert_int_equal(lost, 0);
	port_frame(t);
	PAIR_WAIT(nrx(t) >= 1);
	assert_int_equal(nrx(t), 1);
	pt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_after_end),
		cmocka_unit_test(test_poll_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
