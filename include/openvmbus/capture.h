/* SPDX-License-Identifier: MIT */
/*
 * Capture: every VMBus channel message and ring packet of a host, written
 * to a pcapng file (docs/capture.md).  Layer: core (the engine) and bus
 * (ovb_server_capture_*, which feed it from the server and the channels).
 *
 * Contract: producers (the link thread for messages, channel workers and
 * senders for packets) copy a record into the active one of two buffers
 * under a mutex held only for that copy; a writer thread swaps the
 * buffers and writes the full one to the file.  A record that does not
 * fit is dropped and counted per partition; the counts land in each
 * interface's statistics block (isb_ifdrop) when the capture stops.
 * Producers never wait for the file.
 */
#ifndef OPENVMBUS_CAPTURE_H
#define OPENVMBUS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "api.h"
#include "wire/capture.h"

struct ovb_capture;
struct ovb_server;

#define OVB_CAPTURE_SNAPLEN 1024u           /**< default referenced bytes */
#define OVB_CAPTURE_BUFFER (4u << 20)       /**< default size of each buffer */

struct ovb_capture_cfg {
	uint32_t snaplen;      /**< referenced bytes per packet; 0: default */
	size_t buffer;         /**< bytes per buffer (two); 0: default */
	const char *partition; /**< capture only this partition; NULL: all */
};

struct ovb_capture_stats {
	uint64_t records; /**< written */
	uint64_t drops;   /**< dropped: buffer full */
};

/**
 * Create @path and start the writer thread.  Returns 0; -EINVAL (bad
 * config); -errno from open(); -ENOMEM.
 */
OVB_API
int ovb_capture_open(const char *path, const struct ovb_capture_cfg *cfg,
		     struct ovb_capture **out);

/**
 * Write what is buffered and one statistics block per interface, close
 * the file and free @cap.  Fills @st if not NULL.  Returns 0 or the first
 * write error.  No ovb_capture_record() may run concurrently.
 */
OVB_API
int ovb_capture_close(struct ovb_capture *cap, struct ovb_capture_stats *st);

/** The snap length and partition filter in force. */
OVB_API
uint32_t ovb_capture_snaplen(const struct ovb_capture *cap);
OVB_API
const char *ovb_capture_partition(const struct ovb_capture *cap);

/**
 * Record one message or packet.  @hdr is completed here (magic, hdr_len,
 * pkt_len, data_len from the iovecs); the caller sets the rest, including
 * data_orig.  @part_name names the pcapng interface of @hdr->partition_id
 * the first time it is seen.  Any thread; never blocks on I/O.
 * Returns 0; -ENOBUFS (dropped and counted); -ENOSPC (too many partitions).
 */
OVB_API
int ovb_capture_record(struct ovb_capture *cap, struct ovb_cap_hdr *hdr,
		       const char *part_name, const struct iovec *pkt,
		       int npkt, const struct iovec *data, int ndata);

/* ---- the server's capture (src/bus/server_capture.c) -------------------- */

/**
 * Start capturing every partition of @srv (or cfg->partition) into @path.
 * One capture per process at a time.  Returns 0; -EBUSY (one is running);
 * the errors of ovb_capture_open().  Any thread.
 */
OVB_API
int ovb_server_capture_start(struct ovb_server *srv, const char *path,
			     const struct ovb_capture_cfg *cfg);

/**
 * Stop @srv's capture: waits for producers to leave, then closes the
 * file.  Returns 0; -ENOENT (none running for @srv); a write error.
 */
OVB_API
int ovb_server_capture_stop(struct ovb_server *srv,
			    struct ovb_capture_stats *st);

#endif
