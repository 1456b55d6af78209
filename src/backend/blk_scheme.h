/* SPDX-License-Identifier: MIT */
/*
 * Block engines reached through a scheme in the disk spec ("rbd:POOL/IMAGE",
 * "nbd://HOST/EXPORT"): the registration table the spec parser and
 * ovb_blk_open() consult.  A spec whose path starts with no registered
 * prefix is an image file.  Layer: backends (private).
 */
#ifndef OPENVMBUS_BLK_SCHEME_H
#define OPENVMBUS_BLK_SCHEME_H

#include "openvmbus/blk.h"

/** One engine: how its specs begin, its own options, how it opens. */
struct ovb_blk_scheme {
	const char *prefix;	 /**< "rbd:", matched at the spec's start */
	const char *const *keys; /**< its own option names, NULL-ended */
	/**
	 * Open @spec (spec->opts holds its own options); 0 or -errno, with
	 * one line saying why in @err (and the log).
	 */
	int (*open)(const struct ovb_disk_spec *spec, struct ovb_blk **out,
		    char *err, size_t errlen);
};

/* The engines, one line each (defined in src/backend/blk_<name>.c). */
extern const struct ovb_blk_scheme ovb__blk_scheme_rbd;

/**
 * NBD (blk_nbd.c), registered in blk_scheme.c under both URI forms: the
 * export @spec->path names (nbd://HOST[:PORT]/EXPORT or
 * nbd+unix:///EXPORT?socket=PATH) through libnbd; spec->size (if given)
 * may only shrink the export, spec->timeout_s bounds the connection and
 * every request, spec->opts may say multiconn=off.  A server offering
 * multi-conn gets a connection per queue (made by ovb_blk_queue_create,
 * driven by the queue's owner); otherwise the disk's engine thread starts
 * on one connection.  Blocks while it connects (to probe the export).  Logs one line naming the URI on failure.  Returns 0, or
 * -ECONNREFUSED, -ENOENT, -ETIMEDOUT, -EINVAL, -EIO, -ENOMEM...
 */
int ovb_blk_nbd_open(const struct ovb_disk_spec *spec, struct ovb_blk **out);

/** The engine whose prefix @path starts with, or NULL (an image file). */
const struct ovb_blk_scheme *ovb__blk_scheme_find(const char *path);

/** True if @key is one of @sc's own options. */
bool ovb__blk_scheme_has_key(const struct ovb_blk_scheme *sc, const char *key);

#endif /* OPENVMBUS_BLK_SCHEME_H */
