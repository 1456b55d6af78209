// SPDX-License-Identifier: MIT
/*
 * The SCSI target's identity and geometry: standard INQUIRY data, the VPD
 * pages a Linux or Windows initiator reads (supported pages, unit serial
 * number, device identification, block limits, block device
 * characteristics, logical block provisioning), READ CAPACITY(10) and
 * READ CAPACITY(16).  Layer: devices (storage).  Implements SPC-4 6.6 and
 * 7.8, SBC-3 5.16-5.17 and 6.6.
 */
#include <string.h>

#include "storage/scsi_internal.h"

#define VPD_MAX 256u

/* Copy @s into @dst padded with spaces to @len bytes (SCSI ASCII field). */
static void inq_pad(uint8_t *dst, const char *s, size_t len)
{
	size_t n = strlen(s);

	memset(dst, ' ', len);
	memcpy(dst, s, n < len ? n : len);
}

static size_t inq_standard(const struct ovb_scsi_target *t, uint8_t *buf)
{
	memset(buf, 0, SCSI_INQUIRY_STD_LEN);
	buf[0] = SCSI_PDT_DISK;
	buf[2] = SCSI_VERSION_SPC4;
	buf[3] = SCSI_INQUIRY_RDF_HISUP;
	buf[4] = SCSI_INQUIRY_STD_LEN - 5;
	buf[7] = SCSI_INQUIRY_CMDQUE;
	inq_pad(buf + 8, t->vendor, 8);
	inq_pad(buf + 16, t->product, 16);
	inq_pad(buf + 32, t->revision, 4);
	return SCSI_INQUIRY_STD_LEN;
}

static const uint8_t vpd_pages[] = {
	SCSI_VPD_SUPPORTED_PAGES,
	SCSI_VPD_UNIT_SERIAL,
	SCSI_VPD_DEVICE_ID,
	SCSI_VPD_BLOCK_LIMITS,
	SCSI_VPD_BLOCK_CHARACTERISTICS,
	SCSI_VPD_LB_PROVISIONING,
};

static size_t vpd_supported(const struct ovb_scsi_target *t, uint8_t *buf)
{
	memcpy(buf + 4, vpd_pages, sizeof(vpd_pages));
	return 4 + sizeof(vpd_pages);
}

static size_t vpd_serial(const struct ovb_scsi_target *t, uint8_t *buf)
{
	size_t n = strlen(t->serial);

	memcpy(buf + 4, t->serial, n);
	return 4 + n;
}

/* Two designators: NAA-3 (locally assigned, 8 bytes) and T10 vendor id. */
static size_t vpd_device_id(const struct ovb_scsi_target *t, uint8_t *buf)
{
	uint8_t *d = buf + 4;
	size_t n = strlen(t->serial);

	d[0] = SCSI_DESIG_CODESET_BINARY;
	d[1] = SCSI_DESIG_TYPE_NAA; /* association: the logical unit */
	d[3] = 8;
	ovb_put_be64(d + 4, (uint64_t)SCSI_NAA_LOCAL << 60 | t->naa_id);
	d += 12;
	d[0] = SCSI_DESIG_CODESET_ASCII;
	d[1] = SCSI_DESIG_TYPE_T10;
	d[3] = (uint8_t)(8 + n);
	inq_pad(d + 4, t->vendor, 8);
	memcpy(d + 12, t->serial, n);
	d += 12 + n;
	return (size_t)(d - buf);
}

static size_t vpd_block_limits(const struct ovb_scsi_target *t, uint8_t *buf)
{
	uint32_t gran = 4096 / t->bs; /* host file systems use 4 KiB */

	buf[4] = 0x01; /* WSNZ: WRITE SAME of zero blocks is invalid */
	ovb_put_be16(buf + 6, (uint16_t)gran);
	ovb_put_be32(buf + 8, t->max_xfer_blocks);
	if (t->blk->can_discard) {
		ovb_put_be32(buf + 20, OVB_SCSI_MAX_UNMAP_BLOCKS);
		ovb_put_be32(buf + 24, OVB_SCSI_MAX_UNMAP_DESC);
		ovb_put_be32(buf + 28, gran);
	}
	ovb_put_be64(buf + 36, OVB_SCSI_MAX_WS_BLOCKS);
	return 64;
}

static size_t vpd_block_chars(const struct ovb_scsi_target *t, uint8_t *buf)
{
	ovb_put_be16(buf + 4, 0x0001); /* medium rotation: non-rotating */
	return 64;
}

static size_t vpd_provisioning(const struct ovb_scsi_target *t, uint8_t *buf)
{
	const struct ovb_blk *blk = t->blk;

	/* UNMAP needs DISCARD; WRITE SAME with UNMAP needs either a
	 * DISCARD that reads zeros or WRITE ZEROES; LBPRZ the former. */
	if (blk->can_discard)
		buf[5] = SCSI_LBP_LBPU;
	if ((blk->can_discard && !blk->discard_unzeroed) || blk->can_zero)
		buf[5] |= SCSI_LBP_LBPWS | SCSI_LBP_LBPWS10;
	if (blk->can_discard && !blk->discard_unzeroed)
		buf[5] |= SCSI_LBP_LBPRZ;
	if (buf[5])
		buf[6] = SCSI_LBP_TYPE_THIN;
	return 8;
}

/* Build VPD page @page into @buf; returns its length, 0 if unknown. */
static size_t inq_vpd(const struct ovb_scsi_target *t, uint8_t page,
		      uint8_t *buf)
{
	size_t len;

	memset(buf, 0, VPD_MAX);
	switch (page) {
	case SCSI_VPD_SUPPORTED_PAGES:
		len = vpd_supported(t, buf);
		break;
	case SCSI_VPD_UNIT_SERIAL:
		len = vpd_serial(t, buf);
		break;
	case SCSI_VPD_DEVICE_ID:
		len = vpd_device_id(t, buf);
		break;
	case SCSI_VPD_BLOCK_LIMITS:
		len = vpd_block_limits(t, buf);
		break;
	case SCSI_VPD_BLOCK_CHARACTERISTICS:
		len = vpd_block_chars(t, buf);
		break;
	case SCSI_VPD_LB_PROVISIONING:
		len = vpd_provisioning(t, buf);
		break;
	default:
		return 0;
	}
	buf[0] = SCSI_PDT_DISK;
	buf[1] = page;
	ovb_put_be16(buf + 2, (uint16_t)(len - 4));
	return len;
}

void ovb__scsi_inquiry(struct ovb_scsi_cmd *cmd)
{
	const struct ovb_scsi_target *t = cmd->p.t;
	uint16_t alloc = ovb_get_be16(cmd->cdb + 3);
	uint8_t buf[VPD_MAX];
	size_t len;

	if (cmd->cdb[1] & SCSI_INQUIRY_CMDDT) {
		ovb__scsi_bad_cdb(cmd, 1, 1);
		return;
	}
	if (!(cmd->cdb[1] & SCSI_INQUIRY_EVPD)) {
		if (cmd->cdb[2] != 0) {
			ovb__scsi_bad_cdb(cmd, 2, -1);
			return;
		}
		len = inq_standard(t, buf);
		ovb__scsi_reply(cmd, buf, len, alloc);
		return;
	}
	len = inq_vpd(t, cmd->cdb[2], buf);
	if (len == 0) {
		ovb__scsi_bad_cdb(cmd, 2, -1);
		return;
	}
	ovb__scsi_reply(cmd, buf, len, alloc);
}

void ovb__scsi_read_capacity10(struct ovb_scsi_cmd *cmd)
{
	const struct ovb_scsi_target *t = cmd->p.t;
	uint64_t last = t->nblocks - 1;
	uint8_t buf[8];

	/* Without PMI the LOGICAL BLOCK ADDRESS field must be zero. */
	if (!(cmd->cdb[8] & 0x01) && ovb_get_be32(cmd->cdb + 2) != 0) {
		ovb__scsi_bad_cdb(cmd, 2, -1);
		return;
	}
	/* Too large for 32 bits: the initiator must use READ CAPACITY(16). */
	ovb_put_be32(buf, last > 0xFFFFFFFEull ? 0xFFFFFFFFu : (uint32_t)last);
	ovb_put_be32(buf + 4, t->bs);
	ovb__scsi_reply(cmd, buf, sizeof(buf), sizeof(buf));
}

void ovb__scsi_service_action_in(struct ovb_scsi_cmd *cmd)
{
	const struct ovb_scsi_target *t = cmd->p.t;
	uint8_t buf[SCSI_RC16_LEN];

	if ((cmd->cdb[1] & 0x1f) != SCSI_SAI_READ_CAPACITY_16) {
		ovb__scsi_bad_cdb(cmd, 1, 4);
		return;
	}
	if (!(cmd->cdb[14] & 0x01) && ovb_get_be64(cmd->cdb + 2) != 0) {
		ovb__scsi_bad_cdb(cmd, 2, -1);
		return;
	}
	memset(buf, 0, sizeof(buf));
	ovb_put_be64(buf, t->nblocks - 1);
	ovb_put_be32(buf + 8, t->bs);
	if (t->blk->can_discard || t->blk->can_zero)
		buf[14] = SCSI_RC16_LBPME;
	if (t->blk->can_discard && !t->blk->discard_unzeroed)
		buf[14] |= SCSI_RC16_LBPRZ;
	ovb__scsi_reply(cmd, buf, sizeof(buf), ovb_get_be32(cmd->cdb + 10));
}
