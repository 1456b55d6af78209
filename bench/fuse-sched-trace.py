#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench/fuse-sched-trace.py TRACE.txt DEV LABELS: where requests wait at
# depth, from `perf script -F cpu,tid,time,event,trace` of the scheduler's
# and the request's tracepoints during a fio run on a loop device over a
# FUSE file (bench/fuse-sched-trace.sh records it).  DEV is the loop
# device's "major,minor"; LABELS is "tid=name,..." for the threads to
# report (the FUSE daemon's, the host's).  Prints:
#   - the time with loop requests outstanding during which both CPUs, or
#     one of them, ran nothing (the idle that iowait shows in vmstat);
#   - per thread: wake-ups, the time from wake-up to running, and the part
#     of it spent runnable while another CPU sat idle ("stranded": queued
#     behind a busy CPU, the scheduler did not move it), with the count of
#     wake-ups stranded for more than 20 us;
#   - per thread that sends or ends FUSE requests: runs (switch-in to
#     switch-out) and the FUSE requests sent or ended per run, with the
#     share of requests that went in runs of 16 or more (batches that move
#     through the stack together: a convoy).
import collections
import re
import sys

path, dev = sys.argv[1], sys.argv[2]
labels = dict(a.split("=", 1) for a in sys.argv[3].split(",") if "=" in a)
line_re = re.compile(r"^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
sw_re = re.compile(r"prev_pid=(\d+) .*next_comm=(.*) next_pid=(\d+)")
wk_re = re.compile(r"pid=(\d+) prio=\d+ target_cpu=(\d+)")

cur = {}                  # cpu -> pid running (0: idle)
inflight = 0              # loop requests outstanding
t_last = None
span = both_idle = one_idle = 0.0
pend = {}                 # tid -> [woken at, target cpu, stranded, last t]
wake = collections.defaultdict(lambda: [0, 0.0, 0.0, 0])
run_cnt = collections.defaultdict(lambda: [0, 0])   # tid -> [sent, ended]
runs = collections.defaultdict(list)                # tid -> per-run totals


def advance(t):
    global span, both_idle, one_idle
    if t_last is None or len(cur) < 2:
        return
    dt = t - t_last
    span += dt
    idle = sum(1 for p in cur.values() if p == 0)
    if inflight > 0 and idle == len(cur):
        both_idle += dt
    elif inflight > 0 and idle:
        one_idle += dt
    for v in pend.values():
        if any(p == 0 and c != v[1] for c, p in cur.items()):
            v[2] += t - v[3]
        v[3] = t


for line in open(path, errors="replace"):
    m = line_re.match(line)
    if not m:
        continue
    tid, cpu, t, ev, rest = m[1], int(m[2]), float(m[3]), m[4], m[5]
    advance(t)
    t_last = t
    if ev == "sched:sched_switch":
        s = sw_re.search(rest)
        if not s:
            continue
        prev, nxt = s[1], s[3]
        cur[cpu] = int(nxt)
        if prev in run_cnt:
            runs[prev].append(tuple(run_cnt.pop(prev)))
        if nxt in pend:
            v = pend.pop(nxt)
            w = wake[nxt]
            w[0] += 1
            w[1] += t - v[0]
            w[2] += v[2]
            w[3] += v[2] > 20e-6
    elif ev == "sched:sched_wakeup":
        s = wk_re.search(rest)
        if s and s[1] in labels and s[1] not in pend:
            pend[s[1]] = [t, int(s[2]), 0.0, t]
    elif ev == "block:block_rq_issue" and rest.startswith(dev + " "):
        inflight += 1
    elif ev == "block:block_rq_complete" and rest.startswith(dev + " "):
        inflight = max(0, inflight - 1)
    elif ev == "fuse:fuse_request_send":
        run_cnt[tid][0] += 1
    elif ev == "fuse:fuse_request_end":
        run_cnt[tid][1] += 1

if not span:
    print("  no trace (perf recorded nothing)")
    sys.exit(0)
print(f"  {span * 1e3:.0f} ms traced on {len(cur)} CPUs; with loop requests "
      f"outstanding: all CPUs idle {100 * both_idle / span:.1f} %, one "
      f"idle {100 * one_idle / span:.1f} % of the time")
print("  wake-ups: thread, count, woken->running ms (sum), of it runnable "
      "while another CPU idled ms, wake-ups stranded > 20 us")
for tid, w in sorted(wake.items(), key=lambda x: -x[1][2]):
    if w[0]:
        print(f"    {labels[tid]:28s} {w[0]:6d} {w[1] * 1e3:8.1f} "
              f"{w[2] * 1e3:8.1f} {w[3]:6d}")
print("  FUSE requests per run of a thread: thread, runs with any, sent "
      "or ended per such run, share in runs of >= 16")
for tid, rs in sorted(runs.items()):
    for k, what in ((0, "sent"), (1, "ended")):
        n = [r[k] for r in rs if r[k]]
        if len(n) < 20:
            continue
        big = sum(x for x in n if x >= 16)
        name = labels.get(tid, "tid " + tid)
        print(f"    {name:28s} {len(n):6d} runs, {sum(n) / len(n):5.1f} "
              f"{what}/run, {100 * big / sum(n):3.0f} % in runs >= 16")
