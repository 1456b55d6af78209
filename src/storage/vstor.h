/* SPDX-License-Identifier: MIT */
/*
 * The VSTOR codec shared by storvsp (host) and storvsc (guest): one
 * validator for every packet received from the peer, and one encoder per
 * message either side sends, each sized for the negotiated protocol version.
 * Layer: devices (storage), below storvsp.c and storvsc.c; depends only on
 * the wire headers.  Implements docs/wire.md B10.
 *
 * Sizes: a packet is 64 bytes at protocol >= 5.1 and 48 bytes before (no
 * Win8 SRB extension).  Until the version is negotiated both sides use the
 * short form, so callers pass VSTOR_PROTO_VERSION_WIN6 during
 * initialisation, as Linux storvsc does.
 *
 * Every function here is pure: no allocation, no locks, callable from any
 * thread.
 */
#ifndef OPENVMBUS_VSTOR_H
#define OPENVMBUS_VSTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "openvmbus/wire/vstor.h"

/** An SRB in host byte order, as sent by EXECUTE_SRB or COMPLETE_IO. */
struct ovb_vstor_srb {
	uint16_t length;        /**< SRB length field as sent */
	uint8_t srb_status;     /**< VSTOR_SRB_STATUS_* (replies) */
	uint8_t scsi_status;    /**< SCSI status byte (replies) */
	uint8_t port;
	uint8_t path_id;
	uint8_t target_id;
	uint8_t lun;
	uint8_t cdb_length;     /**< requests: 1..16 */
	uint8_t sense_info_length; /**< request: room; reply: valid bytes */
	uint8_t data_in;        /**< VSTOR_DATA_* */
	uint32_t data_transfer_length; /**< request: buffer; reply: moved */
	uint8_t cdb[VSTOR_MAX_CDB_LEN];     /**< requests */
	uint8_t sense[VSTOR_SENSE_SIZE_WIN8]; /**< replies */
	/* Win8 extension: zero when the version is below 5.1. */
	uint8_t queue_tag;
	uint8_t queue_action;
	uint32_t srb_flags;     /**< VSTOR_SRB_FLAGS_* */
	uint32_t timeout;       /**< seconds */
	uint32_t queue_sort_key;
};

/** QUERY_PROPERTIES answer in host byte order. */
struct ovb_vstor_props {
	uint16_t max_channel_count; /**< sub-channels offered */
	uint32_t flags;             /**< VSTOR_PROPERTY_* */
	uint32_t max_transfer_bytes;
};

/**
 * One received packet, decoded.  COMPLETE_IO is the answer to every request,
 * and only the request tells which payload it carries, so for COMPLETE_IO
 * every view below is filled from the same bytes: the receiver reads the
 * one its request implies (and validates an SRB view with
 * ovb_vstor_srb_validate()).  For other operations only the matching view is
 * filled and the rest are zero.
 */
struct ovb_vstor_msg {
	uint32_t operation;    /**< enum vstor_packet_operation */
	uint32_t flags;        /**< VSTOR_FLAG_* */
	uint32_t status;       /**< NTSTATUS */
	size_t len;            /**< wire size for the version (48 or 64) */
	struct ovb_vstor_srb srb;       /**< EXECUTE_SRB, COMPLETE_IO */
	struct ovb_vstor_props props;   /**< COMPLETE_IO of QUERY_PROPERTIES */
	uint16_t version;      /**< QUERY_PROTOCOL_VERSION major_minor */
	uint16_t revision;     /**< QUERY_PROTOCOL_VERSION revision */
	uint16_t sub_channel_count; /**< CREATE_SUB_CHANNELS */
	struct vmstorage_event_notification event; /**< EVENT_NOTIFICATION */
	struct vmstorage_fc_wwn wwn; /**< COMPLETE_IO of FCHBA_DATA */
};

/* ---- versions ---------------------------------------------------------- */

/**
 * The versions we speak, newest first (6.2, 6.0, 5.1, 4.2, 2.0): a guest
 * proposes them in this order.  Stores the count in *@n.
 */
const uint16_t *ovb_vstor_version_list(size_t *n);

/** True if @version is one of ovb_vstor_version_list(). */
bool ovb_vstor_version_supported(uint16_t version);

/**
 * The version to try after @version was refused, or 0 when none is left
 * (also 0 if @version is not in the list).
 */
uint16_t ovb_vstor_version_next(uint16_t version);

/** Packet bytes on the wire at @version: 64, 48, or 0 if unsupported. */
size_t ovb_vstor_packet_size(uint16_t version);

/** Sense bytes an SRB can carry at @version: 0x14, 0x12, or 0. */
uint8_t ovb_vstor_sense_size(uint16_t version);

/**
 * Bytes of the COMPLETE_IO that answers a request of @request_len payload
 * bytes: the request's own size, kept within 48..64.  A reply is padded
 * with zeros (or cut) to it whatever the version in force, as OpenVMM's
 * storvsp does: Linux storvsc drops a reply with a non-zero transaction id
 * that is shorter than the 64 bytes it sent, even before a version is
 * agreed, while a pre-Win8 guest sends and expects 48.
 */
size_t ovb_vstor_reply_len(size_t request_len);

/* ---- parsing ----------------------------------------------------------- */

/**
 * Validate and decode one packet of @len bytes received from the peer while
 * @version is in force (VSTOR_PROTO_VERSION_WIN6 before negotiation).
 * Bytes beyond the version's packet size are ignored; at versions below 5.1
 * the Win8 extension fields come back zero.  EXECUTE_SRB is checked with
 * ovb_vstor_srb_validate(); other payloads are decoded as they are.
 * Returns 0; -EBADMSG for a packet shorter than the version's size, an
 * operation outside 1..14, or an invalid SRB; -EINVAL if @version is not
 * supported or an argument is NULL.
 */
int ovb_vstor_parse(const void *buf, size_t len, uint16_t version,
		    struct ovb_vstor_msg *out);

/**
 * Check the peer-controlled fields of an SRB: data_in 0..2, the sense
 * length within the version's sense size, and for a request
 * (@completion false) a CDB length of 1..16.
 * Returns 0 or -EBADMSG; -EINVAL for an unsupported @version.
 */
int ovb_vstor_srb_validate(const struct ovb_vstor_srb *srb, uint16_t version,
			   bool completion);

/* ---- encoding: each returns the wire length or a negative errno --------
 *
 * All encoders write exactly ovb_vstor_packet_size(@version) bytes into
 * @buf (zeroing what they do not set) and return that length; -EMSGSIZE if
 * @cap is smaller, -EINVAL for an unsupported version or a field that
 * cannot be represented (for instance a CDB longer than 16 bytes).
 */

/**
 * A packet with no payload: BEGIN_INITIALIZATION, END_INITIALIZATION,
 * QUERY_PROPERTIES (request), RESET_LUN/ADAPTER/BUS, ENUMERATE_BUS,
 * REMOVE_DEVICE, FCHBA_DATA (request), or a COMPLETE_IO carrying only an
 * NTSTATUS (the host's answer to an init step).  @op must be 1..14.
 */
ssize_t ovb_vstor_encode_simple(void *buf, size_t cap, uint16_t version,
				uint32_t op, uint32_t flags, uint32_t status);

/** Guest: QUERY_PROTOCOL_VERSION proposing @proposed (revision 0). */
ssize_t ovb_vstor_encode_version(void *buf, size_t cap, uint16_t version,
				 uint16_t proposed);

/**
 * Host: COMPLETE_IO answering QUERY_PROTOCOL_VERSION with @status
 * (0, or VSTOR_STATUS_REVISION_MISMATCH) and the @proposed version echoed
 * (revision 0), as OpenVMM's storvsp answers both.
 */
ssize_t ovb_vstor_encode_version_reply(void *buf, size_t cap,
				       uint16_t version, uint32_t status,
				       uint16_t proposed);

/** Host: COMPLETE_IO answering QUERY_PROPERTIES with @props. */
ssize_t ovb_vstor_encode_properties(void *buf, size_t cap, uint16_t version,
				    uint32_t status,
				    const struct ovb_vstor_props *props);

/** Guest: CREATE_SUB_CHANNELS asking for @count sub-channels. */
ssize_t ovb_vstor_encode_subchannels(void *buf, size_t cap, uint16_t version,
				     uint16_t count);

/**
 * Guest: EXECUTE_SRB with flag REQUEST_COMPLETION.  Uses the addressing,
 * cdb, cdb_length, data_in, data_transfer_length, sense_info_length and (at
 * >= 5.1) the extension fields of @srb; sets the SRB length field to the
 * version's SRB size.  -EINVAL if the SRB would not pass
 * ovb_vstor_srb_validate().
 */
ssize_t ovb_vstor_encode_srb(void *buf, size_t cap, uint16_t version,
			     const struct ovb_vstor_srb *srb);

/**
 * Host: COMPLETE_IO for an SRB.  Echoes the addressing of @srb and sends
 * srb_status, scsi_status, data_transfer_length, and sense_info_length
 * bytes of sense (at most the version's sense size, else -EINVAL).
 */
ssize_t ovb_vstor_encode_srb_complete(void *buf, size_t cap, uint16_t version,
				      uint32_t status,
				      const struct ovb_vstor_srb *srb);

/** Host: COMPLETE_IO answering FCHBA_DATA with the adapter's names. */
ssize_t ovb_vstor_encode_fc_wwn(void *buf, size_t cap, uint16_t version,
				uint32_t status,
				const struct vmstorage_fc_wwn *wwn);

/** Host: EVENT_NOTIFICATION for one LUN. */
ssize_t ovb_vstor_encode_event(void *buf, size_t cap, uint16_t version,
			       const struct vmstorage_event_notification *ev);

#endif /* OPENVMBUS_VSTOR_H */
