// SPDX-License-Identifier: MIT
/*
 * A guest's frames towards the host in bursts (ovb_netvsc_send_burst) and
 * how many of them share one send: a real server with netvsp on a switch
 * and a real guest with netvsc over the inproc link (tests/lib/netvsc-fx),
 * and a recording switch port that takes what the guest floods.  A burst
 * arrives whole and in order; a bad frame in it ends it there, and the
 * frames before it still go; 64 small frames share one send section and
 * one VMBus packet (netvsp's max_packets_per_message).
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

#include "openvmbus/netvsc.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define MAXF 256

struct bt {
	struct nvfx fx;
	pthread_mutex_t lock;
	unsigned int n;
	uint32_t len[MAXF];
	uint8_t seq[MAXF];
};

/* The recording port: each frame's length and sequence byte. */
static int rec_tx(void *ctx, const void *frame, size_t len,
		  const struct ovb_net_meta *meta)
{
	struct bt *t = ctx;

	(void)meta;
	pthread_mutex_lock(&t->lock);
	if (t->n < MAXF) {
		t->len[t->n] = (uint32_t)len;
		t->seq[t->n] = ((const uint8_t *)frame)[14];
	}
	t->n++;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static unsigned int nrx(struct bt *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static struct bt *bt_new(void)
{
	struct bt *t = calloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	nvfx_open(&t->fx,
		  &(struct nvfx_opts){ .port = true, .port_name = "rec",
				       .port_tx = rec_tx, .port_ctx = t },
		  NULL);
	return t;
}

static void bt_free(struct bt *t)
{
	nvfx_close(&t->fx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Broadcast frame number @seq of @len bytes (byte 14 is @seq). */
static void bframe(uint8_t *f, size_t len, uint8_t seq)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0x42, 0x01 };

	nff_eth(f, len, bcast, src, 0, seq);
}

static uint64_t tx_sends(struct bt *t)
{
	struct ovb_netvsc_stats st;

	ovb_netvsc_get_stats(t->fx.g[0].nic, &st);
	return st.tx_sends;
}

/* 40 frames of 60..138 bytes in one burst: all of them, in order. */
static void test_burst_in_order(void **state)
{
	struct bt *t = bt_new();
	static uint8_t f[40][200];
	struct ovb_netvsc_frame b[40];

	(void)state;
	for (unsigned int i = 0; i < 40; i++) {
		bframe(f[i], 60 + 2 * i, (uint8_t)i);
		b[i] = (struct ovb_netvsc_frame){ f[i], 60 + 2 * i, NULL };
	}
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b, 40, false),
			 40);
	PAIR_WAIT(nrx(t) >= 40);
	usleep(10000);
	assert_int_equal(nrx(t), 40);
	for (unsigned int i = 0; i < 40; i++) {
		assert_int_equal(t->len[i], 60 + 2 * i);
		assert_int_equal(t->seq[i], i);
	}
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b, 0, false), 0);
	bt_free(t);
}

/*
 * A frame netvsc refuses (too short) ends the burst: the frames before
 * it are taken and sent, the count says how many; a burst whose first
 * frame is bad returns that frame's error.  With @more the taken frames
 * wait in the section for a flush.
 */
static void test_burst_bad_frame(void **state)
{
	struct bt *t = bt_new();
	static uint8_t f[10][100];
	struct ovb_netvsc_frame b[10];
	struct ovb_netvsc_stats st;

	(void)state;
	for (unsigned int i = 0; i < 10; i++) {
		bframe(f[i], 80, (uint8_t)(i + 1));
		b[i] = (struct ovb_netvsc_frame){ f[i], 80, NULL };
	}
	b[5].len = 13;
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b, 10, false), 5);
	PAIR_WAIT(nrx(t) >= 5);
	usleep(10000);
	assert_int_equal(nrx(t), 5);
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(t->seq[i], i + 1);
	ovb_netvsc_get_stats(t->fx.g[0].nic, &st);
	assert_int_equal(st.tx_frames, 5);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b + 5, 5, false),
			 -EMSGSIZE);
	/* Held back with @more until the flush. */
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b + 6, 4, true),
			 4);
	usleep(20000);
	assert_int_equal(nrx(t), 5);
	ovb_netvsc_flush(t->fx.g[0].nic, 0);
	PAIR_WAIT(nrx(t) >= 9);
	for (unsigned int i = 5; i < 9; i++)
		assert_int_equal(t->seq[i], i + 2);
	bt_free(t);
}

/*
 * 64 frames of 60 bytes, one burst: one send section, one VMBus packet
 * (netvsp offers 64 RNDIS messages per message; with Hyper-V's 8 they
 * took eight).  The same through 64 single sends with @more.
 */
static void test_64_per_send(void **state)
{
	struct bt *t = bt_new();
	struct ovb_netvsc_frame b[64];
	uint8_t f[60];
	uint64_t s0;

	(void)state;
	bframe(f, sizeof(f), 7);
	for (unsigned int i = 0; i < 64; i++)
		b[i] = (struct ovb_netvsc_frame){ f, sizeof(f), NULL };
	s0 = tx_sends(t);
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b, 64, false),
			 64);
	PAIR_WAIT(nrx(t) >= 64);
	assert_int_equal(tx_sends(t) - s0, 1);
	s0 = tx_sends(t);
	for (unsigned int i = 0; i < 64; i++)
		assert_int_equal(ovb_netvsc_send(t->fx.g[0].nic, 0, f, sizeof(f),
						 NULL, i < 63), 0);
	PAIR_WAIT(nrx(t) >= 128);
	assert_int_equal(tx_sends(t) - s0, 1);
	/* The 65th opens a second. */
	assert_int_equal(ovb_netvsc_send_burst(t->fx.g[0].nic, 0, b, 64, true), 64);
	assert_int_equal(ovb_netvsc_send(t->fx.g[0].nic, 0, f, sizeof(f), NULL,
					 false), 0);
	PAIR_WAIT(nrx(t) >= 193);
	assert_int_equal(tx_sends(t) - s0, 3);
	bt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_in_order),
		cmocka_unit_test(test_burst_bad_frame),
		cmocka_unit_test(test_64_per_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
