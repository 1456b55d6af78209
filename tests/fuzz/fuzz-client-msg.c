// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the client's host-message parser (src/bus/
 * client.c, client_conn.c) as a hostile host drives it: a client with the
 * echo driver over stub link ops and 64 KiB of guest memory, fed a script
 * of host messages and events.  Optionally the stub link plays a host for
 * ovb_client_connect(): it answers every INITIATE_CONTACT with the
 * script's first message and answers REQUEST_OFFERS by delivering the rest
 * of the script, so offers reach the drivers the way they do at connect;
 * optionally the client unloads at the end (the stub answers UNLOAD).  No
 * channel is ever opened.  The client is destroyed at the end of every
 * input.
 *
 * Input layout:
 *   0      flags: bit0 connect through the stub host; bit1 unload at the
 *          end; bits 4-7 index of the highest version to ask for (0: all)
 *   ...    steps, each an opcode byte then its operands:
 *          op % 4 == 0, 1  message: len (u8), len bytes (zero-padded)
 *          op % 4 == 2     event for relid u16
 *          op % 4 == 3     snapshot the offers
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "tests/fuzz/fuzz.h"

#define MEM_GPA 0x100000ull
#define MEM_SIZE (16 * 4096ull)
#define MAX_STEPS 128

struct fuzz_host {
	struct ovb_client *cl;
	struct fuzz_in in;  /* the script */
	uint8_t reply[256]; /* the answer to INITIATE_CONTACT */
	size_t reply_len;
	unsigned int posts;
};

static void run_script(struct fuzz_host *h)
{
	struct ovb_offer_info info[4];
	uint8_t msg[256];

	for (int step = 0; step < MAX_STEPS && h->in.left; step++) {
		uint8_t op = fuzz_u8(&h->in);

		switch (op % 4) {
		case 0:
		case 1: {
			size_t len = fuzz_msg(&h->in, msg, sizeof(msg));

			ovb_client_deliver_message(h->cl, VMBUS_MESSAGE_SINT,
						   msg, len);
			break;
		}
		case 2: {
			uint32_t relid = fuzz_u16(&h->in);

			ovb_client_deliver_event(h->cl, relid);
			break;
		}
		default:
			if (ovb_client_offers(h->cl, info, 4) > VMBUS_MAX_RELID)
				__builtin_trap();
		}
	}
}

static int stub_post(void *link, uint32_t conn_id, const void *msg,
		     size_t len)
{
	struct fuzz_host *h = link;
	uint32_t type;
	struct vmbus_channel_message_header done = {
		.msgtype = CHANNELMSG_UNLOAD_RESPONSE };

	if (!msg || len < 8 || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT ||
	    __atomic_add_fetch(&h->posts, 1, __ATOMIC_RELAXED) > 10000)
		__builtin_trap();
	memcpy(&type, msg, 4);
	if (type == CHANNELMSG_INITIATE_CONTACT)
		ovb_client_deliver_message(h->cl, VMBUS_MESSAGE_SINT, h->reply,
					   h->reply_len);
	else if (type == CHANNELMSG_REQUESTOFFERS)
		run_script(h);
	else if (type == CHANNELMSG_UNLOAD)
		ovb_client_deliver_message(h->cl, VMBUS_MESSAGE_SINT, &done,
					   sizeof(done));
	return 0;
}

static int stub_signal(void *link, uint32_t conn_id)
{
	return 0;
}

static const struct ovb_client_link_ops stub_ops = {
	.post_message = stub_post,
	.signal_event = stub_signal,
};

static const uint32_t versions[16] = {
	0, VMBUS_VERSION_WS2008, VMBUS_VERSION_WIN7, VMBUS_VERSION_WIN8,
	VMBUS_VERSION_WIN8_1, VMBUS_VERSION_WIN10, VMBUS_VERSION_WIN10_V4_1,
	VMBUS_VERSION_WIN10_V5, VMBUS_VERSION_WIN10_V5_1,
	VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_3,
	VMBUS_VERSION_WIN10_V6_0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_host h = { .in = { .p = data, .left = size } };
	struct ovb_echo_driver_ctx echo = { 0 };
	uint8_t flags = fuzz_u8(&h.in);
	struct ovb_gmem *gm = NULL;

	/* FUZZ_LOG=1 (with OVB_LOG=info) shows what an input does. */
	if (!getenv("FUZZ_LOG"))
		ovb_log_set_sink(fuzz_quiet, NULL);
	if (ovb_memfd_gmem_create("fuzz", &gm) ||
	    ovb_memfd_gmem_create_region(gm, MEM_GPA, MEM_SIZE) < 0)
		goto out_mem;
	if (ovb_client_create(&stub_ops, &h, gm, &h.cl))
		goto out_mem;
	ovb_client_register_driver(h.cl, &ovb_echo_driver, &echo);
	ovb_client_set_timeout(h.cl, 1);
	if (flags & 1) {
		h.reply_len = fuzz_msg(&h.in, h.reply, sizeof(h.reply));
		ovb_client_connect(h.cl, versions[flags >> 4], 1);
	}
	run_script(&h);
	if (flags & 2)
		ovb_client_unload(h.cl, 1);
	ovb_client_destroy(h.cl);
out_mem:
	ovb_gmem_destroy(gm);
	return 0;
}
