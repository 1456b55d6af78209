// SPDX-License-Identifier: MIT
/*
 * Hostile peers of storage.  A hand-driven guest sends storvsp what Linux
 * never would: SRBs longer than their page list, page lists outside guest
 * memory, CDBs over 16 bytes, unknown operations, short packets, SRBs
 * before END_INIT and for missing LUNs; each gets a clear error and a log
 * line, and the host keeps serving good SRBs.  A hand-written host answers
 * storvsc with completions that lie (transfer beyond the request, sense
 * longer than the buffer, the wrong operation, an unknown transaction id);
 * storvsc rejects each and keeps working.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"
#include "storage/vstor.h"
#include "openvmbus/server.h"
#include "openvmbus/vsc.h"
#include "openvmbus/vsp.h"
#include "openvmbus/wire/scsi.h"
#include "tests/lib/pair.h"
#include "tests/lib/storage-fx.h"

/* ---- a guest driver that speaks raw VSTOR ---------------------------- */

struct raw {
	struct ovb_vsc_dev *dev;
	struct ovb_chan *chan;
	uint16_t version;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct vstor_packet reply;
};

static struct raw raw;

static int raw_probe(struct ovb_vsc_dev *dev, void *ctx)
{
	raw.dev = dev;
	return 0;
}

static const struct ovb_vsc_driver raw_driver = {
	.name = "raw-vstor",
	.class_id = VSTOR_SCSI_CLASS_GUID,
	.probe = raw_probe,
};

static void raw_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
}

static void raw_comp(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		     void *ctx)
{
	pthread_mutex_lock(&raw.lock);
	memset(&raw.reply, 0, sizeof(raw.reply));
	if (pkt)
		memcpy(&raw.reply, pkt->data,
		       pkt->len < sizeof(raw.reply) ? pkt->len
						    : sizeof(raw.reply));
	raw.done = true;
	pthread_cond_broadcast(&raw.cond);
	pthread_mutex_unlock(&raw.lock);
}

/* Send @len bytes (+ optional ranges) and wait for the completion. */
static void raw_call(const void *pkt, size_t len, const uint64_t *words,
		     size_t nwords)
{
	struct ovb_send s = { .data = pkt, .len = len, .on_comp = raw_comp };

	if (words) {
		s.type = VM_PKT_DATA_USING_GPA_DIRECT;
		s.ranges = words;
		s.ranges_len = nwords * 8;
		s.range_cnt = 1;
	}
	raw.done = false;
	assert_int_equal(ovb_chan_send(raw.chan, &s), 0);
	pthread_mutex_lock(&raw.lock);
	while (!raw.done)
		pthread_cond_wait(&raw.cond, &raw.lock);
	pthread_mutex_unlock(&raw.lock);
}

static uint32_t raw_simple(uint32_t op, uint16_t version)
{
	uint8_t pkt[64];
	ssize_t n = ovb_vstor_encode_simple(pkt, sizeof(pkt), version, op,
					    VSTOR_FLAG_REQUEST_COMPLETION, 0);

	assert_true(n > 0);
	raw_call(pkt, (size_t)n, NULL, 0);
	return raw.reply.status;
}

/* A READ(16) of @blocks at LUN @lun over @buf. */
static uint8_t raw_read(uint8_t lun, uint64_t gpa, uint32_t len,
			uint32_t xfer_len)
{
	struct ovb_vstor_srb srb = { .lun = lun, .cdb_length = 16,
				     .data_in = VSTOR_DATA_READ,
				     .sense_info_length = 0x12 };
	uint64_t words[3];
	uint8_t pkt[64];
	ssize_t n;

	srb.cdb[0] = SCSI_READ_16;
	srb.cdb[13] = (uint8_t)(xfer_len / 512);
	srb.data_transfer_length = xfer_len;
	n = ovb_vstor_encode_srb(pkt, sizeof(pkt), raw.version, &srb);
	assert_true(n > 0);
	words[0] = len | (gpa % 4096) << 32;
	words[1] = gpa / 4096;
	words[2] = gpa / 4096 + 1;
	raw_call(pkt, (size_t)n, words, 1 + ovb_gpa_range_npfns(gpa % 4096,
								len));
	return raw.reply.vm_srb.srb_status;
}

/* After each attack: a good READ on LUN 1 still works. */
static void raw_good(uint64_t gpa)
{
	assert_int_equal(raw_read(0, gpa, 4096, 4096),
			 VSTOR_SRB_STATUS_SUCCESS);
}

static void test_hostile_guest(void **state)
{
	struct sfx_opts o = { .no_drivers = true };
	struct sfx *f;
	struct ovb_vsc_open_params op = { .out_ring = 65536, .in_ring = 65536,
					  .recv = raw_recv };
	struct ovb_storvsp_stats st;
	struct vstor_packet bad;
	uint8_t pkt[64];
	void *buf;
	uint64_t gpa;
	ssize_t n;

	memset(&raw, 0, sizeof(raw));
	pthread_mutex_init(&raw.lock, NULL);
	pthread_cond_init(&raw.cond, NULL);
	o.no_connect = true;
	f = sfx_new(&o);
	assert_int_equal(ovb_client_register_driver(f->cl, &raw_driver, NULL),
			 0);
	assert_int_equal(ovb_client_connect(f->cl, 0, 5000), 0);
	assert_non_null(raw.dev);
	assert_int_equal(ovb_vsc_open(raw.dev, &op, &raw.chan), 0);
	assert_int_equal(ovb_client_alloc(f->cl, 65536, &buf, &gpa), 0);
	logcap_start();
	raw.version = VSTOR_PROTO_VERSION_WIN6;

	/* An SRB before the init sequence. */
	assert_int_equal(raw_read(0, gpa, 4096, 4096), 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_INVALID_DEVICE_STATE);
	assert_int_equal(logcap_count("EXECUTE_SRB before END_INITIALIZATION"),
			 1);
	/* Out of order: END_INIT first. */
	assert_int_equal(raw_simple(VSTOR_OPERATION_END_INITIALIZATION,
				    raw.version),
			 VSTOR_STATUS_INVALID_DEVICE_STATE);
	assert_int_equal(logcap_count("out of sequence"), 1);
	/* A version nobody speaks, then 6.2. */
	assert_int_equal(raw_simple(VSTOR_OPERATION_BEGIN_INITIALIZATION,
				    raw.version), 0);
	memset(&bad, 0, sizeof(bad));
	bad.operation = VSTOR_OPERATION_QUERY_PROTOCOL_VERSION;
	bad.flags = VSTOR_FLAG_REQUEST_COMPLETION;
	bad.version.major_minor = 0x0A00;
	raw_call(&bad, 48, NULL, 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_REVISION_MISMATCH);
	n = ovb_vstor_encode_version(pkt, sizeof(pkt), raw.version,
				     VSTOR_PROTO_VERSION_WIN10);
	raw_call(pkt, (size_t)n, NULL, 0);
	assert_int_equal(raw.reply.status, 0);
	raw.version = VSTOR_PROTO_VERSION_WIN10;
	assert_int_equal(raw_simple(VSTOR_OPERATION_QUERY_PROPERTIES,
				    raw.version), 0);
	assert_int_equal(raw.reply.storage_channel_properties
				 .max_transfer_bytes, 1u << 20);
	/* More sub-channels than offered. */
	n = ovb_vstor_encode_subchannels(pkt, sizeof(pkt), raw.version, 50);
	raw_call(pkt, (size_t)n, NULL, 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_INVALID_PARAMETER);
	assert_int_equal(raw_simple(VSTOR_OPERATION_END_INITIALIZATION,
				    raw.version), 0);
	raw_good(gpa);

	/* data_transfer_length beyond the page list. */
	assert_int_equal(raw_read(0, gpa, 4096, 8192),
			 VSTOR_SRB_STATUS_INVALID_REQUEST);
	assert_int_equal(logcap_count("data_transfer_length 8192 larger than "
				      "the 4096-byte page list"), 1);
	raw_good(gpa);
	/* Pages outside guest memory (guest RAM starts at 1 GiB). */
	assert_int_equal(raw_read(0, 0x10000, 4096, 4096),
			 VSTOR_SRB_STATUS_INVALID_REQUEST);
	assert_int_equal(logcap_count("outside the guest"), 1);
	raw_good(gpa);
	/* Data promised but sent in-band. */
	memset(&bad, 0, sizeof(bad));
	bad.operation = VSTOR_OPERATION_EXECUTE_SRB;
	bad.flags = VSTOR_FLAG_REQUEST_COMPLETION;
	bad.vm_srb.cdb_length = 10;
	bad.vm_srb.cdb[0] = SCSI_READ_10;
	bad.vm_srb.data_in = VSTOR_DATA_READ;
	bad.vm_srb.data_transfer_length = 512;
	raw_call(&bad, 64, NULL, 0);
	assert_int_equal(raw.reply.vm_srb.srb_status,
			 VSTOR_SRB_STATUS_INVALID_REQUEST);
	assert_int_equal(logcap_count("without a page list"), 1);
	/* A CDB of 17 bytes. */
	bad.vm_srb.cdb_length = 17;
	raw_call(&bad, 64, NULL, 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_INVALID_PARAMETER);
	assert_int_equal(logcap_count("bad CDB length"), 1);
	raw_good(gpa);
	/* Unknown operations and short packets. */
	bad.operation = 99;
	raw_call(&bad, 64, NULL, 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_INVALID_PARAMETER);
	assert_int_equal(logcap_count("unknown operation"), 1);
	bad.operation = VSTOR_OPERATION_FCHBA_DATA;
	raw_call(&bad, 64, NULL, 0);
	assert_int_equal(raw.reply.status,
			 VSTOR_STATUS_INVALID_DEVICE_REQUEST);
	bad.operation = VSTOR_OPERATION_RESET_BUS;
	raw_call(&bad, 20, NULL, 0);
	assert_int_equal(raw.reply.status, VSTOR_STATUS_INVALID_PARAMETER);
	assert_int_equal(logcap_count("short packet"), 1);
	/* A LUN that does not exist, and another target. */
	assert_int_equal(raw_read(7, gpa, 4096, 4096),
			 VSTOR_SRB_STATUS_INVALID_LUN);
	raw_good(gpa);
	/* Resets are acknowledged. */
	assert_int_equal(raw_simple(VSTOR_OPERATION_RESET_LUN, raw.version),
			 0);
	assert_int_equal(raw_simple(VSTOR_OPERATION_RESET_BUS, raw.version),
			 0);
	ovb_storvsp_get_stats(f->scsi, &st);
	assert_true(st.bad_packets >= 8);
	assert_int_equal(st.reset_lun, 1);
	assert_int_equal(st.reset_bus, 1);
	logcap_stop();
	ovb_client_free(f->cl, buf, 65536);
	sfx_free(f);
}

/* ---- a host that lies to storvsc --------------------------------------- */

enum lie {
	LIE_NONE,
	LIE_XFER,
	LIE_SENSE,
	LIE_OP,
	LIE_XID,
	LIE_NTSTATUS, /* OpenVMM's NTSTATUS beside a good SRB */
	LIE_NTSTATUS_ERR, /* ... beside a failed one */
	LIE_SILENT
};
static enum lie lie;
/* LIE_SILENT: what the host was sent and never answered. */
static int silent_srbs, silent_reset_lun, silent_reset_adapter;
static int silent_first_reset; /* the first reset operation seen */

static void hv_reply(struct ovb_chan *chan, uint64_t xid, uint16_t v,
		     struct ovb_vstor_srb *out)
{
	uint8_t buf[64];
	ssize_t n = ovb_vstor_encode_srb_complete(buf, sizeof(buf), v, 0, out);

	assert_true(n > 0);
	ovb_chan_send_comp(chan, xid, buf, (size_t)n);
}

/* Answer the scan like a 1 MiB disk, and READ(16) as @lie says. */
static void hv_srb(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		   const struct ovb_vstor_msg *m, struct ovb_gmem *gm)
{
	static uint16_t v = VSTOR_PROTO_VERSION_WIN10;
	struct ovb_vstor_srb out = m->srb;
	uint8_t data[64] = { 0 };
	struct iovec iov[8];
	size_t total = 0, len = 0;
	int niov = 0;

	if (pkt->type == VM_PKT_DATA_USING_GPA_DIRECT)
		niov = ovb_gmem_ranges_iov(gm, pkt->ranges, pkt->range_cnt,
					   iov, 8, &total);
	out.srb_status = VSTOR_SRB_STATUS_SUCCESS;
	out.scsi_status = 0;
	out.sense_info_length = 0;
	switch (m->srb.cdb[0]) {
	case SCSI_REPORT_LUNS:
		data[3] = 8;
		len = 16;
		break;
	case SCSI_INQUIRY:
		if (m->srb.cdb[1]) {
			out.srb_status = VSTOR_SRB_STATUS_ERROR;
			break;
		}
		memcpy(data + 8, "Hostile Disk            ", 24);
		len = 36;
		break;
	case SCSI_SERVICE_ACTION_IN_16:
		data[6] = 0x07; /* last LBA 2047 */
		data[7] = 0xff;
		data[10] = 0x02; /* 512-byte blocks */
		len = 32;
		break;
	case SCSI_MODE_SENSE_6:
		len = 4;
		break;
	case SCSI_READ_16:
		len = m->srb.data_transfer_length;
		break;
	default:
		break;
	}
	if (len > total)
		len = total;
	if (niov > 0 && m->srb.cdb[0] != SCSI_READ_16)
		ovb_blk_iov_from_buf(iov, niov, 0, data, len < 64 ? len : 64);
	out.data_transfer_length = (uint32_t)len;
	if (m->srb.cdb[0] == SCSI_READ_16 && lie != LIE_NONE) {
		struct vstor_packet raw_out = { 0 };

		raw_out.operation = VSTOR_OPERATION_COMPLETE_IO;
		raw_out.vm_srb.srb_status = VSTOR_SRB_STATUS_SUCCESS;
		raw_out.vm_srb.data_transfer_length = (uint32_t)len;
		switch (lie) {
		case LIE_XFER:
			raw_out.vm_srb.data_transfer_length = (uint32_t)len + 512;
			break;
		case LIE_SENSE:
			raw_out.vm_srb.scsi_status = 2;
			raw_out.vm_srb.srb_status |= 0x80;
			raw_out.vm_srb.sense_info_length = 0x15;
			break;
		case LIE_OP:
			raw_out.operation = VSTOR_OPERATION_EXECUTE_SRB;
			raw_out.vm_srb.cdb_length = 16;
			break;
		case LIE_NTSTATUS:
			raw_out.status = 0x80000005; /* BUFFER_OVERFLOW */
			break;
		case LIE_NTSTATUS_ERR:
			raw_out.status = 0xC00000C0; /* DEVICE_DOES_NOT_EXIST */
			raw_out.vm_srb.srb_status = VSTOR_SRB_STATUS_ERROR;
			raw_out.vm_srb.data_transfer_length = 0;
			break;
		case LIE_XID:
			/* A stray completion, then the real one. */
			ovb_chan_send_comp(chan, 0x4000000012345678ull,
					   &raw_out, 64);
			hv_reply(chan, pkt->xid, v, &out);
			return;
		default:
			break;
		}
		ovb_chan_send_comp(chan, pkt->xid, &raw_out, 64);
		return;
	}
	hv_reply(chan, pkt->xid, v, &out);
}

static void hv_recv(struct ovb_chan *chan, const struct ovb_pkt *pkt,
		    void *ctx)
{
	struct ovb_vsp_dev *dev = ctx;
	struct ovb_vstor_msg m;
	struct ovb_vstor_props pr = { .max_transfer_bytes = 65536 };
	uint8_t buf[64];
	ssize_t n;

	if (ovb_vstor_parse(pkt->data, pkt->len,
			    pkt->len >= 64 ? VSTOR_PROTO_VERSION_WIN10
					   : VSTOR_PROTO_VERSION_WIN6, &m))
		return;
	if (__atomic_load_n(&lie, __ATOMIC_ACQUIRE) == LIE_SILENT) {
		/* Alive but silent: takes everything, answers nothing. */
		int zero = 0;

		if (m.operation == VSTOR_OPERATION_EXECUTE_SRB)
			__atomic_fetch_add(&silent_srbs, 1, __ATOMIC_RELEASE);
		if (m.operation == VSTOR_OPERATION_RESET_LUN)
			__atomic_fetch_add(&silent_reset_lun, 1,
					   __ATOMIC_RELEASE);
		if (m.operation == VSTOR_OPERATION_RESET_ADAPTER)
			__atomic_fetch_add(&silent_reset_adapter, 1,
					   __ATOMIC_RELEASE);
		if (m.operation == VSTOR_OPERATION_RESET_LUN ||
		    m.operation == VSTOR_OPERATION_RESET_ADAPTER)
			__atomic_compare_exchange_n(&silent_first_reset, &zero,
						    (int)m.operation, false,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		return;
	}
	switch (m.operation) {
	case VSTOR_OPERATION_EXECUTE_SRB:
		hv_srb(chan, pkt, &m,
		       ovb_partition_gmem(ovb_vsp_dev_partition(dev)));
		return;
	case VSTOR_OPERATION_QUERY_PROPERTIES:
		n = ovb_vstor_encode_properties(buf, sizeof(buf),
						VSTOR_PROTO_VERSION_WIN10, 0,
						&pr);
		break;
	default:
		n = ovb_vstor_encode_simple(buf, sizeof(buf),
					    VSTOR_PROTO_VERSION_WIN10,
					    VSTOR_OPERATION_COMPLETE_IO, 0, 0);
	}
	ovb_chan_send_comp(chan, pkt->xid, buf, (size_t)n);
}

static int hv_open(struct ovb_vsp_dev *dev, struct ovb_chan *chan,
		   const uint8_t *userdata)
{
	ovb_chan_set_ctx(chan, dev);
	return 0;
}

static const struct ovb_vsp_ops hv_ops;

static int hv_partition_add(struct ovb_partition *part, void *ctx)
{
	struct ovb_offer_params p = { .class_id = VSTOR_SCSI_CLASS_GUID };

	p.instance_id.b[0] = 0x66;
	return ovb_server_offer(part, &hv_ops, &p, NULL);
}

static const struct ovb_vsp_ops hv_ops = {
	.name = "liar",
	.partition_add = hv_partition_add,
	.open = hv_open,
	.recv = hv_recv,
};

/* The liar's server, a guest of it over the inproc link, the guest's client. */
struct hv_pair {
	struct ovb_server *srv;
	struct ovb_inproc *link;
	struct ovb_client *cl;
};

/* Starts the liar (telling no lies yet) and connects a guest whose
 * storvsc is configured by @set; returns its one controller. */
static struct ovb_storvsc *hv_connect(struct hv_pair *hp,
				      struct ovb_storvsc_set *set)
{
	struct ovb_inproc_params ip = { .name = "victim", .mem_gpa = 1ull << 30,
					.mem_size = 32ull << 20 };

	assert_int_equal(ovb_server_create(&hp->srv), 0);
	assert_int_equal(ovb_server_register_vsp(hp->srv, &hv_ops, NULL), 0);
	assert_int_equal(ovb_inproc_create(hp->srv, &ip, &hp->link), 0);
	hp->cl = ovb_inproc_client(hp->link);
	assert_int_equal(ovb_client_register_driver(
				 hp->cl, &ovb_storvsc_scsi_driver, set), 0);
	lie = LIE_NONE;
	assert_int_equal(ovb_client_connect(hp->cl, 0, 5000), 0);
	assert_int_equal(set->n, 1);
	return set->ctl[0];
}

static void hv_disconnect(struct hv_pair *hp)
{
	ovb_inproc_destroy(hp->link);
	ovb_server_destroy(hp->srv);
	lie = LIE_NONE;
}

static void test_hostile_host(void **state)
{
	struct ovb_storvsc_set set = { .cfg = { .timeout_ms = 2000 } };
	struct hv_pair hp;
	struct ovb_storvsc *s;
	struct ovb_storvsc_lun l[2];
	uint8_t *buf;

	s = hv_connect(&hp, &set);
	assert_int_equal(ovb_storvsc_luns(s, l, 2), 1);
	assert_string_equal(l[0].vendor, "Hostile");
	assert_int_equal(l[0].blocks, 2048);
	buf = ovb_storvsc_alloc(s, 8192);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), 4096);
	logcap_start();
	lie = LIE_XFER;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), -EIO);
	assert_int_equal(logcap_count("transfer length beyond the request"),
			 1);
	lie = LIE_SENSE;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), -EIO);
	assert_int_equal(logcap_count("invalid SRB fields"), 1);
	lie = LIE_OP;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), -EIO);
	assert_int_equal(logcap_count("not COMPLETE_IO"), 1);
	/* The packet's NTSTATUS is not the I/O's result (Linux never reads
	 * it on COMPLETE_IO; OpenVMM derives it from the SRB status). */
	lie = LIE_NTSTATUS;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), 4096);
	lie = LIE_NTSTATUS_ERR;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), -EIO);
	lie = LIE_XID;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), 4096);
	PAIR_WAIT(logcap_count("completion for unknown transaction") == 1);
	assert_int_equal(logcap_count("completion for unknown transaction"), 1);
	lie = LIE_NONE;
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 4096, buf,
					  8192, false), 8192);
	logcap_stop();
	ovb_storvsc_free(s, buf, 8192);
	hv_disconnect(&hp);
}

static int fails, fail_err;

static void on_fail(struct ovb_storvsc *s, int err, void *ctx)
{
	__atomic_store_n(&fail_err, err, __ATOMIC_RELEASE);
	__atomic_fetch_add(&fails, 1, __ATOMIC_RELEASE);
}

/*
 * A host that stops answering in the middle of I/O (alive, silent): the
 * request escalates RESET_LUN then RESET_ADAPTER (one of each, in that
 * order, each said in the log) and fails with -ETIMEDOUT, saying the host
 * stopped answering; the controller goes offline (on_fail once, later
 * submits fail at once without reaching the host).  The outcome decides;
 * the clock only guards against a hang.
 */
static void test_silent_host(void **state)
{
	struct ovb_storvsc_set set = { .cfg = { .timeout_ms = 900 },
				       .on_fail = on_fail };
	struct hv_pair hp;
	struct ovb_storvsc *s;
	uint64_t t0;
	uint8_t *buf;

	s = hv_connect(&hp, &set);
	buf = ovb_storvsc_alloc(s, 8192);
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), 4096);
	logcap_start();
	__atomic_store_n(&lie, LIE_SILENT, __ATOMIC_RELEASE);
	t0 = ovb_now_us();
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 4096, buf,
					  4096, false), -ETIMEDOUT);
	PAIR_NO_HANG(t0);
	assert_int_equal(__atomic_load_n(&silent_srbs, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(__atomic_load_n(&silent_reset_lun, __ATOMIC_ACQUIRE),
			 1);
	assert_int_equal(__atomic_load_n(&silent_reset_adapter,
					 __ATOMIC_ACQUIRE), 1);
	assert_int_equal(silent_first_reset, VSTOR_OPERATION_RESET_LUN);
	assert_int_equal(logcap_count("request timed out: RESET_LUN"), 1);
	assert_int_equal(logcap_count("request timed out: RESET_ADAPTER"), 1);
	assert_int_equal(logcap_count("LUN 0: request failed after resets; "
				      "the host stopped answering"), 1);
	/* on_fail runs on the controller's thread, just after the request's
	 * own completion woke us. */
	PAIR_WAIT(__atomic_load_n(&fails, __ATOMIC_ACQUIRE) >= 1);
	assert_int_equal(__atomic_load_n(&fails, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(fail_err, -ETIMEDOUT);
	/* Offline: the next request fails with -EIO, not the -ETIMEDOUT of
	 * one sent to the silent host; nothing more reaches it. */
	assert_int_equal(ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096,
					  false), -EIO);
	assert_int_equal(__atomic_load_n(&silent_srbs, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(__atomic_load_n(&silent_reset_lun, __ATOMIC_ACQUIRE),
			 1);
	logcap_stop();
	ovb_storvsc_free(s, buf, 8192);
	hv_disconnect(&hp);
}

/* ovb_storvsc_abort: requests stuck on a silent host complete now. */
static void *abort_reader(void *arg)
{
	struct ovb_storvsc *s = arg;
	uint8_t *buf = ovb_storvsc_alloc(s, 4096);
	int64_t *res = malloc(sizeof(*res));

	*res = ovb_storvsc_sync(s, OVB_STORVSC_READ, 0, 0, buf, 4096, false);
	ovb_storvsc_free(s, buf, 4096);
	return res;
}

static void test_abort(void **state)
{
	struct ovb_storvsc_set set = { .cfg = { .timeout_ms = 60000 } };
	struct hv_pair hp;
	struct ovb_storvsc *s;
	uint64_t t0;
	pthread_t th[4];
	void *res;

	s = hv_connect(&hp, &set);
	__atomic_store_n(&silent_srbs, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&lie, LIE_SILENT, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, abort_reader, s),
				 0);
	PAIR_WAIT(__atomic_load_n(&silent_srbs, __ATOMIC_ACQUIRE) == 4);
	t0 = ovb_now_us();
	ovb_storvsc_abort(s);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &res);
		/* -ETIMEDOUT after a minute if the abort had not ended it */
		assert_int_equal(*(int64_t *)res, -ECONNRESET);
		free(res);
	}
	PAIR_NO_HANG(t0);
	ovb_client_set_deadline(hp.cl, 500);
	hv_disconnect(&hp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_guest),
		cmocka_unit_test(test_hostile_host),
		cmocka_unit_test(test_silent_host),
		cmocka_unit_test(test_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
