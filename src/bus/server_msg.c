// SPDX-License-Identifier: MIT
/*
 * The server's channel-message parser: one validator and handler per
 * message type the guest may post, with the version gates of docs/wire.md
 * B2/B3 (connection id 4 from 5.0, the interrupt page below 2.4, MODIFY
 * from 4.1, its response from 5.3).  Every message is checked for size,
 * sequence and version before use; a bad one is logged and dropped, and
 * the partition keeps running.  Layer: bus.
 */
#include <errno.h>
#include <string.h>

#include "bus/server_priv.h"
#include "openvmbus/log.h"
#include "openvmbus/version.h"

/* 6.0 features we implement: OpenChannel2 signal parameters, client id. */
#define SRV_FEATURES (VMBUS_FEATURE_GUEST_SIGNAL_PARAMS | VMBUS_FEATURE_CLIENT_ID)

static const char *const msg_names[CHANNELMSG_COUNT] = {
	"INVALID", "OFFERCHANNEL", "RESCIND_CHANNELOFFER", "REQUESTOFFERS",
	"ALLOFFERS_DELIVERED", "OPENCHANNEL", "OPENCHANNEL_RESULT",
	"CLOSECHANNEL", "GPADL_HEADER", "GPADL_BODY", "GPADL_CREATED",
	"GPADL_TEARDOWN", "GPADL_TORNDOWN", "RELID_RELEASED",
	"INITIATE_CONTACT", "VERSION_RESPONSE", "UNLOAD", "UNLOAD_RESPONSE",
	"OPEN_RESERVED_CHANNEL", "CLOSE_RESERVED_CHANNEL",
	"CLOSE_RESERVED_RESPONSE", "TL_CONNECT_REQUEST", "MODIFYCHANNEL",
	"TL_CONNECT_RESULT", "MODIFYCHANNEL_RESPONSE", "MODIFY_CONNECTION",
	"MODIFY_CONNECTION_RESPONSE", "PAUSE", "PAUSE_RESPONSE", "RESUME",
};

static void version_response(struct ovb_partition *part, bool ok,
			     uint8_t state)
{
	struct vmbus_channel_version_response m;
	size_t len = VMBUS_VERSION_RESPONSE_SIZE;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_VERSION_RESPONSE;
	m.version_supported = ok;
	m.connection_state = state;
	m.msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
	if (ok && part->version >= VMBUS_VERSION_WIN10_V6_0) {
		/* What the guest asked for AND what we have, never more. */
		m.supported_features = part->features;
		len = VMBUS_VERSION_RESPONSE2_SIZE;
	}
	ovb__srv_send(part, &m, len);
}

/* Guest-memory pages named by INITIATE_CONTACT; 0 means none. */
static int contact_page(struct ovb_partition *part, uint64_t gpa,
			const char *what, void **out)
{
	*out = NULL;
	if (!gpa)
		return 0;
	if (gpa % HV_PAGE_SIZE ||
	    !(*out = ovb_gmem_ptr(part->gmem, gpa, HV_PAGE_SIZE))) {
		ovb_peer("%s: INITIATE_CONTACT: %s GPA %#llx not a page of "
			 "guest memory", part->name, what,
			 (unsigned long long)gpa);
		return -EFAULT;
	}
	return 0;
}

static int on_initiate_contact(struct ovb_partition *part, uint32_t conn_id,
			       const void *msg, size_t len)
{
	struct vmbus_channel_initiate_contact c = { 0 };
	void *intp = NULL, *mon1 = NULL, *mon2 = NULL;
	uint32_t want_conn;

	if (len != VMBUS_INITIATE_CONTACT_SIZE &&
	    len != VMBUS_INITIATE_CONTACT2_SIZE)
		return -EBADMSG;
	memcpy(&c, msg, len);
	if (part->connected) {
		ovb_peer("%s: INITIATE_CONTACT while connected (UNLOAD first)",
			 part->name);
		version_response(part, false, VMBUS_CONNECTION_STATE_FAILURE);
		return -EPROTO;
	}
	if (!ovb_vmbus_version_known(c.vmbus_version_requested) ||
	    (part->srv->max_version &&
	     c.vmbus_version_requested > part->srv->max_version) ||
	    c.vmbus_version_requested < part->srv->min_version) {
		ovb_info("%s: VMBus version %u.%u refused", part->name,
			 c.vmbus_version_requested >> 16,
			 c.vmbus_version_requested & 0xffff);
		version_response(part, false, VMBUS_CONNECTION_STATE_OK);
		return 0;
	}
	want_conn = c.vmbus_version_requested >= VMBUS_VERSION_WIN10_V5
			    ? VMBUS_MESSAGE_CONNECTION_ID_4
			    : VMBUS_MESSAGE_CONNECTION_ID;
	if (conn_id != want_conn) {
		ovb_peer("%s: INITIATE_CONTACT for %u.%u posted to connection "
			 "%u, must be %u", part->name,
			 c.vmbus_version_requested >> 16,
			 c.vmbus_version_requested & 0xffff, conn_id, want_conn);
		version_response(part, false, VMBUS_CONNECTION_STATE_OK);
		return -EPROTO;
	}
	if ((c.vmbus_version_requested < VMBUS_VERSION_WIN10_V5 &&
	     contact_page(part, c.interrupt_page, "interrupt page", &intp)) ||
	    contact_page(part, c.monitor_page1, "monitor page 1", &mon1) ||
	    contact_page(part, c.monitor_page2, "monitor page 2", &mon2)) {
		version_response(part, false, VMBUS_CONNECTION_STATE_FAILURE);
		return -EPROTO;
	}
	part->version = c.vmbus_version_requested;
	__atomic_store_n(&part->target_vcpu, c.target_vcpu, __ATOMIC_RELAXED);
	/* From 5.0 the guest names the SINT for messages (Linux: 2). */
	part->msg_sint = VMBUS_MESSAGE_SINT;
	if (part->version >= VMBUS_VERSION_WIN10_V5 && c.msg_sint < 16)
		part->msg_sint = c.msg_sint;
	else if (part->version >= VMBUS_VERSION_WIN10_V5)
		ovb_peer("%s: INITIATE_CONTACT: msg_sint %u is no SINT; "
			 "messages stay on SINT %u", part->name, c.msg_sint,
			 VMBUS_MESSAGE_SINT);
	part->msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
	part->features = part->version >= VMBUS_VERSION_WIN10_V6_0
				 ? c.feature_flags & SRV_FEATURES : 0;
	part->int_page = intp;
	part->monitor[0] = mon1;
	part->monitor[1] = mon2;
	part->connected = true;
	version_response(part, true, VMBUS_CONNECTION_STATE_OK);
	ovb_info("%s: VMBus %u.%u negotiated", part->name, part->version >> 16,
		 part->version & 0xffff);
	return 0;
}

static int on_request_offers(struct ovb_partition *part)
{
	struct vmbus_channel_message_header done = {
		.msgtype = CHANNELMSG_ALLOFFERS_DELIVERED,
	};

	part->offers_requested = true;
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
		struct ovb_vsp_dev *dev = part->dev[r];

		if (dev && dev->state != OFFER_RESCINDED)
			ovb__srv_send_offer(part, dev);
	}
	return ovb__srv_send(part, &done, sizeof(done));
}

static struct ovb_vsp_dev *relid_dev(struct ovb_partition *part,
				     const void *msg, const char *what)
{
	const struct vmbus_channel_relid_msg *m = msg;
	struct ovb_vsp_dev *dev = m->child_relid <= VMBUS_MAX_RELID
					  ? part->dev[m->child_relid]
					  : NULL;

	if (!dev)
		ovb_peer("%s: %s for unknown relid %u", part->name, what,
			 m->child_relid);
	return dev;
}

static int on_close(struct ovb_partition *part, const void *msg)
{
	struct ovb_vsp_dev *dev = relid_dev(part, msg, "CLOSECHANNEL");
	uint32_t relid;

	if (!dev)
		return -EPROTO;
	if (dev->state != OFFER_OPEN) {
		/*
		 * Linux closes rescinded channels too, and our client closes
		 * after a refused open in case we kept the rings: nothing to
		 * undo either way.
		 */
		if (dev->state == OFFER_RESCINDED || dev->open_refused) {
			dev->open_refused = false;
			return 0;
		}
		ovb_peer("%s: CLOSECHANNEL relid %u: not open", part->name,
			 dev->relid);
		return -EPROTO;
	}
	relid = dev->relid;
	ovb__srv_close(part, dev); /* may free @dev */
	ovb_info("%s: relid %u closed by the guest", part->name, relid);
	return 0;
}

static int on_relid_released(struct ovb_partition *part, const void *msg)
{
	struct ovb_vsp_dev *dev = relid_dev(part, msg, "RELID_RELEASED");

	if (!dev)
		return -EPROTO;
	if (dev->state != OFFER_RESCINDED) {
		ovb_peer("%s: RELID_RELEASED relid %u: not rescinded",
			 part->name, dev->relid);
		return -EPROTO;
	}
	ovb__srv_free_dev(part, dev);
	return 0;
}

static int on_unload(struct ovb_partition *part)
{
	struct vmbus_channel_message_header done = {
		.msgtype = CHANNELMSG_UNLOAD_RESPONSE,
	};

	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
		struct ovb_vsp_dev *dev = part->dev[r];

		if (!dev)
			continue;
		/* The close drops the lock; a rescind may free @dev. */
		if (dev->state == OFFER_OPEN && ovb__srv_close(part, dev))
			continue;
		if (dev->state == OFFER_RESCINDED)
			ovb__srv_free_dev(part, dev);
		else
			dev->sent = false;
	}
	ovb__srv_gpadl_free_relid(part, UINT32_MAX);
	for (int i = 0; i < SRV_MAX_ASM; i++)
		if (part->asm_used[i]) {
			ovb_gpadl_asm_free(&part->asm_[i]);
			part->asm_used[i] = false;
		}
	part->connected = false;
	part->offers_requested = false;
	part->int_page = NULL;
	part->monitor[0] = part->monitor[1] = NULL;
	ovb_info("%s: unloaded", part->name);
	return ovb__srv_send(part, &done, sizeof(done));
}

static int on_modify_channel(struct ovb_partition *part, const void *msg)
{
	const struct vmbus_channel_modify_channel *m = msg;
	struct vmbus_channel_modify_channel_response r = {
		.header.msgtype = CHANNELMSG_MODIFYCHANNEL_RESPONSE,
		.child_relid = m->child_relid,
	};
	struct ovb_vsp_dev *dev = relid_dev(part, msg, "MODIFYCHANNEL");

	if (!dev || dev->state != OFFER_OPEN)
		r.status = VMBUS_STATUS_UNSUCCESSFUL;
	else
		__atomic_store_n(&dev->target_vp, m->target_vp,
				 __ATOMIC_RELAXED);
	if (part->version >= VMBUS_VERSION_WIN10_V5_3)
		ovb__srv_send(part, &r, sizeof(r));
	return r.status ? -EPROTO : 0;
}

static int on_tl_connect(struct ovb_partition *part, const void *msg)
{
	const struct vmbus_channel_tl_connect_request *q = msg;
	struct vmbus_channel_tl_connect_result r = {
		.header.msgtype = CHANNELMSG_TL_CONNECT_RESULT,
		.guest_endpoint_id = q->guest_endpoint_id,
		.host_service_id = q->host_service_id,
		.status = (int32_t)VMBUS_STATUS_CONNECTION_REFUSED,
	};

	/* No hvsock services here: refuse, as Hyper-V does for unknown ones. */
	if (part->version >= VMBUS_VERSION_WIN10_V4_1)
		ovb__srv_send(part, &r, sizeof(r));
	return 0;
}

/*
 * Sizes and the version that introduced each guest->host message.  A
 * message with a short and a long form (@two) must be exactly one of them.
 */
static const struct {
	uint16_t min, max;
	bool two;
	uint32_t version;
} msg_rules[CHANNELMSG_COUNT] = {
	[CHANNELMSG_REQUESTOFFERS] = { 8, 8, false, 0 },
	[CHANNELMSG_OPENCHANNEL] = { 148, 156, true, 0 },
	[CHANNELMSG_CLOSECHANNEL] = { 12, 12, false, 0 },
	[CHANNELMSG_GPADL_HEADER] = { 28, 240, false, 0 },
	[CHANNELMSG_GPADL_BODY] = { 16, 240, false, 0 },
	[CHANNELMSG_GPADL_TEARDOWN] = { 16, 16, false, 0 },
	[CHANNELMSG_RELID_RELEASED] = { 12, 12, false, 0 },
	[CHANNELMSG_INITIATE_CONTACT] = { 40, 56, true, 0 },
	[CHANNELMSG_UNLOAD] = { 8, 8, false, 0 },
	[CHANNELMSG_TL_CONNECT_REQUEST] = { 40, 56, true,
					    VMBUS_VERSION_WIN10 },
	[CHANNELMSG_MODIFYCHANNEL] = { 16, 16, false,
				       VMBUS_VERSION_WIN10_V4_1 },
};

/* Check the size of a message of a known type; log why it is wrong. */
static int check_size(struct ovb_partition *part, uint32_t type, size_t len)
{
	uint16_t min = msg_rules[type].min, max = msg_rules[type].max;

	if (len < min || len > max) {
		ovb_peer("%s: %s of %zu bytes dropped (expected %u..%u)",
			 part->name, msg_names[type], len, min, max);
		return -EBADMSG;
	}
	if (msg_rules[type].two && len != min && len != max) {
		ovb_peer("%s: %s of %zu bytes dropped (expected %u or %u)",
			 part->name, msg_names[type], len, min, max);
		return -EBADMSG;
	}
	return 0;
}

int ovb__srv_dispatch(struct ovb_partition *part, uint32_t conn_id,
		      const void *msg, size_t len)
{
	struct vmbus_channel_message_header h;

	if (len < sizeof(h) || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT) {
		ovb_peer("%s: channel message of %zu bytes dropped", part->name,
			 len);
		return -EBADMSG;
	}
	memcpy(&h, msg, sizeof(h));
	if (h.msgtype >= CHANNELMSG_COUNT || !msg_rules[h.msgtype].min) {
		ovb_peer("%s: unknown or host-only channel message type %u "
			 "dropped", part->name, h.msgtype);
		return -EBADMSG;
	}
	if (check_size(part, h.msgtype, len))
		return -EBADMSG;
	if (h.msgtype == CHANNELMSG_INITIATE_CONTACT)
		return on_initiate_contact(part, conn_id, msg, len);
	if (!part->connected) {
		ovb_peer("%s: %s before INITIATE_CONTACT dropped", part->name,
			 msg_names[h.msgtype]);
		return -EPROTO;
	}
	if (conn_id != part->msg_conn_id) {
		ovb_peer("%s: %s posted to connection %u, expected %u",
			 part->name, msg_names[h.msgtype], conn_id,
			 part->msg_conn_id);
		return -EPROTO;
	}
	if (part->version < msg_rules[h.msgtype].version) {
		ovb_peer("%s: %s not defined at VMBus %u.%u", part->name,
			 msg_names[h.msgtype], part->version >> 16,
			 part->version & 0xffff);
		return -EPROTO;
	}
	switch (h.msgtype) {
	case CHANNELMSG_REQUESTOFFERS:
		return on_request_offers(part);
	case CHANNELMSG_OPENCHANNEL:
		return ovb__srv_open(part, msg, len);
	case CHANNELMSG_CLOSECHANNEL:
		return on_close(part, msg);
	case CHANNELMSG_GPADL_HEADER:
		return ovb__srv_gpadl_header(part, msg, len);
	case CHANNELMSG_GPADL_BODY:
		return ovb__srv_gpadl_body(part, msg, len);
	case CHANNELMSG_GPADL_TEARDOWN:
		return ovb__srv_gpadl_teardown(part, msg, len);
	case CHANNELMSG_RELID_RELEASED:
		return on_relid_released(part, msg);
	case CHANNELMSG_UNLOAD:
		return on_unload(part);
	case CHANNELMSG_MODIFYCHANNEL:
		return on_modify_channel(part, msg);
	case CHANNELMSG_TL_CONNECT_REQUEST:
		return on_tl_connect(part, msg);
	default:
		return -EBADMSG;
	}
}
