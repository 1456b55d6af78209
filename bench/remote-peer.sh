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
# (default build/bench/remote.json).  Run as root on an idle machine:
#   bash bench/remote-peer.sh                 # every engine below
#   bash bench/remote-peer.sh out.json rbd    # only RBD
#
# Engines (ENGINES below); each one is three functions:
#   ENGINE_up DIR   start the server in DIR; set SPEC (what `vmbus host
#                   --disk` takes, the image already SPAN bytes or more)
#                   and PEER (fio's options for its own engine, same image)
#   ENGINE_down     stop what ENGINE_up started (also on failure)
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
run_fio() {
	local name=$1; shift
	timeout $((SECS + 60)) fio --name="$name" --output-format=json \
		--output="$dir/$name.json" "$@" >"$dir/$name.out" 2>&1 ||
		{ echo "remote-peer: fio $name failed:" >&2; cat "$dir/$name.out" >&2; echo "0 0"; return; }
	python3 - "$dir/$name.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["read"] if j["read"]["io_bytes"] else j["write"]
print(f'{d["iops"]:.0f} {d["bw_bytes"]:.0f}')
PY
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
		read -r piops pbw < <(run_fio "$eng-peer-$rw-$bs" "${PEER[@]}" "${args[@]}")
		read -r oiops obw < <(run_fio "$eng-ours-$rw-$bs" \
			--ioengine=external:"$ENGINE" \
			--filename="$dir/host.sock${REMOTE_PEER_FIO_OPTS:-}" "${args[@]}")
		rows+=("$eng $rw $bs $qd $piops $pbw $oiops $obw")
		echo "  $rw $bs QD$qd: peer $piops IOPS, ours $oiops IOPS"
	done
	kill -INT "$host"; wait "$host"; host=
	"${eng}_down"; cur=
done

python3 - "$json" "$SECS" "$HOST_ARGS" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" "${rows[@]}" <<'PY'
import json, sys
out, secs, hargs, load0, load1 = sys.argv[1:6]
secs, rows = int(secs), sys.argv[6:]
res = []
print(f"\nremote disks: fio through openvmbus (ours) vs the engine's own fio "
      f"ioengine (peer), {secs}s each, same image, same run"
      + (f", host options: {hargs}" if hargs else ""))
print(f"load average before: {load0}, after: {load1}")
print(f"{'engine':7} {'workload':16} {'peer IOPS':>10} {'peer MiB/s':>10} "
      f"{'ours IOPS':>10} {'ours MiB/s':>10} {'ours/peer':>9}")
for r in rows:
    eng, rw, bs, qd, piops, pbw, oiops, obw = r.split()
    piops, pbw, oiops, obw = map(float, (piops, pbw, oiops, obw))
    ratio = oiops / piops if piops else 0.0
    res.append({"engine": eng, "rw": rw, "bs": bs, "iodepth": int(qd),
                "peer_iops": piops, "peer_bw": pbw, "ours_iops": oiops,
                "ours_bw": obw, "ratio": round(ratio, 3)})
    print(f"{eng:7} {rw + ' ' + bs + ' QD' + qd:16} {piops:10.0f} "
          f"{pbw / 2**20:10.1f} {oiops:10.0f} {obw / 2**20:10.1f} "
          f"{ratio:9.2f}")
json.dump({"seconds": secs, "host_args": hargs, "load_before": load0,
           "load_after": load1, "rows": res},
          open(out, "w"), indent=1)
print(f"written to {out}")
PY
