/* SPDX-License-Identifier: MIT */
/*
 * The openvmbus capture record: what every packet of a `vmbus host
 * --capture` pcapng file starts with (LINKTYPE_USER0, one interface per
 * partition).  Our own format, not Hyper-V's; docs/capture.md draws it and
 * share/wireshark/openvmbus.lua decodes it.  All fields little-endian.
 *
 * After the header come pkt_len bytes of the message or ring packet as it
 * crossed the bus, then data_len bytes of the guest memory its ranges
 * name (GPA-direct ranges or transfer pages, in range order), cut at the
 * capture's snap length.
 */
#ifndef OPENVMBUS_WIRE_CAPTURE_H
#define OPENVMBUS_WIRE_CAPTURE_H

#include "vmbus.h"

#define OVB_CAP_MAGIC 0x3143424fu /* "OBC1" */

enum ovb_cap_kind {
	OVB_CAP_MESSAGE = 1, /**< a channel message, link framing removed */
	OVB_CAP_PACKET = 2,  /**< a ring packet: descriptor and payload */
};

enum ovb_cap_dir {
	OVB_CAP_TO_HOST = 0,  /**< guest -> host */
	OVB_CAP_TO_GUEST = 1, /**< host -> guest */
};

/* ovb_cap_hdr.flags */
#define OVB_CAP_F_DATA_CUT 0x1     /**< referenced data cut at snap length */
#define OVB_CAP_F_DATA_UNKNOWN 0x2 /**< ranges not resolvable (see docs) */

struct ovb_cap_hdr {
	uint32_t magic;        /**< OVB_CAP_MAGIC */
	uint16_t hdr_len;      /**< bytes of this header (48) */
	uint8_t kind;          /**< enum ovb_cap_kind */
	uint8_t dir;           /**< enum ovb_cap_dir */
	uint32_t partition_id; /**< the host's partition number */
	uint32_t relid;        /**< channel (0: message about no channel) */
	uint16_t subidx;       /**< sub-channel index, 0 = primary */
	uint16_t flags;        /**< OVB_CAP_F_* */
	uint32_t pkt_len;      /**< message / packet bytes that follow */
	uint32_t data_len;     /**< referenced bytes that follow the packet */
	uint32_t data_orig;    /**< referenced bytes before the snap length */
	struct vmbus_guid class_id; /**< device class (zero if unknown) */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct ovb_cap_hdr, 48);

#endif
