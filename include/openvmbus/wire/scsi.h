/* SPDX-License-Identifier: MIT */
/*
 * SCSI wire format, the part a virtual direct-access block device speaks:
 * operation codes, status bytes, sense keys, the ASC/ASCQ pairs we report,
 * the 18-byte fixed-format sense data, and the page codes of INQUIRY VPD and
 * MODE SENSE.  Layer: wire.  Sources: T10 SAM-5, SPC-4 and SBC-3 (numbers
 * cross-checked with Linux include/scsi/scsi_proto.h).  Multi-byte fields in
 * CDBs and SCSI data are big-endian, unlike the VMBus structures.
 */
#ifndef OPENVMBUS_WIRE_SCSI_H
#define OPENVMBUS_WIRE_SCSI_H

#include <stddef.h>
#include <stdint.h>

#include "vmbus.h"

/* ---- operation codes --------------------------------------------------- */

#define SCSI_TEST_UNIT_READY 0x00u
#define SCSI_REQUEST_SENSE 0x03u
#define SCSI_READ_6 0x08u
#define SCSI_WRITE_6 0x0Au
#define SCSI_INQUIRY 0x12u
#define SCSI_MODE_SELECT_6 0x15u
#define SCSI_MODE_SENSE_6 0x1Au
#define SCSI_START_STOP_UNIT 0x1Bu
#define SCSI_PREVENT_ALLOW_MEDIUM_REMOVAL 0x1Eu
#define SCSI_READ_CAPACITY_10 0x25u
#define SCSI_READ_10 0x28u
#define SCSI_WRITE_10 0x2Au
#define SCSI_VERIFY_10 0x2Fu
#define SCSI_SYNCHRONIZE_CACHE_10 0x35u
#define SCSI_WRITE_SAME_10 0x41u
#define SCSI_UNMAP 0x42u
#define SCSI_MODE_SELECT_10 0x55u
#define SCSI_MODE_SENSE_10 0x5Au
#define SCSI_READ_16 0x88u
#define SCSI_WRITE_16 0x8Au
#define SCSI_VERIFY_16 0x8Fu
#define SCSI_SYNCHRONIZE_CACHE_16 0x91u
#define SCSI_WRITE_SAME_16 0x93u
#define SCSI_SERVICE_ACTION_IN_16 0x9Eu
#define SCSI_REPORT_LUNS 0xA0u
#define SCSI_READ_12 0xA8u
#define SCSI_WRITE_12 0xAAu

/** SERVICE ACTION IN(16) service action: READ CAPACITY(16). */
#define SCSI_SAI_READ_CAPACITY_16 0x10u

/* ---- status byte (SAM-5) ----------------------------------------------- */

#define SCSI_STATUS_GOOD 0x00u
#define SCSI_STATUS_CHECK_CONDITION 0x02u
#define SCSI_STATUS_CONDITION_MET 0x04u
#define SCSI_STATUS_BUSY 0x08u
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18u
#define SCSI_STATUS_TASK_SET_FULL 0x28u
#define SCSI_STATUS_ACA_ACTIVE 0x30u
#define SCSI_STATUS_TASK_ABORTED 0x40u

/* ---- sense keys -------------------------------------------------------- */

#define SCSI_SENSE_NO_SENSE 0x0u
#define SCSI_SENSE_RECOVERED_ERROR 0x1u
#define SCSI_SENSE_NOT_READY 0x2u
#define SCSI_SENSE_MEDIUM_ERROR 0x3u
#define SCSI_SENSE_HARDWARE_ERROR 0x4u
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5u
#define SCSI_SENSE_UNIT_ATTENTION 0x6u
#define SCSI_SENSE_DATA_PROTECT 0x7u
#define SCSI_SENSE_ABORTED_COMMAND 0xBu

/* ---- additional sense code / qualifier pairs: (asc << 8) | ascq -------- */

#define SCSI_ASC(pair) ((uint8_t)((pair) >> 8))
#define SCSI_ASCQ(pair) ((uint8_t)((pair) & 0xff))

#define SCSI_ASC_NO_ADDITIONAL_SENSE 0x0000u
#define SCSI_ASC_WRITE_ERROR 0x0C00u
#define SCSI_ASC_UNRECOVERED_READ_ERROR 0x1100u
#define SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR 0x1A00u
#define SCSI_ASC_INVALID_COMMAND_OPCODE 0x2000u
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x2100u
#define SCSI_ASC_INVALID_FIELD_IN_CDB 0x2400u
#define SCSI_ASC_LUN_NOT_SUPPORTED 0x2500u
#define SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST 0x2600u
#define SCSI_ASC_WRITE_PROTECTED 0x2700u
#define SCSI_ASC_SPACE_ALLOC_FAILED_WP 0x2707u /**< thin pool full */
#define SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED 0x3900u
#define SCSI_ASC_INTERNAL_TARGET_FAILURE 0x4400u

/* ---- fixed-format sense data (SPC-4 4.5.3) ----------------------------- */

#define SCSI_SENSE_FIXED_LEN 18u
#define SCSI_SENSE_FIXED_CURRENT 0x70u  /**< response code: current error */
#define SCSI_SENSE_FIXED_DEFERRED 0x71u /**< response code: deferred */
#define SCSI_SENSE_VALID 0x80u          /**< response code: info valid */
#define SCSI_SENSE_ILI 0x20u            /**< flags_key: incorrect length */
#define SCSI_SKS_SKSV 0x80u   /**< sks[0]: sense-key specific valid */
#define SCSI_SKS_CD 0x40u     /**< sks[0]: pointer is into the CDB */
#define SCSI_SKS_BPV 0x08u    /**< sks[0]: bit pointer valid */

/** Fixed-format sense data, 18 bytes. */
struct scsi_sense_fixed {
	uint8_t response_code;  /**< 0x70 current | 0x80 info valid */
	uint8_t obsolete;
	uint8_t flags_key;      /**< bits 3-0 sense key, 0x20 ILI */
	uint8_t information[4]; /**< big-endian, e.g. the failing LBA */
	uint8_t additional_len; /**< bytes after this one: 10 */
	uint8_t cmd_specific[4];
	uint8_t asc;            /**< additional sense code */
	uint8_t ascq;           /**< additional sense code qualifier */
	uint8_t fru;            /**< field replaceable unit code */
	uint8_t sks[3];         /**< sense-key specific: field pointer */
} __attribute__((packed));
VMBUS_WIRE_SIZE(struct scsi_sense_fixed, SCSI_SENSE_FIXED_LEN);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, flags_key, 2);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, information, 3);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, additional_len, 7);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, asc, 12);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, ascq, 13);
VMBUS_WIRE_CHECK(struct scsi_sense_fixed, sks, 15);

/* ---- INQUIRY ------------------------------------------------------------ */

#define SCSI_INQUIRY_EVPD 0x01u          /**< CDB byte 1 */
#define SCSI_INQUIRY_CMDDT 0x02u         /**< CDB byte 1, obsolete */
#define SCSI_INQUIRY_STD_LEN 36u         /**< standard data we return */
#define SCSI_PDT_DISK 0x00u              /**< peripheral type: disk */
#define SCSI_PQ_NOT_CONNECTED 0x7Fu      /**< qualifier 3: no LUN here */
#define SCSI_VERSION_SPC4 0x06u
#define SCSI_INQUIRY_RDF_HISUP 0x12u     /**< format 2, hierarchical LUNs */
#define SCSI_INQUIRY_CMDQUE 0x02u        /**< byte 7: command queuing */

#define SCSI_VPD_SUPPORTED_PAGES 0x00u
#define SCSI_VPD_UNIT_SERIAL 0x80u
#define SCSI_VPD_DEVICE_ID 0x83u
#define SCSI_VPD_BLOCK_LIMITS 0xB0u
#define SCSI_VPD_BLOCK_CHARACTERISTICS 0xB1u
#define SCSI_VPD_LB_PROVISIONING 0xB2u

/* Device identification designators (VPD 0x83). */
#define SCSI_DESIG_CODESET_BINARY 0x1u
#define SCSI_DESIG_CODESET_ASCII 0x2u
#define SCSI_DESIG_TYPE_T10 0x1u
#define SCSI_DESIG_TYPE_NAA 0x3u
#define SCSI_NAA_LOCAL 0x3u           /**< NAA 3: locally assigned */

/* Logical block provisioning VPD (0xB2) byte 5 and READ CAPACITY(16). */
#define SCSI_LBP_LBPU 0x80u
#define SCSI_LBP_LBPWS 0x40u
#define SCSI_LBP_LBPWS10 0x20u
#define SCSI_LBP_LBPRZ 0x04u
#define SCSI_LBP_TYPE_THIN 0x2u       /**< provisioning type, byte 6 */
#define SCSI_RC16_LBPME 0x80u         /**< READ CAPACITY(16) byte 14 */
#define SCSI_RC16_LBPRZ 0x40u         /**< READ CAPACITY(16) byte 14 */
#define SCSI_RC16_LEN 32u

/* ---- CDB bits ---------------------------------------------------------- */

#define SCSI_CDB_FUA 0x08u       /**< READ/WRITE(10/12/16) byte 1 */
#define SCSI_CDB_PROTECT 0xE0u   /**< RD/WR/VRPROTECT, byte 1 bits 7-5 */
#define SCSI_CDB_BYTCHK 0x06u    /**< VERIFY byte 1 bits 2-1 */
#define SCSI_WS_UNMAP 0x08u      /**< WRITE SAME byte 1 */
#define SCSI_WS_ANCHOR 0x10u     /**< WRITE SAME byte 1 */
#define SCSI_WS_NDOB 0x01u       /**< WRITE SAME(16) byte 1 */
#define SCSI_UNMAP_ANCHOR 0x01u  /**< UNMAP byte 1 */
#define SCSI_CONTROL_NACA 0x04u  /**< control byte (last CDB byte) */

/* ---- UNMAP parameter list ---------------------------------------------- */

#define SCSI_UNMAP_HEADER_LEN 8u
#define SCSI_UNMAP_DESC_LEN 16u

/* ---- mode pages --------------------------------------------------------- */

#define SCSI_MODE_PAGE_CACHING 0x08u
#define SCSI_MODE_PAGE_CONTROL 0x0Au
#define SCSI_MODE_PAGE_ALL 0x3Fu
#define SCSI_MODE_CACHING_LEN 20u     /**< page 0x08 incl. 2-byte header */
#define SCSI_MODE_CONTROL_LEN 12u     /**< page 0x0A incl. 2-byte header */
#define SCSI_MODE_CACHING_WCE 0x04u   /**< caching page byte 2 */
#define SCSI_MODE_DEVSPEC_WP 0x80u    /**< header device-specific: WP */
#define SCSI_MODE_DEVSPEC_DPOFUA 0x10u /**< header: DPO and FUA supported */
#define SCSI_MODE_DBD 0x08u           /**< MODE SENSE byte 1 */
#define SCSI_MODE_LLBAA 0x10u         /**< MODE SENSE(10) byte 1 */
#define SCSI_MODE_PF 0x10u            /**< MODE SELECT byte 1 */
#define SCSI_MODE_SP 0x01u            /**< MODE SELECT byte 1 */
#define SCSI_MODE_PC_CURRENT 0u
#define SCSI_MODE_PC_CHANGEABLE 1u
#define SCSI_MODE_PC_DEFAULT 2u
#define SCSI_MODE_PC_SAVED 3u

#endif /* OPENVMBUS_WIRE_SCSI_H */
