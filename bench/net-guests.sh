# SPDX-License-Identifier: MIT
# Sourced by the TCP benches that run our host and two guests in two
# network namespaces (net-ab.sh, net-prof.sh, net-threads.sh,
# net-peer.sh).  Uses the caller's d (its scratch folder), na and nb (the
# namespaces' names) and pids (the processes to end); guests_start sets
# hp, g1 and g2.

# guests_start VMBUS NET MTU QUEUES NICE HOST-ARGS [GUEST-ARGS...]: the
# two namespaces, a host on $d/h.sock (--nic sw0,mtu=MTU HOST-ARGS, log
# $d/host.log) and guests g1 in na and g2 in nb (TAP eth0, NET.1/24 and
# NET.2/24, QUEUES queues, GUEST-ARGS; logs $d/g1.log, $d/g2.log), all at
# nice NICE.  Returns once both guests say "running" (10 s at most each);
# false if the namespaces could not be made.
guests_start() {
	local vm=$1 net=$2 mtu=$3 q=$4 nice=$5 hargs=$6 sock=$d/h.sock i n
	shift 6
	ip netns add "$na" && ip netns add "$nb" || return 1
	rm -f "$sock" "$sock.ctl" # a killed host's: not this one's
	# shellcheck disable=SC2086
	nice -n "$nice" "$vm" host --socket "$sock" --echo 0 \
		--nic sw0,mtu="$mtu" $hargs >"$d/host.log" 2>&1 &
	hp=$!
	pids+=("$hp")
	for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done
	i=0
	for n in "$na" "$nb"; do
		i=$((i + 1))
		nice -n "$nice" "$vm" guest --socket "$sock" --name g$i \
			--tap eth0 --netns "$n" --addr "$net.$i/24" --queues "$q" \
			"$@" >"$d/g$i.log" 2>&1 &
		pids+=($!)
		eval g$i=$!
	done
	for i in 1 2; do
		for _ in $(seq 200); do grep -q running "$d/g$i.log" && break; sleep 0.05; done
	done
}

# guests_stop: SIGTERM to every process in pids, SIGKILL to what is left
# 0.3 s later, wait for them, delete the namespaces; pids is emptied.
guests_stop() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	pids=()
	ip netns del "$na" 2>/dev/null; ip netns del "$nb" 2>/dev/null
}

# ns_reaches NS ADDR: true once a ping from namespace NS gets an answer
# from ADDR; five tries of 2 s each (on a loaded machine the first ARP
# and echo can take longer than one).
ns_reaches() {
	local i
	for i in 1 2 3 4 5; do
		ip netns exec "$1" ping -c 1 -W 2 "$2" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
