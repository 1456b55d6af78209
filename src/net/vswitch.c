// SPDX-License-Identifier: MIT
/*
 * The learning L2 virtual switch: inputs one frame at a time (whole or in
 * two pieces), forwarding by the MAC forwarding database with flooding,
 * and the thread's batches.  Layer: devices.  Behaviour: IEEE 802.1D
 * transparent bridging without spanning tree.  The other parts:
 * vswitch_xmit.h (the per-frame path every input shares: the batch's
 * state, ports_lock for one input, delivery to a port with the software
 * offload fallbacks for receivers that lack checksum, TSO or VLAN
 * offload), vswitch_run.c (runs of frames), vswitch_port.c (ports, their
 * counters, life cycle), vswitch_fdb.c (the MAC table and its aging).
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
#include <stdint.h>

#include "net/vswitch_fdb.h"
#include "net/vswitch_impl.h"
#include "net/vswitch_priv.h"
#include "net/vswitch_xmit.h"
#include "openvmbus/vswitch.h"

__thread struct vsw_batch vsw__batch VSW_TLS;

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
 * Write-lock ports_lock for a port change: a hold of this thread's batch
 * goes first (it would wait for itself), and holders elsewhere see
 * @writers and let go at their next input.
 */
void ovb__vswitch_wrlock(struct ovb_vswitch *sw)
{
	if (vsw__batch.held && vsw__batch.sw == sw && !vsw__batch.inputs) {
		vsw_release(sw);
		vsw__batch.nohold = true;
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
	return vsw__batch.held && vsw__batch.sw == sw;
}

void ovb_vswitch_batch_begin(struct ovb_vswitch *sw)
{
	if (!sw)
		return;
	if (!vsw__batch.depth++) {
		vsw__batch.sw = sw;
		vsw__batch.nohold = false;
		vsw__batch.gen = 0;
		vsw__batch.rx_n = vsw__batch.rx_b = 0;
		vsw__batch.tx_n = vsw__batch.tx_b = 0;
	}
}

void ovb_vswitch_batch_end(struct ovb_vswitch *sw)
{
	if (!sw || !vsw__batch.depth || --vsw__batch.depth)
		return;
	if (vsw__batch.held && vsw__batch.sw == sw) {
		vsw_release(sw);
	} else if ((vsw__batch.touched || vsw__batch.rx_n || vsw__batch.tx_n) &&
		   vsw__batch.sw == sw) {
		pthread_rwlock_rdlock(&sw->ports_lock);
		vsw_fold(sw);
		vsw_flush(sw);
		pthread_rwlock_unlock(&sw->ports_lock);
	}
	vsw__batch.touched = 0;
	vsw__batch.sw = NULL;
	vsw__batch.gen = 0;
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

	vsw__batch.rx_n++;
	vsw__batch.rx_b += x->len;
	if (vsw__batch.out == port)
		return 0; /* the destination is behind @port */
	vsw__batch.defer = true;
	n = vsw_deliver(&sw->ports[vsw__batch.out], x);
	vsw__batch.defer = false;
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
	vsw__batch.inputs++;
	if (vsw__batch.depth && vsw__batch.sw == sw) {
		/* Batching here: the batch's last forward may hold. */
		uint64_t src = ovb__vswitch_fdb_mac(f + 6);
		uint64_t dst = ovb__vswitch_fdb_mac(f);
		uint64_t gen = ovb__vswitch_fdb_gen(&sw->fdb) | 1ull << 63;

		if (vsw__batch.gen == gen && vsw__batch.src == src &&
		    vsw__batch.dst == dst && vsw__batch.in == port &&
		    in->gen == vsw__batch.in_gen &&
		    sw->ports[vsw__batch.out].used &&
		    sw->ports[vsw__batch.out].gen == vsw__batch.out_gen) {
			n = vsw_remembered(sw, port, x);
		} else {
			vsw_fold(sw);
			vsw_add(&in->rx_packets, 1);
			vsw_add(&in->rx_bytes, x->len);
			now = sw->clock(sw->clock_ctx);
			ovb__vswitch_fdb_learn(&sw->fdb, src, port, now);
			n = vsw_forward(sw, port, x, now, &out);
			vsw_fold(sw); /* what a nested input tallied */
			vsw__batch.gen = out == UINT32_MAX ? 0 : gen;
			vsw__batch.src = src;
			vsw__batch.dst = dst;
			vsw__batch.in = port;
			vsw__batch.out = out;
			vsw__batch.in_gen = in->gen;
			if (out != UINT32_MAX)
				vsw__batch.out_gen = sw->ports[out].gen;
		}
	} else {
		/* Alone, or batching on another switch: this input stands alone. */
		uint64_t owed = vsw__batch.touched;

		vsw_add(&in->rx_packets, 1);
		vsw_add(&in->rx_bytes, x->len);
		now = sw->clock(sw->clock_ctx);
		ovb__vswitch_fdb_learn(&sw->fdb, ovb__vswitch_fdb_mac(f + 6),
				       port, now);
		vsw__batch.touched = 0;
		n = vsw_forward(sw, port, x, now, &out);
		vsw_flush(sw);
		vsw__batch.touched = owed;
	}
	vsw__batch.inputs--;
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
	bool outer = vsw__batch.defer;
	int n;

	vsw__batch.defer = false; /* a nested input counts for itself */
	n = vsw_input_one(sw, port, x, head_len);
	vsw__batch.defer = outer;
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
