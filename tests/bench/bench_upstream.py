#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Forwarded zones: resolverd's cache against unbound's, in one run.

Not run by CI.  Both forward the zone bl.bench to the same upstream (a
resolverd in rbldnsd drop-in mode serving an ip4set) and answer the same
names from their caches:

 1. resolverd (config mode, 1 thread, mode = forward) and unbound (1
    thread, forward-zone, iterator only) on CPU 0, the upstream and
    dnsperf on CPU 1;
 2. warm-up: every name of the set once through each (all misses), and a
    check that both give the same answers;
 3. cache hits: --rounds rounds of --seconds each, alternating servers,
    dnsperf saturating (queries/s, average latency, and the CPU the
    rest of the machine used meanwhile: a noisy round shows as one);
 4. the cost of a miss: --miss-names fresh names, one at a time, asked
    of the upstream directly, of resolverd and of unbound (median and
    90th percentile round trip; the difference of the medians to the
    upstream's is what forwarding adds), and of a hit the same way;
 5. memory: a fresh resolverd with --rss-cache bytes of cache is asked
    --rss-names distinct names (millions by default); its RSS before and
    after, and its cache counters (SIGUSR1).

usage: tests/bench/bench_upstream.py [--build DIR] [--names N]
           [--seconds S] [--rounds R] [--miss-names N] [--rss-names N]
           [--rss-cache SIZE] [--skip-rss]
"""
import argparse
import os
import pwd
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SERVER_CPU, CLIENT_CPU = "0", "1"


def log(*a):
    print(*a, flush=True)


class Proc:
    def __init__(self, argv, log_path, cpus, env=None, cwd=None):
        self.log_path = log_path
        self.logf = open(log_path, "w")
        self.p = subprocess.Popen(["taskset", "-c", cpus] + argv,
                                  stdout=self.logf, stderr=subprocess.STDOUT,
                                  env=env, cwd=cwd)

    def rss_kib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.logf.close()


def ask(port, name, timeout=1.0):
    """(rcode, sorted A values) of one query, or None."""
    import dns.message
    import dns.query
    try:
        r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1",
                          port=port, timeout=timeout)
    except Exception:
        return None
    return r.rcode(), sorted(rd.to_text() for rs in r.answer for rd in rs)


def wait_up(port, name, proc, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.p.poll() is not None:
            raise RuntimeError("%s exited" % proc.log_path)
        if ask(port, name, 0.2) is not None:
            return
        time.sleep(0.1)
    raise RuntimeError("%s does not answer" % proc.log_path)


def rtts(port, names):
    """Median and 90th percentile round trip (us), one query at a time."""
    import dns.message
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.settimeout(2)
    out = []
    for n in names:
        w = dns.message.make_query(n, "A").to_wire()
        t = time.perf_counter()
        s.send(w)
        try:
            s.recv(4096)
        except socket.timeout:
            continue
        out.append((time.perf_counter() - t) * 1e6)
    s.close()
    out.sort()
    return out[len(out) // 2], out[len(out) * 9 // 10]


def cpu_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / \
        os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")


def dnsperf(port, qfile, out, seconds=None, runs=None, clients=4,
            outstanding=200, cpus=CLIENT_CPU, server=None):
    argv = ["taskset", "-c", cpus, "dnsperf", "-s", "127.0.0.1", "-p",
            str(port), "-d", qfile, "-c", str(clients), "-q",
            str(outstanding), "-t", "3"]
    if seconds:
        argv += ["-l", str(seconds)]
    if runs:
        argv += ["-n", str(runs)]
    b0, t0 = cpu_busy(), time.monotonic()
    s0 = proc_cpu(server.p.pid) if server else 0
    with open(out, "w") as f:
        rc = subprocess.run(argv, stdout=f,
                            stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - t0
    b1 = cpu_busy()
    s1 = proc_cpu(server.p.pid) if server else 0
    text = open(out).read()
    res = {}
    for k, pat in (("sent", r"Queries sent:\s+(\d+)"),
                   ("completed", r"Queries completed:\s+(\d+)"),
                   ("lost", r"Queries lost:\s+(\d+)"),
                   ("qps", r"Queries per second:\s+([\d.]+)"),
                   ("lat", r"Average Latency \(s\):\s+([\d.]+)")):
        m = re.search(pat, text)
        if m:
            res[k] = float(m.group(1))
    if rc != 0 or "qps" not in res:
        raise RuntimeError("dnsperf failed: see %s" % out)
    res["server_cpu"] = (s1 - s0) / wall
    # the whole machine's busy CPUs, less what server and client could use
    res["busy"] = (b1 - b0) / wall
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--names", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--miss-names", type=int, default=2000)
    ap.add_argument("--rss-names", type=int, default=2000000)
    ap.add_argument("--rss-cache", default="64m")
    ap.add_argument("--skip-rss", action="store_true")
    args = ap.parse_args()
    rd_bin = os.path.join(args.build, "resolverd", "resolverd")
    for tool in ("dnsperf", "unbound", "taskset"):
        if shutil.which(tool) is None:
            log("%s is not installed" % tool)
            return 77
    work = tempfile.mkdtemp(prefix="bench-upstream.")
    os.chmod(work, 0o777)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(work, nobody.pw_uid, nobody.pw_gid)
    procs = []
    rnd = random.Random(5)
    try:
        # the upstream's data: 5000 listed addresses in 10/8
        listed = set()
        while len(listed) < 5000:
            listed.add("10.%d.%d.%d" % (rnd.randrange(256),
                                       rnd.randrange(256),
                                       rnd.randrange(1, 255)))
        with open(os.path.join(work, "ip.txt"), "w") as f:
            f.write("$SOA 3600 ns.bl.bench hm.bl.bench 1 600 300 86400 "
                    "900\n$TTL 3600\n:127.0.0.2:listed\n")
            for a in sorted(listed):
                f.write(a + "\n")
        lst = sorted(listed)
        names = []
        for i in range(args.names):
            if i % 2 == 0:
                a = lst[i // 2 % len(lst)]
            else:
                a = "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256),
                                     rnd.randrange(1, 255))
            names.append(".".join(reversed(a.split("."))) + ".bl.bench")
        hits = os.path.join(work, "hits.txt")
        with open(hits, "w") as f:
            f.writelines("%s A\n" % n for n in names)

        up = rdtest.free_port()
        env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(work, "up"))
        upp = Proc([rd_bin, "-n", "-u", "nobody", "-b", "127.0.0.1/%d" % up,
                    "bl.bench:ip4set:ip.txt"], os.path.join(work, "up.log"),
                   CLIENT_CPU, env=env, cwd=work)
        procs.append(upp)
        wait_up(up, "1.0.0.10.bl.bench", upp)

        def start_resolverd(cache, tag):
            port = rdtest.free_port()
            conf = os.path.join(work, "rd-%s.conf" % tag)
            with open(conf, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\n"
                        "database = %s/db-%s\ncache-size = %s\n"
                        "%s\n[zone bl.bench]\nmode = forward\n"
                        "upstream = 127.0.0.1@%d\n" % (
                            port, work, tag, cache,
                            "user = nobody" if os.geteuid() == 0 else "",
                            up))
            p = Proc([rd_bin, "-d", "-c", conf],
                     os.path.join(work, "rd-%s.log" % tag), SERVER_CPU)
            procs.append(p)
            wait_up(port, "0.0.0.0.bl.bench", p)
            return port, p

        rport, rdp = start_resolverd("256m", "hits")
        uport = rdtest.free_port()
        uconf = os.path.join(work, "unbound.conf")
        with open(uconf, "w") as f:
            f.write("""server:
  interface: 127.0.0.1
  port: %d
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%s"
  pidfile: ""
  use-syslog: no
  verbosity: 0
  num-threads: 1
  module-config: "iterator"
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  msg-cache-size: 256m
  rrset-cache-size: 256m
  qname-minimisation: no
  minimal-responses: yes
forward-zone:
  name: "bl.bench"
  forward-addr: 127.0.0.1@%d
""" % (uport, work, up))
        ubp = Proc(["unbound", "-d", "-c", uconf],
                   os.path.join(work, "unbound.log"), SERVER_CPU)
        procs.append(ubp)
        wait_up(uport, "0.0.0.0.bl.bench", ubp)

        log("versions: %s; unbound %s" % (
            subprocess.run([rd_bin, "-h"], capture_output=True,
                           text=True).stdout.split("\n")[0],
            subprocess.run(["unbound", "-V"], capture_output=True,
                           text=True).stdout.split("\n")[0]))
        log("names: %d (half listed), upstream: resolverd drop-in, TTL "
            "3600 / negative 900" % len(names))
        # 2. warm-up, then the answers agree
        for port, p, tag in ((rport, rdp, "resolverd"),
                             (uport, ubp, "unbound")):
            r = dnsperf(port, hits, os.path.join(work, "warm-%s.txt" % tag),
                        runs=1, clients=1, outstanding=50)
            log("warm-up %-9s %d queries, %d lost" % (
                tag, r["completed"], r["lost"]))
        diff = 0
        for n in rnd.sample(names, 200):
            a, b = ask(rport, n), ask(uport, n)
            if a is None or b is None or a != b:
                diff += 1
        log("answers compared on 200 names: %d differ" % diff)

        # 3. cache hits, alternating
        res = {"resolverd": [], "unbound": []}
        for i in range(args.rounds):
            for port, p, tag in ((rport, rdp, "resolverd"),
                                 (uport, ubp, "unbound")):
                r = dnsperf(port, hits,
                            os.path.join(work, "hits-%s-%d.txt" % (tag, i)),
                            seconds=args.seconds, server=p)
                res[tag].append(r)
                r["cpu_us"] = r["server_cpu"] * 1e6 / max(1.0, r["qps"])
                log("round %d %-9s %8.0f q/s  avg %.0f us  lost %d  "
                    "server %.2f CPU = %.2f us/query  machine busy %.2f "
                    "CPUs" % (i + 1, tag, r["qps"], r["lat"] * 1e6,
                              r["lost"], r["server_cpu"], r["cpu_us"],
                              r["busy"]))
        med = dict((k, statistics.median(x["qps"] for x in v))
                   for k, v in res.items())
        cpu = dict((k, statistics.median(x["cpu_us"] for x in v))
                   for k, v in res.items())
        log("cache hits, median q/s: resolverd %.0f, unbound %.0f, "
            "ratio %.2f; server CPU per query: resolverd %.2f us, "
            "unbound %.2f us" % (med["resolverd"], med["unbound"],
                                 med["resolverd"] / med["unbound"],
                                 cpu["resolverd"], cpu["unbound"]))

        # 4. a miss, one at a time: per-query times, so that a stall of
        # the shared machine shows in the tail and not in the median
        lat = {}
        for port, tag, third in ((up, "upstream", 1), (rport, "resolverd", 2),
                                 (uport, "unbound", 3)):
            lat[tag] = rtts(port, ["%d.%d.%d.11.bl.bench" % (
                i % 250, i // 250 % 250, third)
                for i in range(args.miss_names)])
            lat[tag + " hit"] = rtts(port, rnd.sample(names, 2000))
        for tag in ("upstream", "resolverd", "unbound"):
            log("one query at a time, %-9s miss: median %4.0f us, p90 %4.0f "
                "us; hit: median %4.0f us" % (
                    tag, lat[tag][0], lat[tag][1], lat[tag + " hit"][0]))
        log("a miss adds (median): resolverd %.0f us, unbound %.0f us" % (
            lat["resolverd"][0] - lat["upstream"][0],
            lat["unbound"][0] - lat["upstream"][0]))
        for p in (rdp, ubp):
            p.stop()

        # 5. memory under millions of distinct names
        if not args.skip_rss:
            port, p = start_resolverd(args.rss_cache, "rss")
            many = os.path.join(work, "many.txt")
            with open(many, "w") as f:
                for i in range(args.rss_names):
                    f.write("n%d.bl.bench A\n" % i)
            rss0 = p.rss_kib()
            t0 = time.monotonic()
            r = dnsperf(port, many, os.path.join(work, "many-out.txt"),
                        runs=1, clients=4, outstanding=500)
            dt = time.monotonic() - t0
            rss1 = p.rss_kib()
            p.p.send_signal(signal.SIGUSR1)
            time.sleep(1)
            cache = [x for x in open(p.log_path).read().splitlines()
                     if "cache:" in x]
            log("memory: %d distinct names in %.0f s (%d answered, %d "
                "lost); RSS %d KiB before, %d KiB after (+%d KiB) with "
                "cache-size %s" % (args.rss_names, dt, r["completed"],
                                   r["lost"], rss0, rss1, rss1 - rss0,
                                   args.rss_cache))
            if cache:
                log("  " + cache[-1].split("resolverd: ", 1)[-1])
    finally:
        for p in procs:
            p.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
