/* SPDX-License-Identifier: MIT */
/*
 * VMBus wire formats: the SynIC message transport, protocol versions, the
 * channel-management messages, GPADL range records, the monitor page and the
 * pre-Win8 interrupt page.  Layer: wire (depends on nothing).  Sources: the
 * Hyper-V TLFS, Linux include/linux/hyperv.h and drivers/hv/hyperv_vmbus.h
 * (see docs/wire.md B1-B4, B7, B8).
 *
 * Every multi-byte field is little-endian.  The structs below are packed and
 * used in place on little-endian hosts only (asserted below).
 */
#ifndef OPENVMBUS_WIRE_VMBUS_H
#define OPENVMBUS_WIRE_VMBUS_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "wire structs are used in place: little-endian hosts only");

#define VMBUS_WIRE_CHECK(type, field, off)                                   \
	_Static_assert(offsetof(type, field) == (off),                       \
		       #type "." #field " at " #off)
#define VMBUS_WIRE_SIZE(type, size)                                          \
	_Static_assert(sizeof(type) == (size), #type " is " #size " bytes")

/* ---- B1: hypervisor message transport ---------------------------------- */

#define HV_PAGE_SIZE 4096u
#define HV_PAGE_SHIFT 12
#define HV_MESSAGE_SIZE 256u
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT 240u

/** Header of a 256-byte SynIC message slot. */
struct hv_message_header {
	uint32_t message_type; /**< 1 for VMBus channel messages */
	uint8_t payload_size;  /**< bytes used in payload */
	uint8_t message_flags; /**< bit0: message pending */
	uint16_t reserved;
	uint64_t sender;       /**< sender id / port id */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct hv_message_header, 16);

/** One SynIC message slot. */
struct hv_message {
	struct hv_message_header header;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct hv_message, 256);

/** HvPostMessage hypercall input page. */
struct hv_input_post_message {
	uint32_t connection_id; /**< target connection (1 or 4 for VMBus) */
	uint32_t reserved;
	uint32_t message_type;  /**< 1 for VMBus */
	uint32_t payload_size;  /**< bytes of payload used, <= 240 */
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct hv_input_post_message, 256);
VMBUS_WIRE_CHECK(struct hv_input_post_message, payload, 16);

#define HVMSG_VMBUS 1u                       /**< message_type of VMBus */
#define VMBUS_MESSAGE_CONNECTION_ID 1u       /**< port 1: messages < 5.0 */
#define VMBUS_EVENT_CONNECTION_ID 2u         /**< port 2: shared signal */
#define VMBUS_MONITOR_CONNECTION_ID 3u       /**< port 3: monitor page */
#define VMBUS_MESSAGE_CONNECTION_ID_4 4u     /**< INITIATE_CONTACT >= 5.0 */
#define VMBUS_MESSAGE_SINT 2u                /**< SINT VMBus messages use */
#define VMBUS_CHAN_CONNECTION_ID_BASE 0x2000u /**< relid | SINT2 << 12 */

/* ---- B2: protocol versions (major << 16 | minor) ----------------------- */

#define VMBUS_VERSION_WS2008 0x0000000Du  /**< 0.13 */
#define VMBUS_VERSION_WIN7 0x00010001u    /**< 1.1 */
#define VMBUS_VERSION_WIN8 0x00020004u    /**< 2.4 */
#define VMBUS_VERSION_WIN8_1 0x00030000u  /**< 3.0 */
#define VMBUS_VERSION_WIN10 0x00040000u   /**< 4.0 */
#define VMBUS_VERSION_WIN10_V4_1 0x00040001u
#define VMBUS_VERSION_WIN10_V5 0x00050000u
#define VMBUS_VERSION_WIN10_V5_1 0x00050001u
#define VMBUS_VERSION_WIN10_V5_2 0x00050002u
#define VMBUS_VERSION_WIN10_V5_3 0x00050003u
#define VMBUS_VERSION_WIN10_V6_0 0x00060000u
#define VMBUS_VERSION_COUNT 11

/* ---- B3: channel messages ---------------------------------------------- */

enum vmbus_channel_message_type {
	CHANNELMSG_INVALID = 0,
	CHANNELMSG_OFFERCHANNEL = 1,
	CHANNELMSG_RESCIND_CHANNELOFFER = 2,
	CHANNELMSG_REQUESTOFFERS = 3,
	CHANNELMSG_ALLOFFERS_DELIVERED = 4,
	CHANNELMSG_OPENCHANNEL = 5,
	CHANNELMSG_OPENCHANNEL_RESULT = 6,
	CHANNELMSG_CLOSECHANNEL = 7,
	CHANNELMSG_GPADL_HEADER = 8,
	CHANNELMSG_GPADL_BODY = 9,
	CHANNELMSG_GPADL_CREATED = 10,
	CHANNELMSG_GPADL_TEARDOWN = 11,
	CHANNELMSG_GPADL_TORNDOWN = 12,
	CHANNELMSG_RELID_RELEASED = 13,
	CHANNELMSG_INITIATE_CONTACT = 14,
	CHANNELMSG_VERSION_RESPONSE = 15,
	CHANNELMSG_UNLOAD = 16,
	CHANNELMSG_UNLOAD_RESPONSE = 17,
	CHANNELMSG_OPEN_RESERVED_CHANNEL = 18,
	CHANNELMSG_CLOSE_RESERVED_CHANNEL = 19,
	CHANNELMSG_CLOSE_RESERVED_RESPONSE = 20,
	CHANNELMSG_TL_CONNECT_REQUEST = 21,
	CHANNELMSG_MODIFYCHANNEL = 22,
	CHANNELMSG_TL_CONNECT_RESULT = 23,
	CHANNELMSG_MODIFYCHANNEL_RESPONSE = 24,
	CHANNELMSG_MODIFY_CONNECTION = 25,
	CHANNELMSG_MODIFY_CONNECTION_RESPONSE = 26,
	CHANNELMSG_PAUSE = 27,
	CHANNELMSG_PAUSE_RESPONSE = 28,
	CHANNELMSG_RESUME = 29,
	CHANNELMSG_COUNT
};

/** A GUID in its on-wire (Windows, mixed-endian) byte order. */
struct vmbus_guid {
	uint8_t b[16];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_guid, 16);

/** Header of every channel message. */
struct vmbus_channel_message_header {
	uint32_t msgtype; /**< enum vmbus_channel_message_type */
	uint32_t padding;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_message_header, 8);

/** OFFER_CHANNEL (1): the host offers a device channel. */
struct vmbus_channel_offer_channel {
	struct vmbus_channel_message_header header;
	struct vmbus_guid if_type;     /**< device class GUID */
	struct vmbus_guid if_instance; /**< device instance GUID */
	uint64_t int_latency;          /**< interrupt latency, 100 ns units */
	uint32_t if_revision;
	uint32_t server_ctx_size;
	uint16_t chn_flags;            /**< VMBUS_CHANNEL_* offer flags */
	uint16_t mmio_megabytes;       /**< MMIO space the device needs */
	uint8_t user_defined[120];     /**< device-specific offer data */
	uint16_t sub_channel_index;    /**< 0 = primary channel */
	uint16_t reserved;
	uint32_t child_relid;          /**< relid the guest names it by */
	uint8_t monitorid;             /**< monitor page bit, if allocated */
	uint8_t monitor_allocated;     /**< bit0: monitorid is valid */
	uint16_t is_dedicated_interrupt; /**< bit0: signal connection_id */
	uint32_t connection_id;        /**< connection id to signal */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_offer_channel, 196);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, if_type, 8);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, if_instance, 24);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, chn_flags, 56);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, mmio_megabytes, 58);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, user_defined, 60);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, sub_channel_index, 180);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, child_relid, 184);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, monitorid, 188);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, monitor_allocated, 189);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel,
		 is_dedicated_interrupt, 190);
VMBUS_WIRE_CHECK(struct vmbus_channel_offer_channel, connection_id, 192);

#define VMBUS_CHANNEL_ENUMERATE_DEVICE_INTERFACE 0x1u
#define VMBUS_CHANNEL_CONFIDENTIAL_RING_BUFFER 0x2u
#define VMBUS_CHANNEL_CONFIDENTIAL_EXTERNAL_MEMORY 0x4u
#define VMBUS_CHANNEL_NAMED_PIPE_MODE 0x10u
#define VMBUS_CHANNEL_LOOPBACK_OFFER 0x100u
#define VMBUS_CHANNEL_PARENT_OFFER 0x200u
#define VMBUS_CHANNEL_REQUEST_MONITORED_NOTIFICATION 0x400u
#define VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER 0x2000u

/** Messages that carry only a relid: RESCIND (2), CLOSE (7), RELID_RELEASED (13). */
struct vmbus_channel_relid_msg {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_relid_msg, 12);

/** OPEN_CHANNEL (5), and OpenChannel2 when the optional tail is present. */
struct vmbus_channel_open_channel {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t openid;                  /**< echoed in the result */
	uint32_t ringbuffer_gpadlhandle;  /**< GPADL covering both rings */
	uint32_t target_vp;               /**< VP for host->guest interrupts */
	uint32_t downstream_ringbuffer_pageoffset; /**< host->guest ring page */
	uint8_t userdata[120];            /**< device-specific open data */
	/* OpenChannel2 (6.0 + guest-specified signal parameters): */
	uint32_t connection_id;           /**< guest-chosen connection id */
	uint16_t event_flag;              /**< guest-chosen event flag */
	uint16_t flags;                   /**< bit0: redirect interrupt */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_open_channel, 156);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, ringbuffer_gpadlhandle, 16);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, target_vp, 20);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel,
		 downstream_ringbuffer_pageoffset, 24);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, userdata, 28);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, connection_id, 148);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, event_flag, 152);
VMBUS_WIRE_CHECK(struct vmbus_channel_open_channel, flags, 154);
#define VMBUS_OPEN_CHANNEL_SIZE 148u
#define VMBUS_OPEN_CHANNEL2_SIZE 156u

/** OPEN_CHANNEL_RESULT (6). */
struct vmbus_channel_open_result {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status; /**< 0 success, else an NTSTATUS-like failure */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_open_result, 20);

/**
 * One range of a GPADL or GPA-direct packet: byte_offset into the first
 * page, byte_count bytes, and as many PFNs as the span needs.
 */
struct vmbus_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset; /**< < 4096 */
	uint64_t pfn_array[];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_gpa_range, 8);

/** GPADL_HEADER (8): first message of a GPADL, ranges follow at 20. */
struct vmbus_channel_gpadl_header {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t gpadl;        /**< guest-chosen handle */
	uint16_t range_buflen; /**< bytes of all range records */
	uint16_t rangecount;   /**< number of range records */
	/* struct vmbus_gpa_range range[]; */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_gpadl_header, 20);

/** GPADL_BODY (9): continuation PFNs. */
struct vmbus_channel_gpadl_body {
	struct vmbus_channel_message_header header;
	uint32_t msgnumber;
	uint32_t gpadl;
	uint64_t pfn[];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_gpadl_body, 16);

#define VMBUS_GPADL_HEADER_MAX_PFNS 26u /**< (240 - 20 - 8) / 8 */
#define VMBUS_GPADL_BODY_MAX_PFNS 28u   /**< (240 - 16) / 8 */

/** GPADL_CREATED (10). */
struct vmbus_channel_gpadl_created {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status; /**< 0 success */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_gpadl_created, 20);

/** GPADL_TEARDOWN (11). */
struct vmbus_channel_gpadl_teardown {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t gpadl;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_gpadl_teardown, 16);

/** GPADL_TORNDOWN (12). */
struct vmbus_channel_gpadl_torndown {
	struct vmbus_channel_message_header header;
	uint32_t gpadl;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_gpadl_torndown, 12);

/** INITIATE_CONTACT (14); 56 bytes when a client id follows (6.0). */
struct vmbus_channel_initiate_contact {
	struct vmbus_channel_message_header header;
	uint32_t vmbus_version_requested;
	uint32_t target_vcpu; /**< VP for control-message interrupts */
	union {
		uint64_t interrupt_page; /**< GPA, versions < 5.0 */
		struct {
			uint8_t msg_sint;   /**< SINT for messages, >= 5.0 */
			uint8_t msg_vtl;
			uint8_t reserved[2];
			uint32_t feature_flags; /**< 6.0 */
		} __attribute__((packed));
	};
	uint64_t monitor_page1; /**< GPA, parent -> child */
	uint64_t monitor_page2; /**< GPA, child -> parent */
	struct vmbus_guid client_id; /**< 6.0 with VMBUS_FEATURE_CLIENT_ID */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_initiate_contact, 56);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, interrupt_page, 16);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, msg_sint, 16);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, feature_flags, 20);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, monitor_page1, 24);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, monitor_page2, 32);
VMBUS_WIRE_CHECK(struct vmbus_channel_initiate_contact, client_id, 40);
#define VMBUS_INITIATE_CONTACT_SIZE 40u
#define VMBUS_INITIATE_CONTACT2_SIZE 56u

/** VERSION_RESPONSE (15): 16 bytes; 20 (v2) and 40 (v3) at 6.0. */
struct vmbus_channel_version_response {
	struct vmbus_channel_message_header header;
	uint8_t version_supported; /**< 1 if the requested version is accepted */
	uint8_t connection_state;  /**< 0 ok, 1 low resources, 2 failure */
	uint16_t padding;
	uint32_t msg_conn_id;      /**< connection id for messages, >= 5.0 */
	uint32_t supported_features; /**< v2 */
	uint32_t padding2;         /**< v3 */
	uint64_t monitor_page1;    /**< v3: server-specified monitor pages */
	uint64_t monitor_page2;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_version_response, 40);
VMBUS_WIRE_CHECK(struct vmbus_channel_version_response, connection_state, 9);
VMBUS_WIRE_CHECK(struct vmbus_channel_version_response, msg_conn_id, 12);
VMBUS_WIRE_CHECK(struct vmbus_channel_version_response,
		 supported_features, 16);
VMBUS_WIRE_CHECK(struct vmbus_channel_version_response, monitor_page1, 24);
#define VMBUS_VERSION_RESPONSE_SIZE 16u
#define VMBUS_VERSION_RESPONSE2_SIZE 20u
#define VMBUS_VERSION_RESPONSE3_SIZE 40u

/** MODIFY_CHANNEL (22). */
struct vmbus_channel_modify_channel {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t target_vp;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_modify_channel, 16);

/** MODIFY_CHANNEL_RESPONSE (24). */
struct vmbus_channel_modify_channel_response {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t status;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_modify_channel_response, 16);

/** OPEN_RESERVED_CHANNEL (18). */
struct vmbus_channel_open_reserved {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t target_vp;
	uint32_t target_sint;
	uint32_t ringbuffer_gpadlhandle;
	uint32_t downstream_page_offset;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_open_reserved, 28);

/** CLOSE_RESERVED_CHANNEL (19). */
struct vmbus_channel_close_reserved {
	struct vmbus_channel_message_header header;
	uint32_t child_relid;
	uint32_t target_vp;
	uint32_t target_sint;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_close_reserved, 20);

/** TL_CONNECT_REQUEST (21); 56 bytes with a silo id (5.2). */
struct vmbus_channel_tl_connect_request {
	struct vmbus_channel_message_header header;
	struct vmbus_guid guest_endpoint_id;
	struct vmbus_guid host_service_id;
	struct vmbus_guid silo_id;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_tl_connect_request, 56);

/** TL_CONNECT_RESULT (23). */
struct vmbus_channel_tl_connect_result {
	struct vmbus_channel_message_header header;
	struct vmbus_guid guest_endpoint_id;
	struct vmbus_guid host_service_id;
	int32_t status;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_tl_connect_result, 44);

/** MODIFY_CONNECTION (25). */
struct vmbus_channel_modify_connection {
	struct vmbus_channel_message_header header;
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_modify_connection, 24);

/** MODIFY_CONNECTION_RESPONSE (26). */
struct vmbus_channel_modify_connection_response {
	struct vmbus_channel_message_header header;
	uint8_t connection_state;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_channel_modify_connection_response, 9);

/* 6.0 feature flags (INITIATE_CONTACT / VERSION_RESPONSE2). */
#define VMBUS_FEATURE_GUEST_SIGNAL_PARAMS 0x1u
#define VMBUS_FEATURE_INTERRUPT_REDIRECTION 0x2u
#define VMBUS_FEATURE_MODIFY_CONNECTION 0x4u
#define VMBUS_FEATURE_CLIENT_ID 0x8u
#define VMBUS_FEATURE_CONFIDENTIAL_CHANNELS 0x10u
#define VMBUS_FEATURE_PAUSE_RESUME 0x20u
#define VMBUS_FEATURE_SERVER_MONITOR_PAGES 0x40u
#define VMBUS_FEATURE_GPA_PINNING 0x80u

#define VMBUS_CONNECTION_STATE_OK 0u
#define VMBUS_CONNECTION_STATE_LOW_RESOURCES 1u
#define VMBUS_CONNECTION_STATE_FAILURE 2u

#define VMBUS_STATUS_SUCCESS 0x00000000u
#define VMBUS_STATUS_UNSUCCESSFUL 0x8000FFFFu
#define VMBUS_STATUS_CONNECTION_REFUSED 0xC0000236u

/* ---- B7: monitor page ---------------------------------------------------- */

/** Per-monitor-id signalling parameters. */
struct hv_monitor_parameter {
	uint32_t connection_id;
	uint16_t flag_number;
	uint16_t reserved;
} __attribute__((packed));

/** A trigger group: 32 monitor ids. */
struct hv_monitor_trigger_group {
	uint32_t pending; /**< bit n: monitor id group*32+n was signalled */
	uint32_t armed;
} __attribute__((packed));

/** The 4 KiB monitor page (two of them: parent->child, child->parent). */
struct hv_monitor_page {
	uint32_t trigger_state; /**< bits 0-3: group enable */
	uint32_t reserved1;
	struct hv_monitor_trigger_group trigger_group[4];
	uint64_t reserved2[3];
	int32_t next_checktime[4][32];
	uint16_t latency[4][32];
	uint64_t reserved3[32];
	struct hv_monitor_parameter parameter[4][32];
	uint8_t reserved4[1984];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct hv_monitor_page, 4096);
VMBUS_WIRE_CHECK(struct hv_monitor_page, trigger_group, 8);
VMBUS_WIRE_CHECK(struct hv_monitor_page, next_checktime, 64);
VMBUS_WIRE_CHECK(struct hv_monitor_page, latency, 576);
VMBUS_WIRE_CHECK(struct hv_monitor_page, parameter, 1088);
#define VMBUS_MONITOR_IDS 128u

/* ---- B1: pre-Win8 interrupt page ----------------------------------------- */

/** One 4 KiB page: host->guest bits, then guest->host bits; bit = relid. */
struct vmbus_interrupt_page {
	uint8_t recv[HV_PAGE_SIZE / 2]; /**< host -> guest */
	uint8_t send[HV_PAGE_SIZE / 2]; /**< guest -> host */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_interrupt_page, 4096);

/** Highest relid we hand out: the interrupt page half has 16384 bits. */
#define VMBUS_MAX_RELID 2047u

#endif /* OPENVMBUS_WIRE_VMBUS_H */
