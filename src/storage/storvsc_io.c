// SPDX-License-Identifier: MIT
/*
 * storvsc, data side: block requests split into SRBs by the host's largest
 * transfer, sent as GPA-direct packets over the controller's channels
 * (a submitting thread with a queue keeps to its own, else round robin)
 * and completed by transaction id; every completion checked
 * against its request (operation, SRB fields, transfer and sense lengths)
 * before it is believed; CHECK CONDITION decoded into errno values; BUSY
 * resent; timeouts escalated RESET_LUN -> RESET_ADAPTER -> -ETIMEDOUT.
 * Layer: devices (storage).  Implements the request half of storvsc.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/byteorder.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "storage/storvsc_priv.h"

static __thread bool svsc_worker_thread;
/* The ovb_storvsc_poll() running on this thread, or NULL. */
static __thread struct svsc_poll_count *svsc_counting;
/* The channel whose completion runs on this thread right now, or NULL. */
static __thread struct ovb_chan *svsc_cb_chan;

bool ovb__svsc_on_worker(void) { return svsc_worker_thread; }

void ovb__svsc_count_begin(struct svsc_poll_count *c, struct ovb_storvsc *s)
{
	c->s = s;
	c->n = 0;
	c->outer = svsc_counting;
	svsc_counting = c;
}

uint64_t ovb__svsc_count_end(struct svsc_poll_count *c)
{
	svsc_counting = c->outer;
	return c->n;
}

/*
 * Run @io's callback.  It counts for an ovb_storvsc_poll() of its own
 * controller on this thread only: a done() callback that submits to
 * another controller may complete that one's request here too.
 */
static void io_done(struct ovb_storvsc_io *io, int64_t res)
{
	const struct ovb_storvsc *s = (const void *)(uintptr_t)io->priv[3];

	for (struct svsc_poll_count *c = svsc_counting; c; c = c->outer)
		if (c->s == s) {
			c->n++;
			break;
		}
	io->done(io, res);
}

/* ---- request objects -------------------------------------------------------- */

int ovb__svsc_step_ms(const struct ovb_storvsc *s)
{
	return s->timeout_ms / 3 > 0 ? s->timeout_ms / 3 : 1;
}

struct svsc_req *ovb__svsc_req_new(struct ovb_storvsc *s, uint16_t lun)
{
	struct svsc_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->s = s;
	r->srb.path_id = s->path;
	r->srb.target_id = s->target;
	r->srb.lun = (uint8_t)lun;
	r->srb.sense_info_length = ovb_vstor_sense_size(s->version);
	r->srb.data_in = VSTOR_DATA_UNKNOWN;
	r->srb.timeout = (uint32_t)(s->timeout_ms / 1000 + 1);
	return r;
}

void ovb__svsc_req_free(struct svsc_req *r)
{
	if (r->param)
		ovb_client_free(r->s->cl, r->param, r->param_len);
	free(r);
}

static void list_add(struct svsc_req *head, struct svsc_req *r)
{
	r->next = head;
	r->prev = head->prev;
	head->prev->next = r;
	head->prev = r;
	r->listed = true;
	__atomic_add_fetch(&r->s->npending, 1, __ATOMIC_RELAXED);
}

static void list_del(struct svsc_req *r)
{
	if (!r->listed)
		return;
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->listed = false;
	__atomic_sub_fetch(&r->s->npending, 1, __ATOMIC_RELAXED);
}

/* Take @r's callback (it fires once); NULL if it already fired. */
static svsc_req_fn *req_take_fn(struct svsc_req *r, void **ctx)
{
	svsc_req_fn *fn;

	pthread_mutex_lock(&r->s->lock);
	fn = r->fn;
	*ctx = r->ctx;
	r->fn = NULL;
	pthread_mutex_unlock(&r->s->lock);
	return fn;
}

void ovb__svsc_req_fire(struct svsc_req *r, int64_t res)
{
	void *ctx;
	svsc_req_fn *fn = req_take_fn(r, &ctx);

	if (fn)
		fn(ctx, res, r);
}

/* ---- completions ----------------------------------------------------------- */

static int64_t bad_completion(struct svsc_req *r, const char *why,
			      unsigned long a, unsigned long b)
{
	__atomic_fetch_add(&r->s->bad_completions, 1, __ATOMIC_RELAXED);
	ovb_peer("%s: bad completion from the host rejected: %s (%lu, %lu)",
		 r->s->name, why, a, b);
	return -EIO;
}

/* Errno of CHECK CONDITION sense data (fixed or descriptor format). */
static int64_t sense_errno(const struct svsc_req *r)
{
	uint8_t key, asc;
	const uint8_t *sn = r->sense;

	if (r->sense_len < 3)
		return -EIO;
	if ((sn[0] & 0x7f) == 0x72 || (sn[0] & 0x7f) == 0x73) {
		key = sn[1] & 0xf;
		asc = r->sense_len > 2 ? sn[2] : 0;
	} else {
		key = sn[2] & 0xf;
		asc = r->sense_len > 12 ? sn[12] : 0;
	}
	switch (key) {
	case SCSI_SENSE_DATA_PROTECT:
		return -EROFS;
	case SCSI_SENSE_ILLEGAL_REQUEST:
		return asc == SCSI_ASC(SCSI_ASC_LUN_NOT_SUPPORTED) ? -ENXIO
								  : -EINVAL;
	case SCSI_SENSE_UNIT_ATTENTION:
	case SCSI_SENSE_ABORTED_COMMAND:
		return SVSC_RETRY;
	default: /* MEDIUM ERROR, HARDWARE ERROR, NOT READY, ... */
		return -EIO;
	}
}

/* Check the host's answer to @r and turn it into bytes or -errno. */
static int64_t req_decode(struct svsc_req *r, const struct ovb_pkt *pkt)
{
	struct ovb_storvsc *s = r->s;
	struct ovb_vstor_msg m;
	uint8_t st;

	if (ovb_vstor_parse(pkt->data, pkt->len, s->version, &m))
		return bad_completion(r, "malformed packet", pkt->len, 0);
	if (m.operation != VSTOR_OPERATION_COMPLETE_IO)
		return bad_completion(r, "not COMPLETE_IO", m.operation, 0);
	if (ovb_vstor_srb_validate(&m.srb, s->version, true))
		return bad_completion(r, "invalid SRB fields",
				      m.srb.sense_info_length, m.srb.data_in);
	if (m.srb.data_transfer_length > r->srb.data_transfer_length)
		return bad_completion(r, "transfer length beyond the request",
				      m.srb.data_transfer_length,
				      r->srb.data_transfer_length);
	if (m.srb.sense_info_length > r->srb.sense_info_length)
		return bad_completion(r, "sense length beyond the buffer",
				      m.srb.sense_info_length,
				      r->srb.sense_info_length);
	r->srb_status = m.srb.srb_status;
	r->scsi_status = m.srb.scsi_status;
	r->xfer = m.srb.data_transfer_length;
	r->sense_len = m.srb.sense_info_length;
	memcpy(r->sense, m.srb.sense, r->sense_len);
	/*
	 * The packet's NTSTATUS is not the I/O's result: the SRB and SCSI
	 * status are.  Linux storvsc_on_io_completion never reads it, and
	 * OpenVMM's storvsp fills it from the SRB status (DATA_OVERRUN ->
	 * 0x80000005, INVALID_LUN -> 0xC00000C0), so reading it as an error
	 * would fail I/O that such a host completed (docs/compat.md).
	 */
	st = VSTOR_SRB_STATUS(r->srb_status);
	if (r->scsi_status == SCSI_STATUS_BUSY ||
	    r->scsi_status == SCSI_STATUS_TASK_SET_FULL)
		return SVSC_RETRY;
	if (st == VSTOR_SRB_STATUS_INVALID_LUN ||
	    st == VSTOR_SRB_STATUS_NO_DEVICE ||
	    st == VSTOR_SRB_STATUS_SELECTION_TIMEOUT)
		return -ENXIO;
	if (r->scsi_status == SCSI_STATUS_CHECK_CONDITION)
		return (r->srb_status & VSTOR_SRB_STATUS_AUTOSENSE_VALID)
			       ? sense_errno(r)
			       : -EIO;
	if (st == VSTOR_SRB_STATUS_SUCCESS ||
	    st == VSTOR_SRB_STATUS_DATA_OVERRUN)
		return r->scsi_status == SCSI_STATUS_GOOD ? (int64_t)r->xfer
							  : -EIO;
	if (st == VSTOR_SRB_STATUS_INVALID_REQUEST)
		return -EINVAL;
	return -EIO;
}

static void req_comp_inner(const struct ovb_pkt *pkt, struct svsc_req *r);

/*
 * The channel's completion of @ctx: on the worker, or with NULL on the
 * thread that closes or fails the channel.  Sends from here never wait.
 */
static void req_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
	bool was = svsc_worker_thread;
	struct ovb_chan *was_chan = svsc_cb_chan;

	svsc_worker_thread = true;
	/* Only a real completion comes from a drain that batches sends. */
	svsc_cb_chan = pkt ? chan : NULL;
	req_comp_inner(pkt, ctx);
	svsc_worker_thread = was;
	svsc_cb_chan = was_chan;
}

static void req_comp_inner(const struct ovb_pkt *pkt, struct svsc_req *r)
{
	struct ovb_storvsc *s = r->s;
	int64_t res;

	pthread_mutex_lock(&s->lock);
	list_del(r);
	pthread_mutex_unlock(&s->lock);
	res = pkt ? req_decode(r, pkt) : -ECONNRESET;
	/* Resent every 2 ms: give up BUSY after about one timeout. */
	if (res == SVSC_RETRY && ++r->busy > s->timeout_ms / 2 + 10)
		res = -EIO;
	if (res == SVSC_RETRY) {
		pthread_mutex_lock(&s->lock);
		if (r->fn && !s->dead) {
			r->next = s->retry;
			s->retry = r;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		pthread_mutex_unlock(&s->lock);
		res = -EIO;
	}
	ovb__svsc_req_fire(r, res);
	ovb__svsc_req_free(r);
}

/* ---- sending ------------------------------------------------------------------ */

/* This thread's home channel number plus one; 0: none yet. */
static __thread unsigned int svsc_home;
/* Its submits since the last one with a queue (see ovb__svsc_pick). */
static __thread unsigned int svsc_shallow;
/* The next home handed out, one per submitting thread. */
static unsigned int svsc_homes;

/* Shallow submits before a thread goes back to round robin. */
#define SVSC_HOME_KEEP 64u

/*
 * The channel for a new SRB (chlock held, nch > 0).  From inside a
 * done() callback while more requests are in flight than there are
 * channels: the channel being drained, whose sends are staged until the
 * drain ends, so the SRBs of one drained batch reach the host with one
 * index update and one signal.  Otherwise, while the submitting thread
 * keeps a queue (as many requests in flight as channels or more, or
 * that was so within its last SVSC_HOME_KEEP submits: a queue that the
 * host answered all at once is still a queue), its home channel (one
 * per thread, handed out in turn).  Linux's storvsc sends on the channel
 * of the submitting CPU, so one submitting thread keeps to one channel
 * and its batches stay whole; spread round robin, a single fio job's
 * QD32 made two half batches, two host workers' wake-ups and (NBD) two
 * server connections per round: half again the CPU per I/O or more
 * (docs/remote.md, "One channel per submitting thread").  Without a
 * queue there is nothing to batch: round robin, the next channel
 * measured faster (4k QD1, interrupt mode, two channels: 31 against
 * 50 us).
 */
struct ovb_chan *ovb__svsc_pick(struct ovb_storvsc *s)
{
	unsigned int i, pending = __atomic_load_n(&s->npending,
						   __ATOMIC_RELAXED);

	if (svsc_cb_chan && pending > s->nch)
		for (i = 0; i < s->nch; i++)
			if (s->ch[i].chan == svsc_cb_chan)
				return svsc_cb_chan;
	if (pending >= s->nch) {
		svsc_shallow = 0;
		if (!svsc_home)
			svsc_home = 1 + __atomic_fetch_add(&svsc_homes, 1,
							   __ATOMIC_RELAXED);
	} else if (svsc_shallow < SVSC_HOME_KEEP) {
		svsc_shallow++;
	}
	if (svsc_home && svsc_shallow < SVSC_HOME_KEEP)
		return s->ch[(svsc_home - 1) % s->nch].chan;
	i = __atomic_fetch_add(&s->rr, 1, __ATOMIC_RELAXED);
	return s->ch[i % s->nch].chan;
}

int ovb__svsc_req_send(struct svsc_req *r)
{
	return ovb__svsc_req_send_on(r, NULL);
}

int ovb__svsc_req_send_on(struct svsc_req *r, struct ovb_chan *chan)
{
	struct ovb_storvsc *s = r->s;
	uint64_t words[2 + SVSC_MAX_XFER / HV_PAGE_SIZE];
	uint8_t pkt[VSTOR_PACKET_SIZE_WIN8];
	struct ovb_send snd = { 0 };
	bool worker = svsc_worker_thread;
	ssize_t n;
	int rc;

	r->srb.data_transfer_length = r->len;
	n = ovb_vstor_encode_srb(pkt, sizeof(pkt), s->version, &r->srb);
	if (n < 0)
		return (int)n;
	snd.data = pkt;
	snd.len = (size_t)n;
	if (r->len) {
		int nw = ovb_gpa_range_words(ovb_gmem_gpa(s->gm, r->buf),
					     r->len, words,
					     sizeof(words) / sizeof(words[0]));

		if (nw < 0)
			return nw;
		snd.type = VM_PKT_DATA_USING_GPA_DIRECT;
		snd.ranges = words;
		snd.ranges_len = (size_t)nw * sizeof(uint64_t);
		snd.range_cnt = 1;
	}
	snd.on_comp = req_comp;
	snd.comp_ctx = r;
	snd.flags = worker ? OVB_SEND_NONBLOCK : 0;
	/*
	 * The coarse clock: a plain memory read, and the timeouts are
	 * checked every 50 ms anyway (svsc_timeouts reads the same clock).
	 */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &r->deadline);
	ovb_ts_add_ms(&r->deadline, ovb__svsc_step_ms(s));
	r->stage = 0;
	pthread_mutex_lock(&s->lock);
	if (s->dead) {
		pthread_mutex_unlock(&s->lock);
		return -ECONNRESET;
	}
	list_add(&s->pending, r);
	pthread_mutex_unlock(&s->lock);

	if (chan) {
		rc = ovb_chan_send(chan, &snd); /* the caller holds chlock */
	} else {
		pthread_rwlock_rdlock(&s->chlock);
		rc = s->nch ? ovb_chan_send(ovb__svsc_pick(s), &snd)
			    : -ECONNRESET;
		pthread_rwlock_unlock(&s->chlock);
	}
	if (!rc)
		return 0;
	pthread_mutex_lock(&s->lock);
	list_del(r);
	if (rc == -EAGAIN && worker && !s->dead) {
		/* Never wait on a worker: the service thread sends it. */
		r->next = s->retry;
		s->retry = r;
		pthread_cond_broadcast(&s->cond);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void reset_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		       void *ctx)
{
	struct ovb_storvsc *s = ctx;

	/* NULL: the channel closed; the host never answered it. */
	if (pkt)
		__atomic_fetch_add(&s->resets_done, 1, __ATOMIC_RELEASE);
}

void ovb__svsc_reset(struct ovb_storvsc *s, uint32_t op)
{
	uint8_t pkt[VSTOR_PACKET_SIZE_WIN8];
	struct ovb_send snd = { .on_comp = reset_comp, .comp_ctx = s,
				.flags = OVB_SEND_NONBLOCK };
	ssize_t n = ovb_vstor_encode_simple(pkt, sizeof(pkt), s->version, op,
					    VSTOR_FLAG_REQUEST_COMPLETION, 0);

	if (n < 0)
		return;
	snd.data = pkt;
	snd.len = (size_t)n;
	ovb_peer("%s: request timed out: %s", s->name,
		 op == VSTOR_OPERATION_RESET_LUN ? "RESET_LUN" : "RESET_ADAPTER");
	pthread_rwlock_rdlock(&s->chlock);
	if (s->nch && !ovb_chan_send(s->ch[0].chan, &snd))
		__atomic_fetch_add(&s->resets_out, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&s->chlock);
}

/* ---- block requests ---------------------------------------------------------- */

/*
 * io->priv: [0] parts left, [1] first error, [2] bytes moved, [3] the
 * controller
 */
static void part_done(void *ctx, int64_t res, struct svsc_req *r)
{
	struct ovb_storvsc_io *io = ctx;
	uint64_t zero = 0;

	if (res >= 0 && r && (io->op == OVB_STORVSC_READ ||
			      io->op == OVB_STORVSC_WRITE) &&
	    (uint64_t)res != r->len) {
		ovb_peer("%s: LUN %u: short transfer (%lld of %u bytes)",
			 r->s->name, io->lun, (long long)res, r->len);
		res = -EIO;
	}
	if (res < 0)
		__atomic_compare_exchange_n(&io->priv[1], &zero, (uint64_t)res,
					    false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	else if (r)
		__atomic_fetch_add(&io->priv[2], (uint64_t)res,
				   __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&io->priv[0], 1, __ATOMIC_ACQ_REL))
		return;
	res = (int64_t)__atomic_load_n(&io->priv[1], __ATOMIC_ACQUIRE);
	if (!res)
		res = io->op == OVB_STORVSC_READ || io->op == OVB_STORVSC_WRITE
			      ? (int64_t)io->priv[2]
		      : io->op == OVB_STORVSC_DISCARD ? (int64_t)io->len
						      : 0;
	io_done(io, res);
}

/* Fill part @i of @io (@bs-byte blocks); 0 or -ENOMEM. */
static int part_build(struct ovb_storvsc *s, struct ovb_storvsc_io *io,
		      struct svsc_req *r, uint64_t off, uint64_t len,
		      uint32_t bs)
{
	uint8_t *cdb = r->srb.cdb;
	uint64_t gpa;

	switch (io->op) {
	case OVB_STORVSC_READ:
	case OVB_STORVSC_WRITE:
		cdb[0] = io->op == OVB_STORVSC_READ ? SCSI_READ_16
						    : SCSI_WRITE_16;
		if (io->op == OVB_STORVSC_WRITE && io->fua)
			cdb[1] = SCSI_CDB_FUA;
		ovb_put_be64(cdb + 2, off / bs);
		ovb_put_be32(cdb + 10, (uint32_t)(len / bs));
		r->srb.cdb_length = 16;
		r->srb.data_in = io->op == OVB_STORVSC_READ ? VSTOR_DATA_READ
							    : VSTOR_DATA_WRITE;
		r->srb.srb_flags = io->op == OVB_STORVSC_READ
					   ? VSTOR_SRB_FLAGS_DATA_IN
					   : VSTOR_SRB_FLAGS_DATA_OUT;
		r->srb.queue_sort_key = (uint32_t)(off / bs);
		r->buf = (uint8_t *)io->buf + (off - io->offset);
		r->len = (uint32_t)len;
		return 0;
	case OVB_STORVSC_FLUSH:
		cdb[0] = SCSI_SYNCHRONIZE_CACHE_10;
		r->srb.cdb_length = 10;
		return 0;
	case OVB_STORVSC_DISCARD:
		r->param_len = SCSI_UNMAP_HEADER_LEN + SCSI_UNMAP_DESC_LEN;
		if (ovb_client_alloc(s->cl, r->param_len, &r->param, &gpa))
			return -ENOMEM;
		memset(r->param, 0, r->param_len);
		((uint8_t *)r->param)[1] = 6 + SCSI_UNMAP_DESC_LEN;
		((uint8_t *)r->param)[3] = SCSI_UNMAP_DESC_LEN;
		ovb_put_be64((uint8_t *)r->param + 8, off / bs);
		ovb_put_be32((uint8_t *)r->param + 16, (uint32_t)(len / bs));
		cdb[0] = SCSI_UNMAP;
		cdb[8] = (uint8_t)r->param_len;
		r->srb.cdb_length = 10;
		r->srb.data_in = VSTOR_DATA_WRITE;
		r->srb.srb_flags = VSTOR_SRB_FLAGS_DATA_OUT;
		r->buf = r->param;
		r->len = (uint32_t)r->param_len;
		return 0;
	}
	return -EINVAL;
}

/* Check @io against the LUN and guest memory; the part size or -errno. */
static int64_t io_check(struct ovb_storvsc *s, struct ovb_storvsc_io *io,
			uint32_t *bs)
{
	struct ovb_storvsc_lun l;
	uint64_t gpa;

	if (!io || !io->done || io->op > OVB_STORVSC_DISCARD)
		return -EINVAL;
	if (!ovb__svsc_lun(s, io->lun, &l))
		return -ENXIO;
	*bs = l.block_size;
	if (io->op == OVB_STORVSC_FLUSH)
		return 1;
	if (!io->len || io->offset % l.block_size || io->len % l.block_size)
		return -EINVAL;
	if (io->op == OVB_STORVSC_DISCARD)
		return (int64_t)l.block_size * 0x400000; /* UNMAP limit */
	gpa = ovb_gmem_gpa(s->gm, io->buf);
	if (!io->buf || gpa == UINT64_MAX ||
	    !ovb_gmem_ptr(s->gm, gpa, io->len))
		return -EINVAL;
	return s->max_xfer / l.block_size * l.block_size;
}

int ovb__svsc_submit(struct ovb_storvsc *s, struct ovb_storvsc_io *io,
		     struct ovb_chan *chan)
{
	uint32_t bs = 512;
	int64_t part = io_check(s, io, &bs);
	uint64_t nparts, off = io ? io->offset : 0;
	int rc = 0;

	if (part < 0)
		return (int)part;
	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
		return -ECONNRESET;
	if (__atomic_load_n(&s->offline, __ATOMIC_ACQUIRE))
		return -EIO;
	nparts = io->op == OVB_STORVSC_FLUSH
			 ? 1
			 : (io->len + (uint64_t)part - 1) / (uint64_t)part;
	io->priv[0] = nparts;
	io->priv[1] = 0;
	io->priv[2] = 0;
	io->priv[3] = (uint64_t)(uintptr_t)s;
	for (uint64_t i = 0; i < nparts; i++) {
		uint64_t len = io->offset + io->len - off;
		struct svsc_req *r = ovb__svsc_req_new(s, io->lun);

		if (len > (uint64_t)part)
			len = (uint64_t)part;
		rc = r ? part_build(s, io, r, off, len, bs) : -ENOMEM;
		if (!rc) {
			r->fn = part_done;
			r->ctx = io;
			rc = ovb__svsc_req_send_on(r, chan);
		}
		if (rc) {
			if (r)
				ovb__svsc_req_free(r);
			if (i == 0)
				return rc;
			/* Parts already out finish the request. */
			uint64_t zero = 0;

			__atomic_compare_exchange_n(&io->priv[1], &zero,
						    (uint64_t)(int64_t)rc,
						    false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
			if (__atomic_sub_fetch(&io->priv[0], nparts - i,
					       __ATOMIC_ACQ_REL) == 0)
				io_done(io, rc);
			return 0;
		}
		off += len;
	}
	return 0;
}

int ovb_storvsc_submit(struct ovb_storvsc *s, struct ovb_storvsc_io *io)
{
	return ovb__svsc_submit(s, io, NULL);
}

/* ---- packets the host sends on its own ---------------------------------------- */

void ovb__svsc_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
	struct ovb_storvsc *s = ctx;
	struct ovb_vstor_msg m;

	if (pkt->type != VM_PKT_DATA_INBAND ||
	    ovb_vstor_parse(pkt->data, pkt->len, s->version, &m)) {
		ovb_peer("%s: unexpected packet (type %u, %u bytes) dropped",
			 s->name, pkt->type, pkt->len);
		return;
	}
	switch (m.operation) {
	case VSTOR_OPERATION_ENUMERATE_BUS:
	case VSTOR_OPERATION_EVENT_NOTIFICATION:
		pthread_mutex_lock(&s->lock);
		s->rescan = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		break;
	case VSTOR_OPERATION_REMOVE_DEVICE:
		ovb_info("%s: host removes the device", s->name);
		break;
	default:
		ovb_peer("%s: VSTOR operation %u from the host ignored",
			 s->name, m.operation);
	}
	if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		ovb_chan_send(chan, &(struct ovb_send){
					    .type = VM_PKT_COMP,
					    .xid = pkt->xid,
					    .flags = OVB_SEND_NONBLOCK });
}
