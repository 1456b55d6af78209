/* SPDX-License-Identifier: MIT */
/*
 * Asking for a cache line before it is written.  The lines of a ring, a
 * send section or a receive slot go back and forth between the two sides'
 * CPUs: the side about to write one waits for its ownership, and a write
 * prefetch a frame ahead lets that wait overlap other work.  Layer: core.
 */
#ifndef OVB_CORE_PREFETCH_H
#define OVB_CORE_PREFETCH_H

/*
 * Prefetch the line at @p for writing.  On x86-64 this is PREFETCHW,
 * emitted whatever -march says (__builtin_prefetch(p, 1) falls back to a
 * read prefetch, which fetches the line shared and leaves the ownership
 * wait to the store); processors without it execute it as a NOP (the
 * 0F 0D opcode space).  Never faults, whatever @p is.
 */
static inline void ovb__prefetchw(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

#endif
