// SPDX-License-Identifier: MIT
/*
 * vmbus lab without root: the same host and guests in one process over
 * the in-process link.  The host serves a SCSI and an IDE disk backed by
 * image files under the state directory; guest 1 writes data with a
 * checksum through storvsc, reads it back, and checks what the previous
 * run left; guest 2 scans the same controller.  No FUSE, loop device or
 * namespace is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/link.h"
#include "openvmbus/netvsc.h"
#include "openvmbus/netvsp.h"
#include "openvmbus/server.h"
#include "openvmbus/vswitch.h"
#include "openvmbus/storvsc.h"
#include "openvmbus/storvsp.h"
#include "tools/lab.h"
#include "tools/util.h"

#define LOCAL_MAGIC 0x424c2d53424d564full /* "OVMBS-LB" */
#define LOCAL_DATA (4u << 20)             /* bytes of data per run */

/* Block 0 of the SCSI disk: what the last run wrote. */
struct local_header {
	uint64_t magic;
	uint64_t runs;
	uint64_t data_hash; /* FNV-1a 64 of the data region */
};

#define LOCAL_FRAMES 20000
#define LOCAL_FRAME 1514
#define LOCAL_ETHERTYPE 0x88b5 /* IEEE local experimental */

/* What guest 2 received. */
struct local_rx {
	uint64_t frames, bytes, bad; /* atomic */
};

struct local {
	struct ovb_server *srv;
	struct ovb_storvsp *scsi, *ide;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *nic;
	struct ovb_inproc *link[LAB_GUESTS];
	struct ovb_storvsc_set set[LAB_GUESTS];
	struct ovb_netvsc_driver_ctx netdrv[LAB_GUESTS];
	struct ovb_netvsc *net[LAB_GUESTS];
	struct ovb_netvsc_info info[LAB_GUESTS];
	struct local_rx rx;
};

static int local_disk(struct lab *l, struct ovb_storvsp *c, const char *spec)
{
	struct ovb_disk_spec ds;
	struct ovb_blk *blk;
	char err[200];
	int rc;

	if ((rc = ovb_disk_spec_parse(spec, &ds, err, sizeof(err))) != 0 ||
	    (rc = ovb_blk_open(&ds, &blk, err, sizeof(err))) != 0)
		return rc;
	rc = ovb_storvsp_add_lun(c, ovb_storvsp_is_ide(c) ? 0 : -1, blk);
	return rc < 0 ? rc : 0;
}

static int local_host(struct lab *l, struct local *lo)
{
	struct ovb_storvsp_cfg scsi = { .name = "storvsp0" };
	struct ovb_storvsp_cfg ide = { .name = "storvsp-ide0", .ide = true };
	char spec[300];
	int rc;

	if ((rc = ovb_server_create(&lo->srv)) ||
	    (rc = ovb_storvsp_create(&scsi, &lo->scsi)) ||
	    (rc = ovb_storvsp_create(&ide, &lo->ide)))
		return rc;
	snprintf(spec, sizeof(spec), "%s/scsi.img,size=64M", l->state);
	if ((rc = local_disk(l, lo->scsi, spec)))
		return rc;
	snprintf(spec, sizeof(spec), "%s/ide.img,size=16M,ide", l->state);
	if ((rc = local_disk(l, lo->ide, spec)))
		return rc;
	if ((rc = ovb_storvsp_register(lo->srv, lo->scsi)) ||
	    (rc = ovb_storvsp_register(lo->srv, lo->ide)))
		return rc;
	struct ovb_vswitch_config swc = { 0 };
	struct ovb_netvsp_cfg nc = { .name = "lab0" };

	if ((rc = ovb_vswitch_create(&swc, &lo->sw)))
		return rc;
	nc.sw = lo->sw;
	if ((rc = ovb_netvsp_create(&nc, &lo->nic)) ||
	    (rc = ovb_netvsp_register(lo->nic, lo->srv)))
		return rc;
	return 0;
}

/* Guest 2's receive path: every frame's payload is checked. */
static void local_rx(void *ctx, unsigned int queue, const void *frame,
		     size_t len, const struct ovb_net_meta *meta)
{
	struct local_rx *rx = ctx;
	const uint8_t *f = frame;
	uint32_t seq;

	if (len != LOCAL_FRAME || f[12] != LOCAL_ETHERTYPE >> 8 ||
	    f[13] != (LOCAL_ETHERTYPE & 0xff))
		return; /* not ours (IPv6 router solicitations and such) */
	memcpy(&seq, f + 14, sizeof(seq));
	for (size_t i = 18; i < len; i++)
		if (f[i] != (uint8_t)(seq + i)) {
			__atomic_fetch_add(&rx->bad, 1, __ATOMIC_RELAXED);
			return;
		}
	__atomic_fetch_add(&rx->bytes, len, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rx->frames, 1, __ATOMIC_RELEASE);
}

static int local_nic(struct lab *l, struct local *lo, int i)
{
	struct ovb_netvsc_params np = { 0 };
	int rc;

	if (!lo->netdrv[i].ndev)
		return -ENODEV;
	if (i == 1) {
		np.rx = local_rx;
		np.ctx = &lo->rx;
	}
	if ((rc = ovb_netvsc_open(lo->netdrv[i].dev[0], &np, &lo->net[i])))
		return rc;
	ovb_netvsc_get_info(lo->net[i], &lo->info[i]);
	snprintf(l->nvsp, sizeof(l->nvsp), "%u.%u",
		 lo->info[i].nvsp_version >> 16,
		 lo->info[i].nvsp_version & 0xffff);
	return 0;
}

/* Paced frames guest 1 -> switch -> guest 2, every one verified. */
static int local_frames(struct lab *l, struct local *lo)
{
	uint8_t f[LOCAL_FRAME];
	double t0 = lab_now();
	uint64_t sent = 0;
	int rc = 0;

	memcpy(f, lo->info[1].mac, 6);
	memcpy(f + 6, lo->info[0].mac, 6);
	f[12] = LOCAL_ETHERTYPE >> 8;
	f[13] = LOCAL_ETHERTYPE & 0xff;
	for (uint32_t seq = 0; seq < LOCAL_FRAMES && !rc; seq++) {
		memcpy(f + 14, &seq, sizeof(seq));
		for (size_t i = 18; i < sizeof(f); i++)
			f[i] = (uint8_t)(seq + i);
		/* Stay within what guest 2's receive buffer holds. */
		while (sent - __atomic_load_n(&lo->rx.frames,
					      __ATOMIC_ACQUIRE) > 256 &&
		       lab_now() - t0 < 30)
			usleep(20);
		rc = ovb_netvsc_send(lo->net[0], 0, f, sizeof(f), NULL,
				     seq % 32 != 31);
		sent++;
	}
	ovb_netvsc_flush(lo->net[0], 0);
	while (__atomic_load_n(&lo->rx.frames, __ATOMIC_ACQUIRE) < sent &&
	       lab_now() - t0 < 30)
		usleep(100);
	l->net_gbps = (double)lo->rx.bytes * 8 / 1e9 / (lab_now() - t0);
	l->net_bytes = lo->rx.bytes;
	return rc ? rc : lo->rx.frames == sent && !lo->rx.bad ? 0 : -EIO;
}

static int local_guest(struct lab *l, struct local *lo, int i)
{
	struct ovb_inproc_params ip = { .mem_gpa = 1ull << 32,
					.mem_size = 64 << 20 };
	char name[16];
	struct ovb_client *cl;
	int rc;

	snprintf(name, sizeof(name), "guest%d", i + 1);
	ip.name = name;
	lo->set[i].cfg.subchannels = 1;
	if ((rc = ovb_inproc_create(lo->srv, &ip, &lo->link[i])))
		return rc;
	cl = ovb_inproc_client(lo->link[i]);
	ovb_client_register_driver(cl, &ovb_storvsc_scsi_driver, &lo->set[i]);
	ovb_client_register_driver(cl, &ovb_storvsc_ide_driver, &lo->set[i]);
	ovb_client_register_driver(cl, &ovb_netvsc_driver, &lo->netdrv[i]);
	if ((rc = ovb_client_connect(cl, 0, 5000)))
		return rc;
	snprintf(l->vmbus[i], sizeof(l->vmbus[i]), "%s",
		 tool_version_str(ovb_client_version(cl)));
	if (!lo->set[i].n)
		return -ENODEV;
	uint16_t v = ovb_storvsc_version(lo->set[i].ctl[0]);

	snprintf(l->vstor, sizeof(l->vstor), "%u.%u", v >> 8, v & 0xff);
	return 0;
}

static struct ovb_storvsc *local_ctl(struct local *lo, bool ide)
{
	for (unsigned int i = 0; i < lo->set[0].n; i++)
		if (ovb_storvsc_is_ide(lo->set[0].ctl[i]) == ide)
			return lo->set[0].ctl[i];
	return NULL;
}

/* Check the previous run's data, then write and verify this run's. */
static int local_data(struct lab *l, struct local *lo)
{
	struct ovb_storvsc *s = local_ctl(lo, false);
	struct local_header h;
	uint8_t *buf, *hdr;
	double t0;
	int64_t res;
	int rc = -EIO;

	if (!s)
		return -ENODEV;
	buf = ovb_storvsc_alloc(s, LOCAL_DATA);
	hdr = ovb_storvsc_alloc(s, 4096);
	if (!buf || !hdr)
		return -ENOMEM;
	if (ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, hdr, 4096, false) < 0)
		goto out;
	memcpy(&h, hdr, sizeof(h));
	l->first_run = h.magic != LOCAL_MAGIC;
	if (!l->first_run) {
		if (ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 4096, buf,
				     LOCAL_DATA, false) < 0 ||
		    ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf, LOCAL_DATA) !=
			    h.data_hash)
			goto out;
		l->files_found = (unsigned int)h.runs;
	}
	if (getrandom(buf, LOCAL_DATA, 0) != (ssize_t)LOCAL_DATA)
		goto out;
	h.magic = LOCAL_MAGIC;
	h.runs = l->first_run ? 1 : h.runs + 1;
	h.data_hash = ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf, LOCAL_DATA);
	memset(hdr, 0, 4096);
	memcpy(hdr, &h, sizeof(h));
	t0 = lab_now();
	res = ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 0, 4096, buf, LOCAL_DATA,
			       false);
	if (res < 0 ||
	    ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 0, 0, hdr, 4096, true) < 0 ||
	    ovb_storvsc_sync(s, OVB_STORVSC_FLUSH, 0, 0, NULL, 0, false) < 0)
		goto out;
	l->disk_write_mbs = LOCAL_DATA / 1e6 / (lab_now() - t0);
	memset(buf, 0, LOCAL_DATA);
	t0 = lab_now();
	if (ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 4096, buf, LOCAL_DATA,
			     false) < 0)
		goto out;
	l->disk_read_mbs = LOCAL_DATA / 1e6 / (lab_now() - t0);
	rc = ovb_echo_fnv(OVB_ECHO_FNV_INIT, buf, LOCAL_DATA) == h.data_hash
		     ? 0
		     : -EIO;
	l->files_written = 1;
out:
	ovb_storvsc_free(s, buf, LOCAL_DATA);
	ovb_storvsc_free(s, hdr, 4096);
	return rc;
}

/* 4 KiB random reads one at a time: IOPS and latency of the path. */
static int local_iops(struct lab *l, struct local *lo)
{
	struct ovb_storvsc *s = local_ctl(lo, false);
	uint8_t *buf = s ? ovb_storvsc_alloc(s, 4096) : NULL;
	const int n = 5000;
	uint32_t r = 12345;
	double t0;

	if (!buf)
		return -ENOMEM;
	t0 = lab_now();
	for (int i = 0; i < n; i++) {
		r = r * 1103515245 + 12345;
		if (ovb_storvsc_sync(s, OVB_STORVSC_READ, 0,
				     (uint64_t)(r % 16384) * 4096, buf, 4096,
				     false) != 4096) {
			ovb_storvsc_free(s, buf, 4096);
			return -EIO;
		}
	}
	l->disk_iops = n / (lab_now() - t0);
	l->disk_lat_us = 1e6 / l->disk_iops;
	ovb_storvsc_free(s, buf, 4096);
	return 0;
}

static int local_ide(struct local *lo)
{
	struct ovb_storvsc *s = local_ctl(lo, true);
	uint8_t *a, *b;
	int rc = -EIO;

	if (!s)
		return -ENODEV;
	a = ovb_storvsc_alloc(s, 1 << 20);
	b = ovb_storvsc_alloc(s, 1 << 20);
	if (a && b && getrandom(a, 1 << 20, 0) == 1 << 20 &&
	    ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 0, 0, a, 1 << 20, true) ==
		    1 << 20 &&
	    ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, b, 1 << 20, false) ==
		    1 << 20)
		rc = memcmp(a, b, 1 << 20) ? -EIO : 0;
	ovb_storvsc_free(s, a, 1 << 20);
	ovb_storvsc_free(s, b, 1 << 20);
	return rc;
}

static void local_stat(struct lab *l, struct local *lo)
{
	char *json = NULL;

	/* The table is for people; here the JSON is what we have. */
	if (!ovb_server_stat_json(lo->srv, &json)) {
		snprintf(l->stat_table, sizeof(l->stat_table), "%s", json);
		free(json);
	}
}

/* The step runs first; its detail is formatted from the results. */
#define LSTEP(l, title, call, ...)                                              \
	do {                                                                   \
		int step_rc_;                                                  \
		lab_step_begin(l, title);                                      \
		step_rc_ = (call) ? 1 : 0;                                     \
		if (lab_step_end(l, step_rc_, __VA_ARGS__))                    \
			goto out;                                               \
	} while (0)

int lab_local(struct lab *l)
{
	struct local lo = { 0 };
	const char *home = getenv("HOME");
	int rc = 1;

	if (geteuid() != 0 && home && !strcmp(l->state, "/var/lib/openvmbus-lab"))
		snprintf(l->state, sizeof(l->state), "%s/.openvmbus-lab", home);
	mkdir(l->state, 0700);
	printf("vmbus lab: state in %s\n", l->state);
	LSTEP(l, "host partition (in-process)", local_host(l, &lo),
	      "SCSI scsi.img, IDE ide.img in %s", l->state);
	LSTEP(l, "guest 1", local_guest(l, &lo, 0), "VMBus %s, VSTOR %s",
	      l->vmbus[0], l->vstor);
	LSTEP(l, "guest 2", local_guest(l, &lo, 1), "VMBus %s", l->vmbus[1]);
	LSTEP(l, "data from the last run + this run's", local_data(l, &lo),
	      "%s; 4 MiB written, read back, hash matches",
	      l->first_run ? "first run" : "previous data verified");
	LSTEP(l, "IDE disk", local_ide(&lo), "1 MiB written and compared");
	LSTEP(l, "4 KiB random reads", local_iops(l, &lo), "%.0f IOPS, %.1f us",
	      l->disk_iops, l->disk_lat_us);
	LSTEP(l, "NICs on switch lab0", local_nic(l, &lo, 0) ||
					      local_nic(l, &lo, 1),
	      "NVSP %s, MTU %u", l->nvsp, lo.info[0].mtu);
	LSTEP(l, "frames guest1 -> guest2", local_frames(l, &lo),
	      "%llu x %d bytes, every payload verified, %.2f Gbit/s",
	      (unsigned long long)lo.rx.frames, LOCAL_FRAME, l->net_gbps);
	local_stat(l, &lo);
	printf("\nsummary\n  %-24s %s (guest1), %s (guest2)\n  %-24s %s\n"
	       "  %-24s %s\n  %-24s write %.0f MB/s, read %.0f MB/s\n"
	       "  %-24s %.0f IOPS, %.1f us each\n"
	       "  %-24s %s\n  %-24s %.2f Gbit/s (%llu MiB guest1 -> guest2)\n",
	       "VMBus negotiated", l->vmbus[0], l->vmbus[1],
	       "VSTOR negotiated", l->vstor, "runs on this disk",
	       l->first_run ? "this is the first" : "found the previous run's data",
	       "disk throughput", l->disk_write_mbs, l->disk_read_mbs,
	       "disk latency", l->disk_iops, l->disk_lat_us,
	       "NVSP negotiated", l->nvsp, "network throughput", l->net_gbps,
	       (unsigned long long)(l->net_bytes >> 20));
	printf("\nchannels (JSON from the server)\n%s", l->stat_table);
	rc = 0;
out:
	for (int i = LAB_GUESTS - 1; i >= 0; i--) {
		if (lo.net[i])
			ovb_netvsc_close(lo.net[i]);
		if (!lo.link[i])
			continue;
		ovb_client_unload(ovb_inproc_client(lo.link[i]), 5000);
		ovb_inproc_destroy(lo.link[i]);
	}
	ovb_server_destroy(lo.srv);
	ovb_storvsp_destroy(lo.scsi);
	ovb_storvsp_destroy(lo.ide);
	if (lo.nic)
		ovb_netvsp_destroy(lo.nic);
	if (lo.sw)
		ovb_vswitch_destroy(lo.sw);
	return rc;
}
