// SPDX-License-Identifier: MIT
/*
 * The fault engine's channel-message side: which channel a fault matches,
 * its log line, and the faults that speak in channel messages -- refused
 * GPADLs, VERSION_RESPONSE lies, rescinds of channels open or never
 * offered, offer storms, silence, random flips.  Called from
 * ovb__srv_send (server.c), usually with part->lock held, and from the
 * packet side (fault_pkt.c) for rescinds, with it not held.  Layer: bus.
 */
#include <errno.h>
#include <string.h>

#include "bus/fault_priv.h"
#include "openvmbus/log.h"
#include "openvmbus/wire/echo.h"
#include "openvmbus/wire/vstor.h"

#define STORM_OFFERS 300u

bool ovb__fault_match(const struct ovb_fault_spec *sp,
		      const struct ovb_partition *part,
		      const struct ovb_vsp_dev *dev)
{
	static const struct vmbus_guid scsi = VSTOR_SCSI_CLASS_GUID;
	static const struct vmbus_guid ide = VSTOR_IDE_CLASS_GUID;
	const char *name;

	if (sp->partition[0] && strcmp(sp->partition, part->name))
		return false;
	if (sp->relid && (!dev || dev->relid != sp->relid))
		return false;
	if (!sp->device[0])
		return true;
	if (!dev)
		return false;
	name = dev->ops->name;
	if (!strcmp(sp->device, "echo"))
		return !strcmp(name, "echo");
	if (!strcmp(sp->device, "nic"))
		return !strcmp(name, "netvsp");
	if (strcmp(name, "storvsp"))
		return false;
	return !memcmp(&dev->p.class_id,
		       !strcmp(sp->device, "scsi") ? &scsi : &ide,
		       sizeof(scsi));
}

void ovb__fault_log(enum ovb_fault_mode mode, const struct ovb_partition *part,
		    uint32_t relid, uint64_t nr, const char *what)
{
	ovb_warn("fault: %s partition %u '%s' relid %u pkt %llu: %s",
		 ovb_fault_info(mode)->name, part->id, part->name, relid,
		 (unsigned long long)nr, what);
}

/* The device a message names by its child_relid (offset 8), if any. */
static struct ovb_vsp_dev *msg_dev(struct ovb_partition *part,
				   const uint8_t *msg, size_t len)
{
	uint32_t relid;

	if (len < 12)
		return NULL;
	memcpy(&relid, msg + 8, 4);
	return relid && relid <= VMBUS_MAX_RELID ? part->dev[relid] : NULL;
}

/*
 * Offers of devices nobody knows at relids from the top down, offers that
 * reuse the relids of real devices, relid 0 and a relid out of range.
 */
static void offer_storm(struct ovb_partition *part)
{
	struct vmbus_channel_offer_channel m;
	unsigned int sent = 0, dups = 0;

	for (uint32_t i = 0; i < STORM_OFFERS + 5; i++) {
		uint64_t h = ovb__fault_mix(i);
		uint32_t relid;

		memset(&m, 0, sizeof(m));
		m.header.msgtype = CHANNELMSG_OFFERCHANNEL;
		memcpy(&m.if_type, &h, 8);
		memcpy(m.if_instance.b, &h, 8);
		memcpy(m.if_instance.b + 8, &i, 4);
		if (i < STORM_OFFERS) {
			relid = VMBUS_MAX_RELID - i;
		} else if (i == STORM_OFFERS) {
			relid = 0;
		} else if (i == STORM_OFFERS + 1) {
			relid = VMBUS_MAX_RELID + 1000;
		} else {
			/* A real device's relid again, with another class. */
			relid = 0;
			for (uint32_t r = dups + 1;
			     r <= VMBUS_MAX_RELID && !relid; r++)
				if (part->dev[r])
					relid = r;
			if (!relid)
				continue;
			dups = relid;
		}
		m.child_relid = relid;
		m.connection_id = VMBUS_CHAN_CONNECTION_ID_BASE + relid;
		m.is_dedicated_interrupt = 1;
		if (!ovb__srv_send_raw(part, &m, sizeof(m)))
			sent++;
	}
	ovb_warn("fault: offer-storm partition %u '%s' relid 0 pkt 0: %u "
		 "offers (unknown classes at relids %u..%u, relid 0, relid "
		 "%u, duplicates of real relids up to %u)", part->id,
		 part->name, sent, VMBUS_MAX_RELID - STORM_OFFERS + 1,
		 VMBUS_MAX_RELID, VMBUS_MAX_RELID + 1000, dups);
}

/* Send RESCIND_CHANNELOFFER for @relid, whatever the server thinks of it. */
void ovb__fault_rescind(struct ovb_partition *part, uint32_t relid)
{
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
		.child_relid = relid,
	};

	ovb__srv_send_raw(part, &m, sizeof(m));
}

/* A relid no device of @part has. */
uint32_t ovb__fault_unknown_relid(struct ovb_partition *part)
{
	for (uint32_t r = VMBUS_MAX_RELID / 2; r > 0; r--)
		if (!part->dev[r])
			return r;
	return VMBUS_MAX_RELID;
}

struct msg_acts {
	bool drop, storm, short_version;
	unsigned int fired;
	char what[160];
};

/* One armed fault @i against the message in @buf; fault_st.lock held. */
static void msg_fault(unsigned int i, struct ovb_partition *part, uint8_t *buf,
		      size_t len, struct msg_acts *a)
{
	const struct ovb_fault_spec *sp = &fault_st.f[i].spec;
	uint32_t type = ((struct vmbus_channel_message_header *)buf)->msgtype;
	struct ovb_vsp_dev *dev = msg_dev(part, buf, len);
	struct fault_stream *s;
	uint64_t nr, h;

	switch (sp->mode) {
	case OVB_FAULT_SILENT:
		s = ovb__fault_stream(part->id, FAULT_WHOLE, i);
		a->drop |= s && s->silenced;
		break;
	case OVB_FAULT_GPADL_REFUSE:
		if (type != CHANNELMSG_GPADL_CREATED || len < 20 ||
		    !ovb__fault_match(sp, part, dev) ||
		    !ovb__fault_due(i, part->id, FAULT_MSGS, &nr))
			break;
		struct vmbus_channel_gpadl_created *g = (void *)buf;

		snprintf(a->what, sizeof(a->what), "GPADL_CREATED handle %#x "
			 "status %#x -> 0xc0000001", g->gpadl,
			 g->creation_status);
		g->creation_status = 0xc0000001u;
		ovb__fault_log(sp->mode, part, g->child_relid, nr, a->what);
		break;
	case OVB_FAULT_VERSION_LIE:
		if (type != CHANNELMSG_VERSION_RESPONSE ||
		    !ovb__fault_match(sp, part, NULL) ||
		    !ovb__fault_due(i, part->id, FAULT_MSGS, &nr))
			break;
		a->short_version = true;
		ovb__fault_log(sp->mode, part, 0, nr, "a VERSION_RESPONSE of 8 "
			       "bytes accepting the version, before the real "
			       "one");
		break;
	case OVB_FAULT_OFFER_STORM:
		if (type == CHANNELMSG_ALLOFFERS_DELIVERED &&
		    ovb__fault_match(sp, part, NULL) &&
		    ovb__fault_due(i, part->id, FAULT_MSGS, &nr))
			a->storm = true;
		break;
	case OVB_FAULT_RANDOM:
		if (!ovb__fault_match(sp, part, NULL))
			break;
		s = ovb__fault_stream(part->id, FAULT_MSGS, i);
		if (!s)
			break;
		nr = s->n++;
		if (!ovb__fault_random(sp, part->id, FAULT_MSGS, nr, &h))
			break;
		ovb__fault_flip(buf, len, h, a->what, sizeof(a->what));
		__atomic_fetch_add(&fault_st.fired, 1, __ATOMIC_RELAXED);
		ovb__fault_log(sp->mode, part, 0, nr, a->what);
		break;
	default:
		break;
	}
}

int ovb__fault_msg(struct ovb_partition *part, const void *msg, size_t len)
{
	uint8_t buf[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	struct msg_acts a = { 0 };

	if (len < sizeof(struct vmbus_channel_message_header) ||
	    len > sizeof(buf))
		return ovb__srv_send_raw(part, msg, len);
	memcpy(buf, msg, len);
	pthread_mutex_lock(&fault_st.lock);
	for (unsigned int i = 0; i < fault_st.n; i++)
		msg_fault(i, part, buf, len, &a);
	pthread_mutex_unlock(&fault_st.lock);
	if (a.storm)
		offer_storm(part);
	if (a.short_version) {
		uint8_t cut[8];

		memcpy(cut, buf, 4);
		memset(cut + 4, 0, 4);
		cut[4] = 1; /* version_supported */
		ovb__srv_send_raw(part, cut, sizeof(cut));
	}
	if (a.drop)
		return 0;
	return ovb__srv_send_raw(part, buf, len);
}
