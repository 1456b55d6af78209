// SPDX-License-Identifier: MIT
/*
 * Pair tests of storage polling (storvsp over RAM disks and storvsc in
 * one process over the inproc link): the data checks in polling mode,
 * caller polling from several threads at once, a polling caller that
 * keeps the host from signalling, a caller asleep on the rings in the
 * workers' place, resets and host death while callers
 * poll; polling on the host too, and a LUN removed while a polling host
 * worker never sleeps; the host's adaptive spins in interrupt mode (the
 * reply spin for the next request, the stream rule), which meet requests
 * while they come and leave an idle disk asleep, and none in the zero
 * config.  Batching is in test-storage-batch.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/guid.h"
#include "openvmbus/hv.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

/* ---- polling ------------------------------------------------------------ */

/*
 * The data-verification workload: round trips of several sizes on every
 * LUN (512- and 4096-byte blocks), a transfer split by the host's limit
 * with a discard, and 96 writes in flight over the sub-channels.  Needs
 * nluns 3 and subchannels 2.
 */
static void verify_workload(struct sfx *f, struct ovb_storvsc *s)
{
	PAIR_WAIT(ovb_storvsc_channels(s) == 3);
	assert_int_equal(ovb_storvsc_channels(s), 3);
	for (unsigned int i = 0; i < 24; i++)
		sfx_rw_check(f, s, (uint16_t)(i % 3), f->blk[i % 3],
			 (uint64_t)i * 65536, 4096u << (i % 5), i + 40);
	sfx_rw_check(f, s, 0, f->blk[0], 512, 3 * ovb_storvsc_max_transfer(s) +
						  4096, 78);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_DISCARD, 0, 512,
					  NULL, 8192, false),
			 8192);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(ovb_blk_ram_data(f->blk[0])[512 + i], 0);
	sfx_flight_run(f, s, 96, 16384);
}

/*
 * Poll until the @n requests of @p are done or 10 s passed.  Returns the
 * sum of what ovb_storvsc_poll() returned, or its first error.
 */
static long poll_until(struct ovb_storvsc *s, struct sfx_io *p, int n)
{
	uint64_t end = sfx_now_ms() + 10000;
	long sum = 0;

	for (unsigned int i = 0;; i++) {
		int left = 0, rc;

		for (int k = 0; k < n; k++)
			left += !__atomic_load_n(&p[k].done, __ATOMIC_ACQUIRE);
		if (!left)
			return sum;
		rc = ovb_storvsc_poll(s);
		if (rc < 0)
			return rc;
		sum += rc;
		if (i % 1024 == 0 && sfx_now_ms() > end)
			return sum;
	}
}

/* Polling mode on the guest: the workload, and the workers did spin. */
static void test_poll_guest(void **state)
{
	struct sfx_opts o = { .nluns = 3, .subchannels = 2,
			      .guest_poll_us = 200000 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct sfx_chans g;

	verify_workload(f, s);
	sfx_guest_chans(s, &g);
	/* Completions met spinning workers (flight_run), and the sync
	 * calls drained their channels themselves.  With a 200 ms spin
	 * neither depends on timing. */
	assert_true(g.st.spin_hits > 0);
	assert_true(g.st.polled > 0);
	sfx_free(f);
}

/* Several threads poll one controller, each checking its own data. */
struct poller {
	struct ovb_storvsc *s;
	struct sfx *f;
	int idx;
	long sum;      /* what ovb_storvsc_poll() returned, summed */
	int errors;    /* no cmocka asserts off the main thread */
};

#define POLL_IOS 8
#define POLL_LEN 16384u

static void *poller_main(void *arg)
{
	struct poller *pt = arg;
	struct ovb_storvsc *s = pt->s;
	uint16_t lun = (uint16_t)(pt->idx % 3);
	uint64_t base = (2u << 20) + (uint64_t)pt->idx * POLL_IOS * POLL_LEN;
	uint8_t *wbuf = ovb_storvsc_alloc(s, POLL_IOS * POLL_LEN);
	uint8_t *rbuf = ovb_storvsc_alloc(s, POLL_IOS * POLL_LEN);
	struct sfx_io p[POLL_IOS];

	sfx_in_poller = true;
	if (!wbuf || !rbuf) {
		pt->errors++;
		return NULL;
	}
	for (unsigned int round = 0; round < 20 && !pt->errors; round++) {
		long n;

		sfx_fill(wbuf, POLL_IOS * POLL_LEN, round * 8 + (unsigned)pt->idx);
		memset(rbuf, 0, POLL_IOS * POLL_LEN);
		for (int k = 0; k < POLL_IOS; k++)
			sfx_io_submit(s, &p[k], OVB_STORVSC_WRITE, lun,
				      base + k * POLL_LEN, wbuf + k * POLL_LEN,
				      POLL_LEN, false);
		n = poll_until(s, p, POLL_IOS);
		pt->sum += n > 0 ? n : 0;
		for (int k = 0; k < POLL_IOS; k++)
			pt->errors += !p[k].done || p[k].res != POLL_LEN;
		for (int k = 0; k < POLL_IOS; k++)
			sfx_io_submit(s, &p[k], OVB_STORVSC_READ, lun,
				      base + k * POLL_LEN, rbuf + k * POLL_LEN,
				      POLL_LEN, false);
		n = poll_until(s, p, POLL_IOS);
		pt->sum += n > 0 ? n : 0;
		for (int k = 0; k < POLL_IOS; k++)
			pt->errors += !p[k].done || p[k].res != POLL_LEN;
		pt->errors += memcmp(wbuf, rbuf, POLL_IOS * POLL_LEN) != 0;
	}
	ovb_storvsc_poll_end(s);
	ovb_storvsc_free(s, wbuf, POLL_IOS * POLL_LEN);
	ovb_storvsc_free(s, rbuf, POLL_IOS * POLL_LEN);
	return NULL;
}

static void test_caller_poll_threads(void **state)
{
	struct sfx_opts o = { .nluns = 3, .subchannels = 2 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct poller pt[4];
	pthread_t t[4];
	struct ovb_storvsp_stats st;
	struct sfx_chans h, g;
	long sum = 0;

	PAIR_WAIT(ovb_storvsc_channels(s) == 3);
	__atomic_store_n(&sfx_dones_on_pollers, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++) {
		pt[i] = (struct poller){ .s = s, .f = f, .idx = i };
		assert_int_equal(pthread_create(&t[i], NULL, poller_main,
						&pt[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(pt[i].errors, 0);
		sum += pt[i].sum;
	}
	/* What the calls returned is what ran on the polling threads. */
	assert_int_equal(sum, __atomic_load_n(&sfx_dones_on_pollers,
					      __ATOMIC_RELAXED));
	assert_true(sum > 0);
	sfx_guest_chans(s, &g);
	assert_true(g.st.polled >= (uint64_t)sum);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_int_equal(st.bad_packets, 0);
	/* poll_end gave the rings back to the workers: interrupt mode. */
	PAIR_WAIT((sfx_host_chans(f, &h), h.peer_masked == 0));
	assert_int_equal(h.peer_masked, 0);
	sfx_rw_check(f, s, 2, f->blk[2], 0, 65536, 5);
	sfx_free(f);
}

/*
 * A caller that polls keeps the host's signals masked: with the worker
 * asleep, completions reach only the poller and the host signals nothing.
 */
static void test_caller_poll_no_signals(void **state)
{
	struct sfx_opts o = { .gated = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 8 * 4096);
	struct sfx_chans h, g;
	struct sfx_io p[8];
	uint64_t sig;

	sfx_gate_close();
	for (int i = 0; i < 8; i++)
		sfx_io_submit(s, &p[i], OVB_STORVSC_READ, 0, (uint64_t)i * 4096,
			      buf + i * 4096, 4096, false);
	PAIR_WAIT(sfx_gate_held() == 8);
	/* The worker unmasked before it went to sleep. */
	PAIR_WAIT((sfx_host_chans(f, &h), h.peer_masked == 0));
	assert_int_equal(h.n, 1);
	assert_int_equal(h.peer_masked, 0);
	sig = h.st.signals_out;
	__atomic_store_n(&sfx_dones_on_pollers, 0, __ATOMIC_RELAXED);
	sfx_in_poller = true;
	assert_int_equal(ovb_storvsc_poll(s), 0);
	sfx_host_chans(f, &h);
	assert_int_equal(h.peer_masked, 1);
	sfx_gate_open();
	assert_int_equal(poll_until(s, p, 8), 8);
	sfx_in_poller = false;
	assert_int_equal(__atomic_load_n(&sfx_dones_on_pollers, __ATOMIC_RELAXED),
			 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(p[i].res, 4096);
	sfx_host_chans(f, &h);
	assert_int_equal(h.st.signals_out, sig);
	sfx_guest_chans(s, &g);
	assert_true(g.st.polled >= 8);
	ovb_storvsc_poll_end(s);
	sfx_host_chans(f, &h);
	assert_int_equal(h.peer_masked, 0);
	sfx_rw_check(f, s, 1, f->blk[1], 0, 4096, 3);
	ovb_storvsc_free(s, buf, 8 * 4096);
	sfx_free(f);
}

/*
 * A caller asleep on the rings (ovb_storvsc_poll_sleep): QD1 round trips
 * complete on the caller's thread, woken by the host's signals, while the
 * guest's worker stays asleep (parked: one wake-up per completion, not
 * the worker's and then the caller's); after ovb_storvsc_poll_end() the
 * worker takes completions again.
 */
#define SLEEP_ROUNDS 200

/*
 * @n QD1 reads of 4 KiB on LUN 0, each polled for and slept for on the
 * rings by this thread.  Returns the sleeps that a signal ended.
 */
static unsigned int sleep_round_trips(struct ovb_storvsc *s, uint8_t *buf,
				      unsigned int n)
{
	unsigned int woke = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t end = sfx_now_ms() + 10000;
		struct sfx_io p;

		sfx_io_submit(s, &p, OVB_STORVSC_READ, 0, (i % 64) * 4096ull,
			      buf, 4096, false);
		while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) &&
		       sfx_now_ms() < end) {
			int rc = ovb_storvsc_poll(s);

			assert_true(rc >= 0);
			if (rc || __atomic_load_n(&p.done, __ATOMIC_ACQUIRE))
				continue;
			rc = ovb_storvsc_poll_sleep(s, -1, 1000);
			assert_true(rc >= 0);
			woke += rc > 0;
		}
		assert_true(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
		assert_int_equal(p.res, 4096);
	}
	return woke;
}

static void test_caller_sleeps_on_ring(void **state)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	struct sfx_chans a, b, c;
	struct sfx_io p;
	unsigned int woke;

	usleep(20000); /* the worker asleep */
	sfx_guest_chans(s, &a);
	__atomic_store_n(&sfx_dones_on_pollers, 0, __ATOMIC_RELAXED);
	sfx_in_poller = true;
	/* The park: the worker wakes once and sleeps again, parked. */
	assert_int_equal(ovb_storvsc_poll(s), 0);
	assert_true(ovb_storvsc_poll_sleep(s, -1, 10) >= 0);
	PAIR_WAIT((sfx_guest_chans(s, &b), b.st.sleeps > a.st.sleeps));
	assert_true(b.st.sleeps > a.st.sleeps);
	usleep(20000);
	sfx_guest_chans(s, &b);
	/* The host's signal for this one is the caller's: nobody drains. */
	sfx_io_submit(s, &p, OVB_STORVSC_READ, 0, 0, buf, 4096, false);
	usleep(100000);
	assert_false(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
	assert_int_equal(ovb_storvsc_poll(s), 1);
	assert_int_equal(p.res, 4096);
	woke = sleep_round_trips(s, buf, SLEEP_ROUNDS);
	sfx_in_poller = false;
	sfx_guest_chans(s, &c);
	print_message("%u round trips: the caller woke %u times, the worker "
		      "slept %llu times\n", SLEEP_ROUNDS, woke,
		      (unsigned long long)(c.st.sleeps - b.st.sleeps));
	/* Every completion on this thread, woken by the host's signals. */
	assert_int_equal(__atomic_load_n(&sfx_dones_on_pollers,
					 __ATOMIC_RELAXED), SLEEP_ROUNDS + 1);
	/* How many sleeps a signal ended depends on the host's speed; that
	 * one does is test_caller_sleep_ended_by_signal's. */
	assert_int_equal(c.st.sleeps, b.st.sleeps);
	ovb_storvsc_poll_end(s);
	/* The worker is back on the ring: synchronous round trips. */
	sfx_rw_check(f, s, 0, f->blk[0], 8192, 4096, 5);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

static void *gate_open_later(void *arg)
{
	(void)arg;
	usleep(10000);
	sfx_gate_open();
	return NULL;
}

/*
 * The host's signal ends a parked caller's sleep: the request is held at
 * the gate (so nothing can have come back before the caller sleeps), the
 * gate opens from another thread while the caller sleeps, and the sleep
 * ends with an event, not its 2 s timeout.  A round whose gate opened
 * before the caller parked proves nothing and is retried; twenty rounds
 * bound it.  Fails when a parked caller does not watch wake_fd.
 */
static void test_caller_sleep_ended_by_signal(void **state)
{
	struct sfx_opts o = { .nluns = 1, .gated = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	unsigned int woke = 0;

	sfx_in_poller = true;
	for (unsigned int i = 0; i < 20 && !woke; i++) {
		struct sfx_io p;
		pthread_t t;
		int rc;

		sfx_gate_close();
		sfx_io_submit(s, &p, OVB_STORVSC_READ, 0, 0, buf, 4096, false);
		PAIR_WAIT(sfx_gate_held() == 1);
		assert_int_equal(sfx_gate_held(), 1);
		assert_true(ovb_storvsc_poll(s) >= 0);
		assert_int_equal(pthread_create(&t, NULL, gate_open_later, NULL),
				 0);
		rc = ovb_storvsc_poll_sleep(s, -1, 2000);
		assert_true(rc >= 0);
		woke += rc > 0;
		pthread_join(t, NULL);
		PAIR_WAIT((ovb_storvsc_poll(s),
			   __atomic_load_n(&p.done, __ATOMIC_ACQUIRE)));
		assert_true(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
		assert_int_equal(p.res, 4096);
	}
	sfx_in_poller = false;
	assert_true(woke >= 1);
	ovb_storvsc_poll_end(s);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

/*
 * Parked workers still stop: after round trips on the rings (the worker,
 * woken by the park, went back to sleep parked), the pair is torn down
 * without ovb_storvsc_poll_end().
 */
static void test_caller_sleep_then_stop(void **state)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	struct sfx_chans a, b;

	usleep(20000);
	sfx_guest_chans(s, &a);
	sleep_round_trips(s, buf, 20);
	PAIR_WAIT((sfx_guest_chans(s, &b), b.st.sleeps > a.st.sleeps));
	assert_true(b.st.sleeps > a.st.sleeps);
	usleep(20000); /* asleep on its park fd */
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

/*
 * The reset escalation runs while a caller polls.  The host answers each
 * reset at once, but the guest gives it a step (a third of the timeout)
 * before it calls the host silent and takes the controller offline: 500
 * ms, not 50, so that a host thread descheduled on a loaded machine still
 * answers in time and LUN 1 below finds the controller online.
 */
static void test_poll_timeout(void **state)
{
	struct sfx_opts o = { .gated = true, .timeout_ms = 1500,
			      .guest_poll_us = 50 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	struct ovb_storvsp_stats st;
	struct sfx_io p;

	sfx_gate_close();
	sfx_io_submit(s, &p, OVB_STORVSC_READ, 0, 0, buf, 4096, false);
	assert_true(poll_until(s, &p, 1) >= 0);
	ovb_storvsc_poll_end(s);
	assert_true(p.done);
	assert_int_equal(p.res, -ETIMEDOUT);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_true(st.reset_lun >= 1);
	assert_true(st.reset_adapter >= 1);
	/* Polling synchronous calls on another LUN meanwhile. */
	sfx_rw_check(f, s, 1, f->blk[1], 0, 4096, 1);
	sfx_gate_open();
	PAIR_WAIT(sfx_gate_held() == 0);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

/* The host dies while callers poll: everything ends in -ECONNRESET. */
struct dier {
	struct ovb_storvsc *s;
	int rc;
};

static void *dier_main(void *arg)
{
	struct dier *d = arg;
	uint64_t end = sfx_now_ms() + 10000;

	sfx_in_poller = true;
	for (unsigned int i = 0;; i++) {
		int rc = ovb_storvsc_poll(d->s);

		if (rc < 0) {
			d->rc = rc;
			break;
		}
		if (i % 1024 == 0 && sfx_now_ms() > end)
			break;
	}
	ovb_storvsc_poll_end(d->s);
	return NULL;
}

static void test_poll_host_dies(void **state)
{
	struct sfx_opts o = { .gated = true, .subchannels = 1,
			      .guest_poll_us = 20 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 8 * 4096);
	struct dier d[2] = { { s, 0 }, { s, 0 } };
	pthread_t t[2];
	struct sfx_io p[8];
	uint64_t t0;
	int left = 8;

	PAIR_WAIT(ovb_storvsc_channels(s) == 2);
	sfx_gate_close();
	for (int i = 0; i < 8; i++)
		sfx_io_submit(s, &p[i], OVB_STORVSC_READ, 0, (uint64_t)i * 4096,
			      buf + i * 4096, 4096, false);
	PAIR_WAIT(sfx_gate_held() == 8);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, dier_main, &d[i]),
				 0);
	usleep(20000);
	t0 = sfx_now_ms();
	ovb_client_link_down(f->cl);
	while (left && sfx_now_ms() - t0 < PAIR_HANG_MS) {
		left = 0;
		for (int i = 0; i < 8; i++)
			left += !__atomic_load_n(&p[i].done, __ATOMIC_ACQUIRE);
		usleep(1000);
	}
	assert_int_equal(left, 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(d[i].rc, -ECONNRESET);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(p[i].res, -ECONNRESET);
	assert_int_equal(ovb_storvsc_poll(s), -ECONNRESET);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false),
			 -ECONNRESET);
	sfx_gate_open();
	sfx_free(f);
}

/* Polling mode on both sides: the workload; the host worker spun. */
static void test_poll_both_sides(void **state)
{
	struct sfx_opts o = { .nluns = 3, .subchannels = 2,
			      .guest_poll_us = 200000,
			      .host_poll_us = 200000 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct sfx_chans a, b;

	PAIR_WAIT(ovb_storvsc_channels(s) == 3);
	sfx_host_chans(f, &a);
	verify_workload(f, s);
	sfx_host_chans(f, &b);
	assert_int_equal(b.n, 3);
	assert_true(b.st.spin_hits > a.st.spin_hits);
	/*
	 * A spinning host keeps the guest's signals masked: packets flow
	 * without wake-ups.  Only the first packet after a 200 ms pause
	 * may need one, and the workload never pauses that long.
	 */
	assert_true((b.st.signals_in - a.st.signals_in) * 10 <
		    b.st.pkts_in - a.st.pkts_in);
	sfx_free(f);
}

/* A RAM disk whose close is counted (the last reference went). */
static const struct ovb_blk_ops *counted_ram;
static struct ovb_blk_ops counted_ops;
static int counted_closes; /* atomic */

static void counted_close(struct ovb_blk *blk)
{
	blk->ops = counted_ram;
	ovb_blk_close(blk);
	__atomic_fetch_add(&counted_closes, 1, __ATOMIC_RELEASE);
}

struct looper {
	struct sfx *f;
	struct ovb_storvsc *s;
	bool stop;   /* atomic */
	int errors;
	long ios;
};

static void *looper_main(void *arg)
{
	struct looper *l = arg;
	uint8_t *buf = ovb_storvsc_alloc(l->s, 4096);

	while (buf && !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		if (ovb_storvsc_sync(l->s, OVB_STORVSC_READ, 0, 0, buf, 4096,
				     false) != 4096)
			l->errors++;
		l->ios++;
	}
	if (buf)
		ovb_storvsc_free(l->s, buf, 4096);
	return NULL;
}

/*
 * A LUN removed while a polling host worker never sleeps (I/O keeps it
 * busy, a 1 s spin covers every gap): its queue is still dropped, and the
 * backend closes, without waiting for the worker to sleep.
 */
static void test_poll_hot_remove(void **state)
{
	struct sfx_opts o = { .nluns = 1, .host_poll_us = 1000000,
			      .guest_poll_us = 1000 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_blk *blk = sfx_ram(1u << 20, 512);
	struct looper l = { .f = f, .s = s };
	pthread_t t;
	int before;

	counted_ram = blk->ops;
	counted_ops = *blk->ops;
	counted_ops.close = counted_close;
	blk->ops = &counted_ops;
	__atomic_store_n(&counted_closes, 0, __ATOMIC_RELAXED);
	before = f->changes;
	assert_int_equal(ovb_storvsp_add_lun(f->scsi, 3, blk), 3);
	PAIR_WAIT(__atomic_load_n(&f->changes, __ATOMIC_ACQUIRE) > before);
	sfx_rw_check(f, s, 3, NULL, 0, 4096, 6); /* the worker gets a queue on it */
	assert_int_equal(pthread_create(&t, NULL, looper_main, &l), 0);
	PAIR_WAIT(__atomic_load_n(&l.ios, __ATOMIC_RELAXED) > 100);
	assert_int_equal(ovb_storvsp_remove_lun(f->scsi, 3), 0);
	PAIR_WAIT(__atomic_load_n(&counted_closes, __ATOMIC_ACQUIRE) == 1);
	__atomic_store_n(&l.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_int_equal(__atomic_load_n(&counted_closes, __ATOMIC_ACQUIRE),
			 1);
	assert_int_equal(l.errors, 0);
	sfx_free(f);
}

/* ---- the host's adaptive spin (interrupt mode) ---------------------------- */

/*
 * QD1 round trips with the host's spin in interrupt mode: the reply spin
 * at @spin_us (storvsp cfg.spin_us), or with @stream the stream rule
 * (cfg.stream_spin, spin_us 0).  With a reply bound far above any gap
 * the workers meet requests while spinning (adapt_hits, spin time
 * counted); the stream rule spins only after a sleep that ended within
 * 500 us, so the round trips (and bursts of 32 in flight) repeat until it
 * has met a request, for up to 10 s.  With neither (the zero config)
 * they never spin, nor does a caller-driven server (its turns never spin
 * adaptively), nor the stream rule when every LUN is @remote.  Either way the idle disk ends asleep: after the last
 * request and a settling pause, 200 ms pass with no spin time added, the
 * host's rings unmasked (a spinning worker keeps its ring masked), and
 * under 100 ms of CPU for the whole process (a spinner would take 200).
 */
static void check_host_spin(uint32_t spin_us, bool stream, bool remote,
			    bool expect_hits)
{
	/* sfx_flight_run writes LUNs 0 and 2. */
	struct sfx_opts o = { .nluns = stream ? 3 : 1, .host_spin_us = spin_us,
			      .host_stream = stream, .remote = remote };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct sfx_chans a, b, c;
	struct timespec c0, c1;
	uint64_t end = sfx_now_ms() + 10000;
	int64_t cpu_us;

	sfx_host_chans(f, &a);
	do {
		for (unsigned int i = 0; i < 64; i++)
			sfx_rw_check(f, s, 0, f->blk[0],
				     (uint64_t)(i % 16) * 4096, 4096, i);
		if (stream)
			sfx_flight_run(f, s, 32, 4096);
		sfx_host_chans(f, &b);
	} while (stream && expect_hits && !f->loop &&
		 (b.st.adapt_hits == a.st.adapt_hits ||
		  b.st.adapt_spin_us == a.st.adapt_spin_us) &&
		 sfx_now_ms() < end);
	print_message("host spin %s %u us: %llu adaptive hits, %llu us "
		      "spinning, %llu sleeps over %llu packets\n",
		      stream ? "stream" : "reply", spin_us,
		      (unsigned long long)(b.st.adapt_hits - a.st.adapt_hits),
		      (unsigned long long)(b.st.adapt_spin_us -
					   a.st.adapt_spin_us),
		      (unsigned long long)(b.st.sleeps - a.st.sleeps),
		      (unsigned long long)(b.st.pkts_in - a.st.pkts_in));
	if (expect_hits && !f->loop) {
		assert_true(b.st.adapt_hits > a.st.adapt_hits);
		assert_true(b.st.adapt_spin_us > a.st.adapt_spin_us);
	} else {
		assert_int_equal(b.st.adapt_hits, a.st.adapt_hits);
		assert_int_equal(b.st.adapt_spin_us, a.st.adapt_spin_us);
	}
	/* The last spin ends within its bound (here at most 1 s). */
	PAIR_WAIT((sfx_host_chans(f, &b), b.host_masked == 0));
	usleep(20000);
	sfx_host_chans(f, &b);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	usleep(200000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	sfx_host_chans(f, &c);
	cpu_us = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000 +
		 (c1.tv_nsec - c0.tv_nsec) / 1000;
	print_message("idle 200 ms: %lld us of CPU, %llu us spinning\n",
		      (long long)cpu_us,
		      (unsigned long long)(c.st.adapt_spin_us -
					   b.st.adapt_spin_us));
	assert_int_equal(c.st.adapt_spin_us, b.st.adapt_spin_us);
	assert_int_equal(c.host_masked, 0);
	assert_true(cpu_us < 100000);
	sfx_free(f);
}

static void test_host_reply_spin(void **state)
{
	check_host_spin(1000000, false, false, true);
}

/* The stream rule (what `vmbus host` runs by default) meets requests. */
static void test_host_stream_spin(void **state)
{
	check_host_spin(0, true, false, true);
}

/* The zero config never spins. */
static void test_host_no_spin(void **state)
{
	check_host_spin(0, false, false, false);
}

/*
 * A controller whose LUNs all answer from a server (NBD, RBD) gets no
 * stream spin: the worker would take the CPU the server needs.
 */
static void test_host_stream_spin_remote(void **state)
{
	check_host_spin(0, true, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_guest),
		cmocka_unit_test(test_caller_poll_threads),
		cmocka_unit_test(test_caller_poll_no_signals),
		cmocka_unit_test(test_caller_sleeps_on_ring),
		cmocka_unit_test(test_caller_sleep_ended_by_signal),
		cmocka_unit_test(test_caller_sleep_then_stop),
		cmocka_unit_test(test_poll_timeout),
		cmocka_unit_test(test_poll_host_dies),
		cmocka_unit_test(test_poll_both_sides),
		cmocka_unit_test(test_poll_hot_remove),
		cmocka_unit_test(test_host_reply_spin),
		cmocka_unit_test(test_host_stream_spin),
		cmocka_unit_test(test_host_no_spin),
		cmocka_unit_test(test_host_stream_spin_remote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
