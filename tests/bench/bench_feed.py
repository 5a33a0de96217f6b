#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Feed benchmark (issue 4; not CI): a big ip4set zone served by resolverd
in mode = feed while zonesync -c applies a 1% delta.

  1. v1: N random /32 entries (default 10M); v2: 1% of them changed
     (N/200 removed, N/200 added).  zonetool publish of both (timed;
     sizes of the file, the snapshot and the delta).
  2. resolverd -c (the zone with mode = feed) starts; zonesync -c applies
     the snapshot (timed, --json).
  3. dnsperf saturates resolverd (-S 1: qps every second) for --seconds;
     after --before seconds zonesync -c applies the delta (timed).  A
     Python client meanwhile asks one listed and one unlisted name in a
     loop and counts, per second, answers that are wrong or missing
     (anything but the expected NOERROR/NXDOMAIN, a timeout).
  4. The digest cost: `zonesync status` (zn_feed_db_digest, which reads
     the per-dataset digests the writes maintain) on the 10M zone, and the
     delta apply time against the snapshot apply time.

Prints a table: second, phase (before/apply/after), dnsperf qps, the
checker's answers and errors; then the summary figures.

usage: bench_feed.py --build BUILDDIR [--work DIR] [--entries N]
                     [--seconds S] [--before S] [--keep]
Run as root or not; needs dnsperf and ~4 GB of memory for 10M entries.
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

import dns.message
import dns.query
import dns.rcode
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402


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


CPU = {}  # argv[0] basename + first argument -> CPU seconds of the last run


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", default="/tmp/rd-bench-feed")
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--before", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    B = os.path.abspath(a.build)
    RD = os.path.join(B, "resolverd", "resolverd")
    ZT = os.path.join(B, "tools", "zonetool", "zonetool")
    ZS = os.path.join(B, "tools", "zonesync", "zonesync")
    W = a.work
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(W)
    os.chmod(W, 0o755)
    if os.geteuid() == 0:  # the daemon drops to nobody
        import pwd
        nb = pwd.getpwnam("nobody")
        os.chown(W, nb.pw_uid, nb.pw_gid)
    J = lambda *p: os.path.join(W, *p)
    rnd = random.Random(a.seed)
    procs = []
    try:
        run(a, rnd, RD, ZT, ZS, J, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
        if not a.keep:
            shutil.rmtree(W, ignore_errors=True)


def run(a, rnd, RD, ZT, ZS, J, procs):
    N = a.entries
    t0 = time.monotonic()
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
    listed = v1[min(i for i in range(N) if i not in gone)]  # in both
    unlisted = 0x0a000001  # 10.0.0.1: never generated
    src = J("bl.txt")
    write_set(src, v1)
    mt1 = os.stat(src).st_mtime_ns  # the file's mtime is in the digest
    print("data: %d entries, %d changed; generated in %.1fs" %
          (N, 2 * (N // 200), time.monotonic() - t0), flush=True)

    timed([ZT, "keygen", "-p", J("k.pub"), "-s", J("k.sec")])
    feed = J("feed")
    pub1, _ = timed([ZT, "publish", "-s", J("k.sec"), "-o", feed,
                     "bl.test:ip4set:" + src])
    cpub1 = CPU["last"]
    write_set(src, v2)
    pub2, p = timed([ZT, "publish", "-s", J("k.sec"), "-o", feed,
                     "bl.test:ip4set:" + src])
    cpub2 = CPU["last"]
    fsize2 = os.path.getsize(src)
    snap = os.path.getsize(os.path.join(feed, "bl.test", "snap", "1"))
    delta = os.path.getsize(os.path.join(feed, "bl.test", "delta", "1-2"))
    print("publish v1 %.1fs (%.1fs CPU), v2 %.1fs (%.1fs CPU); file %.1f "
          "MB, snapshot %.1f MB, delta 1-2 %.2f MB (%.2f%% of the file)" %
          (pub1, cpub1, pub2, cpub2, fsize2 / 1e6, snap / 1e6, delta / 1e6,
           100.0 * delta / fsize2), flush=True)
    # the mirror must first be at v1: a feed holding v1 alone
    feed1 = J("feed1")
    write_set(src, v1)
    os.utime(src, ns=(mt1, mt1))
    timed([ZT, "publish", "-s", J("k.sec"), "-o", feed1,
           "bl.test:ip4set:" + src])

    port = rdtest.free_port()
    conf = J("resolverd.conf")
    root = os.geteuid() == 0

    def write_conf(fd):
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1@%d\nthreads = 2\n"
                    "database = %s\ncheck-interval = 0\n%s\n"
                    "[zone bl.test]\nmode = feed\nfeed = %s\nkey = %s\n"
                    % (port, J("db"), "user = nobody\n" if root else "",
                       fd, J("k.pub")))
    write_conf(feed1)
    rd = subprocess.Popen([RD, "-d", "-c", conf],
                          stdout=open(J("resolverd.log"), "w"),
                          stderr=subprocess.STDOUT)
    procs.append(rd)
    time.sleep(1)
    tsnap, p = timed([ZS, "-c", conf, "--json"])
    js = json.loads(p.stdout)["zones"][0]
    print("zonesync -c snapshot 0 -> 1: %.1fs wall (%.1fs in zonesync, "
          "%.1fs CPU), %d entries" % (tsnap, js["seconds"], CPU["last"],
                                      js["entries"]), flush=True)
    tst, p = timed([ZS, "status", "-d", J("db")])
    print("digest check (zonesync status, zn_feed_db_digest, %d entries): "
          "%.3fs" % (js["entries"], tst), flush=True)

    # the checker: one listed, one unlisted name, per-second counts
    qfile = J("queries.txt")
    with open(qfile, "w") as f:
        for _ in range(200000):
            x = v1[rnd.randrange(N)] if rnd.random() < 0.5 else \
                rnd.randrange(1 << 24, 223 << 24)
            f.write("%s.bl.test A\n" % rev(x))
    per = {}
    stop = threading.Event()
    t_start = time.monotonic()

    def checker():
        names = [(rev(listed) + ".bl.test", "NOERROR"),
                 (rev(unlisted) + ".bl.test", "NXDOMAIN")]
        i = 0
        while not stop.is_set():
            name, want = names[i % 2]
            i += 1
            sec = int(time.monotonic() - t_start)
            ok, bad = per.get(sec, (0, 0))
            try:
                r = dns.query.udp(dns.message.make_query(name, "A"),
                                  "127.0.0.1", port=port, timeout=1.0)
                good = dns.rcode.to_text(r.rcode()) == want
            except Exception:
                good = False
            per[sec] = (ok + good, bad + (not good))
            time.sleep(0.01)

    perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port),
                             "-d", qfile, "-l", str(a.seconds), "-S", "1",
                             "-c", "4", "-T", "1", "-q", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    procs.append(perf)
    th = threading.Thread(target=checker)
    th.start()
    time.sleep(a.before)
    write_conf(feed)
    ta = time.monotonic() - t_start
    tdelta, p = timed([ZS, "-c", conf, "--json"])
    tb = time.monotonic() - t_start
    cdelta = CPU["last"]
    js = json.loads(p.stdout)["zones"][0]
    out, _ = perf.communicate(timeout=a.seconds + 60)
    stop.set()
    th.join()
    qps = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+):\s*([\d.]+)\s*$", line)
        if m:
            qps.append(float(m.group(2)))
    print("\nsec  phase   dnsperf-qps  checker-ok  checker-errors")
    phases = {}
    for s in range(max(len(qps), max(per) + 1 if per else 0)):
        ph = "before" if s + 1 <= ta else ("apply" if s <= tb else "after")
        q = qps[s] if s < len(qps) else float("nan")
        ok, bad = per.get(s, (0, 0))
        phases.setdefault(ph, []).append((q, ok, bad))
        print("%3d  %-6s  %11.0f  %10d  %14d" % (s, ph, q, ok, bad))
    print("\ndelta 1 -> 2 applied from t=%.1fs to t=%.1fs: %.2fs wall, "
          "%.2fs in zonesync, %.2fs CPU, +%d -%d entries" %
          (ta, tb, tdelta, js["seconds"], cdelta, js["added"],
           js["deleted"]))
    for ph in ("before", "apply", "after"):
        v = [x for x in phases.get(ph, []) if x[0] == x[0]]
        if v:
            print("%-6s: mean %.0f qps over %d s, checker errors %d" %
                  (ph, sum(x[0] for x in v) / len(v), len(v),
                   sum(x[2] for x in v)))
    m = re.search(r"Response codes:\s*(.*)", out)
    print("dnsperf response codes: %s" % (m.group(1) if m else "?"))
    m = re.search(r"Queries lost:\s*(.*)", out)
    print("dnsperf queries lost: %s" % (m.group(1) if m else "?"))
    print("load average: %.1f %.1f %.1f" % os.getloadavg())
    print("apply speed: snapshot %.0f entries/s, delta %.0f ops/s; "
          "digest check %.3fs (O(datasets), not O(entries))" %
          (N / tsnap, (js["added"] + js["deleted"]) / max(tdelta, 1e-9),
           tst))


if __name__ == "__main__":
    main()
