/* SPDX-License-Identifier: MIT */
/*
 * The VMBus protocol versions openvmbus speaks, in one table.  Layer: core.
 */
#ifndef OPENVMBUS_VERSION_H
#define OPENVMBUS_VERSION_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "wire/vmbus.h"

/** Every version from 0.13 to 6.0, oldest first (docs/wire.md B2). */
OVB_API
extern const uint32_t ovb_vmbus_versions[VMBUS_VERSION_COUNT];

/** True if @v is one of them. */
OVB_API
bool ovb_vmbus_version_known(uint32_t v);

#endif
