// SPDX-License-Identifier: MIT
/*
 * The channel worker's busy spin (ovb_chan_set_busy), beside chan_run.c's
 * other spins: while the device says answers are on their way from a
 * backend of its own (a remote disk's requests at its server), the worker
 * spins after a drain instead of sleeping, so that it is up when they
 * come rather than woken from an idle core per batch (~60 us on these
 * VMs; docs/remote.md, "The busy spin").  The rules are chan_run.c's
 * contract paragraph, plus one: the device may bound the spin lower for
 * the waits at hand (its busy hook's answer) when whoever answers wakes
 * the worker anyway (RBD's librbd callback): only a wait shorter than a
 * wake-up is worth a spin there, so a spin under such a bound that meets
 * nothing also leaves the next 1, 2, 4 ... 64 drains unspun (a hit ends
 * the back-off); docs/remote.md, "RBD: a short spin".  Layer: bus.
 */
#include <sched.h>

#include "bus/chan_priv.h"
#include "core/spin.h"
#include "openvmbus/deadline.h"

enum { BUSY_HIT, BUSY_EMPTY, BUSY_CROWDED, BUSY_OUT };

/*
 * The busy spin's loop: BUSY_HIT if work arrived within @spin_us.  The
 * ring is watched all the time (a load); the device's spin hook, which
 * looks at its backend with a system call (a socket's recv), every
 * CHAN_BUSY_LOOK_US, each look followed by a yield: the server that
 * answers may want this very core.  A yield that came back late ran
 * another thread here (BUSY_CROWDED): this core is not idle, so a sleep
 * costs no wake-up from deep idle, and every further round would be
 * taken from that thread -- the spin ends.  A caller polling the channel
 * ends it too (BUSY_OUT).
 */
static int chan_spin_busy(struct ovb_chan *chan, uint32_t spin_us,
			  uint32_t gen)
{
	ovb_chan_spin_fn *hook = __atomic_load_n(&chan->spin, __ATOMIC_ACQUIRE);
	uint64_t start = ovb_now_us(), now = start, look = start;

	for (;;) {
		if (ovb_ring_peek(&chan->in) || ovb_chan_is_dead(chan))
			return BUSY_HIT;
		if (__atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED) != gen)
			return BUSY_OUT;
		if (now >= look) {
			if (hook && hook(chan, chan->ctx))
				return BUSY_HIT;
			if (now - start >= spin_us)
				return BUSY_EMPTY;
			/* A sender waiting for ring room is woken by us. */
			ovb__chan_wake_senders(chan);
			sched_yield();
			look = ovb_now_us();
			if (look - now > CHAN_SPIN_CROWDED_US) {
				/* What came while the other thread ran. */
				if (ovb_ring_peek(&chan->in) ||
				    (hook && hook(chan, chan->ctx)))
					return BUSY_HIT;
				STAT_ADD(chan, spin_crowded, 1);
				return BUSY_CROWDED;
			}
			now = look;
			look = now + CHAN_BUSY_LOOK_US;
			continue;
		}
		ovb__cpu_relax();
		now = ovb_now_us();
	}
}

/*
 * After a drain, while the device says answers are on their way (its busy
 * hook), spin for them instead of sleeping: a sleeping worker is woken
 * by the answer from an idle core, tens of microseconds per batch, and
 * the whole chain behind it waits that long.  True if work arrived within
 * the budget.  @busy says whether the device was busy (a sleep that
 * follows re-arms the budget, ovb__chan_busy_slept); @spun gets the time.
 */
bool ovb__chan_busy_spin(struct ovb_chan *chan, uint32_t gen, bool *busy,
			 uint64_t *spun)
{
	ovb_chan_busy_fn *fn = __atomic_load_n(&chan->busy, __ATOMIC_ACQUIRE);
	uint32_t max = __atomic_load_n(&chan->busy_max_us, __ATOMIC_ACQUIRE);
	uint32_t want = fn && max ? fn(chan, chan->ctx) : 0;
	bool capped;
	uint64_t t0;
	int r;

	*spun = 0;
	*busy = want != 0;
	if (!*busy)
		return false;
	/* The device's bound for these waits (ovb_chan_busy_fn). */
	capped = want < max;
	if (capped)
		max = want;
	if (max != chan->busy_cap_us) {
		/* Learnt under another bound: start over (slept re-arms). */
		chan->busy_cap_us = max;
		chan->busy_us = 0;
		chan->busy_peak = 0;
		chan->busy_backoff = chan->busy_skip = 0;
	}
	if (!chan->busy_us)
		return false;
	if (chan->busy_skip) {
		chan->busy_skip--;
		return false;
	}
	t0 = ovb_now_us();
	r = chan_spin_busy(chan, chan->busy_us > max ? max : chan->busy_us,
			   gen);
	*spun = ovb_now_us() - t0;
	STAT_ADD(chan, adapt_spin_us, *spun);
	if (r == BUSY_HIT) {
		STAT_ADD(chan, adapt_hits, 1);
		chan->busy_us = chan_peak_budget(&chan->busy_peak, *spun, max);
		chan->busy_backoff = 0;
		return true;
	}
	if (r != BUSY_EMPTY)
		return false; /* crowded, or a caller polls: no verdict */
	if (capped) {
		/*
		 * Whoever answers wakes us anyway (the device's short
		 * bound): a sleep loses nothing but a wake-up, so after a
		 * miss the next 1, 2, 4 ... drains go unspun.
		 */
		chan->busy_backoff =
		    chan->busy_backoff
			? (chan->busy_backoff * 2 > CHAN_ADAPT_BACKOFF_MAX
			       ? CHAN_ADAPT_BACKOFF_MAX
			       : chan->busy_backoff * 2)
			: 1;
		chan->busy_skip = chan->busy_backoff;
	}
	chan->busy_us /= 2;
	if (chan->busy_us < CHAN_ADAPT_MIN_US)
		chan->busy_us = 0;
	return false;
}

/*
 * The worker slept @slept_us (after @spun_us of busy spin) while the
 * device was busy: answers that came within the bound re-arm the spin;
 * later ones (a slow server, or none coming) turn it off.
 */
void ovb__chan_busy_slept(struct ovb_chan *chan, uint64_t spun_us,
			  uint64_t slept_us)
{
	uint32_t max = chan->busy_cap_us; /* the spin's, before the sleep */

	if (max && spun_us + slept_us <= max) {
		chan->busy_us = chan_peak_budget(&chan->busy_peak,
						 spun_us + slept_us, max);
		return;
	}
	chan->busy_us = 0;
	chan->busy_peak = 0;
}
