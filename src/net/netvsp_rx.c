// SPDX-License-Identifier: MIT
/*
 * netvsp frames from the guest (towards the guest: netvsp_deliver.c): the
 * RNDIS PACKET messages of one SEND_RNDIS_PKT, in a send section or in page
 * buffers, go into the switch straight from guest memory; a frame with
 * checksum work pending is first copied and brought to Linux conventions,
 * an LSO frame only its headers (the payload follows from guest memory).
 * The plain frames of one send go into the switch as runs
 * (ovb_vswitch_input_run).  Layer: devices.  Spec: docs/wire.md B6, B9.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fault_hook.h"
#include "net/netvsp_priv.h"
#include "openvmbus/log.h"

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

/* Frames of one send that reached the switch: counted once per send. */
struct netvsp_tally {
	uint64_t frames, bytes;
};

/* Ethernet, VLAN, IP with options or extension headers, and TCP. */
#define NETVSP_LSO_HDR_MAX 256u

/*
 * An LSO frame in guest memory into the switch in two pieces: its headers
 * copied and brought to Linux conventions (ovb_offload_tso_headers), its
 * payload where the guest put it, so that a receiver taking pieces
 * (netvsp__port_txv) copies the payload once, into its slots, instead of
 * after a private copy of the whole frame.  The payload may change under
 * the switch: it is data, and nothing is parsed from it.  Returns as
 * netvsp_frame, or -EAGAIN when the headers do not fit the copy (the
 * caller copies the whole frame instead).
 */
static int netvsp_lso_split(struct netvsp_chan *ch,
			    const struct ovb_rndis_packet *pkt,
			    struct ovb_net_meta *meta, struct netvsp_tally *t)
{
	struct netvsp_nic *nic = ch->nic;
	uint8_t hb[NETVSP_LSO_HDR_MAX];
	size_t cap = pkt->frame_len < sizeof(hb) ? pkt->frame_len : sizeof(hb);
	struct ovb_net_hdrs h;

	memcpy(hb, pkt->frame, cap);
	/* Parsed in the copy only: the guest's bytes are read once. */
	if (ovb_offload_parse(hb, cap, &h) || !h.l4_off)
		return -EAGAIN;
	if (ovb_offload_tso_headers(hb, h.payload_off, pkt->frame_len, meta))
		return netvsp_offload_drop(nic, "offload request does not "
					   "fit the frame");
	if (meta->gso_size < OVB_OFFLOAD_MIN_MSS ||
	    pkt->frame_len - h.payload_off < meta->gso_size)
		return netvsp_offload_drop(nic, "LSO MSS below the minimum or "
					   "beyond the payload");
	if (!ovb_netvsp_link(nic->vsp))
		return 0; /* cable pulled: lost */
	if (ovb_vswitch_input_split(nic->vsp->cfg.sw, nic->port, hb,
				    h.payload_off, pkt->frame + h.payload_off,
				    pkt->frame_len - h.payload_off, meta) < 0) {
		__atomic_fetch_add(&nic->tx_err, 1, __ATOMIC_RELAXED);
		return 0; /* dropped by the switch, counted */
	}
	t->frames++;
	t->bytes += pkt->frame_len;
	return 0;
}

/*
 * The plain frames of one send (no checksum or segmentation work), kept
 * in order to go into the switch as one run: the switch forwards a run
 * of frames with the same MACs once, and the receiving port takes them
 * in one call.  They stay where they are (the guest's section or the
 * send's private copy) until the run goes.
 */
struct netvsp_run {
	unsigned int n;
	struct ovb_vswitch_frame f[OVB_VSWITCH_RUN_MAX];
	struct ovb_net_meta meta[OVB_VSWITCH_RUN_MAX];
};

/* The run into the switch; each frame counted as netvsp_frame does. */
static void netvsp_run_flush(struct netvsp_chan *ch, struct netvsp_run *r,
			     struct netvsp_tally *t)
{
	struct netvsp_nic *nic = ch->nic;
	int res[OVB_VSWITCH_RUN_MAX];
	uint64_t err = 0;

	if (!r->n)
		return;
	if (ovb_vswitch_input_run(nic->vsp->cfg.sw, nic->port, r->f, r->n,
				  res) < 0) {
		err = r->n;
	} else {
		for (unsigned int i = 0; i < r->n; i++) {
			if (res[i] < 0) {
				err++;
				continue;
			}
			t->frames++;
			t->bytes += r->f[i].len;
		}
	}
	if (err)
		__atomic_fetch_add(&nic->tx_err, err, __ATOMIC_RELAXED);
	r->n = 0;
}

/*
 * One PACKET message from the guest into the switch, or into @run when
 * it is a plain frame (the run goes before any other frame, so the
 * send's order holds).  Returns 0 when the frame went to the switch
 * (counted in @t), into the run, or was lost to a pulled cable or
 * dropped by the switch (counted), -EBADMSG for a malformed message,
 * -EINVAL for a frame dropped because its offload request does not fit
 * it.
 */
static int netvsp_frame(struct netvsp_chan *ch, const uint8_t *msg,
			size_t len, bool private, struct netvsp_tally *t,
			struct netvsp_run *run)
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
	if (!(meta.flags & (OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM)) &&
	    !meta.gso_type) {
		if (!ovb_netvsp_link(nic->vsp))
			return 0; /* cable pulled: lost */
		run->meta[run->n] = meta;
		run->f[run->n] = (struct ovb_vswitch_frame){
			.frame = pkt.frame, .len = pkt.frame_len,
			.meta = &run->meta[run->n] };
		if (++run->n == OVB_VSWITCH_RUN_MAX)
			netvsp_run_flush(ch, run, t);
		return 0;
	}
	netvsp_run_flush(ch, run, t); /* the frames before this one first */
	if (meta.gso_type && !private) {
		int rc = netvsp_lso_split(ch, &pkt, &meta, t);

		if (rc != -EAGAIN)
			return rc;
	}
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
	t->frames++;
	t->bytes += pkt.frame_len;
	return 0;
}

int netvsp__guest_packet(struct netvsp_chan *ch, const uint8_t *msg,
			 size_t len)
{
	struct netvsp_nic *nic = ch->nic;
	bool private = msg == ch->scratch;
	uint32_t type, mlen, status = NVSP_STAT_SUCCESS;
	struct netvsp_tally t = { 0 };
	struct netvsp_run run;
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
	run.n = 0;
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
			status = NVSP_STAT_FAIL;
			break;
		}
		/*
		 * The next message's header is a line the guest's CPU wrote:
		 * ask for it while this frame goes through the switch (the
		 * miss on that first load was 90 % of this function at
		 * 1500 bytes).
		 */
		if (len - off - mlen >= 8)
			__builtin_prefetch(msg + off + mlen);
		if (type != RNDIS_MSG_PACKET) {
			ovb_peer("%s: RNDIS type %#x inside a data send",
				 nic->name, type);
			status = NVSP_STAT_FAIL;
		} else if (netvsp_frame(ch, msg + off, mlen, private, &t,
					&run)) {
			status = NVSP_STAT_FAIL;
		}
		off += mlen;
		n++;
	}
	netvsp_run_flush(ch, &run, &t);
	if (t.frames) {
		__atomic_fetch_add(&nic->tx_ok, t.frames, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->tx_bytes, t.bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->from_guest, t.frames,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(&nic->vsp->from_guest_bytes, t.bytes,
				   __ATOMIC_RELAXED);
	}
	return status;
}
