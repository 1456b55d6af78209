// SPDX-License-Identifier: MIT
/*
 * Software network offloads: header parsing, RFC 1071 checksums (IPv4
 * header, TCP/UDP over IPv4/IPv6 with pseudo-header), TCP segmentation of
 * TSO frames as Linux GSO does it, and the conversion of offload headers
 * between NDIS and Linux/virtio conventions.  Layer: core.  (VLAN tags and
 * virtio-net headers are in offload_virtio.c.)
 *
 * Checksums are summed over bytes in memory order and stored back in native
 * order, which RFC 1071 shows to be byte-order independent; pseudo-headers
 * are therefore built as network-order byte arrays and summed the same way.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/byteorder.h"
#include "net/offload_priv.h"

#define ETH_HDR_LEN 14u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86DDu
#define ETHERTYPE_VLAN 0x8100u
#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_CWR 0x80u

/* Record a TCP or UDP header at @off if it fits inside the datagram. */
static void offload_set_l4(struct ovb_net_hdrs *h, const uint8_t *p,
			   uint32_t off)
{
	uint32_t hlen;

	if (h->l4_proto == IPPROTO_TCP) {
		if (off + 20 > h->l3_end)
			return;
		hlen = (uint32_t)(p[off + 12] >> 4) * 4;
		if (hlen < 20 || off + hlen > h->l3_end)
			return;
	} else if (h->l4_proto == IPPROTO_UDP) {
		hlen = 8;
		if (off + hlen > h->l3_end)
			return;
	} else {
		return;
	}
	h->l4_off = (uint16_t)off;
	h->payload_off = (uint16_t)(off + hlen);
}

static void offload_parse_ip4(const uint8_t *p, size_t len,
			      struct ovb_net_hdrs *h)
{
	const uint8_t *ip = p + h->l3_off;
	size_t avail = len - h->l3_off;
	uint32_t ihl, tot;

	if (avail < 20 || ip[0] >> 4 != 4)
		return;
	ihl = (uint32_t)(ip[0] & 0xf) * 4;
	tot = ovb_get_be16(ip + 2);
	if (tot == 0 || tot > avail)
		tot = (uint32_t)avail; /* LSO senders may leave it 0 */
	if (ihl < 20 || ihl > tot)
		return;
	h->ip_version = 4;
	h->l3_end = h->l3_off + tot;
	h->l4_proto = ip[9];
	if (ovb_get_be16(ip + 6) & 0x3fff)
		return; /* a fragment: no usable L4 header */
	offload_set_l4(h, p, h->l3_off + ihl);
}

static void offload_parse_ip6(const uint8_t *p, size_t len,
			      struct ovb_net_hdrs *h)
{
	const uint8_t *ip = p + h->l3_off;
	uint32_t off = h->l3_off + 40u, plen;
	uint8_t nh;

	if (len - h->l3_off < 40 || ip[0] >> 4 != 6)
		return;
	plen = ovb_get_be16(ip + 4);
	h->ip_version = 6;
	h->l3_end = off + plen;
	if (plen == 0 || h->l3_end > len)
		h->l3_end = (uint32_t)len;
	nh = ip[6];
	for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60); i++) {
		/* hop-by-hop, routing, destination options */
		if (off + 8 > h->l3_end)
			return;
		nh = p[off];
		off += (uint32_t)(p[off + 1] + 1) * 8;
		if (off > h->l3_end)
			return;
	}
	h->l4_proto = nh;
	offload_set_l4(h, p, off);
}

int ovb_offload_parse(const void *frame, size_t len, struct ovb_net_hdrs *h)
{
	const uint8_t *p = frame;

	memset(h, 0, sizeof(*h));
	if (!frame || len < ETH_HDR_LEN)
		return -EBADMSG;
	if (len > UINT16_MAX + 256u)
		len = UINT16_MAX + 256u; /* offsets are 16-bit */
	h->l3_off = ETH_HDR_LEN;
	h->ethertype = ovb_get_be16(p + 12);
	if (h->ethertype == ETHERTYPE_VLAN && len >= ETH_HDR_LEN + 4) {
		h->ethertype = ovb_get_be16(p + 16);
		h->l3_off += 4;
	}
	if (h->ethertype == ETHERTYPE_IPV4)
		offload_parse_ip4(p, len, h);
	else if (h->ethertype == ETHERTYPE_IPV6)
		offload_parse_ip6(p, len, h);
	return 0;
}

uint32_t ovb_offload_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	uint32_t w32;
	uint16_t w16 = 0;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w32, p, 4);
		acc += w32;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		w16 = 0;
		memcpy(&w16, p, 1); /* pad with a zero byte in memory order */
		acc += w16;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t ovb_offload_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

static void offload_ip4_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	uint16_t c;

	ip[10] = 0;
	ip[11] = 0;
	c = ovb_offload_csum_fold(ovb_offload_csum_add(0, ip, ihl));
	memcpy(ip + 10, &c, 2);
}

/* Partial sum of the IPv4/IPv6 pseudo-header for @l4_len L4 bytes. */
static uint32_t offload_pseudo_sum(const uint8_t *p,
				   const struct ovb_net_hdrs *h,
				   uint32_t l4_len)
{
	const uint8_t *ip = p + h->l3_off;
	uint8_t ph[40] = { 0 };

	if (h->ip_version == 4) {
		memcpy(ph, ip + 12, 8); /* source and destination */
		ph[9] = h->l4_proto;
		ovb_put_be16(ph + 10, l4_len);
		return ovb_offload_csum_add(0, ph, 12);
	}
	memcpy(ph, ip + 8, 32);
	ovb_put_be32(ph + 32, l4_len);
	ph[39] = h->l4_proto;
	return ovb_offload_csum_add(0, ph, 40);
}

static uint8_t *offload_l4_field(uint8_t *p, const struct ovb_net_hdrs *h)
{
	return p + h->l4_off + (h->l4_proto == IPPROTO_TCP ? 16 : 6);
}

/* Full TCP/UDP checksum over l4_off..l3_end, pseudo-header included. */
static void offload_l4_csum(uint8_t *p, const struct ovb_net_hdrs *h)
{
	uint32_t l4_len = h->l3_end - h->l4_off;
	uint32_t sum = offload_pseudo_sum(p, h, l4_len);
	uint8_t *field = offload_l4_field(p, h);
	uint16_t c;

	field[0] = 0;
	field[1] = 0;
	c = ovb_offload_csum_fold(ovb_offload_csum_add(sum, p + h->l4_off,
						       l4_len));
	if (c == 0 && h->l4_proto == IPPROTO_UDP)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	memcpy(field, &c, 2);
}

int ovb_offload_csum(void *frame, size_t len, struct ovb_net_meta *meta)
{
	uint8_t *p = frame;
	struct ovb_net_hdrs h;
	size_t start, field;
	uint32_t sum;
	uint16_t c;

	if (!frame || !meta)
		return -EINVAL;
	if (!(meta->flags &
	      (OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM)))
		return 0;
	if (ovb_offload_parse(frame, len, &h) < 0)
		return -EBADMSG;
	if (meta->flags & OVB_NET_META_IP4_CSUM) {
		if (h.ip_version != 4)
			return -EBADMSG;
		offload_ip4_csum(p + h.l3_off);
	}
	if (meta->flags & OVB_NET_META_CSUM_PARTIAL) {
		start = meta->csum_start;
		field = start + meta->csum_offset;
		if (field + 2 > len)
			return -EBADMSG;
		if (h.l4_off && h.l4_off == start &&
		    ((h.l4_proto == IPPROTO_TCP && meta->csum_offset == 16) ||
		     (h.l4_proto == IPPROTO_UDP && meta->csum_offset == 6))) {
			offload_l4_csum(p, &h);
		} else {
			/* virtio semantics: the field holds the seed */
			sum = ovb_offload_csum_add(0, p + start, len - start);
			c = ovb_offload_csum_fold(sum);
			memcpy(p + field, &c, 2);
		}
		meta->flags |= OVB_NET_META_CSUM_VALID;
	}
	meta->flags &= ~(OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM);
	return 0;
}

/* Store the seed virtio expects: the folded, uncomplemented pseudo sum. */
static void offload_seed(uint8_t *p, const struct ovb_net_hdrs *h,
			 uint32_t l4_len)
{
	uint16_t seed = (uint16_t)~ovb_offload_csum_fold(
		offload_pseudo_sum(p, h, l4_len));

	memcpy(offload_l4_field(p, h), &seed, 2);
}

/*
 * Parse and check that the frame is the TCP/UDP the metadata says.  TSO
 * offsets are recomputed from the frame, so only TCP and the IP version
 * must match; a checksum request must point at the L4 checksum field.
 * The IPv4 header checksum alone needs only an IPv4 header: FreeBSD's hn
 * asks for it on ICMP and on fragments too.
 */
static int offload_check(const void *frame, size_t len,
			 const struct ovb_net_meta *meta,
			 struct ovb_net_hdrs *h)
{
	int want;

	if (ovb_offload_parse(frame, len, h))
		return -EBADMSG;
	if (!meta->gso_type && !(meta->flags & OVB_NET_META_CSUM_PARTIAL))
		return h->ip_version == 4 ? 0 : -EBADMSG;
	if (!h->l4_off)
		return -EBADMSG;
	if (meta->gso_type) {
		want = meta->gso_type == OVB_NET_GSO_TCPV4 ? 4 : 6;
		if (h->l4_proto != IPPROTO_TCP || h->ip_version != want)
			return -EBADMSG;
		return 0;
	}
	if (meta->flags & OVB_NET_META_CSUM_PARTIAL) {
		if (meta->csum_start != h->l4_off ||
		    meta->csum_offset != (h->l4_proto == IPPROTO_TCP ? 16 : 6))
			return -EBADMSG;
		if (h->l4_proto != IPPROTO_TCP && h->l4_proto != IPPROTO_UDP)
			return -EBADMSG;
	}
	return 0;
}

int ovb_offload_canonicalize(void *frame, size_t len,
			     struct ovb_net_meta *meta)
{
	uint8_t *p = frame, *ip;
	struct ovb_net_hdrs h;
	uint32_t l3_len;

	if (!frame || !meta)
		return -EINVAL;
	if (!meta->gso_type && !(meta->flags & (OVB_NET_META_CSUM_PARTIAL |
						OVB_NET_META_IP4_CSUM)))
		return 0;
	if (offload_check(frame, len, meta, &h))
		return -EBADMSG;
	ip = p + h.l3_off;
	l3_len = h.l3_end - h.l3_off;
	if (meta->gso_type) {
		if (h.ip_version == 4 && l3_len > UINT16_MAX)
			return -EBADMSG;
		if (h.ip_version == 4)
			ovb_put_be16(ip + 2, l3_len);
		else if (l3_len - 40 <= UINT16_MAX)
			ovb_put_be16(ip + 4, l3_len - 40);
		meta->flags |= OVB_NET_META_CSUM_PARTIAL |
			       (h.ip_version == 4 ? OVB_NET_META_IP4_CSUM : 0);
		meta->csum_start = h.l4_off;
		meta->csum_offset = 16;
		meta->hdr_len = h.payload_off;
	}
	if (meta->flags & OVB_NET_META_IP4_CSUM) {
		if (h.ip_version != 4)
			return -EBADMSG;
		offload_ip4_csum(ip);
		meta->flags &= ~OVB_NET_META_IP4_CSUM;
	}
	if (meta->flags & OVB_NET_META_CSUM_PARTIAL)
		offload_seed(p, &h, h.l3_end - h.l4_off);
	return 0;
}

int ovb_offload_tso_headers(void *hdrs, size_t hlen, size_t len,
			    struct ovb_net_meta *meta)
{
	uint8_t *p = hdrs, *ip;
	struct ovb_net_hdrs h;
	uint32_t l3_len;

	if (!hdrs || !meta || !meta->gso_type || hlen > len)
		return -EINVAL;
	/* Parsed within the copy: every header must lie inside it. */
	if (offload_check(hdrs, hlen, meta, &h) || h.payload_off > hlen ||
	    len > UINT16_MAX + 256u)
		return -EBADMSG;
	h.l3_end = (uint32_t)len; /* the datagram is the rest of the frame */
	ip = p + h.l3_off;
	l3_len = h.l3_end - h.l3_off;
	if (h.ip_version == 4 ? l3_len > UINT16_MAX : l3_len - 40 > UINT16_MAX)
		return -EBADMSG;
	if (h.ip_version == 4) {
		ovb_put_be16(ip + 2, l3_len);
		offload_ip4_csum(ip);
	} else {
		ovb_put_be16(ip + 4, l3_len - 40);
	}
	meta->flags = (meta->flags & ~OVB_NET_META_IP4_CSUM) |
		      OVB_NET_META_CSUM_PARTIAL;
	meta->csum_start = h.l4_off;
	meta->csum_offset = 16;
	meta->hdr_len = h.payload_off;
	offload_seed(p, &h, h.l3_end - h.l4_off);
	return 0;
}

int ovb_offload_ndis_lso(void *frame, size_t len,
			 const struct ovb_net_meta *meta)
{
	uint8_t *p = frame, *ip;
	struct ovb_net_hdrs h;

	if (!frame || !meta || !meta->gso_type)
		return -EINVAL;
	if (offload_check(frame, len, meta, &h))
		return -EBADMSG;
	ip = p + h.l3_off;
	if (h.ip_version == 4) {
		memset(ip + 2, 0, 2); /* total length */
		memset(ip + 10, 0, 2); /* header checksum */
	} else {
		memset(ip + 4, 0, 2); /* payload length */
	}
	offload_seed(p, &h, 0);
	return 0;
}

/* Fix lengths, id, sequence, flags and checksums of one built segment. */
static void offload_fix_segment(uint8_t *seg, const struct ovb_net_hdrs *h,
				uint32_t seglen, uint32_t seq, uint16_t id,
				uint8_t tcp_flags)
{
	struct ovb_net_hdrs sh = *h;
	uint8_t *ip = seg + h->l3_off, *tcp = seg + h->l4_off;

	sh.l3_end = seglen;
	if (h->ip_version == 4) {
		ovb_put_be16(ip + 2, seglen - h->l3_off);
		ovb_put_be16(ip + 4, id);
		offload_ip4_csum(ip);
	} else {
		ovb_put_be16(ip + 4, seglen - h->l3_off - 40);
	}
	ovb_put_be32(tcp + 4, seq);
	tcp[13] = tcp_flags;
	offload_l4_csum(seg, &sh);
}

ssize_t ovb_offload_tso(const void *frame, size_t len,
			const struct ovb_net_meta *meta, ovb_offload_seg_fn *fn,
			void *ctx)
{
	const uint8_t *p = frame;
	struct ovb_net_hdrs h;
	uint32_t hdr, payload, mss, off = 0, chunk, seq0;
	uint16_t id0 = 0;
	uint8_t flags0, flags;
	ssize_t n = 0, rc;
	uint8_t *seg;

	if (!frame || !meta || !fn || (meta->gso_type != OVB_NET_GSO_TCPV4 &&
				       meta->gso_type != OVB_NET_GSO_TCPV6))
		return -EINVAL;
	mss = meta->gso_size;
	if (mss < OVB_OFFLOAD_MIN_MSS || offload_check(frame, len, meta, &h))
		return -EBADMSG;
	hdr = h.payload_off;
	payload = h.l3_end - hdr;
	if (mss > payload)
		mss = payload ? payload : 1;
	if (hdr - h.l3_off + mss > UINT16_MAX)
		return -EBADMSG;
	seg = malloc(hdr + mss);
	if (!seg)
		return -ENOMEM;
	memcpy(seg, p, hdr);
	seq0 = ovb_get_be32(p + h.l4_off + 4);
	flags0 = p[h.l4_off + 13];
	if (h.ip_version == 4)
		id0 = ovb_get_be16(p + h.l3_off + 4);
	do {
		chunk = payload - off < mss ? payload - off : mss;
		flags = flags0;
		if (off + chunk < payload)
			flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (off)
			flags &= (uint8_t)~TCP_CWR;
		memcpy(seg + hdr, p + hdr + off, chunk);
		offload_fix_segment(seg, &h, hdr + chunk, seq0 + off,
				    (uint16_t)(id0 + n), flags);
		rc = fn(ctx, seg, hdr + chunk);
		if (rc < 0)
			goto out;
		off += chunk;
		n++;
	} while (off < payload);
	rc = n;
out:
	free(seg);
	return rc;
}
