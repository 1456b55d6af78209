// SPDX-License-Identifier: MIT
/*
 * netvsp's switch port: frames the switch hands the guest.  The guest's
 * packet filter, RSS to a channel, then one of three ways into the
 * receive buffer (netvsp_deliver.c): a frame whole, a large frame cut into
 * MSS-sized segments for a guest without receive segment coalescing, or a
 * large frame as consecutive RSC fragments (NVSP 6.1) for one with it.
 * The split input (netvsp__port_txv) takes headers and payload apart so
 * the payload is copied once, from the sender's memory into the slots.
 * Layer: devices.  Spec: docs/wire.md B6, B9, B14.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "net/netvsp_priv.h"
#include "net/vswitch_priv.h"
#include "openvmbus/byteorder.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

/* Does the guest's packet filter let @frame in? */
static bool netvsp_filter(const struct netvsp_nic *nic, const uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t filter = __atomic_load_n(&nic->filter, __ATOMIC_SEQ_CST);

	if (filter & NDIS_PACKET_TYPE_PROMISCUOUS)
		return true;
	if (!memcmp(f, bcast, 6))
		return filter & NDIS_PACKET_TYPE_BROADCAST;
	if (f[0] & 1) {
		if (filter & NDIS_PACKET_TYPE_ALL_MULTICAST)
			return true;
		if (!(filter & NDIS_PACKET_TYPE_MULTICAST))
			return false;
		if (!nic->nmcast)
			return true; /* no list set: every group */
		for (uint32_t i = 0; i < nic->nmcast && i < NETVSP_MAX_MCAST;
		     i++)
			if (!memcmp(f, nic->mcast[i], 6))
				return true;
		return false;
	}
	return (filter & NDIS_PACKET_TYPE_DIRECTED) &&
	       netvsp__mac_key(f) == __atomic_load_n(&nic->cur_mac,
						     __ATOMIC_SEQ_CST);
}

/* The channel RSS picks for @frame; fills the hash PPI when it hashed. */
static struct netvsp_chan *netvsp_rss(struct netvsp_nic *nic,
				      const void *frame, size_t len,
				      struct ovb_rndis_pktinfo *info)
{
	uint32_t n = __atomic_load_n(&nic->rss_entries, __ATOMIC_ACQUIRE);
	uint32_t hash, type, q;

	/* n == 0 (no table) and q past the open channels: the primary. */
	if (!nic->rss_on || nic->nopen < 2 || !n ||
	    ovb_toeplitz_frame(nic->rss_key, nic->rss_hash, frame, len, &hash,
			       &type))
		return nic->ch[0];
	info->present |= OVB_RNDIS_PPI_HASH_VALUE | OVB_RNDIS_PPI_HASH_INFO;
	info->hash_value = hash;
	info->hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | type;
	q = ovb_toeplitz_lookup(nic->rss_table, n, hash);
	if (q < OVB_NETVSP_MAX_CHANNELS && nic->ch[q])
		return nic->ch[q];
	return nic->ch[0];
}

/*
 * The NICs this thread entered (nic->lock read-held, counted in rx_busy)
 * and keeps entered until the switch flushes their ports: while the
 * switch's batch holds its port lock (ovb__vswitch_held), every port this
 * thread delivered to is flushed before that hold ends, and no port goes
 * away meanwhile.  So the two locked operations on each side of a frame
 * are paid once per NIC and batch.  Quiescence: a writer of nic->lock,
 * netvsp__rx_quiesce and a control message announce themselves in
 * nic->waiters; a holder sees that at its next frame for the NIC and
 * lets go, else at the end of its batch (a bounded drain).  A thread
 * drops its own holds before it waits for any of these
 * (netvsp__holds_drop), so no thread waits for itself and no two wait
 * for each other.
 */
#define PORT_HOLDS 8
static __thread struct {
	unsigned int n;
	struct netvsp_nic *nic[PORT_HOLDS];
	uint32_t e[PORT_HOLDS];
} port_held;

/*
 * The channels' batch locks (pend_lock) this thread keeps, each of a NIC
 * it holds: taken with a trylock by the first frame for the channel and
 * let go with the NIC's hold.  Deadlock rule: a thread never waits for a
 * pend_lock while it keeps another, so every wait for one goes through
 * netvsp__pend_lock, which lets the kept ones go first; two threads can
 * then never wait for each other's.
 */
static __thread struct {
	unsigned int n;
	struct netvsp_chan *ch[PORT_HOLDS];
} pend_kept;

static void pend_forget_at(unsigned int i)
{
	pend_kept.ch[i] = pend_kept.ch[--pend_kept.n];
}

void netvsp__pends_drop(void)
{
	while (pend_kept.n) {
		pthread_mutex_unlock(&pend_kept.ch[pend_kept.n - 1]->pend_lock);
		pend_kept.n--;
	}
}

/* Let go the kept batch locks of @nic's channels (its hold ends). */
static void pends_drop_nic(const struct netvsp_nic *nic)
{
	for (unsigned int i = 0; i < pend_kept.n;)
		if (pend_kept.ch[i]->nic == nic) {
			pthread_mutex_unlock(&pend_kept.ch[i]->pend_lock);
			pend_forget_at(i);
		} else {
			i++;
		}
}

void netvsp__pend_lock(struct netvsp_chan *ch)
{
	for (unsigned int i = 0; i < pend_kept.n; i++)
		if (pend_kept.ch[i] == ch) {
			pend_forget_at(i); /* ours: locked, now for this use */
			return;
		}
	netvsp__pends_drop();
	pthread_mutex_lock(&ch->pend_lock);
}

void netvsp__batches_out(struct netvsp_nic *nic, struct netvsp_chan *ch)
{
	for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++) {
		struct netvsp_chan *c = nic->ch[i];
		bool mine = false;

		if (!c || c == ch)
			continue;
		for (unsigned int k = 0; k < pend_kept.n; k++)
			mine |= pend_kept.ch[k] == c;
		/*
		 * Another thread's lock: it is filling that batch and sends it
		 * (a thread waiting for a batch lock keeps none, and one
		 * waiting for slots has sent what it keeps).
		 */
		if (!mine && (!__atomic_load_n(&c->npend, __ATOMIC_RELAXED) ||
			      pthread_mutex_trylock(&c->pend_lock)))
			continue;
		netvsp__batch_send(nic, c, NVSP_CHANNEL_TYPE_DATA,
				   nic->vsp->cfg.rx_wait_ms);
		if (!mine)
			pthread_mutex_unlock(&c->pend_lock);
	}
}

/*
 * @ch's batch lock for a delivery (nic->lock read-held).  Taken by
 * another thread, which may be waiting for the guest's slots: the
 * batches this thread keeps or could take on the NIC's other channels
 * go out before it waits, as before a wait for slots (their frames may
 * hold the very slots the holder waits for).
 */
static void pend_lock_deliver(struct netvsp_chan *ch)
{
	for (unsigned int i = 0; i < pend_kept.n; i++)
		if (pend_kept.ch[i] == ch) {
			pend_forget_at(i); /* ours: locked, now for this use */
			return;
		}
	if (pthread_mutex_trylock(&ch->pend_lock)) {
		netvsp__batches_out(ch->nic, ch);
		netvsp__pends_drop();
		pthread_mutex_lock(&ch->pend_lock);
		return;
	}
	netvsp__pends_drop();
}

static void hold_leave(unsigned int i)
{
	struct netvsp_nic *nic = port_held.nic[i];

	pends_drop_nic(nic);
	__atomic_fetch_sub(&nic->rx_busy[port_held.e[i]], 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&nic->lock);
	port_held.n--;
	port_held.nic[i] = port_held.nic[port_held.n];
	port_held.e[i] = port_held.e[port_held.n];
}

void netvsp__hold_end(struct netvsp_nic *nic)
{
	for (unsigned int i = 0; i < port_held.n; i++)
		if (port_held.nic[i] == nic) {
			hold_leave(i);
			return;
		}
}

void netvsp__holds_drop(void)
{
	netvsp__pends_drop();
	while (port_held.n)
		hold_leave(port_held.n - 1);
}

/*
 * @ch's batch lock for one frame: kept (true: not to be unlocked) when
 * this thread holds @ch's NIC, nobody waits for it and it was free or
 * already ours.  Taken by another thread: wait for it announced in
 * nic->waiters, so that a keeper lets go at its next frame for the NIC.
 */
static bool pend_enter(struct netvsp_chan *ch)
{
	struct netvsp_nic *nic = ch->nic;
	unsigned int i;

	for (i = 0; i < pend_kept.n; i++)
		if (pend_kept.ch[i] == ch)
			return true;
	if (!pthread_mutex_trylock(&ch->pend_lock)) {
		if (pend_kept.n == PORT_HOLDS ||
		    __atomic_load_n(&nic->waiters, __ATOMIC_RELAXED))
			return false;
		for (i = 0; i < port_held.n; i++)
			if (port_held.nic[i] == nic) {
				pend_kept.ch[pend_kept.n++] = ch;
				return true;
			}
		return false;
	}
	__atomic_fetch_add(&nic->waiters, 1, __ATOMIC_SEQ_CST);
	pend_lock_deliver(ch);
	__atomic_fetch_sub(&nic->waiters, 1, __ATOMIC_RELAXED);
	return false;
}

static void pend_leave(struct netvsp_chan *ch, bool kept)
{
	if (!kept)
		pthread_mutex_unlock(&ch->pend_lock);
}

unsigned int netvsp__holds(void)
{
	return port_held.n;
}

/* One complete frame into its channel's batch; nic->lock read-held. */
static int deliver_one(struct netvsp_nic *nic, const void *frame, size_t len,
		       const struct ovb_net_meta *meta)
{
	struct ovb_rndis_pktinfo info = { 0 };
	uint8_t hdr[NETVSP_RX_HDR];
	struct netvsp_chan *ch;
	ssize_t hlen;
	size_t off;
	bool kept;
	int rc;

	rc = ovb_rndis_meta_to_rx(meta, frame, len, &info);
	if (rc)
		return rc;
	ch = netvsp_rss(nic, frame, len, &info);
	if (!ch)
		return -ENETDOWN;
	hlen = ovb_rndis_packet_build_header(hdr, sizeof(hdr), (uint32_t)len,
					     &info);
	if (hlen < 0)
		return (int)hlen;
	if ((size_t)hlen + len > nic->slot_size)
		return -EMSGSIZE;
	kept = pend_enter(ch);
	rc = netvsp__batch_place(nic, ch, (size_t)hlen + len, true, &off);
	if (!rc) {
		netvsp__batch_add(nic, ch, off, hdr, (size_t)hlen, frame, len,
				  NULL, 0);
		ch->nframes++;
		ch->pend_bytes += len;
	}
	pend_leave(ch, kept);
	if (rc) {
		__atomic_fetch_add(&nic->vsp->no_buffer, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_nobuf, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

struct seg_ctx {
	struct netvsp_nic *nic;
	struct ovb_net_meta meta;
	int rc;
};

static int deliver_seg(void *ctx, const void *seg, size_t len)
{
	struct seg_ctx *c = ctx;
	int rc = deliver_one(c->nic, seg, len, &c->meta);

	if (rc && !c->rc)
		c->rc = rc;
	return 0;
}

/* A TSO frame for a guest without RSC: cut into complete segments. */
static int deliver_segments(struct netvsp_nic *nic, const void *frame,
			    size_t len, const struct ovb_net_meta *meta)
{
	struct seg_ctx c = { .nic = nic, .meta = ovb_offload_seg_meta(meta) };
	ssize_t n;

	n = ovb_offload_tso(frame, len, meta, deliver_seg, &c);
	if (n < 0)
		return (int)n;
	__atomic_fetch_add(&nic->vsp->segmented, 1, __ATOMIC_RELAXED);
	return c.rc;
}

/*
 * A TSO frame for a guest with RSC: one coalesced frame as consecutive
 * ranges of one packet.  The headers are made those of the whole frame
 * (IP lengths, IPv4 header checksum); the TCP checksum is reported
 * verified, as the sender's stack made the data and the switch moved it
 * in memory.  @frame holds the headers (h->payload_off bytes), @payload
 * what follows them: one frame, or two pieces (ovb_vswitch_input_split).
 * Returns -E2BIG when it does not fit the ranges or slots of one packet
 * (the caller segments it instead).
 */
static int deliver_rsc(struct netvsp_nic *nic, const uint8_t *frame,
		       const uint8_t *payload, size_t len,
		       const struct ovb_net_meta *meta,
		       const struct ovb_net_hdrs *h)
{
	struct ovb_rndis_pktinfo first = { 0 }, rest = { 0 };
	struct ovb_net_meta vm = ovb_offload_seg_meta(meta); /* whole frame */
	uint8_t hb[RSC_HDR_MAX], hdr[NETVSP_RX_HDR];
	uint32_t hlen = h->payload_off, cap1, capn, nfrag, id;
	uint32_t slots[NETVSP_MAX_RANGES];
	size_t hl1, hln, hlp, off, pos;
	struct netvsp_chan *ch;
	int rc;

	if (hlen > sizeof(hb) || len - h->l3_off > 0xffff)
		return -E2BIG;
	memcpy(hb, frame, hlen);
	frame = NULL; /* from here on, the payload is read from @payload */
	if (h->ip_version == 4) {
		uint32_t ihl = (hb[h->l3_off] & 15u) * 4u;
		uint16_t c;

		ovb_put_be16(hb + h->l3_off + 2, (uint16_t)(len - h->l3_off));
		hb[h->l3_off + 10] = hb[h->l3_off + 11] = 0;
		c = ovb_offload_csum_fold(
			ovb_offload_csum_add(0, hb + h->l3_off, ihl));
		memcpy(hb + h->l3_off + 10, &c, 2);
	} else {
		ovb_put_be16(hb + h->l3_off + 4,
			     (uint16_t)(len - h->l3_off - 40));
	}
	if ((rc = ovb_rndis_meta_to_rx(&vm, hb, hlen, &first)) != 0)
		return rc;
	ch = netvsp_rss(nic, hb, hlen, &first);
	if (!ch)
		return -ENETDOWN;
	id = __atomic_add_fetch(&nic->rsc_id, 1, __ATOMIC_RELAXED) & 0xffff;
	first.present |= OVB_RNDIS_PPI_PKT_ID;
	first.pkt_id = 1u | (RNDIS_PKTINFO_SUBALLOC | RNDIS_PKTINFO_1ST_FRAG)
			       << 8 | id << 16;
	rest.present = OVB_RNDIS_PPI_PKT_ID;
	rest.pkt_id = 1u | RNDIS_PKTINFO_SUBALLOC << 8 | id << 16;
	hl1 = ovb_rndis_packet_header_len(&first);
	hln = ovb_rndis_packet_header_len(&rest);
	/*
	 * Payload on lines (RSC_ALIGN): later fragments' headers padded to
	 * one, each fragment's payload but the last whole lines long.
	 */
	hlp = (hln + RSC_ALIGN - 1) & ~(size_t)(RSC_ALIGN - 1);
	if (hl1 + hlen >= nic->slot_size || hlp >= nic->slot_size ||
	    hlp > sizeof(hdr))
		return -E2BIG;
	cap1 = nic->slot_size - (uint32_t)hl1;
	capn = nic->slot_size - (uint32_t)hlp;
	if (cap1 - hlen >= RSC_ALIGN)
		cap1 = hlen + ((cap1 - hlen) & ~(RSC_ALIGN - 1));
	if (capn >= RSC_ALIGN)
		capn &= ~(RSC_ALIGN - 1);
	nfrag = len <= cap1 ? 1
			    : 1 + (uint32_t)((len - cap1 + capn - 1) / capn);
	if (nfrag > NETVSP_MAX_RANGES || nfrag > nic->nslots / 2)
		return -E2BIG;
	/*
	 * A frame that fits one slot (16 KiB slots, a few KiB of TSO) is one
	 * range, first and last fragment at once, as Linux's
	 * rndis_filter_receive_data takes it: coalesced, not segmented.
	 */
	if (nfrag == 1)
		first.pkt_id |= (uint32_t)RNDIS_PKTINFO_LAST_FRAG << 8;
	pend_lock_deliver(ch);
	rc = netvsp__batch_reserve(nic, ch, nfrag, slots, true);
	if (rc) {
		pthread_mutex_unlock(&ch->pend_lock);
		__atomic_fetch_add(&nic->vsp->no_buffer, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_nobuf, 1, __ATOMIC_RELAXED);
		return rc;
	}
	off = 0;
	for (uint32_t i = 0; i < nfrag; i++) {
		struct ovb_rndis_pktinfo *info = i ? &rest : &first;
		size_t n = len - off < (i ? capn : cap1) ? len - off
							 : (i ? capn : cap1);
		ssize_t hl;

		if (i && i == nfrag - 1)
			rest.pkt_id |= (uint32_t)RNDIS_PKTINFO_LAST_FRAG << 8;
		hl = ovb_rndis_packet_build_header_pad(hdr, sizeof(hdr),
						       (uint32_t)n, info,
						       i ? hlp - hln : 0);
		/* Each fragment starts a slot; frames after it pack behind. */
		pos = netvsp__batch_open(nic, ch, slots[i], (size_t)hl + n);
		if (!i)
			netvsp__batch_add(nic, ch, pos, hdr, (size_t)hl, hb,
					  hlen, payload, n - hlen);
		else
			netvsp__batch_add(nic, ch, pos, hdr, (size_t)hl,
					  payload + (off - hlen), n, NULL, 0);
		off += n;
	}
	ch->nframes++;
	ch->pend_bytes += len;
	pthread_mutex_unlock(&ch->pend_lock);
	__atomic_fetch_add(&nic->vsp->coalesced, 1, __ATOMIC_RELAXED);
	return 0;
}

/* May this guest take @h's frame coalesced? */
static bool rsc_on(const struct netvsp_nic *nic, const struct ovb_net_hdrs *h,
		   const struct ovb_net_meta *meta)
{
	uint32_t on = __atomic_load_n(&nic->rsc, __ATOMIC_ACQUIRE);

	if (!h->l4_off || h->l4_proto != IPPROTO_TCP)
		return false;
	if (meta->gso_type == OVB_NET_GSO_TCPV4)
		return h->ip_version == 4 && (on & NETVSP_RSC_IP4);
	return h->ip_version == 6 && (on & NETVSP_RSC_IP6);
}

/* Is the NIC still up for frames?  Read for every frame, held or not. */
static bool port_up(struct netvsp_nic *nic)
{
	return __atomic_load_n(&nic->rndis_init, __ATOMIC_ACQUIRE) &&
	       ovb_netvsp_link(nic->vsp) && nic->rx_view.len;
}

/*
 * Enter the delivery side: nic->lock read-held and the epoch count the
 * quiesce waits for.  *@held: entered for the batch, not left per frame.
 */
static bool port_enter(struct netvsp_nic *nic, uint32_t *e, bool *held)
{
	unsigned int i;

	*held = false;
	if (__atomic_load_n(&nic->port_on, __ATOMIC_ACQUIRE) &&
	    ovb__vswitch_held(nic->vsp->cfg.sw)) {
		/* Pairs with netvsp__wrlock's increment. */
		bool waiter = __atomic_load_n(&nic->waiters, __ATOMIC_RELAXED);

		for (i = 0; i < port_held.n; i++)
			if (port_held.nic[i] == nic)
				break;
		if (i < port_held.n && !waiter) {
			*held = true;
			return port_up(nic);
		}
		if (i < port_held.n)
			hold_leave(i); /* someone waits: per frame from now */
		*held = !waiter && port_held.n < PORT_HOLDS;
	}
	pthread_rwlock_rdlock(&nic->lock);
	*e = __atomic_load_n(&nic->rx_epoch, __ATOMIC_SEQ_CST) & 1;
	__atomic_fetch_add(&nic->rx_busy[*e], 1, __ATOMIC_SEQ_CST);
	if (*held) {
		port_held.nic[port_held.n] = nic;
		port_held.e[port_held.n++] = *e;
	}
	return port_up(nic);
}

static void port_leave(struct netvsp_nic *nic, uint32_t e, bool held)
{
	if (held)
		return; /* left by netvsp__flush */
	__atomic_fetch_sub(&nic->rx_busy[e], 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&nic->lock);
}

/* One frame for this guest, the NIC entered (port_enter). */
static int port_tx_entered(struct netvsp_nic *nic, const void *frame,
			   size_t len, const struct ovb_net_meta *meta)
{
	struct ovb_net_hdrs h;
	int rc;

	if (len < 14)
		return -ENETDOWN;
	if (!netvsp_filter(nic, frame))
		return 0; /* filtered: not an error */
	if (!meta->gso_type)
		return deliver_one(nic, frame, len, meta);
	rc = -E2BIG;
	if (!ovb_offload_parse(frame, len, &h) && rsc_on(nic, &h, meta))
		rc = deliver_rsc(nic, frame,
				 (const uint8_t *)frame + h.payload_off, len,
				 meta, &h);
	if (rc == -E2BIG)
		rc = deliver_segments(nic, frame, len, meta);
	return rc;
}

/* Switch port transmit: a frame for this guest, on any thread. */
int netvsp__port_tx(void *ctx, const void *frame, size_t len,
		    const struct ovb_net_meta *meta)
{
	struct netvsp_nic *nic = ctx;
	int rc = -ENETDOWN;
	uint32_t e = 0;
	bool held;

	if (port_enter(nic, &e, &held))
		rc = port_tx_entered(nic, frame, len, meta);
	port_leave(nic, e, held);
	return rc;
}

/* netvsp__port_tx for a frame in two pieces, joined into one copy. */
static int port_tx_joined(struct netvsp_nic *nic, const void *hdr,
			  size_t hlen, const void *rest, size_t rest_len,
			  const struct ovb_net_meta *meta)
{
	uint8_t *f = malloc(hlen + rest_len);
	int rc;

	if (!f)
		return -ENOMEM;
	memcpy(f, hdr, hlen);
	memcpy(f + hlen, rest, rest_len);
	rc = netvsp__port_tx(nic, f, hlen + rest_len, meta);
	free(f);
	return rc;
}

/*
 * Switch port transmit in two pieces (ovb_vswitch_input_split): a TSO
 * frame whose headers are all of @hdr goes coalesced from the pieces into
 * the guest's slots, so its payload is copied once, from where the sender
 * left it.  Anything else (no RSC, too large for one packet) is joined
 * and takes the whole-frame path.
 */
int netvsp__port_txv(void *ctx, const void *hdr, size_t hlen,
		     const void *rest, size_t rest_len,
		     const struct ovb_net_meta *meta)
{
	struct netvsp_nic *nic = ctx;
	struct ovb_net_hdrs h;
	int rc = -ENETDOWN;
	uint32_t e = 0;
	bool held;

	/* Parsed within @hdr: every header must lie in it, and end it. */
	if (!meta->gso_type || hlen < 14 || ovb_offload_parse(hdr, hlen, &h) ||
	    !h.l4_off || h.payload_off != hlen)
		return port_tx_joined(nic, hdr, hlen, rest, rest_len, meta);
	if (!port_enter(nic, &e, &held))
		goto out;
	rc = 0;
	if (!netvsp_filter(nic, hdr))
		goto out; /* filtered: not an error */
	rc = -E2BIG;
	if (rsc_on(nic, &h, meta))
		rc = deliver_rsc(nic, hdr, rest, hlen + rest_len, meta, &h);
out:
	port_leave(nic, e, held);
	if (rc == -E2BIG)
		rc = port_tx_joined(nic, hdr, hlen, rest, rest_len, meta);
	return rc;
}

/*
 * Runs (the switch's run callback): frames that share their MACs, in
 * order.  Per run, not per frame: entering the NIC, the filter (again
 * only when a frame's destination differs from the one before) and the
 * channel's batch lock.  Per frame: the RNDIS header with its PPIs, its
 * place (packed behind the last; a slot from the batch's cache now and
 * then), the copy and a range.
 */

/*
 * RSS along a run: a frame whose hashed fields (IP version, addresses,
 * L4 protocol and ports) equal those of the run's last hashed frame gets
 * that frame's hash and channel; any other frame is hashed.  Decided by
 * each frame's own headers, never assumed from the MACs.
 */
struct rss_memo {
	bool on, valid, hashed;
	uint8_t ver, proto, l4;
	uint8_t key[36];
	size_t klen;
	uint32_t hash_value, hash_info;
	uint32_t gen; /* bumped when the current hash PPIs change */
	struct netvsp_chan *ch;
};

/*
 * The channel for @f when RSS is on (@m->on); the hash PPIs it gets are
 * in @m (hashed, ...).
 */
static struct netvsp_chan *rss_run(struct netvsp_nic *nic,
				   struct rss_memo *m, const uint8_t *f,
				   size_t len)
{
	struct ovb_rndis_pktinfo info = { 0 };
	struct ovb_net_hdrs h;
	uint8_t key[36];
	size_t kl = 0;
	bool ip;

	ip = !ovb_offload_parse(f, len, &h) && h.ip_version;
	if (ip) {
		kl = h.ip_version == 4 ? 8 : 32;
		memcpy(key, f + h.l3_off + (h.ip_version == 4 ? 12 : 8), kl);
		if (h.l4_off) {
			memcpy(key + kl, f + h.l4_off, 4);
			kl += 4;
		}
		if (m->valid && m->ver == h.ip_version &&
		    m->l4 == !!h.l4_off && m->proto == h.l4_proto &&
		    m->klen == kl && !memcmp(m->key, key, kl))
			return m->ch;
	}
	m->ch = netvsp_rss(nic, f, len, &info);
	m->valid = ip;
	if (ip) {
		m->ver = h.ip_version;
		m->l4 = !!h.l4_off;
		m->proto = h.l4_proto;
		m->klen = kl;
		memcpy(m->key, key, kl);
	}
	m->hashed = info.present & OVB_RNDIS_PPI_HASH_VALUE;
	m->hash_value = info.hash_value;
	m->hash_info = info.hash_info;
	m->gen++;
	return m->ch;
}

/* Leave @ch's batch after a part of a run. */
static void run_leave(struct netvsp_chan *ch, bool kept)
{
	if (ch)
		pend_leave(ch, kept);
}

/* Plain frames of a run into their channels' batches; the NIC entered. */
static uint64_t deliver_run(struct netvsp_nic *nic,
			    const struct ovb_vswitch_frame *fr, unsigned int n)
{
	struct rss_memo memo = { 0 };
	uint8_t hdr[NETVSP_RX_HDR];
	struct ovb_rndis_pktinfo base = { 0 };
	const struct ovb_net_meta *bmeta = NULL;
	uint32_t bgen = 0, hdr_bgen = 0, hdr_mgen = 0;
	size_t hdr_len = 0;
	ssize_t hlen = -1;
	int brc = 0;
	struct netvsp_chan *cur = NULL;
	const uint8_t *prev = NULL;
	uint64_t drop = 0, nobuf = 0;
	bool pass = false, kept = false;

	memo.on = nic->rss_on && nic->nopen >= 2 &&
		  __atomic_load_n(&nic->rss_entries, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *f = fr[i].frame;
		size_t len = fr[i].len, off;
		struct netvsp_chan *ch;

		if (!prev || memcmp(f, prev, 6))
			pass = netvsp_filter(nic, f);
		prev = f;
		if (!pass)
			continue; /* filtered: not an error */
		/*
		 * The PPIs from the metadata: the previous frame's when its
		 * metadata was the same and they do not depend on the frame
		 * (no checksum verdict to derive from its headers).
		 */
		if (!bmeta || (fr[i].meta != bmeta &&
			       memcmp(fr[i].meta, bmeta, sizeof(*bmeta))) ||
		    (bmeta->flags & OVB_NET_META_CSUM_VALID)) {
			brc = ovb_rndis_meta_to_rx(fr[i].meta, f, len, &base);
			bmeta = fr[i].meta;
			bgen++;
		}
		if (brc)
			goto drop;
		ch = memo.on ? rss_run(nic, &memo, f, len) : nic->ch[0];
		if (!ch)
			goto drop;
		/* The header: the previous frame's if length and PPIs match. */
		if (hlen < 0 || len != hdr_len || bgen != hdr_bgen ||
		    memo.gen != hdr_mgen) {
			struct ovb_rndis_pktinfo info = base;

			if (memo.hashed) {
				info.present |= OVB_RNDIS_PPI_HASH_VALUE |
						OVB_RNDIS_PPI_HASH_INFO;
				info.hash_value = memo.hash_value;
				info.hash_info = memo.hash_info;
			}
			hlen = ovb_rndis_packet_build_header(
				hdr, sizeof(hdr), (uint32_t)len, &info);
			hdr_len = len;
			hdr_bgen = bgen;
			hdr_mgen = memo.gen;
		}
		if (hlen < 0 || (size_t)hlen + len > nic->slot_size)
			goto drop;
		if (ch != cur) {
			run_leave(cur, kept);
			cur = ch;
			kept = pend_enter(ch);
		}
		/* Packed behind the last frame, or a slot (waited for). */
		if (netvsp__batch_place(nic, ch, (size_t)hlen + len, true,
					&off)) {
			nobuf++;
			goto drop;
		}
		netvsp__batch_add(nic, ch, off, hdr, (size_t)hlen, f, len,
				  NULL, 0);
		ch->nframes++;
		ch->pend_bytes += len;
		continue;
drop:
		drop |= 1ull << i;
	}
	run_leave(cur, kept);
	if (nobuf) {
		__atomic_fetch_add(&nic->vsp->no_buffer, nobuf, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_nobuf, nobuf, __ATOMIC_RELAXED);
	}
	return drop;
}

/* Switch port run transmit: frames for this guest, on any thread. */
uint64_t netvsp__port_txn(void *ctx, const struct ovb_vswitch_frame *fr,
			  unsigned int n)
{
	struct netvsp_nic *nic = ctx;
	uint64_t drop = 0;
	uint32_t e = 0;
	unsigned int i, j;
	bool held;

	if (!port_enter(nic, &e, &held)) {
		port_leave(nic, e, held);
		return n >= 64 ? ~0ull : (1ull << n) - 1;
	}
	for (i = 0; i < n; i = j) {
		/* Large and runt frames alone, the frame-at-a-time way. */
		if (fr[i].meta->gso_type || fr[i].len < 14) {
			if (port_tx_entered(nic, fr[i].frame, fr[i].len,
					    fr[i].meta) < 0)
				drop |= 1ull << i;
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && !fr[j].meta->gso_type &&
				fr[j].len >= 14;
		     j++)
			;
		drop |= deliver_run(nic, fr + i, j - i) << i;
	}
	port_leave(nic, e, held);
	return drop;
}
