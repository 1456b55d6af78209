// SPDX-License-Identifier: MIT
/*
 * bench/net's host side: a switch, netvsp on it and the host's own
 * endpoint port, which counts what netvsp delivers to it (the sink) and
 * feeds the switch runs of frames (the source).  The bench forks it as the
 * host process, or runs it in its own process over the inproc link;
 * `bench/net --serve` runs it alone for a third-party guest (serve.c).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "openvmbus/link_socket.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src)
{
	memset(f, 0x5a, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
}


static int sink_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *meta)
{
	struct host *h = ctx;

	__atomic_fetch_add(&h->sunk, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The endpoint's run callback: a run of frames counted at once. */
static uint64_t sink_txn(void *ctx, const struct ovb_vswitch_frame *f,
			 unsigned int n)
{
	struct host *h = ctx;

	(void)f;
	__atomic_fetch_add(&h->sunk, n, __ATOMIC_RELAXED);
	return 0;
}

int host_init(struct host *h, uint32_t poll_us)
{
	struct ovb_netvsp_cfg cfg = { .name = "bench", .poll_us = poll_us };

	memset(h, 0, sizeof(*h));
	h->ctl = -1;
	if (ovb_server_create(&h->srv) || ovb_vswitch_create(NULL, &h->sw))
		return -1;
	cfg.sw = h->sw;
	if (ovb_netvsp_create(&cfg, &h->vsp) ||
	    ovb_netvsp_register(h->vsp, h->srv) ||
	    ovb_vswitch_port_add(h->sw, "bench", 0, sink_tx, h, &h->port) ||
	    ovb_vswitch_port_set_txn(h->sw, h->port, sink_txn))
		return -1;
	return 0;
}

void host_fini(struct host *h)
{
	ovb_vswitch_port_remove(h->sw, h->port);
	ovb_server_destroy(h->srv);
	ovb_netvsp_destroy(h->vsp);
	ovb_vswitch_destroy(h->sw);
}

/* A run of 64 copies of @f (the source sends one frame over and over). */
void run_fill(struct ovb_vswitch_frame *run, const uint8_t *f,
		     unsigned int size)
{
	for (int i = 0; i < 64; i++)
		run[i] = (struct ovb_vswitch_frame){ .frame = f, .len = size };
}

/*
 * One batch of 64 frames into the switch: as one run, or with
 * NET_FRAME_AT_A_TIME=1 one input per frame (the path before runs, for
 * comparison in one binary).
 */
void source_run(struct ovb_vswitch *sw, unsigned int port,
		       const struct ovb_vswitch_frame *run, const uint8_t *f,
		       unsigned int size)
{
	static int one_by_one = -1;

	if (one_by_one < 0) {
		const char *e = getenv("NET_FRAME_AT_A_TIME");

		one_by_one = e && *e == '1';
	}
	ovb_vswitch_batch_begin(sw);
	if (one_by_one)
		for (int i = 0; i < 64; i++)
			ovb_vswitch_input(sw, port, f, size, NULL);
	else
		ovb_vswitch_input_run(sw, port, run, 64, NULL);
	ovb_vswitch_batch_end(sw);
}

bool pin_plan(int cpu[2], cpu_set_t *all)
{
	const char *e = getenv("NET_PIN");
	int n = 0;

	CPU_ZERO(all);
	if (sched_getaffinity(0, sizeof(*all), all))
		return false;
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, all))
			cpu[n++] = i;
	return n == 2 && !(e && *e == '0');
}

int pin_self(int cpu, const cpu_set_t *all)
{
	cpu_set_t one;

	if (cpu < 0)
		return sched_setaffinity(0, sizeof(*all), all) ? -errno : 0;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) ? -errno : 0;
}

struct ovb_link_host *fork_link;

void host_sig(int sig)
{
	(void)sig;
	ovb_link_host_stop(fork_link);
}
