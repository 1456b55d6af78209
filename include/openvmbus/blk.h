/* SPDX-License-Identifier: MIT */
/*
 * Block backends: the host-side storage a synthetic disk sits on, behind a
 * small asynchronous vtable in the kvmtool spirit (submit, reap, eventfd,
 * close).  Layer: backends; used by the SCSI target and storvsp.  Two
 * implementations: blk_file (a raw image file or block device through
 * io_uring; blk_file.h, in libopenvmbus-linux) and blk_ram (memory, for
 * tests, with failure injection).  Remote engines named by a spec prefix
 * (blk_rbd: "rbd:POOL/IMAGE", Ceph RBD through librbd) open through
 * ovb_blk_open() (blk_file.h).  Library: libopenvmbus.
 *
 * Threading contract: an ovb_blk is shared; each thread that submits I/O
 * creates its own ovb_blk_queue and is the only thread to call submit and
 * poll on it.  Completion callbacks run only inside ovb_blk_poll() on the
 * queue the request was submitted to, never inside ovb_blk_submit(), so a
 * callback may submit follow-up requests.  The queue's eventfd becomes
 * readable when completions wait to be reaped; ovb_blk_poll() clears it
 * before reaping, so a wake-up is never lost.  A backend that its owner
 * drives (NBD with a connection per queue) gives an epoll descriptor
 * instead, readable when the owner has work: answers on its socket, a
 * deadline; ovb_blk_poll() then does that work and may run no callback.
 *
 * Completions on the backend's thread (ovb_blk_queue_set_notify): a
 * backend with completion threads of its own (RBD) calls the owner's
 * notify function there, at the moment it would make the eventfd
 * readable.  The owner may then run ovb_blk_poll() on that thread, the
 * callbacks with it, if it shuts its own thread out of the queue
 * meanwhile (a lock its thread holds whenever it uses the queue, tried,
 * never waited for); else it says no and the eventfd is written as
 * usual.  The queue still has one user at a time, not always the same
 * thread.  What callbacks submit there the backend sends from its
 * owner's next ovb_blk_poll() (it makes the eventfd readable for it).
 *
 * Batch mode (ovb_blk_queue_set_batch): submissions are staged and reach
 * the backend at ovb_blk_flush() or ovb_blk_poll(), one system call for a
 * batch.  A flush may complete page-cache hits on the spot (the file
 * backend's fast path); those wait for ovb_blk_poll() without making the
 * eventfd readable -- ovb_blk_ready() sees them.  When ovb_blk_poll()
 * returns, nothing is staged and nothing completed waits unannounced:
 * whatever is still in flight makes the eventfd readable when it ends.
 *
 * Durability contract: a WRITE completes when the data reached the backend
 * (the page cache, or the device with O_DIRECT); with fua set it completes
 * only once the data is stable (RWF_DSYNC).  FLUSH completes when everything
 * completed before it is stable (fdatasync).  A remote engine completes a
 * WRITE only once the engine acknowledged it, FLUSH after the engine's
 * flush.
 */
#ifndef OPENVMBUS_BLK_H
#define OPENVMBUS_BLK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "api.h"

/** What a request does. */
enum ovb_blk_op {
	OVB_BLK_READ = 0,
	OVB_BLK_WRITE = 1,
	OVB_BLK_FLUSH = 2,   /**< make completed writes stable */
	OVB_BLK_DISCARD = 3, /**< deallocate a range; it then reads zeros
			      *   unless the disk says discard_unzeroed */
	OVB_BLK_WRITE_ZEROES = 4, /**< the range reads zeros (may deallocate) */
	OVB_BLK_WRITE_SAME = 5, /**< every block of the range becomes the one
				 *   block of iov (iov's total: block_size) */
};

struct ovb_blk_req;

/** Completion: @res is 0 on success (all bytes moved) or a negative errno. */
typedef void ovb_blk_done_fn(struct ovb_blk_req *req, int res);

struct ovb_blk_queue;

/**
 * A backend's completion thread found completions waiting on @q (see the
 * threading contract): return true after reaping them there with
 * ovb_blk_poll(@q, 0), false to leave them to the eventfd.  Never blocks
 * on the queue's owner.
 */
typedef bool ovb_blk_notify_fn(struct ovb_blk_queue *q, void *ctx);

/**
 * One request.  The caller owns the memory and keeps it (and the iovecs)
 * alive until the callback ran.  Offsets and lengths are bytes, multiples
 * of the logical block size.
 */
struct ovb_blk_req {
	enum ovb_blk_op op;
	uint64_t off;             /**< READ/WRITE/DISCARD: first byte */
	uint64_t len;             /**< bytes; READ/WRITE: the iovec total */
	const struct iovec *iov;  /**< READ/WRITE data, zero copy; WRITE_SAME:
				   *   the block to repeat */
	int iovcnt;
	bool fua;                 /**< WRITE: complete only once stable */
	ovb_blk_done_fn *done;    /**< called once, from ovb_blk_poll() */
	void *priv;               /**< the caller's */
	/* Private to the backend: */
	uint64_t b_done;          /**< bytes finished (short I/O resumes) */
	struct iovec *b_iov;      /**< remaining iovecs after a short I/O */
	int b_iovcnt;
	int b_res;                /**< result waiting to be delivered */
	struct ovb_blk_req *b_next;
	void *b_ctx;              /**< the engine's, e.g. its queue */
};

struct ovb_blk;

/**
 * A remote engine's counters for one disk (ovb_blk_get_stats): monotonic,
 * except connections.
 */
struct ovb_blk_stats {
	uint64_t requests;    /**< requests submitted */
	uint64_t connections; /**< connections to the server up now */
	uint64_t reconnects;  /**< connections made again after a loss */
	uint64_t timeouts;    /**< requests failed at their deadline */
	uint64_t failed;      /**< requests completed with an error (timeouts
			       *   included) */
};

/** What a backend implements; const objects, one per backend kind. */
struct ovb_blk_ops {
	const char *name;
	int (*queue_create)(struct ovb_blk *blk, struct ovb_blk_queue **out);
	void (*queue_destroy)(struct ovb_blk_queue *q);
	int (*submit)(struct ovb_blk_queue *q, struct ovb_blk_req *req);
	int (*poll)(struct ovb_blk_queue *q, int timeout_us);
	void (*close)(struct ovb_blk *blk);
	/** Completions wait, found without a system call; NULL: inflight. */
	bool (*ready)(const struct ovb_blk_queue *q);
	/** Hand staged requests to the backend (batch mode); NULL: none. */
	int (*flush)(struct ovb_blk_queue *q);
	/** The disk's engine counters (any thread); NULL: none kept. */
	int (*stats)(struct ovb_blk *blk, struct ovb_blk_stats *st);
	/**
	 * Fail what is in flight now (ovb_blk_queue_cancel); NULL: the
	 * backend's requests end on their own in bounded time.
	 */
	int (*cancel)(struct ovb_blk_queue *q);
};

/** One backing store.  Fields are read-only after open. */
struct ovb_blk {
	const struct ovb_blk_ops *ops;
	uint64_t capacity;   /**< bytes, a multiple of block_size */
	uint32_t block_size; /**< logical block: 512 or 4096 */
	bool read_only;      /**< WRITE and DISCARD fail with -EROFS */
	bool can_discard;    /**< DISCARD is supported */
	bool can_zero;       /**< WRITE_ZEROES is supported */
	bool can_write_same; /**< WRITE_SAME is supported */
	bool discard_unzeroed; /**< a discarded range reads unspecified data */
	bool no_fua;         /**< fua is emulated (write, then FLUSH) */
	bool no_write_cache; /**< writes are stable when done; FLUSH no-op */
	char name[64];       /**< for log lines: the file name */
	/**
	 * Answers come from a server's CPU (NBD, RBD), not this process's
	 * io_uring: a host worker spinning for them only takes CPU the
	 * server may need (storvsp's stream spin skips such controllers).
	 */
	bool remote;
	/**
	 * The engine's own threads take its answers and wake the queue's
	 * owner (the queue's eventfd, or its notify: RBD's librbd
	 * callbacks), so a busy spin pays only for waits shorter than a
	 * wake-up: storvsp's spins for such queues' answers at most
	 * busy_max_us, and not at all when that is 0 (RBD's spin=off).
	 */
	bool wakes_owner;
	/** With wakes_owner: the longest wait worth a spin, microseconds. */
	uint32_t busy_max_us;
};

/** Counters of one queue (monotonic; its owner's thread updates them). */
struct ovb_blk_queue_stats {
	uint64_t submitted; /**< requests accepted by ovb_blk_submit() */
	uint64_t kicks;     /**< system calls that queued requests (io_uring) */
	uint64_t inline_done; /**< completed by a synchronous first try */
	uint64_t fallback;  /**< first tries that went to the queue after all */
};

/** A per-thread submission and completion queue.  Backends extend it. */
struct ovb_blk_queue {
	struct ovb_blk *blk;
	unsigned inflight; /**< submitted, callback not yet run */
	int efd;           /**< eventfd: readable when completions wait */
	bool batch;        /**< ovb_blk_queue_set_batch() */
	bool efd_written;  /**< private: software wrote efd (not a CQE) */
	ovb_blk_notify_fn *notify; /**< ovb_blk_queue_set_notify(), or NULL */
	void *notify_ctx;
	struct ovb_blk_queue_stats st;
};

/**
 * Parsed form of FILE[,size=8G][,lun=N][,ro][,ide][,sector=4096][,direct]
 * [,timeout=SECONDS], or of an engine's ENGINE:TARGET[,options] (e.g.
 * rbd:POOL/IMAGE,id=USER or nbd://HOST/EXPORT).
 */
struct ovb_disk_spec {
	char path[PATH_MAX]; /**< image file, block device or ENGINE:TARGET */
	uint64_t size;       /**< bytes; 0 = the existing file's size */
	int lun;             /**< -1 when not given */
	uint32_t sector;     /**< logical block size: 512 (default), 4096 */
	bool ro;             /**< read-only */
	bool ide;            /**< attach to the IDE controller */
	bool direct;         /**< O_DIRECT: bypass the host page cache */
	char opts[256];      /**< the engine's own options, "k=v,k=v" */
	unsigned timeout_s;  /**< remote engines: a request's deadline; 0 = default */
};

/* ---- backends ----------------------------------------------------------- */

/**
 * A zero-filled memory disk of @capacity bytes with @block_size (512 or
 * 4096) blocks, discard supported.  Requests complete at submit time but
 * their callbacks run from ovb_blk_poll(), like a real backend.
 * Returns 0, -EINVAL (bad size) or -ENOMEM.
 */
OVB_API
int ovb_blk_ram_create(uint64_t capacity, uint32_t block_size,
		       struct ovb_blk **out);

/**
 * Make the next @n requests of a RAM disk (any queue, any op) fail with
 * @err (a negative errno; 0 means -EIO).  Thread-safe.
 */
OVB_API
void ovb_blk_ram_fail_next(struct ovb_blk *blk, unsigned n, int err);

/** The RAM disk's bytes, for tests to inspect (NULL for other kinds). */
OVB_API
uint8_t *ovb_blk_ram_data(struct ovb_blk *blk);

/* ---- generic calls ------------------------------------------------------ */

/**
 * Create a queue for the calling thread.  Returns 0, -ENOMEM, or the
 * backend's error (io_uring setup).
 */
OVB_API
int ovb_blk_queue_create(struct ovb_blk *blk, struct ovb_blk_queue **out);

/** Reap every in-flight request (running callbacks), then free @q. */
OVB_API
void ovb_blk_queue_destroy(struct ovb_blk_queue *q);

/**
 * Give up on everything in flight on @q, for an owner that stops and must
 * not wait on a remote engine (a cluster that no longer answers).  Each
 * such request's callback runs here, on the owner's thread, with
 * -ECANCELED; the engine's late completion then touches neither the
 * request, nor its iovec array, nor @q (a cancelled READ's data lands in a
 * buffer of the backend's, see the backend).  A cancelled WRITE may still
 * reach the medium later: its blocks hold old or new data, as after any
 * failed write.  Returns how many requests it failed, or -EOPNOTSUPP for
 * a backend whose requests end on their own in bounded time (then poll as
 * usual).  Owner's thread only.
 */
OVB_API
int ovb_blk_queue_cancel(struct ovb_blk_queue *q);

/* ---- for backends ------------------------------------------------------- */

/**
 * Allocate a backend's queue: @size zeroed bytes (the backend's struct,
 * struct ovb_blk_queue first) with ->blk set and ->efd a non-blocking,
 * close-on-exec eventfd.  Returns 0, -EINVAL (@size too small), -ENOMEM,
 * or eventfd()'s -errno.  A backend's queue_create calls it.
 */
OVB_API
int ovb_blk_queue_alloc(struct ovb_blk *blk, size_t size,
			struct ovb_blk_queue **out);

/** Close the eventfd of a queue from ovb_blk_queue_alloc() and free it. */
OVB_API
void ovb_blk_queue_free(struct ovb_blk_queue *q);

/**
 * Submit one request.  Checks it first: -EINVAL for a bad op, an unaligned
 * or out-of-range span, or an iovec total different from len; -EROFS for a
 * write or discard on a read-only disk; -EOPNOTSUPP for a discard the
 * backend cannot do; -EAGAIN when the queue is full (reap, then retry).
 * On error the callback is not called.  Does not block on the device (a
 * page-cache hit may be copied here).  In batch mode the request is only
 * staged.
 */
OVB_API
int ovb_blk_submit(struct ovb_blk_queue *q, struct ovb_blk_req *req);

/**
 * Batch mode on or off (off by default; turning it off flushes).  See the
 * contract at the top of this file.
 */
OVB_API
void ovb_blk_queue_set_batch(struct ovb_blk_queue *q, bool on);

/**
 * Let a backend's completion thread reap @q through @fn (NULL: the
 * eventfd alone), as the threading contract above says.  Owner's thread,
 * before the first submit.  Backends without threads of their own never
 * call it.
 */
OVB_API
void ovb_blk_queue_set_notify(struct ovb_blk_queue *q, ovb_blk_notify_fn *fn,
			      void *ctx);

/**
 * Hand the staged requests to the backend: one system call for all of
 * those that go to a kernel queue.  Requests it completed on the spot wait
 * for ovb_blk_poll() (ovb_blk_ready() is then true).  Returns 0 or a
 * negative errno.
 */
OVB_API
int ovb_blk_flush(struct ovb_blk_queue *q);

/**
 * Reap completions and run their callbacks.  @timeout_us: 0 returns at
 * once; > 0 spins up to that long for a first completion (polling mode);
 * < 0 sleeps until at least one completes (returns at once when nothing is
 * in flight).  Returns the number of callbacks run, or a negative errno.
 */
OVB_API
int ovb_blk_poll(struct ovb_blk_queue *q, int timeout_us);

/**
 * The queue's descriptor to sleep on (poll/epoll for reading): an
 * eventfd, or an epoll descriptor for a backend its owner drives (see the
 * threading contract).  ovb_blk_poll clears it; never read or write it.
 */
OVB_API
int ovb_blk_queue_eventfd(const struct ovb_blk_queue *q);

/**
 * True if completions wait to be reaped, found without a system call (the
 * io_uring completion queue in shared memory), for an owner that spins
 * instead of sleeping on the eventfd; then ovb_blk_poll(q, 0) reaps them.
 * Backends that cannot tell say true whenever requests are in flight.
 */
OVB_API
bool ovb_blk_ready(const struct ovb_blk_queue *q);

/**
 * The counters of a remote engine's disk (NBD: connections, reconnects,
 * deadlines missed, failed requests).  Any thread.  Returns 0, or
 * -EOPNOTSUPP for a backend that keeps none (files, RAM).
 */
OVB_API
int ovb_blk_get_stats(struct ovb_blk *blk, struct ovb_blk_stats *st);

/** Close a backend.  Every queue must have been destroyed. */
OVB_API
void ovb_blk_close(struct ovb_blk *blk);

/* ---- iovec helpers ------------------------------------------------------ */

/** Total bytes of @iov. */
OVB_API
size_t ovb_blk_iov_len(const struct iovec *iov, int iovcnt);

/** Copy up to @len bytes out of @iov starting @off bytes in; returns bytes. */
OVB_API
size_t ovb_blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t off,
			  void *buf, size_t len);

/** Copy up to @len bytes of @buf into @iov at @off; returns bytes copied. */
OVB_API
size_t ovb_blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t off,
			    const void *buf, size_t len);

#endif /* OPENVMBUS_BLK_H */
