#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/rbd-threads.sh: CPU and sleeps per I/O of every thread, fio's rbd
# engine (peer) next to fio through openvmbus (ours), on the cluster
# bench/remote-peer.sh keeps (REMOTE_PEER_CEPH=DIR, required; run
# remote-peer.sh with it once first).  For each side, over a window of
# REMOTE_THR_WINDOW seconds (default 3) inside a fio run (from a
# second after the job connected), per thread: utime+stime (us per
# I/O), voluntary and involuntary context switches per I/O, from /proc/PID/task/*/{stat,status}, of
# every fio process (peer: fio and librbd's threads; ours: fio's job
# thread and the guest's channel workers) and of our `vmbus host`
# (storvsp's workers, librbd's messenger and completion threads); threads
# of one name are summed unless named fio or vmbus (those by thread id),
# and the machine's idle share over the window (of 200 % on two cores).
# A thread born inside the window counts whole; one that ended in it is
# lost (the line of its process does not say which thread it was).
#   REMOTE_THR_RW, _BS, _QD: the workload (randwrite, 4k, 32)
#   REMOTE_CPU_RATE=IOPS: both sides at that fio rate_iops (compare like
#     with like: batching and wake-ups depend on the rate)
#   REMOTE_THR_SIDES: "peer ours" (default), or one of them
#   REMOTE_PEER_HOST_ARGS, REMOTE_PEER_FIO_OPTS, REMOTE_CPU_RBD_OPTS: as in
#     bench/rbd-cpu.sh; BUILD=DIR runs another build's host and engine.
# Needs root and fio with rbd.  Prints, does not write JSON.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/remote-common.sh
. bench/remote-common.sh 3
CDIR=${REMOTE_PEER_CEPH:-}
WIN=${REMOTE_THR_WINDOW:-3}
RW=${REMOTE_THR_RW:-randwrite} BS=${REMOTE_THR_BS:-4k} QD=${REMOTE_THR_QD:-32}

[ "$(id -u)" = 0 ] || { echo "rbd-threads: needs root"; exit 0; }
[ -n "$CDIR" ] && [ -f "$CDIR/ceph.conf" ] ||
	{ echo "rbd-threads: REMOTE_PEER_CEPH=DIR of a cluster remote-peer.sh keeps"; exit 1; }
export CEPH_CONF=$CDIR/ceph.conf
timeout 10 rbd info ovb/bench >/dev/null 2>&1 || { echo "rbd-threads: no image ovb/bench in $CDIR"; exit 1; }

dir=$(mktemp -d /tmp/ovb-rbd-threads.XXXXXX)
host=
cleanup() {
	[ -n "$host" ] && kill -INT "$host" 2>/dev/null && wait "$host"
	rm -rf "$dir"
}
trap cleanup EXIT

remote_host_start "$dir" "rbd:ovb/bench,conf=$CEPH_CONF${REMOTE_CPU_RBD_OPTS:-}"

# snap TAG PID OUT: "TAG TID COMM TICKS VOLUNTARY INVOLUNTARY" per thread
snap() {
	local s t c st v nv
	for s in /proc/"$2"/task/*; do
		t=${s##*/}
		c=$(tr ' ' _ 2>/dev/null <"$s/comm") || continue
		st=$(sed 's/.*) //' "$s/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		v=$(awk '/^voluntary_ctxt/ { print $2 }' "$s/status" 2>/dev/null)
		nv=$(awk '/^nonvoluntary_ctxt/ { print $2 }' "$s/status" 2>/dev/null)
		echo "$1 $t $c $st $v $nv"
	done >>"$3"
}

args=(--rw="$RW" --bs="$BS" --iodepth="$QD" --size=256M --time_based
	--runtime=$((WIN + 6)) --numjobs=1 --output-format=json)
[ -n "${REMOTE_CPU_RATE:-}" ] && args+=(--rate_iops="$REMOTE_CPU_RATE")
echo "rbd threads: $RW $BS QD$QD${REMOTE_CPU_RATE:+ at $REMOTE_CPU_RATE IOPS}," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg); fio:${REMOTE_PEER_FIO_OPTS:-}" \
	"host:${REMOTE_PEER_HOST_ARGS:-} disk:${REMOTE_CPU_RBD_OPTS:-}"
for side in ${REMOTE_THR_SIDES:-peer ours}; do
	if [ "$side" = peer ]; then
		eng=(--ioengine=rbd --clientname=admin --pool=ovb --rbdname=bench)
	else
		eng=(--ioengine=external:"$ENGINE"
			--filename="$dir/host.sock${REMOTE_PEER_FIO_OPTS:-}")
	fi
	fio --name="$side" "${eng[@]}" "${args[@]}" --output="$dir/$side.json" \
		>"$dir/$side.out" 2>&1 &
	f=$!
	# The job connected: the threads of fio and its job process (ours:
	# fio forks one; fio's rbd engine runs in fio's) and of our host the
	# same for a second (fio and our engine may connect once before for
	# the file's size; those threads end), then a second of ramp.
	nt='' same=0
	for _ in $(seq 50); do
		sleep 0.1
		n=$(for p in $f $(pgrep -P $f) ${host:+$host}; do
			ls /proc/"$p"/task 2>/dev/null; done | sort | tr '\n' ' ')
		[ "$n" = "$nt" ] && same=$((same + 1)) || same=0
		nt=$n
		[ "$same" -ge 10 ] && break
	done
	sleep 1
	for i in 0 1; do
		[ "$i" = 1 ] && sleep "$WIN"
		head -1 /proc/stat >"$dir/$side.cpu$i"
		date +%s.%N >"$dir/$side.t$i"
		for p in $f $(pgrep -P $f); do snap fio "$p" "$dir/$side.s$i"; done
		[ "$side" = ours ] && snap host "$host" "$dir/$side.s$i"
		# The host channels' sleeps and busy spins (vmbus stat).
		[ "$side" = ours ] && "$VMBUS" stat --socket "$dir/host.sock" \
			--json >"$dir/$side.j$i" 2>/dev/null
	done
	wait $f || { echo "rbd-threads: fio failed:"; cat "$dir/$side.out"; }
	python3 - "$dir" "$side" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d, side, hz = sys.argv[1], sys.argv[2], float(sys.argv[3])
j = json.load(open(f"{d}/{side}.json"))["jobs"][0]
x = j["write"] if j["write"]["io_bytes"] else j["read"]
t0, t1 = (float(open(f"{d}/{side}.t{i}").read()) for i in (0, 1))
ios = x["iops"] * (t1 - t0) or 1

def snap(path):
    r = {}
    for line in open(path):
        f = line.split()
        if len(f) == 6:  # a thread that ended mid-read has blanks
            r[(f[0], f[1])] = (f[2], int(f[3]), int(f[4]), int(f[5]))
    return r

a, b = snap(f"{d}/{side}.s0"), snap(f"{d}/{side}.s1")
c0, c1 = ([int(v) for v in open(f"{d}/{side}.cpu{i}").read().split()[1:]]
          for i in (0, 1))
dc = [q - p for p, q in zip(c0, c1)]
idle = (dc[3] + dc[4]) / (sum(dc) or 1) * 200
rows = {}
for k, (comm, st, v, nv) in b.items():
    _, st0, v0, nv0 = a.get(k, (comm, 0, 0, 0))  # new: all of it counts
    key = f"{k[0]}:{comm}" + (f"/{k[1]}" if comm in ("fio", "vmbus") else "")
    r = rows.setdefault(key, [0.0, 0.0, 0.0, 0])
    r[0] += (st - st0) / hz * 1e6 / ios
    r[1] += (v - v0) / ios
    r[2] += (nv - nv0) / ios
    r[3] += 1
us = sum(r[0] for r in rows.values())
sw = sum(r[1] for r in rows.values())
print(f"{side}: {x['iops']:.0f} IOPS, machine idle {idle:.0f}% of 200; "
      f"client {us:.1f} us, {sw:.2f} voluntary switches per I/O")
for k, r in sorted(rows.items(), key=lambda kv: -kv[1][0]):
    if r[0] >= 0.5 or r[1] >= 0.05 or r[2] >= 0.05:
        print(f"   {k:30s} x{r[3]:<2d} {r[0]:6.1f} us  vol {r[1]:5.2f}  "
              f"invol {r[2]:5.2f}")

def chans(path):
    t = {}
    try:
        for p in json.load(open(path))["partitions"]:
            for c in p["channels"]:
                for f in ("sleeps", "adapt_hits", "adapt_spin_us",
                          "spin_crowded"):
                    t[f] = t.get(f, 0) + c.get(f, 0)
    except (OSError, ValueError, KeyError):
        pass
    return t

if side == "ours":
    j0, j1 = chans(f"{d}/{side}.j0"), chans(f"{d}/{side}.j1")
    if j0 and j1:
        dj = {f: (j1[f] - j0.get(f, 0)) / ios for f in j1}
        print(f"   host channels per I/O: sleeps {dj['sleeps']:.2f}, busy "
              f"spin {dj['adapt_spin_us']:.1f} us, hits "
              f"{dj['adapt_hits']:.2f}, crowded {dj['spin_crowded']:.2f}")
PY
done
