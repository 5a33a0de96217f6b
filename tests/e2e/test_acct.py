#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Accounting, ACLs, rate limits and the control socket (issue 6).

resolverd on 127.0.0.1 (and ::1 when the host has it) with a control
socket in its temp dir; scripted queries from several source addresses
(client sockets bound to 127.0.0.x); `resolverctl stats/top/zones --json`
must count exactly what was sent and received, per client and per zone:
listed, not listed, refused (server ACL, zone ACL, unserved zone),
dropped (no answer), rate-limited (the configured "A 127.0.0.255"
answer), bytes in and out.  A client past its rate gets the policy answer
while the others are unaffected.  Counters survive a restart (SIGTERM,
start again: totals keep growing from the stored values) and are
readable with the daemon down (resolverctl -D).  A non-root user cannot
run changing commands; bad control requests get a clear error and the
daemon keeps serving.

Forwarded zones and global limits (test_forward): a second resolverd
serves fwd.test as the upstream of a forward zone; its own `resolverctl
stats` counts what it is asked.  A client past its rate gets the policy
answer for the forwarded zone and costs no upstream query; a client the
zone's acl refuses gets REFUSED and costs none either.  With threads = 2
(SO_REUSEPORT: the kernel spreads source ports over both workers) a
client asking from 120 source ports still gets no more than rate-burst
plus the rate times the elapsed time, and a daily quota holds exactly;
RRL also limits the answers the upstream path gives from its cache.

usage: test_acct.py RESOLVERD RESOLVERCTL
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

RD, CTL = sys.argv[1], sys.argv[2]
ROOT = os.geteuid() == 0
check = rdtest.Checks()

ZONE = """:127.0.0.2:Listed, see http://bl.test/$
192.0.2.0/24
198.51.100.7
"""


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


IPV6 = have_ipv6()


def config(d, port):
    s = "[server]\nlisten = 127.0.0.1@%d\n" % port
    if IPV6:
        s += "listen = ::1@%d\n" % port
    s += ("threads = 2\ndatabase = %s\ncontrol = %s\n"
          "acl = drop 127.0.0.9\nacl = refuse 127.0.0.8\n"
          "acl = allow 127.0.0.0/8 ::1\n"
          "rate-limit = 5\nrate-burst = 40\nlimit-answer = A 127.0.0.255\n"
          "acct-save-interval = 1\n" % (os.path.join(d, "db"),
                                         os.path.join(d, "ctl.sock")))
    if ROOT:
        s += "user = nobody\n"
    s += ("\n[zone bl.test]\ndataset = ip4set:%s\n"
          "\n[zone acl.test]\ndataset = ip4set:%s\n"
          "acl = refuse 127.0.0.5\nacl = drop 127.0.0.6\n") % (
        os.path.join(d, "bl.txt"), os.path.join(d, "bl.txt"))
    return s


class Client:
    """A UDP client on a fixed source address and port."""

    def __init__(self, src, port):
        fam = socket.AF_INET6 if ":" in src else socket.AF_INET
        self.dst = ("::1" if fam == socket.AF_INET6 else "127.0.0.1", port)
        self.s = socket.socket(fam, socket.SOCK_DGRAM)
        self.s.bind((src, 0))
        self.sent = self.recv = 0

    def ask(self, name, timeout=1.0):
        q = dns.message.make_query(name, "A")
        w = q.to_wire()
        self.s.settimeout(timeout)
        self.s.sendto(w, self.dst)
        self.sent += len(w)
        try:
            while True:
                data, _ = self.s.recvfrom(65535)
                r = dns.message.from_wire(data)
                if r.id == q.id:
                    self.recv += len(data)
                    return r
        except socket.timeout:
            return None

    def close(self):
        self.s.close()


def ctl(sock, *args, user=None):
    argv = [CTL, "-s", sock] + list(args)
    if user is not None:
        argv = rdtest.as_user(argv, user)
    return subprocess.run(argv, capture_output=True, text=True, timeout=20)


def ctl_json(sock, *args):
    p = ctl(sock, *(list(args) + ["--json"]))
    if p.returncode != 0:
        raise RuntimeError("resolverctl %s: %s" % (args, p.stderr))
    return json.loads(p.stdout)


def wait_total(sock, want, seconds=10):
    """Workers merge their counters once a second: wait for them."""
    deadline = time.monotonic() + seconds
    st = None
    while time.monotonic() < deadline:
        st = ctl_json(sock, "stats")
        if st["total"]["queries"] >= want:
            return st
        time.sleep(0.2)
    return st


def start(d, port):
    srv = rdtest.Server([RD, "-d", "-c", os.path.join(d, "rd.conf")],
                        log=os.path.join(d, "rd-%d.log" % time.time_ns()))
    rdtest.wait_answer(port, "2.0.0.127.bl.test", srv.proc)
    return srv


def raw_request(sock, data, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode("ascii", "replace")
            out += b
    finally:
        s.close()


FWD_UP = """:127.0.0.2:upstream listed
10.0.0.0/8
"""


def fwd_config(d, port, up, extra=""):
    s = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 2\ndatabase = %s\n"
         "control = %s\nacl = allow 127.0.0.0/8\n"
         "rate-limit = 5\nrate-burst = 10\nlimit-answer = A 127.0.0.255\n"
         "acct-save-interval = 1\ncache-size = 1m\n%s" % (
             port, os.path.join(d, "fdb"), os.path.join(d, "fctl.sock"),
             extra))
    if ROOT:
        s += "user = nobody\n"
    s += ("\n[zone bl.test]\ndataset = ip4set:%s\n"
          "\n[zone fwd.test]\nmode = forward\nupstream = 127.0.0.1@%d\n"
          "acl = refuse 127.0.0.5\n") % (os.path.join(d, "bl.txt"), up)
    return s


def many_ports(port, names):
    """One query per name, each from its own socket (source port), all
    sent before any answer is read; the answers by name (None: lost)."""
    socks, out = [], {}
    for n in names:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.6", 0))
        q = dns.message.make_query(n, "A")
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        socks.append((s, q, n))
    for s, q, n in socks:
        s.settimeout(2.0)
        out[n] = None
        try:
            while True:
                r = dns.message.from_wire(s.recvfrom(65535)[0])
                if r.id == q.id:
                    out[n] = r
                    break
        except socket.timeout:
            pass
        s.close()
    return out


def a_values(r):
    return [rr.to_text() for rs in r.answer for rr in rs] if r else []


def test_forward(d):
    """Forwarded queries go through the zone acl and the rate limit
    before they cost an upstream query; limits are global per client."""
    up, port = rdtest.free_port(), rdtest.free_port()
    usock, fsock = os.path.join(d, "uctl.sock"), os.path.join(d, "fctl.sock")
    rdtest.write(d, "fwdup.txt", FWD_UP)
    uconf = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\ndatabase = %s\n"
             "control = %s\nacct-save-interval = 1\n" % (
                 up, os.path.join(d, "udb"), usock))
    if ROOT:
        uconf += "user = nobody\n"
    uconf += "\n[zone fwd.test]\ndataset = ip4set:%s\n" % os.path.join(
        d, "fwdup.txt")
    rdtest.write(d, "up.conf", uconf)
    rdtest.write(d, "fwd.conf", fwd_config(d, port, up))
    srvs = []
    try:
        u = rdtest.Server([RD, "-d", "-c", os.path.join(d, "up.conf")],
                          log=os.path.join(d, "up.log"))
        srvs.append(u)
        rdtest.wait_answer(up, "2.0.0.127.fwd.test", u.proc)
        f = rdtest.Server([RD, "-d", "-c", os.path.join(d, "fwd.conf")],
                          log=os.path.join(d, "fwd.log"))
        srvs.append(f)
        rdtest.wait_answer(port, "2.0.0.127.bl.test", f.proc)
        a = rdtest.query(port, "1.0.0.10.fwd.test")
        check("forward zone answered through the upstream",
              a_values(a) == ["127.0.0.2"], a)
        uq0 = wait_total(usock, 2)["total"]["queries"]

        # 127.0.0.4: 40 distinct names (no cache hit) past 5/s burst 10
        c = Client("127.0.0.4", port)
        t0 = time.monotonic()
        ans = [c.ask("%d.1.0.10.fwd.test" % i) for i in range(40)]
        el = time.monotonic() - t0
        c.close()
        lim = [x for x in ans if a_values(x) == ["127.0.0.255"]]
        ok = [x for x in ans if a_values(x) == ["127.0.0.2"]]
        check("forward: a rate-limited client gets the policy answer",
              len(lim) >= 20 and len(lim) + len(ok) == 40,
              "%d limited, %d answered in %.2fs" % (len(lim), len(ok), el))
        time.sleep(1.5)  # the upstream merges its counters each second
        uq1 = ctl_json(usock, "stats")["total"]["queries"]
        check("forward: limited queries cost no upstream query",
              uq1 - uq0 == len(ok), (uq1 - uq0, len(ok)))
        # 127.0.0.5: fwd.test's acl refuses it
        c = Client("127.0.0.5", port)
        ans = [c.ask("%d.2.0.10.fwd.test" % i) for i in range(3)]
        c.close()
        check("forward: a zone-acl refused client gets REFUSED",
              all(x is not None and x.rcode() == dns.rcode.REFUSED
                  for x in ans), ans)
        time.sleep(1.5)
        uq2 = ctl_json(usock, "stats")["total"]["queries"]
        check("forward: refused queries cost no upstream query",
              uq2 == uq1, (uq1, uq2))
        fz = wait_total(fsock, 1)["zones"].get("fwd.test", {})
        check("forward: the zone counts the refused and the limited",
              fz.get("refused") == 3 and fz.get("ratelimited") == len(lim),
              fz)

        # 127.0.0.6: 120 source ports over 2 workers, a local zone; rate
        # 5/s, burst 10.  GCRA is exact: at most burst + rate * elapsed
        # (+1 for the query in flight at the end); per-worker buckets
        # would let up to 2 * burst through.
        t0 = time.monotonic()
        ans = many_ports(port, ["%d.2.0.192.bl.test" % i for i in range(120)])
        el = time.monotonic() - t0
        got = [n for n, r in ans.items()
               if a_values(r) == ["127.0.0.2"]]
        lim = [n for n, r in ans.items()
               if a_values(r) == ["127.0.0.255"]]
        bound = 10 + int(5 * el) + 1
        check("global rate limit: many source ports get burst + rate*t",
              10 <= len(got) <= bound and len(got) + len(lim) == 120,
              "%d answered, %d limited, %.2fs, bound %d" % (
                  len(got), len(lim), el, bound))

        # a daily quota of 25, no rate limit: exactly 25 of 60 from 60
        # source ports (127.0.0.6 has a fresh quota: none was set)
        rdtest.write(d, "fwd.conf", fwd_config(
            d, port, up, "daily-quota = 25\n").replace(
                "rate-limit = 5\n", "rate-limit = 0\n"))
        f.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        ans = many_ports(port, ["%d.2.0.192.bl.test" % i for i in range(60)])
        got = [n for n, r in ans.items() if a_values(r) == ["127.0.0.2"]]
        over = [n for n, r in ans.items() if a_values(r) == ["127.0.0.255"]]
        check("global daily quota: exactly 25 answered over all workers",
              len(got) == 25 and len(over) == 35, (len(got), len(over)))

        # RRL 5/s per /24, no slip, on answers from the forwarder's cache
        # (they never pass the worker's own RRL check)
        rdtest.write(d, "fwd.conf", fwd_config(
            d, port, up, "rrl = 5\nrrl-slip = 0\n").replace(
                "rate-limit = 5\n", "rate-limit = 0\n"))
        f.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        name = "9.9.0.10.fwd.test"
        a = rdtest.query(port, name)  # fills the cache
        check("rrl: the forwarded name answered", a_values(a) ==
              ["127.0.0.2"], a)
        time.sleep(1.1)  # a full bucket again; the workers flushed
        flog = os.path.join(d, "fwd.log")
        gline = re.compile(r"stats for \d+sec: tot=(\d+) ok=(\d+) "
                           r"nxd=\d+ err=\d+ in=\d+ out=(\d+)$", re.M)

        def global_stats(sig):
            """Signal f; its next global stats line (tot, ok, out)."""
            with open(flog) as fh:
                mark = len(fh.read())
            f.proc.send_signal(sig)
            for _ in range(100):
                with open(flog) as fh:
                    m = gline.search(fh.read()[mark:])
                if m:
                    return [int(x) for x in m.groups()]
                time.sleep(0.05)
            return None
        global_stats(signal.SIGUSR2)  # log and reset the counters
        c = Client("127.0.0.7", port)
        ids = {}
        for i in range(30):
            q = dns.message.make_query(name, "A")
            q.id = 2000 + i
            c.s.sendto(q.to_wire(), c.dst)
            ids[q.id] = None
        c.s.settimeout(1.0)
        try:
            while True:
                r = dns.message.from_wire(c.s.recvfrom(65535)[0])
                if r.id in ids:
                    ids[r.id] = r
        except socket.timeout:
            pass
        c.close()
        full = [x for x in ids.values() if a_values(x) == ["127.0.0.2"]]
        lost = [x for x in ids.values() if x is None]
        check("rrl: cached forwarded answers are limited too",
              5 <= len(full) <= 7 and len(full) + len(lost) == 30,
              (len(full), len(lost)))
        time.sleep(1.3)  # the workers flush their counters each second
        g = global_stats(signal.SIGUSR1)
        check("rrl: limited forwarded answers counted as queries, not as "
              "answers", g is not None and g[0] == 30 and
              g[1] == len(full) and g[2] > 0, (g, len(full)))
    finally:
        for s in srvs:
            s.stop()


def main():
    d = rdtest.tmpdir("rd-acct-")
    port = rdtest.free_port()
    sock = os.path.join(d, "ctl.sock")
    rdtest.write(d, "bl.txt", ZONE)
    rdtest.write(d, "rd.conf", config(d, port))
    p = subprocess.run([RD, "-n", "-c", os.path.join(d, "rd.conf")],
                       capture_output=True, text=True)
    check("config with acct keys passes -n", p.returncode == 0, p.stderr)
    bad = config(d, port).replace("acl = drop 127.0.0.9",
                                  "acl = dorp 127.0.0.9")
    rdtest.write(d, "bad.conf", bad)
    p = subprocess.run([RD, "-n", "-c", os.path.join(d, "bad.conf")],
                       capture_output=True, text=True)
    check("bad acl: -n fails naming file:line and the word",
          p.returncode != 0 and "bad.conf:" in p.stderr and
          "dorp" in p.stderr, p.stderr)

    test_forward(d)
    srv = start(d, port)
    srvs = [srv]
    try:
        # the warm-up query of start() came from 127.0.0.1
        exp = {}  # client -> expected counters

        def expect(client, **kw):
            e = exp.setdefault(client, {"queries": 0, "listed": 0,
                                        "notlisted": 0, "refused": 0,
                                        "dropped": 0, "ratelimited": 0,
                                        "errors": 0, "bytes_in": 0,
                                        "bytes_out": 0})
            for k, v in kw.items():
                e[k] += v

        base = wait_total(sock, 1)["total"]["queries"]
        check("warm-up query counted", base >= 1, base)
        st0 = ctl_json(sock, "stats")
        c1_before = None
        for e in ctl_json(sock, "top", "-n", "100")["clients"]:
            if e["client"] == "127.0.0.1":
                c1_before = e

        def run(src, names, **kw):
            c = Client(src, port)
            answers = [c.ask(n, **kw) for n in names]
            c.close()
            return c, answers

        # 127.0.0.2: 6 listed, 4 not listed
        names = ["%d.2.0.192.bl.test" % i for i in range(6)] + \
            ["%d.1.1.10.bl.test" % i for i in range(4)]
        c, ans = run("127.0.0.2", names)
        ok = all(a is not None for a in ans) and \
            all(a.rcode() == 0 and a.answer for a in ans[:6]) and \
            all(a.rcode() == dns.rcode.NXDOMAIN for a in ans[6:])
        check("127.0.0.2: 6 listed, 4 NXDOMAIN", ok)
        expect("127.0.0.2", queries=10, listed=6, notlisted=4,
               bytes_in=c.sent, bytes_out=c.recv)
        # 127.0.0.3: outside the zones -> REFUSED
        c, ans = run("127.0.0.3", ["a.example", "b.example", "c.example"])
        check("127.0.0.3: unserved zone REFUSED",
              all(a is not None and a.rcode() == dns.rcode.REFUSED
                  for a in ans))
        expect("127.0.0.3", queries=3, refused=3, bytes_in=c.sent,
               bytes_out=c.recv)
        # 127.0.0.8: the server's acl refuses
        c, ans = run("127.0.0.8", ["7.100.51.198.bl.test"] * 2)
        check("server acl refuse: REFUSED",
              all(a is not None and a.rcode() == dns.rcode.REFUSED
                  for a in ans))
        expect("127.0.0.8", queries=2, refused=2, bytes_in=c.sent,
               bytes_out=c.recv)
        # 127.0.0.9: the server's acl drops
        c, ans = run("127.0.0.9", ["7.100.51.198.bl.test"] * 2,
                     timeout=0.7)
        check("server acl drop: no answer", all(a is None for a in ans))
        expect("127.0.0.9", queries=2, dropped=2, bytes_in=c.sent)
        # 127.0.0.5: acl.test refuses it, bl.test answers it
        c, ans = run("127.0.0.5", ["7.100.51.198.acl.test",
                                   "7.100.51.198.bl.test"])
        check("zone acl refuse: REFUSED in acl.test, listed in bl.test",
              ans[0] is not None and ans[0].rcode() == dns.rcode.REFUSED
              and ans[1] is not None and ans[1].answer)
        expect("127.0.0.5", queries=2, refused=1, listed=1,
               bytes_in=c.sent, bytes_out=c.recv)
        # 127.0.0.6: acl.test drops it
        c, ans = run("127.0.0.6", ["7.100.51.198.acl.test"], timeout=0.7)
        check("zone acl drop: no answer", ans[0] is None)
        expect("127.0.0.6", queries=1, dropped=1, bytes_in=c.sent)
        # 127.0.0.4: a burst of 80 past rate 5/s burst 40
        c = Client("127.0.0.4", port)
        ans = [c.ask("%d.2.0.192.bl.test" % (i % 200)) for i in range(80)]
        c.close()
        limited = [a for a in ans if a is not None and any(
            rr.to_text() == "127.0.0.255" for rs in a.answer for rr in rs)]
        normal = [a for a in ans if a is not None and any(
            rr.to_text() == "127.0.0.2" for rs in a.answer for rr in rs)]
        check("rate limit: a burst gets the policy answer",
              len(limited) >= 30 and len(limited) + len(normal) == 80,
              "%d limited, %d normal" % (len(limited), len(normal)))
        expect("127.0.0.4", queries=80, listed=len(normal),
               ratelimited=len(limited), bytes_in=c.sent, bytes_out=c.recv)
        # others are unaffected meanwhile
        c, ans = run("127.0.0.7", ["7.100.51.198.bl.test"])
        check("rate limit: another client is answered normally",
              ans[0] is not None and
              ans[0].answer[0][0].to_text() == "127.0.0.2")
        expect("127.0.0.7", queries=1, listed=1, bytes_in=c.sent,
               bytes_out=c.recv)
        if IPV6:
            c, ans = run("::1", ["7.100.51.198.bl.test", "1.1.1.10.bl.test"])
            check("::1 answered", all(a is not None for a in ans))
            expect("::/64", queries=2, listed=1, notlisted=1,
                   bytes_in=c.sent, bytes_out=c.recv)

        want = base + sum(e["queries"] for e in exp.values())
        st = wait_total(sock, want)
        check("total queries exact", st["total"]["queries"] == want,
              (st["total"]["queries"], want))
        top = ctl_json(sock, "top", "clients", "-n", "100")
        got = {e["client"]: e for e in top["clients"]}
        for client, e in sorted(exp.items()):
            g = got.get(client)
            diff = {k: (g.get(k) if g else None, v) for k, v in e.items()
                    if g is None or g.get(k) != v}
            check("client %s counted exactly" % client, not diff, diff)
        # totals are the sum of the clients (warm-up included)
        for k in ("queries", "listed", "notlisted", "refused", "dropped",
                  "ratelimited", "bytes_in", "bytes_out"):
            s = sum(e[k] for e in top["clients"]) + top["other"][k]
            check("total %s = sum over clients" % k, s == st["total"][k],
                  (s, st["total"][k]))
        # per zone
        z = st["zones"]
        # the server's acl decides before the question is read: those
        # queries count for the client and the totals, in no zone
        blq = (10 + 1 + 80 + 1 + (2 if IPV6 else 0) +
               (st0["zones"].get("bl.test", {}).get("queries", 0)))
        check("zone bl.test queries exact",
              z.get("bl.test", {}).get("queries") == blq,
              (z.get("bl.test"), blq))
        check("zone acl.test: 1 refused, 1 dropped",
              z.get("acl.test", {}).get("refused") == 1 and
              z["acl.test"].get("dropped") == 1 and
              z["acl.test"].get("queries") == 2, z.get("acl.test"))
        check("zone bl.test ratelimited exact",
              z["bl.test"]["ratelimited"] == len(limited),
              (z["bl.test"]["ratelimited"], len(limited)))
        hist = z["bl.test"]["latency_us"]
        check("latency histogram sums to the zone's queries",
              sum(hist.values()) == z["bl.test"]["queries"], hist)
        tz = ctl_json(sock, "top", "zones", "--by", "listed")
        check("top zones --by listed: bl.test first",
              tz["zones"] and tz["zones"][0]["zone"] == "bl.test", tz)
        zs = ctl_json(sock, "zones")
        names = sorted(x["zone"] for x in zs["zones"])
        check("zones lists both", names == ["acl.test", "bl.test"], names)
        top3 = ctl_json(sock, "top", "-n", "1")
        check("top -n 1: the flooder", len(top3["clients"]) == 1 and
              top3["clients"][0]["client"] == "127.0.0.4", top3)
        p = ctl(sock, "stats")
        check("text stats: a table with the zones",
              p.returncode == 0 and "bl.test" in p.stdout and
              "(total)" in p.stdout, p.stdout + p.stderr)

        # a non-root user: reads yes, changes no
        if ROOT:
            p = ctl(sock, "stats", "--json", user="nobody")
            check("nobody may read stats", p.returncode == 0 and
                  json.loads(p.stdout)["total"]["queries"] == want, p)
            for cmd in ("flush-stats", "reload", "save"):
                p = ctl(sock, cmd, user="nobody")
                check("nobody may not %s" % cmd, p.returncode == 4 and
                      "not allowed" in p.stderr, (p.returncode, p.stderr))
            st2 = ctl_json(sock, "stats")
            check("counters unchanged after refused flush",
                  st2["total"]["queries"] == want, st2["total"])
        # bad control requests
        r = raw_request(sock, b"\x00\xff\xfe garbage\n")
        check("binary garbage: ERR 400", r.startswith("ERR 400 "), r)
        r = raw_request(sock, b"A" * 5000)
        check("overlong line: ERR 413", r.startswith("ERR 413 "), r)
        r = raw_request(sock, b"RDCTL1 frobnicate\n")
        check("unknown command: ERR 404 naming it",
              r.startswith("ERR 404 ") and "frobnicate" in r, r)
        r = raw_request(sock, b"RDCTL7 stats\n")
        check("other protocol version: ERR 505", r.startswith("ERR 505 "), r)
        r = raw_request(sock, b"GET / HTTP/1.0\r\n\r\n")
        check("HTTP: ERR 400", r.startswith("ERR 400 "), r)
        p = ctl(sock, "ping")
        check("still serving the control socket after bad requests",
              p.returncode == 0 and "resolverd" in p.stdout, p)
        a = rdtest.query(port, "7.100.51.198.bl.test")
        check("still answering DNS after bad requests",
              a.answer and a.answer[0][0].to_text() == "127.0.0.2")
        want += 1
        st = wait_total(sock, want)
        if ROOT:
            p = ctl(sock, "reload")
            check("root may reload", p.returncode == 0, p.stderr)

        # restart: the counters continue
        before = wait_total(sock, want)["total"]
        srv.stop()
        check("SIGTERM: exit 0", srv.proc.returncode == 0,
              srv.proc.returncode)
        p = subprocess.run([CTL, "-D", os.path.join(d, "db"), "stats",
                            "--json"], capture_output=True, text=True)
        off = json.loads(p.stdout)["total"] if p.returncode == 0 else {}
        check("resolverctl -D: stored counters with the daemon down",
              off.get("queries") == before["queries"] and
              off.get("listed") == before["listed"], (off, before, p.stderr))
        srv = start(d, port)
        srvs.append(srv)
        st = ctl_json(sock, "stats")
        check("after restart: totals kept",
              st["total"]["queries"] >= before["queries"] and
              st["total"]["listed"] >= before["listed"],
              (st["total"], before))
        c, ans = run("127.0.0.2", ["1.2.0.192.bl.test"] * 3)
        st = wait_total(sock, before["queries"] + 1 + 3)
        check("after restart: totals keep growing from the stored values",
              st["total"]["queries"] == before["queries"] + 1 + 3 and
              st["total"]["listed"] == before["listed"] + 1 + 3,
              (st["total"], before))
        top = ctl_json(sock, "top", "-n", "100")
        g = {e["client"]: e for e in top["clients"]}
        check("after restart: client 127.0.0.2 continues",
              g.get("127.0.0.2", {}).get("listed") == 6 + 3,
              g.get("127.0.0.2"))
        # flush-stats as root zeroes
        if ROOT:
            p = ctl(sock, "flush-stats")
            st = ctl_json(sock, "stats")
            check("root flush-stats zeroes the counters",
                  p.returncode == 0 and st["total"]["queries"] == 0,
                  (p.stderr, st["total"]))
        # response-rate limiting: rate limit off, rrl 5/s per /24, slip 2
        conf = config(d, port).replace(
            "rate-limit = 5\n", "rate-limit = 0\nrrl = 5\nrrl-slip = 2\n")
        rdtest.write(d, "rd.conf", conf)
        before = ctl_json(sock, "stats")["total"]
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        # all at once, then the answers: a wait for each lost one would
        # let the bucket refill
        c = Client("127.0.0.2", port)
        ids = {}
        for i in range(30):
            q = dns.message.make_query("7.100.51.198.bl.test", "A")
            q.id = 1000 + i
            c.s.sendto(q.to_wire(), c.dst)
            ids[q.id] = None
        c.s.settimeout(1.0)
        try:
            while True:
                data, _ = c.s.recvfrom(65535)
                r = dns.message.from_wire(data)
                if r.id in ids:
                    ids[r.id] = r
        except socket.timeout:
            pass
        c.close()
        ans = list(ids.values())
        full = [a for a in ans if a is not None and a.answer]
        tc = [a for a in ans if a is not None and not a.answer and
              (a.flags & dns.flags.TC)]
        lost = [a for a in ans if a is None]
        check("rrl: past 5/s answers are dropped or slip with TC",
              5 <= len(full) <= 8 and len(tc) >= 8 and len(lost) >= 8 and
              len(full) + len(tc) + len(lost) == 30,
              (len(full), len(tc), len(lost)))
        st = wait_total(sock, before["queries"] + 30)
        check("rrl: every limited answer counted",
              st["total"]["ratelimited"] - before["ratelimited"] ==
              len(tc) + len(lost) and
              st["total"]["queries"] - before["queries"] == 30,
              (st["total"], before))
    finally:
        for s in srvs:
            s.stop()
    rc = check.done()
    if rc == 0:
        rdtest.cleanup(d)
    else:
        print("kept", d)
    return rc


if __name__ == "__main__":
    sys.exit(main())
