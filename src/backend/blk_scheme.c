// SPDX-License-Identifier: MIT
/*
 * The table of block engines reached by a scheme prefix in the disk spec,
 * and ovb_blk_open(), which picks the engine (or the image file backend)
 * for a parsed spec.  Adding an engine is one line here and one in
 * blk_scheme.h.  Layer: backends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend/blk_scheme.h"
#include "openvmbus/blk_file.h"

/*
 * NBD's options of its own: multiconn=off (one connection per disk),
 * replies=structured (ask for structured replies; simple by default),
 * wire=libnbd (libnbd's transmission phase instead of ours), hold=US
 * (how long our wire gathers answers for the guest; 0 = not at all).
 */
static const char *const nbd_keys[] = { "multiconn", "replies", "wire",
					       "hold", NULL };

static int nbd_open_spec(const struct ovb_disk_spec *spec,
			 struct ovb_blk **out, char *err, size_t errlen)
{
	int rc = ovb_blk_nbd_open(spec, out);

	if (rc && err && errlen)
		snprintf(err, errlen, "cannot open %s: %s", spec->path,
			 strerror(-rc));
	return rc;
}

static const struct ovb_blk_scheme blk_scheme_nbd = {
	.prefix = "nbd://",
	.keys = nbd_keys,
	.open = nbd_open_spec,
};

static const struct ovb_blk_scheme blk_scheme_nbd_unix = {
	.prefix = "nbd+unix://",
	.keys = nbd_keys,
	.open = nbd_open_spec,
};

static const struct ovb_blk_scheme *const blk_schemes[] = {
	/* one line per engine */
	&ovb__blk_scheme_rbd,
	&blk_scheme_nbd,
	&blk_scheme_nbd_unix,
	NULL,
};

const struct ovb_blk_scheme *ovb__blk_scheme_find(const char *path)
{
	for (size_t i = 0; blk_schemes[i]; i++)
		if (!strncmp(path, blk_schemes[i]->prefix,
			     strlen(blk_schemes[i]->prefix)))
			return blk_schemes[i];
	return NULL;
}

bool ovb__blk_scheme_has_key(const struct ovb_blk_scheme *sc, const char *key)
{
	for (size_t i = 0; sc && sc->keys && sc->keys[i]; i++)
		if (!strcmp(sc->keys[i], key))
			return true;
	return false;
}

int ovb_blk_open(const struct ovb_disk_spec *spec, struct ovb_blk **out,
		 char *err, size_t errlen)
{
	const struct ovb_blk_scheme *sc;
	int rc;

	if (!spec || !out)
		return -EINVAL;
	if (err && errlen)
		err[0] = '\0';
	sc = ovb__blk_scheme_find(spec->path);
	if (sc)
		return sc->open(spec, out, err, errlen);
	rc = ovb_blk_file_open(spec, out);
	if (rc && err && errlen)
		snprintf(err, errlen, "cannot open %s: %s", spec->path,
			 strerror(-rc));
	return rc;
}
