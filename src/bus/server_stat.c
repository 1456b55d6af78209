// SPDX-License-Identifier: MIT
/*
 * Server statistics as JSON: one document with every partition and every
 * offer, its ring fill, interrupt-mask state, signals, packets, bytes,
 * errors and how often polling saved a sleep.  `vmbus stat` reads it
 * through the host's control socket.  Layer: bus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "openvmbus/server.h"

struct stat_ctx {
	FILE *f;
	unsigned int last_part; /* partition id of the previous entry */
	bool first_chan;
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void stat_one(const struct ovb_chan_report *r, void *arg)
{
	struct stat_ctx *c = arg;
	FILE *f = c->f;

	if (r->partition_id != c->last_part) {
		if (c->last_part)
			fprintf(f, "\n    ]},\n");
		fprintf(f, "    {\"id\": %u, \"name\": ", r->partition_id);
		json_str(f, r->partition);
		fprintf(f, ", \"vmbus_version\": \"%u.%u\", \"channels\": [",
			r->version >> 16, r->version & 0xffff);
		c->last_part = r->partition_id;
		c->first_chan = true;
	}
	fprintf(f, "%s\n      {\"device\": ", c->first_chan ? "" : ",");
	c->first_chan = false;
	json_str(f, r->device);
	fprintf(f,
		", \"relid\": %u, \"subchannel\": %u, \"open\": %s, "
		"\"ring\": {\"out_size\": %u, \"out_used\": %u, "
		"\"in_size\": %u, \"in_used\": %u, \"in_masked\": %s, "
		"\"peer_masked\": %s}, "
		"\"packets_in\": %llu, \"bytes_in\": %llu, "
		"\"packets_out\": %llu, \"bytes_out\": %llu, "
		"\"signals_in\": %llu, \"signals_out\": %llu, "
		"\"ring_full\": %llu, \"errors\": %llu, "
		"\"spin_hits\": %llu, \"polled\": %llu, "
		"\"commits_out\": %llu, \"adapt_hits\": %llu, "
		"\"sleeps\": %llu, \"adapt_spin_us\": %llu, "
		"\"spin_crowded\": %llu}",
		r->relid, r->subidx, r->open ? "true" : "false",
		r->ring.out_size, r->ring.out_used, r->ring.in_size,
		r->ring.in_used, r->ring.in_masked ? "true" : "false",
		r->ring.out_peer_masked ? "true" : "false",
		(unsigned long long)r->st.pkts_in,
		(unsigned long long)r->st.bytes_in,
		(unsigned long long)r->st.pkts_out,
		(unsigned long long)r->st.bytes_out,
		(unsigned long long)r->st.signals_in,
		(unsigned long long)r->st.signals_out,
		(unsigned long long)r->st.ring_full,
		(unsigned long long)r->st.errors,
		(unsigned long long)r->st.spin_hits,
		(unsigned long long)r->st.polled,
		(unsigned long long)r->st.commits_out,
		(unsigned long long)r->st.adapt_hits,
		(unsigned long long)r->st.sleeps,
		(unsigned long long)r->st.adapt_spin_us,
		(unsigned long long)r->st.spin_crowded);
}

int ovb_server_stat_json(struct ovb_server *srv, char **out)
{
	struct stat_ctx c = { 0 };
	size_t len;

	c.f = open_memstream(out, &len);
	if (!c.f)
		return -ENOMEM;
	fprintf(c.f, "{\n  \"partitions\": [\n");
	ovb_server_report(srv, stat_one, &c);
	if (c.last_part)
		fprintf(c.f, "\n    ]}\n");
	fprintf(c.f, "  ]\n}\n");
	if (fclose(c.f))
		return -ENOMEM;
	return 0;
}
