// SPDX-License-Identifier: MIT
/*
 * bench/net: the synthetic NIC, host and guests in two processes, the
 * shape DPDK's virtio-user <-> vhost-user pair has.
 *
 * The host (a forked process, as in bench/ring) serves netvsp on a switch
 * over the socket link; the switch has one more port, the host's own
 * endpoint, which counts what reaches it (the sink) and injects frames (the
 * source).  The bench process holds two guests (two partitions, two socket
 * links) with netvsc and drives the host's endpoint over a control socket.
 * For 64-byte and 1500-byte frames it measures guest->host (netvsp delivers
 * to the sink), host->guest (the source feeds the switch, netvsp copies into
 * the guest) and guest->switch->guest, in interrupt and polling mode, about
 * half a second each.  The two modes of a shape run interleaved on the same
 * guests (only their channels' mode changes), NET_ROUNDS times (default
 * 3; interrupt first in odd rounds, polling first in even ones), so each
 * round gives one polling/interrupt ratio taken under the same conditions.
 * The same shapes then run once more with host and guests in this process
 * over the inproc link (rows labelled "inproc"), which shows what the
 * process boundary costs; NET_SOCKET_ONLY=1 leaves them out.  NET_RUN_MS
 * sets a run's length (500).  NET_FRAME_AT_A_TIME=1: the host source
 * inputs its frames one by one instead of as runs of 64.  A sending guest
 * hands netvsc bursts of 64 (ovb_netvsc_send_burst, as testpmd's txonly
 * hands virtio-user bursts); NET_SEND_ONE=1: 64 ovb_netvsc_send calls.
 *
 * `bench/net JSON [PATH/MODE/SIZE]`, e.g. guest->host/interrupt/64, runs
 * only that two-process row, for 2 s (NET_RUN_MS, when set, as in the
 * full run): the shape to profile; it prints the host's batches, reaps
 * and slot-wait timeouts and each guest's worker on its own (packets,
 * signals, sleeps, time spinning).  NET_RECV_BUF_KB sets the guests'
 * receive buffer (netvsc's default when unset).
 * The two-process rows run with the forked host on the first CPU this
 * process may use and the guests on the second, as bench/net-peer.sh runs
 * the testpmd pair; unpinned, the scheduler's placement decided the
 * guest->switch->guest rows (the host's frame worker sharing a CPU with a
 * guest's busy thread: ~15 instead of ~20 Mpps, in either mode,
 * docs/net-perf.md).  NET_PIN=0 leaves the placement to the scheduler.
 * Prints every run, then each row's median [min-max] and the polling/
 * interrupt ratios (median [min-max] of the per-round ratios), and writes
 * JSON to argv[1]: "results" (median pps per row, "runs_pps", "pps_min",
 * "pps_max") and "polling_over_interrupt" ("per_round", "median");
 * every row carries "link": "socket" or "inproc"; "pinned" says whether
 * the two-process rows ran pinned (NET_PIN).  bench/net-peer.sh runs the
 * peers (DPDK testpmd, TCP over veth and over our TAPs), merges them and
 * the ratios, which use the socket rows.
 *
 * `bench/net --serve SOCK [POLL_US]` is the same host (switch, netvsp, the
 * endpoint) serving SOCK for a guest this program does not hold:
 * bench/net-peer.sh runs DPDK's netvsc PMD (dpdk-testpmd with
 * build/ovmb-dpdk-shim.so) against it.  POLL_US puts netvsp's channels in
 * polling mode (cfg.poll_us).  See serve() for its commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"

#include "netbench/host.h"

#define RUN_NS 500000000ull
#define MAX_ROUNDS 15

/*
 * Rounds per shape (NET_ROUNDS, default 3): each round runs interrupt and
 * polling mode back to back, in alternating order.
 */
static unsigned int rounds = 3;

/* argv[2] "PATH/MODE/SIZE": run only that socket row, for 2 s (profiling). */
static const char *only;
static uint64_t run_ns = RUN_NS;
/* A sending guest's 64 frames as one burst (NET_SEND_ONE=1: one by one). */
static bool burst = true;
#define SETTLE_US 20000 /* let the last batches land */
/* NET_RECV_BUF_KB: the guests' receive buffer (0: netvsc's default). */
static uint32_t recv_buf_kb;
/* NET_PIN (pin_plan): the forked host's CPU, the guests' (socket rows). */
static bool pinned;
static int pin_cpu[2];
static cpu_set_t pin_all;

static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

/* Inject @size-byte frames for @ns (at least one batch); returns how many. */
static uint64_t host_source_local(struct host *h, unsigned int size,
				  const uint8_t *dst, const uint8_t *src,
				  uint64_t ns)
{
	uint8_t f[1514];
	struct ovb_vswitch_frame run[64];
	uint64_t sent = 0, start = now_ns();

	frame(f, size, dst, src);
	run_fill(run, f, size);
	do {
		/*
		 * One batch, one run: the switch forwards the 64 once and
		 * netvsp sends them as one packet, one signal.
		 */
		source_run(h->sw, h->port, run, f, size);
		sent += 64;
	} while (now_ns() - start < ns);
	return sent;
}

/* The control protocol between the bench and a forked host. */
enum { CTL_STATS, CTL_SOURCE, CTL_LEARN, CTL_QUIT };

struct ctl_req {
	uint32_t op;
	uint32_t size;
	uint64_t ns;
	uint8_t dst[6], src[6];
};

struct ctl_rep {
	uint64_t sunk;      /* frames the endpoint took */
	uint64_t sent;      /* CTL_SOURCE: frames injected */
	uint64_t to_guest;  /* netvsp: frames copied into a guest */
	uint64_t no_buffer; /* netvsp: frames dropped, guest buffer full */
	uint64_t cpu_ns;    /* the host process's CPU time; 0: this process */
	uint64_t batches;   /* netvsp: transfer-page packets of frames */
	uint64_t reaps;     /* netvsp: short of slots, completions reaped */
	uint64_t timeouts;  /* netvsp: slot waits that ran out */
};

/* This process's CPU time (user + system, all threads). */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The forked host's control thread: serves requests until QUIT or EOF. */
static void *host_ctl_main(void *arg)
{
	struct host *h = arg;
	struct ctl_req rq;
	struct ctl_rep rp;

	while (recv(h->ctl, &rq, sizeof(rq), 0) == (ssize_t)sizeof(rq) &&
	       rq.op != CTL_QUIT) {
		struct ovb_netvsp_stats st;

		memset(&rp, 0, sizeof(rp));
		if (rq.op == CTL_SOURCE && rq.size <= 1514)
			rp.sent = host_source_local(h, rq.size, rq.dst, rq.src,
						    rq.ns);
		else if (rq.op == CTL_LEARN && rq.size <= 1514) {
			uint8_t f[1514];

			frame(f, rq.size, rq.dst, rq.src);
			ovb_vswitch_input(h->sw, h->port, f, rq.size, NULL);
		}
		ovb_netvsp_get_stats(h->vsp, &st);
		rp.sunk = __atomic_load_n(&h->sunk, __ATOMIC_ACQUIRE);
		rp.to_guest = st.to_guest;
		rp.no_buffer = st.no_buffer;
		rp.batches = st.to_guest_batches;
		rp.reaps = st.reaps;
		rp.timeouts = st.wait_timeouts;
		rp.cpu_ns = cpu_ns();
		if (send(h->ctl, &rp, sizeof(rp), 0) != (ssize_t)sizeof(rp))
			break;
	}
	ovb_link_host_stop(fork_link);
	return NULL;
}

/*
 * Fork the host process serving on @path; @h becomes the bench's handle
 * (only ->ctl is used on this side).  Call before this process has threads.
 */
static pid_t host_fork(const char *path, struct host *h)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid) {
		close(sv[1]);
		memset(h, 0, sizeof(*h));
		h->ctl = sv[0];
		return pid;
	}
	close(sv[0]);
	/* Before any thread: the host's all run there. */
	if (pinned && pin_self(pin_cpu[0], &pin_all))
		_exit(1);
	static struct host child;
	pthread_t th;

	signal(SIGTERM, host_sig);
	if (host_init(&child, 0) ||
	    ovb_link_host_create(child.srv, path, &fork_link))
		_exit(1);
	child.ctl = sv[1];
	if (pthread_create(&th, NULL, host_ctl_main, &child))
		_exit(1);
	ovb_link_host_run(fork_link);
	shutdown(child.ctl, SHUT_RDWR);
	pthread_join(th, NULL);
	ovb_link_host_destroy(fork_link);
	host_fini(&child);
	_exit(0);
}

/* One request to the host, wherever it is. */
static int host_ctl(struct host *h, const struct ctl_req *rq,
		    struct ctl_rep *rp)
{
	struct ovb_netvsp_stats st;

	if (h->ctl >= 0) {
		if (send(h->ctl, rq, sizeof(*rq), 0) != (ssize_t)sizeof(*rq) ||
		    recv(h->ctl, rp, sizeof(*rp), 0) != (ssize_t)sizeof(*rp))
			return -EPIPE;
		return 0;
	}
	memset(rp, 0, sizeof(*rp));
	if (rq->op == CTL_SOURCE)
		rp->sent = host_source_local(h, rq->size, rq->dst, rq->src,
					     rq->ns);
	else if (rq->op == CTL_LEARN) {
		uint8_t f[1514];

		frame(f, rq->size, rq->dst, rq->src);
		ovb_vswitch_input(h->sw, h->port, f, rq->size, NULL);
	}
	ovb_netvsp_get_stats(h->vsp, &st);
	rp->sunk = __atomic_load_n(&h->sunk, __ATOMIC_ACQUIRE);
	rp->to_guest = st.to_guest;
	rp->no_buffer = st.no_buffer;
	return 0;
}

/* ---- the guests ---- */

struct guest {
	struct ovb_inproc *ilink;
	struct ovb_link_guest *slink;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	struct ovb_netvsc_info info;
	uint64_t rx;
};

static void on_rx(void *ctx, unsigned int q, const void *f, size_t len,
		  const struct ovb_net_meta *meta)
{
	struct guest *g = ctx;

	__atomic_fetch_add(&g->rx, 1, __ATOMIC_RELAXED);
}

/* Bring guest @i up on the socket @path, or inproc on @h when NULL. */
static int guest_up(struct guest *g, int i, struct host *h, const char *path)
{
	struct ovb_netvsc_params p = { .rx = on_rx, .ctx = g };
	struct ovb_client *cl;
	int rc = -ECONNREFUSED;

	memset(g, 0, sizeof(*g));
	p.recv_buf_bytes = recv_buf_kb << 10;
	if (path) {
		struct ovb_link_guest_params lp = { .path = path,
						    .name = i ? "b" : "a",
						    .mem_gpa = 1ull << 32,
						    .mem_size = 64ull << 20 };

		for (int t = 0; t < 100 && rc; t++) {
			rc = ovb_link_guest_connect(&lp, &g->slink);
			if (rc)
				usleep(20000);
		}
		if (rc)
			return rc;
		cl = ovb_link_guest_client(g->slink);
	} else {
		struct ovb_inproc_params ip = { .name = i ? "b" : "a",
						.mem_gpa = 1ull << 32,
						.mem_size = 64ull << 20 };

		rc = ovb_inproc_create(h->srv, &ip, &g->ilink);
		if (rc)
			return rc;
		cl = ovb_inproc_client(g->ilink);
	}
	rc = ovb_client_register_driver(cl, &ovb_netvsc_driver, &g->drv);
	rc = rc ? rc : ovb_client_connect(cl, 0, 5000);
	rc = rc ? rc : (g->drv.ndev ? 0 : -ENODEV);
	rc = rc ? rc : ovb_netvsc_open(g->drv.dev[0], &p, &g->nic);
	if (!rc)
		ovb_netvsc_get_info(g->nic, &g->info);
	return rc;
}

static void guest_down(struct guest *g)
{
	if (g->nic)
		ovb_netvsc_close(g->nic);
	if (g->slink) {
		ovb_client_unload(ovb_link_guest_client(g->slink), 5000);
		ovb_link_guest_destroy(g->slink);
	}
	if (g->ilink)
		ovb_inproc_destroy(g->ilink);
	memset(g, 0, sizeof(*g));
}

/* ---- measurements ---- */

struct result {
	const char *path, *mode, *link;
	unsigned int size;
	double pps, gbps;
	uint64_t sent, got, dropped;
	double cpus;      /* CPUs busy in our processes over the row */
	double per_cpu_s; /* frames per CPU-second of our processes */
	/* A row of several runs (fold()): each run's pps, their range. */
	unsigned int nruns;
	double runs_pps[MAX_ROUNDS], pps_min, pps_max;
};

/* Polling against interrupt mode for one shape: per round, and folded. */
struct ratio {
	const char *path, *link;
	unsigned int size, n, wins; /* wins: rounds with polling >= 1.0x */
	double r[MAX_ROUNDS], median, min, max;
};

/* The guest's channel counters, summed over both guests of a row. */
static void guest_chan_stats(struct guest *a, struct guest *b,
			     struct ovb_chan_stats *sum)
{
	struct guest *g[2] = { a, b };

	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < 2; i++) {
		struct ovb_chan_stats st;

		if (!g[i] || (i && g[1] == g[0]))
			continue;
		ovb_chan_get_stats(ovb_vsc_dev_chan(g[i]->drv.dev[0]), &st);
		sum->spin_hits += st.spin_hits;
		sum->adapt_hits += st.adapt_hits;
		sum->sleeps += st.sleeps;
		sum->spin_crowded += st.spin_crowded;
	}
}

/* One guest's channel counters (zeros for the host's endpoint, NULL). */
static void guest_stats(struct guest *g, struct ovb_chan_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (g)
		ovb_chan_get_stats(ovb_vsc_dev_chan(g->drv.dev[0]), st);
}

/* One guest's worker over a run: what came in, its sleeps, its spins. */
static void print_guest(const char *who, const struct ovb_chan_stats *a,
			const struct ovb_chan_stats *b)
{
	printf("  %s guest: %llu packets in, %llu out, %llu signals in, %llu "
	       "out, %llu sleeps, %llu adaptive hits, %.3f s spinning\n", who,
	       (unsigned long long)(b->pkts_in - a->pkts_in),
	       (unsigned long long)(b->pkts_out - a->pkts_out),
	       (unsigned long long)(b->signals_in - a->signals_in),
	       (unsigned long long)(b->signals_out - a->signals_out),
	       (unsigned long long)(b->sleeps - a->sleeps),
	       (unsigned long long)(b->adapt_hits - a->adapt_hits),
	       (double)(b->adapt_spin_us - a->adapt_spin_us) / 1e6);
}

/*
 * The single row's detail (`bench/net J ROW`): the host's batches and slot
 * waits, and each guest's worker on its own (sender's: completions of its
 * sends; receiver's: the frames), where guest_chan_stats sums them.
 */
static void print_detail(const struct ctl_rep *h0, const struct ctl_rep *h1,
			 const struct ovb_chan_stats *t0,
			 const struct ovb_chan_stats *t1,
			 const struct ovb_chan_stats *r0,
			 const struct ovb_chan_stats *r1)
{
	printf("  host: %llu batches to guests, %llu reaps short of slots, "
	       "%llu slot waits that ran out\n",
	       (unsigned long long)(h1->batches - h0->batches),
	       (unsigned long long)(h1->reaps - h0->reaps),
	       (unsigned long long)(h1->timeouts - h0->timeouts));
	if (t0)
		print_guest("sending", t0, t1);
	if (r0)
		print_guest("receiving", r0, r1);
}

/*
 * Move @r->size-byte frames for RUN_NS: from guest @tx, or from the host's
 * endpoint when @tx is NULL; count what reached guest @rx, or the host's
 * endpoint when @rx is NULL.  Packets/s is what arrived over the time
 * from the first send to the count after the settle time.
 */
static int run(struct result *r, struct host *h, struct guest *tx,
	       struct guest *rx, const uint8_t *dst, const uint8_t *src,
	       unsigned int round)
{
	struct ctl_req rq = { .op = CTL_STATS };
	struct ctl_rep before, after;
	struct ovb_chan_stats c0, c1, g0[2], g1[2];
	uint64_t cpu0, cpu1;
	uint64_t start, end, rx0 = rx ? __atomic_load_n(&rx->rx,
							 __ATOMIC_ACQUIRE) : 0;
	uint8_t f[1514];
	char shape[64];

	snprintf(shape, sizeof(shape), "%s/%s/%u", r->path, r->mode, r->size);
	if (only && strcmp(only, shape)) {
		r->pps = -1; /* not measured */
		return 0;
	}
	if (host_ctl(h, &rq, &before))
		return -EPIPE;
	guest_chan_stats(tx, rx, &c0);
	guest_stats(tx, &g0[0]);
	guest_stats(rx, &g0[1]);
	cpu0 = cpu_ns();
	start = now_ns();
	if (tx) {
		struct ovb_netvsc_frame b[64];

		frame(f, r->size, dst, src);
		for (int i = 0; i < 64; i++)
			b[i] = (struct ovb_netvsc_frame){ f, r->size, NULL };
		r->sent = 0;
		do {
			/* A burst, as testpmd's txonly sends to virtio-user. */
			if (burst)
				ovb_netvsc_send_burst(tx->nic, 0, b, 64, false);
			else
				for (int i = 0; i < 64; i++)
					ovb_netvsc_send(tx->nic, 0, f, r->size,
							NULL, i < 63);
			r->sent += 64;
		} while (now_ns() - start < run_ns);
	} else {
		struct ctl_rep rp;

		rq = (struct ctl_req){ .op = CTL_SOURCE, .size = r->size,
				       .ns = run_ns };
		memcpy(rq.dst, dst, 6);
		memcpy(rq.src, src, 6);
		if (host_ctl(h, &rq, &rp))
			return -EPIPE;
		r->sent = rp.sent;
	}
	usleep(SETTLE_US);
	rq.op = CTL_STATS;
	if (host_ctl(h, &rq, &after))
		return -EPIPE;
	end = now_ns();
	cpu1 = cpu_ns();
	guest_chan_stats(tx, rx, &c1);
	guest_stats(tx, &g1[0]);
	guest_stats(rx, &g1[1]);
	r->got = rx ? __atomic_load_n(&rx->rx, __ATOMIC_ACQUIRE) - rx0
		    : after.sunk - before.sunk;
	r->dropped = after.no_buffer - before.no_buffer;
	r->pps = (double)r->got * 1e9 / (double)(end - start);
	r->gbps = r->pps * r->size * 8 / 1e9;
	/* The host's CPU counts too when it is another process. */
	cpu1 -= cpu0;
	if (h->ctl >= 0)
		cpu1 += after.cpu_ns - before.cpu_ns;
	r->cpus = (double)cpu1 / (double)(end - start);
	r->per_cpu_s = cpu1 ? (double)r->got * 1e9 / (double)cpu1 : 0;
	printf("%-7s %-13s %-9s %5u B #%u %12.0f pkt/s %8.3f Gbit/s  (%llu "
	       "sent, %llu received, %llu dropped by netvsp; %.2f CPUs, %.2f "
	       "M frames per CPU-s; guest workers: %llu polling hits, %llu "
	       "adaptive hits, %llu crowded spins, %llu sleeps)\n", r->link,
	       r->path, r->mode, r->size, round + 1, r->pps, r->gbps,
	       (unsigned long long)r->sent, (unsigned long long)r->got,
	       (unsigned long long)r->dropped, r->cpus, r->per_cpu_s / 1e6,
	       (unsigned long long)(c1.spin_hits - c0.spin_hits),
	       (unsigned long long)(c1.adapt_hits - c0.adapt_hits),
	       (unsigned long long)(c1.spin_crowded - c0.spin_crowded),
	       (unsigned long long)(c1.sleeps - c0.sleeps));
	if (only)
		print_detail(&before, &after, tx ? g0 : NULL, tx ? g1 : NULL,
			     rx ? g0 + 1 : NULL, rx ? g1 + 1 : NULL);
	fflush(stdout);
	return 0;
}

/* Polling mode's spin in the polling rows, as netvsc's poll_us. */
#define POLL_US 200

/* Median of @n values (sorts @v). */
static double median(double *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/*
 * One row's runs folded into @out: the median of pps, CPUs and frames
 * per CPU-second, sums of the counts, the range of pps.
 */
static void fold(struct result *out, struct result *runs, unsigned int n)
{
	double pps[MAX_ROUNDS], cpus[MAX_ROUNDS], pcs[MAX_ROUNDS];

	*out = runs[0];
	out->sent = out->got = out->dropped = 0;
	out->pps_min = out->pps_max = runs[0].pps;
	for (unsigned int i = 0; i < n; i++) {
		pps[i] = runs[i].pps;
		cpus[i] = runs[i].cpus;
		pcs[i] = runs[i].per_cpu_s;
		out->sent += runs[i].sent;
		out->got += runs[i].got;
		out->dropped += runs[i].dropped;
		out->runs_pps[i] = runs[i].pps;
		if (runs[i].pps < out->pps_min)
			out->pps_min = runs[i].pps;
		if (runs[i].pps > out->pps_max)
			out->pps_max = runs[i].pps;
	}
	out->nruns = n;
	out->pps = median(pps, n);
	out->gbps = out->pps * out->size * 8 / 1e9;
	out->cpus = median(cpus, n);
	out->per_cpu_s = median(pcs, n);
}

/*
 * Every shape in both modes against @h: socket at @path, or inproc.  The
 * two modes of a shape run interleaved on the same two guests, @rounds
 * times (interrupt first in odd rounds, polling first in even ones):
 * only the guests' channel mode changes between them (ovb_netvsc_set_
 * poll), so both see the same load, the same memory and the same warm
 * caches.  Each round gives one polling/interrupt ratio.
 */
static int run_link(struct host *h, const char *path, struct result *res,
		    unsigned int *nres, struct ratio *rat, unsigned int *nrat)
{
	static const char *const paths[3] = { "guest->host", "host->guest",
					      "guest->guest" };
	static const char *const mnames[2] = { "interrupt", "polling" };
	const char *lname = path ? "socket" : "inproc";
	struct ctl_req rq = { .op = CTL_LEARN, .size = 64 };
	struct ctl_rep rp;
	struct guest g[2];
	uint8_t f[64];
	int rc = 0;

	memset(g, 0, sizeof(g));
	for (int i = 0; i < 2 && !rc; i++)
		rc = guest_up(&g[i], i, h, path);
	if (rc) {
		fprintf(stderr, "bench/net: %s guest: %s\n", lname,
			strerror(-rc));
		goto out;
	}
	/*
	 * Teach the switch every MAC, so nothing floods: the host's endpoint
	 * and both guests each send one frame.
	 */
	memcpy(rq.dst, g[0].info.mac, 6);
	memcpy(rq.src, host_mac, 6);
	rc = host_ctl(h, &rq, &rp);
	for (int i = 0; i < 2; i++) {
		frame(f, 64, host_mac, g[i].info.mac);
		ovb_netvsc_send(g[i].nic, 0, f, 64, NULL, false);
	}
	usleep(SETTLE_US);
	for (unsigned int s = 0; s < 2 && !rc; s++) {
		for (unsigned int p = 0; p < 3 && !rc; p++) {
			struct result runs[2][MAX_ROUNDS];
			struct guest *tx = p == 1 ? NULL : &g[0];
			struct guest *rx = p == 0 ? NULL : &g[p - 1];
			const uint8_t *dst = p == 0 ? host_mac
					     : g[p - 1].info.mac;
			const uint8_t *src = p == 1 ? host_mac : g[0].info.mac;
			unsigned int n = 0;

			for (unsigned int k = 0; k < rounds && !rc; k++) {
				for (unsigned int j = 0; j < 2 && !rc; j++) {
					unsigned int m = (j + k) % 2;
					struct result *r = &runs[m][k];

					*r = (struct result){
						.path = paths[p],
						.mode = mnames[m],
						.link = lname,
						.size = s ? 1500 : 64 };
					for (int i = 0; i < 2; i++)
						ovb_netvsc_set_poll(g[i].nic,
							m ? POLL_US : 0);
					rc = run(r, h, tx, rx, dst, src, k);
				}
				if (!rc)
					n = k + 1;
			}
			/* A single row asked for: the other mode did not run. */
			for (unsigned int m = 0; m < 2 && n && !rc; m++)
				if (runs[m][0].pps >= 0)
					fold(&res[(*nres)++], runs[m], n);
			if (!n || rc || only)
				continue;
			double q[MAX_ROUNDS];
			struct ratio *x = &rat[(*nrat)++];

			*x = (struct ratio){ .path = paths[p], .link = lname,
					     .size = s ? 1500 : 64, .n = n };
			for (unsigned int k = 0; k < n; k++) {
				q[k] = x->r[k] = runs[0][k].pps > 0
					? runs[1][k].pps / runs[0][k].pps : 0;
				x->min = !k || q[k] < x->min ? q[k] : x->min;
				x->max = !k || q[k] > x->max ? q[k] : x->max;
				x->wins += q[k] >= 1.0;
			}
			x->median = median(q, n);
		}
	}
out:
	for (int i = 0; i < 2; i++)
		guest_down(&g[i]);
	return rc;
}


/* The summary: each row's median and range, then polling/interrupt. */
static void summary(const struct result *res, unsigned int nres,
		    const struct ratio *rat, unsigned int nrat)
{
	printf("\nmedians of %u runs per row [min-max], Mpps:\n", rounds);
	for (unsigned int i = 0; i < nres; i++)
		printf("%-7s %-13s %-9s %5u B %8.3f [%.3f-%.3f]  %.2f CPUs, "
		       "%.2f M frames per CPU-s, %llu dropped\n", res[i].link,
		       res[i].path, res[i].mode, res[i].size, res[i].pps / 1e6,
		       res[i].pps_min / 1e6, res[i].pps_max / 1e6, res[i].cpus,
		       res[i].per_cpu_s / 1e6,
		       (unsigned long long)res[i].dropped);
	if (!nrat)
		return;
	printf("\npolling / interrupt, the two run back to back in each "
	       "round: median [min-max] (rounds with polling >= 1.0x)\n");
	for (unsigned int i = 0; i < nrat; i++)
		printf("%-7s %-13s %5u B %6.2f [%.2f-%.2f] (%u of %u)\n",
		       rat[i].link, rat[i].path, rat[i].size, rat[i].median,
		       rat[i].min, rat[i].max, rat[i].wins, rat[i].n);
}

static void json_list(FILE *js, const double *v, unsigned int n, int prec)
{
	fputc('[', js);
	for (unsigned int i = 0; i < n; i++) {
		fprintf(js, "%.*f", prec, v[i]);
		fputs(i + 1 < n ? ", " : "", js);
	}
	fputc(']', js);
}

int main(int argc, char **argv)
{
	struct host remote, local;
	struct result res[24];
	struct ratio rat[12];
	struct ctl_req quit = { .op = CTL_QUIT };
	unsigned int nres = 0, nrat = 0;
	const char *env;
	char path[108];
	pid_t pid;
	int rc, status = 0;
	FILE *js;

	signal(SIGPIPE, SIG_IGN);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--serve"))
		return serve(argv[2], argc == 4 ? (uint32_t)atoi(argv[3]) : 0);
	if ((env = getenv("NET_ROUNDS")) && atoi(env) > 0)
		rounds = atoi(env) > MAX_ROUNDS ? MAX_ROUNDS
						: (unsigned int)atoi(env);
	if ((env = getenv("NET_RECV_BUF_KB")) && atoi(env) > 0 &&
	    atoi(env) <= 1 << 20)
		recv_buf_kb = (uint32_t)atoi(env);
	if ((env = getenv("NET_SEND_ONE")) && *env == '1')
		burst = false;
	if ((env = getenv("NET_RUN_MS")) && atoi(env) > 0)
		run_ns = (uint64_t)atoi(env) * 1000000ull;
	if (argc > 2) {
		only = argv[2];
		rounds = 1;
		/* 2 s, unless NET_RUN_MS asks for the full run's length */
		if (!((env = getenv("NET_RUN_MS")) && atoi(env) > 0))
			run_ns = 4 * RUN_NS;
	}
	snprintf(path, sizeof(path), "/tmp/ovb-bench-net-%d.sock",
		 (int)getpid());
	pinned = pin_plan(pin_cpu, &pin_all);
	pid = host_fork(path, &remote);
	if (pid < 0) {
		fprintf(stderr, "bench/net: cannot fork the host\n");
		return 1;
	}
	if (pinned && pin_self(pin_cpu[1], &pin_all)) {
		fprintf(stderr, "bench/net: cannot pin the guests to CPU %d\n",
			pin_cpu[1]);
		pinned = false;
	}
	if (pinned)
		printf("host process on CPU %d, guests on CPU %d (NET_PIN=0: "
		       "the scheduler places them)\n", pin_cpu[0], pin_cpu[1]);
	rc = run_link(&remote, path, res, &nres, rat, &nrat);
	if (pinned) /* the inproc rows: the scheduler's */
		pin_self(-1, &pin_all);
	send(remote.ctl, &quit, sizeof(quit), 0);
	close(remote.ctl);
	waitpid(pid, &status, 0);
	if (rc || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench/net: two-process run failed (%s, host "
			"status %d)\n", rc ? strerror(-rc) : "ok", status);
		return 1;
	}
	/* NET_SOCKET_ONLY=1: the two-process rows alone. */
	if (!only && !((env = getenv("NET_SOCKET_ONLY")) && atoi(env))) {
		if (host_init(&local, 0))
			return 1;
		rc = run_link(&local, NULL, res, &nres, rat, &nrat);
		host_fini(&local);
		if (rc)
			return 1;
	}
	summary(res, nres, rat, nrat);

	js = fopen(argc > 1 ? argv[1] : "net.json", "w");
	if (!js)
		return 1;
	fprintf(js, "{\"bench\": \"net\", \"rounds\": %u, \"pinned\": %s, "
		"\"results\": [\n", rounds, pinned ? "true" : "false");
	for (unsigned int i = 0; i < nres; i++) {
		fprintf(js, "  {\"path\": \"%s\", \"mode\": \"%s\", "
			"\"link\": \"%s\", \"frame\": %u, \"pps\": %.0f, "
			"\"gbps\": %.4f, \"sent\": %llu, \"received\": %llu, "
			"\"dropped\": %llu, \"cpus\": %.3f, "
			"\"frames_per_cpu_s\": %.0f, \"pps_min\": %.0f, "
			"\"pps_max\": %.0f, \"runs_pps\": ",
			res[i].path, res[i].mode, res[i].link, res[i].size,
			res[i].pps, res[i].gbps,
			(unsigned long long)res[i].sent,
			(unsigned long long)res[i].got,
			(unsigned long long)res[i].dropped, res[i].cpus,
			res[i].per_cpu_s, res[i].pps_min, res[i].pps_max);
		json_list(js, res[i].runs_pps, res[i].nruns, 0);
		fprintf(js, "}%s\n", i + 1 < nres ? "," : "");
	}
	/* Polling over interrupt mode, per round (the modes interleaved). */
	fprintf(js, "], \"polling_over_interrupt\": [\n");
	for (unsigned int i = 0; i < nrat; i++) {
		fprintf(js, "  {\"path\": \"%s\", \"link\": \"%s\", "
			"\"frame\": %u, \"median\": %.3f, \"min\": %.3f, "
			"\"max\": %.3f, \"rounds_at_least_1\": %u, "
			"\"per_round\": ", rat[i].path, rat[i].link,
			rat[i].size, rat[i].median, rat[i].min, rat[i].max,
			rat[i].wins);
		json_list(js, rat[i].r, rat[i].n, 3);
		fprintf(js, "}%s\n", i + 1 < nrat ? "," : "");
	}
	fprintf(js, "]}\n");
	fclose(js);
	return 0;
}
