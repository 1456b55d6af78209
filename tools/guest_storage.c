// SPDX-License-Identifier: MIT
/*
 * vmbus guest: the storvsc drivers (SCSI and IDE) and, with --disk-check,
 * a self-test of every LUN: write a pattern over the last MiB of the disk
 * (less if it is smaller), flush, read it back and compare.  A read-only
 * LUN is only read.  The pattern stays on the disk, so a test can check
 * the image from the host side: byte at disk offset o of LUN n is
 * ((o >> 9) + (o & 511) * 3 + n) & 255.  Other plugins (the FUSE disk)
 * reach the controllers through guest_storage_set().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/storvsc.h"
#include "openvmbus/wire/vstor.h"
#include "tools/plugin.h"

#define CHECK_SPAN (1u << 20)

enum { OPT_CHECK = PLUGIN_OPT_BASE(4), OPT_CHANNELS, OPT_POLL,
       OPT_IO_TIMEOUT };

#define POLL_MAX_US 1000000u
#define IO_TIMEOUT_DEFAULT 30   /* seconds: EIO well within a minute */
#define IO_TIMEOUT_MAX 3600

static void storage_failed(struct ovb_storvsc *s, int err, void *ctx);

static struct ovb_storvsc_set storage_set = {
	.cfg = { .subchannels = 1, .timeout_ms = IO_TIMEOUT_DEFAULT * 1000 },
	.on_fail = storage_failed,
};

/*
 * A request got no answer within the deadline, nor did the resets: the
 * host stopped answering.  The I/O already failed with EIO; the partition
 * stops with one line that says so.
 */
static void storage_failed(struct ovb_storvsc *s, int err, void *ctx)
{
	char why[160];

	snprintf(why, sizeof(why),
		 "%s: the host stopped answering (no reply to a request, "
		 "RESET_LUN or RESET_ADAPTER within %d s)",
		 ovb_storvsc_name(s), storage_set.cfg.timeout_ms / 1000);
	guest_request_stop(1, why);
}
static bool storage_check;

struct ovb_storvsc_set *guest_storage_set(void) { return &storage_set; }

static const struct option storage_opts[] = {
	{ "disk-check", no_argument, NULL, OPT_CHECK },
	{ "storage-subchannels", required_argument, NULL, OPT_CHANNELS },
	{ "storage-poll", required_argument, NULL, OPT_POLL },
	{ "io-timeout", required_argument, NULL, OPT_IO_TIMEOUT },
	{ 0 },
};

static int storage_option(int code, const char *arg)
{
	char *end;
	unsigned long v;

	if (code == OPT_CHECK) {
		storage_check = true;
		return 0;
	}
	v = strtoul(arg, &end, 10);
	if (code == OPT_IO_TIMEOUT) {
		if (*end || !*arg || *arg == '-' || v < 1 ||
		    v > IO_TIMEOUT_MAX) {
			fprintf(stderr, "vmbus guest: --io-timeout wants "
					"1..%u seconds, not '%s'\n",
				IO_TIMEOUT_MAX, arg);
			return 2;
		}
		storage_set.cfg.timeout_ms = (int)v * 1000;
		return 0;
	}
	if (code == OPT_POLL) {
		if (*end || !*arg || *arg == '-' || v > POLL_MAX_US) {
			fprintf(stderr, "vmbus guest: --storage-poll wants "
					"0..%u microseconds, not '%s'\n",
				POLL_MAX_US, arg);
			return 2;
		}
		storage_set.cfg.poll_us = (uint32_t)v;
		return 0;
	}
	if (*end || !*arg || v > 8) {
		fprintf(stderr, "vmbus guest: --storage-subchannels wants 0..8, "
				"not '%s'\n", arg);
		return 2;
	}
	storage_set.cfg.subchannels = (unsigned int)v;
	return 0;
}

static int storage_attach(struct ovb_client *cl)
{
	int rc = ovb_client_register_driver(cl, &ovb_storvsc_scsi_driver,
					    &storage_set);

	return rc ? rc : ovb_client_register_driver(cl, &ovb_storvsc_ide_driver,
						    &storage_set);
}

static void size_str(uint64_t bytes, char *out, size_t len)
{
	if (bytes >= (1ull << 30) && !(bytes % (1ull << 30)))
		snprintf(out, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && !(bytes % (1ull << 20)))
		snprintf(out, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)bytes);
}

/* Check one LUN; returns 0 or -errno, and says what failed in @why. */
static int check_lun(struct ovb_storvsc *s, const struct ovb_storvsc_lun *l,
		     const char **why)
{
	uint64_t size = l->blocks * l->block_size;
	uint64_t span = size < CHECK_SPAN ? size : CHECK_SPAN;
	uint64_t off = size - span;
	uint8_t *buf = ovb_storvsc_alloc(s, span);
	uint8_t *want = malloc(span);
	int64_t n;
	int rc = 0;

	if (!buf || !want) {
		*why = "out of memory";
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < span; i++) {
		uint64_t o = off + i;

		want[i] = (uint8_t)((o >> 9) + (o & 511) * 3 + l->lun);
	}
	if (!l->read_only) {
		memcpy(buf, want, span);
		n = ovb_storvsc_sync(s, OVB_STORVSC_WRITE, l->lun, off, buf,
				     span, false);
		if (n != (int64_t)span) {
			*why = "write";
			rc = n < 0 ? (int)n : -EIO;
			goto out;
		}
		n = ovb_storvsc_sync(s, OVB_STORVSC_FLUSH, l->lun, 0, NULL, 0,
				     false);
		if (n < 0) {
			*why = "flush";
			rc = (int)n;
			goto out;
		}
	}
	memset(buf, 0, span);
	n = ovb_storvsc_sync(s, OVB_STORVSC_READ, l->lun, off, buf, span,
			     false);
	if (n != (int64_t)span) {
		*why = "read";
		rc = n < 0 ? (int)n : -EIO;
	} else if (!l->read_only && memcmp(buf, want, span)) {
		*why = "data read back differs";
		rc = -EIO;
	}
out:
	if (buf)
		ovb_storvsc_free(s, buf, span);
	free(want);
	return rc;
}

static int check_ctl(struct ovb_storvsc *s)
{
	struct ovb_storvsc_lun luns[64];
	size_t n;
	int bad = 0;

	/* Sub-channels open shortly after probe; give them a moment. */
	for (int i = 0; i < 200 && !ovb_storvsc_is_ide(s) &&
			ovb_storvsc_channels(s) < 1 + storage_set.cfg.subchannels;
	     i++)
		usleep(5000);
	n = ovb_storvsc_luns(s, luns, 64);
	if (!n && ovb_storvsc_failed(s)) {
		/* Not "no LUNs": the scan could not ask. */
		printf("storage: %s: FAILED (the controller's channel "
		       "failed)\n", ovb_storvsc_name(s));
		fflush(stdout);
		return 1;
	}
	if (!n)
		printf("storage: %s: no LUNs\n", ovb_storvsc_name(s));
	for (size_t i = 0; i < n && i < 64; i++) {
		const char *why = "";
		char sz[32];
		int rc = check_lun(s, &luns[i], &why);
		uint16_t v = ovb_storvsc_version(s);

		size_str(luns[i].blocks * luns[i].block_size, sz, sizeof(sz));
		printf("storage: %s lun%u: %s, %u-byte blocks, VSTOR %u.%u, "
		       "%u channel%s%s: ",
		       ovb_storvsc_name(s), luns[i].lun, sz,
		       luns[i].block_size, v >> 8, v & 0xff,
		       ovb_storvsc_channels(s),
		       ovb_storvsc_channels(s) == 1 ? "" : "s",
		       luns[i].read_only ? ", read-only" : "");
		if (rc) {
			printf("FAILED (%s: %s)\n", why, strerror(-rc));
			bad++;
		} else {
			printf("ok\n");
		}
	}
	fflush(stdout);
	return bad;
}

/* Storage offers (primaries) the client saw: standing, and rescinded. */
static void count_disk_offers(struct ovb_client *cl, unsigned int *offered,
			      unsigned int *gone)
{
	static const struct vmbus_guid scsi = VSTOR_SCSI_CLASS_GUID;
	static const struct vmbus_guid ide = VSTOR_IDE_CLASS_GUID;
	struct ovb_offer_info info[64];
	size_t n = ovb_client_offers(cl, info, 64);

	for (size_t i = 0; i < n && i < 64; i++) {
		if (info[i].subidx ||
		    (memcmp(&info[i].class_id, &scsi, sizeof(scsi)) &&
		     memcmp(&info[i].class_id, &ide, sizeof(ide))))
			continue;
		if (info[i].rescinded)
			++*gone;
		else
			++*offered;
	}
}

static int storage_run(struct ovb_client *cl)
{
	int bad = 0;

	if (!storage_check)
		return 0;
	if (!storage_set.n) {
		unsigned int offered = 0, gone = 0;

		count_disk_offers(cl, &offered, &gone);
		if (gone)
			fprintf(stderr, "vmbus guest: --disk-check: the host "
				"rescinded its disk controller\n");
		else if (offered)
			fprintf(stderr, "vmbus guest: --disk-check: %u disk "
				"controller%s offered, none could be set up\n",
				offered, offered == 1 ? "" : "s");
		else
			fprintf(stderr, "vmbus guest: --disk-check: the host "
				"offers no disks\n");
		return -ENODEV;
	}
	/* Held: a rescind mid-check must not free the controller under us. */
	for (unsigned int i = 0;; i++) {
		struct ovb_storvsc *s;

		if (ovb_storvsc_get(&storage_set, i, &s))
			break;
		bad += check_ctl(s);
		ovb_storvsc_put(s);
	}
	if (bad) {
		fprintf(stderr, "vmbus guest: --disk-check: %d LUN%s failed\n",
			bad, bad == 1 ? "" : "s");
		return -EIO;
	}
	return 0;
}

const struct guest_plugin guest_plugin_storage = {
	.name = "storage",
	.opts = storage_opts,
	.help = "  --disk-check        write, flush and read back the last MiB "
		"of every disk\n"
		"  --storage-subchannels N  sub-channels per SCSI controller "
		"(default 1)\n"
		"  --storage-poll US   polling mode: storage channel workers "
		"spin US\n"
		"                      microseconds before they sleep "
		"(default 0: interrupts)\n"
		"  --io-timeout SECONDS  deadline of every disk request "
		"(default 30): RESET_LUN\n"
		"                      after a third, RESET_ADAPTER after two "
		"thirds, then EIO;\n"
		"                      if the host answered none of it, the "
		"guest stops (exit 1)\n",
	.option = storage_option,
	.attach = storage_attach,
	.run = storage_run,
};
