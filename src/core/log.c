// SPDX-License-Identifier: MIT
/*
 * Logging: level filter, a replaceable sink, stderr by default.  Layer: core.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/log.h"

static int log_level = -1;
static ovb_log_fn *log_sink;
static void *log_sink_ctx;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

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

void ovb_log(enum ovb_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > ovb_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(level, line, log_sink_ctx);
	else
		fprintf(stderr, "openvmbus %s: %s\n", log_names[level], line);
	pthread_mutex_unlock(&log_lock);
}
