// SPDX-License-Identifier: MIT
/*
 * Golden-byte comparison for the wire-format tests (see wire-check.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/lib/wire-check.h"

void wire_check_bytes(const void *got, const void *want, size_t n,
		      const char *what, const char *file, int line)
{
	const uint8_t *g = got, *w = want;
	size_t i;

	if (memcmp(g, w, n) == 0)
		return;
	for (i = 0; i < n && g[i] == w[i]; i++)
		;
	print_error("%s differs from its %zu golden bytes; first at offset "
		    "%zu: got 0x%02x, want 0x%02x\n",
		    what, n, i, g[i], w[i]);
	_fail(file, line);
}

const struct vmbus_guid guid_c0 = { {
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
} };
