/* SPDX-License-Identifier: MIT */
/*
 * Big-endian loads and stores at any alignment, written once: SCSI CDBs
 * and parameter data, and the network headers the offloads parse and
 * rewrite.  (VMBus and its devices are little-endian and use packed wire
 * structs instead.)  Layer: core.
 */
#ifndef OPENVMBUS_BYTEORDER_H
#define OPENVMBUS_BYTEORDER_H

#include <stdint.h>

#include "api.h"

static inline uint16_t ovb_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t ovb_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ovb_get_be64(const uint8_t *p)
{
	return (uint64_t)ovb_get_be32(p) << 32 | ovb_get_be32(p + 4);
}

static inline void ovb_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ovb_put_be32(uint8_t *p, uint32_t v)
{
	ovb_put_be16(p, (uint16_t)(v >> 16));
	ovb_put_be16(p + 2, (uint16_t)v);
}

static inline void ovb_put_be64(uint8_t *p, uint64_t v)
{
	ovb_put_be32(p, (uint32_t)(v >> 32));
	ovb_put_be32(p + 4, (uint32_t)v);
}

#endif /* OPENVMBUS_BYTEORDER_H */
