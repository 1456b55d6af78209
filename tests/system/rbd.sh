#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Disks on Ceph RBD, end to end, as root: a one-node Ceph cluster
# (tests/system/ceph/cluster.sh) in a temporary directory.  A pool or image
# that does not exist: a clear error at `vmbus host` start and at `vmbus
# disk add`.  librbd loaded on demand: not mapped by a host without RBD
# disks, mapped once one is added; hidden (a bind mount in a private mount
# namespace), an rbd: disk fails naming the package.  WRITE SAME (zeros
# without UNMAP, a patterned block) through the SCSI target onto an image
# (tests/system/bin/blk-ws.c): one librbd request each, the blocks read
# back as the pattern.  Our librbd settings: inline dispatch and one
# completion thread, but not for an image whose metadata turns the client
# cache on; a hot-added image whose client allows little in flight holds
# requests for its budget and loses none.  A host serving rbd:ovb/disk to a guest that
# exposes it through FUSE; mkfs.ext4, files with SHA-256, a clean fsck;
# then the image's bytes, exported with `rbd export` on the host side,
# equal to what the guest read and hold the same files.  Hot add of a
# second RBD disk, its bytes (a discarded range reading zeros) checked the
# same way.  The OSD is killed and restarted while the guest writes and
# fsyncs in a loop: every write the guest saw acknowledged is in the image
# afterwards.  Then the OSD stays dead: the guest's RBD I/O fails with an
# error, a file disk beside it works on.  Last, the whole cluster gone with
# reads in flight: SIGTERM ends the host within seconds and the guest's
# read fails.
set -eu
if [ "$(id -u)" != 0 ]; then echo "skip: needs root (loop devices, mount)"; exit 77; fi
if [ ! -c /dev/fuse ]; then echo "skip: no /dev/fuse"; exit 77; fi
for b in ceph-mon ceph-osd ceph-mgr rbd; do
	command -v $b >/dev/null ||
		{ echo "skip: no $b (bash scripts/run deps installs ceph)"; exit 77; }
done
VMBUS=${OVB_VMBUS:-build/vmbus}
dir=$(mktemp -d /tmp/ovb-rbd.XXXXXX)
sock=$dir/host.sock mnt=$dir/mnt fs=$dir/fs
mkdir -p "$fs"
pids=()
. "$(dirname "$0")/ceph/cluster.sh"

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	mountpoint -q "$mnt" && umount -l "$mnt"
	ceph_down
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "rbd: $*"
	for f in "$dir"/*.log; do echo "==== $f"; tail -n 30 "$f"; done
	ceph_logs
	[ -n "${OVB_KEEP:-}" ] && mkdir -p "$OVB_KEEP" && cp "$dir"/*.img "$dir"/*.log "$OVB_KEEP"/
	exit 1
}

# File systems are mounted in a private mount namespace: a namespace some
# other process creates meanwhile (ip netns exec, unshare -m) would copy a
# mount of ours and keep its superblock, unwritten data and all, alive
# after our umount.
private() { unshare -m --propagation private bash -euc "$1" _ "${@:2}"; }

t0=$SECONDS
ceph_up "$dir/ceph" || exit 1
conf=$CEPH_CONF

# Missing pool and missing image: `vmbus host` refuses to start, saying why.
if "$VMBUS" host --socket "$dir/x.sock" --echo 0 \
	--disk "rbd:nopool/a,conf=$conf,size=8M" 2>"$dir/err"; then
	fail "a disk in a missing pool was accepted"
fi
grep -q "rbd:nopool/a: no such pool" "$dir/err" || fail "said: $(cat "$dir/err")"
if "$VMBUS" host --socket "$dir/x.sock" --echo 0 \
	--disk "rbd:ovb/none,conf=$conf" 2>"$dir/err"; then
	fail "a missing image without size= was accepted"
fi
grep -q "rbd:ovb/none: no such image" "$dir/err" || fail "said: $(cat "$dir/err")"
echo "rbd: missing pool and image refused at host start: $(tail -n1 "$dir/err")"

# librbd is loaded by the first rbd: disk, not at start: a host with only
# a file disk maps no librbd until `disk add` gives it an RBD image.
OVB_LOG=info "$VMBUS" host --socket "$dir/y.sock" --echo 0 \
	--disk "$dir/probe.img,size=1M" 2>"$dir/probe.log" &
probe=$!
pids+=("$probe")
for _ in $(seq 200); do
	"$VMBUS" disk list --socket "$dir/y.sock" 2>/dev/null | grep -q "lun 0" && break
	sleep 0.05
done
grep -q librbd "/proc/$probe/maps" && fail "a host without RBD disks mapped librbd"
# The image's own metadata turns the client cache on: the open must see it
# (librbd's settings for the image, not the file's) and keep librbd's
# dispatch thread, since the cache may wait in the submitter for room.
rbd create --size 1M ovb/probe || fail "rbd create failed"
rbd image-meta set ovb/probe conf_rbd_cache true >/dev/null ||
	fail "rbd image-meta set failed"
"$VMBUS" disk add "rbd:ovb/probe,conf=$conf,size=1M" --socket "$dir/y.sock" \
	>/dev/null || fail "disk add of an RBD image failed"
grep -q librbd "/proc/$probe/maps" || fail "librbd not mapped after an rbd: disk was added"
grep -q "rbd:ovb/probe.*dispatches in the submitting thread" "$dir/probe.log" &&
	fail "an image with the cache on in its metadata got inline dispatch"
kill -INT "$probe"; wait "$probe" || fail "the probe host exited with an error"
# Without the library (hidden by a bind mount in a private mount
# namespace), an rbd: disk fails saying which package to install.
lib=$(ldconfig -p | awk '/librbd\.so\.1 .*x86-64/ { print $NF; exit }')
[ -n "$lib" ] || fail "ldconfig knows no librbd.so.1"
if unshare -m --propagation private bash -c \
	'mount --bind /dev/null "$1" && exec "$2" host --socket "$3" --echo 0 --disk "$4"' \
	_ "$lib" "$VMBUS" "$dir/z.sock" "rbd:ovb/disk,conf=$conf,size=8M" 2>"$dir/err"; then
	fail "an rbd: disk opened without librbd"
fi
grep -q "rbd: disks need librbd1: apt-get install librbd1" "$dir/err" ||
	fail "without librbd the host said: $(cat "$dir/err")"
echo "rbd: librbd mapped only once an rbd: disk is added; without it: $(grep -o -m1 'rbd: disks need[^(]*' "$dir/err")"

# WRITE SAME through the SCSI target onto an RBD image: zeros without
# UNMAP and a patterned block, each one librbd request (write-zeroes,
# writesame), the blocks reading back as the pattern.
"${OVB_BUILD:-build}/tests/system/bin/blk-ws" "rbd:ovb/ws,conf=$conf,size=16M" \
	>"$dir/ws.log" 2>&1 || { cat "$dir/ws.log"; fail "WRITE SAME on RBD failed"; }
[ "$(grep -c "it cost 1 backend request" "$dir/ws.log")" = 2 ] ||
	{ cat "$dir/ws.log"; fail "WRITE SAME on RBD took more than one librbd request"; }
echo "rbd: WRITE SAME of zeros and of a pattern: one librbd request each, blocks read back as the pattern"

start_host() {
	OVB_LOG=info "$VMBUS" host --socket "$sock" --echo 0 \
		--disk "rbd:ovb/disk,conf=$conf,size=128M" 2>>"$dir/host.log" &
	host=$!
	pids+=("$host")
	# The control socket answers `disk list` once the disks are open.
	for _ in $(seq 200); do
		"$VMBUS" disk list --socket "$sock" 2>/dev/null | grep -q "lun 0" &&
			return
		sleep 0.05
	done
	fail "host never listed its RBD disk"
}

. "$(dirname "$0")/lib/guest.sh"
GUEST_LOG_PREFIX= GUEST_STOP_MOUNT=1

start_host
# Our client settings (docs/remote.md, "RBD: fewer hand-offs"): librbd
# dispatches in the submitting thread, completions on one librbd thread.
grep -q "rbd:ovb/disk: librbd dispatches in the submitting thread" \
	"$dir/host.log" || fail "no inline dispatch on an image without the cache"
n=$(cat /proc/"$host"/task/*/comm | grep -c '^io_context_pool' || true)
[ "$n" = 1 ] || fail "$n librbd completion threads (io_context_pool), want 1"
echo "rbd: inline dispatch on, one completion thread; off for an image whose metadata turns the cache on"
start_guest g1
size=$(stat -c %s "$mnt/scsi0/lun0")
[ "$size" = $((128 << 20)) ] || fail "lun0 is $size bytes"
private '
loop=$(losetup -f --show "$1")
trap "losetup -d $loop" EXIT
mkfs.ext4 -q -F "$loop"
mount "$loop" "$2"
for i in $(seq 8); do
	dd if=/dev/urandom of="$2/file$i" bs=1M count=4 status=none
done
(cd "$2" && sha256sum file* >"$3")
umount "$2"
e2fsck -fn "$loop" >"$4" 2>&1
' "$mnt/scsi0/lun0" "$fs" "$dir/sums" "$dir/fsck.log" ||
	fail "mkfs, files or fsck over the RBD disk failed"
cp "$mnt/scsi0/lun0" "$dir/guest.img"
echo "rbd: mkfs.ext4, 32 MiB of files, fsck clean over FUSE + loop"

# Hot add a second RBD image; the guest writes a pattern to it.
# Its client allows 256 KiB in flight (objecter_inflight_op_bytes): the
# budget (half of it) holds requests beyond 128 KiB in their queue while
# others are in flight and sends them as those end; every byte lands and
# the guest sees no error.
cp "$conf" "$dir/small.conf"
printf '[client]\nobjecter inflight op bytes = 262144\n' >>"$dir/small.conf"
out=$("$VMBUS" disk add "rbd:ovb/hot,conf=$dir/small.conf,size=16M" --socket "$sock") ||
	fail "disk add failed"
[ "$out" = "lun 1" ] || fail "disk add said '$out'"
"$VMBUS" disk list --socket "$sock" | grep -q "lun 1: rbd:ovb/hot,.*16777216 bytes" ||
	fail "hot-added disk not listed"
for _ in $(seq 200); do [ -e "$mnt/scsi0/lun1" ] && break; sleep 0.05; done
[ -e "$mnt/scsi0/lun1" ] || fail "guest never saw the hot-added lun1"
head -c $((16 << 20)) /dev/urandom >"$dir/hot.ref"
# Four writers at once, a quarter each: requests in flight together.
w=()
for q in 0 1 2 3; do
	dd if="$dir/hot.ref" of="$mnt/scsi0/lun1" bs=256k skip=$((q * 16)) \
		seek=$((q * 16)) count=16 conv=notrunc,fsync status=none &
	w+=($!)
done
for p in "${w[@]}"; do wait "$p" || fail "writing lun1 failed"; done
# Discard (UNMAP) a range not aligned to RBD's 64 KiB discard granularity,
# across an object boundary: it must read back as zeros (LBPRZ).
fallocate -p -o $(((1 << 20) + 4096)) -l $((5 << 20)) "$mnt/scsi0/lun1" ||
	fail "discard on lun1 failed"
dd if=/dev/zero of="$dir/hot.ref" bs=4096 seek=$(((1 << 20) / 4096 + 1)) \
	count=$(((5 << 20) / 4096)) conv=notrunc status=none
cmp -s "$mnt/scsi0/lun1" "$dir/hot.ref" || fail "lun1 after discard differs"
grep -q "rbd:ovb/hot: librbd dispatches .* and 128 KiB in flight" "$dir/host.log" ||
	fail "the hot-added disk's budget is not half its client's 256 KiB"
grep -q "rbd:ovb/hot.*in-flight budget reached" "$dir/host.log" ||
	fail "16 MiB of writes never met the 128 KiB budget"
if "$VMBUS" disk add "rbd:nopool/x,conf=$conf,size=1M" --socket "$sock" \
	2>"$dir/err"; then
	fail "hot add of a missing pool succeeded"
fi
grep -q "rbd:nopool/x: no such pool" "$dir/err" || fail "said: $(cat "$dir/err")"
"$VMBUS" stat --socket "$sock" --json >"$dir/stat.json"
python3 - "$dir/stat.json" <<'PY' || fail "stat shows no disk traffic"
import json, sys
doc = json.load(open(sys.argv[1]))
parts = [p for p in doc["partitions"] if p["name"] == "g1"]
assert parts, "partition g1 missing"
chans = [c for c in parts[0]["channels"] if c["open"]]
pk = sum(c["packets_in"] for c in chans)
assert pk >= 1000, f"only {pk} packets counted on g1's channels"
assert all(c["errors"] == 0 for c in chans), "channel errors counted"
print(f"rbd: vmbus stat: {pk} packets in on g1's {len(chans)} storage "
      "channels, no errors")
PY
echo "rbd: hot add works (its 128 KiB budget met, requests held and sent in turn), a discarded range reads zeros; a missing pool refused by disk add: $(cat "$dir/err")"
stop_all

# The host side: rbd export equals what the guest read and holds the files.
rbd export ovb/disk "$dir/disk.img" >/dev/null 2>&1 || fail "rbd export failed"
cmp "$dir/disk.img" "$dir/guest.img" >"$dir/cmp.log" 2>&1 ||
	fail "rbd export differs from what the guest read: $(cmp -l "$dir/disk.img" "$dir/guest.img" | wc -l) bytes, $(head -c 300 "$dir/cmp.log")"
rm -f "$dir/guest.img"
private '
mount -o ro,loop "$1" "$2"
(cd "$2" && sha256sum -c --quiet "$3")
umount "$2"
' "$dir/disk.img" "$fs" "$dir/sums" || fail "checksums differ"
rm -f "$dir/disk.img"
rbd export ovb/hot "$dir/hot.img" >/dev/null 2>&1 || fail "rbd export hot failed"
cmp -s "$dir/hot.img" "$dir/hot.ref" || fail "hot-added image differs"
rm -f "$dir/hot.img" "$dir/hot.ref"
echo "rbd: rbd export matches the guest's bytes; files check out on the host"

# The OSD restarts while the guest writes and fsyncs in a loop.
start_host
start_guest g2
python3 - "$mnt/scsi0/lun0" "$dir/acked" 3000 <<'PY' >"$dir/writer.log" 2>&1 &
import os, sys, time
path, log, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_WRONLY)
out = open(log, "w")
deadline = time.monotonic() + 60
for i in range(n):
    blk = (b"%08d" % i) * (65536 // 8)
    try:
        os.pwrite(fd, blk, i * 65536 % (128 << 20))
        os.fsync(fd)
    except OSError as e:
        print("block", i, "failed:", e)
        continue
    out.write("%d\n" % i)
    out.flush()
    if time.monotonic() > deadline:
        break
PY
writer=$!
pids+=("$writer")
for _ in $(seq 100); do [ -s "$dir/acked" ] && break; sleep 0.05; done
sleep 0.5
before=$(wc -l <"$dir/acked")
ceph_osd_kill
sleep 1
ceph_osd_start || fail "OSD did not come back"
echo "rbd: OSD killed after $before acknowledged writes, restarted"
restarted=$(wc -l <"$dir/acked")
# The writer goes on: writes are acknowledged again within a deadline.
for _ in $(seq 400); do
	[ "$(wc -l <"$dir/acked")" -ge $((restarted + 20)) ] && break
	kill -0 "$writer" 2>/dev/null || break
	sleep 0.1
done
acked=$(wc -l <"$dir/acked")
[ "$acked" -ge $((restarted + 20)) ] ||
	fail "writes stalled after the OSD came back ($acked acknowledged)"
kill -TERM "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true
stop_all
rbd export ovb/disk "$dir/disk.img" >/dev/null 2>&1 || fail "rbd export failed"
python3 - "$dir/disk.img" "$dir/acked" <<'PY' || fail "acknowledged writes lost"
import sys
img = open(sys.argv[1], "rb").read()
acked = [int(l) for l in open(sys.argv[2])]
last = {}
for i in acked:  # later writes to the same place win
    last[i * 65536 % (128 << 20)] = i
bad = [i for off, i in last.items()
       if img[off:off + 65536] != (b"%08d" % i) * (65536 // 8)]
assert not bad, f"{len(bad)} acknowledged blocks lost, first {bad[:5]}"
print(f"rbd: all {len(acked)} acknowledged writes are in the image")
PY
grep -c "failed" "$dir/writer.log" >/dev/null &&
	echo "rbd: writes failed (not acknowledged) during the outage: $(grep -c failed "$dir/writer.log")"

# The OSD gone for good: the RBD disk's I/O fails with an error the guest
# sees (its request deadline, --io-timeout), no hang; a file disk on the
# same host serves on.  This host is stopped with the whole cluster gone
# (below) and leaves the image open on purpose (src/backend/blk_rbd.c,
# "Closing"): librbd's own state for the requests it still holds is never
# freed, which a leak-checking (SAN) build would report at exit; only
# allocations made inside librbd are exempted.
echo "leak:librbd.so.1" >"$dir/lsan.supp"
LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$dir/lsan.supp \
	"$VMBUS" host --socket "$sock" --echo 0 --disk "rbd:ovb/disk,conf=$conf" \
	--disk "$dir/file.img,size=8M" 2>>"$dir/host.log" &
host=$!
pids+=("$host")
for _ in $(seq 200); do
	"$VMBUS" disk list --socket "$sock" 2>/dev/null | grep -q "lun 1" && break
	sleep 0.05
done
"$VMBUS" guest --socket "$sock" --name g3 --mount "$mnt" --io-timeout 3 \
	>"$dir/g3.log" 2>&1 &
guest=$!
pids+=("$guest")
for _ in $(seq 200); do [ -e "$mnt/scsi0/lun1" ] && break; sleep 0.05; done
[ -e "$mnt/scsi0/lun1" ] || fail "guest g3 never exposed scsi0/lun1"
ceph_osd_kill
start=$SECONDS
rc=0
timeout 60 dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k count=1 \
	status=none 2>"$dir/err" || rc=$?
[ $rc != 0 ] || fail "a read with the OSD gone succeeded"
[ $rc != 124 ] || fail "the read with the OSD gone hung"
took=$((SECONDS - start))
head -c $((8 << 20)) /dev/urandom >"$dir/file.ref"
dd if="$dir/file.ref" of="$mnt/scsi0/lun1" bs=1M conv=fsync status=none ||
	fail "the file disk failed while the OSD was gone"
cmp -s "$mnt/scsi0/lun1" "$dir/file.ref" || fail "the file disk's bytes differ"
echo "rbd: OSD gone for good: the guest's read failed in ${took}s ($(head -c 80 "$dir/err")); the file disk next to it works"

# The whole cluster gone (monitor and manager too) with reads in flight:
# SIGTERM ends the host within seconds, not after librados's 30 s
# operation bound: a closing channel waits 1 s, then cancels what librbd
# still has, and the close that would wait on the dead cluster is left
# behind (src/backend/blk_rbd.c).  The guest's reader gets an error.
timeout 60 dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k skip=100 count=4 \
	status=none 2>"$dir/err2" &
reader=$!
ceph_down
sleep 0.5
start=$(date +%s%N)
kill -TERM "$host"
for _ in $(seq 300); do kill -0 "$host" 2>/dev/null || break; sleep 0.05; done
kill -0 "$host" 2>/dev/null && fail "host still running 15 s after SIGTERM with the cluster gone"
ms=$((($(date +%s%N) - start) / 1000000))
rc=0; wait "$host" || rc=$?
[ $rc = 0 ] || fail "host exited with $rc after SIGTERM with the cluster gone"
rc=0; wait "$reader" || rc=$?
[ $rc != 0 ] || fail "a read with the cluster gone succeeded"
[ $rc != 124 ] || fail "the guest's read hung after the host stopped"
pids=()
echo "rbd: cluster gone, reads in flight: SIGTERM stopped the host in ${ms} ms; the guest's read failed ($(head -c 80 "$dir/err2"))"
grep -E "cancelled|left to finish" "$dir/host.log" | tail -n 3 | sed 's/^/rbd:   host: /'
echo "rbd: pass in $((SECONDS - t0))s"
