// SPDX-License-Identifier: MIT
/*
 * vmbus guest: the echo test device.  Exercises every packet type:
 * in-band pings, a GPA-direct hash, a transfer-page packet out of a 1 MiB
 * GPADL, sub-channels, hot add and rescind; then --soak pings for a while.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/vsc.h"
#include "tools/plugin.h"

#define GUEST_TIMEOUT 5000

enum { OPT_SOAK = PLUGIN_OPT_BASE(0) };

static struct ovb_echo_driver_ctx echo_ctx;
static unsigned int echo_soak;

static const struct option echo_opts[] = {
	{ "soak", required_argument, NULL, OPT_SOAK },
	{ 0 },
};

static int echo_option(int code, const char *arg)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !*arg || v > 86400) {
		fprintf(stderr, "vmbus guest: --soak wants seconds, not '%s'\n",
			arg);
		return 2;
	}
	echo_soak = (unsigned int)v;
	return 0;
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
	for (int i = 0; !rc && i < 5000 && ctx->nsub < 2; i++)
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

static int echo_attach(struct ovb_client *cl)
{
	return ovb_client_register_driver(cl, &ovb_echo_driver, &echo_ctx);
}

static int echo_run(struct ovb_client *cl)
{
	int rc;

	if (!echo_ctx.ndev)
		return 0; /* no echo device offered: nothing to exercise */
	rc = exercise(cl, &echo_ctx);
	if (!rc && echo_soak)
		rc = soak(&echo_ctx, echo_soak);
	if (rc)
		fprintf(stderr, "vmbus guest: echo device: %s\n",
			strerror(-rc));
	return rc;
}

const struct guest_plugin guest_plugin_echo = {
	.name = "echo",
	.opts = echo_opts,
	.help = "  --soak SECONDS      after the echo exercise, ping for "
		"SECONDS\n",
	.option = echo_option,
	.attach = echo_attach,
	.run = echo_run,
};
