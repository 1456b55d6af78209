/* SPDX-License-Identifier: MIT */
/*
 * Client internals shared by client.c (contact, messages, offers, work
 * thread) and client_chan.c (open, close, GPADLs).  Layer: bus.
 */
#ifndef OVB_BUS_CLIENT_PRIV_H
#define OVB_BUS_CLIENT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "bus/chan_internal.h"
#include "openvmbus/client.h"
#include "openvmbus/hv.h"
#include "openvmbus/vsc.h"

#define CL_MAX_DRIVERS 16

struct ovb_vsc_dev {
	struct ovb_client *cl;
	struct vmbus_channel_offer_channel offer;
	struct ovb_vsc_dev *primary;
	const struct ovb_vsc_driver *drv; /* bound driver (primary) */
	void *drv_ctx;
	void *ctx;
	bool rescinded;
	bool probed;          /* handed to its driver (bind_lock) */
	bool bound;           /* primary: probe succeeded */
	bool notified;        /* sub-channel: its driver was told */
	struct ovb_chan *chan;
	bool use_monitor;
	bool user_rings;      /* opened by ovb_vsc_open_user: no chan */
	void *ring;           /* ring pages */
	size_t ring_bytes;
	uint32_t ring_gpadl;
};

/* A thread waiting for one host message (type + key). */
struct cl_wait {
	struct cl_wait *next;
	uint32_t type;
	uint32_t key;
	uint32_t relid;     /* the channel it is about (0: none) */
	bool done;
	bool rescinded;     /* that channel was rescinded meanwhile */
	size_t len;
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

struct cl_work {
	struct cl_work *next;
	enum { WORK_OFFER, WORK_RESCIND } kind;
	struct ovb_vsc_dev *dev;
};

struct ovb_client {
	const struct ovb_client_link_ops *ops;
	void *link;
	struct ovb_gmem *gm;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Serialises driver probe (connect, work thread) and release. */
	pthread_mutex_t bind_lock;
	struct cl_wait *waits;
	bool dead;          /* link down */
	bool connected;
	bool offers_done;   /* ALL_OFFERS_DELIVERED seen */
	uint32_t version;
	uint32_t msg_conn_id;
	int timeout_ms;
	/* Set by ovb_client_set_deadline: no wait ends after it. */
	bool has_deadline;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	uint32_t next_gpadl;
	void *int_page;     /* < 5.0 */
	void *monitor;      /* two pages: parent->child, child->parent */

	struct ovb_vsc_dev *dev[VMBUS_MAX_RELID + 1];
	struct {
		const struct ovb_vsc_driver *drv;
		void *ctx;
	} drv[CL_MAX_DRIVERS];
	unsigned int ndrv;

	pthread_t worker;
	struct cl_work *work, **work_tail;
	bool work_stop;
	bool work_busy;    /* the work thread is handling an item */
	bool work_blocked; /* unloading: queue nothing */
};

/* client.c */
void ovb__cl_wait_init(struct ovb_client *cl, struct cl_wait *w,
		       uint32_t type, uint32_t key);
/*
 * Wait for @w's answer for cl->timeout_ms at most (less past the client's
 * deadline).  0; -ETIMEDOUT; -ECONNRESET (link down); -ENODEV (w->relid
 * was set and the host rescinded that channel meanwhile: Linux
 * vmbus_rescind_cleanup completes such waits at once).
 */
int ovb__cl_wait(struct ovb_client *cl, struct cl_wait *w);
/*
 * The connection id the guest signals channel @dev on: the offer's from
 * VMBus 1.1 (Win7) on, VMBUS_EVENT_CONNECTION_ID (2) at 0.13, where the
 * offer's field means nothing (Linux vmbus_onoffer).
 */
uint32_t ovb__cl_signal_conn_id(const struct ovb_vsc_dev *dev);
void ovb__cl_wait_cancel(struct ovb_client *cl, struct cl_wait *w);
int ovb__cl_post(struct ovb_client *cl, const void *msg, size_t len);
/*
 * Probe a driver for @dev (or tell its primary's driver of a sub-channel),
 * once.  cl->bind_lock held.
 */
void ovb__cl_bind(struct ovb_client *cl, struct ovb_vsc_dev *dev);
/* Remove the driver and close the channel. */
void ovb__cl_unbind(struct ovb_client *cl, struct ovb_vsc_dev *dev);
/*
 * Drop queued offer/rescind work, wait for the item in hand and queue
 * nothing more until ovb__cl_work_unblock(): the devices are about to be
 * freed.  cl->lock held.
 */
void ovb__cl_work_block(struct ovb_client *cl);
void ovb__cl_work_unblock(struct ovb_client *cl);

#endif
