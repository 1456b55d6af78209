#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vmbus stat --json against a running host shows the traffic a guest just
# sent; a missing host is one clear line and exit 1.
set -eu
VMBUS=${OVB_VMBUS:-build/vmbus}
dir=$(mktemp -d)
sock=$dir/host.sock
trap 'kill -INT $host 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

"$VMBUS" host --socket "$sock" 2>"$dir/host.log" &
host=$!
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.05; done

# The soak outlasts both stat calls below, even on a loaded machine.
"$VMBUS" guest --socket "$sock" --name statguest --soak 6 >"$dir/guest.log" &
guest=$!
for _ in $(seq 100); do grep -q "soak: 1000 pings" "$dir/guest.log" && break; sleep 0.05; done

"$VMBUS" stat --socket "$sock" --json >"$dir/stat.json"
python3 - "$dir/stat.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
parts = [p for p in doc["partitions"] if p["name"] == "statguest"]
assert parts, "partition statguest missing from stat"
chans = [c for c in parts[0]["channels"] if c["device"] == "echo" and c["open"]]
assert chans, "no open echo channel"
pk = max(c["packets_in"] for c in chans)
assert pk >= 1000, f"only {pk} packets counted"
assert parts[0]["vmbus_version"] == "6.0"
assert all(c["errors"] == 0 for c in chans)
print(f"stat: partition statguest, {pk} packets in on relid {chans[0]['relid']}")
PY
"$VMBUS" stat --socket "$sock" --once | grep -q "statguest"
wait $guest

if "$VMBUS" stat --socket "$dir/none.sock" --json 2>"$dir/err"; then
	echo "stat against no host succeeded"; exit 1
fi
[ "$(wc -l <"$dir/err")" = 1 ] && grep -q "cannot reach" "$dir/err"
echo "stat: missing host reported as: $(cat "$dir/err")"
