/* SPDX-License-Identifier: MIT */
/*
 * The DPDK shim's insides, shared by its three files: shim.c (the guest
 * kernel's part: VMBus client over our partition link, uio_hv_generic's
 * bind/open behaviour, EAL memory as guest RAM), sysfs.c (the private
 * /sys/bus/vmbus and /dev/uio tree) and interpose.c (the libc calls DPDK
 * makes, rewritten onto that tree and onto guest memory).
 * See docs/net.md "DPDK as a guest" and docs/compat.md (DPDK rows).
 */
#ifndef OVB_DPDK_SHIM_H
#define OVB_DPDK_SHIM_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "openvmbus/client.h"

/* Only the interposed libc symbols leave the library. */
#pragma GCC visibility push(hidden)

#define SHIM_MAX_NICS 4
#define SHIM_MAX_CHANS 8          /* primary + sub-channels per NIC */
#define SHIM_MAX_FILES 64         /* files whose mmap we redirect */
#define SHIM_RING_HALF (2u << 20) /* uio_hv_generic: 2 MiB per direction */
#define SHIM_RECV_BUF (31u << 20) /* uio_hv_generic RECV_BUFFER_SIZE */
#define SHIM_SEND_BUF (16u << 20) /* uio_hv_generic SEND_BUFFER_SIZE */

/* The uio maps, in uio_hv_generic's order (enum hv_uio_map). */
enum shim_map_idx {
	SHIM_MAP_RINGS,
	SHIM_MAP_INT_PAGE,
	SHIM_MAP_MON_PAGE,
	SHIM_MAP_RECV,
	SHIM_MAP_SEND,
	SHIM_NMAPS,
};

struct shim_nic {
	struct ovb_vsc_dev *dev;
	unsigned int uio;           /* N of /dev/uioN */
	char guid[37];              /* instance GUID: the device's name */
	char dir[PATH_MAX / 2 + 128]; /* its directory in the private tree */
	void *map_va[SHIM_NMAPS];   /* guest memory behind each uio map */
	size_t map_len[SHIM_NMAPS];
	uint32_t rx_gpadl, tx_gpadl;
	unsigned int nchans;        /* open channels (primary first) */
	struct ovb_vsc_dev *chan_dev[SHIM_MAX_CHANS];
};

/* A file in the tree whose mmap lands in guest memory. */
struct shim_file {
	dev_t dev;
	ino_t ino;
	struct shim_nic *nic;       /* uio device: map by offset */
	void *ring;                 /* else a channel's ring file */
};

struct shim {
	bool active;                /* OVMB_LINK was set and set-up worked */
	char root[PATH_MAX / 2];    /* OVMB_SHIM_ROOT */
	struct ovb_link_guest *link;
	struct ovb_client *cl;
	/* EAL memory: a memfd registered at GPA eal_va, placed there. */
	int eal_fd;
	dev_t eal_dev;
	ino_t eal_ino;
	uint8_t *eal_va;
	size_t eal_len;
	int eal_state;              /* SHIM_EAL_* */
	unsigned int eal_tries;
	pthread_mutex_t lock;       /* files[], nics' channels */
	struct shim_nic nic[SHIM_MAX_NICS];
	unsigned int nnics;
	struct shim_file files[SHIM_MAX_FILES];
	unsigned int nfiles;
};

enum { SHIM_EAL_RESERVED, SHIM_EAL_PLACED };

extern struct shim shim;

/** Print a line to stderr prefixed with the shim's name. */
void shim_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Print why the run cannot go on and end the process (exit status 2). */
_Noreturn void shim_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* sysfs.c */
/** Create the empty tree; refuses a root that already holds one. */
int shim_sysfs_init(void);
/** The device directory with its uio maps and the primary's channel. */
int shim_sysfs_add_nic(struct shim_nic *nic);
/** channels/<relid>/{subchannel_id,monitor_id,ring}; ring last. */
int shim_sysfs_add_chan(struct shim_nic *nic, struct ovb_vsc_dev *dev,
			void *ring);
/** Remember that mmap of @path lands in guest memory. */
int shim_file_register(const char *path, struct shim_nic *nic, void *ring);

/* interpose.c */
/** The real libc functions the shim itself needs. */
void *shim_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off);
int shim_real_munmap(void *addr, size_t len);
int shim_real_memfd_create(const char *name, unsigned int flags);

#pragma GCC visibility pop

#endif /* OVB_DPDK_SHIM_H */
