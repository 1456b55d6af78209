// SPDX-License-Identifier: MIT
/*
 * FUSE over io_uring, the queue thread's adaptive spin (see fuse_ring.c).
 *
 * Who reaps: with few requests at the host (FU_SPIN_INFLIGHT), the queue
 * thread polls storvsc for their completions itself for a bounded time
 * before it sleeps (adaptive: about twice the longest recent wait, at most
 * spin_us; after a run of misses it sleeps through some rounds before it
 * tries again), so a lone request costs no wake-up of a channel worker
 * and none of this thread.  Polling masks the host's signals, so the
 * channel worker stays asleep meanwhile; ovb_storvsc_poll_end() before
 * the thread sleeps hands the channels back to it.  With more at the
 * host the thread sleeps: a worker's drain then completes a batch per
 * wake-up.  In polling mode (--storage-poll) a queue with requests at the
 * host always polls.  Layer: frontend.
 */
#include <sched.h>

#include "frontend/fuse_ring_priv.h"
#include "openvmbus/deadline.h"

/* Whether a queue with @more requests about to go out will spin. */
bool ovb__fu_will_spin(const struct fu_queue *q, unsigned int more)
{
	return q->r->spin_us && !q->r->poll && !q->spin_pause &&
	       q->inflight + more <= FU_SPIN_INFLIGHT;
}

static void fu_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * A spin met a completion after @us: aim at about twice the longest
 * recent wait (a peak that decays by 1/16 per hit), so that a host whose
 * answers come either at once or after its worker's wake-up is waited
 * for either way, and never less than FU_SPIN_MIN: a spin that long
 * costs less than the two wake-ups (~60 us each on an idle core) that
 * sleeping would.
 */
static void fu_spin_hit(struct fu_queue *q, uint64_t us)
{
	uint64_t b;

	q->spin_hits++;
	q->spin_misses = 0;
	q->spin_peak -= q->spin_peak / 16;
	if (us > q->spin_peak)
		q->spin_peak = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	b = 2ull * q->spin_peak;
	if (b < FU_SPIN_MIN)
		b = FU_SPIN_MIN;
	q->spin_budget = (uint32_t)(b > q->r->spin_us ? q->r->spin_us : b);
}

/* A spin met nothing: try longer next time; after a run of misses at the
 * longest, stop spinning for a while (the host is slower than a wake-up). */
static void fu_spin_miss(struct fu_queue *q)
{
	uint32_t max = q->r->spin_us;

	q->spin_miss_total++;
	if (q->spin_budget < max) {
		q->spin_budget = q->spin_budget * 2 > max ? max
							  : q->spin_budget * 2;
		return;
	}
	if (++q->spin_misses < FU_SPIN_MISSES)
		return;
	q->spin_misses = 0;
	q->spin_peak = 0;
	q->spin_pause = FU_SPIN_PAUSE;
}

/* Whether this round spins (interrupt mode): few at the host, no pause. */
bool ovb__fu_spin_now(struct fu_queue *q)
{
	if (q->spin_pause && q->inflight <= FU_SPIN_INFLIGHT) {
		q->spin_pause--;
		return false;
	}
	return ovb__fu_will_spin(q, 0);
}

/*
 * Poll storvsc for the completions of our requests, up to the budget.
 * True if work came: a completion (of ours: storvsc may run other
 * queues' callbacks here too, which go to their lists) or a new request
 * from the kernel.  False: sleep.  Yields the CPU every FU_SPIN_YIELD_US
 * (the spinning contract of src/bus/chan_run.c).
 */
bool ovb__fu_spin(struct fu_queue *q)
{
	uint64_t start = ovb_now_us(), t, yielded = 0;

	q->masked = true;
	for (unsigned int i = 1;; i++) {
		if (ovb_storvsc_poll(q->polled) < 0)
			return false; /* gone: the failing thread completes */
		if (__atomic_load_n(&q->done, __ATOMIC_ACQUIRE)) {
			fu_spin_hit(q, ovb_now_us() - start);
			return true;
		}
		if (io_uring_cq_ready(&q->ring))
			return true;
		fu_cpu_relax();
		if (i % 8)
			continue;
		t = ovb_now_us() - start;
		/* Give way: the host's worker, loop's and fio's threads may
		 * be waiting for this core (two cores, more threads). */
		if (t - yielded >= FU_SPIN_YIELD_US) {
			sched_yield();
			yielded = t;
		}
		if (t >= q->spin_budget) {
			fu_spin_miss(q);
			return false;
		}
	}
}
