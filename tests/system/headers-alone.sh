#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every public header compiles on its own: an embedder includes any one of
# include/openvmbus/ (or wire/) first, with nothing before it, and gets no
# error and no warning under the project's own warning list.  No root, no
# build needed.
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
WARN="-Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-align
-Wwrite-strings -Wmissing-prototypes -Wstrict-prototypes
-Wold-style-definition -Wformat=2 -Wundef -Wvla -Wno-unused-parameter"
bad=0 n=0
for h in include/openvmbus/*.h include/openvmbus/wire/*.h; do
	name=${h#include/}
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! out=$(printf '#include "%s"\n' "$name" |
		"$CC" -std=c11 -D_GNU_SOURCE -Iinclude -I/usr/include/fuse3 \
			$WARN -fsyntax-only -x c - 2>&1); then
		echo "headers-alone: $name does not compile on its own:"
		echo "$out" | head -n 5 | sed 's/^/    /'
		bad=$((bad + 1))
	fi
done
echo "headers-alone: $n headers, $bad failed"
[ "$bad" = 0 ]
