#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench/fuse-qd1-trace.py TRACE.txt TARGET DEV HOSTTIDS GUESTTIDS: where one
# QD1 request's time goes, from `perf script -F tid,time,event,trace` of a
# fio QD1 run on a loop device over a FUSE file (bench/fuse-qd1-trace.sh
# records it).  TARGET is "ours" (vmbus host + guest) or "pt"
# (passthrough_ll: GUESTTIDS are its threads, HOSTTIDS empty).  DEV is the
# loop device's "major,minor".  Prints, per segment of the request's round
# trip, the median and 90th percentile in microseconds over every request
# whose events were all seen, in order:
#   loop->fuse     block_rq_issue on the loop device -> fuse_request_send
#   fuse->daemon   fuse_request_send -> the daemon's system call that
#                  fetched it returns (io_uring_enter / read of /dev/fuse)
#   daemon         fetched -> the answer's system call is entered (ours:
#                  guest work, the bus both ways, the host; split below)
#     guest->signal  fetched -> the guest's eventfd write to the host
#                  (absent when the host worker was spinning)
#     signals per request  guest -> host signals (1: the host slept)
#     host signals per request  host -> guest signals before the answer
#                  (1: the guest's queue thread was not spinning for it)
#     ->host wake    that write -> the host worker's poll returns
#     ->host io      fetched -> the host's preadv2/pwritev2 is entered
#     host io        the preadv2/pwritev2 itself
#     host->answer   it returned -> the guest enters the answer's
#                  io_uring_enter (host's reply, the guest's reap)
#   answer->fuse   the answer's system call -> fuse_request_end
#   fuse->loop     fuse_request_end -> block_rq_complete on the loop device
#   loop->next     block_rq_complete -> the next block_rq_issue (fio
#                  gets its completion and submits the next request)
#   round trip     one block_rq_issue to the next (1 / IOPS)
import re
import statistics
import sys

path, target, dev = sys.argv[1], sys.argv[2], sys.argv[3]
host = set(int(t) for t in sys.argv[4].split(",") if t)
guest = set(int(t) for t in sys.argv[5].split(",") if t)
line_re = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$")
dev_re = re.compile(r"^\s*(\d+,\d+)\s")

FETCH = {"syscalls:sys_exit_io_uring_enter", "syscalls:sys_exit_read",
         "syscalls:sys_exit_splice"}
ANSWER = {"syscalls:sys_enter_io_uring_enter", "syscalls:sys_enter_writev",
          "syscalls:sys_enter_write", "syscalls:sys_enter_splice"}
IO_IN = {"syscalls:sys_enter_preadv2", "syscalls:sys_enter_pwritev2",
         "syscalls:sys_enter_pread64", "syscalls:sys_enter_pwrite64"}
IO_OUT = {e.replace("enter", "exit") for e in IO_IN}
WAKE = {"syscalls:sys_exit_poll", "syscalls:sys_exit_ppoll"}

events = []
for line in open(path, errors="replace"):
    m = line_re.match(line)
    if not m:
        continue
    tid, ts, ev, rest = int(m.group(1)), float(m.group(2)) * 1e6, m.group(3), m.group(4)
    if ev.startswith("block:"):
        d = dev_re.match(rest)
        if not d or d.group(1) != dev:
            continue
    events.append((ts, tid, ev, rest))
events.sort(key=lambda e: e[0])

segs = {}


def add(name, v):
    if v is not None and v >= 0:
        segs.setdefault(name, []).append(v)


# Cut the stream at every loop issue: one request per slice at QD1.
issues = [i for i, e in enumerate(events) if e[2] == "block:block_rq_issue"]
for k in range(len(issues) - 1):
    sl = events[issues[k]:issues[k + 1] + 1]
    t_issue, t_next = sl[0][0], sl[-1][0]

    def first(pred, after=None):
        for e in sl:
            if (after is None or e[0] >= after) and pred(e):
                return e[0]
        return None

    def last(pred, before):
        r = None
        for e in sl:
            if e[0] <= before and pred(e):
                r = e[0]
        return r

    fsend = first(lambda e: e[2] == "fuse:fuse_request_send" and
                  ("FUSE_READ" in e[3] or "FUSE_WRITE" in e[3]))
    fend = first(lambda e: e[2] == "fuse:fuse_request_end", fsend)
    done = first(lambda e: e[2] == "block:block_rq_complete", fend)
    if None in (fsend, fend, done):
        continue
    fetch = first(lambda e: e[1] in guest and e[2] in FETCH, fsend)
    answer = last(lambda e: e[1] in guest and e[2] in ANSWER and
                  (fetch is None or e[0] > fetch), fend)
    add("round trip", t_next - t_issue)
    add("loop->fuse", fsend - t_issue)
    add("answer->fuse", fend - answer if answer else None)
    add("fuse->loop", done - fend)
    add("loop->next", t_next - done)
    if fetch is None or answer is None or not fetch < answer <= fend:
        continue
    add("fuse->daemon", fetch - fsend)
    add("daemon", answer - fetch)
    ioin = first(lambda e: e[1] in (host or guest) and e[2] in IO_IN, fetch)
    ioout = first(lambda e: e[1] in (host or guest) and e[2] in IO_OUT, ioin) \
        if ioin else None
    if host:
        sig = first(lambda e: e[1] in guest and
                    e[2] == "syscalls:sys_enter_write", fetch)
        if sig is not None and ioin is not None and sig < ioin:
            add("  guest->signal", sig - fetch)
            wake = first(lambda e: e[1] in host and e[2] in WAKE, sig)
            if wake is not None and wake <= ioin:
                add("  ->host wake", wake - sig)
        add("  signals per request", 1.0 if sig is not None and
            ioin is not None and sig < ioin else 0.0)
    if host and ioout is not None and ioout <= answer:
        back = first(lambda e: e[1] in host and
                     e[2] == "syscalls:sys_enter_write", ioout)
        add("  host signals per request", 1.0 if back is not None and
            back <= answer else 0.0)
    if ioin is not None and ioout is not None and ioout <= answer:
        add("  ->host io" if host else "  ->pread/pwrite", ioin - fetch)
        add("  host io" if host else "  pread/pwrite", ioout - ioin)
        add("  host->answer" if host else "  ->answer", answer - ioout)

order = ["round trip", "loop->fuse", "fuse->daemon", "daemon",
         "  guest->signal", "  ->host wake", "  signals per request",
         "  host signals per request",
         "  ->host io", "  host io", "  host->answer", "  ->pread/pwrite",
         "  pread/pwrite", "  ->answer", "answer->fuse", "fuse->loop",
         "loop->next"]
n = len(segs.get("round trip", []))
print(f"{target}: {n} requests traced")
for name in order:
    v = segs.get(name)
    if not v:
        continue
    v.sort()
    p90 = v[min(len(v) - 1, int(len(v) * 0.9))]
    if name.strip().endswith("signals per request"):
        print(f"  {name:<22} {statistics.mean(v):8.2f}")
        continue
    print(f"  {name:<22} {statistics.median(v):8.1f} {p90:8.1f}   (n={len(v)})")
