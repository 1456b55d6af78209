#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/tapring moves real data: two TAPs in two namespaces joined by it,
# in each of its modes (host copy with two queues, --no-copy, --two), a
# TCP transfer each way, both at once, whose SHA-256 match at both ends;
# the frames were counted where the mode says they go (the host's
# copies, or none); and SIGTERM ends it, exit 0, within 5 s.  Needs root and /dev/net/tun;
# cleans up every namespace and process on exit.
set -eu
TAPRING=${OVB_BUILD:-build}/bench/tapring
if [ "$(id -u)" != 0 ]; then echo "SKIP: tapring.sh needs root"; exit 77; fi
if [ ! -c /dev/net/tun ]; then echo "SKIP: no /dev/net/tun"; exit 77; fi
for t in python3 ip; do
	command -v $t >/dev/null || { echo "tapring.sh: $t missing (scripts/run deps)"; exit 1; }
done
[ -x "$TAPRING" ] || { echo "tapring.sh: $TAPRING missing (make all)"; exit 1; }

dir=$(mktemp -d)
tag=$$
nsa=ovbTa$tag nsb=ovbTb$tag
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait 2>/dev/null || true
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

. "$(dirname "$0")/lib/xfer.sh"
# Both ways at once: 8 MiB a->b (port 5998), 4 MiB b->a (5997).
both_ways() {
	xfer_begin "$nsa" "$nsb" 10.94.0.2 8 5998
	xfer_begin "$nsb" "$nsa" 10.94.0.1 4 5997
	xfer_end || exit 1
}

# run QUEUES [option]: the bench between fresh namespaces, data both ways.
run() {
	local q=$1 opt=${2:-} n i t0 ms
	ip netns add "$nsa"; ip netns add "$nsb"
	rm -f "$dir/out" # the last run's "ready" is not this one's
	"$TAPRING" -q "$q" $opt ta@"$nsa" tb@"$nsb" >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do grep -qs ready "$dir/out" && break; sleep 0.05; done
	grep -qs ready "$dir/out" || { cat "$dir/out"; echo "tapring $opt did not start"; exit 1; }
	i=1
	for n in "$nsa":ta "$nsb":tb; do
		ip -n "${n%:*}" link set "${n#*:}" gso_max_size 62780
		ip -n "${n%:*}" addr add 10.94.0.$i/24 dev "${n#*:}"
		ip -n "${n%:*}" link set "${n#*:}" up
		i=2
	done
	both_ways
	t0=$(date +%s%N)
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && { echo "tapring $opt still running 5 s after SIGTERM"; exit 1; }
	wait "$pid" || { cat "$dir/out"; echo "tapring $opt exit status $?"; exit 1; }
	ms=$((($(date +%s%N) - t0) / 1000000))
	pid=
	cat "$dir/out"
	# Each guest wrote frames to its TAP; the host copied them all, or
	# none without a copy.
	awk -v q="$q" -v copy="$([ -z "$opt" ] && echo 1 || echo 0)" '
		$3 == "a->b" { ab += $5 } $3 == "b->a" { ba += $5 }
		$1 == "host" { c += $5; h++ }
		END { if (!ab || !ba) { print "no frames counted one way"; exit 1 }
		      if (copy && (h != q || c < ab + ba)) { print "host copies " c " < frames " ab + ba; exit 1 }
		      if (!copy && c) { print "copies without a copy"; exit 1 } }' "$dir/out"
	echo "tapring -q $q ${opt:-(host copy)}: 8 MiB a->b and 4 MiB b->a at once, by SHA-256, ended in $ms ms"
	ip netns del "$nsa"; ip netns del "$nsb"
}

run 2
run 1 --no-copy
run 1 --two
