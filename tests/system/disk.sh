#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Synthetic storage end to end, as root: a host with an image file, a guest
# exposing its LUN through FUSE, a loop device, mkfs.ext4, mount, ~100 MiB
# of files with checksums, unmount, a clean fsck; then the same files read
# straight from the image on the host side; on both FUSE transports
# (--fuse-uring=on, then off).  Then the faults: a guest
# killed during heavy writes (the host keeps serving, the image passes
# fsck after journal replay) and a host killed during I/O (the guest's
# requests fail promptly with an error, no hang).  The first host runs
# with the default --disk-spin (stream: its storvsp workers spin while
# requests come, counted in adapt_spin_us), the second with --disk-spin 0
# (they never spin).
set -eu
if [ "$(id -u)" != 0 ]; then echo "skip: needs root (loop devices, mount)"; exit 77; fi
if [ ! -c /dev/fuse ]; then echo "skip: no /dev/fuse"; exit 77; fi
# Our mounts stay in a private mount namespace: a namespace another
# process creates meanwhile (ip netns exec, unshare) would otherwise copy
# them and keep the file system alive after our umount.
if [ -z "${OVB_DISK_PRIVATE_NS:-}" ]; then
	exec env OVB_DISK_PRIVATE_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
VMBUS=${OVB_VMBUS:-build/vmbus}
# Both FUSE transports: our FUSE over io_uring (on), libfuse (off).
. "$(dirname "$0")/lib/fuse-modes.sh"
dir=$(mktemp -d /tmp/ovb-disk.XXXXXX)
sock=$dir/host.sock img=$dir/disk.img mnt=$dir/mnt fs=$dir/fs
mkdir -p "$fs"
pids=() loops=()

cleanup() {
	set +e
	mountpoint -q "$fs" && umount "$fs"
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	mountpoint -q "$mnt" && umount -l "$mnt"
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

start_host() {
	"$VMBUS" host --socket "$sock" --echo 0 --disk "$img,size=256M" "$@" \
		2>>"$dir/host.log" &
	host=$!
	pids+=("$host")
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
}

# The host's storvsp channels, summed from `vmbus stat --json`:
# "SPIN_US HITS SLEEPS".
host_spin() {
	"$VMBUS" stat --socket "$sock" --json | python3 -c '
import json, sys
chans = [c for p in json.load(sys.stdin)["partitions"]
         for c in p["channels"] if c["device"].startswith("storvsp")]
assert chans, "no storvsp channel in vmbus stat"
print(sum(c["adapt_spin_us"] for c in chans),
      sum(c["adapt_hits"] for c in chans), sum(c["sleeps"] for c in chans))'
}

start_guest() {
	local name=$1; shift
	"$VMBUS" guest --socket "$sock" --name "$name" --mount "$mnt" \
		--fuse-uring="$OVB_FUSE_MODE" "$@" >"$dir/$name.log" 2>&1 &
	guest=$!
	pids+=("$guest")
	for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && return; sleep 0.05; done
	echo "guest $name never exposed scsi0/lun0"; cat "$dir/$name.log"; exit 1
}

start_host
start_guest g1
want="libfuse over /dev/fuse"
[ "$OVB_FUSE_MODE" = on ] && want="FUSE over io_uring"
for _ in $(seq 100); do grep -q "^disk: $mnt: " "$dir/g1.log" && break; sleep 0.05; done
grep -q "^disk: $mnt: $want" "$dir/g1.log" || { echo "not $want"; cat "$dir/g1.log"; exit 1; }
size=$(stat -c %s "$mnt/scsi0/lun0")
[ "$size" = $((256 << 20)) ] || { echo "lun0 is $size bytes"; exit 1; }

loop=$(losetup -f --show "$mnt/scsi0/lun0")
loops+=("$loop")
mkfs.ext4 -q -F "$loop"
mount "$loop" "$fs"
for i in $(seq 10); do
	dd if=/dev/urandom of="$fs/file$i" bs=1M count=10 status=none
done
(cd "$fs" && sha256sum file* >"$dir/sums")
umount "$fs"
# A mount namespace made meanwhile from this one would keep a copy of the
# ext4 mount, and ext4 writes its last blocks only when the last copy
# goes: wait for that (nothing else should share our namespace).
for _ in $(seq 200); do
	grep -qs "^$loop " /proc/[0-9]*/mounts || break
	sleep 0.05
done
e2fsck -fn "$loop" >"$dir/fsck.log" 2>&1 || { cat "$dir/fsck.log"; exit 1; }
losetup -d "$loop"; loops=()
echo "disk: mkfs.ext4, 100 MiB written, fsck clean over FUSE ($want) + loop"
read -r spun hits sleeps < <(host_spin)
# A spin is armed by every sleep that ended within 500 us (a hit, a spin
# that met the next request, depends on timing: printed, not asserted).
[ "$spun" -gt 0 ] ||
	{ echo "default host: stream spin $spun us, $hits hits"; exit 1; }
echo "disk: default host spun $spun us (stream), $hits spins met a request, $sleeps sleeps"

kill -TERM "$guest"; wait "$guest" || true
kill -INT "$host"; wait "$host" || true
pids=()
mountpoint -q "$mnt" && { echo "FUSE mount left behind"; exit 1; }

# The same files, straight from the image on the host side.
loop=$(losetup -f --show -r "$img"); loops+=("$loop")
mount -o ro "$loop" "$fs"
(cd "$fs" && sha256sum -c --quiet "$dir/sums")
umount "$fs"; losetup -d "$loop"; loops=()
echo "disk: checksums match from the image itself"

# Fault 1: the guest dies during heavy writes; the host serves on.
start_host --disk-spin 0
start_guest g2
loop=$(losetup -f --show "$mnt/scsi0/lun0"); loops+=("$loop")
mount "$loop" "$fs"
rm -f "$fs"/file*
# Sustained synchronous writes, still under way when the guest dies.
( for i in $(seq 200); do
	dd if=/dev/urandom of="$fs/big$i" bs=1M count=2 conv=fsync \
		status=none 2>/dev/null || exit 0
	[ "$i" -lt 5 ] || rm -f "$fs/big$((i - 4))"
done ) &
writer=$!
sleep 1
kill -0 "$writer" 2>/dev/null || { echo "writer finished before the kill"; exit 1; }
read -r spun hits sleeps < <(host_spin)
[ "$spun" = 0 ] && [ "$hits" = 0 ] && [ "$sleeps" -gt 0 ] ||
	{ echo "--disk-spin 0: spin $spun us, $hits hits, $sleeps sleeps"; exit 1; }
echo "disk: --disk-spin 0 host never spun ($sleeps sleeps)"
kill -KILL "$guest"
wait "$writer" 2>/dev/null || true
umount -l "$fs" 2>/dev/null || true
losetup -d "$loop" 2>/dev/null || true; loops=()
umount -l "$mnt" 2>/dev/null || true
"$VMBUS" guest --socket "$sock" --name g3 --disk-check >"$dir/g3.log" 2>&1 \
	|| { cat "$dir/g3.log"; echo "host stopped serving after a guest died"; exit 1; }
kill -INT "$host"; wait "$host" || true
pids=()
loop=$(losetup -f --show "$img"); loops+=("$loop")
e2fsck -fy "$loop" >"$dir/replay.log" 2>&1 || [ $? -le 2 ] || { cat "$dir/replay.log"; exit 1; }
e2fsck -fn "$loop" >"$dir/fsck2.log" 2>&1 || { cat "$dir/fsck2.log"; exit 1; }
losetup -d "$loop"; loops=()
echo "disk: guest killed mid-write; host kept serving; image clean after journal replay"

# Fault 2: the host dies during I/O; the guest's reads fail promptly.  The
# guest's request deadline is an hour: only noticing the lost link ends
# the read before the hang guard (timeout 60).
start_host
start_guest g4 --io-timeout 3600
dd if="$mnt/scsi0/lun0" of=/dev/null bs=1M status=none &
reader=$!
sleep 0.3
kill -KILL "$host"
rc=0
timeout -k 5 60 dd if="$mnt/scsi0/lun0" of=/dev/null bs=1M count=16 \
	skip=100 status=none || rc=$?
[ "$rc" != 0 ] || { echo "read after host death succeeded"; exit 1; }
[ "$rc" != 124 ] && [ "$rc" != 137 ] ||
	{ echo "guest hung after host death"; exit 1; }
wait "$reader" 2>/dev/null || true
echo "disk: host killed; guest I/O failed (dd status $rc), not at its deadline"
