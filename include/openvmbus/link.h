/* SPDX-License-Identifier: MIT */
/*
 * Partition links: the emulated hypervisor boundary between a guest
 * partition (client) and the host (server).  Layer: link.
 *  - inproc: both sides in one process, for tests, fuzzing and the no-root
 *    lab; messages cross through two queues, each drained by its own
 *    thread, so the two sides never call each other directly.
 *  - socket: docs/link.md, one SOCK_SEQPACKET connection per guest
 *    process: link_socket.h (ovb_link_host_* and ovb_link_guest_*), in
 *    libopenvmbus-linux.
 * Both are built on the calls of hv.h.  Tier: application.  Library:
 * libopenvmbus.  The inproc link's hooks for hostile-peer tests are
 * private (src/link/inproc_test.h).
 */
#ifndef OPENVMBUS_LINK_H
#define OPENVMBUS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct ovb_client;
struct ovb_gmem;
struct ovb_partition;
struct ovb_server;

/* ---- memfd guest memory ---------------------------------------------------- */

/*
 * The guest memory provider of the socket and inproc links (gmem.h):
 * regions backed by memfds that both sides map; scattered GPADL pages are
 * mapped with MAP_FIXED from the fds into one contiguous view.
 */

/** An empty memfd guest memory.  Returns 0 or -ENOMEM. */
OVB_API
int ovb_memfd_gmem_create(const char *name, struct ovb_gmem **out);

/**
 * Host side: guest RAM [@gpa, @gpa + @size) is @fd from @fd_offset (a
 * MEM_REGION).  Takes @fd on success.  Returns 0; -EINVAL if unaligned,
 * empty or wrapping; -EEXIST if it overlaps a region; -ENOSPC past
 * OVB_GMEM_MAX_REGIONS; -ENODEV if @gm is not a memfd one; -errno of mmap.
 */
OVB_API
int ovb_memfd_gmem_add(struct ovb_gmem *gm, uint64_t gpa, uint64_t size,
		       int fd, uint64_t fd_offset);

/**
 * Guest side: a fresh memfd of @size bytes as guest RAM at @gpa, also
 * made a pool for ovb_gmem_alloc().  Returns the memfd (still owned by
 * @gm: dup it to share it) or an error as ovb_memfd_gmem_add().
 */
OVB_API
int ovb_memfd_gmem_create_region(struct ovb_gmem *gm, uint64_t gpa,
				 uint64_t size);

/**
 * The memfd (still @gm's) that holds guest RAM at @gpa, and the offset of
 * @gpa in it.  Returns the fd; -EFAULT if @gpa is not guest RAM; -ENODEV
 * if @gm is not a memfd one.
 */
OVB_API
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
OVB_API
int ovb_inproc_create(struct ovb_server *srv,
		      const struct ovb_inproc_params *p,
		      struct ovb_inproc **out);

OVB_API
struct ovb_client *ovb_inproc_client(struct ovb_inproc *l);
OVB_API
struct ovb_partition *ovb_inproc_partition(struct ovb_inproc *l);

/**
 * Tear the partition down as a guest death would: the server releases
 * everything first, then the client sees the link go down and is freed.
 */
OVB_API
void ovb_inproc_destroy(struct ovb_inproc *l);

/** Wait until both queues are empty and their last item was handled. */
OVB_API
void ovb_inproc_sync(struct ovb_inproc *l);

#endif /* OPENVMBUS_LINK_H */
