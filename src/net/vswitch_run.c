// SPDX-License-Identifier: MIT
/*
 * The virtual switch's runs (ovb_vswitch_input_run): the frames of one
 * forward go to a port in one call when it has a run callback, one by one
 * otherwise.  A run is one input under vswitch.c's locking contract: the
 * lock is held across all of its frames, and the frames that share their
 * two MACs are learned, looked up and counted once.  Layer: devices.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "net/vswitch_fdb.h"
#include "net/vswitch_impl.h"
#include "net/vswitch_xmit.h"
#include "openvmbus/vswitch.h"

/* One frame of a run through the frame-at-a-time path (fallbacks). */
static int vsw_deliver_single(struct vsw_port *p,
			      const struct ovb_vswitch_frame *fr)
{
	struct vsw_xmit x;
	int n;

	x.frame = x.head = fr->frame;
	x.len = fr->len;
	x.meta = fr->meta;
	x.hdr = x.rest = NULL; /* whole: the pieces are never read */
	x.hlen = 0;
	x.tagged.built = x.csum[0].built = x.csum[1].built = false;
	x.joined.built = false;
	x.tagged.buf = x.csum[0].buf = x.csum[1].buf = NULL;
	x.joined.buf = NULL;
	n = vsw_deliver(p, &x);
	vsw_view_free(&x.tagged);
	vsw_view_free(&x.csum[0]);
	vsw_view_free(&x.csum[1]);
	return n;
}

/* @n frames to @p's run callback, counted once; @cnt[i] += delivered. */
static void vsw_txn(struct vsw_port *p, const struct ovb_vswitch_frame *fr,
		    unsigned int n, int *cnt)
{
	uint64_t drop = p->txn(p->ctx, fr, n), bytes = 0, ok = 0;

	if (p->flush)
		vsw__batch.touched |= 1ull << p->idx;
	for (unsigned int i = 0; i < n; i++) {
		if (drop >> i & 1)
			continue;
		ok++;
		bytes += fr[i].len;
		cnt[i]++;
	}
	if (ok < n)
		vsw_add(&p->tx_drops, n - ok);
	if (ok) {
		vsw_add(&p->tx_packets, ok);
		vsw_add(&p->tx_bytes, bytes);
	}
}

/*
 * The frames of one forward to port @p, in order: consecutive frames the
 * port takes as they are go in one run call, a frame that needs a
 * software fallback (or every frame, for a port without a run callback)
 * alone.
 */
static void vsw_deliver_run(struct vsw_port *p,
			    const struct ovb_vswitch_frame *fr, unsigned int n,
			    int *cnt)
{
	unsigned int s = 0;

	if (!p->txn) {
		for (unsigned int i = 0; i < n; i++)
			cnt[i] += vsw_deliver_single(p, &fr[i]);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint32_t need = vsw_need(fr[i].meta);

		if ((p->caps & need) == need)
			continue;
		if (i > s)
			vsw_txn(p, fr + s, i - s, cnt + s);
		cnt[i] += vsw_deliver_single(p, &fr[i]);
		s = i + 1;
	}
	if (n > s)
		vsw_txn(p, fr + s, n - s, cnt + s);
}

/* Is @f's a source the switch takes (not a runt, a unicast source)? */
static bool vsw_src_ok(const struct ovb_vswitch_frame *f)
{
	const uint8_t *b = f->frame;

	return b && f->len >= 14 && !(b[6] & 1) &&
	       ovb__vswitch_fdb_mac(b + 6) != 0;
}

/* One forward of a run: @fr[0..n) share their MACs; ports_lock held. */
static void vsw_forward_run(struct ovb_vswitch *sw, unsigned int in,
			    const struct ovb_vswitch_frame *fr, unsigned int n,
			    uint64_t now, int *cnt)
{
	const uint8_t *f = fr[0].frame;
	unsigned int out;

	ovb__vswitch_fdb_learn(&sw->fdb, ovb__vswitch_fdb_mac(f + 6), in,
			       now);
	if (!(f[0] & 1) &&
	    !ovb__vswitch_fdb_lookup(&sw->fdb, ovb__vswitch_fdb_mac(f), now,
				     &out) &&
	    sw->ports[out].used) {
		if (out != in) /* else the destination is behind @in */
			vsw_deliver_run(&sw->ports[out], fr, n, cnt);
		return;
	}
	vsw_add(&sw->ports[in].floods, n);
	for (unsigned int i = 0; i < OVB_VSWITCH_MAX_PORTS; i++)
		if (i != in && sw->ports[i].used)
			vsw_deliver_run(&sw->ports[i], fr, n, cnt);
}

int ovb_vswitch_input_run(struct ovb_vswitch *sw, unsigned int port,
			  const struct ovb_vswitch_frame *frames,
			  unsigned int n, int *res)
{
	static const struct ovb_net_meta plain;
	struct ovb_vswitch_frame fr[OVB_VSWITCH_RUN_MAX];
	int cnt[OVB_VSWITCH_RUN_MAX];
	bool outer = vsw__batch.defer, batch;
	uint64_t owed = 0, rx_b = 0, bad = 0, bad_b = 0, now;
	struct vsw_port *in;
	unsigned int i, j;
	int taken = 0;

	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	if (n > OVB_VSWITCH_RUN_MAX || (n && !frames))
		return -EINVAL;
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		fr[i] = frames[i];
		if (!fr[i].meta)
			fr[i].meta = &plain;
		cnt[i] = 0;
	}
	vsw__batch.defer = false; /* counted here, not by a remembered path */
	vsw_lock(sw);
	in = &sw->ports[port];
	if (!in->used) {
		vsw_unlock(sw);
		vsw__batch.defer = outer;
		return -ENODEV;
	}
	vsw__batch.inputs++;
	batch = vsw__batch.depth && vsw__batch.sw == sw;
	if (batch) {
		vsw_fold(sw);
	} else {
		owed = vsw__batch.touched;
		vsw__batch.touched = 0;
	}
	now = sw->clock(sw->clock_ctx);
	for (i = 0; i < n; i = j) {
		if (!vsw_src_ok(&fr[i])) {
			cnt[i] = -EBADMSG;
			bad++;
			bad_b += fr[i].len;
			j = i + 1;
			continue;
		}
		/* The forward: every next frame with the same two MACs. */
		for (j = i + 1; j < n && fr[j].frame && fr[j].len >= 14 &&
				!memcmp(fr[j].frame, fr[i].frame, 12);
		     j++)
			;
		for (unsigned int k = i; k < j; k++)
			rx_b += fr[k].len;
		taken += (int)(j - i);
		vsw_forward_run(sw, port, fr + i, j - i, now, cnt + i);
	}
	vsw_add(&in->rx_packets, (uint64_t)taken + bad);
	vsw_add(&in->rx_bytes, rx_b + bad_b);
	if (bad)
		vsw_add(&in->rx_drops, bad);
	if (batch) {
		vsw_fold(sw); /* what a nested input tallied */
	} else {
		vsw_flush(sw);
		vsw__batch.touched = owed;
	}
	vsw__batch.inputs--;
	vsw_unlock(sw);
	vsw__batch.defer = outer;
	if (res)
		memcpy(res, cnt, n * sizeof(*res));
	return taken;
}
