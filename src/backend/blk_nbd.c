// SPDX-License-Identifier: MIT
/*
 * The NBD block backend: a disk served by an NBD server (nbdkit,
 * qemu-storage-daemon, rbd-nbd, appliances), named by the standard URIs
 * nbd://HOST[:PORT]/EXPORT and nbd+unix:///EXPORT?socket=PATH: libnbd
 * makes every handshake; the transmission phase is ours
 * (blk_nbd_wire.c; wire=libnbd, TLS or structured replies leave it to
 * libnbd's asynchronous API).  Layer: backends.  This file: open
 * (the handshake, the export's geometry and features), close, the
 * counters, and what both ways of driving connections share -- a request's
 * life at either end and the durability ledger.  How a disk is driven is
 * chosen at open (blk_nbd_priv.h): a connection per queue driven by its
 * owner when the server advertises multi-conn (blk_nbd_own.c), else one
 * connection and an engine thread (blk_nbd_engine.c); one connection's
 * commands, faults and reconnects are blk_nbd_conn.c.
 *
 * Data: one iovec goes to libnbd as it is (zero copy), more through one
 * bounce buffer (one NBD command).  WRITE+FUA -> NBD_CMD_WRITE+FUA (or
 * WRITE then FLUSH), FLUSH -> NBD_CMD_FLUSH (nothing if the server has no
 * cache), DISCARD -> NBD_CMD_TRIM (discard_unzeroed), WRITE_ZEROES ->
 * NBD_CMD_WRITE_ZEROES, each only when the server offers it.
 *
 * Durability across a loss (the ledger): writes acknowledged but not yet
 * covered by a successful FLUSH may have been in the dead server's
 * volatile cache.  Every FLUSH that covers one of them fails with -EIO
 * (and so does a FLUSH lost with the connection), until one covering all
 * of them has failed: the guest has then been told, and a flush on a new
 * connection vouches only for what that connection carried.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/blk_nbd_priv.h"
#include "backend/blk_scheme.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

void nbd__wake_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* only fails if the counter would overflow: still readable */
	}
}

/* ---- a request's two ends ------------------------------------------------ */

struct nbd_io *nbd__io_new(struct nbd_queue *nq, struct ovb_blk_req *req)
{
	struct nbd_blk *b = nbd_of(nq->q.blk);
	struct nbd_io *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	io->req = req;
	io->q = nq;
	io->deadline_us = ovb_now_us() + b->timeout_s * 1000000ull;
	NBD_COUNT(b, n_req, 1);
	/* Our wire sends and fills the iovecs themselves. */
	if ((req->op == OVB_BLK_READ || req->op == OVB_BLK_WRITE) &&
	    req->iovcnt > 1 && !b->wire) {
		NBD_COUNT(b, n_bounced, 1);
		io->bounce = malloc(req->len);
		if (!io->bounce) {
			free(io);
			return NULL;
		}
		if (req->op == OVB_BLK_WRITE)
			ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0,
					   io->bounce, req->len);
	}
	return io;
}

void nbd__io_deliver(struct nbd_queue *nq, struct nbd_io *io)
{
	struct ovb_blk_req *req = io->req;
	int res = req->b_res;

	if (io->bounce && res == 0 && req->op == OVB_BLK_READ)
		ovb_blk_iov_from_buf(req->iov, req->iovcnt, 0, io->bounce,
				     req->len);
	if (res < 0)
		NBD_COUNT(nbd_of(nq->q.blk), n_failed, 1);
	free(io->bounce);
	free(io);
	nq->q.inflight--;
	req->done(req, res);
}

/* ---- the durability ledger ----------------------------------------------- */

uint64_t nbd__ledger_flush_seq(struct nbd_blk *b)
{
	uint64_t seq;

	pthread_mutex_lock(&b->dlock);
	seq = b->acked_seq;
	pthread_mutex_unlock(&b->dlock);
	return seq;
}

void nbd__ledger_write_acked(struct nbd_blk *b)
{
	pthread_mutex_lock(&b->dlock);
	b->acked_seq++;
	pthread_mutex_unlock(&b->dlock);
}

void nbd__ledger_lost(struct nbd_blk *b)
{
	pthread_mutex_lock(&b->dlock);
	if (b->can_flush && b->acked_seq > b->flushed_seq) {
		/* flushed_seq < lost_lo always: the range only grows. */
		b->lost_lo = b->flushed_seq + 1;
		b->lost_hi = b->acked_seq;
	}
	pthread_mutex_unlock(&b->dlock);
}

bool nbd__ledger_poisoned(struct nbd_blk *b, uint64_t seq)
{
	bool p;

	pthread_mutex_lock(&b->dlock);
	p = b->lost_hi && seq >= b->lost_lo;
	pthread_mutex_unlock(&b->dlock);
	return p;
}

void nbd__ledger_conn_up(struct nbd_blk *b, struct nbd_conn *c, int fd)
{
	pthread_mutex_lock(&b->dlock);
	c->ledger_fd = fd;
	c->ledger_next = b->conns;
	b->conns = c;
	pthread_mutex_unlock(&b->dlock);
}

void nbd__ledger_conn_down(struct nbd_blk *b, struct nbd_conn *c)
{
	pthread_mutex_lock(&b->dlock);
	for (struct nbd_conn **pp = &b->conns; *pp; pp = &(*pp)->ledger_next)
		if (*pp == c) {
			*pp = c->ledger_next;
			break;
		}
	c->ledger_fd = -1;
	c->ledger_next = NULL;
	pthread_mutex_unlock(&b->dlock);
}

/*
 * True if a connection other than @c has been hung up by the server,
 * unnoticed by its owner so far (b->dlock held: the sockets stay open).
 * A restarted server closed every old connection before a new one could
 * reach it, so a flush on a new connection finds the old ones hung up.
 */
static bool ledger_other_hung_up(struct nbd_blk *b, struct nbd_conn *c)
{
	for (struct nbd_conn *o = b->conns; o; o = o->ledger_next) {
		struct pollfd pfd = { .fd = o->ledger_fd, .events = POLLRDHUP };

		if (o == c || o->ledger_fd < 0)
			continue;
		if (poll(&pfd, 1, 0) == 1 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return true;
	}
	return false;
}

int nbd__ledger_flush_done(struct nbd_blk *b, struct nbd_conn *c,
			   uint64_t seq, int res)
{
	bool failed = false;

	if (res != 0)
		return res; /* the server's own error: nothing settled */
	pthread_mutex_lock(&b->dlock);
	if (b->can_flush && seq > b->flushed_seq &&
	    ledger_other_hung_up(b, c)) {
		b->lost_lo = b->flushed_seq + 1;
		b->lost_hi = b->acked_seq;
	}
	if (b->lost_hi && seq >= b->lost_lo) {
		/* The guest hears of the writes up to seq now. */
		failed = true;
		if (seq >= b->lost_hi)
			b->lost_lo = b->lost_hi = 0;
		else
			b->lost_lo = seq + 1;
	}
	if (seq > b->flushed_seq)
		b->flushed_seq = seq;
	pthread_mutex_unlock(&b->dlock);
	if (!failed)
		return 0;
	ovb_warn("blk %s: a flush fails: writes acknowledged before a "
		 "connection was lost may not be stable",
		 b->blk.name);
	return -EIO;
}

/* ---- the disk -------------------------------------------------------------- */

int nbd__blk_stats(struct ovb_blk *blk, struct ovb_blk_stats *st)
{
	struct nbd_blk *b = nbd_of(blk);

	st->requests = __atomic_load_n(&b->n_req, __ATOMIC_RELAXED);
	st->connections = __atomic_load_n(&b->n_conns, __ATOMIC_RELAXED);
	st->reconnects = __atomic_load_n(&b->n_reconnects, __ATOMIC_RELAXED);
	st->timeouts = __atomic_load_n(&b->n_timeouts, __ATOMIC_RELAXED);
	st->failed = __atomic_load_n(&b->n_failed, __ATOMIC_RELAXED);
	return 0;
}

void nbd__blk_close(struct ovb_blk *blk)
{
	struct nbd_blk *b = nbd_of(blk);

	if (!b->own)
		nbd__engine_stop(b);
	ovb_info("blk %s: %llu requests, %llu through the bounce buffer, "
		 "%llu reconnects, %llu timeouts, %llu failed%s",
		 blk->name, (unsigned long long)b->n_req,
		 (unsigned long long)b->n_bounced,
		 (unsigned long long)b->n_reconnects,
		 (unsigned long long)b->n_timeouts,
		 (unsigned long long)b->n_failed,
		 b->own ? "; a connection per queue" : "");
	pthread_mutex_destroy(&b->dlock);
	free(b);
}

/* ---- open --------------------------------------------------------------- */

/* Connect @h to the URI within the deadline; 0 or a negative errno. */
static int nbd_connect_sync(struct nbd_blk *b, struct nbd_handle *h)
{
	struct timespec dl;
	int e;

	ovb_deadline_ms(&dl, (long)b->timeout_s * 1000);
	if (nbd_aio_connect_uri(h, b->uri) == 0) {
		while (nbd_aio_is_connecting(h) && !ovb_deadline_passed(&dl))
			if (nbd_poll(h, (int)ovb_deadline_left_ms(&dl) + 1) < 0)
				break;
		if (nbd_aio_is_ready(h))
			return 0;
		if (nbd_aio_is_connecting(h)) {
			ovb_err("blk %s: no NBD handshake within %u s",
				b->uri, b->timeout_s);
			return -ETIMEDOUT;
		}
	}
	e = nbd_get_errno();
	ovb_err("blk %s: cannot connect: %s", b->uri, nbd_get_error());
	return e > 0 ? -e : -EIO;
}

/* Take the export's geometry and features from the live handle @h. */
static int nbd_probe(struct nbd_blk *b, struct nbd_handle *h,
		     const struct ovb_disk_spec *spec)
{
	uint32_t bs = spec->sector ? spec->sector : 512;
	int64_t size = nbd_get_size(h);
	int64_t min = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
	int ro = nbd_is_read_only(h);

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
	b->can_fua = nbd_can_fua(h) == 1;
	b->can_flush = nbd_can_flush(h) == 1;
	b->blk.no_fua = !b->can_fua;
	b->blk.no_write_cache = !b->can_flush;
	b->blk.can_discard = !b->blk.read_only && nbd_can_trim(h) == 1;
	b->blk.discard_unzeroed = true;
	b->blk.can_zero = !b->blk.read_only && nbd_can_zero(h) == 1;
	return 0;
}

/* One "key=value" of @spec->opts into @val (empty if absent). */
static void nbd_opt(const struct ovb_disk_spec *spec, const char *key,
		    char *val, size_t len)
{
	size_t klen = strlen(key);

	val[0] = '\0';
	for (const char *p = spec->opts; p && *p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, key, klen) || p[klen] != '=')
			continue;
		p += klen + 1;
		snprintf(val, len, "%.*s", (int)strcspn(p, ","), p);
		return;
	}
}

/*
 * NBD's own options: multiconn=on|off (default on),
 * replies=simple|structured (default simple), wire=own|libnbd (who
 * speaks the transmission phase; default own) and hold=US (how long our
 * wire may gather answers before they go to the guest, 0..1000000,
 * default NBD_HOLD_US; blk_nbd_wire.c); -EINVAL if bad.
 */
static int nbd_opts(const struct ovb_disk_spec *spec, bool *multi,
		    bool *structured, bool *wire, unsigned *hold_us)
{
	char v[16], *end;
	unsigned long h;

	nbd_opt(spec, "hold", v, sizeof(v));
	*hold_us = NBD_HOLD_US;
	if (*v) {
		errno = 0;
		h = strtoul(v, &end, 10);
		if (errno || *end || *v == '-' || h > 1000000) {
			ovb_err("blk %s: hold= takes microseconds, 0 to "
				"1000000",
				spec->path);
			return -EINVAL;
		}
		*hold_us = (unsigned)h;
	}

	nbd_opt(spec, "wire", v, sizeof(v));
	*wire = strcmp(v, "libnbd") != 0;
	if (*v && strcmp(v, "own") && strcmp(v, "libnbd")) {
		ovb_err("blk %s: wire= takes own or libnbd", spec->path);
		return -EINVAL;
	}

	nbd_opt(spec, "multiconn", v, sizeof(v));
	*multi = strcmp(v, "off") != 0;
	if (*v && strcmp(v, "on") && strcmp(v, "off")) {
		ovb_err("blk %s: multiconn= takes on or off", spec->path);
		return -EINVAL;
	}
	nbd_opt(spec, "replies", v, sizeof(v));
	*structured = !strcmp(v, "structured");
	if (*v && strcmp(v, "simple") && strcmp(v, "structured")) {
		ovb_err("blk %s: replies= takes simple or structured",
			spec->path);
		return -EINVAL;
	}
	return 0;
}

/*
 * A new handle.  Simple replies unless the spec asks otherwise: a read's
 * answer is then one header and the data (two socket reads in libnbd
 * 1.14) instead of a chunk header, an offset and the data; the backend
 * uses nothing structured replies bring (block status, sparse reads).
 */
struct nbd_handle *nbd__handle_new(struct nbd_blk *b)
{
	struct nbd_handle *h = nbd_create();

	if (h && !b->structured &&
	    nbd_set_request_structured_replies(h, false) < 0) {
		nbd_close(h);
		return NULL;
	}
	return h;
}

int ovb_blk_nbd_open(const struct ovb_disk_spec *spec, struct ovb_blk **out)
{
	struct nbd_blk *b;
	struct nbd_handle *h;
	bool multi, structured, wire;
	unsigned hold_us;
	int rc;

	if (!spec || !out ||
	    nbd_opts(spec, &multi, &structured, &wire, &hold_us))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->structured = structured;
	b->hold_us = hold_us;
	snprintf(b->uri, sizeof(b->uri), "%s", spec->path);
	b->timeout_s = spec->timeout_s ? spec->timeout_s : NBD_TIMEOUT_S;
	snprintf(b->blk.name, sizeof(b->blk.name), "%.63s", spec->path);
	b->blk.remote = true;
	pthread_mutex_init(&b->dlock, NULL);
	nbd__conn_init(&b->conn, b);
	h = nbd__handle_new(b);
	if (!h) {
		rc = -ENOMEM;
		goto err_b;
	}
	if ((rc = nbd_connect_sync(b, h)) != 0 ||
	    (rc = nbd_probe(b, h, spec)) != 0)
		goto err_handle;
	b->own = multi && nbd_can_multi_conn(h) == 1;
	/* Our transmission phase: plain sockets, simple replies; anything
	 * else stays libnbd's. */
	b->wire = wire && nbd_get_structured_replies_negotiated(h) != 1 &&
		  nbd_get_tls_negotiated(h) != 1;
	ovb_info("blk %s: %s, %s replies, %s transmission", b->blk.name,
		 b->own ? "a connection per queue (multi-conn)"
			: "one connection, an engine thread",
		 nbd_get_structured_replies_negotiated(h) == 1 ? "structured"
							      : "simple",
		 b->wire ? "our own" : "libnbd's");
	if (b->own) {
		/* Each queue makes its own; this one only probed. */
		b->blk.ops = &nbd__own_ops;
		nbd_close(h);
	} else {
		b->blk.ops = &nbd__engine_ops;
		b->conn.h = h;
		if (b->wire && !nbd__wire_start(&b->conn)) {
			b->conn.h = NULL;
			rc = -ENOMEM;
			goto err_handle;
		}
		b->conn.state = NBD_UP;
		b->conn.ever_up = true;
		b->n_conns = 1;
		nbd__ledger_conn_up(b, &b->conn, nbd_aio_get_fd(h));
		if ((rc = nbd__engine_start(b)) != 0)
			goto err_handle;
	}
	*out = &b->blk;
	return 0;

err_handle:
	nbd__wire_stop(&b->conn); /* only if it started */
	nbd_close(h);
err_b:
	pthread_mutex_destroy(&b->dlock);
	free(b);
	return rc;
}
