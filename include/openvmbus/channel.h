/* SPDX-License-Identifier: MIT */
/*
 * The channel API both roles share: one open VMBus channel, its ring pair,
 * its worker thread and its signalling.  Layer: bus.  Devices (VSPs on the
 * host, VSCs in the guest) see only this API and the role's device API.
 *
 * Threads: each open channel has one worker thread (or shares one with
 * other channels of a group, ovb_chan_set_group below).  It drains the inbound
 * ring with interrupt_mask set, calls the receive callback once per packet
 * and the idle callback once per drained batch, optionally spins for a
 * bounded time (polling mode), then unmasks and sleeps on the channel's
 * eventfds.  Sends may come from any thread; they are serialised by the
 * channel's send lock.
 *
 * Rule against deadlock: a guest driver never blocks on a full ring from
 * its worker thread (it sends requests from other threads and only
 * consumes completions there); a host device may block in its worker when
 * it sends completions, because the guest's worker keeps draining.
 */
#ifndef OPENVMBUS_CHANNEL_H
#define OPENVMBUS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "gpadl.h"
#include "wire/ring.h"

struct ovb_chan;

/** A received packet, parsed and validated; valid during the callback. */
struct ovb_pkt {
	uint16_t type;  /**< VM_PKT_DATA_INBAND, _XFER_PAGES, _GPA_DIRECT, _COMP */
	uint16_t flags; /**< VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED */
	uint64_t xid;   /**< transaction id */
	const void *data; /**< payload after the type's header */
	uint32_t len;     /**< payload bytes */
	/* VM_PKT_DATA_USING_XFER_PAGES */
	uint16_t xfer_pageset_id;
	uint32_t xfer_cnt;
	const struct vmtransfer_page_range *xfer; /**< xfer_cnt ranges */
	/* VM_PKT_DATA_USING_GPA_DIRECT */
	uint32_t range_cnt;
	const struct ovb_gpa_range *ranges; /**< range_cnt parsed ranges */
};

/** Receive callback: one packet, on the channel's worker thread. */
typedef void ovb_chan_recv_fn(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			      void *ctx);

/**
 * Completion of a tracked request: @pkt is the VM_PKT_COMP, or NULL when
 * the channel closed or failed first.  Runs on the worker thread (or on the
 * closing thread for NULL).
 */
typedef void ovb_chan_comp_fn(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			      void *ctx);

/** Called on the worker after each drained batch (flush batched work). */
typedef void ovb_chan_idle_fn(struct ovb_chan *chan, void *ctx);

/** Called on the worker when an extra fd (ovb_chan_add_fd) is readable. */
typedef void ovb_chan_fd_fn(struct ovb_chan *chan, int fd, void *ctx);

/**
 * Polling hook, on the worker while it spins (polling mode): look for
 * device work that arrives without a signal (an io_uring completion queue),
 * handle it, and return true if there was any.  Must not make system calls
 * when there is nothing to do: it runs in a tight loop.
 */
typedef bool ovb_chan_spin_fn(struct ovb_chan *chan, void *ctx);

/**
 * Busy hook, on the worker after a drain: while the device waits for
 * answers that come without a packet or a signal to the channel (a remote
 * disk's requests on their way to the server), which the spin hook finds,
 * the longest wait for them worth a spin, in microseconds (the channel's
 * bound caps it; UINT32_MAX: that bound); 0 when it waits for none, or
 * when whoever answers wakes the worker anyway and only a short spin
 * pays.  No system call: it runs once per drain.
 */
typedef uint32_t ovb_chan_busy_fn(struct ovb_chan *chan, void *ctx);

/** Flags of a send. */
#define OVB_SEND_COMPLETION 0x1u /**< set completion-requested (untracked) */
#define OVB_SEND_NONBLOCK 0x2u   /**< -EAGAIN instead of waiting for room */

/** Everything one packet carries; unused parts zero. */
struct ovb_send {
	uint16_t type;        /**< VM_PKT_DATA_INBAND (default if 0), ... */
	uint32_t flags;       /**< OVB_SEND_* */
	uint64_t xid;         /**< ignored when on_comp is set */
	const void *data;     /**< in-band payload */
	size_t len;
	/* VM_PKT_DATA_USING_GPA_DIRECT: encoded vmbus_gpa_range records */
	const void *ranges;
	size_t ranges_len;
	uint32_t range_cnt;
	/* VM_PKT_DATA_USING_XFER_PAGES */
	uint16_t xfer_pageset_id;
	const struct vmtransfer_page_range *xfer;
	uint32_t xfer_cnt;
	/* tracked request: an xid is allocated and on_comp called once */
	ovb_chan_comp_fn *on_comp;
	void *comp_ctx;
	/** Wait for ring room at most this long; 0: the channel's timeout. */
	int timeout_ms;
};

/** Counters of one channel (monotonic). */
struct ovb_chan_stats {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
	uint64_t signals_in, signals_out; /**< wake-ups received / sent */
	uint64_t ring_full;               /**< sends that waited for room */
	uint64_t errors;                  /**< bad packets from the peer */
	/** polling-mode spins that found work (sleeps saved); on a stream
	 *  channel those of the polling extension after the adaptive spin */
	uint64_t spin_hits;
	uint64_t polled;      /**< packets drained by ovb_chan_poll() callers */
	uint64_t commits_out; /**< write_index updates that published packets */
	/** adaptive spins that found work (sleeps saved): interrupt mode,
	 *  and polling mode's first part on a stream channel */
	uint64_t adapt_hits;
	uint64_t sleeps;      /**< times the worker slept, ring unmasked */
	/** microseconds spent in adaptive spins (either mode) */
	uint64_t adapt_spin_us;
	/** spins ended because a yield found the CPU wanted by another
	 *  thread and the ring still empty (the spin took time it needed) */
	uint64_t spin_crowded;
};

/**
 * Send one packet.  Blocks up to the channel's send timeout while the ring
 * is full unless OVB_SEND_NONBLOCK.  Returns 0; -EAGAIN; -ETIMEDOUT;
 * -EMSGSIZE (larger than the ring); -ECONNRESET (closed or failed);
 * -EINVAL (bad arguments); -ENOSPC (too many tracked requests).
 */
OVB_API
int ovb_chan_send(struct ovb_chan *chan, const struct ovb_send *s);

/**
 * Send @req as a tracked request (its on_comp is ignored) and wait up to
 * @timeout_ms for the completion.  Its payload, up to @cap bytes, is
 * copied to @reply and its full length stored in *@len (may exceed
 * @cap: the caller validates).  With @poll the calling thread drains the
 * channel itself while it waits (ovb_chan_poll).  A request that times
 * out is abandoned; its late completion is dropped.  Never from the
 * channel's own worker.  Returns 0, -ETIMEDOUT, -ECONNRESET (closed
 * first), -ENOMEM, or an error of ovb_chan_send().
 */
OVB_API
int ovb_chan_call(struct ovb_chan *chan, const struct ovb_send *req,
		  void *reply, size_t cap, size_t *len, int timeout_ms,
		  bool poll);

/** Send @len bytes in-band.  Errors as ovb_chan_send(). */
OVB_API
int ovb_chan_send_inband(struct ovb_chan *chan, const void *data, size_t len,
			 uint64_t xid, uint32_t flags);

/** Send a VM_PKT_COMP for @xid with @len bytes.  Errors as ovb_chan_send(). */
OVB_API
int ovb_chan_send_comp(struct ovb_chan *chan, uint64_t xid, const void *data,
		       size_t len);

/**
 * Free bytes in the outbound ring now, for a sender that must not wait
 * for room (compare ovb_ring_packet_space() of what it will send): the
 * peer's reads only add to it, other threads' sends take from it.  Any
 * thread.
 */
OVB_API
uint32_t ovb_chan_send_room(struct ovb_chan *chan);

/**
 * Open a send batch on the calling thread: packets sent until
 * ovb_chan_batch_end() are published with one index update and at most one
 * signal.  Holds the send lock; other threads' sends wait.
 */
OVB_API
void ovb_chan_batch_begin(struct ovb_chan *chan);

/** Publish the batch and signal the peer if the ring rules say so. */
OVB_API
void ovb_chan_batch_end(struct ovb_chan *chan);

/**
 * Reply batching: packets the callbacks send on this channel while it is
 * drained (by the worker or a polling caller) are staged in the ring and
 * published together when the drain ends -- one index update and at most
 * one signal for the batch instead of one per packet.  No lock is held
 * across the callbacks: they may send on other channels, and a send from
 * another thread meanwhile publishes the staged packets with its own.  A
 * callback whose send finds the ring full publishes what is staged first.
 * Any thread, any time (it applies from the next drain).
 */
OVB_API
void ovb_chan_set_reply_batch(struct ovb_chan *chan, bool on);

/**
 * With reply batching: publish the staged replies also every @n packets
 * the drain dispatched (0, the default: only when the drain ends).  For a
 * channel whose packets each carry much work (netvsp's sends of 64
 * frames), so that the peer's first replies do not wait for the whole
 * drain; a commit signals only if the peer had read everything before it,
 * so a peer still reading costs no signal.  Any thread, any time.
 */
OVB_API
void ovb_chan_set_reply_every(struct ovb_chan *chan, unsigned int n);

/**
 * Polling mode: the worker spins up to @spin_us microseconds with
 * interrupts masked before it sleeps; 0 selects interrupt mode.  It
 * stops spinning early when a caller polls the channel (ovb_chan_poll),
 * so that a caller that spins on its own completions is the only
 * spinner on this side.  On a stream channel (ovb_chan_set_adaptive) the
 * spin begins as interrupt mode's adaptive spin, and what polling adds
 * after it gives way while another thread wants the CPU.
 */
OVB_API
void ovb_chan_set_poll(struct ovb_chan *chan, uint32_t spin_us);

/**
 * Adaptive spinning in interrupt mode, for channels that carry streams (a
 * NIC's): after a sleep that ended within 500 us the worker spins up to
 * 64 us after each drain before it sleeps again, longer while spins find
 * work, shorter while they do not, none once idle.  Off by default:
 * request/reply traffic gains nothing from it.  Any thread.
 */
OVB_API
void ovb_chan_set_adaptive(struct ovb_chan *chan, bool on);

/**
 * Adaptive spinning in interrupt mode for a request/reply channel (a
 * disk's): the worker learns the gap between its last reply and the next
 * request (the longest recent one, decaying) and, while that gap is at
 * most @max_us, spins twice the gap after each drain instead of sleeping
 * and being woken for the next request.  A spin that meets nothing halves
 * the bound; a sleep longer than @max_us turns the spin off until short
 * gaps come back, so an idle channel spins at most once, @max_us, after
 * its last request.  0: off.  Any thread.
 */
OVB_API
void ovb_chan_set_adaptive_reply(struct ovb_chan *chan, uint32_t max_us);

/**
 * Spin while the device is busy (@fn, see ovb_chan_busy_fn): after a
 * drain, while @fn says answers are on their way, the worker spins on the
 * ring, and every 4 us the spin hook, instead of sleeping, giving the CPU
 * away after each look (the server answering may share its core), for a
 * budget learnt from how long answers took: twice the longest recent
 * wait, decaying, 16 us to @max_us.  A spin that meets nothing halves the
 * budget (none below 4 us); one whose yield found the core wanted by
 * another thread ends (spin_crowded: a sleep there costs no wake-up from
 * deep idle); a sleep begun busy that ended within @max_us re-arms it.
 * So the worker is up when the answer comes, instead of being woken
 * from an idle core for every batch.  @fn's answer lowers @max_us for the
 * waits at hand (an engine that wakes the worker itself: only waits
 * shorter than a wake-up are worth a spin).  Counted as adaptive spins
 * (adapt_hits, adapt_spin_us).  The answers are found by the spin hook
 * (ovb_chan_set_spin) or on the ring.  @max_us 0: off.  Call before the
 * channel starts, or from any thread.
 */
OVB_API
void ovb_chan_set_busy(struct ovb_chan *chan, ovb_chan_busy_fn *fn,
		       uint32_t max_us);

/**
 * Give the worker's spin a device hook (see ovb_chan_spin_fn).  With a
 * hook the worker no longer polls its extra fds between batches; they are
 * watched while it sleeps.  Call before the channel starts (open), or
 * (worker channels) from any thread while it runs.
 */
OVB_API
void ovb_chan_set_spin(struct ovb_chan *chan, ovb_chan_spin_fn *fn);

/**
 * Drain the inbound ring on the calling thread, dispatching callbacks here
 * (for a thread that spins on its own completion instead of waiting for
 * the worker: two spinners on two cores, not three).  Masks interrupts
 * while it polls, and leaves them masked: call ovb_chan_poll_end() before
 * the thread stops polling.  Several threads may poll one channel; one
 * drains at a time.  Returns packets handled (0 if another thread holds
 * the ring right now) or -ECONNRESET / -EBADMSG.
 */
OVB_API
int ovb_chan_poll(struct ovb_chan *chan);

/**
 * Stop polling: unmask and re-check so no arrival goes unsignalled.  Ends
 * the polling of every caller of the channel (each may poll again).
 */
OVB_API
void ovb_chan_poll_end(struct ovb_chan *chan);

/**
 * Sleep in the workers' place: for a caller that polls @chans (up to 16)
 * and found nothing, unmask their rings and wait up to @timeout_ms (-1:
 * no limit) for the peer's next signal on any of them, or for @extra_fd
 * (the caller's own eventfd, e.g. written by its completion callbacks;
 * -1: none) to be readable.  Meanwhile their workers stay asleep (the
 * channels are parked), so a signal wakes this thread alone; poll again
 * after it returns, and call ovb_chan_poll_end() on each channel before
 * the thread stops polling for good (that wakes the workers back).  A
 * worker asleep from before may still take one signal and run the
 * callbacks itself: @extra_fd is how the caller hears of that.  Returns
 * 0 if something arrived before the sleep or the time ran out, the
 * number of fds ready, -ECONNRESET if every channel is closed, -EINVAL
 * (more than 16), -errno.  Blocks.
 */
OVB_API
int ovb_chan_poll_sleep(struct ovb_chan *const *chans, unsigned int n,
			int extra_fd, int timeout_ms);

/**
 * Help a caller that polls the channel: drain it as ovb_chan_poll() does,
 * but only while some caller polls it (between its ovb_chan_poll() and
 * the next ovb_chan_poll_end(), checked under the ring's lock).  Otherwise
 * 0, the ring left as it is: a thread that saw ovb_chan_polling() true a
 * moment ago never masks a ring whose poller has meanwhile handed it back
 * to the worker (it would stay masked, its arrivals unsignalled, with
 * nobody reading).  Returns as ovb_chan_poll().
 */
OVB_API
int ovb_chan_poll_join(struct ovb_chan *chan);

/** True while a caller polls the channel (a hint: it may change at once). */
OVB_API
bool ovb_chan_polling(const struct ovb_chan *chan);

/**
 * Hold (@hold true) or release reading of the inbound ring.  While held,
 * no packet is taken out of the ring: the packets wait there, and the
 * ring's own flow control (full ring, pending_send_sz) holds the peer
 * back.  A device out of room for requests holds before its last free
 * slot is gone, so no request ever finds it full.  The worker still waits
 * for its extra fds meanwhile.  Any thread; releasing wakes the worker.
 */
OVB_API
void ovb_chan_hold_rx(struct ovb_chan *chan, bool hold);

/** Blocking-send timeout in milliseconds (default 30000). */
OVB_API
void ovb_chan_set_send_timeout(struct ovb_chan *chan, int ms);

/**
 * Set the idle callback, called after every drain by the thread that
 * drained, also after a drain that a corrupt ring ended (the channel has
 * failed then).  Any thread, before or while the channel runs: the worker
 * calls it from its next drain on.
 */
OVB_API
void ovb_chan_set_idle(struct ovb_chan *chan, ovb_chan_idle_fn *fn);

/**
 * Have the worker also wait for @fd and call @fn when it is readable (e.g.
 * an io_uring completion eventfd, or a TAP queue the worker reads
 * itself).  At most 4.  From the open callback, the worker, or (worker
 * channels) any thread while the channel runs, one adder at a time; @fd
 * must stay open until the channel is closed.  Returns 0 or -ENOSPC.
 */
OVB_API
int ovb_chan_add_fd(struct ovb_chan *chan, int fd, ovb_chan_fd_fn *fn);

/**
 * Watch an fd given to ovb_chan_add_fd (@on, the default) or leave it
 * unwatched: the worker neither sleeps on it nor calls its callback until
 * it is watched again (a device that cannot take more work from it now,
 * e.g. out of send buffers, keeps a level-triggered fd from waking it
 * over and over).  Any thread; turning it on from another thread wakes
 * the worker.  Returns 0, -ENOENT (not added) or -EOPNOTSUPP
 * (caller-driven channels).
 */
OVB_API
int ovb_chan_watch_fd(struct ovb_chan *chan, int fd, bool on);

/**
 * Wake the channel's worker for one more round (drain, idle callback, its
 * fds) as a signal would, without one from the peer.  Any thread.
 */
OVB_API
void ovb_chan_kick(struct ovb_chan *chan);

/** The device context given when the channel was opened. */
OVB_API
void *ovb_chan_ctx(const struct ovb_chan *chan);

/**
 * Replace the device context (a VSP's open callback may set per-channel
 * state).  Call before the channel starts.
 */
OVB_API
void ovb_chan_set_ctx(struct ovb_chan *chan, void *ctx);

/** relid, sub-channel index. */
OVB_API
uint32_t ovb_chan_relid(const struct ovb_chan *chan);
OVB_API
uint16_t ovb_chan_subidx(const struct ovb_chan *chan);

/** Name for log lines ("echo0 relid 3"). */
OVB_API
const char *ovb_chan_name(const struct ovb_chan *chan);

/** True once the channel failed or is closing. */
OVB_API
bool ovb_chan_is_dead(const struct ovb_chan *chan);

/*
 * Shared workers.  A group is one thread that runs several channels in
 * place of a worker each: it drains each ring in turn (up to 64 packets),
 * runs each channel's idle hook and extra fds, spins adaptively over all
 * the rings while traffic flows, and sleeps on all their fds at once.
 * A device puts a channel in a group from its open callback
 * (ovb_chan_set_group); close, rescind and failure work as with a worker
 * of its own, and a channel that fails (a corrupt ring) leaves the others
 * running.  Rule against deadlock, as for a guest's worker that sends: a
 * callback on the group's thread must never wait for something that only
 * that thread would do -- a completion on another channel of the group
 * (ovb_chan_runs_here tells) -- but fail with -EAGAIN or drop instead.
 * Waiting for the peer (ring room) is allowed, as on any host worker, and
 * holds up every channel of the group meanwhile.
 */
struct ovb_chan_group;

/** Channels one group may hold at most. */
#define OVB_CHAN_GROUP_MAX 64u

/** Counters of a group (monotonic, but members: channels in it now). */
struct ovb_chan_group_stats {
	uint64_t members;
	uint64_t rounds;    /**< passes over every channel */
	uint64_t sleeps;    /**< times the thread slept, rings unmasked */
	uint64_t spin_hits; /**< spins over the rings that found work */
	uint64_t spin_us;   /**< microseconds spent in those spins */
};

/**
 * Create a group and start its thread (named @name, at most 15
 * characters, as ps -L shows it).  Returns 0, -ENOMEM, or -errno.
 */
OVB_API
int ovb_chan_group_create(const char *name, struct ovb_chan_group **out);

/** Stop the thread and free; every channel must have left (closed). */
OVB_API
void ovb_chan_group_destroy(struct ovb_chan_group *g);

/** Copy the group's counters.  Any thread. */
OVB_API
void ovb_chan_group_get_stats(struct ovb_chan_group *g,
			      struct ovb_chan_group_stats *st);

/**
 * Run @chan on @g's thread instead of a worker of its own.  From the
 * open callback, before the channel starts.  Returns 0, -EBUSY (started)
 * or -EOPNOTSUPP (a caller-driven server's channel: the embedder's
 * threads run it).  The start fails with -ENOSPC when the group is full.
 */
OVB_API
int ovb_chan_set_group(struct ovb_chan *chan, struct ovb_chan_group *g);

/**
 * True on the thread that drains @chan: its worker, its group's thread
 * (while running any channel of the group), or the caller-driven turn of
 * it.  A device uses it to never wait, on that thread, for what only the
 * channel's own drain would bring (its completions).
 */
OVB_API
bool ovb_chan_runs_here(const struct ovb_chan *chan);

/**
 * Take up to @max completions (VM_PKT_COMP) waiting at the head of the
 * inbound ring and dispatch them on the calling thread now, stopping at
 * the first packet of another type, which stays for the channel's own
 * drain (which dispatches them first, in order; the channel's runner is
 * woken for them).  For a device on a shared worker that needs a
 * completion that would otherwise be drained only on the channel's next
 * turn, or by a thread that is itself waiting (netvsp's receive-slot
 * returns).  Any thread; 0 while another thread drains the ring (unless
 * that thread lent it, below).  Returns the completions taken,
 * -ECONNRESET, or -EBADMSG (the ring is corrupt: the channel has failed).
 */
OVB_API
int ovb_chan_reap(struct ovb_chan *chan, unsigned int max);

/**
 * From a callback about to wait for something another thread may be
 * waiting for in turn (netvsp: two host workers, each short of the other
 * guest's receive slots): lend the ring this thread is draining, so that
 * ovb_chan_reap from other threads can take its completions meanwhile
 * (the packets in front of them set aside for this drain, which goes on
 * with them, in order, after ovb_chan_lend_end).  Nothing else reads the
 * ring in between.  Returns the channel lent, or NULL if this thread is
 * in no drain (or lent it already).  Every non-NULL return must be ended
 * with ovb_chan_lend_end on the same thread before the callback returns.
 */
OVB_API
struct ovb_chan *ovb_chan_lend_begin(void);
OVB_API
void ovb_chan_lend_end(struct ovb_chan *chan);

/** Copy the counters. */
OVB_API
void ovb_chan_get_stats(const struct ovb_chan *chan,
			struct ovb_chan_stats *st);

/** Inbound/outbound ring: data size, bytes used, interrupt_mask state. */
struct ovb_chan_ring_info {
	uint32_t out_size, out_used, in_size, in_used;
	bool out_peer_masked, in_masked;
};
OVB_API
void ovb_chan_get_ring_info(const struct ovb_chan *chan,
			    struct ovb_chan_ring_info *ri);

/**
 * Mark the channel failed (a device found the peer's data unusable): the
 * worker stops, tracked requests complete with NULL, the role is told.
 * Safe from any thread, including the worker.
 */
OVB_API
void ovb_chan_fail(struct ovb_chan *chan, int err, const char *why);

#endif /* OPENVMBUS_CHANNEL_H */
