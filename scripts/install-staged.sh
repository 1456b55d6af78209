#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install openvmbus into a staging directory and print the environment
# that builds and runs programs against that copy through pkg-config, as
# an embedder would against an installed one:
#
#   eval "$(scripts/install-staged.sh /tmp/stage)"
#   cc app.c $(pkg-config --cflags --libs openvmbus) -o app && ./app
#   cc nic.c $(pkg-config --cflags --libs openvmbus-linux) -o nic
#
# Usage: scripts/install-staged.sh DESTDIR [MAKE-VARIABLES...]
#   DESTDIR          staging root (created; `make install DESTDIR=...`)
#   MAKE-VARIABLES   passed to make, e.g. BUILD=build-san SAN=1; PREFIX
#                    (default /usr/local) and LIBDIR (PREFIX/lib) as well
# Prints export lines for PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR (so the
# -I and -L flags point into DESTDIR) and LD_LIBRARY_PATH; make's output
# goes to stderr.  Exit status: make's.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DESTDIR [MAKE-VARIABLES...]" >&2; exit 2; }
dest=$(mkdir -p "$1" && cd "$1" && pwd)
shift
prefix=/usr/local libdir=
for v in "$@"; do
	case $v in
	PREFIX=*) prefix=${v#PREFIX=} ;;
	LIBDIR=*) libdir=${v#LIBDIR=} ;;
	esac
done
libdir=${libdir:-$prefix/lib}
make -C "$(dirname "$0")/.." --no-print-directory -s install \
	PREFIX="$prefix" DESTDIR="$dest" "$@" >&2
q() { printf '%q' "$1"; }
echo "export PKG_CONFIG_PATH=$(q "$dest$libdir/pkgconfig")"
echo "export PKG_CONFIG_SYSROOT_DIR=$(q "$dest")"
echo "export LD_LIBRARY_PATH=$(q "$dest$libdir")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
