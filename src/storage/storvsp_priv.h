/* SPDX-License-Identifier: MIT */
/*
 * storvsp internals shared by storvsp.c (controller, LUNs, offers, the
 * init sequence) and storvsp_io.c (EXECUTE_SRB, per-channel queues).
 * Layer: devices (storage); not installed.
 *
 * Objects and owners:
 *  - struct ovb_storvsp, the controller: its LUN table and the list of
 *    per-partition instances, under c->lock.
 *  - struct svsp_lun: one LUN (a SCSI target over a backend), reference
 *    counted: the table holds one reference, every per-channel queue over
 *    it another and every in-flight command one more.  The last put
 *    destroys the target and closes the backend.
 *  - struct svsp_inst: the controller as offered to one partition (the
 *    offer's dev_ctx, shared by the primary and its sub-channels): the
 *    negotiated version and init state.
 *  - struct svsp_chan: one open channel (primary or sub-channel): its
 *    command slots and its queues, touched only by the thread holding its
 *    own lock: the worker in each of its callbacks, the close callback,
 *    or a backend's completion thread that got the lock by trying
 *    (svsp_notify in storvsp_io.c: the worker was asleep).
 */
#ifndef OVB_STORAGE_STORVSP_PRIV_H
#define OVB_STORAGE_STORVSP_PRIV_H

#include <pthread.h>
#include <sys/uio.h>

#include "storage/scsi_target.h"
#include "openvmbus/storvsp.h"
#include "storage/vstor.h"

#define SVSP_MAX_IOV 520u /* 1 MiB + 2 pages, merged pages */

struct svsp_lun {
	uint16_t lun;
	int refs;          /* atomic */
	bool removed;      /* atomic: detached from the table */
	struct ovb_blk *blk;
	struct ovb_scsi_target *t;
	struct ovb_storvsp *c;
};

enum svsp_state {
	SVSP_NEW = 0,   /* nothing yet */
	SVSP_BEGUN,     /* BEGIN_INITIALIZATION seen */
	SVSP_VERSIONED, /* a version was agreed */
	SVSP_READY,     /* END_INITIALIZATION seen: SRBs accepted */
};

struct svsp_inst {
	struct ovb_storvsp *c;
	struct ovb_partition *part;
	struct ovb_vsp_dev *dev;       /* the primary offer */
	struct ovb_chan *primary;      /* open primary channel, or NULL */
	uint16_t version;              /* atomic: VSTOR version in force */
	int state;                     /* atomic: enum svsp_state */
	unsigned int subs;             /* sub-channels offered */
	struct svsp_inst *next;        /* c->insts, under c->lock */
};

struct svsp_chan;

/* One command slot: the SRB as received and the SCSI command. */
struct svsp_cmd {
	struct svsp_chan *ch;
	struct svsp_lun *lun;
	uint64_t xid;
	uint32_t req_len;              /* request bytes: the reply's size */
	bool reply;                    /* completion requested */
	struct ovb_vstor_srb srb;      /* the request */
	struct ovb_scsi_cmd scmd;
	struct iovec iov[SVSP_MAX_IOV];
	struct svsp_cmd *next_free;
};

/* A per-channel queue over one LUN's backend. */
struct svsp_queue {
	struct svsp_lun *lun;          /* holds a reference */
	struct ovb_blk_queue *q;
	uint64_t kicks, inl;           /* q->st values counted in c->st */
};

struct svsp_chan {
	struct ovb_storvsp *c;
	struct svsp_inst *inst;
	struct ovb_chan *chan;
	pthread_mutex_t own;           /* whoever uses the fields below */
	bool closing;
	int epfd;                      /* every queue's eventfd + kickfd */
	int kickfd;                    /* eventfd: a LUN was removed */
	bool kicked;                   /* atomic: the same, seen without I/O */
	unsigned int qend;             /* q[0..qend) may hold queues */
	struct svsp_chan *next;        /* c->chans, under c->lock */
	struct svsp_queue q[OVB_STORVSP_MAX_LUNS];
	struct svsp_cmd *cmds;         /* c->depth slots */
	struct svsp_cmd *free;
	unsigned int inflight;
	unsigned int staged;           /* SRBs submitted since the flush */
};

struct ovb_storvsp {
	struct ovb_storvsp_cfg cfg;
	char name[32];
	pthread_mutex_t lock;
	struct svsp_lun *luns[OVB_STORVSP_MAX_LUNS];
	struct svsp_inst *insts;
	struct svsp_chan *chans;       /* every open channel */
	unsigned int index;            /* distinguishes instance GUIDs */
	struct ovb_storvsp_stats st;   /* atomic adds */
};

#define SVSP_STAT(c, field, n)                                                 \
	__atomic_fetch_add(&(c)->st.field, (n), __ATOMIC_RELAXED)

/* ---- storvsp.c ---- */

/** Take a reference to LUN @lun of @c, or NULL if it is absent. */
struct svsp_lun *ovb__svsp_lun_get(struct ovb_storvsp *c, uint16_t lun);
void ovb__svsp_lun_put(struct svsp_lun *l);
/** Snapshot of the LUN numbers (for REPORT LUNS). */
size_t ovb__svsp_lun_list(struct ovb_storvsp *c, uint16_t *out, size_t max);

/* ---- storvsp_io.c ---- */

/** Set up the channel's slots and queue set.  0 or -errno. */
int ovb__svsp_chan_init(struct svsp_chan *ch);
/** Reap every command and release the queues (worker stopped). */
void ovb__svsp_chan_fini(struct svsp_chan *ch);
/** EXECUTE_SRB: start it (completes later or at once). */
void ovb__svsp_execute(struct svsp_chan *ch, const struct ovb_pkt *pkt,
		       const struct ovb_vstor_msg *m);
/**
 * Hand the SRBs staged since the last call to the backends (worker, once
 * per drained batch): one system call per queue, not one per SRB.
 */
void ovb__svsp_flush(struct svsp_chan *ch);
/** Add the queues' new backend counts to the controller's counters. */
void ovb__svsp_account(struct svsp_chan *ch);
/**
 * Reap completions (worker): of the queues that have some waiting, found
 * without a system call; with @all of every queue, which also clears
 * their eventfds (after a wake-up).  Returns the callbacks run.
 */
int ovb__svsp_reap(struct svsp_chan *ch, bool all);
/** Release queues of removed LUNs that have nothing in flight (worker). */
void ovb__svsp_sweep(struct svsp_chan *ch);
/**
 * Send the COMPLETE_IO in @buf (VSTOR_PACKET_SIZE_WIN8 bytes, encoded at
 * the version in force, zero past it) for @xid, as long as the request of
 * @req_len bytes it answers (ovb_vstor_reply_len()).
 */
void ovb__svsp_send_reply(struct svsp_chan *ch, uint64_t xid,
			  uint32_t req_len, const uint8_t *buf);
/** Send a COMPLETE_IO with only an NTSTATUS for @xid. */
void ovb__svsp_reply(struct svsp_chan *ch, uint64_t xid, uint32_t req_len,
		     uint32_t status);

#endif /* OVB_STORAGE_STORVSP_PRIV_H */
