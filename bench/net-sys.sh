#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel-side work of our TCP path against bench/tapring, counted per
# MiB received: what each process asks of the kernel, and what frames
# its TAPs see.  Per round, alternated: a host (`vmbus host --nic
# sw0,mtu=MTU`) and two `vmbus guest --tap --queues Q` in two namespaces,
# then bench/tapring on two TAPs with the same MTU, gso_max_size and
# queues; iperf3 -P P for 7 s: over 2.5 s the three processes' user and
# system time and minor faults from /proc (no tracing), then over 2 s:
#   - the three processes' syscalls (perf record on syscall tracepoints),
#     reads and writes split by fd kind (TAP, eventfd), writev segments,
#     sizes read from the sending TAP, poll/futex/yield calls, the
#     wake-ups they issue (sched:sched_wakeup) by target;
#   - system-wide, the frames on the two TAPs (net:net_dev_start_xmit on
#     the sender's TAP: what guest a reads; net:netif_receive_skb_entry /
#     netif_rx_entry / napi_gro_receive_entry on the receiver's: what
#     guest b wrote) with their gso_size and ip_summed;
#   - task switches of every thread (/proc/PID/task/*/status);
#   - the bytes the receiving TAP took in the window (its rx_bytes).
# Prints per round and side "SIDE key value-per-MiB" lines, then per key
# the median of the rounds for ours and tapring side by side.  Also
# prints `ethtool -k` differences of the two sides' TAPs.  Needs root,
# perf, iperf3 and `make benches`.
#   bench/net-sys.sh MTU P QUEUES [more vmbus guest options]
#   NET_SYS_ROUNDS=n (default 2)  NET_SYS_HOST_ARGS="..." (vmbus host)
set -u
cd "$(dirname "$0")/.." || exit 2
VMBUS=${OVB_VMBUS:-${BUILD:-build}/vmbus}
TAPRING=${BUILD:-build}/bench/tapring
[ $# -ge 3 ] || { sed -n '3,25p' "$0"; exit 2; }
mtu=$1 P=$2 q=$3
shift 3
R=${NET_SYS_ROUNDS:-2}
HOST_ARGS=${NET_SYS_HOST_ARGS:-}
for x in "$VMBUS" "$TAPRING"; do
	[ -x "$x" ] || { echo "net-sys: $x missing" >&2; exit 2; }
done
d=$(mktemp -d /tmp/ovb-netsys.XXXXXX) na=ovbsa$$ nb=ovbsb$$ pids=()
. bench/net-guests.sh
trap 'guests_stop; rm -rf "$d"' EXIT
trap 'exit 130' INT TERM

cputimes() { # PIDS...: "pid utime stime minflt" (ticks) per process
	local p
	for p in "$@"; do
		awk -v p="$p" '{ print p, $14, $15, $10 }' /proc/"$p"/stat
	done
}

switches() { # PIDS...: "pid vol invol" per process, all its threads
	local p
	for p in "$@"; do
		cat /proc/"$p"/task/*/status 2>/dev/null | awk -v p="$p" '
		/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 }
		END { print p, v, n }'
	done
}

# measure TAG TAPA TAPB HOST SENDER RECEIVER: the counts above.
measure() {
	local tag=$1 ta=$2 tb=$3 h=$4 s=$5 r=$6 b0 b1 pp pa p
	ns_reaches $na 10.96.0.2 || { echo "net-sys: $tag: no ping" >&2; return 1; }
	ip netns exec $nb iperf3 -s -1 >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.3
	ip netns exec $na iperf3 -c 10.96.0.2 -P "$P" -t 7 >/dev/null 2>&1 &
	local ip=$!
	sleep 1.5
	# CPU first, without perf (its tracing slows every syscall).
	cputimes $h $s $r >"$d/t0"
	b0=$(ip netns exec $nb cat /sys/class/net/"$tb"/statistics/rx_bytes)
	sleep 2.5
	b1=$(ip netns exec $nb cat /sys/class/net/"$tb"/statistics/rx_bytes)
	cputimes $h $s $r >"$d/t1"
	echo $((b1 - b0)) >"$d/tbytes"
	: >"$d/fds"
	for p in $h $s $r; do
		for f in /proc/"$p"/fd/*; do
			echo "$p ${f##*/} $(readlink "$f")"
		done >>"$d/fds"
	done
	ip netns exec $na ethtool -k "$ta" 2>/dev/null | sort >"$d/ethtool.$tag.a"
	ip netns exec $nb ethtool -k "$tb" 2>/dev/null | sort >"$d/ethtool.$tag.b"
	switches $h $s $r >"$d/sw0"
	b0=$(ip netns exec $nb cat /sys/class/net/"$tb"/statistics/rx_bytes)
	perf record -q -m 16M -o "$d/sys.data" -p "$h,$s,$r" \
		-e 'syscalls:sys_enter_read,syscalls:sys_exit_read' \
		-e 'syscalls:sys_enter_readv,syscalls:sys_exit_readv' \
		-e 'syscalls:sys_enter_write,syscalls:sys_enter_writev' \
		-e 'syscalls:sys_enter_poll,syscalls:sys_enter_ppoll' \
		-e 'syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait' \
		-e 'syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield' \
		-e 'syscalls:sys_enter_ioctl,syscalls:sys_enter_clock_nanosleep' \
		-e 'raw_syscalls:sys_enter,sched:sched_wakeup' \
		-- sleep 2 >/dev/null 2>&1 &
	pp=$!
	perf record -q -m 16M -a -o "$d/net.data" \
		-e 'net:net_dev_start_xmit,net:netif_receive_skb_entry' \
		-e 'net:netif_rx_entry,net:napi_gro_receive_entry' \
		-- sleep 2 >/dev/null 2>&1 &
	pa=$!
	wait $pp $pa
	b1=$(ip netns exec $nb cat /sys/class/net/"$tb"/statistics/rx_bytes)
	switches $h $s $r >"$d/sw1"
	wait $ip
	for p in sys net; do
		perf report -i "$d/$p.data" --stats 2>/dev/null |
			awk -v t="$tag $p" '/LOST/ && $NF > 0 { print "net-sys: " t ": " $0 }' >&2
	done
	perf script -i "$d/sys.data" -F pid,tid,event,trace 2>/dev/null >"$d/sys.txt"
	perf script -i "$d/net.data" -F event,trace 2>/dev/null >"$d/net.txt"
	python3 bench/net-sys.py "$tag" $((b1 - b0)) "$ta" "$tb" "$h" "$s" "$r" "$d"
}

ours() {
	local hp g1 g2
	guests_start "$VMBUS" 10.96.0 "$mtu" "$q" 0 "$HOST_ARGS" --tap ovbsys "$@" || return 1
	measure ours ovbsys ovbsys $hp $g1 $g2
	guests_stop
}

tapring() {
	local fp a b i ps
	ip netns add $na && ip netns add $nb || return 1
	"$TAPRING" -q "$q" trs0@$na trs1@$nb >"$d/tr.log" 2>&1 &
	fp=$!; pids+=("$fp")
	for _ in $(seq 100); do grep -qs ready "$d/tr.log" && break; sleep 0.05; done
	for i in 1 2; do
		if [ $i = 1 ]; then a=$na b=trs0; else a=$nb b=trs1; fi
		ip -n $a link set $b mtu "$mtu" &&
		ip -n $a link set $b gso_max_size 62780 &&
		ip -n $a addr add 10.96.0.$i/24 dev $b &&
		ip -n $a link set $b up && ip -n $a link set lo up || return 1
	done
	# bench/tapring forks guest b, the host, then guest a.
	mapfile -t ps < <(pgrep -P "$fp" | sort -n)
	measure tapring trs0 trs1 "${ps[1]}" "${ps[2]}" "${ps[0]}"
	guests_stop
}

for r in $(seq "$R"); do
	echo "round $r, load $(cut -d' ' -f1 /proc/loadavg)" >&2
	ours "$@" >>"$d/rows"
	tapring >>"$d/rows"
done
echo "ethtool -k, ours against tapring (sender's TAP, receiver's TAP):"
diff "$d/ethtool.ours.a" "$d/ethtool.tapring.a" | grep '^[<>]'
diff "$d/ethtool.ours.b" "$d/ethtool.tapring.b" | grep '^[<>]'
python3 - "$d/rows" <<'EOF'
import collections, statistics, sys
d = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    who, key, v = line.split()
    if key not in order:
        order.append(key)
    d[(key, who)].append(float(v))
def med(v):
    if not v:
        return '-'
    return '%.1f [%.1f-%.1f]' % (statistics.median(v), min(v), max(v))
print('per MiB received (and frame sizes), median [range] of the rounds')
print('%-34s %-24s %-24s' % ('key', 'ours', 'tapring'))
for k in order:
    print('%-34s %-24s %-24s' % (k, med(d.get((k, 'ours'), [])),
                                 med(d.get((k, 'tapring'), []))))
EOF
