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

#include "openvmbus/netvsp.h"
#include "openvmbus/storvsp.h"
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

/* ---- VERSION_RESPONSE ------------------------------------------------------ */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_response_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
