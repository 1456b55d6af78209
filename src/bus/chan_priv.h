/* SPDX-License-Identifier: MIT */
/*
 * The channel object itself, shared by channel.c (lifecycle) and chan_io.c
 * (data path) only.  Layer: bus.
 */
#ifndef OVB_BUS_CHAN_PRIV_H
#define OVB_BUS_CHAN_PRIV_H

#include <pthread.h>

#include "bus/chan_internal.h"
#include "bus/loop.h"
#include "openvmbus/ring.h"

#define CHAN_MAX_FDS 4
#define CHAN_BUDGET 64        /* packets per drain before committing */
#define CHAN_MAX_RANGES 64    /* GPA-direct ranges per packet */
#define CHAN_SIDE_BYTES (64u << 10) /* ovb_chan_reap()'s packets set aside */
#define REQ_TAG (1ull << 62)  /* marks xids of tracked requests */
#define REQ_SLOTS 4096u
/* Spinning (chan_run.c): yield the CPU after this many microseconds. */
#define CHAN_SPIN_YIELD_US 50u
/* Interrupt mode's adaptive spin, in microseconds. */
#define CHAN_ADAPT_START_US 16u  /* armed by a short sleep */
#define CHAN_ADAPT_MIN_US 4u     /* halved below this: off */
#define CHAN_ADAPT_MAX_US 64u    /* about one cross-core wake-up here */
#define CHAN_ADAPT_REARM_US 500u /* a sleep this short arms it */
#define CHAN_ADAPT_BACKOFF_MAX 64u /* reply mode: drains unspun, at most */
#define CHAN_BUSY_LOOK_US 4u     /* busy spin: a look at the backend, every */
/*
 * A yield that took longer than this ran another thread on our core: the
 * CPU is wanted, and a spin that then still finds nothing ends (crowded).
 */
#define CHAN_SPIN_CROWDED_US 20u

/*
 * An adaptive budget learnt from waits: @sample_us is one more wait seen;
 * @peak (decaying by a sixteenth per sample) keeps the longest recent one
 * and the budget becomes twice it, within CHAN_ADAPT_START_US..@max.  The
 * reply mode's bound (chan_run.c) and the busy spin (chan_busy.c) learn so.
 */
static inline uint32_t chan_peak_budget(uint32_t *peak, uint64_t sample_us,
					uint32_t max)
{
	uint32_t w = sample_us > max ? max : (uint32_t)sample_us, b;

	*peak -= *peak / 16;
	if (w > *peak)
		*peak = w;
	b = *peak * 2;
	return b < CHAN_ADAPT_START_US ? CHAN_ADAPT_START_US : b > max ? max : b;
}

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
	ovb_chan_busy_fn *busy;   /* atomic: ovb_chan_set_busy */
	uint32_t busy_max_us;     /* atomic: its bound, 0 off */
	uint32_t busy_cap_us;     /* worker: the bound of the last spin */
	uint32_t busy_us;         /* worker: busy spin budget, 0 off */
	uint32_t busy_peak;       /* worker: longest recent wait for answers */
	uint32_t busy_backoff;    /* worker: drains unspun after a miss */
	uint32_t busy_skip;       /* worker: drains left unspun now */
	void *ctx;

	int wake_fd;   /* local: slow-path signals and control */
	int peer_fd;   /* fast path: peer's signals (host side), or -1 */
	int signal_fd; /* fast path: our signals to the peer, or -1 */
	int xfd[CHAN_MAX_FDS];
	ovb_chan_fd_fn *xfn[CHAN_MAX_FDS];
	bool xoff[CHAN_MAX_FDS]; /* atomic: not watched (ovb_chan_watch_fd) */
	unsigned int nxfd; /* atomic: slots are published before the count */

	pthread_t worker;
	struct ovb_chan_group *group; /* shared worker (chan_group.c), or NULL */
	unsigned int gslot;           /* this channel's slot in @group */
	struct ovb__loop *loop;   /* caller-driven: turns in here, no worker */
	struct ovb__loop_src src; /* this channel's source in @loop */
	uint64_t spin_since;      /* caller-driven polling: idle since (us) */
	uint32_t spin_gen;        /* poll_gen when that idle spell began */
	uint64_t self_wakes;      /* wake_fd writes by our own turns */
	uint32_t adapt_us;        /* worker: adaptive spin budget, 0 off */
	uint32_t adapt_peak;      /* worker, reply mode: longest recent gap */
	uint32_t adapt_skip;      /* worker, reply mode: drains left unspun */
	uint32_t adapt_backoff;   /* worker, reply mode: after a miss, skip */
	uint32_t poll_cur_us;     /* worker: polling spin budget now */
	uint32_t poll_set_us;     /* worker: the spin_us poll_cur_us is for */
	bool started;
	bool stopping; /* atomic */
	bool dead;     /* atomic */
	uint32_t spin_us; /* atomic */
	bool adaptive;    /* atomic: interrupt mode spins adaptively */
	uint32_t reply_max_us; /* atomic: reply mode's bound; 0: stream mode */
	uint32_t poll_gen; /* atomic: bumped by every ovb_chan_poll() */
	/*
	 * A caller polls: set by ovb_chan_poll() as it masks the ring, cleared
	 * by ovb_chan_poll_end() as it unmasks it, both under read_lock, so a
	 * ring a poller masked is never left so with this clear.  Atomic.
	 */
	bool polled;
	/*
	 * A polling caller sleeps in the worker's place (ovb_chan_poll_sleep):
	 * it waits on wake_fd, where the peer's signals land, and the worker
	 * leaves wake_fd out of its poll.  The worker always polls park_fd,
	 * which ovb__chan_wake() (while parked), the park itself and
	 * ovb_chan_poll_end() write.  Set and cleared under read_lock; atomic.
	 */
	bool parked;
	int park_fd;
	bool rx_held;      /* atomic: ovb_chan_hold_rx(), ring left alone */
	int send_timeout_ms;

	pthread_mutex_t send_lock;
	pthread_cond_t send_cond;
	int send_waiters; /* atomic */
	bool reply_batch; /* atomic: sends from callbacks batched per drain */
	unsigned int reply_every; /* atomic: also published every n packets */
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
	/*
	 * Packets ovb_chan_reap() took out of the ring to reach the
	 * completions behind them (read_lock): dispatched, in order, by the
	 * next drain before the ring.  Each is a u32 length, then the packet,
	 * padded to 8 bytes.
	 */
	uint8_t *side;
	uint32_t side_pos, side_used; /* next to dispatch; end */
	uint8_t *reapbuf; /* ovb_chan_reap()'s read buffer (rxbuf_len) */
	/*
	 * read_lock: its drainer waits inside a callback and let go of the
	 * lock (ovb_chan_lend_begin); only ovb_chan_reap may read the ring.
	 */
	bool lent;
	struct ovb_chan_stats st;
};

#define STAT_ADD(chan, field, n)                                              \
	__atomic_fetch_add(&(chan)->st.field, (n), __ATOMIC_RELAXED)

/**
 * The busy spin after a drain (chan_busy.c): true if work arrived while
 * the device waited for answers; @busy says whether it was waiting (the
 * sleep that may follow goes to ovb__chan_busy_slept), @spun gets the
 * time spun.  Worker only.
 */
bool ovb__chan_busy_spin(struct ovb_chan *chan, uint32_t gen, bool *busy,
			 uint64_t *spun);
/** The worker slept @slept_us after @spun_us of busy spin, busy. */
void ovb__chan_busy_slept(struct ovb_chan *chan, uint64_t spun_us,
			  uint64_t slept_us);

/** Complete every tracked request with NULL. */
void ovb__chan_fail_requests(struct ovb_chan *chan);

/**
 * Drain up to CHAN_BUDGET packets (read_lock held, ring masked).  Returns
 * the packets read or -errno (the inbound ring is corrupt).  chan_io.c.
 */
int ovb__chan_drain(struct ovb_chan *chan);

/* chan_park.c: wake a parked worker (it waits on park_fd). */
void ovb__chan_unpark(struct ovb_chan *chan);

/* chan_run.c, for chan_group.c: one pass's pieces, as the worker runs them. */
void ovb__chan_wake_senders(struct ovb_chan *chan);
void ovb__chan_check_fds(struct ovb_chan *chan);

/* chan_group.c: join or leave the channel's group (start and stop). */
int ovb__group_add(struct ovb_chan *chan);
void ovb__group_remove(struct ovb_chan *chan);
/* chan_group.c: an fd of @chan may be closed now (its peer fd swapped). */
void ovb__group_fds_changed(struct ovb_chan *chan);
/* chan_group.c: true on the thread of @chan's group. */
bool ovb__group_running_here(const struct ovb_chan *chan);

/* chan_run.c: stop the worker or leave the loop (from ovb__chan_stop). */
void ovb__chan_stop_runner(struct ovb_chan *chan);
/* chan_run.c: a caller-driven channel's peer fd changed. */
void ovb__chan_loop_swap_fd(struct ovb_chan *chan, int old_fd, int new_fd);

/*
 * True on the thread that runs the channel's callbacks right now: its
 * worker, its group's shared worker (which also runs the other channels
 * of the group), or the thread turning it in a caller-driven loop.  There a send
 * that finds the ring full waits on the channel's fds itself.
 */
static inline bool ovb__chan_on_worker(const struct ovb_chan *chan)
{
	if (chan->loop)
		return ovb__loop_running_here(&chan->src);
	if (chan->group)
		return ovb__group_running_here(chan);
	return chan->started && pthread_equal(pthread_self(), chan->worker);
}

#endif
