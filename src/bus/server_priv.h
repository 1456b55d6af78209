/* SPDX-License-Identifier: MIT */
/*
 * Server internals shared by server.c (partitions, offers, signals),
 * server_msg.c (channel-message handlers) and server_chan.c (GPADLs, open,
 * close).  Layer: bus.
 */
#ifndef OVB_BUS_SERVER_PRIV_H
#define OVB_BUS_SERVER_PRIV_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

#include "bus/chan_internal.h"
#include "bus/loop.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/hv.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"

#define SRV_MAX_VSPS 16
#define SRV_MAX_ASM 8 /* GPADLs being reassembled at once */
/*
 * What one partition's GPADLs may hold of host memory: at most this many
 * GPADLs (complete or in flight) and PFN words (8 bytes each; 2^24 words
 * describe 64 GiB of guest pages).
 */
#define SRV_MAX_GPADLS 4096u
#define SRV_MAX_GPADL_WORDS (1u << 24)
#define MONITOR_SCAN_US 100 /* the monitor page's scan period */
#define MONITOR_IDLE_US 10000 /* ... when no guest depends on it alone */

enum offer_state {
	OFFER_OFFERED,   /* offered (or not yet sent), channel closed */
	OFFER_OPEN,      /* channel open, worker running */
	OFFER_RESCINDED, /* rescind sent, waiting for RELID_RELEASED */
};

struct ovb_vsp_dev {
	struct ovb_partition *part;
	const struct ovb_vsp_ops *ops;
	struct ovb_offer_params p;
	struct ovb_vsp_dev *primary; /* NULL for a primary */
	uint32_t relid;
	uint16_t subidx;
	uint16_t nsub;               /* sub-channels offered (primary) */
	int monitor_id;              /* -1: none */
	enum offer_state state;
	bool sent;                   /* OFFER_CHANNEL reached the guest */
	struct ovb_chan *chan;       /* when OFFER_OPEN */
	uint32_t ring_gpadl;
	struct ovb_gmem_view ring_view;
	uint32_t target_vp;
	bool open_refused; /* the last OPEN failed: a CLOSE may follow */
	/*
	 * Open and close run device callbacks with part->lock dropped.
	 * @busy: one of them is under way (on @busy_thread); others wait
	 * on part->cond.  @holds: threads that dropped the lock while they
	 * use @dev; @freed: removed from the partition, and the last hold
	 * frees the memory.
	 */
	bool busy;
	pthread_t busy_thread;
	unsigned int holds;
	bool freed;
};

struct srv_gpadl {
	struct srv_gpadl *next;
	uint32_t handle;
	uint32_t relid;
	uint32_t nranges;
	struct ovb_gpa_range *ranges;
	struct ovb_gpadl_asm words; /* owns the PFN storage */
	int refs;                   /* ring or device users */
	bool teardown_pending;      /* TORNDOWN owed when refs hit 0 */
};

struct ovb_partition {
	struct ovb_server *srv;
	struct ovb_partition *next;
	unsigned int id;
	char name[64];
	const struct ovb_partition_link_ops *ops;
	void *link;
	pthread_mutex_t lock; /* plain: the contract at the top of server.c */
	pthread_cond_t cond;  /* a device stopped being busy; holds hit 0 */
	unsigned int holds;   /* sum of dev->holds */
#ifndef NDEBUG
	pthread_t owner; /* atomic: who holds @lock, when @owned */
	bool owned;      /* atomic */
#endif
	struct ovb_gmem *gmem; /* borrowed from the link */

	bool connected;        /* INITIATE_CONTACT accepted */
	bool offers_requested; /* REQUEST_OFFERS seen: hot add sends at once */
	uint32_t version;
	uint32_t msg_conn_id;
	uint32_t target_vcpu;  /* atomic: ovb_partition_message_vp() */
	uint32_t msg_sint;     /* SINT for messages (5.0+: the guest's) */
	uint32_t features;
	struct vmbus_interrupt_page *int_page; /* < WIN8 */
	struct hv_monitor_page *monitor[2];    /* parent->child, child->parent */

	struct ovb_vsp_dev *dev[VMBUS_MAX_RELID + 1]; /* by relid */
	struct srv_gpadl *gpadls;
	struct ovb_gpadl_asm asm_[SRV_MAX_ASM];
	bool asm_used[SRV_MAX_ASM];

	pthread_t monitor_thread;
	bool monitor_running, monitor_stop;
	/* Caller-driven: the scan is a timerfd in the server's loop. */
	int monitor_tfd;              /* -1: none yet */
	struct ovb__loop_src monitor_src;
	bool monitor_armed;           /* part->lock */
};

struct srv_vsp {
	const struct ovb_vsp_ops *ops;
	void *ctx;
};

struct ovb_server {
	pthread_mutex_t lock; /* partition list */
	struct ovb_partition *parts;
	unsigned int next_id;
	struct srv_vsp vsp[SRV_MAX_VSPS];
	unsigned int nvsp;
	uint32_t max_version; /* 0: all */
	uint32_t min_version;
	/* Caller-driven dispatch (server_loop.c); NULL: worker threads. */
	struct ovb__loop *loop;
};

/*
 * part->lock.  In builds without NDEBUG it is an error-checking mutex and
 * these assert what the contract in server.c says: never taken twice by
 * one thread, never held across a device callback.
 */
static inline void ovb__srv_lock(struct ovb_partition *part)
{
	int rc = pthread_mutex_lock(&part->lock);

	assert(rc == 0); /* EDEADLK: this thread holds it already */
	(void)rc;
#ifndef NDEBUG
	__atomic_store_n(&part->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&part->owned, true, __ATOMIC_RELAXED);
#endif
}

static inline void ovb__srv_unlock(struct ovb_partition *part)
{
	int rc;

#ifndef NDEBUG
	__atomic_store_n(&part->owned, false, __ATOMIC_RELAXED);
#endif
	rc = pthread_mutex_unlock(&part->lock);
	assert(rc == 0); /* EPERM: not held by this thread */
	(void)rc;
}

/* Wait on part->cond; part->lock held. */
static inline void ovb__srv_wait(struct ovb_partition *part)
{
#ifndef NDEBUG
	__atomic_store_n(&part->owned, false, __ATOMIC_RELAXED);
#endif
	pthread_cond_wait(&part->cond, &part->lock);
#ifndef NDEBUG
	__atomic_store_n(&part->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&part->owned, true, __ATOMIC_RELAXED);
#endif
}

/* For assert(): true unless this thread holds part->lock. */
static inline bool ovb__srv_unlocked(struct ovb_partition *part)
{
#ifndef NDEBUG
	return !__atomic_load_n(&part->owned, __ATOMIC_RELAXED) ||
	       !pthread_equal(__atomic_load_n(&part->owner, __ATOMIC_RELAXED),
			      pthread_self());
#else
	(void)part;
	return true;
#endif
}

/* server.c */
int ovb__srv_send(struct ovb_partition *part, const void *msg, size_t len);
void ovb__srv_send_offer(struct ovb_partition *part, struct ovb_vsp_dev *dev);
/*
 * Remove @dev from the partition and free it (at once, or by the last
 * thread that holds it).  part->lock held; dropped and retaken when @dev
 * is open or busy.
 */
void ovb__srv_free_dev(struct ovb_partition *part, struct ovb_vsp_dev *dev);
/* Keep @dev's memory while this thread drops part->lock (lock held). */
void ovb__srv_dev_hold(struct ovb_partition *part, struct ovb_vsp_dev *dev);
/* Drop a hold (lock held).  True if @dev was freed: do not touch it. */
bool ovb__srv_dev_put(struct ovb_partition *part, struct ovb_vsp_dev *dev);
/*
 * Wait until no other thread opens or closes @dev (lock held, @dev held).
 * False if this thread does: a device callback re-entered.
 */
bool ovb__srv_dev_wait_idle(struct ovb_partition *part,
			    struct ovb_vsp_dev *dev);
void ovb__srv_monitor_update(struct ovb_partition *part);
/* Wake the channels whose monitor bits the guest set; part->lock held. */
void ovb__srv_monitor_scan(struct ovb_partition *part);
/* True while a monitored channel is open; part->lock held. */
bool ovb__srv_monitor_needed(struct ovb_partition *part);

/* server_loop.c: the monitor scan as a timerfd (part->lock held). */
void ovb__srv_loop_monitor_arm(struct ovb_partition *part);
/* Take it out of the loop and close it (part->lock not held). */
void ovb__srv_loop_monitor_stop(struct ovb_partition *part);

/* server_chan.c */
int ovb__srv_gpadl_header(struct ovb_partition *part, const void *msg,
			  size_t len);
int ovb__srv_gpadl_body(struct ovb_partition *part, const void *msg,
			size_t len);
int ovb__srv_gpadl_teardown(struct ovb_partition *part, const void *msg,
			    size_t len);
void ovb__srv_gpadl_free_relid(struct ovb_partition *part, uint32_t relid);
int ovb__srv_open(struct ovb_partition *part, const void *msg, size_t len);
/*
 * Close @dev's channel if it is open (waiting for an open or close on
 * another thread first).  part->lock held; dropped and retaken around the
 * device's close callback and the join of the worker, so the caller must
 * look again at anything it read before.  True if @dev was freed
 * meanwhile: the caller must not touch it.
 */
bool ovb__srv_close(struct ovb_partition *part, struct ovb_vsp_dev *dev);

/* server_msg.c */
int ovb__srv_dispatch(struct ovb_partition *part, uint32_t conn_id,
		      const void *msg, size_t len);

#endif
