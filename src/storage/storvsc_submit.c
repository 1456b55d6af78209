// SPDX-License-Identifier: MIT
/*
 * storvsc, submitting on a caller's behalf: many requests as one batch on
 * one channel (ovb_storvsc_submit_many: one ring index update and at most
 * one signal for all of them, as long as the ring has room), and the
 * synchronous wrapper (ovb_storvsc_sync).  Layer: devices (storage).
 */
#include <errno.h>
#include <pthread.h>

#include "storage/storvsc_priv.h"

unsigned int ovb_storvsc_submit_many(struct ovb_storvsc *s,
				     struct ovb_storvsc_io *const *ios,
				     unsigned int n, int *err)
{
	struct ovb_chan *chan;
	unsigned int ok = 0;

	if (n == 1) {
		err[0] = ovb_storvsc_submit(s, ios[0]);
		return !err[0];
	}
	if (!n)
		return 0;
	pthread_rwlock_rdlock(&s->chlock);
	if (!s->nch) {
		pthread_rwlock_unlock(&s->chlock);
		for (unsigned int i = 0; i < n; i++)
			err[i] = -ECONNRESET;
		return 0;
	}
	/*
	 * One channel for the whole batch: its packets are staged in the
	 * ring and published at the end (or whenever the ring fills: the
	 * staged ones go out, and the send waits for room as a lone one
	 * would).  The channel: ovb__svsc_pick (a thread with a queue keeps
	 * to its home channel, else round robin between batches).
	 */
	chan = ovb__svsc_pick(s);
	ovb_chan_batch_begin(chan);
	for (unsigned int i = 0; i < n; i++) {
		err[i] = ovb__svsc_submit(s, ios[i], chan);
		ok += !err[i];
	}
	ovb_chan_batch_end(chan);
	pthread_rwlock_unlock(&s->chlock);
	return ok;
}

struct svsc_sync_io {
	struct ovb_storvsc_io io;
	struct svsc_sync w;
};

static void sync_io_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct svsc_sync_io *sio = io->ctx;

	ovb__svsc_sync_done(&sio->w, res, NULL);
}

int64_t ovb_storvsc_sync(struct ovb_storvsc *s, enum ovb_storvsc_op op,
			 uint16_t lun, uint64_t offset, void *buf,
			 uint64_t len, bool fua)
{
	struct svsc_sync_io sio = {
		.w = { .lock = PTHREAD_MUTEX_INITIALIZER,
		       .cond = PTHREAD_COND_INITIALIZER },
	};
	int rc;

	sio.io.op = op;
	sio.io.lun = lun;
	sio.io.offset = offset;
	sio.io.buf = buf;
	sio.io.len = len;
	sio.io.fua = fua;
	sio.io.done = sync_io_done;
	sio.io.ctx = &sio;
	rc = ovb_storvsc_submit(s, &sio.io);
	if (rc)
		return rc;
	ovb__svsc_sync_wait(s, &sio.w);
	return sio.w.res;
}
