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
#include "tools/control.h"
#include "tools/util.h"

static struct ovb_link_host *host_link;

static void host_on_signal(int sig)
{
	if (host_link)
		ovb_link_host_stop(host_link);
}

static void stat_row(const struct ovb_chan_report *r, void *ctx)
{
	FILE *out = ctx;

	fprintf(out,
		"%-3u %-12.12s %-5s %-8s %5u %3u %-4s %6u/%-7u %6u/%-7u %-3s "
		"%10llu %12llu %10llu %12llu %8llu %8llu %6llu\n",
		r->partition_id, r->partition, tool_version_str(r->version),
		r->device, r->relid, r->subidx, r->open ? "open" : "-",
		r->ring.in_used, r->ring.in_size, r->ring.out_used,
		r->ring.out_size, r->ring.in_masked ? "yes" : "no",
		(unsigned long long)r->st.pkts_in,
		(unsigned long long)r->st.bytes_in,
		(unsigned long long)r->st.pkts_out,
		(unsigned long long)r->st.bytes_out,
		(unsigned long long)r->st.signals_in,
		(unsigned long long)r->st.signals_out,
		(unsigned long long)r->st.errors);
}

/* `stat` on the control socket: a table, or JSON with "stat json". */
static int control_stat(const char *args, FILE *out, char *err, size_t errlen,
			void *ctx)
{
	struct ovb_server *srv = ctx;
	char *json;

	if (!strcmp(args, "json")) {
		if (ovb_server_stat_json(srv, &json))
			return -ENOMEM;
		fputs(json, out);
		free(json);
		return 0;
	}
	if (*args) {
		snprintf(err, errlen, "stat takes 'json' or nothing");
		return -EINVAL;
	}
	fprintf(out,
		"%-3s %-12s %-5s %-8s %5s %3s %-4s %14s %14s %-3s %10s %12s "
		"%10s %12s %8s %8s %6s\n",
		"id", "partition", "vmbus", "device", "relid", "sub", "open",
		"in used/size", "out used/size", "msk", "pkts in", "bytes in",
		"pkts out", "bytes out", "sig in", "sig out", "errors");
	ovb_server_report(srv, stat_row, out);
	return 0;
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
	char ctl_path[128];
	struct control *ctl = NULL;

	control_path(path, ctl_path, sizeof(ctl_path));
	rc = control_start(ctl_path, &ctl);
	if (rc)
		fprintf(stderr, "vmbus host: no control socket at %s: %s\n",
			ctl_path, strerror(-rc));
	else
		control_register(ctl, "stat", control_stat, srv);
	fprintf(stderr, "vmbus host: serving on %s\n", path);
	rc = ovb_link_host_run(host_link);
	if (ctl)
		control_stop(ctl);
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
