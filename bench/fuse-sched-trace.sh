#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/fuse-sched-trace.sh [OUTDIR]: where requests wait at depth (4k
# QD32 by default) through loop + FUSE, ours against libfuse's
# passthrough_ll, in one run (root, perf).  For each target: fio io_uring
# --direct=1 on `losetup --direct-io=on` over a 1 GiB file on /dev/shm,
# `vmstat 1` beside it, and for one second in the middle `perf record -a`
# of the scheduler (sched_switch, sched_wakeup), the loop device's
# block_rq_issue/complete and fuse_request_send/end.
# bench/fuse-sched-trace.py then reports the time both CPUs or one of them
# idled with requests outstanding, which threads were woken onto a busy
# CPU while another idled (and for how long), and how many FUSE requests
# each run of a thread sent or ended (batches of 16 and more: a convoy).
#   TRACE_SECONDS=n     seconds of fio (default 4; the trace is 1 s of it)
#   TRACE_RW=rw         fio rw (default randread)
#   TRACE_QD=n          fio iodepth (default 32)
#   TRACE_HOST="..."    vmbus host options for ours (default none)
#   TRACE_GUEST="..."   vmbus guest options for ours (default
#                       --fuse-uring=on)
#   TRACE_ONLY=a,b      targets (ours, pt; default both)
# The fuse module's enable_uring is put back as it was at the end.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
SECS=${TRACE_SECONDS:-4}
RW=${TRACE_RW:-randread}
QD=${TRACE_QD:-32}
ONLY=${TRACE_ONLY:-ours,pt}
out=${1:-$BUILD/bench/fuse-sched-trace}
URING_PARAM=/sys/module/fuse/parameters/enable_uring
uring_was=$(cat "$URING_PARAM" 2>/dev/null || true)
SIZE_MB=1024

if [ "$(id -u)" != 0 ]; then echo "bench/fuse-sched-trace.sh: needs root"; exit 1; fi
for t in fio perf python3 vmstat; do
	command -v $t >/dev/null || { echo "bench/fuse-sched-trace.sh: needs $t"; exit 1; }
done
[ -x "$VMBUS" ] || { echo "bench/fuse-sched-trace.sh: no $VMBUS (make first)"; exit 1; }
[ "$SECS" -ge 3 ] 2>/dev/null || { echo "bench/fuse-sched-trace.sh: TRACE_SECONDS >= 3"; exit 1; }
mkdir -p "$out"
dir=$(mktemp -d /dev/shm/ovb-schedtrace.XXXXXX)
. "$(dirname "$0")/fuse-env.sh"
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }
# "tid=role:comm/tid,..." for every thread of the processes $2.. ($1: role)
labels() {
	local role=$1 p t l=""; shift
	for p in "$@"; do
		for t in /proc/"$p"/task/*; do
			l+="${t##*/}=$role:$(cat "$t/comm" 2>/dev/null)/${t##*/},"
		done
	done
	echo "$l"
}

# Trace target $1 on file $2; $3: "tid=label,..." of its threads.
trace() {
	local name=$1 file=$2 lab=$3 loop dev fpid perfpid vmpid
	loop=$(losetup -f --show --direct-io=on "$file") || { echo "$name: losetup failed"; return; }
	loops+=("$loop")
	dev=$(lsblk -dno MAJ:MIN "$loop" | tr -d ' ')
	fio --name=w --filename="$loop" --rw="$RW" --bs=4k --iodepth="$QD" \
		--ioengine=io_uring --direct=1 --size=$((SIZE_MB - 16))M \
		--time_based --runtime=1 >/dev/null 2>&1
	fio --name=w --filename="$loop" --rw="$RW" --bs=4k --iodepth="$QD" \
		--ioengine=io_uring --direct=1 --size=$((SIZE_MB - 16))M \
		--norandommap --randrepeat=0 --time_based --runtime="$SECS" \
		--output-format=json >"$out/$name.fio.json" 2>/dev/null &
	fpid=$!
	vmstat 1 "$SECS" >"$out/$name.vmstat" &
	vmpid=$!
	sleep 1
	perf record -q -a -k CLOCK_MONOTONIC -o "$out/$name.data" \
		-e sched:sched_switch -e sched:sched_wakeup \
		-e block:block_rq_issue -e block:block_rq_complete \
		-e fuse:fuse_request_send -e fuse:fuse_request_end \
		-- sleep 1 2>"$out/$name.perf.log" &
	perfpid=$!
	wait "$fpid" "$perfpid" "$vmpid"
	losetup -d "$loop"; loops=("${loops[@]/$loop}")
	perf script -i "$out/$name.data" -F cpu,tid,time,event,trace \
		>"$out/$name.txt" 2>/dev/null
	rm -f "$out/$name.data"
	python3 - "$out/$name.fio.json" "$name" "$out/$name.vmstat" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["write" if j["write"]["iops"] > j["read"]["iops"] else "read"]
rows = [l.split() for l in open(sys.argv[3]) if l.split() and l.split()[0].isdigit()][1:]
cpu = "  ".join(f"us {r[12]} sy {r[13]} id {r[14]} wa {r[15]}" for r in rows)
print(f"{sys.argv[2]}: {d['iops']:.0f} IOPS (fio, perf on for 1 s of it); vmstat per second: {cpu}")
PY
	python3 bench/fuse-sched-trace.py "$out/$name.txt" "$dev" "$lab"
}

echo "bench/fuse-sched-trace.sh: $(nproc) CPUs, $(uname -r), $RW 4k QD$QD, ${SECS}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
if wanted ours; then
	fuse_env_ours_start
	trace ours "$ours_disk" "$(labels host "$hpid")$(labels guest "$gpid")"
	fuse_env_ours_stop
fi
if wanted pt && fuse_env_pt_start; then
	# libfuse starts its workers on demand: label them after a warm-up.
	dd if="$pt_disk" of=/dev/null bs=4k count=64 iflag=direct status=none
	trace pt "$pt_disk" "$(labels pt "$ppid")"
	fuse_env_pt_stop
fi
echo "traces (perf script text), fio JSON and vmstat in $out"
