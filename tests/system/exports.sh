#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared libraries export exactly the public API: their dynamic symbol
# tables (nm -D --defined-only) equal, both ways, the set of functions and
# variables the public headers (include/openvmbus/*.h and wire/) declare.
# Built with -fvisibility=hidden, the libraries export only what is marked
# OVB_API (include/openvmbus/api.h), so this fails when a public function
# lacks the mark (declared, not exported) and when an internal one gets it
# (exported, not declared).  Each symbol must come from the library its
# header names in its opening comment ("Library: libopenvmbus-linux"; no
# such line: libopenvmbus).  And the core library needs neither liburing
# nor libfuse3 (readelf -d), while libopenvmbus-linux needs the core;
# neither it nor the vmbus tool needs librbd or librados (loaded on
# demand by the first rbd: disk).
#
# How the headers are read: each public header is compiled alone with
# gcc's -aux-info, which writes one line per function declaration with
# the file and line it comes from; the extern functions whose line is in
# a public header are the declared functions (static inline helpers are
# not exported and not counted).  Variables are not in -aux-info: they
# are the top-level "extern" declarations without parentheses in the
# preprocessed header (cc -E), again only those from public headers.
# Needs a build (OVB_BUILD, default build/) and gcc as cc; no root.
set -u
cd "$(dirname "$0")/../.."
BUILD=${OVB_BUILD:-build}
CC=${CC:-cc}
LIBS=("$BUILD/libopenvmbus.so" "$BUILD/libopenvmbus-linux.so")
for l in "${LIBS[@]}"; do
	[ -f "$l" ] || { echo "exports: $l not built (make lib)"; exit 1; }
done
if ! echo 'int x;' | "$CC" -x c -fsyntax-only -aux-info /dev/null - \
	2>/dev/null; then
	echo "exports: skip: $CC has no -aux-info (gcc needed)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

hdrs=(include/openvmbus/*.h include/openvmbus/wire/*.h)
# Every public header (wire/ aside: formats only) brings the export mark.
for h in include/openvmbus/*.h; do
	[ "$h" = include/openvmbus/api.h ] && continue
	grep -q '^#include "api.h"' "$h" ||
		{ echo "exports: $h does not include \"api.h\""; exit 1; }
done
for h in "${hdrs[@]}"; do
	name=${h#include/}
	base=$tmp/$(echo "$name" | tr / _)
	printf '#include "%s"\n' "$name" >"$base.c"
	if ! "$CC" -std=c11 -D_GNU_SOURCE -Iinclude -I/usr/include/fuse3 \
		-fsyntax-only -aux-info "$base.aux" "$base.c" 2>"$base.err" ||
		! "$CC" -std=c11 -D_GNU_SOURCE -Iinclude -I/usr/include/fuse3 \
			-E "$base.c" >"$base.i" 2>>"$base.err"; then
		echo "exports: $name does not compile:"
		sed 's/^/    /' "$base.err" | head -n 5
		exit 1
	fi
done

for l in "${LIBS[@]}"; do
	nm -D --defined-only "$l" | awk -v lib="$(basename "$l" .so)" \
		'NF == 3 { print $3, lib }'
done | sort >"$tmp/exported"

bad=0
core_needs=$(readelf -d "$BUILD/libopenvmbus.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "exports: libopenvmbus needs:" $core_needs
if echo "$core_needs" | grep -E 'liburing|libfuse'; then
	echo "exports: the core library links liburing or libfuse3"
	bad=1
fi
# librbd and librados are dlopen()ed by the first rbd: disk
# (src/backend/rbd_lib.c): neither the library nor the tool links them.
for f in "$BUILD/libopenvmbus-linux.so" "$BUILD/vmbus"; do
	[ -f "$f" ] || continue
	needs=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	if echo "$needs" | grep -E 'librbd|librados'; then
		echo "exports: $(basename "$f") links librbd or librados"
		bad=1
	fi
done
echo "exports: libopenvmbus-linux and vmbus need no librbd/librados"
if ! readelf -d "$BUILD/libopenvmbus-linux.so" |
	grep -q 'NEEDED.*\[libopenvmbus\.so\.[0-9]*\]'; then
	echo "exports: libopenvmbus-linux does not link libopenvmbus"
	bad=1
fi

python3 - "$tmp" "$bad" <<'PY'
import glob
import os
import re
import sys

tmp = sys.argv[1]
PUBLIC = re.compile(r"^(?:\./)?include/openvmbus/")
declared = {}  # name -> header:line
header_of = {}  # name -> header path
LIB_LINE = re.compile(r"Library:(?:\s|\*)*(libopenvmbus(?:-linux)?)\b")


def library(header):
    """The library a header's opening comment names (default: the core)."""
    text = open(header).read()
    head = text[:text.find("#ifndef")]
    m = LIB_LINE.search(head)
    return m.group(1) if m else "libopenvmbus"

# Functions: "/* include/openvmbus/x.h:12:NC */ extern int f (int);"
AUX = re.compile(r"^/\* (\S+):(\d+):\w+ \*/ (.*)$")
for aux in glob.glob(os.path.join(tmp, "*.aux")):
    for line in open(aux):
        m = AUX.match(line)
        if not m or not PUBLIC.match(m.group(1)):
            continue
        decl = m.group(3)
        if not decl.startswith("extern "):
            continue  # static inline: not part of the ABI
        # the name is the identifier before the parameter list's "("
        n = re.search(r"(\w+) \((?!\*)", decl)
        if n:
            declared.setdefault(n.group(1), "%s:%s" % (m.group(1),
                                                       m.group(2)))
            header_of.setdefault(n.group(1), m.group(1))

# Variables: top-level extern declarations without "(" from public files.
MARK = re.compile(r'^# (\d+) "([^"]+)"')
for pre in glob.glob(os.path.join(tmp, "*.i")):
    keep, text = False, []
    for line in open(pre):
        m = MARK.match(line)
        if m:
            keep = bool(PUBLIC.match(m.group(2)))
            if keep:
                # a marker per header: variables know where they are from
                text.append(" @@%s@@ ; " % m.group(2))
            continue
        if keep:
            text.append(line)
    flat = " ".join(text)
    flat = re.sub(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)", "", flat)
    depth, start, where = 0, 0, None
    for i, c in enumerate(flat):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            st = flat[start:i].strip()
            start = i + 1
            mark = re.search(r"@@([^@]+)@@", st)
            if mark:
                where = mark.group(1)
                st = st[mark.end():].strip()
            if st.startswith("extern ") and "(" not in st:
                st = re.sub(r"\[[^\]]*\]", "", st).strip()
                name = re.findall(r"\w+", st)[-1]
                declared.setdefault(name, "%s (a variable)" % where)
                header_of.setdefault(name, where)

exported = {}
for line in open(os.path.join(tmp, "exported")):
    name, lib = line.split()
    if name.startswith("__odr_asan"):
        continue  # ASan's ODR indicator beside each exported variable
    exported[name] = lib

bad = int(sys.argv[2])
for name in sorted(set(declared) & set(exported)):
    want = library(header_of[name])
    if exported[name] != want:
        print("exports: %s (%s) is exported by %s, but its header says %s"
              % (name, declared[name], exported[name], want))
        bad += 1
for name in sorted(set(declared) - set(exported)):
    print("exports: %s is declared in %s but not exported "
          "(mark it OVB_API, or define it)" % (name, declared[name]))
    bad += 1
for name in sorted(set(exported) - set(declared)):
    print("exports: %s is exported by %s but declared in no public "
          "header (an internal symbol: it must not be OVB_API)"
          % (name, exported[name]))
    bad += 1
internal = [n for n in declared
            if re.match(r"(ovb__|netvsp__|netvsc__)", n)]
for name in sorted(internal):
    print("exports: internal name %s in a public header (%s)"
          % (name, declared[name]))
    bad += 1
print("exports: %d declared, %d exported, %d difference(s)"
      % (len(declared), len(exported), bad))
sys.exit(1 if bad else 0)
PY
