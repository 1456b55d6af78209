// SPDX-License-Identifier: MIT
/*
 * Unit tests for the pcapng writer (src/core/pcapng.c) and the capture
 * engine (src/core/capture.c): every block parses (type, matching leading
 * and trailing lengths, 32-bit alignment, options), records keep their
 * bytes, interfaces are described once per partition, and records that a
 * full buffer dropped are counted in isb_ifdrop so that written + dropped
 * = seen.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/capture.h"
#include "openvmbus/pcapng.h"
#include "tests/lib/capture-fx.h"

struct parsed {
	unsigned int shb, idb, epb, isb;
	char ifname[8][64];
	uint64_t ifrecv[8], ifdrop[8];
	unsigned int epb_per_if[8];
	uint8_t first_data[256];
	uint32_t first_caplen, first_origlen, first_flags;
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Walk options from @p to @end; call back for each.  Asserts shape. */
static void walk_opts(const uint8_t *p, const uint8_t *end,
		      void (*fn)(uint16_t, const uint8_t *, uint16_t, void *),
		      void *ctx)
{
	if (p == end)
		return; /* no options at all is allowed */
	while (p < end) {
		uint16_t code = rd16(p), len = rd16(p + 2);

		if (code == PCAPNG_OPT_END) {
			assert_int_equal(len, 0);
			assert_ptr_equal(p + 4, end);
			return;
		}
		assert_true(p + 4 + ((len + 3u) & ~3u) <= end);
		if (fn)
			fn(code, p + 4, len, ctx);
		p += 4 + ((len + 3u) & ~3u);
	}
	fail_msg("options without opt_endofopt");
}

struct opt_ctx {
	struct parsed *r;
	unsigned int ifidx;
};

static void idb_opt(uint16_t code, const uint8_t *v, uint16_t len, void *c)
{
	struct opt_ctx *o = c;

	if (code == PCAPNG_IF_NAME && o->ifidx < 8)
		snprintf(o->r->ifname[o->ifidx], 64, "%.*s", len,
			 (const char *)v);
	if (code == PCAPNG_IF_TSRESOL)
		assert_int_equal(v[0], 9);
}

static void isb_opt(uint16_t code, const uint8_t *v, uint16_t len, void *c)
{
	struct opt_ctx *o = c;

	if (o->ifidx >= 8)
		return;
	if (code == PCAPNG_ISB_IFRECV)
		o->r->ifrecv[o->ifidx] = rd64(v);
	if (code == PCAPNG_ISB_IFDROP)
		o->r->ifdrop[o->ifidx] = rd64(v);
}

static void epb_opt(uint16_t code, const uint8_t *v, uint16_t len, void *c)
{
	struct opt_ctx *o = c;

	if (code == PCAPNG_EPB_FLAGS && o->r->epb == 1)
		o->r->first_flags = rd32(v);
}

static void parse(const uint8_t *b, size_t len, struct parsed *r)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	while (off < len) {
		uint32_t type, blen;
		const uint8_t *p = b + off;
		struct opt_ctx o = { r, 0 };

		assert_true(len - off >= 12);
		type = rd32(p);
		blen = rd32(p + 4);
		assert_int_equal(blen % 4, 0);
		assert_true(blen >= 12 && blen <= len - off);
		assert_int_equal(rd32(p + blen - 4), blen);
		switch (type) {
		case PCAPNG_SHB:
			assert_int_equal(rd32(p + 8), PCAPNG_BOM);
			assert_int_equal(rd16(p + 12), 1);
			walk_opts(p + 24, p + blen - 4, NULL, NULL);
			r->shb++;
			break;
		case PCAPNG_IDB:
			assert_int_equal(rd16(p + 8), PCAPNG_LINKTYPE_USER0);
			o.ifidx = r->idb;
			walk_opts(p + 16, p + blen - 4, idb_opt, &o);
			r->idb++;
			break;
		case PCAPNG_EPB: {
			uint32_t ifidx = rd32(p + 8), cap = rd32(p + 20);

			assert_true(ifidx < r->idb);
			assert_true(28 + ((cap + 3u) & ~3u) + 4 <= blen);
			r->epb++;
			if (ifidx < 8)
				r->epb_per_if[ifidx]++;
			if (r->epb == 1) {
				r->first_caplen = cap;
				r->first_origlen = rd32(p + 24);
				memcpy(r->first_data, p + 28,
				       cap < 256 ? cap : 256);
			}
			walk_opts(p + 28 + ((cap + 3u) & ~3u), p + blen - 4,
				  epb_opt, &o);
			break;
		}
		case PCAPNG_ISB:
			o.ifidx = rd32(p + 8);
			assert_true(o.ifidx < r->idb);
			walk_opts(p + 20, p + blen - 4, isb_opt, &o);
			r->isb++;
			break;
		default:
			fail_msg("unexpected block type %#x", type);
		}
		off += blen;
	}
	assert_int_equal(off, len);
}

static char *tmp_path(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/ovb-test-capture.%d.pcapng",
		 (int)getpid());
	return path;
}

static void test_writer_blocks(void **state)
{
	const char *path = tmp_path();
	struct ovb_pcapng w;
	struct parsed r;
	uint8_t pkt[13], *b;
	struct iovec iov[2] = { { pkt, 5 }, { pkt + 5, 8 } };
	size_t len;
	FILE *f = fopen(path, "wb");

	for (unsigned int i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(ovb_pcapng_init(&w, fileno(f)), 0);
	assert_int_equal(ovb_pcapng_shb(&w, "test"), 0);
	assert_int_equal(ovb_pcapng_idb(&w, PCAPNG_LINKTYPE_USER0, 0, "g1",
					"desc"), 0);
	assert_int_equal(ovb_pcapng_idb(&w, PCAPNG_LINKTYPE_USER0, 0, "guest2",
					NULL), 0);
	assert_int_equal(ovb_pcapng_epb(&w, 1, 123456789012ull, iov, 2, 100,
					PCAPNG_EPB_INBOUND), 0);
	assert_int_equal(ovb_pcapng_epb(&w, 0, 1, iov, 1, 0, 0), 0);
	assert_int_equal(ovb_pcapng_isb(&w, 1, 2, 1, 7, 3), 0);
	assert_int_equal(ovb_pcapng_flush(&w), 0);
	ovb_pcapng_fini(&w);
	fclose(f);

	b = capfx_slurp(path, &len);
	parse(b, len, &r);
	assert_int_equal(r.shb, 1);
	assert_int_equal(r.idb, 2);
	assert_string_equal(r.ifname[0], "g1");
	assert_string_equal(r.ifname[1], "guest2");
	assert_int_equal(r.epb, 2);
	assert_int_equal(r.epb_per_if[1], 1);
	assert_int_equal(r.first_caplen, 13);
	assert_int_equal(r.first_origlen, 100);
	assert_int_equal(r.first_flags, PCAPNG_EPB_INBOUND);
	assert_memory_equal(r.first_data, pkt, 13);
	assert_int_equal(r.isb, 1);
	assert_int_equal(r.ifrecv[1], 7);
	assert_int_equal(r.ifdrop[1], 3);
	free(b);
	unlink(path);
}

static void record(struct ovb_capture *cap, uint32_t part, const char *name,
		   uint8_t fill, size_t n, int *rc)
{
	static uint8_t buf[2048];
	struct ovb_cap_hdr h = { .kind = OVB_CAP_PACKET, .dir = OVB_CAP_TO_HOST,
				 .partition_id = part, .relid = 3 };
	struct iovec iov = { buf, n };

	memset(buf, fill, n);
	*rc = ovb_capture_record(cap, &h, name, &iov, 1, NULL, 0);
}

static void test_capture_records(void **state)
{
	struct ovb_capture_cfg cfg = { .snaplen = 64 };
	struct ovb_capture_stats st;
	struct ovb_capture *cap;
	const char *path = tmp_path();
	struct parsed r;
	uint8_t *b;
	size_t len;
	int rc;

	assert_int_equal(ovb_capture_open(path, &cfg, &cap), 0);
	assert_int_equal(ovb_capture_snaplen(cap), 64);
	record(cap, 7, "alpha", 0x11, 40, &rc);
	assert_int_equal(rc, 0);
	record(cap, 9, "beta", 0x22, 10, &rc);
	record(cap, 7, "alpha", 0x33, 10, &rc);
	assert_int_equal(ovb_capture_close(cap, &st), 0);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.drops, 0);

	b = capfx_slurp(path, &len);
	parse(b, len, &r);
	assert_int_equal(r.idb, 2);
	assert_string_equal(r.ifname[0], "alpha");
	assert_string_equal(r.ifname[1], "beta");
	assert_int_equal(r.epb_per_if[0], 2);
	assert_int_equal(r.epb_per_if[1], 1);
	assert_int_equal(r.first_caplen, sizeof(struct ovb_cap_hdr) + 40);
	assert_int_equal(rd32(r.first_data), OVB_CAP_MAGIC);
	assert_int_equal(rd32(r.first_data + 8), 7);
	assert_int_equal(rd32(r.first_data + 20), 40); /* pkt_len */
	assert_int_equal(r.first_data[48], 0x11);
	assert_int_equal(r.first_flags, PCAPNG_EPB_INBOUND);
	assert_int_equal(r.isb, 2);
	assert_int_equal(r.ifrecv[0], 2);
	assert_int_equal(r.ifdrop[0], 0);
	free(b);
	unlink(path);
}

struct flood {
	struct ovb_capture *cap;
	uint32_t part;
	unsigned int ok;
};

static void *flood_main(void *arg)
{
	struct flood *fl = arg;

	for (int i = 0; i < 20000; i++) {
		int rc;

		record(fl->cap, fl->part, fl->part == 1 ? "one" : "two",
		       (uint8_t)i, 1000, &rc);
		fl->ok += rc == 0;
	}
	return NULL;
}

/* A 4 KiB buffer and two producers: drops happen, and they add up. */
static void test_capture_drops_counted(void **state)
{
	struct ovb_capture_cfg cfg = { .buffer = 4096 };
	struct ovb_capture_stats st;
	struct flood fl[2] = { { .part = 1 }, { .part = 2 } };
	pthread_t t[2];
	const char *path = tmp_path();
	struct parsed r;
	uint8_t *b;
	size_t len;

	assert_int_equal(ovb_capture_open(path, &cfg, &fl[0].cap), 0);
	fl[1].cap = fl[0].cap;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, flood_main, &fl[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(ovb_capture_close(fl[0].cap, &st), 0);
	assert_true(st.drops > 0);
	assert_int_equal(st.records + st.drops, 40000);

	b = capfx_slurp(path, &len);
	parse(b, len, &r);
	assert_int_equal(r.idb, 2);
	assert_int_equal(r.isb, 2);
	assert_int_equal(r.epb, st.records);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r.ifrecv[i], 20000);
		assert_int_equal(r.epb_per_if[i] + r.ifdrop[i], 20000);
	}
	assert_int_equal(r.ifdrop[0] + r.ifdrop[1], st.drops);
	print_message("capture: %llu written, %llu dropped and counted\n",
		      (unsigned long long)st.records,
		      (unsigned long long)st.drops);
	free(b);
	unlink(path);
}

static void test_capture_open_errors(void **state)
{
	struct ovb_capture_cfg cfg = { .buffer = 100 };
	struct ovb_capture *cap;

	assert_int_equal(ovb_capture_open(tmp_path(), &cfg, &cap), -EINVAL);
	assert_int_equal(ovb_capture_open("/nonexistent/dir/x.pcapng", NULL,
					  &cap), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_blocks),
		cmocka_unit_test(test_capture_records),
		cmocka_unit_test(test_capture_drops_counted),
		cmocka_unit_test(test_capture_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
