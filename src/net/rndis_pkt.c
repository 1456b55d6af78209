// SPDX-License-Identifier: MIT
/*
 * RNDIS PACKET messages: validation of the data, OOB and per-packet-info
 * areas and of every PPI record, the builder, and the translation between
 * PPIs and struct ovb_net_meta in both directions.  Layer: devices (shared
 * by netvsp and netvsc).  Spec: wire/rndis.h (PPI value layouts from
 * Linux hyperv_net.h and FreeBSD ndis.h), docs/wire.md B9.
 *
 * Area offsets count from byte 8 of the message and must be at least
 * RNDIS_PACKET_OFFSET_MIN; ppi_offset counts from its record.  Hyper-V does
 * not align data offsets, so neither do we require it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "net/rndis.h"

#define PKT_BODY 8u
#define PPI_LEN (sizeof(struct rndis_ppi) + 4u) /* a record with a u32 */

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Absolute start of an area if it lies after the fixed fields, in @mlen. */
static int pkt_area(uint32_t off, uint32_t len, uint32_t mlen, uint64_t *abs)
{
	if (off < RNDIS_PACKET_OFFSET_MIN)
		return -EBADMSG;
	*abs = (uint64_t)off + PKT_BODY;
	if (*abs + len > mlen)
		return -EBADMSG;
	return 0;
}

static int pkt_overlap(uint64_t a, uint32_t alen, uint64_t b, uint32_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* The ovb_rndis_pktinfo bit a PPI type decodes to, 0 if ignored. */
static uint32_t pkt_ppi_bit(uint32_t type)
{
	if (type & RNDIS_PPI_INTERNAL)
		return (type & RNDIS_PPI_TYPE_MASK) ==
				       RNDIS_PPI_INTERNAL_PKTINFO_ID ?
			       OVB_RNDIS_PPI_PKT_ID : 0;
	switch (type) {
	case NDIS_PPI_CHECKSUM:
		return OVB_RNDIS_PPI_CSUM;
	case NDIS_PPI_LSO:
		return OVB_RNDIS_PPI_LSO;
	case NDIS_PPI_8021Q:
		return OVB_RNDIS_PPI_VLAN;
	case NDIS_PPI_HASH_INFO:
		return OVB_RNDIS_PPI_HASH_INFO;
	case NDIS_PPI_HASH_VALUE:
		return OVB_RNDIS_PPI_HASH_VALUE;
	default:
		return 0;
	}
}

static uint32_t *pkt_ppi_slot(struct ovb_rndis_pktinfo *info, uint32_t bit)
{
	switch (bit) {
	case OVB_RNDIS_PPI_CSUM:
		return &info->csum;
	case OVB_RNDIS_PPI_LSO:
		return &info->lso;
	case OVB_RNDIS_PPI_VLAN:
		return &info->vlan;
	case OVB_RNDIS_PPI_HASH_VALUE:
		return &info->hash_value;
	case OVB_RNDIS_PPI_HASH_INFO:
		return &info->hash_info;
	default:
		return &info->pkt_id;
	}
}

/* Walk the PPI records of an area of @len bytes. */
static int pkt_parse_ppis(const uint8_t *p, uint32_t len,
			  struct ovb_rndis_pktinfo *info)
{
	uint32_t size, type, off, bit;

	while (len) {
		if (len < sizeof(struct rndis_ppi))
			return -EBADMSG;
		size = ld32(p);
		type = ld32(p + 4);
		off = ld32(p + 8);
		if (size < sizeof(struct rndis_ppi) || size > len ||
		    off < sizeof(struct rndis_ppi) || off > size)
			return -EBADMSG;
		bit = pkt_ppi_bit(type);
		if (bit) {
			if (size - off < 4)
				return -EBADMSG;
			if (!(info->present & bit)) {
				*pkt_ppi_slot(info, bit) = ld32(p + off);
				info->present |= bit;
			}
		}
		p += size;
		len -= size;
	}
	return 0;
}

int ovb_rndis_packet_parse(const void *buf, size_t len,
			   struct ovb_rndis_packet *pkt)
{
	const uint8_t *p = buf;
	uint32_t mlen, dlen, olen, plen;
	uint64_t dabs, oabs = 0, pabs;
	int rc;

	if (!buf || !pkt)
		return -EINVAL;
	memset(pkt, 0, sizeof(*pkt));
	if (len < sizeof(struct rndis_packet) || ld32(p) != RNDIS_MSG_PACKET)
		return -EBADMSG;
	mlen = ld32(p + 4);
	dlen = ld32(p + 12);
	olen = ld32(p + 20);
	plen = ld32(p + 32);
	if (mlen < sizeof(struct rndis_packet) || mlen > len || !dlen ||
	    pkt_area(ld32(p + 8), dlen, mlen, &dabs))
		return -EBADMSG;
	if (olen && (pkt_area(ld32(p + 16), olen, mlen, &oabs) ||
		     pkt_overlap(oabs, olen, dabs, dlen)))
		return -EBADMSG;
	if (plen) {
		if (pkt_area(ld32(p + 28), plen, mlen, &pabs) ||
		    pkt_overlap(pabs, plen, dabs, dlen) ||
		    pkt_overlap(pabs, plen, oabs, olen))
			return -EBADMSG;
		rc = pkt_parse_ppis(p + pabs, plen, &pkt->info);
		if (rc)
			return rc;
	}
	pkt->frame = p + dabs;
	pkt->frame_len = dlen;
	pkt->msg_len = mlen;
	return 0;
}

/* PPIs we emit, in wire order, with their types. */
static const struct {
	uint32_t bit, type;
} pkt_emit[] = {
	{ OVB_RNDIS_PPI_CSUM, NDIS_PPI_CHECKSUM },
	{ OVB_RNDIS_PPI_LSO, NDIS_PPI_LSO },
	{ OVB_RNDIS_PPI_VLAN, NDIS_PPI_8021Q },
	{ OVB_RNDIS_PPI_HASH_INFO, NDIS_PPI_HASH_INFO },
	{ OVB_RNDIS_PPI_HASH_VALUE, NDIS_PPI_HASH_VALUE },
	{ OVB_RNDIS_PPI_PKT_ID,
	  RNDIS_PPI_INTERNAL | RNDIS_PPI_INTERNAL_PKTINFO_ID },
};
#define PKT_NEMIT (sizeof(pkt_emit) / sizeof(pkt_emit[0]))

size_t ovb_rndis_packet_header_len(const struct ovb_rndis_pktinfo *info)
{
	size_t n = sizeof(struct rndis_packet);

	if (!info || !info->present)
		return n; /* a plain frame, every frame of a 64 B stream */
	for (size_t i = 0; i < PKT_NEMIT; i++)
		if (info->present & pkt_emit[i].bit)
			n += PPI_LEN;
	return n;
}

ssize_t ovb_rndis_packet_build_header_pad(void *buf, size_t cap,
					  uint32_t frame_len,
					  const struct ovb_rndis_pktinfo *info,
					  size_t pad)
{
	struct ovb_rndis_pktinfo copy;
	size_t hl;
	uint32_t plen;
	uint8_t *p = buf, *rec;

	if (!buf || !frame_len || pad % 4 || pad > cap)
		return -EINVAL;
	/* The common case, a frame without PPIs: the fixed header alone. */
	if (!info || !info->present) {
		hl = sizeof(struct rndis_packet) + pad;
		if (cap < hl || (uint64_t)hl + frame_len > UINT32_MAX)
			return -EMSGSIZE;
		memset(p, 0, hl);
		st32(p, RNDIS_MSG_PACKET);
		st32(p + 4, (uint32_t)hl + frame_len);
		st32(p + 8, (uint32_t)hl - PKT_BODY);
		st32(p + 12, frame_len);
		return (ssize_t)hl;
	}
	copy = *info;
	hl = ovb_rndis_packet_header_len(&copy);
	plen = (uint32_t)(hl - sizeof(struct rndis_packet));
	hl += pad;
	if (cap < hl || (uint64_t)hl + frame_len > UINT32_MAX)
		return -EMSGSIZE;
	memset(p, 0, hl);
	st32(p, RNDIS_MSG_PACKET);
	st32(p + 4, (uint32_t)hl + frame_len);
	st32(p + 8, (uint32_t)hl - PKT_BODY);
	st32(p + 12, frame_len);
	if (plen) {
		st32(p + 28, RNDIS_PACKET_OFFSET_MIN);
		st32(p + 32, plen);
	}
	rec = p + sizeof(struct rndis_packet);
	for (size_t i = 0; i < PKT_NEMIT; i++) {
		if (!(copy.present & pkt_emit[i].bit))
			continue;
		st32(rec, PPI_LEN);
		st32(rec + 4, pkt_emit[i].type);
		st32(rec + 8, sizeof(struct rndis_ppi));
		st32(rec + 12, *pkt_ppi_slot(&copy, pkt_emit[i].bit));
		rec += PPI_LEN;
	}
	return (ssize_t)hl;
}

ssize_t ovb_rndis_packet_build_header(void *buf, size_t cap,
				      uint32_t frame_len,
				      const struct ovb_rndis_pktinfo *info)
{
	return ovb_rndis_packet_build_header_pad(buf, cap, frame_len, info, 0);
}

ssize_t ovb_rndis_packet_build(void *buf, size_t cap, const void *frame,
			       uint32_t frame_len,
			       const struct ovb_rndis_pktinfo *info)
{
	ssize_t hl;

	if (!frame)
		return -EINVAL;
	hl = ovb_rndis_packet_build_header(buf, cap, frame_len, info);
	if (hl < 0)
		return hl;
	if (cap - (size_t)hl < frame_len)
		return -EMSGSIZE;
	memcpy((uint8_t *)buf + hl, frame, frame_len);
	return hl + (ssize_t)frame_len;
}

/* Copy VLAN and hash PPIs, common to both directions, into @meta. */
static void pkt_common_to_meta(const struct ovb_rndis_pktinfo *info,
			       struct ovb_net_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	if (info->present & OVB_RNDIS_PPI_VLAN) {
		meta->flags |= OVB_NET_META_VLAN;
		meta->vlan_tci = ovb_rndis_vlan_to_tci(info->vlan);
	}
	if (info->present & OVB_RNDIS_PPI_HASH_VALUE) {
		meta->flags |= OVB_NET_META_HASH;
		meta->hash = info->hash_value;
		if (info->present & OVB_RNDIS_PPI_HASH_INFO)
			meta->hash_type = info->hash_info & NDIS_HASH_TYPE_MASK;
	}
}

int ovb_rndis_tx_to_meta(const struct ovb_rndis_pktinfo *info,
			 const void *frame, size_t len,
			 struct ovb_net_meta *meta)
{
	struct ovb_net_hdrs h;
	uint32_t v, thoff, field, mss;

	pkt_common_to_meta(info, meta);
	/* A plain frame (no offload asked for) needs no header parse. */
	if (!(info->present & (OVB_RNDIS_PPI_LSO | OVB_RNDIS_PPI_CSUM)))
		return 0;
	ovb_offload_parse(frame, len, &h);
	if (info->present & OVB_RNDIS_PPI_LSO) {
		v = info->lso;
		mss = v & NDIS_LSO2_INFO_MSS_MASK;
		thoff = (v & NDIS_LSO2_INFO_THOFF_MASK) >>
			NDIS_LSO2_INFO_THOFF_SHIFT;
		if (!thoff)
			thoff = h.l4_off;
		if (!thoff || thoff + 20u > len || !mss || mss > UINT16_MAX)
			return -EBADMSG;
		meta->gso_type = (v & NDIS_LSO2_INFO_ISIPV6) ?
					 OVB_NET_GSO_TCPV6 : OVB_NET_GSO_TCPV4;
		meta->gso_size = (uint16_t)mss;
		meta->hdr_len = h.l4_off == thoff ? h.payload_off : 0;
		meta->flags |= OVB_NET_META_CSUM_PARTIAL;
		meta->csum_start = (uint16_t)thoff;
		meta->csum_offset = 16;
		return 0;
	}
	if (!(info->present & OVB_RNDIS_PPI_CSUM))
		return 0;
	v = info->csum;
	if (v & NDIS_TXCSUM_INFO_IPCS)
		meta->flags |= OVB_NET_META_IP4_CSUM;
	if (!(v & (NDIS_TXCSUM_INFO_TCPCS | NDIS_TXCSUM_INFO_UDPCS)))
		return 0;
	thoff = (v & NDIS_TXCSUM_INFO_THOFF_MASK) >>
		NDIS_TXCSUM_INFO_THOFF_SHIFT;
	if (!thoff)
		thoff = h.l4_off;
	field = (v & NDIS_TXCSUM_INFO_TCPCS) ? 16 : 6;
	if (!thoff || thoff + field + 2 > len)
		return -EBADMSG;
	meta->flags |= OVB_NET_META_CSUM_PARTIAL;
	meta->csum_start = (uint16_t)thoff;
	meta->csum_offset = (uint16_t)field;
	return 0;
}

int ovb_rndis_meta_to_tx(const struct ovb_net_meta *meta, const void *frame,
			 size_t len, struct ovb_rndis_pktinfo *info)
{
	struct ovb_net_hdrs h;
	uint32_t v = 0;
	int want_v;

	memset(info, 0, sizeof(*info));
	if (meta->flags & OVB_NET_META_VLAN) {
		info->present |= OVB_RNDIS_PPI_VLAN;
		info->vlan = ovb_rndis_tci_to_vlan(meta->vlan_tci);
	}
	if (!meta->gso_type && !(meta->flags & (OVB_NET_META_CSUM_PARTIAL |
						OVB_NET_META_IP4_CSUM)))
		return 0;
	if (ovb_offload_parse(frame, len, &h) || !h.ip_version)
		return -EBADMSG;
	if (meta->gso_type) {
		want_v = meta->gso_type == OVB_NET_GSO_TCPV6 ? 6 : 4;
		if (h.ip_version != want_v || h.l4_proto != IPPROTO_TCP ||
		    !h.l4_off)
			return -EBADMSG;
		info->present |= OVB_RNDIS_PPI_LSO;
		info->lso = meta->gso_size | NDIS_LSO2_INFO_ISLSO2 |
			    (uint32_t)h.l4_off << NDIS_LSO2_INFO_THOFF_SHIFT |
			    (want_v == 6 ? NDIS_LSO2_INFO_ISIPV6 : 0);
		return 0;
	}
	v = h.ip_version == 4 ? NDIS_TXCSUM_INFO_IPV4 : NDIS_TXCSUM_INFO_IPV6;
	if (meta->flags & OVB_NET_META_IP4_CSUM) {
		if (h.ip_version != 4)
			return -EBADMSG;
		v |= NDIS_TXCSUM_INFO_IPCS;
	}
	if (meta->flags & OVB_NET_META_CSUM_PARTIAL) {
		if (!h.l4_off || meta->csum_start != h.l4_off)
			return -EBADMSG;
		if (h.l4_proto == IPPROTO_TCP && meta->csum_offset == 16)
			v |= NDIS_TXCSUM_INFO_TCPCS;
		else if (h.l4_proto == IPPROTO_UDP && meta->csum_offset == 6)
			v |= NDIS_TXCSUM_INFO_UDPCS;
		else
			return -EBADMSG;
		v |= (uint32_t)h.l4_off << NDIS_TXCSUM_INFO_THOFF_SHIFT;
	}
	info->present |= OVB_RNDIS_PPI_CSUM;
	info->csum = v;
	return 0;
}

void ovb_rndis_rx_to_meta(const struct ovb_rndis_pktinfo *info,
			  struct ovb_net_meta *meta)
{
	const uint32_t bad = NDIS_RXCSUM_INFO_TCPCS_FAILED |
			     NDIS_RXCSUM_INFO_UDPCS_FAILED |
			     NDIS_RXCSUM_INFO_IPCS_FAILED;
	const uint32_t good = NDIS_RXCSUM_INFO_TCPCS_OK |
			      NDIS_RXCSUM_INFO_UDPCS_OK;

	pkt_common_to_meta(info, meta);
	if ((info->present & OVB_RNDIS_PPI_CSUM) && !(info->csum & bad) &&
	    (info->csum & good))
		meta->flags |= OVB_NET_META_CSUM_VALID;
}

int ovb_rndis_meta_to_rx(const struct ovb_net_meta *meta, const void *frame,
			 size_t len, struct ovb_rndis_pktinfo *info)
{
	struct ovb_net_hdrs h;
	uint32_t v = 0;

	memset(info, 0, sizeof(*info));
	if (meta->gso_type ||
	    (meta->flags & (OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM)))
		return -EINVAL;
	if (meta->flags & OVB_NET_META_VLAN) {
		info->present |= OVB_RNDIS_PPI_VLAN;
		info->vlan = ovb_rndis_tci_to_vlan(meta->vlan_tci);
	}
	if (meta->flags & OVB_NET_META_HASH) {
		info->present |= OVB_RNDIS_PPI_HASH_VALUE |
				 OVB_RNDIS_PPI_HASH_INFO;
		info->hash_value = meta->hash;
		info->hash_info = NDIS_HASH_FUNCTION_TOEPLITZ |
				  (meta->hash_type & NDIS_HASH_TYPE_MASK);
	}
	if (!(meta->flags & OVB_NET_META_CSUM_VALID) ||
	    ovb_offload_parse(frame, len, &h))
		return 0;
	if (h.ip_version == 4)
		v |= NDIS_RXCSUM_INFO_IPCS_OK;
	if (h.l4_off && h.l4_proto == IPPROTO_TCP)
		v |= NDIS_RXCSUM_INFO_TCPCS_OK;
	else if (h.l4_off && h.l4_proto == IPPROTO_UDP)
		v |= NDIS_RXCSUM_INFO_UDPCS_OK;
	if (v) {
		info->present |= OVB_RNDIS_PPI_CSUM;
		info->csum = v;
	}
	return 0;
}
