// SPDX-License-Identifier: MIT
/*
 * vmbus guest --mount DIR: every storvsc LUN as a file under DIR through
 * FUSE (DIR/scsi0/lun0, DIR/ide0/lun0), kept mounted until SIGINT or
 * SIGTERM, or until DIR is unmounted from outside (then it releases its
 * channels and exits 0).  losetup on a file gives a real block device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/fuse_disk.h"
#include "tools/plugin.h"

enum { OPT_MOUNT = PLUGIN_OPT_BASE(3), OPT_FUSE_URING, OPT_FUSE_SPIN,
       OPT_FUSE_PIN };

static const char *disk_dir;
static struct ovb_fuse_disk *disk_fuse;
static struct ovb_fuse_disk_opts disk_fopts;

static const struct option disk_opts[] = {
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "fuse-uring", required_argument, NULL, OPT_FUSE_URING },
	{ "fuse-spin", required_argument, NULL, OPT_FUSE_SPIN },
	{ "fuse-pin", no_argument, NULL, OPT_FUSE_PIN },
	{ 0 },
};

static int disk_option(int code, const char *arg)
{
	if (code == OPT_FUSE_SPIN) {
		char *end;
		long v = strtol(arg, &end, 10);

		if (*end || end == arg || v < 0 || v > 100000) {
			fprintf(stderr, "vmbus guest: --fuse-spin wants "
					"0..100000 (us), not '%s'\n", arg);
			return 2;
		}
		disk_fopts.spin_us = v ? (int)v : -1;
		return 0;
	}
	if (code == OPT_FUSE_PIN) {
		disk_fopts.pin = true;
		return 0;
	}
	if (code == OPT_FUSE_URING) {
		if (!strcmp(arg, "auto"))
			disk_fopts.mode = OVB_FUSE_AUTO;
		else if (!strcmp(arg, "on"))
			disk_fopts.mode = OVB_FUSE_URING;
		else if (!strcmp(arg, "off"))
			disk_fopts.mode = OVB_FUSE_LIBFUSE;
		else {
			fprintf(stderr, "vmbus guest: --fuse-uring wants auto, "
					"on or off, not '%s'\n", arg);
			return 2;
		}
		return 0;
	}
	if (!*arg) {
		fprintf(stderr, "vmbus guest: --mount wants a directory\n");
		return 2;
	}
	disk_dir = arg;
	return 0;
}

static int disk_run(struct ovb_client *cl)
{
	struct ovb_storvsc_set *set = guest_storage_set();
	struct ovb_storvsc_lun luns[64];
	struct ovb_storvsc *s;
	int rc;

	if (!disk_dir)
		return 0;
	disk_fopts.poll = set->cfg.poll_us > 0;
	rc = ovb_fuse_disk_start(disk_dir, set, &disk_fopts, &disk_fuse);
	if (rc) {
		fprintf(stderr, "vmbus guest: cannot mount %s: %s%s\n",
			disk_dir, strerror(-rc),
			rc == -ENODEV ? " (no /dev/fuse)"
			: rc == -EOPNOTSUPP ? " (no FUSE over io_uring here)"
					    : "");
		return rc;
	}
	printf("disk: %s: %s\n", disk_dir,
	       ovb_fuse_disk_mode(disk_fuse) == OVB_FUSE_URING
		       ? "FUSE over io_uring (our own FUSE server)"
		       : "libfuse over /dev/fuse");
	for (unsigned int i = 0; !ovb_storvsc_get(set, i, &s); i++) {
		size_t n = ovb_storvsc_luns(s, luns, 64);

		for (size_t k = 0; k < n && k < 64; k++)
			printf("disk: %s/%s/lun%u: %llu bytes, %u-byte blocks, "
			       "VSTOR %u.%u%s\n",
			       disk_dir, ovb_storvsc_name(s), luns[k].lun,
			       (unsigned long long)(luns[k].blocks *
						    luns[k].block_size),
			       luns[k].block_size,
			       ovb_storvsc_version(s) >> 8,
			       ovb_storvsc_version(s) & 0xff,
			       luns[k].read_only ? ", read-only" : "");
		ovb_storvsc_put(s);
	}
	fflush(stdout);
	return 1; /* keep the partition up while mounted */
}

/* DIR unmounted from outside (fusermount3 -u, umount): stop, exit 0. */
static int disk_poll(struct ovb_client *cl)
{
	if (!ovb_fuse_disk_ended(disk_fuse))
		return 0;
	printf("disk: %s was unmounted; stopping\n", disk_dir);
	fflush(stdout);
	return 1;
}

static int disk_stop(struct ovb_client *cl)
{
	int rc = ovb_fuse_disk_stop(disk_fuse);

	disk_fuse = NULL;
	return rc;
}

const struct guest_plugin guest_plugin_disk = {
	.name = "disk",
	.opts = disk_opts,
	.help = "  --mount DIR         expose every disk LUN as a file under "
		"DIR (FUSE)\n"
		"  --fuse-uring auto|on|off  FUSE over io_uring (our own FUSE "
		"server) or\n"
		"                      libfuse; auto: io_uring when the fuse "
		"module's enable_uring\n"
		"                      is Y; on writes Y there if it is N "
		"(default auto)\n"
		"  --fuse-spin US      io_uring: with few requests at the host, "
		"a FUSE queue\n"
		"                      polls for their completions up to US "
		"(adaptive) before\n"
		"                      it sleeps; 0 never (default 100)\n"
		"  --fuse-pin          io_uring: each FUSE queue's thread on "
		"its CPU\n",
	.option = disk_option,
	.run = disk_run,
	.poll = disk_poll,
	.stop = disk_stop,
};
