// SPDX-License-Identifier: MIT
/*
 * vmbus guest: a guest partition.  Connects to a host, negotiates VMBus,
 * lists every offer, exercises the echo device (in-band, GPA-direct and
 * transfer-page packets, sub-channels, hot add and rescind), unloads and
 * exits 0.  Any failure is one clear line and a non-zero exit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/echo.h"
#include "openvmbus/guid.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "tools/cmd.h"
#include "tools/util.h"

#define GUEST_TIMEOUT 5000

static void guest_usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus guest [--socket PATH] [OPTIONS]\n"
		"Run a guest partition: negotiate VMBus, list offers, exercise "
		"the echo device.\n\n"
		"  --socket PATH       the host's socket (default $VMBUS_SOCKET "
		"or %s)\n"
		"  --name NAME         partition name (default guest-PID)\n"
		"  --mem SIZE          guest RAM (default 64M)\n"
		"  --max-version X.Y   ask for VMBus X.Y at most\n"
		"  --no-eventfd        signal through the link only (slow path)\n"
		"  --list              only list the offers, then unload\n"
		"  --soak SECONDS      then ping the echo device for SECONDS\n"
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

static int call(struct ovb_echo *e, uint32_t op, uint64_t arg, uint32_t len,
		const void *buf, size_t buflen, struct echo_msg *rep)
{
	struct echo_msg req = { .op = op, .arg = arg, .len = len };
	int rc = ovb_echo_call(e, &req, NULL, buf, buflen, rep, NULL, 0,
			       GUEST_TIMEOUT);

	if (!rc && rep->status)
		rc = -(int)rep->status;
	return rc;
}

/* Exercise one echo device; prints a line per step.  Returns 0 or -errno. */
static int exercise(struct ovb_client *cl, struct ovb_echo_driver_ctx *ctx)
{
	uint8_t data[4096], back[4096], *buf;
	struct echo_msg req = { .op = ECHO_OP_PING }, rep;
	struct ovb_echo *e, *sub;
	uint64_t gpa, want;
	uint32_t gpadl;
	int rc;

	if ((rc = ovb_echo_open(ctx->dev[0], 65536, NULL, &e)) != 0)
		return rc;
	for (uint32_t len = 0; len <= 4096; len += 512) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(i ^ len);
		req.len = len;
		rc = ovb_echo_call(e, &req, data, NULL, 0, &rep, back, len,
				   GUEST_TIMEOUT);
		if (rc || rep.len != len || memcmp(back, data, len))
			return rc ? rc : -EIO;
	}
	printf("echo: 9 pings of 0..4096 bytes returned intact\n");

	if ((rc = ovb_client_alloc(cl, 1 << 20, (void **)&buf, &gpa)) != 0)
		return rc;
	for (int i = 0; i < 1 << 20; i++)
		buf[i] = (uint8_t)(i * 13);
	if ((rc = call(e, ECHO_OP_SUM, 0, 0, buf + 3, 300000, &rep)) != 0)
		return rc;
	want = ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf + 3, 300000);
	if (rep.arg != want)
		return -EIO;
	printf("echo: GPA-direct hash of 300000 bytes over 74 pages matches\n");

	if ((rc = ovb_vsc_gpadl_create(ctx->dev[0], buf, 1 << 20, &gpadl)))
		return rc;
	ovb_echo_set_buffer(e, buf, 1 << 20);
	if ((rc = call(e, ECHO_OP_SET_BUFFER, gpadl, 0, NULL, 0, &rep)) ||
	    (rc = call(e, ECHO_OP_XFER, 7, 65536, NULL, 0, &rep)))
		return rc;
	for (int i = 0; i < 5000 && !ovb_echo_xfer_count(e); i++)
		usleep(1000);
	want = OVB_ECHO_FNV_INIT;
	for (uint32_t i = 0; i < 65536; i++) {
		uint8_t b = (uint8_t)(7 + i);

		want = ovb_echo_fnv(want, &b, 1);
	}
	if (ovb_echo_xfer_hash(e) != want)
		return -EIO;
	call(e, ECHO_OP_DROP_BUFFER, 0, 0, NULL, 0, &rep);
	if ((rc = ovb_vsc_gpadl_teardown(ctx->dev[0], gpadl)) != 0)
		return rc;
	printf("echo: transfer-page packet of 65536 bytes from a 1 MiB GPADL "
	       "matches\n");

	rc = call(e, ECHO_OP_SUBCHANNELS, 2, 0, NULL, 0, &rep);
	if (rc == -EPROTONOSUPPORT)
		printf("echo: no sub-channels below VMBus 2.4 (host refused)\n");
	else if (rc)
		return rc;
	for (int i = 0; i < 5000 && ctx->nsub < 2; i++)
		usleep(1000);
	for (unsigned int i = 0; i < 2 && i < ctx->nsub; i++) {
		if ((rc = ovb_echo_open(ctx->sub[i], 16384, NULL, &sub)) != 0)
			return rc;
		req.len = 64;
		rc = ovb_echo_call(sub, &req, data, NULL, 0, &rep, back, 64,
				   GUEST_TIMEOUT);
		if (rc)
			return rc;
	}
	if (ctx->nsub)
		printf("echo: %u sub-channels offered, opened and answering\n",
		       ctx->nsub);

	unsigned int before = ctx->ndev;

	if ((rc = call(e, ECHO_OP_HOTADD, 0, 0, NULL, 0, &rep)) != 0)
		return rc;
	uint32_t relid = (uint32_t)rep.arg;

	for (int i = 0; i < 5000 && ctx->ndev == before; i++)
		usleep(1000);
	if (ctx->ndev == before)
		return -ETIMEDOUT;
	if ((rc = call(e, ECHO_OP_RESCIND, relid, 0, NULL, 0, &rep)) != 0)
		return rc;
	for (int i = 0; i < 5000 && !ctx->removed; i++)
		usleep(1000);
	if (!ctx->removed)
		return -ETIMEDOUT;
	printf("echo: hot-added relid %u, then rescinded it\n", relid);
	return 0;
}

/* Ping for @secs seconds; prints the count.  Returns 0 or -errno. */
static int soak(struct ovb_echo_driver_ctx *ctx, unsigned int secs)
{
	struct echo_msg req = { .op = ECHO_OP_PING, .len = 256 }, rep;
	uint8_t data[256] = { 1 };
	struct ovb_echo *e = ovb_vsc_dev_get_ctx(ctx->dev[0]);
	time_t end = time(NULL) + secs;
	unsigned long n = 0;
	int rc = 0;

	while (!rc && time(NULL) < end) {
		rc = ovb_echo_call(e, &req, data, NULL, 0, &rep, NULL, 0,
				   GUEST_TIMEOUT);
		n++;
		if (n % 1000 == 0) {
			printf("soak: %lu pings\n", n);
			fflush(stdout);
		}
	}
	printf("soak: %lu pings in %u s\n", n, secs);
	return rc;
}

struct guest_opts {
	struct ovb_link_guest_params lp;
	uint32_t max;
	bool list_only;
	unsigned int soak;
};

static int guest_parse(int argc, char **argv, struct guest_opts *o)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "max-version", required_argument, NULL, 'V' },
		{ "no-eventfd", no_argument, NULL, 'E' },
		{ "list", no_argument, NULL, 'l' },
		{ "soak", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int64_t size;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->lp.path = optarg; break;
		case 'n': o->lp.name = optarg; break;
		case 'E': o->lp.no_eventfd = true; break;
		case 'l': o->list_only = true; break;
		case 'S': o->soak = (unsigned int)atoi(optarg); break;
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
			guest_usage(stdout);
			return 1;
		default:
			guest_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus guest: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

static int cmd_guest(int argc, char **argv)
{
	struct guest_opts o = { .lp = { .path = tool_default_socket(),
					.mem_gpa = 1ull << 32,
					.mem_size = 64 << 20 } };
	struct ovb_echo_driver_ctx echo = { 0 };
	struct ovb_link_guest *g;
	struct ovb_client *cl;
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
	ovb_client_register_driver(cl, &ovb_echo_driver, &echo);
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
	if (!o.list_only && echo.ndev) {
		rc = exercise(cl, &echo);
		if (!rc && o.soak)
			rc = soak(&echo, o.soak);
		if (rc)
			fprintf(stderr, "vmbus guest: echo device: %s\n",
				strerror(-rc));
	} else if (!o.list_only) {
		printf("no echo device offered; nothing to exercise\n");
	}
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
