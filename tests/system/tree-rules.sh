#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rules of the tree that the compiler cannot see, checked by reading files
# (no build, no root):
#  (a) every "docs/<file>.md" reference, and every relative .md link in a
#      Markdown file, names a file that exists; every "wire.md B<n>" names a
#      section of docs/wire.md and every "link.md L<n>" one of docs/link.md;
#      nothing cites the wire facts or the link protocol outside the tree
#      (the old WIRE-FACTS sheet, DESIGN section 3) any more;
#  (b) includes point down the layers (docs/architecture.md, "Layers"):
#      wire <- core <- link, bus <- devices <- backends/frontends <- tools.
#      wire/ includes only wire/; core only wire and core; link only wire,
#      core and link, and of the bus only hv.h (the calls a link provides
#      and makes); the bus never the link; devices, backends and
#      frontends never the link, nor the hypervisor side of the bus (hv.h);
#      a module's private headers (src/<mod>/*.h)
#      only from that module; a VSP (storvsp*, netvsp*, echo_vsp*) no client
#      code and a VSC (storvsc*, netvsc*, echo_vsc*) no server code.
#      tests/ and bench/ may include anything.  Known exceptions are in
#      ALLOW below, each with its reason; an entry that no longer matches
#      anything is an error too, so the list stays true.
# Usage: tests/system/tree-rules.sh [ROOT]   (default: this tree)
set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$root" <<'PY'
import os
import re
import sys

ROOT = sys.argv[1]
SELF = "tests/system/tree-rules.sh"
SCAN_DIRS = ["src", "include", "tests", "tools", "bench", "docs", "scripts"]
SCAN_FILES = ["README.md", "Makefile"]
TEXT_EXT = (".c", ".h", ".md", ".sh", ".py", ".txt", ".mk")

# Files allowed to name the old, out-of-tree sources: they explain the move.
OLD_NAMES_OK = {"docs/wire.md", "docs/link.md"}

# (including file, included file) -> why the layer rule does not hold there.
ALLOW = {
    ("src/net/netvsp_deliver.c", "src/bus/fault_hook.h"):
        "as netvsp_rx.c: the RNDIS messages of a receive batch pass the "
        "fault engine",
    ("src/net/netvsp_rx.c", "src/bus/fault_hook.h"):
        "netvsp offers each RNDIS message it writes into a guest's receive "
        "buffer to the fault engine (ovb__fault_rndis): an internal hook "
        "of the bus, kept out of the public fault.h",
    ("src/bus/chan_run.c", "src/core/spin.h"):
        "the polite bounded spin (header-only, core) that channel workers "
        "and the NIC's buffer pools share; not an API for applications",
    ("src/bus/chan_busy.c", "src/core/spin.h"):
        "as chan_run.c: a worker spins while a remote disk's answers are "
        "on their way",
    ("src/bus/chan_group.c", "src/core/spin.h"):
        "as chan_run.c: a shared worker spins over its channels' rings",
    ("src/net/netvsc_pool.c", "src/core/spin.h"):
        "as chan_run.c: netvsc spins for a free send section",
    ("src/net/netvsc_poll.c", "src/core/spin.h"):
        "as chan_run.c: a sender waiting for a buffer drains polled rings",
    ("src/net/netvsp_deliver.c", "src/core/spin.h"):
        "as chan_run.c: netvsp spins for free receive slots",
    ("src/net/netvsc_data.c", "src/core/prefetch.h"):
        "the write prefetch (header-only, core) of the next message's "
        "place in a send section; not an API for applications",
    ("src/net/netvsp_deliver.c", "src/core/prefetch.h"):
        "as netvsc_data.c: the next receive slot's write prefetch",
    ("src/link/inproc.c", "include/openvmbus/client.h"):
        "the link that created a client (hv.h) destroys it "
        "(ovb_client_destroy) when the partition goes",
    ("src/link/socket_guest.c", "include/openvmbus/client.h"):
        "the link that created a client (hv.h) destroys it "
        "(ovb_client_destroy) when the partition goes",
}

PUBLIC = "include/openvmbus/"
LAYER_OF_HEADER = {
    "api.h": "core",
    "atomic.h": "core", "gmem.h": "core", "gpadl.h": "core",
    "guid.h": "core", "log.h": "core", "ring.h": "core",
    "version.h": "core", "capture.h": "core", "pcapng.h": "core",
    "byteorder.h": "core", "deadline.h": "core", "size.h": "core",
    "link.h": "link", "link_socket.h": "link",
    "channel.h": "bus", "client.h": "bus", "server.h": "bus",
    "vsc.h": "bus", "vsp.h": "bus", "hv.h": "bus", "fault.h": "bus",
    "blk.h": "devices", "blk_file.h": "backends", "echo.h": "devices", "netvsc.h": "devices",
    "netvsp.h": "devices", "offload.h": "devices",
    "storvsc.h": "devices", "storvsp.h": "devices", "vswitch.h": "devices",
    "net_tap.h": "backends",
    "fuse_disk.h": "frontends", "tap_nic.h": "frontends",
}
LAYER_OF_SRC = {
    "core": "core", "link": "link", "bus": "bus", "echo": "devices",
    "net": "devices", "storage": "devices", "backend": "backends",
    "frontend": "frontends",
}
RANK = {"wire": 0, "core": 1, "link": 2, "bus": 3, "devices": 4,
        "backends": 5, "frontends": 5, "tools": 6}
NO_LINK = {"bus", "devices", "backends", "frontends"}
# hv.h is what a link provides and calls: only the bus and the links.
NO_HV = {"devices", "backends", "frontends"}

VSP = re.compile(r"^(storvsp|netvsp|echo_vsp)")
VSC = re.compile(r"^(storvsc|netvsc|echo_vsc)")
CLIENT_SIDE = re.compile(
    r"^(include/openvmbus/(client|vsc|storvsc|netvsc|tap_nic|fuse_disk)\.h"
    r"|src/bus/client_priv\.h|src/(storage|net)/(storvsc|netvsc)[^/]*)$")
SERVER_SIDE = re.compile(
    r"^(include/openvmbus/(server|vsp|storvsp|netvsp|vswitch|"
    r"net_tap|blk)\.h|src/bus/server_priv\.h"
    r"|src/(storage|net)/(storvsp|netvsp|vswitch|scsi_)[^/]*)$")

errors = []


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def files():
    out = []
    for d in SCAN_DIRS:
        for base, dirs, names in os.walk(os.path.join(ROOT, d)):
            dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
            for n in names:
                if n.endswith(TEXT_EXT):
                    out.append(rel(os.path.join(base, n)))
    out += [f for f in SCAN_FILES if os.path.isfile(os.path.join(ROOT, f))]
    return sorted(f for f in out if f != SELF)


def read(f):
    with open(os.path.join(ROOT, f), encoding="utf-8",
              errors="replace") as fh:
        return fh.read()


def lineno(text, pos):
    return text.count("\n", 0, pos) + 1


def section_ids(doc, letter):
    path = os.path.join(ROOT, "docs", doc)
    if not os.path.isfile(path):
        return set()
    return set(re.findall(r"^##+ %s(\d+)\." % letter, read("docs/" + doc),
                          re.M))


# ---- (a) references ------------------------------------------------------

DOC_REF = re.compile(r"(?<![\w/.-])docs/([A-Za-z0-9_.-]+\.md)")
MD_LINK = re.compile(r"\]\(([^)\s#]+\.md)(?:#[^)]*)?\)")
# A comment continuation ("\n * ", "\n// ", "\n# ") counts as one space.
CONT = re.compile(r"\n[ \t]*(?:\*(?!/)|//|#)?[ \t]*")
ID = r"%s\d+(?:\.\d+)?"
ID_LIST = r"((?:%s)(?:(?:\s*[-/,\u2013]\s*|\s+and\s+)(?:%s))*)"
OLD = re.compile(r"WIRE-FACTS|DESIGN\.md,? section 3|DESIGN \u00a73")

wire_ids = section_ids("wire.md", "B")
link_ids = section_ids("link.md", "L")
nrefs = 0

for f in files():
    text = read(f)
    for m in DOC_REF.finditer(text):
        nrefs += 1
        if not os.path.isfile(os.path.join(ROOT, "docs", m.group(1))):
            errors.append("%s:%d: docs/%s does not exist"
                          % (f, lineno(text, m.start()), m.group(1)))
    if f.endswith(".md"):
        for m in MD_LINK.finditer(text):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue
            nrefs += 1
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(f),
                                                 target))
            if not os.path.isfile(path):
                errors.append("%s:%d: link to %s: no such file"
                              % (f, lineno(text, m.start()), target))
    flat = CONT.sub(" ", text)
    for doc, letter, ids in (("wire.md", "B", wire_ids),
                             ("link.md", "L", link_ids)):
        pat = re.compile(re.escape(doc) + r"\)?`?\s+(?:sections?\s+)?"
                         + ID_LIST % (ID % letter, ID % letter))
        for m in pat.finditer(flat):
            for n in re.findall(letter + r"(\d+)", m.group(1)):
                nrefs += 1
                if n not in ids:
                    errors.append("%s: %s %s%s: no such section in docs/%s"
                                  % (f, doc, letter, n, doc))
    if f not in OLD_NAMES_OK:
        for m in OLD.finditer(text):
            errors.append("%s:%d: cites %r, which is outside the tree: "
                          "cite docs/wire.md B<n> or docs/link.md instead"
                          % (f, lineno(text, m.start()), m.group(0)))

# ---- (b) include direction ------------------------------------------------

INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<(openvmbus/[^>]+)>)',
                     re.M)


def layer(f):
    if f.startswith(PUBLIC + "wire/"):
        return "wire"
    if f.startswith(PUBLIC):
        name = f[len(PUBLIC):]
        if name not in LAYER_OF_HEADER:
            errors.append("%s: public header without a layer: add it to "
                          "LAYER_OF_HEADER in %s" % (f, SELF))
            return None
        return LAYER_OF_HEADER[name]
    parts = f.split("/")
    if parts[0] == "src" and len(parts) > 2:
        if parts[1] not in LAYER_OF_SRC:
            errors.append("%s: src/%s has no layer: add it to LAYER_OF_SRC "
                          "in %s" % (f, parts[1], SELF))
            return None
        return LAYER_OF_SRC[parts[1]]
    if parts[0] == "tools":
        return "tools"
    return None  # tests, bench: free


def resolve(f, name, quoted):
    cands = []
    if quoted:
        cands.append(os.path.join(os.path.dirname(f), name))
    cands += [os.path.join("include", name), os.path.join("src", name), name]
    for c in cands:
        c = os.path.normpath(c).replace(os.sep, "/")
        if os.path.isfile(os.path.join(ROOT, c)):
            return c
    return None


used_allow = set()
nincs = 0
for f in files():
    if not f.endswith((".c", ".h")):
        continue
    me = layer(f)
    if me is None:
        continue
    text = read(f)
    for m in INCLUDE.finditer(text):
        name = m.group(1) or m.group(2)
        dep = resolve(f, name, m.group(1) is not None)
        if dep is None:
            continue  # a system header
        nincs += 1
        where = "%s:%d" % (f, lineno(text, m.start()))
        them = layer(dep) if not dep.startswith(("tests/", "bench/")) \
            else "tests"
        why = None
        if them is None:
            continue
        if them == "tests":
            why = "includes test code"
        elif me == "link" and dep == PUBLIC + "hv.h":
            why = None  # the interface the link implements and calls
        elif RANK[them] > RANK[me]:
            why = "%s includes %s: dependencies point down" % (me, them)
        elif them == "link" and me in NO_LINK:
            why = "%s code includes the link" % me
        elif dep == PUBLIC + "hv.h" and me in NO_HV:
            why = "%s code includes the hypervisor side (hv.h)" % me
        elif (dep.startswith("src/") and dep.endswith(".h")
              and dep.split("/")[1] != f.split("/")[1]):
            why = "private header of src/%s" % dep.split("/")[1]
        elif (dep.startswith("src/") and dep.endswith(".h")
              and not f.startswith("src/")):
            why = "private header of src/%s" % dep.split("/")[1]
        elif VSP.match(os.path.basename(f)) and CLIENT_SIDE.match(dep):
            why = "a VSP includes client code"
        elif VSC.match(os.path.basename(f)) and SERVER_SIDE.match(dep):
            why = "a VSC includes server code"
        if why is None:
            continue
        if (f, dep) in ALLOW:
            used_allow.add((f, dep))
            continue
        errors.append("%s: includes %s (%s)" % (where, dep, why))

for key in sorted(set(ALLOW) - used_allow):
    errors.append("allow-list entry %s -> %s matches nothing any more: "
                  "remove it from %s" % (key[0], key[1], SELF))

# One line per problem, however many files run into it.
errors = list(dict.fromkeys(errors))
for e in errors:
    print("tree-rules: " + e)
if errors:
    print("tree-rules: %d problem(s)" % len(errors))
    sys.exit(1)
print("tree-rules: ok: %d doc references, %d includes, %d allowed "
      "exception(s)" % (nrefs, nincs, len(used_allow)))
PY
