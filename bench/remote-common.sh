# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by bench/remote-cpu.sh and bench/rbd-cpu.sh (from the tree's
# top, after `set -u`) with the default seconds per run: what both set up
# alike.
#   BUILD VMBUS ENGINE  the build measured (BUILD, OVB_VMBUS)
#   SECS REPS           REMOTE_CPU_SECONDS (default: the argument),
#                       REMOTE_CPU_REPS (default 2)
#   HOST_ARGS           REMOTE_PEER_HOST_ARGS: extra `vmbus host` options
#   WORKLOADS           REMOTE_CPU_WORKLOADS: rows "RW BS QD", comma between
# remote_host_start and remote_rows below; the caller's measure() and
# cleanup (which stops $host) do the rest.
BUILD=${BUILD:-build}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
ENGINE=$(realpath "$BUILD/openvmbus-fio.so")
SECS=${REMOTE_CPU_SECONDS:-$1}
REPS=${REMOTE_CPU_REPS:-2}
HOST_ARGS=${REMOTE_PEER_HOST_ARGS:-}
IFS=, read -r -a WORKLOADS <<<"${REMOTE_CPU_WORKLOADS:-randread 4k 32,randwrite 4k 32,read 128k 8,write 128k 8}"

# remote_host_start DIR SPEC: `vmbus host` on DIR/host.sock with the one
# disk SPEC (its log DIR/host.log), its pid in $host; back once the disk
# is LUN 0, or exit with the host's log after 10 s.
remote_host_start() {
	# shellcheck disable=SC2086 # words on purpose: extra host options
	"$VMBUS" host --socket "$1/host.sock" --echo 0 --disk "$2" $HOST_ARGS \
		2>"$1/host.log" &
	# shellcheck disable=SC2034 # the caller's cleanup stops it
	host=$!
	for _ in $(seq 200); do
		"$VMBUS" disk list --socket "$1/host.sock" 2>/dev/null |
			grep -q "lun 0" && return
		sleep 0.05
	done
	cat "$1/host.log"
	echo "$(basename "$0"): the host never listed its disk as LUN 0"
	exit 1
}

# remote_rows SOCK PEER_FIO_ARGS...: every workload REPS times, the peer
# (fio with PEER_FIO_ARGS) first, then ours (fio through our engine on the
# host's socket SOCK + REMOTE_PEER_FIO_OPTS), each through the caller's
# measure NAME SIDE FIO_ARGS...  REMOTE_CPU_RATE=IOPS runs both sides at
# that fio rate_iops, so per-I/O costs that depend on the rate (batching,
# wake-ups) compare like with like.
remote_rows() {
	local sock=$1 w rw bs qd r args
	shift
	for w in "${WORKLOADS[@]}"; do
		read -r rw bs qd <<<"$w"
		args=(--rw="$rw" --bs="$bs" --iodepth="$qd" --size=256M
		      --time_based --runtime="$SECS" --numjobs=1)
		[ -n "${REMOTE_CPU_RATE:-}" ] &&
			args+=(--rate_iops="$REMOTE_CPU_RATE")
		for r in $(seq "$REPS"); do
			measure "$rw-$bs-peer-$r" peer "$@" "${args[@]}"
			measure "$rw-$bs-ours-$r" ours \
				--ioengine=external:"$ENGINE" \
				--filename="$sock${REMOTE_PEER_FIO_OPTS:-}" \
				"${args[@]}"
			echo "  $rw $bs QD$qd: run $r done"
		done
	done
}
