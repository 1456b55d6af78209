/* SPDX-License-Identifier: MIT */
/*
 * A small pcapng writer: section header, interface description, enhanced
 * packet and interface statistics blocks, appended to a memory buffer and
 * flushed to a file descriptor.  Layer: core.  Format: the pcapng draft
 * (draft-ietf-opsawg-pcapng), little-endian blocks, 32-bit padding.
 *
 * Why our own: libpcap 1.10 (Debian 12) writes only classic pcap through
 * pcap_dump(), which has one link type per file and no per-packet
 * options or statistics blocks.  libwiretap (libwiretap-dev 4.0 in Debian
 * 12) writes pcapng, but it is GPL-2.0-or-later while this library is
 * MIT, it brings GLib, and its soname changes with every Wireshark
 * release (libwiretap13).  The four block types we need are about 200
 * lines.
 *
 * Threads: a writer is not locked; one thread owns it.
 */
#ifndef OPENVMBUS_PCAPNG_H
#define OPENVMBUS_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "api.h"

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_ISB 0x00000005u
#define PCAPNG_BOM 0x1A2B3C4Du

/* Option codes used here. */
#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_SHB_USERAPPL 4
#define PCAPNG_IF_NAME 2
#define PCAPNG_IF_DESCRIPTION 3
#define PCAPNG_IF_TSRESOL 9
#define PCAPNG_EPB_FLAGS 2
#define PCAPNG_ISB_STARTTIME 2
#define PCAPNG_ISB_ENDTIME 3
#define PCAPNG_ISB_IFRECV 4
#define PCAPNG_ISB_IFDROP 5

/* epb_flags direction bits (0-1): 1 inbound, 2 outbound. */
#define PCAPNG_EPB_INBOUND 1u
#define PCAPNG_EPB_OUTBOUND 2u

/** LINKTYPE_USER0: the link type of every openvmbus interface. */
#define PCAPNG_LINKTYPE_USER0 147

struct ovb_pcapng {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	int err; /**< first write error (negative errno), sticky */
};

/** Start a writer on @fd (not owned).  Returns 0 or -ENOMEM. */
OVB_API
int ovb_pcapng_init(struct ovb_pcapng *w, int fd);

/** Free the buffer (does not flush or close the fd). */
OVB_API
void ovb_pcapng_fini(struct ovb_pcapng *w);

/** Append a section header block naming @appl (shb_userappl). */
OVB_API
int ovb_pcapng_shb(struct ovb_pcapng *w, const char *appl);

/**
 * Append an interface description block: @linktype, @snaplen, if_name
 * @name, if_description @desc (may be NULL) and if_tsresol 9 (ns).
 */
OVB_API
int ovb_pcapng_idb(struct ovb_pcapng *w, uint16_t linktype, uint32_t snaplen,
		   const char *name, const char *desc);

/**
 * Append an enhanced packet block: interface @ifidx, timestamp @ts_ns
 * (nanoseconds, matching if_tsresol 9), captured bytes from @iov (their
 * sum) and @orig_len on the wire, epb_flags @flags (0: no option).
 */
OVB_API
int ovb_pcapng_epb(struct ovb_pcapng *w, uint32_t ifidx, uint64_t ts_ns,
		   const struct iovec *iov, int iovcnt, uint32_t orig_len,
		   uint32_t flags);

/** Append an interface statistics block with isb_ifrecv and isb_ifdrop. */
OVB_API
int ovb_pcapng_isb(struct ovb_pcapng *w, uint32_t ifidx, uint64_t ts_ns,
		   uint64_t start_ns, uint64_t recv, uint64_t drop);

/** Write the buffered blocks to the fd.  Returns 0 or -errno (sticky). */
OVB_API
int ovb_pcapng_flush(struct ovb_pcapng *w);

#endif
