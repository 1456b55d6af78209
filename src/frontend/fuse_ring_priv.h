/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring's queues (fuse_ring.c) and their adaptive spin
 * (fuse_ring_spin.c): an entry, a queue, the ring of queues.  Layer:
 * frontend (private).
 */
#ifndef OVB_FRONTEND_FUSE_RING_PRIV_H
#define OVB_FRONTEND_FUSE_RING_PRIV_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frontend/fuse_ll.h"

#define FU_EFD_TAG 1ull    /* user_data of the eventfd read */
#define FU_QUEUE_MAX 64    /* entries per queue at most */
#define FU_SPIN_INFLIGHT 4 /* spin only with this few at the host */
#define FU_SPIN_US 100     /* default longest spin */
#define FU_SPIN_MIN 50     /* shortest budget, us: about one wake-up */
#define FU_SPIN_MISSES 4   /* misses in a row that stop the spin ... */
#define FU_SPIN_PAUSE 64   /* ... for this many rounds */
#define FU_SPIN_YIELD_US 20 /* a spin gives the CPU away this often */

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
	struct ovb_storvsc *s;            /* staged: its controller */
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
	struct fu_ent *done;         /* also read unlocked (atomic) */
	bool sleeping, kicked;
	int efd;
	uint64_t ebuf;
	/* The rest: the queue thread only. */
	unsigned int inflight;       /* at storvsc */
	struct fu_ent *stage[FU_QUEUE_MAX]; /* fast path, not yet submitted */
	unsigned int nstage;
	struct ovb_storvsc *polled;  /* held: the latest batch's controller */
	bool masked;                 /* polled since the last poll_end */
	uint32_t spin_budget;        /* us: the spin's current bound */
	uint32_t spin_peak;          /* us: the longest recent wait met */
	unsigned int spin_misses;    /* spins in a row that met nothing */
	unsigned int spin_pause;     /* rounds left without a spin */
	uint64_t spin_hits, spin_miss_total;
	uint64_t reqs, reqs_away;     /* requests; taken on another CPU */
};

struct fu_ring {
	struct fu_conn *c;
	unsigned int nq, nent;
	struct fu_queue *q;
	struct ovb_storvsc *mem;     /* held: whose guest memory */
	bool poll;
	uint32_t spin_us;            /* 0: no spin */
	bool pin;                    /* queue threads on their CPU */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int ready, failed;  /* queues registered / failed */
};

/*
 * The spin (fuse_ring_spin.c), all on the queue thread.
 * ovb__fu_will_spin: whether a queue with @more requests about to go out
 * will spin (it masks the host's signals before it submits them).
 * ovb__fu_spin_now: whether this round spins; counts down a pause.
 * ovb__fu_spin: polls q->polled up to the budget; true if work came.
 */
bool ovb__fu_will_spin(const struct fu_queue *q, unsigned int more);
bool ovb__fu_spin_now(struct fu_queue *q);
bool ovb__fu_spin(struct fu_queue *q);

#endif
