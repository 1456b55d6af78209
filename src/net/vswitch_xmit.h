/* SPDX-License-Identifier: MIT */
/*
 * The virtual switch's per-frame path, shared by vswitch.c (inputs one
 * frame at a time, batches) and vswitch_run.c (runs of frames): the
 * calling thread's batch, ports_lock's read side for one input, and the
 * delivery of one input to one port with the software offload fallbacks
 * its receiver needs.  Layer: devices.  The locking contract is at the top
 * of vswitch.c.
 *
 * Everything here is static inline: it is what every frame runs, and a
 * call into another file per frame would cost what the inlining won.
 */
#ifndef OPENVMBUS_NET_VSWITCH_XMIT_H
#define OPENVMBUS_NET_VSWITCH_XMIT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "net/offload_priv.h"
#include "net/vswitch_impl.h"
#include "openvmbus/log.h"
#include "openvmbus/vswitch.h"

#define VSW_PENDING (OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM)

/* A software-prepared variant of the input frame, built on first use. */
struct vsw_view {
	bool built;
	int rc;
	uint8_t *buf;
	size_t len;
	struct ovb_net_meta meta;
};

/*
 * One input being delivered; variants are shared by all target ports.  An
 * input in two pieces (hdr set) has no frame until a port needs it whole:
 * then the joined view is built, once.
 */
struct vsw_xmit {
	const uint8_t *frame;
	size_t len;
	const struct ovb_net_meta *meta;
	const uint8_t *head;     /**< the MACs: frame, or hdr */
	const uint8_t *hdr;      /**< split input: first hlen bytes */
	const uint8_t *rest;     /**< split input: the other len - hlen */
	size_t hlen;
	struct vsw_view joined;  /**< split input made whole */
	struct vsw_view tagged;  /**< VLAN tag moved into the frame */
	struct vsw_view csum[2]; /**< checksums done: [0] as is, [1] tagged */
};

/*
 * The calling thread's batch (ovb_vswitch_batch_begin): the ports that
 * took frames and wait for their flush.  One switch at a time; inputs on
 * another switch flush as if no batch were open.
 */
struct vsw_batch {
	struct ovb_vswitch *sw;
	unsigned int depth;
	uint64_t touched; /* bit per port: delivered to, flush owed */
	/*
	 * The batch's last unicast forward: frames from @src on port @in to
	 * @dst went to port @out while the FDB's change count was @gen (0:
	 * nothing remembered).  The next such frame skips the clock, the
	 * learning and the lookup: a batch's frames mostly share their MACs
	 * (a sending guest's drain, a TAP reader's wake-up).  Each batch
	 * starts empty, so its first frame still learns (ages stay right).
	 */
	uint64_t gen, src, dst;
	unsigned int in, out;
	/*
	 * Counts owed to ports @in (rx) and @out (tx) for the frames that
	 * took the remembered forward (vsw_fold adds them); @in_gen and
	 * @out_gen are the ports' generations when they were remembered.
	 * @defer: set around the remembered forward's delivery, where
	 * vsw_tx_count tallies frames for port @out here (a nested input,
	 * from a port's transmit callback, runs without it and may change
	 * @out: then the rest counts in the port).  Counts and byte counts
	 * alternate so that no two fields bumped together are adjacent: the
	 * compiler fused such a pair into one 16-byte load and store, whose
	 * load waited on the earlier 8-byte stores (store forwarding).
	 */
	uint64_t rx_n, tx_n, rx_b, tx_b;
	uint32_t in_gen, out_gen;
	bool defer;
	/*
	 * @held: this batch holds ports_lock's read side between inputs
	 * (the locking contract in vswitch.c).  @nohold: a writer was seen;
	 * the rest of the batch locks per input.  @inputs: inputs running
	 * on the thread (a transmit callback's nested input makes 2); only
	 * an outer one may let the hold go.
	 */
	bool held, nohold;
	unsigned int inputs;
};

/*
 * The calling thread's batch (defined in vswitch.c).  Hidden and
 * local-dynamic, as a static would be: in the shared library a function
 * finds it with one __tls_get_addr, where an extern's default model
 * (global-dynamic) calls it at every access.  A static link relaxes
 * either to a plain %fs-relative access.
 */
#define VSW_TLS                                                               \
	__attribute__((visibility("hidden"), tls_model("local-dynamic")))
extern __thread struct vsw_batch vsw__batch VSW_TLS;

_Static_assert(OVB_VSWITCH_MAX_PORTS <= 64, "touched is one u64");

static inline void vsw_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void vsw_view_free(struct vsw_view *v)
{
	if (v->buf) /* mostly none: four calls of free(NULL) cost 4 ns */
		free(v->buf);
}

/* The frame with its out-of-band VLAN tag inserted. */
static inline struct vsw_view *vsw_view_tagged(struct vsw_xmit *x)
{
	struct vsw_view *v = &x->tagged;
	ssize_t n;

	if (v->built)
		return v;
	v->built = true;
	v->meta = *x->meta;
	v->buf = malloc(x->len + 4);
	if (!v->buf) {
		v->rc = -ENOMEM;
		return v;
	}
	n = ovb_offload_vlan_insert(x->frame, x->len, x->meta->vlan_tci,
				    v->buf, x->len + 4);
	v->rc = n < 0 ? (int)n : 0;
	v->len = x->len + 4;
	v->meta.flags &= ~OVB_NET_META_VLAN;
	if (v->meta.flags & OVB_NET_META_CSUM_PARTIAL)
		v->meta.csum_start += 4;
	if (v->meta.hdr_len)
		v->meta.hdr_len += 4;
	return v;
}

/* A copy of (@f, @len, @m) with its checksums filled in. */
static inline struct vsw_view *vsw_view_csum(struct vsw_xmit *x,
					     int tagged, const uint8_t *f,
					     size_t len,
					     const struct ovb_net_meta *m)
{
	struct vsw_view *v = &x->csum[tagged];

	if (v->built)
		return v;
	v->built = true;
	v->meta = *m;
	v->len = len;
	v->buf = malloc(len);
	if (!v->buf) {
		v->rc = -ENOMEM;
		return v;
	}
	memcpy(v->buf, f, len);
	v->rc = ovb_offload_csum(v->buf, len, &v->meta);
	return v;
}

/* The input as one frame: a split one is joined on first use. */
static inline const uint8_t *vsw_frame(struct vsw_xmit *x)
{
	struct vsw_view *v = &x->joined;

	if (x->frame || v->built)
		return x->frame;
	v->built = true;
	v->buf = malloc(x->len);
	if (!v->buf)
		return NULL;
	memcpy(v->buf, x->hdr, x->hlen);
	memcpy(v->buf + x->hlen, x->rest, x->len - x->hlen);
	x->frame = v->buf;
	return x->frame;
}

static inline int vsw_tx_count(struct vsw_port *p, int rc, size_t len)
{
	if (p->flush)
		vsw__batch.touched |= 1ull << p->idx;
	if (rc < 0) {
		vsw_add(&p->tx_drops, 1);
		return 0;
	}
	if (vsw__batch.defer && p->idx == vsw__batch.out &&
	    p->gen == vsw__batch.out_gen) {
		/* The remembered forward's port: counted by vsw_fold. */
		vsw__batch.tx_n++;
		vsw__batch.tx_b += len;
		return 1;
	}
	vsw_add(&p->tx_packets, 1);
	vsw_add(&p->tx_bytes, len);
	return 1;
}

static inline int vsw_tx(struct vsw_port *p, const void *f, size_t len,
			 const struct ovb_net_meta *m)
{
	return vsw_tx_count(p, p->tx(p->ctx, f, len, m), len);
}

struct vsw_seg_ctx {
	struct vsw_port *port;
	struct ovb_net_meta meta;
	int delivered;
};

static inline int vsw_seg_cb(void *ctx, const void *seg, size_t len)
{
	struct vsw_seg_ctx *c = ctx;

	c->delivered |= vsw_tx(c->port, seg, len, &c->meta);
	return 0;
}

/* Segment a TSO frame for a port without TSO; each segment is complete. */
static inline int vsw_deliver_segments(struct vsw_port *p,
					const uint8_t *f, size_t len,
					const struct ovb_net_meta *m)
{
	struct vsw_seg_ctx c = { .port = p, .meta = ovb_offload_seg_meta(m) };
	ssize_t rc;

	rc = ovb_offload_tso(f, len, m, vsw_seg_cb, &c);
	if (rc < 0) {
		ovb_dbg("vswitch port %s: TSO frame dropped (%d)", p->name,
			(int)rc);
		vsw_add(&p->tx_drops, 1);
		return 0;
	}
	return c.delivered;
}

/* The capabilities a receiver needs to take a frame as it is. */
static inline uint32_t vsw_need(const struct ovb_net_meta *m)
{
	uint32_t need = 0;

	if (m->flags & OVB_NET_META_VLAN)
		need |= OVB_VSWITCH_CAP_VLAN;
	if (m->gso_type)
		need |= m->gso_type == OVB_NET_GSO_TCPV4 ? OVB_VSWITCH_CAP_TSO4 :
							   OVB_VSWITCH_CAP_TSO6;
	else if (m->flags & VSW_PENDING)
		need |= OVB_VSWITCH_CAP_CSUM;
	return need;
}

/* Deliver to one port, doing in software what its receiver cannot. */
static inline int vsw_deliver(struct vsw_port *p, struct vsw_xmit *x)
{
	const uint8_t *f;
	const struct ovb_net_meta *m = x->meta;
	size_t len = x->len;
	struct vsw_view *v;
	int tagged = 0;
	uint32_t need = vsw_need(m);

	if (x->hdr && p->txv && (p->caps & need) == need)
		return vsw_tx_count(p, p->txv(p->ctx, x->hdr, x->hlen, x->rest,
					      len - x->hlen, m), len);
	f = vsw_frame(x);
	if (!f)
		goto drop;
	if ((m->flags & OVB_NET_META_VLAN) &&
	    !(p->caps & OVB_VSWITCH_CAP_VLAN)) {
		v = vsw_view_tagged(x);
		if (v->rc)
			goto drop;
		f = v->buf;
		len = v->len;
		m = &v->meta;
		tagged = 1;
	}
	if (m->gso_type) {
		need = m->gso_type == OVB_NET_GSO_TCPV4 ? OVB_VSWITCH_CAP_TSO4 :
							  OVB_VSWITCH_CAP_TSO6;
		if (!(p->caps & need))
			return vsw_deliver_segments(p, f, len, m);
	} else if ((m->flags & VSW_PENDING) &&
		   !(p->caps & OVB_VSWITCH_CAP_CSUM)) {
		v = vsw_view_csum(x, tagged, f, len, m);
		if (v->rc)
			goto drop;
		f = v->buf;
		m = &v->meta;
	}
	return vsw_tx(p, f, len, m);
drop:
	ovb_dbg("vswitch port %s: offload fallback failed", p->name);
	vsw_add(&p->tx_drops, 1);
	return 0;
}

/*
 * Add what the batch's remembered forward owes to its two ports' counters
 * and clear it; ports_lock read-held.  A port removed (and perhaps added
 * again) since it was remembered gets nothing: its counters restarted.
 */
static inline void vsw_fold(struct ovb_vswitch *sw)
{
	struct vsw_port *p;

	if (vsw__batch.rx_n) {
		p = &sw->ports[vsw__batch.in];
		if (p->used && p->gen == vsw__batch.in_gen) {
			vsw_add(&p->rx_packets, vsw__batch.rx_n);
			vsw_add(&p->rx_bytes, vsw__batch.rx_b);
		}
	}
	if (vsw__batch.tx_n) {
		p = &sw->ports[vsw__batch.out];
		if (p->used && p->gen == vsw__batch.out_gen) {
			vsw_add(&p->tx_packets, vsw__batch.tx_n);
			vsw_add(&p->tx_bytes, vsw__batch.tx_b);
		}
	}
	vsw__batch.rx_n = vsw__batch.rx_b = 0;
	vsw__batch.tx_n = vsw__batch.tx_b = 0;
}

/* Flush the ports this thread delivered to; ports_lock read-held. */
static inline void vsw_flush(struct ovb_vswitch *sw)
{
	uint64_t t = vsw__batch.touched;

	vsw__batch.touched = 0;
	while (t) {
		struct vsw_port *p = &sw->ports[__builtin_ctzll(t)];

		t &= t - 1;
		if (p->used && p->flush)
			p->flush(p->ctx);
	}
}

/*
 * Let the batch's hold on ports_lock go: what the batch owes the ports
 * (counts, flushes) first, while the ports it names are still there.
 */
static inline void vsw_release(struct ovb_vswitch *sw)
{
	if (!vsw__batch.held)
		return;
	vsw_fold(sw);
	vsw_flush(sw);
	vsw__batch.held = false;
	pthread_rwlock_unlock(&sw->ports_lock);
}

/* Read-lock ports_lock for one input (vswitch.c's locking contract). */
static inline void vsw_lock(struct ovb_vswitch *sw)
{
	bool batch = vsw__batch.depth && vsw__batch.sw == sw;

	if (vsw__batch.held && batch) {
		/*
		 * Pairs with ovb__vswitch_wrlock's increment: seen by
		 * the next input.
		 */
		if (vsw__batch.inputs ||
		    !__atomic_load_n(&sw->writers, __ATOMIC_RELAXED))
			return;
		vsw_release(sw);
		vsw__batch.nohold = true;
	}
	pthread_rwlock_rdlock(&sw->ports_lock);
	if (batch && !vsw__batch.nohold && !vsw__batch.inputs &&
	    !vsw__batch.held) {
		if (!__atomic_load_n(&sw->writers, __ATOMIC_RELAXED))
			vsw__batch.held = true;
		else
			vsw__batch.nohold = true;
	}
}

static inline void vsw_unlock(struct ovb_vswitch *sw)
{
	if (!vsw__batch.held || vsw__batch.sw != sw)
		pthread_rwlock_unlock(&sw->ports_lock);
}

#endif /* OPENVMBUS_NET_VSWITCH_XMIT_H */
