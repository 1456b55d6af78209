// SPDX-License-Identifier: MIT
/*
 * blk-ws SPEC: WRITE SAME through the SCSI target onto the disk SPEC names
 * (tests/system/rbd.sh gives it an RBD image).  Fills the first 12 MiB
 * with random data, then: WRITE SAME(16) of a zero block without UNMAP
 * across an object boundary, and WRITE SAME(10) of a patterned block;
 * reads everything back and checks that the ranges hold the pattern and
 * their neighbours are untouched.  Also counts the backend requests each
 * WRITE SAME cost: with a backend that zeroes (can_zero) or repeats a
 * block (can_write_same) itself it is one, where block-by-block copies
 * would need one per MiB.  Prints one line per check; exit 0 when all
 * hold, 1 otherwise, 2 when the disk cannot be opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/blk_file.h"
#include "openvmbus/deadline.h"
#include "storage/scsi_target.h"

#define SPAN (12u << 20)

static struct ovb_blk_queue *q;
static struct ovb_scsi_target *t;
static uint64_t t0_us;

static void on_done(struct ovb_scsi_cmd *cmd)
{
	*(int *)cmd->priv = 1;
}

/* Run one CDB over @len bytes at @buf; true if GOOD. */
static bool run(const uint8_t *cdb, size_t cdb_len, enum ovb_scsi_dir dir,
		void *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct ovb_scsi_cmd c;
	int done = 0;

	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, cdb, cdb_len);
	c.cdb_len = (uint8_t)cdb_len;
	c.dir = dir;
	c.iov = buf ? &iov : NULL;
	c.iovcnt = buf ? 1 : 0;
	c.done = on_done;
	c.priv = &done;
	ovb_scsi_submit(t, q, &c);
	while (!done)
		if (ovb_blk_poll(q, -1) < 0)
			return false;
	if (c.status != SCSI_STATUS_GOOD)
		fprintf(stderr, "blk-ws: opcode %#x: status %#x key %#x asc "
				"%#x/%#x\n",
			cdb[0], c.status, c.sense[2], c.sense[12], c.sense[13]);
	return c.status == SCSI_STATUS_GOOD;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* READ(16) or WRITE(16) of @len bytes at byte @off, 1 MiB at a time. */
static bool rw(bool write, uint8_t *buf, uint64_t off, size_t len,
	       uint32_t bs)
{
	for (size_t done = 0; done < len; done += 1u << 20) {
		size_t n = len - done < (1u << 20) ? len - done : 1u << 20;
		uint8_t cdb[16] = {write ? 0x8a : 0x88};

		put_be(cdb + 2, (off + done) / bs, 8);
		put_be(cdb + 10, n / bs, 4);
		if (!run(cdb, 16, write ? OVB_SCSI_DIR_TO_DEV
					: OVB_SCSI_DIR_FROM_DEV,
			 buf + done, n))
			return false;
	}
	return true;
}

/* WRITE SAME(16) of @blk over @n blocks at @lba; backend requests or -1. */
static long write_same(uint64_t lba, uint32_t n, uint8_t *blk, uint32_t bs)
{
	uint8_t cdb[16] = {0x93};
	uint64_t before = q->st.submitted;

	put_be(cdb + 2, lba, 8);
	put_be(cdb + 10, n, 4);
	if (!run(cdb, 16, OVB_SCSI_DIR_TO_DEV, blk, bs))
		return -1;
	return (long)(q->st.submitted - before);
}

static int check(bool ok, const char *what)
{
	printf("blk-ws: %s: %s (%llu ms in)\n", what, ok ? "ok" : "FAILED",
	       (unsigned long long)(ovb_now_us() - t0_us) / 1000);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct ovb_disk_spec spec;
	uint8_t *ref, *got, blk[4096];
	struct ovb_blk *b;
	char err[512];
	uint64_t zlba, zn, plba, pn;
	long reqs;
	int bad = 0;
	uint32_t bs;

	t0_us = ovb_now_us();
	if (argc != 2) {
		fprintf(stderr, "usage: blk-ws SPEC\n");
		return 2;
	}
	if (ovb_disk_spec_parse(argv[1], &spec, err, sizeof(err)) ||
	    ovb_blk_open(&spec, &b, err, sizeof(err)) ||
	    ovb_blk_queue_create(b, &q) ||
	    ovb_scsi_target_create(b, NULL, &t)) {
		fprintf(stderr, "blk-ws: %s: %s\n", argv[1], err);
		return 2;
	}
	bs = b->block_size;
	ref = malloc(SPAN);
	got = malloc(SPAN);
	if (!ref || !got || b->capacity < SPAN) {
		fprintf(stderr, "blk-ws: want %u bytes\n", SPAN);
		return 2;
	}
	srand(42);
	for (size_t i = 0; i < SPAN; i++)
		ref[i] = (uint8_t)rand();
	bad |= check(rw(true, ref, 0, SPAN, bs), "12 MiB of random data written");

	/* Zeros without UNMAP from 8 KiB before the 4 MiB object boundary. */
	zlba = ((4u << 20) - 8192) / bs;
	zn = (5u << 20) / bs;
	memset(blk, 0, bs);
	reqs = write_same(zlba, (uint32_t)zn, blk, bs);
	bad |= check(reqs >= 0, "WRITE SAME(16) of zeros, no UNMAP");
	printf("blk-ws: it cost %ld backend request(s) for %llu blocks\n", reqs,
	       (unsigned long long)zn);
	memset(ref + zlba * bs, 0, zn * bs);

	/* A patterned block (its bytes differ) over 2 MiB + 3 blocks. */
	for (uint32_t i = 0; i < bs; i++)
		blk[i] = (uint8_t)(i * 7 + 3);
	plba = (9u << 20) / bs - 3;
	pn = (2u << 20) / bs + 3;
	reqs = write_same(plba, (uint32_t)pn, blk, bs);
	bad |= check(reqs >= 0, "WRITE SAME(16) of a patterned block");
	printf("blk-ws: it cost %ld backend request(s) for %llu blocks\n", reqs,
	       (unsigned long long)pn);
	for (uint64_t i = 0; i < pn; i++)
		memcpy(ref + (plba + i) * bs, blk, bs);

	bad |= check(rw(false, got, 0, SPAN, bs), "12 MiB read back");
	bad |= check(!memcmp(got, ref, SPAN),
		     "every block holds its pattern, the neighbours theirs");
	if (b->can_zero || b->can_write_same)
		printf("blk-ws: the backend zeroes (%s) and repeats blocks "
		       "(%s) itself\n",
		       b->can_zero ? "yes" : "no",
		       b->can_write_same ? "yes" : "no");
	ovb_scsi_target_destroy(t);
	ovb_blk_queue_destroy(q);
	ovb_blk_close(b);
	free(ref);
	free(got);
	return bad ? 1 : 0;
}
