// SPDX-License-Identifier: MIT
/*
 * The libc calls the DPDK shim interposes, and why:
 *  - paths: DPDK hard-codes /sys/bus/vmbus and /dev/uio%u; they are
 *    rewritten to the private tree under $OVMB_SHIM_ROOT (open*, fopen*,
 *    opendir, access, stat*).  Nothing else is touched.
 *  - mmap of /dev/uioN: uio semantics, the offset selects map K
 *    (K * page size); of channels/<relid>/ring: that channel's rings.
 *    Both land in guest memory, where the host sees the same pages.
 *  - EAL's --no-huge memory: memfd_create("nohuge") gets a copy of the
 *    memfd the host already has as guest RAM, and EAL's PROT_NONE
 *    reservation of exactly -m bytes gets the VA that memfd is registered
 *    at (GPA = VA), so every IOVA DPDK hands the host is a valid GPA.
 *    EAL retries a reservation that missed its hint five times, then
 *    takes it; munmap of our reservation meanwhile is a no-op.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvmbus/link.h"
#include "openvmbus/vsc.h"
#include "tests/interop/dpdk/shim.h"

#define REAL(name)                                                             \
	static __typeof__(name) *real_##name;                                  \
	if (!real_##name) {                                                    \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);     \
		if (!real_##name)                                              \
			shim_die("libc has no %s", #name);                     \
	}

void *shim_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	REAL(mmap);
	return real_mmap(addr, len, prot, flags, fd, off);
}

int shim_real_munmap(void *addr, size_t len)
{
	REAL(munmap);
	return real_munmap(addr, len);
}

int shim_real_memfd_create(const char *name, unsigned int flags)
{
	REAL(memfd_create);
	return real_memfd_create(name, flags);
}

/* ---- paths --------------------------------------------------------------- */

static bool has_prefix(const char *p, const char *pre)
{
	size_t n = strlen(pre);

	return !strncmp(p, pre, n) && (p[n] == 0 || p[n] == '/');
}

/* @path, or its place in the private tree (in @buf). */
static const char *rw(const char *path, char *buf)
{
	if (!shim.active || !path)
		return path;
	if (has_prefix(path, "/sys/bus/vmbus") ||
	    (!strncmp(path, "/dev/uio", 8) && path[8] >= '0' &&
	     path[8] <= '9')) {
		if ((size_t)snprintf(buf, PATH_MAX, "%s%s", shim.root, path) <
		    PATH_MAX)
			return buf;
	}
	return path;
}

static mode_t open_mode(int flags, va_list ap)
{
	return flags & (O_CREAT | O_TMPFILE) ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_LIKE(name)                                                        \
	int name(const char *path, int flags, ...)                             \
	{                                                                      \
		char b[PATH_MAX];                                              \
		va_list ap;                                                    \
		mode_t mode;                                                   \
		REAL(name);                   \
		va_start(ap, flags);                                           \
		mode = open_mode(flags, ap);                                   \
		va_end(ap);                                                    \
		return real_##name(rw(path, b), flags, mode);                  \
	}

OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                      \
	int name(int dirfd, const char *path, int flags, ...)                  \
	{                                                                      \
		char b[PATH_MAX];                                              \
		va_list ap;                                                    \
		mode_t mode;                                                   \
		REAL(name);              \
		va_start(ap, flags);                                           \
		mode = open_mode(flags, ap);                                   \
		va_end(ap);                                                    \
		return real_##name(dirfd, rw(path, b), flags, mode);           \
	}

OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

int __open_2(const char *path, int flags)
{
	char b[PATH_MAX];

	REAL(__open_2);
	return real___open_2(rw(path, b), flags);
}

int __open64_2(const char *path, int flags)
{
	char b[PATH_MAX];

	REAL(__open64_2);
	return real___open64_2(rw(path, b), flags);
}

FILE *fopen(const char *path, const char *mode)
{
	char b[PATH_MAX];

	REAL(fopen);
	return real_fopen(rw(path, b), mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	char b[PATH_MAX];

	REAL(fopen64);
	return real_fopen64(rw(path, b), mode);
}

DIR *opendir(const char *path)
{
	char b[PATH_MAX];

	REAL(opendir);
	return real_opendir(rw(path, b));
}

int access(const char *path, int mode)
{
	char b[PATH_MAX];

	REAL(access);
	return real_access(rw(path, b), mode);
}

int stat(const char *path, struct stat *st)
{
	char b[PATH_MAX];

	REAL(stat);
	return real_stat(rw(path, b), st);
}

int stat64(const char *path, struct stat64 *st)
{
	char b[PATH_MAX];

	REAL(stat64);
	return real_stat64(rw(path, b), st);
}

/* ---- memory ------------------------------------------------------------------ */

int memfd_create(const char *name, unsigned int flags)
{
	if (shim.active && shim.eal_state == SHIM_EAL_RESERVED &&
	    !strcmp(name, "nohuge"))
		return fcntl(shim.eal_fd, F_DUPFD_CLOEXEC, 3);
	return shim_real_memfd_create(name, flags);
}

/* The guest memory behind a mapping of @st at @off, or NULL. */
static void *file_target(const struct stat *st, off_t off, size_t len)
{
	void *va = NULL;
	size_t max = 0;

	pthread_mutex_lock(&shim.lock);
	for (unsigned int i = 0; i < shim.nfiles; i++) {
		struct shim_file *f = &shim.files[i];

		if (f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		if (f->ring && off == 0) {
			va = f->ring;
			max = 2 * SHIM_RING_HALF;
		} else if (!f->ring && off >= 0 && off % 4096 == 0 &&
			   off / 4096 < SHIM_NMAPS) {
			va = f->nic->map_va[off / 4096];
			max = f->nic->map_len[off / 4096];
		}
		break;
	}
	pthread_mutex_unlock(&shim.lock);
	return va && len <= max ? va : NULL;
}

static void *shim_mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	struct stat st;

	if (!shim.active)
		return shim_real_mmap(addr, len, prot, flags, fd, off);
	if ((flags & MAP_ANONYMOUS) && prot == PROT_NONE &&
	    len == shim.eal_len && shim.eal_state == SHIM_EAL_RESERVED) {
		shim.eal_tries++;
		return shim.eal_va;
	}
	if ((flags & MAP_ANONYMOUS) || fd < 0 || fstat(fd, &st))
		return shim_real_mmap(addr, len, prot, flags, fd, off);
	if (st.st_dev == shim.eal_dev && st.st_ino == shim.eal_ino) {
		void *va;

		if (addr != shim.eal_va || !(flags & MAP_FIXED) || off ||
		    len != shim.eal_len)
			shim_die("EAL mapped its memory at %p (+%#llx, %zu "
				 "bytes), not at %p where the host has it: "
				 "this DPDK's --no-huge path is not the one "
				 "the shim knows (22.11)", addr,
				 (unsigned long long)off, len,
				 (void *)shim.eal_va);
		va = shim_real_mmap(addr, len, prot, flags, fd, off);
		if (va == shim.eal_va)
			shim.eal_state = SHIM_EAL_PLACED;
		return va;
	}
	void *target = file_target(&st, off, len);

	if (target) {
		const struct ovb_gmem *gm = ovb_client_gmem(shim.cl);
		uint64_t foff = 0;
		int mfd = ovb_memfd_gmem_fd(gm, ovb_gmem_gpa(gm, target),
					    &foff);

		if (mfd < 0)
			shim_die("%p is not in the guest's memfd RAM", target);
		return shim_real_mmap(addr, len, prot, flags, mfd, (off_t)foff);
	}
	return shim_real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return shim_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return shim_mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	if (shim.active && shim.eal_state == SHIM_EAL_RESERVED &&
	    addr == shim.eal_va && len == shim.eal_len)
		return 0; /* EAL giving back a reservation it will ask again */
	return shim_real_munmap(addr, len);
}
