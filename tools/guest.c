// SPDX-License-Identifier: MIT
/*
 * vmbus guest: a guest partition.  Connects to a host, negotiates VMBus,
 * lists every offer, runs each device plugin's front end (tools/guest_*.c)
 * and, unless one of them keeps the partition up until SIGINT/SIGTERM,
 * unloads and exits 0.  Any failure is one clear line and a non-zero exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/guid.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "tools/cmd.h"
#include "tools/plugin.h"
#include "tools/util.h"

#define GUEST_TIMEOUT 5000

static void guest_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus guest [--socket PATH] [OPTIONS]\n"
		"Run a guest partition: negotiate VMBus, list offers, run each "
		"device's front end.\n\n"
		"  --socket PATH       the host's socket (default $VMBUS_SOCKET "
		"or %s)\n"
		"  --name NAME         partition name (default guest-PID)\n"
		"  --mem SIZE          guest RAM (default 256M)\n"
		"  --max-version X.Y   ask for VMBus X.Y at most\n"
		"  --no-eventfd        signal through the link only (slow path)\n"
		"  --list              only list the offers, then unload\n"
		"  -v, --verbose       log the bus\n",
		tool_default_socket());
}

static void list_offers(struct ovb_client *cl)
{
	struct ovb_offer_info info[64];
	size_t n = ovb_client_offers(cl, info, 64);

	printf("%-10s %-36s %5s %4s %s\n", "class", "instance", "relid", "sub",
	       "driver");
	for (size_t i = 0; i < n && i < 64; i++) {
		char g[37];

		ovb_guid_format(&info[i].instance_id, g);
		printf("%-10s %-36s %5u %4u %s\n",
		       ovb_guid_class_name(&info[i].class_id), g, info[i].relid,
		       info[i].subidx, info[i].driver ? info[i].driver : "-");
	}
}

static const struct guest_plugin *const guest_plugins[] = {
	&guest_plugin_echo,
	&guest_plugin_storage,
	&guest_plugin_disk,
	&guest_plugin_nic,
};
#define NPLUGINS (sizeof(guest_plugins) / sizeof(guest_plugins[0]))

static volatile sig_atomic_t guest_stop;

static void guest_on_signal(int sig)
{
	guest_stop = 1;
}

struct guest_opts {
	struct ovb_link_guest_params lp;
	uint32_t max;
	bool list_only;
};

static void guest_help(FILE *f)
{
	guest_usage(f);
	for (size_t i = 0; i < NPLUGINS; i++)
		fputs(guest_plugins[i]->help, f);
}

static const struct option *guest_options(void)
{
	static const struct option common[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "max-version", required_argument, NULL, 'V' },
		{ "no-eventfd", no_argument, NULL, 'E' },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	const struct option *extra[NPLUGINS];

	for (size_t i = 0; i < NPLUGINS; i++)
		extra[i] = guest_plugins[i]->opts;
	return tool_options(common, sizeof(common) / sizeof(common[0]), extra,
			    NPLUGINS);
}

static int guest_plugin_option(int code, const char *arg)
{
	for (size_t p = 0; p < NPLUGINS; p++)
		for (const struct option *o = guest_plugins[p]->opts; o->name;
		     o++)
			if (o->val == code)
				return guest_plugins[p]->option(code, arg);
	guest_help(stderr);
	return 2;
}

static int guest_parse(int argc, char **argv, struct guest_opts *o)
{
	const struct option *opts = guest_options();
	int64_t size;
	int c, rc;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->lp.path = optarg; break;
		case 'n': o->lp.name = optarg; break;
		case 'E': o->lp.no_eventfd = true; break;
		case 'l': o->list_only = true; break;
		case 'v': ovb_log_set_level(OVB_LOG_INFO); break;
		case 'm':
			size = tool_parse_size(optarg);
			if (size < (1 << 22) || size % 4096) {
				fprintf(stderr, "vmbus guest: --mem wants a size "
					">= 4M in whole pages, not '%s'\n",
					optarg);
				return 2;
			}
			o->lp.mem_size = (uint64_t)size;
			break;
		case 'V':
			o->max = tool_parse_version(optarg);
			if (!o->max) {
				fprintf(stderr, "vmbus guest: unknown VMBus "
					"version '%s' (0.13 .. 6.0)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			guest_help(stdout);
			return 1;
		case '?':
			guest_help(stderr);
			return 2;
		default:
			if ((rc = guest_plugin_option(c, optarg)) != 0)
				return rc;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus guest: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

/* Run every plugin's front end; wait for a signal if one keeps running. */
static int guest_run_plugins(struct ovb_client *cl, size_t *started)
{
	bool keep = false;
	int rc = 0;

	for (*started = 0; *started < NPLUGINS && rc >= 0; (*started)++) {
		if (!guest_plugins[*started]->run)
			continue;
		rc = guest_plugins[*started]->run(cl);
		if (rc == 1)
			keep = true;
	}
	if (rc < 0 || !keep)
		return rc < 0 ? rc : 0;
	signal(SIGINT, guest_on_signal);
	signal(SIGTERM, guest_on_signal);
	fprintf(stderr, "vmbus guest: running; Ctrl-C or SIGTERM stops it\n");
	while (!guest_stop)
		pause();
	return 0;
}

static int cmd_guest(int argc, char **argv)
{
	struct guest_opts o = { .lp = { .path = tool_default_socket(),
					.mem_gpa = 1ull << 32,
					.mem_size = 256 << 20 } };
	struct ovb_link_guest *g;
	struct ovb_client *cl;
	size_t started = 0;
	char name[32];
	int rc;

	if ((rc = guest_parse(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : rc;
	snprintf(name, sizeof(name), "guest-%d", (int)getpid());
	if (!o.lp.name)
		o.lp.name = name;
	rc = ovb_link_guest_connect(&o.lp, &g);
	if (rc) {
		fprintf(stderr, "vmbus guest: cannot connect to %s: %s\n",
			o.lp.path, strerror(-rc));
		return 1;
	}
	cl = ovb_link_guest_client(g);
	for (size_t i = 0; i < NPLUGINS && !rc; i++)
		if (guest_plugins[i]->attach)
			rc = guest_plugins[i]->attach(cl);
	if (!rc)
		rc = ovb_client_connect(cl, o.max, GUEST_TIMEOUT);
	if (rc) {
		fprintf(stderr, "vmbus guest: %s\n",
			rc == -EPROTONOSUPPORT
				? "the host refused every VMBus version we speak"
				: strerror(-rc));
		ovb_link_guest_destroy(g);
		return 1;
	}
	printf("partition %s: VMBus %s negotiated\n", o.lp.name,
	       tool_version_str(ovb_client_version(cl)));
	list_offers(cl);
	fflush(stdout);
	if (!o.list_only)
		rc = guest_run_plugins(cl, &started);
	while (started--)
		if (guest_plugins[started]->stop)
			guest_plugins[started]->stop(cl);
	if (!rc && (rc = ovb_client_unload(cl, GUEST_TIMEOUT)) != 0)
		fprintf(stderr, "vmbus guest: unload: %s\n", strerror(-rc));
	else if (!rc)
		printf("unloaded cleanly\n");
	ovb_link_guest_destroy(g);
	return rc ? 1 : 0;
}

const struct vmbus_cmd vmbus_cmd_guest = {
	"guest", "run a guest partition against a host", cmd_guest
};
