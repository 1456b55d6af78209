// SPDX-License-Identifier: MIT
/*
 * netvsp on shared workers (cfg.workers, ovb_chan_group): a real server
 * with netvsp on a virtual switch and three real netvsc guests in one
 * process over the inproc link.  The host runs the queue-N channels of
 * every NIC on one thread (or all on one): the threads are counted and
 * named; frames go both ways at once between two NICs served by that
 * one thread, every byte checked, more of them than a receive buffer
 * holds (the thread must take the receiver's slot returns itself, never
 * wait for them), and the same with a worker per channel (two workers
 * each short of the other's slots); one guest's channel corrupt or
 * closed while two others keep exchanging frames on the same thread,
 * and the closed one reopened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "net/netvsc_priv.h"
#include "tests/lib/dispatch-fx.h"
#include "tests/lib/hostile.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define NG 3

/* What one guest received: frames checked as they arrive. */
struct rxcheck {
	uint32_t next[NG]; /* next sequence number expected from each */
	uint32_t ok, bad, misorder;
};

struct guest {
	struct nvfx_guest *fg; /* its link and NIC */
	struct ovb_netvsc_params p;
	struct rxcheck rx;
	uint8_t mac[6];
	int id;
};

struct net {
	struct nvfx fx;
	struct guest g[NG];
};

/* Length of frame @seq from guest @from: 60..1514, every size class. */
static uint32_t frame_len(int from, uint32_t seq)
{
	return 60 + (seq * 37 + (uint32_t)from * 101) % 1455;
}

/* Frame @seq from @src to @dst: ethertype, sender, sequence, pattern. */
static void make_frame(uint8_t *f, uint32_t len, const uint8_t *dst,
		       const uint8_t *src, int from, uint32_t seq)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	f[14] = (uint8_t)from;
	memcpy(f + 15, &seq, 4);
	for (uint32_t i = 19; i < len; i++)
		f[i] = (uint8_t)(i * 13 + seq * 7 + (uint32_t)from);
}

static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct guest *g = ctx;
	const uint8_t *f = frame;
	uint8_t want[1514];
	uint32_t seq;
	int from;

	(void)queue;
	(void)meta;
	if (len < 19 || f[12] != 0x88 || f[13] != 0xb5 || f[14] >= NG) {
		__atomic_fetch_add(&g->rx.bad, 1, __ATOMIC_RELAXED);
		return;
	}
	from = f[14];
	memcpy(&seq, f + 15, 4);
	make_frame(want, frame_len(from, seq), g->mac, f + 6, from, seq);
	if (len != frame_len(from, seq) || memcmp(want, f, len)) {
		__atomic_fetch_add(&g->rx.bad, 1, __ATOMIC_RELAXED);
		return;
	}
	/* One queue per guest here: frames of one sender come in order. */
	if (seq != g->rx.next[from])
		__atomic_fetch_add(&g->rx.misorder, 1, __ATOMIC_RELAXED);
	g->rx.next[from] = seq + 1;
	__atomic_fetch_add(&g->rx.ok, 1, __ATOMIC_RELEASE);
}

/* Reopen @g's NIC as it was first opened. */
static void guest_open(struct guest *g)
{
	assert_int_equal(ovb_netvsc_open(g->fg->drv.dev[0], &g->p,
					 &g->fg->nic), 0);
}

static struct net *net_new(enum ovb_netvsp_workers w, unsigned int queues,
			   uint32_t rxbuf)
{
	/*
	 * Backpressure waits bounded by 10 s, not 50 ms: a guest worker
	 * descheduled that long on a loaded machine (or under ASan) must not
	 * turn into drops the test would count.
	 */
	struct nvfx_opts o = { .cfg = { .workers = w, .rx_wait_ms = 10000 },
			       .guests = NG };
	struct ovb_netvsc_params p[NG];
	struct net *t = calloc(1, sizeof(*t));

	for (int i = 0; i < NG; i++) {
		struct guest *g = &t->g[i];

		g->id = i;
		g->fg = &t->fx.g[i];
		g->p = (struct ovb_netvsc_params){ .queues = queues,
						   .recv_buf_bytes = rxbuf,
						   .rx = on_rx,
						   .ctx = g };
		p[i] = g->p;
	}
	nvfx_open(&t->fx, &o, p);
	for (int i = 0; i < NG; i++)
		memcpy(t->g[i].mac, t->fx.g[i].info.mac, 6);
	return t;
}

static void net_free(struct net *t)
{
	nvfx_close(&t->fx);
	free(t);
}

/* Threads of this process whose name is @name (/proc/self/task/N/comm). */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
		n += !strcmp(comm, name);
	}
	closedir(d);
	return n;
}

/*
 * Three NICs with two queues each: a worker per channel is 6 host
 * threads, shared 2 (sw0-q0, sw0-q1), one 1 (sw0-nics); the rest of the
 * process is the same in the three.
 */
static void test_threads(void **state)
{
	int n[3];

	(void)state;
	for (int w = 0; w < 3; w++) {
		struct net *t = net_new((enum ovb_netvsp_workers)w, 2, 0);

		for (int i = 0; i < NG; i++) {
			struct ovb_netvsc_info info;

			ovb_netvsc_get_info(t->fx.g[i].nic, &info);
			assert_int_equal(info.queues, 2);
		}
		n[w] = dfx_threads();
		assert_int_equal(threads_named("sw0-q0"),
				 w == OVB_NETVSP_WORKERS_SHARED);
		assert_int_equal(threads_named("sw0-q1"),
				 w == OVB_NETVSP_WORKERS_SHARED);
		assert_int_equal(threads_named("sw0-nics"),
				 w == OVB_NETVSP_WORKERS_ONE);
		net_free(t);
	}
	assert_int_equal(n[0] - n[1], 2 * NG - 2);
	assert_int_equal(n[0] - n[2], 2 * NG - 1);
}

struct sender {
	struct net *t;
	int from, to;
	uint32_t first, count;
	int rc;
};

/* Send frames first..first+count-1 from one guest to another. */
static void *send_run(void *arg)
{
	struct sender *s = arg;
	struct guest *a = &s->t->g[s->from], *b = &s->t->g[s->to];
	uint8_t f[1514];

	for (uint32_t i = 0; i < s->count && !s->rc; i++) {
		uint32_t seq = s->first + i, len = frame_len(s->from, seq);

		make_frame(f, len, b->mac, a->mac, s->from, seq);
		s->rc = ovb_netvsc_send(a->fg->nic, 0, f, len, NULL,
					(i + 1) % 16 != 0);
	}
	ovb_netvsc_flush(a->fg->nic, 0);
	return NULL;
}

/* @a and @b send @n frames each to the other at once; all arrive intact. */
static void both_ways(struct net *t, int a, int b, uint32_t first,
		      uint32_t n)
{
	struct sender s[2] = { { t, a, b, first, n, 0 },
			       { t, b, a, first, n, 0 } };
	uint32_t ok_a = __atomic_load_n(&t->g[a].rx.ok, __ATOMIC_ACQUIRE);
	uint32_t ok_b = __atomic_load_n(&t->g[b].rx.ok, __ATOMIC_ACQUIRE);
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, send_run, &s[i]),
				 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(s[0].rc, 0);
	assert_int_equal(s[1].rc, 0);
	/* Up to 30 s: 12,000 frames under ASan on a loaded machine. */
	for (int w = 0; w < 30000 &&
			(__atomic_load_n(&t->g[a].rx.ok, __ATOMIC_ACQUIRE) -
					 ok_a < n ||
			 __atomic_load_n(&t->g[b].rx.ok, __ATOMIC_ACQUIRE) -
					 ok_b < n);
	     w++)
		usleep(1000);
	assert_int_equal(t->g[a].rx.ok - ok_a, n);
	assert_int_equal(t->g[b].rx.ok - ok_b, n);
	assert_int_equal(t->g[a].rx.bad + t->g[b].rx.bad, 0);
	assert_int_equal(t->g[a].rx.misorder + t->g[b].rx.misorder, 0);
}

/*
 * 6000 frames each way between two guests of one queue with receive
 * buffers of 256 KiB, host workers @w: every frame arrives (no buffer
 * ever missing, no wait timed out).  Returns the switch's counters.
 */
static struct ovb_netvsp_stats both_ways_run(enum ovb_netvsp_workers w)
{
	struct net *t = net_new(w, 1, 256u << 10);
	struct ovb_netvsp_stats st;

	both_ways(t, 0, 1, 0, 6000);
	ovb_netvsp_get_stats(t->fx.vsp, &st);
	assert_int_equal(st.no_buffer, 0);
	assert_int_equal(st.wait_timeouts, 0);
	assert_int_equal(st.to_guest, 12000);
	net_free(t);
	return st;
}

/*
 * Two NICs' channels on one thread, frames both ways at once, each
 * checked byte for byte and in order: 6000 frames each way into receive
 * buffers of 256 KiB (about 150 slots), so the thread runs out of slots
 * over and over and must take the receiver's completions itself, also
 * from behind the receiver's own sends in its ring (ovb_chan_reap) -- a
 * thread that waited for them would wait for itself, time out and drop
 * (it did: 1373 of 6000 arrived).  Worker per channel: below.
 */
static void test_both_ways(void **state)
{
	(void)state;
	/* The buffers did run out. */
	assert_true(both_ways_run(OVB_NETVSP_WORKERS_SHARED).reaps > 0);
}

/*
 * The same with a host worker per channel (the default): each worker,
 * short of the other guest's slots, takes that guest's completions out
 * of its rings itself while the other waits too -- lending its own ring
 * meanwhile (ovb_chan_lend_begin), or each would wait for a completion
 * queued behind sends in the ring the other holds.  Before: both host
 * workers stuck for the whole bound, the guests' sends ran out of time
 * (-ETIMEDOUT); reaping without the lend, the same.
 */
static void test_both_ways_per_channel(void **state)
{
	(void)state;
	both_ways_run(OVB_NETVSP_WORKERS_PER_CHANNEL);
}

struct errs {
	const char *partition;
	uint64_t errors, pkts_in;
	unsigned int chans;
};

static void count_errs(const struct ovb_chan_report *r, void *ctx)
{
	struct errs *e = ctx;

	if (!r->open || strcmp(r->partition, e->partition) ||
	    strcmp(r->device, "netvsp"))
		return;
	e->errors += r->st.errors;
	e->pkts_in += r->st.pkts_in;
	e->chans++;
}

/* The host side's channel counters of guest @i's NIC. */
static struct errs host_side(struct net *t, int i)
{
	char name[8];
	struct errs e = { .partition = name };

	snprintf(name, sizeof(name), "g%d", i);
	ovb_server_report(t->fx.srv, count_errs, &e);
	e.partition = NULL;
	return e;
}

/*
 * All three NICs on one thread.  Guest 0 writes a malformed descriptor
 * into its ring: the host fails that channel (its errors count) and the
 * other two guests keep exchanging frames, every byte checked, with no
 * error on their channels.  Then guest 2 closes its NIC and opens it
 * again, and frames flow both ways with it once more.
 */
static void test_corrupt_and_close(void **state)
{
	struct net *t = net_new(OVB_NETVSP_WORKERS_ONE, 1, 0);
	struct vmpacket_descriptor d = { .type = VM_PKT_DATA_INBAND,
					 .offset8 = 1, .len8 = 4 };
	uint8_t bad[32] = { 0 };
	struct ovb_chan *c0 = t->fx.g[0].nic->q[0].chan;
	struct errs e1, e2;

	(void)state;
	both_ways(t, 1, 2, 0, 200);
	assert_int_equal(host_side(t, 0).errors, 0);
	memcpy(bad, &d, sizeof(d));
	assert_int_equal(hring_inject(c0, true, bad, sizeof(bad)), 0);
	hring_signal(c0);
	PAIR_WAIT(host_side(t, 0).errors > 0);
	assert_int_equal(host_side(t, 0).errors, 1);
	both_ways(t, 1, 2, 200, 2000);
	e1 = host_side(t, 1);
	e2 = host_side(t, 2);
	assert_int_equal(e1.errors + e2.errors, 0);
	assert_int_equal(e1.chans, 1);
	assert_int_equal(e2.chans, 1);

	ovb_netvsc_close(t->fx.g[2].nic);
	t->fx.g[2].nic = NULL;
	PAIR_WAIT(host_side(t, 2).chans == 0);
	assert_int_equal(host_side(t, 2).chans, 0);
	memset(t->g[2].rx.next, 0, sizeof(t->g[2].rx.next));
	memset(t->g[1].rx.next, 0, sizeof(t->g[1].rx.next));
	guest_open(&t->g[2]);
	both_ways(t, 1, 2, 0, 2000);
	assert_int_equal(host_side(t, 2).errors, 0);
	net_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_both_ways_per_channel),
		cmocka_unit_test(test_corrupt_and_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
