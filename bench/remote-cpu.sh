#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/remote-cpu.sh [OUT_JSON]: where the CPU of an NBD disk's I/O goes,
# ours next to fio's own nbd engine on the same nbdkit export (the `nbd`
# rows of bench/remote-peer.sh), per I/O: CPU time (perf stat task-clock)
# and context switches of
#   peer:  fio (its nbd engine drives libnbd in fio's thread) + nbdkit
#   ours:  fio through build/openvmbus-fio.so (the guest: storvsc and
#          the ring) + `vmbus host` (storvsp's workers driving libnbd) +
#          nbdkit
# and our host's socket calls per I/O (recvfrom, sendto: libnbd's, or
# recv on our own wire; sendmsg, readv: our own wire's (blk_nbd_wire.c);
# poll, read, write: the workers' sleeps, eventfds and signals to the
# guest).  REMOTE_CPU_OPTS=,wire=libnbd measures libnbd's transmission
# phase instead of ours.
# On a 2-core machine a row that keeps both cores busy is decided by the
# total CPU per I/O: ours/peer IOPS then tends to peer/ours total.
#
# Workloads as in remote-peer.sh (4k random QD32, 128k sequential QD8,
# REMOTE_CPU_SECONDS each, default 5, over the first 256 MiB), each
# REMOTE_CPU_REPS times (default 2), the peer first.  REMOTE_CPU_OPTS
# adds disk-spec options to ours (",replies=structured",
# ",multiconn=off"); REMOTE_PEER_HOST_ARGS host options ("--poll 50");
# REMOTE_PEER_FIO_OPTS our fio engine's (",subchannels=0": one channel);
# REMOTE_CPU_WORKLOADS picks rows ("randwrite 4k 32", comma between);
# REMOTE_CPU_RATE=IOPS runs both sides at that fio rate_iops.
# Needs root (perf on other processes), perf, fio with its nbd engine,
# nbdkit.  Loaded-machine numbers say little: run it on a quiet machine.
set -u
cd "$(dirname "$0")/.."
# shellcheck source=bench/remote-common.sh
. bench/remote-common.sh 5
OPTS=${REMOTE_CPU_OPTS:-}
json=${1:-$BUILD/bench/remote-cpu.json}

[ "$(id -u)" = 0 ] || { echo "remote-cpu: needs root (perf)"; exit 0; }
[ -f "$ENGINE" ] && [ -x "$VMBUS" ] || { echo "remote-cpu: build first (make all)"; exit 1; }
for t in perf fio nbdkit python3; do
	command -v $t >/dev/null || { echo "remote-cpu: $t is not installed"; exit 0; }
done
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "remote-cpu: fio has no nbd engine"; exit 0; }
mkdir -p "$(dirname "$json")"

dir=$(mktemp -d /tmp/ovb-remote-cpu.XXXXXX)
nbd= host=
cleanup() {
	[ -n "$host" ] && kill -INT "$host" 2>/dev/null && wait "$host"
	[ -n "$nbd" ] && kill "$nbd" 2>/dev/null && wait "$nbd"
	rm -rf "$dir"
}
trap cleanup EXIT

nbdkit -f -U "$dir/nbd.sock" memory 1G 2>"$dir/nbdkit.log" &
nbd=$!
for _ in $(seq 100); do [ -S "$dir/nbd.sock" ] && break; sleep 0.05; done
uri="nbd+unix:///?socket=$dir/nbd.sock"
remote_host_start "$dir" "$uri$OPTS"

EV=task-clock,context-switches,raw_syscalls:sys_enter
SC=syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_poll,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_ioctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_sendmsg,syscalls:sys_enter_readv
# measure NAME FIOARGS...: fio under perf stat, nbdkit and (ours) the host
# counted beside it from fio's start to its end (so every count covers all
# of fio's I/Os, its start and end included: a few hundred calls against
# 10^4-10^5 I/Os); writes NAME.{fio,srv,host,json}.
measure() {
	local name=$1 side=$2; shift 2
	local p1 p2=
	perf stat -x, -e $EV -p "$nbd" -o "$dir/$name.srv" &
	p1=$!
	if [ "$side" = ours ]; then
		perf stat -x, -e $EV,$SC -p "$host" -o "$dir/$name.host" &
		p2=$!
	fi
	sleep 0.2 # perf attached
	perf stat -x, -e $EV -o "$dir/$name.fio" fio --name="$name" \
		--output-format=json --output="$dir/$name.json" "$@" \
		>"$dir/$name.out" 2>&1 || { echo "remote-cpu: fio failed:"; cat "$dir/$name.out"; }
	kill -INT $p1 $p2 2>/dev/null
	wait $p1 $p2
	echo "$name $side" >>"$dir/runs"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
remote_rows "$dir/host.sock" --ioengine=nbd --uri="$uri"

python3 - "$dir" "$json" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" "$uri$OPTS $HOST_ARGS fio:${REMOTE_PEER_FIO_OPTS:-}" "$SECS" <<'PY'
import json, os, sys
d, out, load0, load1, spec, secs = sys.argv[1:]
secs = float(secs)

def counters(path):
    r = {}
    if os.path.exists(path):
        for line in open(path):
            p = line.strip().split(",")
            if len(p) > 3 and p[0] and p[0][0].isdigit():
                r[p[2].split(":")[-1].replace("sys_enter_", "")] = float(p[0])
    return r

rows = []
for line in open(f"{d}/runs"):
    name, side = line.split()
    j = json.load(open(f"{d}/{name}.json"))["jobs"][0]
    x = j["read"] if j["read"]["io_bytes"] else j["write"]
    # all three are counted for fio's whole life: its I/Os.
    ios = x["total_ios"] or 1
    wios = ios
    f, s, h = (counters(f"{d}/{name}.{e}") for e in ("fio", "srv", "host"))
    row = {"run": name, "side": side, "iops": round(x["iops"]),
           "fio_us": f.get("task-clock", 0) * 1e3 / ios,
           "nbdkit_us": s.get("task-clock", 0) * 1e3 / wios,
           "host_us": h.get("task-clock", 0) * 1e3 / wios,
           "switches": f.get("context-switches", 0) / ios +
                       (s.get("context-switches", 0) +
                        h.get("context-switches", 0)) / wios}
    row["total_us"] = row["fio_us"] + row["nbdkit_us"] + row["host_us"]
    # per process: system calls (all) and context switches per I/O
    for tag, c, n in (("fio", f, ios), ("nbdkit", s, wios), ("host", h, wios)):
        row[f"{tag}_sys"] = c.get("raw_syscalls", c.get("sys_enter", 0)) / n
        row[f"{tag}_sw"] = c.get("context-switches", 0) / n
    for k in ("recvfrom", "sendto", "poll", "read", "write", "ioctl",
              "epoll_wait", "sendmsg", "readv"):
        row[k] = h.get(k, 0) / wios
    rows.append(row)

print(f"\nNBD disk, CPU per I/O: fio's nbd engine (peer) against fio through "
      f"openvmbus (ours), same nbdkit memory export; ours: {spec}")
print(f"load average before: {load0}, after: {load1} "
      f"(a quiet 2-core machine reads below 1)")
print(f"{'run':22} {'IOPS':>7} {'fio us':>7} {'host us':>7} {'nbdkit':>7} "
      f"{'total':>7} {'sw/IO':>6} | host calls/IO: recv send poll read "
      f"write sendmsg readv")
for r in rows:
    calls = (f"{r['recvfrom']:4.2f} {r['sendto']:4.2f} {r['poll']:4.2f} "
             f"{r['read']:4.2f} {r['write']:4.2f} {r['sendmsg']:4.2f} "
             f"{r['readv']:4.2f}" if r["side"] == "ours"
             else "")
    print(f"{r['run']:22} {r['iops']:7d} {r['fio_us']:7.1f} "
          f"{r['host_us']:7.1f} {r['nbdkit_us']:7.1f} {r['total_us']:7.1f} "
          f"{r['switches']:6.2f} | {calls}")
print("\nSystem calls / context switches per I/O, per process "
      "(host: ours only; ioctl, epoll_wait: the host's)")
print(f"{'run':22} {'fio sys':>8} {'fio sw':>7} {'nbdkit sys':>10} "
      f"{'nbdkit sw':>9} {'host sys':>8} {'host sw':>7} {'ioctl':>6} "
      f"{'ep_wait':>7}")
for r in rows:
    print(f"{r['run']:22} {r['fio_sys']:8.2f} {r['fio_sw']:7.2f} "
          f"{r['nbdkit_sys']:10.2f} {r['nbdkit_sw']:9.2f} "
          f"{r['host_sys']:8.2f} {r['host_sw']:7.2f} {r['ioctl']:6.2f} "
          f"{r['epoll_wait']:7.2f}")
json.dump({"spec": spec, "load_before": load0, "load_after": load1,
           "rows": rows}, open(out, "w"), indent=1)
print(f"written to {out}")
PY
