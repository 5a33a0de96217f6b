#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Forwarded zones against real upstream servers on 127.0.0.1.

resolverd (config mode, 2 threads, 1 MiB cache) forwards zones to:

  UP1  a second resolverd in rbldnsd drop-in mode, serving the rewritten
       zone key123.zen.dq.test (DQS style: clients ask zen.spamhaus.test)
       and plain zones for the failover, bad-upstream, error-policy and
       mirror+fallback cases; its own query log counts what it is asked;
  UP2  rbldnsd with 2-second TTLs: TTL expiry, negative caching, and
       serve-stale once it is stopped;
  UP3  unbound with local data: A, TXT, AAAA and a negative answer;
  small Python UDP servers: one that reads and discards, one that answers
       after half a second (coalescing), and one per kind of bad answer:
       random bytes, a wrong ID, a wrong question, a packet cut short, an
       answer from another port, an answer about another name, SERVFAIL.

Shown: forwarding with the name asked echoed (case too), rewriting (the
key reaches UP1, never the client, resolverd's log or query log), cache
hits (UP1 sees one query for many), TTLs counting down, negative caching
from the SOA, error codes answered per policy and never cached, TC from
UP1 retried over TCP, failover past a dead port and a silent server (and
the next query skipping them), every bad answer dropped, counted and
failed over (SERVFAIL with no good server), 100 concurrent identical
queries making one upstream query, serve-stale after UP2 is stopped,
mirror+fallback switching to UP1 when its mirror expires and back when it
is fresh, REFUSED outside the configured zones, the cache staying under
its bound over 20000 distinct names.  Every process is stopped by PID.

usage: test_upstream.py RESOLVERD
"""
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

RD = sys.argv[1]
ROOT = os.geteuid() == 0
KEY = "key123"
check = rdtest.Checks()

ZEN = ("$SOA 3600 ns1.key123.zen.dq.test hm.key123.zen.dq.test "
       "1 600 300 86400 60\n") + """$NS 3600 ns1.key123.zen.dq.test
$TTL 300
127.0.0.2 :127.0.0.2:Listed, see https://check.test/key123/ip/$
127.0.0.4 :127.0.0.4:xbl
127.0.0.9 :127.255.255.254:query through a public resolver
127.0.0.10 :127.0.1.255:IP queried against a domain list
"""
PLAIN = """$SOA 300 ns.plain.test hm.plain.test 1 600 300 86400 60
$TTL 300
127.0.0.2 :127.0.0.2:plain
127.0.0.9 :127.255.255.254:error code
"""
FB_UPSTREAM = """$SOA 300 ns.fb.test hm.fb.test 1 600 300 86400 60
$TTL 300
127.0.0.2 :127.0.0.3:upstream
"""
RBL = """$SOA 2 ns.rbl.test hm.rbl.test 1 600 300 86400 2
$TTL 2
127.0.0.2 :2:rbl listed
"""
UNBOUND = """server:
  interface: 127.0.0.1
  port: %(port)d
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%(dir)s"
  pidfile: ""
  use-syslog: no
  logfile: "%(dir)s/unbound.log"
  verbosity: 1
  log-queries: yes
  access-control: 127.0.0.0/8 allow
  local-zone: "ub.test." static
  local-data: "ub.test. 300 IN SOA ns.ub.test. hm.ub.test. 1 600 300 86400 60"
  local-data: "2.0.0.127.ub.test. 300 IN A 127.0.0.2"
  local-data: '2.0.0.127.ub.test. 300 IN TXT "unbound listed"'
  local-data: "2.0.0.127.ub.test. 300 IN AAAA ::ffff:127.0.0.2"
remote-control:
  control-enable: no
"""
BAD_MODES = ("garbage", "wrong-id", "wrong-question", "truncated",
             "wrong-source", "foreign", "servfail")


def zname(mode):
    return "bad%s.test" % mode.replace("-", "")


def big_generic():
    """20 TXT records of 100 bytes: more than UP1 sends in 1232."""
    return "".join('big TXT "%02d%s"\n' % (i, "x" * 98) for i in range(20))


def fb_mirror(expires_in):
    created = time.gmtime(time.time() - 5)
    return ("$TIMESTAMP %s +%ds\n"
            "$SOA 300 ns.fb.test hm.fb.test 1 600 300 86400 60\n"
            "127.0.0.2 :127.0.0.2:mirror\n" % (
                time.strftime("%Y:%m:%d:%H:%M:%S", created),
                expires_in + 5))


class PyUpstreams:
    """UDP DNS servers in one thread; each socket has a mode."""

    def __init__(self):
        self.socks = {}
        self.counts = {}
        self.delayed = []
        self.halt = threading.Event()
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.run, daemon=True)

    def add(self, mode):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        self.socks[s] = mode
        self.counts[mode] = 0
        return s.getsockname()[1]

    def run(self):
        while not self.halt.is_set():
            r, _, _ = select.select(list(self.socks), [], [], 0.02)
            for s in r:
                try:
                    data, addr = s.recvfrom(4096)
                except OSError:
                    continue
                mode = self.socks[s]
                try:  # only queries count (stray packets do not)
                    q = dns.message.from_wire(data)
                except Exception:
                    continue
                if q.flags & dns.flags.QR:
                    continue
                self.counts[mode] += 1
                try:
                    self.handle(s, mode, q, addr)
                except Exception as e:  # a test server must not die
                    print("python upstream %s: %r" % (mode, e))
            now = time.monotonic()
            for item in [x for x in self.delayed if x[0] <= now]:
                self.delayed.remove(item)
                item[1].sendto(item[2], item[3])

    def handle(self, s, mode, q, addr):
        if mode == "blackhole":
            return
        if mode == "garbage":
            s.sendto(os.urandom(40), addr)
            return
        name = q.question[0].name
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer.append(dns.rrset.from_text(
            name, 0 if mode == "slow" else 300, "IN", "A",
            "127.0.0.2" if mode == "slow" else "127.0.0.66"))
        if mode == "slow":
            self.delayed.append((time.monotonic() + 0.5, s, r.to_wire(),
                                 addr))
        elif mode == "wrong-id":
            r.id = (q.id + 1) & 0xffff
            s.sendto(r.to_wire(), addr)
        elif mode == "wrong-question":
            q2 = dns.message.make_query(
                dns.name.Name((b"x",) + name.labels), "A")
            r2 = dns.message.make_response(q2)
            r2.id = q.id
            r2.answer.append(dns.rrset.from_text(
                q2.question[0].name, 300, "IN", "A", "127.0.0.66"))
            s.sendto(r2.to_wire(), addr)
        elif mode == "truncated":
            s.sendto(r.to_wire()[:-3], addr)
        elif mode == "wrong-source":
            self.other.sendto(r.to_wire(), addr)
        elif mode == "foreign":
            r.answer = [dns.rrset.from_text(
                dns.name.Name((b"other",) + name.labels[4:]), 300, "IN",
                "A", "6.6.6.6")]
            s.sendto(r.to_wire(), addr)
        elif mode == "servfail":
            r.answer = []
            r.set_rcode(dns.rcode.SERVFAIL)
            s.sendto(r.to_wire(), addr)

    def start(self):
        self.thread.start()

    def stop(self):
        self.halt.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()
        self.other.close()


def q(port, name, rdtype="A", tcp=False, payload=None, timeout=4.0):
    m = dns.message.make_query(name, rdtype, use_edns=payload is not None,
                               payload=payload or 512)
    m.flags |= dns.flags.RD
    if tcp:
        return dns.query.tcp(m, "127.0.0.1", port=port, timeout=timeout)
    # other tests on this machine: a stray datagram is not our answer
    return dns.query.udp(m, "127.0.0.1", port=port, timeout=timeout,
                         ignore_unexpected=True)


def try_q(port, name, rdtype="A", **kw):
    try:
        return q(port, name, rdtype, **kw)
    except Exception as e:
        return e


def rrs(r, rdtype="A"):
    if not isinstance(r, dns.message.Message):
        return None
    t = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rs in r.answer if rs.rdtype == t
                  for rd in rs)


def rcode(r):
    return r.rcode() if isinstance(r, dns.message.Message) else None


def count_log(path, qname, qtype="A"):
    """Queries for qname/qtype in a query log in rbldnsd's format."""
    n = 0
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[2].lower() == qname.lower() and \
                        w[3] == qtype:
                    n += 1
    except FileNotFoundError:
        pass
    return n


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def stats(proc, log):
    """SIGUSR1, then the last 'upstream:' and 'cache:' lines as dicts."""
    before = read(log).count("upstream:")
    proc.send_signal(signal.SIGUSR1)
    end = time.monotonic() + 5
    while time.monotonic() < end and read(log).count("upstream:") <= before:
        time.sleep(0.05)
    out = {}
    for kind in ("upstream", "cache"):
        lines = [x for x in read(log).splitlines() if x.startswith(
            "resolverd: %s:" % kind)]
        if lines:
            out[kind] = dict((k, int(v)) for k, v in re.findall(
                r"([\w-]+)=(\d+)", lines[-1]))
    return out


def wait_for(fn, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.1)
    return fn()


def pipelined(port, names, window=200):
    """Send the names (A) over UDP, at most window in flight; answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect(("127.0.0.1", port))
    got = 0
    i = 0
    inflight = 0
    deadline = time.monotonic() + 120
    while (i < len(names) or inflight > 0) and time.monotonic() < deadline:
        while i < len(names) and inflight < window:
            m = dns.message.make_query(names[i], "A")
            m.id = i & 0xffff
            s.send(m.to_wire())
            i += 1
            inflight += 1
        r, _, _ = select.select([s], [], [], 2.0)
        if not r:
            inflight = 0  # lost: move on
            continue
        while True:
            try:
                s.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            got += 1
            inflight -= 1
    s.close()
    return got


def start_dropin(d, port, specs):
    sd = os.path.join(d, "up1")
    os.makedirs(sd, exist_ok=True)
    if ROOT:
        os.chown(sd, *pwd.getpwnam("nobody")[2:4])
    env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(sd, "state"))
    argv = [RD, "-n", "-u", "nobody", "-b", "127.0.0.1/%d" % port,
            "-l", "+" + os.path.join(d, "up1.qlog")] + specs
    return rdtest.Server(argv, env=env, cwd=d, log=os.path.join(d, "up1.log"))


def main():
    if shutil.which("unbound") is None or \
            not os.path.exists("/usr/sbin/rbldnsd"):
        print("unbound or rbldnsd is not installed (contrib/debian-packages)")
        return 77
    d = rdtest.tmpdir("rd-upstream.")
    procs = []
    py = PyUpstreams()
    ports = dict((m, py.add(m)) for m in BAD_MODES + ("blackhole", "slow"))
    py.start()
    up1, up2, up3, port = (rdtest.free_port() for _ in range(4))
    dead = rdtest.free_port()  # nothing listens there
    rd = None
    try:
        rdtest.write(d, "zen.txt", ZEN)
        rdtest.write(d, "big.txt", big_generic())
        rdtest.write(d, "plain.txt", PLAIN)
        rdtest.write(d, "fbup.txt", FB_UPSTREAM)
        rdtest.write(d, "rbl.txt", RBL)
        fb_expires = time.time() + 6
        rdtest.write(d, "fb.txt", fb_mirror(6))
        specs = ["key123.zen.dq.test:ip4set:zen.txt",
                 "key123.zen.dq.test:generic:big.txt",
                 "failover.test:ip4set:plain.txt",
                 "errsf.test:ip4set:plain.txt",
                 "fb.test:ip4set:fbup.txt"]
        specs += ["%s:ip4set:plain.txt" % zname(m) for m in BAD_MODES]
        s1 = start_dropin(d, up1, specs)
        procs.append(s1)
        s2 = rdtest.rbldnsd(d, up2, ["rbl.test:ip4set:rbl.txt"],
                            ["-l", "+" + os.path.join(d, "rbl.qlog")])
        procs.append(s2)
        ubconf = rdtest.write(d, "unbound.conf",
                              UNBOUND % {"port": up3, "dir": d})
        s3 = rdtest.Server(["unbound", "-d", "-c", ubconf],
                           log=os.path.join(d, "unbound.out"))
        procs.append(s3)

        conf = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 2\n"
                "database = %s\nquery-log = %s\nttl = 35m\n"
                "check-interval = 1s\ncache-size = 1m\n" % (
                    port, os.path.join(d, "db"),
                    os.path.join(d, "query.log")))
        if ROOT:
            conf += "user = nobody\n"
        conf += ("\n[zone zen.spamhaus.test]\nmode = forward\n"
                 "upstream = 127.0.0.1@%d\nrewrite = %s.zen.dq.test\n" % (
                     up1, KEY.upper()))
        conf += ("\n[zone rbl.test]\nmode = forward\n"
                 "upstream = 127.0.0.1@%d\nstale = 1h\n" % up2)
        conf += "\n[zone ub.test]\nmode = forward\nupstream = 127.0.0.1@%d\n" \
            % up3
        conf += ("\n[zone failover.test]\nmode = forward\n"
                 "upstream = 127.0.0.1@%d\nupstream = 127.0.0.1@%d\n"
                 "upstream = 127.0.0.1@%d\n" % (dead, ports["blackhole"],
                                                up1))
        for m in BAD_MODES:
            conf += ("\n[zone %s]\nmode = forward\nupstream = 127.0.0.1@%d\n"
                     "upstream = 127.0.0.1@%d\n" % (zname(m), ports[m], up1))
        conf += ("\n[zone badonly.test]\nmode = forward\nstale = 0\n"
                 "upstream = 127.0.0.1@%d\n" % ports["truncated"])
        conf += ("\n[zone errsf.test]\nmode = forward\n"
                 "upstream = 127.0.0.1@%d\nerror-policy = servfail\n" % up1)
        conf += "\n[zone slow.test]\nmode = forward\n" \
            "upstream = 127.0.0.1@%d\n" % ports["slow"]
        conf += ("\n[zone fb.test]\nmode = mirror+fallback\n"
                 "dataset = ip4set:fb.txt\nupstream = 127.0.0.1@%d\n" % up1)
        test_bad_config(d)
        cpath = rdtest.write(d, "resolverd.conf", conf)
        p = subprocess.run([RD, "-n", "-c", cpath], capture_output=True,
                           text=True)
        check("config with upstream zones: -n OK", p.returncode == 0,
              p.stderr)
        log = os.path.join(d, "resolverd.log")
        rd = rdtest.Server([RD, "-d", "-c", cpath], log=log)
        procs.append(rd)
        # names no check counts
        for pt, name, srv in ((up1, "wait.key123.zen.dq.test", s1),
                              (up2, "wait.rbl.test", s2),
                              (up3, "wait.ub.test", s3),
                              (port, "wait.fb.test", rd.proc)):
            rdtest.wait_answer(pt, name, getattr(srv, "proc", srv))

        # mirror+fallback: a fresh mirror answers
        r = try_q(port, "2.0.0.127.fb.test")
        check("fallback zone, fresh mirror: the mirror's answer",
              rrs(r) == ["127.0.0.2"], r)
        check("... UP1 not asked", count_log(
            os.path.join(d, "up1.qlog"), "2.0.0.127.fb.test") == 0)

        test_forward(d, port)
        test_tcp(d, port)
        test_failover(d, port, py)
        test_bad(d, port, py, rd, log)
        test_coalescing(d, port, py, rd, log)
        test_refused(port)

        # the mirror expired: UP1 answers; fresh again: the mirror
        while time.time() < fb_expires + 1.5:
            time.sleep(0.2)
        r = try_q(port, "2.0.0.127.fb.test")
        check("fallback zone, expired mirror: UP1's answer",
              rrs(r) == ["127.0.0.3"], r)
        check("... UP1 asked once", count_log(
            os.path.join(d, "up1.qlog"), "2.0.0.127.fb.test") == 1)
        rdtest.write(d, "fb.txt.new", fb_mirror(3600))
        os.rename(os.path.join(d, "fb.txt.new"), os.path.join(d, "fb.txt"))
        check("fallback zone, mirror fresh again: the mirror's answer",
              wait_for(lambda: rrs(try_q(port, "2.0.0.127.fb.test")) ==
                       ["127.0.0.2"], 10))

        test_stale(d, port, s2, rd, log)
        test_bound(d, port, rd, log)

        # SIGHUP: zones and policies change, the cache is flushed
        qlog = os.path.join(d, "up1.qlog")
        before = count_log(qlog, "2.0.0.127.key123.zen.dq.test")
        conf2 = conf.replace(
            "rewrite = %s.zen.dq.test\n" % KEY.upper(),
            "rewrite = %s.zen.dq.test\nerror-policy = servfail\n" %
            KEY.upper()).replace("[zone ub.test]", "[zone ub2.test]")
        rdtest.write(d, "resolverd.conf", conf2)
        rd.proc.send_signal(signal.SIGHUP)
        check("reload: the new error-policy applies",
              wait_for(lambda: rcode(try_q(
                  port, "9.0.0.127.zen.spamhaus.test")) ==
                  dns.rcode.SERVFAIL, 10))
        r = try_q(port, "2.0.0.127.ub.test")
        check("reload: a zone removed is REFUSED",
              rcode(r) == dns.rcode.REFUSED, r)
        r = try_q(port, "2.0.0.127.ub2.test")
        check("reload: a zone added is forwarded", rrs(r) is not None and
              rcode(r) == dns.rcode.NXDOMAIN, r)
        r = try_q(port, "2.0.0.127.zen.spamhaus.test")
        check("reload: the cache was flushed (UP1 asked again)",
              rrs(r) == ["127.0.0.2"] and
              count_log(qlog, "2.0.0.127.key123.zen.dq.test") ==
              before + 1, r)

        # the key: UP1 saw it, nobody else did
        check("UP1 was asked under the key", KEY in read(
            os.path.join(d, "up1.qlog")))
        st = stats(rd.proc, log)
        for what, path in (("resolverd's log", log),
                           ("resolverd's query log",
                            os.path.join(d, "query.log"))):
            text = read(path).lower()
            check("the key is not in %s" % what, KEY not in text and
                  len(text) > 0, text[:200])
        check("the query log has forwarded answers",
              re.search(r" 2\.0\.0\.127\.zen\.spamhaus\.test A IN: "
                        r"NOERROR/1/", read(os.path.join(d, "query.log")))
              is not None)
        check("resolverd still running", rd.proc.poll() is None)
        check("SIGTERM: exit 0", rd.stop() == 0)
        check("stats line present", "upstream" in st and "cache" in st, st)
    finally:
        for s in procs:
            s.stop()
        py.stop()
        if check.failed:
            print("kept %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    return check.done()


def test_bad_config(d):
    base = "[server]\nlisten = 127.0.0.1@53\ndatabase = %s\n" % \
        os.path.join(d, "db-bad")
    for text, line, want in (
            ("[zone a.test]\nmode = bogus\n", 5, "mode: bogus: want"),
            ("[zone a.test]\nmode = forward\nupstream = ns.example\n", 6,
             "upstream: ns.example: want a numeric address"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1@99999\n",
             6, "upstream: 127.0.0.1@99999"),
            ("[zone a.test]\nmode = forward\n", None,
             "[zone a.test]: upstream: mode forward needs at least one"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1\n"
             "dataset = ip4set:x.txt\n", None,
             "a forward zone has no datasets"),
            ("[zone a.test]\ndataset = ip4set:x.txt\n"
             "upstream = 127.0.0.1\n", 6,
             "upstream settings need mode = forward or mirror+fallback"),
            ("[zone a.test]\nmode = mirror+fallback\n"
             "upstream = 127.0.0.1\n", None,
             "needs at least one non-acl dataset"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1\n"
             "rewrite = secret99 key..x\n", 7, "rewrite: not a domain name"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1\n"
             "error-codes = 127.255.255.0/33\n", 7,
             "error-codes: 127.255.255.0/33: want"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1\n"
             "error-policy = drop\n", 7, "error-policy: drop: want"),
            ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1\n"
             "ttl-min = 1h\nttl-max = 1m\n", None,
             "ttl-min is above ttl-max"),
            ("cache-size = 12q\n", 4, "cache-size: 12q: want bytes")):
        path = rdtest.write(d, "bad.conf", base + text)
        p = subprocess.run([RD, "-n", "-c", path], capture_output=True,
                           text=True)
        where = "%s:%d: " % (path, line) if line else path + ": "
        check("bad config (%s): exit 1, %s" % (want, where.split("/")[-1]),
              p.returncode == 1 and where in p.stderr and want in p.stderr,
              p.stderr)
        check("... no secret in the message", "secret99" not in p.stderr)
    rdtest.write(d, "x.txt", "192.0.2.1\n")  # -n checks dataset files
    path = rdtest.write(d, "good.conf", base + (
        "cache-size = 64k\n[zone a.test]\nmode = forward\n"
        "upstream = [::1]:5353\nupstream = 127.0.0.1/5353\n"
        "rewrite = K.a.dq.test.\nstale = 0\nerror-codes = default,"
        "127.0.0.1,none,127.0.0.255\nnegative-ttl = 5m\n"
        "[zone b.test]\nmode = mirror+fallback\ndataset = ip4set:x.txt\n"
        "upstream = 127.0.0.1\nmirror-grace = 1h\n"))
    p = subprocess.run([RD, "-n", "-c", path], capture_output=True, text=True)
    check("good config with every upstream key: exit 0", p.returncode == 0,
          p.stderr)


def test_forward(d, port):
    qlog = os.path.join(d, "up1.qlog")
    name = "2.0.0.127.ZeN.SpamHaus.TEST"
    r = try_q(port, name)
    check("forward A: listed", rcode(r) == 0 and rrs(r) == ["127.0.0.2"], r)
    check("forward A: AA, no RA, like mirrored answers",
          isinstance(r, dns.message.Message) and
          r.flags & dns.flags.AA and not r.flags & dns.flags.RA, r)
    check("forward A: the owner is the name asked, case echoed",
          isinstance(r, dns.message.Message) and r.answer and
          r.answer[0].name.to_text() == name + ".", r)
    check("UP1 was asked the rewritten name",
          count_log(qlog, "2.0.0.127.key123.zen.dq.test") == 1)
    wire = r.to_wire() if isinstance(r, dns.message.Message) else b""
    check("the key is not in the answer", KEY.encode() not in wire.lower())
    r = try_q(port, "2.0.0.127.zen.spamhaus.test", "TXT")
    txt = rrs(r, "TXT") or []
    check("forward TXT: the key masked in the text",
          len(txt) == 1 and "check.test/******/ip/127.0.0.2" in txt[0] and
          KEY not in txt[0].lower(), r)
    # cache hits: UP1 sees one query
    ttls = []
    for _ in range(5):
        r = try_q(port, "2.0.0.127.zen.spamhaus.test")
        ttls.append(r.answer[0].ttl if rrs(r) else None)
        time.sleep(0.3)
    check("cache: 5 more queries, UP1 asked once",
          count_log(qlog, "2.0.0.127.key123.zen.dq.test") == 1)
    check("cache: the TTL counts down from 300",
          None not in ttls and ttls[0] <= 300 and ttls[-1] < ttls[0], ttls)
    # negative caching
    r = try_q(port, "5.0.0.127.zen.spamhaus.test")
    soa = [rs for rs in r.authority if rs.rdtype == dns.rdatatype.SOA] \
        if isinstance(r, dns.message.Message) else []
    check("negative: NXDOMAIN with the zone's SOA",
          rcode(r) == dns.rcode.NXDOMAIN and len(soa) == 1 and
          soa[0].name.to_text() == "zen.spamhaus.test." and
          soa[0][0].mname.to_text() == "ns1.zen.spamhaus.test.", r)
    check("negative: SOA TTL min(3600, MINIMUM 60)",
          soa and 55 <= soa[0].ttl <= 60, r)
    try_q(port, "5.0.0.127.zen.spamhaus.test")
    check("negative: cached, UP1 asked once",
          count_log(qlog, "5.0.0.127.key123.zen.dq.test") == 1)
    r = try_q(port, "zen.spamhaus.test", "SOA")
    check("apex SOA forwarded, names put under the zone",
          rrs(r, "SOA") and rrs(r, "SOA")[0].startswith(
              "ns1.zen.spamhaus.test. hm.zen.spamhaus.test."), r)
    # error codes
    for i in range(2):
        r = try_q(port, "9.0.0.127.zen.spamhaus.test")
        check("error code 127.255.255.254: NXDOMAIN, not a listing (%d)" % i,
              rcode(r) == dns.rcode.NXDOMAIN and not rrs(r), r)
    check("error code: not cached (UP1 asked twice)",
          count_log(qlog, "9.0.0.127.key123.zen.dq.test") == 2)
    r = try_q(port, "10.0.0.127.zen.spamhaus.test")
    check("error code 127.0.1.255 (default set): NXDOMAIN",
          rcode(r) == dns.rcode.NXDOMAIN and not rrs(r), r)
    r = try_q(port, "9.0.0.127.errsf.test")
    check("error-policy servfail: SERVFAIL", rcode(r) == dns.rcode.SERVFAIL,
          r)
    r = try_q(port, "4.0.0.127.zen.spamhaus.test")
    check("a real listing next to them still listed",
          rrs(r) == ["127.0.0.4"], r)
    # unbound as upstream
    r = try_q(port, "2.0.0.127.ub.test", "AAAA")
    check("unbound upstream: AAAA", rrs(r, "AAAA") == ["::ffff:127.0.0.2"],
          r)
    r = try_q(port, "2.0.0.127.ub.test", "TXT")
    check("unbound upstream: TXT", rrs(r, "TXT") == ['"unbound listed"'], r)
    r = try_q(port, "3.0.0.127.ub.test")
    check("unbound upstream: NXDOMAIN with ub.test's SOA",
          rcode(r) == dns.rcode.NXDOMAIN and any(
              rs.rdtype == dns.rdatatype.SOA and
              rs.name.to_text() == "ub.test." for rs in r.authority), r)
    check("unbound logged the queries",
          "2.0.0.127.ub.test. AAAA IN" in read(os.path.join(d,
                                                              "unbound.log")))


def test_tcp(d, port):
    qlog = os.path.join(d, "up1.qlog")
    r = try_q(port, "big.zen.spamhaus.test", "TXT", tcp=True)
    txt = rrs(r, "TXT") or []
    check("TC from UP1, retried over TCP: 20 TXT records",
          len(txt) == 20 and all(x.startswith('"') for x in txt), r)
    check("UP1 asked twice (UDP, then TCP)",
          count_log(qlog, "big.key123.zen.dq.test", "TXT") == 2)
    r = try_q(port, "big.zen.spamhaus.test", "TXT", payload=4096)
    check("UDP client: TC (our edns-size is 1232), from the cache",
          isinstance(r, dns.message.Message) and
          r.flags & dns.flags.TC and
          count_log(qlog, "big.key123.zen.dq.test", "TXT") == 2, r)


def test_failover(d, port, py):
    t0 = time.monotonic()
    r = try_q(port, "2.0.0.127.failover.test", timeout=6)
    t1 = time.monotonic() - t0
    check("failover past a dead port and a silent server: answered",
          rrs(r) == ["127.0.0.2"], r)
    check("... within a timeout or two (%.2fs)" % t1, t1 < 3.0)
    check("the silent server was asked", py.counts["blackhole"] >= 1)
    t0 = time.monotonic()
    r = try_q(port, "3.0.0.127.failover.test")
    t1 = time.monotonic() - t0
    check("next query skips the failing servers (%.3fs)" % t1,
          rcode(r) == dns.rcode.NXDOMAIN and t1 < 0.5, r)


def test_bad(d, port, py, rd, log):
    for m in BAD_MODES:
        r = try_q(port, "2.0.0.127.%s" % zname(m), timeout=6)
        check("bad upstream (%s): asked, dropped, UP1's answer" % m,
              py.counts[m] >= 1 and rrs(r) == ["127.0.0.2"], r)
    r = try_q(port, "other.%s" % zname("foreign"), timeout=6)
    check("the foreign record was not cached",
          rcode(r) == dns.rcode.NXDOMAIN and not rrs(r), r)
    r = try_q(port, "2.0.0.127.badonly.test", timeout=6)
    check("only a bad upstream: SERVFAIL", rcode(r) == dns.rcode.SERVFAIL,
          r)
    check("resolverd still running after bad answers",
          rd.proc.poll() is None)
    st = stats(rd.proc, log).get("upstream", {})
    for k in ("bad-id", "bad-question", "malformed", "wrong-source",
              "foreign", "bad-rcode", "timeouts", "unreachable"):
        check("counted: %s" % k, st.get(k, 0) >= 1, st)
    check("counted: the random bytes",
          st.get("short", 0) + st.get("not-answer", 0) +
          st.get("bad-id", 0) + st.get("bad-question", 0) >= 2, st)


def test_coalescing(d, port, py, rd, log):
    name = "2.0.0.127.slow.test"
    wire = dns.message.make_query(name, "A").to_wire()
    socks = []
    before = py.counts["slow"]
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        s.send(wire)
    ok = 0
    end = time.monotonic() + 5
    pending = list(socks)
    while pending and time.monotonic() < end:
        r, _, _ = select.select(pending, [], [], 0.5)
        for s in r:
            m = dns.message.from_wire(s.recv(4096))
            if rrs(m) == ["127.0.0.2"]:
                ok += 1
            pending.remove(s)
    for s in socks:
        s.close()
    check("coalescing: 100 concurrent queries all answered", ok == 100, ok)
    check("coalescing: one upstream query",
          py.counts["slow"] - before == 1, py.counts["slow"] - before)
    st = stats(rd.proc, log).get("upstream", {})
    check("coalescing: counted", st.get("coalesced", 0) >= 99, st)
    # TTL 0: not cached, the next query goes upstream again
    r = try_q(port, name)
    check("TTL 0 answers are not cached",
          rrs(r) == ["127.0.0.2"] and py.counts["slow"] - before == 2)


def test_refused(port):
    for name in ("example.com", "spamhaus.test", "2.0.0.127.spamhaus.test",
                 "2.0.0.127.zen.dq.test", "dq.test", "test"):
        r = try_q(port, name)
        check("REFUSED outside the configured zones: %s" % name,
              rcode(r) == dns.rcode.REFUSED and not r.answer, r)


def test_stale(d, port, s2, rd, log):
    qlog = os.path.join(d, "rbl.qlog")
    name = "2.0.0.127.rbl.test"
    r = try_q(port, name)
    check("rbldnsd upstream: listed", rrs(r) == ["127.0.0.2"], r)
    try_q(port, name)
    check("rbldnsd upstream: cached", count_log(qlog, name) == 1)
    r = try_q(port, "3.0.0.127.rbl.test")
    try_q(port, "3.0.0.127.rbl.test")
    check("rbldnsd negative answer: cached",
          rcode(r) == dns.rcode.NXDOMAIN and
          count_log(qlog, "3.0.0.127.rbl.test") == 1, r)
    time.sleep(2.5)
    r = try_q(port, name)
    check("TTL 2 expired: asked again", rrs(r) == ["127.0.0.2"] and
          count_log(qlog, name) == 2, r)
    check("rbldnsd stopped", s2.stop() is not None)
    r = try_q(port, name)
    check("upstream down, within the TTL: the cached answer",
          rrs(r) == ["127.0.0.2"] and r.answer[0].ttl <= 2, r)
    time.sleep(2.5)
    r = try_q(port, name)
    check("upstream down, TTL past: the stale answer, TTL <= 30",
          rrs(r) == ["127.0.0.2"] and r.answer[0].ttl <= 30, r)
    sent = stats(rd.proc, log).get("upstream", {}).get("sent-udp")
    r = try_q(port, name)
    check("upstream backed off: stale at once, nothing sent",
          rrs(r) == ["127.0.0.2"] and r.answer[0].ttl <= 30 and
          stats(rd.proc, log).get("upstream", {}).get("sent-udp") == sent,
          r)
    r = try_q(port, "3.0.0.127.rbl.test")
    check("upstream down: the stale NXDOMAIN",
          rcode(r) == dns.rcode.NXDOMAIN, r)
    r = try_q(port, "4.0.0.127.rbl.test")
    check("upstream down, never seen: SERVFAIL",
          rcode(r) == dns.rcode.SERVFAIL, r)


def test_bound(d, port, rd, log):
    names = ["n%d.zen.spamhaus.test" % i for i in range(20000)]
    got = pipelined(port, names)
    check("20000 distinct names answered (%d)" % got, got >= 19000, got)
    st = stats(rd.proc, log).get("cache", {})
    check("cache under its 1 MiB bound (%s bytes)" % st.get("bytes"),
          0 < st.get("bytes", 0) <= 1 << 20 and
          st.get("max", 0) == 1 << 20, st)
    check("cache evicted old entries", st.get("evictions", 0) > 1000, st)


if __name__ == "__main__":
    sys.exit(main())
