// SPDX-License-Identifier: MIT
/*
 * bench/storage: fio through openvmbus-fio.so (storvsc -> storvsp over the
 * socket link) next to fio's own io_uring and psync engines on the same
 * backing file, in the same run.
 *
 * For each target (a file on tmpfs, a file on the root file system) the
 * bench prefills the file and starts `vmbus host --echo 0 --disk
 * FILE,size=N` twice: once in interrupt mode and once with --poll US.
 * Every workload then runs four ways back to back, all of them fio with
 * the same job options: our engine against the interrupt host (with
 * --subchannels sub-channels, default none: one channel measured faster
 * than two on two cores), our engine with poll=US against the polling
 * host (no sub-channels: on two cores only fio's thread and one host
 * worker may spin), fio io_uring (one job, iodepth QD) and fio psync (QD
 * jobs) on the file itself.  Caching is equal on
 * both sides: the disk is opened without O_DIRECT and fio runs with
 * direct=0 invalidate=0, so all of them read and write the host page
 * cache.  Prints a table with ratios and the goals; writes JSON.
 *
 * OVB_BENCH_DISPATCH=caller starts the hosts with --threads caller: no
 * channel workers, the link thread takes every channel's turns.
 *
 * The vmbus binary and the engine are found next to this program
 * (build/bench/storage -> build/vmbus, build/openvmbus-fio.so).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_MS 500u

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
	char sock[2][108];  /* interrupt host, polling host */
	int fd;             /* ours, for prefill and fdatasync between runs */
	pid_t host[2];
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
	struct perf ours, poll, uring, psync;
};

static struct {
	double seconds;
	uint64_t size;
	const char *only, *target;
	unsigned int subchannels;
	unsigned int poll_us;   /* 0: no polling rows */
	const char *disk_spin;  /* interrupt host's --disk-spin (NULL: its default) */
	const char *answer_every; /* both hosts' --disk-answer-every (NULL: none) */
	char vmbus[PATH_MAX], engine[PATH_MAX];
} opt = { .seconds = 2.0, .size = 1ull << 30, .subchannels = 0,
	  .poll_us = 50 };

/* ---- the hosts ------------------------------------------------------------ */

static const char *host_threads(void)
{
	const char *d = getenv("OVB_BENCH_DISPATCH");

	return d && !strcmp(d, "caller") ? "caller" : "workers";
}

static pid_t host_start(const struct target *t, const char *sock,
			unsigned int poll_us)
{
	char disk[PATH_MAX + 32], poll[16];
	pid_t pid;

	snprintf(disk, sizeof(disk), "%s,size=%llu", t->path,
		 (unsigned long long)opt.size);
	snprintf(poll, sizeof(poll), "%u", poll_us);
	pid = fork();
	if (pid == 0) {
		/* OVB_BENCH_DISPATCH=caller: the host on its one link thread. */
		const char *av[16] = { opt.vmbus, "host", "--socket", sock,
				       "--threads", host_threads(), "--echo",
				       "0", "--disk", disk };
		int n = 10;

		if (poll_us) {
			av[n++] = "--poll";
			av[n++] = poll;
		} else if (opt.disk_spin) {
			av[n++] = "--disk-spin";
			av[n++] = opt.disk_spin;
		}
		if (opt.answer_every) {
			av[n++] = "--disk-answer-every";
			av[n++] = opt.answer_every;
		}
		av[n] = NULL;
		execv(opt.vmbus, (char *const *)av);
		fprintf(stderr, "bench/storage: %s: %s\n", opt.vmbus,
			strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "bench/storage: fork: %s\n", strerror(errno));
	/* The host renames its socket into place once it listens. */
	for (int i = 0; pid > 0 && i < 200 && access(sock, F_OK); i++)
		usleep(10000);
	return pid;
}

/* Create and prefill @t's file (so reads hit data), then start its hosts. */
static int target_start(struct target *t)
{
	size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);

	snprintf(t->path, sizeof(t->path), "%s/ovb-bench-storage-%d.img",
		 t->dir, (int)getpid());
	for (int m = 0; m < 2; m++)
		snprintf(t->sock[m], sizeof(t->sock[m]),
			 "/tmp/ovb-bench-storage-%s-%s-%d.sock", t->name,
			 m ? "poll" : "irq", (int)getpid());
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
	t->host[0] = host_start(t, t->sock[0], 0);
	if (t->host[0] > 0 && opt.poll_us)
		t->host[1] = host_start(t, t->sock[1], opt.poll_us);
	if (t->host[0] <= 0 || (opt.poll_us && t->host[1] <= 0))
		return -1;
	return 0;
}

static void target_stop(struct target *t)
{
	for (int m = 0; m < 2; m++)
		if (t->host[m] > 0) {
			kill(t->host[m], SIGTERM);
			waitpid(t->host[m], NULL, 0);
			t->host[m] = 0;
		}
	if (t->fd >= 0) {
		close(t->fd);
		unlink(t->path);
		t->fd = -1;
	}
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

enum engine { ENG_OURS, ENG_POLL, ENG_URING, ENG_PSYNC };

static const char *const engine_name[] = { "openvmbus", "openvmbus poll",
					   "io_uring", "psync" };

static bool run_fio(const struct target *t, const struct workload *w,
		    enum engine e, struct perf *p)
{
	unsigned int jobs = e == ENG_PSYNC ? w->qd : 1;
	uint64_t span = opt.size;
	char cmd[3 * PATH_MAX], extra[64] = "", eng[PATH_MAX + 16];
	char file[PATH_MAX + 64];
	char *out;
	int status = -1;

	/* psync sequential: each job streams its own slice of the file. */
	if (w->seq && jobs > 1) {
		span = opt.size / jobs / w->bs * w->bs;
		snprintf(extra, sizeof(extra), " --offset_increment=%llu",
			 (unsigned long long)span);
	}
	if (e == ENG_OURS || e == ENG_POLL) {
		snprintf(eng, sizeof(eng), "external:%s", opt.engine);
		/* Polling: one channel, so that two threads spin on two
		 * cores (fio's and the host worker), not four. */
		snprintf(file, sizeof(file), "%s,subchannels=%u,poll=%u",
			 t->sock[e == ENG_POLL],
			 e == ENG_POLL ? 0 : opt.subchannels,
			 e == ENG_POLL ? opt.poll_us : 0);
	} else {
		snprintf(eng, sizeof(eng), "%s", engine_name[e]);
		snprintf(file, sizeof(file), "%s", t->path);
	}
	snprintf(cmd, sizeof(cmd),
		 "fio --name=ref --filename='%s' --size=%llu%s --rw=%s --bs=%u "
		 "--ioengine=%s --iodepth=%u --numjobs=%u --thread "
		 "--group_reporting --direct=0 --invalidate=0 --norandommap "
		 "--randrepeat=0 --time_based --runtime=%llums "
		 "--ramp_time=%ums --output-format=json 2>/dev/null",
		 file, (unsigned long long)span, extra, w->fio_rw, w->bs, eng,
		 e == ENG_PSYNC ? 1 : w->qd, jobs,
		 (unsigned long long)(opt.seconds * 1000), WARMUP_MS);
	out = run_capture(cmd, &status);
	if (!out || status != 0 || !fio_parse(out, w->write, p)) {
		fprintf(stderr, "bench/storage: fio %s %s failed (status %d)\n",
			engine_name[e], w->name, status);
		p->ok = false;
	}
	free(out);
	return p->ok;
}

/* ---- one target: every workload four ways --------------------------------- */

static bool wanted(const struct workload *w)
{
	return !opt.only || strstr(w->name, opt.only);
}

static void target_run(struct target *t, struct row *rows, size_t *nrows)
{
	for (size_t i = 0; i < NWORK; i++) {
		const struct workload *w = &workloads[i];
		struct row *r = &rows[*nrows];

		if (!wanted(w))
			continue;
		memset(r, 0, sizeof(*r));
		r->t = t;
		r->w = w;
		/* fdatasync: each run starts with no dirty pages */
		run_fio(t, w, ENG_OURS, &r->ours);
		fdatasync(t->fd);
		if (opt.poll_us) {
			run_fio(t, w, ENG_POLL, &r->poll);
			fdatasync(t->fd);
		}
		run_fio(t, w, ENG_URING, &r->uring);
		fdatasync(t->fd);
		run_fio(t, w, ENG_PSYNC, &r->psync);
		fdatasync(t->fd);
		fprintf(stderr, "  %-5s %-18s done\n", t->name, w->name);
		(*nrows)++;
	}
}

/* ---- report -------------------------------------------------------------- */

static const struct perf *best_of(const struct perf *a, const struct perf *b)
{
	if (a->ok && (!b->ok || a->iops >= b->iops))
		return a;
	return b->ok ? b : NULL;
}

static double ratio_to(const struct row *r, const struct perf *ref)
{
	const struct perf *o = best_of(&r->ours, &r->poll);

	return o && ref && ref->ok ? o->iops / ref->iops : 0;
}

/* Our better mode over the better raw engine. */
static double ratio(const struct row *r)
{
	return ratio_to(r, best_of(&r->uring, &r->psync));
}

/* Polling mean latency minus the lower raw one (QD1 rows). */
static double lat_delta(const struct row *r)
{
	const struct perf *o = r->poll.ok ? &r->poll : &r->ours;
	double best = 0;

	if (r->uring.ok)
		best = r->uring.lat_us;
	if (r->psync.ok && (!best || r->psync.lat_us < best))
		best = r->psync.lat_us;
	return o->ok && best ? o->lat_us - best : 0;
}

static void print_perf(const struct perf *p)
{
	if (p->ok)
		printf(" | %8.0f %6.0f %6.1f", p->iops, p->mbps, p->lat_us);
	else
		printf(" | %8s %6s %6s", "-", "-", "-");
}

static void print_table(const struct row *rows, size_t n)
{
	printf("\n%-5s %-17s | %-22s | %-22s | %-22s | %-22s | %s\n", "", "",
	       "ours, interrupt", "ours, polling", "fio io_uring",
	       "fio psync", "ours /  ours /");
	printf("%-5s %-17s", "file", "workload");
	for (int i = 0; i < 4; i++)
		printf(" | %8s %6s %6s", "IOPS", "MB/s", "lat us");
	printf(" |  best  uring\n");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("%-5s %-17s", r->t->name, r->w->name);
		print_perf(&r->ours);
		print_perf(&r->poll);
		print_perf(&r->uring);
		print_perf(&r->psync);
		printf(" | %5.2fx %5.2fx\n", ratio(r), ratio_to(r, &r->uring));
	}
}

static void print_goals(const struct row *rows, size_t n)
{
	printf("\ngoals (ours = the better of interrupt and polling mode)\n");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const struct workload *w = r->w;
		double goal = !strcmp(r->t->name, "disk") ? 0.95 : 0.8;

		if (!ratio(r))
			continue;
		if (w->qd == 32 && !w->write)
			printf("  %-5s %-17s ours/best %.2f, goal >= %.2f: %s\n",
			       r->t->name, w->name, ratio(r), goal,
			       ratio(r) >= goal ? "reached" : "NOT reached");
		else if (w->qd == 1)
			printf("  %-5s %-17s latency %+.1f us vs best raw%s, "
			       "goal <= +5 us: %s\n", r->t->name, w->name,
			       lat_delta(r), r->poll.ok ? " (polling)" : "",
			       r->poll.ok && lat_delta(r) <= 5 ? "reached"
							       : "NOT reached");
		else if (w->seq)
			printf("  %-5s %-17s ours/best %.2f, goal >= 0.90: %s\n",
			       r->t->name, w->name, ratio(r),
			       ratio(r) >= 0.9 ? "reached" : "NOT reached");
	}
}

static void json_perf(FILE *f, const char *key, const struct perf *p)
{
	if (p->ok)
		fprintf(f, "\"%s\": {\"iops\": %.0f, \"mb_per_s\": %.1f, "
			"\"lat_us\": %.2f}, ", key, p->iops, p->mbps,
			p->lat_us);
	else
		fprintf(f, "\"%s\": null, ", key);
}

static int write_json(const char *path, const struct row *rows, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "bench/storage: cannot write %s\n", path);
		return -1;
	}
	fprintf(f, "{\n  \"tool\": \"fio, ioengine=external:openvmbus-fio.so"
		" vs io_uring and psync\",\n  \"caching\": \"page cache on "
		"both sides (no O_DIRECT; fio direct=0 invalidate=0)\",\n"
		"  \"seconds\": %.2f,\n  \"file_bytes\": %llu,\n"
		"  \"subchannels\": %u,\n  \"poll_us\": %u,\n"
		"  \"disk_spin\": \"%s\",\n"
		"  \"results\": [\n", opt.seconds,
		(unsigned long long)opt.size, opt.subchannels, opt.poll_us,
		opt.disk_spin ? opt.disk_spin : "default");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "    {\"file\": \"%s\", \"dir\": \"%s\", "
			"\"workload\": \"%s\", \"block_bytes\": %u, "
			"\"qd\": %u, ", r->t->name, r->t->dir, r->w->name,
			r->w->bs, r->w->qd);
		json_perf(f, "ours_interrupt", &r->ours);
		json_perf(f, "ours_polling", &r->poll);
		json_perf(f, "fio_io_uring", &r->uring);
		json_perf(f, "fio_psync", &r->psync);
		fprintf(f, "\"ratio_vs_best\": %.3f, "
			"\"ratio_vs_io_uring\": %.3f, "
			"\"lat_delta_us\": %.2f}%s\n",
			ratio(r), ratio_to(r, &r->uring), lat_delta(r),
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
		{ "poll", required_argument, NULL, 'p' },
		{ "disk-spin", required_argument, NULL, 'S' },
		{ "answer-every", required_argument, NULL, 'A' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': opt.seconds = strtod(optarg, NULL); break;
		case 'o': opt.only = optarg; break;
		case 'T': opt.target = optarg; break;
		case 'c': opt.subchannels = (unsigned)atoi(optarg); break;
		case 'p': opt.poll_us = (unsigned)atoi(optarg); break;
		case 'S': opt.disk_spin = optarg; break;
		case 'A': opt.answer_every = optarg; break;
		case 's':
			if (!parse_size(optarg, &opt.size))
				break;
			/* fall through */
		default:
			goto usage;
		}
	}
	if (opt.seconds <= 0 || opt.subchannels > 8 || opt.size < (1u << 20) ||
	    opt.poll_us > 1000000)
		goto usage;
	opt.size &= ~((1ull << 20) - 1);
	*json = optind < argc ? argv[optind] : "build/bench/storage.json";
	return 0;
usage:
	fprintf(stderr, "usage: storage [JSON] [--seconds S] [--size N[KMG], "
			">= 1M] [--only WORKLOAD]\n"
			"       [--target tmpfs|disk] [--subchannels 0..8] "
			"[--poll US (0: no polling rows)]\n"
			"       [--disk-spin stream|0|US (the interrupt host's; "
			"default: vmbus host's)]\n"
			"       [--answer-every N (both hosts' "
			"--disk-answer-every)]\n");
	return -1;
}

/* build/bench/storage -> build/vmbus and build/openvmbus-fio.so */
static int find_tools(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *dir;

	if (n <= 0)
		return -1;
	self[n] = 0;
	dir = dirname(dirname(self));
	snprintf(opt.vmbus, sizeof(opt.vmbus), "%s/vmbus", dir);
	snprintf(opt.engine, sizeof(opt.engine), "%s/openvmbus-fio.so", dir);
	if (access(opt.vmbus, X_OK) || access(opt.engine, R_OK)) {
		fprintf(stderr, "bench/storage: want %s and %s (make)\n",
			opt.vmbus, opt.engine);
		return -1;
	}
	if (system("fio --version >/dev/null 2>&1")) {
		fprintf(stderr, "bench/storage: no fio on PATH\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct row rows[NTARGET * NWORK];
	const char *json;
	size_t nrows = 0;
	int bad = 0;

	if (parse_args(argc, argv, &json))
		return 2;
	if (find_tools())
		return 1;
	for (size_t i = 0; i < NTARGET && !bad; i++)
		if (!opt.target || !strcmp(opt.target, targets[i].name))
			bad = target_start(&targets[i]);
	for (size_t i = 0; i < NTARGET && !bad; i++)
		if (targets[i].host[0] > 0)
			target_run(&targets[i], rows, &nrows);
	for (size_t i = 0; i < NTARGET; i++)
		target_stop(&targets[i]);
	if (bad || !nrows)
		return 1; /* target_start or fio said why */
	printf("fio: openvmbus engine (storvsc -> storvsp over the socket "
	       "link) vs io_uring and psync on the same\nfile; %.1f s per run "
	       "after %.1f s warm-up, %llu MiB file, page cache on both "
	       "sides,\n%u sub-channel%s (polling rows: none, poll=%u us)\n",
	       opt.seconds, WARMUP_MS / 1e3,
	       (unsigned long long)(opt.size >> 20), opt.subchannels,
	       opt.subchannels == 1 ? "" : "s", opt.poll_us);
	printf("host threads: %s%s\n", host_threads(),
	       strcmp(host_threads(), "caller")
		       ? " (a worker per channel)"
		       : " (OVB_BENCH_DISPATCH=caller: the link thread runs "
			 "every channel)");
	printf("interrupt host: --disk-spin %s\n",
	       opt.disk_spin ? opt.disk_spin
			     : "(vmbus host's default: stream)");
	if (opt.answer_every)
		printf("both hosts: --disk-answer-every %s\n",
		       opt.answer_every);
	print_table(rows, nrows);
	print_goals(rows, nrows);
	if (write_json(json, rows, nrows))
		return 1;
	printf("\nwrote %s\n", json);
	return 0;
}
