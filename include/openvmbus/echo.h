/* SPDX-License-Identifier: MIT */
/*
 * The echo test device, both sides.  Layer: devices.  The host VSP is
 * registered like any other; the guest side is a driver that collects echo
 * offers plus a synchronous request API used by tests, `vmbus guest` and
 * the ring benchmark.
 */
#ifndef OPENVMBUS_ECHO_H
#define OPENVMBUS_ECHO_H

#include "api.h"
#include "client.h"
#include "server.h"
#include "vsc.h"
#include "vsp.h"
#include "wire/echo.h"

/* ---- host ---- */

/** Per-server echo configuration. */
struct ovb_echo_vsp_cfg {
	unsigned int instances; /**< echo devices offered per partition */
	bool monitored;         /**< offer with monitor ids */
};

/** The echo VSP's ops (register with ovb_server_register_vsp). */
OVB_API
extern const struct ovb_vsp_ops ovb_echo_vsp_ops;

/* ---- guest ---- */

#define OVB_ECHO_MAX_DEVS 8

/** Collected echo offers (the driver's context). */
struct ovb_echo_driver_ctx {
	struct ovb_vsc_dev *dev[OVB_ECHO_MAX_DEVS]; /**< primaries */
	unsigned int ndev;
	struct ovb_vsc_dev *sub[OVB_ECHO_MAX_DEVS]; /**< sub-channels seen */
	unsigned int nsub;
	unsigned int removed;
};

/** The echo driver (ovb_client_register_driver with a ctx above). */
OVB_API
extern const struct ovb_vsc_driver ovb_echo_driver;

struct ovb_echo;

/** Open an echo channel on @dev with @ring bytes each way. */
OVB_API
int ovb_echo_open(struct ovb_vsc_dev *dev, uint32_t ring,
		  const struct ovb_vsc_open_params *extra,
		  struct ovb_echo **out);

/** Close the channel and free. */
OVB_API
void ovb_echo_close(struct ovb_echo *e);

OVB_API
struct ovb_chan *ovb_echo_chan(struct ovb_echo *e);

/**
 * One synchronous request: @req (header + data) in-band or, with @buf,
 * as a GPA-direct packet over @buf (guest memory).  The reply's header
 * and up to @rlen data bytes land in @reply.  Returns 0 or -errno
 * (-ETIMEDOUT, -ECONNRESET, -EIO when the reply is malformed).
 */
OVB_API
int ovb_echo_call(struct ovb_echo *e, const struct echo_msg *req,
		  const void *data, const void *buf, size_t buflen,
		  struct echo_msg *reply, void *rdata, size_t rlen,
		  int timeout_ms);

/**
 * Polling mode for calls: the calling thread drains the channel itself
 * (ovb_chan_poll) while it waits, instead of sleeping until the worker
 * delivers the completion.
 */
OVB_API
void ovb_echo_set_polling(struct ovb_echo *e, bool on);

/** Tell the driver where transfer-page data lands (its receive buffer). */
OVB_API
void ovb_echo_set_buffer(struct ovb_echo *e, void *buf, size_t len);

/** Transfer-page packets received and validated so far. */
OVB_API
uint64_t ovb_echo_xfer_count(const struct ovb_echo *e);
/** FNV-1a 64 of the last transfer-page packet's data. */
OVB_API
uint64_t ovb_echo_xfer_hash(const struct ovb_echo *e);

/** FNV-1a 64, the hash ECHO_OP_SUM uses. */
OVB_API
uint64_t ovb_echo_fnv(uint64_t h, const void *p, size_t n);
#define OVB_ECHO_FNV_INIT 0xcbf29ce484222325ull

#endif
