# SPDX-License-Identifier: MIT
# bench/net-sys.sh's parser: turns one run's perf scripts (syscalls of
# the three processes, frames on the TAPs), fd list and task switches
# into "SIDE key value" lines, counts per MiB received.
#   net-sys.py SIDE BYTES TAPA TAPB HOST SENDER RECEIVER DIR
import collections
import os
import re
import sys

side, nbytes, tapa, tapb = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
procs = {'host': sys.argv[5], 'send': sys.argv[6], 'recv': sys.argv[7]}
d = sys.argv[8]
# Counts are per MiB of the data frames the receiving TAP took in perf's
# window (its own rx_bytes span a little more than the recording).
mib = max(nbytes, 1) / 1048576.0
out = collections.OrderedDict()


def put(key, v):
    out[key] = v


def permib(key, n):
    put(key, n / mib)


# thread -> process name
owner = {}
for name, pid in procs.items():
    try:
        for t in os.listdir('/proc/%s/task' % pid):
            owner[t] = name
    except OSError:
        pass
# (pid, fd) -> kind
kind = {}
for line in open(os.path.join(d, 'fds')):
    w = line.split(None, 2)
    if len(w) < 3:
        continue
    t = w[2].strip()
    k = ('tap' if t == '/dev/net/tun' else
         'eventfd' if 'eventfd' in t else
         'socket' if t.startswith('socket:') else 'other')
    kind[(w[0], w[1])] = k

c = collections.Counter()
sizes = collections.defaultdict(list)
last_fd = {}
ev_re = re.compile(r'^\s*(\d+)/(\d+)\s+(\S+):\s*(.*)$')
for line in open(os.path.join(d, 'sys.txt')):
    m = ev_re.match(line)
    if not m:
        continue
    pid, tid, ev, tr = m.groups()
    who = owner.get(tid) or next((n for n, p in procs.items() if p == pid), None)
    if not who:
        continue
    ev = ev.split(':')[-1]
    if ev == 'sys_enter':
        c[who + '.syscalls'] += 1
        continue
    if ev == 'sched_wakeup':
        t = re.search(r'pid=(\d+)', tr)
        tgt = owner.get(t.group(1)) if t else None
        cm = re.search(r'comm=(\S+)', tr)
        if tgt:
            c[who + '.wakeups.ours'] += 1
        elif cm and cm.group(1).startswith('iperf3'):
            c[who + '.wakeups.iperf3'] += 1
        else:
            c[who + '.wakeups.other'] += 1
        continue
    f = re.search(r'fd: (0x[0-9a-f]+)', tr)
    fd = str(int(f.group(1), 16)) if f else None
    k = kind.get((pid, fd), 'other') if fd else None
    if ev in ('sys_enter_read', 'sys_enter_readv'):
        c['%s.read.%s' % (who, k)] += 1
        last_fd[tid] = k
    elif ev in ('sys_exit_read', 'sys_exit_readv'):
        if last_fd.pop(tid, None) == 'tap':
            r = int(tr.strip().split()[-1], 16)
            if r >= 1 << 63:
                r -= 1 << 64
            if r > 0:
                sizes[who + '.tapread.len'].append(r)
            else:
                c[who + '.tapread.empty'] += 1
    elif ev in ('sys_enter_write', 'sys_enter_writev'):
        c['%s.write.%s' % (who, k)] += 1
        if ev == 'sys_enter_writev' and k == 'tap':
            v = re.search(r'vlen: (0x[0-9a-f]+)', tr)
            if v:
                sizes[who + '.tapwritev.segs'].append(int(v.group(1), 16))
    elif ev in ('sys_enter_poll', 'sys_enter_ppoll', 'sys_enter_epoll_wait',
                'sys_enter_epoll_pwait'):
        c[who + '.poll'] += 1
    elif ev == 'sys_enter_futex':
        op = re.search(r'op: (0x[0-9a-f]+)', tr)
        o = int(op.group(1), 16) & 0x7f if op else -1
        c[who + ('.futex.wake' if o in (1, 10) else '.futex.wait')] += 1
    elif ev == 'sys_enter_sched_yield':
        c[who + '.yield'] += 1
    elif ev == 'sys_enter_ioctl':
        c[who + '.ioctl'] += 1
    elif ev == 'sys_enter_clock_nanosleep':
        c[who + '.nanosleep'] += 1

# switches
s0 = {l.split()[0]: l.split()[1:] for l in open(os.path.join(d, 'sw0'))}
s1 = {l.split()[0]: l.split()[1:] for l in open(os.path.join(d, 'sw1'))}
for name, pid in procs.items():
    if pid in s0 and pid in s1:
        c[name + '.switch.vol'] = int(s1[pid][0]) - int(s0[pid][0])
        c[name + '.switch.invol'] = int(s1[pid][1]) - int(s0[pid][1])

# CPU over the untraced window, ns per KiB of that window's bytes
tb = int(open(os.path.join(d, 'tbytes')).read())
t0 = {l.split()[0]: l.split()[1:] for l in open(os.path.join(d, 't0'))}
t1 = {l.split()[0]: l.split()[1:] for l in open(os.path.join(d, 't1'))}
tick = 1e9 / os.sysconf('SC_CLK_TCK')
cpu = collections.OrderedDict()
for name, pid in procs.items():
    if pid in t0 and pid in t1 and tb > 0:
        for i, k in enumerate(('utime', 'stime')):
            cpu['%s.%s.ns/KiB' % (name, k)] = \
                (int(t1[pid][i]) - int(t0[pid][i])) * tick / (tb / 1024.0)
        cpu['%s.minflt/MiB' % name] = \
            (int(t1[pid][2]) - int(t0[pid][2])) / (tb / 1048576.0)
for w in ('utime', 'stime'):
    cpu['all.%s.ns/KiB' % w] = sum(v for k, v in cpu.items()
                                   if k.endswith('.%s.ns/KiB' % w))
cpu['all.Gbit/s'] = tb * 8 / 2.5e9

# frames on the TAPs.  Both sides' TAPs may share a name (ours: one per
# namespace), so a frame's direction is its size: data >= 1000 bytes.
fr = collections.defaultdict(list)
kv = re.compile(r'(\w+)=(\S+)')
for line in open(os.path.join(d, 'net.txt')):
    m = re.match(r'^\s*(\S+):\s*(.*)$', line)
    if not m:
        continue
    ev, tr = m.group(1).split(':')[-1], m.group(2)
    f = dict(kv.findall(tr))
    dev = f.get('dev')
    if dev not in (tapa, tapb):
        continue
    ln = int(f.get('len', 0))
    big = ln >= 1000
    if ev == 'net_dev_start_xmit':
        key = 'tap.toguest.' + ('data' if big else 'ack')
    else:
        key = 'tap.fromguest.' + ('data' if big else 'ack')
    fr[key].append((ln, int(f.get('gso_size', 0)), f.get('ip_summed', '?'), ev))

data = fr.get('tap.fromguest.data', [])
if data:
    mib = sum(x[0] for x in data) / 1048576.0
keys = ['syscalls', 'read.tap', 'read.eventfd', 'read.other', 'tapread.empty',
        'write.tap', 'write.eventfd', 'write.other', 'poll', 'futex.wait',
        'futex.wake', 'yield', 'ioctl', 'nanosleep', 'wakeups.ours',
        'wakeups.iperf3', 'wakeups.other', 'switch.vol', 'switch.invol']
for name in ('host', 'send', 'recv'):
    for k in keys:
        permib('%s.%s' % (name, k), c.get('%s.%s' % (name, k), 0))
    for k in ('tapread.len', 'tapwritev.segs'):
        v = sizes.get('%s.%s' % (name, k))
        if v:
            put('%s.%s.mean' % (name, k), sum(v) / len(v))
for key in ('tap.toguest.data', 'tap.toguest.ack', 'tap.fromguest.data',
            'tap.fromguest.ack'):
    v = fr.get(key, [])
    permib(key + '.frames', len(v))
    if v:
        put(key + '.len.mean', sum(x[0] for x in v) / len(v))
        put(key + '.gso_size.mean', sum(x[1] for x in v) / len(v))
        cs = collections.Counter(x[2] for x in v)
        for s in ('0', '1', '3'):
            permib('%s.ip_summed=%s' % (key, s), cs.get(s, 0))
        evs = collections.Counter(x[3] for x in v)
        for e in sorted(evs):
            permib('%s.%s' % (key, e), evs[e])
put('MiB', mib)
for k, v in cpu.items():
    put(k, v)
for k, v in out.items():
    print('%s %s %.3f' % (side, k, v))
