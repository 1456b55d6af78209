/* SPDX-License-Identifier: MIT */
/*
 * NVSP wire formats: the Network Virtual Service Protocol that the synthetic
 * NIC speaks over its VMBus channel before and around RNDIS.  Layer: wire
 * (depends only on wire/vmbus.h for the size-check macros).  Sources: Linux
 * drivers/net/hyperv/hyperv_net.h, OpenVMM netvsp/src/protocol.rs, FreeBSD
 * sys/dev/hyperv/netvsc/if_hnreg.h (see docs/wire.md B9).
 *
 * Every message starts with a u32 message type.  Each struct below is one
 * whole message, header included.  Linux sends and expects the size of its
 * union of all messages, 40 bytes (NVSP_MESSAGE_SIZE); Windows hosts ignore
 * requests shorter than 32 bytes (NVSP_MIN_REQUEST_SIZE), so encoders pad.
 * All fields little-endian.
 */
#ifndef OPENVMBUS_WIRE_NVSP_H
#define OPENVMBUS_WIRE_NVSP_H

#include <stddef.h>
#include <stdint.h>

#include "vmbus.h"

/* ---- versions (major << 16 | minor) ------------------------------------ */

#define NVSP_PROTOCOL_VERSION_1 0x00000002u  /**< Windows Server 2008 */
#define NVSP_PROTOCOL_VERSION_2 0x00030002u  /**< Windows 7 / 2008 R2 */
#define NVSP_PROTOCOL_VERSION_4 0x00040000u  /**< Windows 8: SR-IOV */
#define NVSP_PROTOCOL_VERSION_5 0x00050000u  /**< 2012 R2: vRSS, subchannels */
#define NVSP_PROTOCOL_VERSION_6 0x00060000u  /**< Windows 10 */
#define NVSP_PROTOCOL_VERSION_61 0x00060001u /**< Windows 10 1607+ */
#define NVSP_INVALID_PROTOCOL_VERSION 0xFFFFFFFFu

/** NDIS versions a guest announces in SEND_NDIS_VERSION: major << 16 | minor */
#define NVSP_NDIS_VERSION_6_1 0x00060001u  /**< Linux: NVSP <= 4 */
#define NVSP_NDIS_VERSION_6_30 0x0006001Eu /**< Linux: NVSP >= 5 */

/* ---- sizes ------------------------------------------------------------- */

/** Linux's sizeof(struct nvsp_message): u32 header + 36-byte union. */
#define NVSP_MESSAGE_SIZE 40u
/** Windows hosts send no reply to requests shorter than this (FreeBSD). */
#define NVSP_MIN_REQUEST_SIZE 32u
/** OpenVMM's minimum packet for NVSP < 6.1 (its own lenient floor). */
#define NVSP_PACKET_SIZE_V1 0x1Cu
/** OpenVMM's minimum packet for NVSP 6.1. */
#define NVSP_PACKET_SIZE_V61 0x28u

/* ---- message types ----------------------------------------------------- */

enum nvsp_msg_type {
	NVSP_MSG_TYPE_NONE = 0,
	NVSP_MSG_TYPE_INIT = 1,          /**< guest: version proposal */
	NVSP_MSG_TYPE_INIT_COMPLETE = 2, /**< host: version verdict */

	/* version 1 */
	NVSP_MSG1_TYPE_SEND_NDIS_VER = 100,
	NVSP_MSG1_TYPE_SEND_RECV_BUF = 101,
	NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE = 102,
	NVSP_MSG1_TYPE_REVOKE_RECV_BUF = 103,
	NVSP_MSG1_TYPE_SEND_SEND_BUF = 104,
	NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE = 105,
	NVSP_MSG1_TYPE_REVOKE_SEND_BUF = 106,
	NVSP_MSG1_TYPE_SEND_RNDIS_PKT = 107,
	NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE = 108,

	/* version 2: chimney and VMQ messages are deprecated */
	NVSP_MSG2_TYPE_SEND_CHIMNEY_DELEGATED_BUF = 109,
	NVSP_MSG2_TYPE_SEND_CHIMNEY_DELEGATED_BUF_COMP = 110,
	NVSP_MSG2_TYPE_REVOKE_CHIMNEY_DELEGATED_BUF = 111,
	NVSP_MSG2_TYPE_RESUME_CHIMNEY_RX_INDICATION = 112,
	NVSP_MSG2_TYPE_TERMINATE_CHIMNEY = 113,
	NVSP_MSG2_TYPE_TERMINATE_CHIMNEY_COMP = 114,
	NVSP_MSG2_TYPE_INDICATE_CHIMNEY_EVENT = 115,
	NVSP_MSG2_TYPE_SEND_CHIMNEY_PKT = 116,
	NVSP_MSG2_TYPE_SEND_CHIMNEY_PKT_COMP = 117,
	NVSP_MSG2_TYPE_POST_CHIMNEY_RECV_REQ = 118,
	NVSP_MSG2_TYPE_POST_CHIMNEY_RECV_REQ_COMP = 119,
	NVSP_MSG2_TYPE_ALLOC_RXBUF = 120,
	NVSP_MSG2_TYPE_ALLOC_RXBUF_COMP = 121,
	NVSP_MSG2_TYPE_FREE_RXBUF = 122,
	NVSP_MSG2_TYPE_SEND_VMQ_RNDIS_PKT = 123,
	NVSP_MSG2_TYPE_SEND_VMQ_RNDIS_PKT_COMP = 124,
	NVSP_MSG2_TYPE_SEND_NDIS_CONFIG = 125,
	NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE = 126,
	NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE_COMP = 127,

	/* version 4 */
	NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION = 128,
	NVSP_MSG4_TYPE_SWITCH_DATA_PATH = 129,
	NVSP_MSG4_TYPE_UPLINK_CONNECT_STATE_DEPRECATED = 130,

	/* version 5 */
	NVSP_MSG5_TYPE_OID_QUERY_EX = 131,
	NVSP_MSG5_TYPE_OID_QUERY_EX_COMP = 132,
	NVSP_MSG5_TYPE_SUBCHANNEL = 133, /**< request and its completion */
	NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE = 134,

	/* version 6 (6.1 handlers; PacketDirect, unused by Linux) */
	NVSP_MSG6_TYPE_PD_API = 135,
	NVSP_MSG6_TYPE_PD_POST_BATCH = 136,
};

/** Status values in NVSP completions. */
enum nvsp_status {
	NVSP_STAT_NONE = 0,
	NVSP_STAT_SUCCESS = 1,
	NVSP_STAT_FAIL = 2,
	NVSP_STAT_PROTOCOL_TOO_NEW = 3, /**< Linux only */
	NVSP_STAT_PROTOCOL_TOO_OLD = 4, /**< Linux only */
	NVSP_STAT_INVALID_RNDIS_PKT = 5,
	NVSP_STAT_BUSY = 6,
	NVSP_STAT_PROTOCOL_UNSUPPORTED = 7, /**< defined, never sent by hosts */
};

/** Header of every NVSP message. */
struct nvsp_message_header {
	uint32_t msg_type; /**< enum nvsp_msg_type */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp_message_header, 4);

/* ---- init ---------------------------------------------------------------- */

/** INIT (1), guest -> host.  Linux sends min == max == one candidate. */
struct nvsp_msg_init {
	struct nvsp_message_header hdr;
	uint32_t min_protocol_ver; /**< lowest acceptable NVSP version */
	uint32_t max_protocol_ver; /**< highest acceptable NVSP version */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp_msg_init, 12);

/** INIT_COMPLETE (2), host -> guest, completion of INIT. */
struct nvsp_msg_init_complete {
	struct nvsp_message_header hdr;
	uint32_t negotiated_protocol_ver; /**< deprecated; Windows 2008 only */
	uint32_t max_mdl_chain_len;       /**< deprecated; 0 */
	uint32_t status;                  /**< enum nvsp_status */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp_msg_init_complete, 16);
VMBUS_WIRE_CHECK(struct nvsp_msg_init_complete, status, 12);

/* ---- version 1 ----------------------------------------------------------- */

/** SEND_NDIS_VERSION (100), guest -> host; no completion. */
struct nvsp1_msg_send_ndis_version {
	struct nvsp_message_header hdr;
	uint32_t ndis_major_ver; /**< 6 */
	uint32_t ndis_minor_ver; /**< 1 or 30 (Linux) */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_ndis_version, 12);

/** SEND_RECV_BUF (101) and SEND_SEND_BUF (104), guest -> host. */
struct nvsp1_msg_send_buffer {
	struct nvsp_message_header hdr;
	uint32_t gpadl_handle; /**< GPADL covering the whole buffer */
	uint16_t id;           /**< rx: 0xCAFE (Linux, BSD); tx: 0 / 0xFACE */
	uint16_t reserved;     /**< OpenVMM pads here; Linux packs */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_buffer, 12);
VMBUS_WIRE_CHECK(struct nvsp1_msg_send_buffer, id, 8);
#define NVSP_RECEIVE_BUFFER_ID 0xCAFEu /**< what Linux and FreeBSD send */

/** One section of a receive buffer: equal sub-allocations of one size. */
struct nvsp1_receive_buffer_section {
	uint32_t offset;         /**< bytes from buffer start */
	uint32_t sub_alloc_size; /**< bytes per sub-allocation */
	uint32_t num_sub_allocs; /**< number of sub-allocations */
	uint32_t end_offset;     /**< offset + size * num */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_receive_buffer_section, 16);

/**
 * SEND_RECV_BUF_COMPLETE (102), host -> guest.  Linux reads exactly one
 * section (it requires num_sections == 1); DPDK does too.
 */
struct nvsp1_msg_send_recv_buf_complete {
	struct nvsp_message_header hdr;
	uint32_t status;       /**< enum nvsp_status */
	uint32_t num_sections; /**< section records that follow */
	struct nvsp1_receive_buffer_section sections[];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_recv_buf_complete, 12);
VMBUS_WIRE_CHECK(struct nvsp1_msg_send_recv_buf_complete, sections, 12);

/** REVOKE_RECV_BUF (103) and REVOKE_SEND_BUF (106), guest -> host. */
struct nvsp1_msg_revoke_buffer {
	struct nvsp_message_header hdr;
	uint16_t id; /**< id given in SEND_*_BUF */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_revoke_buffer, 6);

/** SEND_SEND_BUF_COMPLETE (105), host -> guest. */
struct nvsp1_msg_send_send_buf_complete {
	struct nvsp_message_header hdr;
	uint32_t status;       /**< enum nvsp_status */
	uint32_t section_size; /**< bytes per send section, host's choice */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_send_buf_complete, 12);

#define NVSP_CHANNEL_TYPE_DATA 0u    /**< RNDIS PACKET messages */
#define NVSP_CHANNEL_TYPE_CONTROL 1u /**< every other RNDIS message */
#define NVSP_INVALID_SECTION_INDEX 0xFFFFFFFFu

/**
 * SEND_RNDIS_PKT (107), both directions.  Guest -> host: the RNDIS message
 * sits in send-buffer section send_buf_section_index, or in the packet's
 * GPA ranges when the index is NVSP_INVALID_SECTION_INDEX.  Host -> guest:
 * sent as a transfer-page packet whose ranges locate the messages.
 */
struct nvsp1_msg_send_rndis_pkt {
	struct nvsp_message_header hdr;
	uint32_t channel_type;           /**< NVSP_CHANNEL_TYPE_* */
	uint32_t send_buf_section_index; /**< or NVSP_INVALID_SECTION_INDEX */
	uint32_t send_buf_section_size;  /**< bytes used in that section */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_rndis_pkt, 16);

/** SEND_RNDIS_PKT_COMPLETE (108), both directions. */
struct nvsp1_msg_send_rndis_pkt_complete {
	struct nvsp_message_header hdr;
	uint32_t status; /**< enum nvsp_status */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp1_msg_send_rndis_pkt_complete, 8);

/* ---- version 2 ----------------------------------------------------------- */

#define NVSP_NDIS_CAP_VMQ (1ull << 0)
#define NVSP_NDIS_CAP_CHIMNEY (1ull << 1)
#define NVSP_NDIS_CAP_SRIOV (1ull << 2)
#define NVSP_NDIS_CAP_IEEE8021Q (1ull << 3)
#define NVSP_NDIS_CAP_CORRELATION_ID (1ull << 4)
#define NVSP_NDIS_CAP_TEAMING (1ull << 5)
#define NVSP_NDIS_CAP_VSUBNETID (1ull << 6)
#define NVSP_NDIS_CAP_RSC (1ull << 7)

/** SEND_NDIS_CONFIG (125), guest -> host; no completion. */
struct nvsp2_msg_send_ndis_config {
	struct nvsp_message_header hdr;
	uint32_t mtu;          /**< L2 payload bytes (Linux: dev MTU + 14) */
	uint32_t reserved;
	uint64_t capability;   /**< NVSP_NDIS_CAP_* */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp2_msg_send_ndis_config, 20);
VMBUS_WIRE_CHECK(struct nvsp2_msg_send_ndis_config, capability, 12);

/* ---- version 4 ----------------------------------------------------------- */

/** SEND_VF_ASSOCIATION (128), host -> guest, unsolicited. */
struct nvsp4_msg_send_vf_association {
	struct nvsp_message_header hdr;
	uint32_t allocated; /**< 1: a VF exists and serial is valid */
	uint32_t serial;    /**< serial number of the VF to team with */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp4_msg_send_vf_association, 12);

#define NVSP_DATAPATH_SYNTHETIC 0u
#define NVSP_DATAPATH_VF 1u

/** SWITCH_DATA_PATH (129), guest -> host (OpenVMM also sends it). */
struct nvsp4_msg_switch_data_path {
	struct nvsp_message_header hdr;
	uint32_t active_datapath; /**< NVSP_DATAPATH_* */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp4_msg_switch_data_path, 8);

/** Transaction ids OpenVMM puts on its unsolicited host -> guest sends. */
#define NVSP_XID_VF_ASSOCIATION 0x8000000000000000ull
#define NVSP_XID_SWITCH_DATA_PATH 0x8000000000000001ull

/* ---- version 5 ----------------------------------------------------------- */

#define NVSP_SUBCHANNEL_NONE 0u
#define NVSP_SUBCHANNEL_ALLOCATE 1u

/** SUBCHANNEL (133) request, guest -> host. */
struct nvsp5_msg_subchannel_request {
	struct nvsp_message_header hdr;
	uint32_t op;              /**< NVSP_SUBCHANNEL_ALLOCATE */
	uint32_t num_subchannels; /**< wanted, not counting the primary */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp5_msg_subchannel_request, 12);

/** SUBCHANNEL (133) completion, host -> guest. */
struct nvsp5_msg_subchannel_complete {
	struct nvsp_message_header hdr;
	uint32_t status;          /**< enum nvsp_status */
	uint32_t num_subchannels; /**< subchannels the host will offer */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp5_msg_subchannel_complete, 12);

/** Entries of the send indirection table: a channel index each. */
#define NVSP_SEND_INDIRECTION_TABLE_SIZE 16u

/**
 * SEND_INDIRECTION_TABLE (134), host -> guest, unsolicited: count u32
 * channel numbers at @offset bytes from the start of the NVSP message.
 * Hosts up to NVSP 6 wrote a too-small offset; Linux therefore ignores the
 * field for NVSP <= 6 and reads the table at NVSP_MESSAGE_SIZE (40), so a
 * host should always place it there.
 */
struct nvsp5_msg_send_indirection_table {
	struct nvsp_message_header hdr;
	uint32_t count;  /**< NVSP_SEND_INDIRECTION_TABLE_SIZE */
	uint32_t offset; /**< bytes from message start to the table */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp5_msg_send_indirection_table, 12);
#define NVSP_INDIRECTION_TABLE_OFFSET NVSP_MESSAGE_SIZE

/* ---- version 6.1 (PacketDirect; only its size matters to us) ----------- */

/** GROUP_AFFINITY as PacketDirect messages carry it. */
struct nvsp6_grp_affinity {
	uint64_t mask;        /**< processors in the group */
	uint16_t grp;         /**< processor group */
	uint16_t reserved[3];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp6_grp_affinity, 16);

/**
 * PD_API (135) completion of a CREATE_QUEUE operation.  Its 36-byte body
 * is the largest of all NVSP bodies, which is why Linux's struct
 * nvsp_message (u32 header + union) is 40 bytes.
 */
struct nvsp6_pd_api_create_queue_comp {
	struct nvsp_message_header hdr;
	uint32_t op;            /**< 5: create queue */
	uint32_t status;
	uint32_t prov_id;       /**< PacketDirect provider */
	uint16_t q_id;
	uint16_t q_size;        /**< entries */
	uint32_t recv_data_len; /**< bytes per receive buffer */
	struct nvsp6_grp_affinity affy;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct nvsp6_pd_api_create_queue_comp, 40);
VMBUS_WIRE_CHECK(struct nvsp6_pd_api_create_queue_comp, affy, 24);

/* ---- the whole message ------------------------------------------------- */

/**
 * Any NVSP message, at the size Linux uses: the largest body (the 36-byte
 * PacketDirect completion above) plus the 4-byte header.
 */
union nvsp_message {
	struct nvsp_message_header hdr;
	struct nvsp_msg_init init;
	struct nvsp_msg_init_complete init_complete;
	struct nvsp1_msg_send_ndis_version ndis_version;
	struct nvsp1_msg_send_buffer send_buffer;
	struct nvsp1_msg_send_recv_buf_complete recv_buf_complete;
	struct nvsp1_msg_revoke_buffer revoke_buffer;
	struct nvsp1_msg_send_send_buf_complete send_buf_complete;
	struct nvsp1_msg_send_rndis_pkt rndis_pkt;
	struct nvsp1_msg_send_rndis_pkt_complete rndis_pkt_complete;
	struct nvsp2_msg_send_ndis_config ndis_config;
	struct nvsp4_msg_send_vf_association vf_association;
	struct nvsp4_msg_switch_data_path switch_data_path;
	struct nvsp5_msg_subchannel_request subchannel_request;
	struct nvsp5_msg_subchannel_complete subchannel_complete;
	struct nvsp5_msg_send_indirection_table indirection_table;
	struct nvsp6_pd_api_create_queue_comp pd_create_queue_comp;
	uint8_t raw[NVSP_MESSAGE_SIZE];
} __attribute__((packed));
VMBUS_WIRE_SIZE(union nvsp_message, 40);

#endif /* OPENVMBUS_WIRE_NVSP_H */
