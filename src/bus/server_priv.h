/* SPDX-License-Identifier: MIT */
/*
 * Server internals shared by server.c (partitions, offers, signals),
 * server_msg.c (channel-message handlers) and server_chan.c (GPADLs, open,
 * close).  Layer: bus.
 */
#ifndef OVB_BUS_SERVER_PRIV_H
#define OVB_BUS_SERVER_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "bus/chan_internal.h"
#include "openvmbus/gpadl.h"
#include "openvmbus/server.h"

#define SRV_MAX_VSPS 16
#define SRV_MAX_ASM 8 /* GPADLs being reassembled at once */
/*
 * What one partition's GPADLs may hold of host memory: at most this many
 * GPADLs (complete or in flight) and PFN words (8 bytes each; 2^24 words
 * describe 64 GiB of guest pages).
 */
#define SRV_MAX_GPADLS 4096u
#define SRV_MAX_GPADL_WORDS (1u << 24)

enum offer_state {
	OFFER_OFFERED,   /* offered (or not yet sent), channel closed */
	OFFER_OPEN,      /* channel open, worker running */
	OFFER_RESCINDED, /* rescind sent, waiting for RELID_RELEASED */
};

struct ovb_vsp_dev {
	struct ovb_partition *part;
	const struct ovb_vsp_ops *ops;
	struct ovb_offer_params p;
	struct ovb_vsp_dev *primary; /* NULL for a primary */
	uint32_t relid;
	uint16_t subidx;
	uint16_t nsub;               /* sub-channels offered (primary) */
	int monitor_id;              /* -1: none */
	enum offer_state state;
	bool sent;                   /* OFFER_CHANNEL reached the guest */
	struct ovb_chan *chan;       /* when OFFER_OPEN */
	uint32_t ring_gpadl;
	struct ovb_gmem_view ring_view;
	uint32_t target_vp;
	bool open_refused; /* the last OPEN failed: a CLOSE may follow */
	bool closing;      /* ovb__srv_close() has dropped the lock */
	bool free_pending; /* freed while closing: the closer frees */
};

struct srv_gpadl {
	struct srv_gpadl *next;
	uint32_t handle;
	uint32_t relid;
	uint32_t nranges;
	struct ovb_gpa_range *ranges;
	struct ovb_gpadl_asm words; /* owns the PFN storage */
	int refs;                   /* ring or device users */
	bool teardown_pending;      /* TORNDOWN owed when refs hit 0 */
};

struct ovb_partition {
	struct ovb_server *srv;
	struct ovb_partition *next;
	unsigned int id;
	char name[64];
	const struct ovb_partition_link_ops *ops;
	void *link;
	pthread_mutex_t lock; /* recursive: VSP callbacks may re-enter */
	struct ovb_gmem gmem;

	bool connected;        /* INITIATE_CONTACT accepted */
	bool offers_requested; /* REQUEST_OFFERS seen: hot add sends at once */
	uint32_t version;
	uint32_t msg_conn_id;
	uint32_t target_vcpu;
	uint32_t features;
	struct vmbus_interrupt_page *int_page; /* < WIN8 */
	struct hv_monitor_page *monitor[2];    /* parent->child, child->parent */

	struct ovb_vsp_dev *dev[VMBUS_MAX_RELID + 1]; /* by relid */
	struct srv_gpadl *gpadls;
	struct ovb_gpadl_asm asm_[SRV_MAX_ASM];
	bool asm_used[SRV_MAX_ASM];

	pthread_t monitor_thread;
	bool monitor_running, monitor_stop;
};

struct srv_vsp {
	const struct ovb_vsp_ops *ops;
	void *ctx;
};

struct ovb_server {
	pthread_mutex_t lock; /* partition list */
	struct ovb_partition *parts;
	unsigned int next_id;
	struct srv_vsp vsp[SRV_MAX_VSPS];
	unsigned int nvsp;
	uint32_t max_version; /* 0: all */
	uint32_t min_version;
};

/* server.c */
int ovb__srv_send(struct ovb_partition *part, const void *msg, size_t len);
void ovb__srv_send_offer(struct ovb_partition *part, struct ovb_vsp_dev *dev);
void ovb__srv_free_dev(struct ovb_partition *part, struct ovb_vsp_dev *dev);
void ovb__srv_monitor_update(struct ovb_partition *part);

/* server_chan.c */
int ovb__srv_gpadl_header(struct ovb_partition *part, const void *msg,
			  size_t len);
int ovb__srv_gpadl_body(struct ovb_partition *part, const void *msg,
			size_t len);
int ovb__srv_gpadl_teardown(struct ovb_partition *part, const void *msg,
			    size_t len);
void ovb__srv_gpadl_free_relid(struct ovb_partition *part, uint32_t relid);
int ovb__srv_open(struct ovb_partition *part, const void *msg, size_t len);
/* Close @dev's channel; drops and retakes part->lock around the join. */
void ovb__srv_close(struct ovb_partition *part, struct ovb_vsp_dev *dev);

/* server_msg.c */
int ovb__srv_dispatch(struct ovb_partition *part, uint32_t conn_id,
		      const void *msg, size_t len);

#endif
