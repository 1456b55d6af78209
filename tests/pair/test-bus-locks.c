// SPDX-License-Identifier: MIT
/*
 * Pair tests of the server's partition lock (the contract at the top of
 * src/bus/server.c): a rescind that meets a close under way on another
 * thread waits for it instead of slipping in while the lock is dropped,
 * and device callbacks may call the server.  A host device built on the
 * echo VSP whose worker can be held inside recv keeps a close waiting;
 * held with its ring lent (ovb_chan_lend_begin), another thread reaps
 * the completions behind it and the drain goes on in order.
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

#include "openvmbus/link.h"
#include "openvmbus/vsp.h"
#include "tests/lib/hostile.h"
#include "tests/lib/pair.h"

/* ---- a host device whose worker can be held in recv ---------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static int in_recv;
static int found_in_close; /* ovb_server_find_dev() from close: its relid */

/* Hold the next packet a held receive callback sees. */
static void gate_close(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = true;
	in_recv = 0;
	pthread_mutex_unlock(&gate_lock);
}

/* Wait until a receive callback holds a packet at the gate. */
static void gate_wait_held(void)
{
	struct timespec dl;
	int rc = 0;

	ovb_deadline_ms(&dl, PAIR_HANG_MS);
	pthread_mutex_lock(&gate_lock);
	while (!in_recv && rc != ETIMEDOUT)
		rc = pthread_cond_clockwait(&gate_cond, &gate_lock,
					    CLOCK_MONOTONIC, &dl);
	pthread_mutex_unlock(&gate_lock);
	if (rc == ETIMEDOUT)
		fail_msg("no packet reached the held receive callback");
}

/* Let every held receive callback go on. */
static void gate_open(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = false;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void held_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	pthread_mutex_lock(&gate_lock);
	in_recv++;
	pthread_cond_broadcast(&gate_cond);
	while (gate_closed)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	ovb_echo_vsp_ops.recv(chan, pkt, ctx);
}

/* A close callback that calls the server, as devices may (rule 1). */
static void calling_close(struct ovb_vsp_dev *dev, struct ovb_chan *chan)
{
	struct ovb_vsp_dev *d = ovb_server_find_dev(ovb_vsp_dev_partition(dev),
						    ovb_vsp_dev_relid(dev));

	found_in_close = d ? (int)ovb_vsp_dev_relid(d) : -1;
	ovb_echo_vsp_ops.close(dev, chan);
}

static struct ovb_vsp_ops held_ops;

static struct ovb_vsp_dev *offer_held(struct pair *p,
				      ovb_chan_recv_fn *recv)
{
	struct ovb_offer_params op = { .class_id = ECHO_CLASS_GUID };
	struct ovb_vsp_dev *dev;

	held_ops = ovb_echo_vsp_ops;
	held_ops.name = "held echo";
	held_ops.recv = recv;
	held_ops.close = calling_close;
	op.instance_id.b[0] = 0x10;
	assert_int_equal(ovb_server_offer(ovb_inproc_partition(p->link),
					  &held_ops, &op, &dev), 0);
	PAIR_WAIT(__atomic_load_n(&p->echo.ndev, __ATOMIC_ACQUIRE) == 2);
	assert_int_equal(p->echo.ndev, 2);
	return dev;
}

/* Send @op to the host without waiting for anything back. */
static void send_op(struct ovb_echo *e, uint32_t op)
{
	struct echo_msg m = { .op = op };
	struct ovb_send snd = { .data = &m, .len = sizeof(m) };

	assert_int_equal(ovb_chan_send(ovb_echo_chan(e), &snd), 0);
}

struct rescinder {
	pthread_t t;
	struct ovb_vsp_dev *dev;
	int rc;
	bool done; /* atomic */
};

static void *rescind_main(void *arg)
{
	struct rescinder *r = arg;

	r->rc = ovb_server_rescind(r->dev);
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Thread 1 rescinds a device whose worker is held in recv, so its close
 * waits in the join with the partition lock dropped.  Thread 2 rescinds
 * the same device meanwhile: it must wait for thread 1 and then find the
 * device rescinded, not send a second RESCIND while the first is under
 * way (the old recursive lock let it in: both returned 0, the guest got
 * two RESCINDs).
 */
static void test_rescind_during_close(void **state)
{
	struct pair *p;
	struct ovb_vsp_dev *dev;
	struct ovb_echo *e;
	struct rescinder r[2];
	uint32_t relid;

	logcap_start();
	p = pair_connected(NULL);
	dev = offer_held(p, held_recv);
	relid = ovb_vsp_dev_relid(dev); /* @dev goes at RELID_RELEASED */
	assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL, &e), 0);
	gate_close();
	send_op(e, ECHO_OP_SINK);
	gate_wait_held();

	for (int i = 0; i < 2; i++) {
		r[i] = (struct rescinder){ .dev = dev };
		assert_int_equal(pthread_create(&r[i].t, NULL, rescind_main,
						&r[i]), 0);
		/* Thread 1 reaches the join before thread 2 starts. */
		usleep(100 * 1000);
	}
	/* Both wait: the first for the worker, the second for the first. */
	assert_false(__atomic_load_n(&r[0].done, __ATOMIC_ACQUIRE));
	assert_false(__atomic_load_n(&r[1].done, __ATOMIC_ACQUIRE));

	gate_open();
	for (int i = 0; i < 2; i++)
		pthread_join(r[i].t, NULL);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[1].rc, -ENODEV);
	ovb_inproc_sync(p->link);
	PAIR_WAIT(__atomic_load_n(&p->echo.removed, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(p->echo.removed, 1);
	ovb_inproc_sync(p->link);
	assert_int_equal(logcap_count("RESCIND for unknown relid"), 0);
	/* The close callback could call the server, which took the lock. */
	assert_int_equal(found_in_close, (int)relid);
	pair_free(p);
	logcap_stop();
}

/* ---- a ring lent while its drainer waits (ovb_chan_lend_begin) ---------- */

static struct ovb_chan *lend_chan;  /* the host side, seen in recv */
static uint64_t lend_seen[8];       /* marker or xid of each packet, in order */
static unsigned int lend_nseen;     /* under gate_lock */
static bool lend_intact;            /* the held packet unchanged at the end */

static void lend_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	uint64_t v = pkt->xid, mine;
	struct ovb_chan *lent;

	(void)ctx;
	if (pkt->type != VM_PKT_COMP && pkt->len >= 8)
		memcpy(&v, pkt->data, 8);
	pthread_mutex_lock(&gate_lock);
	if (lend_nseen < 8)
		lend_seen[lend_nseen++] = v;
	if (v != 1) {
		pthread_mutex_unlock(&gate_lock);
		return;
	}
	/* The first: wait here with the ring lent, as netvsp does. */
	mine = v;
	lend_chan = chan;
	lent = ovb_chan_lend_begin();

	in_recv++;
	pthread_cond_broadcast(&gate_cond);
	while (gate_closed)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	memcpy(&v, pkt->data, 8);
	lend_intact = lent == chan && v == mine;
	ovb_chan_lend_end(lent);
}

/* One inband packet carrying @marker, or a completion for @xid. */
static void inject(struct ovb_chan *gc, uint16_t type, uint64_t v)
{
	uint8_t b[24];
	struct vmpacket_descriptor d = { .type = type, .offset8 = 2,
					 .len8 = 3 };

	if (type == VM_PKT_COMP)
		d.trans_id = v;
	memcpy(b, &d, sizeof(d));
	memcpy(b + 16, &v, 8);
	assert_int_equal(hring_inject(gc, true, b, sizeof(b)), 0);
}

/*
 * The host's worker, inside recv of packet 1, lends its ring and waits.
 * Packets 2 and 3 come with completions 101 and 102 between and after
 * them: another thread's ovb_chan_reap takes both completions now, while
 * the worker is still in recv of packet 1; a poll meanwhile reads
 * nothing, packet 1 as recv was given it is untouched (the reap reads
 * into a buffer of its own), and after the lend the worker goes on with
 * 2 and 3, in order, set aside by the reap.
 */
static void test_lend_reap(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e;
	struct ovb_chan *gc;
	const uint64_t want[] = { 1, 101, 102, 2, 3 };

	(void)state;
	offer_held(p, lend_recv);
	assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL, &e), 0);
	gc = ovb_echo_chan(e);
	gate_close();
	inject(gc, VM_PKT_DATA_INBAND, 1);
	hring_signal(gc);
	gate_wait_held();

	inject(gc, VM_PKT_DATA_INBAND, 2);
	inject(gc, VM_PKT_COMP, 101);
	inject(gc, VM_PKT_DATA_INBAND, 3);
	inject(gc, VM_PKT_COMP, 102);
	assert_int_equal(ovb_chan_poll(lend_chan), 0);
	assert_int_equal(ovb_chan_reap(lend_chan, 16), 2);
	assert_int_equal(ovb_chan_reap(lend_chan, 16), 0);
	pthread_mutex_lock(&gate_lock);
	assert_int_equal(lend_nseen, 3);
	gate_closed = false;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	PAIR_WAIT(__atomic_load_n(&lend_nseen, __ATOMIC_ACQUIRE) == 5);
	pthread_mutex_lock(&gate_lock);
	assert_int_equal(lend_nseen, 5);
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(lend_seen[i], want[i]);
	pthread_mutex_unlock(&gate_lock);
	assert_true(lend_intact);
	ovb_echo_close(e);
	pair_free(p);
}

/*
 * One rescind of a device whose worker is held in recv: it returns once
 * the worker is let go, and the partition's other devices keep working.
 */
static void test_rescind_held_worker(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_vsp_dev *dev = offer_held(p, held_recv);
	struct ovb_echo *e;
	struct rescinder r = { .dev = dev };

	assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL, &e), 0);
	gate_close();
	send_op(e, ECHO_OP_SINK);
	gate_wait_held();
	assert_int_equal(pthread_create(&r.t, NULL, rescind_main, &r), 0);
	usleep(50 * 1000);
	gate_open();
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, 0);
	PAIR_WAIT(__atomic_load_n(&p->echo.removed, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(p->echo.removed, 1);
	/* The other echo device is untouched. */
	assert_int_equal(ovb_echo_open(p->echo.dev[0], 16384, NULL, &e), 0);
	pair_ping(e, 100);
	ovb_echo_close(e);
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rescind_during_close),
		cmocka_unit_test(test_rescind_held_worker),
		cmocka_unit_test(test_lend_reap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
