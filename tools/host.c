// SPDX-License-Identifier: MIT
/*
 * vmbus host: the host partition.  Serves guest partitions on a unix
 * socket until SIGINT/SIGTERM, offering each the registered VSPs.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "openvmbus/echo.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "tools/cmd.h"
#include "tools/util.h"

static struct ovb_link_host *host_link;

static void host_on_signal(int sig)
{
	if (host_link)
		ovb_link_host_stop(host_link);
}

static void host_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus host [--socket PATH] [OPTIONS]\n"
		"Serve guest partitions over the partition link.\n\n"
		"  --socket PATH       listen here (default $VMBUS_SOCKET or %s)\n"
		"  --echo N            offer N echo test devices (default 1)\n"
		"  --monitored         offer echo devices with monitor ids\n"
		"  --max-version X.Y   accept VMBus versions up to X.Y only\n"
		"  --min-version X.Y   refuse VMBus versions below X.Y\n"
		"  -v, --verbose       log partitions and channels\n",
		tool_default_socket());
}

static int cmd_host(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "echo", required_argument, NULL, 'e' },
		{ "monitored", no_argument, NULL, 'm' },
		{ "max-version", required_argument, NULL, 'V' },
		{ "min-version", required_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ovb_echo_vsp_cfg echo = { .instances = 1 };
	const char *path = tool_default_socket();
	struct ovb_server *srv;
	struct sigaction sa;
	uint32_t max = 0, min = 0;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'e':
			echo.instances = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || echo.instances > 64) {
				fprintf(stderr, "vmbus host: --echo wants 0..64, "
					"not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm':
			echo.monitored = true;
			break;
		case 'V':
			max = tool_parse_version(optarg);
			if (!max) {
				fprintf(stderr, "vmbus host: unknown VMBus "
					"version '%s' (0.13 .. 6.0)\n", optarg);
				return 2;
			}
			break;
		case 'N':
			min = tool_parse_version(optarg);
			if (!min) {
				fprintf(stderr, "vmbus host: unknown VMBus "
					"version '%s' (0.13 .. 6.0)\n", optarg);
				return 2;
			}
			break;
		case 'v':
			ovb_log_set_level(OVB_LOG_INFO);
			break;
		case 'h':
			host_usage(stdout);
			return 0;
		default:
			host_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus host: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!strcmp(path, "/run/openvmbus/host.sock"))
		mkdir("/run/openvmbus", 0700);
	if ((rc = ovb_server_create(&srv)) != 0)
		goto err;
	ovb_server_set_max_version(srv, max);
	ovb_server_set_min_version(srv, min);
	ovb_server_register_vsp(srv, &ovb_echo_vsp_ops, &echo);
	rc = ovb_link_host_create(srv, path, &host_link);
	if (rc) {
		fprintf(stderr, "vmbus host: cannot listen on %s: %s\n", path,
			rc == -EADDRINUSE ? "another host is serving there"
					  : strerror(-rc));
		ovb_server_destroy(srv);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "vmbus host: serving on %s\n", path);
	rc = ovb_link_host_run(host_link);
	ovb_link_host_destroy(host_link);
	host_link = NULL;
	ovb_server_destroy(srv);
	if (rc)
		goto err;
	fprintf(stderr, "vmbus host: stopped\n");
	return 0;
err:
	fprintf(stderr, "vmbus host: %s\n", strerror(-rc));
	return 1;
}

const struct vmbus_cmd vmbus_cmd_host = {
	"host", "serve guest partitions (the host partition)", cmd_host
};
