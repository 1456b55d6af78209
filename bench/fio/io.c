// SPDX-License-Identifier: MIT
/*
 * openvmbus-fio.so, I/O side: fio's units turned into storvsc requests
 * (data in guest memory, zero copy where fio's buffer layout allows it),
 * completions handed from storvsc's threads to the job thread through a
 * lock-free list, and getevents() waiting for them.
 *
 * Wake-up contract: a completion pushes onto job->done and then reads
 * job->sleeping; the job thread sets sleeping and then reads job->done,
 * both sequentially consistent, so one of the two sees the other.  The
 * completer signals under the lock, which the job thread holds from its
 * check until it waits: no wake-up is lost.  Asleep on the rings
 * (ring_wait) the job thread also watches job->efd, which the completer
 * writes too: a worker that took a signal before the rings were parked
 * runs completions the job would otherwise not hear of.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/fio/engine.h"
#include "openvmbus/vsc.h"

#define PAGE 4096u

/* ---- guest memory ------------------------------------------------------- */

static void *mem_alloc(struct ovbf_job *j, size_t len, size_t *got)
{
	void *p = NULL;
	uint64_t gpa;

	len = (len + PAGE - 1) / PAGE * PAGE;
	if (!j->conn.cl || ovb_client_alloc(j->conn.cl, len, &p, &gpa)) {
		ovbf_say("%s: guest memory exhausted (%zu bytes wanted; raise "
			 "mem=)", j->conn.spec.path, len);
		return NULL;
	}
	*got = len;
	return p;
}

void ovbf_mem_free(struct ovbf_job *j, void *p, size_t len)
{
	if (p && j->conn.cl)
		ovb_client_free(j->conn.cl, p, len);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * fio lays its units' buffers end to end, max_bs apart: with two or more
 * units the smallest gap between them is max_bs, which is how much of
 * fio's buffer each unit may touch.  Learnt once, at the first data I/O,
 * when every buffer is in place.
 */
static void zc_learn(struct ovbf_job *j)
{
	uintptr_t *p = calloc(j->nunits ? j->nunits : 1, sizeof(*p));
	size_t gap = 0;

	j->zc_known = true;
	if (!p || j->nunits < 2)
		goto out;
	for (unsigned int i = 0; i < j->nunits; i++) {
		p[i] = (uintptr_t)j->units[i]->u->buf;
		if (!p[i])
			goto out;
	}
	qsort(p, j->nunits, sizeof(*p), ptr_cmp);
	for (unsigned int i = 1; i < j->nunits; i++)
		if (!gap || p[i] - p[i - 1] < gap)
			gap = p[i] - p[i - 1];
	j->zc_len = gap;
out:
	free(p);
}

/* Move the unit's buffer into guest memory for good (zero copy). */
static void zc_adopt(struct ovbf_job *j, struct ovbf_unit *n)
{
	struct fioabi_io_u *u = n->u;
	char *g = mem_alloc(j, j->zc_len, &n->glen);

	if (!g)
		return;
	memcpy(g, u->buf, j->zc_len);
	n->gbuf = g;
	n->fio_buf = u->buf;
	u->xfer_buf = g + ((char *)u->xfer_buf - (char *)u->buf);
	u->buf = g;
	n->swapped = true;
	j->adopted++;
}

/* The guest-memory address this transfer uses, or NULL. */
static void *unit_data(struct ovbf_job *j, struct ovbf_unit *n)
{
	struct fioabi_io_u *u = n->u;
	size_t len = u->xfer_buflen;
	char *x = u->xfer_buf, *b = u->buf;

	if (!j->zc_known)
		zc_learn(j);
	if (j->zc_len && !n->swapped && !n->bbuf && x >= b &&
	    (size_t)(x - b) + len <= j->zc_len) {
		zc_adopt(j, n);
		x = u->xfer_buf;
		b = u->buf;
	}
	if (n->swapped && x >= b && (size_t)(x - b) + len <= n->glen)
		return x;
	if (n->blen < len) {
		ovbf_mem_free(j, n->bbuf, n->blen);
		n->blen = 0;
		n->bbuf = mem_alloc(j, len, &n->blen);
		if (!n->bbuf)
			return NULL;
	}
	j->bounced++;
	if (u->ddir == FIOABI_DDIR_WRITE)
		memcpy(n->bbuf, x, len);
	else
		n->bounce_to = x;
	return n->bbuf;
}

/* ---- submission --------------------------------------------------------- */

static void unit_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct ovbf_unit *n = io->ctx;
	struct ovbf_job *j = n->job;

	n->res = res;
	n->next = __atomic_load_n(&j->done, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&j->done, &n->next, n, true,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
	if (__atomic_load_n(&j->sleeping, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;

		if (j->efd >= 0 && write(j->efd, &one, sizeof(one)) < 0) {
			/* the counter is set already: the job wakes anyway */
		}
		pthread_mutex_lock(&j->lock);
		pthread_cond_signal(&j->cond);
		pthread_mutex_unlock(&j->lock);
	}
}

static const struct ovbf_target *unit_target(struct ovbf_job *j,
					     const struct fioabi_io_u *u)
{
	for (unsigned int i = 0; i < j->ntargets; i++)
		if (j->targets[i].file == u->file)
			return &j->targets[i];
	return NULL;
}

static int unit_fail(struct fioabi_io_u *u, int err)
{
	u->error = (unsigned int)err;
	u->resid = u->xfer_buflen;
	return FIOABI_Q_COMPLETED;
}

int ovbf_queue(struct fioabi_td *td, struct fioabi_io_u *u)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct ovbf_unit *n = u->engine_data;
	const struct ovbf_target *t = j && n ? unit_target(j, u) : NULL;
	int rc;

	if (!t)
		return unit_fail(u, EINVAL);
	memset(&n->io, 0, sizeof(n->io));
	n->bounce_to = NULL;
	switch (u->ddir) {
	case FIOABI_DDIR_READ:
	case FIOABI_DDIR_WRITE:
		n->io.op = u->ddir == FIOABI_DDIR_READ ? OVB_STORVSC_READ
						       : OVB_STORVSC_WRITE;
		n->io.len = u->xfer_buflen;
		n->io.buf = unit_data(j, n);
		if (!n->io.buf)
			return unit_fail(u, ENOMEM);
		break;
	case FIOABI_DDIR_TRIM:
		n->io.op = OVB_STORVSC_DISCARD;
		n->io.len = u->xfer_buflen;
		break;
	case FIOABI_DDIR_SYNC:
	case FIOABI_DDIR_DATASYNC:
		n->io.op = OVB_STORVSC_FLUSH;
		break;
	default:
		return unit_fail(u, EINVAL);
	}
	n->io.lun = t->lun;
	n->io.offset = u->offset;
	n->io.done = unit_done;
	n->io.ctx = n;
	u->error = 0;
	u->resid = 0;
	__atomic_add_fetch(&j->inflight, 1, __ATOMIC_RELAXED);
	j->requests++;
	if (n->io.len >= OVBF_WAIT_BIG)
		j->big += j->big < 64;
	else
		j->big -= j->big > -64;
	rc = ovb_storvsc_submit(t->s, &n->io);
	if (rc) {
		__atomic_sub_fetch(&j->inflight, 1, __ATOMIC_RELAXED);
		return unit_fail(u, -rc);
	}
	return FIOABI_Q_QUEUED;
}

/* ---- completion --------------------------------------------------------- */

/* Fill in fio's view of a finished unit. */
static void unit_finish(struct ovbf_unit *n)
{
	struct fioabi_io_u *u = n->u;
	uint64_t moved;

	if (n->res < 0) {
		u->error = (unsigned int)-n->res;
		u->resid = u->xfer_buflen;
		return;
	}
	if (n->io.op != OVB_STORVSC_READ && n->io.op != OVB_STORVSC_WRITE)
		return;
	moved = (uint64_t)n->res < n->io.len ? (uint64_t)n->res : n->io.len;
	if (n->bounce_to)
		memcpy(n->bounce_to, n->bbuf, moved);
	u->resid = n->io.len - moved;
}

/* Take what completed (oldest first) into events[], up to @max. */
static void reap(struct ovbf_job *j, unsigned int max)
{
	struct ovbf_unit *n = __atomic_exchange_n(&j->done, NULL,
						  __ATOMIC_ACQUIRE);
	struct ovbf_unit *rev = NULL;

	while (n) { /* LIFO -> FIFO */
		struct ovbf_unit *next = n->next;

		n->next = rev;
		rev = n;
		n = next;
	}
	*j->ready_tail = rev;
	while (*j->ready_tail)
		j->ready_tail = &(*j->ready_tail)->next;
	while (j->ready && j->nevents < max) {
		n = j->ready;
		j->ready = n->next;
		if (!j->ready)
			j->ready_tail = &j->ready;
		unit_finish(n);
		j->events[j->nevents++] = n->u;
		__atomic_sub_fetch(&j->inflight, 1, __ATOMIC_RELAXED);
	}
}

/* Sleep until something completes or @deadline (NULL: forever) passes. */
static void wait_done(struct ovbf_job *j, const struct timespec *deadline)
{
	pthread_mutex_lock(&j->lock);
	__atomic_store_n(&j->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&j->done, __ATOMIC_SEQ_CST)) {
		if (deadline)
			pthread_cond_timedwait(&j->cond, &j->lock, deadline);
		else
			pthread_cond_wait(&j->cond, &j->lock);
	}
	__atomic_store_n(&j->sleeping, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&j->lock);
}

static bool passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}

/* One polling pass over every controller the job uses. */
static void poll_once(struct ovbf_job *j)
{
	for (unsigned int i = 0; i < j->ntargets; i++)
		ovb_storvsc_poll(j->targets[i].s);
}

static void poll_end(struct ovbf_job *j)
{
	for (unsigned int i = 0; i < j->ntargets; i++)
		ovb_storvsc_poll_end(j->targets[i].s);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Polling mode: the job thread drains the rings itself, so a completion
 * costs no wake-up at all.  It keeps the rings (the host's signals stay
 * masked) across getevents() calls and gives them back to the workers
 * only when nothing came for poll_us and it is about to sleep.  True if
 * something completed.
 */
static bool poll_for(struct ovbf_job *j)
{
	uint64_t budget = (uint64_t)j->conn.spec.poll_us * 1000, t0 = 0;

	j->polled = true;
	for (;;) {
		poll_once(j);
		if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
			return true;
		if (!t0)
			t0 = mono_ns();
		else if (mono_ns() - t0 >= budget)
			return false;
	}
}

/*
 * The longest sleep on the rings when fio gives no deadline: a wake-up
 * lost on the hand-over between the job thread and the workers costs
 * this much, never a hang (docs/remote.md, "`wait=auto` by direction").
 */
#define OVBF_RING_WAIT_MS 1000

/* Milliseconds until @deadline (CLOCK_REALTIME), 0 to OVBF_RING_WAIT_MS. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_REALTIME, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms > OVBF_RING_WAIT_MS)
		ms = OVBF_RING_WAIT_MS;
	return ms < 0 ? 0 : (int)ms;
}

/*
 * Interrupt mode, nothing completed (wait=job, or auto with large
 * requests): drain the rings here
 * once, and if that brings nothing, sleep on them with the workers kept
 * asleep (ovb_storvsc_poll_sleep): the host's next signal wakes this
 * thread alone, where a worker's wake-up and then ours would be two.  The
 * rings stay ours until ovbf_drain(), or a wait the other way, hands them
 * back.  One controller only (a sleep watches one); false: not used,
 * sleep the other way.
 */
static bool ring_wait(struct ovbf_job *j, const struct timespec *deadline)
{
	int w = j->conn.spec.wait;
	uint64_t v;

	if (w == OVBF_WAIT_WORKER || (w == OVBF_WAIT_AUTO && j->big <= 0) ||
	    j->ntargets != 1 || j->efd < 0)
		return false;
	j->polled = true;
	if (ovb_storvsc_poll(j->targets[0].s) < 0)
		return false; /* gone: the failing thread completes */
	if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
		return true;
	__atomic_store_n(&j->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&j->done, __ATOMIC_SEQ_CST))
		ovb_storvsc_poll_sleep(j->targets[0].s, j->efd,
				       deadline ? ms_left(deadline)
						: OVBF_RING_WAIT_MS);
	__atomic_store_n(&j->sleeping, 0, __ATOMIC_RELAXED);
	if (read(j->efd, &v, sizeof(v)) < 0) {
		/* nothing written: the rings woke us, or the time ran out */
	}
	return true;
}

/* Before sleeping: the workers take the rings back. */
static void poll_stop(struct ovbf_job *j)
{
	if (j->polled)
		poll_end(j);
	j->polled = false;
}

int ovbf_getevents(struct fioabi_td *td, unsigned int min, unsigned int max,
		   const struct timespec *t)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct timespec deadline;
	bool polling;

	if (!j)
		return -EINVAL;
	polling = j->conn.spec.poll_us && j->ntargets;
	if (max > j->nunits)
		max = j->nunits;
	if (min > max)
		min = max;
	if (t) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += t->tv_sec;
		deadline.tv_nsec += t->tv_nsec;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	j->nevents = 0;
	for (;;) {
		reap(j, max);
		if (j->nevents >= min || (t && passed(&deadline)))
			break;
		if (polling && poll_for(j))
			continue;
		if (!polling && ring_wait(j, t ? &deadline : NULL))
			continue;
		poll_stop(j);
		wait_done(j, t ? &deadline : NULL);
	}
	return (int)j->nevents;
}

struct fioabi_io_u *ovbf_event(struct fioabi_td *td, int i)
{
	struct ovbf_job *j = ovbf_job_of(td);

	return j && i >= 0 && (unsigned int)i < j->nevents ? j->events[i]
							    : NULL;
}

/* Wait (bounded) for every request of the job to come back. */
bool ovbf_drain(struct ovbf_job *j)
{
	struct timespec deadline;

	poll_stop(j);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 90; /* beyond storvsc's reset escalation */
	while (__atomic_load_n(&j->inflight, __ATOMIC_RELAXED) &&
	       !passed(&deadline)) {
		j->nevents = 0;
		reap(j, j->nunits);
		if (__atomic_load_n(&j->inflight, __ATOMIC_RELAXED))
			wait_done(j, &deadline);
	}
	return !__atomic_load_n(&j->inflight, __ATOMIC_RELAXED);
}
