/* SPDX-License-Identifier: MIT */
/*
 * What the virtual switch tells its ports inside src/net.  Layer: devices.
 */
#ifndef OPENVMBUS_NET_VSWITCH_PRIV_H
#define OPENVMBUS_NET_VSWITCH_PRIV_H

#include <stdbool.h>

struct ovb_vswitch;

/**
 * Whether the calling thread's batch on @sw holds the switch's port lock
 * between inputs (vswitch.c's locking contract).  While it does, no port
 * is removed, and every port this thread delivered to is flushed before
 * the hold ends: a port may keep per-thread state from one transmit
 * callback to its flush.  Called from a transmit callback.
 */
bool ovb__vswitch_held(const struct ovb_vswitch *sw);

#endif
