#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Guests on two hosts joined by VXLAN: two `vmbus host` processes standing
# in for two machines, each in its own network namespace, joined by a veth
# pair (the "physical" network, MTU 1500).  In each host namespace the
# switch's uplink TAP and a VXLAN device (VNI 42, UDP 4789 over the veth)
# share a Linux bridge.  One guest per host: they ping each other and move
# 32 MiB over TCP whose SHA-256 matches at both ends.  MTU: VXLAN costs 50
# bytes, so the switches run at 1450 (the guests get MTU 1450 from them);
# a DF ping of the largest size (1422 bytes of payload) crosses the tunnel
# and one byte more fails at once with "message too long", never a silent
# drop.  The same commands are in docs/net.md.  Needs root, /dev/net/tun
# and the vxlan and bridge drivers; cleans up every namespace and process.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
if [ "$(id -u)" != 0 ]; then echo "skip: vxlan.sh needs root"; exit 77; fi
if [ ! -c /dev/net/tun ]; then echo "skip: no /dev/net/tun"; exit 77; fi
for t in ping python3 ip; do
	command -v $t >/dev/null || { echo "vxlan.sh: $t missing (scripts/run deps)"; exit 1; }
done

dir=$(mktemp -d /tmp/ovb-vxlan.XXXXXX)
tag=$$
ha=ovbhA$tag hb=ovbhB$tag ga=ovbgA$tag gb=ovbgB$tag
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$rc" != 0 ]; then
		for f in "$dir"/*.log; do echo "== $f"; tail -n 15 "$f"; done
	fi
	for n in "$ga" "$gb" "$ha" "$hb"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

# The two "machines" and the wire between them.
ip netns add "$ha"
ip netns add "$hb"
ip link add vethA netns "$ha" type veth peer name vethB netns "$hb"
ip -n "$ha" addr add 192.168.77.1/24 dev vethA
ip -n "$hb" addr add 192.168.77.2/24 dev vethB
for n in "$ha" "$hb"; do ip -n "$n" link set lo up; done
ip -n "$ha" link set vethA up
ip -n "$hb" link set vethB up

# host NS NAME LOCAL REMOTE DEV MACID: a vmbus host whose uplink TAP is
# bridged with a VXLAN device towards the other machine; each host gives
# its guests MACs of its own (macid), as they share one layer-2 segment.
host() {
	local ns=$1 name=$2 local_ip=$3 remote_ip=$4 dev=$5 macid=$6
	ip netns exec "$ns" "$VMBUS" host --socket "$dir/$name.sock" --echo 0 \
		--nic sw0,mtu=1450,macid="$macid" --uplink up0 \
		2>"$dir/host-$name.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$dir/$name.sock.ctl" ] && break; sleep 0.05; done
	ip -n "$ns" link add vx0 type vxlan id 42 local "$local_ip" \
		remote "$remote_ip" dstport 4789 dev "$dev"
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set vx0 master br0
	ip -n "$ns" link set up0 master br0
	for l in vx0 br0; do ip -n "$ns" link set "$l" up; done
}
host "$ha" a 192.168.77.1 192.168.77.2 vethA 1
host "$hb" b 192.168.77.2 192.168.77.1 vethB 2
[ "$(ip -n "$ha" -o link show vx0 | sed 's/.* mtu \([0-9]*\) .*/\1/')" = 1450 ] ||
	{ echo "vxlan.sh: vx0 is not at 1500 - 50"; exit 1; }

guest() { # NAME SOCKET NETNS ADDR
	"$VMBUS" guest --socket "$dir/$2.sock" --name "$1" --tap eth0 \
		--netns "$3" --addr "$4" >"$dir/guest-$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 200); do
		grep -qs "running" "$dir/guest-$1.log" && return; sleep 0.05
	done
	echo "vxlan.sh: guest $1 never came up"; exit 1
}
guest ga a "$ga" 10.50.0.1/24
guest gb b "$gb" 10.50.0.2/24
grep -q "mtu 1450" "$dir/guest-ga.log" || { echo "guest MTU is not 1450"; exit 1; }

ip netns exec "$ga" ping -c 3 -i 0.2 -W 2 10.50.0.2 >/dev/null
ip netns exec "$gb" ping -c 3 -i 0.2 -W 2 10.50.0.1 >/dev/null
echo "vxlan: guests on two hosts ping each other through VNI 42"

# The largest DF ping crosses the tunnel; one byte more fails visibly.
ip netns exec "$ga" ping -c 2 -i 0.2 -W 2 -M do -s 1422 10.50.0.2 >/dev/null
ip netns exec "$gb" ping -c 2 -i 0.2 -W 2 -M do -s 1422 10.50.0.1 >/dev/null
start=$(date +%s)
if timeout 10 ip netns exec "$ga" ping -c 1 -W 2 -M do -s 1423 10.50.0.2 \
	>"$dir/ping-big.log" 2>&1; then
	echo "vxlan.sh: a DF ping over the MTU went through"; exit 1
fi
grep -qi "message too long" "$dir/ping-big.log" ||
	{ cat "$dir/ping-big.log"; echo "vxlan.sh: over-MTU ping failed silently"; exit 1; }
[ $(( $(date +%s) - start )) -lt 5 ] || { echo "vxlan.sh: over-MTU ping hung"; exit 1; }
echo "vxlan: DF ping of 1422 bytes (1450 MTU) crosses; 1423 fails at once: message too long"

# 32 MiB over TCP, hashed at both ends.
. "$(dirname "$0")/lib/xfer.sh"
xfer "$ga" "$gb" 10.50.0.2 32 || { echo "vxlan.sh: the transfer failed"; exit 1; }
echo "vxlan: 32 MiB TCP across the tunnel, SHA-256 matches ($(cut -c1-20 "$dir/xfer5999.recv")...)"
