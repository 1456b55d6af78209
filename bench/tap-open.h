/* SPDX-License-Identifier: MIT */
/*
 * The TAPs of the TCP floor benches (bench/tapfwd.c, bench/tapring.c):
 * queues of a TAP with a virtio-net header and the offloads our guests'
 * TAPs have (checksum, TSO v4 and v6), opened inside a named network
 * namespace.  Static, for the programs that include it.
 */
#ifndef OPENVMBUS_BENCH_TAP_OPEN_H
#define OPENVMBUS_BENCH_TAP_OPEN_H

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* One queue of TAP @name (a queue of several if @multi); its fd or -errno. */
static inline int bench_tap_open(const char *name, bool multi, bool nonblock)
{
	int hdr = (int)sizeof(struct virtio_net_hdr);
	unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(multi ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) < 0 ||
	    (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/*
 * Open @queues queues of TAP @spec ("IF@NETNS") into @fds, inside the
 * namespace NETNS: the calling thread moves there for good (the TAP is
 * created in the namespace of the thread that opens it), so call it
 * while the process is single-threaded.  0 or -errno.
 */
static inline int bench_tap_open_in(const char *spec, unsigned int queues,
				    int *fds, bool nonblock)
{
	char name[IFNAMSIZ], path[300];
	const char *at = strchr(spec, '@');
	int ns, rc;

	if (!at || at == spec || (size_t)(at - spec) >= IFNAMSIZ ||
	    !at[1] || strchr(at + 1, '/'))
		return -EINVAL;
	memcpy(name, spec, (size_t)(at - spec));
	name[at - spec] = 0;
	snprintf(path, sizeof(path), "/run/netns/%s", at + 1);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	rc = setns(ns, CLONE_NEWNET) ? -errno : 0;
	close(ns);
	for (unsigned int q = 0; !rc && q < queues; q++) {
		fds[q] = bench_tap_open(name, queues > 1, nonblock);
		if (fds[q] < 0)
			rc = fds[q];
	}
	return rc;
}

#endif
