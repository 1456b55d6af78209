/* SPDX-License-Identifier: MIT */
/*
 * The guest's FUSE disk front end: every LUN of every storvsc controller
 * as a file DIR/<controller>/lun<N> whose size is the LUN's capacity.
 * read/write map to READ/WRITE, fsync to SYNCHRONIZE CACHE,
 * fallocate(PUNCH_HOLE) to UNMAP.  losetup on such a file gives a real
 * block device.  Two transports, chosen at start: the kernel's FUSE
 * protocol spoken by us over io_uring queues (FUSE over io_uring, Linux
 * 6.14+ with the fuse module's enable_uring parameter), or libfuse over
 * read/write on /dev/fuse.  Layer: frontend.  Library: libopenvmbus-linux
 * (pkg-config openvmbus-linux, which brings libfuse3).
 */
#ifndef OPENVMBUS_FUSE_DISK_H
#define OPENVMBUS_FUSE_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "storvsc.h"

struct ovb_fuse_disk;

/** How requests reach us from the kernel. */
enum ovb_fuse_mode {
	/** io_uring when enable_uring reads Y, else libfuse */
	OVB_FUSE_AUTO,
	/** io_uring; enable_uring is written Y if it reads N (root) */
	OVB_FUSE_URING,
	/** libfuse over read/write on /dev/fuse */
	OVB_FUSE_LIBFUSE,
};

/** Start options; zeroes are the defaults. */
struct ovb_fuse_disk_opts {
	enum ovb_fuse_mode mode;
	/**
	 * io_uring: guest memory for the request buffers, in MiB (default
	 * 64), shared by the queues (one per CPU); each entry holds a
	 * request of up to 1 MiB.
	 */
	unsigned int ring_mib;
	/**
	 * io_uring: a queue with requests at the host polls the
	 * controllers (ovb_storvsc_poll) instead of waiting for their
	 * workers.  For the polling mode (--storage-poll).
	 */
	bool poll;
	/**
	 * io_uring, interrupt mode: a queue thread with few requests at the
	 * host polls storvsc for their completions itself, for at most this
	 * many microseconds (adaptively: about four times its recent waits)
	 * before it sleeps, sparing the wake-ups of a channel worker and
	 * its own.  0: the default (100); negative: never.
	 */
	int spin_us;
	/** io_uring: run each queue's thread on its CPU (the kernel queues a
	 * request on the queue of the CPU it was issued from). */
	bool pin;
};

/**
 * Mount at @dir (created if missing) and serve on background threads.
 * @opts may be NULL (auto).  Returns 0, -ENODEV (FUSE unavailable),
 * -EOPNOTSUPP (io_uring asked for, but the kernel has no FUSE over
 * io_uring), -errno of mkdir/mount.
 */
OVB_API
int ovb_fuse_disk_start(const char *dir, struct ovb_storvsc_set *set,
			const struct ovb_fuse_disk_opts *opts,
			struct ovb_fuse_disk **out);

/** The transport in use: OVB_FUSE_URING or OVB_FUSE_LIBFUSE. */
OVB_API
enum ovb_fuse_mode ovb_fuse_disk_mode(const struct ovb_fuse_disk *fd);

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
 * True once the FUSE connection has ended on its own: DIR was unmounted
 * from outside (fusermount3 -u, umount).  Any thread.
 */
OVB_API
bool ovb_fuse_disk_ended(const struct ovb_fuse_disk *fd);

#endif
