// SPDX-License-Identifier: MIT
/*
 * netvsp towards the guest, seen on the wire by a scripted Linux-like
 * guest (tests/lib/net-guest-fx): frames delivered in one switch batch
 * arrive as one transfer-page packet with a range per frame; completions
 * for slots of a batch other than its transaction id, unknown ids and
 * duplicates are refused and counted and free nothing; a guest that
 * stops completing slows the source down and then loses frames, counted;
 * receive segment coalescing appears exactly as Linux's netvsc reads it,
 * and only for a guest that asked for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/netvsp.h"
#include "net/nvsp.h"
#include "openvmbus/offload.h"
#include "net/rndis.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/net-guest-fx.h"
#include "tests/lib/pair.h"

#define STAT(f) sg_vsp_stat(g, offsetof(struct ovb_netvsp_stats, f))

static void set_hold(struct sg *g, bool hold)
{
	pthread_mutex_lock(&g->lock);
	g->hold = hold;
	pthread_mutex_unlock(&g->lock);
}

static unsigned int nxfer(struct sg *g)
{
	return __atomic_load_n(&g->nxfer, __ATOMIC_ACQUIRE);
}

/* What sg_inject(g, len, seed) sends. */
static void injected(uint8_t *f, size_t len, uint32_t seed)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 9 };

	nff_eth(f, len, bcast, src, 1, seed);
}

/* @n frames (lengths 60 + 10 i, seed @seed + i) in one switch batch. */
static void inject_batch(struct sg *g, unsigned int n, uint32_t seed)
{
	ovb_vswitch_batch_begin(g->sw);
	for (unsigned int i = 0; i < n; i++)
		sg_inject(g, 60 + 10 * i, seed + i);
	ovb_vswitch_batch_end(g->sw);
}

/*
 * @n frames of 1500 bytes (seed @seed + i) in one switch batch: each
 * fills a 1728-byte slot (rx_slot 1728), none shares one.
 */
static void inject_big(struct sg *g, unsigned int n, uint32_t seed)
{
	ovb_vswitch_batch_begin(g->sw);
	for (unsigned int i = 0; i < n; i++)
		sg_inject(g, 1500, seed + i);
	ovb_vswitch_batch_end(g->sw);
}

/*
 * The ranges of @x are packed as netvsp packs them: each inside one slot
 * (sub-allocation), 8-byte aligned, none overlapping another, the first
 * in the slot of the transaction id.  Returns how many slots they use.
 */
static uint32_t assert_packed(struct sg *g, const struct xfer_rec *x)
{
	uint32_t n = x->nranges < MAXRANGES ? x->nranges : MAXRANGES;
	uint32_t used[MAXRANGES], nused = 0;

	assert_int_equal(x->roff[0] / g->sub_size, x->xid);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = x->roff[i] / g->sub_size;
		bool seen = false;

		assert_int_equal(x->roff[i] % 8, 0);
		assert_true(x->rlen[i] <= g->sub_size);
		assert_true(x->roff[i] + x->rlen[i] <= (s + 1) * g->sub_size);
		for (uint32_t j = 0; j < i; j++)
			assert_true(x->roff[i] >= x->roff[j] + x->rlen[j] ||
				    x->roff[j] >= x->roff[i] + x->rlen[i]);
		for (uint32_t k = 0; k < nused; k++)
			seen |= used[k] == s;
		if (!seen)
			used[nused++] = s;
	}
	return nused;
}

/* Range @i of transfer @x parses as an RNDIS PACKET; returns it. */
static struct ovb_rndis_packet range_pkt(struct sg *g,
					 const struct xfer_rec *x, uint32_t i)
{
	struct ovb_rndis_packet p;

	assert_true(i < MAXRANGES && i < x->nranges);
	assert_true(x->roff[i] <= g->rx_len &&
		    x->rlen[i] <= g->rx_len - x->roff[i]);
	assert_int_equal(ovb_rndis_packet_parse(g->rx + x->roff[i],
						x->rlen[i], &p), 0);
	return p;
}

static void test_one_packet_per_batch(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	uint64_t b0 = STAT(to_guest_batches), t0 = STAT(to_guest);
	unsigned int n0;
	uint8_t f[400];

	set_hold(g, true);
	n0 = nxfer(g);
	inject_batch(g, 20, 5);
	PAIR_WAIT(nxfer(g) >= n0 + 1);
	usleep(20000);
	assert_int_equal(nxfer(g), n0 + 1);
	assert_int_equal(STAT(to_guest_batches) - b0, 1);
	assert_int_equal(STAT(to_guest) - t0, 20);
	{
		struct xfer_rec *x = &g->xfer[n0];

		assert_int_equal(x->nranges, 20);
		assert_int_equal(x->channel_type, NVSP_CHANNEL_TYPE_DATA);
		assert_int_equal(x->pageset, RXBUF_ID);
		/* 20 frames of 60..250 bytes: packed into one 16 KiB slot. */
		assert_int_equal(g->sub_size, 16384);
		assert_int_equal(assert_packed(g, x), 1);
		for (uint32_t i = 0; i < 20; i++) {
			struct ovb_rndis_packet p = range_pkt(g, x, i);

			injected(f, 60 + 10 * i, 5 + i);
			assert_int_equal(p.frame_len, 60 + 10 * i);
			assert_memory_equal(p.frame, f, p.frame_len);
		}
		sg_ack(g, x->xid);
	}
	/* Without a batch every input goes at once: one packet each. */
	set_hold(g, false);
	n0 = nxfer(g);
	for (int i = 0; i < 3; i++)
		sg_inject(g, 100, i);
	PAIR_WAIT(nxfer(g) >= n0 + 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(g->xfer[n0 + i].nranges, 1);
	sg_free(g);
}

/*
 * Packing: 64 frames of 60 bytes in one packet share its slots, 8-byte
 * aligned, no more than ceil(64 x message / slot) of them (4 of 2048
 * bytes, not 64); each arrives byte for byte; the one completion frees
 * them all: in a buffer of 8 slots, two such packets held leave none,
 * and once both are completed two more go through whole.
 */
static void test_packed_small(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ .rx_len = 8 * 2048,
						 .rx_slot = 2048,
						 .rx_wait_ms = 20 });
	uint64_t nb0 = STAT(no_buffer), t0 = STAT(to_guest);
	uint8_t f[60];
	unsigned int n0;

	assert_int_equal(g->sub_size, 2048);
	assert_int_equal(g->nsub, 8);
	set_hold(g, true);
	for (uint32_t b = 0; b < 4; b++) {
		struct xfer_rec *x;
		uint32_t a, slots;

		n0 = nxfer(g);
		ovb_vswitch_batch_begin(g->sw);
		for (uint32_t i = 0; i < 64; i++)
			sg_inject(g, 60, 64 * b + i);
		ovb_vswitch_batch_end(g->sw);
		PAIR_WAIT(nxfer(g) >= n0 + 1);
		usleep(10000);
		assert_int_equal(nxfer(g), n0 + 1);
		x = &g->xfer[n0];
		assert_int_equal(x->nranges, 64);
		a = (x->rlen[0] + 7u) & ~7u;
		slots = assert_packed(g, x);
		print_message("packet %u: 64 messages of %u bytes in %u slots\n",
			      b, x->rlen[0], slots);
		assert_true(slots <= (64 * a + g->sub_size - 1) / g->sub_size);
		for (uint32_t i = 0; i < 64; i++) {
			struct ovb_rndis_packet p = range_pkt(g, x, i);

			assert_int_equal(x->rlen[i], x->rlen[0]);
			injected(f, 60, 64 * b + i);
			assert_int_equal(p.frame_len, 60);
			assert_memory_equal(p.frame, f, 60);
		}
		if (b == 1) { /* both held packets back: all 8 slots */
			sg_ack(g, g->xfer[n0 - 1].xid);
			sg_ack(g, x->xid);
		} else if (b > 1) {
			sg_ack(g, x->xid);
		}
	}
	assert_int_equal(STAT(to_guest) - t0, 4 * 64);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	sg_free(g);
}

/*
 * The slots of a batch come from the allocator in a few trips, not one
 * per frame: at most six for a first batch of 40, the next batch of its
 * size one.  Every frame has a place of its own, and the slots come
 * back: many batches through a 64-slot buffer (the cache never takes more
 * than half of what is free) lose nothing.
 */
static void test_slot_cache(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	uint64_t k0 = STAT(slot_takes), t0;
	unsigned int n0;

	set_hold(g, true);
	for (int b = 0; b < 2; b++) {
		n0 = nxfer(g);
		inject_batch(g, 40, (uint32_t)b);
		PAIR_WAIT(nxfer(g) >= n0 + 1);
		assert_int_equal(g->xfer[n0].nranges, 40);
		for (uint32_t i = 0; i < 40; i++)
			for (uint32_t j = 0; j < i; j++)
				assert_int_not_equal(g->xfer[n0].roff[i],
						     g->xfer[n0].roff[j]);
		print_message("batch %d of 40: %llu trips to the allocator\n",
			      b, (unsigned long long)(STAT(slot_takes) - k0));
		assert_true(STAT(slot_takes) - k0 <= (b ? 1u : 6u));
		sg_ack(g, g->xfer[n0].xid);
		k0 = STAT(slot_takes);
	}
	sg_free(g);
	/* 20 batches of 40 through 64 slots: every slot comes back. */
	g = sg_new(&(struct sg_opts){ .rx_len = 64 * 1728, .rx_slot = 1728,
				      .rx_wait_ms = 5000 });
	t0 = STAT(to_guest);
	for (int b = 0; b < 20; b++)
		inject_batch(g, 40, (uint32_t)b);
	PAIR_WAIT(STAT(to_guest) - t0 >= 20 * 40);
	assert_int_equal(STAT(to_guest) - t0, 20 * 40);
	assert_int_equal(STAT(no_buffer), 0);
	assert_int_equal(STAT(wait_timeouts), 0);
	sg_free(g);
}

static void test_hostile_completions(void **state)
{
	/* 64 KiB: 37 slots of 1728 bytes, one 1500-byte frame each. */
	struct sg *g = sg_new(&(struct sg_opts){ .rx_len = 65536,
						 .rx_slot = 1728 });
	uint64_t bad0 = STAT(bad_completions), nb0, w0, t0;
	uint32_t nslots = (uint32_t)(g->rx_len / g->sub_size);
	struct xfer_rec x;
	unsigned int n0;

	assert_int_equal(nslots, 37);
	set_hold(g, true);
	n0 = nxfer(g);
	inject_big(g, 30, 0);
	PAIR_WAIT(nxfer(g) >= n0 + 1);
	x = g->xfer[n0];
	assert_int_equal(x.nranges, 30);
	/* A slot of the batch that is not its transaction id. */
	sg_ack(g, x.roff[1] / g->sub_size);
	/* Ids never sent, past the buffer and far past it. */
	sg_ack(g, nslots + 1);
	sg_ack(g, 1ull << 40);
	PAIR_WAIT(STAT(bad_completions) - bad0 >= 3);
	assert_int_equal(STAT(bad_completions) - bad0, 3);
	/* Nothing came free: 7 slots are left for 10 frames.  The source
	 * waits NETVSP_RX_WAIT_MS for the first left over, then drops it
	 * and the next two at once: the guest is stalled. */
	nb0 = STAT(no_buffer);
	w0 = STAT(wait_timeouts);
	t0 = STAT(to_guest);
	inject_big(g, 10, 50);
	assert_int_equal(STAT(no_buffer) - nb0, 3);
	assert_int_equal(STAT(wait_timeouts) - w0, 1);
	assert_int_equal(STAT(to_guest) - t0, 7);
	/* The right completion frees all 30; its duplicate is refused. */
	sg_ack(g, x.xid);
	sg_ack(g, x.xid);
	PAIR_WAIT(STAT(bad_completions) - bad0 >= 4);
	nb0 = STAT(no_buffer);
	t0 = STAT(to_guest);
	inject_big(g, 30, 90);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	assert_int_equal(STAT(to_guest) - t0, 30);
	sg_free(g);
}

/*
 * A guest that completes late slows the source instead of losing.  The
 * bound is long here, so that a loaded machine that does not schedule the
 * acker for 50 ms does not turn the test into one of the timeout.
 */
static bool acker_stop;

static void *late_acker(void *arg)
{
	struct sg *g = arg;
	unsigned int done = 0;

	while (!__atomic_load_n(&acker_stop, __ATOMIC_ACQUIRE)) {
		unsigned int n = nxfer(g);

		while (done < n)
			sg_ack(g, g->xfer[done++].xid);
		sched_yield();
	}
	return NULL;
}

static void test_backpressure(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ .rx_len = 65536,
						 .rx_wait_ms = 10000 });
	uint64_t nb0 = STAT(no_buffer), t0 = STAT(to_guest);
	pthread_t th;

	set_hold(g, true);
	pthread_mutex_lock(&g->lock);
	g->nxfer = 0;
	pthread_mutex_unlock(&g->lock);
	assert_int_equal(pthread_create(&th, NULL, late_acker, g), 0);
	/* Five times the buffer, as fast as the switch takes them. */
	for (int i = 0; i < 3; i++)
		inject_batch(g, 60, (uint32_t)i);
	__atomic_store_n(&acker_stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	assert_int_equal(STAT(to_guest) - t0, 180);
	sg_free(g);
}

/* Frames every port but the test's own refused, summed (switch counters). */
static uint64_t switch_tx_drops(struct sg *g)
{
	struct ovb_vswitch_port_stats st;
	uint64_t n = 0;

	for (unsigned int p = 0; p < OVB_VSWITCH_MAX_PORTS; p++)
		if (p != g->port && !ovb_vswitch_port_stats(g->sw, p, &st))
			n += st.tx_drops;
	return n;
}

/*
 * A run (ovb_vswitch_input_run) into a receive buffer that fills in its
 * middle: the 37 frames that fit (1500 bytes and more: one 1728-byte slot
 * each) arrive in one packet, in order; the source waits once for the
 * guest, then the other 13 are dropped, counted exactly in netvsp's
 * no_buffer, the switch's tx_drops and the run's per-frame results.
 */
#define RUN_N 50
#define RUN_LEN(i) (1500 + 2 * (i))
static void test_run_fills_buffer(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ .rx_len = 65536,
						 .rx_wait_ms = 20 });
	uint64_t nb0 = STAT(no_buffer), w0 = STAT(wait_timeouts);
	uint64_t t0 = STAT(to_guest), d0 = switch_tx_drops(g), bad0;
	static uint8_t f[RUN_N][RUN_LEN(RUN_N)];

	/* 64 KiB holds fewer than 64 slots of 16 KiB: the MTU's size. */
	assert_int_equal(g->sub_size, 1728);
	struct ovb_vswitch_frame run[RUN_N];
	int res[RUN_N];
	unsigned int n0;
	struct xfer_rec *x;

	set_hold(g, true);
	n0 = nxfer(g);
	for (uint32_t i = 0; i < RUN_N; i++) {
		injected(f[i], RUN_LEN(i), i);
		run[i] = (struct ovb_vswitch_frame){ .frame = f[i],
						     .len = RUN_LEN(i) };
	}
	ovb_vswitch_batch_begin(g->sw);
	assert_int_equal(ovb_vswitch_input_run(g->sw, g->port, run, RUN_N,
					       res), RUN_N);
	ovb_vswitch_batch_end(g->sw);
	assert_int_equal(STAT(to_guest) - t0, 37);
	assert_int_equal(STAT(no_buffer) - nb0, RUN_N - 37);
	assert_int_equal(STAT(wait_timeouts) - w0, 1);
	assert_int_equal(switch_tx_drops(g) - d0, RUN_N - 37);
	for (int i = 0; i < RUN_N; i++)
		assert_int_equal(res[i], i < 37 ? res[0] : res[0] - 1);
	PAIR_WAIT(nxfer(g) >= n0 + 1);
	usleep(10000);
	assert_int_equal(nxfer(g), n0 + 1);
	x = &g->xfer[n0];
	assert_int_equal(x->nranges, 37);
	for (uint32_t i = 0; i < 37; i++) {
		struct ovb_rndis_packet p = range_pkt(g, x, i);

		assert_int_equal(x->roff[i] % g->sub_size, 0);
		for (uint32_t j = 0; j < i; j++)
			assert_int_not_equal(x->roff[i], x->roff[j]);
		assert_int_equal(p.frame_len, RUN_LEN(i));
		assert_memory_equal(p.frame, f[i], p.frame_len);
	}
	/* Completed (its duplicate refused: both seen): the next run goes
	 * whole. */
	bad0 = STAT(bad_completions);
	sg_ack(g, x->xid);
	sg_ack(g, x->xid);
	PAIR_WAIT(STAT(bad_completions) - bad0 >= 1);
	t0 = STAT(to_guest);
	nb0 = STAT(no_buffer);
	ovb_vswitch_batch_begin(g->sw);
	ovb_vswitch_input_run(g->sw, g->port, run, 30, NULL);
	ovb_vswitch_batch_end(g->sw);
	assert_int_equal(STAT(to_guest) - t0, 30);
	assert_int_equal(STAT(no_buffer) - nb0, 0);
	sg_free(g);
}

/* ---- receive segment coalescing on the wire ----------------------------- */

#define TSO_PAYLOAD 63434u /* a 62 KiB frame with its 54 header bytes */
#define RSC_RANGES_MAX 4   /* ranges it may take: 16 KiB slots */

/* A TCP/IPv4 TSO frame (Linux conventions) of @payload bytes, MSS @mss. */
static size_t tso4(uint8_t *f, size_t payload, uint16_t mss,
		   struct ovb_net_meta *m)
{
	size_t len = nff_tcp4(f, payload, 0);

	memset(m, 0, sizeof(*m));
	m->gso_type = OVB_NET_GSO_TCPV4;
	m->gso_size = mss;
	m->flags = OVB_NET_META_CSUM_PARTIAL;
	assert_int_equal(ovb_offload_canonicalize(f, len, m), 0);
	return len;
}

/* OID_TCP_OFFLOAD_PARAMETERS with rsc_ip_v4/v6 = @v, as Linux sends it. */
static void set_rsc(struct sg *g, uint8_t v)
{
	uint8_t op[28] = { 0x80, 3, 28, 0 }, b[128];

	op[22] = op[23] = v;
	sg_rndis(g, b, sg_rndis_set(b, 7, OID_TCP_OFFLOAD_PARAMETERS, op, 28));
	assert_int_equal(ld32(g->last_ctl), RNDIS_MSG_SET_C);
	assert_int_equal(ld32(g->last_ctl + 12), RNDIS_STATUS_SUCCESS);
}

/*
 * Inject a TSO frame; it must arrive as one packet of coalesced
 * fragments (@rsc) or as complete segments, nothing else.
 */
static void inject_tso(struct sg *g, bool rsc)
{
	static uint8_t f[66000], joined[66000];
	struct ovb_net_meta m;
	size_t len = tso4(f, TSO_PAYLOAD, 1448, &m), off = 0;
	unsigned int n0 = nxfer(g);
	uint32_t id = 0;
	struct xfer_rec *x;

	assert_true(ovb_vswitch_input(g->sw, g->port, f, len, &m) >= 1);
	PAIR_WAIT(nxfer(g) >= n0 + 1);
	usleep(20000);
	assert_int_equal(nxfer(g), n0 + 1);
	x = &g->xfer[n0];
	/*
	 * 62 KiB at MTU 1500: 4 ranges of up to a 16 KiB slot each (40 of
	 * 1728 bytes before packing), as few as at MTU 9000.
	 */
	if (rsc)
		assert_true(x->nranges >= 2 && x->nranges <= RSC_RANGES_MAX);
	else
		assert_int_equal(x->nranges, (TSO_PAYLOAD + 1447) / 1448);
	for (uint32_t i = 0; i < x->nranges; i++) {
		struct ovb_rndis_packet p = range_pkt(g, x, i);
		uint8_t flag = (uint8_t)(p.info.pkt_id >> 8);

		if (!rsc) {
			assert_false(p.info.present & OVB_RNDIS_PPI_PKT_ID);
			assert_int_equal(p.frame_len,
					 54 + (i + 1 < x->nranges ? 1448
						  : TSO_PAYLOAD - 1448 * i));
			assert_memory_equal(p.frame + 54, f + 54 + 1448 * i,
					    p.frame_len - 54);
			continue;
		}
		assert_true(p.info.present & OVB_RNDIS_PPI_PKT_ID);
		assert_int_equal(p.info.pkt_id & 0xff, 1); /* version */
		assert_true(flag & RNDIS_PKTINFO_SUBALLOC);
		assert_int_equal(!!(flag & RNDIS_PKTINFO_1ST_FRAG), i == 0);
		assert_int_equal(!!(flag & RNDIS_PKTINFO_LAST_FRAG),
				 i == x->nranges - 1);
		if (!i) {
			id = p.info.pkt_id >> 16;
			/* Linux takes checksum info from the first only. */
			assert_true(p.info.present & OVB_RNDIS_PPI_CSUM);
			assert_true(p.info.csum & NDIS_RXCSUM_INFO_TCPCS_OK);
			assert_true(p.info.csum & NDIS_RXCSUM_INFO_IPCS_OK);
		}
		assert_int_equal(p.info.pkt_id >> 16, id);
		assert_true(off + p.frame_len <= sizeof(joined));
		memcpy(joined + off, p.frame, p.frame_len);
		off += p.frame_len;
	}
	if (rsc) {
		assert_int_equal(off, len);
		assert_memory_equal(joined, f, len);
	}
	sg_ack(g, x->xid);
}

static void test_rsc_wire(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ .rsc = true,
						 .rx_len = 4u << 20 });
	uint64_t c0 = STAT(coalesced), s0 = STAT(segmented);

	set_hold(g, true);
	inject_tso(g, false); /* asked for nothing yet */
	set_rsc(g, NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED);
	inject_tso(g, true);
	set_rsc(g, NDIS_OFFLOAD_PARAMETERS_NO_CHANGE);
	inject_tso(g, true);
	set_rsc(g, NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED); /* LRO off */
	inject_tso(g, false);
	assert_int_equal(STAT(coalesced) - c0, 2);
	assert_int_equal(STAT(segmented) - s0, 2);
	sg_free(g);
}

/* No RSC bit in NDIS config (DPDK's PMD), or NVSP 6.0: never fragments. */
static void test_rsc_not_negotiated(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ .rx_len = 4u << 20 });

	set_hold(g, true);
	set_rsc(g, NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED);
	inject_tso(g, false);
	sg_free(g);
	g = sg_new(&(struct sg_opts){ .rsc = true, .rx_len = 4u << 20,
				      .nvsp = NVSP_PROTOCOL_VERSION_6 });
	set_hold(g, true);
	set_rsc(g, NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED);
	inject_tso(g, false);
	sg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_packet_per_batch),
		cmocka_unit_test(test_packed_small),
		cmocka_unit_test(test_slot_cache),
		cmocka_unit_test(test_hostile_completions),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_run_fills_buffer),
		cmocka_unit_test(test_rsc_wire),
		cmocka_unit_test(test_rsc_not_negotiated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
