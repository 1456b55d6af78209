// SPDX-License-Identifier: MIT
/*
 * The disk spec parser: turns "FILE[,size=8G][,lun=N][,ro][,ide]
 * [,sector=4096][,direct][,timeout=SECONDS]" from the command line into a
 * struct ovb_disk_spec; an engine's spec (blk_scheme.h) takes its own
 * options too.  Layer: backends.  Every rejection names the field and the
 * value that was wrong, in one line, and nothing is half-parsed: @out is
 * written only on success.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/blk_scheme.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/blk.h"
#include "openvmbus/size.h"

#define SPEC_MAX_LUN 255
#define SPEC_MAX_TIMEOUT 3600

/* Format the one-line error into @err; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int
spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Parse a decimal unsigned integer, the whole string. */
static int spec_parse_uint(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* Keep an engine's own option "key[=value]" in s->opts for its open. */
static int spec_engine_option(const char *opt, const char *val,
			      struct ovb_disk_spec *s, char *err, size_t errlen)
{
	size_t used = strlen(s->opts), klen = strlen(opt);
	int n;

	for (const char *p = s->opts; p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, klen) &&
		    (p[klen] == '=' || p[klen] == ',' || !p[klen]))
			return spec_fail(err, errlen,
					 "disk spec: option '%s' given twice",
					 opt);
	n = snprintf(s->opts + used, sizeof(s->opts) - used, "%s%s%s%s",
		     used ? "," : "", opt, val ? "=" : "", val ? val : "");

	if (n < 0 || (size_t)n >= sizeof(s->opts) - used)
		return spec_fail(err, errlen, "disk spec: options too long");
	return 0;
}

/* Apply one "key" or "key=value" option; @seen tracks duplicates. */
static int spec_option(char *opt, struct ovb_disk_spec *s, unsigned *seen,
		       const struct ovb_blk_scheme *sc, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {"size",   "lun",    "ro",
					   "ide",    "sector", "direct",
					   "timeout"};
	char *val = strchr(opt, '=');
	unsigned long n;
	unsigned k;

	if (val)
		*val++ = '\0';
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!strcmp(opt, keys[k]))
			break;
	if (k == sizeof(keys) / sizeof(keys[0]) &&
	    ovb__blk_scheme_has_key(sc, opt))
		return spec_engine_option(opt, val, s, err, errlen);
	if (k == sizeof(keys) / sizeof(keys[0]))
		return spec_fail(err, errlen, "disk spec: unknown option '%s'",
				 opt);
	if (*seen & (1u << k))
		return spec_fail(err, errlen,
				 "disk spec: option '%s' given twice", opt);
	*seen |= 1u << k;
	/* Options 0, 1, 4 and 6 take a value; the others are flags. */
	if ((k == 0 || k == 1 || k == 4 || k == 6) != (val != NULL))
		return spec_fail(err, errlen,
				 val ? "disk spec: option '%s' "
				       "takes no value"
				     : "disk spec: option '%s' "
				       "needs a value",
				 opt);
	switch (k) {
	case 0:
		if (ovb_parse_size(val, &s->size) || s->size == 0)
			return spec_fail(err, errlen,
					 "disk spec: bad size '%s' (want a "
					 "number with K/M/G/T, e.g. 8G)",
					 val);
		break;
	case 1:
		if (spec_parse_uint(val, &n) || n > SPEC_MAX_LUN)
			return spec_fail(err, errlen,
					 "disk spec: bad lun '%s' (want 0..%d)",
					 val, SPEC_MAX_LUN);
		s->lun = (int)n;
		break;
	case 2:
		s->ro = true;
		break;
	case 3:
		s->ide = true;
		break;
	case 4:
		if (spec_parse_uint(val, &n) || (n != 512 && n != 4096))
			return spec_fail(err, errlen,
					 "disk spec: bad sector '%s' (want 512 "
					 "or 4096)",
					 val);
		s->sector = (uint32_t)n;
		break;
	case 5:
		s->direct = true;
		break;
	default:
		if (spec_parse_uint(val, &n) || n == 0 || n > SPEC_MAX_TIMEOUT)
			return spec_fail(err, errlen,
					 "disk spec: bad timeout '%s' (want "
					 "1..%d seconds)",
					 val, SPEC_MAX_TIMEOUT);
		s->timeout_s = (unsigned)n;
		break;
	}
	return 0;
}

int ovb_disk_spec_parse(const char *arg, struct ovb_disk_spec *out, char *err,
			size_t errlen)
{
	const struct ovb_blk_scheme *sc;
	struct ovb_disk_spec s;
	char buf[PATH_MAX + 256];
	char *opt, *next;
	unsigned seen = 0;
	int rc;

	if (!arg || !out)
		return spec_fail(err, errlen, "disk spec: missing");
	if (strlen(arg) >= sizeof(buf))
		return spec_fail(err, errlen, "disk spec: too long");
	memset(&s, 0, sizeof(s));
	s.lun = -1;
	s.sector = 512;
	strcpy(buf, arg);

	next = strchr(buf, ',');
	if (next)
		*next++ = '\0';
	if (buf[0] == '\0')
		return spec_fail(err, errlen, "disk spec '%s': no file name",
				 arg);
	if (strlen(buf) >= sizeof(s.path))
		return spec_fail(err, errlen, "disk spec: file name too long");
	strcpy(s.path, buf);
	sc = ovb__blk_scheme_find(s.path);

	while ((opt = next) != NULL) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (*opt == '\0')
			return spec_fail(err, errlen,
					 "disk spec '%s': empty option", arg);
		rc = spec_option(opt, &s, &seen, sc, err, errlen);
		if (rc)
			return rc;
	}
	if (s.size % s.sector)
		return spec_fail(err, errlen,
				 "disk spec: size=%llu is not a multiple of "
				 "sector=%u",
				 (unsigned long long)s.size, s.sector);
	*out = s;
	return 0;
}
