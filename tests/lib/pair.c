// SPDX-License-Identifier: MIT
/* The in-process pair fixture and a log capture for the tests. */
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

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "openvmbus/server.h"
#include "tests/lib/pair.h"

bool pair_anon_memory(void)
{
	const char *e = getenv("OVB_TEST_ANON_MEMORY");

	return e && *e == '1';
}

void pair_mem_params(struct ovb_inproc_params *ip)
{
	ip->anon_memory = pair_anon_memory();
}

void pair_check_paged(struct ovb_inproc *l)
{
	struct ovb_gmem_stats st;

	if (!pair_anon_memory())
		return;
	ovb_gmem_get_stats(ovb_partition_gmem(ovb_inproc_partition(l)), &st);
	print_message("anon memory: host views %llu direct, %llu paged\n",
		      (unsigned long long)st.direct_views,
		      (unsigned long long)st.paged_views);
	if (st.direct_views + st.mapped_views + st.paged_views)
		assert_true(st.paged_views > 0);
	assert_int_equal(st.mapped_views, 0); /* host memory never maps */
}

struct pair *pair_new(const struct pair_opts *o)
{
	static const struct pair_opts defaults = { 0 };
	struct ovb_inproc_params ip = { 0 };
	struct pair *p = calloc(1, sizeof(*p));

	if (!o)
		o = &defaults;
	assert_non_null(p);
	assert_int_equal(ovb_server_create(&p->srv), 0);
	ovb_server_set_max_version(p->srv, o->server_max_version);
	if (dfx_wanted(o->caller_dispatch))
		p->loop = dfx_start(p->srv);
	p->echo_cfg.instances = o->echo_instances ? o->echo_instances : 1;
	p->echo_cfg.monitored = o->monitored;
	assert_int_equal(ovb_server_register_vsp(p->srv, &ovb_echo_vsp_ops,
						 &p->echo_cfg), 0);
	ip.name = "guest0";
	ip.mem_gpa = o->mem_gpa ? o->mem_gpa : 1ull << 30;
	ip.mem_size = o->mem_size ? o->mem_size : 64ull << 20;
	ip.no_eventfd = o->no_eventfd;
	pair_mem_params(&ip);
	assert_int_equal(ovb_inproc_create(p->srv, &ip, &p->link), 0);
	p->cl = ovb_inproc_client(p->link);
	assert_int_equal(ovb_client_register_driver(
				 p->cl, o->driver ? o->driver : &ovb_echo_driver,
				 &p->echo), 0);
	return p;
}

struct pair *pair_connected(const struct pair_opts *o)
{
	struct pair *p = pair_new(o);

	assert_int_equal(ovb_client_connect(p->cl, 0, 5000), 0);
	assert_true(p->echo.ndev >= 1);
	return p;
}

struct ovb_inproc *pair_add_guest(struct pair *p, const char *name,
				  struct ovb_echo_driver_ctx *echo)
{
	struct ovb_inproc_params ip = { .name = name, .mem_gpa = 1ull << 30,
					.mem_size = 16ull << 20 };
	struct ovb_inproc *l;

	pair_mem_params(&ip);
	assert_int_equal(ovb_inproc_create(p->srv, &ip, &l), 0);
	assert_int_equal(ovb_client_register_driver(ovb_inproc_client(l),
						    &ovb_echo_driver, echo), 0);
	return l;
}

void pair_free(struct pair *p)
{
	pair_check_paged(p->link);
	ovb_inproc_destroy(p->link);
	dfx_stop(p->loop);
	ovb_server_destroy(p->srv);
	free(p);
}

void pair_ping(struct ovb_echo *e, uint32_t len)
{
	static uint8_t data[4096], back[4096];
	struct echo_msg req = { .op = ECHO_OP_PING, .arg = len, .len = len };
	struct echo_msg rep;

	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + len);
	memset(back, 0, len);
	assert_int_equal(ovb_echo_call(e, &req, data, NULL, 0, &rep, back,
				       sizeof(back), 5000), 0);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.len, len);
	assert_int_equal(rep.arg, len);
	assert_memory_equal(back, data, len);
}

/* ---- log capture ---- */

#define LOGCAP_LINES 256
static char logcap_buf[LOGCAP_LINES][256];
static int logcap_n;
static pthread_mutex_t logcap_lock = PTHREAD_MUTEX_INITIALIZER;

static void logcap_sink(enum ovb_log_level level, const char *line, void *ctx)
{
	pthread_mutex_lock(&logcap_lock);
	snprintf(logcap_buf[logcap_n % LOGCAP_LINES], 256, "%s", line);
	logcap_n++;
	pthread_mutex_unlock(&logcap_lock);
	if (getenv("PAIR_LOG"))
		fprintf(stderr, "log: %s\n", line);
}

void logcap_start(void)
{
	pthread_mutex_lock(&logcap_lock);
	logcap_n = 0;
	pthread_mutex_unlock(&logcap_lock);
	ovb_log_ratelimit_reset();
	ovb_log_set_sink(logcap_sink, NULL);
}

int logcap_count(const char *needle)
{
	int n = 0;

	pthread_mutex_lock(&logcap_lock);
	for (int i = 0; i < logcap_n && i < LOGCAP_LINES; i++)
		if (strstr(logcap_buf[i], needle))
			n++;
	pthread_mutex_unlock(&logcap_lock);
	return n;
}

void logcap_stop(void)
{
	ovb_log_set_sink(NULL, NULL);
}

uint8_t *pair_iov_join(const struct iovec *iov, unsigned int iovcnt,
		       size_t len, bool *bad)
{
	uint8_t *f = malloc(len ? len : 1);
	size_t off = 0;

	for (unsigned int i = 0; f && i < iovcnt; i++) {
		if (off + iov[i].iov_len > len) {
			__atomic_store_n(bad, true, __ATOMIC_RELAXED);
			break;
		}
		memcpy(f + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (off != len)
		__atomic_store_n(bad, true, __ATOMIC_RELAXED);
	return f;
}
