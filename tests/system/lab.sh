#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vmbus lab end to end: a first run makes the filesystem and reports the
# versions and non-zero traffic; a second run reuses the image and finds
# the first run's files; --keep then --down leaves no process, namespace,
# mount, loop device or TAP behind; and the no-root fallback, run as an
# unprivileged user, completes in one process, twice, finding its data.
set -eu
if [ "$(id -u)" != 0 ]; then echo "skip: needs root (the lab's FUSE, loop, netns)"; exit 77; fi
VMBUS=${OVB_VMBUS:-build/vmbus}
# The lab's run directory and namespaces are fixed names: two suites on
# one machine (two work trees) take turns here instead of tearing down
# each other's lab.
exec 9>/run/openvmbus-lab-test.lock
flock -w 240 9 || { echo "another lab test held the lock for 4 min"; exit 1; }
state=$(mktemp -d /tmp/ovb-lab.XXXXXX)
trap '"$VMBUS" lab --down >/dev/null 2>&1; rm -rf "$state"' EXIT

check() { grep -q -- "$2" "$1" || { echo "lab output lacks: $2"; cat "$1"; exit 1; }; }

"$VMBUS" lab --state "$state" >"$state/run1.log" 2>&1 || { cat "$state/run1.log"; exit 1; }
check "$state/run1.log" "VMBus negotiated           6.0 (guest1), 6.0 (guest2)"
check "$state/run1.log" "VSTOR negotiated           6.2"
check "$state/run1.log" "NVSP negotiated            6.1"
check "$state/run1.log" "ext4 made on this run"
check "$state/run1.log" "TCP transfer               64 MiB, SHA-256 matches"
# Non-zero traffic: a netvsp and a storvsp row with packets in the table.
awk '$4 == "netvsp" && $13 > 0 { n++ } END { exit !n }' "$state/run1.log" \
	|| { echo "no netvsp traffic in the summary"; exit 1; }
awk '$4 == "storvsp" && $13 > 0 { n++ } END { exit !n }' "$state/run1.log" \
	|| { echo "no storvsp traffic in the summary"; exit 1; }
gbps=$(sed -n 's/.*network throughput *\([0-9.]*\) Gbit.*/\1/p' "$state/run1.log")
awk -v g="$gbps" 'BEGIN { exit !(g > 0) }' || { echo "no iperf3 throughput"; exit 1; }
echo "lab: first run ok ($gbps Gbit/s)"

# The later runs check state handling; their figures add nothing (--quick).
"$VMBUS" lab --state "$state" --quick >"$state/run2.log" 2>&1 || { cat "$state/run2.log"; exit 1; }
check "$state/run2.log" "ext4 from an earlier run"
check "$state/run2.log" "8 found and verified, 8 written and verified"
check "$state/run2.log" "network throughput         not measured (--quick)"
echo "lab: second run found the first run's files"

"$VMBUS" lab --state "$state" --quick --keep >"$state/run3.log" 2>&1 || { cat "$state/run3.log"; exit 1; }
check "$state/run3.log" "ip netns exec ovb-lab1 bash"
ip netns exec ovb-lab1 ping -c 1 -W 2 10.77.0.2 >/dev/null
"$VMBUS" lab --down
if ip netns list | grep -q ovb-lab; then echo "namespace left"; exit 1; fi
if grep -q openvmbus-lab /proc/mounts; then echo "mount left"; exit 1; fi
if losetup -a | grep -q openvmbus-lab; then echo "loop device left"; exit 1; fi
if pgrep -f "/run/openvmbus-lab/host.sock" >/dev/null; then echo "process left"; exit 1; fi
echo "lab: --keep then --down left nothing behind"

# A run left up (or crashed) is taken down by the next run, not reused.
"$VMBUS" lab --state "$state" --quick --keep >"$state/run4.log" 2>&1 || { cat "$state/run4.log"; exit 1; }
old_host=$(awk '$1 == "host" { print $2 }' /run/openvmbus-lab/lab.env)
"$VMBUS" lab --state "$state" --quick >"$state/run5.log" 2>&1 || { cat "$state/run5.log"; exit 1; }
if kill -0 "$old_host" 2>/dev/null; then echo "the kept host survived a new run"; exit 1; fi
if pgrep -f "/run/openvmbus-lab/host.sock" >/dev/null; then echo "process left"; exit 1; fi
echo "lab: a new run replaced the kept one"

home=$state/nobody
mkdir -p "$home" && chown nobody "$home" && chmod 755 "$state"
for run in 1 2; do
	runuser -u nobody -- env HOME="$home" "$VMBUS" lab >"$state/local$run.log" 2>&1 \
		|| { cat "$state/local$run.log"; exit 1; }
	check "$state/local$run.log" "not root"
	check "$state/local$run.log" "every payload verified"
done
check "$state/local2.log" "found the previous run's data"
echo "lab: the no-root fallback ran twice as nobody and found its data"
