// SPDX-License-Identifier: MIT
/*
 * netvsc queues drained by their sender (ovb_netvsc_poll).  A thread that
 * streams frames out of a queue -- the TAP front end's reader -- reaps
 * the host's send completions, and handles whatever else arrived on the
 * queue, in its own loop between batches, instead of having the channel
 * worker woken (or spinning) for them on the other core: one hand-off
 * less per batch.  The ring stays masked while a caller polls it, so the
 * host does not signal and the worker sleeps; the caller hands the ring
 * back (ovb_netvsc_poll_end) before it sleeps, and so does any thread
 * about to sleep for a free send buffer (pool_get), which first drains
 * the polled rings itself for a while: no completion then waits on a
 * masked ring that nobody reads.  Layer: devices.
 *
 * Contract.  Any thread may poll any queue; one drains a ring at a time
 * (ovb_chan_poll), so the receive state that netvsc keeps per queue
 * stays single-threaded.  The callbacks (rx, rxv, completions) run on
 * the polling thread.  Whether a caller polls is the channel's own flag,
 * set and cleared with the mask under the ring's lock: a thread that
 * drains another's polled ring joins it (ovb_chan_poll_join), which reads
 * nothing once that poller has handed the ring back, and
 * ovb_netvsc_poll_end always unmasks and re-checks.  A masked ring with
 * no poller and the worker asleep -- its arrivals (the host's completions,
 * the peer's ACKs) unread until the TAP next wakes the reader, a TCP
 * retransmission timeout later -- cannot arise.  (It did with a flag of
 * netvsc's own beside the mask: a poll whose flag another thread's
 * unpoll cleared just before it masked, or a reap that saw the flag just
 * before its poller ended, left the ring masked and the flag clear.)
 */
#include <errno.h>
#include <sched.h>

#include "core/spin.h"
#include "net/netvsc_priv.h"
#include "openvmbus/deadline.h"

int ovb_netvsc_poll(struct ovb_netvsc *n, unsigned int queue)
{
	struct netvsc_q *q;

	if (__atomic_load_n(&n->closing, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	q = netvsc__pick_queue(n, queue);
	if (!q->chan)
		return -ECONNRESET;
	return ovb_chan_poll(q->chan);
}

void ovb_netvsc_poll_end(struct ovb_netvsc *n, unsigned int queue)
{
	struct netvsc_q *q = netvsc__pick_queue(n, queue);

	/* Always: whoever masked it last, this unmasks and re-checks. */
	if (q->chan)
		ovb_chan_poll_end(q->chan);
}

void netvsc__unpoll_all(struct ovb_netvsc *n)
{
	unsigned int nq = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);

	/* A poller that masks after our look ends its polling itself. */
	for (unsigned int i = 0; i < nq; i++)
		if (n->q[i].chan && ovb_chan_polling(n->q[i].chan))
			ovb_chan_poll_end(n->q[i].chan);
}

/* Drain the rings callers poll; true if any was. */
static bool reap_polled(struct ovb_netvsc *n)
{
	unsigned int nq = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);
	bool any = false;

	for (unsigned int i = 0; i < nq; i++)
		if (n->q[i].chan && ovb_chan_polling(n->q[i].chan)) {
			any = true;
			ovb_chan_poll_join(n->q[i].chan);
		}
	return any;
}

int netvsc__reap_spin(struct ovb_netvsc *n, const uint32_t *word,
		      uint32_t us)
{
	uint64_t start = ovb_now_us();

	for (unsigned int i = 1;; i++) {
		if (!reap_polled(n))
			return i == 1 ? -1 : 0;
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE))
			return 1;
		ovb__cpu_relax();
		if (i % 64)
			continue;
		if (ovb_now_us() - start >= us)
			return 0;
		sched_yield(); /* the host may share this core */
	}
}
