// SPDX-License-Identifier: MIT
/*
 * The NBD backend with one connection per disk, for servers that do not
 * advertise multi-conn: an engine thread owns the connection, drives the
 * socket -- our own transmission phase (blk_nbd_wire.c), or libnbd's with
 * wire=libnbd (nbd_aio_get_fd, nbd_aio_notify_read/write) -- and watches
 * deadlines and reconnects (blk_nbd_conn.c).  Queue owners hand requests
 * over through a mutex-protected list and an eventfd; the engine hands
 * completions back to each queue's done list and writes that queue's
 * eventfd once per round, so the ovb_blk contract holds: callbacks run
 * only in ovb_blk_poll() on the owner's thread.  A thread drives the
 * socket here because several queues share the connection, and
 * completions of one queue's requests must reach it while its owner
 * sleeps.  Layer: backends (private; see blk_nbd_priv.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/blk_nbd_priv.h"
#include "openvmbus/deadline.h"

#define ENGINE_READS_PER_ROUND 256 /* notify_read calls per wait, at most */

/* Hand @io back to its queue (engine thread); woken once per round. */
static void engine_complete(struct nbd_conn *c, struct nbd_io *io, int res)
{
	struct nbd_queue *nq = io->q;
	struct nbd_blk *b = c->b;

	io->req->b_res = res;
	pthread_mutex_lock(&nq->lock);
	nbd_list_push(&nq->done, io);
	pthread_mutex_unlock(&nq->lock);
	if (!nq->wake_queued) {
		nq->wake_queued = true;
		nq->wake_next = b->wake_list;
		b->wake_list = nq;
	}
}

/* Make the eventfd of every queue that got completions readable. */
static void engine_wake(struct nbd_blk *b)
{
	struct nbd_queue *nq;

	while ((nq = b->wake_list) != NULL) {
		b->wake_list = nq->wake_next;
		nq->wake_queued = false;
		nbd__wake_fd(nq->q.efd);
	}
}

/* Milliseconds poll() may sleep: until a deadline or a connect attempt. */
static int engine_sleep_ms(struct nbd_blk *b)
{
	uint64_t until = nbd__conn_due_us(&b->conn), now = ovb_now_us();

	if (until == UINT64_MAX)
		return -1;
	if (until <= now)
		return 0;
	return (int)((until - now + 999) / 1000);
}

/*
 * The socket is readable (@revents): take what waits.  The poll said so
 * for one notification.  When that took a whole answer and more are in
 * flight, with simple replies on a live connection, one FIONREAD says
 * how many bytes still wait and the next answers are taken by count,
 * each counted off by its size (nbd__answers_bytes), instead of one per
 * poll; stopping when libnbd has something to send (the next poll sees
 * to it), when a notification took no whole answer, or when nothing more
 * is in flight.  A notification that took only part of an answer (a
 * large READ arriving) costs no FIONREAD.
 */
static void engine_read(struct nbd_conn *c, short revents)
{
	bool counted = c->state == NBD_UP && !c->b->structured &&
		       !(revents & (POLLHUP | POLLERR));
	bool looked = false;
	size_t unread = 0;

	for (int i = 0; i < ENGINE_READS_PER_ROUND; i++) {
		unsigned before = c->finished.n, got;

		if (nbd_aio_notify_read(c->h) < 0)
			return;
		got = c->finished.n - before;
		if (!got || !counted || !c->inflight.head ||
		    nbd_aio_get_direction(c->h) & LIBNBD_AIO_DIRECTION_WRITE)
			return;
		if (!looked) {
			/* What waits after the answer the poll promised. */
			looked = true;
			unread = nbd__sock_unread(nbd_aio_get_fd(c->h));
		} else {
			size_t took = nbd__answers_bytes(c, got);

			unread = took < unread ? unread - took : 0;
		}
		if (!unread)
			return;
	}
}

/* Wait for the socket, a wake-up or a timer; drive the connection. */
static void engine_wait(struct nbd_blk *b)
{
	struct nbd_conn *c = &b->conn;
	struct pollfd pfd[2] = { { .fd = b->wake, .events = POLLIN } };
	int n = 1, ms = engine_sleep_ms(b);
	uint64_t v;

	engine_wake(b);
	if (c->w.on) {
		pfd[1].fd = c->w.fd;
		pfd[1].events = POLLIN | (nbd__wire_wants_write(c) ? POLLOUT
								    : 0);
		n = 2;
	} else if (c->h && c->state != NBD_DOWN) {
		unsigned dir = nbd_aio_get_direction(c->h);

		pfd[1].fd = nbd_aio_get_fd(c->h);
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
	if (c->w.on) {
		/* Our wire: the rest of a send, then what came in. */
		if (pfd[1].revents & POLLOUT)
			nbd__wire_send(c);
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			nbd__wire_recv(c);
		return;
	}
	if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
		engine_read(c, pfd[1].revents);
	else if (pfd[1].revents & POLLOUT)
		nbd_aio_notify_write(c->h);
}

static void *engine_main(void *arg)
{
	struct nbd_blk *b = arg;

	for (;;) {
		bool stop, cancel;

		pthread_mutex_lock(&b->lock);
		nbd_list_splice(&b->conn.pending, &b->incoming);
		stop = b->stop;
		cancel = b->cancel;
		b->cancel = false;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (cancel)
			nbd__conn_cancel(&b->conn);
		nbd__conn_issue(&b->conn);
		engine_wait(b);
		nbd__conn_after_io(&b->conn);
	}
	return NULL;
}

int nbd__engine_start(struct nbd_blk *b)
{
	int rc;

	b->conn.complete = engine_complete;
	b->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->wake < 0)
		return -errno;
	pthread_mutex_init(&b->lock, NULL);
	rc = -pthread_create(&b->thread, NULL, engine_main, b);
	if (rc) {
		pthread_mutex_destroy(&b->lock);
		close(b->wake);
	}
	return rc;
}

void nbd__engine_stop(struct nbd_blk *b)
{
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
	nbd__wake_fd(b->wake);
	pthread_join(b->thread, NULL);
	nbd__conn_fini(&b->conn);
	close(b->wake);
	pthread_mutex_destroy(&b->lock);
}

/* ---- the queue side (owners' threads) -------------------------------------- */

static int engine_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	int rc = ovb_blk_queue_alloc(blk, sizeof(struct nbd_queue), out);

	if (!rc)
		pthread_mutex_init(&((struct nbd_queue *)*out)->lock, NULL);
	return rc;
}

static void engine_queue_destroy(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;

	pthread_mutex_destroy(&nq->lock);
	ovb_blk_queue_free(q);
}

static int engine_flush_staged(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_blk *b = nbd_of(q->blk);

	if (!nq->staged.head)
		return 0;
	pthread_mutex_lock(&b->lock);
	nbd_list_splice(&b->incoming, &nq->staged);
	pthread_mutex_unlock(&b->lock);
	nbd__wake_fd(b->wake);
	return 0;
}

static int engine_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_blk *b = nbd_of(q->blk);
	struct nbd_io *io = nbd__io_new(nq, req);

	if (!io)
		return -ENOMEM;
	q->inflight++;
	/* No cache to flush: a FLUSH is done at once (still via poll). */
	if (req->op == OVB_BLK_FLUSH && !b->can_flush) {
		req->b_res = 0;
		pthread_mutex_lock(&nq->lock);
		nbd_list_push(&nq->done, io);
		pthread_mutex_unlock(&nq->lock);
		nbd__wake_fd(q->efd);
		return 0;
	}
	nbd_list_push(&nq->staged, io);
	if (!q->batch) {
		q->st.kicks++;
		return engine_flush_staged(q);
	}
	return 0;
}

static int engine_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_list done;
	struct nbd_io *io;
	uint64_t v;
	int n = 0;

	if (nq->staged.head) {
		q->st.kicks++;
		engine_flush_staged(q);
	}
	if (timeout_us != 0 && q->inflight > 0) {
		struct pollfd pfd = { .fd = q->efd, .events = POLLIN };
		int ms = timeout_us < 0 ? -1 : (timeout_us + 999) / 1000;
		bool empty;

		pthread_mutex_lock(&nq->lock);
		empty = !nq->done.head;
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
		nbd_list_unlink(&done, io);
		nbd__io_deliver(nq, io);
		n++;
	}
	return n;
}

static bool engine_ready(const struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	bool ready;

	pthread_mutex_lock(&nq->lock);
	ready = nq->done.head != NULL;
	pthread_mutex_unlock(&nq->lock);
	return ready;
}

/* close and stats are the disk's (blk_nbd.c). */
/*
 * A closing channel ran out of time: its staged requests fail here, the
 * engine thread fails those it holds (nbd__conn_cancel).
 */
static int engine_cancel(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_blk *b = nbd_of(q->blk);
	struct nbd_io *io;

	__atomic_store_n(&nq->cancel, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&nq->lock);
	while ((io = nq->staged.head) != NULL) {
		nbd_list_unlink(&nq->staged, io);
		io->req->b_res = -ECANCELED;
		nbd_list_push(&nq->done, io);
	}
	pthread_mutex_unlock(&nq->lock);
	nbd__wake_fd(q->efd);
	pthread_mutex_lock(&b->lock);
	b->cancel = true;
	pthread_mutex_unlock(&b->lock);
	nbd__wake_fd(b->wake);
	return 0;
}

const struct ovb_blk_ops nbd__engine_ops = {
	.name = "nbd",
	.queue_create = engine_queue_create,
	.queue_destroy = engine_queue_destroy,
	.submit = engine_submit,
	.poll = engine_poll,
	.ready = engine_ready,
	.flush = engine_flush_staged,
	.cancel = engine_cancel,
	.close = nbd__blk_close,
	.stats = nbd__blk_stats,
};
