// SPDX-License-Identifier: MIT
/*
 * storvsc, polling: caller polling (ovb_storvsc_poll() drains every channel
 * of a controller on the calling thread, so completions run there instead
 * of after a worker's wake-up) and the bounded polling wait of
 * ovb_storvsc_sync() in polling mode.  The workers' own spin is the
 * channel's (ovb_chan_set_poll(), set when a channel opens).  Layer:
 * devices (storage).
 *
 * Signalling: a channel that a caller polls keeps the host's signals
 * masked (ovb_chan_poll), which is the point: the host writes completions
 * without a system call and nobody sleeps.  ovb_storvsc_poll_end() unmasks
 * and re-checks every channel, so a worker takes over without a lost
 * wake-up.  ovb_storvsc_poll_sleep() lets the polling thread sleep on
 * the channels itself, with the workers parked.
 */
#include <errno.h>
#include <time.h>

#include "openvmbus/deadline.h"
#include "storage/storvsc_priv.h"

int ovb_storvsc_poll(struct ovb_storvsc *s)
{
	struct svsc_poll_count c;
	unsigned int live = 0;
	uint64_t n;

	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	ovb__svsc_count_begin(&c, s);
	pthread_rwlock_rdlock(&s->chlock);
	for (unsigned int i = 0; i < s->nch; i++)
		if (ovb_chan_poll(s->ch[i].chan) >= 0)
			live++;
	pthread_rwlock_unlock(&s->chlock);
	n = ovb__svsc_count_end(&c);
	/* A failed channel has completed its requests with -ECONNRESET. */
	if (!live)
		return -ECONNRESET;
	return (int)n;
}

void ovb_storvsc_poll_end(struct ovb_storvsc *s)
{
	pthread_rwlock_rdlock(&s->chlock);
	for (unsigned int i = 0; i < s->nch; i++)
		ovb_chan_poll_end(s->ch[i].chan);
	pthread_rwlock_unlock(&s->chlock);
}

/*
 * A sleep holds chlock (read) so that no channel it waits on is closed
 * under it; a sub-channel's removal waits at most one slice for it.
 */
#define SVSC_SLEEP_SLICE_MS 50

int ovb_storvsc_poll_sleep(struct ovb_storvsc *s, int fd, int timeout_ms)
{
	struct ovb_chan *chans[SVSC_MAX_CH];
	unsigned int n;
	int rc;

	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	if (timeout_ms < 0 || timeout_ms > SVSC_SLEEP_SLICE_MS)
		timeout_ms = SVSC_SLEEP_SLICE_MS;
	pthread_rwlock_rdlock(&s->chlock);
	for (n = 0; n < s->nch; n++)
		chans[n] = s->ch[n].chan;
	rc = ovb_chan_poll_sleep(chans, n, fd, timeout_ms);
	pthread_rwlock_unlock(&s->chlock);
	return rc;
}

void ovb__svsc_sync_wait(struct ovb_storvsc *s, struct svsc_sync *w)
{
	uint32_t spin = s->set->cfg.poll_us;

	/* A worker must not drain its own ring from inside a callback. */
	if (spin && !ovb__svsc_on_worker()) {
		uint64_t end = ovb_now_us() + spin;

		for (unsigned int i = 1;
		     !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE); i++) {
			/* Gone: the failing thread completes the request. */
			if (ovb_storvsc_poll(s) < 0)
				break;
			if (i % 16 == 0 && ovb_now_us() >= end)
				break;
		}
		ovb_storvsc_poll_end(s);
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}
