# SPDX-License-Identifier: MIT
# Sourced by the FUSE system tests (disk.sh, guest-stop.sh) after their
# root and /dev/fuse checks: the calling script ($0) runs once per FUSE
# transport, our FUSE over io_uring (OVB_FUSE_MODE=on) and then libfuse
# (off), and ends with the first failure; inside a run, the io_uring one
# is skipped on a kernel without FUSE over io_uring.
if [ -z "${OVB_FUSE_MODE:-}" ]; then
	for m in on off; do
		echo "--- --fuse-uring=$m"
		OVB_FUSE_MODE=$m bash "$0" || exit $?
	done
	exit 0
fi
if [ "$OVB_FUSE_MODE" = on ] && [ ! -e /sys/module/fuse/parameters/enable_uring ]; then
	echo "skip: this kernel has no FUSE over io_uring"; exit 77
fi
