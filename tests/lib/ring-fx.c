// SPDX-License-Identifier: MIT
/*
 * Test fixture for the ring buffer unit tests: a 4 KiB ring shared by a
 * writer view and a reader view, packet builders and a capturing log sink.
 * See ring-fx.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "openvmbus/log.h"
#include "tests/lib/ring-fx.h"

char rfx_last_log[512];
int rfx_log_count;
bool rfx_paged;

struct rfx_pages *rfx_pages_new(size_t size)
{
	struct rfx_pages *pg = calloc(1, sizeof(*pg));
	size_t n = size / 4096;

	assert_non_null(pg);
	assert_true(size && size % 4096 == 0);
	pg->size = size;
	pg->lin = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(pg->lin != MAP_FAILED);
	/* One page more than needed: the alias is never adjacent to the
	 * pages it shows, whatever mmap picks. */
	pg->alias = mmap(NULL, size + 4096, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(pg->alias != MAP_FAILED);
	pg->pages = calloc(n, sizeof(*pg->pages));
	assert_non_null(pg->pages);
	for (size_t i = 0; i < n; i++) {
		uint8_t *at = pg->alias + (n - 1 - i) * 4096;

		/* mremap of a shared mapping with old size 0: the same page
		 * mapped a second time. */
		assert_true(mremap(pg->lin + i * 4096, 0, 4096,
				   MREMAP_MAYMOVE | MREMAP_FIXED, at) == at);
		pg->pages[i] = at;
	}
	return pg;
}

void rfx_pages_free(struct rfx_pages *pg)
{
	if (!pg)
		return;
	munmap(pg->alias, pg->size + 4096);
	munmap(pg->lin, pg->size);
	free(pg->pages);
	free(pg);
}

static void rfx_log_sink(enum ovb_log_level level, const char *line,
			 void *ctx)
{
	snprintf(rfx_last_log, sizeof(rfx_last_log), "%s", line);
	rfx_log_count++;
}

int rfx_setup(void **state)
{
	struct rfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ctl = aligned_alloc(4096, sizeof(*f->ctl));
	assert_non_null(f->ctl);
	if (rfx_paged) {
		f->pg = rfx_pages_new(RFX_SIZE);
		f->data = f->pg->lin;
		memset(f->data, 0xee, RFX_SIZE);
		assert_int_equal(ovb_ring_attach_pages(&f->w, f->ctl,
						       f->pg->pages, RFX_SIZE,
						       "relid 5 out"), 0);
		assert_int_equal(ovb_ring_attach_pages(&f->rd, f->ctl,
						       f->pg->pages, RFX_SIZE,
						       "relid 5 in"), 0);
		assert_null(f->w.data);
	} else {
		f->data = aligned_alloc(4096, RFX_SIZE);
		assert_non_null(f->data);
		memset(f->data, 0xee, RFX_SIZE);
		assert_int_equal(ovb_ring_attach(&f->w, f->ctl, f->data,
						 RFX_SIZE, "relid 5 out"), 0);
		assert_int_equal(ovb_ring_attach(&f->rd, f->ctl, f->data,
						 RFX_SIZE, "relid 5 in"), 0);
	}
	ovb_ring_init_control(&f->w);
	ovb_log_set_sink(rfx_log_sink, NULL);
	ovb_log_set_level(OVB_LOG_WARN);
	rfx_log_count = 0;
	rfx_last_log[0] = 0;
	*state = f;
	return 0;
}

int rfx_teardown(void **state)
{
	struct rfx *f = *state;

	ovb_log_set_sink(NULL, NULL);
	free(f->ctl);
	if (f->pg)
		rfx_pages_free(f->pg);
	else
		free(f->data);
	free(f);
	return 0;
}

uint32_t rfx_pad8(uint32_t n)
{
	return (n + 7) & ~7u;
}

/* A packet of @len bytes: in-band descriptor, payload derived from @seq. */
void rfx_make_pkt(uint8_t *buf, uint32_t len, uint64_t seq)
{
	struct vmpacket_descriptor d = {
		.type = VM_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)(rfx_pad8(len) / 8),
		.flags = 0,
		.trans_id = seq,
	};

	memcpy(buf, &d, sizeof(d));
	for (uint32_t i = sizeof(d); i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i * 7 + 1);
}

int rfx_put(struct ovb_ring *r, uint32_t len, uint64_t seq, bool *signal)
{
	uint8_t buf[RFX_SIZE];
	struct iovec iov = { buf, len };

	rfx_make_pkt(buf, len, seq);
	return ovb_ring_write(r, &iov, 1, signal);
}

int rfx_stage(struct ovb_ring *r, uint32_t len, uint64_t seq)
{
	uint8_t buf[RFX_SIZE];
	struct iovec iov = { buf, len };

	rfx_make_pkt(buf, len, seq);
	return ovb_ring_write_packet(r, &iov, 1);
}

/* Read one packet and check it is the one rfx_put(len, seq) wrote. */
void rfx_get(struct ovb_ring *r, uint32_t len, uint64_t seq)
{
	uint8_t want[RFX_SIZE], got[RFX_SIZE];

	rfx_make_pkt(want, len, seq);
	memset(got, 0x5a, sizeof(got));
	assert_int_equal(ovb_ring_read(r, got, sizeof(got)), rfx_pad8(len));
	assert_memory_equal(got, want, len);
	for (uint32_t i = len; i < rfx_pad8(len); i++)
		assert_int_equal(got[i], 0);
}

uint64_t rfx_trailer_at(const struct rfx *f, uint32_t off)
{
	uint8_t b[8];
	uint64_t t;

	for (int i = 0; i < 8; i++)
		b[i] = f->data[(off + i) % RFX_SIZE];
	memcpy(&t, b, sizeof(t));
	return t;
}

/* Place the indices where a test wants them, as if traffic had gone by. */
void rfx_set_indices(struct rfx *f, uint32_t wr, uint32_t rd)
{
	f->ctl->write_index = wr;
	f->ctl->read_index = rd;
}
