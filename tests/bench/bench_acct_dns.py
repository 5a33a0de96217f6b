#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The cost of accounting over DNS (issue 6 item 5), with the per-name
sketch and the HTTP endpoint in place.  Not run by CI.

Two resolverd in config mode, one worker thread each, both pinned to
CPU 0 (taskset, as bench_dns.py does); dnsperf pinned to CPU 1 saturates
one server at a time, rounds alternating on/off so drifting machine load
hits both alike.  "on" is accounting = yes with http = 127.0.0.1@PORT
(scraped once a second during its rounds, as Prometheus would, with
--scrape); "off" is accounting = no.  Two query mixes:

  distinct   20000 names, nearly all different: the worst case for the
             name sketch (a worker merges its name table every 256 new
             names)
  repeated   200 names asked over and over: the usual mail-server case

For each mix: the median queries/s over the rounds and the ratio on/off
(target >= 0.95), and the server's queries per CPU-second (less
sensitive to other load on the machine).

usage: tests/bench/bench_acct_dns.py [--build DIR] [--rounds N]
       [--seconds S] [--scrape] [--no-http] [--work DIR]
       [--mix distinct|repeated|both]
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SERVER_CPU, CLIENT_CPU = "0", "1"


def cpu_seconds(pid):
    """utime + stime of a process, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def write_data(d):
    rnd = random.Random(6)
    nets = set()
    while len(nets) < 20000:
        nets.add("%d.%d.%d.0/24" % (rnd.randrange(1, 224),
                                    rnd.randrange(256), rnd.randrange(256)))
    nets = sorted(nets)
    with open(os.path.join(d, "bl.txt"), "w") as f:
        f.write(":127.0.0.2:listed\n127.0.0.2\n" + "\n".join(nets) + "\n")

    def name():
        if rnd.random() < 0.2:  # 20% listed
            o = nets[rnd.randrange(len(nets))].split("/")[0].split(".")
            o[3] = str(rnd.randrange(256))
        else:
            o = [str(rnd.randrange(224, 256)), str(rnd.randrange(256)),
                 str(rnd.randrange(256)), str(rnd.randrange(256))]
        return "%s.bl.test A\n" % ".".join(reversed(o))

    with open(os.path.join(d, "distinct.txt"), "w") as f:
        for _ in range(20000):
            f.write(name())
    few = [name() for _ in range(200)]
    with open(os.path.join(d, "repeated.txt"), "w") as f:
        for i in range(20000):
            f.write(few[i % len(few)])


class Server(rdtest.Server):
    """resolverd in config mode, pinned to SERVER_CPU, accounting on or
    off; started and stopped by its PID (rdtest.Server)."""

    def __init__(self, rd, d, name, accounting, http=True):
        self.name = name
        self.port = rdtest.free_port()
        self.hport = rdtest.free_port() if accounting and http else None
        conf = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\n"
                "database = %s\naccounting = %s\n" % (
                    self.port, os.path.join(d, "db-" + name),
                    "yes" if accounting else "no"))
        if self.hport:
            conf += "http = 127.0.0.1@%d\n" % self.hport
        if os.geteuid() == 0:
            conf += "user = nobody\n"
        conf += "[zone bl.test]\ndataset = ip4set:%s\n" % os.path.join(
            d, "bl.txt")
        path = rdtest.write(d, name + ".conf", conf)
        super().__init__(["taskset", "-c", SERVER_CPU, rd, "-d", "-c", path],
                         log=os.path.join(d, name + ".log"))
        self.pid = self.proc.pid  # taskset execs resolverd
        try:
            rdtest.wait_answer(self.port, "2.0.0.127.bl.test", self.proc, 30)
        except Exception:
            self.stop()
            raise


def scraper(hport, stop, counts):
    while not stop.is_set():
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/metrics" % hport, timeout=2) as r:
                r.read()
            counts[0] += 1
        except OSError:
            counts[1] += 1
        stop.wait(1.0)


def one_round(s, qfile, seconds, scrape):
    stop = threading.Event()
    counts = [0, 0]
    t = None
    if scrape and s.hport:
        t = threading.Thread(target=scraper, args=(s.hport, stop, counts))
        t.start()
    c0 = cpu_seconds(s.pid)
    p = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p",
         str(s.port), "-d", qfile, "-l", str(seconds), "-c", "4",
         "-q", "200", "-t", "2"], capture_output=True, text=True)
    used = cpu_seconds(s.pid) - c0
    stop.set()
    if t:
        t.join()
    m = re.search(r"Queries per second:\s+([\d.]+)", p.stdout)
    done = re.search(r"Queries completed:\s+(\d+)", p.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", p.stdout)
    if not m or not done:
        raise RuntimeError("dnsperf: %s %s" % (p.stdout, p.stderr))
    return {"qps": float(m.group(1)),
            "per_cpu": int(done.group(1)) / used if used else 0.0,
            "lost": int(lost.group(1)) if lost else -1,
            "scrapes": counts[0], "scrape_errors": counts[1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--scrape", action="store_true",
                    help="GET /metrics once a second during 'on' rounds")
    ap.add_argument("--no-http", action="store_true",
                    help="no http = key (a build without http.c)")
    ap.add_argument("--mix", default="both",
                    choices=("distinct", "repeated", "both"))
    ap.add_argument("--work")
    a = ap.parse_args()
    rd = os.path.join(a.build, "resolverd", "resolverd")
    if not shutil.which("dnsperf"):
        print("dnsperf not installed", file=sys.stderr)
        return 77
    d = a.work or tempfile.mkdtemp(prefix="rd-bacctdns-")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    write_data(d)
    servers = []
    try:
        on = Server(rd, d, "acct-on", True, not a.no_http)
        servers.append(on)
        off = Server(rd, d, "acct-off", False)
        servers.append(off)
        mixes = ("distinct", "repeated") if a.mix == "both" else (a.mix,)
        for mix in mixes:
            qfile = os.path.join(d, mix + ".txt")
            res = {"acct-on": [], "acct-off": []}
            for r in range(a.rounds):
                order = (on, off) if r % 2 == 0 else (off, on)
                for s in order:
                    x = one_round(s, qfile, a.seconds, a.scrape)
                    res[s.name].append(x)
                    print("%-8s round %d %-8s %9.0f q/s %9.0f q/CPU-s "
                          "lost %d%s" % (
                              mix, r + 1, s.name, x["qps"], x["per_cpu"],
                              x["lost"],
                              " scrapes %d (errors %d)" % (
                                  x["scrapes"], x["scrape_errors"])
                              if s.hport and a.scrape else ""),
                          flush=True)
            med = {n: (statistics.median(x["qps"] for x in v),
                       statistics.median(x["per_cpu"] for x in v))
                   for n, v in res.items()}
            print("%s: on %.0f q/s (%.0f q/CPU-s), off %.0f q/s "
                  "(%.0f q/CPU-s)" % (mix, med["acct-on"][0],
                                      med["acct-on"][1], med["acct-off"][0],
                                      med["acct-off"][1]))
            print("%s: accounting on/off = %.3f (q/s), %.3f (q/CPU-s); "
                  "target >= 0.95" % (
                      mix, med["acct-on"][0] / med["acct-off"][0],
                      med["acct-on"][1] / med["acct-off"][1]), flush=True)
    finally:
        for s in servers:
            s.stop()
        if not a.work:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
