/* SPDX-License-Identifier: MIT */
/*
 * Our own FUSE protocol server for the disk (fuse_ll.c) and its io_uring
 * queues (fuse_ring.c): what the two files share.  Layer: frontend
 * (private).
 */
#ifndef OVB_FRONTEND_FUSE_LL_H
#define OVB_FRONTEND_FUSE_LL_H

#include "frontend/fuse_priv.h"
#include "frontend/fuse_wire.h"

#define FU_NAMES 64       /* controller names given node ids */
#define FU_MAX_WRITE (1u << 20)

struct fu_ring;

/* One FUSE connection: /dev/fuse, what INIT agreed, the queues. */
struct fu_conn {
	struct ovb_fuse_disk *fd;
	int devfd;            /* /dev/fuse, mounted with fd= */
	uint32_t max_write;   /* agreed: the largest READ/WRITE */
	uint32_t minor;       /* the kernel's protocol minor */
	pthread_t reader;     /* /dev/fuse: FORGET, INTERRUPT, the end */
	bool reader_on;
	struct fu_ring *ring;
	pthread_mutex_t names_lock;
	char names[FU_NAMES][32]; /* node id (i + 1) << 32: controller */
	unsigned int nnames;
};

/* One request as a transport hands it over, and its reply. */
struct fu_msg {
	const struct fuse_in_header *ih;
	const void *arg;   /* the opcode's fixed argument */
	uint32_t arg_len;
	const void *data;  /* what follows it: a name, write data */
	uint32_t data_len;
	void *out;         /* the reply's body */
	uint32_t out_cap;
	uint32_t out_len;
	int error;         /* 0 or -errno */
	bool noreply;      /* FORGET, INTERRUPT: nothing goes back */
};

/* Serve @m (any opcode but INIT), synchronously.  Any thread. */
void ovb__fu_dispatch(struct fu_conn *c, struct fu_msg *m);
/* The open file of a READ/WRITE/FSYNC fh, or NULL. */
struct fd_file *ovb__fu_file(struct fu_conn *c, uint64_t fh);

/* The queues: one io_uring per CPU, registered on c->devfd. */
int ovb__fu_ring_start(struct fu_conn *c, unsigned int ring_mib,
		       const struct ovb_fuse_disk_opts *o);
/* Wait for the queues' threads to end (the connection ended), for @ms. */
bool ovb__fu_ring_join(struct fu_conn *c, long ms);
void ovb__fu_ring_free(struct fu_conn *c);

#endif
