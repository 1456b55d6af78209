// SPDX-License-Identifier: MIT
/*
 * One open channel, either role: creation, accessors, signalling, failure
 * and stop.  The data path (sends, packet validation, the worker) is in
 * chan_io.c.  Layer: bus.  Signalling follows docs/wire.md B5 through
 * include/openvmbus/ring.h; the link only decides how a signal travels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus/chan_priv.h"
#include "openvmbus/atomic.h"
#include "openvmbus/deadline.h"
#include "openvmbus/log.h"
#include "openvmbus/ring.h"

/* ---- creation ---------------------------------------------------------- */

int ovb__chan_create(const struct ovb_chan_params *p, struct ovb_chan **out)
{
	struct ovb_chan *chan;
	int rc;

	chan = calloc(1, sizeof(*chan));
	if (!chan)
		return -ENOMEM;
	snprintf(chan->name, sizeof(chan->name), "%s", p->name);
	chan->relid = p->relid;
	chan->subidx = p->subidx;
	chan->role = p->role;
	chan->role_ctx = p->role_ctx;
	chan->recv = p->recv;
	chan->ctx = p->ctx;
	chan->tap = p->tap;
	chan->peer_fd = -1;
	chan->signal_fd = p->signal_fd;
	chan->send_timeout_ms = 30000;
	rc = p->out_pages ? ovb_ring_attach_pages(&chan->out, p->out_ctl,
						  p->out_pages, p->out_size,
						  "out")
			  : ovb_ring_attach(&chan->out, p->out_ctl, p->out_data,
					    p->out_size, "out");
	if (!rc)
		rc = p->in_pages ? ovb_ring_attach_pages(&chan->in, p->in_ctl,
							 p->in_pages,
							 p->in_size, "in")
				 : ovb_ring_attach(&chan->in, p->in_ctl,
						   p->in_data, p->in_size,
						   "in");
	if (rc)
		goto err;
	snprintf(chan->out.name, sizeof(chan->out.name), "relid %u out",
		 p->relid);
	snprintf(chan->in.name, sizeof(chan->in.name), "relid %u in", p->relid);
	/* Whoever set the rings up, the ring we write says what we honour. */
	ovb_ring_advertise(&chan->out);
	chan->wake_fd = p->wait_fd >= 0 ? p->wait_fd
					: eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	chan->park_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	chan->rxbuf_len = p->in_size;
	chan->rxbuf = malloc(chan->rxbuf_len);
	chan->req = calloc(REQ_SLOTS, sizeof(*chan->req));
	if (chan->wake_fd < 0 || chan->park_fd < 0 || !chan->rxbuf ||
	    !chan->req) {
		rc = -ENOMEM;
		goto err;
	}
	for (uint32_t i = 0; i < REQ_SLOTS; i++)
		chan->req[i].next_free = i + 2 <= REQ_SLOTS ? i + 2 : 0;
	chan->req_free = 1;
	pthread_mutex_init(&chan->send_lock, NULL);
	ovb_cond_init(&chan->send_cond);
	pthread_mutex_init(&chan->req_lock, NULL);
	pthread_mutex_init(&chan->read_lock, NULL);
	*out = chan;
	return 0;
err:
	/* The caller's @p->wait_fd stays the caller's on failure. */
	if (p->wait_fd < 0 && chan->wake_fd > 0)
		close(chan->wake_fd);
	if (chan->park_fd >= 0)
		close(chan->park_fd);
	free(chan->rxbuf);
	free(chan->req);
	free(chan);
	return rc ? rc : -EINVAL;
}

void ovb__chan_destroy(struct ovb_chan *chan)
{
	if (!chan)
		return;
	ovb__chan_stop(chan);
	close(chan->wake_fd);
	close(chan->park_fd);
	if (chan->peer_fd >= 0)
		close(chan->peer_fd);
	if (chan->signal_fd >= 0)
		close(chan->signal_fd);
	pthread_mutex_destroy(&chan->send_lock);
	pthread_cond_destroy(&chan->send_cond);
	pthread_mutex_destroy(&chan->req_lock);
	pthread_mutex_destroy(&chan->read_lock);
	free(chan->rxbuf);
	free(chan->side);
	free(chan->reapbuf);
	free(chan->req);
	free(chan);
}

void *ovb_chan_ctx(const struct ovb_chan *chan) { return chan->ctx; }
void ovb_chan_set_ctx(struct ovb_chan *chan, void *ctx) { chan->ctx = ctx; }
void *ovb__chan_role_ctx(const struct ovb_chan *chan) { return chan->role_ctx; }
uint32_t ovb_chan_relid(const struct ovb_chan *chan) { return chan->relid; }
uint16_t ovb_chan_subidx(const struct ovb_chan *chan) { return chan->subidx; }
const char *ovb_chan_name(const struct ovb_chan *chan) { return chan->name; }
int ovb__chan_wait_fd(const struct ovb_chan *chan) { return chan->wake_fd; }

bool ovb__chan_has_peer_fd(const struct ovb_chan *chan)
{
	return __atomic_load_n(&chan->peer_fd, __ATOMIC_ACQUIRE) >= 0;
}

bool ovb_chan_is_dead(const struct ovb_chan *chan)
{
	return __atomic_load_n(&chan->dead, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&chan->stopping, __ATOMIC_ACQUIRE);
}

void ovb_chan_set_poll(struct ovb_chan *chan, uint32_t spin_us)
{
	__atomic_store_n(&chan->spin_us, spin_us, __ATOMIC_RELAXED);
}

void ovb_chan_set_adaptive(struct ovb_chan *chan, bool on)
{
	__atomic_store_n(&chan->reply_max_us, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&chan->adaptive, on, __ATOMIC_RELAXED);
}

void ovb_chan_set_adaptive_reply(struct ovb_chan *chan, uint32_t max_us)
{
	__atomic_store_n(&chan->reply_max_us, max_us, __ATOMIC_RELAXED);
	__atomic_store_n(&chan->adaptive, max_us > 0, __ATOMIC_RELAXED);
}

void ovb_chan_set_busy(struct ovb_chan *chan, ovb_chan_busy_fn *fn,
		       uint32_t max_us)
{
	/* Release: pairs with the worker's acquire load (chan_run.c). */
	__atomic_store_n(&chan->busy, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&chan->busy_max_us, fn ? max_us : 0,
			 __ATOMIC_RELEASE);
}

void ovb_chan_set_send_timeout(struct ovb_chan *chan, int ms)
{
	chan->send_timeout_ms = ms;
}

void ovb_chan_set_idle(struct ovb_chan *chan, ovb_chan_idle_fn *fn)
{
	/* Release: pairs with the runner's acquire load (chan_run.c). */
	__atomic_store_n(&chan->idle, fn, __ATOMIC_RELEASE);
}

void ovb_chan_set_spin(struct ovb_chan *chan, ovb_chan_spin_fn *fn)
{
	/* Release: pairs with the runner's acquire loads (chan_run.c). */
	__atomic_store_n(&chan->spin, fn, __ATOMIC_RELEASE);
}

void ovb_chan_set_reply_batch(struct ovb_chan *chan, bool on)
{
	__atomic_store_n(&chan->reply_batch, on, __ATOMIC_RELAXED);
}

void ovb_chan_set_reply_every(struct ovb_chan *chan, unsigned int n)
{
	__atomic_store_n(&chan->reply_every, n, __ATOMIC_RELAXED);
}

int ovb_chan_add_fd(struct ovb_chan *chan, int fd, ovb_chan_fd_fn *fn)
{
	unsigned int n = chan->nxfd;

	if (n == CHAN_MAX_FDS)
		return -ENOSPC;
	chan->xfd[n] = fd;
	chan->xfn[n] = fn;
	__atomic_store_n(&chan->xoff[n], false, __ATOMIC_RELAXED);
	/* Release: a running worker that sees the count sees the slot. */
	__atomic_store_n(&chan->nxfd, n + 1, __ATOMIC_RELEASE);
	/* Caller-driven and already running: watch it from now on. */
	ovb__chan_loop_swap_fd(chan, -1, fd);
	/* A worker asleep in poll() takes the new fd on its next round. */
	if (chan->started && !chan->loop)
		ovb__chan_wake(chan);
	return 0;
}

void ovb_chan_kick(struct ovb_chan *chan)
{
	ovb__chan_wake(chan);
}

int ovb_chan_watch_fd(struct ovb_chan *chan, int fd, bool on)
{
	unsigned int n = __atomic_load_n(&chan->nxfd, __ATOMIC_ACQUIRE);

	if (chan->loop)
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < n; i++) {
		if (chan->xfd[i] != fd)
			continue;
		if (__atomic_exchange_n(&chan->xoff[i], !on,
					__ATOMIC_ACQ_REL) && on &&
		    !ovb__chan_on_worker(chan))
			ovb__chan_wake(chan); /* poll it from now on */
		return 0;
	}
	return -ENOENT;
}

void ovb_chan_get_stats(const struct ovb_chan *chan, struct ovb_chan_stats *st)
{
	const uint64_t *src = (const uint64_t *)&chan->st;
	uint64_t *dst = (uint64_t *)st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void ovb_chan_get_ring_info(const struct ovb_chan *chan,
			    struct ovb_chan_ring_info *ri)
{
	ri->out_size = chan->out.size;
	ri->in_size = chan->in.size;
	ri->out_used = chan->out.size - 8 - ovb_ring_write_avail(&chan->out);
	ri->in_used = ovb_ring_read_avail(&chan->in);
	ri->out_peer_masked = __atomic_load_n(
		OVB_U32(chan->out.ctl->interrupt_mask), __ATOMIC_RELAXED);
	ri->in_masked = __atomic_load_n(OVB_U32(chan->in.ctl->interrupt_mask),
					__ATOMIC_RELAXED);
}

/* ---- signalling ---------------------------------------------------------- */

void ovb__chan_signal_peer(struct ovb_chan *chan)
{
	STAT_ADD(chan, signals_out, 1);
	if (chan->signal_fd >= 0) {
		uint64_t one = 1;

		if (write(chan->signal_fd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	if (chan->role->signal)
		chan->role->signal(chan, chan->role_ctx);
}

void ovb__chan_wake(struct ovb_chan *chan)
{
	uint64_t one = 1;

	if (write(chan->wake_fd, &one, sizeof(one)) != sizeof(one))
		ovb_dbg("%s: wake eventfd write failed", chan->name);
	/* A worker parked by a sleeping caller waits there alone. */
	if (__atomic_load_n(&chan->parked, __ATOMIC_ACQUIRE))
		ovb__chan_unpark(chan);
}

void ovb__chan_peer_signal(struct ovb_chan *chan)
{
	uint64_t one = 1;

	/* wake_fd alone: a parked worker leaves it to the sleeping caller. */
	if (write(chan->wake_fd, &one, sizeof(one)) != sizeof(one))
		ovb_dbg("%s: wake eventfd write failed", chan->name);
}

void ovb__chan_set_peer_fds(struct ovb_chan *chan, int wait_fd, int signal_fd)
{
	if (signal_fd >= 0) {
		int old = __atomic_exchange_n(&chan->signal_fd, signal_fd,
					      __ATOMIC_ACQ_REL);
		/* Racing senders may still hold @old for one write. */
		if (old >= 0)
			close(old);
	}
	if (wait_fd >= 0) {
		int old = __atomic_exchange_n(&chan->peer_fd, wait_fd,
					      __ATOMIC_ACQ_REL);

		ovb__chan_loop_swap_fd(chan, old, wait_fd);
		if (old >= 0)
			close(old);
		ovb__chan_wake(chan); /* make the worker poll the new fd */
	}
}

/* ---- failure and stop ---------------------------------------------------- */

void ovb__chan_fail_requests(struct ovb_chan *chan)
{
	for (uint32_t i = 0; i < REQ_SLOTS; i++) {
		ovb_chan_comp_fn *fn = NULL;
		void *ctx = NULL;

		pthread_mutex_lock(&chan->req_lock);
		if (chan->req[i].used) {
			fn = chan->req[i].fn;
			ctx = chan->req[i].ctx;
			chan->req[i].used = false;
			chan->req[i].next_free = chan->req_free;
			chan->req_free = i + 1;
		}
		pthread_mutex_unlock(&chan->req_lock);
		if (fn)
			fn(chan, NULL, ctx);
	}
}

void ovb_chan_fail(struct ovb_chan *chan, int err, const char *why)
{
	if (__atomic_exchange_n(&chan->dead, true, __ATOMIC_ACQ_REL))
		return;
	/* A peer that left is news; a peer that broke the ring is a warning. */
	ovb_log(err == -ECONNRESET ? OVB_LOG_INFO : OVB_LOG_WARN,
		"%s: channel failed: %s", chan->name, why);
	STAT_ADD(chan, errors, 1);
	pthread_mutex_lock(&chan->send_lock);
	pthread_cond_broadcast(&chan->send_cond);
	pthread_mutex_unlock(&chan->send_lock);
	ovb__chan_wake(chan);
	ovb__chan_fail_requests(chan);
	if (chan->role->failed)
		chan->role->failed(chan, chan->role_ctx, err);
}

void ovb__chan_stop(struct ovb_chan *chan)
{
	if (__atomic_exchange_n(&chan->stopping, true, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&chan->send_lock);
	pthread_cond_broadcast(&chan->send_cond);
	pthread_mutex_unlock(&chan->send_lock);
	ovb__chan_wake(chan);
	ovb__chan_stop_runner(chan);
	ovb__chan_fail_requests(chan);
}
