#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/fuse-qd1-trace.sh [OUTDIR]: where one 4k QD1 request's time goes
# through loop + FUSE, ours against libfuse's passthrough_ll, in one run
# (root, perf).  For each target and for randread and randwrite 4k QD1 on
# `losetup --direct-io=on` over a 1 GiB file on /dev/shm: fio io_uring
# --direct=1 with its completion-latency percentiles, and, during the same
# fio run, `perf record -a` of the tracepoints that mark the request's way
# (block_rq_issue/complete on the loop device, fuse_request_send/end, and
# the system calls of the FUSE daemon's and the host's threads: the fetch
# and the answer, the eventfd write that signals the host, the host
# worker's poll return, its preadv2/pwritev2).  bench/fuse-qd1-trace.py
# turns each trace into per-segment medians and 90th percentiles.
#   TRACE_SECONDS=n     seconds of fio (and of tracing; default 3)
#   TRACE_HOST="..."    vmbus host options for ours (default none: the
#                       defaults, --disk-spin stream)
#   TRACE_GUEST="..."   vmbus guest options for ours (default
#                       --fuse-uring=on)
#   TRACE_ONLY=a,b      targets (ours, pt; default both)
# The fuse module's enable_uring is put back as it was at the end.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
SECS=${TRACE_SECONDS:-3}
ONLY=${TRACE_ONLY:-ours,pt}
out=${1:-$BUILD/bench/fuse-qd1-trace}
URING_PARAM=/sys/module/fuse/parameters/enable_uring
uring_was=$(cat "$URING_PARAM" 2>/dev/null || true)
SIZE_MB=1024

if [ "$(id -u)" != 0 ]; then echo "bench/fuse-qd1-trace.sh: needs root"; exit 1; fi
for t in fio perf python3; do
	command -v $t >/dev/null || { echo "bench/fuse-qd1-trace.sh: needs $t"; exit 1; }
done
[ -x "$VMBUS" ] || { echo "bench/fuse-qd1-trace.sh: no $VMBUS (make first)"; exit 1; }
mkdir -p "$out"
dir=$(mktemp -d /dev/shm/ovb-qd1trace.XXXXXX)
. "$(dirname "$0")/fuse-env.sh"
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }
tids() { local p t l=""; for p in "$@"; do for t in /proc/"$p"/task/*; do l+="${t##*/},"; done; done; echo "${l%,}"; }
filter() { # tracepoint filter: the threads listed in $1
	local f="" t
	for t in ${1//,/ }; do f+="${f:+ || }common_pid == $t"; done
	echo "$f"
}

# Trace fio workload $2 (randread|randwrite) on file $3 as target $1;
# $4: the host's pid (none for pt), $5: the FUSE daemon's.
trace() {
	local name=$1 rw=$2 file=$3 htids="" gtids loop dev f ev evs=()
	loop=$(losetup -f --show --direct-io=on "$file") || { echo "$name: losetup failed"; return; }
	loops+=("$loop")
	dev=$(lsblk -dno MAJ:MIN "$loop" | tr -d ' ' | tr : ,)
	fio --name=w --filename="$loop" --rw="$rw" --bs=4k --iodepth=1 \
		--ioengine=io_uring --direct=1 --size=$((SIZE_MB - 16))M \
		--time_based --runtime=1 >/dev/null 2>&1
	# The threads after the warm-up (libfuse starts workers on demand).
	[ -n "$4" ] && htids=$(tids "$4")
	gtids=$(tids "$5")
	f=$(filter "$htids${htids:+,}$gtids")
	evs=(-e block:block_rq_issue -e block:block_rq_complete
	     -e fuse:fuse_request_send -e fuse:fuse_request_end)
	for ev in io_uring_enter read write writev splice poll ppoll preadv2 pwritev2 pread64 pwrite64; do
		evs+=(-e "syscalls:sys_enter_$ev" --filter "$f" -e "syscalls:sys_exit_$ev" --filter "$f")
	done
	perf record -q -a -k CLOCK_MONOTONIC -o "$out/$name-$rw.data" "${evs[@]}" \
		-- sleep "$SECS" 2>"$out/$name-$rw.perf.log" &
	local perfpid=$!
	fio --name=w --filename="$loop" --rw="$rw" --bs=4k --iodepth=1 \
		--ioengine=io_uring --direct=1 --size=$((SIZE_MB - 16))M \
		--norandommap --randrepeat=0 --time_based --runtime="$SECS" \
		--output-format=json >"$out/$name-$rw.fio.json" 2>/dev/null
	wait "$perfpid"
	losetup -d "$loop"; loops=("${loops[@]/$loop}")
	perf script -i "$out/$name-$rw.data" -F tid,time,event,trace \
		>"$out/$name-$rw.txt" 2>/dev/null
	python3 - "$out/$name-$rw.fio.json" "$name" "$rw" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["write" if "write" in sys.argv[3] else "read"]
p = d["clat_ns"]["percentile"]
print(f"{sys.argv[2]} {sys.argv[3]} 4k QD1: {d['iops']:.0f} IOPS; fio clat us "
      f"p50 {p['50.000000']/1e3:.1f} p90 {p['90.000000']/1e3:.1f} "
      f"p99 {p['99.000000']/1e3:.1f}")
EOF
	python3 bench/fuse-qd1-trace.py "$out/$name-$rw.txt" "$name" "$dev" "$htids" "$gtids"
	rm -f "$out/$name-$rw.data"
}

echo "bench/fuse-qd1-trace.sh: $(nproc) CPUs, $(uname -r), ${SECS}s per run, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "segments: median p90 (us); see bench/fuse-qd1-trace.py for each one's bounds"
if wanted ours; then
	fuse_env_ours_start
	grep "^disk:" "$dir/guest.log" | sed "s|$dir/ours.mnt|DIR|"
	for rw in randread randwrite; do
		trace ours "$rw" "$ours_disk" "$hpid" "$gpid"
	done
	fuse_env_ours_stop
fi
if wanted pt && fuse_env_pt_start; then
	for rw in randread randwrite; do
		trace pt "$rw" "$pt_disk" "" "$ppid"
	done
	fuse_env_pt_stop
fi
echo "traces (perf script text) and fio JSON in $out"
