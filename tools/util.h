/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the vmbus subcommands. */
#ifndef VMBUS_TOOLS_UTIL_H
#define VMBUS_TOOLS_UTIL_H

#include <stdint.h>

/** "6.0", "5.3", ..., "0.13" -> protocol version; 0 if unknown. */
uint32_t tool_parse_version(const char *s);

/** Print a version as major.minor into a static buffer. */
const char *tool_version_str(uint32_t v);

/** "64M", "1G", "4096" -> bytes; returns -1 on bad input. */
int64_t tool_parse_size(const char *s);

/** Default socket path: $VMBUS_SOCKET or /run/openvmbus/host.sock. */
const char *tool_default_socket(void);

#endif
