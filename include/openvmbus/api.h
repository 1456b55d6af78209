/* SPDX-License-Identifier: MIT */
/*
 * The export marker.  The libraries are built with -fvisibility=hidden:
 * only what a public header declares with OVB_API is in their dynamic
 * symbol table, and tests/system/exports.sh keeps the two sets equal.
 * Every public header includes this one.  Layer: core.  Convention:
 * OVB_API on its own line before each function declaration (continuation
 * lines keep their alignment), at the start of each extern variable's.
 *
 * The API comes in tiers, one header set each (docs/architecture.md,
 * "Public headers"):
 *  - application: server.h, client.h, link.h, the device headers
 *    (storvsp.h, netvsp.h, storvsc.h, netvsc.h, echo.h, ...), blk.h;
 *  - device SDK, for writing a VSP or VSC: vsp.h, vsc.h, channel.h,
 *    ring.h, gpadl.h, gmem.h;
 *  - hypervisor side, for an embedder that carries messages and signals
 *    between the partitions itself: hv.h;
 *  - wire formats: wire/.
 * A header whose opening comment says "Library: libopenvmbus-linux"
 * (link_socket.h, blk_file.h, net_tap.h, tap_nic.h, fuse_disk.h) is
 * implemented by that library (pkg-config openvmbus-linux); every other
 * one by libopenvmbus (pkg-config openvmbus).
 */
#ifndef OPENVMBUS_API_H
#define OPENVMBUS_API_H

#if defined(__GNUC__) || defined(__clang__)
#define OVB_API __attribute__((visibility("default")))
#else
#define OVB_API
#endif

#endif /* OPENVMBUS_API_H */
