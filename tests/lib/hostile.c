// SPDX-License-Identifier: MIT
/*
 * The scripted hostile peer (see hostile.h).  Ring access goes through the
 * channel's private struct: the test plays the peer that shares the ring
 * pages, so it writes them exactly as a hostile peer could.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bus/chan_priv.h"
#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/link.h"
#include "openvmbus/ring.h"
#include "openvmbus/vsc.h"
#include "tests/lib/hostile.h"

/* ---- host->guest recorder ------------------------------------------------- */

static bool hrec_hook(const void *msg, size_t len, void *ctx)
{
	struct hrec *r = ctx;
	struct vmbus_channel_open_result res;
	uint8_t after[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	size_t after_len = 0;
	struct hrec_msg *m;
	uint32_t type = 0;
	bool pass = true, refuse = false;

	if (len >= 4)
		memcpy(&type, msg, 4);
	pthread_mutex_lock(&r->lock);
	m = &r->m[r->n++ % HREC_MAX];
	m->type = type;
	m->len = len;
	memcpy(m->msg, msg, len);
	if (r->drop_type && type == r->drop_type)
		pass = false;
	if (r->refuse_open && type == CHANNELMSG_OPENCHANNEL_RESULT &&
	    len == sizeof(res)) {
		memcpy(&res, msg, sizeof(res));
		/* A success becomes a refusal (which passes when it
		 * comes by again). */
		if (res.status == 0) {
			res.status = 0xC0000001u; /* STATUS_UNSUCCESSFUL */
			pass = false;
			refuse = true;
		}
	}
	if (!pass)
		r->dropped++;
	if (r->after_len && type == r->after_type) {
		after_len = r->after_len;
		memcpy(after, r->after_msg, after_len);
		r->after_len = 0;
	}
	pthread_mutex_unlock(&r->lock);
	/* The refusal replaces the real result, in order. */
	if (refuse)
		ovb_inproc_host_send(r->l, &res, sizeof(res));
	if (after_len)
		ovb_inproc_host_send(r->l, after, after_len);
	return pass;
}

void hrec_send_after(struct hrec *r, uint32_t type, const void *msg,
		     size_t len)
{
	assert_true(len <= sizeof(r->after_msg));
	pthread_mutex_lock(&r->lock);
	r->after_type = type;
	memcpy(r->after_msg, msg, len);
	r->after_len = len;
	pthread_mutex_unlock(&r->lock);
}

static void hrec_event(uint32_t relid, void *ctx)
{
	struct hrec *r = ctx;
	struct hrec_msg *m;

	pthread_mutex_lock(&r->lock);
	m = &r->m[r->n++ % HREC_MAX];
	m->type = HREC_EVENT;
	m->len = 4;
	memcpy(m->msg, &relid, 4);
	pthread_mutex_unlock(&r->lock);
}

struct hrec *hrec_attach(struct ovb_inproc *l)
{
	struct hrec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->l = l;
	pthread_mutex_init(&r->lock, NULL);
	ovb_inproc_set_host_hook(l, hrec_hook, r);
	ovb_inproc_set_event_hook(l, hrec_event, r);
	return r;
}

void hrec_detach(struct hrec *r)
{
	ovb_inproc_sync(r->l);
	ovb_inproc_set_host_hook(r->l, NULL, NULL);
	ovb_inproc_set_event_hook(r->l, NULL, NULL);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void hrec_clear(struct hrec *r)
{
	pthread_mutex_lock(&r->lock);
	r->n = 0;
	pthread_mutex_unlock(&r->lock);
}

void hrec_set(struct hrec *r, uint32_t drop_type, bool refuse_open)
{
	pthread_mutex_lock(&r->lock);
	r->drop_type = drop_type;
	r->refuse_open = refuse_open;
	pthread_mutex_unlock(&r->lock);
}

unsigned int hrec_nmsgs(struct hrec *r)
{
	unsigned int n = 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++)
		n += r->m[i].type != HREC_EVENT;
	pthread_mutex_unlock(&r->lock);
	return n;
}

unsigned int hrec_count(struct hrec *r, uint32_t type)
{
	unsigned int n = 0;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++)
		n += r->m[i].type == type;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int hrec_events_after(struct hrec *r, uint32_t relid, uint32_t type,
		      size_t key_off, uint32_t key)
{
	int n = -1;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++) {
		const struct hrec_msg *m = &r->m[i];
		uint32_t k;

		if (m->type == HREC_EVENT) {
			memcpy(&k, m->msg, 4);
			if (n >= 0 && k == relid)
				n++;
			continue;
		}
		if (m->type != type || m->len < key_off + 4)
			continue;
		memcpy(&k, m->msg + key_off, 4);
		if (k == key)
			n = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

bool hrec_find(struct hrec *r, uint32_t type, size_t key_off, uint32_t key,
	       void *out)
{
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < HREC_MAX; i++) {
		const struct hrec_msg *m = &r->m[i];
		uint32_t k;

		if (m->type != type || m->len < key_off + 4)
			continue;
		memcpy(&k, m->msg + key_off, 4);
		if (k != key)
			continue;
		memcpy(out, m->msg, m->len);
		found = true;
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* ---- raw guest messages ----------------------------------------------------- */

int hg_post(struct ovb_inproc *l, const void *msg, size_t len)
{
	return ovb_inproc_guest_post(l, VMBUS_MESSAGE_CONNECTION_ID, msg, len);
}

int hg_post_type(struct ovb_inproc *l, uint32_t type, const void *body,
		 size_t len)
{
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT] = { 0 };

	assert_true(len <= sizeof(msg));
	if (body && len > 8)
		memcpy(msg + 8, body, len - 8);
	memcpy(msg, &type, len < 4 ? len : 4);
	return hg_post(l, msg, len);
}

int hg_gpadl(struct ovb_inproc *l, uint32_t relid, uint32_t handle,
	     uint64_t gpa, size_t len)
{
	struct ovb_gpa_range r = { .byte_offset = gpa % HV_PAGE_SIZE,
				   .byte_count = (uint32_t)len };
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	uint64_t *words, *pfns;
	size_t nwords, mlen;
	int rc = 0;

	r.npfns = ovb_gpa_range_npfns(r.byte_offset, r.byte_count);
	nwords = 1 + r.npfns;
	words = calloc(nwords, sizeof(*words));
	pfns = calloc(r.npfns, sizeof(*pfns));
	assert_non_null(words);
	assert_non_null(pfns);
	for (uint32_t i = 0; i < r.npfns; i++)
		pfns[i] = gpa / HV_PAGE_SIZE + i;
	r.pfns = pfns;
	ovb_gpadl_stream_fill(&r, 1, words);
	for (unsigned int i = 0;
	     !rc && (mlen = ovb_gpadl_msg(relid, handle, 1, words, nwords, i,
					  msg));
	     i++)
		rc = hg_post(l, msg, mlen);
	free(pfns);
	free(words);
	return rc;
}

int hg_open(struct ovb_inproc *l, uint32_t relid, uint32_t gpadl,
	    uint32_t downstream)
{
	struct vmbus_channel_open_channel o;

	memset(&o, 0, sizeof(o));
	o.header.msgtype = CHANNELMSG_OPENCHANNEL;
	o.child_relid = relid;
	o.openid = relid;
	o.ringbuffer_gpadlhandle = gpadl;
	o.downstream_ringbuffer_pageoffset = downstream;
	return hg_post(l, &o, VMBUS_OPEN_CHANNEL_SIZE);
}

int hg_relid_msg(struct ovb_inproc *l, uint32_t type, uint32_t relid)
{
	struct vmbus_channel_relid_msg m = { .header.msgtype = type,
					     .child_relid = relid };

	return hg_post(l, &m, sizeof(m));
}

int hg_teardown(struct ovb_inproc *l, uint32_t relid, uint32_t gpadl)
{
	struct vmbus_channel_gpadl_teardown t = {
		.header.msgtype = CHANNELMSG_GPADL_TEARDOWN,
		.child_relid = relid,
		.gpadl = gpadl,
	};

	return hg_post(l, &t, sizeof(t));
}

int64_t hg_gpadl_status(struct ovb_inproc *l, struct hrec *r, uint32_t relid,
			uint32_t handle, uint64_t gpa, size_t len)
{
	struct vmbus_channel_gpadl_created c;
	uint8_t buf[HV_MESSAGE_PAYLOAD_BYTE_COUNT];

	assert_int_equal(hg_gpadl(l, relid, handle, gpa, len), 0);
	ovb_inproc_sync(l);
	if (!hrec_find(r, CHANNELMSG_GPADL_CREATED,
		       offsetof(struct vmbus_channel_gpadl_created, gpadl),
		       handle, buf))
		return -1;
	memcpy(&c, buf, sizeof(c));
	return c.creation_status;
}

int64_t hg_open_status(struct ovb_inproc *l, struct hrec *r, uint32_t relid,
		       uint32_t gpadl, uint32_t downstream)
{
	struct vmbus_channel_open_result res;
	uint8_t buf[HV_MESSAGE_PAYLOAD_BYTE_COUNT];

	hrec_clear(r);
	assert_int_equal(hg_open(l, relid, gpadl, downstream), 0);
	ovb_inproc_sync(l);
	if (!hrec_find(r, CHANNELMSG_OPENCHANNEL_RESULT,
		       offsetof(struct vmbus_channel_open_result, child_relid),
		       relid, buf))
		return -1;
	memcpy(&res, buf, sizeof(res));
	return res.status;
}

/* ---- rings -------------------------------------------------------------------- */

struct vmbus_ring_control *hring_ctl(struct ovb_chan *chan, bool out)
{
	return out ? chan->out.ctl : chan->in.ctl;
}

uint32_t hring_size(struct ovb_chan *chan, bool out)
{
	return out ? chan->out.size : chan->in.size;
}

void hring_quiesce(struct ovb_chan *chan, bool out)
{
	struct vmbus_ring_control *ctl = hring_ctl(chan, out);

	PAIR_WAIT(__atomic_load_n(HCTL(ctl, read_index), __ATOMIC_ACQUIRE) ==
		  __atomic_load_n(HCTL(ctl, write_index), __ATOMIC_ACQUIRE));
	/* Equal means the reader committed: it stores no more for now. */
	assert_int_equal(ctl->read_index, ctl->write_index);
}

int hring_inject(struct ovb_chan *chan, bool out, const void *pkt,
		 size_t len)
{
	const struct ovb_ring *own = out ? &chan->out : &chan->in;
	struct iovec iov = { (void *)pkt, len };
	struct ovb_ring r;
	bool signal;

	assert_int_equal(ovb_ring_attach(&r, own->ctl, own->data, own->size,
					 "hostile"), 0);
	return ovb_ring_write(&r, &iov, 1, &signal);
}

void hring_signal(struct ovb_chan *chan)
{
	ovb__chan_signal_peer(chan);
}

/* ---- the hostile-guest fixture ------------------------------------------------ */

static void *pinger_main(void *arg)
{
	struct hg_fx *f = arg;
	struct echo_msg req = { .op = ECHO_OP_PING, .len = 64 }, rep;
	uint8_t data[64], back[64];

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		int rc;

		for (int i = 0; i < 64; i++)
			data[i] = (uint8_t)(i + req.arg);
		rc = ovb_echo_call(f->good_e, &req, data, NULL, 0, &rep, back,
				   sizeof(back), 5000);
		if (rc || rep.status || rep.len != 64 || rep.arg != req.arg ||
		    memcmp(back, data, 64))
			__atomic_fetch_add(&f->failures, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->pings, 1, __ATOMIC_RELAXED);
		req.arg++;
		usleep(2000);
	}
	return NULL;
}

struct hg_fx *hg_fx_new(bool connect)
{
	struct pair_opts o = { .echo_instances = 3 };
	struct hg_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	logcap_start();
	f->p = pair_new(&o);
	f->part = ovb_inproc_partition(f->p->link);
	f->rec = hrec_attach(f->p->link);
	if (connect) {
		assert_int_equal(ovb_client_connect(f->p->cl, 0, 5000), 0);
		assert_int_equal(f->p->echo.ndev, 3);
	}
	f->good = pair_add_guest(f->p, "good", &f->good_echo);
	assert_int_equal(ovb_client_connect(ovb_inproc_client(f->good), 0,
					    5000), 0);
	assert_int_equal(ovb_echo_open(f->good_echo.dev[0], 16384, NULL,
				       &f->good_e), 0);
	assert_int_equal(pthread_create(&f->pinger, NULL, pinger_main, f), 0);
	return f;
}

void hg_fx_free(struct hg_fx *f)
{
	PAIR_WAIT(__atomic_load_n(&f->pings, __ATOMIC_RELAXED) >= 3);
	__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
	pthread_join(f->pinger, NULL);
	assert_true(f->pings >= 3);
	assert_int_equal(f->failures, 0);
	pair_ping(f->good_e, 1000);
	ovb_inproc_destroy(f->good);
	hrec_detach(f->rec);
	pair_free(f->p);
	logcap_stop();
	free(f);
}

int hg_fx_setup(void **state)
{
	*state = hg_fx_new(true);
	return 0;
}

int hg_fx_setup_fresh(void **state)
{
	*state = hg_fx_new(false);
	return 0;
}

int hg_fx_teardown(void **state)
{
	hg_fx_free(*state);
	return 0;
}

void hg_still_works(struct hg_fx *f, unsigned int i)
{
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(f->p->echo.dev[i], 16384, NULL, &e), 0);
	pair_ping(e, 333);
	ovb_echo_close(e);
}

void hg_sync(struct hg_fx *f)
{
	ovb_inproc_sync(f->p->link);
}

bool hg_torndown(struct hg_fx *f, uint32_t handle)
{
	uint8_t buf[240];

	hg_sync(f);
	return hrec_find(f->rec, CHANNELMSG_GPADL_TORNDOWN,
			 offsetof(struct vmbus_channel_gpadl_torndown, gpadl),
			 handle, buf);
}

uint32_t hg_relid(struct hg_fx *f, unsigned int i)
{
	assert_true(i < f->p->echo.ndev && f->p->echo.dev[i]);
	return ovb_vsc_dev_offer(f->p->echo.dev[i])->child_relid;
}

/* ---- the hostile-host fixture ------------------------------------------- */

int hh_setup(void **state)
{
	struct pair_opts o = { .echo_instances = 2 };
	struct hh *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	logcap_start();
	h->p = pair_connected(&o);
	ovb_inproc_sync(h->p->link);
	h->rec = hrec_attach(h->p->link);
	*state = h;
	return 0;
}

int hh_setup_fresh(void **state)
{
	struct hh *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	logcap_start();
	h->p = pair_new(NULL);
	h->rec = hrec_attach(h->p->link);
	*state = h;
	return 0;
}

int hh_teardown(void **state)
{
	struct hh *h = *state;

	hrec_detach(h->rec);
	pair_free(h->p);
	logcap_stop();
	free(h);
	return 0;
}

void hh_ping_dev(struct hh *h, unsigned int i)
{
	struct ovb_echo *e;

	assert_int_equal(ovb_echo_open(h->p->echo.dev[i], HH_RING, NULL, &e),
			 0);
	pair_ping(e, 555);
	ovb_echo_close(e);
}
