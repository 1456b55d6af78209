/* SPDX-License-Identifier: MIT */
/*
 * The guest's network interface: a synthetic NIC (netvsc) exposed to
 * Linux as a TAP device, optionally inside a named network namespace that
 * is created the way iproute2 does it (/run/netns/NAME bind mounts), so
 * that `ip netns exec NAME ...` reaches it.  The MAC comes from the RNDIS
 * permanent address, the MTU from the host, the virtio-net header maps to
 * checksum and LSO per-packet info, and each channel gets its own TAP
 * queue (IFF_MULTI_QUEUE) with a reader thread, which also reaps that
 * channel's send completions and writes what came in on it between its
 * batches (the channel worker does while the reader sleeps); or, with
 * worker_reads, no reader threads: the channel worker reads its TAP
 * queue itself.  Layer: frontends.
 * Library: libopenvmbus-linux (pkg-config openvmbus-linux).
 */
#ifndef OPENVMBUS_TAP_NIC_H
#define OPENVMBUS_TAP_NIC_H

#include <stdbool.h>

#include "api.h"
#include "client.h"
#include "netvsc.h"

struct ovb_tap_nic_params {
	const char *ifname;   /**< TAP name, e.g. "eth0" or "ovb%d" */
	const char *netns;    /**< namespace name, NULL: the current one */
	const char *addr;     /**< IPv4 CIDR to assign, NULL: none */
	unsigned int queues;  /**< channels wanted (1..8) */
	uint32_t poll_us;     /**< channel polling, 0: interrupt mode */
	/**
	 * Each TAP reader drains its queue's channel between batches (its
	 * send completions, the frames that came in there) unless this is
	 * set: then the channel workers alone do (as before; comparisons).
	 */
	bool worker_reaps;
	/**
	 * After its last work a reader keeps looking at its TAP queue and
	 * channel this long before it sleeps; 0: it sleeps at once (the
	 * default: on 2 loaded cores a 30 us spin halved the context
	 * switches but cost CPU per byte, see docs/net-perf.md).
	 */
	uint32_t reader_spin_us;
	/**
	 * One thread per queue: no TAP reader threads; each channel worker
	 * reads its own TAP queue too (ovb_netvsc_set_source) between
	 * drains, so a frame, its completion and the frames coming back on
	 * its queue stay on one thread.  worker_reaps and reader_spin_us
	 * do not apply.
	 */
	bool worker_reads;
};

struct ovb_tap_nic;

/**
 * Bring up the NIC offered as @dev and its TAP.  Blocks; call from a
 * thread that is not a channel worker.  Returns 0 or -errno after logging
 * which step failed (-EPERM without CAP_NET_ADMIN / CAP_SYS_ADMIN).
 */
OVB_API
int ovb_tap_nic_start(struct ovb_vsc_dev *dev,
		      const struct ovb_tap_nic_params *p,
		      struct ovb_tap_nic **out);

/** The interface name the kernel gave. */
OVB_API
const char *ovb_tap_nic_name(const struct ovb_tap_nic *t);

/** The netvsc under it. */
OVB_API
struct ovb_netvsc *ovb_tap_nic_netvsc(struct ovb_tap_nic *t);

/** Stop the readers, close the TAP and the NIC.  The namespace stays. */
OVB_API
void ovb_tap_nic_stop(struct ovb_tap_nic *t);

/**
 * Create network namespace @name under /run/netns unless it exists.
 * Returns 0 or -errno.
 */
OVB_API
int ovb_netns_ensure(const char *name);

#endif /* OPENVMBUS_TAP_NIC_H */
