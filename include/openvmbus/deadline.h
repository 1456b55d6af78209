/* SPDX-License-Identifier: MIT */
/*
 * Deadlines and timed waits on CLOCK_MONOTONIC, written once: a deadline
 * is a struct timespec on that clock, and every condition variable that
 * is waited on with one is made with ovb_cond_init().  A wall-clock step
 * (NTP, settimeofday) can then neither cut a wait short nor stretch it.
 * Layer: core.
 */
#ifndef OPENVMBUS_DEADLINE_H
#define OPENVMBUS_DEADLINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api.h"

/** Microseconds on CLOCK_MONOTONIC (for spins and rates, not dates). */
OVB_API
uint64_t ovb_now_us(void);

/**
 * Nanoseconds since the epoch on CLOCK_REALTIME: a date for records
 * (capture timestamps), never the base of a wait.
 */
OVB_API
uint64_t ovb_wall_ns(void);

/** @t += @ms milliseconds (@ms >= 0), normalised. */
OVB_API
void ovb_ts_add_ms(struct timespec *t, long ms);

/** True if @a is at or after @b. */
OVB_API
bool ovb_ts_reached(const struct timespec *a, const struct timespec *b);

/** *@dl = now + @ms on CLOCK_MONOTONIC. */
OVB_API
void ovb_deadline_ms(struct timespec *dl, long ms);

/** Milliseconds left until @dl, rounded down; 0 once it passed. */
OVB_API
long ovb_deadline_left_ms(const struct timespec *dl);

/** True once @dl has passed. */
OVB_API
bool ovb_deadline_passed(const struct timespec *dl);

/** Initialise @cond for ovb_cond_timedwait() (CLOCK_MONOTONIC). */
OVB_API
void ovb_cond_init(pthread_cond_t *cond);

/**
 * pthread_cond_timedwait() until the deadline @dl (ovb_deadline_ms), on a
 * condition variable made by ovb_cond_init().  Returns 0 when woken (or
 * spuriously) and -ETIMEDOUT once @dl passed.  @mutex held.
 */
OVB_API
int ovb_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
		       const struct timespec *dl);

#endif /* OPENVMBUS_DEADLINE_H */
