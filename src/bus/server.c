// SPDX-License-Identifier: MIT
/*
 * The VMBus server (host role): partitions, the VSP list, offers with
 * relids (hot add, sub-channels, rescind), guest signals (dedicated
 * connection ids, the pre-Win8 interrupt page and the monitor page) and
 * statistics.  Channel messages are handled in server_msg.c, GPADLs and
 * open/close in server_chan.c.  Layer: bus.
 *
 * Locks and callbacks.  part->lock is a plain mutex over one partition's
 * state: the relid table and every ovb_vsp_dev in it, the GPADLs and their
 * reassembly, the negotiated version and pages, the monitor scanner's
 * flags.  The order is srv->lock -> part->lock -> a channel's locks and the
 * link's sends; nothing taken after part->lock ever waits for it.
 *  1. No device callback runs under part->lock.  partition_add,
 *     partition_remove, open and close are called with it dropped, recv
 *     runs on the channel's worker: from all of them, from its workers and
 *     from its own threads, holding its own locks, a device may call any
 *     ovb_server_* or ovb_vsp_* function.  So a device's lock comes before
 *     part->lock, and that is the only order between them.
 *  2. No thread is joined under part->lock (channel workers, the monitor
 *     scanner): a worker may be waiting for it, offering sub-channels.
 *  3. Open and close of one device never overlap.  The one under way
 *     marks dev->busy; another thread that would open, close or free that
 *     device waits on part->cond.  A callback that re-enters for its own
 *     device is not waited for (it would wait on itself): a close from
 *     there does nothing.
 *  4. A thread that drops the lock while it uses a dev holds it
 *     (ovb__srv_dev_hold).  A dev removed meanwhile is freed by its last
 *     holder, and whatever drops the lock looks again at what it read
 *     before: ovb__srv_close says whether the dev is gone.
 *  5. Guest messages arrive on one link thread, so the guest's opens and
 *     closes are in order; rescinds (device threads) and partition death
 *     are the other closers.  Destroy waits until nobody holds a dev.
 *  6. ovb_server_report() runs its callback under srv->lock and part->lock:
 *     it must not call the server.
 * A device never closes or rescinds its own channel or its primary from
 * that channel's worker (the close would join the worker it runs on), nor
 * from its own open or close callback.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/capture_hook.h"
#include "bus/fault_hook.h"
#include "bus/server_priv.h"
#include "openvmbus/atomic.h"
#include "openvmbus/hv.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"

int ovb_server_create(struct ovb_server **out)
{
	struct ovb_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	pthread_mutex_init(&srv->lock, NULL);
	srv->next_id = 1;
	*out = srv;
	return 0;
}

void ovb_server_destroy(struct ovb_server *srv)
{
	if (!srv)
		return;
	if (OVB_CAPTURE_ON())
		ovb__cap_server_gone(srv);
	while (srv->parts)
		ovb_server_partition_destroy(srv->parts);
	ovb__loop_destroy(srv->loop);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

void ovb_server_set_max_version(struct ovb_server *srv, uint32_t max_version)
{
	srv->max_version = max_version;
}

void ovb_server_set_min_version(struct ovb_server *srv, uint32_t min_version)
{
	srv->min_version = min_version;
}

int ovb_server_register_vsp(struct ovb_server *srv,
			    const struct ovb_vsp_ops *ops, void *vsp_ctx)
{
	if (srv->nvsp == SRV_MAX_VSPS)
		return -ENOSPC;
	srv->vsp[srv->nvsp++] = (struct srv_vsp){ ops, vsp_ctx };
	return 0;
}

struct ovb_vsp_dev *ovb_server_find_dev(struct ovb_partition *part,
					uint32_t relid)
{
	struct ovb_vsp_dev *dev = NULL;

	ovb__srv_lock(part);
	if (relid && relid <= VMBUS_MAX_RELID && part->dev[relid] &&
	    part->dev[relid]->state != OFFER_RESCINDED)
		dev = part->dev[relid];
	ovb__srv_unlock(part);
	return dev;
}

/* ---- accessors ----------------------------------------------------------- */

void *ovb_vsp_dev_ctx(const struct ovb_vsp_dev *dev) { return dev->p.dev_ctx; }
uint32_t ovb_vsp_dev_relid(const struct ovb_vsp_dev *dev) { return dev->relid; }
uint16_t ovb_vsp_dev_subidx(const struct ovb_vsp_dev *dev) { return dev->subidx; }
struct ovb_gmem *ovb_partition_gmem(struct ovb_partition *part) { return part->gmem; }
const char *ovb_partition_name(const struct ovb_partition *part) { return part->name; }
unsigned int ovb_partition_id(const struct ovb_partition *part) { return part->id; }

struct ovb_partition *ovb_vsp_dev_partition(const struct ovb_vsp_dev *dev)
{
	return dev->part;
}

struct ovb_vsp_dev *ovb_vsp_dev_primary(struct ovb_vsp_dev *dev)
{
	return dev->primary ? dev->primary : dev;
}

uint32_t ovb_partition_message_vp(const struct ovb_partition *part)
{
	return __atomic_load_n(&part->target_vcpu, __ATOMIC_RELAXED);
}

uint32_t ovb_partition_version(const struct ovb_partition *part)
{
	return __atomic_load_n(&part->version, __ATOMIC_RELAXED);
}

/* ---- partitions ------------------------------------------------------------ */

int ovb_server_partition_create(struct ovb_server *srv, const char *name,
				const struct ovb_partition_link_ops *ops,
				void *link, struct ovb_gmem *gm,
				struct ovb_partition **out)
{
	struct ovb_partition *part;
	pthread_mutexattr_t attr;

	if (!gm)
		return -EINVAL;
	part = calloc(1, sizeof(*part));
	if (!part)
		return -ENOMEM;
	part->srv = srv;
	part->ops = ops;
	part->link = link;
	snprintf(part->name, sizeof(part->name), "%s", name);
	pthread_mutexattr_init(&attr);
#ifndef NDEBUG
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
#endif
	pthread_mutex_init(&part->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_cond_init(&part->cond, NULL);
	part->gmem = gm;
	part->monitor_tfd = -1;
	part->msg_sint = VMBUS_MESSAGE_SINT;

	pthread_mutex_lock(&srv->lock);
	part->id = srv->next_id++;
	part->next = srv->parts;
	srv->parts = part;
	pthread_mutex_unlock(&srv->lock);

	/* No message comes before we return; the offers take the lock. */
	for (unsigned int i = 0; i < srv->nvsp; i++)
		if (srv->vsp[i].ops->partition_add)
			srv->vsp[i].ops->partition_add(part, srv->vsp[i].ctx);
	ovb_info("partition %u '%s' joined", part->id, part->name);
	*out = part;
	return 0;
}

void ovb_server_partition_destroy(struct ovb_partition *part)
{
	struct ovb_server *srv = part->srv;
	struct ovb_partition **pp;

	ovb__srv_lock(part);
	/* Each close drops the lock: read the table again every time. */
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
		struct ovb_vsp_dev *dev = part->dev[r];

		if (dev && dev->state == OFFER_OPEN)
			ovb__srv_close(part, dev);
	}
	part->monitor_stop = true;
	ovb__srv_unlock(part);
	for (unsigned int i = 0; i < srv->nvsp; i++)
		if (srv->vsp[i].ops->partition_remove)
			srv->vsp[i].ops->partition_remove(part, srv->vsp[i].ctx);
	ovb__srv_lock(part);
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++)
		if (part->dev[r])
			ovb__srv_free_dev(part, part->dev[r]);
	ovb__srv_gpadl_free_relid(part, UINT32_MAX);
	for (unsigned int i = 0; i < SRV_MAX_ASM; i++)
		if (part->asm_used[i])
			ovb_gpadl_asm_free(&part->asm_[i]);
	/* A rescind on another thread may still hold a dev. */
	while (part->holds)
		ovb__srv_wait(part);
	ovb__srv_unlock(part);
	if (part->monitor_running)
		pthread_join(part->monitor_thread, NULL);
	ovb__srv_loop_monitor_stop(part);

	pthread_mutex_lock(&srv->lock);
	for (pp = &srv->parts; *pp; pp = &(*pp)->next)
		if (*pp == part) {
			*pp = part->next;
			break;
		}
	pthread_mutex_unlock(&srv->lock);
	ovb_info("partition %u '%s' gone; its channels and memory released",
		 part->id, part->name);
	pthread_cond_destroy(&part->cond);
	pthread_mutex_destroy(&part->lock);
	free(part);
}

/* ---- offers ----------------------------------------------------------------- */

int ovb__srv_send(struct ovb_partition *part, const void *msg, size_t len)
{
	if (OVB_FAULT_ON())
		return ovb__fault_msg(part, msg, len);
	return ovb__srv_send_raw(part, msg, len);
}

int ovb__srv_send_raw(struct ovb_partition *part, const void *msg, size_t len)
{
	const struct vmbus_channel_message_header *h = msg;
	int rc;

	if (OVB_CAPTURE_ON())
		ovb__cap_msg(part, OVB_CAP_TO_GUEST, msg, len);
	rc = part->ops->send_message(part->link, part->msg_sint, msg, len);
	if (!rc)
		return 0;
	/*
	 * The server never retries (server.h, send_message): the message is
	 * lost.  -EAGAIN says the guest left its message slot full past what
	 * the link queues -- a guest that stopped working -- and is dropped.
	 */
	ovb_peer("%s: message type %u to the guest lost: %s", part->name,
		 len >= sizeof(*h) ? h->msgtype : 0, strerror(-rc));
	if (rc == -EAGAIN && part->ops->disconnect)
		part->ops->disconnect(part->link,
				      "guest leaves its message slot full");
	return rc;
}

void ovb__srv_send_offer(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	struct vmbus_channel_offer_channel m;

	memset(&m, 0, sizeof(m));
	m.header.msgtype = CHANNELMSG_OFFERCHANNEL;
	m.if_type = dev->p.class_id;
	m.if_instance = dev->p.instance_id;
	m.chn_flags = dev->p.chn_flags;
	m.mmio_megabytes = dev->p.mmio_megabytes;
	memcpy(m.user_defined, dev->p.user_defined, sizeof(m.user_defined));
	m.sub_channel_index = dev->subidx;
	m.child_relid = dev->relid;
	if (dev->monitor_id >= 0) {
		m.monitorid = (uint8_t)dev->monitor_id;
		m.monitor_allocated = 1;
	}
	m.is_dedicated_interrupt = part->version >= VMBUS_VERSION_WIN7;
	m.connection_id = VMBUS_CHAN_CONNECTION_ID_BASE + dev->relid;
	dev->sent = true;
	ovb__srv_send(part, &m, sizeof(m));
}

static int alloc_monitor_id(struct ovb_partition *part)
{
	bool used[VMBUS_MONITOR_IDS] = { false };

	for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++)
		if (part->dev[r] && part->dev[r]->monitor_id >= 0)
			used[part->dev[r]->monitor_id] = true;
	for (int i = 0; i < (int)VMBUS_MONITOR_IDS; i++)
		if (!used[i])
			return i;
	return -1;
}

static int offer_locked(struct ovb_partition *part,
			const struct ovb_vsp_ops *ops,
			const struct ovb_offer_params *p,
			struct ovb_vsp_dev *primary, uint16_t subidx,
			struct ovb_vsp_dev **out)
{
	struct ovb_vsp_dev *dev;
	uint32_t relid;

	for (relid = 1; relid <= VMBUS_MAX_RELID && part->dev[relid]; relid++)
		;
	if (relid > VMBUS_MAX_RELID)
		return -ENOSPC;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->part = part;
	dev->ops = ops;
	dev->p = *p;
	dev->primary = primary;
	dev->relid = relid;
	dev->subidx = subidx;
	dev->monitor_id = p->monitored ? alloc_monitor_id(part) : -1;
	dev->state = OFFER_OFFERED;
	part->dev[relid] = dev;
	if (part->offers_requested)
		ovb__srv_send_offer(part, dev);
	if (out)
		*out = dev;
	return 0;
}

int ovb_server_offer(struct ovb_partition *part, const struct ovb_vsp_ops *ops,
		     const struct ovb_offer_params *p, struct ovb_vsp_dev **out)
{
	int rc;

	ovb__srv_lock(part);
	rc = offer_locked(part, ops, p, NULL, 0, out);
	ovb__srv_unlock(part);
	return rc;
}

int ovb_server_offer_subchannels(struct ovb_vsp_dev *primary, unsigned int n)
{
	struct ovb_partition *part = primary->part;
	unsigned int done = 0;
	int rc = 0;

	if (primary->primary || n > 64)
		return -EINVAL;
	/* Sub-channels (sub_channel_index) exist from Win8 (2.4) on. */
	if (ovb_partition_version(part) < VMBUS_VERSION_WIN8)
		return -EPROTONOSUPPORT;
	ovb__srv_lock(part);
	while (done < n) {
		struct ovb_offer_params p = primary->p;

		rc = offer_locked(part, primary->ops, &p, primary,
				  (uint16_t)(primary->nsub + 1), NULL);
		if (rc)
			break;
		primary->nsub++;
		done++;
	}
	ovb__srv_unlock(part);
	return done ? (int)done : rc;
}

void ovb__srv_dev_hold(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	dev->holds++;
	part->holds++;
}

bool ovb__srv_dev_put(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	bool gone = dev->freed;

	dev->holds--;
	if (--part->holds == 0)
		pthread_cond_broadcast(&part->cond);
	if (gone && !dev->holds)
		free(dev);
	return gone;
}

bool ovb__srv_dev_wait_idle(struct ovb_partition *part,
			    struct ovb_vsp_dev *dev)
{
	while (dev->busy && !pthread_equal(dev->busy_thread, pthread_self()))
		ovb__srv_wait(part);
	return !dev->busy;
}

void ovb__srv_free_dev(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	ovb__srv_dev_hold(part, dev);
	if (ovb__srv_dev_wait_idle(part, dev) && dev->state == OFFER_OPEN)
		ovb__srv_close(part, dev);
	if (!dev->freed) {
		if (part->dev[dev->relid] == dev)
			part->dev[dev->relid] = NULL;
		ovb__srv_gpadl_free_relid(part, dev->relid);
		dev->freed = true;
	}
	ovb__srv_dev_put(part, dev);
}

/* Rescind @dev and its sub-channels; part->lock held, dropped to close. */
static int rescind_locked(struct ovb_partition *part, struct ovb_vsp_dev *dev)
{
	struct vmbus_channel_relid_msg m = {
		.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
		.child_relid = dev->relid,
	};
	int rc = 0;

	if (dev->freed || dev->state == OFFER_RESCINDED)
		return -ENODEV;
	ovb__srv_dev_hold(part, dev);
	/* Sub-channels go with their primary. */
	for (uint32_t r = 1; !dev->primary && r <= VMBUS_MAX_RELID; r++)
		if (part->dev[r] && part->dev[r]->primary == dev)
			rescind_locked(part, part->dev[r]);
	ovb__srv_close(part, dev);
	/* The lock was dropped: another thread may have finished the job. */
	if (dev->freed || dev->state == OFFER_RESCINDED) {
		rc = -ENODEV;
	} else if (dev->sent && part->connected) {
		dev->state = OFFER_RESCINDED;
		ovb__srv_send(part, &m, sizeof(m));
		ovb_info("%s: relid %u rescinded", part->name, dev->relid);
	} else {
		ovb__srv_free_dev(part, dev);
	}
	ovb__srv_dev_put(part, dev);
	return rc;
}

int ovb_server_rescind(struct ovb_vsp_dev *dev)
{
	struct ovb_partition *part = dev->part;
	int rc = -ENODEV;

	ovb__srv_lock(part);
	if (part->dev[dev->relid] == dev)
		rc = rescind_locked(part, dev);
	ovb__srv_unlock(part);
	return rc;
}

/* ---- signals ---------------------------------------------------------------- */

static void wake_relid(struct ovb_partition *part, uint32_t relid)
{
	struct ovb_vsp_dev *dev;

	if (relid == 0 || relid > VMBUS_MAX_RELID)
		return;
	dev = part->dev[relid];
	if (dev && dev->state == OFFER_OPEN)
		ovb__chan_wake(dev->chan);
}

/* Test-and-clear every set bit of a shared bitmap; wake each relid. */
static void scan_bits(struct ovb_partition *part, uint32_t *words,
		      unsigned int nwords, unsigned int base)
{
	for (unsigned int w = 0; w < nwords; w++) {
		uint32_t bits;

		if (!__atomic_load_n(&words[w], __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(&words[w], 0, __ATOMIC_ACQ_REL);
		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctz(bits);

			bits &= bits - 1;
			wake_relid(part, base + w * 32 + b);
		}
	}
}

void ovb_server_signal_event(struct ovb_partition *part, uint32_t conn_id)
{
	ovb__srv_lock(part);
	if (conn_id > VMBUS_CHAN_CONNECTION_ID_BASE &&
	    conn_id <= VMBUS_CHAN_CONNECTION_ID_BASE + VMBUS_MAX_RELID)
		wake_relid(part, conn_id - VMBUS_CHAN_CONNECTION_ID_BASE);
	/* Shared interrupt (conn 2, or any < Win8): the send half names relids. */
	if (part->int_page)
		scan_bits(part, (uint32_t *)(void *)part->int_page->send,
			  sizeof(part->int_page->send) / 4, 0);
	ovb__srv_unlock(part);
}

/*
 * The monitor page: a guest may signal a monitored channel only by setting
 * its bit in trigger_group[].pending of page 2, with no hypercall.  While a
 * monitored channel is open it is scanned every 100 us, like Hyper-V's
 * periodic scan: by a thread, or caller-driven by a timerfd in the
 * server's loop (server_loop.c).
 */
void ovb__srv_monitor_scan(struct ovb_partition *part)
{
	struct hv_monitor_page *mp = part->monitor[1];

	for (unsigned int g = 0; mp && g < 4; g++) {
		uint32_t *pending = OVB_U32(mp->trigger_group[g].pending);
		uint32_t bits;

		if (!__atomic_load_n(pending, __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(pending, 0, __ATOMIC_ACQ_REL);
		while (bits) {
			unsigned int id = g * 32 + (unsigned int)__builtin_ctz(bits);

			bits &= bits - 1;
			for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++)
				if (part->dev[r] &&
				    part->dev[r]->monitor_id == (int)id)
					wake_relid(part, r);
		}
	}
}

bool ovb__srv_monitor_needed(struct ovb_partition *part)
{
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID && part->monitor[1]; r++)
		if (part->dev[r] && part->dev[r]->state == OFFER_OPEN &&
		    part->dev[r]->monitor_id >= 0)
			return true;
	return false;
}

/*
 * Does an open monitored channel have a guest that signals through the
 * monitor page alone?  A guest that gave us event fds (EVENT_FDS) signals
 * through them: our client never does both (client_chan.c), and DPDK
 * behind uio_hv_generic has no event fds.  part->lock held.
 */
static bool monitor_only_open(struct ovb_partition *part)
{
	for (uint32_t r = 1; r <= VMBUS_MAX_RELID && part->monitor[1]; r++)
		if (part->dev[r] && part->dev[r]->state == OFFER_OPEN &&
		    part->dev[r]->monitor_id >= 0 &&
		    !ovb__chan_has_peer_fd(part->dev[r]->chan))
			return true;
	return false;
}

/*
 * The scanner thread.  Every 100 us while a channel depends on the page;
 * every MONITOR_IDLE_US while every monitored channel has event fds (the
 * page is still honoured, late): 10,000 wake-ups a second per partition
 * cost a 2-core host several percent of a CPU for nothing.  Which of the
 * two is rechecked every MONITOR_IDLE_US.
 */
static void *monitor_main(void *arg)
{
	struct ovb_partition *part = arg;
	struct timespec fast = { 0, MONITOR_SCAN_US * 1000 };
	struct timespec slow = { 0, MONITOR_IDLE_US * 1000 };
	unsigned int n = 0;
	bool needed = true;

	while (!__atomic_load_n(&part->monitor_stop, __ATOMIC_ACQUIRE)) {
		ovb__srv_lock(part);
		if (!needed || !(n++ % (MONITOR_IDLE_US / MONITOR_SCAN_US)))
			needed = monitor_only_open(part);
		ovb__srv_monitor_scan(part);
		ovb__srv_unlock(part);
		nanosleep(needed ? &fast : &slow, NULL);
	}
	return NULL;
}

void ovb__srv_monitor_update(struct ovb_partition *part)
{
	bool need = ovb__srv_monitor_needed(part);

	if (need && part->srv->loop)
		ovb__srv_loop_monitor_arm(part);
	else if (need && !part->monitor_running) {
		part->monitor_stop = false;
		if (!pthread_create(&part->monitor_thread, NULL, monitor_main,
				    part))
			part->monitor_running = true;
	}
}

int ovb_server_set_event_fds(struct ovb_partition *part, uint32_t relid,
			     uint32_t conn_id, int kick_fd, int call_fd)
{
	struct ovb_vsp_dev *dev;
	int rc = -ENODEV;

	ovb__srv_lock(part);
	dev = relid && relid <= VMBUS_MAX_RELID ? part->dev[relid] : NULL;
	if (dev && dev->state == OFFER_OPEN) {
		ovb__chan_set_peer_fds(dev->chan, kick_fd, call_fd);
		rc = 0;
	}
	ovb__srv_unlock(part);
	if (rc)
		ovb_peer("%s: EVENT_FDS for relid %u, which is not open",
			 part->name, relid);
	return rc;
}

int ovb_server_post_message(struct ovb_partition *part, uint32_t conn_id,
			    const void *msg, size_t len)
{
	int rc;

	ovb__srv_lock(part);
	if (OVB_CAPTURE_ON())
		ovb__cap_msg(part, OVB_CAP_TO_HOST, msg, len);
	rc = ovb__srv_dispatch(part, conn_id, msg, len);
	ovb__srv_unlock(part);
	return rc;
}

/* ---- statistics ------------------------------------------------------------- */

void ovb_server_report(struct ovb_server *srv,
		       void (*fn)(const struct ovb_chan_report *r, void *ctx),
		       void *ctx)
{
	pthread_mutex_lock(&srv->lock);
	for (struct ovb_partition *part = srv->parts; part; part = part->next) {
		ovb__srv_lock(part);
		for (uint32_t r = 1; r <= VMBUS_MAX_RELID; r++) {
			struct ovb_vsp_dev *dev = part->dev[r];
			struct ovb_chan_report rep = { 0 };

			if (!dev)
				continue;
			rep.partition_id = part->id;
			rep.partition = part->name;
			rep.version = part->version;
			rep.device = dev->ops->name;
			rep.relid = r;
			rep.subidx = dev->subidx;
			rep.open = dev->state == OFFER_OPEN;
			if (rep.open) {
				ovb_chan_get_stats(dev->chan, &rep.st);
				ovb_chan_get_ring_info(dev->chan, &rep.ring);
			}
			fn(&rep, ctx);
		}
		ovb__srv_unlock(part);
	}
	pthread_mutex_unlock(&srv->lock);
}
