// SPDX-License-Identifier: MIT
/*
 * bench/storage: storvsc -> storvsp over the socket link, measured next to
 * fio on the same backing file in the same run.
 *
 * For each target (a file on tmpfs, a file on the root file system) the
 * bench prefills the file and forks a host process that serves it as one
 * SCSI disk the way `vmbus host --echo 0 --disk FILE,size=N` does
 * (ovb_disk_spec_parse, the io_uring file backend, storvsp with its
 * defaults).  The bench process is the guest: storvsc with sub-channels,
 * QD requests kept in flight with ovb_storvsc_submit(), each resubmitted
 * from its own completion callback, buffers from ovb_storvsc_alloc().
 * Every workload runs three ways back to back: ours, fio io_uring (one job,
 * iodepth QD), fio psync (QD jobs).  Caching is equal on both sides: the
 * disk is opened without O_DIRECT and fio runs with direct=0 invalidate=0,
 * so all three read and write the host page cache.  Interrupt mode, or
 * with --poll US polling mode on both sides (storvsp and storvsc
 * cfg.poll_us, as `vmbus host --poll US`) with the load generator reaping
 * on its own thread (ovb_storvsc_poll).  Prints a
 * table with ratios and the issue's goals, and writes JSON.
 *
 * Longer than a bench file likes (about 850 lines) because the fio runner
 * and its JSON reader live here too: bench/ builds every .c file into its
 * own program, so they cannot move to a shared file.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "openvmbus/link.h"
#include "openvmbus/storvsc.h"
#include "openvmbus/storvsp.h"

#define QD_MAX 32u
#define WARMUP_NS 500000000ull
#define GUEST_MEM (64ull << 20)

struct workload {
	const char *name;
	const char *fio_rw; /* fio's rw= */
	bool write, seq;
	uint32_t bs;        /* bytes per request */
	unsigned int qd;    /* requests in flight (psync: jobs) */
};

static const struct workload workloads[] = {
	{ "randread-4k-qd1", "randread", false, false, 4096, 1 },
	{ "randread-4k-qd32", "randread", false, false, 4096, 32 },
	{ "randwrite-4k-qd1", "randwrite", true, false, 4096, 1 },
	{ "randwrite-4k-qd32", "randwrite", true, false, 4096, 32 },
	{ "seqread-128k-qd8", "read", false, true, 131072, 8 },
	{ "seqwrite-128k-qd8", "write", true, true, 131072, 8 },
};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

struct target {
	const char *name, *dir;
	char path[PATH_MAX];
	char sock[108];
	int fd;     /* ours, for prefill and fdatasync between runs */
	pid_t host;
};

static struct target targets[] = {
	{ .name = "tmpfs", .dir = "/dev/shm", .fd = -1 },
	{ .name = "disk", .dir = "/var/tmp", .fd = -1 },
};
#define NTARGET (sizeof(targets) / sizeof(targets[0]))

/** One measurement: ok false when it could not be taken. */
struct perf {
	bool ok;
	double iops, mbps, lat_us;
};

struct row {
	const struct target *t;
	const struct workload *w;
	unsigned int channels;
	struct perf ours, uring, psync;
};

static struct {
	double seconds;
	uint64_t size;
	const char *only, *target;
	unsigned int subchannels;
	uint32_t poll_us; /* --poll: polling mode, the main thread reaps */
	bool no_fio;
} opt = { .seconds = 2.0, .size = 1ull << 30, .subchannels = 1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull),
			       (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Let @ns pass: asleep, or with --poll reaping completions meanwhile. */
static void run_for(struct ovb_storvsc *s, uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	if (!opt.poll_us) {
		sleep_ns(ns);
		return;
	}
	while (now_ns() < end)
		for (int i = 0; i < 64; i++)
			if (ovb_storvsc_poll(s) < 0)
				return;
}

/* ---- the host process ---------------------------------------------------- */

static struct ovb_link_host *host_link;

static void host_sig(int sig)
{
	ovb_link_host_stop(host_link);
}

/* The forked host: `vmbus host --echo 0 --disk PATH,size=N`, in process. */
static void host_main(const struct target *t)
{
	struct ovb_storvsp_cfg cfg = { .name = "storvsp0",
				       .poll_us = opt.poll_us };
	struct ovb_disk_spec spec;
	struct ovb_storvsp *c = NULL;
	struct ovb_server *srv = NULL;
	struct ovb_blk *blk;
	char arg[PATH_MAX + 32], err[256] = "";

	snprintf(arg, sizeof(arg), "%s,size=%llu", t->path,
		 (unsigned long long)opt.size);
	if (ovb_disk_spec_parse(arg, &spec, err, sizeof(err)) ||
	    ovb_blk_file_open(&spec, &blk) || ovb_storvsp_create(&cfg, &c) ||
	    ovb_storvsp_add_lun(c, spec.lun, blk) < 0 ||
	    ovb_server_create(&srv) || ovb_storvsp_register(srv, c) ||
	    ovb_link_host_create(srv, t->sock, &host_link)) {
		fprintf(stderr, "bench/storage: host: cannot serve %s %s\n",
			t->path, err);
		_exit(1);
	}
	signal(SIGTERM, host_sig);
	ovb_link_host_run(host_link);
	ovb_link_host_destroy(host_link);
	ovb_server_destroy(srv);
	ovb_storvsp_destroy(c);
	_exit(0);
}

/* Create and prefill @t's file (so reads hit data), then fork its host. */
static int target_start(struct target *t)
{
	size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);

	snprintf(t->path, sizeof(t->path), "%s/ovb-bench-storage-%d.img",
		 t->dir, (int)getpid());
	snprintf(t->sock, sizeof(t->sock), "/tmp/ovb-bench-storage-%s-%d.sock",
		 t->name, (int)getpid());
	t->fd = open(t->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->fd < 0 || !buf) {
		fprintf(stderr, "bench/storage: %s: %s\n", t->path,
			strerror(errno));
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	for (uint64_t off = 0; off < opt.size; off += chunk)
		if (pwrite(t->fd, buf, chunk, (off_t)off) != (ssize_t)chunk) {
			fprintf(stderr, "bench/storage: prefill %s: %s\n",
				t->path, strerror(errno));
			free(buf);
			return -1;
		}
	free(buf);
	fdatasync(t->fd);
	t->host = fork();
	if (t->host == 0)
		host_main(t);
	if (t->host < 0)
		fprintf(stderr, "bench/storage: fork: %s\n", strerror(errno));
	return t->host < 0 ? -1 : 0;
}

static void target_stop(struct target *t)
{
	if (t->host > 0) {
		kill(t->host, SIGTERM);
		waitpid(t->host, NULL, 0);
		t->host = 0;
	}
	if (t->fd >= 0) {
		close(t->fd);
		unlink(t->path);
		t->fd = -1;
	}
}

/* ---- the guest: QD requests kept in flight ------------------------------- */

struct job;

struct slot {
	struct ovb_storvsc_io io;
	struct job *job;
	uint64_t rng;
	uint64_t t0;          /* submit time */
	uint64_t ios, lat_ns; /* relaxed atomics: the main thread samples */
};

struct job {
	struct ovb_storvsc *s;
	const struct workload *w;
	uint64_t blocks; /* of w->bs bytes */
	uint64_t cursor; /* sequential: the next block (atomic) */
	bool stop;       /* atomic */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int inflight; /* under lock */
	int err;               /* under lock: the first failure */
	struct slot slot[QD_MAX];
};

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* A slot stops: count it out, keep the first error. */
static void slot_retire(struct slot *sl, int err)
{
	struct job *j = sl->job;

	pthread_mutex_lock(&j->lock);
	if (err && !j->err)
		j->err = err;
	if (--j->inflight == 0)
		pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

/* Main thread first, then the completion callback (a channel worker). */
static void slot_issue(struct slot *sl)
{
	struct job *j = sl->job;
	uint64_t blk;
	int rc;

	if (j->w->seq)
		blk = __atomic_fetch_add(&j->cursor, 1, __ATOMIC_RELAXED);
	else
		blk = rng_next(&sl->rng);
	sl->io.offset = blk % j->blocks * j->w->bs;
	sl->t0 = now_ns();
	rc = ovb_storvsc_submit(j->s, &sl->io);
	if (rc)
		slot_retire(sl, rc);
}

static void slot_done(struct ovb_storvsc_io *io, int64_t res)
{
	struct slot *sl = io->ctx;
	struct job *j = sl->job;
	uint64_t lat = now_ns() - sl->t0;

	if (res != (int64_t)io->len) {
		__atomic_store_n(&j->stop, true, __ATOMIC_RELAXED);
		slot_retire(sl, res < 0 ? (int)res : -EIO);
		return;
	}
	__atomic_store_n(&sl->ios, sl->ios + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->lat_ns, sl->lat_ns + lat, __ATOMIC_RELAXED);
	if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED))
		slot_retire(sl, 0);
	else
		slot_issue(sl);
}

static void job_sample(struct job *j, uint64_t *ios, uint64_t *lat_ns)
{
	*ios = *lat_ns = 0;
	for (unsigned int i = 0; i < j->w->qd; i++) {
		*ios += __atomic_load_n(&j->slot[i].ios, __ATOMIC_RELAXED);
		*lat_ns += __atomic_load_n(&j->slot[i].lat_ns,
					   __ATOMIC_RELAXED);
	}
}

/* Stop issuing and wait for the slots; false if they never came back. */
static bool job_drain(struct job *j)
{
	struct timespec dl;
	int rc = 0;

	__atomic_store_n(&j->stop, true, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 90; /* beyond storvsc's reset escalation */
	pthread_mutex_lock(&j->lock);
	while (j->inflight && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&j->cond, &j->lock, &dl);
	pthread_mutex_unlock(&j->lock);
	return !j->inflight;
}

static int run_ours(struct ovb_storvsc *s, uint64_t capacity,
		    const struct workload *w, struct perf *p)
{
	struct job *j = calloc(1, sizeof(*j));
	uint64_t ios0, lat0, ios1, lat1, t0, t1;
	int rc = 0;

	if (!j)
		return -ENOMEM;
	j->s = s;
	j->w = w;
	j->blocks = capacity / w->bs;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	for (unsigned int i = 0; i < w->qd; i++) {
		struct slot *sl = &j->slot[i];

		sl->job = j;
		sl->rng = 0x9e3779b97f4a7c15ull * (i + 1);
		sl->io.op = w->write ? OVB_STORVSC_WRITE : OVB_STORVSC_READ;
		sl->io.len = w->bs;
		sl->io.done = slot_done;
		sl->io.ctx = sl;
		sl->io.buf = ovb_storvsc_alloc(s, w->bs);
		if (!sl->io.buf) {
			rc = -ENOMEM;
			goto out;
		}
		memset(sl->io.buf, 0xa5, w->bs);
	}
	j->inflight = w->qd;
	for (unsigned int i = 0; i < w->qd; i++)
		slot_issue(&j->slot[i]);
	run_for(s, WARMUP_NS);
	job_sample(j, &ios0, &lat0);
	t0 = now_ns();
	run_for(s, (uint64_t)(opt.seconds * 1e9));
	job_sample(j, &ios1, &lat1);
	t1 = now_ns();
	if (opt.poll_us)
		ovb_storvsc_poll_end(s); /* the workers finish the rest */
	if (!job_drain(j)) {
		fprintf(stderr, "bench/storage: %s: requests never completed\n",
			w->name);
		return -ETIMEDOUT; /* j stays allocated: callbacks may come */
	}
	rc = j->err;
	if (!rc && ios1 > ios0) {
		p->iops = (double)(ios1 - ios0) * 1e9 / (double)(t1 - t0);
		p->mbps = p->iops * w->bs / 1e6;
		p->lat_us = (double)(lat1 - lat0) / 1e3 / (double)(ios1 - ios0);
		p->ok = true;
	}
out:
	for (unsigned int i = 0; i < w->qd; i++)
		if (j->slot[i].io.buf)
			ovb_storvsc_free(s, j->slot[i].io.buf, w->bs);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
	return rc;
}

/* ---- fio, and just enough JSON to read its report ------------------------ */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Past the string whose opening quote is at @p. */
static const char *json_skip_str(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

/* Past the value at @p: at the ',', '}' or ']' that follows it. */
static const char *json_skip(const char *p)
{
	int depth = 0;

	while (*p) {
		if (*p == '"') {
			p = json_skip_str(p);
			continue;
		}
		if (!depth && (*p == ',' || *p == '}' || *p == ']'))
			return p;
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		p++;
	}
	return p;
}

/* The value of member @key of the object at @obj (its own members only). */
static const char *json_member(const char *obj, const char *key)
{
	size_t klen = strlen(key);
	const char *p;

	if (!obj || *(obj = json_ws(obj)) != '{')
		return NULL;
	for (p = obj + 1;; p++) {
		const char *k, *kend;

		p = json_ws(p);
		if (*p != '"')
			return NULL;
		k = p + 1;
		kend = json_skip_str(p);
		p = json_ws(kend);
		if (*p != ':')
			return NULL;
		p = json_ws(p + 1);
		if ((size_t)(kend - 1 - k) == klen && !memcmp(k, key, klen))
			return p;
		p = json_skip(p);
		if (*p != ',')
			return NULL;
	}
}

static bool json_num(const char *v, double *out)
{
	char *end;

	if (!v)
		return false;
	*out = strtod(v, &end);
	return end != v;
}

/* fio's JSON report of one group-reported job -> @p. */
static bool fio_parse(const char *json, bool write, struct perf *p)
{
	const char *jobs = json_member(strchr(json, '{'), "jobs");
	const char *job, *dir;
	double err = -1, bw;

	if (!jobs || *jobs != '[')
		return false;
	job = json_ws(jobs + 1);
	dir = json_member(job, write ? "write" : "read");
	if (!json_num(json_member(job, "error"), &err) || err != 0 ||
	    !json_num(json_member(dir, "iops"), &p->iops) ||
	    !json_num(json_member(dir, "bw_bytes"), &bw) ||
	    !json_num(json_member(json_member(dir, "lat_ns"), "mean"),
		      &p->lat_us))
		return false;
	p->mbps = bw / 1e6;
	p->lat_us /= 1e3;
	p->ok = p->iops > 0;
	return p->ok;
}

/* Run @cmd and return its whole stdout (malloc'd), or NULL. */
static char *run_capture(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t len = 0, cap = 0;
	char *out = NULL;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *n = realloc(out, cap += 65536);

			if (!n)
				break;
			out = n;
		}
		size_t got = fread(out + len, 1, cap - len - 1, f);

		if (!got)
			break;
		len += got;
	}
	*status = pclose(f);
	if (out)
		out[len] = 0;
	return out;
}

static bool run_fio(const struct target *t, const struct workload *w,
		    bool psync, struct perf *p)
{
	unsigned int jobs = psync ? w->qd : 1;
	uint64_t span = opt.size;
	char cmd[PATH_MAX + 1024], extra[64] = "";
	char *out;
	int status = -1;

	/* psync sequential: each job streams its own slice of the file. */
	if (w->seq && jobs > 1) {
		span = opt.size / jobs / w->bs * w->bs;
		snprintf(extra, sizeof(extra), " --offset_increment=%llu",
			 (unsigned long long)span);
	}
	snprintf(cmd, sizeof(cmd),
		 "fio --name=ref --filename=%s --size=%llu%s --rw=%s --bs=%u "
		 "--ioengine=%s --iodepth=%u --numjobs=%u --thread "
		 "--group_reporting --direct=0 --invalidate=0 --norandommap "
		 "--randrepeat=0 --time_based --runtime=%llums "
		 "--ramp_time=%llums --output-format=json 2>/dev/null",
		 t->path, (unsigned long long)span, extra, w->fio_rw, w->bs,
		 psync ? "psync" : "io_uring", psync ? 1 : w->qd, jobs,
		 (unsigned long long)(opt.seconds * 1000),
		 (unsigned long long)(WARMUP_NS / 1000000));
	out = run_capture(cmd, &status);
	if (!out || status != 0 || !fio_parse(out, w->write, p)) {
		fprintf(stderr, "bench/storage: fio %s %s failed (status %d)\n",
			psync ? "psync" : "io_uring", w->name, status);
		p->ok = false;
	}
	free(out);
	return p->ok;
}

/* ---- one target: connect, then every workload three ways ----------------- */

static bool wanted(const struct workload *w)
{
	return !opt.only || strstr(w->name, opt.only);
}

static int guest_run(struct target *t, struct row *rows, size_t *nrows)
{
	struct ovb_link_guest_params lp = { .path = t->sock,
					    .name = "bench-storage",
					    .mem_gpa = 1ull << 32,
					    .mem_size = GUEST_MEM };
	struct ovb_storvsc_set set = { .cfg = { .subchannels = opt.subchannels,
						.poll_us = opt.poll_us } };
	struct ovb_link_guest *g = NULL;
	struct ovb_storvsc_lun lun;
	struct ovb_client *cl;
	struct ovb_storvsc *s;
	int rc = -1;

	for (int i = 0; i < 100 && rc; i++) {
		rc = ovb_link_guest_connect(&lp, &g);
		if (rc)
			usleep(20000);
	}
	if (rc)
		return rc;
	cl = ovb_link_guest_client(g);
	ovb_client_register_driver(cl, &ovb_storvsc_scsi_driver, &set);
	rc = ovb_client_connect(cl, 0, 10000);
	if (!rc && (!set.n || ovb_storvsc_luns(set.ctl[0], &lun, 1) < 1))
		rc = -ENODEV;
	if (rc)
		goto out;
	s = set.ctl[0];
	/* Sub-channels open after probe, from the client's work thread. */
	for (int i = 0; i < 400 && ovb_storvsc_channels(s) <
					   1 + opt.subchannels; i++)
		usleep(5000);
	for (size_t i = 0; i < NWORK && !rc; i++) {
		const struct workload *w = &workloads[i];
		struct row *r = &rows[*nrows];

		if (!wanted(w))
			continue;
		memset(r, 0, sizeof(*r));
		r->t = t;
		r->w = w;
		r->channels = ovb_storvsc_channels(s);
		rc = run_ours(s, lun.blocks * lun.block_size, w, &r->ours);
		fdatasync(t->fd); /* each run starts with no dirty pages */
		if (!opt.no_fio) {
			run_fio(t, w, false, &r->uring);
			fdatasync(t->fd);
			run_fio(t, w, true, &r->psync);
			fdatasync(t->fd);
		}
		fprintf(stderr, "  %-5s %-18s done\n", t->name, w->name);
		(*nrows)++;
	}
out:
	ovb_client_unload(cl, 5000);
	ovb_link_guest_destroy(g);
	return rc;
}

/* ---- report -------------------------------------------------------------- */

static const struct perf *best_raw(const struct row *r)
{
	if (r->uring.ok && (!r->psync.ok || r->uring.iops >= r->psync.iops))
		return &r->uring;
	return r->psync.ok ? &r->psync : NULL;
}

static double ratio(const struct row *r)
{
	const struct perf *b = best_raw(r);

	return b && r->ours.ok ? r->ours.iops / b->iops : 0;
}

/* Against the engine our backend uses: what the VMBus path itself costs. */
static double ratio_uring(const struct row *r)
{
	return r->uring.ok && r->ours.ok ? r->ours.iops / r->uring.iops : 0;
}

/* Ours minus the lower of the raw engines' mean latencies (QD1 rows). */
static double lat_delta(const struct row *r)
{
	double best = 0;

	if (r->uring.ok)
		best = r->uring.lat_us;
	if (r->psync.ok && (!best || r->psync.lat_us < best))
		best = r->psync.lat_us;
	return r->ours.ok && best ? r->ours.lat_us - best : 0;
}

static void print_perf(const struct perf *p)
{
	if (p->ok)
		printf(" | %8.0f %7.1f %7.1f", p->iops, p->mbps, p->lat_us);
	else
		printf(" | %8s %7s %7s", "-", "-", "-");
}

static void print_table(const struct row *rows, size_t n)
{
	printf("\n%-5s %-18s | %-24s | %-24s | %-24s | %s\n", "", "",
	       "ours (storvsc->storvsp)", "fio io_uring", "fio psync",
	       "ours / ours /");
	printf("%-5s %-18s", "file", "workload");
	for (int i = 0; i < 3; i++)
		printf(" | %8s %7s %7s", "IOPS", "MB/s", "lat us");
	printf(" |  best  uring\n");
	for (size_t i = 0; i < n; i++) {
		printf("%-5s %-18s", rows[i].t->name, rows[i].w->name);
		print_perf(&rows[i].ours);
		print_perf(&rows[i].uring);
		print_perf(&rows[i].psync);
		printf(" | %5.2fx %5.2fx\n", ratio(&rows[i]),
		       ratio_uring(&rows[i]));
	}
}

static void print_goals(const struct row *rows, size_t n)
{
	if (opt.poll_us)
		printf("\ngoals (polling mode, %u us spin)\n", opt.poll_us);
	else
		printf("\ngoals (interrupt mode)\n");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const struct workload *w = r->w;
		bool disk = !strcmp(r->t->name, "disk");

		if (!best_raw(r) || !r->ours.ok)
			continue;
		if (w->qd == 32 && !w->write) {
			double goal = disk ? 0.95 : 0.8;

			printf("  %-5s %-18s ours/best %.2f, goal >= %.2f: "
			       "%s\n", r->t->name, w->name, ratio(r), goal,
			       ratio(r) >= goal ? "reached" : "NOT reached");
		} else if (w->qd == 1) {
			printf("  %-5s %-18s latency %+.1f us vs best raw, "
			       "goal <= +5 us (polling): %s\n",
			       r->t->name, w->name, lat_delta(r),
			       lat_delta(r) <= 5 ? "reached" : "NOT reached");
		} else if (w->seq) {
			printf("  %-5s %-18s ours/best %.2f, goal >= 0.90: "
			       "%s\n", r->t->name, w->name, ratio(r),
			       ratio(r) >= 0.9 ? "reached" : "NOT reached");
		}
	}
}

static void json_perf(FILE *f, const char *key, const struct perf *p,
		      const char *sep)
{
	if (p->ok)
		fprintf(f, "\"%s\": {\"iops\": %.0f, \"mb_per_s\": %.1f, "
			"\"lat_us\": %.2f}%s", key, p->iops, p->mbps,
			p->lat_us, sep);
	else
		fprintf(f, "\"%s\": null%s", key, sep);
}

static int write_json(const char *path, const struct row *rows, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "bench/storage: cannot write %s\n", path);
		return -1;
	}
	fprintf(f, "{\n  \"mode\": \"%s\",\n  \"poll_us\": %u,\n"
		"  \"caching\": \"page cache "
		"on both sides (no O_DIRECT; fio direct=0 invalidate=0)\",\n"
		"  \"seconds\": %.2f,\n  \"file_bytes\": %llu,\n"
		"  \"results\": [\n", opt.poll_us ? "polling" : "interrupt",
		opt.poll_us, opt.seconds, (unsigned long long)opt.size);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "    {\"file\": \"%s\", \"dir\": \"%s\", "
			"\"workload\": \"%s\", \"block_bytes\": %u, "
			"\"qd\": %u, \"channels\": %u, ", r->t->name,
			r->t->dir, r->w->name, r->w->bs, r->w->qd,
			r->channels);
		json_perf(f, "ours", &r->ours, ", ");
		json_perf(f, "fio_io_uring", &r->uring, ", ");
		json_perf(f, "fio_psync", &r->psync, ", ");
		fprintf(f, "\"ratio_vs_best\": %.3f, "
			"\"ratio_vs_io_uring\": %.3f, "
			"\"lat_delta_us\": %.2f}%s\n",
			ratio(r), ratio_uring(r), lat_delta(r),
			i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;

	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end || end == s || !v)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_args(int argc, char **argv, const char **json)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "target", required_argument, NULL, 'T' },
		{ "subchannels", required_argument, NULL, 'c' },
		{ "no-fio", no_argument, NULL, 'n' },
		{ "poll", required_argument, NULL, 'p' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': opt.seconds = strtod(optarg, NULL); break;
		case 'o': opt.only = optarg; break;
		case 'T': opt.target = optarg; break;
		case 'c': opt.subchannels = (unsigned)atoi(optarg); break;
		case 'n': opt.no_fio = true; break;
		case 'p': opt.poll_us = (uint32_t)atoi(optarg); break;
		case 's':
			if (!parse_size(optarg, &opt.size))
				break;
			/* fall through */
		default:
			goto usage;
		}
	}
	if (opt.seconds <= 0 || opt.subchannels > 8 || opt.size < (1u << 20))
		goto usage;
	opt.size &= ~((1ull << 20) - 1);
	*json = optind < argc ? argv[optind] : "build/bench/storage.json";
	return 0;
usage:
	fprintf(stderr, "usage: storage [JSON] [--seconds S] [--size N[KMG], "
			">= 1M] [--only WORKLOAD]\n"
			"       [--target tmpfs|disk] [--subchannels 0..8] "
			"[--no-fio] [--poll US]\n");
	return -1;
}

int main(int argc, char **argv)
{
	static struct row rows[NTARGET * NWORK];
	const char *json;
	size_t nrows = 0;
	int rc = 0, bad = 0;

	if (parse_args(argc, argv, &json))
		return 2;
	if (!opt.no_fio && system("fio --version >/dev/null 2>&1")) {
		fprintf(stderr, "bench/storage: no fio on PATH: ours only\n");
		opt.no_fio = true;
	}
	/* Every host forks before the guest starts any thread. */
	for (size_t i = 0; i < NTARGET && !bad; i++)
		if (!opt.target || !strcmp(opt.target, targets[i].name))
			bad = target_start(&targets[i]);
	for (size_t i = 0; i < NTARGET && !bad && !rc; i++)
		if (targets[i].host > 0)
			rc = guest_run(&targets[i], rows, &nrows);
	for (size_t i = 0; i < NTARGET; i++)
		target_stop(&targets[i]);
	if (bad)
		return 1; /* target_start said why */
	if (rc)
		fprintf(stderr, "bench/storage: %s\n", strerror(-rc));
	if (!nrows)
		return 1;
	printf("storvsc -> storvsp over the socket link vs fio on the same "
	       "file; %.1f s per run after %.1f s warm-up, %llu MiB file,\n"
	       "page cache on both sides, %s mode, %u sub-channel%s\n",
	       opt.seconds, WARMUP_NS / 1e9,
	       (unsigned long long)(opt.size >> 20),
	       opt.poll_us ? "polling" : "interrupt", opt.subchannels,
	       opt.subchannels == 1 ? "" : "s");
	print_table(rows, nrows);
	print_goals(rows, nrows);
	if (write_json(json, rows, nrows))
		return 1;
	printf("\nwrote %s\n", json);
	return rc ? 1 : 0;
}
