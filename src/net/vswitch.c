// SPDX-License-Identifier: MIT
/*
 * The learning L2 virtual switch: port table, MAC forwarding database with
 * aging, flooding, per-port counters, and software offload fallbacks for
 * receivers that lack checksum, TSO or VLAN offload.  Layer: devices.
 * Behaviour: IEEE 802.1D transparent bridging without spanning tree.
 *
 * Locking contract.
 *  - ports_lock (rwlock, reader-preferring so that a transmit callback may
 *    re-enter ovb_vswitch_input): read-held across a whole input, written
 *    by port add/remove.  Reader preference means a callback's nested read
 *    never waits behind a queued writer.
 *  - Inside a batch (ovb_vswitch_batch_begin) the read lock is taken by
 *    the batch's first input and held until the batch ends: one lock
 *    round trip per batch, not per frame.  A writer announces itself in
 *    @writers before it waits; a holder looks at @writers (a plain load)
 *    at the start of each outer input and, seeing one, flushes what it
 *    owes the ports and lets go, and takes the lock per input for the
 *    rest of its batch.  So a port removal waits for at most one input
 *    of each holder, or the end of its batch, whichever comes first.  A
 *    thread that holds the lock and changes ports itself lets go first.
 *    A run (ovb_vswitch_input_run) is one input: the lock is held across
 *    all of its frames.
 *  - The FDB (vswitch_fdb.c) is looked up without locks; learning a new or
 *    moved MAC takes its mutex.  Lock order: ports_lock, then the FDB's.
 *  - Counters are relaxed atomics: exact totals, no ordering.  Inside a
 *    batch, the frames that take the batch's remembered forward are
 *    tallied on the thread and added to the two ports' counters once:
 *    when the forward changes and when the batch ends (a port removed
 *    and added again meanwhile, seen by its generation, gets none).  A
 *    reader sees them once the batch that carried them has ended.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/offload_priv.h"
#include "net/vswitch_fdb.h"
#include "net/vswitch_impl.h"
#include "net/vswitch_priv.h"
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
static __thread struct {
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
	 * (locking contract above).  @nohold: a writer was seen; the rest of
	 * the batch locks per input.  @inputs: inputs running on the thread
	 * (a transmit callback's nested input makes 2); only an outer one
	 * may let the hold go.
	 */
	bool held, nohold;
	unsigned int inputs;
} vsw_batch;

_Static_assert(OVB_VSWITCH_MAX_PORTS <= 64, "touched is one u64");

static void vsw_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void vsw_view_free(struct vsw_view *v)
{
	if (v->buf) /* mostly none: four calls of free(NULL) cost 4 ns */
		free(v->buf);
}

/* The frame with its out-of-band VLAN tag inserted. */
static struct vsw_view *vsw_view_tagged(struct vsw_xmit *x)
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
static struct vsw_view *vsw_view_csum(struct vsw_xmit *x, int tagged,
				      const uint8_t *f, size_t len,
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
static const uint8_t *vsw_frame(struct vsw_xmit *x)
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

static int vsw_tx_count(struct vsw_port *p, int rc, size_t len)
{
	if (p->flush)
		vsw_batch.touched |= 1ull << p->idx;
	if (rc < 0) {
		vsw_add(&p->tx_drops, 1);
		return 0;
	}
	if (vsw_batch.defer && p->idx == vsw_batch.out &&
	    p->gen == vsw_batch.out_gen) {
		/* The remembered forward's port: counted by vsw_fold. */
		vsw_batch.tx_n++;
		vsw_batch.tx_b += len;
		return 1;
	}
	vsw_add(&p->tx_packets, 1);
	vsw_add(&p->tx_bytes, len);
	return 1;
}

static int vsw_tx(struct vsw_port *p, const void *f, size_t len,
		  const struct ovb_net_meta *m)
{
	return vsw_tx_count(p, p->tx(p->ctx, f, len, m), len);
}

struct vsw_seg_ctx {
	struct vsw_port *port;
	struct ovb_net_meta meta;
	int delivered;
};

static int vsw_seg_cb(void *ctx, const void *seg, size_t len)
{
	struct vsw_seg_ctx *c = ctx;

	c->delivered |= vsw_tx(c->port, seg, len, &c->meta);
	return 0;
}

/* Segment a TSO frame for a port without TSO; each segment is complete. */
static int vsw_deliver_segments(struct vsw_port *p, const uint8_t *f,
				size_t len, const struct ovb_net_meta *m)
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
static uint32_t vsw_need(const struct ovb_net_meta *m)
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
static int vsw_deliver(struct vsw_port *p, struct vsw_xmit *x)
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

/* Forward one input; *@found is the unicast destination's port, if known. */
static int vsw_forward(struct ovb_vswitch *sw, unsigned int in,
		       struct vsw_xmit *x, uint64_t now, unsigned int *found)
{
	const uint8_t *f = x->head;
	unsigned int out;
	int n = 0;

	*found = UINT32_MAX;
	if (!(f[0] & 1) &&
	    !ovb__vswitch_fdb_lookup(&sw->fdb, ovb__vswitch_fdb_mac(f), now,
				     &out) &&
	    sw->ports[out].used) {
		*found = out;
		if (out == in)
			return 0; /* the destination is behind @in */
		return vsw_deliver(&sw->ports[out], x);
	}
	vsw_add(&sw->ports[in].floods, 1);
	for (unsigned int i = 0; i < OVB_VSWITCH_MAX_PORTS; i++)
		if (i != in && sw->ports[i].used)
			n += vsw_deliver(&sw->ports[i], x);
	return n;
}

/*
 * Add what the batch's remembered forward owes to its two ports' counters
 * and clear it; ports_lock read-held.  A port removed (and perhaps added
 * again) since it was remembered gets nothing: its counters restarted.
 */
static void vsw_fold(struct ovb_vswitch *sw)
{
	struct vsw_port *p;

	if (vsw_batch.rx_n) {
		p = &sw->ports[vsw_batch.in];
		if (p->used && p->gen == vsw_batch.in_gen) {
			vsw_add(&p->rx_packets, vsw_batch.rx_n);
			vsw_add(&p->rx_bytes, vsw_batch.rx_b);
		}
	}
	if (vsw_batch.tx_n) {
		p = &sw->ports[vsw_batch.out];
		if (p->used && p->gen == vsw_batch.out_gen) {
			vsw_add(&p->tx_packets, vsw_batch.tx_n);
			vsw_add(&p->tx_bytes, vsw_batch.tx_b);
		}
	}
	vsw_batch.rx_n = vsw_batch.rx_b = vsw_batch.tx_n = vsw_batch.tx_b = 0;
}

/* Flush the ports this thread delivered to; ports_lock read-held. */
static void vsw_flush(struct ovb_vswitch *sw)
{
	uint64_t t = vsw_batch.touched;

	vsw_batch.touched = 0;
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
static void vsw_release(struct ovb_vswitch *sw)
{
	if (!vsw_batch.held)
		return;
	vsw_fold(sw);
	vsw_flush(sw);
	vsw_batch.held = false;
	pthread_rwlock_unlock(&sw->ports_lock);
}

/* Read-lock ports_lock for one input (locking contract at the top). */
static void vsw_lock(struct ovb_vswitch *sw)
{
	bool batch = vsw_batch.depth && vsw_batch.sw == sw;

	if (vsw_batch.held && batch) {
		/* Pairs with vsw_wrlock's increment: seen by the next input. */
		if (vsw_batch.inputs ||
		    !__atomic_load_n(&sw->writers, __ATOMIC_RELAXED))
			return;
		vsw_release(sw);
		vsw_batch.nohold = true;
	}
	pthread_rwlock_rdlock(&sw->ports_lock);
	if (batch && !vsw_batch.nohold && !vsw_batch.inputs && !vsw_batch.held) {
		if (!__atomic_load_n(&sw->writers, __ATOMIC_RELAXED))
			vsw_batch.held = true;
		else
			vsw_batch.nohold = true;
	}
}

static void vsw_unlock(struct ovb_vswitch *sw)
{
	if (!vsw_batch.held || vsw_batch.sw != sw)
		pthread_rwlock_unlock(&sw->ports_lock);
}

/*
 * Write-lock ports_lock for a port change: a hold of this thread's batch
 * goes first (it would wait for itself), and holders elsewhere see
 * @writers and let go at their next input.
 */
void ovb__vswitch_wrlock(struct ovb_vswitch *sw)
{
	if (vsw_batch.held && vsw_batch.sw == sw && !vsw_batch.inputs) {
		vsw_release(sw);
		vsw_batch.nohold = true;
	}
	__atomic_fetch_add(&sw->writers, 1, __ATOMIC_SEQ_CST);
	pthread_rwlock_wrlock(&sw->ports_lock);
}

void ovb__vswitch_wrunlock(struct ovb_vswitch *sw)
{
	pthread_rwlock_unlock(&sw->ports_lock);
	__atomic_fetch_sub(&sw->writers, 1, __ATOMIC_RELAXED);
}

bool ovb__vswitch_held(const struct ovb_vswitch *sw)
{
	return vsw_batch.held && vsw_batch.sw == sw;
}

void ovb_vswitch_batch_begin(struct ovb_vswitch *sw)
{
	if (!sw)
		return;
	if (!vsw_batch.depth++) {
		vsw_batch.sw = sw;
		vsw_batch.nohold = false;
		vsw_batch.gen = 0;
		vsw_batch.rx_n = vsw_batch.rx_b = 0;
		vsw_batch.tx_n = vsw_batch.tx_b = 0;
	}
}

void ovb_vswitch_batch_end(struct ovb_vswitch *sw)
{
	if (!sw || !vsw_batch.depth || --vsw_batch.depth)
		return;
	if (vsw_batch.held && vsw_batch.sw == sw) {
		vsw_release(sw);
	} else if ((vsw_batch.touched || vsw_batch.rx_n || vsw_batch.tx_n) &&
		   vsw_batch.sw == sw) {
		pthread_rwlock_rdlock(&sw->ports_lock);
		vsw_fold(sw);
		vsw_flush(sw);
		pthread_rwlock_unlock(&sw->ports_lock);
	}
	vsw_batch.touched = 0;
	vsw_batch.sw = NULL;
	vsw_batch.gen = 0;
}

/*
 * A frame that takes the batch's remembered forward: counted on the
 * thread, added by vsw_fold.  A port's transmit callback may input again
 * and change what is remembered: vsw_tx_count then counts in the port.
 */
static int vsw_remembered(struct ovb_vswitch *sw, unsigned int port,
			  struct vsw_xmit *x)
{
	int n;

	vsw_batch.rx_n++;
	vsw_batch.rx_b += x->len;
	if (vsw_batch.out == port)
		return 0; /* the destination is behind @port */
	vsw_batch.defer = true;
	n = vsw_deliver(&sw->ports[vsw_batch.out], x);
	vsw_batch.defer = false;
	return n;
}

/* One input, whole (x->frame) or in two pieces (x->hdr, x->rest). */
static int vsw_input_one(struct ovb_vswitch *sw, unsigned int port,
			 struct vsw_xmit *x, size_t head_len)
{
	const uint8_t *f = x->head;
	struct vsw_port *in;
	unsigned int out;
	uint64_t now;
	int n;

	if (!sw || port >= OVB_VSWITCH_MAX_PORTS)
		return -ENODEV;
	/*
	 * Only what is read before a view is built: zeroing the whole
	 * struct (three views with their metadata) per frame was a
	 * `rep stos` taking 5 % of a 64-byte guest->host run.
	 */
	x->tagged.built = x->csum[0].built = x->csum[1].built = false;
	x->joined.built = false;
	x->tagged.buf = x->csum[0].buf = x->csum[1].buf = NULL;
	x->joined.buf = NULL;
	vsw_lock(sw);
	in = &sw->ports[port];
	if (!in->used) {
		vsw_unlock(sw);
		return -ENODEV;
	}
	if (!f || head_len < 14 || (f[6] & 1) ||
	    ovb__vswitch_fdb_mac(f + 6) == 0) {
		vsw_add(&in->rx_packets, 1);
		vsw_add(&in->rx_bytes, x->len);
		vsw_add(&in->rx_drops, 1);
		vsw_unlock(sw);
		return -EBADMSG;
	}
	vsw_batch.inputs++;
	if (vsw_batch.depth && vsw_batch.sw == sw) {
		/* Batching here: the batch's last forward may hold. */
		uint64_t src = ovb__vswitch_fdb_mac(f + 6);
		uint64_t dst = ovb__vswitch_fdb_mac(f);
		uint64_t gen = ovb__vswitch_fdb_gen(&sw->fdb) | 1ull << 63;

		if (vsw_batch.gen == gen && vsw_batch.src == src &&
		    vsw_batch.dst == dst && vsw_batch.in == port &&
		    in->gen == vsw_batch.in_gen &&
		    sw->ports[vsw_batch.out].used &&
		    sw->ports[vsw_batch.out].gen == vsw_batch.out_gen) {
			n = vsw_remembered(sw, port, x);
		} else {
			vsw_fold(sw);
			vsw_add(&in->rx_packets, 1);
			vsw_add(&in->rx_bytes, x->len);
			now = sw->clock(sw->clock_ctx);
			ovb__vswitch_fdb_learn(&sw->fdb, src, port, now);
			n = vsw_forward(sw, port, x, now, &out);
			vsw_fold(sw); /* what a nested input tallied */
			vsw_batch.gen = out == UINT32_MAX ? 0 : gen;
			vsw_batch.src = src;
			vsw_batch.dst = dst;
			vsw_batch.in = port;
			vsw_batch.out = out;
			vsw_batch.in_gen = in->gen;
			if (out != UINT32_MAX)
				vsw_batch.out_gen = sw->ports[out].gen;
		}
	} else {
		/* Alone, or batching on another switch: this input stands alone. */
		uint64_t owed = vsw_batch.touched;

		vsw_add(&in->rx_packets, 1);
		vsw_add(&in->rx_bytes, x->len);
		now = sw->clock(sw->clock_ctx);
		ovb__vswitch_fdb_learn(&sw->fdb, ovb__vswitch_fdb_mac(f + 6),
				       port, now);
		vsw_batch.touched = 0;
		n = vsw_forward(sw, port, x, now, &out);
		vsw_flush(sw);
		vsw_batch.touched = owed;
	}
	vsw_batch.inputs--;
	vsw_unlock(sw);
	vsw_view_free(&x->joined);
	vsw_view_free(&x->tagged);
	vsw_view_free(&x->csum[0]);
	vsw_view_free(&x->csum[1]);
	return n;
}

static int vsw_input(struct ovb_vswitch *sw, unsigned int port,
		     struct vsw_xmit *x, size_t head_len)
{
	bool outer = vsw_batch.defer;
	int n;

	vsw_batch.defer = false; /* a nested input counts for itself */
	n = vsw_input_one(sw, port, x, head_len);
	vsw_batch.defer = outer;
	return n;
}

int ovb_vswitch_input(struct ovb_vswitch *sw, unsigned int port,
		      const void *frame, size_t len,
		      const struct ovb_net_meta *meta)
{
	static const struct ovb_net_meta plain;
	struct vsw_xmit x;

	x.frame = x.head = frame;
	x.len = len;
	x.meta = meta ? meta : &plain;
	x.hdr = NULL;
	return vsw_input(sw, port, &x, len);
}

int ovb_vswitch_input_split(struct ovb_vswitch *sw, unsigned int port,
			    const void *hdr, size_t hlen, const void *rest,
			    size_t rest_len, const struct ovb_net_meta *meta)
{
	static const struct ovb_net_meta plain;
	struct vsw_xmit x;

	if (!rest && rest_len)
		return -EINVAL;
	x.frame = NULL;
	x.head = x.hdr = hdr;
	x.hlen = hlen;
	x.rest = rest;
	x.len = hlen + rest_len;
	x.meta = meta ? meta : &plain;
	return vsw_input(sw, port, &x, hlen);
}

/*
 * Runs (ovb_vswitch_input_run): the frames of one forward go to a port in
 * one call when it has a run callback, one by one otherwise.
 */

/* One frame of a run through the frame-at-a-time path (fallbacks). */
static int vsw_deliver_single(struct vsw_port *p,
			      const struct ovb_vswitch_frame *fr)
{
	struct vsw_xmit x;
	int n;

	x.frame = x.head = fr->frame;
	x.len = fr->len;
	x.meta = fr->meta;
	x.hdr = NULL;
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
		vsw_batch.touched |= 1ull << p->idx;
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
	bool outer = vsw_batch.defer, batch;
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
	vsw_batch.defer = false; /* counted here, not by a remembered path */
	vsw_lock(sw);
	in = &sw->ports[port];
	if (!in->used) {
		vsw_unlock(sw);
		vsw_batch.defer = outer;
		return -ENODEV;
	}
	vsw_batch.inputs++;
	batch = vsw_batch.depth && vsw_batch.sw == sw;
	if (batch) {
		vsw_fold(sw);
	} else {
		owed = vsw_batch.touched;
		vsw_batch.touched = 0;
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
		vsw_batch.touched = owed;
	}
	vsw_batch.inputs--;
	vsw_unlock(sw);
	vsw_batch.defer = outer;
	if (res)
		memcpy(res, cnt, n * sizeof(*res));
	return taken;
}
