#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Feed zones served by the daemon, and zonesync -c (issue 4).

resolverd runs from a config with a zone in mode = feed (two key = lines),
a files-from zone fetched from a real rsync daemon on 127.0.0.1 and a
plain mirror zone.  Before its first sync the feed zone answers SERVFAIL
(not REFUSED) and the daemon says so once; `zonesync -c` writes it and the
daemon answers v1 without a reload; v2 (signed with the second key) is
synced while a client queries in a loop: the answers switch to v2 and no
query fails or gets SERVFAIL/REFUSED.  The daemon's own imports (its
periodic check, SIGHUP) keep the zone; a zone removed from the config is
dropped with its feed state.  The files-from zone is fetched by rsync and
imported as a diff (+/- counts), after which the daemon's periodic check
does no work.  resolverd -n and zonesync -c refuse bad feed settings with
file:line: key: why.

usage: test_feed_daemon.py RESOLVERD ZONETOOL ZONESYNC
"""
import os
import pty
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import json
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rcode
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

RD, ZT, ZS = sys.argv[1], sys.argv[2], sys.argv[3]
check = rdtest.Checks()
procs = []


def run(argv, timeout=300):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout)


def stop(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


def start_rsyncd(d, path):
    srv, port = rdtest.rsyncd(d, {"zen": path})
    procs.append(srv.proc)
    return srv.proc, port


def ask(port, name, rdtype="A", timeout=1.0):
    q = dns.message.make_query(name, rdtype)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def rcode(port, name):
    try:
        return dns.rcode.to_text(ask(port, name).rcode())
    except Exception as e:  # a timeout is an answer here
        return "error " + type(e).__name__


def a_of(port, name):
    """(rcode, sorted A values)."""
    r = ask(port, name)
    vals = sorted(rr.address for rrs in r.answer for rr in rrs
                  if rrs.rdtype == 1)
    return dns.rcode.to_text(r.rcode()), vals


def healthz_state(hport, zone):
    """(HTTP status, the zone's state in /healthz or None)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % hport,
                                    timeout=5) as r:
            st, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        st, body = e.code, e.read().decode()
    for z in json.loads(body)["zones"]:
        if z["zone"] == zone:
            return st, z["state"]
    return st, None


def wait_for(fn, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def ip4set(path, value, addrs):
    write(path, ":%s:Listed $\n" % value +
          "".join("%s\n" % a for a in sorted(addrs)))


def main():
    d = tempfile.mkdtemp(prefix="rd-feedd-")
    # the daemon drops to an unprivileged user when started as root
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    try:
        body(d)
    except Exception as e:
        check("no exception", False, repr(e))
        log = os.path.join(d, "resolverd.log")
        if os.path.exists(log):
            print("--- resolverd.log:\n" + open(log).read()[-3000:])
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(d, ignore_errors=True)
    for f in check.failed:
        print("FAILED: " + f)
    sys.exit(check.done())


def bad_configs(d, port, J):
    """resolverd -n names file:line and the key; zonesync -c refuses too."""
    head = "[server]\nlisten = 127.0.0.1@%d\ndatabase = %s\n" % (
        port, J("baddb"))
    cases = [
        ("[zone a.test]\nmode = feed\nfeed = %s\nkey = %s\n"
         "dataset = ip4set:x.txt\n" % (J("feed"), J("k1.pub")), 5, "dataset"),
        ("[zone a.test]\nfeed = %s\ndataset = ip4set:%s\n" % (
            J("feed"), J("plain.txt")), 5, "feed: needs mode = feed"),
        ("[zone a.test]\nmode = feed\nfeed = %s\n" % J("feed"), 5,
         "key: mode = feed needs at least one"),
        ("[zone a.test]\nmode = feed\nkey = %s\n" % J("k1.pub"), 5,
         "feed: mode = feed needs one"),
        ("[zone a.test]\nmode = feed\nfeed = -e sh\nkey = %s\n"
         % J("k1.pub"), 6, "must not start with '-'"),
        ("[zone a.test]\ndataset = ip4set:%s\nfiles-from = %s\n"
         "feed = %s\n" % (J("plain.txt"), J("up"), J("feed")), 7,
         "given twice"),
        ("[zone a.test]\nmode = forward\nupstream = 127.0.0.1@53\n"
         "files-from = %s\n" % J("up"), 7, "files-from: the zone has no"),
        ("[zone a.test]\ndataset = ip4set:%s\ndataset = ip4set:%s\n"
         "files-from = %s\n" % (J("plain.txt"), J("sub", "plain.txt"),
                                J("up")), 6, "have the same name"),
        # -n only: the key file, the local feed directory
        ("[zone a.test]\nmode = feed\nfeed = %s\nkey = %s\n"
         % (J("feed"), J("nokey.pub")), 7, "key:"),
        ("[zone a.test]\nmode = feed\nfeed = %s\nkey = %s\n"
         % (J("nofeed"), J("k1.pub")), 6, "feed:"),
        ("[zone nothere.test]\nmode = feed\nfeed = %s\nkey = %s\n"
         % (J("feed"), J("k1.pub")), 6, "no directory nothere.test"),
    ]
    for i, (text, line, why) in enumerate(cases):
        conf = J("bad%d.conf" % i)
        write(conf, head + text)
        p = run([RD, "-n", "-c", conf])
        want = "%s:%d:" % (conf, line)
        check("-n bad feed config %d: exit 1, %s ... %s" % (i, want, why),
              p.returncode == 1 and want in p.stderr and why in p.stderr,
              (p.returncode, p.stderr))
        if i < 8:
            p = run([ZS, "-c", conf])
            check("zonesync -c bad config %d: exit 2 naming %s" % (i, want),
                  p.returncode == 2 and want in p.stderr,
                  (p.returncode, p.stderr))
    p = run([ZS, "-c", J("bad0.conf"), "-d", J("x")])
    check("zonesync -c with -d: usage error", p.returncode == 2 and
          "no -d or -k" in p.stderr, p.stderr)


def body(d):
    J = lambda *p: os.path.join(d, *p)
    port, hport = rdtest.free_port(), rdtest.free_port()
    for k in ("k1", "k2"):
        p = run([ZT, "keygen", "-p", J(k + ".pub"), "-s", J(k + ".sec")])
        check("keygen " + k, p.returncode == 0, p.stderr)

    # the feed zone: 100k entries; 10.0.0.1 listed in v1, 10.0.0.2 in v2
    feed, src = J("feed"), J("src.txt")
    os.mkdir(J("sub"))
    base = set()
    x = 0x0b000000
    while len(base) < 100000:
        x = (x * 1103515245 + 12345) & 0x7fffffff
        base.add("%d.%d.%d.%d" % (11 + (x >> 24) % 100, (x >> 16) & 255,
                                  (x >> 8) & 255, x & 255))
    v1 = base | {"10.0.0.1"}
    v2 = set(list(base)[1000:]) | {"10.0.0.2"}  # 1% changed
    ip4set(src, "127.0.0.2", v1)
    p = run([ZT, "publish", "-s", J("k1.sec"), "-o", feed,
             "bl.test:ip4set:" + src])
    check("publish v1", p.returncode == 0, p.stderr)

    # the files-from zone: the rsync module's directory holds the files
    up = J("up")
    os.mkdir(up)
    os.mkdir(J("files"))
    os.mkdir(J("files2"))
    sbl = ["192.0.2.%d" % i for i in range(1, 101, 2)]  # no ranges
    ip4set(os.path.join(up, "sbl.txt"), "127.0.0.4", sbl)
    write(os.path.join(up, "pbl.txt"), ":127.0.0.10:PBL $\n198.51.100.0/24\n")
    rp, rport = start_rsyncd(d, up)
    write(J("plain.txt"), ":127.0.0.9:plain\n203.0.113.9\n")
    write(J("sub", "plain.txt"), "203.0.113.8\n")

    bad_configs(d, port, J)

    conf = J("resolverd.conf")
    text = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 2\n"
            "database = %s\ncheck-interval = 1s\nhttp = 127.0.0.1@%d\n%s\n"
            "[zone bl.test]\nmode = feed\nfeed = feed\n"
            "key = k1.pub\nkey = k2.pub\n\n"
            "[zone zen.test]\ndataset = ip4set:files/sbl.txt\n"
            "dataset = ip4set:files/pbl.txt\n"
            "files-from = rsync://127.0.0.1:%d/zen\n\n"
            "[zone local.test]\ndataset = ip4set:files2/pbl.txt\n"
            "files-from = up\n\n"
            "[zone plain.test]\ndataset = ip4set:plain.txt\n"
            % (port, J("db"), hport, "user = nobody\n" if os.geteuid() == 0
               else "", rport))
    write(conf, text)
    p = run([RD, "-n", "-c", conf])
    check("resolverd -n accepts the feed config", p.returncode == 0,
          p.stderr)

    log = J("resolverd.log")
    logf = open(log, "w")
    srv = subprocess.Popen([RD, "-d", "-c", conf], stdout=logf,
                           stderr=subprocess.STDOUT)
    procs.append(srv)
    ok = wait_for(lambda: rcode(port, "9.113.0.203.plain.test") ==
                  "NOERROR")
    check("daemon up, plain zone answers", ok)
    check("feed zone before its first sync: SERVFAIL",
          rcode(port, rev("10.0.0.1") + ".bl.test") == "SERVFAIL")
    check("feed zone apex before its first sync: SERVFAIL",
          rcode(port, "bl.test") == "SERVFAIL")
    check("outside every zone: still REFUSED",
          rcode(port, "1.0.0.10.other.test") == "REFUSED")
    # files-from zones never fetched: like a never-synced feed zone
    check("files-from zone (rsync) before its first fetch: SERVFAIL",
          rcode(port, rev("192.0.2.7") + ".zen.test") == "SERVFAIL")
    check("files-from zone (directory) before its first fetch: SERVFAIL",
          rcode(port, rev("198.51.100.3") + ".local.test") == "SERVFAIL")
    check("files-from zone apex before its first fetch: SERVFAIL",
          rcode(port, "zen.test") == "SERVFAIL")
    for z in ("bl.test", "zen.test", "local.test"):
        st = healthz_state(hport, z)
        check("/healthz before the first sync: %s never-synced, 503" % z,
              st == (503, "never-synced"), st)
    time.sleep(1.5)  # a periodic check or two
    lg = open(log).read()
    check("never-synced feed zone logged once",
          lg.count("zone bl.test: mode = feed, never synced") == 1, lg)

    # first zonesync -c: the snapshot, and the files via rsync
    t0 = time.monotonic()
    p = run([ZS, "-c", conf])
    check("zonesync -c: exit 0", p.returncode == 0, p.stdout + p.stderr)
    check("zonesync -c: bl.test 0 -> 1 (snapshot)",
          "bl.test: 0 -> 1 (snapshot)" in p.stdout, p.stdout)
    m = re.search(r"zen\.test: files imported, \+(\d+) -(\d+)", p.stdout)
    check("zonesync -c: zen.test files imported with +/- counts",
          m is not None and int(m.group(1)) > 0 and int(m.group(2)) == 0,
          p.stdout)
    print("  " + p.stdout.strip().replace("\n", "\n  "))
    got = wait_for(lambda: a_of(port, rev("10.0.0.1") + ".bl.test")[1] ==
                   ["127.0.0.2"], 5)
    check("feed zone answers v1 without a reload (%.2fs)" %
          (time.monotonic() - t0), got)
    check("v1: 10.0.0.2 not listed",
          a_of(port, rev("10.0.0.2") + ".bl.test")[0] == "NXDOMAIN")
    check("/healthz after the first sync: zen.test, bl.test not "
          "never-synced",
          wait_for(lambda: healthz_state(hport, "zen.test")[1] not in
                   (None, "never-synced") and
                   healthz_state(hport, "bl.test")[1] not in
                   (None, "never-synced"), 5),
          (healthz_state(hport, "zen.test"), healthz_state(hport, "bl.test")))
    check("files-from zone answers",
          a_of(port, rev("192.0.2.7") + ".zen.test")[1] == ["127.0.0.4"] and
          a_of(port, rev("198.51.100.3") + ".zen.test")[1] ==
          ["127.0.0.10"])
    check("files-from a local directory (rsync too)",
          "local.test: files imported, +1 -0" in p.stdout and
          a_of(port, rev("198.51.100.3") + ".local.test")[1] ==
          ["127.0.0.10"], p.stdout)
    check("the dataset files were renamed into place",
          open(J("files", "sbl.txt")).read() ==
          open(os.path.join(up, "sbl.txt")).read())
    check("no temporary directory left next to them",
          not [f for f in os.listdir(J("files")) if f.startswith(".")],
          os.listdir(J("files")))

    # the daemon's periodic check finds zonesync's files unchanged
    time.sleep(2.5)
    lg = open(log).read()
    n_reload = lg.count("zones reloaded")
    time.sleep(2.5)
    lg = open(log).read()
    check("daemon's periodic check does no work after zonesync -c",
          lg.count("zones reloaded") == n_reload and
          "no longer configured" not in lg, lg[-2000:])
    p = run([ZS, "-c", conf])
    check("zonesync -c again: both current", p.returncode == 0 and
          "bl.test: 1 current" in p.stdout and
          "zen.test: files current" in p.stdout, p.stdout + p.stderr)

    # v2, signed with the second key, synced while a client queries
    ip4set(src, "127.0.0.2", v2)
    p = run([ZT, "publish", "-s", J("k2.sec"), "-o", feed,
             "bl.test:ip4set:" + src])
    check("publish v2 with the second key", p.returncode == 0, p.stderr)
    stats = {"n": 0, "bad": [], "v1": 0, "v2": 0}
    stop_ev = threading.Event()

    def client():
        i = 0
        while not stop_ev.is_set():
            name = rev("10.0.0.%d" % (1 + i % 2)) + ".bl.test"
            i += 1
            try:
                r = ask(port, name)
                rc = dns.rcode.to_text(r.rcode())
            except Exception as e:
                rc = "error " + type(e).__name__
            stats["n"] += 1
            if rc not in ("NOERROR", "NXDOMAIN"):
                stats["bad"].append((name, rc))
            elif rc == "NOERROR":
                stats["v1" if name.startswith("1.") else "v2"] += 1

    th = threading.Thread(target=client)
    th.start()
    time.sleep(0.5)
    p = run([ZS, "-c", conf, "bl.test"])
    time.sleep(0.5)
    stop_ev.set()
    th.join()
    check("zonesync -c bl.test: 1 -> 2 (delta), zen.test not touched",
          p.returncode == 0 and "bl.test: 1 -> 2 (delta)" in p.stdout and
          "zen.test" not in p.stdout, p.stdout + p.stderr)
    print("  " + p.stdout.strip())
    check("queries during the switch: %d, none failed" % stats["n"],
          stats["n"] > 50 and not stats["bad"], stats["bad"][:10])
    check("answers switched from v1 to v2 (%d v1, %d v2 listed)" %
          (stats["v1"], stats["v2"]), stats["v1"] > 0 and stats["v2"] > 0)
    check("after the switch: v2",
          a_of(port, rev("10.0.0.2") + ".bl.test")[1] == ["127.0.0.2"] and
          a_of(port, rev("10.0.0.1") + ".bl.test")[0] == "NXDOMAIN")
    # one key only: the roll is refused with a reason
    k1only = J("k1only.conf")
    write(k1only, text.replace("key = k2.pub\n", ""))
    p = run([ZS, "-c", k1only, "bl.test"])
    check("zonesync -c with the old key only refuses v2",
          p.returncode == 1 and "FAILED" in p.stderr and
          "key" in p.stderr, p.stdout + p.stderr)

    # SIGHUP reload keeps the feed zone
    srv.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    lg = open(log).read()
    check("SIGHUP: reloaded", "configuration reloaded" in lg, lg[-1500:])
    check("SIGHUP keeps the feed zone",
          a_of(port, rev("10.0.0.2") + ".bl.test")[1] == ["127.0.0.2"])
    check("nothing dropped", "no longer configured" not in lg, lg[-1500:])

    # the upstream files change: a diff, counted
    ip4set(os.path.join(up, "sbl.txt"), "127.0.0.4",
           sbl[3:] + ["192.0.2.%d" % i for i in range(150, 160, 2)])
    p = run([ZS, "-c", conf, "zen.test"])
    m = re.search(r"zen\.test: files imported, \+(\d+) -(\d+)", p.stdout)
    check("updated files-from: imported as a diff +5 -3",
          p.returncode == 0 and m is not None and m.group(1) == "5" and
          m.group(2) == "3", p.stdout + p.stderr)
    print("  " + p.stdout.strip())
    check("updated files-from: answers",
          a_of(port, rev("192.0.2.152") + ".zen.test")[1] == ["127.0.0.4"]
          and a_of(port, rev("192.0.2.3") + ".zen.test")[0] == "NXDOMAIN")
    p = run([ZS, "-c", conf, "--json", "zen.test"])
    check("zonesync -c --json: files current",
          p.returncode == 0 and '"status": "current"' in p.stdout,
          p.stdout + p.stderr)
    p = run([ZS, "-c", conf, "nosuch.test"])
    check("zonesync -c with an unknown zone: exit 2",
          p.returncode == 2 and "nosuch.test" in p.stderr, p.stderr)

    # a zone removed from the config is dropped, with its feed state
    write(conf, text.replace("[zone bl.test]\nmode = feed\nfeed = feed\n"
                             "key = k1.pub\nkey = k2.pub\n", ""))
    srv.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: rcode(port, rev("10.0.0.2") + ".bl.test") ==
                  "REFUSED", 5)
    check("feed zone removed from the config: dropped (REFUSED)", ok)
    p = run([ZS, "status", "-d", J("db"), "bl.test"])
    check("its feed state went with it", "not synced" in p.stdout,
          p.stdout + p.stderr)
    write(conf, text)
    srv.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: rcode(port, rev("10.0.0.2") + ".bl.test") ==
                  "SERVFAIL", 5)
    check("configured again: SERVFAIL until synced", ok)
    p = run([ZS, "-c", conf, "bl.test"])
    check("then a fresh snapshot 0 -> 2", p.returncode == 0 and
          "bl.test: 0 -> 2 (snapshot)" in p.stdout, p.stdout + p.stderr)
    check("and v2 answers",
          wait_for(lambda: a_of(port, rev("10.0.0.2") + ".bl.test")[1] ==
                   ["127.0.0.2"], 5))
    switch_modes(J, conf, text, port, hport, srv)
    check("daemon still running", srv.poll() is None)
    stop(srv)
    logf.close()
    progress(J, feed)


def switch_modes(J, conf, text, port, hport, srv):
    """bl.test switched from mode = feed to a dataset and back (SIGHUP):
    its feed state goes with the switch to datasets; switched back, the
    dataset's data is not served as the feed's: SERVFAIL until synced."""
    feedzone = ("[zone bl.test]\nmode = feed\nfeed = feed\n"
                "key = k1.pub\nkey = k2.pub\n")
    ip4set(J("blds.txt"), "127.0.0.5", ["10.0.0.3"])
    write(conf, text.replace(feedzone, "[zone bl.test]\n"
                             "dataset = ip4set:blds.txt\n"))
    srv.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: a_of(port, rev("10.0.0.3") + ".bl.test")[1] ==
                  ["127.0.0.5"], 5)
    check("feed -> dataset (SIGHUP): the dataset answers", ok)
    check("feed -> dataset: the feed's data is gone",
          a_of(port, rev("10.0.0.2") + ".bl.test")[0] == "NXDOMAIN")
    p = run([ZS, "status", "-d", J("db"), "bl.test"])
    check("feed -> dataset: its feed state was dropped",
          p.returncode == 0 and "not synced" in p.stdout,
          p.stdout + p.stderr)
    st = healthz_state(hport, "bl.test")
    check("feed -> dataset: /healthz ok, not a feed zone", st[1] == "ok",
          st)
    write(conf, text)
    srv.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: rcode(port, rev("10.0.0.3") + ".bl.test") ==
                  "SERVFAIL", 5)
    check("dataset -> feed (SIGHUP): SERVFAIL until synced, not the "
          "dataset's data", ok, rcode(port, rev("10.0.0.3") + ".bl.test"))
    st = healthz_state(hport, "bl.test")
    check("dataset -> feed: /healthz never-synced", st == (503,
                                                          "never-synced"),
          st)
    time.sleep(1.5)  # a periodic check: still not served
    check("dataset -> feed: still SERVFAIL after a periodic check",
          rcode(port, rev("10.0.0.2") + ".bl.test") == "SERVFAIL")
    p = run([ZS, "-c", conf, "bl.test"])
    check("dataset -> feed: then a snapshot 0 -> 2", p.returncode == 0 and
          "bl.test: 0 -> 2 (snapshot)" in p.stdout, p.stdout + p.stderr)
    check("dataset -> feed: v2 answers, the dataset's entry does not",
          wait_for(lambda: a_of(port, rev("10.0.0.2") + ".bl.test")[1] ==
                   ["127.0.0.2"], 5) and
          a_of(port, rev("10.0.0.3") + ".bl.test")[0] == "NXDOMAIN")
    time.sleep(1.5)
    check("dataset -> feed: a periodic check keeps the synced zone",
          a_of(port, rev("10.0.0.2") + ".bl.test")[1] == ["127.0.0.2"])


def on_tty(argv):
    """Run argv with stderr on a pseudo-terminal: (exit code, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the child closed it
            break
        if not b:
            break
        out += b
    os.close(master)
    return p.wait(60), out.decode(errors="replace")


def progress(J, feed):
    """The progress bar: on a terminal only, one line, ends in a newline."""
    rc, err = on_tty([ZS, "-d", J("db-tty"), "-k", J("k2.pub"), feed,
                      "bl.test"])
    bar = [x for x in err.replace("\r\n", "\n").split("\r") if x]
    check("tty: progress bar of the 100k-entry snapshot + delta",
          rc == 0 and re.search(r"applying 100% \((\d+)/\1\)", err) and
          "entries/s" in err and len(bar) >= 2, repr(err[-300:]))
    check("tty: the bar is rewritten with \\r and ends with a newline",
          "\r" in err and err.rstrip(" ").endswith("\n") and
          err.count("\n") == 1, repr(err[-300:]))
    for extra in (["-q"], ["--json"]):
        rc, err = on_tty([ZS, "-d", J("db-tty-" + extra[0][-1]), "-k",
                          J("k2.pub")] + extra + [feed, "bl.test"])
        check("tty with %s: no progress bar" % extra[0],
              rc == 0 and "applying" not in err, repr(err))
    p = run([ZS, "-d", J("db-notty"), "-k", J("k2.pub"), feed, "bl.test"])
    check("not a tty: no progress bar", p.returncode == 0 and
          "applying" not in p.stderr, p.stderr)


if __name__ == "__main__":
    main()
