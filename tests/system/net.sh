#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The synthetic NIC end to end: a host with a switch (MTU 9000) and an
# uplink TAP, two guests whose TAPs live in their own network namespaces.
# Ping both ways (8972-byte payloads too), a 128 MiB TCP transfer and a
# 64 MiB one back whose SHA-256 match (guest A's TAP readers reap their
# channels, guest B's channel workers read its TAP), iperf3 for a few seconds, the
# host reaching a guest over the uplink, link down/up from `vmbus nic`,
# guest B's TAP down and up, B ended by SIGTERM and restarted,
# and a guest killed mid-transfer
# leaving the switch and the other guest working, and a guest ending by
# itself when its host stops.  The host runs the NICs' channels on shared
# workers (vmbus host's default, --nic-workers shared: queue N of every
# guest on one thread; the host below is given no --nic-workers, so the
# thread check says what the default is), so every transfer, the
# restarts and the kill go through them.  Needs root and
# /dev/net/tun; cleans up every namespace, TAP and process on exit.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
if [ "$(id -u)" != 0 ]; then echo "SKIP: net.sh needs root"; exit 77; fi
if [ ! -c /dev/net/tun ]; then echo "SKIP: no /dev/net/tun"; exit 77; fi
for t in ping iperf3 python3 ip; do
	command -v $t >/dev/null || { echo "net.sh: $t missing (scripts/run deps)"; exit 1; }
done

dir=$(mktemp -d)
sock=$dir/host.sock
tag=$$
nsa=ovbA$tag nsb=ovbB$tag up=ovbup$tag
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	ip netns del "$nsa"2 2>/dev/null || true
	ip link del "$up" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

"$VMBUS" host --socket "$sock" --echo 0 --nic sw0,mtu=9000 --uplink "$up" \
	2>"$dir/host.log" &
host=$!; pids+=($host)
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done

guest() { # name netns addr [options]
	"$VMBUS" guest --socket "$sock" --name "$1" --tap eth0 --netns "$2" \
		--addr "$3" --queues 2 "${@:4}" >"$dir/$1.log" 2>&1 &
	pids+=($!)
	echo $! >"$dir/$1.pid"
}
# A has TAP reader threads (--tap-spin asks for them), which reap their
# channels and spin before they sleep; B, as by default, has none: its
# channel workers read their TAP queues themselves (one thread per
# queue): every transfer below crosses both paths.  C, killed
# mid-transfer below, has TAP readers that leave reaping to its workers.
guest ga "$nsa" 10.99.0.1/24 --tap-spin 30
guest gb "$nsb" 10.99.0.2/24
for g in ga gb; do
	for _ in $(seq 200); do grep -q "running" "$dir/$g.log" && break; sleep 0.05; done
	grep -q "mtu 9000" "$dir/$g.log" || { cat "$dir/$g.log"; exit 1; }
done
grep -h "^nic:" "$dir/ga.log" "$dir/gb.log"
# Two queues per guest: two shared host threads, each serving both guests
# (the default of vmbus host: no --nic-workers above).
for q in sw0-q0 sw0-q1; do
	grep -qx "$q" /proc/$host/task/*/comm ||
		{ echo "net.sh: no host thread $q"; exit 1; }
done
# TAP reader threads: two in A (one per queue), none in B (the default).
readers() { grep -c "^tap-reader-" /proc/"$(cat "$dir/$1.pid")"/task/*/comm |
	awk -F: '{ n += $NF } END { print n + 0 }'; }
[ "$(readers ga)" = 2 ] && [ "$(readers gb)" = 0 ] ||
	{ echo "net.sh: TAP readers A $(readers ga) (want 2), B $(readers gb) (want 0)"; exit 1; }
# --tap-spin and --tap-reap belong to TAP readers: asked for beside
# --tap-read worker, the guest says so and exits.
if "$VMBUS" guest --socket "$sock" --name gx --tap ovbx0 --tap-read worker \
	--tap-spin 5 >"$dir/gx.log" 2>&1; then
	echo "net.sh: --tap-read worker --tap-spin 5 was taken"; exit 1
fi
grep -q -- "--tap-spin applies to TAP reader threads" "$dir/gx.log" ||
	{ cat "$dir/gx.log"; exit 1; }
echo "net: TAP readers where asked for (A 2, B 0), --tap-spin refused beside --tap-read worker"

ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null
ip netns exec "$nsb" ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null
ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 -s 8972 -M do 10.99.0.2 >/dev/null
ip netns exec "$nsb" ping -c 3 -i 0.2 -W 2 -s 8972 -M do 10.99.0.1 >/dev/null
echo "net: ping both ways, 56 and 8972 bytes (MTU 9000, DF set)"

ip addr add 10.99.0.254/24 dev "$up"
ip link set "$up" up
ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null
echo "net: the host reaches guest A over uplink $up"

# TCP transfers, hashed at both ends.
. "$(dirname "$0")/lib/xfer.sh"
xfer "$nsa" "$nsb" 10.99.0.2 128 || exit 1
echo "net: 128 MiB TCP transfer A->B, SHA-256 matches"
xfer "$nsb" "$nsa" 10.99.0.1 64 || exit 1
echo "net: 64 MiB TCP transfer B->A, SHA-256 matches"
# The large frames reached the receiver coalesced (RSC), the path whose
# fragments the guest writes to its TAP in place, not cut into segments.
co=$("$VMBUS" nic stat --socket "$sock" | sed -n 's/.* coalesced \([0-9]*\) .*/\1/p')
[ "${co:-0}" -gt 0 ] || { echo "no coalesced frames: $("$VMBUS" nic stat --socket "$sock")"; exit 1; }
echo "net: $co coalesced frames carried it"

ip netns exec "$nsb" iperf3 -s -1 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
timeout 20 ip netns exec "$nsa" iperf3 -c 10.99.0.2 -t 2 -J >"$dir/iperf.json"
python3 - "$dir/iperf.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bps = d["end"]["sum_received"]["bits_per_second"]
assert bps > 1e7, bps
print(f"net: iperf3 TCP A->B {bps/1e9:.2f} Gbit/s")
PY

"$VMBUS" nic link down --socket "$sock" >/dev/null
for _ in $(seq 50); do ip netns exec "$nsa" ip link show eth0 | grep -q NO-CARRIER && break; sleep 0.05; done
ip netns exec "$nsa" ip link show eth0 | grep -q NO-CARRIER
if ip netns exec "$nsa" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; then
	echo "ping went through a downed link"; exit 1
fi
"$VMBUS" nic link up --socket "$sock" >/dev/null
for _ in $(seq 50); do ip netns exec "$nsa" ip link show eth0 | grep -q LOWER_UP && break; sleep 0.05; done
ip netns exec "$nsa" ping -c 2 -i 0.2 -W 2 10.99.0.2 >/dev/null
ip netns exec "$nsb" ip link show eth0 | grep -q LOWER_UP
echo "net: link down (NO-CARRIER, no traffic) and up again"

# B's TAP taken down and up inside the guest: its channel workers read
# the TAP, which sends nothing while down and carries on after.
ip netns exec "$nsb" ip link set eth0 down
if ip netns exec "$nsa" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; then
	echo "ping reached a TAP that was down"; exit 1
fi
ip netns exec "$nsb" ip link set eth0 up
ip netns exec "$nsb" ip addr replace 10.99.0.2/24 dev eth0
for _ in $(seq 50); do
	ip netns exec "$nsb" ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 && break
	sleep 0.1
done
ip netns exec "$nsb" ping -c 2 -i 0.2 -W 2 10.99.0.1 >/dev/null
echo "net: guest B's TAP down (no traffic) and up again"

# B restarted: SIGTERM ends it within seconds, a new B (same namespace,
# its workers reading the TAP again) carries a transfer.
gb=$(cat "$dir/gb.pid")
kill -TERM "$gb"
for _ in $(seq 100); do kill -0 "$gb" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$gb" 2>/dev/null; then echo "guest gb outlived SIGTERM by 5 s"; exit 1; fi
wait "$gb" || { echo "guest gb exited $?"; cat "$dir/gb.log"; exit 1; }
guest gb "$nsb" 10.99.0.2/24 --tap-read worker
for _ in $(seq 200); do grep -q "running" "$dir/gb.log" && break; sleep 0.05; done
# The new B has a new MAC: A forgets the old one, as a restarted VM's
# gratuitous ARP would make it.
ip netns exec "$nsa" ip neigh flush all
for _ in $(seq 50); do
	ip netns exec "$nsa" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && break
	sleep 0.1
done
xfer "$nsb" "$nsa" 10.99.0.1 16 || exit 1
echo "net: guest B ended on SIGTERM, restarted, 16 MiB B->A, SHA-256 matches"

# A guest killed mid-transfer: the switch and the other guest carry on.
guest gc "$nsa"2 10.99.0.3/24 --tap-reap worker
for _ in $(seq 200); do grep -q "running" "$dir/gc.log" && break; sleep 0.05; done
ip netns exec "$nsb" iperf3 -s -1 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
timeout 10 ip netns exec "$nsa"2 iperf3 -c 10.99.0.2 -t 5 >/dev/null 2>&1 &
client=$!; pids+=($client)
sleep 1
kill -KILL "$(cat "$dir/gc.pid")"
kill -TERM $client 2>/dev/null || true
sleep 0.5
ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null
ip netns del "$nsa"2 2>/dev/null || true
kill -0 $host
"$VMBUS" nic stat --socket "$sock"
echo "net: guest killed mid-transfer; host and the other guests still work"

# Orderly shutdown: guest A unloads, the host stops, nobody reports
# errors; guest B, left running, ends by itself when its host is gone.
kill -TERM "$(cat "$dir/ga.pid")"
wait "$(cat "$dir/ga.pid")" || { echo "guest ga exited $?"; cat "$dir/ga.log"; exit 1; }
grep -q "unloaded cleanly" "$dir/ga.log"
kill -INT $host
wait $host || { echo "host exited $?"; cat "$dir/host.log"; exit 1; }
gb=$(cat "$dir/gb.pid")
for _ in $(seq 100); do kill -0 "$gb" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$gb" 2>/dev/null; then echo "guest gb outlived its host by 5 s"; exit 1; fi
st=0; wait "$gb" || st=$?
[ $st = 1 ] && grep -q "the host went away" "$dir/gb.log" ||
	{ echo "guest gb exited $st"; cat "$dir/gb.log"; exit 1; }
if grep -l "Sanitizer" "$dir"/*.log; then exit 1; fi
echo "net: guest A unloaded, the host stopped cleanly, guest B ended with it"
