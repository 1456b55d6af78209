// SPDX-License-Identifier: MIT
/*
 * NVSP codec: one rule per message type (minimum size, senders, first
 * version), a validator that decodes into struct ovb_nvsp_msg, and the
 * matching encoder.  Layer: devices (shared by netvsp and netvsc).  Spec:
 * wire/nvsp.h and docs/wire.md B9.
 */
#include <errno.h>
#include <string.h>

#include "net/nvsp.h"

const uint32_t ovb_nvsp_versions[OVB_NVSP_VERSION_COUNT] = {
	NVSP_PROTOCOL_VERSION_61, NVSP_PROTOCOL_VERSION_6,
	NVSP_PROTOCOL_VERSION_5,  NVSP_PROTOCOL_VERSION_4,
	NVSP_PROTOCOL_VERSION_2,  NVSP_PROTOCOL_VERSION_1,
};

#define TO_HOST (1u << OVB_NVSP_TO_HOST)
#define TO_GUEST (1u << OVB_NVSP_TO_GUEST)
#define BOTH (TO_HOST | TO_GUEST)

/** What a message type needs: size with header, senders, first version. */
struct nvsp_rule {
	uint32_t type;
	uint8_t min_len;
	uint8_t dirs;      /**< TO_HOST / TO_GUEST bits; 0: not implemented */
	uint32_t min_ver;  /**< 0: legal before negotiation */
	const char *name;
};

static const struct nvsp_rule nvsp_rules[] = {
	{ NVSP_MSG_TYPE_INIT, 12, TO_HOST, 0, "INIT" },
	{ NVSP_MSG_TYPE_INIT_COMPLETE, 16, TO_GUEST, 0, "INIT_COMPLETE" },
	{ NVSP_MSG1_TYPE_SEND_NDIS_VER, 12, TO_HOST, NVSP_PROTOCOL_VERSION_1,
	  "SEND_NDIS_VERSION" },
	{ NVSP_MSG1_TYPE_SEND_RECV_BUF, 10, TO_HOST, NVSP_PROTOCOL_VERSION_1,
	  "SEND_RECV_BUF" },
	{ NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE, 12, TO_GUEST,
	  NVSP_PROTOCOL_VERSION_1, "SEND_RECV_BUF_COMPLETE" },
	{ NVSP_MSG1_TYPE_REVOKE_RECV_BUF, 6, TO_HOST, NVSP_PROTOCOL_VERSION_1,
	  "REVOKE_RECV_BUF" },
	{ NVSP_MSG1_TYPE_SEND_SEND_BUF, 10, TO_HOST, NVSP_PROTOCOL_VERSION_1,
	  "SEND_SEND_BUF" },
	{ NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE, 12, TO_GUEST,
	  NVSP_PROTOCOL_VERSION_1, "SEND_SEND_BUF_COMPLETE" },
	{ NVSP_MSG1_TYPE_REVOKE_SEND_BUF, 6, TO_HOST, NVSP_PROTOCOL_VERSION_1,
	  "REVOKE_SEND_BUF" },
	{ NVSP_MSG1_TYPE_SEND_RNDIS_PKT, 16, BOTH, NVSP_PROTOCOL_VERSION_1,
	  "SEND_RNDIS_PKT" },
	{ NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE, 8, BOTH,
	  NVSP_PROTOCOL_VERSION_1, "SEND_RNDIS_PKT_COMPLETE" },
	{ NVSP_MSG2_TYPE_SEND_NDIS_CONFIG, 20, TO_HOST,
	  NVSP_PROTOCOL_VERSION_2, "SEND_NDIS_CONFIG" },
	{ NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION, 12, TO_GUEST,
	  NVSP_PROTOCOL_VERSION_4, "SEND_VF_ASSOCIATION" },
	{ NVSP_MSG4_TYPE_SWITCH_DATA_PATH, 8, BOTH, NVSP_PROTOCOL_VERSION_4,
	  "SWITCH_DATA_PATH" },
	{ NVSP_MSG4_TYPE_UPLINK_CONNECT_STATE_DEPRECATED, 4, 0,
	  NVSP_PROTOCOL_VERSION_4, "UPLINK_CONNECT_STATE" },
	{ NVSP_MSG5_TYPE_OID_QUERY_EX, 4, 0, NVSP_PROTOCOL_VERSION_5,
	  "OID_QUERY_EX" },
	{ NVSP_MSG5_TYPE_OID_QUERY_EX_COMP, 4, 0, NVSP_PROTOCOL_VERSION_5,
	  "OID_QUERY_EX_COMP" },
	{ NVSP_MSG5_TYPE_SUBCHANNEL, 12, BOTH, NVSP_PROTOCOL_VERSION_5,
	  "SUBCHANNEL" },
	{ NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE, 12, TO_GUEST,
	  NVSP_PROTOCOL_VERSION_5, "SEND_INDIRECTION_TABLE" },
	{ NVSP_MSG6_TYPE_PD_API, 4, 0, NVSP_PROTOCOL_VERSION_61, "PD_API" },
	{ NVSP_MSG6_TYPE_PD_POST_BATCH, 4, 0, NVSP_PROTOCOL_VERSION_61,
	  "PD_POST_BATCH" },
};

/* Version 2's chimney and VMQ messages: known, never implemented. */
static const struct nvsp_rule nvsp_rule_v2_legacy = {
	0, 4, 0, NVSP_PROTOCOL_VERSION_2, "V2_CHIMNEY_OR_VMQ"
};

static const struct nvsp_rule *nvsp_rule_find(uint32_t type)
{
	for (size_t i = 0; i < sizeof(nvsp_rules) / sizeof(nvsp_rules[0]); i++)
		if (nvsp_rules[i].type == type)
			return &nvsp_rules[i];
	if (type >= NVSP_MSG2_TYPE_SEND_CHIMNEY_DELEGATED_BUF &&
	    type <= NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE_COMP)
		return &nvsp_rule_v2_legacy;
	return NULL;
}

bool ovb_nvsp_version_known(uint32_t version)
{
	for (int i = 0; i < OVB_NVSP_VERSION_COUNT; i++)
		if (ovb_nvsp_versions[i] == version)
			return true;
	return false;
}

uint32_t ovb_nvsp_ndis_version(uint32_t nvsp_version)
{
	return nvsp_version <= NVSP_PROTOCOL_VERSION_4 ?
		       NVSP_NDIS_VERSION_6_1 : NVSP_NDIS_VERSION_6_30;
}

const char *ovb_nvsp_type_name(uint32_t type)
{
	const struct nvsp_rule *r = nvsp_rule_find(type);

	return r ? r->name : "UNKNOWN";
}

/* Decode the bodies that need more than copying fixed fields. */
static int nvsp_parse_tables(const union nvsp_message *m, size_t len,
			     uint32_t version, struct ovb_nvsp_msg *msg)
{
	uint32_t n, off;

	if (msg->type == NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE) {
		n = m->recv_buf_complete.num_sections;
		msg->u.recv_buf_complete.status = m->recv_buf_complete.status;
		msg->u.recv_buf_complete.num_sections = n;
		if (n > (len - sizeof(m->recv_buf_complete)) /
				sizeof(struct nvsp1_receive_buffer_section))
			return -EBADMSG;
		msg->u.recv_buf_complete.sections =
			m->recv_buf_complete.sections;
		return 0;
	}
	/* SEND_INDIRECTION_TABLE */
	n = m->indirection_table.count;
	off = m->indirection_table.offset;
	if (n > NVSP_SEND_INDIRECTION_TABLE_SIZE)
		return -EBADMSG;
	/* Hosts up to NVSP 6 wrote a wrong offset; Linux reads at 40. */
	if (version != OVB_NVSP_VERSION_ANY &&
	    version <= NVSP_PROTOCOL_VERSION_6 &&
	    len >= NVSP_INDIRECTION_TABLE_OFFSET + n * 4)
		off = NVSP_INDIRECTION_TABLE_OFFSET;
	if (off < sizeof(m->indirection_table) || off > len ||
	    n > (len - off) / 4)
		return -EBADMSG;
	msg->u.indirection_table.count = n;
	/* Index the buffer, not m->raw: the table may lie past 40 bytes. */
	memcpy(msg->u.indirection_table.table, (const uint8_t *)m + off,
	       n * 4);
	return 0;
}

/* Copy the fixed fields of @m (already size-checked) into @msg. */
static void nvsp_parse_fixed(const union nvsp_message *m,
			     enum ovb_nvsp_dir dir, struct ovb_nvsp_msg *msg)
{
	switch (msg->type) {
	case NVSP_MSG_TYPE_INIT:
		msg->u.init.min = m->init.min_protocol_ver;
		msg->u.init.max = m->init.max_protocol_ver;
		break;
	case NVSP_MSG_TYPE_INIT_COMPLETE:
		msg->u.init_complete.negotiated =
			m->init_complete.negotiated_protocol_ver;
		msg->u.init_complete.max_mdl_chain_len =
			m->init_complete.max_mdl_chain_len;
		msg->u.init_complete.status = m->init_complete.status;
		break;
	case NVSP_MSG1_TYPE_SEND_NDIS_VER:
		msg->u.ndis_version.major = m->ndis_version.ndis_major_ver;
		msg->u.ndis_version.minor = m->ndis_version.ndis_minor_ver;
		break;
	case NVSP_MSG1_TYPE_SEND_RECV_BUF:
	case NVSP_MSG1_TYPE_SEND_SEND_BUF:
		msg->u.send_buffer.gpadl = m->send_buffer.gpadl_handle;
		msg->u.send_buffer.id = m->send_buffer.id;
		break;
	case NVSP_MSG1_TYPE_REVOKE_RECV_BUF:
	case NVSP_MSG1_TYPE_REVOKE_SEND_BUF:
		msg->u.revoke.id = m->revoke_buffer.id;
		break;
	case NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE:
		msg->u.send_buf_complete.status = m->send_buf_complete.status;
		msg->u.send_buf_complete.section_size =
			m->send_buf_complete.section_size;
		break;
	case NVSP_MSG1_TYPE_SEND_RNDIS_PKT:
		msg->u.rndis_pkt.channel_type = m->rndis_pkt.channel_type;
		msg->u.rndis_pkt.section_index =
			m->rndis_pkt.send_buf_section_index;
		msg->u.rndis_pkt.section_size =
			m->rndis_pkt.send_buf_section_size;
		break;
	case NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE:
		msg->u.rndis_pkt_complete.status = m->rndis_pkt_complete.status;
		break;
	case NVSP_MSG2_TYPE_SEND_NDIS_CONFIG:
		msg->u.ndis_config.mtu = m->ndis_config.mtu;
		msg->u.ndis_config.capability = m->ndis_config.capability;
		break;
	case NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION:
		msg->u.vf_association.allocated = m->vf_association.allocated;
		msg->u.vf_association.serial = m->vf_association.serial;
		break;
	case NVSP_MSG4_TYPE_SWITCH_DATA_PATH:
		msg->u.switch_data_path.active =
			m->switch_data_path.active_datapath;
		break;
	case NVSP_MSG5_TYPE_SUBCHANNEL:
		if (dir == OVB_NVSP_TO_HOST) {
			msg->u.subchannel_request.op = m->subchannel_request.op;
			msg->u.subchannel_request.num =
				m->subchannel_request.num_subchannels;
		} else {
			msg->u.subchannel_complete.status =
				m->subchannel_complete.status;
			msg->u.subchannel_complete.num =
				m->subchannel_complete.num_subchannels;
		}
		break;
	}
}

int ovb_nvsp_parse(const void *buf, size_t len, enum ovb_nvsp_dir dir,
		   uint32_t version, struct ovb_nvsp_msg *msg)
{
	const union nvsp_message *m = buf;
	const struct nvsp_rule *r;

	if (!buf || !msg ||
	    (dir != OVB_NVSP_TO_HOST && dir != OVB_NVSP_TO_GUEST))
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	if (len < sizeof(struct nvsp_message_header))
		return -EBADMSG;
	msg->type = m->hdr.msg_type;
	r = nvsp_rule_find(msg->type);
	if (!r)
		return -EBADMSG;
	if (!r->dirs)
		return -EOPNOTSUPP;
	if (!(r->dirs & (1u << dir)))
		return -EPROTO;
	if (version != OVB_NVSP_VERSION_ANY && version < r->min_ver)
		return -EPROTO;
	if (len < r->min_len)
		return -EBADMSG;
	msg->short_request = dir == OVB_NVSP_TO_HOST &&
			     len < NVSP_MIN_REQUEST_SIZE;
	if (msg->type == NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE ||
	    msg->type == NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE)
		return nvsp_parse_tables(m, len, version, msg);
	nvsp_parse_fixed(m, dir, msg);
	return 0;
}

/* Encode the bodies that carry arrays; returns the message size. */
static ssize_t nvsp_encode_tables(union nvsp_message *m, size_t cap,
				  const struct ovb_nvsp_msg *msg)
{
	size_t need;
	uint32_t n;

	if (msg->type == NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE) {
		n = msg->u.recv_buf_complete.num_sections;
		if (n > 1024 || (n && !msg->u.recv_buf_complete.sections))
			return -EINVAL;
		need = sizeof(m->recv_buf_complete) + (size_t)n * 16;
		if (need < NVSP_MESSAGE_SIZE)
			need = NVSP_MESSAGE_SIZE;
		if (cap < need)
			return -EMSGSIZE;
		memset(m, 0, need);
		m->recv_buf_complete.status = msg->u.recv_buf_complete.status;
		m->recv_buf_complete.num_sections = n;
		if (n)
			memcpy(m->recv_buf_complete.sections,
			       msg->u.recv_buf_complete.sections,
			       (size_t)n * 16);
		return (ssize_t)need;
	}
	n = msg->u.indirection_table.count;
	if (n > NVSP_SEND_INDIRECTION_TABLE_SIZE)
		return -EINVAL;
	need = NVSP_INDIRECTION_TABLE_OFFSET + (size_t)n * 4;
	if (cap < need)
		return -EMSGSIZE;
	memset(m, 0, need);
	m->indirection_table.count = n;
	m->indirection_table.offset = NVSP_INDIRECTION_TABLE_OFFSET;
	memcpy((uint8_t *)m + NVSP_INDIRECTION_TABLE_OFFSET,
	       msg->u.indirection_table.table, (size_t)n * 4);
	return (ssize_t)need;
}

static void nvsp_encode_fixed(union nvsp_message *m, enum ovb_nvsp_dir dir,
			      const struct ovb_nvsp_msg *msg)
{
	switch (msg->type) {
	case NVSP_MSG_TYPE_INIT:
		m->init.min_protocol_ver = msg->u.init.min;
		m->init.max_protocol_ver = msg->u.init.max;
		break;
	case NVSP_MSG_TYPE_INIT_COMPLETE:
		m->init_complete.negotiated_protocol_ver =
			msg->u.init_complete.negotiated;
		m->init_complete.max_mdl_chain_len =
			msg->u.init_complete.max_mdl_chain_len;
		m->init_complete.status = msg->u.init_complete.status;
		break;
	case NVSP_MSG1_TYPE_SEND_NDIS_VER:
		m->ndis_version.ndis_major_ver = msg->u.ndis_version.major;
		m->ndis_version.ndis_minor_ver = msg->u.ndis_version.minor;
		break;
	case NVSP_MSG1_TYPE_SEND_RECV_BUF:
	case NVSP_MSG1_TYPE_SEND_SEND_BUF:
		m->send_buffer.gpadl_handle = msg->u.send_buffer.gpadl;
		m->send_buffer.id = msg->u.send_buffer.id;
		break;
	case NVSP_MSG1_TYPE_REVOKE_RECV_BUF:
	case NVSP_MSG1_TYPE_REVOKE_SEND_BUF:
		m->revoke_buffer.id = msg->u.revoke.id;
		break;
	case NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE:
		m->send_buf_complete.status = msg->u.send_buf_complete.status;
		m->send_buf_complete.section_size =
			msg->u.send_buf_complete.section_size;
		break;
	case NVSP_MSG1_TYPE_SEND_RNDIS_PKT:
		m->rndis_pkt.channel_type = msg->u.rndis_pkt.channel_type;
		m->rndis_pkt.send_buf_section_index =
			msg->u.rndis_pkt.section_index;
		m->rndis_pkt.send_buf_section_size =
			msg->u.rndis_pkt.section_size;
		break;
	case NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE:
		m->rndis_pkt_complete.status = msg->u.rndis_pkt_complete.status;
		break;
	case NVSP_MSG2_TYPE_SEND_NDIS_CONFIG:
		m->ndis_config.mtu = msg->u.ndis_config.mtu;
		m->ndis_config.capability = msg->u.ndis_config.capability;
		break;
	case NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION:
		m->vf_association.allocated = msg->u.vf_association.allocated;
		m->vf_association.serial = msg->u.vf_association.serial;
		break;
	case NVSP_MSG4_TYPE_SWITCH_DATA_PATH:
		m->switch_data_path.active_datapath =
			msg->u.switch_data_path.active;
		break;
	case NVSP_MSG5_TYPE_SUBCHANNEL:
		if (dir == OVB_NVSP_TO_HOST) {
			m->subchannel_request.op = msg->u.subchannel_request.op;
			m->subchannel_request.num_subchannels =
				msg->u.subchannel_request.num;
		} else {
			m->subchannel_complete.status =
				msg->u.subchannel_complete.status;
			m->subchannel_complete.num_subchannels =
				msg->u.subchannel_complete.num;
		}
		break;
	}
}

ssize_t ovb_nvsp_encode(void *buf, size_t cap, enum ovb_nvsp_dir dir,
			const struct ovb_nvsp_msg *msg)
{
	union nvsp_message *m = buf;
	const struct nvsp_rule *r;
	ssize_t n;

	if (!buf || !msg ||
	    (dir != OVB_NVSP_TO_HOST && dir != OVB_NVSP_TO_GUEST))
		return -EINVAL;
	r = nvsp_rule_find(msg->type);
	if (!r || !(r->dirs & (1u << dir)))
		return -EINVAL;
	if (msg->type == NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE ||
	    msg->type == NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE) {
		n = nvsp_encode_tables(m, cap, msg);
	} else {
		if (cap < NVSP_MESSAGE_SIZE)
			return -EMSGSIZE;
		memset(m, 0, NVSP_MESSAGE_SIZE);
		nvsp_encode_fixed(m, dir, msg);
		n = NVSP_MESSAGE_SIZE;
	}
	if (n > 0)
		m->hdr.msg_type = msg->type;
	return n;
}
