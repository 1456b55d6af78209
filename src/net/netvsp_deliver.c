// SPDX-License-Identifier: MIT
/*
 * netvsp frames towards the guest.  The receive buffer is cut into equal
 * slots (the sub-allocations of SEND_RECV_BUF_COMPLETE); a frame (or an
 * RNDIS control message) is copied into its batch's slots, the only copy
 * it gets, and announced as one range of a transfer-page packet (pageset
 * = the id the guest gave).  The messages of a batch are packed end to
 * end, 8-byte aligned, a slot holding as many as fit: a 64-byte frame
 * takes 104-150 bytes with its RNDIS header, not a slot.  Frames the
 * switch delivers wait in their channel's batch until the switch flushes
 * the port (end of the input, or of the caller's ovb_vswitch_batch) or
 * the batch is full: then one packet with one range per frame and one
 * signal carries them all.  Its transaction id is the first slot of the
 * batch; the others are chained behind it, and the guest's one completion
 * frees them together.
 *
 * Backpressure: when no slot is free or the ring has no room, the thread
 * that delivers (a TAP reader, another guest's channel worker, the bench
 * source) waits for the guest's completions, at most cfg.rx_wait_ms
 * (NETVSP_RX_WAIT_MS by default) per step, instead of dropping: a source
 * is slowed to what the guest takes.  Only a guest that stops completing for that long loses frames,
 * counted in no_buffer; it is then marked stalled and frames for it are
 * dropped without waiting until it completes again, so that one stuck
 * guest does not hold up a source that feeds others too.  A thread that
 * drains some of the guest's channels itself (a shared worker serving the
 * sender's and the receiver's channels, ovb_chan_runs_here) would wait
 * for itself: it takes the completions at the head of those rings itself
 * (ovb_chan_reap, counted in reaps) while it waits, with the same bound.
 * So does a channel's own worker (another guest's sends, drained there)
 * short of slots: the receiver's worker may be waiting for our guest's
 * slots in turn, each holding the ring the other's completions sit in;
 * both lend their own ring while they wait (ovb_chan_lend_begin).
 * Waiting for ring room is allowed there: the guest drains that ring on
 * its own threads.
 *
 * Large frames: the port (netvsp_port.c) takes TSO frames whole.  A guest
 * that enabled receive segment coalescing (NVSP 6.1 RSC, docs/wire.md B14)
 * gets one as consecutive ranges of one packet, each an RNDIS PACKET
 * carrying the internal packet-id PPI with its fragment flags; any other
 * guest gets the frame cut into MSS-sized segments, checksums filled in.
 * Layer: devices.  Spec: docs/wire.md B6, B9, B14.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fault_hook.h"
#include "core/prefetch.h"
#include "core/spin.h"
#include "net/netvsp_priv.h"
#include "openvmbus/byteorder.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

#define SLOT_NONE UINT32_MAX
/* slot_busy values */
#define SLOT_FREE 0u
#define SLOT_HELD 1u   /* in a batch, not its first */
#define SLOT_HEAD 2u   /* the batch's transaction id: completable */

uint32_t netvsp__slot_size(const struct ovb_netvsp_cfg *cfg, size_t buf)
{
	uint32_t s = (cfg->mtu + 14u + 4u + NETVSP_RX_HDR + 63u) & ~63u;
	uint32_t want = (cfg->rx_slot + 63u) & ~63u;

	/* The default only where it leaves enough slots (packets). */
	if (!cfg->rx_slot && buf / NETVSP_RX_SLOT >= NETVSP_RX_SLOTS_MIN)
		want = NETVSP_RX_SLOT;
	if (s < want)
		s = want;
	return s < 1728u ? 1728u : s; /* never below Hyper-V's */
}

int netvsp__slots_init(struct netvsp_nic *nic)
{
	nic->slot_size = netvsp__slot_size(&nic->vsp->cfg, nic->rx_view.len);
	nic->nslots = (uint32_t)(nic->rx_view.len / nic->slot_size);
	nic->slot_free = calloc(nic->nslots, sizeof(*nic->slot_free));
	nic->slot_next = calloc(nic->nslots, sizeof(*nic->slot_next));
	nic->slot_busy = calloc(nic->nslots, 1);
	if (!nic->slot_free || !nic->slot_busy || !nic->slot_next) {
		netvsp__slots_free(nic);
		return -ENOMEM;
	}
	/* Low slots on top of the stack: handed out first. */
	for (uint32_t i = 0; i < nic->nslots; i++)
		nic->slot_free[i] = nic->nslots - 1 - i;
	nic->nfree = nic->nslots;
	return 0;
}

void netvsp__slots_free(struct netvsp_nic *nic)
{
	free(nic->slot_free);
	free(nic->slot_busy);
	free(nic->slot_next);
	nic->slot_free = NULL;
	nic->slot_busy = NULL;
	nic->slot_next = NULL;
	nic->nslots = nic->nfree = 0;
	/* nic->lock is write-held: no batch is being filled or sent. */
	for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++) {
		struct netvsp_chan *ch = nic->ch[i];

		if (!ch)
			continue;
		ch->npend = ch->nframes = 0;
		ch->pend_bytes = 0;
		ch->pend_head = ch->pend_tail = SLOT_NONE;
		ch->pend_fill = ch->pend_slots = ch->pend_pf = 0;
		ch->cache_pos = ch->ncache = 0;
	}
}

/* Take @n slots, waiting until @dl (NULL: not at all). */
static int slots_get(struct netvsp_nic *nic, uint32_t n, uint32_t *out,
		     const struct timespec *dl)
{
	int rc = 0;

	/* Spin a little for the guest's completions before sleeping. */
	if (dl && __atomic_load_n(&nic->nfree, __ATOMIC_ACQUIRE) < n)
		ovb__spin_until(&nic->nfree, n, NETVSP_SPIN_US);
	pthread_mutex_lock(&nic->slot_lock);
	while (nic->nfree < n && dl && !rc) {
		nic->slot_waiters++;
		rc = ovb_cond_timedwait(&nic->slot_cond, &nic->slot_lock, dl);
		nic->slot_waiters--;
		if (!nic->slot_busy)
			rc = -ENODEV; /* the buffer went away meanwhile */
	}
	if (nic->slot_busy && nic->nfree >= n) {
		for (uint32_t i = 0; i < n; i++) {
			out[i] = nic->slot_free[nic->nfree - 1 - i];
			nic->slot_busy[out[i]] = SLOT_HELD;
			nic->slot_next[out[i]] = SLOT_NONE;
		}
		__atomic_store_n(&nic->nfree, nic->nfree - n,
				 __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->slot_takes, 1, __ATOMIC_RELAXED);
		rc = 0;
	} else {
		rc = -ENOBUFS;
	}
	pthread_mutex_unlock(&nic->slot_lock);
	return rc;
}

/*
 * Take up to @max free slots for @ch's batch in one lock round trip, never
 * more than half of those free (the NIC's other channels, and a frame
 * that needs many, draw from the same slots) but at least one if any is.
 * Returns how many; they are @ch's cache until its batch is sent.
 */
static uint32_t slots_grab(struct netvsp_nic *nic, struct netvsp_chan *ch,
			   uint32_t max)
{
	uint32_t n;

	pthread_mutex_lock(&nic->slot_lock);
	n = nic->slot_busy ? nic->nfree : 0;
	n = n / 2 < max ? n / 2 : max;
	if (!n && nic->slot_busy && nic->nfree)
		n = 1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = nic->slot_free[nic->nfree - 1 - i];

		ch->cache[i] = s;
		nic->slot_busy[s] = SLOT_HELD;
		nic->slot_next[s] = SLOT_NONE;
	}
	__atomic_store_n(&nic->nfree, nic->nfree - n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&nic->slot_lock);
	if (n)
		__atomic_fetch_add(&nic->vsp->slot_takes, 1, __ATOMIC_RELAXED);
	ch->cache_pos = 0;
	ch->ncache = n;
	return n;
}

/* Give @ch's unused cached slots back; slot_lock held. */
static void cache_put_locked(struct netvsp_nic *nic, struct netvsp_chan *ch)
{
	/* Last taken first back: the stack ends as it was. */
	while (ch->ncache > ch->cache_pos) {
		uint32_t s = ch->cache[--ch->ncache];

		nic->slot_busy[s] = SLOT_FREE;
		nic->slot_free[nic->nfree] = s;
		__atomic_store_n(&nic->nfree, nic->nfree + 1,
				 __ATOMIC_RELEASE);
	}
	ch->cache_pos = ch->ncache = 0;
	if (nic->slot_waiters)
		pthread_cond_broadcast(&nic->slot_cond);
}

/* Free the chain that starts at @head; slot_lock held. */
static void chain_put_locked(struct netvsp_nic *nic, uint32_t head)
{
	for (uint32_t s = head, i = 0; s != SLOT_NONE && i < nic->nslots;
	     i++) {
		uint32_t next = nic->slot_next[s];

		nic->slot_busy[s] = SLOT_FREE;
		nic->slot_free[nic->nfree] = s;
		/* Release: pairs with the spin in slots_get(). */
		__atomic_store_n(&nic->nfree, nic->nfree + 1,
				 __ATOMIC_RELEASE);
		s = next;
	}
	if (nic->slot_waiters)
		pthread_cond_broadcast(&nic->slot_cond);
}

static void chain_put(struct netvsp_nic *nic, uint32_t head)
{
	pthread_mutex_lock(&nic->slot_lock);
	if (nic->slot_busy)
		chain_put_locked(nic, head);
	pthread_mutex_unlock(&nic->slot_lock);
}

void netvsp__chan_drop_batch(struct netvsp_nic *nic, struct netvsp_chan *ch)
{
	pthread_mutex_lock(&nic->slot_lock);
	if (nic->slot_busy) {
		if (ch->pend_head != SLOT_NONE)
			chain_put_locked(nic, ch->pend_head);
		cache_put_locked(nic, ch);
	}
	pthread_mutex_unlock(&nic->slot_lock);
	ch->npend = ch->nframes = 0;
	ch->pend_bytes = 0;
	ch->pend_head = ch->pend_tail = SLOT_NONE;
	ch->pend_fill = ch->pend_slots = ch->pend_pf = 0;
	ch->cache_pos = ch->ncache = 0;
}

void netvsp__slot_complete(struct netvsp_nic *nic, struct ovb_chan *chan,
			   uint64_t xid)
{
	uint32_t chunk[NETVSP_BATCH_FRAMES], s = SLOT_NONE, i = 0, n;
	bool ok = false;

	pthread_rwlock_rdlock(&nic->lock);
	pthread_mutex_lock(&nic->slot_lock);
	if (nic->slot_busy && xid < nic->nslots &&
	    __atomic_load_n(&nic->slot_busy[xid], __ATOMIC_RELAXED) ==
		    SLOT_HEAD) {
		/* Ours now: a second completion for it finds no head. */
		__atomic_store_n(&nic->slot_busy[xid], SLOT_HELD,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&nic->rx_stalled, false, __ATOMIC_RELAXED);
		s = (uint32_t)xid;
		ok = true;
	}
	pthread_mutex_unlock(&nic->slot_lock);
	/*
	 * Walk the chain outside the slot lock (nobody else touches a chain
	 * the guest held; nic->lock keeps the arrays) and give it back a
	 * batch's worth per lock round trip: the walk's misses no longer
	 * stretch the lock the delivering thread waits for (the contention
	 * of docs/net-perf.md, host->guest 1500 B in the full run).
	 */
	while (s != SLOT_NONE && i < nic->nslots) {
		for (n = 0; s != SLOT_NONE && n < NETVSP_BATCH_FRAMES &&
			    i < nic->nslots; n++, i++) {
			chunk[n] = s;
			s = nic->slot_next[s];
		}
		pthread_mutex_lock(&nic->slot_lock);
		for (uint32_t k = 0; k < n; k++) {
			nic->slot_busy[chunk[k]] = SLOT_FREE;
			nic->slot_free[nic->nfree + k] = chunk[k];
		}
		/* Release: pairs with the spin in slots_get(). */
		__atomic_store_n(&nic->nfree, nic->nfree + n,
				 __ATOMIC_RELEASE);
		if (nic->slot_waiters)
			pthread_cond_broadcast(&nic->slot_cond);
		pthread_mutex_unlock(&nic->slot_lock);
	}
	pthread_rwlock_unlock(&nic->lock);
	if (!ok) {
		ovb_peer("%s: completion for receive slot %llu that the guest "
			 "does not hold", ovb_chan_name(chan),
			 (unsigned long long)xid);
		__atomic_fetch_add(&nic->vsp->bad_completions, 1,
				   __ATOMIC_RELAXED);
	}
}

/* netvsp__batch_add() for a slot that is not contiguous in our memory. */
static void batch_write_paged(struct netvsp_nic *nic, struct netvsp_chan *ch,
			      size_t off, const void *hdr, size_t hlen,
			      const void *d1, size_t l1, const void *d2,
			      size_t l2)
{
	size_t len = hlen + l1 + l2;
	uint8_t *tmp;

	if (!OVB_FAULT_ON() || !(tmp = malloc(len))) {
		ovb_gmem_view_write(&nic->rx_view, off, hdr, hlen);
		if (l1)
			ovb_gmem_view_write(&nic->rx_view, off + hlen, d1, l1);
		if (l2)
			ovb_gmem_view_write(&nic->rx_view, off + hlen + l1, d2,
					    l2);
		return;
	}
	/* The fault engine edits the message in place: stage it. */
	memcpy(tmp, hdr, hlen);
	if (l1)
		memcpy(tmp + hlen, d1, l1);
	if (l2)
		memcpy(tmp + hlen + l1, d2, l2);
	ovb__fault_rndis(ch->chan, tmp, len);
	ovb_gmem_view_write(&nic->rx_view, off, tmp, len);
	free(tmp);
}

/*
 * Copy one RNDIS message (@hdr, then @d1 and @d2) to @off, a place
 * netvsp__batch_place or netvsp__batch_open gave, and add it to @ch's
 * batch as the next range; pend_lock held.
 */
void netvsp__batch_add(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       size_t off, const void *hdr, size_t hlen,
		       const void *d1, size_t l1, const void *d2, size_t l2)
{
	size_t len = hlen + l1 + l2;
	uint8_t *p = ovb_gmem_view_ptr(&nic->rx_view, off, len);
	struct vmtransfer_page_range *r = &ch->pend[ch->npend++];

	if (p) {
		memcpy(p, hdr, hlen);
		if (l1)
			memcpy(p + hlen, d1, l1);
		if (l2)
			memcpy(p + hlen + l1, d2, l2);
		if (OVB_FAULT_ON())
			ovb__fault_rndis(ch->chan, p, len);
	} else {
		/* The slot straddles scattered pages of a paged view. */
		batch_write_paged(nic, ch, off, hdr, hlen, d1, l1, d2, l2);
	}
	r->byte_count = (uint32_t)len;
	r->byte_offset = (uint32_t)off;
}

/*
 * Ask for the lines the next message of @ch's batch will take, for
 * writing, a message ahead of its copy: as many as the one just placed
 * (@len) took, each line once (pend_pf).  The guest's CPU read them
 * last, so the copy would wait for their ownership line by line; asked
 * early, the wait overlaps this message's copy.  Only the first two
 * lines, as for a slot of its own, left a 1500-byte copy 20 % slower
 * (perf, host->guest 1500 B): the packed messages run on past them.
 */
static void place_prefetch(struct netvsp_nic *nic, struct netvsp_chan *ch,
			   size_t len)
{
	uint32_t from = ch->pend_fill > ch->pend_pf ? ch->pend_fill
						      : ch->pend_pf;
	uint32_t to = ch->pend_fill + (uint32_t)len;
	const uint8_t *p;

	if (to > nic->slot_size)
		to = nic->slot_size;
	from &= ~63u;
	if (from >= to)
		return;
	p = ovb_gmem_view_ptr(&nic->rx_view,
			      (size_t)ch->pend_tail * nic->slot_size + from,
			      to - from);
	if (p)
		for (uint32_t i = 0; i < to - from; i += 64)
			ovb__prefetchw(p + i);
	ch->pend_pf = to;
}

static uint32_t msg_align(size_t len)
{
	return (uint32_t)((len + NETVSP_MSG_ALIGN - 1) & ~(size_t)
			  (NETVSP_MSG_ALIGN - 1));
}

/*
 * Chain @slot behind @ch's batch as the slot its next messages are packed
 * into, the first of them @len bytes at its start; returns that place.
 * pend_lock held.
 */
size_t netvsp__batch_open(struct netvsp_nic *nic, struct netvsp_chan *ch,
			  uint32_t slot, size_t len)
{
	if (ch->pend_head == SLOT_NONE)
		ch->pend_head = slot;
	else
		nic->slot_next[ch->pend_tail] = slot;
	ch->pend_tail = slot;
	ch->pend_slots++;
	ch->pend_fill = msg_align(len);
	if (ch->pend_fill > nic->slot_size)
		ch->pend_fill = nic->slot_size;
	ch->pend_pf = ch->pend_fill;
	return (size_t)slot * nic->slot_size;
}

/*
 * Send @ch's batch as one transfer-page packet, waiting up to @wait_ms for
 * ring room (0: not at all).  pend_lock held.  On failure its slots go
 * back and its frames count as dropped.
 */
int netvsp__batch_send(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       uint32_t channel_type, int wait_ms)
{
	union nvsp_message m;
	struct ovb_send s = { .type = VM_PKT_DATA_USING_XFER_PAGES };
	uint32_t head = ch->pend_head, frames = ch->nframes;
	uint64_t bytes = ch->pend_bytes;
	int rc;

	if (!ch->npend) {
		if (ch->ncache) {
			pthread_mutex_lock(&nic->slot_lock);
			cache_put_locked(nic, ch);
			pthread_mutex_unlock(&nic->slot_lock);
		}
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	m.rndis_pkt.channel_type = channel_type;
	m.rndis_pkt.send_buf_section_index = NVSP_INVALID_SECTION_INDEX;
	/*
	 * The batch's head marks the chain as the guest's.  The slot lock is
	 * only needed to give back cached slots the batch did not use; a
	 * batch that used its cache (a run of frames, the common case) does
	 * without: the completion worker takes that lock for every
	 * completion, and on two cores a source that took it twice per batch
	 * slept on it often -- with the worker paying a futex wake each time
	 * and falling behind, bench/net's host->guest 1500 B sat at 4 instead
	 * of 10 Mpps (docs/net-perf.md).  The head is published by the ring
	 * write below (a release); the worker reads it after the guest's
	 * completion, which follows our packet.
	 */
	if (ch->ncache > ch->cache_pos) {
		pthread_mutex_lock(&nic->slot_lock);
		__atomic_store_n(&nic->slot_busy[head], SLOT_HEAD,
				 __ATOMIC_RELAXED);
		cache_put_locked(nic, ch);
		pthread_mutex_unlock(&nic->slot_lock);
	} else {
		__atomic_store_n(&nic->slot_busy[head], SLOT_HEAD,
				 __ATOMIC_RELAXED);
		ch->cache_pos = ch->ncache = 0;
	}
	/* The next batch takes as many slots at once as this one had. */
	ch->grab = ch->pend_slots < 1 ? 1
		   : ch->pend_slots > NETVSP_BATCH_FRAMES ? NETVSP_BATCH_FRAMES
							  : ch->pend_slots;
	s.flags = OVB_SEND_COMPLETION | (wait_ms ? 0 : OVB_SEND_NONBLOCK);
	s.timeout_ms = wait_ms;
	s.xid = head;
	s.xfer_pageset_id = nic->rx_id;
	s.xfer = ch->pend;
	s.xfer_cnt = ch->npend;
	s.data = &m;
	s.len = sizeof(m);
	ch->npend = ch->nframes = 0;
	ch->pend_bytes = 0;
	ch->pend_head = ch->pend_tail = SLOT_NONE;
	ch->pend_fill = ch->pend_slots = ch->pend_pf = 0;
	rc = ovb_chan_send(ch->chan, &s);
	if (rc) {
		chain_put(nic, head);
		if (frames) {
			__atomic_fetch_add(&nic->vsp->no_buffer, frames,
					   __ATOMIC_RELAXED);
			__atomic_fetch_add(&nic->rx_nobuf, frames,
					   __ATOMIC_RELAXED);
		}
		return rc;
	}
	if (frames) {
		__atomic_fetch_add(&nic->vsp->to_guest, frames,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->to_guest_bytes, bytes,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_ok, frames, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_bytes, bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->to_guest_batches, 1,
				   __ATOMIC_RELAXED);
	}
	return 0;
}

/* True if this thread drains one of @nic's channels (a shared worker). */
static bool nic_drained_here(struct netvsp_nic *nic)
{
	for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++)
		if (nic->ch[i] && ovb_chan_runs_here(nic->ch[i]->chan))
			return true;
	return false;
}

/*
 * The wait of a thread that drains rings itself, for @n of @nic's slots:
 * until cfg.rx_wait_ms runs out take the completions out of all the NIC's
 * rings (ovb_chan_reap; a ring its drainer holds right now is left to
 * it) and look for free slots.  All of them, not only ours: with two
 * shared workers (two queues), each may be here for the other's NIC,
 * and the slots each waits for are completed on a ring the other drains.
 * Meanwhile the ring this thread drains is lent (@lent, from
 * ovb_chan_lend_begin; NULL: none, ended here):
 * the receiver's worker may be waiting for our guest's slots in turn,
 * with those completions in our ring behind sends we have not read --
 * each takes the other's.  A guest that completes nothing in that time
 * is marked stalled, as after a plain wait.  pend_lock held.
 */
static int wait_reaping(struct netvsp_nic *nic, uint32_t n, uint32_t *slots,
			struct ovb_chan *lent)
{
	struct timespec dl;
	int rc = -ENOBUFS;

	ovb_deadline_ms(&dl, nic->vsp->cfg.rx_wait_ms);
	for (;;) {
		for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++) {
			struct netvsp_chan *c = nic->ch[i];

			if (c && ovb_chan_reap(c->chan, NETVSP_MAX_RANGES) > 0)
				__atomic_fetch_add(&nic->vsp->reaps, 1,
						   __ATOMIC_RELAXED);
		}
		if (!slots_get(nic, n, slots, NULL)) {
			rc = 0;
			break;
		}
		if (ovb_deadline_passed(&dl))
			break;
		/* Others' returns raise nfree; ours need another reap. */
		ovb__spin_until(&nic->nfree, n, NETVSP_REAP_SPIN_US);
	}
	ovb_chan_lend_end(lent);
	if (rc) {
		__atomic_store_n(&nic->rx_stalled, true, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->wait_timeouts, 1,
				   __ATOMIC_RELAXED);
	}
	return rc;
}

/*
 * Make room in @ch's batch for @n ranges and take @n slots for them.
 * With @wait, a full batch is sent and a missing slot waited for (the
 * batch goes out first, so that the guest can give slots back).
 * pend_lock held.
 */
int netvsp__batch_reserve(struct netvsp_nic *nic, struct netvsp_chan *ch,
			  uint32_t n, uint32_t *slots, bool wait)
{
	struct ovb_chan *lent;
	struct timespec dl;
	int rc;

	if (ch->npend + n > NETVSP_MAX_RANGES ||
	    ch->nframes >= NETVSP_BATCH_FRAMES)
		netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
			   wait ? nic->vsp->cfg.rx_wait_ms : 0);
	/*
	 * One slot, the plain frame's case: from this batch's cache, filled
	 * with one trip to the allocator per batch, not per frame.
	 */
	if (n == 1 && ch->cache_pos == ch->ncache) {
		uint32_t room = NETVSP_BATCH_FRAMES - ch->nframes;
		uint32_t want = ch->grab ? ch->grab : 1;

		/* Dry inside a batch: it is larger than the last; take more. */
		if (ch->pend_slots)
			want = ch->grab = want * 2 > NETVSP_BATCH_FRAMES
						  ? NETVSP_BATCH_FRAMES
						  : want * 2;
		slots_grab(nic, ch, want < room ? want : room);
	}
	if (n == 1 && ch->cache_pos < ch->ncache) {
		*slots = ch->cache[ch->cache_pos++];
		return 0;
	}
	if (n > 1 && !slots_get(nic, n, slots, NULL))
		return 0;
	/* A guest that let a wait run out gets none until it completes. */
	if (!wait || __atomic_load_n(&nic->rx_stalled, __ATOMIC_RELAXED))
		return -ENOBUFS;
	/*
	 * Some of its completions come in on rings this very thread drains
	 * (a shared worker serving the sender's and the receiver's
	 * channels): a sleep would wait for ourselves.  Take them ourselves.
	 */
	if (nic_drained_here(nic)) {
		/* What is batched goes first, so the guest can complete it. */
		netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
				   nic->vsp->cfg.rx_wait_ms);
		return wait_reaping(nic, n, slots, ovb_chan_lend_begin());
	}
	netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
		   nic->vsp->cfg.rx_wait_ms);
	/*
	 * Frames this thread left in the NIC's other channels' batches hold
	 * slots too, and nobody else sends those batches while it waits:
	 * kept back, the guest could have nothing to complete.
	 */
	netvsp__batches_out(nic, ch);
	/*
	 * A channel's own worker (another guest's sends): the receiver's
	 * worker may be here too, short of our guest's slots, each holding
	 * the ring the other's completions sit in.  Reap, lending ours.
	 */
	if ((lent = ovb_chan_lend_begin()))
		return wait_reaping(nic, n, slots, lent);
	ovb_deadline_ms(&dl, nic->vsp->cfg.rx_wait_ms);
	rc = slots_get(nic, n, slots, &dl);
	if (rc == -ENOBUFS) {
		__atomic_store_n(&nic->rx_stalled, true, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->wait_timeouts, 1,
				   __ATOMIC_RELAXED);
	}
	return rc;
}

/*
 * Room for one message of @len bytes (at most a slot) in @ch's batch:
 * behind the last one when its slot has room, else at the start of a new
 * slot from the batch's cache (refilled with one trip to the allocator)
 * or, with @wait, waited for.  pend_lock held.
 */
int netvsp__batch_place(struct netvsp_nic *nic, struct netvsp_chan *ch,
			size_t len, bool wait, size_t *off)
{
	uint32_t slot;
	int rc;

	if (ch->npend + 1 > NETVSP_MAX_RANGES ||
	    ch->nframes >= NETVSP_BATCH_FRAMES)
		netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
				   wait ? nic->vsp->cfg.rx_wait_ms : 0);
	if (ch->pend_tail != SLOT_NONE &&
	    len <= nic->slot_size - ch->pend_fill) {
		*off = (size_t)ch->pend_tail * nic->slot_size + ch->pend_fill;
		ch->pend_fill += msg_align(len);
		if (ch->pend_fill > nic->slot_size)
			ch->pend_fill = nic->slot_size;
	} else {
		rc = netvsp__batch_reserve(nic, ch, 1, &slot, wait);
		if (rc)
			return rc;
		*off = netvsp__batch_open(nic, ch, slot, len);
	}
	place_prefetch(nic, ch, len);
	return 0;
}

int netvsp__send_rndis(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       uint32_t channel_type, const void *hdr, size_t hlen,
		       const void *frame, size_t flen, bool block)
{
	uint32_t slot;
	int rc;

	if (!nic->rx_view.len || !ch)
		return -ENODEV;
	if (hlen + flen > nic->slot_size)
		return -EMSGSIZE;
	/* A thread keeping @ch's batch lock lets go at its next frame. */
	__atomic_fetch_add(&nic->waiters, 1, __ATOMIC_SEQ_CST);
	netvsp__pend_lock(ch);
	/* Frames already batched go first, in their own packet. */
	netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
		   block ? nic->vsp->cfg.rx_wait_ms : 0);
	rc = slots_get(nic, 1, &slot, NULL);
	if (!rc) {
		size_t off = netvsp__batch_open(nic, ch, slot, hlen + flen);

		netvsp__batch_add(nic, ch, off, hdr, hlen, frame, flen, NULL,
				  0);
		rc = netvsp__batch_send(nic, ch, channel_type, block ? 1000 : 0);
	}
	pthread_mutex_unlock(&ch->pend_lock);
	__atomic_fetch_sub(&nic->waiters, 1, __ATOMIC_RELAXED);
	return rc;
}

void netvsp__flush(void *ctx)
{
	struct netvsp_nic *nic = ctx;

	pthread_rwlock_rdlock(&nic->lock);
	if (nic->rx_view.len) {
		for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++) {
			struct netvsp_chan *ch = nic->ch[i];

			if (!ch || !__atomic_load_n(&ch->npend,
						    __ATOMIC_RELAXED))
				continue;
			netvsp__pend_lock(ch);
			netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
				   nic->vsp->cfg.rx_wait_ms);
			pthread_mutex_unlock(&ch->pend_lock);
		}
	}
	pthread_rwlock_unlock(&nic->lock);
	netvsp__hold_end(nic); /* the switch's batch is done with us */
}

/*
 * Wait until no frame that may have seen the packet filter as it was
 * before the caller changed it is still on its way into a ring.  Two
 * flips: a sender that read the epoch before the first flip but counted
 * itself only after we looked is caught by the second.  Senders wait for
 * the guest at most cfg.rx_wait_ms while counted, so the wait is short.
 * A thread that keeps this NIC entered across a switch batch
 * (netvsp_port.c) lets go at its next frame for it or when its batch
 * ends.  Then whatever such frames left in a batch goes out.
 */
void netvsp__rx_quiesce(struct netvsp_nic *nic)
{
	netvsp__holds_drop(); /* ours would be waited for, by us */
	/* Holders elsewhere let go at their next frame for this NIC. */
	__atomic_fetch_add(&nic->waiters, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 2; i++) {
		uint32_t old = __atomic_fetch_xor(&nic->rx_epoch, 1,
						  __ATOMIC_SEQ_CST) & 1;

		while (__atomic_load_n(&nic->rx_busy[old], __ATOMIC_SEQ_CST))
			sched_yield();
	}
	__atomic_fetch_sub(&nic->waiters, 1, __ATOMIC_RELAXED);
	/* Every batch, including one another thread is sending right now. */
	pthread_rwlock_rdlock(&nic->lock);
	for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++) {
		struct netvsp_chan *ch = nic->ch[i];

		if (!ch || !nic->rx_view.len)
			continue;
		netvsp__pend_lock(ch);
		netvsp__batch_send(nic, ch, NVSP_CHANNEL_TYPE_DATA,
			   nic->vsp->cfg.rx_wait_ms);
		pthread_mutex_unlock(&ch->pend_lock);
	}
	pthread_rwlock_unlock(&nic->lock);
}
