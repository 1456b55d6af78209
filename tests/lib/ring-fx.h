/* SPDX-License-Identifier: MIT */
/*
 * Test fixture for the ring buffer unit tests (tests/unit/test-ring*.c): a
 * 4 KiB ring seen through a writer view and a reader view, as a host and a
 * guest would share it, plus packet builders and a log sink that keeps the
 * last warning.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_RING_FX_H
#define OPENVMBUS_TESTS_RING_FX_H

#include <stdbool.h>
#include <stdint.h>

#include "openvmbus/ring.h"

#define RFX_SIZE 4096u             /* data area bytes */
#define RFX_MAX_PKT (RFX_SIZE - 16) /* largest packet that fits */

struct rfx {
	struct vmbus_ring_control *ctl;
	uint8_t *data;       /**< the data area, in order (for inspection) */
	struct rfx_pages *pg; /**< paged rings: the scattered alias */
	struct ovb_ring w;  /**< the writer's view, named "relid 5 out" */
	struct ovb_ring rd; /**< the reader's view, named "relid 5 in" */
};

/**
 * Memory whose pages are seen twice: in order at @lin, and in reverse
 * order through @pages (page i of @lin is @pages[i], which lies in a
 * second mapping of the same pages, last page first), so a ring attached
 * to @pages is paged and scattered while a test reads it in order.
 */
struct rfx_pages {
	uint8_t *lin;
	uint8_t *alias;
	uint8_t **pages;
	size_t size;
};

/** Map @size bytes (page multiple) as above; asserts on failure. */
struct rfx_pages *rfx_pages_new(size_t size);
void rfx_pages_free(struct rfx_pages *pg);

/** When true, rfx_setup() attaches both views paged (rfx_pages). */
extern bool rfx_paged;

extern char rfx_last_log[512]; /**< last line logged */
extern int rfx_log_count;      /**< lines logged since setup */

/** cmocka setup: fresh ring (data filled with 0xee), log captured. */
int rfx_setup(void **state);
/** cmocka teardown: frees the ring, restores the stderr log sink. */
int rfx_teardown(void **state);

/** @n rounded up to 8. */
uint32_t rfx_pad8(uint32_t n);
/** Build a @len-byte in-band packet: trans_id @seq, payload from @seq. */
void rfx_make_pkt(uint8_t *buf, uint32_t len, uint64_t seq);
/** ovb_ring_write() of rfx_make_pkt(@len, @seq). */
int rfx_put(struct ovb_ring *r, uint32_t len, uint64_t seq, bool *signal);
/** ovb_ring_write_packet() of rfx_make_pkt(@len, @seq). */
int rfx_stage(struct ovb_ring *r, uint32_t len, uint64_t seq);
/** Read one packet and assert it is rfx_make_pkt(@len, @seq), padded. */
void rfx_get(struct ovb_ring *r, uint32_t len, uint64_t seq);
/** The 8 bytes at data offset @off (wrapping), as a little-endian u64. */
uint64_t rfx_trailer_at(const struct rfx *f, uint32_t off);
/** Store write_index and read_index directly, as a peer could. */
void rfx_set_indices(struct rfx *f, uint32_t wr, uint32_t rd);

#endif /* OPENVMBUS_TESTS_RING_FX_H */
