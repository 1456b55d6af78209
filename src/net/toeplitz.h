/* SPDX-License-Identifier: MIT */
/*
 * The Toeplitz hash that NDIS receive-side scaling (RSS) uses to spread
 * flows across queues, over the IPv4/IPv6 address and TCP/UDP port tuples
 * NDIS defines, with a 40-byte secret key; and the lookup of a hash in an
 * RSS indirection table (128 entries for NDIS 6).  Layer: core.  Spec:
 * Microsoft "Verifying the RSS Hash Calculation" and "RSS Hashing Types";
 * the results match that page's verification suite.
 *
 * All functions are pure and thread-safe.
 */
#ifndef OPENVMBUS_TOEPLITZ_H
#define OPENVMBUS_TOEPLITZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVB_TOEPLITZ_KEY_SIZE 40u   /**< bytes of an NDIS RSS key */
#define OVB_TOEPLITZ_MAX_INPUT 36u  /**< bytes a 40-byte key can hash */
#define OVB_TOEPLITZ_TABLE_SIZE 128u /**< NDIS indirection table entries */

/**
 * Hash @len bytes of @data (network byte order) with @key.  Input beyond
 * OVB_TOEPLITZ_MAX_INPUT bytes is ignored.
 */
uint32_t ovb_toeplitz_hash(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const void *data, size_t len);

/**
 * Hash an IPv4 flow: source and destination address (network order), and
 * when @l4 is true the source and destination ports (host order).
 */
uint32_t ovb_toeplitz_ipv4(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const uint8_t src[4], const uint8_t dst[4],
			   uint16_t sport, uint16_t dport, bool l4);

/** Hash an IPv6 flow; as ovb_toeplitz_ipv4() with 16-byte addresses. */
uint32_t ovb_toeplitz_ipv6(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
			   const uint8_t src[16], const uint8_t dst[16],
			   uint16_t sport, uint16_t dport, bool l4);

/**
 * Hash an Ethernet frame the way an NDIS RSS NIC does: the most specific
 * hash type enabled in @hash_types (NDIS_HASH_TCP_IPV4, NDIS_HASH_UDP_IPV4,
 * NDIS_HASH_IPV4 and their IPv6 counterparts, wire/rndis.h) that matches
 * the frame.  On success stores the hash and the type used.
 * Returns 0, or -ENOENT if no enabled type applies (non-IP frame).
 */
int ovb_toeplitz_frame(const uint8_t key[OVB_TOEPLITZ_KEY_SIZE],
		       uint32_t hash_types, const void *frame, size_t len,
		       uint32_t *hash, uint32_t *hash_type);

/** Fill an indirection table round-robin over @nqueues queues (>= 1). */
void ovb_toeplitz_table_init(uint32_t *table, uint32_t entries,
			     uint32_t nqueues);

/**
 * The queue for @hash in an indirection table of @entries entries (NDIS
 * masks the low bits; @entries is a power of two up to 128).  Returns 0 for
 * an empty table.
 */
uint32_t ovb_toeplitz_lookup(const uint32_t *table, uint32_t entries,
			     uint32_t hash);

/** RSS settings as a guest sets them (OID_GEN_RECEIVE_SCALE_PARAMETERS). */
struct ovb_rss_config {
	uint16_t flags;        /**< NDIS_RSS_PARAM_FLAG_* as sent */
	uint32_t hash_info;    /**< NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_* */
	uint32_t key_len;      /**< 0: key unchanged or absent, else 40 */
	uint8_t key[OVB_TOEPLITZ_KEY_SIZE];
	uint32_t table_entries; /**< 0: table unchanged or absent */
	uint32_t table[OVB_TOEPLITZ_TABLE_SIZE]; /**< queue per entry */
};

/**
 * Validate and decode an NDIS_RECEIVE_SCALE_PARAMETERS object, the info
 * buffer of a SET of OID_GEN_RECEIVE_SCALE_PARAMETERS (wire/rndis.h).
 * Revision 1 tables hold 1-byte entries, later ones 4-byte entries (Linux
 * writes u32 channel numbers).  Parts the flags mark unchanged are not
 * read.  Returns 0; -EBADMSG for a bad header, size or offset, or a table
 * of more than 128 entries or not a power of two; -EOPNOTSUPP for a hash
 * function other than Toeplitz or a key that is not 40 bytes.
 */
int ovb_toeplitz_rss_parse(const void *info, size_t len,
			   struct ovb_rss_config *cfg);

#endif /* OPENVMBUS_TOEPLITZ_H */
