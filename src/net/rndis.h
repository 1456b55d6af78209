/* SPDX-License-Identifier: MIT */
/*
 * RNDIS codec for the synthetic NIC: validates RNDIS messages received from
 * the peer (control requests, completions, status indications and PACKET
 * messages with their per-packet info) and builds them; translates PPIs to
 * and from struct ovb_net_meta.  Used by netvsp and netvsc.  Layer: devices
 * (shared codec).  Spec: wire/rndis.h, docs/wire.md B9.
 *
 * Every offset and length taken from the peer is checked with overflow-safe
 * arithmetic against the message before anything is dereferenced, and
 * every field is read exactly once, so a peer that rewrites shared memory
 * while we parse cannot make a checked value differ from the used one.
 * Pointers returned (info buffers, frames) point into the caller's buffer.
 *
 * All functions are pure and thread-safe.
 */
#ifndef OPENVMBUS_RNDIS_H
#define OPENVMBUS_RNDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/offload_priv.h"
#include "openvmbus/wire/rndis.h"

/**
 * A decoded RNDIS message other than PACKET.  Which fields are meaningful
 * depends on @type: request_id for all but RESET, RESET_C and INDICATE;
 * status for completions and INDICATE; oid for QUERY and SET; info for
 * QUERY, SET, QUERY_C (the value) and INDICATE (the status buffer).
 */
struct ovb_rndis_msg {
	uint32_t type;        /**< RNDIS_MSG_* */
	uint32_t len;         /**< msg_len: bytes this message occupies */
	uint32_t request_id;
	uint32_t status;      /**< RNDIS_STATUS_* */
	uint32_t oid;         /**< OID_* */
	const void *info;     /**< info/status buffer, NULL if empty */
	uint32_t info_len;
	union {
		struct { /* INIT */
			uint32_t major, minor, max_transfer_size;
		} init;
		struct { /* INIT_C */
			uint32_t major, minor, device_flags, medium;
			uint32_t max_packets, max_transfer_size, align_factor;
		} init_c;
		struct { /* RESET_C */
			uint32_t addressing_reset;
		} reset_c;
	} u;
};

/**
 * Validate the RNDIS message at the start of @buf (@len bytes may hold
 * more messages after it: advance by msg->len).  Checks msg_len against
 * @len and the type's minimum size, and that any info or status buffer
 * lies inside the message after the fixed fields.  A PACKET message is
 * checked only for its minimum size: use ovb_rndis_packet_parse().
 * Returns 0, -EBADMSG (malformed or unknown type), -EOPNOTSUPP (SET_EX,
 * which no guest sends), or -EINVAL (NULL arguments).
 */
int ovb_rndis_parse(const void *buf, size_t len, struct ovb_rndis_msg *msg);

/**
 * Build the message @msg describes (type, request_id, status, oid, info,
 * and the @u member of INIT/INIT_C/RESET_C) into @buf.  The info buffer is
 * copied right after the fixed fields.  Returns the message length,
 * -EMSGSIZE if @cap is too small, or -EINVAL for PACKET, an unknown type,
 * or info on a type that carries none.
 */
ssize_t ovb_rndis_build(void *buf, size_t cap, const struct ovb_rndis_msg *msg);

/* ovb_rndis_pktinfo.present */
#define OVB_RNDIS_PPI_CSUM 0x01u       /**< csum holds a checksum PPI */
#define OVB_RNDIS_PPI_LSO 0x02u        /**< lso holds an LSO PPI */
#define OVB_RNDIS_PPI_VLAN 0x04u       /**< vlan holds an 802.1Q PPI */
#define OVB_RNDIS_PPI_HASH_VALUE 0x08u /**< hash_value holds the RSS hash */
#define OVB_RNDIS_PPI_HASH_INFO 0x10u  /**< hash_info holds NDIS_HASH_* */
#define OVB_RNDIS_PPI_PKT_ID 0x20u     /**< pkt_id holds the internal id */

/** The per-packet info of one PACKET message, raw NDIS values. */
struct ovb_rndis_pktinfo {
	uint32_t present;    /**< OVB_RNDIS_PPI_* */
	uint32_t csum;       /**< NDIS_TXCSUM_INFO_* or NDIS_RXCSUM_INFO_* */
	uint32_t lso;        /**< NDIS_LSO2_INFO_* */
	uint32_t vlan;       /**< NDIS_VLAN_INFO_* */
	uint32_t hash_value; /**< Toeplitz hash */
	uint32_t hash_info;  /**< NDIS_HASH_FUNCTION_* | NDIS_HASH_* */
	uint32_t pkt_id;     /**< struct rndis_pktinfo_id, as a u32 */
};

/** A validated PACKET message. */
struct ovb_rndis_packet {
	const uint8_t *frame;          /**< the Ethernet frame */
	uint32_t frame_len;            /**< its bytes, > 0 */
	uint32_t msg_len;              /**< bytes the message occupies */
	struct ovb_rndis_pktinfo info; /**< the PPIs found */
};

/**
 * Validate a PACKET message and find its frame and PPIs.  Data, OOB and
 * PPI areas must start after the fixed fields, lie inside the message and
 * not overlap the frame; every PPI record must have a size that covers its
 * 12-byte header and its value, stay inside the PPI area, and carry at
 * least 4 value bytes for the types we decode.  Unknown PPI types are
 * skipped; of duplicates the first wins (as in Linux).
 * Returns 0, -EBADMSG, or -EINVAL (NULL arguments).
 */
int ovb_rndis_packet_parse(const void *buf, size_t len,
			   struct ovb_rndis_packet *pkt);

/** Bytes of PACKET header plus PPI records that @info needs. */
size_t ovb_rndis_packet_header_len(const struct ovb_rndis_pktinfo *info);

/**
 * Write a PACKET header and the PPIs in @info for a frame of @frame_len
 * bytes that the caller places (or sends as page buffers) right after the
 * returned number of bytes; msg_len counts the frame.  Returns the header
 * length, -EMSGSIZE if @cap is too small, -EINVAL if @frame_len is 0.
 */
ssize_t ovb_rndis_packet_build_header(void *buf, size_t cap,
				      uint32_t frame_len,
				      const struct ovb_rndis_pktinfo *info);

/**
 * ovb_rndis_packet_build_header with the frame @pad bytes further out,
 * the gap zeroed (data offset and msg_len count it): a receiver follows
 * the data offset (Linux, DPDK, ours), so the sender chooses where the
 * frame lies (on a 64-byte line).  @pad keeps the data offset 4-byte
 * aligned.  Returns the header length with the gap, -EMSGSIZE if @cap is
 * too small, -EINVAL if @frame_len is 0 or @pad not a multiple of 4.
 */
ssize_t ovb_rndis_packet_build_header_pad(void *buf, size_t cap,
					  uint32_t frame_len,
					  const struct ovb_rndis_pktinfo *info,
					  size_t pad);

/**
 * Write a whole PACKET message: header, PPIs and a copy of @frame.
 * Returns the message length, -EMSGSIZE, or -EINVAL.
 */
ssize_t ovb_rndis_packet_build(void *buf, size_t cap, const void *frame,
			       uint32_t frame_len,
			       const struct ovb_rndis_pktinfo *info);

/** NDIS 802.1Q PPI value -> 802.1Q TCI (PCP << 13 | DEI << 12 | VID). */
uint16_t ovb_rndis_vlan_to_tci(uint32_t vlan_info);

/** 802.1Q TCI -> NDIS 802.1Q PPI value (priority, CFI and id fields). */
uint32_t ovb_rndis_tci_to_vlan(uint16_t tci);

/**
 * Transmit-side PPIs (checksum requests, LSO) of a frame a guest sent ->
 * metadata.  Offsets come from the PPIs, or from the frame when the guest
 * left them 0.  The frame keeps NDIS header conventions: pass a writable
 * copy through ovb_offload_canonicalize() before it goes anywhere else.
 * Returns 0, or -EBADMSG if the PPIs do not fit the frame.
 */
int ovb_rndis_tx_to_meta(const struct ovb_rndis_pktinfo *info,
			 const void *frame, size_t len,
			 struct ovb_net_meta *meta);

/**
 * Metadata of a frame netvsc sends -> transmit-side PPIs.  For TSO, apply
 * ovb_offload_ndis_lso() to the frame too.  Returns 0, or -EBADMSG if the
 * frame is not the TCP/UDP the metadata claims.
 */
int ovb_rndis_meta_to_tx(const struct ovb_net_meta *meta, const void *frame,
			 size_t len, struct ovb_rndis_pktinfo *info);

/** Receive-side PPIs (verified checksums, VLAN, RSS hash) -> metadata. */
void ovb_rndis_rx_to_meta(const struct ovb_rndis_pktinfo *info,
			  struct ovb_net_meta *meta);

/**
 * Metadata of a frame netvsp delivers to a guest -> receive-side PPIs.
 * RNDIS cannot carry pending work to a receiver, so a frame with
 * CSUM_PARTIAL, IP4_CSUM or LSO still set is refused with -EINVAL: resolve
 * it first (ovb_offload_csum / ovb_offload_tso).  CSUM_VALID becomes the
 * "checksum succeeded" bits of the frame's protocols.  Returns 0 or -EINVAL.
 */
int ovb_rndis_meta_to_rx(const struct ovb_net_meta *meta, const void *frame,
			 size_t len, struct ovb_rndis_pktinfo *info);

#endif /* OPENVMBUS_RNDIS_H */
