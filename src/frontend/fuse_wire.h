/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring, wire format only (protocol 7.42+), for the disk
 * front end that speaks the kernel's FUSE protocol itself.  The classic
 * structures (fuse_in_header, fuse_init_in/out, fuse_read_in ...) come
 * from <linux/fuse.h>: the protocol only ever appends, and Debian 12's
 * copy (7.38) has every one we use.  What 7.38 lacks is defined here from
 * the kernel's include/uapi/linux/fuse.h (7.42) and fs/fuse/dev_uring.c;
 * docs/wire.md lists the facts and where they come from.  Layer: frontend
 * (private).
 */
#ifndef OVB_FRONTEND_FUSE_WIRE_H
#define OVB_FRONTEND_FUSE_WIRE_H

#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>

/* INIT flag (64-bit flags = flags | flags2 << 32): requests and replies
 * through io_uring queues; the kernel offers it only when the fuse
 * module's enable_uring parameter is set. */
#define FUSE_WIRE_OVER_IO_URING (1ull << 41)
/* The INIT reply's minor may say 42: the first with io_uring. */
#define FUSE_WIRE_URING_MINOR 42

/* struct fuse_uring_req_header area sizes */
#define FUSE_URING_IN_OUT_HEADER_SZ 128
#define FUSE_URING_OP_IN_OUT_SZ 128

/* IORING_OP_URING_CMD cmd_op values on /dev/fuse (enum fuse_uring_cmd) */
#define FUSE_WIRE_CMD_REGISTER 1u         /* register an entry, fetch */
#define FUSE_WIRE_CMD_COMMIT_AND_FETCH 2u /* reply, fetch the next */

/* The last part of an entry's header buffer: both directions. */
struct fuse_uring_ent_in_out {
	uint64_t flags;     /* 0 */
	uint64_t commit_id; /* kernel: the request's unique; echo it */
	uint32_t payload_sz; /* bytes valid in the payload buffer */
	uint32_t padding;
	uint64_t reserved;
};

/*
 * An entry's header buffer (iov[0] of REGISTER).  Fetch: in_out holds the
 * fuse_in_header, op_in the opcode's fixed argument (fuse_read_in ...),
 * the payload buffer (iov[1]) the rest (names, write data).  Commit:
 * in_out holds the fuse_out_header, the payload buffer the reply's body,
 * ring_ent_in_out.payload_sz its length.
 */
struct fuse_uring_req_header {
	char in_out[FUSE_URING_IN_OUT_HEADER_SZ];
	char op_in[FUSE_URING_OP_IN_OUT_SZ];
	struct fuse_uring_ent_in_out ring_ent_in_out;
};

/* In the 80-byte command area of a 128-byte SQE (IORING_SETUP_SQE128). */
struct fuse_uring_cmd_req {
	uint64_t flags;     /* 0 */
	uint64_t commit_id; /* COMMIT_AND_FETCH: the unique answered */
	uint16_t qid;       /* queue = CPU number */
	uint8_t padding[6];
};

_Static_assert(sizeof(struct fuse_uring_ent_in_out) == 32, "ent_in_out");
_Static_assert(sizeof(struct fuse_uring_req_header) == 288, "req_header");
_Static_assert(offsetof(struct fuse_uring_req_header, ring_ent_in_out) ==
		       256, "ring_ent_in_out at 256");
_Static_assert(sizeof(struct fuse_uring_cmd_req) == 24, "cmd_req");
_Static_assert(sizeof(struct fuse_uring_cmd_req) <= 80, "fits the SQE128");
/* The classic structures we use, as the 7.42 header has them. */
_Static_assert(sizeof(struct fuse_in_header) == 40, "in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "out_header");
_Static_assert(sizeof(struct fuse_init_in) == 64, "init_in");
_Static_assert(sizeof(struct fuse_init_out) == 64, "init_out");
_Static_assert(sizeof(struct fuse_read_in) == 40, "read_in");
_Static_assert(sizeof(struct fuse_write_in) == 40, "write_in");
_Static_assert(sizeof(struct fuse_write_out) == 8, "write_out");
_Static_assert(sizeof(struct fuse_attr_out) == 104, "attr_out");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "entry_out");
_Static_assert(sizeof(struct fuse_open_out) == 16, "open_out");
_Static_assert(FOPEN_DIRECT_IO == 1 << 0, "FOPEN_DIRECT_IO");
_Static_assert(FOPEN_PARALLEL_DIRECT_WRITES == 1 << 6,
	       "FOPEN_PARALLEL_DIRECT_WRITES (7.38)");
_Static_assert(sizeof(struct fuse_statfs_out) == 80, "statfs_out");
_Static_assert(sizeof(struct fuse_fallocate_in) == 32, "fallocate_in");
_Static_assert(sizeof(struct fuse_fsync_in) == 16, "fsync_in");
_Static_assert(sizeof(struct fuse_dirent) == 24, "dirent");
_Static_assert(sizeof(struct fuse_init_in) <= FUSE_URING_OP_IN_OUT_SZ,
	       "op_in holds every fixed argument we read");

#endif
