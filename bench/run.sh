#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every benchmark built under $BUILD/bench; each prints its table and
# writes JSON next to itself.  After bench/net, bench/net-peer.sh runs the
# peers (DPDK testpmd virtio-user<->vhost-user, DPDK's netvsc PMD over our
# host, iperf3 over veth) and merges them into net.json;
# DPDK is installed here when missing (scripts/run bench-deps), not by the
# test dependencies, so test runs do not pay for it.  After bench/storage,
# bench/remote-peer.sh compares remote disks (RBD) with fio's own engines
# and writes remote.json.  Then, as root, bench/fuse-peer.sh: the guest's
# disk through FUSE and loop against passthrough_ll and qemu-storage-daemon.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/*; do
	[ -x "$b" ] && [ -f "$b" ] && [[ $b != *.o ]] && [[ $b != *.d ]] || continue
	# Not benches of their own: bench/net-peer.sh runs them as peers.
	case $(basename "$b") in tapfwd | tapring) continue ;; esac
	echo "== $(basename "$b")"
	"$b" "$b.json"
	if [ "$(basename "$b")" = net ]; then
		if ! command -v dpdk-testpmd >/dev/null && [ "$(id -u)" = 0 ]; then
			scripts/run bench-deps || echo "bench: DPDK install failed"
		fi
		echo "== net peers"
		BUILD=$BUILD bench/net-peer.sh "$b.json"
	fi
	if [ "$(basename "$b")" = storage ]; then
		echo "== remote disks (bench/remote-peer.sh)"
		BUILD=$BUILD bench/remote-peer.sh "$BUILD/bench/remote.json"
	fi
done
# The guest's disk through FUSE + loop next to its peers (root: loop
# devices and mounts).
if [ "$(id -u)" = 0 ]; then
	command -v qemu-storage-daemon >/dev/null ||
		scripts/run bench-deps || echo "bench: qemu-storage-daemon install failed"
	echo "== fuse-peer"
	BUILD=$BUILD bench/fuse-peer.sh "$BUILD/bench/fuse-peer.json"
else
	echo "== fuse-peer: skipped (needs root)"
fi
