/* SPDX-License-Identifier: MIT */
/*
 * The disks the host opens from a command line: the spec parser
 * (ovb_disk_spec_parse), the image-file block backend (a raw image file
 * or block device behind the ovb_blk interface of blk.h, through
 * io_uring), and ovb_blk_open(), which opens a spec with the engine it
 * names (Ceph RBD) or as a file.
 * Layer: backends.
 * Library: libopenvmbus-linux (pkg-config openvmbus-linux).
 */
#ifndef OPENVMBUS_BLK_FILE_H
#define OPENVMBUS_BLK_FILE_H

#include "api.h"
#include "blk.h"

/**
 * Open the image @spec names.  A missing file is created sparse with
 * spec->size bytes (-EINVAL if no size was given); an existing file smaller
 * than spec->size grows (sparse) unless read-only; it never shrinks
 * (-EINVAL if it is larger than a given size).  A size not a multiple of the
 * sector is rounded down.  Block devices are used as they are.  Discard is
 * probed once.  Logs one line naming the file on failure.
 * Returns 0, or a negative errno (-ENOENT, -EACCES, -EINVAL, -ENOMEM...).
 */
OVB_API
int ovb_blk_file_open(const struct ovb_disk_spec *spec, struct ovb_blk **out);

/**
 * Open the disk @spec names: the engine its path's scheme selects (e.g.
 * "rbd:", "nbd://", src/backend/blk_scheme.c), else an image file
 * (ovb_blk_file_open).  May block while a remote engine connects (bounded
 * by spec->timeout_s).  On failure logs one line and writes it, naming the
 * disk and the cause ("no such pool"), into @err (if @errlen > 0).
 * Returns 0 or a negative errno.
 */
OVB_API
int ovb_blk_open(const struct ovb_disk_spec *spec, struct ovb_blk **out,
		 char *err, size_t errlen);

/**
 * Parse a disk spec "FILE[,size=8G][,lun=N][,ro][,ide][,sector=4096]
 * [,direct][,timeout=SECONDS]" into @out.  Sizes take K/M/G/T suffixes (powers of 1024).  A
 * path starting with a registered engine's prefix ("rbd:", "nbd://") also accepts
 * that engine's own options, kept in @out->opts for its open.  On error
 * writes a one-line message naming the bad field into @err (if @errlen > 0)
 * and returns -EINVAL.  Paths cannot contain commas.
 */
OVB_API
int ovb_disk_spec_parse(const char *arg, struct ovb_disk_spec *out, char *err,
			size_t errlen);

#endif /* OPENVMBUS_BLK_FILE_H */
