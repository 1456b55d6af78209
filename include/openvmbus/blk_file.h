/* SPDX-License-Identifier: MIT */
/*
 * The image-file block backend: a raw image file or block device behind
 * the ovb_blk interface of blk.h, through io_uring.  Layer: backends.
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

#endif /* OPENVMBUS_BLK_FILE_H */
