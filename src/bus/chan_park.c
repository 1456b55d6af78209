// SPDX-License-Identifier: MIT
/*
 * A polling caller that sleeps in the worker's place
 * (ovb_chan_poll_sleep): a thread that drains its channels itself
 * (ovb_chan_poll) and has nothing left to do waits for the peer's next
 * signal on the channels' own wake fds, instead of handing the rings
 * back to their workers and being woken by one of them.  One wake-up
 * per completion batch where the hand-back costs two (the worker's, then
 * the caller's; docs/remote.md, "The job thread sleeps on the ring").
 * Layer: bus.
 *
 * Contract.  While a caller sleeps so, the channel is parked: the
 * worker's poll leaves wake_fd out (it always watches park_fd), so the
 * peer's signal wakes the caller alone.  Everything that must reach the
 * worker (ovb__chan_wake: stop, hold release, a new peer fd) writes
 * park_fd too while parked, so parking loses no worker wake-up.  The
 * park itself wakes the worker once (it may sleep with wake_fd from
 * before), which may drain a signal's packets as always; the caller
 * learns of those completions from its own callbacks (its @extra_fd).
 * ovb_chan_poll_end() unparks and wakes the worker back onto wake_fd.
 * The ring is unmasked before the caller sleeps and re-checked, under
 * read_lock, as the worker does (chan_run.c): no arrival goes unsignalled.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "bus/chan_priv.h"
#include "openvmbus/log.h"

#define PARK_MAX_CHANS 16 /* channels one caller sleeps on */

void ovb__chan_unpark(struct ovb_chan *chan)
{
	uint64_t one = 1;

	if (write(chan->park_fd, &one, sizeof(one)) != sizeof(one))
		ovb_dbg("%s: park eventfd write failed", chan->name);
}

/*
 * Park @chan for a sleeping caller and unmask its ring.  Returns 1 if
 * packets are there already (poll, don't sleep), 0 to sleep, or -errno.
 */
static int chan_park(struct ovb_chan *chan)
{
	bool kick;
	int rc;

	if (ovb_chan_is_dead(chan))
		return -ECONNRESET;
	pthread_mutex_lock(&chan->read_lock);
	__atomic_store_n(&chan->polled, true, __ATOMIC_RELAXED);
	kick = !__atomic_exchange_n(&chan->parked, true, __ATOMIC_ACQ_REL);
	rc = ovb_ring_unmask_interrupts(&chan->in) ? 1 : 0;
	pthread_mutex_unlock(&chan->read_lock);
	/*
	 * A worker asleep with wake_fd in its poll() stays there while the
	 * caller takes every signal first (poll re-checks and sleeps on):
	 * it would still be woken by each.  Once, at the park, make it
	 * return (park_fd, which the caller never reads) and sleep again
	 * without wake_fd.
	 */
	if (kick)
		ovb__chan_unpark(chan);
	return rc;
}

int ovb_chan_poll_sleep(struct ovb_chan *const *chans, unsigned int n,
			int extra_fd, int timeout_ms)
{
	struct pollfd pfd[PARK_MAX_CHANS + 1];
	unsigned int live = 0;
	int rc;

	if (n > PARK_MAX_CHANS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		rc = chan_park(chans[i]);
		if (rc == -ECONNRESET)
			continue;
		if (rc)
			return rc < 0 ? rc : 0; /* arrived: poll again */
		pfd[live++] = (struct pollfd){ .fd = chans[i]->wake_fd,
					       .events = POLLIN };
	}
	if (!live)
		return -ECONNRESET;
	pfd[live] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
	rc = poll(pfd, live + 1, timeout_ms);
	if (rc <= 0)
		return rc < 0 && errno != EINTR ? -errno : 0;
	for (unsigned int i = 0, k = 0; i < n && k < live; i++) {
		uint64_t v;

		if (chans[i]->wake_fd != pfd[k].fd)
			continue; /* a dead channel left out */
		if (pfd[k].revents & POLLIN &&
		    read(pfd[k].fd, &v, sizeof(v)) > 0)
			STAT_ADD(chans[i], signals_in, 1);
		k++;
	}
	return rc;
}
