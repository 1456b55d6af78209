/* SPDX-License-Identifier: MIT */
/*
 * The Ceph RBD backend's shared parts: the open image (blk_rbd_open.c
 * opens it, blk_rbd.c moves the data and closes it).  Layer: backends
 * (private).
 */
#ifndef OPENVMBUS_BLK_RBD_H
#define OPENVMBUS_BLK_RBD_H

#include <pthread.h>

#include "backend/rbd_lib.h"
#include "openvmbus/blk.h"

struct rbd_queue;

/** One open image: the generic part first, so the casts hold. */
struct rbd_blk {
	struct ovb_blk blk;
	const struct rbd_lib *lib; /**< librbd and librados, loaded */
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool wb_cache;	   /**< rbd cache on: FUA needs a flush */
	/**
	 * Which completions may be reaped on librbd's thread (blk_rbd.c,
	 * "Threads"): reap=read (default) a batch a READ opens, reap=librbd
	 * any, reap=owner none (always the queue's eventfd).
	 */
	enum rbd_reap { RBD_REAP_READ = 0, RBD_REAP_ANY, RBD_REAP_OWNER } reap;
	/**
	 * rbd_non_blocking_aio off: librbd dispatches a request in the
	 * submitting thread (ours), so the budget below keeps it from ever
	 * waiting there.
	 */
	bool inline_submit;
	uint64_t stripe_unit; /**< bytes: a request's objects, bounded */
	/* The Objecter's in-flight limits, halved; 0: none (blk_rbd.c). */
	uint64_t budget_ops, budget_bytes;
	uint64_t used_ops, used_bytes; /**< charged now (atomic) */
	unsigned budget_hit;	       /**< requests held so far (atomic) */
	/* Queues holding requests for the budget (blk_rbd.c, "Inline"). */
	pthread_mutex_t wait_lock;
	struct rbd_queue *waiters; /**< under wait_lock */
	unsigned nwait;		   /**< requests held, all queues (atomic) */
	unsigned detached; /**< cancelled, librbd not done yet (atomic) */
	struct rbd_blk *left_next; /**< on the list of disks left open */
};

/** The I/O side's ops table (blk_rbd.c). */
extern const struct ovb_blk_ops ovb__rbd_ops;

/**
 * Release what @rb holds (image, pool, cluster connection) and free it,
 * waiting a bounded time for librbd (blk_rbd.c).  Any thread.
 */
void ovb__rbd_release(struct rbd_blk *rb);

#endif /* OPENVMBUS_BLK_RBD_H */
