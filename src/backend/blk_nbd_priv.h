/* SPDX-License-Identifier: MIT */
/*
 * The NBD backend's insides, shared by its three files: blk_nbd.c (open,
 * the ops tables, what both ways of driving a connection have in common,
 * the durability ledger), blk_nbd_conn.c (one connection: issue, reply,
 * loss, reconnect, deadlines), blk_nbd_own.c (a connection per queue,
 * driven by the queue's owner), blk_nbd_wire.c (our own transmission
 * phase after libnbd's handshake, for both) and blk_nbd_engine.c (one
 * connection per disk, driven by an engine thread).  Layer: backends
 * (private).
 *
 * Which one a disk uses is decided at open: a server that advertises
 * NBD_FLAG_CAN_MULTI_CONN gets a connection per queue (each storvsp
 * channel worker drives its own libnbd handle, no thread hand-over);
 * otherwise the NBD protocol says clients SHOULD NOT spread one export's
 * commands over several connections, and the disk keeps one connection
 * that an engine thread owns.
 */
#ifndef OVB_BACKEND_BLK_NBD_PRIV_H
#define OVB_BACKEND_BLK_NBD_PRIV_H

#include <limits.h>
#include <libnbd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "openvmbus/blk.h"
#include "openvmbus/wire/nbd.h"

#define NBD_TIMEOUT_S 20      /* below the guest's 30 s SCSI timeout */
#define NBD_RETRY_MIN_MS 50   /* first reconnect delay, doubling */
#define NBD_RETRY_MAX_MS 1000 /* ... up to this */
#ifndef NBD_HOLD_US /* a build may set it to compare: -D... */
#define NBD_HOLD_US 0         /* hold=: answers gathered up to this;
				 * off by default (docs/remote.md, "One
				 * channel per submitting thread") */
#endif

struct nbd_queue;
struct nbd_conn;

/** One request on its way through a connection. */
struct nbd_io {
	struct ovb_blk_req *req;
	struct nbd_queue *q;
	uint64_t deadline_us; /* ovb_now_us() when it fails -ETIMEDOUT */
	uint64_t seq;         /* FLUSH: the acknowledged writes it covers */
	void *bounce;         /* more than one iovec: the one buffer */
	struct nbd_conn *conn; /* the connection it is on (callbacks) */
	int err;              /* the engine's errno, 0 = success */
	bool fua_flush;       /* a fua write awaiting its emulating FLUSH */
	bool sent;            /* own wire: request (and payload) all sent */
	uint64_t cookie;      /* own wire: the request's cookie */
	struct nbd_request hdr; /* own wire: the request as sent */
	struct nbd_io *prev, *next;
};

/*
 * Our own transmission phase on a connection whose handshake libnbd made
 * (blk_nbd_wire.c): the socket is ours from NBD_UP on; libnbd keeps the
 * handle (for its getters, and to close the socket) and is never driven
 * again.
 */
struct nbd_wire {
	bool on;              /* this connection speaks through us */
	int fd;               /* libnbd's socket (nbd_aio_get_fd) */
	const char *err;      /* why the connection is broken, or NULL */
	bool disc;            /* ... and NBD_CMD_DISC is still due */
	uint64_t next_cookie;
	struct nbd_io *tx;    /* first request on inflight not all sent */
	size_t tx_off;        /* bytes of it already sent */
	uint8_t *rx;          /* receive buffer, NBD_WIRE_RX bytes */
	size_t rx_len;        /* bytes in it */
	struct nbd_io *rd;    /* a READ whose data is arriving, or NULL */
	uint64_t rd_off;      /* bytes of its data already taken */
	uint32_t max_payload; /* a READ/WRITE's largest length */
	unsigned big_reads;   /* READs in flight whose data goes in place */
};

/** A list of ios: FIFO, O(1) unlink. */
struct nbd_list {
	struct nbd_io *head, *tail;
	unsigned n;
};

enum nbd_state { NBD_DOWN, NBD_CONNECTING, NBD_UP };

/**
 * One connection to the server and the requests on it.  Touched by one
 * thread at a time: the engine thread, or the queue's owner.
 */
struct nbd_conn {
	struct nbd_blk *b;
	struct nbd_handle *h;
	enum nbd_state state;
	uint64_t attempt_at_us;   /* DOWN: next connect; CONNECTING: started */
	unsigned retry_ms;
	struct nbd_list pending;  /* waiting for a connection */
	struct nbd_list inflight; /* issued on the current connection */
	struct nbd_list finished; /* libnbd's callbacks ran, not yet sorted */
	unsigned resent;          /* lost with a connection, to send again */
	unsigned dry_looks;       /* own mode: looks in a row that found none */
	bool closing;             /* nbd_close() runs: callbacks stand aside */
	bool ever_up;             /* a reconnect, not the first connect */
	struct nbd_wire w;        /* our transmission phase (wire=own) */
	int ledger_fd;            /* socket while UP, under b->dlock */
	struct nbd_conn *ledger_next; /* b->conns, under b->dlock */
	/** Hand @io back to its queue with @res (a negative errno or 0). */
	void (*complete)(struct nbd_conn *c, struct nbd_io *io, int res);
	/** The handle is about to be closed (its fd with it); may be NULL. */
	void (*before_close)(struct nbd_conn *c);
};

/** Per-queue state; the ovb_blk_queue first. */
struct nbd_queue {
	struct ovb_blk_queue q;
	struct nbd_list staged;   /* batch mode, owner's thread only */
	pthread_mutex_t lock;     /* done (engine mode) */
	struct nbd_list done;     /* completed, for ovb_blk_poll() */
	bool cancel;              /* atomic: fail its requests (cancel op) */
	/* Engine mode, the engine thread's: */
	bool wake_queued;         /* on its wake_list */
	struct nbd_queue *wake_next;
	/* Own mode, the owner's: */
	struct nbd_conn conn;     /* this queue's own connection */
	int tfd;                  /* timerfd: deadlines, reconnects */
	int wfd;                  /* eventfd: completions made on the spot */
	int sock;                 /* the socket registered in q.efd, or -1 */
	uint32_t sock_ev;         /* ... with these events */
	uint64_t timer_at_us;     /* tfd armed for this time, 0 = not */
	bool fresh_send;          /* a batch just went out: skip one look */
};

/** The disk. */
struct nbd_blk {
	struct ovb_blk blk;
	char uri[PATH_MAX];
	unsigned timeout_s;
	bool own;                 /* a connection per queue (multi-conn) */
	bool structured;          /* replies=structured */
	bool wire;                /* wire=own: our transmission phase */
	unsigned hold_us;         /* hold=: answers gathered up to this */
	bool can_fua, can_flush;
	/*
	 * The durability ledger, under dlock, shared by every connection:
	 * acked_seq counts writes acknowledged without FUA; a FLUSH covers
	 * those acknowledged before it was sent (on any connection, by the
	 * multi-conn rule); flushed_seq is the highest a successful FLUSH
	 * covered.  A lost connection may take the writes in
	 * (flushed_seq, acked_seq] with the server's volatile cache: they
	 * become lost_lo..lost_hi, and every FLUSH covering any of them
	 * fails with -EIO until one that covers them all has failed.
	 */
	pthread_mutex_t dlock;
	uint64_t acked_seq, flushed_seq, lost_lo, lost_hi;
	struct nbd_conn *conns;   /* the connections up, for the check */
	/* Counters, any thread (atomic): */
	uint64_t n_req, n_bounced, n_reconnects, n_timeouts, n_failed;
	uint64_t n_conns;         /* connections up now */
	/* Engine mode: */
	pthread_t thread;
	int wake;                 /* eventfd: submissions or stop */
	pthread_mutex_t lock;     /* incoming, stop */
	struct nbd_list incoming;
	bool stop;
	bool cancel;              /* a queue asked to cancel (under lock) */
	struct nbd_conn conn;     /* the engine thread's */
	struct nbd_queue *wake_list; /* queues whose eventfd is due */
};

static inline struct nbd_blk *nbd_of(struct ovb_blk *blk)
{
	return (struct nbd_blk *)blk;
}

static inline void nbd_list_push(struct nbd_list *l, struct nbd_io *io)
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

static inline void nbd_list_unlink(struct nbd_list *l, struct nbd_io *io)
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
static inline void nbd_list_splice(struct nbd_list *to, struct nbd_list *from)
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
	from->head = from->tail = NULL;
	from->n = 0;
}

#define NBD_COUNT(b, field, n)                                                 \
	__atomic_fetch_add(&(b)->field, (n), __ATOMIC_RELAXED)

/* ---- blk_nbd.c ---- */

/** A new io for @req on @nq (bounce buffer filled); NULL: -ENOMEM. */
struct nbd_io *nbd__io_new(struct nbd_queue *nq, struct ovb_blk_req *req);
/** Free @io and run its request's callback (the queue owner's thread). */
void nbd__io_deliver(struct nbd_queue *nq, struct nbd_io *io);
/** The sequence number a FLUSH sent now covers. */
uint64_t nbd__ledger_flush_seq(struct nbd_blk *b);
/** A write acknowledged without FUA. */
void nbd__ledger_write_acked(struct nbd_blk *b);
/** A connection was lost: unflushed writes may be gone. */
void nbd__ledger_lost(struct nbd_blk *b);
/** @c is up on socket @fd / about to close (its socket still open). */
void nbd__ledger_conn_up(struct nbd_blk *b, struct nbd_conn *c, int fd);
void nbd__ledger_conn_down(struct nbd_blk *b, struct nbd_conn *c);
/** True if a FLUSH covering @seq covers a write that may be lost. */
bool nbd__ledger_poisoned(struct nbd_blk *b, uint64_t seq);
/**
 * The verdict of a FLUSH covering @seq that the server answered @res on
 * @c: -EIO if it covers writes that may be lost, including on another
 * connection that has died unnoticed (its socket shows the hang-up).
 */
int nbd__ledger_flush_done(struct nbd_blk *b, struct nbd_conn *c,
			   uint64_t seq, int res);
/** A libnbd handle set up as the spec asks (replies=); NULL: -ENOMEM. */
struct nbd_handle *nbd__handle_new(struct nbd_blk *b);
/** The ops' close: stop the engine (if any), free the disk. */
void nbd__blk_close(struct ovb_blk *blk);
/** The ops' stats: the disk's connection counters. */
int nbd__blk_stats(struct ovb_blk *blk, struct ovb_blk_stats *st);
/** Write an eventfd (never blocks). */
void nbd__wake_fd(int fd);

/* ---- blk_nbd_conn.c ---- */

/** Set up @c (DOWN, no handle) for @b. */
void nbd__conn_init(struct nbd_conn *c, struct nbd_blk *b);
/** Start connecting now (DOWN -> CONNECTING, or DOWN again on failure). */
void nbd__conn_connect(struct nbd_conn *c);
/** Drive a connection being made (CONNECTING -> UP or DOWN). */
void nbd__conn_connecting(struct nbd_conn *c);
/** Issue what waits on @c->pending, if the connection is up. */
void nbd__conn_issue(struct nbd_conn *c);
/**
 * After the socket was driven: notice a dead connection, sort what the
 * server answered, fail what reached its deadline (dropping a hung
 * connection).
 */
void nbd__conn_after_io(struct nbd_conn *c);
/** The earliest time @c needs attention without I/O; UINT64_MAX: none. */
uint64_t nbd__conn_due_us(const struct nbd_conn *c);
/**
 * Fail every request on @c whose queue is marked cancel with -ECANCELED
 * (a closing channel's drain ran out of time).  One already sent may
 * still be answered: the connection is dropped first, so no libnbd
 * callback can touch it after it failed; the other queues' requests are
 * sent again on the next connection.
 */
void nbd__conn_cancel(struct nbd_conn *c);
/** Close the handle (nothing may be in flight or waiting). */
void nbd__conn_fini(struct nbd_conn *c);
/** Requests on @c: waiting, in flight or finished. */
unsigned nbd__conn_busy(const struct nbd_conn *c);
/** Bytes waiting in socket @fd (FIONREAD); 0 when none or unknown. */
size_t nbd__sock_unread(int fd);
/**
 * The bytes the simple replies to the last @n requests on @c->finished
 * took off the socket, or more: a 16-byte header, then a READ's data
 * (none after an error, when this counts too much).  With it, answers are
 * taken by count: one notification takes at most one answer (libnbd goes
 * back to READY after each), so a count of the bytes that waited, lowered
 * by this after each notification, never says bytes wait that do not.
 */
size_t nbd__answers_bytes(const struct nbd_conn *c, unsigned n);

/* ---- blk_nbd_wire.c ---- */

/**
 * Take @c's socket over from libnbd if its handshake allows it (no TLS,
 * simple replies); false: libnbd keeps driving it.
 */
bool nbd__wire_start(struct nbd_conn *c);
/** The connection is closing: forget the socket (libnbd closes it). */
void nbd__wire_stop(struct nbd_conn *c);
/** Queue @io's request (it is on @c->inflight); 0 or -EINVAL (too large). */
int nbd__wire_queue(struct nbd_conn *c, struct nbd_io *io);
/** Send what is queued, as far as the socket takes it (one sendmsg). */
void nbd__wire_send(struct nbd_conn *c);
/**
 * Take what the server sent: answered requests move to @c->finished;
 * a violation, a hang-up or a socket error sets @c->w.err.
 */
void nbd__wire_recv(struct nbd_conn *c);
/**
 * After nbd__wire_recv took @answered answers: while more requests are
 * still in flight than were answered, wait (ppoll on the socket) for more
 * answers, at most @hold_us in all, so that they reach the guest as one
 * batch.  Never with nothing answered, nothing left in flight (QD1), a
 * send pending, or @hold_us 0.  Returns the answers taken while holding.
 */
unsigned nbd__wire_hold(struct nbd_conn *c, unsigned answered,
			unsigned hold_us);
/** True while requests wait to be sent (the socket must take more). */
static inline bool nbd__wire_wants_write(const struct nbd_conn *c)
{
	return c->w.tx != NULL;
}

/* ---- blk_nbd_engine.c ---- */

/** Start the engine thread on @b->conn (already UP).  0 or -errno. */
int nbd__engine_start(struct nbd_blk *b);
/** Stop and join it. */
void nbd__engine_stop(struct nbd_blk *b);
extern const struct ovb_blk_ops nbd__engine_ops;

/* ---- blk_nbd_own.c ---- */

extern const struct ovb_blk_ops nbd__own_ops;

#endif /* OVB_BACKEND_BLK_NBD_PRIV_H */
