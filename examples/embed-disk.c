// SPDX-License-Identifier: MIT
/*
 * embed-disk: openvmbus inside a VMM's own process and event loop.
 *
 * A VMM that wants Hyper-V synthetic devices brings three things of its
 * own: the guest's memory, the hypervisor glue (SynIC message slots,
 * event flags, the guest's HvPostMessage and HvSignalEvent exits) and an
 * event loop.  This program plays such a VMM in about 350 lines:
 *
 *  - the host side is an ovb_server in caller-driven mode: the library
 *    starts no thread for it; our loop waits on ovb_server_dispatch_fd()
 *    and calls ovb_server_dispatch();
 *  - "the hypervisor" is two crossings through that loop: the guest's
 *    posts and signals go to the host, the host's messages and channel
 *    interrupts go to the guest.  Messages queue like a SynIC message slot
 *    (bounded; full means -EAGAIN, server.h); interrupts are event flags,
 *    one bit per channel, like the SIEF page;
 *  - the guest's RAM is anonymous memory both sides reach through the
 *    host-memory guest memory provider (gmem.h), no fd;
 *  - the device is a storvsp SCSI controller with two RAM-disk LUNs;
 *  - the guest is openvmbus's own client and storvsc in the same process:
 *    the main thread is its "vCPU", writing a pattern over several blocks
 *    of each LUN, reading it back and checking it.
 *
 * Build against an installed library:
 *   cc embed-disk.c $(pkg-config --cflags --libs openvmbus) -o embed-disk
 * Exit status 0 when every block read back equals what was written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openvmbus/blk.h>
#include <openvmbus/client.h>
#include <openvmbus/gmem.h>
#include <openvmbus/hv.h>
#include <openvmbus/server.h>
#include <openvmbus/storvsc.h>
#include <openvmbus/storvsp.h>

#define GUEST_GPA (1ull << 32)   /* where guest RAM starts */
#define GUEST_RAM (64ull << 20)  /* 64 MiB */
#define NLUNS 2
#define DISK_BYTES (16u << 20)
#define SLOT_DEPTH 64            /* host->guest messages queued at most */
#define MAX_RELID 2048

#define die(...) do { fprintf(stderr, "embed-disk: " __VA_ARGS__); \
		      fputc('\n', stderr); exit(1); } while (0)

/* ---- the VMM's hypervisor ------------------------------------------------- */

/* One SynIC message (<= 240 bytes) on its way to a side. */
struct hv_msg {
	struct hv_msg *next;
	uint32_t id;   /* to the host: connection id; to the guest: SINT */
	size_t len;
	uint8_t data[240];
};

/* A direction: queued messages, event flags, and an eventfd for the loop. */
struct hv_dir {
	pthread_mutex_t lock;
	struct hv_msg *head, **tail;
	unsigned int n, cap;
	uint64_t flags[MAX_RELID / 64]; /* atomic: one bit per channel */
	int efd;
};

struct vmm {
	struct ovb_server *srv;
	struct ovb_storvsp *disk;
	struct ovb_partition *part;
	void *ram;                   /* guest RAM: anonymous memory */
	struct ovb_gmem *guest_mem;  /* the guest's view of it */
	struct ovb_gmem *host_mem;   /* the host's view of it */
	struct ovb_client *cl;
	struct ovb_storvsc_set storage;  /* what the guest's storvsc bound */
	struct hv_dir to_host, to_guest;
	int stopfd;
	pthread_t loop;
};

static void dir_init(struct hv_dir *d, unsigned int cap)
{
	pthread_mutex_init(&d->lock, NULL);
	d->tail = &d->head;
	d->cap = cap;
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->efd < 0)
		die("eventfd: %s", strerror(errno));
}

static void dir_fini(struct hv_dir *d)
{
	for (struct hv_msg *m = d->head, *next; m; m = next) {
		next = m->next;
		free(m);
	}
	close(d->efd);
	pthread_mutex_destroy(&d->lock);
}

static void dir_kick(struct hv_dir *d)
{
	uint64_t one = 1;

	if (write(d->efd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write: %s", strerror(errno));
}

/* Queue a message; -EAGAIN when the slot's queue is full. */
static int dir_post(struct hv_dir *d, uint32_t id, const void *msg,
		    size_t len)
{
	struct hv_msg *m;

	if (len > sizeof(m->data))
		return -EMSGSIZE;
	pthread_mutex_lock(&d->lock);
	if (d->n == d->cap || !(m = calloc(1, sizeof(*m)))) {
		pthread_mutex_unlock(&d->lock);
		return -EAGAIN;
	}
	m->id = id;
	m->len = len;
	memcpy(m->data, msg, len);
	*d->tail = m;
	d->tail = &m->next;
	d->n++;
	pthread_mutex_unlock(&d->lock);
	dir_kick(d);
	return 0;
}

static struct hv_msg *dir_take(struct hv_dir *d)
{
	struct hv_msg *m;

	pthread_mutex_lock(&d->lock);
	m = d->head;
	if (m) {
		d->head = m->next;
		if (!d->head)
			d->tail = &d->head;
		d->n--;
	}
	pthread_mutex_unlock(&d->lock);
	return m;
}

/* Set event flag @bit; several sets before the loop looks are one. */
static int dir_signal(struct hv_dir *d, uint32_t bit)
{
	if (bit >= MAX_RELID)
		return -EINVAL;
	__atomic_fetch_or(&d->flags[bit / 64], 1ull << (bit % 64),
			  __ATOMIC_RELEASE);
	dir_kick(d);
	return 0;
}

/* Take every flag that is set: call @fn for each. */
static void dir_flags(struct hv_dir *d, void (*fn)(struct vmm *, uint32_t),
		      struct vmm *v)
{
	for (unsigned int w = 0; w < MAX_RELID / 64; w++) {
		uint64_t bits = __atomic_exchange_n(&d->flags[w], 0,
						    __ATOMIC_ACQUIRE);

		for (; bits; bits &= bits - 1)
			fn(v, w * 64 + (uint32_t)__builtin_ctzll(bits));
	}
}

/* The host's side of the hypervisor (struct ovb_partition_link_ops). */
static int host_send_message(void *link, uint32_t sint, const void *msg,
			     size_t len)
{
	return dir_post(&((struct vmm *)link)->to_guest, sint, msg, len);
}

static int host_signal_vp(void *link, uint32_t relid, uint32_t vp)
{
	(void)vp; /* one guest VP here; a real VMM picks @vp's SIEF page */
	return dir_signal(&((struct vmm *)link)->to_guest, relid);
}

static int host_signal(void *link, uint32_t relid)
{
	return host_signal_vp(link, relid, 0);
}

static const struct ovb_partition_link_ops host_ops = {
	.send_message = host_send_message,
	.signal = host_signal,
	.signal_vp = host_signal_vp,
};

/* The guest's side: its hypercalls (struct ovb_client_link_ops). */
static int guest_post_message(void *link, uint32_t conn_id, const void *msg,
			      size_t len)
{
	return dir_post(&((struct vmm *)link)->to_host, conn_id, msg, len);
}

static int guest_signal_event(void *link, uint32_t conn_id)
{
	/* Channels signal on their dedicated connection id. */
	if (conn_id <= VMBUS_CHAN_CONNECTION_ID_BASE)
		return -EINVAL;
	return dir_signal(&((struct vmm *)link)->to_host,
			  conn_id - VMBUS_CHAN_CONNECTION_ID_BASE);
}

static const struct ovb_client_link_ops guest_ops = {
	.post_message = guest_post_message,
	.signal_event = guest_signal_event,
};

/* ---- the VMM's event loop --------------------------------------------------- */

static void to_host_signal(struct vmm *v, uint32_t relid)
{
	ovb_server_signal_event(v->part,
				VMBUS_CHAN_CONNECTION_ID_BASE + relid);
}

static void to_guest_signal(struct vmm *v, uint32_t relid)
{
	ovb_client_deliver_event(v->cl, relid);
}

/* Everything that crossed since the last look, in order. */
static void cross(struct vmm *v, struct hv_dir *d)
{
	struct hv_msg *m;
	uint64_t n;

	if (read(d->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		die("eventfd read: %s", strerror(errno));
	while ((m = dir_take(d))) {
		if (d == &v->to_host)
			ovb_server_post_message(v->part, m->id, m->data, m->len);
		else
			ovb_client_deliver_message(v->cl, m->id, m->data, m->len);
		free(m);
	}
	dir_flags(d, d == &v->to_host ? to_host_signal : to_guest_signal, v);
}

enum { EV_DISPATCH, EV_TO_HOST, EV_TO_GUEST, EV_STOP };

static void watch(int ep, int fd, uint32_t what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = what };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void *vmm_loop(void *arg)
{
	struct vmm *v = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	watch(ep, ovb_server_dispatch_fd(v->srv), EV_DISPATCH);
	watch(ep, v->to_host.efd, EV_TO_HOST);
	watch(ep, v->to_guest.efd, EV_TO_GUEST);
	watch(ep, v->stopfd, EV_STOP);
	for (;;) {
		struct epoll_event ev[4];
		int n = epoll_wait(ep, ev, 4, -1);

		for (int i = 0; i < n; i++) {
			switch (ev[i].data.u32) {
			case EV_DISPATCH:
				ovb_server_dispatch(v->srv, 0); /* bounded */
				break;
			case EV_TO_HOST:
				cross(v, &v->to_host);
				break;
			case EV_TO_GUEST:
				cross(v, &v->to_guest);
				break;
			case EV_STOP:
				close(ep);
				return NULL;
			}
		}
	}
}

/* ---- setting up: host, guest memory, guest ------------------------------ */

static void host_create(struct vmm *v)
{
	struct ovb_storvsp_cfg cfg = { .name = "embed-scsi0" };
	int rc;

	if ((rc = ovb_server_create(&v->srv)) ||
	    (rc = ovb_server_set_threading(v->srv, OVB_SERVER_CALLER)) ||
	    (rc = ovb_storvsp_create(&cfg, &v->disk)))
		die("host: %s", strerror(-rc));
	for (int i = 0; i < NLUNS; i++) {
		struct ovb_blk *blk;

		if ((rc = ovb_blk_ram_create(DISK_BYTES, 512, &blk)) ||
		    (rc = ovb_storvsp_add_lun(v->disk, i, blk)) < 0)
			die("LUN %d: %s", i, strerror(-rc));
	}
	if ((rc = ovb_storvsp_register(v->srv, v->disk)))
		die("register: %s", strerror(-rc));
}

/*
 * Guest RAM, seen by both sides: anonymous memory, as a VMM has it, given
 * to each side through the host-memory provider (gmem.h) -- no fd.  The
 * guest's allocator takes rings and buffers from it (a pool).
 */
static void guest_memory(struct vmm *v)
{
	int rc;

	v->ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->ram == MAP_FAILED)
		die("guest RAM: %s", strerror(errno));
	if ((rc = ovb_gmem_host_create("embed-guest", &v->guest_mem)) ||
	    (rc = ovb_gmem_host_add(v->guest_mem, GUEST_GPA, GUEST_RAM,
				    v->ram)) ||
	    (rc = ovb_gmem_pool_add(v->guest_mem, GUEST_GPA, GUEST_RAM)) ||
	    (rc = ovb_gmem_host_create("embed-host", &v->host_mem)) ||
	    (rc = ovb_gmem_host_add(v->host_mem, GUEST_GPA, GUEST_RAM,
				    v->ram)))
		die("guest RAM: %s", strerror(-rc));
}

static void vmm_start(struct vmm *v)
{
	int rc;

	host_create(v);
	dir_init(&v->to_host, 1024);
	dir_init(&v->to_guest, SLOT_DEPTH);
	v->stopfd = eventfd(0, EFD_CLOEXEC);
	guest_memory(v);
	if ((rc = ovb_server_partition_create(v->srv, "embed-guest", &host_ops,
					      v, v->host_mem, &v->part)))
		die("partition: %s", strerror(-rc));
	if ((rc = ovb_client_create(&guest_ops, v, v->guest_mem, &v->cl)) ||
	    (rc = ovb_client_register_driver(v->cl, &ovb_storvsc_scsi_driver,
					     &v->storage)))
		die("guest: %s", strerror(-rc));
	if (pthread_create(&v->loop, NULL, vmm_loop, v))
		die("loop thread");
}

/* ---- the guest's work: a pattern over several blocks of each LUN ------- */

static void pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
}

static int guest_run(struct vmm *v)
{
	const size_t len = 64 << 10;
	struct ovb_storvsc *s;
	uint8_t *buf, *want = malloc(len);
	int rc, bad = 0;

	if ((rc = ovb_client_connect(v->cl, 0, 5000)))
		die("connect: %s", strerror(-rc));
	if ((rc = ovb_storvsc_get(&v->storage, 0, &s)))
		die("no SCSI controller: %s", strerror(-rc));
	buf = ovb_storvsc_alloc(s, len);
	if (!buf || !want)
		die("no buffer");
	for (uint16_t lun = 0; lun < NLUNS; lun++)
		for (unsigned int b = 0; b < 8; b++) {
			uint64_t off = (uint64_t)b * (1u << 20) + lun * 4096;

			pattern(want, len, lun * 8 + b);
			memcpy(buf, want, len);
			if (ovb_storvsc_sync(s, OVB_STORVSC_WRITE, lun, off, buf,
					     len, false) != (int64_t)len)
				die("write LUN %u at %#llx", lun,
				    (unsigned long long)off);
			/* The VMM looks at its disk: the bytes landed. */
			bad += memcmp(ovb_blk_ram_data(ovb_storvsp_lun_blk(
					      v->disk, lun)) + off,
				      want, len) != 0;
			memset(buf, 0, len);
			if (ovb_storvsc_sync(s, OVB_STORVSC_READ, lun, off, buf,
					     len, false) != (int64_t)len)
				die("read LUN %u at %#llx", lun,
				    (unsigned long long)off);
			bad += memcmp(buf, want, len) != 0;
		}
	printf("embed-disk: %d LUNs x 8 blocks of %zu KiB written and read "
	       "back, %d mismatched\n", NLUNS, len >> 10, bad);
	ovb_storvsc_free(s, buf, len);
	ovb_storvsc_put(s);
	free(want);
	return bad;
}

/* ---- teardown: the guest leaves, then the VMM takes everything down ------ */

static void vmm_stop(struct vmm *v)
{
	uint64_t one = 1;
	int rc;

	/* The guest unloads VMBus while the loop still carries messages. */
	if ((rc = ovb_client_unload(v->cl, 5000)))
		die("unload: %s", strerror(-rc));
	if (write(v->stopfd, &one, sizeof(one)) != sizeof(one))
		die("stop");
	pthread_join(v->loop, NULL);
	ovb_server_partition_destroy(v->part);
	ovb_client_link_down(v->cl);
	ovb_client_destroy(v->cl);
	ovb_server_destroy(v->srv);
	ovb_storvsp_destroy(v->disk);
	ovb_gmem_destroy(v->guest_mem);
	ovb_gmem_destroy(v->host_mem);
	munmap(v->ram, GUEST_RAM);
	dir_fini(&v->to_host);
	dir_fini(&v->to_guest);
	close(v->stopfd);
}

int main(void)
{
	struct vmm v = { 0 };
	int bad;

	vmm_start(&v);
	bad = guest_run(&v);
	vmm_stop(&v);
	return bad ? 1 : 0;
}
