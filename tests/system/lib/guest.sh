# SPDX-License-Identifier: MIT
# Sourced by the remote-disk system tests (nbd.sh, rbd.sh): a guest
# mounting the host's disks over FUSE, and stopping guest and host.
# Uses the caller's VMBUS, sock (the host's socket), mnt (the FUSE mount
# point), dir (logs), host (the host's pid), pids (killed on cleanup) and
# fail; sets guest.
#   GUEST_LOG_PREFIX  the guest's log is $dir/${GUEST_LOG_PREFIX}NAME.log
#   GUEST_STOP_MOUNT  1: stop_all fails if the FUSE mount outlived the guest

# start_guest NAME: a guest named NAME; returns once it shows lun 0.
start_guest() {
	"$VMBUS" guest --socket "$sock" --name "$1" --mount "$mnt" \
		>"$dir/${GUEST_LOG_PREFIX:-}$1.log" 2>&1 &
	guest=$!
	pids+=("$guest")
	for _ in $(seq 200); do [ -e "$mnt/scsi0/lun0" ] && return; sleep 0.05; done
	fail "guest $1 never exposed scsi0/lun0"
}

# stop_all: the guest (SIGTERM), then the host (SIGINT, must exit 0).
stop_all() {
	kill -TERM "$guest"; wait "$guest" || true
	kill -INT "$host"; wait "$host" || fail "host exit status $?"
	pids=()
	if [ "${GUEST_STOP_MOUNT:-0}" = 1 ] && mountpoint -q "$mnt"; then
		fail "FUSE mount left behind"
	fi
	return 0
}
