// SPDX-License-Identifier: MIT
/*
 * netvsp's send completions inside one long drain: the host's worker
 * publishes them every NETVSP_REPLY_EVERY sends, not only when the drain
 * ends, so that the sending guest gets its first sections back while the
 * host is still busy with the rest (a drain of 64 sends of 64 small frames
 * is ~300 us of work; docs/net-perf.md, "guest->switch->guest 64 B: the
 * sleeps").  A real netvsc guest and a test port on the switch that holds
 * the host's worker in the middle of the drain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/channel.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/vsc.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

#define SENDS 32   /* one frame each, published at once */
#define HOLD_AT 24 /* the frame at which the port holds the worker */

struct hold {
	struct ovb_chan *guest; /* the sending guest's channel */
	uint64_t base;          /* its packets in before the sends */
	unsigned int frames;    /* port: frames seen (the worker's thread) */
	uint64_t seen;          /* completions the guest had at HOLD_AT */
};

static uint64_t guest_in(struct ovb_chan *chan)
{
	struct ovb_chan_stats st;

	ovb_chan_get_stats(chan, &st);
	return st.pkts_in;
}

/*
 * The port, on the host worker's thread, mid-drain: at frame HOLD_AT wait
 * (up to the hang guard) for the guest to have completions of the sends
 * before it.
 */
static int hold_tx(void *ctx, const void *frame, size_t len,
		   const struct ovb_net_meta *meta)
{
	struct hold *h = ctx;
	(void)frame;
	(void)len;
	(void)meta;
	if (__atomic_load_n(&h->frames, __ATOMIC_RELAXED) + 1 == HOLD_AT) {
		uint64_t end = ovb_now_us() + TEST_HANG_MS * 1000ull, seen;

		do
			seen = guest_in(h->guest) - h->base;
		while (seen < 8 && ovb_now_us() < end);
		h->seen = seen;
	}
	/* Release: the main thread reads seen after the last frame. */
	__atomic_fetch_add(&h->frames, 1, __ATOMIC_RELEASE);
	return 0;
}

static void test_completions_mid_drain(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct hold h = { 0 };
	struct nvfx_opts o = { .port = true, .port_tx = hold_tx,
			       .port_ctx = &h };
	struct nvfx *f = nvfx_new(&o, NULL);
	struct ovb_chan *chan = ovb_vsc_dev_chan(f->g[0].drv.dev[0]);
	uint8_t fr[64];

	(void)state;
	memset(fr, 0, sizeof(fr));
	memcpy(fr, bcast, 6);
	memcpy(fr + 6, src, 6);
	fr[12] = 0x08;
	h.guest = chan;
	h.base = guest_in(chan);
	/* SENDS send packets, one frame each, in one index update. */
	ovb_chan_batch_begin(chan);
	for (int i = 0; i < SENDS; i++)
		assert_int_equal(ovb_netvsc_send(f->g[0].nic, 0, fr, sizeof(fr),
						 NULL, false), 0);
	ovb_chan_batch_end(chan);
	PAIR_WAIT(__atomic_load_n(&h.frames, __ATOMIC_ACQUIRE) >= SENDS &&
		  guest_in(chan) - h.base >= SENDS);
	/* The ones before the held frame were back while it was held. */
	assert_true(h.seen >= 8);
	assert_true(guest_in(chan) - h.base >= SENDS);
	nvfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_completions_mid_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
