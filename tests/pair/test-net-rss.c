// SPDX-License-Identifier: MIT
/*
 * Pair tests of the synthetic NIC's sub-channels: a real server with
 * netvsp on a virtual switch and two real guests with netvsc, in one
 * process over the inproc link.  RSS spreads TCP flows over the
 * receiver's channels, polling spins set on every channel, hashes kept
 * within a switch run, degenerate RSS parameters, and a zero packet
 * filter that stops delivery on every sub-channel at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
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
#include "bus/chan_priv.h"
#include "net/netvsc_priv.h"
#include "net/nvsp.h"
#include "net/rndis.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

/* Two guests, each NIC opened with @np, every frame logged. */
static struct nvfx *net_new(const struct ovb_netvsc_params *np)
{
	const struct ovb_netvsc_params p[2] = { *np, *np };

	return nvfx_new(&(struct nvfx_opts){ .guests = 2, .log = true }, p);
}

/* A TCP/IPv4 frame from guest @a to guest @b, flow @i. */
static size_t flow_frame(struct nvfx *t, int a, int b, int i, uint8_t *f)
{
	struct ovb_netvsc_info ia, ib;

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	return nvfx_tcp_frame(f, ib.mac, ia.mac, 1,
			      (uint16_t)((uint8_t)(i * 13) << 8 | (uint8_t)i));
}

/* 64 TCP flows from g0 to g1; the set of g1 queues they arrived on. */
static unsigned int rss_flows(struct nvfx *t)
{
	struct nvfx_log *r = &t->log[1];
	uint8_t f[64];

	nvfx_log_reset(r);
	for (int i = 0; i < 64; i++) {
		flow_frame(t, 0, 1, i, f);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, (unsigned)i, f,
						 sizeof(f), NULL, false), 0);
	}
	PAIR_WAIT(nvfx_log_count(r) >= 64);
	assert_int_equal(nvfx_log_count(r), 64);
	return r->queues_seen;
}

/* Every channel's polling spin of @n, as ovb_chan_set_poll() left it. */
static void assert_poll(struct ovb_netvsc *n, uint32_t us)
{
	assert_int_equal(n->nq, 4);
	assert_int_equal(n->p.poll_us, us);
	for (unsigned int i = 0; i < n->nq; i++)
		assert_int_equal(__atomic_load_n(&n->q[i].chan->spin_us,
						 __ATOMIC_RELAXED), us);
}

/*
 * ovb_netvsc_set_poll switches every channel of a running NIC, sub-
 * channels included, both ways, and frames keep flowing in either mode.
 */
static void test_set_poll(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4, .poll_us = 100 };
	struct nvfx *t = net_new(&p);
	uint8_t f[64];

	assert_poll(t->g[1].nic, 100);
	for (uint32_t us = 0; us <= 200; us += 200) {
		struct nvfx_log *r = &t->log[1];

		ovb_netvsc_set_poll(t->g[1].nic, us);
		assert_poll(t->g[1].nic, us);
		nvfx_log_reset(r);
		for (int i = 0; i < 64; i++) {
			flow_frame(t, 0, 1, i, f);
			assert_int_equal(ovb_netvsc_send(t->g[0].nic,
							 (unsigned)i, f,
							 sizeof(f), NULL,
							 false), 0);
		}
		PAIR_WAIT(nvfx_log_count(r) >= 64);
		assert_int_equal(nvfx_log_count(r), 64);
		assert_true(__builtin_popcount(r->queues_seen) >= 2);
	}
	nvfx_free(t);
}

static void test_subchannels(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct nvfx *t = net_new(&p);
	struct ovb_netvsc_info ia, ib;
	struct nvfx_log *r = &t->log[1];

	ovb_netvsc_get_info(t->g[0].nic, &ia);
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	assert_int_equal(ia.queues, 4);
	assert_int_equal(ib.queues, 4);
	/* 64 TCP flows: RSS spreads them over the receiver's channels. */
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_true(r->meta[0].flags & OVB_NET_META_HASH);
	nvfx_free(t);
}

static int drop_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *m)
{
	return 0;
}

/* Each frame's hash as g1 received it, by the sequence number at 60. */
static void hashes_by_seq(struct nvfx_log *r, uint32_t *h, unsigned int n)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < NVFX_MAXF; i++) {
		assert_true(r->meta[i].flags & OVB_NET_META_HASH);
		assert_true(r->frame[i][60] < n);
		h[r->frame[i][60]] = r->meta[i].hash;
	}
	pthread_mutex_unlock(&r->lock);
}

/*
 * RSS inside a run: 64 frames to g1 in one run, 16 TCP flows of 4
 * consecutive frames (and two flows that differ only in the destination
 * port), each hashed by its own headers: every frame's hash is the one
 * it gets when it goes alone, and the flows spread over channels.
 */
static void test_rss_in_run(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct nvfx *t = net_new(&p);
	struct nvfx_log *r = &t->log[1];
	static uint8_t f[64][64];
	struct ovb_vswitch_frame run[64];
	uint32_t alone[64], inrun[64];
	unsigned int port, distinct = 0;

	assert_int_equal(ovb_vswitch_port_add(t->sw, "src", 0, drop_tx, NULL,
					      &port), 0);
	for (int i = 0; i < 64; i++) {
		/* the last flow is the one before it to another port */
		flow_frame(t, 0, 1, i < 60 ? i / 4 : 14, f[i]);
		f[i][6] = 0x02; /* from the test port's own MAC */
		f[i][11] = 0x77;
		if (i >= 60)
			f[i][37] = 81;
		f[i][60] = (uint8_t)i;
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i], .len = 64 };
	}
	nvfx_log_reset(r);
	for (int i = 0; i < 64; i++)
		ovb_vswitch_input(t->sw, port, f[i], 64, NULL);
	PAIR_WAIT(nvfx_log_count(r) >= 64);
	hashes_by_seq(r, alone, 64);
	nvfx_log_reset(r);
	ovb_vswitch_batch_begin(t->sw);
	assert_int_equal(ovb_vswitch_input_run(t->sw, port, run, 64, NULL), 64);
	ovb_vswitch_batch_end(t->sw);
	PAIR_WAIT(nvfx_log_count(r) >= 64);
	assert_int_equal(nvfx_log_count(r), 64);
	assert_true(__builtin_popcount(r->queues_seen) >= 2);
	hashes_by_seq(r, inrun, 64);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(inrun[i], alone[i]);
		if (i % 4 == 0 && (!i || inrun[i] != inrun[i - 1]))
			distinct++;
	}
	assert_int_not_equal(inrun[59], inrun[60]);
	assert_true(distinct >= 8);
	nvfx_free(t);
}

/* NDIS_RECEIVE_SCALE_PARAMETERS as Linux rndis_set_rss_param_msg builds
 * it: @n table entries of @val (or i % 4 when @val is ~0), a key of
 * @keylen bytes. */
static size_t rss_params(uint8_t *b, uint32_t n, uint32_t val,
			 uint16_t keylen, uint16_t flags)
{
	struct ndis_rss_params rp = { 0 };
	uint32_t *tab = (uint32_t *)(void *)(b + sizeof(rp));

	rp.header.type = NDIS_OBJECT_TYPE_RSS_PARAMETERS;
	rp.header.revision = NDIS_RSS_PARAMS_REVISION_2;
	rp.header.size = NDIS_RSS_PARAMS_SIZE_REVISION_2;
	rp.flags = flags;
	rp.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 |
		       NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 |
		       NDIS_HASH_TCP_IPV6;
	rp.indirect_tabsize = (uint16_t)(n * 4);
	rp.indirect_taboffset = sizeof(rp);
	rp.hashkey_size = keylen;
	rp.hashkey_offset = sizeof(rp) + n * 4;
	memcpy(b, &rp, sizeof(rp));
	for (uint32_t i = 0; i < n; i++)
		tab[i] = val == ~0u ? i % 4 : val;
	for (uint32_t i = 0; i < keylen; i++)
		b[sizeof(rp) + n * 4 + i] = (uint8_t)(i * 37 + 11);
	return sizeof(rp) + n * 4 + keylen;
}

/*
 * Item 4 (openvmm netvsp fuzzing): degenerate RSS parameters never divide
 * by zero or pick a channel that is not there.  An all-zero table sends
 * everything to channel 0; a table of zero entries, entries naming
 * channels that are not open (or do not exist), and RSS disabled send
 * everything to the primary; a hash key of the wrong size is refused and
 * changes nothing.
 */
static void test_rss_degenerate(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct nvfx *t = net_new(&p);
	struct ovb_netvsc *rx = t->g[1].nic;
	static uint8_t b[1024];
	const uint32_t bad[] = { 4, 7, 63, 64, 1000, 0xfffffffe };

	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	/* Zero entries: no table, so the primary. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 0, 0, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	/* A key of the wrong size: refused, the spread table stays. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 20, 0)), -EIO);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, 0, 41, 0)), -EIO);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	/* Channels that are not open or cannot exist. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ovb_netvsc_set(rx,
						OID_GEN_RECEIVE_SCALE_PARAMETERS,
						b, rss_params(b, 128, bad[i], 40,
							      0)), 0);
		assert_int_equal(rss_flows(t), 1);
	}
	/* RSS off. */
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(ovb_netvsc_set(rx, OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 0, 0, 0,
						   NDIS_RSS_PARAM_FLAG_DISABLE_RSS)),
			 0);
	assert_int_equal(rss_flows(t), 1);
	nvfx_free(t);

	/* One channel only (no sub-channels): a table naming 1..3. */
	p.queues = 1;
	t = net_new(&p);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_RECEIVE_SCALE_PARAMETERS, b,
					rss_params(b, 128, ~0u, 40, 0)), 0);
	assert_int_equal(rss_flows(t), 1);
	nvfx_free(t);
}

struct flood {
	struct nvfx *t;
	bool stop;
	unsigned long sent;
};

static void *flood_run(void *arg)
{
	struct flood *fl = arg;
	uint8_t f[64];

	for (int i = 0; !__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE); i++) {
		flow_frame(fl->t, 0, 1, i & 63, f);
		if (ovb_netvsc_send(fl->t->g[0].nic, (unsigned)i, f, sizeof(f),
				    NULL, false) == 0)
			fl->sent++;
		if (!(i & 15))
			usleep(100);
	}
	return NULL;
}

static uint64_t to_guest(struct nvfx *t)
{
	struct ovb_netvsp_stats st;

	ovb_netvsp_get_stats(t->vsp, &st);
	return st.to_guest;
}

/*
 * Item 2 (openvmm #1873, #1967): OID_GEN_CURRENT_PACKET_FILTER = 0, which
 * Linux sets in rndis_filter_close_device before it waits for every
 * channel's ring to drain (netvsc_wait_until_empty), stops delivery to
 * that NIC at once -- directed, broadcast and multicast, on every RSS
 * sub-channel -- and from the moment the SET completes not one more
 * frame is written; a non-zero filter resumes it.
 */
static void test_filter_zero(void **state)
{
	struct ovb_netvsc_params p = { .queues = 4 };
	struct nvfx *t = net_new(&p);
	const uint32_t none = 0, linux_on = NDIS_PACKET_TYPE_DIRECTED |
					    NDIS_PACKET_TYPE_BROADCAST |
					    NDIS_PACKET_TYPE_ALL_MULTICAST;
	struct flood fl = { .t = t };
	struct nvfx_log *r = &t->log[1];
	pthread_t th;
	uint8_t f[64];
	uint64_t n0;

	assert_true(__builtin_popcount(rss_flows(t)) >= 2);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_CURRENT_PACKET_FILTER, &none,
					4), 0);
	nvfx_log_reset(r);
	n0 = to_guest(t);
	for (int i = 0; i < 64; i++) {
		flow_frame(t, 0, 1, i, f);
		if (i % 3 == 1)
			memset(f, 0xff, 6);          /* broadcast */
		else if (i % 3 == 2)
			memcpy(f, (uint8_t[]){ 0x01, 0, 0x5e, 0, 0, 1 }, 6);
		assert_int_equal(ovb_netvsc_send(t->g[0].nic, (unsigned)i, f,
						 sizeof(f), NULL, false), 0);
	}
	usleep(100000);
	assert_int_equal(nvfx_log_count(r), 0);
	assert_int_equal(to_guest(t), n0);
	assert_int_equal(ovb_netvsc_set(t->g[1].nic,
					OID_GEN_CURRENT_PACKET_FILTER,
					&linux_on, 4), 0);
	assert_true(__builtin_popcount(rss_flows(t)) >= 2);

	/* Under load: after the SET's completion, nothing more. */
	for (int round = 0; round < 5; round++) {
		fl.stop = false;
		assert_int_equal(pthread_create(&th, NULL, flood_run, &fl), 0);
		PAIR_WAIT(nvfx_log_count(r) >= 200);
		assert_int_equal(ovb_netvsc_set(t->g[1].nic,
						OID_GEN_CURRENT_PACKET_FILTER,
						&none, 4), 0);
		n0 = to_guest(t);
		usleep(30000);
		assert_int_equal(to_guest(t), n0);
		__atomic_store_n(&fl.stop, true, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		assert_int_equal(to_guest(t), n0);
		assert_int_equal(ovb_netvsc_set(t->g[1].nic,
						OID_GEN_CURRENT_PACKET_FILTER,
						&linux_on, 4), 0);
		nvfx_log_reset(r);
	}
	assert_true(fl.sent > 0);
	nvfx_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_set_poll),
		cmocka_unit_test(test_rss_in_run),
		cmocka_unit_test(test_rss_degenerate),
		cmocka_unit_test(test_filter_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
