/* SPDX-License-Identifier: MIT */
/*
 * VMBus ring buffer and packet wire formats: the ring control page, the
 * 16-byte packet descriptor, the 8-byte trailer, and the transfer-page and
 * GPA-direct packet headers.  Layer: wire.  Sources: Linux
 * include/linux/hyperv.h (struct hv_ring_buffer, vmpacket_descriptor),
 * docs/wire.md B5-B6.
 */
#ifndef OPENVMBUS_WIRE_RING_H
#define OPENVMBUS_WIRE_RING_H

#include "vmbus.h"

/**
 * The ring control page (first page of each ring).  The writer owns
 * write_index and pending_send_sz; the reader owns read_index and
 * interrupt_mask.  Indices are byte offsets into the data area that follows
 * the control page, multiples of 8 and smaller than the data size.
 */
struct vmbus_ring_control {
	uint32_t write_index;     /**< producer offset into the data area */
	uint32_t read_index;      /**< consumer offset into the data area */
	uint32_t interrupt_mask;  /**< 1: reader is draining, do not signal */
	uint32_t pending_send_sz; /**< bytes a blocked writer waits for */
	uint32_t reserved1[12];
	uint32_t feature_bits;    /**< bit0: pending_send_sz supported */
	uint8_t reserved2[HV_PAGE_SIZE - 68];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmbus_ring_control, 4096);
VMBUS_WIRE_CHECK(struct vmbus_ring_control, read_index, 4);
VMBUS_WIRE_CHECK(struct vmbus_ring_control, interrupt_mask, 8);
VMBUS_WIRE_CHECK(struct vmbus_ring_control, pending_send_sz, 12);
VMBUS_WIRE_CHECK(struct vmbus_ring_control, feature_bits, 64);

#define VMBUS_RING_FEAT_PENDING_SEND_SZ 0x1u

/** Packet types (vmpacket_descriptor.type). */
enum vmbus_packet_type {
	VM_PKT_INVALID = 0x0,
	VM_PKT_SYNCH = 0x1,
	VM_PKT_ADD_XFER_PAGESET = 0x2,
	VM_PKT_RM_XFER_PAGESET = 0x3,
	VM_PKT_ESTABLISH_GPADL = 0x4,
	VM_PKT_TEARDOWN_GPADL = 0x5,
	VM_PKT_DATA_INBAND = 0x6,
	VM_PKT_DATA_USING_XFER_PAGES = 0x7,
	VM_PKT_DATA_USING_GPADL = 0x8,
	VM_PKT_DATA_USING_GPA_DIRECT = 0x9,
	VM_PKT_CANCEL_REQUEST = 0xa,
	VM_PKT_COMP = 0xb,
	VM_PKT_DATA_USING_ADDITIONAL_PKT = 0xc,
	VM_PKT_ADDITIONAL_DATA = 0xd,
};

/** Descriptor flag: the sender wants a VM_PKT_COMP for this packet. */
#define VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED 0x1u

/** The 16-byte header of every ring packet. */
struct vmpacket_descriptor {
	uint16_t type;    /**< enum vmbus_packet_type */
	uint16_t offset8; /**< header length (start of payload) / 8 */
	uint16_t len8;    /**< packet length without trailer / 8 */
	uint16_t flags;   /**< VMBUS_DATA_PACKET_FLAG_* */
	uint64_t trans_id; /**< transaction id, echoed by completions */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmpacket_descriptor, 16);
VMBUS_WIRE_CHECK(struct vmpacket_descriptor, trans_id, 8);

/** The trailer after each packet: upper 32 bits = packet start offset. */
#define VMBUS_PKT_TRAILER_SIZE 8u

/** One range of a transfer-page packet, relative to the page set. */
struct vmtransfer_page_range {
	uint32_t byte_count;
	uint32_t byte_offset;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmtransfer_page_range, 8);

/** Header of a VM_PKT_DATA_USING_XFER_PAGES packet (type 7). */
struct vmtransfer_page_packet_header {
	struct vmpacket_descriptor d;
	uint16_t xfer_pageset_id; /**< which transfer page set */
	uint8_t sender_owns_set;
	uint8_t reserved;         /**< may be garbage */
	uint32_t range_cnt;
	struct vmtransfer_page_range ranges[];
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmtransfer_page_packet_header, 24);

/** Header of a VM_PKT_DATA_USING_GPA_DIRECT packet (type 9). */
struct vmdata_gpa_direct {
	struct vmpacket_descriptor d;
	uint32_t reserved; /**< may be garbage */
	uint32_t range_cnt; /**< number of vmbus_gpa_range records, >= 1 */
	/* struct vmbus_gpa_range range[]; */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct vmdata_gpa_direct, 24);

#endif /* OPENVMBUS_WIRE_RING_H */
