// SPDX-License-Identifier: MIT
/*
 * The FUSE disk front end, what its transports share: the choice between
 * our FUSE over io_uring and libfuse, controllers found by name and held
 * (a rescind cannot free one under a request), and the byte-range I/O
 * that the FUSE buffer cannot hand to storvsc as it is: split at the
 * controller's largest transfer and bounced once through a buffer in
 * guest memory, taken from a small pool that the disk owns and frees when
 * it stops (FUSE may run many threads, and guest memory is the guest's,
 * so more threads wait for a buffer rather than each keeping one).
 * Unaligned edges are read-modify-written under a per-disk lock.
 * Layer: frontend.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "frontend/fuse_priv.h"
#include "openvmbus/log.h"

#define FD_URING_PARAM "/sys/module/fuse/parameters/enable_uring"

int ovb__fuse_ctl_get(struct ovb_fuse_disk *fd, const char *name,
		      struct ovb_storvsc **out)
{
	struct ovb_storvsc *s;

	for (unsigned int i = 0; !ovb_storvsc_get(fd->set, i, &s); i++) {
		if (!strcmp(ovb_storvsc_name(s), name)) {
			*out = s;
			return 0;
		}
		ovb_storvsc_put(s);
	}
	return -ENOENT;
}

int ovb__fuse_lun_find(struct ovb_storvsc *s, unsigned int lun,
		       struct ovb_storvsc_lun *out)
{
	struct ovb_storvsc_lun luns[FD_MAX_LUNS];
	size_t cnt = ovb_storvsc_luns(s, luns, FD_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < FD_MAX_LUNS; i++)
		if (luns[i].lun == lun) {
			*out = luns[i];
			return 0;
		}
	return -ENOENT;
}

struct fd_file *ovb__fuse_file_open(struct ovb_fuse_disk *fd,
				    const struct fd_file *tmpl)
{
	struct fd_file *f = malloc(sizeof(*f));

	if (!f)
		return NULL;
	*f = *tmpl;
	f->prev = NULL;
	pthread_mutex_lock(&fd->files_lock);
	f->next = fd->files;
	if (f->next)
		f->next->prev = f;
	fd->files = f;
	pthread_mutex_unlock(&fd->files_lock);
	return f;
}

void ovb__fuse_file_release(struct ovb_fuse_disk *fd, struct fd_file *f)
{
	pthread_mutex_lock(&fd->files_lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		fd->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&fd->files_lock);
	ovb_storvsc_put(f->s);
	free(f);
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
		ovb_storvsc_put(b->owner);
		b->buf = NULL;
	}
	if (!b->buf) {
		/* Held: the buffer is freed through its owner, later. */
		b->buf = ovb_storvsc_alloc(s, FD_BOUNCE);
		b->owner = s;
		if (b->buf)
			ovb_storvsc_hold(s);
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
		if (fd->pool[i].buf) {
			ovb_storvsc_free(fd->pool[i].owner, fd->pool[i].buf,
					 FD_BOUNCE);
			ovb_storvsc_put(fd->pool[i].owner);
		}
}

/*
 * What a disk says to read(2)/write(2)/fsync(2): a host that timed out or
 * went away is an I/O error (EIO), as a real disk's would be.
 */
int ovb__fuse_errno(int64_t res)
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
static int fd_rw_aligned(struct ovb_fuse_disk *fd, struct fd_file *f,
			 bool write, char *buf, uint64_t off, uint64_t len)
{
	uint64_t chunk_max = FD_BOUNCE;
	uint64_t mt = ovb_storvsc_max_transfer(f->s);
	struct fd_bounce *bb = fd_bounce_get(fd, f->s);
	void *b;
	int rc = 0;

	if (!bb)
		return -ENOMEM;
	b = bb->buf;
	if (mt && mt < chunk_max)
		chunk_max = mt - mt % f->lun.block_size;
	while (len) {
		uint64_t chunk = len < chunk_max ? len : chunk_max;
		int64_t res;

		if (write)
			memcpy(b, buf, chunk);
		res = ovb_storvsc_sync(f->s,
				       write ? OVB_STORVSC_WRITE
					     : OVB_STORVSC_READ,
				       f->lun.lun, off, b, chunk, false);
		if (res < 0 || (uint64_t)res != chunk) {
			rc = res < 0 ? ovb__fuse_errno(res) : -EIO;
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

ssize_t ovb__fuse_rw(struct ovb_fuse_disk *fd, struct fd_file *f, bool write,
		     void *vbuf, size_t size, uint64_t off)
{
	uint64_t bs = f->lun.block_size, cap = f->lun.blocks * bs, head;
	char *buf = vbuf;
	size_t done = 0;
	int rc;

	if (off >= cap)
		return write && size ? -ENOSPC : 0;
	if (size > cap - off)
		size = (size_t)(cap - off);
	while (done < size) {
		uint64_t pos = off + done, left = size - done;

		head = pos % bs;
		if (!head && left >= bs) {
			uint64_t len = left - left % bs;

			rc = fd_rw_aligned(fd, f, write, buf + done, pos, len);
			if (rc)
				return rc;
			done += len;
			continue;
		}
		/* One partial block: read it, patch it, write it back. */
		uint8_t blk[4096];
		uint64_t base = pos - head, take = bs - head;

		if (bs > sizeof(blk))
			return -EINVAL;
		if (take > left)
			take = left;
		if (write)
			pthread_mutex_lock(&fd->rmw_lock);
		rc = fd_rw_aligned(fd, f, false, (char *)blk, base, bs);
		if (!rc && write) {
			memcpy(blk + head, buf + done, take);
			rc = fd_rw_aligned(fd, f, true, (char *)blk, base, bs);
		} else if (!rc) {
			memcpy(buf + done, blk + head, take);
		}
		if (write)
			pthread_mutex_unlock(&fd->rmw_lock);
		if (rc)
			return rc;
		done += take;
	}
	return (ssize_t)done;
}

int ovb__fuse_flush(struct ovb_fuse_disk *fd, struct fd_file *f)
{
	int64_t res = ovb_storvsc_sync(f->s, OVB_STORVSC_FLUSH, f->lun.lun, 0,
				       NULL, 0, false);

	return res < 0 ? ovb__fuse_errno(res) : 0;
}

/* Write @len zero bytes at @off (the unaligned edges of a punch). */
static int fd_zero(struct ovb_fuse_disk *fd, struct fd_file *f, uint64_t off,
		   uint64_t len)
{
	char *zero;
	ssize_t rc;

	if (!len)
		return 0;
	zero = calloc(1, len);
	rc = zero ? ovb__fuse_rw(fd, f, true, zero, len, off) : -ENOMEM;
	free(zero);
	return rc < 0 ? (int)rc : 0;
}

/*
 * PUNCH_HOLE|KEEP_SIZE: UNMAP the whole blocks inside the range; the
 * partial blocks at its edges are written with zeros, so the whole range
 * reads back as zeros either way.  Other modes: the size is fixed.
 */
int ovb__fuse_fallocate(struct ovb_fuse_disk *fd, struct fd_file *f, int mode,
			uint64_t off, uint64_t len)
{
	uint64_t bs = f->lun.block_size, lo = off, hi, start, end;
	int64_t res;
	int rc;

	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return mode ? -EOPNOTSUPP : 0;
	if (!f->lun.can_discard)
		return -EOPNOTSUPP;
	if (!len || off > INT64_MAX || len > INT64_MAX - off)
		return -EINVAL;
	hi = lo + len;
	if (hi > f->lun.blocks * bs)
		hi = f->lun.blocks * bs;
	if (lo >= hi)
		return 0;
	start = (lo + bs - 1) / bs * bs;
	end = hi / bs * bs;
	if (start >= end) /* within one block, or two partial ones */
		return fd_zero(fd, f, lo, hi - lo);
	rc = fd_zero(fd, f, lo, start - lo);
	if (!rc)
		rc = fd_zero(fd, f, end, hi - end);
	if (rc)
		return rc;
	res = ovb_storvsc_sync(f->s, OVB_STORVSC_DISCARD, f->lun.lun, start,
			       NULL, end - start, false);
	return res < 0 ? ovb__fuse_errno(res) : 0;
}

/*
 * Abort the FUSE connection through fusectl (mounted here if it is not):
 * every request fails and /dev/fuse readers wake up.  Best effort.
 */
void ovb__fuse_abort_conn(struct ovb_fuse_disk *fd)
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

void ovb__fuse_unmount(struct ovb_fuse_disk *fd)
{
	int e;

	if (ovb_fuse_disk_ended(fd) || !umount2(fd->dir, 0))
		return;
	/* A busy mount (a loop device still attached) goes lazily. */
	e = errno;
	if (umount2(fd->dir, MNT_DETACH))
		ovb_warn("fuse: cannot unmount %s: %s, then %s", fd->dir,
			 strerror(e), strerror(errno));
	else
		ovb_info("fuse: %s busy (%s), detached lazily", fd->dir,
			 strerror(e));
}

void ovb__fuse_abort_io(struct ovb_fuse_disk *fd)
{
	struct ovb_storvsc *s;

	for (unsigned int i = 0; !ovb_storvsc_get(fd->set, i, &s); i++) {
		ovb_storvsc_abort(s);
		ovb_storvsc_put(s);
	}
}

void ovb__fuse_set_ended(struct ovb_fuse_disk *fd)
{
	/* Pairs with the acquire in ovb_fuse_disk_ended(). */
	__atomic_store_n(&fd->ended, true, __ATOMIC_RELEASE);
}

bool ovb_fuse_disk_ended(const struct ovb_fuse_disk *fd)
{
	return fd && __atomic_load_n(&fd->ended, __ATOMIC_ACQUIRE);
}

enum ovb_fuse_mode ovb_fuse_disk_mode(const struct ovb_fuse_disk *fd)
{
	return fd->mode;
}

/* enable_uring: 1 Y, 0 N, -ENOENT no FUSE over io_uring in this kernel. */
static int fd_uring_param(void)
{
	char c = 0;
	int f = open(FD_URING_PARAM, O_RDONLY | O_CLOEXEC);

	if (f < 0)
		return -ENOENT;
	if (read(f, &c, 1) != 1)
		c = 0;
	close(f);
	return c == 'Y' || c == 'y' || c == '1';
}

/*
 * The transport: auto takes io_uring when the kernel has it switched on;
 * asked for, io_uring is switched on here (root may write the module
 * parameter; it stays on for later mounts, and only connections that
 * negotiated it use it).
 */
static int fd_choose(struct ovb_fuse_disk *fd)
{
	int on = fd_uring_param();
	int f;

	if (fd->opts.mode == OVB_FUSE_LIBFUSE) {
		fd->mode = OVB_FUSE_LIBFUSE;
		ovb_info("fuse: %s: libfuse over /dev/fuse (asked for)",
			 fd->dir);
		return 0;
	}
	if (fd->opts.mode == OVB_FUSE_AUTO) {
		fd->mode = on == 1 ? OVB_FUSE_URING : OVB_FUSE_LIBFUSE;
		ovb_info("fuse: %s: %s (auto: %s)", fd->dir,
			 on == 1 ? "FUSE over io_uring" : "libfuse over /dev/fuse",
			 on == 1 ? FD_URING_PARAM " is Y"
			 : on == 0 ? FD_URING_PARAM " is N"
				   : "this kernel has no FUSE over io_uring");
		return 0;
	}
	if (on < 0)
		return -EOPNOTSUPP;
	if (!on) {
		f = open(FD_URING_PARAM, O_WRONLY | O_CLOEXEC);
		if (f < 0 || write(f, "Y", 1) != 1) {
			int e = errno;

			if (f >= 0)
				close(f);
			ovb_warn("fuse: cannot switch on FUSE over io_uring "
				 "(%s): %s", FD_URING_PARAM, strerror(e));
			return -EOPNOTSUPP;
		}
		close(f);
		ovb_info("fuse: wrote Y to %s (FUSE over io_uring; it stays "
			 "on until N is written back)", FD_URING_PARAM);
	}
	fd->mode = OVB_FUSE_URING;
	ovb_info("fuse: %s: FUSE over io_uring (asked for)", fd->dir);
	return 0;
}

static void fd_free(struct ovb_fuse_disk *fd)
{
	/* Files the kernel never released: the connection ended first. */
	while (fd->files)
		ovb__fuse_file_release(fd, fd->files);
	pthread_mutex_destroy(&fd->files_lock);
	fd_pool_free(fd);
	pthread_cond_destroy(&fd->pool_cond);
	pthread_mutex_destroy(&fd->pool_lock);
	pthread_mutex_destroy(&fd->rmw_lock);
	free(fd);
}

int ovb_fuse_disk_start(const char *dir, struct ovb_storvsc_set *set,
			const struct ovb_fuse_disk_opts *opts,
			struct ovb_fuse_disk **out)
{
	struct ovb_fuse_disk *fd;
	struct stat st;
	int rc;

	if (access("/dev/fuse", R_OK | W_OK))
		return -ENODEV;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fd->set = set;
	if (opts)
		fd->opts = *opts;
	snprintf(fd->dir, sizeof(fd->dir), "%s", dir);
	pthread_mutex_init(&fd->rmw_lock, NULL);
	pthread_mutex_init(&fd->files_lock, NULL);
	pthread_mutex_init(&fd->pool_lock, NULL);
	pthread_cond_init(&fd->pool_cond, NULL);
	rc = fd_choose(fd);
	if (!rc)
		rc = fd->mode == OVB_FUSE_URING ? ovb__fuse_ll_start(fd)
						: ovb__fuse_lib_start(fd);
	if (rc == -EOPNOTSUPP && fd->opts.mode == OVB_FUSE_AUTO) {
		ovb_warn("fuse: %s: FUSE over io_uring failed; libfuse over "
			 "/dev/fuse instead", dir);
		fd->mode = OVB_FUSE_LIBFUSE;
		rc = ovb__fuse_lib_start(fd);
	}
	if (rc) {
		fd_free(fd);
		return rc;
	}
	/* Only now: a stat of the mount is a request that we serve. */
	if (!stat(dir, &st))
		fd->dev = st.st_dev;
	*out = fd;
	return 0;
}

int ovb_fuse_disk_stop(struct ovb_fuse_disk *fd)
{
	int rc;

	if (!fd)
		return 0;
	rc = fd->mode == OVB_FUSE_URING ? ovb__fuse_ll_stop(fd)
					: ovb__fuse_lib_stop(fd);
	if (rc)
		return rc;
	fd_free(fd);
	return 0;
}
