/* SPDX-License-Identifier: MIT */
/*
 * The Ceph RBD backend's shared parts: the open image (blk_rbd_open.c
 * opens it, blk_rbd.c moves the data and closes it).  Layer: backends
 * (private).
 */
#ifndef OPENVMBUS_BLK_RBD_H
#define OPENVMBUS_BLK_RBD_H

#include "backend/rbd_lib.h"
#include "openvmbus/blk.h"

/** One open image: the generic part first, so the casts hold. */
struct rbd_blk {
	struct ovb_blk blk;
	const struct rbd_lib *lib; /**< librbd and librados, loaded */
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool wb_cache;	   /**< rbd cache on: FUA needs a flush */
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
