#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vmbus host --fault MODE` against our real guest, one host per mode:
# `vmbus guest --disk-check --io-timeout 2` runs the echo exercise and
# writes, flushes and reads back a SCSI disk.  For every mode, every wait
# bounded: the guest ends (no crash, no hang) with the status and the
# error line the mode calls for; the host logs the fault on one line and
# stops cleanly; a fault aimed at one channel leaves the echo device
# answering.  Then random flips (seed 42) over every message and packet
# for ${FAULT_RANDOM_SECONDS:-20} s of guests coming and going.  The NIC's
# modes (nvsp-lie, rndis-lie, ...) are tests/pair/test-fault-net.c.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
dir=$(mktemp -d /tmp/ovb-fault.XXXXXX)
sock=$dir/host.sock
host=
trap '[ -n "$host" ] && kill -KILL $host 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

die() {
	echo "fault: $*"
	for f in "$dir"/host.log "$dir"/guest.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
	done
	exit 1
}

no_san() {
	if grep -l "Sanitizer\|runtime error:" "$dir"/*.log >/dev/null 2>&1; then
		die "$1: a sanitizer report"
	fi
}

start_host() {
	rm -f "$sock" "$sock.ctl" "$dir/host.log"
	"$VMBUS" host --socket "$sock" --echo 1 --disk "$dir/a.img,size=8M" \
		"$@" 2>"$dir/host.log" </dev/null >/dev/null &
	host=$!
	for _ in $(seq 100); do [ -S "$sock.ctl" ] && return; sleep 0.05; done
	die "host never listened"
}

stop_host() {
	kill -INT "$host"
	for _ in $(seq 50); do kill -0 "$host" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$host" 2>/dev/null && die "$1: the host did not stop within 5 s"
	rc=0; wait "$host" || rc=$?
	host=
	[ "$rc" = 0 ] || die "$1: the host ended with $rc"
}

# run_guest NAME SECONDS [ARGS]: the guest's status in $grc (124: hung).
run_guest() {
	local name=$1 secs=$2
	shift 2
	grc=0
	timeout -k 2 "$secs" "$VMBUS" guest --socket "$sock" --name "$name" \
		--disk-check --io-timeout 2 "$@" >"$dir/guest.log" 2>&1 \
		</dev/null || grc=$?
}

# mode SPEC WANT_RC GUEST_REGEX [echo]: one host, one guest.
#   WANT_RC: 0, 1 or "any" (0 or 1); "echo": the echo device must pass.
mode() {
	local spec=$1 want=$2 re=$3 echo=${4:-} name=${1%%,*} t0
	start_host --fault "$spec"
	t0=$(now_ms)
	run_guest "$name" 30
	local ms=$(( $(now_ms) - t0 ))
	stop_host "$spec"
	no_san "$spec"
	case $grc in
	124|137) die "$spec: the guest hung (killed after 30 s)" ;;
	0|1) ;;
	*) die "$spec: the guest crashed (status $grc)" ;;
	esac
	[ "$want" = any ] || [ "$grc" = "$want" ] ||
		die "$spec: guest status $grc, want $want"
	grep -q "fault: $name partition 1 '$name' relid [0-9]* pkt [0-9]*: " \
		"$dir/host.log" || die "$spec: the host did not log the fault"
	grep -Eq "$re" "$dir/guest.log" || die "$spec: no '$re' from the guest"
	if [ "$echo" = echo ]; then
		grep -q "echo: hot-added relid [0-9]*, then rescinded it" \
			"$dir/guest.log" || die "$spec: the echo device suffered"
	fi
	echo "fault: $spec: guest status $grc after $ms ms: $(grep -Em1 "$re" "$dir/guest.log")"
}

"$VMBUS" host --fault list >"$dir/list"
for m in ring-index pkt-len bad-xid stray-comp xfer-range rndis-lie nvsp-lie \
	vstor-length sense-len rescind-io rescind-unknown offer-storm \
	gpadl-refuse version-lie link-close silent random; do
	grep -q "^$m " "$dir/list" || die "--fault list lacks $m"
done
if "$VMBUS" host --fault nonsense 2>"$dir/err"; then die "--fault nonsense accepted"; fi
grep -q "unknown fault mode 'nonsense'" "$dir/err"
if "$VMBUS" host --fault random,seed=1 2>"$dir/err"; then die "random without P accepted"; fi
echo "fault: --fault list names every mode; bad specs are refused"

scsi_dead="storage: scsi0: FAILED \(the controller's channel failed\)"
mode ring-index,device=scsi,after=6 1 "$scsi_dead" echo
mode pkt-len,device=scsi,after=6 1 "$scsi_dead" echo
mode bad-xid,device=scsi,after=6 any "completion for unknown transaction" echo
mode stray-comp,device=scsi,after=6 0 "storage: scsi0 lun0: .*: ok" echo
mode xfer-range,device=echo 1 "transfer range [0-9]*\+[0-9]* outside"
mode vstor-length,device=scsi,after=6 1 "transfer length beyond the request" echo
mode sense-len,device=scsi,after=6 1 "invalid SRB fields \(255,|sense length beyond the buffer" echo
# pkt 10 of the SCSI primary answers the disk check's I/O (the flush,
# as the I/O itself goes by the sub-channel): faults there hit a request
# the guest waits for.
mode rescind-io,device=scsi,after=10 1 "FAILED \((flush|write|read): Connection reset by peer\)" echo
mode rescind-unknown,after=5 0 "RESCIND for unknown relid [0-9]* ignored" echo
grep -q "storage: scsi0 lun0: .*: ok" "$dir/guest.log" || die "rescind-unknown: the disk failed"
mode offer-storm 0 "bad OFFERCHANNEL \(relid 0," echo
grep -q "storage: scsi0 lun0: .*: ok" "$dir/guest.log" || die "offer-storm: the disk failed"
mode gpadl-refuse,device=scsi 1 "host refused GPADL 0x[0-9a-f]* on relid 2" echo
grep -q "disk-check: 1 disk controller offered, none could be set up" \
	"$dir/guest.log" || die "gpadl-refuse: the guest blamed the host's offers"
mode version-lie 0 "malformed message type 15 \(8 bytes\) ignored" echo
grep -q "unloaded cleanly" "$dir/guest.log" || die "version-lie: no clean unload"
mode link-close,device=scsi,after=10 1 "FAILED \((flush|write|read): Connection reset by peer\)"
mode silent,device=scsi,after=10 1 "scsi0: .*the host stopped answering" echo
mode silent,after=10 1 "echo device: Connection timed out"

# --fault with --capture: the lie is in the capture, at the packet
# number the host logged, decoded by the dissector.
if command -v tshark >/dev/null 2>&1; then
	lua=share/wireshark/openvmbus.lua
	start_host --fault vstor-length,device=scsi,after=6 \
		--capture "$dir/f.pcapng"
	run_guest capg 30
	stop_host capture
	n=$(sed -n "s/.*fault: vstor-length partition 1 'capg' relid 2 pkt \([0-9]*\):.*/\1/p" \
		"$dir/host.log")
	[ -n "$n" ] || die "capture: no fault logged"
	tshark -2 -r "$dir/f.pcapng" -X lua_script:$lua -T fields \
		-Y 'ovbcap.kind == 2 && ovbcap.relid == 2 && ovbcap.dir == 1' \
		-e vstor.srb.transfer_length >"$dir/cap.txt" 2>"$dir/tshark.log" ||
		die "capture: tshark failed"
	got=$(sed -n "$((n + 1))p" "$dir/cap.txt")
	[ "$got" = 2147479552 ] ||
		die "capture: packet $n holds transfer length '$got', not the lie"
	echo "fault: with --capture, pkt $n in the capture holds the lie (data_transfer_length $got)"
else
	echo "fault: no tshark; the capture check is skipped"
fi

# Random flips over everything, guests coming and going (each pings its
# echo device for 2 s once its checks pass), for a while.
secs=${FAULT_RANDOM_SECONDS:-20}
start_host --fault random,probability=0.01,seed=42
end=$(( $(date +%s) + secs ))
n=0 ok=0
while [ "$(date +%s)" -lt "$end" ]; do
	n=$((n + 1))
	run_guest "r$n" 30 --soak 2
	case $grc in
	0) ok=$((ok + 1)) ;;
	1) ;;
	124|137) die "random: guest r$n hung (killed after 30 s)" ;;
	*) die "random: guest r$n crashed (status $grc)" ;;
	esac
	no_san "random r$n"
	kill -0 "$host" 2>/dev/null || die "random: the host died"
done
stop_host random
flips=$(grep -c "fault: random partition" "$dir/host.log" || true)
[ "$flips" -gt 0 ] || die "random: nothing was flipped"
echo "fault: random,probability=0.01,seed=42: $n guests in $secs s ($ok clean), $flips packets or messages flipped, no crash, no hang"
