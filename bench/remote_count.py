#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/remote_count.py: where one fio run of bench/remote-peer.sh waited
(REMOTE_PEER_COUNT=1), per I/O, for every thread of fio (the peer's engine,
or ours: fio's job thread and the guest's channel workers), of our `vmbus
host` and of the server.

  remote_count.py window A B AT_A AT_B VMBUS SOCK PID...
      AT_A and AT_B seconds after its start (the first at least 1.1 s
      after fio's job process came up), a snapshot into A, then B:
      /proc/PID/task/*/{schedstat,status} of each PID and of its children
      (fio's job process is its child), and (SOCK not "-") `VMBUS stat
      --json` of our host (JSON).
  remote_count.py diff A B FIO_JSON ROW SIDE
      one JSON line on stdout: per process, CPU share (run time / wall
      time), run-queue wait share, and per I/O sleeps (voluntary
      switches) and "preempt": involuntary switches (preemptions, and
      sched_yield calls that gave the core away: the kernel counts both
      alike); the busiest thread's; for ours the host's channel
      counters per I/O (signals each way, its sleeps, its completion
      batches: commits_out).  I/Os are fio's IOPS times the window (A to
      B: 1.2 s into the run, after fio's ramp_time, to 0.3 s before its
      end), so the I/Os of the window, not fio's whole count.

Sleeps per I/O say which thread waits for which: a stage that sleeps once
per batch and a batch that shrinks are what a slow state looks like.
"""
import json
import os
import subprocess
import sys
import time


def tree(pid):
    """(process, its thread ids) for @pid and its children, recursively."""
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        yield p, tids
        for t in tids:
            try:
                pending += open(f"/proc/{p}/task/{t}/children").read().split()
            except OSError:
                pass


def threads(pid):
    """Every thread of @pid and of its children (recursively)."""
    return [t for _, tids in tree(pid) for t in tids]


def snap(out, vmbus, sock, pids):
    res = {"t": time.monotonic(), "procs": {}}
    for pid in pids:
        th = {}
        for t in threads(pid):
            try:
                run, wait, _ = map(int, open(f"/proc/{t}/schedstat").read().split())
                st = dict(l.split(":\t", 1) for l in open(f"/proc/{t}/status")
                          if ":\t" in l)
            except (OSError, ValueError):
                continue  # gone meanwhile
            th[t] = {"comm": st["Name"].strip(), "run": run, "wait": wait,
                     "vol": int(st["voluntary_ctxt_switches"]),
                     "inv": int(st["nonvoluntary_ctxt_switches"])}
        res["procs"][pid] = th
    if sock != "-":
        try:
            res["stat"] = json.loads(subprocess.run(
                [vmbus, "stat", "--socket", sock, "--json"], capture_output=True,
                text=True, timeout=5).stdout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    json.dump(res, open(out, "w"))


def procs(pid):
    """How many processes @pid's tree holds (itself included)."""
    return sum(1 for _ in tree(pid))


def window(outs, at_a, at_b, vmbus, sock, pids):
    """The two snapshots, at_a and at_b s after the start; the first no
    sooner than 1.1 s (fio's ramp_time) after fio's job process (the
    third process of the first PID's tree: timeout, fio, its job) came
    up, and none if that leaves under a second."""
    t0 = time.monotonic()
    while procs(pids[0]) < 3 and time.monotonic() < t0 + at_b:
        time.sleep(0.05)
    t_a = max(t0 + at_a, time.monotonic() + 1.1)
    if t_a > t0 + at_b - 1.0:
        return  # no window: no counts for this run
    for out, t in ((outs[0], t_a), (outs[1], t0 + at_b)):
        time.sleep(max(0.0, t - time.monotonic()))
        snap(out, vmbus, sock, pids)


def chan_sum(stat):
    keys = ("packets_in", "signals_in", "signals_out", "sleeps", "commits_out")
    s = dict.fromkeys(keys, 0)
    for p in stat.get("partitions", []):
        for c in p.get("channels", []):
            for k in keys:
                s[k] += c.get(k, 0)
    return s


def diff(fa, fb, fio, row, side):
    a, b = json.load(open(fa)), json.load(open(fb))
    j = json.load(open(fio))["jobs"][0]
    d = j["read"] if j["read"]["io_bytes"] else j["write"]
    wall = b["t"] - a["t"]
    ios = max(d["iops"] * wall, 1.0)
    res = {"row": int(row), "side": side, "window_s": round(wall, 2)}
    names = ["fio", "host", "server"]
    for i, pid in enumerate(b["procs"]):
        tag = names[i] if i < len(names) else pid
        pa, pb = a["procs"].get(pid, {}), b["procs"][pid]
        tot = {"cpu": 0.0, "runq": 0.0, "sleeps": 0.0, "preempt": 0.0}
        top = None
        if not set(pa) & set(pb):
            continue  # not up at the first snapshot (a slow start): unknown
        for t, x in pb.items():
            y = pa.get(t)
            if not y:
                continue  # a thread born inside the window: not counted
            cpu = (x["run"] - y["run"]) / 1e9 / wall
            runq = (x["wait"] - y["wait"]) / 1e9 / wall
            sl = (x["vol"] - y["vol"]) / ios
            pr = (x["inv"] - y["inv"]) / ios
            for k, v in (("cpu", cpu), ("runq", runq), ("sleeps", sl),
                         ("preempt", pr)):
                tot[k] += v
            if cpu > 0.005 and (not top or cpu > top["cpu"]):
                top = {"cpu": cpu, "sleeps": sl, "comm": x["comm"]}
        res[tag] = {k: round(v, 3) for k, v in tot.items()}
        res[tag]["threads_busy"] = sum(
            1 for t, x in pb.items() if t in pa and
            (x["run"] - pa[t]["run"]) / 1e9 / wall > 0.05)
        if top:
            res[tag]["top"] = {k: round(v, 3) if isinstance(v, float) else v
                               for k, v in top.items()}
    if "stat" in a and "stat" in b:
        ca, cb = chan_sum(a["stat"]), chan_sum(b["stat"])
        res["chan"] = {k: round((cb[k] - ca[k]) / ios, 3) for k in ca}
    print(json.dumps(res, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) >= 9 and sys.argv[1] == "window":
        window(sys.argv[2:4], float(sys.argv[4]), float(sys.argv[5]),
               sys.argv[6], sys.argv[7], sys.argv[8:])
    elif len(sys.argv) == 7 and sys.argv[1] == "diff":
        diff(*sys.argv[2:])
    else:
        sys.exit(__doc__)
