/* SPDX-License-Identifier: MIT */
/*
 * A scripted netvsc guest for netvsp tests: a real host (netvsp on a
 * virtual switch, plus a test port on that switch that sees what the guest
 * sent and injects frames towards it) and a guest that speaks NVSP and
 * RNDIS byte by byte the way Linux netvsc (drivers/net/hyperv) and DPDK's
 * netvsc PMD do, recording every transfer-page packet, completion and
 * control reply the host sends back.
 */
#ifndef OPENVMBUS_TESTS_NET_GUEST_FX_H
#define OPENVMBUS_TESTS_NET_GUEST_FX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "openvmbus/link.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/vswitch.h"

#define PAGE 4096u
#define RXBUF_ID 0xcafe /* Linux's and DPDK's receive buffer id */
#define MAXREC 1024
#define MAXSINK 64
#define MAXRANGES 64 /* ranges recorded per transfer-page packet */

/* One transfer-page packet the host sent us. */
struct xfer_rec {
	uint64_t xid;
	uint16_t pageset;
	uint32_t nranges, off, len;
	uint32_t roff[MAXRANGES], rlen[MAXRANGES]; /* its first ranges */
	uint32_t nvsp_type, channel_type;
};

/* One completion the host sent us. */
struct comp_rec {
	uint64_t xid;
	uint32_t len;
	uint8_t msg[64];
};

/* The scripted guest and the host it talks to. */
struct sg {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_inproc *link;
	struct ovb_client *cl;
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	unsigned int port; /* the test's own switch port */

	uint8_t *rx; /* receive buffer */
	size_t rx_len;
	uint8_t *tx; /* send buffer */
	size_t tx_len;
	uint8_t *pages; /* scratch pages for GPA-direct sends */
	uint64_t pages_gpa;
	uint32_t sub_size, nsub, section_size;
	uint8_t recv_buf_comp[64];
	uint32_t recv_buf_comp_len;

	pthread_mutex_t lock;
	bool hold; /* keep receive slots instead of completing */
	bool closing; /* sg_free began: completions may fail */
	int ack_err;  /* the first completion the receive callback failed to send */
	unsigned int nxfer, ncomp;
	struct xfer_rec xfer[MAXREC];
	struct comp_rec comp[MAXREC];
	uint8_t inband[256]; /* the last in-band message received */
	uint32_t inband_len;
	unsigned int ninband;
	uint8_t last_ctl[1024]; /* the last control message received */
	uint32_t last_ctl_len;
	unsigned int nctl;

	unsigned int nsink; /* frames the switch delivered to our port */
	uint32_t sink_len[MAXSINK];
	uint8_t *sink[MAXSINK];
	struct ovb_net_meta sink_meta[MAXSINK];
	uint64_t next_xid;
};

struct sg_opts {
	uint32_t nvsp;	       /* 0: 6.1 */
	size_t rx_len, tx_len; /* 0: 1 MiB; tx SIZE_MAX: none */
	size_t mem;	       /* 0: 64 MiB */
	bool no_init;	       /* stop after the buffers */
	bool rsc;	       /* RSC bit in SEND_NDIS_CONFIG, as Linux >= 6.1 */
	unsigned int rx_wait_ms; /* netvsp's backpressure bound; 0: its own */
	uint32_t rx_slot;	 /* netvsp's cfg.rx_slot; 0: its own */
};

static inline uint32_t ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void st32(void *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/*
 * The scripted guest.  sg_new() brings it up (NVSP INIT, NDIS config and
 * version, the buffers, RNDIS INITIALIZE and a promiscuous filter);
 * sg_nvsp/sg_inband/sg_rndis/sg_send_* send raw messages; sg_comps and
 * the recorder in struct sg show what came back.  Each function says more
 * at its definition.
 */
void sg_ack(struct sg *g, uint64_t xid);
unsigned int sg_nsink(struct sg *g);
void sg_sink_reset(struct sg *g);
unsigned int sg_comps(struct sg *g, uint64_t xid, struct comp_rec *out);
unsigned int sg_call(struct sg *g, const void *msg, size_t len,
		     const void *ranges, size_t ranges_len, uint32_t range_cnt,
		     struct comp_rec *out);
uint32_t sg_nvsp_status(const struct comp_rec *c);
unsigned int sg_nvsp(struct sg *g, uint32_t type, const uint32_t *w, int nw,
		     struct comp_rec *out);
void sg_inband(struct sg *g, uint32_t type, const uint32_t *w, int nw);
uint32_t sg_recv_buf(struct sg *g, size_t len);
uint32_t sg_send_buf(struct sg *g, size_t len);
uint32_t sg_send_split(struct sg *g, uint32_t channel_type, const uint8_t *msg,
		       size_t len, size_t k, size_t k2, bool one_range);
void sg_rndis(struct sg *g, const void *msg, size_t len);
size_t sg_rndis_set(uint8_t *b, uint32_t rid, uint32_t oid, const void *val,
		    uint32_t vlen);
size_t sg_rndis_query(uint8_t *b, uint32_t rid, uint32_t oid);
struct sg *sg_new(const struct sg_opts *o);
void sg_free(struct sg *g);
size_t sg_tx_packet(uint8_t *b, size_t flen, uint32_t seed);
uint64_t sg_vsp_stat(struct sg *g, size_t off);
void sg_inject(struct sg *g, size_t len, uint32_t seed);
uint32_t sg_send_section(struct sg *g, uint32_t idx, const void *msg,
			 size_t len, unsigned int *ncomp);
size_t sg_tx_ppi_packet(uint8_t *b, const uint8_t *frame, size_t flen,
			uint32_t ppi_type, uint32_t ppi_val);
void sg_inject_to(struct sg *g, const uint8_t *dst);
unsigned int sg_data_xfers(struct sg *g, unsigned int first);

#endif
