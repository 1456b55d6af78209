/* SPDX-License-Identifier: MIT */
/*
 * Logging for library code: one line per event, naming the instance
 * ("storvsp0 chan 3: READ(16) beyond capacity").  Layer: core.  Library code
 * never prints to stdout; lines go to stderr or to a sink the program sets.
 */
#ifndef OPENVMBUS_LOG_H
#define OPENVMBUS_LOG_H

#include <stdarg.h>

enum ovb_log_level {
	OVB_LOG_ERR = 0,  /**< something failed: a channel or partition lost */
	OVB_LOG_WARN = 1, /**< peer misbehaved or a request was refused */
	OVB_LOG_INFO = 2, /**< lifecycle: partition joined, channel opened */
	OVB_LOG_DEBUG = 3,
};

/** A sink receives every line at or below the current level. */
typedef void ovb_log_fn(enum ovb_log_level level, const char *line,
			void *ctx);

/** Print one line (no trailing newline needed).  Thread-safe. */
void ovb_log(enum ovb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Set the most verbose level printed (default: OVB_LOG env var, or WARN). */
void ovb_log_set_level(enum ovb_log_level level);

/** Current level. */
enum ovb_log_level ovb_log_get_level(void);

/** Replace the sink (NULL restores stderr).  Not thread-safe vs ovb_log. */
void ovb_log_set_sink(ovb_log_fn *fn, void *ctx);

#define ovb_err(...) ovb_log(OVB_LOG_ERR, __VA_ARGS__)
#define ovb_warn(...) ovb_log(OVB_LOG_WARN, __VA_ARGS__)
#define ovb_info(...) ovb_log(OVB_LOG_INFO, __VA_ARGS__)
#define ovb_dbg(...)                                                          \
	do {                                                                  \
		if (ovb_log_get_level() >= OVB_LOG_DEBUG)                     \
			ovb_log(OVB_LOG_DEBUG, __VA_ARGS__);                  \
	} while (0)

#endif /* OPENVMBUS_LOG_H */
