// SPDX-License-Identifier: MIT
/*
 * The capture engine (include/openvmbus/capture.h): two record buffers,
 * a writer thread, and the pcapng file with one interface per partition.
 * Layer: core.
 *
 * Buffer contract: `active` is filled by producers under cap->lock, which
 * covers only the bounds check and the copy.  The writer takes the lock
 * to swap `active` and `spare` and to read the interface table, and
 * writes `spare` to the file with the lock released.  A producer that
 * finds no room drops its record and counts it; it never waits.  The
 * writer is woken when the active buffer passes half full, and every
 * 100 ms otherwise, so records reach the file while the host runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/capture.h"
#include "openvmbus/deadline.h"
#include "openvmbus/pcapng.h"

#define CAP_MAX_IFS 256

/* A record in a buffer, before it becomes an enhanced packet block. */
struct cap_rec {
	uint32_t len;    /* this record, 8-aligned, with the bytes */
	uint32_t ifidx;
	uint64_t ts_ns;
	uint32_t caplen; /* bytes that follow */
	uint32_t orig_len;
	uint32_t flags;  /* epb_flags */
	uint32_t pad;
};

struct cap_if {
	uint32_t partition_id;
	char name[64];
	uint64_t recv, drops;
};

struct cap_buf {
	uint8_t *p;
	size_t len;
};

struct ovb_capture {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cap_buf active, spare;
	size_t size;
	bool stop;
	struct cap_if ifs[CAP_MAX_IFS];
	uint32_t nifs;
	uint32_t last_if;   /* the last interface a producer used */
	uint64_t records, drops;
	uint64_t start_ns;

	uint32_t snaplen;
	char partition[64]; /* filter, "" for all */
	int fd;
	struct ovb_pcapng w;
	uint32_t ifs_written; /* IDBs in the file (writer only) */
	struct cap_if wifs[CAP_MAX_IFS]; /* the writer's copy of ifs */
	pthread_t writer;
};

uint32_t ovb_capture_snaplen(const struct ovb_capture *cap)
{
	return cap->snaplen;
}

const char *ovb_capture_partition(const struct ovb_capture *cap)
{
	return cap->partition[0] ? cap->partition : NULL;
}

/* The interface of @id, added if new; lock held.  -1 when the table is full. */
static int cap_if_find(struct ovb_capture *cap, uint32_t id, const char *name)
{
	if (cap->last_if < cap->nifs &&
	    cap->ifs[cap->last_if].partition_id == id)
		return (int)cap->last_if;
	for (uint32_t i = 0; i < cap->nifs; i++)
		if (cap->ifs[i].partition_id == id)
			return (int)(cap->last_if = i);
	if (cap->nifs == CAP_MAX_IFS)
		return -1;
	cap->ifs[cap->nifs].partition_id = id;
	snprintf(cap->ifs[cap->nifs].name, sizeof(cap->ifs[0].name), "%s",
		 name ? name : "?");
	cap->last_if = cap->nifs;
	return (int)cap->nifs++;
}

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

static uint8_t *iov_copy(uint8_t *d, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		memcpy(d, iov[i].iov_base, iov[i].iov_len);
		d += iov[i].iov_len;
	}
	return d;
}

int ovb_capture_record(struct ovb_capture *cap, struct ovb_cap_hdr *hdr,
		       const char *part_name, const struct iovec *pkt,
		       int npkt, const struct iovec *data, int ndata)
{
	size_t plen = iov_len(pkt, npkt), dlen = iov_len(data, ndata);
	size_t caplen = sizeof(*hdr) + plen + dlen;
	size_t need = (sizeof(struct cap_rec) + caplen + 7) & ~(size_t)7;
	struct cap_rec r = { 0 };
	uint8_t *d;
	bool wake;
	int i;

	if (caplen > UINT32_MAX / 2)
		return -EMSGSIZE;
	hdr->magic = OVB_CAP_MAGIC;
	hdr->hdr_len = sizeof(*hdr);
	hdr->pkt_len = (uint32_t)plen;
	hdr->data_len = (uint32_t)dlen;
	if (hdr->data_orig < dlen)
		hdr->data_orig = (uint32_t)dlen;
	r.len = (uint32_t)need;
	r.caplen = (uint32_t)caplen;
	r.orig_len = caplen - dlen + hdr->data_orig > UINT32_MAX
			     ? UINT32_MAX
			     : (uint32_t)(caplen - dlen + hdr->data_orig);
	r.flags = hdr->dir == OVB_CAP_TO_HOST ? PCAPNG_EPB_INBOUND
					      : PCAPNG_EPB_OUTBOUND;

	pthread_mutex_lock(&cap->lock);
	i = cap_if_find(cap, hdr->partition_id, part_name);
	if (i < 0) {
		cap->drops++;
		pthread_mutex_unlock(&cap->lock);
		return -ENOSPC;
	}
	cap->ifs[i].recv++;
	if (cap->active.len + need > cap->size) {
		cap->ifs[i].drops++;
		cap->drops++;
		pthread_mutex_unlock(&cap->lock);
		return -ENOBUFS;
	}
	r.ifidx = (uint32_t)i;
	/* Stamped under the lock: file order is time order. */
	r.ts_ns = ovb_wall_ns();
	d = cap->active.p + cap->active.len;
	memcpy(d, &r, sizeof(r));
	d += sizeof(r);
	memcpy(d, hdr, sizeof(*hdr));
	d = iov_copy(d + sizeof(*hdr), pkt, npkt);
	iov_copy(d, data, ndata);
	wake = cap->active.len < cap->size / 2 &&
	       cap->active.len + need >= cap->size / 2;
	cap->active.len += need;
	cap->records++;
	if (wake)
		pthread_cond_signal(&cap->cond);
	pthread_mutex_unlock(&cap->lock);
	return 0;
}

/* IDBs for interfaces the file has not described yet; writer thread. */
static void cap_write_idbs(struct ovb_capture *cap, uint32_t nifs,
			   const struct cap_if *ifs)
{
	char desc[96];

	for (; cap->ifs_written < nifs; cap->ifs_written++) {
		const struct cap_if *f = &ifs[cap->ifs_written];

		snprintf(desc, sizeof(desc), "openvmbus partition %u",
			 f->partition_id);
		ovb_pcapng_idb(&cap->w, PCAPNG_LINKTYPE_USER0, 0, f->name,
			       desc);
	}
}

static void cap_write_buf(struct ovb_capture *cap, const struct cap_buf *b)
{
	for (size_t off = 0; off < b->len;) {
		struct cap_rec r;
		struct iovec iov;

		memcpy(&r, b->p + off, sizeof(r));
		iov.iov_base = b->p + off + sizeof(r);
		iov.iov_len = r.caplen;
		ovb_pcapng_epb(&cap->w, r.ifidx, r.ts_ns, &iov, 1, r.orig_len,
			       r.flags);
		off += r.len;
		if (cap->w.len >= (1u << 20))
			ovb_pcapng_flush(&cap->w);
	}
	ovb_pcapng_flush(&cap->w);
}

static void *cap_writer(void *arg)
{
	struct ovb_capture *cap = arg;
	bool stop = false;

	while (!stop) {
		struct cap_if *ifs = cap->wifs;
		struct cap_buf t;
		struct timespec dl;
		uint32_t nifs;

		ovb_deadline_ms(&dl, 100);
		pthread_mutex_lock(&cap->lock);
		while (!cap->stop && cap->active.len < cap->size / 2 &&
		       ovb_cond_timedwait(&cap->cond, &cap->lock, &dl) == 0)
			;
		stop = cap->stop;
		t = cap->active;
		cap->active = cap->spare;
		cap->active.len = 0;
		cap->spare = t;
		nifs = cap->nifs;
		memcpy(ifs, cap->ifs, nifs * sizeof(ifs[0]));
		pthread_mutex_unlock(&cap->lock);

		cap_write_idbs(cap, nifs, ifs);
		cap_write_buf(cap, &cap->spare);
		cap->spare.len = 0;
	}
	return NULL;
}

int ovb_capture_open(const char *path, const struct ovb_capture_cfg *cfg,
		     struct ovb_capture **out)
{
	struct ovb_capture *cap;
	size_t size = cfg && cfg->buffer ? cfg->buffer : OVB_CAPTURE_BUFFER;
	int rc;

	if (size < 4096 || size > (1ull << 31))
		return -EINVAL;
	cap = calloc(1, sizeof(*cap));
	if (!cap)
		return -ENOMEM;
	cap->size = size;
	cap->snaplen = cfg && cfg->snaplen ? cfg->snaplen : OVB_CAPTURE_SNAPLEN;
	if (cfg && cfg->partition)
		snprintf(cap->partition, sizeof(cap->partition), "%s",
			 cfg->partition);
	cap->active.p = malloc(size);
	cap->spare.p = malloc(size);
	if (!cap->active.p || !cap->spare.p) {
		rc = -ENOMEM;
		goto err_buf;
	}
	cap->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cap->fd < 0) {
		rc = -errno;
		goto err_buf;
	}
	if ((rc = ovb_pcapng_init(&cap->w, cap->fd)) != 0)
		goto err_init;
	cap->start_ns = ovb_wall_ns();
	ovb_pcapng_shb(&cap->w, "openvmbus vmbus host --capture");
	if ((rc = ovb_pcapng_flush(&cap->w)) != 0)
		goto err_shb;
	pthread_mutex_init(&cap->lock, NULL);
	ovb_cond_init(&cap->cond);
	if ((rc = -pthread_create(&cap->writer, NULL, cap_writer, cap)) != 0)
		goto err_thread;
	*out = cap;
	return 0;

err_thread:
	pthread_cond_destroy(&cap->cond);
	pthread_mutex_destroy(&cap->lock);
err_shb:
	ovb_pcapng_fini(&cap->w);
err_init:
	close(cap->fd);
	unlink(path);
err_buf:
	free(cap->active.p);
	free(cap->spare.p);
	free(cap);
	return rc;
}

int ovb_capture_close(struct ovb_capture *cap, struct ovb_capture_stats *st)
{
	uint64_t end;
	int rc;

	pthread_mutex_lock(&cap->lock);
	cap->stop = true;
	pthread_cond_signal(&cap->cond);
	pthread_mutex_unlock(&cap->lock);
	pthread_join(cap->writer, NULL);

	/* Interfaces seen only by drops still get a description. */
	cap_write_idbs(cap, cap->nifs, cap->ifs);
	end = ovb_wall_ns();
	for (uint32_t i = 0; i < cap->nifs; i++)
		ovb_pcapng_isb(&cap->w, i, end, cap->start_ns,
			       cap->ifs[i].recv, cap->ifs[i].drops);
	rc = ovb_pcapng_flush(&cap->w);
	if (close(cap->fd) && !rc)
		rc = -errno;
	if (st) {
		st->records = cap->records;
		st->drops = cap->drops;
	}
	ovb_pcapng_fini(&cap->w);
	pthread_cond_destroy(&cap->cond);
	pthread_mutex_destroy(&cap->lock);
	free(cap->active.p);
	free(cap->spare.p);
	free(cap);
	return rc;
}
