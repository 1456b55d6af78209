// SPDX-License-Identifier: MIT
/*
 * Caller-driven dispatch for the server: the threading choice, the fd an
 * embedder waits on and the call that takes the turns, and the monitor
 * page's scan as a timerfd in that loop.  The channels' turns are in
 * chan_run.c, the loop itself in loop.c.  Layer: bus.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bus/server_priv.h"
#include "openvmbus/log.h"

#define DISPATCH_BUDGET 64 /* turns per ovb_server_dispatch(srv, 0) */

int ovb_server_set_threading(struct ovb_server *srv,
			     enum ovb_server_threading mode)
{
	int rc = 0;

	if (mode != OVB_SERVER_THREADS && mode != OVB_SERVER_CALLER)
		return -EINVAL;
	pthread_mutex_lock(&srv->lock);
	if (srv->next_id != 1) {
		rc = -EBUSY; /* a partition joined: its channels chose */
	} else if (mode == OVB_SERVER_CALLER) {
		if (!srv->loop)
			rc = ovb__loop_create(&srv->loop);
	} else {
		ovb__loop_destroy(srv->loop);
		srv->loop = NULL;
	}
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

int ovb_server_dispatch_fd(const struct ovb_server *srv)
{
	return srv->loop ? ovb__loop_fd(srv->loop) : -EINVAL;
}

int ovb_server_dispatch(struct ovb_server *srv, unsigned int budget)
{
	if (!srv->loop)
		return -EINVAL;
	return ovb__loop_dispatch(srv->loop, budget ? budget : DISPATCH_BUDGET);
}

/* ---- the monitor scan ------------------------------------------------------ */

static void monitor_turn(struct ovb__loop_src *src)
{
	struct ovb_partition *part = (struct ovb_partition *)(void *)
		((char *)src - offsetof(struct ovb_partition, monitor_src));
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	uint64_t ticks;

	if (read(part->monitor_tfd, &ticks, sizeof(ticks)) < 0 &&
	    errno != EAGAIN)
		ovb_dbg("%s: monitor timerfd: %s", part->name, strerror(errno));
	ovb__srv_lock(part);
	ovb__srv_monitor_scan(part);
	/* No monitored channel open: no scans until one opens again. */
	if (part->monitor_armed && !ovb__srv_monitor_needed(part)) {
		timerfd_settime(part->monitor_tfd, 0, &off, NULL);
		part->monitor_armed = false;
	}
	ovb__srv_unlock(part);
}

void ovb__srv_loop_monitor_arm(struct ovb_partition *part)
{
	const struct itimerspec every = {
		{ 0, MONITOR_SCAN_US * 1000 }, { 0, MONITOR_SCAN_US * 1000 } };
	int fd, rc;

	if (part->monitor_armed)
		return;
	if (part->monitor_tfd < 0) {
		fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (fd < 0) {
			ovb_warn("%s: no timerfd for the monitor page: %s",
				 part->name, strerror(errno));
			return;
		}
		part->monitor_src.run = monitor_turn;
		rc = ovb__loop_add(part->srv->loop, fd, &part->monitor_src);
		if (rc) {
			ovb_warn("%s: cannot watch the monitor timerfd: %s",
				 part->name, strerror(-rc));
			close(fd);
			return;
		}
		part->monitor_tfd = fd;
	}
	if (timerfd_settime(part->monitor_tfd, 0, &every, NULL) == 0)
		part->monitor_armed = true;
}

void ovb__srv_loop_monitor_stop(struct ovb_partition *part)
{
	if (part->monitor_tfd < 0)
		return;
	ovb__loop_del(part->srv->loop, part->monitor_tfd);
	ovb__loop_quiesce(part->srv->loop, &part->monitor_src);
	close(part->monitor_tfd);
	part->monitor_tfd = -1;
}
