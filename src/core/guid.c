// SPDX-License-Identifier: MIT
/*
 * GUIDs in VMBus wire order: string parsing and printing, comparison,
 * random version-4 GUIDs and the table of known device classes.  Layer:
 * core.  Byte order after docs/wire.md B8: the 32-bit and the two 16-bit
 * leading groups are little-endian on the wire, the trailing 8 bytes go as
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/guid.h"

/*
 * A GUID constant written the way the string reads: @d1 the first group,
 * @d2 and @d3 the next two, then the last eight bytes in order.
 */
#define GUID_INIT(d1, d2, d3, e0, e1, e2, e3, e4, e5, e6, e7)                 \
	{                                                                     \
		{                                                             \
			(d1) & 0xff, ((d1) >> 8) & 0xff, ((d1) >> 16) & 0xff, \
			((d1) >> 24) & 0xff, (d2) & 0xff, ((d2) >> 8) & 0xff, \
			(d3) & 0xff, ((d3) >> 8) & 0xff, e0, e1, e2, e3, e4,  \
			e5, e6, e7                                            \
		}                                                             \
	}

/* f8615163-df3e-46c5-913f-f2d2f965ed0e */
const struct vmbus_guid OVB_GUID_NET =
	GUID_INIT(0xf8615163, 0xdf3e, 0x46c5,
		  0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e);
/* ba6163d9-04a1-4d29-b605-72e2ffb1dc7f */
const struct vmbus_guid OVB_GUID_SCSI =
	GUID_INIT(0xba6163d9, 0x04a1, 0x4d29,
		  0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f);
/* 32412632-86cb-44a2-9b5c-50d1417354f5 */
const struct vmbus_guid OVB_GUID_IDE =
	GUID_INIT(0x32412632, 0x86cb, 0x44a2,
		  0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5);
/* 2f9bcc4a-0069-4af3-b76b-6fd0be528cda */
const struct vmbus_guid OVB_GUID_FC =
	GUID_INIT(0x2f9bcc4a, 0x0069, 0x4af3,
		  0xb7, 0x6b, 0x6f, 0xd0, 0xbe, 0x52, 0x8c, 0xda);
/* 44c4f61d-4444-4400-9d52-802e27ede19f */
const struct vmbus_guid OVB_GUID_VPCI =
	GUID_INIT(0x44c4f61d, 0x4444, 0x4400,
		  0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f);
/* 0e0b6031-5213-4934-818b-38d90ced39db */
const struct vmbus_guid OVB_GUID_SHUTDOWN =
	GUID_INIT(0x0e0b6031, 0x5213, 0x4934,
		  0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb);
/* a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 */
const struct vmbus_guid OVB_GUID_KVP =
	GUID_INIT(0xa9a0f4e7, 0x5a45, 0x4d96,
		  0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6);
/* 35fa2e29-ea23-4236-96ae-3a6ebacba440 */
const struct vmbus_guid OVB_GUID_VSS =
	GUID_INIT(0x35fa2e29, 0xea23, 0x4236,
		  0x96, 0xae, 0x3a, 0x6e, 0xba, 0xcb, 0xa4, 0x40);
/* 9527e630-d0ae-497b-adce-e80ab0175caf */
const struct vmbus_guid OVB_GUID_TIMESYNC =
	GUID_INIT(0x9527e630, 0xd0ae, 0x497b,
		  0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf);
/* 57164f39-9115-4e78-ab55-382f3bd5422d */
const struct vmbus_guid OVB_GUID_HEARTBEAT =
	GUID_INIT(0x57164f39, 0x9115, 0x4e78,
		  0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d);
/* 9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19: ours, for the echo test device */
const struct vmbus_guid OVB_GUID_ECHO =
	GUID_INIT(0x9a2c5e1d, 0x7b3f, 0x4c8e,
		  0xa1, 0xd6, 0x0e, 0x5f, 0x4b, 0x3a, 0x2c, 0x19);

static const struct {
	const struct vmbus_guid *guid;
	const char *name;
} guid_classes[] = {
	{ &OVB_GUID_NET, "network" },
	{ &OVB_GUID_SCSI, "scsi" },
	{ &OVB_GUID_IDE, "ide" },
	{ &OVB_GUID_FC, "fc" },
	{ &OVB_GUID_VPCI, "vpci" },
	{ &OVB_GUID_SHUTDOWN, "shutdown" },
	{ &OVB_GUID_KVP, "kvp" },
	{ &OVB_GUID_VSS, "vss" },
	{ &OVB_GUID_TIMESYNC, "timesync" },
	{ &OVB_GUID_HEARTBEAT, "heartbeat" },
	{ &OVB_GUID_ECHO, "echo" },
};

/*
 * Wire position of the i-th byte of the string form: the first three
 * groups are reversed, the last eight bytes stay in place.
 */
static const uint8_t guid_wire_pos[16] = {
	3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15,
};

static int guid_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ovb_guid_parse(const char *s, struct vmbus_guid *out)
{
	struct vmbus_guid g;
	size_t len, n;

	if (!s || !out)
		return -EINVAL;
	len = strnlen(s, OVB_GUID_STRLEN + 3);
	if (len == OVB_GUID_STRLEN + 2 && s[0] == '{' &&
	    s[OVB_GUID_STRLEN + 1] == '}')
		s++;
	else if (len != OVB_GUID_STRLEN)
		return -EINVAL;

	for (n = 0; n < 16; n++) {
		int hi, lo;

		if ((n == 4 || n == 6 || n == 8 || n == 10) && *s++ != '-')
			return -EINVAL;
		hi = guid_hex(s[0]);
		lo = guid_hex(s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		g.b[guid_wire_pos[n]] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	*out = g;
	return 0;
}

void ovb_guid_format(const struct vmbus_guid *g, char out[37])
{
	static const char digits[] = "0123456789abcdef";
	size_t pos = 0;

	for (size_t n = 0; n < 16; n++) {
		uint8_t v = g->b[guid_wire_pos[n]];

		if (n == 4 || n == 6 || n == 8 || n == 10)
			out[pos++] = '-';
		out[pos++] = digits[v >> 4];
		out[pos++] = digits[v & 0xf];
	}
	out[pos] = '\0';
}

bool ovb_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

/* Last resort when getrandom() is missing: /dev/urandom, then a clock mix. */
static void guid_fallback_random(uint8_t *p, size_t n)
{
	static uint64_t counter;
	struct timespec ts;
	uint64_t x;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t got = read(fd, p, n);

		close(fd);
		if (got == (ssize_t)n)
			return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec +
	    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) +
	    ((uint64_t)getpid() << 32);
	for (size_t i = 0; i < n; i++) {
		/* splitmix64 step */
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
}

void ovb_guid_random(struct vmbus_guid *g)
{
	size_t got = 0;

	while (got < sizeof(g->b)) {
		ssize_t n = getrandom(g->b + got, sizeof(g->b) - got, 0);

		if (n > 0) {
			got += (size_t)n;
		} else if (n < 0 && errno != EINTR) {
			guid_fallback_random(g->b, sizeof(g->b));
			break;
		}
	}
	/* Version 4: the high nibble of the third group, which is wire
	 * byte 7 (the group is little-endian).  Variant 10xx: byte 8. */
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40);
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

const char *ovb_guid_class_name(const struct vmbus_guid *g)
{
	for (size_t i = 0; i < sizeof(guid_classes) / sizeof(guid_classes[0]);
	     i++)
		if (ovb_guid_equal(g, guid_classes[i].guid))
			return guid_classes[i].name;
	return "unknown";
}
