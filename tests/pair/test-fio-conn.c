// SPDX-License-Identifier: MIT
/*
 * The fio engine's connection side (bench/fio/conn.c) without fio: a
 * host in this process behind the socket link, storvsp with a RAM disk
 * and a chosen sub-channel limit, and ovbf_conn_open() joining it as the
 * engine does.  Its open returns once the channels the host grants are
 * open, with those channels, and says when the host grants fewer than the
 * job asked for.  ovbf_say() is this file's: it records what the engine
 * says.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/fio/engine.h"
#include "openvmbus/blk.h"
#include "openvmbus/fault.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/server.h"
#include "openvmbus/storvsp.h"
#include "tests/lib/pair.h"

/* ---- what the engine said ---------------------------------------------------- */

static char said[8][256];
static unsigned int nsaid;

void ovbf_say(const char *fmt, ...)
{
	va_list ap;

	if (nsaid == 8)
		return;
	va_start(ap, fmt);
	vsnprintf(said[nsaid++], sizeof(said[0]), fmt, ap);
	va_end(ap);
	print_message("engine: %s\n", said[nsaid - 1]);
}

static unsigned int said_count(const char *needle)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nsaid; i++)
		n += strstr(said[i], needle) != NULL;
	return n;
}

/* ---- a host in this process -------------------------------------------------- */

static struct {
	struct ovb_server *srv;
	struct ovb_storvsp *scsi;
	struct ovb_blk *blk;
	struct ovb_link_host *h;
	pthread_t thread;
	char path[108];
} host;

static void *host_main(void *arg)
{
	(void)arg;
	ovb_link_host_run(host.h);
	return NULL;
}

/* storvsp0 offering at most @max_subs sub-channels, one 16 MiB LUN. */
static void host_start(uint16_t max_subs)
{
	static unsigned int seq;
	struct ovb_storvsp_cfg c = { .name = "storvsp0",
				     .max_subchannels = max_subs };

	snprintf(host.path, sizeof(host.path), "/tmp/ovb-fioconn-%d-%u.sock",
		 (int)getpid(), seq++);
	assert_int_equal(ovb_server_create(&host.srv), 0);
	assert_int_equal(ovb_storvsp_create(&c, &host.scsi), 0);
	assert_int_equal(ovb_blk_ram_create(16u << 20, 512, &host.blk), 0);
	assert_int_equal(ovb_storvsp_add_lun(host.scsi, 0, host.blk), 0);
	assert_int_equal(ovb_storvsp_register(host.srv, host.scsi), 0);
	assert_int_equal(ovb_link_host_create(host.srv, host.path, &host.h),
			 0);
	assert_int_equal(pthread_create(&host.thread, NULL, host_main, NULL),
			 0);
}

static void host_stop(void)
{
	ovb_link_host_stop(host.h);
	pthread_join(host.thread, NULL);
	ovb_link_host_destroy(host.h);
	ovb_server_destroy(host.srv);
	ovb_storvsp_destroy(host.scsi); /* closes its LUNs' disks */
}

/*
 * Join the host asking for @subs sub-channels; the open's result and the
 * SCSI controller's channels as the open returned.
 */
static unsigned int engine_open(struct ovbf_conn *c, unsigned int subs)
{
	struct ovbf_spec sp;
	char name[160];

	snprintf(name, sizeof(name), "%s,mem=32M,subchannels=%u", host.path,
		 subs);
	nsaid = 0;
	assert_int_equal(ovbf_spec_parse(name, &sp), 0);
	assert_int_equal(ovbf_conn_open(c, &sp), 0);
	assert_int_equal(c->set.n, 1);
	return ovb_storvsc_channels(c->set.ctl[0]);
}

/* ---- tests ----------------------------------------------------------------- */

/*
 * The host offers one sub-channel, the job asks for three: the open
 * returns with the primary and that one, and says the host granted fewer
 * (it used to wait its whole 2 s for three and say nothing).
 */
static void test_fewer_granted(void **state)
{
	struct ovbf_conn c;
	unsigned int expect;

	host_start(1);
	assert_int_equal(engine_open(&c, 3), 2);
	assert_int_equal(said_count("the host grants 1 of the 3 sub-channels "
				    "asked for"), 1);
	assert_int_equal(nsaid, 1);
	assert_int_equal(ovb_storvsc_wait_channels(c.set.ctl[0], 0, &expect),
			 2);
	assert_int_equal(expect, 2);
	ovbf_conn_close(&c);
	host_stop();
}

/*
 * The host grants two sub-channels but refuses the ring GPADL of the
 * first that opens: the engine waits for it up to its deadline, says
 * so, and goes on with the primary and the other one.
 */
static void test_granted_not_opened(void **state)
{
	struct ovb_fault_spec f = { .mode = OVB_FAULT_GPADL_REFUSE,
				    .after = 1, .count = 1, .device = "scsi" };
	struct ovbf_conn c;
	unsigned int expect;

	host_start(2);
	assert_int_equal(ovb_fault_add(&f), 0);
	assert_int_equal(engine_open(&c, 2), 2);
	ovb_fault_clear();
	assert_int_equal(said_count("2 of the 3 channels the host granted "
				    "open after"), 1);
	assert_int_equal(nsaid, 1);
	assert_int_equal(ovb_storvsc_wait_channels(c.set.ctl[0], 0, &expect),
			 -ETIMEDOUT);
	assert_int_equal(expect, 3);
	ovbf_conn_close(&c);
	host_stop();
}

/* All granted, or none asked: every channel open, nothing to say. */
static void test_all_granted(void **state)
{
	struct ovbf_conn c;

	host_start(4);
	assert_int_equal(engine_open(&c, 2), 3);
	assert_int_equal(nsaid, 0);
	ovbf_conn_close(&c);
	assert_int_equal(engine_open(&c, 0), 1);
	assert_int_equal(nsaid, 0);
	ovbf_conn_close(&c);
	host_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fewer_granted),
		cmocka_unit_test(test_granted_not_opened),
		cmocka_unit_test(test_all_granted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
