#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fio through openvmbus-fio.so (the external ioengine that drives storvsc
# directly) against `vmbus host --disk`:
# - fio's own verification through the engine: random mixed sizes, deep
#   and depth-1 queues (zero copy and bounce), trims, flushes, two jobs as
#   threads and as processes, the SCSI and the IDE disk, polling mode;
# - the bytes land where fio meant them: written through the engine,
#   verified by fio psync straight from the image, and the other way round;
#   a range zeroed in the image behind the guest's back fails verification;
# - a killed host fails fio's pending I/O at once; bad filenames are named.
set -eu
BUILD=${OVB_BUILD:-build}
VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
ENGINE=$(realpath "$BUILD/openvmbus-fio.so")
command -v fio >/dev/null || { echo "skip: fio is not installed"; exit 77; }
dir=$(mktemp -d)
sock=$dir/host.sock
host= bare=
trap 'for p in $host $bare; do kill -INT $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT

# An instrumented engine needs the sanitizer runtimes loaded into fio first
# (fio's own allocations are not ours to leak-check).
fio_env=()
if nm -D "$ENGINE" | grep -q __asan_init; then
	fio_env=("LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
		 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1)
fi
fio() { env "${fio_env[@]}" fio "$@"; }

# Generous deadlines, not fixed sleeps: a loaded machine only makes the
# waits below longer.
start_host() {
	"$VMBUS" host --socket "$sock" --echo 0 \
		--disk "$dir/a.img,size=256M" \
		--disk "$dir/i.img,size=32M,ide" 2>>"$dir/host.log" &
	host=$!
	for _ in $(seq 600); do [ -S "$sock.ctl" ] && return; sleep 0.05; done
	cat "$dir/host.log"; echo "fio-engine: the host never came up"; exit 1
}

# Storage packets the host has answered so far (its own counters).
served() {
	"$VMBUS" stat --socket "$sock" --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(c["packets_out"] for p in d["partitions"]
	  for c in p["channels"] if c["device"] == "storvsp"))' 2>/dev/null ||
		echo 0
}

# kill_host_after N LOG: SIGKILL to the host once fio ($fiopid, logging
# to LOG) has had N answers from it: once its I/O flows, not after a
# second that a loaded machine may spend starting fio (60 s at most).
kill_host_after() {
	for _ in $(seq 600); do
		kill -0 "$fiopid" 2>/dev/null || break
		[ "$(served)" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$(served)" -ge "$1" ] || {
		cat "$2"; echo "fio-engine: fio's I/O never got going"; exit 1; }
	{ kill -9 "$host"; wait "$host"; } 2>/dev/null || true
	host=
}

# ovbfio NAME FILENAME ARGS...: fio through the engine, log kept.
ovbfio() {
	local name=$1 file=$2; shift 2
	if ! OVB_FIO_VERBOSE=1 timeout -k 10 120 env "${fio_env[@]}" fio --name="$name" \
		--verify_state_save=0 \
		--ioengine=external:"$ENGINE" --filename="$file" "$@" \
		>"$dir/$name.log" 2>&1; then
		cat "$dir/$name.log" "$dir/host.log"
		echo "fio-engine: $name failed"; exit 1
	fi
	grep -q 'err= 0' "$dir/$name.log"
}

start_host

ovbfio mixed "$sock" --rw=randrw --bsrange=4k-256k --iodepth=16 --size=64M \
	--verify=crc32c --do_verify=1
grep -q 'units zero-copy, 0 bounced' "$dir/mixed.log"
echo "fio-engine: random 4k-256k read/write, depth 16, verified, zero copy"

ovbfio qd1 "$sock" --rw=randwrite --bs=4k --iodepth=1 --size=8M \
	--verify=md5 --do_verify=1
grep -Eq '0 units zero-copy, [1-9][0-9]* bounced' "$dir/qd1.log"
echo "fio-engine: depth 1 through the bounce buffer, verified"

ovbfio seq "$sock" --rw=write --bs=1M --iodepth=4 --size=64M --fsync=3 \
	--verify=sha256 --do_verify=1
ovbfio trim "$sock" --rw=randtrim --bs=64k --iodepth=8 --size=16M
echo "fio-engine: 1 MiB writes with flushes every 3, trims"

ovbfio threads "$sock" --rw=randwrite --bs=8k --iodepth=8 --numjobs=2 \
	--thread --size=32M --offset_increment=64M --verify=crc32c
ovbfio procs "$sock" --rw=randwrite --bs=8k --iodepth=8 --numjobs=2 \
	--size=32M --offset_increment=64M --verify=crc32c
ovbfio ide "$sock,disk=ide0" --rw=randrw --bs=4k --iodepth=4 --size=16M \
	--verify=crc32c
echo "fio-engine: two jobs as threads and as processes, the IDE disk"

ovbfio poll "$sock,poll=20,subchannels=0" --rw=randrw --bsrange=4k-64k \
	--iodepth=8 --size=32M --verify=crc32c
ovbfio poll1 "$sock,poll=20,subchannels=0" --rw=randwrite --bs=4k \
	--iodepth=1 --size=8M --verify=crc32c
echo "fio-engine: polling mode (fio's thread drains the ring), verified"

# The bytes are where fio put them: cross-check against the image itself.
# Same job name and options, so verify_only replays the same offsets; the
# headers carry the offset, so a misplaced block fails.
job=(--rw=randwrite --bsrange=4k-64k --size=32M --offset=128M --iodepth=8
     --verify=crc32c --randrepeat=1 --verify_state_save=0)
ovbfio cross "$sock" "${job[@]}" --do_verify=0
fio --name=cross --ioengine=psync --filename="$dir/a.img" "${job[@]}" \
	--verify_only >"$dir/check.log" 2>&1 || {
	cat "$dir/check.log"; echo "fio-engine: image does not hold fio's writes"; exit 1; }
fio --name=back --ioengine=psync --filename="$dir/a.img" "${job[@]}" \
	--offset=192M --do_verify=0 >"$dir/back.log" 2>&1
ovbfio back "$sock" "${job[@]}" --offset=192M --verify_only
echo "fio-engine: written through the engine, verified from the image, and back"

# A range zeroed behind the guest's back: verification must fail.
dd if=/dev/zero of="$dir/a.img" bs=1M seek=192 count=32 conv=notrunc \
	status=none
if OVB_FIO_VERBOSE=1 fio --name=back --ioengine=external:"$ENGINE" \
	--filename="$sock" "${job[@]}" --offset=192M --verify_only \
	>"$dir/bad.log" 2>&1; then
	cat "$dir/bad.log"; echo "fio-engine: zeroed data passed verification"; exit 1
fi
grep -q 'verify' "$dir/bad.log"
echo "fio-engine: zeroed data fails verification"

# Bad filenames are refused with a reason.
if fio --name=bad --ioengine=external:"$ENGINE" --filename="$sock,speed=9" \
	--size=1M --rw=read >"$dir/opt.log" 2>&1; then
	echo "fio-engine: a bad option was accepted"; exit 1
fi
grep -q "bad option 'speed=9'" "$dir/opt.log"
if fio --name=bad --ioengine=external:"$ENGINE" --filename="$sock,disk=scsi0/lun5" \
	--size=1M --rw=read >"$dir/lun.log" 2>&1; then
	echo "fio-engine: a missing LUN was accepted"; exit 1
fi
grep -q "no disk scsi0/lun5 there" "$dir/lun.log"
echo "fio-engine: a bad option and a missing LUN are refused by name"

# No host to join: fio counts the job as failed and says why, whether
# nothing is at the path, a socket nobody listens on is, the host offers
# no disk, or the job was told to size its files itself (it must be
# sized before it starts: fio counts only the engine's init() failing).
nobody() {
	local name=$1 want=$2; shift 2
	if timeout -k 10 120 env "${fio_env[@]}" fio --name="$name" \
		--ioengine=external:"$ENGINE" --size=1M --rw=read "$@" \
		>"$dir/$name.log" 2>&1; then
		cat "$dir/$name.log"; echo "fio-engine: $name: fio passed"; exit 1
	fi
	grep -q "$want" "$dir/$name.log" || {
		cat "$dir/$name.log"; echo "fio-engine: $name: no reason"; exit 1; }
}
nobody absent "$dir/absent.sock: cannot join the host: No such file" \
	--filename="$dir/absent.sock"
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$dir/stale.sock"
nobody stale "$dir/stale.sock: cannot join the host: Connection refused" \
	--filename="$dir/stale.sock"
nobody unsized "needs create_serialize=1" --filename="$dir/absent.sock" \
	--create_serialize=0
# A host that offers no disk at all.
"$VMBUS" host --socket "$dir/bare.sock" --echo 1 2>>"$dir/host.log" &
bare=$!
for _ in $(seq 600); do [ -S "$dir/bare.sock.ctl" ] && break; sleep 0.05; done
nobody bare "$dir/bare.sock: no disk on any controller there" \
	--filename="$dir/bare.sock"
{ kill -INT "$bare"; wait "$bare"; } 2>/dev/null || true
bare=
echo "fio-engine: no host, a dead socket, no disk offered, an unsized job: fio fails, says why"

# The host dies under load: fio's pending I/O fails at once with the
# lost link's error, no hang.
fio --name=dead --ioengine=external:"$ENGINE" --filename="$sock" \
	--rw=randread --bs=4k --iodepth=16 --size=64M --time_based \
	--runtime=60 >"$dir/dead.log" 2>&1 &
fiopid=$!
kill_host_after 1000 "$dir/dead.log"
t0=$(date +%s%N)
if wait "$fiopid"; then
	cat "$dir/dead.log"; echo "fio-engine: fio passed without its host"; exit 1
fi
ms=$((($(date +%s%N) - t0) / 1000000))
# The lost link's error, not a request deadline's (ETIMEDOUT).
grep -q 'Connection reset by peer' "$dir/dead.log" || {
	cat "$dir/dead.log"; echo "fio-engine: fio's I/O did not fail with ECONNRESET"; exit 1; }
echo "fio-engine: host killed under load, fio failed with ECONNRESET in ${ms} ms"

# The host goes between fio sizing the disk and the job joining it: the
# second job (after the first, which the host's death fails) cannot join,
# and fio counts that too -- its exit status is the number of failed jobs.
sock=$dir/late.sock
start_host
fio --ioengine=external:"$ENGINE" --filename="$sock" --size=1M \
	--name=first --rw=randread --time_based --runtime=60 \
	--name=late --stonewall --rw=read >"$dir/late.log" 2>&1 &
fiopid=$!
kill_host_after 100 "$dir/late.log"
rc=0
wait "$fiopid" || rc=$?
grep -q "late.sock: cannot join the host" "$dir/late.log" &&
	grep -q "io engine openvmbus init failed" "$dir/late.log" &&
	[ "$rc" -eq 2 ] || {
	cat "$dir/late.log"; echo "fio-engine: a job that cannot join passed (fio: $rc)"; exit 1; }
echo "fio-engine: host gone before the second job: both jobs counted as failed"
