// SPDX-License-Identifier: MIT
/*
 * bench/tapring: the floor of our design's shape for TCP between two TAP
 * guests, without the protocol.  Two TAPs in two network namespaces, as
 * bench/tapfwd has them, but the frames cross what our guests and host
 * cross: three processes, shared-memory rings and one copy.
 *
 *   A (guest a)  reads a frame (virtio-net header + GSO frame) from TAP a
 *                straight into one of its transmit buffers, which live in
 *                its "guest RAM" (a memfd), and posts (buffer, length) on
 *                its ring to H.
 *   H (host)     copies the frame from A's memory into a free receive slot
 *                of B's memory (the one copy, as netvsp's into the
 *                receiver's receive buffer), posts (slot, length) on its
 *                ring to B and hands A its buffer back on its ring to A.
 *   B (guest b)  writes the slot to TAP b and hands the slot back to H.
 *
 * The other direction (the ACKs) is the same with a and b swapped.  Each
 * process runs one thread per queue that serves both directions, as our
 * guests with `--tap-read worker` do: it drains its inbound ring(s), reads
 * its TAP after each frame it wrote and after each drain, and waits as our
 * stream channels wait (src/bus/chan_run.c): the rings are masked while it
 * drains; after a drain an adaptive spin (16 us after a sleep that was
 * over within 500 us, doubled by each spin that finds work up to 64 us,
 * halved by each that does not until it is gone, sched_yield every 64
 * rounds, the TAP looked at every 32 rounds); then unmask, re-check and
 * sleep in poll() on the ring's eventfd (and the TAP while a transmit
 * buffer is free).  A writer signals the eventfd only when the ring went
 * non-empty while its reader was not masked, i.e. asleep or about to
 * sleep: the rings are our VMBus rings (struct ovb_ring, src/core/ring.c),
 * whose contract says exactly that.  No NVSP or RNDIS framing, no switch,
 * no chains of receive slots (a slot holds a whole GSO frame), no RSS.
 *
 *   tapring [-q QUEUES] [--no-copy | --two] [--no-spin] IFA@NETNS_A IFB@NETNS_B
 *
 * --no-copy: H passes A's (buffer, length) on to B, which maps A's memory
 *            and writes the frame to its TAP from there; B's completion
 *            goes back through H.  Three processes, no copy.
 * --two:     no H: B reads A's ring itself and writes from A's memory,
 *            completing on its own ring, which A reads.  Two processes,
 *            one ring each way, no copy.
 * --no-spin: never spin, sleep after every drain (what the adaptive spin
 *            costs and buys).
 * Default against --no-copy is what the copy costs, --no-copy against
 * --two what the host's hop (a process, a ring and a hand-off) costs, and
 * --two against bench/tapfwd what the partition split costs.
 *
 * Creates the TAPs (IFF_VNET_HDR, IFF_MULTI_QUEUE when QUEUES > 1, the
 * offloads our guests set) in the namespaces (/run/netns/NAME), prints
 * "ready" and forwards until SIGINT or SIGTERM; then each guest prints,
 * as tapfwd does, the frames and bytes it wrote to its TAP per queue
 * ("queue Q a->b frames N bytes N write_errors N": B writes a->b), H its
 * copies, and the process exits 0 within a second or two.  A peer that
 * breaks the message rules (bad index, length or op) ends the bench with
 * exit status 1 and the reason.  Addresses, MTU, gso_max_size and link
 * state are the caller's (bench/net-peer.sh, tests/system/tapring.sh).
 * Layer: benchmarks.  Interfaces: tuntap.rst, linux/if_tun.h, memfd(2),
 * eventfd(2), docs/wire.md B5 (the ring's signalling).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/tap-open.h"
#include "core/spin.h"
#include "openvmbus/deadline.h"
#include "openvmbus/ring.h"

#define MAX_QUEUES 8
/* A virtio-net header and the largest GSO frame a TAP hands out. */
#define FRAME_MAX (sizeof(struct virtio_net_hdr) + 65536 + 4096)
#define BUF_BYTES (72u << 10) /* one transmit buffer or receive slot */
#define NTX 32u               /* transmit buffers per guest and queue */
/*
 * Receive slots per guest and queue, at most: a guest's receive buffer is
 * netvsc's 4 MiB (RX_TOTAL whole-frame slots), shared by its queues.
 */
#define NRX 56u
#define RX_TOTAL ((4u << 20) / BUF_BYTES)
#define RING_BYTES (64u << 10)
#define RING_AREA (4096u + RING_BYTES) /* control page + data */
#define BUDGET 64u /* messages per ring per drain (CHAN_BUDGET) */
/*
 * One guest's memory, per queue: its ring to the host (or, with --two, to
 * the other guest), the host's ring to it, its transmit buffers, its
 * receive slots.
 */
#define Q_BYTES ((size_t)2 * RING_AREA + (size_t)(NTX + NRX) * BUF_BYTES)
/*
 * Messages in flight on one ring, at most: one per transmit buffer and
 * one per receive slot (no-copy: per transmit buffer of either guest).
 */
#define MSGS_MAX (NTX + (NRX > NTX ? NRX : NTX))

/* The ring messages, an in-band VMBus packet each. */
enum {
	TR_SEND = 1, /* a frame in the sender's transmit buffer idx, len */
	TR_SDONE,    /* transmit buffer idx is free again */
	TR_RECV,     /* a frame in the receiver's slot idx, len */
	TR_RDONE,    /* receive slot idx is free again */
};

struct tr_msg {
	struct vmpacket_descriptor d;
	uint32_t op;
	uint32_t idx; /* buffer or slot index */
	uint32_t len; /* frame bytes, virtio-net header included */
	uint32_t reserved;
};
_Static_assert(sizeof(struct tr_msg) == 32, "a message is 4 x 8 bytes");
_Static_assert(MSGS_MAX * (sizeof(struct tr_msg) + VMBUS_PKT_TRAILER_SIZE) <
		       RING_BYTES,
	       "a ring holds every message that can be in flight");
_Static_assert(FRAME_MAX <= BUF_BYTES, "a buffer holds any frame");
_Static_assert(RX_TOTAL <= NRX, "the slots fit the layout");

enum { TR_GUEST_A, TR_GUEST_B, TR_HOST };

/* What the parent sets up before it forks. */
struct tr_setup {
	unsigned int queues;
	bool copy;            /* the host copies (not --no-copy, --two) */
	bool host;            /* there is a host process (not --two) */
	bool no_spin;         /* --no-spin: sleep after every drain */
	const char *spec[2];  /* "IF@NETNS" of guests a and b */
	int memfd[2];         /* the guests' memory */
	size_t mem_bytes;     /* of each */
	int efd_out[2][MAX_QUEUES]; /* signals the reader of a guest's ring */
	int efd_in[2][MAX_QUEUES];  /* signals the guest: host's ring to it */
};

struct tr_pend {
	uint32_t idx, len;
};

/* One thread: a guest's queue, or the host's pair of queues. */
struct tr_worker {
	char name[24];
	const char *dir;        /* guest: which way its TAP writes go */
	unsigned int q;
	struct ovb_ring ring[4]; /* storage for in/out below */
	struct ovb_ring *in[2], *out[2]; /* out[i] answers in[i] */
	int in_fd[2], out_fd[2];
	unsigned int nin;
	/* guest */
	int tap;                /* -1: the host */
	uint8_t *mem, *peer_mem; /* peer_mem: no-copy and --two only */
	bool own_slots;         /* the host copies into our slots */
	uint32_t tx_free[NTX];
	unsigned int ntx_free;
	bool tx_busy[NTX];
	/* host: [g] is guest g's */
	bool copy;
	unsigned int nrx;       /* slots of each guest on this queue */
	uint8_t *gmem[2];
	uint32_t slot_free[2][NRX];
	unsigned int nslot_free[2];
	bool slot_busy[2][NRX];
	bool held[2][NTX];      /* transmit buffers the host has */
	struct tr_pend pend[2][NTX]; /* frames waiting for the other's slot */
	unsigned int pend_head[2], pend_n[2];
	/* the wait policy */
	uint32_t adapt_us;
	bool no_spin;
	/* counters, printed at the end */
	uint64_t frames, bytes, write_errors, copies, copy_bytes, slot_waits;
	uint64_t sleeps, signals_in, adapt_hits;
	pthread_t th;
};

static uint8_t *tr_ring(uint8_t *mem, unsigned int q, unsigned int which)
{
	return mem + q * Q_BYTES + which * RING_AREA;
}

static uint8_t *tr_tx(uint8_t *mem, unsigned int q, uint32_t idx)
{
	return mem + q * Q_BYTES + 2 * RING_AREA + (size_t)idx * BUF_BYTES;
}

static uint8_t *tr_rx(uint8_t *mem, unsigned int q, uint32_t idx)
{
	return tr_tx(mem, q, NTX + idx);
}

/* The wait policy of our stream channels (src/bus/chan_priv.h). */
#define ADAPT_START_US 16u  /* armed by a short sleep */
#define ADAPT_MIN_US 4u     /* halved below this: off */
#define ADAPT_MAX_US 64u    /* about one cross-core wake-up here */
#define ADAPT_REARM_US 500u /* a sleep this short arms it */
#define SPIN_TAP_EVERY 32u  /* spin rounds between looks at the TAP */

static void die(const char *who, const char *why)
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
		die(w->name, "outbound ring full or corrupt: the peer stopped");
	if (sig && write(w->out_fd[i], &one, sizeof(one)) < 0)
		die(w->name, "eventfd write failed");
}

/* Next message of inbound ring @i: 1, 0 if empty; corrupt dies. */
static int next_msg(struct tr_worker *w, unsigned int i, struct tr_msg *m)
{
	ssize_t n = ovb_ring_read(w->in[i], m, sizeof(*m));

	if (n == -EAGAIN)
		return 0;
	if (n != (ssize_t)sizeof(*m) ||
	    m->d.offset8 != sizeof(m->d) / 8 || m->d.type != VM_PKT_DATA_INBAND)
		die(w->name, "inbound ring corrupt or message malformed");
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
				die(w->name, "TAP read failed");
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
			die(w->name, "completion for a buffer not sent");
		w->tx_busy[m->idx] = false;
		w->tx_free[w->ntx_free++] = m->idx;
		return;
	case TR_RECV: /* a frame in our receive slot */
		if (!w->own_slots || m->idx >= NRX || !frame_len_ok(m->len))
			die(w->name, "receive: bad slot or length");
		tap_write(w, tr_rx(w->mem, w->q, m->idx), m->len);
		post(w, 0, TR_RDONE, m->idx, 0);
		break;
	case TR_SEND: /* a frame in the peer's transmit buffer */
		if (!w->peer_mem || m->idx >= NTX || !frame_len_ok(m->len))
			die(w->name, "peer frame: bad buffer or length");
		tap_write(w, tr_tx(w->peer_mem, w->q, m->idx), m->len);
		post(w, 0, TR_SDONE, m->idx, 0);
		break;
	default:
		die(w->name, "unknown message");
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
			die(w->name, "send: bad buffer or length");
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
			die(w->name, "slot completion for no slot given");
		w->slot_busy[g][m->idx] = false;
		w->slot_free[g][w->nslot_free[g]++] = m->idx;
		host_pending(w, o);
		return;
	case TR_SDONE: /* no copy: guest g wrote the other's frame */
		if (w->copy || m->idx >= NTX || !w->held[o][m->idx])
			die(w->name, "completion for a frame not passed on");
		w->held[o][m->idx] = false;
		post(w, o, TR_SDONE, m->idx, 0);
		return;
	default:
		die(w->name, "unknown message");
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
		die(w->name, "poll failed");
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

static void *worker_main(void *arg)
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

/* ---- setup ---- */

static uint8_t *tr_map(const struct tr_setup *s, unsigned int g)
{
	void *p = mmap(NULL, s->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->memfd[g], 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The guests' memory (memfds, as our socket link's guest RAM) with every
 * ring's control page initialised as its guest does, and the eventfds.
 */
static int tr_setup_create(struct tr_setup *s)
{
	s->mem_bytes = s->queues * Q_BYTES;
	for (unsigned int g = 0; g < 2; g++) {
		struct ovb_ring r;
		uint8_t *mem;

		s->memfd[g] = memfd_create(g ? "tapring-b" : "tapring-a", 0);
		if (s->memfd[g] < 0 ||
		    ftruncate(s->memfd[g], (off_t)s->mem_bytes) < 0)
			return -errno;
		if (!(mem = tr_map(s, g)))
			return -errno;
		for (unsigned int q = 0; q < s->queues; q++)
			for (unsigned int k = 0; k < 2; k++) {
				uint8_t *ctl = tr_ring(mem, q, k);

				ovb_ring_attach(&r, ctl, ctl + 4096,
						RING_BYTES, "init");
				ovb_ring_init_control(&r);
			}
		munmap(mem, s->mem_bytes);
		for (unsigned int q = 0; q < s->queues; q++) {
			s->efd_out[g][q] = eventfd(0, EFD_NONBLOCK);
			s->efd_in[g][q] = eventfd(0, EFD_NONBLOCK);
			if (s->efd_out[g][q] < 0 || s->efd_in[g][q] < 0)
				return -errno;
		}
	}
	return 0;
}

static void tr_setup_close(struct tr_setup *s)
{
	for (unsigned int g = 0; g < 2; g++) {
		close(s->memfd[g]);
		for (unsigned int q = 0; q < s->queues; q++) {
			close(s->efd_out[g][q]);
			close(s->efd_in[g][q]);
		}
	}
}

static void attach(struct tr_worker *w, unsigned int k, uint8_t *ctl,
		   const char *what)
{
	char name[40];

	snprintf(name, sizeof(name), "%.23s %.15s", w->name, what);
	if (ovb_ring_attach(&w->ring[k], ctl, ctl + 4096, RING_BYTES, name))
		die(w->name, "cannot attach a ring");
}

/* Guest @g: its TAP queues, its memory (and the other's without a copy). */
static void setup_guest(struct tr_setup *s, unsigned int g,
			struct tr_worker *ws)
{
	uint8_t *mem = tr_map(s, g), *peer = s->copy ? NULL : tr_map(s, 1 - g);
	int taps[MAX_QUEUES], rc;

	if (!mem || (!s->copy && !peer))
		die(g ? "guest b" : "guest a", "cannot map guest memory");
	if ((rc = bench_tap_open_in(s->spec[g], s->queues, taps, true)) != 0) {
		fprintf(stderr, "tapring: %s: %s\n", s->spec[g], strerror(-rc));
		_exit(1);
	}
	for (unsigned int q = 0; q < s->queues; q++) {
		struct tr_worker *w = &ws[q];

		snprintf(w->name, sizeof(w->name), "guest %c q%u",
			 g ? 'b' : 'a', q);
		w->dir = g ? "a->b" : "b->a";
		w->q = q;
		w->no_spin = s->no_spin;
		w->tap = taps[q];
		w->mem = mem;
		w->peer_mem = peer;
		w->own_slots = s->copy;
		for (uint32_t i = 0; i < NTX; i++)
			w->tx_free[w->ntx_free++] = i;
		attach(w, 0, tr_ring(mem, q, 0), "out");
		w->out[0] = &w->ring[0];
		w->out_fd[0] = s->efd_out[g][q];
		if (s->host) { /* the host's ring to us */
			attach(w, 1, tr_ring(mem, q, 1), "in");
			w->in_fd[0] = s->efd_in[g][q];
		} else { /* --two: the other guest's ring */
			attach(w, 1, tr_ring(peer, q, 0), "in");
			w->in_fd[0] = s->efd_out[1 - g][q];
		}
		w->in[0] = &w->ring[1];
		w->nin = 1;
	}
}

/* The host: both guests' memory, one worker per queue serving both. */
static void setup_host(struct tr_setup *s, struct tr_worker *ws)
{
	for (unsigned int q = 0; q < s->queues; q++) {
		struct tr_worker *w = &ws[q];

		snprintf(w->name, sizeof(w->name), "host q%u", q);
		w->q = q;
		w->no_spin = s->no_spin;
		w->tap = -1;
		w->copy = s->copy;
		w->nin = 2;
		for (unsigned int g = 0; g < 2; g++) {
			if (!(w->gmem[g] = q ? ws[0].gmem[g] : tr_map(s, g)))
				die(w->name, "cannot map guest memory");
			attach(w, 2 * g, tr_ring(w->gmem[g], q, 0),
			       g ? "from b" : "from a");
			attach(w, 2 * g + 1, tr_ring(w->gmem[g], q, 1),
			       g ? "to b" : "to a");
			w->in[g] = &w->ring[2 * g];
			w->out[g] = &w->ring[2 * g + 1];
			w->in_fd[g] = s->efd_out[g][q];
			w->out_fd[g] = s->efd_in[g][q];
			w->nrx = RX_TOTAL / s->queues;
			for (uint32_t i = 0; i < w->nrx; i++)
				w->slot_free[g][w->nslot_free[g]++] = i;
		}
	}
}

/* ---- processes ---- */

static void usage(void)
{
	fprintf(stderr, "usage: tapring [-q QUEUES] [--no-copy | --two] "
			"[--no-spin] IFA@NETNS_A IFB@NETNS_B\n");
	exit(2);
}

/* Wait for SIGINT/SIGTERM (blocked), print the counters, exit 0. */
static void child_wait(struct tr_worker *ws, unsigned int nw, bool host)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	for (unsigned int i = 0; i < nw; i++) {
		struct tr_worker *w = &ws[i];

		if (host)
			printf("host queue %u copies %llu bytes %llu "
			       "slot_waits %llu", w->q,
			       (unsigned long long)w->copies,
			       (unsigned long long)w->copy_bytes,
			       (unsigned long long)w->slot_waits);
		else
			printf("queue %u %s frames %llu bytes %llu "
			       "write_errors %llu", w->q, w->dir,
			       (unsigned long long)w->frames,
			       (unsigned long long)w->bytes,
			       (unsigned long long)w->write_errors);
		printf(" sleeps %llu signals_in %llu adapt_hits %llu\n",
		       (unsigned long long)w->sleeps,
		       (unsigned long long)w->signals_in,
		       (unsigned long long)w->adapt_hits);
	}
	fflush(stdout);
	/* The workers sit in poll() or spin: end them with the process. */
	_exit(0);
}

/* Start one thread per worker, tell the parent we are up, then wait. */
static void child_run(struct tr_worker *ws, unsigned int nw, bool host,
		      int ready)
{
	char c = 1;

	for (unsigned int i = 0; i < nw; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]))
			die(ws[i].name, "cannot start a thread");
	if (write(ready, &c, 1) != 1)
		die(ws[0].name, "parent gone");
	close(ready);
	child_wait(ws, nw, host);
}

static pid_t spawn(struct tr_setup *s, int role, int ready, int other)
{
	static struct tr_worker ws[MAX_QUEUES];
	pid_t pid = fork();

	if (pid)
		return pid;
	close(other);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (role == TR_HOST)
		setup_host(s, ws);
	else
		setup_guest(s, role == TR_GUEST_B, ws);
	child_run(ws, s->queues, role == TR_HOST, ready);
	return 0; /* not reached */
}

/* End the children (SIGTERM, then SIGKILL after 5 s), in order. */
static int reap(pid_t *pids, unsigned int n)
{
	int rc = 0, st;

	for (unsigned int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t t0 = ovb_now_us();
		pid_t r;

		if (pids[i] <= 0)
			continue;
		while ((r = waitpid(pids[i], &st, WNOHANG)) == 0 &&
		       ovb_now_us() - t0 < 5000000)
			usleep(10000);
		if (r == 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
			rc = 1;
		} else if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-copy", no_argument, NULL, 'n' },
		{ "two", no_argument, NULL, 't' },
		{ "no-spin", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 } };
	struct tr_setup s = { .queues = 1, .copy = true, .host = true };
	pid_t pids[3] = { 0, 0, 0 };
	int opt, sig, fds[2], rc = 0;
	unsigned int np = 0, up = 0;
	sigset_t set;
	char c;

	while ((opt = getopt_long(argc, argv, "q:", lo, NULL)) != -1) {
		if (opt == 'q')
			s.queues = (unsigned int)strtoul(optarg, NULL, 10);
		else if (opt == 'n')
			s.copy = false;
		else if (opt == 't')
			s.copy = s.host = false;
		else if (opt == 's')
			s.no_spin = true;
		else
			usage();
	}
	if (argc - optind != 2 || s.queues < 1 || s.queues > MAX_QUEUES)
		usage();
	s.spec[0] = argv[optind];
	s.spec[1] = argv[optind + 1];
	if ((rc = tr_setup_create(&s)) != 0) {
		fprintf(stderr, "tapring: setup: %s\n", strerror(-rc));
		return 1;
	}
	/* Signals reach the main threads only, which wait for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe2(fds, O_CLOEXEC))
		return 1;
	/* B first, so its a->b lines come first, as tapfwd's do. */
	pids[np++] = spawn(&s, TR_GUEST_B, fds[1], fds[0]);
	if (s.host)
		pids[np++] = spawn(&s, TR_HOST, fds[1], fds[0]);
	pids[np++] = spawn(&s, TR_GUEST_A, fds[1], fds[0]);
	close(fds[1]);
	tr_setup_close(&s);
	/* Each process says when it is up; a signal meanwhile ends us. */
	while (up < np) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		struct timespec zero = { 0, 0 };

		if (sigtimedwait(&set, NULL, &zero) > 0 ||
		    (poll(&p, 1, 100) > 0 && read(fds[0], &c, 1) != 1))
			break;
		up += p.revents & POLLIN ? 1 : 0;
	}
	if (up < np) {
		fprintf(stderr, "tapring: a process failed to start\n");
		reap(pids, np);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	if (sig == SIGCHLD)
		fprintf(stderr, "tapring: a process ended early\n");
	rc = reap(pids, np);
	return sig == SIGCHLD ? 1 : rc;
}
