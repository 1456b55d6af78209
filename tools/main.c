// SPDX-License-Identifier: MIT
/*
 * The vmbus command: dispatches to one subcommand per file in tools/.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

static const struct vmbus_cmd *const cmds[] = {
	&vmbus_cmd_lab,
	&vmbus_cmd_host,
	&vmbus_cmd_guest,
	&vmbus_cmd_stat,
	&vmbus_cmd_disk,
	&vmbus_cmd_nic,
	&vmbus_cmd_capture,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmbus COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "\n'vmbus COMMAND --help' describes each.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i]->name))
			return cmds[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "vmbus: unknown command '%s' (try 'vmbus --help')\n",
		argv[1]);
	return 2;
}
