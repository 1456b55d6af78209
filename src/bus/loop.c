// SPDX-License-Identifier: MIT
/*
 * The caller-driven dispatch loop (bus/loop.h): an epoll set whose entries
 * point at sources, and the turn-taking that keeps each source's turns on
 * one thread at a time.  Layer: bus.
 *
 * Every epoll_wait() runs under the loop's lock and marks the source it
 * returns busy before the lock is dropped, so once ovb__loop_del() has
 * removed a source's fds (under the same lock) no new turn can start;
 * ovb__loop_quiesce() then waits for the one that may be running.  Entries
 * are level-triggered and fetched one at a time: a source that stays ready
 * goes to the back of epoll's ready list, which gives round robin among
 * channels, and a source busy on another thread is simply met again later.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bus/loop.h"

struct ovb__loop {
	int epfd;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a turn ended */
};

int ovb__loop_create(struct ovb__loop **out)
{
	struct ovb__loop *lp = calloc(1, sizeof(*lp));

	if (!lp)
		return -ENOMEM;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0) {
		int rc = -errno;

		free(lp);
		return rc;
	}
	pthread_mutex_init(&lp->lock, NULL);
	pthread_cond_init(&lp->idle, NULL);
	*out = lp;
	return 0;
}

void ovb__loop_destroy(struct ovb__loop *lp)
{
	if (!lp)
		return;
	close(lp->epfd);
	pthread_mutex_destroy(&lp->lock);
	pthread_cond_destroy(&lp->idle);
	free(lp);
}

int ovb__loop_fd(const struct ovb__loop *lp) { return lp->epfd; }

int ovb__loop_add(struct ovb__loop *lp, int fd, struct ovb__loop_src *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	int rc = 0;

	pthread_mutex_lock(&lp->lock);
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		rc = -errno;
	pthread_mutex_unlock(&lp->lock);
	return rc;
}

void ovb__loop_del(struct ovb__loop *lp, int fd)
{
	pthread_mutex_lock(&lp->lock);
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	pthread_mutex_unlock(&lp->lock);
}

bool ovb__loop_running_here(const struct ovb__loop_src *src)
{
	return __atomic_load_n(&src->busy, __ATOMIC_ACQUIRE) &&
	       pthread_equal(__atomic_load_n(&src->owner, __ATOMIC_RELAXED),
			     pthread_self());
}

void ovb__loop_quiesce(struct ovb__loop *lp, struct ovb__loop_src *src)
{
	pthread_mutex_lock(&lp->lock);
	while (src->busy && !pthread_equal(src->owner, pthread_self()))
		pthread_cond_wait(&lp->idle, &lp->lock);
	pthread_mutex_unlock(&lp->lock);
}

int ovb__loop_dispatch(struct ovb__loop *lp, unsigned int budget)
{
	int turns = 0;

	for (unsigned int i = 0; i < budget; i++) {
		struct ovb__loop_src *src;
		struct epoll_event ev;

		pthread_mutex_lock(&lp->lock);
		if (epoll_wait(lp->epfd, &ev, 1, 0) != 1) {
			pthread_mutex_unlock(&lp->lock);
			break;
		}
		src = ev.data.ptr;
		if (src->busy) {
			/* Its turn runs on another thread; it stays ready. */
			pthread_mutex_unlock(&lp->lock);
			continue;
		}
		__atomic_store_n(&src->owner, pthread_self(), __ATOMIC_RELAXED);
		/* Release: pairs with the acquire in ovb__loop_running_here. */
		__atomic_store_n(&src->busy, true, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&lp->lock);
		src->run(src);
		pthread_mutex_lock(&lp->lock);
		__atomic_store_n(&src->busy, false, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&lp->idle);
		pthread_mutex_unlock(&lp->lock);
		turns++;
	}
	return turns;
}
