// SPDX-License-Identifier: MIT
/*
 * The virtual switch's ports and life cycle: create and destroy, ports
 * added, removed and given flush or split-transmit callbacks, their
 * counters, and the MAC table's lookup and aging for callers.  Every port
 * change takes ports_lock's write side through ovb__vswitch_wrlock, which
 * lets a batch's hold on the read side go first (vswitch.c's locking
 * contract).  Layer: devices.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/vswitch_fdb.h"
#include "net/vswitch_impl.h"
#include "openvmbus/vswitch.h"

#define VSW_DEFAULT_AGING_MS 300000u
#define VSW_DEFAULT_FDB 4096u

/*
 * Every input reads the clock once, for learning and for the entry ages.
 * CLOCK_MONOTONIC_COARSE is the tick the kernel last stored (its
 * resolution is a few milliseconds, far below the seconds MAC entries
 * live), read without the TSC: perf on bench/net showed the precise
 * clock taking a fifth of the host worker's time at 64-byte rates.
 */
static uint64_t vsw_monotonic_ms(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ovb_vswitch_port_set_flush(struct ovb_vswitch *sw, unsigned int port,
			       ovb_vswitch_flush_fn *flush)
{
	int rc = -ENODEV;

	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	ovb__vswitch_wrlock(sw);
	if (sw->ports[port].used) {
		sw->ports[port].flush = flush;
		rc = 0;
	}
	ovb__vswitch_wrunlock(sw);
	return rc;
}

int ovb_vswitch_port_set_txv(struct ovb_vswitch *sw, unsigned int port,
			     ovb_vswitch_txv_fn *txv)
{
	int rc = -ENODEV;

	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	ovb__vswitch_wrlock(sw);
	if (sw->ports[port].used) {
		sw->ports[port].txv = txv;
		rc = 0;
	}
	ovb__vswitch_wrunlock(sw);
	return rc;
}

int ovb_vswitch_port_set_txn(struct ovb_vswitch *sw, unsigned int port,
			     ovb_vswitch_txn_fn *txn)
{
	int rc = -ENODEV;

	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	ovb__vswitch_wrlock(sw);
	if (sw->ports[port].used) {
		sw->ports[port].txn = txn;
		rc = 0;
	}
	ovb__vswitch_wrunlock(sw);
	return rc;
}

int ovb_vswitch_create(const struct ovb_vswitch_config *cfg,
		       struct ovb_vswitch **out)
{
	static const struct ovb_vswitch_config defaults;
	pthread_rwlockattr_t attr;
	struct ovb_vswitch *sw;
	int rc;

	if (!out)
		return -EINVAL;
	if (!cfg)
		cfg = &defaults;
	sw = aligned_alloc(64, (sizeof(*sw) + 63) & ~(size_t)63);
	if (!sw)
		return -ENOMEM;
	memset(sw, 0, sizeof(*sw));
	rc = ovb__vswitch_fdb_init(&sw->fdb, cfg->fdb_entries ?
					     cfg->fdb_entries : VSW_DEFAULT_FDB,
				   cfg->aging_ms ? cfg->aging_ms :
						   VSW_DEFAULT_AGING_MS);
	if (rc) {
		free(sw);
		return rc;
	}
	sw->clock = cfg->clock ? cfg->clock : vsw_monotonic_ms;
	sw->clock_ctx = cfg->clock_ctx;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
	pthread_rwlock_init(&sw->ports_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	*out = sw;
	return 0;
}

void ovb_vswitch_destroy(struct ovb_vswitch *sw)
{
	if (!sw)
		return;
	pthread_rwlock_destroy(&sw->ports_lock);
	ovb__vswitch_fdb_fini(&sw->fdb);
	free(sw);
}

static void vsw_port_reset(struct vsw_port *p)
{
	_Atomic uint64_t *c[] = { &p->rx_packets, &p->rx_bytes, &p->rx_drops,
				  &p->floods, &p->tx_packets, &p->tx_bytes,
				  &p->tx_drops };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		atomic_store_explicit(c[i], 0, memory_order_relaxed);
}

int ovb_vswitch_port_add(struct ovb_vswitch *sw, const char *name,
			 uint32_t caps, ovb_vswitch_tx_fn *tx, void *ctx,
			 unsigned int *port)
{
	int rc = -ENOSPC;

	if (!sw || !tx || !port)
		return -EINVAL;
	ovb__vswitch_wrlock(sw);
	for (unsigned int i = 0; i < OVB_VSWITCH_MAX_PORTS; i++) {
		struct vsw_port *p = &sw->ports[i];

		if (p->used)
			continue;
		vsw_port_reset(p);
		p->gen++;
		p->caps = caps;
		p->tx = tx;
		p->flush = NULL;
		p->txv = NULL; /* a slot used before kept its old one */
		p->txn = NULL;
		p->idx = (uint8_t)i;
		p->ctx = ctx;
		snprintf(p->name, sizeof(p->name), "%s", name ? name : "?");
		p->used = true;
		*port = i;
		rc = 0;
		break;
	}
	ovb__vswitch_wrunlock(sw);
	return rc;
}

int ovb_vswitch_port_remove(struct ovb_vswitch *sw, unsigned int port)
{
	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	ovb__vswitch_wrlock(sw);
	if (!sw->ports[port].used) {
		ovb__vswitch_wrunlock(sw);
		return -ENODEV;
	}
	sw->ports[port].used = false;
	ovb__vswitch_fdb_flush_port(&sw->fdb, port);
	ovb__vswitch_wrunlock(sw);
	return 0;
}

int ovb_vswitch_port_stats(struct ovb_vswitch *sw, unsigned int port,
			   struct ovb_vswitch_port_stats *st)
{
	struct vsw_port *p;

	if (!sw || !st || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	pthread_rwlock_rdlock(&sw->ports_lock);
	p = &sw->ports[port];
	if (!p->used) {
		pthread_rwlock_unlock(&sw->ports_lock);
		return -ENODEV;
	}
	st->rx_packets = atomic_load(&p->rx_packets);
	st->rx_bytes = atomic_load(&p->rx_bytes);
	st->rx_drops = atomic_load(&p->rx_drops);
	st->floods = atomic_load(&p->floods);
	st->tx_packets = atomic_load(&p->tx_packets);
	st->tx_bytes = atomic_load(&p->tx_bytes);
	st->tx_drops = atomic_load(&p->tx_drops);
	pthread_rwlock_unlock(&sw->ports_lock);
	return 0;
}

int ovb_vswitch_lookup(struct ovb_vswitch *sw, const uint8_t mac[6],
		       unsigned int *port)
{
	if (!sw || !mac || !port)
		return -ENOENT;
	return ovb__vswitch_fdb_lookup(&sw->fdb, ovb__vswitch_fdb_mac(mac),
				       sw->clock(sw->clock_ctx), port);
}

unsigned int ovb_vswitch_age(struct ovb_vswitch *sw)
{
	if (!sw)
		return 0;
	return ovb__vswitch_fdb_age(&sw->fdb, sw->clock(sw->clock_ctx));
}
