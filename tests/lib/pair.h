/* SPDX-License-Identifier: MIT */
/*
 * The in-process pair: a real server with the echo VSP and a real client
 * with the echo driver, joined by the inproc link; plus a log sink that
 * remembers warnings so hostile tests can check the error they caused.
 */
#ifndef OPENVMBUS_TESTS_PAIR_H
#define OPENVMBUS_TESTS_PAIR_H

#include <sys/uio.h>

#include "openvmbus/echo.h"
#include "openvmbus/link.h"
#include "tests/lib/dispatch-fx.h"
#include "tests/lib/hang.h"

struct pair {
	struct ovb_server *srv;
	struct ovb_echo_vsp_cfg echo_cfg;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct ovb_echo_driver_ctx echo;
	struct dfx_loop *loop;       /**< caller-driven server's loop, or NULL */
};

struct pair_opts {
	unsigned int echo_instances; /**< default 1 */
	bool monitored;
	bool no_eventfd;
	uint32_t server_max_version;
	uint64_t mem_gpa;            /**< default 1 GiB */
	uint64_t mem_size;           /**< default 64 MiB */
	const struct ovb_vsc_driver *driver; /**< default ovb_echo_driver */
	bool caller_dispatch;        /**< caller-driven server (dispatch-fx.h) */
};

/**
 * Guest memory mode of the inproc fixtures.  tests/run.sh runs some pair
 * suites a second time with OVB_TEST_ANON_MEMORY=1: guest RAM is then
 * anonymous memory the host reaches through the host-memory provider,
 * with GPADLs scattered in host memory (link.h anon_memory).
 */
bool pair_anon_memory(void);
/** Set @ip's memory mode from the environment (see above). */
void pair_mem_params(struct ovb_inproc_params *ip);
/**
 * Before @l goes away: in anon mode, assert that the host served at least
 * one GPADL view through a paged view whenever it made any view, so a
 * suite that passes in anon mode did take the paged path.
 */
void pair_check_paged(struct ovb_inproc *l);

/** Build a pair (not connected).  Asserts on failure. */
struct pair *pair_new(const struct pair_opts *o);
/** Build and connect (newest version); asserts the echo device bound. */
struct pair *pair_connected(const struct pair_opts *o);
/** Add one more partition on the same server; returns its link. */
struct ovb_inproc *pair_add_guest(struct pair *p, const char *name,
				  struct ovb_echo_driver_ctx *echo);
void pair_free(struct pair *p);

/** Poll @cond (an expression) for up to 5 s. */
#define PAIR_WAIT(cond)                                                        \
	do {                                                                   \
		for (int w_ = 0; w_ < 5000 && !(cond); w_++)                   \
			usleep(1000);                                          \
	} while (0)

/**
 * Hang guard for a wait that must end at a deadline of about a second:
 * start with t0 = ovb_now_us(), then PAIR_NO_HANG(t0) fails only when the
 * wait took far longer than any deadline in the test (tests/lib/hang.h).
 */
#define PAIR_HANG_MS TEST_HANG_MS
#define PAIR_NO_HANG(t0_us) TEST_NO_HANG(t0_us)

/** Log capture: count of warnings whose text contains @needle. */
void logcap_start(void);
int logcap_count(const char *needle);
void logcap_stop(void);

/** Ping through @e with @len bytes; asserts the echo came back intact. */
void pair_ping(struct ovb_echo *e, uint32_t len);

/**
 * A frame given in pieces, joined into a new buffer (free it) of @len
 * bytes; *@bad is set (atomically: a worker's thread calls this) when the
 * pieces do not add up to @len.  No cmocka asserts inside.
 */
uint8_t *pair_iov_join(const struct iovec *iov, unsigned int iovcnt,
		       size_t len, bool *bad);

#endif
