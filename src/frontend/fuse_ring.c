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
 * A queue thread submits every request a wake-up brought before it
 * answers any (a batch for storvsc), and answers every completion in one
 * io_uring_enter.  Completions run on storvsc's threads (or, polling, on
 * this one): they go on the queue's list, and an eventfd read armed on
 * the ring wakes the thread when it sleeps.  Layer: frontend.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "frontend/fuse_ll.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

#define FU_EFD_TAG 1ull    /* user_data of the eventfd read */
#define FU_QUEUE_MAX 64    /* entries per queue at most */

struct fu_queue;

/* One registered entry: a request of the kernel's at a time. */
struct fu_ent {
	struct fuse_uring_req_header hdr; /* iov[0] */
	struct iovec iov[2];
	struct fu_queue *q;
	void *payload;                    /* iov[1], FU_MAX_WRITE bytes */
	struct ovb_storvsc_io io;         /* the fast path's request */
	uint32_t op;                      /* FUSE opcode in flight */
	int64_t res;                      /* storvsc's result */
	struct fu_ent *next;              /* on the queue's done list */
};

struct fu_queue {
	struct fu_ring *r;
	unsigned int qid;
	pthread_t t;
	bool t_on;
	struct io_uring ring;
	struct fu_ent *ents;
	pthread_mutex_t lock;        /* done list, sleeping, kicked */
	struct fu_ent *done;
	bool sleeping, kicked;
	int efd;
	uint64_t ebuf;
	unsigned int inflight;       /* at storvsc; queue thread only */
	struct ovb_storvsc *poll_s;  /* the latest request's controller */
};

struct fu_ring {
	struct fu_conn *c;
	unsigned int nq, nent;
	struct fu_queue *q;
	struct ovb_storvsc *mem;     /* held: whose guest memory */
	bool poll;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int ready, failed;  /* queues registered / failed */
};

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
	q->done = e;
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
	e = q->done;
	q->done = NULL;
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
 * request's size, and FSYNC, straight to storvsc.  True if submitted.
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
	if (ovb_storvsc_submit(f->s, &e->io))
		return false; /* the slow path says why */
	q->inflight++;
	q->poll_s = f->s;
	return true;
}

/* A request arrived in @e: submit it or answer it. */
static void fu_request(struct fu_queue *q, struct fu_ent *e)
{
	struct fuse_in_header ih;
	uint32_t payload_sz = e->hdr.ring_ent_in_out.payload_sz;
	struct fu_msg m = { 0 };

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	if (payload_sz > FU_MAX_WRITE) {
		fu_commit(q, e, -EINVAL, 0);
		return;
	}
	if (fu_fast(q, e, &ih, payload_sz))
		return;
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

static void *fu_queue_main(void *arg)
{
	struct fu_queue *q = arg;
	struct ovb_storvsc *polled = NULL; /* polled, poll_end owed */
	bool alive, efd = false;

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
		if (q->r->poll && q->inflight) {
			/* Polling: completions run here; no sleep.  The
			 * controller of the latest request is polled; the
			 * others' completions come through the done list. */
			if (polled != q->poll_s) {
				if (polled) {
					ovb_storvsc_poll_end(polled);
					ovb_storvsc_put(polled);
				}
				/* Held: its files may all close meanwhile. */
				polled = q->poll_s;
				ovb_storvsc_hold(polled);
			}
			io_uring_submit(&q->ring);
			ovb_storvsc_poll(polled);
		} else {
			if (polled) {
				ovb_storvsc_poll_end(polled);
				ovb_storvsc_put(polled);
			}
			polled = NULL;
			fu_wait(q);
		}
		alive = fu_cqes(q, &efd);
	}
	if (polled) {
		ovb_storvsc_poll_end(polled);
		ovb_storvsc_put(polled);
	}
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

int ovb__fu_ring_start(struct fu_conn *c, unsigned int ring_mib, bool poll)
{
	struct fu_ring *r = calloc(1, sizeof(*r));
	unsigned int i;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	c->ring = r;
	r->c = c;
	r->poll = poll;
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
		 "%u KiB%s%s", c->fd->dir, r->nq, r->nent, FU_MAX_WRITE >> 10,
		 r->mem ? " in guest memory" : "", poll ? ", polling" : "");
	return 0;
}
