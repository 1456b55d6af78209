#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where the context switches of our TCP path are, thread by thread: a
# host (`vmbus host --nic sw0,mtu=MTU`) and two `vmbus guest --tap`
# processes in two network namespaces, iperf3 -P P for 3 s from the
# first guest to the second, and for every thread of the three
# processes its sleeps (voluntary switches), preemptions (involuntary:
# yields of spinning workers, preemption by other jobs) and CPU time
# (utime + stime) over the run, per MiB / KiB received.  Needs root.
#   bench/net-threads.sh MTU P QUEUES [more vmbus guest options]
#   bench/net-threads.sh 1500 1 1 --tap-read worker
#   NET_THREADS_HOST_ARGS="--nic-workers per-channel" bench/net-threads.sh ...
#     (more vmbus host options)
# Rows are "host", "g1(send)", "g2(recv)" with the thread id; threads
# that did next to nothing are left out; the last line sums them all.
set -u
cd "$(dirname "$0")/.."
VMBUS=${OVB_VMBUS:-${BUILD:-build}/vmbus}
[ $# -ge 3 ] || { sed -n '3,16p' "$0"; exit 2; }
HOST_ARGS=${NET_THREADS_HOST_ARGS:-}
mtu=$1 P=$2 q=$3
shift 3
d=$(mktemp -d) na=ovbta$$ nb=ovbtb$$ pids=()
. bench/net-guests.sh
trap 'guests_stop; rm -rf "$d"' EXIT
guests_start "$VMBUS" 10.95.0 "$mtu" "$q" 0 "$HOST_ARGS" "$@" || exit 1
ns_reaches $na 10.95.0.2 || { cat "$d"/*.log; exit 1; }
ip netns exec $nb iperf3 -s -1 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
snap() { # pid tid sleeps preemptions ticks, per thread
	local p t
	for p in $hp $g1 $g2; do
		for t in /proc/$p/task/*; do
			echo "$p ${t##*/} $(awk '/^voluntary_ctxt/ { v = $2 }
				/^nonvoluntary_ctxt/ { n = $2 } END { print v, n }' \
				"$t/status") $(awk '{ print $14 + $15 }' "$t/stat")"
		done
	done
}
snap >"$d/s0"
ip netns exec $na iperf3 -c 10.95.0.2 -P "$P" -t 3 -J >"$d/ip.json" 2>/dev/null
snap >"$d/s1"
read -r bytes gbps < <(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(e["bytes"], round(e["bits_per_second"] / 1e9, 2))' "$d/ip.json")
echo "MTU $mtu -P $P, $q queue(s), host options [$HOST_ARGS], guest options [$*]: $gbps Gbit/s"
join <(awk '{ print $2, $1, $3, $4, $5 }' "$d/s0" | sort) \
	<(awk '{ print $2, $3, $4, $5 }' "$d/s1" | sort) |
	awk -v B="$bytes" -v H=$hp -v G1=$g1 -v T="$(getconf CLK_TCK)" '
	{ who = $2 == H ? "host" : $2 == G1 ? "g1(send)" : "g2(recv)"
	  mib = B / 1048576; v = ($6 - $3) / mib; n = ($7 - $4) / mib
	  c = ($8 - $5) * 1e9 / T / (B / 1024)
	  if (v + n > 0.05 || c > 5)
		printf "  %-9s %-8s sleeps/MiB %6.2f  preemptions/MiB %6.2f  CPU ns/KiB %5.0f\n", who, $1, v, n, c
	  tv += v; tn += n; tc += c }
	END { printf "  all threads: sleeps/MiB %.1f  preemptions/MiB %.1f  CPU ns/KiB %.0f\n", tv, tn, tc }'
