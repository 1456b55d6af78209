// SPDX-License-Identifier: MIT
/* Small helpers shared by the vmbus subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/size.h"
#include "openvmbus/version.h"
#include "tools/util.h"

uint32_t tool_parse_version(const char *s)
{
	unsigned int major, minor;
	char tail;

	if (sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2)
		return 0;
	return ovb_vmbus_version_known(major << 16 | minor) ? major << 16 | minor
							   : 0;
}

const char *tool_version_str(uint32_t v)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "%u.%u", v >> 16, v & 0xffff);
	return buf;
}

int64_t tool_parse_size(const char *s)
{
	uint64_t v;

	return ovb_parse_size(s, &v) || v > (1ull << 46) ? -1 : (int64_t)v;
}

const char *tool_default_socket(void)
{
	const char *env = getenv("VMBUS_SOCKET");

	return env && *env ? env : "/run/openvmbus/host.sock";
}

const struct option *tool_options(const struct option *common, size_t ncommon,
				  const struct option *const *extra,
				  size_t nextra)
{
	static struct option all[96];
	size_t n = 0;

	for (size_t i = 0; i < ncommon && n < 95; i++)
		all[n++] = common[i];
	for (size_t p = 0; p < nextra; p++)
		for (const struct option *o = extra[p]; o->name && n < 95; o++)
			all[n++] = *o;
	memset(&all[n], 0, sizeof(all[n]));
	return all;
}
