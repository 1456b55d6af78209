#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/net places its two processes as bench/net-peer.sh places the
# testpmd pair: every thread of the forked host on the first CPU it may
# use, every thread of the guests' process on the second, so that no round
# of a row lands with the host's frame worker sharing a CPU with a guest's
# busy thread (docs/net-perf.md, "guest->switch->guest: the slow state is
# a placement").  Checked from /proc while a row runs; NET_PIN=0 leaves
# both to the scheduler.  Needs two CPUs.
set -eu
NET=${OVB_BUILD:-build}/bench/net
[ -x "$NET" ] || { echo "bench-net-pin.sh: $NET missing (make all)"; exit 1; }
cpus=$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))')
set -- $cpus
[ $# -ge 2 ] || { echo "SKIP: bench-net-pin.sh needs two CPUs"; exit 77; }
c0=$1 c1=$2 all=$(python3 -c 'import os; s=sorted(os.sched_getaffinity(0)); print(s)')
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

# check PIN: run one row; while it runs, every thread's allowed CPUs.
check() {
	local pin=$1 child= n
	NET_PIN=$pin NET_RUN_MS=1500 "$NET" "$dir/j.json" \
		"guest->guest/interrupt/64" >"$dir/out" 2>&1 &
	pid=$!
	# Up when the guests' workers run: both guests' channels open.
	for _ in $(seq 200); do
		child=$(cat /proc/$pid/task/$pid/children 2>/dev/null | tr -d ' ')
		n=$(ls /proc/$pid/task 2>/dev/null | wc -l)
		[ -n "$child" ] && [ "$n" -ge 7 ] && break
		sleep 0.05
	done
	[ -n "$child" ] || { cat "$dir/out"; echo "bench/net: no host process"; exit 1; }
	sleep 0.2
	python3 - "$pin" "$pid" "$child" "$c0" "$c1" <<'PY'
import os, sys
pin, bench, host, c0, c1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
every = os.sched_getaffinity(0)
def allowed(pid):
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            out[int(t)] = os.sched_getaffinity(int(t))
        except OSError:
            pass
    return out
h, b = allowed(host), allowed(bench)
assert len(h) >= 4 and len(b) >= 7, f"threads: host {len(h)}, bench {len(b)}"
if pin == "0":
    bad = [(t, s) for t, s in list(h.items()) + list(b.items()) if s != every]
    assert not bad, f"NET_PIN=0 but pinned: {bad}"
else:
    bad = [(t, s) for t, s in h.items() if s != {c0}]
    assert not bad, f"host threads not on CPU {c0} alone: {bad}"
    bad = [(t, s) for t, s in b.items() if s != {c1}]
    assert not bad, f"guest threads not on CPU {c1} alone: {bad}"
print(f"NET_PIN={pin or 'unset'}: host {len(h)} threads, bench {len(b)} threads: ok")
PY
	wait "$pid" || { cat "$dir/out"; echo "bench/net failed"; exit 1; }
	pid=
	grep -q "guest->guest .*interrupt .* 64 B #1 .* pkt/s" "$dir/out" ||
		{ cat "$dir/out"; echo "bench/net printed no row"; exit 1; }
}

check ""
check 0
echo "bench/net: host on CPU $c0, guests on CPU $c1; NET_PIN=0 unpinned (allowed $all)"
