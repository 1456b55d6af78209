// SPDX-License-Identifier: MIT
/*
 * netvsp's RNDIS device: INITIALIZE, HALT, RESET, KEEPALIVE, QUERY and SET
 * of the OIDs that Linux's, FreeBSD's and Windows' netvsc drivers use, and
 * media connect/disconnect indications.  Every reply travels to the guest
 * through a receive-buffer slot, as Hyper-V sends them.  Layer: devices.
 * Spec: docs/wire.md B9, wire/rndis.h (NDIS 6 objects).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "net/netvsp_priv.h"
#include "openvmbus/log.h"

#define NETVSP_LINK_SPEED 100000000u /* 10 Gbit/s in 100 bit/s units */
#define NETVSP_LSO_MAX 62780u        /* what Hyper-V offers */

static const uint32_t netvsp_oids[] = {
	OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS,
	OID_GEN_MEDIA_SUPPORTED, OID_GEN_MEDIA_IN_USE,
	OID_GEN_MAXIMUM_LOOKAHEAD, OID_GEN_MAXIMUM_FRAME_SIZE,
	OID_GEN_LINK_SPEED, OID_GEN_TRANSMIT_BLOCK_SIZE,
	OID_GEN_RECEIVE_BLOCK_SIZE, OID_GEN_VENDOR_ID,
	OID_GEN_VENDOR_DESCRIPTION, OID_GEN_CURRENT_PACKET_FILTER,
	OID_GEN_CURRENT_LOOKAHEAD, OID_GEN_DRIVER_VERSION,
	OID_GEN_MAXIMUM_TOTAL_SIZE, OID_GEN_MAC_OPTIONS,
	OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_MAXIMUM_SEND_PACKETS,
	OID_GEN_PHYSICAL_MEDIUM, OID_GEN_XMIT_OK, OID_GEN_RCV_OK,
	OID_GEN_XMIT_ERROR, OID_GEN_RCV_ERROR, OID_GEN_RCV_NO_BUFFER,
	OID_802_3_PERMANENT_ADDRESS, OID_802_3_CURRENT_ADDRESS,
	OID_802_3_MULTICAST_LIST, OID_802_3_MAXIMUM_LIST_SIZE,
	OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, OID_TCP_OFFLOAD_CURRENT_CONFIG,
	OID_TCP_OFFLOAD_PARAMETERS, OID_GEN_RECEIVE_SCALE_CAPABILITIES,
	OID_GEN_RECEIVE_SCALE_PARAMETERS,
};

/* NDIS_OFFLOAD: checksums both ways and LSOv2 for IPv4 and IPv6. */
static size_t netvsp_offload(const struct netvsp_nic *nic, uint8_t *out)
{
	struct ndis_offload o = { 0 };
	bool v630 = nic->ndis_ver >= NVSP_NDIS_VERSION_6_30;
	uint32_t c4 = NDIS_TXCSUM_CAP_IP4 | NDIS_TXCSUM_CAP_TCP4 |
		      NDIS_TXCSUM_CAP_UDP4 | NDIS_TXCSUM_CAP_TCP4OPT |
		      NDIS_TXCSUM_CAP_IP4OPT;
	uint32_t c6 = NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6 |
		      NDIS_TXCSUM_CAP_TCP6OPT | NDIS_TXCSUM_CAP_IP6EXT;

	o.header.type = NDIS_OBJECT_TYPE_OFFLOAD;
	o.header.revision = v630 ? NDIS_OFFLOAD_REVISION_3
				 : NDIS_OFFLOAD_REVISION_2;
	o.header.size = v630 ? NDIS_OFFLOAD_SIZE_6_30 : NDIS_OFFLOAD_SIZE_6_1;
	o.csum.ip4_txenc = o.csum.ip4_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o.csum.ip6_txenc = o.csum.ip6_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o.csum.ip4_txcsum = o.csum.ip4_rxcsum = c4;
	o.csum.ip6_txcsum = o.csum.ip6_rxcsum = c6;
	o.lsov2.ip4_encap = o.lsov2.ip6_encap = NDIS_OFFLOAD_ENCAP_8023;
	o.lsov2.ip4_maxsz = o.lsov2.ip6_maxsz = NETVSP_LSO_MAX;
	o.lsov2.ip4_minsg = o.lsov2.ip6_minsg = 2;
	o.lsov2.ip6_opts = NDIS_LSOV2_CAP_IP6EXT | NDIS_LSOV2_CAP_TCP6OPT;
	if (v630 && nic->nvsp_ver >= NVSP_PROTOCOL_VERSION_61)
		o.rsc_ip4 = o.rsc_ip6 = 1; /* coalescing offered */
	memcpy(out, &o, o.header.size);
	return o.header.size;
}

static size_t put32(uint8_t *out, uint32_t v)
{
	memcpy(out, &v, 4);
	return 4;
}

static size_t put64(uint8_t *out, uint64_t v)
{
	memcpy(out, &v, 8);
	return 8;
}

/* The value of @oid in @out (room for 512 bytes); RNDIS status. */
static uint32_t netvsp_query(struct netvsp_nic *nic, uint32_t oid,
			     uint8_t *out, size_t *len)
{
	uint32_t mtu = nic->vsp->cfg.mtu;
	struct ndis_rss_caps rc = { 0 };

	switch (oid) {
	case OID_GEN_SUPPORTED_LIST:
		memcpy(out, netvsp_oids, sizeof(netvsp_oids));
		*len = sizeof(netvsp_oids);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_HARDWARE_STATUS:
	case OID_GEN_MEDIA_SUPPORTED:
	case OID_GEN_MEDIA_IN_USE:
	case OID_GEN_MAC_OPTIONS:
	case OID_GEN_PHYSICAL_MEDIUM:
	case OID_GEN_XMIT_ERROR:
	case OID_GEN_RCV_ERROR:
		*len = put32(out, 0);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_MAXIMUM_LOOKAHEAD:
	case OID_GEN_CURRENT_LOOKAHEAD:
	case OID_GEN_MAXIMUM_FRAME_SIZE:
		*len = put32(out, mtu);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_MAXIMUM_TOTAL_SIZE:
	case OID_GEN_TRANSMIT_BLOCK_SIZE:
	case OID_GEN_RECEIVE_BLOCK_SIZE:
		*len = put32(out, mtu + 14);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_LINK_SPEED:
		*len = put32(out, NETVSP_LINK_SPEED);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_VENDOR_ID:
		*len = put32(out, 0x00155d);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_VENDOR_DESCRIPTION:
		memcpy(out, "openvmbus netvsp", 17);
		*len = 17;
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_CURRENT_PACKET_FILTER:
		*len = put32(out, nic->filter);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_DRIVER_VERSION:
		*len = 2;
		memcpy(out, (uint16_t[]){ 0x0601 }, 2);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_MEDIA_CONNECT_STATUS:
		*len = put32(out, ovb_netvsp_link(nic->vsp)
					  ? NDIS_MEDIA_STATE_CONNECTED
					  : NDIS_MEDIA_STATE_DISCONNECTED);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_MAXIMUM_SEND_PACKETS:
		*len = put32(out, NETVSP_PKTS_PER_MSG);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_XMIT_OK:
		*len = put64(out, __atomic_load_n(&nic->tx_ok, __ATOMIC_RELAXED));
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_RCV_OK:
		*len = put64(out, __atomic_load_n(&nic->rx_ok, __ATOMIC_RELAXED));
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_RCV_NO_BUFFER:
		*len = put64(out, __atomic_load_n(&nic->rx_nobuf, __ATOMIC_RELAXED));
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_PERMANENT_ADDRESS:
		memcpy(out, nic->mac, 6);
		*len = 6;
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_CURRENT_ADDRESS:
		put64(out, __atomic_load_n(&nic->cur_mac, __ATOMIC_ACQUIRE));
		*len = 6;
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_MULTICAST_LIST:
		*len = nic->nmcast * 6u;
		memcpy(out, nic->mcast, *len);
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_MAXIMUM_LIST_SIZE:
		*len = put32(out, NETVSP_MAX_MCAST);
		return RNDIS_STATUS_SUCCESS;
	case OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
	case OID_TCP_OFFLOAD_CURRENT_CONFIG:
		*len = netvsp_offload(nic, out);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_RECEIVE_SCALE_CAPABILITIES:
		if (nic->nvsp_ver < NVSP_PROTOCOL_VERSION_5)
			break; /* no sub-channels before NVSP 5 */
		rc.header.type = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
		rc.header.revision = NDIS_RSS_CAPS_REVISION_2;
		rc.header.size = NDIS_RSS_CAPS_SIZE_REVISION_2;
		rc.capabilities = NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4 |
				  NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6 |
				  NDIS_RSS_CAPS_HASH_TYPE_UDP_IPV4 |
				  NDIS_RSS_CAPS_HASH_TYPE_UDP_IPV6 |
				  NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC;
		rc.num_int_msgs = nic->vsp->cfg.max_channels;
		rc.num_recv_queues = nic->vsp->cfg.max_channels;
		rc.num_indirect_tabent = OVB_TOEPLITZ_TABLE_SIZE;
		memcpy(out, &rc, NDIS_RSS_CAPS_SIZE_REVISION_2);
		*len = NDIS_RSS_CAPS_SIZE_REVISION_2;
		return RNDIS_STATUS_SUCCESS;
	}
	*len = 0;
	return RNDIS_STATUS_NOT_SUPPORTED;
}

static uint32_t netvsp_set_rss(struct netvsp_nic *nic, const void *info,
			       uint32_t ilen)
{
	struct ovb_rss_config cfg;
	int rc = ovb_toeplitz_rss_parse(info, ilen, &cfg);

	if (rc) {
		ovb_peer("%s: RSS parameters refused: %s", nic->name,
			 rc == -EOPNOTSUPP ? "not Toeplitz with a 40-byte key"
					   : "malformed");
		return RNDIS_STATUS_INVALID_DATA;
	}
	if (cfg.flags & NDIS_RSS_PARAM_FLAG_DISABLE_RSS) {
		__atomic_store_n(&nic->rss_on, false, __ATOMIC_RELEASE);
		return RNDIS_STATUS_SUCCESS;
	}
	if (cfg.key_len)
		memcpy(nic->rss_key, cfg.key, sizeof(nic->rss_key));
	/*
	 * A new table, even one of zero entries: none sends every frame to
	 * the primary, as does an entry naming a channel that is not open
	 * (netvsp_rss).  Only ITABLE_UNCHANGED keeps the old one.
	 */
	if (!(cfg.flags & NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED)) {
		__atomic_store_n(&nic->rss_entries, 0, __ATOMIC_RELEASE);
		memcpy(nic->rss_table, cfg.table,
		       cfg.table_entries * sizeof(cfg.table[0]));
		__atomic_store_n(&nic->rss_entries, cfg.table_entries,
				 __ATOMIC_RELEASE);
	}
	if (!(cfg.flags & NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED))
		nic->rss_hash = cfg.hash_info & NDIS_HASH_TYPE_MASK;
	__atomic_store_n(&nic->rss_on, true, __ATOMIC_RELEASE);
	return RNDIS_STATUS_SUCCESS;
}

/* Does the UTF-16LE string at @p (@len bytes) spell @ascii, any case? */
static bool netvsp_utf16_is(const uint8_t *p, uint32_t len, const char *ascii)
{
	size_t n = strlen(ascii);

	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = (char)p[2 * i];

		if (p[2 * i + 1] || (c | 0x20) != (ascii[i] | 0x20))
			return false;
	}
	return true;
}

/* 12 hex digits in UTF-16LE (Linux "%pm"; '-' and ':' between bytes are
 * skipped, as Windows writes them) into @mac.  0 or -EBADMSG. */
static int netvsp_utf16_mac(const uint8_t *p, uint32_t len, uint8_t *mac)
{
	unsigned int nib = 0;

	for (uint32_t i = 0; i + 1 < len && nib < 12; i += 2) {
		unsigned int c = p[i] | (unsigned int)p[i + 1] << 8, v;

		if (c == '-' || c == ':')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = (c | 0x20) - 'a' + 10;
		else
			return -EBADMSG;
		mac[nib / 2] = (uint8_t)(nib & 1 ? mac[nib / 2] << 4 | v : v);
		nib++;
	}
	return nib == 12 ? 0 : -EBADMSG;
}

/*
 * OID_GEN_RNDIS_CONFIG_PARAMETER.  "NetworkAddress" is how Linux changes
 * the MAC (rndis_filter_set_device_mac) and it commits the change when we
 * say success, so the filter must follow; a value that is not a unicast
 * MAC is refused.  Other parameters are accepted and ignored.
 */
static uint32_t netvsp_set_config(struct netvsp_nic *nic, const uint8_t *info,
				  uint32_t ilen)
{
	struct rndis_config_parameter_info cpi;
	uint8_t mac[6];

	if (ilen < sizeof(cpi))
		return RNDIS_STATUS_INVALID_LENGTH;
	memcpy(&cpi, info, sizeof(cpi));
	if ((uint64_t)cpi.name_offset + cpi.name_length > ilen ||
	    (uint64_t)cpi.value_offset + cpi.value_length > ilen)
		return RNDIS_STATUS_INVALID_DATA;
	if (!netvsp_utf16_is(info + cpi.name_offset, cpi.name_length,
			     "NetworkAddress"))
		return RNDIS_STATUS_SUCCESS;
	if (cpi.type != RNDIS_CONFIG_PARAM_TYPE_STRING ||
	    netvsp_utf16_mac(info + cpi.value_offset, cpi.value_length, mac) ||
	    (mac[0] & 1) || !netvsp__mac_key(mac)) {
		ovb_peer("%s: NetworkAddress refused: not a unicast MAC",
			 nic->name);
		return RNDIS_STATUS_INVALID_DATA;
	}
	__atomic_store_n(&nic->cur_mac, netvsp__mac_key(mac), __ATOMIC_SEQ_CST);
	netvsp__rx_quiesce(nic);
	ovb_info("%s: MAC now %02x:%02x:%02x:%02x:%02x:%02x", nic->name,
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return RNDIS_STATUS_SUCCESS;
}

/*
 * Receive segment coalescing, as Linux asks for it: NVSP 6.1 negotiated,
 * the RSC bit in SEND_NDIS_CONFIG, and rsc_ip_v4/v6 ENABLED (DISABLED
 * turns it off, NO_CHANGE or a shorter object keeps it).  Frames already
 * on their way are not recalled: a guest that turns it off may still see
 * one coalesced frame (Linux drops it, or takes it).
 */
static void netvsp_set_rsc(struct netvsp_nic *nic,
			   const struct ndis_offload_params *op, uint32_t ilen)
{
	uint32_t on = __atomic_load_n(&nic->rsc, __ATOMIC_ACQUIRE);
	const uint8_t v[2] = { op->rsc_ip4, op->rsc_ip6 };
	const uint32_t bit[2] = { NETVSP_RSC_IP4, NETVSP_RSC_IP6 };

	if (ilen < offsetof(struct ndis_offload_params, rsc_ip6) + 1)
		return;
	for (int i = 0; i < 2; i++) {
		if (v[i] == NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED)
			on |= bit[i];
		else if (v[i] == NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED)
			on &= ~bit[i];
	}
	if (nic->nvsp_ver < NVSP_PROTOCOL_VERSION_61 ||
	    !(nic->guest_caps & NVSP_NDIS_CAP_RSC))
		on = 0;
	__atomic_store_n(&nic->rsc, on, __ATOMIC_RELEASE);
}

static uint32_t netvsp_set(struct netvsp_nic *nic, uint32_t oid,
			   const void *info, uint32_t ilen)
{
	struct ndis_offload_params op;
	uint32_t v;

	switch (oid) {
	case OID_GEN_CURRENT_PACKET_FILTER:
		if (ilen < 4)
			return RNDIS_STATUS_INVALID_LENGTH;
		memcpy(&v, info, 4);
		__atomic_store_n(&nic->filter, v, __ATOMIC_SEQ_CST);
		/*
		 * Linux sets 0 on close and then waits for every ring to
		 * drain (netvsc_wait_until_empty): once the completion goes
		 * out, no frame that passed the old filter may follow it.
		 */
		netvsp__rx_quiesce(nic);
		return RNDIS_STATUS_SUCCESS;
	case OID_802_3_MULTICAST_LIST:
		if (ilen % 6)
			return RNDIS_STATUS_INVALID_LENGTH;
		if (ilen / 6 > NETVSP_MAX_MCAST)
			return RNDIS_STATUS_MULTICAST_FULL;
		memcpy(nic->mcast, info, ilen);
		nic->nmcast = ilen / 6;
		return RNDIS_STATUS_SUCCESS;
	case OID_TCP_OFFLOAD_PARAMETERS:
		memset(&op, 0, sizeof(op));
		if (ilen < NDIS_OFFLOAD_PARAMETERS_SIZE_6_0)
			return RNDIS_STATUS_INVALID_LENGTH;
		memcpy(&op, info, ilen < sizeof(op) ? ilen : sizeof(op));
		if (op.header.type != NDIS_OBJECT_TYPE_DEFAULT ||
		    op.header.size > ilen)
			return RNDIS_STATUS_INVALID_DATA;
		nic->tx_csum = op.tcp4_csum | op.udp4_csum << 8 |
			       op.tcp6_csum << 16 | op.udp6_csum << 24;
		nic->tx_lso = op.lsov2_ip4 | op.lsov2_ip6 << 8;
		netvsp_set_rsc(nic, &op, ilen);
		return RNDIS_STATUS_SUCCESS;
	case OID_GEN_RECEIVE_SCALE_PARAMETERS:
		return netvsp_set_rss(nic, info, ilen);
	case OID_GEN_RNDIS_CONFIG_PARAMETER:
		return netvsp_set_config(nic, info, ilen);
	case OID_GEN_NETWORK_LAYER_ADDRESSES:
	case OID_GEN_CURRENT_LOOKAHEAD:
	case OID_OFFLOAD_ENCAPSULATION:
		return RNDIS_STATUS_SUCCESS; /* accepted, nothing to do */
	}
	return RNDIS_STATUS_NOT_SUPPORTED;
}

/* Build and send the reply to one request.  Returns an NVSP status. */
static uint32_t netvsp_reply(struct netvsp_chan *ch,
			     const struct ovb_rndis_msg *r)
{
	uint8_t buf[600];
	ssize_t n = ovb_rndis_build(buf, sizeof(buf), r);
	int rc;

	if (n < 0)
		return NVSP_STAT_FAIL;
	rc = netvsp__send_rndis(ch->nic, ch, NVSP_CHANNEL_TYPE_CONTROL, buf,
				(size_t)n, NULL, 0, true);
	if (rc) {
		ovb_peer("%s: RNDIS reply %#x lost: %s", ch->nic->name, r->type,
			 strerror(-rc));
		__atomic_fetch_add(&ch->nic->rx_nobuf, 1, __ATOMIC_RELAXED);
	}
	return NVSP_STAT_SUCCESS;
}

uint32_t netvsp__rndis_control(struct netvsp_chan *ch, const uint8_t *msg,
			       size_t len)
{
	struct netvsp_nic *nic = ch->nic;
	struct ovb_rndis_msg m, r = { 0 };
	uint8_t val[512];
	size_t vlen = 0;

	if (ovb_rndis_parse(msg, len, &m)) {
		ovb_peer("%s: malformed RNDIS control message (%zu bytes)",
			 nic->name, len);
		return NVSP_STAT_INVALID_RNDIS_PKT;
	}
	r.request_id = m.request_id;
	r.status = RNDIS_STATUS_SUCCESS;
	switch (m.type) {
	case RNDIS_MSG_INIT:
		r.type = RNDIS_MSG_INIT_C;
		r.u.init_c.major = RNDIS_MAJOR_VERSION;
		r.u.init_c.minor = RNDIS_MINOR_VERSION;
		r.u.init_c.device_flags = RNDIS_DF_CONNECTIONLESS;
		r.u.init_c.medium = RNDIS_MEDIUM_802_3;
		r.u.init_c.max_packets = NETVSP_PKTS_PER_MSG;
		r.u.init_c.max_transfer_size = NETVSP_SCRATCH;
		r.u.init_c.align_factor = 3; /* 8-byte aligned messages */
		nic->link_reported = ovb_netvsp_link(nic->vsp);
		__atomic_store_n(&nic->rndis_init, true, __ATOMIC_RELEASE);
		break;
	case RNDIS_MSG_HALT:
		__atomic_store_n(&nic->rndis_init, false, __ATOMIC_RELEASE);
		return NVSP_STAT_SUCCESS;
	case RNDIS_MSG_QUERY:
		r.type = RNDIS_MSG_QUERY_C;
		r.status = netvsp_query(nic, m.oid, val, &vlen);
		r.info = vlen ? val : NULL;
		r.info_len = (uint32_t)vlen;
		break;
	case RNDIS_MSG_SET:
		r.type = RNDIS_MSG_SET_C;
		r.status = netvsp_set(nic, m.oid, m.info, m.info_len);
		break;
	case RNDIS_MSG_RESET:
		r.type = RNDIS_MSG_RESET_C;
		break;
	case RNDIS_MSG_KEEPALIVE:
		r.type = RNDIS_MSG_KEEPALIVE_C;
		break;
	default:
		ovb_peer("%s: RNDIS message type %#x is not a request",
			 nic->name, m.type);
		return NVSP_STAT_INVALID_RNDIS_PKT;
	}
	if (r.status != RNDIS_STATUS_SUCCESS)
		ovb_info("%s: RNDIS %s of OID %#x: status %#x", nic->name,
			 m.type == RNDIS_MSG_SET ? "SET" : "QUERY", m.oid,
			 r.status);
	return netvsp_reply(ch, &r);
}

void netvsp__indicate_link(struct netvsp_nic *nic, bool up)
{
	struct ovb_rndis_msg r = {
		.type = RNDIS_MSG_INDICATE,
		.status = up ? RNDIS_STATUS_MEDIA_CONNECT
			     : RNDIS_STATUS_MEDIA_DISCONNECT,
	};
	uint8_t buf[64];
	ssize_t n = ovb_rndis_build(buf, sizeof(buf), &r);

	pthread_rwlock_rdlock(&nic->lock);
	if (n > 0 && __atomic_load_n(&nic->rndis_init, __ATOMIC_ACQUIRE) &&
	    nic->ch[0])
		netvsp__send_rndis(nic, nic->ch[0], NVSP_CHANNEL_TYPE_CONTROL,
				   buf, (size_t)n, NULL, 0, false);
	nic->link_reported = up;
	pthread_rwlock_unlock(&nic->lock);
}
