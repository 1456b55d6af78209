#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How `vmbus guest --mount DIR` ends, as root, every wait bounded, on both
# FUSE transports (--fuse-uring=on, then off):
#  1. DIR unmounted from outside (fusermount3 -u, then umount): the guest
#     exits 0 within a few seconds, and the host log shows its channels
#     closed by the guest (the sub-channel first) and the partition
#     unloaded.
#  2. The host frozen (SIGSTOP: alive, socket open, silent) during a dd
#     on the FUSE file: dd fails with EIO within --io-timeout plus a
#     margin, and the guest exits 1 with one line naming the cause.
#  3. SIGTERM to the guest while the host is frozen and a read is
#     outstanding: the guest ends within 5 s.
set -eu
if [ "$(id -u)" != 0 ]; then echo "skip: needs root (FUSE mounts)"; exit 77; fi
if [ ! -c /dev/fuse ]; then echo "skip: no /dev/fuse"; exit 77; fi
VMBUS=${OVB_VMBUS:-build/vmbus}
# Both FUSE transports: our FUSE over io_uring (on), libfuse (off).
. "$(dirname "$0")/lib/fuse-modes.sh"
dir=$(mktemp -d /tmp/ovb-gstop.XXXXXX)
sock=$dir/host.sock img=$dir/disk.img mnt=$dir/mnt
host= guest= reader=

cleanup() {
	set +e
	[ -n "$host" ] && kill -CONT "$host" 2>/dev/null
	for p in $reader $guest $host; do kill -KILL "$p" 2>/dev/null; done
	umount -l "$mnt" 2>/dev/null
	wait 2>/dev/null
	umount -l "$mnt" 2>/dev/null
	rm -rf "$dir" 2>/dev/null
}
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Timings decide nothing here: each wait below is bounded by this hang
# guard (tenths of a second), far past every deadline of the guest.
hang=300

# Wait up to $2 tenths of a second for pid $1 to end; its status in $rc.
wait_pid() {
	for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$1" 2>/dev/null; then rc=timeout; return; fi
	rc=0; wait "$1" || rc=$?
}

start_host() {
	rm -f "$dir/host.log"
	"$VMBUS" host --socket "$sock" --echo 0 --disk "$img,size=64M" -v \
		2>"$dir/host.log" </dev/null >/dev/null &
	host=$!
	for _ in $(seq 100); do [ -S "$sock" ] && return; sleep 0.05; done
	echo "host never listened"; exit 1
}

stop_host() {
	kill -CONT "$host" 2>/dev/null || true
	kill -INT "$host" 2>/dev/null || true
	wait_pid "$host" "$hang"
	if [ "$rc" = timeout ]; then
		echo "the host did not end after SIGINT"
		exit 1
	fi
	host=
}

start_guest() {
	local name=$1; shift
	"$VMBUS" guest --socket "$sock" --name "$name" --mount "$mnt" --fuse-uring="$OVB_FUSE_MODE" "$@" \
		>"$dir/$name.log" 2>&1 </dev/null &
	guest=$!
	for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && return; sleep 0.05; done
	echo "guest $name never exposed scsi0/lun0"; cat "$dir/$name.log"; exit 1
}

# A reader that loops over the disk until a read fails (exit 3).
start_reader() {
	( while :; do
		dd if="$mnt/scsi0/lun0" of=/dev/null bs=1M count=8 status=none \
			2>"$dir/dd.err" || exit 3
	done ) &
	reader=$!
	sleep 0.5
}

# 1. Unmounted from outside, both ways.
for how in "fusermount3 -u" "umount"; do
	name=u${how%% *}
	start_host
	start_guest "$name"
	t0=$(now_ms)
	$how "$mnt"
	wait_pid "$guest" "$hang"
	[ "$rc" = 0 ] || { echo "$how: guest ended with '$rc'"; cat "$dir/$name.log"; exit 1; }
	guest=
	grep -q "was unmounted; stopping" "$dir/$name.log"
	grep -q "unloaded cleanly" "$dir/$name.log"
	stop_host
	grep -q "$name: relid 1 closed by the guest" "$dir/host.log" ||
		{ echo "$how: the host saw no CLOSECHANNEL"; cat "$dir/host.log"; exit 1; }
	grep -q "$name: unloaded" "$dir/host.log"
	# The sub-channel (relid 2) closes before its primary (Linux vmbus_close).
	sub=$(grep -n "$name: relid 2 closed by the guest" "$dir/host.log" | cut -d: -f1)
	pri=$(grep -n "$name: relid 1 closed by the guest" "$dir/host.log" | cut -d: -f1)
	[ -n "$sub" ] && [ "$sub" -lt "$pri" ] ||
		{ echo "$how: sub-channel not closed before its primary"; cat "$dir/host.log"; exit 1; }
	echo "guest-stop: $how DIR: guest exited 0 after $(( $(now_ms) - t0 )) ms, channels closed, unloaded"
done

# 2. A frozen host during dd: EIO within the deadline, then exit 1.
start_host
start_guest frozen --io-timeout 2
start_reader
kill -STOP "$host"
t0=$(now_ms)
wait_pid "$reader" "$hang"
[ "$rc" = 3 ] || { echo "dd on a frozen host: '$rc' (want a failed read)"; cat "$dir/frozen.log"; exit 1; }
reader=
grep -q "Input/output error" "$dir/dd.err" || { cat "$dir/dd.err"; exit 1; }
echo "guest-stop: frozen host: dd failed with EIO after $(( $(now_ms) - t0 )) ms (--io-timeout 2)"
wait_pid "$guest" "$hang"
[ "$rc" = 1 ] || { echo "guest on a frozen host: '$rc' (want 1)"; cat "$dir/frozen.log"; exit 1; }
guest=
[ "$(grep -c "^vmbus guest: scsi0: the host stopped answering" "$dir/frozen.log")" = 1 ]
tail -n 1 "$dir/frozen.log" | grep -q "the host stopped answering"
echo "guest-stop: frozen host: guest exited 1 after $(( $(now_ms) - t0 )) ms: $(tail -n 1 "$dir/frozen.log")"
stop_host
mountpoint -q "$mnt" && { echo "FUSE mount left behind"; exit 1; }

# 3. SIGTERM while the host is frozen and a read waits on it.
start_host
start_guest term
start_reader
kill -STOP "$host"
sleep 0.5
kill -0 "$reader" 2>/dev/null || { echo "the reader ended before SIGTERM"; exit 1; }
t0=$(now_ms)
kill -TERM "$guest"
wait_pid "$guest" "$hang"
ms=$(( $(now_ms) - t0 ))
[ "$rc" != timeout ] ||
	{ echo "SIGTERM with a frozen host: the guest never ended"; cat "$dir/term.log"; exit 1; }
# Ended by the teardown's deadline (GUEST_TEARDOWN_MS), not by the
# watchdog behind it nor by the disk's 30 s request deadline.
! grep -q "teardown did not end" "$dir/term.log" ||
	{ echo "SIGTERM with a frozen host: the watchdog ended the guest"; cat "$dir/term.log"; exit 1; }
[ "$rc" = 1 ] && tail -n 1 "$dir/term.log" | grep -q "unload: the host did not answer" ||
	{ echo "SIGTERM with a frozen host: status '$rc'"; cat "$dir/term.log"; exit 1; }
guest=
wait_pid "$reader" "$hang"
[ "$rc" != timeout ] || { echo "the reader still waits after the guest ended"; exit 1; }
reader=
stop_host
mountpoint -q "$mnt" && { echo "FUSE mount left behind"; exit 1; }
echo "guest-stop: SIGTERM with a frozen host: guest ended after $ms ms"
