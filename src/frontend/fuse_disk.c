// SPDX-License-Identifier: MIT
/*
 * The FUSE disk front end (libfuse3, multi-threaded): DIR/<ctl>/lun<N>
 * files over storvsc.  Requests are split at the controller's largest
 * transfer and bounced once through a buffer in guest memory (the FUSE
 * buffer is ours, not the guest's), taken from a small pool that the disk
 * owns and frees when it stops: FUSE may run many threads, and guest
 * memory is the guest's, so more threads wait for a buffer rather than
 * each keeping one.  Unaligned edges are
 * read-modify-written under a per-LUN lock.  Layer: frontend.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/deadline.h"
#include "openvmbus/fuse_disk.h"
#include "openvmbus/log.h"

#define FD_BOUNCE (1u << 20) /* one bounce buffer */
#define FD_POOL 4            /* bounce buffers at most, per disk */
#define FD_MAX_LUNS 64

/* A bounce buffer of the pool: FD_BOUNCE bytes of @owner's guest memory. */
struct fd_bounce {
	void *buf;                 /* NULL: not allocated yet */
	struct ovb_storvsc *owner; /* whose ovb_storvsc_alloc() */
	bool busy;                 /* taken by a request */
};

struct ovb_fuse_disk {
	struct ovb_storvsc_set *set;
	struct fuse *fuse;
	pthread_t thread;
	char dir[256];
	pthread_mutex_t rmw_lock; /* unaligned writes */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond; /* a buffer was given back */
	struct fd_bounce pool[FD_POOL];
	dev_t dev;                /* of the mount: its fusectl name */
	bool ended;               /* atomic: the FUSE loop returned */
};

/* One resolved path: controller, LUN and its geometry. */
struct fd_node {
	struct ovb_storvsc *s;
	struct ovb_storvsc_lun lun;
	bool is_dir;
};

static struct ovb_fuse_disk *fd_self(void)
{
	return fuse_get_context()->private_data;
}

/* Resolve "/", "/scsi0" or "/scsi0/lun3".  Returns 0 or -ENOENT. */
static int fd_lookup(const char *path, struct fd_node *n)
{
	struct ovb_fuse_disk *fd = fd_self();
	struct ovb_storvsc_lun luns[FD_MAX_LUNS];
	char ctl[32];
	unsigned int lun;
	int len = 0;

	memset(n, 0, sizeof(*n));
	if (!strcmp(path, "/")) {
		n->is_dir = true;
		return 0;
	}
	if (sscanf(path, "/%31[^/]%n", ctl, &len) != 1)
		return -ENOENT;
	for (unsigned int i = 0; i < fd->set->n; i++)
		if (fd->set->ctl[i] &&
		    !strcmp(ovb_storvsc_name(fd->set->ctl[i]), ctl))
			n->s = fd->set->ctl[i];
	if (!n->s)
		return -ENOENT;
	if (!path[len]) {
		n->is_dir = true;
		return 0;
	}
	if (sscanf(path + len, "/lun%u%n", &lun, &len) != 1 ||
	    path[strlen(path) - 1] == '/')
		return -ENOENT;
	size_t cnt = ovb_storvsc_luns(n->s, luns, FD_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < FD_MAX_LUNS; i++)
		if (luns[i].lun == lun) {
			n->lun = luns[i];
			return 0;
		}
	return -ENOENT;
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
		return 0;
	}
	st->st_mode = S_IFREG | (n.lun.read_only ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)(n.lun.blocks * n.lun.block_size);
	st->st_blksize = (blksize_t)n.lun.block_size;
	st->st_blocks = st->st_size / 512;
	return 0;
}

static int fd_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct ovb_fuse_disk *fd = fd_self();
	struct ovb_storvsc_lun luns[FD_MAX_LUNS];
	struct fd_node n;
	char name[32];
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (!n.is_dir)
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	if (!n.s) {
		for (unsigned int i = 0; i < fd->set->n; i++)
			if (fd->set->ctl[i])
				fill(buf, ovb_storvsc_name(fd->set->ctl[i]),
				     NULL, 0, 0);
		return 0;
	}
	size_t cnt = ovb_storvsc_luns(n.s, luns, FD_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < FD_MAX_LUNS; i++) {
		snprintf(name, sizeof(name), "lun%u", luns[i].lun);
		fill(buf, name, NULL, 0, 0);
	}
	return 0;
}

static int fd_open(const char *path, struct fuse_file_info *fi)
{
	struct fd_node n;
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (n.is_dir)
		return -EISDIR;
	if (n.lun.read_only && (fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	fi->direct_io = 1; /* no second page cache above the loop device */
	return 0;
}

static void fd_bounce_put(struct ovb_fuse_disk *fd, struct fd_bounce *b)
{
	pthread_mutex_lock(&fd->pool_lock);
	b->busy = false;
	pthread_cond_signal(&fd->pool_cond);
	pthread_mutex_unlock(&fd->pool_lock);
}

/*
 * A bounce buffer in @s's guest memory: a free one of @s's, else a slot
 * not allocated yet, else another controller's (reallocated); waits while
 * all are taken.  NULL: guest memory is short.
 */
static struct fd_bounce *fd_bounce_get(struct ovb_fuse_disk *fd,
				       struct ovb_storvsc *s)
{
	struct fd_bounce *b = NULL, *empty, *other;

	pthread_mutex_lock(&fd->pool_lock);
	for (;;) {
		empty = other = NULL;
		for (unsigned int i = 0; i < FD_POOL && !b; i++) {
			struct fd_bounce *c = &fd->pool[i];

			if (c->busy)
				continue;
			if (c->buf && c->owner == s)
				b = c;
			else if (!c->buf && !empty)
				empty = c;
			else if (c->buf && !other)
				other = c;
		}
		b = b ? b : empty ? empty : other;
		if (b)
			break;
		pthread_cond_wait(&fd->pool_cond, &fd->pool_lock);
	}
	b->busy = true;
	pthread_mutex_unlock(&fd->pool_lock);
	if (b->buf && b->owner != s) {
		ovb_storvsc_free(b->owner, b->buf, FD_BOUNCE);
		b->buf = NULL;
	}
	if (!b->buf) {
		b->buf = ovb_storvsc_alloc(s, FD_BOUNCE);
		b->owner = s;
	}
	if (!b->buf) {
		fd_bounce_put(fd, b);
		return NULL;
	}
	return b;
}

/* Free the pool's buffers; no request runs any more. */
static void fd_pool_free(struct ovb_fuse_disk *fd)
{
	for (unsigned int i = 0; i < FD_POOL; i++)
		if (fd->pool[i].buf)
			ovb_storvsc_free(fd->pool[i].owner, fd->pool[i].buf,
					 FD_BOUNCE);
	pthread_cond_destroy(&fd->pool_cond);
	pthread_mutex_destroy(&fd->pool_lock);
}

/*
 * What a disk says to read(2)/write(2)/fsync(2): a host that timed out or
 * went away is an I/O error (EIO), as a real disk's would be.
 */
static int fd_errno(int64_t res)
{
	switch (res) {
	case -EROFS:
	case -EINVAL:
	case -ENXIO:
	case -ENOMEM:
		return (int)res;
	default:
		return -EIO;
	}
}

/* Aligned transfer of @len bytes at @off, split at the bounce size. */
static int fd_rw_aligned(struct fd_node *n, bool write, char *buf,
			 uint64_t off, uint64_t len)
{
	struct ovb_fuse_disk *fd = fd_self();
	uint64_t chunk_max = FD_BOUNCE;
	uint64_t mt = ovb_storvsc_max_transfer(n->s);
	struct fd_bounce *bb = fd_bounce_get(fd, n->s);
	void *b;
	int rc = 0;

	if (!bb)
		return -ENOMEM;
	b = bb->buf;
	if (mt && mt < chunk_max)
		chunk_max = mt - mt % n->lun.block_size;
	while (len) {
		uint64_t chunk = len < chunk_max ? len : chunk_max;
		int64_t res;

		if (write)
			memcpy(b, buf, chunk);
		res = ovb_storvsc_sync(n->s,
				       write ? OVB_STORVSC_WRITE
					     : OVB_STORVSC_READ,
				       n->lun.lun, off, b, chunk, false);
		if (res < 0 || (uint64_t)res != chunk) {
			rc = res < 0 ? fd_errno(res) : -EIO;
			break;
		}
		if (!write)
			memcpy(buf, b, chunk);
		buf += chunk;
		off += chunk;
		len -= chunk;
	}
	fd_bounce_put(fd, bb);
	return rc;
}

/* Read or write any byte range: aligned middle, bounced edges. */
static int fd_rw(const char *path, bool write, char *buf, size_t size,
		 off_t offset)
{
	struct ovb_fuse_disk *fd = fd_self();
	uint64_t cap, bs, off = (uint64_t)offset, head;
	struct fd_node n;
	size_t done = 0;
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (n.is_dir)
		return -EISDIR;
	bs = n.lun.block_size;
	cap = n.lun.blocks * bs;
	if (offset < 0)
		return -EINVAL;
	if (off >= cap)
		return write ? -ENOSPC : 0;
	if (size > cap - off)
		size = (size_t)(cap - off);
	while (done < size) {
		uint64_t pos = off + done, left = size - done;

		head = pos % bs;
		if (!head && left >= bs) {
			uint64_t len = left - left % bs;

			rc = fd_rw_aligned(&n, write, buf + done, pos, len);
			if (rc)
				return rc;
			done += len;
			continue;
		}
		/* One partial block: read it, patch it, write it back. */
		uint8_t blk[4096];
		uint64_t base = pos - head, take = bs - head;

		if (take > left)
			take = left;
		if (write)
			pthread_mutex_lock(&fd->rmw_lock);
		rc = fd_rw_aligned(&n, false, (char *)blk, base, bs);
		if (!rc && write) {
			memcpy(blk + head, buf + done, take);
			rc = fd_rw_aligned(&n, true, (char *)blk, base, bs);
		} else if (!rc) {
			memcpy(buf + done, blk + head, take);
		}
		if (write)
			pthread_mutex_unlock(&fd->rmw_lock);
		if (rc)
			return rc;
		done += take;
	}
	return (int)done;
}

static int fd_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	return fd_rw(path, false, buf, size, off);
}

static int fd_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	return fd_rw(path, true, (char *)buf, size, off);
}

static int fd_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fd_node n;
	int rc = fd_lookup(path, &n);
	int64_t res;

	if (rc || n.is_dir)
		return rc ? rc : 0;
	res = ovb_storvsc_sync(n.s, OVB_STORVSC_FLUSH, n.lun.lun, 0, NULL, 0,
			       false);
	return res < 0 ? fd_errno(res) : 0;
}

static int fd_flush(const char *path, struct fuse_file_info *fi)
{
	return 0; /* close(2) is not a durability point; fsync is */
}

/* Write @len zero bytes at @off (the unaligned edges of a punch). */
static int fd_zero(const char *path, uint64_t off, uint64_t len)
{
	char *zero;
	int rc;

	if (!len)
		return 0;
	zero = calloc(1, len);
	rc = zero ? fd_rw(path, true, zero, len, (off_t)off) : -ENOMEM;
	free(zero);
	return rc < 0 ? rc : 0;
}

/*
 * PUNCH_HOLE|KEEP_SIZE: UNMAP the whole blocks inside the range; the
 * partial blocks at its edges are written with zeros, so the whole range
 * reads back as zeros either way.
 */
static int fd_fallocate(const char *path, int mode, off_t offset, off_t len,
			struct fuse_file_info *fi)
{
	uint64_t bs, lo, hi, start, end;
	struct fd_node n;
	int64_t res;
	int rc = fd_lookup(path, &n);

	if (rc)
		return rc;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return mode ? -EOPNOTSUPP : 0; /* the size is fixed */
	if (!n.lun.can_discard)
		return -EOPNOTSUPP;
	if (offset < 0 || len <= 0)
		return -EINVAL;
	bs = n.lun.block_size;
	lo = (uint64_t)offset;
	hi = lo + (uint64_t)len;
	if (hi > n.lun.blocks * bs)
		hi = n.lun.blocks * bs;
	start = (lo + bs - 1) / bs * bs;
	end = hi / bs * bs;
	if (start >= end) /* within one block, or two partial ones */
		return fd_zero(path, lo, hi > lo ? hi - lo : 0);
	rc = fd_zero(path, lo, start - lo);
	if (!rc)
		rc = fd_zero(path, end, hi - end);
	if (rc)
		return rc;
	res = ovb_storvsc_sync(n.s, OVB_STORVSC_DISCARD, n.lun.lun, start,
			       NULL, end - start, false);
	return res < 0 ? fd_errno(res) : 0;
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
	/* Pairs with the acquire in ovb_fuse_disk_ended(). */
	__atomic_store_n(&fd->ended, true, __ATOMIC_RELEASE);
	return NULL;
}

bool ovb_fuse_disk_ended(const struct ovb_fuse_disk *fd)
{
	return fd && __atomic_load_n(&fd->ended, __ATOMIC_ACQUIRE);
}

int ovb_fuse_disk_start(const char *dir, struct ovb_storvsc_set *set,
			struct ovb_fuse_disk **out)
{
	static char a0[] = "openvmbus", a1[] = "-o",
		    a2[] = "fsname=openvmbus,subtype=vmbus,allow_other,"
			   "default_permissions";
	char *argv[] = { a0, a1, a2, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct ovb_fuse_disk *fd;

	if (access("/dev/fuse", R_OK | W_OK))
		return -ENODEV;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fd->set = set;
	snprintf(fd->dir, sizeof(fd->dir), "%s", dir);
	pthread_mutex_init(&fd->rmw_lock, NULL);
	pthread_mutex_init(&fd->pool_lock, NULL);
	pthread_cond_init(&fd->pool_cond, NULL);
	fd->fuse = fuse_new(&args, &fd_ops, sizeof(fd_ops), fd);
	/* Parsing replaced @args with a copy that is ours to free. */
	fuse_opt_free_args(&args);
	if (!fd->fuse || fuse_mount(fd->fuse, dir)) {
		if (fd->fuse)
			fuse_destroy(fd->fuse);
		fd_pool_free(fd);
		pthread_mutex_destroy(&fd->rmw_lock);
		free(fd);
		return -EIO;
	}
	if (pthread_create(&fd->thread, NULL, fd_loop, fd)) {
		fuse_unmount(fd->fuse);
		fuse_destroy(fd->fuse);
		fd_pool_free(fd);
		pthread_mutex_destroy(&fd->rmw_lock);
		free(fd);
		return -EAGAIN;
	}
	/* Only now: a stat of the mount is a request that we serve. */
	struct stat st;

	if (!stat(dir, &st))
		fd->dev = st.st_dev;
	*out = fd;
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

/*
 * Abort the FUSE connection through fusectl (mounted here if it is not):
 * every request fails and /dev/fuse readers wake up.  Best effort.
 */
static void fd_abort_conn(struct ovb_fuse_disk *fd)
{
	char path[96];
	int f;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 major(fd->dev) << 20 | minor(fd->dev));
	f = open(path, O_WRONLY | O_CLOEXEC);
	if (f < 0 && errno == ENOENT &&
	    !mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL))
		f = open(path, O_WRONLY | O_CLOEXEC);
	if (f < 0) {
		ovb_warn("fuse: cannot abort the connection of %s: %s",
			 fd->dir, strerror(errno));
		return;
	}
	if (write(f, "1", 1) != 1)
		ovb_warn("fuse: abort of %s: %s", fd->dir, strerror(errno));
	close(f);
}

int ovb_fuse_disk_stop(struct ovb_fuse_disk *fd)
{
	if (!fd)
		return 0;
	/* A busy mount (a loop device still attached) goes lazily. */
	if (!ovb_fuse_disk_ended(fd) && umount2(fd->dir, 0)) {
		int e = errno;

		if (umount2(fd->dir, MNT_DETACH))
			ovb_warn("fuse: cannot unmount %s: %s, then %s",
				 fd->dir, strerror(e), strerror(errno));
		else
			ovb_info("fuse: %s busy (%s), detached lazily",
				 fd->dir, strerror(e));
	}
	/*
	 * The loop ends when the kernel drops the connection, once the last
	 * file on it is closed; its threads serve requests until then (the
	 * FLUSH of a close among them: fuse_exit() now would leave it
	 * unserved).  A request may wait on a silent host: fail what is in
	 * flight (the callers see EIO, and close).  A file may stay open (a
	 * loop device): abort the connection.
	 */
	if (!fd_join(fd, 500)) {
		for (unsigned int i = 0; i < fd->set->n; i++)
			if (fd->set->ctl[i])
				ovb_storvsc_abort(fd->set->ctl[i]);
		if (!fd_join(fd, 1000)) {
			fuse_exit(fd->fuse);
			fd_abort_conn(fd);
			if (!fd_join(fd, 1000)) {
				ovb_warn("fuse: %s: its threads do not end",
					 fd->dir);
				return -ETIMEDOUT;
			}
		}
	}
	fuse_unmount(fd->fuse);
	fuse_destroy(fd->fuse);
	fd_pool_free(fd);
	pthread_mutex_destroy(&fd->rmw_lock);
	free(fd);
	return 0;
}
