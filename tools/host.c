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

#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/plugin.h"
#include "tools/util.h"

static struct ovb_link_host *host_link;

static void host_on_signal(int sig)
{
	if (host_link)
		ovb_link_host_stop(host_link);
}

static const struct host_plugin *const host_plugins[] = {
	&host_plugin_echo,
	&host_plugin_disk,
	&host_plugin_nic,
	&host_plugin_capture,
	&host_plugin_fault,
};
#define NPLUGINS (sizeof(host_plugins) / sizeof(host_plugins[0]))

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
		size_t n;

		if (ovb_server_stat_json(srv, &json))
			return -ENOMEM;
		/* The plugins' keys go before the document's last brace. */
		n = strlen(json);
		while (n && json[n - 1] != '}')
			n--;
		if (n)
			n--;
		while (n && (json[n - 1] == '\n' || json[n - 1] == ' '))
			n--;
		fwrite(json, 1, n, out);
		free(json);
		for (size_t i = 0; i < NPLUGINS; i++)
			if (host_plugins[i]->stat)
				host_plugins[i]->stat(out, true);
		fputs("\n}\n", out);
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
	for (size_t i = 0; i < NPLUGINS; i++)
		if (host_plugins[i]->stat)
			host_plugins[i]->stat(out, false);
	return 0;
}

static void host_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus host [--socket PATH] [OPTIONS]\n"
		"Serve guest partitions over the partition link.\n\n"
		"  --socket PATH       listen here (default $VMBUS_SOCKET or %s);\n"
		"                      the control socket is PATH.ctl\n"
		"  --max-version X.Y   accept VMBus versions up to X.Y only\n"
		"  --min-version X.Y   refuse VMBus versions below X.Y\n"
		"  --threads MODE      workers: a thread per open channel (default);\n"
		"                      caller: none, the link thread runs every\n"
		"                      channel (caller-driven dispatch)\n"
		"  -v, --verbose       log partitions and channels\n",
		tool_default_socket());
	for (size_t i = 0; i < NPLUGINS; i++)
		fputs(host_plugins[i]->help, f);
}

/* The common options and every plugin's, in one getopt table. */
static const struct option *host_options(void)
{
	static const struct option common[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "max-version", required_argument, NULL, 'V' },
		{ "min-version", required_argument, NULL, 'N' },
		{ "threads", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	const struct option *extra[NPLUGINS];

	for (size_t i = 0; i < NPLUGINS; i++)
		extra[i] = host_plugins[i]->opts;
	return tool_options(common, sizeof(common) / sizeof(common[0]), extra,
			    NPLUGINS);
}

static int host_plugin_option(int code, const char *arg)
{
	for (size_t p = 0; p < NPLUGINS; p++)
		for (const struct option *o = host_plugins[p]->opts; o->name;
		     o++)
			if (o->val == code)
				return host_plugins[p]->option(code, arg);
	host_usage(stderr);
	return 2;
}

static int host_version_opt(const char *arg, uint32_t *v)
{
	*v = tool_parse_version(arg);
	if (*v)
		return 0;
	fprintf(stderr, "vmbus host: unknown VMBus version '%s' (0.13 .. 6.0)\n",
		arg);
	return 2;
}

static int cmd_host(int argc, char **argv)
{
	const struct option *opts = host_options();
	const char *path = tool_default_socket();
	struct control *ctl = NULL;
	struct ovb_server *srv;
	struct sigaction sa;
	uint32_t max = 0, min = 0;
	bool caller = false;
	char ctl_path[128];
	int c, rc;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'V':
			if (host_version_opt(optarg, &max))
				return 2;
			break;
		case 'N':
			if (host_version_opt(optarg, &min))
				return 2;
			break;
		case 'T':
			caller = !strcmp(optarg, "caller");
			if (!caller && strcmp(optarg, "workers")) {
				fprintf(stderr, "vmbus host: --threads is "
					"workers or caller\n");
				return 2;
			}
			break;
		case 'v':
			ovb_log_set_level(OVB_LOG_INFO);
			break;
		case 'h':
			host_usage(stdout);
			return 0;
		case '?':
			host_usage(stderr);
			return 2;
		default:
			if ((rc = host_plugin_option(c, optarg)) != 0)
				return rc;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus host: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!strcmp(path, "/run/openvmbus/host.sock"))
		mkdir("/run/openvmbus", 0700);
	if ((rc = ovb_server_create(&srv)) != 0) {
		fprintf(stderr, "vmbus host: %s\n", strerror(-rc));
		return 1;
	}
	ovb_server_set_max_version(srv, max);
	ovb_server_set_min_version(srv, min);
	if (caller && (rc = ovb_server_set_threading(srv, OVB_SERVER_CALLER))) {
		fprintf(stderr, "vmbus host: %s\n", strerror(-rc));
		ovb_server_destroy(srv);
		return 1;
	}
	rc = ovb_link_host_create(srv, path, &host_link);
	if (rc) {
		fprintf(stderr, "vmbus host: cannot listen on %s: %s\n", path,
			rc == -EADDRINUSE ? "another host is serving there"
					  : strerror(-rc));
		ovb_server_destroy(srv);
		return 1;
	}
	control_path(path, ctl_path, sizeof(ctl_path));
	rc = control_start(ctl_path, &ctl);
	if (rc) {
		fprintf(stderr, "vmbus host: no control socket at %s: %s\n",
			ctl_path, strerror(-rc));
		ctl = NULL;
	} else {
		control_register(ctl, "stat", control_stat, srv);
	}
	size_t started = 0;

	for (rc = 0; started < NPLUGINS && !rc; started++)
		rc = host_plugins[started]->start(srv, ctl);
	if (!rc) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = host_on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		fprintf(stderr, "vmbus host: serving on %s\n", path);
		rc = ovb_link_host_run(host_link);
		if (rc)
			fprintf(stderr, "vmbus host: %s\n", strerror(-rc));
	}
	if (ctl)
		control_stop(ctl);
	ovb_link_host_destroy(host_link);
	host_link = NULL;
	while (started--)
		if (host_plugins[started]->stop)
			host_plugins[started]->stop();
	ovb_server_destroy(srv);
	if (rc)
		return 1;
	fprintf(stderr, "vmbus host: stopped\n");
	return 0;
}

const struct vmbus_cmd vmbus_cmd_host = {
	"host", "serve guest partitions (the host partition)", cmd_host
};
