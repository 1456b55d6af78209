// SPDX-License-Identifier: MIT
/*
 * The DPDK shim's private sysfs: what Linux's vmbus bus and uio_hv_generic
 * would show under /sys/bus/vmbus/devices/<instance> and /dev/uioN, as
 * plain files under $OVMB_SHIM_ROOT (interpose.c rewrites the paths).
 * Values are printed as the kernel prints them; DPDK 22.11 reads class_id,
 * device_id, id, monitor_id, numa_node, uio/uioN/maps/mapK/{name,size}
 * and channels/<relid>/{subchannel_id,monitor_id,ring}.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvmbus/guid.h"
#include "openvmbus/vsc.h"
#include "tests/interop/dpdk/shim.h"

static int mkdir_p(const char *path)
{
	char p[PATH_MAX];

	if (strlen(path) >= sizeof(p))
		return -ENAMETOOLONG;
	strcpy(p, path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	if (mkdir(p, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Write @fmt to @dir/@name (which must not exist yet). */
__attribute__((format(printf, 3, 4)))
static int put(const char *dir, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX], text[256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

int shim_sysfs_init(void)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int rc;

	snprintf(path, sizeof(path), "%s/sys/bus/vmbus/devices", shim.root);
	if ((rc = mkdir_p(path)) != 0)
		return rc;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			closedir(d);
			shim_say("%s already holds a device tree: give each "
				 "run a fresh OVMB_SHIM_ROOT", path);
			return -EEXIST;
		}
	closedir(d);
	snprintf(path, sizeof(path), "%s/dev", shim.root);
	return mkdir_p(path);
}

int shim_file_register(const char *path, struct shim_nic *nic, void *ring)
{
	struct stat st;
	int rc = 0;

	if (stat(path, &st))
		return -errno;
	pthread_mutex_lock(&shim.lock);
	if (shim.nfiles == SHIM_MAX_FILES)
		rc = -ENOSPC;
	else
		shim.files[shim.nfiles++] = (struct shim_file){
			.dev = st.st_dev, .ino = st.st_ino, .nic = nic,
			.ring = ring };
	pthread_mutex_unlock(&shim.lock);
	return rc;
}

static const char *const map_names[SHIM_NMAPS] = {
	"txrx_rings", "int_page", "monitor_page", "recv", "send",
};

int shim_sysfs_add_nic(struct shim_nic *nic)
{
	const struct vmbus_channel_offer_channel *o =
		ovb_vsc_dev_offer(nic->dev);
	char uio[PATH_MAX], path[PATH_MAX + 32], cls[37];
	int rc, fd;

	ovb_guid_format(&o->if_type, cls);
	snprintf(nic->dir, sizeof(nic->dir), "%s/sys/bus/vmbus/devices/%s",
		 shim.root, nic->guid);
	if ((rc = mkdir_p(nic->dir)) ||
	    (rc = put(nic->dir, "class_id", "{%s}\n", cls)) ||
	    (rc = put(nic->dir, "device_id", "{%s}\n", nic->guid)) ||
	    (rc = put(nic->dir, "id", "%u\n", o->child_relid)) ||
	    (rc = put(nic->dir, "monitor_id", "%u\n", o->monitorid)) ||
	    (rc = put(nic->dir, "numa_node", "0\n")))
		return rc;
	snprintf(uio, sizeof(uio), "%s/uio/uio%u", nic->dir, nic->uio);
	if ((rc = mkdir_p(uio)) ||
	    (rc = put(uio, "name", "uio_hv_generic\n")) ||
	    (rc = put(uio, "version", "0.02.1\n")))
		return rc;
	for (int k = 0; k < SHIM_NMAPS; k++) {
		snprintf(path, sizeof(path), "%s/maps/map%d", uio, k);
		if ((rc = mkdir_p(path)))
			return rc;
		if (k == SHIM_MAP_RECV || k == SHIM_MAP_SEND)
			rc = put(path, "name", "%s:%u\n", map_names[k],
				 k == SHIM_MAP_RECV ? nic->rx_gpadl
						    : nic->tx_gpadl);
		else
			rc = put(path, "name", "%s\n", map_names[k]);
		if (rc ||
		    (rc = put(path, "size", "0x%016zx\n", nic->map_len[k])) ||
		    (rc = put(path, "addr", "0x%016llx\n",
			      (unsigned long long)ovb_gmem_gpa(
				      ovb_client_gmem(shim.cl),
				      nic->map_va[k]))) ||
		    (rc = put(path, "offset", "0x0\n")))
			return rc;
	}
	/* /dev/uioN: an empty file whose inode names the device. */
	snprintf(path, sizeof(path), "%s/dev/uio%u", shim.root, nic->uio);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return shim_file_register(path, nic, NULL);
}

int shim_sysfs_add_chan(struct shim_nic *nic, struct ovb_vsc_dev *dev,
			void *ring)
{
	const struct vmbus_channel_offer_channel *o = ovb_vsc_dev_offer(dev);
	char dir[PATH_MAX], path[PATH_MAX + 8], tmp[PATH_MAX + 16];
	int rc, fd;

	snprintf(dir, sizeof(dir), "%s/channels/%u", nic->dir,
		 o->child_relid);
	if ((rc = mkdir_p(dir)) ||
	    (rc = put(dir, "subchannel_id", "%u\n", o->sub_channel_index)) ||
	    (rc = put(dir, "monitor_id", "%u\n", o->monitorid)))
		return rc;
	/*
	 * DPDK takes a channel as ready once "ring" exists: create it under
	 * another name, size and register it, then rename it into place.
	 */
	snprintf(path, sizeof(path), "%s/ring", dir);
	snprintf(tmp, sizeof(tmp), "%s/.ring", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = ftruncate(fd, 2 * SHIM_RING_HALF) ? -errno : 0;
	close(fd);
	if (!rc)
		rc = shim_file_register(tmp, nic, ring);
	if (!rc && rename(tmp, path))
		rc = -errno;
	return rc;
}
