/* SPDX-License-Identifier: MIT */
/*
 * A real nbdkit for the NBD backend's unit tests (test-blk-nbd.c,
 * test-blk-nbd-stop.c): the memory plugin (64 MiB) under the log filter
 * (and the delay filter if asked), verbose, on a unix socket in a
 * temporary directory; a child process the tests may stop (SIGSTOP),
 * resume, kill and start again.  Also a disk opened on it and requests
 * run to completion one at a time.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_NBDKIT_FX_H
#define OPENVMBUS_TESTS_NBDKIT_FX_H

#include <sys/types.h>
#include <sys/uio.h>

#include "openvmbus/blk.h"

/** The one server of a test (nbdkit_setup .. nbdkit_teardown). */
struct nbdkit_srv {
	char dir[48], sock[96];
	char logpath[96]; /* the log filter's: one line a request */
	char errpath[96]; /* nbdkit's stderr (-v): the option negotiation */
	pid_t pid;        /* -1: not running */
	/* The delay filter's argument ("delay-write=3"), or NULL: used by
	 * nbdkit_start, cleared by nbdkit_teardown. */
	const char *delay_write;
};

extern struct nbdkit_srv nbdkit;

/** cmocka setup: a temporary directory and the server started in it. */
int nbdkit_setup(void **state);
/** cmocka teardown: the server killed, the directory removed. */
int nbdkit_teardown(void **state);
/** Start the server; returns once it accepts on its socket. */
void nbdkit_start(void);
/** SIGKILL: the server dies with whatever it held, sockets hung up. */
void nbdkit_kill(void);
/** Open an NBD disk on it: request deadline @timeout_s, options @extra. */
struct ovb_blk *nbdkit_disk_open_t(const char *extra, unsigned timeout_s);
/** The same with a 5 s deadline. */
struct ovb_blk *nbdkit_disk_open(const char *extra);
/** One request of one buffer (none for FLUSH) run to completion (blk-fx). */
int nbdkit_io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       void *buf, size_t len);
/** Connection numbers of the log filter's lines naming @what ("Write"). */
int nbdkit_log_conns(const char *what, int *conns, int max);
/** The disk's counters (asserts they could be read). */
void nbdkit_stats(struct ovb_blk *blk, struct ovb_blk_stats *st);

#endif
