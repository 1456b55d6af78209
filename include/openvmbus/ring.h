/* SPDX-License-Identifier: MIT */
/*
 * One direction of a VMBus ring buffer pair, as either its writer or its
 * reader.  Layer: core.  Implements the packet framing and the signalling
 * contract of docs/wire.md B5/B6.
 *
 * Signalling contract (both roles):
 *  - A writer publishes packet bytes, then write_index (full barrier), and
 *    signals the reader only if interrupt_mask is 0 and read_index equals the
 *    write_index from before the batch (the ring went empty -> non-empty).
 *  - A reader sets interrupt_mask while it drains, clears it when the ring is
 *    empty and re-checks; a non-empty re-check means keep reading.
 *  - A writer that finds no room stores the bytes it needs in
 *    pending_send_sz; after advancing read_index the reader signals the
 *    writer only if pending_send_sz != 0 and the free space moved from
 *    <= pending_send_sz to > pending_send_sz.
 *  - The ring is never filled completely: a packet of n bytes (trailer
 *    included) fits only when free space > n.
 *
 * Every index read from the peer is validated (multiple of 8, < size); a
 * corrupt ring returns -EBADMSG and logs the bad value.  The reader copies
 * each packet out of shared memory before the caller parses it, so the peer
 * cannot change a packet after it was validated.
 *
 * An ovb_ring is used by one writer thread or one reader thread at a time;
 * callers serialise.
 */
#ifndef OPENVMBUS_RING_H
#define OPENVMBUS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "api.h"
#include "wire/ring.h"

/**
 * One ring: its control page and data area, mapped in our address space.
 * The data area is either contiguous (@data) or paged (@pages, one
 * pointer per 4096-byte page, when the guest's pages are scattered in
 * host memory and could not be mapped as one range).
 */
struct ovb_ring {
	struct vmbus_ring_control *ctl; /**< shared control page */
	uint8_t *data;                  /**< shared data area, or NULL */
	uint8_t *const *pages;          /**< paged data area, or NULL */
	uint32_t size;                  /**< data area bytes, multiple of 4096 */
	uint32_t priv_write;  /**< writer: staged write offset of the batch */
	uint32_t batch_start; /**< writer: write_index when the batch began */
	uint32_t priv_read;   /**< reader: offset after packets read so far */
	uint32_t read_start;  /**< reader: read_index when the batch began */
	bool in_batch;        /**< writer: a batch is open */
	char name[32];        /**< for log lines, e.g. "relid 5 in" */
};

/**
 * Attach to a ring whose control page is @ctl and whose data area is @data
 * (@size bytes).  Does not touch the shared memory.
 * Returns 0, or -EINVAL if @size is 0 or not a multiple of 4096 or above 1 GiB.
 */
OVB_API
int ovb_ring_attach(struct ovb_ring *r, void *ctl, void *data, uint32_t size,
		    const char *name);

/**
 * Attach to a ring whose data area is paged: @pages[i] is page i of its
 * @size bytes (borrowed: it must outlive the ring).  Otherwise as
 * ovb_ring_attach(); reads and writes that cross a page boundary or the
 * end of the area are split.
 */
OVB_API
int ovb_ring_attach_pages(struct ovb_ring *r, void *ctl,
			  uint8_t *const *pages, uint32_t size,
			  const char *name);

/**
 * Initialise the shared control page as its owner does when the ring is
 * created: indices 0, mask 0, pending 0, feature bit pending_send_sz set.
 */
OVB_API
void ovb_ring_init_control(struct ovb_ring *r);

/**
 * Advertise, in the control page of a ring we write, the features its
 * writer supports (feat_pending_send_sz), leaving indices and mask alone:
 * the ring may have been set up, or left zeroed, by the peer.  Call before
 * the peer may use the ring.  B5 rule 5: each side sets the bits of the
 * ring it writes (OpenVMM OutgoingRing::new).
 */
OVB_API
void ovb_ring_advertise(struct ovb_ring *r);

/* ---- writer ---- */

/**
 * Bytes a packet of @len bytes occupies in the ring (padding + trailer);
 * UINT32_MAX if @len is beyond any ring's size.
 */
OVB_API
uint32_t ovb_ring_packet_space(size_t len);

/**
 * Open a write batch: packets written until ovb_ring_write_commit() become
 * visible to the reader together.  Returns 0, -EBADMSG (corrupt indices) or
 * -EINVAL if a batch is already open.
 */
OVB_API
int ovb_ring_write_begin(struct ovb_ring *r);

/**
 * Stage one packet, the concatenation of @iov (descriptor included; the
 * caller builds it), padded to 8 bytes and followed by the trailer.
 * Returns 0; -EAGAIN if it does not fit now (nothing staged); -EMSGSIZE if
 * it could never fit; -EBADMSG if the peer's read_index is corrupt; -EINVAL
 * if no batch is open or the packet is shorter than a descriptor.
 */
OVB_API
int ovb_ring_write_packet(struct ovb_ring *r, const struct iovec *iov,
			  int iovcnt);

/**
 * Publish the staged packets.  Returns true if the reader must be signalled
 * (rule 1 of the contract).
 */
OVB_API
bool ovb_ring_write_commit(struct ovb_ring *r);

/**
 * Write one packet as a batch of one.  Returns 0 or an error as
 * ovb_ring_write_packet(); *@signal tells whether to signal the reader.
 */
OVB_API
int ovb_ring_write(struct ovb_ring *r, const struct iovec *iov, int iovcnt,
		   bool *signal);

/**
 * Record that the writer waits for @need bytes of packet space (0 clears),
 * @need being ovb_ring_packet_space() of the packet it wants to write;
 * rounded up to 8.  Returns true if a packet of @need bytes fits already
 * (re-check after publishing, so a reader that advanced in between is not
 * missed) -- the same test the reader applies before it signals -- or if
 * @need is 0.
 */
OVB_API
bool ovb_ring_set_pending_send(struct ovb_ring *r, uint32_t need);

/** Free bytes a writer could use now (the 8 reserved bytes excluded). */
OVB_API
uint32_t ovb_ring_write_avail(const struct ovb_ring *r);

/* ---- reader ---- */

/**
 * Copy the next packet (descriptor and payload, without padding beyond
 * len8*8 and without trailer) into @buf and advance the private read
 * offset; read_index is published by ovb_ring_read_commit().
 * Returns the packet length (len8 * 8); -EAGAIN if the ring is empty;
 * -EMSGSIZE if @buflen is too small (the packet stays); -EBADMSG if the ring
 * is corrupt (bad write_index, len8/offset8 out of bounds).
 */
OVB_API
ssize_t ovb_ring_read(struct ovb_ring *r, void *buf, size_t buflen);

/**
 * ovb_ring_read(), but only a packet whose descriptor type is @type (-1:
 * any): another type is left in place and -ENOMSG returned.  For a reader
 * that takes the completions at the head of a ring ahead of its turn.
 */
OVB_API
ssize_t ovb_ring_read_type(struct ovb_ring *r, void *buf, size_t buflen,
			   int type);

/**
 * Publish the read offset.  Returns true if the writer must be signalled
 * (rule 3 of the contract: pending_send_sz crossed).
 */
OVB_API
bool ovb_ring_read_commit(struct ovb_ring *r);

/** Bytes waiting to be read (0 if empty or corrupt). */
OVB_API
uint32_t ovb_ring_read_avail(const struct ovb_ring *r);

/**
 * True if the writer published past read_index.  Reads only the control
 * page, never the reader's private offsets, so a thread that does not hold
 * the read side may ask (a spinning worker, a polling caller).  A hint: a
 * corrupt index also says true, and ovb_ring_read() then reports it.
 */
OVB_API
bool ovb_ring_peek(const struct ovb_ring *r);

/** True while interrupt_mask is set (as the control page holds it now). */
OVB_API
bool ovb_ring_masked(const struct ovb_ring *r);

/** Set interrupt_mask: the reader is draining, the writer need not signal. */
OVB_API
void ovb_ring_mask_interrupts(struct ovb_ring *r);

/**
 * Clear interrupt_mask, then re-check (full barrier between the two).
 * Returns true if the ring is non-empty: keep reading.
 */
OVB_API
bool ovb_ring_unmask_interrupts(struct ovb_ring *r);

#endif /* OPENVMBUS_RING_H */
