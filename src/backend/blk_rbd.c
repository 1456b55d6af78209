// SPDX-License-Identifier: MIT
/*
 * The Ceph RBD block backend, data side: librbd's asynchronous calls
 * (opening is blk_rbd_open.c).  Guest pages go to librbd as iovecs
 * (rbd_aio_readv / rbd_aio_writev), FLUSH is rbd_aio_flush, DISCARD and
 * WRITE_ZEROES are rbd_aio_write_zeroes (whole objects are deallocated,
 * partial ones zeroed, so a discarded range reads zeros as LBPRZ
 * promises; a plain rbd discard may skip sub-granularity pieces).
 * Layer: backends.
 *
 * Tickets: every request goes to librbd wrapped in a ticket (struct
 * rbd_io) that librbd's callback receives.  The ticket, not the request,
 * is what librbd may touch until its callback: a READ's ticket holds its
 * own copy of the iovec array (librbd reads the array when it assembles
 * the result, not at submit), and the callback touches only the ticket
 * unless the owner still waits for it.  That is what lets a stopping
 * owner cancel (ovb_blk_queue_cancel) instead of waiting on a cluster
 * that is gone: the owner marks the ticket cancelled, points a READ's
 * iovecs at a buffer of the ticket's own, and fails the request at once;
 * the late callback, whenever it comes, frees the ticket and nothing else.
 * Writes never touch guest memory after submit: the open forces
 * rbd_disable_zero_copy_writes, so librbd copies write data at submit.
 *
 * Threads: librbd runs the callbacks on its own threads.  A callback that
 * finds its ticket still wanted records the result, pushes the ticket
 * onto its queue's lock-free completion stack and writes the queue's
 * eventfd when the stack was empty; the caller's callback runs later
 * inside ovb_blk_poll() on the queue owner's thread, as blk.h requires.
 * Unless the owner set a notify function (blk.h, "Completions on the
 * backend's thread"): the callback that finds the stack empty offers it
 * the queue first, and writes the eventfd only if the owner says no.  A
 * reap there runs on librbd's completion thread: it sends nothing to
 * librbd from it (no wait on librbd inside librbd's own callback), so
 * what its callbacks submit, and the requests it frees budget for, wait
 * in the queue for the owner's next ovb_blk_poll(), the eventfd written.
 * Only a batch that a READ opens is offered (reap=read, the default):
 * a read's answer comes alone, and waking the worker for it only adds
 * latency and a switch; writes' answers come in bursts (the OSD commits
 * them in groups) that the worker's wake-up gathers into one batch for
 * the guest, where answering each at once woke the guest, and through
 * it the worker and librbd's messenger, more often (docs/remote.md).
 * reap=librbd offers every batch, reap=owner none.  storvsp's worker
 * spins for librbd's answers as for NBD's (spin=on, the default: up to
 * 200 us); with spin=off or spin=US the disk says wakes_owner (blk.h:
 * the callback wakes the owner), and the worker sleeps for them, or
 * spins only up to US (a wait shorter than a wake-up).
 *
 * Inline dispatch: our open turns librbd's rbd_non_blocking_aio off (the
 * cache off, blk_rbd_open.c), so librbd builds and sends a request in the
 * thread that submits it instead of posting it to its own thread first.
 * What could then wait in the submitter is the Objecter's throttle on
 * operations and bytes in flight (objecter_inflight_ops, _op_bytes): a
 * budget per disk keeps our requests below half of each, and a request
 * that would cross it while others are in flight is held in its queue and
 * sent from ovb_blk_poll() when completions give budget back (the guest
 * sees no refusal: Linux turns a BUSY into an error after five retries),
 * so a queue's owner never waits on the cluster inside ovb_blk_submit(),
 * as blk.h promises.  A callback that gives budget back while requests
 * are held writes the eventfd of each queue holding some; a holder counts
 * itself (nwait) before it looks at the budget again, so a give-back
 * between its first look and its count is not missed.
 *
 * Durability: the rbd client cache is off unless the configuration turns
 * it on, so librbd completes a write once the OSDs acknowledged it.  With
 * "rbd cache = true" a write completes once cached; FLUSH (rbd_aio_flush)
 * then makes it stable and a FUA write is followed by a flush before it
 * completes.  A restarted OSD is the cluster's business: librados resends
 * the in-flight operations to it; rados_osd_op_timeout bounds how long
 * one may wait, after which it fails with an error the guest sees.
 *
 * Closing: rbd_close, rados_ioctx_destroy and rados_shutdown talk to the
 * cluster (rbd_close releases the image's exclusive lock on an OSD) and
 * block while it does not answer.  They run on a thread of their own; the
 * closer waits for it a bounded time and then leaves it to finish alone.
 * A disk with cancelled requests librbd has not returned yet is not
 * closed at all: librbd's late callbacks must find their tickets and the
 * library's state alive; the process's exit reclaims it all.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/blk_rbd.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

/* How long a closer waits for librbd before it leaves it to finish alone. */
#define RBD_CLOSE_WAIT_MS 2000

/* This thread runs a queue's notify from inside a librbd callback. */
static __thread bool rbd_in_notify;

/** Where a ticket is; changed only by compare-and-swap. */
enum rbd_io_state {
	RBD_IO_FLIGHT = 0, /**< with librbd, the owner waits for it */
	RBD_IO_DONE,	   /**< librbd answered; on the completion stack */
	RBD_IO_CANCELLING, /**< the owner is detaching it */
	RBD_IO_CANCELLED,  /**< nobody waits; the callback frees it */
};

/** One request with librbd (see "Tickets" above). */
struct rbd_io {
	struct ovb_blk_req *req;
	struct rbd_queue *rq;
	struct rbd_blk *rb;
	struct rbd_io *prev, *next; /**< the queue's in-flight list (owner) */
	struct rbd_io *done_next;   /**< completion stack link */
	void *scratch;		    /**< a cancelled READ's landing place */
	ssize_t res;		    /**< librbd's return value */
	uint64_t ops, bytes;	    /**< charged to the budget */
	int op;			    /**< enum ovb_blk_op, for librbd */
	int state;		    /**< enum rbd_io_state (atomic) */
	int iovcnt;
	struct iovec iov[];	    /**< READ: the request's, one empty more;
				     *   WRITE_SAME: the block's bytes */
};

/** A queue: tickets in flight, completions pushed by librbd's threads. */
struct rbd_queue {
	struct ovb_blk_queue q;
	struct rbd_io *flight; /**< owner only: tickets with librbd */
	struct rbd_io *done;   /**< pushed by callbacks (atomic) */
	/* Owner only: tickets held for the budget, oldest first. */
	struct rbd_io *wait_head, *wait_tail;
	struct rbd_queue *wait_next; /**< on rb->waiters (wait_lock) */
	bool wait_listed;
	unsigned busy;	       /**< callbacks still touching the queue */
};

static struct rbd_blk *rbd_of(struct ovb_blk *blk)
{
	return (struct rbd_blk *)blk;
}

/* Put @rq on its disk's list of queues holding requests, or take it off. */
static void rbd_wait_list(struct rbd_queue *rq, bool on)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct rbd_queue **pp;

	if (rq->wait_listed == on)
		return;
	pthread_mutex_lock(&rb->wait_lock);
	if (on) {
		rq->wait_next = rb->waiters;
		rb->waiters = rq;
	} else {
		for (pp = &rb->waiters; *pp; pp = &(*pp)->wait_next)
			if (*pp == rq) {
				*pp = rq->wait_next;
				break;
			}
	}
	pthread_mutex_unlock(&rb->wait_lock);
	rq->wait_listed = on;
}

/* Budget given back (any thread): wake the queues that hold requests. */
static void rbd_wake_waiters(struct rbd_blk *rb)
{
	uint64_t one = 1;

	pthread_mutex_lock(&rb->wait_lock);
	for (struct rbd_queue *w = rb->waiters; w; w = w->wait_next)
		if (write(w->q.efd, &one, sizeof(one)) < 0) {
			/* only fails if the counter would overflow */
		}
	pthread_mutex_unlock(&rb->wait_lock);
}

static int rbd_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	return ovb_blk_queue_alloc(blk, sizeof(struct rbd_queue), out);
}

static void rbd_queue_destroy(struct ovb_blk_queue *q)
{
	struct rbd_queue *rq = (struct rbd_queue *)q;

	rbd_wait_list(rq, false);
	/* The last callback may still be writing the eventfd. */
	while (__atomic_load_n(&rq->busy, __ATOMIC_ACQUIRE))
		sched_yield();
	ovb_blk_queue_free(q);
}

/*
 * The budget (see "Inline dispatch" above): charge @io for its request, or
 * refuse it while others are in flight and it would cross a limit.  The
 * bounds are upper ones: a request of len bytes touches at most
 * len / stripe_unit + 2 objects, each one Objecter operation; its bytes
 * are those of its data.
 */
static bool rbd_charge(struct rbd_blk *rb, struct rbd_io *io)
{
	const struct ovb_blk_req *req = io->req;
	uint64_t ops, bytes, had_ops, had_bytes;

	if (!rb->inline_submit)
		return true;
	ops = io->op == OVB_BLK_FLUSH ? 1 : req->len / rb->stripe_unit + 2;
	bytes = io->op == OVB_BLK_READ || io->op == OVB_BLK_WRITE ||
			io->op == OVB_BLK_WRITE_SAME
		    ? req->len
		    : 0;
	/* Sequentially consistent: pairs with nwait (see rbd_start). */
	had_ops = __atomic_fetch_add(&rb->used_ops, ops, __ATOMIC_SEQ_CST);
	had_bytes = __atomic_fetch_add(&rb->used_bytes, bytes, __ATOMIC_SEQ_CST);
	/* Alone in flight, any request goes (the Objecter lets it, too). */
	if ((had_ops || had_bytes) &&
	    ((rb->budget_ops && had_ops + ops > rb->budget_ops) ||
	     (rb->budget_bytes && had_bytes + bytes > rb->budget_bytes))) {
		__atomic_sub_fetch(&rb->used_ops, ops, __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(&rb->used_bytes, bytes, __ATOMIC_SEQ_CST);
		return false;
	}
	io->ops = ops;
	io->bytes = bytes;
	return true;
}

/* What rbd_charge() charged, given back, waking held requests; any thread. */
static void rbd_uncharge(struct rbd_blk *rb, struct rbd_io *io)
{
	if (!io->ops && !io->bytes)
		return;
	__atomic_sub_fetch(&rb->used_ops, io->ops, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&rb->used_bytes, io->bytes, __ATOMIC_SEQ_CST);
	io->ops = io->bytes = 0;
	if (__atomic_load_n(&rb->nwait, __ATOMIC_SEQ_CST))
		rbd_wake_waiters(rb);
}

/*
 * librbd's thread, busy counted: offer the owner the stack (blk.h), which
 * a request of kind @op opened; true if it reaped it here.
 */
static bool rbd_notify(struct rbd_queue *rq, int op)
{
	enum rbd_reap reap = rbd_of(rq->q.blk)->reap;
	bool took;

	if (!rq->q.notify || rbd_in_notify || reap == RBD_REAP_OWNER ||
	    (reap == RBD_REAP_READ && op != OVB_BLK_READ))
		return false;
	rbd_in_notify = true;
	took = rq->q.notify(&rq->q, rq->q.notify_ctx);
	rbd_in_notify = false;
	return took;
}

/* librbd's thread: hand the ticket over, or free it if nobody waits. */
static void rbd_complete(rbd_completion_t c, void *arg)
{
	struct rbd_io *io = arg;
	struct rbd_blk *rb = io->rb;
	struct rbd_queue *rq = io->rq;
	struct rbd_io *head;
	int want = RBD_IO_FLIGHT;
	int op = io->op; /* io may be reaped as soon as it is pushed */
	uint64_t one = 1;

	io->res = rb->lib->rbd_aio_get_return_value(c);
	rb->lib->rbd_aio_release(c);
	rbd_uncharge(rb, io); /* the Objecter gave its budget back before */
	if (!__atomic_compare_exchange_n(&io->state, &want, RBD_IO_DONE, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Cancelled: the queue may be gone; touch only the ticket. */
		while (__atomic_load_n(&io->state, __ATOMIC_ACQUIRE) ==
		       RBD_IO_CANCELLING)
			sched_yield(); /* the owner redirects the iovecs */
		__atomic_sub_fetch(&rb->detached, 1, __ATOMIC_RELEASE);
		free(io->scratch);
		free(io);
		return;
	}
	/*
	 * The owner waits for this ticket (inflight counts it), so rq lives
	 * until the push below; busy keeps it alive for the eventfd write
	 * after it (pairs with the wait in rbd_queue_destroy).
	 */
	__atomic_add_fetch(&rq->busy, 1, __ATOMIC_ACQ_REL);
	head = __atomic_load_n(&rq->done, __ATOMIC_RELAXED);
	do
		io->done_next = head;
	while (!__atomic_compare_exchange_n(
	    &rq->done, &head, io, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	/*
	 * The first on an empty stack wakes the owner; the others ride along,
	 * since the owner clears the eventfd before it takes the stack.
	 */
	if (!head && !rbd_notify(rq, op) &&
	    write(rq->q.efd, &one, sizeof(one)) < 0) {
		/* only fails if the counter would overflow: readable anyway */
	}
	__atomic_sub_fetch(&rq->busy, 1, __ATOMIC_RELEASE);
}

static void rbd_flight_unlink(struct rbd_queue *rq, struct rbd_io *io)
{
	if (io->prev)
		io->prev->next = io->next;
	else
		rq->flight = io->next;
	if (io->next)
		io->next->prev = io->prev;
}

/* A ticket for @req; a READ's keeps a copy of the iovecs, one empty more. */
static struct rbd_io *rbd_io_new(struct rbd_queue *rq, struct ovb_blk_req *req,
				 enum ovb_blk_op op)
{
	int n = op == OVB_BLK_READ ? req->iovcnt + 1 : 0;
	/* WRITE_SAME: the one block, copied (librbd may keep the buffer). */
	size_t extra = op == OVB_BLK_WRITE_SAME ? rq->q.blk->block_size : 0;
	struct rbd_io *io;

	io = malloc(sizeof(*io) + (size_t)n * sizeof(io->iov[0]) + extra);
	if (!io)
		return NULL;
	memset(io, 0, sizeof(*io));
	if (extra)
		ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0, io->iov, extra);
	io->req = req;
	io->op = op;
	io->rq = rq;
	io->rb = rbd_of(rq->q.blk);
	io->iovcnt = n;
	if (n) {
		memcpy(io->iov, req->iov, (size_t)req->iovcnt * sizeof(io->iov[0]));
		/*
		 * librbd takes a single iovec by value at submit but reads an
		 * array at completion: the empty tail keeps it an array, which a
		 * cancel can point elsewhere.
		 */
		io->iov[n - 1].iov_base = NULL;
		io->iov[n - 1].iov_len = 0;
	}
	return io;
}

/* Hand a charged ticket to librbd; 0 or -errno (@io freed then). */
static int rbd_send(struct rbd_queue *rq, struct rbd_io *io)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	const struct rbd_lib *lib = rb->lib;
	struct ovb_blk_req *req = io->req;
	rbd_completion_t c;
	int rc;

	rc = lib->rbd_aio_create_completion(io, rbd_complete, &c);
	if (rc < 0) {
		rbd_uncharge(rb, io);
		free(io);
		return rc;
	}
	/* Listed before librbd may answer: the callback never reads it. */
	io->next = rq->flight;
	if (rq->flight)
		rq->flight->prev = io;
	rq->flight = io;
	switch (io->op) {
	case OVB_BLK_READ:
		rc = lib->rbd_aio_readv(rb->image, io->iov, io->iovcnt,
					req->off, c);
		break;
	case OVB_BLK_WRITE:
		rc = lib->rbd_aio_writev(rb->image, req->iov, req->iovcnt,
					 req->off, c);
		break;
	case OVB_BLK_FLUSH:
		rc = lib->rbd_aio_flush(rb->image, c);
		break;
	case OVB_BLK_DISCARD:
	case OVB_BLK_WRITE_ZEROES:
		rc = lib->rbd_aio_write_zeroes(rb->image, req->off,
					       (size_t)req->len, c, 0, 0);
		break;
	case OVB_BLK_WRITE_SAME:
		rc = lib->rbd_aio_writesame(rb->image, req->off,
					    (size_t)req->len,
					    (const char *)io->iov,
					    rb->blk.block_size, c, 0);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		rbd_flight_unlink(rq, io);
		lib->rbd_aio_release(c);
		rbd_uncharge(rb, io);
		free(io);
		return rc;
	}
	rq->q.st.kicks++;
	return 0;
}

/*
 * Hand @req to librbd as operation @op, or hold it for the budget (see
 * "Inline dispatch"); 0 or -errno (no callback then).
 */
static int rbd_start(struct rbd_queue *rq, struct ovb_blk_req *req,
		     enum ovb_blk_op op)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct rbd_io *io = rbd_io_new(rq, req, op);
	/* In librbd's callback: held for the owner (see "Threads"). */
	bool defer = rbd_in_notify;
	uint64_t one = 1;

	if (!io)
		return -ENOMEM;
	/* Behind held ones it waits its turn: they go out in order. */
	if (!defer && !rq->wait_head && rbd_charge(rb, io))
		return rbd_send(rq, io);
	if (!defer &&
	    __atomic_fetch_add(&rb->budget_hit, 1, __ATOMIC_RELAXED) == 0)
		ovb_warn("blk %s: in-flight budget reached: requests wait in "
			 "their queue until it drains (logged once)",
			 rb->blk.name);
	/* Held, oldest first; rbd_resume() sends it when the budget allows. */
	if (rq->wait_tail)
		rq->wait_tail->next = io;
	else
		rq->wait_head = io;
	rq->wait_tail = io;
	rbd_wait_list(rq, true);
	__atomic_add_fetch(&rb->nwait, 1, __ATOMIC_SEQ_CST);
	/*
	 * A completion that gave its budget back before nwait counted this
	 * one did not wake us: look again, and wake ourselves if it fits.
	 * Deferred: the owner sends it.
	 */
	if (defer || rbd_charge(rb, io)) {
		if (!defer)
			rbd_uncharge(rb, io);
		if (write(rq->q.efd, &one, sizeof(one)) < 0) {
			/* only fails if the counter would overflow */
		}
	}
	return 0;
}

/* Send the held tickets the budget now allows; returns callbacks run. */
static int rbd_resume(struct rbd_queue *rq)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct rbd_io *io;
	struct ovb_blk_req *req;
	int n = 0, rc;

	while ((io = rq->wait_head) && rbd_charge(rb, io)) {
		rq->wait_head = io->next;
		if (!rq->wait_head)
			rq->wait_tail = NULL;
		io->next = NULL;
		__atomic_sub_fetch(&rb->nwait, 1, __ATOMIC_SEQ_CST);
		req = io->req;
		rc = rbd_send(rq, io);
		if (rc < 0) {
			rq->q.inflight--;
			n++;
			req->done(req, rc);
		}
	}
	if (!rq->wait_head)
		rbd_wait_list(rq, false);
	return n;
}

/* Fail every held ticket (cancel); returns how many. */
static int rbd_drop_held(struct rbd_queue *rq)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct rbd_io *io;
	struct ovb_blk_req *req;
	int n = 0;

	while ((io = rq->wait_head)) {
		rq->wait_head = io->next;
		__atomic_sub_fetch(&rb->nwait, 1, __ATOMIC_SEQ_CST);
		req = io->req;
		free(io);
		rq->q.inflight--;
		n++;
		req->done(req, -ECANCELED);
	}
	rq->wait_tail = NULL;
	rbd_wait_list(rq, false);
	return n;
}

static int rbd_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	/* Batch mode stages nothing: each librbd call queues at once. */
	int rc = rbd_start((struct rbd_queue *)q, req, req->op);

	if (!rc)
		q->inflight++;
	return rc;
}

/* Take every completed ticket, oldest first. */
static struct rbd_io *rbd_take(struct rbd_queue *rq)
{
	struct rbd_io *io, *next, *fifo = NULL;

	io = __atomic_exchange_n(&rq->done, NULL, __ATOMIC_ACQUIRE);
	for (; io; io = next) {
		next = io->done_next;
		io->done_next = fifo;
		fifo = io;
	}
	return fifo;
}

/* Run the callbacks of what completed; returns how many ran. */
static int rbd_reap(struct rbd_queue *rq)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct rbd_io *io, *next;
	struct ovb_blk_req *req;
	uint64_t cnt, one = 1;
	int n = 0;

	/*
	 * Clear the eventfd first: a completion pushed later re-arms it.  Not
	 * on librbd's thread: there it was not written for these, and a
	 * count left over only wakes the owner once for nothing.
	 */
	if (!rbd_in_notify && read(rq->q.efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled */
	}
	for (io = rbd_take(rq); io; io = next) {
		next = io->done_next;
		req = io->req;
		req->b_res = io->res < 0 ? (int)io->res : 0;
		rbd_flight_unlink(rq, io);
		free(io);
		/* FUA through a writeback cache: flush before completing. */
		if (req->op == OVB_BLK_WRITE && req->fua && rb->wb_cache &&
		    !req->b_done && !req->b_res) {
			req->b_done = 1;
			req->b_res = rbd_start(rq, req, OVB_BLK_FLUSH);
			if (!req->b_res)
				continue;
		}
		rq->q.inflight--;
		n++;
		req->done(req, req->b_res);
	}
	/* Budget given back: send what it held, in order (the owner). */
	if (!rbd_in_notify)
		n += rbd_resume(rq);
	else if (rq->wait_head && write(rq->q.efd, &one, sizeof(one)) < 0) {
		/* only fails if the counter would overflow */
	}
	return n;
}

static bool rbd_ready(const struct ovb_blk_queue *q)
{
	const struct rbd_queue *rq = (const struct rbd_queue *)q;

	return __atomic_load_n(&rq->done, __ATOMIC_ACQUIRE) != NULL;
}

static int rbd_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct rbd_queue *rq = (struct rbd_queue *)q;
	struct pollfd pfd = {.fd = q->efd, .events = POLLIN};
	uint64_t end;
	int n = rbd_reap(rq);

	if (n || timeout_us == 0)
		return n;
	end = ovb_now_us() + (uint64_t)(timeout_us > 0 ? timeout_us : 0);
	while (q->inflight > 0) {
		if (timeout_us > 0) {
			if (!rbd_ready(q) && ovb_now_us() < end)
				continue;
		} else if (!rbd_ready(q) && poll(&pfd, 1, -1) < 0 &&
			   errno != EINTR) {
			return -errno;
		}
		n = rbd_reap(rq);
		if (n || timeout_us > 0)
			return n;
	}
	return 0;
}

/*
 * Detach @io from its request (see "Tickets"): true if it was still with
 * librbd, false if its answer came first (it is on the completion stack).
 */
static bool rbd_detach(struct rbd_queue *rq, struct rbd_io *io)
{
	int want = RBD_IO_FLIGHT;
	size_t max = 0;

	if (!__atomic_compare_exchange_n(&io->state, &want, RBD_IO_CANCELLING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return false;
	/* A READ's data from now on lands in the ticket's own buffer. */
	for (int i = 0; i < io->iovcnt; i++)
		if (io->iov[i].iov_len > max)
			max = io->iov[i].iov_len;
	io->scratch = max ? malloc(max) : NULL;
	for (int i = 0; io->scratch && i < io->iovcnt; i++)
		__atomic_store_n(&io->iov[i].iov_base, io->scratch,
				 __ATOMIC_RELAXED);
	if (max && !io->scratch)
		ovb_warn("blk %s: no memory to divert a cancelled read: it "
			 "may still land in guest memory",
			 io->rb->blk.name);
	__atomic_add_fetch(&io->rb->detached, 1, __ATOMIC_ACQ_REL);
	rbd_flight_unlink(rq, io);
	/* Pairs with the callback's wait: from here on it owns @io. */
	__atomic_store_n(&io->state, RBD_IO_CANCELLED, __ATOMIC_RELEASE);
	return true;
}

static int rbd_cancel(struct ovb_blk_queue *q)
{
	struct rbd_queue *rq = (struct rbd_queue *)q;
	struct rbd_io *io, *next;
	struct ovb_blk_req *req;
	int n = 0;

	while (q->inflight > 0) {
		n += rbd_drop_held(rq); /* never with librbd */
		for (io = rq->flight; io; io = next) {
			next = io->next;
			req = io->req;
			if (!rbd_detach(rq, io))
				continue; /* answered: reaped with its result */
			q->inflight--;
			n++;
			req->done(req, -ECANCELED);
		}
		/*
		 * What librbd answered meanwhile is being pushed: reap it (a
		 * FUA write's flush it starts is cancelled next round).
		 */
		if (q->inflight > 0 && !rbd_reap(rq))
			sched_yield();
	}
	if (n)
		ovb_warn("blk %s: %d request(s) cancelled while librbd had "
			 "them",
			 q->blk->name, n);
	return n;
}

/* ---- closing ------------------------------------------------------------ */

/* Disks left open because librbd still holds cancelled requests. */
static struct rbd_blk *rbd_left;
static pthread_mutex_t rbd_left_lock = PTHREAD_MUTEX_INITIALIZER;

/** A close handed to a thread; the last of closer and thread frees it. */
struct rbd_closer {
	struct rbd_blk *rb;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int refs;
};

static void rbd_closer_put(struct rbd_closer *cl)
{
	bool last;

	pthread_mutex_lock(&cl->lock);
	last = --cl->refs == 0;
	pthread_mutex_unlock(&cl->lock);
	if (!last)
		return;
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

void ovb__rbd_release(struct rbd_blk *rb)
{
	if (rb->image)
		rb->lib->rbd_close(rb->image);
	if (rb->io)
		rb->lib->rados_ioctx_destroy(rb->io);
	if (rb->cluster)
		rb->lib->rados_shutdown(rb->cluster);
	pthread_mutex_destroy(&rb->wait_lock);
	free(rb);
}

static void *rbd_close_thread(void *arg)
{
	struct rbd_closer *cl = arg;

	ovb__rbd_release(cl->rb);
	pthread_mutex_lock(&cl->lock);
	cl->done = true;
	pthread_cond_signal(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
	rbd_closer_put(cl);
	return NULL;
}

static void rbd_blk_close(struct ovb_blk *blk)
{
	struct rbd_blk *rb = rbd_of(blk);
	struct rbd_closer *cl;
	struct timespec dl;
	pthread_attr_t attr;
	pthread_t tid;
	bool done;
	int rc;

	if (__atomic_load_n(&rb->detached, __ATOMIC_ACQUIRE)) {
		ovb_warn("blk %s: librbd still holds cancelled requests: the "
			 "image stays open until the process exits",
			 blk->name);
		/* Kept where a leak checker (and a debugger) can see it. */
		pthread_mutex_lock(&rbd_left_lock);
		rb->left_next = rbd_left;
		rbd_left = rb;
		pthread_mutex_unlock(&rbd_left_lock);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		ovb__rbd_release(rb);
		return;
	}
	cl->rb = rb;
	cl->refs = 2;
	pthread_mutex_init(&cl->lock, NULL);
	ovb_cond_init(&cl->cond);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, rbd_close_thread, cl);
	pthread_attr_destroy(&attr);
	if (rc) {
		cl->refs = 1;
		rbd_closer_put(cl);
		ovb__rbd_release(rb);
		return;
	}
	ovb_deadline_ms(&dl, RBD_CLOSE_WAIT_MS);
	pthread_mutex_lock(&cl->lock);
	while (!cl->done &&
	       ovb_cond_timedwait(&cl->cond, &cl->lock, &dl) != -ETIMEDOUT)
		;
	done = cl->done;
	pthread_mutex_unlock(&cl->lock);
	if (!done)
		ovb_warn("blk %s: the Ceph cluster does not answer the close; "
			 "left to finish in the background",
			 blk->name);
	rbd_closer_put(cl);
}

const struct ovb_blk_ops ovb__rbd_ops = {
    .name = "rbd",
    .queue_create = rbd_queue_create,
    .queue_destroy = rbd_queue_destroy,
    .submit = rbd_submit,
    .poll = rbd_poll,
    .close = rbd_blk_close,
    .ready = rbd_ready,
    .cancel = rbd_cancel,
};
