/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: a host that attacks its guests on purpose, so that a
 * guest-driver developer can see what their driver does with every lie a
 * host can tell (docs/hardening.md).  Layer: bus (src/bus/fault.c), fed by
 * hooks where the host sends channel messages and ring packets (on host
 * channels), and by netvsp where it writes RNDIS messages into a guest's
 * receive buffer (the hooks: src/bus/fault_hook.h, private).
 *
 * Contract: faults are process-wide, like the capture.  Off, each hook is
 * one relaxed load and a branch.  On, every host->guest message and packet
 * is offered to each armed fault in turn; a fault that fires logs one line
 *   fault: MODE partition ID 'NAME' relid R pkt N: WHAT
 * at warning level, so a guest's failure can be tied to it.  Triggers are
 * counted per (partition, relid), so `after=N` means the same packet of a
 * channel however many guests run.  The random mode decides from a hash of
 * (seed, partition, relid, packet number), not from a shared generator, so
 * the same traffic gets the same mutations whatever threads interleave.
 */
#ifndef OPENVMBUS_FAULT_H
#define OPENVMBUS_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api.h"

enum ovb_fault_mode {
	OVB_FAULT_RING_INDEX,      /**< garbage host->guest ring indices */
	OVB_FAULT_PKT_LEN,         /**< a length past the ring */
	OVB_FAULT_BAD_XID,         /**< a completion's xid wrong */
	OVB_FAULT_STRAY_COMP,      /**< completions never asked for */
	OVB_FAULT_XFER_RANGE,      /**< transfer range off the buffer */
	OVB_FAULT_RNDIS_LIE,       /**< RNDIS offsets/lengths lie */
	OVB_FAULT_NVSP_LIE,        /**< NVSP offsets/sizes/counts lie */
	OVB_FAULT_VSTOR_LENGTH,    /**< transfer length past the request */
	OVB_FAULT_SENSE_LEN,       /**< sense length past the buffer */
	OVB_FAULT_RESCIND_IO,      /**< rescind in the middle of I/O */
	OVB_FAULT_RESCIND_UNKNOWN, /**< rescind a relid never offered */
	OVB_FAULT_OFFER_STORM,     /**< 300 offers, bogus and duplicate */
	OVB_FAULT_GPADL_REFUSE,    /**< GPADL_CREATED with a failure */
	OVB_FAULT_VERSION_LIE,     /**< version answers that lie */
	OVB_FAULT_LINK_CLOSE,      /**< close the link mid-request */
	OVB_FAULT_SILENT,          /**< stop sending anything */
	OVB_FAULT_RANDOM,          /**< seeded random byte flips */
	OVB_FAULT_NMODES
};

/** What a fault of a mode is called, does, and asks of a correct guest. */
struct ovb_fault_info {
	const char *name;  /**< as on the command line: "ring-index" */
	const char *does;  /**< one line: what the host does */
	const char *guest; /**< one line: what a correct guest must do */
	bool per_channel;  /**< the fault hits one channel, others must live */
};

/** One armed fault. */
struct ovb_fault_spec {
	enum ovb_fault_mode mode;
	uint64_t after;     /**< fire once this many matching items passed */
	uint32_t count;     /**< times to fire; 0: every time (random) */
	uint32_t relid;     /**< only this channel (0: any) */
	char device[8];     /**< "scsi", "ide", "nic", "echo" ("": any) */
	char partition[32]; /**< only this partition ("": any) */
	double probability; /**< random: per message / packet, 0..1 */
	uint64_t seed;      /**< random */
};

/** The table of modes, indexed by enum ovb_fault_mode. */
OVB_API
const struct ovb_fault_info *ovb_fault_info(enum ovb_fault_mode mode);

/** Print every mode, what it does and what a guest must do, to @f. */
OVB_API
void ovb_fault_list(FILE *f);

/**
 * Parse "MODE[,after=N][,count=N][,channel=RELID][,device=D]
 * [,partition=NAME][,probability=P][,seed=S]" into @out.  Returns 0, or
 * -EINVAL with the reason in @err.
 */
OVB_API
int ovb_fault_parse(const char *arg, struct ovb_fault_spec *out, char *err,
		    size_t errlen);

/**
 * Arm @spec for every partition of this process from now on.  Returns 0,
 * -ENOSPC (16 faults armed), -EINVAL (bad spec).  Any thread.
 */
OVB_API
int ovb_fault_add(const struct ovb_fault_spec *spec);

/** Disarm every fault; forget the per-channel counts and ovb_fault_fired(). */
OVB_API
void ovb_fault_clear(void);

/** Faults fired so far (every mode, every partition). */
OVB_API
uint64_t ovb_fault_fired(void);

#endif
