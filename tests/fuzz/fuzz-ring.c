// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the ring buffer (src/core/ring.c) as a hostile peer
 * sees it: the fuzz input sets up the control page (indices, mask,
 * pending_send_sz, feature bits) and the data area of a ring with 2 or 3
 * data pages, then runs a script of reads, commits, writes, mask changes
 * and peer scribbles on the control page and data.  The ring must never
 * crash, touch memory outside its two buffers (each its own allocation, so
 * ASan sees any overrun), return impossible lengths, or loop without
 * bound.
 *
 * Input layout:
 *   0      flags: bit0 3 data pages (else 2); bit1 raw indices (else
 *          reduced into range and 8-aligned, so most inputs reach the
 *          packet parser); bit2 a paged data area (each page its own
 *          allocation, attached last page first: ASan sees a copy that
 *          runs past any page)
 *   1..20  write_index, read_index, interrupt_mask, pending_send_sz,
 *          feature_bits (u32 little-endian)
 *   21..22 n: bytes of data-area content that follow (u16)
 *   ...    n bytes copied into the data area from read_index on
 *   ...    the script, one opcode byte plus operands per step
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/log.h"
#include "openvmbus/ring.h"
#include "tests/fuzz/fuzz.h"

#define MAX_STEPS 256
#define MAX_READS_PER_DRAIN 2048 /* > any packet count in 12 KiB */

/* Our own invariants: a broken one is a bug in ring.c. */
static void check_ring(const struct ovb_ring *r)
{
	if (r->priv_read >= r->size || r->priv_read % 8 ||
	    r->read_start >= r->size || r->read_start % 8)
		__builtin_trap();
	if (r->in_batch && (r->priv_write >= r->size || r->priv_write % 8))
		__builtin_trap();
	if (ovb_ring_write_avail(r) > r->size - 8 ||
	    ovb_ring_read_avail(r) >= r->size)
		__builtin_trap();
}

static void read_one(struct ovb_ring *r, size_t buflen)
{
	uint8_t *buf = malloc(buflen ? buflen : 1);
	struct vmpacket_descriptor d;
	ssize_t n;

	if (!buf)
		return;
	n = ovb_ring_read(r, buflen ? buf : NULL, buflen);
	if (n >= 0) {
		memcpy(&d, buf, sizeof(d));
		if (n < 16 || n % 8 || (size_t)n > buflen ||
		    (size_t)n > r->size - 8 || d.len8 * 8u != (size_t)n ||
		    d.offset8 * 8u < 16 || d.offset8 * 8u > (size_t)n)
			__builtin_trap();
	} else if (n != -EAGAIN && n != -EMSGSIZE && n != -EBADMSG) {
		__builtin_trap();
	}
	free(buf);
}

static void drain(struct ovb_ring *r)
{
	uint8_t buf[4096 * 3];

	for (int i = 0; i < MAX_READS_PER_DRAIN; i++) {
		if (ovb_ring_read(r, buf, sizeof(buf)) < 0)
			break;
		check_ring(r);
	}
	ovb_ring_read_commit(r);
}

/* Stage @count packets of @len bytes, in two iovec pieces each. */
static void write_batch(struct ovb_ring *r, uint32_t len, unsigned count)
{
	uint32_t wr_before;
	uint8_t *pkt;
	int rc;

	if (len < 16)
		len = 16;
	pkt = calloc(1, len);
	if (!pkt)
		return;
	((struct vmpacket_descriptor *)pkt)->type = VM_PKT_DATA_INBAND;
	((struct vmpacket_descriptor *)pkt)->offset8 = 2;
	((struct vmpacket_descriptor *)pkt)->len8 = (uint16_t)((len + 7) / 8);
	if (ovb_ring_write_begin(r) == 0) {
		wr_before = r->priv_write;
		for (unsigned i = 0; i < count; i++) {
			struct iovec iov[2] = {
				{ pkt, len / 3 },
				{ pkt + len / 3, len - len / 3 },
			};

			rc = ovb_ring_write_packet(r, iov, 2);
			if (rc != 0 && rc != -EAGAIN && rc != -EMSGSIZE &&
			    rc != -EBADMSG)
				__builtin_trap();
			if (rc != 0)
				break;
			check_ring(r);
		}
		ovb_ring_write_commit(r);
		if (r->ctl->write_index != r->priv_write &&
		    r->priv_write != wr_before)
			__builtin_trap();
	}
	free(pkt);
}

static void run_script(struct ovb_ring *r, struct fuzz_in *in)
{
	for (int step = 0; step < MAX_STEPS && in->left; step++) {
		uint8_t op = fuzz_u8(in);

		switch (op % 10) {
		case 0:
			read_one(r, fuzz_u16(in) % (r->size + 64));
			break;
		case 1:
			ovb_ring_read_commit(r);
			break;
		case 2:
			drain(r);
			break;
		case 3:
			write_batch(r, fuzz_u16(in) % (r->size + 64),
				    1 + fuzz_u8(in) % 8);
			break;
		case 4:
			ovb_ring_mask_interrupts(r);
			break;
		case 5:
			ovb_ring_unmask_interrupts(r);
			break;
		case 6:
			ovb_ring_set_pending_send(r, fuzz_u32(in));
			break;
		case 7: /* the peer moves an index or a flag under us */
			((uint32_t *)r->ctl)[fuzz_u8(in) % 4] = fuzz_u32(in);
			break;
		case 8: { /* the peer rewrites data bytes */
			uint32_t at = fuzz_u16(in) % r->size;

			if (r->pages)
				r->pages[at / 4096][at % 4096] = fuzz_u8(in);
			else
				r->data[at] = fuzz_u8(in);
			break;
		}
		default:
			r->ctl->feature_bits = fuzz_u8(in) & 1;
			break;
		}
		check_ring(r);
	}
}

static uint32_t fit_index(uint32_t v, uint32_t size, bool raw)
{
	return raw ? v : (v % size) & ~7u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct vmbus_ring_control *ctl;
	uint8_t flags = fuzz_u8(&in), *ring_data = NULL, *pages[3] = { 0 };
	uint32_t ring_size = (flags & 1) ? 3 * 4096 : 2 * 4096;
	uint32_t npages = ring_size / 4096;
	bool raw = flags & 2, paged = flags & 4;
	struct ovb_ring r;
	uint16_t n;
	int rc;

	ovb_log_set_sink(fuzz_quiet, NULL);
	ctl = calloc(1, sizeof(*ctl));
	if (paged) {
		/* Page i of the ring is allocation npages - 1 - i. */
		uint8_t *alloc[3] = { 0 };

		for (uint32_t i = 0; i < npages; i++)
			alloc[i] = calloc(1, 4096);
		for (uint32_t i = 0; i < npages; i++)
			pages[i] = alloc[npages - 1 - i];
		rc = ctl && pages[0] && pages[npages - 1] &&
		     (npages < 3 || pages[1]) ?
			     ovb_ring_attach_pages(&r, ctl, pages, ring_size,
						   "fuzz") : -ENOMEM;
	} else {
		ring_data = calloc(1, ring_size);
		rc = ctl && ring_data ? ovb_ring_attach(&r, ctl, ring_data,
							ring_size, "fuzz")
				      : -ENOMEM;
	}
	if (rc)
		goto out;

	ovb_ring_init_control(&r);
	ctl->write_index = fit_index(fuzz_u32(&in), ring_size, raw);
	ctl->read_index = fit_index(fuzz_u32(&in), ring_size, raw);
	ctl->interrupt_mask = fuzz_u32(&in);
	ctl->pending_send_sz = fuzz_u32(&in);
	ctl->feature_bits = fuzz_u32(&in);
	n = fuzz_u16(&in);
	for (uint32_t i = 0; i < n && in.left; i++) {
		uint32_t at = (ctl->read_index + i) % ring_size;

		if (paged)
			pages[at / 4096][at % 4096] = fuzz_u8(&in);
		else
			ring_data[at] = fuzz_u8(&in);
	}

	drain(&r);
	run_script(&r, &in);
	drain(&r);
	write_batch(&r, 64, 4);
out:
	free(ctl);
	free(ring_data);
	for (uint32_t i = 0; i < 3; i++)
		free(pages[i]);
	return 0;
}
