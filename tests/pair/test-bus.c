// SPDX-License-Identifier: MIT
/*
 * Pair tests of the bus: a real server and a real client in one process
 * over the inproc link, with the echo device.  The control plane, version
 * fallback at every version, echo traffic of every packet type, rescind,
 * hot add, sub-channels, unload and reconnect, and the three ways a guest
 * signals (eventfd, HvSignalEvent, monitor page).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bus/chan_priv.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/version.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vsp.h"
#include "tests/lib/pair.h"

static struct ovb_echo *open_echo(struct pair *p, unsigned int i)
{
	struct ovb_echo *e;

	assert_true(i < p->echo.ndev);
	assert_int_equal(ovb_echo_open(p->echo.dev[i], 16384, NULL, &e), 0);
	return e;
}

static void test_control_plane(void **state)
{
	struct pair_opts o = { .echo_instances = 2 };
	struct pair *p = pair_connected(&o);
	struct ovb_offer_info info[8];
	struct ovb_echo *e;
	size_t n;

	assert_int_equal(ovb_client_version(p->cl), VMBUS_VERSION_WIN10_V6_0);
	assert_int_equal(p->echo.ndev, 2);
	n = ovb_client_offers(p->cl, info, 8);
	assert_int_equal(n, 2);
	assert_int_equal(info[0].relid, 1);
	assert_int_equal(info[1].relid, 2);
	assert_int_equal(info[0].connection_id, VMBUS_CHAN_CONNECTION_ID_BASE + 1);
	assert_true(info[0].dedicated);
	assert_string_equal(info[0].driver, "echo");
	e = open_echo(p, 0);
	for (uint32_t len = 0; len <= 4096; len += 97)
		pair_ping(e, len);
	ovb_echo_close(e);
	/* Reopen after close works: the server released the ring GPADL. */
	e = open_echo(p, 0);
	pair_ping(e, 100);
	assert_int_equal(ovb_client_unload(p->cl, 5000), 0);
	assert_int_equal(ovb_client_version(p->cl), 0);
	pair_free(p);
}

/* The client negotiates down to whatever an older host accepts. */
static void test_version_fallback(void **state)
{
	for (int i = 0; i < VMBUS_VERSION_COUNT; i++) {
		struct pair_opts o = { .server_max_version = ovb_vmbus_versions[i] };
		struct pair *p = pair_connected(&o);
		struct ovb_echo *e;

		assert_int_equal(ovb_client_version(p->cl), ovb_vmbus_versions[i]);
		assert_int_equal(ovb_partition_version(
					 ovb_inproc_partition(p->link)),
				 ovb_vmbus_versions[i]);
		e = open_echo(p, 0);
		pair_ping(e, 64);
		ovb_echo_close(e);
		pair_free(p);
	}
}

/* And a client capped at each version gets exactly that version. */
static void test_version_each(void **state)
{
	for (int i = 0; i < VMBUS_VERSION_COUNT; i++) {
		struct pair *p = pair_new(NULL);
		struct ovb_echo *e;

		assert_int_equal(ovb_client_connect(p->cl, ovb_vmbus_versions[i], 5000),
				 0);
		assert_int_equal(ovb_client_version(p->cl), ovb_vmbus_versions[i]);
		e = open_echo(p, 0);
		pair_ping(e, 200);
		ovb_echo_close(e);
		pair_free(p);
	}
}

static void test_refused_every_version(void **state)
{
	struct pair_opts o = { .server_max_version = 1 }; /* below 0.13 */
	struct pair *p = pair_new(&o);

	assert_int_equal(ovb_client_connect(p->cl, 0, 5000), -EPROTONOSUPPORT);
	pair_free(p);
}

static void test_gpa_direct(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct echo_msg req = { 0 }, rep;
	uint64_t gpa;
	uint8_t *buf;

	assert_int_equal(ovb_client_alloc(p->cl, 5 * 4096, (void **)&buf, &gpa),
			 0);
	for (int i = 0; i < 5 * 4096; i++)
		buf[i] = (uint8_t)(i * 31);
	/* An unaligned span over four pages. */
	req.op = ECHO_OP_SUM;
	assert_int_equal(ovb_echo_call(e, &req, NULL, buf + 100, 3 * 4096 + 5,
				       &rep, NULL, 0, 5000), 0);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.arg, ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf + 100,
					       3 * 4096 + 5));
	req.op = ECHO_OP_FILL;
	req.arg = 9;
	assert_int_equal(ovb_echo_call(e, &req, NULL, buf + 4000, 300, &rep,
				       NULL, 0, 5000), 0);
	assert_int_equal(rep.arg, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(buf[4000 + i], (uint8_t)(9 + i));
	assert_int_equal(buf[3999], (uint8_t)(3999 * 31));
	assert_int_equal(buf[4300], (uint8_t)(4300 * 31));
	ovb_echo_close(e);
	pair_free(p);
}

struct teardown_arg {
	struct ovb_vsc_dev *dev;
	uint32_t handle;
	int rc;
	bool done;
};

static void *teardown_thread(void *arg)
{
	struct teardown_arg *t = arg;

	t->rc = ovb_vsc_gpadl_teardown(t->dev, t->handle);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Transfer pages out of a 1 MiB receive buffer (a GPADL of one header and
 * 9 bodies), then a teardown of that GPADL while the host still maps it:
 * the host defers GPADL_TORNDOWN until the device lets go.
 */
static void test_transfer_pages(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct echo_msg req = { 0 }, rep;
	struct teardown_arg t = { .dev = p->echo.dev[0] };
	pthread_t th;
	uint64_t gpa, want = OVB_ECHO_FNV_INIT;
	uint8_t *buf;
	size_t len = 1 << 20;

	assert_int_equal(ovb_client_alloc(p->cl, len, (void **)&buf, &gpa), 0);
	assert_int_equal(ovb_vsc_gpadl_create(p->echo.dev[0], buf, len,
					      &t.handle), 0);
	ovb_echo_set_buffer(e, buf, len);
	req.op = ECHO_OP_SET_BUFFER;
	req.arg = t.handle;
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), 0);
	assert_int_equal(rep.status, 0);
	for (uint32_t i = 0; i < 70000; i++) {
		uint8_t b = (uint8_t)(0x55 + i);

		want = ovb_echo_fnv(want, &b, 1);
	}
	req.op = ECHO_OP_XFER;
	req.arg = 0x55;
	req.len = 70000;
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), 0);
	assert_int_equal(rep.status, 0);
	PAIR_WAIT(ovb_echo_xfer_count(e) == 1);
	assert_int_equal(ovb_echo_xfer_count(e), 1);
	assert_int_equal(ovb_echo_xfer_hash(e), want);

	logcap_start();
	pthread_create(&th, NULL, teardown_thread, &t);
	usleep(100 * 1000);
	assert_false(__atomic_load_n(&t.done, __ATOMIC_ACQUIRE));
	assert_int_equal(logcap_count("still in use"), 1);
	req.op = ECHO_OP_DROP_BUFFER;
	req.len = 0;
	ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0, 5000);
	pthread_join(th, NULL);
	logcap_stop();
	assert_int_equal(t.rc, 0);
	pair_free(p);
}

static void test_rescind(void **state)
{
	struct pair_opts o = { .echo_instances = 2 };
	struct pair *p = pair_connected(&o);
	struct ovb_partition *part = ovb_inproc_partition(p->link);
	struct ovb_echo *e = open_echo(p, 0);
	struct ovb_offer_info info[4];
	struct ovb_vsp_dev *dev = NULL;

	pair_ping(e, 10);
	/* Find the host side of relid 1 through a fresh hot-added offer. */
	struct ovb_offer_params op = { .class_id = ECHO_CLASS_GUID };
	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &dev),
			 0);
	PAIR_WAIT(p->echo.ndev == 3);
	assert_int_equal(p->echo.ndev, 3);
	assert_int_equal(ovb_client_offers(p->cl, info, 4), 3);
	assert_int_equal(ovb_server_rescind(dev), 0);
	PAIR_WAIT(p->echo.removed == 1 && ovb_client_offers(p->cl, info, 4) == 2);
	assert_int_equal(p->echo.removed, 1);
	assert_int_equal(ovb_client_offers(p->cl, info, 4), 2);
	/* The first device still works. */
	pair_ping(e, 20);
	/* The relid came back: a new offer reuses 3. */
	ovb_inproc_sync(p->link);
	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &dev),
			 0);
	assert_int_equal(ovb_vsp_dev_relid(dev), 3);
	pair_free(p);
}

static void test_rescind_open_channel(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_partition *part = ovb_inproc_partition(p->link);
	struct ovb_offer_params op = { .class_id = ECHO_CLASS_GUID };
	struct ovb_vsp_dev *dev;
	struct ovb_echo *e;

	assert_int_equal(ovb_server_offer(part, &ovb_echo_vsp_ops, &op, &dev),
			 0);
	PAIR_WAIT(p->echo.ndev == 2);
	assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL, &e), 0);
	pair_ping(e, 33);
	assert_int_equal(ovb_server_rescind(dev), 0);
	PAIR_WAIT(p->echo.removed == 1);
	assert_int_equal(p->echo.removed, 1);
	pair_free(p);
}

static void test_subchannels(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0), *sub[3];
	struct echo_msg req = { .op = ECHO_OP_SUBCHANNELS, .arg = 3 }, rep;

	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), 0);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.arg, 3);
	PAIR_WAIT(__atomic_load_n(&p->echo.nsub, __ATOMIC_ACQUIRE) == 3);
	assert_int_equal(p->echo.nsub, 3);
	for (int i = 0; i < 3; i++) {
		const struct vmbus_channel_offer_channel *o =
			ovb_vsc_dev_offer(p->echo.sub[i]);

		assert_int_equal(o->sub_channel_index, i + 1);
		assert_memory_equal(&o->if_instance,
				    &ovb_vsc_dev_offer(p->echo.dev[0])->if_instance,
				    16);
		assert_int_equal(ovb_echo_open(p->echo.sub[i], 8192, NULL,
					       &sub[i]), 0);
	}
	for (int round = 0; round < 10; round++)
		for (int i = 0; i < 3; i++)
			pair_ping(sub[i], 100 + i);
	pair_ping(e, 5);
	pair_free(p);
}

static void test_no_subchannels_before_win8(void **state)
{
	struct pair *p = pair_new(NULL);
	struct echo_msg req = { .op = ECHO_OP_SUBCHANNELS, .arg = 2 }, rep;
	struct ovb_echo *e;

	assert_int_equal(ovb_client_connect(p->cl, VMBUS_VERSION_WIN7, 5000),
			 0);
	e = open_echo(p, 0);
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), 0);
	assert_int_equal(rep.status, EPROTONOSUPPORT);
	pair_free(p);
}

/* A driver that asks for sub-channels from its probe, as storvsc does. */
static int eager_probe(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	struct ovb_echo_driver_ctx *c = drv_ctx;
	struct echo_msg req = { .op = ECHO_OP_SUBCHANNELS, .arg = 2 }, rep;
	struct ovb_echo *e;

	c->dev[c->ndev++] = dev;
	if (ovb_echo_open(dev, 16384, NULL, &e))
		return -EIO;
	if (ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0, 5000))
		return -EIO;
	/* Stay in probe while the sub-channel offers arrive. */
	usleep(200 * 1000);
	return 0;
}

static void test_subchannels_offered_during_probe(void **state)
{
	static struct ovb_vsc_driver eager;
	struct pair_opts o = { .driver = &eager };
	struct pair *p;

	eager = ovb_echo_driver;
	eager.probe = eager_probe;
	p = pair_connected(&o);
	PAIR_WAIT(__atomic_load_n(&p->echo.nsub, __ATOMIC_ACQUIRE) == 2);
	usleep(100 * 1000); /* a second callback for the same offer? */
	assert_int_equal(p->echo.nsub, 2);
	assert_ptr_not_equal(p->echo.sub[0], p->echo.sub[1]);
	for (int i = 0; i < 2; i++) {
		struct ovb_echo *sub;

		assert_int_equal(ovb_echo_open(p->echo.sub[i], 8192, NULL, &sub),
				 0);
		pair_ping(sub, 99);
	}
	pair_free(p);
}

static void test_unload_reconnect(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);

	pair_ping(e, 1);
	assert_int_equal(ovb_client_unload(p->cl, 5000), 0);
	assert_int_equal(p->echo.removed, 1);
	p->echo.ndev = 0;
	assert_int_equal(ovb_client_connect(p->cl, VMBUS_VERSION_WIN8_1, 5000),
			 0);
	assert_int_equal(ovb_client_version(p->cl), VMBUS_VERSION_WIN8_1);
	assert_int_equal(p->echo.ndev, 1);
	e = open_echo(p, 0);
	pair_ping(e, 77);
	pair_free(p);
}

static void signal_mode(const struct pair_opts *o, bool monitor, uint32_t ver)
{
	struct pair *p = pair_new(o);
	struct ovb_vsc_open_params op = { .use_monitor = monitor,
					  .no_eventfd = true };
	struct ovb_echo *e;

	assert_int_equal(ovb_client_connect(p->cl, ver, 5000), 0);
	assert_int_equal(ovb_echo_open(p->echo.dev[0], 16384, &op, &e), 0);
	for (int i = 0; i < 200; i++)
		pair_ping(e, (uint32_t)i * 13 % 2000);
	pair_free(p);
}

static void test_slow_path_signals(void **state)
{
	struct pair_opts o = { .no_eventfd = true };

	signal_mode(&o, false, 0);
	/* 0.13: the interrupt page and the shared connection 2. */
	signal_mode(&o, false, VMBUS_VERSION_WS2008);
	signal_mode(&o, false, VMBUS_VERSION_WIN7);
}

static void test_monitor_page_signals(void **state)
{
	struct pair_opts o = { .monitored = true };

	signal_mode(&o, true, 0);
}

static void test_polling_mode(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);

	ovb_chan_set_poll(ovb_echo_chan(e), 200);
	for (int i = 0; i < 500; i++)
		pair_ping(e, 64);
	/* The caller drains the ring itself; then the worker takes over. */
	ovb_echo_set_polling(e, true);
	for (int i = 0; i < 500; i++)
		pair_ping(e, 64);
	ovb_echo_set_polling(e, false);
	ovb_chan_set_poll(ovb_echo_chan(e), 0);
	for (int i = 0; i < 100; i++)
		pair_ping(e, 64);
	pair_free(p);
}

/*
 * The counters tell which way packets were taken: a spinning worker
 * (spin_hits) or a polling caller (polled).  A spin of 5 s: every reply
 * comes back within it even on a loaded machine, so no timing decides.
 */
static void test_polling_counters(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct ovb_chan *chan = ovb_echo_chan(e);
	struct ovb_chan_stats a, b;

	/*
	 * The host's one signal after OPENCHANNEL_RESULT may still be on its
	 * way: let it wake the worker now, and the worker go back to sleep,
	 * rather than in the middle of the polled pings below.
	 */
	ovb_inproc_sync(p->link);
	pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	assert_int_equal(a.spin_hits, 0);
	assert_int_equal(a.polled, 0);
	/*
	 * The caller drains its own replies.  First, while the worker is in
	 * interrupt mode and asleep: a spinning worker would race the caller
	 * for every reply, and a slow (sanitized) caller could lose them all.
	 */
	ovb_echo_set_polling(e, true);
	for (int i = 0; i < 50; i++)
		pair_ping(e, 64);
	ovb_echo_set_polling(e, false);
	ovb_chan_get_stats(chan, &b);
	assert_true(b.polled > a.polled);
	assert_true(b.polled <= b.pkts_in);
	/* Pings from this thread: replies reach the spinning worker. */
	ovb_chan_set_poll(chan, 5000000);
	for (int i = 0; i < 50; i++)
		pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	assert_true(a.spin_hits > b.spin_hits);
	ovb_chan_set_poll(chan, 0);
	pair_free(p);
}

/*
 * Interrupt mode spins adaptively between batches, and an idle channel
 * ends asleep: after a burst of pings the worker sleeps with its ring
 * unmasked (a worker that kept spinning keeps it masked), and the idle
 * process burns little CPU (a spin that never gave up would cost a core
 * for the whole idle time).  A spinning worker counts no spin_hits.
 */
static void test_adaptive_spin_sleeps(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct ovb_chan *chan = ovb_echo_chan(e);
	struct ovb_chan_ring_info ri;
	struct ovb_chan_stats a, b;
	struct timespec c0, c1;
	int64_t cpu_us;

	ovb_chan_set_adaptive(chan, true);
	for (int i = 0; i < 2000; i++)
		pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	assert_true(a.sleeps > 0);
	assert_int_equal(a.spin_hits, 0);
	/* Spins last microseconds; 20 ms is plenty for them to end. */
	usleep(20000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	usleep(200000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	ovb_chan_get_ring_info(chan, &ri);
	ovb_chan_get_stats(chan, &b);
	assert_false(ri.in_masked);
	assert_int_equal(b.pkts_in, a.pkts_in);
	cpu_us = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000 +
		 (c1.tv_nsec - c0.tv_nsec) / 1000;
	print_message("idle 200 ms: %lld us of CPU; %llu adaptive spin hits, "
		      "%llu sleeps in %llu packets\n", (long long)cpu_us,
		      (unsigned long long)a.adapt_hits,
		      (unsigned long long)a.sleeps,
		      (unsigned long long)a.pkts_in);
	assert_true(cpu_us < 100000);
	pair_free(p);
}

/* Burns its CPU until told to stop. */
static void *hog(void *arg)
{
	while (!__atomic_load_n((bool *)arg, __ATOMIC_RELAXED))
		;
	return NULL;
}

/*
 * A stream channel in polling mode whose CPU another thread wants stops
 * spinning: every thread of this test shares one CPU with a busy one, so
 * the worker's yields come back late, and instead of spinning out its
 * 200 ms after each reply (it would never sleep between these pings,
 * 50 ms apart) it counts crowded spins and sleeps.  A yield that outlasts
 * the gap (the busy thread's slice is a few ms, but on a loaded machine
 * other processes queue on this CPU too) finds the next ping there: a
 * hit, not a crowded spin.  So no number of pings is fixed: the test pings
 * until the worker was crowded and slept, and only a generous deadline
 * (30 s) ends a worker that never gives way.
 */
static void test_polling_crowded(void **state)
{
	cpu_set_t all, one;
	struct pair *p;
	struct ovb_echo *e;
	struct ovb_chan *chan;
	struct ovb_chan_stats a, b;
	pthread_t th;
	bool stop = false;
	int cpu = 0, n;

	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	while (!CPU_ISSET(cpu, &all))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* Before any thread starts: the pair's threads inherit the mask. */
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	p = pair_connected(NULL);
	e = open_echo(p, 0);
	chan = ovb_echo_chan(e);
	ovb_chan_set_adaptive(chan, true);
	ovb_chan_set_poll(chan, 200000);
	pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	assert_int_equal(pthread_create(&th, NULL, hog, &stop), 0);
	b = a;
	for (n = 0; n < 600 && (b.spin_crowded == a.spin_crowded ||
				b.sleeps == a.sleeps); n++) {
		usleep(50000);
		pair_ping(e, 64);
		ovb_chan_get_stats(chan, &b);
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	print_message("%d pings beside a busy thread: %llu crowded spins, "
		      "%llu sleeps, %llu spin hits, %llu adaptive hits\n", n,
		      (unsigned long long)(b.spin_crowded - a.spin_crowded),
		      (unsigned long long)(b.sleeps - a.sleeps),
		      (unsigned long long)(b.spin_hits - a.spin_hits),
		      (unsigned long long)(b.adapt_hits - a.adapt_hits));
	assert_true(b.spin_crowded > a.spin_crowded);
	assert_true(b.sleeps > a.sleeps);
	ovb_chan_set_poll(chan, 0);
	pair_free(p);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
}

/* Times the worker of @chan went to sleep. */
static uint64_t chan_sleeps(struct ovb_chan *chan)
{
	struct ovb_chan_stats st;

	ovb_chan_get_stats(chan, &st);
	return st.sleeps;
}

/*
 * Polling mode on a stream channel builds on interrupt mode's adaptive
 * spin: each spin after a drain begins as interrupt mode's (counted in
 * adapt_hits and adapt_spin_us), and a polling hit arms it as a short
 * sleep would.  The spin is 200 ms, so between these pings the worker
 * hardly sleeps, and once a hit (polling or adaptive) has armed the
 * adaptive part, the next spin runs it, hit or miss.  No timing decides.
 * Before, polling mode never ran the adaptive spin: once crowding had cut
 * its budget it spun less than interrupt mode would.
 */
static void test_polling_adaptive_first(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct ovb_chan *chan = ovb_echo_chan(e);
	struct ovb_chan_stats a, b;

	ovb_inproc_sync(p->link);
	ovb_chan_set_adaptive(chan, true);
	ovb_chan_set_poll(chan, 200000);
	pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	for (int i = 0; i < 200; i++)
		pair_ping(e, 64);
	ovb_chan_get_stats(chan, &b);
	print_message("200 pings, polling on a stream channel: %llu adaptive "
		      "hits, %llu us adaptive spin, %llu polling hits, %llu "
		      "sleeps, %llu polled, %llu packets\n",
		      (unsigned long long)(b.adapt_hits - a.adapt_hits),
		      (unsigned long long)(b.adapt_spin_us - a.adapt_spin_us),
		      (unsigned long long)(b.spin_hits - a.spin_hits),
		      (unsigned long long)(b.sleeps - a.sleeps),
		      (unsigned long long)(b.polled - a.polled),
		      (unsigned long long)(b.pkts_in - a.pkts_in));
	assert_true(b.adapt_hits + b.adapt_spin_us >
		    a.adapt_hits + a.adapt_spin_us);
	assert_true(b.adapt_hits + b.spin_hits > a.adapt_hits + a.spin_hits);
	ovb_chan_set_poll(chan, 0);
	pair_free(p);
}

/*
 * On a stream channel the polling extension lives only while it pays: a
 * spin that runs out empty halves its budget, so with gaps longer than
 * the spin polling ends where interrupt mode is.  A 1 ms spin, and each
 * ping sent only once the worker sleeps after the last reply, 5 ms into
 * that sleep (too long to arm the adaptive spin): the spin after every
 * reply runs out however slow the machine, and ten halvings leave
 * nothing.  Before, a spin that ran out left the budget whole, and the
 * worker spun 1 ms of every gap for nothing.  (The budget is the
 * worker's; it is read here once the worker has gone to sleep.)
 */
static void test_polling_empty_decays(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo *e = open_echo(p, 0);
	struct ovb_chan *chan = ovb_echo_chan(e);
	struct ovb_chan_stats a, b;
	uint64_t n;
	uint32_t cur;

	ovb_inproc_sync(p->link);
	ovb_chan_set_adaptive(chan, true);
	ovb_chan_set_poll(chan, 1000);
	n = chan_sleeps(chan);
	pair_ping(e, 64);
	ovb_chan_get_stats(chan, &a);
	for (int i = 0; i <= 20; i++) {
		/* The spin after the last reply ran out: the worker slept. */
		PAIR_WAIT(chan_sleeps(chan) > n);
		assert_true(chan_sleeps(chan) > n);
		if (i == 20)
			break;
		usleep(5000);
		n = chan_sleeps(chan);
		pair_ping(e, 64);
	}
	ovb_chan_get_stats(chan, &b);
	cur = __atomic_load_n(&chan->poll_cur_us, __ATOMIC_RELAXED);
	print_message("20 pings, each into a sleep, 1 ms polling spin: "
		      "budget now %u us, %llu sleeps, %llu polling hits, "
		      "%llu crowded\n",
		      cur, (unsigned long long)(b.sleeps - a.sleeps),
		      (unsigned long long)(b.spin_hits - a.spin_hits),
		      (unsigned long long)b.spin_crowded);
	/*
	 * Crowded spins (a loaded machine) halve it too, before and after:
	 * what only the empty spins explain is a budget below what the
	 * crowded ones left -- here, nothing.
	 */
	assert_true(cur == 0 || (b.spin_crowded < 10 &&
				 cur < (1000u >> b.spin_crowded)));
	assert_true(b.sleeps > a.sleeps);
	ovb_chan_set_poll(chan, 0);
	pair_free(p);
}

static void test_two_partitions(void **state)
{
	struct pair *p = pair_connected(NULL);
	struct ovb_echo_driver_ctx echo2 = { 0 };
	struct ovb_inproc *l2 = pair_add_guest(p, "guest1", &echo2);
	struct ovb_echo *e1 = open_echo(p, 0), *e2;

	assert_int_equal(ovb_client_connect(ovb_inproc_client(l2), 0, 5000), 0);
	assert_int_equal(echo2.ndev, 1);
	assert_int_equal(ovb_echo_open(echo2.dev[0], 16384, NULL, &e2), 0);
	pair_ping(e1, 10);
	pair_ping(e2, 20);
	/* The second guest dies; the first is untouched. */
	ovb_inproc_destroy(l2);
	for (int i = 0; i < 50; i++)
		pair_ping(e1, 300);
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_plane),
		cmocka_unit_test(test_version_fallback),
		cmocka_unit_test(test_version_each),
		cmocka_unit_test(test_refused_every_version),
		cmocka_unit_test(test_gpa_direct),
		cmocka_unit_test(test_transfer_pages),
		cmocka_unit_test(test_rescind),
		cmocka_unit_test(test_rescind_open_channel),
		cmocka_unit_test(test_subchannels),
		cmocka_unit_test(test_no_subchannels_before_win8),
		cmocka_unit_test(test_subchannels_offered_during_probe),
		cmocka_unit_test(test_unload_reconnect),
		cmocka_unit_test(test_slow_path_signals),
		cmocka_unit_test(test_monitor_page_signals),
		cmocka_unit_test(test_polling_mode),
		cmocka_unit_test(test_polling_counters),
		cmocka_unit_test(test_adaptive_spin_sleeps),
		cmocka_unit_test(test_polling_crowded),
		cmocka_unit_test(test_polling_adaptive_first),
		cmocka_unit_test(test_polling_empty_decays),
		cmocka_unit_test(test_two_partitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
