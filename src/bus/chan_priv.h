/* SPDX-License-Identifier: MIT */
/*
 * The channel object itself, shared by channel.c (lifecycle) and chan_io.c
 * (data path) only.  Layer: bus.
 */
#ifndef OVB_BUS_CHAN_PRIV_H
#define OVB_BUS_CHAN_PRIV_H

#include <pthread.h>

#include "bus/chan_internal.h"
#include "openvmbus/ring.h"

#define CHAN_MAX_FDS 4
#define CHAN_BUDGET 64        /* packets per drain before committing */
#define CHAN_MAX_RANGES 64    /* GPA-direct ranges per packet */
#define REQ_TAG (1ull << 62)  /* marks xids of tracked requests */
#define REQ_SLOTS 4096u

struct chan_req {
	ovb_chan_comp_fn *fn;
	void *ctx;
	uint32_t gen;
	uint32_t next_free; /* slot index + 1, 0 = end */
	bool used;
};

struct ovb_chan {
	char name[96];
	uint32_t relid;
	uint16_t subidx;
	struct ovb_ring out, in;
	const struct ovb_chan_role_ops *role;
	void *role_ctx;
	ovb_chan_recv_fn *recv;
	ovb_chan_idle_fn *idle;
	ovb_chan_spin_fn *spin;
	void *ctx;

	int wake_fd;   /* local: slow-path signals and control */
	int peer_fd;   /* fast path: peer's signals (host side), or -1 */
	int signal_fd; /* fast path: our signals to the peer, or -1 */
	int xfd[CHAN_MAX_FDS];
	ovb_chan_fd_fn *xfn[CHAN_MAX_FDS];
	unsigned int nxfd;

	pthread_t worker;
	bool started;
	bool stopping; /* atomic */
	bool dead;     /* atomic */
	uint32_t spin_us; /* atomic */
	uint32_t poll_gen; /* atomic: bumped by every ovb_chan_poll() */
	bool rx_held;      /* atomic: ovb_chan_hold_rx(), ring left alone */
	int send_timeout_ms;

	pthread_mutex_t send_lock;
	pthread_cond_t send_cond;
	int send_waiters; /* atomic */
	bool reply_batch; /* atomic: sends from callbacks batched per drain */
	bool batching;
	pthread_t batch_owner;
	int batch_err; /* a corrupt outbound ring seen inside the batch */
	unsigned int batch_pkts; /* staged since the batch's last commit */
	bool deferring;          /* a drainer's sends are staged (send_lock) */
	pthread_t defer_owner;   /* that drainer */

	pthread_mutex_t read_lock; /* one drainer at a time: worker or poller */
	pthread_mutex_t req_lock;
	struct chan_req *req;
	uint32_t req_free; /* slot + 1 */

	void *tap; /* host channels: what the capture hooks record under */
	uint8_t *rxbuf;
	uint32_t rxbuf_len;
	struct ovb_chan_stats st;
};

#define STAT_ADD(chan, field, n)                                              \
	__atomic_fetch_add(&(chan)->st.field, (n), __ATOMIC_RELAXED)

/** Complete every tracked request with NULL. */
void ovb__chan_fail_requests(struct ovb_chan *chan);

#endif
