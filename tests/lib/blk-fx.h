/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the block backend unit tests (test-blk.c, test-blk-batch.c):
 * a temporary directory for image files, a request run to completion
 * through ovb_blk_poll, and the SCSI done hook.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_BLK_FX_H
#define OPENVMBUS_TESTS_BLK_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "openvmbus/blk.h"
#include "storage/scsi_target.h"

#define MIB (1024u * 1024u)

/** The directory the images live in (made by blkfx_setup). */
extern char blkfx_dir[64];

/** What blkfx_done saw: how many callbacks ran, the last result. */
struct blkfx_waiter {
	int calls;
	int res;
};

/** A request's done hook counting into its priv, a struct blkfx_waiter. */
void blkfx_done(struct ovb_blk_req *req, int res);
/** Submit @req and reap until its callback ran; returns its result. */
int blkfx_run(struct ovb_blk_queue *q, struct ovb_blk_req *req);
/** One read or write of @iov at @off, run to completion. */
int blkfx_rw(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	     struct iovec *iov, int cnt, bool fua);
/** A request without data (flush, discard, ...), run to completion. */
int blkfx_simple(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
		 uint64_t len);
/** A SCSI command's done hook: counts into the int its priv points at. */
void blkfx_scsi_done(struct ovb_scsi_cmd *cmd);
/** The test pattern: bytes from their index and @seed. */
void blkfx_fill(uint8_t *p, size_t n, unsigned int seed);
/** @name inside blkfx_dir. */
void blkfx_path(char *buf, size_t len, const char *name);
/** cmocka group setup and teardown: make and remove blkfx_dir. */
int blkfx_setup(void **state);
int blkfx_teardown(void **state);
/** Open blkfx_dir/@name with the spec options @opts (",size=1M"). */
struct ovb_blk *blkfx_open(const char *name, const char *opts);

#endif
