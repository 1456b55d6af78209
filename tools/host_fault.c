// SPDX-License-Identifier: MIT
/*
 * vmbus host: fault injection (--fault MODE[,opts], repeatable, and
 * --fault list).  A host that attacks its guests on purpose, for guest
 * driver developers; every fault it fires is logged on one line
 * (docs/hardening.md, include/openvmbus/fault.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/fault.h"
#include "tools/plugin.h"

enum { OPT_FAULT = PLUGIN_OPT_BASE(4) };

#define MAX_FAULTS 16

static struct ovb_fault_spec faults[MAX_FAULTS];
static unsigned int nfaults;

static const struct option fault_opts[] = {
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ 0 },
};

static int fault_option(int code, const char *arg)
{
	char err[160];

	(void)code;
	if (!strcmp(arg, "list")) {
		ovb_fault_list(stdout);
		exit(0);
	}
	if (nfaults == MAX_FAULTS) {
		fprintf(stderr, "vmbus host: at most %d --fault options\n",
			MAX_FAULTS);
		return 2;
	}
	if (ovb_fault_parse(arg, &faults[nfaults], err, sizeof(err))) {
		fprintf(stderr, "vmbus host: --fault %s: %s\n", arg, err);
		return 2;
	}
	nfaults++;
	return 0;
}

static int fault_start(struct ovb_server *srv, struct control *ctl)
{
	(void)srv;
	(void)ctl;
	for (unsigned int i = 0; i < nfaults; i++) {
		const struct ovb_fault_spec *f = &faults[i];
		int rc = ovb_fault_add(f);

		if (rc) {
			fprintf(stderr, "vmbus host: --fault: %s\n",
				strerror(-rc));
			return 1;
		}
		fprintf(stderr, "vmbus host: fault %s armed (after %llu, "
			"count %u%s%s%s%.0u)\n", ovb_fault_info(f->mode)->name,
			(unsigned long long)f->after, f->count,
			f->device[0] ? ", device " : "", f->device,
			f->relid ? ", channel " : "", f->relid);
	}
	return 0;
}

static void fault_stop(void)
{
	if (nfaults)
		fprintf(stderr, "vmbus host: %llu faults fired\n",
			(unsigned long long)ovb_fault_fired());
	ovb_fault_clear();
}

const struct host_plugin host_plugin_fault = {
	.name = "fault",
	.opts = fault_opts,
	.help = "  --fault MODE[,after=N][,count=N][,channel=RELID]"
		"[,device=scsi|ide|nic|echo]\n"
		"        [,probability=P][,seed=S]\n"
		"                      attack the guests on purpose "
		"(repeatable); --fault list\n"
		"                      names every mode\n",
	.option = fault_option,
	.start = fault_start,
	.stop = fault_stop,
};
