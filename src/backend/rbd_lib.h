/* SPDX-License-Identifier: MIT */
/*
 * librbd and librados loaded on demand: the first "rbd:" disk dlopen()s
 * librbd.so.1 (which brings librados.so.2) and looks up the functions the
 * RBD backend calls, so a process without RBD disks never maps either
 * library (about 20 MB and 40 ms at start).  The headers still give every
 * function its type; the table holds pointers of exactly those types.
 * Layer: backends (private).
 */
#ifndef OPENVMBUS_RBD_LIB_H
#define OPENVMBUS_RBD_LIB_H

#include <stddef.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

/** The functions blk_rbd.c calls, each typed by its declaration. */
struct rbd_lib {
	__typeof__(rados_create) *rados_create;
	__typeof__(rados_conf_set) *rados_conf_set;
	__typeof__(rados_conf_get) *rados_conf_get;
	__typeof__(rados_conf_read_file) *rados_conf_read_file;
	__typeof__(rados_conf_parse_env) *rados_conf_parse_env;
	__typeof__(rados_connect) *rados_connect;
	__typeof__(rados_shutdown) *rados_shutdown;
	__typeof__(rados_ioctx_create) *rados_ioctx_create;
	__typeof__(rados_ioctx_destroy) *rados_ioctx_destroy;
	__typeof__(rbd_open) *rbd_open;
	__typeof__(rbd_open_read_only) *rbd_open_read_only;
	__typeof__(rbd_create) *rbd_create;
	__typeof__(rbd_close) *rbd_close;
	__typeof__(rbd_get_size) *rbd_get_size;
	__typeof__(rbd_resize) *rbd_resize;
	__typeof__(rbd_get_stripe_unit) *rbd_get_stripe_unit;
	__typeof__(rbd_config_image_list) *rbd_config_image_list;
	__typeof__(rbd_config_image_list_cleanup) *rbd_config_image_list_cleanup;
	__typeof__(rbd_aio_create_completion) *rbd_aio_create_completion;
	__typeof__(rbd_aio_get_return_value) *rbd_aio_get_return_value;
	__typeof__(rbd_aio_release) *rbd_aio_release;
	__typeof__(rbd_aio_readv) *rbd_aio_readv;
	__typeof__(rbd_aio_writev) *rbd_aio_writev;
	__typeof__(rbd_aio_flush) *rbd_aio_flush;
	__typeof__(rbd_aio_write_zeroes) *rbd_aio_write_zeroes;
	__typeof__(rbd_aio_writesame) *rbd_aio_writesame;
};

/**
 * The table, loading the libraries on the first call (thread-safe; later
 * calls return the same answer).  NULL if they cannot be loaded: then
 * @err (if @errlen > 0) says why in one line, naming the package to
 * install.  The libraries stay loaded for the life of the process.
 */
const struct rbd_lib *ovb__rbd_lib(char *err, size_t errlen);

#endif /* OPENVMBUS_RBD_LIB_H */
