// SPDX-License-Identifier: MIT
/*
 * The in-process partition link: a guest partition and the host in one
 * process.  Guest memory is a memfd that the server maps a second time,
 * exactly as over the socket link (the memfd provider), or anonymous
 * memory the server reaches through the host-memory provider, as in an
 * embedding VMM (anon_memory); messages, signals and eventfds cross
 * through two ordered queues, each drained by its own thread.  Layer: link.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "link/inproc_test.h"
#include "openvmbus/client.h"
#include "openvmbus/gmem.h"
#include "openvmbus/hv.h"
#include "openvmbus/link.h"
#include "openvmbus/log.h"

enum item_kind { IT_POST, IT_SIGNAL, IT_FDS, IT_MESSAGE, IT_EVENT };

struct item {
	struct item *next;
	enum item_kind kind;
	uint32_t a, b;  /* conn id / sint / relid */
	int fd[2];
	size_t len;
	uint8_t msg[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, **tail;
	bool stop, busy;
	bool frozen;    /* tests: hold every item until thawed */
	pthread_t thread;
	struct ovb_inproc *l;
	void (*handle)(struct ovb_inproc *l, struct item *it);
};

struct ovb_inproc {
	struct ovb_gmem *gmem;      /* the guest's view */
	struct ovb_gmem *host_gmem; /* the host's view of the same RAM */
	uint8_t *anon, *anon_host;  /* anon_memory: both mappings */
	size_t anon_size;
	struct ovb_partition *part;
	struct ovb_client *cl;
	struct queue to_host, to_guest;
	bool (*hook)(const void *msg, size_t len, void *ctx);
	void *hook_ctx;
	void (*event_hook)(uint32_t relid, void *ctx);
	void *event_hook_ctx;
};

static void *queue_main(void *arg)
{
	struct queue *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct item *it = q->frozen ? NULL : q->head;

		if (!it) {
			q->busy = false;
			pthread_cond_broadcast(&q->cond);
			if (q->stop)
				break;
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		q->busy = true;
		q->head = it->next;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		q->handle(q->l, it);
		free(it);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static int queue_start(struct queue *q, struct ovb_inproc *l,
		       void (*handle)(struct ovb_inproc *, struct item *))
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->tail = &q->head;
	q->l = l;
	q->handle = handle;
	return -pthread_create(&q->thread, NULL, queue_main, q);
}

static void queue_stop(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	q->frozen = false;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	while (q->head) {
		struct item *it = q->head;

		q->head = it->next;
		for (int i = 0; i < 2; i++)
			if (it->kind == IT_FDS && it->fd[i] >= 0)
				close(it->fd[i]);
		free(it);
	}
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

static int queue_push(struct queue *q, enum item_kind kind, uint32_t a,
		      uint32_t b, const void *msg, size_t len)
{
	struct item *it;

	if (len > sizeof(it->msg))
		return -EMSGSIZE;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->kind = kind;
	it->a = a;
	it->b = b;
	it->len = len;
	it->fd[0] = it->fd[1] = -1;
	if (len)
		memcpy(it->msg, msg, len);
	pthread_mutex_lock(&q->lock);
	if (q->stop) {
		pthread_mutex_unlock(&q->lock);
		free(it);
		return -ECONNRESET;
	}
	*q->tail = it;
	q->tail = &it->next;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* ---- host side ------------------------------------------------------------ */

static void host_handle(struct ovb_inproc *l, struct item *it)
{
	switch (it->kind) {
	case IT_POST:
		ovb_server_post_message(l->part, it->a, it->msg, it->len);
		break;
	case IT_SIGNAL:
		ovb_server_signal_event(l->part, it->a);
		break;
	case IT_FDS:
		if (ovb_server_set_event_fds(l->part, it->a, it->b, it->fd[0],
					     it->fd[1])) {
			close(it->fd[0]);
			close(it->fd[1]);
		}
		break;
	default:
		break;
	}
}

static int host_send_message(void *link, uint32_t sint, const void *msg,
			     size_t len)
{
	struct ovb_inproc *l = link;

	return queue_push(&l->to_guest, IT_MESSAGE, sint, 0, msg, len);
}

static int host_signal(void *link, uint32_t relid)
{
	struct ovb_inproc *l = link;

	return queue_push(&l->to_guest, IT_EVENT, relid, 0, NULL, 0);
}

static const struct ovb_partition_link_ops inproc_host_ops = {
	.send_message = host_send_message,
	.signal = host_signal,
};

/* ---- guest side ------------------------------------------------------------ */

static void guest_handle(struct ovb_inproc *l, struct item *it)
{
	if (it->kind == IT_MESSAGE) {
		if (!l->hook || l->hook(it->msg, it->len, l->hook_ctx))
			ovb_client_deliver_message(l->cl, it->a, it->msg,
						   it->len);
	} else if (it->kind == IT_EVENT) {
		if (l->event_hook)
			l->event_hook(it->a, l->event_hook_ctx);
		ovb_client_deliver_event(l->cl, it->a);
	}
}

static int guest_post(void *link, uint32_t conn_id, const void *msg,
		      size_t len)
{
	struct ovb_inproc *l = link;

	return queue_push(&l->to_host, IT_POST, conn_id, 0, msg, len);
}

static int guest_signal(void *link, uint32_t conn_id)
{
	struct ovb_inproc *l = link;

	return queue_push(&l->to_host, IT_SIGNAL, conn_id, 0, NULL, 0);
}

static int guest_set_fds(void *link, uint32_t relid, uint32_t conn_id,
			 int kick_fd, int call_fd)
{
	struct ovb_inproc *l = link;
	struct item *it = calloc(1, sizeof(*it));

	if (!it) {
		/* We own the fds whatever we return (client.h). */
		close(kick_fd);
		close(call_fd);
		return -ENOMEM;
	}
	it->kind = IT_FDS;
	it->a = relid;
	it->b = conn_id;
	it->fd[0] = kick_fd;
	it->fd[1] = call_fd;
	pthread_mutex_lock(&l->to_host.lock);
	*l->to_host.tail = it;
	l->to_host.tail = &it->next;
	pthread_cond_broadcast(&l->to_host.cond);
	pthread_mutex_unlock(&l->to_host.lock);
	return 0;
}

static const struct ovb_client_link_ops inproc_guest_ops = {
	.post_message = guest_post,
	.signal_event = guest_signal,
	.set_event_fds = guest_set_fds,
};

static const struct ovb_client_link_ops inproc_guest_ops_slow = {
	.post_message = guest_post,
	.signal_event = guest_signal,
};

/* ---- lifecycle -------------------------------------------------------------- */

/* Memfd guest RAM, which the host maps a second time from a dup. */
static int inproc_mem_memfd(struct ovb_inproc *l,
			    const struct ovb_inproc_params *p)
{
	int rc, fd;

	if ((rc = ovb_memfd_gmem_create(p->name, &l->gmem)) != 0 ||
	    (rc = ovb_memfd_gmem_create(p->name, &l->host_gmem)) != 0)
		return rc;
	fd = ovb_memfd_gmem_create_region(l->gmem, p->mem_gpa, p->mem_size);
	if (fd < 0)
		return fd;
	fd = dup(fd);
	if (fd < 0)
		return -errno;
	rc = ovb_memfd_gmem_add(l->host_gmem, p->mem_gpa, p->mem_size, fd, 0);
	if (rc)
		close(fd);
	return rc;
}

/*
 * Anonymous guest RAM reached through the host-memory provider, as an
 * embedding VMM has it.  A real guest hands out GPADLs whose pages are
 * scattered (vmalloc'ed buffers); ours are contiguous, so the host gets
 * its own mapping of the same pages (mremap of a shared mapping with old
 * size 0 maps the same pages again) with the chunks of each part in
 * reverse order: small chunks in the low INPROC_ANON_LOW bytes, where the
 * guest allocates its rings first, 1 MiB chunks above (big buffers).  A
 * GPADL that crosses a chunk is scattered in the host's memory, and the
 * host must serve it through a paged view.
 */
#define INPROC_ANON_LOW (4u << 20)
#define INPROC_ANON_HIGH_CHUNK (1u << 20)

/* Map [@from, @from + @len) of guest RAM reversed in chunks of @chunk. */
static int inproc_anon_part(struct ovb_inproc *l, uint64_t gpa, size_t from,
			    size_t len, size_t chunk)
{
	size_t n = len / chunk;

	if (len % chunk) {
		chunk = len;
		n = 1;
	}
	for (size_t k = 0; k < n; k++) {
		uint8_t *at = l->anon_host + from + (n - 1 - k) * chunk;
		int rc;

		if (mremap(l->anon + from + k * chunk, 0, chunk,
			   MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
			return -errno;
		rc = ovb_gmem_host_add(l->host_gmem, gpa + from + k * chunk,
				       chunk, at);
		if (rc)
			return rc;
	}
	return 0;
}

static int inproc_mem_anon(struct ovb_inproc *l,
			   const struct ovb_inproc_params *p)
{
	uint64_t chunk = p->anon_chunk ? p->anon_chunk : 4 * 4096;
	size_t size = p->mem_size, low;
	int rc;

	if (!size || size % 4096 || chunk % 4096 || !chunk)
		return -EINVAL;
	if ((rc = ovb_gmem_host_create(p->name, &l->gmem)) != 0 ||
	    (rc = ovb_gmem_host_create(p->name, &l->host_gmem)) != 0)
		return rc;
	l->anon = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l->anon == MAP_FAILED) {
		l->anon = NULL;
		return -errno;
	}
	l->anon_size = size;
	l->anon_host = mmap(NULL, size, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (l->anon_host == MAP_FAILED) {
		l->anon_host = NULL;
		return -errno;
	}
	low = size < INPROC_ANON_LOW ? size : INPROC_ANON_LOW;
	low -= low % chunk;
	if ((low && (rc = inproc_anon_part(l, p->mem_gpa, 0, low, chunk))) ||
	    (size > low &&
	     (rc = inproc_anon_part(l, p->mem_gpa, low, size - low,
				    INPROC_ANON_HIGH_CHUNK))))
		return rc;
	if ((rc = ovb_gmem_host_add(l->gmem, p->mem_gpa, size, l->anon)) != 0)
		return rc;
	return ovb_gmem_pool_add(l->gmem, p->mem_gpa, size);
}

static void inproc_mem_free(struct ovb_inproc *l)
{
	ovb_gmem_destroy(l->gmem);
	ovb_gmem_destroy(l->host_gmem);
	if (l->anon)
		munmap(l->anon, l->anon_size);
	if (l->anon_host)
		munmap(l->anon_host, l->anon_size);
}

int ovb_inproc_create(struct ovb_server *srv,
		      const struct ovb_inproc_params *p,
		      struct ovb_inproc **out)
{
	struct ovb_inproc *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	rc = p->anon_memory ? inproc_mem_anon(l, p) : inproc_mem_memfd(l, p);
	if (rc)
		goto err_mem;
	rc = ovb_server_partition_create(srv, p->name, &inproc_host_ops, l,
					 l->host_gmem, &l->part);
	if (rc)
		goto err_mem;
	rc = queue_start(&l->to_host, l, host_handle);
	if (rc)
		goto err_part;
	rc = queue_start(&l->to_guest, l, guest_handle);
	if (rc)
		goto err_qh;
	rc = ovb_client_create(p->no_eventfd ? &inproc_guest_ops_slow
					     : &inproc_guest_ops,
			       l, l->gmem, &l->cl);
	if (rc)
		goto err_qg;
	*out = l;
	return 0;
err_qg:
	queue_stop(&l->to_guest);
err_qh:
	queue_stop(&l->to_host);
err_part:
	ovb_server_partition_destroy(l->part);
err_mem:
	inproc_mem_free(l);
	free(l);
	return rc;
}

struct ovb_client *ovb_inproc_client(struct ovb_inproc *l) { return l->cl; }

struct ovb_partition *ovb_inproc_partition(struct ovb_inproc *l)
{
	return l->part;
}

void ovb_inproc_destroy(struct ovb_inproc *l)
{
	queue_stop(&l->to_host);
	ovb_server_partition_destroy(l->part);
	ovb_client_link_down(l->cl);
	queue_stop(&l->to_guest);
	ovb_client_destroy(l->cl);
	inproc_mem_free(l);
	free(l);
}

static void queue_sync(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->head || q->busy)
		pthread_cond_wait(&q->cond, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

void ovb_inproc_sync(struct ovb_inproc *l)
{
	for (int i = 0; i < 2; i++) {
		queue_sync(&l->to_host);
		queue_sync(&l->to_guest);
	}
}

int ovb_inproc_guest_post(struct ovb_inproc *l, uint32_t conn_id,
			  const void *msg, size_t len)
{
	return queue_push(&l->to_host, IT_POST, conn_id, 0, msg, len);
}

int ovb_inproc_host_send(struct ovb_inproc *l, const void *msg, size_t len)
{
	return queue_push(&l->to_guest, IT_MESSAGE, VMBUS_MESSAGE_SINT, 0, msg,
			  len);
}

void ovb_inproc_freeze_host(struct ovb_inproc *l, bool frozen)
{
	pthread_mutex_lock(&l->to_host.lock);
	l->to_host.frozen = frozen;
	pthread_cond_broadcast(&l->to_host.cond);
	pthread_mutex_unlock(&l->to_host.lock);
}

void ovb_inproc_set_host_hook(struct ovb_inproc *l,
			      bool (*hook)(const void *msg, size_t len,
					   void *ctx),
			      void *ctx)
{
	l->hook = hook;
	l->hook_ctx = ctx;
}

void ovb_inproc_set_event_hook(struct ovb_inproc *l,
			       void (*hook)(uint32_t relid, void *ctx),
			       void *ctx)
{
	l->event_hook = hook;
	l->event_hook_ctx = ctx;
}
