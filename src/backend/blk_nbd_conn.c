// SPDX-License-Identifier: MIT
/*
 * The NBD backend, one connection: a libnbd handle and the requests on it,
 * whichever thread drives it (the engine thread of a disk with one
 * connection, or the owner of a queue with a connection of its own).
 * Issues commands (nbd_aio_pread/pwrite/flush/trim/zero), sorts the
 * server's answers, makes the connection again after a loss and enforces
 * the deadlines.  Layer: backends (private; see blk_nbd_priv.h).
 *
 * Faults: every request has a deadline (spec timeout=, default
 * NBD_TIMEOUT_S) from its submission.  A lost connection is re-made with
 * backoff while requests wait; reads, writes, trims and zeroes lost with
 * it are sent again (they are idempotent at the block level); a request
 * that reaches its deadline fails with -ETIMEDOUT, and one that outlives
 * its deadline on a live connection declares the server hung (the
 * connection is dropped and re-made).  What a loss means for FLUSH is the
 * ledger's business (blk_nbd.c): a FLUSH lost with writes that may have
 * died in the server's volatile cache fails with -EIO.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "backend/blk_nbd_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

void nbd__conn_init(struct nbd_conn *c, struct nbd_blk *b)
{
	c->b = b;
	c->state = NBD_DOWN;
	c->ledger_fd = -1;
	c->w.fd = -1;
	c->retry_ms = NBD_RETRY_MIN_MS;
}

unsigned nbd__conn_busy(const struct nbd_conn *c)
{
	return c->pending.n + c->inflight.n + c->finished.n;
}

/* libnbd's completion callback (inside a notify call, or nbd_close). */
static int conn_io_done(void *user_data, int *error)
{
	struct nbd_io *io = user_data;
	struct nbd_conn *c = io->conn;

	if (c->closing)
		return 1;
	io->err = *error;
	nbd_list_unlink(&c->inflight, io);
	nbd_list_push(&c->finished, io);
	return 1; /* retire the command */
}

/* Issue @io on the live connection; 0 or the engine's negative errno. */
static int conn_io_issue(struct nbd_conn *c, struct nbd_io *io)
{
	struct ovb_blk_req *req = io->req;
	nbd_completion_callback cb = { .callback = conn_io_done,
				       .user_data = io };
	void *buf = io->bounce ? io->bounce
			       : (req->iovcnt ? req->iov[0].iov_base : NULL);
	uint32_t fua = req->fua && c->b->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
	int64_t cookie;

	if (io->fua_flush || req->op == OVB_BLK_FLUSH)
		io->seq = nbd__ledger_flush_seq(c->b);
	io->conn = c;
	nbd_list_push(&c->inflight, io);
	if (c->w.on) {
		int rc = nbd__wire_queue(c, io);

		if (rc)
			nbd_list_unlink(&c->inflight, io);
		return rc;
	}
	if (io->fua_flush) {
		cookie = nbd_aio_flush(c->h, cb, 0);
	} else {
		switch (req->op) {
		case OVB_BLK_READ:
			cookie = nbd_aio_pread(c->h, buf, req->len, req->off,
					       cb, 0);
			break;
		case OVB_BLK_WRITE:
			cookie = nbd_aio_pwrite(c->h, buf, req->len, req->off,
						cb, fua);
			break;
		case OVB_BLK_FLUSH:
			cookie = nbd_aio_flush(c->h, cb, 0);
			break;
		case OVB_BLK_DISCARD:
			cookie = nbd_aio_trim(c->h, req->len, req->off, cb, 0);
			break;
		default:
			cookie = nbd_aio_zero(c->h, req->len, req->off, cb, 0);
			break;
		}
	}
	if (cookie < 0) {
		int e = nbd_get_errno();

		nbd_list_unlink(&c->inflight, io);
		return e > 0 ? -e : -EIO;
	}
	return 0;
}

/* Sort what the server answered on a connection that is still up. */
static void conn_sort_finished(struct nbd_conn *c)
{
	struct nbd_blk *b = c->b;
	struct nbd_io *io;

	while ((io = c->finished.head) != NULL) {
		enum ovb_blk_op op = io->req->op;
		int res = io->err ? -io->err : 0;

		nbd_list_unlink(&c->finished, io);
		if (io->fua_flush || op == OVB_BLK_FLUSH) {
			io->fua_flush = false;
			res = nbd__ledger_flush_done(b, c, io->seq, res);
		} else if (op == OVB_BLK_WRITE && res == 0 && io->req->fua &&
			   !b->can_fua && b->can_flush) {
			/* Emulated FUA: stable only after a flush. */
			io->fua_flush = true;
			nbd__ledger_write_acked(b);
			if (c->state != NBD_UP || conn_io_issue(c, io) != 0)
				nbd_list_push(&c->pending, io);
			continue;
		} else if (res == 0 && op == OVB_BLK_WRITE && !io->req->fua) {
			nbd__ledger_write_acked(b);
		}
		c->complete(c, io, res);
	}
}

/* Close the handle, keeping libnbd's callbacks off our lists. */
static void conn_close_handle(struct nbd_conn *c)
{
	if (!c->h)
		return;
	nbd__ledger_conn_down(c->b, c);
	if (c->before_close)
		c->before_close(c);
	nbd__wire_stop(c);
	c->closing = true;
	nbd_close(c->h);
	c->closing = false;
	c->h = NULL;
}

/* Close the connection; everything on it waits again or fails. */
static void conn_lost(struct nbd_conn *c, const char *why)
{
	struct nbd_blk *b = c->b;
	struct nbd_list lost = { 0 };
	struct nbd_io *io, *next;

	/* Successes that arrived before the end are real: deliver them. */
	for (io = c->finished.head; io; io = next) {
		next = io->next;
		/* On our wire every finished one is the server's answer. */
		if (io->err && !c->w.on) {
			nbd_list_unlink(&c->finished, io);
			nbd_list_push(&lost, io);
		}
	}
	conn_sort_finished(c);
	nbd_list_splice(&lost, &c->inflight);
	conn_close_handle(c);
	nbd__ledger_lost(b);
	while ((io = lost.head) != NULL) {
		nbd_list_unlink(&lost, io);
		io->err = 0;
		if ((io->fua_flush || io->req->op == OVB_BLK_FLUSH) &&
		    nbd__ledger_poisoned(b, io->seq)) {
			c->complete(c, io,
				    nbd__ledger_flush_done(b, c, io->seq, 0));
		} else {
			nbd_list_push(&c->pending, io); /* idempotent: again */
			c->resent++;
		}
	}
	if (c->state == NBD_UP) {
		__atomic_fetch_sub(&b->n_conns, 1, __ATOMIC_RELAXED);
		ovb_warn("blk %s: connection lost (%s); reconnecting",
			 b->blk.name, why ? why : "closed");
	}
	c->state = NBD_DOWN;
	c->attempt_at_us = ovb_now_us() + c->retry_ms * 1000ull;
	c->retry_ms = c->retry_ms * 2 > NBD_RETRY_MAX_MS ? NBD_RETRY_MAX_MS
							 : c->retry_ms * 2;
}

/* Check a fresh connection against what the disk promised at open. */
static int conn_check_up(struct nbd_conn *c)
{
	struct nbd_blk *b = c->b;
	int64_t size = nbd_get_size(c->h);

	if (size < 0 || (uint64_t)size < b->blk.capacity)
		return -ENOSPC;
	if (nbd_can_fua(c->h) != b->can_fua ||
	    nbd_can_flush(c->h) != b->can_flush)
		return -EPROTO;
	/* Connections of their own only while the server allows several. */
	if (b->own && nbd_can_multi_conn(c->h) != 1)
		return -EPROTO;
	if (!b->blk.read_only && nbd_is_read_only(c->h) == 1)
		return -EROFS;
	return 0;
}

void nbd__conn_connect(struct nbd_conn *c)
{
	c->attempt_at_us = ovb_now_us();
	c->h = nbd__handle_new(c->b);
	if (c->h && nbd_aio_connect_uri(c->h, c->b->uri) == 0) {
		c->state = NBD_CONNECTING;
		return;
	}
	conn_lost(c, c->h ? nbd_get_error() : "out of memory");
}

void nbd__conn_connecting(struct nbd_conn *c)
{
	struct nbd_blk *b = c->b;

	if (nbd_aio_is_connecting(c->h) &&
	    ovb_now_us() - c->attempt_at_us < b->timeout_s * 1000000ull)
		return;
	if (!nbd_aio_is_ready(c->h)) {
		conn_lost(c, nbd_aio_is_connecting(c->h)
				     ? "connecting timed out"
				     : nbd_get_error());
		return;
	}
	if (conn_check_up(c)) {
		conn_lost(c, "the export changed");
		return;
	}
	/* A disk on our wire never hands libnbd a multi-iovec request. */
	if (!nbd__wire_start(c) && b->wire) {
		conn_lost(c, "the handshake changed (TLS or structured replies)");
		return;
	}
	c->state = NBD_UP;
	c->retry_ms = NBD_RETRY_MIN_MS;
	nbd__ledger_conn_up(b, c, nbd_aio_get_fd(c->h));
	__atomic_fetch_add(&b->n_conns, 1, __ATOMIC_RELAXED);
	if (c->ever_up) {
		NBD_COUNT(b, n_reconnects, 1);
		ovb_warn("blk %s: reconnected; %u lost requests sent again",
			 b->blk.name, c->resent);
	}
	c->ever_up = true;
	c->resent = 0;
}

void nbd__conn_issue(struct nbd_conn *c)
{
	struct nbd_io *io;

	if (c->state == NBD_DOWN && c->pending.head &&
	    ovb_now_us() >= c->attempt_at_us)
		nbd__conn_connect(c);
	if (c->state == NBD_CONNECTING)
		nbd__conn_connecting(c);
	while (c->state == NBD_UP && (io = c->pending.head) != NULL) {
		int rc;

		nbd_list_unlink(&c->pending, io);
		rc = conn_io_issue(c, io);
		if (rc == 0)
			continue;
		if (nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)) {
			nbd_list_push(&c->pending, io);
			conn_lost(c, nbd_get_error());
		} else {
			c->complete(c, io, rc); /* refused: too large, ... */
		}
	}
	if (c->state == NBD_UP && c->w.tx)
		nbd__wire_send(c); /* the batch: one sendmsg */
}

/* Fail what waits past its deadline; true if one in flight is past it. */
static bool conn_deadlines(struct nbd_conn *c, uint64_t now)
{
	struct nbd_io *io, *next;

	for (io = c->pending.head; io; io = next) {
		next = io->next;
		if (now >= io->deadline_us) {
			nbd_list_unlink(&c->pending, io);
			NBD_COUNT(c->b, n_timeouts, 1);
			c->complete(c, io, -ETIMEDOUT);
		}
	}
	for (io = c->inflight.head; io; io = io->next)
		if (now >= io->deadline_us)
			return true;
	return false;
}

/* Drop a hung connection: in-flight requests past their deadline fail. */
static void conn_hung(struct nbd_conn *c, uint64_t now)
{
	struct nbd_io *io, *next;

	for (io = c->inflight.head; io; io = next) {
		next = io->next;
		if (now >= io->deadline_us) {
			nbd_list_unlink(&c->inflight, io);
			NBD_COUNT(c->b, n_timeouts, 1);
			c->complete(c, io, -ETIMEDOUT);
		}
	}
	ovb_warn("blk %s: the server did not answer within %u s",
		 c->b->blk.name, c->b->timeout_s);
	conn_lost(c, "no answer");
}

void nbd__conn_after_io(struct nbd_conn *c)
{
	uint64_t now;

	if (c->state == NBD_CONNECTING)
		nbd__conn_connecting(c);
	if (c->state == NBD_UP && c->w.err)
		conn_lost(c, c->w.err);
	else if (c->state == NBD_UP &&
		 (nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)))
		conn_lost(c, nbd_get_error() ? nbd_get_error() : "closed");
	conn_sort_finished(c);
	now = ovb_now_us();
	if (conn_deadlines(c, now))
		conn_hung(c, now);
}

uint64_t nbd__conn_due_us(const struct nbd_conn *c)
{
	const struct nbd_list *lists[] = { &c->pending, &c->inflight };
	uint64_t until = UINT64_MAX;

	for (size_t i = 0; i < 2; i++)
		for (struct nbd_io *io = lists[i]->head; io; io = io->next)
			if (io->deadline_us < until)
				until = io->deadline_us;
	if (c->state == NBD_DOWN && c->pending.head &&
	    c->attempt_at_us < until)
		until = c->attempt_at_us;
	/* Connecting: look again in short steps (libnbd may change fds). */
	if (c->state == NBD_CONNECTING) {
		uint64_t soon = ovb_now_us() + 20000;

		if (soon < until)
			until = soon;
	}
	return until;
}

static bool io_cancelled(const struct nbd_io *io)
{
	return __atomic_load_n(&io->q->cancel, __ATOMIC_ACQUIRE);
}

/* Fail the cancelled requests waiting on @c->pending. */
static void conn_cancel_pending(struct nbd_conn *c, bool resent)
{
	struct nbd_io *io, *next;

	for (io = c->pending.head; io; io = next) {
		next = io->next;
		if (!io_cancelled(io))
			continue;
		nbd_list_unlink(&c->pending, io);
		if (resent && c->resent)
			c->resent--;
		c->complete(c, io, -ECANCELED);
	}
}

void nbd__conn_cancel(struct nbd_conn *c)
{
	bool sent = false;

	conn_cancel_pending(c, false);
	for (struct nbd_io *io = c->inflight.head; io && !sent; io = io->next)
		sent = io_cancelled(io);
	if (!sent)
		return;
	/* Answers that already came stay answers; the rest wait again. */
	conn_lost(c, "requests cancelled");
	conn_cancel_pending(c, true);
}

void nbd__conn_fini(struct nbd_conn *c)
{
	if (c->state == NBD_UP)
		__atomic_fetch_sub(&c->b->n_conns, 1, __ATOMIC_RELAXED);
	c->state = NBD_DOWN;
	conn_close_handle(c);
}

size_t nbd__sock_unread(int fd)
{
	int n = 0;

	return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n
								  : 0;
}

size_t nbd__answers_bytes(const struct nbd_conn *c, unsigned n)
{
	size_t sum = 0;

	for (const struct nbd_io *io = c->finished.tail; io && n;
	     io = io->prev, n--)
		sum += 16 + (io->req->op == OVB_BLK_READ && !io->fua_flush
				     ? io->req->len
				     : 0);
	return sum;
}
