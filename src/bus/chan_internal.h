/* SPDX-License-Identifier: MIT */
/*
 * What the two bus roles (server.c, client.c) use to create and drive
 * channels; devices never include this.  Layer: bus.
 */
#ifndef OVB_BUS_CHAN_INTERNAL_H
#define OVB_BUS_CHAN_INTERNAL_H

#include "openvmbus/channel.h"

/** What a role provides to its channels. */
struct ovb_chan_role_ops {
	/** Slow-path signal to the peer (no eventfd installed). */
	int (*signal)(struct ovb_chan *chan, void *role_ctx);
	/** The channel failed; its worker no longer runs callbacks. */
	void (*failed)(struct ovb_chan *chan, void *role_ctx, int err);
};

struct ovb_chan_params {
	const char *name;
	uint32_t relid;
	uint16_t subidx;
	void *out_ctl, *out_data; /**< the ring we write */
	uint32_t out_size;
	void *in_ctl, *in_data;   /**< the ring we read */
	uint32_t in_size;
	/** Paged rings (data NULL): one pointer per data page, borrowed. */
	uint8_t *const *out_pages, *const *in_pages;
	int wait_fd;   /**< eventfd the worker waits on (owned), -1: create */
	int signal_fd; /**< eventfd that signals the peer (owned), -1: slow */
	const struct ovb_chan_role_ops *role;
	void *role_ctx;
	ovb_chan_recv_fn *recv; /**< device receive callback */
	void *ctx;              /**< device context */
	void *tap;              /**< host: the capture's view (a vsp dev) */
};

/**
 * Create a channel (not started).  Returns 0, -EINVAL, -ENOMEM.  The
 * channel owns @p's fds from success on; on failure they stay the caller's.
 */
int ovb__chan_create(const struct ovb_chan_params *p, struct ovb_chan **out);

struct ovb__loop;

/**
 * Caller-driven: run this channel in @loop (bus/loop.h) instead of on a
 * worker thread.  Before ovb__chan_start().
 */
void ovb__chan_set_loop(struct ovb_chan *chan, struct ovb__loop *loop);

/**
 * Start the worker thread, or put the channel's fds in its loop.
 * Returns 0 or -errno.
 */
int ovb__chan_start(struct ovb_chan *chan);

/** Wake the worker (also a worker parked by a sleeping caller). */
void ovb__chan_wake(struct ovb_chan *chan);

/**
 * A slow-path signal from the peer arrived: wake whoever waits for the
 * peer -- the worker, or a caller sleeping in its place
 * (ovb_chan_poll_sleep), not both.
 */
void ovb__chan_peer_signal(struct ovb_chan *chan);

/**
 * Fast path: also wait on @wait_fd and signal the peer through @signal_fd
 * (both owned by the channel from now on; -1 leaves that side as it is).
 */
void ovb__chan_set_peer_fds(struct ovb_chan *chan, int wait_fd, int signal_fd);

/**
 * Stop the worker (joins it unless called from it) -- or, caller-driven,
 * take the channel out of its loop and wait for a turn running on another
 * thread -- and complete tracked requests with NULL.  Idempotent.
 */
void ovb__chan_stop(struct ovb_chan *chan);

/** Free a stopped channel. */
void ovb__chan_destroy(struct ovb_chan *chan);

/**
 * Signal the peer: eventfd if installed, else the role's slow path.  The
 * data path signals only as the ring rules say; a role calls this itself
 * for a signal the rules do not cover (the one after OPENCHANNEL_RESULT).
 */
void ovb__chan_signal_peer(struct ovb_chan *chan);

/** The role context. */
void *ovb__chan_role_ctx(const struct ovb_chan *chan);

/** True once the peer's fast-path signals come through an event fd. */
bool ovb__chan_has_peer_fd(const struct ovb_chan *chan);

/** The local eventfd the worker waits on (for a link to pass to a peer). */
int ovb__chan_wait_fd(const struct ovb_chan *chan);

#endif
