// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the RNDIS validators (control messages, PACKET areas
 * and PPI records), the PPI -> metadata translation, and the offload code
 * a guest's frame then meets (canonicalisation, software checksums, TSO).
 * Every message that parses is rebuilt and must parse again to the same
 * content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/rndis.h"
#include "tests/fuzz/fuzz.h"

static int fuzz_seg(void *ctx, const void *seg, size_t len)
{
	(void)seg;
	*(size_t *)ctx += len;
	return 0;
}

/* What netvsp does with a guest frame before the switch sees it. */
static void fuzz_offload(const struct ovb_rndis_packet *pkt,
			 const struct ovb_net_meta *in)
{
	struct ovb_net_meta meta = *in;
	uint8_t *copy = malloc(pkt->frame_len);
	size_t total = 0;

	if (!copy)
		return;
	memcpy(copy, pkt->frame, pkt->frame_len);
	if (ovb_offload_canonicalize(copy, pkt->frame_len, &meta) == 0) {
		if (meta.gso_type)
			(void)ovb_offload_tso(copy, pkt->frame_len, &meta,
					      fuzz_seg, &total);
		else
			(void)ovb_offload_csum(copy, pkt->frame_len, &meta);
	}
	free(copy);
}

static void fuzz_packet(const uint8_t *buf, size_t len)
{
	static uint8_t out[1 << 17];
	struct ovb_rndis_packet pkt, again;
	struct ovb_net_meta meta;
	struct ovb_rndis_pktinfo info;
	ssize_t n;

	if (ovb_rndis_packet_parse(buf, len, &pkt) != 0)
		return;
	if (ovb_rndis_tx_to_meta(&pkt.info, pkt.frame, pkt.frame_len,
				 &meta) == 0) {
		(void)ovb_rndis_meta_to_tx(&meta, pkt.frame, pkt.frame_len,
					   &info);
		fuzz_offload(&pkt, &meta);
	}
	ovb_rndis_rx_to_meta(&pkt.info, &meta);
	(void)ovb_rndis_meta_to_rx(&meta, pkt.frame, pkt.frame_len, &info);
	n = ovb_rndis_packet_build(out, sizeof(out), pkt.frame, pkt.frame_len,
				   &pkt.info);
	if (n < 0)
		abort();
	if (ovb_rndis_packet_parse(out, (size_t)n, &again) != 0 ||
	    again.frame_len != pkt.frame_len ||
	    memcmp(again.frame, pkt.frame, pkt.frame_len) != 0 ||
	    memcmp(&again.info, &pkt.info, sizeof(pkt.info)) != 0)
		abort();
}

static void fuzz_control(const uint8_t *buf, size_t len)
{
	static uint8_t out[1 << 17];
	struct ovb_rndis_msg m, again;
	ssize_t n;

	if (ovb_rndis_parse(buf, len, &m) != 0 || m.type == RNDIS_MSG_PACKET)
		return;
	n = ovb_rndis_build(out, sizeof(out), &m);
	if (n < 0)
		abort();
	if (ovb_rndis_parse(out, (size_t)n, &again) != 0 ||
	    again.type != m.type || again.info_len != m.info_len ||
	    again.request_id != m.request_id || again.status != m.status ||
	    again.oid != m.oid ||
	    memcmp(&again.u, &m.u, sizeof(m.u)) != 0 ||
	    (m.info_len && memcmp(again.info, m.info, m.info_len) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy lets ASan catch any over-read. */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fuzz_control(buf, size);
	fuzz_packet(buf, size);
	free(buf);
	return 0;
}
