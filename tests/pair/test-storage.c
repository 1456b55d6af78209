// SPDX-License-Identifier: MIT
/*
 * Pair tests of storage: storvsp over RAM disks and storvsc in one process
 * over the inproc link.  The init sequence at every VSTOR version (both SRB
 * sizes) and the host's refusal of newer ones; read, write, flush and
 * discard across LUNs and sub-channels with the data checked in the RAM
 * disks; transfers split by the host's limit; hot add and remove with
 * ENUMERATE_BUS; a full host queue; timeouts escalating through resets;
 * the IDE disk; error mapping; and a host that dies with I/O in flight.
 * Polling and batching: test-storage-poll.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/guid.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/server.h"
#include "openvmbus/vsp.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

static const uint16_t versions[] = {
	VSTOR_PROTO_VERSION_WIN10, VSTOR_PROTO_VERSION_WIN8_1,
	VSTOR_PROTO_VERSION_WIN8,  VSTOR_PROTO_VERSION_WIN7,
	VSTOR_PROTO_VERSION_WIN6,
};

static void test_class_guids(void **state)
{
	const struct vmbus_guid scsi = VSTOR_SCSI_CLASS_GUID;
	const struct vmbus_guid ide = VSTOR_IDE_CLASS_GUID;

	assert_memory_equal(&scsi, &OVB_GUID_SCSI, sizeof(scsi));
	assert_memory_equal(&ide, &OVB_GUID_IDE, sizeof(ide));
}

/* A guest capped at each version gets it; 52- and 36-byte SRBs work. */
static void test_every_version(void **state)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct sfx_opts o = { .guest_max_version = versions[i] };
		struct sfx *f = sfx_new(&o);
		struct ovb_storvsc *s = sfx_ctl(f, false);
		struct ovb_storvsc_lun l[4];

		assert_int_equal(ovb_storvsc_version(s), versions[i]);
		assert_int_equal(ovb_storvsc_luns(s, l, 4), 2);
		assert_int_equal(l[0].blocks, SFX_DISK / 512);
		assert_int_equal(l[1].block_size, 4096);
		assert_string_equal(l[0].vendor, "Msft");
		sfx_rw_check(f, s, 0, f->blk[0], 4096, 65536, (unsigned int)i);
		sfx_rw_check(f, s, 1, f->blk[1], 8192, 8192, (unsigned int)i + 9);
		sfx_free(f);
	}
}

/* An older host refuses newer versions: the guest walks down the list. */
static void test_host_refuses_newer(void **state)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct sfx_opts o = { .host_max_version = versions[i] };
		struct sfx *f = sfx_new(&o);
		struct ovb_storvsc *s = sfx_ctl(f, false);

		assert_int_equal(ovb_storvsc_version(s), versions[i]);
		sfx_rw_check(f, s, 0, f->blk[0], 0, 4096, 3);
		sfx_free(f);
	}
}

static void test_split_and_discard(void **state)
{
	struct sfx *f = sfx_new(NULL);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	size_t len = 3 * ovb_storvsc_max_transfer(s) + 4096;
	uint8_t *ram = ovb_blk_ram_data(f->blk[0]);

	assert_true(ovb_storvsc_max_transfer(s) >= 65536);
	sfx_rw_check(f, s, 0, f->blk[0], 512, len, 77);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_DISCARD, 0, 512,
					  NULL, 8192, false),
			 8192);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(ram[512 + i], 0);
	assert_int_not_equal(ram[512 + 8192], 0);
	/* FUA writes reach the disk like others (and complete after it). */
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);

	memset(buf, 0xa5, 4096);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 0, 0, buf,
					  4096, true),
			 4096);
	assert_int_equal(ram[100], 0xa5);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

/* ---- many requests in flight over sub-channels ----------------------- */

static void test_subchannels(void **state)
{
	struct sfx_opts o = { .nluns = 3, .subchannels = 2 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_storvsp_stats st;

	PAIR_WAIT(ovb_storvsc_channels(s) == 3);
	assert_int_equal(ovb_storvsc_channels(s), 3);
	sfx_flight_run(f, s, 96, 16384);
	sfx_rw_check(f, s, 1, f->blk[1], 0, 1 << 20, 4);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_true(st.bytes_written >= 96 * 16384);
	assert_int_equal(st.bad_packets, 0);
	sfx_free(f);
}

/*
 * A host with 2 slots per channel leaves the other requests in the ring
 * until a slot frees; none is answered BUSY, all complete.
 */
static void test_full_host_queue(void **state)
{
	struct sfx_opts o = { .depth = 2, .gated = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t *buf = ovb_storvsc_alloc(s, 8 * 4096);
	struct ovb_storvsp_stats st0, st;
	struct sfx_flight fl[8] = { 0 };
	int left = 8;

	ovb_storvsp_get_stats(f->scsi, &st0);
	sfx_gate_close();
	sfx_reads_start(s, fl, 8, buf, &left, &lock, &cond);
	/* Two wait in the backend, the rest in the ring. */
	PAIR_WAIT(sfx_gate_held() == 2 &&
		  (ovb_storvsp_get_stats(f->scsi, &st),
		   st.srbs - st0.srbs == 2));
	usleep(20 * 1000);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_int_equal(st.srbs - st0.srbs, 2);
	assert_int_equal(sfx_gate_held(), 2);
	sfx_gate_open();
	sfx_flight_wait(&left, &lock, &cond);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fl[i].res, 4096);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_int_equal(st.busy, 0);
	assert_int_equal(st.srbs - st0.srbs, 8);
	ovb_storvsc_free(s, buf, 8 * 4096);
	sfx_free(f);
}

/* ---- hot add and remove ----------------------------------------------- */

static void test_hotplug(void **state)
{
	struct sfx *f = sfx_new(NULL);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_storvsc_lun l[8];
	struct ovb_blk *blk = sfx_ram(2u << 20, 512);
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	int before = f->changes;

	assert_int_equal(ovb_storvsp_add_lun(f->scsi, 5, blk), 5);
	PAIR_WAIT(__atomic_load_n(&f->changes, __ATOMIC_ACQUIRE) > before);
	assert_int_equal(ovb_storvsc_luns(s, l, 8), 3);
	assert_int_equal(l[2].lun, 5);
	assert_int_equal(l[2].blocks, (2u << 20) / 512);
	sfx_rw_check(f, s, 5, blk, 4096, 4096, 8);
	before = f->changes;
	assert_int_equal(ovb_storvsp_remove_lun(f->scsi, 5), 0);
	PAIR_WAIT(__atomic_load_n(&f->changes, __ATOMIC_ACQUIRE) > before);
	assert_int_equal(ovb_storvsc_luns(s, l, 8), 2);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 5, 0, buf, 4096,
					  false),
			 -ENXIO);
	/* A LUN number can come back with another disk. */
	blk = sfx_ram(1u << 20, 512);
	assert_int_equal(ovb_storvsp_add_lun(f->scsi, -1, blk), 2);
	PAIR_WAIT(ovb_storvsc_luns(s, l, 8) == 3);
	sfx_rw_check(f, s, 2, blk, 0, 4096, 9);
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

/* ---- errors -------------------------------------------------------------------- */

static void test_errors(void **state)
{
	struct sfx_opts o = { .nluns = 3 };
	struct sfx *f;
	struct ovb_storvsc *s;
	struct ovb_storvsc_lun l[4];
	uint8_t *buf;
	struct ovb_storvsc_io io = { 0 };

	f = sfx_new(&o);
	s = sfx_ctl(f, false);
	buf = ovb_storvsc_alloc(s, 8192);
	/* A read-only LUN: the host says DATA PROTECT. */
	f->blk[2]->read_only = true;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 2, 0, buf,
					  4096, false),
			 -EROFS);
	/* Beyond the end: ILLEGAL REQUEST, LBA OUT OF RANGE. */
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, SFX_DISK,
					  buf, 4096, false),
			 -EINVAL);
	/* The backend fails: MEDIUM ERROR. */
	ovb_blk_ram_fail_next(f->blk[0], 1, -EIO);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false),
			 -EIO);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false),
			 4096);
	/* Caught before sending. */
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 9, 0, buf, 4096,
					  false),
			 -ENXIO);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 1, 512, buf,
					  4096, false),
			 -EINVAL);
	uint8_t stack[512];

	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, stack,
					  512, false),
			 -EINVAL);
	assert_int_equal(ovb_storvsc_submit(s, &io), -EINVAL);
	ovb_storvsc_free(s, buf, 8192);
	sfx_free(f);

	/* The guest sees write protection at scan time too. */
	o.nluns = 1;
	f = calloc(1, 1);
	free(f);
	f = sfx_new(&(struct sfx_opts){ .nluns = 1, .no_connect = true });
	f->blk[0]->read_only = true;
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	s = sfx_ctl(f, false);
	assert_int_equal(ovb_storvsc_luns(s, l, 4), 1);
	assert_true(l[0].read_only);
	sfx_free(f);
}

/* ---- the IDE disk ------------------------------------------------------------ */

static void test_ide(void **state)
{
	struct sfx_opts o = { .ide = true, .no_scsi = true, .subchannels = 2 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, true);
	struct ovb_storvsc_lun l[2];

	assert_string_equal(ovb_storvsc_name(s), "ide0");
	assert_int_equal(ovb_storvsc_version(s), VSTOR_PROTO_VERSION_WIN10);
	assert_int_equal(ovb_storvsc_luns(s, l, 2), 1);
	assert_int_equal(l[0].blocks, (4u << 20) / 512);
	sfx_rw_check(f, s, 0, f->ide_blk, 1 << 20, 65536, 12);
	usleep(50000);
	assert_int_equal(ovb_storvsc_channels(s), 1); /* no sub-channels */
	sfx_free(f);
}

/* ---- timeouts, resets, host death ------------------------------------------- */

/*
 * A request the host never answers escalates RESET_LUN -> RESET_ADAPTER
 * -> -ETIMEDOUT, each a third of the timeout after the one before; the
 * host answers the resets, so the controller stays online and its other
 * LUNs work.  The host must answer a reset within that third, or storvsc
 * rightly takes the controller offline: on a loaded machine under the
 * sanitizers 50 ms (a 150 ms timeout) was not always enough; 1 s is
 * generous.  So the test waits the whole timeout, 3 s.
 */
static void test_timeout_resets(void **state)
{
	struct sfx_opts o = { .gated = true, .timeout_ms = 3000 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_storvsp_stats st;
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);

	sfx_gate_close();
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false),
			 -ETIMEDOUT);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_true(st.reset_lun >= 1);
	assert_true(st.reset_adapter >= 1);
	/* Other LUNs kept working meanwhile. */
	sfx_rw_check(f, s, 1, f->blk[1], 0, 4096, 1);
	sfx_gate_open();
	PAIR_WAIT(sfx_gate_held() == 0);
	sfx_rw_check(f, s, 0, NULL, 0, 4096, 2); /* gated: no RAM view */
	ovb_storvsc_free(s, buf, 4096);
	sfx_free(f);
}

static void test_host_dies(void **state)
{
	struct sfx_opts o = { .gated = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t *buf = ovb_storvsc_alloc(s, 8 * 4096);
	struct sfx_flight fl[8] = { 0 };
	int left = 8;
	uint64_t t0;

	sfx_gate_close();
	sfx_reads_start(s, fl, 8, buf, &left, &lock, &cond);
	PAIR_WAIT(sfx_gate_held() == 8);
	t0 = ovb_now_us();
	ovb_client_link_down(f->cl);
	sfx_flight_wait(&left, &lock, &cond);
	PAIR_NO_HANG(t0);
	/* -ECONNRESET from the link going down, not -ETIMEDOUT */
	for (int i = 0; i < 8; i++)
		assert_int_equal(fl[i].res, -ECONNRESET);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false),
			 -ECONNRESET);
	sfx_gate_open();
	sfx_free(f);
}

/*
 * A controller the application holds (ovb_storvsc_get) survives its
 * rescind: the client's worker removes it from the set and takes it
 * offline, but frees it only at the last ovb_storvsc_put().  Before the
 * hold existed, `vmbus guest --disk-check` freed-then-used a controller
 * rescinded in the middle of its check (a sanitizer report under load).
 */
static void test_held_across_rescind(void **state)
{
	struct sfx *f = sfx_new(NULL);
	struct ovb_partition *part = ovb_inproc_partition(f->link);
	struct ovb_storvsc *s, *again;
	struct ovb_vsp_dev *dev = NULL;
	uint8_t *buf;

	assert_int_equal(ovb_storvsc_get(&f->set, 0, &s), 0);
	buf = ovb_storvsc_alloc(s, 4096);
	assert_non_null(buf);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), 4096);
	for (uint32_t r = 1; r < 64 && !dev; r++) {
		dev = ovb_server_find_dev(part, r);
		if (dev && ovb_vsp_dev_subidx(dev))
			dev = NULL;
	}
	assert_non_null(dev);
	assert_int_equal(ovb_server_rescind(dev), 0);
	PAIR_WAIT(__atomic_load_n(&f->set.n, __ATOMIC_ACQUIRE) == 0);
	assert_int_equal(f->set.n, 0);
	assert_int_equal(ovb_storvsc_get(&f->set, 0, &again), -ENODEV);
	/* Still ours: offline, not freed. */
	assert_true(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
				     false) < 0);
	assert_non_null(ovb_storvsc_name(s));
	ovb_storvsc_free(s, buf, 4096);
	ovb_storvsc_put(s);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_guids),
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_host_refuses_newer),
		cmocka_unit_test(test_split_and_discard),
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_full_host_queue),
		cmocka_unit_test(test_hotplug),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ide),
		cmocka_unit_test(test_timeout_resets),
		cmocka_unit_test(test_host_dies),
		cmocka_unit_test(test_held_across_rescind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
