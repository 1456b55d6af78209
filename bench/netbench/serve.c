// SPDX-License-Identifier: MIT
/*
 * `bench/net --serve SOCK [POLL_US]`: bench/net's host (switch, netvsp, the
 * endpoint) serving SOCK for a guest the bench does not hold, driven over
 * stdin; bench/net-peer.sh runs DPDK's netvsc PMD against it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"

/*
 * The endpoint's MAC here is testpmd's default --eth-peer for port 0, so a
 * txonly testpmd addresses its frames to the endpoint without options of
 * its own: the switch delivers them by the learned MAC, nothing floods.
 */
static const uint8_t serve_mac[6] = { 0x02, 0, 0, 0, 0, 0 };

struct serve {
	struct host h;
	pthread_mutex_t mu; /* one command at a time; teardown takes it */
	pthread_t gen;
	bool gen_on;
	bool gen_stop; /* atomic */
	unsigned int size;
	uint8_t dst[6];
	uint64_t sent; /* atomic */
};

/* The generator: bench/net's host->guest source, until told to stop. */
static void *serve_gen(void *arg)
{
	struct serve *s = arg;
	uint8_t f[1514];
	struct ovb_vswitch_frame run[64];

	frame(f, s->size, s->dst, serve_mac);
	run_fill(run, f, s->size);
	while (!__atomic_load_n(&s->gen_stop, __ATOMIC_ACQUIRE)) {
		source_run(s->h.sw, s->h.port, run, f, s->size);
		__atomic_fetch_add(&s->sent, 64, __ATOMIC_RELEASE);
	}
	return NULL;
}

static uint64_t serve_gen_stop(struct serve *s)
{
	if (s->gen_on) {
		__atomic_store_n(&s->gen_stop, true, __ATOMIC_RELEASE);
		pthread_join(s->gen, NULL);
		s->gen_on = false;
	}
	return __atomic_load_n(&s->sent, __ATOMIC_ACQUIRE);
}

/* Teach the switch the endpoint's MAC: a frame to itself goes nowhere. */
static void serve_learn(struct serve *s)
{
	uint8_t f[64];

	frame(f, sizeof(f), serve_mac, serve_mac);
	ovb_vswitch_input(s->h.sw, s->h.port, f, sizeof(f), NULL);
}

/*
 * Commands on stdin, one reply line each on stdout:
 *   stats            "sunk N from_guest N to_guest N no_buffer N nics N
 *                    ns T": frames the endpoint took, netvsp's counters,
 *                    CLOCK_MONOTONIC ns
 *   gen SIZE MAC     start injecting SIZE-byte frames from the endpoint to
 *                    MAC (aa:bb:..), 64 per batch, as fast as the switch
 *                    takes them: "ok"
 *   stop             stop the generator: "sent N"
 * EOF or "quit" stops the host.
 */
static void *serve_ctl(void *arg)
{
	struct serve *s = arg;
	char line[128];

	while (fgets(line, sizeof(line), stdin) && strncmp(line, "quit", 4)) {
		struct ovb_netvsp_stats st;
		unsigned int size, m[6];

		pthread_mutex_lock(&s->mu);
		if (!strncmp(line, "stats", 5)) {
			serve_learn(s);
			ovb_netvsp_get_stats(s->h.vsp, &st);
			printf("sunk %" PRIu64 " from_guest %" PRIu64
			       " to_guest %" PRIu64 " no_buffer %" PRIu64
			       " nics %" PRIu64 " ns %" PRIu64 "\n",
			       __atomic_load_n(&s->h.sunk, __ATOMIC_ACQUIRE),
			       st.from_guest, st.to_guest, st.no_buffer,
			       st.nics, now_ns());
		} else if (sscanf(line, "gen %u %x:%x:%x:%x:%x:%x", &size,
				  &m[0], &m[1], &m[2], &m[3], &m[4],
				  &m[5]) == 7 && size >= 60 && size <= 1514 &&
			   !s->gen_on) {
			s->size = size;
			for (int i = 0; i < 6; i++)
				s->dst[i] = (uint8_t)m[i];
			s->gen_stop = false;
			s->sent = 0;
			s->gen_on = !pthread_create(&s->gen, NULL, serve_gen, s);
			printf("%s\n", s->gen_on ? "ok" : "error: no thread");
		} else if (!strncmp(line, "stop", 4)) {
			printf("sent %" PRIu64 "\n", serve_gen_stop(s));
		} else {
			printf("error: stats, gen SIZE MAC, stop or quit\n");
		}
		fflush(stdout);
		pthread_mutex_unlock(&s->mu);
	}
	ovb_link_host_stop(fork_link);
	return NULL;
}

int serve(const char *path, uint32_t poll_us)
{
	static struct serve s;
	pthread_t th;
	int rc;

	pthread_mutex_init(&s.mu, NULL);
	signal(SIGTERM, host_sig);
	signal(SIGINT, host_sig);
	if (host_init(&s.h, poll_us) ||
	    (rc = ovb_link_host_create(s.h.srv, path, &fork_link))) {
		fprintf(stderr, "bench/net: cannot serve on %s\n", path);
		return 1;
	}
	serve_learn(&s);
	if (pthread_create(&th, NULL, serve_ctl, &s))
		return 1;
	printf("ready\n");
	fflush(stdout);
	rc = ovb_link_host_run(fork_link);
	/* The control thread may sit in fgets(): it is not joined. */
	pthread_mutex_lock(&s.mu);
	serve_gen_stop(&s);
	ovb_link_host_destroy(fork_link);
	host_fini(&s.h);
	return rc ? 1 : 0;
}
