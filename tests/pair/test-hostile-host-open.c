// SPDX-License-Identifier: MIT
/*
 * A hostile host against the real client's channel open: a host that
 * refuses the open, never confirms the ring's teardown, or never answers,
 * and opens that run out of fds.  Each failure must return a clear error
 * quickly, give the ring's pages back (or keep them when the host may
 * still use them), leave the process's fds as they were, and leave the
 * device usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/vsc.h"
#include "openvmbus/wire/vmbus.h"
#include "tests/lib/hostile.h"

#define PG 4096u
#define RING HH_RING

/* ---- refused and unanswered opens ----------------------------------------- */

/* The first page the allocator hands out now (it is first fit). */
static uint64_t next_free_gpa(struct hh *h)
{
	uint64_t gpa;
	void *p;

	assert_int_equal(ovb_client_alloc(h->p->cl, PG, &p, &gpa), 0);
	ovb_client_free(h->p->cl, p, PG);
	return gpa;
}

static void test_open_refused(void **state)
{
	struct hh *h = *state;
	uint64_t free_gpa = next_free_gpa(h);
	struct ovb_echo *e;

	/* It must not wait for a teardown that cannot come: such a wait
	 * would time out and keep the ring allocated. */
	ovb_client_set_timeout(h->p->cl, 3000);
	hrec_set(h->rec, 0, true);
	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e),
			 -EIO);
	assert_int_equal(logcap_count("host refused to open relid 1: status "
				      "0xc0000001"), 1);
	assert_int_equal(logcap_count("not torn down"), 0);
	assert_null(ovb_vsc_dev_chan(h->p->echo.dev[0]));
	/* The ring went back to the allocator. */
	assert_int_equal(next_free_gpa(h), free_gpa);
	hrec_set(h->rec, 0, false);
	hh_ping_dev(h, 0);
	assert_int_equal(next_free_gpa(h), free_gpa);
}

/* A teardown the host never confirms: the ring pages are not reused. */
static void test_open_refused_no_torndown(void **state)
{
	struct hh *h = *state;
	uint64_t free_gpa = next_free_gpa(h);
	struct ovb_echo *e;

	ovb_client_set_timeout(h->p->cl, 300);
	hrec_set(h->rec, CHANNELMSG_GPADL_TORNDOWN, true);
	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e),
			 -EIO);
	assert_int_equal(logcap_count("relid 1: ring GPADL 0xe1e10 not torn "
				      "down (-110); its 40960 bytes stay "
				      "allocated"), 1);
	assert_true(next_free_gpa(h) >= free_gpa + 40960);
	hrec_set(h->rec, 0, false);
	hh_ping_dev(h, 0);
}

static void test_open_unanswered(void **state)
{
	struct hh *h = *state;
	uint64_t free_gpa = next_free_gpa(h);
	struct ovb_echo *e;

	ovb_client_set_timeout(h->p->cl, 300);
	hrec_set(h->rec, CHANNELMSG_OPENCHANNEL_RESULT, false);
	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e),
			 -ETIMEDOUT);
	assert_int_equal(next_free_gpa(h), free_gpa);
	hrec_set(h->rec, 0, false);
	hh_ping_dev(h, 0);
}

/* ---- what a failed open leaves behind ------------------------------------ */

/* Open fds of this process (the directory's own fd included, always). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ovb_echo_open that must fail with @want; the fds are as before. */
static void open_fails_keeps_fds(struct hh *h, int want)
{
	struct ovb_echo *e;
	int before;

	ovb_inproc_sync(h->p->link);
	before = count_fds();
	assert_int_equal(ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e),
			 want);
	ovb_inproc_sync(h->p->link);
	assert_int_equal(count_fds(), before);
}

/* Each step of ovb_vsc_open that the host can fail: no fd stays open. */
static void test_open_failures_keep_fds(void **state)
{
	struct hh *h = *state;

	ovb_client_set_timeout(h->p->cl, 300);
	hrec_set(h->rec, 0, true);
	open_fails_keeps_fds(h, -EIO);
	hrec_set(h->rec, CHANNELMSG_GPADL_CREATED, false);
	open_fails_keeps_fds(h, -ETIMEDOUT);
	hrec_set(h->rec, CHANNELMSG_OPENCHANNEL_RESULT, false);
	open_fails_keeps_fds(h, -ETIMEDOUT);
	hrec_set(h->rec, 0, false);
	hh_ping_dev(h, 0);
}

/*
 * Opens with only @spare fds left below RLIMIT_NOFILE, for every small
 * @spare: whichever eventfd or dup fails first, an open (or its failure)
 * and a close leave the process's fds as they were.
 */
static void test_open_few_fds(void **state)
{
	struct hh *h = *state;
	struct rlimit old, lim;
	int fill[1024], nfill = 0, top = -1, fd;
	DIR *d;
	struct dirent *de;

	ovb_client_set_timeout(h->p->cl, 300);
	ovb_inproc_sync(h->p->link);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	for (int spare = 0; spare <= 8; spare++) {
		struct ovb_echo *e = NULL;
		int before, rc;

		/* Fill every hole below the highest fd in use. */
		d = opendir("/proc/self/fd");
		assert_non_null(d);
		while ((de = readdir(d)))
			if (atoi(de->d_name) > top)
				top = atoi(de->d_name);
		closedir(d);
		while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 &&
		       fd < top && nfill < 1024)
			fill[nfill++] = fd;
		assert_true(fd >= 0);
		close(fd);
		before = count_fds();
		lim = old;
		lim.rlim_cur = (rlim_t)top + 1 + (rlim_t)spare;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
		rc = ovb_echo_open(h->p->echo.dev[0], RING, NULL, &e);
		if (!rc) {
			pair_ping(e, 3);
			ovb_echo_close(e);
		}
		ovb_inproc_sync(h->p->link);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		assert_int_equal(count_fds(), before);
	}
	while (nfill)
		close(fill[--nfill]);
	hh_ping_dev(h, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, hh_setup, hh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_refused),
		T(test_open_refused_no_torndown),
		T(test_open_unanswered),
		T(test_open_failures_keep_fds),
		T(test_open_few_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
