#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write seed inputs for the fuzz targets manifest, feedfile and control
into OUTDIR/<target>/, from real files and real requests.

usage: mkseeds_feed.py BUILDDIR OUTDIR [--base]

manifest, feedfile: "zonetool publish" (from BUILDDIR) publishes six
versions of zone bl.test (ip4set, ip4trie, dnset, generic; version 5 adds
a dataset, so it gets a snapshot and no delta; version 6 is forced to a
snapshot) and two of zone other.test, with a fixed key and issue time.
Every manifest, snapshot and delta the feed ever held is a seed; a
manifest twice: mode byte 0x00 and the whole file, 0x01 and the body
(fuzz_manifest.c signs the body itself).  With --base, snap/1 of bl.test
is also copied to tests/fuzz/feedfile.base, the base state of
fuzz_feedfile.c (commit it with the corpus: the seed deltas 1-N start
from it, and publishing again makes different bytes).

control: the request lines resolverctl (from BUILDDIR) really sends,
caught on a Unix socket that stands in for the daemon, for every command
and option; then variants no client sends (CRLF, tabs, %-escapes, other
protocol versions, over-long lines).

The seeds are merged into the small committed corpora with libFuzzer
-merge=1 (README).
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUED = 1800000000


class Out:
    def __init__(self, root, target):
        self.dir = os.path.join(root, target)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0
        self.seen = set()

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        if data in self.seen:
            return
        self.seen.add(data)
        self.n += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        with open(os.path.join(self.dir, "%03d-%s" % (self.n, safe[:60])),
                  "wb") as f:
            f.write(data)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                       p.stderr.strip()))
    return p


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# --- manifest, feedfile --------------------------------------------------
def version(d, v, rnd):
    """Zone files of version v (1..6) of bl.test; returns the specs."""
    ips = ["$TTL 600", ":127.0.0.2:Listed: see http://bl.test/?$"]
    for i in range(8 + v):
        ips.append("10.%d.%d.%d" % (v if i % 3 == 0 else 0, i,
                                    rnd.randrange(256)))
    ips.append("192.0.2.0/24 :127.0.0.3:range")
    ips.append("!192.0.2.7")
    write(os.path.join(d, "ip.txt"), "\n".join(ips) + "\n")
    trie = ["10.0.0.0/8 :127.0.0.4:ten", "10.1.0.0/16",
            "!10.1.2.0/24", "172.16.0.0/12"]
    if v >= 3:
        trie.append("198.51.100.0/24 :127.0.0.6:v%d" % v)
    write(os.path.join(d, "trie.txt"), "\n".join(trie) + "\n")
    dn = ["$SOA 3600 ns1.bl.test. hostmaster.bl.test. 0 600 300 86400 300",
          "$NS 3600 ns1.bl.test.", ":127.0.0.2:Domain $ listed"]
    for i in range(6 + v):
        dn.append("spam%d.example" % (i * v))
    dn.append("*.wild.example :127.0.0.3:wildcard")
    dn.append("!ok.wild.example")
    write(os.path.join(d, "dom.txt"), "\n".join(dn) + "\n")
    gen = ["www A 192.0.2.80", "@ TXT \"generic v%d\"" % v,
           "mx MX 10 mail.bl.test"]
    write(os.path.join(d, "gen.txt"), "\n".join(gen) + "\n")
    specs = ["bl.test:ip4set:" + os.path.join(d, "ip.txt"),
             "bl.test:ip4trie:" + os.path.join(d, "trie.txt"),
             "bl.test:dnset:" + os.path.join(d, "dom.txt")]
    if v >= 5:
        specs.append("bl.test:generic:" + os.path.join(d, "gen.txt"))
    return specs


def feed_seeds(build, out, base):
    zt = os.path.join(build, "tools", "zonetool", "zonetool")
    mo, fo = Out(out, "manifest"), Out(out, "feedfile")
    rnd = random.Random(7)
    d = tempfile.mkdtemp(prefix="mkseeds-feed.")
    try:
        run([zt, "keygen", "-p", os.path.join(d, "k.pub"), "-s",
             os.path.join(d, "k.sec")])
        feed = os.path.join(d, "feed")

        def grab(zone, tag):
            zd = os.path.join(feed, zone)
            mf = open(os.path.join(zd, "manifest"), "rb").read()
            mo.add("%s-%s-whole" % (zone, tag), b"\x00" + mf)
            body = mf[:mf.rindex(b"signature ")]
            mo.add("%s-%s-body" % (zone, tag), b"\x01" + body)
            for sub in ("snap", "delta"):
                for name in sorted(os.listdir(os.path.join(zd, sub))):
                    data = open(os.path.join(zd, sub, name), "rb").read()
                    fo.add("%s-%s-%s" % (zone, sub, name), data)

        for v in range(1, 7):
            extra = ["--snapshot"] if v == 6 else []
            run([zt, "publish", "-s", os.path.join(d, "k.sec"), "-o", feed,
                 "--keep", "6", "--share", "50", "--issued", str(ISSUED + v * 60)] + extra +
                version(d, v, rnd))
            grab("bl.test", "v%d" % v)
            if v == 1 and base:
                shutil.copy(os.path.join(feed, "bl.test", "snap", "1"),
                            os.path.join(HERE, "feedfile.base"))
        # a second zone: a delta and a snapshot of another name
        for v in (1, 2):
            write(os.path.join(d, "o.txt"),
                  "\n".join("203.0.113.%d" % i for i in range(v * 3)) + "\n")
            run([zt, "publish", "-s", os.path.join(d, "k.sec"), "-o", feed,
                 "--issued", str(ISSUED), "other.test:ip4tset:" +
                 os.path.join(d, "o.txt")])
            grab("other.test", "v%d" % v)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return mo.n, fo.n


# --- control ---------------------------------------------------------------
CTL_ARGS = [
    ["ping"], ["stats"], ["--json", "stats"], ["zones"], ["--json", "zones"],
    ["top"], ["top", "clients"], ["top", "zones", "-n", "5"],
    ["top", "-n", "100000", "--by", "listed"],
    ["top", "zones", "--by", "refused"], ["--json", "top", "--by", "queries"],
    ["reload"], ["flush-stats"], ["save"],
    ["allow", "bl.test", "127.0.0.2"],
    ["deny", "bl.test", "192.0.2.0/24", "--reason", "abuse report 1234",
     "--value", "127.0.0.3"],
    ["deny", "dbl.test", "*.spam.example", "--reason", "100% spam\ttab"],
    ["allow", "dbl.test", "ok.example"], ["unallow", "bl.test", "127.0.0.2"],
    ["undeny", "bl.test", "2001:db8::/32"], ["policy"], ["policy", "bl.test"],
    ["--json", "policy"], ["explain", "2.0.0.127.bl.test"],
    ["explain", "spam.example.dbl.test", "--client", "192.0.2.1"],
    ["--json", "explain", "x.bl.test", "--client", "2001:db8::1"],
]


def capture_ctl(ctl, args, d):
    """The line resolverctl sends for args, caught on a socket in d."""
    path = os.path.join(d, "s")
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(5)
    got = []

    def serve():
        c, _ = srv.accept()
        buf = b""
        while not buf.endswith(b"\n"):
            b = c.recv(4096)
            if not b:
                break
            buf += b
        got.append(buf)
        c.sendall(b"OK\n")
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    subprocess.run([ctl, "-s", path] + args, capture_output=True, timeout=10)
    t.join(10)
    srv.close()
    if not got:
        sys.exit("resolverctl %s sent nothing" % " ".join(args))
    return got[0].rstrip(b"\n")


def control_seeds(build, out):
    ctl = os.path.join(build, "tools", "resolverctl", "resolverctl")
    co = Out(out, "control")
    d = tempfile.mkdtemp(prefix="mkseeds-ctl.")
    lines = []
    try:
        for args in CTL_ARGS:
            line = capture_ctl(ctl, args, d)
            lines.append(line)
            co.add("ctl-" + "_".join(args), line)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # what no client sends
    co.add("crlf", lines[0] + b"\r")
    co.add("tabs", lines[7].replace(b" ", b"\t"))
    co.add("proto-2", lines[0].replace(b"RDCTL1", b"RDCTL2"))
    co.add("no-command", b"RDCTL1")
    co.add("empty", b"")
    co.add("unknown", b"RDCTL1 shutdown now")
    co.add("pct", b"RDCTL1 explain %41%2e%62l.test --client %3a%3a1")
    co.add("pct-bad", b"RDCTL1 deny bl.test 1.2.3.4 --reason %0a%zz")
    co.add("top-n0", b"RDCTL1 top -n 0")
    co.add("top-5", b"RDCTL1 top 5 zones")
    co.add("long", b"RDCTL1 explain " + b"a." * 600 + b"bl.test")
    co.add("allow-value", b"RDCTL1 allow bl.test 1.2.3.4 --value 127.0.0.2")
    co.add("ctrl", b"RDCTL1 ping\x00x")
    return co.n


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, out = sys.argv[1], sys.argv[2]
    nm, nf = feed_seeds(build, out, "--base" in sys.argv[3:])
    nc = control_seeds(build, out)
    print("manifest %d, feedfile %d, control %d seeds in %s" %
          (nm, nf, nc, out))


if __name__ == "__main__":
    main()
