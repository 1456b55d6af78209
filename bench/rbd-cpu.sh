#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/rbd-cpu.sh [OUT_JSON]: where the CPU of an RBD disk's I/O goes,
# ours next to fio's own rbd engine on the same image of the one-node
# cluster bench/remote-peer.sh keeps (REMOTE_PEER_CEPH=DIR, required: run
# remote-peer.sh with it once first, it brings the cluster up and writes
# the image).  Per I/O, for every process that works for it:
#   peer:  fio (its rbd engine: librbd in fio) + ceph-osd, -mon, -mgr
#   ours:  fio through build/openvmbus-fio.so (the guest) + `vmbus host`
#          (storvsp's workers driving librbd) + ceph-osd, -mon, -mgr
# CPU is utime+stime of all of a process's threads (/proc/PID/task/*/stat)
# from fio's start to its end, fio's own from its rusage (perf stat
# task-clock); and the OSD's own counters (`ceph daemon osd.0 perf dump`,
# the delta over the run): operations, bytes and latencies per I/O, so a
# client whose writes reach the OSD split, merged or with more metadata
# shows.
#
# Workloads as in remote-peer.sh (REMOTE_CPU_WORKLOADS picks rows, comma
# between; REMOTE_CPU_SECONDS each, default 4; REMOTE_CPU_REPS, default 2,
# the peer first).  REMOTE_CPU_RATE=IOPS runs both sides at that fio
# rate_iops.  REMOTE_PEER_FIO_OPTS our fio engine's (",subchannels=0"),
# REMOTE_PEER_HOST_ARGS our host's.  Needs root, perf, fio with rbd.
# REMOTE_CPU_KEEP=1 keeps the run directory (fio JSON, perf dumps).
# REMOTE_CPU_RBD_OPTS appends to our disk spec (",reap=owner").
set -u
cd "$(dirname "$0")/.."
# shellcheck source=bench/remote-common.sh
. bench/remote-common.sh 4
CDIR=${REMOTE_PEER_CEPH:-}
json=${1:-$BUILD/bench/rbd-cpu.json}

[ "$(id -u)" = 0 ] || { echo "rbd-cpu: needs root"; exit 0; }
[ -n "$CDIR" ] && [ -f "$CDIR/ceph.conf" ] ||
	{ echo "rbd-cpu: REMOTE_PEER_CEPH=DIR of a cluster remote-peer.sh keeps"; exit 1; }
export CEPH_CONF=$CDIR/ceph.conf
timeout 10 rbd info ovb/bench >/dev/null 2>&1 || { echo "rbd-cpu: no image ovb/bench in $CDIR"; exit 1; }
mkdir -p "$(dirname "$json")"
pidof_in() { # NAME: the daemon of this cluster (its pid file)
	cat "$CDIR/run/$1.pid" 2>/dev/null
}
OSD=$(pidof_in osd.0) MON=$(pidof_in mon.a) MGR=$(pidof_in mgr.x)
[ -n "$OSD" ] || OSD=$(pgrep -f "ceph-osd -c $CEPH_CONF")
[ -n "$MON" ] || MON=$(pgrep -f "ceph-mon -c $CEPH_CONF")
[ -n "$MGR" ] || MGR=$(pgrep -f "ceph-mgr -c $CEPH_CONF")

dir=$(mktemp -d /tmp/ovb-rbd-cpu.XXXXXX)
host=
cleanup() {
	[ -n "$host" ] && kill -INT "$host" 2>/dev/null && wait "$host"
	[ -n "${REMOTE_CPU_KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT

remote_host_start "$dir" "rbd:ovb/bench,conf=$CEPH_CONF${REMOTE_CPU_RBD_OPTS:-}"

# cpu_ticks PID...: "PID TID COMM TICKS" for each thread of each process
# (utime+stime, clock ticks; a comm's blanks as "_").
cpu_ticks() {
	local p
	for p in "$@"; do
		# The process's own line counts threads that ended, too (our
		# host's workers end with the guest's connection): "TOTAL".
		awk -v p="$p" '{ i = index($0, ") "); split(substr($0, i + 2), f, " ");
			print p, 0, "TOTAL", f[12] + f[13] }' /proc/"$p"/stat
		for s in /proc/"$p"/task/*/stat; do
			sed 's/^\([0-9]*\) (\(.*\)) \(.*\)$/\1 \2) \3/' "$s" 2>/dev/null |
				awk -v p="$p" '{ i = index($0, ") "); c = substr($0, 1, i - 1);
					sub(/^[0-9]+ /, "", c); gsub(/ /, "_", c);
					split(substr($0, i + 2), f, " ");
					print p, $1, c, f[12] + f[13] }'
		done
	done
}
osd_dump() { timeout 20 ceph daemon osd.0 perf dump >"$1" 2>/dev/null; }

# measure NAME SIDE FIOARGS...: fio under perf stat, the daemons (and
# ours: the host) counted from just before fio's start to just after.
measure() {
	local name=$1 side=$2; shift 2
	osd_dump "$dir/$name.osd0"
	cpu_ticks "$OSD" "$MON" "$MGR" "$host" >"$dir/$name.t0"
	perf stat -x, -e task-clock,context-switches -o "$dir/$name.fio" \
		fio --name="$name" --output-format=json \
		--output="$dir/$name.json" "$@" >"$dir/$name.out" 2>&1 ||
		{ echo "rbd-cpu: fio failed:"; cat "$dir/$name.out"; }
	cpu_ticks "$OSD" "$MON" "$MGR" "$host" >"$dir/$name.t1"
	osd_dump "$dir/$name.osd1"
	echo "$name $side" >>"$dir/runs"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
remote_rows "$dir/host.sock" --ioengine=rbd --clientname=admin --pool=ovb --rbdname=bench

python3 - "$dir" "$json" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$(getconf CLK_TCK)" "fio:${REMOTE_PEER_FIO_OPTS:-} host:$HOST_ARGS" <<'PY'
import json, os, sys
d, out, load0, load1, hz, what = sys.argv[1:]
hz = float(hz)

def ticks(path):
    """{pid: total}, {(pid, comm): total} (threads of one name summed)."""
    per, byname = {}, {}
    for l in open(path):
        pid, tid, comm, t = l.split()
        if comm == "TOTAL":
            per[pid] = int(t)
        else:
            byname[(pid, comm)] = byname.get((pid, comm), 0) + int(t)
    return per, byname

def pids(path):
    return [l.split()[0] for l in open(path)]

def perf(path):
    r = {}
    for line in open(path):
        p = line.strip().split(",")
        if len(p) > 3 and p[0] and p[0][0].isdigit():
            r[p[2]] = float(p[0])
    return r

def osd(path):
    try:
        return json.load(open(path))
    except Exception:
        return {}

def count(j, sec, key):
    v = j.get(sec, {}).get(key, 0)
    if isinstance(v, dict):
        return v.get("avgcount", 0), v.get("sum", 0.0)
    return v, 0.0

OSDKEYS = [("osd", "op_w"), ("osd", "op_r"), ("osd", "op_w_in_bytes"),
           ("osd", "op_r_out_bytes"), ("osd", "op_w_latency"),
           ("osd", "op_w_process_latency"), ("osd", "op_r_latency"),
           ("bluestore", "kv_flush_lat"), ("bluestore", "kv_commit_lat"),
           ("bluestore", "bluestore_write_small"),
           ("bluestore", "bluestore_write_big"),
           ("bluestore", "bluestore_write_small_deferred"),
           ("bluestore", "bluestore_write_small_new"),
           ("bluestore", "deferred_write_ops"),
           ("bluestore", "bluestore_txc"),
           ("bluefs", "log_bytes"), ("bluefs", "bytes_written_wal"),
           ("bluestore", "bluestore_write_pad_bytes"),
           ("bluestore", "bluestore_onode_misses"),
           ("bluestore", "bluestore_onode_hits")]
rows = []
for line in open(f"{d}/runs"):
    name, side = line.split()
    j = json.load(open(f"{d}/{name}.json"))["jobs"][0]
    x = j["read"] if j["read"]["io_bytes"] else j["write"]
    ios = x["total_ios"] or 1
    (p0, n0), (p1, n1) = ticks(f"{d}/{name}.t0"), ticks(f"{d}/{name}.t1")
    order = list(dict.fromkeys(pids(f"{d}/{name}.t0")))
    us = [(p1.get(p, 0) - p0.get(p, 0)) / hz * 1e6 / ios for p in order]
    # per thread name, osd (first pid) and host (last): us per I/O
    threads = {}
    # ended threads (host: the workers, gone with fio's connection)
    for i, p in ((0, order[0]), (len(order) - 1, order[-1])):
        live = sum(n1.get(k, 0) - n0.get(k, 0) for k in n1 if k[0] == p)
        gone = us[i] - live / hz * 1e6 / ios
        if gone >= 1:
            threads[("osd:" if i == 0 else "host:") + "(ended)"] = round(gone, 1)
    for (p, comm), t in n1.items():
        if p in (order[0], order[-1]):
            v = (t - n0.get((p, comm), 0)) / hz * 1e6 / ios
            if v >= 1:
                threads[("osd:" if p == order[0] else "host:") + comm] = round(v, 1)
    f = perf(f"{d}/{name}.fio")
    row = {"run": name, "side": side, "iops": round(x["iops"]),
           "fio_us": f.get("task-clock", 0) * 1e3 / ios,
           "osd_us": us[0], "mon_us": us[1], "mgr_us": us[2],
           "host_us": us[3] if side == "ours" else 0.0,
           "fio_sw": f.get("context-switches", 0) / ios,
           "threads": threads}
    row["total_us"] = sum(row[k] for k in
                          ("fio_us", "osd_us", "mon_us", "mgr_us", "host_us"))
    o0, o1 = osd(f"{d}/{name}.osd0"), osd(f"{d}/{name}.osd1")
    for sec, key in OSDKEYS:
        c0, s0 = count(o0, sec, key)
        c1, s1 = count(o1, sec, key)
        row[key] = (c1 - c0) / ios
        if s1 - s0 and c1 - c0:
            row[key + "_ms"] = (s1 - s0) / (c1 - c0) * 1e3
    rows.append(row)

print(f"\nRBD disk, CPU per I/O (us of utime+stime): fio's rbd engine (peer) "
      f"against fio through openvmbus (ours), same image; {what}")
print(f"load average before: {load0}, after: {load1}")
print(f"{'run':22} {'IOPS':>6} {'fio':>6} {'host':>6} {'osd':>6} {'mon':>5} "
      f"{'mgr':>5} {'total':>6} | OSD per I/O: op_w op_r inKiB w_ms "
      f"txc small big defer")
for r in rows:
    print(f"{r['run']:22} {r['iops']:6d} {r['fio_us']:6.1f} "
          f"{r['host_us']:6.1f} {r['osd_us']:6.1f} {r['mon_us']:5.1f} "
          f"{r['mgr_us']:5.1f} {r['total_us']:6.1f} | {r['op_w']:4.2f} "
          f"{r['op_r']:4.2f} {r['op_w_in_bytes'] / 1024:5.1f} "
          f"{r.get('op_w_latency_ms', 0):5.2f} {r['bluestore_txc']:4.2f} "
          f"{r['bluestore_write_small']:4.2f} {r['bluestore_write_big']:4.2f} "
          f"{r['deferred_write_ops']:4.2f}")
print("\nper thread name, us per I/O (osd: the OSD, host: ours)")
for r in rows:
    print(f"{r['run']:22} " + " ".join(f"{k}={v}" for k, v in
                                       sorted(r["threads"].items())))
json.dump({"what": what, "load_before": load0, "load_after": load1,
           "rows": rows}, open(out, "w"), indent=1)
print(f"written to {out}")
PY
