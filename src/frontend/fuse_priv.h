/* SPDX-License-Identifier: MIT */
/*
 * The FUSE disk front end's insides, shared by its two transports: libfuse
 * (fuse_lib.c) and our own FUSE protocol over io_uring (fuse_ll.c for the
 * protocol, fuse_ring.c for the queues).  fuse_disk.c holds what both
 * use: finding a controller by name (held, so a rescind cannot free it
 * under a request), the bounce pool, and the byte-range I/O that splits,
 * bounces and read-modify-writes.  Layer: frontend (private).
 */
#ifndef OVB_FRONTEND_FUSE_PRIV_H
#define OVB_FRONTEND_FUSE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "openvmbus/fuse_disk.h"

#define FD_BOUNCE (1u << 20) /* one bounce buffer */
#define FD_POOL 4            /* bounce buffers at most, per disk */
#define FD_MAX_LUNS 64

/* A bounce buffer of the pool: FD_BOUNCE bytes of @owner's guest memory. */
struct fd_bounce {
	void *buf;                 /* NULL: not allocated yet */
	struct ovb_storvsc *owner; /* whose ovb_storvsc_alloc() */
	bool busy;                 /* taken by a request */
};

struct fuse;
struct fu_conn;

struct ovb_fuse_disk {
	struct ovb_storvsc_set *set;
	struct ovb_fuse_disk_opts opts;
	enum ovb_fuse_mode mode;  /* the transport chosen: URING or LIBFUSE */
	char dir[256];
	pthread_mutex_t rmw_lock; /* unaligned writes */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond; /* a buffer was given back */
	struct fd_bounce pool[FD_POOL];
	dev_t dev;                /* of the mount: its fusectl name */
	pthread_mutex_t files_lock;
	struct fd_file *files;    /* open, not released yet */
	bool ended;               /* atomic: the connection ended */
	/* libfuse transport */
	struct fuse *fuse;
	pthread_t thread;
	/* io_uring transport */
	struct fu_conn *conn;
};

/* One open LUN: its controller, held until the file is released. */
struct fd_file {
	struct ovb_storvsc *s; /* ovb_storvsc_get() */
	struct ovb_storvsc_lun lun;
	struct fd_file *prev, *next; /* the disk's open files */
};

/* Hold the controller named @name.  0, or -ENOENT. */
int ovb__fuse_ctl_get(struct ovb_fuse_disk *fd, const char *name,
		      struct ovb_storvsc **out);
/* LUN @lun of @s into @out.  0, or -ENOENT. */
int ovb__fuse_lun_find(struct ovb_storvsc *s, unsigned int lun,
		       struct ovb_storvsc_lun *out);
/*
 * An open file from @tmpl (its hold on the controller goes with it), on
 * the disk's list until ovb__fuse_file_release; NULL: no memory (the
 * caller still owns the hold).  A connection that ends before the kernel
 * released a file leaves it on the list; the disk frees it when it stops.
 */
struct fd_file *ovb__fuse_file_open(struct ovb_fuse_disk *fd,
				    const struct fd_file *tmpl);
void ovb__fuse_file_release(struct ovb_fuse_disk *fd, struct fd_file *f);
/* What read(2)/write(2)/fsync(2) see for a storvsc result. */
int ovb__fuse_errno(int64_t res);
/*
 * Read or write @size bytes at @off of @f, any alignment, through the
 * bounce pool.  Returns the bytes done (short at the end of the disk) or
 * -errno.  Blocks; any thread.
 */
ssize_t ovb__fuse_rw(struct ovb_fuse_disk *fd, struct fd_file *f, bool write,
		     void *buf, size_t size, uint64_t off);
/* fsync: SYNCHRONIZE CACHE.  0 or -errno. */
int ovb__fuse_flush(struct ovb_fuse_disk *fd, struct fd_file *f);
/* fallocate(@mode) of [off, off + len).  0 or -errno. */
int ovb__fuse_fallocate(struct ovb_fuse_disk *fd, struct fd_file *f,
			int mode, uint64_t off, uint64_t len);
/* Abort the connection through fusectl.  Best effort. */
void ovb__fuse_abort_conn(struct ovb_fuse_disk *fd);
/* Unmount the disk's directory unless the kernel ended it; lazily if busy. */
void ovb__fuse_unmount(struct ovb_fuse_disk *fd);
/* Fail everything in flight on every controller (a silent host). */
void ovb__fuse_abort_io(struct ovb_fuse_disk *fd);
void ovb__fuse_set_ended(struct ovb_fuse_disk *fd);

/* The libfuse transport (fuse_lib.c). */
int ovb__fuse_lib_start(struct ovb_fuse_disk *fd);
int ovb__fuse_lib_stop(struct ovb_fuse_disk *fd);

/* The io_uring transport (fuse_ll.c, fuse_ring.c). */
int ovb__fuse_ll_start(struct ovb_fuse_disk *fd);
int ovb__fuse_ll_stop(struct ovb_fuse_disk *fd);

#endif
