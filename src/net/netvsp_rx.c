// SPDX-License-Identifier: MIT
/*
 * netvsp frames, both ways.  Towards the guest: the receive buffer is cut
 * into equal slots; a frame (or an RNDIS control message) is copied into a
 * free slot, the only copy it gets, and announced with a transfer-page
 * packet (pageset = the id the guest gave, transaction id = the slot
 * number) that the guest completes when it is done.  From the guest: the
 * RNDIS PACKET messages of one SEND_RNDIS_PKT, in a send section or in page
 * buffers, go into the switch straight from guest memory; a frame with
 * checksum or LSO work pending is first copied and brought to Linux
 * conventions.  Layer: devices.  Spec: docs/wire.md B6, B9.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fault_hook.h"
#include "net/netvsp_priv.h"
#include "openvmbus/log.h"

/* Header room in a slot: RNDIS PACKET plus checksum, VLAN, hash PPIs. */
#define NETVSP_RX_HDR 128u

uint32_t netvsp__slot_size(uint32_t mtu)
{
	uint32_t s = (mtu + 14u + 4u + NETVSP_RX_HDR + 63u) & ~63u;

	return s < 1728u ? 1728u : s; /* never below Hyper-V's */
}

int netvsp__slots_init(struct netvsp_nic *nic)
{
	nic->slot_size = netvsp__slot_size(nic->vsp->cfg.mtu);
	nic->nslots = (uint32_t)(nic->rx_view.len / nic->slot_size);
	nic->slot_free = calloc(nic->nslots, sizeof(*nic->slot_free));
	nic->slot_busy = calloc(nic->nslots, 1);
	if (!nic->slot_free || !nic->slot_busy) {
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
	nic->slot_free = NULL;
	nic->slot_busy = NULL;
	nic->nslots = nic->nfree = 0;
}

static int slot_get(struct netvsp_nic *nic, uint32_t *slot)
{
	int rc = -ENOBUFS;

	pthread_mutex_lock(&nic->slot_lock);
	if (nic->nfree) {
		*slot = nic->slot_free[--nic->nfree];
		nic->slot_busy[*slot] = 1;
		rc = 0;
	}
	pthread_mutex_unlock(&nic->slot_lock);
	return rc;
}

static void slot_put(struct netvsp_nic *nic, uint32_t slot)
{
	pthread_mutex_lock(&nic->slot_lock);
	nic->slot_busy[slot] = 0;
	nic->slot_free[nic->nfree++] = slot;
	pthread_mutex_unlock(&nic->slot_lock);
}

void netvsp__slot_complete(struct netvsp_nic *nic, struct ovb_chan *chan,
			   uint64_t xid)
{
	bool ok = false;

	pthread_rwlock_rdlock(&nic->lock);
	pthread_mutex_lock(&nic->slot_lock);
	if (nic->slot_busy && xid < nic->nslots && nic->slot_busy[xid]) {
		nic->slot_busy[xid] = 0;
		nic->slot_free[nic->nfree++] = (uint32_t)xid;
		ok = true;
	}
	pthread_mutex_unlock(&nic->slot_lock);
	pthread_rwlock_unlock(&nic->lock);
	if (!ok) {
		ovb_peer("%s: completion for receive slot %llu that the guest "
			 "does not hold", ovb_chan_name(chan),
			 (unsigned long long)xid);
		__atomic_fetch_add(&nic->vsp->bad_completions, 1,
				   __ATOMIC_RELAXED);
	}
}

/* A slot that straddles scattered pages of the receive buffer. */
static int netvsp_rx_write_paged(struct netvsp_nic *nic,
				 struct netvsp_chan *ch, size_t off,
				 const void *hdr, size_t hlen,
				 const void *frame, size_t flen)
{
	uint8_t *tmp;

	if (!OVB_FAULT_ON()) {
		ovb_gmem_view_write(&nic->rx_view, off, hdr, hlen);
		if (flen)
			ovb_gmem_view_write(&nic->rx_view, off + hlen, frame,
					    flen);
		return 0;
	}
	/* The fault engine edits the message in place: stage it. */
	tmp = malloc(hlen + flen);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, hdr, hlen);
	if (flen)
		memcpy(tmp + hlen, frame, flen);
	ovb__fault_rndis(ch->chan, tmp, hlen + flen);
	ovb_gmem_view_write(&nic->rx_view, off, tmp, hlen + flen);
	free(tmp);
	return 0;
}

int netvsp__send_rndis(struct netvsp_nic *nic, struct netvsp_chan *ch,
		       uint32_t channel_type, const void *hdr, size_t hlen,
		       const void *frame, size_t flen, bool block)
{
	union nvsp_message m;
	struct vmtransfer_page_range r;
	struct ovb_send s = { .type = VM_PKT_DATA_USING_XFER_PAGES };
	uint32_t slot;
	size_t off;
	uint8_t *p;
	int rc;

	memset(&m, 0, sizeof(m));
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	if (!nic->rx_view.len || !ch)
		return -ENODEV;
	if (hlen + flen > nic->slot_size)
		return -EMSGSIZE;
	if ((rc = slot_get(nic, &slot)) != 0)
		return rc;
	off = (size_t)slot * nic->slot_size;
	p = ovb_gmem_view_ptr(&nic->rx_view, off, hlen + flen);
	if (p) {
		memcpy(p, hdr, hlen);
		if (flen)
			memcpy(p + hlen, frame, flen);
		if (OVB_FAULT_ON())
			ovb__fault_rndis(ch->chan, p, hlen + flen);
	} else if ((rc = netvsp_rx_write_paged(nic, ch, off, hdr, hlen, frame,
					       flen)) != 0) {
		slot_put(nic, slot);
		return rc;
	}
	m.rndis_pkt.channel_type = channel_type;
	m.rndis_pkt.send_buf_section_index = NVSP_INVALID_SECTION_INDEX;
	r.byte_count = (uint32_t)(hlen + flen);
	r.byte_offset = slot * nic->slot_size;
	s.flags = OVB_SEND_COMPLETION | (block ? 0 : OVB_SEND_NONBLOCK);
	s.xid = slot;
	s.xfer_pageset_id = nic->rx_id;
	s.xfer = &r;
	s.xfer_cnt = 1;
	s.data = &m;
	s.len = sizeof(m);
	rc = ovb_chan_send(ch->chan, &s);
	if (rc)
		slot_put(nic, slot);
	return rc;
}

/*
 * Wait until no frame that may have seen the packet filter as it was
 * before the caller changed it is still on its way into a ring.  Two
 * flips: a sender that read the epoch before the first flip but counted
 * itself only after we looked is caught by the second.  Senders never
 * block while counted, so the wait is short.
 */
void netvsp__rx_quiesce(struct netvsp_nic *nic)
{
	for (int i = 0; i < 2; i++) {
		uint32_t old = __atomic_fetch_xor(&nic->rx_epoch, 1,
						  __ATOMIC_SEQ_CST) & 1;

		while (__atomic_load_n(&nic->rx_busy[old], __ATOMIC_SEQ_CST))
			sched_yield();
	}
}

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

/* Switch port transmit: a frame for this guest, on any thread. */
int netvsp__port_tx(void *ctx, const void *frame, size_t len,
		    const struct ovb_net_meta *meta)
{
	struct netvsp_nic *nic = ctx;
	struct ovb_netvsp *vsp = nic->vsp;
	struct ovb_rndis_pktinfo info = { 0 };
	uint8_t hdr[NETVSP_RX_HDR];
	struct netvsp_chan *ch;
	ssize_t hlen;
	int rc = -ENETDOWN;
	uint32_t e;

	pthread_rwlock_rdlock(&nic->lock);
	e = __atomic_load_n(&nic->rx_epoch, __ATOMIC_SEQ_CST) & 1;
	__atomic_fetch_add(&nic->rx_busy[e], 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&nic->rndis_init, __ATOMIC_ACQUIRE) ||
	    !ovb_netvsp_link(vsp) || !nic->rx_view.len || len < 14)
		goto out;
	rc = 0;
	if (!netvsp_filter(nic, frame))
		goto out; /* filtered: not an error */
	rc = ovb_rndis_meta_to_rx(meta, frame, len, &info);
	if (rc)
		goto out;
	ch = netvsp_rss(nic, frame, len, &info);
	hlen = ovb_rndis_packet_build_header(hdr, sizeof(hdr), (uint32_t)len,
					     &info);
	if (hlen < 0) {
		rc = (int)hlen;
		goto out;
	}
	rc = netvsp__send_rndis(nic, ch, NVSP_CHANNEL_TYPE_DATA, hdr,
				(size_t)hlen, frame, len, false);
	if (rc == -ENOBUFS || rc == -EAGAIN) {
		__atomic_fetch_add(&vsp->no_buffer, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_nobuf, 1, __ATOMIC_RELAXED);
	} else if (!rc) {
		__atomic_fetch_add(&vsp->to_guest, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&vsp->to_guest_bytes, len, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_ok, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->rx_bytes, len, __ATOMIC_RELAXED);
	}
out:
	__atomic_fetch_sub(&nic->rx_busy[e], 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&nic->lock);
	return rc;
}

/*
 * Would segmenting this LSO frame produce real segments?  MSS at least the
 * host's minimum (OVB_OFFLOAD_MIN_MSS: bounds the work one frame makes)
 * and at least one full segment of payload behind the headers.
 */
static bool netvsp_lso_ok(const uint8_t *frame, size_t len,
			  const struct ovb_net_meta *meta)
{
	struct ovb_net_hdrs h;

	if (!meta->gso_type)
		return true;
	if (meta->gso_size < OVB_OFFLOAD_MIN_MSS ||
	    ovb_offload_parse(frame, len, &h) || !h.l4_off)
		return false;
	return h.l3_end > h.payload_off &&
	       h.l3_end - h.payload_off >= meta->gso_size;
}

/* A frame dropped for an offload request that does not fit it. */
static int netvsp_offload_drop(struct netvsp_nic *nic, const char *why)
{
	ovb_peer("%s: frame dropped: %s", nic->name, why);
	__atomic_fetch_add(&nic->vsp->offload_dropped, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nic->tx_err, 1, __ATOMIC_RELAXED);
	return -EINVAL;
}

/*
 * One PACKET message from the guest into the switch.  Returns 0 when the
 * frame went to the switch (or was lost to a pulled cable or dropped by
 * the switch, both counted), -EBADMSG for a malformed message, -EINVAL
 * for a frame dropped because its offload request does not fit it.
 */
static int netvsp_frame(struct netvsp_chan *ch, const uint8_t *msg,
			size_t len, bool private)
{
	struct netvsp_nic *nic = ch->nic;
	struct ovb_rndis_packet pkt;
	struct ovb_net_meta meta = { 0 };
	const uint8_t *frame;
	uint8_t *copy;

	if (ovb_rndis_packet_parse(msg, len, &pkt)) {
		ovb_peer("%s: malformed RNDIS PACKET (%zu bytes left)",
			 nic->name, len);
		return -EBADMSG;
	}
	if (ovb_rndis_tx_to_meta(&pkt.info, pkt.frame, pkt.frame_len, &meta))
		return netvsp_offload_drop(nic, "offload PPI names headers "
					   "past the frame, or LSO MSS 0");
	frame = pkt.frame;
	if (meta.flags & (OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM) ||
	    meta.gso_type) {
		/* The work is done on a copy the guest cannot change. */
		copy = private ? (uint8_t *)(uintptr_t)pkt.frame : ch->scratch;
		if (pkt.frame_len > NETVSP_SCRATCH)
			return -EBADMSG;
		if (!private)
			memcpy(copy, pkt.frame, pkt.frame_len);
		if (ovb_offload_canonicalize(copy, pkt.frame_len, &meta))
			return netvsp_offload_drop(nic, "offload request does "
						   "not fit the frame");
		if (!netvsp_lso_ok(copy, pkt.frame_len, &meta))
			return netvsp_offload_drop(nic, "LSO MSS below the "
						   "minimum or beyond the "
						   "payload");
		frame = copy;
	}
	if (!ovb_netvsp_link(nic->vsp))
		return 0; /* cable pulled: lost */
	if (ovb_vswitch_input(nic->vsp->cfg.sw, nic->port, frame,
			      pkt.frame_len, &meta) < 0) {
		__atomic_fetch_add(&nic->tx_err, 1, __ATOMIC_RELAXED);
		return 0; /* dropped by the switch, counted */
	}
	__atomic_fetch_add(&nic->tx_ok, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nic->tx_bytes, pkt.frame_len, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nic->vsp->from_guest, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nic->vsp->from_guest_bytes, pkt.frame_len,
			   __ATOMIC_RELAXED);
	return 0;
}

int netvsp__guest_packet(struct netvsp_chan *ch, const uint8_t *msg,
			 size_t len)
{
	struct netvsp_nic *nic = ch->nic;
	bool private = msg == ch->scratch;
	uint32_t type, mlen, status = NVSP_STAT_SUCCESS;
	size_t off = 0;
	unsigned int n = 0;

	memcpy(&type, msg, len >= 4 ? 4 : 0);
	if (len < 8) {
		ovb_peer("%s: RNDIS message of %zu bytes", nic->name, len);
		return NVSP_STAT_INVALID_RNDIS_PKT;
	}
	if (type != RNDIS_MSG_PACKET) {
		if (!private)
			memcpy(ch->scratch, msg, len);
		return netvsp__rndis_control(ch, ch->scratch, len);
	}
	if (!__atomic_load_n(&nic->rndis_init, __ATOMIC_ACQUIRE)) {
		ovb_peer("%s: PACKET before RNDIS INITIALIZE", nic->name);
		return NVSP_STAT_FAIL;
	}
	/*
	 * Several messages may share one section (Linux and DPDK batch).  A
	 * bad one is skipped by its own length and the rest still go; the
	 * send then completes once, with NVSP_STAT_FAIL (openvmm #2141).  A
	 * length that does not fit ends the walk: nothing after it can be
	 * found.
	 */
	while (len - off >= 8) {
		memcpy(&type, msg + off, 4);
		memcpy(&mlen, msg + off + 4, 4);
		if (n && !type)
			break; /* zero padding after the last one */
		if (mlen < 8 || mlen > len - off) {
			ovb_peer("%s: RNDIS message of %u bytes at %zu in a "
				 "data send of %zu", nic->name, mlen, off, len);
			return NVSP_STAT_FAIL;
		}
		if (type != RNDIS_MSG_PACKET) {
			ovb_peer("%s: RNDIS type %#x inside a data send",
				 nic->name, type);
			status = NVSP_STAT_FAIL;
		} else if (netvsp_frame(ch, msg + off, mlen, private)) {
			status = NVSP_STAT_FAIL;
		}
		off += mlen;
		n++;
	}
	return status;
}
