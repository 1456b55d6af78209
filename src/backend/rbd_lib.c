// SPDX-License-Identifier: MIT
/*
 * librbd and librados loaded on demand (rbd_lib.h): dlopen() on the first
 * "rbd:" disk, one dlsym() per function, all or nothing.  glibc 2.34 and
 * later have dlopen in libc itself, so nothing more is linked.  The
 * handles are never closed: librbd starts threads that outlive any disk
 * and must find their code mapped.  Layer: backends.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend/rbd_lib.h"

/* Debian 12: librbd1 (16.x) ships these sonames; ceph-common needs them. */
#define RBD_SONAME "librbd.so.1"
#define RADOS_SONAME "librados.so.2"
#define RBD_PACKAGE "librbd1"

static struct rbd_lib rbd_lib_table;
static const struct rbd_lib *rbd_lib_loaded;
static char rbd_lib_why[256];
static pthread_once_t rbd_lib_once = PTHREAD_ONCE_INIT;

/* One entry: where the name's pointer lives in the table. */
struct rbd_sym {
	const char *name;
	size_t off;
	bool rados; /**< in librados, else librbd */
};

#define RBD_SYM(f, r) {#f, offsetof(struct rbd_lib, f), r}

static const struct rbd_sym rbd_syms[] = {
    RBD_SYM(rados_create, true),
    RBD_SYM(rados_conf_set, true),
    RBD_SYM(rados_conf_get, true),
    RBD_SYM(rados_conf_read_file, true),
    RBD_SYM(rados_conf_parse_env, true),
    RBD_SYM(rados_connect, true),
    RBD_SYM(rados_shutdown, true),
    RBD_SYM(rados_ioctx_create, true),
    RBD_SYM(rados_ioctx_destroy, true),
    RBD_SYM(rbd_open, false),
    RBD_SYM(rbd_open_read_only, false),
    RBD_SYM(rbd_create, false),
    RBD_SYM(rbd_close, false),
    RBD_SYM(rbd_get_size, false),
    RBD_SYM(rbd_resize, false),
    RBD_SYM(rbd_get_stripe_unit, false),
    RBD_SYM(rbd_config_image_list, false),
    RBD_SYM(rbd_config_image_list_cleanup, false),
    RBD_SYM(rbd_aio_create_completion, false),
    RBD_SYM(rbd_aio_get_return_value, false),
    RBD_SYM(rbd_aio_release, false),
    RBD_SYM(rbd_aio_readv, false),
    RBD_SYM(rbd_aio_writev, false),
    RBD_SYM(rbd_aio_flush, false),
    RBD_SYM(rbd_aio_write_zeroes, false),
    RBD_SYM(rbd_aio_writesame, false),
};

_Static_assert(sizeof(rbd_syms) / sizeof(rbd_syms[0]) * sizeof(void (*)(void)) ==
		   sizeof(struct rbd_lib),
	       "every function of struct rbd_lib has a line in rbd_syms");

static void rbd_lib_load(void)
{
	void *rbd, *rados, *fn;
	const char *e;

	/* librbd needs librados: loading it brings librados along. */
	rbd = dlopen(RBD_SONAME, RTLD_NOW | RTLD_LOCAL);
	rados = rbd ? dlopen(RADOS_SONAME, RTLD_NOW | RTLD_LOCAL) : NULL;
	if (!rbd || !rados) {
		e = dlerror();
		snprintf(rbd_lib_why, sizeof(rbd_lib_why),
			 "rbd: disks need " RBD_PACKAGE
			 ": apt-get install " RBD_PACKAGE " (%s)",
			 e ? e : "cannot load " RBD_SONAME);
		return;
	}
	for (size_t i = 0; i < sizeof(rbd_syms) / sizeof(rbd_syms[0]); i++) {
		fn = dlsym(rbd_syms[i].rados ? rados : rbd, rbd_syms[i].name);
		if (!fn) {
			snprintf(rbd_lib_why, sizeof(rbd_lib_why),
				 "rbd: %s has no %s (too old? disks need "
				 RBD_PACKAGE " 16 or later)",
				 rbd_syms[i].rados ? RADOS_SONAME : RBD_SONAME,
				 rbd_syms[i].name);
			return;
		}
		/* POSIX: a function pointer and a void * convert both ways. */
		memcpy((char *)&rbd_lib_table + rbd_syms[i].off, &fn,
		       sizeof(fn));
	}
	rbd_lib_loaded = &rbd_lib_table;
}

const struct rbd_lib *ovb__rbd_lib(char *err, size_t errlen)
{
	pthread_once(&rbd_lib_once, rbd_lib_load);
	if (!rbd_lib_loaded && err && errlen)
		snprintf(err, errlen, "%s", rbd_lib_why);
	return rbd_lib_loaded;
}
