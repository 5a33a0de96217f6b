#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Feed benchmark (issue 4; not CI): a 1% change of a big ip4set zone
(default 10M entries) reaching a serving DNSBL server under dnsperf, four
ways, on the same v1/v2 data in one run; and the bytes each way moves.

  1. v1: N random /32 entries; v2: 1% of them changed (N/200 removed,
     N/200 added).  zonetool publish of both (timed; sizes of the file,
     the snapshot and the delta).
  2. Bytes on the wire: a real `rsync --daemon` on 127.0.0.1 (transfer
     logging, log format "%o %f %l %b") serves the feed directory and
     the v2 file; the sum of %b (bytes the daemon sent) for zonesync -c
     pulling the snapshot (0 -> 1) and then the delta (1 -> 2) from
     rsync://127.0.0.1:PORT/feed/..., and for the rbldnsd user's way:
     rsync of v2's whole file onto a local copy of v1 (rsync's rolling
     checksum delta) and with -W (whole file, no basis).
  3. Four servers in turn, each pinned to CPU 0 (dnsperf and this
     script on CPU 1, as bench_dns.py does; its helpers are imported),
     each serving v1, dnsperf saturating it (-S 1: q/s every second)
     for --seconds; after --before seconds the change is made:
       resolverd-feed    resolverd -c, the zone in mode = feed, 1 thread;
                         zonesync -c (on CPU 0 too, or --zonesync-cpus;
                         nice 19 and ionice idle as the shipped
                         zonesync.service runs it, or --zonesync-nice,
                         --zonesync-ionice) applies the delta;
       resolverd-dropin  resolverd with rbldnsd's arguments, -c 1; v2's
                         file renamed over v1's;
       rbldnsd           rbldnsd -c 1 (-u nobody), the same rename;
       rbldnsd-f         the same with -f (fork while reloading).
     A checker thread meanwhile asks, round after round, a name listed in
     both versions, a never-listed name, a name only in v1 and a name
     only in v2 (timeout 1 s each): the time from the change until v2 is
     served (v1-only gone and v2-only listed) and the checker queries
     that failed (no answer in 1 s, SERVFAIL/REFUSED/..., a wrong answer
     for a name the change does not touch, or a changed name going back
     to v1 after v2 was served).
  4. Summary, one line per way: apply/reload time (zonesync's wall time,
     the servers' "zones reloaded" log line), time to serve, min and
     median q/s of the seconds from the change until v2 is served
     relative to the median of the seconds before it (target >= 95% for
     resolverd), failed checker queries, dnsperf's lost queries, bytes.
  5. With --repeat N the ways run N times in turn, each time on a new
     server and a new mirror (at v1); the summary gives every run and the
     median over runs.  The way resolverd-control (not in the default
     list) is resolverd-feed with no change made: its seconds "during the
     apply" (--control-seconds, default the feed's 18 s apply) measure how
     much the q/s ratio varies when nothing happens, e.g.
       --only resolverd-feed,resolverd-control --repeat 10

Each phase prints its elapsed time.  usage:
  bench_feed.py --build BUILDDIR [--work DIR] [--entries N] [--seconds S]
                [--before S] [--keep] [--only NAME,...] [--repeat N]
                [--control-seconds S]
                [--zonesync-cpus LIST] [--zonesync-nice N]
                [--zonesync-ionice CLASS]
Run as root (the servers drop to nobody; the files are readable by it) or
not; needs dnsperf, rbldnsd, rsync, taskset and ~6 GB of memory for 10M
entries (a full 10M run takes ~10-15 minutes).
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import bench_dns as bdn  # noqa: E402
import rdtest  # noqa: E402

SERVER_CPU, CLIENT_CPU = bdn.SERVER_CPU, bdn.CLIENT_CPU
WAYS = ("resolverd-feed", "resolverd-dropin", "rbldnsd", "rbldnsd-f")
# not run by default: resolverd-feed with no change made (the seconds where
# the apply would run are measured all the same), the noise of the q/s
# ratio on this machine; --only resolverd-feed,resolverd-control --repeat N
# interleaves the two
CONTROL = "resolverd-control"
FEEDLIKE = ("resolverd-feed", CONTROL)


def log(*a):
    print(*a, flush=True)


def ipstr(x):
    return "%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255,
                            x & 255)


def rev(x):
    return "%d.%d.%d.%d" % (x & 255, (x >> 8) & 255, (x >> 16) & 255,
                            x >> 24)


def write_set(path, addrs):
    with open(path, "w") as f:
        f.write(":127.0.0.2:Listed $\n")
        step = 1 << 20
        for i in range(0, len(addrs), step):
            f.write("\n".join(map(ipstr, addrs[i:i + step])))
            f.write("\n")
    os.chmod(path, 0o644)


CPU = {}  # "last": user+sys CPU seconds of the last timed() child


def timed(argv):
    """Run argv: (wall seconds, result); its user+sys CPU time in CPU."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True)
    dt = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s%s" % (" ".join(argv), p.returncode,
                                           p.stdout, p.stderr))
    return dt, p


class Phase:
    """Prints a phase's elapsed time when it ends."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t0 = time.monotonic()
        log("\n== %s" % self.name)
        return self

    def __exit__(self, *exc):
        log("== %s: %.1f s elapsed" % (self.name, time.monotonic() - self.t0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", default="/tmp/rd-bench-feed")
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--seconds", type=int, default=24)
    ap.add_argument("--before", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=",".join(WAYS),
                    help="comma-separated subset of " + ",".join(WAYS))
    ap.add_argument("--zonesync-nice", type=int, default=19,
                    help="nice value of the delta's zonesync (default 19, "
                    "as contrib/systemd/zonesync.service)")
    ap.add_argument("--zonesync-ionice", default="3",
                    help="ionice class of the delta's zonesync (default 3, "
                    "idle, as the unit's IOSchedulingClass=idle)")
    ap.add_argument("--zonesync-cpus", default=SERVER_CPU,
                    help="taskset -c list for zonesync (default: the "
                    "server's CPU, where rbldnsd reloads too)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the ways N times in turn (default 1)")
    ap.add_argument("--control-seconds", type=float, default=18.0,
                    help="resolverd-control: the seconds measured as if "
                    "an apply ran (default 18)")
    a = ap.parse_args()
    a.only = a.only.split(",")
    if a.repeat < 1:
        sys.exit("--repeat must be >= 1")
    for w in a.only:
        if w not in WAYS + (CONTROL,):
            sys.exit("--only: unknown way %s" % w)
    if a.before < 2 or a.seconds < a.before + 4:
        sys.exit("--before must be >= 2 and --seconds >= --before + 4")
    B = os.path.abspath(a.build)
    a.rd = os.path.join(B, "resolverd", "resolverd")
    a.zt = os.path.join(B, "tools", "zonetool", "zonetool")
    a.zs = os.path.join(B, "tools", "zonesync", "zonesync")
    for t in ("dnsperf", "rsync", "taskset"):
        if shutil.which(t) is None:
            sys.exit("needs %s" % t)
    if not os.access(bdn.RBLDNSD, os.X_OK):
        sys.exit("needs %s (Debian package rbldnsd)" % bdn.RBLDNSD)
    W = a.work
    shutil.rmtree(W, ignore_errors=True)
    bdn.mkdir755(W)
    bdn.chown_nobody(W)  # the daemons drop to nobody
    T0 = time.monotonic()
    try:
        run(a, W)
    finally:
        for s in list(bdn.running):
            s.stop()
        if not a.keep:
            shutil.rmtree(W, ignore_errors=True)
    log("total elapsed %.1f s" % (time.monotonic() - T0))


def run(a, W):
    J = lambda *p: os.path.join(W, *p)
    rnd = random.Random(a.seed)
    N = a.entries
    R = {}  # way -> figures
    with Phase("data"):
        v1 = sorted(rnd.sample(range(1 << 24, 223 << 24), N))
        gone = set(rnd.sample(range(N), N // 200))
        keep = [x for i, x in enumerate(v1) if i not in gone]
        have = set(v1)
        added = []
        while len(added) < N // 200:
            x = rnd.randrange(1 << 24, 223 << 24)
            if x not in have:
                have.add(x)
                added.append(x)
        v2 = sorted(keep + added)
        del have, keep
        probes = {
            "both": v1[min(i for i in range(N) if i not in gone)],
            "never": 0x0a000001,  # 10.0.0.1: never generated
            "v1only": v1[min(gone)],
            "v2only": added[0],
        }
        src = J("bl.txt")
        write_set(src, v1)
        shutil.copyfile(src, J("v1.txt"))
        mt1 = os.stat(src).st_mtime_ns  # the file's mtime is in the digest
        log("%d entries, %d changed" % (N, 2 * (N // 200)))

    with Phase("publish"):
        timed([a.zt, "keygen", "-p", J("k.pub"), "-s", J("k.sec")])
        feed = J("feed")
        pub1, _ = timed([a.zt, "publish", "-s", J("k.sec"), "-o", feed,
                         "bl.test:ip4set:" + src])
        cpub1 = CPU["last"]
        write_set(src, v2)
        shutil.copyfile(src, J("v2.txt"))
        pub2, _ = timed([a.zt, "publish", "-s", J("k.sec"), "-o", feed,
                         "bl.test:ip4set:" + src])
        cpub2 = CPU["last"]
        fsize2 = os.path.getsize(src)
        snap = os.path.getsize(os.path.join(feed, "bl.test", "snap", "1"))
        delta = os.path.getsize(os.path.join(feed, "bl.test", "delta",
                                             "1-2"))
        log("publish v1 %.1fs (%.1fs CPU), v2 %.1fs (%.1fs CPU); v2 file "
            "%.1f MB, snapshot %.1f MB, delta 1-2 %.2f MB (%.2f%% of the "
            "file)" % (pub1, cpub1, pub2, cpub2, fsize2 / 1e6, snap / 1e6,
                       delta / 1e6, 100.0 * delta / fsize2))
        # the mirror must first be at v1: a feed holding v1 alone
        feed1 = J("feed1")
        write_set(src, v1)
        os.utime(src, ns=(mt1, mt1))
        timed([a.zt, "publish", "-s", J("k.sec"), "-o", feed1,
               "bl.test:ip4set:" + src])
        del v1, v2, added, gone

    qfile = J("queries.txt")
    write_queries(qfile, J("v1.txt"), N, rnd)
    bdn.chown_nobody(W)

    with Phase("bytes on the wire (rsync --daemon)"):
        R["bytes"] = wire_bytes(a, W, J, fsize2)
    for i in range(a.repeat):
        for way in WAYS + (CONTROL,):
            if way not in a.only:
                continue
            with Phase(way + ("" if a.repeat == 1 else
                              " (run %d of %d)" % (i + 1, a.repeat))):
                R.setdefault(way, []).append(
                    reload_way(a, W, J, way, probes, qfile))
    summary(a, R, fsize2)


def write_queries(qfile, v1file, N, rnd):
    """200k queries: half of listed addresses of v1, half random."""
    want = sorted(rnd.sample(range(N), min(N, 100000)))
    picks = []
    with open(v1file) as f:
        f.readline()
        k = 0
        for i, line in enumerate(f):
            while k < len(want) and want[k] == i:
                picks.append(line.strip())
                k += 1
            if k == len(want):
                break
    names = ["%s.bl.test A" % ".".join(reversed(ip.split(".")))
             for ip in picks]
    names += ["%s.bl.test A" % rev(rnd.randrange(1 << 24, 223 << 24))
              for _ in range(len(picks))]
    rnd.shuffle(names)
    with open(qfile, "w") as f:
        f.write("\n".join(names) + "\n")
    os.chmod(qfile, 0o644)


# ------------------------------------------------------------ bytes

def rsync_sent(logpath, off):
    """The rsync daemon's log from offset off: (sum of %b over its "send"
    lines, [(file, length, %b)], the sessions' totals (sent, received)
    summed, the new offset)."""
    with open(logpath, errors="replace") as f:
        f.seek(off)
        text = f.read()
        end = f.tell()
    files, tot = [], 0
    for m in re.finditer(r"\] send (\S+) (\d+) (\d+)$", text, re.M):
        files.append((m.group(1), int(m.group(2)), int(m.group(3))))
        tot += int(m.group(3))
    ses = [0, 0]
    for m in re.finditer(r"\] sent (\d+) bytes\s+received (\d+) bytes",
                         text):
        ses[0] += int(m.group(1))
        ses[1] += int(m.group(2))
    return tot, files, tuple(ses), end


def wire_bytes(a, W, J, fsize2):
    d = bdn.mkdir755(J("rsync"))
    files = bdn.mkdir755(J("rsync", "files"))
    shutil.copyfile(J("v2.txt"), os.path.join(files, "bl.txt"))
    srv, port = rdtest.rsyncd(d, {"feed": W, "files": files},
                              "transfer logging = yes\n"
                              "log format = %o %f %l %b\n")
    rlog = os.path.join(d, "rsyncd.log")
    res = {}
    try:
        conf = J("rsync", "zonesync.conf")
        root = os.geteuid() == 0

        def write_conf(fd):
            with open(conf, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1@%d\ndatabase = %s\n"
                        "%s\n[zone bl.test]\nmode = feed\n"
                        "feed = rsync://127.0.0.1:%d/feed/%s\nkey = %s\n"
                        % (rdtest.free_port(), J("rsync", "db"),
                           "user = nobody\n" if root else "", port, fd,
                           J("k.pub")))
        off = 0
        for tag, fd in (("snapshot", "feed1"), ("delta", "feed")):
            write_conf(fd)
            dt, p = timed([a.zs, "-c", conf, "--json"])
            js = json.loads(p.stdout)["zones"][0]
            time.sleep(0.3)  # the daemon's log line
            tot, fl, ses, off = rsync_sent(rlog, off)
            res[tag] = tot
            res[tag + "-session"] = ses
            log("zonesync -c %s via rsync://: %%b sum %d bytes (%s); "
                "sessions: %d bytes sent, %d received; zonesync says %s "
                "bytes; %.1f s" % (
                    tag, tot, ", ".join("%s %d of %d" % (n, b, ln)
                                        for n, ln, b in fl), ses[0], ses[1],
                    js.get("bytes"), dt))
        # the rbldnsd user's way: the whole v2 file onto v1
        dst = bdn.mkdir755(J("rsync", "mirror"))
        for tag, extra in (("rsync-delta", []), ("rsync-W", ["-W"])):
            shutil.copyfile(J("v1.txt"), os.path.join(dst, "bl.txt"))
            dt, _ = timed(["rsync", "-t"] + extra + [
                "rsync://127.0.0.1:%d/files/bl.txt" % port,
                os.path.join(dst, "bl.txt")])
            time.sleep(0.3)
            tot, fl, ses, off = rsync_sent(rlog, off)
            res[tag] = tot
            res[tag + "-session"] = ses
            same = open(os.path.join(dst, "bl.txt"), "rb").read() == \
                open(J("v2.txt"), "rb").read()
            log("rsync %sv2's file onto v1's: %%b %d bytes (%.2f%% of the "
                "%d-byte file); session: %d bytes sent, %d received; "
                "%.1f s%s" % (
                    "-W " if extra else "", tot, 100.0 * tot / fsize2,
                    fsize2, ses[0], ses[1], dt,
                    "" if same else "  (COPY DIFFERS)"))
    finally:
        srv.stop()
    return res


# ------------------------------------------------------------ reloads

class Checker(threading.Thread):
    """Asks the four probe names round after round (1 s timeout each),
    from the script's CPU; after mark(t) it looks for v2 being served."""

    def __init__(self, port, probes):
        super().__init__()
        self.port = port
        self.wires = [(k, bdn.wire_query(rev(v) + ".bl.test",
                                         qid=0x1000 + i))
                      for i, (k, v) in enumerate(sorted(probes.items()))]
        self.stop_ev = threading.Event()
        self.t_change = None
        self.served = None  # time.time() when v2 was first served
        self.fails = []  # (time.time(), name, what)
        self.n = 0

    def run(self):
        while not self.stop_ev.is_set():
            got = {}
            for k, w in self.wires:
                t = time.time()
                r = bdn.probe(self.port, w, timeout=1.0)
                self.n += 1
                got[k] = r
                if r is None:
                    self.fails.append((t, k, "no answer in 1 s"))
                elif r[0] not in (0, 3):
                    self.fails.append((t, k, "rcode %d" % r[0]))
                elif k == "both" and not bdn.is_listed(r):
                    self.fails.append((t, k, "not listed"))
                elif k == "never" and not bdn.is_nxdomain(r):
                    self.fails.append((t, k, "listed"))
                elif self.served is not None and (
                        (k == "v1only" and not bdn.is_nxdomain(r)) or
                        (k == "v2only" and not bdn.is_listed(r))):
                    self.fails.append((t, k, "back to v1"))
            if (self.t_change is not None and self.served is None and
                    bdn.is_nxdomain(got["v1only"]) and
                    bdn.is_listed(got["v2only"])):
                self.served = time.time()
            time.sleep(0.005)


def start_server(a, W, J, way, d):
    spec = ["bl.test:ip4set:bl.txt"]
    if way in FEEDLIKE:
        # a new mirror, synced to v1 below
        shutil.rmtree(J("db-feed"), ignore_errors=True)
        port = rdtest.free_port()
        conf = os.path.join(d, "resolverd.conf")
        write_feed_conf(conf, port, J("db-feed"), J("feed1"), J("k.pub"))
        s = bdn.Server(way, [a.rd, "-d", "-c", conf], port, d,
                       os.path.join(d, "log.txt"))
        return s, conf
    if way == "resolverd-dropin":
        state = bdn.mkdir755(os.path.join(d, "state"))
        bdn.chown_nobody(state)
        return bdn.start_dropin(types.SimpleNamespace(resolverd=a.rd), d,
                                state, name=way, extra=["-c", "1"],
                                spec=spec), None
    return bdn.start_rbldnsd(d, name=way, extra=["-c", "1"] + (
        ["-f"] if way == "rbldnsd-f" else []), spec=spec), None


def write_feed_conf(conf, port, db, fd, key):
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\n"
                "database = %s\ncheck-interval = 0\n%s\n"
                "[zone bl.test]\nmode = feed\nfeed = %s\nkey = %s\n"
                % (port, db, "user = nobody\n" if os.geteuid() == 0 else "",
                   fd, key))
    os.chmod(conf, 0o644)


def reload_way(a, W, J, way, probes, qfile):
    d = bdn.mkdir755(J("run-" + way))
    res = {"way": way}
    if way not in FEEDLIKE:
        # v1 in place, v2 beside it (same file system) with a later mtime
        now = time.time()
        for name, src, mt in (("bl.txt", "v1.txt", now - 100),
                              ("bl.new", "v2.txt", now)):
            shutil.copyfile(J(src), os.path.join(d, name))
            os.chmod(os.path.join(d, name), 0o644)
            os.utime(os.path.join(d, name), (mt, mt))
    t0 = time.monotonic()
    s, conf = start_server(a, W, J, way, d)
    try:
        if way in FEEDLIKE:
            s.wait_first(bdn.wire_query(rev(probes["both"]) + ".bl.test"),
                         ok=lambda r: r is not None and r[0] == 2)
            dt, p = timed(["taskset", "-c", a.zonesync_cpus, a.zs, "-c",
                           conf, "--json"])
            js = json.loads(p.stdout)["zones"][0]
            log("zonesync -c snapshot 0 -> 1: %.1f s wall (%.1f s in "
                "zonesync, %.1f s CPU), %d entries" % (
                    dt, js["seconds"], CPU["last"], js["entries"]))
            res["snapshot_s"] = dt
            tst, _ = timed([a.zs, "status", "-d", J("db-feed")])
            log("digest check (zonesync status, zn_feed_db_digest): "
                "%.3f s" % tst)
            res["digest_s"] = tst
        s.wait_first(bdn.wire_query(rev(probes["both"]) + ".bl.test"),
                     seconds=900)
        s.wait_idle(seconds=900)
        log("serving v1 after %.1f s (load and settle)" %
            (time.monotonic() - t0))
        for k, want in (("both", bdn.is_listed), ("never", bdn.is_nxdomain),
                        ("v1only", bdn.is_listed),
                        ("v2only", bdn.is_nxdomain)):
            r = bdn.probe(s.port, bdn.wire_query(rev(probes[k]) +
                                                 ".bl.test"), 1.0)
            if not want(r):
                raise RuntimeError("%s: probe %s before the change: %r" %
                                   (way, k, r))
        nlog = len(re.findall(r"zones reloaded", s.log_text()))
        out = os.path.join(d, "dnsperf.txt")
        fo = open(out, "w")
        perf = subprocess.Popen(
            ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1",
             "-p", str(s.port), "-d", qfile, "-l", str(a.seconds), "-S",
             "1", "-c", "4", "-T", "1", "-q", "200", "-t", "2"],
            stdout=fo, stderr=subprocess.STDOUT)
        ck = Checker(s.port, probes)
        ck.start()
        c0 = s.cpu_s()
        time.sleep(a.before)
        t_change = time.time()
        ck.t_change = t_change
        if way == CONTROL:
            time.sleep(a.control_seconds)
        elif way == "resolverd-feed":
            write_feed_conf(conf, s.port, J("db-feed"), J("feed"),
                            J("k.pub"))
            # as contrib/systemd/zonesync.service runs it: Nice=19,
            # IOSchedulingClass=idle (a background job next to the server)
            dt, p = timed(["taskset", "-c", a.zonesync_cpus, "nice", "-n",
                           str(a.zonesync_nice), "ionice", "-c",
                           a.zonesync_ionice, a.zs, "-c", conf, "--json"])
            js = json.loads(p.stdout)["zones"][0]
            res["apply_s"] = dt
            res["apply_cpu"] = CPU["last"]
            log("zonesync -c delta 1 -> 2: %.2f s wall (%.2f s in zonesync, "
                "%.2f s CPU), +%d -%d entries" % (
                    dt, js["seconds"], CPU["last"], js["added"],
                    js["deleted"]))
        else:
            os.rename(os.path.join(d, "bl.new"), os.path.join(d, "bl.txt"))
        t_applied = time.time()
        perf.wait()
        fo.close()
        # v2 not served yet: wait for it (at most 10 minutes)
        end = time.monotonic() + (0 if way == CONTROL else 600)
        while ck.served is None and time.monotonic() < end and \
                s.proc.poll() is None:
            time.sleep(0.05)
        ck.stop_ev.set()
        ck.join()
        res["server_cpu"] = s.cpu_s() - c0
        lg = s.log_text()
        m = re.findall(r"zones reloaded,? .*", lg)
        if len(m) > nlog:
            res["reload_log"] = m[nlog]
            t = re.search(r"time ([\d.]+)e", m[nlog])
            if t and way not in FEEDLIKE:
                res["apply_s"] = float(t.group(1))
        res["alive"] = s.proc.poll() is None
    finally:
        s.stop()
    dp = bdn.parse_dnsperf(out)
    if "qps" not in dp:
        raise RuntimeError("%s: dnsperf failed, see %s" % (way, out))
    res["served_s"] = ck.served - t_change if ck.served else None
    t_end = max(t_applied, ck.served or t_applied)
    # -S lines: q/s of the second ending at the timestamp; the first one
    # covers dnsperf's start
    ps = [(t - t_change, q) for t, q in dp["persec"][1:]]
    before = [q for t, q in ps if t <= 0]
    during = [q for t, q in ps if t > 0 and t - 1 < t_end - t_change]
    res["steady"] = statistics.median(before) if before else float("nan")
    res["min"] = min(during) if during else float("nan")
    res["med"] = statistics.median(during) if during else float("nan")
    res["lost"] = int(dp.get("lost", 0))
    res["sent"] = int(dp.get("sent", 0))
    res["us_q"] = 1e6 * res["server_cpu"] / max(1.0, dp.get("completed", 0))
    with open(out, errors="replace") as f:
        m = re.search(r"Response codes:\s*(.*)", f.read())
    res["rcodes"] = m.group(1) if m else "?"
    # the checker's failures before the change (a saturated server drops
    # some queries anyway), from it until one second after v2 is served
    # (or the apply ended), and after
    w_end = t_end + 1
    res["fails_before"] = sum(1 for f in ck.fails if f[0] < t_change)
    res["fails"] = sum(1 for f in ck.fails if t_change <= f[0] < w_end)
    res["fails_after"] = sum(1 for f in ck.fails if f[0] >= w_end)
    res["checks"] = ck.n
    res["load"] = os.getloadavg()
    log("%s: change at +%.0f s; v2 served after %s; checker %d queries, "
        "failed: %d before the change, %d from it until served + 1 s, %d "
        "after%s" % (
            way, a.before, "%.2f s" % res["served_s"]
            if res["served_s"] is not None else
            "- (control: no change)" if way == CONTROL else "NEVER", ck.n,
            res["fails_before"], res["fails"], res["fails_after"],
            (" (first: %s)" % ", ".join("%+.2fs %s %s" % (t - t_change, k, w)
                                        for t, k, w in ck.fails[:6]))
            if ck.fails else ""))
    if "reload_log" in res:
        log("  server log: %s" % res["reload_log"])
    log("  q/s by second from the change: " + " ".join(
        "%+.0f:%.0f" % (t, q) for t, q in ps))
    log("  steady %.0f q/s; from the change until served: min %.0f "
        "(%.1f%%), median %.0f (%.1f%%) over %d s; dnsperf %d sent, %d "
        "lost, rcodes %s; server CPU %.1f s (%.1f us per answered query, "
        "reload included); load %.1f %.1f %.1f" % (
            res["steady"], res["min"], 100 * res["min"] / res["steady"],
            res["med"], 100 * res["med"] / res["steady"], len(during),
            res["sent"], res["lost"], res["rcodes"], res["server_cpu"],
            res["us_q"], *res["load"]))
    if not res["alive"]:
        log("  %s EXITED during the run: see %s" % (way, s.log_path))
    return res


def summary(a, R, fsize2):
    b = R["bytes"]
    log("\n== summary (%d entries, 1%% changed; v2 file %d bytes)" % (
        a.entries, fsize2))
    for tag, what in (("snapshot", "zonesync snapshot (first sync)"),
                      ("delta", "zonesync delta 1 -> 2"),
                      ("rsync-delta", "rsync of the whole v2 file onto v1"),
                      ("rsync-W", "rsync -W of the whole v2 file")):
        ses = b[tag + "-session"]
        log("bytes %-36s %%b %11d (%6.2f%% of the file); session %11d "
            "sent + %9d received" % (what, b[tag], 100.0 * b[tag] / fsize2,
                                     ses[0], ses[1]))
    log("%-17s %9s %9s %9s %8s %8s %7s %7s %6s %11s %6s" % (
        "way", "apply s", "served s", "steady", "min %", "median %",
        "failed", "(before)", "lost", "bytes", "us/q"))
    for way in WAYS + (CONTROL,):
        for i, r in enumerate(R.get(way, [])):
            by = b["delta"] if way in FEEDLIKE else b["rsync-delta"]
            log("%-17s %9s %9s %9.0f %8.1f %8.1f %7d %7d %6d %11s %6.1f" % (
                way if i == 0 else "  run %d" % (i + 1),
                "%.2f" % r["apply_s"] if "apply_s" in r else "-",
                "%.2f" % r["served_s"] if r["served_s"] is not None else
                "-" if way == CONTROL else "never",
                r["steady"], 100 * r["min"] / r["steady"],
                100 * r["med"] / r["steady"], r["fails"], r["fails_before"],
                r["lost"], by if way != CONTROL else "-", r["us_q"]))
    if a.repeat > 1:
        log("medians over the %d runs:" % a.repeat)
        for way in WAYS + (CONTROL,):
            rs = R.get(way)
            if not rs:
                continue
            mins = sorted(100 * r["min"] / r["steady"] for r in rs)
            meds = sorted(100 * r["med"] / r["steady"] for r in rs)
            log("  %-17s min %% %5.1f (%.1f..%.1f), median %% %5.1f "
                "(%.1f..%.1f); runs with median %% >= 95: %d of %d" % (
                    way, statistics.median(mins), mins[0], mins[-1],
                    statistics.median(meds), meds[0], meds[-1],
                    sum(1 for m in meds if m >= 95), len(meds)))
    log("(apply: zonesync -c wall time for resolverd-feed, the server's "
        "\"zones reloaded\" time otherwise; served: from the change until "
        "the checker saw v2; min/median: q/s of the seconds from the "
        "change until served against the median before; failed: checker "
        "queries from the change until served + 1 s (before: in the "
        "seconds before the change); lost: dnsperf's, whole run; bytes: rsyncd's %%b for the feed delta, for rsync of the "
        "whole file otherwise (-W: %d); us/q: the server's CPU (all "
        "threads, schedstat) per answered dnsperf query over the run, the "
        "reload included; load average at the end: %.1f %.1f %.1f)" % (
            b["rsync-W"], *os.getloadavg()))


if __name__ == "__main__":
    main()
