// SPDX-License-Identifier: MIT
/*
 * The Ceph RBD block backend: "rbd:POOL/IMAGE[,conf=FILE][,id=USER]" through
 * librbd's asynchronous calls.  Guest pages go to librbd as iovecs
 * (rbd_aio_readv / rbd_aio_writev), FLUSH is rbd_aio_flush, DISCARD is
 * rbd_aio_write_zeroes (whole objects are deallocated, partial ones zeroed,
 * so a discarded range reads zeros as LBPRZ promises; a plain rbd discard
 * may skip sub-granularity pieces).  Layer: backends.
 *
 * Threads: librbd runs completion callbacks on its own threads.  The
 * callback only records the result, pushes the request onto its queue's
 * lock-free completion stack and writes the queue's eventfd; the callback
 * the caller gave runs later inside ovb_blk_poll() on the queue owner's
 * thread, as the blk.h contract requires.
 *
 * Durability: the rbd client cache is off unless the configuration turns
 * it on, so librbd completes a write once the OSDs acknowledged it.  With
 * "rbd cache = true" a write completes once cached; FLUSH (rbd_aio_flush)
 * then makes it stable and a FUA write is followed by a flush before it
 * completes.  Copies: none on our side; librbd itself copies write data
 * unless rbd_disable_zero_copy_writes is false (its default keeps a guest
 * that rewrites a page in flight from breaking the OSD's checksums), and
 * reads land in its buffers before it copies them to the iovecs.  A
 * restarted OSD is the cluster's business: librados resends the in-flight
 * operations to it; rados_osd_op_timeout bounds how long one may wait,
 * after which it fails with an error the guest sees.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend/blk_scheme.h"
#include "openvmbus/blk.h"
#include "openvmbus/log.h"

/* Defaults set before the configuration file is read (it may override). */
#define RBD_MOUNT_TIMEOUT "20"	/* s: monitors must answer rados_connect */
#define RBD_MON_OP_TIMEOUT "20" /* s: pool lookups and the like */
#define RBD_OSD_OP_TIMEOUT "30" /* s: one I/O may wait this long for OSDs */
/*
 * No client cache unless the configuration asks for one: a write completes
 * when the OSDs have it, as the guest's disk promises without a flush; a
 * cache (rbd cache = true) is honoured, FUA then costs a flush.
 */
#define RBD_CACHE "false"

/** One open image: the generic part first, so the casts below hold. */
struct rbd_blk {
	struct ovb_blk blk;
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool wb_cache; /**< rbd cache on: FUA needs a flush */
};

/** A queue: completions land on a stack from librbd's threads. */
struct rbd_queue {
	struct ovb_blk_queue q;
	struct ovb_blk_req *done; /**< pushed by callbacks (atomic) */
	unsigned busy;		  /**< callbacks still touching the queue */
};

static struct rbd_blk *rbd_of(struct ovb_blk *blk)
{
	return (struct rbd_blk *)blk;
}

static int rbd_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	struct rbd_queue *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return -ENOMEM;
	rq->q.blk = blk;
	rq->q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rq->q.efd < 0) {
		int rc = -errno;

		free(rq);
		return rc;
	}
	*out = &rq->q;
	return 0;
}

static void rbd_queue_destroy(struct ovb_blk_queue *q)
{
	struct rbd_queue *rq = (struct rbd_queue *)q;

	/* The last callback may still be writing the eventfd. */
	while (__atomic_load_n(&rq->busy, __ATOMIC_ACQUIRE))
		sched_yield();
	close(q->efd);
	free(q);
}

/* librbd's thread: record the result and hand the request over. */
static void rbd_complete(rbd_completion_t c, void *arg)
{
	struct ovb_blk_req *req = arg;
	struct rbd_queue *rq = req->b_ctx;
	ssize_t r = rbd_aio_get_return_value(c);
	struct ovb_blk_req *head;
	uint64_t one = 1;

	rbd_aio_release(c);
	req->b_res = r < 0 ? (int)r : 0;
	__atomic_add_fetch(&rq->busy, 1, __ATOMIC_ACQ_REL);
	head = __atomic_load_n(&rq->done, __ATOMIC_RELAXED);
	do
		req->b_next = head;
	while (!__atomic_compare_exchange_n(
	    &rq->done, &head, req, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	/*
	 * The first on an empty stack wakes the owner; the others ride along,
	 * since the owner clears the eventfd before it takes the stack.
	 */
	if (!head && write(rq->q.efd, &one, sizeof(one)) < 0) {
		/* only fails if the counter would overflow: readable anyway */
	}
	__atomic_sub_fetch(&rq->busy, 1, __ATOMIC_RELEASE);
}

/* Hand @req to librbd as operation @op; 0 or -errno (no callback then). */
static int rbd_start(struct rbd_queue *rq, struct ovb_blk_req *req,
		     enum ovb_blk_op op)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	rbd_completion_t c;
	int rc;

	req->b_ctx = rq;
	rc = rbd_aio_create_completion(req, rbd_complete, &c);
	if (rc < 0)
		return rc;
	switch (op) {
	case OVB_BLK_READ:
		rc = rbd_aio_readv(rb->image, req->iov, req->iovcnt, req->off,
				   c);
		break;
	case OVB_BLK_WRITE:
		rc = rbd_aio_writev(rb->image, req->iov, req->iovcnt, req->off,
				    c);
		break;
	case OVB_BLK_FLUSH:
		rc = rbd_aio_flush(rb->image, c);
		break;
	case OVB_BLK_DISCARD:
		rc = rbd_aio_write_zeroes(rb->image, req->off, req->len, c, 0,
					  0);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		rbd_aio_release(c);
		return rc;
	}
	rq->q.st.kicks++;
	return 0;
}

static int rbd_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	/* Batch mode stages nothing: each librbd call queues at once. */
	int rc = rbd_start((struct rbd_queue *)q, req, req->op);

	if (!rc)
		q->inflight++;
	return rc;
}

/* Take every completion, oldest first. */
static struct ovb_blk_req *rbd_take(struct rbd_queue *rq)
{
	struct ovb_blk_req *req, *next, *fifo = NULL;

	req = __atomic_exchange_n(&rq->done, NULL, __ATOMIC_ACQUIRE);
	for (; req; req = next) {
		next = req->b_next;
		req->b_next = fifo;
		fifo = req;
	}
	return fifo;
}

/* Run the callbacks of what completed; returns how many ran. */
static int rbd_reap(struct rbd_queue *rq)
{
	struct rbd_blk *rb = rbd_of(rq->q.blk);
	struct ovb_blk_req *req, *next;
	uint64_t cnt;
	int n = 0;

	/* Clear the eventfd first: a completion pushed later re-arms it. */
	if (read(rq->q.efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled */
	}
	for (req = rbd_take(rq); req; req = next) {
		next = req->b_next;
		/* FUA through a writeback cache: flush before completing. */
		if (req->op == OVB_BLK_WRITE && req->fua && rb->wb_cache &&
		    !req->b_done && !req->b_res) {
			req->b_done = 1;
			req->b_res = rbd_start(rq, req, OVB_BLK_FLUSH);
			if (!req->b_res)
				continue;
		}
		rq->q.inflight--;
		n++;
		req->done(req, req->b_res);
	}
	return n;
}

static bool rbd_ready(const struct ovb_blk_queue *q)
{
	const struct rbd_queue *rq = (const struct rbd_queue *)q;

	return __atomic_load_n(&rq->done, __ATOMIC_ACQUIRE) != NULL;
}

static uint64_t rbd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static int rbd_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct rbd_queue *rq = (struct rbd_queue *)q;
	struct pollfd pfd = {.fd = q->efd, .events = POLLIN};
	uint64_t end;
	int n = rbd_reap(rq);

	if (n || timeout_us == 0)
		return n;
	end = rbd_now_us() + (uint64_t)(timeout_us > 0 ? timeout_us : 0);
	while (q->inflight > 0) {
		if (timeout_us > 0) {
			if (!rbd_ready(q) && rbd_now_us() < end)
				continue;
		} else if (!rbd_ready(q) && poll(&pfd, 1, -1) < 0 &&
			   errno != EINTR) {
			return -errno;
		}
		n = rbd_reap(rq);
		if (n || timeout_us > 0)
			return n;
	}
	return 0;
}

static void rbd_teardown(struct rbd_blk *rb)
{
	if (rb->image)
		rbd_close(rb->image);
	if (rb->io)
		rados_ioctx_destroy(rb->io);
	if (rb->cluster)
		rados_shutdown(rb->cluster);
	free(rb);
}

static void rbd_blk_close(struct ovb_blk *blk)
{
	rbd_teardown(rbd_of(blk));
}

static const struct ovb_blk_ops rbd_ops = {
    .name = "rbd",
    .queue_create = rbd_queue_create,
    .queue_destroy = rbd_queue_destroy,
    .submit = rbd_submit,
    .poll = rbd_poll,
    .close = rbd_blk_close,
    .ready = rbd_ready,
};

/* ---- opening ------------------------------------------------------------ */

/* Log one line and keep it in @err for the caller (`vmbus disk add`). */
__attribute__((format(printf, 3, 4))) static void
rbd_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ovb_err("blk %s", line);
	if (err && errlen)
		snprintf(err, errlen, "%s", line);
}

/** What "rbd:POOL/IMAGE,conf=FILE,id=USER" names. */
struct rbd_target {
	char pool[128];
	char image[128];
	const char *conf; /**< NULL: librados's default search */
	const char *id;	  /**< NULL: client.admin */
};

/* Split the spec into @t (pointing into @opts); 0 or -EINVAL, logged. */
static int rbd_parse(const struct ovb_disk_spec *spec, char *opts,
		     struct rbd_target *t, char *err, size_t errlen)
{
	const char *name = spec->path + strlen("rbd:");
	const char *slash = strchr(name, '/');
	char *opt, *next;

	memset(t, 0, sizeof(*t));
	if (!slash || slash == name || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - name) >= sizeof(t->pool) ||
	    strlen(slash + 1) >= sizeof(t->image)) {
		rbd_fail(err, errlen, "%s: want rbd:POOL/IMAGE", spec->path);
		return -EINVAL;
	}
	memcpy(t->pool, name, (size_t)(slash - name));
	strcpy(t->image, slash + 1);
	if (spec->direct) {
		rbd_fail(err, errlen, "%s: 'direct' is for image files",
			 spec->path);
		return -EINVAL;
	}
	for (opt = *opts ? opts : NULL; opt; opt = next) {
		char *val = strchr(opt, '=');

		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (val)
			*val++ = '\0';
		if (!val || !*val) {
			rbd_fail(err, errlen, "%s: option '%s' needs a value",
				 spec->path, opt);
			return -EINVAL;
		}
		if (!strcmp(opt, "conf"))
			t->conf = val;
		else
			t->id = val;
	}
	return 0;
}

/* Connect to the cluster and open the pool; 0 or -errno, logged. */
static int rbd_connect(struct rbd_blk *rb, const struct rbd_target *t,
		       const char *what, char *err, size_t errlen)
{
	int rc = rados_create(&rb->cluster, t->id);

	if (rc < 0) {
		rb->cluster = NULL;
		rbd_fail(err, errlen, "%s: rados_create: %s", what,
			 strerror(-rc));
		return rc;
	}
	rados_conf_set(rb->cluster, "client_mount_timeout", RBD_MOUNT_TIMEOUT);
	rados_conf_set(rb->cluster, "rados_mon_op_timeout", RBD_MON_OP_TIMEOUT);
	rados_conf_set(rb->cluster, "rados_osd_op_timeout", RBD_OSD_OP_TIMEOUT);
	rados_conf_set(rb->cluster, "rbd_cache", RBD_CACHE);
	rc = rados_conf_read_file(rb->cluster, t->conf);
	if (rc < 0) {
		rbd_fail(err, errlen,
			 "%s: cannot read ceph configuration %s: %s", what,
			 t->conf ? t->conf : "(default search path)",
			 strerror(-rc));
		return rc;
	}
	rc = rados_conf_parse_env(rb->cluster, NULL);
	if (rc >= 0)
		rc = rados_connect(rb->cluster);
	if (rc < 0) {
		rbd_fail(err, errlen,
			 "%s: cannot connect to the Ceph cluster (%s): %s",
			 what, t->conf ? t->conf : "default ceph.conf",
			 strerror(-rc));
		return rc;
	}
	rc = rados_ioctx_create(rb->cluster, t->pool, &rb->io);
	if (rc < 0) {
		rb->io = NULL;
		rbd_fail(err, errlen, "%s: %s", what,
			 rc == -ENOENT ? "no such pool" : strerror(-rc));
	}
	return rc;
}

/* Open (creating if sized) the image and fit its size; 0 or -errno. */
static int rbd_image(struct rbd_blk *rb, const struct ovb_disk_spec *spec,
		     const struct rbd_target *t, char *err, size_t errlen)
{
	uint64_t size;
	int order = 0;
	int rc;

	rc = spec->ro ? rbd_open_read_only(rb->io, t->image, &rb->image, NULL)
		      : rbd_open(rb->io, t->image, &rb->image, NULL);
	if (rc == -ENOENT && spec->size && !spec->ro) {
		rc = rbd_create(rb->io, t->image, spec->size, &order);
		if (rc == 0 || rc == -EEXIST)
			rc = rbd_open(rb->io, t->image, &rb->image, NULL);
	}
	if (rc < 0) {
		rb->image = NULL;
		rbd_fail(err, errlen, "%s: %s", spec->path,
			 rc == -ENOENT ? "no such image (size= creates it)"
				       : strerror(-rc));
		return rc;
	}
	rc = rbd_get_size(rb->image, &size);
	if (rc < 0) {
		rbd_fail(err, errlen, "%s: size: %s", spec->path,
			 strerror(-rc));
		return rc;
	}
	if (spec->size > size && !spec->ro) {
		rc = rbd_resize(rb->image, spec->size);
		if (rc < 0) {
			rbd_fail(err, errlen, "%s: resize: %s", spec->path,
				 strerror(-rc));
			return rc;
		}
		size = spec->size;
	} else if (spec->size && spec->size < size) {
		rbd_fail(err, errlen, "%s: %llu bytes, larger than size=%llu",
			 spec->path, (unsigned long long)size,
			 (unsigned long long)spec->size);
		return -EINVAL;
	}
	rb->blk.capacity = size - size % spec->sector;
	if (rb->blk.capacity == 0) {
		rbd_fail(err, errlen, "%s: smaller than one %u-byte sector",
			 spec->path, spec->sector);
		return -EINVAL;
	}
	return 0;
}

static int rbd_open_spec(const struct ovb_disk_spec *spec, struct ovb_blk **out,
			 char *err, size_t errlen)
{
	char opts[sizeof(spec->opts)], val[16];
	struct rbd_target t;
	struct rbd_blk *rb;
	int rc;

	memcpy(opts, spec->opts, sizeof(opts));
	opts[sizeof(opts) - 1] = '\0';
	rc = rbd_parse(spec, opts, &t, err, errlen);
	if (rc)
		return rc;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rc = rbd_connect(rb, &t, spec->path, err, errlen);
	if (!rc)
		rc = rbd_image(rb, spec, &t, err, errlen);
	if (rc) {
		rbd_teardown(rb);
		return rc;
	}
	rb->wb_cache =
	    rados_conf_get(rb->cluster, "rbd_cache", val, sizeof(val)) < 0 ||
	    strcmp(val, "false") != 0;
	rb->blk.ops = &rbd_ops;
	rb->blk.block_size = spec->sector;
	rb->blk.read_only = spec->ro;
	rb->blk.can_discard = true;
	snprintf(rb->blk.name, sizeof(rb->blk.name), "%.63s", spec->path);
	*out = &rb->blk;
	return 0;
}

static const char *const rbd_keys[] = {"conf", "id", NULL};

const struct ovb_blk_scheme ovb__blk_scheme_rbd = {
    .prefix = "rbd:",
    .keys = rbd_keys,
    .open = rbd_open_spec,
};
