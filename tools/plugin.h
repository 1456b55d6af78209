/* SPDX-License-Identifier: MIT */
/*
 * Device plugins of `vmbus host` and `vmbus guest`: each device kind adds
 * its command-line options, registers its VSP or VSC driver, and (guest)
 * runs its front end, from one file of its own (tools/host_<dev>.c,
 * tools/guest_<dev>.c).  The lists are in host.c and guest.c.
 */
#ifndef VMBUS_TOOLS_PLUGIN_H
#define VMBUS_TOOLS_PLUGIN_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "openvmbus/client.h"
#include "openvmbus/server.h"
#include "tools/control.h"

/* Option codes: each plugin owns a range of 100 above 1000. */
#define PLUGIN_OPT_BASE(n) (1000 + 100 * (n))

struct host_plugin {
	const char *name;
	const struct option *opts; /**< terminated by a zero entry */
	const char *help;          /**< usage lines for its options */
	/** One option of ours: 0, or 2 after printing why it is bad. */
	int (*option)(int code, const char *arg);
	/**
	 * Register VSPs and control commands (before partitions join).
	 * @ctl may be NULL.  0 or 1 after printing why it failed.
	 */
	int (*start)(struct ovb_server *srv, struct control *ctl);
	/** After the last partition left: release backends. */
	void (*stop)(void);
	/**
	 * `vmbus stat`: add the plugin's own counters (may be NULL).  Text:
	 * its table after the channels'; @json: `,\n  "KEY": VALUE` at the
	 * top level of the document.  The control thread calls it.
	 */
	void (*stat)(FILE *out, bool json);
};

struct guest_plugin {
	const char *name;
	const struct option *opts;
	const char *help;
	int (*option)(int code, const char *arg);
	/** Register drivers before the client connects.  0 or -errno. */
	int (*attach)(struct ovb_client *cl);
	/**
	 * After connect: run the front end.  Returns 0 when done, 1 to keep
	 * the partition running until SIGINT/SIGTERM (a mount, an
	 * interface), or -errno after printing why.
	 */
	int (*run)(struct ovb_client *cl);
	/**
	 * While running, every 100 ms on the main thread: 0 keep running,
	 * 1 stop (the front end ended: say why first).  May be NULL.
	 */
	int (*poll)(struct ovb_client *cl);
	/** Before unload: stop the front end.  0, or -errno if it could not. */
	int (*stop)(struct ovb_client *cl);
};

/**
 * Ask vmbus guest to stop (any thread, e.g. a driver callback): @status 0
 * ends it cleanly, non-zero with exit status 1 and @why (one line, no
 * newline) printed as its last word.  The first request wins.
 */
void guest_request_stop(int status, const char *why);

extern const struct host_plugin host_plugin_echo;
extern const struct guest_plugin guest_plugin_echo;
extern const struct host_plugin host_plugin_disk;
extern const struct guest_plugin guest_plugin_storage;
extern const struct guest_plugin guest_plugin_disk;

struct ovb_storvsc_set;
/**
 * The storvsc drivers' controllers (tools/guest_storage.c): filled by
 * probe during connect, for front ends such as the FUSE disk.
 */
struct ovb_storvsc_set *guest_storage_set(void);
extern const struct host_plugin host_plugin_nic;
extern const struct guest_plugin guest_plugin_nic;
extern const struct host_plugin host_plugin_capture;
extern const struct host_plugin host_plugin_fault;

#endif
