// SPDX-License-Identifier: MIT
/*
 * vmbus guest: a guest partition.  Connects to a host, negotiates VMBus,
 * lists every offer, runs each device plugin's front end (tools/guest_*.c)
 * and, unless one of them keeps the partition up until SIGINT/SIGTERM (or
 * until it ends: an unmounted DIR, a host that stopped answering), unloads
 * and exits 0.  Any failure is one clear line and a non-zero exit.
 *
 * The teardown is bounded: every wait for the host ends within
 * GUEST_TEARDOWN_MS of the stop, and a watchdog ends the process at
 * GUEST_WATCHDOG_MS should anything still hang, so SIGTERM ends it within
 * 5 s even while the host is silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/guid.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/log.h"
#include "tools/cmd.h"
#include "tools/plugin.h"
#include "tools/util.h"

#define GUEST_TIMEOUT 5000
#define GUEST_TEARDOWN_MS 3000  /* every wait for the host, after a stop */
#define GUEST_WATCHDOG_MS 4500  /* then the process ends regardless */

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
static int guest_wake[2] = { -1, -1 }; /* self-pipe: signals, stop requests */
static pthread_mutex_t guest_stop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool guest_stop_requested;
static int guest_stop_status;
static char guest_stop_why[256];

static void guest_poke(void)
{
	int e = errno;

	if (guest_wake[1] >= 0 && write(guest_wake[1], "x", 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = e;
}

static void guest_on_signal(int sig)
{
	guest_stop = 1;
	guest_poke();
}

void guest_request_stop(int status, const char *why)
{
	pthread_mutex_lock(&guest_stop_lock);
	if (!guest_stop_requested) {
		guest_stop_requested = true;
		guest_stop_status = status;
		snprintf(guest_stop_why, sizeof(guest_stop_why), "%s",
			 why ? why : "");
	}
	pthread_mutex_unlock(&guest_stop_lock);
	guest_poke();
}

static bool guest_stopping(void)
{
	bool r;

	pthread_mutex_lock(&guest_stop_lock);
	r = guest_stop_requested;
	pthread_mutex_unlock(&guest_stop_lock);
	return r || guest_stop;
}

/* Last resort: the teardown is bounded, but end regardless. */
static void *guest_watchdog(void *arg)
{
	usleep(GUEST_WATCHDOG_MS * 1000);
	fprintf(stderr, "vmbus guest: teardown did not end within %d ms; "
		"exiting\n", GUEST_WATCHDOG_MS);
	_exit(1);
	return NULL;
}

static void guest_arm_watchdog(void)
{
	pthread_t th;

	if (!pthread_create(&th, NULL, guest_watchdog, NULL))
		pthread_detach(th);
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

/*
 * Run every plugin's front end; if one keeps running, wait for a signal, a
 * stop request or a front end that ended (polled every 100 ms).
 */
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
	/*
	 * Until here a signal ends the process at once: connect and the
	 * front ends' start-up are bounded on their own, and the kernel
	 * drops a FUSE mount's connection with its process.
	 */
	signal(SIGINT, guest_on_signal);
	signal(SIGTERM, guest_on_signal);
	fprintf(stderr, "vmbus guest: running; Ctrl-C or SIGTERM stops it\n");
	while (!guest_stopping()) {
		struct pollfd p = { .fd = guest_wake[0], .events = POLLIN };
		char buf[16];

		if (poll(&p, 1, 100) > 0 && read(guest_wake[0], buf, 16) < 0)
			break;
		for (size_t i = 0; i < *started && !guest_stopping(); i++)
			if (guest_plugins[i]->poll &&
			    guest_plugins[i]->poll(cl) > 0)
				guest_request_stop(0, NULL);
	}
	return 0;
}

/* Stop every started front end, newest first; false if one would not. */
static bool guest_stop_plugins(struct ovb_client *cl, size_t started)
{
	bool ok = true;

	while (started--)
		if (guest_plugins[started]->stop &&
		    guest_plugins[started]->stop(cl))
			ok = false;
	return ok;
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
	int rc, status;

	if ((rc = guest_parse(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : rc;
	if (pipe2(guest_wake, O_CLOEXEC | O_NONBLOCK)) {
		fprintf(stderr, "vmbus guest: pipe: %s\n", strerror(errno));
		return 1;
	}
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
	if (guest_stopping()) {
		/* Whatever the host does now, the teardown is bounded. */
		guest_arm_watchdog();
		ovb_client_set_deadline(cl, GUEST_TEARDOWN_MS);
	}
	if (!guest_stop_plugins(cl, started)) {
		/* Threads still use the drivers: do not free them. */
		fprintf(stderr, "vmbus guest: a front end would not stop\n");
		fflush(stdout);
		_exit(1);
	}
	pthread_mutex_lock(&guest_stop_lock);
	status = guest_stop_status;
	pthread_mutex_unlock(&guest_stop_lock);
	if (!rc && (rc = ovb_client_unload(cl, GUEST_TIMEOUT)) != 0) {
		if (!status)
			fprintf(stderr, "vmbus guest: unload: %s\n",
				rc == -ETIMEDOUT ? "the host did not answer"
						 : strerror(-rc));
	} else if (!rc && !status) {
		printf("unloaded cleanly\n");
	}
	ovb_link_guest_destroy(g);
	if (status) {
		/* The cause, as the last word. */
		fflush(stdout);
		fprintf(stderr, "vmbus guest: %s\n", guest_stop_why);
		return 1;
	}
	return rc ? 1 : 0;
}

const struct vmbus_cmd vmbus_cmd_guest = {
	"guest", "run a guest partition against a host", cmd_guest
};
