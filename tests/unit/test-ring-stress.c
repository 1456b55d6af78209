// SPDX-License-Identifier: MIT
/*
 * Two-thread tests of the ring buffer (src/core/ring.c): one writer thread
 * and one reader thread over a 64 KiB ring, 200k packets of varying sizes
 * carrying sequence numbers and checksums.  The first test spins on -EAGAIN;
 * the second sleeps on semaphores and wakes only on the signals the ring
 * asks for (docs/wire.md B5 rules 1-3), so a lost wake-up shows up as a
 * timeout instead of going unnoticed; it runs once more over an 8 KiB ring,
 * where the writer fills the ring and sleeps on pending_send_sz often, and
 * once over a 64 KiB ring whose pages are scattered (a paged data area).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "openvmbus/ring.h"
#include "tests/lib/ring-fx.h"

#define PACKETS 200000u
#define MAX_LEN 1024u
#define WAIT_SECONDS 5 /* a wait this long means a lost wake-up */

struct stress {
	struct vmbus_ring_control *ctl;
	uint8_t *data;
	struct ovb_ring w, rd;
	bool use_signals;
	sem_t reader_wake, writer_wake;
	uint32_t reader_sleeps, writer_sleeps; /* for the log line */
	char error[200];                       /* first failure, if any */
	int failed;                            /* atomic: stop both sides */
};

static void fail_with(struct stress *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_with(struct stress *s, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&s->failed, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	/* Wake whoever sleeps so both threads see the failure. */
	sem_post(&s->reader_wake);
	sem_post(&s->writer_wake);
}

static bool failed(struct stress *s)
{
	return __atomic_load_n(&s->failed, __ATOMIC_SEQ_CST);
}

static uint32_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Length of packet @seq: 24 .. MAX_LEN bytes, not always 8-aligned. */
static uint32_t pkt_len(uint64_t seq)
{
	return 24 + mix(seq) % (MAX_LEN - 24 + 1);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Descriptor (trans_id = seq), checksum of the rest at 16, payload. */
static uint32_t build_pkt(uint8_t *buf, uint64_t seq)
{
	uint32_t len = pkt_len(seq), sum;
	struct vmpacket_descriptor d = {
		.type = VM_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)((len + 7) / 8),
		.trans_id = seq,
	};

	memcpy(buf, &d, sizeof(d));
	for (uint32_t i = 20; i < len; i++)
		buf[i] = (uint8_t)(mix(seq + i) >> 7);
	sum = fnv1a(buf + 20, len - 20);
	memcpy(buf + 16, &sum, sizeof(sum));
	return len;
}

static void check_pkt(struct stress *s, const uint8_t *buf, ssize_t n,
		      uint64_t seq)
{
	struct vmpacket_descriptor d;
	uint32_t len = pkt_len(seq), sum;

	memcpy(&d, buf, sizeof(d));
	memcpy(&sum, buf + 16, sizeof(sum));
	if (d.trans_id != seq)
		fail_with(s, "packet %llu arrived as %llu",
			  (unsigned long long)seq,
			  (unsigned long long)d.trans_id);
	else if (n != (ssize_t)((len + 7) & ~7u))
		fail_with(s, "packet %llu: %zd bytes, want %u",
			  (unsigned long long)seq, n, (len + 7) & ~7u);
	else if (sum != fnv1a(buf + 20, len - 20))
		fail_with(s, "packet %llu: bad checksum",
			  (unsigned long long)seq);
}

static void wait_for(struct stress *s, sem_t *sem, const char *who)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_SECONDS;
	while (sem_timedwait(sem, &ts) != 0) {
		if (errno == EINTR)
			continue;
		fail_with(s, "%s: no wake-up in %d s (lost signal?)", who,
			  WAIT_SECONDS);
		return;
	}
}

/* The writer's batch is full, or its next packet does not fit. */
static void writer_blocked(struct stress *s, uint64_t seq)
{
	uint32_t need = ovb_ring_packet_space(pkt_len(seq));

	if (!s->use_signals) {
		sched_yield();
		return;
	}
	if (!ovb_ring_set_pending_send(&s->w, need)) {
		s->writer_sleeps++;
		wait_for(s, &s->writer_wake, "writer");
	}
	ovb_ring_set_pending_send(&s->w, 0);
}

static void *writer_main(void *arg)
{
	struct stress *s = arg;
	uint8_t buf[MAX_LEN];
	uint64_t seq = 0;
	int rc = 0;

	while (seq < PACKETS && !failed(s)) {
		uint32_t batch = 1 + mix(seq ^ 0xabc) % 8, staged = 0;

		if ((rc = ovb_ring_write_begin(&s->w)) != 0)
			break;
		while (staged < batch && seq < PACKETS) {
			struct iovec iov = { buf, build_pkt(buf, seq) };

			if ((rc = ovb_ring_write_packet(&s->w, &iov, 1)) != 0)
				break;
			seq++;
			staged++;
		}
		if (ovb_ring_write_commit(&s->w) && s->use_signals)
			sem_post(&s->reader_wake);
		if (rc == -EAGAIN && staged == 0)
			writer_blocked(s, seq);
		else if (rc != 0 && rc != -EAGAIN)
			break;
		rc = 0;
	}
	if (rc != 0)
		fail_with(s, "writer: error %d at packet %llu", rc,
			  (unsigned long long)seq);
	return NULL;
}

static void reader_commit(struct stress *s)
{
	if (ovb_ring_read_commit(&s->rd) && s->use_signals)
		sem_post(&s->writer_wake);
}

static void *reader_main(void *arg)
{
	struct stress *s = arg;
	uint8_t buf[MAX_LEN + 8];
	uint64_t seq = 0;
	ssize_t n;

	while (seq < PACKETS && !failed(s)) {
		if (s->use_signals)
			ovb_ring_mask_interrupts(&s->rd);
		while ((n = ovb_ring_read(&s->rd, buf, sizeof(buf))) > 0) {
			check_pkt(s, buf, n, seq++);
			if (seq % 16 == 0)
				reader_commit(s);
		}
		reader_commit(s);
		if (n != -EAGAIN) {
			fail_with(s, "reader: error %zd at packet %llu", n,
				  (unsigned long long)seq);
			break;
		}
		if (!s->use_signals) {
			sched_yield();
			continue;
		}
		if (ovb_ring_unmask_interrupts(&s->rd) || seq == PACKETS)
			continue;
		s->reader_sleeps++;
		wait_for(s, &s->reader_wake, "reader");
	}
	return NULL;
}

static void run_stress(uint32_t size, bool use_signals, bool paged)
{
	struct stress *s = calloc(1, sizeof(*s));
	struct rfx_pages *pg = NULL;
	pthread_t wt, rt;

	assert_non_null(s);
	s->ctl = aligned_alloc(4096, sizeof(*s->ctl));
	assert_non_null(s->ctl);
	if (paged) {
		/* Writer and reader over scattered pages (ring-fx.h). */
		pg = rfx_pages_new(size);
		assert_int_equal(ovb_ring_attach_pages(&s->w, s->ctl,
						       pg->pages, size,
						       "stress out"), 0);
		assert_int_equal(ovb_ring_attach_pages(&s->rd, s->ctl,
						       pg->pages, size,
						       "stress in"), 0);
	} else {
		s->data = aligned_alloc(4096, size);
		assert_non_null(s->data);
		assert_int_equal(ovb_ring_attach(&s->w, s->ctl, s->data, size,
						 "stress out"), 0);
		assert_int_equal(ovb_ring_attach(&s->rd, s->ctl, s->data, size,
						 "stress in"), 0);
	}
	ovb_ring_init_control(&s->w);
	s->use_signals = use_signals;
	sem_init(&s->reader_wake, 0, 0);
	sem_init(&s->writer_wake, 0, 0);

	assert_int_equal(pthread_create(&rt, NULL, reader_main, s), 0);
	assert_int_equal(pthread_create(&wt, NULL, writer_main, s), 0);
	pthread_join(wt, NULL);
	pthread_join(rt, NULL);
	if (use_signals)
		print_message("reader slept %u times, writer %u times\n",
			      s->reader_sleeps, s->writer_sleeps);
	if (failed(s))
		fail_msg("%s", s->error);
	assert_int_equal(ovb_ring_read_avail(&s->rd), 0);
	assert_int_equal(s->ctl->read_index, s->ctl->write_index);

	sem_destroy(&s->reader_wake);
	sem_destroy(&s->writer_wake);
	free(s->ctl);
	free(s->data);
	rfx_pages_free(pg);
	free(s);
}

static void test_stress_spin(void **state)
{
	run_stress(64 * 1024, false, false);
}

static void test_stress_signalled(void **state)
{
	run_stress(64 * 1024, true, false);
}

/* The signalled run over a paged data area whose pages are scattered. */
static void test_stress_signalled_paged(void **state)
{
	run_stress(64 * 1024, true, true);
}

static void test_stress_signalled_small_ring(void **state)
{
	run_stress(8 * 1024, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress_spin),
		cmocka_unit_test(test_stress_signalled),
		cmocka_unit_test(test_stress_signalled_small_ring),
		cmocka_unit_test(test_stress_signalled_paged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
