/* SPDX-License-Identifier: MIT */
/*
 * Logging for library code: one line per event, naming the instance
 * ("storvsp0 chan 3: READ(16) beyond capacity").  Layer: core.  Library code
 * never prints to stdout; lines go to stderr or to a sink the program sets.
 */
#ifndef OPENVMBUS_LOG_H
#define OPENVMBUS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"

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
OVB_API
void ovb_log(enum ovb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Set the most verbose level printed (default: OVB_LOG env var, or WARN). */
OVB_API
void ovb_log_set_level(enum ovb_log_level level);

/** Current level. */
OVB_API
enum ovb_log_level ovb_log_get_level(void);

/** Replace the sink (NULL restores stderr).  Not thread-safe vs ovb_log. */
OVB_API
void ovb_log_set_sink(ovb_log_fn *fn, void *ctx);

/**
 * A token bucket of log lines: OVB_LOG_BURST lines at once, then one per
 * OVB_LOG_INTERVAL_US.  Zero-initialised it is full.
 */
struct ovb_ratelimit {
	uint64_t t_us;       /**< last refill (0: never used) */
	uint32_t tokens;     /**< lines that may go out now */
	uint32_t suppressed; /**< lines dropped since the last one out */
	uint32_t gen;        /**< ovb_log_ratelimit_reset() count it saw */
	bool busy;           /**< atomic: a tiny spin lock */
};

#define OVB_LOG_BURST 10
#define OVB_LOG_INTERVAL_US 1000000u

/**
 * Take one line from @rl at @now_us (a monotonic clock, > 0).  True if
 * it may go out; then *@suppressed is how many were dropped before it.
 * Thread-safe.
 */
OVB_API
bool ovb_ratelimit(struct ovb_ratelimit *rl, uint64_t now_us,
		   uint32_t *suppressed);

/**
 * Refill every bucket and forget what was suppressed, as if no line had
 * been printed yet (tests that count lines one by one).  Thread-safe.
 */
OVB_API
void ovb_log_ratelimit_reset(void);

/**
 * A warning through @rl: dropped when over the limit, else printed after
 * a line saying how many were dropped before it.  Thread-safe; a dropped
 * line takes no lock and is not formatted.
 */
OVB_API
void ovb_log_limited(struct ovb_ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ovb_err(...) ovb_log(OVB_LOG_ERR, __VA_ARGS__)
#define ovb_warn(...) ovb_log(OVB_LOG_WARN, __VA_ARGS__)
#define ovb_info(...) ovb_log(OVB_LOG_INFO, __VA_ARGS__)
/**
 * "The peer misbehaved": a warning that the other side (a guest, or the
 * host seen from a guest) can cause at will, rate-limited per call site
 * (struct ovb_ratelimit) so that a hostile peer can neither flood the log
 * nor serialise every thread behind the log lock.
 */
#define ovb_peer(...)                                                         \
	do {                                                                  \
		static struct ovb_ratelimit ovb_rl_;                          \
		ovb_log_limited(&ovb_rl_, __VA_ARGS__);                       \
	} while (0)
#define ovb_dbg(...)                                                          \
	do {                                                                  \
		if (ovb_log_get_level() >= OVB_LOG_DEBUG)                     \
			ovb_log(OVB_LOG_DEBUG, __VA_ARGS__);                  \
	} while (0)

#endif /* OPENVMBUS_LOG_H */
