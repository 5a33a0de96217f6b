#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The cost of accounting (issue 6): resolverd with "accounting = yes"
against "accounting = no" (ACLs still checked), both in config mode with
one thread pinned to CPU 0, dnsperf on CPU 1, saturated rounds
alternating between the two servers.  Not run by CI.

usage: tests/bench/bench_acct.py RESOLVERD [--rounds N] [--seconds S]
       [--work DIR]
"""
import argparse
import os
import pwd
import random
import re
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402


def cpu_seconds(pid):
    """utime + stime of a process, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("resolverd")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--work")
    a = ap.parse_args()
    d = a.work or tempfile.mkdtemp(prefix="rd-bacct-")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    rnd = random.Random(6)
    nets = set()
    while len(nets) < 20000:
        nets.add("%d.%d.%d.0/24" % (rnd.randrange(1, 224),
                                    rnd.randrange(256), rnd.randrange(256)))
    nets = sorted(nets)
    with open(os.path.join(d, "bl.txt"), "w") as f:
        f.write(":127.0.0.2:listed\n" + "\n".join(nets) + "\n")
    with open(os.path.join(d, "queries.txt"), "w") as f:
        for i in range(20000):
            if i % 5 == 0:  # 20% listed
                o = nets[rnd.randrange(len(nets))].split("/")[0].split(".")
                o[3] = str(rnd.randrange(256))
            else:
                o = [str(rnd.randrange(224, 256)), str(rnd.randrange(256)),
                     str(rnd.randrange(256)), str(rnd.randrange(256))]
            f.write("%s.bl.test A\n" % ".".join(reversed(o)))
    srv = {}
    procs = []
    try:
        for name, on in (("acct-on", "yes"), ("acct-off", "no")):
            port = rdtest.free_port()
            conf = os.path.join(d, name + ".conf")
            with open(conf, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\n"
                        "database = %s\naccounting = %s\n" % (
                            port, os.path.join(d, "db-" + name), on))
                if os.geteuid() == 0:
                    f.write("user = nobody\n")
                f.write("[zone bl.test]\ndataset = ip4set:%s\n" %
                        os.path.join(d, "bl.txt"))
            p = subprocess.Popen(["taskset", "-c", "0", a.resolverd, "-d",
                                  "-c", conf],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            procs.append(p)
            srv[name] = (port, p.pid)
        time.sleep(2)
        res = {n: [] for n in srv}
        cpu = {n: [] for n in srv}
        for r in range(a.rounds):
            for name, (port, pid) in srv.items():
                c0 = cpu_seconds(pid)
                out = subprocess.run(
                    ["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1",
                     "-p", str(port), "-d",
                     os.path.join(d, "queries.txt"), "-l",
                     str(a.seconds), "-c", "4", "-q", "200", "-t", "2"],
                    capture_output=True, text=True).stdout
                m = re.search(r"Queries per second:\s+([\d.]+)", out)
                lost = re.search(r"Queries lost:\s+(\d+)", out)
                qps = float(m.group(1)) if m else 0.0
                used = cpu_seconds(pid) - c0
                done = re.search(r"Queries completed:\s+(\d+)", out)
                per_cpu = int(done.group(1)) / used if done and used else 0
                res[name].append(qps)
                cpu[name].append(per_cpu)
                print("round %d %-8s %10.0f q/s, %10.0f q per server "
                      "CPU-second (lost %s)" % (
                          r + 1, name, qps, per_cpu,
                          lost.group(1) if lost else "?"), flush=True)
        med = {}
        for n in srv:
            v, c = sorted(res[n]), sorted(cpu[n])
            med[n] = (v[len(v) // 2], c[len(c) // 2])
            print("%-8s median %.0f q/s, %.0f q/CPU-s; q/s rounds %s" % (
                n, med[n][0], med[n][1], " ".join("%.0f" % x for x in v)))
        print("accounting on / off: %.1f%% q/s, %.1f%% q per CPU-second" % (
            100.0 * med["acct-on"][0] / med["acct-off"][0],
            100.0 * med["acct-on"][1] / med["acct-off"][1]))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
