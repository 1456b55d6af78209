// SPDX-License-Identifier: MIT
/*
 * Unit tests of the GPADL codec (src/core/gpadl.c): the split of a GPADL
 * into GPADL_HEADER (27 words) and GPADL_BODY (28 words) messages at the
 * sizes where the message count changes, the server's reassembly of the
 * same messages, multi-range GPADLs, the range_buflen wrap rule for a
 * single range above 32 MiB, malformed headers and bodies, and the edges of
 * ovb_gpa_ranges_parse().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/gpadl.h"

#define PG 4096u

struct split {
	uint8_t (*msg)[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	size_t *len;
	unsigned int n;
};

static void split_free(struct split *s)
{
	free(s->msg);
	free(s->len);
}

/* Split a word stream into messages; check every message's size. */
static struct split split_words(const uint64_t *words, size_t nwords,
				uint16_t rangecount)
{
	size_t body_words = nwords > 27 ? nwords - 27 : 0;
	unsigned int want = 1 + (unsigned int)((body_words + 27) / 28);
	struct split s = { 0 };

	s.msg = calloc(want + 1, sizeof(*s.msg));
	s.len = calloc(want + 1, sizeof(*s.len));
	assert_non_null(s.msg);
	assert_non_null(s.len);
	for (;;) {
		size_t len = ovb_gpadl_msg(7, 0xE1E10, rangecount, words,
					   nwords, s.n, s.msg[s.n]);

		if (!len)
			break;
		assert_true(len <= HV_MESSAGE_PAYLOAD_BYTE_COUNT);
		s.len[s.n++] = len;
		assert_true(s.n <= want);
	}
	assert_int_equal(s.n, want);
	assert_int_equal(s.len[0], 20 + 8 * (nwords < 27 ? nwords : 27));
	for (unsigned int i = 1; i < s.n; i++) {
		size_t left = nwords - 27 - (size_t)(i - 1) * 28;
		const struct vmbus_channel_gpadl_body *b = (void *)s.msg[i];

		assert_int_equal(s.len[i], 16 + 8 * (left < 28 ? left : 28));
		assert_int_equal(b->header.msgtype, CHANNELMSG_GPADL_BODY);
		assert_int_equal(b->msgnumber, i);
		assert_int_equal(b->gpadl, 0xE1E10);
	}
	const struct vmbus_channel_gpadl_header *h = (void *)s.msg[0];

	assert_int_equal(h->header.msgtype, CHANNELMSG_GPADL_HEADER);
	assert_int_equal(h->child_relid, 7);
	assert_int_equal(h->gpadl, 0xE1E10);
	assert_int_equal(h->rangecount, rangecount);
	assert_int_equal(h->range_buflen, (uint16_t)(nwords * 8));
	return s;
}

/* Reassemble as the server does; returns the ranges parsed. */
static int join(const struct split *s, struct ovb_gpadl_asm *a,
		struct ovb_gpa_range *out, uint32_t max)
{
	int rc = ovb_gpadl_asm_start(a, s->msg[0], s->len[0]);

	assert_int_equal(rc, s->n == 1);
	for (unsigned int i = 1; i < s->n; i++) {
		rc = ovb_gpadl_asm_body(a, s->msg[i], s->len[i]);
		assert_int_equal(rc, i == s->n - 1);
	}
	assert_int_equal(a->relid, 7);
	assert_int_equal(a->handle, 0xE1E10);
	return ovb_gpadl_asm_ranges(a, out, max);
}

/* One page-aligned range of @npfns pages, split and joined. */
static void round_trip(uint32_t npfns)
{
	uint64_t *pfns = calloc(npfns, sizeof(*pfns));
	struct ovb_gpa_range r = { .byte_count = npfns * PG, .npfns = npfns,
				   .pfns = pfns }, out[2];
	size_t nwords = ovb_gpadl_stream_words(&r, 1);
	uint64_t *words = calloc(nwords, sizeof(*words));
	struct ovb_gpadl_asm a;
	struct split s;

	assert_non_null(pfns);
	assert_non_null(words);
	assert_int_equal(nwords, 1 + npfns);
	for (uint32_t i = 0; i < npfns; i++)
		pfns[i] = 0x1234500000ull + i * 3;
	ovb_gpadl_stream_fill(&r, 1, words);
	assert_int_equal(words[0], (uint64_t)npfns * PG);
	s = split_words(words, nwords, 1);
	assert_int_equal(join(&s, &a, out, 2), 1);
	assert_int_equal(out[0].byte_count, npfns * PG);
	assert_int_equal(out[0].byte_offset, 0);
	assert_int_equal(out[0].npfns, npfns);
	assert_memory_equal(out[0].pfns, pfns, npfns * sizeof(*pfns));
	ovb_gpadl_asm_free(&a);
	split_free(&s);
	free(words);
	free(pfns);
}

static void test_split_sizes(void **state)
{
	static const struct {
		uint32_t npfns;
		unsigned int msgs;
	} cases[] = {
		{ 1, 1 },  { 26, 1 }, { 27, 2 },  { 28, 2 },   { 54, 2 },
		{ 55, 3 }, { 56, 3 }, { 82, 3 },  { 83, 4 },   { 1000, 36 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t words[1 + 1000] = { 0 };
		struct split s;

		words[0] = (uint64_t)cases[i].npfns * PG;
		s = split_words(words, 1 + cases[i].npfns, 1);
		assert_int_equal(s.n, cases[i].msgs);
		split_free(&s);
		round_trip(cases[i].npfns);
	}
	/* Past the last message: nothing. */
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	uint64_t w[2] = { PG, 1 };

	assert_int_equal(ovb_gpadl_msg(1, 2, 1, w, 2, 1, msg), 0);
	assert_int_equal(ovb_gpadl_msg(1, 2, 1, w, 2, 100, msg), 0);
}

/* Three ranges of different shapes, split across four messages. */
static void test_multi_range(void **state)
{
	uint64_t p0[2] = { 10, 11 }, p1[30], p2[40];
	struct ovb_gpa_range r[3] = {
		{ .byte_count = 100, .byte_offset = 4000, .npfns = 2 },
		{ .byte_count = 30 * PG, .byte_offset = 0, .npfns = 30 },
		{ .byte_count = 39 * PG + 1, .byte_offset = 4095, .npfns = 40 },
	}, out[4];
	uint64_t words[1 + 2 + 1 + 30 + 1 + 40];
	struct ovb_gpadl_asm a;
	struct split s;

	r[0].pfns = p0;
	for (int i = 0; i < 30; i++)
		p1[i] = 1000 + i;
	for (int i = 0; i < 40; i++)
		p2[i] = 5000 - i;
	r[1].pfns = p1;
	r[2].pfns = p2;
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].npfns, ovb_gpa_range_npfns(
				 r[i].byte_offset, r[i].byte_count));
	assert_int_equal(ovb_gpadl_stream_words(r, 3), 75);
	ovb_gpadl_stream_fill(r, 3, words);
	assert_int_equal(words[3], 30 * PG);
	assert_int_equal(words[34], (39 * PG + 1) | 4095ull << 32);
	s = split_words(words, 75, 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(join(&s, &a, out, 4), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].byte_count, r[i].byte_count);
		assert_int_equal(out[i].byte_offset, r[i].byte_offset);
		assert_int_equal(out[i].npfns, r[i].npfns);
		assert_memory_equal(out[i].pfns, r[i].pfns, r[i].npfns * 8);
	}
	/* Room for only two ranges: malformed for this caller. */
	assert_int_equal(ovb_gpadl_asm_ranges(&a, out, 2), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	split_free(&s);
}

/*
 * range_buflen is 16 bits: a single range of 32 MiB or more wraps it, and
 * the range header's byte_count decides the true length.
 */
static void test_buflen_wrap(void **state)
{
	const uint32_t npfns = 8192 + 3; /* 32 MiB + 3 pages */
	size_t nwords = 1 + npfns;
	uint64_t *words = calloc(nwords, sizeof(*words));
	struct ovb_gpa_range out[1];
	struct ovb_gpadl_asm a;
	struct split s;

	assert_non_null(words);
	words[0] = (uint64_t)npfns * PG;
	for (uint32_t i = 0; i < npfns; i++)
		words[1 + i] = 0x40000 + i;
	s = split_words(words, nwords, 1);
	assert_int_equal(((struct vmbus_channel_gpadl_header *)s.msg[0])
				 ->range_buflen, (nwords * 8) & 0xffff);
	assert_int_equal(join(&s, &a, out, 1), 1);
	assert_int_equal(out[0].npfns, npfns);
	assert_int_equal(out[0].pfns[npfns - 1], 0x40000 + npfns - 1);
	ovb_gpadl_asm_free(&a);

	/* A range_buflen that disagrees with byte_count modulo 2^16. */
	((struct vmbus_channel_gpadl_header *)s.msg[0])->range_buflen += 8;
	assert_int_equal(ovb_gpadl_asm_start(&a, s.msg[0], s.len[0]),
			 -EBADMSG);
	ovb_gpadl_asm_free(&a);
	/* Above OVB_GPADL_MAX_WORDS: refused before allocating. */
	words[0] = 0xfffff000ull | 4095ull << 32;
	split_free(&s);
	s = split_words(words, 27, 1);
	((struct vmbus_channel_gpadl_header *)s.msg[0])->range_buflen =
		(uint16_t)((1 + ovb_gpa_range_npfns(4095, 0xfffff000)) * 8);
	assert_int_equal(ovb_gpadl_asm_start(&a, s.msg[0], s.len[0]),
			 -EBADMSG);
	ovb_gpadl_asm_free(&a);
	split_free(&s);
	free(words);
}

/* A GPADL_HEADER of @nw words with the given header fields. */
static size_t header(uint8_t *msg, uint16_t buflen, uint16_t rangecount,
		     const uint64_t *w, size_t nw)
{
	struct vmbus_channel_gpadl_header *h = (void *)msg;

	memset(msg, 0, HV_MESSAGE_PAYLOAD_BYTE_COUNT);
	h->header.msgtype = CHANNELMSG_GPADL_HEADER;
	h->gpadl = 9;
	h->range_buflen = buflen;
	h->rangecount = rangecount;
	memcpy(h + 1, w, nw * 8);
	return sizeof(*h) + nw * 8;
}

static void test_malformed(void **state)
{
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
	uint64_t w[4] = { 2 * PG, 1, 2, 3 };
	uint64_t body[1 + 29];
	struct ovb_gpa_range out[4];
	struct ovb_gpadl_asm a;
	size_t len;

	/* rangecount 0; range_buflen not a multiple of 8; no words. */
	len = header(msg, 24, 0, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	len = header(msg, 20, 1, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	len = header(msg, 24, 1, w, 0);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, 12), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, 241), -EBADMSG);
	/* A word cut in half. */
	len = header(msg, 24, 1, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len - 4), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	/* byte_offset >= 4096, byte_count 0. */
	w[0] = PG | (uint64_t)PG << 32;
	len = header(msg, 24, 1, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	w[0] = 0;
	len = header(msg, 8, 1, w, 1);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	/* More words in the header than announced. */
	w[0] = PG;
	len = header(msg, 16, 1, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	/* Two ranges announced in 3 words, but only room for one and a
	 * half: the stream does not parse. */
	w[0] = PG;
	w[2] = 2 * PG;
	len = header(msg, 24, 2, w, 3);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), 1);
	assert_int_equal(ovb_gpadl_asm_ranges(&a, out, 4), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	/* Exactly two ranges; then words left over after them. */
	len = header(msg, 32, 2, (uint64_t[]){ PG, 1, PG, 2 }, 4);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), 1);
	assert_int_equal(ovb_gpadl_asm_ranges(&a, out, 4), 2);
	ovb_gpadl_asm_free(&a);
	len = header(msg, 40, 1, (uint64_t[]){ PG, 1, PG, 2 }, 4);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	len = header(msg, 40, 2, (uint64_t[]){ PG, 1, PG, 2 }, 4);
	assert_int_equal(ovb_gpadl_asm_start(&a, msg, len), 0);
	assert_int_equal(ovb_gpadl_asm_ranges(&a, out, 4), -EBADMSG);

	/* Bodies: too many words, a cut word, too short; then complete. */
	memset(body, 0, sizeof(body));
	((struct vmbus_channel_gpadl_body *)body)->header.msgtype =
		CHANNELMSG_GPADL_BODY;
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 16 + 16), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 16 + 4), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 15), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 241), -EBADMSG);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 16), 0);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 16 + 8), 1);
	assert_int_equal(ovb_gpadl_asm_body(&a, body, 16 + 8), -EBADMSG);
	/* A fifth word is left over after the two ranges. */
	assert_int_equal(ovb_gpadl_asm_ranges(&a, out, 4), -EBADMSG);
	ovb_gpadl_asm_free(&a);
	ovb_gpadl_asm_free(&a); /* idempotent */
}

static void test_ranges_parse(void **state)
{
	uint64_t buf[8];
	struct ovb_gpa_range out[3];
	size_t used;

	memset(buf, 0, sizeof(buf));
	buf[0] = 1 | 4095ull << 32; /* one byte at the end of a page */
	buf[1] = 77;
	buf[2] = 2 | 4095ull << 32; /* two bytes: two pages */
	buf[3] = 78;
	buf[4] = 79;
	assert_int_equal(ovb_gpa_ranges_parse(buf, 40, 2, out, 3, &used), 0);
	assert_int_equal(used, 40);
	assert_int_equal(out[0].npfns, 1);
	assert_int_equal(out[0].pfns[0], 77);
	assert_int_equal(out[1].npfns, 2);
	assert_int_equal(out[1].pfns[1], 79);
	/* Trailing bytes are the caller's business: used says where. */
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 1, out, 3, &used), 0);
	assert_int_equal(used, 16);
	/* Count 0, count above max, truncated header, truncated PFNs. */
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 0, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 4, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 4, 1, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 8, 1, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 39, 2, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 16, 2, out, 3, &used),
			 -EBADMSG);
	/* byte_offset 4096; byte_count 0. */
	buf[0] = 1 | 4096ull << 32;
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 1, out, 3, &used),
			 -EBADMSG);
	buf[0] = 0;
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 1, out, 3, &used),
			 -EBADMSG);
	/* The largest range: its PFN count does not overflow, and it does
	 * not fit in a small buffer. */
	buf[0] = 0xffffffffull | 4095ull << 32;
	assert_int_equal(ovb_gpa_range_npfns(4095, 0xffffffffu), 1048577);
	assert_int_equal(ovb_gpa_ranges_parse(buf, 64, 1, out, 3, &used),
			 -EBADMSG);
	assert_int_equal(ovb_gpa_range_npfns(0, 1), 1);
	assert_int_equal(ovb_gpa_range_npfns(0, PG), 1);
	assert_int_equal(ovb_gpa_range_npfns(1, PG), 2);
	assert_int_equal(ovb_gpa_range_npfns(4095, 1), 1);
}

/* A contiguous buffer as one range record: the words a GPA-direct send names. */
static void test_range_words(void **state)
{
	uint64_t w[4];

	(void)state;
	/* 100 bytes at page offset 0xff0 of PFN 0x12345 straddle two pages. */
	assert_int_equal(ovb_gpa_range_words(0x12345ff0ull, 100, w, 4), 3);
	assert_true(w[0] == (100 | 0xff0ull << 32));
	assert_true(w[1] == 0x12345 && w[2] == 0x12346);
	/* A whole page at offset 0 is one PFN. */
	assert_int_equal(ovb_gpa_range_words(0x2000, 4096, w, 2), 2);
	assert_true(w[0] == 4096 && w[1] == 2);
	assert_int_equal(ovb_gpa_range_words(0x12345ff0ull, 100, w, 2), -E2BIG);
	assert_int_equal(ovb_gpa_range_words(0x1000, 0, w, 4), -EFAULT);
	assert_int_equal(ovb_gpa_range_words(UINT64_MAX, 8, w, 4), -EFAULT);
	assert_int_equal(ovb_gpa_range_words(0, 1ull << 32, w, 4), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_sizes),
		cmocka_unit_test(test_multi_range),
		cmocka_unit_test(test_buflen_wrap),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ranges_parse),
		cmocka_unit_test(test_range_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
