/* SPDX-License-Identifier: MIT */
/*
 * The socket partition link: guest and host in separate processes, one
 * unix SOCK_SEQPACKET connection per guest partition, guest RAM shared as
 * memfds (docs/link.md).  Built on the calls of hv.h, like the inproc link
 * of link.h.  Layer: link.  Tier: application.  Library:
 * libopenvmbus-linux (pkg-config openvmbus-linux).
 */
#ifndef OPENVMBUS_LINK_SOCKET_H
#define OPENVMBUS_LINK_SOCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"

struct ovb_client;
struct ovb_server;

/* ---- socket: host end -------------------------------------------------- */

struct ovb_link_host;

/**
 * Listen on the unix SOCK_SEQPACKET socket @path (mode 0600; a stale socket
 * file is replaced) and serve partitions of @srv.
 * Returns 0, -EADDRINUSE (a live host listens there), -errno.
 */
OVB_API
int ovb_link_host_create(struct ovb_server *srv, const char *path,
			 struct ovb_link_host **out);

/**
 * Serve until ovb_link_host_stop(): accept partitions, read their
 * datagrams, feed the server.  Runs on the calling thread (the link
 * thread).  If @srv was made caller-driven before ovb_link_host_create()
 * (ovb_server_set_threading), this thread also calls ovb_server_dispatch()
 * when the server's dispatch fd is ready: the host then runs on this one
 * thread.  Returns 0 or -errno.
 */
OVB_API
int ovb_link_host_run(struct ovb_link_host *h);

/** Make ovb_link_host_run() return.  Async-signal-safe. */
OVB_API
void ovb_link_host_stop(struct ovb_link_host *h);

/** Drop every partition, remove the socket file, free. */
OVB_API
void ovb_link_host_destroy(struct ovb_link_host *h);

/** Partitions currently connected. */
OVB_API
unsigned int ovb_link_host_partitions(struct ovb_link_host *h);

/* ---- socket: guest end ------------------------------------------------- */

struct ovb_link_guest;

struct ovb_link_guest_params {
	const char *path;  /**< the host's socket */
	const char *name;  /**< partition name (<= 63 bytes) */
	uint64_t mem_gpa;  /**< guest RAM base (page aligned) */
	uint64_t mem_size; /**< guest RAM bytes */
	uint32_t vp_count; /**< default 1 */
	bool no_eventfd;   /**< keep channels on SIGNAL_EVENT / EVENT */
	/**
	 * Optional second region the caller owns and maps itself (a
	 * user-space guest's own RAM, such as DPDK's EAL memory at GPA = VA):
	 * @extra_fd (a memfd, not taken over; -1 or 0 size for none) shared
	 * as a MEM_REGION at @extra_gpa.  The client never allocates from it.
	 */
	int extra_fd;
	uint64_t extra_gpa, extra_size;
};

/**
 * Connect to a host: HELLO, one MEM_REGION with a fresh memfd, wait for
 * WELCOME, then a client (not yet connected to VMBus) whose messages cross
 * this socket.  Returns 0; -ENOENT / -ECONNREFUSED (no host there);
 * -EPROTO (the host refused the partition: its ERROR text is logged);
 * -ETIMEDOUT; -errno.
 */
OVB_API
int ovb_link_guest_connect(const struct ovb_link_guest_params *p,
			   struct ovb_link_guest **out);

OVB_API
struct ovb_client *ovb_link_guest_client(struct ovb_link_guest *g);

/** Close the link (the host releases everything) and free the client. */
OVB_API
void ovb_link_guest_destroy(struct ovb_link_guest *g);

#endif /* OPENVMBUS_LINK_SOCKET_H */
