// SPDX-License-Identifier: MIT
/*
 * storvsc, control side: the SCSI and IDE drivers.  Probe opens the
 * primary channel, runs the VSTOR init sequence newest version first
 * (BEGIN_INIT, QUERY_PROTOCOL_VERSION down the list on REVISION_MISMATCH,
 * QUERY_PROPERTIES, END_INIT) and scans the LUNs (REPORT LUNS, INQUIRY,
 * READ CAPACITY(16)/(10), MODE SENSE for write protect).  A service thread
 * per controller asks for sub-channels once the driver is bound (as Linux
 * does, after END_INIT), rescans on ENUMERATE_BUS, escalates timeouts and
 * resends BUSY requests.  Layer: devices (storage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/byteorder.h"
#include "openvmbus/client.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "storage/storvsc_priv.h"

#define SVSC_DEFAULT_RING (256u << 10)
#define SVSC_INIT_TIMEOUT 10000

static pthread_mutex_t svsc_set_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- one init step: a tracked in-band packet and its answer ------------ */

/*
 * Send @pkt (@len bytes) on @chan and wait for its COMPLETE_IO, decoded
 * into @m (at the short size, which every answer has).  Returns 0 or
 * -errno.
 */
static int svsc_call(struct ovb_storvsc *s, struct ovb_chan *chan,
		     const void *pkt, size_t len, struct ovb_vstor_msg *m)
{
	struct ovb_send snd = { .data = pkt, .len = len };
	uint8_t reply[VSTOR_PACKET_SIZE_WIN8];
	size_t got;
	int rc;

	rc = ovb_chan_call(chan, &snd, reply, sizeof(reply), &got,
			   SVSC_INIT_TIMEOUT, false);
	if (rc == -ETIMEDOUT)
		ovb_warn("%s: no answer to an init step", s->name);
	if (rc)
		return rc;
	rc = ovb_vstor_parse(reply, got < sizeof(reply) ? got : sizeof(reply),
			     VSTOR_PROTO_VERSION_WIN6, m)
		     ? -EBADMSG
		     : 0;
	if (!rc && m->operation != VSTOR_OPERATION_COMPLETE_IO)
		rc = -EBADMSG;
	if (rc == -EBADMSG)
		ovb_peer("%s: malformed answer to an init step (%zu bytes)",
			 s->name, got);
	return rc;
}

/* A packet-less init step at @version; 0, -EIO (refused) or -errno. */
static int svsc_simple(struct ovb_storvsc *s, uint32_t op, uint16_t version,
		       struct ovb_vstor_msg *m)
{
	uint8_t pkt[VSTOR_PACKET_SIZE_WIN8];
	ssize_t n = ovb_vstor_encode_simple(pkt, sizeof(pkt), version, op,
					    VSTOR_FLAG_REQUEST_COMPLETION, 0);
	int rc;

	if (n < 0)
		return (int)n;
	rc = svsc_call(s, s->ch[0].chan, pkt, (size_t)n, m);
	if (!rc && m->status != VSTOR_STATUS_SUCCESS) {
		ovb_peer("%s: VSTOR operation %u refused: status 0x%08x",
			 s->name, op, m->status);
		rc = -EIO;
	}
	return rc;
}

static int svsc_init(struct ovb_storvsc *s)
{
	uint16_t v = s->set->cfg.max_version;
	uint8_t pkt[VSTOR_PACKET_SIZE_WIN8];
	struct ovb_vstor_msg m;
	int rc;

	if (!v || !ovb_vstor_version_supported(v))
		v = ovb_vstor_version_list(NULL)[0];
	if ((rc = svsc_simple(s, VSTOR_OPERATION_BEGIN_INITIALIZATION,
			      VSTOR_PROTO_VERSION_WIN6, &m)))
		return rc;
	for (; v; v = ovb_vstor_version_next(v)) {
		ssize_t n = ovb_vstor_encode_version(pkt, sizeof(pkt),
						     VSTOR_PROTO_VERSION_WIN6,
						     v);

		if (n < 0)
			return (int)n;
		rc = svsc_call(s, s->ch[0].chan, pkt, (size_t)n, &m);
		if (rc)
			return rc;
		if (m.status == VSTOR_STATUS_SUCCESS)
			break;
		if (m.status != VSTOR_STATUS_REVISION_MISMATCH) {
			ovb_peer("%s: QUERY_PROTOCOL_VERSION: status 0x%08x",
				 s->name, m.status);
			return -EIO;
		}
	}
	if (!v) {
		ovb_warn("%s: the host takes no VSTOR version we speak",
			 s->name);
		return -EPROTONOSUPPORT;
	}
	s->version = v;
	if ((rc = svsc_simple(s, VSTOR_OPERATION_QUERY_PROPERTIES, v, &m)))
		return rc;
	s->props = m.props;
	s->max_xfer = m.props.max_transfer_bytes;
	if (s->max_xfer > SVSC_MAX_XFER)
		s->max_xfer = SVSC_MAX_XFER;
	if (s->max_xfer < 4096)
		s->max_xfer = 64u << 10;
	s->max_xfer &= ~4095u;
	if ((rc = svsc_simple(s, VSTOR_OPERATION_END_INITIALIZATION, v, &m)))
		return rc;
	if (!s->ide && v >= VSTOR_PROTO_VERSION_WIN8 &&
	    (s->props.flags & VSTOR_PROPERTY_SUPPORTS_MULTI_CHANNEL) &&
	    ovb_client_version(s->cl) >= VMBUS_VERSION_WIN8) {
		unsigned int want = s->set->cfg.subchannels;

		if (want > s->props.max_channel_count)
			want = s->props.max_channel_count;
		if (want > SVSC_MAX_CH - 1)
			want = SVSC_MAX_CH - 1;
		s->subs_wanted = want;
	}
	s->subs_known = !s->subs_wanted;
	return 0;
}

/* Ask for sub-channels (service thread, once the driver is bound). */
static void svsc_ask_subchannels(struct ovb_storvsc *s)
{
	uint8_t pkt[VSTOR_PACKET_SIZE_WIN8];
	struct ovb_vstor_msg m;
	ssize_t n;
	int rc;

	n = ovb_vstor_encode_subchannels(pkt, sizeof(pkt), s->version,
					 (uint16_t)s->subs_wanted);
	if (n < 0)
		return;
	pthread_rwlock_rdlock(&s->chlock);
	rc = s->nch ? svsc_call(s, s->ch[0].chan, pkt, (size_t)n, &m)
		    : -ECONNRESET;
	pthread_rwlock_unlock(&s->chlock);
	if (!rc && m.status != VSTOR_STATUS_SUCCESS)
		rc = -EIO;
	if (rc)
		ovb_warn("%s: CREATE_SUB_CHANNELS %u failed: %s", s->name,
			 s->subs_wanted, strerror(-rc));
	/*
	 * Success grants what we asked for (Linux handle_multichannel_storage
	 * reads only the status; our storvsp and OpenVMM's answer no count).
	 * A host that does name a smaller count offers only that many.
	 */
	pthread_mutex_lock(&s->lock);
	s->subs_granted = rc ? 0 : s->subs_wanted;
	if (!rc && m.sub_channel_count && m.sub_channel_count < s->subs_wanted)
		s->subs_granted = m.sub_channel_count;
	s->subs_known = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* True once the client marked our primary bound (probe returned 0). */
static bool svsc_bound(struct ovb_storvsc *s)
{
	uint32_t relid = ovb_vsc_dev_offer(s->dev)->child_relid;
	struct ovb_offer_info *info = calloc(256, sizeof(*info));
	size_t n;
	bool bound = false;

	if (!info)
		return false;
	n = ovb_client_offers(s->cl, info, 256);
	for (size_t i = 0; i < n && i < 256; i++)
		if (info[i].relid == relid && info[i].driver)
			bound = true;
	free(info);
	return bound;
}

/* ---- LUN scan ------------------------------------------------------------- */

bool ovb__svsc_lun(struct ovb_storvsc *s, uint16_t lun,
		   struct ovb_storvsc_lun *out)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nluns; i++)
		if (s->luns[i].lun == lun) {
			*out = s->luns[i];
			found = true;
		}
	pthread_mutex_unlock(&s->lock);
	return found;
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	for (size_t i = n; i > 0 && (dst[i - 1] == ' ' || !dst[i - 1]); i--)
		dst[i - 1] = 0;
	for (size_t i = 0; i < n; i++)
		if (dst[i] && (dst[i] < 0x20 || dst[i] > 0x7e))
			dst[i] = '?';
}

/* Describe LUN @lun into @l; 0, or -ENXIO when nothing is there. */
static int svsc_probe_lun(struct ovb_storvsc *s, uint16_t lun,
			  struct ovb_storvsc_lun *l)
{
	uint8_t *b = s->scratch;
	uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 96, 0 };
	uint8_t vpd[6] = { SCSI_INQUIRY, SCSI_INQUIRY_EVPD,
			   SCSI_VPD_UNIT_SERIAL, 0, 64, 0 };
	uint8_t rc16[16] = { SCSI_SERVICE_ACTION_IN_16,
			     SCSI_SAI_READ_CAPACITY_16 };
	uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
	uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0, SCSI_MODE_PAGE_ALL, 0, 192, 0 };
	int64_t n;

	memset(l, 0, sizeof(*l));
	l->path = s->path;
	l->target = s->target;
	l->lun = lun;
	memset(b, 0, 96);
	n = ovb__svsc_srb_sync(s, lun, inq, 6, VSTOR_DATA_READ, b, 96);
	if (n < 0)
		return (int)n;
	if (n < 32 || (b[0] & 0xe0) || (b[0] & 0x1f) != SCSI_PDT_DISK)
		return -ENXIO;
	copy_str(l->vendor, b + 8, 8);
	copy_str(l->product, b + 16, 16);
	memset(b, 0, 64);
	n = ovb__svsc_srb_sync(s, lun, vpd, 6, VSTOR_DATA_READ, b, 64);
	if (n > 4 && b[1] == SCSI_VPD_UNIT_SERIAL) {
		size_t len = b[3] < n - 4 ? b[3] : (size_t)n - 4;

		copy_str(l->serial, b + 4, len < 63 ? len : 63);
	}
	rc16[13] = SCSI_RC16_LEN;
	memset(b, 0, SCSI_RC16_LEN);
	n = ovb__svsc_srb_sync(s, lun, rc16, 16, VSTOR_DATA_READ, b,
			       SCSI_RC16_LEN);
	if (n >= 12) {
		l->blocks = ovb_get_be64(b) + 1;
		l->block_size = ovb_get_be32(b + 8);
		/* Discard here promises zeros (FUSE PUNCH_HOLE): an UNMAP
		 * that may leave data behind (no LBPRZ) does not count. */
		l->can_discard = n > 14 && (b[14] & SCSI_RC16_LBPME) &&
				 (b[14] & SCSI_RC16_LBPRZ);
	} else {
		n = ovb__svsc_srb_sync(s, lun, rc10, 10, VSTOR_DATA_READ, b, 8);
		if (n < 8)
			return n < 0 ? (int)n : -EIO;
		l->blocks = (uint64_t)ovb_get_be32(b) + 1;
		l->block_size = ovb_get_be32(b + 4);
	}
	if (l->block_size != 512 && l->block_size != 4096) {
		ovb_peer("%s: LUN %u: block size %u not supported", s->name,
			 lun, l->block_size);
		return -EIO;
	}
	memset(b, 0, 192);
	n = ovb__svsc_srb_sync(s, lun, ms, 6, VSTOR_DATA_READ, b, 192);
	l->read_only = n >= 4 && (b[2] & SCSI_MODE_DEVSPEC_WP);
	return 0;
}

/* Rescan; returns true when the LUN set changed. */
static bool svsc_scan(struct ovb_storvsc *s)
{
	uint8_t rl[12] = { SCSI_REPORT_LUNS };
	struct ovb_storvsc_lun *found = calloc(SVSC_MAX_LUNS, sizeof(*found));
	uint16_t list[SVSC_MAX_LUNS];
	size_t nlist = 0, nfound = 0;
	bool changed;
	int64_t n;

	if (!found)
		return false;
	pthread_mutex_lock(&s->scan_lock);
	rl[8] = (8 + 8 * SVSC_MAX_LUNS) >> 8;
	rl[9] = (uint8_t)(8 + 8 * SVSC_MAX_LUNS);
	n = ovb__svsc_srb_sync(s, 0, rl, 12, VSTOR_DATA_READ, s->scratch,
			       8 + 8 * SVSC_MAX_LUNS);
	if (n >= 8) {
		uint32_t bytes = ovb_get_be32(s->scratch);

		for (uint32_t off = 8; off + 8 <= bytes + 8 && off + 8 <= n &&
				       nlist < SVSC_MAX_LUNS;
		     off += 8) {
			const uint8_t *e = s->scratch + off;
			/* Peripheral (0x00) or flat (0x40) addressing. */
			uint16_t lun = (uint16_t)((e[0] & 0x3f) << 8 | e[1]);

			if (lun < SVSC_MAX_LUNS)
				list[nlist++] = lun;
		}
	} else if (s->ide || n == -ECONNRESET) {
		list[nlist++] = 0;
	}
	for (size_t i = 0; i < nlist; i++)
		if (!svsc_probe_lun(s, list[i], &found[nfound]))
			nfound++;
	pthread_mutex_unlock(&s->scan_lock);
	pthread_mutex_lock(&s->lock);
	changed = nfound != s->nluns ||
		  memcmp(found, s->luns, nfound * sizeof(*found));
	memcpy(s->luns, found, nfound * sizeof(*found));
	s->nluns = nfound;
	pthread_mutex_unlock(&s->lock);
	free(found);
	return changed;
}

/* ---- service thread ---------------------------------------------------------- */

void ovb__svsc_kick(struct ovb_storvsc *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *svsc_main(void *arg)
{
	struct ovb_storvsc *s = arg;
	bool asked = !s->subs_wanted;
	int bound_checks = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct timespec dl;
		long step_ms = s->retry ? 2 : asked ? 50 : 5;

		ovb_deadline_ms(&dl, step_ms);
		if (!s->rescan && !s->retry)
			ovb_cond_timedwait(&s->cond, &s->lock, &dl);
		if (s->stop)
			break;
		bool rescan = s->rescan;

		s->rescan = false;
		pthread_mutex_unlock(&s->lock);
		if (!asked && (svsc_bound(s) || ++bound_checks > 2000)) {
			asked = true;
			svsc_ask_subchannels(s);
		}
		ovb__svsc_service(s);
		if (rescan && svsc_scan(s) && s->set->on_change)
			s->set->on_change(s, s->set->ctx);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- the drivers ----------------------------------------------------------- */

static void svsc_free(struct ovb_storvsc *s)
{
	if (s->scratch)
		ovb_client_free(s->cl, s->scratch, SVSC_SCRATCH);
	pthread_rwlock_destroy(&s->chlock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->scan_lock);
	free(s);
}

static int svsc_open_chan(struct ovb_storvsc *s, struct ovb_vsc_dev *dev,
			  struct ovb_chan **chan)
{
	struct ovb_vsc_open_params p = { 0 };
	uint32_t ring = s->set->cfg.ring_bytes ? s->set->cfg.ring_bytes
					       : SVSC_DEFAULT_RING;

	int rc;

	p.out_ring = p.in_ring = (ring + 4095) & ~4095u;
	p.recv = ovb__svsc_recv;
	p.ctx = s;
	rc = ovb_vsc_open(dev, &p, chan);
	if (rc)
		return rc;
	/* SRBs resubmitted from done() go out once per drained batch. */
	ovb_chan_set_reply_batch(*chan, true);
	if (s->set->cfg.poll_us)
		ovb_chan_set_poll(*chan, s->set->cfg.poll_us);
	return 0;
}

static void svsc_set_add(struct ovb_storvsc_set *set, struct ovb_storvsc *s)
{
	unsigned int same = 0;

	pthread_mutex_lock(&svsc_set_lock);
	for (unsigned int i = 0; i < set->n; i++)
		if (set->ctl[i] && set->ctl[i]->ide == s->ide)
			same++;
	snprintf(s->name, sizeof(s->name), "%s%u", s->ide ? "ide" : "scsi",
		 same);
	set->ctl[set->n++] = s;
	pthread_mutex_unlock(&svsc_set_lock);
}

static void svsc_set_del(struct ovb_storvsc_set *set, struct ovb_storvsc *s)
{
	pthread_mutex_lock(&svsc_set_lock);
	for (unsigned int i = 0; i < set->n; i++)
		if (set->ctl[i] == s) {
			memmove(&set->ctl[i], &set->ctl[i + 1],
				(set->n - i - 1) * sizeof(set->ctl[0]));
			set->n--;
			break;
		}
	pthread_mutex_unlock(&svsc_set_lock);
}

static int svsc_probe(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_storvsc_set *set = drv_ctx;
	const struct vmbus_channel_offer_channel *o = ovb_vsc_dev_offer(dev);
	const struct vmbus_guid ide = VSTOR_IDE_CLASS_GUID;
	struct ovb_storvsc *s;
	uint64_t gpa;
	int rc;

	if (set->n >= OVB_STORVSC_MAX)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->refs = 1;
	s->set = set;
	s->dev = dev;
	s->cl = ovb_vsc_dev_client(dev);
	s->gm = ovb_client_gmem(s->cl);
	s->ide = !memcmp(&o->if_type, &ide, sizeof(ide));
	s->version = VSTOR_PROTO_VERSION_WIN6;
	s->timeout_ms = set->cfg.timeout_ms > 0 ? set->cfg.timeout_ms : 30000;
	if (s->ide) {
		/* Linux: path from instance bytes 0-3, target from 4-5. */
		s->path = o->if_instance.b[0];
		s->target = o->if_instance.b[4];
	}
	s->pending.next = s->pending.prev = &s->pending;
	pthread_rwlock_init(&s->chlock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	ovb_cond_init(&s->cond);
	pthread_mutex_init(&s->scan_lock, NULL);
	svsc_set_add(set, s);
	s->ch[0].dev = dev;
	if ((rc = svsc_open_chan(s, dev, &s->ch[0].chan)))
		goto err_open;
	s->nch = 1;
	ovb_vsc_dev_set_ctx(dev, s);
	if ((rc = svsc_init(s)))
		goto err_init;
	if ((rc = ovb_client_alloc(s->cl, SVSC_SCRATCH, (void **)&s->scratch,
				   &gpa)))
		goto err_init;
	/* The service thread first: it times out what the scan sends. */
	if ((rc = -pthread_create(&s->thread, NULL, svsc_main, s)))
		goto err_init;
	s->thread_started = true;
	svsc_scan(s);
	ovb_info("%s: VSTOR %u.%u, %zu LUNs, max transfer %u", s->name,
		 s->version >> 8, s->version & 0xff, s->nluns, s->max_xfer);
	return 0;
err_init:
	ovb_warn("%s: initialisation failed: %s", s->name, strerror(-rc));
	ovb_vsc_dev_set_ctx(dev, NULL);
	pthread_rwlock_wrlock(&s->chlock);
	s->nch = 0;
	pthread_rwlock_unlock(&s->chlock);
	ovb_vsc_close(dev);
err_open:
	svsc_set_del(set, s);
	svsc_free(s);
	return rc;
}

static void svsc_subchannel(struct ovb_vsc_dev *primary,
			    struct ovb_vsc_dev *sub, void *drv_ctx)
{
	struct ovb_storvsc *s = ovb_vsc_dev_get_ctx(primary);
	struct ovb_chan *chan;
	int rc;

	if (!s)
		return;
	/* Connect and the work thread may both report it: claim it once. */
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nclaimed; i++)
		if (s->claimed[i] == sub) {
			pthread_mutex_unlock(&s->lock);
			return;
		}
	if (s->dead || s->nclaimed == SVSC_MAX_CH - 1) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->claimed[s->nclaimed++] = sub;
	pthread_mutex_unlock(&s->lock);
	rc = svsc_open_chan(s, sub, &chan);
	if (rc) {
		ovb_warn("%s: cannot open sub-channel %u: %s", s->name,
			 ovb_vsc_dev_offer(sub)->sub_channel_index,
			 strerror(-rc));
		return;
	}
	ovb_vsc_dev_set_ctx(sub, s);
	pthread_rwlock_wrlock(&s->chlock);
	s->ch[s->nch].dev = sub;
	s->ch[s->nch].chan = chan;
	s->nch++;
	pthread_rwlock_unlock(&s->chlock);
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond); /* ovb_storvsc_wait_channels */
	pthread_mutex_unlock(&s->lock);
	ovb_info("%s: sub-channel %u open", s->name,
		 ovb_vsc_dev_offer(sub)->sub_channel_index);
}

static void svsc_remove_sub(struct ovb_storvsc *s, struct ovb_vsc_dev *dev)
{
	pthread_rwlock_wrlock(&s->chlock);
	for (unsigned int i = 1; i < s->nch; i++)
		if (s->ch[i].dev == dev) {
			memmove(&s->ch[i], &s->ch[i + 1],
				(s->nch - i - 1) * sizeof(s->ch[0]));
			s->nch--;
			break;
		}
	pthread_rwlock_unlock(&s->chlock);
	ovb_vsc_dev_set_ctx(dev, NULL);
	ovb_vsc_close(dev);
}

static void svsc_remove(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_storvsc *s = ovb_vsc_dev_get_ctx(dev);

	if (!s)
		return;
	if (ovb_vsc_dev_offer(dev)->sub_channel_index) {
		svsc_remove_sub(s, dev);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->dead = true;
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	ovb__svsc_fail_retries(s);
	pthread_rwlock_wrlock(&s->chlock);
	while (s->nch > 1) {
		struct ovb_vsc_dev *sub = s->ch[--s->nch].dev;

		ovb_vsc_dev_set_ctx(sub, NULL);
		ovb_vsc_close(sub);
	}
	s->nch = 0;
	pthread_rwlock_unlock(&s->chlock);
	ovb_vsc_dev_set_ctx(dev, NULL);
	/* Tracked requests complete with -ECONNRESET as the channel closes. */
	ovb_vsc_close(dev);
	ovb__svsc_fail_retries(s);
	svsc_set_del(s->set, s);
	if (s->set->on_change)
		s->set->on_change(s, s->set->ctx);
	ovb_storvsc_put(s); /* freed here unless an application holds it */
}

const struct ovb_vsc_driver ovb_storvsc_scsi_driver = {
	.name = "storvsc",
	.class_id = VSTOR_SCSI_CLASS_GUID,
	.probe = svsc_probe,
	.remove = svsc_remove,
	.subchannel = svsc_subchannel,
};

const struct ovb_vsc_driver ovb_storvsc_ide_driver = {
	.name = "storvsc-ide",
	.class_id = VSTOR_IDE_CLASS_GUID,
	.probe = svsc_probe,
	.remove = svsc_remove,
	.subchannel = svsc_subchannel,
};

/* ---- accessors -------------------------------------------------------------- */

const char *ovb_storvsc_name(const struct ovb_storvsc *s) { return s->name; }
bool ovb_storvsc_is_ide(const struct ovb_storvsc *s) { return s->ide; }
uint16_t ovb_storvsc_version(const struct ovb_storvsc *s) { return s->version; }

bool ovb_storvsc_failed(struct ovb_storvsc *s)
{
	bool dead;

	pthread_rwlock_rdlock(&s->chlock);
	dead = __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) || !s->nch ||
	       ovb_chan_is_dead(s->ch[0].chan);
	pthread_rwlock_unlock(&s->chlock);
	return dead;
}

unsigned int ovb_storvsc_channels(const struct ovb_storvsc *s)
{
	return __atomic_load_n(&s->nch, __ATOMIC_ACQUIRE);
}

int ovb_storvsc_wait_channels(struct ovb_storvsc *s, int timeout_ms,
			      unsigned int *expect)
{
	struct timespec dl;
	unsigned int want = 0, n = 0;
	int rc = 0;

	ovb_deadline_ms(&dl, timeout_ms);
	pthread_mutex_lock(&s->lock);
	/* The sub-channel opener and the answer broadcast under s->lock. */
	while (!s->dead) {
		want = s->subs_known ? 1 + s->subs_granted : 0;
		n = ovb_storvsc_channels(s);
		if ((want && n >= want) || rc)
			break;
		rc = ovb_cond_timedwait(&s->cond, &s->lock, &dl);
	}
	if (s->dead)
		rc = -ECONNRESET;
	else if (want && n >= want)
		rc = (int)n;
	pthread_mutex_unlock(&s->lock);
	if (expect)
		*expect = want;
	return rc;
}

size_t ovb_storvsc_luns(struct ovb_storvsc *s, struct ovb_storvsc_lun *out,
			size_t max)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nluns;
	memcpy(out, s->luns, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&s->lock);
	return n;
}

int ovb_storvsc_get(struct ovb_storvsc_set *set, unsigned int i,
		    struct ovb_storvsc **out)
{
	int rc = -ENODEV;

	/* svsc_set_del takes the controller out under this lock before
	 * dropping the driver's reference: a controller found here has one. */
	pthread_mutex_lock(&svsc_set_lock);
	if (i < set->n && set->ctl[i]) {
		*out = set->ctl[i];
		__atomic_fetch_add(&(*out)->refs, 1, __ATOMIC_RELAXED);
		rc = 0;
	}
	pthread_mutex_unlock(&svsc_set_lock);
	return rc;
}

void ovb_storvsc_hold(struct ovb_storvsc *s)
{
	/* The caller holds one already: the count cannot be 0 here. */
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
}

void ovb_storvsc_put(struct ovb_storvsc *s)
{
	/* Acquire-release: the last holder sees every write of the others. */
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		svsc_free(s);
}

void *ovb_storvsc_alloc(struct ovb_storvsc *s, size_t len)
{
	void *p = NULL;
	uint64_t gpa;

	if (ovb_client_alloc(s->cl, len, &p, &gpa))
		return NULL;
	return p;
}

void ovb_storvsc_free(struct ovb_storvsc *s, void *buf, size_t len)
{
	ovb_client_free(s->cl, buf, len);
}

uint64_t ovb_storvsc_max_transfer(const struct ovb_storvsc *s)
{
	return s->max_xfer;
}
