#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/remote-peer.sh [OUT_JSON [ENGINE...]]: disks on remote stores, ours
# next to the engine's own fio ioengine, on the same image in the same run.
#
#   ours:  fio --ioengine=external:build/openvmbus-fio.so (a guest driving
#          storvsc) -> `vmbus host --disk ENGINE-SPEC` -> the engine's
#          library -> the server
#   peer:  fio's own ioengine for that engine, straight to the server
#
# Workloads (each time_based, REMOTE_PEER_SECONDS, default 10, one job):
# 4k random read and 4k random write at queue depth 32, 128k sequential
# read and write at queue depth 8, over the first REMOTE_PEER_SPAN (default
# 256M) of the image, which is written once before (reads hit real data).
# For each workload the peer runs first, then ours.  Prints a table with
# IOPS, MiB/s and the ratio ours/peer, and writes them to OUT_JSON
# (default build/bench/remote.json).  REMOTE_PEER_REPEAT=N (default 1)
# runs N pairs per workload, the order flipped every other pair (peer
# then ours, ours then peer, ...; fio's engine alone swings +-20 % from
# minute to minute), and prints the median IOPS of each side, the median
# ratio and its range; the JSON keeps every pair ("pairs") beside the
# medians ("rows": ratio, ratio_min, ratio_max, ratios).  E.g.
#   REMOTE_PEER_REPEAT=5 REMOTE_PEER_SECONDS=4 bash bench/remote-peer.sh o.json nbd
# REMOTE_PEER_COUNT=1 (REMOTE_PEER_SECONDS >= 3) counts every run's
# threads over its steady part (bench/remote_count.py: sleeps and CPU per
# I/O of fio, our host and the server, our host's channel signals and
# completion batches per I/O): medians in a second table, each run's in
# the JSON (peer_counts, ours_counts).  Which stage sleeps more per I/O
# in a slow pair than in a fast one says where a slow state waits.
# Run as root on an idle machine:
#   bash bench/remote-peer.sh                 # every engine below
#   bash bench/remote-peer.sh out.json rbd    # only RBD
#
# Engines (ENGINES below); each one is three functions:
#   ENGINE_up DIR   start the server in DIR; set SPEC (what `vmbus host
#                   --disk` takes, the image already SPAN bytes or more)
#                   and PEER (fio's options for its own engine, same image)
#   ENGINE_down     stop what ENGINE_up started (also on failure)
# ENGINE_up may set SRV_PID, the server's pid, for REMOTE_PEER_COUNT.
# rbdt: the same with our host's librbd defaults (rbd_non_blocking_aio
# false, librados_thread_count 1) in the peer's configuration too, e.g.
#   bash bench/remote-peer.sh out.json rbd rbdt
# rbdd: ours with librbd's own defaults in the configuration instead (the
# peer's settings anyway): our defaults against librbd's in one run, e.g.
#   bash bench/remote-peer.sh out.json rbd rbdd rbd rbdd
# rbd: a one-node Ceph cluster (tests/system/ceph/cluster.sh: monitor,
# manager, one BlueStore OSD on a sparse file in DIR), image ovb/bench
# without exclusive-lock, so both clients can write without trading the lock;
# peer = fio's rbd engine (librbd), the same librbd under our host, both
# with the client cache off (our host's default: a write completes when the
# OSD has it); REMOTE_PEER_RBD_CACHE=true turns it on for both;
# REMOTE_PEER_RBD_OPTS adds options to our disk spec (e.g. ",spin=40").
# REMOTE_PEER_CEPH=DIR keeps the cluster: the first run brings it up in
# DIR and leaves it running (the image written once), later runs with the
# same DIR reuse it and start measuring at once; the run prints how to stop
# it.  For repeated runs on a quiet machine:
#   export REMOTE_PEER_CEPH=/var/tmp/ovb-ceph REMOTE_PEER_SECONDS=5
#   for i in 1 2 3; do bash bench/remote-peer.sh /tmp/rbd-$i.json rbd; done
# REMOTE_PEER_HOST_ARGS adds options to our `vmbus host` (e.g. "--poll 50"),
# REMOTE_PEER_FIO_OPTS to our fio engine's filename (e.g. ",subchannels=0":
# one channel, one host worker, one NBD connection, the peer's shape; the
# engine's default is one sub-channel, two of each).
# nbd: nbdkit's memory plugin (1 GiB) on a unix socket in DIR; peer = fio's
# nbd engine (libnbd, one connection, driven from fio's thread), ours =
# blk_nbd (libnbd; nbdkit advertises multi-conn, so a connection per channel
# queue, driven by the channel's worker itself).
# Both sides as a user runs them: fio's nbd engine with its defaults (it
# has no options beyond uri=: one libnbd handle per job, structured replies
# as libnbd requests by default), ours with the disk spec's defaults
# (simple replies); the same nbdkit (its default thread model for the
# memory plugin, parallel, and -t 16 threads), the same iodepth, block
# sizes and one job.  The table's header line says so.
# nbd1: the same with multiconn=off: one connection per disk and blk_nbd's
# engine thread (what servers without multi-conn get), e.g.
#   bash bench/remote-peer.sh out.json nbd nbd1
# nbds: the same with replies=structured (what the peer's libnbd asks for):
# ours with and without the cheaper simple replies, in one run:
#   bash bench/remote-peer.sh out.json nbd nbds nbd nbds
# nbdl: the same with wire=libnbd (libnbd's transmission phase instead of
#   ours, blk_nbd_wire.c): before/after in one run, each against the peer:
#   bash bench/remote-peer.sh out.json nbd nbdl nbd nbdl
# nbd1l: nbd1 (the engine thread) with wire=libnbd.
# REMOTE_PEER_NBD_OPTS appends disk-spec options to ours (e.g.
# ",multiconn=off").
# REMOTE_PEER_WORKLOADS picks rows (default all four), e.g. only 4k
# random writes, several quick passes:
#   REMOTE_PEER_WORKLOADS="randwrite 4k 32" bash bench/remote-peer.sh o.json nbd
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
ENGINE=$(realpath "$BUILD/openvmbus-fio.so")
SECS=${REMOTE_PEER_SECONDS:-10}
# Extra `vmbus host` options for ours, e.g. "--poll 50" (polling mode).
HOST_ARGS=${REMOTE_PEER_HOST_ARGS:-}
SPAN=${REMOTE_PEER_SPAN:-256M}
REPEAT=${REMOTE_PEER_REPEAT:-1}
case $REPEAT in '' | *[!0-9]* | 0) echo "remote-peer: REMOTE_PEER_REPEAT=N, N >= 1"; exit 1 ;; esac
REPEAT_TAG=
COUNT=${REMOTE_PEER_COUNT:-}
[ "$COUNT" = 0 ] && COUNT=
[ -n "$COUNT" ] && [ "$SECS" -lt 3 ] && { echo "remote-peer: REMOTE_PEER_COUNT needs REMOTE_PEER_SECONDS >= 3"; exit 1; }
[ "$REPEAT" -gt 1 ] && REPEAT_TAG=1
json=${1:-$BUILD/bench/remote.json}
shift || true
ENGINES=("$@")
[ ${#ENGINES[@]} -gt 0 ] || ENGINES=(rbd nbd)

[ "$(id -u)" = 0 ] || { echo "remote-peer: needs root (the Ceph daemons)"; exit 0; }
[ -f "$ENGINE" ] && [ -x "$VMBUS" ] || { echo "remote-peer: build first (make all)"; exit 1; }
command -v fio >/dev/null || { echo "remote-peer: fio is not installed"; exit 0; }

# ---- rbd -----------------------------------------------------------------
. tests/system/ceph/cluster.sh
rbd_kept=
rbd_up() {
	local cdir=${REMOTE_PEER_CEPH:-$1/ceph}
	if [ -n "${REMOTE_PEER_CEPH:-}" ] && [ -f "$cdir/ceph.conf" ] &&
		CEPH_CONF=$cdir/ceph.conf timeout 10 rbd ls ovb >/dev/null 2>&1; then
		CEPH_DIR=$cdir
		export CEPH_CONF=$cdir/ceph.conf
		echo "ceph: reusing the cluster in $cdir"
	else
		# A kept cluster that is no longer up: start afresh there.
		[ -f "$cdir/ceph.conf" ] && [ -f "$cdir/daemons.pid" ] && rm -rf "$cdir"
		ceph_up "$cdir" >"$1/ceph-up.log" 2>&1 || { cat "$1/ceph-up.log"; return 1; }
		tail -n1 "$1/ceph-up.log"
		echo "${CEPH_PIDS[@]}" >"$cdir/daemons.pid"
	fi
	[ -n "${REMOTE_PEER_CEPH:-}" ] && rbd_kept=$cdir
	# Both clients read this: the same client cache setting for both.
	sed -i '/^rbd cache = /d; /^rbd non blocking aio = /d; /^librados thread count = /d' "$CEPH_CONF"
	echo "rbd cache = ${REMOTE_PEER_RBD_CACHE:-false}" >>"$CEPH_CONF"
	if ! rbd info ovb/bench >/dev/null 2>&1; then
		rbd create --size 1G --image-feature layering ovb/bench || return 1
		rm -f "$cdir/bench.filled"
	fi
	SPEC="rbd:ovb/bench,conf=$CEPH_CONF${REMOTE_PEER_RBD_OPTS:-}"
	PEER=(--ioengine=rbd --clientname=admin --pool=ovb --rbdname=bench)
	# A kept cluster's image was written once already: reads find data.
	FILLED=$cdir/bench.filled
}
# rbdt: rbd with our host's librbd defaults (inline dispatch, one
# completion thread) written into the configuration both read, so the
# peer runs with them too: what is left is the VMBus hop's own cost.
rbdt_up() {
	rbd_up "$@" || return 1
	printf 'rbd non blocking aio = false\nlibrados thread count = 1\n' >>"$CEPH_CONF"
	DESC="peer and ours with librbd's rbd_non_blocking_aio=false, librados_thread_count=1 (our host's defaults)"
}
rbdt_down() {
	sed -i '/^rbd non blocking aio = /d; /^librados thread count = /d' "$CEPH_CONF"
	rbd_down
}
# rbdd: librbd's own defaults written in (the peer's settings anyway), so
# our host runs as it did before its defaults: before/after in one run.
rbdd_up() {
	rbd_up "$@" || return 1
	printf 'rbd non blocking aio = true\nlibrados thread count = 2\n' >>"$CEPH_CONF"
	DESC="ours with librbd's defaults (rbd_non_blocking_aio=true, librados_thread_count=2), as the peer"
}
rbdd_down() { rbdt_down; }
# rbd_with OPTION DESC DIR: rbd_up, then ours with OPTION added to its
# disk spec (the variants below: before/after in one run).
rbd_with() {
	rbd_up "${@:3}" || return 1
	SPEC="$SPEC,$1"
	DESC=$2
}
# rbdw: ours with reap=owner: every completion through the channel's
# worker, as before librbd's thread answered the guest itself (blk_rbd.c,
# "Threads"; the default answers reads there): before/after in one run,
#   bash bench/remote-peer.sh out.json rbd rbdw rbda rbd rbdw rbda
rbdw_up() { rbd_with reap=owner "ours with reap=owner (completions through the worker)" "$@"; }
rbdw_down() { rbd_down; }
# rbda: ours with reap=librbd: every completion offered to librbd's
# thread, writes too (the default, reap=read, offers reads' only).
rbda_up() { rbd_with reap=librbd "ours with reap=librbd (every completion answered on librbd's thread when the worker sleeps)" "$@"; }
rbda_down() { rbd_down; }
# rbdn: ours with spin=off: the host worker sleeps until librbd's callback
# wakes it, instead of busy-spinning for the answers as for NBD's (the
# default): both in one run,
#   bash bench/remote-peer.sh out.json rbd rbdn rbd rbdn
rbdn_up() { rbd_with spin=off "ours with spin=off (the host worker sleeps for librbd's answers)" "$@"; }
rbdn_down() { rbd_down; }
# rbdo: ours with spin=on written out (the default): the worker
# busy-spins for librbd's answers up to 200 us, for runs whose rbd is
# given another spin= (REMOTE_PEER_RBD_OPTS; docs/remote.md, "RBD: a
# short spin"):
#   REMOTE_PEER_RBD_OPTS=,spin=40 bash bench/remote-peer.sh out.json rbd rbdo
rbdo_up() { rbd_with spin=on "ours with spin=on (the worker busy-spins up to 200 us for librbd's answers)" "$@"; }
rbdo_down() { rbd_down; }
rbd_down() {
	if [ -n "$rbd_kept" ]; then
		echo "ceph: left running in $rbd_kept for the next run; stop it with:"
		echo "  kill \$(cat $rbd_kept/daemons.pid); rm -rf $rbd_kept"
		CEPH_PIDS=()
		return
	fi
	ceph_down
}

# ---- nbd -----------------------------------------------------------------
nbd_pid=
nbd_up() {
	command -v nbdkit >/dev/null || { echo "remote-peer: nbdkit missing"; return 1; }
	fio --enghelp 2>/dev/null | grep -qw nbd || { echo "remote-peer: fio has no nbd engine"; return 1; }
	rm -f "$1/nbd.sock" # a server before this one may have left it
	nbdkit -f -U "$1/nbd.sock" memory 1G 2>"$1/nbdkit.log" &
	nbd_pid=$!
	SRV_PID=$nbd_pid
	FILLED=
	for _ in $(seq 100); do [ -S "$1/nbd.sock" ] && break; sleep 0.05; done
	PEER=(--ioengine=nbd --uri="nbd+unix:///?socket=$1/nbd.sock")
	SPEC="nbd+unix:///?socket=$1/nbd.sock${REMOTE_PEER_NBD_OPTS:-}"
	DESC="server: nbdkit $(nbdkit --version | cut -d' ' -f2) memory 1G on a unix socket (its defaults: parallel, -t 16); peer: fio's nbd engine (one libnbd handle, structured replies)"
}
nbd_down() { [ -n "$nbd_pid" ] && kill "$nbd_pid" 2>/dev/null && wait "$nbd_pid"; nbd_pid=; }
nbd1_up() { nbd_up "$@" || return 1; SPEC="$SPEC,multiconn=off"; }
nbd1_down() { nbd_down; }
nbds_up() { nbd_up "$@" || return 1; SPEC="$SPEC,replies=structured"; }
nbds_down() { nbd_down; }
nbdl_up() { nbd_up "$@" || return 1; SPEC="$SPEC,wire=libnbd"; }
nbdl_down() { nbd_down; }
nbd1l_up() { nbd1_up "$@" || return 1; SPEC="$SPEC,wire=libnbd"; }
nbd1l_down() { nbd_down; }

# ---- the run -------------------------------------------------------------
dir=$(mktemp -d /tmp/ovb-remote-peer.XXXXXX)
host= cur=
cleanup() {
	[ -n "$host" ] && kill -INT "$host" 2>/dev/null && wait "$host"
	[ -n "$cur" ] && "${cur}_down"
	rm -rf "$dir"
}
trap cleanup EXIT

# REMOTE_PEER_WORKLOADS picks rows, e.g. "randwrite 4k 32" (comma between).
IFS=, read -r -a WORKLOADS <<<"${REMOTE_PEER_WORKLOADS:-randread 4k 32,randwrite 4k 32,read 128k 8,write 128k 8}"

# run_fio NAME ARGS...: one fio run, prints "IOPS BYTES_PER_S" of its rw.
# With COUNT_SIDE set (peer or ours: REMOTE_PEER_COUNT=1) the threads of
# fio, our host and the server are counted from 1.1 s after fio's job
# process came up (its ramp_time over; 1.2 s in at the earliest) to 0.3 s
# before the run's end, one JSON line to $dir/counts
# (bench/remote_count.py).
run_fio() {
	local name=$1 fpid spid='' rc=0 sock=-; shift
	timeout $((SECS + 60)) fio --name="$name" --output-format=json \
		--output="$dir/$name.json" "$@" >"$dir/$name.out" 2>&1 &
	fpid=$!
	if [ -n "${COUNT_SIDE:-}" ]; then
		[ "$COUNT_SIDE" = ours ] && sock=$dir/host.sock
		# fio runs ramp_time (1 s) and then SECS: snapshots after the
		# ramp and 0.3 s before the end.
		python3 bench/remote_count.py window "$dir/cnt.a" "$dir/cnt.b" \
			1.2 "$SECS".7 "$VMBUS" "$sock" "$fpid" "${host:-0}" \
			"${SRV_PID:-0}" &
		spid=$!
	fi
	wait "$fpid" || rc=$?
	[ -n "$spid" ] && wait "$spid"
	[ "$rc" = 0 ] ||
		{ echo "remote-peer: fio $name failed:" >&2; cat "$dir/$name.out" >&2; echo "0 0"; return; }
	if [ -n "$spid" ] && [ ! -f "$dir/cnt.b" ]; then
		echo "remote-peer: no counts for $name (fio started late)" >&2
	elif [ -n "$spid" ]; then
		python3 bench/remote_count.py diff "$dir/cnt.a" "$dir/cnt.b" \
			"$dir/$name.json" "${#rows[@]}" "$COUNT_SIDE" >>"$dir/counts" ||
			echo "remote-peer: no counts for $name" >&2
		rm -f "$dir/cnt.a" "$dir/cnt.b"
	fi
	python3 - "$dir/$name.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["read"] if j["read"]["io_bytes"] else j["write"]
print(f'{d["iops"]:.0f} {d["bw_bytes"]:.0f}')
PY
}

# run_peer RW BS, run_ours RW BS: one side of a pair (args from the loop).
run_peer() {
	COUNT_SIDE=${COUNT:+peer} run_fio "$eng-peer-$1-$2" "${PEER[@]}" "${args[@]}"
}
run_ours() {
	COUNT_SIDE=${COUNT:+ours} run_fio "$eng-ours-$1-$2" --ioengine=external:"$ENGINE" \
		--filename="$dir/host.sock${REMOTE_PEER_FIO_OPTS:-}" "${args[@]}"
}

rows=()
# The load around the runs says how far to trust them (a quiet 2-core
# machine reads below 1).
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for eng in "${ENGINES[@]}"; do
	declare -F "${eng}_up" >/dev/null || { echo "remote-peer: no engine '$eng'"; continue; }
	echo "== $eng: bring-up"
	cur=$eng
	DESC=
	SRV_PID=
	"${eng}_up" "$dir" || { echo "remote-peer: $eng did not come up"; "${eng}_down"; cur=; continue; }
	# shellcheck disable=SC2086 # words on purpose: extra host options
	[ -n "$DESC" ] && echo "   $DESC"
	echo "   ours: vmbus host --disk $SPEC${HOST_ARGS:+ $HOST_ARGS}; fio filename=host.sock${REMOTE_PEER_FIO_OPTS:-}"
	"$VMBUS" host --socket "$dir/host.sock" --echo 0 --disk "$SPEC" ${HOST_ARGS} \
		2>"$dir/host.log" &
	host=$!
	for _ in $(seq 200); do
		"$VMBUS" disk list --socket "$dir/host.sock" 2>/dev/null | grep -q "lun 0" && break
		sleep 0.05
	done
	common=(--size="$SPAN" --time_based --runtime="$SECS" --ramp_time=1 --numjobs=1)
	# Written once through the peer, so reads find data on the OSDs.
	if [ -z "${FILLED:-}" ] || [ ! -f "$FILLED" ]; then
		run_fio prefill "${PEER[@]}" --rw=write --bs=1M --iodepth=8 --size="$SPAN" >/dev/null
		[ -n "${FILLED:-}" ] && touch "$FILLED"
	fi
	for w in "${WORKLOADS[@]}"; do
		read -r rw bs qd <<<"$w"
		args=(--rw="$rw" --bs="$bs" --iodepth="$qd" "${common[@]}")
		# REPEAT pairs, the order flipped every other pair (peer, ours,
		# ours, peer, ...): each side runs first as often as second.
		for r in $(seq "$REPEAT"); do
			if [ $((r % 2)) = 1 ]; then
				read -r piops pbw < <(run_peer "$rw" "$bs")
				read -r oiops obw < <(run_ours "$rw" "$bs")
			else
				read -r oiops obw < <(run_ours "$rw" "$bs")
				read -r piops pbw < <(run_peer "$rw" "$bs")
			fi
			rows+=("$eng $rw $bs $qd $piops $pbw $oiops $obw")
			echo "  $rw $bs QD$qd${REPEAT_TAG:+ pair $r}: peer $piops IOPS, ours $oiops IOPS"
		done
	done
	kill -INT "$host"; wait "$host"; host=
	"${eng}_down"; cur=
done

python3 - "$json" "$SECS" "$HOST_ARGS" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPEAT" "$dir/counts" "${rows[@]}" <<'PY'
import json, os, statistics, sys
out, secs, hargs, load0, load1, rep, cfile = sys.argv[1:8]
secs, rep, rows = int(secs), int(rep), sys.argv[8:]
res = []
counts = {}
if os.path.exists(cfile):
    for line in open(cfile):
        c = json.loads(line)
        counts[(c.pop("row"), c.pop("side"))] = c
print(f"\nremote disks: fio through openvmbus (ours) vs the engine's own fio "
      f"ioengine (peer), {secs}s each, same image, same run"
      + (f", {rep} pairs per row alternated (peer first in odd pairs)"
         if rep > 1 else "")
      + (f", host options: {hargs}" if hargs else ""))
print(f"load average before: {load0}, after: {load1}")
for r in rows:
    eng, rw, bs, qd, piops, pbw, oiops, obw = r.split()
    piops, pbw, oiops, obw = map(float, (piops, pbw, oiops, obw))
    ratio = oiops / piops if piops else 0.0
    res.append({"engine": eng, "rw": rw, "bs": bs, "iodepth": int(qd),
                "peer_iops": piops, "peer_bw": pbw, "ours_iops": oiops,
                "ours_bw": obw, "ratio": round(ratio, 3)})
    for side in ("peer", "ours"):
        if (len(res) - 1, side) in counts:
            res[-1][side + "_counts"] = counts[(len(res) - 1, side)]


def count_table(groups):
    """Medians per row of the per-I/O counts (REMOTE_PEER_COUNT=1)."""
    if not counts:
        return
    def m(g, side, *path):
        v = []
        for x in g:
            c = x.get(side + "_counts")
            for k in path:
                c = c.get(k) if isinstance(c, dict) else None
            if c is not None:
                v.append(c)
        return f"{statistics.median(v):.2f}" if v else "-"
    print("\nper I/O, medians (REMOTE_PEER_COUNT): sleeps (voluntary "
          "switches) of fio / our host / the server, CPU share (1.0 = a "
          "core) of each; ours' channels: signals host->guest, "
          "guest->host, completion batches; involuntary switches "
          "(preemptions and yields that gave the core away) of fio and our host")
    print(f"{'workload':16} {'side':4} {'fio sl':>6} {'host sl':>7} "
          f"{'srv sl':>6} {'fio cpu':>7} {'host cpu':>8} {'srv cpu':>7} "
          f"{'sig out':>7} {'sig in':>6} {'batches':>7} {'fio pre':>7} "
          f"{'host pre':>8}")
    for g in groups:
        wl = f"{g[0]['rw']} {g[0]['bs']} QD{g[0]['iodepth']}"
        for side in ("peer", "ours"):
            print(f"{wl:16} {side:4} {m(g, side, 'fio', 'sleeps'):>6} "
                  f"{m(g, side, 'host', 'sleeps'):>7} "
                  f"{m(g, side, 'server', 'sleeps'):>6} "
                  f"{m(g, side, 'fio', 'cpu'):>7} "
                  f"{m(g, side, 'host', 'cpu'):>8} "
                  f"{m(g, side, 'server', 'cpu'):>7} "
                  f"{m(g, side, 'chan', 'signals_out'):>7} "
                  f"{m(g, side, 'chan', 'signals_in'):>6} "
                  f"{m(g, side, 'chan', 'commits_out'):>7} "
                  f"{m(g, side, 'fio', 'preempt'):>7} "
                  f"{m(g, side, 'host', 'preempt'):>8}")
if rep == 1:
    print(f"{'engine':7} {'workload':16} {'peer IOPS':>10} {'peer MiB/s':>10} "
          f"{'ours IOPS':>10} {'ours MiB/s':>10} {'ours/peer':>9}")
    for x in res:
        print(f"{x['engine']:7} {x['rw'] + ' ' + x['bs'] + ' QD' + str(x['iodepth']):16} "
              f"{x['peer_iops']:10.0f} {x['peer_bw'] / 2**20:10.1f} "
              f"{x['ours_iops']:10.0f} {x['ours_bw'] / 2**20:10.1f} "
              f"{x['ratio']:9.2f}")
    count_table([[x] for x in res])
    json.dump({"seconds": secs, "host_args": hargs, "load_before": load0,
               "load_after": load1, "rows": res}, open(out, "w"), indent=1)
    print(f"written to {out}")
    sys.exit(0)
# Pairs of one engine's workload are consecutive rows, rep of them (an
# engine named twice gives two groups).
groups = [res[i:i + rep] for i in range(0, len(res), rep)]
summ = []
print(f"{'engine':7} {'workload':16} {'peer IOPS':>10} {'ours IOPS':>10} "
      f"{'ratio median':>12} {'range':>11}   (medians over {rep} pairs)")
for g in groups:
    med = lambda k: statistics.median(x[k] for x in g)
    ratios = [x["ratio"] for x in g]
    s = {"engine": g[0]["engine"], "rw": g[0]["rw"], "bs": g[0]["bs"],
         "iodepth": g[0]["iodepth"], "pairs": len(g),
         "peer_iops": med("peer_iops"), "peer_bw": med("peer_bw"),
         "ours_iops": med("ours_iops"), "ours_bw": med("ours_bw"),
         "ratio": round(statistics.median(ratios), 3),
         "ratio_min": min(ratios), "ratio_max": max(ratios),
         "ratios": ratios,
         "peer_iops_each": [x["peer_iops"] for x in g],
         "ours_iops_each": [x["ours_iops"] for x in g]}
    summ.append(s)
    wl = f"{s['rw']} {s['bs']} QD{s['iodepth']}"
    print(f"{s['engine']:7} {wl:16} {s['peer_iops']:10.0f} {s['ours_iops']:10.0f} "
          f"{s['ratio']:12.2f} {min(ratios):5.2f}-{max(ratios):<5.2f}")
count_table(groups)
json.dump({"seconds": secs, "host_args": hargs, "load_before": load0,
           "load_after": load1, "repeat": rep, "rows": summ, "pairs": res},
          open(out, "w"), indent=1)
print(f"written to {out}")
PY
