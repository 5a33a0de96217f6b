#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Differential test: rbldnsd versus zonetool.

Random mode (default): generate random rbldnsd zone files of every dataset
type from a seeded RNG, serve them with the Debian rbldnsd on 127.0.0.1 and
a random free port, compile the same zone specs with "zonetool compile",
then ask both about thousands of names (A and TXT, MX for generic data,
several client addresses for ACLs) and compare: the kind of answer, the set
of A addresses, the set of TXT strings, the set of MX records and the TTL.

Golden mode (--golden FILE): serve the hand-written zones of FILE and check
the expected answers written there against BOTH rbldnsd and zonetool.

    diff_rbldnsd.py [options] ZONETOOL
    DIFF_SEED=1234 diff_rbldnsd.py build/tools/zonetool/zonetool

Exit 0: no mismatch; 1: mismatches (all printed); 77: skipped (no rbldnsd or
dnspython); 2: the harness itself failed.

rbldnsd answers NXDOMAIN for empty non-terminals; zonetool reports "ent"
there (resolverd answers NODATA, a documented improvement), so rbldnsd
NXDOMAIN matches our "nxdomain" or "ent".

Documented deviations.  Where rbldnsd's behaviour is a bug, libzones keeps
its own answer and warns; the test knows each case, counts it under its
name and prints the count, and fails on any other difference:

  v6colons      (no longer a deviation) An IPv6 key with ":::"
                ("2001:db8:::1 :127.0.0.4"): rbldnsd reads the address up
                to the "::" and the rest as the value; so do we now.  The
                generator still emits such keys and their probes must
                match exactly; the name stays so old logs read the same.
  generic-acl   A client that an acl makes "empty" or "always listed".
                rbldnsd's man page says generic records are still
                answered as usual; rbldnsd 1.0 passes the acl flag bits
                into the generic dataset's type mask, so such a name
                exists but has no records (NOERROR, empty answer).  We
                answer the records.  Allowed: same status, and rbldnsd's
                records are ours without the generic ones (zonetool prints
                the types of the generic rrsets it found).
  generic-aaaa  generic AAAA records (rbldnsd has none; REFERENCE 10.7):
                rbldnsd skips the line, so a name with only AAAA records is
                NXDOMAIN there and exists here.

Matched on purpose (rbldnsd's reading is odd but harmless, so libzones
reads the data the same way and notes it): a dnset "name:2:text" without a
blank is one name "name:2:text" with the default value; empty labels are
dropped from names ("c..d" is c.d, also in generic, $DATASET, $NS, $SOA).
"""

import argparse
import atexit
import ipaddress
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77

try:
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdatatype
except ImportError:
    print("SKIP: python3-dnspython is not installed")
    sys.exit(SKIP)

RBLDNSD = "/usr/sbin/rbldnsd"
DEFAULT_TTL = 2100  # rbldnsd -t 35m
# Names whose answer may differ by a documented deviation: {qname: name}.
DEVIATION_NAMES = {}

# ---------------------------------------------------------------------------
# Process handling: every process we start is stopped by its PID.

_children = []


def _stop_children():
    for p in _children:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass


atexit.register(_stop_children)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(2))


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Rbldnsd:
    """rbldnsd in the foreground on 127.0.0.1:port, as user nobody."""

    def __init__(self, workdir, specs, extra_args=()):
        self.workdir = workdir
        self.log = os.path.join(workdir, "rbldnsd.log")
        for attempt in range(5):
            self.port = free_udp_port()
            args = [RBLDNSD, "-n", "-b", "127.0.0.1/%d" % self.port,
                    "-t", "35m", "-c", "0"]
            if os.geteuid() == 0:
                args[1:1] = ["-u", "nobody"]
            args += list(extra_args) + specs
            with open(self.log, "wb") as logf:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf)
            _children.append(self.proc)
            deadline = time.time() + 60
            while time.time() < deadline:
                txt = self.logtext()
                if " started (" in txt:
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError("rbldnsd did not start:\n" + self.logtext())
            if "bind" not in self.logtext().lower():
                raise RuntimeError("rbldnsd exited %d:\n%s" %
                                   (self.proc.returncode, self.logtext()))
        raise RuntimeError("rbldnsd: no free port:\n" + self.logtext())

    def logtext(self):
        try:
            with open(self.log, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def warnings(self):
        """{(file basename, line)} from 'file NAME(LINE): ...' lines."""
        out = {}
        for m in re.finditer(r"^rbldnsd: file (\S+)\((\d+)\): (.*)$",
                             self.logtext(), re.M):
            out[(os.path.basename(m.group(1)), int(m.group(2)))] = m.group(3)
        return out

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


# ---------------------------------------------------------------------------
# Normalised answers.
#
# An answer is a dict:
#   status: "noerror" | "nxdomain" | "refused" | "dropped" | "servfail" | ...
#   a, txt, mx: frozensets (None when that type was not asked)
#   ttl: {"A": ttl, "TXT": ttl, "MX": ttl} (minimum per type)
#   detail: the zonetool result word (ours only)


def rbl_answer(msgs):
    """Merge rbldnsd replies for the A/TXT/MX queries of one name."""
    ans = {"status": None, "ttl": {}, "notes": []}
    statuses = set()
    for qtype, m in msgs.items():
        key = qtype.lower()
        if m is None:
            statuses.add("dropped")
            ans[key] = frozenset()
            continue
        rc = m.rcode()
        statuses.add({dns.rcode.NOERROR: "noerror",
                      dns.rcode.NXDOMAIN: "nxdomain",
                      dns.rcode.REFUSED: "refused",
                      dns.rcode.SERVFAIL: "servfail"}.get(
                          rc, dns.rcode.to_text(rc).lower()))
        vals = set()
        for rrset in m.answer:
            if rrset.rdtype != dns.rdatatype.from_text(qtype):
                continue
            ans["ttl"][qtype] = min(ans["ttl"].get(qtype, 1 << 31), rrset.ttl)
            for rd in rrset:
                if qtype == "A":
                    vals.add(rd.address)
                elif qtype == "TXT":
                    vals.add(b"".join(rd.strings))
                elif qtype == "MX":
                    vals.add((rd.preference,
                              rd.exchange.to_text().lower().rstrip(".")))
        if rc == dns.rcode.NOERROR and not (m.flags & dns.flags.AA):
            ans["notes"].append("truncated")
        ans[key] = frozenset(vals)
    if len(statuses) == 1:
        ans["status"] = statuses.pop()
    else:
        ans["status"] = "inconsistent:" + "/".join(sorted(statuses))
    return ans


_TXT_RE = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def unescape_txt(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x5c and i + 1 < len(s):
            if s[i + 1:i + 4].isdigit() and len(s[i + 1:i + 4]) == 3:
                out.append(int(s[i + 1:i + 4]))
                i += 4
                continue
            out.append(s[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def parse_zonetool_output(data):
    """Blocks of 'name/zone/result/A/TXT/MX/AAAA' lines -> list of dicts."""
    blocks = []
    cur = None
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line.strip():
            if cur is not None:
                blocks.append(cur)
                cur = None
            continue
        if cur is None:
            cur = {"name": None, "zone": None, "result": None, "a": set(),
                   "txt": set(), "mx": set(), "aaaa": set(), "ttl": {},
                   "acl": None, "generic": set(), "raw": []}
        cur["raw"].append(line.decode("latin-1"))
        word, _, rest = line.partition(b" ")
        word = word.decode("latin-1")
        ttl = None
        m = re.search(rb"\sttl (\d+)\s*$", rest)
        if m:
            ttl = int(m.group(1))
            rest = rest[:m.start()]
        if word == "name":
            cur["name"] = rest.decode("latin-1")
        elif word == "zone":
            cur["zone"] = rest.decode("latin-1")
        elif word == "result":
            cur["result"] = rest.decode("latin-1").strip()
        elif word == "acl":
            cur["acl"] = rest.decode("latin-1").strip()
        elif word == "generic":
            cur["generic"] = set(rest.decode("latin-1").split())
        elif word in ("A", "TXT", "MX", "AAAA"):
            if word == "A":
                cur["a"].add(rest.decode().strip())
            elif word == "AAAA":
                cur["aaaa"].add(rest.decode().strip())
            elif word == "MX":
                pref, _, exch = rest.decode("latin-1").strip().partition(" ")
                cur["mx"].add((int(pref), exch.strip().lower().rstrip(".")))
            else:
                parts = _TXT_RE.findall(rest)
                cur["txt"].add(b"".join(unescape_txt(p) for p in parts))
            if ttl is not None:
                cur["ttl"][word] = min(cur["ttl"].get(word, 1 << 31), ttl)
        else:
            cur.setdefault("unknown", []).append(line.decode("latin-1"))
    if cur is not None:
        blocks.append(cur)
    return blocks


def our_answer(block, qtypes):
    r = block["result"]
    ans = {"detail": r, "ttl": {}, "notes": [], "acl": block.get("acl"),
           "generic": block.get("generic", set()),
           "aaaa": frozenset(block.get("aaaa", ()))}
    ans["status"] = {"listed": "noerror", "exists": "noerror",
                     "ent": "nxdomain", "nxdomain": "nxdomain",
                     "refused": "refused", "nozone": "refused",
                     "dropped": "dropped"}.get(r, "bad-result:%s" % r)
    for q in qtypes:
        k = q.lower()
        vals = block[k]
        if q == "TXT":
            vals = {v[:254] for v in vals}  # counted separately below
        ans[k] = frozenset(vals)
        if q in block["ttl"]:
            ans["ttl"][q] = block["ttl"][q]
    for q in qtypes:
        for v in block[q.lower()]:
            if q == "TXT" and len(v) > 254:
                ans["notes"].append("TXT longer than 254 bytes")
    return ans


def fmt_answer(ans, qtypes):
    s = ans["status"]
    if ans.get("detail"):
        s += "(%s)" % ans["detail"]
    for q in qtypes:
        vals = ans.get(q.lower()) or ()
        if not vals:
            continue
        if q == "TXT":
            vs = sorted(repr(v)[1:] for v in vals)
        else:
            vs = sorted(str(v) for v in vals)
        ttl = ans["ttl"].get(q)
        s += " %s%s{%s}" % (q, "" if ttl is None else "/%d" % ttl,
                            ", ".join(vs))
    if ans.get("notes"):
        s += " [%s]" % ", ".join(ans["notes"])
    return s


def allowance(name, rbl, ours, qtypes):
    """The documented deviation (see the top of this file) that explains
    a difference between rbldnsd and us for this name, or None."""
    if name.lower() in DEVIATION_NAMES:
        return DEVIATION_NAMES[name.lower()]
    if ours.get("acl") in ("empty", "listed") and ours.get("generic") and \
            rbl["status"] == ours["status"] == "noerror":
        ok = True
        for q in qtypes:
            k = q.lower()
            if q in ours["generic"]:
                # rbldnsd drops the generic records: what is left is the
                # acl's value ("listed") or nothing ("empty")
                ok &= rbl[k] <= ours[k] and \
                    (ours["acl"] == "listed" or not rbl[k])
            else:
                ok &= rbl[k] == ours[k]
        if ok:
            return "generic-acl"
    if rbl["status"] == "nxdomain" and ours.get("detail") == "exists" and \
            ours.get("generic") == {"AAAA"}:
        return "generic-aaaa"
    return None


def compare(rbl, ours, qtypes, strict_detail=None):
    """List of difference descriptions; empty if they agree."""
    diffs = []
    if rbl["status"] != ours["status"]:
        diffs.append("status")
        return diffs
    if rbl["status"] != "noerror":
        return diffs
    for q in qtypes:
        k = q.lower()
        if rbl[k] != ours[k]:
            diffs.append(q)
        elif rbl[k] and rbl["ttl"].get(q) != ours["ttl"].get(q):
            diffs.append(q + "-ttl")
    return diffs


# ---------------------------------------------------------------------------
# Querying rbldnsd: pipelined UDP, many queries in flight.


def query_many(port, queries, window=200, timeout=0.8, tries=2, raw=False):
    """queries: list of (source address, qname, qtype[, payload]): EDNS
    with that UDP payload size, none if payload is None (default 4096).
    Returns a list of dns.message (the reply's wire bytes if raw) or None
    (no answer after all tries: the server dropped it)."""
    socks = {}
    for src in sorted({q[0] for q in queries}):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((src, 0))
        s.setblocking(False)
        socks[src] = s
    dest = ("127.0.0.1", port)
    results = [None] * len(queries)
    pending = {}  # (src, id) -> [idx, sent, tries_left, qname, rdtype]
    nexti = 0
    qid = random.randrange(65536)
    done = 0

    def send(idx, left):
        nonlocal qid
        src, qname, qtype = queries[idx][:3]
        payload = queries[idx][3] if len(queries[idx]) > 3 else 4096
        while True:
            qid = (qid + 1) & 0xffff
            if (src, qid) not in pending:
                break
        if payload is None:
            msg = dns.message.make_query(qname, qtype, use_edns=False)
        else:
            msg = dns.message.make_query(qname, qtype, use_edns=0,
                                         payload=payload)
        msg.id = qid
        msg.flags &= ~dns.flags.RD
        socks[src].sendto(msg.to_wire(), dest)
        pending[(src, qid)] = [idx, time.time(), left,
                               dns.name.from_text(qname),
                               dns.rdatatype.from_text(qtype)]

    try:
        while done < len(queries):
            while len(pending) < window and nexti < len(queries):
                send(nexti, tries - 1)
                nexti += 1
            ready, _, _ = select.select(list(socks.values()), [], [], 0.02)
            for sock in ready:
                src = sock.getsockname()[0]
                while True:
                    try:
                        wire = sock.recv(65535)
                    except BlockingIOError:
                        break
                    try:
                        m = dns.message.from_wire(wire)
                    except Exception:  # noqa: BLE001 - malformed reply
                        continue
                    p = pending.get((src, m.id))
                    if p is None or len(m.question) != 1:
                        continue
                    q = m.question[0]
                    if q.name != p[3] or q.rdtype != p[4]:
                        continue
                    del pending[(src, m.id)]
                    results[p[0]] = wire if raw else m
                    done += 1
            now = time.time()
            for k in [k for k, p in pending.items()
                      if now - p[1] > timeout]:
                p = pending.pop(k)
                if p[2] > 0:
                    send(p[0], p[2] - 1)
                else:
                    done += 1
    finally:
        for s in socks.values():
            s.close()
    return results


# ---------------------------------------------------------------------------
# zonetool


def zonetool_compile(zonetool, db, specs, extra=()):
    os.makedirs(db, exist_ok=True)
    p = subprocess.run([zonetool, "compile", "-d", db] + list(extra) + specs,
                       stdin=subprocess.DEVNULL, capture_output=True)
    return p


def zonetool_warnings(stderr):
    out = {}
    for m in re.finditer(r"^(?:zonetool: )?(\S+?):(\d+): (.*)$",
                         stderr.decode("latin-1"), re.M):
        out[(os.path.basename(m.group(1)), int(m.group(2)))] = m.group(3)
    return out


def zonetool_lookup(zonetool, db, names, client=None):
    args = [zonetool, "lookup", "-d", db]
    if client:
        args += ["-c", client]
    args.append("-")
    p = subprocess.run(args, input=("\n".join(names) + "\n").encode(),
                       capture_output=True)
    blocks = parse_zonetool_output(p.stdout)
    if len(blocks) != len(names):
        raise RuntimeError(
            "zonetool lookup: %d names in, %d blocks out (exit %d)\n%s" %
            (len(names), len(blocks), p.returncode,
             p.stderr.decode("latin-1")[-2000:]))
    for n, b in zip(names, blocks):
        if (b["name"] or "").lower().rstrip(".") != n.lower().rstrip("."):
            raise RuntimeError("zonetool lookup: block for %r names %r" %
                               (n, b["name"]))
    return blocks


# ---------------------------------------------------------------------------
# Random zone generation.
#
# Every generator returns (text, probes): text is the file content (str,
# written as latin-1), probes a set of keys relative to the zone ("" = the
# apex) worth asking about: listed entries, their neighbours, range edges,
# partial keys, subdomains, names in between.

WORDS = ["listed", "spam", "Blocked", "see", "http://bl.test/?q=", "open",
         "relay", "dynamic", "IP", "zombie", "x", "abuse@example.org",
         "policy", "(rule)", "[tag]", "a;b", "100%", "tab"]
LABELS = ["a", "b", "c", "mail", "www", "x1", "spam", "ok", "test", "z-9",
          "mx", "foo", "bar", "host", "sub"]


def ip4(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def rev4(n, octets=4):
    o = [n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255][:octets]
    return ".".join(str(x) for x in reversed(o))


def rev6(n):
    return ".".join(reversed("%032x" % n))


class Pools:
    """Hot networks shared by all generators so entries overlap."""

    def __init__(self, rng):
        self.rng = rng
        firsts = [127, 10, 192, 203, 1, 45, 223, 255, 0, 100]
        self.v4_16 = [(rng.choice(firsts) << 24) | (rng.randrange(256) << 16)
                      for _ in range(10)] + [0x7f000000]
        self.v4_24 = []
        for b in self.v4_16:
            for _ in range(6):
                self.v4_24.append(b | (rng.randrange(256) << 8))
        self.v4_24.append(0x7f000000)
        self.v6_48 = [(0x20010db8 << 96) | (rng.randrange(1 << 16) << 80)
                      for _ in range(6)]
        self.v6_48 += [(0x2a01 << 112) | (rng.randrange(1 << 32) << 80)
                       for _ in range(2)]

    def a4(self):
        r = self.rng
        if r.random() < 0.15:
            return r.randrange(1 << 32)
        b = r.choice(self.v4_24)
        x = r.random()
        if x < 0.3:
            return b | r.choice([0, 1, 2, 3, 4, 127, 128, 254, 255])
        return b | r.randrange(256)

    def a6(self):
        r = self.rng
        x = r.random()
        if x < 0.1:
            return (0xffff << 32) | self.a4()  # v4-mapped
        if x < 0.2:
            return (0x2002 << 112) | (self.a4() << 80) | r.randrange(1 << 64)
        b = r.choice(self.v6_48)
        sub = r.choice([0, 1, 2, r.randrange(1 << 16)]) << 64
        iid = r.choice([0, 1, 2, 0xffff, r.randrange(1 << 64)])
        return b | sub | iid


def gen_a(rng):
    x = rng.random()
    if x < 0.35:
        return str(rng.randint(2, 12))
    if x < 0.8:
        return "127.0.0.%d" % rng.randint(1, 20)
    if x < 0.85:
        return "127.0.%d.%d" % (rng.randint(0, 3), rng.randint(1, 9))
    if x < 0.9:
        return rng.choice(["127.1", "127.0.1", "10.20.30.40", "127.0.0.2"])
    if x < 0.93:
        return rng.choice(["0.0.0.0", "garbage", "127.0.0.256", ""])
    return "127.0.%d.%d" % (rng.randint(4, 255), rng.randint(0, 255))


def gen_txt(rng, subject_ok=True):
    parts = []
    for _ in range(rng.randint(1, 4)):
        x = rng.random()
        if x < 0.42:
            parts.append(rng.choice(WORDS))
        elif x < 0.55 and subject_ok:
            parts.append("$")
        elif x < 0.66:
            parts.append("$%d" % rng.randint(0, 9))
        elif x < 0.7:
            parts.append("$$")
        elif x < 0.74:
            parts.append("$=")
        elif x < 0.79:
            parts.append("# " + rng.choice(WORDS))
        elif x < 0.83:
            parts.append('"q" \\back\\')
        elif x < 0.86:
            parts.append("caf\xe9\x7f")
        elif x < 0.88:
            parts.append("L" * rng.randint(100, 300))
        elif x < 0.94:
            parts.append("$" + rng.choice("ab:/-.x"))
        else:
            parts.append(rng.choice(WORDS) + "\t" + rng.choice(WORDS))
    txt = rng.choice([" ", "", " ", " "]).join(parts)
    if rng.random() < 0.06:
        txt = "=" + txt
    return txt.lstrip(":").strip()


def gen_value(rng, txt_ok=True, glue=True):
    x = rng.random()
    if not glue and 0.82 <= x < 0.87:
        x = 0.2
    if x < 0.3:
        return ""
    if x < 0.5:
        return " :%s:%s" % (gen_a(rng), gen_txt(rng))
    if x < 0.58:
        return " :%s" % gen_a(rng)
    if x < 0.63:
        return " :%s:" % gen_a(rng)
    if x < 0.82 and txt_ok:
        t = gen_txt(rng)
        return (" " + t) if t else ""
    if x < 0.87:
        return ":%s:%s" % (gen_a(rng), gen_txt(rng))
    if x < 0.93:
        return rng.choice([" # comment", " ; comment", "\t#x", " :3:#y"])
    return "\t:%s: %s" % (gen_a(rng), gen_txt(rng))


def gen_default_line(rng):
    x = rng.random()
    if x < 0.6:
        return ":%s:%s" % (gen_a(rng), gen_txt(rng))
    if x < 0.8:
        return ":%s" % gen_a(rng)
    if x < 0.95:
        return ":%s:" % gen_a(rng)
    return ":"


def gen_special(rng, kinds="ttl var base"):
    x = rng.random()
    if x < 0.25 and "ttl" in kinds:
        return "$TTL %s" % rng.choice(["600", "10m", "1h", "300", "2100",
                                       "1d", "45s"])
    if x < 0.75 and "var" in kinds:
        pre = rng.choice(["$", "$", "$", "#$", ";$"])
        return "%s%d %s" % (pre, rng.randint(0, 9), gen_txt(rng, False))
    if "base" in kinds:
        return "$= %s" % rng.choice(["See $= ($)", "base[$=]", "$= $1",
                                     "$=", "pre $= mid $ post $$"])
    return "# nothing"


def noise(rng):
    return rng.choice(["", "# comment", "; comment", "   ", "\t",
                       "#1.2.3.4", ";!1.2.3.4"])


def probes4(lo, hi, out, rng):
    for n in (lo - 1, lo, hi, hi + 1, rng.randint(lo, hi)):
        if 0 <= n < (1 << 32):
            out.add(("v4", n))


def gen_ip4set_key(rng, pools, probes):
    """One ip4set key (no '!')."""
    b = pools.a4()
    f = rng.random()
    if f < 0.30:
        probes4(b, b, probes, rng)
        return ip4(b)
    if f < 0.45:
        n = rng.choice([8, 12, 16, 20, 22, 23, 24, 25, 26, 28, 30, 31, 32,
                        rng.randint(1, 7)])
        net = b & ~((1 << (32 - n)) - 1) & 0xffffffff
        probes4(net, net | ((1 << (32 - n)) - 1), probes, rng)
        if rng.random() < 0.3 and n >= 8:
            oct_ = (n + 7) // 8
            return "%s/%d" % (".".join(ip4(net).split(".")[:oct_]), n)
        return "%s/%d" % (ip4(net), n)
    if f < 0.55:
        k = rng.choice([2, 3, 3, 3, 1])
        net = b & ~((1 << (32 - 8 * k)) - 1) & 0xffffffff
        probes4(net, net | ((1 << (32 - 8 * k)) - 1), probes, rng)
        return ".".join(ip4(net).split(".")[:k])
    if f < 0.65:
        hi = min(b + rng.choice([1, 5, 200, 300, 700]), (1 << 32) - 1)
        probes4(b, hi, probes, rng)
        return "%s-%s" % (ip4(b), ip4(hi))
    if f < 0.75:
        last = b & 255
        e = rng.randint(last, 255)
        probes4(b, (b & ~255) | e, probes, rng)
        return "%s-%d" % (ip4(b), e)
    if f < 0.82:
        c = (b >> 8) & 255
        e = min(255, c + rng.randint(0, 3))
        lo = b & ~255
        hi = (b & ~0xffff) | (e << 8) | 255
        probes4(lo, hi, probes, rng)
        if rng.random() < 0.5:
            return "%s-%d" % (".".join(ip4(lo).split(".")[:3]), e)
        return "%s-%s" % (".".join(ip4(lo).split(".")[:3]),
                          ".".join(ip4(hi).split(".")[:3]))
    if f < 0.86:
        c = (b >> 16) & 255
        e = min(255, c + rng.randint(0, 2))
        lo = b & ~0xffff
        hi = (b & ~0xffffff) | (e << 16) | 0xffff
        probes4(lo, hi, probes, rng)
        return "%s-%d" % (".".join(ip4(lo).split(".")[:2]), e)
    if f < 0.89:
        a = b >> 24
        e = min(255, a + rng.randint(0, 1))
        probes4(a << 24, (e << 24) | 0xffffff, probes, rng)
        return rng.choice(["%d-%d" % (a, e), "%d/8" % a])
    if f < 0.94:
        n = rng.choice([8, 16, 24, 28])
        probes4(b & ~((1 << (32 - n)) - 1), b | ((1 << (32 - n)) - 1),
                probes, rng)
        return "%s/%d" % (ip4(b | 1), n)  # host bits: skipped without -e
    probes4(b, b, probes, rng)
    return rng.choice(["1.2-1.2.3.4", "127-127.0.0", "%s-%s" % (ip4(b + 5),
                       ip4(b)), "256.1.2.3", "%s/33" % ip4(b), "0/0",
                       "1.2.3.4.5", "%s/0" % ip4(0), "1..2.3", "-1.2.3.4",
                       "%d" % (b >> 24)])


def gen_ip4set(rng, pools, nlines, nfiles=1, base=False):
    probes = set()
    files = []
    for fi in range(nfiles):
        lines = []
        if fi == 0 and base:
            lines.append(gen_special(rng, "base"))
        for _ in range(nlines // nfiles):
            x = rng.random()
            if x < 0.03:
                lines.append(gen_default_line(rng))
            elif x < 0.06:
                lines.append(gen_special(rng, "ttl var base" if base
                                         else "ttl var"))
            elif x < 0.09:
                lines.append(noise(rng))
            elif x < 0.2:
                lines.append("!" + gen_ip4set_key(rng, pools, probes) +
                             rng.choice(["", "", " :5:ignored"]))
            else:
                lines.append(rng.choice(["", "", "", " ", "\t"]) +
                             gen_ip4set_key(rng, pools, probes) +
                             gen_value(rng))
        files.append("\n".join(lines) + "\n")
    return files, probes


def gen_ip4tset(rng, pools, nlines):
    probes = set()
    lines = []
    for i in range(nlines):
        x = rng.random()
        if x < 0.01 or i == nlines // 2:
            lines.append(gen_default_line(rng))
        elif x < 0.03:
            lines.append(gen_special(rng, "ttl var"))
        elif x < 0.05:
            lines.append(noise(rng))
        elif x < 0.07:
            b = pools.a4()
            probes4(b, b, probes, rng)
            lines.append(rng.choice(["!%s" % ip4(b), "%s/32" % ip4(b),
                                     ".".join(ip4(b).split(".")[:3]),
                                     "%s-%d" % (ip4(b), (b & 255) | 1)]))
        else:
            b = pools.a4()
            probes4(b, b, probes, rng)
            lines.append(ip4(b) + rng.choice(["", "", " :3:junk", " txt",
                                              "\tx", ":4:y"]))
    return ["\n".join(lines) + "\n"], probes


def gen_ip4trie_key(rng, pools, probes):
    b = pools.a4()
    f = rng.random()
    if f < 0.3:
        probes4(b, b, probes, rng)
        return ip4(b) + rng.choice(["", "/32"])
    if f < 0.75:
        n = rng.randint(1, 31)
        net = b & ~((1 << (32 - n)) - 1) & 0xffffffff
        probes4(net, net | ((1 << (32 - n)) - 1), probes, rng)
        return "%s/%d" % (ip4(net), n)
    if f < 0.9:
        k = rng.choice([1, 2, 3, 3])
        net = b & ~((1 << (32 - 8 * k)) - 1) & 0xffffffff
        probes4(net, net | ((1 << (32 - 8 * k)) - 1), probes, rng)
        return ".".join(ip4(net).split(".")[:k])
    if f < 0.95:
        probes4(b & ~255, b | 255, probes, rng)
        return "%s/24" % ip4(b | 7)  # host bits
    probes4(b, b + 3, probes, rng)
    return rng.choice(["%s-%s" % (ip4(b), ip4(b + 3)), "%s/33" % ip4(b),
                       "300.1.1.1", "1.2.3/8", "%d/%d" % (b >> 24, 8)])


def gen_ip4trie(rng, pools, nlines, zero=False):
    probes = set()
    lines = []
    seen = []
    if zero:
        lines.append("0/0 :9:everything")
    for _ in range(nlines):
        x = rng.random()
        if x < 0.03:
            lines.append(gen_default_line(rng))
        elif x < 0.05:
            lines.append(gen_special(rng, "ttl var"))
        elif x < 0.07:
            lines.append(noise(rng))
        elif x < 0.1 and seen:
            lines.append(rng.choice(seen) + gen_value(rng))  # duplicate
        elif x < 0.22:
            lines.append("!" + gen_ip4trie_key(rng, pools, probes))
        else:
            k = gen_ip4trie_key(rng, pools, probes)
            seen.append(k)
            lines.append(k + gen_value(rng))
    return ["\n".join(lines) + "\n"], probes


def probes6(lo, hi, out, rng):
    for n in (lo - 1, lo, hi, hi + 1, rng.randint(lo, hi)):
        if 0 <= n < (1 << 128):
            out.add(("v6", n))


def fmt6(n, plen, rng):
    """A prefix in one of the accepted spellings."""
    a = ipaddress.IPv6Address(n)
    x = rng.random()
    groups = a.exploded.split(":")
    if plen % 16 == 0 and 16 < plen < 128 and x < 0.3 and \
            all(g == "0000" for g in groups[plen // 16:]):
        g = [gg.lstrip("0") or "0" for gg in groups[:plen // 16]]
        return ":".join(g)  # implied length
    if plen % 16 == 0 and 16 < plen < 128 and x < 0.4:
        g = [gg.lstrip("0") or "0" for gg in groups[:plen // 16]]
        return "%s/%d" % (":".join(g), plen)  # groups omitted + length
    s = a.compressed if x < 0.8 else a.exploded
    if rng.random() < 0.15:
        s = s.upper()
    if plen == 128 and rng.random() < 0.5:
        return s
    return "%s/%d" % (s, plen)


def gen_ip6trie_key(rng, pools, probes):
    b = pools.a6()
    f = rng.random()
    if f < 0.85:
        plen = rng.choice([128, 128, 64, 48, 56, 32, 36, 96, 112, 120, 127,
                           rng.randint(17, 128)])
        net = b & ~((1 << (128 - plen)) - 1)
        probes6(net, net | ((1 << (128 - plen)) - 1), probes, rng)
        return fmt6(net, plen, rng)
    probes6(b, b, probes, rng)
    k = rng.choice(["2001", "::ffff:1.2.3.4", "%s/64" %
                    ipaddress.IPv6Address(b | 1).compressed,
                    "2001:db8::/129", "2001:db8:::1", "fffff::",
                    "::1", "::"])
    if ":::" in k:
        # rbldnsd (and we) list or exclude the address up to the "::",
        # the rest is the value: probe that address
        probes.add(("v6dev", int(ipaddress.IPv6Address(
            k.split(":::")[0] + "::"))))
    return k


def gen_ip6trie(rng, pools, nlines):
    probes = set()
    lines = []
    seen = []
    for _ in range(nlines):
        x = rng.random()
        if x < 0.03:
            lines.append(gen_default_line(rng))
        elif x < 0.05:
            lines.append(gen_special(rng, "ttl var"))
        elif x < 0.07:
            lines.append(noise(rng))
        elif x < 0.1 and seen:
            lines.append(rng.choice(seen) + gen_value(rng))
        elif x < 0.22:
            lines.append("!" + gen_ip6trie_key(rng, pools, probes))
        else:
            k = gen_ip6trie_key(rng, pools, probes)
            seen.append(k)
            lines.append(k + gen_value(rng))
    return ["\n".join(lines) + "\n"], probes


def gen_ip6tset(rng, pools, nlines):
    probes = set()
    lines = []
    nets = []
    for i in range(nlines):
        x = rng.random()
        if x < 0.01 or i == nlines // 3:
            lines.append(gen_default_line(rng))
        elif x < 0.03:
            lines.append(gen_special(rng, "ttl var"))
        elif x < 0.05:
            lines.append(noise(rng))
        elif x < 0.2 and nets:
            n = rng.choice(nets) | rng.choice([0, 1, 2, rng.randrange(1 << 64)])
            probes6(n, n, probes, rng)
            lines.append("!" + ipaddress.IPv6Address(n).compressed)
        elif x < 0.25:
            b = pools.a6()
            probes6(b, b, probes, rng)
            lines.append(rng.choice([
                ipaddress.IPv6Address(b).compressed,
                "%s/64" % ipaddress.IPv6Address(b & ~((1 << 64) - 1)),
                ":".join("%x" % ((b >> s) & 0xffff) for s in (112, 96, 80)),
                "!" + ":".join("%x" % ((b >> s) & 0xffff)
                               for s in (112, 96, 80, 64))]))
        else:
            b = pools.a6() & ~((1 << 64) - 1)
            nets.append(b)
            probes6(b, b | ((1 << 64) - 1), probes, rng)
            k = ":".join("%x" % ((b >> s) & 0xffff) for s in (112, 96, 80, 64))
            if rng.random() < 0.1:
                k = k.upper()
            lines.append(k + rng.choice(["", "", " :3:x", " txt"]))
    return ["\n".join(lines) + "\n"], probes


def rand_name(rng, depth=None):
    d = depth or rng.choice([1, 2, 2, 3, 3, 4])
    return ".".join(rng.choice(LABELS) for _ in range(d))


def name_probes(name, rng, out):
    out.add(("name", name))
    out.add(("name", rng.choice(LABELS) + "." + name))
    out.add(("name", rng.choice(LABELS) + "." + rng.choice(LABELS) + "." +
             name))
    if "." in name:
        out.add(("name", name.split(".", 1)[1]))
    if rng.random() < 0.2:
        out.add(("name", name.upper()))


def gen_dnset(rng, nlines, extra=()):
    probes = set()
    lines = list(extra)
    for e in extra:
        name_probes(e.lstrip("!*."), rng, probes)
    for _ in range(nlines):
        x = rng.random()
        if x < 0.03:
            lines.append(gen_default_line(rng))
        elif x < 0.05:
            lines.append(gen_special(rng, "ttl var"))
        elif x < 0.07:
            lines.append(noise(rng))
        else:
            n = rand_name(rng)
            name_probes(n, rng, probes)
            pre = rng.choice(["", "", "", "*.", ".", "*.", "."])
            if rng.random() < 0.15:
                pre = "!" + pre
            if rng.random() < 0.05:
                n = n.upper()
            if rng.random() < 0.03:
                n += "."
            if rng.random() < 0.02:
                n = rng.choice(["a..b", "*", ".", "*.*.a", "a b",
                                "x" * 70, "..c..d.", "a.b..", "A..B"])
                if ".." in n:
                    probes.add(("name", n.replace("..", ".").strip(".")))
            val = ("" if pre.startswith("!") and rng.random() < 0.8 else
                   gen_value(rng))
            if val.startswith(":") and not n.endswith("."):
                # "name:A:TXT" without a blank: rbldnsd (and we) read the
                # whole word as the name
                glued = (n + val).split()[0]
                if re.match(r"^[A-Za-z0-9.:_-]+$", glued) and \
                        not glued.startswith(".") and ".." not in glued \
                        and len(glued) < 200 and \
                        max(len(x) for x in glued.split(".")) <= 63:
                    probes.add(("name", glued))
            lines.append(pre + n + val)
    return ["\n".join(lines) + "\n"], probes


def gen_generic(rng, nlines):
    probes = {("name", "")}
    lines = []
    for _ in range(nlines):
        x = rng.random()
        if x < 0.05:
            lines.append(noise(rng))
            continue
        if x < 0.07:
            lines.append(gen_special(rng, "ttl var"))
            continue
        n = rng.choice(["@", rand_name(rng, rng.choice([1, 1, 2, 3]))])
        if n != "@":
            name_probes(n, rng, probes)
        ttl = rng.choice(["", "", "300 ", "5m ", "0 ", "1h "])
        cls = rng.choice(["", "", "IN "])
        t = rng.random()
        if t < 0.4:
            rr = "A " + rng.choice(["1.2.3.%d" % rng.randint(1, 9),
                                    "127.0.0.%d" % rng.randint(1, 5),
                                    "10.0.0.1"])
        elif t < 0.75:
            txt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
            txt = txt.replace("tab", "t")
            rr = "TXT " + rng.choice(['"%s"' % txt, txt, '"%s' % txt])
        elif t < 0.97:
            rr = "MX %d %s" % (rng.choice([0, 10, 20]),
                               rng.choice(["mx.example.com", "mx2.example.net.",
                                           "Mail.Example.ORG"]))
        else:
            rr = rng.choice(["AAAA ::1", "CNAME x.example.",
                             "A 300.1.1.1", "NS ns.example."])
        lines.append("%s %s%s%s" % (n, ttl, cls, rr))
    return ["\n".join(lines) + "\n"], probes


def gen_combined(rng, pools):
    """A combined file and probes as (kind, key, subzone)."""
    lines = ["# combined dataset",
             "$SOA 1h ns.comb.test hostmaster.comb.test 42 1h 15m 1w 5m",
             "$NS 1d ns.comb.test",
             "$TTL %s" % rng.choice(["10m", "35m", "1h"]),
             "$1 header-one",
             "$3 header-three"]
    subzones = ["@", "ip", "dn", "a.b", "six", "gen", "both"]
    probes = set()
    inner = [("ip4set", lambda: gen_ip4set(rng, pools, 300)),
             ("ip4trie", lambda: gen_ip4trie(rng, pools, 200)),
             ("ip4tset", lambda: gen_ip4tset(rng, pools, 150)),
             ("ip6trie", lambda: gen_ip6trie(rng, pools, 150)),
             ("ip6tset", lambda: gen_ip6tset(rng, pools, 100)),
             ("dnset", lambda: gen_dnset(rng, 200)),
             ("generic", lambda: gen_generic(rng, 60)),
             ("ip4set", lambda: gen_ip4set(rng, pools, 200, base=True)),
             ("dnset", lambda: gen_dnset(rng, 100))]
    for i, (typ, fn) in enumerate(inner):
        subs = rng.sample(subzones, rng.choice([1, 1, 2, 3]))
        if i == 0:
            subs = ["ip", "both"]
        label = rng.choice(["", ":lab%d" % i])
        lines.append("$DATASET %s%s %s%s" % (typ, label, " ".join(subs),
                                            rng.choice(["", " # comment"])))
        if rng.random() < 0.5:
            lines.append("$1 subset-one-%d" % i)  # header $1 wins
            lines.append("$2 subset-two-%d" % i)
        if rng.random() < 0.3:
            lines.append("$TTL %s" % rng.choice(["5m", "2h"]))
        files, pr = fn()
        lines.append(files[0].rstrip("\n"))
        for p in pr:
            for s in subs:
                probes.add((p[0], p[1], "" if s == "@" else s))
    lines.append("$DATASET dnset")  # no subzones: warning, ignored
    lines.append("ignored.name")
    for s in subzones + ["nosuch", "x.a.b"]:
        probes.add(("name", "", "" if s == "@" else s))
        probes.add(("name", "y", "" if s == "@" else s))
    return ["\n".join(lines) + "\n"], probes


def gen_acl(rng, zone_local):
    """ACL for clients 127.0.0.N.  The zone ACL uses N in 2..63; the global
    one only N in 64..127 plus overlaps at 40..47 (so precedence is seen)
    and never 127.0.0.1."""
    lines = ["# acl"]
    actions = [":ignore", ":refuse", ":empty", ":pass", "=empty", "=refuse",
               ":blackhole", "", ":2:always listed for $",
               ":127.0.0.%d:ACL $ $1 $$" % rng.randint(3, 9), ":5",
               ":6:", "=ignore"]
    if rng.random() < 0.5:
        lines.append(rng.choice([":refuse", ":empty", "=ignore", ":pass",
                                 ":7:default listed $"]))
        if not lines[-1].startswith(":7"):
            # rbldnsd 1.0 segfaults on load for an ":A" entry (A, no TXT)
            # after a keyword default line; don't feed it that.
            actions.remove(":5")
    rng_ = range(2, 64) if zone_local else range(64, 128)
    for n in rng_:
        if rng.random() < 0.25:
            continue
        lines.append("127.0.0.%d %s" % (n, rng.choice(actions)))
    if zone_local:
        lines += ["127.0.0.40/29 :refuse", "127.0.0.44/30 :pass",
                  "127.0.0.30/31 :empty"]
    else:
        lines += ["127.0.0.40/30 :empty", "127.0.0.44/31 :ignore",
                  "127.0.0.46 :8:global $"]
    lines += ["::1 :refuse", "2001:db8::/32 :ignore", "10.0.0.0/8 :refuse",
              "$1 acl-var", "# end"]
    return ["\n".join(lines) + "\n"]


# ---------------------------------------------------------------------------


def key_to_names(kind, key, rng):
    """Relative query keys for a probe."""
    if kind == "v6dev":
        return [rev6(key)]
    if kind == "v4":
        out = [rev4(key)]
        r = rng.random()
        if r < 0.04:
            out.append(rev4(key, 3))  # partial IP: 0.0.127
        elif r < 0.06:
            out.append(rev4(key, 2))
        elif r < 0.08:
            out.append("x." + rev4(key))
        elif r < 0.09:
            out.append(rev4(key).replace(".", ".0", 1))  # leading zero
        return out
    if kind == "v6":
        out = [rev6(key)]
        if rng.random() < 0.05:
            out.append(rev6(key).upper())
        if rng.random() < 0.03:
            out.append(rev6(key).split(".", 1)[1])  # 31 nibbles
        return out
    return [key]


def v4_as_v6(n, rng):
    if rng.random() < 0.5:
        return (0xffff << 32) | n
    return (0x2002 << 112) | (n << 80) | rng.choice([0, 1, rng.randrange(
        1 << 80)])


def build_random(rng, tmp, scale):
    """Write zone files; return (specs, queries).  queries: list of
    (client, qname, qtypes)."""
    pools = Pools(rng)
    specs = []
    queries = []
    zone_probes = {}

    def write(name, content):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(content.encode("latin-1"))
        os.chmod(path, 0o644)
        return path

    def add(zone, typ, files, probes, tag):
        paths = [write("%s.%d" % (tag, i), c) for i, c in enumerate(files)]
        specs.append("%s:%s:%s" % (zone, typ, ",".join(paths)))
        zone_probes.setdefault(zone, set()).update(probes)

    S = scale
    # $SOA/$NS for some zones (the daemon test compares SOA, NS, glue and
    # negative answers): a SOA TTL above, equal to and below MINIMUM, a
    # zone with NS but no SOA, glue from the zone's generic data.
    f, p = gen_ip4set(rng, pools, int(4000 * S), nfiles=3)
    f[0] = ("$SOA 1h ns.set.test hostmaster.set.test 0 1h 15m 1w 10m\n"
            "$NS 1d ns.set.test ns2.example.net\n") + f[0]
    add("set.test", "ip4set", f, p, "set")
    add("set2.test", "ip4set", f, set(rng.sample(sorted(p), min(len(p), 200))),
        "set")  # same type:files, shared in rbldnsd
    f, p = gen_ip4set(rng, pools, int(800 * S), base=True)
    add("base.test", "ip4set", f, p, "base")
    f, p = gen_ip4tset(rng, pools, int(1500 * S))
    add("tset.test", "ip4tset", f, p, "tset")
    f, p = gen_ip4trie(rng, pools, int(1500 * S))
    add("trie.test", "ip4trie", f, p, "trie")
    f, p = gen_ip6trie(rng, pools, int(1200 * S))
    f[0] = "$SOA 5m ns.trie6.test hm.trie6.test 1 1h 15m 1w 5m\n" + f[0]
    add("trie6.test", "ip6trie", f, p, "trie6")
    f, p = gen_ip6tset(rng, pools, int(800 * S))
    add("tset6.test", "ip6tset", f, p, "tset6")
    f, p = gen_dnset(rng, int(1500 * S),
                     extra=["test", ".sub", "a.sub :3:in parent zone"])
    f[0] = ("$SOA 60 ns1.dn.test hostmaster.dn.test 2024010101 3600 900 "
            "604800 3600\n$NS 1h ns1.dn.test -ns.commented.out "
            "ns2.example.net\n") + f[0]
    add("dn.test", "dnset", f, p, "dn")
    f, p = gen_dnset(rng, int(300 * S))
    add("sub.dn.test", "dnset", f, p, "subdn")  # nested zone
    f, p = gen_generic(rng, int(400 * S))
    f[0] = ("$SOA 0 ns.gen.test hm.gen.test 7 1h 15m 1w 5m\n"
            "$NS 0 ns.gen.test ns2.gen.test\n"
            "ns 600 A 192.0.2.53\nns2 600 A 192.0.2.54\n") + f[0]
    p |= {("name", "ns"), ("name", "ns2")}
    add("gen.test", "generic", f, p, "gen")
    f, p = gen_dnset(rng, int(200 * S))
    add("gen.test", "dnset", f, p, "gendn")

    # One zone, many datasets: merging, TTL minimum, v4-mapped/6to4.
    mixp = set()
    f, p = gen_ip4set(rng, pools, int(600 * S))
    f[0] = "$NS 2h ns.mix.test\n" + f[0]
    add("mix.test", "ip4set", f, p, "mix4set")
    mixp |= p
    f, p = gen_ip4tset(rng, pools, int(300 * S))
    add("mix.test", "ip4tset", f, p, "mix4tset")
    mixp |= p
    f, p = gen_ip4trie(rng, pools, int(300 * S), zero=rng.random() < 0.3)
    add("mix.test", "ip4trie", f, p, "mix4trie")
    mixp |= p
    f, p = gen_ip6trie(rng, pools, int(300 * S))
    add("mix.test", "ip6trie", f, p, "mix6trie")
    f, p = gen_ip6tset(rng, pools, int(200 * S))
    add("mix.test", "ip6tset", f, p, "mix6tset")
    f, p = gen_dnset(rng, int(200 * S))
    add("mix.test", "dnset", f, p, "mixdn")
    # (sorted: the RNG must be drawn in the same order in every process,
    # whatever the string hash seed, for DIFF_SEED to replay a run)
    for zone, share in (("mix.test", 0.3), ("set.test", 0.1),
                        ("tset.test", 0.1)):
        src = mixp if zone == "mix.test" else zone_probes[zone]
        zone_probes[zone] |= {("v6", v4_as_v6(k, rng))
                              for (kind, k) in sorted(src, key=str)
                              if kind == "v4" and rng.random() < share}

    f, p = gen_combined(rng, pools)
    path = write("comb.0", f[0])
    specs.append("comb.test:combined:%s" % path)
    comb_probes = p

    # ACLs: a zone ACL on acl.test and a global one.
    f, p = gen_ip4set(rng, pools, int(300 * S))
    add("acl.test", "ip4set", f, p, "aclset")
    add("acl.test", "acl", gen_acl(rng, True), set(), "acl")
    add("", "acl", gen_acl(rng, False), set(), "gacl")

    # Queries from 127.0.0.1: every zone's probes (capped).
    budget = {"set.test": 2500, "set2.test": 200, "base.test": 600,
              "tset.test": 900, "trie.test": 1000, "trie6.test": 900,
              "tset6.test": 600, "dn.test": 1200, "sub.dn.test": 300,
              "gen.test": 500, "mix.test": 1200, "acl.test": 300}
    all_names = []
    for zone, probes in zone_probes.items():
        if not zone:
            continue  # the global ACL
        pr = sorted(probes, key=lambda t: (t[0], str(t[1])))
        rng.shuffle(pr)
        dev = [p for p in pr if p[0] == "v6dev"]
        pr = pr[:int(budget.get(zone, 300) * S)] + dev
        names = set()
        for kind, key in pr:
            for k in key_to_names(kind, key, rng):
                names.add(k + "." + zone if k else zone)
        names |= {zone, "0.0.127." + zone, "2.0.0.127." + zone,
                  "1.0.0.127." + zone, "foo." + zone, "test." + zone,
                  "invalid." + zone, rev6(0xffff7f000002) + "." + zone}
        qt = ("A", "TXT", "MX") if zone == "gen.test" else ("A", "TXT")
        for n in sorted(names):
            queries.append(("127.0.0.1", n, qt))
            all_names.append(n)
    pr = sorted(comb_probes, key=lambda t: (t[0], str(t[1]), t[2]))
    rng.shuffle(pr)
    names = set()
    dev = [p for p in pr if p[0] == "v6dev"]
    for kind, key, sub in pr[:int(2000 * S)] + dev:
        zone = sub + ".comb.test" if sub else "comb.test"
        for k in key_to_names(kind, key, rng):
            names.add(k + "." + zone if k else zone)
    for n in sorted(names):
        queries.append(("127.0.0.1", n, ("A", "TXT", "MX")))
        all_names.append(n)
    # Unserved names.
    for n in ["test", "nosuch.example", "est", "et.test", "xset.test"]:
        queries.append(("127.0.0.1", n, ("A", "TXT")))

    # ACL clients: zone ACL (2..63) and the global one (40..127).
    acl_names = [q[1] for q in queries if q[1].endswith("acl.test")]
    for n in range(2, 128, 1 if S >= 1 else 3):
        client = "127.0.0.%d" % n
        sample = rng.sample(acl_names, min(6, len(acl_names))) + ["acl.test"]
        if n >= 40:
            sample += rng.sample(all_names, 4)
        for name in sample:
            queries.append((client, name, ("A", "TXT")))
    return specs, queries


# ---------------------------------------------------------------------------
# Golden file
#
#   zone ZONE:TYPE:FILE[,FILE]          (FILE relative to the temp dir)
#   file NAME <<EOF                     (content verbatim up to a line EOF)
#   query [-c CLIENT] NAME [RESULT]     then indented lines:
#       A 127.0.0.2 [ttl N]
#       TXT "text" [ttl N]               (dig-style escapes)
#       MX 10 mx.example.com [ttl N]
#   RESULT: listed (default when value lines follow), exists (NOERROR, no
#   A/TXT), nxdomain (ours: nxdomain or ent), ent (ours must say ent,
#   rbldnsd NXDOMAIN), refused (ACL), nozone (rbldnsd REFUSED), dropped.
#   A documented deviation (see the top of this file) gives rbldnsd's
#   answer apart, in indented lines starting with "rbldnsd":
#       rbldnsd RESULT / rbldnsd A 127.0.0.1 / rbldnsd TXT "x" ...
#   and names the deviation: query NAME RESULT deviation=NAME


def parse_golden(path, tmp):
    specs, cases = [], []
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    i = 0
    cur = None
    while i < len(lines):
        line = lines[i]
        i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if line.startswith("zone "):
            specs.append(s[5:].strip())
            cur = None
        elif line.startswith("file "):
            m = re.match(r"file (\S+) <<(\w+)$", s)
            if not m:
                raise ValueError("%s:%d: bad file line" % (path, i))
            body = []
            while i < len(lines) and lines[i] != m.group(2):
                body.append(lines[i])
                i += 1
            i += 1
            p = os.path.join(tmp, m.group(1))
            with open(p, "wb") as fo:
                fo.write(("\n".join(body) + "\n").encode("latin-1"))
            os.chmod(p, 0o644)
        elif line.startswith("query "):
            w = s.split()[1:]
            client = "127.0.0.1"
            if w[0] == "-c":
                client = w[1]
                w = w[2:]
            dev = [x for x in w[1:] if x.startswith("deviation=")]
            w = [x for x in w if not x.startswith("deviation=")]
            cur = {"client": client, "name": w[0],
                   "result": w[1] if len(w) > 1 else None,
                   "a": set(), "txt": set(), "mx": set(), "ttl": {},
                   "line": i, "rbl": None,
                   "deviation": dev[0].split("=", 1)[1] if dev else None}
            cases.append(cur)
        elif line[0] in " \t" and cur is not None:
            tgt = cur
            if s.startswith("rbldnsd"):
                if cur["deviation"] is None:
                    raise ValueError("%s:%d: rbldnsd lines need "
                                     "deviation=NAME" % (path, i))
                if cur["rbl"] is None:
                    cur["rbl"] = {"result": None, "a": set(), "txt": set(),
                                  "mx": set(), "ttl": {}}
                tgt = cur["rbl"]
                s = s[len("rbldnsd"):].strip()
                if s in GOLDEN_RESULTS:
                    tgt["result"] = s
                    continue
            b = parse_zonetool_output(s.encode("latin-1"))[0]
            for k in ("a", "txt", "mx"):
                tgt[k] |= b[k]
            tgt["ttl"].update(b["ttl"])
        else:
            raise ValueError("%s:%d: cannot parse %r" % (path, i, line))
    specs = [_abs_spec(sp, tmp) for sp in specs]
    return specs, cases


def _abs_spec(spec, tmp):
    zone, typ, files = spec.split(":", 2)
    return "%s:%s:%s" % (zone, typ, ",".join(os.path.join(tmp, f)
                                              for f in files.split(",")))


GOLDEN_RESULTS = ("listed", "exists", "nxdomain", "ent", "refused", "nozone",
                  "dropped")


def golden_expect(case, rbldnsd=False):
    """The expected answer of us, or of rbldnsd (which differs only where
    the case pins a documented deviation)."""
    if rbldnsd and case.get("rbl") is not None:
        case = case["rbl"]
    r = case["result"] or ("listed" if case["a"] or case["txt"] or case["mx"]
                           else "exists")
    exp = {"detail": r, "notes": [],
           "status": {"listed": "noerror", "exists": "noerror",
                      "ent": "nxdomain", "nxdomain": "nxdomain",
                      "refused": "refused", "nozone": "refused",
                      "dropped": "dropped"}[r],
           "a": frozenset(case["a"]), "txt": frozenset(case["txt"]),
           "mx": frozenset(case["mx"]), "ttl": dict(case["ttl"])}
    return exp


def compare_expect(exp, got, qtypes):
    diffs = []
    if exp["status"] != got["status"]:
        return ["status"]
    allowed = {"listed": ("listed",), "exists": ("exists",),
               "nxdomain": ("nxdomain", "ent"), "ent": ("ent",),
               "refused": ("refused",), "nozone": ("nozone",),
               "dropped": ("dropped",)}
    if got.get("detail") is not None and \
            got["detail"] not in allowed[exp["detail"]]:
        return ["result"]
    if exp["status"] != "noerror":
        return diffs
    for q in qtypes:
        k = q.lower()
        if exp[k] != got[k]:
            diffs.append(q)
        elif q in exp["ttl"] and got["ttl"].get(q) != exp["ttl"][q]:
            diffs.append(q + "-ttl")
    return diffs


# ---------------------------------------------------------------------------


def ask_both(zonetool, db, port, queries):
    """Return a list of (client, name, qtypes, rbldnsd answer, our answer,
    zonetool block), one per query."""
    dq = []
    for client, name, qtypes in queries:
        for qt in qtypes:
            dq.append((client, name, qt))
    res = iter(query_many(port, dq))
    msgs = []
    for client, name, qtypes in queries:
        msgs.append({qt: next(res) for qt in qtypes})
    by_client = {}
    for i, (client, name, qtypes) in enumerate(queries):
        by_client.setdefault(client, []).append(i)
    out = [None] * len(queries)
    for client, idxs in by_client.items():
        blocks = zonetool_lookup(zonetool, db, [queries[i][1] for i in idxs],
                                 None if client == "127.0.0.1" else client)
        for i, blk in zip(idxs, blocks):
            client, name, qtypes = queries[i]
            out[i] = (client, name, qtypes, rbl_answer(msgs[i]),
                      our_answer(blk, qtypes), blk)
    return out


def report_warnings(rbl, ours_stderr, specs):
    """Informational: lines warned about by one side only.  rbldnsd prints
    at most 5 warnings per dataset, so past its 5th we can't compare."""
    rw = rbl.warnings()
    ow = zonetool_warnings(ours_stderr)
    only_r = sorted(set(rw) - set(ow))
    only_o = []
    for spec in specs:
        files = [os.path.basename(f) for f in spec.split(":", 2)[2].split(",")]
        pos = {f: i for i, f in enumerate(files)}
        mine = sorted((pos[f], n) for (f, n) in rw if f in pos)
        cut = mine[-1] if len(mine) >= 5 else (1 << 30, 0)
        for (f, n) in ow:
            if f in pos and (pos[f], n) < cut and (f, n) not in rw:
                only_o.append((f, n))
    only_o = sorted(set(only_o))
    print("load warnings: rbldnsd %d (at most 5 per dataset), zonetool %d; "
          "comparable lines warned only by rbldnsd %d, only by zonetool %d" %
          (len(rw), len(ow), len(only_r), len(only_o)))
    for k in only_r[:15]:
        print("  only rbldnsd: %s(%d): %s" % (k[0], k[1], rw[k]))
    for k in only_o[:15]:
        print("  only zonetool: %s:%d: %s" % (k[0], k[1], ow[k]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zonetool")
    ap.add_argument("--golden", help="check this golden file instead")
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("DIFF_SEED", "0")) or None)
    ap.add_argument("--scale", type=float,
                    default=float(os.environ.get("DIFF_SCALE", "1")))
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (zones, db, logs)")
    ap.add_argument("--rbldnsd-only", action="store_true",
                    help="only exercise the rbldnsd side (no zonetool)")
    ap.add_argument("--max-report", type=int, default=200)
    args = ap.parse_args()

    if not os.access(RBLDNSD, os.X_OK):
        print("SKIP: %s is not installed" % RBLDNSD)
        return SKIP
    zonetool = os.path.abspath(args.zonetool)

    tmp = tempfile.mkdtemp(prefix="diff-rbldnsd.")
    os.chmod(tmp, 0o755)
    t0 = time.time()
    rbl = None
    try:
        if args.golden:
            specs, cases = parse_golden(args.golden, tmp)
            queries = [(c["client"], c["name"], ("A", "TXT", "MX"))
                       for c in cases]
            print("golden: %s, %d zone specs, %d cases" %
                  (args.golden, len(specs), len(cases)))
        else:
            seed = args.seed if args.seed is not None else \
                random.SystemRandom().randrange(1, 1 << 31)
            print("seed %d (replay with DIFF_SEED=%d)" % (seed, seed))
            rng = random.Random(seed)
            specs, queries = build_random(rng, tmp, args.scale)
            print("%d zone specs, %d names to ask" % (len(specs),
                                                      len(queries)))
        sys.stdout.flush()

        rbl = Rbldnsd(tmp, specs)
        print("rbldnsd pid %d on 127.0.0.1/%d, loaded in %.1fs" %
              (rbl.proc.pid, rbl.port, time.time() - t0))
        db = os.path.join(tmp, "db")
        if args.rbldnsd_only and args.golden:
            dq = [(c, n, q) for c, n, qt in queries for q in qt]
            res = iter(query_many(rbl.port, dq))
            bad = 0
            for c in cases:
                qt = ("A", "TXT", "MX")
                ra = rbl_answer({q: next(res) for q in qt})
                exp = golden_expect(c, rbldnsd=True)
                d = compare_expect(exp, ra, qt)
                if d:
                    bad += 1
                    print("MISMATCH golden line %d: %s (client %s) [%s]\n"
                          "  expected: %s\n  rbldnsd:  %s" % (
                              c["line"], c["name"], c["client"],
                              ",".join(d), fmt_answer(exp, qt),
                              fmt_answer(ra, qt)))
            print("%d golden cases, %d differ from rbldnsd" %
                  (len(cases), bad))
            return 1 if bad else 0
        if args.rbldnsd_only:
            st = {}
            for m in query_many(rbl.port, [(c, n, q) for c, n, qt in queries
                                           for q in qt]):
                k = "dropped" if m is None else dns.rcode.to_text(m.rcode())
                st[k] = st.get(k, 0) + 1
            print("rbldnsd answers:", st, "%.1fs" % (time.time() - t0))
            return 0
        t1 = time.time()
        p = zonetool_compile(zonetool, db, specs)
        print("zonetool compile: exit %d in %.1fs" % (p.returncode,
                                                      time.time() - t1))
        if p.returncode != 0:
            print(p.stderr.decode("latin-1")[-4000:])
            print("FAIL: zonetool compile failed")
            return 1
        report_warnings(rbl, p.stderr, specs)
        results = ask_both(zonetool, db, rbl.port, queries)
        print("asked %d names in %.1fs" % (len(results), time.time() - t0))

        mism = []
        stats = {}
        devs = {k: 0 for k in ("v6colons", "generic-acl", "generic-aaaa")}
        if args.golden:
            for c, r in zip(cases, results):
                client, name, qtypes, ra, oa, blk = r
                exp = golden_expect(c)
                exp_r = golden_expect(c, rbldnsd=True)
                dr = compare_expect(exp_r, ra, qtypes)
                do = compare_expect(exp, oa, qtypes)
                if c["deviation"]:
                    if c["deviation"] not in devs or c["rbl"] is None:
                        dr = dr + ["unknown-deviation"]
                    else:
                        devs[c["deviation"]] += 1
                stats["ok" if not dr and not do else "bad"] = \
                    stats.get("ok" if not dr and not do else "bad", 0) + 1
                if dr or do:
                    mism.append("golden line %d: %s%s\n  expected: %s%s\n"
                                "  rbldnsd:  %s%s\n  zonetool: %s%s" % (
                                    c["line"], name,
                                    "" if client == "127.0.0.1"
                                    else " (client %s)" % client,
                                    fmt_answer(exp, qtypes),
                                    "" if c["rbl"] is None else
                                    "\n  (rbldnsd: %s, deviation %s)" % (
                                        fmt_answer(exp_r, qtypes),
                                        c["deviation"]),
                                    fmt_answer(ra, qtypes),
                                    "   <-- differs (%s)" % ",".join(dr)
                                    if dr else "",
                                    fmt_answer(oa, qtypes),
                                    "   <-- differs (%s)" % ",".join(do)
                                    if do else ""))
        else:
            for client, name, qtypes, ra, oa, blk in results:
                key = oa["detail"] or "?"
                stats[key] = stats.get(key, 0) + 1
                if "truncated" in ra["notes"]:
                    stats["rbldnsd-truncated(skipped)"] = \
                        stats.get("rbldnsd-truncated(skipped)", 0) + 1
                    continue
                d = compare(ra, oa, qtypes)
                dev = allowance(name, ra, oa, qtypes) if d else None
                if dev:
                    devs[dev] = devs.get(dev, 0) + 1
                    continue
                if d:
                    mism.append("%s%s [%s]\n  rbldnsd:  %s\n  zonetool: %s"
                                % (name, "" if client == "127.0.0.1" else
                                   " (client %s)" % client, ",".join(d),
                                   fmt_answer(ra, qtypes),
                                   fmt_answer(oa, qtypes)))
        for m in mism[:args.max_report]:
            print("MISMATCH " + m)
        if len(mism) > args.max_report:
            print("... %d more mismatches" % (len(mism) - args.max_report))
        print("zonetool results: " + ", ".join(
            "%s %d" % kv for kv in sorted(stats.items())))
        print("documented deviations (see the top of %s): %s" % (
            os.path.basename(__file__),
            ", ".join("%s %d" % kv for kv in sorted(devs.items()))))
        print("%d names compared, %d mismatches, %.1fs" %
              (len(results), len(mism), time.time() - t0))
        if not args.golden:
            print("seed %d" % seed)
        return 1 if mism else 0
    finally:
        if rbl is not None:
            rbl.stop()
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("ERROR: %s" % e)
        sys.exit(2)
