/* SPDX-License-Identifier: MIT */
/*
 * vmbus lab internals: the run state shared by the steps (lab.c), the
 * process and shell helpers and progress display (lab_util.c), and the
 * one-process fallback without root (lab_local.c).
 */
#ifndef VMBUS_TOOLS_LAB_H
#define VMBUS_TOOLS_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAB_GUESTS 2

struct lab {
	char state[200]; /**< persistent: disk images */
	char run[200];   /**< this run: sockets, logs, mounts */
	char self[256];  /**< the vmbus binary */
	bool tty, keep, first_run;
	bool quick; /**< data checks only: no fio or iperf3 figures */
	pid_t host, guest[LAB_GUESTS];
	char loop[64];
	/* the summary */
	char vmbus[LAB_GUESTS][16], vstor[16], nvsp[16];
	unsigned int files_found, files_written;
	double disk_write_mbs, disk_read_mbs, disk_iops, disk_lat_us;
	double disk_iops32; /**< fio 4 KiB random reads at QD32 */
	double net_gbps, net_gbps1, ping_ms; /* iperf3 -P 4, -P 1 */
	uint64_t net_bytes;
	char stat_table[8192];
	char err[512]; /**< output of the command that failed a step */
};

/* ---- lab_util.c ---- */

/** Progress: a line per step, with a spinner on a terminal. */
void lab_step_begin(struct lab *l, const char *title);
/** End the step: @rc 0 ok, else failed; @detail shown after the title. */
int lab_step_end(struct lab *l, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Run a shell command line (built like printf); its output (stdout and
 * stderr) lands in @out (may be NULL).  Returns the exit status, or -1.
 */
int lab_sh(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Start @argv in the background, output appended to @log. */
pid_t lab_spawn(const char *log, char *const argv[]);

/** Wait up to @ms for @path to exist.  Returns 0 or -ETIMEDOUT. */
int lab_wait_path(const char *path, int ms);

/** Wait up to @ms for @log to contain @needle.  Returns 0 or -ETIMEDOUT. */
int lab_wait_log(const char *log, const char *needle, int ms);

/** Copy the first line of @log that contains @needle into @out. */
bool lab_log_line(const char *log, const char *needle, char *out, size_t cap);

/** Stop a process: @sig, then SIGKILL after @ms; reaps it. */
void lab_stop_pid(pid_t pid, int sig, int ms);

/** Seconds since an arbitrary start, monotonic. */
double lab_now(void);

/* ---- lab_local.c ---- */

/** The whole lab in one process over the inproc link (no root). */
int lab_local(struct lab *l);

#endif
