/* SPDX-License-Identifier: MIT */
/*
 * Internals of openvmbus-fio.so (see engine.c): the target spec, the
 * connection to the host, one job's state and its I/O units.
 */
#ifndef OVB_BENCH_FIO_ENGINE_H
#define OVB_BENCH_FIO_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/fio/fio-abi.h"
#include "openvmbus/link.h"
#include "openvmbus/storvsc.h"

#define OVBF_MAX_FILES 8

/*
 * How the job thread waits for completions (wait=): on the rings itself
 * (job), or woken by storvsc's workers (worker), or (auto, the default)
 * on the rings while most of its requests are 64 KiB or more -- each
 * completion then costs a wake-up, and the worker's would be a second --
 * and woken by the workers for smaller ones, whose completions come in
 * batches that a worker drains beside the busy job thread.
 */
enum { OVBF_WAIT_AUTO, OVBF_WAIT_JOB, OVBF_WAIT_WORKER };
#define OVBF_WAIT_BIG (64u * 1024) /* auto: a request this large or more */

/** What fio's filename= says: host socket, disk, options. */
struct ovbf_spec {
	char path[108];       /**< the host's socket */
	char ctl[16];         /**< "scsi0", "ide0"; "" = the first */
	int lun;              /**< -1 = the controller's first */
	uint32_t poll_us;     /**< 0 = interrupt mode */
	int wait;             /**< OVBF_WAIT_*: how the job waits */
	unsigned int subchannels;
	uint64_t mem;         /**< guest memory bytes */
};

/** One guest partition on one host. */
struct ovbf_conn {
	struct ovbf_spec spec;
	struct ovb_link_guest *g;
	struct ovb_client *cl;    /**< NULL while not connected */
	struct ovb_storvsc_set set;
};

/** A fio file resolved to a LUN. */
struct ovbf_target {
	struct fioabi_file *file;
	struct ovb_storvsc *s;
	uint16_t lun;
	uint64_t capacity;        /**< bytes */
};

struct ovbf_job;

/** One fio io_u's engine state (io_u->engine_data). */
struct ovbf_unit {
	struct ovb_storvsc_io io;
	struct fioabi_io_u *u;
	struct ovbf_job *job;
	struct ovbf_unit *next;   /**< on the done or ready list */
	int64_t res;              /**< storvsc's result */
	void *fio_buf;            /**< fio's buffer, while ours replaces it */
	void *gbuf;               /**< zero copy: guest memory that is u->buf */
	size_t glen;
	void *bbuf;               /**< bounce buffer in guest memory */
	size_t blen;
	void *bounce_to;          /**< a read to copy out of bbuf, or NULL */
	bool swapped;             /**< u->buf is gbuf */
};

/** One fio job (thread_data). */
struct ovbf_job {
	struct fioabi_td *td;
	struct ovbf_job *next;    /**< all jobs (jobs_lock) */
	struct ovbf_conn conn;
	struct ovbf_target targets[OVBF_MAX_FILES];
	unsigned int ntargets;
	struct ovbf_unit **units; /**< every io_u of the job */
	unsigned int nunits, cap;
	size_t zc_len;            /**< fio's max_bs, 0: bounce */
	bool zc_known;
	uint64_t requests, bounced, adopted; /**< OVB_FIO_VERBOSE counts */
	/* completions: pushed by any thread, taken by the job thread */
	struct ovbf_unit *done;   /**< LIFO (atomic) */
	struct ovbf_unit *ready, **ready_tail; /**< FIFO, job thread */
	struct fioabi_io_u **events; /**< the last getevents() answer */
	unsigned int nevents;
	unsigned int inflight;    /**< atomic */
	int sleeping;             /**< atomic: the job thread waits */
	bool polled;              /**< the job thread holds the rings */
	int efd;                  /**< wakes the job asleep on the rings */
	int big;                  /**< wait=auto: +1 per large request, -1
				   *   per small one, within +-64 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

void ovbf_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** The job fio's @td stands for (NULL before init). */
struct ovbf_job *ovbf_job_of(struct fioabi_td *td);

/* conn.c */
int ovbf_spec_parse(const char *name, struct ovbf_spec *sp);
bool ovbf_spec_same_host(const struct ovbf_spec *a, const struct ovbf_spec *b);
int ovbf_conn_open(struct ovbf_conn *c, const struct ovbf_spec *sp);
int ovbf_conn_target(struct ovbf_conn *c, const struct ovbf_spec *sp,
		     struct ovbf_target *t);
void ovbf_conn_close(struct ovbf_conn *c);

/* io.c */
int ovbf_queue(struct fioabi_td *td, struct fioabi_io_u *u);
int ovbf_getevents(struct fioabi_td *td, unsigned int min, unsigned int max,
		   const struct timespec *t);
struct fioabi_io_u *ovbf_event(struct fioabi_td *td, int i);
bool ovbf_drain(struct ovbf_job *j);
void ovbf_mem_free(struct ovbf_job *j, void *p, size_t len);

#endif /* OVB_BENCH_FIO_ENGINE_H */
