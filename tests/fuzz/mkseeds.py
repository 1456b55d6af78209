#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of the bus fuzz targets (fuzz-server-msg,
fuzz-client-msg) into tests/fuzz/seeds/<target>/.  Each seed is a short,
valid conversation, so the fuzzer starts from inputs that get past
contact, reach GPADLs, open a channel and move a packet.  The input
layouts are described at the top of each target's source.
Run: tests/fuzz/mkseeds.py (from anywhere)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_GUID = bytes([0x1d, 0x5e, 0x2c, 0x9a, 0x3f, 0x7b, 0x8e, 0x4c,
                   0xa1, 0xd6, 0x0e, 0x5f, 0x4b, 0x3a, 0x2c, 0x19])
MEM = 0x100000          # guest RAM of fuzz-server-msg (64 pages)
PFN = MEM // 4096
V30, V40, V60 = 0x00030000, 0x00040000, 0x00060000


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- channel messages ------------------------------------------------------

def hdr(t):
    return struct.pack("<II", t, 0)


def contact(version, intpage=0, mon1=0, mon2=0):
    return hdr(14) + struct.pack("<IIQQQ", version, 0, intpage, mon1, mon2)


def gpadl_msgs(relid, handle, pfns, nbytes=None, offset=0):
    """GPADL_HEADER (27 words) + GPADL_BODY (28 words) messages."""
    count = len(pfns) * 4096 if nbytes is None else nbytes
    words = [count | offset << 32] + pfns
    buflen = (len(words) * 8) & 0xffff
    msgs = [hdr(8) + struct.pack("<IIHH", relid, handle, buflen, 1) +
            struct.pack("<%dQ" % min(27, len(words)), *words[:27])]
    rest, n = words[27:], 1
    while rest:
        chunk, rest = rest[:28], rest[28:]
        msgs.append(hdr(9) + struct.pack("<II", n, handle) +
                    struct.pack("<%dQ" % len(chunk), *chunk))
        n += 1
    return msgs


def open_chan(relid, gpadl, downstream):
    return hdr(5) + struct.pack("<IIIII", relid, relid, gpadl, 0,
                                downstream) + bytes(120)


def relid_msg(t, relid):
    return hdr(t) + struct.pack("<I", relid)


def teardown(relid, gpadl):
    return hdr(11) + struct.pack("<II", relid, gpadl)


def offer(relid, inst=0, subidx=0, monitor=None):
    o = hdr(1) + ECHO_GUID + bytes([0xbb] + [0] * 14 + [inst])
    o += struct.pack("<QIIHH", 0, 0, 0, 0, 0) + bytes(120)
    o += struct.pack("<HHIBBHI", subidx, 0, relid,
                     monitor or 0, monitor is not None, 1, 0x2000 + relid)
    assert len(o) == 196
    return o


# ---- ring packets ------------------------------------------------------------

def packet(ptype, payload, hdr_extra=b"", flags=1, xid=7):
    off8 = (16 + len(hdr_extra)) // 8
    body = hdr_extra + payload
    len8 = (16 + len(body) + 7) // 8
    p = struct.pack("<HHHHQ", ptype, off8, len8, flags, xid) + body
    return p + bytes(len8 * 8 - len(p))


def echo_msg(op, arg=0, data=b""):
    return struct.pack("<IIQII", op, 0, arg, len(data), 0) + data


# ---- fuzz-server-msg -----------------------------------------------------------

def post(msg, conn=0):
    """conn selector: 0 -> connection 1, 1 -> 4, 2 -> 2."""
    return bytes([0, conn, len(msg)]) + msg


def poke(off, data):
    out = b""
    while data:
        chunk, data = data[:255], data[255:]
        out += bytes([2, off & 0xff, off >> 8 & 0xff, off >> 16,
                      len(chunk)]) + chunk
        off += len(chunk)
    return out


def signal(relid):
    return bytes([3, relid])


def ring_write(ring_page, start, pkts):
    """Packets (with trailers) into a ring whose control page is
    @ring_page, from data offset @start; then the new write_index."""
    out, off = b"", start
    for p in pkts:
        out += poke((ring_page + 1) * 4096 + off,
                    p + struct.pack("<Q", off << 32))
        off += len(p) + 8
    return out + poke(ring_page * 4096, struct.pack("<I", off))


def server_seeds():
    s = post(contact(V60), 1) + post(hdr(3))
    write("fuzz-server-msg", "contact", bytes([0]) + s)

    # A channel over pages 0-7 (rings at 0 and 4), a ping and a SUM.
    s = post(contact(V60), 1) + post(hdr(3))
    s += b"".join(post(m) for m in gpadl_msgs(1, 0x100,
                                               list(range(PFN, PFN + 8))))
    s += post(open_chan(1, 0x100, 4))
    ping = packet(6, echo_msg(1, 5, b"01234567"))
    gpa = struct.pack("<IIII", 0, 1, 100, 8) + struct.pack("<Q", PFN + 9)
    s_sum = packet(9, echo_msg(2), hdr_extra=gpa)
    s += ring_write(0, 0, [ping, s_sum]) + signal(1) + signal(0xfe)
    s += post(relid_msg(7, 1)) + post(teardown(1, 0x100))
    write("fuzz-server-msg", "open-ping", bytes([0]) + s)

    # 3.0 on connection 1 with interrupt and monitor pages, monitored
    # offers, a 30-page GPADL (header + body), the monitor and interrupt
    # page signals.
    s = post(contact(V30, MEM + 0x3e000, MEM + 0x3c000, MEM + 0x3d000))
    s += post(hdr(3))
    s += b"".join(post(m) for m in gpadl_msgs(2, 0x200,
                                               list(range(PFN, PFN + 30))))
    s += post(open_chan(2, 0x200, 15))
    s += ring_write(0, 0, [ping])
    s += poke(0x3d000 + 8, struct.pack("<I", 3))    # monitor ids 0, 1
    s += poke(0x3e000 + 2048, struct.pack("<I", 6))  # relids 1, 2
    s += signal(0xff) + signal(0xfe) + post(hdr(16)) + post(contact(V40, MEM))
    write("fuzz-server-msg", "monitor", bytes([4 | 1]) + s)

    # A receive buffer (pages 8-15): SET_BUFFER, XFER, SUBCHANNELS, FILL,
    # DROP_BUFFER, SINK; then MODIFYCHANNEL and TL_CONNECT_REQUEST.
    s = post(contact(V60), 1) + post(hdr(3))
    s += b"".join(post(m) for m in gpadl_msgs(1, 0x100,
                                               list(range(PFN, PFN + 8))))
    s += b"".join(post(m) for m in gpadl_msgs(1, 0x101,
                                               list(range(PFN + 8, PFN + 16))))
    s += post(open_chan(1, 0x100, 4))
    fill = struct.pack("<IIII", 0, 1, 300, 4000) + \
        struct.pack("<QQ", PFN + 20, PFN + 21)
    s += ring_write(0, 0, [packet(6, echo_msg(4, 0x101)),
                           packet(6, struct.pack("<IIQII", 5, 0, 9, 100, 0)),
                           packet(6, echo_msg(6, 2)),
                           packet(9, echo_msg(3, 7), hdr_extra=fill),
                           packet(6, echo_msg(7)),
                           packet(6, echo_msg(8, 0, b"x" * 64), flags=0)])
    s += signal(1) + signal(0xfe) + signal(0xfe)
    s += post(hdr(22) + struct.pack("<II", 1, 3))
    s += post(hdr(21) + bytes(48))
    s += post(relid_msg(7, 1)) + post(teardown(1, 0x101))
    write("fuzz-server-msg", "buffer", bytes([0]) + s)

    # 1.1: the host signals through the interrupt page too.
    s = post(contact(0x00010001, MEM + 0x3e000)) + post(hdr(3))
    s += b"".join(post(m) for m in gpadl_msgs(1, 0x100,
                                               list(range(PFN, PFN + 8))))
    s += post(open_chan(1, 0x100, 4)) + ring_write(0, 0, [ping])
    s += signal(0xff) + signal(0xfe)
    write("fuzz-server-msg", "int-page", bytes([0]) + s)

    # Malformed GPADLs, duplicates, teardown of unknown ones, bad opens.
    s = post(contact(V60), 1) + post(hdr(3))
    m = gpadl_msgs(1, 0x300, list(range(PFN, PFN + 40)))
    s += post(m[0]) + post(m[0]) + post(m[1]) + post(m[1])
    s += post(gpadl_msgs(1, 0x301, [PFN + 99])[0])
    s += post(gpadl_msgs(1, 0x302, [PFN, PFN + 1], nbytes=100,
                         offset=4000)[0])
    s += post(open_chan(1, 0x302, 2)) + post(open_chan(1, 0x300, 0))
    s += post(teardown(1, 0x999)) + post(relid_msg(13, 1))
    write("fuzz-server-msg", "gpadl-bad", bytes([2]) + s)


# ---- fuzz-client-msg -------------------------------------------------------------

def msg(m):
    return bytes([0, len(m)]) + m


def reply(m):
    return bytes([len(m)]) + m


def version_response(ok, conn=1):
    return hdr(15) + struct.pack("<BBHI", ok, 0, 0, conn)


def client_seeds():
    s = reply(version_response(1, 4))
    s += msg(offer(1)) + msg(offer(2, 0, 1)) + msg(offer(3, 1))
    s += msg(hdr(4))
    s += msg(relid_msg(2, 2)) + msg(offer(4, 2)) + msg(offer(5, 2, 1))
    s += bytes([2, 1, 0, 3])                       # event, snapshot
    s += msg(relid_msg(2, 4)) + bytes([3])
    write("fuzz-client-msg", "connect", bytes([1 | 2]) + s)

    s = msg(offer(1, 0, 0, monitor=3)) + msg(hdr(4)) + msg(offer(9, 0, 1))
    s += msg(hdr(10) + struct.pack("<III", 1, 0xe1e10, 0))
    s += msg(hdr(6) + struct.pack("<III", 1, 1, 0))
    s += msg(version_response(1)) + msg(hdr(17))
    s += msg(relid_msg(2, 1)) + msg(relid_msg(2, 9)) + bytes([3])
    write("fuzz-client-msg", "raw", bytes([0]) + s)

    write("fuzz-client-msg", "refused",
          bytes([1]) + reply(version_response(0)) + msg(hdr(4)))
    write("fuzz-client-msg", "old-host",
          bytes([1 | 2 | 5 << 4]) + reply(version_response(1)) +
          msg(offer(1)) + msg(hdr(4)))


if __name__ == "__main__":
    server_seeds()
    client_seeds()
