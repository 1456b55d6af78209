#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The example embedder (examples/embed-disk.c) as a user builds it: the
# library installed into a staging root (make install DESTDIR= PREFIX=/usr),
# the example compiled with examples/Makefile against that copy through
# pkg-config (openvmbus: the core library only), and run against its
# shared library.  It serves a RAM disk to its own guest with a
# caller-driven server in its own epoll loop, and exits 0 only if every
# block read back matches.
set -eu
BUILD=${OVB_BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
san= cflags=
if [[ $BUILD == *-san ]]; then
	san=1 # the library is instrumented: so must the program be
	cflags="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
if ! make -s --no-print-directory install BUILD="$BUILD" SAN=$san \
	DESTDIR="$dir/root" PREFIX=/usr >"$dir/install.log" 2>&1; then
	echo "embed: make install failed"; cat "$dir/install.log"; exit 1
fi
export PKG_CONFIG_PATH=$dir/root/usr/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dir/root
echo "pkg-config: $(pkg-config --cflags --libs openvmbus)"
make -s --no-print-directory -C "$dir" -f "$PWD/examples/Makefile" \
	VPATH="$PWD/examples" CFLAGS="-O2 -g -Wall -Wextra -Werror $cflags"
# It must not have picked up the source tree's headers or libraries.
if grep -q "$PWD/include\|$PWD/$BUILD" <(make -s -n -B -C "$dir" \
	-f "$PWD/examples/Makefile" VPATH="$PWD/examples"); then
	echo "embed: the example was built against the source tree"; exit 1
fi
export LD_LIBRARY_PATH=$dir/root/usr/lib
ldd "$dir/embed-disk" >"$dir/ldd"
if ! grep -q "$dir/root/usr/lib/.*libopenvmbus.so" "$dir/ldd"; then
	echo "embed: not linked against the installed shared library"
	cat "$dir/ldd"; exit 1
fi
# The core library is enough: no OS library, no io_uring, no FUSE.
if grep -q "libopenvmbus-linux\|liburing\|libfuse" "$dir/ldd"; then
	echo "embed: the example pulled in more than the core library"
	cat "$dir/ldd"; exit 1
fi
timeout 60 "$dir/embed-disk"
