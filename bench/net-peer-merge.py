#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/net-peer-merge.py NET_JSON ROWS: the report of bench/net-peer.sh.

Reads the peers' rows net-peer.sh measured (ROWS: one tab-separated line
per row: name, path, mode, frame size, pkt/s, Gbit/s, note; "-" where a
row was skipped), merges them as "peers" into the JSON bench/net wrote
(NET_JSON; a fresh one if it has none), adds the ratios of our rows to
the peers' and the goals, and prints the tables.
"""
import json, re, sys

path, rows = sys.argv[1], sys.argv[2]
try:
    doc = json.load(open(path))
except (OSError, ValueError):
    doc = {"bench": "net", "results": []}
peers = []
for line in open(rows):
    name, p, mode, size, pps, gbps, note = line.rstrip("\n").split("\t")
    peers.append({"peer": name, "path": p, "mode": mode, "frame": int(size),
                  "pps": None if pps == "-" else float(pps),
                  "gbps": None if gbps == "-" else float(gbps),
                  "note": note})
    c = re.search(r"cpu (\d+) ns/KiB", note)
    if c:
        peers[-1]["cpu_ns_per_kib"] = int(c.group(1))
    c = re.search(r"switches ([0-9.]+)/MiB", note)
    if c:
        peers[-1]["switches_per_mib"] = float(c.group(1))
    c = re.search(r"sleeps ([0-9.]+)/MiB", note)
    if c:
        peers[-1]["sleeps_per_mib"] = float(c.group(1))
# Ratios and goals use bench/net's two-process rows (host in its own
# process over the socket link), the shape of the DPDK pair; its inproc
# rows are printed, not compared.
ours = {(r["path"], r["mode"], r["frame"]): r for r in doc.get("results", [])
        if r.get("link") == "socket"}
ratios = []
for pr in peers:
    if pr["peer"] != "dpdk-vhost-user" or not pr["pps"]:
        continue
    for mode in ("interrupt", "polling"):
        o = ours.get((pr["path"], mode, pr["frame"]))
        if o:
            ratios.append({"metric": "pps", "path": pr["path"],
                           "frame": pr["frame"], "ours": mode,
                           "peer": "dpdk " + pr["mode"].split(",")[1],
                           "ratio": round(o["pps"] / pr["pps"], 3)})
# DPDK's netvsc PMD over our host against DPDK's virtio-user over
# vhost-user: the same testpmd options, path and frame size.
for pr in peers:
    if pr["peer"] != "dpdk-netvsc-ovb" or not pr["pps"]:
        continue
    v = next((d for d in peers if d["peer"] == "dpdk-vhost-user"
              and d["path"] == pr["path"] and d["frame"] == pr["frame"]
              and d["mode"] == pr["mode"] and d["pps"]), None)
    if v:
        ratios.append({"metric": "pps", "path": pr["path"],
                       "frame": pr["frame"], "ours": "netvsc-pmd",
                       "peer": "virtio-user " + pr["mode"].split(",")[1],
                       "ratio": round(pr["pps"] / v["pps"], 3)})
# The protocol floor against DPDK (nohuge, same frame), and ours
# (guest->host, best mode) against the floor of netvsc's shape (8 frames
# per packet) and of one frame per packet; host->guest against the floor
# of netvsp's batch towards a guest (64 frames per packet).
for pr in peers:
    if pr["peer"] != "ovb-ring-floor" or not pr["pps"]:
        continue
    v = next((d for d in peers if d["peer"] == "dpdk-vhost-user"
              and d["path"] == "guest->host" and d["frame"] == pr["frame"]
              and d["mode"] == "polling,nohuge" and d["pps"]), None)
    if v:
        ratios.append({"metric": "pps", "path": "guest->host",
                       "frame": pr["frame"], "ours": "floor " + pr["mode"],
                       "peer": "dpdk nohuge",
                       "ratio": round(pr["pps"] / v["pps"], 3)})
    best = max((r["pps"] for k, r in ours.items()
                if k[0] == "guest->host" and k[2] == pr["frame"]),
               default=None)
    if best:
        ratios.append({"metric": "pps", "path": "guest->host",
                       "frame": pr["frame"], "ours": "best of ours",
                       "peer": "floor " + pr["mode"],
                       "ratio": round(best / pr["pps"], 3)})
    best = max((r["pps"] for k, r in ours.items()
                if k[0] == "host->guest" and k[2] == pr["frame"]),
               default=None)
    if best and pr["mode"].endswith(",64/packet"):
        ratios.append({"metric": "pps", "path": "host->guest",
                       "frame": pr["frame"], "ours": "best of ours",
                       "peer": "floor " + pr["mode"],
                       "ratio": round(best / pr["pps"], 3)})
# TCP rows are compared at the same MTU and streams.
FWD = ("tapfwd-tcp", "tapfwd-copy-tcp")
TR = ("tapring-tcp", "tapring-nocopy-tcp", "tapring-two-tcp")


def tcp_rows(names):
    """The measured TCP rows of the peers NAMES."""
    return [p for p in peers if p["peer"] in names and p["gbps"]]


def tcp_peer(name, like):
    """Peer NAME's row at LIKE's MTU and streams, or None."""
    return next((p for p in tcp_rows((name,)) if p["mode"] == like["mode"]
                 and p["frame"] == like["frame"]), None)


def tcp_ratio(a, b, a_label=None):
    """Row A's Gbit/s over row B's; A is named by A_LABEL or its peer."""
    ratios.append({"metric": "tcp_gbps", "path": "guest->guest",
                   "frame": a["frame"],
                   "ours": a_label or a["peer"][:-4] + " " + a["mode"],
                   "peer": b["peer"][:-4] + " " + b["mode"],
                   "ratio": round(a["gbps"] / b["gbps"], 3)})


# Our TAPs through the switch against veth, and against the TAP floor:
# bench/tapfwd (and with one more copy).
tcp = []
for tap in tcp_rows(("ovb-tap-tcp",)):
    veth = tcp_peer("veth-tcp", tap)
    if veth:
        tcp.append((tap, veth))
        tcp_ratio(tap, veth, "tap+switch " + tap["mode"])
    for f in filter(None, (tcp_peer(n, tap) for n in FWD)):
        tcp_ratio(tap, f, "tap+switch " + tap["mode"])
# Our design's floor (bench/tapring: three processes, rings, one copy):
# ours against it, and it against the TAP floor.
for tap in tcp_rows(("ovb-tap-tcp",)):
    for f in filter(None, (tcp_peer(n, tap) for n in TR)):
        tcp_ratio(tap, f, "tap+switch " + tap["mode"])
for f in tcp_rows(TR):
    for t in filter(None, (tcp_peer(n, f) for n in FWD)):
        tcp_ratio(f, t)
# The floor itself against veth: what any TAP-ended design loses.
for f in tcp_rows(FWD):
    veth = tcp_peer("veth-tcp", f)
    if veth:
        tcp_ratio(f, veth)

# The goals: 64 B packets/s at least DPDK's (best of our modes
# against the better DPDK variant) both ways; TAP TCP at least veth.
goals = {}
for p in ("guest->host", "host->guest"):
    best_ours = max((r["pps"] for k, r in ours.items()
                     if k[0] == p and k[2] == 64), default=None)
    best_dpdk = max((d["pps"] for d in peers if d["peer"] == "dpdk-vhost-user"
                     and d["path"] == p and d["frame"] == 64 and d["pps"]),
                    default=None)
    if best_ours and best_dpdk:
        goals["pps64 " + p] = {"ours": best_ours, "dpdk": best_dpdk,
                               "ratio": round(best_ours / best_dpdk, 3),
                               "met": best_ours >= best_dpdk}
for tap, veth in tcp:
    goals["tcp %s MTU %d" % (tap["mode"], tap["frame"])] = {
        "ours": tap["gbps"], "veth": veth["gbps"],
        "ratio": round(tap["gbps"] / veth["gbps"], 3),
        "met": tap["gbps"] >= veth["gbps"]}
doc["peers"], doc["ratios"], doc["goals"] = peers, ratios, goals
json.dump(doc, open(path, "w"), indent=1)

print("\n%-16s %-13s %-15s %6s %12s %9s" %
      ("who", "path", "mode", "frame", "pkt/s", "Gbit/s"))
for r in doc.get("results", []):
    print("%-16s %-13s %-15s %6d %12.0f %9.3f" %
          ("ovb-" + r.get("link", "inproc"), r["path"], r["mode"], r["frame"],
           r["pps"], r["gbps"]))
for p in peers:
    if p["gbps"] is None:
        print("%-16s %-13s %-15s %6d  %s" %
              (p["peer"], p["path"], p["mode"], p["frame"], p["note"]))
        continue
    print("%-16s %-13s %-15s %6d %12s %9.3f" %
          (p["peer"], p["path"], p["mode"], p["frame"],
           "%.0f" % p["pps"] if p["pps"] else "-", p["gbps"]))
print("\nratios (ours: two processes, socket link / peer)")
for r in ratios:
    if r["ours"] != "netvsc-pmd":
        print("  %-8s %-13s %5d B  %-10s / %-22s %7.3f" %
              (r["metric"], r["path"], r["frame"], r["ours"], r["peer"], r["ratio"]))
nv = [r for r in ratios if r["ours"] == "netvsc-pmd"]
if nv:
    print("ratios, same testpmd: netvsc PMD over our host / virtio-user over vhost-user")
for r in nv:
    print("  %-8s %-13s %5d B  %-10s / %-18s %7.3f" %
          (r["metric"], r["path"], r["frame"], r["ours"], r["peer"], r["ratio"]))
# TCP, one line per MTU and stream count: the peers, ours, the ratios.
tcpt = {}
for p in peers:
    if p["peer"] in ("veth-tcp", "tapfwd-tcp", "tapfwd-copy-tcp",
                     "ovb-tap-tcp") and p["gbps"] and p["mode"] != "-":
        tcpt.setdefault((p["frame"], p["mode"]), {})[p["peer"]] = p["gbps"]
        if "cpu_ns_per_kib" in p:
            tcpt[(p["frame"], p["mode"])]["cpu " + p["peer"]] = \
                p["cpu_ns_per_kib"]
        if "switches_per_mib" in p:
            tcpt[(p["frame"], p["mode"])]["sw " + p["peer"]] = \
                "%.0f" % p["switches_per_mib"]
        if "sleeps_per_mib" in p:
            tcpt[(p["frame"], p["mode"])]["sl " + p["peer"]] = \
                "%.0f" % p["sleeps_per_mib"]
if tcpt:
    print("\nTCP, Gbit/s (iperf3; tapfwd = two TAPs joined by one read and "
          "one write per frame, +copy = one more memcpy)")
    print("  %-12s %7s %7s %7s %7s  %9s %9s %9s   %-17s   %s   %s" %
          ("MTU, streams", "veth", "tapfwd", "+copy", "ours",
           "ours/veth", "ours/fwd", "fwd/veth",
           "CPU ns/KiB: tapfwd +copy ours", "switches/MiB: same",
           "of them sleeps"))
    fmt = lambda v: "%7.2f" % v if v else "      -"
    rat = lambda a, b: "%9.3f" % (a / b) if a and b else "        -"
    for (mtu, mode), v in sorted(tcpt.items()):
        ve, fw, fc, o = (v.get(k) for k in ("veth-tcp", "tapfwd-tcp",
                                            "tapfwd-copy-tcp", "ovb-tap-tcp"))
        cpu = " ".join("%5s" % v.get("cpu " + k, "-") for k in
                       ("tapfwd-tcp", "tapfwd-copy-tcp", "ovb-tap-tcp"))
        sw = " ".join("%4s" % v.get("sw " + k, "-") for k in
                      ("tapfwd-tcp", "tapfwd-copy-tcp", "ovb-tap-tcp"))
        sl = " ".join("%4s" % v.get("sl " + k, "-") for k in
                      ("tapfwd-tcp", "tapfwd-copy-tcp", "ovb-tap-tcp"))
        print("  %-12s %s %s %s %s  %s %s %s   %-29s   %-18s   %s" %
              ("%d %s" % (mtu, mode), fmt(ve), fmt(fw), fmt(fc), fmt(o),
               rat(o, ve), rat(o, fw), rat(fw, ve), cpu, sw, sl))
    print("  (CPU: user + system time of the forwarding processes, tapfwd "
          "or our host and two guests, per KiB received; switches: their "
          "threads' context switches per MiB received, sleeps the "
          "voluntary ones, the rest preemptions and yields)")
# Our design's floor, one line per MTU and stream count.
trt = {}
for p in peers:
    if p["peer"] in TR + ("tapfwd-tcp", "tapfwd-copy-tcp", "veth-tcp",
                          "ovb-tap-tcp") and p["gbps"] and p["mode"] != "-":
        v = trt.setdefault((p["frame"], p["mode"]), {})
        v[p["peer"]] = p["gbps"]
        v["cpu " + p["peer"]] = p.get("cpu_ns_per_kib", "-")
        v["sw " + p["peer"]] = "%.0f" % p["switches_per_mib"] \
            if "switches_per_mib" in p else "-"
if any(k in v for v in trt.values() for k in TR):
    print("\nTCP, our design's floor, Gbit/s (tapring = the same TAPs joined "
          "by three processes, guest a -> host -> guest b, over VMBus rings "
          "with one copy on the host; nocopy: the host passes the buffer on; "
          "two: no host, a -> b)")
    print("  %-12s %7s %7s %7s %7s  %9s %9s %9s %9s  %9s   %-33s   %s" %
          ("MTU, streams", "tapring", "nocopy", "two", "ours",
           "ours/ring", "ring/fwdc", "ring/fwd", "fwd/veth", "cpu o/r",
           "CPU ns/KiB: ring nocopy two ours", "switches/MiB: same"))
    fmt = lambda v: "%7.2f" % v if v else "      -"
    rat = lambda a, b: "%9.3f" % (a / b) if a and b else "        -"
    for (mtu, mode), v in sorted(trt.items()):
        r, n, t, o, fw, fc, ve = (v.get(k) for k in TR + (
            "ovb-tap-tcp", "tapfwd-tcp", "tapfwd-copy-tcp", "veth-tcp"))
        cpu = " ".join("%5s" % v.get("cpu " + k, "-")
                       for k in TR + ("ovb-tap-tcp",))
        sw = " ".join("%4s" % v.get("sw " + k, "-")
                      for k in TR + ("ovb-tap-tcp",))
        co, cr = (v.get("cpu " + k) for k in ("ovb-tap-tcp", "tapring-tcp"))
        cpr = rat(co, cr) if isinstance(co, int) and isinstance(cr, int) \
            else "        -"
        print("  %-12s %s %s %s %s  %s %s %s %s  %s   %-33s   %s" %
              ("%d %s" % (mtu, mode), fmt(r), fmt(n), fmt(t), fmt(o),
               rat(o, r), rat(r, fc), rat(r, fw), rat(fw, ve), cpr, cpu,
               sw))
    print("  (Gbit/s ratios: ours/ring: what our protocol work costs "
          "beyond the shape; ring/fwdc: the shape -- processes, rings, "
          "hand-offs -- against one process with the same one copy; "
          "fwd/veth: what any TAP-ended design loses; cpu o/r: ours / "
          "tapring in CPU per KiB, the figure a loaded machine blurs least)")
print("goals")
for k, g in goals.items():
    print("  %-22s ratio %.3f  %s" % (k, g["ratio"], "met" if g["met"] else "NOT met"))
print("\nmerged into %s" % path)
