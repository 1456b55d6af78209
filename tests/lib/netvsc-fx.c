// SPDX-License-Identifier: MIT
/* Fixture of the netvsc pair tests: netvsc-fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

static int drop_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *m)
{
	(void)ctx, (void)f, (void)len, (void)m;
	return 0;
}

void nvfx_open(struct nvfx *f, struct ovb_netvsp_cfg cfg,
	       const struct ovb_netvsc_params *p)
{
	struct ovb_inproc_params ip = { .name = "g1", .mem_gpa = 1ull << 32,
					.mem_size = 64ull << 20 };
	struct ovb_client *cl;

	assert_int_equal(ovb_server_create(&f->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &f->sw), 0);
	cfg.sw = f->sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &f->vsp), 0);
	assert_int_equal(ovb_netvsp_register(f->vsp, f->srv), 0);
	pair_mem_params(&ip);
	assert_int_equal(ovb_inproc_create(f->srv, &ip, &f->link), 0);
	cl = ovb_inproc_client(f->link);
	assert_int_equal(ovb_client_register_driver(cl, &ovb_netvsc_driver,
						    &f->drv), 0);
	assert_int_equal(ovb_client_connect(cl, 0, 5000), 0);
	assert_int_equal(f->drv.ndev, 1);
	assert_int_equal(ovb_netvsc_open(f->drv.dev[0], p, &f->nic), 0);
	assert_int_equal(ovb_vswitch_port_add(f->sw, "src", 0, drop_tx, NULL,
					      &f->port), 0);
}

void nvfx_close(struct nvfx *f)
{
	ovb_netvsc_close(f->nic);
	pair_check_paged(f->link);
	ovb_inproc_destroy(f->link);
	ovb_server_destroy(f->srv);
	ovb_netvsp_destroy(f->vsp);
	ovb_vswitch_destroy(f->sw);
}
