#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Disks on real NBD servers, as root: nbdkit's memory plugin (unix socket)
# and file plugin (TCP), qemu-storage-daemon (unix socket).  Each serves a
# guest that makes ext4 through the FUSE disk and a loop device, writes
# files with SHA-256 sums, and passes fsck; the file-backed exports are then
# checked on the server side (the image itself).  Then the faults: the
# server killed and restarted during a write loop (every write the guest
# saw succeed is in the image; errors at worst, no hang), a server that
# stops answering (requests fail at their deadline, then it recovers), a
# server that accepts and never speaks and an absent server (clear errors
# at start and at `vmbus disk add`; the other disks keep working).  The
# servers advertise multi-conn (a connection per channel queue) except
# qemu-storage-daemon's writable export and the silent-server case
# (multiconn=off): both ways of driving the disk meet the faults, and
# every connection speaks our own transmission phase (blk_nbd_wire.c)
# except the memory plugin's (wire=libnbd), and
# `vmbus stat` counts reconnects, deadlines and failures.
set -eu
if [ "$(id -u)" != 0 ]; then echo "skip: needs root (loop devices, mount)"; exit 77; fi
if [ ! -c /dev/fuse ]; then echo "skip: no /dev/fuse"; exit 77; fi
# Our mounts stay in a private mount namespace: a namespace another
# process creates meanwhile (ip netns exec, unshare) would otherwise copy
# them and keep the file system alive after our umount.
if [ -z "${OVB_NBD_PRIVATE_NS:-}" ]; then
	exec env OVB_NBD_PRIVATE_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
for t in nbdkit qemu-storage-daemon; do
	command -v $t >/dev/null || { echo "$t missing (bash scripts/run deps)"; exit 1; }
done
VMBUS=${OVB_VMBUS:-build/vmbus}
dir=$(mktemp -d /tmp/ovb-nbd.XXXXXX)
sock=$dir/host.sock mnt=$dir/mnt fs=$dir/fs
mkdir -p "$fs"
pids=() srv=() loops=() host= nbd=

cleanup() {
	local rc=$?
	set +e
	if [ "$rc" != 0 ] && [ -z "${shown:-}" ]; then
		for f in "$dir"/*.log; do echo "== $f"; tail -n 20 "$f"; done
	fi
	mountpoint -q "$fs" && umount "$fs"
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	for p in "${pids[@]}" "${srv[@]}"; do
		kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
	done
	sleep 0.5
	for p in "${pids[@]}" "${srv[@]}"; do kill -KILL "$p" 2>/dev/null; done
	mountpoint -q "$mnt" && umount -l "$mnt"
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

fail() { echo "nbd: $*"; shown=1; for f in "$dir"/*.log; do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

# Timings decide nothing here: the outcome (an error, a log line, the
# data) does, and every wait is bounded only by this hang guard (seconds),
# far past the deadlines the script sets.
hang=60

# wait_guard PID WHAT: wait for PID within the hang guard; status in $rc.
wait_guard() {
	for _ in $(seq $((hang * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && fail "$2 still runs after $hang s"
	rc=0; wait "$1" || rc=$?
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() { # PATH-or-PORT
	for _ in $(seq 100); do
		case $1 in
		/*) [ -S "$1" ] && return ;;
		*) (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return ;;
		esac
		sleep 0.05
	done
	fail "server on $1 never came up"
}

start_host() { # SPEC...
	local a=()
	for s in "$@"; do a+=(--disk "$s"); done
	"$VMBUS" host -v --socket "$sock" --echo 0 "${a[@]}" 2>>"$dir/host.log" &
	host=$!
	pids+=("$host")
	for _ in $(seq 200); do [ -S "$sock.ctl" ] && return; sleep 0.05; done
	fail "host never came up"
}

. "$(dirname "$0")/lib/guest.sh"
GUEST_LOG_PREFIX=guest-

# ext4 through the FUSE disk: files with sums, fsck clean.
ext4_round() { # NAME
	local loop
	loop=$(losetup -f --show "$mnt/scsi0/lun0")
	loops+=("$loop")
	mkfs.ext4 -q -F -E nodiscard "$loop"
	mount "$loop" "$fs"
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="$fs/file$i" bs=1M count=4 status=none
	done
	fstrim "$fs" 2>/dev/null || true # UNMAP -> NBD_CMD_TRIM where offered
	(cd "$fs" && sha256sum file* >"$dir/sums")
	umount "$fs"
	e2fsck -fn "$loop" >"$dir/fsck.log" 2>&1 || fail "$1: fsck"
	losetup -d "$loop"; loops=()
	# Read back through a fresh loop device: nothing cached above it.
	loop=$(losetup -f --show -r "$mnt/scsi0/lun0"); loops+=("$loop")
	mount -o ro "$loop" "$fs"
	(cd "$fs" && sha256sum -c --quiet "$dir/sums") || fail "$1: sums differ"
	umount "$fs"
	losetup -d "$loop"; loops=()
	echo "nbd: $1: mkfs.ext4, 16 MiB of files, sums and fsck clean"
}

# The same files read from the image on the server's side.
server_side() { # NAME IMAGE
	local loop
	loop=$(losetup -f --show -r "$2"); loops+=("$loop")
	mount -o ro "$loop" "$fs"
	(cd "$fs" && sha256sum -c --quiet "$dir/sums") || fail "$1: image sums"
	umount "$fs"; losetup -d "$loop"; loops=()
	echo "nbd: $1: the sums match in the served image itself"
}

# served_round NAME SPEC GUEST IMAGE: a host on SPEC and guest GUEST run
# ext4_round; then the server ($nbd) goes and IMAGE is checked on its side.
served_round() {
	start_host "$2"
	start_guest "$3"
	ext4_round "$1"
	stop_all
	kill "$nbd"; wait "$nbd" 2>/dev/null || true
	server_side "$1" "$4"
}

# 1. nbdkit, memory plugin, unix socket; libnbd's transmission phase
# (wire=libnbd), where the other cases run on ours.
nbdkit -f -U "$dir/mem.sock" memory 64M 2>"$dir/nbdkit-mem.log" &
nbd=$!; srv+=("$nbd"); wait_for "$dir/mem.sock"
start_host "nbd+unix:///?socket=$dir/mem.sock,wire=libnbd"
start_guest g1
[ "$(stat -c %s "$mnt/scsi0/lun0")" = $((64 << 20)) ] || fail "lun0 size"
ext4_round "nbdkit memory"
stop_all
kill "$nbd"; wait "$nbd" 2>/dev/null || true

# 2. nbdkit, file plugin, TCP; the file checked afterwards.
img=$dir/file.img
truncate -s 64M "$img"
port=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$port" file "$img" 2>"$dir/nbdkit-file.log" &
nbd=$!; srv+=("$nbd"); wait_for "$port"
served_round "nbdkit file" "nbd://127.0.0.1:$port/" g2 "$img"

# 3. qemu-storage-daemon, a named export on a unix socket.
qimg=$dir/qsd.img
truncate -s 64M "$qimg"
qemu-storage-daemon \
	--blockdev driver=file,node-name=f0,filename="$qimg" \
	--nbd-server addr.type=unix,addr.path="$dir/qsd.sock" \
	--export type=nbd,id=e0,node-name=f0,name=disk0,writable=on \
	2>"$dir/qsd.log" &
nbd=$!; srv+=("$nbd"); wait_for "$dir/qsd.sock"
served_round "qemu-storage-daemon" "nbd+unix:///disk0?socket=$dir/qsd.sock" \
	g3 "$qimg"

# 4. The server killed and restarted during a write loop.
rimg=$dir/restart.img
truncate -s 32M "$rimg"
port=$(free_port)
# The delay filter keeps a write in flight most of the time, so the kill
# lands on one: it must be sent again, not lost nor acknowledged unstored.
slow=(--filter=delay file "$rimg" delay-write=50ms)
nbdkit -f -i 127.0.0.1 -p "$port" "${slow[@]}" 2>"$dir/nbdkit-r1.log" &
nbd=$!; srv+=("$nbd"); wait_for "$port"
start_host "nbd://127.0.0.1:$port/,timeout=4"
start_guest g4
python3 - "$mnt/scsi0/lun0" "$dir/acks" 80 <<'PY' &
import os, sys, time
path, acks, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_RDWR)
with open(acks, "w") as log:
    for i in range(n):
        # A write the disk completed is acknowledged (the FUSE disk is
        # direct I/O): it must survive the server's death.  fsync now and
        # then only adds flushes to the mix; its failure is allowed.
        try:
            os.pwrite(fd, (b"%08d" % i) * 8192, i * 65536)
            log.write(f"ok {i} {time.time():.3f}\n")
        except OSError as e:
            log.write(f"err {i} {e.strerror}\n")
        if i % 8 == 7:
            try:
                os.fsync(fd)
            except OSError as e:
                log.write(f"fsync-err {i} {e.strerror}\n")
        log.flush()
PY
writer=$!
sleep 1
kill -0 "$writer" 2>/dev/null || fail "the writer finished before the kill"
"$VMBUS" stat --socket "$sock" --json >"$dir/stat-before.json" || fail "stat"
kill -KILL "$nbd"; wait "$nbd" 2>/dev/null || true
sleep 0.5
nbdkit -f -i 127.0.0.1 -p "$port" "${slow[@]}" 2>"$dir/nbdkit-r2.log" &
nbd=$!; srv+=("$nbd")
wait_guard "$writer" "the writer"
[ "$rc" = 0 ] || fail "writer crashed"
grep -q "connection lost" "$dir/host.log" || fail "the host never saw the loss"
grep -q "reconnected" "$dir/host.log" || fail "the host never reconnected"
oks=$(grep -c '^ok' "$dir/acks" || true)
errs=$(grep -c '^err' "$dir/acks" || true)
ferrs=$(grep -c '^fsync-err' "$dir/acks" || true)
resent=$(sed -n 's/.*reconnected; \([0-9]*\) lost requests.*/\1/p' "$dir/host.log" | head -n1)
[ "$oks" -ge 40 ] || fail "only $oks writes succeeded"
# The disk's counters in `vmbus stat`: no reconnect before, one or more
# after; the text table has the row too.
"$VMBUS" stat --socket "$sock" --json >"$dir/stat-after.json" || fail "stat"
python3 - "$dir/stat-before.json" "$dir/stat-after.json" <<'PY' || fail "stat counters"
import json, sys
b, a = ([d for d in json.load(open(f))["disks"] if d["lun"] == 0][0]
        for f in sys.argv[1:3])
assert b["engine"] == "nbd" and b["connections"] >= 1, b
assert b["reconnects"] == 0, b
assert a["reconnects"] >= 1 and a["connections"] >= 1, a
assert a["requests"] > b["requests"], (b, a)
print(f"nbd: vmbus stat: reconnects {b['reconnects']} -> {a['reconnects']}, "
      f"failed {b['failed']} -> {a['failed']}, {a['connections']} connections")
PY
"$VMBUS" stat --socket "$sock" --once | grep -q "^storvsp0 .* nbd " || fail "stat: no disk row"
stop_all
kill "$nbd"; wait "$nbd" 2>/dev/null || true
python3 - "$rimg" "$dir/acks" <<'PY' || fail "an acknowledged write is missing"
import sys
data = open(sys.argv[1], "rb").read()
for line in open(sys.argv[2]):
    w = line.split()
    if w[0] == "ok":
        i = int(w[1])
        if data[i * 65536:(i + 1) * 65536] != (b"%08d" % i) * 8192:
            sys.exit(f"block {i} acknowledged but not in the image")
PY
echo "nbd: server restarted mid-write: $oks acknowledged writes all in the image," \
	"$errs writes and $ferrs fsyncs failed visibly, ${resent:-0} requests sent again"

# 5. A server that stops answering mid-I/O, then resumes; plus hot add,
# an absent server and a server that never speaks.
port=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$port" memory 16M 2>"$dir/nbdkit-h.log" &
nbd=$!; srv+=("$nbd"); wait_for "$port"
nbdkit -f -U "$dir/hot.sock" memory 8M 2>"$dir/nbdkit-hot.log" &
hot=$!; srv+=("$hot"); wait_for "$dir/hot.sock"
# One connection and its engine thread (multiconn=off) meet this fault.
start_host "nbd://127.0.0.1:$port/,timeout=2,multiconn=off"
start_guest g5
dd if=/dev/urandom of="$mnt/scsi0/lun0" bs=64k count=16 status=none
kill -STOP "$nbd"
rc=0
timeout "$hang" dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k count=1 skip=100 \
	status=none 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a read from a silent server succeeded"
[ "$rc" != 124 ] || fail "a read from a silent server hung"
grep -q "did not answer within 2 s" "$dir/host.log" || fail "no deadline message"
kill -CONT "$nbd"
ok=0
for _ in $(seq 20); do
	if dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k count=16 status=none 2>/dev/null; then
		ok=1; break
	fi
	sleep 0.5
done
[ "$ok" = 1 ] || fail "no recovery after the server answered again"
"$VMBUS" stat --socket "$sock" --json | python3 -c '
import json, sys
d = [d for d in json.load(sys.stdin)["disks"] if d["lun"] == 0][0]
assert d["connections"] == 1 and d["timeouts"] >= 1 and d["failed"] >= 1, d
' || fail "stat: the deadline is not counted"
echo "nbd: a silent server: the read failed at the 2 s deadline, I/O recovered after"

# Hot add of an NBD disk, and of absent or mute servers.
out=$("$VMBUS" disk add "nbd+unix:///?socket=$dir/hot.sock" --socket "$sock")
[ "$out" = "lun 1" ] || fail "disk add said '$out'"
"$VMBUS" disk list --socket "$sock" | grep -q "lun 1: nbd+unix:///?socket=.*, 8388608 bytes" ||
	fail "hot-added disk not listed"
if "$VMBUS" disk add "nbd+unix:///?socket=$dir/absent.sock" --socket "$sock" \
	2>"$dir/add-err.log"; then
	fail "disk add of an absent server succeeded"
fi
grep -q "absent.sock" "$dir/add-err.log" || fail "disk add error does not name the server"
python3 - "$dir/mute.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)  # accepts, never says a word
PY
mute=$!; srv+=("$mute")
for _ in $(seq 100); do [ -s "$dir/mute.port" ] && break; sleep 0.05; done
mport=$(cat "$dir/mute.port")
rc=0
timeout "$hang" "$VMBUS" disk add "nbd://127.0.0.1:$mport/,timeout=1" --socket "$sock" \
	2>"$dir/mute-err.log" || rc=$?
[ "$rc" != 0 ] || fail "disk add of a mute server succeeded"
[ "$rc" != 124 ] || fail "disk add of a mute server hung"
# Refused at the handshake's 1 s deadline.
grep -q "Connection timed out" "$dir/mute-err.log" || fail "disk add, mute: unclear error"
grep -q "$mport/: no NBD handshake within 1 s" "$dir/host.log" ||
	fail "disk add, mute: the host did not say why"
dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k count=16 status=none ||
	fail "LUN 0 stopped working after failed adds"
echo "nbd: hot add works; absent and mute servers fail disk add with an error"
stop_all

rc=0
timeout "$hang" "$VMBUS" host --socket "$dir/h2.sock" --echo 0 \
	--disk "nbd://127.0.0.1:$mport/,timeout=1" 2>"$dir/mute-start.log" || rc=$?
[ "$rc" != 0 ] || fail "a host started on a mute server"
[ "$rc" != 124 ] || fail "a host start on a mute server hung"
grep -q "no NBD handshake within 1 s" "$dir/mute-start.log" || fail "mute: unclear error"
if timeout 20 "$VMBUS" host --socket "$dir/h3.sock" --echo 0 \
	--disk "nbd+unix:///?socket=$dir/absent.sock" 2>"$dir/absent-start.log"; then
	fail "a host started on an absent server"
fi
grep -q "absent.sock: cannot connect" "$dir/absent-start.log" || fail "absent: unclear error"
echo "nbd: absent and mute servers: the host refuses to start, naming them"

# 6. The host stops while its server is silent with a read in flight: the
# closing channel cancels what the backend holds (ovb_blk_queue_cancel)
# instead of waiting out the request deadline, so SIGTERM ends the host;
# on a connection per queue and on one connection.  The deadline is an
# hour: only the cancel lets the host end within the hang guard.
for mc in on off; do
	nbdkit -f -U "$dir/stop-$mc.sock" memory 8M 2>"$dir/nbdkit-stop.log" &
	nbd=$!; srv+=("$nbd"); wait_for "$dir/stop-$mc.sock"
	start_host "nbd+unix:///?socket=$dir/stop-$mc.sock,multiconn=$mc,timeout=3600"
	start_guest "stop$mc"
	kill -STOP "$nbd"
	timeout "$hang" dd if="$mnt/scsi0/lun0" of=/dev/null bs=64k count=1 \
		status=none 2>/dev/null &
	rd=$!
	sleep 0.5
	start=$(date +%s%N)
	kill -TERM "$host"
	wait_guard "$host" "multiconn=$mc: the host, on a silent server,"
	took=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$rc" = 0 ] || fail "multiconn=$mc: the host stopped with status $rc"
	wait "$rd" && fail "multiconn=$mc: a read from a stopped host succeeded"
	kill -TERM "$guest"; wait "$guest" || true
	kill -KILL "$nbd"; wait "$nbd" 2>/dev/null || true
	pids=()
	echo "nbd: multiconn=$mc: SIGTERM with a read held by a silent server: the host ended in $took ms"
done
