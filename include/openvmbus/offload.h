/* SPDX-License-Identifier: MIT */
/*
 * Per-frame network metadata and the software fallbacks for the offloads it
 * describes: struct ovb_net_meta (checksum work still to do, LSO, VLAN tag,
 * RSS hash) travels with every Ethernet frame between netvsp, netvsc, the
 * virtual switch and TAP; when a receiver cannot take a frame with work
 * pending, ovb_offload_csum() and ovb_offload_tso() do that work.  Also the
 * mapping to and from Linux's struct virtio_net_hdr (linux/virtio_net.h),
 * which TAP devices with IFF_VNET_HDR prepend to every frame.  Layer: core
 * (no VMBus knowledge).  Tier: application (what a frame source or sink
 * needs); the header parser and the NDIS conversions are private
 * (src/net/offload_priv.h).  Checksums follow RFC 1071; segmentation
 * follows what Linux's GSO produces for TCP over IPv4 and IPv6.
 *
 * All functions are thread-safe (no shared state) and never block.
 */
#ifndef OPENVMBUS_OFFLOAD_H
#define OPENVMBUS_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api.h"

/* ovb_net_meta.flags */
#define OVB_NET_META_CSUM_PARTIAL 0x01u /**< L4 checksum still to fill in */
#define OVB_NET_META_IP4_CSUM 0x02u     /**< IPv4 header checksum to fill in */
#define OVB_NET_META_CSUM_VALID 0x04u   /**< checksums known good (receive) */
#define OVB_NET_META_VLAN 0x08u         /**< vlan_tci holds a stripped tag */
#define OVB_NET_META_HASH 0x10u         /**< hash/hash_type are valid */

/** ovb_net_meta.gso_type: the kind of large send, if any. */
enum ovb_net_gso {
	OVB_NET_GSO_NONE = 0,
	OVB_NET_GSO_TCPV4 = 1, /**< TSO over IPv4 */
	OVB_NET_GSO_TCPV6 = 2, /**< TSO over IPv6 */
};

/** Smallest MSS ovb_offload_tso() accepts (bounds the segment count). */
#define OVB_OFFLOAD_MIN_MSS 64u

/**
 * Metadata of one Ethernet frame.  A zeroed struct means "a plain frame,
 * nothing to do".  With CSUM_PARTIAL the L4 checksum field at
 * csum_start + csum_offset is not yet valid (it may hold the pseudo-header
 * sum, as Linux leaves it, or anything else).  A frame with gso_type set is
 * a TSO frame of many MSS-sized segments; its checksums are all pending.
 */
struct ovb_net_meta {
	uint32_t flags;       /**< OVB_NET_META_* */
	uint16_t csum_start;  /**< L4 header offset from the frame start */
	uint16_t csum_offset; /**< checksum field offset from csum_start */
	uint16_t gso_size;    /**< MSS: TCP payload bytes per segment */
	uint8_t gso_type;     /**< enum ovb_net_gso */
	uint8_t reserved;
	uint16_t hdr_len;     /**< L2+L3+L4 header bytes, a hint (0: unknown) */
	uint16_t vlan_tci;    /**< PCP << 13 | DEI << 12 | VID (VLAN flag) */
	uint32_t hash;        /**< RSS hash, with HASH flag */
	uint32_t hash_type;   /**< NDIS_HASH_* bits of @hash (wire/rndis.h) */
};

/**
 * Do the checksum work @meta says is pending, in place: the IPv4 header
 * checksum (IP4_CSUM) and the L4 checksum (CSUM_PARTIAL).  TCP and UDP over
 * IPv4/IPv6 get a full recomputation including the pseudo-header; any other
 * csum_start/csum_offset gets virtio semantics (sum from csum_start to the
 * end, seed in the field).  Clears the two flags on success and sets
 * CSUM_VALID when it filled the L4 checksum.
 * Returns 0, -EINVAL for NULL arguments, or -EBADMSG if the offsets lie
 * outside the frame.
 */
OVB_API
int ovb_offload_csum(void *frame, size_t len, struct ovb_net_meta *meta);

/** Receives one finished segment; a negative return stops segmentation. */
typedef int ovb_offload_seg_fn(void *ctx, const void *seg, size_t len);

/**
 * Cut a TSO frame into gso_size-byte TCP segments, each a complete frame
 * with IP length, IPv4 id (+1 per segment), TCP sequence number and all
 * checksums correct; FIN and PSH stay only on the last segment, CWR only on
 * the first.  Calls @fn once per segment in order (the segment buffer is
 * reused after @fn returns).
 * Returns the number of segments, -EINVAL if @meta is not TSO, -EBADMSG if
 * the frame is not TCP of the announced IP version or the MSS is below
 * OVB_OFFLOAD_MIN_MSS, -ENOMEM, or the first negative value of @fn.
 */
OVB_API
ssize_t ovb_offload_tso(const void *frame, size_t len,
			const struct ovb_net_meta *meta, ovb_offload_seg_fn *fn,
			void *ctx);

/**
 * Copy @frame to @out with the 802.1Q tag @tci inserted after the MAC
 * addresses.  Returns the new length (@len + 4), -EBADMSG if @len < 14, or
 * -EMSGSIZE if @cap is too small.
 */
OVB_API
ssize_t ovb_offload_vlan_insert(const void *frame, size_t len, uint16_t tci,
				void *out, size_t cap);

struct virtio_net_hdr;

/**
 * Translate a virtio-net header (as read from a TAP) into metadata.
 * Returns 0, or -EOPNOTSUPP for UDP fragmentation offload (UFO) and any
 * unknown GSO type.
 */
OVB_API
int ovb_offload_from_virtio(const struct virtio_net_hdr *vh,
			    struct ovb_net_meta *meta);

/**
 * Translate metadata into a virtio-net header (to write to a TAP).  The
 * IPv4-header-checksum and VLAN flags have no virtio equivalent: the caller
 * handles them first (ovb_offload_csum, ovb_offload_vlan_insert).
 */
OVB_API
void ovb_offload_to_virtio(const struct ovb_net_meta *meta,
			   struct virtio_net_hdr *vh);

#endif /* OPENVMBUS_OFFLOAD_H */
