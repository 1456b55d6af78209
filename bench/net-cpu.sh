#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CPU time per frame by part, two bench/net binaries alternated.
#
#   bench/net-cpu.sh BEFORE_DIR AFTER_DIR [ROUNDS]
#
# BEFORE_DIR and AFTER_DIR hold a bench/net binary each (e.g. a build of
# main copied to /tmp/before, and build/bench).  For ROUNDS rounds (3) and
# each row (host->guest, guest->host, guest->guest; interrupt; 64 B) it
# runs the row's 2 s profile shape (`net JSON ROW`) under
# `perf record -e cpu-clock -F 4000`, before then after, and turns the
# samples into ns per frame received (samples x 250 us / frames), grouped
# by symbol:
#   work     every user-space sample but spinning (chan_spin,
#            ovb__spin_until, sched_yield) and kernel time
#   locks    pthread rwlock/mutex calls
#   switch   vsw_*, ovb_vswitch_*, ovb__vswitch_*
#   netvsp   netvsp's port, delivery and slots (netvsp*, deliver_*, port_*,
#            rss_run, pend_*, hold_*, slots_*, chain_put*, cache_put*)
#   wire     RNDIS header/PPI building and parsing (ovb_rndis_*), memmove
#            and memcpy (the frame's copy into its slot)
#   netvsc   the guest's NIC
#   ring     ring and channel code (ring*, chan_* but the spin, ovb_chan*)
# Prints one line per run and the median of each column per row and
# binary.  Timings are only comparable within one invocation (the two
# binaries alternate under the same load).
set -euo pipefail
before=${1:?usage: $0 BEFORE_DIR AFTER_DIR [ROUNDS]}
after=${2:?usage: $0 BEFORE_DIR AFTER_DIR [ROUNDS]}
rounds=${3:-3}
rows=('host->guest/interrupt/64' 'guest->host/interrupt/64'
      'guest->guest/interrupt/64')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v perf >/dev/null || { echo "perf not found" >&2; exit 1; }

# ns per frame by part for one perf.data and its bench output
parts() {
	local data=$1 out=$2 frames
	frames=$(grep -o '[0-9]* received' "$out" | head -1 | cut -d' ' -f1)
	[ -n "$frames" ] && [ "$frames" -gt 0 ] || { echo "no frames"; return; }
	perf report -i "$data" --stdio --no-children -g none -F sample,sym \
		--sort sym 2>/dev/null | grep -v '^#' |
	awk -v frames="$frames" '
	NF >= 3 {
		n = $1; k = $2; s = $3
		if (k != "[.]") next
		if (s ~ /^(chan_spin|chan_adapt_spin|ovb__spin_until|__sched_yield|sched_yield)$/) next
		work += n
		if (s ~ /pthread_(rwlock|mutex)|lll_lock|lll_unlock/) locks += n
		else if (s ~ /^(vsw_|ovb_vswitch_|ovb__vswitch_)/) sw += n
		else if (s ~ /^(ovb_rndis_|rndis_|__memmove|__memcpy|memcpy|memmove)/) wire += n
		else if (s ~ /netvsc/) netvsc += n
		else if (s ~ /netvsp|^deliver_|^port_|^rss_run|^pend_|^hold_|^slots_|^chain_put|^cache_put|^run_leave/) netvsp += n
		else if (s ~ /ring|^chan_|ovb_chan|ovb__chan/) ring += n
	}
	END {
		f = 250000.0 / frames
		printf "%6.1f %6.1f %6.1f %6.1f %6.1f %6.1f %6.1f\n", work * f,
		       locks * f, sw * f, netvsp * f, wire * f, netvsc * f,
		       ring * f
	}'
}

printf '%-26s %-7s %6s %6s %6s %6s %6s %6s %6s\n' row bin work locks \
	switch netvsp wire netvsc ring
for r in $(seq "$rounds"); do
	for row in "${rows[@]}"; do
		for b in before after; do
			dir=$before
			[ $b = after ] && dir=$after
			perf record -q -e cpu-clock -F 4000 -o "$tmp/p.data" -- \
				"$dir/net" "$tmp/x.json" "$row" \
				>"$tmp/out" 2>&1 || true
			line=$(parts "$tmp/p.data" "$tmp/out")
			echo "$row $b $line" >>"$tmp/all"
			printf '%-26s %-7s %s\n' "$row" $b "$line"
		done
	done
done
echo
echo "medians of $rounds rounds, ns per frame received:"
for row in "${rows[@]}"; do
	for b in before after; do
		grep -F "$row $b " "$tmp/all" | awk -v row="$row" -v b="$b" '
		{ for (i = 3; i <= 9; i++) v[i, NR] = $i; n = NR }
		END {
			printf "%-26s %-7s", row, b
			for (i = 3; i <= 9; i++) {
				for (j = 1; j <= n; j++) a[j] = v[i, j]
				for (j = 2; j <= n; j++)
					for (k = j; k > 1 && a[k - 1] > a[k]; k--) {
						t = a[k]; a[k] = a[k - 1]; a[k - 1] = t
					}
				printf " %6.1f", a[int((n + 1) / 2)]
			}
			printf "\n"
		}'
	done
done
