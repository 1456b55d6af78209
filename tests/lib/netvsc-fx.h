/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the netvsc pair tests: a server with a switch and netvsp, one
 * guest over the inproc link with netvsc bound and its NIC open, and the
 * test's own switch port (which drops what it is sent).  Uses cmocka
 * assertions.
 */
#ifndef OPENVMBUS_TESTS_NETVSC_FX_H
#define OPENVMBUS_TESTS_NETVSC_FX_H

#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vswitch.h"

struct nvfx {
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	unsigned int port; /* the test's own switch port ("src") */
};

/**
 * Bring it up: netvsp with @cfg (its switch set here), guest "g1" with
 * 64 MiB of memory, its NIC opened with @p.
 */
void nvfx_open(struct nvfx *f, struct ovb_netvsp_cfg cfg,
	       const struct ovb_netvsc_params *p);
/** Close the NIC (checking the guest's pages) and tear it all down. */
void nvfx_close(struct nvfx *f);

#endif
