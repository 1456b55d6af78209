// SPDX-License-Identifier: MIT
/*
 * MAC forwarding database of the virtual switch.  Layer: devices.
 *
 * Memory-ordering contract.  An entry is one atomic key, MAC | (port + 1)
 * << 48 (0 = free), and an atomic last-seen time.  Lookups take no lock:
 * they load the key with acquire and compare the MAC.  Changes hold @lock
 * and store seen_ms before the key with release, so a reader that sees a
 * key also sees a time at least as new as its insertion.  Refreshing the
 * time of an unchanged entry is a relaxed store without the lock; a reader
 * racing with it sees the old or the new time, both of which are valid.
 * A full bucket evicts its least recently seen entry.
 */
#include <errno.h>
#include <stdlib.h>

#include "net/vswitch_fdb.h"

#define FDB_BUCKET 4u
#define FDB_MAC_MASK 0x0000FFFFFFFFFFFFull

int ovb__vswitch_fdb_init(struct ovb__vswitch_fdb *fdb, uint32_t entries,
			  uint32_t aging_ms)
{
	if (entries < FDB_BUCKET || (entries & (entries - 1)))
		return -EINVAL;
	fdb->e = calloc(entries, sizeof(*fdb->e));
	if (!fdb->e)
		return -ENOMEM;
	fdb->nbuckets = entries / FDB_BUCKET;
	fdb->aging_ms = aging_ms;
	pthread_mutex_init(&fdb->lock, NULL);
	return 0;
}

void ovb__vswitch_fdb_fini(struct ovb__vswitch_fdb *fdb)
{
	pthread_mutex_destroy(&fdb->lock);
	free(fdb->e);
	fdb->e = NULL;
}

static struct ovb__vswitch_fdb_entry *fdb_bucket(struct ovb__vswitch_fdb *fdb,
						 uint64_t mac)
{
	uint64_t h = (mac * 0x9E3779B97F4A7C15ull) >> 32;

	return &fdb->e[(h & (fdb->nbuckets - 1)) * FDB_BUCKET];
}

static int fdb_fresh(const struct ovb__vswitch_fdb *fdb,
		     struct ovb__vswitch_fdb_entry *e, uint64_t now)
{
	uint64_t seen = atomic_load_explicit(&e->seen_ms, memory_order_relaxed);

	return now < seen || now - seen < fdb->aging_ms;
}

/* Lock-free: the entry holding @mac and its key, or NULL. */
static struct ovb__vswitch_fdb_entry *fdb_find(struct ovb__vswitch_fdb *fdb,
					       uint64_t mac, uint64_t *key)
{
	struct ovb__vswitch_fdb_entry *b = fdb_bucket(fdb, mac);

	for (unsigned int i = 0; i < FDB_BUCKET; i++) {
		*key = atomic_load_explicit(&b[i].key, memory_order_acquire);
		if (*key && (*key & FDB_MAC_MASK) == mac)
			return &b[i];
	}
	return NULL;
}

int ovb__vswitch_fdb_lookup(struct ovb__vswitch_fdb *fdb, uint64_t mac,
			    uint64_t now, unsigned int *port)
{
	struct ovb__vswitch_fdb_entry *e;
	uint64_t key;

	e = fdb_find(fdb, mac, &key);
	if (!e || !fdb_fresh(fdb, e, now))
		return -ENOENT;
	*port = (unsigned int)(key >> 48) - 1;
	return 0;
}

void ovb__vswitch_fdb_learn(struct ovb__vswitch_fdb *fdb, uint64_t mac,
			    unsigned int port, uint64_t now)
{
	uint64_t want = mac | (uint64_t)(port + 1) << 48, key, seen;
	uint64_t oldest = UINT64_MAX;
	struct ovb__vswitch_fdb_entry *e = fdb_find(fdb, mac, &key), *b;
	struct ovb__vswitch_fdb_entry *match = NULL, *empty = NULL, *old = NULL;

	if (e && key == want) {
		/* Most frames change nothing: no store, no shared line dirtied
		 * (the clock moves every few milliseconds). */
		if (atomic_load_explicit(&e->seen_ms, memory_order_relaxed) !=
		    now)
			atomic_store_explicit(&e->seen_ms, now,
					      memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&fdb->lock);
	b = fdb_bucket(fdb, mac);
	for (unsigned int i = 0; i < FDB_BUCKET && !match; i++) {
		key = atomic_load_explicit(&b[i].key, memory_order_relaxed);
		seen = atomic_load_explicit(&b[i].seen_ms,
					    memory_order_relaxed);
		if (!key) {
			if (!empty)
				empty = &b[i];
		} else if ((key & FDB_MAC_MASK) == mac) {
			match = &b[i]; /* known MAC, moved to @port */
		} else if (seen < oldest) {
			oldest = seen;
			old = &b[i];
		}
	}
	e = match ? match : empty ? empty : old;
	atomic_store_explicit(&e->seen_ms, now, memory_order_relaxed);
	atomic_store_explicit(&e->key, want, memory_order_release);
	atomic_fetch_add_explicit(&fdb->gen, 1, memory_order_release);
	pthread_mutex_unlock(&fdb->lock);
}

void ovb__vswitch_fdb_flush_port(struct ovb__vswitch_fdb *fdb,
				 unsigned int port)
{
	uint64_t tag = (uint64_t)(port + 1) << 48, key;

	pthread_mutex_lock(&fdb->lock);
	for (uint32_t i = 0; i < fdb->nbuckets * FDB_BUCKET; i++) {
		key = atomic_load_explicit(&fdb->e[i].key,
					   memory_order_relaxed);
		if (key && (key & ~FDB_MAC_MASK) == tag)
			atomic_store_explicit(&fdb->e[i].key, 0,
					      memory_order_release);
	}
	atomic_fetch_add_explicit(&fdb->gen, 1, memory_order_release);
	pthread_mutex_unlock(&fdb->lock);
}

unsigned int ovb__vswitch_fdb_age(struct ovb__vswitch_fdb *fdb, uint64_t now)
{
	unsigned int n = 0;

	pthread_mutex_lock(&fdb->lock);
	for (uint32_t i = 0; i < fdb->nbuckets * FDB_BUCKET; i++) {
		struct ovb__vswitch_fdb_entry *e = &fdb->e[i];

		if (atomic_load_explicit(&e->key, memory_order_relaxed) &&
		    !fdb_fresh(fdb, e, now)) {
			atomic_store_explicit(&e->key, 0, memory_order_release);
			n++;
		}
	}
	if (n)
		atomic_fetch_add_explicit(&fdb->gen, 1, memory_order_release);
	pthread_mutex_unlock(&fdb->lock);
	return n;
}
