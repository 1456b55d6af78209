// SPDX-License-Identifier: MIT
/*
 * storvsp, data side: EXECUTE_SRB.  Checks the SRB's addressing and its
 * page list, turns the GPA-direct ranges into iovecs over guest memory
 * (every PFN and length checked by ovb_gmem_ranges_iov first), hands them
 * to the LUN's SCSI target on this channel's own backend queue (zero
 * copy), and answers with COMPLETE_IO carrying the SRB status, SCSI status,
 * sense data and bytes moved, mapped the way Linux storvsc reads them.
 * Layer: devices (storage).  Runs on the channel's worker only.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/vsp.h"
#include "storage/storvsp_priv.h"

/* A closing channel waits this long for its backend, then cancels. */
#define SVSP_DRAIN_MS 1000

/* Ring bytes of one COMPLETE_IO: descriptor, packet, trailer. */
#define SVSP_COMP_SPACE (16u + VSTOR_PACKET_SIZE_WIN8 + 8u)

int ovb__svsp_chan_init(struct svsp_chan *ch)
{
	unsigned int n = ch->c->cfg.depth;

	ch->cmds = calloc(n, sizeof(*ch->cmds));
	if (!ch->cmds)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		ch->cmds[i].ch = ch;
		ch->cmds[i].next_free = i + 1 < n ? &ch->cmds[i + 1] : NULL;
	}
	ch->free = ch->cmds;
	return 0;
}

static void svsp_queue_account(struct svsp_chan *ch, struct svsp_queue *sq)
{
	uint64_t kicks = sq->q->st.kicks, inl = sq->q->st.inline_done;

	if (kicks != sq->kicks)
		SVSP_STAT(ch->c, backend_kicks, kicks - sq->kicks);
	if (inl != sq->inl)
		SVSP_STAT(ch->c, backend_inline, inl - sq->inl);
	sq->kicks = kicks;
	sq->inl = inl;
}

void ovb__svsp_account(struct svsp_chan *ch)
{
	for (unsigned int i = 0; i < ch->qend; i++)
		if (ch->q[i].q)
			svsp_queue_account(ch, &ch->q[i]);
}

/*
 * Reap what is in flight on a closing channel's queue (those completions
 * see ch->closing), waiting at most SVSP_DRAIN_MS: then the backend
 * cancels the rest, if it can (a remote engine whose cluster is gone
 * must not hold up the host's stop).  Nobody waits for the answers: the
 * guest closed the channel or the host is stopping.
 */
static void svsp_queue_drain(struct svsp_chan *ch, struct ovb_blk_queue *q)
{
	struct pollfd pfd = { .fd = ovb_blk_queue_eventfd(q),
			      .events = POLLIN };
	struct timespec dl;
	long left;

	ovb_deadline_ms(&dl, SVSP_DRAIN_MS);
	while (q->inflight && ovb_blk_poll(q, 0) >= 0 && q->inflight) {
		left = ovb_deadline_left_ms(&dl);
		if (left > 0) {
			if (!ovb_blk_ready(q))
				poll(&pfd, 1, (int)left);
			continue;
		}
		if (ovb_blk_queue_cancel(q) < 0)
			break; /* the backend's requests end on their own */
	}
	while (q->inflight && ovb_blk_poll(q, -1) >= 0)
		;
}

static void svsp_queue_drop(struct svsp_chan *ch, struct svsp_queue *sq)
{
	int efd = ovb_blk_queue_eventfd(sq->q);

	if (ch->epfd >= 0)
		epoll_ctl(ch->epfd, EPOLL_CTL_DEL, efd, NULL);
	/* Reaps what is in flight: those completions see ch->closing. */
	if (ch->closing)
		svsp_queue_drain(ch, sq->q);
	while (sq->q->inflight && ovb_blk_poll(sq->q, -1) >= 0)
		;
	svsp_queue_account(ch, sq);
	ovb_blk_queue_destroy(sq->q);
	ovb__svsp_lun_put(sq->lun);
	sq->q = NULL;
	sq->lun = NULL;
}

void ovb__svsp_chan_fini(struct svsp_chan *ch)
{
	for (unsigned int i = 0; i < ch->qend; i++)
		if (ch->q[i].q)
			svsp_queue_drop(ch, &ch->q[i]);
	free(ch->cmds);
	ch->cmds = NULL;
}

void ovb__svsp_flush(struct svsp_chan *ch)
{
	ch->staged = 0;
	for (unsigned int i = 0; i < ch->qend; i++)
		if (ch->q[i].q && ch->q[i].q->inflight)
			ovb_blk_flush(ch->q[i].q);
}

int ovb__svsp_reap(struct svsp_chan *ch, bool all)
{
	bool batch = false;
	int n = 0;

	for (unsigned int i = 0; i < ch->qend; i++) {
		struct ovb_blk_queue *q = ch->q[i].q;
		int rc;

		if (!q || (!all && !(q->inflight && ovb_blk_ready(q))))
			continue;
		/*
		 * The COMPLETE_IOs of everything reaped here go out as one
		 * batch: one index update, at most one signal to the guest.
		 */
		if (!batch && !ch->closing) {
			ovb_chan_batch_begin(ch->chan);
			batch = true;
		}
		rc = ovb_blk_poll(q, 0);
		if (rc > 0)
			n += rc;
	}
	if (batch)
		ovb_chan_batch_end(ch->chan);
	return n;
}

void ovb__svsp_sweep(struct svsp_chan *ch)
{
	for (unsigned int i = 0; i < ch->qend; i++) {
		struct svsp_queue *sq = &ch->q[i];

		if (!sq->q ||
		    !__atomic_load_n(&sq->lun->removed, __ATOMIC_ACQUIRE))
			continue;
		/* Waits for the backend if commands are still in flight. */
		svsp_queue_drop(ch, sq);
	}
}

/*
 * A backend's completion thread (RBD's) found completions on @q (blk.h,
 * "Completions on the backend's thread"): when the worker is not using
 * the channel, reap them and answer the guest right here, one hand-off
 * less than waking the worker for it (docs/remote.md, "RBD: completions
 * answered on librbd's thread").  The lock is only tried: a busy worker
 * gets the eventfd and reaps them itself, as before.
 */
static bool svsp_notify(struct ovb_blk_queue *q, void *ctx)
{
	struct svsp_chan *ch = ctx;

	if (pthread_mutex_trylock(&ch->own))
		return false;
	/*
	 * Only with room for an answer to every command in flight: a guest
	 * that stops reading its ring stalls its own worker's sends, never
	 * librbd's thread, which answers the disk's other channels too.
	 */
	if (ch->closing || ovb_chan_send_room(ch->chan) <
			       (uint64_t)ch->inflight * SVSP_COMP_SPACE) {
		pthread_mutex_unlock(&ch->own);
		return false;
	}
	ovb_chan_batch_begin(ch->chan);
	ovb_blk_poll(q, 0);
	ovb_chan_batch_end(ch->chan);
	SVSP_STAT(ch->c, backend_direct, 1);
	pthread_mutex_unlock(&ch->own);
	return true;
}

/* This channel's queue over @l's backend, created on first use. */
static struct ovb_blk_queue *svsp_queue(struct svsp_chan *ch,
					struct svsp_lun *l)
{
	struct svsp_queue *sq = &ch->q[l->lun];
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (sq->lun == l)
		return sq->q;
	if (sq->q)
		svsp_queue_drop(ch, sq); /* an earlier LUN of that number */
	rc = ovb_blk_queue_create(l->blk, &sq->q);
	if (rc) {
		ovb_warn("%s: %s: no queue for LUN %u: %s", ch->c->name,
			 ovb_chan_name(ch->chan), l->lun, strerror(-rc));
		sq->q = NULL;
		return NULL;
	}
	ev.data.u32 = l->lun;
	if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ovb_blk_queue_eventfd(sq->q),
		      &ev) < 0) {
		ovb_blk_queue_destroy(sq->q);
		sq->q = NULL;
		return NULL;
	}
	/* SRBs of one drained batch reach the kernel together (idle). */
	ovb_blk_queue_set_batch(sq->q, true);
	ovb_blk_queue_set_notify(sq->q, svsp_notify, ch);
	__atomic_fetch_add(&l->refs, 1, __ATOMIC_ACQ_REL);
	sq->lun = l;
	sq->kicks = sq->inl = 0;
	if (ch->qend <= l->lun)
		ch->qend = l->lun + 1u;
	return sq->q;
}

/* ---- completion ------------------------------------------------------------ */

static void svsp_cmd_free(struct svsp_cmd *cmd)
{
	struct svsp_chan *ch = cmd->ch;

	ovb__svsp_lun_put(cmd->lun);
	cmd->lun = NULL;
	cmd->next_free = ch->free;
	/* A slot again: the requests waiting in the ring may come in. */
	if (!ch->free && !ch->closing)
		ovb_chan_hold_rx(ch->chan, false);
	ch->free = cmd;
	ch->inflight--;
}

/* Send @out as the COMPLETE_IO of @cmd and free the slot. */
static void svsp_complete(struct svsp_cmd *cmd, struct ovb_vstor_srb *out)
{
	struct svsp_chan *ch = cmd->ch;
	uint16_t v = __atomic_load_n(&ch->inst->version, __ATOMIC_ACQUIRE);
	uint8_t buf[VSTOR_PACKET_SIZE_WIN8] = { 0 };
	ssize_t n;

	if (VSTOR_SRB_STATUS(out->srb_status) != VSTOR_SRB_STATUS_SUCCESS)
		SVSP_STAT(ch->c, srb_errors, 1);
	n = ovb_vstor_encode_srb_complete(buf, sizeof(buf), v,
					  VSTOR_STATUS_SUCCESS, out);
	if (n < 0)
		ovb_warn("%s: %s: cannot encode a completion: %zd",
			 ch->c->name, ovb_chan_name(ch->chan), n);
	else if (cmd->reply)
		ovb__svsp_send_reply(ch, cmd->xid, cmd->req_len, buf);
	svsp_cmd_free(cmd);
}

/* Complete @cmd with an SRB status alone (nothing moved, no sense). */
static void svsp_fail(struct svsp_cmd *cmd, uint8_t srb_status,
		      uint8_t scsi_status)
{
	struct ovb_vstor_srb out = cmd->srb;

	out.srb_status = srb_status;
	out.scsi_status = scsi_status;
	out.data_transfer_length = 0;
	out.sense_info_length = 0;
	svsp_complete(cmd, &out);
}

static void svsp_cmd_done(struct ovb_scsi_cmd *scmd)
{
	struct svsp_cmd *cmd = scmd->priv;
	struct ovb_storvsp *c = cmd->ch->c;
	uint16_t v = __atomic_load_n(&cmd->ch->inst->version, __ATOMIC_ACQUIRE);
	struct ovb_vstor_srb out = cmd->srb;
	size_t n = 0;

	out.scsi_status = scmd->status;
	out.data_transfer_length = scmd->xfer;
	out.sense_info_length = 0;
	if (scmd->status == SCSI_STATUS_GOOD) {
		out.srb_status = scmd->overrun ? VSTOR_SRB_STATUS_DATA_OVERRUN
					       : VSTOR_SRB_STATUS_SUCCESS;
		if (scmd->dir == OVB_SCSI_DIR_FROM_DEV)
			SVSP_STAT(c, bytes_read, scmd->xfer);
		else if (scmd->dir == OVB_SCSI_DIR_TO_DEV)
			SVSP_STAT(c, bytes_written, scmd->xfer);
	} else if (scmd->status == SCSI_STATUS_CHECK_CONDITION &&
		   scmd->sense_len) {
		/* Linux reads sense only with AUTOSENSE_VALID set. */
		out.srb_status = VSTOR_SRB_STATUS_ERROR |
				 VSTOR_SRB_STATUS_AUTOSENSE_VALID;
		n = scmd->sense_len;
		if (n > cmd->srb.sense_info_length)
			n = cmd->srb.sense_info_length;
		if (n > ovb_vstor_sense_size(v))
			n = ovb_vstor_sense_size(v);
		memcpy(out.sense, scmd->sense, n);
		out.sense_info_length = (uint8_t)n;
	} else {
		out.srb_status = VSTOR_SRB_STATUS_ERROR;
	}
	svsp_complete(cmd, &out);
}

/* ---- execution ----------------------------------------------------------------- */

/* Build cmd's iovecs from the packet's page list; NULL or why it is bad. */
static const char *svsp_data(struct svsp_chan *ch, const struct ovb_pkt *pkt,
			     struct svsp_cmd *cmd, char *why, size_t whylen)
{
	struct ovb_gmem *gm = ovb_partition_gmem(ch->inst->part);
	uint32_t len = cmd->srb.data_transfer_length;
	size_t total = 0, left = len;
	int n;

	cmd->scmd.iovcnt = 0;
	cmd->scmd.iov = cmd->iov;
	if (!len)
		return NULL;
	if (pkt->type != VM_PKT_DATA_USING_GPA_DIRECT) {
		snprintf(why, whylen, "data_transfer_length %u without a page "
			 "list", len);
		return why;
	}
	if (len > ch->c->cfg.max_transfer) {
		snprintf(why, whylen, "data_transfer_length %u beyond the "
			 "%u-byte limit", len, ch->c->cfg.max_transfer);
		return why;
	}
	n = ovb_gmem_ranges_iov(gm, pkt->ranges, pkt->range_cnt, cmd->iov,
				SVSP_MAX_IOV, &total);
	if (n == -EFAULT) {
		snprintf(why, whylen, "page list names memory outside the "
			 "guest");
		return why;
	}
	if (n < 0) {
		snprintf(why, whylen, "page list of %u ranges too fragmented",
			 pkt->range_cnt);
		return why;
	}
	if (total < len) {
		snprintf(why, whylen, "data_transfer_length %u larger than the "
			 "%zu-byte page list", len, total);
		return why;
	}
	/* Use exactly data_transfer_length bytes of the list. */
	for (int i = 0; i < n; i++) {
		if (cmd->iov[i].iov_len >= left) {
			cmd->iov[i].iov_len = left;
			cmd->scmd.iovcnt = i + 1;
			break;
		}
		left -= cmd->iov[i].iov_len;
	}
	return NULL;
}

static enum ovb_scsi_dir svsp_dir(const struct ovb_vstor_srb *srb)
{
	if (!srb->data_transfer_length)
		return OVB_SCSI_DIR_NONE;
	switch (srb->data_in) {
	case VSTOR_DATA_WRITE:
		return OVB_SCSI_DIR_TO_DEV;
	case VSTOR_DATA_READ:
		return OVB_SCSI_DIR_FROM_DEV;
	default:
		return OVB_SCSI_DIR_UNKNOWN;
	}
}

/* Take a slot for the SRB, or answer BUSY; NULL when answered. */
static struct svsp_cmd *svsp_cmd_alloc(struct svsp_chan *ch,
				       const struct ovb_pkt *pkt,
				       const struct ovb_vstor_msg *m)
{
	struct svsp_cmd *cmd = ch->free;

	if (!cmd) {
		/*
		 * Every slot busy, which the hold above prevents; should a
		 * request come all the same: SCSI BUSY, the initiator
		 * retries.
		 */
		struct ovb_vstor_srb out = m->srb;
		uint16_t v = __atomic_load_n(&ch->inst->version,
					     __ATOMIC_ACQUIRE);
		uint8_t buf[VSTOR_PACKET_SIZE_WIN8] = { 0 };
		ssize_t n;

		SVSP_STAT(ch->c, busy, 1);
		out.srb_status = VSTOR_SRB_STATUS_ERROR;
		out.scsi_status = SCSI_STATUS_BUSY;
		out.data_transfer_length = 0;
		out.sense_info_length = 0;
		n = ovb_vstor_encode_srb_complete(buf, sizeof(buf), v,
						  VSTOR_STATUS_SUCCESS, &out);
		if (n > 0 && (pkt->flags &
			      VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED))
			ovb__svsp_send_reply(ch, pkt->xid, pkt->len, buf);
		return NULL;
	}
	ch->free = cmd->next_free;
	/*
	 * The last slot is taken: leave further requests in the ring until
	 * one frees, as OpenVMM's storvsp does.  Answering them BUSY would
	 * fail them in a Linux guest (storvsc_handle_error: DID_ERROR, five
	 * retries, then an I/O error), which keeps far more in flight.
	 */
	if (!ch->free)
		ovb_chan_hold_rx(ch->chan, true);
	ch->inflight++;
	memset(&cmd->scmd, 0, sizeof(cmd->scmd));
	cmd->srb = m->srb;
	cmd->xid = pkt->xid;
	cmd->req_len = pkt->len;
	cmd->reply = pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	cmd->lun = NULL;
	return cmd;
}

void ovb__svsp_execute(struct svsp_chan *ch, const struct ovb_pkt *pkt,
		       const struct ovb_vstor_msg *m)
{
	struct ovb_storvsp *c = ch->c;
	const struct ovb_vstor_srb *srb = &m->srb;
	struct ovb_blk_queue *q;
	struct svsp_cmd *cmd;
	char why[128];
	uint16_t luns[OVB_STORVSP_MAX_LUNS];
	bool report = srb->cdb[0] == SCSI_REPORT_LUNS;
	bool std_inquiry = srb->cdb[0] == SCSI_INQUIRY &&
			   !(srb->cdb[1] & SCSI_INQUIRY_EVPD);

	SVSP_STAT(c, srbs, 1);
	if (__atomic_load_n(&ch->inst->state, __ATOMIC_ACQUIRE) != SVSP_READY) {
		SVSP_STAT(c, bad_packets, 1);
		ovb_peer("%s: %s: EXECUTE_SRB before END_INITIALIZATION",
			 c->name, ovb_chan_name(ch->chan));
		if (pkt->flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED)
			ovb__svsp_reply(ch, pkt->xid, pkt->len,
					VSTOR_STATUS_INVALID_DEVICE_STATE);
		return;
	}
	cmd = svsp_cmd_alloc(ch, pkt, m);
	if (!cmd)
		return;
	/* One bus and one target; IDE addresses its only disk any way. */
	if (!c->cfg.ide && (srb->path_id || srb->target_id)) {
		svsp_fail(cmd, VSTOR_SRB_STATUS_INVALID_LUN, SCSI_STATUS_GOOD);
		return;
	}
	cmd->lun = report ? NULL : ovb__svsp_lun_get(c, srb->lun);
	/*
	 * An absent LUN answers a standard INQUIRY with "not present"
	 * (qualifier 3), as Hyper-V does: Linux scans a target through LUN
	 * 0 and looks for the others only if that answers.  Anything else
	 * is INVALID_LUN, which is how Linux drops a removed disk.
	 */
	if (!cmd->lun && !report && !std_inquiry) {
		svsp_fail(cmd, VSTOR_SRB_STATUS_INVALID_LUN, SCSI_STATUS_GOOD);
		return;
	}
	if (svsp_data(ch, pkt, cmd, why, sizeof(why))) {
		SVSP_STAT(c, bad_packets, 1);
		ovb_peer("%s: %s: SRB for LUN %u rejected: %s", c->name,
			 ovb_chan_name(ch->chan), srb->lun, why);
		svsp_fail(cmd, VSTOR_SRB_STATUS_INVALID_REQUEST,
			  SCSI_STATUS_GOOD);
		return;
	}
	memcpy(cmd->scmd.cdb, srb->cdb, srb->cdb_length);
	cmd->scmd.cdb_len = srb->cdb_length;
	cmd->scmd.dir = svsp_dir(srb);
	cmd->scmd.done = svsp_cmd_done;
	cmd->scmd.priv = cmd;
	if (!cmd->lun) {
		/* REPORT LUNS (the controller's list, whichever LUN was
		 * addressed) or INQUIRY of an absent LUN. */
		size_t n = ovb__svsp_lun_list(c, luns, OVB_STORVSP_MAX_LUNS);

		ovb_scsi_submit_no_lun(luns, n, &cmd->scmd);
		return;
	}
	q = svsp_queue(ch, cmd->lun);
	if (!q) {
		svsp_fail(cmd, VSTOR_SRB_STATUS_INTERNAL_ERROR,
			  SCSI_STATUS_GOOD);
		return;
	}
	ovb_scsi_submit(cmd->lun->t, q, &cmd->scmd);
	/* cfg.answer_every: this part of the drain goes out now. */
	if (c->cfg.answer_every && ++ch->staged >= c->cfg.answer_every) {
		ovb__svsp_flush(ch);
		ovb__svsp_reap(ch, false);
	}
}
