// SPDX-License-Identifier: MIT
/*
 * Frame-format adaptations for TAP devices: moving an out-of-band 802.1Q
 * tag into the frame, and translating between Linux's struct
 * virtio_net_hdr (linux/virtio_net.h) and struct ovb_net_meta.  Layer:
 * core.  The virtio-net header is used native-endian, which on our
 * little-endian hosts is also the virtio 1.0 layout.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "openvmbus/offload.h"

#define ETH_HDR_LEN 14u
#define ETHERTYPE_VLAN 0x8100u

static void st16be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

ssize_t ovb_offload_vlan_insert(const void *frame, size_t len, uint16_t tci,
				void *out, size_t cap)
{
	uint8_t *o = out;

	if (!frame || len < ETH_HDR_LEN)
		return -EBADMSG;
	if (!out || cap < len + 4)
		return -EMSGSIZE;
	memmove(o + 16, (const uint8_t *)frame + 12, len - 12);
	memmove(o, frame, 12);
	st16be(o + 12, ETHERTYPE_VLAN);
	st16be(o + 14, tci);
	return (ssize_t)(len + 4);
}

int ovb_offload_from_virtio(const struct virtio_net_hdr *vh,
			    struct ovb_net_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		meta->flags |= OVB_NET_META_CSUM_PARTIAL;
		meta->csum_start = vh->csum_start;
		meta->csum_offset = vh->csum_offset;
	}
	if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		meta->flags |= OVB_NET_META_CSUM_VALID;
	switch (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		meta->gso_type = OVB_NET_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		meta->gso_type = OVB_NET_GSO_TCPV6;
		break;
	default:
		return -EOPNOTSUPP;
	}
	meta->gso_size = vh->gso_size;
	meta->hdr_len = vh->hdr_len;
	return 0;
}

void ovb_offload_to_virtio(const struct ovb_net_meta *meta,
			   struct virtio_net_hdr *vh)
{
	memset(vh, 0, sizeof(*vh));
	if (meta->flags & OVB_NET_META_CSUM_PARTIAL) {
		vh->flags |= VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->csum_start = meta->csum_start;
		vh->csum_offset = meta->csum_offset;
	} else if (meta->flags & OVB_NET_META_CSUM_VALID) {
		vh->flags |= VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (meta->gso_type == OVB_NET_GSO_TCPV4)
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	else if (meta->gso_type == OVB_NET_GSO_TCPV6)
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		vh->gso_size = meta->gso_size;
		vh->hdr_len = meta->hdr_len;
	}
}
