/* SPDX-License-Identifier: MIT */
/*
 * Sizes written by people ("8G", "512", "64KiB"), parsed once for the
 * disk specs and the tools' options.  Layer: core.
 */
#ifndef OPENVMBUS_SIZE_H
#define OPENVMBUS_SIZE_H

#include <stdint.h>

#include "api.h"

/**
 * Parse a decimal size with an optional K/M/G/T suffix (powers of 1024,
 * either case) and an optional trailing "B" (or "iB" after a suffix).
 * The whole string must be one size.  Returns 0 and *@out, or -EINVAL
 * (empty, a sign or other garbage, overflow).
 */
OVB_API
int ovb_parse_size(const char *s, uint64_t *out);

#endif /* OPENVMBUS_SIZE_H */
