// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ring buffer against a hostile or broken peer: corrupt
 * write_index and read_index (unaligned, beyond the data area) and corrupt
 * descriptors (len8, offset8) give -EBADMSG, log the bad value naming the
 * ring, and leave the reader where it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/log.h"
#include "openvmbus/ring.h"
#include "tests/lib/ring-fx.h"

/* ---- corrupt rings ------------------------------------------------------ */

static void test_corrupt_write_index_unaligned(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[64];

	f->ctl->write_index = 4;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(rfx_last_log,
			    "relid 5 in: write_index 4 not a multiple of 8 "
			    "(size 4096)");
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	/* The writer refuses to extend a corrupt index too. */
	assert_int_equal(ovb_ring_write_begin(&f->w), -EBADMSG);
	assert_string_equal(rfx_last_log,
			    "relid 5 out: write_index 4 not a multiple of 8 "
			    "(size 4096)");
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
}

static void test_corrupt_write_index_64k_log(void **state)
{
	struct vmbus_ring_control *ctl = aligned_alloc(4096, sizeof(*ctl));
	uint8_t *data = malloc(65536), buf[64];
	struct ovb_ring r;

	assert_non_null(ctl);
	assert_non_null(data);
	assert_int_equal(ovb_ring_attach(&r, ctl, data, 65536, "relid 5 in"),
			 0);
	ovb_ring_init_control(&r);
	ctl->write_index = 4100;
	assert_int_equal(ovb_ring_read(&r, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(rfx_last_log, "relid 5 in: write_index 4100 not a "
				      "multiple of 8 (size 65536)");
	free(ctl);
	free(data);
}

static void test_corrupt_write_index_beyond(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[64];

	f->ctl->write_index = RFX_SIZE;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(rfx_last_log, "relid 5 in: write_index 4096 beyond "
				      "the data area (size 4096)");
	f->ctl->write_index = 0xfffffff8u;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_int_equal(rfx_log_count, 2);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
}

static void test_corrupt_read_index_seen_by_writer(void **state)
{
	struct rfx *f = *state;
	bool sig = true;

	f->ctl->read_index = 12;
	assert_int_equal(rfx_put(&f->w, 16, 1, &sig), -EBADMSG);
	assert_false(sig);
	assert_string_equal(rfx_last_log, "relid 5 out: read_index 12 not a "
				      "multiple of 8 (size 4096)");
	f->ctl->read_index = 8192;
	assert_int_equal(rfx_put(&f->w, 16, 1, &sig), -EBADMSG);
	assert_string_equal(rfx_last_log, "relid 5 out: read_index 8192 beyond "
				      "the data area (size 4096)");
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(f->ctl->write_index, 0);
	/* Once the index is sane again, writing works. */
	f->ctl->read_index = 0;
	assert_int_equal(rfx_put(&f->w, 16, 1, &sig), 0);
}

static void test_corrupt_read_index_seen_by_reader(void **state)
{
	struct rfx *f = *state;
	uint8_t buf[64];
	bool sig;

	assert_int_equal(rfx_put(&f->w, 16, 1, &sig), 0);
	f->ctl->read_index = 4097;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(rfx_last_log, "relid 5 in: read_index 4097 not a "
				      "multiple of 8 (size 4096)");
	f->ctl->read_index = 0;
	rfx_get(&f->rd, 16, 1);
}

/* Put a raw descriptor at @at and claim @written bytes are there. */
static void raw_desc(struct rfx *f, uint32_t at, uint16_t offset8,
		     uint16_t len8, uint32_t written)
{
	struct vmpacket_descriptor d = {
		.type = VM_PKT_DATA_INBAND,
		.offset8 = offset8,
		.len8 = len8,
		.trans_id = 0x1122334455667788ull,
	};
	uint8_t *p = (uint8_t *)&d;

	for (uint32_t i = 0; i < sizeof(d); i++)
		f->data[(at + i) % RFX_SIZE] = p[i];
	rfx_set_indices(f, (at + written) % RFX_SIZE, at);
}

static void expect_bad(struct rfx *f, const char *log)
{
	uint8_t buf[RFX_SIZE];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(rfx_last_log, log);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void expect_good(struct rfx *f, uint32_t len)
{
	uint8_t buf[RFX_SIZE];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), len);
	assert_int_equal(buf[0], VM_PKT_DATA_INBAND);
}

static void test_corrupt_len8_short(void **state)
{
	struct rfx *f = *state;

	raw_desc(f, 64, 2, 1, 32);
	expect_bad(f, "relid 5 in: packet at 64: len8 1 shorter than a "
		      "descriptor");
	raw_desc(f, 64, 0, 0, 32);
	expect_bad(f, "relid 5 in: packet at 64: len8 0 shorter than a "
		      "descriptor");
}

static void test_corrupt_offset8(void **state)
{
	struct rfx *f = *state;

	raw_desc(f, 64, 1, 4, 40);
	expect_bad(f, "relid 5 in: packet at 64: offset8 1 outside 2..len8 4");
	raw_desc(f, 64, 0, 4, 40);
	expect_bad(f, "relid 5 in: packet at 64: offset8 0 outside 2..len8 4");
	raw_desc(f, 64, 5, 4, 40);
	expect_bad(f, "relid 5 in: packet at 64: offset8 5 outside 2..len8 4");
	raw_desc(f, 64, 4, 4, 40); /* header only: allowed */
	expect_good(f, 32);
}

static void test_corrupt_len8_beyond_written(void **state)
{
	struct rfx *f = *state;

	/* 80 bytes of packet need 88 with the trailer. */
	raw_desc(f, 4064, 2, 10, 80);
	expect_bad(f, "relid 5 in: packet at 4064: len8 10 plus trailer "
		      "exceeds the 80 bytes written");
	raw_desc(f, 4064, 2, 0xffff, 4088);
	expect_bad(f, "relid 5 in: packet at 4064: len8 65535 plus trailer "
		      "exceeds the 4088 bytes written");
	raw_desc(f, 4064, 2, 10, 88);
	expect_good(f, 80);
}

static void test_corrupt_too_few_bytes(void **state)
{
	struct rfx *f = *state;

	raw_desc(f, 0, 2, 2, 16);
	expect_bad(f, "relid 5 in: write_index 16 leaves 16 bytes at 0, less "
		      "than a packet");
	raw_desc(f, 4088, 2, 2, 8);
	expect_bad(f, "relid 5 in: write_index 0 leaves 8 bytes at 4088, "
		      "less than a packet");
	raw_desc(f, 4088, 2, 2, 24); /* descriptor split by the wrap */
	expect_good(f, 16);
}

static void test_corrupt_does_not_advance(void **state)
{
	struct rfx *f = *state;
	bool sig;

	assert_int_equal(rfx_put(&f->w, 16, 1, &sig), 0);
	assert_int_equal(rfx_put(&f->w, 16, 2, &sig), 0);
	rfx_get(&f->rd, 16, 1);
	f->data[24 + 4] = 0; /* second packet's len8 := 0 */
	expect_bad(f, "relid 5 in: packet at 24: len8 0 shorter than a "
		      "descriptor");
	expect_bad(f, "relid 5 in: packet at 24: len8 0 shorter than a "
		      "descriptor");
	f->data[24 + 4] = 2;
	rfx_get(&f->rd, 16, 2);
	assert_false(ovb_ring_read_commit(&f->rd));
	assert_int_equal(f->ctl->read_index, 48);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rfx_setup, rfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_corrupt_write_index_unaligned),
		T(test_corrupt_write_index_64k_log),
		T(test_corrupt_write_index_beyond),
		T(test_corrupt_read_index_seen_by_writer),
		T(test_corrupt_read_index_seen_by_reader),
		T(test_corrupt_len8_short),
		T(test_corrupt_offset8),
		T(test_corrupt_len8_beyond_written),
		T(test_corrupt_too_few_bytes),
		T(test_corrupt_does_not_advance),
	};
	int failed;

	failed = cmocka_run_group_tests_name("contiguous", tests, NULL, NULL);
	/* Again over a paged data area (ring-fx.h rfx_pages). */
	rfx_paged = true;
	failed += cmocka_run_group_tests_name("paged", tests, NULL, NULL);
	return failed;
}
