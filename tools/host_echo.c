// SPDX-License-Identifier: MIT
/* vmbus host: the echo test device (--echo N, --monitored). */
#include <stdio.h>
#include <stdlib.h>

#include "openvmbus/echo.h"
#include "openvmbus/server.h"
#include "tools/plugin.h"

enum { OPT_ECHO = PLUGIN_OPT_BASE(0), OPT_MONITORED };

static struct ovb_echo_vsp_cfg echo_cfg = { .instances = 1 };

static const struct option echo_opts[] = {
	{ "echo", required_argument, NULL, OPT_ECHO },
	{ "monitored", no_argument, NULL, OPT_MONITORED },
	{ 0 },
};

static int echo_option(int code, const char *arg)
{
	char *end;

	if (code == OPT_MONITORED) {
		echo_cfg.monitored = true;
		return 0;
	}
	echo_cfg.instances = (unsigned int)strtoul(arg, &end, 10);
	if (*end || !*arg || echo_cfg.instances > 64) {
		fprintf(stderr, "vmbus host: --echo wants 0..64, not '%s'\n",
			arg);
		return 2;
	}
	return 0;
}

static int echo_start(struct ovb_server *srv, struct control *ctl)
{
	if (echo_cfg.instances &&
	    ovb_server_register_vsp(srv, &ovb_echo_vsp_ops, &echo_cfg)) {
		fprintf(stderr, "vmbus host: too many device kinds\n");
		return 1;
	}
	return 0;
}

const struct host_plugin host_plugin_echo = {
	.name = "echo",
	.opts = echo_opts,
	.help = "  --echo N            offer N echo test devices per guest "
		"(default 1)\n"
		"  --monitored         offer echo devices with monitor ids\n",
	.option = echo_option,
	.start = echo_start,
};
