// SPDX-License-Identifier: MIT
/*
 * netvsc queues that read their own frames (ovb_netvsc_set_source): one
 * thread per queue.  The channel worker that drains a queue's ring --
 * send completions, received frames written to the TAP -- also reads
 * that queue's frame source (a TAP queue) and sends what it reads, so a
 * frame from the TAP, its completion and the traffic coming back on the
 * same queue never hand over between two threads: no reader that sleeps
 * while the worker spins, no wake-up between them.  Layer: devices.
 *
 * Contract.  The source runs on its queue's worker only (fd callback,
 * after each transfer-page packet received, idle hook after every
 * drain, the spin hook now and then), with
 * netvsc__src_q set: nothing netvsc does there waits (the deadlock rule,
 * docs/architecture.md: a guest driver never blocks on its own worker,
 * since only that worker drains the completions that would free what it
 * waits for).  Out of buffers or ring room it returns -EAGAIN; then its
 * fd is left unwatched (a level-triggered TAP would wake the worker
 * over and over) until the pool's next put kicks the worker, or a drain
 * of its ring (completions) runs the source again; each run that ends
 * with the source empty watches the fd again.
 */
#include <errno.h>

#include "net/netvsc_priv.h"
#include "openvmbus/log.h"

__thread struct netvsc_q *netvsc__src_q;

/* Spin-hook calls between two looks at the source (~1-2 us of spin). */
#define SRC_SPIN_EVERY 32u

/* Run @q's source once on its worker, then flush; true if it sent. */
bool netvsc__source_run(struct netvsc_q *q)
{
	ovb_netvsc_source_fn *fn = __atomic_load_n(&q->src_fn,
						   __ATOMIC_ACQUIRE);
	uint64_t before;
	bool stuck;
	int rc;

	if (!fn || __atomic_load_n(&q->n->closing, __ATOMIC_ACQUIRE))
		return false;
	before = __atomic_load_n(&q->tx_frames, __ATOMIC_RELAXED);
	netvsc__src_q = q;
	rc = fn(q->src_ctx, q->idx);
	stuck = rc == -EAGAIN;
	if (netvsc__flush(q) == -EAGAIN)
		stuck = true; /* a section the full ring kept */
	netvsc__src_q = NULL;
	if (stuck != q->src_paused) {
		q->src_paused = stuck;
		ovb_chan_watch_fd(q->chan, q->src_fd, !stuck);
	}
	return __atomic_load_n(&q->tx_frames, __ATOMIC_RELAXED) != before;
}

static void source_on_fd(struct ovb_chan *chan, int fd, void *ctx)
{
	(void)chan;
	(void)fd;
	netvsc__source_run(ctx);
}

/* After every drain: completions may have freed what a paused source
 * waited for, and frames written to the TAP may have queued replies. */
static void source_idle(struct ovb_chan *chan, void *ctx)
{
	(void)chan;
	netvsc__source_run(ctx);
}

/*
 * While the worker spins for its ring, look at the source every few
 * rounds too (a read that finds nothing is one system call): a frame the
 * stack queued meanwhile goes out now, not after the spin.
 */
static bool source_spin(struct ovb_chan *chan, void *ctx)
{
	struct netvsc_q *q = ctx;

	(void)chan;
	if (++q->src_polls < SRC_SPIN_EVERY || q->src_paused)
		return false;
	q->src_polls = 0;
	return netvsc__source_run(q);
}

int ovb_netvsc_set_source(struct ovb_netvsc *n, unsigned int queue, int fd,
			  ovb_netvsc_source_fn *fn, void *ctx)
{
	unsigned int nq = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);
	struct netvsc_q *q;
	int rc;

	if (queue >= nq || fd < 0 || !fn)
		return -EINVAL;
	q = &n->q[queue];
	if (!q->chan || ovb_chan_is_dead(q->chan))
		return -ECONNRESET;
	if (__atomic_load_n(&q->src_fn, __ATOMIC_ACQUIRE))
		return -EINVAL;
	q->src_fd = fd;
	q->src_ctx = ctx;
	q->src_paused = false;
	/* Hooks first: they do nothing until src_fn is set. */
	ovb_chan_set_idle(q->chan, source_idle);
	ovb_chan_set_spin(q->chan, source_spin);
	if ((rc = ovb_chan_add_fd(q->chan, fd, source_on_fd)) != 0)
		return rc;
	__atomic_store_n(&q->src_fn, fn, __ATOMIC_RELEASE);
	ovb_chan_kick(q->chan); /* frames may be waiting already */
	return 0;
}
