// SPDX-License-Identifier: MIT
/*
 * The NBD backend's own transmission phase (wire=own, the default, for
 * both ways of driving a connection): after libnbd's handshake the
 * connection's socket is ours.  A ring batch's requests go out in one sendmsg (a WRITE's
 * payload as iovecs of the guest pages, no copy); the server's simple
 * replies come in with one recv into a buffer per round and are parsed
 * there, a READ's data copied to the guest pages, or read straight into
 * them (readv) once its header is known and the rest is large.  Layer:
 * backends (private; see blk_nbd_priv.h).  Wire format:
 * include/openvmbus/wire/nbd.h, docs/wire.md B19.
 *
 * The socket after the handshake: libnbd reads exactly the bytes of the
 * handshake message it expects next (no read-ahead; with TLS gnutls would
 * buffer, so a TLS connection stays libnbd's), and nbd_close() only closes
 * the socket (no NBD_CMD_DISC).  So from NBD_UP on the handle is kept for
 * its getters and its close, and libnbd is never driven again: no
 * nbd_aio_notify_*, no nbd_aio_* command on that handle.
 *
 * A hostile server breaks nothing: every reply passes one validator
 * (magic, a cookie of a request in flight and fully sent, an error value
 * the protocol defines); a violation, a hang-up (also in the middle of a
 * READ's data) or a socket error sets w.err, and the connection code
 * (blk_nbd_conn.c) drops the connection as it does any loss: answers
 * taken before stand, the rest are sent again on the next connection
 * within their deadlines, FLUSHes follow the ledger.  Replies are simple
 * only: the handle never asks for structured replies on this path, and a
 * server MUST NOT send them unless asked (NBD protocol, "Structured reply
 * chunk message"); a structured magic is a violation like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "backend/blk_nbd_priv.h"
#include "openvmbus/deadline.h"

#define NBD_WIRE_RX (256u * 1024)      /* receive buffer */
#ifndef NBD_WIRE_DIRECT_MIN /* a build may set it to compare: -D... */
#define NBD_WIRE_DIRECT_MIN (16u * 1024) /* READ data read in place */
#endif
#define NBD_WIRE_SNDBUF (1 << 20)      /* SO_SNDBUF asked for */
#define NBD_WIRE_IOV 256               /* iovecs per sendmsg / readv */
#define NBD_WIRE_MAX_PAYLOAD (32u << 20) /* without a server maximum */
#define NBD_WIRE_RECV_ROUNDS 64        /* full buffers per call */

/* A request's type on the wire. */
static uint16_t wire_type(const struct nbd_io *io)
{
	if (io->fua_flush)
		return NBD_CMD_FLUSH;
	switch (io->req->op) {
	case OVB_BLK_READ:
		return NBD_CMD_READ;
	case OVB_BLK_WRITE:
		return NBD_CMD_WRITE;
	case OVB_BLK_FLUSH:
		return NBD_CMD_FLUSH;
	case OVB_BLK_DISCARD:
		return NBD_CMD_TRIM;
	default:
		return NBD_CMD_WRITE_ZEROES;
	}
}

static bool wire_is_write(const struct nbd_io *io)
{
	return !io->fua_flush && io->req->op == OVB_BLK_WRITE;
}

static bool wire_is_read(const struct nbd_io *io)
{
	return !io->fua_flush && io->req->op == OVB_BLK_READ;
}

/* Bytes @io puts on the wire: the request, and a WRITE's payload. */
static size_t wire_len(const struct nbd_io *io)
{
	return sizeof(io->hdr) + (wire_is_write(io) ? io->req->len : 0);
}

bool nbd__wire_start(struct nbd_conn *c)
{
	struct nbd_wire *w = &c->w;
	int64_t max;

	if (!c->b->wire || nbd_get_tls_negotiated(c->h) == 1 ||
	    nbd_get_structured_replies_negotiated(c->h) == 1)
		return false;
	w->fd = nbd_aio_get_fd(c->h);
	w->rx = malloc(NBD_WIRE_RX);
	/* libnbd's sockets are non-blocking; readv relies on it. */
	if (w->fd < 0 || !w->rx ||
	    fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK) < 0) {
		free(w->rx);
		w->rx = NULL;
		return false;
	}
	/* A batch of large writes in as few sendmsg as the kernel allows
	 * (capped by net.core.wmem_max; best effort). */
	if (setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &(int){ NBD_WIRE_SNDBUF },
		       sizeof(int)) < 0) {
		/* the default buffer: more partial sends, nothing else */
	}
	max = nbd_get_block_size(c->h, LIBNBD_SIZE_MAXIMUM);
	w->max_payload = max > 0 && max < NBD_WIRE_MAX_PAYLOAD
				 ? (uint32_t)max
				 : NBD_WIRE_MAX_PAYLOAD;
	w->next_cookie = 1;
	w->err = NULL;
	w->disc = false;
	w->tx = w->rd = NULL;
	w->tx_off = w->rx_len = 0;
	w->rd_off = 0;
	w->on = true;
	return true;
}

/* NBD_CMD_DISC, best effort: only between whole requests. */
static void wire_disc(struct nbd_wire *w)
{
	struct nbd_request r = {
		.magic = htobe32(NBD_REQUEST_MAGIC),
		.type = htobe16(NBD_CMD_DISC),
	};

	if (send(w->fd, &r, sizeof(r), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* the server is gone or not reading: the close says it */
	}
}

void nbd__wire_stop(struct nbd_conn *c)
{
	struct nbd_wire *w = &c->w;

	if (!w->on)
		return;
	/* A clean end (or the server's ESHUTDOWN, which asks for it). */
	if ((!w->err || w->disc) && !w->tx_off)
		wire_disc(w);
	free(w->rx);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int nbd__wire_queue(struct nbd_conn *c, struct nbd_io *io)
{
	struct nbd_wire *w = &c->w;
	struct ovb_blk_req *req = io->req;
	uint16_t type = wire_type(io), flags = 0;
	uint64_t off = req->off, len = req->len;

	if (type == NBD_CMD_FLUSH) {
		off = len = 0;
	} else if (type == NBD_CMD_READ || type == NBD_CMD_WRITE) {
		if (len > w->max_payload)
			return -EINVAL;
	} else if (len > UINT32_MAX) {
		return -EINVAL;
	}
	if (type == NBD_CMD_WRITE && req->fua && c->b->can_fua)
		flags |= NBD_CMD_FLAG_FUA;
	io->cookie = w->next_cookie++;
	io->sent = false;
	io->hdr.magic = htobe32(NBD_REQUEST_MAGIC);
	io->hdr.flags = htobe16(flags);
	io->hdr.type = htobe16(type);
	io->hdr.cookie = htobe64(io->cookie);
	io->hdr.offset = htobe64(off);
	io->hdr.length = htobe32((uint32_t)len);
	if (!w->tx) {
		w->tx = io;
		w->tx_off = 0;
	}
	if (type == NBD_CMD_READ && len >= NBD_WIRE_DIRECT_MIN)
		w->big_reads++;
	return 0;
}

/* Append @len bytes at @base to @v, less the first *@skip; false: full. */
static bool wire_seg(struct iovec *v, int *n, size_t *skip, void *base,
		     size_t len)
{
	if (*skip >= len) {
		*skip -= len;
		return true;
	}
	if (*n == NBD_WIRE_IOV)
		return false;
	v[*n].iov_base = (char *)base + *skip;
	v[*n].iov_len = len - *skip;
	*skip = 0;
	(*n)++;
	return true;
}

/* Gather what waits to be sent into @v; returns its bytes. */
static size_t wire_gather(struct nbd_wire *w, struct iovec *v, int *n)
{
	size_t skip = w->tx_off, total = 0;

	*n = 0;
	for (struct nbd_io *io = w->tx; io; io = io->next) {
		const struct ovb_blk_req *req = io->req;
		bool ok = wire_seg(v, n, &skip, &io->hdr, sizeof(io->hdr));

		if (ok && wire_is_write(io)) {
			if (io->bounce)
				ok = wire_seg(v, n, &skip, io->bounce, req->len);
			for (int i = 0; ok && !io->bounce && i < req->iovcnt;
			     i++)
				ok = wire_seg(v, n, &skip, req->iov[i].iov_base,
					      req->iov[i].iov_len);
		}
		if (!ok)
			break;
	}
	for (int i = 0; i < *n; i++)
		total += v[i].iov_len;
	return total;
}

void nbd__wire_send(struct nbd_conn *c)
{
	struct nbd_wire *w = &c->w;
	struct iovec v[NBD_WIRE_IOV];

	while (w->on && !w->err && w->tx) {
		struct msghdr msg = { .msg_iov = v };
		int cnt;
		size_t want = wire_gather(w, v, &cnt), left;
		ssize_t n;

		msg.msg_iovlen = (size_t)cnt;
		n = sendmsg(w->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				w->err = "send failed";
			return;
		}
		for (left = (size_t)n; left && w->tx;) {
			size_t rest = wire_len(w->tx) - w->tx_off;

			if (left < rest) {
				w->tx_off += left;
				break;
			}
			left -= rest;
			w->tx->sent = true;
			w->tx = w->tx->next;
			w->tx_off = 0;
		}
		if ((size_t)n < want)
			return; /* the socket is full: POLLOUT brings us back */
	}
}

/* @io answered with @err (a positive errno, 0 = success). */
static void wire_finish(struct nbd_conn *c, struct nbd_io *io, int err)
{
	if (wire_is_read(io) && io->req->len >= NBD_WIRE_DIRECT_MIN &&
	    c->w.big_reads)
		c->w.big_reads--;
	io->err = err;
	nbd_list_unlink(&c->inflight, io);
	nbd_list_push(&c->finished, io);
}

/* The request in flight with @cookie, fully sent; NULL: none. */
static struct nbd_io *wire_find(struct nbd_conn *c, uint64_t cookie)
{
	/* Answers mostly come in order: the head is the usual match. */
	for (struct nbd_io *io = c->inflight.head; io; io = io->next)
		if (io->cookie == cookie)
			return io->sent ? io : NULL;
	return NULL;
}

/* An NBD error value as an errno; 0 for one the protocol lacks. */
static int wire_errno(uint32_t e)
{
	switch (e) {
	case NBD_EPERM:
		return EPERM;
	case NBD_EIO:
		return EIO;
	case NBD_ENOMEM:
		return ENOMEM;
	case NBD_EINVAL:
		return EINVAL;
	case NBD_ENOSPC:
		return ENOSPC;
	case NBD_EOVERFLOW:
		return EOVERFLOW;
	case NBD_ENOTSUP:
		return ENOTSUP;
	case NBD_ESHUTDOWN:
		return ESHUTDOWN;
	default:
		return 0;
	}
}

/* Copy what @buf holds of the current READ's data; returns bytes taken. */
static size_t wire_take_data(struct nbd_conn *c, const uint8_t *buf,
			     size_t len)
{
	struct nbd_wire *w = &c->w;
	struct nbd_io *io = w->rd;
	const struct ovb_blk_req *req = io->req;
	size_t take = req->len - w->rd_off < len ? req->len - w->rd_off : len;

	if (io->bounce)
		memcpy((char *)io->bounce + w->rd_off, buf, take);
	else
		ovb_blk_iov_from_buf(req->iov, req->iovcnt, w->rd_off, buf,
				     take);
	w->rd_off += take;
	if (w->rd_off == req->len) {
		w->rd = NULL;
		wire_finish(c, io, 0);
	}
	return take;
}

/*
 * One reply header at @p: validate it and act on it.  Returns false on a
 * violation (w.err set).
 */
static bool wire_reply(struct nbd_conn *c, const struct nbd_simple_reply *p)
{
	struct nbd_wire *w = &c->w;
	uint32_t magic = be32toh(p->magic), e = be32toh(p->error);
	struct nbd_io *io;
	int err;

	if (magic != NBD_SIMPLE_REPLY_MAGIC) {
		w->err = magic == NBD_STRUCTURED_REPLY_MAGIC
				 ? "a structured reply (never asked for)"
				 : "bad reply magic";
		return false;
	}
	io = wire_find(c, be64toh(p->cookie));
	if (!io) {
		w->err = "a reply to no request in flight (unknown, repeated "
			 "or early cookie)";
		return false;
	}
	if (e == NBD_ESHUTDOWN) {
		/* Not done: sent again on the next connection, after the
		 * NBD_CMD_DISC the protocol asks for. */
		w->err = "the server is shutting down (ESHUTDOWN)";
		w->disc = true;
		return false;
	}
	err = e ? wire_errno(e) : 0;
	if (e && !err) {
		wire_finish(c, io, EIO);
		w->err = "an error value the protocol does not define";
		return false;
	}
	if (!err && wire_is_read(io) && io->req->len) {
		w->rd = io; /* its data follows */
		w->rd_off = 0;
		return true;
	}
	wire_finish(c, io, err);
	return true;
}

/* Parse what the receive buffer holds; keep a partial header. */
static void wire_parse(struct nbd_conn *c)
{
	struct nbd_wire *w = &c->w;
	size_t pos = 0;

	while (!w->err) {
		if (w->rd) {
			if (pos == w->rx_len)
				break;
			pos += wire_take_data(c, w->rx + pos, w->rx_len - pos);
			continue;
		}
		if (w->rx_len - pos < sizeof(struct nbd_simple_reply))
			break;
		if (!wire_reply(c, (const void *)(w->rx + pos)))
			break;
		pos += sizeof(struct nbd_simple_reply);
	}
	if (w->err)
		return;
	memmove(w->rx, w->rx + pos, w->rx_len - pos);
	w->rx_len -= pos;
}

/*
 * How far a read into the buffer may go.  While a READ whose data goes
 * in place may be answered next, no further than the next reply header:
 * a recv into the whole buffer would take that data too, and copy it
 * again from there (128k reads: half the host's CPU was that second
 * copy).  The header read, its data goes straight to the guest pages.
 */
static size_t wire_rx_room(const struct nbd_wire *w)
{
	size_t hdr = sizeof(struct nbd_simple_reply);
	size_t rest = w->rd ? w->rd->req->len - w->rd_off : 0;
	unsigned others = w->big_reads -
			  (w->rd && w->rd->req->len >= NBD_WIRE_DIRECT_MIN);

	if (!others || w->rx_len > hdr || rest + hdr > NBD_WIRE_RX - w->rx_len)
		return NBD_WIRE_RX - w->rx_len;
	return rest + hdr - w->rx_len;
}

/* The current READ's data still to come, in place, then the buffer. */
static int wire_direct_iov(struct nbd_wire *w, struct iovec *v)
{
	const struct ovb_blk_req *req = w->rd->req;
	size_t skip = w->rd_off;
	int n = 0;

	if (w->rd->bounce) {
		wire_seg(v, &n, &skip, w->rd->bounce, req->len);
	} else {
		for (int i = 0; i < req->iovcnt && n < NBD_WIRE_IOV - 1; i++)
			wire_seg(v, &n, &skip, req->iov[i].iov_base,
				 req->iov[i].iov_len);
	}
	v[n].iov_base = w->rx;
	v[n].iov_len = w->big_reads > 1 ? sizeof(struct nbd_simple_reply)
					: NBD_WIRE_RX;
	return n + 1;
}

/* One read from the socket; returns bytes, 0 at a hang-up, -errno. */
static ssize_t wire_read_once(struct nbd_conn *c, size_t *asked)
{
	struct nbd_wire *w = &c->w;
	ssize_t n;

	if (w->rd && !w->rx_len &&
	    w->rd->req->len - w->rd_off >= NBD_WIRE_DIRECT_MIN) {
		struct iovec v[NBD_WIRE_IOV];
		int cnt = wire_direct_iov(w, v);
		size_t in_place = 0;

		*asked = 0;
		for (int i = 0; i < cnt; i++)
			*asked += v[i].iov_len;
		n = readv(w->fd, v, cnt);
		if (n <= 0)
			return n < 0 ? -errno : 0;
		for (int i = 0; i < cnt - 1; i++)
			in_place += v[i].iov_len;
		if ((size_t)n <= in_place) {
			w->rd_off += (size_t)n;
		} else {
			w->rd_off += in_place;
			w->rx_len = (size_t)n - in_place;
		}
		if (w->rd_off == w->rd->req->len) {
			struct nbd_io *io = w->rd;

			w->rd = NULL;
			wire_finish(c, io, 0);
		}
		return n;
	}
	*asked = wire_rx_room(w);
	n = recv(w->fd, w->rx + w->rx_len, *asked, MSG_DONTWAIT);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	w->rx_len += (size_t)n;
	return n;
}

void nbd__wire_recv(struct nbd_conn *c)
{
	struct nbd_wire *w = &c->w;

	for (int i = 0; i < NBD_WIRE_RECV_ROUNDS && w->on && !w->err; i++) {
		size_t asked;
		ssize_t n = wire_read_once(c, &asked);

		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n < 0) {
			w->err = "receive failed";
			return;
		}
		if (n == 0) {
			/* Whole answers before the end were taken already. */
			w->err = w->rd || w->rx_len ? "the server hung up in "
						      "the middle of an answer"
						    : "the server hung up";
			return;
		}
		wire_parse(c);
		if ((size_t)n < asked)
			return; /* the socket is drained */
	}
}

/*
 * The hold.  A WRITE's answer is a bare 16-byte header, sent alone by
 * whichever server thread finished it; each one that finds the owner
 * asleep wakes it, and without the hold the owner hands the 1-3 answers
 * it found to the guest at once (one signal), the guest resubmits as
 * many, and the next batch out is as small (docs/remote.md, "4k
 * randwrite at QD32").  So after a read that took answers, while more
 * requests are still in flight than were answered, the owner waits on
 * the socket for the next ones -- sleeping, not spinning: the server
 * needs the CPU -- up to @hold_us in all.  A lone request (QD1) is never
 * held: nothing else is in flight once it is answered.  Nor while a send
 * is pending (POLLOUT is the owner's epoll set's business) or after an
 * error (the connection code handles it).  A signal ends the hold.
 */
unsigned nbd__wire_hold(struct nbd_conn *c, unsigned answered,
			unsigned hold_us)
{
	struct nbd_wire *w = &c->w;
	unsigned took = 0;
	uint64_t until;

	if (!hold_us || !answered)
		return 0;
	until = ovb_now_us() + hold_us;
	while (w->on && !w->err && !w->tx &&
	       c->inflight.n > answered + took) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		uint64_t now = ovb_now_us(), left;
		unsigned before = c->finished.n;
		struct timespec ts;

		if (now >= until)
			break;
		left = until - now;
		ts.tv_sec = (time_t)(left / 1000000);
		ts.tv_nsec = (long)(left % 1000000) * 1000;
		if (ppoll(&p, 1, &ts, NULL) <= 0)
			break; /* the bound, or a signal */
		nbd__wire_recv(c);
		took += c->finished.n - before;
	}
	return took;
}
