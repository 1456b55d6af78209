// SPDX-License-Identifier: MIT
/*
 * The guest TAP front end (tap_nic.h): netvsc below, a Linux TAP above.
 * One reader thread per TAP queue drains frames into netvsc, batched per
 * wake-up, and between batches reaps its channel itself (send
 * completions, frames that came in); netvsc's receive callbacks, on the
 * reader or the channel worker, write frames back into the TAP queue of
 * the channel they arrived on, a coalesced frame with one writev
 * straight from the receive buffer.  With p.worker_reads there are no
 * reader threads: each channel worker reads its own TAP queue
 * (tap_source, ovb_netvsc_set_source), one thread per queue.
 * Namespaces follow iproute2:
 * /run/netns is a shared mount, each name a bind mount of a thread's
 * network namespace.  Layer: frontends.  Interfaces: tuntap.rst,
 * ip-netns(8), setns(2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/net_tap.h"
#include "openvmbus/tap_nic.h"

#define NETNS_DIR "/run/netns"

struct tap_reader {
	struct ovb_tap_nic *t;
	unsigned int q;
	pthread_t thread;
	bool started;
	/* Worker mode (tap_source, on the queue's channel worker only): */
	struct ovb_netvsc_txbuf tb; /* guest memory the next frame goes to */
	size_t pend;                /* a frame read but not yet taken */
	struct ovb_net_meta meta;   /* its metadata */
};

struct ovb_tap_nic {
	struct ovb_tap_nic_params p;
	struct ovb_netvsc *nic;
	struct ovb_net_tap *tap; /* set once, read by receive callbacks */
	struct ovb_netvsc_info info;
	int stop_fd;
	struct tap_reader rd[OVB_NETVSC_MAX_QUEUES];
	unsigned int nq;
	uint64_t rx_drops;
	int setup_rc;
};

/* ---- namespaces ------------------------------------------------------------ */

static int netns_dir(void)
{
	if (mkdir(NETNS_DIR, 0755) && errno != EEXIST)
		return -errno;
	/* Shared, so mounts made later show up in every mount namespace. */
	if (!mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
		return -errno;
	return mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) ? -errno
								       : 0;
}

struct netns_job {
	const char *path;
	int rc;
};

/* On a thread of its own: a new namespace, bind-mounted at path. */
static void *netns_create_thread(void *arg)
{
	struct netns_job *j = arg;

	if (unshare(CLONE_NEWNET))
		j->rc = -errno;
	else if (mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND,
		       NULL))
		j->rc = -errno;
	return NULL;
}

int ovb_netns_ensure(const char *name)
{
	char path[256];
	struct netns_job j = { path, 0 };
	pthread_t th;
	int fd, rc;

	if (!name || !*name || strchr(name, '/') || strlen(name) > 200)
		return -EINVAL;
	snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
	if (!access(path, F_OK))
		return 0; /* exists: `ip netns add` made it, or we did */
	if ((rc = netns_dir()) != 0)
		return rc;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	if (pthread_create(&th, NULL, netns_create_thread, &j)) {
		unlink(path);
		return -EAGAIN;
	}
	pthread_join(th, NULL);
	if (j.rc)
		unlink(path);
	return j.rc;
}

/* ---- frames ------------------------------------------------------------------ */

static void tap_rx(void *ctx, unsigned int queue, const void *frame,
		   size_t len, const struct ovb_net_meta *meta)
{
	struct ovb_tap_nic *t = ctx;
	struct ovb_net_tap *tap = __atomic_load_n(&t->tap, __ATOMIC_ACQUIRE);
	ssize_t n;

	if (!tap)
		return;
	n = ovb_net_tap_write(tap, queue % ovb_net_tap_queues(tap), frame, len,
			      meta);
	if (n < 0)
		__atomic_fetch_add(&t->rx_drops, 1, __ATOMIC_RELAXED);
}

/* A coalesced frame in place: one writev from the receive buffer. */
static void tap_rxv(void *ctx, unsigned int queue, const struct iovec *iov,
		    unsigned int iovcnt, size_t len,
		    const struct ovb_net_meta *meta)
{
	struct ovb_tap_nic *t = ctx;
	struct ovb_net_tap *tap = __atomic_load_n(&t->tap, __ATOMIC_ACQUIRE);
	ssize_t n;

	if (!tap)
		return;
	n = ovb_net_tap_writev(tap, queue % ovb_net_tap_queues(tap), iov,
			       iovcnt, meta);
	if (n < 0)
		__atomic_fetch_add(&t->rx_drops, 1, __ATOMIC_RELAXED);
}

static void tap_link(void *ctx, bool up)
{
	struct ovb_tap_nic *t = ctx;
	struct ovb_net_tap *tap = __atomic_load_n(&t->tap, __ATOMIC_ACQUIRE);
	int on = up;

	if (tap && ioctl(ovb_net_tap_fd(tap, 0), TUNSETCARRIER, &on))
		ovb_warn("tap %s: carrier %s: %s", ovb_net_tap_name(tap),
			 up ? "on" : "off", strerror(errno));
}

struct seg_ctx {
	struct ovb_tap_nic *t;
	unsigned int q;
};

static int tap_seg(void *ctx, const void *seg, size_t len)
{
	struct seg_ctx *s = ctx;

	return ovb_netvsc_send(s->t->nic, s->q, seg, len, NULL, true);
}

/*
 * One frame read from the TAP into netvsc, from @tb (guest memory): a
 * large one goes to the host where it lies and @tb is used up.
 */
static int tap_tx(struct ovb_tap_nic *t, unsigned int q,
		  struct ovb_netvsc_txbuf *tb, size_t len,
		  struct ovb_net_meta *meta)
{
	struct seg_ctx s = { t, q };
	int rc;

	if (meta->gso_type && len > t->info.lso_max) {
		/* Larger than the host takes: segment here. */
		if (meta->flags & OVB_NET_META_CSUM_PARTIAL)
			ovb_offload_tso(tb->frame, len, meta, tap_seg, &s);
		return 0;
	}
	rc = ovb_netvsc_send_txbuf(t->nic, q, tb, len, meta, true);
	if (rc < 0 && rc != -ECONNRESET && rc != -EAGAIN)
		ovb_dbg("tap %s: frame of %zu bytes not sent: %s",
			ovb_tap_nic_name(t), len, strerror(-rc));
	return rc;
}

/*
 * One TAP queue into netvsc.  After a batch that sent a large frame from
 * guest memory (a TSO frame: a completion to reap) the reader drains its
 * own queue's channel (ovb_netvsc_poll, unless p.worker_reaps), and goes
 * on doing so while that finds work: the host's completions of the
 * frames it sent, and the frames that came in there, which it writes to
 * the TAP itself -- on the sending side of a stream the ACKs, whose TAP
 * write runs the stack that queues the next data for this very reader.
 * While it does the channel worker sleeps with the ring masked.  A
 * reader that sent only small frames (a receiver's ACKs, from send
 * sections) leaves the ring to the worker, which is busy writing the
 * stream into the TAP: polling there only contended with it for the
 * ring (futex waits in poll_end, counted with strace).  With p.reader_spin_us it keeps looking, TAP and ring,
 * that long after its last work (no yield: a thread woken here preempts
 * the spin, and it ends within microseconds) before it hands the ring
 * back to the worker and sleeps in poll(): fewer sleeps and wake-ups,
 * more CPU (off by default, docs/net-perf.md).
 */
static void *tap_reader_thread(void *arg)
{
	struct tap_reader *r = arg;
	struct ovb_tap_nic *t = r->t;
	struct pollfd pfd[2] = {
		{ .fd = ovb_net_tap_fd(t->tap, r->q), .events = POLLIN },
		{ .fd = t->stop_fd, .events = POLLIN },
	};
	struct ovb_netvsc_txbuf tb = { 0 };
	bool reap = !t->p.worker_reaps;
	uint32_t spin_us = reap ? t->p.reader_spin_us : 0;
	uint64_t last = 0; /* when work was last found, 0: not spinning */
	bool polling = false; /* the ring may be masked by us */

	while (!(pfd[1].revents & POLLIN)) {
		struct ovb_net_meta meta;
		ssize_t n = 0;
		int batch = 0, got = 0;
		bool big = false;

		while (batch < 64) {
			/* Frames are read into guest memory (see tap_tx). */
			if (!tb.frame && ovb_netvsc_txbuf_get(t->nic, &tb))
				break; /* the host holds them all: wait */
			n = ovb_net_tap_read(t->tap, r->q, tb.frame, tb.cap,
					     &meta);
			if (n == -EAGAIN)
				break;
			if (n > 0 && tap_tx(t, r->q, &tb, (size_t)n, &meta) == 1)
				big = true;
			batch++;
		}
		ovb_netvsc_flush(t->nic, r->q);
		if (reap && (big || polling)) {
			polling = true;
			got = ovb_netvsc_poll(t->nic, r->q);
		}
		if (batch == 64 || got > 0) {
			last = 0;
			continue;
		}
		if (spin_us && polling && tb.frame) {
			uint64_t now = ovb_now_us();

			if (batch || !last)
				last = now;
			if (now - last < spin_us)
				continue; /* a TAP read per round: no pause */
			last = 0;
		}
		if (polling)
			ovb_netvsc_poll_end(t->nic, r->q);
		polling = false;
		if (poll(pfd, 2, tb.frame ? -1 : 100) < 0 && errno != EINTR)
			break;
	}
	if (polling)
		ovb_netvsc_poll_end(t->nic, r->q);
	ovb_netvsc_txbuf_put(t->nic, &tb);
	return NULL;
}

/*
 * Worker mode (p.worker_reads): one TAP queue read by its channel's
 * worker (ovb_netvsc_set_source), up to 64 frames per call.  Nothing
 * here waits: no free buffer or no ring room is -EAGAIN, and the frame
 * already read stays in r->tb for the next call.  A frame the host
 * cannot take for another reason is dropped, as the reader drops it.
 */
static int tap_source(void *ctx, unsigned int queue)
{
	struct tap_reader *r = ctx;
	struct ovb_tap_nic *t = r->t;
	ssize_t n;
	int rc;

	(void)queue;
	for (int batch = 0; batch < 64; batch++) {
		if (!r->tb.frame && (rc = ovb_netvsc_txbuf_get(t->nic, &r->tb)))
			return rc == -EAGAIN ? -EAGAIN : 0;
		if (!r->pend) {
			n = ovb_net_tap_read(t->tap, r->q, r->tb.frame,
					     r->tb.cap, &r->meta);
			if (n == -EAGAIN)
				return 0;
			if (n <= 0)
				continue;
			r->pend = (size_t)n;
		}
		if (tap_tx(t, r->q, &r->tb, r->pend, &r->meta) == -EAGAIN)
			return -EAGAIN;
		r->pend = 0;
	}
	return 0;
}

/* ---- setup ---------------------------------------------------------------- */

static int tap_addr(const char *ifname, const char *cidr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	char ip[64], *slash;
	unsigned long bits = 24;
	int fd, rc = 0;

	snprintf(ip, sizeof(ip), "%s", cidr);
	if ((slash = strchr(ip, '/')) != NULL) {
		*slash = 0;
		bits = strtoul(slash + 1, NULL, 10);
	}
	if (bits > 32 || inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin->sin_family = AF_INET;
	if (ioctl(fd, SIOCSIFADDR, &ifr))
		rc = -errno;
	sin->sin_addr.s_addr = bits ? htonl(~0u << (32 - bits)) : 0;
	if (!rc && ioctl(fd, SIOCSIFNETMASK, &ifr))
		rc = -errno;
	close(fd);
	return rc;
}

/* Bring the loopback device up too: a fresh namespace has it down. */
static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

static int tap_configure(struct ovb_tap_nic *t)
{
	struct ovb_net_tap *tap;
	uint32_t off = 0;
	int rc, on;

	rc = ovb_net_tap_open(t->p.ifname, t->info.queues, &tap);
	if (rc)
		return rc;
	if (t->info.csum)
		off = OVB_NET_TAP_OFFLOAD_CSUM;
	if (t->info.csum && t->info.lso_max)
		off |= OVB_NET_TAP_OFFLOAD_TSO4 | OVB_NET_TAP_OFFLOAD_TSO6;
	if ((rc = ovb_net_tap_set_mac(tap, t->info.mac)) ||
	    (rc = ovb_net_tap_set_mtu(tap, t->info.mtu)) ||
	    (rc = ovb_net_tap_set_offload(tap, off))) {
		ovb_net_tap_close(tap);
		return rc;
	}
	/*
	 * TSO frames no larger than the host takes, so that tap_tx never
	 * segments in software (Linux netvsc sets gso_max_size the same).
	 */
	if (t->info.csum && t->info.lso_max &&
	    (rc = ovb_net_tap_set_gso_max(tap, t->info.lso_max)) != 0)
		ovb_info("tap %s: gso_max_size %u not set (%s): larger TSO "
			 "frames are segmented here", ovb_net_tap_name(tap),
			 t->info.lso_max, strerror(-rc));
	on = __atomic_load_n(&t->info.link_up, __ATOMIC_ACQUIRE);
	ioctl(ovb_net_tap_fd(tap, 0), TUNSETCARRIER, &on);
	if ((rc = ovb_net_tap_set_up(tap, true)) != 0 ||
	    (t->p.addr && (rc = tap_addr(ovb_net_tap_name(tap), t->p.addr)))) {
		ovb_net_tap_close(tap);
		return rc;
	}
	if (t->p.netns)
		lo_up();
	__atomic_store_n(&t->tap, tap, __ATOMIC_RELEASE);
	return 0;
}

/* On its own thread so that setns() moves only this thread. */
static void *tap_setup_thread(void *arg)
{
	struct ovb_tap_nic *t = arg;
	char path[256];
	int fd;

	if (t->p.netns) {
		snprintf(path, sizeof(path), NETNS_DIR "/%s", t->p.netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			t->setup_rc = -errno;
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
	}
	t->setup_rc = tap_configure(t);
	return NULL;
}

int ovb_tap_nic_start(struct ovb_vsc_dev *dev,
		      const struct ovb_tap_nic_params *p,
		      struct ovb_tap_nic **out)
{
	struct ovb_netvsc_params np = { 0 };
	struct ovb_tap_nic *t = calloc(1, sizeof(*t));
	pthread_t th;
	int rc;

	if (!t)
		return -ENOMEM;
	t->p = *p;
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->netns && (rc = ovb_netns_ensure(p->netns)) != 0) {
		ovb_err("tap: network namespace %s: %s", p->netns,
			strerror(-rc));
		goto err;
	}
	np.queues = p->queues ? p->queues : 1;
	np.poll_us = p->poll_us;
	np.rx = tap_rx;
	np.rxv = tap_rxv;
	np.link = tap_link;
	np.ctx = t;
	if ((rc = ovb_netvsc_open(dev, &np, &t->nic)) != 0) {
		ovb_err("tap: synthetic NIC did not come up: %s",
			strerror(-rc));
		goto err;
	}
	ovb_netvsc_get_info(t->nic, &t->info);
	if (pthread_create(&th, NULL, tap_setup_thread, t)) {
		rc = -EAGAIN;
		goto err_nic;
	}
	pthread_join(th, NULL);
	if ((rc = t->setup_rc) != 0) {
		ovb_err("tap %s%s%s: %s", p->ifname, p->netns ? " in " : "",
			p->netns ? p->netns : "", strerror(-rc));
		goto err_nic;
	}
	t->nq = ovb_net_tap_queues(t->tap);
	for (unsigned int i = 0; i < t->nq; i++) {
		t->rd[i].t = t;
		t->rd[i].q = i;
		if (p->worker_reads) {
			rc = ovb_netvsc_set_source(t->nic, i,
						   ovb_net_tap_fd(t->tap, i),
						   tap_source, &t->rd[i]);
			if (rc) {
				ovb_err("tap %s: queue %u to its channel "
					"worker: %s", ovb_tap_nic_name(t), i,
					strerror(-rc));
				goto err_tap;
			}
			continue;
		}
		t->rd[i].started = !pthread_create(&t->rd[i].thread, NULL,
						   tap_reader_thread, &t->rd[i]);
		if (t->rd[i].started) { /* ps -L, /proc/PID/task */
			char name[16];

			snprintf(name, sizeof(name), "tap-reader-%u",
				 i % OVB_NETVSC_MAX_QUEUES);
			pthread_setname_np(t->rd[i].thread, name);
		}
	}
	*out = t;
	return 0;
err_tap:
	ovb_netvsc_close(t->nic); /* the workers stop reading the TAP */
	ovb_net_tap_close(t->tap);
	close(t->stop_fd);
	free(t);
	return rc;
err_nic:
	ovb_netvsc_close(t->nic);
err:
	close(t->stop_fd);
	free(t);
	return rc;
}

const char *ovb_tap_nic_name(const struct ovb_tap_nic *t)
{
	return t->tap ? ovb_net_tap_name(t->tap) : t->p.ifname;
}

struct ovb_netvsc *ovb_tap_nic_netvsc(struct ovb_tap_nic *t)
{
	return t->nic;
}

void ovb_tap_nic_stop(struct ovb_tap_nic *t)
{
	uint64_t one = 1;
	struct ovb_net_tap *tap = t->tap;

	if (write(t->stop_fd, &one, sizeof(one)) != sizeof(one))
		ovb_warn("tap: stop signal lost");
	for (unsigned int i = 0; i < t->nq; i++)
		if (t->rd[i].started)
			pthread_join(t->rd[i].thread, NULL);
	/* No receive callback after this, and no worker reads the TAP. */
	ovb_netvsc_close(t->nic);
	__atomic_store_n(&t->tap, NULL, __ATOMIC_RELEASE);
	ovb_net_tap_close(tap);
	close(t->stop_fd);
	free(t);
}
