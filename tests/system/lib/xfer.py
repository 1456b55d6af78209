# SPDX-License-Identifier: MIT
# A TCP transfer hashed at both ends, for the network system tests
# (through tests/system/lib/xfer.sh).
#   xfer.py recv PORT READY      listen on PORT, write READY once listening,
#                                take one connection to its end
#   xfer.py send ADDR PORT MIB   send MIB MiB to ADDR:PORT
# Each prints "BYTES SHA-256" of what it moved.  MiB i is the SHA-256 of
# (i, ADDR) then a fixed pattern: every MiB differs, and so do the two
# directions of a transfer both ways.  Every wait ends within 30 s.
import hashlib
import socket
import sys

TIMEOUT = 30


def recv(port, ready):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(TIMEOUT)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    open(ready, "w").write("ready\n")
    c, _ = s.accept()
    c.settimeout(TIMEOUT)
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(n, h.hexdigest())


def send(addr, port, mib):
    pattern = bytes(range(256)) * 4096
    h = hashlib.sha256()
    c = socket.create_connection((addr, port), timeout=TIMEOUT)
    for i in range(mib):
        b = hashlib.sha256(i.to_bytes(4, "little") + addr.encode()).digest()
        b += pattern[len(b):]
        h.update(b)
        c.sendall(b)
    c.close()
    print(mib << 20, h.hexdigest())


if sys.argv[1] == "recv":
    recv(int(sys.argv[2]), sys.argv[3])
else:
    send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
