/* SPDX-License-Identifier: MIT */
/*
 * Atomics on fields of packed wire structs.  Layer: core.  The wire
 * structs are packed, so the compiler cannot prove a 32-bit field is
 * aligned and would call out to libatomic; every such field we touch
 * atomically sits at a 4-byte-aligned offset of a page-aligned structure,
 * which this helper states.
 */
#ifndef OPENVMBUS_ATOMIC_H
#define OPENVMBUS_ATOMIC_H

#include <stdint.h>

#include "api.h"

/** A 32-bit field of a page-aligned wire struct, as an aligned pointer. */
#define OVB_U32(field) ((uint32_t *)__builtin_assume_aligned((void *)&(field), 4))

#endif
