// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the server's channel-message parser (src/bus/
 * server_msg.c, server_chan.c) as a hostile guest drives it: a server with
 * the echo VSP and one partition whose link ops are stubs, 256 KiB of
 * memfd-backed guest memory, and a script of guest actions -- channel
 * messages posted to chosen connection ids, writes into guest memory (ring
 * pages, the interrupt and monitor pages) and signals.  The partition and
 * the server are destroyed at the end of every input, which also stops any
 * channel the script managed to open.
 *
 * Input layout:
 *   0      flags: bits 0-1 echo instances - 1; bit 2 monitored offers;
 *          bit 3 cap the server at VMBus 4.0
 *   ...    steps, each an opcode byte then its operands:
 *          op % 4 == 0, 1  post: conn selector (u8: 0 -> 1, 1 -> 4,
 *                          2 -> 2, 3 -> u32 operand), len (u8), len bytes
 *                          (zero-padded when the input runs out)
 *          op % 4 == 2     write guest memory: offset (u24), n (u8), bytes
 *          op % 4 == 3     u8 r: signal connection 0x2000 + r; r 0xff:
 *                          signal connection 2; r 0xfe: let the channel
 *                          workers run for 0.5 ms (at most 8 times)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "openvmbus/echo.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"
#include "tests/fuzz/fuzz.h"

#define MEM_GPA 0x100000ull
#define MEM_SIZE (64 * 4096ull)
#define MAX_STEPS 128
#define MAX_SETTLES 8

static unsigned int sent, signals; /* for FUZZ_LOG */

static int stub_send(void *link, uint32_t sint, const void *msg, size_t len)
{
	/* What the server sends must fit a SynIC message. */
	if (!msg || len < 8 || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		__builtin_trap();
	__atomic_fetch_add(&sent, 1, __ATOMIC_RELAXED);
	return 0;
}

static int stub_signal(void *link, uint32_t relid)
{
	if (relid == 0 || relid > VMBUS_MAX_RELID)
		__builtin_trap();
	__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
	return 0;
}

static const struct ovb_partition_link_ops stub_ops = {
	.send_message = stub_send,
	.signal = stub_signal,
};

static uint8_t *guest_mem(struct ovb_partition *part)
{
	return ovb_gmem_ptr(ovb_partition_gmem(part), MEM_GPA, MEM_SIZE);
}

static void post(struct ovb_partition *part, struct fuzz_in *in)
{
	static const uint32_t conns[3] = { 1, 4, 2 };
	uint8_t sel = fuzz_u8(in), msg[256];
	uint32_t conn = sel % 4 < 3 ? conns[sel % 4] : fuzz_u32(in);
	size_t len = fuzz_msg(in, msg, sizeof(msg));
	int rc;

	rc = ovb_server_post_message(part, conn, msg, len);
	if (rc != 0 && rc != -EBADMSG && rc != -EPROTO && rc != -EBUSY &&
	    rc != -EFAULT && rc != -ENOMEM && rc != -ENOSPC)
		__builtin_trap();
}

static void poke(struct ovb_partition *part, struct fuzz_in *in)
{
	uint8_t *mem = guest_mem(part);
	uint32_t off = fuzz_u16(in);
	uint8_t n;

	off |= (uint32_t)fuzz_u8(in) << 16;
	n = fuzz_u8(in);

	for (uint8_t i = 0; i < n; i++) {
		uint8_t b = fuzz_u8(in);

		/* The guest's stores race the host's reads, as in life. */
		__atomic_store_n(&mem[(off + i) % MEM_SIZE], b,
				 __ATOMIC_RELAXED);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	struct ovb_echo_vsp_cfg cfg = { .instances = 1 + (flags & 3),
					.monitored = flags & 4 };
	struct ovb_partition *part;
	struct ovb_server *srv;
	struct ovb_gmem *gm = NULL;
	int fd, settles = 0;

	/* FUZZ_LOG=1 (with OVB_LOG=info) shows what an input does. */
	if (!getenv("FUZZ_LOG"))
		ovb_log_set_sink(fuzz_quiet, NULL);
	if (ovb_server_create(&srv))
		return 0;
	if (flags & 8)
		ovb_server_set_max_version(srv, VMBUS_VERSION_WIN10);
	ovb_server_register_vsp(srv, &ovb_echo_vsp_ops, &cfg);
	if (ovb_memfd_gmem_create("fuzz", &gm))
		goto out_srv;
	fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, MEM_SIZE) < 0 ||
	    ovb_memfd_gmem_add(gm, MEM_GPA, MEM_SIZE, fd, 0)) {
		if (fd >= 0)
			close(fd);
		goto out_srv;
	}
	if (ovb_server_partition_create(srv, "fuzz", &stub_ops, NULL, gm,
					&part))
		goto out_srv;
	for (int step = 0; step < MAX_STEPS && in.left; step++) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 4) {
		case 0:
		case 1:
			post(part, &in);
			break;
		case 2:
			poke(part, &in);
			break;
		default: {
			uint8_t r = fuzz_u8(&in);

			if (r == 0xfe && settles++ < MAX_SETTLES)
				usleep(500);
			else if (r != 0xfe)
				ovb_server_signal_event(
					part, r == 0xff ? 2 :
					VMBUS_CHAN_CONNECTION_ID_BASE + r);
		}
		}
	}
out_part:
	ovb_server_partition_destroy(part);
	if (getenv("FUZZ_LOG"))
		ovb_info("fuzz: %u messages and %u signals to the guest",
			 sent, signals);
	sent = signals = 0;
out_srv:
	ovb_server_destroy(srv);
	ovb_gmem_destroy(gm);
	return 0;
}
