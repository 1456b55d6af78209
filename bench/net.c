// SPDX-License-Identifier: MIT
/*
 * bench/net: the synthetic NIC in one process (inproc link): a host with
 * netvsp on a switch, two guests with netvsc.  For 64-byte and 1500-byte
 * frames it measures guest->host (a switch port that counts), host->guest
 * (a switch port that injects) and guest->switch->guest, in interrupt and
 * polling mode, for about half a second each.  Prints a table and writes
 * JSON to argv[1].  The peers (DPDK testpmd virtio-user<->vhost-user, and
 * TCP over a kernel veth pair against TCP between two guests' TAPs) are
 * run by bench/net-peer.sh, which merges them and the ratios into it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"

#define RUN_NS 500000000ull

struct guest {
	struct ovb_inproc *link;
	struct ovb_netvsc_driver_ctx drv;
	struct ovb_netvsc *nic;
	struct ovb_netvsc_info info;
	uint64_t rx;
};

static uint64_t host_rx;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_rx(void *ctx, unsigned int q, const void *f, size_t len,
		  const struct ovb_net_meta *meta)
{
	struct guest *g = ctx;

	__atomic_fetch_add(&g->rx, 1, __ATOMIC_RELAXED);
}

static int sink_tx(void *ctx, const void *f, size_t len,
		   const struct ovb_net_meta *meta)
{
	__atomic_fetch_add(&host_rx, 1, __ATOMIC_RELAXED);
	return 0;
}

static void frame(uint8_t *f, size_t len, const uint8_t *dst,
		  const uint8_t *src)
{
	memset(f, 0x5a, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
}

struct result {
	const char *path, *mode;
	unsigned int size;
	double pps, gbps;
};

/* Send for RUN_NS; @received counts what arrived.  Returns packets/s. */
static void run(struct result *r, struct ovb_netvsc *tx, struct ovb_vswitch *sw,
		unsigned int port, const uint8_t *dst, const uint8_t *src,
		uint64_t *received)
{
	uint8_t f[1514];
	uint64_t start, end, before = __atomic_load_n(received, __ATOMIC_ACQUIRE);
	uint64_t sent = 0;

	frame(f, r->size, dst, src);
	start = now_ns();
	do {
		for (int i = 0; i < 64; i++) {
			if (tx)
				ovb_netvsc_send(tx, 0, f, r->size, NULL, i < 63);
			else
				ovb_vswitch_input(sw, port, f, r->size, NULL);
		}
		sent += 64;
	} while (now_ns() - start < RUN_NS);
	usleep(20000); /* let the last batches land */
	end = now_ns();
	uint64_t got = __atomic_load_n(received, __ATOMIC_ACQUIRE) - before;

	r->pps = (double)got * 1e9 / (double)(end - start);
	r->gbps = r->pps * r->size * 8 / 1e9;
	printf("%-14s %-9s %5u B %12.0f pkt/s %8.3f Gbit/s  (%llu sent, "
	       "%llu received)\n", r->path, r->mode, r->size, r->pps, r->gbps,
	       (unsigned long long)sent, (unsigned long long)got);
}

int main(int argc, char **argv)
{
	struct ovb_netvsp_cfg cfg = { .name = "bench" };
	struct ovb_server *srv;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct guest g[2];
	struct result res[12];
	unsigned int nres = 0, port;
	const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
	FILE *js;

	memset(g, 0, sizeof(g));
	if (ovb_server_create(&srv) || ovb_vswitch_create(NULL, &sw))
		return 1;
	cfg.sw = sw;
	if (ovb_netvsp_create(&cfg, &vsp) || ovb_netvsp_register(vsp, srv) ||
	    ovb_vswitch_port_add(sw, "sink", 0, sink_tx, NULL, &port))
		return 1;
	for (unsigned int mode = 0; mode < 2; mode++) {
		const char *mname = mode ? "polling" : "interrupt";

		for (int i = 0; i < 2; i++) {
			struct ovb_inproc_params ip = { .name = i ? "b" : "a",
							.mem_gpa = 1ull << 32,
							.mem_size = 64ull << 20 };
			struct ovb_netvsc_params p = { .rx = on_rx, .ctx = &g[i],
						       .poll_us = mode ? 200 : 0 };

			if (ovb_inproc_create(srv, &ip, &g[i].link) ||
			    ovb_client_register_driver(ovb_inproc_client(g[i].link),
						       &ovb_netvsc_driver,
						       &g[i].drv) ||
			    ovb_client_connect(ovb_inproc_client(g[i].link), 0,
					       5000) ||
			    ovb_netvsc_open(g[i].drv.dev[0], &p, &g[i].nic))
				return 1;
			ovb_netvsc_get_info(g[i].nic, &g[i].info);
		}
		/* Teach the switch where the host sink lives. */
		uint8_t f[64];

		frame(f, 64, g[0].info.mac, host_mac);
		ovb_vswitch_input(sw, port, f, 64, NULL);
		for (unsigned int s = 0; s < 2; s++) {
			unsigned int size = s ? 1500 : 64;

			res[nres] = (struct result){ "guest->host", mname, size, 0, 0 };
			run(&res[nres++], g[0].nic, sw, port, host_mac,
			    g[0].info.mac, &host_rx);
			res[nres] = (struct result){ "host->guest", mname, size, 0, 0 };
			run(&res[nres++], NULL, sw, port, g[0].info.mac,
			    host_mac, &g[0].rx);
			res[nres] = (struct result){ "guest->guest", mname, size, 0, 0 };
			run(&res[nres++], g[0].nic, sw, port, g[1].info.mac,
			    g[0].info.mac, &g[1].rx);
		}
		for (int i = 0; i < 2; i++) {
			ovb_netvsc_close(g[i].nic);
			ovb_inproc_destroy(g[i].link);
			g[i].drv.ndev = 0;
		}
	}
	js = fopen(argc > 1 ? argv[1] : "net.json", "w");
	if (js) {
		fprintf(js, "{\"bench\": \"net\", \"results\": [\n");
		for (unsigned int i = 0; i < nres; i++)
			fprintf(js, "  {\"path\": \"%s\", \"mode\": \"%s\", "
				"\"frame\": %u, \"pps\": %.0f, \"gbps\": %.4f}%s\n",
				res[i].path, res[i].mode, res[i].size,
				res[i].pps, res[i].gbps, i + 1 < nres ? "," : "");
		fprintf(js, "]}\n");
		fclose(js);
	}
	ovb_vswitch_port_remove(sw, port);
	ovb_server_destroy(srv);
	ovb_netvsp_destroy(vsp);
	ovb_vswitch_destroy(sw);
	return 0;
}
