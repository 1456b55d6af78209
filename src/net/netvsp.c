// SPDX-License-Identifier: MIT
/*
 * netvsp: the synthetic NIC's host side.  One NIC per guest partition and
 * netvsp instance, joined to that instance's virtual switch; this file is
 * its NVSP state machine (version negotiation, NDIS version and config,
 * receive and send buffers, sub-channels and the send indirection table)
 * and the channel life cycle.  Layer: devices.  Spec: docs/wire.md B9;
 * the guest it must satisfy is Linux drivers/net/hyperv/netvsc.c.  The
 * RNDIS device lives in netvsp_rndis.c, frames in netvsp_rx.c.
 *
 * Replies: INIT, SEND_RECV_BUF, SEND_SEND_BUF, SUBCHANNEL and
 * SEND_RNDIS_PKT are answered with a VM_PKT_COMP carrying the NVSP
 * completion and the request's transaction id, as Hyper-V does.  Requests
 * shorter than 32 bytes get no reply at all (Windows hosts ignore them,
 * FreeBSD if_hnreg.h); we log the first one per NIC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "net/netvsp_priv.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"
#include "openvmbus/vswitch.h"

#define NETVSP_CLASS_GUID                                                      \
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2,  \
	    0xd2, 0xf9, 0x65, 0xed, 0x0e } }

/* ---- instance ------------------------------------------------------------ */

int ovb_netvsp_create(const struct ovb_netvsp_cfg *cfg,
		      struct ovb_netvsp **out)
{
	struct ovb_netvsp *vsp;

	if (!cfg || !cfg->sw || (cfg->mtu && (cfg->mtu < 68 ||
					     cfg->mtu > OVB_NETVSP_MAX_MTU)) ||
	    cfg->max_channels > OVB_NETVSP_MAX_CHANNELS ||
	    cfg->poll_us > NETVSP_MAX_POLL_US ||
	    cfg->rx_slot > NETVSP_MAX_RX_SLOT ||
	    (unsigned int)cfg->workers > OVB_NETVSP_WORKERS_ONE)
		return -EINVAL;
	vsp = calloc(1, sizeof(*vsp));
	if (!vsp)
		return -ENOMEM;
	vsp->cfg = *cfg;
	if (!vsp->cfg.mtu)
		vsp->cfg.mtu = 1500;
	if (!vsp->cfg.max_channels)
		vsp->cfg.max_channels = OVB_NETVSP_MAX_CHANNELS;
	if (!vsp->cfg.rx_wait_ms)
		vsp->cfg.rx_wait_ms = NETVSP_RX_WAIT_MS;
	snprintf(vsp->name, sizeof(vsp->name), "%s",
		 cfg->name ? cfg->name : "sw0");
	vsp->cfg.name = vsp->name;
	vsp->link_up = !cfg->link_down;
	pthread_mutex_init(&vsp->lock, NULL);
	*out = vsp;
	return 0;
}

int ovb_netvsp_register(struct ovb_netvsp *vsp, struct ovb_server *srv)
{
	return ovb_server_register_vsp(srv, &ovb_netvsp_ops, vsp);
}

void ovb_netvsp_destroy(struct ovb_netvsp *vsp)
{
	if (!vsp)
		return;
	for (unsigned int i = 0; i < OVB_NETVSP_MAX_CHANNELS; i++)
		ovb_chan_group_destroy(vsp->group[i]);
	pthread_mutex_destroy(&vsp->lock);
	free(vsp);
}

bool ovb_netvsp_link(const struct ovb_netvsp *vsp)
{
	return __atomic_load_n(&vsp->link_up, __ATOMIC_ACQUIRE);
}

void ovb_netvsp_set_link(struct ovb_netvsp *vsp, bool up)
{
	__atomic_store_n(&vsp->link_up, up, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vsp->lock);
	for (struct netvsp_nic *nic = vsp->nics; nic; nic = nic->next)
		netvsp__indicate_link(nic, up);
	pthread_mutex_unlock(&vsp->lock);
	ovb_info("netvsp %s: link %s", vsp->name, up ? "up" : "down");
}

void ovb_netvsp_get_stats(struct ovb_netvsp *vsp, struct ovb_netvsp_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&vsp->lock);
	for (struct netvsp_nic *nic = vsp->nics; nic; nic = nic->next)
		st->nics += __atomic_load_n(&nic->port_on, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vsp->lock);
	st->to_guest = __atomic_load_n(&vsp->to_guest, __ATOMIC_RELAXED);
	st->to_guest_bytes = __atomic_load_n(&vsp->to_guest_bytes, __ATOMIC_RELAXED);
	st->no_buffer = __atomic_load_n(&vsp->no_buffer, __ATOMIC_RELAXED);
	st->from_guest = __atomic_load_n(&vsp->from_guest, __ATOMIC_RELAXED);
	st->from_guest_bytes = __atomic_load_n(&vsp->from_guest_bytes, __ATOMIC_RELAXED);
	st->bad = __atomic_load_n(&vsp->bad, __ATOMIC_RELAXED);
	st->offload_dropped = __atomic_load_n(&vsp->offload_dropped,
					      __ATOMIC_RELAXED);
	st->bad_completions = __atomic_load_n(&vsp->bad_completions,
					      __ATOMIC_RELAXED);
	st->reaps = __atomic_load_n(&vsp->reaps,
					   __ATOMIC_RELAXED);
	st->to_guest_batches = __atomic_load_n(&vsp->to_guest_batches,
					       __ATOMIC_RELAXED);
	st->coalesced = __atomic_load_n(&vsp->coalesced, __ATOMIC_RELAXED);
	st->segmented = __atomic_load_n(&vsp->segmented, __ATOMIC_RELAXED);
	st->wait_timeouts = __atomic_load_n(&vsp->wait_timeouts,
					    __ATOMIC_RELAXED);
	st->slot_takes = __atomic_load_n(&vsp->slot_takes, __ATOMIC_RELAXED);
}

/* ---- partitions ------------------------------------------------------------ */

static int netvsp_partition_add(struct ovb_partition *part, void *vsp_ctx)
{
	struct ovb_netvsp *vsp = vsp_ctx;
	struct ovb_offer_params p = { .class_id = NETVSP_CLASS_GUID };
	/* Cache-line aligned: its hot fields sit on lines of their own. */
	struct netvsp_nic *nic = aligned_alloc(64, (sizeof(*nic) + 63) & ~63ul);
	unsigned int id = ovb_partition_id(part);
	int rc;

	if (!nic)
		return -ENOMEM;
	memset(nic, 0, sizeof(*nic));
	nic->vsp = vsp;
	nic->part = part;
	snprintf(nic->name, sizeof(nic->name), "netvsp %s/%s", vsp->name,
		 ovb_partition_name(part));
	/* Hyper-V's OUI; the switch id and partition id make it unique. */
	memcpy(nic->mac, (uint8_t[]){ 0x00, 0x15, 0x5d, vsp->cfg.mac_id,
				      (uint8_t)(id >> 8), (uint8_t)id }, 6);
	pthread_rwlock_init(&nic->lock, NULL);
	pthread_mutex_init(&nic->slot_lock, NULL);
	ovb_cond_init(&nic->slot_cond);
	p.instance_id.b[0] = 0x4e;
	p.instance_id.b[1] = vsp->cfg.mac_id;
	memcpy(&p.instance_id.b[10], nic->mac, 6);
	nic->cur_mac = netvsp__mac_key(nic->mac);
	p.dev_ctx = nic;
	/*
	 * Hyper-V offers its NICs with a monitor id, and a guest may signal
	 * through the monitor page alone: DPDK's netvsc PMD does, and Linux's
	 * uio_hv_generic refuses an offer without one.
	 */
	p.monitored = true;
	rc = ovb_server_offer(part, &ovb_netvsp_ops, &p, &nic->dev);
	if (rc) {
		free(nic);
		return rc;
	}
	pthread_mutex_lock(&vsp->lock);
	nic->next = vsp->nics;
	vsp->nics = nic;
	pthread_mutex_unlock(&vsp->lock);
	return 0;
}

static void netvsp_partition_remove(struct ovb_partition *part, void *vsp_ctx)
{
	struct ovb_netvsp *vsp = vsp_ctx;
	struct netvsp_nic **pp, *nic;

	pthread_mutex_lock(&vsp->lock);
	for (pp = &vsp->nics; (nic = *pp) != NULL;) {
		if (nic->part != part) {
			pp = &nic->next;
			continue;
		}
		*pp = nic->next;
		pthread_rwlock_destroy(&nic->lock);
		pthread_mutex_destroy(&nic->slot_lock);
		pthread_cond_destroy(&nic->slot_cond);
		free(nic);
	}
	pthread_mutex_unlock(&vsp->lock);
}

/* ---- buffers ----------------------------------------------------------------- */

/* Release both buffers; nic->lock held for writing. */
static void netvsp_release_rx(struct netvsp_nic *nic)
{
	if (!nic->rx_view.len)
		return;
	ovb_vsp_gpadl_put(nic->dev, nic->rx_gpadl, &nic->rx_view);
	memset(&nic->rx_view, 0, sizeof(nic->rx_view));
	netvsp__slots_free(nic);
}

static void netvsp_release_tx(struct netvsp_nic *nic)
{
	if (!nic->tx_view.len)
		return;
	ovb_vsp_gpadl_put(nic->dev, nic->tx_gpadl, &nic->tx_view);
	memset(&nic->tx_view, 0, sizeof(nic->tx_view));
	nic->nsections = 0;
}

static uint32_t netvsp_recv_buf(struct netvsp_nic *nic,
				const struct ovb_nvsp_msg *m)
{
	uint32_t max = nic->nvsp_ver <= NVSP_PROTOCOL_VERSION_2
			       ? NETVSP_MAX_RX_BUF_V2 : NETVSP_MAX_RX_BUF;
	struct ovb_gmem_view v;
	int rc;

	if (nic->rx_view.len) {
		ovb_peer("%s: second receive buffer refused", nic->name);
		return NVSP_STAT_FAIL;
	}
	rc = ovb_vsp_gpadl_get(nic->dev, m->u.send_buffer.gpadl, &v);
	if (rc) {
		ovb_peer("%s: receive buffer GPADL %#x: %s", nic->name,
			 m->u.send_buffer.gpadl, strerror(-rc));
		return NVSP_STAT_FAIL;
	}
	if (v.len > max || v.len < 2u * netvsp__slot_size(&nic->vsp->cfg, v.len)) {
		ovb_peer("%s: receive buffer of %zu bytes refused (%u max)",
			 nic->name, v.len, max);
		ovb_vsp_gpadl_put(nic->dev, m->u.send_buffer.gpadl, &v);
		return NVSP_STAT_FAIL;
	}
	netvsp__wrlock(nic);
	nic->rx_view = v;
	nic->rx_gpadl = m->u.send_buffer.gpadl;
	nic->rx_id = m->u.send_buffer.id;
	rc = netvsp__slots_init(nic);
	if (rc) {
		ovb_vsp_gpadl_put(nic->dev, nic->rx_gpadl, &nic->rx_view);
		memset(&nic->rx_view, 0, sizeof(nic->rx_view));
	}
	netvsp__wrunlock(nic);
	return rc ? NVSP_STAT_FAIL : NVSP_STAT_SUCCESS;
}

static uint32_t netvsp_send_buf(struct netvsp_nic *nic,
				const struct ovb_nvsp_msg *m)
{
	struct ovb_gmem_view v;
	int rc;

	if (nic->tx_view.len) {
		ovb_peer("%s: second send buffer refused", nic->name);
		return NVSP_STAT_FAIL;
	}
	rc = ovb_vsp_gpadl_get(nic->dev, m->u.send_buffer.gpadl, &v);
	if (rc) {
		ovb_peer("%s: send buffer GPADL %#x: %s", nic->name,
			 m->u.send_buffer.gpadl, strerror(-rc));
		return NVSP_STAT_FAIL;
	}
	if (v.len > NETVSP_MAX_TX_BUF || v.len < NETVSP_SEND_SECTION) {
		ovb_peer("%s: send buffer of %zu bytes refused", nic->name,
			 v.len);
		ovb_vsp_gpadl_put(nic->dev, m->u.send_buffer.gpadl, &v);
		return NVSP_STAT_FAIL;
	}
	netvsp__wrlock(nic);
	nic->tx_view = v;
	nic->tx_gpadl = m->u.send_buffer.gpadl;
	nic->tx_id = m->u.send_buffer.id;
	nic->sec_size = netvsp__send_section(v.len);
	nic->nsections = (uint32_t)(v.len / nic->sec_size);
	netvsp__wrunlock(nic);
	return NVSP_STAT_SUCCESS;
}

/* ---- NVSP requests --------------------------------------------------------- */

static void netvsp_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			const void *msg, size_t len)
{
	int rc = ovb_chan_send_comp(chan, pkt->xid, msg, len);

	if (rc && rc != -ECONNRESET)
		ovb_peer("%s: completion not sent: %s", ovb_chan_name(chan),
			 strerror(-rc));
}

static void netvsp_init(struct netvsp_nic *nic, struct ovb_chan *chan,
			const struct ovb_pkt *pkt, const struct ovb_nvsp_msg *m)
{
	union nvsp_message r;
	uint32_t v = 0;

	memset(&r, 0, sizeof(r));
	r.hdr.msg_type = NVSP_MSG_TYPE_INIT_COMPLETE;
	/* Highest version we know inside [min, max]. */
	for (int i = 0; i < OVB_NVSP_VERSION_COUNT && !v; i++)
		if (ovb_nvsp_versions[i] >= m->u.init.min &&
		    ovb_nvsp_versions[i] <= m->u.init.max)
			v = ovb_nvsp_versions[i];
	if (nic->rx_view.len || nic->tx_view.len)
		v = 0; /* no renegotiation under live buffers */
	r.init_complete.status = v ? NVSP_STAT_SUCCESS : NVSP_STAT_FAIL;
	r.init_complete.negotiated_protocol_ver = v;
	if (v)
		nic->nvsp_ver = v;
	else
		ovb_info("%s: NVSP %#x..%#x refused", nic->name, m->u.init.min,
			 m->u.init.max);
	netvsp_comp(chan, pkt, &r, sizeof(r));
}

static void netvsp_subchannels(struct netvsp_nic *nic, struct ovb_chan *chan,
			       const struct ovb_pkt *pkt,
			       const struct ovb_nvsp_msg *m)
{
	union nvsp_message r;
	struct ovb_nvsp_msg t = { .type = NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE };
	uint32_t want = m->u.subchannel_request.num, max;
	uint8_t buf[NVSP_MESSAGE_SIZE + 4 * NVSP_SEND_INDIRECTION_TABLE_SIZE];
	ssize_t n;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.hdr.msg_type = NVSP_MSG5_TYPE_SUBCHANNEL;
	max = nic->vsp->cfg.max_channels - 1;
	if (want > max)
		want = max;
	if (m->u.subchannel_request.op != NVSP_SUBCHANNEL_ALLOCATE ||
	    !want || ovb_chan_subidx(chan)) {
		r.subchannel_complete.status = NVSP_STAT_FAIL;
		netvsp_comp(chan, pkt, &r, sizeof(r));
		return;
	}
	if (want > nic->nsub_offered) {
		rc = ovb_server_offer_subchannels(nic->dev,
						  want - nic->nsub_offered);
		if (rc > 0)
			nic->nsub_offered += (unsigned int)rc;
	}
	if (rc < 0 || !nic->nsub_offered) {
		ovb_peer("%s: no sub-channels: %s", nic->name, strerror(-rc));
		r.subchannel_complete.status = NVSP_STAT_FAIL;
		netvsp_comp(chan, pkt, &r, sizeof(r));
		return;
	}
	if (want > nic->nsub_offered)
		want = nic->nsub_offered;
	r.subchannel_complete.status = NVSP_STAT_SUCCESS;
	r.subchannel_complete.num_subchannels = want;
	netvsp_comp(chan, pkt, &r, sizeof(r));
	/* Spread the guest's sends over every channel, as Hyper-V does. */
	t.u.indirection_table.count = NVSP_SEND_INDIRECTION_TABLE_SIZE;
	for (uint32_t i = 0; i < NVSP_SEND_INDIRECTION_TABLE_SIZE; i++)
		t.u.indirection_table.table[i] = i % (want + 1);
	n = ovb_nvsp_encode(buf, sizeof(buf), OVB_NVSP_TO_GUEST, &t);
	if (n > 0)
		ovb_chan_send_inband(chan, buf, (size_t)n, 0, 0);
}

/* SEND_RNDIS_PKT: the RNDIS bytes in a send section or in page buffers. */
static void netvsp_rndis_pkt(struct netvsp_nic *nic, struct ovb_chan *chan,
			     const struct ovb_pkt *pkt,
			     const struct ovb_nvsp_msg *m)
{
	union nvsp_message r = { .raw = { 0 } };
	struct netvsp_chan *ch = nic->ch[ovb_chan_subidx(chan)];
	uint32_t idx = m->u.rndis_pkt.section_index;
	uint32_t size = m->u.rndis_pkt.section_size;
	struct iovec iov[NETVSP_MAX_IOV];
	const uint8_t *msg = NULL;
	size_t len = 0;
	int n, status = NVSP_STAT_FAIL;

	pthread_rwlock_rdlock(&nic->lock);
	if (idx != NVSP_INVALID_SECTION_INDEX) {
		if (!nic->tx_view.len || idx >= nic->nsections ||
		    !size || size > nic->sec_size) {
			ovb_peer("%s: send section %u (%u bytes) outside the "
				 "send buffer (%u sections)", nic->name, idx,
				 size, nic->nsections);
			goto out;
		}
		len = size;
		msg = ovb_gmem_view_ptr(&nic->tx_view,
					(size_t)idx * nic->sec_size, len);
		if (!msg) {
			/* The section straddles scattered pages: stage it. */
			ovb_gmem_view_read(&nic->tx_view,
					   (size_t)idx * nic->sec_size,
					   ch->scratch, len);
			msg = ch->scratch;
		}
	} else if (pkt->type == VM_PKT_DATA_USING_GPA_DIRECT) {
		n = ovb_gmem_ranges_iov(ovb_partition_gmem(nic->part),
					pkt->ranges, pkt->range_cnt, iov,
					NETVSP_MAX_IOV, &len);
		if (n < 0 || !len || len > NETVSP_SCRATCH) {
			const struct ovb_gpa_range *lr =
				&pkt->ranges[pkt->range_cnt - 1];
			uint64_t pfn0 = 0;

			if (lr->npfns)
				memcpy(&pfn0, lr->pfns, sizeof(pfn0));

			ovb_peer("%s: page buffers of SEND_RNDIS_PKT name "
				 "memory outside the guest or too much (%zu "
				 "bytes; %u ranges, the last %u bytes at PFN "
				 "%#llx + %u)", nic->name, len, pkt->range_cnt,
				 lr->byte_count,
				 (unsigned long long)pfn0, lr->byte_offset);
			goto out;
		}
		if (n == 1) {
			msg = iov[0].iov_base;
		} else {
			size_t off = 0;

			for (int i = 0; i < n; i++) {
				memcpy(ch->scratch + off, iov[i].iov_base,
				       iov[i].iov_len);
				off += iov[i].iov_len;
			}
			msg = ch->scratch;
		}
	} else {
		ovb_peer("%s: SEND_RNDIS_PKT names neither a section nor "
			 "page buffers", nic->name);
		goto out;
	}
	if (!ch->sw_batch) {
		/* Frames to other ports go out once per drained batch. */
		ovb_vswitch_batch_begin(nic->vsp->cfg.sw);
		ch->sw_batch = true;
	}
	status = netvsp__guest_packet(ch, msg, len);
out:
	pthread_rwlock_unlock(&nic->lock);
	if (status != NVSP_STAT_SUCCESS)
		__atomic_fetch_add(&nic->vsp->bad, 1, __ATOMIC_RELAXED);
	r.hdr.msg_type = NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE;
	r.rndis_pkt_complete.status = (uint32_t)status;
	netvsp_comp(chan, pkt, &r, sizeof(r));
}

/* NDIS version and config: no reply; bad values are only logged. */
static void netvsp_ndis(struct netvsp_nic *nic, const struct ovb_nvsp_msg *m)
{
	if (m->type == NVSP_MSG1_TYPE_SEND_NDIS_VER) {
		if (m->u.ndis_version.major != 6)
			ovb_peer("%s: NDIS %u.%u announced, 6.x expected",
				 nic->name, m->u.ndis_version.major,
				 m->u.ndis_version.minor);
		nic->ndis_ver = m->u.ndis_version.major << 16 |
				(m->u.ndis_version.minor & 0xffff);
		return;
	}
	if (m->u.ndis_config.mtu > OVB_NETVSP_MAX_MTU + 14u ||
	    m->u.ndis_config.mtu < 68) {
		ovb_peer("%s: SEND_NDIS_CONFIG MTU %u out of range", nic->name,
			 m->u.ndis_config.mtu);
		return;
	}
	nic->guest_mtu = m->u.ndis_config.mtu;
	nic->guest_caps = m->u.ndis_config.capability;
}

static void netvsp_request(struct netvsp_nic *nic, struct ovb_chan *chan,
			   const struct ovb_pkt *pkt,
			   const struct ovb_nvsp_msg *m)
{
	union nvsp_message r = { 0 };
	bool primary = ovb_chan_subidx(chan) == 0;

	if (!primary && m->type != NVSP_MSG1_TYPE_SEND_RNDIS_PKT) {
		ovb_peer("%s: %s on sub-channel %u ignored", nic->name,
			 ovb_nvsp_type_name(m->type), ovb_chan_subidx(chan));
		return;
	}
	switch (m->type) {
	case NVSP_MSG_TYPE_INIT:
		netvsp_init(nic, chan, pkt, m);
		return;
	case NVSP_MSG1_TYPE_SEND_NDIS_VER:
	case NVSP_MSG2_TYPE_SEND_NDIS_CONFIG:
		netvsp_ndis(nic, m);
		return;
	case NVSP_MSG1_TYPE_SEND_RECV_BUF: {
		uint8_t b[NVSP_MESSAGE_SIZE] = { 0 };
		struct nvsp1_msg_send_recv_buf_complete *c = (void *)b;
		struct nvsp1_receive_buffer_section s = { 0 };

		c->hdr.msg_type = NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE;
		c->status = netvsp_recv_buf(nic, m);
		if (c->status == NVSP_STAT_SUCCESS) {
			c->num_sections = 1;
			s.sub_alloc_size = nic->slot_size;
			s.num_sub_allocs = nic->nslots;
			s.end_offset = nic->slot_size * nic->nslots;
			memcpy(b + sizeof(*c), &s, sizeof(s));
		}
		netvsp_comp(chan, pkt, b, sizeof(b));
		return;
	}
	case NVSP_MSG1_TYPE_SEND_SEND_BUF:
		r.hdr.msg_type = NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE;
		r.send_buf_complete.status = netvsp_send_buf(nic, m);
		if (r.send_buf_complete.status == NVSP_STAT_SUCCESS)
			r.send_buf_complete.section_size = nic->sec_size;
		netvsp_comp(chan, pkt, &r, sizeof(r));
		return;
	case NVSP_MSG1_TYPE_REVOKE_RECV_BUF:
		netvsp__wrlock(nic);
		netvsp_release_rx(nic);
		netvsp__wrunlock(nic);
		return;
	case NVSP_MSG1_TYPE_REVOKE_SEND_BUF:
		netvsp__wrlock(nic);
		netvsp_release_tx(nic);
		netvsp__wrunlock(nic);
		return;
	case NVSP_MSG1_TYPE_SEND_RNDIS_PKT:
		netvsp_rndis_pkt(nic, chan, pkt, m);
		return;
	case NVSP_MSG5_TYPE_SUBCHANNEL:
		netvsp_subchannels(nic, chan, pkt, m);
		return;
	case NVSP_MSG4_TYPE_SWITCH_DATA_PATH:
		/* No VF here: the synthetic path is the only one. */
		if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
			netvsp_comp(chan, pkt, pkt->data, pkt->len);
		return;
	default:
		ovb_peer("%s: unexpected %s from the guest", nic->name,
			 ovb_nvsp_type_name(m->type));
		__atomic_fetch_add(&nic->vsp->bad, 1, __ATOMIC_RELAXED);
	}
}

void netvsp__recv(struct ovb_chan *chan, const struct ovb_pkt *pkt, void *ctx)
{
	struct netvsp_nic *nic = ctx;
	struct ovb_nvsp_msg m;
	int rc;

	if (pkt->type == VM_PKT_COMP) {
		netvsp__slot_complete(nic, chan, pkt->xid);
		return;
	}
	if (pkt->type != VM_PKT_DATA_INBAND &&
	    pkt->type != VM_PKT_DATA_USING_GPA_DIRECT) {
		ovb_peer("%s: packet type %u is not NVSP", nic->name,
			 pkt->type);
		__atomic_fetch_add(&nic->vsp->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	rc = ovb_nvsp_parse(pkt->data, pkt->len, OVB_NVSP_TO_HOST,
			    nic->nvsp_ver, &m);
	if (rc) {
		ovb_peer("%s: bad NVSP message (%u bytes, type %u): %s",
			 nic->name, pkt->len,
			 pkt->len >= 4 ? *(const uint32_t *)pkt->data : 0,
			 rc == -EPROTO ? "out of sequence"
			 : rc == -EOPNOTSUPP ? "not supported"
					     : "malformed");
		__atomic_fetch_add(&nic->vsp->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (m.short_request) {
		if (!nic->warned_short)
			ovb_peer("%s: %s of %u bytes ignored (requests under "
				 "%u bytes get no reply, as on Hyper-V)",
				 nic->name, ovb_nvsp_type_name(m.type),
				 pkt->len, NVSP_MIN_REQUEST_SIZE);
		nic->warned_short = true;
		return;
	}
	netvsp_request(nic, chan, pkt, &m);
}

/* ---- channels ------------------------------------------------------------- */

/* After each drained batch: what this worker sent to other ports goes. */
static void netvsp_idle(struct ovb_chan *chan, void *ctx)
{
	struct netvsp_nic *nic = ctx;
	struct netvsp_chan *ch = nic->ch[ovb_chan_subidx(chan) %
					 OVB_NETVSP_MAX_CHANNELS];

	if (ch && ch->chan == chan && ch->sw_batch) {
		ch->sw_batch = false;
		ovb_vswitch_batch_end(nic->vsp->cfg.sw);
	}
}

/*
 * cfg.workers: put @chan on the shared worker of its queue (or the one
 * for all), made at its first use.  A caller-driven server keeps its
 * channels on the embedder's threads: said once, not an error.
 */
static int netvsp_join_group(struct ovb_netvsp *vsp, struct ovb_chan *chan,
			     uint16_t idx)
{
	unsigned int gi = vsp->cfg.workers == OVB_NETVSP_WORKERS_ONE ? 0 : idx;
	char name[16];
	int rc = 0;

	if (vsp->cfg.workers == OVB_NETVSP_WORKERS_PER_CHANNEL)
		return 0;
	pthread_mutex_lock(&vsp->lock);
	if (!vsp->group[gi]) {
		if (vsp->cfg.workers == OVB_NETVSP_WORKERS_ONE)
			snprintf(name, sizeof(name), "%.9s-nics", vsp->name);
		else
			snprintf(name, sizeof(name), "%.9s-q%u", vsp->name, gi);
		rc = ovb_chan_group_create(name, &vsp->group[gi]);
	}
	pthread_mutex_unlock(&vsp->lock);
	if (!rc)
		rc = ovb_chan_set_group(chan, vsp->group[gi]);
	if (rc == -EOPNOTSUPP) {
		if (!vsp->warned_group)
			ovb_info("netvsp %s: caller-driven server: no shared "
				 "workers", vsp->name);
		vsp->warned_group = true;
		rc = 0;
	}
	return rc;
}

static int netvsp_open(struct ovb_vsp_dev *dev, struct ovb_chan *chan,
		       const uint8_t *userdata)
{
	struct netvsp_nic *nic = ovb_vsp_dev_ctx(dev);
	uint16_t idx = ovb_vsp_dev_subidx(dev);
	struct netvsp_chan *ch;
	int rc;

	if (idx >= OVB_NETVSP_MAX_CHANNELS || nic->ch[idx])
		return -EINVAL;
	if ((rc = netvsp_join_group(nic->vsp, chan, idx)) != 0)
		return rc;
	ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->scratch = malloc(NETVSP_SCRATCH))) {
		free(ch);
		return -ENOMEM;
	}
	ch->nic = nic;
	ch->chan = chan;
	ch->idx = idx;
	pthread_mutex_init(&ch->pend_lock, NULL);
	ch->pend_head = ch->pend_tail = UINT32_MAX;
	ovb_chan_set_ctx(chan, nic);
	ovb_chan_set_idle(chan, netvsp_idle);
	/* Control replies may wait for ring room; never for long. */
	ovb_chan_set_send_timeout(chan, 1000);
	/*
	 * What the worker sends while it drains (send completions, control
	 * replies) goes out as one batch per drain: one index update and at
	 * most one signal, not one per SEND_RNDIS_PKT.
	 */
	ovb_chan_set_reply_batch(chan, true);
	/*
	 * ...and every NETVSP_REPLY_EVERY sends as well: a drain of 64 sends
	 * of 64 small frames is ~300 us of work, longer than the guest
	 * worker's adaptive spin; published only at its end, the guest's
	 * worker slept between drains and each drain cost a signal (and the
	 * sender's sections came back in clumps).
	 */
	ovb_chan_set_reply_every(chan, NETVSP_REPLY_EVERY);
	if (nic->vsp->cfg.poll_us)
		ovb_chan_set_poll(chan, nic->vsp->cfg.poll_us);
	ovb_chan_set_adaptive(chan, true);
	if (idx == 0) {
		nic->nvsp_ver = nic->ndis_ver = 0;
		nic->rndis_init = false;
		nic->rss_on = false;
		nic->filter = 0;
		nic->cur_mac = netvsp__mac_key(nic->mac);
		nic->warned_short = false;
		nic->rsc = 0;
		/*
		 * TSO frames arrive whole: coalesced for a guest with RSC,
		 * segmented by netvsp_port.c for any other.
		 */
		rc = ovb_vswitch_port_add(nic->vsp->cfg.sw, nic->name,
					  OVB_VSWITCH_CAP_VLAN |
						  OVB_VSWITCH_CAP_TSO4 |
						  OVB_VSWITCH_CAP_TSO6,
					  netvsp__port_tx, nic, &nic->port);
		if (!rc) {
			ovb_vswitch_port_set_flush(nic->vsp->cfg.sw, nic->port,
						   netvsp__flush);
			ovb_vswitch_port_set_txv(nic->vsp->cfg.sw, nic->port,
						 netvsp__port_txv);
			ovb_vswitch_port_set_txn(nic->vsp->cfg.sw, nic->port,
						 netvsp__port_txn);
		}
		if (rc) {
			ovb_warn("%s: no switch port: %s", nic->name,
				 strerror(-rc));
			pthread_mutex_destroy(&ch->pend_lock);
			free(ch->scratch);
			free(ch);
			return rc;
		}
		__atomic_store_n(&nic->port_on, true, __ATOMIC_RELEASE);
	}
	netvsp__wrlock(nic);
	nic->ch[idx] = ch;
	nic->nopen++;
	netvsp__wrunlock(nic);
	ovb_info("%s: channel %u open (relid %u)", nic->name, idx,
		 ovb_chan_relid(chan));
	return 0;
}

static void netvsp_close(struct ovb_vsp_dev *dev, struct ovb_chan *chan)
{
	struct netvsp_nic *nic = ovb_vsp_dev_ctx(dev);
	uint16_t idx = ovb_vsp_dev_subidx(dev);
	struct netvsp_chan *ch;

	if (idx >= OVB_NETVSP_MAX_CHANNELS || !nic->ch[idx])
		return;
	if (idx == 0 && nic->port_on) {
		/* Waits for frames in flight towards this NIC. */
		__atomic_store_n(&nic->port_on, false, __ATOMIC_RELEASE);
		ovb_vswitch_port_remove(nic->vsp->cfg.sw, nic->port);
	}
	netvsp__wrlock(nic);
	ch = nic->ch[idx];
	nic->ch[idx] = NULL;
	nic->nopen--;
	if (idx == 0) {
		nic->rndis_init = false;
		netvsp_release_rx(nic);
		netvsp_release_tx(nic);
	} else {
		netvsp__chan_drop_batch(nic, ch);
	}
	netvsp__wrunlock(nic);
	pthread_mutex_destroy(&ch->pend_lock);
	free(ch->scratch);
	free(ch);
	ovb_info("%s: channel %u closed", nic->name, idx);
}

const struct ovb_vsp_ops ovb_netvsp_ops = {
	.name = "netvsp",
	.partition_add = netvsp_partition_add,
	.partition_remove = netvsp_partition_remove,
	.open = netvsp_open,
	.close = netvsp_close,
	.recv = netvsp__recv,
};
