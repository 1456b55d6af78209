/* SPDX-License-Identifier: MIT */
/*
 * GUIDs as VMBus carries them: parse and print the usual string form,
 * compare, make random ones, and name the device classes we know.  Layer:
 * core.  The wire form (struct vmbus_guid) is the Windows mixed-endian
 * layout of docs/wire.md B8: the first three groups of the string little-
 * endian, the last eight bytes as written, so
 * "f8615163-df3e-46c5-913f-f2d2f965ed0e" travels as 63 51 61 f8 3e df c5 46
 * 91 3f f2 d2 f9 65 ed 0e.
 */
#ifndef OPENVMBUS_GUID_H
#define OPENVMBUS_GUID_H

#include <stdbool.h>

#include "api.h"
#include "wire/vmbus.h"

/** Characters of the string form, without the terminating NUL. */
#define OVB_GUID_STRLEN 36

/**
 * Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits in either case,
 * optionally inside braces) into wire order.
 * Returns 0, or -EINVAL if @s is NULL or not exactly that form (@out is
 * then unchanged).
 */
OVB_API
int ovb_guid_parse(const char *s, struct vmbus_guid *out);

/** Print @g in lower-case string form into @out (36 characters + NUL). */
OVB_API
void ovb_guid_format(const struct vmbus_guid *g, char out[37]);

/** True if @a and @b are the same GUID. */
OVB_API
bool ovb_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b);

/**
 * Fill @g with a random version-4 GUID (RFC 4122 variant) from getrandom();
 * may block only while the kernel's entropy pool is uninitialised at boot.
 */
OVB_API
void ovb_guid_random(struct vmbus_guid *g);

/**
 * Short name of a device class GUID: "network", "scsi", "ide", "fc",
 * "vpci", "shutdown", "kvp", "vss", "timesync", "heartbeat", "echo", or
 * "unknown".  The string is static.
 */
OVB_API
const char *ovb_guid_class_name(const struct vmbus_guid *g);

/* Device class GUIDs (offer if_type), docs/wire.md B8. */
OVB_API extern const struct vmbus_guid OVB_GUID_NET;      /**< synthetic NIC */
OVB_API extern const struct vmbus_guid OVB_GUID_SCSI;     /**< synth. SCSI */
OVB_API extern const struct vmbus_guid OVB_GUID_IDE;      /**< IDE accel. */
OVB_API extern const struct vmbus_guid OVB_GUID_FC;       /**< synthetic FC */
OVB_API extern const struct vmbus_guid OVB_GUID_VPCI;     /**< virtual PCI */
OVB_API extern const struct vmbus_guid OVB_GUID_SHUTDOWN; /**< IC: shutdown */
OVB_API extern const struct vmbus_guid OVB_GUID_KVP;      /**< IC: KVP */
OVB_API extern const struct vmbus_guid OVB_GUID_VSS;      /**< IC: VSS */
OVB_API extern const struct vmbus_guid OVB_GUID_TIMESYNC; /**< IC: time */
/** IC: heartbeat. */
OVB_API extern const struct vmbus_guid OVB_GUID_HEARTBEAT;
/** Our own test echo device: 9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19. */
OVB_API extern const struct vmbus_guid OVB_GUID_ECHO;

#endif /* OPENVMBUS_GUID_H */
