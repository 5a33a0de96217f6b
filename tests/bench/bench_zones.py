#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Foundation benchmark: libzones against rbldnsd on the same files.

For a 1M-entry ip4set and a 1M-entry dnset (random, seeded) it measures,
side by side in one run:
  - zonetool compile time and database size (data.mdb),
  - in-process lookups per second on one core (bench_lookup: zone match,
    lookup, render; 20% listed names),
  - rbldnsd's load time (start to first answer) and data memory (RSS
    with the zone minus RSS with an empty zone), and our ratios.

usage: tests/bench/bench_zones.py [-n ENTRIES] [--build DIR] [--seconds S]
Not run by CI: timings drift on a shared machine; compare the ratios.
"""
import argparse
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def gen_ip4set(path, n, rng):
    listed = []
    with open(path, "w") as f:
        f.write(":127.0.0.2:Listed: see https://bl.example/?$\n")
        seen = set()
        while len(seen) < n:
            a = rng.getrandbits(32)
            if a in seen or (a >> 24) in (0, 127):
                continue
            seen.add(a)
            f.write("%d.%d.%d.%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255,
                                       a & 255))
        listed = rng.sample(sorted(seen), min(n, 200000))
    return listed, seen


def rand_label(rng, lo, hi):
    k = rng.randint(lo, hi)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                   for _ in range(k))


def gen_dnset(path, n, rng):
    names = set()
    tlds = ["com", "net", "org", "info", "biz", "ru", "de", "xyz"]
    while len(names) < n:
        names.add("%s.%s.%s" % (rand_label(rng, 6, 12), rand_label(rng, 6, 9),
                                rng.choice(tlds)))
    with open(path, "w") as f:
        f.write(":127.0.1.2:Listed domain $\n")
        for nm in names:
            f.write(nm + "\n")
    return rng.sample(sorted(names), min(n, 200000)), names


def dns_query(port, name, timeout=0.2):
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for lab in name.split("."):
        q += bytes([len(lab)]) + lab.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        return s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rbldnsd_measure(tmp, spec, probe):
    """Start rbldnsd on spec; time to first answer, RSS in KiB."""
    port = rdtest.free_port()
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/sbin/rbldnsd", "-n", "-u", "nobody", "-c", "0",
                          "-b", "127.0.0.1/%d" % port, spec],
                         cwd=tmp, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = t0 + 120
        while time.monotonic() < deadline:
            if dns_query(port, probe) is not None:
                break
            if p.poll() is not None:
                raise RuntimeError("rbldnsd exited %s" % p.returncode)
            time.sleep(0.01)
        load = time.monotonic() - t0
        rss = rss_kb(p.pid)
    finally:
        p.terminate()
        p.wait(10)
    return load, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=20261128)
    args = ap.parse_args()
    zonetool = os.path.join(args.build, "tools/zonetool/zonetool")
    bench = os.path.join(args.build, "tests/bench/bench_lookup")
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="rd-bench-")
    os.chmod(tmp, 0o755)
    rows = []
    try:
        ip_listed, ip_all = gen_ip4set(os.path.join(tmp, "ip4.txt"), args.n,
                                       rng)
        dn_listed, dn_all = gen_dnset(os.path.join(tmp, "dn.txt"), args.n, rng)
        with open(os.path.join(tmp, "empty.txt"), "w") as f:
            f.write("127.0.0.2\n")
        # query mixes: 20% listed, 80% not
        ipq, dnq = [], []
        for i in range(100000):
            if i % 5 == 0:
                a = rng.choice(ip_listed)
            else:
                a = rng.getrandbits(32)
                while a in ip_all:
                    a = rng.getrandbits(32)
            ipq.append("%d.%d.%d.%d.ip.bench" % (a & 255, a >> 8 & 255,
                                                 a >> 16 & 255, a >> 24))
            if i % 5 == 0:
                dnq.append(rng.choice(dn_listed) + ".dn.bench")
            else:
                dnq.append("%s.%s.com.dn.bench" % (rand_label(rng, 6, 12),
                                                   rand_label(rng, 6, 9)))
        for name, typ, fname, qs in (("ip4set", "ip4set", "ip4.txt", ipq),
                                     ("dnset", "dnset", "dn.txt", dnq)):
            zone = "ip.bench" if typ == "ip4set" else "dn.bench"
            db = os.path.join(tmp, "db-" + name)
            qf = os.path.join(tmp, "q-" + name)
            with open(qf, "w") as f:
                f.write("\n".join(qs) + "\n")
            t0 = time.monotonic()
            subprocess.run([zonetool, "compile", "-d", db,
                            "%s:%s:%s" % (zone, typ,
                                          os.path.join(tmp, fname))],
                           check=True, stdout=subprocess.DEVNULL)
            compile_s = time.monotonic() - t0
            size = os.path.getsize(os.path.join(db, "data.mdb"))
            out = subprocess.run(["taskset", "-c", "0", bench, db, qf,
                                  str(args.seconds)], check=True,
                                 capture_output=True, text=True).stdout
            per_sec = float(out.split("per_sec=")[1].split()[0])
            probe = "2.0.0.127." + zone
            load, rss = rbldnsd_measure(tmp, "%s:%s:%s" % (zone, typ, fname),
                                        probe)
            _, rss0 = rbldnsd_measure(tmp, "%s:ip4set:empty.txt" % zone,
                                      probe)
            rows.append((name, compile_s, size, per_sec, load,
                         (rss - rss0) * 1024))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("entries per dataset: %d" % args.n)
    print("%-7s %10s %12s %8s %12s %12s %12s %8s" % (
        "dataset", "compile_s", "db_bytes", "B/entry", "lookups/s",
        "rbl_load_s", "rbl_mem_B", "db/mem"))
    for name, cs, size, ps, load, mem in rows:
        print("%-7s %10.2f %12d %8.1f %12.0f %12.2f %12d %8.2f" % (
            name, cs, size, size / args.n, ps, load, mem,
            size / mem if mem > 0 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
