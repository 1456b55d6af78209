// SPDX-License-Identifier: MIT
/*
 * openvmbus-fio.so: a fio external ioengine that drives storvsc directly,
 * so fio measures the paravirtual path (guest ring -> host storvsp ->
 * image file) with no FUSE or loop device in the way.
 *
 *   fio --ioengine=external:build/openvmbus-fio.so \
 *       --filename='/run/host.sock[,disk=scsi0/lun0][,poll=US]
 *                   [,wait=auto|job|worker][,subchannels=N][,mem=SIZE]'
 *
 * OVB_FIO_VERBOSE=1 in the environment prints, per job, how many requests
 * went out and how many units were zero-copy or bounced.
 *
 * filename names a `vmbus host --socket` and the disk on it (default: the
 * first LUN of the first controller; "ide0/lun0" for an IDE disk).  Each
 * fio job is its own guest partition: one connection, storvsc with
 * subchannels sub-channels (default 1), mem bytes of guest memory
 * (default 256M).  poll=US turns on polling mode: storvsc's channel
 * workers spin US microseconds before sleeping, and the job's thread reaps
 * completions by polling the rings itself instead of being woken.
 * In interrupt mode the job's thread, with nothing completed, drains the
 * rings once and then sleeps on them itself (wait=job:
 * ovb_storvsc_poll_sleep, the workers kept asleep), so the host's signal
 * wakes it alone; wait=worker hands the rings back to the workers and
 * sleeps until one of them wakes it (two wake-ups per completion batch,
 * but a worker drains beside the busy job thread); wait=auto, the
 * default, the first while most requests are 64 KiB or more, else the
 * second (engine.h).
 *
 * Data buffers: storvsc moves data GPA-direct, so a buffer must be guest
 * memory.  fio allocates its buffers itself, max_bs bytes per unit, laid
 * end to end; with two or more units the engine learns max_bs from that
 * stride and moves each unit's buffer into guest memory once (io_u->buf
 * then points there for good), so I/O is zero-copy as in a real guest.
 * With one unit (iodepth=1) it bounce-copies through guest memory.
 *
 * Threads: fio calls everything on the job's thread; storvsc completion
 * callbacks run on channel workers (or on the polling job thread) and only
 * push onto a lock-free list, waking the job thread if it sleeps.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench/fio/engine.h"

/* ---- messages ----------------------------------------------------------- */

void ovbf_say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "openvmbus-fio: %s\n", line);
}

/* ---- jobs: fio's thread_data -> our state ------------------------------- */

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ovbf_job *jobs;
static __thread struct ovbf_job *job_cache;

struct ovbf_job *ovbf_job_of(struct fioabi_td *td)
{
	struct ovbf_job *j = job_cache;

	if (j && j->td == td)
		return j;
	pthread_mutex_lock(&jobs_lock);
	for (j = jobs; j && j->td != td; j = j->next)
		;
	pthread_mutex_unlock(&jobs_lock);
	if (j)
		job_cache = j;
	return j;
}

/* The table is refused by any fio whose layouts we have not checked. */
static bool fio_is_known(void)
{
	const char *v = dlsym(RTLD_DEFAULT, "fio_version_string");

	if (v && !strcmp(v, FIOABI_VERSION))
		return true;
	ovbf_say("built for %s's engine ABI, but this is %s", FIOABI_VERSION,
		 v ? v : "not fio (no fio_version_string)");
	return false;
}

/* ---- the job's files, as fio sized them before it started --------------- */

/*
 * Of the engine's calls, fio counts only init()'s failure as the job's
 * error (td_io_init() stores the returned errno in the job and fio exits
 * non-zero); a failing open_file(), setup() or post_init() inside the job
 * just ends it, and fio exits 0 as if all went well.  So the job joins its
 * host in init().  init() is not told the files, but fio's main process
 * sizes every job's files before it starts any (create_serialize=1, fio's
 * default): get_file_size() notes each file's spec under the job's td, and
 * the job finds the note in init() -- a forked job has a copy, a thread
 * job shares it.  A note names at most OVBF_MAX_FILES files, all on one
 * host with one set of options (one job is one guest partition).
 */
struct ovbf_plan {
	struct fioabi_td *td;
	struct ovbf_plan *next;           /* all plans (jobs_lock) */
	struct ovbf_spec spec[OVBF_MAX_FILES];
	unsigned int n;
};

static struct ovbf_plan *plans;

static bool plan_has(const struct ovbf_plan *p, const struct ovbf_spec *sp)
{
	for (unsigned int i = 0; i < p->n; i++)
		if (!strcmp(p->spec[i].path, sp->path) &&
		    !strcmp(p->spec[i].ctl, sp->ctl) && p->spec[i].lun == sp->lun)
			return true;
	return false;
}

/* Notes @sp (parsed from @name) as one of @td's files. */
static int plan_note(struct fioabi_td *td, const char *name,
		     const struct ovbf_spec *sp)
{
	struct ovbf_plan *p;
	int rc = 0;

	pthread_mutex_lock(&jobs_lock);
	for (p = plans; p && p->td != td; p = p->next)
		;
	if (!p && (p = calloc(1, sizeof(*p)))) {
		p->td = td;
		p->next = plans;
		plans = p;
	}
	if (!p) {
		rc = -ENOMEM;
	} else if (plan_has(p, sp)) {
		rc = 0; /* fio sized the file again */
	} else if (p->n && !ovbf_spec_same_host(&p->spec[0], sp)) {
		ovbf_say("%s: one job talks to one host with one set of "
			 "options (this job already uses %s)", name,
			 p->spec[0].path);
		rc = -EINVAL;
	} else if (p->n == OVBF_MAX_FILES) {
		ovbf_say("%s: at most %d files per job", name, OVBF_MAX_FILES);
		rc = -EINVAL;
	} else {
		p->spec[p->n++] = *sp;
	}
	pthread_mutex_unlock(&jobs_lock);
	return rc;
}

/* Takes @td's note off the list; NULL when fio never sized its files. */
static struct ovbf_plan *plan_take(struct fioabi_td *td)
{
	struct ovbf_plan *p, **pp;

	pthread_mutex_lock(&jobs_lock);
	for (pp = &plans; *pp && (*pp)->td != td; pp = &(*pp)->next)
		;
	p = *pp;
	if (p)
		*pp = p->next;
	pthread_mutex_unlock(&jobs_lock);
	return p;
}

/*
 * Joins the host the plan names and finds every disk on it: the job's
 * failure to reach its disks is counted by fio only from here.
 */
static int job_join(struct ovbf_job *j, const struct ovbf_plan *p)
{
	struct ovbf_target t;
	int rc;

	rc = ovbf_conn_open(&j->conn, &p->spec[0]);
	for (unsigned int i = 0; !rc && i < p->n; i++)
		rc = ovbf_conn_target(&j->conn, &p->spec[i], &t);
	if (rc)
		ovbf_conn_close(&j->conn);
	return rc;
}

/* Answers fio with a positive errno, which fio keeps as the job's error. */
static int ovbf_init(struct fioabi_td *td)
{
	struct ovbf_plan *p;
	struct ovbf_job *j;
	int rc;

	if (!fio_is_known())
		return EINVAL;
	p = plan_take(td);
	if (!p) {
		ovbf_say("the job started before fio sized its files; this "
			 "engine needs create_serialize=1 (fio's default)");
		return EINVAL;
	}
	j = calloc(1, sizeof(*j));
	rc = j ? job_join(j, p) : -ENOMEM;
	free(p);
	if (rc) {
		free(j);
		return -rc;
	}
	j->td = td;
	j->ready_tail = &j->ready;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_lock(&jobs_lock);
	j->next = jobs;
	jobs = j;
	pthread_mutex_unlock(&jobs_lock);
	job_cache = j;
	return 0;
}

static void ovbf_cleanup(struct fioabi_td *td)
{
	struct ovbf_job *j = ovbf_job_of(td), **pp;

	if (!j)
		return;
	if (getenv("OVB_FIO_VERBOSE"))
		ovbf_say("%s: %llu requests, %llu units zero-copy, %llu "
			 "bounced", j->conn.spec.path,
			 (unsigned long long)j->requests,
			 (unsigned long long)j->adopted,
			 (unsigned long long)j->bounced);
	if (!ovbf_drain(j))
		ovbf_say("%u requests never completed; leaving the job's "
			 "memory to them", j->inflight);
	pthread_mutex_lock(&jobs_lock);
	for (pp = &jobs; *pp && *pp != j; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = j->next;
	pthread_mutex_unlock(&jobs_lock);
	job_cache = NULL;
	if (j->inflight)
		return;
	ovbf_conn_close(&j->conn);
	free(j->units);
	free(j->events);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	if (j->efd >= 0)
		close(j->efd);
	free(j);
}

/* ---- files -------------------------------------------------------------- */

/*
 * fio asks for the size in its main process before it starts the job (see
 * the plan above): a short-lived connection answers it, and the file is
 * noted for the job's init().
 */
static int ovbf_get_file_size(struct fioabi_td *td, struct fioabi_file *f)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct ovbf_conn tmp = { 0 };
	struct ovbf_target tgt;
	struct ovbf_spec sp;
	int rc;

	if (ovbf_spec_parse(f->file_name, &sp))
		return 1;
	if (j) /* sized again inside the job: it holds the connection */
		return ovbf_conn_target(&j->conn, &sp, &tgt) ? 1
			: (f->real_file_size = tgt.capacity, 0);
	if (plan_note(td, f->file_name, &sp))
		return 1;
	sp.subchannels = 0;
	sp.poll_us = 0;
	sp.mem = 16u << 20; /* rings of every controller, no data */
	rc = ovbf_conn_open(&tmp, &sp);
	if (!rc)
		rc = ovbf_conn_target(&tmp, &sp, &tgt);
	if (!rc)
		f->real_file_size = tgt.capacity;
	ovbf_conn_close(&tmp);
	return rc ? 1 : 0;
}

/* init() joined the host and checked every file; this binds @f to its LUN. */
static int ovbf_open_file(struct fioabi_td *td, struct fioabi_file *f)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct ovbf_target *t;
	struct ovbf_spec sp;

	if (!j || ovbf_spec_parse(f->file_name, &sp))
		return 1;
	for (unsigned int i = 0; i < j->ntargets; i++)
		if (j->targets[i].file == f)
			return 0;
	if (j->ntargets == OVBF_MAX_FILES ||
	    !ovbf_spec_same_host(&j->conn.spec, &sp)) {
		ovbf_say("%s: not among the files fio sized for this job",
			 f->file_name);
		return 1;
	}
	t = &j->targets[j->ntargets];
	if (ovbf_conn_target(&j->conn, &sp, t))
		return 1;
	t->file = f;
	j->ntargets++;
	return 0;
}

/* The connection stays up until cleanup: fio may reopen the file. */
static int ovbf_close_file(struct fioabi_td *td, struct fioabi_file *f)
{
	return 0;
}

/* Nothing to drop: the host's page cache is the host's business. */
static int ovbf_invalidate(struct fioabi_td *td, struct fioabi_file *f)
{
	return 0;
}

/* ---- units ------------------------------------------------------------- */

static int ovbf_io_u_init(struct fioabi_td *td, struct fioabi_io_u *u)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct ovbf_unit *n;

	if (!j)
		return 1;
	if (j->nunits == j->cap) {
		unsigned int cap = j->cap ? j->cap * 2 : 16;
		struct ovbf_unit **units = realloc(j->units,
						   cap * sizeof(*units));
		struct fioabi_io_u **ev = realloc(j->events,
						  cap * sizeof(*ev));

		if (units)
			j->units = units;
		if (ev)
			j->events = ev;
		if (!units || !ev)
			return 1;
		j->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return 1;
	n->u = u;
	n->job = j;
	u->engine_data = n;
	j->units[j->nunits++] = n;
	return 0;
}

static void ovbf_io_u_free(struct fioabi_td *td, struct fioabi_io_u *u)
{
	struct ovbf_job *j = ovbf_job_of(td);
	struct ovbf_unit *n = u->engine_data;

	if (!n)
		return;
	u->engine_data = NULL;
	if (n->swapped) /* fio frees its own buffer, not ours */
		u->buf = n->fio_buf;
	if (j) {
		for (unsigned int i = 0; i < j->nunits; i++)
			if (j->units[i] == n)
				j->units[i] = j->units[--j->nunits];
		ovbf_mem_free(j, n->gbuf, n->glen);
		ovbf_mem_free(j, n->bbuf, n->blen);
	}
	free(n);
}

/* ---- the table fio looks up --------------------------------------------- */

struct fioabi_ops ioengine = {
	.name = "openvmbus",
	.version = FIOABI_OPS_VERSION,
	.flags = FIOABI_F_DISKLESSIO | FIOABI_F_NOEXTEND | FIOABI_F_NODISKUTIL,
	.init = ovbf_init,
	.queue = ovbf_queue,
	.getevents = ovbf_getevents,
	.event = ovbf_event,
	.cleanup = ovbf_cleanup,
	.open_file = ovbf_open_file,
	.close_file = ovbf_close_file,
	.invalidate = ovbf_invalidate,
	.get_file_size = ovbf_get_file_size,
	.io_u_init = ovbf_io_u_init,
	.io_u_free = ovbf_io_u_free,
};
