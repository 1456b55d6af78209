// SPDX-License-Identifier: MIT
/*
 * bench/ring: the VMBus ring between two processes over the socket link,
 * measured next to what the machine can do in the same run.
 *
 * The host (a forked process) serves the echo device.  The guest streams
 * packets of 64 B, 1500 B and 64 KiB one way (ECHO_OP_SINK, no replies;
 * a final ping with a completion fences the stream) and runs a 64-byte
 * ping-pong, in interrupt mode and in polling mode.  The references:
 * memcpy bandwidth of the same sizes and a cross-core cache-line round
 * trip between two threads.  Prints a table with ratios and writes JSON.
 * OVB_BENCH_DISPATCH=caller runs the host caller-driven: no channel
 * workers, the socket link's thread takes every turn (one host thread).
 *
 * The protocol floor ("floor" rows; `bench/ring JSON floor` runs only
 * these): what the VMBus ring allows a NIC shaped like NVSP, measured
 * without any of the NIC's work.  Per frame the guest writes one in-band
 * packet that asks for a completion (24 bytes of echo header, 16 of
 * NVSP's SEND_RNDIS_PKT, 44 of RNDIS header and the frame: the bytes
 * netvsc moves, here through the ring rather than a send section), 64 per
 * batch of index updates; the host counts it and completes it with 8
 * bytes, one batch of completions per drain; the guest's worker takes
 * the completions (tracked requests, as netvsc's).  Both sides spin
 * adaptively ("interrupt", what bench/net's interrupt rows do) or poll
 * 200 us ("polling").  No RNDIS parse, no switch, no copy into a
 * receiver: bench/net's guest->host rows can at best reach this.  After
 * the floor shapes, in each mode, a 64-byte ping-pong on the same stream
 * channel ("stream-ping"): the QD1 round trip of a channel set up as
 * netvsc's (adaptive spin, or polling built on it), where the ping rows
 * above use request/reply channels.
 *
 * A second table measures the ring's copy path alone, in one thread (write
 * a packet, read it back), over a contiguous data area and over a paged
 * one whose pages are scattered (a GPADL served through a paged view):
 * the cost of paged rings, and a check that the contiguous path did not
 * get slower.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/ring.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"

#define RING_BYTES (2u << 20)
#define RUN_NS 400000000ull /* per measurement */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- references ---- */

/* memcpy through a working set as large as the ring, as the ring sees it. */
static double memcpy_gbps(size_t size)
{
	size_t total = RING_BYTES;
	uint8_t *a = malloc(total), *b = malloc(total);
	uint64_t t0, bytes = 0;

	memset(a, 1, total);
	memset(b, 2, total);
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS / 2)
		for (size_t off = 0; off + size <= total; off += size) {
			memcpy(b + off, a + off, size);
			bytes += size;
		}
	double gbps = (double)bytes / (double)(now_ns() - t0);

	free(a);
	free(b);
	return gbps;
}

static _Alignas(64) volatile uint64_t pingpong[16];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *pong_main(void *arg)
{
	uint64_t rounds = *(uint64_t *)arg;

	pin(1);
	for (uint64_t i = 1; i <= rounds; i++) {
		while (__atomic_load_n(&pingpong[0], __ATOMIC_ACQUIRE) != i)
			;
		__atomic_store_n(&pingpong[8], i, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Cross-core cache-line round trip in nanoseconds. */
static double cacheline_rtt_ns(void)
{
	uint64_t rounds = 2000000, t0;
	pthread_t th;

	pingpong[0] = pingpong[8] = 0;
	pthread_create(&th, NULL, pong_main, &rounds);
	pin(0);
	t0 = now_ns();
	for (uint64_t i = 1; i <= rounds; i++) {
		__atomic_store_n(&pingpong[0], i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&pingpong[8], __ATOMIC_ACQUIRE) != i)
			;
	}
	double ns = (double)(now_ns() - t0) / (double)rounds;

	pthread_join(th, NULL);
	cpu_set_t all;

	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	return ns;
}

/* ---- the ring's copy path, contiguous and paged ---- */

struct copy_result {
	size_t size;
	double contig_gbps, paged_gbps;
};

/* One thread writes a packet of @len and reads it back, for RUN_NS/2. */
static double ring_copy_gbps(uint8_t *const *pages, uint8_t *data,
			     void *ctl, size_t len)
{
	static uint8_t pkt[70000], out[70000];
	struct vmpacket_descriptor d = { .type = VM_PKT_DATA_INBAND,
					 .offset8 = 2,
					 .len8 = (uint16_t)((len + 7) / 8) };
	struct iovec iov = { pkt, len };
	struct ovb_ring w, r;
	uint64_t t0, bytes = 0;
	bool sig;

	if (pages) {
		ovb_ring_attach_pages(&w, ctl, pages, RING_BYTES, "w");
		ovb_ring_attach_pages(&r, ctl, pages, RING_BYTES, "r");
	} else {
		ovb_ring_attach(&w, ctl, data, RING_BYTES, "w");
		ovb_ring_attach(&r, ctl, data, RING_BYTES, "r");
	}
	ovb_ring_init_control(&w);
	memset(pkt, 1, len);
	memcpy(pkt, &d, sizeof(d));
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS / 2)
		for (int k = 0; k < 64; k++) {
			ovb_ring_write(&w, &iov, 1, &sig);
			ovb_ring_read(&r, out, sizeof(out));
			ovb_ring_read_commit(&r);
			bytes += len;
		}
	return (double)bytes / (double)(now_ns() - t0);
}

/* Both, for 64 B, 1500 B and 64 KiB packets; 0 on success. */
static int ring_copy_bench(struct copy_result *res)
{
	static const size_t sizes[3] = { 64, 1500, 65536 };
	size_t n = RING_BYTES / 4096;
	uint8_t *lin, *alias, **pages = calloc(n, sizeof(*pages));
	void *ctl = aligned_alloc(4096, 4096);

	lin = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	alias = mmap(NULL, RING_BYTES, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!pages || !ctl || lin == MAP_FAILED || alias == MAP_FAILED)
		return -ENOMEM;
	/* The same pages again, last first: no two adjacent. */
	for (size_t i = 0; i < n; i++) {
		pages[i] = alias + (n - 1 - i) * 4096;
		if (mremap(lin + i * 4096, 0, 4096,
			   MREMAP_MAYMOVE | MREMAP_FIXED, pages[i]) == MAP_FAILED)
			return -errno;
	}
	for (int i = 0; i < 3; i++) {
		res[i].size = sizes[i];
		res[i].contig_gbps = ring_copy_gbps(NULL, lin, ctl, sizes[i]);
		res[i].paged_gbps = ring_copy_gbps(pages, NULL, ctl, sizes[i]);
	}
	munmap(alias, RING_BYTES);
	munmap(lin, RING_BYTES);
	free(pages);
	free(ctl);
	return 0;
}

/* ---- the host process ---- */

static struct ovb_link_host *bench_host;

static void host_sig(int sig)
{
	ovb_link_host_stop(bench_host);
}

static bool caller_driven(void)
{
	const char *d = getenv("OVB_BENCH_DISPATCH");

	return d && !strcmp(d, "caller");
}

static pid_t host_fork(const char *path)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	static struct ovb_echo_vsp_cfg cfg = { .instances = 1 };
	struct ovb_server *srv;

	signal(SIGTERM, host_sig);
	ovb_server_create(&srv);
	if (caller_driven())
		ovb_server_set_threading(srv, OVB_SERVER_CALLER);
	ovb_server_register_vsp(srv, &ovb_echo_vsp_ops, &cfg);
	if (ovb_link_host_create(srv, path, &bench_host))
		_exit(1);
	ovb_link_host_run(bench_host);
	ovb_link_host_destroy(bench_host);
	ovb_server_destroy(srv);
	_exit(0);
}

/* ---- measurements ---- */

struct result {
	const char *mode;
	size_t size;
	double pps, gbps, memcpy_gbps;
	double rtt_us;
};

static int fence(struct ovb_echo *e)
{
	struct echo_msg req = { .op = ECHO_OP_PING }, rep;

	return ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0, 30000);
}

static int stream(struct ovb_echo *e, size_t size, struct result *r)
{
	static uint8_t pkt[65536];
	struct echo_msg *m = (void *)pkt;
	struct ovb_chan *chan = ovb_echo_chan(e);
	uint64_t n = 0, t0 = now_ns();
	int rc = 0;

	m->op = ECHO_OP_SINK;
	/* The packet (descriptor + payload) is @size bytes on the ring. */
	size_t len = size - sizeof(struct vmpacket_descriptor);

	while (!rc && now_ns() - t0 < RUN_NS) {
		for (int i = 0; i < 64 && !rc; i++, n++)
			rc = ovb_chan_send_inband(chan, pkt, len, n, 0);
	}
	rc = rc ? rc : fence(e);
	double secs = (double)(now_ns() - t0) / 1e9;

	r->size = size;
	r->pps = (double)n / secs;
	r->gbps = (double)n * (double)size / secs / 1e9;
	return rc;
}

static int pingpong_rtt(struct ovb_echo *e, struct result *r)
{
	uint64_t n = 0, t0 = now_ns();
	int rc = 0;

	while (!rc && now_ns() - t0 < RUN_NS)
		for (int i = 0; i < 16 && !rc; i++, n++)
			rc = fence(e);
	r->rtt_us = (double)(now_ns() - t0) / 1e3 / (double)n;
	return rc;
}

/* ---- the protocol floor ---- */

struct floor_result {
	const char *mode;
	size_t frame;
	unsigned int pack; /* frames per packet */
	double pps;
	uint64_t sent, done;
};

static void floor_done(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		       void *ctx)
{
	__atomic_fetch_add((uint64_t *)ctx, 1, __ATOMIC_RELEASE);
}

static int floor_stream(struct ovb_echo *e, size_t frame, unsigned int pack,
			struct floor_result *r)
{
	static uint8_t pkt[24 + 16 + 64 * (44 + 1514)];
	struct echo_msg *m = (void *)pkt;
	struct ovb_chan *chan = ovb_echo_chan(e);
	static uint64_t done;
	struct ovb_send s = { .data = pkt,
			      .len = 24 + 16 + pack * (44 + frame),
			      .on_comp = floor_done, .comp_ctx = &done };
	uint64_t n = 0, t0 = now_ns(), t1;
	int rc = 0;

	__atomic_store_n(&done, 0, __ATOMIC_RELEASE);
	memset(pkt, 0x5a, sizeof(pkt));
	m->op = ECHO_OP_STREAM;
	m->len = 0;
	while (!rc && now_ns() - t0 < RUN_NS) {
		ovb_chan_batch_begin(chan);
		for (int i = 0; i < 64 && !rc; i++) {
			rc = ovb_chan_send(chan, &s);
			if (rc == -ENOSPC) { /* 4096 in flight: let them land */
				ovb_chan_batch_end(chan);
				sched_yield();
				ovb_chan_batch_begin(chan);
				rc = 0;
				i--;
				continue;
			}
			n += !rc;
		}
		ovb_chan_batch_end(chan);
	}
	/* Every completion in, within a deadline. */
	t1 = now_ns();
	while (!rc && __atomic_load_n(&done, __ATOMIC_ACQUIRE) < n)
		if (now_ns() - t1 > 5000000000ull)
			rc = -ETIMEDOUT;
		else
			sched_yield();
	t1 = now_ns();
	r->frame = frame;
	r->pack = pack;
	r->sent = n * pack;
	r->done = __atomic_load_n(&done, __ATOMIC_ACQUIRE) * pack;
	r->pps = (double)r->done * 1e9 / (double)(t1 - t0);
	return rc;
}

/*
 * The protocol floor's shapes in one mode, then a QD1 ping-pong on the
 * same stream channel (@ping: its round trip, the latency netvsc's
 * channel has in that mode: adaptive spin, or polling on top of it).
 */
static int floor_mode(struct ovb_echo_driver_ctx *ctx, bool poll,
		      struct floor_result *res, int *nres, struct result *ping)
{
	/*
	 * Frames per packet: 1 as NVSP without aggregation, 8 as netvsc packs
	 * a send section (netvsp's max_packets_per_message), 64 as netvsp
	 * batches ranges towards a guest.
	 */
	static const struct { size_t frame; unsigned int pack; } shapes[] = {
		{ 64, 1 }, { 64, 8 }, { 64, 64 }, { 1500, 1 }, { 1500, 8 } };
	struct echo_open_data od = { ECHO_OPEN_MAGIC, poll ? 200 : 0,
				     ECHO_OPEN_STREAM };
	struct ovb_vsc_open_params op = { .userdata = &od,
					  .userdata_len = sizeof(od) };
	struct ovb_echo *e;
	int rc = ovb_echo_open(ctx->dev[0], RING_BYTES, &op, &e);

	if (rc)
		return rc;
	/* The guest's worker as netvsc's: a stream, polling 200 us or not. */
	ovb_chan_set_adaptive(ovb_echo_chan(e), true);
	if (poll)
		ovb_chan_set_poll(ovb_echo_chan(e), 200);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]) && !rc;
	     i++) {
		struct floor_result *r = &res[(*nres)++];

		r->mode = poll ? "polling" : "interrupt";
		rc = floor_stream(e, shapes[i].frame, shapes[i].pack, r);
	}
	ping->mode = poll ? "polling" : "interrupt";
	rc = rc ? rc : pingpong_rtt(e, ping);
	ovb_echo_close(e);
	return rc;
}

static int run_mode(struct ovb_client *cl, struct ovb_echo_driver_ctx *ctx,
		    bool poll, struct result *res, int *nres)
{
	static const size_t sizes[] = { 64, 1500, 65536 };
	struct echo_open_data od = { ECHO_OPEN_MAGIC, poll ? 50 : 0, 0 };
	struct ovb_vsc_open_params op = { .userdata = &od,
					  .userdata_len = sizeof(od) };
	struct ovb_echo *e;
	int rc = ovb_echo_open(ctx->dev[0], RING_BYTES, &op, &e);

	if (rc)
		return rc;
	/* Polling: the host worker spins, this thread spins on its calls. */
	ovb_echo_set_polling(e, poll);
	for (size_t i = 0; i < 3 && !rc; i++) {
		struct result *r = &res[(*nres)++];

		r->mode = poll ? "polling" : "interrupt";
		rc = stream(e, sizes[i], r);
		r->memcpy_gbps = memcpy_gbps(sizes[i]);
	}
	struct result *r = &res[(*nres)++];

	r->mode = poll ? "polling" : "interrupt";
	r->size = 0; /* the ping-pong row */
	rc = rc ? rc : pingpong_rtt(e, r);
	ovb_echo_close(e);
	return rc;
}

/* The stream-ping rows as a JSON member; @more: another one follows. */
static void json_stream_ping(FILE *f, const struct result *sping, bool more)
{
	fprintf(f, "  \"stream_ping\": [\n");
	for (int i = 0; i < 2; i++)
		fprintf(f, "    {\"mode\": \"%s\", \"rtt_us\": %.3f}%s\n",
			sping[i].mode, sping[i].rtt_us, i ? "" : ",");
	fprintf(f, "  ]%s\n", more ? "," : "");
}

int main(int argc, char **argv)
{
	const char *json = argc > 1 ? argv[1] : "build/bench/ring.json";
	struct ovb_link_guest_params lp = { .name = "bench",
					    .mem_gpa = 1ull << 32,
					    .mem_size = 64ull << 20 };
	struct ovb_echo_driver_ctx ctx = { 0 };
	struct ovb_link_guest *g = NULL;
	struct result res[8] = { 0 };
	struct floor_result fl[10] = { 0 };
	struct result sping[2] = { 0 }; /* QD1 ping on a stream channel */
	bool floor_only = argc > 2 && !strcmp(argv[2], "floor");
	int nfl = 0;
	struct copy_result copy[3];
	char path[108];
	int nres = 0, rc = 0;
	pid_t host;
	double rtt_ns;
	FILE *f;

	rtt_ns = floor_only ? 0 : cacheline_rtt_ns();
	if (!floor_only && (rc = ring_copy_bench(copy)) != 0) {
		fprintf(stderr, "bench/ring: copy bench: %s\n", strerror(-rc));
		return 1;
	}
	snprintf(path, sizeof(path), "/tmp/ovb-bench-%d.sock", (int)getpid());
	host = host_fork(path);
	lp.path = path;
	for (int i = 0; i < 100; i++) {
		rc = ovb_link_guest_connect(&lp, &g);
		if (!rc)
			break;
		usleep(20000);
	}
	if (rc) {
		fprintf(stderr, "bench/ring: cannot reach the host: %s\n",
			strerror(-rc));
		kill(host, SIGTERM);
		return 1;
	}
	ovb_client_register_driver(ovb_link_guest_client(g), &ovb_echo_driver,
				   &ctx);
	rc = ovb_client_connect(ovb_link_guest_client(g), 0, 5000);
	if (!rc && !floor_only)
		rc = run_mode(ovb_link_guest_client(g), &ctx, false, res, &nres);
	if (!rc && !floor_only)
		rc = run_mode(ovb_link_guest_client(g), &ctx, true, res, &nres);
	if (!rc)
		rc = floor_mode(&ctx, false, fl, &nfl, &sping[0]);
	if (!rc)
		rc = floor_mode(&ctx, true, fl, &nfl, &sping[1]);
	ovb_client_unload(ovb_link_guest_client(g), 5000);
	ovb_link_guest_destroy(g);
	kill(host, SIGTERM);
	waitpid(host, NULL, 0);
	if (rc) {
		fprintf(stderr, "bench/ring: %s\n", strerror(-rc));
		return 1;
	}

	printf("protocol floor, NVSP-shaped (one in-band packet of N frames "
	       "+ one completion each, no NIC work):\n");
	for (int i = 0; i < nfl; i++)
		printf("floor %-10s %5zu B frame %2u/packet %12.0f frames/s "
		       "(%llu sent, %llu completed)\n", fl[i].mode,
		       fl[i].frame, fl[i].pack, fl[i].pps,
		       (unsigned long long)fl[i].sent,
		       (unsigned long long)fl[i].done);
	for (int i = 0; i < 2; i++)
		printf("stream-ping %-10s %9.2f us round trip (QD1 on the "
		       "floor's stream channel, netvsc's channel mode)\n",
		       sping[i].mode, sping[i].rtt_us);
	if (floor_only) {
		f = fopen(json, "w");
		if (!f)
			return 1;
		fprintf(f, "{\n  \"floor\": [\n");
		for (int i = 0; i < nfl; i++)
			fprintf(f, "    {\"mode\": \"%s\", \"frame\": %zu, "
				"\"per_packet\": %u, \"pps\": %.0f}%s\n",
				fl[i].mode, fl[i].frame, fl[i].pack, fl[i].pps,
				i + 1 < nfl ? "," : "");
		fprintf(f, "  ],\n");
		json_stream_ping(f, sping, false);
		fprintf(f, "}\n");
		fclose(f);
		return 0;
	}
	printf("\nhost: %s\n", caller_driven()
	       ? "caller-driven (OVB_BENCH_DISPATCH=caller), one thread"
	       : "a worker thread per channel (default)");
	printf("cross-core cache-line round trip: %.0f ns\n\n", rtt_ns);
	printf("%-10s %7s %12s %9s %9s %8s\n", "mode", "packet", "packets/s",
	       "GB/s", "memcpy", "ratio");
	for (int i = 0; i < nres; i++) {
		if (!res[i].size)
			printf("%-10s %7s %9.2f us round trip = %.1fx cache-line "
			       "round trip\n", res[i].mode, "ping",
			       res[i].rtt_us, res[i].rtt_us * 1000 / rtt_ns);
		else
			printf("%-10s %7zu %12.0f %9.2f %9.2f %7.3fx\n",
			       res[i].mode, res[i].size, res[i].pps,
			       res[i].gbps, res[i].memcpy_gbps,
			       res[i].gbps / res[i].memcpy_gbps);
	}
	printf("\nring copy path, one thread (write + read back, GB/s):\n");
	printf("%7s %11s %9s %8s\n", "packet", "contiguous", "paged",
	       "paged/c");
	for (int i = 0; i < 3; i++)
		printf("%7zu %11.2f %9.2f %7.3fx\n", copy[i].size,
		       copy[i].contig_gbps, copy[i].paged_gbps,
		       copy[i].paged_gbps / copy[i].contig_gbps);
	f = fopen(json, "w");
	if (!f) {
		fprintf(stderr, "bench/ring: cannot write %s\n", json);
		return 1;
	}
	fprintf(f, "{\n  \"host_threading\": \"%s\",\n"
		"  \"cacheline_rtt_ns\": %.1f,\n  \"results\": [\n",
		caller_driven() ? "caller" : "workers", rtt_ns);
	for (int i = 0; i < nres; i++) {
		/* Only the ping-pong row (size 0) has a round trip. */
		char rtt[64] = "null, \"rtt_vs_cacheline\": null";

		if (!res[i].size)
			snprintf(rtt, sizeof(rtt), "%.3f, \"rtt_vs_cacheline\": "
				 "%.2f", res[i].rtt_us,
				 res[i].rtt_us * 1000 / rtt_ns);
		fprintf(f, "    {\"mode\": \"%s\", \"packet_bytes\": %zu, "
			"\"packets_per_s\": %.0f, \"gbytes_per_s\": %.3f, "
			"\"memcpy_gbytes_per_s\": %.3f, \"rtt_us\": %s}%s\n",
			res[i].mode, res[i].size, res[i].pps, res[i].gbps,
			res[i].memcpy_gbps, rtt, i + 1 < nres ? "," : "");
	}
	fprintf(f, "  ],\n  \"floor\": [\n");
	for (int i = 0; i < nfl; i++)
		fprintf(f, "    {\"mode\": \"%s\", \"frame\": %zu, "
			"\"per_packet\": %u, \"pps\": %.0f}%s\n",
			fl[i].mode, fl[i].frame, fl[i].pack, fl[i].pps,
			i + 1 < nfl ? "," : "");
	fprintf(f, "  ],\n");
	json_stream_ping(f, sping, true);
	fprintf(f, "  \"ring_copy\": [\n");
	for (int i = 0; i < 3; i++)
		fprintf(f, "    {\"packet_bytes\": %zu, "
			"\"contiguous_gbytes_per_s\": %.3f, "
			"\"paged_gbytes_per_s\": %.3f}%s\n",
			copy[i].size, copy[i].contig_gbps, copy[i].paged_gbps,
			i < 2 ? "," : "");
	fprintf(f, "  ]\n}\n");
	fclose(f);
	printf("\nwrote %s\n", json);
	return 0;
}
