/* SPDX-License-Identifier: MIT */
/*
 * The guest memory object shared by src/core/gmem*.c.  Layer: core.
 */
#ifndef OVB_GMEM_PRIV_H
#define OVB_GMEM_PRIV_H

#include <pthread.h>

#include "openvmbus/gmem.h"

/* One allocation pool: host-contiguous guest pages and their bitmap. */
struct gmem_pool {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t *bitmap; /* 1 bit per page, set = in use */
};

struct ovb_gmem {
	const struct ovb_gmem_ops *ops;
	void *ctx;
	unsigned int maps;      /* provider mappings held (atomic) */
	uint64_t direct_views;  /* statistics (atomic) */
	uint64_t mapped_views;
	uint64_t paged_views;
	pthread_mutex_t lock;   /* guards the pools' bitmaps and pool adds */
	struct gmem_pool pool[OVB_GMEM_MAX_POOLS];
	unsigned int npools;    /* published with release */
	char name[32];
};

#endif
