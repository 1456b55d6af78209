#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CPU per byte of TCP with the host's NIC channels on a worker each
# against one shared thread per queue, and against bench/tapring (our
# design's floor), alternated per round and row.  Per run: a fresh host
# (`vmbus host --nic sw0,mtu=MTU --nic-workers per-channel|shared`) and
# two `vmbus guest --tap --queues Q` in two namespaces, or tapring on two
# TAPs with the same MTU, gso_max_size and queues; iperf3 -P P for 3 s;
# the three processes' utime + stime from /proc per KiB received (the
# figure the load blurs least), Gbit/s only as a direction.  Prints one
# line per run ("MODE MTU PP cpu NS/KIB gbit G load L") and, per row, the
# median [range] of each mode, its ratio to tapring's median and the
# shared / per-channel ratios of the rounds.  Needs root, iperf3 and
# `make benches`.
#   bench/net-workers.sh ROUNDS MTU:P:QUEUES...
#   bench/net-workers.sh 3 1500:1:1 9000:1:1 1500:4:2 9000:4:2
#   NET_WORKERS_GUEST_ARGS="..."  more vmbus guest options
set -u
cd "$(dirname "$0")/.."
VMBUS=${OVB_VMBUS:-${BUILD:-build}/vmbus}
TAPRING=${BUILD:-build}/bench/tapring
[ $# -ge 2 ] || { sed -n '3,17p' "$0"; exit 2; }
R=$1
shift
for x in "$VMBUS" "$TAPRING"; do
	[ -x "$x" ] || { echo "net-workers: $x missing" >&2; exit 2; }
done
d=$(mktemp -d /tmp/ovb-networkers.XXXXXX) na=ovbka$$ nb=ovbkb$$ pids=()
. bench/net-guests.sh
trap 'guests_stop; rm -rf "$d"' EXIT
trap 'exit 130' INT TERM

ticks() { # utime + stime of the processes, clock ticks
	local s=0 p
	for p in "$@"; do
		s=$((s + $(awk '{ print $14 + $15 }' /proc/"$p"/stat)))
	done
	echo "$s"
}

run() { # TAG P PIDS...: iperf3 from $na to $nb, one result line
	local tag=$1 P=$2 t0 t1 bytes
	shift 2
	ns_reaches $na 10.94.0.2 || { echo "net-workers: $tag: no ping" >&2; return 1; }
	ip netns exec $nb iperf3 -s -1 >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.3
	t0=$(ticks "$@")
	ip netns exec $na iperf3 -c 10.94.0.2 -P "$P" -t 3 -J >"$d/ip.json" 2>/dev/null
	t1=$(ticks "$@")
	bytes=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"])' "$d/ip.json" 2>/dev/null) ||
		{ echo "net-workers: $tag: iperf3 failed" >&2; return 1; }
	awk -v t="$tag" -v b="$bytes" -v c=$((t1 - t0)) -v T="$(getconf CLK_TCK)" \
		-v l="$(cut -d' ' -f1 /proc/loadavg)" \
		'BEGIN { printf "%s cpu %.0f gbit %.2f load %s\n", t, c * 1e9 / T / (b / 1024), b * 8 / 3e9, l }'
}

ours() { # MTU P Q WORKERS
	local hp g1 g2
	# shellcheck disable=SC2086 # NET_WORKERS_GUEST_ARGS: words
	guests_start "$VMBUS" 10.94.0 "$1" "$3" 0 "--nic-workers $4" \
		${NET_WORKERS_GUEST_ARGS:-} || return 1
	run "$4 $1 P$2" "$2" $hp $g1 $g2
	guests_stop
}

tapring() { # MTU P Q
	local fp a b i ps
	ip netns add $na && ip netns add $nb || return 1
	"$TAPRING" -q "$3" trk0@$na trk1@$nb >"$d/tr.log" 2>&1 &
	fp=$!; pids+=($fp)
	for _ in $(seq 100); do grep -qs ready "$d/tr.log" && break; sleep 0.05; done
	for i in 1 2; do
		if [ $i = 1 ]; then a=$na b=trk0; else a=$nb b=trk1; fi
		ip -n $a link set $b mtu "$1" &&
		ip -n $a link set $b gso_max_size 62780 &&
		ip -n $a addr add 10.94.0.$i/24 dev $b &&
		ip -n $a link set $b up && ip -n $a link set lo up || return 1
	done
	# bench/tapring forks guest b, the host, then guest a.
	ps=($(pgrep -P $fp))
	run "tapring $1 P$2" "$2" "${ps[@]}"
	guests_stop
}

for r in $(seq "$R"); do
	for row in "$@"; do
		IFS=: read -r mtu P q <<<"$row"
		ours "$mtu" "$P" "$q" per-channel
		ours "$mtu" "$P" "$q" shared
		tapring "$mtu" "$P" "$q"
	done
done | tee "$d/rows"
python3 - "$d/rows" <<'PY'
import collections, statistics as st, sys
cpu = collections.defaultdict(list)
pair = collections.defaultdict(list)
last = {}
for line in open(sys.argv[1]):
    w = line.split()
    row, mode, v = w[1] + ' ' + w[2], w[0], float(w[4])
    cpu[(row, mode)].append(v)
    if mode == 'per-channel':
        last[row] = v
    elif mode == 'shared' and row in last:
        pair[row].append(v / last.pop(row))
for row in sorted({k[0] for k in cpu}):
    t = cpu.get((row, 'tapring'))
    out = []
    for mode in ('per-channel', 'shared', 'tapring'):
        v = cpu.get((row, mode))
        if not v:
            continue
        s = '%s %.0f [%.0f-%.0f]' % (mode, st.median(v), min(v), max(v))
        if t and mode != 'tapring':
            s += ' x%.2f' % (st.median(v) / st.median(t))
        out.append(s)
    p = pair.get(row)
    if p:
        out.append('shared/per-channel %.2f [%.2f-%.2f]' % (st.median(p), min(p), max(p)))
    print('%s: %s' % (row, ', '.join(out)))
PY
