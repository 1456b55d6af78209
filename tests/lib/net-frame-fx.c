// SPDX-License-Identifier: MIT
/*
 * The hand-built frames of net-frame-fx.h.
 */
#include <string.h>

#include "tests/lib/net-frame-fx.h"

size_t nff_tcp4(uint8_t *f, size_t payload, uint8_t seed)
{
	size_t len = 14 + 20 + 20 + payload;

	memset(f, 0, 54);
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[35] = 80;
	f[37] = 81;
	f[46] = 0x50;
	f[47] = 0x10;
	for (size_t i = 54; i < len; i++)
		f[i] = (uint8_t)(i * 5 + seed);
	return len;
}
