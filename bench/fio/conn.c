// SPDX-License-Identifier: MIT
/*
 * openvmbus-fio.so, connection side: fio's filename= parsed into a spec,
 * a guest partition joined to the host over the socket link with storvsc
 * bound (SCSI and IDE), and a spec's disk found among the LUNs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/fio/engine.h"
#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"

/* How long the host has to offer the sub-channels it granted. */
#define OVBF_CHANNELS_MS 5000

static int spec_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	unsigned int shift = 0;

	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (end == v || *end || n == 0 || n > (64ull << 30) >> shift)
		return -EINVAL;
	*out = n << shift;
	return 0;
}

static int spec_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	*out = strtoul(v, &end, 10);
	return end == v || *end || *out > max ? -EINVAL : 0;
}

/* disk=scsi0/lun1, disk=ide0, disk=scsi1/lun0 ... */
static int spec_disk(const char *v, struct ovbf_spec *sp)
{
	const char *slash = strchr(v, '/');
	size_t clen = slash ? (size_t)(slash - v) : strlen(v);
	unsigned long lun;

	if (!clen || clen >= sizeof(sp->ctl))
		return -EINVAL;
	memcpy(sp->ctl, v, clen);
	sp->ctl[clen] = 0;
	if (!slash)
		return 0;
	if (strncmp(slash + 1, "lun", 3) || spec_uint(slash + 4, 255, &lun))
		return -EINVAL;
	sp->lun = (int)lun;
	return 0;
}

int ovbf_spec_parse(const char *name, struct ovbf_spec *sp)
{
	char buf[512], *save = NULL, *tok;
	unsigned long v;
	int rc = 0;

	memset(sp, 0, sizeof(*sp));
	sp->lun = -1;
	sp->subchannels = 1;
	sp->mem = 256ull << 20;
	if (!name || strlen(name) >= sizeof(buf))
		goto bad;
	strcpy(buf, name);
	tok = strtok_r(buf, ",", &save);
	if (!tok || strlen(tok) >= sizeof(sp->path))
		goto bad;
	strcpy(sp->path, tok);
	while (!rc && (tok = strtok_r(NULL, ",", &save))) {
		char *val = strchr(tok, '=');

		if (!val) {
			rc = -EINVAL;
			break;
		}
		*val++ = 0;
		if (!strcmp(tok, "disk")) {
			rc = spec_disk(val, sp);
		} else if (!strcmp(tok, "poll")) {
			rc = spec_uint(val, 1000000, &v);
			sp->poll_us = (uint32_t)v;
		} else if (!strcmp(tok, "wait")) {
			sp->wait = !strcmp(val, "job")      ? OVBF_WAIT_JOB
				   : !strcmp(val, "worker") ? OVBF_WAIT_WORKER
							    : OVBF_WAIT_AUTO;
			rc = sp->wait || !strcmp(val, "auto") ? 0 : -EINVAL;
		} else if (!strcmp(tok, "subchannels")) {
			rc = spec_uint(val, 8, &v);
			sp->subchannels = (unsigned int)v;
		} else if (!strcmp(tok, "mem")) {
			rc = spec_size(val, &sp->mem);
		} else {
			rc = -EINVAL;
		}
		if (rc)
			ovbf_say("%s: bad option '%s=%s'", name, tok, val);
	}
	if (!rc && sp->mem < (16u << 20))
		rc = -EINVAL;
	if (!rc)
		return 0;
bad:
	ovbf_say("filename '%s': want SOCKET[,disk=scsi0/lun0][,poll=US]"
		 "[,wait=auto|job|worker][,subchannels=0..8][,mem=SIZE>=16M]",
		 name ? name : "");
	return -EINVAL;
}

bool ovbf_spec_same_host(const struct ovbf_spec *a, const struct ovbf_spec *b)
{
	return !strcmp(a->path, b->path) && a->poll_us == b->poll_us &&
	       a->wait == b->wait &&
	       a->subchannels == b->subchannels && a->mem == b->mem;
}

/*
 * Sub-channels open after probe, from the client's work thread: wait for
 * those the host grants (storvsc knows once it answered), no longer, and
 * say so when it grants fewer than asked or never offers them all.  I/O
 * goes on over the channels that are open.
 */
static void conn_wait_channels(struct ovb_storvsc *s, unsigned int asked)
{
	unsigned int expect;
	int n = ovb_storvsc_wait_channels(s, OVBF_CHANNELS_MS, &expect);

	if (n == -ETIMEDOUT && !expect)
		ovbf_say("%s: no answer to CREATE_SUB_CHANNELS in %d ms; "
			 "going on with %u channel(s)", ovb_storvsc_name(s),
			 OVBF_CHANNELS_MS, ovb_storvsc_channels(s));
	else if (n == -ETIMEDOUT)
		ovbf_say("%s: %u of the %u channels the host granted open "
			 "after %d ms; going on with those",
			 ovb_storvsc_name(s), ovb_storvsc_channels(s), expect,
			 OVBF_CHANNELS_MS);
	else if (n > 0 && !ovb_storvsc_is_ide(s) && expect < 1 + asked)
		ovbf_say("%s: the host grants %u of the %u sub-channels asked "
			 "for", ovb_storvsc_name(s), expect - 1, asked);
}

int ovbf_conn_open(struct ovbf_conn *c, const struct ovbf_spec *sp)
{
	struct ovb_link_guest_params lp = {
		.path = sp->path,
		.name = "fio",
		.mem_gpa = 1ull << 32,
		.mem_size = sp->mem,
	};
	struct ovb_client *cl;
	int rc;

	memset(c, 0, sizeof(*c));
	c->spec = *sp;
	c->set.cfg.subchannels = sp->subchannels;
	c->set.cfg.poll_us = sp->poll_us;
	rc = ovb_link_guest_connect(&lp, &c->g);
	if (rc) {
		ovbf_say("%s: cannot join the host: %s", sp->path,
			 strerror(-rc));
		return rc;
	}
	cl = ovb_link_guest_client(c->g);
	rc = ovb_client_register_driver(cl, &ovb_storvsc_scsi_driver, &c->set);
	if (!rc)
		rc = ovb_client_register_driver(cl, &ovb_storvsc_ide_driver,
						&c->set);
	if (!rc)
		rc = ovb_client_connect(cl, 0, 10000);
	if (rc) {
		ovbf_say("%s: VMBus connect failed: %s", sp->path,
			 strerror(-rc));
		ovb_link_guest_destroy(c->g);
		c->g = NULL;
		return rc;
	}
	c->cl = cl;
	for (unsigned int i = 0; i < c->set.n; i++) {
		struct ovb_storvsc *s;

		/* Held: a rescind meanwhile cannot free it under the wait. */
		if (ovb_storvsc_get(&c->set, i, &s))
			continue;
		conn_wait_channels(s, sp->subchannels);
		ovb_storvsc_put(s);
	}
	return 0;
}

int ovbf_conn_target(struct ovbf_conn *c, const struct ovbf_spec *sp,
		     struct ovbf_target *t)
{
	struct ovb_storvsc_lun luns[64];

	for (unsigned int i = 0; i < c->set.n; i++) {
		struct ovb_storvsc *s = c->set.ctl[i];
		size_t n;

		if (sp->ctl[0] && strcmp(sp->ctl, ovb_storvsc_name(s)))
			continue;
		n = ovb_storvsc_luns(s, luns, 64);
		for (size_t k = 0; k < n && k < 64; k++) {
			if (sp->lun >= 0 && luns[k].lun != sp->lun)
				continue;
			memset(t, 0, sizeof(*t));
			t->s = s;
			t->lun = luns[k].lun;
			t->capacity = luns[k].blocks * luns[k].block_size;
			return 0;
		}
	}
	if (sp->lun >= 0)
		ovbf_say("%s: no disk %s/lun%d there", sp->path,
			 sp->ctl[0] ? sp->ctl : "(any controller)", sp->lun);
	else
		ovbf_say("%s: no disk on %s there", sp->path,
			 sp->ctl[0] ? sp->ctl : "any controller");
	return -ENODEV;
}

void ovbf_conn_close(struct ovbf_conn *c)
{
	if (c->cl)
		ovb_client_unload(c->cl, 5000);
	if (c->g)
		ovb_link_guest_destroy(c->g);
	c->cl = NULL;
	c->g = NULL;
}
