#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Capture end to end, as root: a host with an echo device, a disk and a
# NIC records a lab-like run (`vmbus host --capture`): disk I/O through
# the FUSE guest at known LBAs, ping and a TCP transfer between two TAP
# guests, the echo guest's hot add and rescind.  tshark with
# share/wireshark/openvmbus.lua must decode named fields to the values the
# test knows: the negotiated VMBus version, an OFFER with the NIC class
# GUID, READ(16) and WRITE(16) at known LBAs (with the written bytes),
# ICMP echo between known addresses, the TCP transfer, the rescind, and
# (from tests/pair/test-capture-storage) the sense data of a failed
# READ(16).  Then
# `vmbus capture start|stop --partition` on the running host records one
# partition only.  A truncated and a corrupted copy decode without a Lua
# error.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
LUA=$PWD/share/wireshark/openvmbus.lua
if [ "$(id -u)" != 0 ]; then echo "skip: capture.sh needs root (netns, FUSE)"; exit 77; fi
if [ ! -c /dev/net/tun ] || [ ! -c /dev/fuse ]; then echo "skip: no /dev/net/tun or /dev/fuse"; exit 77; fi
for t in tshark ping python3 ip; do
	command -v $t >/dev/null || { echo "capture.sh: $t missing (scripts/run deps)"; exit 1; }
done

dir=$(mktemp -d /tmp/ovb-capture.XXXXXX)
chmod 755 "$dir" # tshark may drop privileges to read the files
sock=$dir/host.sock mnt=$dir/mnt pcap=$dir/run.pcapng
tag=$$
nsa=ovbcA$tag nsb=ovbcB$tag
pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	mountpoint -q "$mnt" && umount -l "$mnt"
	wait 2>/dev/null
	ip netns del "$nsa" 2>/dev/null
	ip netns del "$nsb" 2>/dev/null
	[ -n "${OVB_KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

# tshark with our dissector; fails on any Lua error it reports (on stderr
# when the script does not load, in the tree -- so only with -V -- when a
# dissection raised one).  A truncated file makes tshark exit non-zero.
ts() { # FILE ARGS...
	local f=$1; shift
	tshark -n -r "$f" -X lua_script:"$LUA" "$@" 2>"$dir/ts.err" >"$dir/ts.out" || true
	if grep -qi "lua" "$dir/ts.err" || grep -q "Lua Error" "$dir/ts.out"; then
		echo "tshark reported a Lua error:"; grep -i lua "$dir/ts.err" "$dir/ts.out" | head; exit 1
	fi
	cat "$dir/ts.out"
}
count() { ts "$1" -Y "$2" -T fields -e frame.number | grep -c . || true; }
want() { # FILE FILTER WHAT
	local n
	n=$(count "$1" "$2")
	[ "$n" -gt 0 ] || { echo "capture: no packet matches '$2' ($3)"; exit 1; }
	echo "capture: $3: $n packets match '$2'"
}

"$VMBUS" host --socket "$sock" --echo 1 --disk "$dir/disk.img,size=64M" \
	--nic sw0 --capture "$pcap" --snaplen 2048 2>"$dir/host.log" &
host=$!; pids+=($host)
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done

# Disk I/O through FUSE: write a pattern at byte 1 MiB + 4 KiB, read it back.
"$VMBUS" guest --socket "$sock" --name gdisk --mount "$mnt" >"$dir/gdisk.log" 2>&1 &
gdisk=$!; pids+=($gdisk)
for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && break; sleep 0.05; done
[ -e "$mnt/scsi0/lun0" ] || { echo "no lun0"; cat "$dir/gdisk.log"; exit 1; }
python3 - "$mnt/scsi0/lun0" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"OVBCAPTURE-TEST!" * 256, (1 << 20) + 4096)
assert os.pread(fd, 4096, (1 << 20) + 4096) == b"OVBCAPTURE-TEST!" * 256
os.close(fd)
PY
echo "capture: wrote and read 4 KiB at byte offset 1052672 of scsi0/lun0"

# Two NIC guests: ping both ways and a TCP transfer.
guest() { # name netns addr
	"$VMBUS" guest --socket "$sock" --name "$1" --tap eth0 --netns "$2" \
		--addr "$3" --queues 2 >"$dir/$1.log" 2>&1 &
	pids+=($!)
	echo $! >"$dir/$1.pid"
}
guest ga "$nsa" 10.98.0.1/24
guest gb "$nsb" 10.98.0.2/24
for g in ga gb; do
	for _ in $(seq 200); do grep -q "running" "$dir/$g.log" && break; sleep 0.05; done
	grep -q "running" "$dir/$g.log" || { cat "$dir/$g.log"; exit 1; }
done
ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 10.98.0.2 >/dev/null
ip netns exec "$nsb" ping -c 2 -i 0.2 -W 2 10.98.0.1 >/dev/null
# 6000-byte echoes: five IP fragments that arrive together, several
# frames to a transfer-page packet, the later ones cut by the snap
# length (2048): the dissector must say so, not call them malformed.
ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 -s 6000 10.98.0.2 >/dev/null
cat >"$dir/xfer.py" <<'PY'
import socket, sys
if sys.argv[1] == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 5999)); s.listen(1)
    open(sys.argv[2], "w").write("ready\n")
    c, _ = s.accept(); n = 0
    while True:
        b = c.recv(1 << 16)
        if not b: break
        n += len(b)
    print(n)
else:
    c = socket.create_connection((sys.argv[2], 5999))
    c.sendall(b"x" * (1 << 20)); c.close()
PY
ip netns exec "$nsb" python3 "$dir/xfer.py" recv "$dir/ready" >"$dir/recv.out" &
rx=$!
for _ in $(seq 100); do [ -f "$dir/ready" ] && break; sleep 0.05; done
ip netns exec "$nsa" python3 "$dir/xfer.py" send 10.98.0.2
wait $rx
[ "$(cat "$dir/recv.out")" = $((1 << 20)) ] || { echo "TCP transfer short"; exit 1; }
echo "capture: ping both ways and 1 MiB over TCP between ga and gb"

# The echo guest exercises hot add and rescind, then unloads.
"$VMBUS" guest --socket "$sock" --name gecho >"$dir/gecho.log" 2>&1
grep -q "hot-added relid" "$dir/gecho.log"

for g in ga gb; do kill -TERM "$(cat "$dir/$g.pid")"; done
kill -TERM $gdisk
for g in ga gb; do wait "$(cat "$dir/$g.pid")" || true; done
wait $gdisk || true
kill -INT $host
wait $host || { echo "host exited $?"; cat "$dir/host.log"; exit 1; }
grep "capture:" "$dir/host.log"
if grep -l "Sanitizer" "$dir"/*.log; then exit 1; fi
capinfos -c "$pcap" | tail -1

# `vmbus capture` on a running host that was started without --capture:
# two guests, one of them recorded.
sock2=$dir/live.sock
"$VMBUS" host --socket "$sock2" 2>"$dir/host2.log" &
host2=$!; pids+=($host2)
for _ in $(seq 100); do [ -S "$sock2.ctl" ] && break; sleep 0.05; done
"$VMBUS" capture start "$dir/live.pcapng" --partition glive --socket "$sock2"
if "$VMBUS" capture start "$dir/other.pcapng" --socket "$sock2" 2>"$dir/busy.err"; then
	echo "a second capture started"; exit 1
fi
grep -q "is running" "$dir/busy.err"
"$VMBUS" guest --socket "$sock2" --name gother >"$dir/gother.log" 2>&1
"$VMBUS" guest --socket "$sock2" --name glive >"$dir/glive.log" 2>&1
"$VMBUS" capture stop "$dir/live.pcapng" --socket "$sock2" | tee "$dir/live.out"
grep -q " 0 dropped" "$dir/live.out"
kill -INT $host2
wait $host2 || { echo "host2 exited $?"; cat "$dir/host2.log"; exit 1; }

# ---- what the dissector must find ------------------------------------------
nv=$(ts "$pcap" -Y vmbus.negotiated_version -T fields -e vmbus.negotiated_version | sort -u)
[ "$nv" = 0x00060000 ] || { echo "negotiated version '$nv', want 0x00060000"; exit 1; }
echo "capture: negotiated VMBus version $nv"
want "$pcap" 'vmbus.offer.if_type == f8615163-df3e-46c5-913f-f2d2f965ed0e && vmbus.offer.device == "synthetic NIC"' "OFFER of the NIC class"
want "$pcap" 'vmbus.offer.device == "synthetic NIC" && vmbus.offer.sub_channel_index == 1' "OFFER of a NIC sub-channel"
want "$pcap" 'ovbcap.kind == 2 && ovbcap.subidx == 1 && ovbcap.class == f8615163-df3e-46c5-913f-f2d2f965ed0e' "ring packets on a NIC sub-channel"
want "$pcap" 'vmbus.offer.if_type == ba6163d9-04a1-4d29-b605-72e2ffb1dc7f' "OFFER of the SCSI class"
lba=$((1052672 / 512))
want "$pcap" "vstor.cdb.opcode == 0x8a && vstor.cdb.lba == $lba && vstor.cdb.length == 8" "WRITE(16) at LBA $lba"
want "$pcap" "vstor.cdb.opcode == 0x8a && vstor.cdb.lba == $lba && ovbcap.data contains \"OVBCAPTURE-TEST!\"" "the written bytes"
want "$pcap" "vstor.cdb.opcode == 0x88 && vstor.cdb.lba == $lba && vstor.cdb.length == 8" "READ(16) at LBA $lba"
want "$pcap" "vstor.request_in && vstor.cdb.opcode == 0x88 && vstor.srb.scsi_status == 0" "its completion"
want "$pcap" 'icmp.type == 8 && ip.src == 10.98.0.1 && ip.dst == 10.98.0.2' "ICMP echo request ga -> gb"
want "$pcap" 'icmp.type == 0 && ip.src == 10.98.0.2 && ip.dst == 10.98.0.1' "ICMP echo reply gb -> ga"
want "$pcap" 'nvsp.type == 107 && ovbcap.dir == 0 && icmp' "ICMP sent by a guest (send section or page buffers)"
want "$pcap" 'nvsp.type == 107 && ovbcap.dir == 1 && vmbus.pkt.type == 7 && icmp' "ICMP received through transfer pages"
# Its data frames are coalesced fragments or cut by the snap length (not
# decoded); whole ones decode, and gb's acks say all of it arrived.
want "$pcap" '(tcp.dstport == 5999 && tcp.len > 0) || (tcp.srcport == 5999 && tcp.ack >= 1048576)' "the TCP transfer"
want "$pcap" 'hv_rndis.type == 0x80000002 && hv_rndis.status == 0' "RNDIS INITIALIZE_COMPLETE"
want "$pcap" 'hv_rndis.ppi.type' "RNDIS per-packet info"
want "$pcap" 'nvsp.type == 2 && nvsp.status == 1' "NVSP INIT_COMPLETE success"
want "$pcap" 'vmbus.msgtype == 2 && vmbus.device == "openvmbus echo"' "RESCIND_CHANNELOFFER of the hot-added echo device"
want "$pcap" 'vmbus.msgtype == 13' "RELID_RELEASED"
want "$pcap" 'vmbus_echo.op == 9' "echo HOTADD"
want "$pcap" 'vmbus.pkt.type == 9 && vmbus.range.pfn' "GPA-direct ranges"
want "$pcap" 'ip.flags.mf == 1 && ip.dst == 10.98.0.2' "fragmented echoes"
if [ "$(count "$pcap" '_ws.expert.severity == error')" != 0 ]; then
	echo "expert errors in a clean capture:"
	ts "$pcap" -Y '_ws.expert.severity == error' | head; exit 1
fi
ts "$pcap" -V >/dev/null
echo "capture: no expert errors and no Lua error in the clean capture"
parts=$(ts "$dir/live.pcapng" -T fields -e frame.interface_name | sort -u | tr '\n' ' ')
[ "$parts" = "glive " ] || { echo "live capture has partitions '$parts'"; exit 1; }
want "$dir/live.pcapng" 'vmbus.msgtype == 14' "live capture: INITIATE_CONTACT of glive"

# A failed command: the storage pair test reads past its disk while
# capturing and leaves the file here.
OVB_CAPTURE_KEEP=$dir/storage.pcapng "${OVB_BUILD:-build}/tests/pair/test-capture-storage" \
	>"$dir/pair.log" 2>&1 || { cat "$dir/pair.log"; exit 1; }
want "$dir/storage.pcapng" 'vstor.cdb.opcode == 0x88 && vstor.request_in && vstor.sense.key == 5 && vstor.sense.asc == 0x21 && vstor.failed' "sense data of a failed READ(16)"

# ---- broken files: no Lua error, whatever the bytes --------------------------
size=$(stat -c %s "$pcap")
head -c $((size * 2 / 3 + 13)) "$pcap" >"$dir/trunc.pcapng"
ts "$dir/trunc.pcapng" -V >/dev/null
python3 - "$pcap" "$dir/corrupt.pcapng" <<'PY'
import random, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
rnd = random.Random(7)
off = 0
while off + 12 <= len(b):
    t, n = struct.unpack_from("<II", b, off)
    if t == 6 and n > 40:        # enhanced packet block: mangle the record
        cap = struct.unpack_from("<I", b, off + 20)[0]
        data = off + 28
        for _ in range(rnd.randint(1, 12)):
            i = data + rnd.randrange(max(cap, 1))
            b[i] = rnd.randrange(256)
        if rnd.random() < 0.2:    # and sometimes the header's lengths
            b[data + 20 + rnd.randrange(12)] = rnd.randrange(256)
    off += n
open(sys.argv[2], "wb").write(b)
PY
ts "$dir/corrupt.pcapng" -V >/dev/null
n=$(count "$dir/corrupt.pcapng" '_ws.expert.group == "Malformed"')
echo "capture: truncated and corrupted copies decode without a Lua error ($n records marked malformed)"
