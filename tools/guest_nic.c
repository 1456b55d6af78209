// SPDX-License-Identifier: MIT
/*
 * vmbus guest: the synthetic NIC as a Linux interface.  --tap IFNAME
 * brings the first NIC up as a TAP device, inside --netns NAME (created
 * when missing) and with --addr CIDR if given, and keeps the partition
 * running until SIGTERM or until the host goes away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/client.h"
#include "openvmbus/tap_nic.h"
#include "tools/plugin.h"

enum { OPT_TAP = PLUGIN_OPT_BASE(1), OPT_NETNS, OPT_ADDR, OPT_QUEUES,
       OPT_POLL, OPT_NIC_INDEX, OPT_TAP_REAP, OPT_TAP_SPIN, OPT_TAP_READ };

static struct ovb_netvsc_driver_ctx nic_drv;
static struct ovb_tap_nic_params nic_p = { .queues = 1 };
/*
 * --tap-read: 0 not given, else TAP_READ_READER or TAP_READ_WORKER.  Unset, a
 * guest has one thread per queue (docs/net-perf.md, "TCP: the default
 * guest mode": as fast or faster than TAP reader threads on every row),
 * unless --tap-reap or --tap-spin, which only TAP readers have, ask for
 * them.
 */
enum { TAP_READ_READER = 1, TAP_READ_WORKER };
static int nic_read_mode;
static const char *nic_reader_opt; /* --tap-reap or --tap-spin, if given */
static struct ovb_tap_nic *nic_tap;
static unsigned int nic_index; /* which offered NIC (one per host switch) */

static const struct option nic_opts[] = {
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "poll", required_argument, NULL, OPT_POLL },
	{ "nic-index", required_argument, NULL, OPT_NIC_INDEX },
	{ "tap-reap", required_argument, NULL, OPT_TAP_REAP },
	{ "tap-spin", required_argument, NULL, OPT_TAP_SPIN },
	{ "tap-read", required_argument, NULL, OPT_TAP_READ },
	{ 0 },
};

static int nic_option(int code, const char *arg)
{
	char *end;
	unsigned long v;

	switch (code) {
	case OPT_TAP:
		nic_p.ifname = arg;
		return 0;
	case OPT_NETNS:
		nic_p.netns = arg;
		return 0;
	case OPT_ADDR:
		nic_p.addr = arg;
		return 0;
	case OPT_QUEUES:
		v = strtoul(arg, &end, 10);
		if (*end || !v || v > OVB_NETVSC_MAX_QUEUES) {
			fprintf(stderr, "vmbus guest: --queues wants 1..8, not "
				"'%s'\n", arg);
			return 2;
		}
		nic_p.queues = (unsigned int)v;
		return 0;
	case OPT_TAP_REAP:
		if (strcmp(arg, "reader") && strcmp(arg, "worker")) {
			fprintf(stderr, "vmbus guest: --tap-reap wants reader "
				"or worker, not '%s'\n", arg);
			return 2;
		}
		nic_p.worker_reaps = !strcmp(arg, "worker");
		nic_reader_opt = "--tap-reap";
		return 0;
	case OPT_TAP_READ:
		if (strcmp(arg, "reader") && strcmp(arg, "worker")) {
			fprintf(stderr, "vmbus guest: --tap-read wants reader "
				"or worker, not '%s'\n", arg);
			return 2;
		}
		nic_read_mode = strcmp(arg, "worker") ? TAP_READ_READER :
							TAP_READ_WORKER;
		return 0;
	case OPT_TAP_SPIN:
		v = strtoul(arg, &end, 10);
		if (*end || v > 10000) {
			fprintf(stderr, "vmbus guest: --tap-spin wants "
				"0..10000 microseconds, not '%s'\n", arg);
			return 2;
		}
		nic_p.reader_spin_us = (uint32_t)v;
		nic_reader_opt = "--tap-spin";
		return 0;
	case OPT_NIC_INDEX:
		v = strtoul(arg, &end, 10);
		if (*end || v >= OVB_NETVSC_MAX_QUEUES) {
			fprintf(stderr, "vmbus guest: --nic-index wants 0..%u, "
				"not '%s'\n", OVB_NETVSC_MAX_QUEUES - 1, arg);
			return 2;
		}
		nic_index = (unsigned int)v;
		return 0;
	default:
		v = strtoul(arg, &end, 10);
		if (*end || v > 100000) {
			fprintf(stderr, "vmbus guest: --poll wants "
				"microseconds, not '%s'\n", arg);
			return 2;
		}
		nic_p.poll_us = (uint32_t)v;
		return 0;
	}
}

static int nic_attach(struct ovb_client *cl)
{
	return ovb_client_register_driver(cl, &ovb_netvsc_driver, &nic_drv);
}

static int nic_run(struct ovb_client *cl)
{
	struct ovb_netvsc_info info;
	int rc;

	if (!nic_p.ifname) {
		if (nic_p.netns || nic_p.addr)
			fprintf(stderr, "vmbus guest: --netns and --addr need "
				"--tap\n");
		return nic_p.netns || nic_p.addr ? -EINVAL : 0;
	}
	if (nic_index >= nic_drv.ndev || !nic_drv.dev[nic_index]) {
		fprintf(stderr, "vmbus guest: --tap: the host offers %u "
			"synthetic NIC(s), none with index %u (one per --nic "
			"switch)\n", nic_drv.ndev, nic_index);
		return -ENODEV;
	}
	if (nic_reader_opt && nic_read_mode == TAP_READ_WORKER) {
		fprintf(stderr, "vmbus guest: %s applies to TAP reader "
			"threads, not to --tap-read worker\n", nic_reader_opt);
		return -EINVAL;
	}
	nic_p.worker_reads = nic_read_mode ? nic_read_mode == TAP_READ_WORKER
					   : !nic_reader_opt;
	rc = ovb_tap_nic_start(nic_drv.dev[nic_index], &nic_p, &nic_tap);
	if (rc) {
		fprintf(stderr, "vmbus guest: --tap %s: %s\n", nic_p.ifname,
			strerror(-rc));
		return rc;
	}
	ovb_netvsc_get_info(ovb_tap_nic_netvsc(nic_tap), &info);
	printf("nic: %s%s%s up: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u, "
	       "NVSP %#x, %u queue(s), link %s\n", ovb_tap_nic_name(nic_tap),
	       nic_p.netns ? " in netns " : "", nic_p.netns ? nic_p.netns : "",
	       info.mac[0], info.mac[1], info.mac[2], info.mac[3], info.mac[4],
	       info.mac[5], info.mtu, info.nvsp_version, info.queues,
	       info.link_up ? "up" : "down");
	fflush(stdout);
	return 1;
}

/*
 * The host went away (its link closed): the TAP would stay up with
 * nothing behind it, so the partition stops, with one line that says so.
 */
static int nic_poll(struct ovb_client *cl)
{
	if (nic_tap && ovb_client_host_gone(cl))
		guest_request_stop(1, "nic: the host went away (link closed)");
	return 0;
}

static int nic_stop(struct ovb_client *cl)
{
	if (nic_tap)
		ovb_tap_nic_stop(nic_tap);
	nic_tap = NULL;
	return 0;
}

const struct guest_plugin guest_plugin_nic = {
	.name = "nic",
	.opts = nic_opts,
	.help = "  --tap IFNAME        bring the synthetic NIC up as TAP "
		"IFNAME; run until SIGTERM or the host goes away\n"
		"  --netns NAME        ... inside network namespace NAME "
		"(created if missing)\n"
		"  --addr CIDR         ... with this IPv4 address\n"
		"  --queues N          channels to open (1..8, default 1)\n"
		"  --poll US           channel workers poll US microseconds\n"
		"  --nic-index N       use the host's Nth NIC (its Nth --nic "
		"switch; default 0)\n"
		"  --tap-reap WHO      reader (default): each TAP reader reaps "
		"its queue's\n"
		"                      completions and frames between batches; "
		"worker: the\n"
		"                      channel workers alone do\n"
		"  --tap-spin US       a TAP reader looks for work US "
		"microseconds before it\n"
		"                      sleeps (default 0: none)\n"
		"  --tap-read WHO      worker (default): each channel worker "
		"reads its own TAP\n"
		"                      queue (one thread per queue); reader: a "
		"TAP reader thread\n"
		"                      per queue (the default when --tap-reap "
		"or --tap-spin\n"
		"                      is given: they apply to it alone)\n",
	.option = nic_option,
	.attach = nic_attach,
	.run = nic_run,
	.poll = nic_poll,
	.stop = nic_stop,
};
