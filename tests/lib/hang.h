/* SPDX-License-Identifier: MIT */
/*
 * The tests' hang guard.  Timings never decide a test; the outcome (an
 * error code, a log line, a counter, a batch's size, the data) does.  A
 * wait still needs a bound, so that a test whose code is broken fails
 * instead of hanging: TEST_HANG_MS, far past any deadline or hold in the
 * tests, so that no load on the machine reaches it.
 */
#ifndef OPENVMBUS_TESTS_HANG_H
#define OPENVMBUS_TESTS_HANG_H

#include <stdint.h>

#include "openvmbus/deadline.h"

#define TEST_HANG_MS 30000

/**
 * With t0 = ovb_now_us() taken before a wait that must end at a deadline
 * or at once: fails only when the wait took longer than TEST_HANG_MS.
 * Uses cmocka's assert_true.
 */
#define TEST_NO_HANG(t0_us)                                                    \
	assert_true(ovb_now_us() - (t0_us) < (uint64_t)TEST_HANG_MS * 1000)

#endif
