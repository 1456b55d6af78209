/* SPDX-License-Identifier: MIT */
/*
 * Datagram helpers shared by the two ends of the socket link.  Layer: link.
 */
#ifndef OVB_LINK_PRIV_H
#define OVB_LINK_PRIV_H

#include <stddef.h>
#include <sys/types.h>

#include "openvmbus/wire/link.h"

/**
 * Send one datagram with up to 2 fds.  Waits up to @timeout_ms for room in
 * the socket.  Returns 0, -ETIMEDOUT or -errno.
 */
int ovb__link_send(int sock, uint32_t type, const void *body, size_t len,
		   const int *fds, int nfds, int timeout_ms);

/**
 * Receive one datagram into @buf (@cap bytes) with up to 2 fds in @fds
 * (*@nfds set).  Returns the datagram length, 0 on EOF, -EBADMSG if it was
 * truncated (fds closed), -errno.
 */
ssize_t ovb__link_recv(int sock, void *buf, size_t cap, int *fds, int *nfds);

/**
 * Check a received datagram of @n bytes: header, body_length and the
 * exact body size of its type.  Returns 0 or -EBADMSG.
 */
int ovb__link_check(const void *buf, size_t n, const char **why);

/** Send ERROR {code, text} (best effort, no wait). */
void ovb__link_send_error(int sock, int code, const char *text);

/** Name of a datagram type, for logs. */
const char *ovb__link_type_name(uint32_t type);

#endif
