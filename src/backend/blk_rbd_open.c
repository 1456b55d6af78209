// SPDX-License-Identifier: MIT
/*
 * Opening a Ceph RBD disk: "rbd:POOL/IMAGE[,conf=FILE][,id=USER]
 * [,reap=read|librbd|owner][,spin=on|off|US]" parsed,
 * librbd loaded on demand (rbd_lib.c), the cluster connected with our
 * defaults, the pool and image opened (created with size=, grown to it).
 * The data path is blk_rbd.c.  Layer: backends.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/blk_rbd.h"
#include "backend/blk_scheme.h"
#include "openvmbus/log.h"

/* Defaults set before the configuration file is read (it may override). */
#define RBD_MOUNT_TIMEOUT "20"	/* s: monitors must answer rados_connect */
#define RBD_MON_OP_TIMEOUT "20" /* s: pool lookups and the like */
#define RBD_OSD_OP_TIMEOUT "30" /* s: one I/O may wait this long for OSDs */
/*
 * No client cache unless the configuration asks for one: a write completes
 * when the OSDs have it, as the guest's disk promises without a flush; a
 * cache (rbd cache = true) is honoured, FUA then costs a flush.
 */
#define RBD_CACHE "false"
/*
 * Ours for the data path (docs/remote.md, "RBD: fewer hand-offs"): librbd
 * dispatches a request in the thread that submits it, the queue's owner,
 * instead of posting it to its own thread (one wake-up and switch less per
 * request), and runs its completions on one thread instead of two (they
 * no longer wake each other).  A configuration may say otherwise.
 */
#define RBD_NON_BLOCKING_AIO "false"
#define RBD_THREADS "1"
/*
 * spin=: the worker's busy spin for librbd's answers (struct rbd_target).
 * librbd's callback wakes the worker anyway, so a spin pays only for a
 * wait shorter than a wake-up: a 40 us spin met 0-0.07 answers or
 * requests per I/O and still cost the worker 0.6-0.9 involuntary
 * switches per 4k write, asleep (spin=off) it costs least on every row;
 * but 4k random reads kept up better with the spin in the same runs on
 * a loaded machine, so the default stays spin=on until a quiet machine
 * decides (docs/remote.md, "RBD: a short spin").
 */
#define RBD_SPIN_ON (-1L)
#define RBD_SPIN_DEFAULT_US RBD_SPIN_ON
#define RBD_SPIN_MAX_US 10000u

/* Log one line and keep it in @err for the caller (`vmbus disk add`). */
__attribute__((format(printf, 3, 4))) static void
rbd_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ovb_err("blk %s", line);
	if (err && errlen)
		snprintf(err, errlen, "%s", line);
}

/** What "rbd:POOL/IMAGE,conf=FILE,id=USER" names. */
struct rbd_target {
	char pool[128];
	char image[128];
	const char *conf; /**< NULL: librados's default search */
	const char *id;	  /**< NULL: client.admin */
	enum rbd_reap reap; /**< reap=: see struct rbd_blk */
	/**
	 * spin=: the longest wait for librbd's answers worth a busy spin of
	 * the worker, us (spin=off: 0, it sleeps; spin=US), or
	 * RBD_SPIN_ON (spin=on: the owner's own bound).
	 */
	long spin_us;
};

/* spin=on|off|US into *@us (RBD_SPIN_ON for on); 0 or -EINVAL. */
static int rbd_parse_spin(const char *val, long *us)
{
	char *end;

	if (!strcmp(val, "on")) {
		*us = RBD_SPIN_ON;
		return 0;
	}
	if (!strcmp(val, "off")) {
		*us = 0;
		return 0;
	}
	errno = 0;
	*us = strtol(val, &end, 10);
	if (errno || end == val || *end || *us < 0 || *us > RBD_SPIN_MAX_US)
		return -EINVAL;
	return 0;
}

/* Split the spec into @t (pointing into @opts); 0 or -EINVAL, logged. */
static int rbd_parse(const struct ovb_disk_spec *spec, char *opts,
		     struct rbd_target *t, char *err, size_t errlen)
{
	const char *name = spec->path + strlen("rbd:");
	const char *slash = strchr(name, '/');
	char *opt, *next;

	memset(t, 0, sizeof(*t));
	t->spin_us = RBD_SPIN_DEFAULT_US;
	if (!slash || slash == name || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - name) >= sizeof(t->pool) ||
	    strlen(slash + 1) >= sizeof(t->image)) {
		rbd_fail(err, errlen, "%s: want rbd:POOL/IMAGE", spec->path);
		return -EINVAL;
	}
	memcpy(t->pool, name, (size_t)(slash - name));
	strcpy(t->image, slash + 1);
	if (spec->direct) {
		rbd_fail(err, errlen, "%s: 'direct' is for image files",
			 spec->path);
		return -EINVAL;
	}
	for (opt = *opts ? opts : NULL; opt; opt = next) {
		char *val = strchr(opt, '=');

		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (val)
			*val++ = '\0';
		if (!val || !*val) {
			rbd_fail(err, errlen, "%s: option '%s' needs a value",
				 spec->path, opt);
			return -EINVAL;
		}
		if (!strcmp(opt, "conf")) {
			t->conf = val;
		} else if (!strcmp(opt, "reap")) {
			if (!strcmp(val, "read")) {
				t->reap = RBD_REAP_READ;
			} else if (!strcmp(val, "librbd")) {
				t->reap = RBD_REAP_ANY;
			} else if (!strcmp(val, "owner")) {
				t->reap = RBD_REAP_OWNER;
			} else {
				rbd_fail(err, errlen, "%s: reap=read, "
					 "reap=librbd or reap=owner",
					 spec->path);
				return -EINVAL;
			}
		} else if (!strcmp(opt, "spin")) {
			if (rbd_parse_spin(val, &t->spin_us) < 0) {
				rbd_fail(err, errlen,
					 "%s: spin=on, spin=off or "
					 "spin=US (0-%u)",
					 spec->path, RBD_SPIN_MAX_US);
				return -EINVAL;
			}
		} else {
			t->id = val;
		}
	}
	return 0;
}

static void conf_set(struct rbd_blk *rb, const char *key, const char *val)
{
	/* Only an unknown key fails; these are all Ceph 16's. */
	if (rb->lib->rados_conf_set(rb->cluster, key, val) < 0)
		ovb_warn("blk rbd: librados does not know %s", key);
}

/* A boolean of the cluster's configuration; unknown or unset: true. */
static bool conf_true(struct rbd_blk *rb, const char *key)
{
	char val[16];

	return rb->lib->rados_conf_get(rb->cluster, key, val, sizeof(val)) < 0 ||
	       strcmp(val, "false") != 0;
}

/* A number of the cluster's configuration; @dflt if unreadable. */
static uint64_t conf_u64(struct rbd_blk *rb, const char *key, uint64_t dflt)
{
	char val[32], *end;
	unsigned long long v;

	if (rb->lib->rados_conf_get(rb->cluster, key, val, sizeof(val)) < 0)
		return dflt;
	errno = 0;
	v = strtoull(val, &end, 10);
	return errno || end == val ? dflt : (uint64_t)v;
}

/* Connect to the cluster and open the pool; 0 or -errno, logged. */
static int rbd_connect(struct rbd_blk *rb, const struct rbd_target *t,
		       const char *what, char *err, size_t errlen)
{
	int rc = rb->lib->rados_create(&rb->cluster, t->id);

	if (rc < 0) {
		rb->cluster = NULL;
		rbd_fail(err, errlen, "%s: rados_create: %s", what,
			 strerror(-rc));
		return rc;
	}
	conf_set(rb, "client_mount_timeout", RBD_MOUNT_TIMEOUT);
	conf_set(rb, "rados_mon_op_timeout", RBD_MON_OP_TIMEOUT);
	conf_set(rb, "rados_osd_op_timeout", RBD_OSD_OP_TIMEOUT);
	conf_set(rb, "rbd_cache", RBD_CACHE);
	conf_set(rb, "rbd_non_blocking_aio", RBD_NON_BLOCKING_AIO);
	conf_set(rb, "librados_thread_count", RBD_THREADS);
	rc = rb->lib->rados_conf_read_file(rb->cluster, t->conf);
	if (rc < 0) {
		rbd_fail(err, errlen,
			 "%s: cannot read ceph configuration %s: %s", what,
			 t->conf ? t->conf : "(default search path)",
			 strerror(-rc));
		return rc;
	}
	rc = rb->lib->rados_conf_parse_env(rb->cluster, NULL);
	/* A writeback cache waits in the submitter for room: not in ours. */
	if (rc >= 0 && conf_true(rb, "rbd_cache"))
		rc = rb->lib->rados_conf_set(rb->cluster, "rbd_non_blocking_aio",
					     "true");
	/*
	 * Forced whatever the file says: librbd copies write data at submit,
	 * so a write cancelled at stop (blk_rbd.c) never reads guest memory
	 * later, and a guest rewriting a page in flight cannot break the
	 * OSD's checksums.
	 */
	if (rc >= 0)
		rc = rb->lib->rados_conf_set(rb->cluster,
					     "rbd_disable_zero_copy_writes",
					     "true");
	if (rc >= 0)
		rc = rb->lib->rados_connect(rb->cluster);
	if (rc < 0) {
		rbd_fail(err, errlen,
			 "%s: cannot connect to the Ceph cluster (%s): %s",
			 what, t->conf ? t->conf : "default ceph.conf",
			 strerror(-rc));
		return rc;
	}
	rc = rb->lib->rados_ioctx_create(rb->cluster, t->pool, &rb->io);
	if (rc < 0) {
		rb->io = NULL;
		rbd_fail(err, errlen, "%s: %s", what,
			 rc == -ENOENT ? "no such pool" : strerror(-rc));
	}
	return rc;
}

/* Open (creating if sized) the image and fit its size; 0 or -errno. */
static int rbd_image(struct rbd_blk *rb, const struct ovb_disk_spec *spec,
		     const struct rbd_target *t, char *err, size_t errlen)
{
	uint64_t size;
	int order = 0;
	int rc;

	rc = spec->ro ? rb->lib->rbd_open_read_only(rb->io, t->image, &rb->image, NULL)
		      : rb->lib->rbd_open(rb->io, t->image, &rb->image, NULL);
	if (rc == -ENOENT && spec->size && !spec->ro) {
		rc = rb->lib->rbd_create(rb->io, t->image, spec->size, &order);
		if (rc == 0 || rc == -EEXIST)
			rc = rb->lib->rbd_open(rb->io, t->image, &rb->image, NULL);
	}
	if (rc < 0) {
		rb->image = NULL;
		rbd_fail(err, errlen, "%s: %s", spec->path,
			 rc == -ENOENT ? "no such image (size= creates it)"
				       : strerror(-rc));
		return rc;
	}
	rc = rb->lib->rbd_get_size(rb->image, &size);
	if (rc < 0) {
		rbd_fail(err, errlen, "%s: size: %s", spec->path,
			 strerror(-rc));
		return rc;
	}
	if (spec->size > size && !spec->ro) {
		rc = rb->lib->rbd_resize(rb->image, spec->size);
		if (rc < 0) {
			rbd_fail(err, errlen, "%s: resize: %s", spec->path,
				 strerror(-rc));
			return rc;
		}
		size = spec->size;
	} else if (spec->size && spec->size < size) {
		rbd_fail(err, errlen, "%s: %llu bytes, larger than size=%llu",
			 spec->path, (unsigned long long)size,
			 (unsigned long long)spec->size);
		return -EINVAL;
	}
	rb->blk.capacity = size - size % spec->sector;
	if (rb->blk.capacity == 0) {
		rbd_fail(err, errlen, "%s: smaller than one %u-byte sector",
			 spec->path, spec->sector);
		return -EINVAL;
	}
	return 0;
}

/*
 * What the open image runs with, read back from librbd: its metadata may
 * override the cluster's configuration (conf_rbd_cache=true, say).  Sets
 * wb_cache and inline_submit (unknown: the cautious answer); 0 or -errno.
 */
static int rbd_settings(struct rbd_blk *rb)
{
	rbd_config_option_t *opt;
	int max = 256, n, rc;

	for (;;) {
		opt = calloc((size_t)max, sizeof(*opt));
		if (!opt)
			return -ENOMEM;
		n = max;
		rc = rb->lib->rbd_config_image_list(rb->image, opt, &n);
		if (rc != -ERANGE || n <= max)
			break;
		free(opt);
		max = n;
	}
	rb->wb_cache = true;
	rb->inline_submit = false;
	for (int i = 0; rc >= 0 && i < n; i++) {
		if (!opt[i].name || !opt[i].value)
			continue;
		if (!strcmp(opt[i].name, "rbd_cache"))
			rb->wb_cache = strcmp(opt[i].value, "false") != 0;
		else if (!strcmp(opt[i].name, "rbd_non_blocking_aio"))
			rb->inline_submit = !strcmp(opt[i].value, "false");
	}
	if (rc >= 0)
		rb->lib->rbd_config_image_list_cleanup(opt, n);
	free(opt);
	return rc < 0 ? rc : 0;
}

/*
 * The budget that keeps inline dispatch from waiting (blk_rbd.c): half the
 * Objecter's limits on operations and bytes in flight (librbd's own
 * operations, a copy-up's reads say, keep the other half), rounded up so
 * that a limit stays a limit; 0 (no limit) stays 0.
 */
static void rbd_budget(struct rbd_blk *rb)
{
	rb->budget_ops = (conf_u64(rb, "objecter_inflight_ops", 1024) + 1) / 2;
	rb->budget_bytes =
	    (conf_u64(rb, "objecter_inflight_op_bytes", 100u << 20) + 1) / 2;
	if (rb->lib->rbd_get_stripe_unit(rb->image, &rb->stripe_unit) < 0 ||
	    !rb->stripe_unit)
		rb->stripe_unit = 4u << 20;
}

/* Settle the data path's settings of the open image; 0 or -errno, logged. */
static int rbd_configure(struct rbd_blk *rb, const struct ovb_disk_spec *spec,
			 const struct rbd_target *t, char *err, size_t errlen)
{
	int rc = rbd_settings(rb);

	if (!rc && rb->wb_cache && rb->inline_submit) {
		/* The image's metadata turned the cache on: dispatch off. */
		rb->lib->rbd_close(rb->image);
		rb->image = NULL;
		rc = rb->lib->rados_conf_set(rb->cluster,
					     "rbd_non_blocking_aio", "true");
		if (!rc)
			rc = rbd_image(rb, spec, t, err, errlen);
		if (rc)
			return rc; /* logged */
		rc = rbd_settings(rb);
	}
	if (rc)
		rbd_fail(err, errlen, "%s: settings: %s", spec->path,
			 strerror(-rc));
	return rc;
}

static int rbd_open_spec(const struct ovb_disk_spec *spec, struct ovb_blk **out,
			 char *err, size_t errlen)
{
	char opts[sizeof(spec->opts)], why[256];
	struct rbd_target t;
	struct rbd_blk *rb;
	int rc;

	memcpy(opts, spec->opts, sizeof(opts));
	opts[sizeof(opts) - 1] = '\0';
	rc = rbd_parse(spec, opts, &t, err, errlen);
	if (rc)
		return rc;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	pthread_mutex_init(&rb->wait_lock, NULL);
	rb->lib = ovb__rbd_lib(why, sizeof(why));
	if (!rb->lib) {
		rbd_fail(err, errlen, "%s: %s", spec->path, why);
		pthread_mutex_destroy(&rb->wait_lock);
		free(rb);
		return -ENOPKG;
	}
	rc = rbd_connect(rb, &t, spec->path, err, errlen);
	if (!rc)
		rc = rbd_image(rb, spec, &t, err, errlen);
	if (!rc)
		rc = rbd_configure(rb, spec, &t, err, errlen);
	if (rc) {
		ovb__rbd_release(rb);
		return rc;
	}
	rbd_budget(rb);
	if (rb->inline_submit)
		ovb_info("blk %s: librbd dispatches in the submitting thread; "
			 "at most %llu object operations and %llu KiB in "
			 "flight",
			 spec->path, (unsigned long long)rb->budget_ops,
			 (unsigned long long)(rb->budget_bytes >> 10));
	rb->reap = t.reap;
	rb->blk.ops = &ovb__rbd_ops;
	rb->blk.remote = true;
	/*
	 * librbd's callbacks wake the worker: it spins for their answers as
	 * for any remote disk (spin=on, the default: up to 200 us), only
	 * while a wait is shorter than spin=US, or never (spin=off; docs/
	 * remote.md, "RBD: a short spin").
	 */
	rb->blk.wakes_owner = t.spin_us != RBD_SPIN_ON;
	rb->blk.busy_max_us =
	    t.spin_us == RBD_SPIN_ON ? 0 : (uint32_t)t.spin_us;
	rb->blk.block_size = spec->sector;
	rb->blk.read_only = spec->ro;
	rb->blk.can_discard = true;
	/* WRITE SAME of zeros (with or without UNMAP): rbd_aio_write_zeroes */
	rb->blk.can_zero = !spec->ro;
	/* WRITE SAME of any other block: rbd_aio_writesame */
	rb->blk.can_write_same = !spec->ro;
	snprintf(rb->blk.name, sizeof(rb->blk.name), "%.63s", spec->path);
	*out = &rb->blk;
	return 0;
}

static const char *const rbd_keys[] = {"conf", "id", "reap", "spin",
					 NULL};

const struct ovb_blk_scheme ovb__blk_scheme_rbd = {
    .prefix = "rbd:",
    .keys = rbd_keys,
    .open = rbd_open_spec,
};
