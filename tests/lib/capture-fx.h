/* SPDX-License-Identifier: MIT */
/*
 * What the capture tests (unit/test-capture, pair/test-capture-storage)
 * share: reading back the pcapng file a capture wrote.  Uses cmocka
 * assertions.
 */
#ifndef OPENVMBUS_TESTS_CAPTURE_FX_H
#define OPENVMBUS_TESTS_CAPTURE_FX_H

#include <stddef.h>
#include <stdint.h>

/** The whole file at @path, malloc'd (the caller frees it); asserts. */
uint8_t *capfx_slurp(const char *path, size_t *len);

#endif
