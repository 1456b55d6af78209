// SPDX-License-Identifier: MIT
/*
 * netvsp against what real guest drivers put on the wire and check in the
 * host's replies: a real host (netvsp on a virtual switch, plus a test
 * port on that switch that sees what the guest sent and injects frames
 * towards it) and a scripted guest that speaks NVSP and RNDIS byte by
 * byte the way Linux netvsc (drivers/net/hyperv) and DPDK's netvsc PMD do:
 * RNDIS messages split across pages in GPA-direct sends, several RNDIS
 * packets in one send section, offload PPIs that do not fit their frame,
 * DPDK's 31 MiB receive and 16 MiB send buffers, receive transaction ids
 * used as slot indices, and the checks both drivers make on the host's
 * completions and RNDIS replies.  docs/compat.md names each rule.
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
#include "openvmbus/netvsp.h"
#include "net/nvsp.h"
#include "openvmbus/offload.h"
#include "net/rndis.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/net-guest-fx.h"
#include "tests/lib/pair.h"

/*
 * What Linux rndis_filter_receive_data / rndis_get_ppi and DPDK
 * hn_rndis_rx_data check on every RNDIS PACKET the host delivers.
 * Linux loops forever on a PPI whose size exceeds what is left or whose
 * ppi_offset is not inside it, so those are hard rules for a host.
 */
static void check_rx_packet(const uint8_t *p, uint32_t range_len)
{
	uint32_t mlen = ld32(p + 4), doff = ld32(p + 8), dlen = ld32(p + 12);
	uint32_t poff = ld32(p + 28), plen = ld32(p + 32);

	assert_int_equal(ld32(p), RNDIS_MSG_PACKET);
	assert_true(range_len >= 44 && mlen <= range_len && mlen >= 44);
	assert_true(doff >= 36 && dlen >= 14 && 8 + doff + dlen <= mlen);
	assert_true(mlen >= dlen + plen);
	if (!poff) {
		assert_int_equal(plen, 0);
		return;
	}
	assert_true(poff >= 36 && !(poff & 3) && poff <= mlen - 8);
	assert_true(plen >= 12 && plen <= mlen - 8 - poff);
	for (const uint8_t *pi = p + 8 + poff; plen;) {
		uint32_t size = ld32(pi), ppi_off = ld32(pi + 8);

		assert_true(plen >= 12 && size <= plen && !(size & 3));
		assert_true(ppi_off >= 12 && ppi_off < size &&
			    size - ppi_off >= 4);
		plen -= size;
		pi += size;
	}
}

/*
 * Item 6, DPDK's netvsc PMD (hn_nvs_conn_rxbuf, hn_nvs_conn_chim,
 * hn_nvs_handle_rxbuf) and Linux (netvsc_init_buf, netvsc_receive):
 * uio_hv_generic's 31 MiB receive and 16 MiB send buffers are accepted;
 * the receive-buffer completion describes one section at offset 0; each
 * transfer-page packet's transaction id is a slot index below
 * num_sub_allocs and names the slot that holds its data, which stays the
 * guest's until that id is completed; duplicate and unknown completion
 * ids are ignored and counted.
 */
static void test_rxbuf_dpdk(void **state)
{
	struct sg_opts o = {.rx_len = 31u << 20, .tx_len = 16u << 20};
	struct sg *g = sg_new(&o);
	const uint8_t *c = g->recv_buf_comp;
	const size_t bad_off =
	    offsetof(struct ovb_netvsp_stats, bad_completions);
	bool seen[MAXREC] = {false};
	unsigned int first, n = 40;
	uint64_t bad0;

	/* SEND_RECV_BUF_COMPLETE: status, 1 section, offset 0. */
	assert_int_equal(ld32(c + 4), NVSP_STAT_SUCCESS);
	assert_true(g->recv_buf_comp_len >= 28 && g->recv_buf_comp_len <= 256);
	assert_int_equal(ld32(c + 8), 1);
	assert_int_equal(ld32(c + 12), 0);
	assert_true(g->sub_size >= 1514 + 44 && g->nsub >= 2);
	assert_true((uint64_t)g->sub_size * g->nsub <= g->rx_len);
	assert_int_equal(ld32(c + 24), g->sub_size * g->nsub);
	/* SEND_SEND_BUF_COMPLETE: a usable section size. */
	assert_true(g->section_size >= 68 && !(g->section_size & 3));

	g->hold = true;
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < n; i++)
		sg_inject(g, 60 + i * 30, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >= first + n);
	assert_int_equal(g->nxfer, first + n);
	for (unsigned int i = first; i < first + n; i++) {
		struct xfer_rec *x = &g->xfer[i];

		assert_int_equal(x->pageset, RXBUF_ID);
		assert_int_equal(x->nvsp_type, NVSP_MSG1_TYPE_SEND_RNDIS_PKT);
		assert_int_equal(x->channel_type, NVSP_CHANNEL_TYPE_DATA);
		assert_int_equal(x->nranges, 1);
		assert_true(x->xid < g->nsub);
		assert_false(seen[x->xid]);
		seen[x->xid] = true;
		assert_true(x->off >= x->xid * g->sub_size &&
			    x->len <= g->sub_size &&
			    x->off + x->len <= (x->xid + 1) * g->sub_size);
		check_rx_packet(g->rx + x->off, x->len);
		assert_int_equal(ld32(g->rx + x->off + 12),
				 60 + (i - first) * 30);
	}
	for (unsigned int i = first; i < first + n; i++)
		sg_ack(g, g->xfer[i].xid);
	/* The same ids again, and ids that were never handed out. */
	bad0 = sg_vsp_stat(g, bad_off);
	sg_ack(g, g->xfer[first].xid);
	sg_ack(g, g->xfer[first + 7].xid);
	sg_ack(g, g->nsub);
	sg_ack(g, 1ull << 40);
	PAIR_WAIT(sg_vsp_stat(g, bad_off) >= bad0 + 4);
	assert_int_equal(sg_vsp_stat(g, bad_off), bad0 + 4);
	/* The slots came back: more frames flow. */
	g->hold = false;
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < n; i++)
		sg_inject(g, 1514, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >= first + n);
	assert_int_equal(g->nxfer, first + n);
	sg_free(g);
}

/*
 * Linux sizes its receive-completion ring from num_sub_allocs
 * (netvsc_init_buf: recv_section_cnt + 1): the host never has more
 * transfer-page packets outstanding than there are sub-allocations; the
 * rest are dropped and counted until the guest completes some.
 */
static void test_rxbuf_exhaust(void **state)
{
	struct sg_opts o = {.rx_len = 64u << 10};
	struct sg *g = sg_new(&o);
	struct ovb_netvsp_stats st0, st;
	unsigned int first;

	g->hold = true;
	ovb_netvsp_get_stats(g->vsp, &st0);
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (unsigned int i = 0; i < 2 * g->nsub; i++)
		sg_inject(g, 1000, i);
	PAIR_WAIT(__atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) >=
		  first + g->nsub);
	usleep(20000);
	assert_int_equal(g->nxfer - first, g->nsub);
	ovb_netvsp_get_stats(g->vsp, &st);
	assert_int_equal(st.no_buffer - st0.no_buffer, g->nsub);
	g->hold = false;
	for (unsigned int i = first; i < first + g->nsub; i++)
		sg_ack(g, g->xfer[i].xid);
	/* Once the host has read the completions, frames flow again. */
	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	for (int i = 0;
	     i < 500 && __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE) == first;
	     i++) {
		sg_inject(g, 1000, 0);
		usleep(10000);
	}
	assert_int_equal(g->nxfer, first + 1);
	sg_free(g);
}

/* Receive buffer ceilings (docs/wire.md B9, Linux netvsc_init_buf): 15 MiB
 * up to NVSP 2, 31 MiB after. */
static void test_rxbuf_limits(void **state)
{
	struct {
		uint32_t nvsp;
		size_t len;
		uint32_t status;
	} c[] = {
	    {NVSP_PROTOCOL_VERSION_2, 16u << 20, NVSP_STAT_FAIL},
	    {NVSP_PROTOCOL_VERSION_2, 15u << 20, NVSP_STAT_SUCCESS},
	    {NVSP_PROTOCOL_VERSION_4, 31u << 20, NVSP_STAT_SUCCESS},
	    {NVSP_PROTOCOL_VERSION_61, 32u << 20, NVSP_STAT_FAIL},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sg_opts o = {.nvsp = c[i].nvsp,
				    .rx_len = SIZE_MAX,
				    .tx_len = SIZE_MAX,
				    .no_init = true};
		struct sg *g = sg_new(&o);

		assert_int_equal(sg_recv_buf(g, c[i].len), c[i].status);
		sg_free(g);
	}
}

/* A query's reply: checks Linux rndis_filter_query_device and DPDK
 * hn_rndis_query make, for a caller buffer of @room bytes. */
static void check_query(struct sg *g, uint32_t oid, uint32_t room)
{
	uint8_t q[64];
	uint32_t mlen, ilen, ioff;

	sg_rndis_query(q, oid, oid);
	sg_rndis(g, q, 28);
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
	assert_int_equal(ld32(g->last_ctl + 8), oid);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	mlen = ld32(g->last_ctl + 4);
	ilen = ld32(g->last_ctl + 16);
	ioff = ld32(g->last_ctl + 20);
	assert_true(mlen <= g->last_ctl_len);
	assert_true(ilen > 0 && ilen <= room);
	assert_true(ioff >= 16 && mlen - 8 >= ioff && ilen <= mlen - 8 - ioff);
}

/*
 * RNDIS replies as Linux (rndis_filter_init_device, _query_device) and
 * DPDK (hn_rndis_init, hn_rndis_query) read them: INITIALIZE_COMPLETE's
 * fields, and query values no longer than the fixed buffers the drivers
 * pass for each OID.
 */
static void test_rndis_replies(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	uint8_t b[64];

	memset(b, 0, sizeof(b));
	st32(b, RNDIS_MSG_INIT);
	st32(b + 4, 24);
	st32(b + 8, 77);
	st32(b + 12, 1);
	st32(b + 20, 0x4000);
	sg_rndis(g, b, 24);
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_INIT_C);
	assert_true(ld32(g->last_ctl + 4) >= 52);
	assert_int_equal(ld32(g->last_ctl + 8), 77);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	assert_int_equal(ld32(g->last_ctl + 16), 1); /* major */
	assert_int_equal(ld32(g->last_ctl + 20), 0); /* minor */
	assert_int_equal(ld32(g->last_ctl + 28), RNDIS_MEDIUM_802_3);
	assert_true(ld32(g->last_ctl + 32) >= 1);    /* pkts/msg */
	assert_true(ld32(g->last_ctl + 36) >= 6144); /* transfer */
	assert_true(ld32(g->last_ctl + 40) >= 2 &&
		    ld32(g->last_ctl + 40) <= 12); /* align */
	check_query(g, OID_802_3_PERMANENT_ADDRESS, 6);
	check_query(g, OID_802_3_CURRENT_ADDRESS, 6);
	check_query(g, OID_GEN_MAXIMUM_FRAME_SIZE, 4);
	check_query(g, OID_GEN_MEDIA_CONNECT_STATUS, 4);
	check_query(g, OID_GEN_LINK_SPEED, 4);
	check_query(g, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, 156);
	/* Linux rndis_query_hwcaps: type, revision, 6.0 size at least. */
	assert_int_equal(g->last_ctl[24], NDIS_OBJECT_TYPE_OFFLOAD);
	assert_true(g->last_ctl[25] >= 1);
	assert_true((ld32(g->last_ctl + 24) >> 16) >= NDIS_OFFLOAD_SIZE_6_0 &&
		    (ld32(g->last_ctl + 24) >> 16) <= 156);
	check_query(g, OID_GEN_RECEIVE_SCALE_CAPABILITIES, 18);
	assert_true((ld32(g->last_ctl + 24) >> 16) <= 18); /* header.size */
	sg_free(g);
}

/*
 * Sub-channels as Linux asks for them (rndis_set_subchannel,
 * netvsc_send_table): the SUBCHANNEL completion carries at most the
 * number asked for, and the send indirection table that follows has
 * exactly VRSS_SEND_TAB_SIZE (16) entries at offset 40 -- where Linux
 * reads it for NVSP <= 6 whatever the offset field says -- each naming a
 * channel that exists.
 */
static void test_subchannel_reply(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	uint32_t w[2] = {NVSP_SUBCHANNEL_ALLOCATE, 3};
	unsigned int before = __atomic_load_n(&g->ninband, __ATOMIC_ACQUIRE);
	struct comp_rec c;
	uint32_t n;

	assert_int_equal(sg_nvsp(g, NVSP_MSG5_TYPE_SUBCHANNEL, w, 2, &c), 1);
	assert_int_equal(ld32(c.msg), NVSP_MSG5_TYPE_SUBCHANNEL);
	assert_true(c.len >= NVSP_MESSAGE_SIZE && c.len <= 256);
	assert_int_equal(sg_nvsp_status(&c), NVSP_STAT_SUCCESS);
	n = ld32(c.msg + 8);
	assert_true(n >= 1 && n <= 3);
	PAIR_WAIT(__atomic_load_n(&g->ninband, __ATOMIC_ACQUIRE) > before);
	assert_int_equal(ld32(g->inband),
			 NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE);
	assert_int_equal(ld32(g->inband + 4), 16);
	assert_true(g->inband_len >= 40 + 16 * 4);
	for (int i = 0; i < 16; i++)
		assert_true(ld32(g->inband + 40 + 4 * i) <= n);
	sg_free(g);
}

/*
 * Link changes reach the guest as RNDIS INDICATE_STATUS messages that
 * Linux netvsc_linkstatus_callback (msg_len - 8 >= 12) and DPDK
 * hn_rndis_link_status accept: MEDIA_DISCONNECT, then MEDIA_CONNECT, on
 * the control channel type; OID_GEN_MEDIA_CONNECT_STATUS agrees.
 */
static void test_media_indications(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	const uint32_t want[2] = {RNDIS_STATUS_MEDIA_DISCONNECT,
				  RNDIS_STATUS_MEDIA_CONNECT};
	uint8_t q[64];

	for (int i = 0; i < 2; i++) {
		unsigned int before =
		    __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);

		ovb_netvsp_set_link(g->vsp, i == 1);
		PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > before);
		assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_INDICATE);
		assert_true(ld32(g->last_ctl + 4) >= 20 &&
			    ld32(g->last_ctl + 4) <= g->last_ctl_len);
		assert_int_equal(ld32(g->last_ctl + 8), want[i]);
		sg_rndis(g, q,
			 sg_rndis_query(q, 9, OID_GEN_MEDIA_CONNECT_STATUS));
		assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
		assert_int_equal(ld32(g->last_ctl + 24),
				 i ? NDIS_MEDIA_STATE_CONNECTED
				   : NDIS_MEDIA_STATE_DISCONNECTED);
	}
	sg_free(g);
}

/*
 * A MAC change the way Linux makes it (rndis_filter_set_device_mac):
 * SET OID_GEN_RNDIS_CONFIG_PARAMETER "NetworkAddress" = 12 hex digits in
 * UTF-16.  If the host says success, Linux commits the new address, so
 * the host must from then on pass directed frames for it (and no longer
 * for the old one) and report it as OID_802_3_CURRENT_ADDRESS; the
 * permanent address stays.  A value that is not a unicast MAC is refused.
 */
static void test_mac_change(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	const char *name = "NetworkAddress", *val = "02aabbccdd0e";
	const uint8_t new_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e};
	uint8_t b[128], cpi[20 + 28 + 24], old[6], q[64];
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED;
	unsigned int first;

	sg_rndis(g, q, sg_rndis_query(q, 5, OID_802_3_PERMANENT_ADDRESS));
	memcpy(old, g->last_ctl + 24, 6);
	sg_rndis(g, b,
		 sg_rndis_set(b, 6, OID_GEN_CURRENT_PACKET_FILTER, &filter, 4));
	memset(cpi, 0, sizeof(cpi));
	st32(cpi, 20);
	st32(cpi + 4, 28);
	st32(cpi + 8, RNDIS_CONFIG_PARAM_TYPE_STRING);
	st32(cpi + 12, 48);
	st32(cpi + 16, 24);
	for (int i = 0; i < 14; i++)
		cpi[20 + 2 * i] = (uint8_t)name[i];
	for (int i = 0; i < 12; i++)
		cpi[48 + 2 * i] = (uint8_t)val[i];
	sg_rndis(g, b,
		 sg_rndis_set(b, 7, OID_GEN_RNDIS_CONFIG_PARAMETER, cpi,
			      sizeof(cpi)));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	sg_rndis(g, q, sg_rndis_query(q, 8, OID_802_3_CURRENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, new_mac, 6);
	sg_rndis(g, q, sg_rndis_query(q, 9, OID_802_3_PERMANENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, old, 6);

	first = __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
	sg_inject_to(g, old);
	sg_inject_to(g, new_mac);
	PAIR_WAIT(sg_data_xfers(g, first) >= 1);
	usleep(20000);
	assert_int_equal(sg_data_xfers(g, first), 1);

	/* A multicast "address" is refused and changes nothing. */
	cpi[48] = '0';
	cpi[50] = '1';
	sg_rndis(g, b,
		 sg_rndis_set(b, 10, OID_GEN_RNDIS_CONFIG_PARAMETER, cpi,
			      sizeof(cpi)));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_not_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
	sg_rndis(g, q, sg_rndis_query(q, 11, OID_802_3_CURRENT_ADDRESS));
	assert_memory_equal(g->last_ctl + 24, new_mac, 6);
	sg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rxbuf_dpdk),
	    cmocka_unit_test(test_rxbuf_exhaust),
	    cmocka_unit_test(test_rxbuf_limits),
	    cmocka_unit_test(test_rndis_replies),
	    cmocka_unit_test(test_subchannel_reply),
	    cmocka_unit_test(test_media_indications),
	    cmocka_unit_test(test_mac_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
