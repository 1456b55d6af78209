/* SPDX-License-Identifier: MIT */
/*
 * The guest's FUSE disk front end: every LUN of every storvsc controller
 * as a file DIR/<controller>/lun<N> whose size is the LUN's capacity.
 * read/write map to READ/WRITE, fsync to SYNCHRONIZE CACHE,
 * fallocate(PUNCH_HOLE) to UNMAP.  losetup on such a file gives a real
 * block device.  Layer: frontend.  Library: libopenvmbus-linux
 * (pkg-config openvmbus-linux, which brings libfuse3).
 */
#ifndef OPENVMBUS_FUSE_DISK_H
#define OPENVMBUS_FUSE_DISK_H

#include <stdbool.h>

#include "api.h"
#include "storvsc.h"

struct ovb_fuse_disk;

/**
 * Mount at @dir (created if missing) and serve on background threads.
 * Returns 0, -ENODEV (FUSE unavailable), -errno of mkdir/mount.
 */
OVB_API
int ovb_fuse_disk_start(const char *dir, struct ovb_storvsc_set *set,
			struct ovb_fuse_disk **out);

/**
 * Unmount (lazily if busy) and stop serving.  Bounded: requests still
 * waiting on the host after 0.5 s are failed (ovb_storvsc_abort on every
 * controller of the set: their callers see EIO), and a connection still
 * held open 1 s later is aborted through fusectl.  Returns 0, or
 * -ETIMEDOUT if the FUSE threads would not end: then @fd is leaked and
 * the controllers must not be freed under them (exit instead).
 */
OVB_API
int ovb_fuse_disk_stop(struct ovb_fuse_disk *fd);

/**
 * True once the FUSE loop has ended on its own: DIR was unmounted from
 * outside (fusermount3 -u, umount).  Any thread.
 */
OVB_API
bool ovb_fuse_disk_ended(const struct ovb_fuse_disk *fd);

#endif
