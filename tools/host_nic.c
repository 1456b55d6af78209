// SPDX-License-Identifier: MIT
/*
 * vmbus host: the synthetic NIC.
 * --nic SWITCH[,mtu=N][,queues=N][,macid=N][,poll=US]
 * creates a virtual switch whose netvsp gives every guest one NIC on it (repeatable,
 * up to 4 switches); --uplink TAPNAME joins a TAP device of the host to
 * the last switch; --nic-workers per-channel|shared|one chooses which
 * host threads run the NICs' channels (netvsp cfg.workers; shared unless
 * told: a frame between two guests, its slot returns and the ACKs coming
 * back stay on one host thread, at 10-15 % less CPU per byte of TCP than
 * a worker per channel, docs/net-perf.md).  Control commands: `nic link
 * up|down`, `nic stat`.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "openvmbus/net_tap.h"
#include "openvmbus/netvsp.h"
#include "tools/plugin.h"

enum { OPT_NIC = PLUGIN_OPT_BASE(1), OPT_UPLINK, OPT_NIC_WORKERS };

#define NIC_MAX_SWITCHES 4

struct nic_switch {
	char name[32];
	uint32_t mtu;
	unsigned int queues;
	int mac_id; /* MAC byte 3; -1: the switch's index */
	uint32_t poll_us; /* channel polling; 0: interrupt mode */
	const char *uplink;
	struct ovb_vswitch *sw;
	struct ovb_netvsp *vsp;
	struct ovb_net_tap *tap;
	unsigned int tap_port;
	pthread_t reader;
	bool reading;
};

static struct nic_switch nic_sw[NIC_MAX_SWITCHES];
static unsigned int nic_nsw;
static int nic_stop_fd = -1;
/* --nic-workers, every switch */
static enum ovb_netvsp_workers nic_workers = OVB_NETVSP_WORKERS_SHARED;

static const struct option nic_opts[] = {
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "uplink", required_argument, NULL, OPT_UPLINK },
	{ "nic-workers", required_argument, NULL, OPT_NIC_WORKERS },
	{ 0 },
};

static int nic_parse(const char *arg)
{
	struct nic_switch *s = &nic_sw[nic_nsw];
	char buf[128], *save, *tok, *end;

	if (nic_nsw == NIC_MAX_SWITCHES) {
		fprintf(stderr, "vmbus host: at most %d --nic switches\n",
			NIC_MAX_SWITCHES);
		return 2;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	tok = strtok_r(buf, ",", &save);
	if (!tok || strlen(tok) >= sizeof(s->name)) {
		fprintf(stderr, "vmbus host: --nic wants SWITCH[,mtu=N], not "
			"'%s'\n", arg);
		return 2;
	}
	snprintf(s->name, sizeof(s->name), "%s", tok);
	s->mtu = 1500;
	s->mac_id = -1;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		unsigned long v;

		if (!strncmp(tok, "mtu=", 4)) {
			v = strtoul(tok + 4, &end, 10);
			if (*end || v < 68 || v > OVB_NETVSP_MAX_MTU) {
				fprintf(stderr, "vmbus host: --nic mtu wants "
					"68..9000, not '%s'\n", tok + 4);
				return 2;
			}
			s->mtu = (uint32_t)v;
		} else if (!strncmp(tok, "queues=", 7)) {
			v = strtoul(tok + 7, &end, 10);
			if (*end || !v || v > OVB_NETVSP_MAX_CHANNELS) {
				fprintf(stderr, "vmbus host: --nic queues wants "
					"1..8, not '%s'\n", tok + 7);
				return 2;
			}
			s->queues = (unsigned int)v;
		} else if (!strncmp(tok, "macid=", 6)) {
			/* Hosts sharing a layer-2 network (VXLAN) need
			 * distinct guest MACs: one ID per host. */
			v = strtoul(tok + 6, &end, 10);
			if (*end || !tok[6] || v > 255) {
				fprintf(stderr, "vmbus host: --nic macid wants "
					"0..255, not '%s'\n", tok + 6);
				return 2;
			}
			s->mac_id = (int)v;
		} else if (!strncmp(tok, "poll=", 5)) {
			/* Polling guests (DPDK) are seen without a signal. */
			v = strtoul(tok + 5, &end, 10);
			if (*end || !tok[5] || v > 100000) {
				fprintf(stderr, "vmbus host: --nic poll wants "
					"0..100000 us, not '%s'\n", tok + 5);
				return 2;
			}
			s->poll_us = (uint32_t)v;
		} else {
			fprintf(stderr, "vmbus host: unknown --nic setting "
				"'%s' (mtu=N, queues=N, macid=N, poll=US)\n",
				tok);
			return 2;
		}
	}
	nic_nsw++;
	return 0;
}

static int nic_option(int code, const char *arg)
{
	if (code == OPT_NIC)
		return nic_parse(arg);
	if (code == OPT_NIC_WORKERS) {
		if (!strcmp(arg, "per-channel"))
			nic_workers = OVB_NETVSP_WORKERS_PER_CHANNEL;
		else if (!strcmp(arg, "shared"))
			nic_workers = OVB_NETVSP_WORKERS_SHARED;
		else if (!strcmp(arg, "one"))
			nic_workers = OVB_NETVSP_WORKERS_ONE;
		else {
			fprintf(stderr, "vmbus host: --nic-workers wants "
				"per-channel, shared or one, not '%s'\n", arg);
			return 2;
		}
		return 0;
	}
	if (!nic_nsw) {
		fprintf(stderr, "vmbus host: --uplink needs a --nic before "
			"it\n");
		return 2;
	}
	nic_sw[nic_nsw - 1].uplink = arg;
	return 0;
}

/* The uplink TAP as a switch port. */
static int uplink_tx(void *ctx, const void *frame, size_t len,
		     const struct ovb_net_meta *meta)
{
	struct nic_switch *s = ctx;
	ssize_t n = ovb_net_tap_write(s->tap, 0, frame, len, meta);

	return n < 0 ? (int)n : 0;
}

/*
 * The plain frames read in one wake-up, kept to go into the switch as a
 * run (ovb_vswitch_input_run): each in a buffer of its own.
 */
struct uplink_run {
	uint8_t *bufs; /* 64 frames of OVB_NET_TAP_MAX_FRAME, touched as used */
	unsigned int n;
	struct ovb_vswitch_frame f[64];
	struct ovb_net_meta meta[64];
};

static void uplink_run_flush(struct nic_switch *s, struct uplink_run *r)
{
	if (r->n)
		ovb_vswitch_input_run(s->sw, s->tap_port, r->f, r->n, NULL);
	r->n = 0;
}

static void *uplink_reader(void *arg)
{
	struct nic_switch *s = arg;
	struct pollfd pfd[2] = {
		{ .fd = ovb_net_tap_fd(s->tap, 0), .events = POLLIN },
		{ .fd = nic_stop_fd, .events = POLLIN },
	};
	struct uplink_run *r = calloc(1, sizeof(*r));

	if (r)
		r->bufs = malloc((size_t)64 * OVB_NET_TAP_MAX_FRAME);
	while (r && r->bufs && !(pfd[1].revents & POLLIN)) {
		int batch = 0;

		/*
		 * Up to 64 frames per wake-up, delivered as one batch; the
		 * plain ones as runs, a frame with offload work alone (after
		 * the run before it, so the order holds).
		 */
		ovb_vswitch_batch_begin(s->sw);
		while (batch < 64) {
			uint8_t *buf = r->bufs +
				       (size_t)r->n * OVB_NET_TAP_MAX_FRAME;
			struct ovb_net_meta *m = &r->meta[r->n];
			ssize_t n = ovb_net_tap_read(s->tap, 0, buf,
						     OVB_NET_TAP_MAX_FRAME, m);

			if (n == -EAGAIN)
				break;
			batch++;
			if (n <= 0)
				continue;
			if (!m->gso_type &&
			    !(m->flags & (OVB_NET_META_CSUM_PARTIAL |
					  OVB_NET_META_IP4_CSUM))) {
				r->f[r->n] = (struct ovb_vswitch_frame){
					.frame = buf, .len = (size_t)n,
					.meta = m };
				r->n++;
				continue;
			}
			uplink_run_flush(s, r);
			ovb_vswitch_input(s->sw, s->tap_port, buf, (size_t)n,
					  m);
		}
		uplink_run_flush(s, r);
		ovb_vswitch_batch_end(s->sw);
		if (batch == 64)
			continue;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
	}
	if (r)
		free(r->bufs);
	free(r);
	return NULL;
}

static int uplink_start(struct nic_switch *s)
{
	int rc = ovb_net_tap_open(s->uplink, 1, &s->tap);

	if (!rc)
		rc = ovb_net_tap_set_mtu(s->tap, s->mtu);
	if (!rc)
		rc = ovb_net_tap_set_offload(s->tap, OVB_NET_TAP_OFFLOAD_CSUM |
						     OVB_NET_TAP_OFFLOAD_TSO4 |
						     OVB_NET_TAP_OFFLOAD_TSO6);
	if (!rc)
		rc = ovb_net_tap_set_up(s->tap, true);
	if (!rc)
		rc = ovb_vswitch_port_add(s->sw, s->uplink,
					  OVB_VSWITCH_CAP_CSUM |
						  OVB_VSWITCH_CAP_TSO4 |
						  OVB_VSWITCH_CAP_TSO6,
					  uplink_tx, s, &s->tap_port);
	if (!rc)
		s->reading = !pthread_create(&s->reader, NULL, uplink_reader, s);
	if (rc)
		fprintf(stderr, "vmbus host: uplink %s: %s\n", s->uplink,
			strerror(-rc));
	return rc;
}

/* `nic link up|down` and `nic stat` on the control socket. */
static int nic_control(const char *args, FILE *out, char *err, size_t errlen,
		       void *ctx)
{
	if (!strcmp(args, "link up") || !strcmp(args, "link down")) {
		bool up = !strcmp(args, "link up");

		for (unsigned int i = 0; i < nic_nsw; i++)
			ovb_netvsp_set_link(nic_sw[i].vsp, up);
		fprintf(out, "link %s on %u switch(es)\n", up ? "up" : "down",
			nic_nsw);
		return 0;
	}
	if (!strcmp(args, "stat")) {
		for (unsigned int i = 0; i < nic_nsw; i++) {
			struct ovb_netvsp_stats st;

			ovb_netvsp_get_stats(nic_sw[i].vsp, &st);
			fprintf(out,
				"%s link %s nics %llu to_guest %llu (%llu bytes) "
				"from_guest %llu (%llu bytes) no_buffer %llu "
				"bad %llu offload_dropped %llu "
				"bad_completions %llu batches %llu "
				"coalesced %llu segmented %llu "
				"wait_timeouts %llu slot_takes %llu "
				"reaps %llu\n",
				nic_sw[i].name,
				ovb_netvsp_link(nic_sw[i].vsp) ? "up" : "down",
				(unsigned long long)st.nics,
				(unsigned long long)st.to_guest,
				(unsigned long long)st.to_guest_bytes,
				(unsigned long long)st.from_guest,
				(unsigned long long)st.from_guest_bytes,
				(unsigned long long)st.no_buffer,
				(unsigned long long)st.bad,
				(unsigned long long)st.offload_dropped,
				(unsigned long long)st.bad_completions,
				(unsigned long long)st.to_guest_batches,
				(unsigned long long)st.coalesced,
				(unsigned long long)st.segmented,
				(unsigned long long)st.wait_timeouts,
				(unsigned long long)st.slot_takes,
				(unsigned long long)st.reaps);
		}
		return 0;
	}
	snprintf(err, errlen, "nic wants 'link up', 'link down' or 'stat'");
	return -EINVAL;
}

static int nic_start(struct ovb_server *srv, struct control *ctl)
{
	if (!nic_nsw)
		return 0;
	nic_stop_fd = eventfd(0, EFD_CLOEXEC);
	for (unsigned int i = 0; i < nic_nsw; i++) {
		struct nic_switch *s = &nic_sw[i];
		struct ovb_netvsp_cfg cfg = { .name = s->name, .mtu = s->mtu,
					      .mac_id = (uint8_t)(s->mac_id < 0
								     ? (int)i
								     : s->mac_id),
					      .max_channels = s->queues,
					      .poll_us = s->poll_us,
					      .workers = nic_workers };
		int rc = ovb_vswitch_create(NULL, &s->sw);

		cfg.sw = s->sw;
		if (!rc)
			rc = ovb_netvsp_create(&cfg, &s->vsp);
		if (!rc)
			rc = ovb_netvsp_register(s->vsp, srv);
		if (rc) {
			fprintf(stderr, "vmbus host: switch %s: %s\n", s->name,
				strerror(-rc));
			return 1;
		}
		if (s->uplink && uplink_start(s))
			return 1;
	}
	if (ctl)
		control_register(ctl, "nic", nic_control, NULL);
	return 0;
}

static void nic_stop(void)
{
	uint64_t one = 1;

	if (nic_stop_fd >= 0 && write(nic_stop_fd, &one, 8) != 8)
		perror("vmbus host: nic stop");
	for (unsigned int i = 0; i < nic_nsw; i++) {
		struct nic_switch *s = &nic_sw[i];

		if (s->reading)
			pthread_join(s->reader, NULL);
		if (s->tap) {
			ovb_vswitch_port_remove(s->sw, s->tap_port);
			ovb_net_tap_close(s->tap);
		}
		ovb_netvsp_destroy(s->vsp);
		if (s->sw)
			ovb_vswitch_destroy(s->sw);
	}
	if (nic_stop_fd >= 0)
		close(nic_stop_fd);
}

const struct host_plugin host_plugin_nic = {
	.name = "nic",
	.opts = nic_opts,
	.help = "  --nic SWITCH[,mtu=N][,queues=N][,macid=N][,poll=US]\n"
		"                      a virtual switch; every guest gets a "
		"synthetic NIC on it\n"
		"                      (MAC 00:15:5d:N:..., N = macid, "
		"default the switch index;\n"
		"                      poll=US: its channels poll US "
		"microseconds after each batch)\n"
		"  --uplink TAPNAME    join host TAP TAPNAME to the last "
		"--nic switch\n"
		"  --nic-workers per-channel|shared|one\n"
		"                      host threads for the NICs' channels: "
		"shared (default): one\n"
		"                      thread per queue index, serving queue N "
		"of every NIC on a\n"
		"                      switch; per-channel: a worker per "
		"channel; one: one thread\n"
		"                      per switch\n",
	.option = nic_option,
	.start = nic_start,
	.stop = nic_stop,
};
