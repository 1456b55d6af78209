// SPDX-License-Identifier: MIT
/*
 * Pair tests of the synthetic NIC with a guest that behaves like Linux's
 * uio_hv_generic under DPDK's netvsc PMD (WIRE-FACTS B12): the receive and
 * send buffer GPADLs created before OPEN_CHANNEL, uio_hv_generic's buffer
 * sizes (31 MiB receive = 7936 PFNs in ~284 GPADL messages, 16 MiB send),
 * guest RAM near 2^47 (GPADL PFNs around 2^35), and signalling through the
 * monitor page alone while the guest polls its receive ring masked.
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

#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "tests/lib/pair.h"

struct guest {
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	unsigned int rx, rx_bad;
	uint32_t seed;
};

struct net {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct guest g[2];
};

/* Frames carry a pattern seeded by byte 14; count the intact ones. */
static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct guest *g = ctx;
	const uint8_t *f = frame;
	bool ok = len > 15;

	for (size_t i = 15; ok && i < len; i++)
		ok = f[i] == (uint8_t)(i * 7 + f[14]);
	__atomic_fetch_add(ok ? &g->rx : &g->rx_bad, 1, __ATOMIC_RELEASE);
}

static struct net *net_new(uint64_t gpa, uint64_t size,
			   const struct ovb_netvsc_params *np)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0" };
	struct net *t = calloc(1, sizeof(*t));

	assert_int_equal(ovb_server_create(&t->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &t->sw), 0);
	cfg.sw = t->sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &t->vsp), 0);
	assert_int_equal(ovb_netvsp_register(t->vsp, t->srv), 0);
	for (int i = 0; i < 2; i++) {
		struct guest *g = &t->g[i];
		struct ovb_inproc_params ip = { .name = i ? "g1" : "g0",
						.mem_gpa = gpa,
						.mem_size = size,
						.no_eventfd = np->use_monitor };
		struct ovb_netvsc_params p = *np;

		assert_int_equal(ovb_inproc_create(t->srv, &ip, &g->link), 0);
		assert_int_equal(ovb_client_register_driver(
					 ovb_inproc_client(g->link),
					 &ovb_netvsc_driver, &g->drv), 0);
		assert_int_equal(ovb_client_connect(ovb_inproc_client(g->link),
						    0, 5000), 0);
		assert_int_equal(g->drv.ndev, 1);
		p.rx = on_rx;
		p.ctx = g;
		assert_int_equal(ovb_netvsc_open(g->drv.dev[0], &p, &g->nic),
				 0);
	}
	return t;
}

static void net_free(struct net *t)
{
	for (int i = 0; i < 2; i++) {
		if (t->g[i].nic)
			ovb_netvsc_close(t->g[i].nic);
		ovb_inproc_destroy(t->g[i].link);
	}
	ovb_server_destroy(t->srv);
	ovb_netvsp_destroy(t->vsp);
	ovb_vswitch_destroy(t->sw);
	free(t);
}

/* Guest @a sends @n frames of @len bytes to guest @b; all arrive intact. */
static void exchange(struct net *t, int a, int b, unsigned int n, size_t len)
{
	struct ovb_netvsc_info ia, ib;
	static uint8_t f[1514];
	struct guest *r = &t->g[b];
	unsigned int before = __atomic_load_n(&r->rx, __ATOMIC_ACQUIRE);

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	for (unsigned int i = 0; i < n; i++) {
		memcpy(f, ib.mac, 6);
		memcpy(f + 6, ia.mac, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
		f[14] = (uint8_t)i;
		for (size_t k = 15; k < len; k++)
			f[k] = (uint8_t)(k * 7 + f[14]);
		assert_int_equal(ovb_netvsc_send(t->g[a].nic, 0, f, len, NULL,
						 false), 0);
	}
	PAIR_WAIT(__atomic_load_n(&r->rx, __ATOMIC_ACQUIRE) >= before + n);
	assert_int_equal(r->rx, before + n);
	assert_int_equal(r->rx_bad, 0);
}

static void both_ways(struct net *t)
{
	exchange(t, 0, 1, 50, 60);
	exchange(t, 1, 0, 50, 1514); /* page buffers */
	exchange(t, 0, 1, 50, 1000);
}

/*
 * uio_hv_generic creates both buffer GPADLs when it binds, before the
 * channel is opened; netvsp must take them after the open.
 */
static void test_gpadls_before_open(void **state)
{
	struct ovb_netvsc_params p = { .gpadls_before_open = true };
	struct net *t = net_new(1ull << 32, 64ull << 20, &p);

	both_ways(t);
	net_free(t);
}

/* uio_hv_generic's sizes: 31 MiB receive (7936 PFNs), 16 MiB send. */
static void test_uio_buffer_sizes(void **state)
{
	struct ovb_netvsc_params p = { .gpadls_before_open = true,
				       .recv_buf_bytes = 31u << 20,
				       .send_buf_bytes = 16u << 20 };
	struct net *t = net_new(1ull << 32, 128ull << 20, &p);
	struct ovb_netvsc_info info;

	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_not_equal(info.send_section, 0);
	both_ways(t);
	net_free(t);
}

/* A user-space guest's RAM at GPA = its VA, near 2^47: PFNs near 2^35. */
static void test_high_gpa(void **state)
{
	struct ovb_netvsc_params p = { .gpadls_before_open = true,
				       .recv_buf_bytes = 31u << 20,
				       .send_buf_bytes = 16u << 20 };
	struct net *t = net_new((1ull << 47) - (256ull << 20), 128ull << 20,
				&p);

	both_ways(t);
	net_free(t);
}

/*
 * DPDK signals only by setting its monitor bit in page 2 (no hypercall, no
 * eventfd) and polls its receive ring with interrupt_mask = 1: the NIC
 * must be offered with a monitor id and the host must scan the page.
 */
static void test_monitor_only(void **state)
{
	struct ovb_netvsc_params p = { .use_monitor = true,
				       .poll_us = 3000000 };
	struct net *t = net_new(1ull << 32, 64ull << 20, &p);
	struct ovb_offer_info oi;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(ovb_client_offers(
					 ovb_inproc_client(t->g[i].link), &oi,
					 1), 1);
		assert_true(oi.monitored);
	}
	both_ways(t);
	net_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpadls_before_open),
		cmocka_unit_test(test_uio_buffer_sizes),
		cmocka_unit_test(test_high_gpa),
		cmocka_unit_test(test_monitor_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
