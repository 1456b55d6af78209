/* SPDX-License-Identifier: MIT */
/*
 * A scripted fake NBD server for the NBD backend's unit tests
 * (test-blk-nbd-wire.c, test-blk-nbd-hold.c): a thread of the test on a
 * unix socket in a temporary directory (libnbd connects by URI, so a
 * listening socket stands in for a socketpair).  It answers libnbd's fixed
 * newstyle handshake (NBD_OPT_GO with NBD_INFO_EXPORT, every other option
 * unsupported), offers flush, FUA and multi-conn (so each queue has its
 * own connection on our wire), serves an 8 MiB disk, and breaks the rules
 * as its script says.  Also a disk opened on it and requests run to
 * completion.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_NBD_FAKE_H
#define OPENVMBUS_TESTS_NBD_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvmbus/blk.h"
#include "tests/lib/blk-fx.h"

#define KIB 1024u
#define NBD_FAKE_DISK (8u << 20)

/** What the server does, on the first READ it is sent unless noted. */
enum nbd_fake_script {
	S_HONEST,
	S_BAD_MAGIC,
	S_UNKNOWN_COOKIE,
	S_REPEATED_COOKIE,
	S_DATA_SHORT,
	S_ERROR_RANGE,
	S_ESHUTDOWN,
	S_ANSWER_HANGUP, /* answer the first READ, hang up on the second */
	S_TRICKLE,       /* every answer in small pieces */
	S_SLOW_READER,   /* read requests in small pieces, slowly */
	S_IDLE_HANGUP,   /* answer the first READ, then hang up */
	S_LATE_SECOND,   /* the second READ answered late (late_held) */
};

/** The one server of a test (nbd_fake_start .. nbd_fake_stop). */
struct nbd_fake {
	char dir[48], path[96];
	int lfd;
	pthread_t th;
	enum nbd_fake_script script;
	bool hostile_done;
	int conns;      /* connections that reached transmission */
	int discs;      /* NBD_CMD_DISC seen */
	int reads;      /* READ requests seen */
	/*
	 * S_LATE_SECOND: the second READ is answered once the test says so
	 * (nbd_fake_release) if late_held, else once the client has read
	 * every byte sent before it; either way after TEST_HANG_MS at the
	 * latest.  No clock decides what the client sees first.
	 */
	bool late_held;
	bool released;  /* nbd_fake_release was called */
	bool trickle;   /* S_LATE_SECOND: the late answer in pieces */
	uint8_t disk[NBD_FAKE_DISK];
};

extern struct nbd_fake nbd_fake;

/** Start the server with @s; the disk filled with a known pattern. */
void nbd_fake_start(enum nbd_fake_script s);
/** Stop it (its listening socket shut down, the thread joined). */
void nbd_fake_stop(void);
/** S_LATE_SECOND: let the server answer the second READ (any thread). */
void nbd_fake_release(void);
/**
 * Open the NBD disk "nbd+unix:///?socket=@sock,timeout=@timeout_s@extra"
 * (any server's socket); asserts it opened.
 */
struct ovb_blk *nbd_fake_open_at(const char *sock, unsigned timeout_s,
				 const char *extra);
/** Open an NBD disk on the server, "nbd+unix:///?socket=...,timeout=5" + @extra. */
struct ovb_blk *nbd_fake_disk_open(const char *extra);
/** Submit @n (at most 8) requests in one batch and reap them; results in @res. */
void nbd_fake_run_batch(struct ovb_blk_queue *q, struct ovb_blk_req *req,
			int n, int *res);
/** One request of @len at @off, run to completion; its result. */
int nbd_fake_io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
		 void *buf, size_t len);
/**
 * Assert that the disk spec "nbd+unix:///?socket=@sock@opts" parses but
 * the NBD backend refuses to open it (-EINVAL, no disk).
 */
void nbd_fake_refused(const char *sock, const char *opts);
/** How many times the disk made its connection again. */
uint64_t nbd_fake_reconnects(struct ovb_blk *blk);

#endif
