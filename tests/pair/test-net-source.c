// SPDX-License-Identifier: MIT
/*
 * One thread per queue (ovb_netvsc_set_source): a netvsc queue's channel
 * worker reads frames from a source fd itself -- a SOCK_SEQPACKET pair
 * standing in for a TAP queue, one frame per datagram behind its
 * metadata -- and sends them, never waiting.  A real server with netvsp
 * on a switch and a test port that takes TSO frames whole, one netvsc
 * guest, in one process over the inproc link.  Frames arrive in order
 * and byte for byte, large ones (page buffers) and small ones (sections)
 * mixed; more large frames than transmit buffers at once (the source
 * runs out, leaves its fd, and is run again when buffers come back); the
 * source, the send completions and the frames received on that queue all
 * run on one thread; closing the NIC with frames still queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "net/netvsc_priv.h"
#include "net/offload_priv.h"
#include "openvmbus/offload.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define MAXF 400
#define BIG 60000u

/* Frames the test port got, and the threads that ran the callbacks. */
struct rxlog {
	pthread_mutex_t lock;
	unsigned int n;
	uint32_t len[MAXF];
	uint8_t *frame[MAXF];
};

struct src {
	int fd[2];            /* [0] the worker reads, [1] the test writes */
	struct ovb_netvsc *nic;
	unsigned int calls;   /* atomic */
	unsigned int eagain;  /* atomic: calls that returned -EAGAIN */
	pthread_t thread;     /* where the source last ran */
	bool other_thread;    /* atomic: it ran on two threads */
	struct ovb_netvsc_txbuf tb; /* the source's, as a TAP front end's */
	struct ovb_net_meta meta;
	size_t pend;
};

struct net {
	struct nvfx fx; /* one guest, the test port */
	struct rxlog port_rx;
	struct src src;
	pthread_t rx_thread; /* where the guest's receive callback ran */
	unsigned int guest_rx; /* atomic */
};

static const uint8_t port_mac[6] = { 0x02, 0, 0, 0, 0, 0x77 };

/* The test port's delivery, held up while the gate is closed. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;

static void gate_pass(void)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10; /* past the test's own waits */
	pthread_mutex_lock(&gate_lock);
	while (gate_closed &&
	       !pthread_cond_timedwait(&gate_cond, &gate_lock, &dl))
		;
	pthread_mutex_unlock(&gate_lock);
}

static void gate_set(bool closed)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static int port_tx(void *ctx, const void *frame, size_t len,
		   const struct ovb_net_meta *meta)
{
	struct rxlog *r = ctx;

	(void)meta;
	gate_pass();
	pthread_mutex_lock(&r->lock);
	if (r->n < MAXF) {
		r->frame[r->n] = malloc(len);
		memcpy(r->frame[r->n], frame, len);
		r->len[r->n] = (uint32_t)len;
	}
	__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct net *t = ctx;

	(void)queue;
	(void)frame;
	(void)len;
	(void)meta;
	t->rx_thread = pthread_self();
	__atomic_fetch_add(&t->guest_rx, 1, __ATOMIC_RELEASE);
}

/* The source: datagrams of (meta, frame), read into guest memory. */
static int src_pull(void *ctx, unsigned int queue)
{
	struct src *s = ctx;
	int rc;

	if (__atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED) &&
	    !pthread_equal(s->thread, pthread_self()))
		__atomic_store_n(&s->other_thread, true, __ATOMIC_RELAXED);
	s->thread = pthread_self();
	for (;;) {
		if (!s->tb.frame &&
		    (rc = ovb_netvsc_txbuf_get(s->nic, &s->tb)) != 0)
			goto out;
		if (!s->pend) {
			struct iovec iov[2] = {
				{ &s->meta, sizeof(s->meta) },
				{ s->tb.frame, s->tb.cap },
			};
			ssize_t n = readv(s->fd[0], iov, 2);

			if (n < 0)
				return 0; /* EAGAIN: empty */
			if ((size_t)n <= sizeof(s->meta))
				continue;
			s->pend = (size_t)n - sizeof(s->meta);
		}
		rc = ovb_netvsc_send_txbuf(s->nic, queue, &s->tb, s->pend,
					   s->meta.gso_type ? &s->meta : NULL,
					   true);
		if (rc == -EAGAIN)
			goto out;
		s->pend = 0;
	}
out:
	if (rc == -EAGAIN)
		__atomic_fetch_add(&s->eagain, 1, __ATOMIC_RELAXED);
	return rc;
}

static struct net *net_new(void)
{
	struct net *t = calloc(1, sizeof(*t));
	struct nvfx_opts o = { .port = true, .port_name = "test",
			       .port_caps = OVB_VSWITCH_CAP_CSUM |
					    OVB_VSWITCH_CAP_TSO4,
			       .port_tx = port_tx, .port_ctx = &t->port_rx };
	struct ovb_netvsc_params p = { .rx = on_rx, .ctx = t };

	pthread_mutex_init(&t->port_rx.lock, NULL);
	nvfx_open(&t->fx, &o, &p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK,
				    0, t->src.fd), 0);
	/* Room for every frame a test queues at once. */
	setsockopt(t->src.fd[1], SOL_SOCKET, SO_SNDBUF, &(int){ 16 << 20 },
		   sizeof(int));
	t->src.nic = t->fx.g[0].nic;
	assert_int_equal(ovb_netvsc_set_source(t->src.nic, 0, t->src.fd[0],
					       src_pull, &t->src), 0);
	return t;
}

static void net_free(struct net *t)
{
	nvfx_close(&t->fx);
	for (unsigned int i = 0; i < t->port_rx.n && i < MAXF; i++)
		free(t->port_rx.frame[i]);
	close(t->src.fd[0]);
	close(t->src.fd[1]);
	free(t);
}

/*
 * Frame @i from @src to the test port: every third a TSO frame of ~BIG
 * bytes (IPv4, Linux GSO conventions), the others plain frames of 60..1500
 * bytes.  Returns its length; @m gets its metadata (zero: none).
 */
static size_t frame(uint8_t *f, const uint8_t *src, unsigned int i,
		    struct ovb_net_meta *m)
{
	size_t len = i % 3 ? 60 + (i * 97) % 1441 : BIG - i;

	memset(m, 0, sizeof(*m));
	memcpy(f, port_mac, 6);
	memcpy(f + 6, src, 6);
	for (size_t j = 12; j < len; j++)
		f[j] = (uint8_t)(j * 11 + i);
	f[12] = 0x88; /* a local experimental ethertype */
	f[13] = 0xb5;
	if (i % 3)
		return len;
	memset(f + 12, 0, 54);
	f[12] = 0x08;
	f[14] = 0x45;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[34] = 0x9c; /* ports 40000 -> 5201 */
	f[35] = 0x40;
	f[36] = 0x14;
	f[37] = 0x51;
	f[38] = (uint8_t)(i >> 8); /* sequence number */
	f[39] = (uint8_t)i;
	f[46] = 0x50; /* 20-byte header */
	f[47] = 0x18; /* PSH ACK */
	f[48] = 0xff;
	m->gso_type = OVB_NET_GSO_TCPV4;
	m->gso_size = 1448;
	m->flags = OVB_NET_META_CSUM_PARTIAL;
	assert_int_equal(ovb_offload_canonicalize(f, len, m), 0);
	return len;
}

/* Queue frames @first.. @first + @n - 1 on the source. */
static void queue_frames(struct net *t, unsigned int first, unsigned int n)
{
	static uint8_t f[BIG];
	struct ovb_net_meta m;

	for (unsigned int i = first; i < first + n; i++) {
		size_t len = frame(f, t->fx.g[0].info.mac, i, &m);
		struct iovec iov[2] = { { &m, sizeof(m) }, { f, len } };

		assert_int_equal(writev(t->src.fd[1], iov, 2),
				 (ssize_t)(sizeof(m) + len));
	}
}

/* The port got frames 0..@n - 1, in order, byte for byte. */
static void assert_frames(struct net *t, unsigned int n)
{
	static uint8_t f[BIG];
	struct ovb_net_meta m;

	PAIR_WAIT(__atomic_load_n(&t->port_rx.n, __ATOMIC_ACQUIRE) >= n);
	usleep(20000);
	assert_int_equal(__atomic_load_n(&t->port_rx.n, __ATOMIC_ACQUIRE), n);
	for (unsigned int i = 0; i < n; i++) {
		size_t len = frame(f, t->fx.g[0].info.mac, i, &m);

		assert_int_equal(t->port_rx.len[i], len);
		assert_memory_equal(t->port_rx.frame[i], f, len);
	}
}

/* Frames a few at a time, large and small mixed: all arrive, in order. */
static void test_source_frames(void **state)
{
	struct net *t = net_new();
	struct ovb_netvsc_stats st;

	(void)state;
	for (unsigned int i = 0; i < 60; i += 6) {
		queue_frames(t, i, 6);
		usleep(2000);
	}
	assert_frames(t, 60);
	ovb_netvsc_get_stats(t->fx.g[0].nic, &st);
	assert_int_equal(st.tx_frames, 60);
	assert_int_equal(st.tx_pagebuf, 20);
	assert_int_equal(st.tx_errors, 0);
	assert_true(__atomic_load_n(&t->src.calls, __ATOMIC_RELAXED) > 0);
	net_free(t);
}

/*
 * 300 frames queued at once, 100 of them large: three times the transmit
 * buffers, while the host's delivery is held up (no completion comes).
 * The source runs out, returns -EAGAIN with a frame in hand, and is run
 * again as completions free buffers; none is lost or sent twice, and
 * nothing counts as an error.
 */
static void test_source_out_of_buffers(void **state)
{
	struct net *t = net_new();
	struct ovb_netvsc_stats st;

	(void)state;
	/* The host's delivery held up: no buffer comes back meanwhile. */
	gate_set(true);
	queue_frames(t, 0, 300);
	PAIR_WAIT(__atomic_load_n(&t->src.eagain, __ATOMIC_RELAXED) > 0);
	gate_set(false);
	assert_frames(t, 300);
	ovb_netvsc_get_stats(t->fx.g[0].nic, &st);
	assert_int_equal(st.tx_frames, 300);
	assert_int_equal(st.tx_pagebuf, 100);
	assert_int_equal(st.tx_errors, 0);
	assert_true(__atomic_load_n(&t->src.eagain, __ATOMIC_RELAXED) > 0);
	net_free(t);
}

/*
 * No transmit buffer free and nothing coming back on the source's ring:
 * the test holds every buffer but the source's own, and the host's
 * delivery to the test port is held up (gate), so the frame the source
 * sent is not completed.  The source stops with frames still queued and
 * its fd, readable all along, is left alone -- no call after call while
 * nothing can change -- until the test gives a buffer back, which must
 * wake the source's worker by itself (no signal on its ring comes).
 */
static int queued(struct net *t)
{
	int n = 0;

	assert_int_equal(ioctl(t->src.fd[0], FIONREAD, &n), 0);
	return n;
}

static void test_source_kick(void **state)
{
	struct net *t = net_new();
	struct ovb_netvsc_txbuf held[NETVSC_BIG_BUFS];
	unsigned int nheld, calls;
	int left;

	(void)state;
	usleep(20000); /* the source holds one buffer, its worker sleeps */
	for (nheld = 0; nheld < NETVSC_BIG_BUFS - 1; nheld++)
		assert_int_equal(ovb_netvsc_txbuf_get(t->fx.g[0].nic, &held[nheld]),
				 0);
	gate_set(true);
	queue_frames(t, 0, 4); /* large, small, small, large */
	PAIR_WAIT(__atomic_load_n(&t->src.eagain, __ATOMIC_RELAXED) >= 1);
	calls = __atomic_load_n(&t->src.calls, __ATOMIC_RELAXED);
	usleep(50000);
	/* Paused: at most a stray call or two, not a busy loop. */
	assert_true(__atomic_load_n(&t->src.calls, __ATOMIC_RELAXED) <=
		    calls + 2);
	assert_true(queued(t) > 0);
	/* A buffer back: the source reads on (frames 1-3) by itself. */
	ovb_netvsc_txbuf_put(t->fx.g[0].nic, &held[--nheld]);
	PAIR_WAIT(queued(t) == 0);
	left = queued(t);
	gate_set(false);
	assert_int_equal(left, 0);
	while (nheld)
		ovb_netvsc_txbuf_put(t->fx.g[0].nic, &held[--nheld]);
	assert_frames(t, 4);
	net_free(t);
}

/*
 * One thread per queue: the source runs on the thread that receives the
 * queue's frames (its channel worker), and never on another.
 */
static void test_source_one_thread(void **state)
{
	struct net *t = net_new();
	uint8_t f[200] = { 0 };

	(void)state;
	queue_frames(t, 0, 9);
	assert_frames(t, 9);
	memcpy(f, t->fx.g[0].info.mac, 6);
	memcpy(f + 6, port_mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	assert_true(ovb_vswitch_input(t->fx.sw, t->fx.port, f, sizeof(f), NULL) >=
		    1);
	PAIR_WAIT(__atomic_load_n(&t->guest_rx, __ATOMIC_ACQUIRE) >= 1);
	/* After a receive the worker runs the source (idle hook) again. */
	queue_frames(t, 9, 3);
	assert_frames(t, 12);
	assert_true(pthread_equal(t->src.thread, t->rx_thread));
	assert_false(__atomic_load_n(&t->src.other_thread, __ATOMIC_RELAXED));
	net_free(t);
}

/* Closing with frames queued and buffers out: no hang, no leak. */
static void test_source_close_busy(void **state)
{
	struct net *t = net_new();

	(void)state;
	queue_frames(t, 0, 200);
	net_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_frames),
		cmocka_unit_test(test_source_out_of_buffers),
		cmocka_unit_test(test_source_kick),
		cmocka_unit_test(test_source_one_thread),
		cmocka_unit_test(test_source_close_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
