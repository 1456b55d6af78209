// SPDX-License-Identifier: MIT
/*
 * Pair test of the FUSE disk front end (storvsp over RAM disks, storvsc
 * and the FUSE mount in one process): several threads read and write a
 * LUN file at once, and the guest memory the disk used for bounce buffers
 * is bounded while it runs and all given back when it stops.  Needs root
 * and /dev/fuse; skips without them.
 */
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

static void test_bounce_pool(void **state)
{
	struct sfx_opts o = { .nluns = 1 };
	struct sfx *f;
	struct ovb_storvsc *s;
	struct ovb_fuse_disk *fd;
	struct worker w[NTHREADS];
	char dir[] = "/tmp/ovb-fuse-XXXXXX";
	unsigned int before, during;
	int rc;

	f = sfx_new(&o);
	s = sfx_ctl(f, false);
	assert_non_null(mkdtemp(dir));
	before = guest_free_mib(s);
	rc = ovb_fuse_disk_start(dir, &f->set, NULL, &fd);
	if (rc == -ENODEV || rc == -EIO) {
		no_mount = true;
		rmdir(dir);
		sfx_free(f);
		return;
	}
	assert_int_equal(rc, 0);
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
	/* The disk's pool holds at most 4 buffers (FD_POOL), whatever
	 * number of threads FUSE ran. */
	during = guest_free_mib(s);
	assert_true(during + 4 >= before);
	assert_int_equal(ovb_fuse_disk_stop(fd), 0);
	assert_int_equal(guest_free_mib(s), before);
	rmdir(dir);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce_pool),
	};
	int failed;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK)) {
		printf("skip: needs root and /dev/fuse\n");
		return 77;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && no_mount) {
		printf("skip: FUSE does not mount here\n");
		return 77;
	}
	return failed;
}
