// SPDX-License-Identifier: MIT
/*
 * Pair tests of the synthetic NIC with a guest that behaves like Linux's
 * uio_hv_generic under DPDK's netvsc PMD (docs/wire.md B12): the receive and
 * send buffer GPADLs created before OPEN_CHANNEL, uio_hv_generic's buffer
 * sizes (31 MiB receive = 7936 PFNs in ~284 GPADL messages, 16 MiB send),
 * guest RAM near 2^47 (GPADL PFNs around 2^35), and signalling through the
 * monitor page alone while the guest polls its receive ring masked -- once
 * through our netvsc, once with raw rings as DPDK runs them.
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

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/atomic.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/ring.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"
#include "openvmbus/wire/nvsp.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

/* Frames a guest received intact, and not. */
struct count {
	unsigned int rx, rx_bad;
};

struct net {
	struct nvfx fx;
	struct count c[2];
};

/* Frames carry a pattern seeded by byte 14; count the intact ones. */
static void on_rx(void *ctx, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	struct count *g = ctx;
	const uint8_t *f = frame;
	bool ok = len > 15;

	for (size_t i = 15; ok && i < len; i++)
		ok = f[i] == (uint8_t)(i * 7 + f[14]);
	__atomic_fetch_add(ok ? &g->rx : &g->rx_bad, 1, __ATOMIC_RELEASE);
}

/* Two guests with RAM at @gpa of @size, each NIC opened with @np. */
static struct net *net_new(uint64_t gpa, uint64_t size,
			   const struct ovb_netvsc_params *np)
{
	struct nvfx_opts o = { .guests = 2, .mem_gpa = gpa, .mem_size = size,
			       .no_eventfd = np->use_monitor };
	struct ovb_netvsc_params p[2] = { *np, *np };
	struct net *t = calloc(1, sizeof(*t));

	for (int i = 0; i < 2; i++) {
		p[i].rx = on_rx;
		p[i].ctx = &t->c[i];
	}
	nvfx_open(&t->fx, &o, p);
	return t;
}

static void net_free(struct net *t)
{
	nvfx_close(&t->fx);
	free(t);
}

/* Guest @a sends @n frames of @len bytes to guest @b; all arrive intact. */
static void exchange(struct net *t, int a, int b, unsigned int n, size_t len)
{
	struct ovb_netvsc_info ia, ib;
	static uint8_t f[1514];
	struct count *r = &t->c[b];
	unsigned int before = __atomic_load_n(&r->rx, __ATOMIC_ACQUIRE);

	ovb_netvsc_get_info(t->fx.g[a].nic, &ia);
	ovb_netvsc_get_info(t->fx.g[b].nic, &ib);
	for (unsigned int i = 0; i < n; i++) {
		memcpy(f, ib.mac, 6);
		memcpy(f + 6, ia.mac, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
		f[14] = (uint8_t)i;
		for (size_t k = 15; k < len; k++)
			f[k] = (uint8_t)(k * 7 + f[14]);
		assert_int_equal(ovb_netvsc_send(t->fx.g[a].nic, 0, f, len, NULL,
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

	ovb_netvsc_get_info(t->fx.g[0].nic, &info);
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
					 ovb_inproc_client(t->fx.g[i].link), &oi,
					 1), 1);
		assert_true(oi.monitored);
	}
	both_ways(t);
	net_free(t);
}

static void sum_signals(const struct ovb_chan_report *r, void *ctx)
{
	if (r->open)
		*(uint64_t *)ctx += r->st.signals_out;
}

/*
 * The DPDK way, with no guest library in between: rings opened as
 * uio_hv_generic opens them (inbound interrupt_mask = 1, never cleared),
 * a request written straight into the ring, the host told only by the
 * monitor bit, the reply found by polling.  The host must answer and must
 * never have to signal.
 */
static void test_user_rings_monitor_bit(void **state)
{
	/* netvsc bound for its offer, the channel opened by hand. */
	struct nvfx *t = nvfx_new(&(struct nvfx_opts){ .no_eventfd = true,
						       .no_open = true },
				  NULL);
	const struct vmbus_channel_offer_channel *o;
	struct ovb_client *cl;
	struct ovb_ring out, in;
	struct hv_monitor_page *mp;
	void *ring, *int_page, *mon;
	uint8_t pkt[16 + 40] = { 0 }, reply[256];
	struct vmpacket_descriptor *d = (void *)pkt;
	struct nvsp_msg_init *init = (void *)(pkt + 16);
	struct nvsp_msg_init_complete ic;
	struct iovec iov = { pkt, sizeof(pkt) };
	uint64_t signals = 0, at_open = 0;
	ssize_t n = -EAGAIN;
	bool sig;

	cl = ovb_inproc_client(t->g[0].link);
	o = ovb_vsc_dev_offer(t->g[0].drv.dev[0]);
	assert_true(o->monitor_allocated & 1);
	assert_int_equal(ovb_vsc_open_user(t->g[0].drv.dev[0], 64 << 10,
					   64 << 10, &ring), 0);
	ovb_ring_attach(&out, ring, (uint8_t *)ring + 4096, 64 << 10, "out");
	ovb_ring_attach(&in, (uint8_t *)ring + (17 << 12),
			(uint8_t *)ring + (18 << 12), 64 << 10, "in");
	assert_int_equal(in.ctl->interrupt_mask, 1);
	/* The one signal that follows OPENCHANNEL_RESULT (docs/compat.md)
	 * is not the data path's: wait for it, then count from there. */
	for (int i = 0; i < 1000 && !at_open; i++) {
		ovb_server_report(t->srv, sum_signals, &at_open);
		if (!at_open)
			usleep(1000);
	}
	assert_int_equal(at_open, 1);
	ovb_client_sync_pages(cl, &int_page, &mon);
	mp = (void *)((uint8_t *)mon + 4096);

	d->type = VM_PKT_DATA_INBAND;
	d->offset8 = 2;
	d->len8 = sizeof(pkt) / 8;
	d->flags = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	d->trans_id = 0x1234;
	init->hdr.msg_type = NVSP_MSG_TYPE_INIT;
	init->min_protocol_ver = init->max_protocol_ver = 0x60001;
	assert_int_equal(ovb_ring_write(&out, &iov, 1, &sig), 0);
	__atomic_fetch_or(OVB_U32(mp->trigger_group[o->monitorid / 32].pending),
			  1u << (o->monitorid % 32), __ATOMIC_RELEASE);
	for (int i = 0; i < 5000 && n == -EAGAIN; i++) {
		n = ovb_ring_read(&in, reply, sizeof(reply));
		if (n == -EAGAIN)
			usleep(1000);
	}
	assert_true(n >= 16 + (ssize_t)sizeof(ic));
	ovb_ring_read_commit(&in);
	d = (void *)reply;
	assert_int_equal(d->type, VM_PKT_COMP);
	assert_int_equal(d->trans_id, 0x1234);
	memcpy(&ic, reply + d->offset8 * 8, sizeof(ic));
	assert_int_equal(ic.hdr.msg_type, NVSP_MSG_TYPE_INIT_COMPLETE);
	assert_int_equal(ic.status, NVSP_STAT_SUCCESS);
	assert_int_equal(in.ctl->interrupt_mask, 1);
	ovb_server_report(t->srv, sum_signals, &signals);
	assert_int_equal(signals, at_open);
	ovb_vsc_close(t->g[0].drv.dev[0]);
	nvfx_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpadls_before_open),
		cmocka_unit_test(test_uio_buffer_sizes),
		cmocka_unit_test(test_high_gpa),
		cmocka_unit_test(test_monitor_only),
		cmocka_unit_test(test_user_rings_monitor_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
