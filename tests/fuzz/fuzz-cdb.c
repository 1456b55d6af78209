// SPDX-License-Identifier: MIT
/*
 * Fuzz target: random CDBs against a SCSI target on a small RAM disk with
 * a small, randomly split data buffer, both block sizes, any direction, and
 * occasionally a failing backend.  Every command must complete exactly
 * once, with a valid status and, on CHECK CONDITION, well-formed sense;
 * the byte counts must add up to the buffer; ASan/UBSan catch the rest.
 *
 * Input: byte 0 flags (bit 0: 4096-byte blocks; bits 1-2: direction;
 * bit 3: inject a failure; bit 4: pick the opcode from the supported list;
 * bits 5-6: iovec split), byte 1: buffer length / 32, byte 2: CDB length,
 * then the CDB, then data-out bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openvmbus/log.h"
#include "storage/scsi_target.h"
#include "tests/fuzz/fuzz.h"

#define DISK_BYTES (64u * 1024u)
#define BUF_MAX (255u * 32u)

static const uint8_t opcodes[] = {
	0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x1b, 0x1e,
	0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x55, 0x5a,
	0x88, 0x8a, 0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa8, 0xaa,
};

struct disk {
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct ovb_scsi_target *t;
};

static struct disk disks[2];
static uint8_t buffer[BUF_MAX];

static void setup(void)
{
	static const uint16_t luns[] = {0, 1, 2};
	static int done;

	if (done)
		return;
	done = 1;
	ovb_log_set_sink(fuzz_quiet, NULL);
	for (int i = 0; i < 2; i++) {
		struct disk *d = &disks[i];

		if (ovb_blk_ram_create(DISK_BYTES, i ? 4096 : 512, &d->blk) ||
		    ovb_blk_queue_create(d->blk, &d->q) ||
		    ovb_scsi_target_create(d->blk, NULL, &d->t))
			abort();
		ovb_scsi_target_set_luns(d->t, luns, 3);
	}
}

static void on_done(struct ovb_scsi_cmd *cmd)
{
	(*(int *)cmd->priv)++;
}

/* The invariants every completion must satisfy. */
static void check_result(const struct ovb_scsi_cmd *c, size_t buflen)
{
	FUZZ_CHECK(c->xfer + c->residual == buflen);
	switch (c->status) {
	case SCSI_STATUS_GOOD:
		FUZZ_CHECK(c->sense_len == 0);
		break;
	case SCSI_STATUS_CHECK_CONDITION:
		FUZZ_CHECK(c->sense_len == SCSI_SENSE_FIXED_LEN);
		FUZZ_CHECK((c->sense[0] & 0x7f) == SCSI_SENSE_FIXED_CURRENT);
		FUZZ_CHECK(c->sense[7] == 10);
		FUZZ_CHECK((c->sense[2] & 0x0f) != SCSI_SENSE_NO_SENSE);
		break;
	case SCSI_STATUS_BUSY:
		break;
	default:
		FUZZ_CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec iov[3];
	struct ovb_scsi_cmd c;
	struct disk *d;
	size_t buflen, cut, take;
	uint8_t flags;
	int calls = 0, n;

	setup();
	if (size < 3)
		return 0;
	flags = data[0];
	d = &disks[flags & 1];
	memset(&c, 0, sizeof(c));
	c.dir = (enum ovb_scsi_dir)((flags >> 1) & 3);
	buflen = (size_t)data[1] * 32u;
	c.cdb_len = (uint8_t)((data[2] & 15) + 1);
	data += 3;
	size -= 3;
	take = size < c.cdb_len ? size : c.cdb_len;
	memcpy(c.cdb, data, take);
	data += take;
	size -= take;
	if (flags & 0x10)
		c.cdb[0] = opcodes[c.cdb[0] % sizeof(opcodes)];
	memset(buffer, 0, sizeof(buffer));
	memcpy(buffer, data, size < buflen ? size : buflen);

	/* Split the buffer into one to three segments. */
	cut = buflen / 3;
	n = ((flags >> 5) & 3) % 3 + 1;
	iov[0] = (struct iovec){buffer, n == 1 ? buflen : cut};
	iov[1] = (struct iovec){buffer + cut, n == 2 ? buflen - cut : cut};
	iov[2] = (struct iovec){buffer + 2 * cut, buflen - 2 * cut};
	c.iov = iov;
	c.iovcnt = n;
	c.done = on_done;
	c.priv = &calls;
	ovb_blk_ram_fail_next(d->blk, (flags & 0x08) ? 1 : 0, -EIO);

	ovb_scsi_submit(d->t, d->q, &c);
	while (calls == 0)
		FUZZ_CHECK(ovb_blk_poll(d->q, -1) > 0);
	FUZZ_CHECK(calls == 1);
	FUZZ_CHECK(ovb_blk_poll(d->q, 0) == 0); /* nothing left behind */
	FUZZ_CHECK(d->q->inflight == 0);
	check_result(&c, c.dir == OVB_SCSI_DIR_NONE ? 0 : buflen);
	return 0;
}
