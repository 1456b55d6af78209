// SPDX-License-Identifier: MIT
/*
 * The server's capture (include/openvmbus/capture.h): the hooks that see
 * every channel message (ovb__srv_send, ovb_server_post_message) and every
 * ring packet of the host's channels (chan_io.c), turned into capture
 * records with the partition, relid, sub-channel index, direction and
 * device class, plus the guest memory their ranges name.  Layer: bus.
 *
 * Lifetime contract: a producer announces itself in cap_users before it
 * loads cap_cur (both sequentially consistent); stop clears cap_cur and
 * then waits for cap_users to reach 0 before it closes the capture.  So a
 * producer that saw the capture finishes with it before it is freed, and
 * one that comes later sees NULL.
 *
 * Transfer pages name offsets in a buffer the guest gave the device in
 * its own protocol, which the channel does not know.  We learn the two
 * kinds openvmbus serves by reading the guest's request as it passes:
 * NVSP SEND_RECEIVE_BUFFER (GPADL and pageset id) on a synthetic NIC and
 * ECHO_OP_SET_BUFFER on the echo device, and keep a copy of that GPADL's
 * PFNs.  A capture started after the buffer was set up marks those
 * packets OVB_CAP_F_DATA_UNKNOWN.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/capture_hook.h"
#include "bus/server_priv.h"
#include "openvmbus/capture.h"
#include "openvmbus/log.h"
#include "openvmbus/wire/echo.h"
#include "openvmbus/wire/nvsp.h"

#define CAP_MAX_IOV 64
#define CAP_MAX_PAGESETS 64

int ovb__capture_on;

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static struct ovb_capture *cap_cur;   /* atomic */
static struct ovb_server *cap_srv;    /* atomic */
static int cap_users;                 /* atomic */

/* Pageset ids at or above this are send buffers (NVSP id | SEND_BUF). */
#define CAP_SEND_BUF 0x10000u

struct cap_pageset {
	unsigned int part_id;
	uint32_t relid; /* the primary's */
	uint32_t id;    /* transfer pageset id, or CAP_SEND_BUF | NVSP id */
	uint32_t section_size; /* send buffers: from the host's completion */
	uint32_t byte_offset;
	uint32_t npfns;
	uint64_t *pfns;
};

static pthread_mutex_t ps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cap_pageset pagesets[CAP_MAX_PAGESETS];
static unsigned int ps_victim; /* next slot to reuse when all are taken */

static const struct vmbus_guid nic_class = { {
	0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } };
static const struct vmbus_guid echo_class = ECHO_CLASS_GUID;

/* ---- lifetime ------------------------------------------------------------ */

static void cap_leave(void)
{
	__atomic_fetch_sub(&cap_users, 1, __ATOMIC_SEQ_CST);
}

/* The capture that wants @part's traffic, or NULL; cap_leave() after. */
static struct ovb_capture *cap_enter(const struct ovb_partition *part)
{
	struct ovb_capture *cap;
	const char *only;

	__atomic_fetch_add(&cap_users, 1, __ATOMIC_SEQ_CST);
	cap = __atomic_load_n(&cap_cur, __ATOMIC_SEQ_CST);
	if (cap && __atomic_load_n(&cap_srv, __ATOMIC_RELAXED) == part->srv) {
		only = ovb_capture_partition(cap);
		if (!only || !strcmp(only, part->name))
			return cap;
	}
	cap_leave();
	return NULL;
}

int ovb_server_capture_start(struct ovb_server *srv, const char *path,
			     const struct ovb_capture_cfg *cfg)
{
	struct ovb_capture *cap;
	int rc;

	pthread_mutex_lock(&cap_lock);
	if (__atomic_load_n(&cap_cur, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&cap_lock);
		return -EBUSY;
	}
	rc = ovb_capture_open(path, cfg, &cap);
	if (!rc) {
		__atomic_store_n(&cap_srv, srv, __ATOMIC_RELAXED);
		__atomic_store_n(&cap_cur, cap, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ovb__capture_on, 1, __ATOMIC_RELAXED);
		ovb_info("capture to %s started (snap length %u)", path,
			 ovb_capture_snaplen(cap));
	}
	pthread_mutex_unlock(&cap_lock);
	return rc;
}

int ovb_server_capture_stop(struct ovb_server *srv,
			    struct ovb_capture_stats *st)
{
	struct timespec ts = { 0, 100 * 1000 };
	struct ovb_capture *cap;
	int rc;

	pthread_mutex_lock(&cap_lock);
	cap = __atomic_load_n(&cap_cur, __ATOMIC_RELAXED);
	if (!cap || __atomic_load_n(&cap_srv, __ATOMIC_RELAXED) != srv) {
		pthread_mutex_unlock(&cap_lock);
		return -ENOENT;
	}
	__atomic_store_n(&ovb__capture_on, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&cap_cur, NULL, __ATOMIC_SEQ_CST);
	/* Pairs with cap_enter(): producers that saw @cap are counted. */
	while (__atomic_load_n(&cap_users, __ATOMIC_SEQ_CST))
		nanosleep(&ts, NULL);
	__atomic_store_n(&cap_srv, NULL, __ATOMIC_RELAXED);
	pthread_mutex_lock(&ps_lock);
	for (unsigned int i = 0; i < CAP_MAX_PAGESETS; i++) {
		free(pagesets[i].pfns);
		pagesets[i] = (struct cap_pageset){ 0 };
	}
	pthread_mutex_unlock(&ps_lock);
	rc = ovb_capture_close(cap, st);
	pthread_mutex_unlock(&cap_lock);
	ovb_info("capture stopped");
	return rc;
}

void ovb__cap_server_gone(struct ovb_server *srv)
{
	ovb_server_capture_stop(srv, NULL);
}

/* ---- channel messages ---------------------------------------------------- */

/* The relid a message is about: most carry it right after the header. */
static uint32_t msg_relid(const uint8_t *m, size_t len, uint16_t *subidx)
{
	uint32_t type, relid = 0;

	if (len < 12)
		return 0;
	memcpy(&type, m, 4);
	switch (type) {
	case CHANNELMSG_OFFERCHANNEL:
		if (len >= 188) {
			memcpy(&relid, m + 184, 4);
			memcpy(subidx, m + 180, 2);
		}
		return relid;
	case CHANNELMSG_RESCIND_CHANNELOFFER:
	case CHANNELMSG_OPENCHANNEL:
	case CHANNELMSG_OPENCHANNEL_RESULT:
	case CHANNELMSG_CLOSECHANNEL:
	case CHANNELMSG_GPADL_HEADER:
	case CHANNELMSG_GPADL_CREATED:
	case CHANNELMSG_GPADL_TEARDOWN:
	case CHANNELMSG_RELID_RELEASED:
	case CHANNELMSG_OPEN_RESERVED_CHANNEL:
	case CHANNELMSG_CLOSE_RESERVED_CHANNEL:
	case CHANNELMSG_CLOSE_RESERVED_RESPONSE:
	case CHANNELMSG_MODIFYCHANNEL:
	case CHANNELMSG_MODIFYCHANNEL_RESPONSE:
		memcpy(&relid, m + 8, 4);
		return relid;
	default:
		return 0;
	}
}

void ovb__cap_msg(struct ovb_partition *part, int dir, const void *msg,
		  size_t len)
{
	struct ovb_cap_hdr h = { .kind = OVB_CAP_MESSAGE, .dir = (uint8_t)dir };
	struct iovec iov = { (void *)msg, len };
	struct ovb_capture *cap = cap_enter(part);
	uint32_t type = 0;
	uint16_t subidx = 0;

	if (!cap)
		return;
	h.partition_id = part->id;
	h.relid = msg_relid(msg, len, &subidx);
	h.subidx = subidx; /* h is packed: no pointer into it */
	if (len >= 24)
		memcpy(&type, msg, 4);
	if (len >= 24 && type == CHANNELMSG_OFFERCHANNEL)
		memcpy(&h.class_id, (const uint8_t *)msg + 8, 16);
	ovb_capture_record(cap, &h, part->name, &iov, 1, NULL, 0);
	cap_leave();
}

/* ---- referenced guest memory --------------------------------------------- */

struct cap_data {
	struct iovec iov[CAP_MAX_IOV];
	int n;
	uint32_t budget; /* snap length left */
	uint64_t orig;   /* bytes the ranges name */
	uint16_t flags;
};

/*
 * Append @count bytes starting @start bytes into the page list @pfns, up
 * to the snap length.  Pages outside guest memory end the data.
 */
static void data_add(struct cap_data *d, const struct ovb_gmem *gm,
		     const uint64_t *pfns, uint32_t npfns, uint64_t start,
		     uint32_t count)
{
	d->orig += count;
	while (count && d->budget) {
		uint64_t page = start / HV_PAGE_SIZE;
		uint32_t off = (uint32_t)(start % HV_PAGE_SIZE);
		uint32_t chunk = HV_PAGE_SIZE - off;
		void *p;

		if (chunk > count)
			chunk = count;
		if (chunk > d->budget)
			chunk = d->budget;
		if (page >= npfns || d->n == CAP_MAX_IOV ||
		    !(p = ovb_gmem_ptr(gm, pfns[page] * HV_PAGE_SIZE + off,
				       chunk))) {
			d->flags |= OVB_CAP_F_DATA_CUT;
			d->budget = 0;
			return;
		}
		d->iov[d->n++] = (struct iovec){ p, chunk };
		d->budget -= chunk;
		count -= chunk;
		start += chunk;
	}
	if (count)
		d->flags |= OVB_CAP_F_DATA_CUT;
}

static void data_gpa(struct cap_data *d, const struct ovb_gmem *gm,
		     const struct ovb_gpa_range *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		data_add(d, gm, r[i].pfns, r[i].npfns, r[i].byte_offset,
			 r[i].byte_count);
}

static struct cap_pageset *pageset_find(unsigned int part_id, uint32_t relid,
					uint32_t id)
{
	for (unsigned int i = 0; i < CAP_MAX_PAGESETS; i++)
		if (pagesets[i].pfns && pagesets[i].part_id == part_id &&
		    pagesets[i].relid == relid && pagesets[i].id == id)
			return &pagesets[i];
	return NULL;
}

static uint32_t primary_relid(const struct ovb_vsp_dev *dev)
{
	return dev->primary ? dev->primary->relid : dev->relid;
}

static void data_xfer(struct cap_data *d, const struct ovb_vsp_dev *dev,
		      uint16_t id, const struct vmtransfer_page_range *r,
		      uint32_t n)
{
	struct cap_pageset *ps;

	pthread_mutex_lock(&ps_lock);
	ps = pageset_find(dev->part->id, primary_relid(dev), id);
	for (uint32_t i = 0; i < n; i++) {
		struct vmtransfer_page_range x;

		memcpy(&x, &r[i], sizeof(x));
		if (ps)
			data_add(d, dev->part->gmem, ps->pfns, ps->npfns,
				 (uint64_t)ps->byte_offset + x.byte_offset,
				 x.byte_count);
		else
			d->orig += x.byte_count;
	}
	pthread_mutex_unlock(&ps_lock);
	if (!ps)
		d->flags |= OVB_CAP_F_DATA_UNKNOWN;
}

/* Remember the PFNs of GPADL @handle as pageset @id of @dev's device. */
static void pageset_learn(struct ovb_vsp_dev *dev, uint32_t handle,
			  uint32_t id)
{
	struct ovb_partition *part = dev->part;
	struct cap_pageset *ps, nps = { .part_id = part->id,
					.relid = primary_relid(dev), .id = id };
	struct srv_gpadl *g;

	ovb__srv_lock(part);
	for (g = part->gpadls; g && g->handle != handle; g = g->next)
		;
	if (g && g->nranges >= 1 && g->ranges[0].npfns) {
		nps.byte_offset = g->ranges[0].byte_offset;
		nps.npfns = g->ranges[0].npfns;
		nps.pfns = malloc(nps.npfns * sizeof(uint64_t));
		if (nps.pfns)
			memcpy(nps.pfns, g->ranges[0].pfns,
			       nps.npfns * sizeof(uint64_t));
	}
	ovb__srv_unlock(part);
	if (!nps.pfns)
		return;
	pthread_mutex_lock(&ps_lock);
	ps = pageset_find(nps.part_id, nps.relid, id);
	for (unsigned int i = 0; !ps && i < CAP_MAX_PAGESETS; i++)
		if (!pagesets[i].pfns)
			ps = &pagesets[i];
	/*
	 * Full: partitions that left still hold theirs (partition ids are
	 * never reused, so they only waste room).  Reuse slots in turn.
	 */
	if (!ps)
		ps = &pagesets[ps_victim++ % CAP_MAX_PAGESETS];
	free(ps->pfns);
	*ps = nps;
	pthread_mutex_unlock(&ps_lock);
}

/*
 * An RNDIS message the guest placed in a send section: NVSP
 * SEND_RNDIS_PACKET names the section, the send buffer's pageset (learnt
 * from SEND_SEND_BUFFER and its completion) locates it.
 */
static void data_send_section(struct cap_data *d, const struct ovb_vsp_dev *dev,
			      const uint8_t *p)
{
	struct nvsp1_msg_send_rndis_pkt m;
	struct cap_pageset *ps = NULL;

	memcpy(&m, p, sizeof(m));
	if (m.send_buf_section_index == NVSP_INVALID_SECTION_INDEX)
		return;
	pthread_mutex_lock(&ps_lock);
	for (unsigned int i = 0; !ps && i < CAP_MAX_PAGESETS; i++)
		if (pagesets[i].pfns && pagesets[i].part_id == dev->part->id &&
		    pagesets[i].relid == primary_relid(dev) &&
		    pagesets[i].id >= CAP_SEND_BUF && pagesets[i].section_size)
			ps = &pagesets[i];
	if (ps)
		data_add(d, dev->part->gmem, ps->pfns, ps->npfns,
			 (uint64_t)ps->byte_offset +
				 (uint64_t)m.send_buf_section_index *
					 ps->section_size,
			 m.send_buf_section_size);
	pthread_mutex_unlock(&ps_lock);
	if (!ps) {
		d->orig += m.send_buf_section_size;
		d->flags |= OVB_CAP_F_DATA_UNKNOWN;
	}
}

/* The host's SEND_SEND_BUFFER completion carries the section size. */
static void send_section_size(const struct ovb_vsp_dev *dev,
			      const struct ovb_send *s)
{
	struct nvsp1_msg_send_send_buf_complete m;

	if (s->type != VM_PKT_COMP || s->len < sizeof(m) ||
	    memcmp(&dev->p.class_id, &nic_class, 16))
		return;
	memcpy(&m, s->data, sizeof(m));
	if (m.hdr.msg_type != NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE ||
	    m.status != NVSP_STAT_SUCCESS)
		return;
	pthread_mutex_lock(&ps_lock);
	for (unsigned int i = 0; i < CAP_MAX_PAGESETS; i++)
		if (pagesets[i].pfns && pagesets[i].part_id == dev->part->id &&
		    pagesets[i].relid == primary_relid(dev) &&
		    pagesets[i].id >= CAP_SEND_BUF)
			pagesets[i].section_size = m.section_size;
	pthread_mutex_unlock(&ps_lock);
}

/*
 * A guest request that hands the device a buffer (learnt), or an RNDIS
 * message in a send section (its bytes added to @d).
 */
static void pageset_snoop(struct ovb_vsp_dev *dev, const struct ovb_pkt *pkt,
			  struct cap_data *d)
{
	const uint8_t *p = pkt->data;
	uint32_t v32;
	uint64_t v64;
	uint16_t id;

	if (pkt->type != VM_PKT_DATA_INBAND)
		return;
	if (!memcmp(&dev->p.class_id, &nic_class, 16) && pkt->len >= 10) {
		memcpy(&v32, p, 4);
		if (v32 == NVSP_MSG1_TYPE_SEND_RNDIS_PKT &&
		    pkt->len >= sizeof(struct nvsp1_msg_send_rndis_pkt)) {
			data_send_section(d, dev, p);
			return;
		}
		if (v32 != NVSP_MSG1_TYPE_SEND_RECV_BUF &&
		    v32 != NVSP_MSG1_TYPE_SEND_SEND_BUF)
			return;
		bool send = v32 == NVSP_MSG1_TYPE_SEND_SEND_BUF;

		memcpy(&v32, p + 4, 4);
		memcpy(&id, p + 8, 2);
		pageset_learn(dev, v32, send ? CAP_SEND_BUF | id : id);
	} else if (!memcmp(&dev->p.class_id, &echo_class, 16) &&
		   pkt->len >= sizeof(struct echo_msg)) {
		memcpy(&v32, p, 4);
		if (v32 != ECHO_OP_SET_BUFFER)
			return;
		memcpy(&v64, p + 8, 8);
		pageset_learn(dev, (uint32_t)v64, ECHO_XFER_PAGESET);
	}
}

/* ---- ring packets -------------------------------------------------------- */

static void cap_pkt(struct ovb_capture *cap, struct ovb_vsp_dev *dev, int dir,
		    const struct iovec *iov, int n, struct cap_data *d)
{
	struct ovb_cap_hdr h = { .kind = OVB_CAP_PACKET, .dir = (uint8_t)dir };

	h.partition_id = dev->part->id;
	h.relid = dev->relid;
	h.subidx = dev->subidx;
	h.flags = d->flags;
	h.data_orig = d->orig > UINT32_MAX ? UINT32_MAX : (uint32_t)d->orig;
	h.class_id = dev->p.class_id;
	ovb_capture_record(cap, &h, dev->part->name, iov, n, d->iov, d->n);
}

void ovb__cap_pkt_in(void *tap, const void *buf, size_t len,
		     const struct ovb_pkt *pkt)
{
	struct ovb_vsp_dev *dev = tap;
	struct iovec iov = { (void *)buf, len };
	struct ovb_capture *cap;
	struct cap_data d;

	if (!dev || !(cap = cap_enter(dev->part)))
		return;
	d.n = 0;
	d.orig = 0;
	d.flags = 0;
	d.budget = ovb_capture_snaplen(cap);
	if (pkt->type == VM_PKT_DATA_USING_GPA_DIRECT)
		data_gpa(&d, dev->part->gmem, pkt->ranges, pkt->range_cnt);
	else if (pkt->type == VM_PKT_DATA_USING_XFER_PAGES)
		data_xfer(&d, dev, pkt->xfer_pageset_id, pkt->xfer,
			  pkt->xfer_cnt);
	else
		pageset_snoop(dev, pkt, &d);
	cap_pkt(cap, dev, OVB_CAP_TO_HOST, &iov, 1, &d);
	cap_leave();
}

void ovb__cap_pkt_out(void *tap, const struct iovec *iov, int n,
		      const struct ovb_send *s)
{
	struct ovb_vsp_dev *dev = tap;
	struct ovb_gpa_range ranges[16];
	struct ovb_capture *cap;
	struct cap_data d;
	size_t used;

	if (!dev || !(cap = cap_enter(dev->part)))
		return;
	d.n = 0;
	d.orig = 0;
	d.flags = 0;
	d.budget = ovb_capture_snaplen(cap);
	send_section_size(dev, s);
	if (s->type == VM_PKT_DATA_USING_XFER_PAGES)
		data_xfer(&d, dev, s->xfer_pageset_id, s->xfer, s->xfer_cnt);
	else if (s->type == VM_PKT_DATA_USING_GPA_DIRECT) {
		if (s->range_cnt <= 16 &&
		    !ovb_gpa_ranges_parse(s->ranges, s->ranges_len,
					  s->range_cnt, ranges, 16, &used))
			data_gpa(&d, dev->part->gmem, ranges, s->range_cnt);
		else
			d.flags |= OVB_CAP_F_DATA_UNKNOWN;
	}
	cap_pkt(cap, dev, OVB_CAP_TO_GUEST, iov, n, &d);
	cap_leave();
}
