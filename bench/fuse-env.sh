# SPDX-License-Identifier: MIT
# Sourced by bench/fuse-peer.sh and the two trace scripts: what a FUSE
# bench started (pids), attached (loops) and mounted (mnts) in $dir, torn
# down on exit, and FUSE over io_uring's switch put back as it was
# ($uring_was, $URING_PARAM); the trace scripts' two targets started the
# same way (fuse_env_ours_start / _stop, fuse_env_pt_start / _stop).
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

# Our host with a SIZE_MB disk and a guest mounting it at $dir/ours.mnt
# (options TRACE_HOST, TRACE_GUEST); sets hpid, gpid and ours_disk.
fuse_env_ours_start() {
	local img=$dir/ours.img sock=$dir/ours.sock mnt=$dir/ours.mnt
	dd if=/dev/zero of="$img" bs=1M count="$SIZE_MB" status=none
	# shellcheck disable=SC2086
	"$VMBUS" host --socket "$sock" --echo 0 --disk "$img,size=${SIZE_MB}M" ${TRACE_HOST:-} 2>"$dir/host.log" &
	hpid=$!; pids+=("$hpid")
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	# shellcheck disable=SC2086
	"$VMBUS" guest --socket "$sock" --name trace --mount "$mnt" ${TRACE_GUEST:---fuse-uring=on} >"$dir/guest.log" 2>&1 &
	gpid=$!; pids+=("$gpid"); mnts+=("$mnt")
	for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && break; sleep 0.05; done
	ours_disk=$mnt/scsi0/lun0
	echo "ours: vmbus host ${TRACE_HOST:-}; vmbus guest ${TRACE_GUEST:---fuse-uring=on}"
}
fuse_env_ours_stop() {
	kill -TERM "$gpid"; wait "$gpid" 2>/dev/null
	kill -INT "$hpid"; wait "$hpid" 2>/dev/null
	rm -f "$dir/ours.img"
}

# libfuse's passthrough_ll (built from libfuse3-dev's example) over a
# SIZE_MB file, mounted at $dir/pt.mnt; sets ppid and pt_disk, or says why
# not and returns 1.
fuse_env_pt_start() {
	local src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
	local back=$dir/pt.src mnt=$dir/pt.mnt
	mkdir -p "$back" "$mnt"
	# shellcheck disable=SC2046
	if ! cc -O2 -Wall -o "$dir/passthrough_ll" "$src" $(pkg-config --cflags --libs fuse3) 2>"$dir/pt.cc"; then
		echo "pt: skipped: passthrough_ll did not build (libfuse3-dev)"
		return 1
	fi
	dd if=/dev/zero of="$back/disk.img" bs=1M count="$SIZE_MB" status=none
	"$dir/passthrough_ll" -f -o "source=$back" "$mnt" 2>"$dir/pt.log" &
	ppid=$!; pids+=("$ppid"); mnts+=("$mnt")
	for _ in $(seq 100); do [ -e "$mnt/disk.img" ] && break; sleep 0.05; done
	pt_disk=$mnt/disk.img
}
fuse_env_pt_stop() {
	umount "$dir/pt.mnt"; kill -TERM "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null
}
