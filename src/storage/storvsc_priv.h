/* SPDX-License-Identifier: MIT */
/*
 * storvsc internals shared by storvsc.c (driver, init sequence, channels,
 * LUN scan, service thread) and storvsc_io.c (requests, completions,
 * timeouts).  Layer: devices (storage); not installed.
 *
 * storvsc_poll.c holds caller polling and the polling wait of the
 * synchronous calls.
 *
 * A request (struct svsc_req) is one SRB on the wire.  It is tracked by
 * the channel (ovb_send.on_comp), so the channel calls svsc_req_comp()
 * exactly once: with the host's completion, or with NULL when the channel
 * closes or fails.  That call frees it.  Its callback (fn) fires exactly
 * once before that: normally from the completion, earlier with -ETIMEDOUT
 * when the escalation gave up (then fn is cleared and a late completion
 * only frees the request).
 */
#ifndef OVB_STORAGE_STORVSC_PRIV_H
#define OVB_STORAGE_STORVSC_PRIV_H

#include <pthread.h>
#include <time.h>

#include "openvmbus/storvsc.h"
#include "storage/vstor.h"
#include "openvmbus/wire/scsi.h"

#define SVSC_MAX_CH 9u          /* primary + 8 sub-channels */
#define SVSC_MAX_LUNS 64u
#define SVSC_MAX_XFER (2u << 20) /* largest SRB we build */
#define SVSC_RETRY (-1000)      /* internal: send the SRB again */

struct svsc_req;

/**
 * A request finished: @res is bytes moved or -errno; @r is the request
 * (its reply fields valid) or NULL when it timed out or was never sent.
 */
typedef void svsc_req_fn(void *ctx, int64_t res, struct svsc_req *r);

struct svsc_req {
	struct svsc_req *prev, *next; /* s->pending or s->retry */
	bool listed;                  /* on s->pending */
	struct ovb_storvsc *s;
	struct ovb_vstor_srb srb;     /* the request as sent */
	void *buf;                    /* data in guest memory, or NULL */
	uint32_t len;                 /* == srb.data_transfer_length */
	void *param;                  /* guest memory we own (UNMAP list) */
	size_t param_len;
	svsc_req_fn *fn;              /* under s->lock; NULL once fired */
	void *ctx;
	/* The reply: */
	uint8_t srb_status, scsi_status, sense_len;
	uint8_t sense[VSTOR_SENSE_SIZE_WIN8];
	uint32_t xfer;
	/* Escalation: */
	struct timespec deadline;     /* CLOCK_MONOTONIC_COARSE */
	int stage;                    /* 0 waiting, 1 LUN reset, 2 adapter */
	int busy;                     /* BUSY answers so far */
};

struct svsc_chan {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;        /* NULL while it opens */
};

struct ovb_storvsc {
	int refs;                 /* the driver's one, plus ovb_storvsc_get */
	char name[16];
	bool ide;
	struct ovb_storvsc_set *set;
	struct ovb_vsc_dev *dev;
	struct ovb_client *cl;
	struct ovb_gmem *gm;
	uint16_t version;             /* VSTOR in force */
	struct ovb_vstor_props props;
	uint32_t max_xfer;
	uint8_t path, target;
	int timeout_ms;

	/* Channels: readers send, the writer adds or removes one. */
	pthread_rwlock_t chlock;
	struct svsc_chan ch[SVSC_MAX_CH];
	unsigned int nch;             /* ch[0..nch) */
	unsigned int rr;              /* atomic: round robin */

	pthread_mutex_t lock;         /* everything below */
	pthread_cond_t cond;          /* wakes the service thread */
	struct svsc_req pending;      /* list head: sent, not completed */
	unsigned int npending;        /* on pending; read unlocked (atomic) */
	struct svsc_req *retry;       /* singly linked via next */
	struct ovb_storvsc_lun luns[SVSC_MAX_LUNS];
	size_t nluns;
	bool rescan, stop, dead, probed;
	bool offline;                 /* the host went silent: submits fail */
	unsigned int resets_out;      /* atomic: resets sent */
	unsigned int resets_done;     /* atomic: resets the host answered */
	unsigned int subs_wanted;     /* asked of the host, or 0 */
	bool subs_known;              /* the host answered (or none asked) */
	unsigned int subs_granted;    /* ... and will offer this many */
	struct ovb_vsc_dev *claimed[SVSC_MAX_CH]; /* sub-channels seen */
	unsigned int nclaimed;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t scan_lock;    /* one scan at a time */
	uint8_t *scratch;             /* SVSC_SCRATCH bytes of guest memory */
	uint64_t bad_completions;     /* atomic */
};

#define SVSC_SCRATCH 4096u

/* ---- storvsc_io.c ---- */

/** A new request for @s (zeroed, srb addressing filled).  NULL: -ENOMEM. */
struct svsc_req *ovb__svsc_req_new(struct ovb_storvsc *s, uint16_t lun);
/** Free a request that the channel does not track. */
void ovb__svsc_req_free(struct svsc_req *r);
/* Take @r's callback (once) and call it with @res. */
void ovb__svsc_req_fire(struct svsc_req *r, int64_t res);
/**
 * Send @r on a channel (ovb__svsc_pick).  0: it is tracked (or queued for a
 * retry); -ECONNRESET, -ENOMEM...: it was not sent and is still ours.
 */
int ovb__svsc_req_send(struct svsc_req *r);
/** The same on @chan, whose controller's chlock the caller holds (read). */
int ovb__svsc_req_send_on(struct svsc_req *r, struct ovb_chan *chan);
/** The channel for a new SRB (chlock held, nch > 0): the submitting
 * thread's home channel while it keeps a queue, else round robin. */
struct ovb_chan *ovb__svsc_pick(struct ovb_storvsc *s);
/**
 * ovb_storvsc_submit(), with every SRB on @chan (chlock held by the
 * caller) or, @chan NULL, on the channel each one picks.
 */
int ovb__svsc_submit(struct ovb_storvsc *s, struct ovb_storvsc_io *io,
		     struct ovb_chan *chan);
/** Send a RESET_LUN / RESET_ADAPTER on the primary; does not wait. */
void ovb__svsc_reset(struct ovb_storvsc *s, uint32_t op);
/** Service thread: time out and escalate, resend BUSY requests. */
void ovb__svsc_service(struct ovb_storvsc *s);
/** The escalation step: a third of the request deadline, in ms. */
int ovb__svsc_step_ms(const struct ovb_storvsc *s);
/** Fail every request waiting for a retry with -ECONNRESET. */
void ovb__svsc_fail_retries(struct ovb_storvsc *s);
/**
 * Run one SRB and wait: @buf (guest memory, @len bytes, may be NULL) is
 * read (@data_in VSTOR_DATA_READ) or written.  Returns bytes moved or
 * -errno; fills *@r_out's reply fields into @sense_key if not NULL.
 */
int64_t ovb__svsc_srb_sync(struct ovb_storvsc *s, uint16_t lun,
			   const uint8_t *cdb, uint8_t cdb_len,
			   uint8_t data_in, void *buf, uint32_t len);
/** Thread-local: true on our channel workers (sends must not block). */
bool ovb__svsc_on_worker(void);
/** What one ovb_storvsc_poll() counts: done() callbacks of @s it ran. */
struct svsc_poll_count {
	struct ovb_storvsc *s;
	uint64_t n;
	struct svsc_poll_count *outer; /* thread-local stack */
};
/** Count @s's done() callbacks on this thread until _end (nests). */
void ovb__svsc_count_begin(struct svsc_poll_count *c, struct ovb_storvsc *s);
uint64_t ovb__svsc_count_end(struct svsc_poll_count *c);
/** Packets from the host that are not completions (on the worker). */
void ovb__svsc_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx);

/* ---- storvsc_poll.c, storvsc_submit.c ---- */

/** One synchronous request's wait: set once, under lock, by sync_done. */
struct svsc_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;                    /* also read unlocked (atomic) */
	int64_t res;
};

/**
 * Wait until @w is done: in polling mode first drain the channels on this
 * thread for up to cfg.poll_us, then sleep on @w's condition variable.
 */
void ovb__svsc_sync_wait(struct ovb_storvsc *s, struct svsc_sync *w);
/** An svsc_req_fn for a struct svsc_sync @ctx: records @res, wakes it. */
void ovb__svsc_sync_done(void *ctx, int64_t res, struct svsc_req *r);

/* ---- storvsc.c ---- */

/** A LUN of the current table, copied; false if absent. */
bool ovb__svsc_lun(struct ovb_storvsc *s, uint16_t lun,
		   struct ovb_storvsc_lun *out);
/** Wake the service thread (s->lock not held). */
void ovb__svsc_kick(struct ovb_storvsc *s);

#endif /* OVB_STORAGE_STORVSC_PRIV_H */
