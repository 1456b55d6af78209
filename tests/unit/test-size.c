// SPDX-License-Identifier: MIT
/* Unit tests: ovb_parse_size(), the one size parser (disk specs, tools). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "openvmbus/size.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },           { "4096", 4096 },
		{ "512B", 512 },      { "64k", 64u << 10 },
		{ "64KiB", 64u << 10 }, { "8M", 8u << 20 },
		{ "1G", 1u << 30 },   { "2GiB", 2ull << 30 },
		{ "3t", 3ull << 40 }, { "16777215T", 16777215ull << 40 },
	};
	static const char *const bad[] = {
		"", "-1", "+5", " 5", "5 ", "K", "5X", "5iB", "5KB5", "5KiBB",
		"16777216T", "99999999999999999999",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		assert_int_equal(ovb_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(ovb_parse_size(bad[i], &v), -EINVAL);
		assert_int_equal(v, 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
