// SPDX-License-Identifier: MIT
/*
 * Unit tests: the disk spec parser (`--disk FILE[,options]`, and the
 * rbd: and nbd: forms): what each option sets, the engines a spec names,
 * and bad specs refused with a message that names the problem.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"

#define MIB (1024u * 1024u)

static void test_spec_good(void **state)
{
	struct ovb_disk_spec s;
	char err[128];

	assert_int_equal(ovb_disk_spec_parse("disk.img", &s, err, 128), 0);
	assert_string_equal(s.path, "disk.img");
	assert_int_equal(s.size, 0);
	assert_int_equal(s.lun, -1);
	assert_int_equal(s.sector, 512);
	assert_false(s.ro || s.ide || s.direct);
	assert_int_equal(ovb_disk_spec_parse("/a/b.img,size=8G,lun=3,ro,ide,"
					     "sector=4096,direct",
					     &s, err, 128),
			 0);
	assert_string_equal(s.path, "/a/b.img");
	assert_int_equal(s.size, 8ull << 30);
	assert_int_equal(s.lun, 3);
	assert_int_equal(s.sector, 4096);
	assert_true(s.ro && s.ide && s.direct);
	assert_int_equal(ovb_disk_spec_parse("x,size=512", &s, err, 128), 0);
	assert_int_equal(s.size, 512);
	assert_int_equal(ovb_disk_spec_parse("x,size=1MiB", &s, err, 128), 0);
	assert_int_equal(s.size, MIB);
	assert_int_equal(ovb_disk_spec_parse("x,size=2TB", &s, err, 128), 0);
	assert_int_equal(s.size, 2ull << 40);
	assert_int_equal(ovb_disk_spec_parse("x,size=4k,lun=255", &s, err, 128),
			 0);
	assert_int_equal(s.size, 4096);
	assert_int_equal(s.timeout_s, 0);
	assert_int_equal(ovb_disk_spec_parse("nbd+unix:///e?socket=/t/s,"
					     "timeout=7",
					     &s, err, 128),
			 0);
	assert_string_equal(s.path, "nbd+unix:///e?socket=/t/s");
	assert_int_equal(s.timeout_s, 7);
}

/* An engine's spec keeps its own options for it; files do not take them. */
static void test_spec_engine(void **state)
{
	struct ovb_disk_spec s;
	struct ovb_blk *blk;
	char err[200];

	assert_int_equal(ovb_disk_spec_parse("rbd:pool/img,conf=/etc/c.conf,"
					     "size=1G,id=user,lun=2",
					     &s, err, sizeof(err)),
			 0);
	assert_string_equal(s.path, "rbd:pool/img");
	assert_string_equal(s.opts, "conf=/etc/c.conf,id=user");
	assert_int_equal(s.size, 1ull << 30);
	assert_int_equal(s.lun, 2);
	assert_int_equal(ovb_disk_spec_parse("disk.img,conf=/x", &s, err,
					     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'conf'"));
	assert_int_equal(ovb_disk_spec_parse("rbd:p/i,id=a,id=b", &s, err,
					     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'id' given twice"));

	/* Refused before any connection, each with its reason. */
	assert_int_equal(ovb_disk_spec_parse("rbd:noslash", &s, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_open(&s, &blk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rbd:POOL/IMAGE"));
	assert_int_equal(ovb_disk_spec_parse("rbd:p/i,direct", &s, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_open(&s, &blk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "direct"));
	assert_int_equal(ovb_disk_spec_parse("rbd:p/i,reap=sometimes", &s, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_open(&s, &blk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reap=librbd or reap=owner"));
	/* spin=on, off, or a bound in microseconds up to 10 ms. */
	static const char *const bad_spin[] = {
	    "rbd:p/i,spin=maybe", "rbd:p/i,spin=-1", "rbd:p/i,spin=40us",
	    "rbd:p/i,spin=10001"};
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(
		    ovb_disk_spec_parse(bad_spin[i], &s, err, sizeof(err)), 0);
		assert_int_equal(ovb_blk_open(&s, &blk, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "spin=on, spin=off or spin=US"));
	}
	assert_int_equal(ovb_disk_spec_parse("rbd:p/i,reap=read,direct", &s,
					     err, sizeof(err)),
			 0);
	assert_int_equal(ovb_blk_open(&s, &blk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "direct"));
	assert_int_equal(ovb_disk_spec_parse("rbd:p/i,conf=/nonexistent/c.conf",
					     &s, err, sizeof(err)),
			 0);
	assert_true(ovb_blk_open(&s, &blk, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/c.conf"));
	/* A bound parses: the open gets as far as the configuration. */
	assert_int_equal(
	    ovb_disk_spec_parse("rbd:p/i,spin=40,conf=/nonexistent/"
				"c.conf",
				&s, err, sizeof(err)),
	    0);
	assert_true(ovb_blk_open(&s, &blk, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/c.conf"));
}

static void test_spec_bad(void **state)
{
	static const struct {
		const char *arg;
		const char *word; /* the message must name it */
	} bad[] = {
	    {"", "file"},
	    {",size=1G", "file"},
	    {"x,size=", "size"},
	    {"x,size", "size"},
	    {"x,size=abc", "size"},
	    {"x,size=0", "size"},
	    {"x,size=-5", "size"},
	    {"x,size=1Q", "size"},
	    {"x,size=99999999999999T", "size"},
	    {"x,lun=256", "lun"},
	    {"x,lun=-1", "lun"},
	    {"x,lun=1a", "lun"},
	    {"x,sector=1024", "sector"},
	    {"x,sector", "sector"},
	    {"x,foo", "foo"},
	    {"x,ro=1", "ro"},
	    {"x,size=1G,size=2G", "size"},
	    {"x,,ro", "empty"},
	    {"x,ro,", "empty"},
	    {"x,size=1000,sector=4096", "sector"},
	    {"x,timeout", "timeout"},
	    {"x,timeout=0", "timeout"},
	    {"x,timeout=3601", "timeout"},
	};
	struct ovb_disk_spec s;
	char err[160];

	memset(&s, 0x5c, sizeof(s));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ovb_disk_spec_parse(bad[i].arg, &s, err, sizeof(err)) !=
		    -EINVAL)
			fail_msg("'%s' was accepted", bad[i].arg);
		if (!strstr(err, bad[i].word))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].arg,
				 err, bad[i].word);
	}
	assert_int_equal(s.path[0], 0x5c); /* untouched on error */
	assert_int_equal(ovb_disk_spec_parse(NULL, &s, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_good),
		cmocka_unit_test(test_spec_bad),
		cmocka_unit_test(test_spec_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
