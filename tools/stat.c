// SPDX-License-Identifier: MIT
/*
 * vmbus stat: live counters of a running host through its control socket:
 * per partition and channel, ring fill, interrupt mask, packets, bytes,
 * signals and errors; per disk on a remote engine (NBD), its connections,
 * reconnects, deadlines missed and failed requests.  Refreshed in place
 * on a terminal; one JSON document with --json.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/util.h"

static volatile sig_atomic_t stat_stop;

static void stat_on_signal(int sig)
{
	stat_stop = 1;
}

static void stat_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus stat [--socket PATH] [--json] [--once]\n"
		"Show a running host's partitions and channels, and the\n"
		"counters of its disks on remote engines (NBD).\n\n"
		"  --socket PATH   the host's partition socket (default "
		"$VMBUS_SOCKET or %s)\n"
		"  --json          print one JSON document and exit\n"
		"  --once          print the table once (default when not a "
		"terminal)\n",
		tool_default_socket());
}

static int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = tool_default_socket();
	bool json = false, once = !isatty(1);
	char path[128], err[256], *payload;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case '1': once = true; break;
		case 'h': stat_usage(stdout); return 0;
		default: stat_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus stat: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	control_path(sock, path, sizeof(path));
	signal(SIGINT, stat_on_signal);
	signal(SIGTERM, stat_on_signal);
	do {
		rc = control_call(path, json ? "stat json" : "stat", &payload,
				  err, sizeof(err));
		if (rc) {
			fprintf(stderr, "vmbus stat: %s\n", err);
			return 1;
		}
		if (!json && !once)
			fputs("\033[H\033[2J", stdout);
		fputs(payload, stdout);
		fflush(stdout);
		free(payload);
		if (json || once)
			break;
		sleep(1);
	} while (!stat_stop);
	return 0;
}

const struct vmbus_cmd vmbus_cmd_stat = {
	"stat", "live counters of a running host", cmd_stat
};
