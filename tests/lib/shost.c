// SPDX-License-Identifier: MIT
/* The scripted host (see shost.h). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "tests/lib/shost.h"

static void rec_add(struct shost *h, int kind, uint32_t conn, uint32_t relid,
		    const void *msg, size_t len)
{
	struct shost_rec *r;

	pthread_mutex_lock(&h->lock);
	if (h->n < SHOST_MAX_REC) {
		r = &h->rec[h->n++];
		memset(r, 0, sizeof(*r));
		r->kind = kind;
		r->conn_id = conn;
		r->relid = relid;
		if (len >= 4)
			memcpy(&r->type, msg, 4);
		r->len = len;
		if (len)
			memcpy(r->msg, msg, len);
	}
	pthread_mutex_unlock(&h->lock);
}

void shost_send(struct shost *h, const void *msg, size_t len)
{
	ovb_client_deliver_message(h->cl, VMBUS_MESSAGE_SINT, msg, len);
}

static void answer_contact(struct shost *h, const void *msg)
{
	struct vmbus_channel_initiate_contact c;
	struct vmbus_channel_version_response r = {
		.header.msgtype = CHANNELMSG_VERSION_RESPONSE };

	memcpy(&c, msg, VMBUS_INITIATE_CONTACT_SIZE);
	r.version_supported = !h->max_version ||
			      c.vmbus_version_requested <= h->max_version;
	r.msg_conn_id = h->msg_conn_id;
	shost_send(h, &r, VMBUS_VERSION_RESPONSE_SIZE);
}

static void answer(struct shost *h, uint32_t type, const uint8_t *msg,
		   size_t len)
{
	uint32_t w[4] = { 0 };

	memcpy(w, msg, len < sizeof(w) ? len : sizeof(w));
	switch (type) {
	case CHANNELMSG_INITIATE_CONTACT:
		answer_contact(h, msg);
		break;
	case CHANNELMSG_REQUESTOFFERS: {
		struct vmbus_channel_message_header done = {
			.msgtype = CHANNELMSG_ALLOFFERS_DELIVERED };

		for (unsigned int i = 0; i < h->noffers; i++)
			shost_send(h, &h->offers[i], sizeof(h->offers[i]));
		shost_send(h, &done, sizeof(done));
		break;
	}
	case CHANNELMSG_GPADL_HEADER: {
		/*
		 * Answered at the header: the client registers its wait
		 * before it posts, so an early answer is taken all the same.
		 */
		struct vmbus_channel_gpadl_created r = {
			.header.msgtype = CHANNELMSG_GPADL_CREATED,
			.child_relid = w[2], .gpadl = w[3] };

		shost_send(h, &r, sizeof(r));
		break;
	}
	case CHANNELMSG_GPADL_TEARDOWN: {
		struct vmbus_channel_gpadl_torndown r = {
			.header.msgtype = CHANNELMSG_GPADL_TORNDOWN,
			.gpadl = w[3] };

		shost_send(h, &r, sizeof(r));
		break;
	}
	case CHANNELMSG_OPENCHANNEL: {
		struct vmbus_channel_open_result r = {
			.header.msgtype = CHANNELMSG_OPENCHANNEL_RESULT,
			.child_relid = w[2], .openid = w[3] };
		struct vmbus_channel_relid_msg m = {
			.header.msgtype = CHANNELMSG_RESCIND_CHANNELOFFER,
			.child_relid = w[2] };

		if (h->rescind_on_open && h->rescind_on_open == w[2])
			shost_send(h, &m, sizeof(m));
		else
			shost_send(h, &r, sizeof(r));
		break;
	}
	case CHANNELMSG_UNLOAD: {
		struct vmbus_channel_message_header r = {
			.msgtype = CHANNELMSG_UNLOAD_RESPONSE };

		if (h->answer_unload)
			shost_send(h, &r, sizeof(r));
		break;
	}
	default:
		break; /* CLOSECHANNEL, RELID_RELEASED: no answer */
	}
}

static int sh_post(void *link, uint32_t conn_id, const void *msg, size_t len)
{
	struct shost *h = link;
	uint32_t type = 0, silent;

	if (len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return -EMSGSIZE;
	rec_add(h, SH_POST, conn_id, 0, msg, len);
	if (len >= 4)
		memcpy(&type, msg, 4);
	pthread_mutex_lock(&h->lock);
	silent = h->silent_type;
	pthread_mutex_unlock(&h->lock);
	if (type != silent)
		answer(h, type, msg, len);
	return 0;
}

static int sh_signal(void *link, uint32_t conn_id)
{
	rec_add(link, SH_SIGNAL, conn_id, 0, NULL, 0);
	return 0;
}

static int sh_fds(void *link, uint32_t relid, uint32_t conn_id, int kick,
		  int call)
{
	rec_add(link, SH_FDS, conn_id, relid, NULL, 0);
	close(kick);
	close(call);
	return 0;
}

static const struct ovb_client_link_ops sh_ops = {
	.post_message = sh_post,
	.signal_event = sh_signal,
	.set_event_fds = sh_fds,
};

static const struct ovb_client_link_ops sh_ops_slow = {
	.post_message = sh_post,
	.signal_event = sh_signal,
};

struct shost *shost_new(bool eventfds)
{
	struct shost *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	pthread_mutex_init(&h->lock, NULL);
	assert_int_equal(ovb_memfd_gmem_create("scripted", &h->gm), 0);
	assert_true(ovb_memfd_gmem_create_region(h->gm, 1ull << 30,
						 16 << 20) >= 0);
	assert_int_equal(ovb_client_create(eventfds ? &sh_ops : &sh_ops_slow,
					   h, h->gm, &h->cl), 0);
	h->answer_unload = true;
	return h;
}

void shost_free(struct shost *h)
{
	ovb_client_link_down(h->cl);
	ovb_client_destroy(h->cl);
	ovb_gmem_destroy(h->gm);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void shost_offer(struct shost *h, const struct vmbus_guid *class_id,
		 uint32_t relid, uint32_t conn_id, bool dedicated)
{
	struct vmbus_channel_offer_channel *o = &h->offers[h->noffers++];

	assert_true(h->noffers <= SHOST_MAX_OFFERS);
	memset(o, 0, sizeof(*o));
	o->header.msgtype = CHANNELMSG_OFFERCHANNEL;
	o->if_type = *class_id;
	o->if_instance.b[0] = 0x5c;
	o->if_instance.b[15] = (uint8_t)relid;
	o->child_relid = relid;
	o->connection_id = conn_id;
	o->is_dedicated_interrupt = dedicated;
}

unsigned int shost_count(struct shost *h, int kind, uint32_t type)
{
	unsigned int n = 0;

	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i < h->n; i++)
		n += h->rec[i].kind == kind &&
		     (kind != SH_POST || !type || h->rec[i].type == type);
	pthread_mutex_unlock(&h->lock);
	return n;
}

bool shost_get(struct shost *h, int kind, uint32_t type, unsigned int i,
	       struct shost_rec *out)
{
	bool found = false;

	pthread_mutex_lock(&h->lock);
	for (unsigned int k = 0; k < h->n && !found; k++) {
		const struct shost_rec *r = &h->rec[k];

		if (r->kind != kind ||
		    (kind == SH_POST && type && r->type != type))
			continue;
		if (i-- == 0) {
			*out = *r;
			found = true;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}
