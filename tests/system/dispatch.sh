#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pair scenarios again with every fixture's server caller-driven
# (OVB_TEST_DISPATCH=caller: no host threads, a test thread plays the
# embedder's loop): echo traffic of every kind, rescind, sub-channels,
# signalling modes, the lock contract, hostile guests on messages and
# rings, storage I/O with polling, hot add and host death, and the socket
# link's host running everything on its one thread.
set -u
BUILD=${OVB_BUILD:-build}
rc=0
for t in test-bus test-bus-locks test-hostile-guest test-hostile-guest-ring \
	 test-storage test-storage-batch test-storage-poll test-storage-hostile \
	 test-fault-echo test-socket; do
	bin=$BUILD/tests/pair/$t
	if [ ! -x "$bin" ]; then
		echo "dispatch: $bin not built"
		exit 1
	fi
	start=$(date +%s%N)
	if OVB_TEST_DISPATCH=caller "$bin" >"$BUILD/test-logs/dispatch-$t.log" 2>&1; then
		echo "caller-driven $t: ok ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
	else
		echo "caller-driven $t: FAILED (log: $BUILD/test-logs/dispatch-$t.log)"
		grep -E 'ERROR|FAILED|LINE' "$BUILD/test-logs/dispatch-$t.log" | head -20
		rc=1
	fi
done
exit $rc
