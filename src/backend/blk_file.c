// SPDX-License-Identifier: MIT
/*
 * The file block backend: a raw image file (or a block device) driven
 * through io_uring, one ring per queue so that several channel workers
 * submit in parallel without sharing a lock.  READ/WRITE use readv/writev
 * straight on the caller's iovecs (guest memory, no copy); FUA writes carry
 * RWF_DSYNC; FLUSH is IORING_OP_FSYNC with IORING_FSYNC_DATASYNC; DISCARD
 * punches a hole (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) so the range
 * reads back as zeros.  Short transfers are resumed, never reported as
 * success.  Layer: backends.  Needs Linux >= 5.6 (IORING_OP_FALLOCATE).
 *
 * A fast path comes first, when requests are flushed: a READ or a non-FUA
 * WRITE flushed alone is tried with preadv2/pwritev2 and RWF_NOWAIT, which
 * copies a page-cache hit on the spot and refuses (EAGAIN) whatever would
 * wait; refused or partly done requests go to io_uring, and so do batches
 * (one io_uring_enter for all).  A file system that
 * refuses RWF_NOWAIT itself (EOPNOTSUPP: tmpfs, ext4 buffered writes on
 * Linux 6.x) is not asked again.  A tmpfs or ramfs image is read and
 * written synchronously without RWF_NOWAIT: its pages are memory, the same
 * kind of memory as the guest RAM the worker copies to and from, and
 * io_uring would hand every such request to an io-wq thread.  O_DIRECT
 * images take no fast path: their reads wait for the device.  Durability
 * is the same either way: a WRITE completes once the page cache holds it,
 * FUA writes always go through io_uring with RWF_DSYNC.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

#define FILE_QUEUE_DEPTH 128u /* SQ entries per queue; the CQ is twice */

/** An open image: the generic part first, so the casts below hold. */
struct file_blk {
	struct ovb_blk blk;
	int fd;
	/**
	 * The file is memory (tmpfs, ramfs): reads and writes are plain
	 * copies, done on the caller's thread.
	 */
	bool mem;
	/** RWF_NOWAIT not refused yet, per op (READ, WRITE); atomic. */
	bool nowait[2];
};

/** One queue: a private io_uring whose completions signal q.efd. */
struct file_queue {
	struct ovb_blk_queue q;
	struct io_uring ring;
	unsigned cq_cap; /**< completions the CQ holds: the in-flight limit */
	/** Submitted, not yet tried (batch mode, until the next flush). */
	struct ovb_blk_req *staged, **staged_tail;
	unsigned nstaged;
	/** Completed by the fast path, callbacks not yet run. */
	struct ovb_blk_req *done, **done_tail;
	/** CQEs reaped since the eventfd was last cleared. */
	unsigned cqes;
};

static struct file_blk *file_of(const struct ovb_blk_queue *q)
{
	return (struct file_blk *)q->blk;
}

static int file_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	struct ovb_blk_queue *q;
	struct file_queue *fq;
	int rc = ovb_blk_queue_alloc(blk, sizeof(*fq), &q);

	if (rc)
		return rc;
	fq = (struct file_queue *)q;
	fq->staged_tail = &fq->staged;
	fq->done_tail = &fq->done;
	rc = io_uring_queue_init(FILE_QUEUE_DEPTH, &fq->ring, 0);
	if (rc < 0)
		goto err_ring;
	rc = io_uring_register_eventfd(&fq->ring, q->efd);
	if (rc < 0)
		goto err_register;
	fq->cq_cap = fq->ring.cq.ring_entries;
	*out = q;
	return 0;

err_register:
	io_uring_queue_exit(&fq->ring);
err_ring:
	ovb_err("blk %s: cannot create an io_uring queue: %s", blk->name,
		strerror(-rc));
	ovb_blk_queue_free(q);
	return rc;
}

static void file_queue_destroy(struct ovb_blk_queue *q)
{
	struct file_queue *fq = (struct file_queue *)q;

	io_uring_queue_exit(&fq->ring);
	ovb_blk_queue_free(q);
}

/* Push what the SQ holds to the kernel: one io_uring_enter. */
static void file_kick(struct file_queue *fq)
{
	if (!io_uring_sq_ready(&fq->ring))
		return;
	fq->q.st.kicks++;
	/*
	 * A failing io_uring_enter (-EAGAIN, -EBUSY) leaves the SQEs queued:
	 * the next kick pushes them, so nothing is lost here.
	 */
	io_uring_submit(&fq->ring);
}

/* An SQE, flushing the SQ to the kernel once if it is full. */
static struct io_uring_sqe *file_get_sqe(struct file_queue *fq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fq->ring);

	if (!sqe) {
		file_kick(fq);
		sqe = io_uring_get_sqe(&fq->ring);
	}
	return sqe;
}

/* Fill @sqe for what remains of @req (b_iov after a short transfer). */
static void file_prep(struct io_uring_sqe *sqe, int fd, struct ovb_blk_req *req)
{
	const struct iovec *iov = req->b_iov ? req->b_iov : req->iov;
	int cnt = req->b_iov ? req->b_iovcnt : req->iovcnt;
	uint64_t off = req->off + req->b_done;

	switch (req->op) {
	case OVB_BLK_READ:
		io_uring_prep_readv(sqe, fd, iov, (unsigned)cnt, off);
		break;
	case OVB_BLK_WRITE:
		io_uring_prep_writev2(sqe, fd, iov, (unsigned)cnt, off,
				      req->fua ? RWF_DSYNC : 0);
		break;
	case OVB_BLK_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case OVB_BLK_DISCARD:
	case OVB_BLK_WRITE_ZEROES: /* a hole reads zeros */
		io_uring_prep_fallocate(
		    sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)req->off, (off_t)req->len);
		break;
	case OVB_BLK_WRITE_SAME: /* not offered: ovb_blk_submit refuses it */
		io_uring_prep_nop(sqe);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
}

/*
 * After a short transfer: point b_iov at the bytes not yet moved.
 * Returns 0 or -ENOMEM.
 */
static int file_advance(struct ovb_blk_req *req)
{
	size_t skip = req->b_done;
	int i = 0, n;

	if (!req->b_iov) {
		req->b_iov = malloc(sizeof(*req->b_iov) * (size_t)req->iovcnt);
		if (!req->b_iov)
			return -ENOMEM;
	}
	while (i < req->iovcnt && skip >= req->iov[i].iov_len)
		skip -= req->iov[i++].iov_len;
	for (n = 0; i < req->iovcnt; i++, n++) {
		req->b_iov[n].iov_base = (uint8_t *)req->iov[i].iov_base + skip;
		req->b_iov[n].iov_len = req->iov[i].iov_len - skip;
		skip = 0;
	}
	req->b_iovcnt = n;
	return 0;
}

/* ---- the fast path: a synchronous first try --------------------------- */

/*
 * Which first try @req gets: 0 (a memory file: always a copy), RWF_NOWAIT
 * (a page-cache hit is copied here, anything that would wait is refused
 * with EAGAIN), or -1 (none: FUA writes must reach stable storage,
 * O_DIRECT reads would wait for the device, FLUSH and DISCARD wait too).
 * RWF_NOWAIT only for a request flushed @alone: io_uring copies page-cache
 * hits inline too, and one io_uring_enter for a batch beats a system call
 * per request (about 15 % at 32 in flight), while for a lone request the
 * direct call saves the completion queue round trip (about 30 %).
 */
static int file_fast_flags(const struct file_blk *fb,
			   const struct ovb_blk_req *req, bool alone)
{
	if ((req->op != OVB_BLK_READ && req->op != OVB_BLK_WRITE) ||
	    (req->op == OVB_BLK_WRITE && req->fua))
		return -1;
	if (fb->mem)
		return 0;
	return alone && __atomic_load_n(&fb->nowait[req->op], __ATOMIC_RELAXED)
		       ? RWF_NOWAIT
		       : -1;
}

/*
 * Try @req synchronously.  Returns true when it is finished (b_res holds
 * its result), false when it goes to io_uring, perhaps with a first part
 * already moved (b_done, b_iov).
 */
static bool file_try_sync(struct file_queue *fq, struct ovb_blk_req *req,
			  bool alone)
{
	struct file_blk *fb = file_of(&fq->q);
	int flags = file_fast_flags(fb, req, alone);

	if (flags < 0)
		return false;
	for (;;) {
		const struct iovec *iov = req->b_iov ? req->b_iov : req->iov;
		int cnt = req->b_iov ? req->b_iovcnt : req->iovcnt;
		off_t off = (off_t)(req->off + req->b_done);
		ssize_t n = req->op == OVB_BLK_READ
				    ? preadv2(fb->fd, iov, cnt, off, flags)
				    : pwritev2(fb->fd, iov, cnt, off, flags);

		if (n < 0 && (errno == EOPNOTSUPP ||
			      (errno == EINVAL && flags))) {
			/* This file system takes no RWF_NOWAIT for it. */
			__atomic_store_n(&fb->nowait[req->op], false,
					 __ATOMIC_RELAXED);
			fq->q.st.fallback++;
			return false;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			fq->q.st.fallback++;
			return false; /* would wait: the kernel queue does */
		}
		if (n <= 0) {
			/* An error, or the file shrank: as io_uring reports. */
			req->b_res = n < 0 ? -errno : -EIO;
			return true;
		}
		req->b_done += (uint64_t)n;
		if (req->b_done == req->len) {
			fq->q.st.inline_done++;
			return true;
		}
		/* A part moved: the rest where it left off. */
		if (file_advance(req)) {
			req->b_res = -ENOMEM;
			return true;
		}
		if (flags) {
			fq->q.st.fallback++;
			return false;
		}
	}
}

/* Staged requests: a first try each, the rest queued with one kick. */
static int file_flush(struct ovb_blk_queue *q)
{
	struct file_queue *fq = (struct file_queue *)q;
	int fd = file_of(q)->fd;
	bool alone = fq->nstaged == 1;

	while (fq->staged) {
		struct ovb_blk_req *req = fq->staged;
		struct io_uring_sqe *sqe;

		if (!file_try_sync(fq, req, alone)) {
			sqe = file_get_sqe(fq);
			if (!sqe)
				break; /* the SQ is stuck: the next flush */
			file_prep(sqe, fd, req);
		} else {
			*fq->done_tail = req;
			fq->done_tail = &req->b_next;
		}
		fq->staged = req->b_next;
		fq->nstaged--;
		req->b_next = NULL;
	}
	if (!fq->staged)
		fq->staged_tail = &fq->staged;
	file_kick(fq);
	return 0;
}

static int file_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct file_queue *fq = (struct file_queue *)q;
	uint64_t one = 1;

	if (req->iovcnt > IOV_MAX)
		return -EINVAL;
	if (q->inflight >= fq->cq_cap)
		return -EAGAIN;
	/* From here the request is ours to complete: no error any more. */
	q->inflight++;
	req->b_next = NULL;
	*fq->staged_tail = req;
	fq->staged_tail = &req->b_next;
	fq->nstaged++;
	if (q->batch)
		return 0;
	file_flush(q);
	/* Outside batch mode a completion makes the eventfd readable. */
	if (fq->done) {
		q->efd_written = true;
		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* only fails if the counter would overflow */
		}
	}
	return 0;
}

/* Resume a short transfer of @got bytes; 0 when resubmitted, else -errno. */
static int file_resume(struct file_queue *fq, struct ovb_blk_req *req, int got)
{
	struct io_uring_sqe *sqe;
	int rc;

	/* A zero-byte transfer would loop forever: the file shrank. */
	if (got == 0)
		return -EIO;
	rc = file_advance(req);
	if (rc)
		return rc;
	sqe = file_get_sqe(fq);
	if (!sqe)
		return -EIO;
	file_prep(sqe, file_of(&fq->q)->fd, req);
	file_kick(fq);
	return 0;
}

/* Handle one CQE; returns 1 if a callback ran, 0 if the I/O was resumed. */
static int file_complete(struct file_queue *fq, struct ovb_blk_req *req,
			 int res)
{
	if (res >= 0 && (req->op == OVB_BLK_READ || req->op == OVB_BLK_WRITE)) {
		req->b_done += (unsigned)res;
		if (req->b_done < req->len) {
			res = file_resume(fq, req, res);
			if (res == 0)
				return 0;
		}
	}
	free(req->b_iov);
	req->b_iov = NULL;
	fq->q.inflight--;
	req->done(req, res < 0 ? res : 0);
	return 1;
}

/* Reap every completion available now; returns the callbacks run. */
static int file_reap(struct file_queue *fq)
{
	struct io_uring_cqe *cqe;
	struct ovb_blk_req *req = fq->done;
	int n = 0;

	/* The fast path's first: they finished before anything queued. */
	fq->done = NULL;
	fq->done_tail = &fq->done;
	while (req) {
		struct ovb_blk_req *next = req->b_next;

		free(req->b_iov);
		req->b_iov = NULL;
		fq->q.inflight--;
		req->done(req, req->b_res);
		n++;
		req = next;
	}
	while (io_uring_peek_cqe(&fq->ring, &cqe) == 0) {
		int res = cqe->res;

		req = io_uring_cqe_get_data(cqe);
		io_uring_cqe_seen(&fq->ring, cqe);
		fq->cqes++;
		n += file_complete(fq, req, res);
	}
	return n;
}

/*
 * Flush and reap until stable: a callback may submit a follow-up, which in
 * batch mode is staged, and its fast-path completion announces itself to
 * nobody, so the loop ends only with nothing staged or done.
 */
static int file_settle(struct file_queue *fq)
{
	int n = 0;

	/* Bounded: a kernel that keeps refusing SQEs must not hang us. */
	for (int i = 0; i < 64; i++) {
		file_flush(&fq->q);
		n += file_reap(fq);
		if (!fq->staged && !fq->done)
			break;
	}
	return n;
}

static int file_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct file_queue *fq = (struct file_queue *)q;
	struct io_uring_cqe *cqe;
	uint64_t cnt, end;
	int n, rc;

	/*
	 * Clear the eventfd before reaping: later CQEs re-arm it.  Unless
	 * it cannot be readable: no CQE reaped since the last clear, none
	 * waiting, and we did not write it ourselves.  A reap of fast-path
	 * completions then costs no system call.
	 */
	if (q->efd_written || fq->cqes || io_uring_cq_ready(&fq->ring)) {
		q->efd_written = false;
		fq->cqes = 0;
		if (read(q->efd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: nothing signalled */
		}
	}
	n = file_settle(fq);
	if (n > 0 || timeout_us == 0 || q->inflight == 0)
		return n;
	if (timeout_us > 0) {
		end = ovb_now_us() + (uint64_t)timeout_us;
		while (n == 0 && q->inflight > 0 && ovb_now_us() < end)
			n = file_settle(fq);
		return n;
	}
	while (n == 0 && q->inflight > 0) {
		rc = io_uring_wait_cqe(&fq->ring, &cqe);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
			return rc;
		n = file_settle(fq);
	}
	return n;
}

static bool file_ready(const struct ovb_blk_queue *q)
{
	const struct file_queue *fq = (const struct file_queue *)q;

	/* The CQ tail, read from the ring the kernel shares with us. */
	return fq->done || io_uring_cq_ready(&fq->ring) > 0;
}

static void file_close(struct ovb_blk *blk)
{
	struct file_blk *fb = (struct file_blk *)blk;

	close(fb->fd);
	free(fb);
}

static const struct ovb_blk_ops file_ops = {
	.name = "file",
	.queue_create = file_queue_create,
	.queue_destroy = file_queue_destroy,
	.submit = file_submit,
	.poll = file_poll,
	.close = file_close,
	.ready = file_ready,
	.flush = file_flush,
};

/* Open or create the file; returns the fd or a negative errno. */
static int file_open_fd(const struct ovb_disk_spec *spec)
{
	int flags = (spec->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd;

	if (spec->direct)
		flags |= O_DIRECT;
	fd = open(spec->path, flags);
	if (fd >= 0 || errno != ENOENT || spec->ro)
		return fd >= 0 ? fd : -errno;
	if (spec->size == 0) {
		ovb_err("blk %s: file does not exist and no size= was given",
			spec->path);
		return -EINVAL;
	}
	fd = open(spec->path, flags | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)spec->size) < 0) {
		int rc = -errno;

		close(fd);
		unlink(spec->path);
		return rc;
	}
	return fd;
}

/* Find the usable size of @fd, growing a small file to spec->size. */
static int file_size(int fd, const struct ovb_disk_spec *spec, uint64_t *size,
		     bool *is_reg)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*is_reg = S_ISREG(st.st_mode);
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!*is_reg) {
		ovb_err("blk %s: not a regular file or block device",
			spec->path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	if (spec->size == 0 || spec->size == *size)
		return 0;
	if (spec->size < *size) {
		ovb_err("blk %s: file is %llu bytes, larger than size=%llu; "
			"refusing to shrink it",
			spec->path, (unsigned long long)*size,
			(unsigned long long)spec->size);
		return -EINVAL;
	}
	if (spec->ro) {
		ovb_err("blk %s: read-only file is smaller than size=%llu",
			spec->path, (unsigned long long)spec->size);
		return -EINVAL;
	}
	if (ftruncate(fd, (off_t)spec->size) < 0)
		return -errno;
	*size = spec->size;
	return 0;
}

/* True if @fd lives on a file system whose pages are memory. */
static bool file_is_mem(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

int ovb_blk_file_open(const struct ovb_disk_spec *spec, struct ovb_blk **out)
{
	uint32_t bs = spec && spec->sector ? spec->sector : 512;
	struct file_blk *fb;
	uint64_t size = 0;
	bool is_reg = false;
	const char *base;
	int fd, rc;

	if (!spec || !out || (bs != 512 && bs != 4096))
		return -EINVAL;
	fd = file_open_fd(spec);
	if (fd < 0) {
		if (fd != -EINVAL) /* -EINVAL was explained already */
			ovb_err("blk %s: cannot open: %s", spec->path,
				strerror(-fd));
		return fd;
	}
	rc = file_size(fd, spec, &size, &is_reg);
	if (rc)
		goto err_fd;
	size -= size % bs;
	if (size == 0) {
		ovb_err("blk %s: smaller than one %u-byte sector", spec->path,
			bs);
		rc = -EINVAL;
		goto err_fd;
	}
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		rc = -ENOMEM;
		goto err_fd;
	}
	fb->fd = fd;
	/* The page cache is the only copy of a tmpfs file: memory. */
	fb->mem = !spec->direct && file_is_mem(fd);
	fb->nowait[OVB_BLK_READ] = fb->nowait[OVB_BLK_WRITE] = !spec->direct;
	fb->blk.ops = &file_ops;
	fb->blk.capacity = size;
	fb->blk.block_size = bs;
	fb->blk.read_only = spec->ro;
	/* Probe hole punching past the end: changes nothing if it works. */
	fb->blk.can_discard =
	    is_reg && !spec->ro &&
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)size, bs) == 0;
	base = strrchr(spec->path, '/');
	snprintf(fb->blk.name, sizeof(fb->blk.name), "%.63s",
		 base ? base + 1 : spec->path);
	*out = &fb->blk;
	return 0;

err_fd:
	close(fd);
	return rc;
}
