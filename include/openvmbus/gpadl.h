/* SPDX-License-Identifier: MIT */
/*
 * GPADLs and GPA ranges: the range records of GPADL messages and GPA-direct
 * packets, their encoding into GPADL_HEADER + GPADL_BODY messages (26 and 28
 * PFNs), and the server's reassembly and validation.  Layer: core.
 *
 * A GPADL's ranges form one stream of 64-bit words: per range one word
 * (byte_count | byte_offset << 32) then its PFNs.  GPADL_HEADER carries the
 * first 27 words after its 20-byte header, each GPADL_BODY 28 more.
 */
#ifndef OPENVMBUS_GPADL_H
#define OPENVMBUS_GPADL_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "wire/vmbus.h"

/** Words in a GPADL_HEADER / GPADL_BODY message. */
#define OVB_GPADL_HEADER_WORDS 27u
#define OVB_GPADL_BODY_WORDS 28u
/** Largest GPADL we accept: 2^20 words (~4 GiB of pages). */
#define OVB_GPADL_MAX_WORDS (1u << 20)

/** A parsed range: @npfns PFNs cover [byte_offset, byte_offset + count). */
struct ovb_gpa_range {
	uint32_t byte_count;
	uint32_t byte_offset;
	uint32_t npfns;
	const uint64_t *pfns; /**< points into the owner's buffer */
};

/** PFNs a range of @count bytes at page offset @offset needs. */
static inline uint32_t ovb_gpa_range_npfns(uint32_t offset, uint32_t count)
{
	return (uint32_t)(((uint64_t)offset + count + HV_PAGE_SIZE - 1) /
			  HV_PAGE_SIZE);
}

/**
 * Parse @count range records from @buf (@len bytes, 8-byte aligned).  Each
 * range must have byte_offset < 4096, byte_count > 0 and all its PFNs
 * inside @buf.  Fills @out (room for @max) and *@used (bytes consumed).
 * Returns 0 or -EBADMSG.
 */
OVB_API
int ovb_gpa_ranges_parse(const void *buf, size_t len, uint32_t count,
			 struct ovb_gpa_range *out, uint32_t max, size_t *used);

/**
 * The range record of @len bytes contiguous in guest memory at @gpa: the
 * count/offset word, then its PFNs, into @words (room for @max).  Returns
 * the words written, -EFAULT (@gpa UINT64_MAX, @len 0 or over 4 GiB) or
 * -E2BIG (more than @max words).
 */
OVB_API
int ovb_gpa_range_words(uint64_t gpa, size_t len, uint64_t *words,
			size_t max);

/** Words of the stream of @n ranges. */
OVB_API
size_t ovb_gpadl_stream_words(const struct ovb_gpa_range *r, uint32_t n);

/** Write the stream of @n ranges into @words. */
OVB_API
void ovb_gpadl_stream_fill(const struct ovb_gpa_range *r, uint32_t n,
			   uint64_t *words);

/**
 * Build message @idx (0 = GPADL_HEADER, then GPADL_BODY) of a GPADL whose
 * stream is @words.  Writes at most 240 bytes to @msg and returns the
 * message length, or 0 when @idx is past the last message.
 */
OVB_API
size_t ovb_gpadl_msg(uint32_t relid, uint32_t handle, uint16_t rangecount,
		     const uint64_t *words, size_t nwords, unsigned int idx,
		     void *msg);

/** Server-side reassembly of one GPADL. */
struct ovb_gpadl_asm {
	uint32_t relid;
	uint32_t handle;
	uint16_t rangecount;
	size_t nwords;  /**< words announced by range_buflen */
	size_t filled;  /**< words received so far */
	uint64_t *words;
};

/**
 * Start from a GPADL_HEADER of @len bytes.  Returns 1 if complete, 0 if
 * bodies must follow, -EBADMSG if malformed (range_buflen not a multiple of
 * 8 or too large, rangecount 0, more words than announced), -ENOMEM.
 */
OVB_API
int ovb_gpadl_asm_start(struct ovb_gpadl_asm *a, const void *msg, size_t len);

/** Append a GPADL_BODY.  Returns 1 complete, 0 more, -EBADMSG. */
OVB_API
int ovb_gpadl_asm_body(struct ovb_gpadl_asm *a, const void *msg, size_t len);

/**
 * Validate the complete stream and parse it into @out (room for @max
 * ranges; pointers into a->words).  Returns the range count or -EBADMSG.
 */
OVB_API
int ovb_gpadl_asm_ranges(const struct ovb_gpadl_asm *a,
			 struct ovb_gpa_range *out, uint32_t max);

/** Free the reassembly buffer. */
OVB_API
void ovb_gpadl_asm_free(struct ovb_gpadl_asm *a);

#endif /* OPENVMBUS_GPADL_H */
