/* SPDX-License-Identifier: MIT */
/*
 * Golden-byte comparison for the wire-format tests: compare an encoded
 * struct with hand-written bytes and, on a mismatch, report the first
 * differing offset with both values, then fail the cmocka test at the
 * caller's file:line.
 */
#ifndef OPENVMBUS_TESTS_WIRE_CHECK_H
#define OPENVMBUS_TESTS_WIRE_CHECK_H

#include <stddef.h>

#include "openvmbus/wire/vmbus.h"

/** Fail unless the @n bytes at @got equal @want (first difference shown). */
#define expect_wire(got, want, n)                                             \
	wire_check_bytes((got), (want), (n), #got, __FILE__, __LINE__)

/** The function behind expect_wire(); @what names the object for the log. */
void wire_check_bytes(const void *got, const void *want, size_t n,
		      const char *what, const char *file, int line);

/** A GUID that is not symmetric anywhere: wire bytes c0 c1 ... cf. */
extern const struct vmbus_guid guid_c0;

#endif /* OPENVMBUS_TESTS_WIRE_CHECK_H */
