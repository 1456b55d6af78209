/* SPDX-License-Identifier: MIT */
/*
 * Frames the net tests build by hand, one builder each, shared by every
 * fixture and test program that needs the frame (net-guest-fx.c, the
 * netvsc RSC tests, the offload, RSS and TAP tests, ...).  No assertions,
 * no state.
 */
#ifndef OPENVMBUS_TESTS_NET_FRAME_FX_H
#define OPENVMBUS_TESTS_NET_FRAME_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * A plain Ethernet frame of @len bytes into @f: @dst and @src MACs (6
 * bytes each), the local experimental ethertype 0x88b5, then byte i
 * (i >= 14) is (uint8_t)(i * @mul + @seed) (@mul 0: all @seed).
 */
void nff_eth(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src,
	     uint8_t mul, uint32_t seed);

/**
 * What a hand-built Ethernet + IP + TCP/UDP frame carries.  Every field
 * left zero (or NULL) leaves its bytes 0 in the frame; checksums are
 * always left 0.
 */
struct nff_l4 {
	const uint8_t *dst, *src;     /**< MAC addresses (6 bytes) */
	const uint8_t *saddr, *daddr; /**< 4 bytes for IPv4, 16 for IPv6 */
	bool ip_len;      /**< fill the IPv4 total / IPv6 payload length */
	uint16_t ip_id;   /**< IPv4 identification */
	bool df;          /**< IPv4 don't-fragment */
	uint8_t ttl;      /**< IPv4 TTL / IPv6 hop limit */
	/**
	 * IP protocol / next header.  6: a TCP header (ports, sequence, data
	 * offset, flags, window); any other: a UDP one (ports, length 8 +
	 * payload).
	 */
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t l4len;    /**< L4 header bytes (0: 20), zero past the fields */
	uint32_t seq;     /**< TCP sequence number */
	uint8_t flags;    /**< TCP flags (0x10 ACK, 0x18 PSH ACK) */
	uint16_t window;  /**< TCP window */
	size_t payload;   /**< bytes after the L4 header */
	uint8_t mul, add; /**< payload byte j is (uint8_t)(j * mul + add) */
};

/** Ethernet + IPv4 + @h's L4 header and payload into @f; its length. */
size_t nff_ip4(uint8_t *f, const struct nff_l4 *h);
/** Ethernet + IPv6 (no extension headers) + the same; its length. */
size_t nff_ip6(uint8_t *f, const struct nff_l4 *h);

/**
 * A TCP/IPv4 frame of 14 + 20 + 20 + @payload bytes into @f: broadcast
 * destination MAC, source 02:00:00:00:00:01, 10.0.0.1:80 -> 10.0.0.2:81,
 * TTL 64, ACK, checksums left 0; byte i of the frame (i >= 54) is
 * (uint8_t)(i * 5 + @seed).  Returns the frame's length.
 */
size_t nff_tcp4(uint8_t *f, size_t payload, uint8_t seed);

#endif
