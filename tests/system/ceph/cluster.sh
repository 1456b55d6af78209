# SPDX-License-Identifier: MIT
# A throw-away one-node Ceph cluster (Debian 12's ceph 16: one ceph-mon,
# one ceph-mgr, one ceph-osd with BlueStore on a sparse file), for the RBD
# tests and bench/remote-peer.sh.  Source this file, then:
#   ceph_up DIR          bring it up in DIR (ceph.conf, keyring, logs there)
#                        and create the pool "ovb" ready for RBD images
#   ceph_osd_kill        SIGKILL the OSD (nothing acknowledged may be lost)
#   ceph_osd_start       start it again and wait until pool ovb is active
#   ceph_down            kill every daemon (the EXIT trap should call it)
#   ceph_logs            print the daemons' logs (on failure)
# After ceph_up: CEPH_CONF (exported; the ceph tools and librados read it)
# is the configuration file.  No systemd, nothing outside DIR: the monitor listens on
# a free port of 127.0.0.1 and the other daemons bind in a random port range
# there, so several clusters can run side by side.  Every wait has a
# deadline; a failure prints the logs and returns non-zero.

CEPH_DIR=
CEPH_CONF=
CEPH_PIDS=()
CEPH_OSD_PID=


# The ceph tool with deadlines (it waits 300 s for a missing monitor).
ceph_cli() { timeout 30 ceph --connect-timeout 10 "$@"; }

ceph_logs() {
	local f
	for f in "$CEPH_DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "==== $f (last 40 lines)"
		tail -n 40 "$f"
	done
}

# ceph_wait SECONDS WHAT CMD...: retry CMD until it succeeds.
ceph_wait() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			echo "ceph: no $what after ${secs}s" >&2
			ceph_logs >&2
			return 1
		fi
		sleep 0.2
	done
}

# The pool answers: its placement groups are active, so the OSD is up and
# in.  rbd is a C++ program: a try costs far less than one of the Python
# ceph tool, which the waits below used to poll.
ceph_pool_active() { timeout 5 rbd ls ovb; }

ceph_osd_run() {
	ceph-osd -c "$CEPH_CONF" -i 0 -f >>"$CEPH_DIR/log/osd.0.out" 2>&1 &
	CEPH_OSD_PID=$!
	CEPH_PIDS+=("$CEPH_OSD_PID")
}

ceph_osd_start() {
	ceph_osd_run
	ceph_wait 60 "osd.0 up with pool ovb active" ceph_pool_active
}

ceph_osd_kill() {
	kill -KILL "$CEPH_OSD_PID" 2>/dev/null
	wait "$CEPH_OSD_PID" 2>/dev/null || true
	# Tell the monitor at once instead of waiting for the heartbeat grace.
	ceph_cli osd down 0 >/dev/null 2>&1 || true
}

# The cluster is thrown away: SIGKILL at once (a graceful OSD and manager
# shutdown took seconds of every test run), then reap.
ceph_down() {
	local p
	for p in "${CEPH_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${CEPH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	CEPH_PIDS=()
	return 0
}

ceph_up() { # DIR
	local dir=$1 fsid port base t0=$SECONDS
	CEPH_DIR=$dir
	export CEPH_CONF=$dir/ceph.conf
	mkdir -p "$dir/mon" "$dir/mgr" "$dir/osd0" "$dir/log" "$dir/run"
	fsid=$(uuidgen)
	# A free port for the monitor; the others bind in a random range.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	base=$((20000 + RANDOM % 20000))
	cat >"$CEPH_CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$port]
public addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $base
ms bind port max = $((base + 100))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
mon cluster log file = $dir/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon osd down out interval = 0
[mon]
mon data = $dir/mon
# Commit map changes at once, not in 1 s batches: the bring-up and an OSD
# restart wait on several of them in a row.
paxos propose interval = 0.05
[mgr]
mgr data = $dir/mgr
[osd]
osd data = $dir/osd0
osd objectstore = bluestore
bluestore block path = $dir/osd0.block
bluestore block create = true
bluestore block size = 8589934592
bluestore fsck on mkfs = false
bluestore fsck on mount = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
osd heartbeat grace = 5
[client]
log file = $dir/log/client.log
admin socket =
EOF
	local kr=$dir/keyring
	{ ceph-authtool "$kr" --create-keyring --gen-key -n mon. \
		--cap mon 'allow *' &&
	ceph-authtool "$kr" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' &&
	ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' \
		--cap mgr 'allow profile osd' --cap osd 'allow *' &&
	ceph-authtool "$kr" --gen-key -n mgr.x --cap mon 'allow profile mgr' \
		--cap mds 'allow *' --cap osd 'allow *'; } >"$dir/log/mkfs.log" &&
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" \
		"$dir/monmap" >/dev/null &&
	ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$dir/monmap" \
		--keyring "$kr" >>"$dir/log/mkfs.log" 2>&1 ||
		{ echo "ceph: keyring or monitor mkfs failed" >&2; cat "$dir/log/mkfs.log" >&2; return 1; }
	ceph-mon -c "$CEPH_CONF" -i a -f >"$dir/log/mon.a.out" 2>&1 &
	CEPH_PIDS+=($!)
	ceph_wait 30 "monitor quorum" timeout 5 rados lspools || return 1
	ceph-mgr -c "$CEPH_CONF" -i x -f >"$dir/log/mgr.x.out" 2>&1 &
	CEPH_PIDS+=($!)
	local uuid
	uuid=$(uuidgen)
	# One run of the (Python, slow to start) ceph tool for both monitor
	# commands: osd.0 registered, and the pool (size 1 from "osd pool
	# default size" above), created while the OSD is made and boots.
	printf 'osd new %s 0\nosd pool create ovb 8 8\n' "$uuid" |
		ceph_cli >>"$dir/log/mkfs.log" 2>&1 &&
	ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$uuid" \
		>>"$dir/log/mkfs.log" 2>&1 ||
		{ echo "ceph: osd or pool creation failed" >&2; ceph_logs >&2; cat "$dir/log/mkfs.log" >&2; return 1; }
	# `rbd pool init` tags the pool for RBD once its placement groups
	# are active.
	ceph_osd_run
	ceph_wait 60 "osd.0 up with pool ovb active" timeout 10 rbd pool init ovb ||
		return 1
	echo "ceph: one-node cluster up in $((SECONDS - t0))s (mon port $port)"
}
