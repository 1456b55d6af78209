// SPDX-License-Identifier: MIT
/*
 * TAP backend: opens a (multi-queue) TAP with a virtio-net header on every
 * frame, configures it through the usual interface ioctls, and maps the
 * virtio-net header to struct ovb_net_meta on read and write.  Layer:
 * backends.  Interfaces: linux/if_tun.h, linux/virtio_net.h, netdevice(7).
 *
 * The virtio-net header is the 10-byte legacy struct virtio_net_hdr
 * (TUNSETVNETHDRSZ), native-endian, which on our little-endian hosts is
 * also the virtio 1.0 layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "openvmbus/log.h"
#include "openvmbus/net_tap.h"

struct ovb_net_tap {
	char name[IFNAMSIZ];
	unsigned int nqueues;
	int fd[OVB_NET_TAP_MAX_QUEUES];
};

static int tap_attach(const char *name, bool multi, char *out_name)
{
	int hdr_sz = (int)sizeof(struct virtio_net_hdr);
	struct ifreq ifr = { 0 };
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (multi)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr_sz) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
	out_name[IFNAMSIZ - 1] = 0;
	return fd;
}

int ovb_net_tap_open(const char *name, unsigned int queues,
		     struct ovb_net_tap **out)
{
	struct ovb_net_tap *tap;
	int fd;

	if (!name || !out || strlen(name) >= IFNAMSIZ || queues == 0 ||
	    queues > OVB_NET_TAP_MAX_QUEUES)
		return -EINVAL;
	tap = calloc(1, sizeof(*tap));
	if (!tap)
		return -ENOMEM;
	snprintf(tap->name, sizeof(tap->name), "%s", name);
	for (unsigned int q = 0; q < queues; q++) {
		/* Later queues attach to the name the kernel chose. */
		fd = tap_attach(tap->name, queues > 1, tap->name);
		if (fd < 0) {
			ovb_warn("tap %s: queue %u: %s", tap->name, q,
				 strerror(-fd));
			tap->nqueues = q;
			ovb_net_tap_close(tap);
			return fd;
		}
		tap->fd[q] = fd;
	}
	tap->nqueues = queues;
	*out = tap;
	return 0;
}

void ovb_net_tap_close(struct ovb_net_tap *tap)
{
	if (!tap)
		return;
	for (unsigned int q = 0; q < tap->nqueues; q++)
		close(tap->fd[q]);
	free(tap);
}

const char *ovb_net_tap_name(const struct ovb_net_tap *tap)
{
	return tap->name;
}

unsigned int ovb_net_tap_queues(const struct ovb_net_tap *tap)
{
	return tap->nqueues;
}

int ovb_net_tap_fd(const struct ovb_net_tap *tap, unsigned int queue)
{
	if (!tap || queue >= tap->nqueues)
		return -EINVAL;
	return tap->fd[queue];
}

/* Run one interface ioctl on a throwaway socket. */
static int tap_ifreq(const struct ovb_net_tap *tap, unsigned long req,
		     struct ifreq *ifr)
{
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memcpy(ifr->ifr_name, tap->name, IFNAMSIZ);
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int ovb_net_tap_set_mtu(struct ovb_net_tap *tap, unsigned int mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };

	if (!tap || mtu > INT32_MAX)
		return -EINVAL;
	return tap_ifreq(tap, SIOCSIFMTU, &ifr);
}

/*
 * The largest GSO frame the kernel hands us: RTM_NEWLINK with
 * IFLA_GSO_MAX_SIZE (rtnetlink(7); `ip link set DEV gso_max_size N`),
 * in the calling thread's network namespace.
 */
int ovb_net_tap_set_gso_max(struct ovb_net_tap *tap, uint32_t bytes)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		struct rtattr rta;
		uint32_t val;
	} req = { 0 };
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct timeval tv = { .tv_sec = 2 };
	int fd, rc;
	ssize_t n;

	if (!tap || !bytes)
		return -EINVAL;
	req.ifi.ifi_index = (int)if_nametoindex(ovb_net_tap_name(tap));
	if (!req.ifi.ifi_index)
		return -errno;
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.rta.rta_type = IFLA_GSO_MAX_SIZE;
	req.rta.rta_len = RTA_LENGTH(sizeof(req.val));
	req.val = bytes;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	rc = n < 0 ? -errno : -EIO;
	if (n >= (ssize_t)sizeof(ack) && ack.nh.nlmsg_type == NLMSG_ERROR)
		rc = ack.err.error;
	close(fd);
	return rc;
}

int ovb_net_tap_set_mac(struct ovb_net_tap *tap, const uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	if (!tap || !mac)
		return -EINVAL;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return tap_ifreq(tap, SIOCSIFHWADDR, &ifr);
}

int ovb_net_tap_get_mac(struct ovb_net_tap *tap, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int rc;

	if (!tap || !mac)
		return -EINVAL;
	rc = tap_ifreq(tap, SIOCGIFHWADDR, &ifr);
	if (rc == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return rc;
}

int ovb_net_tap_set_up(struct ovb_net_tap *tap, bool up)
{
	struct ifreq ifr = { 0 };
	int rc;

	if (!tap)
		return -EINVAL;
	rc = tap_ifreq(tap, SIOCGIFFLAGS, &ifr);
	if (rc)
		return rc;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return tap_ifreq(tap, SIOCSIFFLAGS, &ifr);
}

int ovb_net_tap_set_offload(struct ovb_net_tap *tap, uint32_t flags)
{
	unsigned int tun = 0;

	if (!tap || (flags & ~(OVB_NET_TAP_OFFLOAD_CSUM |
			       OVB_NET_TAP_OFFLOAD_TSO4 |
			       OVB_NET_TAP_OFFLOAD_TSO6)))
		return -EINVAL;
	if ((flags & (OVB_NET_TAP_OFFLOAD_TSO4 | OVB_NET_TAP_OFFLOAD_TSO6)) &&
	    !(flags & OVB_NET_TAP_OFFLOAD_CSUM))
		return -EINVAL; /* the kernel refuses TSO without CSUM */
	if (flags & OVB_NET_TAP_OFFLOAD_CSUM)
		tun |= TUN_F_CSUM;
	if (flags & OVB_NET_TAP_OFFLOAD_TSO4)
		tun |= TUN_F_TSO4;
	if (flags & OVB_NET_TAP_OFFLOAD_TSO6)
		tun |= TUN_F_TSO6;
	/* The setting is per device; any queue's fd will do. */
	if (ioctl(tap->fd[0], TUNSETOFFLOAD, tun) < 0)
		return -errno;
	return 0;
}

ssize_t ovb_net_tap_read(struct ovb_net_tap *tap, unsigned int queue,
			 void *buf, size_t cap, struct ovb_net_meta *meta)
{
	struct virtio_net_hdr vh;
	uint8_t spill;
	struct iovec iov[3] = { { &vh, sizeof(vh) }, { buf, cap },
				{ &spill, 1 } };
	ssize_t n;
	int rc;

	if (!tap || queue >= tap->nqueues || !buf || !meta)
		return -EINVAL;
	/* tun truncates silently; a byte landing in @spill means it did. */
	n = readv(tap->fd[queue], iov, 3);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(vh))
		return -EIO;
	n -= (ssize_t)sizeof(vh);
	if ((size_t)n > cap)
		return -EMSGSIZE;
	rc = ovb_offload_from_virtio(&vh, meta);
	if (rc)
		return rc;
	return n;
}

/* Copy @frame with the VLAN tag and IPv4 header checksum done. */
static ssize_t tap_fixup(const void *frame, size_t len,
			 const struct ovb_net_meta *meta, uint8_t **out,
			 struct ovb_net_meta *m)
{
	struct ovb_net_meta ip = { .flags = OVB_NET_META_IP4_CSUM };
	uint8_t *b = malloc(len + 4);
	ssize_t n = (ssize_t)len;
	int rc;

	if (!b)
		return -ENOMEM;
	*m = *meta;
	if (meta->flags & OVB_NET_META_VLAN) {
		n = ovb_offload_vlan_insert(frame, len, meta->vlan_tci, b,
					    len + 4);
		if (n < 0)
			goto err;
		m->flags &= ~OVB_NET_META_VLAN;
		if (m->flags & OVB_NET_META_CSUM_PARTIAL)
			m->csum_start += 4;
		if (m->hdr_len)
			m->hdr_len += 4;
	} else {
		memcpy(b, frame, len);
	}
	if ((m->flags & OVB_NET_META_IP4_CSUM) && !m->gso_type) {
		rc = ovb_offload_csum(b, (size_t)n, &ip);
		if (rc) {
			n = rc;
			goto err;
		}
	}
	m->flags &= ~OVB_NET_META_IP4_CSUM; /* GSO redoes it per segment */
	*out = b;
	return n;
err:
	free(b);
	return n;
}

ssize_t ovb_net_tap_write(struct ovb_net_tap *tap, unsigned int queue,
			  const void *frame, size_t len,
			  const struct ovb_net_meta *meta)
{
	static const struct ovb_net_meta plain;
	struct virtio_net_hdr vh;
	struct ovb_net_meta m;
	uint8_t *copy = NULL;
	struct iovec iov[2];
	ssize_t n = (ssize_t)len;

	if (!tap || queue >= tap->nqueues || !frame)
		return -EINVAL;
	if (!meta)
		meta = &plain;
	m = *meta;
	if ((m.flags & OVB_NET_META_VLAN) ||
	    ((m.flags & OVB_NET_META_IP4_CSUM) && !m.gso_type)) {
		n = tap_fixup(frame, len, meta, &copy, &m);
		if (n < 0)
			return n;
		frame = copy;
	}
	ovb_offload_to_virtio(&m, &vh);
	iov[0] = (struct iovec){ &vh, sizeof(vh) };
	iov[1] = (struct iovec){ (void *)frame, (size_t)n };
	n = writev(tap->fd[queue], iov, 2);
	n = n < 0 ? -errno : n - (ssize_t)sizeof(vh);
	free(copy);
	return n;
}

/* A frame in pieces joined into one copy, then written as one. */
static ssize_t tap_write_joined(struct ovb_net_tap *tap, unsigned int queue,
				const struct iovec *iov, unsigned int iovcnt,
				const struct ovb_net_meta *meta)
{
	size_t len = 0, off = 0;
	uint8_t *f;
	ssize_t n;

	for (unsigned int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	f = malloc(len ? len : 1);
	if (!f)
		return -ENOMEM;
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(f + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	n = ovb_net_tap_write(tap, queue, f, len, meta);
	free(f);
	return n;
}

ssize_t ovb_net_tap_writev(struct ovb_net_tap *tap, unsigned int queue,
			   const struct iovec *iov, unsigned int iovcnt,
			   const struct ovb_net_meta *meta)
{
	static const struct ovb_net_meta plain;
	struct iovec v[OVB_NET_TAP_MAX_IOV + 3];
	struct virtio_net_hdr vh;
	struct ovb_net_meta m;
	uint8_t tag[4];
	unsigned int nv = 0, i = 0;
	ssize_t n;

	if (!tap || queue >= tap->nqueues || !iov || !iovcnt ||
	    iovcnt > OVB_NET_TAP_MAX_IOV)
		return -EINVAL;
	m = meta ? *meta : plain;
	if (((m.flags & OVB_NET_META_IP4_CSUM) && !m.gso_type) ||
	    ((m.flags & OVB_NET_META_VLAN) && iov[0].iov_len < 12))
		return tap_write_joined(tap, queue, iov, iovcnt, &m);
	v[nv++] = (struct iovec){ &vh, sizeof(vh) };
	if (m.flags & OVB_NET_META_VLAN) {
		/* MAC addresses, then the tag, then the rest. */
		tag[0] = 0x81;
		tag[1] = 0x00;
		tag[2] = (uint8_t)(m.vlan_tci >> 8);
		tag[3] = (uint8_t)m.vlan_tci;
		v[nv++] = (struct iovec){ iov[0].iov_base, 12 };
		v[nv++] = (struct iovec){ tag, 4 };
		v[nv++] = (struct iovec){ (uint8_t *)iov[0].iov_base + 12,
					  iov[0].iov_len - 12 };
		i = 1;
		m.flags &= ~OVB_NET_META_VLAN;
		if (m.flags & OVB_NET_META_CSUM_PARTIAL)
			m.csum_start += 4;
		if (m.hdr_len)
			m.hdr_len += 4;
	}
	for (; i < iovcnt; i++)
		v[nv++] = iov[i];
	m.flags &= ~OVB_NET_META_IP4_CSUM; /* GSO redoes it per segment */
	ovb_offload_to_virtio(&m, &vh);
	n = writev(tap->fd[queue], v, (int)nv);
	return n < 0 ? -errno : n - (ssize_t)sizeof(vh);
}
