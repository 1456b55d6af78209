/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the netvsc pair tests: a server with a switch and netvsp,
 * one to NVFX_MAXG guests "g0", "g1", ... over the inproc link with
 * netvsc bound and their NICs open, and optionally the test's own switch
 * port.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_NETVSC_FX_H
#define OPENVMBUS_TESTS_NETVSC_FX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vswitch.h"

#define NVFX_MAXG 3
#define NVFX_MAXF 256

/* Frames one receiver (a guest or the test port) got, the first copied. */
struct nvfx_log {
	pthread_mutex_t lock;
	unsigned int n, queues_seen;
	uint32_t len[NVFX_MAXF];
	uint8_t *frame[NVFX_MAXF];
	struct ovb_net_meta meta[NVFX_MAXF];
	int link; /* guests: -1 no news, 0 down, 1 up */
};

struct nvfx_guest {
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic; /* NULL: closed, or its open failed */
	struct ovb_netvsc_info info; /* as the open left it */
	int open_rc;
};

struct nvfx {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	unsigned int ng;
	struct nvfx_guest g[NVFX_MAXG];
	bool has_port;
	unsigned int port; /* the test's own switch port */
	struct nvfx_log log[NVFX_MAXG]; /* each guest's, with nvfx_opts.log */
	struct nvfx_log port_log; /* the port's, with nvfx_opts.port_log */
};

struct nvfx_opts {
	struct ovb_netvsp_cfg cfg; /* its switch set here; no name: "sw0" */
	unsigned int guests;	   /* 0: 1 */
	uint64_t mem_gpa, mem_size; /* each guest's; 0: 4 GiB, 64 MiB */
	bool no_eventfd;	   /* guests on the slow signalling path */
	bool open_may_fail;	   /* keep a failed open's result in open_rc */
	bool no_open;		   /* netvsc bound, the NICs left closed */
	bool log; /* each NIC's rx, link and ctx: into nvfx.log[i] */
	/* The test's own port, added before the guests. */
	bool port;
	const char *port_name; /* NULL: "src" */
	uint32_t port_caps;
	ovb_vswitch_tx_fn *port_tx; /* NULL: drops what it is sent */
	bool port_log;		    /* port_tx: into nvfx.port_log */
	void *port_ctx;		    /* port_tx's */
};

/**
 * Bring it up as @o says, the NIC of guest i opened with @p[i] (@o->guests
 * of them; NULL: defaults).  Asserts each step but the NIC opens where
 * @o->open_may_fail.
 */
void nvfx_open(struct nvfx *f, const struct nvfx_opts *o,
	       const struct ovb_netvsc_params *p);
/**
 * Close the NICs still open (checking the guests' pages), tear it down
 * and empty the logs.
 */
void nvfx_close(struct nvfx *f);
/* The same on a fixture of its own, allocated and freed. */
struct nvfx *nvfx_new(const struct nvfx_opts *o,
		      const struct ovb_netvsc_params *p);
void nvfx_free(struct nvfx *f);

/**
 * A 64-byte TCP/IPv4 frame from @src to @dst, 10.0.0.@host:@sport to
 * 10.0.0.2:80 (the rest zero, for the caller to mark).  Returns 64.
 */
size_t nvfx_tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		      uint8_t host, uint16_t sport);

void nvfx_log_init(struct nvfx_log *r);
/** Record a frame (its queue, @meta NULL: none) in @r. */
void nvfx_log_add(struct nvfx_log *r, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta);
unsigned int nvfx_log_count(struct nvfx_log *r);
/** Forget every frame (the link state kept). */
void nvfx_log_reset(struct nvfx_log *r);
/* Callbacks into a struct nvfx_log: netvsc's rx and link, a port's tx. */
void nvfx_log_rx(void *ctx, unsigned int queue, const void *frame,
		 size_t len, const struct ovb_net_meta *meta);
void nvfx_log_link(void *ctx, bool up);
int nvfx_log_tx(void *ctx, const void *frame, size_t len,
		const struct ovb_net_meta *meta);

#endif
