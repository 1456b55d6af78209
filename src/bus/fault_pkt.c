// SPDX-License-Identifier: MIT
/*
 * The fault engine's ring-packet side: what each mode does to a packet a
 * host channel is about to write (descriptor lengths, transaction ids,
 * transfer-page ranges, NVSP and VSTOR fields, random flips), packets it
 * drops or adds, rescinds and link closes it starts from there, and the
 * RNDIS lies written into a guest's receive buffer.  Called by
 * ovb_chan_send (chan_io.c) for host channels and by netvsp.  It reads
 * the channel's insides (chan_priv.h) for two things only: the device the
 * channel serves (chan->tap) and the control page to scribble on.
 * Layer: bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/chan_priv.h"
#include "bus/fault_priv.h"
#include "openvmbus/atomic.h"
#include "openvmbus/log.h"
#include "openvmbus/wire/nvsp.h"
#include "openvmbus/wire/rndis.h"
#include "openvmbus/wire/vstor.h"

/* A packet the engine sends itself does not meet the faults again. */
static __thread bool in_fault;

struct pkt_ctx {
	struct ovb_vsp_dev *dev;
	struct ovb_partition *part;
	uint8_t *buf;      /* flat copy of the packet, made on first change */
	const struct iovec *iov;
	int n;
	size_t total;
	struct vmpacket_descriptor d; /* as the device framed it */
	uint64_t pktno;    /* host->guest packets of this channel so far */
	bool drop, scribble, rescind, rescind_other, close_link;
	unsigned int strays;
	char what[200];
};

static uint8_t *pkt_buf(struct pkt_ctx *c)
{
	size_t off = 0;

	if (c->buf)
		return c->buf;
	c->buf = malloc(c->total);
	if (!c->buf)
		return NULL;
	for (int i = 0; i < c->n; i++) {
		memcpy(c->buf + off, c->iov[i].iov_base, c->iov[i].iov_len);
		off += c->iov[i].iov_len;
	}
	return c->buf;
}

/* The payload (after offset8), or NULL if shorter than @need. */
static uint8_t *pkt_payload(struct pkt_ctx *c, size_t need)
{
	size_t off = (size_t)c->d.offset8 * 8;
	uint8_t *b;

	if (off + need > c->total || !(b = pkt_buf(c)))
		return NULL;
	return b + off;
}

/* A u32 of the payload at @off, read from the framed vectors. */
static bool payload_u32(struct pkt_ctx *c, size_t off, uint32_t *v)
{
	uint8_t *p = pkt_payload(c, off + 4);

	if (!p)
		return false;
	memcpy(v, p + off, 4);
	return true;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static bool is_dev(const struct pkt_ctx *c, const char *vsp)
{
	return !strcmp(c->dev->ops->name, vsp);
}

/* nvsp-lie: rewrite the fields of an NVSP message that say where and how
 * much.  Returns false if this message type has none. */
static bool nvsp_lie(struct pkt_ctx *c, uint32_t type, char *w, size_t wl)
{
	uint8_t *p;

	switch (type) {
	case NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE:
		if (!(p = pkt_payload(c, 28)))
			return false;
		put32(p + 12, 0xfffff000u); /* offset */
		put32(p + 16, 0x7fffffffu); /* sub_alloc_size */
		put32(p + 20, 0x10000u);    /* num_sub_allocs */
		put32(p + 24, 16);          /* end_offset */
		snprintf(w, wl, "RECV_BUF_COMPLETE section offset 0xfffff000 "
			 "sub_alloc 0x7fffffff x 0x10000 end 16");
		return true;
	case NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE:
		if (!(p = pkt_payload(c, 12)))
			return false;
		put32(p + 8, 0xffffff00u);
		snprintf(w, wl, "SEND_BUF_COMPLETE section_size 0xffffff00");
		return true;
	case NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE:
		if (!(p = pkt_payload(c, 12)))
			return false;
		put32(p + 4, 0xffffu);
		put32(p + 8, 0xfffffff0u);
		snprintf(w, wl, "SEND_INDIRECTION_TABLE count 0xffff offset "
			 "0xfffffff0");
		return true;
	case NVSP_MSG5_TYPE_SUBCHANNEL:
		if (!(p = pkt_payload(c, 12)))
			return false;
		put32(p + 8, 0xffffu);
		snprintf(w, wl, "SUBCHANNEL completion num_subchannels 0xffff");
		return true;
	default:
		return false;
	}
}

/* vstor-length and sense-len: a COMPLETE_IO that answers an SRB. */
static uint8_t *vstor_srb_reply(struct pkt_ctx *c)
{
	uint32_t op;
	uint8_t *p;

	if (c->d.type != VM_PKT_COMP || !is_dev(c, "storvsp") ||
	    !payload_u32(c, 0, &op) || op != VSTOR_OPERATION_COMPLETE_IO)
		return NULL;
	p = pkt_payload(c, 12 + 36);
	if (!p || (!p[12] && !p[13])) /* srb.length 0: not an SRB reply */
		return NULL;
	return p + 12;
}

/* Does packet-fault @i apply, and count it?  Then fire.  lock held. */
static bool due(struct pkt_ctx *c, unsigned int i, uint64_t *nr)
{
	return ovb__fault_due(i, c->part->id, c->dev->relid, nr);
}

static void pkt_fault(unsigned int i, struct pkt_ctx *c)
{
	const struct ovb_fault_spec *sp = &fault_st.f[i].spec;
	char *w = c->what;
	size_t wl = sizeof(c->what);
	struct fault_stream *s;
	uint32_t v = 0;
	uint64_t nr, h;
	uint8_t *p;

	w[0] = 0;
	if (!ovb__fault_match(sp, c->part, c->dev))
		return;
	switch (sp->mode) {
	case OVB_FAULT_SILENT:
		s = ovb__fault_stream(c->part->id, sp->relid || sp->device[0]
			? c->dev->relid : FAULT_WHOLE, i);
		if (s && s->silenced) {
			c->drop = true;
			return;
		}
		if (!s || !due(c, i, &nr))
			return;
		s->silenced = true;
		c->drop = true;
		snprintf(w, wl, "from this packet on, %s says nothing",
			 sp->relid || sp->device[0] ? "this channel"
						    : "the partition");
		break;
	case OVB_FAULT_RING_INDEX:
		if (!due(c, i, &nr))
			return;
		c->scribble = true;
		snprintf(w, wl, "after this packet: write_index -> size+8, "
			 "read_index -> 0x13");
		break;
	case OVB_FAULT_PKT_LEN:
		if (!due(c, i, &nr) || !(p = pkt_buf(c)))
			return;
		((struct vmpacket_descriptor *)(void *)p)->len8 = 0xffff;
		snprintf(w, wl, "len8 %u -> 0xffff (%zu bytes written)",
			 c->d.len8, c->total);
		break;
	case OVB_FAULT_BAD_XID:
		if (c->d.type != VM_PKT_COMP || !due(c, i, &nr) ||
		    !(p = pkt_buf(c)))
			return;
		h = c->d.trans_id ^ (0x3fffffull << 24) ^ 0x5a5a;
		((struct vmpacket_descriptor *)(void *)p)->trans_id = h;
		snprintf(w, wl, "completion xid %#llx -> %#llx",
			 (unsigned long long)c->d.trans_id,
			 (unsigned long long)h);
		break;
	case OVB_FAULT_STRAY_COMP:
		if (!due(c, i, &nr))
			return;
		c->strays = 3;
		snprintf(w, wl, "before this packet: 3 completions for xids "
			 "never sent (tagged, 0, random)");
		break;
	case OVB_FAULT_XFER_RANGE:
		if (c->d.type != VM_PKT_DATA_USING_XFER_PAGES ||
		    c->total < 32 || !due(c, i, &nr) || !(p = pkt_buf(c)))
			return;
		put32(p + 24, 0x10000u);
		put32(p + 28, 0xfffff000u);
		snprintf(w, wl, "transfer range 0: offset 0xfffff000, count "
			 "0x10000");
		break;
	case OVB_FAULT_NVSP_LIE:
		if (!is_dev(c, "netvsp") || !payload_u32(c, 0, &v) ||
		    !(v == NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE ||
		      v == NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE ||
		      v == NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE ||
		      v == NVSP_MSG5_TYPE_SUBCHANNEL) ||
		    !due(c, i, &nr) || !nvsp_lie(c, v, w, wl))
			return;
		break;
	case OVB_FAULT_VSTOR_LENGTH:
		if (!(p = vstor_srb_reply(c)) || !due(c, i, &nr))
			return;
		memcpy(&v, p + 12, 4);
		put32(p + 12, 0x7ffff000u);
		snprintf(w, wl, "COMPLETE_IO data_transfer_length %u -> "
			 "0x7ffff000", v);
		break;
	case OVB_FAULT_SENSE_LEN:
		if (!(p = vstor_srb_reply(c)) || !due(c, i, &nr))
			return;
		p[2] = VSTOR_SRB_STATUS_ERROR |
		       VSTOR_SRB_STATUS_AUTOSENSE_VALID;
		p[3] = 0x02; /* CHECK CONDITION */
		p[9] = 0xff;
		snprintf(w, wl, "COMPLETE_IO CHECK CONDITION with "
			 "sense_info_length 255");
		break;
	case OVB_FAULT_RESCIND_IO:
		if (c->d.type != VM_PKT_COMP || !due(c, i, &nr))
			return;
		c->drop = c->rescind = true;
		snprintf(w, wl, "completion xid %#llx dropped, channel "
			 "rescinded", (unsigned long long)c->d.trans_id);
		break;
	case OVB_FAULT_RESCIND_UNKNOWN:
		if (!due(c, i, &nr))
			return;
		c->rescind_other = true;
		snprintf(w, wl, "after this packet: RESCIND of relid %u, never "
			 "offered", ovb__fault_unknown_relid(c->part));
		break;
	case OVB_FAULT_LINK_CLOSE:
		if (c->d.type != VM_PKT_COMP || !due(c, i, &nr))
			return;
		c->drop = c->close_link = true;
		snprintf(w, wl, "completion xid %#llx dropped, link closed%s",
			 (unsigned long long)c->d.trans_id,
			 c->part->ops->disconnect ? ""
						  : " (link cannot close)");
		break;
	case OVB_FAULT_VERSION_LIE:
		if (!is_dev(c, "netvsp") || !payload_u32(c, 0, &v) ||
		    v != NVSP_MSG_TYPE_INIT_COMPLETE ||
		    !(p = pkt_payload(c, 16)) || !due(c, i, &nr))
			return;
		put32(p + 4, 0x00ff0001u);
		put32(p + 12, NVSP_STAT_SUCCESS);
		snprintf(w, wl, "NVSP INIT_COMPLETE: success, negotiated "
			 "0x00ff0001 (never proposed)");
		break;
	case OVB_FAULT_RANDOM:
		nr = c->pktno;
		if (!ovb__fault_random(sp, c->part->id, c->dev->relid, nr,
				       &h) || !(p = pkt_buf(c)))
			return;
		ovb__fault_flip(p, c->total, h, w, wl);
		__atomic_fetch_add(&fault_st.fired, 1, __ATOMIC_RELAXED);
		break;
	default:
		return;
	}
	ovb__fault_log(sp->mode, c->part, c->dev->relid, c->pktno, w);
}

/* Completions for transactions the guest never started. */
static void send_strays(struct ovb_chan *chan, const struct pkt_ctx *c)
{
	static const uint8_t junk[64] = { 1, 0, 0, 0, 0xff };
	const uint64_t xids[3] = { REQ_TAG | 0xabcdull << 24 | 4095, 0,
				   ovb__fault_mix(c->pktno) };

	for (unsigned int i = 0; i < c->strays; i++)
		ovb_chan_send_comp(chan, xids[i], junk, sizeof(junk));
}

bool ovb__fault_pkt(struct ovb_chan *chan, const struct iovec *iov, int n,
		    size_t total, struct ovb_fault_pkt *f)
{
	struct pkt_ctx c = { .dev = chan->tap, .iov = iov, .n = n,
			     .total = total };
	struct fault_stream *gen;

	if (!c.dev || in_fault || iov[0].iov_len < sizeof(c.d))
		return false;
	c.part = c.dev->part;
	memcpy(&c.d, iov[0].iov_base, sizeof(c.d));
	pthread_mutex_lock(&fault_st.lock);
	gen = ovb__fault_stream(c.part->id, c.dev->relid, FAULT_MAX);
	c.pktno = gen ? gen->n++ : 0;
	for (unsigned int i = 0; i < fault_st.n; i++)
		pkt_fault(i, &c);
	pthread_mutex_unlock(&fault_st.lock);

	in_fault = true;
	if (c.strays)
		send_strays(chan, &c);
	if (c.rescind)
		ovb__fault_rescind(c.part, c.dev->relid);
	if (c.rescind_other)
		ovb__fault_rescind(c.part, ovb__fault_unknown_relid(c.part));
	if (c.close_link && c.part->ops->disconnect)
		c.part->ops->disconnect(c.part->link, "fault: link-close");
	in_fault = false;

	memset(f, 0, sizeof(*f));
	f->buf = c.buf;
	f->iov = (struct iovec){ c.buf, total };
	f->drop = c.drop;
	f->scribble = c.scribble;
	return f->buf || f->drop || f->scribble;
}

bool ovb__fault_pkt_done(struct ovb_chan *chan, struct ovb_fault_pkt *f,
			 int rc)
{
	free(f->buf);
	f->buf = NULL;
	if (!f->scribble || rc)
		return false;
	/* The host owns write_index; read_index is the guest's, but the
	 * page is shared and a hostile host writes where it likes. */
	__atomic_store_n(OVB_U32(chan->out.ctl->write_index), chan->out.size + 8,
			 __ATOMIC_RELEASE);
	__atomic_store_n(OVB_U32(chan->out.ctl->read_index), 0x13u,
			 __ATOMIC_RELEASE);
	return true;
}

/* rndis-lie: lengths and offsets that point outside the message. */
void ovb__fault_rndis(struct ovb_chan *chan, void *msg, size_t len)
{
	struct ovb_vsp_dev *dev = chan->tap;
	uint8_t *p = msg;
	uint32_t type;
	uint64_t nr = 0;
	char w[160] = "";
	bool fire = false;

	if (!dev || len < 8)
		return;
	memcpy(&type, p, 4);
	pthread_mutex_lock(&fault_st.lock);
	for (unsigned int i = 0; i < fault_st.n && !fire; i++)
		fire = fault_st.f[i].spec.mode == OVB_FAULT_RNDIS_LIE &&
		       ovb__fault_match(&fault_st.f[i].spec, dev->part, dev) &&
		       ovb__fault_due(i, dev->part->id, dev->relid, &nr);
	pthread_mutex_unlock(&fault_st.lock);
	if (!fire)
		return;
	if (type == RNDIS_MSG_PACKET && len >= 16) {
		/* data_offset + data_len wraps round 2^32 to a small number */
		put32(p + 8, 0xfffffff0u);
		put32(p + 12, 0x40u);
		snprintf(w, sizeof(w), "RNDIS PACKET data_offset 0xfffffff0 "
			 "data_len 0x40 (the sum wraps)");
	} else if (type == RNDIS_MSG_QUERY_C && len >= 24) {
		put32(p + 16, 0x1000u);
		put32(p + 20, 0xffffffe0u);
		snprintf(w, sizeof(w), "RNDIS QUERY_CMPLT info_buflen 0x1000 "
			 "info_buf_offset 0xffffffe0");
	} else {
		put32(p + 4, (uint32_t)len + 0x10000u);
		snprintf(w, sizeof(w), "RNDIS %#x msg_len %zu -> %zu", type,
			 len, len + 0x10000u);
	}
	ovb__fault_log(OVB_FAULT_RNDIS_LIE, dev->part, dev->relid, nr, w);
}
