// SPDX-License-Identifier: MIT
/*
 * VMBus ring buffer: packet framing and the signalling contract, as one
 * writer or one reader of a ring that lives in memory shared with a peer we
 * do not trust.  Layer: core.  Implements include/openvmbus/ring.h after
 * docs/wire.md B5 (control page, signalling rules) and B6 (descriptor and
 * trailer).
 *
 * Layout of a packet in the data area, starting at an 8-aligned offset and
 * wrapping round the end of the area as needed:
 *
 *	[ caller's bytes (descriptor first) | zeros to 8 | trailer (8) ]
 *
 * The trailer's upper 32 bits hold the offset the packet started at.
 *
 * Each role keeps private copies of its own index while it works and
 * reloads (and re-validates) it from the control page when a batch starts,
 * so a ring set up by someone else, or scribbled on by the peer, is read
 * from wherever its control page says.  Nothing read from shared memory is
 * used as an offset before it passed a range check.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "openvmbus/log.h"
#include "openvmbus/ring.h"

#define RING_MAX_SIZE (1u << 30)

/*
 * A control-page word for the atomic builtins.  The wire struct is packed,
 * but the page it lives on is page-aligned, so each u32 field is naturally
 * aligned; going through void * tells the compiler so.
 */
#define CTL(r, field) ((uint32_t *)(void *)&(r)->ctl->field)
#define RING_DESC_SIZE ((uint32_t)sizeof(struct vmpacket_descriptor))

/* Bytes from offset @from forward to offset @to, going round the ring. */
static uint32_t ring_dist(const struct ovb_ring *r, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : r->size - from + to;
}

/* Offset @n bytes after @off; both below size, so one lap at most. */
static uint32_t ring_advance(const struct ovb_ring *r, uint32_t off,
			     uint32_t n)
{
	uint32_t rest = r->size - off;

	return n < rest ? off + n : n - rest;
}

static bool ring_index_ok(const struct ovb_ring *r, uint32_t idx)
{
	return idx % 8 == 0 && idx < r->size;
}

/* Validate an index read from the control page; log the bad value. */
static int ring_check_index(const struct ovb_ring *r, const char *what,
			    uint32_t idx)
{
	if (idx % 8 != 0) {
		ovb_peer("%s: %s %u not a multiple of 8 (size %u)", r->name,
			 what, idx, r->size);
		return -EBADMSG;
	}
	if (idx >= r->size) {
		ovb_peer("%s: %s %u beyond the data area (size %u)", r->name,
			 what, idx, r->size);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Paged data area: copy @n (< size) bytes at @off page by page, into the
 * ring from @buf when @in, else out of it into @buf.  @in is a constant at
 * each call site, so each direction compiles to its own copy loop.
 */
static inline __attribute__((always_inline)) uint32_t
ring_paged_copy(const struct ovb_ring *r, uint32_t off, uint8_t *buf,
		size_t n, bool in)
{
	uint32_t po = off % HV_PAGE_SIZE;

	/* Most pieces (descriptor, padding, trailer, small packets) stay
	 * inside one page: one copy, its size known where it is constant. */
	if (n < HV_PAGE_SIZE - po) {
		uint8_t *p = r->pages[off / HV_PAGE_SIZE] + po;

		memcpy(in ? p : buf, in ? buf : p, n);
		return off + (uint32_t)n;
	}
	while (n) {
		uint32_t chunk;
		uint8_t *p;

		po = off % HV_PAGE_SIZE;
		chunk = HV_PAGE_SIZE - po;
		if (chunk > n)
			chunk = (uint32_t)n;
		p = r->pages[off / HV_PAGE_SIZE] + po;
		memcpy(in ? p : buf, in ? buf : p, chunk);
		buf += chunk;
		n -= chunk;
		off += chunk;
		if (off == r->size)
			off = 0;
	}
	return off;
}

/*
 * Copy @n (< size) bytes into the data area at @off; return the end.
 * @paged is a constant at each call site: the caller tests r->pages once
 * per packet, so the contiguous path carries no extra test per copy.
 */
static inline __attribute__((always_inline)) uint32_t
ring_copy_in(struct ovb_ring *r, uint32_t off, const void *src, size_t n,
	     bool paged)
{
	const uint8_t *s = src;
	uint32_t first = r->size - off;

	if (paged)
		return ring_paged_copy(r, off, (uint8_t *)s, n, true);
	if (n == 0)
		return off;
	if (n < first) {
		memcpy(r->data + off, s, n);
		return off + (uint32_t)n;
	}
	memcpy(r->data + off, s, first);
	memcpy(r->data, s + first, n - first);
	return (uint32_t)(n - first);
}

/* Copy @n (< size) bytes out of the data area at @off; as ring_copy_in. */
static inline __attribute__((always_inline)) uint32_t
ring_copy_out(const struct ovb_ring *r, uint32_t off, void *dst, size_t n,
	      bool paged)
{
	uint8_t *d = dst;
	uint32_t first = r->size - off;

	if (paged)
		return ring_paged_copy(r, off, d, n, false);
	if (n == 0)
		return off;
	if (n < first) {
		memcpy(d, r->data + off, n);
		return off + (uint32_t)n;
	}
	memcpy(d, r->data + off, first);
	memcpy(d + first, r->data, n - first);
	return (uint32_t)(n - first);
}

int ovb_ring_attach(struct ovb_ring *r, void *ctl, void *data, uint32_t size,
		    const char *name)
{
	if (!r || !ctl || !data || size == 0 || size % HV_PAGE_SIZE != 0 ||
	    size > RING_MAX_SIZE)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->ctl = ctl;
	r->data = data;
	r->size = size;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ring");
	return 0;
}

int ovb_ring_attach_pages(struct ovb_ring *r, void *ctl,
			  uint8_t *const *pages, uint32_t size,
			  const char *name)
{
	/* Attach as contiguous for the checks, then switch to pages. */
	if (!pages || ovb_ring_attach(r, ctl, (void *)pages, size, name))
		return -EINVAL;
	for (uint32_t i = 0; i < size / HV_PAGE_SIZE; i++)
		if (!pages[i])
			return -EINVAL;
	r->data = NULL;
	r->pages = pages;
	return 0;
}

void ovb_ring_init_control(struct ovb_ring *r)
{
	memset(r->ctl, 0, sizeof(*r->ctl));
	r->ctl->feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ;
	r->priv_write = r->batch_start = 0;
	r->priv_read = r->read_start = 0;
	r->in_batch = false;
}

void ovb_ring_advertise(struct ovb_ring *r)
{
	/* Relaxed: the peer is told the ring is usable by a message sent
	 * after this (OPENCHANNEL_RESULT), which orders it. */
	__atomic_fetch_or(CTL(r, feature_bits),
			  VMBUS_RING_FEAT_PENDING_SEND_SZ, __ATOMIC_RELAXED);
}

/* ---- writer ------------------------------------------------------------ */

uint32_t ovb_ring_packet_space(size_t len)
{
	if (len > RING_MAX_SIZE)
		return UINT32_MAX;
	return (uint32_t)((len + 7) & ~(size_t)7) + VMBUS_PKT_TRAILER_SIZE;
}

int ovb_ring_write_begin(struct ovb_ring *r)
{
	uint32_t wr;
	int rc;

	if (r->in_batch)
		return -EINVAL;
	/* Relaxed: only we store write_index; the peer may scribble on it,
	 * which the check below catches. */
	wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_RELAXED);
	if ((rc = ring_check_index(r, "write_index", wr)) != 0)
		return rc;
	r->batch_start = r->priv_write = wr;
	r->in_batch = true;
	return 0;
}

/* Sum of the iovec lengths, or -EMSGSIZE past any ring's size. */
static ssize_t ring_iov_len(const struct ovb_ring *r, const struct iovec *iov,
			    int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > r->size)
			return -EMSGSIZE;
		len += iov[i].iov_len;
		if (len > r->size)
			return -EMSGSIZE;
	}
	return (ssize_t)len;
}

/* The packet's bytes, padding and trailer from @off; returns the end. */
static inline __attribute__((always_inline)) uint32_t
ring_stage(struct ovb_ring *r, uint32_t off, const struct iovec *iov,
	   int iovcnt, uint32_t pad, uint64_t trailer, bool paged)
{
	static const uint8_t zeros[8];

	for (int i = 0; i < iovcnt; i++)
		off = ring_copy_in(r, off, iov[i].iov_base, iov[i].iov_len,
				   paged);
	off = ring_copy_in(r, off, zeros, pad, paged);
	return ring_copy_in(r, off, &trailer, sizeof(trailer), paged);
}

int ovb_ring_write_packet(struct ovb_ring *r, const struct iovec *iov,
			  int iovcnt)
{
	uint32_t space, rd, start;
	uint64_t trailer;
	ssize_t len;
	int rc;

	if (!r->in_batch || iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	if ((len = ring_iov_len(r, iov, iovcnt)) < 0)
		return (int)len;
	if ((size_t)len < RING_DESC_SIZE)
		return -EINVAL;
	space = ovb_ring_packet_space((size_t)len);
	if (space > r->size - 8)
		return -EMSGSIZE;

	/* Acquire: pairs with the release store of read_index in
	 * ovb_ring_read_commit(), so the reader's copies out of the space we
	 * are about to reuse are complete before we overwrite it. */
	rd = __atomic_load_n(CTL(r, read_index), __ATOMIC_ACQUIRE);
	if ((rc = ring_check_index(r, "read_index", rd)) != 0)
		return rc;
	/* Fits only when strictly smaller than the free space: a full ring
	 * would look empty (write_index == read_index). */
	if (space >= r->size - ring_dist(r, rd, r->priv_write))
		return -EAGAIN;

	start = r->priv_write;
	trailer = (uint64_t)start << 32;
	if (__builtin_expect(r->pages != NULL, 0))
		r->priv_write = ring_stage(r, start, iov, iovcnt,
					   space - 8 - (uint32_t)len, trailer,
					   true);
	else
		r->priv_write = ring_stage(r, start, iov, iovcnt,
					   space - 8 - (uint32_t)len, trailer,
					   false);
	return 0;
}

bool ovb_ring_write_commit(struct ovb_ring *r)
{
	uint32_t mask, rd;

	if (!r->in_batch)
		return false;
	r->in_batch = false;
	if (r->priv_write == r->batch_start)
		return false;

	/* Release: pairs with the acquire load of write_index in
	 * ovb_ring_read(); the packet bytes are visible before the index
	 * that covers them. */
	__atomic_store_n(CTL(r, write_index), r->priv_write, __ATOMIC_RELEASE);
	/* Full barrier: the write_index store above must be globally visible
	 * before we look at interrupt_mask and read_index.  Pairs with the
	 * fence in ovb_ring_unmask_interrupts() (reader: store mask 0, fence,
	 * load write_index): either the reader sees our packets on its
	 * re-check, or we see its cleared mask and its final read_index
	 * here and signal. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mask = __atomic_load_n(CTL(r, interrupt_mask), __ATOMIC_RELAXED);
	rd = __atomic_load_n(CTL(r, read_index), __ATOMIC_RELAXED);
	return mask == 0 && rd == r->batch_start;
}

int ovb_ring_write(struct ovb_ring *r, const struct iovec *iov, int iovcnt,
		   bool *signal)
{
	bool sig;
	int rc;

	if (signal)
		*signal = false;
	if ((rc = ovb_ring_write_begin(r)) != 0)
		return rc;
	if ((rc = ovb_ring_write_packet(r, iov, iovcnt)) != 0) {
		r->in_batch = false; /* nothing was staged: drop the batch */
		return rc;
	}
	sig = ovb_ring_write_commit(r);
	if (signal)
		*signal = sig;
	return 0;
}

/* Raw free bytes (8 reserved included), or 0 if an index is corrupt. */
static uint32_t ring_free(const struct ovb_ring *r)
{
	uint32_t wr, rd;

	wr = r->in_batch ? r->priv_write
			 : __atomic_load_n(CTL(r, write_index),
					   __ATOMIC_RELAXED);
	/* Acquire: as in ovb_ring_write_packet(). */
	rd = __atomic_load_n(CTL(r, read_index), __ATOMIC_ACQUIRE);
	if (!ring_index_ok(r, wr) || !ring_index_ok(r, rd))
		return 0;
	return r->size - ring_dist(r, rd, wr);
}

uint32_t ovb_ring_write_avail(const struct ovb_ring *r)
{
	uint32_t free = ring_free(r);

	return free ? free - 8 : 0;
}

bool ovb_ring_set_pending_send(struct ovb_ring *r, uint32_t need)
{
	/* Round up to 8 as the reader masks the low 3 bits away. */
	need = need > UINT32_MAX - 7 ? UINT32_MAX & ~7u : (need + 7) & ~7u;
	__atomic_store_n(CTL(r, pending_send_sz), need, __ATOMIC_RELAXED);
	if (need == 0)
		return true;
	/* Full barrier: pending_send_sz must be visible before we re-read
	 * read_index.  Pairs with the fence in ovb_ring_read_commit()
	 * (reader: store read_index, fence, load pending_send_sz): either
	 * the reader sees our request and signals on the crossing, or we
	 * see the space it freed here. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* The same test as the reader's: a packet of @need bytes fits. */
	return ring_free(r) > need;
}

/* ---- reader ------------------------------------------------------------ */

/* Where the reader stands: its private offset, or read_index between
 * batches (0 if that is corrupt, which the next read reports). */
static uint32_t ring_read_pos(const struct ovb_ring *r)
{
	uint32_t rd;

	if (r->priv_read != r->read_start)
		return r->priv_read;
	rd = __atomic_load_n(CTL(r, read_index), __ATOMIC_RELAXED);
	return rd;
}

/* At the start of a read batch, take read_index from the control page. */
static int ring_read_sync(struct ovb_ring *r)
{
	uint32_t rd;
	int rc;

	if (r->priv_read != r->read_start)
		return 0;
	/* Relaxed: only we store read_index. */
	rd = __atomic_load_n(CTL(r, read_index), __ATOMIC_RELAXED);
	if ((rc = ring_check_index(r, "read_index", rd)) != 0)
		return rc;
	r->priv_read = r->read_start = rd;
	return 0;
}

/* Check a descriptor found at @at with @avail bytes written from there. */
static int ring_check_desc(const struct ovb_ring *r, uint32_t at,
			   const struct vmpacket_descriptor *d, uint32_t avail)
{
	uint32_t len = d->len8 * 8u, off = d->offset8 * 8u;

	if (len < RING_DESC_SIZE) {
		ovb_peer("%s: packet at %u: len8 %u shorter than a descriptor",
			 r->name, at, d->len8);
		return -EBADMSG;
	}
	if (off < RING_DESC_SIZE || off > len) {
		ovb_peer("%s: packet at %u: offset8 %u outside 2..len8 %u",
			 r->name, at, d->offset8, d->len8);
		return -EBADMSG;
	}
	if (len + VMBUS_PKT_TRAILER_SIZE > avail) {
		ovb_peer("%s: packet at %u: len8 %u plus trailer exceeds the "
			 "%u bytes written",
			 r->name, at, d->len8, avail);
		return -EBADMSG;
	}
	return 0;
}

/*
 * ovb_ring_read() and ovb_ring_read_type() in one body, inlined into both
 * so that the plain read (every drain's) keeps no type test at all.
 */
static inline __attribute__((always_inline)) ssize_t
ring_read(struct ovb_ring *r, void *buf, size_t buflen, int type)
{
	struct vmpacket_descriptor desc;
	uint32_t wr, avail, len, end;
	bool paged;
	int rc;

	if ((rc = ring_read_sync(r)) != 0)
		return rc;
	/* Acquire: pairs with the release store of write_index in
	 * ovb_ring_write_commit(); packet bytes below it are visible. */
	wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_ACQUIRE);
	if ((rc = ring_check_index(r, "write_index", wr)) != 0)
		return rc;
	avail = ring_dist(r, r->priv_read, wr);
	if (avail == 0)
		return -EAGAIN;
	if (avail < RING_DESC_SIZE + VMBUS_PKT_TRAILER_SIZE) {
		ovb_peer("%s: write_index %u leaves %u bytes at %u, less than "
			 "a packet",
			 r->name, wr, avail, r->priv_read);
		return -EBADMSG;
	}
	paged = r->pages != NULL;
	if (__builtin_expect(paged, 0))
		ring_copy_out(r, r->priv_read, &desc, sizeof(desc), true);
	else
		ring_copy_out(r, r->priv_read, &desc, sizeof(desc), false);
	if ((rc = ring_check_desc(r, r->priv_read, &desc, avail)) != 0)
		return rc;
	if (type >= 0 && desc.type != type)
		return -ENOMSG; /* left where it is, for the next read */
	len = desc.len8 * 8u;
	if (buflen < len)
		return -EMSGSIZE;
	if (__builtin_expect(paged, 0))
		end = ring_copy_out(r, r->priv_read, buf, len, true);
	else
		end = ring_copy_out(r, r->priv_read, buf, len, false);
	/* The peer may have rewritten the descriptor since we checked it:
	 * hand out the checked one. */
	memcpy(buf, &desc, sizeof(desc));
	r->priv_read = ring_advance(r, end, VMBUS_PKT_TRAILER_SIZE);
	return len;
}

ssize_t ovb_ring_read(struct ovb_ring *r, void *buf, size_t buflen)
{
	return ring_read(r, buf, buflen, -1);
}

ssize_t ovb_ring_read_type(struct ovb_ring *r, void *buf, size_t buflen,
			   int type)
{
	return ring_read(r, buf, buflen, type);
}

bool ovb_ring_read_commit(struct ovb_ring *r)
{
	uint32_t pending, feat, wr, free_before, free_now;
	bool signal = false;

	if (r->priv_read == r->read_start)
		return false;
	/* Release: pairs with the acquire load of read_index in
	 * ovb_ring_write_packet(); our copies out are done before the
	 * writer may reuse the space. */
	__atomic_store_n(CTL(r, read_index), r->priv_read, __ATOMIC_RELEASE);
	/* Full barrier: read_index must be visible before we read
	 * pending_send_sz.  Pairs with the fence in
	 * ovb_ring_set_pending_send() (writer: store pending_send_sz, fence,
	 * load read_index). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pending = __atomic_load_n(CTL(r, pending_send_sz), __ATOMIC_RELAXED);
	/* Some peers write "size - 1": only whole 8-byte units count. */
	pending &= ~7u;
	feat = __atomic_load_n(CTL(r, feature_bits), __ATOMIC_RELAXED);
	if (pending != 0 && (feat & VMBUS_RING_FEAT_PENDING_SEND_SZ)) {
		wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_RELAXED);
		if (ring_check_index(r, "write_index", wr) == 0) {
			free_now = r->size - ring_dist(r, r->priv_read, wr);
			free_before = r->size - ring_dist(r, r->read_start, wr);
			/* Signal once, on the batch that crosses. */
			signal = free_before <= pending && free_now > pending;
		}
	}
	r->read_start = r->priv_read;
	return signal;
}

uint32_t ovb_ring_read_avail(const struct ovb_ring *r)
{
	uint32_t pos = ring_read_pos(r), wr;

	/* Acquire: as in ovb_ring_read(). */
	wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_ACQUIRE);
	if (!ring_index_ok(r, wr) || !ring_index_ok(r, pos))
		return 0;
	return ring_dist(r, pos, wr);
}

bool ovb_ring_peek(const struct ovb_ring *r)
{
	/* Acquire on write_index: as in ovb_ring_read(), so a caller that
	 * goes on to read finds the packet bytes. */
	uint32_t wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_ACQUIRE);

	return wr != __atomic_load_n(CTL(r, read_index), __ATOMIC_RELAXED);
}

bool ovb_ring_masked(const struct ovb_ring *r)
{
	return __atomic_load_n(CTL(r, interrupt_mask), __ATOMIC_RELAXED) != 0;
}

void ovb_ring_mask_interrupts(struct ovb_ring *r)
{
	__atomic_store_n(CTL(r, interrupt_mask), 1, __ATOMIC_RELAXED);
	/* Full barrier: publish the mask before we look at the ring, so the
	 * writer stops signalling as early as possible.  Not needed for
	 * correctness (a late mask costs one spare signal); pairs with the
	 * fence in ovb_ring_write_commit(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool ovb_ring_unmask_interrupts(struct ovb_ring *r)
{
	uint32_t wr;

	__atomic_store_n(CTL(r, interrupt_mask), 0, __ATOMIC_RELAXED);
	/* Full barrier: the cleared mask must be visible before we re-read
	 * write_index.  Pairs with the fence in ovb_ring_write_commit()
	 * (writer: store write_index, fence, load mask): either the writer
	 * sees the mask clear and signals, or we see its packets here. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr = __atomic_load_n(CTL(r, write_index), __ATOMIC_ACQUIRE);
	return wr != ring_read_pos(r);
}
