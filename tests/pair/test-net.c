// SPDX-License-Identifier: MIT
/*
 * Pair tests of the synthetic NIC: a real server with netvsp on a virtual
 * switch and two real guests with netvsc, in one process over the inproc
 * link.  NVSP negotiation at every version, RNDIS init and OID traffic,
 * frames of every size from 60 bytes to the MTU through send sections and
 * page buffers, jumbo frames, batching, link down/up, a silent host,
 * checksum offload across the switch.  Sub-channels and RSS:
 * test-net-rss.c.
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
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

/* Guests on the slow signalling path (ovb_inproc_freeze_host works). */
static bool net_slow;

/* Two guests, each NIC opened with @np (NULL: defaults), frames logged. */
static struct nvfx *net_new(uint32_t mtu, const struct ovb_netvsc_params *np)
{
	struct nvfx_opts o = { .cfg = { .mtu = mtu }, .guests = 2,
			       .no_eventfd = net_slow, .log = true };
	struct ovb_netvsc_params p[2] = { { 0 } };

	if (np)
		p[0] = p[1] = *np;
	return nvfx_new(&o, p);
}

/* Guest @a sends frames of @lens to guest @b; each arrives intact. */
static void exchange(struct nvfx *t, int a, int b, const uint32_t *lens,
		     unsigned int n, bool more)
{
	struct ovb_netvsc_info ia, ib;
	static uint8_t f[9100];
	struct nvfx_log *r = &t->log[b];

	ovb_netvsc_get_info(t->g[a].nic, &ia);
	ovb_netvsc_get_info(t->g[b].nic, &ib);
	nvfx_log_reset(r);
	for (unsigned int i = 0; i < n; i++) {
		nff_eth(f, lens[i], ib.mac, ia.mac, 7, i);
		assert_int_equal(ovb_netvsc_send(t->g[a].nic, 0, f, lens[i],
						 NULL, more), 0);
	}
	ovb_netvsc_flush(t->g[a].nic, 0);
	PAIR_WAIT(nvfx_log_count(r) >= n);
	assert_int_equal(nvfx_log_count(r), n);
	for (unsigned int i = 0; i < n && i < NVFX_MAXF; i++) {
		nff_eth(f, lens[i], ib.mac, ia.mac, 7, i);
		assert_int_equal(r->len[i], lens[i]);
		assert_memory_equal(r->frame[i], f, lens[i]);
	}
}

static void test_every_version(void **state)
{
	for (int v = 0; v < OVB_NVSP_VERSION_COUNT; v++) {
		struct ovb_netvsc_params p = { .max_nvsp = ovb_nvsp_versions[v] };
		struct nvfx *t = net_new(0, &p);
		struct ovb_netvsc_info info;
		uint32_t lens[3] = { 60, 600, 1514 };

		ovb_netvsc_get_info(t->g[0].nic, &info);
		assert_int_equal(info.nvsp_version, ovb_nvsp_versions[v]);
		assert_int_equal(info.ndis_version,
				 ovb_nvsp_ndis_version(ovb_nvsp_versions[v]));
		assert_int_equal(info.mtu, 1500);
		assert_true(info.link_up);
		assert_true(info.csum);
		/* 4 MiB send buffer (the default): 256 sections of 16 KiB. */
		assert_int_equal(info.send_section, 16384);
		exchange(t, 0, 1, lens, 3, false);
		exchange(t, 1, 0, lens, 3, false);
		nvfx_free(t);
	}
}

/*
 * The host cuts a send buffer that holds 256 sections of 16 KiB into
 * those, so a guest packs up to 10 frames of 1514 bytes per send (3 in
 * 6144); a smaller buffer keeps Windows' 6144.  Frames of every size
 * still arrive whole through either.
 */
static void test_send_sections(void **state)
{
	static const struct {
		uint32_t buf, section;
	} c[] = { { 4u << 20, 16384 }, { (4u << 20) - 4096, 6144 },
		  { 1u << 20, 6144 }, { 64u << 10, 6144 } };
	uint32_t lens[10] = { 1514, 1514, 1514, 1514, 1514,
			      1514, 1514, 1514, 60, 9000 };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ovb_netvsc_params p = { .send_buf_bytes = c[i].buf };
		struct nvfx *t = net_new(9000, &p);
		struct ovb_netvsc_info info;
		struct ovb_netvsc_stats st;

		ovb_netvsc_get_info(t->g[0].nic, &info);
		assert_int_equal(info.send_section, c[i].section);
		exchange(t, 0, 1, lens, 10, true);
		ovb_netvsc_get_stats(t->g[0].nic, &st);
		assert_int_equal(st.tx_frames, 10);
		/*
		 * 16 KiB: the 8 of 1514 and 60 (netvsp takes 64 messages a
		 * send), then 9000.  6 KiB: 3, 3, 2 and 60, then 9000 as a
		 * page buffer.
		 */
		assert_int_equal(st.tx_sends, c[i].section == 16384 ? 2 : 4);
		nvfx_free(t);
	}
}

static void test_rndis_oids(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	struct ovb_netvsc_info info;
	uint8_t buf[512], mcast[12] = { 0x01, 0, 0x5e, 0, 0, 1,
					0x33, 0x33, 0, 0, 0, 1 };
	uint32_t v;
	uint64_t v64;
	size_t len;

	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_equal(info.mac[0], 0x00);
	assert_int_equal(info.mac[1], 0x15);
	assert_int_equal(info.mac[2], 0x5d);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic,
					  OID_802_3_CURRENT_ADDRESS, buf, &len),
			 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, info.mac, 6);
	len = sizeof(v);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_LINK_SPEED, &v,
					  &len), 0);
	assert_int_equal(v, 100000000);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_SUPPORTED_LIST,
					  buf, &len), 0);
	assert_true(len >= 30 * 4);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					mcast, sizeof(mcast)), 0);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					  buf, &len), 0);
	assert_int_equal(len, 12);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic, OID_802_3_MULTICAST_LIST,
					mcast, 7), -EIO);
	assert_int_equal(ovb_netvsc_keepalive(t->g[0].nic), 0);
	len = sizeof(buf);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, 0x0badbeef, buf, &len),
			 -EIO);
	uint32_t lens[1] = { 100 };

	exchange(t, 0, 1, lens, 1, false);
	len = sizeof(v64);
	assert_int_equal(ovb_netvsc_query(t->g[0].nic, OID_GEN_XMIT_OK, &v64,
					  &len), 0);
	assert_int_equal(v64, 1);
	nvfx_free(t);
}

/* 60..1514 through send sections, batched and unbatched. */
static void test_every_size(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	uint32_t lens[NVFX_MAXF];
	unsigned int n = 0;

	for (uint32_t len = 60; len <= 1514; len++) {
		lens[n++] = len;
		if (n == NVFX_MAXF || len == 1514) {
			exchange(t, 0, 1, lens, n, (len & 1) != 0);
			n = 0;
		}
	}
	struct ovb_netvsc_stats st;

	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_frames, 1514 - 60 + 1);
	assert_int_equal(st.tx_errors, 0);
	assert_true(st.tx_sends < st.tx_frames); /* batching happened */
	nvfx_free(t);
}

/* Page buffers only, every size up to 1514 in steps. */
static void test_page_buffers(void **state)
{
	struct ovb_netvsc_params p = { .no_send_buf = true };
	struct nvfx *t = net_new(0, &p);
	uint32_t lens[64];
	unsigned int n = 0;
	struct ovb_netvsc_stats st;

	for (uint32_t len = 60; len <= 1514; len += 23)
		lens[n++] = len;
	exchange(t, 0, 1, lens, n, true);
	ovb_netvsc_get_stats(t->g[0].nic, &st);
	assert_int_equal(st.tx_pagebuf, n);
	nvfx_free(t);
}

static void test_jumbo(void **state)
{
	struct nvfx *t = net_new(9000, NULL);
	struct ovb_netvsc_info info;
	uint32_t lens[] = { 60, 1514, 6000, 6144, 6200, 8000, 9014 };

	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_int_equal(info.mtu, 9000);
	exchange(t, 0, 1, lens, sizeof(lens) / 4, false);
	exchange(t, 1, 0, lens, sizeof(lens) / 4, true);
	nvfx_free(t);
}

static void test_link(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	struct ovb_netvsc_info info;
	uint32_t lens[1] = { 200 };
	static uint8_t f[200];

	ovb_netvsp_set_link(t->vsp, false);
	PAIR_WAIT(__atomic_load_n(&t->log[1].link, __ATOMIC_ACQUIRE) == 0);
	assert_int_equal(t->log[1].link, 0);
	ovb_netvsc_get_info(t->g[1].nic, &info);
	assert_false(info.link_up);
	nvfx_log_reset(&t->log[1]);
	nff_eth(f, 200, info.mac, info.mac, 7, 0);
	f[6] = 0x02; /* a source MAC that is not multicast */
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, 200, NULL, false),
			 0);
	usleep(100000);
	assert_int_equal(nvfx_log_count(&t->log[1]), 0);
	ovb_netvsp_set_link(t->vsp, true);
	PAIR_WAIT(__atomic_load_n(&t->log[1].link, __ATOMIC_ACQUIRE) == 1);
	assert_int_equal(t->log[1].link, 1);
	exchange(t, 0, 1, lens, 1, false);
	nvfx_free(t);
}

/* A UDP/IPv4 frame with its checksum left to the host arrives valid. */
static void test_csum_offload(void **state)
{
	struct nvfx *t = net_new(0, NULL);
	struct ovb_netvsc_info ia, ib;
	struct ovb_net_meta meta = { 0 };
	uint8_t f[14 + 20 + 8 + 100] = { 0 };
	struct nvfx_log *r = &t->log[1];

	ovb_netvsc_get_info(t->g[0].nic, &ia);
	ovb_netvsc_get_info(t->g[1].nic, &ib);
	memcpy(f, ib.mac, 6);
	memcpy(f + 6, ia.mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 20 + 8 + 100;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[34] = 0x12;
	f[36] = 0x34;
	f[39] = 108;
	for (int i = 0; i < 100; i++)
		f[42 + i] = (uint8_t)i;
	meta.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM;
	meta.csum_start = 34;
	meta.csum_offset = 6;
	nvfx_log_reset(r);
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, sizeof(f), &meta,
					 false), 0);
	PAIR_WAIT(nvfx_log_count(r) >= 1);
	assert_int_equal(nvfx_log_count(r), 1);
	assert_true(r->meta[0].flags & OVB_NET_META_CSUM_VALID);
	/* Our receive side verifies both checksums itself. */
	assert_int_equal(ovb_offload_csum_fold(ovb_offload_csum_add(
				 0, r->frame[0] + 14, 20)), 0);
	assert_true(r->frame[0][40] || r->frame[0][41]);
	nvfx_free(t);
}

/*
 * The host stops answering (frozen) and a control request goes
 * unanswered: netvsc stops its queues (-ENETDOWN) and reports the link
 * down, as a front end needs to drop its carrier; it still closes.
 */
static void test_silent_host(void **state)
{
	struct nvfx *t;
	struct ovb_netvsc_info info;
	uint32_t filter = 0xb; /* directed | multicast | broadcast */
	static uint8_t f[200];

	/* The host's silence is noticed after 1 s, not the default 5. */
	net_slow = true;
	t = net_new(0, &(struct ovb_netvsc_params){ .ctl_timeout_ms = 1000 });
	net_slow = false;
	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_true(info.link_up);
	ovb_inproc_freeze_host(t->g[0].link, true);
	assert_int_equal(ovb_netvsc_set(t->g[0].nic,
					OID_GEN_CURRENT_PACKET_FILTER,
					&filter, sizeof(filter)), -ETIMEDOUT);
	assert_int_equal(__atomic_load_n(&t->log[0].link, __ATOMIC_ACQUIRE),
			 0);
	ovb_netvsc_get_info(t->g[0].nic, &info);
	assert_false(info.link_up);
	nff_eth(f, 200, info.mac, info.mac, 7, 0);
	assert_int_equal(ovb_netvsc_send(t->g[0].nic, 0, f, 200, NULL, false),
			 -ENETDOWN);
	assert_int_equal(ovb_netvsc_keepalive(t->g[0].nic), -ENETDOWN);
	ovb_inproc_freeze_host(t->g[0].link, false);
	/* The other guest never noticed. */
	ovb_netvsc_get_info(t->g[1].nic, &info);
	assert_true(info.link_up);
	nvfx_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_send_sections),
		cmocka_unit_test(test_rndis_oids),
		cmocka_unit_test(test_every_size),
		cmocka_unit_test(test_page_buffers),
		cmocka_unit_test(test_jumbo),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_silent_host),
		cmocka_unit_test(test_csum_offload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
