// SPDX-License-Identifier: MIT
/*
 * bench/tapring's data path: the messages on the rings, what a guest and
 * the host do with each, and the worker that drains, spins and sleeps as
 * our stream channels do (the design: bench/tapring.c).  Layer:
 * benchmarks.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench/tapringbench/tapring.h"
#include "core/spin.h"
#include "openvmbus/deadline.h"

/* The wait policy of our stream channels (src/bus/chan_priv.h). */
#define ADAPT_START_US 16u  /* armed by a short sleep */
#define ADAPT_MIN_US 4u     /* halved below this: off */
#define ADAPT_MAX_US 64u    /* about one cross-core wake-up here */
#define ADAPT_REARM_US 500u /* a sleep this short arms it */
#define SPIN_TAP_EVERY 32u  /* spin rounds between looks at the TAP */

void tr_die(const char *who, const char *why)
{
	fprintf(stderr, "tapring %s: %s\n", who, why);
	_exit(1);
}

/* ---- messages on the rings ---- */

/*
 * Post one message on @out as a batch of one and signal its reader when
 * the ring's contract says so.  The rings hold every message that can be
 * outstanding at once (MSGS_MAX), so a full ring means the reader stopped.
 */
static void post(struct tr_worker *w, unsigned int i, uint32_t op,
		 uint32_t idx, uint32_t len)
{
	struct tr_msg m = {
		.d = { .type = VM_PKT_DATA_INBAND,
		       .offset8 = sizeof(m.d) / 8,
		       .len8 = sizeof(m) / 8 },
		.op = op, .idx = idx, .len = len
	};
	struct iovec iov = { &m, sizeof(m) };
	uint64_t one = 1;
	bool sig;

	if (ovb_ring_write(w->out[i], &iov, 1, &sig))
		tr_die(w->name, "outbound ring full or corrupt: the peer stopped");
	if (sig && write(w->out_fd[i], &one, sizeof(one)) < 0)
		tr_die(w->name, "eventfd write failed");
}

/* Next message of inbound ring @i: 1, 0 if empty; corrupt dies. */
static int next_msg(struct tr_worker *w, unsigned int i, struct tr_msg *m)
{
	ssize_t n = ovb_ring_read(w->in[i], m, sizeof(*m));

	if (n == -EAGAIN)
		return 0;
	if (n != (ssize_t)sizeof(*m) ||
	    m->d.offset8 != sizeof(m->d) / 8 || m->d.type != VM_PKT_DATA_INBAND)
		tr_die(w->name, "inbound ring corrupt or message malformed");
	return 1;
}

static bool frame_len_ok(uint32_t len)
{
	return len > sizeof(struct virtio_net_hdr) && len <= FRAME_MAX;
}

/* ---- guest ---- */

static void tap_write(struct tr_worker *w, const uint8_t *p, uint32_t len)
{
	if (write(w->tap, p, len) != (ssize_t)len) {
		w->write_errors++;
		return;
	}
	w->frames++;
	w->bytes += len - sizeof(struct virtio_net_hdr);
}

/*
 * Read frames from the TAP into free transmit buffers and post each at
 * once, up to @budget.  Returns the frames read.
 */
static unsigned int guest_tap_read(struct tr_worker *w, unsigned int budget)
{
	unsigned int n = 0;

	while (n < budget && w->ntx_free) {
		uint32_t idx = w->tx_free[w->ntx_free - 1];
		ssize_t len = read(w->tap, tr_tx(w->mem, w->q, idx), FRAME_MAX);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				tr_die(w->name, "TAP read failed");
			break;
		}
		if ((size_t)len <= sizeof(struct virtio_net_hdr))
			continue;
		w->ntx_free--;
		w->tx_busy[idx] = true;
		post(w, 0, TR_SEND, idx, (uint32_t)len);
		n++;
	}
	return n;
}

/* One message to a guest; dies on a broken rule. */
static void guest_msg(struct tr_worker *w, const struct tr_msg *m)
{
	switch (m->op) {
	case TR_SDONE: /* our transmit buffer is back */
		if (m->idx >= NTX || !w->tx_busy[m->idx])
			tr_die(w->name, "completion for a buffer not sent");
		w->tx_busy[m->idx] = false;
		w->tx_free[w->ntx_free++] = m->idx;
		return;
	case TR_RECV: /* a frame in our receive slot */
		if (!w->own_slots || m->idx >= NRX || !frame_len_ok(m->len))
			tr_die(w->name, "receive: bad slot or length");
		tap_write(w, tr_rx(w->mem, w->q, m->idx), m->len);
		post(w, 0, TR_RDONE, m->idx, 0);
		break;
	case TR_SEND: /* a frame in the peer's transmit buffer */
		if (!w->peer_mem || m->idx >= NTX || !frame_len_ok(m->len))
			tr_die(w->name, "peer frame: bad buffer or length");
		tap_write(w, tr_tx(w->peer_mem, w->q, m->idx), m->len);
		post(w, 0, TR_SDONE, m->idx, 0);
		break;
	default:
		tr_die(w->name, "unknown message");
	}
	/*
	 * The receiver's stack ran in our TAP write and may have queued
	 * ACKs: send them now, not after the rest of the burst.
	 */
	guest_tap_read(w, 4);
}

/* ---- host ---- */

/* Copy guest @g's frame @idx into a slot of the other guest, if free. */
static bool host_copy(struct tr_worker *w, unsigned int g, uint32_t idx,
		      uint32_t len)
{
	unsigned int o = 1 - g;
	uint32_t slot;

	if (!w->nslot_free[o])
		return false;
	slot = w->slot_free[o][--w->nslot_free[o]];
	w->slot_busy[o][slot] = true;
	w->held[g][idx] = false;
	memcpy(tr_rx(w->gmem[o], w->q, slot), tr_tx(w->gmem[g], w->q, idx),
	       len);
	w->copies++;
	w->copy_bytes += len;
	post(w, o, TR_RECV, slot, len);
	post(w, g, TR_SDONE, idx, 0);
	return true;
}

/* Frames from guest @g that waited for the other's slots, in order. */
static void host_pending(struct tr_worker *w, unsigned int g)
{
	while (w->pend_n[g]) {
		struct tr_pend *p = &w->pend[g][w->pend_head[g]];

		if (!host_copy(w, g, p->idx, p->len))
			return;
		w->pend_head[g] = (w->pend_head[g] + 1) % NTX;
		w->pend_n[g]--;
	}
}

static void host_msg(struct tr_worker *w, unsigned int g,
		     const struct tr_msg *m)
{
	unsigned int o = 1 - g;

	switch (m->op) {
	case TR_SEND: /* guest g's frame for the other */
		if (m->idx >= NTX || !frame_len_ok(m->len) ||
		    w->held[g][m->idx])
			tr_die(w->name, "send: bad buffer or length");
		w->held[g][m->idx] = true;
		if (!w->copy) {
			post(w, o, TR_SEND, m->idx, m->len);
			return;
		}
		if (!w->pend_n[g] && host_copy(w, g, m->idx, m->len))
			return;
		/* No slot of the other's free: wait for its completions. */
		w->slot_waits++;
		w->pend[g][(w->pend_head[g] + w->pend_n[g]) % NTX] =
			(struct tr_pend){ m->idx, m->len };
		w->pend_n[g]++;
		return;
	case TR_RDONE: /* guest g's slot is free again */
		if (!w->copy || m->idx >= w->nrx || !w->slot_busy[g][m->idx])
			tr_die(w->name, "slot completion for no slot given");
		w->slot_busy[g][m->idx] = false;
		w->slot_free[g][w->nslot_free[g]++] = m->idx;
		host_pending(w, o);
		return;
	case TR_SDONE: /* no copy: guest g wrote the other's frame */
		if (w->copy || m->idx >= NTX || !w->held[o][m->idx])
			tr_die(w->name, "completion for a frame not passed on");
		w->held[o][m->idx] = false;
		post(w, o, TR_SDONE, m->idx, 0);
		return;
	default:
		tr_die(w->name, "unknown message");
	}
}

/* ---- the worker: drain, spin, sleep as our stream channels do ---- */

/* Drain every inbound ring (up to BUDGET each), then the TAP.  Count. */
static unsigned int worker_drain(struct tr_worker *w, bool *full)
{
	unsigned int total = 0;
	struct tr_msg m;

	*full = false;
	for (unsigned int i = 0; i < w->nin; i++) {
		unsigned int n = 0;

		while (n < BUDGET && next_msg(w, i, &m)) {
			if (w->tap >= 0)
				guest_msg(w, &m);
			else
				host_msg(w, i, &m);
			n++;
		}
		if (n) {
			/* Publish read_index; no writer waits for room
			 * (the rings hold every message in flight). */
			ovb_ring_read_commit(w->in[i]);
		}
		*full |= n == BUDGET;
		total += n;
	}
	/* The idle hook: read the TAP (our netvsc source does). */
	if (w->tap >= 0)
		total += guest_tap_read(w, BUDGET);
	return total;
}

/* Work came without a wake-up: anything in a ring, or in the TAP. */
static bool worker_spin_hit(struct tr_worker *w, unsigned int round)
{
	for (unsigned int i = 0; i < w->nin; i++)
		if (ovb_ring_peek(w->in[i]))
			return true;
	return w->tap >= 0 && round % SPIN_TAP_EVERY == 0 &&
	       guest_tap_read(w, BUDGET) > 0;
}

/* The adaptive spin after a drain (chan_adapt_spin): true on a hit. */
static bool worker_spin(struct tr_worker *w)
{
	uint64_t start, now;

	if (!w->adapt_us)
		return false;
	start = ovb_now_us();
	for (unsigned int i = 1;; i++) {
		if (worker_spin_hit(w, i)) {
			w->adapt_hits++;
			w->adapt_us = w->adapt_us * 2 > ADAPT_MAX_US
					      ? ADAPT_MAX_US : w->adapt_us * 2;
			return true;
		}
		ovb__cpu_relax();
		if (i % 64)
			continue;
		now = ovb_now_us();
		if (now - start >= w->adapt_us)
			break;
		sched_yield(); /* a stream's producer may share our core */
	}
	w->adapt_us /= 2;
	if (w->adapt_us < ADAPT_MIN_US)
		w->adapt_us = 0;
	return false;
}

/* Sleep on the eventfds (and the TAP while we could send); arm the spin. */
static void worker_sleep(struct tr_worker *w)
{
	struct pollfd pfd[3];
	unsigned int n = 0;
	uint64_t t0 = ovb_now_us(), v;

	for (unsigned int i = 0; i < w->nin; i++)
		pfd[n++] = (struct pollfd){ .fd = w->in_fd[i], .events = POLLIN };
	if (w->tap >= 0 && w->ntx_free)
		pfd[n++] = (struct pollfd){ .fd = w->tap, .events = POLLIN };
	w->sleeps++;
	if (poll(pfd, n, -1) < 0 && errno != EINTR)
		tr_die(w->name, "poll failed");
	for (unsigned int i = 0; i < w->nin; i++)
		if (pfd[i].revents & POLLIN &&
		    read(pfd[i].fd, &v, sizeof(v)) > 0)
			w->signals_in++;
	if (!w->no_spin && ovb_now_us() - t0 <= ADAPT_REARM_US)
		w->adapt_us = w->adapt_us < ADAPT_START_US
				      ? ADAPT_START_US
				      : w->adapt_us * 2 > ADAPT_MAX_US
						? ADAPT_MAX_US : w->adapt_us * 2;
}

void *tr_worker_main(void *arg)
{
	struct tr_worker *w = arg;
	bool full, more;

	for (;;) {
		for (unsigned int i = 0; i < w->nin; i++)
			ovb_ring_mask_interrupts(w->in[i]);
		worker_drain(w, &full);
		if (full || worker_spin(w))
			continue;
		/* Unmask, then re-check: what raced in is read now. */
		more = false;
		for (unsigned int i = 0; i < w->nin; i++)
			more |= ovb_ring_unmask_interrupts(w->in[i]);
		if (!more)
			worker_sleep(w);
	}
	return NULL;
}
