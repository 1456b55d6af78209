#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two processes: `vmbus host --disk` over temporary images (a SCSI LUN with
# 512-byte blocks, one with 4096-byte blocks, an IDE disk) and
# `vmbus guest --disk-check`, which writes a pattern over the last MiB of
# every disk, flushes and reads it back; then again from a guest in
# polling mode (--storage-poll), also against a host in polling mode
# (--poll).  Afterwards the host side checks the image bytes itself, then
# drives `vmbus disk add|list|remove`.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
dir=$(mktemp -d)
sock=$dir/host.sock
host=
trap '[ -n "$host" ] && kill -INT $host 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

"$VMBUS" host --socket "$sock" --echo 0 \
	--disk "$dir/a.img,size=16M" \
	--disk "$dir/b.img,size=8M,sector=4096,lun=2" \
	--disk "$dir/c.img,size=4M,ide" 2>"$dir/host.log" &
host=$!
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done

timeout 60 "$VMBUS" guest --socket "$sock" --name diskguest --disk-check \
	>"$dir/guest.log" 2>&1 || { cat "$dir/guest.log" "$dir/host.log"; exit 1; }
cat "$dir/guest.log" | grep '^storage:'
grep -q 'storage: scsi0 lun0: 16 MiB, 512-byte blocks, VSTOR 6.2, 2 channels: ok' "$dir/guest.log"
grep -q 'storage: scsi0 lun2: 8 MiB, 4096-byte blocks, VSTOR 6.2, 2 channels: ok' "$dir/guest.log"
grep -q 'storage: ide0 lun0: 4 MiB, 512-byte blocks, VSTOR 6.2, 1 channel: ok' "$dir/guest.log"

# The same check from a guest in polling mode, first against this host,
# then against a second host in polling mode.
timeout 60 "$VMBUS" guest --socket "$sock" --name pollguest --disk-check \
	--storage-poll 50 >"$dir/guest2.log" 2>&1 ||
	{ cat "$dir/guest2.log" "$dir/host.log"; exit 1; }
grep -q 'storage: scsi0 lun0: 16 MiB, 512-byte blocks, VSTOR 6.2, 2 channels: ok' "$dir/guest2.log"
grep -q 'storage: ide0 lun0: 4 MiB, 512-byte blocks, VSTOR 6.2, 1 channel: ok' "$dir/guest2.log"
"$VMBUS" host --socket "$dir/poll.sock" --echo 0 --poll 50 \
	--disk "$dir/p.img,size=8M" 2>"$dir/host2.log" &
host2=$!
for _ in $(seq 100); do [ -S "$dir/poll.sock.ctl" ] && break; sleep 0.05; done
timeout 60 "$VMBUS" guest --socket "$dir/poll.sock" --name pollguest2 \
	--disk-check --storage-poll 50 >"$dir/guest3.log" 2>&1 ||
	{ kill -INT $host2; cat "$dir/guest3.log" "$dir/host2.log"; exit 1; }
kill -INT $host2
wait $host2 || { echo "the polling host failed"; cat "$dir/host2.log"; exit 1; }
grep -q 'storage: scsi0 lun0: 8 MiB, 512-byte blocks, VSTOR 6.2, 2 channels: ok' "$dir/guest3.log"
if "$VMBUS" host --poll 2000000 2>"$dir/err"; then
	echo "--poll 2000000 was accepted"; exit 1
fi
grep -q -- "--poll wants" "$dir/err"
if "$VMBUS" host --disk-spin fast 2>"$dir/err"; then
	echo "--disk-spin fast was accepted"; exit 1
fi
grep -q -- "--disk-spin wants stream or 0..1000000" "$dir/err"
echo "storage: the disk check passes in polling mode too"

# The pattern reached the images (the guest flushed before it exited).
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
for name, lun in (("a.img", 0), ("b.img", 2), ("c.img", 0)):
    data = open(f"{d}/{name}", "rb").read()
    span = 1 << 20
    off = len(data) - span
    want = bytes(((o >> 9) + (o & 511) * 3 + lun) & 255
                 for o in range(off, off + span))
    assert data[off:] == want, f"{name}: pattern missing"
    assert data[:off].count(0) == off, f"{name}: bytes outside the span changed"
    print(f"storage: {name}: last MiB holds the guest's pattern")
PY

# Hot add, list and remove on the control socket.
out=$("$VMBUS" disk add "$dir/d.img,size=2M" --socket "$sock")
[ "$out" = "lun 1" ] || { echo "disk add said '$out'"; exit 1; }
"$VMBUS" disk list --socket "$sock" | grep -q "storvsp0 lun 1: d.img, 2097152 bytes"
"$VMBUS" disk remove 1 --socket "$sock"
if "$VMBUS" disk list --socket "$sock" | grep -q "lun 1:"; then
	echo "LUN 1 still listed"; exit 1
fi
if "$VMBUS" disk remove 7 --socket "$sock" 2>"$dir/err"; then
	echo "removing a missing LUN succeeded"; exit 1
fi
grep -q "no LUN 7" "$dir/err"
if "$VMBUS" disk add "$dir/e.img,size=1M,ide" --socket "$sock" 2>"$dir/err"; then
	echo "IDE hot add succeeded"; exit 1
fi
grep -q "cannot be hot-added" "$dir/err"
echo "storage: hot add, list and remove through the control socket work"
