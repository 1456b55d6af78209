#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/net-peer.sh NET_JSON: the peers bench/net is compared with, run on
# the same machine right after it (bench/run.sh calls this), merged into the
# JSON bench/net wrote.
#
#  - DPDK virtio-user <-> vhost-user: two dpdk-testpmd processes, each on
#    one CPU (two lcores mapped onto it: testpmd wants a main lcore besides
#    the forwarding one; the main one only sleeps between stats prints).
#    guest->host = virtio-user txonly -> vhost rxonly, host->guest = vhost
#    txonly -> virtio-user rxonly; 64 and 1500-byte frames; without
#    hugepages (--no-huge -m 512) and with 2 MiB hugepages reserved for the
#    run and given back afterwards.  Packets/s is the receiver's Rx-pps
#    over its whole one-second stats periods.
#  - DPDK's netvsc PMD as a guest of our host: the same testpmd options
#    as the virtio-user rows (--no-huge -m 512, default burst, lcores
#    '0@1,1@1', stats every second, the same seconds), preloaded with
#    build/ovmb-dpdk-shim.so, against bench/net --serve (our switch, netvsp
#    and bench/net's endpoint port) pinned to CPU 0, where vhost-user runs
#    in the pair.  txonly and rxonly, 64 and 1500 bytes; ratios against the
#    virtio-user rows of the same path and size.  How each is counted is
#    described above netvsc_run below.
#  - The protocol floor (rows ovb-ring-floor): build/bench/ring's floor
#    rows, right after the DPDK pair: one in-band packet of N frames plus
#    one completion each over our VMBus ring between two processes, no NIC
#    work (N = 1, 8 as netvsc packs a send section, 64 as netvsp batches
#    towards a guest).  What the protocol allows on this machine; ratios
#    floor / DPDK and ours / floor.
#  - TCP over a kernel veth pair between two namespaces (iperf3), next to
#    TCP between two guests' TAPs through our switch (vmbus host --nic, two
#    vmbus guest --tap processes over the socket link), same MTU: 1500 and
#    9000, each with 1 and 4 streams (iperf3 -P); our guests have one
#    queue (channel, TAP queue) for -P 1 and two for -P 4, and each of
#    our rows starts its own host and guests.
#  - The TAP floor for the same TCP rows: two TAPs (same offloads, MTU,
#    gso_max_size and queues as our guests') in the two namespaces, joined
#    by build/bench/tapfwd, which reads each GSO frame with its virtio-net
#    header from one and writes it unchanged to the other: one TAP read
#    and one TAP write per frame, no bus, no switch, the best any design
#    whose guest NIC is a TAP served by a user process can do.  Rows
#    tapfwd-tcp and tapfwd-copy-tcp (the same with one memcpy per frame
#    in between: what one copy costs on this path).  Run right before
#    ours, per MTU and stream count; ratios ours/tapfwd and tapfwd/veth.
#  - Our design's floor for the same TCP rows: build/bench/tapring, the
#    same two TAPs joined as our guests and host join them -- three
#    processes (guest a, host, guest b), VMBus rings in memfd guest RAM,
#    one copy on the host from a's transmit buffer into b's receive slot,
#    one thread per queue in each, waiting as our stream channels wait --
#    without NVSP, RNDIS, the switch or slot chains.  Rows tapring-tcp,
#    tapring-nocopy-tcp (the host passes the buffer on, b writes from a's
#    memory) and tapring-two-tcp (no host: a's ring straight to b), run
#    after tapfwd's; ratios ours/tapring and tapring/tapfwd, and a table
#    of their own.
#    For tapfwd, tapring and ours the note also gives the CPU time (user + system)
#    the forwarding processes spent per KiB received ("cpu N ns/KiB",
#    cpu_ns_per_kib in the JSON): on a loaded machine the throughput is
#    the share of CPU a run got, the CPU per byte is the work; and the
#    context switches of all their threads per MiB received ("switches
#    N/MiB", switches_per_mib): sleeps, wake-ups and preemptions, the
#    hand-offs between threads; of them the sleeps (voluntary switches,
#    "sleeps N/MiB", sleeps_per_mib).
#
# Prints a table with ratios (ours / peer) and adds "peers" and "ratios"
# to NET_JSON (bench/net-peer-merge.py).  "Ours" are bench/net's rows with "link": "socket" (host
# and guests in two processes, like the testpmd pair); its "inproc" rows
# are listed but not compared.  Needs root for namespaces and hugepages; what cannot run is
# printed with the reason and skipped, nothing else.  Every process,
# namespace, socket and hugepage reservation is undone on exit.
#   NET_PEER_SECONDS=n  seconds per measurement (default 2)
#   NET_PEER_ONLY=tcp   only the TCP rows (no DPDK)
#   NET_PEER_P4_QUEUES=n  queues per guest for the -P 4 TCP rows (default 2)
#   NET_PEER_GUEST_ARGS="..."  more options for our TCP rows' guests, e.g.
#                       "--tap-read reader" (a TAP reader thread per
#                       queue beside its channel worker; the default is
#                       one thread per queue), "--tap-reap worker
#                       --tap-spin 0" (TAP readers; the channel workers
#                       alone reap, the readers never spin)
#   NET_PEER_HOST_ARGS="..."  more options for our TCP rows' host, e.g.
#                       "--nic-workers per-channel" (a host worker per
#                       guest channel; the default is shared: one host
#                       thread per queue index serves both guests' channels)
#   NET_PEER_TAPFWD_GSO=n gso_max_size of tapfwd's and tapring's TAPs
#                       (default 62780, as our guests' TAPs; 0: 65536)
#   NET_PEER_TAPRING="copy nocopy two"  which bench/tapring rows to run
#                       (default all three; "" none)
#   NET_PEER_TAPRING_ARGS="..."  more options for bench/tapring, e.g.
#                       "--no-spin" (sleep after every drain)
#   NET_PEER_ONLY=dpdk  only the DPDK rows (virtio pair, netvsc PMD)
#   NET_PEER_HOST_POLL=US  the netvsc PMD rows' host polls its channels US
#                       microseconds after each batch (bench/net --serve
#                       SOCK US); default: interrupt mode, which spins
#                       adaptively while traffic flows
set -u
cd "$(dirname "$0")/.."
json=${1:-build/bench/net.json}
VMBUS=${OVB_VMBUS:-${BUILD:-build}/vmbus}
SECS=${NET_PEER_SECONDS:-2}
TCP_P4_QUEUES=${NET_PEER_P4_QUEUES:-2}
GUEST_ARGS=${NET_PEER_GUEST_ARGS:-}
HOST_ARGS=${NET_PEER_HOST_ARGS:-}
HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HP_PAGES=600 # two testpmd processes, -m 512 each

dir=$(mktemp -d /tmp/ovb-netpeer.XXXXXX)
rows=$dir/rows
: >"$rows"
tag=$$
pids=()
netns=()
hp_orig= hp_mnt= hp_dir= why= pps=0

cleanup() {
	local p n
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	sleep 0.3
	# timeout(1) passes INT on but not KILL: end its child by id first.
	for p in "${pids[@]}"; do
		for n in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$n" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for n in "${netns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	[ -n "$hp_mnt" ] && umount "$hp_mnt" 2>/dev/null
	[ -n "$hp_orig" ] && echo "$hp_orig" >"$HP_SYS" 2>/dev/null
	rm -rf /var/run/dpdk/ovbvh$tag /var/run/dpdk/ovbvu$tag /var/run/dpdk/ovbnv$tag
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# guests_start, ns_reaches: our host and guests in two namespaces.
. bench/net-guests.sh

# row NAME PATH MODE SIZE PPS GBPS NOTE  (PPS/GBPS "-" when skipped)
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$rows"; }

# Mean Rx-pps of the receiver's full stats periods: nonzero samples without
# the first and the last, which straddle start and stop.  tx_pps: the same
# for the sender's Tx-pps.
rx_pps() { mean_pps Rx-pps: "$1"; }
tx_pps() { mean_pps Tx-pps: "$1"; }
mean_pps() { # LABEL LOG
	awk -v l="$1" '$1 == l && $2 > 0 { v[n++] = $2 }
	     END { if (n == 0) { print 0; exit }
		   if (n <= 2) { m = 0; for (i = 0; i < n; i++) if (v[i] > m) m = v[i]; print m; exit }
		   s = 0; for (i = 1; i < n - 1; i++) s += v[i]; printf "%.0f\n", s / (n - 2) }' "$2"
}

# tp_measure PID LOG: wait (10 s at most) until the testpmd PID prints its
# first stats, i.e. forwards, then let it run SECS + 2.5 s and stop it with
# SIGINT.  The seconds count from the start of forwarding, not of the
# process, so a slow start on a loaded machine does not eat the
# measurement: rx_pps then has SECS full periods after dropping the first
# and last.  1 if it never forwarded or ended on its own.
tp_measure() {
	local p=$1 log=$2 st=0
	for _ in $(seq 200); do
		grep -q "Port statistics" "$log" && break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	grep -q "Port statistics" "$log" || st=1
	[ $st = 0 ] && sleep "$((SECS + 2)).5"
	kill -0 "$p" 2>/dev/null || st=1
	kill -INT "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return $st
}

# testpmd_pair g2h|h2g SIZE nohuge|huge: sets pps (0 on failure)
testpmd_pair() {
	local way=$1 size=$2 mem=$3 sock=$dir/vhost.sock vfwd ufwd rxlog
	local memargs vh vu rc=0

	pps=0
	if [ "$mem" = huge ]; then
		memargs=(-m 512 --huge-dir "$hp_dir")
	else
		memargs=(--no-huge -m 512)
	fi
	if [ "$way" = g2h ]; then
		vfwd=rxonly ufwd=txonly rxlog=$dir/vh.log
	else
		vfwd=txonly ufwd=rxonly rxlog=$dir/vu.log
	fi
	rm -f "$sock"
	dpdk-testpmd --lcores '0@0,1@0' --no-pci --single-file-segments \
		"${memargs[@]}" --file-prefix "ovbvh$tag" \
		--vdev "net_vhost0,iface=$sock,queues=1" -- \
		--forward-mode=$vfwd --txpkts="$size" --total-num-mbufs=16384 \
		--stats-period 1 >"$dir/vh.log" 2>&1 </dev/null &
	vh=$!
	pids+=("$vh")
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	if [ ! -S "$sock" ]; then
		echo "net-peer: vhost-user testpmd did not start:" >&2
		grep -E "Cause|Error" "$dir/vh.log" >&2
		kill -INT "$vh" 2>/dev/null; wait "$vh" 2>/dev/null
		return 1
	fi
	timeout -s INT -k 5 $((SECS + 30)) dpdk-testpmd --lcores '0@1,1@1' \
		--no-pci --single-file-segments "${memargs[@]}" \
		--file-prefix "ovbvu$tag" \
		--vdev "virtio_user0,path=$sock,queues=1" -- \
		--forward-mode=$ufwd --txpkts="$size" --total-num-mbufs=16384 \
		--stats-period 1 >"$dir/vu.log" 2>&1 </dev/null &
	vu=$!
	pids+=("$vu")
	tp_measure "$vu" "$dir/vu.log" || rc=$?
	kill -INT "$vh" 2>/dev/null
	wait "$vh" 2>/dev/null
	if [ "$rc" != 0 ]; then
		echo "net-peer: virtio-user testpmd exited early or did not start:" >&2
		grep -E "Cause|Error|fail" "$dir/vu.log" >&2
		return 1
	fi
	pps=$(rx_pps "$rxlog")
}

run_dpdk() {
	local mem=$1 way size pps name path
	for size in 64 1500; do
		for way in g2h h2g; do
			if [ "$way" = g2h ]; then path=guest-\>host; else path=host-\>guest; fi
			name=dpdk-vhost-user
			testpmd_pair $way $size "$mem"
			if [ "${pps:-0}" != 0 ]; then
				row "$name" "$path" "polling,$mem" "$size" "$pps" \
				    "$(awk -v p="$pps" -v s="$size" 'BEGIN { printf "%.4f", p * s * 8 / 1e9 }')" \
				    "testpmd virtio-user<->vhost-user"
				printf '%-16s %-12s %-15s %5s B %12s pkt/s\n' \
					"$name" "$path" "polling,$mem" "$size" "$pps"
			else
				row "$name" "$path" "polling,$mem" "$size" - - "testpmd failed"
			fi
		done
	done
}

hugepages_reserve() { # sets hp_dir, hp_orig, hp_mnt; or why, returning 1
	local got
	why=
	if [ ! -w "$HP_SYS" ]; then
		why="cannot write $HP_SYS (not root or no 2 MiB hugepages)"
		return 1
	fi
	hp_orig=$(cat "$HP_SYS")
	echo $((hp_orig + HP_PAGES)) >"$HP_SYS" 2>/dev/null
	got=$(cat "$HP_SYS")
	if [ "$got" -lt $((hp_orig + HP_PAGES)) ]; then
		why="asked for $HP_PAGES 2 MiB hugepages, got $((got - hp_orig))"
		return 1
	fi
	hp_dir=$dir/huge
	mkdir -p "$hp_dir"
	if ! mount -t hugetlbfs -o pagesize=2M nodev "$hp_dir" \
		2>"$dir/mount.err"; then
		why="cannot mount hugetlbfs: $(cat "$dir/mount.err")"
		return 1
	fi
	hp_mnt=$hp_dir
}

hugepages_release() {
	[ -n "$hp_mnt" ] && umount "$hp_mnt" 2>/dev/null
	hp_mnt=
	[ -n "$hp_orig" ] && echo "$hp_orig" >"$HP_SYS" 2>/dev/null
	hp_orig=
}

# ---- DPDK virtio-user <-> vhost-user ----
echo "== DPDK testpmd, virtio-user <-> vhost-user, ${SECS} s each"
if [ "${NET_PEER_ONLY:-}" = tcp ]; then
	echo "net-peer: NET_PEER_ONLY=tcp: DPDK rows skipped"
elif ! command -v dpdk-testpmd >/dev/null; then
	echo "net-peer: dpdk-testpmd missing (scripts/run bench-deps); DPDK rows skipped"
	row dpdk-vhost-user - - 0 - - "dpdk-testpmd not installed"
elif [ "$(nproc)" -lt 2 ]; then
	echo "net-peer: testpmd pair wants 2 CPUs; DPDK rows skipped"
	row dpdk-vhost-user - - 0 - - "fewer than 2 CPUs"
else
	run_dpdk nohuge
	if hugepages_reserve; then
		run_dpdk huge
	else
		echo "net-peer: hugepage rows skipped: $why"
		row dpdk-vhost-user - polling,huge 0 - - "skipped: $why"
	fi
	hugepages_release
fi

# ---- the protocol floor: our ring, NVSP-shaped, no NIC work ----
RING=${BUILD:-build}/bench/ring
if [ "${NET_PEER_ONLY:-}" = tcp ]; then
	:
elif [ ! -x "$RING" ]; then
	echo "net-peer: $RING missing (make bench); floor rows skipped"
	row ovb-ring-floor - - 0 - - "skipped: $RING not built"
else
	echo "== protocol floor (bench/ring floor rows)"
	"$RING" "$dir/floor.json" floor | grep '^floor'
	python3 - "$dir/floor.json" >>"$rows" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["floor"]:
    print("ovb-ring-floor\tguest->host\t%s,%d/packet\t%d\t%.0f\t%.4f\t%s" % (
        r["mode"], r["per_packet"], r["frame"], r["pps"],
        r["pps"] * r["frame"] * 8 / 1e9,
        "VMBus ring, one packet of %d frames + one completion, no NIC work"
        % r["per_packet"]))
PY
fi

# ---- DPDK's netvsc PMD as a guest of our host ----
#
# The same testpmd as the virtio-user rows, with the same options
# (--no-pci --single-file-segments --no-huge -m 512, lcores '0@1,1@1' on
# CPU 1, --total-num-mbufs=16384, default burst 32, --stats-period 1), plus
# what the shim needs: LD_PRELOAD, OVMB_* (OVMB_NETVSC_QUEUE_STATE=1, or
# DPDK 22.11.11's netvsc PMD forwards nothing) and --iova-mode=va, which
# virtio-user on --no-huge selects by itself ("Physical addresses are
# unavailable, selecting IOVA as VA mode"), so the EAL memory the shim
# shares as guest RAM is the memory both run with.  No hugepage rows: the
# shim places EAL's memory only with --no-huge.
#
# The host is bench/net --serve: the switch, netvsp and endpoint port
# bench/net measures its own rows with, serving the socket the shim joins,
# pinned to CPU 0 where vhost-user's testpmd sits in the pair.  So the
# DPDK process and its peer each own one CPU, as in the pair.  The guest
# polls (one forwarding lcore).  The PMD signals only through monitor page
# 2, which the host scans every 100 us to wake the channel's worker; while
# traffic flows the worker spins adaptively after each drain (ring masked,
# the PMD's writes seen without the scan), and with NET_PEER_HOST_POLL=US
# it polls US microseconds after every drain.
#
# txonly (guest->host): the receiver is the host's endpoint port; the
# count is the endpoint's frame counter, read (with netvsp's from_guest
# as a cross-check) over the control pipe SECS apart while testpmd is in
# its steady state, after a one-second warm-up.  The endpoint only sees a
# frame netvsp parsed out of the VMBus ring and handed to the switch, so
# these are frames that crossed the ring into the host; testpmd's own
# Tx-pps counts what the PMD queued and is shown beside it, not used.  The
# endpoint's MAC is testpmd's default peer for port 0 (02:00:00:00:00:00),
# so frames are unicast to it, as in bench/net's guest->host rows.
#
# rxonly (host->guest): the generator is bench/net's host->guest source,
# now a thread in the serving host that feeds the switch from the endpoint
# port in batches of 64 for as long as testpmd runs; it outruns the PMD
# (netvsp drops and counts what finds the receive buffer or ring full, as
# in bench/net's host->guest rows).  The count is testpmd's Rx-pps over
# its full stats periods, as for the virtio-user rows.  testpmd starts
# with --tx-first so its first burst teaches the switch the PMD's MAC and
# the generator's frames are unicast too.
NETVSC_PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
BENCH_NET=${BUILD:-build}/bench/net
SHIM=${OVB_DPDK_SHIM:-${BUILD:-build}/ovmb-dpdk-shim.so}
nsock=$dir/ovb.sock
srv_in= srv_out= srv_pid= reply=

netvsc_why() { # why the netvsc rows cannot run; nothing when they can
	if [ ! -e $NETVSC_PMDS/librte_bus_vmbus.so.23 ] ||
		[ ! -e $NETVSC_PMDS/librte_net_netvsc.so.23 ]; then
		echo "DPDK's vmbus bus or netvsc PMD missing (librte-bus-vmbus23, librte-net-netvsc23)"
	elif [ ! -x "$BENCH_NET" ]; then
		echo "$BENCH_NET missing"
	elif [ ! -f "$SHIM" ]; then
		echo "$SHIM missing (make all; SAN=1 builds none)"
	elif ! grep -q rte_eth_rx_queue_info_get "$SHIM"; then
		echo "$SHIM was built without libdpdk-dev: no OVMB_NETVSC_QUEUE_STATE, DPDK 22.11 would forward nothing"
	fi
}

srv() { # COMMAND: one request to the serving host; its answer in $reply
	reply=
	kill -0 "$srv_pid" 2>/dev/null || return 1 # no SIGPIPE on the echo
	echo "$*" 1>&"$srv_in" 2>/dev/null && read -r -t 10 reply 0<&"$srv_out" &&
		[ -n "$reply" ] && [ "${reply#error}" = "$reply" ]
}
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

srv_start() {
	coproc SRV { exec taskset -c 0 "$BENCH_NET" --serve "$nsock" \
		${NET_PEER_HOST_POLL:+"$NET_PEER_HOST_POLL"} 2>"$dir/srv.log"; }
	# bash unsets SRV and SRV_PID when the coprocess ends: keep copies.
	srv_pid=${SRV_PID:-}
	[ -n "$srv_pid" ] && [ -n "${SRV[1]:-}" ] || return 1
	pids+=("$srv_pid")
	exec {srv_in}>&"${SRV[1]}" {srv_out}<&"${SRV[0]}"
	read -r -t 10 reply 0<&"$srv_out" && [ "$reply" = ready ]
}

srv_stop() {
	echo quit 1>&"$srv_in" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
	exec {srv_in}>&- {srv_out}<&-
}

# netvsc_run txonly|rxonly SIZE: sets pps (0 on failure) and nv_note
netvsc_run() {
	local fwd=$1 size=$2 log=$dir/nv.log root=$dir/nv.root tp mac a b dt
	local first=()

	pps=0 nv_note=
	rm -rf "$root"
	mkdir "$root"
	[ "$fwd" = rxonly ] && first=(--tx-first)
	# Bounded: stopped below after SECS + 3 s, or by timeout after SECS + 30.
	timeout -s INT -k 5 $((SECS + 30)) env OVMB_LINK="$nsock" \
		OVMB_SHIM_ROOT="$root" OVMB_NAME="nv-$fwd-$size" \
		OVMB_TIMEOUT_MS=5000 OVMB_STDOUT_LINEBUF=1 \
		OVMB_NETVSC_QUEUE_STATE=1 LD_PRELOAD="$SHIM" \
		dpdk-testpmd --lcores '0@1,1@1' --no-pci --single-file-segments \
		--no-huge -m 512 --iova-mode=va --file-prefix "ovbnv$tag" -- \
		--forward-mode=$fwd --txpkts="$size" --total-num-mbufs=16384 \
		--stats-period 1 "${first[@]}" >"$log" 2>&1 </dev/null &
	tp=$!
	pids+=("$tp")
	for _ in $(seq 200); do
		grep -q "Port statistics" "$log" && break
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.05
	done
	mac=$(sed -n 's/^Port 0: \([0-9A-Fa-f:]\{17\}\).*/\1/p' "$log" | head -n 1)
	if ! grep -q "Port statistics" "$log" || [ -z "$mac" ]; then
		echo "net-peer: netvsc testpmd did not start forwarding:" >&2
		grep -E "ovmb-dpdk-shim|Cause|Error|fail" "$log" >&2
		kill -INT "$tp" 2>/dev/null
		wait "$tp" 2>/dev/null
		return 1
	fi
	if [ "$fwd" = txonly ]; then
		sleep 1
		srv stats && a=$reply && sleep "$SECS" && srv stats && b=$reply ||
			{ echo "net-peer: the serving host stopped answering" >&2; kill -INT "$tp"; wait "$tp"; return 1; }
	else
		srv stats && a=$reply && srv gen "$size" "$mac" &&
			sleep "$((SECS + 2)).5" && srv stats && b=$reply ||
			{ echo "net-peer: the serving host stopped answering" >&2; kill -INT "$tp"; wait "$tp"; return 1; }
	fi
	if ! kill -0 "$tp" 2>/dev/null; then
		echo "net-peer: netvsc testpmd ended before the measurement did:" >&2
		grep -E "ovmb-dpdk-shim|Cause|Error|fail" "$log" >&2
		[ "$fwd" = rxonly ] && srv stop
		return 1
	fi
	kill -INT "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	[ "$fwd" = rxonly ] && srv stop
	dt=$(( $(field ns "$b") - $(field ns "$a") ))
	if [ "$fwd" = txonly ]; then
		pps=$(awk -v n=$(( $(field sunk "$b") - $(field sunk "$a") )) -v t=$dt \
			'BEGIN { printf "%.0f\n", n * 1e9 / t }')
		nv_note="host endpoint counted $(( $(field sunk "$b") - $(field sunk "$a") )) (netvsp from_guest +$(( $(field from_guest "$b") - $(field from_guest "$a") ))) in $(awk -v t=$dt 'BEGIN { printf "%.2f", t / 1e9 }') s; PMD Tx-pps $(tx_pps "$log" | sed 's/^0$/n\/a/')"
	else
		pps=$(rx_pps "$log")
		nv_note="$(awk -v c=$(( $(field to_guest "$b") - $(field to_guest "$a") )) \
			-v d=$(( $(field no_buffer "$b") - $(field no_buffer "$a") )) -v t=$dt \
			'BEGIN { printf "netvsp copied %.0f/s to the PMD, dropped %.0f/s (buffer or ring full)", c * 1e9 / t, d * 1e9 / t }')"
	fi
	# The next testpmd is a new partition: wait until this one is gone.
	for _ in $(seq 100); do
		srv stats && [ "$(field nics "$reply")" = 0 ] && break
		sleep 0.05
	done
	rm -rf "$root" /var/run/dpdk/ovbnv$tag
}

run_netvsc() {
	local fwd size path name=dpdk-netvsc-ovb hmode="interrupt, adaptive spin"
	[ -n "${NET_PEER_HOST_POLL:-}" ] && hmode="polling ${NET_PEER_HOST_POLL} us"
	for size in 64 1500; do
		for fwd in txonly rxonly; do
			if [ $fwd = txonly ]; then path=guest-\>host; else path=host-\>guest; fi
			if netvsc_run $fwd $size && [ "${pps:-0}" != 0 ]; then
				row "$name" "$path" polling,nohuge "$size" "$pps" \
				    "$(awk -v p="$pps" -v s="$size" 'BEGIN { printf "%.4f", p * s * 8 / 1e9 }')" \
				    "testpmd netvsc PMD $fwd, our host ($hmode): $nv_note"
				printf '%-16s %-12s %-15s %5s B %12s pkt/s  (%s)\n' \
					"$name" "$path" polling,nohuge "$size" "$pps" "$nv_note"
			else
				row "$name" "$path" polling,nohuge "$size" - - "testpmd netvsc $fwd failed"
			fi
		done
	done
}

echo "== DPDK testpmd, netvsc PMD over our host (bench/net --serve), ${SECS} s each"
if [ "${NET_PEER_ONLY:-}" = tcp ]; then
	echo "net-peer: NET_PEER_ONLY=tcp: netvsc PMD rows skipped"
elif ! command -v dpdk-testpmd >/dev/null; then
	row dpdk-netvsc-ovb - - 0 - - "dpdk-testpmd not installed"
elif [ "$(nproc)" -lt 2 ]; then
	echo "net-peer: testpmd and our host want 2 CPUs; netvsc rows skipped"
	row dpdk-netvsc-ovb - - 0 - - "fewer than 2 CPUs"
elif nv_why=$(netvsc_why) && [ -n "$nv_why" ]; then
	echo "net-peer: netvsc rows skipped: $nv_why"
	row dpdk-netvsc-ovb - - 0 - - "skipped: $nv_why"
elif ! srv_start; then
	echo "net-peer: $BENCH_NET --serve did not start; netvsc rows skipped:"
	cat "$dir/srv.log"
	row dpdk-netvsc-ovb - - 0 - - "bench/net --serve did not start"
else
	run_netvsc
	srv_stop
fi

# ---- TCP: kernel veth pair vs two guests' TAPs through our switch ----
iperf() { # client-ns server-ns server-addr streams -> Gbit/s
	local out=$dir/iperf.json srv
	ip netns exec "$2" iperf3 -s -1 >/dev/null 2>&1 &
	srv=$!
	pids+=("$srv")
	sleep 0.3
	timeout $((SECS + 10)) ip netns exec "$1" iperf3 -c "$3" -t "$SECS" \
		-P "$4" -J >"$out" 2>/dev/null
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	python3 -c 'import json,sys
print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' \
		"$out" 2>/dev/null || echo 0
}

# CPU time (user + system, clock ticks) of the processes PIDS, threads
# included; cpu_per_kib T0 T1: ns of that per KiB the last iperf received.
# Throughput on a loaded machine measures the CPU share a run got; this
# measures the work per byte, which the load does not change much.
cpu_ticks() {
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
# Context switches of every thread of PIDS so far: ctx_count all (voluntary
# + involuntary) or ctx_count sleeps (the voluntary ones); switches_per_mib
# S0 S1: per MiB the last iperf received.  Each is a sleep and wake-up or
# a preemption: a count the load changes less than the CPU time; a sleep
# is a thread waiting for the next frame, completion or wake-up, not one
# preempted or yielding.
ctx_count() {
	local t=0 p re=ctxt_switches
	[ "$1" = sleeps ] && re=^voluntary_ctxt_switches
	shift
	for p in "$@"; do
		t=$((t + $(cat /proc/"$p"/task/*/status 2>/dev/null |
			awk -v re="$re" '$0 ~ re { s += $2 } END { print s + 0 }')))
	done
	echo $t
}
switches_per_mib() {
	python3 -c 'import json,sys
b = json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]
print("%.1f" % ((int(sys.argv[3]) - int(sys.argv[2])) / (b / 1048576.0)) if b else "-")' \
		"$dir/iperf.json" "$1" "$2" 2>/dev/null || echo -
}
cpu_per_kib() {
	python3 -c 'import json,sys
b = json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]
t = (int(sys.argv[3]) - int(sys.argv[2])) * 1e9 / int(sys.argv[4])
print("%.0f" % (t / (b / 1024.0)) if b else "-")' "$dir/iperf.json" "$1" "$2" \
		"$(getconf CLK_TCK)" 2>/dev/null || echo -
}

# iperf_measured CLIENT-NS SERVER-NS ADDR STREAMS PIDS...: iperf3 as
# iperf() runs it, the Gbit/s in $g and the CPU, switches and sleeps per
# byte of the processes PIDS over it in $cost.
iperf_measured() {
	local na=$1 nb=$2 addr=$3 P=$4 c0 c1 s0 s1 v0 v1
	shift 4
	c0=$(cpu_ticks "$@") s0=$(ctx_count all "$@") v0=$(ctx_count sleeps "$@")
	g=$(iperf "$na" "$nb" "$addr" "$P")
	c1=$(cpu_ticks "$@") s1=$(ctx_count all "$@") v1=$(ctx_count sleeps "$@")
	cost="cpu $(cpu_per_kib "$c0" "$c1") ns/KiB, switches $(switches_per_mib "$s0" "$s1")/MiB, sleeps $(switches_per_mib "$v0" "$v1")/MiB"
}

# Both TCP peers at MTU $1: iperf3 with 1 and 4 streams each.
tcp_mtu() {
	local mtu=$1 na=ovbpa$tag nb=ovbpb$tag g ok i sock hpid
	netns+=("$na" "$nb")
	ip netns add "$na" && ip netns add "$nb" &&
	ip link add veth0 netns "$na" type veth peer name veth1 netns "$nb" &&
	ip -n "$na" link set veth0 mtu "$mtu" && ip -n "$nb" link set veth1 mtu "$mtu" &&
	ip -n "$na" addr add 10.98.0.1/24 dev veth0 &&
	ip -n "$nb" addr add 10.98.0.2/24 dev veth1 &&
	ip -n "$na" link set veth0 up && ip -n "$nb" link set veth1 up &&
	ip -n "$na" link set lo up && ip -n "$nb" link set lo up
	for P in 1 4; do
		g=$(iperf "$na" "$nb" 10.98.0.2 $P)
		echo "veth       TCP MTU $mtu -P $P: $g Gbit/s"
		row veth-tcp guest-\>guest P$P "$mtu" - "$g" "iperf3 -P $P over a veth pair"
	done
	ip netns del "$na"; ip netns del "$nb"

	if ! [ -c /dev/net/tun ]; then
		row ovb-tap-tcp - - "$mtu" - - "skipped: no /dev/net/tun"
		return
	fi
	# -P 1 with one queue per guest; -P 4 with TCP_P4_QUEUES (2: one
	# per CPU of this machine), so both CPUs receive and send.  The TAP
	# floor (tapfwd, then tapfwd with one more copy) right before ours,
	# with the same queues.
	for P in 1 4; do
		q=1
		[ $P = 4 ] && q=$TCP_P4_QUEUES
		tapfwd_tcp "$mtu" "$na" "$nb" $P $q ""
		tapfwd_tcp "$mtu" "$na" "$nb" $P $q -c
		for m in $TAPRING_MODES; do
			tapring_tcp "$mtu" "$na" "$nb" $P $q "$m"
		done
		if [ -x "$VMBUS" ]; then
			ovb_tcp "$mtu" "$na" "$nb" $P $q
		else
			row ovb-tap-tcp - P$P "$mtu" - - "skipped: $VMBUS missing"
		fi
	done
}

# The TAP floor: two TAPs in two namespaces joined by bench/tapfwd (one
# read and one write per GSO frame, -c: one more copy in user space),
# $5 queues, iperf3 -P $4.  The TAPs take the same offloads and
# gso_max_size as our guests' (NET_PEER_TAPFWD_GSO, default 62780, the
# host's LSO limit; 0 keeps the kernel's 65536).
TAPFWD=${BUILD:-build}/bench/tapfwd
TAPFWD_GSO=${NET_PEER_TAPFWD_GSO:-62780}
# tap_pair_up LOG MTU NS-A TAP-A NS-B TAP-B NET: once LOG says "ready", each
# TAP gets the MTU, TAPFWD_GSO, address NET.1 (a) or NET.2 (b) and is up;
# true when a reaches b.
tap_pair_up() {
	local log=$1 mtu=$2 net=$7 ns tap i
	for _ in $(seq 100); do grep -qs ready "$log" && break; sleep 0.05; done
	for i in 1 2; do
		if [ $i = 1 ]; then ns=$3 tap=$4; else ns=$5 tap=$6; fi
		ip -n "$ns" link set "$tap" mtu "$mtu" &&
		{ [ "$TAPFWD_GSO" = 0 ] || ip -n "$ns" link set "$tap" gso_max_size "$TAPFWD_GSO"; } &&
		ip -n "$ns" addr add "$net.$i/24" dev "$tap" &&
		ip -n "$ns" link set "$tap" up && ip -n "$ns" link set lo up || return 1
	done
	grep -q ready "$log" && ns_reaches "$3" "$net.2"
}
# tap_floor BIN LOG NET MTU NS-A NS-B P TAP-A TAP-B ARGS...: BIN ARGS
# TAP-A@NS-A TAP-B@NS-B (bench/tapfwd or bench/tapring), the TAPs up on
# NET (tap_pair_up), iperf3 -P P across, measured with BIN's processes
# ($g, $cost: iperf_measured), then BIN ended (its counters in LOG) and
# the namespaces gone.  False, LOG shown, if the pair never came up.
tap_floor() {
	local bin=$1 log=$2 net=$3 mtu=$4 na=$5 nb=$6 P=$7 ta=$8 tb=$9 fp all
	local rc=0
	shift 9
	ip netns add "$na" 2>/dev/null; ip netns add "$nb" 2>/dev/null
	rm -f "$log" # the last row's "ready" is not this one's
	"$bin" "$@" "$ta@$na" "$tb@$nb" >"$log" 2>&1 &
	fp=$!
	pids+=("$fp")
	if tap_pair_up "$log" "$mtu" "$na" "$ta" "$nb" "$tb" "$net"; then
		# The parent and its processes (tapring's guests and host).
		all=("$fp" $(pgrep -P "$fp"))
		iperf_measured "$na" "$nb" "$net.2" "$P" "${all[@]}"
	else
		echo "net-peer: ${bin##*/} did not come up; its row skipped"
		cat "$log" >&2
		rc=1
	fi
	kill -TERM "$fp" 2>/dev/null
	wait "$fp" 2>/dev/null
	ip netns del "$na" 2>/dev/null; ip netns del "$nb" 2>/dev/null
	return $rc
}
tapfwd_tcp() {
	local mtu=$1 na=$2 nb=$3 P=$4 q=$5 copy=$6 name=tapfwd-tcp g st cost
	[ -n "$copy" ] && name=tapfwd-copy-tcp
	if ! [ -x "$TAPFWD" ]; then
		row "$name" - P$P "$mtu" - - "skipped: $TAPFWD missing (make bench)"
		return
	fi
	if ! tap_floor "$TAPFWD" "$dir/tapfwd.log" 10.96.0 "$mtu" "$na" "$nb" \
		"$P" tfw0 tfw1 -q "$q" $copy; then
		row "$name" - P$P "$mtu" - - "tapfwd did not come up"
		return
	fi
	st=$(awk '$3 == "a->b" { f += $5; b += $7 }
		END { if (f) printf "%d frames a->b, %.0f B each", f, b / f }' "$dir/tapfwd.log")
	st="$st; $cost"
	echo "tapfwd$copy TCP MTU $mtu -P $P, $q queue(s): $g Gbit/s (TAP -> read -> ${copy:+memcpy -> }write -> TAP; $st)"
	row "$name" guest-\>guest P$P "$mtu" - "$g" \
		"iperf3 -P $P between two TAPs joined by bench/tapfwd -q $q $copy; $st"
}

# Our design's floor: the same two TAPs joined by bench/tapring, three
# processes (guest a, host, guest b) with VMBus rings in memfd "guest
# RAM" between them, one copy on the host, one thread per queue in each,
# waiting as our stream channels wait; mode $6: copy (rows tapring-tcp),
# nocopy (tapring-nocopy-tcp: the host passes the buffer on, guest b
# writes from a's memory) or two (tapring-two-tcp: no host process).
# $5 queues, iperf3 -P $4, same MTU and gso_max_size as tapfwd's.
TAPRING=${BUILD:-build}/bench/tapring
TAPRING_MODES=${NET_PEER_TAPRING-copy nocopy two}
TAPRING_ARGS=${NET_PEER_TAPRING_ARGS:-}
tapring_tcp() {
	local mtu=$1 na=$2 nb=$3 P=$4 q=$5 mode=$6 name opt via g st cost
	case $mode in
	copy) name=tapring-tcp opt= via="host (copy) -> ring -> " ;;
	nocopy) name=tapring-nocopy-tcp opt=--no-copy via="host -> ring -> " ;;
	two) name=tapring-two-tcp opt=--two via= ;;
	*) echo "net-peer: unknown tapring mode $mode"; return ;;
	esac
	if ! [ -x "$TAPRING" ]; then
		row "$name" - P$P "$mtu" - - "skipped: $TAPRING missing (make benches)"
		return
	fi
	if ! tap_floor "$TAPRING" "$dir/tapring.log" 10.95.0 "$mtu" "$na" "$nb" \
		"$P" trg0 trg1 -q "$q" $opt $TAPRING_ARGS; then
		row "$name" - P$P "$mtu" - - "tapring did not come up"
		return
	fi
	st=$(awk '$3 == "a->b" { f += $5; b += $7 } $1 == "host" { w += $9 }
		END { if (f) printf "%d frames a->b, %.0f B each, %d slot waits", f, b / f, w }' "$dir/tapring.log")
	st="$st; $cost"
	echo "tapring $mode TCP MTU $mtu -P $P, $q queue(s): $g Gbit/s (TAP -> guest a -> ring -> ${via}guest b -> TAP; $st)"
	row "$name" guest-\>guest P$P "$mtu" - "$g" \
		"iperf3 -P $P between two TAPs joined by bench/tapring -q $q $opt $TAPRING_ARGS; $st"
}

# Our row: a fresh host and two guests with $5 queues each, iperf3 -P $4.
ovb_tcp() {
	local mtu=$1 na=$2 nb=$3 P=$4 q=$5 d=$dir sock=$dir/h.sock hp g1 g2 g st
	local cost ok=1 i
	# shellcheck disable=SC2086
	guests_start "$VMBUS" 10.97.0 "$mtu" "$q" 0 "$HOST_ARGS" $GUEST_ARGS ||
		ok=0
	for i in 1 2; do
		grep -qs running "$dir/g$i.log" || ok=0
	done
	if [ $ok = 1 ] && ns_reaches "$na" 10.97.0.2; then
		iperf_measured "$na" "$nb" 10.97.0.2 $P "$hp" "$g1" "$g2"
		# What the switch did with the large frames: coalesced to
		# the receiver (RSC) or cut into segments.
		st=$("$VMBUS" nic stat --socket "$sock" 2>/dev/null |
			sed -n 's/.* coalesced \([0-9]*\) segmented \([0-9]*\) wait_timeouts \([0-9]*\).* reaps \([0-9]*\).*/coalesced \1, segmented \2, wait_timeouts \3, reaps \4/p')
		st="$st; $cost"
		echo "our switch TCP MTU $mtu -P $P, $q queue(s)${HOST_ARGS:+, host $HOST_ARGS}: $g Gbit/s (TAP -> netvsc -> netvsp -> switch -> netvsp -> netvsc -> TAP; $st)"
		row ovb-tap-tcp guest-\>guest P$P "$mtu" - "$g" \
			"iperf3 -P $P between two vmbus guest --tap --queues $q over the switch${HOST_ARGS:+, host $HOST_ARGS}${GUEST_ARGS:+, guests $GUEST_ARGS}; $st"
	else
		echo "net-peer: guests did not come up; our TCP row skipped"
		cat "$dir/g1.log" "$dir/g2.log" >&2
		row ovb-tap-tcp - - "$mtu" - - "guests did not come up"
	fi
	# The guests end when their host does.
	kill "$hp" 2>/dev/null
	wait "$hp" 2>/dev/null
	sleep 0.5
	ip netns del "$na" 2>/dev/null; ip netns del "$nb" 2>/dev/null
}

echo "== TCP (iperf3 -P 1 and -P 4, ${SECS} s, MTU 1500 and 9000)"
if [ "${NET_PEER_ONLY:-}" = dpdk ]; then
	echo "net-peer: NET_PEER_ONLY=dpdk: TCP rows skipped"
elif [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null; then
	echo "net-peer: TCP rows need root and iperf3; skipped"
	row veth-tcp - - 0 - - "skipped: needs root and iperf3"
else
	tcp_mtu 1500
	tcp_mtu 9000
fi

# ---- merge, ratios, table ----
python3 bench/net-peer-merge.py "$json" "$rows"
