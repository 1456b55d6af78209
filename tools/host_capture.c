// SPDX-License-Identifier: MIT
/*
 * vmbus host: capture (--capture FILE, --snaplen N, --capture-partition
 * NAME) and the control command behind `vmbus capture start|stop`:
 *   capture start SNAPLEN PARTITION|- PATH
 *   capture stop PATH
 * Records every channel message and ring packet to pcapng
 * (docs/capture.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openvmbus/capture.h"
#include "tools/plugin.h"

enum { OPT_CAPTURE = PLUGIN_OPT_BASE(3), OPT_SNAPLEN, OPT_CAP_PART };

static struct {
	char path[PATH_MAX];  /* --capture */
	char partition[64];   /* --capture-partition */
	uint32_t snaplen;
	struct ovb_server *srv;
	char running[PATH_MAX]; /* the file being written, "" if none */
} capt;

static const struct option capture_opts[] = {
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "snaplen", required_argument, NULL, OPT_SNAPLEN },
	{ "capture-partition", required_argument, NULL, OPT_CAP_PART },
	{ 0 },
};

static int parse_snaplen(const char *arg, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !*arg || v == 0 || v > (16u << 20))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int capture_option(int code, const char *arg)
{
	char cwd[PATH_MAX];
	int n;

	switch (code) {
	case OPT_CAPTURE:
		/* Absolute, as `vmbus capture stop FILE` will name it. */
		if (arg[0] != '/' && getcwd(cwd, sizeof(cwd)))
			n = snprintf(capt.path, sizeof(capt.path), "%.2048s/%s",
				     cwd, arg);
		else
			n = snprintf(capt.path, sizeof(capt.path), "%s", arg);
		if (n < 0 || (size_t)n >= sizeof(capt.path)) {
			fprintf(stderr,
				"vmbus host: --capture path too long\n");
			return 2;
		}
		return 0;
	case OPT_CAP_PART:
		snprintf(capt.partition, sizeof(capt.partition), "%s", arg);
		return 0;
	default:
		if (parse_snaplen(arg, &capt.snaplen) == 0)
			return 0;
		fprintf(stderr, "vmbus host: --snaplen wants 1..16777216 "
			"bytes, not '%s'\n", arg);
		return 2;
	}
}

static int capture_begin(const char *path, uint32_t snaplen,
			 const char *partition)
{
	struct ovb_capture_cfg cfg = { .snaplen = snaplen,
				       .partition = partition };
	int rc = ovb_server_capture_start(capt.srv, path, &cfg);

	if (!rc)
		snprintf(capt.running, sizeof(capt.running), "%s", path);
	return rc;
}

static int capture_end(struct ovb_capture_stats *st)
{
	int rc = ovb_server_capture_stop(capt.srv, st);

	capt.running[0] = 0;
	return rc;
}

/* `capture start SNAPLEN PARTITION|- PATH` / `capture stop PATH`. */
static int control_capture(const char *args, FILE *out, char *err,
			   size_t errlen, void *ctx)
{
	char part[64] = "", snap[16] = "";
	struct ovb_capture_stats st;
	uint32_t snaplen = 0;
	int n = 0, rc;

	if (!strncmp(args, "start ", 6)) {
		if (sscanf(args + 6, "%15s %63s %n", snap, part, &n) != 2 ||
		    !args[6 + n] || parse_snaplen(snap, &snaplen)) {
			snprintf(err, errlen,
				 "capture start SNAPLEN PARTITION|- PATH");
			return -EINVAL;
		}
		rc = capture_begin(args + 6 + n, snaplen,
				   strcmp(part, "-") ? part : NULL);
		if (rc == -EBUSY)
			snprintf(err, errlen, "a capture to %s is running",
				 capt.running);
		else if (rc)
			snprintf(err, errlen, "cannot capture to %s: %s",
				 args + 6 + n, strerror(-rc));
		else
			fprintf(out, "capturing to %s\n", capt.running);
		return rc;
	}
	if (!strncmp(args, "stop ", 5)) {
		if (!capt.running[0] || strcmp(args + 5, capt.running)) {
			snprintf(err, errlen, "no capture to %s is running%s%s",
				 args + 5, capt.running[0] ? "; one to " : "",
				 capt.running);
			return -ENOENT;
		}
		rc = capture_end(&st);
		if (rc) {
			snprintf(err, errlen, "capture stopped, but writing it "
				 "failed: %s", strerror(-rc));
			return rc;
		}
		fprintf(out, "%s: %llu records, %llu dropped\n", args + 5,
			(unsigned long long)st.records,
			(unsigned long long)st.drops);
		return 0;
	}
	snprintf(err, errlen, "capture start|stop ...");
	return -EINVAL;
}

static int capture_start(struct ovb_server *srv, struct control *ctl)
{
	int rc;

	capt.srv = srv;
	if (ctl)
		control_register(ctl, "capture", control_capture, NULL);
	if (!capt.path[0])
		return 0;
	rc = capture_begin(capt.path, capt.snaplen,
			   capt.partition[0] ? capt.partition : NULL);
	if (rc) {
		fprintf(stderr, "vmbus host: cannot capture to %s: %s\n",
			capt.path, strerror(-rc));
		return 1;
	}
	return 0;
}

static void capture_stop(void)
{
	struct ovb_capture_stats st;

	if (!capt.running[0])
		return;
	if (capture_end(&st) == 0)
		fprintf(stderr, "vmbus host: capture: %llu records, %llu "
			"dropped\n", (unsigned long long)st.records,
			(unsigned long long)st.drops);
}

const struct host_plugin host_plugin_capture = {
	.name = "capture",
	.opts = capture_opts,
	.help = "  --capture FILE      record every VMBus message and ring "
		"packet (pcapng)\n"
		"  --snaplen N         bytes of guest memory kept per packet's "
		"ranges (1024)\n"
		"  --capture-partition NAME  capture only this partition\n",
	.option = capture_option,
	.start = capture_start,
	.stop = capture_stop,
};
