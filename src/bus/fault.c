// SPDX-License-Identifier: MIT
/*
 * The fault engine: the modes, their parser, the armed faults and the
 * per-channel counts that trigger them, and the seeded byte flips of the
 * random mode.  The channel-message side is fault_msg.c, the ring-packet
 * side fault_pkt.c.  Layer: bus.  See
 * include/openvmbus/fault.h for the contract and docs/hardening.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus/fault_priv.h"
#include "openvmbus/log.h"

int ovb__fault_on;

static const struct ovb_fault_info modes[OVB_FAULT_NMODES] = {
	[OVB_FAULT_RING_INDEX] = { "ring-index",
		"after a packet, write garbage into the host->guest ring's "
		"write_index and read_index",
		"validate both indices; fail that channel (its requests "
		"end with an error), keep the others", true },
	[OVB_FAULT_PKT_LEN] = { "pkt-len",
		"a packet descriptor whose len8 runs past the data in the "
		"ring", "refuse the packet, fail that channel", true },
	[OVB_FAULT_BAD_XID] = { "bad-xid",
		"a completion carries a transaction id the guest never "
		"used", "drop it with a log line; the real request times "
		"out with an error", true },
	[OVB_FAULT_STRAY_COMP] = { "stray-comp",
		"completions for requests never sent (tagged, zero and "
		"random ids)", "drop them; traffic goes on", true },
	[OVB_FAULT_XFER_RANGE] = { "xfer-range",
		"a transfer-page range outside the receive buffer",
		"bounds-check every range against the buffer; drop the "
		"packet", true },
	[OVB_FAULT_RNDIS_LIE] = { "rndis-lie",
		"RNDIS messages in the receive buffer whose lengths and "
		"offsets lie", "check every length and offset against the "
		"range; drop the message", true },
	[OVB_FAULT_NVSP_LIE] = { "nvsp-lie",
		"NVSP messages whose sections, sizes, counts and offsets "
		"lie", "validate them; refuse the NIC or drop the message",
		true },
	[OVB_FAULT_VSTOR_LENGTH] = { "vstor-length",
		"a VSTOR reply whose data_transfer_length exceeds the "
		"request", "never trust it past the buffer; fail or clamp "
		"the I/O", true },
	[OVB_FAULT_SENSE_LEN] = { "sense-len",
		"a failed VSTOR reply whose sense_info_length exceeds the "
		"sense buffer", "clamp the sense length; report the error",
		true },
	[OVB_FAULT_RESCIND_IO] = { "rescind-io",
		"drops a reply and rescinds its channel while the request "
		"is outstanding", "fail the outstanding I/O, close the "
		"channel, release the relid", true },
	[OVB_FAULT_RESCIND_UNKNOWN] = { "rescind-unknown",
		"rescinds a relid that was never offered",
		"ignore it with a log line", false },
	[OVB_FAULT_OFFER_STORM] = { "offer-storm",
		"before ALLOFFERS_DELIVERED: 300 offers of unknown devices, "
		"duplicate relids, relid 0 and out of range",
		"bound what it keeps; refuse duplicates; bind only what it "
		"knows", false },
	[OVB_FAULT_GPADL_REFUSE] = { "gpadl-refuse",
		"answers a GPADL with GPADL_CREATED and a failure status",
		"fail that open or buffer with an error; no leak, no hang",
		true },
	[OVB_FAULT_VERSION_LIE] = { "version-lie",
		"a VERSION_RESPONSE of 8 bytes before the real one; NVSP "
		"INIT_COMPLETE names a version never proposed",
		"drop the short answer; refuse a version it did not "
		"propose", false },
	[OVB_FAULT_LINK_CLOSE] = { "link-close",
		"drops a reply and closes the partition's link",
		"fail every request and end with a clear error", false },
	[OVB_FAULT_SILENT] = { "silent",
		"stops sending anything (per channel with channel= or "
		"device=)", "time requests out; end with a clear error",
		true },
	[OVB_FAULT_RANDOM] = { "random",
		"flips 1-4 bytes of messages and packets with probability "
		"P, from seed S", "survive: no crash, no hang; fail what is "
		"broken", false },
};

struct ovb_fault_state fault_st = { .lock = PTHREAD_MUTEX_INITIALIZER };

const struct ovb_fault_info *ovb_fault_info(enum ovb_fault_mode mode)
{
	return (unsigned int)mode < OVB_FAULT_NMODES ? &modes[mode] : NULL;
}

void ovb_fault_list(FILE *f)
{
	for (int i = 0; i < OVB_FAULT_NMODES; i++)
		fprintf(f, "%-16s %s\n%-16s guest: %s\n", modes[i].name,
			modes[i].does, "", modes[i].guest);
	fprintf(f, "\noptions: after=N (matching packets/messages first), "
		"count=N (times; 0 every time),\n"
		"         channel=RELID, device=scsi|ide|nic|echo, "
		"partition=NAME,\n         probability=P, seed=S\n");
}

static int parse_opt(struct ovb_fault_spec *s, const char *key,
		     const char *val)
{
	char *end;

	if (!strcmp(key, "after"))
		s->after = strtoull(val, &end, 0);
	else if (!strcmp(key, "count"))
		s->count = (uint32_t)strtoul(val, &end, 0);
	else if (!strcmp(key, "channel") || !strcmp(key, "relid"))
		s->relid = (uint32_t)strtoul(val, &end, 0);
	else if (!strcmp(key, "seed"))
		s->seed = strtoull(val, &end, 0);
	else if (!strcmp(key, "probability")) {
		s->probability = strtod(val, &end);
		if (s->probability < 0 || s->probability > 1)
			return -EINVAL;
	} else if (!strcmp(key, "partition")) {
		snprintf(s->partition, sizeof(s->partition), "%s", val);
		return *val ? 0 : -EINVAL;
	} else if (!strcmp(key, "device")) {
		if (strcmp(val, "scsi") && strcmp(val, "ide") &&
		    strcmp(val, "nic") && strcmp(val, "echo"))
			return -EINVAL;
		snprintf(s->device, sizeof(s->device), "%s", val);
		return 0;
	} else
		return -EINVAL;
	return *val && !*end ? 0 : -EINVAL;
}

int ovb_fault_parse(const char *arg, struct ovb_fault_spec *out, char *err,
		    size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	int i;

	memset(out, 0, sizeof(*out));
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "fault spec too long");
		return -EINVAL;
	}
	tok = strtok_r(buf, ",", &save);
	for (i = 0; tok && i < OVB_FAULT_NMODES; i++)
		if (!strcmp(tok, modes[i].name))
			break;
	if (!tok || i == OVB_FAULT_NMODES) {
		snprintf(err, errlen, "unknown fault mode '%s' (see --fault "
			 "list)", tok ? tok : "");
		return -EINVAL;
	}
	out->mode = (enum ovb_fault_mode)i;
	out->count = i == OVB_FAULT_RANDOM || i == OVB_FAULT_VERSION_LIE ||
			     i == OVB_FAULT_SILENT ? 0 : 1;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq = 0;
		if (!eq || parse_opt(out, tok, eq + 1)) {
			snprintf(err, errlen, "bad fault option '%s%s%s'", tok,
				 eq ? "=" : "", eq ? eq + 1 : "");
			return -EINVAL;
		}
	}
	if (i == OVB_FAULT_RANDOM && out->probability <= 0) {
		snprintf(err, errlen,
			 "random wants probability=P (0 < P <= 1)");
		return -EINVAL;
	}
	return 0;
}

int ovb_fault_add(const struct ovb_fault_spec *spec)
{
	int rc = 0;

	if ((unsigned int)spec->mode >= OVB_FAULT_NMODES)
		return -EINVAL;
	pthread_mutex_lock(&fault_st.lock);
	if (fault_st.n == FAULT_MAX)
		rc = -ENOSPC;
	else
		fault_st.f[fault_st.n++] = (struct fault){ .spec = *spec };
	pthread_mutex_unlock(&fault_st.lock);
	if (!rc)
		__atomic_store_n(&ovb__fault_on, 1, __ATOMIC_RELEASE);
	return rc;
}

void ovb_fault_clear(void)
{
	__atomic_store_n(&ovb__fault_on, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&fault_st.lock);
	fault_st.n = 0;
	__atomic_store_n(&fault_st.fired, 0, __ATOMIC_RELAXED);
	memset(fault_st.streams, 0, sizeof(fault_st.streams));
	pthread_mutex_unlock(&fault_st.lock);
}

uint64_t ovb_fault_fired(void)
{
	return __atomic_load_n(&fault_st.fired, __ATOMIC_RELAXED);
}

/* ---- streams: per (partition, relid, fault) counts --------------------- */

struct fault_stream *ovb__fault_stream(unsigned int part, uint32_t relid,
				       unsigned int fault)
{
	uint64_t key = (uint64_t)part << 32 | (uint64_t)fault << 24 | relid;
	unsigned int h = (unsigned int)(ovb__fault_mix(key) % FAULT_STREAMS);

	for (unsigned int i = 0; i < FAULT_STREAMS; i++) {
		struct fault_stream *s =
			&fault_st.streams[(h + i) % FAULT_STREAMS];

		if (s->used && s->key == key)
			return s;
		if (!s->used) {
			s->used = true;
			s->key = key;
			return s;
		}
	}
	return NULL; /* full: such a fault does not fire */
}

uint64_t ovb__fault_mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Count one item of @fault's stream and say whether the fault fires on
 * it: the item's index reached `after`, and the fault has fired fewer
 * than `count` times (0: no limit).  fault_st.lock held.
 */
bool ovb__fault_due(unsigned int fault, unsigned int part, uint32_t relid,
		    uint64_t *nr)
{
	struct fault *f = &fault_st.f[fault];
	struct fault_stream *s = ovb__fault_stream(part, relid, fault);

	if (!s)
		return false;
	*nr = s->n++;
	if (*nr < f->spec.after || (f->spec.count && f->fired >= f->spec.count))
		return false;
	f->fired++;
	__atomic_fetch_add(&fault_st.fired, 1, __ATOMIC_RELAXED);
	return true;
}

/* Random mode: does item @nr of (@part, @relid) get bytes flipped? */
bool ovb__fault_random(const struct ovb_fault_spec *sp, unsigned int part,
		       uint32_t relid, uint64_t nr, uint64_t *h)
{
	*h = ovb__fault_mix(sp->seed ^ ovb__fault_mix((uint64_t)part << 32 |
							relid) ^
			    ovb__fault_mix(nr + 1));
	return (double)(*h >> 11) / (double)(1ull << 53) < sp->probability;
}

/* Flip 1-4 bytes of @buf from the hash @h; describe them in @what. */
void ovb__fault_flip(uint8_t *buf, size_t len, uint64_t h, char *what,
		     size_t wlen)
{
	unsigned int n = 1 + (unsigned int)(h & 3), w = 0;

	w = (unsigned int)snprintf(what, wlen, "flipped");
	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t r = ovb__fault_mix(h + i + 1);
		size_t off = (size_t)(r % len);
		uint8_t x = (uint8_t)((r >> 32) | 1);

		buf[off] ^= x;
		if (w < wlen)
			w += (unsigned int)snprintf(what + w, wlen - w,
						    " byte %zu ^%#x", off, x);
	}
}
