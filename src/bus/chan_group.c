// SPDX-License-Identifier: MIT
/*
 * A shared worker: one thread that runs a group of channels in place of a
 * worker per channel (ovb_chan_group_create, ovb_chan_set_group).  A NIC
 * host puts the queue-N channels of every guest on one switch here, so a
 * frame from one guest to another, its completions and the replies coming
 * back are handled by one thread instead of passing between two.  Layer:
 * bus.
 *
 * One round does for each channel, in slot order, what one pass of
 * chan_worker (chan_run.c) does -- drain up to CHAN_BUDGET packets with
 * the ring masked, wake blocked senders, run the idle hook, and its extra
 * fds -- and rounds follow each other while any channel found work.  When
 * a round finds none, the worker spins adaptively over every ring (the
 * stream rule of chan_run.c, kept for the group: a sleep that ended within
 * CHAN_ADAPT_REARM_US arms a spin of CHAN_ADAPT_START_US, a hit doubles it
 * up to CHAN_ADAPT_MAX_US, a miss halves it; a member in polling mode
 * makes it at least that member's spin), then unmasks every ring and
 * re-checks them all, and only then sleeps in one poll() on every
 * channel's fds.  Rings stay masked for the whole of a busy spell, so a
 * signal a send of ours consumed while it waited for ring room on another
 * member (chan_io.c wait_for_room on the worker) cannot be lost: the
 * re-check before the sleep sees what it announced.
 *
 * Contract.  Membership, and the channel a round is running, change only
 * under the group's lock.  The worker marks a channel running while it
 * runs that channel's part of a round; ovb__group_remove (a close, a
 * rescind, a partition's end) takes the channel out of its slot and waits
 * for that mark to go, as ovb__chan_stop would join a worker, so after it
 * returns the worker never touches the channel again; from the group's
 * own thread it does not wait.  The sleep's fds are read back only under
 * the lock and only if no fd was swapped or removed since the poll set
 * was built (`gen`): a channel's fds are closed only after it left.
 * A failed channel is skipped and its fds left out of the poll set (its
 * wake fd stays readable), so a guest that corrupts its ring loses its
 * own channel and nothing of the others'.  Deliveries into a member from
 * another member's callbacks run on this thread; a device must not wait
 * there for what only this thread would do (ovb_chan_runs_here).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus/chan_priv.h"
#include "core/spin.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

struct ovb_chan_group {
	char name[16];
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a channel's part of a round ended */
	int ctl_fd;          /* eventfd: membership changed, or stop */
	pthread_t thread;
	bool stop;                                /* under lock */
	uint64_t gen;                             /* under lock: fds changed */
	struct ovb_chan *slot[OVB_CHAN_GROUP_MAX]; /* under lock */
	unsigned int nslot;       /* under lock: slots in use are below it */
	unsigned int members;     /* under lock */
	struct ovb_chan *running; /* under lock: whose part runs now */
	uint32_t adapt_us;        /* worker: the group's adaptive spin */
	struct ovb_chan_group_stats st;
};

#define GSTAT(g, f, n) __atomic_fetch_add(&(g)->st.f, (n), __ATOMIC_RELAXED)

static void group_kick(struct ovb_chan_group *g)
{
	uint64_t one = 1;

	if (write(g->ctl_fd, &one, sizeof(one)) != sizeof(one))
		ovb_dbg("group %s: control eventfd write failed", g->name);
}

/* Mark slot @i's channel running and return it, or NULL if empty. */
static struct ovb_chan *group_enter(struct ovb_chan_group *g, unsigned int i)
{
	struct ovb_chan *chan;

	pthread_mutex_lock(&g->lock);
	chan = i < g->nslot ? g->slot[i] : NULL;
	g->running = chan;
	pthread_mutex_unlock(&g->lock);
	return chan;
}

static void group_leave(struct ovb_chan_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->running = NULL;
	pthread_cond_broadcast(&g->idle);
	pthread_mutex_unlock(&g->lock);
}

/*
 * One channel's part of a round: chan_worker's pass up to its sleep.
 * Returns the packets drained (CHAN_BUDGET: more are waiting).
 */
static int group_step(struct ovb_chan *chan)
{
	ovb_chan_idle_fn *idle;
	int n;

	if (ovb_chan_is_dead(chan))
		return 0;
	if (__atomic_load_n(&chan->nxfd, __ATOMIC_ACQUIRE))
		ovb__chan_check_fds(chan);
	/* Held: left masked; ovb_chan_hold_rx(false) writes its wake fd. */
	if (__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&chan->read_lock);
	ovb_ring_mask_interrupts(&chan->in);
	n = ovb__chan_drain(chan);
	pthread_mutex_unlock(&chan->read_lock);
	idle = __atomic_load_n(&chan->idle, __ATOMIC_ACQUIRE);
	if (n < 0) {
		/* This channel alone is lost; its batch still ends here. */
		ovb_chan_fail(chan, n, "inbound ring corrupt");
		if (idle)
			idle(chan, chan->ctx);
		return 0;
	}
	ovb__chan_wake_senders(chan);
	if (idle)
		idle(chan, chan->ctx);
	return n;
}

/* True if a live, unheld member has a packet waiting (lock held). */
static bool group_peek_locked(struct ovb_chan_group *g)
{
	for (unsigned int i = 0; i < g->nslot; i++) {
		struct ovb_chan *chan = g->slot[i];

		if (chan && !ovb_chan_is_dead(chan) &&
		    !__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE) &&
		    (ovb_ring_peek(&chan->in) || chan->side_used))
			return true;
	}
	return false;
}

/* Members' spin hooks, each under its running mark.  True if work. */
static bool group_spin_hooks(struct ovb_chan_group *g, unsigned int n)
{
	bool hit = false;

	for (unsigned int i = 0; i < n && !hit; i++) {
		struct ovb_chan *chan = group_enter(g, i);
		ovb_chan_spin_fn *hook;

		if (chan && !ovb_chan_is_dead(chan) &&
		    (hook = __atomic_load_n(&chan->spin, __ATOMIC_ACQUIRE)))
			hit = hook(chan, chan->ctx);
		group_leave(g);
	}
	return hit;
}

/* The members' spin budget: the adaptive one, or a polling member's. */
static uint32_t group_spin_budget(struct ovb_chan_group *g, bool *hooks)
{
	uint32_t b = g->adapt_us;

	*hooks = false;
	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->nslot; i++) {
		struct ovb_chan *chan = g->slot[i];
		uint32_t s;

		if (!chan)
			continue;
		s = __atomic_load_n(&chan->spin_us, __ATOMIC_RELAXED);
		if (s > b)
			b = s;
		*hooks |= __atomic_load_n(&chan->spin, __ATOMIC_ACQUIRE) != NULL;
	}
	pthread_mutex_unlock(&g->lock);
	return b;
}

/* Wake every member's senders waiting for ring room. */
static void group_wake_senders(struct ovb_chan_group *g)
{
	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->nslot; i++)
		if (g->slot[i])
			ovb__chan_wake_senders(g->slot[i]);
	pthread_mutex_unlock(&g->lock);
}

/*
 * Spin over every ring (and spin hook) after a round without work, up to
 * the budget, yielding every 64 rounds as a stream channel's worker does
 * (the spinning contract of chan_run.c).  True if work came.
 */
static bool group_spin(struct ovb_chan_group *g)
{
	bool hooks, hit = false;
	uint32_t budget = group_spin_budget(g, &hooks);
	uint64_t start, spun;

	if (!budget)
		return false;
	start = ovb_now_us();
	for (unsigned int i = 1; !hit; i++) {
		pthread_mutex_lock(&g->lock);
		hit = group_peek_locked(g);
		pthread_mutex_unlock(&g->lock);
		if (hit || (hooks &&
			    (hit = group_spin_hooks(
				     g, __atomic_load_n(&g->nslot,
							__ATOMIC_RELAXED)))))
			break;
		ovb__cpu_relax();
		if (i % 64)
			continue;
		if (ovb_now_us() - start >= budget)
			break;
		group_wake_senders(g);
		sched_yield();
	}
	spun = ovb_now_us() - start;
	GSTAT(g, spin_us, spun);
	if (hit) {
		GSTAT(g, spin_hits, 1);
		g->adapt_us = g->adapt_us * 2 > CHAN_ADAPT_MAX_US
				      ? CHAN_ADAPT_MAX_US
				      : g->adapt_us ? g->adapt_us * 2
						    : CHAN_ADAPT_START_US;
	} else {
		g->adapt_us /= 2;
		if (g->adapt_us < CHAN_ADAPT_MIN_US)
			g->adapt_us = 0;
	}
	return hit;
}

/* Unmask every ring, then re-check: true if data raced in. */
static bool group_unmask(struct ovb_chan_group *g)
{
	bool more = false;

	pthread_mutex_lock(&g->lock);
	for (unsigned int i = 0; i < g->nslot; i++) {
		struct ovb_chan *chan = g->slot[i];

		if (!chan || ovb_chan_is_dead(chan) ||
		    __atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE))
			continue;
		pthread_mutex_lock(&chan->read_lock);
		more |= ovb_ring_unmask_interrupts(&chan->in);
		more |= chan->side_used > 0; /* set aside by a reap */
		pthread_mutex_unlock(&chan->read_lock);
	}
	pthread_mutex_unlock(&g->lock);
	return more;
}

struct group_pfd {
	struct pollfd pfd[1 + OVB_CHAN_GROUP_MAX * (2 + CHAN_MAX_FDS)];
	struct ovb_chan *owner[1 + OVB_CHAN_GROUP_MAX * (2 + CHAN_MAX_FDS)];
	bool signal[1 + OVB_CHAN_GROUP_MAX * (2 + CHAN_MAX_FDS)];
	unsigned int n;
};

static void pfd_add(struct group_pfd *p, int fd, struct ovb_chan *chan,
		    bool signal)
{
	if (fd < 0)
		return;
	p->pfd[p->n] = (struct pollfd){ .fd = fd, .events = POLLIN };
	p->owner[p->n] = chan;
	p->signal[p->n++] = signal;
}

/* The poll set: our control fd and every live member's fds (lock held). */
static void group_pfd_build(struct ovb_chan_group *g, struct group_pfd *p)
{
	p->n = 0;
	pfd_add(p, g->ctl_fd, NULL, false);
	for (unsigned int i = 0; i < g->nslot; i++) {
		struct ovb_chan *chan = g->slot[i];
		unsigned int nx;

		if (!chan || ovb_chan_is_dead(chan))
			continue;
		pfd_add(p, chan->wake_fd, chan, true);
		pfd_add(p, __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE),
			chan, true);
		nx = __atomic_load_n(&chan->nxfd, __ATOMIC_ACQUIRE);
		for (unsigned int k = 0; k < nx; k++)
			if (!__atomic_load_n(&chan->xoff[k], __ATOMIC_ACQUIRE))
				pfd_add(p, chan->xfd[k], chan, false);
	}
}

/*
 * Sleep on every member's fds with the rings unmasked, then consume the
 * signals that came (an extra fd is left to its channel's next part,
 * which polls it).  A sleep that was over soon arms the adaptive spin.
 */
static void group_sleep(struct ovb_chan_group *g, struct group_pfd *p)
{
	uint64_t gen, t0, slept, v;
	bool adaptive = false;

	pthread_mutex_lock(&g->lock);
	group_pfd_build(g, p);
	gen = g->gen;
	for (unsigned int i = 0; i < g->nslot; i++)
		adaptive |= g->slot[i] &&
			    __atomic_load_n(&g->slot[i]->adaptive,
					    __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g->lock);
	GSTAT(g, sleeps, 1);
	t0 = ovb_now_us();
	if (poll(p->pfd, p->n, -1) <= 0)
		return;
	slept = ovb_now_us() - t0;
	if (p->pfd[0].revents & POLLIN &&
	    read(g->ctl_fd, &v, sizeof(v)) < 0)
		ovb_dbg("group %s: control eventfd read failed", g->name);
	pthread_mutex_lock(&g->lock);
	/* An fd swapped or a member gone since the build may be closed. */
	for (unsigned int i = 1; gen == g->gen && i < p->n; i++)
		if (p->signal[i] && p->pfd[i].revents & POLLIN &&
		    read(p->pfd[i].fd, &v, sizeof(v)) > 0)
			STAT_ADD(p->owner[i], signals_in, 1);
	pthread_mutex_unlock(&g->lock);
	if (adaptive && slept <= CHAN_ADAPT_REARM_US)
		g->adapt_us = g->adapt_us < CHAN_ADAPT_START_US
				      ? CHAN_ADAPT_START_US
				      : g->adapt_us * 2 > CHAN_ADAPT_MAX_US
						? CHAN_ADAPT_MAX_US
						: g->adapt_us * 2;
}

static void *group_worker(void *arg)
{
	struct ovb_chan_group *g = arg;
	struct group_pfd *p = malloc(sizeof(*p));

	if (!p) {
		ovb_err("group %s: no memory for the poll set", g->name);
		return NULL;
	}
	for (;;) {
		unsigned int n;
		int work = 0;

		pthread_mutex_lock(&g->lock);
		n = g->nslot;
		if (g->stop) {
			pthread_mutex_unlock(&g->lock);
			break;
		}
		pthread_mutex_unlock(&g->lock);
		for (unsigned int i = 0; i < n; i++) {
			struct ovb_chan *chan = group_enter(g, i);

			if (chan)
				work += group_step(chan);
			group_leave(g);
		}
		GSTAT(g, rounds, 1);
		if (work || group_spin(g) || group_unmask(g))
			continue;
		group_sleep(g, p);
	}
	free(p);
	return NULL;
}

int ovb_chan_group_create(const char *name, struct ovb_chan_group **out)
{
	struct ovb_chan_group *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return -ENOMEM;
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "group");
	g->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->ctl_fd < 0) {
		rc = -errno;
		goto err_fd;
	}
	pthread_mutex_init(&g->lock, NULL);
	ovb_cond_init(&g->idle);
	rc = -pthread_create(&g->thread, NULL, group_worker, g);
	if (rc)
		goto err_thread;
	pthread_setname_np(g->thread, g->name); /* ps -L, /proc/PID/task */
	*out = g;
	return 0;
err_thread:
	pthread_cond_destroy(&g->idle);
	pthread_mutex_destroy(&g->lock);
	close(g->ctl_fd);
err_fd:
	free(g);
	return rc;
}

void ovb_chan_group_destroy(struct ovb_chan_group *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->members)
		ovb_warn("group %s: destroyed with %u channels in it", g->name,
			 g->members);
	g->stop = true;
	pthread_mutex_unlock(&g->lock);
	group_kick(g);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->idle);
	pthread_mutex_destroy(&g->lock);
	close(g->ctl_fd);
	free(g);
}

void ovb_chan_group_get_stats(struct ovb_chan_group *g,
			      struct ovb_chan_group_stats *st)
{
	pthread_mutex_lock(&g->lock);
	st->members = g->members;
	pthread_mutex_unlock(&g->lock);
	st->rounds = __atomic_load_n(&g->st.rounds, __ATOMIC_RELAXED);
	st->sleeps = __atomic_load_n(&g->st.sleeps, __ATOMIC_RELAXED);
	st->spin_hits = __atomic_load_n(&g->st.spin_hits, __ATOMIC_RELAXED);
	st->spin_us = __atomic_load_n(&g->st.spin_us, __ATOMIC_RELAXED);
}

int ovb_chan_set_group(struct ovb_chan *chan, struct ovb_chan_group *g)
{
	if (chan->started)
		return -EBUSY;
	if (chan->loop)
		return -EOPNOTSUPP; /* caller-driven: the embedder's threads */
	chan->group = g;
	return 0;
}

bool ovb_chan_runs_here(const struct ovb_chan *chan)
{
	return ovb__chan_on_worker(chan);
}

bool ovb__group_running_here(const struct ovb_chan *chan)
{
	return pthread_equal(pthread_self(), chan->group->thread);
}

int ovb__group_add(struct ovb_chan *chan)
{
	struct ovb_chan_group *g = chan->group;
	unsigned int i;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < OVB_CHAN_GROUP_MAX && g->slot[i]; i++)
		;
	if (i == OVB_CHAN_GROUP_MAX) {
		pthread_mutex_unlock(&g->lock);
		return -ENOSPC;
	}
	g->slot[i] = chan;
	chan->gslot = i;
	if (i >= g->nslot)
		g->nslot = i + 1;
	g->members++;
	chan->started = true;
	pthread_mutex_unlock(&g->lock);
	group_kick(g); /* a worker's first act is a drain */
	return 0;
}

void ovb__group_remove(struct ovb_chan *chan)
{
	struct ovb_chan_group *g = chan->group;
	bool self = ovb__group_running_here(chan);

	pthread_mutex_lock(&g->lock);
	if (g->slot[chan->gslot] == chan) {
		g->slot[chan->gslot] = NULL;
		g->members--;
		while (g->nslot && !g->slot[g->nslot - 1])
			g->nslot--;
	}
	g->gen++;
	while (!self && g->running == chan)
		pthread_cond_wait(&g->idle, &g->lock);
	pthread_mutex_unlock(&g->lock);
	group_kick(g); /* its fds leave the poll set */
}

void ovb__group_fds_changed(struct ovb_chan *chan)
{
	struct ovb_chan_group *g = chan->group;

	pthread_mutex_lock(&g->lock);
	g->gen++;
	pthread_mutex_unlock(&g->lock);
	group_kick(g);
}
