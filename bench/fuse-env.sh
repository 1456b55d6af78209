# SPDX-License-Identifier: MIT
# Sourced by bench/fuse-peer.sh and bench/fuse-qd1-trace.sh: what a FUSE
# bench started (pids), attached (loops) and mounted (mnts) in $dir, torn
# down on exit, and FUSE over io_uring's switch put back as it was
# ($uring_was, $URING_PARAM).
pids=() loops=() mnts=()

fuse_env_cleanup() {
	set +e
	[ -n "${uring_was:-}" ] && echo "$uring_was" >"$URING_PARAM" 2>/dev/null
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for m in "${mnts[@]}"; do umount -l "$m" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap fuse_env_cleanup EXIT
