// SPDX-License-Identifier: MIT
/* vmbus host: placeholder until the bus lands in this session. */
#include <stdio.h>

#include "tools/cmd.h"

static int cmd_host(int argc, char **argv)
{
	fprintf(stderr, "vmbus host: not built yet\n");
	return 1;
}

const struct vmbus_cmd vmbus_cmd_host = { "host", "(not built yet)", cmd_host };
