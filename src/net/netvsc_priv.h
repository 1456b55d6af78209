/* SPDX-License-Identifier: MIT */
/*
 * netvsc internals shared by netvsc.c (bring-up, NVSP and RNDIS control)
 * and netvsc_data.c (frames both ways).
 */
#ifndef OVB_NET_NETVSC_PRIV_H
#define OVB_NET_NETVSC_PRIV_H

#include <pthread.h>
#include <sys/uio.h>

#include "openvmbus/netvsc.h"
#include "net/nvsp.h"
#include "net/rndis.h"

#define NETVSC_BIG_BUFS 32u            /* page-buffer frames in flight */
#define NETVSC_BIG_SIZE (68u * 1024u)  /* RNDIS header + 64 KiB frame */
#define NETVSC_CTL_SIZE 4096u
#define NETVSC_TIMEOUT 5000
#define NETVSC_PENDING 1024u           /* receive completions to retry */
#define NETVSC_SPIN_US 50u             /* spin for a free buffer first */
/* A coalesced (RSC) frame: at most this long, in at most this many
 * fragments (Linux NVSP_RSC_MAX). */
#define NETVSC_RSC_FRAME (65535u + 14u + 4u)
#define NETVSC_RSC_FRAGS 562u
/* Headers of a coalesced frame handed on in place: copied up to this. */
#define NETVSC_RSC_HDR 256u

struct ovb_netvsc;

/* A send buffer (section or big buffer) and whom to give it back to. */
struct netvsc_buf {
	struct ovb_netvsc *n;
	uint32_t idx;
	bool big;
};

struct netvsc_q {
	struct ovb_netvsc *n;
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	unsigned int idx;
	pthread_mutex_t lock;   /* the batch below */
	int32_t cur;            /* section being filled, -1 none */
	uint32_t off, npkt;
	/*
	 * A coalesced frame being gathered (worker only): its fragments as
	 * places in the receive buffer, iov[1..nfrag] (iov[0] is for the
	 * header copy), valid until the packet is completed.
	 */
	struct {
		struct iovec *iov; /* NETVSC_RSC_FRAGS + 1, allocated on use */
		uint8_t *buf;   /* joined: NETVSC_RSC_FRAME bytes, on use */
		uint32_t len, nfrag;
		bool open;
		bool tcp_ok;    /* first fragment: TCP checksum verified */
		struct ovb_net_meta meta; /* from the first fragment */
		uint8_t hdr[NETVSC_RSC_HDR];
	} rsc;
	/*
	 * A frame source this queue's worker reads itself
	 * (ovb_netvsc_set_source, netvsc_source.c): src_fn is published
	 * last (release) and read by the worker (acquire); src_paused is the
	 * worker's: src_fd left unwatched until a buffer or ring room comes.
	 */
	ovb_netvsc_source_fn *src_fn;
	void *src_ctx;
	int src_fd;
	bool src_paused;
	uint32_t src_polls; /* worker: spin-hook calls since the last look */
	/* receive completions the ring had no room for (worker only) */
	uint64_t pending[NETVSC_PENDING];
	uint32_t npending;
	/*
	 * Per-frame counters with one writer each, so no locked add: the
	 * tx pair under lock, the rx pair by this queue's worker (perf: the
	 * NIC-wide locked adds were 40 % of ovb_netvsc_send at 64 bytes).
	 * Written with netvsc__count, read relaxed by ovb_netvsc_get_stats.
	 */
	uint64_t tx_frames, tx_bytes;
	_Alignas(64) uint64_t rx_frames, rx_bytes;
};

/* Add @v to a counter that only the caller writes; readers load relaxed. */
static inline void netvsc__count(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v,
			 __ATOMIC_RELAXED);
}

/* A free list of buffer indices with a wait for one to come back. */
struct netvsc_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t *free;
	uint32_t nfree, n;
	struct netvsc_buf *ctx; /* per index, the completion context */
	/*
	 * Queues whose source found no free buffer (a bit per queue, under
	 * lock): pool_put kicks their workers, which try again.
	 */
	uint32_t src_wait;
};

struct ovb_netvsc {
	struct ovb_vsc_dev *dev;
	struct ovb_client *cl;
	struct ovb_netvsc_params p;
	struct netvsc_q q[OVB_NETVSC_MAX_QUEUES];
	unsigned int nq;
	bool closing;
	bool stalled;   /* atomic: the host left a control request unanswered */

	pthread_mutex_t sub_lock;        /* sub-channel offers arriving */
	pthread_cond_t sub_cond;
	struct ovb_vsc_dev *sub[OVB_NETVSC_MAX_QUEUES];
	unsigned int nsub;

	uint32_t nvsp, ndis;
	uint8_t resp[NVSP_MESSAGE_SIZE]; /* last NVSP reply (bring-up) */
	uint32_t send_table[NVSP_SEND_INDIRECTION_TABLE_SIZE];

	uint8_t *rxbuf;
	uint32_t rxlen, rx_gpadl, rx_section;
	uint8_t *txbuf;
	uint32_t txlen, tx_gpadl, sec_size;
	struct netvsc_pool secs;
	uint8_t *big;
	struct netvsc_pool bigs;

	/* RNDIS control: one request at a time */
	pthread_mutex_t ctl_lock;
	pthread_mutex_t ctl_wait_lock;
	pthread_cond_t ctl_cond;
	uint8_t *ctl;                    /* one guest page for requests */
	uint32_t ctl_req_id;             /* the request we wait for, 0 none */
	bool ctl_done;
	uint32_t ctl_type, ctl_status;
	uint8_t ctl_info[NETVSC_CTL_SIZE];
	uint32_t ctl_info_len;
	uint32_t req_counter;
	uint32_t max_pkt, align;

	struct ovb_netvsc_info info;
	uint64_t tx_sends, tx_pagebuf, tx_errors; /* frames: per queue */
	uint64_t rx_bad;
	uint64_t rx_coalesced, rx_rsc_dropped, rx_rsc_inplace;
};

/* netvsc_data.c */
void netvsc__recv(struct ovb_chan *chan, const struct ovb_pkt *pkt, void *ctx);
int netvsc__pool_init(struct netvsc_pool *pl, struct ovb_netvsc *n,
		      uint32_t count, bool big);
void netvsc__pool_fini(struct netvsc_pool *pl);
/* After closing is set: no put kicks a source's channel from now on. */
void netvsc__pool_quiesce(struct netvsc_pool *pl);
/* Take a free buffer (may wait, see netvsc_pool.c); 0, -ETIMEDOUT, -EAGAIN. */
int netvsc__pool_get(struct netvsc_pool *pl, uint32_t *idx);
/* Give one back; wakes a waiter and kicks sources that found none. */
void netvsc__pool_put(struct netvsc_pool *pl, uint32_t idx);
/* Non-zero on a thread inside netvsc__recv (a receive callback's sends). */
extern __thread unsigned int netvsc__in_recv;
/*
 * The queue whose source runs on this thread (netvsc_source.c), NULL
 * elsewhere.  While it is set nothing netvsc does here waits: no free
 * buffer or no ring room is -EAGAIN, and a frame goes out on that queue.
 */
extern __thread struct netvsc_q *netvsc__src_q;

/* Run @q's source once on its worker (netvsc_source.c); true if it sent. */
bool netvsc__source_run(struct netvsc_q *q);

/* Send @q's current section, -EAGAIN kept for later (source thread). */
int netvsc__flush(struct netvsc_q *q);

/*
 * The queue a frame for @queue goes out on (the host's send table; a
 * source's own queue on its worker, so its completions come back there).
 */
static inline struct netvsc_q *netvsc__pick_queue(struct ovb_netvsc *n,
						  unsigned int queue)
{
	struct netvsc_q *sq = netvsc__src_q;

	if (sq && sq->n == n)
		return sq;
	unsigned int nq = __atomic_load_n(&n->nq, __ATOMIC_ACQUIRE);
	uint32_t c = n->send_table[queue % NVSP_SEND_INDIRECTION_TABLE_SIZE];

	return &n->q[c < nq ? c : queue % nq];
}

/* netvsc_poll.c */
/*
 * With a ring a caller polls (and so masked), spin up to @us draining
 * such rings on this thread until *@word is non-zero: 1 if it became so,
 * 0 if not; -1 at once if no ring is polled (a worker reaps then).
 */
int netvsc__reap_spin(struct ovb_netvsc *n, const uint32_t *word,
		      uint32_t us);
/* Hand every caller-polled ring back to its worker (unmask, re-check). */
void netvsc__unpoll_all(struct ovb_netvsc *n);
int netvsc__gpa_range(struct ovb_netvsc *n, const void *buf, size_t len,
		      uint64_t *words, size_t max);

#endif
