// SPDX-License-Identifier: MIT
/*
 * The NBD backend with a connection per queue, for servers that advertise
 * multi-conn (NBD_FLAG_CAN_MULTI_CONN): the queue's owner (a storvsp
 * channel worker) drives its own libnbd handle in ovb_blk_flush() and
 * ovb_blk_poll(), with no thread in between -- the way fio's nbd engine
 * drives libnbd from its own thread.  Layer: backends (private; see
 * blk_nbd_priv.h).
 *
 * What the owner sleeps on: the queue's descriptor (ovb_blk_queue_eventfd)
 * is an epoll set holding the connection's socket (with the direction
 * libnbd asks for), a timerfd (the oldest request's deadline, the next
 * reconnect attempt, connect progress) and an eventfd (completions made on
 * the spot outside batch mode).  It is readable whenever the owner has
 * something to do; ovb_blk_poll() then reads what the server sent, runs
 * the callbacks, and leaves nothing readable that it did not look at.
 * Requests staged in batch mode go out at ovb_blk_flush(): on our own
 * wire (blk_nbd_wire.c, the default) all in one sendmsg, and each round
 * reads the socket with one recv; on libnbd's (wire=libnbd) each nbd_aio_*
 * call queues its command, and the loop below drives libnbd.
 *
 * Durability across connections: a FLUSH goes out on the queue's own
 * connection and covers the writes every connection had acknowledged
 * before it was sent -- the multi-conn promise ("the effects of
 * NBD_CMD_FLUSH ... MUST be visible across all connections when the
 * server sends its reply", NBD protocol) -- which the disk's ledger
 * (blk_nbd.c) tracks; a loss on any connection poisons the flushes that
 * cover what it may have taken.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend/blk_nbd_priv.h"
#include "openvmbus/deadline.h"

#define OWN_READS_PER_ROUND 256 /* notify_read calls per drive, at most */

static struct nbd_queue *own_of(struct nbd_conn *c)
{
	/* by way of void *: conn is a member, so the result is aligned */
	return (struct nbd_queue *)(void *)((char *)c -
					    __builtin_offsetof(struct nbd_queue,
							       conn));
}

static void own_complete(struct nbd_conn *c, struct nbd_io *io, int res)
{
	io->req->b_res = res;
	nbd_list_push(&io->q->done, io);
}

/* The socket leaves the epoll set before libnbd closes it. */
static void own_before_close(struct nbd_conn *c)
{
	struct nbd_queue *nq = own_of(c);

	if (nq->sock >= 0)
		epoll_ctl(nq->q.efd, EPOLL_CTL_DEL, nq->sock, NULL);
	nq->sock = -1;
}

/* Register the socket with the direction libnbd waits for. */
static void own_sync_sock(struct nbd_queue *nq)
{
	struct nbd_conn *c = &nq->conn;
	struct epoll_event ev = { 0 };
	int fd = -1;

	if (c->w.on) {
		fd = c->w.fd;
		ev.events = EPOLLIN | (nbd__wire_wants_write(c) ? EPOLLOUT : 0);
	} else if (c->h && c->state != NBD_DOWN) {
		unsigned dir = nbd_aio_get_direction(c->h);

		fd = nbd_aio_get_fd(c->h);
		ev.events = (dir & LIBNBD_AIO_DIRECTION_READ ? EPOLLIN : 0) |
			    (dir & LIBNBD_AIO_DIRECTION_WRITE ? EPOLLOUT : 0);
	}
	if (fd != nq->sock) {
		if (nq->sock >= 0)
			epoll_ctl(nq->q.efd, EPOLL_CTL_DEL, nq->sock, NULL);
		nq->sock = -1;
		if (fd >= 0 && epoll_ctl(nq->q.efd, EPOLL_CTL_ADD, fd, &ev) == 0)
			nq->sock = fd;
		nq->sock_ev = ev.events;
	} else if (fd >= 0 && ev.events != nq->sock_ev) {
		if (epoll_ctl(nq->q.efd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
		    errno == ENOENT)
			epoll_ctl(nq->q.efd, EPOLL_CTL_ADD, fd, &ev);
		nq->sock_ev = ev.events;
	}
}

/*
 * Arm the timer for what is due next.  Deadlines only grow with
 * submission time, so while the connection is up a timer already armed
 * stays right; an early ring finds nothing due and re-arms.
 */
static void own_sync_timer(struct nbd_queue *nq)
{
	struct nbd_conn *c = &nq->conn;
	struct itimerspec its = { 0 };
	uint64_t due;

	if (nq->timer_at_us && c->state == NBD_UP)
		return;
	due = nbd__conn_due_us(c);
	if (due == UINT64_MAX || (nq->timer_at_us && nq->timer_at_us <= due))
		return;
	its.it_value.tv_sec = (time_t)(due / 1000000);
	its.it_value.tv_nsec = (long)(due % 1000000) * 1000;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(nq->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		nq->timer_at_us = due;
}

/* Take down what made the epoll set readable besides the socket. */
static void own_clear(struct nbd_queue *nq)
{
	uint64_t v;

	if (nq->timer_at_us && ovb_now_us() >= nq->timer_at_us) {
		if (read(nq->tfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: not yet expired by the kernel's clock */
		} else {
			nq->timer_at_us = 0;
		}
	}
	if (nq->q.efd_written) {
		if (read(nq->wfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: already read */
		}
		nq->q.efd_written = false;
	}
}

/* What the socket is ready for now: POLLIN, POLLOUT, POLLHUP ... or 0. */
static short own_sock_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return fd >= 0 && poll(&p, 1, 0) > 0 ? p.revents : 0;
}

/*
 * Drive libnbd as far as the socket allows, reading as long as answers
 * come.  libnbd is told only what the socket is ready for (the contract
 * of nbd_aio_notify_read/write, which its own nbd_poll keeps): a read
 * notification while a command is half sent pauses the send to take an
 * earlier answer, and when none is there libnbd (1.14) stays in
 * REPLY.START asking for input alone -- the server waits for the rest
 * of the payload, we for an answer, and nothing wakes either side.
 *
 * How we know, with simple replies on a live connection and nothing to
 * send: one FIONREAD per round says how many bytes wait, and each answer
 * taken (one per notification) is counted off by its size; the count
 * only ever errs high on what was taken (a READ that failed, the rest of
 * an answer begun in an earlier round), so a notification is never made
 * on an empty socket.  Counted down to nothing, the round ends: what came
 * since keeps the socket readable in the owner's epoll set.  Nothing
 * waiting is the usual answer of the look right after a batch went out,
 * and the round ends there too; only a second such answer in a row asks
 * poll (no wait) whether the socket hung up, which FIONREAD does not tell
 * (a hang-up keeps the socket readable in the epoll set, so the owner
 * comes back at once for that second look).  With a command to send
 * (libnbd asks to write), or structured replies (whose sizes are not
 * counted), a poll before each notification, as before.
 * After an answer with nothing left in flight there is nothing to look
 * for (a hang-up then keeps the socket readable: the next round finds
 * it).
 */
static void own_socket(struct nbd_conn *c)
{
	bool counted = c->state == NBD_UP && !c->b->structured;
	bool looked = false;
	size_t unread = 0;

	for (int i = 0; i < OWN_READS_PER_ROUND && c->h; i++) {
		unsigned dir = nbd_aio_get_direction(c->h);
		unsigned before = c->finished.n, got;
		int fd = nbd_aio_get_fd(c->h);
		short ready;

		if (i && c->state == NBD_UP && !c->inflight.head)
			break;
		if (!counted || dir & LIBNBD_AIO_DIRECTION_WRITE) {
			ready = own_sock_ready(fd);
			looked = false; /* the count no longer holds */
			unread = 0;
		} else if (unread) {
			ready = POLLIN;
		} else if (!looked) {
			looked = true;
			unread = nbd__sock_unread(fd);
			if (unread)
				c->dry_looks = 0;
			else if (c->dry_looks++ == 0)
				break; /* nothing yet: no more look this round */
			ready = unread ? POLLIN : own_sock_ready(fd);
		} else {
			break; /* counted down: nothing more known to wait */
		}
		if (dir & LIBNBD_AIO_DIRECTION_WRITE &&
		    ready & (POLLOUT | POLLERR | POLLHUP)) {
			nbd_aio_notify_write(c->h);
			/* The state moved: a read must be what it waits for,
			 * and what the socket held may be gone -- a handshake
			 * whose answers all came runs to READY inside that one
			 * notification.  Look again before reading. */
			dir = nbd_aio_get_direction(c->h);
			ready = dir & LIBNBD_AIO_DIRECTION_READ
					? own_sock_ready(fd)
					: 0;
			looked = false;
			unread = 0;
		}
		if (!(dir & LIBNBD_AIO_DIRECTION_READ) ||
		    !(ready & (POLLIN | POLLERR | POLLHUP)))
			break;
		if (nbd_aio_notify_read(c->h) < 0 || c->finished.n == before)
			break;
		got = c->finished.n - before;
		if (unread) {
			size_t took = nbd__answers_bytes(c, got);

			unread = took < unread ? unread - took : 0;
		}
	}
}

/* One round: staged requests out, answers in, faults handled. */
static void own_drive(struct nbd_queue *nq, bool read_socket)
{
	struct nbd_conn *c = &nq->conn;

	if (nq->staged.head) {
		nq->q.st.kicks++;
		nbd_list_splice(&c->pending, &nq->staged);
	}
	nbd__conn_issue(c);
	if (read_socket && c->w.on && nq->fresh_send) {
		/* The first look right after a batch went out would almost
		 * always find nothing: leave it to the owner's epoll set
		 * (the socket stays readable there; a polling owner is
		 * back with the next round, which looks). */
		nq->fresh_send = false;
		nbd__wire_send(c);
	} else if (read_socket && c->w.on) {
		/* Our wire: what waits to go out, then what came in (one
		 * recv, also the look: a hang-up reads as 0, also while
		 * nothing is in flight -- the socket stays readable in the
		 * owner's epoll set until the loss is noticed). */
		unsigned before = c->finished.n;

		nbd__wire_send(c);
		nbd__wire_recv(c);
		/* Answers gather before they go to the guest (the hold). */
		nbd__wire_hold(c, c->finished.n - before, c->b->hold_us);
	} else if (read_socket && c->h && c->state != NBD_DOWN) {
		own_socket(c);
	}
	nbd__conn_after_io(c);
	nbd__conn_issue(c); /* emulated FUA flushes, a fresh connection */
	own_sync_sock(nq);
	own_sync_timer(nq);
}

/* Say on the eventfd that completions wait (outside batch mode). */
static void own_announce(struct nbd_queue *nq)
{
	if (nq->done.head && !nq->q.batch && !nq->q.efd_written) {
		nq->q.efd_written = true;
		nbd__wake_fd(nq->wfd);
	}
}

static int own_flush(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;

	if (nq->staged.head) {
		own_drive(nq, false);
		nq->fresh_send = nq->conn.w.on && !nq->conn.w.err;
	}
	own_announce(nq);
	return 0;
}

static int own_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_io *io = nbd__io_new(nq, req);

	if (!io)
		return -ENOMEM;
	q->inflight++;
	/* No cache to flush: a FLUSH is done at once (still via poll). */
	if (req->op == OVB_BLK_FLUSH && !nbd_of(q->blk)->can_flush) {
		req->b_res = 0;
		nbd_list_push(&nq->done, io);
	} else {
		nbd_list_push(&nq->staged, io);
	}
	return q->batch ? 0 : own_flush(q);
}

static int own_deliver(struct nbd_queue *nq)
{
	struct nbd_io *io;
	int n = 0;

	while ((io = nq->done.head) != NULL) {
		nbd_list_unlink(&nq->done, io);
		nbd__io_deliver(nq, io);
		n++;
	}
	return n;
}

static int own_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	uint64_t until = timeout_us > 0 ? ovb_now_us() + (uint64_t)timeout_us
					: 0;
	int n = 0;

	for (;;) {
		struct epoll_event ev[4];
		int ms;

		own_clear(nq);
		own_drive(nq, true);
		n += own_deliver(nq);
		if (n || timeout_us == 0 || q->inflight == 0)
			return n;
		if (timeout_us < 0) {
			ms = -1;
		} else {
			uint64_t now = ovb_now_us();

			if (now >= until)
				return 0;
			ms = (int)((until - now + 999) / 1000);
		}
		if (epoll_wait(q->efd, ev, 4, ms) < 0 && errno != EINTR)
			return -errno;
	}
}

static bool own_ready(const struct ovb_blk_queue *q)
{
	const struct nbd_queue *nq = (const struct nbd_queue *)q;

	/* Answers may wait in the socket: only a look at it can tell. */
	return nq->done.head || nq->conn.inflight.head;
}

static void own_queue_destroy(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;

	nbd__conn_fini(&nq->conn);
	close(nq->tfd);
	close(nq->wfd);
	close(q->efd);
	free(nq);
}

static int own_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	struct nbd_queue *nq = calloc(1, sizeof(*nq));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!nq)
		return -ENOMEM;
	nq->q.blk = blk;
	nq->sock = -1;
	nq->q.efd = epoll_create1(EPOLL_CLOEXEC);
	nq->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	nq->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nq->q.efd < 0 || nq->tfd < 0 || nq->wfd < 0 ||
	    epoll_ctl(nq->q.efd, EPOLL_CTL_ADD, nq->tfd, &ev) < 0 ||
	    epoll_ctl(nq->q.efd, EPOLL_CTL_ADD, nq->wfd, &ev) < 0) {
		rc = -errno;
		goto err_fds;
	}
	nbd__conn_init(&nq->conn, nbd_of(blk));
	nq->conn.complete = own_complete;
	nq->conn.before_close = own_before_close;
	/* The handshake runs while the first requests wait for it. */
	nbd__conn_connect(&nq->conn);
	own_sync_sock(nq);
	own_sync_timer(nq);
	*out = &nq->q;
	return 0;

err_fds:
	if (nq->wfd >= 0)
		close(nq->wfd);
	if (nq->tfd >= 0)
		close(nq->tfd);
	if (nq->q.efd >= 0)
		close(nq->q.efd);
	free(nq);
	return rc;
}

/* A closing channel ran out of time: fail what this queue holds. */
static int own_cancel(struct ovb_blk_queue *q)
{
	struct nbd_queue *nq = (struct nbd_queue *)q;
	struct nbd_io *io;

	__atomic_store_n(&nq->cancel, true, __ATOMIC_RELEASE);
	while ((io = nq->staged.head) != NULL) {
		nbd_list_unlink(&nq->staged, io);
		own_complete(&nq->conn, io, -ECANCELED);
	}
	nbd__conn_cancel(&nq->conn);
	nbd__wake_fd(nq->wfd);
	return 0;
}

/* close and stats are the disk's (blk_nbd.c). */
const struct ovb_blk_ops nbd__own_ops = {
	.name = "nbd",
	.queue_create = own_queue_create,
	.queue_destroy = own_queue_destroy,
	.submit = own_submit,
	.poll = own_poll,
	.ready = own_ready,
	.flush = own_flush,
	.cancel = own_cancel,
	.close = nbd__blk_close,
	.stats = nbd__blk_stats,
};
