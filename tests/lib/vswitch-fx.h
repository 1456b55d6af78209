/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the virtual switch unit tests, one copy per test program
 * (static): NPORTS sink ports that count and keep the last frame they
 * were sent (optionally re-injecting it), an injected clock, 64-byte
 * frames from MAC 02:..:@src to 02:..:@dst, and a cmocka setup making a
 * switch (aging 1 s) with a sink on each ports[i] taking every offload.
 */
#ifndef OPENVMBUS_TESTS_VSWITCH_FX_H
#define OPENVMBUS_TESTS_VSWITCH_FX_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "openvmbus/vswitch.h"
#include "tests/lib/net-frame-fx.h"

#define NPORTS 4

struct sink {
	_Atomic unsigned int frames;
	size_t last_len;
	uint8_t last[2048];
	struct ovb_net_meta last_meta;
	int fail;
	struct ovb_vswitch *reinject_sw; /* forward into this switch... */
	unsigned int reinject_port;      /* ...on this port */
};

static struct sink sinks[NPORTS];
static __attribute__((unused)) unsigned int ports[NPORTS];
static uint64_t now_ms; /* what fake_clock says */

static inline uint64_t fake_clock(void *ctx)
{
	return now_ms;
}

static inline int sink_tx(void *ctx, const void *frame, size_t len,
			  const struct ovb_net_meta *meta)
{
	struct sink *s = ctx;

	if (s->fail)
		return -EIO;
	atomic_fetch_add(&s->frames, 1);
	s->last_len = len;
	if (len <= sizeof(s->last))
		memcpy(s->last, frame, len);
	s->last_meta = *meta;
	if (s->reinject_sw) {
		uint8_t f[64];

		memcpy(f, frame, len < 64 ? len : 64);
		f[0] = 0x02; /* to MAC 02:..:01 */
		f[5] = 0x01;
		f[6] = 0x02; /* from MAC 02:..:99 */
		f[11] = 0x99;
		ovb_vswitch_input(s->reinject_sw, s->reinject_port, f,
				  len < 64 ? len : 64, NULL);
	}
	return 0;
}

static inline size_t frame(uint8_t *f, uint8_t dst, uint8_t src)
{
	const uint8_t d[6] = { 0x02, 0, 0, 0, 0, dst };
	const uint8_t s[6] = { 0x02, 0, 0, 0, 0, src };

	nff_eth(f, 64, d, s, 0, 0);
	return 64;
}

static inline int setup(void **state)
{
	struct ovb_vswitch_config cfg = { .aging_ms = 1000,
					  .clock = fake_clock };
	struct ovb_vswitch *sw;

	now_ms = 5000;
	memset(sinks, 0, sizeof(sinks));
	if (ovb_vswitch_create(&cfg, &sw))
		return -1;
	for (int i = 0; i < NPORTS; i++)
		if (ovb_vswitch_port_add(sw, "p", OVB_VSWITCH_CAP_CSUM |
					 OVB_VSWITCH_CAP_TSO4 |
					 OVB_VSWITCH_CAP_TSO6 |
					 OVB_VSWITCH_CAP_VLAN,
					 sink_tx, &sinks[i], &ports[i]))
			return -1;
	*state = sw;
	return 0;
}

static inline int teardown(void **state)
{
	ovb_vswitch_destroy(*state);
	return 0;
}

static inline unsigned int got(int i)
{
	return atomic_load(&sinks[i].frames);
}

#endif
