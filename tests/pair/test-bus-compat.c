// SPDX-License-Identifier: MIT
/*
 * What a real guest relies on from our VMBus server, as bytes on the wire
 * (docs/compat.md, "Bus, host side").  A hand-driven guest posts raw
 * channel messages and a recorder keeps every host->guest message and
 * signal in order (tests/lib/hostile.c), so each test can compare golden
 * bytes and count signals.  The rules come from Linux drivers/hv and
 * OpenVMM's vmbus_server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/storvsp.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vsp.h"
#include "openvmbus/vswitch.h"
#include "tests/lib/hostile.h"

#define PG 4096u
#define RING_PAGES 8u        /* 4 pages each way, control pages included */
#define H(n) (0x71000000u + (n))

/* ---- a server with one device of each kind ------------------------------ */

struct bc {
	struct ovb_server *srv;
	struct ovb_echo_vsp_cfg echo;
	struct ovb_storvsp *scsi;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *net;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct hrec *rec;
};

static struct bc *bc_new(bool connect)
{
	struct ovb_storvsp_cfg sc = { .name = "storvsp0" };
	struct ovb_netvsp_cfg nc = { .name = "sw0" };
	struct ovb_inproc_params ip = { .name = "guest0", .mem_gpa = 1ull << 30,
					.mem_size = 16ull << 20 };
	struct bc *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	logcap_start(); /* the client warns of results it did not ask for */
	assert_int_equal(ovb_server_create(&b->srv), 0);
	b->echo.instances = 1;
	assert_int_equal(ovb_server_register_vsp(b->srv, &ovb_echo_vsp_ops,
						 &b->echo), 0);
	assert_int_equal(ovb_storvsp_create(&sc, &b->scsi), 0);
	assert_int_equal(ovb_storvsp_register(b->srv, b->scsi), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &b->sw), 0);
	nc.sw = b->sw;
	assert_int_equal(ovb_netvsp_create(&nc, &b->net), 0);
	assert_int_equal(ovb_netvsp_register(b->net, b->srv), 0);
	assert_int_equal(ovb_inproc_create(b->srv, &ip, &b->link), 0);
	b->cl = ovb_inproc_client(b->link);
	b->rec = hrec_attach(b->link);
	if (connect)
		assert_int_equal(ovb_client_connect(b->cl, 0, 5000), 0);
	return b;
}

static void bc_free(struct bc *b)
{
	hrec_detach(b->rec);
	ovb_inproc_destroy(b->link);
	ovb_server_destroy(b->srv);
	ovb_storvsp_destroy(b->scsi);
	ovb_netvsp_destroy(b->net);
	ovb_vswitch_destroy(b->sw);
	logcap_stop();
	free(b);
}

/* The relid of the offer of class @class (the primary). */
static uint32_t bc_relid(struct bc *b, const struct vmbus_guid *class)
{
	struct ovb_offer_info info[16];
	size_t n = ovb_client_offers(b->cl, info, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (!memcmp(&info[i].class_id, class, sizeof(*class)) &&
		    !info[i].subidx)
			return info[i].relid;
	fail_msg("no offer of that class");
	return 0;
}

/* Length of the last recorded message of @type (0: none). */
static size_t msg_len(struct hrec *r, uint32_t type)
{
	size_t len = 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++)
		if (r->m[i].type == type)
			len = r->m[i].len;
	pthread_mutex_unlock(&r->lock);
	return len;
}

/* ---- VERSION_RESPONSE ---------------------------------------------- */

/*
 * INITIATE_CONTACT at 6.0 asking for @flags: the 20-byte VERSION_RESPONSE
 * must carry @flags AND ours (0x1 signal parameters, 0x8 client id),
 * never a feature the guest did not ask for.
 */
static void features_case(struct bc *b, uint32_t flags, uint32_t want)
{
	struct vmbus_channel_initiate_contact c;
	uint8_t got[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	const uint8_t golden[20] = {
		0x0f, 0, 0, 0, 0, 0, 0, 0,   /* VERSION_RESPONSE, padding */
		1, 0, 0, 0,                  /* supported, state ok, pad */
		1, 0, 0, 0,                  /* message connection id 1 */
		(uint8_t)want, (uint8_t)(want >> 8), (uint8_t)(want >> 16),
		(uint8_t)(want >> 24),       /* supported_features */
	};

	memset(&c, 0, sizeof(c));
	c.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	c.vmbus_version_requested = VMBUS_VERSION_WIN10_V6_0;
	c.msg_sint = VMBUS_MESSAGE_SINT;
	c.feature_flags = flags;
	hrec_clear(b->rec);
	assert_int_equal(ovb_inproc_guest_post(b->link,
					       VMBUS_MESSAGE_CONNECTION_ID_4,
					       &c, VMBUS_INITIATE_CONTACT_SIZE),
			 0);
	ovb_inproc_sync(b->link);
	assert_int_equal(hrec_count(b->rec, CHANNELMSG_VERSION_RESPONSE), 1);
	assert_true(hrec_find(b->rec, CHANNELMSG_VERSION_RESPONSE, 0,
			      CHANNELMSG_VERSION_RESPONSE, got));
	assert_int_equal(msg_len(b->rec, CHANNELMSG_VERSION_RESPONSE),
			 sizeof(golden));
	assert_memory_equal(got, golden, sizeof(golden));
	/* Back to square one for the next case. */
	assert_int_equal(hg_post_type(b->link, CHANNELMSG_UNLOAD, NULL, 8), 0);
	ovb_inproc_sync(b->link);
	assert_int_equal(hrec_count(b->rec, CHANNELMSG_UNLOAD_RESPONSE), 1);
}

static void test_version_response_features(void **state)
{
	struct bc *b = bc_new(false);

	features_case(b, 0, 0);
	features_case(b, 0x1, 0x1);
	features_case(b, 0x8, 0x8);
	features_case(b, 0xff, 0x9);
	bc_free(b);
}

/* ---- channel open -------------------------------------------------- */

/* f8615163-df3e-46c5-913f-f2d2f965ed0e, the synthetic NIC (docs/wire.md B8) */
#define NIC_CLASS_GUID                                                         \
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, \
	    0xd2, 0xf9, 0x65, 0xed, 0x0e } }

static const struct vmbus_guid dev_class[] = {
	ECHO_CLASS_GUID, VSTOR_SCSI_CLASS_GUID, NIC_CLASS_GUID,
};
static const char *const dev_name[] = { "echo", "storvsp", "netvsp" };
#define NDEV (sizeof(dev_class) / sizeof(dev_class[0]))

struct raw_chan {
	uint32_t relid, gpadl;
	uint8_t *ring;   /* RING_PAGES pages: guest->host, then host->guest */
	uint64_t gpa;
};

/* GPADL and OPEN_CHANNEL by hand over zeroed ring pages; must succeed. */
static void raw_open(struct bc *b, unsigned int i, struct raw_chan *rc)
{
	void *ring;

	rc->relid = bc_relid(b, &dev_class[i]);
	rc->gpadl = H(rc->relid);
	assert_int_equal(ovb_client_alloc(b->cl, RING_PAGES * PG, &ring,
					  &rc->gpa), 0);
	rc->ring = ring;
	memset(rc->ring, 0, RING_PAGES * PG);
	assert_int_equal(hg_gpadl_status(b->link, b->rec, rc->relid,
					 rc->gpadl, rc->gpa, RING_PAGES * PG),
			 0);
	if (hg_open_status(b->link, b->rec, rc->relid, rc->gpadl,
			   RING_PAGES / 2) != 0)
		fail_msg("%s: raw open refused", dev_name[i]);
}

static void raw_close(struct bc *b, struct raw_chan *rc)
{
	hg_relid_msg(b->link, CHANNELMSG_CLOSECHANNEL, rc->relid);
	hg_teardown(b->link, rc->relid, rc->gpadl);
	ovb_inproc_sync(b->link);
	ovb_client_free(b->cl, rc->ring, RING_PAGES * PG);
}

/* The host->guest ring's control page. */
static struct vmbus_ring_control *raw_in_ctl(struct raw_chan *rc)
{
	return (struct vmbus_ring_control *)(void *)(rc->ring +
						     RING_PAGES / 2 * PG);
}

/*
 * The host sets feat_pending_send_sz in the ring it writes, for every
 * device, even when the guest left the control page zeroed (OpenVMM
 * OutgoingRing::new; Linux sets it in both rings it allocates).
 */
static void test_ring_feature_bits(void **state)
{
	struct bc *b = bc_new(true);

	for (unsigned int i = 0; i < NDEV; i++) {
		struct raw_chan rc;

		raw_open(b, i, &rc);
		if (!(raw_in_ctl(&rc)->feature_bits &
		      VMBUS_RING_FEAT_PENDING_SEND_SZ))
			fail_msg("%s: host->guest ring feature_bits %#x",
				 dev_name[i], raw_in_ctl(&rc)->feature_bits);
		raw_close(b, &rc);
	}
	bc_free(b);
}

/* Signals for @relid recorded since the last hrec_clear(). */
static int count_events(struct hrec *r, uint32_t relid)
{
	int n = 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++)
		n += r->m[i].type == HREC_EVENT &&
		     !memcmp(r->m[i].msg, &relid, 4);
	pthread_mutex_unlock(&r->lock);
	return n;
}

/*
 * Right after a successful OPENCHANNEL_RESULT the host signals the channel
 * once, with nothing in the ring yet: Linux storvsc ignores signals that
 * come before it has seen the result, so a reply that raced it would
 * stall the channel (OpenVMM vmbus_server unstick, openvmm #1829).
 */
static void test_signal_after_open_result(void **state)
{
	struct bc *b = bc_new(true);

	for (unsigned int i = 0; i < NDEV; i++) {
		struct raw_chan rc;
		int n;

		raw_open(b, i, &rc);
		ovb_inproc_sync(b->link);
		n = hrec_events_after(b->rec, rc.relid,
				      CHANNELMSG_OPENCHANNEL_RESULT,
				      offsetof(struct vmbus_channel_open_result,
					       child_relid), rc.relid);
		if (n != 1)
			fail_msg("%s: %d signals after the open result",
				 dev_name[i], n);
		/* And none before it (Linux maps the relid only then). */
		assert_int_equal(count_events(b->rec, rc.relid), 1);
		assert_int_equal(raw_in_ctl(&rc)->write_index, 0);
		raw_close(b, &rc);
	}
	bc_free(b);
}

/* ---- what Linux's channel-message handlers match on ------------------- */

/* Position of the first recorded message of @type at or after @from, or -1. */
static int msg_at(struct hrec *r, uint32_t type, unsigned int from)
{
	int at = -1;

	pthread_mutex_lock(&r->lock);
	assert_true(r->n < HREC_MAX);
	for (unsigned int i = from; i < r->n && at < 0; i++)
		if (r->m[i].type == type)
			at = (int)i;
	pthread_mutex_unlock(&r->lock);
	return at;
}

/*
 * Every message the host sends is at least as long as the minimum Linux's
 * channel_message_table gives it (vmbus_on_msg_dpc drops shorter ones):
 * exactly the sizes of docs/wire.md B3.  ALLOFFERS_DELIVERED comes after
 * every offer REQUEST_OFFERS produced.  Offers: relids 1..2047, a unique
 * (class, instance) per primary (vmbus_process_offer drops a second one),
 * the connection id 0x2000 + relid with a dedicated interrupt from Win7
 * on, and none of the confidential bits 0x2/0x4 in chn_flags.
 */
static void test_host_messages(void **state)
{
	struct bc *b = bc_new(true);
	struct vmbus_channel_offer_channel o[8];
	int done = msg_at(b->rec, CHANNELMSG_ALLOFFERS_DELIVERED, 0);
	unsigned int n = 0;

	assert_true(done > 0);
	assert_int_equal(msg_len(b->rec, CHANNELMSG_VERSION_RESPONSE), 20);
	assert_int_equal(msg_len(b->rec, CHANNELMSG_ALLOFFERS_DELIVERED), 8);
	assert_int_equal(msg_at(b->rec, CHANNELMSG_OFFERCHANNEL,
				(unsigned int)done), -1);
	for (int at = 0; (at = msg_at(b->rec, CHANNELMSG_OFFERCHANNEL,
				      (unsigned)at)) >= 0; at++) {
		assert_true(n < 8);
		assert_int_equal(b->rec->m[at].len, 196);
		memcpy(&o[n], b->rec->m[at].msg, sizeof(o[n]));
		assert_in_range(o[n].child_relid, 1, VMBUS_MAX_RELID);
		assert_int_equal(o[n].sub_channel_index, 0);
		assert_int_equal(o[n].chn_flags & 0x6, 0);
		assert_int_equal(o[n].is_dedicated_interrupt & 1, 1);
		assert_int_equal(o[n].connection_id,
				 VMBUS_CHAN_CONNECTION_ID_BASE +
					 o[n].child_relid);
		for (unsigned int j = 0; j < n; j++)
			assert_false(
				!memcmp(&o[j].if_type, &o[n].if_type, 16) &&
				!memcmp(&o[j].if_instance, &o[n].if_instance,
					16));
		n++;
	}
	assert_int_equal(n, NDEV);
	/* The rest of a channel's life. */
	struct raw_chan rc;

	raw_open(b, 0, &rc); /* GPADL_CREATED: test_results_echo_keys */
	assert_int_equal(msg_len(b->rec, CHANNELMSG_OPENCHANNEL_RESULT), 20);
	raw_close(b, &rc);
	assert_int_equal(msg_len(b->rec, CHANNELMSG_GPADL_TORNDOWN), 12);
	assert_int_equal(ovb_server_rescind(
				 ovb_server_find_dev(ovb_inproc_partition(
							     b->link),
						     rc.relid)), 0);
	ovb_inproc_sync(b->link);
	assert_int_equal(msg_len(b->rec, CHANNELMSG_RESCIND_CHANNELOFFER), 12);
	assert_int_equal(ovb_client_unload(b->cl, 5000), 0);
	assert_int_equal(msg_len(b->rec, CHANNELMSG_UNLOAD_RESPONSE), 8);
	bc_free(b);
}

/*
 * Linux finds the request a result answers by its keys: OPENCHANNEL_RESULT
 * by relid and openid (vmbus_onopen_result), GPADL_CREATED by relid and
 * GPADL handle (vmbus_ongpadl_created), GPADL_TORNDOWN by handle
 * (vmbus_ongpadl_torndown).  Each must echo them, with status 0 for
 * success.
 */
static void test_results_echo_keys(void **state)
{
	struct bc *b = bc_new(true);
	uint32_t relid = bc_relid(b, &dev_class[0]);
	struct vmbus_channel_open_channel op;
	struct vmbus_channel_open_result res;
	struct vmbus_channel_gpadl_created gc;
	struct vmbus_channel_gpadl_torndown gt;
	uint8_t got[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	void *ring;
	uint64_t gpa;

	assert_int_equal(ovb_client_alloc(b->cl, RING_PAGES * PG, &ring, &gpa),
			 0);
	memset(ring, 0, RING_PAGES * PG);
	assert_int_equal(hg_gpadl(b->link, relid, 0xe1e10, gpa,
				  RING_PAGES * PG), 0);
	ovb_inproc_sync(b->link);
	assert_true(hrec_find(b->rec, CHANNELMSG_GPADL_CREATED, 12, 0xe1e10,
			      got));
	assert_int_equal(msg_len(b->rec, CHANNELMSG_GPADL_CREATED), 20);
	memcpy(&gc, got, sizeof(gc));
	assert_int_equal(gc.child_relid, relid);
	assert_int_equal(gc.creation_status, 0);
	memset(&op, 0, sizeof(op));
	op.header.msgtype = CHANNELMSG_OPENCHANNEL;
	op.child_relid = relid;
	op.openid = 0x5eed;
	op.ringbuffer_gpadlhandle = 0xe1e10;
	op.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
	assert_int_equal(hg_post(b->link, &op, VMBUS_OPEN_CHANNEL_SIZE), 0);
	ovb_inproc_sync(b->link);
	assert_true(hrec_find(b->rec, CHANNELMSG_OPENCHANNEL_RESULT, 8, relid,
			      got));
	memcpy(&res, got, sizeof(res));
	assert_int_equal(res.openid, 0x5eed);
	assert_int_equal(res.status, 0);
	hg_relid_msg(b->link, CHANNELMSG_CLOSECHANNEL, relid);
	hg_teardown(b->link, relid, 0xe1e10);
	ovb_inproc_sync(b->link);
	assert_true(hrec_find(b->rec, CHANNELMSG_GPADL_TORNDOWN, 8, 0xe1e10,
			      got));
	memcpy(&gt, got, sizeof(gt));
	assert_int_equal(gt.gpadl, 0xe1e10);
	ovb_client_free(b->cl, ring, RING_PAGES * PG);
	bc_free(b);
}

/* INITIATE_CONTACT for @version (on connection 4 from 5.0, as Linux). */
static void contact(struct bc *b, uint32_t version)
{
	struct vmbus_channel_initiate_contact c;

	memset(&c, 0, sizeof(c));
	c.header.msgtype = CHANNELMSG_INITIATE_CONTACT;
	c.vmbus_version_requested = version;
	c.msg_sint = VMBUS_MESSAGE_SINT;
	assert_int_equal(ovb_inproc_guest_post(
				 b->link,
				 version >= VMBUS_VERSION_WIN10_V5
					 ? VMBUS_MESSAGE_CONNECTION_ID_4
					 : VMBUS_MESSAGE_CONNECTION_ID,
				 &c, VMBUS_INITIATE_CONTACT_SIZE), 0);
	ovb_inproc_sync(b->link);
}

/*
 * Linux's vmbus_negotiate_version walks its version list down until
 * VERSION_RESPONSE says version_supported; from 5.0 it then posts every
 * message to the msg_conn_id of that response.
 */
static void test_version_refusal(void **state)
{
	struct bc *b = bc_new(false);
	const uint8_t refused[16] = { 0x0f, 0, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 0, 1, 0, 0, 0 };
	const uint8_t agreed[16] = { 0x0f, 0, 0, 0, 0, 0, 0, 0,
				     1, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t got[HV_MESSAGE_PAYLOAD_BYTE_COUNT];

	contact(b, 0x00070000); /* a version from the future */
	assert_true(hrec_find(b->rec, CHANNELMSG_VERSION_RESPONSE, 0,
			      CHANNELMSG_VERSION_RESPONSE, got));
	assert_int_equal(msg_len(b->rec, CHANNELMSG_VERSION_RESPONSE), 16);
	assert_memory_equal(got, refused, 16);
	hrec_clear(b->rec);
	contact(b, VMBUS_VERSION_WIN10_V5_3);
	assert_true(hrec_find(b->rec, CHANNELMSG_VERSION_RESPONSE, 0,
			      CHANNELMSG_VERSION_RESPONSE, got));
	assert_int_equal(msg_len(b->rec, CHANNELMSG_VERSION_RESPONSE), 16);
	assert_memory_equal(got, agreed, 16);
	/* The connection it named takes the next message. */
	assert_int_equal(hg_post_type(b->link, CHANNELMSG_REQUESTOFFERS, NULL,
				      8), 0);
	ovb_inproc_sync(b->link);
	assert_int_equal(hrec_count(b->rec, CHANNELMSG_ALLOFFERS_DELIVERED), 1);
	bc_free(b);
}

/*
 * A rescinded relid stays taken until the guest's RELID_RELEASED: Linux
 * keeps the channel in its relid table until it has released it
 * (hv_process_channel_removal -> vmbus_release_relid), and an offer
 * reusing it sooner would land on the dying channel.
 */
static void test_relid_held_until_released(void **state)
{
	struct bc *b = bc_new(false);
	struct ovb_partition *part = ovb_inproc_partition(b->link);
	struct ovb_offer_params op = { .class_id = ECHO_CLASS_GUID };
	struct ovb_vsp_dev *dev, *nd;
	uint32_t relid;

	contact(b, VMBUS_VERSION_WIN10_V6_0);
	assert_int_equal(hg_post_type(b->link, CHANNELMSG_REQUESTOFFERS, NULL,
				      8), 0);
	ovb_inproc_sync(b->link);
	op.instance_id.b[0] = 0xaa;
	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &dev),
			 0);
	relid = ovb_vsp_dev_relid(dev);
	/* Keep the rescind from our client, which would release at once. */
	hrec_set(b->rec, CHANNELMSG_RESCIND_CHANNELOFFER, false);
	assert_int_equal(ovb_server_rescind(dev), 0);
	ovb_inproc_sync(b->link);
	assert_int_equal(hrec_count(b->rec, CHANNELMSG_RESCIND_CHANNELOFFER),
			 1);
	op.instance_id.b[0] = 0xab;
	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &nd),
			 0);
	assert_int_not_equal(ovb_vsp_dev_relid(nd), relid);
	assert_int_equal(hg_relid_msg(b->link, CHANNELMSG_RELID_RELEASED,
				      relid), 0);
	ovb_inproc_sync(b->link);
	op.instance_id.b[0] = 0xac;
	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &nd),
			 0);
	assert_int_equal(ovb_vsp_dev_relid(nd), relid);
	bc_free(b);
}

/*
 * From 5.3 Linux waits for MODIFYCHANNEL_RESPONSE, matched by relid, after
 * it retargets a channel (vmbus_send_modifychannel,
 * vmbus_onmodifychannel_response); before 5.3 there is none.
 */
static void test_modify_channel_response(void **state)
{
	static const uint32_t vers[] = { VMBUS_VERSION_WIN10_V5_2,
					 VMBUS_VERSION_WIN10_V5_3 };

	for (size_t i = 0; i < 2; i++) {
		struct bc *b = bc_new(false);
		struct vmbus_channel_modify_channel m = {
			.header.msgtype = CHANNELMSG_MODIFYCHANNEL,
			.target_vp = 1,
		};
		uint8_t got[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
		struct raw_chan rc;
		uint8_t want[16] = { 0x18 };

		contact(b, vers[i]);
		assert_int_equal(hg_post_type(b->link,
					      CHANNELMSG_REQUESTOFFERS, NULL,
					      8), 0);
		ovb_inproc_sync(b->link);
		raw_open(b, 0, &rc);
		m.child_relid = rc.relid;
		want[8] = (uint8_t)rc.relid;
		hrec_clear(b->rec);
		assert_int_equal(hg_post(b->link, &m, sizeof(m)), 0);
		ovb_inproc_sync(b->link);
		if (vers[i] < VMBUS_VERSION_WIN10_V5_3) {
			assert_int_equal(hrec_count(
				b->rec, CHANNELMSG_MODIFYCHANNEL_RESPONSE), 0);
		} else {
			assert_true(hrec_find(
				b->rec, CHANNELMSG_MODIFYCHANNEL_RESPONSE, 8,
				rc.relid, got));
			assert_memory_equal(got, want, 16);
		}
		raw_close(b, &rc);
		bc_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_response_features),
		cmocka_unit_test(test_ring_feature_bits),
		cmocka_unit_test(test_signal_after_open_result),
		cmocka_unit_test(test_host_messages),
		cmocka_unit_test(test_results_echo_keys),
		cmocka_unit_test(test_version_refusal),
		cmocka_unit_test(test_relid_held_until_released),
		cmocka_unit_test(test_modify_channel_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
