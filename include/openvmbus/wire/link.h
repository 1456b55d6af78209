/* SPDX-License-Identifier: MIT */
/*
 * The partition link protocol v1 (docs/link.md): datagrams on a
 * unix SOCK_SEQPACKET socket between the host process and one guest
 * partition process.  Every datagram is {le32 type, le32 body_length,
 * body}; bodies have exactly the sizes below, except ERROR whose text runs
 * to the end of the datagram.  This format is ours, not Hyper-V's: it
 * carries the hypervisor services VMBus rides on (HvPostMessage, SynIC
 * messages, HvSignalEvent) and guest RAM.
 */
#ifndef OPENVMBUS_WIRE_LINK_H
#define OPENVMBUS_WIRE_LINK_H

#include "vmbus.h"

#define OVB_LINK_VERSION 1u

enum ovb_link_type {
	OVB_LINK_HELLO = 1,        /**< G->H: partition starts */
	OVB_LINK_MEM_REGION = 2,   /**< G->H: guest RAM region + memfd */
	OVB_LINK_WELCOME = 3,      /**< H->G: partition accepted */
	OVB_LINK_POST_MESSAGE = 4, /**< G->H: HvPostMessage */
	OVB_LINK_MESSAGE = 5,      /**< H->G: SynIC message to a SINT */
	OVB_LINK_SIGNAL_EVENT = 6, /**< G->H: HvSignalEvent (slow path) */
	OVB_LINK_EVENT = 7,        /**< H->G: channel event flag (slow path) */
	OVB_LINK_EVENT_FDS = 8,    /**< G->H: kick + call eventfds */
	OVB_LINK_ERROR = 9,        /**< either: protocol error, then close */
};

/** Every datagram starts with this. */
struct ovb_link_hdr {
	uint32_t type;        /**< enum ovb_link_type */
	uint32_t body_length; /**< bytes after this header */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_hdr, 8);

struct ovb_link_hello {
	uint32_t link_version; /**< OVB_LINK_VERSION */
	uint32_t vp_count;     /**< virtual processors */
	char name[64];         /**< partition name, NUL-padded */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_hello, 72);

struct ovb_link_mem_region {
	uint64_t gpa;       /**< guest physical base, page aligned */
	uint64_t size;      /**< bytes, page multiple */
	uint64_t fd_offset; /**< offset of gpa in the memfd sent alongside */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_mem_region, 24);

struct ovb_link_welcome {
	uint32_t link_version;
	uint32_t features; /**< 0 in v1 */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_welcome, 8);

/** POST_MESSAGE (connection_id) and MESSAGE (sint) share one layout. */
struct ovb_link_message {
	uint32_t id;           /**< connection id (POST) or SINT (MESSAGE) */
	uint32_t message_type; /**< 1: VMBus */
	uint32_t payload_size; /**< <= 240 */
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT]; /**< unused bytes 0 */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_message, 252);

/** SIGNAL_EVENT (connection_id) and EVENT (child_relid). */
struct ovb_link_event {
	uint32_t id;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_event, 4);

struct ovb_link_event_fds {
	uint32_t child_relid;
	uint32_t connection_id;
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_event_fds, 8);

struct ovb_link_error {
	uint32_t code; /**< a positive errno */
	/* char text[]; up to the end of the datagram */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_link_error, 4);

#define OVB_LINK_ERROR_TEXT_MAX 256u
/** Largest datagram: header + MESSAGE. */
#define OVB_LINK_MAX_DGRAM (8u + 4u + OVB_LINK_ERROR_TEXT_MAX)

#endif
