// SPDX-License-Identifier: MIT
/*
 * Pair test of the FUSE disk front end (storvsp over RAM disks, storvsc
 * and the FUSE mount in one process), on both transports (our FUSE over
 * io_uring, libfuse): several threads read and write a LUN file at once
 * (io_uring also with its queues polling storvsc), and the guest memory
 * the disk holds is bounded while it runs and all given back when it
 * stops; byte ranges at any offset; QD1 with the io_uring queues
 * reaping their own completions (adaptive spin) and without; an unmount from
 * outside ends it; auto picks io_uring when the fuse module's enable_uring
 * is Y and libfuse when it is N (the test writes it, and restores it);
 * --fuse-pin keeps each queue's thread on its CPU.
 * Needs root, /dev/fuse and a kernel with FUSE over io_uring; skips
 * without them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/fuse_disk.h"
#include "tests/lib/storage-fx.h"

#define MIB (1u << 20)
#define NTHREADS 12
#define IO_LEN (128u * 1024) /* 12 threads x 4 rounds: 6 MiB of the 8 */

/* Free guest memory of @s's guest, in whole MiB allocations. */
static unsigned int guest_free_mib(struct ovb_storvsc *s)
{
	void *p[256];
	unsigned int n = 0;

	while (n < 256 && (p[n] = ovb_storvsc_alloc(s, MIB)))
		n++;
	for (unsigned int i = 0; i < n; i++)
		ovb_storvsc_free(s, p[i], MIB);
	return n;
}

struct worker {
	pthread_t t;
	char path[300];
	int idx;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *wbuf = malloc(IO_LEN), *rbuf = malloc(IO_LEN);
	int f = open(w->path, O_RDWR);

	if (f < 0 || !wbuf || !rbuf) {
		w->errors++;
		goto out;
	}
	for (unsigned int round = 0; round < 4; round++) {
		off_t off = (off_t)(w->idx * 4 + round) * IO_LEN;

		for (unsigned int i = 0; i < IO_LEN; i++)
			wbuf[i] = (uint8_t)(i * 13 + round + w->idx);
		w->errors += pwrite(f, wbuf, IO_LEN, off) != IO_LEN;
		w->errors += pread(f, rbuf, IO_LEN, off) != IO_LEN;
		w->errors += memcmp(wbuf, rbuf, IO_LEN) != 0;
	}
out:
	if (f >= 0)
		close(f);
	free(wbuf);
	free(rbuf);
	return NULL;
}

static bool no_mount; /* FUSE would not mount here: skip */

#define URING_PARAM "/sys/module/fuse/parameters/enable_uring"
#define RING_MIB 16u

/* enable_uring: 'Y', 'N', or 0 when this kernel has none. */
static char uring_param(void)
{
	char c = 0;
	FILE *p = fopen(URING_PARAM, "re");

	if (p) {
		c = (char)fgetc(p);
		fclose(p);
	}
	return c == 'Y' || c == 'N' ? c : 0;
}

static void set_uring_param(char c)
{
	FILE *p = fopen(URING_PARAM, "we");

	assert_non_null(p);
	assert_int_equal(fputc(c, p), c);
	assert_int_equal(fclose(p), 0);
}

/* Start a disk over @f at a new directory in @dir; false: cannot mount. */
static bool disk_start_opts(struct sfx *f, char *dir,
			    const struct ovb_fuse_disk_opts *o,
			    struct ovb_fuse_disk **fd)
{
	enum ovb_fuse_mode mode = o->mode;
	int rc;

	assert_non_null(mkdtemp(dir));
	rc = ovb_fuse_disk_start(dir, &f->set, o, fd);
	if (rc == -ENODEV || (rc == -EIO && mode == OVB_FUSE_LIBFUSE)) {
		no_mount = true;
		rmdir(dir);
		return false;
	}
	assert_int_equal(rc, 0);
	if (mode != OVB_FUSE_AUTO)
		assert_int_equal(ovb_fuse_disk_mode(*fd), mode);
	return true;
}

static bool disk_start(struct sfx *f, char *dir, enum ovb_fuse_mode mode,
		       struct ovb_fuse_disk **fd)
{
	struct ovb_fuse_disk_opts o = { .mode = mode, .ring_mib = RING_MIB };

	return disk_start_opts(f, dir, &o, fd);
}

static void run_workers(const char *dir, struct ovb_storvsc *s)
{
	struct worker w[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .idx = i };
		snprintf(w[i].path, sizeof(w[i].path), "%s/%s/lun0", dir,
			 ovb_storvsc_name(s));
		assert_int_equal(pthread_create(&w[i].t, NULL, worker_main,
						&w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].errors, 0);
	}
}

/*
 * Many threads read and write at once; the guest memory the disk holds is
 * bounded while it runs (libfuse: the bounce pool's 4 buffers; io_uring:
 * the queues' RING_MIB as well) and all given back when it stops.
 */
static void check_concurrent(enum ovb_fuse_mode mode, bool poll,
			     unsigned int held_mib)
{
	struct ovb_fuse_disk_opts fo = { .mode = mode, .ring_mib = RING_MIB,
					 .poll = poll };
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_fuse_disk *fd;
	char dir[] = "/tmp/ovb-fuse-XXXXXX";
	unsigned int before, during;

	before = guest_free_mib(s);
	if (!disk_start_opts(f, dir, &fo, &fd)) {
		sfx_free(f);
		return;
	}
	run_workers(dir, s);
	during = guest_free_mib(s);
	assert_true(during + held_mib >= before);
	assert_int_equal(ovb_fuse_disk_stop(fd), 0);
	assert_int_equal(guest_free_mib(s), before);
	rmdir(dir);
	sfx_free(f);
}

static void test_bounce_pool(void **state)
{
	check_concurrent(OVB_FUSE_LIBFUSE, false, 4);
}

static void test_uring_concurrent(void **state)
{
	check_concurrent(OVB_FUSE_URING, false, RING_MIB + 4);
}

/* The same with the queues polling storvsc (--storage-poll). */
static void test_uring_polling(void **state)
{
	check_concurrent(OVB_FUSE_URING, true, RING_MIB + 4);
}

/* Byte ranges at any offset: the read-modify-write path, both ways. */
static void check_unaligned(enum ovb_fuse_mode mode)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_fuse_disk *fd;
	char dir[] = "/tmp/ovb-fuse-XXXXXX", path[300];
	uint8_t w[3000], r[sizeof(w) + 2];
	int fl;

	if (!disk_start(f, dir, mode, &fd)) {
		sfx_free(f);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/lun0", dir, ovb_storvsc_name(s));
	fl = open(path, O_RDWR);
	assert_true(fl >= 0);
	for (unsigned int i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 1);
	memset(r, 0xee, sizeof(r));
	assert_int_equal(pwrite(fl, r, sizeof(r), 4095), sizeof(r));
	assert_int_equal(pwrite(fl, w, sizeof(w), 4096), sizeof(w));
	assert_int_equal(pread(fl, r, sizeof(r), 4095), sizeof(r));
	assert_int_equal(r[0], 0xee);
	assert_memory_equal(r + 1, w, sizeof(w));
	assert_int_equal(r[sizeof(w) + 1], 0xee);
	/* At the end of the disk: short read, then nothing. */
	assert_int_equal(pread(fl, r, 100, SFX_DISK - 10), 10);
	assert_int_equal(pread(fl, r, 100, SFX_DISK), 0);
	assert_int_equal(fsync(fl), 0);
	close(fl);
	assert_int_equal(ovb_fuse_disk_stop(fd), 0);
	rmdir(dir);
	sfx_free(f);
}

static void test_unaligned_libfuse(void **state)
{
	check_unaligned(OVB_FUSE_LIBFUSE);
}

static void test_unaligned_uring(void **state)
{
	check_unaligned(OVB_FUSE_URING);
}

/* An unmount from outside ends the connection: ended() says so. */
static void check_unmount_ends(enum ovb_fuse_mode mode)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_fuse_disk *fd;
	char dir[] = "/tmp/ovb-fuse-XXXXXX";

	if (!disk_start(f, dir, mode, &fd)) {
		sfx_free(f);
		return;
	}
	assert_false(ovb_fuse_disk_ended(fd));
	assert_int_equal(umount2(dir, 0), 0);
	for (int i = 0; i < 400 && !ovb_fuse_disk_ended(fd); i++)
		usleep(5000);
	assert_true(ovb_fuse_disk_ended(fd));
	assert_int_equal(ovb_fuse_disk_stop(fd), 0);
	rmdir(dir);
	sfx_free(f);
}

static void test_unmount_libfuse(void **state)
{
	check_unmount_ends(OVB_FUSE_LIBFUSE);
}

static void test_unmount_uring(void **state)
{
	check_unmount_ends(OVB_FUSE_URING);
}

/*
 * QD1 through the queue's own spin: 4 KiB writes and reads one at a time,
 * each checked.  With a long spin the queue thread reaps completions by
 * polling storvsc (the guest channels count them as polled; the signals
 * the guest's workers got are printed); with the spin off it never
 * polls.
 */
static void check_spin(int spin_us, bool expect_polled)
{
	struct ovb_fuse_disk_opts fo = { .mode = OVB_FUSE_URING,
					 .ring_mib = RING_MIB,
					 .spin_us = spin_us };
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	struct ovb_fuse_disk *fd;
	char dir[] = "/tmp/ovb-fuse-XXXXXX", path[300];
	uint8_t w[4096], r[4096];
	struct sfx_chans a, b;
	int fl;

	if (!disk_start_opts(f, dir, &fo, &fd)) {
		sfx_free(f);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/lun0", dir, ovb_storvsc_name(s));
	fl = open(path, O_RDWR);
	assert_true(fl >= 0);
	sfx_guest_chans(s, &a);
	for (unsigned int i = 0; i < 64; i++) {
		off_t off = (off_t)((i * 37) % 2048) * 4096;

		for (unsigned int k = 0; k < sizeof(w); k++)
			w[k] = (uint8_t)(k * 11 + i);
		assert_int_equal(pwrite(fl, w, sizeof(w), off), sizeof(w));
		memset(r, 0, sizeof(r));
		assert_int_equal(pread(fl, r, sizeof(r), off), sizeof(r));
		assert_memory_equal(r, w, sizeof(w));
	}
	sfx_guest_chans(s, &b);
	printf("spin %d us: %llu of 128 completions polled, %llu signals "
	       "in\n", spin_us,
	       (unsigned long long)(b.st.polled - a.st.polled),
	       (unsigned long long)(b.st.signals_in - a.st.signals_in));
	if (expect_polled)
		assert_true(b.st.polled - a.st.polled > 0);
	else
		assert_int_equal(b.st.polled - a.st.polled, 0);
	close(fl);
	assert_int_equal(ovb_fuse_disk_stop(fd), 0);
	rmdir(dir);
	sfx_free(f);
}

static void test_uring_spin(void **state)
{
	/* 50 ms: a spin meets every completion unless the host stalls. */
	check_spin(50000, true);
}

static void test_uring_no_spin(void **state)
{
	check_spin(-1, false);
}

/*
 * The queue threads, found by name (ovb-fuseq<N>, one per possible CPU):
 * how many there are, and how many run only on their own CPU N
 * (Cpus_allowed_list is exactly "N").
 */
static void queue_threads(unsigned int *n, unsigned int *own_cpu)
{
	char path[300], comm[32], line[256];
	unsigned int qid;
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	FILE *t;

	*n = *own_cpu = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		t = fopen(path, "re");
		if (!t)
			continue; /* gone meanwhile */
		if (!fgets(comm, sizeof(comm), t) ||
		    sscanf(comm, "ovb-fuseq%u", &qid) != 1) {
			fclose(t);
			continue;
		}
		fclose(t);
		(*n)++;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 de->d_name);
		t = fopen(path, "re");
		assert_non_null(t);
		while (fgets(line, sizeof(line), t)) {
			unsigned int cpu;
			char end;

			if (sscanf(line, "Cpus_allowed_list: %u%c", &cpu,
				   &end) == 2 && end == '\n' && cpu == qid)
				(*own_cpu)++;
		}
		fclose(t);
	}
	closedir(d);
}

/*
 * --fuse-pin: every queue thread runs on its own CPU only; without it
 * none is restricted (on a machine of more than one CPU).  The threads
 * carry their queue's number in their name either way.
 */
static void test_uring_pin(void **state)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n, own;

	for (int pin = 0; pin < 2; pin++) {
		struct ovb_fuse_disk_opts fo = { .mode = OVB_FUSE_URING,
						 .ring_mib = RING_MIB,
						 .pin = pin };
		char dir[] = "/tmp/ovb-fuse-XXXXXX";
		struct ovb_fuse_disk *fd;

		if (!disk_start_opts(f, dir, &fo, &fd))
			break;
		queue_threads(&n, &own);
		printf("pin %d: %u queue threads, %u on their CPU only\n", pin,
		       n, own);
		assert_true(n >= 1);
		if (pin)
			assert_int_equal(own, n < ncpu ? n : (unsigned)ncpu);
		else if (ncpu > 1)
			assert_int_equal(own, 0);
		assert_int_equal(ovb_fuse_disk_stop(fd), 0);
		rmdir(dir);
	}
	sfx_free(f);
}

/* auto: io_uring when enable_uring is Y, libfuse when it is N. */
static void test_auto_choice(void **state)
{
	char was = uring_param();
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f = sfx_new(&o);
	struct ovb_fuse_disk *fd;
	char d1[] = "/tmp/ovb-fuse-XXXXXX", d2[] = "/tmp/ovb-fuse-XXXXXX";

	set_uring_param('N');
	if (disk_start(f, d1, OVB_FUSE_AUTO, &fd)) {
		assert_int_equal(ovb_fuse_disk_mode(fd), OVB_FUSE_LIBFUSE);
		assert_int_equal(ovb_fuse_disk_stop(fd), 0);
		rmdir(d1);
	}
	set_uring_param('Y');
	if (disk_start(f, d2, OVB_FUSE_AUTO, &fd)) {
		assert_int_equal(ovb_fuse_disk_mode(fd), OVB_FUSE_URING);
		assert_int_equal(ovb_fuse_disk_stop(fd), 0);
		rmdir(d2);
	}
	set_uring_param(was);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce_pool),
		cmocka_unit_test(test_unaligned_libfuse),
		cmocka_unit_test(test_unmount_libfuse),
		cmocka_unit_test(test_uring_concurrent),
		cmocka_unit_test(test_uring_polling),
		cmocka_unit_test(test_unaligned_uring),
		cmocka_unit_test(test_unmount_uring),
		cmocka_unit_test(test_uring_spin),
		cmocka_unit_test(test_uring_no_spin),
		cmocka_unit_test(test_uring_pin),
		cmocka_unit_test(test_auto_choice),
	};
	int failed;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK)) {
		printf("skip: needs root and /dev/fuse\n");
		return 77;
	}
	if (!uring_param()) {
		printf("skip: this kernel has no FUSE over io_uring (%s)\n",
		       URING_PARAM);
		return 77;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && no_mount) {
		printf("skip: FUSE does not mount here\n");
		return 77;
	}
	return failed;
}
