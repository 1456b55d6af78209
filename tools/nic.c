// SPDX-License-Identifier: MIT
/*
 * vmbus nic: change the synthetic NICs' link state at run time (guests see
 * RNDIS media connect / disconnect) or show the switch counters, through
 * the host's control socket.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/util.h"

static void nic_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus nic link up|down [--socket PATH]\n"
		"       vmbus nic stat [--socket PATH]\n"
		"Set the link of every synthetic NIC, or show switch counters.\n\n"
		"  --socket PATH   the host's partition socket (default "
		"$VMBUS_SOCKET or %s)\n",
		tool_default_socket());
}

static int cmd_nic(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = tool_default_socket();
	char line[64];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': nic_usage(stdout); return 0;
		default: nic_usage(stderr); return 2;
		}
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "link") &&
	    (!strcmp(argv[optind + 1], "up") ||
	     !strcmp(argv[optind + 1], "down"))) {
		snprintf(line, sizeof(line), "nic link %s", argv[optind + 1]);
	} else if (argc - optind == 1 && !strcmp(argv[optind], "stat")) {
		snprintf(line, sizeof(line), "nic stat");
	} else {
		nic_usage(stderr);
		return 2;
	}
	return control_run("nic", sock, line);
}

const struct vmbus_cmd vmbus_cmd_nic = {
	"nic", "synthetic NIC link state and counters", cmd_nic
};
