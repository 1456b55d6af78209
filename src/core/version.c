// SPDX-License-Identifier: MIT
/* The VMBus protocol versions openvmbus speaks.  Layer: core. */
#include "openvmbus/version.h"

const uint32_t ovb_vmbus_versions[VMBUS_VERSION_COUNT] = {
	VMBUS_VERSION_WS2008,     VMBUS_VERSION_WIN7,
	VMBUS_VERSION_WIN8,       VMBUS_VERSION_WIN8_1,
	VMBUS_VERSION_WIN10,      VMBUS_VERSION_WIN10_V4_1,
	VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V5_1,
	VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_3,
	VMBUS_VERSION_WIN10_V6_0,
};

bool ovb_vmbus_version_known(uint32_t v)
{
	for (int i = 0; i < VMBUS_VERSION_COUNT; i++)
		if (ovb_vmbus_versions[i] == v)
			return true;
	return false;
}
