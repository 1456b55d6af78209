// SPDX-License-Identifier: MIT
/*
 * netvsp keeps a NIC entered (its lock read-held, counted in the epoch)
 * for a whole switch batch of the delivering thread, and lets it go when
 * the switch flushes its port.  What must stay true, with a scripted
 * Linux-like guest (tests/lib/net-guest-fx) and a thread whose batch
 * lasts until the test ends it: the guest closing its NIC, and a packet
 * filter change (the quiesce), complete while that batch is still open;
 * a control message's reply goes out while two such threads keep the
 * channel's batch lock in turn; each thread holds one NIC while in its
 * batch and none after it; every frame is counted, delivered or dropped.
 * A channel whose ring turns out corrupt after a frame began its worker's
 * switch batch ends that batch as it fails: the switch's ports change
 * afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/netvsp_priv.h"
#include "net/nvsp.h"
#include "net/rndis.h"
#include "openvmbus/netvsp.h"
#include "tests/lib/hostile.h"
#include "tests/lib/net-guest-fx.h"
#include "tests/lib/pair.h"

#define STAT(f) sg_vsp_stat(g, offsetof(struct ovb_netvsp_stats, f))

struct holder {
	struct sg *g;
	_Atomic bool holding, stop, in_batch;
	_Atomic uint64_t sent;
	unsigned int holds_in, holds_after;
};

/* One switch batch, a broadcast frame every millisecond, until stopped. */
static void *hold_run(void *arg)
{
	struct holder *h = arg;

	ovb_vswitch_batch_begin(h->g->sw);
	atomic_store(&h->in_batch, true);
	sg_inject(h->g, 60, 1);
	atomic_fetch_add(&h->sent, 1);
	h->holds_in = netvsp__holds();
	atomic_store(&h->holding, true);
	for (int i = 0; i < 10000 && !atomic_load(&h->stop); i++) {
		usleep(1000);
		sg_inject(h->g, 60, (uint32_t)i);
		atomic_fetch_add(&h->sent, 1);
	}
	atomic_store(&h->in_batch, false);
	ovb_vswitch_batch_end(h->g->sw);
	h->holds_after = netvsp__holds();
	return NULL;
}

static void hold_start(struct holder *h, pthread_t *t)
{
	assert_int_equal(pthread_create(t, NULL, hold_run, h), 0);
	while (!atomic_load(&h->holding))
		usleep(100);
}

static void hold_stop(struct holder *h, pthread_t t)
{
	usleep(10000); /* a few more frames in the batch */
	atomic_store(&h->stop, true);
	pthread_join(t, NULL);
	assert_int_equal(h->holds_in, 1);
	assert_int_equal(h->holds_after, 0);
}

/* The switch port that is not the test's own: netvsp's. */
static unsigned int nic_port(struct sg *g)
{
	struct ovb_vswitch_port_stats st;

	for (unsigned int p = 0; p < OVB_VSWITCH_MAX_PORTS; p++)
		if (p != g->port && !ovb_vswitch_port_stats(g->sw, p, &st))
			return p;
	fail_msg("no netvsp port");
	return 0;
}

/*
 * A packet filter change waits for every frame that may have seen the old
 * filter: here for the holder's, which lets its hold go at its next frame
 * for the NIC, so the change's reply comes while the batch is still open.
 * Every frame the holder sent arrives (the guest completes them all).
 */
static void test_filter_while_held(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED |
			  NDIS_PACKET_TYPE_BROADCAST;
	struct holder h = { .g = g };
	uint64_t t0 = STAT(to_guest), d0 = STAT(no_buffer);
	unsigned int nctl;
	uint8_t b[64];
	pthread_t t;

	(void)state;
	hold_start(&h, &t);
	nctl = __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);
	sg_rndis(g, b, sg_rndis_set(b, 9, OID_GEN_CURRENT_PACKET_FILTER,
				    &filter, 4));
	assert_true(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > nctl);
	assert_true(atomic_load(&h.in_batch));
	hold_stop(&h, t);
	PAIR_WAIT(STAT(to_guest) - t0 >= atomic_load(&h.sent));
	assert_int_equal(STAT(to_guest) - t0, atomic_load(&h.sent));
	assert_int_equal(STAT(no_buffer) - d0, 0);
	sg_free(g);
}

/*
 * The guest closes its NIC while another thread's batch holds it: the
 * switch port goes at the holder's next input (which flushes the NIC and
 * lets it go), and the close takes the NIC's write lock and finishes,
 * all while that batch is open.  Under ASan, nothing touches the closed
 * channel's state afterwards.
 */
static void test_close_while_held(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	struct ovb_vswitch_port_stats st;
	struct holder h = { .g = g };
	unsigned int port = nic_port(g);
	pthread_t t;

	(void)state;
	hold_start(&h, &t);
	ovb_vsc_close(g->dev);
	PAIR_WAIT(ovb_vswitch_port_stats(g->sw, port, &st) == -ENODEV);
	assert_int_equal(ovb_vswitch_port_stats(g->sw, port, &st), -ENODEV);
	assert_true(atomic_load(&h.in_batch));
	hold_stop(&h, t);
	sg_free(g);
}

/*
 * Two threads in long batches deliver to the same channel (one keeps its
 * batch lock, the other waits for it without keeping any) while the
 * guest asks a question: the reply (a control message through the same
 * channel's batch lock) comes while both batches are open, and every
 * frame of both arrives.
 */
static void test_control_while_held(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	struct holder h[2] = { { .g = g }, { .g = g } };
	uint64_t t0 = STAT(to_guest), d0 = STAT(no_buffer);
	unsigned int nctl;
	uint8_t b[64];
	pthread_t t[2];

	(void)state;
	hold_start(&h[0], &t[0]);
	hold_start(&h[1], &t[1]);
	nctl = __atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE);
	sg_rndis(g, b, sg_rndis_query(b, 7, OID_GEN_MAXIMUM_FRAME_SIZE));
	assert_true(__atomic_load_n(&g->nctl, __ATOMIC_ACQUIRE) > nctl);
	assert_true(atomic_load(&h[0].in_batch) && atomic_load(&h[1].in_batch));
	hold_stop(&h[0], t[0]);
	hold_stop(&h[1], t[1]);
	PAIR_WAIT(STAT(to_guest) - t0 >=
		  atomic_load(&h[0].sent) + atomic_load(&h[1].sent));
	assert_int_equal(STAT(to_guest) - t0,
			 atomic_load(&h[0].sent) + atomic_load(&h[1].sent));
	assert_int_equal(STAT(no_buffer) - d0, 0);
	sg_free(g);
}

struct port_add {
	struct ovb_vswitch *sw;
	_Atomic bool done;
	int rc;
};

static int drop_tx(void *ctx, const void *frame, size_t len,
		   const struct ovb_net_meta *meta)
{
	(void)ctx;
	(void)frame;
	(void)len;
	(void)meta;
	return 0;
}

static void *port_add_run(void *arg)
{
	struct port_add *a = arg;
	unsigned int port;

	a->rc = ovb_vswitch_port_add(a->sw, "late", 0, drop_tx, NULL, &port);
	atomic_store(&a->done, true);
	return NULL;
}

/*
 * One drain: a SEND_RNDIS_PKT whose frame goes to the test's port (the
 * worker's switch batch begins and holds the switch), then a packet whose
 * descriptor is malformed (the channel fails).  Both are written without
 * a signal while the worker sleeps, and then one signal wakes it.  A port
 * added afterwards must not wait for the dead worker's batch.
 */
static void test_corrupt_ring_ends_batch(void **state)
{
	struct sg *g = sg_new(&(struct sg_opts){ 0 });
	struct port_add a = { .sw = g->sw };
	uint8_t pkt[16 + sizeof(union nvsp_message)], msg[256], bad[32];
	struct vmpacket_descriptor d = { .type = VM_PKT_DATA_INBAND,
					 .offset8 = 2,
					 .len8 = sizeof(pkt) / 8,
					 .flags = 1, .trans_id = 77 };
	union nvsp_message m = { .raw = { 0 } };
	uint32_t w[3];
	unsigned int sink0 = sg_nsink(g);
	size_t len = sg_tx_packet(msg, 60, 3);
	pthread_t t;

	(void)state;
	_Static_assert(sizeof(pkt) % 8 == 0, "whole quadwords");
	memcpy(g->tx, msg, len);
	w[0] = NVSP_CHANNEL_TYPE_DATA;
	w[1] = 0;
	w[2] = (uint32_t)len;
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	memcpy(m.raw + 4, w, sizeof(w));
	memcpy(pkt, &d, sizeof(d));
	memcpy(pkt + 16, &m, sizeof(m));
	memset(bad, 0, sizeof(bad));
	d.offset8 = 1; /* the header is 2 quadwords: malformed */
	d.len8 = sizeof(bad) / 8;
	memcpy(bad, &d, sizeof(d));
	usleep(300000); /* past the worker's adaptive spin: asleep */
	assert_int_equal(hring_inject(g->chan, true, pkt, sizeof(pkt)), 0);
	assert_int_equal(hring_inject(g->chan, true, bad, sizeof(bad)), 0);
	hring_signal(g->chan);
	PAIR_WAIT(sg_nsink(g) > sink0);
	assert_int_equal(sg_nsink(g), sink0 + 1);
	assert_int_equal(pthread_create(&t, NULL, port_add_run, &a), 0);
	PAIR_WAIT(atomic_load(&a.done));
	assert_true(atomic_load(&a.done));
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	sg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_while_held),
		cmocka_unit_test(test_close_while_held),
		cmocka_unit_test(test_control_while_held),
		cmocka_unit_test(test_corrupt_ring_ends_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
