// SPDX-License-Identifier: MIT
/* Unit tests: the log level filter and sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/log.h"

static char last[512];
static int count;

static void sink(enum ovb_log_level level, const char *line, void *ctx)
{
	snprintf(last, sizeof(last), "%s", line);
	count++;
}

static void test_level_filter(void **state)
{
	ovb_log_set_sink(sink, NULL);
	ovb_log_set_level(OVB_LOG_WARN);
	count = 0;
	ovb_info("hidden %d", 1);
	assert_int_equal(count, 0);
	ovb_warn("storvsp0 chan %d: bad", 3);
	assert_int_equal(count, 1);
	assert_string_equal(last, "storvsp0 chan 3: bad");
	ovb_log_set_sink(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
