#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/nbd-peer.sh [JSON]: a disk on an NBD server, through openvmbus vs
# fio's own nbd engine, on the same export in the same run.
#
#  - the export: nbdkit's memory plugin on a unix socket (NBD_PEER_SIZE,
#    default 1G), written in full first so no row reads holes;
#  - ours: fio's external engine build/openvmbus-fio.so (a guest driving
#    storvsc) against `vmbus host --disk nbd+unix:///?socket=...`: fio ->
#    VMBus ring -> storvsp -> SCSI target -> blk_nbd -> libnbd -> nbdkit;
#  - the peer: fio --ioengine=nbd (libnbd, one connection per job) straight
#    to the same socket;
#  - rows: 4k random read and write at queue depth 32, 128k sequential
#    read and write at queue depth 8; one job each, NBD_PEER_SECONDS
#    (default 5) per row, ours and the peer back to back per row.
#
# Prints a table with IOPS, MiB/s and the ratio ours / peer (>= 1.0 means
# the VMBus hop costs less than fio's engine overhead) and writes the rows
# as JSON (default build/bench/nbd.json).  Needs nbdkit and a fio with the
# nbd engine (Debian 12's has it); says so and exits 77 if they are missing.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
json=${1:-$BUILD/bench/nbd.json}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
ENGINE=$(realpath "$BUILD/openvmbus-fio.so")
SECS=${NBD_PEER_SECONDS:-5}
SIZE=${NBD_PEER_SIZE:-1G}

command -v nbdkit >/dev/null || { echo "skip: nbdkit missing"; exit 77; }
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "skip: fio has no nbd engine"; exit 77; }
[ -x "$VMBUS" ] && [ -f "$ENGINE" ] || { echo "build first: make all"; exit 1; }

dir=$(mktemp -d /tmp/ovb-nbdpeer.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

nbdkit -f -U "$dir/nbd.sock" memory "$SIZE" 2>"$dir/nbdkit.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/nbd.sock" ] && break; sleep 0.05; done
uri="nbd+unix:///?socket=$dir/nbd.sock"
"$VMBUS" host --socket "$dir/host.sock" --echo 0 --disk "$uri" \
	2>"$dir/host.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/host.sock.ctl" ] && break; sleep 0.05; done

common=(--thread --numjobs=1 --direct=1 --group_reporting
	--output-format=json --size="$SIZE")
ours() { fio --name=ours --ioengine=external:"$ENGINE" \
	--filename="$dir/host.sock" "${common[@]}" "$@"; }
peer() { fio --name=peer --ioengine=nbd --uri="$uri" "${common[@]}" "$@"; }

# Fill the export once (through the peer: the bytes are the same for both).
peer --rw=write --bs=1M --iodepth=4 >/dev/null ||
	{ echo "filling the export failed"; exit 1; }

# iops and MiB/s of one fio JSON on stdin.
parse() {
	python3 -c 'import json,sys
s = sys.stdin.read()
j = json.loads(s[s.index("{"):])["jobs"][0]  # fio nbd prints a line first
d = j["read"] if j["read"]["io_bytes"] else j["write"]
print("%.0f %.1f" % (d["iops"], d["bw_bytes"] / 1048576))'
}

printf '%-22s %12s %10s %12s %10s %7s\n' row "ours IOPS" "ours MiB/s" \
	"fio-nbd IOPS" "MiB/s" ratio
rows=()
for r in "randread 4k 32" "randwrite 4k 32" "read 128k 8" "write 128k 8"; do
	set -- $r
	args=(--rw="$1" --bs="$2" --iodepth="$3" --time_based --runtime="$SECS"
	      --ramp_time=1)
	o=$(ours "${args[@]}" 2>"$dir/ours.err" | parse) ||
		{ cat "$dir/ours.err"; echo "ours failed on $r"; exit 1; }
	p=$(peer "${args[@]}" 2>"$dir/peer.err" | parse) ||
		{ cat "$dir/peer.err"; echo "fio nbd failed on $r"; exit 1; }
	read -r oi ob <<<"$o"
	read -r pi pb <<<"$p"
	ratio=$(python3 -c "print('%.2f' % ($oi / $pi if $pi else 0))")
	printf '%-22s %12s %10s %12s %10s %7s\n' "$1 $2 QD$3" "$oi" "$ob" \
		"$pi" "$pb" "$ratio"
	rows+=("{\"rw\": \"$1\", \"bs\": \"$2\", \"iodepth\": $3, \"ours_iops\": $oi, \"ours_mib_s\": $ob, \"peer_iops\": $pi, \"peer_mib_s\": $pb, \"ratio\": $ratio}")
done
mkdir -p "$(dirname "$json")"
{
	echo "{\"bench\": \"nbd-peer\", \"seconds\": $SECS, \"size\": \"$SIZE\","
	echo " \"server\": \"nbdkit memory, unix socket\","
	echo " \"peer\": \"fio ioengine=nbd\", \"rows\": ["
	(IFS=,; echo "  ${rows[*]}")
	echo "]}"
} >"$json"
echo "nbd-peer: rows in $json (ratio = ours / fio's nbd engine)"
