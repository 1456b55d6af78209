/* SPDX-License-Identifier: MIT */
/*
 * The host's control socket: a unix stream socket (mode 0600) beside the
 * partition socket.  A client sends one command line; the host answers
 * "ok" or "error TEXT" on the first line, then the payload, and closes.
 * Devices add their commands (`disk add`, `nic link`) with
 * control_register().
 */
#ifndef VMBUS_TOOLS_CONTROL_H
#define VMBUS_TOOLS_CONTROL_H

#include <stdio.h>

/** A command handler: write the payload to @out; 0 or -errno (+ @err). */
typedef int control_fn(const char *args, FILE *out, char *err, size_t errlen,
		       void *ctx);

struct control;

/** Listen on @path and serve on a thread.  Returns 0 or -errno. */
int control_start(const char *path, struct control **out);
/** Add a command named @name (first word of the line). */
int control_register(struct control *c, const char *name, control_fn *fn,
		     void *ctx);
/** Stop serving, remove the socket file. */
void control_stop(struct control *c);

/**
 * Client side: send @line to the control socket @path and read the
 * answer.  Returns 0 and the payload in *@payload (malloc'ed), or -errno
 * with the host's error text in @err.
 */
int control_call(const char *path, const char *line, char **payload,
		 char *err, size_t errlen);

/** The control socket of a partition socket: PATH.ctl */
void control_path(const char *sock, char *out, size_t len);

/**
 * A subcommand that only forwards @line to the host of partition socket
 * @sock: the answer's payload on stdout, or "vmbus @cmd: ERROR" on
 * stderr.  Returns the exit status, 0 or 1.
 */
int control_run(const char *cmd, const char *sock, const char *line);

#endif
