// SPDX-License-Identifier: MIT
/*
 * Unit tests: the TAP backend against the real kernel.  Creates TAP devices,
 * configures them, and moves frames both ways between the TAP fd and an
 * AF_PACKET socket on the same interface, checking that checksum, TSO and
 * VLAN metadata cross the virtio-net header intact.  Needs root and
 * /dev/net/tun; otherwise it prints why and exits 77 (skip).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/offload_priv.h"
#include "openvmbus/net_tap.h"
#include "tests/lib/net-frame-fx.h"

#define ETH_P_TEST 0x88b5

struct ctx {
	struct ovb_net_tap *tap;
	int sock;
	int ifindex;
};

static void quiet_ipv6(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			fprintf(stderr, "cannot disable IPv6 on %s\n", name);
		close(fd);
	}
}

/* A packet socket bound to @proto on the TAP; @vnet adds virtio headers. */
static int packet_socket(int ifindex, uint16_t proto, int vnet)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(proto),
				   .sll_ifindex = ifindex };
	int one = 1, s = socket(AF_PACKET, SOCK_RAW, htons(proto));

	assert_true(s >= 0);
	assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one,
				    sizeof(one)), 0);
	if (vnet)
		assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR,
					    &one, sizeof(one)), 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	int rc;

	rc = ovb_net_tap_open("ovbt%d", 1, &c->tap);
	if (rc)
		return rc;
	quiet_ipv6(ovb_net_tap_name(c->tap));
	if (ovb_net_tap_set_up(c->tap, true))
		return -1;
	c->ifindex = (int)if_nametoindex(ovb_net_tap_name(c->tap));
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->sock > 0)
		close(c->sock);
	ovb_net_tap_close(c->tap);
	free(c);
	return 0;
}

/*
 * Receive the next incoming frame (not our own sends) of ethertype @type,
 * or of any type if @type is 0.  Returns the length and the VLAN tag the
 * kernel stripped (-1 if none).
 */
static ssize_t sock_recv_type(int s, void *buf, size_t cap, uint16_t type,
			      int *vlan)
{
	char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	struct sockaddr_ll from;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	ssize_t n;

	for (;;) {
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(s, &mh, 0);
		assert_true(n > 0);
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (!type || ntohs(from.sll_protocol) == type)
			break;
	}
	*vlan = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		struct tpacket_auxdata aux;

		if (cm->cmsg_level != SOL_PACKET ||
		    cm->cmsg_type != PACKET_AUXDATA)
			continue;
		memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
		if (aux.tp_status & TP_STATUS_VLAN_VALID)
			*vlan = aux.tp_vlan_tci;
	}
	return n;
}

static ssize_t sock_recv(int s, void *buf, size_t cap, int *vlan)
{
	return sock_recv_type(s, buf, cap, 0, vlan);
}

/* Read frames from the TAP until one has ethertype @type. */
static ssize_t tap_recv(struct ovb_net_tap *tap, void *buf, size_t cap,
			uint16_t type, struct ovb_net_meta *m)
{
	struct pollfd pfd = { .fd = ovb_net_tap_fd(tap, 0), .events = POLLIN };
	uint8_t *b = buf;
	ssize_t n;

	for (;;) {
		n = ovb_net_tap_read(tap, 0, buf, cap, m);
		if (n == -EAGAIN) {
			assert_int_equal(poll(&pfd, 1, 2000), 1);
			continue;
		}
		if (n < 0 || (n >= 14 && (b[12] << 8 | b[13]) == type))
			return n;
	}
}

static size_t test_frame(uint8_t *f, size_t len)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x42", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
	return len;
}

/* Ethernet + IPv4 + TCP to 10.99.0.2:5201, @plen payload bytes. */
static size_t tcp_frame(uint8_t *f, size_t plen)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	static const uint8_t a[4] = { 10, 99, 0, 1 }, b[4] = { 10, 99, 0, 2 };
	const struct nff_l4 h = { .dst = bcast, .src = src, .saddr = a,
				  .daddr = b, .ip_len = true, .ttl = 64,
				  .proto = 6, .sport = 0x9c00, .dport = 5201,
				  .flags = 0x18, .payload = plen, .mul = 1 };

	return nff_ip4(f, &h);
}

static void test_configure(void **state)
{
	struct ctx *c = *state;
	static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc };
	struct ifreq ifr = { 0 };
	uint8_t got[6];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(strncmp(ovb_net_tap_name(c->tap), "ovbt", 4), 0);
	assert_int_equal(ovb_net_tap_queues(c->tap), 1);
	assert_int_equal(ovb_net_tap_set_mtu(c->tap, 1400), 0);
	assert_int_equal(ovb_net_tap_set_mac(c->tap, mac), 0);
	assert_int_equal(ovb_net_tap_get_mac(c->tap, got), 0);
	assert_memory_equal(got, mac, 6);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
		 ovb_net_tap_name(c->tap));
	assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1400);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	assert_int_equal(ovb_net_tap_set_up(c->tap, false), 0);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	assert_false(ifr.ifr_flags & IFF_UP);
	close(s);
	assert_int_equal(ovb_net_tap_set_mtu(c->tap, 10), -EINVAL);
	assert_int_equal(ovb_net_tap_fd(c->tap, 1), -EINVAL);
	assert_int_equal(ovb_net_tap_set_offload(c->tap,
						 OVB_NET_TAP_OFFLOAD_TSO4),
			 -EINVAL);
}

static void test_write_then_socket(void **state)
{
	struct ctx *c = *state;
	uint8_t f[200], r[2048];
	int vlan;

	c->sock = packet_socket(c->ifindex, ETH_P_TEST, 0);
	assert_int_equal(ovb_net_tap_write(c->tap, 0, f, test_frame(f, 200),
					   NULL), 200);
	assert_int_equal(sock_recv(c->sock, r, sizeof(r), &vlan), 200);
	assert_memory_equal(r, f, 200);
	assert_int_equal(vlan, -1);

	/*
	 * An out-of-band tag goes into the frame; the kernel strips it into
	 * skb metadata, which only ETH_P_ALL taps still see.
	 */
	struct ovb_net_meta m = { .flags = OVB_NET_META_VLAN,
				  .vlan_tci = 0x6005 };
	close(c->sock);
	c->sock = packet_socket(c->ifindex, ETH_P_ALL, 0);
	assert_int_equal(ovb_net_tap_write(c->tap, 0, f, 200, &m), 204);
	assert_int_equal(sock_recv_type(c->sock, r, sizeof(r), ETH_P_TEST,
					&vlan), 200);
	assert_int_equal(vlan, 0x6005);
	assert_memory_equal(r + 12, f + 12, 188);
}

static void test_socket_then_read(void **state)
{
	struct ctx *c = *state;
	uint8_t f[1000], r[2048];
	struct ovb_net_meta m;

	c->sock = packet_socket(c->ifindex, ETH_P_TEST, 0);
	test_frame(f, sizeof(f));
	assert_int_equal(send(c->sock, f, sizeof(f), 0), sizeof(f));
	assert_int_equal(tap_recv(c->tap, r, sizeof(r), ETH_P_TEST, &m),
			 sizeof(f));
	assert_memory_equal(r, f, sizeof(f));
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.gso_type, OVB_NET_GSO_NONE);
	/* Too small a buffer loses the frame and says so. */
	assert_int_equal(send(c->sock, f, sizeof(f), 0), sizeof(f));
	assert_int_equal(tap_recv(c->tap, r, 500, ETH_P_TEST, &m), -EMSGSIZE);
}

static void test_tso_write(void **state)
{
	struct ctx *c = *state;
	static uint8_t f[4000], r[8000];
	struct virtio_net_hdr vh;
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL | OVB_NET_META_IP4_CSUM,
		.csum_start = 34, .csum_offset = 16,
		.gso_type = OVB_NET_GSO_TCPV4, .gso_size = 1000, .hdr_len = 54,
	};
	size_t n = tcp_frame(f, 3000);
	int vlan;

	c->sock = packet_socket(c->ifindex, ETH_P_IP, 1);
	assert_int_equal(ovb_net_tap_write(c->tap, 0, f, n, &m), n);
	assert_int_equal(sock_recv(c->sock, r, sizeof(r), &vlan),
			 sizeof(vh) + n);
	memcpy(&vh, r, sizeof(vh));
	assert_int_equal(vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN,
			 VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, 1000);
	assert_true(vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.csum_start, 34);
	assert_int_equal(vh.csum_offset, 16);
	assert_memory_equal(r + sizeof(vh) + 54, f + 54, 3000);
}

/*
 * A TSO frame in pieces (headers apart, payload in uneven pieces, as
 * netvsc hands on a coalesced frame) goes in with one writev and comes
 * out whole; with an out-of-band tag too; a pending IPv4 header checksum
 * without TSO is filled in.
 */
static void test_tso_writev(void **state)
{
	struct ctx *c = *state;
	static uint8_t f[4000], r[8000];
	struct iovec iov[8];
	struct virtio_net_hdr vh;
	struct ovb_net_meta m = {
		.flags = OVB_NET_META_CSUM_PARTIAL,
		.csum_start = 34, .csum_offset = 16,
		.gso_type = OVB_NET_GSO_TCPV4, .gso_size = 1000, .hdr_len = 54,
	};
	size_t n = tcp_frame(f, 3000), cuts[] = { 0, 54, 55, 1055, 1056,
						  2900, n };
	unsigned int ni = 0;
	int vlan;

	for (; ni + 1 < sizeof(cuts) / sizeof(cuts[0]); ni++)
		iov[ni] = (struct iovec){ f + cuts[ni], cuts[ni + 1] - cuts[ni] };
	c->sock = packet_socket(c->ifindex, ETH_P_ALL, 1);
	assert_int_equal(ovb_net_tap_writev(c->tap, 0, iov, ni, &m), n);
	assert_int_equal(sock_recv_type(c->sock, r, sizeof(r), ETH_P_IP,
					&vlan), sizeof(vh) + n);
	memcpy(&vh, r, sizeof(vh));
	assert_int_equal(vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN,
			 VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, 1000);
	assert_int_equal(vh.csum_start, 34);
	assert_memory_equal(r + sizeof(vh), f, n);
	assert_int_equal(vlan, -1);

	/* Tagged: the tag goes in between the MAC addresses and the rest. */
	m.flags |= OVB_NET_META_VLAN;
	m.vlan_tci = 0x4007;
	assert_int_equal(ovb_net_tap_writev(c->tap, 0, iov, ni, &m), n + 4);
	assert_int_equal(sock_recv_type(c->sock, r, sizeof(r), ETH_P_IP,
					&vlan), sizeof(vh) + n);
	assert_int_equal(vlan, 0x4007);
	assert_memory_equal(r + sizeof(vh), f, n);

	/* Plain, IPv4 header checksum pending: joined and filled in. */
	struct ovb_net_meta ip = { .flags = OVB_NET_META_IP4_CSUM };

	n = tcp_frame(f, 500);
	iov[0] = (struct iovec){ f, 20 };
	iov[1] = (struct iovec){ f + 20, n - 20 };
	f[24] = 0x12; /* any checksum: it is replaced */
	assert_int_equal(ovb_net_tap_writev(c->tap, 0, iov, 2, &ip), n);
	assert_int_equal(sock_recv_type(c->sock, r, sizeof(r), ETH_P_IP,
					&vlan), sizeof(vh) + n);
	assert_memory_equal(r + sizeof(vh), f, 24);
	assert_memory_equal(r + sizeof(vh) + 26, f + 26, n - 26);
	assert_int_equal(ovb_offload_csum_fold(ovb_offload_csum_add(
				 0, r + sizeof(vh) + 14, 20)), 0);
	assert_int_equal(ovb_net_tap_writev(c->tap, 0, iov, 0, NULL), -EINVAL);
}

static void test_offload_read(void **state)
{
	struct ctx *c = *state;
	static uint8_t buf[4000], r[OVB_NET_TAP_MAX_FRAME];
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1200,
		.csum_start = 34, .csum_offset = 16,
	};
	struct ovb_net_meta m;
	size_t n;

	assert_int_equal(ovb_net_tap_set_offload(c->tap,
						 OVB_NET_TAP_OFFLOAD_CSUM |
						 OVB_NET_TAP_OFFLOAD_TSO4 |
						 OVB_NET_TAP_OFFLOAD_TSO6), 0);
	c->sock = packet_socket(c->ifindex, ETH_P_IP, 1);
	memcpy(buf, &vh, sizeof(vh));
	n = tcp_frame(buf + sizeof(vh), 3000);
	assert_int_equal(send(c->sock, buf, sizeof(vh) + n, 0),
			 sizeof(vh) + n);
	assert_int_equal(tap_recv(c->tap, r, sizeof(r), 0x0800, &m), n);
	assert_int_equal(m.gso_type, OVB_NET_GSO_TCPV4);
	assert_int_equal(m.gso_size, 1200);
	assert_true(m.flags & OVB_NET_META_CSUM_PARTIAL);
	assert_int_equal(m.csum_start, 34);
	assert_int_equal(m.csum_offset, 16);
	assert_memory_equal(r + 54, buf + sizeof(vh) + 54, 3000);
}

static void test_multiqueue(void **state)
{
	struct ovb_net_tap *tap;
	uint8_t f[100], r[200];
	int s, vlan;

	assert_int_equal(ovb_net_tap_open("ovbq%d", 2, &tap), 0);
	assert_int_equal(ovb_net_tap_queues(tap), 2);
	assert_int_not_equal(ovb_net_tap_fd(tap, 0), ovb_net_tap_fd(tap, 1));
	quiet_ipv6(ovb_net_tap_name(tap));
	assert_int_equal(ovb_net_tap_set_up(tap, true), 0);
	s = packet_socket((int)if_nametoindex(ovb_net_tap_name(tap)),
			  ETH_P_TEST, 0);
	assert_int_equal(ovb_net_tap_write(tap, 1, f, test_frame(f, 100),
					   NULL), 100);
	assert_int_equal(sock_recv(s, r, sizeof(r), &vlan), 100);
	assert_memory_equal(r, f, 100);
	close(s);
	ovb_net_tap_close(tap);
	assert_int_equal(ovb_net_tap_open("x", 0, &tap), -EINVAL);
	assert_int_equal(ovb_net_tap_open("x", OVB_NET_TAP_MAX_QUEUES + 1,
					  &tap), -EINVAL);
	assert_int_equal(ovb_net_tap_open("a-name-far-too-long", 1, &tap),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_configure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_then_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_socket_then_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tso_writev, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tso_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_offload_read, setup,
						teardown),
		cmocka_unit_test(test_multiqueue),
	};
	struct ovb_net_tap *probe;
	int rc;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/net/tun is missing or not accessible\n");
		return 77;
	}
	if (geteuid() != 0) {
		printf("SKIP: creating TAP devices needs root\n");
		return 77;
	}
	rc = ovb_net_tap_open("ovbt%d", 1, &probe);
	if (rc) {
		printf("SKIP: cannot create a TAP device: %s\n", strerror(-rc));
		return 77;
	}
	ovb_net_tap_close(probe);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
