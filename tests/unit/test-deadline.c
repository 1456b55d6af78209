// SPDX-License-Identifier: MIT
/*
 * Unit tests of the deadline helpers (deadline.h): timespec arithmetic,
 * time left and passed, a timed wait that ends at its deadline and not
 * before; and a check of the tree that no code outside src/core/deadline.c
 * waits on the wall clock (CLOCK_REALTIME) or writes its own timed wait.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/deadline.h"

static void test_add_ms(void **state)
{
	struct timespec t = { .tv_sec = 5, .tv_nsec = 999500000 };

	ovb_ts_add_ms(&t, 1);
	assert_int_equal(t.tv_sec, 6);
	assert_int_equal(t.tv_nsec, 500000);
	ovb_ts_add_ms(&t, 2999);
	assert_int_equal(t.tv_sec, 8);
	assert_int_equal(t.tv_nsec, 999500000);
	ovb_ts_add_ms(&t, 0);
	assert_int_equal(t.tv_sec, 8);
	assert_true(ovb_ts_reached(&t, &t));
	assert_false(ovb_ts_reached(&(struct timespec){ 8, 999499999 }, &t));
	assert_true(ovb_ts_reached(&(struct timespec){ 9, 0 }, &t));
}

static void test_left_and_passed(void **state)
{
	struct timespec dl;
	uint64_t t0 = ovb_now_us();

	ovb_deadline_ms(&dl, 5000);
	assert_false(ovb_deadline_passed(&dl));
	assert_true(ovb_deadline_left_ms(&dl) > 4000);
	assert_true(ovb_deadline_left_ms(&dl) <= 5000);
	ovb_deadline_ms(&dl, 0);
	assert_true(ovb_deadline_passed(&dl));
	assert_int_equal(ovb_deadline_left_ms(&dl), 0);
	ovb_deadline_ms(&dl, 20);
	while (!ovb_deadline_passed(&dl))
		;
	assert_true(ovb_now_us() - t0 >= 20000);
	assert_int_equal(ovb_deadline_left_ms(&dl), 0);
}

static void test_timedwait(void **state)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct timespec dl;
	uint64_t t0 = ovb_now_us();
	int rc = 0;

	ovb_cond_init(&c);
	ovb_deadline_ms(&dl, 50);
	pthread_mutex_lock(&m);
	while (!rc)
		rc = ovb_cond_timedwait(&c, &m, &dl);
	pthread_mutex_unlock(&m);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(ovb_now_us() - t0 >= 50000);
	assert_true(ovb_now_us() - t0 < 5000000);
	pthread_cond_destroy(&c);
}

/*
 * Every timed wait goes through deadline.h: a wait on CLOCK_REALTIME ends
 * early or late when the wall clock is stepped.  (The tests run from the
 * top of the tree.)
 */
static void test_no_wall_clock_waits(void **state)
{
	FILE *f = popen("grep -rnE 'CLOCK_REALTIME|pthread_cond_timedwait"
			"|pthread_timedjoin_np' src tools 2>/dev/null | "
			"grep -v '^src/core/deadline.c:'", "r");
	char line[512];
	int n = 0;

	if (!f)
		skip();
	while (fgets(line, sizeof(line), f)) {
		printf("wall-clock wait: %s", line);
		n++;
	}
	pclose(f);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_ms),
		cmocka_unit_test(test_left_and_passed),
		cmocka_unit_test(test_timedwait),
		cmocka_unit_test(test_no_wall_clock_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
