/* SPDX-License-Identifier: MIT */
/*
 * Partition links: the emulated hypervisor boundary between a guest
 * partition (client) and the host (server).  Layer: link.
 *  - inproc: both sides in one process, for tests, fuzzing and the no-root
 *    lab; messages cross through two queues, each drained by its own
 *    thread, so the two sides never call each other directly.
 *  - socket: docs/link.md, one SOCK_SEQPACKET connection per guest
 *    process (see ovb_link_host_* and ovb_link_guest_*).
 */
#ifndef OPENVMBUS_LINK_H
#define OPENVMBUS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "gmem.h"
#include "server.h"

/* ---- memfd guest memory ---------------------------------------------------- */

/*
 * The guest memory provider of the socket and inproc links (gmem.h):
 * regions backed by memfds that both sides map; scattered GPADL pages are
 * mapped with MAP_FIXED from the fds into one contiguous view.
 */

/** An empty memfd guest memory.  Returns 0 or -ENOMEM. */
int ovb_memfd_gmem_create(const char *name, struct ovb_gmem **out);

/**
 * Host side: guest RAM [@gpa, @gpa + @size) is @fd from @fd_offset (a
 * MEM_REGION).  Takes @fd on success.  Returns 0; -EINVAL if unaligned,
 * empty or wrapping; -EEXIST if it overlaps a region; -ENOSPC past
 * OVB_GMEM_MAX_REGIONS; -ENODEV if @gm is not a memfd one; -errno of mmap.
 */
int ovb_memfd_gmem_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
		       int fd, uint64_t fd_offset);

/**
 * Guest side: a fresh memfd of @size bytes as guest RAM at @gpa, also
 * made a pool for ovb_gmem_alloc().  Returns the memfd (still owned by
 * @gm: dup it to share it) or an error as ovb_memfd_gmem_add().
 */
int ovb_memfd_gmem_create_region(struct ovb_gmem *gm, uint64_t gpa,
				 uint64_t size);

/**
 * The memfd (still @gm's) that holds guest RAM at @gpa, and the offset of
 * @gpa in it.  Returns the fd; -EFAULT if @gpa is not guest RAM; -ENODEV
 * if @gm is not a memfd one.
 */
int ovb_memfd_gmem_fd(const struct ovb_gmem *gm, uint64_t gpa,
		      uint64_t *fd_offset);

/* ---- inproc ------------------------------------------------------------- */

struct ovb_inproc;

struct ovb_inproc_params {
	const char *name;   /**< partition name */
	uint64_t mem_gpa;   /**< guest RAM base (page aligned) */
	uint64_t mem_size;  /**< guest RAM bytes */
	bool no_eventfd;    /**< do not offer the eventfd fast path */
	/**
	 * Guest RAM is anonymous shared memory and the host reaches it
	 * through the host-memory provider (no fd), as an embedding VMM
	 * would.  In the host's view the chunks of @anon_chunk bytes
	 * (default 16 KiB) of the low 4 MiB of RAM, and the 1 MiB chunks
	 * above, lie in reverse order, so GPADLs that cross a chunk are
	 * scattered in host memory and served through paged views.
	 */
	bool anon_memory;
	uint64_t anon_chunk;
};

/**
 * Create a guest partition on @srv: its memory, the server-side partition,
 * and a client (not yet connected) that talks to it.
 * Returns 0 or -errno.
 */
int ovb_inproc_create(struct ovb_server *srv,
		      const struct ovb_inproc_params *p,
		      struct ovb_inproc **out);

struct ovb_client *ovb_inproc_client(struct ovb_inproc *l);
struct ovb_partition *ovb_inproc_partition(struct ovb_inproc *l);

/**
 * Tear the partition down as a guest death would: the server releases
 * everything first, then the client sees the link go down and is freed.
 */
void ovb_inproc_destroy(struct ovb_inproc *l);

/** Wait until both queues are empty and their last item was handled. */
void ovb_inproc_sync(struct ovb_inproc *l);

/** Hostile guest: post raw bytes to the server as HvPostMessage would. */
int ovb_inproc_guest_post(struct ovb_inproc *l, uint32_t conn_id,
			  const void *msg, size_t len);

/** Hostile host: deliver raw bytes to the client as a SynIC message. */
int ovb_inproc_host_send(struct ovb_inproc *l, const void *msg, size_t len);

/**
 * A frozen host, as SIGSTOP makes one over the socket link: while
 * @frozen, nothing the guest posts or signals reaches the server (it is
 * held, in order, until thawed).  Eventfd kicks bypass the queue: use
 * no_eventfd.  Do not ovb_inproc_sync() while frozen.  Tests only.
 */
void ovb_inproc_freeze_host(struct ovb_inproc *l, bool frozen);

/**
 * Observe host->guest messages (before the client sees them).  The hook
 * returns false to drop the message.  Tests only.
 */
void ovb_inproc_set_host_hook(struct ovb_inproc *l,
			      bool (*hook)(const void *msg, size_t len,
					   void *ctx),
			      void *ctx);

/**
 * Observe host->guest channel signals that cross the link (the slow path:
 * not those written to an installed call eventfd), in order with the
 * messages, before the client sees them.  Tests only.
 */
void ovb_inproc_set_event_hook(struct ovb_inproc *l,
			       void (*hook)(uint32_t relid, void *ctx),
			       void *ctx);

/* ---- socket: host end ------------------------------------------------------ */

struct ovb_link_host;

/**
 * Listen on the unix SOCK_SEQPACKET socket @path (mode 0600; a stale socket
 * file is replaced) and serve partitions of @srv.
 * Returns 0, -EADDRINUSE (a live host listens there), -errno.
 */
int ovb_link_host_create(struct ovb_server *srv, const char *path,
			 struct ovb_link_host **out);

/**
 * Serve until ovb_link_host_stop(): accept partitions, read their
 * datagrams, feed the server.  Runs on the calling thread (the link
 * thread).  Returns 0 or -errno.
 */
int ovb_link_host_run(struct ovb_link_host *h);

/** Make ovb_link_host_run() return.  Async-signal-safe. */
void ovb_link_host_stop(struct ovb_link_host *h);

/** Drop every partition, remove the socket file, free. */
void ovb_link_host_destroy(struct ovb_link_host *h);

/** Partitions currently connected. */
unsigned int ovb_link_host_partitions(struct ovb_link_host *h);

/* ---- socket: guest end ------------------------------------------------------ */

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
int ovb_link_guest_connect(const struct ovb_link_guest_params *p,
			   struct ovb_link_guest **out);

struct ovb_client *ovb_link_guest_client(struct ovb_link_guest *g);

/** Close the link (the host releases everything) and free the client. */
void ovb_link_guest_destroy(struct ovb_link_guest *g);

#endif /* OPENVMBUS_LINK_H */
