// SPDX-License-Identifier: MIT
/*
 * vmbus host: synthetic disks (--disk SPEC, repeatable).  SCSI disks share
 * one synthetic SCSI controller (storvsp0), each `ide` disk is an IDE
 * accelerator of its own.  --poll US puts every controller's channel
 * workers in polling mode; otherwise --disk-spin says how they wait for
 * the next request (stream spin by default, 0: sleep).  The control
 * socket takes `disk add SPEC`, `disk remove LUN` and `disk list` for hot
 * add and remove on the SCSI controller (the guest hears ENUMERATE_BUS).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/blk_file.h"
#include "openvmbus/storvsp.h"
#include "tools/plugin.h"

#define DISK_MAX 64
#define DISK_MAX_IDE 4

enum { OPT_DISK = PLUGIN_OPT_BASE(2), OPT_SCSI, OPT_POLL, OPT_DISK_SPIN,
       OPT_DISK_ANSWER };

#define DISK_MAX_POLL_US 1000000u

static struct ovb_disk_spec disk_specs[DISK_MAX];
static unsigned int disk_n, disk_ide_n;
static bool disk_want_scsi;
static uint32_t disk_poll_us;
static uint32_t disk_spin_us; /* storvsp cfg.spin_us: 0 none */
static bool disk_stream = true; /* storvsp cfg.stream_spin */
static unsigned int disk_answer_every; /* storvsp cfg.answer_every */
static struct ovb_storvsp *disk_scsi;
static struct ovb_storvsp *disk_ide[DISK_MAX_IDE];
static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct option disk_opts[] = {
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "scsi", no_argument, NULL, OPT_SCSI },
	{ "poll", required_argument, NULL, OPT_POLL },
	{ "disk-spin", required_argument, NULL, OPT_DISK_SPIN },
	{ "disk-answer-every", required_argument, NULL, OPT_DISK_ANSWER },
	{ 0 },
};

static int disk_option(int code, const char *arg)
{
	char err[256];

	if (code == OPT_SCSI) {
		disk_want_scsi = true;
		return 0;
	}
	if (code == OPT_DISK_ANSWER) {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);

		if (*end || !*arg || *arg == '-' || v > 1024) {
			fprintf(stderr, "vmbus host: --disk-answer-every wants "
					"0..1024 SRBs, not '%s'\n", arg);
			return 2;
		}
		disk_answer_every = (unsigned int)v;
		return 0;
	}
	if (code == OPT_DISK_SPIN && !strcmp(arg, "stream")) {
		disk_stream = true;
		disk_spin_us = 0;
		return 0;
	}
	if (code == OPT_POLL || code == OPT_DISK_SPIN) {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);

		if (*end || !*arg || *arg == '-' || v > DISK_MAX_POLL_US) {
			fprintf(stderr, "vmbus host: --%s wants %s0..%u "
					"microseconds, not '%s'\n",
				code == OPT_POLL ? "poll" : "disk-spin",
				code == OPT_POLL ? "" : "stream or ",
				DISK_MAX_POLL_US, arg);
			return 2;
		}
		if (code == OPT_POLL) {
			disk_poll_us = (uint32_t)v;
		} else {
			disk_spin_us = (uint32_t)v;
			disk_stream = false;
		}
		return 0;
	}
	if (disk_n == DISK_MAX) {
		fprintf(stderr, "vmbus host: at most %d disks\n", DISK_MAX);
		return 2;
	}
	if (ovb_disk_spec_parse(arg, &disk_specs[disk_n], err, sizeof(err))) {
		fprintf(stderr, "vmbus host: --disk %s: %s\n", arg, err);
		return 2;
	}
	if (disk_specs[disk_n].ide && ++disk_ide_n > DISK_MAX_IDE) {
		fprintf(stderr, "vmbus host: at most %d IDE disks\n",
			DISK_MAX_IDE);
		return 2;
	}
	if (disk_specs[disk_n].ide && disk_specs[disk_n].lun > 0) {
		fprintf(stderr, "vmbus host: --disk %s: an IDE disk is LUN 0\n",
			arg);
		return 2;
	}
	disk_n++;
	return 0;
}

/* Open @spec and attach it; prints why on failure.  LUN or -errno. */
static int disk_attach(struct ovb_storvsp *c, const struct ovb_disk_spec *spec,
		       char *err, size_t errlen)
{
	struct ovb_blk *blk;
	int rc = ovb_blk_open(spec, &blk, err, errlen);

	if (rc)
		return rc;
	rc = ovb_storvsp_add_lun(c, spec->lun, blk);
	if (rc < 0) {
		snprintf(err, errlen, "%s: LUN %d: %s", spec->path, spec->lun,
			 rc == -EEXIST ? "already in use" : strerror(-rc));
		ovb_blk_close(blk);
	}
	return rc;
}

static void disk_list(FILE *out, struct ovb_storvsp *c)
{
	uint16_t luns[OVB_STORVSP_MAX_LUNS];
	size_t n = ovb_storvsp_luns(c, luns, OVB_STORVSP_MAX_LUNS);

	for (size_t i = 0; i < n && i < OVB_STORVSP_MAX_LUNS; i++) {
		struct ovb_blk *blk = ovb_storvsp_lun_blk(c, luns[i]);

		if (blk)
			fprintf(out, "%s lun %u: %s, %llu bytes, %u-byte "
				     "blocks%s\n",
				ovb_storvsp_name(c), luns[i], blk->name,
				(unsigned long long)blk->capacity,
				blk->block_size, blk->read_only ? ", ro" : "");
	}
}

/* `disk add SPEC`, `disk remove LUN`, `disk list` on the control socket. */
static int control_disk(const char *args, FILE *out, char *err, size_t errlen,
			void *ctx)
{
	struct ovb_disk_spec spec;
	int rc = 0;

	pthread_mutex_lock(&disk_lock);
	if (!strcmp(args, "list")) {
		if (disk_scsi)
			disk_list(out, disk_scsi);
		for (unsigned int i = 0; i < DISK_MAX_IDE; i++)
			if (disk_ide[i])
				disk_list(out, disk_ide[i]);
	} else if (!strncmp(args, "add ", 4)) {
		if (ovb_disk_spec_parse(args + 4, &spec, err, errlen)) {
			rc = -EINVAL;
		} else if (spec.ide) {
			snprintf(err, errlen, "IDE disks cannot be hot-added");
			rc = -EINVAL;
		} else if (!disk_scsi) {
			snprintf(err, errlen, "no SCSI controller (start the "
					      "host with --disk or --scsi)");
			rc = -ENODEV;
		} else {
			rc = disk_attach(disk_scsi, &spec, err, errlen);
			if (rc >= 0) {
				fprintf(out, "lun %d\n", rc);
				rc = 0;
			}
		}
	} else if (!strncmp(args, "remove ", 7)) {
		char *end;
		long lun = strtol(args + 7, &end, 10);

		if (*end || end == args + 7 || lun < 0 ||
		    lun >= (long)OVB_STORVSP_MAX_LUNS) {
			snprintf(err, errlen, "bad LUN '%s'", args + 7);
			rc = -EINVAL;
		} else if (!disk_scsi ||
			   ovb_storvsp_remove_lun(disk_scsi, (uint16_t)lun)) {
			snprintf(err, errlen, "no LUN %ld", lun);
			rc = -ENOENT;
		}
	} else {
		snprintf(err, errlen, "disk takes: add SPEC | remove LUN | list");
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&disk_lock);
	return rc;
}

static int disk_start(struct ovb_server *srv, struct control *ctl)
{
	char err[512];
	unsigned int ide = 0;

	for (unsigned int i = 0; i < disk_n; i++) {
		struct ovb_disk_spec *spec = &disk_specs[i];
		struct ovb_storvsp_cfg cfg = { .name = "storvsp0",
					       .poll_us = disk_poll_us,
					       .spin_us = disk_spin_us,
					       .stream_spin = disk_stream,
					       .answer_every =
						       disk_answer_every };
		struct ovb_storvsp **c = spec->ide ? &disk_ide[ide] : &disk_scsi;
		char name[32];

		if (spec->ide) {
			snprintf(name, sizeof(name), "storvsp-ide%u", ide);
			cfg.name = name;
			cfg.ide = true;
			cfg.ide_index = ide++;
		}
		if (!*c && ovb_storvsp_create(&cfg, c)) {
			fprintf(stderr, "vmbus host: out of memory\n");
			return 1;
		}
		if (disk_attach(*c, spec, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmbus host: --disk: %s\n", err);
			return 1;
		}
	}
	if (disk_want_scsi && !disk_scsi) {
		struct ovb_storvsp_cfg cfg = { .name = "storvsp0",
					       .poll_us = disk_poll_us,
					       .spin_us = disk_spin_us,
					       .stream_spin = disk_stream };

		if (ovb_storvsp_create(&cfg, &disk_scsi))
			return 1;
	}
	if (disk_scsi && ovb_storvsp_register(srv, disk_scsi))
		goto full;
	for (unsigned int i = 0; i < ide; i++)
		if (ovb_storvsp_register(srv, disk_ide[i]))
			goto full;
	if (ctl)
		control_register(ctl, "disk", control_disk, NULL);
	return 0;
full:
	fprintf(stderr, "vmbus host: too many device kinds\n");
	return 1;
}

static void disk_stop(void)
{
	pthread_mutex_lock(&disk_lock);
	ovb_storvsp_destroy(disk_scsi);
	disk_scsi = NULL;
	for (unsigned int i = 0; i < DISK_MAX_IDE; i++) {
		ovb_storvsp_destroy(disk_ide[i]);
		disk_ide[i] = NULL;
	}
	pthread_mutex_unlock(&disk_lock);
}

/* The engine counters of @c's disks that keep some (NBD). */
static void disk_stat_ctl(FILE *out, struct ovb_storvsp *c, bool json,
			  unsigned int *n)
{
	uint16_t luns[OVB_STORVSP_MAX_LUNS];
	size_t cnt = ovb_storvsp_luns(c, luns, OVB_STORVSP_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < OVB_STORVSP_MAX_LUNS; i++) {
		struct ovb_blk *blk = ovb_storvsp_lun_blk(c, luns[i]);
		struct ovb_blk_stats st;

		if (!blk || ovb_blk_get_stats(blk, &st))
			continue;
		if (!json && !(*n)++)
			fprintf(out, "\n%-12s %3s %-6s %-36s %5s %10s %8s %8s "
				     "%10s\n",
				"controller", "lun", "engine", "disk", "conns",
				"reconnects", "timeouts", "failed",
				"requests");
		if (!json) {
			fprintf(out, "%-12s %3u %-6s %-36.36s %5llu %10llu "
				     "%8llu %8llu %10llu\n",
				ovb_storvsp_name(c), luns[i], blk->ops->name,
				blk->name, (unsigned long long)st.connections,
				(unsigned long long)st.reconnects,
				(unsigned long long)st.timeouts,
				(unsigned long long)st.failed,
				(unsigned long long)st.requests);
			continue;
		}
		fprintf(out, "%s\n    {\"controller\": \"%s\", \"lun\": %u, "
			     "\"engine\": \"%s\", \"connections\": %llu, "
			     "\"reconnects\": %llu, \"timeouts\": %llu, "
			     "\"failed\": %llu, \"requests\": %llu}",
			(*n)++ ? "," : "", ovb_storvsp_name(c), luns[i],
			blk->ops->name, (unsigned long long)st.connections,
			(unsigned long long)st.reconnects,
			(unsigned long long)st.timeouts,
			(unsigned long long)st.failed,
			(unsigned long long)st.requests);
	}
}

/* `vmbus stat`: a row per disk on a remote engine. */
static void disk_stat(FILE *out, bool json)
{
	unsigned int n = 0;

	pthread_mutex_lock(&disk_lock);
	if (json)
		fputs(",\n  \"disks\": [", out);
	if (disk_scsi)
		disk_stat_ctl(out, disk_scsi, json, &n);
	for (unsigned int i = 0; i < DISK_MAX_IDE; i++)
		if (disk_ide[i])
			disk_stat_ctl(out, disk_ide[i], json, &n);
	if (json)
		fputs(n ? "\n  ]" : "]", out);
	pthread_mutex_unlock(&disk_lock);
}

const struct host_plugin host_plugin_disk = {
	.name = "disk",
	.opts = disk_opts,
	.help = "  --disk FILE[,size=8G][,lun=N][,ro][,ide][,sector=4096]"
		"[,direct][,timeout=S]\n"
		"                      offer a synthetic disk (repeatable); SCSI "
		"disks share\n"
		"                      one controller, each ide disk is its own\n"
		"  --scsi              offer a SCSI controller even without "
		"disks (hot add)\n"
		"  --poll US           polling mode for the disks: each "
		"channel worker spins\n"
		"                      US microseconds on its ring and its "
		"io_uring before\n"
		"                      it sleeps (default 0: interrupts)\n"
		"  --disk-spin stream|0|US\n"
		"                      interrupt mode: how a channel worker "
		"waits for the\n"
		"                      guest's next request. stream (default): "
		"spins 16-64 us\n"
		"                      after a drain while requests keep "
		"coming, sleeps\n"
		"                      once idle; 0: always sleeps; US: spins "
		"up to twice\n"
		"                      the learnt gap while requests come "
		"within US.\n"
		"                      stream is not used on a controller whose "
		"disks are all\n"
		"                      nbd or rbd (their server needs the CPU); "
		"with stream,\n"
		"                      while requests are at such a server the "
		"worker spins\n"
		"                      for the answers (up to 200 us, learnt "
		"from them)\n"
		"  --disk-answer-every N\n"
		"                      a drain's SRBs go to the backend and "
		"their answers to\n"
		"                      the guest every N SRBs, not once at its "
		"end (default 0)\n",
	.option = disk_option,
	.start = disk_start,
	.stop = disk_stop,
	.stat = disk_stat,
};
