/* SPDX-License-Identifier: MIT */
/*
 * A scripted hostile peer for the pair tests.  Either side:
 *  - hrec: a recorder of host->guest messages hooked into an inproc link,
 *    which can also play a hostile host (drop a message type, turn
 *    OPENCHANNEL_RESULT into a refusal);
 *  - hg_*: raw channel messages a hostile guest posts (GPADLs, opens,
 *    closes) on connection 1;
 *  - hring_*: raw packets and index scribbles on a channel's rings, as the
 *    peer that shares those pages could write them;
 *  - hh: the hostile-host fixture: a connected pair (two echo devices)
 *    whose host->guest messages pass through an hrec (cmocka setup and
 *    teardown functions);
 *  - hg_fx: the hostile-guest fixture: a pair whose partition the test
 *    abuses, plus a second, well-behaved partition on the same server that
 *    pings its echo device all the while and must never see a failure.
 */
#ifndef OPENVMBUS_TESTS_HOSTILE_H
#define OPENVMBUS_TESTS_HOSTILE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "tests/lib/pair.h"

/* ---- host->guest recorder / hostile host -------------------------------- */

#define HREC_MAX 256
/** hrec_msg.type of a recorded channel signal; msg holds the relid (u32). */
#define HREC_EVENT 0xffff0001u

struct hrec_msg {
	uint32_t type;
	size_t len;
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

struct hrec {
	struct ovb_inproc *l;
	pthread_mutex_t lock;
	unsigned int n;        /**< messages recorded (last HREC_MAX kept) */
	struct hrec_msg m[HREC_MAX];
	uint32_t drop_type;    /**< drop every message of this type (0: none) */
	bool refuse_open;      /**< rewrite OPENCHANNEL_RESULT to a failure */
	unsigned int dropped;  /**< messages dropped or rewritten */
	uint32_t after_type;   /**< once: after this type passes, send... */
	uint8_t after_msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT]; /**< ...this */
	size_t after_len;
};

/**
 * Allocate a recorder and hook it into @l (before traffic flows): it
 * records messages and, as HREC_EVENT entries in the same order, signals.
 */
struct hrec *hrec_attach(struct ovb_inproc *l);
/** Unhook (after ovb_inproc_sync) and free. */
void hrec_detach(struct hrec *r);
/** Forget what was recorded. */
void hrec_clear(struct hrec *r);
/** Change the hostile behaviour (0 / false: none). */
void hrec_set(struct hrec *r, uint32_t drop_type, bool refuse_open);
/** Deliver @msg right behind the next message of @type, once. */
void hrec_send_after(struct hrec *r, uint32_t type, const void *msg,
		     size_t len);
/** Messages recorded (signals not counted). */
unsigned int hrec_nmsgs(struct hrec *r);
/** Messages of @type recorded. */
unsigned int hrec_count(struct hrec *r, uint32_t type);
/**
 * Signals for @relid recorded after the last message of @type whose u32
 * at @key_off is @key (-1 if there is no such message).
 */
int hrec_events_after(struct hrec *r, uint32_t relid, uint32_t type,
		      size_t key_off, uint32_t key);
/**
 * The last message of @type whose u32 at byte @key_off is @key, copied to
 * @out (240 bytes of room).  Returns false if there is none.
 */
bool hrec_find(struct hrec *r, uint32_t type, size_t key_off, uint32_t key,
	       void *out);

/* ---- raw guest messages (connection 1) ---------------------------------- */

int hg_post(struct ovb_inproc *l, const void *msg, size_t len);
/** A message of @len bytes: header @type, then @body (may be NULL). */
int hg_post_type(struct ovb_inproc *l, uint32_t type, const void *body,
		 size_t len);
/** GPADL_HEADER + GPADL_BODY messages for @len bytes at guest @gpa. */
int hg_gpadl(struct ovb_inproc *l, uint32_t relid, uint32_t handle,
	     uint64_t gpa, size_t len);
int hg_open(struct ovb_inproc *l, uint32_t relid, uint32_t gpadl,
	    uint32_t downstream);
int hg_relid_msg(struct ovb_inproc *l, uint32_t type, uint32_t relid);
int hg_teardown(struct ovb_inproc *l, uint32_t relid, uint32_t gpadl);
/** Post, sync, and return the recorded GPADL_CREATED status (or -1). */
int64_t hg_gpadl_status(struct ovb_inproc *l, struct hrec *r, uint32_t relid,
			uint32_t handle, uint64_t gpa, size_t len);
/** Post OPEN_CHANNEL, sync, return the recorded result status (or -1). */
int64_t hg_open_status(struct ovb_inproc *l, struct hrec *r, uint32_t relid,
		       uint32_t gpadl, uint32_t downstream);

/* ---- rings ---------------------------------------------------------------- */

/**
 * A word of a ring control page for the atomic builtins: the struct is
 * packed, but the page is page-aligned, so its u32 fields are aligned.
 */
#define HCTL(ctl, field) ((uint32_t *)(void *)&(ctl)->field)

/** The control page of @chan's outbound (@out) or inbound ring. */
struct vmbus_ring_control *hring_ctl(struct ovb_chan *chan, bool out);
uint32_t hring_size(struct ovb_chan *chan, bool out);
/**
 * Wait until the reader of @chan's outbound (@out) or inbound ring has
 * read and published everything, so it will not store read_index again
 * until new packets come (a scribble on it then sticks).
 */
void hring_quiesce(struct ovb_chan *chan, bool out);
/**
 * Write @len bytes (a descriptor the caller built, however wrong) as one
 * packet into @chan's outbound or inbound ring, as the peer that shares
 * it would.  Returns 0 or the ring's error.
 */
int hring_inject(struct ovb_chan *chan, bool out, const void *pkt,
		 size_t len);
/** Signal @chan's peer, as a write that made its ring non-empty would. */
void hring_signal(struct ovb_chan *chan);

/* ---- the hostile-guest fixture ------------------------------------------- */

struct hg_fx {
	struct pair *p;          /**< the partition under attack ("guest0") */
	struct ovb_partition *part;
	struct hrec *rec;        /**< its host->guest messages */
	struct ovb_inproc *good; /**< the well-behaved partition */
	struct ovb_echo_driver_ctx good_echo;
	struct ovb_echo *good_e;
	pthread_t pinger;
	bool stop;               /**< atomic */
	unsigned long pings, failures; /**< atomic */
};

/** Three echo devices; @connect: the hostile partition's client connects. */
struct hg_fx *hg_fx_new(bool connect);
/** Stop the pinger, assert it never failed, ping once more, free. */
void hg_fx_free(struct hg_fx *f);
/** Relid of the hostile partition's echo device @i. */
uint32_t hg_relid(struct hg_fx *f, unsigned int i);
/** cmocka setup: hg_fx_new(true) (hg_fx_setup) or hg_fx_new(false). */
int hg_fx_setup(void **state);
int hg_fx_setup_fresh(void **state);
/** cmocka teardown: hg_fx_free. */
int hg_fx_teardown(void **state);
/** The abused partition still does real work: open echo @i, ping, close. */
void hg_still_works(struct hg_fx *f, unsigned int i);
/** Wait until the host has handled all the hostile partition posted. */
void hg_sync(struct hg_fx *f);
/** After hg_sync: whether the host answered GPADL_TORNDOWN for @handle. */
bool hg_torndown(struct hg_fx *f, uint32_t handle);

/* ---- the hostile-host fixture ------------------------------------------- */

#define HH_RING 16384u

struct hh {
	struct pair *p;
	struct hrec *rec;
};

/** cmocka setup: a pair connected with two echo devices, recorded. */
int hh_setup(void **state);
/** cmocka setup: a pair not yet connected, recorded. */
int hh_setup_fresh(void **state);
int hh_teardown(void **state);
/** Open echo device @i, ping it, close it. */
void hh_ping_dev(struct hh *h, unsigned int i);

#endif
