// SPDX-License-Identifier: MIT
/*
 * Pair test of the capture hooks (src/bus/server_capture.c): a storage
 * pair recorded from before the guest connects.  The file holds the
 * guest's INITIATE_CONTACT first, the SCSI offer with its class in the
 * record header, a WRITE whose GPA-direct bytes are the data written, and
 * a READ beyond the disk whose completion carries ILLEGAL REQUEST sense
 * data.  Also: one capture at a time, the partition filter.  With
 * OVB_CAPTURE_KEEP=FILE the file is kept there (tests/system/capture.sh
 * decodes it with the Wireshark dissector).
 */
#include <errno.h>
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
#include "openvmbus/client.h"
#include "openvmbus/pcapng.h"
#include "openvmbus/wire/vstor.h"
#include "tests/lib/capture-fx.h"
#include "tests/lib/storage-fx.h"

static char path[64];

/* What the test looks for, filled by scan(). */
struct found {
	unsigned int records, idbs;
	uint32_t first_msgtype;
	bool first_to_host;
	bool scsi_offer, write_data, sense;
	uint8_t sense_key, asc;
};

static void record(const uint8_t *p, uint32_t len, struct found *fd)
{
	const struct vmbus_guid scsi = VSTOR_SCSI_CLASS_GUID;
	struct ovb_cap_hdr h;
	const uint8_t *pkt, *data;
	uint32_t type;

	assert_true(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	assert_int_equal(h.magic, OVB_CAP_MAGIC);
	assert_int_equal(h.hdr_len, sizeof(h));
	assert_int_equal(sizeof(h) + h.pkt_len + h.data_len, len);
	pkt = p + sizeof(h);
	data = pkt + h.pkt_len;
	fd->records++;
	if (h.kind == OVB_CAP_MESSAGE) {
		memcpy(&type, pkt, 4);
		if (fd->records == 1) {
			fd->first_msgtype = type;
			fd->first_to_host = h.dir == OVB_CAP_TO_HOST;
		}
		if (type == CHANNELMSG_OFFERCHANNEL &&
		    !memcmp(&h.class_id, &scsi, 16) && h.relid)
			fd->scsi_offer = true;
		return;
	}
	assert_int_equal(h.kind, OVB_CAP_PACKET);
	assert_memory_equal(&h.class_id, &scsi, 16);
	struct vmpacket_descriptor d;
	struct vstor_packet v;

	memcpy(&d, pkt, sizeof(d));
	if (h.pkt_len < d.offset8 * 8u + 12)
		return;
	memset(&v, 0, sizeof(v));
	memcpy(&v, pkt + d.offset8 * 8, h.pkt_len - d.offset8 * 8u < sizeof(v)
		? h.pkt_len - d.offset8 * 8u : sizeof(v));
	if (d.type == VM_PKT_DATA_USING_GPA_DIRECT &&
	    h.dir == OVB_CAP_TO_HOST && v.vm_srb.cdb[0] == 0x8a && h.data_len == 4096 &&
	    h.data_orig == 4096 && data[0] == 0x5a && data[4095] == 0xa5)
		fd->write_data = true;
	if (d.type == VM_PKT_COMP && h.dir == OVB_CAP_TO_GUEST &&
	    v.operation == VSTOR_OPERATION_COMPLETE_IO &&
	    (v.vm_srb.srb_status & VSTOR_SRB_STATUS_AUTOSENSE_VALID)) {
		fd->sense = true;
		fd->sense_key = v.vm_srb.sense_data[2] & 0xf;
		fd->asc = v.vm_srb.sense_data[12];
	}
}

static void scan(struct found *fd)
{
	size_t len, off = 0;
	uint8_t *b = capfx_slurp(path, &len);

	memset(fd, 0, sizeof(*fd));
	while (off + 12 <= len) {
		uint32_t type, blen, cap;

		memcpy(&type, b + off, 4);
		memcpy(&blen, b + off + 4, 4);
		assert_true(blen >= 12 && off + blen <= len);
		if (type == PCAPNG_IDB)
			fd->idbs++;
		if (type == PCAPNG_EPB) {
			memcpy(&cap, b + off + 20, 4);
			record(b + off + 28, cap, fd);
		}
		off += blen;
	}
	assert_int_equal(off, len);
	free(b);
}

static void test_storage_recorded(void **state)
{
	struct sfx_opts o = { .no_connect = true };
	struct ovb_capture_cfg cfg = { .snaplen = 8192 };
	struct ovb_capture_stats st;
	struct ovb_storvsc *s;
	struct sfx *f = sfx_new(&o);
	struct found fd;
	uint8_t *buf;

	assert_int_equal(ovb_server_capture_start(f->srv, path, &cfg), 0);
	assert_int_equal(ovb_server_capture_start(f->srv, path, &cfg), -EBUSY);
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	s = sfx_ctl(f, false);
	buf = ovb_storvsc_alloc(s, 4096);
	memset(buf, 0x77, 4096);
	buf[0] = 0x5a;
	buf[4095] = 0xa5;
	/* WRITE(16) at LBA 16; then a READ(16) past the 8 MiB disk. */
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_WRITE, 0, 8192, buf,
					  4096, false), 4096);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, SFX_DISK,
					  buf, 4096, false), -EINVAL);
	ovb_storvsc_free(s, buf, 4096);
	/*
	 * The host records a packet after it wrote it to the ring, so the
	 * guest can see a completion a moment before it is recorded; a
	 * capture stopped in that moment misses it.  Let the host finish.
	 */
	usleep(100 * 1000);
	assert_int_equal(ovb_server_capture_stop(f->srv, &st), 0);
	assert_int_equal(ovb_server_capture_stop(f->srv, &st), -ENOENT);
	assert_int_equal(st.drops, 0);
	sfx_free(f);

	scan(&fd);
	assert_int_equal(fd.records, st.records);
	assert_int_equal(fd.idbs, 1);
	assert_int_equal(fd.first_msgtype, CHANNELMSG_INITIATE_CONTACT);
	assert_true(fd.first_to_host);
	assert_true(fd.scsi_offer);
	assert_true(fd.write_data);
	assert_true(fd.sense);
	assert_int_equal(fd.sense_key, 5);  /* ILLEGAL REQUEST */
	assert_int_equal(fd.asc, 0x21);     /* LBA out of range */
	print_message("capture: %llu records; WRITE data and READ sense seen\n",
		      (unsigned long long)st.records);
	if (getenv("OVB_CAPTURE_KEEP")) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "cp %s %s", path,
			 getenv("OVB_CAPTURE_KEEP"));
		assert_int_equal(system(cmd), 0);
	}
}

/* A partition filter that matches nobody records nothing. */
static void test_partition_filter(void **state)
{
	struct sfx_opts o = { .no_connect = true };
	struct ovb_capture_cfg cfg = { .partition = "someone-else" };
	struct ovb_capture_stats st;
	struct sfx *f = sfx_new(&o);
	struct found fd;

	assert_int_equal(ovb_server_capture_start(f->srv, path, &cfg), 0);
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	assert_int_equal(ovb_server_capture_stop(f->srv, &st), 0);
	sfx_free(f);
	assert_int_equal(st.records, 0);
	scan(&fd);
	assert_int_equal(fd.records, 0);
	assert_int_equal(fd.idbs, 0);
}

/* A server destroyed while capturing closes the file itself. */
static void test_destroy_stops(void **state)
{
	struct sfx_opts o = { .no_connect = true };
	struct sfx *f = sfx_new(&o);
	struct found fd;

	assert_int_equal(ovb_server_capture_start(f->srv, path, NULL), 0);
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	sfx_free(f);
	scan(&fd);
	assert_true(fd.records > 0);
	assert_int_equal(fd.first_msgtype, CHANNELMSG_INITIATE_CONTACT);
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_storage_recorded, teardown),
		cmocka_unit_test_teardown(test_partition_filter, teardown),
		cmocka_unit_test_teardown(test_destroy_stops, teardown),
	};

	snprintf(path, sizeof(path), "/tmp/ovb-test-capture-pair.%d.pcapng",
		 (int)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
