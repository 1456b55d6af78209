/* SPDX-License-Identifier: MIT */
/*
 * bench/net's host side (host.c) and its `--serve` mode (serve.c), shared
 * with the bench's main program (bench/net.c).
 */
#ifndef OVB_BENCH_NETBENCH_HOST_H
#define OVB_BENCH_NETBENCH_HOST_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vswitch.h"

struct host {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	unsigned int port;
	uint64_t sunk; /* frames netvsp delivered to the endpoint */
	int ctl;       /* the bench's view of a forked host; -1: local */
};

/* CLOCK_MONOTONIC in ns. */
uint64_t now_ns(void);
/* A test frame of @len bytes from @src to @dst (ethertype 0x88b5). */
void frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src);
/* Switch, netvsp (channels polling @poll_us, 0: interrupt) and endpoint. */
int host_init(struct host *h, uint32_t poll_us);
void host_fini(struct host *h);
/* A run of 64 copies of @f. */
void run_fill(struct ovb_vswitch_frame *run, const uint8_t *f,
	      unsigned int size);
/* One batch of 64 frames into the switch from @port. */
void source_run(struct ovb_vswitch *sw, unsigned int port,
		const struct ovb_vswitch_frame *run, const uint8_t *f,
		unsigned int size);
/*
 * Where the two processes run (NET_PIN): the forked host on the first
 * CPU this process may use, the guests on the second, as bench/net-peer.sh
 * runs the testpmd pair (vhost-user on one CPU, virtio-user on the
 * other).  pin_plan() fills @cpu[0] (host) and @cpu[1] (guests) and
 * returns true unless NET_PIN=0 or fewer than two CPUs are allowed;
 * pin_self() binds the calling thread, and so the threads it creates
 * afterwards, to @cpu (-1: every CPU @all holds): 0 or a negative errno.
 */
bool pin_plan(int cpu[2], cpu_set_t *all);
int pin_self(int cpu, const cpu_set_t *all);
/* The host process's socket link, stopped by host_sig (SIGTERM). */
struct ovb_link_host;
extern struct ovb_link_host *fork_link;
void host_sig(int sig);
/* `bench/net --serve SOCK [POLL_US]` (serve.c): 0 or 1, as main returns. */
int serve(const char *path, uint32_t poll_us);

#endif
