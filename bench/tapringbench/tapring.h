/* SPDX-License-Identifier: MIT */
/*
 * bench/tapring's data path (path.c), shared with its main program
 * (bench/tapring.c, which describes the design): the layout of a guest's
 * memory, the ring messages, one worker thread's state.
 */
#ifndef OVB_BENCH_TAPRINGBENCH_TAPRING_H
#define OVB_BENCH_TAPRINGBENCH_TAPRING_H

#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

static inline uint8_t *tr_ring(uint8_t *mem, unsigned int q, unsigned int which)
{
	return mem + q * Q_BYTES + which * RING_AREA;
}

static inline uint8_t *tr_tx(uint8_t *mem, unsigned int q, uint32_t idx)
{
	return mem + q * Q_BYTES + 2 * RING_AREA + (size_t)idx * BUF_BYTES;
}

static inline uint8_t *tr_rx(uint8_t *mem, unsigned int q, uint32_t idx)
{
	return tr_tx(mem, q, NTX + idx);
}

/* Print "tapring WHO: WHY" and end the process with status 1. */
void tr_die(const char *who, const char *why) __attribute__((noreturn));
/* One worker: drain, spin, sleep as our stream channels do; never returns. */
void *tr_worker_main(void *arg);

#endif /* OVB_BENCH_TAPRINGBENCH_TAPRING_H */
