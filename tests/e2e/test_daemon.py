#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The resolverd daemon around the answering code: config mode and rbldnsd
drop-in mode on 127.0.0.1 with a random port and a temp dir of its own.
Checks what does not depend on how answers are built: -h, -n with a good
and a bad config (file:line), start-up, privilege drop, UDP and TCP
answers, SIGHUP with a broken config (keeps serving), SIGHUP with a new
zone, re-import of a changed file within one -c interval, a failed
re-import keeping the old data, query log and stats file formats, SIGTERM
exit 0.  Every process is started and stopped by its PID.

usage: test_daemon.py RESOLVERD ZONETOOL
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode

RD, ZT = sys.argv[1], sys.argv[2]
ROOT = os.geteuid() == 0
failed = []
count = 0


def check(name, cond, detail=""):
    global count
    count += 1
    print(("ok   " if cond else "FAIL ") + name +
          ("" if cond else " %r" % (detail,)), flush=True)
    if not cond:
        failed.append(name)


def free_port():
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            if port > 1024:
                return port
        except OSError:
            pass
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.rename(path + ".tmp", path)  # atomic, as rbldnsd wants


def query(port, name, rdtype="A", tcp=False, timeout=1.0):
    q = dns.message.make_query(name, rdtype)
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, "127.0.0.1", port=port, timeout=timeout)


def wait_answer(proc, port, name, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return None
        try:
            return query(port, name, timeout=0.2)
        except Exception:
            time.sleep(0.05)
    return None


def listed(r):
    return r is not None and r.rcode() == dns.rcode.NOERROR and any(
        rr.rdtype == 1 for rs in r.answer for rr in rs)


def lookup(statedir, name):
    """zonetool's view of the database: 'listed', 'not listed', ..."""
    p = subprocess.run([ZT, "lookup", "-d", statedir, name],
                       capture_output=True, text=True, timeout=30)
    m = re.search(r"^result (.*)$", p.stdout, re.M)
    return m.group(1) if m else p.stdout + p.stderr


def wait_for(fn, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.1)
    return fn()


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return None


class Proc:
    def __init__(self, argv, log, env=None, cwd=None):
        self.logpath = log
        self.log = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self.log,
                                  stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.log.close()
        return self.p.returncode

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath) as f:
            return f.read()


IP1 = """$SOA 3600 ns1.bl.test hostmaster.bl.test 0 600 300 86400 60
$NS 3600 ns1.bl.test
127.0.0.2 :2:listed
10.0.0.0/8
"""


def test_cli(d):
    p = subprocess.run([RD, "-h"], capture_output=True, text=True)
    check("-h exits 0", p.returncode == 0, p.returncode)
    check("-h lists dataset types", "ip4set" in p.stdout and
          "dnset" in p.stdout, p.stdout)
    p = subprocess.run([RD, "-b", "127.0.0.1/5353"], capture_output=True,
                       text=True)
    check("drop-in without zones: usage error", p.returncode == 2, p)
    p = subprocess.run([RD, "-b", "127.0.0.1/1", "-Z", "x:ip4set:f"],
                       capture_output=True, text=True)
    check("drop-in unknown option: usage error", p.returncode == 2, p)
    p = subprocess.run([RD], capture_output=True, text=True)
    check("no arguments: usage error", p.returncode == 2, p)


def config_text(port, d, zones, extra=""):
    s = "; resolverd e2e\n[server]\nlisten = 127.0.0.1@%d\nthreads = 2\n" \
        "database = %s\nttl = 35m:1m:1d\nedns-size = 1232\n" \
        "check-interval = 1s\nquery-log = %s\n" % (
            port, os.path.join(d, "db"), os.path.join(d, "query.log"))
    if ROOT:
        s += "user = nobody\n"
    s += extra
    for z, ds in zones:
        s += "\n[zone %s]\n" % z
        for x in ds:
            s += "dataset = %s\n" % x
    return s


def test_config_mode(d):
    port = free_port()
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "ip2.txt"), "127.0.0.2\n")
    good = os.path.join(d, "good.conf")
    write(good, config_text(port, d, [("bl.test", ["ip4set:ip.txt"])]))
    p = subprocess.run([RD, "-n", "-c", good], capture_output=True,
                       text=True)
    check("config -n good: exit 0", p.returncode == 0, p)

    bad = os.path.join(d, "bad.conf")
    for n, (text, line, field) in enumerate((
            ("[server]\nlisten = 127.0.0.1@%d\nthreds = 2\n" % port,
             3, "threds"),
            ("[server]\nlisten = 127.0.0.1@%d\n\nttl = 5x\n" % port,
             4, "ttl"),
            ("[server]\nlisten = 127.0.0.1@%d\n[zone a.test]\n"
             "dataset = nosuchtype:x\n" % port, 4, "dataset"),
            ("[server]\nlisten = no.such.host.invalid@53\n", 2, "listen"),
            ("[server]\nedns-size = 100\n", 2, "edns-size"),
            ("[bogus]\nx = 1\n", 2, "bogus"))):
        write(bad, text)
        p = subprocess.run([RD, "-n", "-c", bad], capture_output=True,
                           text=True)
        want = "%s:%d:" % (bad, line)
        check("config -n bad %d: exit 1 naming %s and %s" % (n, want, field),
              p.returncode == 1 and want in p.stderr and field in p.stderr,
              (p.returncode, p.stderr))

    srv = Proc([RD, "-d", "-c", good], os.path.join(d, "cfg.log"))
    try:
        r = wait_answer(srv.p, port, "2.0.0.127.bl.test")
        check("config mode: answers over UDP", r is not None, srv.text())
        if r is None:
            return
        check("config mode: listed entry answered", listed(r), r)
        try:
            rt = query(port, "2.0.0.127.bl.test", tcp=True)
        except Exception as e:
            rt = e
        check("config mode: answers over TCP",
              isinstance(rt, dns.message.Message), rt)
        if ROOT:
            uids = uid_of(srv.p.pid)
            check("privileges dropped (no uid 0)",
                  uids is not None and 0 not in uids, uids)

        # a broken config: logged, the old one keeps serving
        write(good, "[server]\nlisten = 127.0.0.1@%d\nthreads = lots\n"
              % port)
        srv.signal(signal.SIGHUP)
        ok = wait_for(lambda: "keeping the old configuration" in srv.text(),
                      5)
        check("SIGHUP with a broken config is reported", ok, srv.text())
        check("reported with file:line",
              "good.conf:3: threads" in srv.text(), srv.text())
        check("still running after a broken reload", srv.p.poll() is None)
        check("still answers after a broken reload",
              listed(wait_answer(srv.p, port, "2.0.0.127.bl.test", 5)))

        # a good config with a new zone
        write(good, config_text(port, d, [("bl.test", ["ip4set:ip.txt"]),
                                          ("two.test", ["ip4set:ip2.txt"])]))
        srv.signal(signal.SIGHUP)
        ok = wait_for(lambda: lookup(os.path.join(d, "db"),
                                     "2.0.0.127.two.test") == "listed", 10)
        check("SIGHUP with a new zone imports it", ok, srv.text())
        r = wait_answer(srv.p, port, "2.0.0.127.two.test", 5)
        check("new zone answered over DNS", listed(r), r)

        # a changed file is re-imported within check-interval (1s)
        write(os.path.join(d, "ip.txt"), IP1 + "192.0.2.1\n")
        ok = wait_for(lambda: lookup(os.path.join(d, "db"),
                                     "1.2.0.192.bl.test") == "listed", 5)
        check("config mode: changed file re-imported", ok, srv.text())
        time.sleep(1.5)  # the query log is flushed every second
        with open(os.path.join(d, "query.log")) as f:
            ql = f.read()
        check("query log lines in rbldnsd's format", re.search(
            r"^\d+ 127\.0\.0\.1 2\.0\.0\.127\.bl\.test A IN: NOERROR/1/\d+$",
            ql, re.M) is not None, ql)
    finally:
        rc = srv.stop()
    check("config mode: SIGTERM exits 0", rc == 0, (rc, srv.text()))


def test_dropin(d):
    port = free_port()
    state = os.path.join(d, "state")
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "dn.txt"), "bad.example\n")
    env = dict(os.environ, RESOLVERD_STATEDIR=state)
    argv = [RD, "-n", "-b", "127.0.0.1/%d" % port, "-c", "1",
            "-t", "10m:1m:1h", "-e", "-A", "-f", "-C",
            "-l", "+" + os.path.join(d, "drop.qlog"),
            "-s", os.path.join(d, "drop.stats")]
    if ROOT:
        argv += ["-u", "nobody"]
    argv += ["bl.test:ip4set:ip.txt", "dbl.test:dnset:dn.txt"]
    srv = Proc(argv, os.path.join(d, "drop.log"), env=env, cwd=d)
    try:
        r = wait_answer(srv.p, port, "2.0.0.127.bl.test")
        check("drop-in: starts and answers", r is not None, srv.text())
        if r is None:
            return
        check("drop-in: listed entry answered", listed(r), r)
        check("drop-in: state dir holds the database",
              os.path.exists(os.path.join(state, "data.mdb")))
        check("drop-in: zonetool sees the zone",
              lookup(state, "2.0.0.127.bl.test") == "listed")
        if ROOT:
            uids = uid_of(srv.p.pid)
            check("drop-in: privileges dropped", uids is not None and
                  0 not in uids, uids)

        # change a file: re-imported within one -c interval (1 s)
        t0 = time.monotonic()
        write(os.path.join(d, "ip.txt"), IP1 + "192.0.2.7\n")
        ok = wait_for(lambda: lookup(state, "7.2.0.192.bl.test") == "listed",
                      4)
        check("drop-in: changed file re-imported within -c",
              ok, srv.text())
        print("     re-import visible after %.2fs" % (time.monotonic() - t0))
        r = wait_answer(srv.p, port, "7.2.0.192.bl.test", 3)
        check("drop-in: new entry answered over DNS", listed(r), r)

        # a file that disappears: the load fails, the old data stays
        os.unlink(os.path.join(d, "dn.txt"))
        ok = wait_for(lambda: "keeping the old data" in srv.text(), 5)
        check("drop-in: failed re-import is logged", ok, srv.text())
        check("drop-in: old data kept after a failed load",
              lookup(state, "bad.example.dbl.test") == "listed")
        check("drop-in: still running", srv.p.poll() is None)

        # SIGHUP re-checks files and reopens the query log
        os.rename(os.path.join(d, "drop.qlog"),
                  os.path.join(d, "drop.qlog.1"))
        srv.signal(signal.SIGHUP)
        time.sleep(0.5)
        query(port, "2.0.0.127.bl.test", "TXT")
        ok = wait_for(lambda: os.path.exists(os.path.join(d, "drop.qlog")),
                      3)
        check("drop-in: SIGHUP reopens the query log", ok)
        with open(os.path.join(d, "drop.qlog.1")) as f:
            ql = f.read()
        check("drop-in: query log format", re.search(
            r"^\d+ 127\.0\.0\.1 2\.0\.0\.127\.bl\.test A IN: NOERROR/1/\d+$",
            ql, re.M) is not None, ql)
        time.sleep(2.2)
    finally:
        rc = srv.stop()
    check("drop-in: SIGTERM exits 0", rc == 0, (rc, srv.text()))
    with open(os.path.join(d, "drop.stats")) as f:
        lines = f.read().splitlines()
    check("stats file: bare time line first",
          len(lines) > 0 and re.fullmatch(r"\d+", lines[0]), lines)
    stat_re = (r"\d+( [a-z0-9.]+:\d+:\d+:\d+:\d+:\d+)*"
               r" \*:\d+:\d+:\d+:\d+:\d+")
    check("stats file: rbldnsd's counter lines",
          any(re.fullmatch(stat_re, x) for x in lines), lines)
    check("stats file: per-zone counters",
          any(" bl.test:" in x for x in lines), lines)


def main():
    d = tempfile.mkdtemp(prefix="rd-daemon-")
    os.chmod(d, 0o755)
    if ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    try:
        test_cli(d)
        test_config_mode(d)
        test_dropin(d)
    finally:
        if failed:
            for n in ("cfg.log", "drop.log"):
                p = os.path.join(d, n)
                if os.path.exists(p):
                    print("--- %s" % n)
                    print(open(p).read()[-3000:])
        shutil.rmtree(d, ignore_errors=True)
    print("%d checks, %d failed" % (count, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
