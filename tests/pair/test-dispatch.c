// SPDX-License-Identifier: MIT
/*
 * Caller-driven dispatch on the host side: the server starts no thread
 * (counted in /proc/self/task against the threaded default), and the
 * things a worker used to carry -- echo traffic with monitor-page signals,
 * a guest flooding a channel while another is served, a rescind of the
 * flooded channel, storage I/O and a guest that dies with requests held
 * in the backend -- work with a test thread as the embedder's loop.
 * tests/system/dispatch.sh runs the other pair tests in this mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "tests/lib/hostile.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

#define NECHO 3

/*
 * Threads added by connecting and opening NECHO monitored echo channels:
 * the guest's channel workers, and in the threaded mode the host's
 * workers and its monitor scanner.
 */
static int threads_for_channels(bool caller, struct ovb_echo **e)
{
	struct pair_opts o = { .echo_instances = NECHO, .monitored = true,
			       .caller_dispatch = caller };
	struct ovb_vsc_open_params op = { .use_monitor = true,
					  .no_eventfd = true };
	struct pair *p = pair_new(&o);
	int before, after;

	/* The client's and the link's threads exist from pair_new on. */
	before = dfx_threads();
	assert_int_equal(ovb_client_connect(p->cl, 0, 5000), 0);
	assert_int_equal(p->echo.ndev, NECHO);
	for (int i = 0; i < NECHO; i++)
		assert_int_equal(ovb_echo_open(p->echo.dev[i], 16384, &op,
					       &e[i]), 0);
	/* Monitor bits only: the scan (thread or timerfd) carries them. */
	for (int i = 0; i < NECHO; i++)
		for (int k = 0; k < 50; k++)
			pair_ping(e[i], (uint32_t)(k * 37 % 1500));
	after = dfx_threads();
	if (caller)
		assert_true(dfx_turns(p->loop) > 0);
	for (int i = 0; i < NECHO; i++)
		ovb_echo_close(e[i]);
	pair_free(p);
	return after - before;
}

static void test_no_library_threads(void **state)
{
	struct ovb_echo *e[NECHO];
	int threaded = threads_for_channels(false, e);
	int caller = threads_for_channels(true, e);

	/* Guest workers only; the threaded host adds one per channel + 1. */
	assert_int_equal(caller, NECHO);
	assert_int_equal(threaded, 2 * NECHO + 1);
}

static void test_rules(void **state)
{
	struct ovb_server *srv;
	struct pair *p;

	assert_int_equal(ovb_server_create(&srv), 0);
	assert_int_equal(ovb_server_dispatch_fd(srv), -EINVAL);
	assert_int_equal(ovb_server_dispatch(srv, 0), -EINVAL);
	assert_int_equal(ovb_server_set_threading(srv, 7), -EINVAL);
	assert_int_equal(ovb_server_set_threading(srv, OVB_SERVER_CALLER), 0);
	assert_true(ovb_server_dispatch_fd(srv) >= 0);
	assert_int_equal(ovb_server_dispatch(srv, 0), 0); /* nothing ready */
	assert_int_equal(ovb_server_set_threading(srv, OVB_SERVER_THREADS), 0);
	assert_int_equal(ovb_server_dispatch_fd(srv), -EINVAL);
	ovb_server_destroy(srv);
	/* Once a partition joined, the choice is made. */
	p = pair_new(NULL);
	assert_int_equal(ovb_server_set_threading(p->srv, OVB_SERVER_CALLER),
			 -EBUSY);
	pair_free(p);
}

struct flood {
	struct ovb_echo *e;
	bool stop;       /* atomic */
	long sent;       /* atomic */
	int rc;          /* the error that ended it */
};

/* A guest that writes SINK packets as fast as the ring takes them. */
static void *flood_main(void *arg)
{
	struct flood *fl = arg;
	struct echo_msg m = { .op = ECHO_OP_SINK, .len = 64 };
	uint8_t pkt[sizeof(m) + 64] = { 0 };

	memcpy(pkt, &m, sizeof(m));
	while (!__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE)) {
		int rc = ovb_chan_send_inband(ovb_echo_chan(fl->e), pkt,
					      sizeof(pkt), 0, OVB_SEND_NONBLOCK);

		if (rc == -EAGAIN)
			continue;
		if (rc) {
			fl->rc = rc;
			break;
		}
		__atomic_fetch_add(&fl->sent, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Two channels flooded, a third served all along (turns are bounded and
 * round robin).  Then one flooded channel is rescinded with its ring full
 * while the loop is busy with the other flood -- its guest stops sending
 * first, as the guest's driver is removed with the channel -- and the
 * served channel still works.
 */
static void test_flood_and_rescind(void **state)
{
	struct pair_opts o = { .echo_instances = 3, .caller_dispatch = true };
	struct pair *p = pair_connected(&o);
	struct ovb_partition *part = ovb_inproc_partition(p->link);
	struct ovb_echo *e[3];
	struct ovb_vsp_dev *dev;
	struct flood fl[2] = { 0 };
	pthread_t th[2];

	for (int i = 0; i < 3; i++)
		assert_int_equal(ovb_echo_open(p->echo.dev[i], 16384, NULL,
					       &e[i]), 0);
	for (int i = 0; i < 2; i++) {
		fl[i].e = e[i];
		assert_int_equal(pthread_create(&th[i], NULL, flood_main,
						&fl[i]), 0);
	}
	PAIR_WAIT(__atomic_load_n(&fl[0].sent, __ATOMIC_RELAXED) > 2000 &&
		  __atomic_load_n(&fl[1].sent, __ATOMIC_RELAXED) > 2000);
	for (int i = 0; i < 300; i++)
		pair_ping(e[2], (uint32_t)(i * 11 % 1000));
	dev = ovb_server_find_dev(part, ovb_chan_relid(ovb_echo_chan(e[1])));
	assert_non_null(dev);
	__atomic_store_n(&fl[1].stop, true, __ATOMIC_RELEASE);
	pthread_join(th[1], NULL);
	assert_int_equal(fl[1].rc, 0);
	assert_int_equal(ovb_server_rescind(dev), 0);
	PAIR_WAIT(p->echo.removed == 1);
	assert_int_equal(p->echo.removed, 1);
	for (int i = 0; i < 100; i++)
		pair_ping(e[2], 512);
	__atomic_store_n(&fl[0].stop, true, __ATOMIC_RELEASE);
	pthread_join(th[0], NULL);
	assert_int_equal(fl[0].rc, 0);
	assert_true(fl[0].sent > 2000 && fl[1].sent > 2000);
	ovb_echo_close(e[0]);
	ovb_echo_close(e[2]);
	pair_free(p);
}

/*
 * A guest that breaks its ring fails the channel; the channel's fds leave
 * the dispatch set then, or they would stay readable and keep the
 * embedder's loop busy until the guest closes the channel (never, for a
 * hostile one).  The test thread is the loop here, so no timing decides.
 */
static void test_failed_channel_leaves_loop(void **state)
{
	struct pair_opts o = { .echo_instances = 2, .caller_dispatch = true };
	struct pair *p = pair_connected(&o);
	struct ovb_echo *keep, *bad;
	struct vmbus_ring_control *ctl;
	int n = 0;

	assert_int_equal(ovb_echo_open(p->echo.dev[0], 16384, NULL, &keep), 0);
	assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL, &bad), 0);
	pair_ping(bad, 10);
	dfx_stop(p->loop);
	p->loop = NULL;
	for (int i = 0; i < 100 && ovb_server_dispatch(p->srv, 0) > 0; i++)
		;
	assert_int_equal(ovb_server_dispatch(p->srv, 0), 0);
	logcap_start();
	ctl = hring_ctl(ovb_echo_chan(bad), true);
	__atomic_store_n(HCTL(ctl, write_index), 13, __ATOMIC_RELEASE);
	ovb_server_signal_event(ovb_inproc_partition(p->link),
				VMBUS_CHAN_CONNECTION_ID_BASE +
					ovb_chan_relid(ovb_echo_chan(bad)));
	for (int i = 0; i < 100 && !logcap_count("inbound ring corrupt"); i++)
		n += ovb_server_dispatch(p->srv, 0);
	assert_true(n >= 1);
	assert_int_equal(logcap_count("inbound ring corrupt"), 1);
	logcap_stop();
	/* Nothing left to do: the failed channel is out of the set. */
	assert_int_equal(ovb_server_dispatch(p->srv, 0), 0);
	assert_int_equal(ovb_server_dispatch(p->srv, 0), 0);
	/* The other channel is served by whoever dispatches. */
	p->loop = dfx_start_again(p->srv);
	pair_ping(keep, 100);
	ovb_echo_close(bad);
	ovb_echo_close(keep);
	pair_free(p);
}

/* ---- the link-facing contract with a link of the test's own ---- */

struct fake_link {
	int sent, lost, disconnects;
	uint32_t last_sint, last_type;
	bool full; /* the guest left its message slot full */
};

static int fake_send(void *link, uint32_t sint, const void *msg, size_t len)
{
	struct fake_link *l = link;
	struct vmbus_channel_message_header h;

	assert_true(len >= sizeof(h) && len <= HV_MESSAGE_PAYLOAD_BYTE_COUNT);
	memcpy(&h, msg, sizeof(h));
	if (l->full) {
		l->lost++;
		return -EAGAIN;
	}
	l->sent++;
	l->last_sint = sint;
	l->last_type = h.msgtype;
	return 0;
}

static int fake_signal(void *link, uint32_t relid) { return 0; }

static void fake_disconnect(void *link, const char *why)
{
	((struct fake_link *)link)->disconnects++;
}

static const struct ovb_partition_link_ops fake_ops = {
	.send_message = fake_send,
	.signal = fake_signal,
	.disconnect = fake_disconnect,
};

/*
 * 5.0 contact: messages go to the guest's msg_sint and its target VP; a
 * link whose slot stays full returns -EAGAIN, the server drops the
 * message and disconnects the guest.
 */
static void test_link_contract(void **state)
{
	const uint64_t gpa = 1ull << 20, size = 1ull << 20;
	struct vmbus_channel_initiate_contact c = {
		.header.msgtype = CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = VMBUS_VERSION_WIN10_V5,
		.target_vcpu = 3,
		.msg_sint = 5,
		.monitor_page1 = gpa,
		.monitor_page2 = gpa + 4096,
	};
	struct vmbus_channel_message_header req = {
		.msgtype = CHANNELMSG_REQUESTOFFERS,
	};
	struct fake_link l = { 0 };
	struct ovb_partition *part;
	struct ovb_server *srv;
	struct ovb_gmem *gm;
	/* A VMM's guest RAM: anonymous memory, no fd. */
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(ram != MAP_FAILED);
	assert_int_equal(ovb_gmem_host_create("vmm0", &gm), 0);
	assert_int_equal(ovb_gmem_host_add(gm, gpa, size, ram), 0);
	assert_int_equal(ovb_server_create(&srv), 0);
	assert_int_equal(ovb_server_set_threading(srv, OVB_SERVER_CALLER), 0);
	assert_int_equal(ovb_server_partition_create(srv, "vmm0", &fake_ops,
						     &l, gm, &part), 0);
	assert_int_equal(ovb_partition_message_vp(part), 0);
	assert_int_equal(ovb_server_post_message(part,
						 VMBUS_MESSAGE_CONNECTION_ID_4,
						 &c, VMBUS_INITIATE_CONTACT_SIZE),
			 0);
	assert_int_equal(l.sent, 1);
	assert_int_equal(l.last_type, CHANNELMSG_VERSION_RESPONSE);
	assert_int_equal(l.last_sint, 5);
	assert_int_equal(ovb_partition_version(part), VMBUS_VERSION_WIN10_V5);
	assert_int_equal(ovb_partition_message_vp(part), 3);
	l.full = true;
	/* Later messages on the connection VERSION_RESPONSE named (1). */
	ovb_server_post_message(part, VMBUS_MESSAGE_CONNECTION_ID, &req,
				sizeof(req));
	assert_int_equal(l.lost, 1); /* ALLOFFERS_DELIVERED, not retried */
	assert_int_equal(l.disconnects, 1);
	ovb_server_partition_destroy(part);
	ovb_server_destroy(srv);
	ovb_gmem_destroy(gm);
	munmap(ram, size);
}

static void test_storage_io(void **state)
{
	struct sfx_opts o = { .nluns = 3, .subchannels = 2,
			      .caller_dispatch = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);

	PAIR_WAIT(ovb_storvsc_channels(s) == 3);
	assert_int_equal(ovb_storvsc_channels(s), 3);
	for (unsigned int i = 0; i < 12; i++)
		sfx_rw_check(f, s, (uint16_t)(i % 3), f->blk[i % 3],
			     (uint64_t)i * 65536, 4096u << (i % 5), i + 7);
	sfx_flight_run(f, s, 64, 16384);
	sfx_free(f);
}

/* The guest dies with requests held in the backend; teardown follows. */
static void test_storage_guest_dies_mid_io(void **state)
{
	struct sfx_opts o = { .gated = true, .caller_dispatch = true };
	struct sfx *f = sfx_new(&o);
	struct ovb_storvsc *s = sfx_ctl(f, false);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t *buf = ovb_storvsc_alloc(s, 8 * 4096);
	struct sfx_flight fl[8] = { 0 };
	int left = 8;

	sfx_gate_close();
	sfx_reads_start(s, fl, 8, buf, &left, &lock, &cond);
	PAIR_WAIT(sfx_gate_held() == 8);
	assert_int_equal(sfx_gate_held(), 8);
	ovb_client_link_down(f->cl);
	sfx_flight_wait(&left, &lock, &cond);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fl[i].res, -ECONNRESET);
	/* The held requests finish into a partition being torn down. */
	sfx_gate_open();
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_library_threads),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_flood_and_rescind),
		cmocka_unit_test(test_failed_channel_leaves_loop),
		cmocka_unit_test(test_link_contract),
		cmocka_unit_test(test_storage_io),
		cmocka_unit_test(test_storage_guest_dies_mid_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
