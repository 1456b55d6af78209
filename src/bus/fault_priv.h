/* SPDX-License-Identifier: MIT */
/*
 * The fault engine's insides, shared by fault.c (modes, parser,
 * triggers), fault_msg.c (channel messages) and fault_pkt.c (ring
 * packets, RNDIS).  Layer: bus.
 */
#ifndef OVB_BUS_FAULT_PRIV_H
#define OVB_BUS_FAULT_PRIV_H

#include <pthread.h>

#include "bus/fault_hook.h"
#include "bus/server_priv.h"

#define FAULT_MAX 16
#define FAULT_STREAMS 4096u /* (partition, relid, fault) counters */

struct fault {
	struct ovb_fault_spec spec;
	uint64_t fired;
};

struct fault_stream {
	uint64_t key;
	uint64_t n;     /* items seen */
	bool used;
	bool silenced;  /* silent: this stream says nothing any more */
};

struct ovb_fault_state {
	pthread_mutex_t lock; /* everything below */
	struct fault f[FAULT_MAX];
	unsigned int n;
	uint64_t fired; /* atomic */
	struct fault_stream streams[FAULT_STREAMS];
};

extern struct ovb_fault_state fault_st;

/* relid of the per-partition stream of channel messages */
#define FAULT_MSGS 0u
/* relid of a partition-wide state (silent without a channel filter) */
#define FAULT_WHOLE 0xffffffu

struct fault_stream *ovb__fault_stream(unsigned int part, uint32_t relid,
				       unsigned int fault);
uint64_t ovb__fault_mix(uint64_t x);
bool ovb__fault_due(unsigned int fault, unsigned int part, uint32_t relid,
		    uint64_t *nr);
bool ovb__fault_random(const struct ovb_fault_spec *sp, unsigned int part,
		       uint32_t relid, uint64_t nr, uint64_t *h);
void ovb__fault_flip(uint8_t *buf, size_t len, uint64_t h, char *what,
		     size_t wlen);

/* fault_msg.c */
/** Does @dev (NULL: a message about no channel) match @sp's filter? */
bool ovb__fault_match(const struct ovb_fault_spec *sp,
		      const struct ovb_partition *part,
		      const struct ovb_vsp_dev *dev);
/** The one log line of a fault that fired. */
void ovb__fault_log(enum ovb_fault_mode mode, const struct ovb_partition *part,
		    uint32_t relid, uint64_t nr, const char *what);
/** Send RESCIND_CHANNELOFFER for @relid, whatever the server thinks. */
void ovb__fault_rescind(struct ovb_partition *part, uint32_t relid);
/** A relid no device of @part has. */
uint32_t ovb__fault_unknown_relid(struct ovb_partition *part);

#endif
