#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where our TCP path spends its CPU against bench/tapring (our design's
# floor: three processes, two rings, one host copy), process by process.
# Per round, alternated: a host (`vmbus host --nic sw0,mtu=MTU`) and two
# `vmbus guest --tap --queues Q` in two namespaces, then bench/tapring on
# two TAPs with the same MTU, gso_max_size and queues; iperf3 -P P for
# 3 s from the first to the second, `perf record -F 2000` (cpu-clock) on
# the three processes meanwhile.  Each sample is put in a category by
# its symbol and counted as 0.5 ms, divided by the KiB received:
#   copy(user)    memmove/memcpy (the host's copy into receive slots)
#   copy(TAP)     _copy_to_iter/_copy_from_iter (TAP read, TAP write)
#   switch/yield  __schedule, finish_task_switch, sched_yield
#   spin          our spin loops (chan_spin, source_spin, ...)
#   wake-ups      _raw_spin_unlock* (waking a thread: eventfd, TAP, iperf3)
#   softirq       handle_softirqs (the stacks' work, charged to whoever ran)
#   own code      the rest of vmbus / tapring itself
#   kernel other, libc/vdso other
# At the end, per row, process and category the median [range] of the
# rounds for ours and for tapring.  Needs root, perf and iperf3; run
# `make benches` first.  perf here has no PMU (a VM): samples are
# cpu-clock, so a category is time on CPU, not cycles.
#   bench/net-prof.sh MTU P QUEUES [more vmbus guest options]
#   bench/net-prof.sh 1500 1 1 --tap-read worker
#   NET_PROF_ROUNDS=n (default 3)  NET_PROF_HOST_ARGS="..." (vmbus host)
#   NET_PROF_NICE=n  run both at this nice value (say so with the numbers)
#   NET_PROF_SYMS=n  also the n symbols (k: kernel, u: user) per process
#                    whose medians differ most between ours and tapring
#   NET_PROF_B=VMBUS another vmbus binary in tapring's place (an A/B of two
#                    builds, alternated; its column is still "tapring")
set -u
cd "$(dirname "$0")/.."
VMBUS=${OVB_VMBUS:-${BUILD:-build}/vmbus}
TAPRING=${BUILD:-build}/bench/tapring
[ $# -ge 3 ] || { sed -n '3,31p' "$0"; exit 2; }
mtu=$1 P=$2 q=$3
shift 3
R=${NET_PROF_ROUNDS:-3} NICE=${NET_PROF_NICE:-0}
HOST_ARGS=${NET_PROF_HOST_ARGS:-}
for x in "$VMBUS" "$TAPRING"; do
	[ -x "$x" ] || { echo "net-prof: $x missing" >&2; exit 2; }
done
d=$(mktemp -d /tmp/ovb-netprof.XXXXXX) na=ovbfa$$ nb=ovbfb$$ pids=()
. bench/net-guests.sh
trap 'guests_stop; rm -rf "$d"' EXIT
trap 'exit 130' INT TERM

# iperf3 from $na to 10.95.0.2 with perf on pids $1 (host) $2 (sender)
# $3 (receiver); prints "TAG process category ns/KiB" lines.
measure() {
	local tag=$1 h=$2 s=$3 r=$4 bytes
	ns_reaches $na 10.95.0.2 || {
		echo "net-prof: $tag: no ping" >&2; return 1; }
	ip netns exec $nb iperf3 -s -1 >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.3
	perf record -q -F 2000 -o "$d/perf.data" -p "$h,$s,$r" -- sleep 3 \
		>/dev/null 2>&1 &
	local pp=$!
	ip netns exec $na iperf3 -c 10.95.0.2 -P "$P" -t 3 -J >"$d/ip.json" 2>/dev/null
	wait $pp
	bytes=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"])' "$d/ip.json" 2>/dev/null) || {
		echo "net-prof: $tag: iperf3 failed" >&2; return 1; }
	echo "$tag gbit/s $(awk -v b="$bytes" 'BEGIN { printf "%.2f", b * 8 / 3e9 }')" >&2
	perf script -i "$d/perf.data" -F pid,ip,sym,dso 2>/dev/null |
	awk -v H="$h" -v S="$s" -v R="$r" -v B="$bytes" -v T="$tag" '
	{ w = $1 == H ? "host" : $1 == S ? "send" : $1 == R ? "recv" : ""
	  if (w == "") next
	  sym = $3; dso = $NF
	  if (sym ~ /_raw_spin_unlock/) c = "wake-ups"
	  else if (sym ~ /memmove|memcpy/) c = "copy(user)"
	  else if (sym ~ /_copy_to_iter|_copy_from_iter/) c = "copy(TAP)"
	  else if (sym ~ /finish_task_switch|__schedule|^schedule$|yield/) c = "switch/yield"
	  else if (sym ~ /spin/) c = "spin"
	  else if (sym ~ /handle_softirqs/) c = "softirq"
	  else if (dso ~ /vmbus|tapring/) c = "own-code"
	  else if (dso ~ /kallsyms/) c = "kernel-other"
	  else c = "libc/vdso-other"
	  n[w " " c]++ }
	END { f = 500000 / (B / 1024)
	      for (k in n) printf "%s %s %.0f\n", T, k, n[k] * f }'
	[ -z "${NET_PROF_SYMS:-}" ] ||
	perf script -i "$d/perf.data" -F pid,ip,sym,dso 2>/dev/null |
	awk -v H="$h" -v S="$s" -v R="$r" -v B="$bytes" -v T="$tag" '
	{ w = $1 == H ? "host" : $1 == S ? "send" : $1 == R ? "recv" : ""
	  if (w == "") next
	  k = ($NF ~ /kallsyms/ ? "k:" : "u:") $3
	  n[w " " k]++ }
	END { f = 500000 / (B / 1024)
	      for (k in n) printf "%s %s %.1f\n", T, k, n[k] * f }' >>"$d/syms"
}

ours() {
	local hp g1 g2
	guests_start "$VMBUS" 10.95.0 "$mtu" "$q" "$NICE" "$HOST_ARGS" "$@" ||
		return 1
	measure "ours $mtu P$P" $hp $g1 $g2
	guests_stop
}

tapring() {
	local fp n a b i ps
	ip netns add $na && ip netns add $nb || return 1
	nice -n "$NICE" "$TAPRING" -q "$q" trg0@$na trg1@$nb >"$d/tr.log" 2>&1 &
	fp=$!; pids+=($fp)
	for _ in $(seq 100); do grep -qs ready "$d/tr.log" && break; sleep 0.05; done
	for i in 1 2; do
		if [ $i = 1 ]; then a=$na b=trg0; else a=$nb b=trg1; fi
		ip -n $a link set $b mtu "$mtu" &&
		ip -n $a link set $b gso_max_size 62780 &&
		ip -n $a addr add 10.95.0.$i/24 dev $b &&
		ip -n $a link set $b up && ip -n $a link set lo up || return 1
	done
	# bench/tapring forks guest b, the host, then guest a.
	ps=($(pgrep -P $fp | sort -n))
	measure "tapring $mtu P$P" "${ps[1]}" "${ps[2]}" "${ps[0]}"
	guests_stop
}

# NET_PROF_B: a second build of ours in tapring's column.
if [ -n "${NET_PROF_B:-}" ]; then
	[ -x "$NET_PROF_B" ] || { echo "net-prof: $NET_PROF_B missing" >&2; exit 2; }
	tapring() {
		local hp g1 g2
		guests_start "$NET_PROF_B" 10.95.0 "$mtu" "$q" "$NICE" \
			"$HOST_ARGS" "$@" || return 1
		measure "tapring $mtu P$P" $hp $g1 $g2
		guests_stop
	}
fi

for r in $(seq "$R"); do
	echo "round $r, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	ours "$@" >>"$d/rows"
	tapring "$@" >>"$d/rows"
done
python3 - "$d/rows" <<'EOF'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    who, mtu, p, proc, cat, v = line.split()
    d[(mtu + ' ' + p, proc, cat, who)].append(float(v))
keys = sorted({k[:3] for k in d})
tot = collections.defaultdict(lambda: [0.0, 0.0])
def med(v):
    return '%.0f [%.0f-%.0f]' % (statistics.median(v), min(v), max(v))
print('CPU ns/KiB received, median [range] of the rounds')
print('%-10s %-5s %-16s %-18s %-18s' % ('row', 'proc', 'category', 'ours', 'tapring'))
for k in keys:
    o = d.get(k + ('ours',), [0.0])
    t = d.get(k + ('tapring',), [0.0])
    tot[k[:2]][0] += statistics.median(o)
    tot[k[:2]][1] += statistics.median(t)
    print('%-10s %-5s %-16s %-18s %-18s' % (k[0], k[1], k[2], med(o), med(t)))
for k, v in sorted(tot.items()):
    print('%-10s %-5s %-16s %-18.0f %-18.0f' % (k[0], k[1], 'sum', v[0], v[1]))
EOF
[ -z "${NET_PROF_SYMS:-}" ] || python3 - "$d/syms" "$R" "$NET_PROF_SYMS" <<'EOF'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    who, mtu, p, proc, sym, v = line.split()
    d[(proc, sym, who)].append(float(v))
nr = int(sys.argv[2])
def med(k, w):
    v = d.get(k + (w,), [])
    return statistics.median(v + [0.0] * (nr - len(v)))  # no sample: 0
rows = sorted(((med(k, 'ours') - med(k, 'tapring'), k) for k in {k[:2] for k in d}),
              key=lambda x: -abs(x[0]))[:int(sys.argv[3])]
print('symbols, ns/KiB received, medians of the rounds: ours tapring diff')
for diff, k in rows:
    print('%-5s %-44s %7.1f %7.1f %+7.1f' % (k[0], k[1][:44], med(k, 'ours'),
                                             med(k, 'tapring'), diff))
EOF
