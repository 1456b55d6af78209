// SPDX-License-Identifier: MIT
/*
 * Pair test of the host worker's busy spin (ovb_chan_set_busy, storvsp
 * over a remote LUN): storvsp over an NBD disk on the scripted fake
 * server of tests/lib/nbd-fake.h and storvsc in one process.  With the
 * spin, a worker that sent a read spins for its answer instead of
 * sleeping: QD1 reads cost it one sleep each or fewer (the next
 * request), where a worker that sleeps after every drain takes two (the
 * answer, then the next request).  An idle disk is not spun for.  The
 * counters are the channel's (sleeps, adapt_hits, spin_crowded,
 * adapt_spin_us).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/lib/nbd-fake.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

#define READS 400u

struct busy_run {
	uint64_t sleeps, hits, crowded, spin_us, idle_spin_us;
};

/* @n QD1 4 KiB reads of LUN 0 on the fake server, data checked. */
static void run_reads(bool stream, unsigned int n, struct busy_run *r)
{
	struct sfx_opts o = { .nluns = 1, .host_stream = stream };
	struct sfx_chans a, b, c;
	struct ovb_storvsc *s;
	struct sfx *f;
	uint8_t *buf;

	nbd_fake_start(S_HONEST);
	o.lun0 = nbd_fake_disk_open("");
	f = sfx_new(&o);
	if (f->loop) {
		/* Caller-driven turns neither sleep nor spin. */
		sfx_free(f);
		nbd_fake_stop();
		skip();
	}
	s = sfx_ctl(f, false);
	buf = ovb_storvsc_alloc(s, 4096);
	assert_non_null(buf);
	for (unsigned int i = 0; i < 16; i++) /* connected, budget learnt */
		assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0,
						  buf, 4096, false), 4096);
	sfx_host_chans(f, &a);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t off = (uint64_t)(i % 256) * 4096;

		assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, off,
						  buf, 4096, false), 4096);
		assert_memory_equal(buf, nbd_fake.disk + off, 4096);
	}
	/* The last spin's time is counted after its answer went out. */
	usleep(20000);
	sfx_host_chans(f, &b);
	/* Nothing in flight: no spin while the disk idles. */
	usleep(100000);
	sfx_host_chans(f, &c);
	r->sleeps = b.st.sleeps - a.st.sleeps;
	r->hits = b.st.adapt_hits - a.st.adapt_hits;
	r->crowded = b.st.spin_crowded - a.st.spin_crowded;
	r->spin_us = b.st.adapt_spin_us - a.st.adapt_spin_us;
	r->idle_spin_us = c.st.adapt_spin_us - b.st.adapt_spin_us;
	print_message("%s: %u reads, host worker %llu sleeps, %llu busy hits, "
		      "%llu crowded, %llu us spinning; idle %llu us\n",
		      stream ? "busy spin" : "no spin", n,
		      (unsigned long long)r->sleeps,
		      (unsigned long long)r->hits,
		      (unsigned long long)r->crowded,
		      (unsigned long long)r->spin_us,
		      (unsigned long long)r->idle_spin_us);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
	nbd_fake_stop();
}

/* The default (vmbus host's): the worker waits for answers spinning. */
static void test_busy_spin(void **state)
{
	struct busy_run r;

	run_reads(true, READS, &r);
	/* A spin that found its core wanted by another thread sleeps
	 * instead (crowded: the machine is busy); the rest meet answers. */
	assert_true(r.hits + r.crowded >= READS / 2);
	assert_true(r.sleeps < READS * 3 / 2 + r.crowded); /* 1.5/read */
	assert_int_equal(r.idle_spin_us, 0);
}

/* The zero config (--disk-spin 0): a sleep for every answer. */
static void test_no_spin(void **state)
{
	struct busy_run r;

	run_reads(false, READS, &r);
	assert_int_equal(r.hits, 0);
	assert_int_equal(r.crowded, 0);
	assert_int_equal(r.spin_us, 0);
	assert_true(r.sleeps * 2 >= READS * 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_spin),
		cmocka_unit_test(test_no_spin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
