// SPDX-License-Identifier: MIT
/*
 * The channel data path: packet framing for sends (in-band, GPA direct,
 * transfer pages, completions), batching and flow control on a full ring,
 * tracked requests matched by transaction id, validation of every received
 * packet, and the drain that the worker (chan_run.c) calls.  Layer: bus.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/capture_hook.h"
#include "bus/chan_priv.h"
#include "bus/fault_hook.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

/* ---- tracked requests ---------------------------------------------------- */

static int req_alloc(struct ovb_chan *chan, ovb_chan_comp_fn *fn, void *ctx,
		     uint64_t *xid)
{
	uint32_t slot;

	pthread_mutex_lock(&chan->req_lock);
	if (!chan->req_free) {
		pthread_mutex_unlock(&chan->req_lock);
		return -ENOSPC;
	}
	slot = chan->req_free - 1;
	chan->req_free = chan->req[slot].next_free;
	chan->req[slot].used = true;
	chan->req[slot].fn = fn;
	chan->req[slot].ctx = ctx;
	chan->req[slot].gen++;
	*xid = REQ_TAG | (uint64_t)chan->req[slot].gen << 24 | slot;
	pthread_mutex_unlock(&chan->req_lock);
	return 0;
}

/* Take the request named by @xid; false if @xid names none of ours. */
static bool req_take(struct ovb_chan *chan, uint64_t xid,
		     ovb_chan_comp_fn **fn, void **ctx)
{
	uint32_t slot = xid & 0xffffff, gen = (uint32_t)(xid >> 24) & 0x3fffffff;
	bool ok = false;

	if ((xid & ~((1ull << 62) - 1)) != REQ_TAG || slot >= REQ_SLOTS)
		return false;
	pthread_mutex_lock(&chan->req_lock);
	if (chan->req[slot].used && (chan->req[slot].gen & 0x3fffffff) == gen) {
		*fn = chan->req[slot].fn;
		*ctx = chan->req[slot].ctx;
		chan->req[slot].used = false;
		chan->req[slot].next_free = chan->req_free;
		chan->req_free = slot + 1;
		ok = true;
	}
	pthread_mutex_unlock(&chan->req_lock);
	return ok;
}

static void req_release(struct ovb_chan *chan, uint64_t xid)
{
	ovb_chan_comp_fn *fn;
	void *ctx;

	req_take(chan, xid, &fn, &ctx);
}

/* ---- sending ----------------------------------------------------------- */

/*
 * Wait for the peer to make room, with send_lock held.  Off the worker we
 * sleep on send_cond, which the worker broadcasts on every wake-up; on the
 * worker (a host device sending a completion) we wait on the channel's fds
 * ourselves.  The peer's signal for pending_send_sz arrives on those fds.
 */
static int wait_for_room(struct ovb_chan *chan, const struct timespec *dl)
{
	if (ovb_chan_is_dead(chan))
		return -ECONNRESET;
	if (ovb_deadline_passed(dl))
		return -ETIMEDOUT;
	if (ovb__chan_on_worker(chan)) {
		struct pollfd pfd[2] = {
			{ .fd = chan->wake_fd, .events = POLLIN },
			{ .fd = __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE),
			  .events = POLLIN },
		};
		uint64_t v;
		long left = ovb_deadline_left_ms(dl);
		int n = left < 10 ? (int)left : 10;

		if (poll(pfd, 2, n) > 0) {
			for (int i = 0; i < 2; i++)
				if (pfd[i].revents & POLLIN &&
				    read(pfd[i].fd, &v, sizeof(v)) > 0)
					STAT_ADD(chan, signals_in, 1);
		}
		return 0;
	}
	struct timespec rt;

	/* Wait in slices of 10 ms. */
	ovb_deadline_ms(&rt, 10);
	__atomic_fetch_add(&chan->send_waiters, 1, __ATOMIC_SEQ_CST);
	ovb_cond_timedwait(&chan->send_cond, &chan->send_lock, &rt);
	__atomic_fetch_sub(&chan->send_waiters, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void send_lock(struct ovb_chan *chan, bool *locked)
{
	*locked = !(chan->batching &&
		    pthread_equal(chan->batch_owner, pthread_self()));
	if (*locked)
		pthread_mutex_lock(&chan->send_lock);
}

/* Publish the packets staged in a batch, signal if the ring says so. */
static void chan_batch_commit(struct ovb_chan *chan)
{
	if (chan->batch_pkts)
		STAT_ADD(chan, commits_out, 1);
	chan->batch_pkts = 0;
	if (ovb_ring_write_commit(&chan->out))
		ovb__chan_signal_peer(chan);
}

/*
 * Put one framed packet in the ring; send_lock held.  Three cases: inside
 * an explicit batch (staged, published at ovb_chan_batch_end); by a
 * drainer with reply batching (staged, published when the drain ends);
 * otherwise published now -- together with a drainer's staged packets if
 * there are any, which costs nothing and keeps the ring's batch simple.
 */
static int chan_write(struct ovb_chan *chan, const struct iovec *iov,
		      int iovcnt)
{
	bool signal = false;
	int rc;

	if (chan->batching ||
	    (chan->deferring &&
	     pthread_equal(chan->defer_owner, pthread_self()))) {
		if (!chan->out.in_batch &&
		    (rc = ovb_ring_write_begin(&chan->out)) != 0)
			return rc;
		rc = ovb_ring_write_packet(&chan->out, iov, iovcnt);
		chan->batch_pkts += !rc;
		return rc;
	}
	if (chan->out.in_batch) {
		rc = ovb_ring_write_packet(&chan->out, iov, iovcnt);
		chan->batch_pkts += !rc;
		if (!rc)
			chan_batch_commit(chan);
		return rc;
	}
	rc = ovb_ring_write(&chan->out, iov, iovcnt, &signal);
	if (!rc)
		STAT_ADD(chan, commits_out, 1);
	if (!rc && signal)
		ovb__chan_signal_peer(chan);
	return rc;
}

/* Write one framed packet; send_lock held. */
static int send_locked(struct ovb_chan *chan, const struct iovec *iov,
		       int iovcnt, size_t total, uint32_t flags, int wait_ms)
{
	struct timespec dl;
	bool pending = false;
	int rc;

	for (;;) {
		if (ovb_chan_is_dead(chan) || chan->batch_err) {
			rc = -ECONNRESET;
			break;
		}
		rc = chan_write(chan, iov, iovcnt);
		if (rc != -EAGAIN)
			break;
		/* Publish what is staged so the peer can drain it. */
		if (chan->out.in_batch) {
			chan_batch_commit(chan);
			if (chan->batching)
				ovb_ring_write_begin(&chan->out);
		}
		if (flags & OVB_SEND_NONBLOCK)
			break;
		if (!pending) {
			/* Only a send that waits needs the clock. */
			ovb_deadline_ms(&dl, wait_ms > 0 ? wait_ms :
						  chan->send_timeout_ms);
			STAT_ADD(chan, ring_full, 1);
			/*
			 * A polling caller may have left our inbound ring
			 * masked while the worker sleeps, and a peer that
			 * blocks on that ring never drains this one: have
			 * the worker drain ours before we wait.
			 */
			if (!ovb__chan_on_worker(chan))
				ovb__chan_wake(chan);
		}
		pending = true;
		if (ovb_ring_set_pending_send(&chan->out,
					      ovb_ring_packet_space(total)))
			continue;
		rc = wait_for_room(chan, &dl);
		if (rc)
			break;
	}
	if (pending)
		ovb_ring_set_pending_send(&chan->out, 0);
	if (!rc) {
		STAT_ADD(chan, pkts_out, 1);
		STAT_ADD(chan, bytes_out, total);
	}
	return rc;
}

int ovb_chan_send(struct ovb_chan *chan, const struct ovb_send *s)
{
	static const uint8_t zero[8];
	union {
		struct vmpacket_descriptor d;
		struct vmtransfer_page_packet_header x;
		struct vmdata_gpa_direct g;
	} h;
	uint16_t type = s->type ? s->type : VM_PKT_DATA_INBAND;
	struct iovec iov[4], *v = iov;
	struct ovb_fault_pkt fp;
	bool fault = false;
	size_t fixed, extra = 0, hlen, total;
	const void *extra_p = NULL;
	uint64_t xid = s->xid;
	bool locked = false;
	int rc, n = 0;

	memset(&h, 0, sizeof(h));
	switch (type) {
	case VM_PKT_DATA_INBAND:
	case VM_PKT_COMP:
		fixed = sizeof(h.d);
		break;
	case VM_PKT_DATA_USING_GPA_DIRECT:
		if (!s->range_cnt || !s->ranges_len || s->ranges_len % 8)
			return -EINVAL;
		h.g.range_cnt = s->range_cnt;
		fixed = sizeof(h.g);
		extra = s->ranges_len;
		extra_p = s->ranges;
		break;
	case VM_PKT_DATA_USING_XFER_PAGES:
		if (!s->xfer_cnt)
			return -EINVAL;
		h.x.xfer_pageset_id = s->xfer_pageset_id;
		h.x.range_cnt = s->xfer_cnt;
		fixed = sizeof(h.x);
		extra = (size_t)s->xfer_cnt * sizeof(*s->xfer);
		extra_p = s->xfer;
		break;
	default:
		return -EINVAL;
	}
	/* The payload starts 8-byte aligned: offset8 counts 8-byte units. */
	hlen = (fixed + extra + 7) & ~(size_t)7;
	total = hlen + s->len;
	if (total > 0xffffu * 8)
		return -EMSGSIZE;
	if (s->on_comp) {
		rc = req_alloc(chan, s->on_comp, s->comp_ctx, &xid);
		if (rc)
			return rc;
	}
	h.d.type = type;
	h.d.offset8 = (uint16_t)(hlen / 8);
	h.d.len8 = (uint16_t)((total + 7) / 8);
	h.d.flags = (s->on_comp || s->flags & OVB_SEND_COMPLETION)
			    ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
			    : 0;
	h.d.trans_id = xid;
	iov[n++] = (struct iovec){ &h, fixed };
	if (extra)
		iov[n++] = (struct iovec){ (void *)extra_p, extra };
	if (hlen > fixed + extra)
		iov[n++] = (struct iovec){ (void *)zero, hlen - fixed - extra };
	if (s->len)
		iov[n++] = (struct iovec){ (void *)s->data, s->len };

	if (OVB_FAULT_ON() && chan->tap &&
	    (fault = ovb__fault_pkt(chan, iov, n, total, &fp)) && fp.buf) {
		v = &fp.iov;
		n = 1;
	}
	if (fault && fp.drop) {
		rc = 0; /* the fault swallowed it; the sender never knows */
		goto sent;
	}
	send_lock(chan, &locked);
	rc = send_locked(chan, v, n, total, s->flags, s->timeout_ms);
	if (locked)
		pthread_mutex_unlock(&chan->send_lock);
	if (OVB_CAPTURE_ON() && !rc)
		ovb__cap_pkt_out(chan->tap, v, n, s);
sent:
	if (fault && ovb__fault_pkt_done(chan, &fp, rc))
		ovb__chan_signal_peer(chan);
	if (rc && s->on_comp)
		req_release(chan, xid);
	/*
	 * The peer broke the ring's indices.  Failing the channel takes the
	 * send lock and completes requests, so it happens with the lock
	 * released: here, or at the end of the batch that holds it.  The
	 * caller sees what any send on a failed channel sees.
	 */
	if (rc == -EBADMSG) {
		if (locked)
			ovb_chan_fail(chan, rc,
				      "outbound ring indices corrupt");
		else
			chan->batch_err = rc;
		rc = -ECONNRESET;
	}
	return rc;
}

int ovb_chan_send_inband(struct ovb_chan *chan, const void *data, size_t len,
			 uint64_t xid, uint32_t flags)
{
	struct ovb_send s = { .type = VM_PKT_DATA_INBAND, .flags = flags,
			      .xid = xid, .data = data, .len = len };

	return ovb_chan_send(chan, &s);
}

int ovb_chan_send_comp(struct ovb_chan *chan, uint64_t xid, const void *data,
		       size_t len)
{
	struct ovb_send s = { .type = VM_PKT_COMP, .xid = xid, .data = data,
			      .len = len };

	return ovb_chan_send(chan, &s);
}

uint32_t ovb_chan_send_room(struct ovb_chan *chan)
{
	return ovb_ring_write_avail(&chan->out);
}

void ovb_chan_batch_begin(struct ovb_chan *chan)
{
	pthread_mutex_lock(&chan->send_lock);
	chan->batching = true;
	chan->batch_owner = pthread_self();
	chan->batch_err = 0;
	/* A drainer's staged packets, if any, join this batch. */
	if (!chan->out.in_batch &&
	    ovb_ring_write_begin(&chan->out) == -EBADMSG)
		chan->batch_err = -EBADMSG;
}

void ovb_chan_batch_end(struct ovb_chan *chan)
{
	int err = chan->batch_err;

	chan->batching = false;
	chan->batch_err = 0;
	if (err)
		ovb_ring_write_commit(&chan->out); /* closes it; no signal */
	else
		chan_batch_commit(chan);
	pthread_mutex_unlock(&chan->send_lock);
	if (err)
		ovb_chan_fail(chan, err, "outbound ring indices corrupt");
}

/* ---- receiving --------------------------------------------------------- */

/*
 * Validate a packet copied out of the ring and describe it.  The ring has
 * checked that len8*8 and offset8*8 lie within the copy.
 */
static int chan_parse(struct ovb_chan *chan, const uint8_t *buf, size_t len,
		      struct ovb_pkt *pkt, struct ovb_gpa_range *ranges)
{
	struct vmpacket_descriptor d;
	size_t hlen, used;

	memcpy(&d, buf, sizeof(d));
	hlen = (size_t)d.offset8 * 8;
	if (hlen < sizeof(d) || hlen > len)
		return -EBADMSG;
	if (d.flags & ~VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		return -EBADMSG;
	memset(pkt, 0, sizeof(*pkt));
	pkt->type = d.type;
	pkt->flags = d.flags;
	pkt->xid = d.trans_id;
	pkt->data = buf + hlen;
	pkt->len = (uint32_t)(len - hlen);
	switch (d.type) {
	case VM_PKT_DATA_INBAND:
	case VM_PKT_COMP:
		return 0;
	case VM_PKT_DATA_USING_XFER_PAGES: {
		struct vmtransfer_page_packet_header xh;

		if (hlen < sizeof(xh))
			return -EBADMSG;
		memcpy(&xh, buf, sizeof(xh));
		if (!xh.range_cnt ||
		    xh.range_cnt > (hlen - sizeof(xh)) / sizeof(*pkt->xfer))
			return -EBADMSG;
		pkt->xfer_pageset_id = xh.xfer_pageset_id;
		pkt->xfer_cnt = xh.range_cnt;
		pkt->xfer = (const void *)(buf + sizeof(xh));
		return 0;
	}
	case VM_PKT_DATA_USING_GPA_DIRECT: {
		struct vmdata_gpa_direct gh;

		if (hlen < sizeof(gh))
			return -EBADMSG;
		memcpy(&gh, buf, sizeof(gh));
		if (ovb_gpa_ranges_parse(buf + sizeof(gh), hlen - sizeof(gh),
					 gh.range_cnt, ranges, CHAN_MAX_RANGES,
					 &used))
			return -EBADMSG;
		pkt->range_cnt = gh.range_cnt;
		pkt->ranges = ranges;
		return 0;
	}
	default:
		return -EBADMSG;
	}
}

static void chan_dispatch(struct ovb_chan *chan, const struct ovb_pkt *pkt)
{
	ovb_chan_comp_fn *fn;
	void *ctx;

	if (pkt->type == VM_PKT_COMP && req_take(chan, pkt->xid, &fn, &ctx)) {
		fn(chan, pkt, ctx);
		return;
	}
	if (pkt->type == VM_PKT_COMP && (pkt->xid & ~((1ull << 62) - 1)) ==
						REQ_TAG) {
		STAT_ADD(chan, errors, 1);
		ovb_peer("%s: completion for unknown transaction %#llx dropped",
			 chan->name, (unsigned long long)pkt->xid);
		return;
	}
	if (chan->recv)
		chan->recv(chan, pkt, chan->ctx);
}

/*
 * Reply batching: from now on (@on) this thread's sends on @chan are staged
 * in the ring, and when it ends they are published, with one index update
 * and at most one signal.  The send lock is not held in between, so the
 * callbacks may send on other channels, and other threads here.
 */
static void chan_defer(struct ovb_chan *chan, bool on)
{
	pthread_mutex_lock(&chan->send_lock);
	chan->deferring = on;
	chan->defer_owner = pthread_self();
	if (!on && chan->out.in_batch)
		chan_batch_commit(chan);
	pthread_mutex_unlock(&chan->send_lock);
}

/*
 * Drain up to a budget of packets.  Returns packets read, or -errno.  With
 * reply batching, what the callbacks send on this channel goes out as one
 * batch when the drain ends.
 */
/* The channel whose drain this thread is in (ovb_chan_lend_begin). */
static __thread struct ovb_chan *chan_draining;

int ovb__chan_drain(struct ovb_chan *chan)
{
	struct ovb_gpa_range ranges[CHAN_MAX_RANGES];
	struct ovb_chan *outer = chan_draining;
	struct ovb_pkt pkt;
	bool batch = false;
	int n = 0, rc = 0;
	unsigned int every = 0, since = 0;

	/* Its drainer waits in a callback, mid-packet: the ring is its. */
	if (chan->lent)
		return 0;
	chan_draining = chan;
	/* Acquire: pairs with the release in ovb_chan_hold_rx(); a hold
	 * set by a callback of this loop stops it before the next packet. */
	while (n < CHAN_BUDGET && !ovb_chan_is_dead(chan) &&
	       !__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE)) {
		bool side = chan->side_pos < chan->side_used;
		uint8_t *buf = chan->rxbuf;
		ssize_t len;

		if (side) {
			/* Taken out by a reap: these come first, in order. */
			uint32_t l;

			memcpy(&l, chan->side + chan->side_pos, 4);
			buf = chan->side + chan->side_pos + 8;
			chan->side_pos += 8 + l;
			len = l;
		} else {
			len = ovb_ring_read(&chan->in, buf, chan->rxbuf_len);
		}

		if (len == -EAGAIN)
			break;
		if (len < 0) {
			rc = (int)len;
			break;
		}
		if (chan_parse(chan, buf, (size_t)len, &pkt, ranges)) {
			struct vmpacket_descriptor *d = (void *)buf;

			ovb_peer("%s: malformed packet (type %u, offset8 %u, "
				 "len8 %u, flags %#x)", chan->name, d->type,
				 d->offset8, d->len8, d->flags);
			rc = -EBADMSG;
			break;
		}
		STAT_ADD(chan, pkts_in, 1);
		STAT_ADD(chan, bytes_in, (uint64_t)len);
		if (OVB_CAPTURE_ON())
			ovb__cap_pkt_in(chan->tap, buf, (size_t)len, &pkt);
		if (!batch &&
		    __atomic_load_n(&chan->reply_batch, __ATOMIC_RELAXED)) {
			chan_defer(chan, true);
			batch = true;
			every = __atomic_load_n(&chan->reply_every,
						__ATOMIC_RELAXED);
		}
		chan_dispatch(chan, &pkt);
		/* Replies of a long drain go out every @every packets too. */
		if (batch && every && ++since >= every) {
			since = 0;
			pthread_mutex_lock(&chan->send_lock);
			if (chan->out.in_batch)
				chan_batch_commit(chan);
			pthread_mutex_unlock(&chan->send_lock);
		}
		/*
		 * Emptied only now: a reap while the callback waited (lent)
		 * appends behind the packet it was given.
		 */
		if (side && chan->side_pos == chan->side_used)
			chan->side_pos = chan->side_used = 0;
		n++;
	}
	chan_draining = outer;
	if (batch)
		chan_defer(chan, false);
	if (rc)
		return rc;
	if (n && ovb_ring_read_commit(&chan->in))
		ovb__chan_signal_peer(chan);
	return n;
}

/*
 * ovb_chan_reap(): set the head packet of the ring aside (not a
 * completion) so that the completions behind it can be reached.  0, or
 * -EMSGSIZE when the side buffer is full (the packet stays in the ring),
 * or the ring's error.
 */
static int chan_set_aside(struct ovb_chan *chan)
{
	uint32_t room;
	ssize_t len;

	if (!chan->side && !(chan->side = malloc(CHAN_SIDE_BYTES)))
		return -ENOMEM;
	room = CHAN_SIDE_BYTES - chan->side_used;
	if (room <= 8)
		return -EMSGSIZE;
	len = ovb_ring_read(&chan->in, chan->side + chan->side_used + 8,
			    room - 8);
	if (len < 0)
		return (int)len;
	memcpy(chan->side + chan->side_used, &(uint32_t){ (uint32_t)len }, 4);
	chan->side_used += 8 + (uint32_t)len; /* len8 * 8: stays aligned */
	return 0;
}

int ovb_chan_reap(struct ovb_chan *chan, unsigned int max)
{
	struct ovb_gpa_range ranges[CHAN_MAX_RANGES];
	struct ovb_pkt pkt;
	int n = 0, rc = 0;

	uint32_t aside;

	if (ovb_chan_is_dead(chan))
		return -ECONNRESET;
	if (pthread_mutex_trylock(&chan->read_lock))
		return 0; /* its drainer is at it right now */
	/*
	 * Not rxbuf: a drainer that lent us the ring is still dispatching
	 * the packet it read there.
	 */
	if (!chan->reapbuf && !(chan->reapbuf = malloc(chan->rxbuf_len))) {
		pthread_mutex_unlock(&chan->read_lock);
		return 0;
	}
	aside = chan->side_used;
	while ((unsigned int)n < max && !ovb_chan_is_dead(chan) &&
	       !__atomic_load_n(&chan->rx_held, __ATOMIC_ACQUIRE)) {
		ssize_t len = ovb_ring_read_type(&chan->in, chan->reapbuf,
						 chan->rxbuf_len, VM_PKT_COMP);

		if (len == -ENOMSG) {
			rc = chan_set_aside(chan);
			if (!rc)
				continue;
			if (rc == -EMSGSIZE || rc == -ENOMEM)
				rc = 0; /* full: the rest waits for the drain */
			break;
		}
		if (len == -EAGAIN)
			break;
		if (len < 0) {
			rc = (int)len;
			break;
		}
		if (chan_parse(chan, chan->reapbuf, (size_t)len, &pkt,
			       ranges)) {
			ovb_peer("%s: malformed completion", chan->name);
			rc = -EBADMSG;
			break;
		}
		STAT_ADD(chan, pkts_in, 1);
		STAT_ADD(chan, bytes_in, (uint64_t)len);
		if (OVB_CAPTURE_ON())
			ovb__cap_pkt_in(chan->tap, chan->reapbuf, (size_t)len,
					&pkt);
		chan_dispatch(chan, &pkt);
		n++;
	}
	if (!rc && ovb_ring_read_commit(&chan->in))
		ovb__chan_signal_peer(chan);
	/* Another thread's runner may have looked already: come round. */
	if (chan->side_used != aside && !ovb__chan_on_worker(chan))
		ovb__chan_wake(chan);
	pthread_mutex_unlock(&chan->read_lock);
	if (rc) {
		ovb_chan_fail(chan, rc, "inbound ring corrupt");
		return rc;
	}
	if (n)
		STAT_ADD(chan, polled, (uint64_t)n);
	return n;
}

/*
 * The lend: the drainer holds read_lock through its callbacks; here it
 * lets go while it waits, so that ovb_chan_reap (which reads into its own
 * buffer and appends to the side buffer, which the drain empties only
 * after the packet it handed out is done) can reach the ring.  A drain or
 * poll that takes the lock meanwhile sees `lent` and reads nothing.
 */
struct ovb_chan *ovb_chan_lend_begin(void)
{
	struct ovb_chan *chan = chan_draining;

	if (!chan || chan->lent)
		return NULL;
	chan->lent = true;
	pthread_mutex_unlock(&chan->read_lock);
	return chan;
}

void ovb_chan_lend_end(struct ovb_chan *chan)
{
	if (!chan)
		return;
	pthread_mutex_lock(&chan->read_lock);
	chan->lent = false;
}
