// SPDX-License-Identifier: MIT
/*
 * Unit tests: the learning virtual switch.  Learning and unicast, flooding
 * of broadcast, multicast and unknown unicast, no reflection to the ingress
 * port, MAC moves, aging with an injected clock, bucket eviction, counters,
 * port removal, a re-entrant transmit callback, counters taken per batch,
 * and concurrent inputs from many threads.  Offloads and frames in pieces:
 * test-vswitch-offload.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/vswitch.h"
#include "tests/lib/vswitch-fx.h"

static void test_learn_and_forward(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];
	unsigned int p;

	/* Unknown destination: flooded to every port but the ingress. */
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, frame(f, 2, 1),
					   NULL), 3);
	assert_int_equal(got(0), 0);
	assert_int_equal(got(1) + got(2) + got(3), 3);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	assert_int_equal(p, ports[0]);
	/* The reply goes only to port 0, where MAC 1 was learned. */
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f, frame(f, 1, 2),
					   NULL), 1);
	assert_int_equal(got(0), 1);
	assert_memory_equal(sinks[0].last, f, 64);
	/* Now both are known: unicast only. */
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, frame(f, 2, 1),
					   NULL), 1);
	assert_int_equal(got(1), 2);
	assert_int_equal(got(2), 1);
	assert_int_equal(got(3), 1);
}

static unsigned int flushes[NPORTS];

static void count_flush(void *ctx)
{
	flushes[(struct sink *)ctx - sinks]++;
}

/*
 * Ports with a flush callback: flushed after each input, or once at the
 * end of the caller's batch (nested batches flush at the outermost end);
 * only ports that took a frame; an input on another switch inside a
 * batch stands alone.
 */
static void test_batch_flush(void **state)
{
	struct ovb_vswitch *sw = *state, *sw2;
	uint8_t f[64];

	memset(flushes, 0, sizeof(flushes));
	assert_int_equal(ovb_vswitch_port_set_flush(sw, ports[1], count_flush),
			 0);
	assert_int_equal(ovb_vswitch_port_set_flush(sw, ports[2], count_flush),
			 0);
	assert_int_equal(ovb_vswitch_port_set_flush(sw, 63, count_flush),
			 -ENODEV);
	/* Learn MACs 1, 2 and 3 on ports 1, 2 and 3. */
	for (int i = 1; i < 4; i++)
		ovb_vswitch_input(sw, ports[i], f, frame(f, 0x50, (uint8_t)i),
				  NULL);
	memset(flushes, 0, sizeof(flushes));
	/* Without a batch: one flush per input, for the port it reached. */
	ovb_vswitch_input(sw, ports[0], f, frame(f, 1, 9), NULL);
	ovb_vswitch_input(sw, ports[0], f, frame(f, 1, 9), NULL);
	assert_int_equal(flushes[1], 2);
	assert_int_equal(flushes[2], 0);
	/* A batch: nothing until its end, then once per port reached. */
	ovb_vswitch_batch_begin(sw);
	ovb_vswitch_batch_begin(sw);
	for (int i = 0; i < 10; i++) {
		ovb_vswitch_input(sw, ports[0], f, frame(f, 1, 9), NULL);
		ovb_vswitch_input(sw, ports[0], f, frame(f, 2, 9), NULL);
		ovb_vswitch_input(sw, ports[0], f, frame(f, 3, 9), NULL);
	}
	ovb_vswitch_batch_end(sw);
	assert_int_equal(flushes[1], 2);
	assert_int_equal(flushes[2], 0);
	/* An input on another switch meanwhile flushes its own ports. */
	assert_int_equal(ovb_vswitch_create(NULL, &sw2), 0);
	{
		unsigned int a, b;

		assert_int_equal(ovb_vswitch_port_add(sw2, "a", 0, sink_tx,
						      &sinks[3], &a), 0);
		assert_int_equal(ovb_vswitch_port_add(sw2, "b", 0, sink_tx,
						      &sinks[2], &b), 0);
		assert_int_equal(ovb_vswitch_port_set_flush(sw2, b,
							    count_flush), 0);
		ovb_vswitch_input(sw2, a, f, frame(f, 0x77, 8), NULL);
		assert_int_equal(flushes[2], 1);
		ovb_vswitch_port_remove(sw2, a);
		ovb_vswitch_port_remove(sw2, b);
	}
	ovb_vswitch_destroy(sw2);
	ovb_vswitch_batch_end(sw);
	assert_int_equal(flushes[1], 3);
	assert_int_equal(flushes[2], 2);
	assert_int_equal(flushes[3], 0); /* no flush callback there */
	/* Unbalanced end: nothing happens. */
	ovb_vswitch_batch_end(sw);
	assert_int_equal(flushes[1], 3);
}

static void test_no_reflection(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];

	ovb_vswitch_input(sw, ports[2], f, frame(f, 9, 7), NULL);
	ovb_vswitch_input(sw, ports[2], f, frame(f, 9, 8), NULL);
	memset(sinks, 0, sizeof(sinks));
	/* MAC 7 lives behind port 2: a frame from port 2 to it is filtered. */
	assert_int_equal(ovb_vswitch_input(sw, ports[2], f, frame(f, 7, 8),
					   NULL), 0);
	for (int i = 0; i < NPORTS; i++)
		assert_int_equal(got(i), 0);
	/* Broadcast never returns to its ingress either. */
	memset(f, 0xff, 6);
	assert_int_equal(ovb_vswitch_input(sw, ports[2], f, 64, NULL), 3);
	assert_int_equal(got(2), 0);
}

static void test_multicast_and_bad_sources(void **state)
{
	struct ovb_vswitch *sw = *state;
	struct ovb_vswitch_port_stats st;
	uint8_t f[64];
	unsigned int p;

	frame(f, 0, 1);
	memcpy(f, "\x01\x00\x5e\x00\x00\xfb", 6); /* mDNS group */
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, 64, NULL), 3);
	memcpy(f, "\x33\x33\x00\x00\x00\x01", 6); /* IPv6 all-nodes */
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, 64, NULL), 3);
	/* A group address is never learned as a source. */
	frame(f, 1, 0);
	memcpy(f + 6, "\x01\x00\x5e\x00\x00\xfb", 6);
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f, 64, NULL),
			 -EBADMSG);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), -ENOENT);
	memset(f + 6, 0, 6);
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f, 64, NULL),
			 -EBADMSG);
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f, 13, NULL),
			 -EBADMSG);
	assert_int_equal(ovb_vswitch_port_stats(sw, ports[1], &st), 0);
	assert_int_equal(st.rx_drops, 3);
	assert_int_equal(st.rx_packets, 3);
	assert_int_equal(ovb_vswitch_input(sw, 63, f, 64, NULL), -ENODEV);
	assert_int_equal(ovb_vswitch_input(sw, 64, f, 64, NULL), -ENODEV);
}

static void test_mac_move(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];
	unsigned int p;

	ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	ovb_vswitch_input(sw, ports[3], f, frame(f, 0x20, 0x10), NULL);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	assert_int_equal(p, ports[3]);
	memset(sinks, 0, sizeof(sinks));
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f,
					   frame(f, 0x10, 0x11), NULL), 1);
	assert_int_equal(got(3), 1);
}

static void *move_mac(void *arg)
{
	uint8_t f[64];

	/* MAC 0x20 speaks from port 2 now. */
	ovb_vswitch_input(arg, ports[2], f, frame(f, 0x10, 0x20), NULL);
	return NULL;
}

/*
 * Inside a batch the switch remembers its last unicast forward (same
 * ports and MACs skip the clock, learning and lookup), but never past a
 * change of the FDB: a MAC that another thread saw move is followed at
 * once, an aged-out destination floods again, a removed port gets
 * nothing.
 */
static void test_batch_remembers(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];
	pthread_t th;

	ovb_vswitch_input(sw, ports[1], f, frame(f, 0x10, 0x20), NULL);
	memset(sinks, 0, sizeof(sinks));
	ovb_vswitch_batch_begin(sw);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ovb_vswitch_input(sw, ports[0], f,
						   frame(f, 0x20, 0x10), NULL),
				 1);
	assert_int_equal(got(1), 3);
	assert_int_equal(pthread_create(&th, NULL, move_mac, sw), 0);
	pthread_join(th, NULL);
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f,
					   frame(f, 0x20, 0x10), NULL), 1);
	assert_int_equal(got(2), 1);
	assert_int_equal(got(1), 3);
	/* Both MACs age out: flooding again, to the three other ports. */
	now_ms += 1000;
	assert_int_equal(ovb_vswitch_age(sw), 2);
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f,
					   frame(f, 0x20, 0x10), NULL), 3);
	/* Learned again on port 3; then port 3 goes away. */
	ovb_vswitch_input(sw, ports[3], f, frame(f, 0x10, 0x20), NULL);
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f,
					   frame(f, 0x20, 0x10), NULL), 1);
	assert_int_equal(ovb_vswitch_port_remove(sw, ports[3]), 0);
	memset(sinks, 0, sizeof(sinks));
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f,
					   frame(f, 0x20, 0x10), NULL), 2);
	assert_int_equal(got(3), 0);
	ovb_vswitch_batch_end(sw);
}

/* @port's counters: rx packets, rx bytes, tx packets, tx bytes, drops. */
static void port_counts(struct ovb_vswitch *sw, unsigned int port,
			uint64_t rxp, uint64_t rxb, uint64_t txp, uint64_t txb,
			uint64_t txd)
{
	struct ovb_vswitch_port_stats st;

	assert_int_equal(ovb_vswitch_port_stats(sw, port, &st), 0);
	assert_int_equal(st.rx_packets, rxp);
	assert_int_equal(st.rx_bytes, rxb);
	assert_int_equal(st.tx_packets, txp);
	assert_int_equal(st.tx_bytes, txb);
	assert_int_equal(st.tx_drops, txd);
}

/*
 * Inside a batch the frames that take the remembered forward are counted
 * on the thread and added to the ports once: the totals are exact when
 * the batch ends, across changes of destination, failed deliveries,
 * inputs from a port's transmit callback, and a port removed and added
 * again in the middle (the new port inherits none of the old one's
 * counts).
 */
static void test_batch_counters(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];
	unsigned int again;

	/* MAC 0x20 behind port 1, 0x30 behind port 2, 0x01 behind 2. */
	ovb_vswitch_input(sw, ports[1], f, frame(f, 0x10, 0x20), NULL);
	ovb_vswitch_input(sw, ports[2], f, frame(f, 0x10, 0x30), NULL);
	ovb_vswitch_input(sw, ports[2], f, frame(f, 0x10, 0x01), NULL);
	port_counts(sw, ports[0], 0, 0, 3, 192, 0);

	ovb_vswitch_batch_begin(sw);
	for (int i = 0; i < 10; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	sinks[1].fail = 1;
	for (int i = 0; i < 4; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	sinks[1].fail = 0;
	frame(f, 0x30, 0x10);
	for (int i = 0; i < 5; i++)
		ovb_vswitch_input(sw, ports[0], f, 40, NULL);
	for (int i = 0; i < 3; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	/* Port 1 hands every frame on from port 3 to 0x01 (port 2). */
	sinks[1].reinject_sw = sw;
	sinks[1].reinject_port = ports[3];
	for (int i = 0; i < 6; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	sinks[1].reinject_sw = NULL;
	ovb_vswitch_batch_end(sw);
	port_counts(sw, ports[0], 28, 23 * 64 + 5 * 40, 3, 192, 0);
	port_counts(sw, ports[1], 1, 64, 21, 21 * 64, 4);
	port_counts(sw, ports[2], 2, 128, 12, 7 * 64 + 5 * 40, 0);
	port_counts(sw, ports[3], 6, 6 * 64, 3, 192, 0);

	/* Port 1 goes and a new port takes its place mid-batch. */
	ovb_vswitch_batch_begin(sw);
	for (int i = 0; i < 4; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	assert_int_equal(ovb_vswitch_port_remove(sw, ports[1]), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "new", 0, sink_tx, &sinks[1],
					      &again), 0);
	assert_int_equal(again, ports[1]);
	ovb_vswitch_input(sw, again, f, frame(f, 0x10, 0x20), NULL);
	for (int i = 0; i < 2; i++)
		ovb_vswitch_input(sw, ports[0], f, frame(f, 0x20, 0x10), NULL);
	ovb_vswitch_batch_end(sw);
	port_counts(sw, ports[0], 34, 29 * 64 + 5 * 40, 4, 256, 0);
	port_counts(sw, again, 1, 64, 2, 128, 0);
}

static void test_aging(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];
	unsigned int p;

	ovb_vswitch_input(sw, ports[0], f, frame(f, 0x40, 0x30), NULL);
	now_ms += 999;
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	assert_int_equal(ovb_vswitch_age(sw), 0);
	now_ms += 1;
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), -ENOENT);
	/* An expired entry means flooding again. */
	assert_int_equal(ovb_vswitch_input(sw, ports[1], f,
					   frame(f, 0x30, 0x31), NULL), 3);
	assert_int_equal(ovb_vswitch_age(sw), 1);
	/* Traffic refreshes: MAC 0x31 stays while it keeps talking. */
	for (int i = 0; i < 5; i++) {
		now_ms += 600;
		ovb_vswitch_input(sw, ports[1], f, frame(f, 0x30, 0x31), NULL);
	}
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	assert_int_equal(p, ports[1]);
}

/* The default clock (no injected one) learns and ages, in milliseconds. */
static void test_default_clock_aging(void **state)
{
	struct ovb_vswitch_config cfg = { .aging_ms = 50 };
	struct ovb_vswitch *sw;
	unsigned int p, a;
	uint8_t f[64];

	assert_int_equal(ovb_vswitch_create(&cfg, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "a", 0, sink_tx, &sinks[0],
					      &a), 0);
	ovb_vswitch_input(sw, a, f, frame(f, 0x77, 0x21), NULL);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	assert_int_equal(p, a);
	assert_int_equal(ovb_vswitch_age(sw), 0);
	usleep(150 * 1000); /* past 50 ms, whatever the clock's tick */
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), -ENOENT);
	assert_int_equal(ovb_vswitch_age(sw), 1);
	ovb_vswitch_destroy(sw);
}

static void test_bucket_eviction(void **state)
{
	struct ovb_vswitch_config cfg = { .fdb_entries = 4, .aging_ms = 100000,
					  .clock = fake_clock };
	struct ovb_vswitch *sw;
	unsigned int p, a, b;
	uint8_t f[64];

	assert_int_equal(ovb_vswitch_create(&cfg, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "a", 0, sink_tx, &sinks[0],
					      &a), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "b", 0, sink_tx, &sinks[1],
					      &b), 0);
	for (uint8_t m = 1; m <= 5; m++) {
		now_ms += 10;
		ovb_vswitch_input(sw, a, f, frame(f, 0x77, m), NULL);
	}
	frame(f, 0, 1);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), -ENOENT);
	for (uint8_t m = 2; m <= 5; m++) {
		frame(f, 0, m);
		assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), 0);
	}
	assert_int_equal(ovb_vswitch_create(&(struct ovb_vswitch_config){
						    .fdb_entries = 6 },
					    &sw), -EINVAL);
	ovb_vswitch_destroy(sw);
}

static void test_counters_and_removal(void **state)
{
	struct ovb_vswitch *sw = *state;
	struct ovb_vswitch_port_stats st;
	uint8_t f[64];
	unsigned int p, again;

	sinks[3].fail = 1;
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, frame(f, 0x55, 1),
					   NULL), 2);
	assert_int_equal(ovb_vswitch_port_stats(sw, ports[0], &st), 0);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(st.rx_bytes, 64);
	assert_int_equal(st.floods, 1);
	assert_int_equal(ovb_vswitch_port_stats(sw, ports[1], &st), 0);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, 64);
	assert_int_equal(ovb_vswitch_port_stats(sw, ports[3], &st), 0);
	assert_int_equal(st.tx_drops, 1);
	assert_int_equal(st.tx_packets, 0);

	assert_int_equal(ovb_vswitch_port_remove(sw, ports[0]), 0);
	assert_int_equal(ovb_vswitch_port_remove(sw, ports[0]), -ENODEV);
	assert_int_equal(ovb_vswitch_lookup(sw, f + 6, &p), -ENOENT);
	assert_int_equal(ovb_vswitch_input(sw, ports[0], f, 64, NULL),
			 -ENODEV);
	assert_int_equal(ovb_vswitch_port_stats(sw, ports[0], &st), -ENODEV);
	assert_int_equal(ovb_vswitch_port_add(sw, "new", 0, sink_tx, &sinks[0],
					      &again), 0);
	assert_int_equal(again, ports[0]);
	assert_int_equal(ovb_vswitch_port_stats(sw, again, &st), 0);
	assert_int_equal(st.rx_packets, 0);
	for (unsigned int i = NPORTS; i < OVB_VSWITCH_MAX_PORTS; i++)
		assert_int_equal(ovb_vswitch_port_add(sw, "x", 0, sink_tx,
						      &sinks[0], &p), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "x", 0, sink_tx, &sinks[0],
					      &p), -ENOSPC);
}

static void test_reentrant_callback(void **state)
{
	struct ovb_vswitch *sw = *state;
	uint8_t f[64];

	/* MAC 1 behind port 0; port 1 loops what it gets back in on port 3. */
	ovb_vswitch_input(sw, ports[0], f, frame(f, 0x33, 0x01), NULL);
	memset(sinks, 0, sizeof(sinks));
	sinks[1].reinject_sw = sw;
	sinks[1].reinject_port = ports[3];
	assert_int_equal(ovb_vswitch_input(sw, ports[2], f,
					   frame(f, 0x34, 0x02), NULL), 3);
	assert_int_equal(got(0), 2); /* the flood, then the re-injected copy */
	sinks[1].reinject_sw = NULL;
}

struct worker {
	struct ovb_vswitch *sw;
	int idx;
};

#define ROUNDS 20000

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t f[64];

	for (int i = 0; i < ROUNDS; i++) {
		int to = (w->idx + 1 + i % (NPORTS - 1)) % NPORTS;

		frame(f, (uint8_t)(0x80 + to), (uint8_t)(0x80 + w->idx));
		ovb_vswitch_input(w->sw, ports[w->idx], f, 64, NULL);
	}
	return NULL;
}

static void *churn_main(void *arg)
{
	struct ovb_vswitch *sw = arg;
	unsigned int p;

	for (int i = 0; i < 200; i++) {
		if (ovb_vswitch_port_add(sw, "churn", 0, sink_tx, &sinks[0],
					 &p) == 0)
			ovb_vswitch_port_remove(sw, p);
		ovb_vswitch_age(sw);
	}
	return NULL;
}

static void test_concurrent_inputs(void **state)
{
	struct ovb_vswitch *sw = *state;
	struct ovb_vswitch_port_stats st;
	pthread_t t[NPORTS], churn;
	struct worker w[NPORTS];
	uint8_t f[64];
	uint64_t tx = 0, rx = 0;

	/* Teach the switch every MAC first so traffic is unicast. */
	for (int i = 0; i < NPORTS; i++)
		ovb_vswitch_input(sw, ports[i], f,
				  frame(f, 0xff, (uint8_t)(0x80 + i)), NULL);
	for (int i = 0; i < NPORTS; i++) {
		struct ovb_vswitch_port_stats z;

		ovb_vswitch_port_stats(sw, ports[i], &z);
		tx -= z.tx_packets;
		rx -= z.rx_packets;
	}
	pthread_create(&churn, NULL, churn_main, sw);
	for (int i = 0; i < NPORTS; i++) {
		w[i] = (struct worker){ sw, i };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < NPORTS; i++)
		pthread_join(t[i], NULL);
	pthread_join(churn, NULL);
	for (int i = 0; i < NPORTS; i++) {
		ovb_vswitch_port_stats(sw, ports[i], &st);
		tx += st.tx_packets;
		rx += st.rx_packets;
	}
	assert_int_equal(rx, (uint64_t)NPORTS * ROUNDS);
	assert_int_equal(tx, (uint64_t)NPORTS * ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_and_forward, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_reflection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_multicast_and_bad_sources,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_remembers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch_counters, setup,
						teardown),
		cmocka_unit_test(test_default_clock_aging),
		cmocka_unit_test(test_bucket_eviction),
		cmocka_unit_test_setup_teardown(test_counters_and_removal,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentrant_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_inputs, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
