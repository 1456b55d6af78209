// SPDX-License-Identifier: MIT
/* vmbus guest: placeholder until the bus lands in this session. */
#include <stdio.h>

#include "tools/cmd.h"

static int cmd_guest(int argc, char **argv)
{
	fprintf(stderr, "vmbus guest: not built yet\n");
	return 1;
}

const struct vmbus_cmd vmbus_cmd_guest = { "guest", "(not built yet)", cmd_guest };
