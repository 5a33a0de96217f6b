#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The resolverd daemon around the answering code: config mode and rbldnsd
drop-in mode on 127.0.0.1 with a random port and a temp dir of its own.
Checks what does not depend on how answers are built: -h, -n with a good
and a bad config (file:line), start-up, privilege drop, UDP and TCP
answers, SIGHUP with a broken config (keeps serving), SIGHUP with a new
zone, re-import of a changed file within one -c interval, a failed
re-import keeping the old data, query log and stats file formats, SIGTERM
exit 0.  Operations: the privilege drop read back from /proc (ids, groups,
capabilities), a chroot, systemd notifications received on a Python
socket (path and abstract), SIGUSR1/SIGUSR2 statistics in rbldnsd's
words, restarts that read no unchanged file and drop zones no longer
given, -v/-vv/-nv.  Every process is started and stopped by its PID.

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
import dns.rdataclass
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

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
    port = rdtest.free_port()
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "ip2.txt"), "127.0.0.2\n")
    good = os.path.join(d, "good.conf")
    write(good, config_text(port, d, [("bl.test", ["ip4set:ip.txt"])]))
    p = subprocess.run([RD, "-n", "-c", good], capture_output=True,
                       text=True)
    check("config -n good: exit 0", p.returncode == 0, p)
    if ROOT:
        # -n reads the files as the user the daemon will read them as
        secret = os.path.join(d, "secret.txt")
        with open(secret, "w") as f:
            f.write("127.0.0.2\n")
        os.chmod(secret, 0o600)
        sc = os.path.join(d, "secret.conf")
        write(sc, config_text(port, d, [("bl.test", ["ip4set:" + secret])]))
        p = subprocess.run([RD, "-n", "-c", sc], capture_output=True,
                           text=True)
        check("config -n: a file user nobody cannot read is an error",
              p.returncode == 1 and "secret.txt" in p.stderr and
              "Permission denied (as uid" in p.stderr,
              (p.returncode, p.stderr))

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
            check_privileges("config mode", srv.p.pid)

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
    port = rdtest.free_port()
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
            check_privileges("drop-in", srv.p.pid)

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


def proc_status(pid, tid=None):
    path = "/proc/%d/status" % pid if tid is None else \
        "/proc/%d/task/%d/status" % (pid, tid)
    st = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()
    return st


def check_privileges(what, pid):
    """Every thread: all four uids and gids the server user's, no
    supplementary group but its own, no capability (effective, permitted,
    ambient, bounding), no new privileges through exec."""
    nobody = pwd.getpwnam("nobody")
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    bad = []
    for tid in tids:
        st = proc_status(pid, tid)
        uids = [int(x) for x in st["Uid"]]
        gids = [int(x) for x in st["Gid"]]
        groups = [int(x) for x in st.get("Groups", [])]
        caps = {k: int(st[k][0], 16) for k in
                ("CapEff", "CapPrm", "CapAmb", "CapInh", "CapBnd")}
        if uids != [nobody.pw_uid] * 4 or gids != [nobody.pw_gid] * 4:
            bad.append((tid, "ids", uids, gids))
        if groups not in ([], [nobody.pw_gid]):
            bad.append((tid, "groups", groups))
        if any(caps[k] for k in ("CapEff", "CapPrm", "CapAmb", "CapInh")):
            bad.append((tid, "caps", caps))
        if caps["CapBnd"] != 0 or st["NoNewPrivs"] != ["1"]:
            bad.append((tid, "bounding/no_new_privs", caps, st["NoNewPrivs"]))
    check("%s: %d threads run as nobody, no groups, no capabilities" % (
        what, len(tids)), len(tids) >= 2 and not bad, bad)


def wait_log(srv, pattern, seconds=5, start=0):
    """The first match of pattern in the server's log after offset start."""
    found = []

    def look():
        m = re.search(pattern, srv.text()[start:], re.M)
        if m:
            found.append(m)
        return m is not None
    wait_for(look, seconds)
    return found[0] if found else None


def stats_lines(text):
    zone = re.findall(r"stats for (\d+)secs zone (\S+): tot=(\d+) ok=(\d+) "
                      r"nxd=(\d+) err=(\d+) in=(\d+) out=(\d+)$", text, re.M)
    glob = re.findall(r"stats for (\d+)sec: tot=(\d+) ok=(\d+) nxd=(\d+) "
                      r"err=(\d+) in=(\d+) out=(\d+)$", text, re.M)
    return zone, glob


def test_stats_signals(d):
    """SIGUSR1 logs the counters in rbldnsd's words; SIGUSR2 logs and
    resets them and writes a bare time line to the stats file."""
    port = rdtest.free_port()
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "dn.txt"), "bad.example\n")
    env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(d, "state"))
    argv = [RD, "-n", "-b", "127.0.0.1/%d" % port, "-c", "0",
            "-s", os.path.join(d, "stats")]
    if ROOT:
        argv += ["-u", "nobody"]
    argv += ["bl.test:ip4set:ip.txt", "dbl.test:dnset:dn.txt"]
    srv = Proc(argv, os.path.join(d, "stats.log"), env=env, cwd=d)
    try:
        if wait_answer(srv.p, port, "2.0.0.127.bl.test") is None:
            check("stats: server answers", False, srv.text())
            return
        query(port, "3.0.0.127.bl.test")          # NXDOMAIN
        query(port, "2.0.0.127.nowhere.test")     # REFUSED: global only
        time.sleep(1.3)                           # workers flush each second
        mark = len(srv.text())
        srv.signal(signal.SIGUSR1)
        ok = wait_log(srv, r"stats for \d+sec: ", start=mark)
        zone, glob = stats_lines(srv.text()[mark:])
        check("SIGUSR1: a line per zone and a global line",
              ok is not None and len(zone) == 2 and len(glob) == 1,
              srv.text()[mark:])
        if len(zone) != 2 or len(glob) != 1:
            return
        z = {x[1]: [int(v) for v in x[2:]] for x in zone}
        g = [int(v) for v in glob[0][1:]]
        check("SIGUSR1: bl.test tot=2 ok=1 nxd=1 err=0 (at least)",
              z["bl.test"][:4] == [2, 1, 1, 0] and z["bl.test"][4] > 0 and
              z["bl.test"][5] > 0, z)
        check("SIGUSR1: a zone without queries is listed with zeros",
              z["dbl.test"] == [0] * 6, z)
        check("SIGUSR1: global counts the refused query as err",
              g[0] == 3 and g[1] == 1 and g[2] == 1 and g[3] == 1, g)
        # the order of rbldnsd: zones, then the global line
        tail = srv.text()[mark:]
        check("SIGUSR1: zones first, global last",
              tail.index("zone bl.test") < tail.index("sec: tot="), tail)

        mark = len(srv.text())
        srv.signal(signal.SIGUSR2)
        ok = wait_log(srv, r"stats for \d+sec: ", start=mark)
        zone, glob = stats_lines(srv.text()[mark:])
        check("SIGUSR2: logs the counters before resetting them",
              ok is not None and len(glob) == 1 and glob[0][1] == "3",
              srv.text()[mark:])
        mark = len(srv.text())
        srv.signal(signal.SIGUSR1)
        ok = wait_log(srv, r"stats for \d+sec: ", start=mark)
        zone, glob = stats_lines(srv.text()[mark:])
        check("after SIGUSR2 the counters start from zero",
              ok is not None and len(glob) == 1 and glob[0][1] == "0" and
              all(x[2] == "0" for x in zone), srv.text()[mark:])
        with open(os.path.join(d, "stats")) as f:
            lines = f.read().splitlines()
        check("SIGUSR2: a bare time line in the stats file",
              len(lines) >= 2 and re.fullmatch(r"\d+", lines[-1]), lines)
        mark = len(srv.text())
    finally:
        rc = srv.stop()
    zone, glob = stats_lines(srv.text()[mark:])
    check("exit: the counters are logged", rc == 0 and len(glob) == 1,
          srv.text()[mark:])


class Notify:
    """The systemd side of sd_notify: a datagram socket we read."""

    def __init__(self, d, abstract):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "resolverd-test-%d-%d" % (os.getpid(), time.time_ns())
            self.s.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(d, "notify.sock")
            self.s.bind(self.env)
        self.msgs = []

    def wait(self, want, seconds=20):
        """The first message holding the line want, within seconds."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                m = self.s.recv(4096).decode()
            except socket.timeout:
                break
            self.msgs.append(m)
            if want in m.split("\n"):
                return m
        return None

    def close(self):
        self.s.close()


def test_notify(d, abstract):
    what = "notify (%s socket)" % ("abstract" if abstract else "path")
    n = Notify(d, abstract)
    port = rdtest.free_port()
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "n.conf"),
          config_text(port, d, [("bl.test", ["ip4set:ip.txt"])]))
    env = dict(os.environ, NOTIFY_SOCKET=n.env)
    srv = Proc([RD, "-d", "-c", os.path.join(d, "n.conf")],
               os.path.join(d, "notify.log"), env=env)
    try:
        m = n.wait("READY=1")
        check("%s: READY=1 after start" % what, m is not None,
              (n.msgs, srv.text()))
        if m is None:
            return
        r = query(port, "2.0.0.127.bl.test", timeout=1)
        check("%s: serving when READY=1 arrives" % what, listed(r), r)
        check("%s: a STATUS line" % what, "STATUS=serving 1 datasets" in
              m.split("\n"), m)
        srv.signal(signal.SIGHUP)
        m = n.wait("RELOADING=1", 10)
        check("%s: SIGHUP sends RELOADING=1 with MONOTONIC_USEC" % what,
              m is not None and re.search(r"^MONOTONIC_USEC=\d+$", m, re.M),
              n.msgs)
        check("%s: then READY=1 again" % what, n.wait("READY=1", 10)
              is not None, n.msgs)
        srv.signal(signal.SIGTERM)
        check("%s: SIGTERM sends STOPPING=1" % what,
              n.wait("STOPPING=1", 10) is not None, n.msgs)
        srv.p.wait(10)
    finally:
        rc = srv.stop()
        n.close()
    check("%s: exit 0" % what, rc == 0, (rc, srv.text()))


def test_restart(d):
    """A restart with unchanged files reads none of them and answers at
    once; one with fewer zones drops the others in place."""
    state = os.path.join(d, "state")
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "dn.txt"), "bad.example\n")
    env = dict(os.environ, RESOLVERD_STATEDIR=state)
    specs = ["bl.test:ip4set:ip.txt", "dbl.test:dnset:dn.txt"]

    def start(port, specs, log):
        argv = [RD, "-n", "-b", "127.0.0.1/%d" % port, "-c", "0"]
        if ROOT:
            argv += ["-u", "nobody"]
        return Proc(argv + specs, os.path.join(d, log), env=env, cwd=d)

    port = rdtest.free_port()
    srv = start(port, specs, "r1.log")
    r = wait_answer(srv.p, port, "bad.example.dbl.test")
    check("restart: first start answers", listed(r), srv.text())
    srv.stop()
    ino = os.stat(os.path.join(state, "data.mdb")).st_ino

    port = rdtest.free_port()
    t0 = time.monotonic()
    srv = start(port, specs, "r2.log")
    r = wait_answer(srv.p, port, "2.0.0.127.bl.test")
    t = time.monotonic() - t0
    print("     restart to first answer: %.3fs" % t)
    try:
        check("restart: answers", listed(r), srv.text())
        ok = wait_log(srv, r"zones up to date: 2 datasets unchanged")
        check("restart: nothing read again, nothing written",
              ok is not None and "entries," not in srv.text() and
              "zones reloaded" not in srv.text(), srv.text())
        # a file changed while we were down is read at the next start
    finally:
        srv.stop()
    write(os.path.join(d, "dn.txt"), "bad.example\nworse.example\n")
    port = rdtest.free_port()
    srv = start(port, specs, "r3.log")
    try:
        # with every zone stored it answers at once, from the old data,
        # and imports the changed file meanwhile: wait for the new data
        r = wait_answer(srv.p, port, "worse.example.dbl.test")
        end = time.monotonic() + 5
        while not listed(r) and time.monotonic() < end:
            time.sleep(0.05)
            r = wait_answer(srv.p, port, "worse.example.dbl.test", 1)
        ok = wait_log(srv, r"zones reloaded")
        check("restart: only the changed file is read",
              listed(r) and ok is not None and
              "dnset:dn.txt: 2 entries" in srv.text() and
              "ip4set:ip.txt:" not in srv.text(), srv.text())
    finally:
        srv.stop()

    # fewer zones: the others are dropped from the database in place
    port = rdtest.free_port()
    srv = start(port, specs[:1], "r4.log")
    try:
        wait_answer(srv.p, port, "2.0.0.127.bl.test")
        ok = wait_log(srv, r"1 zones no longer configured: dropped")
        check("restart with fewer zones: the other is dropped", ok
              is not None and lookup(state, "bad.example.dbl.test")
              == "nozone", srv.text())
        check("restart with fewer zones: the database is not rebuilt",
              os.stat(os.path.join(state, "data.mdb")).st_ino == ino)
        r = query(port, "bad.example.dbl.test")
        check("restart with fewer zones: REFUSED for the dropped zone",
              r.rcode() == dns.rcode.REFUSED, r)
        check("restart with fewer zones: the kept zone answers",
              listed(query(port, "2.0.0.127.bl.test")))
    finally:
        srv.stop()


def test_config_drop_zone(d):
    """SIGHUP with a zone gone from the configuration drops it."""
    port = rdtest.free_port()
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "ip2.txt"), "127.0.0.2\n")
    conf = os.path.join(d, "drop.conf")
    write(conf, config_text(port, d, [("bl.test", ["ip4set:ip.txt"]),
                                      ("two.test", ["ip4set:ip2.txt"])]))
    srv = Proc([RD, "-d", "-c", conf], os.path.join(d, "cfgdrop.log"))
    try:
        r = wait_answer(srv.p, port, "2.0.0.127.two.test")
        check("config: two zones served", listed(r), srv.text())
        write(conf, config_text(port, d, [("bl.test", ["ip4set:ip.txt"])]))
        srv.signal(signal.SIGHUP)
        ok = wait_log(srv, r"1 zones no longer configured: dropped", 10)
        check("SIGHUP without a zone drops it", ok is not None and
              lookup(os.path.join(d, "db"), "2.0.0.127.two.test") ==
              "nozone", srv.text())
        r = query(port, "2.0.0.127.two.test")
        check("dropped zone: REFUSED", r.rcode() == dns.rcode.REFUSED, r)
        check("the other zone still answers",
              listed(query(port, "2.0.0.127.bl.test")))
        out = subprocess.run([ZT, "dump", "-d", os.path.join(d, "db")],
                             capture_output=True, text=True).stdout
        check("its dataset is gone from the database",
              "ip2.txt" not in out and "ip.txt" in out, out)
    finally:
        srv.stop()


def test_chroot(d):
    """-r: everything after the privilege drop happens inside the chroot:
    zone files, the database, re-imports."""
    root = os.path.join(d, "root")
    zdir = os.path.join(root, "zones")
    os.makedirs(zdir)
    os.chmod(root, 0o755)
    os.chmod(zdir, 0o755)
    nobody = pwd.getpwnam("nobody")
    os.chown(zdir, nobody.pw_uid, nobody.pw_gid)
    write(os.path.join(zdir, "ip.txt"), IP1)
    port = rdtest.free_port()
    env = dict(os.environ)
    env.pop("RESOLVERD_STATEDIR", None)
    # LeakSanitizer (the ASan build) needs /proc at exit: not in a chroot
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    argv = [RD, "-n", "-u", "nobody", "-r", root, "-w", "/zones",
            "-b", "127.0.0.1/%d" % port, "-c", "1", "bl.test:ip4set:ip.txt"]
    srv = Proc(argv, os.path.join(d, "chroot.log"), env=env, cwd=d)
    try:
        r = wait_answer(srv.p, port, "2.0.0.127.bl.test")
        check("chroot: answers", listed(r), srv.text())
        if r is None:
            return
        check("chroot: the process root is the chroot",
              os.readlink("/proc/%d/root" % srv.p.pid) == root)
        check("chroot: the database is inside it", os.path.exists(
            os.path.join(zdir, ".resolverd-db", "data.mdb")))
        check_privileges("chroot", srv.p.pid)
        write(os.path.join(zdir, "ip.txt"), IP1 + "192.0.2.9\n")
        ok = wait_for(lambda: listed(query(port, "9.2.0.192.bl.test")), 5)
        check("chroot: a changed file is re-imported", ok, srv.text())
        check("chroot: no warnings", "resolverd: " in srv.text() and
              not re.search(r"(?i)warn|denied|no such|cannot", srv.text()),
              srv.text())
    finally:
        rc = srv.stop()
    check("chroot: SIGTERM exits 0", rc == 0, (rc, srv.text()))


def version_rcode(port):
    q = dns.message.make_query("version.bind", "TXT",
                               rdclass=dns.rdataclass.CH)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
    txt = [t.to_text() for rs in r.answer for t in rs]
    return r.rcode(), txt


def test_version_flags(d):
    write(os.path.join(d, "ip.txt"), IP1)
    for flags, want in ((["-n"], (dns.rcode.REFUSED, [])),
                        (["-nv"], (dns.rcode.NOERROR, ['"rbldnsd"'])),
                        (["-n", "-v", "-v"], (dns.rcode.REFUSED, []))):
        port = rdtest.free_port()
        env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(d, "vstate"))
        argv = [RD] + flags + ["-b", "127.0.0.1/%d" % port]
        if ROOT:
            argv += ["-u", "nobody"]
        srv = Proc(argv + ["bl.test:ip4set:ip.txt"],
                   os.path.join(d, "version.log"), env=env, cwd=d)
        try:
            wait_answer(srv.p, port, "2.0.0.127.bl.test")
            got = version_rcode(port)
            check("version.bind with %s: %s" % (" ".join(flags), want),
                  got == want, (got, srv.text()))
        finally:
            srv.stop()


def test_dump(d):
    """-d prints the zones in BIND format and exits, binding nothing and
    touching no state directory."""
    write(os.path.join(d, "s.txt"),
          "$SOA 3600 ns1.bl.test hm.bl.test 5 600 300 86400 60\n"
          "$NS 3600 ns1.bl.test ns2.bl.test\n:127.0.0.2:Listed $\n"
          "127.0.0.2\n127.0.0.9 :3:other\n10.0.0.0/24\n")
    write(os.path.join(d, "d.txt"),
          "bad.example\n*.wild.example :4:w $\n!good.wild.example\n")
    write(os.path.join(d, "r.txt"), "$TTL 300\n10.0.0.0/8 :5:ten $\n"
          "!10.1.0.0/16\n1.2.0.0/23\n")
    write(os.path.join(d, "g.txt"), "@ A 192.0.2.1\n@ MX 10 mx.bl.test\n"
          "www TXT \"hi\"\n")
    write(os.path.join(d, "six.txt"), "2001:db8::/32 :2:six $\n")
    state = os.path.join(d, "nostate")
    env = dict(os.environ, RESOLVERD_STATEDIR=state)
    simple = ["a.test:ip4set:s.txt", "b.test:dnset:d.txt"]
    p = subprocess.run([RD, "-d"] + simple, capture_output=True, text=True,
                       cwd=d, env=env, timeout=60)
    check("-d: exit 0", p.returncode == 0, p.stderr)
    body = p.stdout.splitlines()
    check("-d: rbldnsd's header", len(body) > 2 and
          body[0].startswith("; zone dump made ") and
          body[1].startswith("; resolverd "), body[:3])
    check("-d: no state directory", not os.path.exists(state))
    if os.path.exists("/usr/sbin/rbldnsd"):
        rb = subprocess.run(["/usr/sbin/rbldnsd", "-d"] + simple,
                            capture_output=True, text=True, cwd=d,
                            timeout=60)
        # the same lines; names may come in another order
        check("-d: the same records as rbldnsd -d",
              sorted(rb.stdout.splitlines()[2:]) == sorted(body[2:]),
              (rb.stdout, p.stdout))
    p = subprocess.run([RD, "-d", "-t", "35m", "r.test:ip4set:r.txt",
                        "r.test:generic:g.txt", "six.test:ip6trie:six.txt"],
                       capture_output=True, text=True, cwd=d, env=env,
                       timeout=60)
    out = p.stdout
    check("-d ranges: exit 0", p.returncode == 0, p.stderr)
    check("-d ranges: a /8 around a /16 hole is the /16s beside it",
          "*.0.10\tA\t127.0.0.5\n\tTXT\t\"ten 10.0.0.0\"\n" in out and
          "*.2.10\tA\t127.0.0.5\n\tTXT\t\"ten 10.2.0.0\"\n" in out and
          "*.1.10\t" not in out and "*.10\t" not in out, out[:600])
    check("-d ranges: a /23 is two /24 wildcards",
          "*.0.2.1\tA\t127.0.0.2\n" in out and "*.1.2.1\tA\t127.0.0.2\n"
          in out, out[-800:])
    check("-d ranges: $TTL of the dataset, -t for the others",
          "$TTL 300\n" in out and "$TTL 2100\n" in out)
    check("-d ranges: generic records",
          "@\t2100\tA\t192.0.2.1\n" in out and
          "@\t2100\tMX\t10\tmx.bl.test.\n" in out and
          "www\t2100\tTXT\t\"hi\"\n" in out, out[-800:])
    check("-d ranges: IPv6 as nibbles",
          "$ORIGIN\tsix.test.\n" in out and
          "*.8.b.d.0.1.0.0.2\tA\t127.0.0.2\n\tTXT\t\"six 2001:db8::\"\n"
          in out, out[-400:])
    if shutil.which("ldns-read-zone"):
        path = os.path.join(d, "dump.zone")
        write(path, out)
        z = subprocess.run(["ldns-read-zone", "-z", path],
                           capture_output=True, text=True)
        check("-d: ldns-read-zone reads the dump", z.returncode == 0,
              z.stderr)
    p = subprocess.run([RD, "-d", "a.test:ip4set:nosuch.txt"],
                       capture_output=True, text=True, cwd=d, env=env,
                       timeout=60)
    check("-d with a missing file: exit 1, nothing on stdout",
          p.returncode == 1 and p.stdout == "" and
          "nosuch.txt: No such file or directory" in p.stderr and
          "zone loading errors, aborting" in p.stderr, p)


def subdir(d, name):
    p = os.path.join(d, name)
    os.mkdir(p)
    os.chmod(p, 0o755)
    if ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    return p


def test_watch(d):
    """With -c 600 the periodic check never runs during the test: a
    change is seen because resolverd watches the files (inotify)."""
    port = rdtest.free_port()
    state = os.path.join(d, "state")
    os.makedirs(os.path.join(d, "sub"))
    if ROOT:
        nobody = pwd.getpwnam("nobody")
        os.chown(os.path.join(d, "sub"), nobody.pw_uid, nobody.pw_gid)
    write(os.path.join(d, "ip.txt"), IP1)
    write(os.path.join(d, "sub", "dn.txt"), "bad.example\n")
    env = dict(os.environ, RESOLVERD_STATEDIR=state)
    argv = [RD, "-n", "-b", "127.0.0.1/%d" % port, "-c", "600"]
    if ROOT:
        argv += ["-u", "nobody"]
    argv += ["bl.test:ip4set:ip.txt", "dbl.test:dnset:sub/dn.txt"]
    srv = Proc(argv, os.path.join(d, "watch.log"), env=env, cwd=d)
    try:
        r = wait_answer(srv.p, port, "2.0.0.127.bl.test")
        check("watch: starts and answers", listed(r), srv.text())
        if r is None:
            return

        def ask(name):
            try:
                return query(port, name, timeout=0.5)
            except Exception:
                return None

        def served(name, seconds=3):
            t0 = time.monotonic()
            ok = wait_for(lambda: listed(ask(name)), seconds)
            print("     %s served after %.2fs" % (name,
                                                  time.monotonic() - t0))
            return ok

        # renamed into place (rsync, the test's write())
        write(os.path.join(d, "ip.txt"), IP1 + "192.0.2.8\n")
        check("watch: a file renamed into place is served at once",
              served("8.2.0.192.bl.test"), srv.text())
        # rewritten in place: seen when the writer closes it
        with open(os.path.join(d, "sub", "dn.txt"), "a") as f:
            f.write("new.example\n")
        check("watch: a file written in place (subdirectory) is served "
              "once closed", served("new.example.dbl.test"), srv.text())
        # other files in the watched directories start no import
        n0 = srv.text().count("zones reloaded")
        for i in range(5):
            with open(os.path.join(d, "other-%d.txt" % i), "w") as f:
                f.write("x\n")
        time.sleep(1.0)
        check("watch: other files in the directory are ignored",
              srv.text().count("zones reloaded") == n0, srv.text())
        # a burst of writes: one import once it settles
        for i in range(5):
            write(os.path.join(d, "ip.txt"),
                  IP1 + "".join("192.0.2.%d\n" % (20 + j)
                                for j in range(i + 1)))
        check("watch: the last of a burst of writes is served",
              served("24.2.0.192.bl.test"), srv.text())
        check("watch: a burst of writes is one or two imports",
              srv.text().count("zones reloaded") - n0 <= 2, srv.text())
        check("watch: still running", srv.p.poll() is None)
    finally:
        rc = srv.stop()
    check("watch: SIGTERM exits 0", rc == 0, (rc, srv.text()))


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
        test_watch(subdir(d, "watch"))
        test_stats_signals(subdir(d, "stats"))
        test_notify(subdir(d, "notify-path"), False)
        test_notify(subdir(d, "notify-abstract"), True)
        test_restart(subdir(d, "restart"))
        test_config_drop_zone(subdir(d, "cfgdrop"))
        test_version_flags(subdir(d, "version"))
        test_dump(subdir(d, "dump"))
        if ROOT:
            test_chroot(subdir(d, "chroot"))
        else:
            print("skip chroot: not root")
    finally:
        if failed:
            for dp, _, fs in os.walk(d):
                for n in fs:
                    if n.endswith(".log"):
                        print("--- %s" % os.path.join(dp, n))
                        print(open(os.path.join(dp, n)).read()[-3000:])
        shutil.rmtree(d, ignore_errors=True)
    print("%d checks, %d failed" % (count, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
