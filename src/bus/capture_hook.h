/* SPDX-License-Identifier: MIT */
/*
 * The capture's hooks in the bus (src/bus/server_capture.c).  Each call
 * site tests OVB_CAPTURE_ON() first: one load of a process-wide counter
 * and one branch that predicts "off", so a host that is not capturing
 * pays nothing else.  Layer: bus.
 */
#ifndef OVB_BUS_CAPTURE_HOOK_H
#define OVB_BUS_CAPTURE_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "openvmbus/channel.h"
#include "openvmbus/wire/capture.h"

struct ovb_partition;

/** Captures running in this process (0 or 1); read relaxed. */
extern int ovb__capture_on;

#define OVB_CAPTURE_ON()                                                      \
	__builtin_expect(__atomic_load_n(&ovb__capture_on, __ATOMIC_RELAXED), 0)

/** A channel message of @part, after link framing; @dir enum ovb_cap_dir. */
void ovb__cap_msg(struct ovb_partition *part, int dir, const void *msg,
		  size_t len);

/** A packet the host read from channel @tap (a struct ovb_vsp_dev). */
void ovb__cap_pkt_in(void *tap, const void *buf, size_t len,
		     const struct ovb_pkt *pkt);

/** A packet the host wrote to channel @tap: its framed iovecs and @s. */
void ovb__cap_pkt_out(void *tap, const struct iovec *iov, int n,
		      const struct ovb_send *s);

/** @srv is going away: stop its capture if one runs. */
struct ovb_server;
void ovb__cap_server_gone(struct ovb_server *srv);

#endif
