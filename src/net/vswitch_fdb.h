/* SPDX-License-Identifier: MIT */
/*
 * The virtual switch's MAC forwarding database (internal to src/net).
 * Layer: devices.  A fixed table of 4-entry buckets with least-recently
 * seen eviction and age-based expiry; lookups are lock-free, changes take
 * the table's mutex.  See vswitch_fdb.c for the memory-ordering contract.
 */
#ifndef OPENVMBUS_NET_VSWITCH_FDB_H
#define OPENVMBUS_NET_VSWITCH_FDB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct ovb__vswitch_fdb_entry {
	_Atomic uint64_t key;     /**< MAC | (port + 1) << 48, 0: free */
	_Atomic uint64_t seen_ms; /**< last time the MAC sent a frame */
};

struct ovb__vswitch_fdb {
	pthread_mutex_t lock; /**< serialises changes, not lookups */
	struct ovb__vswitch_fdb_entry *e;
	uint32_t nbuckets;    /**< power of two */
	uint32_t aging_ms;    /**< entry lifetime */
	/** bumped after every change of a key (learned, moved, evicted,
	 *  flushed, aged): a lookup remembered at one value still holds */
	_Atomic uint64_t gen;
};

/**
 * 48-bit MAC from 6 bytes (the first byte most significant); the FDB's
 * key form.  Inline: the switch takes three per frame.
 */
static inline uint64_t ovb__vswitch_fdb_mac(const uint8_t mac[6])
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * Two loads straight into registers: six bytes stored into a zeroed
	 * u64 and read back whole stalled on store forwarding (a sixth of
	 * the switch's input in a 64-byte host->guest profile).
	 */
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, mac, 4);
	memcpy(&lo, mac + 4, 2);
	return (uint64_t)__builtin_bswap32(hi) << 16 | __builtin_bswap16(lo);
#else
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
#endif
}

/** Set up a table of @entries (power of 2, >= 4).  0, -EINVAL, -ENOMEM. */
int ovb__vswitch_fdb_init(struct ovb__vswitch_fdb *fdb, uint32_t entries,
			  uint32_t aging_ms);

void ovb__vswitch_fdb_fini(struct ovb__vswitch_fdb *fdb);

/** The change count (acquire): read it before the lookups it guards. */
static inline uint64_t ovb__vswitch_fdb_gen(struct ovb__vswitch_fdb *fdb)
{
	return atomic_load_explicit(&fdb->gen, memory_order_acquire);
}

/** Lock-free: the port @mac was seen on, if fresh at @now.  0 or -ENOENT. */
int ovb__vswitch_fdb_lookup(struct ovb__vswitch_fdb *fdb, uint64_t mac,
			    uint64_t now, unsigned int *port);

/** Record that @mac sent from @port at @now. */
void ovb__vswitch_fdb_learn(struct ovb__vswitch_fdb *fdb, uint64_t mac,
			    unsigned int port, uint64_t now);

/** Forget every MAC learned on @port. */
void ovb__vswitch_fdb_flush_port(struct ovb__vswitch_fdb *fdb,
				 unsigned int port);

/** Drop entries not seen within the lifetime; returns how many. */
unsigned int ovb__vswitch_fdb_age(struct ovb__vswitch_fdb *fdb, uint64_t now);

#endif /* OPENVMBUS_NET_VSWITCH_FDB_H */
