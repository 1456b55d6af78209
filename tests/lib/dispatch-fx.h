/* SPDX-License-Identifier: MIT */
/*
 * A caller-driven server for the pair fixtures: the server starts no
 * thread of its own and a test thread plays the embedder's loop (epoll on
 * ovb_server_dispatch_fd, then ovb_server_dispatch).  OVB_TEST_DISPATCH=
 * caller in the environment turns it on for every fixture, so the existing
 * pair scenarios run in this mode too.
 */
#ifndef OPENVMBUS_TESTS_DISPATCH_FX_H
#define OPENVMBUS_TESTS_DISPATCH_FX_H

#include <stdbool.h>

#include "openvmbus/hv.h"
#include "openvmbus/server.h"

struct dfx_loop;

/** True if @opt or the environment asks for a caller-driven server. */
bool dfx_wanted(bool opt);

/** Make @srv caller-driven and start the loop thread.  Asserts. */
struct dfx_loop *dfx_start(struct ovb_server *srv);

/** A new loop thread for a server that is caller-driven already. */
struct dfx_loop *dfx_start_again(struct ovb_server *srv);

/** Stop the loop thread (NULL: nothing); before ovb_server_destroy(). */
void dfx_stop(struct dfx_loop *lp);

/** Turns the loop has taken so far. */
unsigned long dfx_turns(const struct dfx_loop *lp);

/** Threads of this process right now (/proc/self/task). */
int dfx_threads(void);

#endif
