// SPDX-License-Identifier: MIT
/*
 * A hostile guest against netvsp: it opens the NIC's channel with a raw
 * driver and sends short requests, unknown NVSP types, bogus GPADLs, send
 * section indices and lengths past the buffer, page buffers outside guest
 * memory, garbage RNDIS and completions for slots it does not hold.  Each
 * gets a clear log line or failure status; afterwards a well-behaved
 * guest on the same switch still comes up and passes traffic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"
#include "net/nvsp.h"
#include "net/rndis.h"
#include "tests/lib/pair.h"

struct raw {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
};

static int raw_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	((struct raw *)ctx)->dev = dev;
	return 0;
}

static const struct ovb_vsc_driver raw_driver = {
	.name = "raw-nic",
	.class_id = { { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91,
			0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	.probe = raw_probe,
};

struct reply {
	int done;
	uint8_t msg[64];
};

static void on_reply(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
	struct reply *r = ctx;

	if (pkt)
		memcpy(r->msg, pkt->data, pkt->len < 64 ? pkt->len : 64);
	__atomic_store_n(&r->done, pkt ? 1 : -1, __ATOMIC_RELEASE);
}

static void raw_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
}

/* Send @len bytes of @msg (in-band or over @words); wait for a reply. */
static int call(struct raw *h, const void *msg, size_t len,
		const uint64_t *words, int nw, struct reply *r)
{
	struct ovb_send s = { .data = msg, .len = len, .on_comp = on_reply,
			      .comp_ctx = r };

	memset(r, 0, sizeof(*r));
	if (words) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = (size_t)nw * 8;
		s.range_cnt = 1;
	}
	assert_int_equal(ovb_chan_send(h->chan, &s), 0);
	for (int i = 0; i < 500 && !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	return r->done;
}

static uint32_t word(const struct reply *r, int i)
{
	uint32_t v;

	memcpy(&v, r->msg + 4 * i, 4);
	return v;
}

static void test_hostile_guest(void **state)
{
	struct ovb_netvsp_cfg cfg = { .name = "sw0" };
	struct ovb_inproc_params ip = { .name = "evil", .mem_gpa = 1ull << 32,
					.mem_size = 16ull << 20 };
	struct ovb_vsc_open_params op = { .out_ring = 65536, .in_ring = 65536,
					  .recv = raw_recv };
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_inproc *evil, *good;
	struct ovb_client *cl;
	struct raw h = { 0 };
	union nvsp_message m;
	struct reply r;
	uint8_t *buf;
	uint64_t gpa, words[4];
	uint32_t gpadl;

	logcap_start();
	assert_int_equal(ovb_server_create(&srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &sw), 0);
	cfg.sw = sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &vsp), 0);
	assert_int_equal(ovb_netvsp_register(vsp, srv), 0);
	assert_int_equal(ovb_inproc_create(srv, &ip, &evil), 0);
	cl = ovb_inproc_client(evil);
	assert_int_equal(ovb_client_register_driver(cl, &raw_driver, &h), 0);
	assert_int_equal(ovb_client_connect(cl, 0, 5000), 0);
	assert_non_null(h.dev);
	assert_int_equal(ovb_vsc_open(h.dev, &op, &h.chan), 0);

	/* A 12-byte INIT: no reply at all, as on Hyper-V. */
	memset(&m, 0, sizeof(m));
	m.init.hdr.msg_type = NVSP_MSG_TYPE_INIT;
	m.init.min_protocol_ver = m.init.max_protocol_ver =
		NVSP_PROTOCOL_VERSION_61;
	assert_int_equal(call(&h, &m, 12, NULL, 0, &r), 0);
	assert_int_equal(logcap_count("get no reply"), 1);
	/* A message type that does not exist. */
	m.hdr.msg_type = 4242;
	call(&h, &m, sizeof(m), NULL, 0, &r);
	assert_int_equal(logcap_count("bad NVSP message"), 1);
	/* SEND_RNDIS_PKT before INIT: out of sequence. */
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	call(&h, &m, sizeof(m), NULL, 0, &r);
	assert_int_equal(logcap_count("out of sequence"), 1);
	/* A proper INIT. */
	m.hdr.msg_type = NVSP_MSG_TYPE_INIT;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_equal(word(&r, 0), NVSP_MSG_TYPE_INIT_COMPLETE);
	assert_int_equal(word(&r, 3), NVSP_STAT_SUCCESS);
	/* A receive buffer GPADL that does not exist. */
	memset(&m, 0, sizeof(m));
	m.send_buffer.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RECV_BUF;
	m.send_buffer.gpadl_handle = 0xdead;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_equal(word(&r, 1), NVSP_STAT_FAIL);
	/* A send buffer, then sections past it and lengths past a section. */
	assert_int_equal(ovb_client_alloc(cl, 65536, (void **)&buf, &gpa), 0);
	assert_int_equal(ovb_vsc_gpadl_create(h.dev, buf, 65536, &gpadl), 0);
	m.send_buffer.hdr.msg_type = NVSP_MSG1_TYPE_SEND_SEND_BUF;
	m.send_buffer.gpadl_handle = gpadl;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_equal(word(&r, 1), NVSP_STAT_SUCCESS);
	memset(&m, 0, sizeof(m));
	m.rndis_pkt.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT;
	m.rndis_pkt.send_buf_section_index = 10; /* 64 KiB holds 10 */
	m.rndis_pkt.send_buf_section_size = 100;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_equal(word(&r, 1), NVSP_STAT_FAIL);
	m.rndis_pkt.send_buf_section_index = 0;
	m.rndis_pkt.send_buf_section_size = 6145;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_equal(word(&r, 1), NVSP_STAT_FAIL);
	assert_int_equal(logcap_count("outside the send buffer"), 2);
	/* Garbage RNDIS in a section. */
	for (int i = 0; i < 200; i++)
		buf[i] = (uint8_t)(i * 91 + 7);
	m.rndis_pkt.send_buf_section_size = 200;
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_not_equal(word(&r, 1), NVSP_STAT_SUCCESS);
	/* A PACKET whose data runs past its message. */
	memset(buf, 0, 200);
	memcpy(buf, (uint32_t[]){ RNDIS_MSG_PACKET, 100, 36, 1000 }, 16);
	assert_int_equal(call(&h, &m, sizeof(m), NULL, 0, &r), 1);
	assert_int_not_equal(word(&r, 1), NVSP_STAT_SUCCESS);
	/* Page buffers outside guest memory. */
	m.rndis_pkt.send_buf_section_index = NVSP_INVALID_SECTION_INDEX;
	words[0] = 100;
	words[1] = 0x7fffffffull; /* PFN far outside */
	assert_int_equal(call(&h, &m, sizeof(m), words, 2, &r), 1);
	assert_int_equal(word(&r, 1), NVSP_STAT_FAIL);
	assert_true(logcap_count("outside the guest") >= 1);
	/* A completion for a receive slot we were never given. */
	memset(&m, 0, sizeof(m));
	m.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	assert_int_equal(ovb_chan_send_comp(h.chan, 77, &m, sizeof(m)), 0);
	PAIR_WAIT(logcap_count("does not hold") == 1);
	assert_int_equal(logcap_count("does not hold"), 1);

	/* A well-behaved guest still comes up on the same switch. */
	struct ovb_netvsc_driver_ctx drv = { 0 };
	struct ovb_netvsc_params np = { 0 };
	struct ovb_netvsc *nic;
	struct ovb_inproc_params gp = { .name = "good", .mem_gpa = 1ull << 32,
					.mem_size = 64ull << 20 };

	assert_int_equal(ovb_inproc_create(srv, &gp, &good), 0);
	assert_int_equal(ovb_client_register_driver(ovb_inproc_client(good),
						    &ovb_netvsc_driver, &drv),
			 0);
	assert_int_equal(ovb_client_connect(ovb_inproc_client(good), 0, 5000),
			 0);
	assert_int_equal(ovb_netvsc_open(drv.dev[0], &np, &nic), 0);
	assert_int_equal(ovb_netvsc_keepalive(nic), 0);
	/* The hostile guest dies without cleaning up. */
	ovb_inproc_destroy(evil);
	assert_int_equal(ovb_netvsc_keepalive(nic), 0);
	ovb_netvsc_close(nic);
	ovb_inproc_destroy(good);
	ovb_server_destroy(srv);
	ovb_netvsp_destroy(vsp);
	ovb_vswitch_destroy(sw);
	logcap_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
