// SPDX-License-Identifier: MIT
/*
 * RNDIS control messages: validation and decoding of INITIALIZE, QUERY,
 * SET, RESET, HALT, KEEPALIVE and INDICATE_STATUS requests and completions,
 * and the matching builder; 802.1Q PPI <-> TCI helpers.  Layer: devices
 * (shared by netvsp and netvsc).  Spec: wire/rndis.h; PACKET messages live
 * in rndis_pkt.c.
 *
 * Info and status buffer offsets count from the first body field (byte 8);
 * a buffer must start after the type's fixed fields and end inside msg_len.
 */
#include <errno.h>
#include <string.h>

#include "net/rndis.h"

/** Where a type keeps its info (or status) buffer length and offset. */
struct rndis_rule {
	uint32_t type;
	uint8_t fixed;   /**< bytes of fixed fields, header included */
	uint8_t len_at;  /**< byte position of the buffer length, 0: none */
	uint8_t off_at;  /**< byte position of the buffer offset */
};

static const struct rndis_rule rndis_rules[] = {
	{ RNDIS_MSG_PACKET, sizeof(struct rndis_packet), 0, 0 },
	{ RNDIS_MSG_INIT, sizeof(struct rndis_initialize_request), 0, 0 },
	{ RNDIS_MSG_INIT_C, sizeof(struct rndis_initialize_complete), 0, 0 },
	{ RNDIS_MSG_HALT, sizeof(struct rndis_halt_request), 0, 0 },
	{ RNDIS_MSG_QUERY, sizeof(struct rndis_oid_request),
	  offsetof(struct rndis_oid_request, info_buflen),
	  offsetof(struct rndis_oid_request, info_buf_offset) },
	{ RNDIS_MSG_QUERY_C, sizeof(struct rndis_query_complete),
	  offsetof(struct rndis_query_complete, info_buflen),
	  offsetof(struct rndis_query_complete, info_buf_offset) },
	{ RNDIS_MSG_SET, sizeof(struct rndis_oid_request),
	  offsetof(struct rndis_oid_request, info_buflen),
	  offsetof(struct rndis_oid_request, info_buf_offset) },
	{ RNDIS_MSG_SET_C, sizeof(struct rndis_set_complete), 0, 0 },
	{ RNDIS_MSG_RESET, sizeof(struct rndis_reset_request), 0, 0 },
	{ RNDIS_MSG_RESET_C, sizeof(struct rndis_reset_complete), 0, 0 },
	{ RNDIS_MSG_INDICATE, sizeof(struct rndis_indicate_status),
	  offsetof(struct rndis_indicate_status, status_buflen),
	  offsetof(struct rndis_indicate_status, status_buf_offset) },
	{ RNDIS_MSG_KEEPALIVE, sizeof(struct rndis_keepalive_request), 0, 0 },
	{ RNDIS_MSG_KEEPALIVE_C, sizeof(struct rndis_keepalive_complete), 0,
	  0 },
};

#define RNDIS_BODY 8u /* offsets count from here */

static const struct rndis_rule *rndis_rule_find(uint32_t type)
{
	for (size_t i = 0; i < sizeof(rndis_rules) / sizeof(rndis_rules[0]);
	     i++)
		if (rndis_rules[i].type == type)
			return &rndis_rules[i];
	return NULL;
}

/* One read of a little-endian u32 (hosts are little-endian, vmbus.h). */
static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Decode the type-specific fixed fields (size already checked). */
static void rndis_decode_fixed(const uint8_t *p, struct ovb_rndis_msg *msg)
{
	switch (msg->type) {
	case RNDIS_MSG_INIT:
		msg->request_id = ld32(p + 8);
		msg->u.init.major = ld32(p + 12);
		msg->u.init.minor = ld32(p + 16);
		msg->u.init.max_transfer_size = ld32(p + 20);
		break;
	case RNDIS_MSG_INIT_C:
		msg->request_id = ld32(p + 8);
		msg->status = ld32(p + 12);
		msg->u.init_c.major = ld32(p + 16);
		msg->u.init_c.minor = ld32(p + 20);
		msg->u.init_c.device_flags = ld32(p + 24);
		msg->u.init_c.medium = ld32(p + 28);
		msg->u.init_c.max_packets = ld32(p + 32);
		msg->u.init_c.max_transfer_size = ld32(p + 36);
		msg->u.init_c.align_factor = ld32(p + 40);
		break;
	case RNDIS_MSG_QUERY:
	case RNDIS_MSG_SET:
		msg->request_id = ld32(p + 8);
		msg->oid = ld32(p + 12);
		break;
	case RNDIS_MSG_RESET:
	case RNDIS_MSG_PACKET:
		break;
	case RNDIS_MSG_RESET_C:
		msg->status = ld32(p + 8);
		msg->u.reset_c.addressing_reset = ld32(p + 12);
		break;
	case RNDIS_MSG_INDICATE:
		msg->status = ld32(p + 8);
		break;
	case RNDIS_MSG_QUERY_C:
	case RNDIS_MSG_SET_C:
	case RNDIS_MSG_KEEPALIVE_C:
		msg->request_id = ld32(p + 8);
		msg->status = ld32(p + 12);
		break;
	default: /* HALT, KEEPALIVE */
		msg->request_id = ld32(p + 8);
		break;
	}
}

int ovb_rndis_parse(const void *buf, size_t len, struct ovb_rndis_msg *msg)
{
	const uint8_t *p = buf;
	const struct rndis_rule *r;
	uint32_t mlen, ilen, ioff;
	uint64_t start;

	if (!buf || !msg)
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	if (len < sizeof(struct rndis_msg_header))
		return -EBADMSG;
	msg->type = ld32(p);
	mlen = ld32(p + 4);
	if (msg->type == RNDIS_MSG_SET_EX)
		return -EOPNOTSUPP;
	r = rndis_rule_find(msg->type);
	if (!r || mlen < r->fixed || mlen > len)
		return -EBADMSG;
	msg->len = mlen;
	rndis_decode_fixed(p, msg);
	if (!r->len_at)
		return 0;
	ilen = ld32(p + r->len_at);
	ioff = ld32(p + r->off_at);
	if (ilen == 0)
		return 0;
	start = (uint64_t)RNDIS_BODY + ioff;
	if (start < r->fixed || start + ilen > mlen)
		return -EBADMSG;
	msg->info = p + start;
	msg->info_len = ilen;
	return 0;
}

/* Encode the type-specific fixed fields of @msg at @p. */
static void rndis_encode_fixed(uint8_t *p, const struct ovb_rndis_msg *msg)
{
	switch (msg->type) {
	case RNDIS_MSG_INIT:
		st32(p + 8, msg->request_id);
		st32(p + 12, msg->u.init.major);
		st32(p + 16, msg->u.init.minor);
		st32(p + 20, msg->u.init.max_transfer_size);
		break;
	case RNDIS_MSG_INIT_C:
		st32(p + 8, msg->request_id);
		st32(p + 12, msg->status);
		st32(p + 16, msg->u.init_c.major);
		st32(p + 20, msg->u.init_c.minor);
		st32(p + 24, msg->u.init_c.device_flags);
		st32(p + 28, msg->u.init_c.medium);
		st32(p + 32, msg->u.init_c.max_packets);
		st32(p + 36, msg->u.init_c.max_transfer_size);
		st32(p + 40, msg->u.init_c.align_factor);
		break;
	case RNDIS_MSG_QUERY:
	case RNDIS_MSG_SET:
		st32(p + 8, msg->request_id);
		st32(p + 12, msg->oid);
		break;
	case RNDIS_MSG_RESET:
		break;
	case RNDIS_MSG_RESET_C:
		st32(p + 8, msg->status);
		st32(p + 12, msg->u.reset_c.addressing_reset);
		break;
	case RNDIS_MSG_INDICATE:
		st32(p + 8, msg->status);
		break;
	case RNDIS_MSG_QUERY_C:
	case RNDIS_MSG_SET_C:
	case RNDIS_MSG_KEEPALIVE_C:
		st32(p + 8, msg->request_id);
		st32(p + 12, msg->status);
		break;
	default: /* HALT, KEEPALIVE */
		st32(p + 8, msg->request_id);
		break;
	}
}

ssize_t ovb_rndis_build(void *buf, size_t cap, const struct ovb_rndis_msg *msg)
{
	uint8_t *p = buf;
	const struct rndis_rule *r;
	size_t need;

	if (!buf || !msg || msg->type == RNDIS_MSG_PACKET)
		return -EINVAL;
	r = rndis_rule_find(msg->type);
	if (!r || (msg->info_len && (!r->len_at || !msg->info)))
		return -EINVAL;
	need = (size_t)r->fixed + msg->info_len;
	if (need > UINT32_MAX)
		return -EINVAL;
	if (cap < need)
		return -EMSGSIZE;
	memset(p, 0, r->fixed);
	st32(p, msg->type);
	st32(p + 4, (uint32_t)need);
	rndis_encode_fixed(p, msg);
	if (r->len_at) {
		/* Like Linux, name where the buffer starts even if empty. */
		st32(p + r->len_at, msg->info_len);
		st32(p + r->off_at, r->fixed - RNDIS_BODY);
		if (msg->info_len)
			memcpy(p + r->fixed, msg->info, msg->info_len);
	}
	return (ssize_t)need;
}

uint16_t ovb_rndis_vlan_to_tci(uint32_t vlan_info)
{
	uint32_t pri = vlan_info & NDIS_VLAN_INFO_PRI_MASK;
	uint32_t cfi = (vlan_info & NDIS_VLAN_INFO_CFI_MASK) ? 1 : 0;
	uint32_t vid = (vlan_info & NDIS_VLAN_INFO_ID_MASK) >>
		       NDIS_VLAN_INFO_ID_SHIFT;

	return (uint16_t)(pri << 13 | cfi << 12 | vid);
}

uint32_t ovb_rndis_tci_to_vlan(uint16_t tci)
{
	return (uint32_t)(tci >> 13) | (uint32_t)((tci >> 12) & 1) << 3 |
	       (uint32_t)(tci & 0xfff) << NDIS_VLAN_INFO_ID_SHIFT;
}
