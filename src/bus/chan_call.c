// SPDX-License-Identifier: MIT
/*
 * Synchronous tracked requests over a channel: send, wait for the
 * completion that names the request's transaction id (or drain the ring
 * on the calling thread in polling mode), copy its payload out.  A
 * request that times out is abandoned: its late completion frees the
 * state and is otherwise dropped.  Layer: bus.  Devices' control paths
 * (echo, netvsc, storvsc init) share it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openvmbus/channel.h"
#include "openvmbus/deadline.h"

struct chan_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, abandoned, failed; /* done is also read unlocked (poll) */
	uint8_t *reply;
	size_t cap, len;
};

static void call_free(struct chan_call *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

static void call_done(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	struct chan_call *c = ctx;
	bool abandoned;

	pthread_mutex_lock(&c->lock);
	abandoned = c->abandoned;
	if (!pkt) {
		c->failed = true;
	} else if (!abandoned) {
		c->len = pkt->len;
		memcpy(c->reply, pkt->data, pkt->len < c->cap ? pkt->len : c->cap);
	}
	/* Pairs with the acquire load of a polling waiter. */
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (abandoned)
		call_free(c);
}

int ovb_chan_call(struct ovb_chan *chan, const struct ovb_send *req,
		  void *reply, size_t cap, size_t *len, int timeout_ms,
		  bool poll)
{
	struct ovb_send s = *req;
	struct chan_call *c = calloc(1, sizeof(*c));
	struct timespec dl;
	int rc;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	ovb_cond_init(&c->cond);
	c->reply = reply;
	c->cap = cap;
	s.on_comp = call_done;
	s.comp_ctx = c;
	/*
	 * A caller that polls masks the ring before it sends: a reply that
	 * came before the first poll would otherwise signal the sleeping
	 * worker, which then races the caller for it (and under load wins
	 * every time, the caller's polls finding nothing).
	 */
	if (poll)
		ovb_chan_poll(chan);
	if ((rc = ovb_chan_send(chan, &s)) != 0) {
		if (poll)
			ovb_chan_poll_end(chan); /* unmasked again */
		call_free(c);
		return rc;
	}
	ovb_deadline_ms(&dl, timeout_ms);
	if (poll) {
		/* Spin on the ring ourselves; the completion runs here. */
		for (unsigned int spins = 0;
		     !__atomic_load_n(&c->done, __ATOMIC_ACQUIRE); spins++)
			if (ovb_chan_poll(chan) < 0 ||
			    (spins % 1024 == 1023 && ovb_deadline_passed(&dl)))
				break;
		ovb_chan_poll_end(chan);
	}
	rc = 0;
	pthread_mutex_lock(&c->lock);
	while (!c->done && !rc)
		rc = ovb_cond_timedwait(&c->cond, &c->lock, &dl);
	if (!c->done) {
		c->abandoned = true; /* the completion frees it */
		pthread_mutex_unlock(&c->lock);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&c->lock);
	rc = c->failed ? -ECONNRESET : 0;
	if (len)
		*len = c->len;
	call_free(c);
	return rc;
}
