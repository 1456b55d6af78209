// SPDX-License-Identifier: MIT
/*
 * Pair test of completions answered on a backend's own thread (blk.h,
 * "Completions on the backend's thread"; storvsp's svsp_notify): a
 * backend that, like RBD's, finishes requests on a thread of its own and
 * offers each batch to the queue's notify before it writes the eventfd.
 * storvsp takes the offer when its worker is not using the channel, so
 * the guest's answers leave from that thread (backend_direct counts them),
 * the data is right, and the queue never has two users at once; a guest
 * that stops reading its ring does not stall that thread; the host
 * worker busy-spins for such a backend (wakes_owner) no longer than it
 * allows (busy_max_us), and not at all when it allows none.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

#define THR_SIZE (4u << 20)
#define THR_LUN 3

/* ---- a memory disk whose requests finish on its own thread ---------- */

struct thr_queue {
	struct ovb_blk_queue q;
	struct ovb_blk_req *done; /* finished, under thr_lock */
	int users;		  /* threads inside submit/poll (atomic) */
	int busy;		  /* the thread still touches it (atomic) */
};

static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t thr_cond = PTHREAD_COND_INITIALIZER;
static struct ovb_blk_req *thr_pending; /* LIFO is fine: no order promised */
static bool thr_stop;
static uint8_t *thr_data;
static int thr_overlaps;  /* two users of one queue at once (atomic) */
static int thr_notified;  /* offers the owner took (atomic) */
static int thr_refused;   /* offers it refused (atomic) */
static int thr_submitted; /* requests handed to the thread (atomic) */
static int thr_finished;  /* requests it is done with (atomic) */

static void thr_enter(struct thr_queue *tq)
{
	if (__atomic_fetch_add(&tq->users, 1, __ATOMIC_ACQ_REL))
		__atomic_fetch_add(&thr_overlaps, 1, __ATOMIC_RELAXED);
}

static void thr_leave(struct thr_queue *tq)
{
	__atomic_fetch_sub(&tq->users, 1, __ATOMIC_ACQ_REL);
}

static int thr_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	return ovb_blk_queue_alloc(blk, sizeof(struct thr_queue), out);
}

static void thr_queue_destroy(struct ovb_blk_queue *q)
{
	while (__atomic_load_n(&((struct thr_queue *)q)->busy,
			       __ATOMIC_ACQUIRE))
		usleep(100);
	ovb_blk_queue_free(q);
}

static int thr_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct thr_queue *tq = (struct thr_queue *)q;

	thr_enter(tq);
	req->b_ctx = tq;
	q->inflight++;
	__atomic_add_fetch(&thr_submitted, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&thr_lock);
	req->b_next = thr_pending;
	thr_pending = req;
	pthread_cond_signal(&thr_cond);
	pthread_mutex_unlock(&thr_lock);
	thr_leave(tq);
	return 0;
}

static int thr_reap(struct thr_queue *tq)
{
	struct ovb_blk_req *req, *next;
	uint64_t cnt;
	int n = 0;

	if (read(tq->q.efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: not written */
	}
	pthread_mutex_lock(&thr_lock);
	req = tq->done;
	tq->done = NULL;
	pthread_mutex_unlock(&thr_lock);
	for (; req; req = next, n++) {
		next = req->b_next;
		tq->q.inflight--;
		req->done(req, 0);
	}
	return n;
}

static int thr_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct thr_queue *tq = (struct thr_queue *)q;
	int n;

	thr_enter(tq);
	n = thr_reap(tq);
	while (!n && timeout_us < 0 && q->inflight) {
		usleep(100);
		n = thr_reap(tq);
	}
	thr_leave(tq);
	return n;
}

static bool thr_ready(const struct ovb_blk_queue *q)
{
	return __atomic_load_n(&((const struct thr_queue *)q)->done,
			       __ATOMIC_ACQUIRE) != NULL;
}

static void thr_close(struct ovb_blk *blk)
{
	free(blk);
}

static const struct ovb_blk_ops thr_ops = {
    .name = "thr",
    .queue_create = thr_queue_create,
    .queue_destroy = thr_queue_destroy,
    .submit = thr_submit,
    .poll = thr_poll,
    .close = thr_close,
    .ready = thr_ready,
};

/* Move the data, then hand the request back as RBD's callback does. */
static void thr_finish(struct ovb_blk_req *req)
{
	struct thr_queue *tq = req->b_ctx;
	uint64_t one = 1;
	bool first;

	if (req->op == OVB_BLK_READ)
		ovb_blk_iov_from_buf(req->iov, req->iovcnt, 0,
				     thr_data + req->off, req->len);
	else if (req->op == OVB_BLK_WRITE)
		ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0,
				   thr_data + req->off, req->len);
	__atomic_add_fetch(&tq->busy, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&thr_lock);
	first = !tq->done;
	req->b_next = tq->done;
	__atomic_store_n(&tq->done, req, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&thr_lock);
	if (first && tq->q.notify) {
		/* The reap it may run counts itself a user (thr_poll). */
		if (tq->q.notify(&tq->q, tq->q.notify_ctx)) {
			__atomic_fetch_add(&thr_notified, 1, __ATOMIC_RELAXED);
			first = false;
		} else {
			__atomic_fetch_add(&thr_refused, 1, __ATOMIC_RELAXED);
		}
	}
	if (first && write(tq->q.efd, &one, sizeof(one)) < 0)
		fail_msg("cannot wake a queue");
	__atomic_sub_fetch(&tq->busy, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&thr_finished, 1, __ATOMIC_RELAXED);
}

static void *thr_main(void *arg)
{
	struct ovb_blk_req *req;

	(void)arg;
	pthread_mutex_lock(&thr_lock);
	while (!thr_stop) {
		if (!thr_pending) {
			pthread_cond_wait(&thr_cond, &thr_lock);
			continue;
		}
		req = thr_pending;
		thr_pending = req->b_next;
		pthread_mutex_unlock(&thr_lock);
		thr_finish(req);
		pthread_mutex_lock(&thr_lock);
	}
	pthread_mutex_unlock(&thr_lock);
	return NULL;
}

/* ---- the test --------------------------------------------------------- */

static void wait_all(struct sfx_io *p, int n)
{
	for (int i = 0; i < n; i++)
		PAIR_WAIT(__atomic_load_n(&p[i].done, __ATOMIC_ACQUIRE));
}

/*
 * The thread-backed LUN on @f, its thread started; @busy_max_us: the
 * spin a waking engine allows (struct ovb_blk).
 */
static void thr_start(struct sfx *f, pthread_t *tid, bool wakes_owner,
		      uint32_t busy_max_us)
{
	struct ovb_blk *blk = calloc(1, sizeof(*blk));
	int before;

	assert_non_null(blk);
	thr_data = calloc(1, THR_SIZE);
	assert_non_null(thr_data);
	thr_stop = false;
	__atomic_store_n(&thr_notified, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&thr_refused, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&thr_finished, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&thr_submitted, 0, __ATOMIC_RELAXED);
	blk->ops = &thr_ops;
	blk->capacity = THR_SIZE;
	blk->block_size = 512;
	blk->remote = true;
	blk->wakes_owner = wakes_owner;
	blk->busy_max_us = busy_max_us;
	snprintf(blk->name, sizeof(blk->name), "thr");
	assert_int_equal(pthread_create(tid, NULL, thr_main, NULL), 0);
	before = f->changes;
	assert_int_equal(ovb_storvsp_add_lun(f->scsi, THR_LUN, blk), THR_LUN);
	PAIR_WAIT(__atomic_load_n(&f->changes, __ATOMIC_ACQUIRE) > before);
}

/* Free @f (closing the LUN), then stop the thread. */
static void thr_finish_all(struct sfx *f, pthread_t tid)
{
	sfx_free(f);
	pthread_mutex_lock(&thr_lock);
	thr_stop = true;
	pthread_cond_signal(&thr_cond);
	pthread_mutex_unlock(&thr_lock);
	pthread_join(tid, NULL);
	free(thr_data);
}

/* 20 rounds of 32 writes, then 32 reads of what they wrote, checked. */
static void thr_rounds(struct ovb_storvsc *s, uint8_t *buf)
{
	uint8_t *back = buf + 32 * 4096;
	struct sfx_io p[32];

	for (unsigned int r = 0; r < 20; r++) {
		sfx_fill(buf, 32 * 4096, 40 + r);
		for (int i = 0; i < 32; i++)
			sfx_io_submit(s, &p[i], OVB_STORVSC_WRITE, THR_LUN,
				      (uint64_t)(r * 32 + i) * 4096 % THR_SIZE,
				      buf + i * 4096, 4096, false);
		wait_all(p, 32);
		memset(back, 0, 32 * 4096);
		for (int i = 0; i < 32; i++)
			sfx_io_submit(s, &p[i], OVB_STORVSC_READ, THR_LUN,
				      (uint64_t)(r * 32 + i) * 4096 % THR_SIZE,
				      back + i * 4096, 4096, false);
		wait_all(p, 32);
		for (int i = 0; i < 32; i++)
			assert_int_equal(p[i].res, 4096);
		assert_memory_equal(back, buf, 32 * 4096);
	}
}

/*
 * 20 rounds of 32 writes then 32 reads of 4 KiB on the thread-backed LUN:
 * every request succeeds, the data reads back, batches are answered on
 * the backend's thread, and never while the worker uses the queue.
 */
static void test_answers_from_backend_thread(void **state)
{
	struct sfx *f = sfx_new(NULL);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 2 * 32 * 4096);
	struct ovb_storvsp_stats a, b;
	pthread_t tid;

	(void)state;
	thr_start(f, &tid, true, 0);
	ovb_storvsp_get_stats(f->scsi, &a);
	thr_rounds(s, buf);
	ovb_storvsp_get_stats(f->scsi, &b);
	assert_int_equal(__atomic_load_n(&thr_overlaps, __ATOMIC_RELAXED), 0);
	/* Taken offers are what storvsp counts (a busy worker refuses some). */
	assert_int_equal(b.backend_direct - a.backend_direct,
			 (uint64_t)__atomic_load_n(&thr_notified,
						   __ATOMIC_RELAXED));
	assert_true(__atomic_load_n(&thr_notified, __ATOMIC_RELAXED) > 0);
	ovb_storvsc_free(s, buf, 2 * 32 * 4096);
	thr_finish_all(f, tid);
}

/* The host channels' busy spin over a run (busy_spin_run). */
struct busy_count {
	uint64_t spun_us, hits, sleeps;
};

/*
 * The host worker's busy spin (remote LUNs, ovb_chan_set_busy) for an
 * engine whose own threads wake the worker (wakes_owner, as RBD's) is at
 * most the engine's busy_max_us, none when that is 0: three times
 * thr_rounds with the spin allowed (host_stream; every LUN remote, so no
 * stream spin).  The same backend without wakes_owner is spun for as
 * any remote disk.  Fills @c with the host's counters over the rounds;
 * false where turns are caller-driven (they neither sleep nor spin).
 */
static bool busy_spin_run(bool wakes_owner, uint32_t busy_max_us,
			  struct busy_count *c)
{
	struct sfx_opts o = { .host_stream = true, .remote = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, 2 * 32 * 4096);
	struct sfx_chans a, b;
	pthread_t tid;

	if (f->loop) {
		/* Caller-driven turns neither sleep nor spin. */
		ovb_storvsc_free(s, buf, 2 * 32 * 4096);
		sfx_free(f);
		return false;
	}
	thr_start(f, &tid, wakes_owner, busy_max_us);
	sfx_host_chans(f, &a);
	for (unsigned int i = 0; i < 3; i++)
		thr_rounds(s, buf);
	sfx_host_chans(f, &b);
	c->spun_us = b.st.adapt_spin_us - a.st.adapt_spin_us;
	c->hits = b.st.adapt_hits - a.st.adapt_hits;
	c->sleeps = b.st.sleeps - a.st.sleeps;
	print_message("wakes_owner=%d busy_max_us=%u: host spun %llu us, "
		      "%llu hits, %llu sleeps\n",
		      wakes_owner, busy_max_us, (unsigned long long)c->spun_us,
		      (unsigned long long)c->hits,
		      (unsigned long long)c->sleeps);
	ovb_storvsc_free(s, buf, 2 * 32 * 4096);
	thr_finish_all(f, tid);
	return true;
}

static void test_no_busy_spin_when_engine_wakes(void **state)
{
	struct busy_count with, without;

	(void)state;
	if (!busy_spin_run(false, 0, &with))
		skip();
	assert_true(with.spun_us + with.hits > 0);
	assert_true(busy_spin_run(true, 0, &without));
	assert_int_equal(without.spun_us + without.hits, 0);
}

/*
 * A waking engine that allows a short spin (RBD's default spin=) gets
 * one: the worker meets some of the work spinning, and no spin outlasts
 * the bound by more than a slice of scheduling noise -- every spin ends
 * in a hit, or in a sleep (a miss), so hits + sleeps bound their number.
 */
static void test_short_spin_when_engine_wakes(void **state)
{
	enum { BOUND_US = 60, SLACK_US = 200 };
	struct busy_count c;

	(void)state;
	if (!busy_spin_run(true, BOUND_US, &c))
		skip();
	assert_true(c.hits > 0);
	assert_true(c.spun_us <= (c.hits + c.sleeps) * (BOUND_US + SLACK_US));
}

static bool guest_held; /* under thr_lock */
static pthread_cond_t guest_cond = PTHREAD_COND_INITIALIZER;

/* The guest's done(): its worker waits here while the guest is held. */
static void held_done(struct ovb_storvsc_io *io, int64_t res)
{
	pthread_mutex_lock(&thr_lock);
	while (guest_held)
		pthread_cond_wait(&guest_cond, &thr_lock);
	pthread_mutex_unlock(&thr_lock);
	sfx_io_done(io, res);
}

/*
 * A guest that stops reading its ring (here: its worker waits in the
 * first request's done(), 4 KiB of ring) must not stall the
 * backend's thread: with too little room for an answer to everything in
 * flight the offer is refused, the worker waits for room instead, and
 * the backend's thread finishes every request it was given meanwhile.
 * Once the guest reads again, all 64 complete.
 */
static void test_full_ring_spares_backend_thread(void **state)
{
	enum { N = 64 };
	struct sfx_opts o = { .guest_ring_bytes = 4096 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	uint8_t *buf = ovb_storvsc_alloc(s, N * 4096);
	struct sfx_io *p = calloc(N, sizeof(*p));
	pthread_t tid;

	(void)state;
	assert_non_null(p);
	thr_start(f, &tid, true, 0);
	sfx_fill(buf, N * 4096, 77);
	guest_held = true;
	for (int i = 0; i < N; i++) {
		p[i].io.op = OVB_STORVSC_WRITE;
		p[i].io.lun = THR_LUN;
		p[i].io.offset = (uint64_t)i * 4096;
		p[i].io.buf = buf + i * 4096;
		p[i].io.len = 4096;
		/* Its answers stop the guest's worker: the ring fills. */
		p[i].io.done = held_done;
		p[i].io.ctx = &p[i];
		assert_int_equal(ovb_storvsc_submit(s, &p[i].io), 0);
	}
	/*
	 * The worker stops taking requests once it waits for room itself;
	 * the backend's thread must finish every one it was given.
	 */
	usleep(200 * 1000);
	PAIR_WAIT(__atomic_load_n(&thr_finished, __ATOMIC_RELAXED) ==
		  __atomic_load_n(&thr_submitted, __ATOMIC_RELAXED));
	assert_true(__atomic_load_n(&thr_submitted, __ATOMIC_RELAXED) > 0);
	assert_int_equal(__atomic_load_n(&thr_finished, __ATOMIC_RELAXED),
			 __atomic_load_n(&thr_submitted, __ATOMIC_RELAXED));
	pthread_mutex_lock(&thr_lock);
	guest_held = false;
	pthread_cond_broadcast(&guest_cond);
	pthread_mutex_unlock(&thr_lock);
	for (int i = 0; i < N; i++) {
		PAIR_WAIT(__atomic_load_n(&p[i].done, __ATOMIC_ACQUIRE));
		assert_int_equal(p[i].res, 4096);
	}
	assert_memory_equal(thr_data, buf, N * 4096);
	ovb_storvsc_free(s, buf, N * 4096);
	free(p);
	thr_finish_all(f, tid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers_from_backend_thread),
	    cmocka_unit_test(test_full_ring_spares_backend_thread),
	    cmocka_unit_test(test_no_busy_spin_when_engine_wakes),
	    cmocka_unit_test(test_short_spin_when_engine_wakes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
