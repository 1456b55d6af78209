// SPDX-License-Identifier: MIT
/* Fixture of the netvsc pair tests: netvsc-fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "tests/lib/net-frame-fx.h"
#include "tests/lib/netvsc-fx.h"
#include "tests/lib/pair.h"

static int drop_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *m)
{
	(void)ctx, (void)f, (void)len, (void)m;
	return 0;
}

static void guest_up(struct nvfx *f, const struct nvfx_opts *o,
		     unsigned int i, const struct ovb_netvsc_params *p)
{
	struct nvfx_guest *g = &f->g[i];
	char name[16];
	struct ovb_inproc_params ip = {
		.name = name,
		.mem_gpa = o->mem_gpa ? o->mem_gpa : 1ull << 32,
		.mem_size = o->mem_size ? o->mem_size : 64ull << 20,
		.no_eventfd = o->no_eventfd,
	};
	struct ovb_netvsc_params np = { 0 };
	struct ovb_client *cl;

	if (p)
		np = *p;
	if (o->log) {
		np.rx = nvfx_log_rx;
		np.link = nvfx_log_link;
		np.ctx = &f->log[i];
	}
	snprintf(name, sizeof(name), "g%u", i);
	pair_mem_params(&ip);
	assert_int_equal(ovb_inproc_create(f->srv, &ip, &g->link), 0);
	cl = ovb_inproc_client(g->link);
	assert_int_equal(ovb_client_register_driver(cl, &ovb_netvsc_driver,
						    &g->drv), 0);
	assert_int_equal(ovb_client_connect(cl, 0, 5000), 0);
	assert_int_equal(g->drv.ndev, 1);
	if (o->no_open)
		return;
	g->open_rc = ovb_netvsc_open(g->drv.dev[0], &np, &g->nic);
	if (!o->open_may_fail)
		assert_int_equal(g->open_rc, 0);
	if (g->open_rc)
		g->nic = NULL;
	else
		ovb_netvsc_get_info(g->nic, &g->info);
}

void nvfx_open(struct nvfx *f, const struct nvfx_opts *o,
	       const struct ovb_netvsc_params *p)
{
	struct ovb_netvsp_cfg cfg = o->cfg;

	f->ng = o->guests ? o->guests : 1;
	for (unsigned int i = 0; i < NVFX_MAXG; i++)
		nvfx_log_init(&f->log[i]);
	nvfx_log_init(&f->port_log);
	assert_true(f->ng <= NVFX_MAXG);
	assert_int_equal(ovb_server_create(&f->srv), 0);
	assert_int_equal(ovb_vswitch_create(NULL, &f->sw), 0);
	if (!cfg.name)
		cfg.name = "sw0";
	cfg.sw = f->sw;
	assert_int_equal(ovb_netvsp_create(&cfg, &f->vsp), 0);
	assert_int_equal(ovb_netvsp_register(f->vsp, f->srv), 0);
	f->has_port = o->port;
	if (o->port)
		assert_int_equal(ovb_vswitch_port_add(
					 f->sw,
					 o->port_name ? o->port_name : "src",
					 o->port_caps,
					 o->port_log ? nvfx_log_tx :
					 o->port_tx  ? o->port_tx :
						       drop_tx,
					 o->port_log ? &f->port_log :
						       o->port_ctx,
					 &f->port), 0);
	for (unsigned int i = 0; i < f->ng; i++)
		guest_up(f, o, i, p ? &p[i] : NULL);
}

void nvfx_close(struct nvfx *f)
{
	for (unsigned int i = 0; i < f->ng; i++) {
		struct nvfx_guest *g = &f->g[i];

		if (g->nic)
			ovb_netvsc_close(g->nic);
		g->nic = NULL;
		pair_check_paged(g->link);
		ovb_inproc_destroy(g->link);
	}
	if (f->has_port)
		ovb_vswitch_port_remove(f->sw, f->port);
	ovb_server_destroy(f->srv);
	ovb_netvsp_destroy(f->vsp);
	ovb_vswitch_destroy(f->sw);
	for (unsigned int i = 0; i < NVFX_MAXG; i++)
		nvfx_log_reset(&f->log[i]);
	nvfx_log_reset(&f->port_log);
}

struct nvfx *nvfx_new(const struct nvfx_opts *o,
		      const struct ovb_netvsc_params *p)
{
	struct nvfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	nvfx_open(f, o, p);
	return f;
}

void nvfx_free(struct nvfx *f)
{
	nvfx_close(f);
	free(f);
}

size_t nvfx_tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		      uint8_t host, uint16_t sport)
{
	const uint8_t a[4] = { 10, 0, 0, host }, b[4] = { 10, 0, 0, 2 };
	const struct nff_l4 h = { .dst = dst, .src = src, .saddr = a,
				  .daddr = b, .ip_len = true, .ttl = 64,
				  .proto = 6, .sport = sport, .dport = 80,
				  .payload = 10 };

	return nff_ip4(f, &h);
}

void nvfx_log_init(struct nvfx_log *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->link = -1;
}

void nvfx_log_add(struct nvfx_log *r, unsigned int queue, const void *frame,
		  size_t len, const struct ovb_net_meta *meta)
{
	pthread_mutex_lock(&r->lock);
	r->queues_seen |= 1u << queue;
	if (r->n < NVFX_MAXF) {
		r->frame[r->n] = malloc(len);
		memcpy(r->frame[r->n], frame, len);
		r->len[r->n] = (uint32_t)len;
		r->meta[r->n] = meta ? *meta : (struct ovb_net_meta){ 0 };
	}
	__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->lock);
}

unsigned int nvfx_log_count(struct nvfx_log *r)
{
	return __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);
}

void nvfx_log_reset(struct nvfx_log *r)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n && i < NVFX_MAXF; i++)
		free(r->frame[i]);
	r->n = 0;
	r->queues_seen = 0;
	pthread_mutex_unlock(&r->lock);
}

void nvfx_log_rx(void *ctx, unsigned int queue, const void *frame,
		 size_t len, const struct ovb_net_meta *meta)
{
	nvfx_log_add(ctx, queue, frame, len, meta);
}

void nvfx_log_link(void *ctx, bool up)
{
	struct nvfx_log *r = ctx;

	__atomic_store_n(&r->link, up ? 1 : 0, __ATOMIC_RELEASE);
}

int nvfx_log_tx(void *ctx, const void *frame, size_t len,
		const struct ovb_net_meta *meta)
{
	nvfx_log_add(ctx, 0, frame, len, meta);
	return 0;
}
