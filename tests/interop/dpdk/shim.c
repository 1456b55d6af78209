// SPDX-License-Identifier: MIT
/*
 * An LD_PRELOAD library that plays the guest kernel's part for DPDK's
 * netvsc PMD (Debian 12's DPDK 22.11), so that an unmodified dpdk-testpmd
 * runs as a guest of `vmbus host`.  It is a VMBus client over our
 * partition link (libopenvmbus, linked in privately) and does what Linux's
 * uio_hv_generic does: at bind, a 31 MiB receive and a 16 MiB send buffer
 * GPADL, before the channel is opened; the primary opened with 2 MiB +
 * 2 MiB rings and its inbound ring masked; every sub-channel opened as it
 * is offered.  DPDK finds all of it through a private sysfs tree
 * (sysfs.c) and maps it through /dev/uioN (interpose.c).  DPDK's EAL
 * memory (--no-huge, --iova-mode=va) is a memfd we register with the host
 * as guest RAM at GPA = its VA, because the PMD hands the host IOVAs.
 *
 * Set-up runs in a constructor: DPDK scans the bus inside rte_eal_init,
 * and a preloaded library has no other hook before that.
 *
 * Environment: OVMB_LINK (host socket; unset = the shim does nothing),
 * OVMB_SHIM_ROOT (an empty directory for the tree), OVMB_EAL_MEM_MB (or
 * testpmd's -m), OVMB_NAME (partition name), OVMB_TIMEOUT_MS (every wait
 * on the host, default 10000), OVMB_SHIM_RAM_MB (rings and buffers,
 * default 256), OVMB_EAL_VA (where EAL's memory goes, below 16 TiB;
 * default 10 TiB), OVMB_STDOUT_LINEBUF=1 (line-buffer DPDK's stdout, for
 * harnesses that drive testpmd -i through a pipe).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvmbus/client.h"
#include "openvmbus/guid.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/log.h"
#include "openvmbus/vsc.h"
#include "tests/interop/dpdk/shim.h"

#define SHIM_RAM_GPA (1ull << 32)

struct shim shim = { .eal_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

void shim_say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ovmb-dpdk-shim: %s\n", line);
}

_Noreturn void shim_die(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ovmb-dpdk-shim: error: %s\n", line);
	_exit(2);
}

static unsigned long env_num(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	n = strtoul(v, &end, 0);
	if (*end)
		shim_die("%s=%s is not a number", name, v);
	return n;
}

/* testpmd's -m (MiB), from /proc/self/cmdline; 0 if absent. */
static unsigned long cmdline_mem_mb(void)
{
	char buf[8192];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	unsigned long mb = 0;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-m") && a + 3 < buf + n)
			mb = strtoul(a + 3, NULL, 0);
		else if (!strncmp(a, "-m", 2) && a[2] >= '0' && a[2] <= '9')
			mb = strtoul(a + 2, NULL, 0);
	}
	return mb;
}

/*
 * EAL's memory, made before EAL asks for it: a memfd of exactly -m bytes
 * and a PROT_NONE reservation of the same size.  interpose.c hands EAL
 * this memfd and this VA.  The VA must lie below 16 TiB: DPDK 22.11's
 * netvsc PMD keeps page frame numbers of transmitted mbufs in 32 bits
 * (hn_fill_sg), so a GPA at or above 2^44 reaches the host truncated.
 * (On Hyper-V guest RAM never lies that high; our host takes any GPA.)
 */
static void eal_memory(void)
{
	unsigned long mb = env_num("OVMB_EAL_MEM_MB", 0);
	struct stat st;

	if (!mb)
		mb = cmdline_mem_mb();
	if (!mb)
		shim_die("the EAL memory size is unknown: pass -m N to DPDK "
			 "(with --no-huge) or set OVMB_EAL_MEM_MB");
	shim.eal_len = (size_t)mb << 20;
	shim.eal_fd = shim_real_memfd_create("ovmb-eal", MFD_CLOEXEC);
	if (shim.eal_fd < 0 || ftruncate(shim.eal_fd, (off_t)shim.eal_len) ||
	    fstat(shim.eal_fd, &st))
		shim_die("EAL memfd of %lu MiB: %s", mb, strerror(errno));
	shim.eal_dev = st.st_dev;
	shim.eal_ino = st.st_ino;
	uintptr_t va = env_num("OVMB_EAL_VA", 0x0a0000000000ul);

	for (int i = 0; i < 16; i++, va += 1ul << 36) {
		shim.eal_va = shim_real_mmap((void *)va, shim.eal_len,
					     PROT_NONE,
					     MAP_PRIVATE | MAP_ANONYMOUS |
						     MAP_NORESERVE |
						     MAP_FIXED_NOREPLACE,
					     -1, 0);
		if (shim.eal_va != MAP_FAILED)
			break;
	}
	if (shim.eal_va == MAP_FAILED)
		shim_die("reserving %lu MiB for EAL below 16 TiB: %s", mb,
			 strerror(errno));
	if ((uintptr_t)shim.eal_va + shim.eal_len > (1ul << 44))
		shim_die("EAL memory at %p would reach 16 TiB, where DPDK "
			 "22.11's netvsc truncates page numbers",
			 (void *)shim.eal_va);
	shim.eal_state = SHIM_EAL_RESERVED;
}

/* ---- the driver: uio_hv_generic's bind, and sub-channels on offer ---- */

static int shim_probe(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	const struct vmbus_channel_offer_channel *o = ovb_vsc_dev_offer(dev);
	struct shim_nic *nic;

	if (!(o->monitor_allocated & 1)) {
		/* DPDK can signal only through the monitor page. */
		shim_say("NIC relid %u offered without a monitor id: DPDK "
			 "could not signal it; skipped", o->child_relid);
		return -ENODEV;
	}
	if (shim.nnics == SHIM_MAX_NICS) {
		shim_say("more than %d NICs; relid %u skipped", SHIM_MAX_NICS,
			 o->child_relid);
		return -ENOSPC;
	}
	nic = &shim.nic[shim.nnics];
	nic->dev = dev;
	nic->uio = shim.nnics++;
	ovb_vsc_dev_set_ctx(dev, nic);
	return 0;
}

static void shim_remove(struct ovb_vsc_dev *dev, void *drv_ctx)
{
	/* Rescind or unload: DPDK keeps its maps; the host frees its side. */
	ovb_vsc_close(dev);
}

/* hv_uio_new_channel: open the sub-channel at once, then its ring file. */
static void shim_subchannel(struct ovb_vsc_dev *primary,
			    struct ovb_vsc_dev *sub, void *drv_ctx)
{
	struct shim_nic *nic = ovb_vsc_dev_get_ctx(primary);
	void *ring;
	int rc;

	if (!nic)
		return;
	rc = ovb_vsc_open_user(sub, SHIM_RING_HALF - 4096,
			       SHIM_RING_HALF - 4096, &ring);
	if (rc) {
		shim_say("sub-channel relid %u: open failed: %s",
			 ovb_vsc_dev_offer(sub)->child_relid, strerror(-rc));
		return;
	}
	pthread_mutex_lock(&shim.lock);
	if (nic->nchans < SHIM_MAX_CHANS)
		nic->chan_dev[nic->nchans++] = sub;
	pthread_mutex_unlock(&shim.lock);
	rc = shim_sysfs_add_chan(nic, sub, ring);
	if (rc)
		shim_say("sub-channel relid %u: sysfs: %s",
			 ovb_vsc_dev_offer(sub)->child_relid, strerror(-rc));
}

static const struct ovb_vsc_driver shim_driver = {
	.name = "uio_hv_generic",
	/* f8615163-df3e-46c5-913f-f2d2f965ed0e, the synthetic NIC */
	.class_id = { .b = { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
			     0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	.probe = shim_probe,
	.remove = shim_remove,
	.subchannel = shim_subchannel,
};

/* hv_uio_probe + the first open of /dev/uioN (done eagerly). */
static int bind_nic(struct shim_nic *nic)
{
	struct ovb_gmem *gm = ovb_client_gmem(shim.cl);
	uint64_t gpa;
	void *ring, *int_page, *mon;
	int rc;

	ovb_guid_format(&ovb_vsc_dev_offer(nic->dev)->if_instance, nic->guid);
	if ((rc = ovb_client_alloc(shim.cl, SHIM_RECV_BUF,
				   &nic->map_va[SHIM_MAP_RECV], &gpa)) ||
	    (rc = ovb_vsc_gpadl_create(nic->dev, nic->map_va[SHIM_MAP_RECV],
				       SHIM_RECV_BUF, &nic->rx_gpadl)))
		return rc;
	if ((rc = ovb_client_alloc(shim.cl, SHIM_SEND_BUF,
				   &nic->map_va[SHIM_MAP_SEND], &gpa)) ||
	    (rc = ovb_vsc_gpadl_create(nic->dev, nic->map_va[SHIM_MAP_SEND],
				       SHIM_SEND_BUF, &nic->tx_gpadl)))
		return rc;
	rc = ovb_vsc_open_user(nic->dev, SHIM_RING_HALF - 4096,
			       SHIM_RING_HALF - 4096, &ring);
	if (rc)
		return rc;
	ovb_client_sync_pages(shim.cl, &int_page, &mon);
	nic->map_va[SHIM_MAP_RINGS] = ring;
	nic->map_len[SHIM_MAP_RINGS] = 2 * SHIM_RING_HALF;
	nic->map_va[SHIM_MAP_INT_PAGE] = int_page;
	nic->map_len[SHIM_MAP_INT_PAGE] = 4096;
	nic->map_va[SHIM_MAP_MON_PAGE] = (uint8_t *)mon + 4096;
	nic->map_len[SHIM_MAP_MON_PAGE] = 4096;
	nic->map_len[SHIM_MAP_RECV] = SHIM_RECV_BUF;
	nic->map_len[SHIM_MAP_SEND] = SHIM_SEND_BUF;
	for (int i = 0; i < SHIM_NMAPS; i++)
		if (!nic->map_va[i] ||
		    ovb_gmem_gpa(gm, nic->map_va[i]) == UINT64_MAX)
			return -EFAULT;
	pthread_mutex_lock(&shim.lock);
	nic->chan_dev[nic->nchans++] = nic->dev;
	pthread_mutex_unlock(&shim.lock);
	rc = shim_sysfs_add_nic(nic);
	if (!rc)
		rc = shim_sysfs_add_chan(nic, nic->dev, ring);
	return rc;
}

/*
 * The host going away is the partition's death: DPDK's NVSP waits have no
 * timeout and would poll forever, so end the process with a reason.
 */
static void *shim_watchdog(void *arg)
{
	for (;;) {
		usleep(100 * 1000);
		if (ovb_client_host_gone(shim.cl))
			shim_die("the host closed the partition link; DPDK "
				 "cannot go on without it");
	}
	return NULL;
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *path = getenv("OVMB_LINK");
	const char *root = getenv("OVMB_SHIM_ROOT");
	const char *name = getenv("OVMB_NAME");
	int timeout = (int)env_num("OVMB_TIMEOUT_MS", 10000);
	struct ovb_link_guest_params lp = { 0 };
	int rc;

	if (!path || !*path)
		return;
	/* One partition per process: children (a shell, timeout) stay out. */
	path = strdup(path);
	unsetenv("OVMB_LINK");
	if (!root || !*root)
		shim_die("OVMB_SHIM_ROOT (an empty directory) is not set");
	if (strlen(root) >= sizeof(shim.root) - 64)
		shim_die("OVMB_SHIM_ROOT is too long");
	strcpy(shim.root, root);
	/* Test harnesses read testpmd's answers as they come, from a file. */
	if (env_num("OVMB_STDOUT_LINEBUF", 0))
		setvbuf(stdout, NULL, _IOLBF, 0);
	ovb_log_set_level(OVB_LOG_WARN);
	if ((rc = shim_sysfs_init()) != 0)
		shim_die("private tree under %s: %s", root, strerror(-rc));
	eal_memory();
	lp.path = path;
	lp.name = name && *name ? name : "dpdk";
	lp.mem_gpa = SHIM_RAM_GPA;
	lp.mem_size = env_num("OVMB_SHIM_RAM_MB", 256) << 20;
	lp.no_eventfd = true; /* DPDK signals through the monitor page */
	lp.extra_fd = shim.eal_fd;
	lp.extra_gpa = (uint64_t)(uintptr_t)shim.eal_va;
	lp.extra_size = shim.eal_len;
	rc = ovb_link_guest_connect(&lp, &shim.link);
	if (rc)
		shim_die("connecting to the host at %s: %s", path,
			 strerror(-rc));
	shim.cl = ovb_link_guest_client(shim.link);
	ovb_client_set_timeout(shim.cl, timeout);
	if ((rc = ovb_client_register_driver(shim.cl, &shim_driver, NULL)))
		shim_die("driver: %s", strerror(-rc));
	rc = ovb_client_connect(shim.cl, 0, timeout);
	if (rc)
		shim_die("VMBus connect to %s: %s", path, strerror(-rc));
	for (unsigned int i = 0; i < shim.nnics; i++) {
		rc = bind_nic(&shim.nic[i]);
		if (rc)
			shim_die("NIC %s (relid %u): bind: %s",
				 shim.nic[i].guid,
				 ovb_vsc_dev_offer(shim.nic[i].dev)
					 ->child_relid,
				 strerror(-rc));
	}
	if (!shim.nnics)
		shim_say("the host offered no NIC");
	shim.active = true;
	pthread_t wd;

	if (pthread_create(&wd, NULL, shim_watchdog, NULL) ||
	    pthread_detach(wd))
		shim_die("watchdog thread: %s", strerror(errno));
	shim_say("partition %s: VMBus %#x, %u NIC(s), EAL memory %zu MiB at "
		 "GPA %p", lp.name, ovb_client_version(shim.cl), shim.nnics,
		 shim.eal_len >> 20, (void *)shim.eal_va);
}
