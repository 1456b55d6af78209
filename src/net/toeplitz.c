// SPDX-License-Identifier: MIT
/*
 * Toeplitz hash for NDIS RSS over IPv4/IPv6 TCP/UDP tuples, RSS
 * indirection-table helpers, and the validator for the RSS parameters a
 * guest sets.  Layer: core.  Spec: Microsoft "Verifying the RSS Hash
 * Calculation" and NDIS_RECEIVE_SCALE_PARAMETERS.
 *
 * For every set bit of the input (most significant bit first) the hash
 * takes the XOR of the 32 key bits starting at that bit position.  A 64-bit
 * window over the key slides one bit per input bit and is refilled a byte
 * at a time, so each input byte costs eight shifts.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "openvmbus/byteorder.h"
#include "net/offload_priv.h"
#include "net/toeplitz.h"
#include "openvmbus/wire/rndis.h"

uint32_t ovb_toeplitz_hash(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t window = 0;
	uint32_t hash = 0;

	if (len > OVB_TOEPLITZ_MAX_INPUT)
		len = OVB_TOEPLITZ_MAX_INPUT;
	for (int i = 0; i < 8; i++)
		window = window << 8 | key[i];
	for (size_t i = 0; i < len; i++) {
		for (int bit = 7; bit >= 0; bit--) {
			if (in[i] & (1u << bit))
				hash ^= (uint32_t)(window >> 32);
			window <<= 1;
		}
		if (i + 8 < OVB_TOEPLITZ_KEY_SIZE)
			window |= key[i + 8];
	}
	return hash;
}

static size_t toeplitz_put_ports(uint8_t *p, uint16_t sport, uint16_t dport)
{
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	return 4;
}

uint32_t ovb_toeplitz_ipv4(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const uint8_t src[4], const uint8_t dst[4],
			   uint16_t sport, uint16_t dport, bool l4)
{
	uint8_t in[12];
	size_t n = 8;

	memcpy(in, src, 4);
	memcpy(in + 4, dst, 4);
	if (l4)
		n += toeplitz_put_ports(in + 8, sport, dport);
	return ovb_toeplitz_hash(key, in, n);
}

uint32_t ovb_toeplitz_ipv6(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const uint8_t src[16], const uint8_t dst[16],
			   uint16_t sport, uint16_t dport, bool l4)
{
	uint8_t in[36];
	size_t n = 32;

	memcpy(in, src, 16);
	memcpy(in + 16, dst, 16);
	if (l4)
		n += toeplitz_put_ports(in + 32, sport, dport);
	return ovb_toeplitz_hash(key, in, n);
}

int ovb_toeplitz_frame(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
		       uint32_t hash_types, const void *frame, size_t len,
		       uint32_t *hash, uint32_t *hash_type)
{
	const uint8_t *p = frame;
	struct ovb_net_hdrs h;
	uint32_t t_tcp, t_udp, t_ip, type;
	const uint8_t *src, *dst;
	uint16_t sport = 0, dport = 0;
	bool l4;

	if (ovb_offload_parse(frame, len, &h) < 0 || !h.ip_version)
		return -ENOENT;
	if (h.ip_version == 4) {
		t_tcp = NDIS_HASH_TCP_IPV4;
		t_udp = NDIS_HASH_UDP_IPV4;
		t_ip = NDIS_HASH_IPV4;
		src = p + h.l3_off + 12;
		dst = src + 4;
	} else {
		t_tcp = NDIS_HASH_TCP_IPV6;
		t_udp = NDIS_HASH_UDP_IPV6;
		t_ip = NDIS_HASH_IPV6;
		src = p + h.l3_off + 8;
		dst = src + 16;
	}
	if (h.l4_off && h.l4_proto == IPPROTO_TCP && (hash_types & t_tcp))
		type = t_tcp;
	else if (h.l4_off && h.l4_proto == IPPROTO_UDP && (hash_types & t_udp))
		type = t_udp;
	else if (hash_types & t_ip)
		type = t_ip;
	else
		return -ENOENT;
	l4 = type != t_ip;
	if (l4) {
		sport = ovb_get_be16(p + h.l4_off);
		dport = ovb_get_be16(p + h.l4_off + 2);
	}
	if (h.ip_version == 4)
		*hash = ovb_toeplitz_ipv4(key, src, dst, sport, dport, l4);
	else
		*hash = ovb_toeplitz_ipv6(key, src, dst, sport, dport, l4);
	*hash_type = type;
	return 0;
}

void ovb_toeplitz_table_init(uint32_t *table, uint32_t entries,
			     uint32_t nqueues)
{
	if (nqueues == 0)
		nqueues = 1;
	for (uint32_t i = 0; i < entries; i++)
		table[i] = i % nqueues;
}

uint32_t ovb_toeplitz_lookup(const uint32_t *table, uint32_t entries,
			     uint32_t hash)
{
	if (!entries)
		return 0;
	return table[hash % entries];
}

/* Check that [@off, @off + @size) lies in @len bytes after the fixed part. */
static int rss_area(uint32_t off, uint32_t size, size_t len, size_t fixed)
{
	if (off < fixed || (uint64_t)off + size > len)
		return -EBADMSG;
	return 0;
}

static int rss_table(const uint8_t *p, size_t len, size_t fixed,
		     const struct ndis_rss_params *rp,
		     struct ovb_rss_config *cfg)
{
	uint32_t esz = rp->header.revision == NDIS_RSS_PARAMS_REVISION_1 ?
			       1 : 4;
	uint32_t size = rp->indirect_tabsize, off = rp->indirect_taboffset;
	uint32_t n = size / esz;

	if (size % esz || n > OVB_TOEPLITZ_TABLE_SIZE || (n & (n - 1)) ||
	    rss_area(off, size, len, fixed))
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = 0;

		memcpy(&v, p + off + (size_t)i * esz, esz);
		cfg->table[i] = v;
	}
	cfg->table_entries = n;
	return 0;
}

int ovb_toeplitz_rss_parse(const void *info, size_t len,
			   struct ovb_rss_config *cfg)
{
	const uint8_t *p = info;
	struct ndis_rss_params rp = { 0 };
	size_t fixed;
	int rc;

	if (!info || !cfg)
		return -EBADMSG;
	memset(cfg, 0, sizeof(*cfg));
	/* Copy once: the buffer may be guest-shared memory. */
	memcpy(&rp, p, len < sizeof(rp) ? len : sizeof(rp));
	fixed = rp.header.revision == NDIS_RSS_PARAMS_REVISION_1 ?
			NDIS_RSS_PARAMS_SIZE_REVISION_1 :
			NDIS_RSS_PARAMS_SIZE_REVISION_2;
	if (len < fixed || rp.header.type != NDIS_OBJECT_TYPE_RSS_PARAMETERS ||
	    rp.header.revision < NDIS_RSS_PARAMS_REVISION_1 ||
	    rp.header.size < fixed || rp.header.size > len)
		return -EBADMSG;
	cfg->flags = rp.flags;
	cfg->hash_info = rp.hash_info;
	if (rp.flags & NDIS_RSS_PARAM_FLAG_DISABLE_RSS)
		return 0;
	if (!(rp.flags & NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED) &&
	    (rp.hash_info & NDIS_HASH_TYPE_MASK) &&
	    (rp.hash_info & NDIS_HASH_FUNCTION_MASK) !=
		    NDIS_HASH_FUNCTION_TOEPLITZ)
		return -EOPNOTSUPP;
	if (!(rp.flags & NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED) &&
	    rp.indirect_tabsize) {
		rc = rss_table(p, len, fixed, &rp, cfg);
		if (rc)
			return rc;
	}
	if (!(rp.flags & NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED) &&
	    rp.hashkey_size) {
		if (rp.hashkey_size != OVB_TOEPLITZ_KEY_SIZE)
			return -EOPNOTSUPP;
		if (rss_area(rp.hashkey_offset, rp.hashkey_size, len, fixed))
			return -EBADMSG;
		memcpy(cfg->key, p + rp.hashkey_offset, OVB_TOEPLITZ_KEY_SIZE);
		cfg->key_len = OVB_TOEPLITZ_KEY_SIZE;
	}
	return 0;
}
