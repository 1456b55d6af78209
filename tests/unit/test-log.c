// SPDX-License-Identifier: MIT
/* Unit tests: the log level filter and sink, and the rate limiter. */
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

#define SEC OVB_LOG_INTERVAL_US

/* A burst, then nothing until a token comes back, with the count. */
static void test_ratelimit_burst(void **state)
{
	struct ovb_ratelimit rl = { 0 };
	uint64_t t = 1000;
	uint32_t sup = 99;

	for (int i = 0; i < OVB_LOG_BURST; i++) {
		assert_true(ovb_ratelimit(&rl, t, &sup));
		assert_int_equal(sup, 0);
	}
	for (int i = 0; i < 500; i++)
		assert_false(ovb_ratelimit(&rl, t + (uint64_t)i, &sup));
	/* Just under a second: still nothing. */
	assert_false(ovb_ratelimit(&rl, t + SEC - 1, &sup));
	/* One second: one line, saying 501 were dropped. */
	assert_true(ovb_ratelimit(&rl, t + SEC, &sup));
	assert_int_equal(sup, 501);
	assert_false(ovb_ratelimit(&rl, t + SEC + 1, &sup));
	/* 2.5 s: one more (the half second is not lost: 3 s gives one). */
	assert_true(ovb_ratelimit(&rl, t + SEC * 5 / 2, &sup));
	assert_int_equal(sup, 1);
	assert_false(ovb_ratelimit(&rl, t + SEC * 5 / 2 + 1, &sup));
	assert_true(ovb_ratelimit(&rl, t + 3 * SEC, &sup));
}

/* Quiet for long enough, the whole burst is back, never more. */
static void test_ratelimit_recovery(void **state)
{
	struct ovb_ratelimit rl = { 0 };
	uint64_t t = 5;
	uint32_t sup;
	int n = 0;

	while (ovb_ratelimit(&rl, t, &sup))
		n++;
	assert_int_equal(n, OVB_LOG_BURST);
	t += 1000 * SEC;
	for (n = 0; ovb_ratelimit(&rl, t, &sup); n++)
		if (n == 0)
			assert_int_equal(sup, 1);
	assert_int_equal(n, OVB_LOG_BURST);
	/* A reset refills at once. */
	ovb_log_ratelimit_reset();
	assert_true(ovb_ratelimit(&rl, t, &sup));
	assert_int_equal(sup, 0);
}

/* ovb_peer() through a sink: a burst, then a "suppressed" line. */
static void test_peer_lines(void **state)
{
	ovb_log_set_sink(sink, NULL);
	ovb_log_set_level(OVB_LOG_WARN);
	ovb_log_ratelimit_reset();
	count = 0;
	for (int i = 0; i < 1000; i++)
		ovb_peer("guest %d misbehaved", i);
	assert_int_equal(count, OVB_LOG_BURST);
	assert_string_equal(last, "guest 9 misbehaved");
	/* Hidden by the level: nothing counted, nothing printed. */
	ovb_log_set_level(OVB_LOG_ERR);
	ovb_peer("hidden");
	assert_int_equal(count, OVB_LOG_BURST);
	ovb_log_set_sink(NULL, NULL);
	ovb_log_set_level(OVB_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_ratelimit_burst),
		cmocka_unit_test(test_ratelimit_recovery),
		cmocka_unit_test(test_peer_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
