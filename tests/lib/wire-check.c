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
