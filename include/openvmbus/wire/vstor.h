/* SPDX-License-Identifier: MIT */
/*
 * VSTOR wire format: the storage protocol spoken over a VMBus channel between
 * storvsc (guest) and storvsp (host): protocol versions, operations, the
 * 64-byte vstor_packet and the SCSI request block (SRB) it carries, SRB
 * status and flag bits, the NTSTATUS values storvsp answers with, and the IDE
 * offer user data.  Layer: wire (depends on nothing but vmbus.h for the
 * check macros).  Sources: Linux drivers/scsi/storvsc_drv.c and OpenVMM
 * storvsp_protocol (see docs/wire.md B10).
 *
 * Size rule: before protocol 5.1 (WIN8) the SRB lacks its 16-byte Win8
 * extension, so both the SRB (36 bytes) and the whole packet (48 bytes) are
 * 16 bytes shorter on the wire; the struct below is the long form and a
 * pre-WIN8 packet is its first 48 bytes.
 */
#ifndef OPENVMBUS_WIRE_VSTOR_H
#define OPENVMBUS_WIRE_VSTOR_H

#include <stddef.h>
#include <stdint.h>

#include "vmbus.h"

/* ---- protocol versions: u16 major << 8 | minor ------------------------- */

#define VSTOR_VERSION(major, minor) ((uint16_t)(((major) << 8) | (minor)))
#define VSTOR_VERSION_MAJOR(v) ((uint8_t)((v) >> 8))
#define VSTOR_VERSION_MINOR(v) ((uint8_t)((v) & 0xff))

#define VSTOR_PROTO_VERSION_WIN6 0x0200u   /**< 2.0, Windows Server 2008 */
#define VSTOR_PROTO_VERSION_WIN7 0x0402u   /**< 4.2, Windows 7 / 2008 R2 */
#define VSTOR_PROTO_VERSION_WIN8 0x0501u   /**< 5.1: Win8 SRB extension */
#define VSTOR_PROTO_VERSION_WIN8_1 0x0600u /**< 6.0, "Blue" */
#define VSTOR_PROTO_VERSION_WIN10 0x0602u  /**< 6.2, "Threshold" */

/* ---- operations (vstor_packet.operation) ------------------------------- */

enum vstor_packet_operation {
	VSTOR_OPERATION_COMPLETE_IO = 1,          /**< reply to any request */
	VSTOR_OPERATION_REMOVE_DEVICE = 2,        /**< host: device going */
	VSTOR_OPERATION_EXECUTE_SRB = 3,          /**< guest: run one SRB */
	VSTOR_OPERATION_RESET_LUN = 4,
	VSTOR_OPERATION_RESET_ADAPTER = 5,
	VSTOR_OPERATION_RESET_BUS = 6,
	VSTOR_OPERATION_BEGIN_INITIALIZATION = 7, /**< first init step */
	VSTOR_OPERATION_END_INITIALIZATION = 8,   /**< last init step */
	VSTOR_OPERATION_QUERY_PROTOCOL_VERSION = 9,
	VSTOR_OPERATION_QUERY_PROPERTIES = 10,
	VSTOR_OPERATION_ENUMERATE_BUS = 11,       /**< host: rescan the bus */
	VSTOR_OPERATION_FCHBA_DATA = 12,          /**< FC WWN query */
	VSTOR_OPERATION_CREATE_SUB_CHANNELS = 13,
	VSTOR_OPERATION_EVENT_NOTIFICATION = 14,  /**< OpenVMM only */
};
#define VSTOR_OPERATION_MAX 14u

/* ---- vstor_packet.flags ------------------------------------------------ */

/** The sender wants a COMPLETE_IO answer to this packet. */
#define VSTOR_FLAG_REQUEST_COMPLETION 0x1u

/* ---- sizes ------------------------------------------------------------- */

#define VSTOR_MAX_CDB_LEN 16u            /**< bytes of CDB an SRB can hold */
#define VSTOR_SENSE_SIZE_WIN8 0x14u      /**< sense bytes, >= 5.1 */
#define VSTOR_SENSE_SIZE_PRE_WIN8 0x12u  /**< sense bytes, < 5.1 */
#define VSTOR_SRB_BUF_LEN 20u            /**< the CDB/sense union */
#define VSTOR_SRB_SIZE_WIN8 52u          /**< SRB with Win8 extension */
#define VSTOR_SRB_SIZE_PRE_WIN8 36u      /**< SRB before 5.1 */
#define VSTOR_SIZE_DELTA 16u             /**< the Win8 extension's bytes */
#define VSTOR_PACKET_SIZE_WIN8 64u       /**< packet bytes, >= 5.1 */
#define VSTOR_PACKET_SIZE_PRE_WIN8 48u   /**< packet bytes, < 5.1 */
#define VSTOR_PAYLOAD_SIZE 0x34u         /**< the packet's union */

/** The tail Windows 8 added to the SRB (protocol >= 5.1). */
struct vmscsi_win8_extension {
	uint16_t reserve;
	uint8_t queue_tag;       /**< SCSI queue tag */
	uint8_t queue_action;    /**< SCSI queue action (simple, ordered...) */
	uint32_t srb_flags;      /**< VSTOR_SRB_FLAGS_* */
	uint32_t time_out_value; /**< command timeout, seconds */
	uint32_t queue_sort_key; /**< sort key, usually the LBA */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmscsi_win8_extension, 16);

/** The SCSI request block of EXECUTE_SRB and its COMPLETE_IO. */
struct vmscsi_request {
	uint16_t length;          /**< SRB bytes the sender filled (36/52) */
	uint8_t srb_status;       /**< reply: VSTOR_SRB_STATUS_* */
	uint8_t scsi_status;      /**< reply: SCSI status byte (SAM) */
	uint8_t port_number;      /**< adapter port */
	uint8_t path_id;          /**< bus / channel */
	uint8_t target_id;        /**< SCSI target */
	uint8_t lun;              /**< logical unit */
	uint8_t cdb_length;       /**< request: CDB bytes, 1..16 */
	uint8_t sense_info_length; /**< request: sense room; reply: bytes */
	uint8_t data_in;          /**< VSTOR_DATA_* direction */
	uint8_t reserved;
	uint32_t data_transfer_length; /**< request: buffer bytes; reply: moved */
	union {
		uint8_t cdb[VSTOR_MAX_CDB_LEN];     /**< request: the CDB */
		uint8_t sense_data[VSTOR_SENSE_SIZE_WIN8]; /**< reply: sense */
		uint8_t reserved_array[VSTOR_SRB_BUF_LEN];
	};
	struct vmscsi_win8_extension win8_extension; /**< >= 5.1 only */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmscsi_request, VSTOR_SRB_SIZE_WIN8);
VMBUS_WIRE_CHECK(struct vmscsi_request, srb_status, 2);
VMBUS_WIRE_CHECK(struct vmscsi_request, scsi_status, 3);
VMBUS_WIRE_CHECK(struct vmscsi_request, port_number, 4);
VMBUS_WIRE_CHECK(struct vmscsi_request, path_id, 5);
VMBUS_WIRE_CHECK(struct vmscsi_request, target_id, 6);
VMBUS_WIRE_CHECK(struct vmscsi_request, lun, 7);
VMBUS_WIRE_CHECK(struct vmscsi_request, cdb_length, 8);
VMBUS_WIRE_CHECK(struct vmscsi_request, sense_info_length, 9);
VMBUS_WIRE_CHECK(struct vmscsi_request, data_in, 10);
VMBUS_WIRE_CHECK(struct vmscsi_request, data_transfer_length, 12);
VMBUS_WIRE_CHECK(struct vmscsi_request, cdb, 16);
VMBUS_WIRE_CHECK(struct vmscsi_request, sense_data, 16);
VMBUS_WIRE_CHECK(struct vmscsi_request, win8_extension, 36);
VMBUS_WIRE_CHECK(struct vmscsi_request, win8_extension.queue_tag, 38);
VMBUS_WIRE_CHECK(struct vmscsi_request, win8_extension.srb_flags, 40);
VMBUS_WIRE_CHECK(struct vmscsi_request, win8_extension.time_out_value, 44);
VMBUS_WIRE_CHECK(struct vmscsi_request, win8_extension.queue_sort_key, 48);
_Static_assert(VSTOR_SRB_SIZE_WIN8 - VSTOR_SIZE_DELTA ==
		       VSTOR_SRB_SIZE_PRE_WIN8,
	       "pre-Win8 SRB is the Win8 SRB without its extension");

/* vmscsi_request.data_in */
#define VSTOR_DATA_WRITE 0u   /**< data out: guest -> device */
#define VSTOR_DATA_READ 1u    /**< data in: device -> guest */
#define VSTOR_DATA_UNKNOWN 2u /**< no data, or direction not known */

/** QUERY_PROPERTIES reply payload. */
struct vmstorage_channel_properties {
	uint32_t reserved;
	uint16_t max_channel_count;  /**< sub-channels the host can create */
	uint16_t reserved1;
	uint32_t flags;              /**< VSTOR_PROPERTY_* */
	uint32_t max_transfer_bytes; /**< largest data buffer of one SRB */
	uint64_t reserved2;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmstorage_channel_properties, 24);
VMBUS_WIRE_CHECK(struct vmstorage_channel_properties, max_channel_count, 4);
VMBUS_WIRE_CHECK(struct vmstorage_channel_properties, flags, 8);
VMBUS_WIRE_CHECK(struct vmstorage_channel_properties, max_transfer_bytes, 12);
VMBUS_WIRE_CHECK(struct vmstorage_channel_properties, reserved2, 16);

/** vmstorage_channel_properties.flags: sub-channels are supported. */
#define VSTOR_PROPERTY_SUPPORTS_MULTI_CHANNEL 0x1u

/** QUERY_PROTOCOL_VERSION payload (guest proposal). */
struct vmstorage_protocol_version {
	uint16_t major_minor; /**< VSTOR_PROTO_VERSION_* */
	uint16_t revision;    /**< always 0 */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmstorage_protocol_version, 4);

/** EVENT_NOTIFICATION payload (OpenVMM): which LUN changed. */
struct vmstorage_event_notification {
	uint8_t lun;
	uint8_t target;
	uint8_t path;
	uint8_t flags;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmstorage_event_notification, 4);

/** FCHBA_DATA reply payload: the adapter's Fibre Channel names. */
struct vmstorage_fc_wwn {
	uint8_t primary_active;       /**< 1 if the primary WWNs are in use */
	uint8_t reserved1[3];
	uint8_t primary_port_wwn[8];
	uint8_t primary_node_wwn[8];
	uint8_t secondary_port_wwn[8];
	uint8_t secondary_node_wwn[8];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmstorage_fc_wwn, 36);

/** Every VSTOR message: 64 bytes (>= 5.1) or its first 48 (< 5.1). */
struct vstor_packet {
	uint32_t operation; /**< enum vstor_packet_operation */
	uint32_t flags;     /**< VSTOR_FLAG_* */
	uint32_t status;    /**< reply: NTSTATUS (VSTOR_STATUS_*) */
	union {
		struct vmscsi_request vm_srb;
		struct vmstorage_channel_properties storage_channel_properties;
		struct vmstorage_protocol_version version;
		struct vmstorage_fc_wwn wwn;
		struct vmstorage_event_notification event;
		uint16_t sub_channel_count; /**< CREATE_SUB_CHANNELS count */
		uint8_t buffer[VSTOR_PAYLOAD_SIZE];
	};
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vstor_packet, VSTOR_PACKET_SIZE_WIN8);
VMBUS_WIRE_CHECK(struct vstor_packet, flags, 4);
VMBUS_WIRE_CHECK(struct vstor_packet, status, 8);
VMBUS_WIRE_CHECK(struct vstor_packet, vm_srb, 12);
VMBUS_WIRE_CHECK(struct vstor_packet, storage_channel_properties, 12);
VMBUS_WIRE_CHECK(struct vstor_packet, version, 12);
VMBUS_WIRE_CHECK(struct vstor_packet, sub_channel_count, 12);
VMBUS_WIRE_CHECK(struct vstor_packet, event, 12);
VMBUS_WIRE_CHECK(struct vstor_packet, vm_srb.win8_extension, 48);
_Static_assert(VSTOR_PACKET_SIZE_WIN8 - VSTOR_SIZE_DELTA ==
		       VSTOR_PACKET_SIZE_PRE_WIN8,
	       "pre-Win8 packet is the Win8 packet without the extension");

/* ---- SRB status (vmscsi_request.srb_status) ---------------------------- */

#define VSTOR_SRB_STATUS_PENDING 0x00u
#define VSTOR_SRB_STATUS_SUCCESS 0x01u
#define VSTOR_SRB_STATUS_ABORTED 0x02u
#define VSTOR_SRB_STATUS_ERROR 0x04u
#define VSTOR_SRB_STATUS_INVALID_REQUEST 0x06u
#define VSTOR_SRB_STATUS_NO_DEVICE 0x08u
#define VSTOR_SRB_STATUS_TIMEOUT 0x09u
#define VSTOR_SRB_STATUS_SELECTION_TIMEOUT 0x0Au
#define VSTOR_SRB_STATUS_BUS_RESET 0x0Eu
#define VSTOR_SRB_STATUS_DATA_OVERRUN 0x12u   /**< over- or underrun */
#define VSTOR_SRB_STATUS_INVALID_LUN 0x20u
#define VSTOR_SRB_STATUS_INTERNAL_ERROR 0x30u
#define VSTOR_SRB_STATUS_QUEUE_FROZEN 0x40u   /**< flag bit */
#define VSTOR_SRB_STATUS_AUTOSENSE_VALID 0x80u /**< flag bit: sense valid */
#define VSTOR_SRB_STATUS(s) ((s) & 0x3Fu)     /**< status without flags */

/* ---- SRB flags (win8_extension.srb_flags) ------------------------------ */

#define VSTOR_SRB_FLAGS_QUEUE_ACTION_ENABLE 0x00000002u
#define VSTOR_SRB_FLAGS_DISABLE_DISCONNECT 0x00000004u
#define VSTOR_SRB_FLAGS_DISABLE_SYNCH_TRANSFER 0x00000008u
#define VSTOR_SRB_FLAGS_BYPASS_FROZEN_QUEUE 0x00000010u
#define VSTOR_SRB_FLAGS_DISABLE_AUTOSENSE 0x00000020u
#define VSTOR_SRB_FLAGS_DATA_IN 0x00000040u
#define VSTOR_SRB_FLAGS_DATA_OUT 0x00000080u
#define VSTOR_SRB_FLAGS_NO_DATA_TRANSFER 0x00000000u
#define VSTOR_SRB_FLAGS_NO_QUEUE_FREEZE 0x00000100u
#define VSTOR_SRB_FLAGS_ADAPTER_CACHE_ENABLE 0x00000200u
#define VSTOR_SRB_FLAGS_FREE_SENSE_BUFFER 0x00000400u

/* ---- NTSTATUS values storvsp answers with (vstor_packet.status) -------- */

#define VSTOR_STATUS_SUCCESS 0x00000000u
#define VSTOR_STATUS_BUFFER_OVERFLOW 0x80000005u
#define VSTOR_STATUS_DEVICE_BUSY 0x80000011u
#define VSTOR_STATUS_UNSUCCESSFUL 0xC0000001u
#define VSTOR_STATUS_INVALID_PARAMETER 0xC000000Du
#define VSTOR_STATUS_INVALID_DEVICE_REQUEST 0xC0000010u
#define VSTOR_STATUS_REVISION_MISMATCH 0xC0000059u
#define VSTOR_STATUS_DEVICE_NOT_CONNECTED 0xC000009Du
#define VSTOR_STATUS_IO_TIMEOUT 0xC00000B5u
#define VSTOR_STATUS_DEVICE_DOES_NOT_EXIST 0xC00000C0u
#define VSTOR_STATUS_CANCELLED 0xC0000120u
#define VSTOR_STATUS_INVALID_DEVICE_STATE 0xC0000184u
#define VSTOR_STATUS_IO_DEVICE_ERROR 0xC0000185u

/* ---- class GUIDs (wire byte order) ------------------------------------ */

/** Synthetic SCSI controller: ba6163d9-04a1-4d29-b605-72e2ffb1dc7f. */
#define VSTOR_SCSI_CLASS_GUID                                                  \
	{ { 0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d, 0xb6, 0x05, 0x72, \
	    0xe2, 0xff, 0xb1, 0xdc, 0x7f } }
/** IDE accelerator: 32412632-86cb-44a2-9b5c-50d1417354f5. */
#define VSTOR_IDE_CLASS_GUID                                                   \
	{ { 0x32, 0x26, 0x41, 0x32, 0xcb, 0x86, 0xa2, 0x44, 0x9b, 0x5c, 0x50, \
	    0xd1, 0x41, 0x73, 0x54, 0xf5 } }

/* ---- offer user-defined data of a storage channel ---------------------- */

/**
 * The first bytes of vmbus_channel_offer_channel.user_defined for a storage
 * controller.  Old Windows drivers read it to place an IDE disk; Linux and
 * newer drivers use the instance GUID instead.
 */
struct vstor_offer_properties {
	uint16_t reserved;
	uint8_t path_id;   /**< IDE channel (0/1) */
	uint8_t target_id; /**< IDE device on the channel (0/1) */
	uint32_t reserved2;
	uint32_t flags;    /**< VSTOR_OFFER_FLAG_* */
	uint32_t reserved3[3];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vstor_offer_properties, 24);
VMBUS_WIRE_CHECK(struct vstor_offer_properties, path_id, 2);
VMBUS_WIRE_CHECK(struct vstor_offer_properties, target_id, 3);
VMBUS_WIRE_CHECK(struct vstor_offer_properties, flags, 8);

/** vstor_offer_properties.flags: the controller is an IDE accelerator. */
#define VSTOR_OFFER_FLAG_IDE_DEVICE 0x2u

#endif /* OPENVMBUS_WIRE_VSTOR_H */
