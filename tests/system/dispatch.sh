#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pair scenarios again with every fixture's server caller-driven
# (OVB_TEST_DISPATCH=caller: no host threads, a test thread plays the
# embedder's loop): echo traffic of every kind, rescind, sub-channels,
# signalling modes, the lock contract, hostile guests on messages and
# rings, storage I/O with polling, hot add and host death, and the socket
# link's host running everything on its one thread.  Then two processes:
# `vmbus host --threads caller` serves a disk check and an echo soak, and
# its thread count does not grow while the guest's channels are open.
set -u
BUILD=${OVB_BUILD:-build}
rc=0
for t in test-bus test-bus-locks test-hostile-guest test-hostile-guest-ring \
	 test-storage test-storage-batch test-storage-poll test-storage-hostile \
	 test-fault-echo test-socket; do
	bin=$BUILD/tests/pair/$t
	if [ ! -x "$bin" ]; then
		echo "dispatch: $bin not built"
		exit 1
	fi
	start=$(date +%s%N)
	if OVB_TEST_DISPATCH=caller "$bin" >"$BUILD/test-logs/dispatch-$t.log" 2>&1; then
		echo "caller-driven $t: ok ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
	else
		echo "caller-driven $t: FAILED (log: $BUILD/test-logs/dispatch-$t.log)"
		grep -E 'ERROR|FAILED|LINE' "$BUILD/test-logs/dispatch-$t.log" | head -20
		rc=1
	fi
done

VMBUS=${OVB_VMBUS:-$BUILD/vmbus}
dir=$(mktemp -d)
host=
trap '[ -n "$host" ] && kill -INT $host 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
sock=$dir/host.sock
# The host's threads, less io_uring's own workers (iou-wrk-*: the kernel
# starts and ends them for the disk's requests).
threads() {
	local n=0 c
	for t in /proc/$host/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		[[ $c == iou-* ]] || n=$((n + 1))
	done
	echo $n
}
"$VMBUS" host --socket "$sock" --threads caller --echo 1 \
	--disk "$dir/a.img,size=8M" 2>"$dir/host.log" &
host=$!
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done
idle=$(threads)
if ! timeout 60 "$VMBUS" guest --socket "$sock" --name dguest --disk-check \
	>"$dir/guest.log" 2>&1 ||
	! grep -q 'storage: scsi0 lun0: 8 MiB, 512-byte blocks, VSTOR 6.2, 2 channels: ok' "$dir/guest.log"; then
	echo "caller-driven vmbus host: disk check FAILED"
	cat "$dir/guest.log" "$dir/host.log"
	exit 1
fi
timeout 60 "$VMBUS" guest --socket "$sock" --name soak --soak 3 \
	>"$dir/soak.log" 2>&1 &
soak=$!
for _ in $(seq 200); do grep -q "soak: 1000 pings" "$dir/soak.log" && break; sleep 0.05; done
busy=$(threads)
wait $soak || { echo "caller-driven vmbus host: soak FAILED"; cat "$dir/soak.log"; exit 1; }
echo "caller-driven vmbus host: disk check ok; host threads $idle idle, $busy with echo channels open"
if ! grep -q "soak: 1000 pings" "$dir/soak.log" || [ "$busy" != "$idle" ]; then
	echo "caller-driven vmbus host: its channels started threads"
	rc=1
fi
exit $rc
