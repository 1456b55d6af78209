// SPDX-License-Identifier: MIT
/*
 * The pcapng writer (include/openvmbus/pcapng.h): blocks are built in a
 * growing memory buffer, each as {type, total length, body, options,
 * total length} with every field little-endian and every variable part
 * padded to 32 bits, then written out by ovb_pcapng_flush().  Layer: core.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openvmbus/pcapng.h"

#define PAD4(n) (((n) + 3u) & ~(size_t)3u)

int ovb_pcapng_init(struct ovb_pcapng *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cap = 1 << 16;
	w->buf = malloc(w->cap);
	return w->buf ? 0 : -ENOMEM;
}

void ovb_pcapng_fini(struct ovb_pcapng *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* Make room for @n more bytes. */
static int reserve(struct ovb_pcapng *w, size_t n)
{
	size_t cap = w->cap;
	uint8_t *b;

	if (w->len + n <= w->cap)
		return 0;
	while (cap < w->len + n)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b)
		return -ENOMEM;
	w->buf = b;
	w->cap = cap;
	return 0;
}

static void put(struct ovb_pcapng *w, const void *p, size_t n)
{
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put32(struct ovb_pcapng *w, uint32_t v) { put(w, &v, 4); }
static void put16(struct ovb_pcapng *w, uint16_t v) { put(w, &v, 2); }
static void put64(struct ovb_pcapng *w, uint64_t v) { put(w, &v, 8); }

static void pad(struct ovb_pcapng *w, size_t n)
{
	static const uint8_t zero[4];

	put(w, zero, PAD4(n) - n);
}

/* One option: code, length, value, padding.  Room already reserved. */
static void opt(struct ovb_pcapng *w, uint16_t code, const void *v, size_t n)
{
	put16(w, code);
	put16(w, (uint16_t)n);
	put(w, v, n);
	pad(w, n);
}

static size_t opt_size(size_t n) { return 4 + PAD4(n); }

/* Open a block of @body bytes (excluding header and trailer). */
static int block_begin(struct ovb_pcapng *w, uint32_t type, size_t body)
{
	int rc;

	if (body > UINT32_MAX - 12)
		return -EMSGSIZE;
	if ((rc = reserve(w, body + 12)) != 0)
		return rc;
	put32(w, type);
	put32(w, (uint32_t)(body + 12));
	return 0;
}

int ovb_pcapng_shb(struct ovb_pcapng *w, const char *appl)
{
	size_t alen = strlen(appl);
	size_t body = 16 + opt_size(alen) + 4;
	int rc;

	if ((rc = block_begin(w, PCAPNG_SHB, body)) != 0)
		return rc;
	put32(w, PCAPNG_BOM);
	put16(w, 1); /* major */
	put16(w, 0); /* minor */
	put64(w, UINT64_MAX); /* section length unknown */
	opt(w, PCAPNG_SHB_USERAPPL, appl, alen);
	put32(w, PCAPNG_OPT_END);
	put32(w, (uint32_t)(body + 12));
	return 0;
}

int ovb_pcapng_idb(struct ovb_pcapng *w, uint16_t linktype, uint32_t snaplen,
		   const char *name, const char *desc)
{
	size_t nlen = strlen(name), dlen = desc ? strlen(desc) : 0;
	size_t body = 8 + opt_size(nlen) + (desc ? opt_size(dlen) : 0) +
		      opt_size(1) + 4;
	uint8_t tsresol = 9;
	int rc;

	if ((rc = block_begin(w, PCAPNG_IDB, body)) != 0)
		return rc;
	put16(w, linktype);
	put16(w, 0);
	put32(w, snaplen);
	opt(w, PCAPNG_IF_NAME, name, nlen);
	if (desc)
		opt(w, PCAPNG_IF_DESCRIPTION, desc, dlen);
	opt(w, PCAPNG_IF_TSRESOL, &tsresol, 1);
	put32(w, PCAPNG_OPT_END);
	put32(w, (uint32_t)(body + 12));
	return 0;
}

int ovb_pcapng_epb(struct ovb_pcapng *w, uint32_t ifidx, uint64_t ts_ns,
		   const struct iovec *iov, int iovcnt, uint32_t orig_len,
		   uint32_t flags)
{
	size_t caplen = 0, body;
	int rc;

	for (int i = 0; i < iovcnt; i++)
		caplen += iov[i].iov_len;
	if (caplen > UINT32_MAX / 2)
		return -EMSGSIZE;
	body = 20 + PAD4(caplen) + (flags ? opt_size(4) + 4 : 0);
	if ((rc = block_begin(w, PCAPNG_EPB, body)) != 0)
		return rc;
	put32(w, ifidx);
	put32(w, (uint32_t)(ts_ns >> 32));
	put32(w, (uint32_t)ts_ns);
	put32(w, (uint32_t)caplen);
	put32(w, orig_len < caplen ? (uint32_t)caplen : orig_len);
	for (int i = 0; i < iovcnt; i++)
		put(w, iov[i].iov_base, iov[i].iov_len);
	pad(w, caplen);
	if (flags) {
		opt(w, PCAPNG_EPB_FLAGS, &flags, 4);
		put32(w, PCAPNG_OPT_END);
	}
	put32(w, (uint32_t)(body + 12));
	return 0;
}

static void opt_ts(struct ovb_pcapng *w, uint16_t code, uint64_t ts)
{
	uint32_t v[2] = { (uint32_t)(ts >> 32), (uint32_t)ts };

	opt(w, code, v, 8);
}

int ovb_pcapng_isb(struct ovb_pcapng *w, uint32_t ifidx, uint64_t ts_ns,
		   uint64_t start_ns, uint64_t recv, uint64_t drop)
{
	size_t body = 12 + 4 * opt_size(8) + 4;
	int rc;

	if ((rc = block_begin(w, PCAPNG_ISB, body)) != 0)
		return rc;
	put32(w, ifidx);
	put32(w, (uint32_t)(ts_ns >> 32));
	put32(w, (uint32_t)ts_ns);
	opt_ts(w, PCAPNG_ISB_STARTTIME, start_ns);
	opt_ts(w, PCAPNG_ISB_ENDTIME, ts_ns);
	opt(w, PCAPNG_ISB_IFRECV, &recv, 8);
	opt(w, PCAPNG_ISB_IFDROP, &drop, 8);
	put32(w, PCAPNG_OPT_END);
	put32(w, (uint32_t)(body + 12));
	return 0;
}

int ovb_pcapng_flush(struct ovb_pcapng *w)
{
	size_t off = 0;

	while (!w->err && off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	w->len = 0;
	return w->err;
}
