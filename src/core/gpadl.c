// SPDX-License-Identifier: MIT
/*
 * GPADL and GPA-range codec: range-record parsing with bounds checks, the
 * split of a GPADL into GPADL_HEADER/GPADL_BODY messages and the server's
 * reassembly.  Layer: core.  docs/wire.md B3/B4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/gpadl.h"

int ovb_gpa_ranges_parse(const void *buf, size_t len, uint32_t count,
			 struct ovb_gpa_range *out, uint32_t max, size_t *used)
{
	const uint8_t *p = buf;
	size_t off = 0;

	if (count == 0 || count > max)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		struct vmbus_gpa_range hdr;
		uint32_t npfns;

		if (len - off < sizeof(hdr))
			return -EBADMSG;
		memcpy(&hdr, p + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr.byte_offset >= HV_PAGE_SIZE || hdr.byte_count == 0)
			return -EBADMSG;
		npfns = ovb_gpa_range_npfns(hdr.byte_offset, hdr.byte_count);
		if ((len - off) / sizeof(uint64_t) < npfns)
			return -EBADMSG;
		out[i] = (struct ovb_gpa_range){
			.byte_count = hdr.byte_count,
			.byte_offset = hdr.byte_offset,
			.npfns = npfns,
			.pfns = (const uint64_t *)(const void *)(p + off),
		};
		off += (size_t)npfns * sizeof(uint64_t);
	}
	*used = off;
	return 0;
}

size_t ovb_gpadl_stream_words(const struct ovb_gpa_range *r, uint32_t n)
{
	size_t words = 0;

	for (uint32_t i = 0; i < n; i++)
		words += 1 + r[i].npfns;
	return words;
}

int ovb_gpa_range_words(uint64_t gpa, size_t len, uint64_t *words,
			size_t max)
{
	uint32_t off, npfns;

	if (gpa == UINT64_MAX || !len || len > UINT32_MAX)
		return -EFAULT;
	off = (uint32_t)(gpa % HV_PAGE_SIZE);
	npfns = ovb_gpa_range_npfns(off, (uint32_t)len);
	if (npfns + 1 > max)
		return -E2BIG;
	words[0] = len | (uint64_t)off << 32;
	for (uint32_t i = 0; i < npfns; i++)
		words[1 + i] = gpa / HV_PAGE_SIZE + i;
	return (int)(npfns + 1);
}

void ovb_gpadl_stream_fill(const struct ovb_gpa_range *r, uint32_t n,
			   uint64_t *words)
{
	for (uint32_t i = 0; i < n; i++) {
		*words++ = r[i].byte_count | (uint64_t)r[i].byte_offset << 32;
		memcpy(words, r[i].pfns, r[i].npfns * sizeof(uint64_t));
		words += r[i].npfns;
	}
}

size_t ovb_gpadl_msg(uint32_t relid, uint32_t handle, uint16_t rangecount,
		     const uint64_t *words, size_t nwords, unsigned int idx,
		     void *msg)
{
	size_t first, nw;

	memset(msg, 0, HV_MESSAGE_PAYLOAD_BYTE_COUNT);
	if (idx == 0) {
		struct vmbus_channel_gpadl_header *h = msg;

		nw = nwords < OVB_GPADL_HEADER_WORDS ? nwords
						     : OVB_GPADL_HEADER_WORDS;
		h->header.msgtype = CHANNELMSG_GPADL_HEADER;
		h->child_relid = relid;
		h->gpadl = handle;
		h->range_buflen = (uint16_t)(nwords * sizeof(uint64_t));
		h->rangecount = rangecount;
		memcpy(h + 1, words, nw * sizeof(uint64_t));
		return sizeof(*h) + nw * sizeof(uint64_t);
	}
	first = OVB_GPADL_HEADER_WORDS +
		(size_t)(idx - 1) * OVB_GPADL_BODY_WORDS;
	if (first >= nwords)
		return 0;
	nw = nwords - first < OVB_GPADL_BODY_WORDS ? nwords - first
						   : OVB_GPADL_BODY_WORDS;
	struct vmbus_channel_gpadl_body *b = msg;

	b->header.msgtype = CHANNELMSG_GPADL_BODY;
	b->msgnumber = idx;
	b->gpadl = handle;
	memcpy(b->pfn, words + first, nw * sizeof(uint64_t));
	return sizeof(*b) + nw * sizeof(uint64_t);
}

static int asm_append(struct ovb_gpadl_asm *a, const uint8_t *data,
		      size_t bytes)
{
	size_t nw = bytes / sizeof(uint64_t);

	if (bytes % sizeof(uint64_t) || nw > a->nwords - a->filled)
		return -EBADMSG;
	memcpy(a->words + a->filled, data, bytes);
	a->filled += nw;
	return a->filled == a->nwords;
}

int ovb_gpadl_asm_start(struct ovb_gpadl_asm *a, const void *msg, size_t len)
{
	struct vmbus_channel_gpadl_header h;

	memset(a, 0, sizeof(*a));
	if (len < sizeof(h) || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return -EBADMSG;
	memcpy(&h, msg, sizeof(h));
	/*
	 * range_buflen is only 16 bits and wraps for GPADLs above 32 MiB.
	 * With one range the range header tells the true size; it must agree
	 * with range_buflen modulo 2^16.
	 */
	if (h.rangecount == 0 || h.range_buflen % 8 || len - sizeof(h) < 8)
		return -EBADMSG;
	a->relid = h.child_relid;
	a->handle = h.gpadl;
	a->rangecount = h.rangecount;
	a->nwords = h.range_buflen / 8;
	if (h.rangecount == 1) {
		struct vmbus_gpa_range r;

		memcpy(&r, (const uint8_t *)msg + sizeof(h), sizeof(r));
		if (r.byte_offset >= HV_PAGE_SIZE || r.byte_count == 0)
			return -EBADMSG;
		a->nwords = 1 + ovb_gpa_range_npfns(r.byte_offset,
						    r.byte_count);
		if (((a->nwords * 8) & 0xffff) != h.range_buflen)
			return -EBADMSG;
	}
	if (a->nwords == 0 || a->nwords > OVB_GPADL_MAX_WORDS)
		return -EBADMSG;
	a->words = calloc(a->nwords, sizeof(uint64_t));
	if (!a->words)
		return -ENOMEM;
	return asm_append(a, (const uint8_t *)msg + sizeof(h),
			  len - sizeof(h));
}

int ovb_gpadl_asm_body(struct ovb_gpadl_asm *a, const void *msg, size_t len)
{
	const struct vmbus_channel_gpadl_body *b = msg;

	if (len < sizeof(*b) || len > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return -EBADMSG;
	return asm_append(a, (const uint8_t *)msg + sizeof(*b),
			  len - sizeof(*b));
}

int ovb_gpadl_asm_ranges(const struct ovb_gpadl_asm *a,
			 struct ovb_gpa_range *out, uint32_t max)
{
	size_t used;
	int rc;

	if (a->filled != a->nwords)
		return -EBADMSG;
	rc = ovb_gpa_ranges_parse(a->words, a->nwords * 8, a->rangecount, out,
				  max, &used);
	if (rc)
		return rc;
	if (used != a->nwords * 8)
		return -EBADMSG;
	return a->rangecount;
}

void ovb_gpadl_asm_free(struct ovb_gpadl_asm *a)
{
	free(a->words);
	a->words = NULL;
}
