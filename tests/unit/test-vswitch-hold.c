// SPDX-License-Identifier: MIT
/*
 * Unit tests: the switch's port lock held across a batch.  A port removed
 * while another thread's batch holds the lock: the removal returns while
 * that batch is still open (the holder lets go at its next input), the
 * removed port's callbacks are never called after it returned (its
 * context is freed then: ASan sees any use), and every counter is exact.
 * A thread that holds the lock and changes ports itself does not wait for
 * itself.
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

struct port_ctx {
	_Atomic uint64_t frames, flushes;
};

static int ctx_tx(void *ctx, const void *frame, size_t len,
		  const struct ovb_net_meta *meta)
{
	struct port_ctx *c = ctx;

	(void)frame;
	(void)len;
	(void)meta;
	atomic_fetch_add(&c->frames, 1);
	return 0;
}

static void ctx_flush(void *ctx)
{
	struct port_ctx *c = ctx;

	atomic_fetch_add(&c->flushes, 1);
}

/* A broadcast frame from MAC 02:..:@src. */
static size_t bcast(uint8_t *f, uint8_t src)
{
	static const uint8_t all[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t s[6] = { 0x02, 0, 0, 0, 0, src };

	nff_eth(f, 64, all, s, 0, 0);
	return 64;
}

struct holder {
	struct ovb_vswitch *sw;
	unsigned int in;
	_Atomic bool holding, stop, in_batch;
	_Atomic uint64_t sent;
};

/*
 * One batch that lasts until told to stop (or 10 s): an input every
 * millisecond.  The first input takes the switch's lock for the batch.
 */
static void *hold_run(void *arg)
{
	struct holder *h = arg;
	uint8_t f[64];

	bcast(f, 0x10);
	ovb_vswitch_batch_begin(h->sw);
	atomic_store(&h->in_batch, true);
	ovb_vswitch_input(h->sw, h->in, f, 64, NULL);
	atomic_fetch_add(&h->sent, 1);
	atomic_store(&h->holding, true);
	for (int i = 0; i < 10000 && !atomic_load(&h->stop); i++) {
		usleep(1000);
		ovb_vswitch_input(h->sw, h->in, f, 64, NULL);
		atomic_fetch_add(&h->sent, 1);
	}
	atomic_store(&h->in_batch, false);
	ovb_vswitch_batch_end(h->sw);
	return NULL;
}

static void counts(struct ovb_vswitch *sw, unsigned int port, uint64_t rx,
		   uint64_t tx)
{
	struct ovb_vswitch_port_stats st;

	assert_int_equal(ovb_vswitch_port_stats(sw, port, &st), 0);
	assert_int_equal(st.rx_packets, rx);
	assert_int_equal(st.tx_packets, tx);
}

/*
 * Ports: in (the holder's), keep (stays), gone (removed mid-batch, its
 * context freed as soon as the removal returns).
 */
static void test_remove_while_held(void **state)
{
	struct ovb_vswitch *sw;
	struct port_ctx keep = { 0 }, *gone = calloc(1, sizeof(*gone));
	struct holder h = { 0 };
	unsigned int in, pk, pg;
	uint64_t gone_frames, sent;
	pthread_t t;

	(void)state;
	assert_non_null(gone);
	assert_int_equal(ovb_vswitch_create(NULL, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "in", 0, ctx_tx, &keep, &in),
			 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "keep", 0, ctx_tx, &keep,
					      &pk), 0);
	assert_int_equal(ovb_vswitch_port_set_flush(sw, pk, ctx_flush), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "gone", 0, ctx_tx, gone, &pg),
			 0);
	assert_int_equal(ovb_vswitch_port_set_flush(sw, pg, ctx_flush), 0);
	h.sw = sw;
	h.in = in;
	assert_int_equal(pthread_create(&t, NULL, hold_run, &h), 0);
	while (!atomic_load(&h.holding))
		usleep(100);
	/* Returns at the holder's next input, its batch still open. */
	assert_int_equal(ovb_vswitch_port_remove(sw, pg), 0);
	assert_true(atomic_load(&h.in_batch));
	gone_frames = atomic_load(&gone->frames);
	/* What the batch owed "gone" was flushed before it let go. */
	assert_int_equal(atomic_load(&gone->flushes), 1);
	assert_true(gone_frames >= 1);
	free(gone); /* ASan: any later call into it is a use after free */
	usleep(20000);
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	sent = atomic_load(&h.sent);
	assert_true(sent > gone_frames);
	/* Exact: every frame in on "in", every one out on "keep". */
	counts(sw, in, sent, 0);
	counts(sw, pk, 0, sent);
	assert_int_equal(atomic_load(&keep.frames), sent);
	assert_int_equal(ovb_vswitch_port_stats(sw, pg, &(struct
			 ovb_vswitch_port_stats){ 0 }), -ENODEV);
	ovb_vswitch_destroy(sw);
}

/*
 * The holding thread changes ports itself, between inputs of its batch:
 * it lets its hold go first instead of waiting for itself, and the rest
 * of the batch is counted exactly.
 */
static void test_own_change_while_held(void **state)
{
	struct ovb_vswitch *sw;
	struct port_ctx a = { 0 }, b = { 0 };
	unsigned int in, pa, pb;
	uint8_t f[64];

	(void)state;
	assert_int_equal(ovb_vswitch_create(NULL, &sw), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "in", 0, ctx_tx, &a, &in),
			 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "a", 0, ctx_tx, &a, &pa), 0);
	assert_int_equal(ovb_vswitch_port_set_flush(sw, pa, ctx_flush), 0);
	ovb_vswitch_batch_begin(sw);
	for (int i = 0; i < 3; i++)
		ovb_vswitch_input(sw, in, f, bcast(f, 0x10), NULL);
	assert_int_equal(atomic_load(&a.flushes), 0);
	assert_int_equal(ovb_vswitch_port_add(sw, "b", 0, ctx_tx, &b, &pb), 0);
	/* Letting go flushed what the batch owed. */
	assert_int_equal(atomic_load(&a.flushes), 1);
	for (int i = 0; i < 2; i++)
		ovb_vswitch_input(sw, in, f, bcast(f, 0x10), NULL);
	assert_int_equal(ovb_vswitch_port_remove(sw, pb), 0);
	ovb_vswitch_input(sw, in, f, bcast(f, 0x10), NULL);
	ovb_vswitch_batch_end(sw);
	assert_int_equal(atomic_load(&a.flushes), 2);
	counts(sw, in, 6, 0);
	counts(sw, pa, 0, 6);
	assert_int_equal(atomic_load(&b.frames), 2);
	ovb_vswitch_destroy(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove_while_held),
		cmocka_unit_test(test_own_change_while_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
