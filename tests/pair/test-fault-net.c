// SPDX-License-Identifier: MIT
/*
 * The fault engine against our real netvsc: a server with netvsp on a
 * virtual switch and two guests in one process, the first attacked
 * (partition=g0), the second a witness that must never notice.  NVSP
 * messages that lie about the receive and send buffers, RNDIS messages
 * whose lengths and offsets lie (at initialisation and on data frames),
 * transfer-page ranges outside the receive buffer, an NVSP version never
 * proposed, and random flips over the NIC's packets.
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
#include "openvmbus/fault.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "net/rndis.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

/* Two guests, every frame logged; the NIC of each opened, its result kept. */
static struct nvfx *net_new(void)
{
	return nvfx_new(&(struct nvfx_opts){ .guests = 2, .log = true,
					      .open_may_fail = true },
			NULL);
}

static void net_free(struct nvfx *t)
{
	nvfx_free(t);
	ovb_fault_clear();
}

static void arm(const char *spec)
{
	struct ovb_fault_spec s;
	char err[160];

	assert_int_equal(ovb_fault_parse(spec, &s, err, sizeof(err)), 0);
	assert_int_equal(ovb_fault_add(&s), 0);
}

/*
 * Guest @a sends @n frames to guest @b; the frames that arrive are
 * intact, and at least @min of them arrive.  Returns how many did.
 */
static unsigned int send_frames(struct nvfx *t, int a, int b, unsigned int n,
				unsigned int min)
{
	struct ovb_netvsc_info ia, ib;
	struct nvfx_log *r = &t->log[b];
	uint8_t f[200];
	unsigned int got;

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	nvfx_log_reset(r);
	for (unsigned int i = 0; i < n; i++) {
		nff_eth(f, sizeof(f), ib.mac, ia.mac, 7, i);
		assert_int_equal(ovb_netvsc_send(t->g[a].nic, 0, f, sizeof(f),
						 NULL, false), 0);
		usleep(2000);
	}
	/* The frames a fault spoiled never come: wait for the rest, then
	 * give a late one 200 ms. */
	PAIR_WAIT(nvfx_log_count(r) >= min);
	for (int w = 0; w < 200 && nvfx_log_count(r) < n; w++)
		usleep(1000);
	usleep(20000);
	got = nvfx_log_count(r);
	assert_true(got >= min && got <= n);
	for (unsigned int i = 0; i < got; i++) {
		uint32_t seed;

		assert_int_equal(r->len[i], sizeof(f));
		/* Which frame it is: byte 14 is 14 * 7 + seed. */
		seed = (uint8_t)(r->frame[i][14] - 98);
		nff_eth(f, sizeof(f), ib.mac, ia.mac, 7, seed);
		assert_memory_equal(r->frame[i], f, sizeof(f));
	}
	return got;
}

/* The witness guest g1 still works, and so does g0 if its NIC opened:
 * frames cross intact both ways. */
static void witness_ok(struct nvfx *t)
{
	struct ovb_netvsc_info info;

	assert_int_equal(t->g[1].open_rc, 0);
	ovb_netvsc_get_info(t->g[1].nic, &info);
	assert_true(info.link_up);
	if (t->g[0].nic) {
		send_frames(t, 1, 0, 4, 4);
		send_frames(t, 0, 1, 4, 4);
	}
}

/* Lies during NVSP set-up: g0's open fails with an error; g1 works. */
static void test_nvsp_lie_setup(void **state)
{
	const char *specs[] = {
		"nvsp-lie,partition=g0",         /* RECV_BUF_COMPLETE */
		"nvsp-lie,partition=g0,after=1", /* SEND_BUF_COMPLETE */
		"rndis-lie,partition=g0",        /* INIT_CMPLT msg_len */
		"rndis-lie,partition=g0,after=1", /* a QUERY_CMPLT */
		"pkt-len,partition=g0,device=nic,after=3",
		"gpadl-refuse,partition=g0,device=nic,after=1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct nvfx *t;

		arm(specs[i]);
		t = net_new();
		print_message("%s: g0 open: %s\n", specs[i],
			      strerror(-t->g[0].open_rc));
		assert_int_not_equal(ovb_fault_fired(), 0);
		assert_int_not_equal(t->g[0].open_rc, 0);
		witness_ok(t);
		net_free(t);
	}
}

/*
 * Lies on the data path, armed after both NICs opened: the frame that
 * carries the lie is dropped by g0, the rest arrive intact, and g0 keeps
 * working both ways.
 */
static void test_data_path_lies(void **state)
{
	const char *specs[] = {
		"rndis-lie,partition=g0",
		"xfer-range,partition=g0,device=nic",
		"stray-comp,partition=g0,device=nic",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct nvfx *t = net_new();

		assert_int_equal(t->g[0].open_rc, 0);
		assert_int_equal(t->g[1].open_rc, 0);
		arm(specs[i]);
		unsigned int got = send_frames(t, 1, 0, 4, 3);

		print_message("%s: %u of 4 frames arrived\n", specs[i], got);
		assert_int_equal(ovb_fault_fired(), 1);
		ovb_fault_clear();
		witness_ok(t);
		net_free(t);
	}
}

/* NVSP INIT_COMPLETE naming a version never proposed: a deprecated field
 * that a guest must not use; the NIC works at the version it asked. */
static void test_nvsp_version_lie(void **state)
{
	struct ovb_netvsc_info info;
	struct nvfx *t;

	(void)state;
	arm("version-lie,partition=g0,device=nic");
	t = net_new();
	assert_int_not_equal(ovb_fault_fired(), 0);
	assert_int_equal(t->g[0].open_rc, 0);
	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_not_equal(info.nvsp_version, 0x00ff0001);
	witness_ok(t);
	net_free(t);
}

/* Random flips over g0's NIC packets for a while: no crash, no hang,
 * and g1 never notices. */
static void test_random(void **state)
{
	struct nvfx *t = net_new();
	struct ovb_netvsc_info ia, ib;
	uint8_t f[200];

	(void)state;
	assert_int_equal(t->g[0].open_rc, 0);
	arm("random,partition=g0,device=nic,probability=0.2,seed=7");
	ovb_netvsc_get_info(t->g[0].nic, &ia);
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	for (int i = 0; i < 300; i++) {
		nff_eth(f, sizeof(f), ib.mac, ia.mac, 7, (uint32_t)i);
		ovb_netvsc_send(t->g[0].nic, 0, f, sizeof(f), NULL, false);
		nff_eth(f, sizeof(f), ia.mac, ib.mac, 7, (uint32_t)i);
		assert_int_equal(ovb_netvsc_send(t->g[1].nic, 0, f, sizeof(f),
						 NULL, false), 0);
		usleep(500);
	}
	print_message("random: %llu flips\n",
		      (unsigned long long)ovb_fault_fired());
	assert_int_not_equal(ovb_fault_fired(), 0);
	ovb_fault_clear();
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	assert_true(ib.link_up);
	net_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvsp_lie_setup),
		cmocka_unit_test(test_data_path_lies),
		cmocka_unit_test(test_nvsp_version_lie),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
