// SPDX-License-Identifier: MIT
/*
 * netvsc frames, both ways.  Transmit: a frame small enough for a send
 * section is written into the queue's current section behind the RNDIS
 * packets already there (up to the host's max_packets_per_message), and
 * the section is sent when it is full, when the caller has no more
 * frames, or before a large frame; a large frame goes as page buffers out
 * of one of a few guest-memory buffers.  Receive: every transfer-page
 * packet is validated (pageset, ranges inside the receive buffer, RNDIS
 * framing) before its frames reach the callback, and completed once they
 * all have; coalesced frames are gathered as places in the receive
 * buffer and joined only for a callback that cannot take them in pieces.
 * Layer: devices.  Spec: docs/wire.md B6, B9.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/prefetch.h"
#include "net/netvsc_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"

/* The host is done with a section or big buffer (or the channel died). */
static void buf_done(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
	struct netvsc_buf *b = ctx;
	struct ovb_netvsc *n = b->n;
	struct ovb_nvsp_msg m;

	if (pkt && (ovb_nvsp_parse(pkt->data, pkt->len, OVB_NVSP_TO_GUEST,
				   OVB_NVSP_VERSION_ANY, &m) ||
		    m.type != NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE ||
		    m.u.rndis_pkt_complete.status != NVSP_STAT_SUCCESS))
		__atomic_fetch_add(&n->tx_errors, 1, __ATOMIC_RELAXED);
	netvsc__pool_put(b->big ? &n->bigs : &n->secs, b->idx);
}

int netvsc__gpa_range(struct ovb_netvsc *n, const void *buf, size_t len,
		      uint64_t *words, size_t max)
{
	return ovb_gpa_range_words(ovb_gmem_gpa(ovb_client_gmem(n->cl), buf),
				   len, words, max);
}

/* ---- transmit ------------------------------------------------------------ */

static int send_rndis_pkt(struct netvsc_q *q, uint32_t section, uint32_t size,
			  const uint64_t *words, int nw, struct netvsc_buf *b)
{
	struct ovb_nvsp_msg m = { .type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT };
	uint8_t buf[NVSP_MESSAGE_SIZE];
	struct ovb_send s = { 0 };

	m.u.rndis_pkt.channel_type = NVSP_CHANNEL_TYPE_DATA;
	m.u.rndis_pkt.section_index = section;
	m.u.rndis_pkt.section_size = size;
	s.len = (size_t)ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_HOST, &m);
	s.data = buf;
	if (words) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = (size_t)nw * 8;
		s.range_cnt = 1;
	}
	s.on_comp = buf_done;
	s.comp_ctx = b;
	if (netvsc__src_q)
		s.flags = OVB_SEND_NONBLOCK; /* a source's worker never waits */
	__atomic_fetch_add(&q->n->tx_sends, 1, __ATOMIC_RELAXED);
	return ovb_chan_send(q->chan, &s);
}

/* Send the current section; q->lock held. */
static int flush_locked(struct netvsc_q *q)
{
	struct ovb_netvsc *n = q->n;
	uint32_t sec = (uint32_t)q->cur;
	int rc;

	if (q->cur < 0)
		return 0;
	q->cur = -1;
	rc = send_rndis_pkt(q, sec, q->off, NULL, 0, &n->secs.ctx[sec]);
	if (rc == -EAGAIN && netvsc__src_q) {
		/* Ring full on a source's worker: a later flush sends it. */
		q->cur = (int32_t)sec;
		return rc;
	}
	if (rc) {
		__atomic_fetch_add(&n->tx_errors, q->npkt, __ATOMIC_RELAXED);
		netvsc__pool_put(&n->secs, sec);
	}
	return rc;
}

/* Write RNDIS header + frame at @p; returns the message length. */
static int build(struct ovb_netvsc *n, uint8_t *p, size_t cap,
		 const struct ovb_rndis_pktinfo *info, const void *frame,
		 size_t len, const struct ovb_net_meta *meta)
{
	ssize_t h = ovb_rndis_packet_build_header(p, cap, (uint32_t)len, info);

	if (h < 0 || (size_t)h + len > cap)
		return -EMSGSIZE;
	memcpy(p + h, frame, len);
	if (meta && meta->gso_type &&
	    ovb_offload_ndis_lso(p + h, len, meta))
		return -EBADMSG;
	return (int)(h + (ssize_t)len);
}

static int send_big(struct netvsc_q *q, const struct ovb_rndis_pktinfo *info,
		    const void *frame, size_t len,
		    const struct ovb_net_meta *meta)
{
	struct ovb_netvsc *n = q->n;
	uint64_t words[2 + NETVSC_BIG_SIZE / HV_PAGE_SIZE];
	uint32_t idx;
	uint8_t *p;
	int rc, mlen, nw;

	if ((rc = netvsc__pool_get(&n->bigs, &idx)) != 0)
		return rc;
	p = n->big + (size_t)idx * NETVSC_BIG_SIZE;
	mlen = build(n, p, NETVSC_BIG_SIZE, info, frame, len, meta);
	nw = mlen < 0 ? mlen
		      : netvsc__gpa_range(n, p, (size_t)mlen, words,
					  sizeof(words) / 8);
	rc = nw < 0 ? nw
		    : send_rndis_pkt(q, NVSP_INVALID_SECTION_INDEX, 0, words,
				     nw, &n->bigs.ctx[idx]);
	if (rc)
		netvsc__pool_put(&n->bigs, idx);
	else
		__atomic_fetch_add(&n->tx_pagebuf, 1, __ATOMIC_RELAXED);
	return rc;
}

/*
 * One frame into @q's current section (or as page buffers, after a flush):
 * the work of ovb_netvsc_send() under q->lock, which the caller holds;
 * counted in the queue's frames when taken.  Same returns.
 */
static int send_locked(struct netvsc_q *q, const void *frame, size_t len,
		       const struct ovb_net_meta *meta, bool more)
{
	struct ovb_netvsc *n = q->n;
	struct ovb_rndis_pktinfo info = { 0 };
	size_t need, aligned;
	int rc = 0, mlen;

	if (len < 14 || len > NETVSC_BIG_SIZE - 256)
		return -EMSGSIZE;
	if (meta && (rc = ovb_rndis_meta_to_tx(meta, frame, len, &info)) != 0)
		return rc;
	need = ovb_rndis_packet_header_len(&info) + len;
	aligned = (need + n->align - 1) & ~(size_t)(n->align - 1);
	if (!n->sec_size || aligned > n->sec_size) {
		rc = flush_locked(q);
		if (!rc)
			rc = send_big(q, &info, frame, len, meta);
		goto out;
	}
	if (q->cur >= 0 &&
	    (q->off + aligned > n->sec_size || q->npkt >= n->max_pkt))
		rc = flush_locked(q);
	if (!rc && q->cur < 0) {
		uint32_t sec;

		rc = netvsc__pool_get(&n->secs, &sec);
		if (!rc) {
			q->cur = (int32_t)sec;
			q->off = q->npkt = 0;
		}
	}
	if (rc)
		goto out;
	uint8_t *p = n->txbuf + (size_t)q->cur * n->sec_size + q->off;

	mlen = build(n, p, n->sec_size - q->off, &info, frame, len, meta);
	if (mlen < 0) {
		rc = mlen;
		goto out;
	}
	/* Padding belongs to this message, as Linux accounts it. */
	memset(p + mlen, 0, aligned - (size_t)mlen);
	memcpy(p + 4, &(uint32_t){ (uint32_t)aligned }, 4);
	q->off += (uint32_t)aligned;
	q->npkt++;
	/*
	 * The next message goes right after: ask for its first two lines
	 * for writing now (the host's CPU read them last), so that the next
	 * send does not wait for their ownership.  Only inside this section:
	 * the one after it may be the host's, being read.
	 */
	if (q->off + 128 <= n->sec_size) {
		ovb__prefetchw(p + aligned);
		ovb__prefetchw(p + aligned + 64);
	}
	/* The frame is in the section: one a full ring kept goes later. */
	if (!more && (rc = flush_locked(q)) == -EAGAIN && netvsc__src_q)
		rc = 0;
out:
	if (!rc) {
		netvsc__count(&q->tx_frames, 1);
		netvsc__count(&q->tx_bytes, len);
	}
	return rc;
}

/* A send's error counted, but not a source's -EAGAIN (it retries). */
static void send_error(struct ovb_netvsc *n, int rc)
{
	if (rc && !(rc == -EAGAIN && netvsc__src_q))
		__atomic_fetch_add(&n->tx_errors, 1, __ATOMIC_RELAXED);
}

int ovb_netvsc_send(struct ovb_netvsc *n, unsigned int queue,
		    const void *frame, size_t len,
		    const struct ovb_net_meta *meta, bool more)
{
	struct netvsc_q *q;
	int rc;

	if (__atomic_load_n(&n->closing, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	if (__atomic_load_n(&n->stalled, __ATOMIC_ACQUIRE))
		return -ENETDOWN; /* queues stopped: the host went silent */
	q = netvsc__pick_queue(n, queue);
	pthread_mutex_lock(&q->lock);
	rc = send_locked(q, frame, len, meta, more);
	pthread_mutex_unlock(&q->lock);
	send_error(n, rc);
	return rc;
}

/*
 * The frames of a burst under one hold of the queue's lock.  The lock's
 * release is a full barrier: once per frame it waited for that frame's
 * stores into the section (lines the host's CPU read last) to complete,
 * 91 % of the unlock's samples at 64 bytes; once per burst those stores
 * overlap each other instead.
 */
ssize_t ovb_netvsc_send_burst(struct ovb_netvsc *n, unsigned int queue,
			      const struct ovb_netvsc_frame *f,
			      unsigned int count, bool more)
{
	struct netvsc_q *q;
	unsigned int i;
	int rc = 0;

	if (!count)
		return 0;
	if (__atomic_load_n(&n->closing, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	if (__atomic_load_n(&n->stalled, __ATOMIC_ACQUIRE))
		return -ENETDOWN;
	q = netvsc__pick_queue(n, queue);
	pthread_mutex_lock(&q->lock);
	for (i = 0; i < count && !rc; i++)
		rc = send_locked(q, f[i].frame, f[i].len, f[i].meta,
				 more || i + 1 < count);
	if (rc) {
		i--; /* frame i was not taken: the ones before it go now */
		if (!more && i)
			flush_locked(q); /* its failure is counted there */
	}
	pthread_mutex_unlock(&q->lock);
	send_error(n, rc);
	return i ? (ssize_t)i : rc;
}

/* Room for the RNDIS header and its PPIs in front of a txbuf frame. */
#define TXBUF_ROOM 256u

int ovb_netvsc_txbuf_get(struct ovb_netvsc *n, struct ovb_netvsc_txbuf *tb)
{
	uint32_t idx;
	int rc = netvsc__pool_get(&n->bigs, &idx);

	if (rc)
		return rc;
	tb->idx = idx;
	tb->frame = n->big + (size_t)idx * NETVSC_BIG_SIZE + TXBUF_ROOM;
	tb->cap = NETVSC_BIG_SIZE - TXBUF_ROOM;
	return 0;
}

void ovb_netvsc_txbuf_put(struct ovb_netvsc *n, struct ovb_netvsc_txbuf *tb)
{
	if (tb->frame)
		netvsc__pool_put(&n->bigs, tb->idx);
	tb->frame = NULL;
}

int ovb_netvsc_send_txbuf(struct ovb_netvsc *n, unsigned int queue,
			  struct ovb_netvsc_txbuf *tb, size_t len,
			  const struct ovb_net_meta *meta, bool more)
{
	struct ovb_rndis_pktinfo info = { 0 };
	uint64_t words[2 + NETVSC_BIG_SIZE / HV_PAGE_SIZE];
	struct netvsc_q *q;
	size_t hlen;
	uint8_t *p;
	int rc, nw;

	if (!tb->frame || len > tb->cap)
		return -EMSGSIZE;
	if (len < 14 || len > NETVSC_BIG_SIZE - 256 ||
	    __atomic_load_n(&n->closing, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&n->stalled, __ATOMIC_ACQUIRE) ||
	    (meta && ovb_rndis_meta_to_tx(meta, tb->frame, len, &info)) ||
	    (n->sec_size && ovb_rndis_packet_header_len(&info) + len +
					    n->align <= n->sec_size))
		return ovb_netvsc_send(n, queue, tb->frame, len, meta, more);
	hlen = ovb_rndis_packet_header_len(&info);
	if (hlen > TXBUF_ROOM)
		return -EMSGSIZE;
	p = tb->frame - hlen;
	if (ovb_rndis_packet_build_header(p, hlen + len, (uint32_t)len,
					  &info) != (ssize_t)hlen ||
	    (meta && meta->gso_type &&
	     ovb_offload_ndis_lso(tb->frame, len, meta))) {
		__atomic_fetch_add(&n->tx_errors, 1, __ATOMIC_RELAXED);
		return -EBADMSG;
	}
	nw = netvsc__gpa_range(n, p, hlen + len, words, sizeof(words) / 8);
	if (nw < 0)
		return nw;
	q = netvsc__pick_queue(n, queue);
	pthread_mutex_lock(&q->lock);
	rc = flush_locked(q);
	if (!rc)
		rc = send_rndis_pkt(q, NVSP_INVALID_SECTION_INDEX, 0, words, nw,
				    &n->bigs.ctx[tb->idx]);
	if (!rc) {
		netvsc__count(&q->tx_frames, 1);
		netvsc__count(&q->tx_bytes, len);
	}
	pthread_mutex_unlock(&q->lock);
	if (rc) {
		if (!(rc == -EAGAIN && netvsc__src_q))
			__atomic_fetch_add(&n->tx_errors, 1, __ATOMIC_RELAXED);
		return rc;
	}
	tb->frame = NULL; /* the host has it until the completion */
	__atomic_fetch_add(&n->tx_pagebuf, 1, __ATOMIC_RELAXED);
	return 1;
}

void ovb_netvsc_flush(struct ovb_netvsc *n, unsigned int queue)
{
	netvsc__flush(netvsc__pick_queue(n, queue));
}

int netvsc__flush(struct netvsc_q *q)
{
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = flush_locked(q);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* ---- receive ----------------------------------------------------------- */

static void bad(struct ovb_netvsc *n, struct ovb_chan *chan, const char *why)
{
	__atomic_fetch_add(&n->rx_bad, 1, __ATOMIC_RELAXED);
	ovb_peer("netvsc %s: %s", ovb_chan_name(chan), why);
}

/* A control completion or indication from the host. */
static void rx_control(struct ovb_netvsc *n, struct ovb_chan *chan,
		       const uint8_t *msg, size_t len)
{
	struct ovb_rndis_msg m;

	if (ovb_rndis_parse(msg, len, &m)) {
		bad(n, chan, "malformed RNDIS control message");
		/*
		 * One control request waits at a time, and this is most
		 * likely its answer: fail it now (ctl_type 0 never matches)
		 * rather than let it time out and call the host silent.
		 */
		pthread_mutex_lock(&n->ctl_wait_lock);
		if (n->ctl_req_id && !n->ctl_done) {
			n->ctl_type = 0;
			n->ctl_done = true;
			pthread_cond_broadcast(&n->ctl_cond);
		}
		pthread_mutex_unlock(&n->ctl_wait_lock);
		return;
	}
	if (m.type == RNDIS_MSG_INDICATE) {
		bool up;

		if (m.status == RNDIS_STATUS_MEDIA_CONNECT)
			up = true;
		else if (m.status == RNDIS_STATUS_MEDIA_DISCONNECT)
			up = false;
		else
			return; /* other indications: nothing to follow */
		__atomic_store_n(&n->info.link_up, up, __ATOMIC_RELEASE);
		if (n->p.link)
			n->p.link(n->p.ctx, up);
		return;
	}
	if (!(m.type & RNDIS_MSG_COMPLETION) || m.type == RNDIS_MSG_RESET_C) {
		bad(n, chan, "RNDIS request from the host");
		return;
	}
	pthread_mutex_lock(&n->ctl_wait_lock);
	if (n->ctl_req_id && m.request_id == n->ctl_req_id && !n->ctl_done) {
		n->ctl_type = m.type;
		n->ctl_status = m.status;
		if (m.type == RNDIS_MSG_INIT_C) {
			n->ctl_info_len = sizeof(struct rndis_initialize_complete);
			memcpy(n->ctl_info, msg, n->ctl_info_len);
		} else {
			n->ctl_info_len = m.info_len < NETVSC_CTL_SIZE
						  ? m.info_len : NETVSC_CTL_SIZE;
			if (m.info)
				memcpy(n->ctl_info, m.info, n->ctl_info_len);
		}
		n->ctl_done = true;
		pthread_cond_broadcast(&n->ctl_cond);
	} else {
		ovb_info("netvsc: RNDIS completion %#x for request %u nobody "
			 "waits for", m.type, m.request_id);
	}
	pthread_mutex_unlock(&n->ctl_wait_lock);
}

/* Drop the coalesced frame being joined, if any. */
static void rsc_drop(struct netvsc_q *q, struct ovb_chan *chan,
		     const char *why)
{
	if (!q->rsc.open && why[0] != '!')
		return;
	q->rsc.open = false;
	__atomic_fetch_add(&q->n->rx_rsc_dropped, 1, __ATOMIC_RELAXED);
	bad(q->n, chan, why[0] == '!' ? why + 1 : why);
}

/*
 * The MSS a coalesced frame is handed on with: from the MTU, as the
 * sender's segments were cut; 0 when it fits the MTU whole (a plain
 * frame, checksum verified) or its headers leave no room for a segment.
 */
static uint16_t rsc_mss(const struct ovb_netvsc *n,
			const struct ovb_net_hdrs *h, size_t len)
{
	uint32_t mtu = n->info.mtu ? n->info.mtu : 1500;

	if (h->payload_off - h->l3_off + OVB_OFFLOAD_MIN_MSS > mtu ||
	    len - h->l3_off <= mtu)
		return 0;
	return (uint16_t)(mtu - (h->payload_off - h->l3_off));
}

/*
 * Hand the gathered frame to rxv in place: its headers copied out of the
 * first fragment (every header must lie there) and brought to Linux
 * conventions in the copy, the payload where the host put it.  Nothing
 * read from the receive buffer is used twice: lengths and places come
 * from the validated ranges, headers from the copy.  Returns false when
 * the headers are not all in the first fragment's copy: join instead.
 */
static bool rsc_deliver_inplace(struct netvsc_q *q, struct ovb_chan *chan,
				struct ovb_net_meta *meta)
{
	struct ovb_netvsc *n = q->n;
	struct iovec *iov = q->rsc.iov;
	size_t cp = iov[1].iov_len < NETVSC_RSC_HDR ? iov[1].iov_len
						    : NETVSC_RSC_HDR;
	size_t len = q->rsc.len;
	struct ovb_net_hdrs h;
	uint16_t mss;

	memcpy(q->rsc.hdr, iov[1].iov_base, cp);
	if (ovb_offload_parse(q->rsc.hdr, cp, &h) || !h.l4_off ||
	    h.l4_proto != IPPROTO_TCP || h.payload_off > cp)
		return false;
	mss = rsc_mss(n, &h, len);
	if (mss) {
		meta->gso_type = h.ip_version == 4 ? OVB_NET_GSO_TCPV4
						   : OVB_NET_GSO_TCPV6;
		meta->gso_size = mss;
		meta->flags &= ~OVB_NET_META_CSUM_VALID;
		if (ovb_offload_tso_headers(q->rsc.hdr, h.payload_off, len,
					    meta)) {
			rsc_drop(q, chan, "!coalesced frame with bad headers");
			return true;
		}
	}
	iov[0].iov_base = q->rsc.hdr;
	iov[0].iov_len = h.payload_off;
	iov[1].iov_base = (uint8_t *)iov[1].iov_base + h.payload_off;
	iov[1].iov_len -= h.payload_off;
	netvsc__count(&q->rx_frames, 1);
	netvsc__count(&q->rx_bytes, len);
	__atomic_fetch_add(&n->rx_coalesced, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->rx_rsc_inplace, 1, __ATOMIC_RELAXED);
	n->p.rxv(n->p.ctx, q->idx, iov, q->rsc.nfrag + 1, len, meta);
	return true;
}

/*
 * A gathered coalesced frame: to the callback as one TSO frame (MSS from
 * the MTU, Linux conventions: real lengths, pseudo-header seed), so that
 * a TAP takes it whole and the kernel needs no checksum pass; in place
 * through rxv when there is one, else joined into one copy for rx.  Only
 * a frame whose first fragment reports the TCP checksum verified goes
 * on: handing it on as TSO (CSUM_PARTIAL) or plain with CSUM_VALID both
 * tell the receiver not to check it.
 */
static void rsc_deliver(struct netvsc_q *q, struct ovb_chan *chan)
{
	struct ovb_netvsc *n = q->n;
	struct ovb_net_meta meta = q->rsc.meta;
	struct ovb_net_hdrs h;
	uint8_t *f;
	size_t len = q->rsc.len, off = 0;
	uint16_t mss;

	q->rsc.open = false;
	if (!(meta.flags & OVB_NET_META_CSUM_VALID) || !q->rsc.tcp_ok) {
		rsc_drop(q, chan, "!coalesced frame without a verified TCP "
				  "checksum");
		return;
	}
	if (n->p.rxv && rsc_deliver_inplace(q, chan, &meta))
		return;
	if (!q->rsc.buf && !(q->rsc.buf = malloc(NETVSC_RSC_FRAME))) {
		rsc_drop(q, chan, "!no memory for a coalesced frame");
		return;
	}
	f = q->rsc.buf;
	for (uint32_t i = 1; i <= q->rsc.nfrag; i++) {
		memcpy(f + off, q->rsc.iov[i].iov_base, q->rsc.iov[i].iov_len);
		off += q->rsc.iov[i].iov_len;
	}
	if (ovb_offload_parse(f, len, &h) || !h.l4_off ||
	    h.l4_proto != IPPROTO_TCP) {
		rsc_drop(q, chan, "!coalesced frame is not TCP");
		return;
	}
	mss = rsc_mss(n, &h, h.l3_end);
	if (mss) {
		meta.gso_type = h.ip_version == 4 ? OVB_NET_GSO_TCPV4
						  : OVB_NET_GSO_TCPV6;
		meta.gso_size = mss;
		meta.flags &= ~OVB_NET_META_CSUM_VALID;
		if (ovb_offload_canonicalize(f, len, &meta)) {
			rsc_drop(q, chan, "!coalesced frame with bad headers");
			return;
		}
	}
	netvsc__count(&q->rx_frames, 1);
	netvsc__count(&q->rx_bytes, len);
	__atomic_fetch_add(&n->rx_coalesced, 1, __ATOMIC_RELAXED);
	if (n->p.rx)
		n->p.rx(n->p.ctx, q->idx, f, len, &meta);
}

/*
 * One fragment of a coalesced frame, as Linux's rndis_filter_receive_data
 * takes them: a first fragment starts a frame (dropping one left open),
 * a later one needs an open frame, the last one completes it, and a frame
 * must end within its transfer-page packet (@last_range), so the places
 * gathered stay the guest's until the frame is handed on.
 */
static void rsc_fragment(struct netvsc_q *q, struct ovb_chan *chan,
			 const struct ovb_rndis_packet *pkt, bool last_range)
{
	uint8_t flag = (uint8_t)(pkt->info.pkt_id >> 8);

	if (flag & RNDIS_PKTINFO_1ST_FRAG) {
		rsc_drop(q, chan, "coalesced frame cut short by a new one");
		if (!q->rsc.iov &&
		    !(q->rsc.iov = calloc(NETVSC_RSC_FRAGS + 1,
					  sizeof(*q->rsc.iov)))) {
			rsc_drop(q, chan, "!no memory for a coalesced frame");
			return;
		}
		memset(&q->rsc.meta, 0, sizeof(q->rsc.meta));
		ovb_rndis_rx_to_meta(&pkt->info, &q->rsc.meta);
		q->rsc.tcp_ok = (pkt->info.present & OVB_RNDIS_PPI_CSUM) &&
				(pkt->info.csum & NDIS_RXCSUM_INFO_TCPCS_OK);
		q->rsc.len = q->rsc.nfrag = 0;
		q->rsc.open = true;
	} else if (!q->rsc.open) {
		rsc_drop(q, chan, "!coalesced-frame fragment without a first");
		return;
	}
	if (q->rsc.nfrag >= NETVSC_RSC_FRAGS ||
	    pkt->frame_len > NETVSC_RSC_FRAME - q->rsc.len) {
		rsc_drop(q, chan, "coalesced frame too long");
		return;
	}
	q->rsc.nfrag++;
	q->rsc.iov[q->rsc.nfrag].iov_base = (void *)(uintptr_t)pkt->frame;
	q->rsc.iov[q->rsc.nfrag].iov_len = pkt->frame_len;
	q->rsc.len += pkt->frame_len;
	if (flag & RNDIS_PKTINFO_LAST_FRAG)
		rsc_deliver(q, chan);
	else if (last_range)
		rsc_drop(q, chan, "coalesced frame continues past its packet");
}

static void rx_range(struct netvsc_q *q, struct ovb_chan *chan,
		     const uint8_t *msg, uint32_t len, bool last_range)
{
	struct ovb_netvsc *n = q->n;
	struct ovb_rndis_packet pkt;
	struct ovb_net_meta meta;
	uint32_t type;

	if (len < 8) {
		rsc_drop(q, chan, "coalesced frame cut short");
		bad(n, chan, "transfer range too short for RNDIS");
		return;
	}
	memcpy(&type, msg, 4);
	if (type != RNDIS_MSG_PACKET) {
		rsc_drop(q, chan, "coalesced frame cut short");
		rx_control(n, chan, msg, len);
		return;
	}
	if (ovb_rndis_packet_parse(msg, len, &pkt) || !pkt.frame_len ||
	    (pkt.frame_len < 14 &&
	     !(pkt.info.present & OVB_RNDIS_PPI_PKT_ID))) {
		rsc_drop(q, chan, "coalesced frame cut short");
		bad(n, chan, "malformed RNDIS PACKET");
		return;
	}
	if ((pkt.info.present & OVB_RNDIS_PPI_PKT_ID) &&
	    ((pkt.info.pkt_id >> 8) & RNDIS_PKTINFO_SUBALLOC)) {
		if (!n->info.rsc) {
			bad(n, chan, "coalesced frame we did not ask for");
			return;
		}
		rsc_fragment(q, chan, &pkt, last_range);
		return;
	}
	if (q->rsc.open) /* the plain frame's case skips the call */
		rsc_drop(q, chan, "coalesced frame cut short");
	if (pkt.frame_len < 14) {
		bad(n, chan, "malformed RNDIS PACKET");
		return;
	}
	memset(&meta, 0, sizeof(meta));
	ovb_rndis_rx_to_meta(&pkt.info, &meta);
	netvsc__count(&q->rx_frames, 1);
	netvsc__count(&q->rx_bytes, pkt.frame_len);
	if (n->p.rx)
		n->p.rx(n->p.ctx, q->idx, pkt.frame, pkt.frame_len, &meta);
}

/* Complete a receive; what the ring cannot take now is retried later. */
static void rx_complete(struct netvsc_q *q, uint64_t xid)
{
	union nvsp_message c = { 0 };
	struct ovb_send s = { .type = VM_PKT_COMP, .flags = OVB_SEND_NONBLOCK,
			      .data = &c, .len = sizeof(c) };

	c.rndis_pkt_complete.hdr.msg_type =
		NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	c.rndis_pkt_complete.status = NVSP_STAT_SUCCESS;

	while (q->npending) {
		s.xid = q->pending[0];
		if (ovb_chan_send(q->chan, &s))
			break;
		memmove(q->pending, q->pending + 1,
			--q->npending * sizeof(q->pending[0]));
	}
	s.xid = xid;
	if (!q->npending && !ovb_chan_send(q->chan, &s))
		return;
	if (q->npending < NETVSC_PENDING)
		q->pending[q->npending++] = xid;
	else
		bad(q->n, q->chan, "receive completions lost: ring full");
}

static void rx_xfer(struct netvsc_q *q, struct ovb_chan *chan,
		    const struct ovb_pkt *pkt)
{
	struct ovb_netvsc *n = q->n;
	struct ovb_nvsp_msg m;

	if (ovb_nvsp_parse(pkt->data, pkt->len, OVB_NVSP_TO_GUEST, n->nvsp,
			   &m) || m.type != NVSP_MSG1_TYPE_SEND_RNDIS_PKT) {
		bad(n, chan, "transfer pages without SEND_RNDIS_PKT");
		goto done;
	}
	if (pkt->xfer_pageset_id != NVSP_RECEIVE_BUFFER_ID || !n->rxbuf) {
		bad(n, chan, "transfer pages of an unknown pageset");
		goto done;
	}
	for (uint32_t i = 0; i < pkt->xfer_cnt; i++) {
		struct vmtransfer_page_range r;

		memcpy(&r, &pkt->xfer[i], sizeof(r));
		if (r.byte_offset > n->rxlen ||
		    r.byte_count > n->rxlen - r.byte_offset) {
			rsc_drop(q, chan, "coalesced frame cut short");
			bad(n, chan, "transfer range outside the receive "
				     "buffer");
			continue;
		}
		/*
		 * Ranges may share a sub-allocation (packed) but none is
		 * longer than one: Linux netvsc_receive drops it ("Packet
		 * too big"), so a host must not send it.
		 */
		if (r.byte_count > n->rx_section) {
			rsc_drop(q, chan, "coalesced frame cut short");
			bad(n, chan, "transfer range longer than a "
				     "sub-allocation");
			continue;
		}
		rx_range(q, chan, n->rxbuf + r.byte_offset, r.byte_count,
			 i == pkt->xfer_cnt - 1);
	}
	rsc_drop(q, chan, "coalesced frame continues past its packet");
done:
	if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		rx_complete(q, pkt->xid);
	/*
	 * A queue that reads its own source: what these frames made the
	 * stack queue (ACKs, the next data) goes out now, not after the
	 * rest of the drain.
	 */
	if (__atomic_load_n(&q->src_fn, __ATOMIC_RELAXED) && !netvsc__src_q)
		netvsc__source_run(q);
}

void netvsc__recv(struct ovb_chan *chan, const struct ovb_pkt *pkt, void *ctx)
{
	struct netvsc_q *q = ctx;
	struct ovb_netvsc *n = q->n;
	struct ovb_nvsp_msg m;

	switch (pkt->type) {
	case VM_PKT_DATA_USING_XFER_PAGES:
		netvsc__in_recv++;
		rx_xfer(q, chan, pkt);
		netvsc__in_recv--;
		return;
	case VM_PKT_DATA_INBAND:
		if (ovb_nvsp_parse(pkt->data, pkt->len, OVB_NVSP_TO_GUEST,
				   n->nvsp, &m)) {
			bad(n, chan, "malformed in-band NVSP message");
			return;
		}
		if (m.type == NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE) {
			for (uint32_t i = 0; i < m.u.indirection_table.count &&
					     i < NVSP_SEND_INDIRECTION_TABLE_SIZE;
			     i++)
				n->send_table[i] = m.u.indirection_table.table[i];
		}
		return; /* VF association and the like: nothing to do */
	default:
		bad(n, chan, "unexpected packet type");
	}
}
