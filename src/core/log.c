// SPDX-License-Identifier: MIT
/*
 * Logging: level filter, a replaceable sink, stderr by default, and the
 * token buckets that rate-limit what a peer can make us print.  Layer:
 * core.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

static int log_level = -1;
static ovb_log_fn *log_sink;
static void *log_sink_ctx;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t rl_gen; /* atomic: ovb_log_ratelimit_reset() calls */

static const char *const log_names[] = { "error", "warn", "info", "debug" };

enum ovb_log_level ovb_log_get_level(void)
{
	int lvl = __atomic_load_n(&log_level, __ATOMIC_RELAXED);

	if (lvl < 0) {
		const char *env = getenv("OVB_LOG");

		lvl = OVB_LOG_WARN;
		for (int i = 0; env && i < 4; i++)
			if (!strcmp(env, log_names[i]))
				lvl = i;
		__atomic_store_n(&log_level, lvl, __ATOMIC_RELAXED);
	}
	return (enum ovb_log_level)lvl;
}

void ovb_log_set_level(enum ovb_log_level level)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

void ovb_log_set_sink(ovb_log_fn *fn, void *ctx)
{
	log_sink = fn;
	log_sink_ctx = ctx;
}

static void log_line(enum ovb_log_level level, const char *line)
{
	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(level, line, log_sink_ctx);
	else
		fprintf(stderr, "openvmbus %s: %s\n", log_names[level], line);
	pthread_mutex_unlock(&log_lock);
}

void ovb_log(enum ovb_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > ovb_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(level, line);
}

void ovb_log_ratelimit_reset(void)
{
	__atomic_fetch_add(&rl_gen, 1, __ATOMIC_RELAXED);
}

bool ovb_ratelimit(struct ovb_ratelimit *rl, uint64_t now_us,
		   uint32_t *suppressed)
{
	uint32_t gen;
	bool ok;

	/* Acquire pairs with the release below: the fields are ours. */
	while (__atomic_test_and_set(&rl->busy, __ATOMIC_ACQUIRE))
		;
	gen = __atomic_load_n(&rl_gen, __ATOMIC_RELAXED);
	if (!rl->t_us || rl->gen != gen) {
		/* First use, or a reset: a full bucket. */
		rl->t_us = now_us;
		rl->tokens = OVB_LOG_BURST;
		rl->suppressed = 0;
		rl->gen = gen;
	} else if (now_us > rl->t_us &&
		   now_us - rl->t_us >= OVB_LOG_INTERVAL_US) {
		uint64_t n = (now_us - rl->t_us) / OVB_LOG_INTERVAL_US;

		if (n >= OVB_LOG_BURST - rl->tokens) {
			rl->tokens = OVB_LOG_BURST;
			rl->t_us = now_us;
		} else {
			rl->tokens += (uint32_t)n;
			rl->t_us += n * OVB_LOG_INTERVAL_US;
		}
	}
	ok = rl->tokens > 0;
	if (ok) {
		rl->tokens--;
		*suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	__atomic_clear(&rl->busy, __ATOMIC_RELEASE);
	return ok;
}

void ovb_log_limited(struct ovb_ratelimit *rl, const char *fmt, ...)
{
	uint32_t dropped = 0;
	char line[512];
	va_list ap;

	if (OVB_LOG_WARN > ovb_log_get_level() ||
	    !ovb_ratelimit(rl, ovb_now_us(), &dropped))
		return;
	if (dropped) {
		snprintf(line, sizeof(line),
			 "suppressed %u lines like the next one", dropped);
		log_line(OVB_LOG_WARN, line);
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(OVB_LOG_WARN, line);
}
