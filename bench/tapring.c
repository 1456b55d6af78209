// SPDX-License-Identifier: MIT
/*
 * bench/tapring: the floor of our design's shape for TCP between two TAP
 * guests, without the protocol.  Two TAPs in two network namespaces, as
 * bench/tapfwd has them, but the frames cross what our guests and host
 * cross: three processes, shared-memory rings and one copy.
 *
 *   A (guest a)  reads a frame (virtio-net header + GSO frame) from TAP a
 *                straight into one of its transmit buffers, which live in
 *                its "guest RAM" (a memfd), and posts (buffer, length) on
 *                its ring to H.
 *   H (host)     copies the frame from A's memory into a free receive slot
 *                of B's memory (the one copy, as netvsp's into the
 *                receiver's receive buffer), posts (slot, length) on its
 *                ring to B and hands A its buffer back on its ring to A.
 *   B (guest b)  writes the slot to TAP b and hands the slot back to H.
 *
 * The other direction (the ACKs) is the same with a and b swapped.  Each
 * process runs one thread per queue that serves both directions, as our
 * guests with `--tap-read worker` do: it drains its inbound ring(s), reads
 * its TAP after each frame it wrote and after each drain, and waits as our
 * stream channels wait (src/bus/chan_run.c): the rings are masked while it
 * drains; after a drain an adaptive spin (16 us after a sleep that was
 * over within 500 us, doubled by each spin that finds work up to 64 us,
 * halved by each that does not until it is gone, sched_yield every 64
 * rounds, the TAP looked at every 32 rounds); then unmask, re-check and
 * sleep in poll() on the ring's eventfd (and the TAP while a transmit
 * buffer is free).  A writer signals the eventfd only when the ring went
 * non-empty while its reader was not masked, i.e. asleep or about to
 * sleep: the rings are our VMBus rings (struct ovb_ring, src/core/ring.c),
 * whose contract says exactly that.  No NVSP or RNDIS framing, no switch,
 * no chains of receive slots (a slot holds a whole GSO frame), no RSS.
 *
 *   tapring [-q QUEUES] [--no-copy | --two] [--no-spin] IFA@NETNS_A IFB@NETNS_B
 *
 * --no-copy: H passes A's (buffer, length) on to B, which maps A's memory
 *            and writes the frame to its TAP from there; B's completion
 *            goes back through H.  Three processes, no copy.
 * --two:     no H: B reads A's ring itself and writes from A's memory,
 *            completing on its own ring, which A reads.  Two processes,
 *            one ring each way, no copy.
 * --no-spin: never spin, sleep after every drain (what the adaptive spin
 *            costs and buys).
 * Default against --no-copy is what the copy costs, --no-copy against
 * --two what the host's hop (a process, a ring and a hand-off) costs, and
 * --two against bench/tapfwd what the partition split costs.
 *
 * Creates the TAPs (IFF_VNET_HDR, IFF_MULTI_QUEUE when QUEUES > 1, the
 * offloads our guests set) in the namespaces (/run/netns/NAME), prints
 * "ready" and forwards until SIGINT or SIGTERM; then each guest prints,
 * as tapfwd does, the frames and bytes it wrote to its TAP per queue
 * ("queue Q a->b frames N bytes N write_errors N": B writes a->b), H its
 * copies, and the process exits 0 within a second or two.  A peer that
 * breaks the message rules (bad index, length or op) ends the bench with
 * exit status 1 and the reason.  Addresses, MTU, gso_max_size and link
 * state are the caller's (bench/net-peer.sh, tests/system/tapring.sh).
 * This file sets the processes up; the data path (messages, guest, host,
 * the worker's wait) is bench/tapringbench/path.c.
 * Layer: benchmarks.  Interfaces: tuntap.rst, linux/if_tun.h, memfd(2),
 * eventfd(2), docs/wire.md B5 (the ring's signalling).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/tap-open.h"
#include "bench/tapringbench/tapring.h"
#include "openvmbus/deadline.h"
#include "openvmbus/ring.h"

enum { TR_GUEST_A, TR_GUEST_B, TR_HOST };

/* What the parent sets up before it forks. */
struct tr_setup {
	unsigned int queues;
	bool copy;            /* the host copies (not --no-copy, --two) */
	bool host;            /* there is a host process (not --two) */
	bool no_spin;         /* --no-spin: sleep after every drain */
	const char *spec[2];  /* "IF@NETNS" of guests a and b */
	int memfd[2];         /* the guests' memory */
	size_t mem_bytes;     /* of each */
	int efd_out[2][MAX_QUEUES]; /* signals the reader of a guest's ring */
	int efd_in[2][MAX_QUEUES];  /* signals the guest: host's ring to it */
};

/* ---- setup ---- */

static uint8_t *tr_map(const struct tr_setup *s, unsigned int g)
{
	void *p = mmap(NULL, s->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->memfd[g], 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The guests' memory (memfds, as our socket link's guest RAM) with every
 * ring's control page initialised as its guest does, and the eventfds.
 */
static int tr_setup_create(struct tr_setup *s)
{
	s->mem_bytes = s->queues * Q_BYTES;
	for (unsigned int g = 0; g < 2; g++) {
		struct ovb_ring r;
		uint8_t *mem;

		s->memfd[g] = memfd_create(g ? "tapring-b" : "tapring-a", 0);
		if (s->memfd[g] < 0 ||
		    ftruncate(s->memfd[g], (off_t)s->mem_bytes) < 0)
			return -errno;
		if (!(mem = tr_map(s, g)))
			return -errno;
		for (unsigned int q = 0; q < s->queues; q++)
			for (unsigned int k = 0; k < 2; k++) {
				uint8_t *ctl = tr_ring(mem, q, k);

				ovb_ring_attach(&r, ctl, ctl + 4096,
						RING_BYTES, "init");
				ovb_ring_init_control(&r);
			}
		munmap(mem, s->mem_bytes);
		for (unsigned int q = 0; q < s->queues; q++) {
			s->efd_out[g][q] = eventfd(0, EFD_NONBLOCK);
			s->efd_in[g][q] = eventfd(0, EFD_NONBLOCK);
			if (s->efd_out[g][q] < 0 || s->efd_in[g][q] < 0)
				return -errno;
		}
	}
	return 0;
}

static void tr_setup_close(struct tr_setup *s)
{
	for (unsigned int g = 0; g < 2; g++) {
		close(s->memfd[g]);
		for (unsigned int q = 0; q < s->queues; q++) {
			close(s->efd_out[g][q]);
			close(s->efd_in[g][q]);
		}
	}
}

static void attach(struct tr_worker *w, unsigned int k, uint8_t *ctl,
		   const char *what)
{
	char name[40];

	snprintf(name, sizeof(name), "%.23s %.15s", w->name, what);
	if (ovb_ring_attach(&w->ring[k], ctl, ctl + 4096, RING_BYTES, name))
		tr_die(w->name, "cannot attach a ring");
}

/* Guest @g: its TAP queues, its memory (and the other's without a copy). */
static void setup_guest(struct tr_setup *s, unsigned int g,
			struct tr_worker *ws)
{
	uint8_t *mem = tr_map(s, g), *peer = s->copy ? NULL : tr_map(s, 1 - g);
	int taps[MAX_QUEUES], rc;

	if (!mem || (!s->copy && !peer))
		tr_die(g ? "guest b" : "guest a", "cannot map guest memory");
	if ((rc = bench_tap_open_in(s->spec[g], s->queues, taps, true)) != 0) {
		fprintf(stderr, "tapring: %s: %s\n", s->spec[g], strerror(-rc));
		_exit(1);
	}
	for (unsigned int q = 0; q < s->queues; q++) {
		struct tr_worker *w = &ws[q];

		snprintf(w->name, sizeof(w->name), "guest %c q%u",
			 g ? 'b' : 'a', q);
		w->dir = g ? "a->b" : "b->a";
		w->q = q;
		w->no_spin = s->no_spin;
		w->tap = taps[q];
		w->mem = mem;
		w->peer_mem = peer;
		w->own_slots = s->copy;
		for (uint32_t i = 0; i < NTX; i++)
			w->tx_free[w->ntx_free++] = i;
		attach(w, 0, tr_ring(mem, q, 0), "out");
		w->out[0] = &w->ring[0];
		w->out_fd[0] = s->efd_out[g][q];
		if (s->host) { /* the host's ring to us */
			attach(w, 1, tr_ring(mem, q, 1), "in");
			w->in_fd[0] = s->efd_in[g][q];
		} else { /* --two: the other guest's ring */
			attach(w, 1, tr_ring(peer, q, 0), "in");
			w->in_fd[0] = s->efd_out[1 - g][q];
		}
		w->in[0] = &w->ring[1];
		w->nin = 1;
	}
}

/* The host: both guests' memory, one worker per queue serving both. */
static void setup_host(struct tr_setup *s, struct tr_worker *ws)
{
	for (unsigned int q = 0; q < s->queues; q++) {
		struct tr_worker *w = &ws[q];

		snprintf(w->name, sizeof(w->name), "host q%u", q);
		w->q = q;
		w->no_spin = s->no_spin;
		w->tap = -1;
		w->copy = s->copy;
		w->nin = 2;
		for (unsigned int g = 0; g < 2; g++) {
			if (!(w->gmem[g] = q ? ws[0].gmem[g] : tr_map(s, g)))
				tr_die(w->name, "cannot map guest memory");
			attach(w, 2 * g, tr_ring(w->gmem[g], q, 0),
			       g ? "from b" : "from a");
			attach(w, 2 * g + 1, tr_ring(w->gmem[g], q, 1),
			       g ? "to b" : "to a");
			w->in[g] = &w->ring[2 * g];
			w->out[g] = &w->ring[2 * g + 1];
			w->in_fd[g] = s->efd_out[g][q];
			w->out_fd[g] = s->efd_in[g][q];
			w->nrx = RX_TOTAL / s->queues;
			for (uint32_t i = 0; i < w->nrx; i++)
				w->slot_free[g][w->nslot_free[g]++] = i;
		}
	}
}

/* ---- processes ---- */

static void usage(void)
{
	fprintf(stderr, "usage: tapring [-q QUEUES] [--no-copy | --two] "
			"[--no-spin] IFA@NETNS_A IFB@NETNS_B\n");
	exit(2);
}

/* Wait for SIGINT/SIGTERM (blocked), print the counters, exit 0. */
static void child_wait(struct tr_worker *ws, unsigned int nw, bool host)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	for (unsigned int i = 0; i < nw; i++) {
		struct tr_worker *w = &ws[i];

		if (host)
			printf("host queue %u copies %llu bytes %llu "
			       "slot_waits %llu", w->q,
			       (unsigned long long)w->copies,
			       (unsigned long long)w->copy_bytes,
			       (unsigned long long)w->slot_waits);
		else
			printf("queue %u %s frames %llu bytes %llu "
			       "write_errors %llu", w->q, w->dir,
			       (unsigned long long)w->frames,
			       (unsigned long long)w->bytes,
			       (unsigned long long)w->write_errors);
		printf(" sleeps %llu signals_in %llu adapt_hits %llu\n",
		       (unsigned long long)w->sleeps,
		       (unsigned long long)w->signals_in,
		       (unsigned long long)w->adapt_hits);
	}
	fflush(stdout);
	/* The workers sit in poll() or spin: end them with the process. */
	_exit(0);
}

/* Start one thread per worker, tell the parent we are up, then wait. */
static void child_run(struct tr_worker *ws, unsigned int nw, bool host,
		      int ready)
{
	char c = 1;

	for (unsigned int i = 0; i < nw; i++)
		if (pthread_create(&ws[i].th, NULL, tr_worker_main, &ws[i]))
			tr_die(ws[i].name, "cannot start a thread");
	if (write(ready, &c, 1) != 1)
		tr_die(ws[0].name, "parent gone");
	close(ready);
	child_wait(ws, nw, host);
}

static pid_t spawn(struct tr_setup *s, int role, int ready, int other)
{
	static struct tr_worker ws[MAX_QUEUES];
	pid_t pid = fork();

	if (pid)
		return pid;
	close(other);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (role == TR_HOST)
		setup_host(s, ws);
	else
		setup_guest(s, role == TR_GUEST_B, ws);
	child_run(ws, s->queues, role == TR_HOST, ready);
	return 0; /* not reached */
}

/* End the children (SIGTERM, then SIGKILL after 5 s), in order. */
static int reap(pid_t *pids, unsigned int n)
{
	int rc = 0, st;

	for (unsigned int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t t0 = ovb_now_us();
		pid_t r;

		if (pids[i] <= 0)
			continue;
		while ((r = waitpid(pids[i], &st, WNOHANG)) == 0 &&
		       ovb_now_us() - t0 < 5000000)
			usleep(10000);
		if (r == 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
			rc = 1;
		} else if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-copy", no_argument, NULL, 'n' },
		{ "two", no_argument, NULL, 't' },
		{ "no-spin", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 } };
	struct tr_setup s = { .queues = 1, .copy = true, .host = true };
	pid_t pids[3] = { 0, 0, 0 };
	int opt, sig, fds[2], rc = 0;
	unsigned int np = 0, up = 0;
	sigset_t set;
	char c;

	while ((opt = getopt_long(argc, argv, "q:", lo, NULL)) != -1) {
		if (opt == 'q')
			s.queues = (unsigned int)strtoul(optarg, NULL, 10);
		else if (opt == 'n')
			s.copy = false;
		else if (opt == 't')
			s.copy = s.host = false;
		else if (opt == 's')
			s.no_spin = true;
		else
			usage();
	}
	if (argc - optind != 2 || s.queues < 1 || s.queues > MAX_QUEUES)
		usage();
	s.spec[0] = argv[optind];
	s.spec[1] = argv[optind + 1];
	if ((rc = tr_setup_create(&s)) != 0) {
		fprintf(stderr, "tapring: setup: %s\n", strerror(-rc));
		return 1;
	}
	/* Signals reach the main threads only, which wait for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe2(fds, O_CLOEXEC))
		return 1;
	/* B first, so its a->b lines come first, as tapfwd's do. */
	pids[np++] = spawn(&s, TR_GUEST_B, fds[1], fds[0]);
	if (s.host)
		pids[np++] = spawn(&s, TR_HOST, fds[1], fds[0]);
	pids[np++] = spawn(&s, TR_GUEST_A, fds[1], fds[0]);
	close(fds[1]);
	tr_setup_close(&s);
	/* Each process says when it is up; a signal meanwhile ends us. */
	while (up < np) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		struct timespec zero = { 0, 0 };

		if (sigtimedwait(&set, NULL, &zero) > 0 ||
		    (poll(&p, 1, 100) > 0 && read(fds[0], &c, 1) != 1))
			break;
		up += p.revents & POLLIN ? 1 : 0;
	}
	if (up < np) {
		fprintf(stderr, "tapring: a process failed to start\n");
		reap(pids, np);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	if (sig == SIGCHLD)
		fprintf(stderr, "tapring: a process ended early\n");
	rc = reap(pids, np);
	return sig == SIGCHLD ? 1 : rc;
}
