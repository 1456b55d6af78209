// SPDX-License-Identifier: MIT
/*
 * vmbus lab: the whole system in one command.  A host partition with a
 * SCSI disk and an IDE disk (images in a state directory, created on the
 * first run), two guest partitions as processes; in guest 1 the disks go
 * through FUSE, a loop device and ext4 (made on the first run only), files
 * are written and read back with checksums and the previous run's files
 * are checked; a short throughput measure; a summary of versions,
 * channels and traffic.  --keep leaves it running, --down tears it down.
 * Without root it runs in one process over the inproc link (lab_local.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cmd.h"
#include "tools/control.h"
#include "tools/lab.h"

#define LAB_STATE "/var/lib/openvmbus-lab"
#define LAB_RUN "/run/openvmbus-lab"
#define LAB_FILES 8
#define LAB_FILE_MB 4

static volatile sig_atomic_t lab_interrupted;

static void lab_on_signal(int sig)
{
	lab_interrupted = 1;
}

/* ---- processes ---------------------------------------------------------- */

static void lab_path(const struct lab *l, char *out, size_t len,
		     const char *name)
{
	snprintf(out, len, "%s/%s", l->run, name);
}

/* Remember what --down must undo. */
static void lab_save(const struct lab *l)
{
	char path[300];
	FILE *f;

	lab_path(l, path, sizeof(path), "lab.env");
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "host %d\nguest1 %d\nguest2 %d\nloop %s\n", (int)l->host,
		(int)l->guest[0], (int)l->guest[1], l->loop);
	fclose(f);
}

static int lab_start_host(struct lab *l)
{
	char sock[300], log[300], scsi[300], ide[300];
	char *argv[32];
	int n = 0;

	lab_path(l, sock, sizeof(sock), "host.sock");
	lab_path(l, log, sizeof(log), "host.log");
	snprintf(scsi, sizeof(scsi), "%s/scsi.img,size=512M", l->state);
	snprintf(ide, sizeof(ide), "%s/ide.img,size=128M,ide", l->state);
	argv[n++] = l->self;
	argv[n++] = (char *)"host";
	argv[n++] = (char *)"--socket";
	argv[n++] = sock;
	argv[n++] = (char *)"--echo";
	argv[n++] = (char *)"0";
	argv[n++] = (char *)"--disk";
	argv[n++] = scsi;
	argv[n++] = (char *)"--disk";
	argv[n++] = ide;
	argv[n++] = (char *)"--nic";
	argv[n++] = (char *)"lab0";
	argv[n] = NULL;
	unlink(sock);
	l->host = lab_spawn(log, argv);
	lab_save(l);
	if (l->host < 0 || lab_wait_path(sock, 5000))
		return -1;
	/* Ours, not a stale host that still holds the socket. */
	if (waitpid(l->host, NULL, WNOHANG) != 0) {
		snprintf(l->err, sizeof(l->err), "the host exited; see %s", log);
		return -1;
	}
	return 0;
}

static int lab_start_guest(struct lab *l, int i)
{
	char sock[300], log[300], name[16], mnt[300];
	char *argv[32];
	int n = 0;

	lab_path(l, sock, sizeof(sock), "host.sock");
	snprintf(name, sizeof(name), "guest%d", i + 1);
	snprintf(log, sizeof(log), "%s/%s.log", l->run, name);
	snprintf(mnt, sizeof(mnt), "%s/%s-disks", l->run, name);
	argv[n++] = l->self;
	argv[n++] = (char *)"guest";
	argv[n++] = (char *)"--socket";
	argv[n++] = sock;
	argv[n++] = (char *)"--name";
	argv[n++] = name;
	char ns[32], addr[32];

	snprintf(ns, sizeof(ns), "ovb-lab%d", i + 1);
	snprintf(addr, sizeof(addr), "10.77.0.%d/24", i + 1);
	if (i == 0) {
		argv[n++] = (char *)"--mount";
		argv[n++] = mnt;
		/* The fast path where the kernel has it (it switches it on). */
		if (!access("/sys/module/fuse/parameters/enable_uring", F_OK))
			argv[n++] = (char *)"--fuse-uring=on";
	}
	argv[n++] = (char *)"--tap";
	argv[n++] = (char *)"eth0";
	argv[n++] = (char *)"--netns";
	argv[n++] = ns;
	argv[n++] = (char *)"--addr";
	argv[n++] = addr;
	argv[n++] = (char *)"--queues";
	argv[n++] = (char *)"2";
	argv[n] = NULL;
	l->guest[i] = lab_spawn(log, argv);
	lab_save(l);
	if (l->guest[i] < 0 || lab_wait_log(log, "running;", 15000)) {
		snprintf(l->err, sizeof(l->err), "guest %d did not come up; see "
			 "%s", i + 1, log);
		return -1;
	}
	/* "nic: eth0 in netns ovb-lab1 up: ... NVSP 0x60001, ..." */
	char nl[256], *nvsp;
	unsigned int nv;

	if (lab_log_line(log, "NVSP ", nl, sizeof(nl)) &&
	    (nvsp = strstr(nl, "NVSP ")) && sscanf(nvsp, "NVSP %x", &nv) == 1)
		snprintf(l->nvsp, sizeof(l->nvsp), "%u.%u", nv >> 16,
			 nv & 0xffff);
	char line[256], *v;

	/* "partition guest1: VMBus 6.0 negotiated" */
	if (lab_log_line(log, "VMBus", line, sizeof(line)) &&
	    (v = strstr(line, "VMBus ")))
		sscanf(v, "VMBus %15s", l->vmbus[i]);
	return 0;
}


/* ---- storage ----------------------------------------------------------- */

static int lab_filesystem(struct lab *l)
{
	char out[512], lun[300], fs[300];

	snprintf(lun, sizeof(lun), "%s/guest1-disks/scsi0/lun0", l->run);
	lab_path(l, fs, sizeof(fs), "fs");
	if (lab_sh(out, sizeof(out), "losetup -f --show --direct-io=on '%s'",
		   lun)) {
		snprintf(l->err, sizeof(l->err), "losetup: %.400s", out);
		return -1;
	}
	snprintf(l->loop, sizeof(l->loop), "%.*s", (int)strcspn(out, "\n"), out);
	lab_save(l);
	l->first_run = lab_sh(out, sizeof(out), "blkid -o value -s TYPE %s",
			      l->loop) || strncmp(out, "ext4", 4);
	if (l->first_run && lab_sh(out, sizeof(out), "mkfs.ext4 -q -F -L "
				   "vmbus-lab %s", l->loop)) {
		snprintf(l->err, sizeof(l->err), "mkfs.ext4: %.400s", out);
		return -1;
	}
	mkdir(fs, 0755);
	if (lab_sh(out, sizeof(out), "mount %s '%s'", l->loop, fs)) {
		snprintf(l->err, sizeof(l->err), "mount: %.400s", out);
		return -1;
	}
	return 0;
}

static int lab_previous_files(struct lab *l)
{
	char out[4096], fs[300];

	lab_path(l, fs, sizeof(fs), "fs");
	if (lab_sh(out, sizeof(out), "test -f '%s/lab/SHA256SUMS'", fs))
		return 0; /* nothing from an earlier run */
	if (lab_sh(out, sizeof(out), "cd '%s/lab' && sha256sum -c --quiet "
		   "SHA256SUMS", fs))
		return -1;
	lab_sh(out, sizeof(out), "wc -l < '%s/lab/SHA256SUMS'", fs);
	l->files_found = (unsigned int)atoi(out);
	return 0;
}

static int lab_write_files(struct lab *l)
{
	char out[4096], fs[300];
	double t0, t1;

	lab_path(l, fs, sizeof(fs), "fs");
	t0 = lab_now();
	if (lab_sh(out, sizeof(out),
		   "mkdir -p '%s/lab' && cd '%s/lab' && for i in $(seq %d); do "
		   "dd if=/dev/urandom of=file$i bs=1M count=%d conv=fsync "
		   "status=none || exit 1; done && sha256sum file* > SHA256SUMS "
		   "&& sync", fs, fs, LAB_FILES, LAB_FILE_MB))
		return -1;
	t1 = lab_now();
	l->files_written = LAB_FILES;
	l->disk_write_mbs = LAB_FILES * LAB_FILE_MB / (t1 - t0);
	/* Read back past the page cache: drop it, then check every sum. */
	lab_sh(out, sizeof(out), "echo 3 > /proc/sys/vm/drop_caches");
	t0 = lab_now();
	if (lab_sh(out, sizeof(out), "cd '%s/lab' && sha256sum -c --quiet "
		   "SHA256SUMS", fs))
		return -1;
	l->disk_read_mbs = LAB_FILES * LAB_FILE_MB / (lab_now() - t0);
	return 0;
}

/* The IDE disk: a pattern written raw and compared. */
static int lab_ide(struct lab *l)
{
	char out[512], lun[300], pat[300];

	snprintf(lun, sizeof(lun), "%s/guest1-disks/ide0/lun0", l->run);
	lab_path(l, pat, sizeof(pat), "ide.pattern");
	return lab_sh(out, sizeof(out),
		      "dd if=/dev/urandom of='%s' bs=1M count=4 status=none && "
		      "dd if='%s' of='%s' bs=1M conv=fsync,notrunc status=none && "
		      "cmp -n 4194304 '%s' '%s'", pat, pat, lun, pat, lun)
		       ? -1
		       : 0;
}

/* fio's 4 KiB random reads on the loop device at @qd for 2 s: IOPS, mean latency. */
static int lab_fio(struct lab *l, unsigned int qd, double *iops, double *lat)
{
	char out[4096];
	char *f = out;

	if (lab_sh(out, sizeof(out),
		   "fio --name=lab --filename=%s --readonly --rw=randread "
		   "--bs=4k --direct=1 --ioengine=io_uring --iodepth=%u "
		   "--norandommap --randrepeat=0 --time_based --runtime=2 "
		   "--ramp_time=0.5 --output-format=terse", l->loop, qd))
		return -1;
	/* terse v3: field 8 read IOPS, field 40 mean total latency (us) */
	for (int i = 1; i < 8 && f; i++)
		f = strchr(f, ';') ? strchr(f, ';') + 1 : NULL;
	if (!f)
		return -1;
	*iops = atof(f);
	for (int i = 8; i < 40 && f; i++)
		f = strchr(f, ';') ? strchr(f, ';') + 1 : NULL;
	if (!f || *iops <= 0)
		return -1;
	*lat = atof(f);
	return 0;
}

/*
 * The guest's block device as programs see it: fio 4 KiB random reads
 * with direct I/O on the loop device (loop in direct I/O mode over the
 * FUSE file), one at a time and 32 in flight.
 */
static int lab_iops(struct lab *l)
{
	char out[256];
	double lat32;

	if (lab_sh(out, sizeof(out), "command -v fio")) {
		snprintf(l->err, sizeof(l->err), "fio is not installed "
			 "(bash scripts/run deps)");
		return -1;
	}
	if (lab_fio(l, 1, &l->disk_iops, &l->disk_lat_us) ||
	    lab_fio(l, 32, &l->disk_iops32, &lat32)) {
		snprintf(l->err, sizeof(l->err), "fio on %s failed", l->loop);
		return -1;
	}
	return 0;
}

/* ---- network ---------------------------------------------------------------- */

static int lab_ping(struct lab *l)
{
	char out[2048], *p;
	double mn, avg;

	if (lab_sh(out, sizeof(out), "ip netns exec ovb-lab1 ping -c 5 -i 0.2 "
		   "-W 2 10.77.0.2") ||
	    lab_sh(out + 1024, 1024, "ip netns exec ovb-lab2 ping -c 2 -W 2 "
		   "10.77.0.1"))
		return -1;
	p = strstr(out, "rtt min/avg/max/mdev = ");
	if (p && sscanf(p, "rtt min/avg/max/mdev = %lf/%lf", &mn, &avg) == 2)
		l->ping_ms = avg;
	return 0;
}

/* A 64 MiB TCP transfer whose SHA-256 must match at the far end. */
static int lab_transfer(struct lab *l)
{
	char out[512], py[300], data[300], want[80] = "", got[80] = "";
	FILE *f;

	lab_path(l, py, sizeof(py), "xfer.py");
	lab_path(l, data, sizeof(data), "xfer.data");
	f = fopen(py, "w");
	if (!f)
		return -1;
	fputs("import hashlib, socket, sys\n"
	      "if sys.argv[1] == 'recv':\n"
	      "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
	      "socket.SO_REUSEADDR, 1)\n"
	      "    s.bind(('', 5999)); s.listen(1); c, _ = s.accept()\n"
	      "    h = hashlib.sha256()\n"
	      "    while True:\n"
	      "        b = c.recv(1 << 16)\n"
	      "        if not b: break\n"
	      "        h.update(b)\n"
	      "    print(h.hexdigest())\n"
	      "else:\n"
	      "    c = socket.create_connection((sys.argv[2], 5999))\n"
	      "    c.sendall(open(sys.argv[3], 'rb').read()); c.close()\n", f);
	fclose(f);
	if (lab_sh(out, sizeof(out), "dd if=/dev/urandom of='%s' bs=1M count=64 "
		   "status=none && sha256sum '%s'", data, data))
		return -1;
	sscanf(out, "%64s", want);
	/* The sender starts once the receiver listens (up to 10 s). */
	if (lab_sh(out, sizeof(out),
		   "(ip netns exec ovb-lab2 timeout 30 python3 '%s' recv > "
		   "'%s.sum' &) ; for i in $(seq 100); do ip netns exec "
		   "ovb-lab2 ss -Hltn 'sport = :5999' | grep -q . && break; "
		   "sleep 0.1; done; ip netns exec ovb-lab1 timeout 30 "
		   "python3 '%s' send 10.77.0.2 '%s'; for i in $(seq 100); do "
		   "[ -s '%s.sum' ] && break; sleep 0.1; done; cat '%s.sum'",
		   py, data, py, data, data, data))
		return -1;
	sscanf(out, "%64s", got);
	l->net_bytes = 64u << 20;
	return strlen(want) == 64 && !strcmp(want, got) ? 0 : -1;
}

/* iperf3 for 2 s with @streams parallel streams; Gbit/s, 0 on failure. */
static double lab_iperf_run(int streams)
{
	char out[256];

	/* The client starts once the server listens (up to 5 s). */
	if (lab_sh(out, sizeof(out), "ip netns exec ovb-lab2 iperf3 -s -1 -D "
		   "&& for i in $(seq 50); do ip netns exec ovb-lab2 ss -Hltn "
		   "'sport = :5201' | grep -q . && break; sleep 0.1; done "
		   "&& ip netns exec ovb-lab1 timeout 20 iperf3 "
		   "-c 10.77.0.2 -t 2 -P %d -J | python3 -c 'import json,sys; "
		   "print(json.load(sys.stdin)[\"end\"][\"sum_received\"]"
		   "[\"bits_per_second\"])'", streams))
		return 0;
	return atof(out) / 1e9;
}

/* Several streams show the path; one stream is a single TCP flow. */
static int lab_iperf(struct lab *l)
{
	l->net_gbps = lab_iperf_run(4);
	l->net_gbps1 = lab_iperf_run(1);
	return l->net_gbps > 0 && l->net_gbps1 > 0 ? 0 : -1;
}

/* ---- summary and teardown --------------------------------------------------- */

static void lab_stat(struct lab *l)
{
	char sock[300], ctl[320], err[256], *payload = NULL;

	lab_path(l, sock, sizeof(sock), "host.sock");
	control_path(sock, ctl, sizeof(ctl));
	if (!control_call(ctl, "stat", &payload, err, sizeof(err))) {
		snprintf(l->stat_table, sizeof(l->stat_table), "%s", payload);
		free(payload);
	}
}

static void lab_summary(const struct lab *l)
{
	printf("\nsummary\n");
	printf("  %-26s %s (guest1), %s (guest2)\n", "VMBus negotiated",
	       l->vmbus[0], l->vmbus[1]);
	printf("  %-26s %s\n", "VSTOR negotiated", l->vstor);
	printf("  %-26s %s\n", "filesystem",
	       l->first_run ? "ext4 made on this run" : "ext4 from an earlier run");
	printf("  %-26s %u found and verified, %u written and verified\n",
	       "files with checksums", l->files_found, l->files_written);
	printf("  %-26s write %.0f MB/s (fsync per file), read %.0f MB/s\n",
	       "disk throughput", l->disk_write_mbs, l->disk_read_mbs);
	if (l->quick)
		printf("  %-26s not measured (--quick)\n", "disk IOPS");
	else
		printf("  %-26s %.0f IOPS at QD1 (%.0f us each), %.0f IOPS at "
		       "QD32 (fio, 4 KiB random\n  %-26s reads, direct I/O, "
		       "on %s)\n", "disk IOPS", l->disk_iops, l->disk_lat_us,
		       l->disk_iops32, "", l->loop);
	printf("  %-26s %s\n", "NVSP negotiated", l->nvsp);
	printf("  %-26s %.3f ms average, guest1 -> guest2\n", "ping",
	       l->ping_ms);
	printf("  %-26s %llu MiB, SHA-256 matches\n", "TCP transfer",
	       (unsigned long long)(l->net_bytes >> 20));
	if (l->quick)
		printf("  %-26s not measured (--quick)\n", "network throughput");
	else
		printf("  %-26s %.2f Gbit/s (iperf3 TCP, 4 streams, 2 s, guests "
		       "with 2 queues each),\n  %-26s %.2f with one stream\n",
		       "network throughput", l->net_gbps, "", l->net_gbps1);
	printf("\nchannels (from the host's control socket)\n%s",
	       l->stat_table);
}

/*
 * Whatever a crashed or killed run may have left: FUSE mounts (a dead one
 * fails stat, so no mountpoint(1) check), loop devices on them, the
 * guests' namespaces.
 */
static void lab_cleanup(struct lab *l)
{
	char out[512];

	lab_sh(out, sizeof(out),
	       "for m in '%s'/fs '%s'/guest*-disks; do "
	       "while umount -l \"$m\" 2>/dev/null; do :; done; done; losetup -j '%s/guest1-disks/scsi0/lun0' -O NAME -n | "
	       "xargs -r -n1 losetup -d; ip netns del ovb-lab1; "
	       "ip netns del ovb-lab2; true", l->run, l->run, l->run);
}

static void lab_teardown(struct lab *l)
{
	char out[256], fs[300], env[300];

	lab_path(l, fs, sizeof(fs), "fs");
	lab_sh(out, sizeof(out), "mountpoint -q '%s' && umount '%s'", fs, fs);
	if (l->loop[0])
		lab_sh(out, sizeof(out), "losetup -d %s", l->loop);
	for (int i = LAB_GUESTS - 1; i >= 0; i--)
		lab_stop_pid(l->guest[i], SIGTERM, 5000);
	lab_stop_pid(l->host, SIGINT, 5000);
	lab_cleanup(l);
	lab_path(l, env, sizeof(env), "lab.env");
	unlink(env);
}

/*
 * @pid if it is still one of ours: its command line names this lab's
 * host socket (a recorded pid may have been reused since).  Else 0.
 */
static pid_t lab_pid_ours(const struct lab *l, int pid)
{
	char path[64], cmd[1024], sock[300];
	size_t n;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n] = 0;
	lab_path(l, sock, sizeof(sock), "host.sock");
	return strstr(cmd, sock) ? pid : 0;
}

/* Undo what the run recorded in lab.env.  Returns false if none. */
static bool lab_down_quiet(struct lab *l)
{
	char env[300], key[32], val[64];
	FILE *f;

	lab_path(l, env, sizeof(env), "lab.env");
	f = fopen(env, "r");
	if (!f)
		return false;
	while (fscanf(f, "%31s %63s", key, val) == 2) {
		if (!strcmp(key, "host"))
			l->host = lab_pid_ours(l, atoi(val));
		else if (!strcmp(key, "guest1"))
			l->guest[0] = lab_pid_ours(l, atoi(val));
		else if (!strcmp(key, "guest2"))
			l->guest[1] = lab_pid_ours(l, atoi(val));
		else if (!strcmp(key, "loop") && strncmp(val, "/dev/loop", 9) == 0)
			snprintf(l->loop, sizeof(l->loop), "%s", val);
	}
	fclose(f);
	lab_teardown(l);
	return true;
}

/* --down: undo what a --keep run left. */
static int lab_down(struct lab *l)
{
	if (!lab_down_quiet(l)) {
		printf("vmbus lab: nothing running\n");
		return 0;
	}
	printf("vmbus lab: torn down\n");
	return 0;
}

/* ---- the run ---------------------------------------------------------------- */

/* The step runs first; its detail is formatted from the results. */
#define STEP(l, title, call, ...)                                              \
	do {                                                                   \
		int step_rc_;                                                  \
		lab_step_begin(l, title);                                      \
		step_rc_ = (call) ? 1 : 0;                                     \
		if (lab_step_end(l, step_rc_, __VA_ARGS__))                    \
			goto fail;                                               \
		if (lab_interrupted)                                           \
			goto fail;                                             \
	} while (0)

static int lab_root(struct lab *l)
{
	char log[300], line[256];

	mkdir(l->state, 0700);
	mkdir(l->run, 0700);
	/* A previous --keep or a crashed run: take it down first. */
	struct lab prev = *l;

	lab_down_quiet(&prev);
	lab_cleanup(l);
	STEP(l, "host partition", lab_start_host(l), "SCSI %s/scsi.img, IDE "
	     "%s/ide.img", l->state, l->state);
	STEP(l, "guest 1 (disks over FUSE, eth0)", lab_start_guest(l, 0),
	     "netns ovb-lab1 10.77.0.1, disks %s/guest1-disks", l->run);
	lab_path(l, log, sizeof(log), "guest1.log");
	if (lab_log_line(log, "VSTOR", line, sizeof(line))) {
		char *v = strstr(line, "VSTOR ");

		snprintf(l->vstor, sizeof(l->vstor), "%s", v ? v + 6 : "?");
		l->vstor[strcspn(l->vstor, ",")] = 0;
	}
	STEP(l, "guest 2 (eth0)", lab_start_guest(l, 1),
	     "netns ovb-lab2 10.77.0.2, VMBus %s", l->vmbus[1]);
	lab_save(l);
	STEP(l, "loop device + ext4", lab_filesystem(l), "%s%s", l->loop,
	     l->first_run ? ", mkfs.ext4 (first run)" : ", existing ext4");
	STEP(l, "files from the last run", lab_previous_files(l), "%s",
	     l->files_found ? "found, checksums match" : "none (first run)");
	STEP(l, "write + read back files", lab_write_files(l),
	     "%d x %d MiB, checksums match", LAB_FILES, LAB_FILE_MB);
	STEP(l, "IDE disk raw pattern", lab_ide(l), "4 MiB written, compared");
	if (!l->quick)
		STEP(l, "4 KiB random reads (fio)", lab_iops(l),
		     "%.0f IOPS at QD1, %.0f at QD32", l->disk_iops,
		     l->disk_iops32);
	STEP(l, "ping between the guests", lab_ping(l), "%.3f ms average",
	     l->ping_ms);
	STEP(l, "TCP transfer with SHA-256", lab_transfer(l),
	     "64 MiB guest1 -> guest2, checksums match");
	if (!l->quick)
		STEP(l, "iperf3 TCP", lab_iperf(l),
		     "%.2f Gbit/s (-P 4), %.2f (-P 1)", l->net_gbps,
		     l->net_gbps1);
	lab_stat(l);
	lab_summary(l);
	if (l->keep) {
		printf("\nleft running (vmbus lab --down stops it):\n"
		       "  guest 1:     ip netns exec ovb-lab1 bash   "
		       "(10.77.0.1, eth0)\n"
		       "  guest 2:     ip netns exec ovb-lab2 bash   "
		       "(10.77.0.2, eth0)\n"
		       "  filesystem:  %s/fs (on %s)\n  disks:       %s/"
		       "guest1-disks\n  control:     vmbus stat --socket "
		       "%s/host.sock\n", l->run, l->loop, l->run, l->run);
		return 0;
	}
	lab_teardown(l);
	return 0;
fail:
	if (l->err[0])
		printf("    %s\n", l->err);
	printf("vmbus lab: stopped; logs in %s\n", l->run);
	lab_teardown(l);
	return 1;
}

static int cmd_lab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep", no_argument, NULL, 'k' },
		{ "down", no_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "local", no_argument, NULL, 'l' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lab l = { .tty = isatty(1) };
	bool down = false, local = geteuid() != 0;
	ssize_t n;
	int c;

	snprintf(l.state, sizeof(l.state), "%s", LAB_STATE);
	snprintf(l.run, sizeof(l.run), "%s", LAB_RUN);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': l.keep = true; break;
		case 'd': down = true; break;
		case 's': snprintf(l.state, sizeof(l.state), "%s", optarg); break;
		case 'l': local = true; break;
		case 'q': l.quick = true; break;
		case 'h':
			printf("usage: vmbus lab [--keep | --down] [--state DIR] "
			       "[--local] [--quick]\n"
			       "Run a host and two guests with disks end to "
			       "end, then show a summary.\n"
			       "  --keep       leave everything running\n"
			       "  --down       tear down what --keep left\n"
			       "  --state DIR  disk images (default %s)\n"
			       "  --local      one process, no root needed "
			       "(the default without root)\n"
			       "  --quick      data checks only, no fio or "
			       "iperf3 figures\n", LAB_STATE);
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus lab: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	n = readlink("/proc/self/exe", l.self, sizeof(l.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "vmbus lab: cannot find my own binary\n");
		return 1;
	}
	l.self[n] = 0;
	if (down)
		return lab_down(&l);
	signal(SIGINT, lab_on_signal);
	signal(SIGTERM, lab_on_signal);
	if (local) {
		if (geteuid() != 0)
			printf("vmbus lab: not root, so no FUSE, loop devices "
			       "or namespaces: running everything in one "
			       "process over the in-process link\n");
		return lab_local(&l);
	}
	printf("vmbus lab: state in %s, this run in %s\n", l.state, l.run);
	return lab_root(&l);
}

const struct vmbus_cmd vmbus_cmd_lab = {
	"lab", "the whole system end to end, with a summary", cmd_lab
};
