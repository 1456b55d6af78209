/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer targets share: the entry point's prototype, FUZZ_CHECK
 * (a broken invariant traps, which libFuzzer reports as a crash with the
 * input that caused it), a reader over the fuzz input that hands out zeros
 * once the input runs out (every script ends, and a short input is a valid
 * one), little-endian integers, a length-prefixed message, and a log sink
 * that drops every line (peer warnings are the point of a fuzz run, not its
 * output).  Header-only: each target is one file.
 */
#ifndef OPENVMBUS_TESTS_FUZZ_H
#define OPENVMBUS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "openvmbus/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Trap (a crash libFuzzer reports with its input) unless @x holds. */
#define FUZZ_CHECK(x)                                                          \
	do {                                                                   \
		if (!(x))                                                      \
			__builtin_trap();                                      \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/** The next byte, or 0 once the input ran out. */
static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/** The next two bytes, little-endian. */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

/** The next four bytes, little-endian. */
static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

/**
 * A message: a length byte, then that many bytes into @buf (@cap bytes,
 * zeroed first; bytes past @cap are consumed, not stored).  Returns the
 * length, at most @cap.
 */
static inline size_t fuzz_msg(struct fuzz_in *in, uint8_t *buf, size_t cap)
{
	size_t len = fuzz_u8(in);

	memset(buf, 0, cap);
	for (size_t i = 0; i < len; i++) {
		uint8_t b = fuzz_u8(in);

		if (i < cap)
			buf[i] = b;
	}
	return len < cap ? len : cap;
}

/** A log sink for ovb_log_set_sink() that drops every line. */
static inline void fuzz_quiet(enum ovb_log_level level, const char *line,
			      void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

#endif
