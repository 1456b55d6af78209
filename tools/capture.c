// SPDX-License-Identifier: MIT
/*
 * vmbus capture: start or stop recording a running host's VMBus traffic
 * to a pcapng file, through its control socket (docs/capture.md).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/util.h"

static void capture_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus capture start FILE [--partition NAME] "
		"[--snaplen N] [--socket PATH]\n"
		"       vmbus capture stop FILE [--socket PATH]\n"
		"Record a running host's VMBus messages and ring packets to a "
		"pcapng file\n(open it with share/wireshark/openvmbus.lua).\n\n"
		"  --partition NAME  only this partition (default: all)\n"
		"  --snaplen N       bytes of guest memory kept per packet's "
		"ranges (1024)\n"
		"  --socket PATH     the host's partition socket (default "
		"$VMBUS_SOCKET or %s)\n",
		tool_default_socket());
}

/* The host may run elsewhere in the tree: hand it an absolute path. */
static int absolute(const char *file, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (file[0] == '/')
		n = snprintf(out, len, "%s", file);
	else if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	else
		n = snprintf(out, len, "%.*s/%s", (int)(len / 2), cwd, file);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "partition", required_argument, NULL, 'p' },
		{ "snaplen", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = tool_default_socket(), *part = "-",
		   *snap = "1024";
	char line[512], file[400];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'p': part = optarg; break;
		case 'n': snap = optarg; break;
		case 'h': capture_usage(stdout); return 0;
		default: capture_usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 ||
	    (strcmp(argv[0], "start") && strcmp(argv[0], "stop"))) {
		capture_usage(stderr);
		return 2;
	}
	char *end;
	unsigned long v = strtoul(snap, &end, 10);

	if (*end || !*snap || v == 0 || v > (16u << 20)) {
		fprintf(stderr, "vmbus capture: --snaplen wants 1..16777216 "
			"bytes, not '%s'\n", snap);
		return 2;
	}
	if (absolute(argv[1], file, sizeof(file)) ||
	    strlen(part) > 63 ||
	    strchr(part, ' ') || strchr(file, '\n')) {
		fprintf(stderr, "vmbus capture: file or partition name too "
			"long\n");
		return 2;
	}
	if (!strcmp(argv[0], "start"))
		snprintf(line, sizeof(line), "capture start %.15s %s %s", snap,
			 part, file);
	else
		snprintf(line, sizeof(line), "capture stop %s", file);
	return control_run("capture", sock, line);
}

const struct vmbus_cmd vmbus_cmd_capture = {
	"capture", "record a running host's VMBus traffic to pcapng",
	cmd_capture
};
