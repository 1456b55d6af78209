// SPDX-License-Identifier: MIT
/*
 * The RAM block backend: a disk held in memory, for tests and fuzzing.  It
 * does the work at submit time but delivers every completion from
 * ovb_blk_poll() through the queue's eventfd, exactly like the io_uring
 * backend, so callers exercise their real asynchronous path.  In batch
 * mode a request counts as completed at the flush, like a page-cache hit
 * of the file backend: no eventfd, ovb_blk_ready() says so.  Failure
 * injection (the next N requests fail with an errno) lets tests drive the
 * SCSI MEDIUM ERROR paths.  Layer: backends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openvmbus/blk.h"

/** The RAM disk: the generic part first, so the casts below hold. */
struct ram_blk {
	struct ovb_blk blk;
	uint8_t *data;
	pthread_mutex_t lock; /**< serialises data and the failure counter */
	unsigned fail_n;      /**< requests still to fail */
	int fail_err;	      /**< errno they fail with */
};

/** A RAM queue: completions wait in a FIFO until the next poll. */
struct ram_queue {
	struct ovb_blk_queue q;
	struct ovb_blk_req *head;
	struct ovb_blk_req *tail;
};

static const struct ovb_blk_ops ram_ops;

static struct ram_blk *ram_of(struct ovb_blk *blk)
{
	return (struct ram_blk *)blk;
}

static int ram_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	return ovb_blk_queue_alloc(blk, sizeof(struct ram_queue), out);
}

/* Do the data movement of @req under the lock; returns 0 or -errno. */
static int ram_execute(struct ram_blk *rb, struct ovb_blk_req *req)
{
	uint8_t *p = rb->data + req->off;

	if (rb->fail_n > 0) {
		rb->fail_n--;
		return rb->fail_err;
	}
	switch (req->op) {
	case OVB_BLK_READ:
		ovb_blk_iov_from_buf(req->iov, req->iovcnt, 0, p, req->len);
		break;
	case OVB_BLK_WRITE:
		ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0, p, req->len);
		break;
	case OVB_BLK_DISCARD:
	case OVB_BLK_WRITE_ZEROES:
		memset(p, 0, req->len);
		break;
	case OVB_BLK_WRITE_SAME: /* offered only when a test sets it */
		for (uint64_t o = 0; o < req->len; o += rb->blk.block_size)
			ovb_blk_iov_to_buf(req->iov, req->iovcnt, 0, p + o,
					   rb->blk.block_size);
		break;
	case OVB_BLK_FLUSH:
		break;
	}
	return 0;
}

static int ram_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct ram_blk *rb = ram_of(q->blk);
	struct ram_queue *rq = (struct ram_queue *)q;
	uint64_t one = 1;

	pthread_mutex_lock(&rb->lock);
	req->b_res = ram_execute(rb, req);
	pthread_mutex_unlock(&rb->lock);

	req->b_next = NULL;
	if (rq->tail)
		rq->tail->b_next = req;
	else
		rq->head = req;
	rq->tail = req;
	q->inflight++;
	/* Batch mode: the owner reaps after its flush (ovb_blk_ready). */
	if (q->batch)
		return 0;
	/* Only fails if the counter would overflow: it is readable anyway. */
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* nothing to do */
	}
	return 0;
}

static int ram_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct ram_queue *rq = (struct ram_queue *)q;
	struct ovb_blk_req *req, *next;
	uint64_t cnt;
	int n = 0;

	/* Clear the eventfd first: a completion queued later re-arms it. */
	if (read(q->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled */
	}
	/*
	 * Until the list stays empty: a callback's follow-up completes at
	 * once, and in batch mode it would announce itself to nobody.
	 */
	while ((req = rq->head) != NULL) {
		rq->head = rq->tail = NULL;
		for (; req; req = next) {
			next = req->b_next;
			q->inflight--;
			n++;
			req->done(req, req->b_res);
		}
	}
	return n;
}

static bool ram_ready(const struct ovb_blk_queue *q)
{
	return ((const struct ram_queue *)q)->head != NULL;
}

static void ram_close(struct ovb_blk *blk)
{
	struct ram_blk *rb = ram_of(blk);

	pthread_mutex_destroy(&rb->lock);
	free(rb->data);
	free(rb);
}

static const struct ovb_blk_ops ram_ops = {
	.name = "ram",
	.queue_create = ram_queue_create,
	.queue_destroy = ovb_blk_queue_free,
	.submit = ram_submit,
	.poll = ram_poll,
	.close = ram_close,
	.ready = ram_ready,
};

int ovb_blk_ram_create(uint64_t capacity, uint32_t block_size,
		       struct ovb_blk **out)
{
	struct ram_blk *rb;

	if (!out || (block_size != 512 && block_size != 4096))
		return -EINVAL;
	if (capacity == 0 || capacity % block_size || capacity > SIZE_MAX / 2)
		return -EINVAL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->data = calloc(1, (size_t)capacity);
	if (!rb->data) {
		free(rb);
		return -ENOMEM;
	}
	pthread_mutex_init(&rb->lock, NULL);
	rb->blk.ops = &ram_ops;
	rb->blk.capacity = capacity;
	rb->blk.block_size = block_size;
	rb->blk.can_discard = true;
	strcpy(rb->blk.name, "ram");
	*out = &rb->blk;
	return 0;
}

void ovb_blk_ram_fail_next(struct ovb_blk *blk, unsigned n, int err)
{
	struct ram_blk *rb;

	if (!blk || blk->ops != &ram_ops)
		return;
	rb = ram_of(blk);
	pthread_mutex_lock(&rb->lock);
	rb->fail_n = n;
	rb->fail_err = err < 0 ? err : -EIO;
	pthread_mutex_unlock(&rb->lock);
}

uint8_t *ovb_blk_ram_data(struct ovb_blk *blk)
{
	if (!blk || blk->ops != &ram_ops)
		return NULL;
	return ram_of(blk)->data;
}
