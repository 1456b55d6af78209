/* SPDX-License-Identifier: MIT */
/*
 * The echo test device: openvmbus's own small protocol under a private
 * class GUID (9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19), so the bus can be
 * exercised end to end without a real device.  Every request is one
 * in-band or GPA-direct packet starting with struct echo_msg; replies are
 * completions (VM_PKT_COMP) when the request asked for one.
 */
#ifndef OPENVMBUS_WIRE_ECHO_H
#define OPENVMBUS_WIRE_ECHO_H

#include "vmbus.h"

enum echo_op {
	ECHO_OP_PING = 1,        /**< reply with the same bytes */
	ECHO_OP_SUM = 2,         /**< GPA direct: reply FNV-1a 64 of the pages */
	ECHO_OP_FILL = 3,        /**< GPA direct: write byte i = arg + i */
	ECHO_OP_SET_BUFFER = 4,  /**< arg = GPADL of a receive buffer */
	ECHO_OP_XFER = 5,        /**< send a transfer-page packet of len bytes */
	ECHO_OP_SUBCHANNELS = 6, /**< offer arg sub-channels */
	ECHO_OP_DROP_BUFFER = 7, /**< release the receive buffer */
	ECHO_OP_SINK = 8,        /**< count the bytes, reply nothing */
	ECHO_OP_HOTADD = 9,      /**< offer one more echo device (test aid) */
	ECHO_OP_RESCIND = 10,    /**< rescind echo device relid arg (test aid) */
	/**
	 * Count the bytes; when the packet asks for a completion, an 8-byte
	 * one (the shape of NVSP's SEND_RNDIS_PKT and its completion).
	 */
	ECHO_OP_STREAM = 11,
};

/** Header of every echo request and reply. */
struct echo_msg {
	uint32_t op;     /**< enum echo_op */
	uint32_t status; /**< reply: 0 or a positive errno */
	uint64_t arg;    /**< op argument / reply value */
	uint32_t len;    /**< bytes of data that follow / transfer length */
	uint32_t reserved;
	/* uint8_t data[len]; */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct echo_msg, 24);

/** Class GUID 9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19 in wire byte order. */
#define ECHO_CLASS_GUID                                                      \
	{ { 0x1d, 0x5e, 0x2c, 0x9a, 0x3f, 0x7b, 0x8e, 0x4c, 0xa1, 0xd6, 0x0e,  \
	    0x5f, 0x4b, 0x3a, 0x2c, 0x19 } }

/**
 * OPEN_CHANNEL user data of the echo device: poll_us != 0 puts the host
 * side of the channel in polling mode (spin that long before sleeping);
 * ECHO_OPEN_STREAM in flags treats the channel as netvsp treats a NIC's:
 * adaptive spinning and the completions of one drain sent as one batch.
 */
struct echo_open_data {
	uint32_t magic;   /**< ECHO_OPEN_MAGIC */
	uint32_t poll_us;
	uint32_t flags;   /**< ECHO_OPEN_*; older guests leave it 0 */
} __attribute__((packed));
#define ECHO_OPEN_STREAM 0x1u
#define ECHO_OPEN_MAGIC 0x4f484345u /* "ECHO" */

/** Transfer-page set id the echo device uses. */
#define ECHO_XFER_PAGESET 0xEC

#endif
