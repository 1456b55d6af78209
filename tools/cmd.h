/* SPDX-License-Identifier: MIT */
/* The vmbus command's subcommand table entry. */
#ifndef VMBUS_TOOLS_CMD_H
#define VMBUS_TOOLS_CMD_H

struct vmbus_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /**< argv[0] is the command name */
};

extern const struct vmbus_cmd vmbus_cmd_host;
extern const struct vmbus_cmd vmbus_cmd_guest;
extern const struct vmbus_cmd vmbus_cmd_stat;
extern const struct vmbus_cmd vmbus_cmd_lab;
extern const struct vmbus_cmd vmbus_cmd_disk;
extern const struct vmbus_cmd vmbus_cmd_nic;
extern const struct vmbus_cmd vmbus_cmd_capture;

#endif
