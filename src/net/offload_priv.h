/* SPDX-License-Identifier: MIT */
/*
 * The offload helpers only the library's own frame paths use: finding the
 * headers of a frame, one's-complement sums, and the conversions between
 * NDIS and Linux/virtio offload conventions (netvsp, netvsc, RNDIS).
 * Layer: core (no VMBus knowledge).  Private: the public part, struct
 * ovb_net_meta and the software fallbacks, is openvmbus/offload.h.
 *
 * All functions are thread-safe (no shared state) and never block.
 */
#ifndef OVB_NET_OFFLOAD_PRIV_H
#define OVB_NET_OFFLOAD_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "openvmbus/offload.h"

/** Where the headers of a frame are, as found by ovb_offload_parse(). */
struct ovb_net_hdrs {
	uint16_t ethertype;   /**< after any one 802.1Q tag, host order */
	uint16_t l3_off;      /**< IP header offset */
	uint16_t l4_off;      /**< TCP/UDP header offset, 0 if none usable */
	uint16_t payload_off; /**< first byte after the L4 header */
	uint32_t l3_end;      /**< end of the IP datagram, bounded by len */
	uint8_t ip_version;   /**< 4, 6, or 0 for non-IP */
	uint8_t l4_proto;     /**< IPPROTO_TCP/UDP/..., 0 if unknown */
};

/**
 * Find the L3 and L4 headers of an Ethernet frame (one optional 802.1Q tag,
 * IPv4 with options, IPv6 with hop-by-hop/routing/destination options).
 * Fragments and truncated headers leave l4_off 0.  Returns 0, or -EBADMSG
 * when @len is shorter than an Ethernet header.
 */
int ovb_offload_parse(const void *frame, size_t len, struct ovb_net_hdrs *h);

/** Add @len bytes to a one's-complement partial sum (even @len except last). */
uint32_t ovb_offload_csum_add(uint32_t sum, const void *data, size_t len);

/** Fold a partial sum and complement it: the value to store, native order. */
uint16_t ovb_offload_csum_fold(uint32_t sum);

/**
 * Bring a frame with pending offload work from NDIS conventions to the
 * Linux/virtio ones that the switch, TAP and the software paths share, in
 * place.  NDIS LSOv2 senders (Linux netvsc, Windows) leave the IPv4 total
 * length and header checksum (IPv6: payload length) 0 and seed the TCP
 * checksum with a pseudo-header sum without the length; Linux GSO expects
 * real lengths, a valid IPv4 header checksum and a seed that includes the
 * L4 length.  For TSO this sets the lengths, csum_start/csum_offset and
 * hdr_len; any pending IPv4 header checksum is computed; a pending TCP/UDP
 * checksum field is re-seeded.  netvsp calls it on its copy of each frame
 * after ovb_rndis_tx_to_meta().  Returns 0, -EINVAL for NULL arguments, or
 * -EBADMSG if the frame is not the TCP/UDP the metadata describes.
 */
int ovb_offload_canonicalize(void *frame, size_t len,
			     struct ovb_net_meta *meta);

/**
 * ovb_offload_canonicalize() for a TSO frame whose headers are held apart
 * from its payload: @hdrs holds the frame's first @hlen bytes, all of its
 * headers (Ethernet to TCP), @len is the whole frame's length and the IP
 * datagram runs to its end.  Sets the IP lengths from @len, the IPv4
 * header checksum, the TCP pseudo-header seed and the metadata's checksum
 * offsets and hdr_len, all in @hdrs; the payload is never read.  netvsc
 * uses it to hand a coalesced frame on in place.  Returns 0, -EINVAL
 * (NULL, not TSO, @hlen > @len), or -EBADMSG (headers not all in @hdrs,
 * not TCP of the announced IP version, or too long for IP).
 */
int ovb_offload_tso_headers(void *hdrs, size_t hlen, size_t len,
			    struct ovb_net_meta *meta);
/**
 * The metadata of each segment ovb_offload_tso() cuts from the frame @m
 * describes: no GSO, and checksums filled in (valid, nothing pending).
 */
static inline struct ovb_net_meta
ovb_offload_seg_meta(const struct ovb_net_meta *m)
{
	struct ovb_net_meta s = *m;

	s.gso_type = OVB_NET_GSO_NONE;
	s.gso_size = s.hdr_len = 0;
	s.csum_start = s.csum_offset = 0;
	s.flags = (s.flags & ~(OVB_NET_META_CSUM_PARTIAL |
			       OVB_NET_META_IP4_CSUM)) |
		  OVB_NET_META_CSUM_VALID;
	return s;
}
/**
 * The reverse for a TSO frame a guest (netvsc) sends to a Hyper-V host, as
 * NDIS LSOv2 asks and Linux netvsc does: zero the IPv4 total length and
 * header checksum (IPv6: payload length) and seed TCP without the length.
 * Returns 0, -EINVAL if @meta is not TSO, or -EBADMSG.
 */
int ovb_offload_ndis_lso(void *frame, size_t len,
			 const struct ovb_net_meta *meta);

#endif
