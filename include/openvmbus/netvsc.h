/* SPDX-License-Identifier: MIT */
/*
 * netvsc: the guest side of the synthetic NIC.  Negotiates NVSP newest
 * first, sets up the receive and send buffers, initialises the RNDIS
 * device, negotiates checksum and LSO offloads, opens sub-channels and
 * sets RSS, and then moves frames: small ones batched into send-buffer
 * sections (several RNDIS packets per section and per signal), large ones
 * as page buffers; received frames are handed to a callback and completed
 * at once.  Everything the host sends is validated first.  Layer:
 * devices.  Spec: docs/wire.md B9; Linux drivers/net/hyperv/netvsc.c and
 * rndis_filter.c follow the same order.
 *
 * Threads: ovb_netvsc_open/close and the OID calls block and must not run
 * on a channel worker or the link thread.  ovb_netvsc_send may run on any
 * thread (one per queue is the intended use) and may wait for a free
 * send section, except inside a source's call on its worker
 * (ovb_netvsc_set_source), where nothing waits.  The receive and link
 * callbacks run on channel workers.
 */
#ifndef OPENVMBUS_NETVSC_H
#define OPENVMBUS_NETVSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "api.h"
#include "client.h"
#include "vsc.h"
#include "offload.h"

#define OVB_NETVSC_MAX_QUEUES 8u

/** A received frame, valid during the call; @queue is the channel index. */
typedef void ovb_netvsc_rx_fn(void *ctx, unsigned int queue,
			      const void *frame, size_t len,
			      const struct ovb_net_meta *meta);
/**
 * A received coalesced (RSC) frame in pieces, valid during the call, for a
 * receiver that can take it so (a TAP's writev): @iov[0] is a private copy
 * of the frame's headers, already in the form @meta describes (for a TSO
 * frame: the whole frame's IP lengths, IPv4 header checksum, TCP
 * pseudo-header seed); the other pieces point into the receive buffer in
 * place.  The host shares that buffer: their bytes are data that may
 * change under the callback, their lengths and places do not, and the
 * host gets the buffer back only after the call returns.  @len is the sum
 * of the @iovcnt pieces.
 */
typedef void ovb_netvsc_rxv_fn(void *ctx, unsigned int queue,
			       const struct iovec *iov, unsigned int iovcnt,
			       size_t len, const struct ovb_net_meta *meta);
/** The host reported media connect (@up) or disconnect. */
typedef void ovb_netvsc_link_fn(void *ctx, bool up);

struct ovb_netvsc_params {
	uint32_t max_nvsp;       /**< newest NVSP version to offer; 0: 6.1 */
	unsigned int queues;     /**< channels wanted, 1..8; 0: 1 */
	uint32_t ring_bytes;     /**< per direction; 0: 256 KiB */
	uint32_t recv_buf_bytes; /**< 0: 4 MiB */
	uint32_t send_buf_bytes; /**< 0: 4 MiB */
	bool no_send_buf;        /**< send every frame as page buffers */
	uint32_t poll_us;        /**< channel workers poll this long; 0: irq */
	/**
	 * Create the buffer GPADLs before OPEN_CHANNEL, as Linux's
	 * uio_hv_generic does at bind (DPDK's netvsc PMD then uses them).
	 */
	bool gpadls_before_open;
	/** Signal the host only through the monitor page (as DPDK does). */
	bool use_monitor;
	/**
	 * Do not ask for receive segment coalescing (NVSP 6.1 RSC), as Linux
	 * with LRO off: rsc_ip_v4/v6 DISABLED.  Otherwise it is asked for
	 * whenever NVSP 6.1 is negotiated.
	 */
	bool no_rsc;
	/**
	 * How long an RNDIS control request (QUERY, SET, KEEPALIVE) waits for
	 * the host's answer before the NIC calls the host silent (queues
	 * stopped, link down); 0: 5000 ms.
	 */
	uint32_t ctl_timeout_ms;
	ovb_netvsc_rx_fn *rx;
	ovb_netvsc_link_fn *link;
	void *ctx;
	/**
	 * Coalesced frames in place, without joining their fragments into
	 * one copy; NULL: joined and handed to @rx like any frame.  A frame
	 * whose headers do not all lie in its first fragment is joined and
	 * goes to @rx even so.
	 */
	ovb_netvsc_rxv_fn *rxv;
};

/** What was negotiated. */
struct ovb_netvsc_info {
	uint8_t mac[6];         /**< RNDIS permanent address */
	uint32_t mtu;           /**< OID_GEN_MAXIMUM_FRAME_SIZE */
	uint32_t nvsp_version;
	uint32_t ndis_version;
	unsigned int queues;    /**< channels open */
	bool link_up;
	uint32_t send_section;  /**< bytes per send section, 0 without */
	uint32_t recv_section;  /**< bytes per receive sub-allocation */
	uint32_t lso_max;       /**< largest LSO frame the host takes; 0 none */
	bool csum;              /**< checksum offload on */
	bool rsc;               /**< receive segment coalescing asked for */
};

struct ovb_netvsc_stats {
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_sends;      /**< SEND_RNDIS_PKT messages (batches) */
	uint64_t tx_pagebuf;    /**< frames sent as page buffers */
	uint64_t tx_errors;     /**< refused by the host or failed */
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_bad;        /**< host messages that failed validation */
	uint64_t rx_coalesced;  /**< coalesced frames joined and delivered */
	uint64_t rx_rsc_dropped; /**< coalesced frames dropped: bad fragments */
	uint64_t rx_rsc_inplace; /**< coalesced frames given to rxv in place */
};

/** Collected NIC offers: the driver's context. */
struct ovb_netvsc_driver_ctx {
	struct ovb_vsc_dev *dev[OVB_NETVSC_MAX_QUEUES];
	unsigned int ndev;
};

/** The driver (ovb_client_register_driver with a ctx above). */
OVB_API
extern const struct ovb_vsc_driver ovb_netvsc_driver;

struct ovb_netvsc;

/**
 * Bring up the NIC offered as @dev.  Returns 0; -EPROTONOSUPPORT (no NVSP
 * version accepted); -EIO (the host refused a step); -EBADMSG (a reply
 * failed validation); -ETIMEDOUT; -ENOMEM; -ECONNRESET.
 */
OVB_API
int ovb_netvsc_open(struct ovb_vsc_dev *dev, const struct ovb_netvsc_params *p,
		    struct ovb_netvsc **out);

/** HALT, revoke the buffers, close every channel, free. */
OVB_API
void ovb_netvsc_close(struct ovb_netvsc *n);

/**
 * Send one frame on @queue (mapped through the host's send indirection
 * table).  @meta may be NULL.  With @more the frame may wait in the
 * current send section for the next one; ovb_netvsc_flush() or a send
 * without @more sends it.  Returns 0; -EMSGSIZE; -EBADMSG (metadata does
 * not fit the frame); -ETIMEDOUT (no send buffer freed up); -ECONNRESET;
 * -ENETDOWN (queues stopped: the host left a control request unanswered,
 * and the link callback reported the link down).
 */
OVB_API
int ovb_netvsc_send(struct ovb_netvsc *n, unsigned int queue,
		    const void *frame, size_t len,
		    const struct ovb_net_meta *meta, bool more);

/** One frame of a burst: as ovb_netvsc_send()'s arguments. */
struct ovb_netvsc_frame {
	const void *frame;
	size_t len;
	const struct ovb_net_meta *meta; /**< may be NULL */
};

/**
 * Send @count frames on @queue, in order, as @count ovb_netvsc_send()
 * calls with @more set on all but the last (on the last too with @more),
 * under one hold of the queue's lock: for a sender with several frames
 * at hand (a poll-mode loop, a TAP reader's wake-up).  Returns the number
 * of frames taken; when frame i fails, i (the frames before it are sent,
 * unless @more) or, for the first, its error as ovb_netvsc_send()
 * returns it.  May wait for a free send section as ovb_netvsc_send().
 */
OVB_API
ssize_t ovb_netvsc_send_burst(struct ovb_netvsc *n, unsigned int queue,
			      const struct ovb_netvsc_frame *f,
			      unsigned int count, bool more);

/**
 * A frame buffer in guest memory, so that a large frame can go to the host
 * as page buffers where it lies, without a copy: read the frame into
 * @frame (up to @cap bytes) and hand it to ovb_netvsc_send_txbuf().
 */
struct ovb_netvsc_txbuf {
	uint8_t *frame;
	size_t cap;
	uint32_t idx; /* internal */
};

/**
 * Take a transmit buffer, waiting for one the host gives back.
 * Returns 0, -ETIMEDOUT or -ENOMEM.
 */
OVB_API
int ovb_netvsc_txbuf_get(struct ovb_netvsc *n, struct ovb_netvsc_txbuf *tb);

/** Give back a transmit buffer that was not consumed. */
OVB_API
void ovb_netvsc_txbuf_put(struct ovb_netvsc *n, struct ovb_netvsc_txbuf *tb);

/**
 * Send the @len-byte frame in @tb as ovb_netvsc_send() would.  A frame
 * that fits a send section is copied there and @tb stays the caller's
 * (returns 0); a larger one (an LSO frame) goes as page buffers from @tb
 * itself, RNDIS header in the room in front of it, and @tb is consumed
 * (returns 1; take another).  Errors as ovb_netvsc_send(); @tb stays the
 * caller's.
 */
OVB_API
int ovb_netvsc_send_txbuf(struct ovb_netvsc *n, unsigned int queue,
			  struct ovb_netvsc_txbuf *tb, size_t len,
			  const struct ovb_net_meta *meta, bool more);

/**
 * Drain @queue's channel on the calling thread: the host's completions of
 * this NIC's sends and the frames it received there are handled here,
 * their callbacks (rx, rxv) run on this thread.  For a thread that sends
 * a stream on @queue (a TAP reader): it reaps its own completions between
 * batches instead of waking the channel worker for them.  The ring stays
 * masked (the host does not signal, the worker sleeps) until
 * ovb_netvsc_poll_end(), which the thread must call before it sleeps on
 * anything else; a send that has to wait for a free buffer drains the
 * polled rings itself, then hands them back to their workers (not a send
 * from a receive callback: that waits as before).  Any
 * thread; one drains a ring at a time.  Returns packets handled (0 also
 * when another thread drains the ring right now) or -ECONNRESET.
 */
OVB_API
int ovb_netvsc_poll(struct ovb_netvsc *n, unsigned int queue);

/** Stop polling @queue: its worker takes the ring back (unmask, re-check). */
OVB_API
void ovb_netvsc_poll_end(struct ovb_netvsc *n, unsigned int queue);

/**
 * A frame source read by a queue's own channel worker (see
 * ovb_netvsc_set_source): read frames and send them on @queue until the
 * source is empty (return 0) or netvsc cannot take the next one now
 * (return -EAGAIN, the frame kept for the next call).  On that thread no
 * netvsc call waits: ovb_netvsc_txbuf_get and the sends return -EAGAIN
 * when no buffer is free or the ring is full, and a send that returns it
 * did not take the frame.  Frames go out on @queue's own channel.
 */
typedef int ovb_netvsc_source_fn(void *ctx, unsigned int queue);

/**
 * One thread per queue: @queue's channel worker also reads frames from a
 * source (a TAP queue) and sends them, so a frame read, its send
 * completion and the frames received on that queue never pass between
 * two threads.  The worker calls @fn when @fd (level-triggered, e.g. a
 * non-blocking TAP queue) is readable, after each transfer-page packet
 * it receives (what those frames made the stack queue goes out at once),
 * after every drain of its ring and now and then while it spins, and
 * flushes the queue after each call.  After -EAGAIN it leaves @fd
 * unwatched until a buffer comes back (the returning thread kicks it) or
 * its ring brings completions, then calls @fn again.  @fd must stay open
 * until ovb_netvsc_close().  Once per queue; any thread but a worker.
 * Returns 0, -EINVAL (no such queue, or it has a source), -ECONNRESET.
 */
OVB_API
int ovb_netvsc_set_source(struct ovb_netvsc *n, unsigned int queue, int fd,
			  ovb_netvsc_source_fn *fn, void *ctx);

/**
 * Switch every channel of the NIC (and those opened later) to polling
 * mode with a spin of @poll_us, or to interrupt mode with 0, as
 * ovb_netvsc_params.poll_us does at open (ovb_chan_set_poll).  Any
 * thread; a worker takes the new mode when its current spin ends.
 */
OVB_API
void ovb_netvsc_set_poll(struct ovb_netvsc *n, uint32_t poll_us);

/** Send whatever waits in @queue's current section. */
OVB_API
void ovb_netvsc_flush(struct ovb_netvsc *n, unsigned int queue);

OVB_API
void ovb_netvsc_get_info(struct ovb_netvsc *n, struct ovb_netvsc_info *info);
OVB_API
void ovb_netvsc_get_stats(struct ovb_netvsc *n, struct ovb_netvsc_stats *st);

/**
 * RNDIS QUERY of @oid: up to *@len bytes of the value land in @buf and
 * *@len becomes its size.  Returns 0, -EIO with the RNDIS status logged,
 * -EBADMSG, -ETIMEDOUT (the host stopped answering: the NIC stops its
 * queues and reports the link down), -ENETDOWN (it had already).
 */
OVB_API
int ovb_netvsc_query(struct ovb_netvsc *n, uint32_t oid, void *buf,
		     size_t *len);

/** RNDIS SET of @oid.  Returns 0 or as ovb_netvsc_query(). */
OVB_API
int ovb_netvsc_set(struct ovb_netvsc *n, uint32_t oid, const void *buf,
		   size_t len);

/** RNDIS KEEPALIVE round trip.  Returns 0 or as ovb_netvsc_query(). */
OVB_API
int ovb_netvsc_keepalive(struct ovb_netvsc *n);

#endif /* OPENVMBUS_NETVSC_H */
