/* SPDX-License-Identifier: MIT */
/*
 * A scripted host for the real client, with no server behind it: it is
 * the client's link (post_message, signal_event, set_event_fds), records
 * everything the guest sends, and answers from a small script -- accept
 * versions up to a maximum, offer the channels the test lists, answer
 * GPADLs, opens, closes and teardowns, and UNLOAD only if told to.  The
 * tests check what a guest sends toward hosts we cannot run here (0.13,
 * 1.1, a host that never answers UNLOAD, one that rescinds mid-open).
 * Answers are delivered on the posting thread, after the client has
 * registered its wait (as a fast host would).
 */
#ifndef OPENVMBUS_TESTS_SHOST_H
#define OPENVMBUS_TESTS_SHOST_H

#include <pthread.h>
#include <stdbool.h>

#include "openvmbus/client.h"
#include "openvmbus/gmem.h"
#include "openvmbus/hv.h"

#define SHOST_MAX_REC 512
#define SHOST_MAX_OFFERS 8

enum { SH_POST, SH_SIGNAL, SH_FDS };

/** One thing the guest did. */
struct shost_rec {
	int kind;          /**< SH_POST, SH_SIGNAL, SH_FDS */
	uint32_t conn_id;  /**< POST: message connection; SIGNAL/FDS: event */
	uint32_t relid;    /**< FDS */
	uint32_t type;     /**< POST: message type */
	size_t len;
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

struct shost {
	struct ovb_gmem *gm;
	struct ovb_client *cl;
	pthread_mutex_t lock;
	/* Script (set before connect; change under lock afterwards). */
	uint32_t max_version;       /**< accept versions <= this (0: all) */
	uint32_t msg_conn_id;       /**< VERSION_RESPONSE msg_conn_id (>= 5.0) */
	bool answer_unload;         /**< send UNLOAD_RESPONSE */
	uint32_t silent_type;       /**< never answer this message type */
	uint32_t rescind_on_open;   /**< relid: answer its OPEN with RESCIND */
	struct vmbus_channel_offer_channel offers[SHOST_MAX_OFFERS];
	unsigned int noffers;
	/* Record. */
	unsigned int n;
	struct shost_rec rec[SHOST_MAX_REC];
};

/** A host with 16 MiB of guest memory; @eventfds: offer the fast path. */
struct shost *shost_new(bool eventfds);
void shost_free(struct shost *h);

/** Add an offer of @class_id at @relid with connection id @conn_id. */
void shost_offer(struct shost *h, const struct vmbus_guid *class_id,
		 uint32_t relid, uint32_t conn_id, bool dedicated);

/** Records of @kind (and, for SH_POST, message @type; 0: any). */
unsigned int shost_count(struct shost *h, int kind, uint32_t type);
/** The @i-th record of @kind/@type, copied into @out; false if none. */
bool shost_get(struct shost *h, int kind, uint32_t type, unsigned int i,
	       struct shost_rec *out);
/** Deliver @msg to the client now, as the host would. */
void shost_send(struct shost *h, const void *msg, size_t len);

#endif
