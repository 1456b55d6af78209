#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/fuse-peer.sh [JSON]: the guest's disk as Linux programs see it,
# next to its peers, in one run (root).  Each target is a 1 GiB file on
# tmpfs (/dev/shm) served through FUSE, turned into a block device by
# `losetup --direct-io=on`, and measured there with fio (io_uring engine,
# --direct=1):
#
#  - uring:           vmbus host --disk FILE + vmbus guest --mount DIR
#                     --fuse-uring=on (our FUSE server over io_uring; its
#                     queues spin for few completions, --fuse-spin default;
#                     the host's workers spin the stream way, --disk-spin
#                     default)
#  - uring-sleep:     uring with the host's --disk-spin 0 (its workers
#                     sleep after every drain: the default before the
#                     stream spin)
#  - uring-hspin:     uring with the host's --disk-spin 200 (its workers
#                     spin up to 200 us for the next request while
#                     requests come that often; FUSE_PEER_DISK_SPIN=US)
#  - uring-hostpoll:  the same with the host in polling mode (--poll 50 on
#                     the host only: what a user with a core to spare for
#                     the host would run)
#  - uring-poll:      --storage-poll on the guest and --poll on the host
#  - uring-nospin:    uring with --fuse-spin 0 (queues always sleep)
#  - uring-pin:       uring with --fuse-pin (queue threads on their CPUs)
#  - uring-chunk:     uring with the host's --disk-answer-every 8 (a
#                     drain's answers go out every 8 SRBs, not at its
#                     end; FUSE_PEER_ANSWER_EVERY=N for another N)
#  - before:          uring with another build's vmbus (FUSE_PEER_BEFORE),
#                     for before/after rows in the same run
#  - libfuse:         ours with --fuse-uring=off
#  - pt:              libfuse's own passthrough_ll example (no bus behind
#                     it), built here from libfuse3-dev's examples
#  - qsd:             qemu-storage-daemon's FUSE export of the file
#  - engine:          fio through build/openvmbus-fio.so straight to a host
#                     over the same kind of file (no FUSE, no loop), for
#                     the 128 KiB rows: the bus's own figure
#  - copy:            fio psync (QD1) on a tmpfs file, 128 KiB rows: one
#                     kernel copy alone, the rate of the copy the guest's
#                     kernel adds between loop's pages and our FUSE payload
#
# Workloads: 4k random read and write at QD32 and QD1, 128k sequential
# read and write at QD8.  Prints a table: every target's figure per row,
# the best of ours, its ratios to the peers with the goal of each; for the
# 128k rows the ceilings (the engine's host copy and the guest kernel's
# copy in series, and passthrough_ll: the FUSE+loop stack with no bus)
# and how close ours is to them; and
# writes JSON (default build/bench/fuse-peer.json).  What cannot run is
# printed with the reason and skipped.  Each loop device's
# /sys/block/loopN/loop/dio is read back and reported: 1 means loop really
# does direct I/O on the FUSE file.
#   FUSE_PEER_SECONDS=n    seconds per measurement, after 1 s of ramp
#                          (default 5)
#   FUSE_PEER_ROWS=a,b     only rows whose name contains a or b
#                          (randread-4k-qd1, qd1, 128k ...)
#   FUSE_PEER_ONLY=a,b     only these targets (default: all but
#                          uring-nospin, uring-pin, uring-chunk and
#                          before)
#   FUSE_PEER_REPEAT=n     run the targets n times, alternating (default
#                          1); the table shows medians, the JSON every run
#   FUSE_PEER_BEFORE=PATH  a vmbus binary for the `before` target
# One row, quickly:
#   FUSE_PEER_SECONDS=2 FUSE_PEER_ROWS=randread-4k-qd1 \
#   FUSE_PEER_ONLY=uring,pt bash bench/fuse-peer.sh
# The fuse module's enable_uring is set to Y for the io_uring targets and
# put back as it was at the end.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
json=${1:-$BUILD/bench/fuse-peer.json}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
ENGINE=$BUILD/openvmbus-fio.so
SECS=${FUSE_PEER_SECONDS:-5}
ONLY=${FUSE_PEER_ONLY:-uring,uring-sleep,uring-hspin,uring-hostpoll,uring-poll,libfuse,pt,qsd,engine,copy}
ROWS=${FUSE_PEER_ROWS:-}
REPEAT=${FUSE_PEER_REPEAT:-1}
BEFORE=${FUSE_PEER_BEFORE:-}
URING_PARAM=/sys/module/fuse/parameters/enable_uring
uring_was=$(cat "$URING_PARAM" 2>/dev/null || true)
POLL_US=50
SIZE_MB=1024

if [ "$(id -u)" != 0 ]; then echo "bench/fuse-peer.sh: needs root (loop devices, mounts)"; exit 1; fi
command -v fio >/dev/null || { echo "bench/fuse-peer.sh: needs fio"; exit 1; }
[ -x "$VMBUS" ] || { echo "bench/fuse-peer.sh: no $VMBUS (make first)"; exit 1; }

dir=$(mktemp -d /dev/shm/ovb-fusepeer.XXXXXX)
rows=$dir/rows
: >"$rows"
. "$(dirname "$0")/fuse-env.sh"

WORKLOADS="randread-4k-qd32:randread:4k:32 randread-4k-qd1:randread:4k:1
randwrite-4k-qd32:randwrite:4k:32 randwrite-4k-qd1:randwrite:4k:1
seqread-128k-qd8:read:128k:8 seqwrite-128k-qd8:write:128k:8"

# fio on $1 (a device, or a spec with $3 = external engine): prints
# "IOPS MBPS" of workload $2 (name:rw:bs:qd), or nothing.
run_fio() {
	local file=$1 w=$2 eng=${3:-io_uring} direct=${4:-1}
	local rw bs qd out
	IFS=: read -r _ rw bs qd <<<"$w"
	out=$(fio --name=b --filename="$file" --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --ioengine="$eng" --direct="$direct" \
		--size=$((SIZE_MB - 16))M --norandommap --randrepeat=0 \
		--time_based --runtime="$SECS" --ramp_time=1 \
		--output-format=terse 2>/dev/null) || return 0
	# terse v3: 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS
	awk -F';' -v wr="${rw#rand}" 'END {
		if (wr == "write") print $49, $48 / 1024; else print $8, $7 / 1024
	}' <<<"$out"
}

row_wanted() {
	local p
	[ -z "$ROWS" ] && return 0
	for p in ${ROWS//,/ }; do [[ $1 == *"$p"* ]] && return 0; done
	return 1
}

# Measure every workload on the file $2 as target $1 (through loop).
measure() {
	local name=$1 file=$2 loop dio w r
	loop=$(losetup -f --show --direct-io=on "$file") ||
		{ echo "$name: losetup failed"; return; }
	loops+=("$loop")
	dio=$(cat "/sys/block/${loop#/dev/}/loop/dio" 2>/dev/null || echo "?")
	echo "$name: $file on $loop (loop dio=$dio)"
	for w in $WORKLOADS; do
		row_wanted "${w%%:*}" || continue
		r=$(run_fio "$loop" "$w")
		[ -n "$r" ] || { echo "  ${w%%:*}: fio failed"; continue; }
		echo "  ${w%%:*}: $r" | awk '{ printf "  %-18s %10.0f IOPS %9.1f MB/s\n", $1, $2, $3 }'
		echo "$name ${w%%:*} $r $dio" >>"$rows"
	done
	losetup -d "$loop"
	loops=("${loops[@]/$loop}")
}

mkimg() { dd if=/dev/zero of="$1" bs=1M count="$SIZE_MB" status=none; }

wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

start_host() { # $1 socket, $2 image, rest: host options
	local sock=$1 img=$2; shift 2
	"${HOSTBIN:-$VMBUS}" host --socket "$sock" --echo 0 --disk "$img,size=${SIZE_MB}M" "$@" \
		2>>"$dir/host.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	echo "host never listened"; return 1
}

# Ours: target $1, host options up to "--", then the guest's options.
# BIN=PATH: another vmbus binary (default $VMBUS).
ours() {
	local name=$1; shift
	local sock=$dir/$name.sock img=$dir/$name.img mnt=$dir/$name.mnt hostopt=()
	local bin=${BIN:-$VMBUS}
	wanted "$name" || return 0
	while [ $# -gt 0 ] && [ "$1" != -- ]; do hostopt+=("$1"); shift; done
	shift
	if [ ! -x "$bin" ]; then echo "$name: skipped: no $bin"; return 0; fi
	mkimg "$img"
	HOSTBIN=$bin start_host "$sock" "$img" "${hostopt[@]}" || return 0
	local hostpid=${pids[-1]}
	"$bin" guest --socket "$sock" --name "$name" --mount "$mnt" "$@" \
		>"$dir/$name.log" 2>&1 &
	local gpid=$!
	pids+=("$gpid")
	mnts+=("$mnt")
	for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && break; sleep 0.05; done
	if [ ! -e "$mnt/scsi0/lun0" ]; then
		echo "$name: the guest never exposed scsi0/lun0"; cat "$dir/$name.log"
	else
		grep "^disk: $mnt:" "$dir/$name.log" | sed "s|$mnt|DIR|; s/^/$name: /"
		echo "$name: vmbus host ${hostopt[*]}; vmbus guest $*"
		measure "$name" "$mnt/scsi0/lun0"
	fi
	kill -TERM "$gpid" 2>/dev/null; wait "$gpid" 2>/dev/null
	kill -INT "$hostpid" 2>/dev/null; wait "$hostpid" 2>/dev/null
	rm -f "$img"
}

# libfuse's passthrough_ll example, built from libfuse3-dev's source.
passthrough() {
	local src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
	local bin=$dir/passthrough_ll back=$dir/pt.src mnt=$dir/pt.mnt
	wanted pt || return 0
	if [ ! -f "$src" ]; then echo "pt: skipped: no $src (libfuse3-dev)"; return 0; fi
	if ! cc -O2 -Wall -o "$bin" "$src" $(pkg-config --cflags --libs fuse3) 2>"$dir/pt.cc"; then
		echo "pt: skipped: passthrough_ll did not build"; cat "$dir/pt.cc"; return 0
	fi
	mkdir -p "$back" "$mnt"
	mkimg "$back/disk.img"
	"$bin" -f -o "source=$back" "$mnt" 2>"$dir/pt.log" &
	local p=$!
	pids+=("$p")
	mnts+=("$mnt")
	for _ in $(seq 100); do [ -e "$mnt/disk.img" ] && break; sleep 0.05; done
	if [ -e "$mnt/disk.img" ]; then
		measure pt "$mnt/disk.img"
	else
		echo "pt: passthrough_ll never mounted"; cat "$dir/pt.log"
	fi
	umount "$mnt" 2>/dev/null; kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null
	rm -f "$back/disk.img"
}

# qemu-storage-daemon's FUSE export of the file.
qsd() {
	local img=$dir/qsd.img mnt=$dir/qsd.export
	wanted qsd || return 0
	if ! command -v qemu-storage-daemon >/dev/null; then
		echo "qsd: skipped: no qemu-storage-daemon (scripts/run bench-deps)"; return 0
	fi
	mkimg "$img"
	touch "$mnt"
	qemu-storage-daemon \
		--blockdev "driver=file,node-name=f0,filename=$img,aio=io_uring,cache.direct=off" \
		--export "type=fuse,id=e0,node-name=f0,mountpoint=$mnt,writable=on" \
		2>"$dir/qsd.log" &
	local p=$!
	pids+=("$p")
	mnts+=("$mnt")
	for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
	if mountpoint -q "$mnt"; then
		measure qsd "$mnt"
	else
		echo "qsd: the export never mounted"; cat "$dir/qsd.log"
	fi
	kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null
	rm -f "$img"
}

# The fio engine straight to a host (no FUSE, no loop), 128k rows only;
# fio's direct=0 as bench/storage runs it (the engine has no page cache
# of its own: every request goes to the host either way).
engine() {
	local sock=$dir/eng.sock img=$dir/eng.img w r
	wanted engine || return 0
	[ -f "$ENGINE" ] || { echo "engine: skipped: no $ENGINE"; return 0; }
	mkimg "$img"
	start_host "$sock" "$img" || return 0
	local hostpid=${pids[-1]}
	echo "engine: fio --ioengine=external:$ENGINE --filename=$sock"
	for w in $WORKLOADS; do
		[[ $w == seq* ]] || continue
		row_wanted "${w%%:*}" || continue
		r=$(run_fio "$sock" "$w" "external:$ENGINE" 0)
		[ -n "$r" ] || { echo "  ${w%%:*}: fio failed"; continue; }
		echo "  ${w%%:*}: $r" | awk '{ printf "  %-18s %10.0f IOPS %9.1f MB/s\n", $1, $2, $3 }'
		echo "engine ${w%%:*} $r -" >>"$rows"
	done
	kill -INT "$hostpid" 2>/dev/null; wait "$hostpid" 2>/dev/null
	rm -f "$img"
}

# One kernel copy alone, the guest kernel's share of the 128k rows: fio
# psync (QD1, one thread, no bus, no FUSE) on a tmpfs file, read copies
# page cache -> user buffer, write user buffer -> page cache: the same
# 128 KiB memory copy the guest's kernel makes between loop's pages and
# our FUSE payload (and the host between tmpfs and guest pages).
copyrate() {
	local img=$dir/copy.img w r
	wanted copy || return 0
	mkimg "$img"
	echo "copy: fio --ioengine=psync --direct=0 on a tmpfs file (one kernel copy per request)"
	for w in $WORKLOADS; do
		[[ $w == seq* ]] || continue
		row_wanted "${w%%:*}" || continue
		r=$(run_fio "$img" "${w%:*}:1" psync 0)
		[ -n "$r" ] || { echo "  ${w%%:*}: fio failed"; continue; }
		echo "  ${w%%:*}: $r" | awk '{ printf "  %-18s %10.0f IOPS %9.1f MB/s\n", $1, $2, $3 }'
		echo "copy ${w%%:*} $r -" >>"$rows"
	done
	rm -f "$img"
}

echo "bench/fuse-peer.sh: $(nproc) CPUs, $(uname -r), ${SECS}s per measurement, fio $(fio --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for pass in $(seq "$REPEAT"); do
	[ "$REPEAT" -gt 1 ] && echo "== pass $pass of $REPEAT"
	ours uring -- --fuse-uring=on
	ours uring-sleep --disk-spin 0 -- --fuse-uring=on
	ours uring-hostpoll --poll "$POLL_US" -- --fuse-uring=on
	ours uring-poll --poll "$POLL_US" -- --fuse-uring=on --storage-poll "$POLL_US"
	ours uring-nospin -- --fuse-uring=on --fuse-spin 0
	ours uring-hspin --disk-spin "${FUSE_PEER_DISK_SPIN:-200}" -- --fuse-uring=on
	ours uring-pin -- --fuse-uring=on --fuse-pin
	ours uring-chunk --disk-answer-every "${FUSE_PEER_ANSWER_EVERY:-8}" -- --fuse-uring=on
	[ -n "$BEFORE" ] && BIN=$BEFORE ours before -- --fuse-uring=on
	ours libfuse -- --fuse-uring=off
	passthrough
	qsd
	engine
	copyrate
done

python3 - "$rows" "$json" "$SECS" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys, platform, os, statistics
rows, out, secs, load = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
runs = {}
dio = {}
for line in open(rows):
    t, w, iops, mbps, d = line.split()
    runs.setdefault(w, {}).setdefault(t, []).append(
        {"iops": float(iops), "mbps": float(mbps)})
    dio[t] = d
names = {"uring": "uring", "uring-sleep": "uring-sleep",
         "uring-hostpoll": "uring+hpoll",
         "uring-poll": "uring-poll", "uring-nospin": "uring-nospin",
         "uring-hspin": "uring+hspin",
         "uring-pin": "uring-pin", "uring-chunk": "uring-chunk",
         "before": "before", "libfuse": "libfuse", "pt": "pt_ll",
         "qsd": "qsd", "engine": "fio-engine", "copy": "copy"}
what = {"uring": "ours, FUSE over io_uring (defaults)",
        "uring-sleep": "ours, host --disk-spin 0 (workers always sleep)",
        "uring-hostpoll": "ours, host --poll 50",
        "uring-poll": "ours, guest --storage-poll 50 + host --poll 50",
        "uring-nospin": "ours, --fuse-spin 0",
        "uring-hspin": "ours, host --disk-spin %s"
                         % os.environ.get("FUSE_PEER_DISK_SPIN", "200"),
        "uring-pin": "ours, --fuse-pin",
        "uring-chunk": "ours, host --disk-answer-every %s"
                         % os.environ.get("FUSE_PEER_ANSWER_EVERY", "8"),
        "before": "ours, " + (os.environ.get("FUSE_PEER_BEFORE") or "before"),
        "libfuse": "ours over libfuse", "pt": "libfuse's passthrough_ll",
        "qsd": "qemu-storage-daemon's FUSE export",
        "engine": "fio engine (no FUSE, no loop)",
        "copy": "one kernel copy alone (fio psync on tmpfs, QD1)"}
ours = ["uring", "uring-sleep", "uring-hostpoll", "uring-poll", "uring-nospin",
        "uring-hspin", "uring-pin", "uring-chunk"]
order = [t for t in names if t != "copy" and any(t in v for v in runs.values())]
def val(w, t):
    v = runs.get(w, {}).get(t)
    if not v:
        return None
    return statistics.median(x["mbps"] if w.startswith("seq") else x["iops"]
                             for x in v)
def ratio(x, y):
    return round(x / y, 2) if x and y else None
nruns = max((len(x) for v in runs.values() for x in v.values()), default=0)
print()
print("bench/fuse-peer.sh: %gs per measurement, load average at the end %s%s"
      % (secs, load, ", median of %d runs" % nruns if nruns > 1 else ""))
print("Units: 4k rows IOPS, 128k rows MB/s.  Columns:")
for t in order:
    print("  %-13s %s" % (names[t], what[t]))
print("  best          the best of our io_uring columns (which one)")
print("  /pt /qsd /eng best over passthrough_ll, qemu-storage-daemon, the fio"
      " engine; goal in [ ], * = short of it")
hdr = "%-18s" % "workload" + "".join("%14s" % names[t] for t in order)
hdr += "  %-20s%11s%11s%11s" % ("best", "/pt [1.0]", "/qsd [1.5]", "/eng [0.9]")
print(hdr)
goals = {"4k": [("pt", "vs_passthrough_ll", 1.0),
                ("qsd", "vs_qemu_storage_daemon", 1.5)],
         "128k": [("engine", "vs_fio_engine", 0.9)]}
ratios = {}
for w in ["randread-4k-qd32", "randread-4k-qd1", "randwrite-4k-qd32",
          "randwrite-4k-qd1", "seqread-128k-qd8", "seqwrite-128k-qd8"]:
    if w not in runs:
        continue
    cand = [t for t in ours if val(w, t)]
    best = max(cand, key=lambda t: val(w, t)) if cand else None
    r = {"best_ours": best}
    line = "%-18s" % w
    for t in order:
        v = val(w, t)
        line += "%14s" % ("-" if v is None else "%.0f" % v)
    line += "  %-20s" % ("-" if not best else "%.0f %s" % (val(w, best), names[best]))
    g = goals["128k" if "128k" in w else "4k"]
    for peer, key in (("pt", "vs_passthrough_ll"), ("qsd", "vs_qemu_storage_daemon"),
                      ("engine", "vs_fio_engine")):
        x = ratio(val(w, best), val(w, peer)) if best else None
        r[key] = x
        goal = [gv for p, k, gv in g if p == peer]
        if x is None:
            cell = "-"
        elif goal:
            cell = "%.2fx%s" % (x, "*" if x < goal[0] else " ")
        else:
            cell = "(%.2fx)" % x
        line += "%11s" % cell
    ratios[w] = r
    print(line)
ceil = {}
for w in ["seqread-128k-qd8", "seqwrite-128k-qd8"]:
    e, c, pt = val(w, "engine"), val(w, "copy"), val(w, "pt")
    best = ratios.get(w, {}).get("best_ours")
    b = val(w, best) if best else None
    if not (e and c):
        continue
    # The engine's figure is the host's copy plus the bus; through loop
    # and FUSE the guest's kernel copies every byte once more.  In
    # series the two give 1/(1/e + 1/c); overlapped on two cores, e.
    serial = 1 / (1 / e + 1 / c)
    ceil[w] = {"two_copies_serial": round(serial), "engine": round(e),
               "copy": round(c), "ours": round(b) if b else None,
               "ours_vs_serial": ratio(b, serial) if b else None,
               "passthrough_ll": round(pt) if pt else None}
if ceil:
    print()
    print("128k ceilings (MB/s): two copies in series = 1/(1/engine + 1/copy); "
          "passthrough_ll = the FUSE+loop stack with no bus")
    for w, x in ceil.items():
        print("  %-18s ours %s = %s of the engine %d, %s of two copies in "
              "series %d (one copy alone %d); passthrough_ll %s"
              % (w, x["ours"], "%.2fx" % (x["ours"] / x["engine"])
                 if x["ours"] else "-", x["engine"],
                 "%.2fx" % x["ours_vs_serial"] if x["ours_vs_serial"] else "-",
                 x["two_copies_serial"], x["copy"], x["passthrough_ll"]))
print()
print("Goals (issue 14): 4k rows >= 1.0x passthrough_ll and >= 1.5x "
      "qemu-storage-daemon; 128k rows >= 0.9x the fio engine (their ratios "
      "to the FUSE peers, in brackets, have no goal).")
print("loop dio per target (1: loop does direct I/O on the file): " +
      ", ".join("%s=%s" % (names[t], dio[t]) for t in order))
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
json.dump({"bench": "fuse-peer", "seconds": secs, "cpus": os.cpu_count(),
           "load": load, "kernel": platform.release(), "what": what,
           "loop_dio": dio, "runs": runs, "ratios": ratios,
           "ceilings_128k": ceil},
          open(out, "w"), indent=1)
print("wrote " + out)
EOF
