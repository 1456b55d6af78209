// SPDX-License-Identifier: MIT
/*
 * Opening a disk spec: the registration table of block backends.  A spec
 * whose path starts with a registered scheme prefix goes to that backend
 * (remote engines); anything else is an image file or block device.
 * Layer: backends.  One line per backend keeps additions independent.
 */
#include <errno.h>
#include <string.h>

#include "openvmbus/blk.h"

/** One backend kind: the path prefix it claims and how it opens. */
struct blk_scheme {
	const char *prefix;
	int (*open)(const struct ovb_disk_spec *spec, struct ovb_blk **out);
};

static const struct blk_scheme blk_schemes[] = {
	/* Remote engines, one line each, before the file fallback. */
	{ "nbd://", ovb_blk_nbd_open },
	{ "nbd+unix://", ovb_blk_nbd_open },
	{ "", ovb_blk_file_open },
};

int ovb_blk_open(const struct ovb_disk_spec *spec, struct ovb_blk **out)
{
	size_t n = sizeof(blk_schemes) / sizeof(blk_schemes[0]);

	if (!spec || !out)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *p = blk_schemes[i].prefix;

		if (!strncmp(spec->path, p, strlen(p)))
			return blk_schemes[i].open(spec, out);
	}
	return -EINVAL;
}
