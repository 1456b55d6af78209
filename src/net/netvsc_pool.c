// SPDX-License-Identifier: MIT
/*
 * netvsc's transmit buffer pools: the send sections and the large
 * page-buffer frames, each a free list of indices that the host's
 * completions refill.  A thread that finds none free spins a little,
 * drains the rings callers poll, then sleeps with a deadline; a source
 * on its queue's worker (netvsc_source.c) never waits: it gets -EAGAIN
 * and the next put kicks its worker.  Layer: devices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/spin.h"
#include "net/netvsc_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/vsc.h"

__thread unsigned int netvsc__in_recv;

int netvsc__pool_init(struct netvsc_pool *pl, struct ovb_netvsc *n,
		      uint32_t count, bool big)
{
	uint64_t gpa;
	int rc;

	if (!count)
		return -EINVAL;
	pl->free = calloc(count, sizeof(*pl->free));
	pl->ctx = calloc(count, sizeof(*pl->ctx));
	if (!pl->free || !pl->ctx)
		return -ENOMEM;
	if (big && (rc = ovb_client_alloc(n->cl, (size_t)count * NETVSC_BIG_SIZE,
					  (void **)&n->big, &gpa)) != 0)
		return rc;
	pthread_mutex_init(&pl->lock, NULL);
	ovb_cond_init(&pl->cond);
	for (uint32_t i = 0; i < count; i++) {
		pl->free[i] = count - 1 - i;
		pl->ctx[i] = (struct netvsc_buf){ n, i, big };
	}
	pl->n = pl->nfree = count;
	return 0;
}

void netvsc__pool_fini(struct netvsc_pool *pl)
{
	if (pl->n) {
		pthread_mutex_destroy(&pl->lock);
		pthread_cond_destroy(&pl->cond);
	}
	free(pl->free);
	free(pl->ctx);
	memset(pl, 0, sizeof(*pl));
}

/*
 * Take a free buffer.  None free: spin a little for the channel worker to
 * give one back (a sleep and wake-up per section would cost more than
 * the section's frames), then sleep until NETVSC_TIMEOUT (rings that a
 * caller polls are handed back to their workers first).  nfree is
 * written under the lock with atomic stores and read by the spin with
 * acquire loads.
 */
int netvsc__pool_get(struct netvsc_pool *pl, uint32_t *idx)
{
	struct netvsc_q *sq = netvsc__src_q;
	struct timespec dl;
	int rc = 0;

	if (sq) {
		/* A source on its worker never waits: the put kicks it. */
		pthread_mutex_lock(&pl->lock);
		if (pl->nfree) {
			__atomic_store_n(&pl->nfree, pl->nfree - 1,
					 __ATOMIC_RELAXED);
			*idx = pl->free[pl->nfree];
		} else {
			pl->src_wait |= 1u << sq->idx;
			rc = -EAGAIN;
		}
		pthread_mutex_unlock(&pl->lock);
		return rc;
	}

	/*
	 * Rings a caller polls are masked: drain them here while we spin,
	 * and before we sleep give them back to their workers, which reap
	 * and wake us.  Not from a receive callback: this thread may be the
	 * one draining such a ring (its lock held), as before it waits then.
	 */
	if (!__atomic_load_n(&pl->nfree, __ATOMIC_ACQUIRE) &&
	    (netvsc__in_recv ||
	     netvsc__reap_spin(pl->ctx[0].n, &pl->nfree, NETVSC_SPIN_US) < 0))
		ovb__spin_until(&pl->nfree, 1, NETVSC_SPIN_US);
	if (!__atomic_load_n(&pl->nfree, __ATOMIC_ACQUIRE) && !netvsc__in_recv)
		netvsc__unpoll_all(pl->ctx[0].n);
	pthread_mutex_lock(&pl->lock);
	if (!pl->nfree) {
		ovb_deadline_ms(&dl, NETVSC_TIMEOUT);
		while (!pl->nfree && !rc)
			rc = ovb_cond_timedwait(&pl->cond, &pl->lock, &dl);
	}
	if (pl->nfree) {
		__atomic_store_n(&pl->nfree, pl->nfree - 1, __ATOMIC_RELAXED);
		*idx = pl->free[pl->nfree];
		rc = 0;
	} else {
		rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&pl->lock);
	return rc;
}

void netvsc__pool_put(struct netvsc_pool *pl, uint32_t idx)
{
	struct ovb_netvsc *n = pl->ctx[0].n;
	uint32_t wait;

	pthread_mutex_lock(&pl->lock);
	pl->free[pl->nfree] = idx;
	/* Release: a spinner that sees the count sees the slot. */
	__atomic_store_n(&pl->nfree, pl->nfree + 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&pl->cond);
	wait = pl->src_wait;
	pl->src_wait = 0;
	/*
	 * Sources that found the pool empty try again on their workers.
	 * Under the lock and only while the NIC is not closing: close takes
	 * the lock once after setting closing (netvsc__pool_quiesce), so no
	 * kick reaches a channel it is closing.
	 */
	if (wait && !__atomic_load_n(&n->closing, __ATOMIC_ACQUIRE))
		for (unsigned int i = 0; wait; i++, wait >>= 1)
			if ((wait & 1) && n->q[i].chan)
				ovb_chan_kick(n->q[i].chan);
	pthread_mutex_unlock(&pl->lock);
}

void netvsc__pool_quiesce(struct netvsc_pool *pl)
{
	if (!pl->n)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->src_wait = 0;
	pthread_mutex_unlock(&pl->lock);
}

