/* SPDX-License-Identifier: MIT */
/*
 * netvsp internals shared by netvsp.c (NVSP, channels, buffers),
 * netvsp_rndis.c (the RNDIS device and its OIDs) and netvsp_rx.c (frames
 * both ways through the receive and send buffers).
 *
 * Locking: nic->lock is a reader-writer lock.  Readers are every path that
 * touches the receive or send buffer or the channel table: frames from the
 * switch (any thread), guest sends (channel workers), control replies.
 * Writers change them: channel open/close, SEND_*_BUF, REVOKE_*_BUF.  A
 * reader never waits for anything while holding it (sends to the guest are
 * non-blocking on foreign threads), so a writer's wait is bounded.
 */
#ifndef OVB_NET_NETVSP_PRIV_H
#define OVB_NET_NETVSP_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "openvmbus/netvsp.h"
#include "openvmbus/vswitch.h"
#include "net/nvsp.h"
#include "net/rndis.h"
#include "net/toeplitz.h"

#define NETVSP_SEND_SECTION 6144u       /* what Windows hosts hand out */
/*
 * A send buffer of at least NETVSP_BIG_SECTIONS big sections is cut into
 * those instead: 16 KiB holds max_packets_per_message (8) frames of 1514
 * bytes, so a guest packs 8 instead of 3 per VMBus packet and completion.
 * Not fewer than 256: with the 64 of a 1 MiB buffer (Linux's default) a
 * 64-byte sender ran short of free sections and lost 10-30 % of its rate
 * (bench/net, alternated); 4 MiB (our netvsc's default) gives 256.  The
 * host chooses the size: Linux and DPDK take section_size from
 * SEND_SEND_BUF_COMPLETE.
 */
#define NETVSP_SEND_SECTION_BIG 16384u
#define NETVSP_BIG_SECTIONS 256u
#define NETVSP_MAX_RX_BUF (31u << 20)   /* Linux's ceiling, NVSP >= 3 */
#define NETVSP_MAX_RX_BUF_V2 (15u << 20) /* NVSP <= 2 */
/* uio_hv_generic (DPDK) hands over 16 MiB and Hyper-V takes it; Linux
 * itself stays at 15 MiB. */
#define NETVSP_MAX_TX_BUF (16u << 20)
#define NETVSP_SCRATCH (65536u + 4096u) /* one RNDIS message, any size */
#define NETVSP_MAX_IOV 64
#define NETVSP_MAX_MCAST 32u
/*
 * INIT_C max_packets_per_message: RNDIS messages a guest may put in one
 * send.  Hyper-V says 8; 64 lets 64 small frames share one VMBus packet
 * and one completion (netvsp walks any number; docs/compat.md).
 */
#define NETVSP_PKTS_PER_MSG 64u
/* Ranges in one transfer-page packet: Linux NVSP_RSC_MAX (hyperv_net.h). */
#define NETVSP_MAX_RANGES 562u
#define NETVSP_BATCH_FRAMES 64u         /* frames per packet, batching */
/*
 * Receive-buffer sub-allocation (slot) size: 16 KiB, not Hyper-V's 1728.
 * A packet's RNDIS messages are packed end to end in its slots, so a
 * large slot costs a small frame nothing, and a range may be as long as a
 * slot (Linux netvsc_receive drops longer ones): a 62 KiB coalesced frame
 * is 4 ranges at any MTU instead of 40 at 1500.  Each outstanding packet
 * holds a slot at least, so a buffer of fewer than NETVSP_RX_SLOTS_MIN
 * of them (1 MiB) keeps the MTU's size (docs/compat.md); our netvsc's
 * 4 MiB has 256, Linux's 16 MiB 1,024.
 */
#define NETVSP_RX_SLOT 16384u
#define NETVSP_RX_SLOTS_MIN 64u
#define NETVSP_MAX_RX_SLOT (256u << 10)
#define NETVSP_MSG_ALIGN 8u             /* offsets of packed messages */
#define NETVSP_RX_WAIT_MS 50            /* backpressure: longest wait */
#define NETVSP_SPIN_US 50u              /* backpressure: spin this first */
#define NETVSP_REPLY_EVERY 8u           /* send completions: publish every */
#define NETVSP_REAP_SPIN_US 20u         /* shared worker: reap this often */
#define NETVSP_MAX_POLL_US 100000u      /* cfg.poll_us at most */
#define NETVSP_RSC_IP4 0x1u             /* nic->rsc */
#define NETVSP_RSC_IP6 0x2u

struct netvsp_nic;

struct ovb_netvsp {
	struct ovb_netvsp_cfg cfg;
	char name[32];
	pthread_mutex_t lock;    /* guards the NIC list and group[] */
	struct netvsp_nic *nics;
	bool link_up;            /* atomic */
	uint64_t to_guest, to_guest_bytes, no_buffer;
	uint64_t from_guest, from_guest_bytes, bad;
	uint64_t offload_dropped, bad_completions;
	uint64_t to_guest_batches, coalesced, segmented, wait_timeouts;
	uint64_t slot_takes, reaps;
	/* cfg.workers: the shared workers, made at the first open */
	struct ovb_chan_group *group[OVB_NETVSP_MAX_CHANNELS];
	bool warned_group;
};

/* One open channel of a NIC. */
struct netvsp_chan {
	struct netvsp_nic *nic;
	struct ovb_chan *chan;
	uint16_t idx;           /* sub-channel index; 0 = primary */
	uint8_t *scratch;       /* NETVSP_SCRATCH bytes: staged guest data */
	bool sw_batch;          /* worker: a switch batch is open */
	/* frames towards the guest waiting to go out as one packet */
	pthread_mutex_t pend_lock;
	uint32_t npend;         /* ranges */
	uint32_t nframes;       /* frames (a coalesced one has many ranges) */
	uint64_t pend_bytes;
	uint32_t pend_head, pend_tail; /* their slot chain */
	/*
	 * Messages are packed: the next one goes at pend_fill in pend_tail
	 * (8-byte aligned) when it fits, else into a new slot chained
	 * behind.  pend_slots counts the chain; pend_tail's lines below
	 * pend_pf were prefetched.
	 */
	uint32_t pend_fill, pend_slots, pend_pf;
	struct vmtransfer_page_range pend[NETVSP_MAX_RANGES];
	/*
	 * Free slots this batch took from the NIC's allocator in one go
	 * (cache[cache_pos..ncache) unused yet; given back when the batch is
	 * sent), and how many to take next time: the last batch's slots.
	 */
	uint32_t cache[NETVSP_BATCH_FRAMES];
	uint32_t cache_pos, ncache, grab;
};

/* One guest's NIC: the dev_ctx of the primary and its sub-channels. */
struct netvsp_nic {
	struct ovb_netvsp *vsp;
	struct ovb_partition *part;
	struct ovb_vsp_dev *dev;         /* primary */
	struct netvsp_nic *next;
	char name[64];
	uint8_t mac[6];                  /* permanent */
	uint64_t cur_mac;                /* current, 6 bytes; atomic */
	pthread_rwlock_t lock;
	struct netvsp_chan *ch[OVB_NETVSP_MAX_CHANNELS];
	unsigned int nopen;              /* channels open */
	unsigned int nsub_offered;

	/* NVSP, primary worker */
	uint32_t nvsp_ver;               /* 0 until INIT succeeded */
	uint32_t ndis_ver;
	uint32_t guest_mtu;              /* SEND_NDIS_CONFIG */
	uint64_t guest_caps;
	bool warned_short;

	/* receive buffer: slots of slot_size handed out as transfer pages */
	uint32_t rx_gpadl;
	uint16_t rx_id;
	struct ovb_gmem_view rx_view;    /* va NULL when none */
	uint32_t slot_size, nslots;
	/*
	 * The slot allocator is shared by the delivering thread and the
	 * worker that takes the guest's completions; the epoch counters
	 * below are written for every frame: each on cache lines of its own
	 * (perf: the epoch's locked add was 13 % of a 64-byte host->guest
	 * run while it shared a line with the allocator).
	 */
	_Alignas(64) pthread_mutex_t slot_lock;
	pthread_cond_t slot_cond;        /* slots came back (slot_waiters) */
	uint32_t slot_waiters;
	bool rx_stalled;                 /* a wait ran out; atomic */
	uint32_t *slot_free;             /* stack of free slot numbers */
	uint32_t nfree;
	uint8_t *slot_busy;              /* SLOT_* (netvsp_deliver.c) */
	uint32_t *slot_next;             /* the next slot of its batch */

	/* send buffer: nsections sections of sec_size bytes */
	_Alignas(64) uint32_t tx_gpadl;
	uint16_t tx_id;
	struct ovb_gmem_view tx_view;
	uint32_t nsections;
	uint32_t sec_size;

	/* RNDIS device (primary worker writes; rx path reads atomics) */
	bool rndis_init;
	uint32_t filter;                 /* NDIS_PACKET_TYPE_* */
	/*
	 * Frames towards the guest in flight, by epoch: netvsp__port_tx
	 * counts itself in rx_busy[rx_epoch & 1] around its filter check
	 * and send; netvsp__rx_quiesce flips the epoch and waits for the
	 * old count to drain, so a filter change is complete when it
	 * returns.  All seq_cst: the filter store, the flip and the check
	 * pair with the port's epoch load, count and filter load.
	 */
	_Alignas(64) uint32_t rx_epoch;
	uint32_t rx_busy[2];
	/*
	 * Threads waiting for this NIC's write lock, its quiesce or a
	 * channel's batch lock (a control message): a thread that keeps
	 * the NIC across its switch batch lets go at its next frame for it
	 * and starts no new hold meanwhile (netvsp_port.c).
	 */
	uint32_t waiters;
	_Alignas(64) uint8_t mcast[NETVSP_MAX_MCAST][6];
	uint32_t nmcast;
	bool link_reported;              /* the state last indicated */
	bool rss_on;
	uint32_t rss_hash;               /* NDIS_HASH_* */
	uint8_t rss_key[OVB_TOEPLITZ_KEY_SIZE];
	uint32_t rss_table[OVB_TOEPLITZ_TABLE_SIZE];
	uint32_t rss_entries;
	uint32_t tx_csum, tx_lso;        /* offloads the guest enabled */
	uint32_t rsc;                    /* NETVSP_RSC_*; atomic */
	uint32_t rsc_id;                 /* packet ids of coalesced frames */

	/* switch port */
	unsigned int port;
	bool port_on;

	/* counters for the statistics OIDs; "rx" is into the guest */
	uint64_t rx_ok, rx_bytes, rx_nobuf, tx_ok, tx_bytes, tx_err;
};

/* netvsp.c */
void netvsp__recv(struct ovb_chan *chan, const struct ovb_pkt *pkt, void *ctx);

/* Header room in a slot: RNDIS PACKET plus checksum, VLAN, hash, id PPIs. */
#define NETVSP_RX_HDR 160u
/* Ethernet + IP + TCP headers of a coalesced frame, at most. */
#define RSC_HDR_MAX 256u
/*
 * RSC fragments' payload on lines of this size (deliver_rsc): the host's
 * copy writes whole lines, and the receiver's TAP write reads each piece
 * from a line start into the kernel's pages at the same place in a line
 * (they hold the payload from a page start): from misaligned pieces
 * that copy cost ~10 ns/KiB more at 1500 -P1 (docs/net-perf.md).
 */
#define RSC_ALIGN 64u

/* netvsp_deliver.c: the receive buffer, frames towards the guest */
void netvsp__flush(void *ctx);
int netvsp__slots_init(struct netvsp_nic *nic);
void netvsp__slots_free(struct netvsp_nic *nic);
/* A closing channel's unsent batch and cached slots go back; nic->lock
 * write-held. */
void netvsp__chan_drop_batch(struct netvsp_nic *nic, struct netvsp_chan *ch);
void netvsp__slot_complete(struct netvsp_nic *nic, struct ovb_chan *chan,
			   uint64_t xid);
int netvsp__send_rndis(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       uint32_t channel_type, const void *hdr, size_t hlen,
		       const void *frame, size_t flen, bool block);
/*
 * A channel's batch (pend_lock held).  netvsp__batch_place finds room
 * for one message of @len bytes: packed behind the batch's last one when
 * its slot has room, else in a new slot (with @wait, a full batch is sent
 * and a slot waited for); *@off is its place in the receive buffer.
 * netvsp__batch_reserve takes @n fresh slots at once (a coalesced frame,
 * one fragment each; the caller opens each with netvsp__batch_open).
 * netvsp__batch_add copies a message to @off and adds it as the next
 * range; netvsp__batch_send sends the batch as one transfer-page packet.
 */
int netvsp__batch_place(struct netvsp_nic *nic, struct netvsp_chan *ch,
			size_t len, bool wait, size_t *off);
int netvsp__batch_reserve(struct netvsp_nic *nic, struct netvsp_chan *ch,
			  uint32_t n, uint32_t *slots, bool wait);
size_t netvsp__batch_open(struct netvsp_nic *nic, struct netvsp_chan *ch,
			  uint32_t slot, size_t len);
void netvsp__batch_add(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       size_t off, const void *hdr, size_t hlen,
		       const void *d1, size_t l1, const void *d2, size_t l2);
int netvsp__batch_send(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       uint32_t channel_type, int wait_ms);

/* netvsp_port.c: the switch port, frames the switch hands the guest */
int netvsp__port_tx(void *ctx, const void *frame, size_t len,
		    const struct ovb_net_meta *meta);
int netvsp__port_txv(void *ctx, const void *hdr, size_t hlen,
		     const void *rest, size_t rest_len,
		     const struct ovb_net_meta *meta);
uint64_t netvsp__port_txn(void *ctx, const struct ovb_vswitch_frame *frames,
			  unsigned int n);
uint32_t netvsp__slot_size(const struct ovb_netvsp_cfg *cfg, size_t buf);
void netvsp__rx_quiesce(struct netvsp_nic *nic);
/*
 * The NICs the calling thread keeps entered across a switch batch
 * (netvsp_port.c): netvsp__hold_end leaves @nic (its port's flush),
 * netvsp__holds_drop leaves them all (before the thread waits for a
 * NIC's write lock or a quiesce), netvsp__holds counts them (tests).
 */
void netvsp__hold_end(struct netvsp_nic *nic);
void netvsp__holds_drop(void);
/*
 * ch->pend_lock for a use that does not keep it (flushes, control
 * messages, the quiesce, RSC frames): the calling thread's kept batch
 * locks (netvsp_port.c) go first, or @ch's is taken over if it is one
 * of them.  Unlock with pthread_mutex_unlock.  netvsp__pends_drop lets
 * every kept one go.
 */
void netvsp__pend_lock(struct netvsp_chan *ch);
/*
 * Before a wait for @nic's guest to give slots back (@ch's pend_lock
 * held, nic->lock read-held): the batches of the NIC's other channels
 * this thread keeps, and those whose lock is free, are sent.
 */
void netvsp__batches_out(struct netvsp_nic *nic, struct netvsp_chan *ch);
void netvsp__pends_drop(void);
unsigned int netvsp__holds(void);
/*
 * nic->lock write-locked: the thread's own holds dropped first, and the
 * writer announced in nic->waiters, so that holders let go at their next
 * frame and no new hold starts until it is done.
 */
static inline void netvsp__wrlock(struct netvsp_nic *nic)
{
	netvsp__holds_drop();
	__atomic_fetch_add(&nic->waiters, 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_wrlock(&nic->lock);
}

static inline void netvsp__wrunlock(struct netvsp_nic *nic)
{
	pthread_rwlock_unlock(&nic->lock);
	__atomic_fetch_sub(&nic->waiters, 1, __ATOMIC_RELAXED);
}

/* The section size for a send buffer of @len bytes (>= NETVSP_SEND_SECTION). */
static inline uint32_t netvsp__send_section(size_t len)
{
	return len >= (size_t)NETVSP_BIG_SECTIONS * NETVSP_SEND_SECTION_BIG
		       ? NETVSP_SEND_SECTION_BIG
		       : NETVSP_SEND_SECTION;
}

/* netvsp_rx.c: frames from the guest */
int netvsp__guest_packet(struct netvsp_chan *ch, const uint8_t *msg,
			 size_t len);

/*
 * A MAC as the u64 whose first 6 bytes in memory are the MAC and the last
 * 2 zero.  Two loads straight into registers: six bytes stored into a
 * zeroed u64 and read back whole stalled on store forwarding (88 % of
 * netvsp_filter, 5 % of a 64-byte host->guest profile).
 */
static inline uint64_t netvsp__mac_key(const uint8_t *mac)
{
	uint32_t a;
	uint16_t b;

	memcpy(&a, mac, 4);
	memcpy(&b, mac + 4, 2);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint64_t)a | (uint64_t)b << 32;
#else
	return (uint64_t)a << 32 | (uint64_t)b << 16;
#endif
}

/* netvsp_rndis.c: control messages; returns an NVSP status */
uint32_t netvsp__rndis_control(struct netvsp_chan *ch, const uint8_t *msg,
			       size_t len);
void netvsp__indicate_link(struct netvsp_nic *nic, bool up);

#endif
