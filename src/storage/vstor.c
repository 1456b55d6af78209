// SPDX-License-Identifier: MIT
/*
 * The VSTOR codec: version list, the validator for received packets and the
 * encoders for sent ones, shared by storvsp and storvsc.  Layer: devices
 * (storage).  Implements docs/wire.md B10; the 48/64-byte size rule follows
 * Linux storvsc's vmscsi_size_delta (the Win8 SRB extension exists only at
 * protocol 5.1 and later).  Packets are copied into a local vstor_packet
 * before any field is read, so a peer changing shared memory cannot change
 * what was validated.
 */
#include <errno.h>
#include <string.h>

#include "storage/vstor.h"

static const uint16_t vstor_versions[] = {
	VSTOR_PROTO_VERSION_WIN10, VSTOR_PROTO_VERSION_WIN8_1,
	VSTOR_PROTO_VERSION_WIN8,  VSTOR_PROTO_VERSION_WIN7,
	VSTOR_PROTO_VERSION_WIN6,
};

#define VSTOR_NVERSIONS (sizeof(vstor_versions) / sizeof(vstor_versions[0]))

const uint16_t *ovb_vstor_version_list(size_t *n)
{
	if (n)
		*n = VSTOR_NVERSIONS;
	return vstor_versions;
}

bool ovb_vstor_version_supported(uint16_t version)
{
	for (size_t i = 0; i < VSTOR_NVERSIONS; i++)
		if (vstor_versions[i] == version)
			return true;
	return false;
}

uint16_t ovb_vstor_version_next(uint16_t version)
{
	for (size_t i = 0; i + 1 < VSTOR_NVERSIONS; i++)
		if (vstor_versions[i] == version)
			return vstor_versions[i + 1];
	return 0;
}

/* True when the version carries the Win8 SRB extension. */
static bool vstor_has_win8_ext(uint16_t version)
{
	return version >= VSTOR_PROTO_VERSION_WIN8;
}

size_t ovb_vstor_packet_size(uint16_t version)
{
	if (!ovb_vstor_version_supported(version))
		return 0;
	return vstor_has_win8_ext(version) ? VSTOR_PACKET_SIZE_WIN8
					   : VSTOR_PACKET_SIZE_PRE_WIN8;
}

uint8_t ovb_vstor_sense_size(uint16_t version)
{
	if (!ovb_vstor_version_supported(version))
		return 0;
	return vstor_has_win8_ext(version) ? VSTOR_SENSE_SIZE_WIN8
					   : VSTOR_SENSE_SIZE_PRE_WIN8;
}

size_t ovb_vstor_reply_len(size_t request_len)
{
	if (request_len < VSTOR_PACKET_SIZE_PRE_WIN8)
		return VSTOR_PACKET_SIZE_PRE_WIN8;
	if (request_len > VSTOR_PACKET_SIZE_WIN8)
		return VSTOR_PACKET_SIZE_WIN8;
	return request_len;
}

int ovb_vstor_srb_validate(const struct ovb_vstor_srb *srb, uint16_t version,
			   bool completion)
{
	uint8_t sense_size = ovb_vstor_sense_size(version);

	if (!srb || !sense_size)
		return -EINVAL;
	if (srb->data_in > VSTOR_DATA_UNKNOWN)
		return -EBADMSG;
	if (srb->sense_info_length > sense_size)
		return -EBADMSG;
	if (!completion &&
	    (srb->cdb_length == 0 || srb->cdb_length > VSTOR_MAX_CDB_LEN))
		return -EBADMSG;
	return 0;
}

/* Decode the SRB view of @pkt into @srb. */
static void vstor_decode_srb(const struct vstor_packet *pkt,
			     struct ovb_vstor_srb *srb)
{
	const struct vmscsi_request *r = &pkt->vm_srb;

	srb->length = r->length;
	srb->srb_status = r->srb_status;
	srb->scsi_status = r->scsi_status;
	srb->port = r->port_number;
	srb->path_id = r->path_id;
	srb->target_id = r->target_id;
	srb->lun = r->lun;
	srb->cdb_length = r->cdb_length;
	srb->sense_info_length = r->sense_info_length;
	srb->data_in = r->data_in;
	srb->data_transfer_length = r->data_transfer_length;
	memcpy(srb->cdb, r->cdb, sizeof(srb->cdb));
	memcpy(srb->sense, r->sense_data, sizeof(srb->sense));
	srb->queue_tag = r->win8_extension.queue_tag;
	srb->queue_action = r->win8_extension.queue_action;
	srb->srb_flags = r->win8_extension.srb_flags;
	srb->timeout = r->win8_extension.time_out_value;
	srb->queue_sort_key = r->win8_extension.queue_sort_key;
}

/* Decode the QUERY_PROPERTIES answer view of @pkt into @props. */
static void vstor_decode_props(const struct vstor_packet *pkt,
			       struct ovb_vstor_props *props)
{
	const struct vmstorage_channel_properties *p =
	    &pkt->storage_channel_properties;

	props->max_channel_count = p->max_channel_count;
	props->flags = p->flags;
	props->max_transfer_bytes = p->max_transfer_bytes;
}

int ovb_vstor_parse(const void *buf, size_t len, uint16_t version,
		    struct ovb_vstor_msg *out)
{
	struct vstor_packet pkt;
	size_t size = ovb_vstor_packet_size(version);
	int rc;

	if (!buf || !out || !size)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < size)
		return -EBADMSG;
	/* One copy; the bytes past the version's size stay zero. */
	memset(&pkt, 0, sizeof(pkt));
	memcpy(&pkt, buf, size);

	if (pkt.operation == 0 || pkt.operation > VSTOR_OPERATION_MAX)
		return -EBADMSG;
	out->operation = pkt.operation;
	out->flags = pkt.flags;
	out->status = pkt.status;
	out->len = size;

	switch (pkt.operation) {
	case VSTOR_OPERATION_EXECUTE_SRB:
		vstor_decode_srb(&pkt, &out->srb);
		rc = ovb_vstor_srb_validate(&out->srb, version, false);
		if (rc)
			return rc;
		/* Bytes past cdb_length are not part of the command. */
		memset(out->srb.cdb + out->srb.cdb_length, 0,
		       VSTOR_MAX_CDB_LEN - out->srb.cdb_length);
		memset(out->srb.sense, 0, sizeof(out->srb.sense));
		break;
	case VSTOR_OPERATION_COMPLETE_IO:
		vstor_decode_srb(&pkt, &out->srb);
		vstor_decode_props(&pkt, &out->props);
		out->version = pkt.version.major_minor;
		out->revision = pkt.version.revision;
		out->sub_channel_count = pkt.sub_channel_count;
		out->wwn = pkt.wwn;
		break;
	case VSTOR_OPERATION_QUERY_PROTOCOL_VERSION:
		out->version = pkt.version.major_minor;
		out->revision = pkt.version.revision;
		break;
	case VSTOR_OPERATION_CREATE_SUB_CHANNELS:
		out->sub_channel_count = pkt.sub_channel_count;
		break;
	case VSTOR_OPERATION_EVENT_NOTIFICATION:
		out->event = pkt.event;
		break;
	default:
		/* No payload: init steps, resets, bus events. */
		break;
	}
	return 0;
}

/*
 * Start a packet: check the version and room, zero the version's bytes and
 * fill the header.  Returns the wire size or a negative errno.
 */
static ssize_t vstor_begin(void *buf, size_t cap, uint16_t version, uint32_t op,
			   uint32_t flags, uint32_t status,
			   struct vstor_packet *pkt)
{
	size_t size = ovb_vstor_packet_size(version);

	if (!buf || !size)
		return -EINVAL;
	if (op == 0 || op > VSTOR_OPERATION_MAX)
		return -EINVAL;
	if (cap < size)
		return -EMSGSIZE;
	memset(pkt, 0, sizeof(*pkt));
	pkt->operation = op;
	pkt->flags = flags;
	pkt->status = status;
	return (ssize_t)size;
}

/* Copy the version's bytes of @pkt to @buf; returns @size. */
static ssize_t vstor_finish(void *buf, const struct vstor_packet *pkt,
			    ssize_t size)
{
	memcpy(buf, pkt, (size_t)size);
	return size;
}

ssize_t ovb_vstor_encode_simple(void *buf, size_t cap, uint16_t version,
				uint32_t op, uint32_t flags, uint32_t status)
{
	struct vstor_packet pkt;
	ssize_t size = vstor_begin(buf, cap, version, op, flags, status, &pkt);

	if (size < 0)
		return size;
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_version(void *buf, size_t cap, uint16_t version,
				 uint16_t proposed)
{
	struct vstor_packet pkt;
	ssize_t size = vstor_begin(buf, cap, version,
				   VSTOR_OPERATION_QUERY_PROTOCOL_VERSION,
				   VSTOR_FLAG_REQUEST_COMPLETION, 0, &pkt);

	if (size < 0)
		return size;
	pkt.version.major_minor = proposed;
	pkt.version.revision = 0;
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_version_reply(void *buf, size_t cap,
				       uint16_t version, uint32_t status,
				       uint16_t proposed)
{
	struct vstor_packet pkt;
	ssize_t size = vstor_begin(buf, cap, version,
				   VSTOR_OPERATION_COMPLETE_IO, 0, status,
				   &pkt);

	if (size < 0)
		return size;
	pkt.version.major_minor = proposed;
	pkt.version.revision = 0;
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_properties(void *buf, size_t cap, uint16_t version,
				    uint32_t status,
				    const struct ovb_vstor_props *props)
{
	struct vstor_packet pkt;
	ssize_t size;

	if (!props)
		return -EINVAL;
	size = vstor_begin(buf, cap, version, VSTOR_OPERATION_COMPLETE_IO, 0,
			   status, &pkt);
	if (size < 0)
		return size;
	pkt.storage_channel_properties.max_channel_count =
	    props->max_channel_count;
	pkt.storage_channel_properties.flags = props->flags;
	pkt.storage_channel_properties.max_transfer_bytes =
	    props->max_transfer_bytes;
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_subchannels(void *buf, size_t cap, uint16_t version,
				     uint16_t count)
{
	struct vstor_packet pkt;
	ssize_t size =
	    vstor_begin(buf, cap, version, VSTOR_OPERATION_CREATE_SUB_CHANNELS,
			VSTOR_FLAG_REQUEST_COMPLETION, 0, &pkt);

	if (size < 0)
		return size;
	pkt.sub_channel_count = count;
	return vstor_finish(buf, &pkt, size);
}

/* Fill the addressing and extension fields common to request and reply. */
static void vstor_encode_srb_common(struct vmscsi_request *r,
				    const struct ovb_vstor_srb *srb,
				    uint16_t version)
{
	bool ext = vstor_has_win8_ext(version);

	r->length = ext ? VSTOR_SRB_SIZE_WIN8 : VSTOR_SRB_SIZE_PRE_WIN8;
	r->port_number = srb->port;
	r->path_id = srb->path_id;
	r->target_id = srb->target_id;
	r->lun = srb->lun;
	r->data_in = srb->data_in;
	r->data_transfer_length = srb->data_transfer_length;
	if (ext) {
		r->win8_extension.queue_tag = srb->queue_tag;
		r->win8_extension.queue_action = srb->queue_action;
		r->win8_extension.srb_flags = srb->srb_flags;
		r->win8_extension.time_out_value = srb->timeout;
		r->win8_extension.queue_sort_key = srb->queue_sort_key;
	}
}

ssize_t ovb_vstor_encode_srb(void *buf, size_t cap, uint16_t version,
			     const struct ovb_vstor_srb *srb)
{
	struct vstor_packet pkt;
	ssize_t size;

	if (!srb || ovb_vstor_srb_validate(srb, version, false))
		return -EINVAL;
	size = vstor_begin(buf, cap, version, VSTOR_OPERATION_EXECUTE_SRB,
			   VSTOR_FLAG_REQUEST_COMPLETION, 0, &pkt);
	if (size < 0)
		return size;
	vstor_encode_srb_common(&pkt.vm_srb, srb, version);
	pkt.vm_srb.cdb_length = srb->cdb_length;
	pkt.vm_srb.sense_info_length = srb->sense_info_length;
	memcpy(pkt.vm_srb.cdb, srb->cdb, srb->cdb_length);
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_srb_complete(void *buf, size_t cap, uint16_t version,
				      uint32_t status,
				      const struct ovb_vstor_srb *srb)
{
	struct vstor_packet pkt;
	ssize_t size;

	if (!srb || ovb_vstor_srb_validate(srb, version, true))
		return -EINVAL;
	size = vstor_begin(buf, cap, version, VSTOR_OPERATION_COMPLETE_IO, 0,
			   status, &pkt);
	if (size < 0)
		return size;
	vstor_encode_srb_common(&pkt.vm_srb, srb, version);
	pkt.vm_srb.srb_status = srb->srb_status;
	pkt.vm_srb.scsi_status = srb->scsi_status;
	pkt.vm_srb.cdb_length = srb->cdb_length;
	pkt.vm_srb.sense_info_length = srb->sense_info_length;
	memcpy(pkt.vm_srb.sense_data, srb->sense, srb->sense_info_length);
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_event(void *buf, size_t cap, uint16_t version,
			       const struct vmstorage_event_notification *ev)
{
	struct vstor_packet pkt;
	ssize_t size;

	if (!ev)
		return -EINVAL;
	size = vstor_begin(buf, cap, version,
			   VSTOR_OPERATION_EVENT_NOTIFICATION, 0, 0, &pkt);
	if (size < 0)
		return size;
	pkt.event = *ev;
	return vstor_finish(buf, &pkt, size);
}

ssize_t ovb_vstor_encode_fc_wwn(void *buf, size_t cap, uint16_t version,
				uint32_t status,
				const struct vmstorage_fc_wwn *wwn)
{
	struct vstor_packet pkt;
	ssize_t size;

	if (!wwn)
		return -EINVAL;
	size = vstor_begin(buf, cap, version, VSTOR_OPERATION_COMPLETE_IO, 0,
			   status, &pkt);
	if (size < 0)
		return size;
	pkt.wwn = *wwn;
	return vstor_finish(buf, &pkt, size);
}
