// SPDX-License-Identifier: MIT
/*
 * The FUSE disk front end speaking the kernel's FUSE protocol itself, for
 * FUSE over io_uring: mount(2) of /dev/fuse with fd=, INIT over read and
 * write on /dev/fuse (asking for FUSE_OVER_IO_URING, 1 MiB requests and
 * asynchronous direct I/O), then the io_uring queues (fuse_ring.c) carry
 * every request but FORGET and INTERRUPT, which still come through
 * /dev/fuse and want no answer.  The handful of operations a disk needs:
 * LOOKUP, GETATTR, SETATTR (the size stays), OPEN/RELEASE, READ, WRITE,
 * FSYNC, FLUSH, FALLOCATE, STATFS, OPENDIR/READDIR/RELEASEDIR, DESTROY.
 * Node ids: 1 the root, (i + 1) << 32 controller i of our name table,
 * that | (lun + 1) a LUN file.  The kernel is trusted (it is our own), but
 * its lengths are checked before use.  Layer: frontend.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "frontend/fuse_ll.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"

#define FU_ROOT 1ull
#define FU_INIT_BUF (FU_MAX_WRITE + 4096) /* >= the kernel's minimum */

/* Node id of controller @name: its slot in the table, added if new. */
static uint64_t fu_ctl_ino(struct fu_conn *c, const char *name)
{
	uint64_t ino = 0;
	unsigned int i;

	pthread_mutex_lock(&c->names_lock);
	for (i = 0; i < c->nnames; i++)
		if (!strcmp(c->names[i], name))
			break;
	if (i == c->nnames && i < FU_NAMES)
		snprintf(c->names[c->nnames++], sizeof(c->names[0]), "%s", name);
	if (i < c->nnames)
		ino = (uint64_t)(i + 1) << 32;
	pthread_mutex_unlock(&c->names_lock);
	return ino;
}

/* Node @ino: the root (0), a controller (held, 1) or a LUN (held, 2). */
static int fu_node(struct fu_conn *c, uint64_t ino, struct fd_file *f)
{
	uint64_t slot = ino >> 32, lun = ino & 0xffffffffu;
	char name[32];

	memset(f, 0, sizeof(*f));
	if (ino == FU_ROOT)
		return 0;
	pthread_mutex_lock(&c->names_lock);
	if (!slot || slot > c->nnames) {
		pthread_mutex_unlock(&c->names_lock);
		return -ENOENT;
	}
	memcpy(name, c->names[slot - 1], sizeof(name));
	pthread_mutex_unlock(&c->names_lock);
	if (ovb__fuse_ctl_get(c->fd, name, &f->s))
		return -ENOENT;
	if (!lun)
		return 1;
	if (lun > 0xffff || ovb__fuse_lun_find(f->s, (unsigned int)lun - 1,
					       &f->lun)) {
		ovb_storvsc_put(f->s);
		f->s = NULL;
		return -ENOENT;
	}
	return 2;
}

static void fu_attr(uint64_t ino, int kind, const struct fd_file *f,
		    struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->blksize = 4096;
	if (kind < 2) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | (f->lun.read_only ? 0400 : 0600);
	a->nlink = 1;
	a->size = f->lun.blocks * f->lun.block_size;
	a->blocks = a->size / 512;
	a->blksize = f->lun.block_size;
}

/* The reply body: @len bytes, or -ERANGE if the buffer is too small. */
static void *fu_out(struct fu_msg *m, uint32_t len)
{
	if (len > m->out_cap) {
		m->error = -ERANGE;
		return NULL;
	}
	memset(m->out, 0, len);
	m->out_len = len;
	return m->out;
}

static void fu_lookup(struct fu_conn *c, struct fu_msg *m)
{
	const char *name = m->data;
	struct fuse_entry_out *e;
	struct fd_file f;
	unsigned int lun;
	uint64_t ino = 0;
	int kind = 0, n = 0;

	if (!m->data_len || memchr(name, 0, m->data_len) == NULL) {
		m->error = -EINVAL;
		return;
	}
	if (m->ih->nodeid == FU_ROOT) {
		struct ovb_storvsc *s;

		if (!ovb__fuse_ctl_get(c->fd, name, &s)) {
			ovb_storvsc_put(s);
			ino = fu_ctl_ino(c, name);
		}
	} else if (!(m->ih->nodeid & 0xffffffffu) &&
		   sscanf(name, "lun%u%n", &lun, &n) == 1 && !name[n] &&
		   lun < 0xffff) {
		ino = m->ih->nodeid | (lun + 1);
	}
	if (ino)
		kind = fu_node(c, ino, &f);
	if (!ino || kind < 0) {
		m->error = -ENOENT;
		return;
	}
	e = fu_out(m, sizeof(*e));
	if (e) {
		e->nodeid = ino;
		e->generation = 1;
		fu_attr(ino, kind, &f, &e->attr);
	}
	if (f.s)
		ovb_storvsc_put(f.s);
}

static void fu_getattr(struct fu_conn *c, struct fu_msg *m)
{
	const struct fuse_setattr_in *sa = m->arg;
	struct fuse_attr_out *ao;
	struct fd_file f;
	int kind = fu_node(c, m->ih->nodeid, &f);

	if (kind < 0) {
		m->error = kind;
		return;
	}
	/* SETATTR: a disk keeps its size; the rest is not kept. */
	if (m->ih->opcode == FUSE_SETATTR &&
	    (m->arg_len < sizeof(*sa) ||
	     ((sa->valid & FATTR_SIZE) &&
	      (kind != 2 || sa->size != f.lun.blocks * f.lun.block_size))))
		m->error = -EPERM;
	else if ((ao = fu_out(m, sizeof(*ao))))
		fu_attr(m->ih->nodeid, kind, &f, &ao->attr);
	if (f.s)
		ovb_storvsc_put(f.s);
}

static void fu_open(struct fu_conn *c, struct fu_msg *m)
{
	const struct fuse_open_in *oi = m->arg;
	struct fuse_open_out *oo;
	struct fd_file f, *held;
	int kind = fu_node(c, m->ih->nodeid, &f);
	bool dir = m->ih->opcode == FUSE_OPENDIR;

	if (kind < 0 || m->arg_len < sizeof(*oi)) {
		m->error = kind < 0 ? kind : -EINVAL;
		return;
	}
	if (dir != (kind < 2))
		m->error = dir ? -ENOTDIR : -EISDIR;
	else if (!dir && f.lun.read_only && (oi->flags & O_ACCMODE) != O_RDONLY)
		m->error = -EROFS;
	else if ((oo = fu_out(m, sizeof(*oo))) && !dir) {
		held = ovb__fuse_file_open(c->fd, &f);
		if (!held) {
			m->error = -ENOMEM;
		} else {
			f.s = NULL; /* the hold goes with it, until RELEASE */
			oo->fh = (uintptr_t)held;
			/*
			 * No second page cache above the loop device, and
			 * direct writes in parallel (the kernel's FUSE takes
			 * the inode lock shared for them, not exclusive).
			 */
			oo->open_flags = FOPEN_DIRECT_IO |
					 FOPEN_PARALLEL_DIRECT_WRITES;
		}
	}
	if (f.s)
		ovb_storvsc_put(f.s);
}

struct fd_file *ovb__fu_file(struct fu_conn *c, uint64_t fh)
{
	/* Our own pointer, from OPEN: the kernel hands it back as it was. */
	return (struct fd_file *)(uintptr_t)fh;
}

static void fu_release(struct fu_conn *c, struct fu_msg *m)
{
	const struct fuse_release_in *ri = m->arg;
	struct fd_file *f;

	if (m->arg_len < sizeof(*ri)) {
		m->error = -EINVAL;
		return;
	}
	f = m->ih->opcode == FUSE_RELEASE ? ovb__fu_file(c, ri->fh) : NULL;
	if (f)
		ovb__fuse_file_release(c->fd, f);
}

/* Append one entry; false when it does not fit. */
static bool fu_dirent(struct fu_msg *m, uint32_t size, uint64_t ino,
		      uint64_t off, unsigned int type, const char *name)
{
	size_t nl = strlen(name);
	uint32_t len = (uint32_t)FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + nl);
	struct fuse_dirent *d;

	if (m->out_len + len > size || m->out_len + len > m->out_cap)
		return false;
	d = (struct fuse_dirent *)((char *)m->out + m->out_len);
	memset(d, 0, len);
	d->ino = ino;
	d->off = off;
	d->namelen = (uint32_t)nl;
	d->type = type;
	memcpy(d->name, name, nl);
	m->out_len += len;
	return true;
}

/* READDIR: ".", "..", then the controllers or the LUNs; off = index. */
static void fu_readdir(struct fu_conn *c, struct fu_msg *m)
{
	const struct fuse_read_in *ri = m->arg;
	struct ovb_storvsc_lun luns[FD_MAX_LUNS];
	struct ovb_storvsc *s;
	struct fd_file f;
	char name[32];
	uint64_t idx = 2, ino = m->ih->nodeid;
	int kind = fu_node(c, ino, &f);

	if (kind < 0 || kind == 2 || m->arg_len < sizeof(*ri)) {
		m->error = kind < 0 ? kind : kind == 2 ? -ENOTDIR : -EINVAL;
		goto out;
	}
	m->out_len = 0;
	if (ri->offset < 1 && !fu_dirent(m, ri->size, ino, 1, DT_DIR, "."))
		goto out;
	if (ri->offset < 2 && !fu_dirent(m, ri->size, FU_ROOT, 2, DT_DIR, ".."))
		goto out;
	if (kind == 0) {
		for (unsigned int i = 0; !ovb_storvsc_get(c->fd->set, i, &s); i++) {
			snprintf(name, sizeof(name), "%s", ovb_storvsc_name(s));
			ovb_storvsc_put(s);
			if (++idx <= ri->offset)
				continue;
			if (!fu_dirent(m, ri->size, fu_ctl_ino(c, name), idx,
				       DT_DIR, name))
				break;
		}
		goto out;
	}
	size_t cnt = ovb_storvsc_luns(f.s, luns, FD_MAX_LUNS);

	for (size_t i = 0; i < cnt && i < FD_MAX_LUNS; i++) {
		if (++idx <= ri->offset)
			continue;
		snprintf(name, sizeof(name), "lun%u", luns[i].lun);
		if (!fu_dirent(m, ri->size, ino | (luns[i].lun + 1u), idx,
			       DT_REG, name))
			break;
	}
out:
	if (f.s)
		ovb_storvsc_put(f.s);
}

static void fu_statfs(struct fu_conn *c, struct fu_msg *m)
{
	struct fuse_statfs_out *so = fu_out(m, sizeof(*so));

	if (so) {
		so->st.bsize = 4096;
		so->st.frsize = 4096;
		so->st.namelen = 31;
		so->st.files = FD_MAX_LUNS;
	}
}

/* READ/WRITE the slow way: any alignment, through the bounce pool. */
static void fu_rw(struct fu_conn *c, struct fu_msg *m, bool write)
{
	const struct fuse_read_in *ri = m->arg;      /* same first fields */
	const struct fuse_write_in *wi = m->arg;
	struct fd_file *f;
	struct fuse_write_out wo = { 0 };
	ssize_t n;

	if (m->arg_len < sizeof(*ri) ||
	    !(f = ovb__fu_file(c, write ? wi->fh : ri->fh))) {
		m->error = -EINVAL;
		return;
	}
	if (write) {
		if (wi->size > m->data_len) {
			m->error = -EINVAL;
			return;
		}
		n = ovb__fuse_rw(c->fd, f, true, (void *)m->data, wi->size,
				 wi->offset);
		if (n < 0) {
			m->error = (int)n;
		} else {
			wo.size = (uint32_t)n;
			if (fu_out(m, sizeof(wo)))
				memcpy(m->out, &wo, sizeof(wo));
		}
		return;
	}
	if (ri->size > m->out_cap) {
		m->error = -EINVAL;
		return;
	}
	n = ovb__fuse_rw(c->fd, f, false, m->out, ri->size, ri->offset);
	if (n < 0)
		m->error = (int)n;
	else
		m->out_len = (uint32_t)n;
}

void ovb__fu_dispatch(struct fu_conn *c, struct fu_msg *m)
{
	const struct fuse_fsync_in *si = m->arg;
	const struct fuse_fallocate_in *fa = m->arg;
	struct fd_file *f;

	m->error = 0;
	m->out_len = 0;
	switch (m->ih->opcode) {
	case FUSE_LOOKUP:
		fu_lookup(c, m);
		break;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		fu_getattr(c, m);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		fu_open(c, m);
		break;
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		fu_release(c, m);
		break;
	case FUSE_READDIR:
		fu_readdir(c, m);
		break;
	case FUSE_READ:
	case FUSE_WRITE:
		fu_rw(c, m, m->ih->opcode == FUSE_WRITE);
		break;
	case FUSE_FSYNC:
		if (m->arg_len < sizeof(*si) || !(f = ovb__fu_file(c, si->fh)))
			m->error = -EINVAL;
		else
			m->error = ovb__fuse_flush(c->fd, f);
		break;
	case FUSE_FALLOCATE:
		if (m->arg_len < sizeof(*fa) || !(f = ovb__fu_file(c, fa->fh)))
			m->error = -EINVAL;
		else
			m->error = ovb__fuse_fallocate(c->fd, f, (int)fa->mode,
						       fa->offset, fa->length);
		break;
	case FUSE_STATFS:
		fu_statfs(c, m);
		break;
	case FUSE_FLUSH:    /* close(2) is not a durability point */
	case FUSE_FSYNCDIR:
	case FUSE_DESTROY:
		break;
	case FUSE_FORGET:   /* we keep no per-node state */
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT: /* our requests end on their own deadline */
		m->noreply = true;
		break;
	default:
		m->error = -ENOSYS;
		break;
	}
}

/* The fixed argument's size of @op on /dev/fuse (0: none or unknown). */
static uint32_t fu_arg_size(uint32_t op)
{
	switch (op) {
	case FUSE_GETATTR: return sizeof(struct fuse_getattr_in);
	case FUSE_SETATTR: return sizeof(struct fuse_setattr_in);
	case FUSE_OPEN: case FUSE_OPENDIR: return sizeof(struct fuse_open_in);
	case FUSE_READ: case FUSE_READDIR: return sizeof(struct fuse_read_in);
	case FUSE_WRITE: return sizeof(struct fuse_write_in);
	case FUSE_RELEASE: case FUSE_RELEASEDIR:
		return sizeof(struct fuse_release_in);
	case FUSE_FSYNC: case FUSE_FSYNCDIR: return sizeof(struct fuse_fsync_in);
	case FUSE_FLUSH: return sizeof(struct fuse_flush_in);
	case FUSE_FALLOCATE: return sizeof(struct fuse_fallocate_in);
	case FUSE_FORGET: return sizeof(struct fuse_forget_in);
	case FUSE_INTERRUPT: return sizeof(struct fuse_interrupt_in);
	default: return 0;
	}
}

/* Answer @unique on /dev/fuse. */
static void fu_dev_reply(struct fu_conn *c, uint64_t unique, int error,
			 const void *body, uint32_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)sizeof(oh) + (error ? 0 : len),
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)body, len } };

	if (writev(c->devfd, iov, error || !len ? 1 : 2) < 0 &&
	    errno != ENOENT) /* ENOENT: the request was interrupted */
		ovb_warn("fuse: %s: reply to %llu: %s", c->fd->dir,
			 (unsigned long long)unique, strerror(errno));
}

/* Serve one message read from /dev/fuse (@len bytes at @buf). */
static void fu_dev_serve(struct fu_conn *c, void *buf, size_t len,
			 void *out, uint32_t out_cap)
{
	const struct fuse_in_header *ih = buf;
	uint32_t argsz;
	struct fu_msg m = { 0 };

	if (len < sizeof(*ih) || ih->len != len)
		return;
	argsz = fu_arg_size(ih->opcode);
	if (argsz > len - sizeof(*ih))
		argsz = (uint32_t)(len - sizeof(*ih));
	m.ih = ih;
	m.arg = ih + 1;
	m.arg_len = argsz;
	m.data = (char *)(ih + 1) + argsz;
	m.data_len = (uint32_t)(len - sizeof(*ih) - argsz);
	m.out = out;
	m.out_cap = out_cap;
	ovb__fu_dispatch(c, &m);
	if (!m.noreply)
		fu_dev_reply(c, ih->unique, m.error, m.out, m.out_len);
}

/*
 * /dev/fuse after INIT: FORGET and INTERRUPT (the queues carry the rest;
 * anything else that comes here is served all the same), until the
 * connection ends: ENODEV, the file system was unmounted.
 */
static void *fu_reader(void *arg)
{
	struct fu_conn *c = arg;
	void *buf = malloc(FU_INIT_BUF), *out = malloc(FU_MAX_WRITE);
	ssize_t n;

	while (buf && out) {
		n = read(c->devfd, buf, FU_INIT_BUF);
		if (n < 0 && (errno == EINTR || errno == EAGAIN ||
			      errno == ENOENT))
			continue;
		if (n <= 0)
			break;
		fu_dev_serve(c, buf, (size_t)n, out, FU_MAX_WRITE);
	}
	free(buf);
	free(out);
	ovb__fuse_set_ended(c->fd);
	return NULL;
}

/* Read INIT from /dev/fuse and answer it.  0 or -errno. */
static int fu_init(struct fu_conn *c)
{
	const struct fuse_in_header *ih;
	const struct fuse_init_in *ii;
	struct fuse_init_out io = { 0 };
	void *buf = malloc(FU_INIT_BUF);
	uint64_t flags, want;
	ssize_t n;
	int rc = -EPROTO;

	if (!buf)
		return -ENOMEM;
	do
		n = read(c->devfd, buf, FU_INIT_BUF);
	while (n < 0 && errno == EINTR);
	ih = buf;
	ii = (const void *)(ih + 1);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	if ((size_t)n < sizeof(*ih) + 16 || ih->opcode != FUSE_INIT ||
	    ih->len != (uint32_t)n)
		goto out;
	if (ii->major != FUSE_KERNEL_VERSION) {
		fu_dev_reply(c, ih->unique, -EPROTO, NULL, 0);
		goto out;
	}
	flags = ii->flags;
	if ((size_t)n >= sizeof(*ih) + sizeof(*ii) && (flags & FUSE_INIT_EXT))
		flags |= (uint64_t)ii->flags2 << 32;
	/*
	 * FUSE_ATOMIC_O_TRUNC: O_TRUNC comes with OPEN, where a disk ignores
	 * it as a block device does, instead of as a SETATTR to size 0 that
	 * a disk must refuse; `dd of=lun0` without conv=notrunc works, as it
	 * does on the libfuse path (libfuse asks for the same).
	 */
	want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
	       FUSE_ASYNC_DIO | FUSE_MAX_PAGES | FUSE_PARALLEL_DIROPS |
	       FUSE_INIT_EXT | FUSE_WIRE_OVER_IO_URING;
	want &= flags;
	c->minor = ii->minor;
	io.major = FUSE_KERNEL_VERSION;
	io.minor = ii->minor < FUSE_WIRE_URING_MINOR ? ii->minor
						     : FUSE_WIRE_URING_MINOR;
	io.max_readahead = ii->max_readahead;
	io.flags = (uint32_t)want;
	io.flags2 = (uint32_t)(want >> 32);
	io.max_background = 256;
	io.congestion_threshold = 192;
	io.max_write = FU_MAX_WRITE;
	io.max_pages = FU_MAX_WRITE / 4096;
	io.time_gran = 1;
	c->max_write = FU_MAX_WRITE;
	fu_dev_reply(c, ih->unique, 0, &io, sizeof(io));
	rc = (want & FUSE_WIRE_OVER_IO_URING) ? 0 : -EOPNOTSUPP;
	if (rc)
		ovb_warn("fuse: %s: the kernel did not offer FUSE over io_uring "
			 "in INIT (protocol 7.%u)", c->fd->dir, ii->minor);
out:
	free(buf);
	return rc;
}

/* mount(2) of /dev/fuse at the disk's directory, as fusermount3 would. */
static int fu_mount(struct fu_conn *c)
{
	char opts[160];

	c->devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (c->devfd < 0)
		return -ENODEV;
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,"
		 "default_permissions,max_read=%u",
		 c->devfd, (unsigned int)getuid(), (unsigned int)getgid(),
		 FU_MAX_WRITE);
	if (mount("openvmbus", c->fd->dir, "fuse.vmbus", MS_NOSUID | MS_NODEV,
		  opts)) {
		int e = errno;

		close(c->devfd);
		c->devfd = -1;
		return -e;
	}
	return 0;
}

int ovb__fuse_ll_start(struct ovb_fuse_disk *fd)
{
	struct fu_conn *c = calloc(1, sizeof(*c));
	unsigned int mib = fd->opts.ring_mib ? fd->opts.ring_mib : 64;
	int rc;

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->devfd = -1;
	pthread_mutex_init(&c->names_lock, NULL);
	fd->conn = c;
	rc = fu_mount(c);
	if (rc)
		goto err;
	rc = fu_init(c);
	if (!rc)
		rc = ovb__fu_ring_start(c, mib, &fd->opts);
	if (!rc && pthread_create(&c->reader, NULL, fu_reader, c))
		rc = -EAGAIN;
	if (rc) {
		umount2(fd->dir, MNT_DETACH);
		/* Closing /dev/fuse aborts the connection: queues that
		 * registered see their commands end, and their threads. */
		close(c->devfd);
		c->devfd = -1;
		if (!ovb__fu_ring_join(c, 3000)) {
			ovb_warn("fuse: %s: io_uring queues do not end", fd->dir);
			fd->conn = NULL; /* leaked: its threads still run */
			return rc;
		}
		goto err;
	}
	c->reader_on = true;
	return 0;
err:
	ovb__fu_ring_free(c);
	if (c->devfd >= 0)
		close(c->devfd);
	pthread_mutex_destroy(&c->names_lock);
	free(c);
	fd->conn = NULL;
	return rc;
}

/* Join the reader within @ms; true if it ended. */
static bool fu_join_reader(struct fu_conn *c, long ms)
{
	struct timespec dl;

	if (!c->reader_on)
		return true;
	ovb_deadline_ms(&dl, ms);
	if (pthread_clockjoin_np(c->reader, NULL, CLOCK_MONOTONIC, &dl))
		return false;
	c->reader_on = false;
	return true;
}

/* The connection's threads all ended within @ms. */
static bool fu_join(struct fu_conn *c, long ms)
{
	return ovb__fu_ring_join(c, ms) && fu_join_reader(c, ms);
}

int ovb__fuse_ll_stop(struct ovb_fuse_disk *fd)
{
	struct fu_conn *c = fd->conn;

	ovb__fuse_unmount(fd);
	/* As with libfuse: the connection ends when its last file closes;
	 * fail what waits on a silent host, then abort the connection. */
	if (!fu_join(c, 500)) {
		ovb__fuse_abort_io(fd);
		if (!fu_join(c, 1000)) {
			ovb__fuse_abort_conn(fd);
			if (!fu_join(c, 1000)) {
				ovb_warn("fuse: %s: its threads do not end",
					 fd->dir);
				return -ETIMEDOUT;
			}
		}
	}
	ovb__fu_ring_free(c);
	close(c->devfd);
	pthread_mutex_destroy(&c->names_lock);
	free(c);
	fd->conn = NULL;
	return 0;
}
