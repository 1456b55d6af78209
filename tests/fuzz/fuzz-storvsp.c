// SPDX-License-Identifier: MIT
/*
 * Fuzz target: storvsp's packet handler, end to end.  One inproc pair is
 * built on the first input: a server with a storvsp controller over two
 * RAM disks and a guest whose raw driver opened the channel and finished
 * the init sequence.  Each input is one packet: byte 0 picks the framing
 * (in-band; GPA-direct over a real guest buffer at an offset and length
 * from bytes 1-4; or GPA-direct over pages outside guest memory), the
 * rest is the VSTOR packet.  Every packet is sent with a completion
 * requested and storvsp must answer each one; a missing answer or a
 * crash is a finding.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "openvmbus/storvsp.h"
#include "openvmbus/vsc.h"
#include "storage/vstor.h"
#include "tests/fuzz/fuzz.h"

static struct {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	uint8_t *buf;
	uint64_t gpa;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int answers;
} fz = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int fz_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	fz.dev = dev;
	return 0;
}

static const struct ovb_vsc_driver fz_driver = {
	.name = "fuzz-vstor",
	.class_id = VSTOR_SCSI_CLASS_GUID,
	.probe = fz_probe,
};

static void fz_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
}

static void fz_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
	pthread_mutex_lock(&fz.lock);
	fz.answers++;
	pthread_cond_broadcast(&fz.cond);
	pthread_mutex_unlock(&fz.lock);
}

/* Send and wait up to 2 s for the answer; false if none came. */
static bool fz_call(const void *pkt, size_t len, const uint64_t *words,
		    size_t nwords)
{
	struct ovb_send s = { .data = pkt, .len = len, .on_comp = fz_comp };
	struct timespec dl;
	int want;
	bool ok;

	if (words) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = nwords * 8;
		s.range_cnt = 1;
	}
	pthread_mutex_lock(&fz.lock);
	want = fz.answers + 1;
	pthread_mutex_unlock(&fz.lock);
	if (ovb_chan_send(fz.chan, &s))
		return true; /* refused locally: nothing to wait for */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&fz.lock);
	while (fz.answers < want &&
	       pthread_cond_timedwait(&fz.cond, &fz.lock, &dl) == 0)
		;
	ok = fz.answers >= want;
	pthread_mutex_unlock(&fz.lock);
	return ok;
}

static void fz_simple(uint32_t op, uint16_t v)
{
	uint8_t pkt[64];
	ssize_t n = ovb_vstor_encode_simple(pkt, sizeof(pkt), v, op,
					    VSTOR_FLAG_REQUEST_COMPLETION, 0);

	FUZZ_CHECK(n > 0 && fz_call(pkt, (size_t)n, NULL, 0));
}

static void fz_setup(void)
{
	struct ovb_inproc_params ip = { .name = "fuzz", .mem_gpa = 1ull << 30,
					.mem_size = 16ull << 20 };
	struct ovb_vsc_open_params op = { .out_ring = 65536, .in_ring = 65536,
					  .recv = fz_recv };
	struct ovb_storvsp_cfg cfg = { .name = "storvsp-fuzz" };
	struct ovb_storvsp *c;
	struct ovb_server *srv;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct ovb_blk *blk;
	uint8_t pkt[64];
	ssize_t n;

	ovb_log_set_level(OVB_LOG_ERR);
	FUZZ_CHECK(ovb_server_create(&srv) == 0);
	FUZZ_CHECK(ovb_storvsp_create(&cfg, &c) == 0);
	FUZZ_CHECK(ovb_blk_ram_create(1 << 20, 512, &blk) == 0);
	FUZZ_CHECK(ovb_storvsp_add_lun(c, 0, blk) == 0);
	FUZZ_CHECK(ovb_blk_ram_create(1 << 20, 4096, &blk) == 0);
	FUZZ_CHECK(ovb_storvsp_add_lun(c, 1, blk) == 1);
	FUZZ_CHECK(ovb_storvsp_register(srv, c) == 0);
	FUZZ_CHECK(ovb_inproc_create(srv, &ip, &link) == 0);
	cl = ovb_inproc_client(link);
	FUZZ_CHECK(ovb_client_register_driver(cl, &fz_driver, NULL) == 0);
	FUZZ_CHECK(ovb_client_connect(cl, 0, 5000) == 0);
	FUZZ_CHECK(fz.dev && ovb_vsc_open(fz.dev, &op, &fz.chan) == 0);
	FUZZ_CHECK(ovb_client_alloc(cl, 3 * 4096, (void **)&fz.buf,
				    &fz.gpa) == 0);
	fz_simple(VSTOR_OPERATION_BEGIN_INITIALIZATION, VSTOR_PROTO_VERSION_WIN6);
	n = ovb_vstor_encode_version(pkt, sizeof(pkt), VSTOR_PROTO_VERSION_WIN6,
				     VSTOR_PROTO_VERSION_WIN10);
	FUZZ_CHECK(n > 0 && fz_call(pkt, (size_t)n, NULL, 0));
	fz_simple(VSTOR_OPERATION_QUERY_PROPERTIES, VSTOR_PROTO_VERSION_WIN10);
	fz_simple(VSTOR_OPERATION_END_INITIALIZATION,
		  VSTOR_PROTO_VERSION_WIN10);
	/* The pair lives for the whole run. */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t pkt[128];
	uint64_t words[4];
	size_t len;

	if (!ready) {
		fz_setup();
		ready = true;
	}
	if (size < 6)
		return 0;
	len = size - 5 < sizeof(pkt) ? size - 5 : sizeof(pkt);
	memcpy(pkt, data + 5, len);
	if (len < 8)
		return 0; /* the channel pads to 8; keep packets real */
	switch (data[0] % 3) {
	case 0:
		FUZZ_CHECK(fz_call(pkt, len, NULL, 0));
		break;
	case 1: {
		/* A range over our 3-page buffer: at most 3 pages. */
		uint32_t off = data[1] | (uint32_t)(data[2] & 0x0f) << 8;
		uint32_t cnt = (data[3] | (uint32_t)data[4] << 8) % 8192 + 1;

		words[0] = cnt | (uint64_t)off << 32;
		for (int i = 0; i < 3; i++)
			words[1 + i] = fz.gpa / 4096 + (uint64_t)i;
		FUZZ_CHECK(fz_call(pkt, len, words,
				   1 + ovb_gpa_range_npfns(off, cnt)));
		break;
	}
	default:
		words[0] = 4096;
		words[1] = 0x10 + data[1]; /* below guest RAM */
		FUZZ_CHECK(fz_call(pkt, len, words, 2));
	}
	return 0;
}
