/* SPDX-License-Identifier: MIT */
/*
 * A bounded, polite spin on one counter in memory, for a thread that would
 * otherwise sleep on a condition variable until another thread raises the
 * counter: on these machines a cross-core wake-up costs tens of
 * microseconds, a spin on shared memory a fraction of one.  The spin
 * yields the CPU every 64 rounds (a few microseconds), so the thread it
 * waits for runs at once when both share a core.  For streams (the NIC's
 * buffers), where that thread is busy producing.  Layer: core.
 */
#ifndef OVB_CORE_SPIN_H
#define OVB_CORE_SPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "openvmbus/deadline.h"

static inline void ovb__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Spin up to @us microseconds until *@word (read with acquire; the writer
 * stores it atomically) reaches @min.  True if it did.
 */
static inline bool ovb__spin_until(const uint32_t *word, uint32_t min,
				   uint32_t us)
{
	uint64_t start = 0, now;

	for (unsigned int i = 1;; i++) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) >= min)
			return true;
		ovb__cpu_relax();
		if (i % 64)
			continue;
		now = ovb_now_us();
		if (!start)
			start = now;
		else if (now - start >= us)
			return false;
		sched_yield();
	}
}

#endif
