// SPDX-License-Identifier: MIT
/*
 * storvsc, the service thread's share of the data side: requests that ran
 * past their timeout escalated RESET_LUN -> RESET_ADAPTER -> -ETIMEDOUT,
 * BUSY resends that ran out failed, the controller's abort, and the
 * synchronous SRBs the scan sends.  Layer: devices (storage).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "storage/storvsc_priv.h"

/* ---- the service thread's share --------------------------------------------- */

/* The BUSY resends waiting for the service thread, taken off the list. */
static struct svsc_req *svsc_take_retries(struct ovb_storvsc *s)
{
	struct svsc_req *r;

	pthread_mutex_lock(&s->lock);
	r = s->retry;
	s->retry = NULL;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void ovb__svsc_fail_retries(struct ovb_storvsc *s)
{
	struct svsc_req *r;

	r = svsc_take_retries(s);
	while (r) {
		struct svsc_req *next = r->next;

		ovb__svsc_req_fire(r, -ECONNRESET);
		ovb__svsc_req_free(r);
		r = next;
	}
}

/*
 * Escalate expired requests, one step per third of the deadline: RESET_LUN,
 * RESET_ADAPTER, then give up with -ETIMEDOUT.  A host that answered the
 * resets is alive (one LUN is stuck; the others keep working); one that
 * left a reset unanswered has stopped answering altogether: the controller
 * goes offline and on_fail tells the owner, once.
 */
static void svsc_timeouts(struct ovb_storvsc *s)
{
	enum { MAXFIRE = 64 };
	uint16_t lun[MAXFIRE];
	svsc_req_fn *fns[MAXFIRE];
	void *ctxs[MAXFIRE];
	struct timespec now;
	bool reset_lun = false, reset_adapter = false, first_fail = false;
	int nfire = 0;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	pthread_mutex_lock(&s->lock);
	for (struct svsc_req *r = s->pending.next; r != &s->pending;
	     r = r->next) {
		if (!r->fn || !ovb_ts_reached(&now, &r->deadline))
			continue;
		r->deadline = now;
		ovb_ts_add_ms(&r->deadline, ovb__svsc_step_ms(s));
		if (r->stage == 0) {
			reset_lun = true;
		} else if (r->stage == 1) {
			reset_adapter = true;
		} else if (nfire < MAXFIRE) {
			/* Give up: the request stays tracked until freed. */
			lun[nfire] = r->srb.lun;
			fns[nfire] = r->fn;
			ctxs[nfire++] = r->ctx;
			r->fn = NULL;
		}
		r->stage++;
	}
	if (nfire && !s->offline &&
	    __atomic_load_n(&s->resets_done, __ATOMIC_ACQUIRE) <
		    __atomic_load_n(&s->resets_out, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&s->offline, true, __ATOMIC_RELEASE);
		first_fail = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (reset_lun)
		ovb__svsc_reset(s, VSTOR_OPERATION_RESET_LUN);
	if (reset_adapter)
		ovb__svsc_reset(s, VSTOR_OPERATION_RESET_ADAPTER);
	for (int i = 0; i < nfire; i++) {
		ovb_peer("%s: LUN %u: request failed after resets%s", s->name,
			 lun[i], first_fail ? "; the host stopped answering"
					    : "");
		fns[i](ctxs[i], -ETIMEDOUT, NULL);
	}
	if (first_fail && s->set->on_fail)
		s->set->on_fail(s, -ETIMEDOUT, s->set->ctx);
}

void ovb_storvsc_abort(struct ovb_storvsc *s)
{
	struct svsc_req *r;
	size_t n = 0, cap;
	struct { svsc_req_fn *fn; void *ctx; } *fire;

	pthread_mutex_lock(&s->lock);
	__atomic_store_n(&s->offline, true, __ATOMIC_RELEASE);
	cap = __atomic_load_n(&s->npending, __ATOMIC_RELAXED) + 1;
	fire = calloc(cap, sizeof(*fire));
	for (r = s->pending.next; fire && r != &s->pending && n < cap;
	     r = r->next) {
		if (!r->fn)
			continue;
		fire[n].fn = r->fn;
		fire[n++].ctx = r->ctx;
		r->fn = NULL; /* a late answer only frees it */
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		fire[i].fn(fire[i].ctx, -ECONNRESET, NULL);
	free(fire);
	ovb__svsc_fail_retries(s);
}

void ovb__svsc_service(struct ovb_storvsc *s)
{
	struct svsc_req *r;

	svsc_timeouts(s);
	r = svsc_take_retries(s);
	while (r) {
		struct svsc_req *next = r->next;
		int rc = ovb__svsc_req_send(r);

		if (rc) {
			ovb__svsc_req_fire(r, rc);
			ovb__svsc_req_free(r);
		}
		r = next;
	}
}

/* ---- synchronous SRBs (scan) ------------------------------------------------- */

void ovb__svsc_sync_done(void *ctx, int64_t res, struct svsc_req *r)
{
	struct svsc_sync *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->res = res;
	/* Release: a polling waiter reads res after it sees done. */
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int64_t ovb__svsc_srb_sync(struct ovb_storvsc *s, uint16_t lun,
			   const uint8_t *cdb, uint8_t cdb_len,
			   uint8_t data_in, void *buf, uint32_t len)
{
	struct svsc_sync w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER };
	struct svsc_req *r = ovb__svsc_req_new(s, lun);
	int rc;

	if (!r)
		return -ENOMEM;
	memcpy(r->srb.cdb, cdb, cdb_len);
	r->srb.cdb_length = cdb_len;
	r->srb.data_in = data_in;
	r->srb.srb_flags = data_in == VSTOR_DATA_READ ? VSTOR_SRB_FLAGS_DATA_IN
			   : len ? VSTOR_SRB_FLAGS_DATA_OUT : 0;
	r->buf = buf;
	r->len = buf ? len : 0;
	r->fn = ovb__svsc_sync_done;
	r->ctx = &w;
	rc = ovb__svsc_req_send(r);
	if (rc) {
		ovb__svsc_req_free(r);
		return rc;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.res;
}
