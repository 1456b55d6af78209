/* SPDX-License-Identifier: MIT */
/*
 * A Linux TAP device as a frame source and sink: the host's uplink port on
 * the virtual switch, and the guest side's network interface.  Opens
 * /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (plus
 * IFF_MULTI_QUEUE for several queues, one fd each), sets MTU, MAC and link
 * state, enables offloads with TUNSETOFFLOAD, and moves frames with the
 * virtio-net header translated to and from struct ovb_net_meta.  Layer:
 * backends.  Interfaces: Linux Documentation/networking/tuntap.rst,
 * linux/if_tun.h, linux/virtio_net.h.  Library: libopenvmbus-linux
 * (pkg-config openvmbus-linux).
 *
 * Offload directions.  Frames written to a TAP may always carry partial
 * checksums and TSO (the kernel finishes or segments them), so as a switch
 * port a TAP takes CSUM, TSO4 and TSO6 but not an out-of-band VLAN tag:
 * ovb_net_tap_write() inserts tags into the frame.  ovb_net_tap_set_offload()
 * controls the other direction, what the kernel may hand to
 * ovb_net_tap_read(): without it every frame read is complete.
 *
 * The fds are non-blocking; wait on ovb_net_tap_fd() with poll or io_uring.
 * One thread per queue; the configuration calls may run on any thread.
 */
#ifndef OPENVMBUS_NET_TAP_H
#define OPENVMBUS_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "api.h"
#include "offload.h"

#define OVB_NET_TAP_MAX_QUEUES 16u

/* ovb_net_tap_set_offload() flags: what our reader accepts. */
#define OVB_NET_TAP_OFFLOAD_CSUM 0x01u /**< partial checksums */
#define OVB_NET_TAP_OFFLOAD_TSO4 0x02u /**< TSO over IPv4 (needs CSUM) */
#define OVB_NET_TAP_OFFLOAD_TSO6 0x04u /**< TSO over IPv6 (needs CSUM) */

/** Most pieces ovb_net_tap_writev() takes (the kernel's IOV_MAX, less
 * room for the virtio-net header and a VLAN tag). */
#define OVB_NET_TAP_MAX_IOV 1020u

/** Buffer size that holds any frame a TAP with TSO enabled can return. */
#define OVB_NET_TAP_MAX_FRAME 65550u

struct ovb_net_tap;

/**
 * Create (or attach to) the TAP @name, e.g. "tap0" or "ovb%d" for a
 * kernel-chosen number, with @queues queues (1..OVB_NET_TAP_MAX_QUEUES).
 * The device disappears when the last fd closes unless it was persistent.
 * Returns 0, -EINVAL (bad name or queue count), or the negative errno of
 * open/ioctl (-ENOENT without /dev/net/tun, -EPERM without CAP_NET_ADMIN,
 * -EBUSY if the device exists with other flags).
 */
OVB_API
int ovb_net_tap_open(const char *name, unsigned int queues,
		     struct ovb_net_tap **out);

/** Close every queue fd and free @tap. */
OVB_API
void ovb_net_tap_close(struct ovb_net_tap *tap);

/** The interface name the kernel assigned. */
OVB_API
const char *ovb_net_tap_name(const struct ovb_net_tap *tap);

/** The number of queues. */
OVB_API
unsigned int ovb_net_tap_queues(const struct ovb_net_tap *tap);

/** The fd of @queue, for poll(); -EINVAL for a bad queue. */
OVB_API
int ovb_net_tap_fd(const struct ovb_net_tap *tap, unsigned int queue);

/** Set the interface MTU.  Returns 0 or a negative errno (-EINVAL...). */
OVB_API
int ovb_net_tap_set_mtu(struct ovb_net_tap *tap, unsigned int mtu);

/**
 * Make the kernel hand over GSO frames of at most @bytes (the interface's
 * gso_max_size), in the calling thread's network namespace.  Returns 0
 * or a negative errno (a kernel that refuses the attribute: -EOPNOTSUPP
 * or -EINVAL).
 */
OVB_API
int ovb_net_tap_set_gso_max(struct ovb_net_tap *tap, uint32_t bytes);

/** Set the interface MAC address.  Returns 0 or a negative errno. */
OVB_API
int ovb_net_tap_set_mac(struct ovb_net_tap *tap, const uint8_t mac[6]);

/** Read the interface MAC address.  Returns 0 or a negative errno. */
OVB_API
int ovb_net_tap_get_mac(struct ovb_net_tap *tap, uint8_t mac[6]);

/** Bring the interface up or down.  Returns 0 or a negative errno. */
OVB_API
int ovb_net_tap_set_up(struct ovb_net_tap *tap, bool up);

/**
 * Tell the kernel which offloaded frames our reader accepts
 * (OVB_NET_TAP_OFFLOAD_*).  Returns 0 or a negative errno.
 */
OVB_API
int ovb_net_tap_set_offload(struct ovb_net_tap *tap, uint32_t flags);

/**
 * Read one frame from @queue into @buf and its metadata into @meta.
 * Returns the frame length, -EAGAIN when none is waiting, -EMSGSIZE if the
 * frame did not fit in @cap (it is lost), -EOPNOTSUPP for a GSO type we do
 * not handle, or another negative errno.  Never blocks.
 */
OVB_API
ssize_t ovb_net_tap_read(struct ovb_net_tap *tap, unsigned int queue,
			 void *buf, size_t cap, struct ovb_net_meta *meta);

/**
 * Write one frame to @queue; @meta may be NULL.  Partial checksums and TSO
 * go to the kernel in the virtio-net header; an out-of-band VLAN tag is
 * inserted into the frame and a pending IPv4 header checksum is computed
 * first (virtio has neither).  Returns the frame length written, -EAGAIN,
 * -EBADMSG if the metadata does not fit the frame, -ENOMEM, or another
 * negative errno.  Never blocks.
 */
OVB_API
ssize_t ovb_net_tap_write(struct ovb_net_tap *tap, unsigned int queue,
			  const void *frame, size_t len,
			  const struct ovb_net_meta *meta);

/**
 * ovb_net_tap_write() for a frame in @iovcnt pieces (at most
 * OVB_NET_TAP_MAX_IOV), written with one writev and no copy of the
 * pieces: an out-of-band VLAN tag goes in as a piece of its own (the
 * first piece must then hold the 12 bytes of MAC addresses, or the frame
 * is joined first); a pending IPv4 header checksum without TSO joins the
 * frame and takes the ovb_net_tap_write() path.  Returns and errors as
 * ovb_net_tap_write(), -EINVAL for too many pieces.  Never blocks.
 */
OVB_API
ssize_t ovb_net_tap_writev(struct ovb_net_tap *tap, unsigned int queue,
			   const struct iovec *iov, unsigned int iovcnt,
			   const struct ovb_net_meta *meta);

#endif /* OPENVMBUS_NET_TAP_H */
