// SPDX-License-Identifier: MIT
/*
 * Unit tests for GUID handling (src/core/guid.c): string <-> wire order,
 * rejection of malformed strings, random version-4 GUIDs and the device
 * class names.  The wire bytes of the class GUIDs themselves are checked in
 * test-wire-ring.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/guid.h"

static const char net_str[] = "f8615163-df3e-46c5-913f-f2d2f965ed0e";
static const uint8_t net_wire[16] = {
	0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e,
};

static void test_parse_lower(void **state)
{
	struct vmbus_guid g;

	assert_int_equal(ovb_guid_parse(net_str, &g), 0);
	assert_memory_equal(g.b, net_wire, 16);
}

static void test_parse_upper_and_braces(void **state)
{
	static const char braced[] = "{f8615163-df3e-46C5-913f-F2D2f965ed0e}";
	struct vmbus_guid g;

	assert_int_equal(
		ovb_guid_parse("F8615163-DF3E-46C5-913F-F2D2F965ED0E", &g), 0);
	assert_memory_equal(g.b, net_wire, 16);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ovb_guid_parse(braced, &g), 0);
	assert_memory_equal(g.b, net_wire, 16);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"f8615163-df3e-46c5-913f-f2d2f965ed0",   /* 35 */
		"f8615163-df3e-46c5-913f-f2d2f965ed0e0", /* 37 */
		"f8615163-df3e-46c5-913f-f2d2f965ed0e\n",
		" f8615163-df3e-46c5-913f-f2d2f965ed0e",
		"f8615163df3e-46c5-913f-f2d2f965ed0e0",  /* dash missing */
		"f861516-3df3e-46c5-913f-f2d2f965ed0e",  /* dash moved */
		"f8615163-df3e-46c5-913f-f2d2f965ed-e",
		"f8615163-df3e-46c5-913f_f2d2f965ed0e",
		"g8615163-df3e-46c5-913f-f2d2f965ed0e",
		"f8615163-df3e-46c5-913f-f2d2f965ed0G",
		"f8615163-df3e-46c5-913f-f2d2f96 ed0e",
		"{f8615163-df3e-46c5-913f-f2d2f965ed0e",
		"f8615163-df3e-46c5-913f-f2d2f965ed0e}",
		"(f8615163-df3e-46c5-913f-f2d2f965ed0e)",
		"{f8615163-df3e-46c5-913f-f2d2f965ed0e}}",
		"+8615163-df3e-46c5-913f-f2d2f965ed0e",
	};
	struct vmbus_guid g;

	memset(&g, 0xa5, sizeof(g));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ovb_guid_parse(bad[i], &g), -EINVAL);
	}
	assert_int_equal(ovb_guid_parse(NULL, &g), -EINVAL);
	assert_int_equal(ovb_guid_parse(net_str, NULL), -EINVAL);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(g.b[i], 0xa5); /* untouched on error */
}

static void test_format(void **state)
{
	struct vmbus_guid g;
	char s[37];

	memcpy(g.b, net_wire, 16);
	memset(s, 'x', sizeof(s));
	ovb_guid_format(&g, s);
	assert_string_equal(s, net_str);
	memset(g.b, 0, 16);
	ovb_guid_format(&g, s);
	assert_string_equal(s, "00000000-0000-0000-0000-000000000000");
	memset(g.b, 0xff, 16);
	ovb_guid_format(&g, s);
	assert_string_equal(s, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void test_roundtrip_every_byte_position(void **state)
{
	struct vmbus_guid g, back;
	char s[37];

	/* One distinct value per wire byte proves the permutation. */
	for (int i = 0; i < 16; i++)
		g.b[i] = (uint8_t)(0x10 * i + i);
	ovb_guid_format(&g, s);
	assert_string_equal(s, "33221100-5544-7766-8899-aabbccddeeff");
	assert_int_equal(ovb_guid_parse(s, &back), 0);
	assert_true(ovb_guid_equal(&g, &back));
}

static void test_equal(void **state)
{
	struct vmbus_guid a, b;

	memcpy(a.b, net_wire, 16);
	b = a;
	assert_true(ovb_guid_equal(&a, &b));
	b.b[15] ^= 1;
	assert_false(ovb_guid_equal(&a, &b));
	b = a;
	b.b[0] ^= 0x80;
	assert_false(ovb_guid_equal(&a, &b));
}

static void test_random_version_4(void **state)
{
	struct vmbus_guid a, b;
	char s[37];

	for (int i = 0; i < 64; i++) {
		ovb_guid_random(&a);
		ovb_guid_format(&a, s);
		assert_int_equal(s[14], '4');
		assert_true(strchr("89ab", s[19]) != NULL);
		assert_int_equal(a.b[7] >> 4, 4);
		assert_int_equal(a.b[8] >> 6, 2);
	}
	ovb_guid_random(&b);
	assert_false(ovb_guid_equal(&a, &b));
}

static void test_class_names(void **state)
{
	static const struct {
		const struct vmbus_guid *g;
		const char *name;
		const char *str;
	} classes[] = {
		{ &OVB_GUID_NET, "network",
		  "f8615163-df3e-46c5-913f-f2d2f965ed0e" },
		{ &OVB_GUID_SCSI, "scsi",
		  "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f" },
		{ &OVB_GUID_IDE, "ide",
		  "32412632-86cb-44a2-9b5c-50d1417354f5" },
		{ &OVB_GUID_FC, "fc",
		  "2f9bcc4a-0069-4af3-b76b-6fd0be528cda" },
		{ &OVB_GUID_VPCI, "vpci",
		  "44c4f61d-4444-4400-9d52-802e27ede19f" },
		{ &OVB_GUID_SHUTDOWN, "shutdown",
		  "0e0b6031-5213-4934-818b-38d90ced39db" },
		{ &OVB_GUID_KVP, "kvp",
		  "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6" },
		{ &OVB_GUID_VSS, "vss",
		  "35fa2e29-ea23-4236-96ae-3a6ebacba440" },
		{ &OVB_GUID_TIMESYNC, "timesync",
		  "9527e630-d0ae-497b-adce-e80ab0175caf" },
		{ &OVB_GUID_HEARTBEAT, "heartbeat",
		  "57164f39-9115-4e78-ab55-382f3bd5422d" },
		{ &OVB_GUID_ECHO, "echo",
		  "9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19" },
	};
	struct vmbus_guid g;

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		assert_int_equal(ovb_guid_parse(classes[i].str, &g), 0);
		assert_true(ovb_guid_equal(&g, classes[i].g));
		assert_string_equal(ovb_guid_class_name(&g), classes[i].name);
	}
	g.b[3] ^= 1;
	assert_string_equal(ovb_guid_class_name(&g), "unknown");
	ovb_guid_random(&g);
	assert_string_equal(ovb_guid_class_name(&g), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lower),
		cmocka_unit_test(test_parse_upper_and_braces),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip_every_byte_position),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_random_version_4),
		cmocka_unit_test(test_class_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
