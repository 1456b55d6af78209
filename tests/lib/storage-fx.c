// SPDX-License-Identifier: MIT
/* The storage pair fixture and the gate backend. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/deadline.h"
#include "openvmbus/link.h"
#include "openvmbus/server.h"
#include "storage/storvsc_priv.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

/* ---- gate backend: RAM underneath, requests held while closed -------- */

struct gate_held {
	struct ovb_blk_queue *q;
	struct ovb_blk_req *req;
	struct gate_held *next;
};

static const struct ovb_blk_ops *gate_ram;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static bool gate_closed;
static struct gate_held *gate_list;
static int gate_n;

static int gate_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out)
{
	return gate_ram->queue_create(blk, out);
}

static void gate_queue_destroy(struct ovb_blk_queue *q)
{
	gate_ram->queue_destroy(q);
}

static int gate_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct gate_held *h;

	pthread_mutex_lock(&gate_lock);
	if (!gate_closed) {
		pthread_mutex_unlock(&gate_lock);
		return gate_ram->submit(q, req);
	}
	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->q = q;
	h->req = req;
	h->next = gate_list;
	gate_list = h;
	gate_n++;
	q->inflight++;
	pthread_mutex_unlock(&gate_lock);
	return 0;
}

static int gate_poll(struct ovb_blk_queue *q, int timeout_us)
{
	struct gate_held *mine = NULL;

	pthread_mutex_lock(&gate_lock);
	if (!gate_closed) {
		for (struct gate_held **pp = &gate_list; *pp;) {
			struct gate_held *h = *pp;

			if (h->q != q) {
				pp = &h->next;
				continue;
			}
			*pp = h->next;
			h->next = mine;
			mine = h;
			gate_n--;
		}
	}
	pthread_mutex_unlock(&gate_lock);
	while (mine) {
		struct gate_held *next = mine->next;

		q->inflight--;
		gate_ram->submit(q, mine->req);
		free(mine);
		mine = next;
	}
	if (timeout_us < 0 && gate_closed && !q->inflight)
		return 0;
	return gate_ram->poll(q, timeout_us < 0 ? 0 : timeout_us);
}

static void gate_close_blk(struct ovb_blk *blk)
{
	blk->ops = gate_ram;
	ovb_blk_close(blk);
}

static const struct ovb_blk_ops gate_ops = {
	.name = "gate",
	.queue_create = gate_queue_create,
	.queue_destroy = gate_queue_destroy,
	.submit = gate_submit,
	.poll = gate_poll,
	.close = gate_close_blk,
};

void sfx_gate_wrap(struct ovb_blk *blk)
{
	gate_ram = blk->ops;
	blk->ops = &gate_ops;
}

void sfx_gate_close(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = true;
	pthread_mutex_unlock(&gate_lock);
}

void sfx_gate_open(void)
{
	uint64_t one = 1;

	pthread_mutex_lock(&gate_lock);
	gate_closed = false;
	for (struct gate_held *h = gate_list; h; h = h->next)
		if (write(h->q->efd, &one, sizeof(one)) < 0)
			fail_msg("cannot wake a queue");
	pthread_mutex_unlock(&gate_lock);
}

int sfx_gate_held(void)
{
	int n;

	pthread_mutex_lock(&gate_lock);
	n = gate_n;
	pthread_mutex_unlock(&gate_lock);
	return n;
}

/* ---- the pair ------------------------------------------------------------ */

struct ovb_blk *sfx_ram(uint64_t size, uint32_t bs)
{
	struct ovb_blk *blk;

	assert_int_equal(ovb_blk_ram_create(size, bs, &blk), 0);
	return blk;
}

static void sfx_on_change(struct ovb_storvsc *s, void *ctx)
{
	struct sfx *f = ctx;

	__atomic_fetch_add(&f->changes, 1, __ATOMIC_RELEASE);
}

struct sfx *sfx_new(const struct sfx_opts *o)
{
	static const struct sfx_opts defaults = { 0 };
	struct ovb_inproc_params ip = { .name = "guest0", .mem_gpa = 1ull << 30,
					.mem_size = 96ull << 20 };
	struct sfx *f = calloc(1, sizeof(*f));
	unsigned int nluns;

	if (!o)
		o = &defaults;
	nluns = o->nluns ? o->nluns : 2;
	assert_non_null(f);
	assert_int_equal(ovb_server_create(&f->srv), 0);
	ovb_server_set_max_version(f->srv, o->vmbus_max);
	if (dfx_wanted(o->caller_dispatch))
		f->loop = dfx_start(f->srv);
	if (!o->no_scsi) {
		struct ovb_storvsp_cfg c = {
			.name = "storvsp0",
			.max_version = o->host_max_version,
			.max_subchannels = (uint16_t)(o->host_subs ? o->host_subs
								   : 4),
			.depth = o->depth,
			.poll_us = o->host_poll_us,
			.spin_us = o->host_spin_us,
			.stream_spin = o->host_stream,
			.answer_every = o->host_answer_every,
		};

		assert_int_equal(ovb_storvsp_create(&c, &f->scsi), 0);
		for (unsigned int i = 0; i < nluns && i < 8; i++) {
			f->blk[i] = i == 0 && o->lun0
					    ? o->lun0
					    : sfx_ram(SFX_DISK, i == 1 ? 4096 : 512);
			f->blk[i]->remote |= o->remote;
			if (i == 0 && o->gated)
				sfx_gate_wrap(f->blk[0]);
			assert_int_equal(ovb_storvsp_add_lun(f->scsi, (int)i,
							     f->blk[i]),
					 (int)i);
		}
		assert_int_equal(ovb_storvsp_register(f->srv, f->scsi), 0);
	}
	if (o->ide) {
		struct ovb_storvsp_cfg c = { .name = "storvsp-ide0",
					     .ide = true,
					     .poll_us = o->host_poll_us };

		assert_int_equal(ovb_storvsp_create(&c, &f->ide), 0);
		f->ide_blk = sfx_ram(4u << 20, 512);
		assert_int_equal(ovb_storvsp_add_lun(f->ide, -1, f->ide_blk),
				 0);
		assert_int_equal(ovb_storvsp_register(f->srv, f->ide), 0);
	}
	pair_mem_params(&ip);
	assert_int_equal(ovb_inproc_create(f->srv, &ip, &f->link), 0);
	f->cl = ovb_inproc_client(f->link);
	f->set.cfg.subchannels = o->subchannels;
	f->set.cfg.max_version = o->guest_max_version;
	f->set.cfg.timeout_ms = o->timeout_ms;
	f->set.cfg.ring_bytes = o->guest_ring_bytes ? o->guest_ring_bytes
						    : 128 << 10;
	f->set.cfg.poll_us = o->guest_poll_us;
	f->set.on_change = sfx_on_change;
	f->set.ctx = f;
	if (o->no_drivers)
		return f;
	assert_int_equal(ovb_client_register_driver(
				 f->cl, &ovb_storvsc_scsi_driver, &f->set),
			 0);
	assert_int_equal(ovb_client_register_driver(
				 f->cl, &ovb_storvsc_ide_driver, &f->set),
			 0);
	if (!o->no_connect)
		assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	return f;
}

void sfx_free(struct sfx *f)
{
	pair_check_paged(f->link);
	ovb_inproc_destroy(f->link);
	dfx_stop(f->loop);
	ovb_server_destroy(f->srv);
	ovb_storvsp_destroy(f->scsi);
	ovb_storvsp_destroy(f->ide);
	free(f);
}

struct ovb_storvsc *sfx_ctl(struct sfx *f, bool ide)
{
	for (unsigned int i = 0; i < f->set.n; i++)
		if (ovb_storvsc_is_ide(f->set.ctl[i]) == ide)
			return f->set.ctl[i];
	fail_msg("no %s controller bound", ide ? "IDE" : "SCSI");
	return NULL;
}

static void sfx_add(struct sfx_chans *out, const struct ovb_chan_stats *st)
{
	const uint64_t *src = (const uint64_t *)st;
	uint64_t *dst = (uint64_t *)&out->st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] += src[i];
	out->n++;
}

static void sfx_host_one(const struct ovb_chan_report *r, void *ctx)
{
	struct sfx_chans *out = ctx;

	if (!r->open || strcmp(r->device, "storvsp"))
		return;
	sfx_add(out, &r->st);
	out->peer_masked += r->ring.out_peer_masked;
	out->host_masked += r->ring.in_masked;
}

void sfx_host_chans(struct sfx *f, struct sfx_chans *out)
{
	memset(out, 0, sizeof(*out));
	ovb_server_report(f->srv, sfx_host_one, out);
}

/* Reaches into storvsc's private state: the channels are not public. */
void sfx_guest_chans(struct ovb_storvsc *s, struct sfx_chans *out)
{
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&s->chlock);
	for (unsigned int i = 0; i < s->nch; i++) {
		struct ovb_chan_stats st;

		ovb_chan_get_stats(s->ch[i].chan, &st);
		sfx_add(out, &st);
	}
	pthread_rwlock_unlock(&s->chlock);
}

unsigned int sfx_guest_chan_pkts(struct ovb_storvsc *s, uint64_t *out,
				 unsigned int max)
{
	unsigned int n;

	pthread_rwlock_rdlock(&s->chlock);
	for (n = 0; n < s->nch && n < max; n++) {
		struct ovb_chan_stats st;

		ovb_chan_get_stats(s->ch[n].chan, &st);
		out[n] = st.pkts_out;
	}
	pthread_rwlock_unlock(&s->chlock);
	return n;
}

/* ---- shared checks ------------------------------------------------------- */

void sfx_fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

/* Write, flush, read back through the guest; check the RAM disk too. */
void sfx_rw_check(struct sfx *f, struct ovb_storvsc *s, uint16_t lun,
		     struct ovb_blk *blk, uint64_t off, size_t len,
		     unsigned int seed)
{
	uint8_t *buf = ovb_storvsc_alloc(s, len);
	uint8_t *want = malloc(len);

	assert_non_null(buf);
	sfx_fill(want, len, seed);
	memcpy(buf, want, len);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_WRITE, lun, off, buf,
					  len, false),
			 (int64_t)len);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_FLUSH, lun, 0, NULL,
					  0, false),
			 0);
	if (blk)
		assert_memory_equal(ovb_blk_ram_data(blk) + off, want, len);
	memset(buf, 0, len);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, lun, off, buf,
					  len, false),
			 (int64_t)len);
	assert_memory_equal(buf, want, len);
	ovb_storvsc_free(s, buf, len);
	free(want);
}



void sfx_flight_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct sfx_flight *fl = io->ctx;

	pthread_mutex_lock(fl->lock);
	fl->res = res;
	(*fl->left)--;
	pthread_cond_broadcast(fl->cond);
	pthread_mutex_unlock(fl->lock);
}

void sfx_flight_wait(int *left, pthread_mutex_t *lock, pthread_cond_t *cond)
{
	struct timespec dl;
	int rc = 0;

	ovb_deadline_ms(&dl, SFX_FLIGHT_WAIT_MS);
	pthread_mutex_lock(lock);
	while (*left && rc != ETIMEDOUT)
		rc = pthread_cond_clockwait(cond, lock, CLOCK_MONOTONIC, &dl);
	pthread_mutex_unlock(lock);
	if (rc == ETIMEDOUT)
		fail_msg("%d requests of a flight never completed", *left);
}

void sfx_reads_start(struct ovb_storvsc *s, struct sfx_flight *fl, int n,
		     uint8_t *buf, int *left, pthread_mutex_t *lock,
		     pthread_cond_t *cond)
{
	for (int i = 0; i < n; i++) {
		fl[i].left = left;
		fl[i].lock = lock;
		fl[i].cond = cond;
		fl[i].io.op = OVB_STORVSC_READ;
		fl[i].io.offset = (uint64_t)i * 4096;
		fl[i].io.len = 4096;
		fl[i].io.buf = buf + i * 4096;
		fl[i].io.done = sfx_flight_done;
		fl[i].io.ctx = &fl[i];
		assert_int_equal(ovb_storvsc_submit(s, &fl[i].io), 0);
	}
}

/* Submit @n writes of @len bytes spread over LUNs 0 and 2; wait. */
void sfx_flight_run(struct sfx *f, struct ovb_storvsc *s, int n,
		       size_t len)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct sfx_flight *fl = calloc((size_t)n, sizeof(*fl));
	uint8_t *buf = ovb_storvsc_alloc(s, (size_t)n * len);
	int left = n;

	assert_non_null(buf);
	sfx_fill(buf, (size_t)n * len, 5);
	for (int i = 0; i < n; i++) {
		fl[i].left = &left;
		fl[i].lock = &lock;
		fl[i].cond = &cond;
		fl[i].io.op = OVB_STORVSC_WRITE;
		fl[i].io.lun = (uint16_t)(i % 2 ? 2 : 0);
		fl[i].io.offset = (uint64_t)i * len;
		fl[i].io.len = len;
		fl[i].io.buf = buf + (size_t)i * len;
		fl[i].io.done = sfx_flight_done;
		fl[i].io.ctx = &fl[i];
		assert_int_equal(ovb_storvsc_submit(s, &fl[i].io), 0);
	}
	sfx_flight_wait(&left, &lock, &cond);
	for (int i = 0; i < n; i++) {
		struct ovb_blk *blk = f->blk[i % 2 ? 2 : 0];

		assert_int_equal(fl[i].res, (int64_t)len);
		assert_memory_equal(ovb_blk_ram_data(blk) + (size_t)i * len,
				    buf + (size_t)i * len, len);
	}
	ovb_storvsc_free(s, buf, (size_t)n * len);
	free(fl);
}

__thread bool sfx_in_poller;
int sfx_dones_on_pollers;

void sfx_io_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct sfx_io *p = io->ctx;

	if (sfx_in_poller)
		__atomic_fetch_add(&sfx_dones_on_pollers, 1, __ATOMIC_RELAXED);
	p->res = res;
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
}

void sfx_io_submit(struct ovb_storvsc *s, struct sfx_io *p,
		   enum ovb_storvsc_op op, uint16_t lun, uint64_t off,
		   void *buf, uint64_t len, bool fua)
{
	memset(p, 0, sizeof(*p));
	p->io.fua = fua;
	p->io.op = op;
	p->io.lun = lun;
	p->io.offset = off;
	p->io.buf = buf;
	p->io.len = len;
	p->io.done = sfx_io_done;
	p->io.ctx = p;
	assert_int_equal(ovb_storvsc_submit(s, &p->io), 0);
}

uint64_t sfx_now_ms(void)
{
	return ovb_now_us() / 1000;
}
