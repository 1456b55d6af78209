// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ring buffer (src/core/ring.c): framing and trailer,
 * wrap at every offset, exact fit, full and empty rings, size limits,
 * batches, the signalling rules of WIRE-FACTS B5 and corrupt rings.  One
 * writer view and one reader view share a 4 KiB data area, as a host and a
 * guest would.  Threads are in test-ring-stress.c.
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

#define DATA_SIZE 4096u
#define MAX_PKT (DATA_SIZE - 16)

struct fx {
	struct vmbus_ring_control *ctl;
	uint8_t *data;
	struct ovb_ring w;  /* the writer's view */
	struct ovb_ring rd; /* the reader's view */
};

static char last_log[512];
static int log_count;

static void log_sink(enum ovb_log_level level, const char *line, void *ctx)
{
	snprintf(last_log, sizeof(last_log), "%s", line);
	log_count++;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ctl = aligned_alloc(4096, sizeof(*f->ctl));
	f->data = aligned_alloc(4096, DATA_SIZE);
	assert_non_null(f->ctl);
	assert_non_null(f->data);
	memset(f->data, 0xee, DATA_SIZE);
	assert_int_equal(ovb_ring_attach(&f->w, f->ctl, f->data, DATA_SIZE,
					 "relid 5 out"), 0);
	assert_int_equal(ovb_ring_attach(&f->rd, f->ctl, f->data, DATA_SIZE,
					 "relid 5 in"), 0);
	ovb_ring_init_control(&f->w);
	ovb_log_set_sink(log_sink, NULL);
	ovb_log_set_level(OVB_LOG_WARN);
	log_count = 0;
	last_log[0] = 0;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	ovb_log_set_sink(NULL, NULL);
	free(f->ctl);
	free(f->data);
	free(f);
	return 0;
}

static uint32_t pad8(uint32_t n)
{
	return (n + 7) & ~7u;
}

/* A packet of @len bytes: in-band descriptor, payload derived from @seq. */
static void make_pkt(uint8_t *buf, uint32_t len, uint64_t seq)
{
	struct vmpacket_descriptor d = {
		.type = VM_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)(pad8(len) / 8),
		.flags = 0,
		.trans_id = seq,
	};

	memcpy(buf, &d, sizeof(d));
	for (uint32_t i = sizeof(d); i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i * 7 + 1);
}

static int put(struct ovb_ring *r, uint32_t len, uint64_t seq, bool *signal)
{
	uint8_t buf[DATA_SIZE];
	struct iovec iov = { buf, len };

	make_pkt(buf, len, seq);
	return ovb_ring_write(r, &iov, 1, signal);
}

static int stage(struct ovb_ring *r, uint32_t len, uint64_t seq)
{
	uint8_t buf[DATA_SIZE];
	struct iovec iov = { buf, len };

	make_pkt(buf, len, seq);
	return ovb_ring_write_packet(r, &iov, 1);
}

/* Read one packet and check it is the one put(len, seq) wrote. */
static void get(struct ovb_ring *r, uint32_t len, uint64_t seq)
{
	uint8_t want[DATA_SIZE], got[DATA_SIZE];

	make_pkt(want, len, seq);
	memset(got, 0x5a, sizeof(got));
	assert_int_equal(ovb_ring_read(r, got, sizeof(got)), pad8(len));
	assert_memory_equal(got, want, len);
	for (uint32_t i = len; i < pad8(len); i++)
		assert_int_equal(got[i], 0);
}

static uint64_t trailer_at(const struct fx *f, uint32_t off)
{
	uint8_t b[8];
	uint64_t t;

	for (int i = 0; i < 8; i++)
		b[i] = f->data[(off + i) % DATA_SIZE];
	memcpy(&t, b, sizeof(t));
	return t;
}

/* Place both indices at @off, as if that much had gone by already. */
static void set_indices(struct fx *f, uint32_t wr, uint32_t rd)
{
	f->ctl->write_index = wr;
	f->ctl->read_index = rd;
}

/* ---- attach, init, sizes ----------------------------------------------- */

static void test_attach_rejects_bad_sizes(void **state)
{
	struct fx *f = *state;
	struct ovb_ring r;

	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 0, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4095, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4097, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data,
					 (1u << 30) + 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, NULL, f->data, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, NULL, 4096, "x"),
			 -EINVAL);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 1u << 30, "x"),
			 0);
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 8192, NULL), 0);
	assert_string_equal(r.name, "ring");
	assert_int_equal(ovb_ring_attach(&r, f->ctl, f->data, 4096,
			 "a name much longer than thirty-one characters"), 0);
	assert_int_equal(strlen(r.name), sizeof(r.name) - 1);
}

static void test_init_control(void **state)
{
	struct fx *f = *state;
	const uint8_t *p = (const uint8_t *)f->ctl;

	memset(f->ctl, 0xff, sizeof(*f->ctl));
	ovb_ring_init_control(&f->w);
	assert_int_equal(f->ctl->write_index, 0);
	assert_int_equal(f->ctl->read_index, 0);
	assert_int_equal(f->ctl->interrupt_mask, 0);
	assert_int_equal(f->ctl->pending_send_sz, 0);
	assert_int_equal(f->ctl->feature_bits,
			 VMBUS_RING_FEAT_PENDING_SEND_SZ);
	for (size_t i = 0; i < sizeof(*f->ctl); i++)
		if (i < 64 || i >= 68)
			assert_int_equal(p[i], 0);
}

static void test_packet_space(void **state)
{
	assert_int_equal(ovb_ring_packet_space(0), 8);
	assert_int_equal(ovb_ring_packet_space(16), 24);
	assert_int_equal(ovb_ring_packet_space(17), 32);
	assert_int_equal(ovb_ring_packet_space(23), 32);
	assert_int_equal(ovb_ring_packet_space(24), 32);
	assert_int_equal(ovb_ring_packet_space(4080), 4088);
	assert_int_equal(ovb_ring_packet_space((size_t)1 << 31), UINT32_MAX);
}

/* ---- framing ----------------------------------------------------------- */

static void test_roundtrip_one(void **state)
{
	struct fx *f = *state;
	bool sig;

	assert_int_equal(put(&f->w, 40, 7, &sig), 0);
	assert_int_equal(f->ctl->write_index, 48);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 48);
	get(&f->rd, 40, 7);
	assert_int_equal(f->ctl->read_index, 0); /* not yet committed */
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(f->ctl->read_index, 48);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_int_equal(log_count, 0);
}

static void test_trailer_and_padding(void **state)
{
	struct fx *f = *state;
	static const uint8_t want[8] = { 0, 0, 0, 0, 0xa0, 0x0f, 0, 0 };
	bool sig;

	set_indices(f, 4000, 4000);
	assert_int_equal(put(&f->w, 37, 1, &sig), 0);
	/* 37 bytes, 3 zero bytes of padding, trailer at 4040. */
	for (uint32_t i = 4037; i < 4040; i++)
		assert_int_equal(f->data[i], 0);
	assert_memory_equal(f->data + 4040, want, 8);
	assert_true(trailer_at(f, 4040) == (uint64_t)4000 << 32);
	assert_int_equal(f->ctl->write_index, 4048);
	/* The next packet starts at 4048 and its trailer wraps to 0. */
	assert_int_equal(put(&f->w, 40, 2, &sig), 0);
	assert_true(trailer_at(f, 4088) == (uint64_t)4048 << 32);
	assert_int_equal(f->ctl->write_index, 0);
	get(&f->rd, 37, 1);
	get(&f->rd, 40, 2);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
}

static void test_trailer_split_by_wrap(void **state)
{
	struct fx *f = *state;
	bool sig;

	/* 4088 + 16 bytes of packet: the trailer lands at 8..15. */
	set_indices(f, 4088, 4088);
	assert_int_equal(put(&f->w, 16, 3, &sig), 0);
	assert_true(trailer_at(f, 8) == (uint64_t)4088 << 32);
	assert_int_equal(f->ctl->write_index, 16);
	get(&f->rd, 16, 3);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(f->ctl->read_index, 16);
}

static void test_iov_gather_across_wrap(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[100], got[104];
	struct iovec iov[4];
	bool sig;

	make_pkt(pkt, sizeof(pkt), 9);
	iov[0] = (struct iovec){ pkt, 10 };
	iov[1] = (struct iovec){ pkt + 10, 0 };
	iov[2] = (struct iovec){ pkt + 10, 50 };
	iov[3] = (struct iovec){ pkt + 60, 40 };
	set_indices(f, 4056, 4056);
	assert_int_equal(ovb_ring_write(&f->w, iov, 4, &sig), 0);
	assert_int_equal(ovb_ring_read(&f->rd, got, sizeof(got)), 104);
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_true(trailer_at(f, (4056 + 104) % DATA_SIZE) ==
		    (uint64_t)4056 << 32);
}

/* Write and read one packet of @len starting at every 8-byte offset. */
static void wrap_sweep(struct fx *f, uint32_t len)
{
	uint32_t space = ovb_ring_packet_space(len);
	bool sig;

	for (uint32_t off = 0; off < DATA_SIZE; off += 8) {
		uint32_t end = (off + space) % DATA_SIZE;

		memset(f->data, 0xee, DATA_SIZE);
		set_indices(f, off, off);
		assert_int_equal(put(&f->w, len, off, &sig), 0);
		assert_true(sig);
		assert_int_equal(f->ctl->write_index, end);
		assert_true(trailer_at(f, (end + DATA_SIZE - 8) % DATA_SIZE) ==
			    (uint64_t)off << 32);
		/* Nothing outside the packet was touched. */
		for (uint32_t i = space; i < DATA_SIZE; i++)
			assert_int_equal(f->data[(off + i) % DATA_SIZE], 0xee);
		get(&f->rd, len, off);
		assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
		assert_false(ovb_ring_read_commit(&f->rd));
		assert_int_equal(f->ctl->read_index, end);
	}
	assert_int_equal(log_count, 0);
}

static void test_wrap_every_offset_16(void **state)
{
	wrap_sweep(*state, 16);
}

static void test_wrap_every_offset_37(void **state)
{
	wrap_sweep(*state, 37);
}

static void test_wrap_every_offset_100(void **state)
{
	wrap_sweep(*state, 100);
}

static void test_wrap_every_offset_1001(void **state)
{
	wrap_sweep(*state, 1001);
}

static void test_wrap_every_offset_2048(void **state)
{
	wrap_sweep(*state, 2048);
}

static void test_wrap_every_offset_max(void **state)
{
	wrap_sweep(*state, MAX_PKT);
}

/* ---- capacity ----------------------------------------------------------- */

static void test_empty_is_eagain(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_false(ovb_ring_read_commit(&f->rd));
	assert_int_equal(ovb_ring_write_avail(&f->w), DATA_SIZE - 8);
}

static void test_exact_fit_empty_ring(void **state)
{
	struct fx *f = *state;
	bool sig;

	/* The largest packet leaves exactly the 8 reserved bytes. */
	assert_int_equal(put(&f->w, MAX_PKT, 1, &sig), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(put(&f->w, 16, 2, &sig), -EAGAIN);
	get(&f->rd, MAX_PKT, 1);
	ovb_ring_read_commit(&f->rd);
	/* One 8 more could never fit. */
	assert_int_equal(put(&f->w, MAX_PKT + 1, 3, &sig), -EMSGSIZE);
	assert_int_equal(put(&f->w, MAX_PKT + 8, 3, &sig), -EMSGSIZE);
}

static void test_exact_fit_partial_ring(void **state)
{
	struct fx *f = *state;
	bool sig;

	set_indices(f, 3000, 3000);
	assert_int_equal(put(&f->w, 1000, 1, &sig), 0); /* 1008 used */
	assert_int_equal(ovb_ring_write_avail(&f->w), DATA_SIZE - 1008 - 8);
	/* 3088 bytes free: 3088 rejected, 3080 leaves exactly 8. */
	assert_int_equal(put(&f->w, 3080, 2, &sig), -EAGAIN);
	assert_int_equal(f->ctl->write_index, (3000 + 1008) % DATA_SIZE);
	assert_int_equal(put(&f->w, 3072, 3, &sig), 0);
	assert_false(sig);
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(f->ctl->write_index, 3000 - 8);
	assert_int_equal(put(&f->w, 16, 4, &sig), -EAGAIN);
	get(&f->rd, 1000, 1);
	get(&f->rd, 3072, 3);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
}

static void test_full_then_drain(void **state)
{
	struct fx *f = *state;
	uint32_t n = 0, want = (DATA_SIZE - 8) / 24;
	bool sig;

	set_indices(f, 816, 816);
	while (put(&f->w, 16, n, &sig) == 0)
		n++;
	assert_int_equal(n, want);
	assert_int_equal(put(&f->w, 16, n, &sig), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), n * 24);
	for (uint32_t i = 0; i < n; i++)
		get(&f->rd, 16, i);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(ovb_ring_write_avail(&f->w), DATA_SIZE - 8);
}

static void test_too_large_emsgsize(void **state)
{
	struct fx *f = *state;
	uint8_t big[8192] = { 0 };
	struct iovec iov[2] = { { big, 4000 }, { big, 4000 } };
	bool sig = true;

	assert_int_equal(put(&f->w, MAX_PKT + 1, 1, &sig), -EMSGSIZE);
	assert_false(sig);
	assert_int_equal(ovb_ring_write(&f->w, iov, 2, &sig), -EMSGSIZE);
	iov[0].iov_len = sizeof(big);
	assert_int_equal(ovb_ring_write(&f->w, iov, 1, &sig), -EMSGSIZE);
	iov[0].iov_len = SIZE_MAX;
	assert_int_equal(ovb_ring_write(&f->w, iov, 1, &sig), -EMSGSIZE);
	assert_int_equal(f->ctl->write_index, 0);
	/* The failed writes left no batch open. */
	assert_int_equal(put(&f->w, 16, 2, &sig), 0);
}

static void test_small_buffer_emsgsize(void **state)
{
	struct fx *f = *state;
	uint8_t buf[104];
	bool sig;

	assert_int_equal(put(&f->w, 100, 5, &sig), 0);
	assert_int_equal(ovb_ring_read(&f->rd, buf, 103), -EMSGSIZE);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EMSGSIZE);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 112);
	get(&f->rd, 100, 5);
}

static void test_caller_mistakes_einval(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16] = { 0 };
	struct iovec iov = { buf, 15 };
	bool sig;

	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	assert_int_equal(ovb_ring_write_begin(&f->w), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, NULL, 1), -EINVAL);
	assert_int_equal(ovb_ring_write_packet(&f->w, &iov, -1), -EINVAL);
	assert_false(ovb_ring_write_commit(&f->w));
	assert_int_equal(ovb_ring_write(&f->w, &iov, 1, &sig), -EINVAL);
	assert_int_equal(f->ctl->write_index, 0);
}

/* ---- batches ----------------------------------------------------------- */

static void test_batch_invisible_until_commit(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(stage(&f->w, 24 + i * 8, i), 0);
	assert_int_equal(f->ctl->write_index, 0);
	assert_int_equal(ovb_ring_read(&f->rd, NULL, 0), -EAGAIN);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w),
			 DATA_SIZE - 8 - (32 + 40 + 48));
	assert_true(ovb_ring_write_commit(&f->w));
	assert_int_equal(f->ctl->write_index, 32 + 40 + 48);
	for (uint32_t i = 0; i < 3; i++)
		get(&f->rd, 24 + i * 8, i);
}

static void test_batch_one_signal(void **state)
{
	struct fx *f = *state;

	/* First batch makes the ring non-empty: one signal for 5 packets. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(stage(&f->w, 64, i), 0);
	assert_true(ovb_ring_write_commit(&f->w));
	/* Second batch finds the ring non-empty: no signal. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	for (uint32_t i = 5; i < 10; i++)
		assert_int_equal(stage(&f->w, 64, i), 0);
	assert_false(ovb_ring_write_commit(&f->w));
	for (uint32_t i = 0; i < 10; i++)
		get(&f->rd, 64, i);
}

static void test_batch_partial_when_full(void **state)
{
	struct fx *f = *state;
	uint32_t n = 0;
	int rc;

	/* A batch that runs out of room keeps what it staged. */
	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	while ((rc = stage(&f->w, 1000, n)) == 0)
		n++;
	assert_int_equal(rc, -EAGAIN);
	assert_int_equal(n, 4); /* 4 x 1008 = 4032 < 4088 */
	assert_true(ovb_ring_write_commit(&f->w));
	for (uint32_t i = 0; i < n; i++)
		get(&f->rd, 1000, i);
}

static void test_empty_batch_no_signal(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ovb_ring_write_begin(&f->w), 0);
	assert_false(ovb_ring_write_commit(&f->w));
	assert_int_equal(f->ctl->write_index, 0);
	assert_false(ovb_ring_write_commit(&f->w)); /* no batch open */
}

/* ---- writer -> reader signals ------------------------------------------ */

static void test_signal_empty_to_nonempty(void **state)
{
	struct fx *f = *state;
	bool sig = false;

	assert_int_equal(put(&f->w, 32, 1, &sig), 0);
	assert_true(sig);
	assert_int_equal(put(&f->w, 32, 2, &sig), 0);
	assert_false(sig); /* ring was not empty */
}

static void test_signal_masked(void **state)
{
	struct fx *f = *state;
	bool sig = true;

	ovb_ring_mask_interrupts(&f->rd);
	assert_int_equal(f->ctl->interrupt_mask, 1);
	assert_int_equal(put(&f->w, 32, 1, &sig), 0);
	assert_false(sig);
}

static void test_signal_again_after_drain(void **state)
{
	struct fx *f = *state;
	bool sig;

	assert_int_equal(put(&f->w, 32, 1, &sig), 0);
	assert_true(sig);
	get(&f->rd, 32, 1);
	ovb_ring_read_commit(&f->rd);
	assert_int_equal(put(&f->w, 32, 2, &sig), 0);
	assert_true(sig);
}

static void test_no_signal_before_reader_commits(void **state)
{
	struct fx *f = *state;
	bool sig;

	/* The reader took the packet but has not published read_index: it
	 * is still running and will find the next packet itself. */
	assert_int_equal(put(&f->w, 32, 1, &sig), 0);
	get(&f->rd, 32, 1);
	assert_int_equal(put(&f->w, 32, 2, &sig), 0);
	assert_false(sig);
	get(&f->rd, 32, 2);
}

static void test_unmask_recheck_empty(void **state)
{
	struct fx *f = *state;

	ovb_ring_mask_interrupts(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
	assert_int_equal(f->ctl->interrupt_mask, 0);
}

static void test_unmask_recheck_data_arrived(void **state)
{
	struct fx *f = *state;
	bool sig = true;

	ovb_ring_mask_interrupts(&f->rd);
	assert_int_equal(put(&f->w, 48, 1, &sig), 0);
	assert_false(sig); /* masked: the reader must find it itself */
	assert_true(ovb_ring_unmask_interrupts(&f->rd));
	get(&f->rd, 48, 1);
	ovb_ring_read_commit(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
}

static void test_unmask_recheck_uncommitted(void **state)
{
	struct fx *f = *state;
	bool sig;

	assert_int_equal(put(&f->w, 48, 1, &sig), 0);
	assert_int_equal(put(&f->w, 48, 2, &sig), 0);
	ovb_ring_mask_interrupts(&f->rd);
	get(&f->rd, 48, 1);
	/* read_index is still 0, but the reader's own position counts. */
	assert_true(ovb_ring_unmask_interrupts(&f->rd));
	get(&f->rd, 48, 2);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
	ovb_ring_read_commit(&f->rd);
	assert_false(ovb_ring_unmask_interrupts(&f->rd));
}

/* ---- reader -> writer signals (pending_send_sz) ------------------------- */

/* Fill the ring with 16-byte packets (24 bytes each); return how many. */
static uint32_t fill_small(struct fx *f)
{
	uint32_t n = 0;
	bool sig;

	while (put(&f->w, 16, n, &sig) == 0)
		n++;
	return n;
}

static void test_pending_unset_no_signal(void **state)
{
	struct fx *f = *state;
	uint32_t n = fill_small(f);

	for (uint32_t i = 0; i < n; i++) {
		get(&f->rd, 16, i);
		assert_false(ovb_ring_read_commit(&f->rd));
	}
}

static void test_pending_crossing_once(void **state)
{
	struct fx *f = *state;
	uint32_t n = fill_small(f), need = 1000, signals = 0;

	assert_false(ovb_ring_set_pending_send(&f->w, need));
	assert_int_equal(f->ctl->pending_send_sz, need);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t before = ovb_ring_write_avail(&f->w) + 8, now;
		bool sig;

		get(&f->rd, 16, i);
		sig = ovb_ring_read_commit(&f->rd);
		now = ovb_ring_write_avail(&f->w) + 8;
		/* Exactly on the commit that crosses, never again. */
		assert_int_equal(sig, before <= need && now > need);
		signals += sig;
		if (sig)
			assert_true(ovb_ring_set_pending_send(&f->w, need));
	}
	assert_int_equal(signals, 1);
}

static void test_pending_crossing_in_one_batch(void **state)
{
	struct fx *f = *state;
	uint32_t n = fill_small(f);

	assert_false(ovb_ring_set_pending_send(&f->w, 2000));
	/* 40 packets = 960 bytes: free grows from 16 to 976, no crossing. */
	for (uint32_t i = 0; i < 40; i++)
		get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
	/* 60 more: free goes to 2416 in one batch, one signal. */
	for (uint32_t i = 40; i < 100; i++)
		get(&f->rd, 16, i);
	assert_true(ovb_ring_read_commit(&f->rd));
	for (uint32_t i = 100; i < n; i++)
		get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_pending_needs_feature_bit(void **state)
{
	struct fx *f = *state;
	uint32_t n = fill_small(f);

	f->ctl->feature_bits = 0;
	f->ctl->pending_send_sz = 100;
	for (uint32_t i = 0; i < n; i++)
		get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_pending_low_bits_ignored(void **state)
{
	struct fx *f = *state;
	uint32_t n = fill_small(f);

	/* A peer that writes 103 means 96: free 16 -> 112 crosses it. */
	f->ctl->pending_send_sz = 103;
	for (uint32_t i = 0; i < 3; i++)
		get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd)); /* 16 -> 88 */
	get(&f->rd, 16, 3);
	assert_true(ovb_ring_read_commit(&f->rd)); /* 88 -> 112 */
	for (uint32_t i = 4; i < n; i++)
		get(&f->rd, 16, i);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void test_set_pending_matches_write(void **state)
{
	struct fx *f = *state;
	bool sig;

	/* 1008 + 24 bytes used: raw free 3064, usable 3056. */
	assert_int_equal(put(&f->w, 1000, 1, &sig), 0);
	assert_int_equal(put(&f->w, 16, 2, &sig), 0);
	assert_int_equal(ovb_ring_write_avail(&f->w), 3056);
	/* need == usable space: a packet of that space fits, so the writer
	 * must not sleep (the reader would never signal: no crossing). */
	assert_true(ovb_ring_set_pending_send(&f->w, 3056));
	assert_false(ovb_ring_set_pending_send(&f->w, 3064));
	assert_int_equal(put(&f->w, 3056, 3, &sig), -EAGAIN); /* space 3064 */
	assert_int_equal(put(&f->w, 3048, 3, &sig), 0);       /* space 3056 */
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
}

static void test_set_pending_rounds_and_clears(void **state)
{
	struct fx *f = *state;

	assert_true(ovb_ring_set_pending_send(&f->w, 1001));
	assert_int_equal(f->ctl->pending_send_sz, 1008);
	assert_true(ovb_ring_set_pending_send(&f->w, 0));
	assert_int_equal(f->ctl->pending_send_sz, 0);
	assert_false(ovb_ring_set_pending_send(&f->w, UINT32_MAX));
	assert_int_equal(f->ctl->pending_send_sz, UINT32_MAX & ~7u);
}

/* ---- corrupt rings ------------------------------------------------------ */

static void test_corrupt_write_index_unaligned(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	f->ctl->write_index = 4;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(last_log,
			    "relid 5 in: write_index 4 not a multiple of 8 "
			    "(size 4096)");
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
	/* The writer refuses to extend a corrupt index too. */
	assert_int_equal(ovb_ring_write_begin(&f->w), -EBADMSG);
	assert_string_equal(last_log,
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
	assert_string_equal(last_log, "relid 5 in: write_index 4100 not a "
				      "multiple of 8 (size 65536)");
	free(ctl);
	free(data);
}

static void test_corrupt_write_index_beyond(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	f->ctl->write_index = DATA_SIZE;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(last_log, "relid 5 in: write_index 4096 beyond "
				      "the data area (size 4096)");
	f->ctl->write_index = 0xfffffff8u;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_int_equal(log_count, 2);
	assert_int_equal(ovb_ring_read_avail(&f->rd), 0);
}

static void test_corrupt_read_index_seen_by_writer(void **state)
{
	struct fx *f = *state;
	bool sig = true;

	f->ctl->read_index = 12;
	assert_int_equal(put(&f->w, 16, 1, &sig), -EBADMSG);
	assert_false(sig);
	assert_string_equal(last_log, "relid 5 out: read_index 12 not a "
				      "multiple of 8 (size 4096)");
	f->ctl->read_index = 8192;
	assert_int_equal(put(&f->w, 16, 1, &sig), -EBADMSG);
	assert_string_equal(last_log, "relid 5 out: read_index 8192 beyond "
				      "the data area (size 4096)");
	assert_int_equal(ovb_ring_write_avail(&f->w), 0);
	assert_int_equal(f->ctl->write_index, 0);
	/* Once the index is sane again, writing works. */
	f->ctl->read_index = 0;
	assert_int_equal(put(&f->w, 16, 1, &sig), 0);
}

static void test_corrupt_read_index_seen_by_reader(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];
	bool sig;

	assert_int_equal(put(&f->w, 16, 1, &sig), 0);
	f->ctl->read_index = 4097;
	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(last_log, "relid 5 in: read_index 4097 not a "
				      "multiple of 8 (size 4096)");
	f->ctl->read_index = 0;
	get(&f->rd, 16, 1);
}

/* Put a raw descriptor at @at and claim @written bytes are there. */
static void raw_desc(struct fx *f, uint32_t at, uint16_t offset8,
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
		f->data[(at + i) % DATA_SIZE] = p[i];
	set_indices(f, (at + written) % DATA_SIZE, at);
}

static void expect_bad(struct fx *f, const char *log)
{
	uint8_t buf[DATA_SIZE];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), -EBADMSG);
	assert_string_equal(last_log, log);
	assert_false(ovb_ring_read_commit(&f->rd));
}

static void expect_good(struct fx *f, uint32_t len)
{
	uint8_t buf[DATA_SIZE];

	assert_int_equal(ovb_ring_read(&f->rd, buf, sizeof(buf)), len);
	assert_int_equal(buf[0], VM_PKT_DATA_INBAND);
}

static void test_corrupt_len8_short(void **state)
{
	struct fx *f = *state;

	raw_desc(f, 64, 2, 1, 32);
	expect_bad(f, "relid 5 in: packet at 64: len8 1 shorter than a "
		      "descriptor");
	raw_desc(f, 64, 0, 0, 32);
	expect_bad(f, "relid 5 in: packet at 64: len8 0 shorter than a "
		      "descriptor");
}

static void test_corrupt_offset8(void **state)
{
	struct fx *f = *state;

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
	struct fx *f = *state;

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
	struct fx *f = *state;

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
	struct fx *f = *state;
	bool sig;

	assert_int_equal(put(&f->w, 16, 1, &sig), 0);
	assert_int_equal(put(&f->w, 16, 2, &sig), 0);
	get(&f->rd, 16, 1);
	f->data[24 + 4] = 0; /* second packet's len8 := 0 */
	expect_bad(f, "relid 5 in: packet at 24: len8 0 shorter than a "
		      "descriptor");
	expect_bad(f, "relid 5 in: packet at 24: len8 0 shorter than a "
		      "descriptor");
	f->data[24 + 4] = 2;
	get(&f->rd, 16, 2);
	assert_false(ovb_ring_read_commit(&f->rd));
	assert_int_equal(f->ctl->read_index, 48);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_attach_rejects_bad_sizes),
		T(test_init_control),
		T(test_packet_space),
		T(test_roundtrip_one),
		T(test_trailer_and_padding),
		T(test_trailer_split_by_wrap),
		T(test_iov_gather_across_wrap),
		T(test_wrap_every_offset_16),
		T(test_wrap_every_offset_37),
		T(test_wrap_every_offset_100),
		T(test_wrap_every_offset_1001),
		T(test_wrap_every_offset_2048),
		T(test_wrap_every_offset_max),
		T(test_empty_is_eagain),
		T(test_exact_fit_empty_ring),
		T(test_exact_fit_partial_ring),
		T(test_full_then_drain),
		T(test_too_large_emsgsize),
		T(test_small_buffer_emsgsize),
		T(test_caller_mistakes_einval),
		T(test_batch_invisible_until_commit),
		T(test_batch_one_signal),
		T(test_batch_partial_when_full),
		T(test_empty_batch_no_signal),
		T(test_signal_empty_to_nonempty),
		T(test_signal_masked),
		T(test_signal_again_after_drain),
		T(test_no_signal_before_reader_commits),
		T(test_unmask_recheck_empty),
		T(test_unmask_recheck_data_arrived),
		T(test_unmask_recheck_uncommitted),
		T(test_pending_unset_no_signal),
		T(test_pending_crossing_once),
		T(test_pending_crossing_in_one_batch),
		T(test_pending_needs_feature_bit),
		T(test_pending_low_bits_ignored),
		T(test_set_pending_matches_write),
		T(test_set_pending_rounds_and_clears),
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
	return cmocka_run_group_tests(tests, NULL, NULL);
}
