// SPDX-License-Identifier: MIT
/*
 * Who runs a channel: its worker thread (the default), or turns taken in a
 * caller-driven loop (bus/loop.h) on the embedder's thread.  Both do the
 * same things in the same order -- drain with the ring masked, wake
 * blocked senders, the device's idle hook, its fds, bounded polling, the
 * hold on the inbound ring, unmask and re-check -- only the loop never
 * sleeps: what the worker would wait for makes the loop's fd readable
 * instead.  Plus the caller's own polling (ovb_chan_poll).  Layer: bus.
 *
 * Spinning contract.  A worker never spins without giving way: it yields
 * the CPU (sched_yield), so a producer that shares its core -- the peer's
 * worker, a sending thread, a bench source -- runs soon instead of after
 * a scheduler tick; on a core of its own the yield returns at once.  A
 * stream channel (ovb_chan_set_adaptive) yields every 64 rounds (a few
 * us): its producer is busy and often on the same core (bench/net: this
 * made polling mode 2x faster and halved CPU per frame).  Others yield
 * every CHAN_SPIN_YIELD_US: on a loaded machine each yield may give the
 * core away for milliseconds, and a ping-pong's next request usually
 * comes within the first interval.  It also wakes senders that wait
 * for room (they are otherwise woken only when the worker wakes).
 * Polling mode spins up to spin_us after every drain; on a stream channel
 * it is interrupt mode's adaptive spin first and a polling extension
 * after it, which alone gives way when it does not pay: the CPU is
 * wanted, or it runs out empty (chan_poll_spin).  Interrupt mode, on a
 * channel whose device asked for it (ovb_chan_set_adaptive: streams such
 * as a NIC's, not request/reply ping-pong, where the spinning worker
 * would only compete with the thread it just woke), spins adaptively: a
 * sleep that was over soon (traffic flows: the wake-up cost
 * more than a spin would have) arms a spin of CHAN_ADAPT_START_US, each
 * spin that finds work doubles it up to CHAN_ADAPT_MAX_US, and each that
 * runs out halves it until it is gone.  An idle channel therefore spins
 * once, briefly, and then sleeps (counted in `sleeps`).  Request/reply
 * channels may opt in with a bound of their own
 * (ovb_chan_set_adaptive_reply: a disk's, whose next request comes one
 * guest round trip after the reply, tens of microseconds, longer than the
 * stream rule's spins): the worker learns the gap from a reply to the
 * next request and spins twice the longest recent one, up to the bound;
 * a gap longer than the bound turns the spin off, and each spin that
 * meets nothing leaves the next 1, 2, 4 ... 64 drains unspun (bursts of
 * requests, not ping-pong).  Time spent in adaptive spins is counted
 * (`adapt_spin_us`).  A device that waits on a backend of its own (a
 * remote disk: ovb_chan_set_busy) has the worker spin after a drain
 * while answers are on their way (chan_busy.c), for twice the longest
 * recent wait (16 us up to the device's bound): it looks at the backend
 * every few microseconds and yields after every empty look, since the
 * server answering may need this very core, and ends when a yield finds
 * the core wanted (crowded: a sleep there costs no wake-up from deep
 * idle); a spin that runs out halves the budget; a sleep begun busy
 * re-arms it when the answer came within the bound.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <unistd.h>

#include "bus/chan_priv.h"
#include "core/spin.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

enum { SPIN_OUT, SPIN_HIT, SPIN_CROWDED, SPIN_EMPTY };

/*
 * Bounded spin with the inbound ring masked: SPIN_HIT if work arrived
 * within @spin_us (a packet, or the device's spin hook found some),
 * SPIN_EMPTY if the time ran out without any.  Gives up early (SPIN_OUT)
 * when a caller started polling the channel after @gen was read:
 * the caller drains the ring then, and a second spinner on this side would
 * only take a core from it.  Yields the CPU every CHAN_SPIN_YIELD_US (the
 * contract above).  With @crowd, a yield that came back late ran another
 * thread here, and if the ring is still empty then, the spin ends
 * (SPIN_CROWDED, counted in spin_crowded): there
 * are more runnable threads than CPUs, and every further round is taken
 * from one of them -- on two cores often the very producer we wait for.
 */
static int chan_spin(struct ovb_chan *chan, uint32_t spin_us, uint32_t gen,
		     bool crowd)
{
	uint64_t start = ovb_now_us(), now, yielded = start;
	/* A stream's spinner shares its core with a producer: yield often. */
	uint32_t yield_us = __atomic_load_n(&chan->adaptive, __ATOMIC_RELAXED)
				    ? 0 : CHAN_SPIN_YIELD_US;
	ovb_chan_spin_fn *hook;
	bool late = false;

	for (unsigned int i = 1;; i++) {
		if (ovb_ring_peek(&chan->in) || ovb_chan_is_dead(chan))
			return SPIN_HIT;
		if ((hook = __atomic_load_n(&chan->spin, __ATOMIC_ACQUIRE)) &&
		    hook(chan, chan->ctx))
			return SPIN_HIT;
		if (late) {
			STAT_ADD(chan, spin_crowded, 1);
			return SPIN_CROWDED;
		}
		if (__atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED) != gen)
			return SPIN_OUT;
		ovb__cpu_relax();
		if (i % 64)
			continue;
		now = ovb_now_us();
		if (now - start >= spin_us)
			return SPIN_EMPTY;
		if (now - yielded < yield_us)
			continue;
		/* A sender waiting for ring room is woken by us alone. */
		ovb__chan_wake_senders(chan);
		sched_yield();
		yielded = ovb_now_us();
		late = crowd && yielded - now > CHAN_SPIN_CROWDED_US;
	}
}

/*
 * Stream rule: work came soon after a drain (a short sleep, or a polling
 * spin that found it), so the next drain's adaptive spin should wait for
 * it: start the spin, or double it up to CHAN_ADAPT_MAX_US.
 */
static void chan_adapt_arm(struct ovb_chan *chan)
{
	chan->adapt_us = chan->adapt_us < CHAN_ADAPT_START_US
				 ? CHAN_ADAPT_START_US
				 : chan->adapt_us * 2 > CHAN_ADAPT_MAX_US
					   ? CHAN_ADAPT_MAX_US
					   : chan->adapt_us * 2;
}

/*
 * Interrupt mode's adaptive spin after a drain (the contract above): true
 * if work arrived within the current budget.  @spun gets the time spent.
 */
static bool chan_adapt_spin(struct ovb_chan *chan, uint32_t gen,
			    uint64_t *spun)
{
	uint32_t rmax = __atomic_load_n(&chan->reply_max_us, __ATOMIC_RELAXED);
	uint64_t t0;
	bool hit;

	*spun = 0;
	if (!chan->adapt_us)
		return false;
	/* Reply mode: after misses, leave a few drains unspun (backoff). */
	if (rmax && chan->adapt_skip) {
		chan->adapt_skip--;
		return false;
	}
	t0 = ovb_now_us();
	hit = chan_spin(chan, chan->adapt_us, gen, false) == SPIN_HIT;
	*spun = ovb_now_us() - t0;
	STAT_ADD(chan, adapt_spin_us, *spun);
	if (hit) {
		STAT_ADD(chan, adapt_hits, 1);
		if (rmax) {
			chan->adapt_backoff = 0;
			chan->adapt_us = chan_peak_budget(&chan->adapt_peak, *spun,
						  rmax);
		} else
			chan->adapt_us = chan->adapt_us * 2 > CHAN_ADAPT_MAX_US
						 ? CHAN_ADAPT_MAX_US
						 : chan->adapt_us * 2;
		return true;
	}
	if (rmax) {
		/* Bursts, not ping-pong: double the drains left unspun. */
		chan->adapt_backoff = chan->adapt_backoff
			? (chan->adapt_backoff * 2 > CHAN_ADAPT_BACKOFF_MAX
				   ? CHAN_ADAPT_BACKOFF_MAX
				   : chan->adapt_backoff * 2)
			: 1;
		chan->adapt_skip = chan->adapt_backoff;
	}
	chan->adapt_us /= 2;
	if (chan->adapt_us < CHAN_ADAPT_MIN_US)
		chan->adapt_us = 0;
	return false;
}

/*
 * Polling mode's spin after a drain: true if work arrived.  On a stream
 * channel (ovb_chan_set_adaptive) it begins with exactly interrupt mode's
 * adaptive spin -- same budget, same rules, same counters -- and only
 * then spins on, up to @spin_us in all, as polling: so polling mode never
 * waits less for work than interrupt mode would in the same state.  That
 * extension is the part that can take a CPU from the producer, and it
 * gives way when it does not pay: a spin that is crowded or that runs
 * out empty halves its budget (to nothing below CHAN_ADAPT_MIN_US), a
 * hit doubles it back, as does a sleep that was over soon
 * (chan_sleep_adapt).  So the extension lives while work comes within
 * it, and with more spinners than CPUs -- two guests and their host on
 * two cores -- or gaps longer than the spin it is soon gone, and the
 * worker does what interrupt mode does, adaptive spin included.  A hit
 * in the extension arms the adaptive spin as a short sleep would: the
 * work came soon, and the next drain waits for it in interrupt mode's way
 * first.
 * @spun gets the adaptive part's time (chan_sleep_adapt's reply rule).
 *
 * A request/reply channel's polling is the plain bounded spin, never
 * crowded: there the thread our yield ran is usually the caller sending
 * the next request, which is what the spin waits for.
 */
static bool chan_poll_spin(struct ovb_chan *chan, uint32_t spin_us,
			   uint32_t gen, uint64_t *spun)
{
	bool stream = __atomic_load_n(&chan->adaptive, __ATOMIC_RELAXED) &&
		      !__atomic_load_n(&chan->reply_max_us, __ATOMIC_RELAXED);
	uint32_t b;
	int r;

	*spun = 0;
	if (chan->poll_set_us != spin_us) { /* (re)set: the whole budget */
		chan->poll_set_us = spin_us;
		chan->poll_cur_us = spin_us;
	}
	if (stream && chan_adapt_spin(chan, gen, spun))
		return true;
	b = chan->poll_cur_us;
	if (b <= *spun)
		return false;
	r = chan_spin(chan, b - (uint32_t)*spun, gen, stream);
	if (r == SPIN_HIT) {
		STAT_ADD(chan, spin_hits, 1);
		chan->poll_cur_us = b * 2 > spin_us ? spin_us : b * 2;
		if (stream)
			chan_adapt_arm(chan);
		return true;
	}
	/*
	 * Crowded, or (stream) empty: spinning did not pay.  A spin cut short
	 * by a polling caller says nothing and leaves the budget.
	 */
	if (r == SPIN_CROWDED || (stream && r == SPIN_EMPTY))
		chan->poll_cur_us = b / 2 < CHAN_ADAPT_MIN_US ? 0 : b / 2;
	return false;
}

/*
 * Wait up to @timeout_ms (-1: no limit) for the channel's fds, consume its
 * signals and run the callbacks of the device's fds that are ready.
 */
static void chan_collect(struct ovb_chan *chan, int timeout_ms)
{
	struct pollfd pfd[3 + CHAN_MAX_FDS];
	unsigned int n = 0;
	unsigned int nx = __atomic_load_n(&chan->nxfd, __ATOMIC_ACQUIRE);
	uint64_t v;

	/* Parked: a sleeping caller takes the peer's signals (chan_park.c). */
	pfd[n++] = (struct pollfd){
		.fd = __atomic_load_n(&chan->parked, __ATOMIC_ACQUIRE)
			      ? -1 : chan->wake_fd,
		.events = POLLIN };
	pfd[n++] = (struct pollfd){
		.fd = __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE),
		.events = POLLIN };
	/* An fd not watched now is skipped: poll() ignores a negative one. */
	for (unsigned int i = 0; i < nx; i++)
		pfd[n++] = (struct pollfd){
			.fd = __atomic_load_n(&chan->xoff[i], __ATOMIC_ACQUIRE)
				      ? -1 : chan->xfd[i],
			.events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = chan->park_fd, .events = POLLIN };
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	if (pfd[n - 1].revents & POLLIN &&
	    read(chan->park_fd, &v, sizeof(v)) < 0) {
		/* another reader took it: nothing lost, we are awake */
	}
	/* A turn that asked for the next one is not a signal (chan_rewake). */
	for (unsigned int i = 0; i < 2; i++)
		if (pfd[i].revents & POLLIN &&
		    read(pfd[i].fd, &v, sizeof(v)) > 0 &&
		    (i || v > chan->self_wakes))
			STAT_ADD(chan, signals_in, 1);
	if (pfd[0].revents & POLLIN)
		chan->self_wakes = 0;
	for (unsigned int i = 0; i < nx; i++)
		if (pfd[2 + i].revents & POLLIN)
			chan->xfn[i](chan, chan->xfd[i], chan->ctx);
}

static void chan_sleep(struct ovb_chan *chan)
{
	chan_collect(chan, -1);
}

/*
 * The worker's sleep with the ring unmasked.  A sleep that ended soon
 * means traffic flows and the wake-up cost more than a spin: arm the
 * adaptive spin (stream mode: start or double it; reply mode: learn the
 * gap, @spun of spin before the sleep included, and turn the spin off
 * after a gap longer than the bound).  A caller polling the channel
 * keeps the worker out of its way instead.
 */
static uint64_t chan_sleep_adapt(struct ovb_chan *chan, uint64_t spun)
{
	uint32_t gen = __atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED);
	uint32_t rmax = __atomic_load_n(&chan->reply_max_us, __ATOMIC_RELAXED);
	uint64_t t0 = ovb_now_us(), slept;

	STAT_ADD(chan, sleeps, 1);
	chan_sleep(chan);
	slept = ovb_now_us() - t0;
	if (__atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED) != gen) {
		/* A caller polls now: it drains, no spin of ours. */
		if (!__atomic_load_n(&chan->adaptive, __ATOMIC_RELAXED))
			chan->adapt_us = 0;
		return slept;
	}
	/* Polling mode's budget, cut by crowding, grows back the same way. */
	if (slept <= CHAN_ADAPT_REARM_US &&
	    chan->poll_cur_us < chan->poll_set_us)
		chan->poll_cur_us =
			chan->poll_cur_us < CHAN_ADAPT_START_US
				? CHAN_ADAPT_START_US
				: chan->poll_cur_us * 2 > chan->poll_set_us
					  ? chan->poll_set_us
					  : chan->poll_cur_us * 2;
	if (!__atomic_load_n(&chan->adaptive, __ATOMIC_RELAXED)) {
		chan->adapt_us = 0;
		return slept;
	}
	if (rmax) {
		if (spun + slept > rmax) {
			chan->adapt_us = 0;
			chan->adapt_peak = 0;
			chan->adapt_skip = 0;
			chan->adapt_backoff = 0;
		} else {
			chan->adapt_us = chan_peak_budget(&chan->adapt_peak,
						  spun + slept, rmax);
		}
		return slept;
	}
	if (slept <= CHAN_ADAPT_REARM_US)
		chan_adapt_arm(chan);
	return slept;
}

void ovb__chan_wake_senders(struct ovb_chan *chan)
{
	if (!__atomic_load_n(&chan->send_waiters, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&chan->send_lock);
	pthread_cond_broadcast(&chan->send_cond);
	pthread_mutex_unlock(&chan->send_lock);
}

/* Poll the extra fds once without sleeping; calls their callbacks. */
void ovb__chan_check_fds(struct ovb_chan *chan)
{
	unsigned int nx = __atomic_load_n(&chan->nxfd, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < nx; i++) {
		struct pollfd p = { .fd = chan->xfd[i], .events = POLLIN };

		if (__atomic_load_n(&chan->xoff[i], __ATOMIC_ACQUIRE))
			continue;
		if (poll(&p, 1, 0) > 0)
			chan->xfn[i](chan, chan->xfd[i], chan->ctx);
	}
}

static void *chan_worker(void *arg)
{
	struct ovb_chan *chan = arg;

	while (!ovb_chan_is_dead(chan)) {
		uint32_t spin = __atomic_load_n(&chan->spin_us,
						__ATOMIC_RELAXED);
		uint32_t gen = __atomic_load_n(&chan->poll_gen,
					       __ATOMIC_RELAXED);
		ovb_chan_idle_fn *idle;
		uint64_t spun = 0, bspun = 0, slept;
		bool busy = false;
		int n;

		pthread_mutex_lock(&chan->read_lock);
		ovb_ring_mask_interrupts(&chan->in);
		n = ovb__chan_drain(chan);
		pthread_mutex_unlock(&chan->read_lock);
		if (n < 0) {
			ovb_chan_fail(chan, n, "inbound ring corrupt");
			/* The packets before the bad one began the device's
			 * batch (a switch batch holds locks): end it here. */
			if ((idle = __atomic_load_n(&chan->idle,
						    __ATOMIC_ACQUIRE)))
				idle(chan, chan->ctx);
			break;
		}
		ovb__chan_wake_senders(chan);
		if ((idle = __atomic_load_n(&chan->idle, __ATOMIC_ACQUIRE)))
			idle(chan, chan->ctx);
		if (n == CHAN_BUDGET || chan->side_used)
			continue; /* more, or packets a reap set aside */
		/*
		 * Held: the ring's packets are not ours to take yet.  Sleep
		 * (ring still masked: the peer need not signal) until the
		 * device releases it -- from an fd callback or another
		 * thread, both of which wake us.
		 */
		if (__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE)) {
			chan_sleep(chan);
			ovb__chan_wake_senders(chan);
			continue;
		}
		/* A spin hook watches the device's work while we are up. */
		if (!__atomic_load_n(&chan->spin, __ATOMIC_ACQUIRE))
			ovb__chan_check_fds(chan);
		if (spin && chan_poll_spin(chan, spin, gen, &spun))
			continue;
		if (!spin && ovb__chan_busy_spin(chan, gen, &busy, &bspun))
			continue; /* answers came: drain, send, spin again */
		if (!spin && chan_adapt_spin(chan, gen, &spun))
			continue; /* adapt_us stays 0 unless the device asked */
		/* Unmask, then re-check: data that raced in is read now. */
		pthread_mutex_lock(&chan->read_lock);
		bool more = ovb_ring_unmask_interrupts(&chan->in);

		pthread_mutex_unlock(&chan->read_lock);
		if (more)
			continue;
		slept = chan_sleep_adapt(chan, spun);
		if (busy)
			ovb__chan_busy_slept(chan, bspun, slept);
		ovb__chan_wake_senders(chan);
	}
	ovb__chan_wake_senders(chan);
	return NULL;
}

void ovb_chan_hold_rx(struct ovb_chan *chan, bool hold)
{
	/* Release: pairs with the acquire loads in ovb__chan_drain() and the
	 * worker loop. */
	if (__atomic_exchange_n(&chan->rx_held, hold, __ATOMIC_ACQ_REL) &&
	    !hold)
		ovb__chan_wake(chan);
}

static int chan_poll(struct ovb_chan *chan, bool join)
{
	int n;

	if (ovb_chan_is_dead(chan))
		return -ECONNRESET;
	/*
	 * Tell a spinning worker that a caller polls (chan_spin).  Only a
	 * change matters, so a plain store does; no locked instruction on
	 * the hot path.
	 */
	__atomic_store_n(&chan->poll_gen,
			 __atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	/* Nothing there and the writer already told not to signal: done. */
	if (!ovb_ring_peek(&chan->in) && ovb_ring_masked(&chan->in))
		return 0;
	if (pthread_mutex_trylock(&chan->read_lock))
		return 0; /* the worker or another poller is draining */
	/*
	 * Joining: the poller may have handed the ring back (poll_end) since
	 * the caller looked; masking it now would leave it masked with
	 * nobody to unmask it.  Under read_lock, as poll_end clears it.
	 */
	if (join && !__atomic_load_n(&chan->polled, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&chan->read_lock);
		return 0;
	}
	__atomic_store_n(&chan->polled, true, __ATOMIC_RELAXED);
	ovb_ring_mask_interrupts(&chan->in);
	n = ovb__chan_drain(chan);
	pthread_mutex_unlock(&chan->read_lock);
	if (n < 0) {
		ovb_chan_fail(chan, n, "inbound ring corrupt");
		return n;
	}
	if (n)
		STAT_ADD(chan, polled, (uint64_t)n);
	return n;
}

int ovb_chan_poll(struct ovb_chan *chan)
{
	return chan_poll(chan, false);
}

int ovb_chan_poll_join(struct ovb_chan *chan)
{
	if (!__atomic_load_n(&chan->polled, __ATOMIC_RELAXED))
		return 0;
	return chan_poll(chan, true);
}

bool ovb_chan_polling(const struct ovb_chan *chan)
{
	return __atomic_load_n(&chan->polled, __ATOMIC_RELAXED);
}

void ovb_chan_poll_end(struct ovb_chan *chan)
{
	bool more, parked;

	/*
	 * The poller may have left interrupt_mask set after the worker went
	 * to sleep: unmask and re-check, or data arriving now would never
	 * signal anyone.  `polled` goes with the mask, under the same lock
	 * (ovb_chan_poll_join).
	 */
	pthread_mutex_lock(&chan->read_lock);
	__atomic_store_n(&chan->polled, false, __ATOMIC_RELAXED);
	parked = __atomic_exchange_n(&chan->parked, false, __ATOMIC_ACQ_REL);
	more = ovb_ring_unmask_interrupts(&chan->in);
	pthread_mutex_unlock(&chan->read_lock);
	if (more)
		ovb__chan_wake(chan);
	else if (parked)
		ovb__chan_unpark(chan); /* back to wake_fd */
}

/* ---- caller-driven turns -------------------------------------------------- */

/* Ask the loop for another turn of this channel, behind the others. */
static void chan_rewake(struct ovb_chan *chan)
{
	chan->self_wakes++;
	ovb__chan_wake(chan);
}

/*
 * Bounded polling without a spin: while the channel keeps finding work, or
 * for spin_us after it last did, the ring stays masked and the channel
 * asks for another turn.  True if it did.
 */
static bool chan_step_spin(struct ovb_chan *chan, int n)
{
	uint32_t spin = __atomic_load_n(&chan->spin_us, __ATOMIC_RELAXED);
	uint32_t gen = __atomic_load_n(&chan->poll_gen, __ATOMIC_RELAXED);
	uint64_t now;

	if (!spin)
		return false;
	now = ovb_now_us();
	if (n > 0 || !chan->spin_since) {
		/* Work met during a spell is what the worker's spin finds. */
		if (n > 0 && chan->spin_since)
			STAT_ADD(chan, spin_hits, 1);
		/* A fresh spell, as the worker spins after every drain. */
		chan->spin_since = now;
		chan->spin_gen = gen;
	} else if (chan->spin_gen != gen) {
		/* A caller polls the channel now: leave the ring to it. */
		chan->spin_since = 0;
		return false;
	} else if (ovb_ring_peek(&chan->in) ||
		   (chan->spin && chan->spin(chan, chan->ctx))) {
		STAT_ADD(chan, spin_hits, 1);
		chan->spin_since = now;
	} else if (now - chan->spin_since >= spin) {
		chan->spin_since = 0;
		return false;
	}
	chan_rewake(chan);
	return true;
}

static void chan_loop_del_all(struct ovb_chan *chan)
{
	int peer = __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE);

	ovb__loop_del(chan->loop, chan->wake_fd);
	if (peer >= 0)
		ovb__loop_del(chan->loop, peer);
	for (unsigned int i = 0; i < chan->nxfd; i++)
		ovb__loop_del(chan->loop, chan->xfd[i]);
}

/*
 * A failed or stopping channel, as its worker would return: its fds leave
 * the loop now (they stay readable, and a hostile guest could otherwise
 * keep the embedder's loop spinning until the channel is closed).  An fd
 * added again by a racing EVENT_FDS makes one more turn, which lands here
 * too.  ovb__chan_stop() later finds nothing to remove.
 */
static void chan_retire(struct ovb_chan *chan)
{
	chan_loop_del_all(chan);
	ovb__chan_wake_senders(chan);
}

/*
 * One turn of a caller-driven channel: one pass of chan_worker() with
 * every sleep replaced by "wake me" (a write to wake_fd, which puts the
 * channel back in the loop's ready list behind the others).
 */
static void chan_step(struct ovb__loop_src *src)
{
	struct ovb_chan *chan = (struct ovb_chan *)(void *)
		((char *)src - offsetof(struct ovb_chan, src));
	ovb_chan_idle_fn *idle;
	bool more;
	int n;

	if (ovb_chan_is_dead(chan)) {
		chan_retire(chan);
		return;
	}
	/* Signals first: one that comes after this makes a new turn. */
	chan_collect(chan, 0);
	pthread_mutex_lock(&chan->read_lock);
	ovb_ring_mask_interrupts(&chan->in);
	n = ovb__chan_drain(chan);
	pthread_mutex_unlock(&chan->read_lock);
	if (n < 0) {
		ovb_chan_fail(chan, n, "inbound ring corrupt");
		if ((idle = __atomic_load_n(&chan->idle, __ATOMIC_ACQUIRE)))
			idle(chan, chan->ctx); /* as chan_worker */
		chan_retire(chan);
		return;
	}
	ovb__chan_wake_senders(chan);
	if ((idle = __atomic_load_n(&chan->idle, __ATOMIC_ACQUIRE)))
		idle(chan, chan->ctx);
	if (n == CHAN_BUDGET || chan->side_used) {
		chan_rewake(chan); /* more waits: after the others' turns */
		return;
	}
	/* Held: ring left masked; ovb_chan_hold_rx(false) wakes us. */
	if (__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE))
		return;
	if (chan_step_spin(chan, n))
		return;
	pthread_mutex_lock(&chan->read_lock);
	more = ovb_ring_unmask_interrupts(&chan->in);
	pthread_mutex_unlock(&chan->read_lock);
	if (more)
		chan_rewake(chan);
}

void ovb__chan_set_loop(struct ovb_chan *chan, struct ovb__loop *loop)
{
	chan->loop = loop;
	chan->src.run = chan_step;
}

/* Take the channel's fds out of the loop, then wait out a running turn. */
static void chan_unloop(struct ovb_chan *chan)
{
	chan_loop_del_all(chan);
	ovb__loop_quiesce(chan->loop, &chan->src);
}

static int chan_start_loop(struct ovb_chan *chan)
{
	int peer = __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE);
	int rc = ovb__loop_add(chan->loop, chan->wake_fd, &chan->src);

	if (!rc && peer >= 0)
		rc = ovb__loop_add(chan->loop, peer, &chan->src);
	for (unsigned int i = 0; !rc && i < chan->nxfd; i++)
		rc = ovb__loop_add(chan->loop, chan->xfd[i], &chan->src);
	if (rc) {
		chan_unloop(chan);
		return rc;
	}
	chan->started = true;
	chan_rewake(chan); /* a worker's first act is a drain */
	return 0;
}

void ovb__chan_loop_swap_fd(struct ovb_chan *chan, int old_fd, int new_fd)
{
	if (chan->group && chan->started && old_fd >= 0)
		ovb__group_fds_changed(chan); /* before @old_fd is closed */
	if (!chan->loop || !chan->started)
		return;
	if (old_fd >= 0)
		ovb__loop_del(chan->loop, old_fd);
	if (new_fd >= 0 && !ovb_chan_is_dead(chan) &&
	    ovb__loop_add(chan->loop, new_fd, &chan->src))
		ovb_warn("%s: cannot watch the new event fd", chan->name);
}

void ovb__chan_stop_runner(struct ovb_chan *chan)
{
	if (!chan->started)
		return;
	if (chan->loop)
		chan_unloop(chan);
	else if (chan->group)
		ovb__group_remove(chan);
	else if (!pthread_equal(pthread_self(), chan->worker))
		pthread_join(chan->worker, NULL);
	else
		pthread_detach(chan->worker);
}

int ovb__chan_start(struct ovb_chan *chan)
{
	int rc;

	if (chan->loop)
		return chan_start_loop(chan);
	if (chan->group)
		return ovb__group_add(chan);
	rc = pthread_create(&chan->worker, NULL, chan_worker, chan);
	if (rc)
		return -rc;
	chan->started = true;
	return 0;
}
