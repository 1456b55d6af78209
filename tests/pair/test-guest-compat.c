// SPDX-License-Identifier: MIT
/*
 * What the guest sends toward real hosts, against a scripted host
 * (tests/lib/shost.h): UNLOAD only from VMBus 3.0 on; signals on
 * connection 2 at 0.13 and on the offer's connection id from 1.1 on (for
 * SIGNAL_EVENT and the link's EVENT_FDS alike); INITIATE_CONTACT fields
 * and connection ids per version, versions tried newest first; OPEN
 * fields (openid, target_vp 0 before Win8); a rescind during an open ends
 * the wait at once; a teardown deadline bounds every wait for a silent
 * host.  The rules are listed in docs/compat.md (Guest side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/version.h"
#include "openvmbus/vsc.h"
#include "openvmbus/wire/ring.h"
#include "tests/lib/pair.h"
#include "tests/lib/shost.h"

#define RING 16384u

struct fx {
	struct shost *h;
	struct ovb_echo_driver_ctx echo;
};

/* A scripted host at @version with one echo offer (relid 5, 0x2005). */
static struct fx *fx_new(uint32_t version, bool eventfds)
{
	static const struct vmbus_guid echo = ECHO_CLASS_GUID;
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = shost_new(eventfds);
	f->h->max_version = version;
	shost_offer(f->h, &echo, 5, 0x2005, true);
	assert_int_equal(ovb_client_register_driver(f->h->cl, &ovb_echo_driver,
						    &f->echo), 0);
	return f;
}

static void fx_connect(struct fx *f)
{
	assert_int_equal(ovb_client_connect(f->h->cl, 0, 2000), 0);
	assert_int_equal(ovb_client_version(f->h->cl), f->h->max_version);
	assert_int_equal(f->echo.ndev, 1);
}

static void fx_free(struct fx *f)
{
	shost_free(f->h);
	free(f);
}

/* ---- UNLOAD ---------------------------------------------------------------- */

/*
 * Below 3.0 the host never answers UNLOAD: none goes out, nothing waits
 * (a wait on this silent host would end in -ETIMEDOUT).
 */
static void unload_skipped(uint32_t version)
{
	struct fx *f = fx_new(version, true);

	f->h->answer_unload = false;
	fx_connect(f);
	assert_int_equal(ovb_client_unload(f->h->cl, 3000), 0);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_UNLOAD), 0);
	assert_int_equal(ovb_client_version(f->h->cl), 0);
	/* It may connect again. */
	f->echo.ndev = 0;
	fx_connect(f);
	fx_free(f);
}

static void test_no_unload_013(void **state) { unload_skipped(VMBUS_VERSION_WS2008); }
static void test_no_unload_11(void **state) { unload_skipped(VMBUS_VERSION_WIN7); }
static void test_no_unload_24(void **state) { unload_skipped(VMBUS_VERSION_WIN8); }

/* From 3.0 on UNLOAD is sent and awaited -- with a deadline. */
static void test_unload_30(void **state)
{
	static const uint32_t versions[] = { VMBUS_VERSION_WIN8_1,
					     VMBUS_VERSION_WIN10_V5,
					     VMBUS_VERSION_WIN10_V6_0 };

	for (size_t i = 0; i < 3; i++) {
		struct fx *f = fx_new(versions[i], true);
		uint64_t t0;

		fx_connect(f);
		assert_int_equal(ovb_client_unload(f->h->cl, 3000), 0);
		assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_UNLOAD),
				 1);
		f->h->answer_unload = false;
		f->echo.ndev = 0;
		fx_connect(f);
		t0 = ovb_now_us();
		assert_int_equal(ovb_client_unload(f->h->cl, 300), -ETIMEDOUT);
		PAIR_NO_HANG(t0);
		assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_UNLOAD),
				 2);
		fx_free(f);
	}
}

/* ---- signalling connection ids ---------------------------------------------- */

/* Open relid 5, send one packet; the id of EVENT_FDS and SIGNAL_EVENT. */
static void signal_ids(uint32_t version, uint32_t want)
{
	for (int fast = 0; fast < 2; fast++) {
		struct fx *f = fx_new(version, fast);
		struct shost_rec r;
		struct ovb_echo *e;
		uint8_t pkt[16] = { 1 };

		fx_connect(f);
		assert_int_equal(ovb_echo_open(f->echo.dev[0], RING, NULL, &e),
				 0);
		if (fast) {
			assert_int_equal(shost_count(f->h, SH_FDS, 0), 1);
			assert_true(shost_get(f->h, SH_FDS, 0, 0, &r));
			assert_int_equal(r.relid, 5);
			assert_int_equal(r.conn_id, want);
		} else {
			assert_int_equal(ovb_chan_send_inband(ovb_echo_chan(e),
							      pkt, sizeof(pkt),
							      1, 0), 0);
			assert_true(shost_count(f->h, SH_SIGNAL, 0) >= 1);
			for (unsigned int i = 0;
			     shost_get(f->h, SH_SIGNAL, 0, i, &r); i++)
				assert_int_equal(r.conn_id, want);
		}
		ovb_echo_close(e);
		fx_free(f);
	}
}

static void test_signal_id_013(void **state)
{
	signal_ids(VMBUS_VERSION_WS2008, VMBUS_EVENT_CONNECTION_ID);
}

static void test_signal_id_11(void **state)
{
	signal_ids(VMBUS_VERSION_WIN7, 0x2005);
	signal_ids(VMBUS_VERSION_WIN10_V6_0, 0x2005);
}

/* ---- INITIATE_CONTACT and message connection ids ----------------------------- */

static void test_contact_fields(void **state)
{
	for (int i = 0; i < VMBUS_VERSION_COUNT; i++) {
		uint32_t v = ovb_vmbus_versions[i];
		struct fx *f = fx_new(v, true);
		struct vmbus_channel_initiate_contact c;
		struct shost_rec r;
		unsigned int n, k;

		f->h->msg_conn_id = 0x77;
		fx_connect(f);
		n = shost_count(f->h, SH_POST, CHANNELMSG_INITIATE_CONTACT);
		/* Newest first, one step at a time, down to @v. */
		assert_int_equal(n, VMBUS_VERSION_COUNT - i);
		for (k = 0; k < n; k++) {
			uint32_t want = ovb_vmbus_versions[VMBUS_VERSION_COUNT -
							   1 - k];

			assert_true(shost_get(f->h, SH_POST,
					      CHANNELMSG_INITIATE_CONTACT, k,
					      &r));
			memcpy(&c, r.msg, sizeof(c));
			assert_int_equal(c.vmbus_version_requested, want);
			assert_int_equal(c.target_vcpu, 0);
			assert_true(c.monitor_page1 && c.monitor_page2 &&
				    c.monitor_page1 != c.monitor_page2);
			if (want >= VMBUS_VERSION_WIN10_V5) {
				assert_int_equal(r.conn_id,
						 VMBUS_MESSAGE_CONNECTION_ID_4);
				assert_int_equal(c.msg_sint, VMBUS_MESSAGE_SINT);
				assert_int_equal(c.msg_vtl, 0);
			} else {
				assert_int_equal(r.conn_id,
						 VMBUS_MESSAGE_CONNECTION_ID);
				assert_true(c.interrupt_page != 0);
				assert_int_equal(c.interrupt_page % 4096, 0);
			}
		}
		/* Later messages: the returned id from 5.0 on, else 1. */
		assert_true(shost_get(f->h, SH_POST, CHANNELMSG_REQUESTOFFERS,
				      0, &r));
		assert_int_equal(r.conn_id, v >= VMBUS_VERSION_WIN10_V5
						    ? 0x77
						    : VMBUS_MESSAGE_CONNECTION_ID);
		fx_free(f);
	}
}

/* ---- OPEN_CHANNEL ------------------------------------------------------------ */

static void open_fields(uint32_t version, uint32_t want_vp)
{
	struct fx *f = fx_new(version, true);
	struct ovb_vsc_open_params p = { .target_vp = 1 };
	struct vmbus_channel_open_channel o;
	struct shost_rec r;
	struct ovb_echo *e;
	uint32_t gpadl[2];

	fx_connect(f);
	assert_int_equal(ovb_echo_open(f->echo.dev[0], RING, &p, &e), 0);
	assert_true(shost_get(f->h, SH_POST, CHANNELMSG_OPENCHANNEL, 0, &r));
	assert_int_equal(r.len, VMBUS_OPEN_CHANNEL_SIZE);
	memcpy(&o, r.msg, VMBUS_OPEN_CHANNEL_SIZE);
	assert_int_equal(o.child_relid, 5);
	assert_int_equal(o.openid, 5);
	assert_int_equal(o.target_vp, want_vp);
	assert_int_equal(o.downstream_ringbuffer_pageoffset, RING / 4096 + 1);
	/* The ring GPADL: the first handle, 0xE1E10, as Linux numbers them. */
	assert_true(shost_get(f->h, SH_POST, CHANNELMSG_GPADL_HEADER, 0, &r));
	memcpy(gpadl, r.msg + 8, 8);
	assert_int_equal(gpadl[0], 5);
	assert_int_equal(o.ringbuffer_gpadlhandle, gpadl[1]);
	assert_int_equal(gpadl[1], 0xE1E10);
	/*
	 * One GPADL over both rings, control page first in each; the guest
	 * sets FEATURE_SUPPORTS_PENDING_SEND_SZ on both (Linux does).
	 */
	uint32_t range[2];
	uint64_t pfn0;

	memcpy(range, r.msg + 20, 8);
	memcpy(&pfn0, r.msg + 28, 8);
	assert_int_equal(range[0], 2 * RING + 2 * 4096);
	assert_int_equal(range[1], 0);
	for (int k = 0; k < 2; k++) {
		uint64_t gpa = (pfn0 + (k ? RING / 4096 + 1 : 0)) * 4096;
		const struct vmbus_ring_control *ctl =
			ovb_gmem_ptr(f->h->gm, gpa, 4096);

		assert_non_null(ctl);
		assert_int_equal(ctl->feature_bits & 1, 1);
	}
	ovb_echo_close(e);
	/* Close: CLOSECHANNEL, then the ring GPADL's teardown. */
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_CLOSECHANNEL),
			 1);
	assert_true(shost_get(f->h, SH_POST, CHANNELMSG_GPADL_TEARDOWN, 0,
			      &r));
	memcpy(gpadl, r.msg + 8, 8);
	assert_int_equal(gpadl[1], o.ringbuffer_gpadlhandle);
	fx_free(f);
}

static void test_open_fields(void **state)
{
	open_fields(VMBUS_VERSION_WS2008, 0);
	open_fields(VMBUS_VERSION_WIN7, 0);
	open_fields(VMBUS_VERSION_WIN8, 1);
	open_fields(VMBUS_VERSION_WIN10_V6_0, 1);
}

/*
 * A rescind instead of OPENCHANNEL_RESULT: the open ends at once with
 * -ENODEV.  The open runs in probe, as drivers open, so the release the
 * rescind queues waits for it.
 */
static int opener_rc = 1;

static int opener_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	struct ovb_vsc_open_params p = { .out_ring = RING, .in_ring = RING };
	struct ovb_chan *chan;

	opener_rc = ovb_vsc_open(dev, &p, &chan);
	return opener_rc;
}

static const struct ovb_vsc_driver opener = {
	.name = "opener",
	.class_id = ECHO_CLASS_GUID,
	.probe = opener_probe,
};

static void test_rescind_during_open(void **state)
{
	static const struct vmbus_guid echo = ECHO_CLASS_GUID;
	struct shost *h = shost_new(true);

	shost_offer(h, &echo, 5, 0x2005, true);
	h->rescind_on_open = 5;
	assert_int_equal(ovb_client_register_driver(h->cl, &opener, NULL), 0);
	ovb_client_set_timeout(h->cl, 5000);
	assert_int_equal(ovb_client_connect(h->cl, 0, 5000), 0);
	/* -ENODEV from the rescind, not -ETIMEDOUT from waiting it out. */
	assert_int_equal(opener_rc, -ENODEV);
	/* The offer is released: RELID_RELEASED, and it is gone. */
	for (int i = 0; i < 2000 && ovb_client_offers(h->cl, NULL, 0); i++)
		usleep(1000);
	assert_int_equal(ovb_client_offers(h->cl, NULL, 0), 0);
	assert_int_equal(shost_count(h, SH_POST, CHANNELMSG_RELID_RELEASED), 1);
	shost_free(h);
}

/*
 * The host rescinds an open channel: the driver is removed, CLOSECHANNEL
 * still goes out, no GPADL_TEARDOWN (no answer would come), then
 * RELID_RELEASED; nothing is signalled on it any more.
 */
static void test_rescind_open_channel(void **state)
{
	struct fx *f = fx_new(VMBUS_VERSION_WIN10_V6_0, false);
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
		.child_relid = 5 };
	struct ovb_echo *e;
	struct shost_rec r;
	unsigned int signals, i, close_at = 0, released_at = 0;

	fx_connect(f);
	assert_int_equal(ovb_echo_open(f->echo.dev[0], RING, NULL, &e), 0);
	shost_send(f->h, &m, sizeof(m));
	/* The release runs on the work thread: it closes and frees e. */
	for (int k = 0; k < 2000 && ovb_client_offers(f->h->cl, NULL, 0); k++)
		usleep(1000);
	assert_int_equal(ovb_client_offers(f->h->cl, NULL, 0), 0);
	assert_int_equal(f->echo.removed, 1);
	signals = shost_count(f->h, SH_SIGNAL, 0);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_CLOSECHANNEL),
			 1);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_GPADL_TEARDOWN),
			 0);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_RELID_RELEASED),
			 1);
	for (i = 0; shost_get(f->h, SH_POST, 0, i, &r); i++) {
		if (r.type == CHANNELMSG_CLOSECHANNEL)
			close_at = i;
		if (r.type == CHANNELMSG_RELID_RELEASED)
			released_at = i;
	}
	assert_true(close_at < released_at);
	assert_int_equal(shost_count(f->h, SH_SIGNAL, 0), signals);
	fx_free(f);
}

/* MODIFYCHANNEL: not below 4.1; its response awaited from 5.3 on only. */
static void test_modify(void **state)
{
	static const struct { uint32_t v; int rc; unsigned int sent; } c[] = {
		{ VMBUS_VERSION_WIN10, -EPROTONOSUPPORT, 0 },
		{ VMBUS_VERSION_WIN10_V4_1, 0, 1 },
		{ VMBUS_VERSION_WIN10_V5_2, 0, 1 },
	};

	for (size_t i = 0; i < 3; i++) {
		struct fx *f = fx_new(c[i].v, true);

		fx_connect(f);
		ovb_client_set_timeout(f->h->cl, 3000);
		/* The scripted host never answers MODIFYCHANNEL: awaiting it
		 * would end in -ETIMEDOUT. */
		assert_int_equal(ovb_vsc_modify(f->echo.dev[0], 1), c[i].rc);
		assert_int_equal(shost_count(f->h, SH_POST,
					     CHANNELMSG_MODIFYCHANNEL),
				 c[i].sent);
		fx_free(f);
	}
}

/* ---- deadlines --------------------------------------------------------------- */

/*
 * A host silent on teardown: the client's deadline bounds every wait.
 * The waits' own timeouts are far past the hang guard, so only the
 * deadline lets the test end in time.
 */
static void test_deadline(void **state)
{
	struct fx *f = fx_new(VMBUS_VERSION_WIN10_V6_0, true);
	struct ovb_echo *e;
	uint64_t t0;

	fx_connect(f);
	assert_int_equal(ovb_echo_open(f->echo.dev[0], RING, NULL, &e), 0);
	ovb_client_set_timeout(f->h->cl, 4 * PAIR_HANG_MS);
	f->h->silent_type = CHANNELMSG_GPADL_TEARDOWN;
	f->h->answer_unload = false;
	t0 = ovb_now_us();
	ovb_client_set_deadline(f->h->cl, 400);
	assert_int_equal(ovb_client_unload(f->h->cl, 4 * PAIR_HANG_MS),
			 -ETIMEDOUT);
	PAIR_NO_HANG(t0);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_CLOSECHANNEL),
			 1);
	assert_int_equal(shost_count(f->h, SH_POST, CHANNELMSG_UNLOAD), 1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_unload_013),
		cmocka_unit_test(test_no_unload_11),
		cmocka_unit_test(test_no_unload_24),
		cmocka_unit_test(test_unload_30),
		cmocka_unit_test(test_signal_id_013),
		cmocka_unit_test(test_signal_id_11),
		cmocka_unit_test(test_contact_fields),
		cmocka_unit_test(test_open_fields),
		cmocka_unit_test(test_rescind_during_open),
		cmocka_unit_test(test_rescind_open_channel),
		cmocka_unit_test(test_modify),
		cmocka_unit_test(test_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
