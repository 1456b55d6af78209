/* SPDX-License-Identifier: MIT */
/*
 * RNDIS wire formats as Hyper-V's synthetic NIC uses them inside NVSP
 * SEND_RNDIS_PKT messages: message types, request and completion layouts,
 * the PACKET message with its per-packet-info (PPI) records and their value
 * bit layouts, the OIDs and status codes that Linux, FreeBSD and Windows
 * netvsc use, and the NDIS 6 objects carried in OID info buffers
 * (NDIS_OFFLOAD, NDIS_OFFLOAD_PARAMETERS, NDIS_RECEIVE_SCALE_*).  Layer:
 * wire.  Sources: Linux include/linux/rndis.h and
 * drivers/net/hyperv/hyperv_net.h, FreeBSD sys/net/rndis.h and
 * sys/dev/hyperv/netvsc/ndis.h, OpenVMM netvsp/src/rndisprot.rs
 * (docs/wire.md B9).
 *
 * Every RNDIS message begins with {type, len}; every offset field inside a
 * message counts from the end of that 8-byte header (the first body field),
 * except ppi_offset, which counts from the start of its PPI record.  All
 * fields little-endian; structs are packed and include the header.
 */
#ifndef OPENVMBUS_WIRE_RNDIS_H
#define OPENVMBUS_WIRE_RNDIS_H

#include <stddef.h>
#include <stdint.h>

#include "vmbus.h"

/* ---- message types ----------------------------------------------------- */

#define RNDIS_MSG_COMPLETION 0x80000000u
#define RNDIS_MSG_PACKET 0x00000001u     /**< data, both directions */
#define RNDIS_MSG_INIT 0x00000002u
#define RNDIS_MSG_HALT 0x00000003u       /**< no completion */
#define RNDIS_MSG_QUERY 0x00000004u
#define RNDIS_MSG_SET 0x00000005u
#define RNDIS_MSG_RESET 0x00000006u
#define RNDIS_MSG_INDICATE 0x00000007u   /**< device -> host status */
#define RNDIS_MSG_KEEPALIVE 0x00000008u
#define RNDIS_MSG_SET_EX 0x00000009u     /**< OpenVMM; unused by guests */
#define RNDIS_MSG_INIT_C (RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_QUERY_C (RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_SET_C (RNDIS_MSG_SET | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_RESET_C (RNDIS_MSG_RESET | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_KEEPALIVE_C (RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION)
#define RNDIS_MSG_SET_EX_C (RNDIS_MSG_SET_EX | RNDIS_MSG_COMPLETION)

#define RNDIS_MAJOR_VERSION 1u
#define RNDIS_MINOR_VERSION 0u
#define RNDIS_DF_CONNECTIONLESS 0x00000001u /**< INIT_C device_flags */
#define RNDIS_MEDIUM_802_3 0x00000000u      /**< INIT_C medium */

/* ---- status codes (NDIS_STATUS_*) --------------------------------------- */

#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_PENDING 0x00000103u
#define RNDIS_STATUS_ONLINE 0x40010003u
#define RNDIS_STATUS_RESET_START 0x40010004u
#define RNDIS_STATUS_RESET_END 0x40010005u
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_MEDIA_SPECIFIC_INDICATION 0x40010012u
#define RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u /**< buffer: u32 100 bps */
#define RNDIS_STATUS_NETWORK_CHANGE 0x40010018u    /**< buffer: u32 type */
#define RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG 0x40020006u
#define RNDIS_STATUS_BUFFER_OVERFLOW 0x80000005u
#define RNDIS_STATUS_FAILURE 0xC0000001u
#define RNDIS_STATUS_RESOURCES 0xC000009Au
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define RNDIS_STATUS_BAD_VERSION 0xC0010004u
#define RNDIS_STATUS_MULTICAST_FULL 0xC0010009u
#define RNDIS_STATUS_INVALID_PACKET 0xC001000Fu
#define RNDIS_STATUS_ADAPTER_NOT_READY 0xC0010011u
#define RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define RNDIS_STATUS_INVALID_DATA 0xC0010015u
#define RNDIS_STATUS_BUFFER_TOO_SHORT 0xC0010016u
#define RNDIS_STATUS_INVALID_OID 0xC0010017u

/** NETWORK_CHANGE buffer values (FreeBSD ndis.h). */
#define NDIS_NETCHANGE_TYPE_POSSIBLE 1u
#define NDIS_NETCHANGE_TYPE_DEFINITE 2u
#define NDIS_NETCHANGE_TYPE_FROMMEDIA 3u

/* ---- OIDs ---------------------------------------------------------------- */

#define OID_GEN_SUPPORTED_LIST 0x00010101u
#define OID_GEN_HARDWARE_STATUS 0x00010102u
#define OID_GEN_MEDIA_SUPPORTED 0x00010103u
#define OID_GEN_MEDIA_IN_USE 0x00010104u
#define OID_GEN_MAXIMUM_LOOKAHEAD 0x00010105u
#define OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u /**< Linux: the MTU */
#define OID_GEN_LINK_SPEED 0x00010107u         /**< u32, units of 100 bps */
#define OID_GEN_TRANSMIT_BUFFER_SPACE 0x00010108u
#define OID_GEN_RECEIVE_BUFFER_SPACE 0x00010109u
#define OID_GEN_TRANSMIT_BLOCK_SIZE 0x0001010Au
#define OID_GEN_RECEIVE_BLOCK_SIZE 0x0001010Bu
#define OID_GEN_VENDOR_ID 0x0001010Cu
#define OID_GEN_VENDOR_DESCRIPTION 0x0001010Du
#define OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu /**< NDIS_PACKET_TYPE_* */
#define OID_GEN_CURRENT_LOOKAHEAD 0x0001010Fu
#define OID_GEN_DRIVER_VERSION 0x00010110u
#define OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define OID_GEN_PROTOCOL_OPTIONS 0x00010112u
#define OID_GEN_MAC_OPTIONS 0x00010113u
#define OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u /**< NDIS_MEDIA_STATE_* */
#define OID_GEN_MAXIMUM_SEND_PACKETS 0x00010115u
#define OID_GEN_VENDOR_DRIVER_VERSION 0x00010116u
#define OID_GEN_NETWORK_LAYER_ADDRESSES 0x00010118u
#define OID_GEN_TRANSPORT_HEADER_OFFSET 0x00010119u
#define OID_GEN_MEDIA_CAPABILITIES 0x00010201u
#define OID_GEN_PHYSICAL_MEDIUM 0x00010202u
#define OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u /**< query only */
#define OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u   /**< query and set */
#define OID_GEN_MAX_LINK_SPEED 0x00010206u
#define OID_GEN_LINK_STATE 0x00010207u
#define OID_GEN_LINK_PARAMETERS 0x00010208u
#define OID_GEN_INTERRUPT_MODERATION 0x00010209u
#define OID_GEN_MACHINE_NAME 0x0001021Au
#define OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu /**< set: name = value */
#define OID_GEN_VLAN_ID 0x0001021Cu

#define OID_GEN_XMIT_OK 0x00020101u
#define OID_GEN_RCV_OK 0x00020102u
#define OID_GEN_XMIT_ERROR 0x00020103u
#define OID_GEN_RCV_ERROR 0x00020104u
#define OID_GEN_RCV_NO_BUFFER 0x00020105u
#define OID_GEN_STATISTICS 0x00020106u
#define OID_GEN_DIRECTED_BYTES_XMIT 0x00020201u
#define OID_GEN_DIRECTED_FRAMES_XMIT 0x00020202u
#define OID_GEN_MULTICAST_BYTES_XMIT 0x00020203u
#define OID_GEN_MULTICAST_FRAMES_XMIT 0x00020204u
#define OID_GEN_BROADCAST_BYTES_XMIT 0x00020205u
#define OID_GEN_BROADCAST_FRAMES_XMIT 0x00020206u
#define OID_GEN_DIRECTED_BYTES_RCV 0x00020207u
#define OID_GEN_DIRECTED_FRAMES_RCV 0x00020208u
#define OID_GEN_MULTICAST_BYTES_RCV 0x00020209u
#define OID_GEN_MULTICAST_FRAMES_RCV 0x0002020Au
#define OID_GEN_BROADCAST_BYTES_RCV 0x0002020Bu
#define OID_GEN_BROADCAST_FRAMES_RCV 0x0002020Cu
#define OID_GEN_RCV_CRC_ERROR 0x0002020Du
#define OID_GEN_TRANSMIT_QUEUE_LENGTH 0x0002020Eu
#define OID_GEN_FRIENDLY_NAME 0x00020216u
#define OID_GEN_BYTES_RCV 0x00020219u
#define OID_GEN_BYTES_XMIT 0x0002021Au
#define OID_GEN_RCV_DISCARDS 0x0002021Bu
#define OID_GEN_XMIT_DISCARDS 0x0002021Cu

#define OID_802_3_PERMANENT_ADDRESS 0x01010101u /**< 6-byte MAC */
#define OID_802_3_CURRENT_ADDRESS 0x01010102u   /**< 6-byte MAC */
#define OID_802_3_MULTICAST_LIST 0x01010103u    /**< n * 6-byte MACs */
#define OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define OID_802_3_MAC_OPTIONS 0x01010105u
#define OID_OFFLOAD_ENCAPSULATION 0x0101010Au
#define OID_802_3_ADD_MULTICAST_ADDRESS 0x01010208u
#define OID_802_3_DELETE_MULTICAST_ADDRESS 0x01010209u
#define OID_802_3_RCV_ERROR_ALIGNMENT 0x01020101u
#define OID_802_3_XMIT_ONE_COLLISION 0x01020102u
#define OID_802_3_XMIT_MORE_COLLISIONS 0x01020103u

#define OID_TCP_OFFLOAD_CURRENT_CONFIG 0xFC01020Bu        /**< query */
#define OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu            /**< set */
#define OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du /**< query */
#define OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG 0xFC01020Eu
#define OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Fu

/** OID_GEN_CURRENT_PACKET_FILTER bits. */
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020u

/** OID_GEN_MEDIA_CONNECT_STATUS values. */
#define NDIS_MEDIA_STATE_CONNECTED 0u
#define NDIS_MEDIA_STATE_DISCONNECTED 1u

/* ---- messages ------------------------------------------------------------ */

/** Header of every RNDIS message. */
struct rndis_msg_header {
	uint32_t msg_type; /**< RNDIS_MSG_* */
	uint32_t msg_len;  /**< bytes of the whole message, header included */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_msg_header, 8);

/** INITIALIZE (2), host stack (guest) -> device (VSP). */
struct rndis_initialize_request {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t major_version;     /**< RNDIS_MAJOR_VERSION */
	uint32_t minor_version;     /**< RNDIS_MINOR_VERSION */
	uint32_t max_transfer_size; /**< largest message the sender accepts */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_initialize_request, 24);

/** INITIALIZE completion. */
struct rndis_initialize_complete {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t status;                  /**< RNDIS_STATUS_* */
	uint32_t major_version;
	uint32_t minor_version;
	uint32_t device_flags;            /**< RNDIS_DF_CONNECTIONLESS */
	uint32_t medium;                  /**< RNDIS_MEDIUM_802_3 */
	uint32_t max_packets_per_message; /**< PACKET messages per transfer */
	uint32_t max_transfer_size;       /**< bytes per transfer */
	uint32_t packet_alignment_factor; /**< log2 of message alignment */
	uint32_t af_list_offset;          /**< call managers only; 0 */
	uint32_t af_list_size;            /**< call managers only; 0 */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_initialize_complete, 52);

/** HALT (3): no completion. */
struct rndis_halt_request {
	struct rndis_msg_header hdr;
	uint32_t request_id;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_halt_request, 12);

/** QUERY (4) and SET (5); SET carries its value in the info buffer. */
struct rndis_oid_request {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t oid;              /**< OID_* */
	uint32_t info_buflen;      /**< bytes of the info buffer */
	uint32_t info_buf_offset;  /**< from request_id; 20 when it follows */
	uint32_t device_vc_handle; /**< 0 (connectionless) */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_oid_request, 28);
#define rndis_query_request rndis_oid_request
#define rndis_set_request rndis_oid_request

/** QUERY completion: the value in an info buffer. */
struct rndis_query_complete {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t status;          /**< RNDIS_STATUS_* */
	uint32_t info_buflen;     /**< bytes of the value */
	uint32_t info_buf_offset; /**< from request_id; 16 when it follows */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_query_complete, 24);

/** SET completion. */
struct rndis_set_complete {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t status; /**< RNDIS_STATUS_* */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_set_complete, 16);

/** RESET (6): the only request without a request id. */
struct rndis_reset_request {
	struct rndis_msg_header hdr;
	uint32_t reserved;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_reset_request, 12);

/** RESET completion. */
struct rndis_reset_complete {
	struct rndis_msg_header hdr;
	uint32_t status;           /**< RNDIS_STATUS_* */
	uint32_t addressing_reset; /**< 1: host must resend filters/addresses */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_reset_complete, 16);

/** INDICATE_STATUS (7), device -> host stack, unsolicited. */
struct rndis_indicate_status {
	struct rndis_msg_header hdr;
	uint32_t status;            /**< RNDIS_STATUS_MEDIA_CONNECT, ... */
	uint32_t status_buflen;     /**< bytes of the status buffer */
	uint32_t status_buf_offset; /**< from the status field; 0 if none */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_indicate_status, 20);

/** KEEPALIVE (8). */
struct rndis_keepalive_request {
	struct rndis_msg_header hdr;
	uint32_t request_id;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_keepalive_request, 12);

/** KEEPALIVE completion. */
struct rndis_keepalive_complete {
	struct rndis_msg_header hdr;
	uint32_t request_id;
	uint32_t status; /**< RNDIS_STATUS_* */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_keepalive_complete, 16);

/**
 * PACKET (1): one Ethernet frame.  Offsets count from data_offset's own
 * position (byte 8 of the message).  Hyper-V places PPIs right after this
 * struct and the frame after the PPIs; it does not align the data offset.
 */
struct rndis_packet {
	struct rndis_msg_header hdr;
	uint32_t data_offset;           /**< frame position */
	uint32_t data_len;              /**< frame bytes */
	uint32_t oob_data_offset;       /**< out-of-band data; 0 on Hyper-V */
	uint32_t oob_data_len;
	uint32_t num_oob_data_elements;
	uint32_t per_pkt_info_offset;   /**< PPI records; 0 if none */
	uint32_t per_pkt_info_len;      /**< bytes of all PPI records */
	uint32_t vc_handle;             /**< 0 (connectionless) */
	uint32_t reserved;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_packet, 44);
VMBUS_WIRE_CHECK(struct rndis_packet, data_offset, 8);
VMBUS_WIRE_CHECK(struct rndis_packet, per_pkt_info_offset, 28);
/** Smallest legal PACKET offset: the end of the 9-word body. */
#define RNDIS_PACKET_OFFSET_MIN 36u

/** One per-packet-info record; its value sits at ppi_offset from its start. */
struct rndis_ppi {
	uint32_t size;       /**< bytes of this record, value included */
	uint32_t type;       /**< NDIS_PPI_* in bits 0-30; bit 31 internal */
	uint32_t ppi_offset; /**< from record start to the value; 12 */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_ppi, 12);
#define RNDIS_PPI_INTERNAL 0x80000000u
#define RNDIS_PPI_TYPE_MASK 0x7FFFFFFFu

/** PPI types (NDIS 5 per-packet-info numbering). */
enum ndis_ppi_type {
	NDIS_PPI_CHECKSUM = 0,     /**< NDIS_TXCSUM_INFO_ / NDIS_RXCSUM_INFO_ */
	NDIS_PPI_IPSEC = 1,
	NDIS_PPI_LSO = 2,          /**< NDIS_LSO2_INFO_* */
	NDIS_PPI_CLASSIFICATION_HANDLE = 3,
	NDIS_PPI_SG_LIST = 5,
	NDIS_PPI_8021Q = 6,        /**< NDIS_VLAN_INFO_* */
	NDIS_PPI_ORIGINAL = 7,     /**< Hyper-V: hash info (NDIS_HASH_*) */
	NDIS_PPI_HASH_VALUE = 8,   /**< Hyper-V: u32 RSS hash (was CancelId) */
	NDIS_PPI_ORIGINAL_NBL = 9,
	NDIS_PPI_CACHED_NBL = 10,
	NDIS_PPI_SHORT_PAD = 11,
};
#define NDIS_PPI_HASH_INFO NDIS_PPI_ORIGINAL

/** Internal PPI type 1 (with RNDIS_PPI_INTERNAL): packet id for RSC. */
#define RNDIS_PPI_INTERNAL_PKTINFO_ID 1u
struct rndis_pktinfo_id {
	uint8_t ver;     /**< 1 */
	uint8_t flag;    /**< bit0 suballocated, bit1 first, bit2 last */
	uint16_t pkt_id; /**< fragments of one packet share it */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_pktinfo_id, 4);
/* rndis_pktinfo_id.flag (Linux hyperv_net.h RNDIS_PKTINFO_*) */
#define RNDIS_PKTINFO_SUBALLOC 0x01u  /**< one fragment of a coalesced frame */
#define RNDIS_PKTINFO_1ST_FRAG 0x02u
#define RNDIS_PKTINFO_LAST_FRAG 0x04u

/* Checksum PPI, transmit (guest -> host): what the device must fill in. */
#define NDIS_TXCSUM_INFO_IPV4 0x00000001u
#define NDIS_TXCSUM_INFO_IPV6 0x00000002u
#define NDIS_TXCSUM_INFO_TCPCS 0x00000004u
#define NDIS_TXCSUM_INFO_UDPCS 0x00000008u
#define NDIS_TXCSUM_INFO_IPCS 0x00000010u
#define NDIS_TXCSUM_INFO_THOFF_MASK 0x03FF0000u /**< L4 header offset */
#define NDIS_TXCSUM_INFO_THOFF_SHIFT 16

/* Checksum PPI, receive (host -> guest): what the device verified. */
#define NDIS_RXCSUM_INFO_TCPCS_FAILED 0x00000001u
#define NDIS_RXCSUM_INFO_UDPCS_FAILED 0x00000002u
#define NDIS_RXCSUM_INFO_IPCS_FAILED 0x00000004u
#define NDIS_RXCSUM_INFO_TCPCS_OK 0x00000008u
#define NDIS_RXCSUM_INFO_UDPCS_OK 0x00000010u
#define NDIS_RXCSUM_INFO_IPCS_OK 0x00000020u
#define NDIS_RXCSUM_INFO_LOOPBACK 0x00000040u
#define NDIS_RXCSUM_INFO_TCPCS_INVAL 0x00000080u
#define NDIS_RXCSUM_INFO_IPCS_INVAL 0x00000100u

/* LSO PPI (LSOv2 transmit): mss, TCP header offset, type, IP version. */
#define NDIS_LSO2_INFO_MSS_MASK 0x000FFFFFu
#define NDIS_LSO2_INFO_THOFF_MASK 0x3FF00000u
#define NDIS_LSO2_INFO_THOFF_SHIFT 20
#define NDIS_LSO2_INFO_ISLSO2 0x40000000u /**< type 1 = LSOv2 */
#define NDIS_LSO2_INFO_ISIPV6 0x80000000u

/* 802.1Q PPI: priority, CFI and VLAN id, not in wire-tag order. */
#define NDIS_VLAN_INFO_PRI_MASK 0x00000007u
#define NDIS_VLAN_INFO_CFI_MASK 0x00000008u
#define NDIS_VLAN_INFO_ID_MASK 0x0000FFF0u
#define NDIS_VLAN_INFO_ID_SHIFT 4

/* Hash info PPI and RSS hash types (also OID_GEN_RECEIVE_SCALE_*). */
#define NDIS_HASH_FUNCTION_MASK 0x000000FFu
#define NDIS_HASH_FUNCTION_TOEPLITZ 0x00000001u
#define NDIS_HASH_TYPE_MASK 0x00FFFF00u
#define NDIS_HASH_IPV4 0x00000100u
#define NDIS_HASH_TCP_IPV4 0x00000200u
#define NDIS_HASH_IPV6 0x00000400u
#define NDIS_HASH_IPV6_EX 0x00000800u
#define NDIS_HASH_TCP_IPV6 0x00001000u
#define NDIS_HASH_TCP_IPV6_EX 0x00002000u
#define NDIS_HASH_UDP_IPV4 0x00004000u
#define NDIS_HASH_UDP_IPV6 0x00008000u
#define NDIS_HASH_UDP_IPV6_EX 0x00010000u

/* ---- NDIS 6 objects in OID info buffers -------------------------------- */

#define NDIS_OBJECT_TYPE_DEFAULT 0x80u
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88u
#define NDIS_OBJECT_TYPE_RSS_PARAMETERS 0x89u
#define NDIS_OBJECT_TYPE_OFFLOAD 0xA7u
#define NDIS_OBJECT_TYPE_OFFLOAD_ENCAPSULATION 0xA8u

/** Header of every NDIS 6 object. */
struct ndis_object_header {
	uint8_t type;     /**< NDIS_OBJECT_TYPE_* */
	uint8_t revision; /**< type-specific */
	uint16_t size;    /**< bytes of the object, header included */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_object_header, 4);

#define NDIS_OFFLOAD_ENCAP_NONE 0x0000u
#define NDIS_OFFLOAD_ENCAP_NULL 0x0001u
#define NDIS_OFFLOAD_ENCAP_8023 0x0002u

/* Checksum capability words: a 2-bit "supported" field per feature. */
#define NDIS_TXCSUM_CAP_IP4OPT 0x001u
#define NDIS_TXCSUM_CAP_TCP4OPT 0x004u
#define NDIS_TXCSUM_CAP_TCP4 0x010u
#define NDIS_TXCSUM_CAP_UDP4 0x040u
#define NDIS_TXCSUM_CAP_IP4 0x100u
#define NDIS_TXCSUM_CAP_IP6EXT 0x001u
#define NDIS_TXCSUM_CAP_TCP6OPT 0x004u
#define NDIS_TXCSUM_CAP_TCP6 0x010u
#define NDIS_TXCSUM_CAP_UDP6 0x040u
#define NDIS_LSOV2_CAP_IP6EXT 0x001u
#define NDIS_LSOV2_CAP_TCP6OPT 0x004u

/** NDIS_TCP_IP_CHECKSUM_OFFLOAD. */
struct ndis_csum_offload {
	uint32_t ip4_txenc;  /**< NDIS_OFFLOAD_ENCAP_* */
	uint32_t ip4_txcsum; /**< NDIS_TXCSUM_CAP_*4 */
	uint32_t ip4_rxenc;
	uint32_t ip4_rxcsum;
	uint32_t ip6_txenc;
	uint32_t ip6_txcsum; /**< NDIS_TXCSUM_CAP_*6 */
	uint32_t ip6_rxenc;
	uint32_t ip6_rxcsum;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_csum_offload, 32);

/** NDIS_TCP_LARGE_SEND_OFFLOAD_V1. */
struct ndis_lsov1_offload {
	uint32_t encap;
	uint32_t maxsize; /**< bytes */
	uint32_t minsegs;
	uint32_t opts;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_lsov1_offload, 16);

/** NDIS_IPSEC_OFFLOAD_V1 (never offered by Hyper-V). */
struct ndis_ipsecv1_offload {
	uint32_t encap;
	uint32_t ah_esp;
	uint32_t xport_tun;
	uint32_t ip4_opts;
	uint32_t flags;
	uint32_t ip4_ah;
	uint32_t ip4_esp;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_ipsecv1_offload, 28);

/** NDIS_TCP_LARGE_SEND_OFFLOAD_V2. */
struct ndis_lsov2_offload {
	uint32_t ip4_encap;
	uint32_t ip4_maxsz; /**< largest LSO frame, bytes */
	uint32_t ip4_minsg; /**< fewest segments the guest may ask for */
	uint32_t ip6_encap;
	uint32_t ip6_maxsz;
	uint32_t ip6_minsg;
	uint32_t ip6_opts;  /**< NDIS_LSOV2_CAP_* */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_lsov2_offload, 28);

/** NDIS_IPSEC_OFFLOAD_V2 (BOOLEANs are one byte). */
struct ndis_ipsecv2_offload {
	uint32_t encap;
	uint8_t ip6;
	uint8_t ip4opt;
	uint8_t ip6ext;
	uint8_t ah;
	uint8_t esp;
	uint8_t ah_esp;
	uint8_t xport;
	uint8_t tun;
	uint8_t xport_tun;
	uint8_t lso;
	uint8_t extseq;
	uint8_t pad;
	uint32_t udp_esp;
	uint32_t auth;
	uint32_t crypto;
	uint32_t sa_caps;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_ipsecv2_offload, 32);

/**
 * NDIS_OFFLOAD (OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES / _CURRENT_CONFIG),
 * object type NDIS_OBJECT_TYPE_OFFLOAD.  Its size depends on the revision.
 */
struct ndis_offload {
	struct ndis_object_header header;
	struct ndis_csum_offload csum;
	struct ndis_lsov1_offload lsov1;
	struct ndis_ipsecv1_offload ipsecv1;
	struct ndis_lsov2_offload lsov2;
	uint32_t flags;
	/* NDIS >= 6.1 */
	struct ndis_ipsecv2_offload ipsecv2;
	/* NDIS >= 6.30 */
	uint8_t rsc_ip4;        /**< receive segment coalescing enabled */
	uint8_t rsc_ip6;
	uint8_t pad[2];
	uint32_t encap_gre_flags;  /**< NVGRE encapsulated task offload */
	uint32_t encap_gre_maxhdr;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_offload, 156);
VMBUS_WIRE_CHECK(struct ndis_offload, csum, 4);
VMBUS_WIRE_CHECK(struct ndis_offload, lsov1, 36);
VMBUS_WIRE_CHECK(struct ndis_offload, ipsecv1, 52);
VMBUS_WIRE_CHECK(struct ndis_offload, lsov2, 80);
VMBUS_WIRE_CHECK(struct ndis_offload, flags, 108);
VMBUS_WIRE_CHECK(struct ndis_offload, ipsecv2, 112);
VMBUS_WIRE_CHECK(struct ndis_offload, rsc_ip4, 144);
VMBUS_WIRE_CHECK(struct ndis_offload, encap_gre_flags, 148);
#define NDIS_OFFLOAD_REVISION_1 1u /**< NDIS 6.0 */
#define NDIS_OFFLOAD_REVISION_2 2u /**< NDIS 6.1 */
#define NDIS_OFFLOAD_REVISION_3 3u /**< NDIS 6.30 */
#define NDIS_OFFLOAD_SIZE_6_0 112u
#define NDIS_OFFLOAD_SIZE_6_1 144u
#define NDIS_OFFLOAD_SIZE_6_30 156u

/* NDIS_OFFLOAD_PARAMETERS field values. */
#define NDIS_OFFLOAD_PARAMETERS_NO_CHANGE 0u
#define NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED 1u /**< checksum fields */
#define NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED 2u
#define NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED 3u
#define NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED 4u
#define NDIS_OFFLOAD_PARAMETERS_LSO_DISABLED 1u /**< lsov1/lsov2 fields */
#define NDIS_OFFLOAD_PARAMETERS_LSO_ENABLED 2u
#define NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED 1u
#define NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED 2u

/**
 * NDIS_OFFLOAD_PARAMETERS (set OID_TCP_OFFLOAD_PARAMETERS), object type
 * NDIS_OBJECT_TYPE_DEFAULT.  Linux and FreeBSD send 28 bytes with revision
 * 3 for NDIS 6.30 and 22 bytes with revision 2 below.
 */
struct ndis_offload_params {
	struct ndis_object_header header;
	uint8_t ip4_csum;     /**< NDIS_OFFLOAD_PARAMETERS_TX_RX_* */
	uint8_t tcp4_csum;
	uint8_t udp4_csum;
	uint8_t tcp6_csum;
	uint8_t udp6_csum;
	uint8_t lsov1;        /**< NDIS_OFFLOAD_PARAMETERS_LSO_* */
	uint8_t ipsecv1;
	uint8_t lsov2_ip4;
	uint8_t lsov2_ip6;
	uint8_t tcp_conn_ip4;
	uint8_t tcp_conn_ip6;
	uint8_t reserved;
	uint32_t flags;
	/* NDIS >= 6.1 */
	uint8_t ipsecv2;
	uint8_t ipsecv2_ip4;
	/* NDIS >= 6.30 */
	uint8_t rsc_ip4;      /**< NDIS_OFFLOAD_PARAMETERS_RSC_* */
	uint8_t rsc_ip6;
	uint8_t encap;
	uint8_t encap_types;
	uint8_t pad[2];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_offload_params, 28);
VMBUS_WIRE_CHECK(struct ndis_offload_params, lsov2_ip4, 11);
VMBUS_WIRE_CHECK(struct ndis_offload_params, flags, 16);
VMBUS_WIRE_CHECK(struct ndis_offload_params, rsc_ip4, 22);
#define NDIS_OFFLOAD_PARAMETERS_REVISION_1 1u
#define NDIS_OFFLOAD_PARAMETERS_REVISION_2 2u
#define NDIS_OFFLOAD_PARAMETERS_REVISION_3 3u
#define NDIS_OFFLOAD_PARAMETERS_SIZE_6_0 20u
#define NDIS_OFFLOAD_PARAMETERS_SIZE_6_1 22u
#define NDIS_OFFLOAD_PARAMETERS_SIZE_6_30 28u

/* RSS capability flags. */
#define NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS 0x01000000u
#define NDIS_RSS_CAPS_CLASSIFICATION_AT_ISR 0x02000000u
#define NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC 0x04000000u
#define NDIS_RSS_CAPS_USING_MSI_X 0x08000000u
#define NDIS_RSS_CAPS_SUPPORTS_MSI_X 0x20000000u
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4 0x00000100u
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6 0x00000200u
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6_EX 0x00000400u
#define NDIS_RSS_CAPS_HASH_TYPE_UDP_IPV4 0x00000800u
#define NDIS_RSS_CAPS_HASH_TYPE_UDP_IPV6 0x00001000u

/**
 * NDIS_RECEIVE_SCALE_CAPABILITIES (query OID_GEN_RECEIVE_SCALE_CAPABILITIES),
 * object type NDIS_OBJECT_TYPE_RSS_CAPABILITIES; revision 2 is 18 bytes.
 */
struct ndis_rss_caps {
	struct ndis_object_header header;
	uint32_t capabilities;      /**< NDIS_RSS_CAPS_* */
	uint32_t num_int_msgs;      /**< interrupt messages */
	uint32_t num_recv_queues;   /**< Linux: channels it may open */
	uint16_t num_indirect_tabent; /**< revision 2: 128 */
	uint16_t pad;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_rss_caps, 20);
VMBUS_WIRE_CHECK(struct ndis_rss_caps, num_indirect_tabent, 16);
#define NDIS_RSS_CAPS_REVISION_1 1u
#define NDIS_RSS_CAPS_REVISION_2 2u
#define NDIS_RSS_CAPS_SIZE_REVISION_1 16u
#define NDIS_RSS_CAPS_SIZE_REVISION_2 18u

#define NDIS_RSS_PARAM_FLAG_BASE_CPU_UNCHANGED 0x0001u
#define NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED 0x0002u
#define NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED 0x0004u
#define NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED 0x0008u
#define NDIS_RSS_PARAM_FLAG_DISABLE_RSS 0x0010u

/**
 * NDIS_RECEIVE_SCALE_PARAMETERS (OID_GEN_RECEIVE_SCALE_PARAMETERS), object
 * type NDIS_OBJECT_TYPE_RSS_PARAMETERS.  The indirection table (u32 queue
 * numbers from Linux) and the hash key follow at the given offsets, which
 * count from the start of this object.
 */
struct ndis_rss_params {
	struct ndis_object_header header;
	uint16_t flags;                    /**< NDIS_RSS_PARAM_FLAG_* */
	uint16_t base_cpu_number;
	uint32_t hash_info;                /**< NDIS_HASH_FUNCTION_* | types */
	uint16_t indirect_tabsize;         /**< bytes of the table */
	uint16_t pad0;
	uint32_t indirect_taboffset;       /**< from object start */
	uint16_t hashkey_size;             /**< bytes; 40 */
	uint16_t pad1;
	uint32_t hashkey_offset;           /**< from object start */
	uint32_t processor_masks_offset;   /**< revision 2 */
	uint32_t num_processor_masks;
	uint32_t processor_masks_entry_size;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ndis_rss_params, 40);
VMBUS_WIRE_CHECK(struct ndis_rss_params, hash_info, 8);
VMBUS_WIRE_CHECK(struct ndis_rss_params, indirect_taboffset, 16);
VMBUS_WIRE_CHECK(struct ndis_rss_params, hashkey_offset, 24);
#define NDIS_RSS_PARAMS_REVISION_1 1u
#define NDIS_RSS_PARAMS_REVISION_2 2u
#define NDIS_RSS_PARAMS_SIZE_REVISION_1 28u
#define NDIS_RSS_PARAMS_SIZE_REVISION_2 40u
#define NDIS_RSS_INDIRECTION_TABLE_ENTRIES 128u
#define NDIS_RSS_HASH_KEY_SIZE 40u

/** OID_GEN_RNDIS_CONFIG_PARAMETER info buffer (UTF-16 name and value). */
struct rndis_config_parameter_info {
	uint32_t name_offset; /**< from this struct's start */
	uint32_t name_length; /**< bytes */
	uint32_t type;        /**< RNDIS_CONFIG_PARAM_TYPE_* */
	uint32_t value_offset;
	uint32_t value_length;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct rndis_config_parameter_info, 20);
#define RNDIS_CONFIG_PARAM_TYPE_INTEGER 0u
#define RNDIS_CONFIG_PARAM_TYPE_STRING 2u

#endif /* OPENVMBUS_WIRE_RNDIS_H */
