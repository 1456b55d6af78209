// SPDX-License-Identifier: MIT
/* The block backend tests' fixture (blk-fx.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/lib/blk-fx.h"
#include "openvmbus/blk_file.h"

char blkfx_dir[64];

void blkfx_done(struct ovb_blk_req *req, int res)
{
	struct blkfx_waiter *w = req->priv;

	w->calls++;
	w->res = res;
}

int blkfx_run(struct ovb_blk_queue *q, struct ovb_blk_req *req)
{
	struct blkfx_waiter w = {0, 0};
	int rc;

	req->done = blkfx_done;
	req->priv = &w;
	rc = ovb_blk_submit(q, req);
	if (rc)
		return rc;
	assert_int_equal(w.calls, 0); /* never from inside submit */
	while (w.calls == 0)
		assert_true(ovb_blk_poll(q, -1) >= 0);
	assert_int_equal(w.calls, 1);
	return w.res;
}

void blkfx_scsi_done(struct ovb_scsi_cmd *cmd)
{
	(*(int *)cmd->priv)++;
}

void blkfx_fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 10));
}

int blkfx_rw(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	     struct iovec *iov, int cnt, bool fua)
{
	struct ovb_blk_req req = {
	    .op = op, .off = off, .iov = iov, .iovcnt = cnt, .fua = fua};

	req.len = ovb_blk_iov_len(iov, cnt);
	return blkfx_run(q, &req);
}

int blkfx_simple(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
		 uint64_t len)
{
	struct ovb_blk_req req = {.op = op, .off = off, .len = len};

	return blkfx_run(q, &req);
}

void blkfx_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", blkfx_dir, name);
}

int blkfx_setup(void **state)
{
	strcpy(blkfx_dir, "/tmp/ovb-test-blk-XXXXXX");
	return mkdtemp(blkfx_dir) ? 0 : -1;
}

int blkfx_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", blkfx_dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct ovb_blk *blkfx_open(const char *name, const char *opts)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk = NULL;
	char arg[256], err[128];

	snprintf(arg, sizeof(arg), "%s/%s%s", blkfx_dir, name, opts);
	assert_int_equal(ovb_disk_spec_parse(arg, &spec, err, sizeof(err)), 0);
	assert_int_equal(ovb_blk_file_open(&spec, &blk), 0);
	return blk;
}
