// SPDX-License-Identifier: MIT
/*
 * The host end of the socket link (docs/link.md): a unix
 * SOCK_SEQPACKET listener, one connection per guest partition, an epoll
 * loop on the link thread that validates every datagram and feeds the
 * server -- and, for a caller-driven server, takes its channels' turns
 * too, so that the whole host runs on that one thread.  A guest that breaks the link protocol gets ERROR and is
 * disconnected; a guest that disconnects, crashes or is killed loses
 * everything it held and nothing else.  Layer: link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "link/link_priv.h"
#include "openvmbus/gmem.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/log.h"

#define HOST_BATCH 64       /* datagrams per connection per turn */
#define HOST_SEND_WAIT 1000 /* ms a guest may leave its socket full */

struct conn {
	struct ovb_link_host *h;
	struct conn *next;
	int fd;
	struct ovb_partition *part; /* after HELLO */
	struct ovb_gmem *gmem;      /* the guest's RAM, after HELLO */
	bool posted;                /* a POST_MESSAGE was seen */
	char name[64];
};

struct ovb_link_host {
	struct ovb_server *srv;
	char path[108];
	int lfd, epfd, stopfd;
	struct conn *conns;
	unsigned int nconns;
	unsigned int seq;
};

/* ---- server -> guest ------------------------------------------------------ */

static void conn_kick(struct conn *c, const char *why)
{
	ovb_warn("%s: %s; disconnecting it", c->name, why);
	shutdown(c->fd, SHUT_RDWR);
}

static int host_send_message(void *link, uint32_t sint, const void *msg,
			     size_t len)
{
	struct conn *c = link;
	struct ovb_link_message m = { .id = sint,
				      .message_type = HVMSG_VMBUS,
				      .payload_size = (uint32_t)len };
	int rc;

	if (len > sizeof(m.payload))
		return -EMSGSIZE;
	memcpy(m.payload, msg, len);
	rc = ovb__link_send(c->fd, OVB_LINK_MESSAGE, &m, sizeof(m), NULL, 0,
			    HOST_SEND_WAIT);
	if (rc == -ETIMEDOUT)
		conn_kick(c, "guest does not read its link");
	return rc;
}

static int host_signal(void *link, uint32_t relid)
{
	struct conn *c = link;
	struct ovb_link_event e = { .id = relid };
	int rc = ovb__link_send(c->fd, OVB_LINK_EVENT, &e, sizeof(e), NULL, 0,
				HOST_SEND_WAIT);

	if (rc == -ETIMEDOUT)
		conn_kick(c, "guest does not read its link");
	return rc;
}

static void host_disconnect(void *link, const char *why)
{
	conn_kick(link, why);
}

static const struct ovb_partition_link_ops host_link_ops = {
	.send_message = host_send_message,
	.signal = host_signal,
	.disconnect = host_disconnect,
};

/* ---- guest -> server -------------------------------------------------------- */

/* Protocol violation: ERROR to the guest, then the caller closes. */
static int conn_error(struct conn *c, int code, const char *what)
{
	char text[OVB_LINK_ERROR_TEXT_MAX];

	snprintf(text, sizeof(text), "%s", what);
	ovb_warn("%s: link protocol error: %s", c->name, text);
	ovb__link_send_error(c->fd, code, text);
	return -EPROTO;
}

static int on_hello(struct conn *c, const struct ovb_link_hello *hello)
{
	struct ovb_link_welcome w = { .link_version = OVB_LINK_VERSION };
	char name[65];
	int rc;

	if (hello->link_version != OVB_LINK_VERSION)
		return conn_error(c, EPROTONOSUPPORT,
				  "link version not supported (host speaks 1)");
	if (!hello->vp_count || hello->vp_count > 1024)
		return conn_error(c, EINVAL, "vp_count must be 1..1024");
	memcpy(name, hello->name, 64);
	name[64] = 0;
	for (char *p = name; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	snprintf(c->name, sizeof(c->name), "%s", name[0] ? name : "guest");
	rc = ovb_memfd_gmem_create(c->name, &c->gmem);
	if (!rc)
		rc = ovb_server_partition_create(c->h->srv, c->name,
						 &host_link_ops, c, c->gmem,
						 &c->part);
	if (rc)
		return conn_error(c, -rc, "cannot create the partition");
	return ovb__link_send(c->fd, OVB_LINK_WELCOME, &w, sizeof(w), NULL, 0,
			      HOST_SEND_WAIT);
}

static int on_mem_region(struct conn *c, const struct ovb_link_mem_region *m,
			 int fd)
{
	char why[160];
	int rc;

	if (c->posted)
		return conn_error(c, EPROTO,
				  "MEM_REGION after the first POST_MESSAGE");
	rc = ovb_memfd_gmem_add(c->gmem, m->gpa, m->size, fd, m->fd_offset);
	if (!rc)
		return 0;
	snprintf(why, sizeof(why),
		 "MEM_REGION gpa %#llx size %#llx offset %#llx refused: %s",
		 (unsigned long long)m->gpa, (unsigned long long)m->size,
		 (unsigned long long)m->fd_offset,
		 rc == -EEXIST ? "overlaps another region"
		 : rc == -EINVAL ? "not page aligned, empty or wrapping"
				 : strerror(-rc));
	return conn_error(c, -rc, why);
}

/* One datagram; fds[] are ours to keep or close.  Returns <0 to close. */
static int conn_datagram(struct conn *c, const uint8_t *buf, size_t n,
			 int *fds, int nfds)
{
	const void *body = buf + sizeof(struct ovb_link_hdr);
	const char *why = NULL;
	int want_fds, rc;
	uint32_t type;

	if (ovb__link_check(buf, n, &why))
		return conn_error(c, EBADMSG, why);
	memcpy(&type, buf, sizeof(type));
	want_fds = type == OVB_LINK_MEM_REGION ? 1
		 : type == OVB_LINK_EVENT_FDS  ? 2
					       : 0;
	if (nfds != want_fds)
		return conn_error(c, EBADMSG, "wrong number of fds attached");
	if (!c->part && type != OVB_LINK_HELLO)
		return conn_error(c, EPROTO, "first datagram must be HELLO");
	switch (type) {
	case OVB_LINK_HELLO:
		if (c->part)
			return conn_error(c, EPROTO, "second HELLO");
		return on_hello(c, body);
	case OVB_LINK_MEM_REGION:
		rc = on_mem_region(c, body, fds[0]);
		if (!rc)
			fds[0] = -1; /* the partition owns it now */
		return rc;
	case OVB_LINK_POST_MESSAGE: {
		const struct ovb_link_message *m = body;

		if (m->payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
			return conn_error(c, EBADMSG,
					  "POST_MESSAGE payload_size > 240");
		c->posted = true;
		if (m->message_type != HVMSG_VMBUS) {
			ovb_peer("%s: POST_MESSAGE of message type %u dropped",
				 c->name, m->message_type);
			return 0;
		}
		ovb_server_post_message(c->part, m->id, m->payload,
					m->payload_size);
		return 0;
	}
	case OVB_LINK_SIGNAL_EVENT:
		ovb_server_signal_event(c->part,
					((const struct ovb_link_event *)body)->id);
		return 0;
	case OVB_LINK_EVENT_FDS: {
		const struct ovb_link_event_fds *e = body;

		if (!ovb_server_set_event_fds(c->part, e->child_relid,
					      e->connection_id, fds[0], fds[1]))
			fds[0] = fds[1] = -1;
		return 0;
	}
	case OVB_LINK_ERROR: {
		char text[OVB_LINK_ERROR_TEXT_MAX + 1];
		size_t len = n - sizeof(struct ovb_link_hdr) - 4;

		memcpy(text, (const uint8_t *)body + 4, len);
		text[len] = 0;
		ovb_warn("%s: guest reported an error: %s", c->name, text);
		return -EPROTO;
	}
	default:
		return conn_error(c, EPROTO, "datagram type is host-to-guest");
	}
}

static void conn_close(struct ovb_link_host *h, struct conn *c)
{
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	shutdown(c->fd, SHUT_RDWR);
	if (c->part)
		ovb_server_partition_destroy(c->part);
	ovb_gmem_destroy(c->gmem);
	close(c->fd);
	for (struct conn **pp = &h->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	h->nconns--;
	free(c);
}

static void conn_readable(struct ovb_link_host *h, struct conn *c)
{
	uint8_t buf[OVB_LINK_MAX_DGRAM + 8];

	for (int i = 0; i < HOST_BATCH; i++) {
		int fds[2] = { -1, -1 }, nfds = 0, rc;
		ssize_t n = ovb__link_recv(c->fd, buf, sizeof(buf), fds, &nfds);

		if (n == -EAGAIN)
			return;
		if (n == -EBADMSG) {
			conn_error(c, EBADMSG, "datagram too large");
			conn_close(h, c);
			return;
		}
		if (n <= 0) {
			ovb_info("%s: link closed", c->name);
			conn_close(h, c);
			return;
		}
		rc = conn_datagram(c, buf, (size_t)n, fds, nfds);
		for (int k = 0; k < nfds; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		if (rc < 0) {
			conn_close(h, c);
			return;
		}
	}
}

/* ---- listener and loop -------------------------------------------------------- */

int ovb_link_host_create(struct ovb_server *srv, const char *path,
			 struct ovb_link_host **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ovb_link_host *h;
	int rc, probe;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->srv = srv;
	snprintf(h->path, sizeof(h->path), "%s", path);
	strcpy(sa.sun_path, path);
	/* A live host answers connect(); a stale file does not. */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (void *)&sa, sizeof(sa))) {
		close(probe);
		free(h);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	h->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->lfd < 0 || h->epfd < 0 || h->stopfd < 0) {
		rc = -errno;
		goto err;
	}
	/*
	 * Bind under a temporary name and rename into place once listening:
	 * a guest that sees the socket file can always connect (binding at
	 * the final path would refuse connections until listen()).
	 */
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	mode_t old = umask(0177); /* the socket file is created 0600 */

	if (snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d", path,
		     (int)getpid()) >= (int)sizeof(tmp.sun_path))
		snprintf(tmp.sun_path, sizeof(tmp.sun_path), "/tmp/ovb-%d.sock",
			 (int)getpid());
	unlink(tmp.sun_path);
	rc = bind(h->lfd, (void *)&tmp, sizeof(tmp));
	umask(old);
	if (rc || chmod(tmp.sun_path, 0600) || listen(h->lfd, 64) ||
	    rename(tmp.sun_path, path)) {
		rc = -errno;
		unlink(tmp.sun_path);
		goto err;
	}
	ev.data.ptr = &h->lfd;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev);
	ev.data.ptr = &h->stopfd;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stopfd, &ev);
	/* A caller-driven server: its channels take turns on this thread. */
	if (ovb_server_dispatch_fd(srv) >= 0) {
		ev.data.ptr = &h->srv;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD,
			      ovb_server_dispatch_fd(srv), &ev) < 0) {
			rc = -errno;
			goto err;
		}
	}
	*out = h;
	return 0;
err:
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->stopfd >= 0)
		close(h->stopfd);
	free(h);
	return rc;
}

static void host_accept(struct ovb_link_host *h)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		snprintf(c->name, sizeof(c->name), "link %u", ++h->seq);
		c->next = h->conns;
		h->conns = c;
		h->nconns++;
		ev.data.ptr = c;
		epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

int ovb_link_host_run(struct ovb_link_host *h)
{
	struct epoll_event ev[32];

	for (;;) {
		int n = epoll_wait(h->epfd, ev, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;

			if (p == &h->stopfd)
				return 0;
			if (p == &h->srv)
				ovb_server_dispatch(h->srv, 0);
			else if (p == &h->lfd)
				host_accept(h);
			else
				conn_readable(h, p);
		}
	}
}

void ovb_link_host_stop(struct ovb_link_host *h)
{
	uint64_t one = 1;
	ssize_t rc = write(h->stopfd, &one, sizeof(one));

	(void)rc;
}

unsigned int ovb_link_host_partitions(struct ovb_link_host *h)
{
	return h->nconns;
}

void ovb_link_host_destroy(struct ovb_link_host *h)
{
	while (h->conns)
		conn_close(h, h->conns);
	close(h->lfd);
	close(h->epfd);
	close(h->stopfd);
	unlink(h->path);
	free(h);
}
