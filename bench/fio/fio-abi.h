/* SPDX-License-Identifier: MIT */
/*
 * The part of fio's external-engine ABI that the openvmbus fio engine
 * touches, declared in our own words.  fio installs no headers (Debian 12
 * ships none), so this records the facts an engine loaded with
 * `ioengine=external:PATH` depends on, as fio 3.33 lays them out on LP64
 * (x86-64, arm64):
 *
 * - ioengines.h: struct ioengine_ops (whole: fio reads every member),
 *   FIO_IOOPS_VERSION 31, the engine flags, enum fio_q_status.  fio looks
 *   the table up with dlsym(handle, "ioengine") and writes its dlhandle.
 * - io_u.h: the head of struct io_u up to the engine's private word.
 * - file.h: the head of struct fio_file up to real_file_size.
 * - io_ddir.h: enum fio_ddir.
 *
 * fio allocates io_u and fio_file; the engine reads and writes only the
 * members declared here, never past them, and treats struct thread_data
 * as opaque.  fio checks the ops version itself; the engine also compares
 * fio_version_string (exported by the fio binary) with FIOABI_VERSION and
 * refuses any other fio, because struct layouts can move without a
 * version bump.  The offsets are asserted below.
 */
#ifndef OVB_BENCH_FIO_ABI_H
#define OVB_BENCH_FIO_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FIOABI_VERSION "fio-3.33"
#define FIOABI_OPS_VERSION 31

/* What queue() answers (enum fio_q_status). */
enum fioabi_q_status {
	FIOABI_Q_COMPLETED = 0, /* done before queue() returned */
	FIOABI_Q_QUEUED = 1,    /* getevents() will report it */
	FIOABI_Q_BUSY = 2,      /* no room: fio commits and retries */
};

/* Engine flags (enum fio_ioengine_flags), the ones we set. */
#define FIOABI_F_DISKLESSIO (1 << 2) /* fio must not open/extend the file */
#define FIOABI_F_NOEXTEND (1 << 3)   /* the engine cannot grow the target */
#define FIOABI_F_NODISKUTIL (1 << 4) /* no /sys disk statistics for it */

/* The direction of one io_u (enum fio_ddir). */
enum fioabi_ddir {
	FIOABI_DDIR_READ = 0,
	FIOABI_DDIR_WRITE = 1,
	FIOABI_DDIR_TRIM = 2,
	FIOABI_DDIR_SYNC = 3,
	FIOABI_DDIR_DATASYNC = 4,
	FIOABI_DDIR_SYNC_FILE_RANGE = 5,
	FIOABI_DDIR_WAIT = 6,
};

/* fio's struct thread_data: one job.  Opaque. */
struct fioabi_td;

/* The head of fio's struct fio_file. */
struct fioabi_file {
	void *hash_next, *hash_prev; /* fio's hash list links */
	int filetype;                /* enum fio_filetype */
	int fd;                      /* -1 while closed */
	int shadow_fd;
	unsigned int major, minor;
	int fileno;
	char *file_name;             /* as given in filename= */
	uint64_t real_file_size;     /* bytes; the engine reports it */
	/* fio's own members follow */
};

/* The head of fio's struct io_u: one I/O unit. */
struct fioabi_io_u {
	struct timespec start_time, issue_time;
	struct fioabi_file *file;
	unsigned int flags;
	int ddir;                    /* enum fioabi_ddir */
	int acct_ddir;
	unsigned short numberio, ioprio, clat_prio_index;
	unsigned long long buflen;   /* bytes fio filled or will check */
	unsigned long long offset;   /* bytes into the file */
	unsigned long long verify_offset;
	void *buf;                   /* the unit's buffer, max_bs bytes */
	uint64_t rand_seed;
	void *xfer_buf;              /* what this transfer moves ... */
	unsigned long long xfer_buflen; /* ... and how many bytes */
	unsigned long long buf_filled_len;
	void *ipo;
	unsigned long long resid;    /* bytes not transferred */
	unsigned int error;          /* errno of the unit, 0 when fine */
	void *engine_data;           /* the engine's word (a union in fio) */
	/* fio's own members follow */
};

/* fio's struct ioengine_ops, whole. */
struct fioabi_ops {
	void *list_next, *list_prev;
	const char *name;
	int version;
	int flags;
	void *dlhandle;
	int (*setup)(struct fioabi_td *td);
	int (*init)(struct fioabi_td *td);
	int (*post_init)(struct fioabi_td *td);
	int (*prep)(struct fioabi_td *td, struct fioabi_io_u *u);
	int (*queue)(struct fioabi_td *td, struct fioabi_io_u *u);
	int (*commit)(struct fioabi_td *td);
	int (*getevents)(struct fioabi_td *td, unsigned int min,
			 unsigned int max, const struct timespec *t);
	struct fioabi_io_u *(*event)(struct fioabi_td *td, int i);
	char *(*errdetails)(struct fioabi_io_u *u);
	int (*cancel)(struct fioabi_td *td, struct fioabi_io_u *u);
	void (*cleanup)(struct fioabi_td *td);
	int (*open_file)(struct fioabi_td *td, struct fioabi_file *f);
	int (*close_file)(struct fioabi_td *td, struct fioabi_file *f);
	int (*invalidate)(struct fioabi_td *td, struct fioabi_file *f);
	int (*unlink_file)(struct fioabi_td *td, struct fioabi_file *f);
	int (*get_file_size)(struct fioabi_td *td, struct fioabi_file *f);
	int (*prepopulate_file)(struct fioabi_td *td, struct fioabi_file *f);
	void (*terminate)(struct fioabi_td *td);
	int (*iomem_alloc)(struct fioabi_td *td, size_t len);
	void (*iomem_free)(struct fioabi_td *td);
	int (*io_u_init)(struct fioabi_td *td, struct fioabi_io_u *u);
	void (*io_u_free)(struct fioabi_td *td, struct fioabi_io_u *u);
	void (*zoned[4])(void); /* zoned-device hooks, unused here */
	int option_struct_size;
	void *options;
};

_Static_assert(sizeof(void *) == 8, "fio's layout is recorded for LP64");
_Static_assert(offsetof(struct fioabi_file, fd) == 20, "fio_file.fd");
_Static_assert(offsetof(struct fioabi_file, file_name) == 40,
	       "fio_file.file_name");
_Static_assert(offsetof(struct fioabi_file, real_file_size) == 48,
	       "fio_file.real_file_size");
_Static_assert(offsetof(struct fioabi_io_u, file) == 32, "io_u.file");
_Static_assert(offsetof(struct fioabi_io_u, ddir) == 44, "io_u.ddir");
_Static_assert(offsetof(struct fioabi_io_u, buflen) == 64, "io_u.buflen");
_Static_assert(offsetof(struct fioabi_io_u, offset) == 72, "io_u.offset");
_Static_assert(offsetof(struct fioabi_io_u, buf) == 88, "io_u.buf");
_Static_assert(offsetof(struct fioabi_io_u, xfer_buf) == 104,
	       "io_u.xfer_buf");
_Static_assert(offsetof(struct fioabi_io_u, xfer_buflen) == 112,
	       "io_u.xfer_buflen");
_Static_assert(offsetof(struct fioabi_io_u, resid) == 136, "io_u.resid");
_Static_assert(offsetof(struct fioabi_io_u, error) == 144, "io_u.error");
_Static_assert(offsetof(struct fioabi_io_u, engine_data) == 152,
	       "io_u.engine_data");
_Static_assert(offsetof(struct fioabi_ops, setup) == 40, "ops.setup");
_Static_assert(offsetof(struct fioabi_ops, queue) == 72, "ops.queue");
_Static_assert(offsetof(struct fioabi_ops, get_file_size) == 160,
	       "ops.get_file_size");
_Static_assert(offsetof(struct fioabi_ops, io_u_init) == 200,
	       "ops.io_u_init");
_Static_assert(offsetof(struct fioabi_ops, option_struct_size) == 248,
	       "ops.option_struct_size");
_Static_assert(sizeof(struct fioabi_ops) == 264, "struct ioengine_ops");

#endif /* OVB_BENCH_FIO_ABI_H */
