#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make install` into a temporary DESTDIR (scripts/install-staged.sh), then
# build, link and run two small programs against that copy the way an
# embedder does, with nothing but pkg-config:
#  - a core program (pkg-config openvmbus): a server with the echo VSP, an
#    inproc guest, a connected client and one echo round trip; its link
#    line names neither -luring nor -lfuse3 (also with --static), its
#    binary needs neither library, and it links from the static archive
#    alone too;
#  - an OS program (pkg-config openvmbus-linux): an io_uring image file
#    through the block interface and a socket-link host, needing
#    libopenvmbus-linux.
# Also: only public headers are installed, both libraries have a soname
# and their links, both .pc files name the staged prefix.  No root.
set -u
cd "$(dirname "$0")/../.."
BUILD=${OVB_BUILD:-build}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install: $*"; exit 1; }

san=()
[[ $BUILD == *-san ]] && san=(SAN=1)
env=$(scripts/install-staged.sh "$tmp/root" BUILD="$BUILD" "${san[@]}" \
	2>"$tmp/make.log") || { cat "$tmp/make.log"; fail "make install failed"; }
eval "$env"
lib=$tmp/root/usr/local/lib
inc=$tmp/root/usr/local/include/openvmbus

# ---- what was installed ----
for h in api.h server.h client.h vsp.h vsc.h hv.h link.h link_socket.h \
	blk_file.h wire/vmbus.h wire/ring.h; do
	[ -f "$inc/$h" ] || fail "public header $h not installed"
done
for h in nvsp.h rndis.h vstor.h toeplitz.h scsi_target.h inproc_test.h \
	offload_priv.h fault_hook.h; do
	[ ! -e "$inc/$h" ] || fail "private header $h installed"
done
[ "$(ls "$inc"/*.h | wc -l)" = "$(ls include/openvmbus/*.h | wc -l)" ] ||
	fail "installed headers differ from include/openvmbus/"
for l in libopenvmbus libopenvmbus-linux; do
	[ -f "$lib/$l.a" ] || fail "$l.a not installed"
	so=$(readelf -d "$lib/$l.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$so" = "$l.so.0" ] || fail "$l.so has soname '$so', want $l.so.0"
	[ -e "$lib/$so" ] || fail "$lib/$so (the soname link) missing"
done
for pc in openvmbus openvmbus-linux; do
	grep -qx 'prefix=/usr/local' "$lib/pkgconfig/$pc.pc" ||
		fail "$pc.pc does not say prefix=/usr/local"
done
pkg-config --print-requires openvmbus-linux | grep -q '^openvmbus' ||
	fail "openvmbus-linux.pc does not require openvmbus"

# ---- the core program ----
cat >"$tmp/core.c" <<'EOF'
#include <stdio.h>
#include <string.h>

#include <openvmbus/client.h>
#include <openvmbus/echo.h>
#include <openvmbus/link.h>
#include <openvmbus/server.h>

int main(void)
{
	struct ovb_echo_vsp_cfg cfg = { .instances = 1 };
	struct ovb_echo_driver_ctx drv = { 0 };
	struct ovb_inproc_params ip = { .name = "staged", .mem_gpa = 1ull << 30,
					.mem_size = 8u << 20 };
	struct echo_msg req = { .op = ECHO_OP_PING, .len = 5 }, rep;
	struct ovb_server *srv;
	struct ovb_inproc *l;
	struct ovb_echo *e;
	struct ovb_client *cl;
	char back[5] = "";
	int rc;

	if (ovb_server_create(&srv) ||
	    ovb_server_register_vsp(srv, &ovb_echo_vsp_ops, &cfg) ||
	    ovb_inproc_create(srv, &ip, &l))
		return 1;
	cl = ovb_inproc_client(l);
	if (ovb_client_register_driver(cl, &ovb_echo_driver, &drv) ||
	    ovb_client_connect(cl, 0, 10000) || drv.ndev < 1 ||
	    ovb_echo_open(drv.dev[0], 16384, NULL, &e))
		return 2;
	rc = ovb_echo_call(e, &req, "hello", NULL, 0, &rep, back,
			   sizeof(back), 10000);
	ovb_echo_close(e);
	ovb_inproc_destroy(l);
	ovb_server_destroy(srv);
	if (rc || rep.status || memcmp(back, "hello", 5))
		return 3;
	printf("core: VMBus echo round trip over the installed library\n");
	return 0;
}
EOF

# ---- the OS program ----
cat >"$tmp/os.c" <<'EOF'
#include <stdio.h>

#include <openvmbus/blk.h>
#include <openvmbus/blk_file.h>
#include <openvmbus/link_socket.h>
#include <openvmbus/server.h>

int main(int argc, char **argv)
{
	struct ovb_disk_spec spec;
	struct ovb_blk *blk;
	struct ovb_server *srv;
	struct ovb_link_host *h;
	char err[128], arg[512];

	if (argc != 3)
		return 1;
	snprintf(arg, sizeof(arg), "%s,size=1M", argv[1]);
	if (ovb_disk_spec_parse(arg, &spec, err, sizeof(err)) ||
	    ovb_blk_file_open(&spec, &blk))
		return 2;
	ovb_blk_close(blk);
	if (ovb_server_create(&srv) ||
	    ovb_link_host_create(srv, argv[2], &h))
		return 3;
	ovb_link_host_destroy(h);
	ovb_server_destroy(srv);
	printf("os: an io_uring image file and a socket-link host\n");
	return 0;
}
EOF

# An ASan build's libraries need the programs built with it too.
xflags=()
readelf -d "$lib/libopenvmbus.so" | grep -q 'NEEDED.*libasan' &&
	xflags=(-fsanitize=address,undefined)

libs=$(pkg-config --libs openvmbus) && slibs=$(pkg-config --static --libs openvmbus) ||
	fail "pkg-config openvmbus failed"
echo "install: pkg-config --libs openvmbus: $libs"
case " $libs $slibs " in
*-luring* | *-lfuse3*) fail "the core link line names liburing or libfuse3" ;;
esac
# shellcheck disable=SC2046
"$CC" "${xflags[@]}" -Wall -Werror -o "$tmp/core" "$tmp/core.c" \
	$(pkg-config --cflags openvmbus) $libs || fail "core program did not build"
needs=$(readelf -d "$tmp/core" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "install: core program needs: $needs"
case " $needs " in
*" libopenvmbus.so.0 "*) ;;
*) fail "core program does not need libopenvmbus.so.0" ;;
esac
case " $needs " in
*liburing* | *libfuse* | *libopenvmbus-linux*) fail "core program needs an OS library" ;;
esac
"$tmp/core" || fail "core program failed (exit $?)"

# The same program from the static archive, with the static link line.
# shellcheck disable=SC2046
"$CC" "${xflags[@]}" -Wall -Werror -o "$tmp/core-static" "$tmp/core.c" \
	$(pkg-config --cflags openvmbus) -Wl,-Bstatic -lopenvmbus -Wl,-Bdynamic \
	$(pkg-config --static --libs openvmbus | sed 's/-lopenvmbus\b//') ||
	fail "core program did not link from libopenvmbus.a alone"
readelf -d "$tmp/core-static" | grep -q 'NEEDED.*libopenvmbus' &&
	fail "core-static still needs the shared library"
"$tmp/core-static" >/dev/null || fail "static core program failed"

olibs=$(pkg-config --libs openvmbus-linux) || fail "pkg-config openvmbus-linux failed"
echo "install: pkg-config --libs openvmbus-linux: $olibs"
# shellcheck disable=SC2046
"$CC" "${xflags[@]}" -Wall -Werror -o "$tmp/os" "$tmp/os.c" \
	$(pkg-config --cflags openvmbus-linux) $olibs ||
	fail "OS program did not build"
readelf -d "$tmp/os" | grep -q 'NEEDED.*libopenvmbus-linux\.so\.0' ||
	fail "OS program does not need libopenvmbus-linux.so.0"
"$tmp/os" "$tmp/disk.img" "$tmp/host.sock" || fail "OS program failed"
echo "install: ok"
