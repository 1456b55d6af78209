// SPDX-License-Identifier: MIT
/*
 * FUSE over io_uring for the disk: one queue per possible CPU (the kernel
 * sends a request to the queue of the CPU its caller runs on, and uses
 * the rings only once every queue has an entry registered), each with its
 * own thread and io_uring (128-byte SQEs: the command rides in the SQE).
 * An entry is a header buffer (struct fuse_uring_req_header) and a payload
 * buffer of the largest request (1 MiB) in guest memory, registered once
 * with FUSE_IO_URING_CMD_REGISTER; its completion brings a request, and
 * FUSE_IO_URING_CMD_COMMIT_AND_FETCH answers it and waits for the next.
 *
 * Aligned READ and WRITE go to storvsc with the payload buffer itself as
 * the data buffer: the kernel copies the caller's data straight into
 * guest memory and storvsc sends its pages as GPA ranges, with no bounce.
 * A queue thread hands storvsc every request a wake-up brought as one
 * batch (ovb_storvsc_submit_many: one ring update, one signal at most)
 * before it answers any, and answers every completion in one
 * io_uring_enter.  Completions run on storvsc's threads or on this one:
 * they go on the queue's list, and an eventfd read armed on the ring
 * wakes the thread when it sleeps.
 *
 * Who reaps, and when the queue thread polls storvsc itself instead of
 * sleeping: fuse_ring_spin.c.  The queue's state: fuse_ring_priv.h.
 * Layer: frontend.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "frontend/fuse_ring_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

/* Queues the kernel wants: one per possible CPU. */
static unsigned int fu_possible_cpus(void)
{
	char line[64] = "";
	unsigned int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");

	if (f) {
		if (fgets(line, sizeof(line), f)) {
			const char *last = strrchr(line, ',');
			const char *dash;

			last = last ? last + 1 : line;
			dash = strchr(last, '-');
			n = (unsigned int)strtoul(dash ? dash + 1 : last, NULL,
						  10) + 1;
		}
		fclose(f);
	}
	return n ? n : (unsigned int)sysconf(_SC_NPROCESSORS_CONF);
}

static struct io_uring_sqe *fu_sqe(struct fu_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	if (sqe)
		memset(sqe, 0, 128); /* an SQE128 slot */
	return sqe;
}

/* liburing 2.3 has no io_uring_prep_cmd: a URING_CMD on /dev/fuse. */
static void fu_prep_cmd(struct fu_queue *q, struct fu_ent *e, uint32_t op,
			uint64_t commit_id)
{
	struct io_uring_sqe *sqe = fu_sqe(q);
	struct fuse_uring_cmd_req req = { .commit_id = commit_id,
					  .qid = (uint16_t)q->qid };

	if (!sqe)
		return; /* cannot happen: one SQE per entry at most */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->r->c->devfd;
	sqe->cmd_op = op;
	sqe->addr = (uintptr_t)e->iov;
	sqe->len = 2;
	sqe->user_data = (uintptr_t)e;
	memcpy(sqe->cmd, &req, sizeof(req));
}

static void fu_arm_efd(struct fu_queue *q)
{
	struct io_uring_sqe *sqe = fu_sqe(q);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, q->efd, &q->ebuf, sizeof(q->ebuf), 0);
	sqe->user_data = FU_EFD_TAG;
}

/* Answer @e's request: @error, or @len bytes of body in the payload. */
static void fu_commit(struct fu_queue *q, struct fu_ent *e, int error,
		      uint32_t len)
{
	struct fuse_in_header ih;
	struct fuse_out_header oh;

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	oh.len = (uint32_t)sizeof(oh) + (error ? 0 : len);
	oh.error = error;
	oh.unique = ih.unique;
	memcpy(e->hdr.in_out, &oh, sizeof(oh));
	e->hdr.ring_ent_in_out.payload_sz = error ? 0 : len;
	fu_prep_cmd(q, e, FUSE_WIRE_CMD_COMMIT_AND_FETCH,
		    e->hdr.ring_ent_in_out.commit_id);
}

/* storvsc's completion, on whichever thread drained the channel. */
static void fu_io_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct fu_ent *e = io->ctx;
	struct fu_queue *q = e->q;
	bool kick;

	e->res = res;
	pthread_mutex_lock(&q->lock);
	e->next = q->done;
	/* Release: a spinning queue thread reads it without the lock. */
	__atomic_store_n(&q->done, e, __ATOMIC_RELEASE);
	kick = q->sleeping && !q->kicked;
	if (kick)
		q->kicked = true;
	pthread_mutex_unlock(&q->lock);
	if (kick) {
		uint64_t one = 1;

		if (write(q->efd, &one, sizeof(one)) != sizeof(one))
			ovb_warn("fuse: queue %u: eventfd: %s", q->qid,
				 strerror(errno));
	}
}

/* Answer the requests storvsc completed. */
static void fu_reap(struct fu_queue *q)
{
	struct fu_ent *e, *next;
	struct fuse_write_out wo = { 0 };

	pthread_mutex_lock(&q->lock);
	e = __atomic_exchange_n(&q->done, NULL, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&q->lock);
	for (; e; e = next) {
		int64_t want = (int64_t)e->io.len;

		next = e->next;
		q->inflight--;
		if (e->res < 0 || (e->op != FUSE_FSYNC && e->res != want)) {
			/* Rate-limited: a host gone fails everything. */
			ovb_peer("fuse: queue %u: %s of %lld bytes at %llu: %s",
				 q->qid, e->op == FUSE_READ ? "READ"
					 : e->op == FUSE_WRITE ? "WRITE" : "FSYNC",
				 (long long)want,
				 (unsigned long long)e->io.offset,
				 e->res < 0 ? strerror((int)-e->res)
					    : "short transfer");
			fu_commit(q, e, e->res < 0 ? ovb__fuse_errno(e->res)
						   : -EIO, 0);
		} else if (e->op == FUSE_WRITE) {
			wo.size = (uint32_t)want;
			memcpy(e->payload, &wo, sizeof(wo));
			fu_commit(q, e, 0, sizeof(wo));
		} else {
			fu_commit(q, e, 0, e->op == FUSE_READ ? (uint32_t)want
							       : 0);
		}
	}
}

/*
 * The fast path: READ/WRITE of whole blocks within the disk and one
 * request's size, and FSYNC, straight to storvsc.  True if staged for
 * fu_flush().
 */
static bool fu_fast(struct fu_queue *q, struct fu_ent *e,
		    const struct fuse_in_header *ih, uint32_t payload_sz)
{
	const struct fuse_read_in *ri = (const void *)e->hdr.op_in;
	const struct fuse_write_in *wi = (const void *)e->hdr.op_in;
	struct fd_file *f;
	uint64_t bs, mt, off, len;

	if (ih->opcode != FUSE_READ && ih->opcode != FUSE_WRITE &&
	    ih->opcode != FUSE_FSYNC)
		return false;
	if (!q->r->mem)
		return false; /* the payload is not guest memory */
	if (q->nstage >= FU_QUEUE_MAX)
		return false; /* cannot happen: one request per entry */
	/* fuse_read_in, fuse_write_in, fuse_fsync_in: fh comes first. */
	f = ovb__fu_file(q->r->c, ri->fh);
	if (!f)
		return false;
	memset(&e->io, 0, sizeof(e->io));
	e->io.lun = f->lun.lun;
	e->io.done = fu_io_done;
	e->io.ctx = e;
	e->op = ih->opcode;
	if (ih->opcode == FUSE_FSYNC) {
		e->io.op = OVB_STORVSC_FLUSH;
	} else {
		bs = f->lun.block_size;
		mt = ovb_storvsc_max_transfer(f->s);
		off = ih->opcode == FUSE_READ ? ri->offset : wi->offset;
		len = ih->opcode == FUSE_READ ? ri->size : wi->size;
		if (!len || off % bs || len % bs || len > FU_MAX_WRITE ||
		    (mt && len > mt) || off > f->lun.blocks * bs ||
		    len > f->lun.blocks * bs - off ||
		    (ih->opcode == FUSE_WRITE && payload_sz < len))
			return false;
		e->io.op = ih->opcode == FUSE_READ ? OVB_STORVSC_READ
						   : OVB_STORVSC_WRITE;
		e->io.offset = off;
		e->io.len = len;
		e->io.buf = e->payload;
	}
	/* The open file holds f->s until RELEASE, which the kernel sends
	 * only once this request is answered. */
	e->s = f->s;
	q->stage[q->nstage++] = e;
	return true;
}

/* Serve @e's request here, synchronously, and answer it. */
static void fu_slow(struct fu_queue *q, struct fu_ent *e)
{
	struct fuse_in_header ih;
	uint32_t payload_sz = e->hdr.ring_ent_in_out.payload_sz;
	struct fu_msg m = { 0 };

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	m.ih = &ih;
	m.arg = e->hdr.op_in;
	m.arg_len = FUSE_URING_OP_IN_OUT_SZ;
	m.data = e->payload;
	m.data_len = payload_sz;
	m.out = e->payload;
	m.out_cap = FU_MAX_WRITE;
	ovb__fu_dispatch(q->r->c, &m);
	if (m.error && (ih.opcode == FUSE_READ || ih.opcode == FUSE_WRITE))
		ovb_peer("fuse: queue %u: %s (slow path): %s", q->qid,
			 ih.opcode == FUSE_READ ? "READ" : "WRITE",
			 strerror(-m.error));
	fu_commit(q, e, m.error, m.out_len);
}

/* A request arrived in @e: stage it for storvsc or answer it. */
static void fu_request(struct fu_queue *q, struct fu_ent *e)
{
	struct fuse_in_header ih;
	uint32_t payload_sz = e->hdr.ring_ent_in_out.payload_sz;

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	/* Taken away from the CPU it was queued on (docs/fuse.md, QD32). */
	q->reqs++;
	q->reqs_away += (unsigned int)sched_getcpu() != q->qid;
	if (payload_sz > FU_MAX_WRITE) {
		fu_commit(q, e, -EINVAL, 0);
		return;
	}
	if (!fu_fast(q, e, &ih, payload_sz))
		fu_slow(q, e);
}


/* Drop the controller the queue polled (it stops polling first). */
static void fu_unpoll(struct fu_queue *q)
{
	if (!q->polled)
		return;
	if (q->masked)
		ovb_storvsc_poll_end(q->polled);
	q->masked = false;
	ovb_storvsc_put(q->polled);
	q->polled = NULL;
}

/*
 * Hand storvsc what the wake-up brought: one batch per run of requests
 * for the same controller (all of them, as a rule).  What storvsc refuses
 * takes the slow path, which says why.
 */
static void fu_flush(struct fu_queue *q)
{
	struct ovb_storvsc_io *ios[FU_QUEUE_MAX];
	int err[FU_QUEUE_MAX];
	unsigned int i = 0;

	while (i < q->nstage) {
		struct ovb_storvsc *s = q->stage[i]->s;
		unsigned int first = i, n = 0, ok;

		for (; i < q->nstage && q->stage[i]->s == s; i++)
			ios[n++] = &q->stage[i]->io;
		/*
		 * A queue about to spin masks the host's signals before it
		 * submits: the answers then wake no channel worker, which
		 * would race this thread for them.
		 */
		if (s == q->polled && ovb__fu_will_spin(q, n)) {
			ovb_storvsc_poll(s);
			q->masked = true;
		}
		ok = ovb_storvsc_submit_many(s, ios, n, err);
		q->inflight += ok;
		if (ok && q->polled != s) {
			/* Held by its open file now; ours from here. */
			fu_unpoll(q);
			ovb_storvsc_hold(s);
			q->polled = s;
		}
		for (unsigned int k = 0; ok < n && k < n; k++)
			if (err[k])
				fu_slow(q, q->stage[first + k]);
	}
	q->nstage = 0;
}
/* Take the completions; false once the connection is gone. */
static bool fu_cqes(struct fu_queue *q, bool *efd_fired)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	bool alive = true;

	io_uring_for_each_cqe(&q->ring, head, cqe) {
		n++;
		if (cqe->user_data == FU_EFD_TAG) {
			*efd_fired = true;
			continue;
		}
		if (cqe->res < 0) {
			/* ENOTCONN, ECONNABORTED, ECANCELED: the end. */
			if (cqe->res != -ENOTCONN &&
			    cqe->res != -ECONNABORTED &&
			    cqe->res != -ECANCELED)
				ovb_warn("fuse: queue %u: %s", q->qid,
					 strerror(-cqe->res));
			alive = false;
			continue;
		}
		fu_request(q, (struct fu_ent *)(uintptr_t)cqe->user_data);
	}
	io_uring_cq_advance(&q->ring, n);
	fu_flush(q);
	return alive;
}

/* Sleep until a CQE comes, unless completions wait to be answered. */
static void fu_wait(struct fu_queue *q)
{
	bool idle;

	pthread_mutex_lock(&q->lock);
	idle = !q->done;
	q->sleeping = idle;
	pthread_mutex_unlock(&q->lock);
	if (idle)
		io_uring_submit_and_wait(&q->ring, 1);
	else
		io_uring_submit(&q->ring);
	pthread_mutex_lock(&q->lock);
	q->sleeping = false;
	q->kicked = false;
	pthread_mutex_unlock(&q->lock);
}

static void fu_queue_ready(struct fu_queue *q, bool ok)
{
	pthread_mutex_lock(&q->r->lock);
	if (ok)
		q->r->ready++;
	else
		q->r->failed++;
	pthread_cond_broadcast(&q->r->cond);
	pthread_mutex_unlock(&q->r->lock);
}

/*
 * Run on the CPU whose requests this queue gets (--fuse-pin; best
 * effort).  The kernel queues a request on the queue of the CPU that
 * issued it and wakes the queue's thread from there.  Not the default:
 * a pinned thread cannot leave a CPU that other work holds, and on a
 * loaded machine it lost three pairs of three at QD32 in one run and
 * split in another (docs/fuse.md, "QD32: requests behind a busy CPU").
 * A CPU outside the process's allowed set (taskset, cpusets) is left
 * alone.
 */
static void fu_pin(struct fu_queue *q)
{
	cpu_set_t set;
	int rc;

	if (q->qid >= CPU_SETSIZE)
		return;
	if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0 &&
	    !CPU_ISSET(q->qid, &set)) {
		ovb_dbg("fuse: queue %u: CPU %u not allowed, not pinned",
			q->qid, q->qid);
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(q->qid, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc)
		ovb_dbg("fuse: queue %u: not pinned: %s", q->qid,
			  strerror(rc));
}

static void *fu_queue_main(void *arg)
{
	struct fu_queue *q = arg;
	bool alive, efd = false;
	char name[16];

	snprintf(name, sizeof(name), "ovb-fuseq%u", q->qid);
	pthread_setname_np(pthread_self(), name);
	if (q->r->pin)
		fu_pin(q);
	q->spin_budget = q->r->spin_us;
	for (unsigned int i = 0; i < q->r->nent; i++)
		fu_prep_cmd(q, &q->ents[i], FUSE_WIRE_CMD_REGISTER, 0);
	fu_arm_efd(q);
	io_uring_submit(&q->ring);
	/* A refused REGISTER completes at once; a good one waits. */
	alive = fu_cqes(q, &efd);
	fu_queue_ready(q, alive);
	while (alive) {
		fu_reap(q);
		if (efd) {
			efd = false;
			fu_arm_efd(q);
		}
		if (q->inflight && q->polled && q->r->poll) {
			/* Polling mode: completions run here; no sleep.  The
			 * latest batch's controller is polled; the others'
			 * completions come through the done list. */
			io_uring_submit(&q->ring);
			q->masked = true;
			ovb_storvsc_poll(q->polled);
		} else if (q->inflight && q->polled && ovb__fu_spin_now(q)) {
			/* The answers of the last round go out first. */
			if (io_uring_sq_ready(&q->ring))
				io_uring_submit(&q->ring);
			if (!ovb__fu_spin(q)) {
				ovb_storvsc_poll_end(q->polled);
				q->masked = false;
				fu_wait(q);
			}
		} else {
			if (q->masked)
				ovb_storvsc_poll_end(q->polled);
			q->masked = false;
			fu_wait(q);
		}
		alive = fu_cqes(q, &efd);
	}
	fu_unpoll(q);
	if (q->reqs)
		ovb_dbg("fuse: queue %u: %llu requests, %llu of them taken on "
			"another CPU", q->qid, (unsigned long long)q->reqs,
			(unsigned long long)q->reqs_away);
	if (q->spin_hits + q->spin_miss_total)
		ovb_dbg("fuse: queue %u: spins met %llu completions, missed "
			  "%llu", q->qid, (unsigned long long)q->spin_hits,
			  (unsigned long long)q->spin_miss_total);
	/* The payloads are storvsc's buffers until it is done with them;
	 * a silent host is failed by ovb_storvsc_abort() at stop. */
	while (q->inflight) {
		fu_reap(q);
		if (q->inflight)
			usleep(1000);
	}
	return NULL;
}

static void fu_queue_free(struct fu_ring *r, struct fu_queue *q)
{
	if (q->ents) {
		for (unsigned int i = 0; i < r->nent; i++) {
			if (!q->ents[i].payload)
				continue;
			if (r->mem)
				ovb_storvsc_free(r->mem, q->ents[i].payload,
						 FU_MAX_WRITE);
			else
				free(q->ents[i].payload);
		}
		free(q->ents);
	}
	if (q->ring.ring_fd > 0)
		io_uring_queue_exit(&q->ring);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->lock);
}

static int fu_queue_init(struct fu_ring *r, struct fu_queue *q,
			 unsigned int qid)
{
	q->r = r;
	q->qid = qid;
	q->efd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&q->lock, NULL);
	q->ents = calloc(r->nent, sizeof(*q->ents));
	if (q->efd < 0 || !q->ents)
		return -ENOMEM;
	if (io_uring_queue_init(r->nent + 2, &q->ring, IORING_SETUP_SQE128))
		return -ENOMEM;
	for (unsigned int i = 0; i < r->nent; i++) {
		struct fu_ent *e = &q->ents[i];

		e->q = q;
		e->payload = r->mem ? ovb_storvsc_alloc(r->mem, FU_MAX_WRITE)
				    : aligned_alloc(4096, FU_MAX_WRITE);
		if (!e->payload)
			return -ENOMEM;
		e->iov[0] = (struct iovec){ &e->hdr, sizeof(e->hdr) };
		e->iov[1] = (struct iovec){ e->payload, FU_MAX_WRITE };
	}
	return 0;
}

void ovb__fu_ring_free(struct fu_conn *c)
{
	struct fu_ring *r = c->ring;

	if (!r)
		return;
	for (unsigned int i = 0; i < r->nq; i++)
		fu_queue_free(r, &r->q[i]);
	free(r->q);
	if (r->mem)
		ovb_storvsc_put(r->mem);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	c->ring = NULL;
}

bool ovb__fu_ring_join(struct fu_conn *c, long ms)
{
	struct fu_ring *r = c->ring;
	struct timespec dl;

	ovb_deadline_ms(&dl, ms);
	for (unsigned int i = 0; r && i < r->nq; i++) {
		if (!r->q[i].t_on)
			continue;
		if (pthread_clockjoin_np(r->q[i].t, NULL, CLOCK_MONOTONIC, &dl))
			return false;
		r->q[i].t_on = false;
	}
	return true;
}

/* Wait (2 s at most) until every queue registered or one failed. */
static int fu_ring_wait(struct fu_ring *r)
{
	struct timespec dl;
	int rc = 0;

	ovb_deadline_ms(&dl, 2000);
	pthread_mutex_lock(&r->lock);
	while (r->ready + r->failed < r->nq && rc == 0)
		rc = pthread_cond_clockwait(&r->cond, &r->lock, CLOCK_MONOTONIC,
					    &dl);
	rc = r->failed ? -EOPNOTSUPP : r->ready < r->nq ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int ovb__fu_ring_start(struct fu_conn *c, unsigned int ring_mib,
		       const struct ovb_fuse_disk_opts *o)
{
	struct fu_ring *r = calloc(1, sizeof(*r));
	unsigned int i;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	c->ring = r;
	r->c = c;
	r->poll = o->poll;
	r->spin_us = o->spin_us < 0 ? 0 : o->spin_us ? (uint32_t)o->spin_us
						     : FU_SPIN_US;
	r->pin = o->pin;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->nq = fu_possible_cpus();
	if (r->nq > 0xffff)
		return -EINVAL;
	r->nent = ring_mib / r->nq;
	r->nent = r->nent < 1 ? 1 : r->nent > FU_QUEUE_MAX ? FU_QUEUE_MAX
							    : r->nent;
	r->q = calloc(r->nq, sizeof(*r->q));
	if (!r->q)
		return -ENOMEM;
	for (i = 0; i < r->nq; i++)
		r->q[i].efd = -1;
	/* Payloads in guest memory, if there is a controller to ask. */
	if (ovb_storvsc_get(c->fd->set, 0, &r->mem))
		r->mem = NULL;
	for (i = 0; i < r->nq && !rc; i++)
		rc = fu_queue_init(r, &r->q[i], i);
	for (i = 0; i < r->nq && !rc; i++) {
		if (pthread_create(&r->q[i].t, NULL, fu_queue_main, &r->q[i]))
			rc = -EAGAIN;
		else
			r->q[i].t_on = true;
	}
	if (!rc)
		rc = fu_ring_wait(r);
	if (rc) {
		ovb_warn("fuse: %s: io_uring queues: %s", c->fd->dir,
			 strerror(-rc));
		return rc;
	}
	ovb_info("fuse: %s: FUSE over io_uring: %u queues x %u entries of "
		 "%u KiB%s%s, spin %u us%s", c->fd->dir, r->nq, r->nent,
		 FU_MAX_WRITE >> 10, r->mem ? " in guest memory" : "",
		 r->poll ? ", polling" : "", r->spin_us,
		 r->pin ? ", pinned" : "");
	return 0;
}
