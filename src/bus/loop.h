/* SPDX-License-Identifier: MIT */
/*
 * The caller-driven dispatch loop: one epoll set that an embedder waits on
 * and turns through ovb_server_dispatch(), in place of the library's
 * threads.  A source is what one library thread used to run (a channel's
 * worker, a partition's monitor scanner); it owns any number of fds in the
 * set and one turn function.  Layer: bus.
 *
 * Contract.  A source's turns never overlap (it is marked busy while one
 * runs, on whichever thread called dispatch) and never sleep; a turn that
 * wants another one makes one of its fds readable (eventfd write).  After
 * ovb__loop_del() of all its fds and ovb__loop_quiesce(), the source never
 * runs again: that pair replaces "join the worker".
 */
#ifndef OVB_BUS_LOOP_H
#define OVB_BUS_LOOP_H

#include <pthread.h>
#include <stdbool.h>

struct ovb__loop;

struct ovb__loop_src {
	void (*run)(struct ovb__loop_src *src); /* one bounded turn */
	bool busy;       /* atomic; written under the loop's lock */
	pthread_t owner; /* atomic; the thread running the turn */
};

int ovb__loop_create(struct ovb__loop **out);
/* Every source must be gone. */
void ovb__loop_destroy(struct ovb__loop *lp);
int ovb__loop_fd(const struct ovb__loop *lp);

/* Watch @fd (readable) for @src.  Returns 0 or -errno. */
int ovb__loop_add(struct ovb__loop *lp, int fd, struct ovb__loop_src *src);
/* Stop watching @fd (before it is closed).  No error if it was not. */
void ovb__loop_del(struct ovb__loop *lp, int fd);
/* Wait until no other thread runs a turn of @src. */
void ovb__loop_quiesce(struct ovb__loop *lp, struct ovb__loop_src *src);
/* True if this thread runs a turn of @src right now. */
bool ovb__loop_running_here(const struct ovb__loop_src *src);

/*
 * Run at most @budget turns of ready sources, round robin; never waits.
 * Returns the number of turns run.
 */
int ovb__loop_dispatch(struct ovb__loop *lp, unsigned int budget);

#endif
