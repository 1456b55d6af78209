#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test runner: every test program under $BUILD/tests/{unit,pair}, every
# tests/system/*.sh script, and every libFuzzer target for a bounded time.
# Exit status of a test: 0 pass, 77 skip (it prints why), anything else fail.
# Ends with one line: "N passed, N failed, N skipped".
#   TESTS=pattern   run only tests whose name matches the pattern
#   FUZZ_SECONDS=n  seconds per fuzz target (default 10; 0 skips fuzzing)
# The echo, storage and net pair suites run a second time as NAME@anon with
# OVB_TEST_ANON_MEMORY=1: anonymous guest RAM behind the host-memory
# provider, GPADLs scattered in host memory (tests/lib/pair.h).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
TIMEOUT=${TEST_TIMEOUT:-300}
pattern=${TESTS:-}
export OVB_BUILD=$BUILD OVB_VMBUS=$PWD/$BUILD/vmbus
logdir=$BUILD/test-logs
mkdir -p "$logdir"

pass=0 fail=0 skip=0 failed=()

run_one() {
	local name=$1; shift
	[ -n "$pattern" ] && [[ $name != *$pattern* ]] && return
	local log=$logdir/${name//\//_}.log start end rc
	start=$(date +%s%N)
	timeout --kill-after=10 "$TIMEOUT" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s%N)
	local ms=$(((end - start) / 1000000))
	local secs=$((ms / 1000)).$((ms % 1000 / 100))
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-40s %6ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1))
	    printf 'SKIP %-40s %s\n' "$name" "$(grep -m1 -i 'skip' "$log" || tail -n1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf 'FAIL %-40s %6ss (exit %d)\n' "$name" "$secs" "$rc"
	   sed 's/^/    | /' "$log" | tail -n 40 ;;
	esac
}

for t in "$BUILD"/tests/unit/test-* "$BUILD"/tests/pair/test-*; do
	[ -x "$t" ] && [ -f "$t" ] && [[ $t != *.o ]] && [[ $t != *.d ]] || continue
	run_one "${t#"$BUILD"/tests/}" "$t"
done

for t in test-bus test-storage test-capture-storage test-net test-net-rss; do
	[ -x "$BUILD/tests/pair/$t" ] || continue
	run_one "pair/$t@anon" env OVB_TEST_ANON_MEMORY=1 "$BUILD/tests/pair/$t"
done

for s in tests/system/*.sh; do
	[ -f "$s" ] || continue
	run_one "system/$(basename "$s" .sh)" bash "$s"
done

if [ "$FUZZ_SECONDS" != 0 ]; then
	for f in build-fuzz/fuzz-*; do
		[ -x "$f" ] && [ -f "$f" ] && [[ $f != *.o ]] && [[ $f != *.d ]] || continue
		n=$(basename "$f")
		corpus=$BUILD/fuzz-corpus/$n
		mkdir -p "$corpus"
		seeds=()
		[ -d "tests/fuzz/seeds/$n" ] && seeds=("tests/fuzz/seeds/$n")
		run_one "fuzz/$n" "$f" -max_total_time="$FUZZ_SECONDS" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			"$corpus" "${seeds[@]}"
	done
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
