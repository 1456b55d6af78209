/* SPDX-License-Identifier: MIT */
/*
 * Fixture of the SCSI target unit tests (test-scsi.c, test-scsi-io.c): a
 * RAM disk behind a spy backend that records what reached it, a target on
 * top, and helpers that run one CDB to completion and check its status
 * and exact sense bytes.  Uses cmocka assertions.
 */
#ifndef OPENVMBUS_TESTS_SCSI_FX_H
#define OPENVMBUS_TESTS_SCSI_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvmbus/blk.h"
#include "storage/scsi_target.h"

#define MIB (1024u * 1024u)
#define CDB(...)                                                               \
	(const uint8_t[]){__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})
#define IN OVB_SCSI_DIR_FROM_DEV
#define OUT OVB_SCSI_DIR_TO_DEV
#define NONE OVB_SCSI_DIR_NONE

/** What the spy backend saw since fx_open(). */
struct scsi_spy {
	int count[6]; /**< per enum ovb_blk_op */
	bool last_fua;
	uint64_t last_off, last_len;
};
extern struct scsi_spy spy;
extern const struct ovb_blk_ops *ram_ops;

struct fx {
	struct ovb_blk *blk;
	struct ovb_blk_queue *q;
	struct ovb_scsi_target *t;
	uint8_t *disk; /**< the RAM bytes */
};

void fx_open(struct fx *f, uint64_t cap, uint32_t bs,
		    const struct ovb_scsi_target_config *cfg);
void fx_close(struct fx *f);
void fail_next(struct fx *f, unsigned n, int err);
void exec(struct fx *f, struct ovb_scsi_cmd *c, const uint8_t *cdb,
		 size_t cdb_len, enum ovb_scsi_dir dir, void *buf, size_t len);
/** Completion callback: counts calls in *(int *)cmd->priv. */
void on_done(struct ovb_scsi_cmd *cmd);
void expect_good(const struct ovb_scsi_cmd *c);
void expect_sense(const struct ovb_scsi_cmd *c, uint8_t key,
			 uint16_t pair, uint8_t sks0, uint16_t field);
void expect_bad_cdb(const struct ovb_scsi_cmd *c, uint16_t byte, int bit);
void expect_bad_param(const struct ovb_scsi_cmd *c, uint16_t byte,
			     int bit);
void fill(uint8_t *p, size_t len, uint8_t seed);
uint32_t be32(const uint8_t *p);
uint64_t be64(const uint8_t *p);

#endif
