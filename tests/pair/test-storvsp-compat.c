// SPDX-License-Identifier: MIT
/*
 * What a real storvsc relies on from our storvsp, as bytes on the wire
 * (docs/compat.md, "Storage, host side").  A raw VSTOR guest driver sends
 * requests at the size Linux, or an older guest, sends them and records
 * each reply's payload length (descriptor len8 - offset8, in 8-byte units)
 * and bytes, which the tests compare with golden values.  The rules come
 * from Linux drivers/scsi/storvsc_drv.c and OpenVMM storvsp.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "storage/vstor.h"
#include "openvmbus/vsc.h"
#include "openvmbus/wire/scsi.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

/* ---- a raw VSTOR guest that records reply lengths ---------------------- */

struct rv_reply {
	uint16_t type;
	uint64_t xid;
	uint32_t len;      /* payload bytes, as the descriptor says */
	uint8_t b[128];
};

static struct {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct rv_reply reply;
	unsigned int unsolicited; /* in-band packets the host started */
	struct rv_reply last_unsolicited;
} rv;

static int rv_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	if (!rv.dev && !ovb_vsc_dev_offer(dev)->sub_channel_index)
		rv.dev = dev;
	return 0;
}

static const struct ovb_vsc_driver rv_driver = {
	.name = "raw-vstor-compat",
	.class_id = VSTOR_SCSI_CLASS_GUID,
	.probe = rv_probe,
};

static void rv_copy(struct rv_reply *r, const struct ovb_pkt *pkt)
{
	memset(r, 0, sizeof(*r));
	r->type = pkt->type;
	r->xid = pkt->xid;
	r->len = pkt->len;
	memcpy(r->b, pkt->data, pkt->len < sizeof(r->b) ? pkt->len
						       : sizeof(r->b));
}

static void rv_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
	pthread_mutex_lock(&rv.lock);
	rv_copy(&rv.last_unsolicited, pkt);
	rv.unsolicited++;
	pthread_cond_broadcast(&rv.cond);
	pthread_mutex_unlock(&rv.lock);
}

static void rv_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
	pthread_mutex_lock(&rv.lock);
	if (pkt)
		rv_copy(&rv.reply, pkt);
	else
		memset(&rv.reply, 0, sizeof(rv.reply));
	rv.done = true;
	pthread_cond_broadcast(&rv.cond);
	pthread_mutex_unlock(&rv.lock);
}

/* Send @len bytes (with a one-range page list if @gpa) and wait. */
static const struct rv_reply *rv_call(const void *pkt, size_t len,
				      uint64_t gpa, uint32_t buflen)
{
	uint64_t words[3] = { buflen | (gpa % 4096) << 32, gpa / 4096,
			      gpa / 4096 + 1 };
	struct ovb_send s = { .data = pkt, .len = len, .on_comp = rv_comp };

	if (gpa) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = (1 + ovb_gpa_range_npfns(gpa % 4096, buflen)) *
			       8;
		s.range_cnt = 1;
	}
	rv.done = false;
	assert_int_equal(ovb_chan_send(rv.chan, &s), 0);
	pthread_mutex_lock(&rv.lock);
	while (!rv.done)
		pthread_cond_wait(&rv.cond, &rv.lock);
	pthread_mutex_unlock(&rv.lock);
	assert_int_equal(rv.reply.type, VM_PKT_COMP);
	assert_int_not_equal(rv.reply.xid, 0);
	return &rv.reply;
}

/* A request of @len bytes: operation, REQUEST_COMPLETION, then @body. */
static const struct rv_reply *rv_op(uint32_t op, size_t len,
				    const void *body, size_t body_len)
{
	uint8_t pkt[64] = { 0 };
	uint32_t flags = VSTOR_FLAG_REQUEST_COMPLETION;

	memcpy(pkt, &op, 4);
	memcpy(pkt + 4, &flags, 4);
	if (body)
		memcpy(pkt + 12, body, body_len);
	return rv_call(pkt, len, 0, 0);
}

static struct sfx *rv_start(const struct sfx_opts *base)
{
	struct sfx_opts o = *base;
	struct ovb_vsc_open_params op = { .out_ring = 65536, .in_ring = 65536,
					  .recv = rv_recv };
	struct sfx *f;

	memset(&rv, 0, sizeof(rv));
	pthread_mutex_init(&rv.lock, NULL);
	pthread_cond_init(&rv.cond, NULL);
	o.no_drivers = true;
	f = sfx_new(&o);
	assert_int_equal(ovb_client_register_driver(f->cl, &rv_driver, NULL),
			 0);
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	assert_non_null(rv.dev);
	assert_int_equal(ovb_vsc_open(rv.dev, &op, &rv.chan), 0);
	return f;
}

static void rv_stop(struct sfx *f)
{
	ovb_vsc_close(rv.dev);
	sfx_free(f);
	pthread_mutex_destroy(&rv.lock);
	pthread_cond_destroy(&rv.cond);
}

/* COMPLETE_IO, flags 0, @status, then @body; zeros up to @len. */
static void expect_reply(const struct rv_reply *r, size_t len,
			 uint32_t status, const uint8_t *body, size_t body_len)
{
	uint8_t want[64] = { 1 };

	assert_int_equal(r->len, len);
	memcpy(want + 8, &status, 4);
	if (body)
		memcpy(want + 12, body, body_len);
	assert_memory_equal(r->b, want, len);
}

/* ---- 1. every reply is as long as the request it answers --------------- */

/* A READ(16) of 8 blocks from @lun into the page at @gpa, @len bytes. */
static const struct rv_reply *rv_read(uint16_t version, size_t len,
				      uint8_t lun, uint64_t gpa)
{
	struct ovb_vstor_srb srb = { .lun = lun, .cdb_length = 16,
				     .data_in = VSTOR_DATA_READ,
				     .sense_info_length =
					     ovb_vstor_sense_size(version),
				     .data_transfer_length = 4096,
				     .srb_flags = VSTOR_SRB_FLAGS_DATA_IN,
				     .timeout = 60 };
	uint8_t pkt[64] = { 0 };

	srb.cdb[0] = SCSI_READ_16;
	srb.cdb[13] = 8;
	assert_true(ovb_vstor_encode_srb(pkt, sizeof(pkt), version, &srb) > 0);
	return rv_call(pkt, len, gpa, 4096);
}

/*
 * The SRB completion: the request's addressing and Win8 extension echoed,
 * the status fields set, no sense.  @len is the request's size; the
 * SRB's own length field says which form the host filled.
 */
static void expect_read_done(const struct rv_reply *r, uint16_t version,
			     size_t len, uint8_t lun, uint8_t srb_status,
			     uint32_t xfer)
{
	bool ext = version >= VSTOR_PROTO_VERSION_WIN8;
	uint8_t body[52] = { 0 };

	body[0] = ext ? 52 : 36;          /* length */
	body[2] = srb_status;
	body[7] = lun;
	body[8] = 16;                     /* cdb_length */
	body[10] = VSTOR_DATA_READ;
	memcpy(body + 12, &xfer, 4);
	if (ext) {
		body[40] = VSTOR_SRB_FLAGS_DATA_IN; /* srb_flags */
		body[44] = 60;                /* timeout, seconds */
	}
	expect_reply(r, len, 0, body, ext ? 52 : 36);
}

/* Init at @version with requests of @len bytes; each reply @len long. */
static void reply_sizes_at(uint16_t version, size_t len)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	struct vmstorage_protocol_version pv = { .major_minor = version };
	uint16_t subs = 1;
	uint8_t props[24] = { 0 };
	uint32_t status;
	void *buf;
	uint64_t gpa;

	assert_int_equal(ovb_client_alloc(f->cl, 8192, &buf, &gpa), 0);
	expect_reply(rv_op(VSTOR_OPERATION_BEGIN_INITIALIZATION, len, NULL, 0),
		     len, 0, NULL, 0);
	expect_reply(rv_op(VSTOR_OPERATION_QUERY_PROTOCOL_VERSION, len, &pv,
			   sizeof(pv)), len, 0, (const uint8_t *)&pv,
		     sizeof(pv));
	/* max_channel_count @4, flags @8, max_transfer_bytes @12. */
	if (version >= VSTOR_PROTO_VERSION_WIN8) {
		props[4] = 4;
		props[8] = VSTOR_PROPERTY_SUPPORTS_MULTI_CHANNEL;
	}
	props[14] = 0x10; /* 1 MiB */
	expect_reply(rv_op(VSTOR_OPERATION_QUERY_PROPERTIES, len, NULL, 0),
		     len, 0, props, sizeof(props));
	logcap_start(); /* refusals below log a warning */
	status = version >= VSTOR_PROTO_VERSION_WIN8
			 ? 0 : VSTOR_STATUS_INVALID_PARAMETER;
	expect_reply(rv_op(VSTOR_OPERATION_CREATE_SUB_CHANNELS, len, &subs,
			   sizeof(subs)), len, status, NULL, 0);
	expect_reply(rv_op(VSTOR_OPERATION_END_INITIALIZATION, len, NULL, 0),
		     len, 0, NULL, 0);
	/* An SRB, one for a LUN that is not there, a reset, a stray op. */
	expect_read_done(rv_read(version, len, 0, gpa), version, len, 0,
			 VSTOR_SRB_STATUS_SUCCESS, 4096);
	expect_read_done(rv_read(version, len, 5, gpa), version, len, 5,
			 VSTOR_SRB_STATUS_INVALID_LUN, 0);
	expect_reply(rv_op(VSTOR_OPERATION_RESET_BUS, len, NULL, 0), len, 0,
		     NULL, 0);
	expect_reply(rv_op(VSTOR_OPERATION_FCHBA_DATA, len, NULL, 0), len,
		     VSTOR_STATUS_INVALID_DEVICE_REQUEST, NULL, 0);
	logcap_stop();
	/* A guest that pads to 64 at an old version gets 64 back. */
	if (len < 64)
		expect_read_done(rv_read(version, 64, 0, gpa), version, 64, 0,
				 VSTOR_SRB_STATUS_SUCCESS, 4096);
	ovb_client_free(f->cl, buf, 8192);
	rv_stop(f);
}

static void test_reply_as_long_as_request(void **state)
{
	reply_sizes_at(VSTOR_PROTO_VERSION_WIN6, 48);
	reply_sizes_at(VSTOR_PROTO_VERSION_WIN7, 48);
	reply_sizes_at(VSTOR_PROTO_VERSION_WIN8_1, 64);
	reply_sizes_at(VSTOR_PROTO_VERSION_WIN10, 64);
}

/*
 * Linux sends every init request at 64 bytes, before any version is
 * agreed: each answer must be 64 bytes too, or storvsc drops it as
 * "Invalid pkt" and its init times out.
 */
static void test_init_replies_to_linux(void **state)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	struct vmstorage_protocol_version pv = {
		.major_minor = VSTOR_PROTO_VERSION_WIN10,
	};

	expect_reply(rv_op(VSTOR_OPERATION_BEGIN_INITIALIZATION, 64, NULL, 0),
		     64, 0, NULL, 0);
	expect_reply(rv_op(VSTOR_OPERATION_QUERY_PROTOCOL_VERSION, 64, &pv,
			   sizeof(pv)), 64, 0, (const uint8_t *)&pv,
		     sizeof(pv));
	rv_stop(f);
}

/* ---- what storvsc reads in the replies ----------------------------------- */

/* BEGIN_INIT, @version accepted, QUERY_PROPERTIES into @props, END_INIT. */
static void rv_init(uint16_t version, struct vmstorage_channel_properties *pr)
{
	struct vmstorage_protocol_version pv = { .major_minor = version };
	const struct rv_reply *r;

	r = rv_op(VSTOR_OPERATION_BEGIN_INITIALIZATION, 64, NULL, 0);
	assert_int_equal(r->b[8], 0);
	r = rv_op(VSTOR_OPERATION_QUERY_PROTOCOL_VERSION, 64, &pv, sizeof(pv));
	assert_memory_equal(r->b + 8, "\0\0\0\0", 4);
	r = rv_op(VSTOR_OPERATION_QUERY_PROPERTIES, 64, NULL, 0);
	if (pr)
		memcpy(pr, r->b + 12, sizeof(*pr));
	r = rv_op(VSTOR_OPERATION_END_INITIALIZATION, 64, NULL, 0);
	assert_memory_equal(r->b + 8, "\0\0\0\0", 4);
}

/*
 * storvsc_channel_init proposes 6.2, 6.0, 5.1 in turn and takes the first
 * COMPLETE_IO with status 0; a refusal is a COMPLETE_IO with a non-zero
 * status (REVISION_MISMATCH).  OpenVMM echoes the proposed version in
 * both answers.
 */
static void test_version_negotiation(void **state)
{
	struct sfx_opts o = { .host_max_version = VSTOR_PROTO_VERSION_WIN8_1 };
	struct sfx *f = rv_start(&o);
	struct vmstorage_protocol_version pv = {
		.major_minor = VSTOR_PROTO_VERSION_WIN10,
	};
	const uint8_t refused[4] = { 0x02, 0x06, 0, 0 }, agreed[4] = { 0, 6 };

	logcap_start();
	expect_reply(rv_op(VSTOR_OPERATION_BEGIN_INITIALIZATION, 64, NULL, 0),
		     64, 0, NULL, 0);
	expect_reply(rv_op(VSTOR_OPERATION_QUERY_PROTOCOL_VERSION, 64, &pv,
			   sizeof(pv)), 64, VSTOR_STATUS_REVISION_MISMATCH,
		     refused, sizeof(refused));
	pv.major_minor = VSTOR_PROTO_VERSION_WIN8_1;
	expect_reply(rv_op(VSTOR_OPERATION_QUERY_PROTOCOL_VERSION, 64, &pv,
			   sizeof(pv)), 64, 0, agreed, sizeof(agreed));
	logcap_stop();
	rv_stop(f);
}

/*
 * QUERY_PROPERTIES: Linux sets max_sectors from max_transfer_bytes rounded
 * down to 4 KiB, and asks for sub-channels only if flags has
 * SUPPORTS_MULTI_CHANNEL, at most max_channel_cnt.  Sub-channels need
 * VMBus 2.4 (offers with sub_channel_index): below it, neither.
 */
static void test_properties_by_vmbus_version(void **state)
{
	static const uint32_t vmbus[] = { VMBUS_VERSION_WIN7,
					  VMBUS_VERSION_WIN8,
					  VMBUS_VERSION_WIN10_V6_0 };

	for (size_t i = 0; i < sizeof(vmbus) / sizeof(vmbus[0]); i++) {
		struct sfx_opts o = { .vmbus_max = vmbus[i] };
		struct sfx *f = rv_start(&o);
		struct vmstorage_channel_properties pr;
		bool multi = vmbus[i] >= VMBUS_VERSION_WIN8;

		rv_init(VSTOR_PROTO_VERSION_WIN8_1, &pr);
		assert_int_equal(pr.max_channel_count, multi ? 4 : 0);
		assert_int_equal(pr.flags, multi ? 1 : 0);
		assert_int_equal(pr.max_transfer_bytes, 1u << 20);
		assert_int_equal(pr.max_transfer_bytes % 4096, 0);
		rv_stop(f);
	}
}

/* SCSI offers of the guest's view with a non-zero sub_channel_index. */
static unsigned int sub_offers(struct sfx *f)
{
	struct ovb_offer_info info[16];
	size_t n = ovb_client_offers(f->cl, info, 16);
	const struct vmbus_guid scsi = VSTOR_SCSI_CLASS_GUID;
	unsigned int subs = 0;

	for (size_t i = 0; i < n && i < 16; i++)
		subs += info[i].subidx && !info[i].rescinded &&
			!memcmp(&info[i].class_id, &scsi, sizeof(scsi));
	return subs;
}

/*
 * Linux asks for sub-channels after END_INITIALIZATION
 * (handle_multichannel_storage); they come as offers of the same class and
 * instance with sub_channel_index 1..n.
 */
static void test_subchannels_after_end_init(void **state)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	uint16_t n = 3;

	rv_init(VSTOR_PROTO_VERSION_WIN10, NULL);
	expect_reply(rv_op(VSTOR_OPERATION_CREATE_SUB_CHANNELS, 64, &n,
			   sizeof(n)), 64, 0, NULL, 0);
	PAIR_WAIT(sub_offers(f) == 3);
	assert_int_equal(sub_offers(f), 3);
	rv_stop(f);
}

/*
 * A LUN added after init: the host says ENUMERATE_BUS with transaction id
 * 0, in band, asking for no completion.  Linux drops a packet with id 0
 * that is a COMPLETE_IO or FCHBA_DATA ("Invalid packet with ID of 0").
 */
static void test_enumerate_bus_unsolicited(void **state)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	struct ovb_blk *blk = sfx_ram(1u << 20, 512);
	uint8_t want[64] = { VSTOR_OPERATION_ENUMERATE_BUS };

	rv_init(VSTOR_PROTO_VERSION_WIN10, NULL);
	assert_int_equal(ovb_storvsp_add_lun(f->scsi, 6, blk), 6);
	PAIR_WAIT(__atomic_load_n(&rv.unsolicited, __ATOMIC_ACQUIRE) > 0);
	pthread_mutex_lock(&rv.lock);
	assert_int_equal(rv.unsolicited, 1);
	assert_int_equal(rv.last_unsolicited.type, VM_PKT_DATA_INBAND);
	assert_int_equal(rv.last_unsolicited.xid, 0);
	assert_int_equal(rv.last_unsolicited.len, 64);
	assert_memory_equal(rv.last_unsolicited.b, want, 64);
	pthread_mutex_unlock(&rv.lock);
	rv_stop(f);
}

/*
 * Errors as storvsc_on_io_completion / storvsc_handle_error read them:
 * sense is copied only for CHECK CONDITION with SRB_STATUS_AUTOSENSE_VALID
 * (at most 0x14 bytes); data_transfer_length counts only for SUCCESS or
 * DATA_OVERRUN; INVALID_LUN (any target but 0, any absent LUN) becomes
 * DID_NO_CONNECT, which ends the scan of that address.
 */
static void test_srb_errors_as_linux_reads_them(void **state)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	struct ovb_vstor_srb srb = { .cdb_length = 16,
				     .data_in = VSTOR_DATA_READ,
				     .sense_info_length = 0x14,
				     .data_transfer_length = 4096 };
	uint8_t pkt[64] = { 0 };
	const struct rv_reply *r;
	const uint8_t *sense;
	void *buf;
	uint64_t gpa;

	assert_int_equal(ovb_client_alloc(f->cl, 8192, &buf, &gpa), 0);
	rv_init(VSTOR_PROTO_VERSION_WIN10, NULL);
	/* READ(16) of 8 blocks at the last LBA + 1. */
	srb.cdb[0] = SCSI_READ_16;
	srb.cdb[7] = (uint8_t)(SFX_DISK / 512 >> 16);
	srb.cdb[8] = (uint8_t)(SFX_DISK / 512 >> 8);
	srb.cdb[9] = (uint8_t)(SFX_DISK / 512);
	srb.cdb[13] = 8;
	assert_true(ovb_vstor_encode_srb(pkt, sizeof(pkt),
					 VSTOR_PROTO_VERSION_WIN10, &srb) > 0);
	logcap_start();
	r = rv_call(pkt, 64, gpa, 4096);
	assert_int_equal(r->len, 64);
	assert_int_equal(r->b[0], VSTOR_OPERATION_COMPLETE_IO);
	assert_int_equal(r->b[12 + 2],
			 VSTOR_SRB_STATUS_ERROR |
				 VSTOR_SRB_STATUS_AUTOSENSE_VALID);
	assert_int_equal(r->b[12 + 3], SCSI_STATUS_CHECK_CONDITION);
	assert_in_range(r->b[12 + 9], 14, 0x14);   /* sense_info_length */
	assert_memory_equal(r->b + 12 + 12, "\0\0\0\0", 4); /* moved */
	sense = r->b + 12 + 16;
	assert_int_equal(sense[0] & 0x7f, 0x70);      /* fixed format */
	assert_int_equal(sense[2] & 0xf, SCSI_SENSE_ILLEGAL_REQUEST);
	assert_int_equal(sense[12], 0x21);            /* LBA out of range */
	/* Target 1 and an absent LUN: INVALID_LUN, nothing moved. */
	srb.target_id = 1;
	srb.cdb[7] = srb.cdb[8] = srb.cdb[9] = 0;
	assert_true(ovb_vstor_encode_srb(pkt, sizeof(pkt),
					 VSTOR_PROTO_VERSION_WIN10, &srb) > 0);
	r = rv_call(pkt, 64, gpa, 4096);
	assert_int_equal(r->b[12 + 2], VSTOR_SRB_STATUS_INVALID_LUN);
	assert_int_equal(r->b[12 + 9], 0);
	assert_memory_equal(r->b + 12 + 12, "\0\0\0\0", 4);
	logcap_stop();
	ovb_client_free(f->cl, buf, 8192);
	rv_stop(f);
}

/* A 6- or 12-byte CDB @cdb with a @len-byte read buffer at @gpa. */
static const struct rv_reply *rv_cdb(uint8_t lun, const uint8_t *cdb,
				     uint8_t cdb_len, uint64_t gpa,
				     uint32_t len)
{
	struct ovb_vstor_srb srb = { .lun = lun, .cdb_length = cdb_len,
				     .data_in = len ? VSTOR_DATA_READ
						    : VSTOR_DATA_UNKNOWN,
				     .sense_info_length = 0x14,
				     .data_transfer_length = len };
	uint8_t pkt[64] = { 0 };

	memcpy(srb.cdb, cdb, cdb_len);
	assert_true(ovb_vstor_encode_srb(pkt, sizeof(pkt),
					 VSTOR_PROTO_VERSION_WIN10, &srb) > 0);
	return rv_call(pkt, 64, len ? gpa : 0, len);
}

/*
 * LUN 0 gone, LUN 1 still there.  Linux scans a target by an INQUIRY to
 * LUN 0 and goes on to REPORT LUNS only if that answers (a "not present"
 * peripheral qualifier 3 counts); INVALID_LUN there (DID_NO_CONNECT) ends
 * the scan, and LUN 1 is never found.  Hyper-V and OpenVMM answer a
 * standard INQUIRY to an absent LUN with GOOD and qualifier 3 / type 0x1f
 * (OpenVMM storvsp execute_scsi); every other command to it, TEST UNIT
 * READY included, stays INVALID_LUN, which is how Linux drops a removed
 * disk (storvsc_host_scan, storvsc_remove_lun).
 */
static void test_scan_without_lun0(void **state)
{
	struct sfx_opts o = { 0 };
	struct sfx *f = rv_start(&o);
	const uint8_t inquiry[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
	const uint8_t vpd[6] = { SCSI_INQUIRY, SCSI_INQUIRY_EVPD, 0x80, 0, 36 };
	const uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
	const uint8_t report[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0,
				     0, 0, 0x10, 0, 0, 0 };
	const struct rv_reply *r;
	uint8_t *buf;
	uint64_t gpa;

	assert_int_equal(ovb_client_alloc(f->cl, 8192, (void **)&buf, &gpa),
			 0);
	rv_init(VSTOR_PROTO_VERSION_WIN10, NULL);
	assert_int_equal(ovb_storvsp_remove_lun(f->scsi, 0), 0);
	memset(buf, 0xee, 64);
	r = rv_cdb(0, inquiry, 6, gpa, 36);
	assert_int_equal(r->b[12 + 2], VSTOR_SRB_STATUS_SUCCESS);
	assert_int_equal(r->b[12 + 3], 0);
	assert_int_equal(buf[0], 0x7f);   /* qualifier 3, type 0x1f */
	r = rv_cdb(0, report, 12, gpa, 16);
	assert_int_equal(r->b[12 + 2], VSTOR_SRB_STATUS_SUCCESS);
	assert_int_equal(buf[3], 8);      /* one LUN listed ... */
	assert_int_equal(buf[9], 1);      /* ... LUN 1 */
	logcap_start();
	r = rv_cdb(0, tur, 6, gpa, 0);
	assert_int_equal(r->b[12 + 2], VSTOR_SRB_STATUS_INVALID_LUN);
	r = rv_cdb(0, vpd, 6, gpa, 36);
	assert_int_equal(r->b[12 + 2] & 0x3f, VSTOR_SRB_STATUS_INVALID_LUN);
	logcap_stop();
	ovb_client_free(f->cl, buf, 8192);
	rv_stop(f);
}

/* ---- a full host queue ----------------------------------------------- */

struct rv_flight {
	int done;               /* under rv.lock */
	uint8_t srb_status[16];
	uint8_t scsi_status[16];
};

static void rv_flight_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
			   void *ctx)
{
	struct rv_flight *fl = *(struct rv_flight **)ctx;

	pthread_mutex_lock(&rv.lock);
	if (pkt && pkt->len >= 16) {
		const uint8_t *b = pkt->data;

		fl->srb_status[fl->done] = b[12 + 2];
		fl->scsi_status[fl->done] = b[12 + 3];
	}
	fl->done++;
	pthread_cond_broadcast(&rv.cond);
	pthread_mutex_unlock(&rv.lock);
}

/*
 * More SRBs in flight than the host has slots for (depth 2 here; Linux
 * keeps up to ~324 per channel, (ring - 4 KiB) / 352 B * 90 %).  The
 * extra requests must wait in the ring, as OpenVMM's storvsp leaves them:
 * answered BUSY (SRB_STATUS_ERROR, no sense) Linux's storvsc_handle_error
 * makes them DID_ERROR, which the midlayer retries five times and then
 * fails as an I/O error.
 */
static void test_full_queue_waits_in_ring(void **state)
{
	struct sfx_opts o = { .depth = 2, .gated = true };
	struct sfx *f = rv_start(&o);
	struct rv_flight fl = { 0 };
	struct rv_flight *flp = &fl;
	struct ovb_storvsp_stats st;
	uint8_t *buf;
	uint64_t gpa;

	assert_int_equal(ovb_client_alloc(f->cl, 8 * 4096, (void **)&buf,
					  &gpa), 0);
	rv_init(VSTOR_PROTO_VERSION_WIN10, NULL);
	sfx_gate_close();
	for (int i = 0; i < 8; i++) {
		struct ovb_vstor_srb srb = { .cdb_length = 16,
					     .data_in = VSTOR_DATA_READ,
					     .sense_info_length = 0x14,
					     .data_transfer_length = 4096 };
		uint64_t g = gpa + (uint64_t)i * 4096;
		uint64_t words[2] = { 4096, g / 4096 };
		uint8_t pkt[64] = { 0 };
		struct ovb_send s = { .type = VM_PKT_DATA_USING_GPA_DIRECT,
				      .data = pkt, .len = 64,
				      .ranges = words,
				      .ranges_len = sizeof(words),
				      .range_cnt = 1,
				      .on_comp = rv_flight_comp,
				      .comp_ctx = &flp };

		srb.cdb[0] = SCSI_READ_16;
		srb.cdb[9] = (uint8_t)(i * 8);
		srb.cdb[13] = 8;
		assert_true(ovb_vstor_encode_srb(pkt, sizeof(pkt),
						 VSTOR_PROTO_VERSION_WIN10,
						 &srb) > 0);
		assert_int_equal(ovb_chan_send(rv.chan, &s), 0);
	}
	/* Two in the backend, six in the ring: nothing answered yet. */
	PAIR_WAIT(sfx_gate_held() == 2);
	assert_int_equal(sfx_gate_held(), 2);
	usleep(50 * 1000);
	ovb_inproc_sync(f->link);
	pthread_mutex_lock(&rv.lock);
	assert_int_equal(fl.done, 0);
	pthread_mutex_unlock(&rv.lock);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_int_equal(st.busy, 0);
	sfx_gate_open();
	pthread_mutex_lock(&rv.lock);
	while (fl.done < 8)
		pthread_cond_wait(&rv.cond, &rv.lock);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(fl.srb_status[i], VSTOR_SRB_STATUS_SUCCESS);
		assert_int_equal(fl.scsi_status[i], 0);
	}
	pthread_mutex_unlock(&rv.lock);
	ovb_client_free(f->cl, buf, 8 * 4096);
	rv_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_as_long_as_request),
		cmocka_unit_test(test_init_replies_to_linux),
		cmocka_unit_test(test_version_negotiation),
		cmocka_unit_test(test_properties_by_vmbus_version),
		cmocka_unit_test(test_subchannels_after_end_init),
		cmocka_unit_test(test_enumerate_bus_unsolicited),
		cmocka_unit_test(test_srb_errors_as_linux_reads_them),
		cmocka_unit_test(test_scan_without_lun0),
		cmocka_unit_test(test_full_queue_waits_in_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
