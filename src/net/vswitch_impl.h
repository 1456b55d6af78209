/* SPDX-License-Identifier: MIT */
/*
 * The virtual switch's own structures, shared by vswitch.c (inputs one
 * frame at a time, forwarding, batches), vswitch_run.c (runs),
 * vswitch_xmit.h (the per-frame path both share) and vswitch_port.c
 * (ports, life cycle).  Layer: devices.  The locking contract is at the
 * top of vswitch.c.
 */
#ifndef OPENVMBUS_NET_VSWITCH_IMPL_H
#define OPENVMBUS_NET_VSWITCH_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/vswitch_fdb.h"
#include "openvmbus/vswitch.h"

struct vsw_port {
	bool used;
	uint8_t idx;
	uint32_t gen;            /* bumped by each port_add of this slot */
	uint32_t caps;
	ovb_vswitch_tx_fn *tx;
	ovb_vswitch_txv_fn *txv;
	ovb_vswitch_txn_fn *txn;
	ovb_vswitch_flush_fn *flush;
	void *ctx;
	char name[32];
	_Atomic uint64_t rx_packets, rx_bytes, rx_drops, floods;
	_Atomic uint64_t tx_packets, tx_bytes, tx_drops;
};

struct ovb_vswitch {
	pthread_rwlock_t ports_lock;
	/*
	 * Port changes waiting for or holding ports_lock's write side: a
	 * batch that holds the read side lets go when it sees one.  Its own
	 * line: every held input reads it, a writer rarely writes it.
	 */
	_Alignas(64) uint32_t writers;
	_Alignas(64) struct vsw_port ports[OVB_VSWITCH_MAX_PORTS];
	struct ovb__vswitch_fdb fdb;
	ovb_vswitch_clock_fn *clock;
	void *clock_ctx;
};

/*
 * ports_lock's write side for a port change, and its release: a batch
 * hold of the calling thread goes first, and @writers tells holders
 * elsewhere to let go (vswitch.c).
 */
void ovb__vswitch_wrlock(struct ovb_vswitch *sw);
void ovb__vswitch_wrunlock(struct ovb_vswitch *sw);

#endif
