// SPDX-License-Identifier: MIT
/* Small helpers shared by the vmbus subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/wire/vmbus.h"
#include "tools/util.h"

static const uint32_t known[VMBUS_VERSION_COUNT] = {
	VMBUS_VERSION_WS2008,     VMBUS_VERSION_WIN7,
	VMBUS_VERSION_WIN8,       VMBUS_VERSION_WIN8_1,
	VMBUS_VERSION_WIN10,      VMBUS_VERSION_WIN10_V4_1,
	VMBUS_VERSION_WIN10_V5,   VMBUS_VERSION_WIN10_V5_1,
	VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_3,
	VMBUS_VERSION_WIN10_V6_0,
};

uint32_t tool_parse_version(const char *s)
{
	unsigned int major, minor;
	char tail;

	if (sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2)
		return 0;
	for (int i = 0; i < VMBUS_VERSION_COUNT; i++)
		if (known[i] == (major << 16 | minor))
			return known[i];
	return 0;
}

const char *tool_version_str(uint32_t v)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "%u.%u", v >> 16, v & 0xffff);
	return buf;
}

int64_t tool_parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	return *end || v > (1ull << 46) ? -1 : (int64_t)v;
}

const char *tool_default_socket(void)
{
	const char *env = getenv("VMBUS_SOCKET");

	return env && *env ? env : "/run/openvmbus/host.sock";
}
