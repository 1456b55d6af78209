#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every benchmark built under $BUILD/bench; each prints its table and
# writes JSON next to itself.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/*; do
	[ -x "$b" ] && [ -f "$b" ] && [[ $b != *.o ]] && [[ $b != *.d ]] || continue
	echo "== $(basename "$b")"
	"$b" "$b.json"
done
