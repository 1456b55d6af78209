// SPDX-License-Identifier: MIT
/*
 * storvsp, control side: the controller and its LUN table, the offers
 * (SCSI controller or IDE accelerator disk with the IDE offer user data),
 * channel open and close, and the VSTOR init sequence BEGIN_INIT ->
 * QUERY_PROTOCOL_VERSION -> QUERY_PROPERTIES -> [CREATE_SUB_CHANNELS] ->
 * END_INIT, plus resets and ENUMERATE_BUS on hot add and remove.  The SRB
 * data path is in storvsp_io.c.  Layer: devices (storage).  Implements
 * docs/wire.md B10 as Linux storvsc_drv.c and OpenVMM storvsp expect it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"
#include "storage/storvsp_priv.h"

#define SVSP_DEFAULT_SUBS 4u
#define SVSP_DEFAULT_XFER (1u << 20)
#define SVSP_DEFAULT_DEPTH 64u
#define SVSP_MAX_POLL_US 1000000u
#define SVSP_BUSY_MAX_US 200u /* busy spin for a remote LUN, at most */

/* ---- LUNs ------------------------------------------------------------------ */

struct svsp_lun *ovb__svsp_lun_get(struct ovb_storvsp *c, uint16_t lun)
{
	struct svsp_lun *l = NULL;

	if (lun >= OVB_STORVSP_MAX_LUNS)
		return NULL;
	pthread_mutex_lock(&c->lock);
	l = c->luns[lun];
	if (l)
		__atomic_fetch_add(&l->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&c->lock);
	return l;
}

void ovb__svsp_lun_put(struct svsp_lun *l)
{
	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL))
		return;
	ovb_scsi_target_destroy(l->t);
	ovb_blk_close(l->blk);
	free(l);
}

/*
 * Every LUN answers from a server's CPU (struct ovb_blk's remote): the
 * stream spin would only take a core from it (docs/remote.md, measured
 * with nbdkit on two cores).  Decided when a channel opens; a controller
 * with no LUN yet, or any local one, keeps the spin.
 */
static bool svsp_remote_only(struct ovb_storvsp *c)
{
	bool any = false, all = true;

	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < OVB_STORVSP_MAX_LUNS; i++) {
		if (!c->luns[i])
			continue;
		any = true;
		all = all && c->luns[i]->blk->remote;
	}
	pthread_mutex_unlock(&c->lock);
	return any && all;
}

size_t ovb__svsp_lun_list(struct ovb_storvsp *c, uint16_t *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (uint16_t i = 0; i < OVB_STORVSP_MAX_LUNS; i++)
		if (c->luns[i]) {
			if (n < max)
				out[n] = i;
			n++;
		}
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t ovb_storvsp_luns(struct ovb_storvsp *c, uint16_t *out, size_t max)
{
	return ovb__svsp_lun_list(c, out, max);
}

struct ovb_blk *ovb_storvsp_lun_blk(struct ovb_storvsp *c, uint16_t lun)
{
	struct ovb_blk *blk = NULL;

	pthread_mutex_lock(&c->lock);
	if (lun < OVB_STORVSP_MAX_LUNS && c->luns[lun])
		blk = c->luns[lun]->blk;
	pthread_mutex_unlock(&c->lock);
	return blk;
}

/*
 * Tell every guest with an initialised controller to rescan (c->lock held).
 * Never waits for ring space: a guest that does not drain its ring misses
 * the hint, which is all ENUMERATE_BUS is.
 */
static void svsp_enumerate(struct ovb_storvsp *c)
{
	for (struct svsp_inst *in = c->insts; in; in = in->next) {
		uint8_t buf[VSTOR_PACKET_SIZE_WIN8];
		uint16_t v = __atomic_load_n(&in->version, __ATOMIC_ACQUIRE);
		ssize_t n;

		if (!in->primary ||
		    __atomic_load_n(&in->state, __ATOMIC_ACQUIRE) != SVSP_READY)
			continue;
		n = ovb_vstor_encode_simple(buf, sizeof(buf), v,
					    VSTOR_OPERATION_ENUMERATE_BUS, 0,
					    0);
		if (n > 0 && ovb_chan_send_inband(in->primary, buf, (size_t)n,
						  0, OVB_SEND_NONBLOCK) == 0)
			SVSP_STAT(c, enumerates, 1);
	}
}

int ovb_storvsp_add_lun(struct ovb_storvsp *c, int lun, struct ovb_blk *blk)
{
	struct ovb_scsi_target_config tc = { 0 };
	struct svsp_lun *l;
	char name[48], serial[40];
	int rc;

	if (!blk || lun >= (int)OVB_STORVSP_MAX_LUNS || (c->cfg.ide && lun > 0))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (lun < 0) {
		for (lun = 0; lun < (int)OVB_STORVSP_MAX_LUNS && c->luns[lun];)
			lun++;
		if (lun == (int)OVB_STORVSP_MAX_LUNS || (c->cfg.ide && lun)) {
			rc = -ENOSPC;
			goto fail;
		}
	} else if (c->luns[lun]) {
		rc = -EEXIST;
		goto fail;
	}
	snprintf(name, sizeof(name), "%s lun %d", c->name, lun);
	snprintf(serial, 33, "%.28s-%d", c->name, lun);
	tc.name = name;
	tc.lun = (uint16_t)lun;
	tc.serial = serial;
	tc.max_xfer_bytes = c->cfg.max_transfer;
	rc = ovb_scsi_target_create(blk, &tc, &l->t);
	if (rc)
		goto fail;
	l->lun = (uint16_t)lun;
	l->blk = blk;
	l->c = c;
	l->refs = 1;
	c->luns[lun] = l;
	svsp_enumerate(c);
	pthread_mutex_unlock(&c->lock);
	ovb_info("%s: LUN %d added (%s, %llu bytes)", c->name, lun, blk->name,
		 (unsigned long long)blk->capacity);
	return lun;
fail:
	pthread_mutex_unlock(&c->lock);
	free(l);
	return rc;
}

int ovb_storvsp_remove_lun(struct ovb_storvsp *c, uint16_t lun)
{
	struct svsp_lun *l;
	uint64_t one = 1;

	pthread_mutex_lock(&c->lock);
	l = lun < OVB_STORVSP_MAX_LUNS ? c->luns[lun] : NULL;
	if (!l) {
		pthread_mutex_unlock(&c->lock);
		return -ENOENT;
	}
	c->luns[lun] = NULL;
	__atomic_store_n(&l->removed, true, __ATOMIC_RELEASE);
	/*
	 * Workers drop their queues over it: a busy one sees the flag
	 * between batches, a sleeping one wakes on the eventfd.
	 */
	for (struct svsp_chan *ch = c->chans; ch; ch = ch->next) {
		__atomic_store_n(&ch->kicked, true, __ATOMIC_RELEASE);
		if (write(ch->kickfd, &one, sizeof(one)) < 0)
			ovb_warn("%s: cannot wake a channel worker", c->name);
	}
	svsp_enumerate(c);
	pthread_mutex_unlock(&c->lock);
	ovb_info("%s: LUN %u removed", c->name, lun);
	ovb__svsp_lun_put(l);
	return 0;
}

/* ---- controller ----------------------------------------------------------- */

int ovb_storvsp_create(const struct ovb_storvsp_cfg *cfg,
		       struct ovb_storvsp **out)
{
	static unsigned int next_index;
	struct ovb_storvsp *c;

	if (!cfg || !out || cfg->ide_index > 3 ||
	    cfg->max_subchannels > OVB_STORVSP_MAX_SUB ||
	    (cfg->max_version && !ovb_vstor_version_supported(cfg->max_version)) ||
	    (cfg->max_transfer && (cfg->max_transfer % 4096 ||
				   cfg->max_transfer > (2u << 20))) ||
	    cfg->poll_us > SVSP_MAX_POLL_US ||
	    cfg->spin_us > SVSP_MAX_POLL_US)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	if (!c->cfg.max_subchannels && !cfg->ide)
		c->cfg.max_subchannels = SVSP_DEFAULT_SUBS;
	if (cfg->ide)
		c->cfg.max_subchannels = 0;
	if (!c->cfg.max_transfer)
		c->cfg.max_transfer = SVSP_DEFAULT_XFER;
	if (!c->cfg.max_version)
		c->cfg.max_version = VSTOR_PROTO_VERSION_WIN10;
	if (!c->cfg.depth || c->cfg.depth > 256)
		c->cfg.depth = SVSP_DEFAULT_DEPTH;
	c->index = __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED);
	snprintf(c->name, sizeof(c->name), "%s",
		 cfg->name ? cfg->name : "storvsp");
	c->cfg.name = c->name;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

int ovb_storvsp_register(struct ovb_server *srv, struct ovb_storvsp *c)
{
	return ovb_server_register_vsp(srv, &ovb_storvsp_ops, c);
}

void ovb_storvsp_destroy(struct ovb_storvsp *c)
{
	if (!c)
		return;
	for (uint16_t i = 0; i < OVB_STORVSP_MAX_LUNS; i++)
		if (c->luns[i])
			ovb_storvsp_remove_lun(c, i);
	while (c->insts) {
		struct svsp_inst *in = c->insts;

		c->insts = in->next;
		free(in);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void ovb_storvsp_get_stats(struct ovb_storvsp *c, struct ovb_storvsp_stats *st)
{
	uint64_t *dst = (uint64_t *)st;
	const uint64_t *src = (const uint64_t *)&c->st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const char *ovb_storvsp_name(const struct ovb_storvsp *c) { return c->name; }
bool ovb_storvsp_is_ide(const struct ovb_storvsp *c) { return c->cfg.ide; }

/* ---- offers ------------------------------------------------------------- */

static int svsp_partition_add(struct ovb_partition *part, void *vsp_ctx)
{
	struct ovb_storvsp *c = vsp_ctx;
	struct ovb_offer_params p = { 0 };
	struct svsp_inst *in = calloc(1, sizeof(*in));
	int rc;

	if (!in)
		return -ENOMEM;
	in->c = c;
	in->part = part;
	/* A stable instance id: "5707" + flavour + index. */
	p.instance_id.b[8] = 0x57;
	p.instance_id.b[9] = 0x07;
	p.instance_id.b[10] = (uint8_t)c->cfg.ide;
	p.instance_id.b[11] = (uint8_t)c->index;
	if (c->cfg.ide) {
		struct vstor_offer_properties op = { 0 };
		const struct vmbus_guid ide = OVB_STORVSP_IDE_CLASS;

		p.class_id = ide;
		/* Linux reads the IDE location from instance bytes 0-5. */
		p.instance_id.b[0] = (uint8_t)(c->cfg.ide_index / 2);
		p.instance_id.b[4] = (uint8_t)(c->cfg.ide_index % 2);
		op.path_id = (uint8_t)(c->cfg.ide_index / 2);
		op.target_id = (uint8_t)(c->cfg.ide_index % 2);
		op.flags = VSTOR_OFFER_FLAG_IDE_DEVICE;
		memcpy(p.user_defined, &op, sizeof(op));
	} else {
		const struct vmbus_guid scsi = OVB_STORVSP_SCSI_CLASS;

		p.class_id = scsi;
	}
	p.dev_ctx = in;
	rc = ovb_server_offer(part, &ovb_storvsp_ops, &p, &in->dev);
	if (rc) {
		free(in);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	in->next = c->insts;
	c->insts = in;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void svsp_partition_remove(struct ovb_partition *part, void *vsp_ctx)
{
	struct ovb_storvsp *c = vsp_ctx;

	pthread_mutex_lock(&c->lock);
	for (struct svsp_inst **pp = &c->insts; *pp;) {
		struct svsp_inst *in = *pp;

		if (in->part != part) {
			pp = &in->next;
			continue;
		}
		*pp = in->next;
		free(in);
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- channels --------------------------------------------------------------- */

/* Woken by a queue's eventfd or the kick: reap (and clear) them all. */
static void svsp_on_fd(struct ovb_chan *chan, int fd, void *ctx)
{
	struct svsp_chan *ch = ovb_chan_ctx(chan);
	uint64_t v;

	bool kick = read(ch->kickfd, &v, sizeof(v)) == sizeof(v);

	pthread_mutex_lock(&ch->own);
	if (__atomic_exchange_n(&ch->kicked, false, __ATOMIC_ACQ_REL) || kick)
		ovb__svsp_sweep(ch);
	ovb__svsp_reap(ch, true);
	pthread_mutex_unlock(&ch->own);
}

/*
 * After each drained batch: a pending kick, then the batch's SRBs to the
 * backends in one go, then whatever has completed (page-cache hits have,
 * by now).
 */
static void svsp_on_idle(struct ovb_chan *chan, void *ctx)
{
	struct svsp_chan *ch = ovb_chan_ctx(chan);

	pthread_mutex_lock(&ch->own);
	if (__atomic_load_n(&ch->kicked, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&ch->kicked, false, __ATOMIC_ACQ_REL))
		ovb__svsp_sweep(ch);
	ovb__svsp_flush(ch);
	ovb__svsp_reap(ch, false);
	ovb__svsp_account(ch);
	pthread_mutex_unlock(&ch->own);
}

/* The worker's spin (polling mode): completions, or a kick, to handle. */
static bool svsp_on_spin(struct ovb_chan *chan, void *ctx)
{
	struct svsp_chan *ch = ovb_chan_ctx(chan);
	int n;

	pthread_mutex_lock(&ch->own);
	n = ovb__svsp_reap(ch, false);
	pthread_mutex_unlock(&ch->own);
	return n > 0 || __atomic_load_n(&ch->kicked, __ATOMIC_RELAXED);
}

/*
 * Requests to a remote LUN are on their way to its server: the answer
 * comes to the queue, not the ring, so the worker spins for it
 * (ovb_chan_set_busy) rather than be woken on an idle core per batch.
 * An engine whose own threads take the answers and wake us (wakes_owner:
 * RBD) bounds the spin by its busy_max_us: longer waits it ends with a
 * wake-up, and spinning through them only takes the CPU the server needs
 * (docs/remote.md, "RBD: a short spin"); 0: the worker sleeps.
 */
static uint32_t svsp_busy(struct ovb_chan *chan, void *ctx)
{
	struct svsp_chan *ch = ovb_chan_ctx(chan);
	uint32_t want = 0;

	for (unsigned int i = 0; i < ch->qend; i++) {
		const struct ovb_blk *blk;

		if (!ch->q[i].q || !ch->q[i].q->inflight)
			continue;
		blk = ch->q[i].lun->blk;
		if (!blk->remote)
			continue;
		if (!blk->wakes_owner)
			return UINT32_MAX;
		if (blk->busy_max_us > want)
			want = blk->busy_max_us;
	}
	return want;
}

static int svsp_open(struct ovb_vsp_dev *dev, struct ovb_chan *chan,
		     const uint8_t *userdata)
{
	struct svsp_inst *in = ovb_vsp_dev_ctx(dev);
	struct ovb_storvsp *c = in->c;
	struct svsp_chan *ch = calloc(1, sizeof(*ch));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc = -ENOMEM;

	if (!ch)
		return -ENOMEM;
	ch->c = c;
	ch->inst = in;
	ch->chan = chan;
	ch->kickfd = -1;
	pthread_mutex_init(&ch->own, NULL);
	ch->epfd = epoll_create1(EPOLL_CLOEXEC);
	ch->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->epfd < 0 || ch->kickfd < 0)
		goto fail;
	if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->kickfd, &ev) < 0)
		goto fail;
	if ((rc = ovb__svsp_chan_init(ch)) != 0)
		goto fail;
	if ((rc = ovb_chan_add_fd(chan, ch->epfd, svsp_on_fd)) != 0)
		goto fail;
	ovb_chan_set_idle(chan, svsp_on_idle);
	ovb_chan_set_spin(chan, svsp_on_spin);
	if (c->cfg.poll_us)
		ovb_chan_set_poll(chan, c->cfg.poll_us);
	else if (c->cfg.spin_us)
		ovb_chan_set_adaptive_reply(chan, c->cfg.spin_us);
	else if (c->cfg.stream_spin && !svsp_remote_only(c))
		ovb_chan_set_adaptive(chan, true);
	if (!c->cfg.poll_us && !c->cfg.spin_us && c->cfg.stream_spin)
		ovb_chan_set_busy(chan, svsp_busy, SVSP_BUSY_MAX_US);
	ovb_chan_set_ctx(chan, ch);
	pthread_mutex_lock(&c->lock);
	if (ovb_vsp_dev_subidx(dev) == 0) {
		/* A fresh primary starts the init sequence over. */
		in->primary = chan;
		__atomic_store_n(&in->state, SVSP_NEW, __ATOMIC_RELEASE);
		__atomic_store_n(&in->version, VSTOR_PROTO_VERSION_WIN6,
				 __ATOMIC_RELEASE);
	}
	ch->next = c->chans;
	c->chans = ch;
	pthread_mutex_unlock(&c->lock);
	return 0;
fail:
	ovb_warn("%s: cannot open channel %s: %s", c->name,
		 ovb_chan_name(chan), strerror(rc < 0 ? -rc : ENOMEM));
	ovb__svsp_chan_fini(ch);
	if (ch->epfd >= 0)
		close(ch->epfd);
	if (ch->kickfd >= 0)
		close(ch->kickfd);
	pthread_mutex_destroy(&ch->own);
	free(ch);
	return rc < 0 ? rc : -ENOMEM;
}

static void svsp_close(struct ovb_vsp_dev *dev, struct ovb_chan *chan)
{
	struct svsp_chan *ch = ovb_chan_ctx(chan);
	struct ovb_storvsp *c = ch->c;

	pthread_mutex_lock(&c->lock);
	for (struct svsp_chan **pp = &c->chans; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (ch->inst->primary == chan) {
		ch->inst->primary = NULL;
		__atomic_store_n(&ch->inst->state, SVSP_NEW, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
	/* A completion thread in svsp_notify finishes first. */
	pthread_mutex_lock(&ch->own);
	ch->closing = true;
	ovb__svsp_chan_fini(ch);
	pthread_mutex_unlock(&ch->own);
	/* No queue left: nothing calls svsp_notify any more. */
	pthread_mutex_destroy(&ch->own);
	close(ch->epfd);
	close(ch->kickfd);
	free(ch);
}

/* ---- the init sequence -------------------------------------------------------- */

void ovb__svsp_send_reply(struct svsp_chan *ch, uint64_t xid,
			  uint32_t req_len, const uint8_t *buf)
{
	if (!ch->closing)
		ovb_chan_send_comp(ch->chan, xid, buf,
				   ovb_vstor_reply_len(req_len));
}

void ovb__svsp_reply(struct svsp_chan *ch, uint64_t xid, uint32_t req_len,
		     uint32_t status)
{
	uint8_t buf[VSTOR_PACKET_SIZE_WIN8] = { 0 };
	uint16_t v = __atomic_load_n(&ch->inst->version, __ATOMIC_ACQUIRE);
	ssize_t n = ovb_vstor_encode_simple(buf, sizeof(buf), v,
					    VSTOR_OPERATION_COMPLETE_IO, 0,
					    status);

	if (n > 0)
		ovb__svsp_send_reply(ch, xid, req_len, buf);
}

static uint32_t svsp_query_version(struct svsp_chan *ch,
				   const struct ovb_vstor_msg *m)
{
	struct svsp_inst *in = ch->inst;
	uint16_t v = m->version;

	if (!ovb_vstor_version_supported(v) || v > ch->c->cfg.max_version) {
		ovb_info("%s: %s: VSTOR %u.%u refused", ch->c->name,
			 ovb_chan_name(ch->chan), v >> 8, v & 0xff);
		return VSTOR_STATUS_REVISION_MISMATCH;
	}
	/* The answer still goes out at the size the guest asked with. */
	__atomic_store_n(&in->state, SVSP_VERSIONED, __ATOMIC_RELEASE);
	return VSTOR_STATUS_SUCCESS;
}

/* Answer QUERY_PROTOCOL_VERSION, echoing @proposed; on success adopt it. */
static void svsp_version_reply(struct svsp_chan *ch, const struct ovb_pkt *pkt,
			       uint16_t proposed, uint32_t status)
{
	uint8_t buf[VSTOR_PACKET_SIZE_WIN8] = { 0 };
	uint16_t v = __atomic_load_n(&ch->inst->version, __ATOMIC_ACQUIRE);
	ssize_t n = ovb_vstor_encode_version_reply(buf, sizeof(buf), v, status,
						   proposed);

	if (n > 0)
		ovb__svsp_send_reply(ch, pkt->xid, pkt->len, buf);
	if (status == VSTOR_STATUS_SUCCESS)
		__atomic_store_n(&ch->inst->version, proposed,
				 __ATOMIC_RELEASE);
}

static void svsp_properties(struct svsp_chan *ch, uint64_t xid,
			    uint32_t req_len)
{
	struct ovb_storvsp *c = ch->c;
	uint16_t v = __atomic_load_n(&ch->inst->version, __ATOMIC_ACQUIRE);
	struct ovb_vstor_props pr = { .max_transfer_bytes = c->cfg.max_transfer };
	uint8_t buf[VSTOR_PACKET_SIZE_WIN8] = { 0 };
	ssize_t n;

	/* Sub-channels need VMBus 2.4 and VSTOR 5.1 (Linux checks both). */
	if (!c->cfg.ide && v >= VSTOR_PROTO_VERSION_WIN8 &&
	    ovb_partition_version(ch->inst->part) >= VMBUS_VERSION_WIN8 &&
	    c->cfg.max_subchannels) {
		pr.max_channel_count = c->cfg.max_subchannels;
		pr.flags = VSTOR_PROPERTY_SUPPORTS_MULTI_CHANNEL;
	}
	n = ovb_vstor_encode_properties(buf, sizeof(buf), v,
					VSTOR_STATUS_SUCCESS, &pr);
	if (n > 0)
		ovb__svsp_send_reply(ch, xid, req_len, buf);
}

static uint32_t svsp_subchannels(struct svsp_chan *ch, uint16_t count)
{
	struct svsp_inst *in = ch->inst;
	unsigned int max = ch->c->cfg.max_subchannels;
	int n;

	if (ch->c->cfg.ide ||
	    __atomic_load_n(&in->version, __ATOMIC_ACQUIRE) <
		    VSTOR_PROTO_VERSION_WIN8 ||
	    !count || count > max - in->subs) {
		ovb_peer("%s: %s: CREATE_SUB_CHANNELS %u refused (%u of %u "
			 "offered)", ch->c->name, ovb_chan_name(ch->chan),
			 count, in->subs, max);
		return VSTOR_STATUS_INVALID_PARAMETER;
	}
	n = ovb_server_offer_subchannels(in->dev, count);
	if (n < 0) {
		ovb_peer("%s: %s: cannot offer %u sub-channels: %s",
			 ch->c->name, ovb_chan_name(ch->chan), count,
			 strerror(-n));
		return VSTOR_STATUS_INVALID_DEVICE_STATE;
	}
	in->subs += (unsigned int)n;
	return VSTOR_STATUS_SUCCESS;
}

/* Which state an init step needs, and the state it leads to. */
static uint32_t svsp_init_step(struct svsp_chan *ch,
			       const struct ovb_pkt *pkt,
			       const struct ovb_vstor_msg *m)
{
	struct svsp_inst *in = ch->inst;
	int st = __atomic_load_n(&in->state, __ATOMIC_ACQUIRE);

	switch (m->operation) {
	case VSTOR_OPERATION_BEGIN_INITIALIZATION:
		__atomic_store_n(&in->version, VSTOR_PROTO_VERSION_WIN6,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&in->state, SVSP_BEGUN, __ATOMIC_RELEASE);
		return VSTOR_STATUS_SUCCESS;
	case VSTOR_OPERATION_QUERY_PROTOCOL_VERSION:
		if (st != SVSP_BEGUN && st != SVSP_VERSIONED)
			break;
		svsp_version_reply(ch, pkt, m->version,
				   svsp_query_version(ch, m));
		return UINT32_MAX; /* answered */
	case VSTOR_OPERATION_QUERY_PROPERTIES:
		if (st < SVSP_VERSIONED)
			break;
		svsp_properties(ch, pkt->xid, pkt->len);
		return UINT32_MAX;
	case VSTOR_OPERATION_CREATE_SUB_CHANNELS:
		if (st < SVSP_VERSIONED)
			break;
		return svsp_subchannels(ch, m->sub_channel_count);
	case VSTOR_OPERATION_END_INITIALIZATION:
		if (st != SVSP_VERSIONED)
			break;
		__atomic_store_n(&in->state, SVSP_READY, __ATOMIC_RELEASE);
		ovb_info("%s: %s: initialised at VSTOR %u.%u", ch->c->name,
			 ovb_chan_name(ch->chan), in->version >> 8,
			 in->version & 0xff);
		return VSTOR_STATUS_SUCCESS;
	}
	SVSP_STAT(ch->c, bad_packets, 1);
	ovb_peer("%s: %s: VSTOR operation %u out of sequence", ch->c->name,
		 ovb_chan_name(ch->chan), m->operation);
	return VSTOR_STATUS_INVALID_DEVICE_STATE;
}

static uint32_t svsp_reset(struct svsp_chan *ch, uint32_t op)
{
	/*
	 * Commands already handed to the backend cannot be recalled; they
	 * complete on their own.  The reset is acknowledged at once, as
	 * OpenVMM's storvsp does.
	 */
	if (op == VSTOR_OPERATION_RESET_LUN)
		SVSP_STAT(ch->c, reset_lun, 1);
	else if (op == VSTOR_OPERATION_RESET_ADAPTER)
		SVSP_STAT(ch->c, reset_adapter, 1);
	else
		SVSP_STAT(ch->c, reset_bus, 1);
	ovb_info("%s: %s: reset (operation %u)", ch->c->name,
		 ovb_chan_name(ch->chan), op);
	return VSTOR_STATUS_SUCCESS;
}

/* Pre-check what ovb_vstor_parse() only reports as -EBADMSG. */
static const char *svsp_why_bad(const struct ovb_pkt *pkt, uint16_t v)
{
	struct vstor_packet raw = { 0 };

	if (pkt->len < ovb_vstor_packet_size(v))
		return "short packet";
	memcpy(&raw, pkt->data,
	       pkt->len < sizeof(raw) ? pkt->len : sizeof(raw));
	if (!raw.operation || raw.operation > VSTOR_OPERATION_MAX)
		return "unknown operation";
	if (raw.operation == VSTOR_OPERATION_EXECUTE_SRB) {
		if (!raw.vm_srb.cdb_length ||
		    raw.vm_srb.cdb_length > VSTOR_MAX_CDB_LEN)
			return "bad CDB length";
		if (raw.vm_srb.data_in > VSTOR_DATA_UNKNOWN)
			return "bad data direction";
		return "bad sense length";
	}
	return "malformed";
}

static void svsp_recv_locked(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			     struct svsp_chan *ch)
{
	struct ovb_vstor_msg m;
	uint16_t v = __atomic_load_n(&ch->inst->version, __ATOMIC_ACQUIRE);
	uint32_t status;

	if (pkt->type == VM_PKT_COMP)
		return; /* we never ask for completions */
	if (ovb_vstor_parse(pkt->data, pkt->len, v, &m)) {
		struct vstor_packet raw = { 0 };

		memcpy(&raw, pkt->data,
		       pkt->len < sizeof(raw) ? pkt->len : sizeof(raw));
		SVSP_STAT(ch->c, bad_packets, 1);
		ovb_peer("%s: %s: bad VSTOR packet (%s: %u bytes, operation %u)",
			 ch->c->name, ovb_chan_name(chan), svsp_why_bad(pkt, v),
			 pkt->len, raw.operation);
		status = VSTOR_STATUS_INVALID_PARAMETER;
		goto answer;
	}
	if (m.operation == VSTOR_OPERATION_EXECUTE_SRB) {
		ovb__svsp_execute(ch, pkt, &m);
		return;
	}
	if (pkt->type != VM_PKT_DATA_INBAND) {
		SVSP_STAT(ch->c, bad_packets, 1);
		ovb_peer("%s: %s: VSTOR operation %u with a data buffer",
			 ch->c->name, ovb_chan_name(chan), m.operation);
		status = VSTOR_STATUS_INVALID_PARAMETER;
		goto answer;
	}
	switch (m.operation) {
	case VSTOR_OPERATION_BEGIN_INITIALIZATION:
	case VSTOR_OPERATION_QUERY_PROTOCOL_VERSION:
	case VSTOR_OPERATION_QUERY_PROPERTIES:
	case VSTOR_OPERATION_CREATE_SUB_CHANNELS:
	case VSTOR_OPERATION_END_INITIALIZATION:
		if (ovb_chan_subidx(chan)) {
			ovb_peer("%s: %s: init operation %u on a sub-channel",
				 ch->c->name, ovb_chan_name(chan),
				 m.operation);
			status = VSTOR_STATUS_INVALID_DEVICE_REQUEST;
			break;
		}
		status = svsp_init_step(ch, pkt, &m);
		if (status == UINT32_MAX)
			return;
		break;
	case VSTOR_OPERATION_RESET_LUN:
	case VSTOR_OPERATION_RESET_ADAPTER:
	case VSTOR_OPERATION_RESET_BUS:
		status = svsp_reset(ch, m.operation);
		break;
	default:
		SVSP_STAT(ch->c, bad_packets, 1);
		ovb_peer("%s: %s: VSTOR operation %u not supported",
			 ch->c->name, ovb_chan_name(chan), m.operation);
		status = VSTOR_STATUS_INVALID_DEVICE_REQUEST;
	}
answer:
	if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
		ovb__svsp_reply(ch, pkt->xid, pkt->len, status);
}

/* The worker's (or a polling caller's): a packet, under the channel's lock. */
static void svsp_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		      void *ctx)
{
	struct svsp_chan *ch = ctx;

	pthread_mutex_lock(&ch->own);
	svsp_recv_locked(chan, pkt, ch);
	pthread_mutex_unlock(&ch->own);
}

const struct ovb_vsp_ops ovb_storvsp_ops = {
	.name = "storvsp",
	.partition_add = svsp_partition_add,
	.partition_remove = svsp_partition_remove,
	.open = svsp_open,
	.close = svsp_close,
	.recv = svsp_recv,
};
