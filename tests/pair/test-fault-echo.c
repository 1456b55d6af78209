// SPDX-License-Identifier: MIT
/*
 * The fault engine's contract, on an echo pair: the option parser; the
 * random mode is reproducible (the same seed over the same traffic flips
 * the same bytes of the same packets, another seed does not); a fault
 * aimed at one channel leaves the other echo device answering; and
 * every fault that fires logs one line naming mode, partition, relid
 * and packet.
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
#include <cmocka.h>

#include "openvmbus/fault.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "tests/lib/pair.h"

/* ---- the fault lines the host logs ---------------------------------- */

static pthread_mutex_t lines_lock = PTHREAD_MUTEX_INITIALIZER;
static char lines[16384];

static void sink(enum ovb_log_level level, const char *line, void *ctx)
{
	size_t n;

	(void)level;
	(void)ctx;
	if (strncmp(line, "fault: ", 7))
		return;
	pthread_mutex_lock(&lines_lock);
	n = strlen(lines);
	snprintf(lines + n, sizeof(lines) - n, "%s\n", line);
	pthread_mutex_unlock(&lines_lock);
}

static void arm(const char *spec)
{
	struct ovb_fault_spec s;
	char err[160];

	assert_int_equal(ovb_fault_parse(spec, &s, err, sizeof(err)), 0);
	assert_int_equal(ovb_fault_add(&s), 0);
}

static void test_parse(void **state)
{
	struct ovb_fault_spec s;
	char err[160];

	(void)state;
	assert_int_equal(ovb_fault_parse("random,probability=0.01,seed=42",
					 &s, err, sizeof(err)), 0);
	assert_int_equal(s.mode, OVB_FAULT_RANDOM);
	assert_int_equal(s.seed, 42);
	assert_int_equal(s.count, 0);
	assert_true(s.probability > 0.0099 && s.probability < 0.0101);
	assert_int_equal(ovb_fault_parse("pkt-len,after=7,device=scsi,"
					 "partition=g0,channel=3", &s, err,
					 sizeof(err)), 0);
	assert_int_equal(s.mode, OVB_FAULT_PKT_LEN);
	assert_int_equal(s.after, 7);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.relid, 3);
	assert_string_equal(s.device, "scsi");
	assert_string_equal(s.partition, "g0");
	for (int m = 0; m < OVB_FAULT_NMODES; m++) {
		const struct ovb_fault_info *i = ovb_fault_info(m);

		assert_non_null(i);
		assert_int_equal(ovb_fault_parse(i->name, &s, err,
						 sizeof(err)) == 0,
				 m != OVB_FAULT_RANDOM);
	}
	assert_int_equal(ovb_fault_parse("nonsense", &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown fault mode 'nonsense'"));
	assert_int_equal(ovb_fault_parse("silent,device=floppy", &s, err,
					 sizeof(err)), -EINVAL);
	assert_int_equal(ovb_fault_parse("random,probability=2", &s, err,
					 sizeof(err)), -EINVAL);
	assert_int_equal(ovb_fault_parse("bad-xid,after=x", &s, err,
					 sizeof(err)), -EINVAL);
	assert_int_equal(ovb_fault_parse("bad-xid,after", &s, err,
					 sizeof(err)), -EINVAL);
}

/* 150 pings of the first echo device under @spec; the fault lines. */
static void run_pings(const char *spec, char *out, size_t outlen)
{
	struct pair_opts o = { .echo_instances = 1 };
	struct pair *p = pair_connected(&o);
	struct echo_msg req = { .op = ECHO_OP_PING, .len = 64 }, rep;
	uint8_t data[64] = { 7 }, back[64];
	struct ovb_echo *e;

	lines[0] = 0;
	ovb_log_set_sink(sink, NULL);
	assert_int_equal(ovb_echo_open(p->echo.dev[0], 16384, NULL, &e), 0);
	arm(spec);
	for (int i = 0; i < 150; i++)
		ovb_echo_call(e, &req, data, NULL, 0, &rep, back, 64, 100);
	ovb_fault_clear();
	pair_free(p);
	ovb_log_set_sink(NULL, NULL);
	pthread_mutex_lock(&lines_lock);
	snprintf(out, outlen, "%s", lines);
	pthread_mutex_unlock(&lines_lock);
}

static void test_random_reproducible(void **state)
{
	static char a[16384], b[16384], c[16384];

	(void)state;
	run_pings("random,device=echo,probability=0.05,seed=42", a, sizeof(a));
	run_pings("random,device=echo,probability=0.05,seed=42", b, sizeof(b));
	run_pings("random,device=echo,probability=0.05,seed=43", c, sizeof(c));
	print_message("seed 42:\n%s", a);
	assert_non_null(strstr(a, "fault: random partition 1 'guest0' relid 1 "
				  "pkt "));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

/* A per-channel fault on echo device 0 leaves device 1 answering. */
static void test_other_channel_unaffected(void **state)
{
	const char *specs[] = { "ring-index,channel=1,after=2",
				"pkt-len,channel=1,after=2",
				"silent,channel=1,after=2",
				"bad-xid,channel=1,after=2",
				"stray-comp,channel=1,after=2" };

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct pair_opts o = { .echo_instances = 2 };
		struct pair *p = pair_connected(&o);
		struct echo_msg req = { .op = ECHO_OP_PING, .len = 64 }, rep;
		uint8_t data[64] = { 7 }, back[64];
		struct ovb_echo *e0, *e1;
		int fails = 0;

		assert_int_equal(ovb_vsc_dev_offer(p->echo.dev[0])->child_relid,
				 1);
		assert_int_equal(ovb_echo_open(p->echo.dev[0], 16384, NULL,
					       &e0), 0);
		assert_int_equal(ovb_echo_open(p->echo.dev[1], 16384, NULL,
					       &e1), 0);
		lines[0] = 0;
		ovb_log_set_sink(sink, NULL);
		arm(specs[i]);
		for (int k = 0; k < 6; k++)
			fails += ovb_echo_call(e0, &req, data, NULL, 0, &rep,
					       back, 64, 200) != 0;
		for (int k = 0; k < 20; k++)
			pair_ping(e1, 256);
		print_message("%s: %d of 6 pings on relid 1 failed; %s",
			      specs[i], fails, lines);
		assert_non_null(strstr(lines, "partition 1 'guest0' relid 1 "
					      "pkt "));
		ovb_fault_clear();
		ovb_log_set_sink(NULL, NULL);
		pair_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_random_reproducible),
		cmocka_unit_test(test_other_channel_unaffected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
