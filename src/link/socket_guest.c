// SPDX-License-Identifier: MIT
/*
 * The guest end of the socket link (docs/link.md): connects to the
 * host, shares guest RAM as one memfd region, and carries the client's
 * hypercalls (POST_MESSAGE, SIGNAL_EVENT, EVENT_FDS) out and the host's
 * SynIC messages and events in, on a reader thread.  The host is not
 * trusted: every datagram is validated before use.  Layer: link.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "link/link_priv.h"
#include "openvmbus/client.h"
#include "openvmbus/gmem.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/log.h"

#define GUEST_SEND_WAIT 5000 /* ms the host may leave its socket full */

struct ovb_link_guest {
	int fd;
	struct ovb_gmem *gmem;
	struct ovb_client *cl;
	pthread_t reader;
	bool reader_started;
};

static int guest_post(void *link, uint32_t conn_id, const void *msg,
		      size_t len)
{
	struct ovb_link_guest *g = link;
	struct ovb_link_message m = { .id = conn_id,
				      .message_type = HVMSG_VMBUS,
				      .payload_size = (uint32_t)len };

	if (len > sizeof(m.payload))
		return -EMSGSIZE;
	memcpy(m.payload, msg, len);
	return ovb__link_send(g->fd, OVB_LINK_POST_MESSAGE, &m, sizeof(m), NULL,
			      0, GUEST_SEND_WAIT);
}

static int guest_signal(void *link, uint32_t conn_id)
{
	struct ovb_link_guest *g = link;
	struct ovb_link_event e = { .id = conn_id };

	return ovb__link_send(g->fd, OVB_LINK_SIGNAL_EVENT, &e, sizeof(e), NULL,
			      0, GUEST_SEND_WAIT);
}

static int guest_set_fds(void *link, uint32_t relid, uint32_t conn_id,
			 int kick_fd, int call_fd)
{
	struct ovb_link_guest *g = link;
	struct ovb_link_event_fds e = { .child_relid = relid,
					.connection_id = conn_id };
	int fds[2] = { kick_fd, call_fd };
	int rc = ovb__link_send(g->fd, OVB_LINK_EVENT_FDS, &e, sizeof(e), fds,
				2, GUEST_SEND_WAIT);

	/* The host has its own copies now (or never will). */
	close(kick_fd);
	close(call_fd);
	return rc;
}

static const struct ovb_client_link_ops guest_ops = {
	.post_message = guest_post,
	.signal_event = guest_signal,
	.set_event_fds = guest_set_fds,
};

static const struct ovb_client_link_ops guest_ops_slow = {
	.post_message = guest_post,
	.signal_event = guest_signal,
};

/* One datagram from the host.  Returns false when the link must end. */
static bool guest_datagram(struct ovb_link_guest *g, const uint8_t *buf,
			   size_t n, int nfds)
{
	const void *body = buf + sizeof(struct ovb_link_hdr);
	const char *why = NULL;
	uint32_t type;

	if (ovb__link_check(buf, n, &why) || nfds) {
		ovb_warn("host link: %s; disconnecting",
			 why ? why : "unexpected fds attached");
		ovb__link_send_error(g->fd, EBADMSG, why ? why : "fds");
		return false;
	}
	memcpy(&type, buf, sizeof(type));
	switch (type) {
	case OVB_LINK_MESSAGE: {
		const struct ovb_link_message *m = body;

		if (m->payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT ||
		    m->message_type != HVMSG_VMBUS) {
			ovb_peer("host link: MESSAGE with type %u size %u "
				 "dropped", m->message_type, m->payload_size);
			return true;
		}
		ovb_client_deliver_message(g->cl, m->id, m->payload,
					   m->payload_size);
		return true;
	}
	case OVB_LINK_EVENT:
		ovb_client_deliver_event(g->cl,
					 ((const struct ovb_link_event *)body)->id);
		return true;
	case OVB_LINK_ERROR: {
		char text[OVB_LINK_ERROR_TEXT_MAX + 1];
		size_t len = n - sizeof(struct ovb_link_hdr) - 4;

		memcpy(text, (const uint8_t *)body + 4, len);
		text[len] = 0;
		ovb_err("host closed the link: %s", text);
		return false;
	}
	default:
		ovb_warn("host link: unexpected %s datagram; disconnecting",
			 ovb__link_type_name(type));
		return false;
	}
}

static void *guest_reader(void *arg)
{
	struct ovb_link_guest *g = arg;
	uint8_t buf[OVB_LINK_MAX_DGRAM + 8];

	for (;;) {
		int fds[2], nfds = 0;
		ssize_t n = ovb__link_recv(g->fd, buf, sizeof(buf), fds, &nfds);
		bool ok;

		if (n <= 0 && n != -EBADMSG) {
			if (n < 0)
				ovb_warn("host link: %s", strerror((int)-n));
			break;
		}
		ok = n > 0 && guest_datagram(g, buf, (size_t)n, nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (!ok)
			break;
	}
	ovb_client_link_down(g->cl);
	return NULL;
}

/* Wait for WELCOME (or the host's ERROR) after HELLO. */
static int guest_welcome(struct ovb_link_guest *g)
{
	uint8_t buf[OVB_LINK_MAX_DGRAM + 8];
	struct pollfd p = { .fd = g->fd, .events = POLLIN };
	const char *why = NULL;
	int fds[2], nfds;
	ssize_t n;
	uint32_t type;

	if (poll(&p, 1, 5000) != 1)
		return -ETIMEDOUT;
	n = ovb__link_recv(g->fd, buf, sizeof(buf), fds, &nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return (int)n;
	if (ovb__link_check(buf, (size_t)n, &why))
		return -EPROTO;
	memcpy(&type, buf, sizeof(type));
	if (type == OVB_LINK_ERROR) {
		buf[n] = 0;
		ovb_err("host refused the partition: %s", (char *)buf + 12);
		return -EPROTO;
	}
	if (type != OVB_LINK_WELCOME)
		return -EPROTO;
	return 0;
}

int ovb_link_guest_connect(const struct ovb_link_guest_params *p,
			   struct ovb_link_guest **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ovb_link_hello hello = { .link_version = OVB_LINK_VERSION };
	struct ovb_link_mem_region mr;
	struct ovb_link_guest *g;
	int rc, mem_fd;

	if (strlen(p->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	strcpy(sa.sun_path, p->path);
	g->fd = -1;
	rc = ovb_memfd_gmem_create(p->name, &g->gmem);
	if (rc)
		goto err;
	g->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (g->fd < 0 || connect(g->fd, (void *)&sa, sizeof(sa))) {
		rc = -errno;
		goto err;
	}
	hello.vp_count = p->vp_count ? p->vp_count : 1;
	strncpy(hello.name, p->name, sizeof(hello.name) - 1);
	mem_fd = ovb_memfd_gmem_create_region(g->gmem, p->mem_gpa,
					      p->mem_size);
	if (mem_fd < 0) {
		rc = mem_fd;
		goto err;
	}
	mr = (struct ovb_link_mem_region){ .gpa = p->mem_gpa,
					   .size = p->mem_size };
	rc = ovb__link_send(g->fd, OVB_LINK_HELLO, &hello, sizeof(hello), NULL,
			    0, GUEST_SEND_WAIT);
	if (!rc)
		rc = ovb__link_send(g->fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr),
				    &mem_fd, 1, GUEST_SEND_WAIT);
	if (!rc && p->extra_size && p->extra_fd >= 0) {
		int efd = p->extra_fd;

		mr = (struct ovb_link_mem_region){ .gpa = p->extra_gpa,
						   .size = p->extra_size };
		rc = ovb__link_send(g->fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr),
				    &efd, 1, GUEST_SEND_WAIT);
	}
	if (!rc)
		rc = guest_welcome(g);
	if (!rc)
		rc = ovb_client_create(p->no_eventfd ? &guest_ops_slow
						     : &guest_ops,
				       g, g->gmem, &g->cl);
	if (rc)
		goto err;
	rc = -pthread_create(&g->reader, NULL, guest_reader, g);
	if (rc) {
		ovb_client_destroy(g->cl);
		goto err;
	}
	g->reader_started = true;
	*out = g;
	return 0;
err:
	if (g->fd >= 0)
		close(g->fd);
	ovb_gmem_destroy(g->gmem);
	free(g);
	return rc;
}

struct ovb_client *ovb_link_guest_client(struct ovb_link_guest *g)
{
	return g->cl;
}

void ovb_link_guest_destroy(struct ovb_link_guest *g)
{
	shutdown(g->fd, SHUT_RDWR);
	if (g->reader_started)
		pthread_join(g->reader, NULL);
	ovb_client_destroy(g->cl);
	close(g->fd);
	ovb_gmem_destroy(g->gmem);
	free(g);
}
