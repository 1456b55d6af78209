#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two or more builds of vmbus alternated on one TCP row, for bisecting a
# cost or a stall: per run a fresh host (`vmbus host --nic sw0,mtu=MTU`)
# and two `vmbus guest --tap --queues Q` in two namespaces, iperf3 -P P
# for SECS seconds (0.1 s intervals), as bench/net-peer.sh runs its rows.
# Per run it prints, for the build:
#   Gbit/s          what iperf3 received
#   cpu ns/KiB      user + system time of host and guests per KiB received
#                   (the figure the load blurs least)
#   runq %          time their threads waited for a CPU, % of one CPU over
#                   the run (other jobs' load; a stall has low cpu and runq)
#   sleeps/MiB      voluntary context switches per MiB
#   retr            iperf3's retransmits
#   small/large     frames the switch delivered whole per large (coalesced
#                   or segmented) frame: mostly the receiver's ACKs
#   no_buffer, wait_timeouts  netvsp's drops and backpressure waits that
#                   ran out (vmbus nic stat)
#   stall           0.1 s intervals below a quarter of the run's median
#   stuck           `vmbus stat` samples (every 0.1 s) in which a channel's
#                   host->guest ring held data the guest had masked and not
#                   read since the sample before (a masked ring nobody
#                   reads: a lost wake-up on the guest's side)
# and at the end each build's median [min-max].  Needs root and iperf3.
#   bench/net-ab.sh MTU P QUEUES VMBUS...   (vmbus binaries or build dirs)
#   NET_AB_ROUNDS=n (default 3)  NET_AB_SECS=n (default 2)
#   NET_AB_GUEST_ARGS="..."  more vmbus guest options
#   NET_AB_NICE=n  run ours at this nice value (e.g. -10 on a machine that
#                  others load; say so with the numbers)
# Example: the build before a change against the tree, MTU 1500 -P 1:
#   bench/net-ab.sh 1500 1 1 /tmp/before/build build
set -u
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { sed -n '3,28p' "$0"; exit 2; }
mtu=$1 P=$2 q=$3
shift 3
R=${NET_AB_ROUNDS:-3} SECS=${NET_AB_SECS:-2} NICE=${NET_AB_NICE:-0}
bins=()
for b in "$@"; do
	[ -d "$b" ] && b=$b/vmbus
	[ -x "$b" ] || { echo "net-ab: $b is not a vmbus binary" >&2; exit 2; }
	bins+=("$(realpath "$b")")
done
d=$(mktemp -d /tmp/ovb-netab.XXXXXX) na=ovbaa$$ nb=ovbab$$ pids=()
. bench/net-guests.sh
trap 'guests_stop; rm -rf "$d"' EXIT
trap 'exit 130' INT TERM

# CPU ns (schedstat: on CPU, waiting for one) summed over PIDS' threads.
sched() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ c += $1; w += $2 } END { printf "%d %d\n", c, w }'
}
sleeps() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'
}

run() { # VMBUS ROUND -> one result line in $d/res
	local vm=$1 r=$2 sock=$d/h.sock hp g1 g2 c0 w0 c1 w1 t0 t1 v0 v1 sp k
	# shellcheck disable=SC2086
	guests_start "$vm" 10.94.0 "$mtu" "$q" "$NICE" "" \
		${NET_AB_GUEST_ARGS:-} || return 1
	if ns_reaches $na 10.94.0.2; then
		ip netns exec $nb iperf3 -s -1 >/dev/null 2>&1 &
		pids+=($!)
		sleep 0.3
		read -r c0 w0 < <(sched $hp $g1 $g2)
		v0=$(sleeps $hp $g1 $g2) t0=$(date +%s%N)
		rm -f "$d"/st.*
		(for k in $(seq -w $((SECS * 10))); do
			"$vm" stat --json --socket "$sock" >"$d/st.$k" 2>/dev/null
			sleep 0.1
		done) &
		sp=$!
		timeout $((SECS + 15)) ip netns exec $na iperf3 -c 10.94.0.2 \
			-P "$P" -t "$SECS" -i 0.1 -J >"$d/ip.json" 2>/dev/null
		kill "$sp" 2>/dev/null
		wait "$sp" 2>/dev/null
		read -r c1 w1 < <(sched $hp $g1 $g2)
		v1=$(sleeps $hp $g1 $g2) t1=$(date +%s%N)
		"$vm" nic stat --socket "$sock" >"$d/nic.txt" 2>&1
		python3 - "$d/ip.json" "$d/nic.txt" "$vm" "$r" $((c1 - c0)) \
			$((w1 - w0)) $((t1 - t0)) $((v1 - v0)) "$d" >>"$d/res" <<'PY' ||
import glob, json, re, statistics, sys
ip, nic, vm, r = sys.argv[1:5]
cpu, wait, wall, sl = map(int, sys.argv[5:9])
# Masked and unread: data in a host->guest ring, the guest's mask set,
# and no packet taken out since the last sample (its read index kept).
stuck, last = 0, {}
for f in sorted(glob.glob(sys.argv[9] + "/st.*")):
    try:
        doc = json.load(open(f))
    except ValueError:
        continue
    now = {}
    for part in doc.get("partitions", []):
        for c in part.get("channels", []):
            g = c.get("ring", {})
            k = (part.get("id"), c.get("relid"))
            now[k] = (g.get("out_used", 0), c.get("packets_out", 0),
                      g.get("peer_masked", False))
            if (g.get("peer_masked") and g.get("out_used", 0) > 0 and
                    last.get(k) == now[k]):
                stuck += 1
    last = now
e = json.load(open(ip))
got = e["end"]["sum_received"]["bytes"]
iv = [i["sum"]["bits_per_second"] / 1e9 for i in e["intervals"]]
med = statistics.median(iv) if iv else 0
st = dict(re.findall(r"(\w+) (\d+)", open(nic).read()))
big = int(st.get("coalesced", 0)) + int(st.get("segmented", 0))
small = int(st.get("to_guest", 0)) - big
print("\t".join(str(x) for x in (
    vm, r, "%.2f" % (e["end"]["sum_received"]["bits_per_second"] / 1e9),
    "%.0f" % (cpu / (got / 1024)) if got else "-",
    "%.0f" % (100.0 * wait / wall),
    "%.1f" % (sl / (got / 1048576)) if got else "-",
    e["end"]["sum_sent"].get("retransmits", "-"),
    "%.2f" % (small / big) if big else "-",
    st.get("no_buffer", "-"), st.get("wait_timeouts", "-"),
    sum(1 for v in iv if v < med / 4), stuck)))
PY
		echo "net-ab: $vm round $r: no result" >&2
	else
		echo "net-ab: $vm round $r: guests did not come up" >&2
		cat "$d"/g*.log >&2
	fi
	guests_stop
	return 0
}

echo "MTU $mtu, iperf3 -P $P for $SECS s, $q queue(s) per guest, $R rounds, nice $NICE, load $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$d/res"
for r in $(seq "$R"); do
	for b in "${bins[@]}"; do
		run "$b" "$r"
		tail -n 1 "$d/res" | awk -F'\t' -v b="$b" '$1 == b {
			printf "%-40s r%s %6s Gbit/s  cpu %5s ns/KiB  runq %3s%%  sleeps/MiB %5s  retr %4s  small/large %5s  no_buffer %s  wait_timeouts %s  stall %s  stuck %s\n",
				substr($1, length($1) - 39), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
	done
done
echo "== median [min-max] per build"
python3 - "$d/res" "${bins[@]}" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def col(b, i):
    return [float(r[i]) for r in rows if r[0] == b and r[i] not in ("-", "")]
for b in sys.argv[2:]:
    out = []
    for name, i in (("Gbit/s", 2), ("cpu ns/KiB", 3), ("sleeps/MiB", 5),
                    ("retr", 6), ("small/large", 7), ("wait_timeouts", 9),
                    ("stall", 10), ("stuck", 11)):
        v = col(b, i)
        if v:
            out.append("%s %g [%g-%g]" % (name, round(statistics.median(v), 2),
                                           min(v), max(v)))
    print("%s: %s" % (b, ", ".join(out)))
PY
