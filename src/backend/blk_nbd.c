// SPDX-License-Identifier: MIT
/*
 * The NBD block backend: a disk served by an NBD server (nbdkit,
 * qemu-storage-daemon, rbd-nbd, appliances), named by the standard URIs
 * nbd://HOST[:PORT]/EXPORT and nbd+unix:///EXPORT?socket=PATH, spoken
 * through libnbd's asynchronous API.  Layer: backends.
 *
 * One engine thread per disk owns the libnbd handle: it issues commands,
 * drives the socket (nbd_aio_get_fd, nbd_aio_notify_read/write), watches
 * deadlines and reconnects.  Queue owners hand requests over through a
 * mutex-protected list and an eventfd; the engine hands completions back
 * to each queue's done list and writes that queue's eventfd, so the
 * ovb_blk contract holds: callbacks run only in ovb_blk_poll() on the
 * owner's thread, and an owner sleeping on its eventfd is woken without
 * having to drive the socket itself.  A thread (not the owners' poll
 * loops) drives the socket because completions must arrive while owners
 * sleep on their own eventfds, because several queues share one
 * connection, and because reconnects and deadlines need a clock that runs
 * whether or not anyone polls.  Batch mode stages requests per queue and
 * hands a batch over with one wake-up.
 *
 * Data: one iovec goes to libnbd as it is (zero copy), more through one
 * bounce buffer (one NBD command).  WRITE+FUA -> NBD_CMD_WRITE+FUA (or
 * WRITE then FLUSH), FLUSH -> NBD_CMD_FLUSH (nothing if the server has no
 * cache), DISCARD -> NBD_CMD_TRIM (discard_unzeroed), WRITE_ZEROES ->
 * NBD_CMD_WRITE_ZEROES, each only when the server offers it.
 *
 * Faults: every request has a deadline (spec timeout=, default
 * NBD_TIMEOUT_S) from its submission.  A lost connection is re-made with
 * backoff while requests wait; reads, writes, trims and zeroes lost with
 * it are sent again (they are idempotent at the block level); a request
 * that reaches its deadline fails with -ETIMEDOUT, and one that outlives
 * its deadline on a live connection declares the server hung (the
 * connection is dropped and re-made).  A FLUSH lost with a connection
 * that carried writes not yet flushed fails with -EIO, as does the first
 * FLUSH after such a loss: those writes may have been in the dead
 * server's volatile cache, and a flush on the new connection cannot vouch
 * for them.
 */
#include <errno.h>
#include <libnbd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/blk_scheme.h"
#include "openvmbus/blk.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

#define NBD_TIMEOUT_S 20      /* below the guest's 30 s SCSI timeout */
#define NBD_RETRY_MIN_MS 50   /* first reconnect delay, doubling */
#define NBD_RETRY_MAX_MS 1000 /* ... up to this */

/** One request on its way through the engine thread. */
struct nbd_io {
	struct ovb_blk_req *req;
	struct nbd_queue *q;
	uint64_t deadline_us; /* ovb_now_us() when it fails -ETIMEDOUT */
	uint64_t seq;         /* FLUSH: the writes it covers */
	void *bounce;         /* more than one iovec: the one buffer */
	int err;              /* the engine's errno, 0 = success */
	bool fua_flush;       /* a fua write awaiting its emulating FLUSH */
	struct nbd_io *prev, *next;
};

/** A list of ios: FIFO, O(1) unlink. */
struct nbd_list {
	struct nbd_io *head, *tail;
	unsigned n;
};

struct nbd_queue {
	struct ovb_blk_queue q;
	struct nbd_list staged; /* batch mode, owner's thread only */
	pthread_mutex_t lock;   /* done */
	struct nbd_list done;   /* completed, for ovb_blk_poll() */
};

enum nbd_state { NBD_DOWN, NBD_CONNECTING, NBD_UP };

struct nbd_blk {
	struct ovb_blk blk;
	char uri[PATH_MAX];
	unsigned timeout_s;
	pthread_t thread;
	int wake; /* eventfd: submissions or stop */
	pthread_mutex_t lock; /* incoming, stop */
	struct nbd_list incoming;
	bool stop;
	/* The engine thread's own: */
	struct nbd_handle *h;
	enum nbd_state state;
	uint64_t attempt_at_us;  /* DOWN: next connect; CONNECTING: started */
	unsigned retry_ms;
	bool can_fua, can_flush;
	struct nbd_list pending;  /* waiting for a connection */
	struct nbd_list inflight; /* issued on the current connection */
	struct nbd_list finished; /* engine callbacks ran, not yet sorted */
	uint64_t acked_seq;   /* writes acknowledged (not FUA) so far */
	uint64_t flushed_seq; /* ... of which a completed FLUSH covered */
	bool flush_poisoned;  /* writes may have died with a connection */
	bool closing;         /* nbd_close() runs: callbacks stand aside */
	unsigned reconnects;
	unsigned resent; /* requests lost with a connection, to send again */
	/* Any thread's (atomic): */
	uint64_t n_req, n_bounced;
};

static struct nbd_blk *nbd_of(struct ovb_blk *blk)
{
	return (struct nbd_blk *)blk;
}

static void list_push(struct nbd_list *l, struct nbd_io *io)
{
	io->next = NULL;
	io->prev = l->tail;
	if (l->tail)
		l->tail->next = io;
	else
		l->head = io;
	l->tail = io;
	l->n++;
}

static void list_unlink(struct nbd_list *l, struct nbd_io *io)
{
	if (io->prev)
		io->prev->next = io->next;
	else
		l->head = io->next;
	if (io->next)
		io->next->prev = io->prev;
	else
		l->tail = io->prev;
	io->prev = io->next = NULL;
	l->n--;
}

/* Append all of @from to @to; @from ends empty. */
static void list_splice(struct nbd_list *to, struct nbd_list *from)
{
	if (!from->head)
		return;
	if (to->tail) {
		to->tail->next = from->head;
		from->head->prev = to->tail;
	} else {
		to->head = from->head;
	}
	to->tail = from->tail;
	to->n += from->n;
	memset(from, 0, sizeof(*from));
}

static void wake_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* only fails if the counter would overflow: still readable */
	}
}

/* ---- the engine thread -------------------------------------------------- */

/* Hand @io back to its queue with result @res. */
static void io_complete(struct nbd_io *io, int res)
{
	struct nbd_queue *nq = io->q;

	if (io->bounce && res == 0 && io->req->op == OVB_BLK_READ)
		ovb_blk_iov_from_buf(io->req->iov, io->req->iovcnt, 0,
				     io->bounce, io->req->len);
	io->req->b_res = res;
	pthread_mutex_lock(&nq->lock);
	list_push(&nq->done, io);
	pthread_mutex_unlock(&nq->lock);
	wake_fd(nq->q.efd);
}

/* libnbd's completion callback (engine thread, inside a notify call). */
static int io_engine_done(void *user_data, int *error)
{
	struct nbd_io *io = user_data;
	struct nbd_blk *b = nbd_of(io->q->q.blk);

	if (b->closing)
		return 1;
	io->err = *error;
	list_unlink(&b->inflight, io);
	list_push(&b->finished, io);
	return 1; /* retire the command */
}

/* Issue @io on the live connection; 0 or the engine's negative errno. */
static int io_issue(struct nbd_blk *b, struct nbd_io *io)
{
	struct ovb_blk_req *req = io->req;
	nbd_completion_callback cb = { .callback = io_engine_done,
				       .user_data = io };
	void *buf = io->bounce ? io->bounce
			       : (req->iovcnt ? req->iov[0].iov_base : NULL);
	uint32_t fua = req->fua && b->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
	int64_t cookie;

	if (io->fua_flush || req->op == OVB_BLK_FLUSH)
		io->seq = b->acked_seq;
	list_push(&b->inflight, io);
	if (io->fua_flush) {
		cookie = nbd_aio_flush(b->h, cb, 0);
	} else {
		switch (req->op) {
		case OVB_BLK_READ:
			cookie = nbd_aio_pread(b->h, buf, req->len, req->off,
					       cb, 0);
			break;
		case OVB_BLK_WRITE:
			cookie = nbd_aio_pwrite(b->h, buf, req->len, req->off,
						cb, fua);
			break;
		case OVB_BLK_FLUSH:
			cookie = nbd_aio_flush(b->h, cb, 0);
			break;
		case OVB_BLK_DISCARD:
			cookie = nbd_aio_trim(b->h, req->len, req->off, cb, 0);
			break;
		default:
			cookie = nbd_aio_zero(b->h, req->len, req->off, cb, 0);
			break;
		}
	}
	if (cookie < 0) {
		int e = nbd_get_errno();

		list_unlink(&b->inflight, io);
		return e > 0 ? -e : -EIO;
	}
	return 0;
}

/* A FLUSH's verdict, once the engine said @res. */
static int flush_result(struct nbd_blk *b, struct nbd_io *io, int res)
{
	if (res == 0 && b->flush_poisoned) {
		b->flush_poisoned = false;
		ovb_warn("blk %s: a flush fails: writes acknowledged before "
			 "the connection was lost may not be stable",
			 b->blk.name);
		return -EIO;
	}
	if (res == 0 && io->seq > b->flushed_seq)
		b->flushed_seq = io->seq;
	return res;
}

/* Sort what the engine finished on a connection that is still up. */
static void engine_sort_finished(struct nbd_blk *b)
{
	struct nbd_io *io;

	while ((io = b->finished.head) != NULL) {
		enum ovb_blk_op op = io->req->op;
		int res = io->err ? -io->err : 0;

		list_unlink(&b->finished, io);
		if (io->fua_flush || op == OVB_BLK_FLUSH) {
			io->fua_flush = false;
			res = flush_result(b, io, res);
		} else if (op == OVB_BLK_WRITE && res == 0 && io->req->fua &&
			   !b->can_fua && b->can_flush) {
			/* Emulated FUA: stable only after a flush. */
			io->fua_flush = true;
			b->acked_seq++;
			if (io_issue(b, io) != 0)
				list_push(&b->pending, io); /* after reconnect */
			continue;
		} else if (res == 0 && op == OVB_BLK_WRITE && !io->req->fua) {
			b->acked_seq++;
		}
		io_complete(io, res);
	}
}

/* Close the connection; everything on it waits again or fails. */
static void engine_lost(struct nbd_blk *b, const char *why)
{
	struct nbd_list lost = { 0 };
	struct nbd_io *io, *next;

	/* Successes that arrived before the end are real: deliver them. */
	for (io = b->finished.head; io; io = next) {
		next = io->next;
		if (io->err) {
			list_unlink(&b->finished, io);
			list_push(&lost, io);
		}
	}
	engine_sort_finished(b);
	list_splice(&lost, &b->inflight);
	if (b->h) {
		b->closing = true; /* no callback may touch the lists now */
		nbd_close(b->h);
		b->closing = false;
		b->h = NULL;
	}
	if (b->acked_seq > b->flushed_seq && b->can_flush)
		b->flush_poisoned = true;
	b->flushed_seq = b->acked_seq;
	while ((io = lost.head) != NULL) {
		list_unlink(&lost, io);
		io->err = 0;
		if ((io->fua_flush || io->req->op == OVB_BLK_FLUSH) &&
		    b->flush_poisoned)
			io_complete(io, flush_result(b, io, 0));
		else {
			list_push(&b->pending, io); /* idempotent: again */
			b->resent++;
		}
	}
	if (b->state == NBD_UP)
		ovb_warn("blk %s: connection lost (%s); reconnecting",
			 b->blk.name, why ? why : "closed");
	b->state = NBD_DOWN;
	b->attempt_at_us = ovb_now_us() + b->retry_ms * 1000ull;
	b->retry_ms = b->retry_ms * 2 > NBD_RETRY_MAX_MS ? NBD_RETRY_MAX_MS
							 : b->retry_ms * 2;
}

/* Check a fresh connection against what the disk promised at open. */
static int engine_check_up(struct nbd_blk *b)
{
	int64_t size = nbd_get_size(b->h);

	if (size < 0 || (uint64_t)size < b->blk.capacity)
		return -ENOSPC;
	if (nbd_can_fua(b->h) != b->can_fua ||
	    nbd_can_flush(b->h) != b->can_flush)
		return -EPROTO;
	if (!b->blk.read_only && nbd_is_read_only(b->h) == 1)
		return -EROFS;
	return 0;
}

/* Start connecting (DOWN -> CONNECTING). */
static void engine_connect(struct nbd_blk *b)
{
	b->attempt_at_us = ovb_now_us();
	b->h = nbd_create();
	if (b->h && nbd_aio_connect_uri(b->h, b->uri) == 0) {
		b->state = NBD_CONNECTING;
		return;
	}
	engine_lost(b, b->h ? nbd_get_error() : "out of memory");
}

/* Drive a connection that is being made. */
static void engine_connecting(struct nbd_blk *b)
{
	int rc;

	if (nbd_aio_is_connecting(b->h) &&
	    ovb_now_us() - b->attempt_at_us < b->timeout_s * 1000000ull)
		return;
	if (!nbd_aio_is_ready(b->h)) {
		engine_lost(b, nbd_aio_is_connecting(b->h)
				   ? "connecting timed out"
				   : nbd_get_error());
		return;
	}
	rc = engine_check_up(b);
	if (rc) {
		engine_lost(b, "the export changed");
		return;
	}
	b->state = NBD_UP;
	b->retry_ms = NBD_RETRY_MIN_MS;
	b->reconnects++;
	ovb_warn("blk %s: reconnected; %u lost requests sent again",
		 b->blk.name, b->resent);
	b->resent = 0;
}

/* Fail every waiting request past its deadline; true if one in flight is. */
static bool engine_deadlines(struct nbd_blk *b, uint64_t now)
{
	struct nbd_io *io, *next;

	for (io = b->pending.head; io; io = next) {
		next = io->next;
		if (now >= io->deadline_us) {
			list_unlink(&b->pending, io);
			io_complete(io, -ETIMEDOUT);
		}
	}
	for (io = b->inflight.head; io; io = io->next)
		if (now >= io->deadline_us)
			return true;
	return false;
}

/* Drop a hung connection: in-flight requests past their deadline fail. */
static void engine_hung(struct nbd_blk *b, uint64_t now)
{
	struct nbd_io *io, *next;

	for (io = b->inflight.head; io; io = next) {
		next = io->next;
		if (now >= io->deadline_us) {
			list_unlink(&b->inflight, io);
			io_complete(io, -ETIMEDOUT);
		}
	}
	ovb_warn("blk %s: the server did not answer within %u s",
		 b->blk.name, b->timeout_s);
	engine_lost(b, "no answer");
}

/* Issue what waits, if the connection is up. */
static void engine_issue(struct nbd_blk *b)
{
	struct nbd_io *io;

	while (b->state == NBD_UP && (io = b->pending.head) != NULL) {
		int rc;

		list_unlink(&b->pending, io);
		rc = io_issue(b, io);
		if (rc == 0)
			continue;
		if (nbd_aio_is_dead(b->h) || nbd_aio_is_closed(b->h)) {
			list_push(&b->pending, io);
			engine_lost(b, nbd_get_error());
		} else {
			io_complete(io, rc); /* refused: too large, ... */
		}
	}
}

/* Milliseconds poll() may sleep: until a deadline or a connect attempt. */
static int engine_sleep_ms(struct nbd_blk *b, uint64_t now)
{
	uint64_t until = UINT64_MAX;
	struct nbd_list *lists[] = { &b->pending, &b->inflight };

	for (size_t i = 0; i < 2; i++)
		for (struct nbd_io *io = lists[i]->head; io; io = io->next)
			if (io->deadline_us < until)
				until = io->deadline_us;
	if (b->state == NBD_DOWN && b->pending.head &&
	    b->attempt_at_us < until)
		until = b->attempt_at_us;
	if (b->state == NBD_CONNECTING)
		until = now; /* poll the socket in short steps */
	if (until == UINT64_MAX)
		return -1;
	if (until <= now)
		return b->state == NBD_CONNECTING ? 20 : 0;
	return (int)((until - now + 999) / 1000);
}

/* Wait for the socket, a wake-up or a timer; drive the engine. */
static void engine_wait(struct nbd_blk *b)
{
	struct pollfd pfd[2] = { { .fd = b->wake, .events = POLLIN } };
	int n = 1, ms = engine_sleep_ms(b, ovb_now_us());
	uint64_t v;

	if (b->h && b->state != NBD_DOWN) {
		unsigned dir = nbd_aio_get_direction(b->h);

		pfd[1].fd = nbd_aio_get_fd(b->h);
		pfd[1].events = (dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
				(dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0);
		n = pfd[1].fd >= 0 ? 2 : 1;
	}
	if (poll(pfd, n, ms) <= 0)
		return;
	if (pfd[0].revents & POLLIN) {
		if (read(b->wake, &v, sizeof(v)) < 0) {
			/* EAGAIN: another read won the race */
		}
	}
	if (n < 2)
		return;
	if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
		nbd_aio_notify_read(b->h);
	else if (pfd[1].revents & POLLOUT)
		nbd_aio_notify_write(b->h);
}

static void *engine_main(void *arg)
{
	struct nbd_blk *b = arg;
	for (;;) {
		uint64_t now;
		bool stop;

		pthread_mutex_lock(&b->lock);
		list_splice(&b->pending, &b->incoming);
		stop = b->stop;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (b->state == NBD_DOWN && b->pending.head &&
		    ovb_now_us() >= b->attempt_at_us)
			engine_connect(b);
		if (b->state == NBD_CONNECTING)
			engine_connecting(b);
		engine_issue(b);
		engine_wait(b);
		if (b->state == NBD_UP &&
		    (nbd_aio_is_dead(b->h) || nbd_aio_is_closed(b->h)))
			engine_lost(b, nbd_get_error() ? nbd_get_error()
							: "closed");
		engine_sort_finished(b);
		now = ovb_now_us();
		if (engine_deadlines(b, now))
			engine_hung(b, now);
	}
	return NULL;
}

/* ---- the ovb_blk ops ---------------------------------------------------- */

static int nbd_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	struct nbd_queue *nq = calloc(1, sizeof(*nq));

	if (!nq)
		return -ENOMEM;
	nq->q.blk = blk;
	nq->q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nq->q.efd < 0) {
		free(nq);
		return -errno;
	}
	pthread_mutex_init(&nq->lock, NULL);
	*out = &nq->q;
	return 0;
}

static void nbd_queue_destroy(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;

	close(q->efd);
	pthread_mutex_destroy(&nq->lock);
	free(nq);
}

static int nbd_flush_staged(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_blk *b = nbd_of(q->blk);

	if (!nq->staged.head)
		return 0;
	pthread_mutex_lock(&b->lock);
	list_splice(&b->incoming, &nq->staged);
	pthread_mutex_unlock(&b->lock);
	wake_fd(b->wake);
	return 0;
}

static int nbd_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_blk *b = nbd_of(q->blk);
	struct nbd_io *io = calloc(1, sizeof(*io));

	if (!io)
		return -ENOMEM;
	io->req = req;
	io->q = nq;
	io->deadline_us = ovb_now_us() + b->timeout_s * 1000000ull;
	__atomic_fetch_add(&b->n_req, 1, __ATOMIC_RELAXED);
	if ((req->op == OVB_BLK_READ || req->op == OVB_BLK_WRITE) &&
	    req->iovcnt > 1) {
		__atomic_fetch_add(&b->n_bounced, 1, __ATOMIC_RELAXED);
		io->bounce = malloc(req->len);
		if (!io->bounce) {
			free(io);
			return -ENOMEM;
		}
		if (req->op == OVB_BLK_WRITE)
			ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0,
					   io->bounce, req->len);
	}
	/* No cache to flush: a FLUSH is done at once (still via poll). */
	if (req->op == OVB_BLK_FLUSH && !b->can_flush) {
		q->inflight++;
		io_complete(io, 0);
		return 0;
	}
	q->inflight++;
	list_push(&nq->staged, io);
	if (!q->batch) {
		q->st.kicks++;
		return nbd_flush_staged(q);
	}
	return 0;
}

static int nbd_poll_q(struct ovb_blk_queue *q, int timeout_us)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_list done;
	struct nbd_io *io;
	uint64_t v;
	int n = 0;

	if (nq->staged.head) {
		q->st.kicks++;
		nbd_flush_staged(q);
	}
	if (timeout_us != 0 && q->inflight > 0) {
		struct pollfd pfd = { .fd = q->efd, .events = POLLIN };
		int ms = timeout_us < 0 ? -1 : (timeout_us + 999) / 1000;

		pthread_mutex_lock(&nq->lock);
		bool empty = !nq->done.head;
		pthread_mutex_unlock(&nq->lock);
		if (empty && poll(&pfd, 1, ms) < 0 && errno != EINTR)
			return -errno;
	}
	if (read(q->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing announced; the list says what is there */
	}
	q->efd_written = false;
	pthread_mutex_lock(&nq->lock);
	done = nq->done;
	memset(&nq->done, 0, sizeof(nq->done));
	pthread_mutex_unlock(&nq->lock);
	while ((io = done.head) != NULL) {
		struct ovb_blk_req *req = io->req;

		list_unlink(&done, io);
		free(io->bounce);
		free(io);
		q->inflight--;
		n++;
		req->done(req, req->b_res);
	}
	return n;
}

static bool nbd_ready(const struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	bool ready;

	pthread_mutex_lock(&nq->lock);
	ready = nq->done.head != NULL;
	pthread_mutex_unlock(&nq->lock);
	return ready;
}

static void nbd_blk_close(struct ovb_blk *blk)
{
	struct nbd_blk *b = nbd_of(blk);

	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
	wake_fd(b->wake);
	pthread_join(b->thread, NULL);
	ovb_info("blk %s: %llu requests, %llu through the bounce buffer, "
		 "%u reconnects",
		 blk->name, (unsigned long long)b->n_req,
		 (unsigned long long)b->n_bounced, b->reconnects);
	if (b->h)
		nbd_close(b->h);
	close(b->wake);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const struct ovb_blk_ops nbd_ops = {
	.name = "nbd",
	.queue_create = nbd_queue_create,
	.queue_destroy = nbd_queue_destroy,
	.submit = nbd_submit,
	.poll = nbd_poll_q,
	.close = nbd_blk_close,
	.ready = nbd_ready,
	.flush = nbd_flush_staged,
};

/* ---- open --------------------------------------------------------------- */

/* Connect @b->h to the URI within the deadline; 0 or a negative errno. */
static int nbd_connect_sync(struct nbd_blk *b)
{
	struct timespec dl;
	int e;

	ovb_deadline_ms(&dl, (long)b->timeout_s * 1000);
	b->h = nbd_create();
	if (!b->h)
		return -ENOMEM;
	if (nbd_aio_connect_uri(b->h, b->uri) == 0) {
		while (nbd_aio_is_connecting(b->h) && !ovb_deadline_passed(&dl))
			if (nbd_poll(b->h, (int)ovb_deadline_left_ms(&dl) + 1) <
			    0)
				break;
		if (nbd_aio_is_ready(b->h))
			return 0;
		if (nbd_aio_is_connecting(b->h)) {
			ovb_err("blk %s: no NBD handshake within %u s",
				b->uri, b->timeout_s);
			return -ETIMEDOUT;
		}
	}
	e = nbd_get_errno();
	ovb_err("blk %s: cannot connect: %s", b->uri, nbd_get_error());
	return e > 0 ? -e : -EIO;
}

/* Take the export's geometry and features from the live handle. */
static int nbd_probe(struct nbd_blk *b, const struct ovb_disk_spec *spec)
{
	uint32_t bs = spec->sector ? spec->sector : 512;
	int64_t size = nbd_get_size(b->h);
	int64_t min = nbd_get_block_size(b->h, LIBNBD_SIZE_MINIMUM);
	int ro = nbd_is_read_only(b->h);

	if (size < 0) {
		ovb_err("blk %s: %s", b->uri, nbd_get_error());
		return -EIO;
	}
	if (min > (int64_t)bs) {
		ovb_err("blk %s: the server's minimum block is %lld bytes, "
			"above sector=%u",
			b->uri, (long long)min, bs);
		return -EINVAL;
	}
	size -= size % bs;
	if (size == 0) {
		ovb_err("blk %s: smaller than one %u-byte sector", b->uri, bs);
		return -EINVAL;
	}
	if (spec->size && (uint64_t)size < spec->size) {
		ovb_err("blk %s: the export has %lld bytes, size= asks %llu",
			b->uri, (long long)size,
			(unsigned long long)spec->size);
		return -EINVAL;
	}
	b->blk.capacity = spec->size ? spec->size : (uint64_t)size;
	b->blk.block_size = bs;
	b->blk.read_only = spec->ro || ro == 1;
	b->can_fua = nbd_can_fua(b->h) == 1;
	b->can_flush = nbd_can_flush(b->h) == 1;
	b->blk.no_fua = !b->can_fua;
	b->blk.no_write_cache = !b->can_flush;
	b->blk.can_discard = !b->blk.read_only && nbd_can_trim(b->h) == 1;
	b->blk.discard_unzeroed = true;
	b->blk.can_zero = !b->blk.read_only && nbd_can_zero(b->h) == 1;
	return 0;
}

int ovb_blk_nbd_open(const struct ovb_disk_spec *spec, struct ovb_blk **out)
{
	struct nbd_blk *b;
	int rc;

	if (!spec || !out)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	snprintf(b->uri, sizeof(b->uri), "%s", spec->path);
	b->timeout_s = spec->timeout_s ? spec->timeout_s : NBD_TIMEOUT_S;
	b->retry_ms = NBD_RETRY_MIN_MS;
	b->blk.ops = &nbd_ops;
	snprintf(b->blk.name, sizeof(b->blk.name), "%.63s", spec->path);
	if ((rc = nbd_connect_sync(b)) != 0 || (rc = nbd_probe(b, spec)) != 0)
		goto err_handle;
	b->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->wake < 0) {
		rc = -errno;
		goto err_handle;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->state = NBD_UP;
	rc = -pthread_create(&b->thread, NULL, engine_main, b);
	if (rc)
		goto err_wake;
	*out = &b->blk;
	return 0;

err_wake:
	pthread_mutex_destroy(&b->lock);
	close(b->wake);
err_handle:
	if (b->h)
		nbd_close(b->h);
	free(b);
	return rc;
}
