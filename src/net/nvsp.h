/* SPDX-License-Identifier: MIT */
/*
 * NVSP codec: validates every NVSP message read from the peer against the
 * size, direction and version rules of its type and decodes it into struct
 * ovb_nvsp_msg; encodes that struct back into wire bytes.  Used by netvsp
 * (host) and netvsc (guest).  Layer: devices (shared codec, no channel
 * knowledge).  Spec: wire/nvsp.h, docs/wire.md B9 and B11.4.
 *
 * Size rules.  A message must hold its type's fields (header included);
 * anything shorter is -EBADMSG.  Linux sends every request as 40 bytes
 * (sizeof(struct nvsp_message)).  A Windows host sends no reply at all to a
 * request shorter than 32 bytes (FreeBSD if_hnreg.h, HN_NVS_REQSIZE_MIN),
 * so a guest that wants answers from Windows must pad; OpenVMM accepts
 * 28 bytes.  The parser accepts short requests that still hold their
 * fields and sets short_request, leaving the policy to the caller; the
 * encoder always pads to at least NVSP_MESSAGE_SIZE.
 *
 * All functions are pure and thread-safe.
 */
#ifndef OPENVMBUS_NVSP_H
#define OPENVMBUS_NVSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "openvmbus/wire/nvsp.h"

/** Versions in the order a guest proposes them: 6.1, 6, 5, 4, 2, 1. */
#define OVB_NVSP_VERSION_COUNT 6
extern const uint32_t ovb_nvsp_versions[OVB_NVSP_VERSION_COUNT];

/** ovb_nvsp_parse() version argument that disables version checks. */
#define OVB_NVSP_VERSION_ANY 0xFFFFFFFFu

/** Who sends the message: matters for direction checks and SUBCHANNEL. */
enum ovb_nvsp_dir {
	OVB_NVSP_TO_HOST = 0,  /**< guest (netvsc) -> host (netvsp) */
	OVB_NVSP_TO_GUEST = 1, /**< host -> guest */
};

/** A decoded NVSP message; the member of @u named after the type is valid. */
struct ovb_nvsp_msg {
	uint32_t type;      /**< enum nvsp_msg_type */
	bool short_request; /**< to host and < NVSP_MIN_REQUEST_SIZE bytes */
	union {
		struct {
			uint32_t min, max;
		} init;
		struct {
			uint32_t negotiated, max_mdl_chain_len, status;
		} init_complete;
		struct {
			uint32_t major, minor;
		} ndis_version;
		struct { /* SEND_RECV_BUF and SEND_SEND_BUF */
			uint32_t gpadl;
			uint16_t id;
		} send_buffer;
		struct {
			uint32_t status, num_sections;
			/** points into the parsed buffer */
			const struct nvsp1_receive_buffer_section *sections;
		} recv_buf_complete;
		struct { /* REVOKE_RECV_BUF and REVOKE_SEND_BUF */
			uint16_t id;
		} revoke;
		struct {
			uint32_t status, section_size;
		} send_buf_complete;
		struct {
			uint32_t channel_type, section_index, section_size;
		} rndis_pkt;
		struct {
			uint32_t status;
		} rndis_pkt_complete;
		struct {
			uint32_t mtu;
			uint64_t capability;
		} ndis_config;
		struct {
			uint32_t allocated, serial;
		} vf_association;
		struct {
			uint32_t active;
		} switch_data_path;
		struct {
			uint32_t op, num;
		} subchannel_request;
		struct {
			uint32_t status, num;
		} subchannel_complete;
		struct {
			uint32_t count;
			uint32_t table[NVSP_SEND_INDIRECTION_TABLE_SIZE];
		} indirection_table;
	} u;
};

/** True if @version is one of ovb_nvsp_versions. */
bool ovb_nvsp_version_known(uint32_t version);

/**
 * The NDIS version a guest announces after negotiating @nvsp_version, as
 * Linux does: 6.1 up to NVSP 4, 6.30 from NVSP 5 on.
 */
uint32_t ovb_nvsp_ndis_version(uint32_t nvsp_version);

/** A short name for a message type, for log lines ("SEND_RNDIS_PKT"). */
const char *ovb_nvsp_type_name(uint32_t type);

/**
 * Validate and decode one NVSP message of @len bytes sent in direction
 * @dir.  @version is the negotiated NVSP version, 0 before INIT completed
 * (then only INIT and INIT_COMPLETE are legal), or OVB_NVSP_VERSION_ANY.
 * Reads each field once.  Returns 0, or
 *  -EBADMSG     too short for its type, bad counts or offsets, unknown type;
 *  -EOPNOTSUPP  a known type we do not implement (chimney, VMQ, OID_QUERY_EX,
 *               PacketDirect, uplink state);
 *  -EPROTO      a type this direction never sends, or one newer than
 *               @version;
 *  -EINVAL      NULL arguments.
 */
int ovb_nvsp_parse(const void *buf, size_t len, enum ovb_nvsp_dir dir,
		   uint32_t version, struct ovb_nvsp_msg *msg);

/**
 * Encode @msg for direction @dir into @buf, zero-padded to at least
 * NVSP_MESSAGE_SIZE bytes.  SEND_INDIRECTION_TABLE places the table at
 * NVSP_INDIRECTION_TABLE_OFFSET.  Returns the byte count, -EMSGSIZE if
 * @cap is too small, or -EINVAL for a type we cannot encode or a count
 * that does not fit.
 */
ssize_t ovb_nvsp_encode(void *buf, size_t cap, enum ovb_nvsp_dir dir,
			const struct ovb_nvsp_msg *msg);

#endif /* OPENVMBUS_NVSP_H */
