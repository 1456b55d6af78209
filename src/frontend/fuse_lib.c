// SPDX-License-Identifier: MIT
/*
 * The FUSE disk front end over libfuse3 (high-level API, multi-threaded):
 * the transport for kernels without FUSE over io_uring, or when asked
 * for.  Paths resolve to a controller held for the call (open files hold
 * theirs until release), so a rescind cannot free one under a request.
 * The I/O itself is fuse_disk.c's bounce path: the FUSE buffer is
 * libfuse's, not guest memory.  Layer: frontend.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frontend/fuse_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

/* One resolved path: controller (held when set), LUN and its geometry. */
struct fd_node {
	struct fd_file f;
	bool is_dir;
};

static struct ovb_fuse_disk *fd_self(void)
{
	return fuse_get_context()->private_data;
}

static void fd_node_put(struct fd_node *n)
{
	if (n->f.s)
		ovb_storvsc_put(n->f.s);
	n->f.s = NULL;
}

/*
 * Resolve "/", "/scsi0" or "/scsi0/lun3".  Returns 0 (put the node with
 * fd_node_put) or -ENOENT.
 */
static int fd_lookup(const char *path, struct fd_node *n)
{
	struct ovb_fuse_disk *fd = fd_self();
	char ctl[32];
	unsigned int lun;
	int len = 0;

	memset(n, 0, sizeof(*n));
	if (!strcmp(path, "/")) {
		n->is_dir = true;
		return 0;
	}
	if (sscanf(path, "/%31[^/]%n", ctl, &len) != 1 ||
	    ovb__fuse_ctl_get(fd, ctl, &n->f.s))
		return -ENOENT;
	if (!path[len]) {
		n->is_dir = true;
		return 0;
	}
	if (sscanf(path + len, "/lun%u%n", &lun, &len) != 1 ||
	    path[strlen(path) - 1] == '/' ||
	    ovb__fuse_lun_find(n->f.s, lun, &n->f.lun)) {
		fd_node_put(n);
		return -ENOENT;
	}
	return 0;
}

static int fd_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct fd_node n;
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	if (n.is_dir) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | (n.f.lun.read_only ? 0400 : 0600);
		st->st_nlink = 1;
		st->st_size = (off_t)(n.f.lun.blocks * n.f.lun.block_size);
		st->st_blksize = (blksize_t)n.f.lun.block_size;
		st->st_blocks = st->st_size / 512;
	}
	fd_node_put(&n);
	return 0;
}

static int fd_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct ovb_fuse_disk *fd = fd_self();
	struct ovb_storvsc_lun luns[FD_MAX_LUNS];
	struct ovb_storvsc *s;
	struct fd_node n;
	char name[32];
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (!n.is_dir) {
		fd_node_put(&n);
		return -ENOTDIR;
	}
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	if (!n.f.s) {
		for (unsigned int i = 0; !ovb_storvsc_get(fd->set, i, &s); i++) {
			fill(buf, ovb_storvsc_name(s), NULL, 0, 0);
			ovb_storvsc_put(s);
		}
		return 0;
	}
	size_t cnt = ovb_storvsc_luns(n.f.s, luns, FD_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < FD_MAX_LUNS; i++) {
		snprintf(name, sizeof(name), "lun%u", luns[i].lun);
		fill(buf, name, NULL, 0, 0);
	}
	fd_node_put(&n);
	return 0;
}

static int fd_open(const char *path, struct fuse_file_info *fi)
{
	struct fd_file *f;
	struct fd_node n;
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (n.is_dir)
		rc = -EISDIR;
	else if (n.f.lun.read_only && (fi->flags & O_ACCMODE) != O_RDONLY)
		rc = -EROFS;
	else if (!(f = ovb__fuse_file_open(fd_self(), &n.f)))
		rc = -ENOMEM; /* the hold goes with f, until release */
	if (rc) {
		fd_node_put(&n);
		return rc;
	}
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1; /* no second page cache above the loop device */
	return 0;
}

static int fd_release(const char *path, struct fuse_file_info *fi)
{
	struct fd_file *f = (struct fd_file *)(uintptr_t)fi->fh;

	if (f)
		ovb__fuse_file_release(fd_self(), f);
	return 0;
}

static struct fd_file *fd_file(struct fuse_file_info *fi)
{
	return fi ? (struct fd_file *)(uintptr_t)fi->fh : NULL;
}

static int fd_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fd_file *f = fd_file(fi);

	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return (int)ovb__fuse_rw(fd_self(), f, false, buf, size, (uint64_t)off);
}

static int fd_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fd_file *f = fd_file(fi);

	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return (int)ovb__fuse_rw(fd_self(), f, true, (char *)buf, size,
				 (uint64_t)off);
}

static int fd_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fd_file *f = fd_file(fi);

	return f ? ovb__fuse_flush(fd_self(), f) : 0;
}

static int fd_flush(const char *path, struct fuse_file_info *fi)
{
	return 0; /* close(2) is not a durability point; fsync is */
}

static int fd_fallocate(const char *path, int mode, off_t offset, off_t len,
			struct fuse_file_info *fi)
{
	struct fd_file *f = fd_file(fi);

	if (!f)
		return -EBADF;
	if (offset < 0 || len <= 0)
		return -EINVAL;
	return ovb__fuse_fallocate(fd_self(), f, mode, (uint64_t)offset,
				   (uint64_t)len);
}

static int fd_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct stat st;
	int rc = fd_getattr(path, &st, fi);

	if (rc)
		return rc;
	return size == st.st_size ? 0 : -EPERM; /* a disk has its size */
}

static void *fd_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->direct_io = 1;
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations fd_ops = {
	.init = fd_init,
	.getattr = fd_getattr,
	.readdir = fd_readdir,
	.open = fd_open,
	.release = fd_release,
	.read = fd_read,
	.write = fd_write,
	.fsync = fd_fsync,
	.flush = fd_flush,
	.fallocate = fd_fallocate,
	.truncate = fd_truncate,
};

static void *fd_loop(void *arg)
{
	struct ovb_fuse_disk *fd = arg;

	fuse_loop_mt(fd->fuse, 0); /* 0: no cloned /dev/fuse fd per thread */
	ovb__fuse_set_ended(fd);
	return NULL;
}

int ovb__fuse_lib_start(struct ovb_fuse_disk *fd)
{
	static char a0[] = "openvmbus", a1[] = "-o",
		    a2[] = "fsname=openvmbus,subtype=vmbus,allow_other,"
			   "default_permissions";
	char *argv[] = { a0, a1, a2, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);

	fd->fuse = fuse_new(&args, &fd_ops, sizeof(fd_ops), fd);
	/* Parsing replaced @args with a copy that is ours to free. */
	fuse_opt_free_args(&args);
	if (!fd->fuse || fuse_mount(fd->fuse, fd->dir)) {
		if (fd->fuse)
			fuse_destroy(fd->fuse);
		return -EIO;
	}
	if (pthread_create(&fd->thread, NULL, fd_loop, fd)) {
		fuse_unmount(fd->fuse);
		fuse_destroy(fd->fuse);
		return -EAGAIN;
	}
	return 0;
}

/* Join the FUSE loop within @ms; true if it ended. */
static bool fd_join(struct ovb_fuse_disk *fd, long ms)
{
	struct timespec dl;

	ovb_deadline_ms(&dl, ms);
	return pthread_clockjoin_np(fd->thread, NULL, CLOCK_MONOTONIC, &dl) ==
	       0;
}

int ovb__fuse_lib_stop(struct ovb_fuse_disk *fd)
{
	ovb__fuse_unmount(fd);
	/*
	 * The loop ends when the kernel drops the connection, once the last
	 * file on it is closed; its threads serve requests until then (the
	 * FLUSH of a close among them: fuse_exit() now would leave it
	 * unserved).  A request may wait on a silent host: fail what is in
	 * flight (the callers see EIO, and close).  A file may stay open (a
	 * loop device): abort the connection.
	 */
	if (!fd_join(fd, 500)) {
		ovb__fuse_abort_io(fd);
		if (!fd_join(fd, 1000)) {
			fuse_exit(fd->fuse);
			ovb__fuse_abort_conn(fd);
			if (!fd_join(fd, 1000)) {
				ovb_warn("fuse: %s: its threads do not end",
					 fd->dir);
				return -ETIMEDOUT;
			}
		}
	}
	fuse_unmount(fd->fuse);
	fuse_destroy(fd->fuse);
	return 0;
}
