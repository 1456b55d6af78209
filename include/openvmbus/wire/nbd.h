/* SPDX-License-Identifier: MIT */
/*
 * NBD wire format, transmission phase only: the 28-byte request, the
 * 16-byte simple reply, command types and flags, the transmission flags
 * the backend reads, and the error values a server may send.  Layer: wire
 * (depends on nothing).  Source: the NBD protocol (NetworkBlockDevice/nbd
 * doc/proto.md, "Transmission", "Request types", "Error values"); see
 * docs/wire.md B19.  The handshake stays libnbd's.
 *
 * Every multi-byte field is big-endian (network byte order) on the wire,
 * unlike the VMBus formats: the structs hold wire bytes, read and written
 * through be16toh/htobe32 and friends.
 */
#ifndef OPENVMBUS_WIRE_NBD_H
#define OPENVMBUS_WIRE_NBD_H

#include <stddef.h>
#include <stdint.h>

#define NBD_REQUEST_MAGIC 0x25609513u      /**< nbd_request.magic */
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u /**< nbd_simple_reply.magic */
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu /**< never accepted here */

/** Request types (nbd_request.type). */
enum nbd_cmd {
	NBD_CMD_READ = 0,  /**< reply carries length bytes of data */
	NBD_CMD_WRITE = 1, /**< request followed by length bytes */
	NBD_CMD_DISC = 2,  /**< no reply; offset and length zero */
	NBD_CMD_FLUSH = 3, /**< offset and length zero */
	NBD_CMD_TRIM = 4,
	NBD_CMD_CACHE = 5,
	NBD_CMD_WRITE_ZEROES = 6,
	NBD_CMD_BLOCK_STATUS = 7,
};

/** Command flags (nbd_request.flags). */
#define NBD_CMD_FLAG_FUA (1u << 0)     /**< reply once stable */
#define NBD_CMD_FLAG_NO_HOLE (1u << 1) /**< WRITE_ZEROES: allocate */

/** Transmission flags (from the handshake), the ones the backend reads. */
#define NBD_FLAG_HAS_FLAGS (1u << 0)
#define NBD_FLAG_READ_ONLY (1u << 1)
#define NBD_FLAG_SEND_FLUSH (1u << 2)
#define NBD_FLAG_SEND_FUA (1u << 3)
#define NBD_FLAG_SEND_TRIM (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_CAN_MULTI_CONN (1u << 8)

/** Error values (nbd_simple_reply.error); no other value is defined. */
#define NBD_EPERM 1u
#define NBD_EIO 5u
#define NBD_ENOMEM 12u
#define NBD_EINVAL 22u
#define NBD_ENOSPC 28u
#define NBD_EOVERFLOW 75u
#define NBD_ENOTSUP 95u
#define NBD_ESHUTDOWN 108u /**< the client MUST disconnect (NBD_CMD_DISC) */

/** C: one request; a WRITE's length bytes of data follow it. */
struct nbd_request {
	uint32_t magic;  /**< NBD_REQUEST_MAGIC */
	uint16_t flags;  /**< NBD_CMD_FLAG_* */
	uint16_t type;   /**< enum nbd_cmd */
	uint64_t cookie; /**< "handle": echoed in the reply */
	uint64_t offset; /**< bytes */
	uint32_t length; /**< bytes */
} __attribute__((packed));

/**
 * S: one simple reply; a READ's length bytes of data follow it when
 * error is 0 (none after an error).
 */
struct nbd_simple_reply {
	uint32_t magic;  /**< NBD_SIMPLE_REPLY_MAGIC */
	uint32_t error;  /**< 0 or an NBD_E* value */
	uint64_t cookie; /**< the request's */
} __attribute__((packed));

_Static_assert(sizeof(struct nbd_request) == 28, "NBD request: 28 bytes");
_Static_assert(offsetof(struct nbd_request, flags) == 4, "request flags");
_Static_assert(offsetof(struct nbd_request, type) == 6, "request type");
_Static_assert(offsetof(struct nbd_request, cookie) == 8, "request cookie");
_Static_assert(offsetof(struct nbd_request, offset) == 16, "request offset");
_Static_assert(offsetof(struct nbd_request, length) == 24, "request length");
_Static_assert(sizeof(struct nbd_simple_reply) == 16,
	       "NBD simple reply: 16 bytes");
_Static_assert(offsetof(struct nbd_simple_reply, error) == 4, "reply error");
_Static_assert(offsetof(struct nbd_simple_reply, cookie) == 8,
	       "reply cookie");

#endif /* OPENVMBUS_WIRE_NBD_H */
