// SPDX-License-Identifier: MIT
/* The test's embedder loop for a caller-driven server (dispatch-fx.h). */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/lib/dispatch-fx.h"

struct dfx_loop {
	struct ovb_server *srv;
	pthread_t thread;
	bool stop;           /* atomic */
	unsigned long turns; /* atomic */
};

bool dfx_wanted(bool opt)
{
	const char *e = getenv("OVB_TEST_DISPATCH");

	return opt || (e && !strcmp(e, "caller"));
}

static void *dfx_main(void *arg)
{
	struct dfx_loop *lp = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	/* The dispatch fd nests in our own epoll set, as in a VMM's loop. */
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD,
				   ovb_server_dispatch_fd(lp->srv), &ev), 0);
	while (!__atomic_load_n(&lp->stop, __ATOMIC_ACQUIRE)) {
		int n;

		/* 20 ms: the stop flag is seen without a wake-up fd. */
		if (epoll_wait(ep, &ev, 1, 20) <= 0)
			continue;
		n = ovb_server_dispatch(lp->srv, 0);
		assert_true(n >= 0);
		__atomic_fetch_add(&lp->turns, (unsigned long)n,
				   __ATOMIC_RELAXED);
	}
	close(ep);
	return NULL;
}

struct dfx_loop *dfx_start(struct ovb_server *srv)
{
	assert_int_equal(ovb_server_set_threading(srv, OVB_SERVER_CALLER), 0);
	return dfx_start_again(srv);
}

struct dfx_loop *dfx_start_again(struct ovb_server *srv)
{
	struct dfx_loop *lp = calloc(1, sizeof(*lp));

	assert_non_null(lp);
	lp->srv = srv;
	assert_true(ovb_server_dispatch_fd(srv) >= 0);
	assert_int_equal(pthread_create(&lp->thread, NULL, dfx_main, lp), 0);
	return lp;
}

void dfx_stop(struct dfx_loop *lp)
{
	if (!lp)
		return;
	__atomic_store_n(&lp->stop, true, __ATOMIC_RELEASE);
	pthread_join(lp->thread, NULL);
	free(lp);
}

unsigned long dfx_turns(const struct dfx_loop *lp)
{
	return __atomic_load_n(&lp->turns, __ATOMIC_RELAXED);
}

int dfx_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
