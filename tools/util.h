/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the vmbus subcommands. */
#ifndef VMBUS_TOOLS_UTIL_H
#define VMBUS_TOOLS_UTIL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

/** "6.0", "5.3", ..., "0.13" -> protocol version; 0 if unknown. */
uint32_t tool_parse_version(const char *s);

/** Print a version as major.minor into a static buffer. */
const char *tool_version_str(uint32_t v);

/** "64M", "1G", "4096" -> bytes; returns -1 on bad input. */
int64_t tool_parse_size(const char *s);

/** Default socket path: $VMBUS_SOCKET or /run/openvmbus/host.sock. */
const char *tool_default_socket(void);

/**
 * One getopt table: @common (@ncommon entries) followed by each of the
 * @nextra zero-terminated tables in @extra.  Returns a static table.
 */
const struct option *tool_options(const struct option *common, size_t ncommon,
				  const struct option *const *extra,
				  size_t nextra);

#endif
