// SPDX-License-Identifier: MIT
/*
 * vmbus disk: hot add and remove synthetic SCSI disks of a running host
 * through its control socket (`disk add SPEC`, `disk remove LUN`,
 * `disk list`).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/util.h"

static void disk_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus disk add FILE[,size=8G][,lun=N][,ro][,sector=4096]"
		"[,direct][,timeout=S] [--socket PATH]\n"
		"       vmbus disk remove LUN [--socket PATH]\n"
		"       vmbus disk list [--socket PATH]\n"
		"Hot add or remove a disk on a running host's SCSI controller.\n"
		"  --socket PATH   the host's partition socket (default "
		"$VMBUS_SOCKET or %s)\n",
		tool_default_socket());
}

static int cmd_disk(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = tool_default_socket();
	char line[4200];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': disk_usage(stdout); return 0;
		default: disk_usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && !strcmp(argv[0], "list")) {
		snprintf(line, sizeof(line), "disk list");
	} else if (argc == 2 && (!strcmp(argv[0], "add") ||
				 !strcmp(argv[0], "remove"))) {
		if (strlen(argv[1]) > 4096) {
			fprintf(stderr, "vmbus disk: argument too long\n");
			return 2;
		}
		snprintf(line, sizeof(line), "disk %s %s", argv[0], argv[1]);
	} else {
		disk_usage(stderr);
		return 2;
	}
	return control_run("disk", sock, line);
}

const struct vmbus_cmd vmbus_cmd_disk = {
	"disk", "hot add or remove disks of a running host", cmd_disk
};
