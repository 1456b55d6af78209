// SPDX-License-Identifier: MIT
/*
 * bench/tapfwd: the floor of any design whose guest NIC is a TAP driven by
 * a user process.  Two TAPs, each in a network namespace of its own, and
 * for each direction and queue one thread that reads a whole frame with
 * its virtio-net header from one TAP and writes it, unchanged, to the
 * other: no bus, no switch, one TAP read and one TAP write per frame, as
 * few as such a design can pay.  With TSO and checksum offload on (the
 * same TUNSETOFFLOAD flags our guests set) a frame is a GSO frame of up
 * to gso_max_size bytes, so the kernel's per-frame work is what ours
 * pays too.  -c copies every frame once more in user space (read into
 * one buffer, memcpy into another, write that), to measure what one copy
 * costs on this path.  bench/net-peer.sh runs it next to our TAP guests.
 *
 *   tapfwd [-q QUEUES] [-c] IFA@NETNS_A IFB@NETNS_B
 *
 * Creates the TAPs (IFF_VNET_HDR, IFF_MULTI_QUEUE when QUEUES > 1) in the
 * namespaces (/run/netns/NAME, as `ip netns add` makes them), prints
 * "ready" and forwards until SIGINT or SIGTERM, then prints the frames
 * and bytes moved each way and exits 0.  Addresses, MTU and link state
 * are the caller's (`ip -n NETNS ...`).  Layer: benchmarks.  Interfaces:
 * tuntap.rst, linux/if_tun.h, linux/virtio_net.h, setns(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench/tap-open.h"

#define MAX_QUEUES 8
/* A virtio-net header and the largest GSO frame a TAP hands out. */
#define BUF_SIZE (sizeof(struct virtio_net_hdr) + 65536 + 4096)

struct dir {
	int in, out;   /* read from in, write to out */
	bool copy;     /* one extra user-space copy per frame */
	pthread_t th;
	uint64_t frames, bytes, write_errors;
};

static void *forward(void *arg)
{
	struct dir *d = arg;
	char *a = malloc(BUF_SIZE), *b = d->copy ? malloc(BUF_SIZE) : a;
	ssize_t n;

	if (!a || !b) {
		fprintf(stderr, "tapfwd: out of memory\n");
		exit(1);
	}
	for (;;) {
		n = read(d->in, a, BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("tapfwd: read");
			exit(1);
		}
		if ((size_t)n <= sizeof(struct virtio_net_hdr))
			continue;
		if (d->copy)
			memcpy(b, a, (size_t)n);
		/* The header and frame exactly as read. */
		if (write(d->out, b, (size_t)n) != n) {
			__atomic_fetch_add(&d->write_errors, 1,
					   __ATOMIC_RELAXED);
			continue;
		}
		__atomic_fetch_add(&d->frames, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&d->bytes,
				   (uint64_t)n - sizeof(struct virtio_net_hdr),
				   __ATOMIC_RELAXED);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tapfwd [-q QUEUES] [-c] IFA@NETNS_A IFB@NETNS_B\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct dir dirs[2 * MAX_QUEUES];
	int fa[MAX_QUEUES], fb[MAX_QUEUES], opt, rc, sig;
	unsigned int queues = 1, nd;
	bool copy = false;
	sigset_t set;

	while ((opt = getopt(argc, argv, "q:c")) != -1) {
		if (opt == 'q')
			queues = (unsigned int)strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			copy = true;
		else
			usage();
	}
	if (argc - optind != 2 || queues < 1 || queues > MAX_QUEUES)
		usage();
	if ((rc = bench_tap_open_in(argv[optind], queues, fa, false)) != 0 ||
	    (rc = bench_tap_open_in(argv[optind + 1], queues, fb, false)) != 0) {
		fprintf(stderr, "tapfwd: %s: %s\n", argv[optind + (rc ? 1 : 0)],
			strerror(-rc));
		return 1;
	}
	/* Signals go to the main thread only, which waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	nd = 2 * queues;
	for (unsigned int q = 0; q < queues; q++) {
		dirs[2 * q] = (struct dir){ .in = fa[q], .out = fb[q],
					    .copy = copy };
		dirs[2 * q + 1] = (struct dir){ .in = fb[q], .out = fa[q],
						.copy = copy };
	}
	for (unsigned int i = 0; i < nd; i++)
		if (pthread_create(&dirs[i].th, NULL, forward, &dirs[i])) {
			fprintf(stderr, "tapfwd: cannot start a thread\n");
			return 1;
		}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	for (unsigned int i = 0; i < nd; i++)
		printf("queue %u %s frames %llu bytes %llu write_errors %llu\n",
		       i / 2, i % 2 ? "b->a" : "a->b",
		       (unsigned long long)__atomic_load_n(&dirs[i].frames,
							   __ATOMIC_RELAXED),
		       (unsigned long long)__atomic_load_n(&dirs[i].bytes,
							   __ATOMIC_RELAXED),
		       (unsigned long long)__atomic_load_n(
			       &dirs[i].write_errors, __ATOMIC_RELAXED));
	fflush(stdout);
	/* The forwarding threads sit in read(): end them with the process. */
	_exit(0);
}
