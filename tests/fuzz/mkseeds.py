#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write seed inputs for the fuzz targets into OUTDIR/<target>/.

usage: mkseeds.py OUTDIR [--capture]

The seeds come from real inputs: DNS queries as dnspython builds them and
(with --capture) as dig, kdig and drill send them, caught on a loopback
UDP socket; the malformed packets of tests/e2e/test_dns.py; the zone
files of tests/e2e/rbldnsd.golden and contrib/demo plus random zones from
the generators of tests/e2e/diff_rbldnsd.py (fixed seed); the demo config
and variants of it; rbldnsd command lines as the e2e tests use them.

They are not committed as they are: README explains how they are merged
(libFuzzer -merge=1) into the small corpora under corpus/.
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import threading

import dns.edns
import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
import diff_rbldnsd as gen  # noqa: E402

TYPES = ["ip4set", "ip4tset", "ip4trie", "ip6tset", "ip6trie", "dnset",
         "combined", "generic", "acl"]


class Out:
    def __init__(self, root, target):
        self.dir = os.path.join(root, target)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.n += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        with open(os.path.join(self.dir, "%03d-%s" % (self.n, safe[:60])),
                  "wb") as f:
            f.write(data)


# --- query ----------------------------------------------------------------
# flags byte of fuzz_query.c
F_TCP, F_CLIENT6, F_LAZY, F_NOVERSION, F_CLAMP, F_SMALLOUT = \
    1, 2, 4, 8, 0x40, 0x80

NAMES = [
    "2.0.0.127.bl.test", "1.0.0.127.bl.test", "3.0.0.127.bl.test",
    "4.3.2.1.bl.test", "7.0.0.10.bl.test", "5.0.1.10.bl.test",
    "7.2.0.192.bl.test", "9.2.0.192.bl.test", "5.113.0.203.bl.test",
    "1.100.51.198.bl.test", "0.0.127.bl.test", "bl.test", "ns1.bl.test",
    "www.bl.test", "c.bl.test", "b.c.bl.test", "a.b.c.bl.test",
    "rr.bl.test", "nx.bl.test", "BL.TEST", "2.0.0.127.BL.test",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test",
    "2.0.0.0.0.0.7.f.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.test",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.0.2.0.0.0.0.c.2.0.0.2.bl.test",
    "spam.example.dbl.test", "ok.wild.example.dbl.test",
    "x.wild.example.dbl.test", "wild.example.dbl.test",
    "a.star.example.dbl.test", "star.example.dbl.test",
    "a.b.c.deep.example.dbl.test", "deep.example.dbl.test",
    "noval.dbl.test", "twice.example.dbl.test", "test.dbl.test",
    "invalid.dbl.test", "dbl.test", "ns2.dbl.test",
    "nested.sub.dbl.test", "q.w.sub.dbl.test", "sub.dbl.test",
    "1.0.0.10.trie.test", "200.0.0.10.trie.test", "1.1.1.1.trie.test",
    "trie.test",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.0.0.0.5.0.0.0.8.b.d.0.1.0.0.2.trie.test",
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.0.0.0.5.0.0.0.8.b.d.0.1.0.0.2.trie.test",
    "2.0.0.127.tset.test", "1.2.0.192.tset.test", "tset.test",
    "2.0.0.127.comb.test", "10.0.0.127.pbl.comb.test",
    "spam.example.dbl.comb.test", "ns1.comb.test", "comb.test",
    "pbl.comb.test", "1.1.1.1.trie.comb.test",
    "x.nosoa.test", "a.y.nosoa.test", "nosoa.test",
    "other.test", ".",
]
TYPES_Q = ["A", "TXT", "ANY", "AAAA", "SOA", "NS", "MX", "CNAME", "AXFR",
           "IXFR", "TYPE65280"]


def qwire(name, rdtype="A", rdclass="IN", edns=-1, payload=1232, do=False,
          opts=None, qid=0x1234, rd=True):
    m = dns.message.make_query(name, rdtype, rdclass, use_edns=edns,
                               payload=payload, want_dnssec=do,
                               options=opts)
    m.id = qid
    if not rd:
        m.flags &= ~dns.flags.RD
    return m.to_wire()


def q(out, desc, wire, flags=0, client=b"\x7f\0\0\x01", small=None):
    data = bytes([flags]) + client
    if flags & F_SMALLOUT:
        data += bytes([small if small is not None else 100])
    out.add(desc, data + wire)


def query_seeds(root, captured):
    out = Out(root, "query")
    rng = random.Random(7)
    for name in NAMES:
        for t in ("A", "TXT", "ANY"):
            q(out, "%s-%s" % (name, t), qwire(name, t))
    for name in NAMES[::3]:
        for t in TYPES_Q[3:]:
            q(out, "%s-%s" % (name, t), qwire(name, t))
    # EDNS: sizes, DO, version 1, options, flags
    big = "4.3.2.1.bl.test"
    for name, t, kw in [
            (big, "TXT", {"edns": 0, "payload": 4096}),
            (big, "TXT", {"edns": 0, "payload": 512}),
            (big, "TXT", {"edns": 0, "payload": 100}),
            (big, "ANY", {"edns": 0, "payload": 1400, "do": True}),
            ("2.0.0.127.bl.test", "A", {"edns": 1}),
            ("2.0.0.127.bl.test", "A",
             {"edns": 0, "opts": [dns.edns.GenericOption(10, b"\1" * 8)]}),
            ("2.0.0.127.bl.test", "TXT",
             {"edns": 0, "opts": [dns.edns.ECSOption("192.0.2.0", 24)]}),
            ("bl.test", "NS", {"edns": 0}), ("bl.test", "SOA", {"edns": 0}),
    ]:
        for fl in (0, F_TCP, F_LAZY, F_CLAMP | (1 << 4), 2 << 4, 3 << 4):
            q(out, "edns-%s-%s-%d" % (name, t, fl), qwire(name, t, **kw), fl)
    for fl in (F_TCP, F_LAZY, F_CLAMP, F_SMALLOUT):
        q(out, "big-%d" % fl, qwire(big, "TXT"), fl)
        q(out, "apex-ns-%d" % fl, qwire("bl.test", "NS"), fl)
    q(out, "small-out", qwire("2.0.0.127.bl.test", "ANY", edns=0),
      F_SMALLOUT, small=40)
    # CHAOS
    for n in ("version.bind", "version.server", "hostname.bind"):
        for fl in (0, F_NOVERSION):
            q(out, "ch-%s-%d" % (n, fl), qwire(n, "TXT", "CH"), fl)
    q(out, "ch-any", qwire("version.bind", "ANY", "CH"))
    q(out, "class-any", qwire("2.0.0.127.bl.test", "A", "ANY"))
    q(out, "class-hs", qwire("2.0.0.127.bl.test", "A", "HS"))
    q(out, "no-rd", qwire("2.0.0.127.bl.test", "A", rd=False))
    # clients the acls know
    for c in ("10.99.1.1", "10.98.1.1", "10.97.1.1", "10.96.1.1",
              "10.96.2.2", "10.66.1.1", "10.65.1.1", "10.64.1.1"):
        for n in ("2.0.0.127.bl.test", "bl.test", "spam.example.dbl.test"):
            q(out, "client-%s-%s" % (c, n), qwire(n, "ANY"),
              client=socket.inet_aton(c))
    for c in ("2001:db8:ac1::1", "2001:db8:ac2::1", "2001:db8:bad::1",
              "2001:db8:600d::1", "::ffff:10.65.1.1", "::1"):
        q(out, "client6-%s" % c, qwire("2.0.0.127.bl.test", "TXT"),
          F_CLIENT6, client=socket.inet_pton(socket.AF_INET6, c))
    # malformed, as tests/e2e/test_dns.py sends them, and a few more
    good = qwire("2.0.0.127.bl.test")
    hdr = good[:12]
    bad = {
        "short": good[:5],
        "header-only": hdr,
        "qr-set": bytes([good[0], good[1], good[2] | 0x80]) + good[3:],
        "qdcount-0": hdr[:4] + b"\0\0" + hdr[6:] + good[12:],
        "qdcount-2": hdr[:4] + b"\0\2" + hdr[6:] + good[12:],
        "bad-label-length": hdr + b"\x3f\x01abc\0\0\1\0\1",
        "compression-loop": hdr + b"\xc0\x0c\0\1\0\1",
        "trailing-garbage": good + b"\xde\xad\xbe\xef",
        "ancount-1": hdr[:6] + b"\0\1" + hdr[8:] + good[12:],
        "opcode-notify": bytes([good[0], good[1], good[2] | 0x20]) +
        good[3:],
        "aa-set": bytes([good[0], good[1], good[2] | 0x04]) + good[3:],
        "tc-set": bytes([good[0], good[1], good[2] | 0x02]) + good[3:],
        "truncated-question": good[:-2],
        "long-name": hdr + (b"\x3f" + b"a" * 63) * 4 + b"\0\0\1\0\1",
        "opt-twice": qwire("bl.test", "A", edns=0)[:10] + b"\0\2" +
        qwire("bl.test", "A", edns=0)[12:] + b"\0\0\x29\x04\xd0\0\0\0\0\0\0",
        "opt-not-root": hdr[:10] + b"\0\1" + good[12:] +
        b"\xc0\x0c\0\x29\x04\xd0\0\0\0\0\0\0",
        "opt-rdlen-over": hdr[:10] + b"\0\1" + good[12:] +
        b"\0\0\x29\x04\xd0\0\0\0\0\0\x10",
        "ar-pointer": hdr[:10] + b"\0\1" + good[12:] +
        b"\xc0\x0c\0\x01\0\x01\0\0\0\0\0\4\1\2\3\4",
        "empty-label-root": hdr + b"\0\0\1\0\1",
    }
    for k, v in bad.items():
        q(out, "bad-" + k, v)
        q(out, "bad-tcp-" + k, v, F_TCP)
    # random case, random IDs
    for _ in range(10):
        n = "".join(c.upper() if rng.random() < 0.5 else c
                    for c in rng.choice(NAMES))
        q(out, "case-" + n, qwire(n, rng.choice(TYPES_Q[:4]),
                                  qid=rng.randrange(65536)))
    for tool, wire in captured:
        q(out, "cap-" + tool, wire)
        q(out, "cap-tcp-" + tool, wire, F_TCP)


def capture_queries():
    """The queries dig, kdig and drill really send (EDNS, cookies...)."""
    got = []
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    port = s.getsockname()[1]
    cmds = {
        "dig-a": ["dig", "+tries=1", "+time=1", "-p", str(port),
                  "@127.0.0.1", "2.0.0.127.bl.test", "A"],
        "dig-txt-nocookie": ["dig", "+tries=1", "+time=1", "+nocookie",
                             "-p", str(port), "@127.0.0.1",
                             "4.3.2.1.bl.test", "TXT"],
        # dig asks ANY over TCP unless told otherwise
        "dig-any-dnssec": ["dig", "+tries=1", "+time=1", "+notcp",
                           "+dnssec", "+nsid", "-p", str(port), "@127.0.0.1",
                           "bl.test", "ANY"],
        "dig-ch": ["dig", "+tries=1", "+time=1", "-p", str(port),
                   "@127.0.0.1", "version.bind", "CH", "TXT"],
        "kdig-a": ["kdig", "+retry=0", "+timeout=1", "-p", str(port),
                   "@127.0.0.1", "spam.example.dbl.test", "A"],
        "kdig-edns-padding": ["kdig", "+retry=0", "+timeout=1", "+padding",
                              "+bufsize=4096", "-p", str(port),
                              "@127.0.0.1", "x.wild.example.dbl.test",
                              "TXT"],
        "drill-a": ["drill", "-p", str(port), "2.0.0.127.bl.test",
                    "@127.0.0.1"],
        "drill-do": ["drill", "-D", "-p", str(port), "bl.test", "SOA",
                     "@127.0.0.1"],
    }
    for tool, argv in cmds.items():
        if shutil.which(argv[0]) is None:
            continue
        box = []

        def recv():
            try:
                box.append(s.recvfrom(65535)[0])
            except socket.timeout:
                pass
        t = threading.Thread(target=recv)
        t.start()
        subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20)
        t.join()
        if box:
            got.append((tool, box[0]))
    s.close()
    return got


# --- zoneline ---------------------------------------------------------------
def golden_files():
    """(type, text) for every file of tests/e2e/rbldnsd.golden."""
    path = os.path.join(TOP, "tests", "e2e", "rbldnsd.golden")
    types, files, cur, buf = {}, {}, None, []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if cur is not None:
                if line.rstrip("\n") == "EOF":
                    files[cur] = "".join(buf)
                    cur = None
                else:
                    buf.append(line)
                continue
            w = line.split()
            if len(w) >= 2 and w[0] == "zone":
                _, t, fl = w[1].split(":", 2)
                for fn in fl.split(","):
                    types[fn] = t
            elif len(w) >= 3 and w[0] == "file" and w[2] == "<<EOF":
                cur, buf = w[1], []
    return [(types[k], v) for k, v in files.items() if k in types]


def zone_seeds(root):
    out = Out(root, "zoneline")

    def z(name, t, text, strict=True):
        sel = (0x40 if strict else 0x30) | TYPES.index(t)
        out.add("%s-%s" % (t, name), bytes([sel]) + text.encode("latin-1"))

    for i, (t, text) in enumerate(golden_files()):
        z("golden%02d" % i, t, text)
    for fn, t in (("bl.demo.zone", "ip4set"), ("dbl.demo.zone", "dnset")):
        with open(os.path.join(TOP, "contrib", "demo", fn),
                  encoding="latin-1") as f:
            z("demo", t, f.read())
    rng = random.Random(1)
    pools = gen.Pools(rng)
    for i in range(4):
        z("rand%d" % i, "ip4set",
          gen.gen_ip4set(rng, pools, 30, base=i == 1)[0][0], i % 2 == 0)
        z("rand%d" % i, "ip4tset", gen.gen_ip4tset(rng, pools, 30)[0][0])
        z("rand%d" % i, "ip4trie",
          gen.gen_ip4trie(rng, pools, 30, zero=i == 0)[0][0], i % 2 == 0)
        z("rand%d" % i, "ip6trie", gen.gen_ip6trie(rng, pools, 30)[0][0],
          i % 2 == 0)
        z("rand%d" % i, "ip6tset", gen.gen_ip6tset(rng, pools, 30)[0][0])
        z("rand%d" % i, "dnset", gen.gen_dnset(rng, 30)[0][0])
        z("rand%d" % i, "generic", gen.gen_generic(rng, 20)[0][0])
        z("rand%d" % i, "acl", gen.gen_acl(rng, i % 2 == 0)[0])
        c = gen.gen_combined(rng, pools)[0]
        z("rand%d" % i, "combined", c if isinstance(c, str) else c[0])
    # the special lines and their edge cases, on every type
    specials = ("$SOA 0 ns1.x.test hm.x.test 0 1h 15m 1w 5m\n"
                "$NS 1d ns1.x.test -ns2.x.test ns3.x.test.\n"
                "$TTL 10m\n$MAXRANGE4 /24\n$0 zero\n$9 nine\n"
                "$= base $= ($)\n"
                "$TIMESTAMP 2023:11:01 +1w\n#$1 comment-var\n"
                ";$2 semi\n:$3 colon\n$DATASET ip4set x\n$UNKNOWN y\n")
    for t in TYPES:
        z("specials", t, specials)
    z("crlf", "ip4set", "127.0.0.2\r\n127.0.0.3 :3:crlf\r\n")
    z("nul", "dnset", "a\0b.example\nc.example :2:t\0x\n")
    z("nonl", "dnset", "no.newline.example")
    z("future", "ip4set", "$TIMESTAMP 2099-01-01\n127.0.0.2\n")
    z("nodataset", "combined", "127.0.0.2\n")
    z("badttl", "generic", "www 300x A 192.0.2.1\n")
    z("manyns", "dnset", "$NS 1d " +
      " ".join("ns%d.x.test" % i for i in range(34)) + "\nx\n")


# --- config -------------------------------------------------------------------
def config_seeds(root):
    out = Out(root, "config")
    with open(os.path.join(TOP, "contrib", "demo", "demo.conf"),
              encoding="latin-1") as f:
        demo = f.read()
    out.add("demo.conf", demo)
    full = """; every field
[server]
listen = 127.0.0.1@5300
listen = [::1]/5301
listen = 0.0.0.0
listen = @53
threads = 4
database = /var/lib/resolverd
user = resolverd
control = /run/resolverd/resolverd.sock
ttl = 35m:1m:1d
edns-size = 1232
version = resolverd
query-log = +/var/log/resolverd/query.log
lazy = yes
check-interval = 1h30m

[zone bl.example]
dataset = ip4set:/srv/bl/ip4.txt,ip4-extra.txt.gz
dataset = generic:apex.txt
dataset = acl:acl.txt
check-interval = 30s

[zone dbl.example]
dataset = dnset:dbl.txt

[zone bl.example]
dataset = ip6trie:v6.txt
"""
    out.add("full.conf", full)
    srv = "[server]\nlisten = 127.0.0.1@53\n"
    bad = [
        "threds = 2", "threads = 0", "threads = lots", "threads = 999",
        "ttl = 5x", "ttl = 1:2:3:4", "ttl = 1h:2h:1h", "ttl = ::",
        "edns-size = 100", "edns-size = 65536", "lazy = maybe",
        "check-interval = -1", "version = " + "v" * 300,
        "database = a\ndatabase = b", "user =", "query-log = +",
        "listen = no.such.host.invalid@53", "listen = 127.0.0.1@",
        "listen = 127.0.0.1@99999", "listen = [::1", "listen = 1.2.3.4/domain",
    ]
    for i, b in enumerate(bad):
        out.add("bad%02d.conf" % i, srv + b + "\n")
    zbad = [
        "[zone a.test]\ndataset = ip4set\n",
        "[zone a.test]\ndataset = nosuch:f\n",
        "[zone a.test]\ndataset = acl:f\n",
        "[zone a:b]\ndataset = ip4set:f\n",
        "[zone ]\ndataset = ip4set:f\n",
        "[zone a..b]\ndataset = ip4set:f\n",
        "[zone a.test]\nfoo = bar\n",
        "[zone a.test]\ndataset = ip4set:,,\n",
        "[zones]\nx = y\n",
        "x = y\n",
        "[server\nlisten = 1.2.3.4\n",
        "[server]\nno equals sign\n",
        "[server]\nlisten = 127.0.0.1 ; comment\n  threads = 2\n",
    ]
    for i, b in enumerate(zbad):
        out.add("zbad%02d.conf" % i, srv + b)
    out.add("longline.conf", srv + "version = " + "x" * 5000 + "\n")
    out.add("empty.conf", "")
    # rbldnsd command lines (leading NUL: argv mode)
    argvs = [
        ["-n", "-b", "127.0.0.1/5353", "bl.test:ip4set:ip.txt",
         "bl.test:generic:gen.txt", "dbl.test:dnset:dn.txt"],
        ["-n", "-b", "127.0.0.1/5353", "-c", "1", "-t", "10m:1m:1h", "-e",
         "-A", "-f", "-C", "-l", "+q.log", "-s", "stats", "-u", "nobody",
         "bl.test:ip4set:a,b,c"],
        ["-b", "127.0.0.1/1", "-Z", "x:ip4set:f"],
        ["-b", "127.0.0.1/5353"],
        ["-h"],
        ["-b", "::1/53", "-6", "-v", "-a", "-q", "-F", "local3", "-w",
         "/srv", "-r", "/chroot", "-p", "/run/rbldnsd.pid",
         ":acl:acl.txt", "z:combined:c.txt"],
        ["-vv", "-b", "127.0.0.1", "z:ip4set:f"],
        ["-u", "root", "-b", "127.0.0.1", "z:ip4set:f"],
        ["-u", "rbldns:rbldns", "-b", "127.0.0.1@5300", "z:ip4set:f"],
        ["-d", "-b", "127.0.0.1", "z:ip4set:f"],
        ["-x", "ext.so", "-b", "127.0.0.1", "z:ip4set:f"],
        ["-nb", "127.0.0.1", "-t", "35m", "z:nosuch:f"],
        ["-b"],
        ["-b", "127.0.0.1", "-l", "+", "z:ip4set:f"],
        ["-b", "127.0.0.1", "--", "-z:ip4set:f"],
    ]
    for i, a in enumerate(argvs):
        out.add("argv%02d" % i, b"\0" + b"\0".join(x.encode() for x in a))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    captured = capture_queries() if "--capture" in sys.argv else []
    query_seeds(root, captured)
    zone_seeds(root)
    config_seeds(root)
    for t in ("query", "zoneline", "config"):
        print("%s: %d seeds" % (t, len(os.listdir(os.path.join(root, t)))))


if __name__ == "__main__":
    main()
