// SPDX-License-Identifier: MIT
/*
 * The block-backend front door: checks every request against the disk's
 * geometry and mode before the backend sees it, dispatches through the ops
 * table, and provides the iovec copy helpers the SCSI target uses for the
 * few commands whose data it builds itself.  Layer: backends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "openvmbus/blk.h"

int ovb_blk_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	if (!blk || !out)
		return -EINVAL;
	return blk->ops->queue_create(blk, out);
}

void ovb_blk_queue_destroy(struct ovb_blk_queue *q)
{
	if (!q)
		return;
	while (q->inflight > 0)
		if (ovb_blk_poll(q, -1) < 0)
			break;
	q->blk->ops->queue_destroy(q);
}

int ovb_blk_queue_cancel(struct ovb_blk_queue *q)
{
	if (!q)
		return -EINVAL;
	if (!q->blk->ops->cancel)
		return -EOPNOTSUPP;
	return q->blk->ops->cancel(q);
}

int ovb_blk_queue_alloc(struct ovb_blk *blk, size_t size,
			struct ovb_blk_queue **out)
{
	struct ovb_blk_queue *q;

	if (!blk || !out || size < sizeof(*q))
		return -EINVAL;
	q = calloc(1, size);
	if (!q)
		return -ENOMEM;
	q->blk = blk;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		int rc = -errno;

		free(q);
		return rc;
	}
	*out = q;
	return 0;
}

void ovb_blk_queue_free(struct ovb_blk_queue *q)
{
	if (!q)
		return;
	close(q->efd);
	free(q);
}

size_t ovb_blk_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Check @req against @blk; 0 or the errno ovb_blk_submit documents. */
static int blk_check(const struct ovb_blk *blk, const struct ovb_blk_req *req)
{
	uint64_t bs = blk->block_size;

	if (!req->done)
		return -EINVAL;
	switch (req->op) {
	case OVB_BLK_FLUSH:
		return 0;
	case OVB_BLK_READ:
		break;
	case OVB_BLK_WRITE:
		if (blk->read_only)
			return -EROFS;
		break;
	case OVB_BLK_DISCARD:
		if (blk->read_only)
			return -EROFS;
		if (!blk->can_discard)
			return -EOPNOTSUPP;
		break;
	case OVB_BLK_WRITE_ZEROES:
		if (blk->read_only)
			return -EROFS;
		if (!blk->can_zero)
			return -EOPNOTSUPP;
		break;
	case OVB_BLK_WRITE_SAME:
		if (blk->read_only)
			return -EROFS;
		if (!blk->can_write_same)
			return -EOPNOTSUPP;
		if (req->iovcnt < 0 || (req->iovcnt > 0 && !req->iov) ||
		    ovb_blk_iov_len(req->iov, req->iovcnt) != bs)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (req->off % bs || req->len % bs)
		return -EINVAL;
	if (req->off > blk->capacity || req->len > blk->capacity - req->off)
		return -EINVAL;
	if (req->op == OVB_BLK_READ || req->op == OVB_BLK_WRITE) {
		if (req->iovcnt < 0 || (req->iovcnt > 0 && !req->iov))
			return -EINVAL;
		if (ovb_blk_iov_len(req->iov, req->iovcnt) != req->len)
			return -EINVAL;
	}
	return 0;
}

int ovb_blk_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	int rc;

	if (!q || !req)
		return -EINVAL;
	rc = blk_check(q->blk, req);
	if (rc)
		return rc;
	req->b_done = 0;
	req->b_iov = NULL;
	req->b_iovcnt = 0;
	req->b_res = 0;
	req->b_next = NULL;
	rc = q->blk->ops->submit(q, req);
	if (!rc)
		q->st.submitted++;
	return rc;
}

void ovb_blk_queue_set_batch(struct ovb_blk_queue *q, bool on)
{
	uint64_t one = 1;

	if (!q)
		return;
	q->batch = on;
	/* Back to the eventfd contract: announce what the flush finished. */
	if (!on && !ovb_blk_flush(q) && ovb_blk_ready(q)) {
		q->efd_written = true;
		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* only fails if the counter would overflow */
		}
	}
}

void ovb_blk_queue_set_notify(struct ovb_blk_queue *q, ovb_blk_notify_fn *fn,
			      void *ctx)
{
	if (!q)
		return;
	q->notify_ctx = ctx;
	q->notify = fn;
}

int ovb_blk_flush(struct ovb_blk_queue *q)
{
	if (!q)
		return -EINVAL;
	return q->blk->ops->flush ? q->blk->ops->flush(q) : 0;
}

int ovb_blk_poll(struct ovb_blk_queue *q, int timeout_us)
{
	if (!q)
		return -EINVAL;
	return q->blk->ops->poll(q, timeout_us);
}

int ovb_blk_queue_eventfd(const struct ovb_blk_queue *q)
{
	return q ? q->efd : -EINVAL;
}

bool ovb_blk_ready(const struct ovb_blk_queue *q)
{
	if (!q)
		return false;
	return q->blk->ops->ready ? q->blk->ops->ready(q) : q->inflight > 0;
}

int ovb_blk_get_stats(struct ovb_blk *blk, struct ovb_blk_stats *st)
{
	if (!blk || !st)
		return -EINVAL;
	if (!blk->ops->stats)
		return -EOPNOTSUPP;
	return blk->ops->stats(blk, st);
}

void ovb_blk_close(struct ovb_blk *blk)
{
	if (blk)
		blk->ops->close(blk);
}

/* Copy between @iov (from byte @off on) and @buf: @to_buf says which way. */
static size_t blk_iov_copy(const struct iovec *iov, int iovcnt, size_t off,
			   uint8_t *buf, size_t len, bool to_buf)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		if (off >= n) {
			off -= n;
			continue;
		}
		n -= off;
		if (n > len - done)
			n = len - done;
		if (to_buf)
			memcpy(buf + done, base + off, n);
		else
			memcpy(base + off, buf + done, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t ovb_blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t off,
			  void *buf, size_t len)
{
	return blk_iov_copy(iov, iovcnt, off, buf, len, true);
}

size_t ovb_blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t off,
			    const void *buf, size_t len)
{
	/* @buf is only read: the cast serves the shared loop. */
	return blk_iov_copy(iov, iovcnt, off, (uint8_t *)buf, len, false);
}
