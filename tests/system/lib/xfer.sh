# SPDX-License-Identifier: MIT
# Sourced by the network system tests: TCP transfers between network
# namespaces, hashed at both ends (xfer.py).  Uses the caller's dir (logs).
#   xfer FROM-NS TO-NS TO-ADDR MIB [PORT]   one transfer; 1 on a failure
#   xfer_begin ... (same arguments), then xfer_end: several at once
# What each end printed ("BYTES SHA-256") stays in $dir/xferPORT.send and
# $dir/xferPORT.recv.
XFER_PY=$(dirname "${BASH_SOURCE[0]}")/xfer.py
xfer_ports=()
xfer_pids=()

xfer_begin() {
	local port=${5:-5999}
	rm -f "$dir/xfer$port.ready" "$dir/xfer$port.send" "$dir/xfer$port.recv"
	ip netns exec "$2" timeout 60 python3 "$XFER_PY" recv "$port" \
		"$dir/xfer$port.ready" >"$dir/xfer$port.recv" &
	xfer_pids+=($!)
	for _ in $(seq 200); do [ -f "$dir/xfer$port.ready" ] && break; sleep 0.02; done
	ip netns exec "$1" timeout 60 python3 "$XFER_PY" send "$3" "$port" \
		"$4" >"$dir/xfer$port.send" &
	xfer_pids+=($!)
	xfer_ports+=("$port")
}

xfer_end() {
	local p st=0
	for p in "${xfer_pids[@]}"; do wait "$p" || st=1; done
	for p in "${xfer_ports[@]}"; do
		[ -s "$dir/xfer$p.send" ] &&
			[ "$(cat "$dir/xfer$p.send")" = "$(cat "$dir/xfer$p.recv")" ] && continue
		echo "xfer (port $p): sent '$(cat "$dir/xfer$p.send" 2>/dev/null)', received '$(cat "$dir/xfer$p.recv" 2>/dev/null)'"
		st=1
	done
	[ $st = 0 ] || echo "xfer: a transfer failed or its SHA-256 did not match"
	xfer_pids=()
	xfer_ports=()
	return $st
}

xfer() {
	xfer_begin "$@"
	xfer_end
}
