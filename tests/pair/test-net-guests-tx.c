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
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/net-guest-fx.h"
#include "tests/lib/pair.h"

/*
 * Item 1 (openvmm #1590): Linux >= 6.14 netvsc hands the RNDIS message to
 * the host as page buffers that may cut it anywhere -- inside the 8-byte
 * type and length, the PACKET body, the PPIs -- across two or three
 * ranges, or as one range over two PFNs.  Data and control alike.
 */
static void test_rndis_split_pages(void **state)
{
	struct sg_opts o = {.tx_len = SIZE_MAX};
	struct sg *g = sg_new(&o);
	uint8_t msg[400], q[64];
	size_t len = sg_tx_packet(msg, 200, 1), qlen;

	for (size_t k = 1; k < len; k += k < 100 ? 1 : 37) {
		for (int layout = 0; layout < 3; layout++) {
			size_t k2 = layout == 2 ? 5 : 0;

			if (layout == 2 && k + k2 >= len)
				continue;
			assert_int_equal(
			    sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg, len,
					  k, k2, layout == 1),
			    NVSP_STAT_SUCCESS);
			PAIR_WAIT(sg_nsink(g) >= 1);
			assert_int_equal(sg_nsink(g), 1);
			assert_int_equal(g->sink_len[0], 200);
			assert_memory_equal(g->sink[0], msg + 76, 200);
			assert_true(g->sink_meta[0].flags & OVB_NET_META_VLAN);
			assert_int_equal(g->sink_meta[0].vlan_tci & 0xfff, 5);
			sg_sink_reset(g);
		}
	}
	/* Control messages, split at every byte. */
	qlen = sg_rndis_query(q, 0, OID_802_3_CURRENT_ADDRESS);
	for (size_t k = 1; k < qlen; k++) {
		for (int layout = 0; layout < 2; layout++) {
			unsigned int before =
			    __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);

			st32(q + 8, (uint32_t)(100 + k * 2 + layout));
			assert_int_equal(
			    sg_send_split(g, NVSP_CHANNEL_TYPE_CONTROL, q, qlen,
					  k, 0, layout == 1),
			    NVSP_STAT_SUCCESS);
			PAIR_WAIT(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) >
				  before);
			assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_QUERY_C);
			assert_int_equal(ld32(g->last_ctl + 8),
					 100 + k * 2 + layout);
			assert_int_equal(ld32(g->last_ctl + 12),
					 RNDIS_STATUS_SUCCESS);
			assert_int_equal(ld32(g->last_ctl + 16), 6);
		}
	}
	sg_free(g);
}

/*
 * Item 3 (openvmm #2141): one malformed RNDIS message among several in a
 * send section.  The others reach the switch; the NVSP packet gets one
 * completion, with NVSP_STAT_FAIL, never two.
 */
static void test_batch_one_bad(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	uint8_t sec[6144];
	size_t off, a, b;
	unsigned int n;

	for (int bad = 0; bad < 3; bad++) {
		off = 0;
		for (int i = 0; i < 3; i++) {
			a = sg_tx_packet(sec + off, 100, (uint32_t)i);
			if (i == bad)
				st32(sec + off + 12, 5000); /* data past msg */
			off += a;
		}
		sg_sink_reset(g);
		assert_int_equal(sg_send_section(g, 1, sec, off, &n),
				 NVSP_STAT_FAIL);
		PAIR_WAIT(sg_nsink(g) >= 2);
		usleep(50000);
		assert_int_equal(n, 1);
		assert_int_equal(sg_comps(g, g->next_xid, NULL), 1);
		assert_int_equal(sg_nsink(g), 2);
		for (int i = 0, j = 0; i < 3; i++) {
			if (i == bad)
				continue;
			sg_tx_packet(sec, 100, (uint32_t)i);
			assert_memory_equal(g->sink[j], sec + 76, 100);
			j++;
		}
	}
	/* A middle message whose own length is garbage: nothing after it
	 * can be found, the first still goes, one failed completion. */
	a = sg_tx_packet(sec, 100, 0);
	b = sg_tx_packet(sec + a, 100, 1);
	st32(sec + a + 4, 3);
	sg_tx_packet(sec + a + b, 100, 2);
	sg_sink_reset(g);
	assert_int_equal(sg_send_section(g, 2, sec, a + 2 * b, &n),
			 NVSP_STAT_FAIL);
	usleep(50000);
	assert_int_equal(sg_comps(g, g->next_xid, NULL), 1);
	assert_int_equal(sg_nsink(g), 1);
	/* And a clean batch still succeeds. */
	off = 0;
	for (int i = 0; i < 3; i++)
		off += sg_tx_packet(sec + off, 100, (uint32_t)i);
	sg_sink_reset(g);
	assert_int_equal(sg_send_section(g, 3, sec, off, &n),
			 NVSP_STAT_SUCCESS);
	PAIR_WAIT(sg_nsink(g) >= 3);
	assert_int_equal(sg_nsink(g), 3);
	sg_free(g);
}

/*
 * Item 5: LSO with MSS 0, below the host's minimum, headers past the
 * frame, or less payload than one segment; checksum PPIs on frames too
 * short for the headers they name.  Each is dropped and counted in
 * netvsp's stats (offload_dropped), never segmented; the send completes
 * with NVSP_STAT_FAIL.  A sane LSO frame still goes, in segments.
 */
static void test_offload_garbage(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	static uint8_t f[4000], msg[4200];
	const uint32_t lso =
	    NDIS_LSO2_INFO_ISLSO2 | 34u << NDIS_LSO2_INFO_THOFF_SHIFT;
	const uint32_t csum = NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_TCPCS;
	struct {
		size_t payload, flen; /* flen 0: the whole TCP frame */
		uint32_t type, val;
	} bad[] = {
	    {3000, 0, NDIS_PPI_LSO, lso | 0},
	    {3000, 0, NDIS_PPI_LSO, lso | 10},
	    {500, 0, NDIS_PPI_LSO,
	     NDIS_LSO2_INFO_ISLSO2 | 100 | 1000u << NDIS_LSO2_INFO_THOFF_SHIFT},
	    {100, 0, NDIS_PPI_LSO, lso | 1400},
	    {0, 0, NDIS_PPI_LSO, lso | 1400},
	    {0, 30, NDIS_PPI_LSO, lso | 1400},
	    {0, 30, NDIS_PPI_CHECKSUM, csum},
	    {0, 40, NDIS_PPI_CHECKSUM, csum | 34u << 16},
	    {0, 20, NDIS_PPI_CHECKSUM,
	     NDIS_TXCSUM_INFO_IPV4 | NDIS_TXCSUM_INFO_IPCS},
	};
	uint64_t before =
	    sg_vsp_stat(g, offsetof(struct ovb_netvsp_stats, offload_dropped));
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = nff_tcp4(f, bad[i].payload, 0);
		if (bad[i].flen)
			len = bad[i].flen;
		len = sg_tx_ppi_packet(msg, f, len, bad[i].type, bad[i].val);
		sg_sink_reset(g);
		assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg,
					       len, len / 2, 0, false),
				 NVSP_STAT_FAIL);
		usleep(20000);
		assert_int_equal(sg_nsink(g), 0);
		assert_int_equal(
		    sg_vsp_stat(
			g, offsetof(struct ovb_netvsp_stats, offload_dropped)),
		    before + i + 1);
	}
	len = sg_tx_ppi_packet(msg, f, nff_tcp4(f, 3000, 0), NDIS_PPI_LSO,
			       lso | 1000);
	assert_int_equal(
	    sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg, len, 100, 0, false),
	    NVSP_STAT_SUCCESS);
	PAIR_WAIT(sg_nsink(g) >= 3);
	assert_int_equal(sg_nsink(g), 3);
	assert_int_equal(g->sink_len[0], 54 + 1000);
	sg_free(g);
}

/*
 * IPv4 header checksum offload alone (NDIS_TXCSUM_INFO_IPCS without TCP
 * or UDP), which FreeBSD's hn sets on every IPv4 packet once the host
 * offers NDIS_TXCSUM_CAP_IP4 -- ICMP and IP fragments included: the
 * host fills the header checksum and forwards the frame.
 */
static void test_ipcs_only(void **state)
{
	struct sg_opts o = {0};
	struct sg *g = sg_new(&o);
	uint8_t f[14 + 20 + 8 + 32], msg[256];
	size_t len;

	for (int frag = 0; frag < 2; frag++) {
		memset(f, 0, sizeof(f));
		memset(f, 0xff, 6);
		memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 20 + 8 + 32;
		f[20] = frag ? 0x20 : 0; /* more fragments */
		f[22] = 64;
		f[23] = frag ? 17 : 1; /* UDP fragment, or ICMP */
		memcpy(f + 26, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
		f[34] = 8; /* echo request */
		for (int i = 42; i < (int)sizeof(f); i++)
			f[i] = (uint8_t)i;
		len = sg_tx_ppi_packet(msg, f, sizeof(f), NDIS_PPI_CHECKSUM,
				       NDIS_TXCSUM_INFO_IPV4 |
					   NDIS_TXCSUM_INFO_IPCS);
		sg_sink_reset(g);
		assert_int_equal(sg_send_split(g, NVSP_CHANNEL_TYPE_DATA, msg,
					       len, 60, 0, false),
				 NVSP_STAT_SUCCESS);
		PAIR_WAIT(sg_nsink(g) >= 1);
		assert_int_equal(sg_nsink(g), 1);
		assert_int_equal(g->sink_len[0], sizeof(f));
		assert_int_equal(ovb_offload_csum_fold(ovb_offload_csum_add(
				     0, g->sink[0] + 14, 20)),
				 0);
		assert_memory_equal(g->sink[0] + 34, f + 34, sizeof(f) - 34);
	}
	sg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rndis_split_pages),
	    cmocka_unit_test(test_batch_one_bad),
	    cmocka_unit_test(test_offload_garbage),
	    cmocka_unit_test(test_ipcs_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
