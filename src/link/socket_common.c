// SPDX-License-Identifier: MIT
/*
 * The socket link's datagram layer: framing, exact-size validation per
 * type, fd passing with SCM_RIGHTS and bounded waits for room.  Layer: link.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/link_priv.h"

static const struct {
	const char *name;
	int size; /* exact body size; -1: ERROR's variable size */
} link_types[] = {
	[OVB_LINK_HELLO] = { "HELLO", sizeof(struct ovb_link_hello) },
	[OVB_LINK_MEM_REGION] = { "MEM_REGION",
				  sizeof(struct ovb_link_mem_region) },
	[OVB_LINK_WELCOME] = { "WELCOME", sizeof(struct ovb_link_welcome) },
	[OVB_LINK_POST_MESSAGE] = { "POST_MESSAGE",
				    sizeof(struct ovb_link_message) },
	[OVB_LINK_MESSAGE] = { "MESSAGE", sizeof(struct ovb_link_message) },
	[OVB_LINK_SIGNAL_EVENT] = { "SIGNAL_EVENT",
				    sizeof(struct ovb_link_event) },
	[OVB_LINK_EVENT] = { "EVENT", sizeof(struct ovb_link_event) },
	[OVB_LINK_EVENT_FDS] = { "EVENT_FDS",
				 sizeof(struct ovb_link_event_fds) },
	[OVB_LINK_ERROR] = { "ERROR", -1 },
};

const char *ovb__link_type_name(uint32_t type)
{
	if (type && type < sizeof(link_types) / sizeof(link_types[0]))
		return link_types[type].name;
	return "unknown";
}

int ovb__link_send(int sock, uint32_t type, const void *body, size_t len,
		   const int *fds, int nfds, int timeout_ms)
{
	struct ovb_link_hdr h = { .type = type, .body_length = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLOUT };

		if (sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/* The peer is not reading: wait a bounded time for room. */
		int rc = poll(&p, 1, timeout_ms);

		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

ssize_t ovb__link_recv(int sock, void *buf, size_t cap, int *fds, int *nfds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf) };
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int got[4];

		memcpy(got, CMSG_DATA(c), cnt * sizeof(int));
		for (size_t i = 0; i < cnt; i++) {
			if (*nfds < 2)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EBADMSG;
	}
	return n;
}

int ovb__link_check(const void *buf, size_t n, const char **why)
{
	struct ovb_link_hdr h;

	if (n < sizeof(h)) {
		*why = "datagram shorter than its header";
		return -EBADMSG;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.body_length != n - sizeof(h)) {
		*why = "body_length disagrees with the datagram size";
		return -EBADMSG;
	}
	if (!h.type || h.type >= sizeof(link_types) / sizeof(link_types[0])) {
		*why = "unknown datagram type";
		return -EBADMSG;
	}
	if (link_types[h.type].size >= 0 &&
	    h.body_length != (uint32_t)link_types[h.type].size) {
		*why = "wrong body size for its type";
		return -EBADMSG;
	}
	if (h.type == OVB_LINK_ERROR &&
	    (h.body_length < 4 || h.body_length > 4 + OVB_LINK_ERROR_TEXT_MAX)) {
		*why = "ERROR body size out of range";
		return -EBADMSG;
	}
	return 0;
}

void ovb__link_send_error(int sock, int code, const char *text)
{
	uint8_t body[4 + OVB_LINK_ERROR_TEXT_MAX];
	struct ovb_link_error e = { .code = (uint32_t)code };
	size_t len = strnlen(text, OVB_LINK_ERROR_TEXT_MAX);

	memcpy(body, &e, sizeof(e));
	memcpy(body + 4, text, len);
	ovb__link_send(sock, OVB_LINK_ERROR, body, 4 + len, NULL, 0, 0);
}
