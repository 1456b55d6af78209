// SPDX-License-Identifier: MIT
/*
 * Deadlines and timed waits on CLOCK_MONOTONIC (deadline.h): the
 * arithmetic on struct timespec and the condition variables that use that
 * clock, so no caller writes its own copy.  Layer: core.
 */
#include <errno.h>

#include "openvmbus/deadline.h"

#define NSEC_PER_SEC 1000000000L

uint64_t ovb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ovb_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ovb_ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= NSEC_PER_SEC) {
		t->tv_sec++;
		t->tv_nsec -= NSEC_PER_SEC;
	}
}

bool ovb_ts_reached(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

void ovb_deadline_ms(struct timespec *dl, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	ovb_ts_add_ms(dl, ms);
}

long ovb_deadline_left_ms(const struct timespec *dl)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(dl->tv_sec - now.tv_sec) * 1000 +
	     (dl->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

bool ovb_deadline_passed(const struct timespec *dl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ovb_ts_reached(&now, dl);
}

void ovb_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

int ovb_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
		       const struct timespec *dl)
{
	return pthread_cond_timedwait(cond, mutex, dl) == ETIMEDOUT
		       ? -ETIMEDOUT
		       : 0;
}
