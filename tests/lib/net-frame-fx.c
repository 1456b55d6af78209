// SPDX-License-Identifier: MIT
/*
 * The hand-built frames of net-frame-fx.h.
 */
#include <string.h>

#include "tests/lib/net-frame-fx.h"

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void nff_eth(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src,
	     uint8_t mul, uint32_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x88b5);
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * mul + seed);
}

/* The Ethernet header, the L4 header at @l4 and the payload after it. */
static size_t l4_fill(uint8_t *f, uint8_t *l4, uint16_t type,
		      const struct nff_l4 *h)
{
	size_t l4len = h->l4len ? h->l4len : 20;

	if (h->dst)
		memcpy(f, h->dst, 6);
	if (h->src)
		memcpy(f + 6, h->src, 6);
	put16(f + 12, type);
	put16(l4, h->sport);
	put16(l4 + 2, h->dport);
	if (h->proto != 6) {
		put16(l4 + 4, (uint32_t)(8 + h->payload));
	} else {
		put16(l4 + 4, h->seq >> 16);
		put16(l4 + 6, h->seq);
		l4[12] = (uint8_t)(l4len / 4 << 4);
		l4[13] = h->flags;
		put16(l4 + 14, h->window);
	}
	for (size_t j = 0; j < h->payload; j++)
		l4[l4len + j] = (uint8_t)(j * h->mul + h->add);
	return (size_t)(l4 - f) + l4len + h->payload;
}

size_t nff_ip4(uint8_t *f, const struct nff_l4 *h)
{
	size_t l4len = h->l4len ? h->l4len : 20;
	uint8_t *ip = f + 14;

	memset(f, 0, 14 + 20 + l4len);
	ip[0] = 0x45;
	if (h->ip_len)
		put16(ip + 2, (uint32_t)(20 + l4len + h->payload));
	put16(ip + 4, h->ip_id);
	ip[6] = h->df ? 0x40 : 0;
	ip[8] = h->ttl;
	ip[9] = h->proto;
	if (h->saddr)
		memcpy(ip + 12, h->saddr, 4);
	if (h->daddr)
		memcpy(ip + 16, h->daddr, 4);
	return l4_fill(f, ip + 20, 0x0800, h);
}

size_t nff_ip6(uint8_t *f, const struct nff_l4 *h)
{
	size_t l4len = h->l4len ? h->l4len : 20;
	uint8_t *ip = f + 14;

	memset(f, 0, 14 + 40 + l4len);
	ip[0] = 0x60;
	if (h->ip_len)
		put16(ip + 4, (uint32_t)(l4len + h->payload));
	ip[6] = h->proto;
	ip[7] = h->ttl;
	if (h->saddr)
		memcpy(ip + 8, h->saddr, 16);
	if (h->daddr)
		memcpy(ip + 24, h->daddr, 16);
	return l4_fill(f, ip + 40, 0x86dd, h);
}

size_t nff_tcp4(uint8_t *f, size_t payload, uint8_t seed)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	const struct nff_l4 h = {
		.dst = bcast, .src = src, .saddr = a, .daddr = b,
		.ip_len = true, .ttl = 64, .proto = 6, .sport = 80, .dport = 81,
		.flags = 0x10, .payload = payload,
		/* byte i of the frame, i >= 54: i * 5 + seed */
		.mul = 5, .add = (uint8_t)(54 * 5 + seed),
	};

	return nff_ip4(f, &h);
}
