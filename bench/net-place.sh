#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One bench/net row with its five threads placed by hand: what the
# scheduler's placement does to guest->switch->guest (docs/net-perf.md,
# "the slow state is a placement").  Runs the row unpinned by bench/net
# (NET_PIN=0) and, as soon as its threads exist, binds each named thread:
#   Ts  the sender (bench's main thread)   Wa  sending guest's worker
#   Wb  receiving guest's worker           Ha  host's worker of the
#   sender's channel (the frame copies)    Hb  host's worker of the
#   receiver's channel (slot completions)
# Threads are told apart by creation order (bench/net's as of session 13).
#   bench/net-place.sh ROW "Ha:0 Hb:0 Ts:1 Wa:1 Wb:1"
#   bench/net-place.sh "guest->guest/interrupt/64" ""   (no pinning)
# Prints Mpps, CPUs, M frames per CPU-s and each guest worker's sleeps.
set -u
cd "$(dirname "$0")/.."
NET=${NET:-${BUILD:-build}/bench/net}
[ $# -ge 2 ] || { sed -n '3,14p' "$0"; exit 2; }
out=$(mktemp)
trap 'rm -f "$out" "$out.json"' EXIT
NET_PIN=0 "$NET" "$out.json" "$1" >"$out" &
bp=$!
for _ in $(seq 250); do
	sleep 0.02
	c=$(cat /proc/$bp/task/$bp/children 2>/dev/null | tr -d ' ')
	[ -n "$c" ] || continue
	bt=($(ls /proc/$bp/task 2>/dev/null | sort -n))
	ht=($(ls /proc/$c/task 2>/dev/null | sort -n))
	[ ${#bt[@]} -ge 7 ] && [ ${#ht[@]} -ge 5 ] && break
done
declare -A t=([Ts]=${bt[0]} [Wa]=${bt[3]} [Wb]=${bt[6]} [Ha]=${ht[2]} [Hb]=${ht[4]})
for kv in $2; do
	taskset -p -c "${kv#*:}" "${t[${kv%%:*}]}" >/dev/null ||
		echo "net-place: cannot pin ${kv%%:*}"
done
wait $bp || { cat "$out"; exit 1; }
grep -E "B #1 |guest:" "$out" | sed -E \
	-e 's/.*B #1 +([0-9]+) pkt.*; ([0-9.]+) CPUs, ([0-9.]+) M frames.*, ([0-9]+) sleeps\)/\1 pkt\/s \2 CPUs \3 M frames per CPU-s \4 sleeps:/' \
	-e 's/.*(sending|receiving) guest:.* ([0-9]+) sleeps, .*/ \1 \2/' | tr '\n' ' '
echo " [${2:-unpinned}]"
