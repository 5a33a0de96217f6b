#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""resolverd against rbldnsd over DNS, with dnsperf, in one run.

Not run by CI.  See tests/bench/README.md for how to run it and how to
read its output.  In order, it:

 1. generates (seeded, cached in --work) a 1M-entry ip4set, a 500k-entry
    dnset, a 100k-entry ip6trie and a query file: 20% listed, 80% not,
    A and TXT, over the three zones, every query classified;
 2. starts rbldnsd (-u nobody), resolverd in config mode with 1 thread on
    a database compiled by "zonetool compile" (timed), resolverd in
    rbldnsd drop-in mode on the same files, and unbound as a reference
    (the same query file answered from a static local-zone); all pinned
    to CPU 0, dnsperf to CPU 1;
 3. checks that the servers agree on a few hundred answers;
 4. saturated rounds, alternating servers: queries/s, and the server's
    and dnsperf's CPU use (so a client-bound round shows as one), answers
    per server CPU-second and, where the machine has a PMU, perf stat
    instructions per query;
 5. equal-rate rounds (every server offered the same rate, below
    rbldnsd's saturation) with per-query latencies (dnsperf -v):
    p50/p99/p99.9 and the rcode of every answer checked against its class;
 6. per-class saturated queries/s (listed / not listed, per zone);
 7. both cores: servers and dnsperf (-T 2) on CPUs 0-1, resolverd with
    1 and 2 threads against rbldnsd;
 7b. user-space instructions per query under cachegrind (icount);
 8. re-import under load: -c 1, 1% of the ip4set lines changed mid-run,
    queries/s per second (dnsperf -S 1) and the time until the new data
    is served, resolverd drop-in against rbldnsd and rbldnsd -f;
 9. start to first answer on a 10M-entry ip4set: resolverd on a compiled
    database (compile timed separately) and drop-in restart, against
    rbldnsd's load.

usage: tests/bench/bench_dns.py [--build DIR] [--work DIR] [--quick] ...
"""
import argparse
import json
import os
import pwd
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_data as bd  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import rdtest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RBLDNSD = "/usr/sbin/rbldnsd"
UNBOUND = "/usr/sbin/unbound"
SERVER_CPU, CLIENT_CPU = "0", "1"
PROBE4 = "2.0.0.127." + bd.ZONE4
running = []  # every Server started, stopped by PID at exit
NICE = []  # ["nice", "-n", N] with --nice
RT = []  # ["chrt", "-f", "1"] for dnsperf while --rt phases run
WRAP = []  # valgrind ... in the icount phase


def log(*a):
    print(*a, flush=True)


def wire_query(name, qtype=1, qid=0x5151):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for lab in name.rstrip(".").split("."):
        q += bytes([len(lab)]) + lab.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def probe(port, wire, timeout=0.05):
    """(rcode, ancount) of one UDP answer, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(wire, ("127.0.0.1", port))
        r = s.recv(4096)
        if len(r) < 12 or r[:2] != wire[:2]:
            return None
        return r[3] & 15, struct.unpack(">H", r[6:8])[0]
    except OSError:
        return None
    finally:
        s.close()


def is_listed(ans):
    return ans is not None and ans[0] == 0 and ans[1] > 0


def is_nxdomain(ans):
    return ans is not None and ans[0] == 3


class Server:
    """One server process, started under taskset, stopped by its PID."""

    def __init__(self, name, argv, port, cwd, log_path, env=None,
                 cpus=SERVER_CPU):
        self.name, self.port, self.log_path = name, port, log_path
        self.logf = open(log_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["taskset", "-c", cpus] + NICE +
                                     WRAP + argv,
                                     cwd=cwd, env=env, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        running.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def pin(self, cpus):
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(self.pid)],
                       check=True, stdout=subprocess.DEVNULL)

    def realtime(self, on, rr=False):
        """SCHED_FIFO 1 for every thread (--rt), or back to normal.
        rr: SCHED_RR 1 instead (re-import phase): resolverd's main thread
        imports on the workers' CPU; left SCHED_OTHER beside FIFO workers
        it gets only what RT throttling leaves (5%) and a 1% change took
        10 s to be served; FIFO would let it run to its end before the
        workers; RR shares the CPU in 100 ms slices."""
        pol = ["-r" if rr else "-f", "-p", "1"] if on else ["-o", "-p", "0"]
        subprocess.run(["chrt", "-a"] + pol + [str(self.pid)],
                       check=True, stdout=subprocess.DEVNULL)

    def cpu_s(self):
        """CPU seconds of all threads (schedstat: ns on CPU)."""
        t = 0
        d = "/proc/%d/task" % self.pid
        try:
            for tid in os.listdir(d):
                try:
                    with open("%s/%s/schedstat" % (d, tid)) as f:
                        t += int(f.read().split()[0])
                except OSError:
                    pass
        except OSError:
            pass
        return t / 1e9

    def cpu_split(self):
        """(user, system) CPU seconds of all threads, from the ticks in
        /proc/PID/task/TID/stat."""
        u = st = 0
        d = "/proc/%d/task" % self.pid
        try:
            for tid in os.listdir(d):
                try:
                    with open("%s/%s/stat" % (d, tid)) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    u += int(fields[11])
                    st += int(fields[12])
                except (OSError, IndexError, ValueError):
                    pass
        except OSError:
            pass
        hz = os.sysconf("SC_CLK_TCK")
        return u / hz, st / hz

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_first(self, wire, seconds=300, poll=0.002, ok=is_listed):
        """Seconds from exec to the first answer that ok() accepts."""
        end = self.t0 + seconds
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited %s:\n%s" % (
                    self.name, self.proc.returncode, self.log_text()[-2000:]))
            if ok(probe(self.port, wire, timeout=poll * 5)):
                return time.monotonic() - self.t0
            time.sleep(poll)
        raise RuntimeError("%s: no answer within %ss" % (self.name, seconds))

    def wait_log(self, pattern, seconds=300):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if re.search(pattern, self.log_text(), re.M):
                return time.monotonic() - self.t0
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited" % self.name)
            time.sleep(0.02)
        raise RuntimeError("%s: no %r in its log" % (self.name, pattern))

    def wait_idle(self, seconds=300, step=0.5, frac=0.02):
        """Until the process uses under frac of a CPU for step seconds
        (an import after start has finished)."""
        end = time.monotonic() + seconds
        c = self.cpu_s()
        while time.monotonic() < end:
            time.sleep(step)
            n = self.cpu_s()
            if n - c < step * frac:
                return
            c = n
        raise RuntimeError("%s: still busy after %ss" % (self.name, seconds))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.logf.close()
        if self in running:
            running.remove(self)
        return self.proc.returncode


def chown_nobody(path):
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("nobody")
    for d, dirs, files in os.walk(path):
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), pw.pw_uid, pw.pw_gid)


def mkdir755(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def specs(d4="ip4.txt"):
    return ["%s:ip4set:%s" % (bd.ZONE4, d4), "%s:dnset:dn.txt" % bd.ZONEDN,
            "%s:ip6trie:ip6.txt" % bd.ZONE6]


def start_rbldnsd(work, name="rbldnsd", extra=(), spec=None, cpus=SERVER_CPU):
    port = rdtest.free_port()
    argv = [RBLDNSD, "-n", "-u", "nobody", "-b", "127.0.0.1/%d" % port]
    return Server(name, argv + list(extra) + (spec or specs()), port, work,
                  os.path.join(work, "log-%s.txt" % name), cpus=cpus)


def start_dropin(args, work, state, name="rd-dropin", extra=(), spec=None,
                 cpus=SERVER_CPU):
    port = rdtest.free_port()
    env = dict(os.environ, RESOLVERD_STATEDIR=state)
    argv = [args.resolverd, "-n", "-u", "nobody", "-b",
            "127.0.0.1/%d" % port]
    return Server(name, argv + list(extra) + (spec or specs()), port, work,
                  os.path.join(work, "log-%s.txt" % name), env=env,
                  cpus=cpus)


def start_config(args, work, db, threads, name, zones, cpus=SERVER_CPU):
    """zones: [(zone, "type:file")]."""
    port = rdtest.free_port()
    conf = os.path.join(work, "%s.conf" % name)
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1@%d\nthreads = %d\n"
                "database = %s\nuser = nobody\n" % (port, threads, db))
        for z, ds in zones:
            f.write("\n[zone %s]\ndataset = %s\n" % (z, ds))
    os.chmod(conf, 0o644)
    return Server(name, [args.resolverd, "-d", "-c", conf], port, work,
                  os.path.join(work, "log-%s.txt" % name), cpus=cpus)


MAIN_ZONES = [(bd.ZONE4, "ip4set:ip4.txt"), (bd.ZONEDN, "dnset:dn.txt"),
              (bd.ZONE6, "ip6trie:ip6.txt")]


def start_unbound(work, queries, cpus=SERVER_CPU):
    """unbound serving the listed names of the query file as local-data
    in static local-zones: a reference for what a mature C server does
    with this query mix on this machine (not the same answers: no NS in
    AUTHORITY, one A and one TXT per listed name)."""
    port = rdtest.free_port()
    conf = os.path.join(work, "unbound.conf")
    names = sorted({q[0] for q in queries if "/listed/" in q[2]})
    with open(conf, "w") as f:
        f.write("server:\n  interface: 127.0.0.1\n  port: %d\n"
                "  num-threads: 1\n  do-daemonize: no\n  chroot: \"\"\n"
                "  username: \"nobody\"\n  directory: \"%s\"\n"
                "  pidfile: \"\"\n  use-syslog: no\n  logfile: \"\"\n"
                "  verbosity: 0\n  do-ip6: no\n  do-tcp: yes\n"
                "  so-reuseport: no\n  module-config: \"iterator\"\n"
                "  access-control: 127.0.0.0/8 allow\n"
                "  num-queries-per-thread: 4096\n" % (port, work))
        for z in bd.ZONES.values():
            f.write("  local-zone: \"%s.\" static\n"
                    "  local-data: \"%s. 3600 IN SOA ns1.bench. "
                    "hostmaster.bench. 2026112901 600 300 86400 300\"\n"
                    % (z, z))
        for n in names:
            f.write("  local-data: \"%s. 2100 IN A 127.0.0.2\"\n"
                    "  local-data: '%s. 2100 IN TXT \"Listed\"'\n" % (n, n))
        f.write("remote-control:\n  control-enable: no\n")
    os.chmod(conf, 0o644)
    return Server("unbound", [UNBOUND, "-d", "-c", conf], port, work,
                  os.path.join(work, "log-unbound.txt"), cpus=cpus)


# ---------------------------------------------------------------- dnsperf

def dnsperf(port, qfile, seconds, out, cpus=CLIENT_CPU, clients=4,
            threads=1, outstanding=200, rate=None, verbose=False,
            stats=False, server=None):
    argv = ["taskset", "-c", cpus] + NICE + RT + [
            "dnsperf", "-s", "127.0.0.1", "-p",
            str(port), "-d", qfile, "-l", str(seconds), "-c", str(clients),
            "-T", str(threads), "-q", str(outstanding), "-t", "2"]
    if rate:
        argv += ["-Q", str(int(rate))]
    if verbose:
        argv.append("-v")
    if stats:
        argv += ["-S", "1"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ps = perf_stat_start(server, out) if server else None
    c0 = server.cpu_s() if server else 0
    s0 = server.cpu_split() if server else (0, 0)
    b0 = cpu_busy()
    t0 = time.monotonic()
    with open(out, "w") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
        p.wait()
    wall = time.monotonic() - t0
    c1 = server.cpu_s() if server else 0
    s1 = server.cpu_split() if server else (0, 0)
    ins = perf_stat_end(ps)
    b1 = cpu_busy()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = parse_dnsperf(out)
    # the tick counters split user from system time, but on a CPU that
    # is idle part of the time (NOHZ) each tick charges a whole jiffy to
    # whoever runs: scale their split to the exact schedstat total
    nq = max(1.0, res.get("completed", 0))
    du, ds = s1[0] - s0[0], s1[1] - s0[1]
    tot = (c1 - c0) / nq * 1e6
    res["user_us"] = tot * du / (du + ds) if du + ds > 0 else 0.0
    res["sys_us"] = tot - res["user_us"]
    res["client_cpu"] = ((r1.ru_utime + r1.ru_stime) -
                         (r0.ru_utime + r0.ru_stime)) / wall
    res["server_cpu"] = (c1 - c0) / wall
    # capacity: answers per second of the server's own CPU (all threads),
    # from schedstat (exact) and from utime+stime of /proc/PID/task/*/stat
    # (ticks: coarse, overcharges a partly idle NOHZ CPU)
    res["server_cpu_s"] = c1 - c0
    res["server_tick_s"] = du + ds
    res["q_per_cpu_s"] = nq / (c1 - c0) if c1 > c0 else 0.0
    res["q_per_tick_s"] = nq / (du + ds) if du + ds > 0 else 0.0
    # utilisation while queries ran: after the last one dnsperf waits -t
    # seconds for lost answers, and a server that lost some sits idle
    # then (server_cpu, over the whole wall time, undercounts it)
    run = nq / res["qps"] if res.get("qps") else wall
    res["server_util"] = min(1.0, (c1 - c0) / run) if run > 0 else 0.0
    if ins is not None:
        res["ins_u"], res["ins_k"] = ins[0] / nq, ins[1] / nq
    # what else ran meanwhile (other users of the machine), in CPUs
    res["other_cpu"] = max(0.0, (b1 - b0) / wall - res["server_cpu"] -
                           res["client_cpu"])
    if p.returncode != 0 or "qps" not in res:
        raise RuntimeError("dnsperf failed (%s): see %s" % (p.returncode,
                                                            out))
    return res


PERF = {}  # "ok": perf stat can count instructions here


def perf_ok():
    """Can perf stat count instructions:u and :k on this machine?  (Not
    in a VM without a PMU: perf prints "<not supported>".)"""
    if "ok" not in PERF:
        PERF["ok"] = False
        if shutil.which("perf"):
            r = subprocess.run(["perf", "stat", "-x", ",", "-e",
                                "instructions:u,instructions:k", "--",
                                "true"], capture_output=True, text=True)
            PERF["ok"] = r.returncode == 0 and "not supported" not in \
                r.stderr and "instructions" in r.stderr
    return PERF["ok"]


def perf_stat_start(server, out):
    """perf stat counting the server's instructions (every thread) while
    dnsperf runs, or None."""
    if not perf_ok():
        return None
    path = out + ".perf"
    p = subprocess.Popen(["perf", "stat", "-x", ",", "-o", path, "-e",
                          "instructions:u,instructions:k", "-p",
                          str(server.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.2)  # attached before the first query
    return p, path


def perf_stat_end(ps):
    """(user, kernel) instructions counted, or None."""
    if ps is None:
        return None
    p, path = ps
    p.send_signal(signal.SIGINT)
    p.wait()
    v = {}
    try:
        with open(path) as f:
            for line in f:
                f_ = line.strip().split(",")
                if len(f_) > 2 and f_[0].isdigit():
                    v[f_[2]] = int(f_[0])
    except OSError:
        return None
    if "instructions:u" not in v or "instructions:k" not in v:
        return None
    return v["instructions:u"], v["instructions:k"]


def dnsperf_quiet(args, port, qfile, seconds, out, **kw):
    """dnsperf, again (up to --retries times, after a pause) while other
    processes used more than --max-other CPUs during the run: on a shared
    machine their load decides q/s and latency more than the server."""
    for t in range(args.retries + 1):
        res = dnsperf(port, qfile, seconds, out, **kw)
        res["tries"] = t + 1
        res["noisy"] = res["other_cpu"] > args.max_other
        if not res["noisy"]:
            break
        if t < args.retries:
            log("    (other processes used %.0f%% CPU: again in %d s)" % (
                100 * res["other_cpu"], args.retry_wait))
            time.sleep(args.retry_wait)
    return res


def cpu_busy():
    """Busy CPU seconds of the whole machine (all CPUs), /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / \
        os.sysconf("SC_CLK_TCK")


def parse_dnsperf(path):
    res = {}
    pats = {"sent": r"Queries sent:\s+(\d+)",
            "completed": r"Queries completed:\s+(\d+)",
            "lost": r"Queries lost:\s+(\d+)",
            "qps": r"Queries per second:\s+([\d.]+)",
            "avg_lat": r"Average Latency \(s\):\s+([\d.]+)",
            "max_lat": r"Average Latency \(s\):.*max ([\d.]+)"}
    with open(path, errors="replace") as f:
        text = f.read()
    for k, p in pats.items():
        m = re.search(p, text)
        if m:
            res[k] = float(m.group(1))
    res["persec"] = [(float(a), float(b)) for a, b in
                     re.findall(r"^(\d{9,}\.\d+): ([\d.]+)$", text, re.M)]
    return res


def verbose_lines(path):
    """(rcode, name, type, latency) of every answer of a dnsperf -v run."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                p = line.split()
                if len(p) == 5:
                    yield p[1], p[2], p[3], float(p[4])


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    return sorted_vals[min(len(sorted_vals) - 1,
                           int(q * (len(sorted_vals) - 1) + 0.5))]


def med(v):
    return statistics.median(v) if v else float("nan")


# ---------------------------------------------------------------- data

def prepare(args, work):
    rng = random.Random(args.seed)
    t0 = time.monotonic()
    m4 = bd.gen_ip4set(os.path.join(work, "ip4.txt"), args.n4, rng)
    mdn = bd.gen_dnset(os.path.join(work, "dn.txt"), args.ndn, rng)
    m6 = bd.gen_ip6trie(os.path.join(work, "ip6.txt"), args.n6, rng)
    qs = bd.gen_queries(m4, mdn, m6, args.nq, rng)
    bd.write_queries(os.path.join(work, "queries.txt"), qs)
    byclass = {}
    for q in qs:
        z, lst, _ = q[2].split("/")
        byclass.setdefault("%s/%s" % (z, lst), []).append(q)
    for c, lst in byclass.items():
        bd.write_queries(os.path.join(work, "q-%s.txt" % c.replace("/", "-")),
                         lst)
    log("data: %d ip4set, %d dnset, %d ip6trie lines, %d queries "
        "(%.1f s)" % (args.n4, args.ndn, args.n6, args.nq,
                      time.monotonic() - t0))
    return m4, qs


# ---------------------------------------------------------------- checks

def norm_rrsets(section):
    out = []
    for rr in section:
        out.append((rr.name.to_text().lower(), rr.rdtype, rr.ttl,
                    tuple(sorted(x.to_text() for x in rr))))
    return sorted(out)


def answer_key(port, name, qtype):
    q = dns.message.make_query(name, qtype, use_edns=False)
    q.flags |= dns.flags.RD
    for _ in range(3):
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1.0)
            break
        except Exception:
            r = None
    if r is None:
        return None
    return (dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AA),
            bool(r.flags & dns.flags.TC), norm_rrsets(r.answer),
            norm_rrsets(r.authority), norm_rrsets(r.additional))


def check_answers(servers, ref, qs, n, rng):
    """The servers agree with ref on a stratified sample of n queries,
    and every rcode matches the query's class.  unbound only gets the
    rcode check (its answers differ by construction)."""
    bycls = {}
    for q in qs:
        bycls.setdefault(q[2], []).append(q)
    per = max(1, n // len(bycls))
    sample = []
    for c in sorted(bycls):
        sample += rng.sample(bycls[c], min(per, len(bycls[c])))
    diffs, wrong = [], []
    for name, qtype, cls in sample:
        want = "NOERROR" if "/listed/" in cls else "NXDOMAIN"
        rk = answer_key(ref.port, name, qtype)
        if rk is None or rk[0] != want:
            wrong.append((ref.name, name, qtype, cls, rk and rk[0]))
        for s in servers:
            k = answer_key(s.port, name, qtype)
            if k is None or k[0] != want:
                wrong.append((s.name, name, qtype, cls, k and k[0]))
            if s.name != "unbound" and k != rk:
                diffs.append((s.name, name, qtype, rk, k))
    log("answer check: %d queries x %d servers: %d disagree with %s, %d "
        "rcodes not as the class says" % (len(sample), len(servers),
                                          len(diffs), ref.name, len(wrong)))
    for d in diffs[:5]:
        log("  DIFF %s %s %s\n    %s: %r\n    them: %r" % (
            d[0], d[1], d[2], ref.name, d[3], d[4]))
    for w in wrong[:5]:
        log("  WRONG %s %s %s (%s): %s" % w)
    return {"sample": len(sample), "diffs": len(diffs), "wrong": len(wrong)}


# ---------------------------------------------------------------- phases

def order(names, r):
    k = r % len(names)
    return names[k:] + names[:k]


def saturated(args, work, servers, rounds, seconds, tag, cpus=CLIENT_CPU,
              threads=1, clients=None):
    runs = {s.name: [] for s in servers}
    per_round = []
    for r in range(rounds):
        row = {}
        for s in order(servers, r):
            out = os.path.join(work, "dp-%s-%s-%d.txt" % (tag, s.name, r))
            res = dnsperf_quiet(args, s.port, args.qfile, seconds, out,
                                cpus=cpus, threads=threads,
                                clients=clients or args.clients,
                                outstanding=args.outstanding, server=s)
            runs[s.name].append(res)
            row[s.name] = res
            log("  %s round %d %-10s %7.0f q/s  lost %-4d server %3.0f%% "
                "(%.2f+%.2f us/q user+sys) client %3.0f%% other %3.0f%% "
                "CPU  avg %.2f ms%s"
                % (tag, r + 1, s.name, res["qps"], res.get("lost", 0),
                   100 * res["server_cpu"], res["user_us"], res["sys_us"],
                   100 * res["client_cpu"], 100 * res["other_cpu"],
                   1000 * res.get("avg_lat", 0),
                   "  NOISY" if res["noisy"] else ""))
        per_round.append(row)
    return runs, per_round


def equal_rate(args, work, servers, rate, qclass):
    """Latency percentiles at one offered rate, per server and class."""
    out = {s.name: {"p50": [], "p99": [], "p999": [], "qps": [], "lost": [],
                    "bad_rcode": 0, "answers": 0, "cls": {}}
           for s in servers}
    for r in range(args.lat_rounds):
        for s in order(servers, r):
            path = os.path.join(work, "dp-lat-%s-%d.txt" % (s.name, r))
            res = dnsperf_quiet(args, s.port, args.qfile, args.seconds,
                                path, clients=args.clients,
                                outstanding=args.outstanding, rate=rate,
                                verbose=True, server=s)
            lat, cls_lat = [], {}
            o = out[s.name]
            for rcode, name, qtype, t in verbose_lines(path):
                c = qclass.get((name, qtype))
                lat.append(t)
                o["answers"] += 1
                if c is None:
                    continue
                want = "NOERROR" if "/listed/" in c else "NXDOMAIN"
                if rcode != want:
                    o["bad_rcode"] += 1
                    if len(o.setdefault("bad_examples", [])) < 5:
                        o["bad_examples"].append((rcode, name, qtype, c))
                key = c.rsplit("/", 1)[0]
                cls_lat.setdefault(key, []).append(t)
            lat.sort()
            for k, v in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999)):
                o[k].append(pct(lat, v))
            o["qps"].append(res["qps"])
            o["lost"].append(res.get("lost", 0))
            for k, v in cls_lat.items():
                v.sort()
                o["cls"].setdefault(k, []).append(pct(v, 0.99))
            os.unlink(path)  # large
            log("  rate %d round %d %-12s %9.0f q/s  p50 %.3f p99 %.3f "
                "p99.9 %.3f ms  lost %d  server %3.0f%% CPU" % (
                    rate, r + 1, s.name, res["qps"], 1000 * o["p50"][-1],
                    1000 * o["p99"][-1], 1000 * o["p999"][-1],
                    res.get("lost", 0), 100 * res["server_cpu"]))
    return out


def per_class(args, work, servers):
    res = {}
    for i, c in enumerate(("ip4-listed", "ip4-not", "dn-listed", "dn-not",
                           "ip6-listed", "ip6-not")):
        qf = os.path.join(work, "q-%s.txt" % c)
        for s in order(servers, i):
            out = os.path.join(work, "dp-class-%s-%s.txt" % (c, s.name))
            r = dnsperf_quiet(args, s.port, qf, args.class_seconds, out,
                              clients=args.clients,
                              outstanding=args.outstanding, server=s)
            res.setdefault(c, {})[s.name] = r
        log("  class %-10s " % c + "  ".join(
            "%s %.0f q/s (%.0f%% CPU)" % (n, v["qps"], 100 * v["server_cpu"])
            for n, v in res[c].items()))
    return res


def reimport(args, work, m4, kind, mode, rate):
    """A 1% change of ip4.txt under load; kind: rd-dropin, rbldnsd,
    rbldnsd-f.  Returns per-second q/s around the change and the time
    from the rename until both probes see the new data."""
    d = mkdir755(os.path.join(work, "reimport"))
    src = os.path.join(d, "ip4.txt")
    shutil.copyfile(os.path.join(work, "ip4.txt"), src + ".tmp")
    os.chmod(src + ".tmp", 0o644)
    os.rename(src + ".tmp", src)
    rng = random.Random(args.seed + 7)
    newf = os.path.join(d, "ip4.new")
    removed, added, nchanged = bd.change_ip4set(m4, newf, 0.01, rng)
    spec = ["%s:ip4set:reimport/ip4.txt" % bd.ZONE4] + specs()[1:]
    if kind == "rd-dropin":
        s = start_dropin(args, work, os.path.join(work, "state-reimport"),
                         name="ri-" + kind, extra=["-c", "1"], spec=spec)
    else:
        s = start_rbldnsd(work, name="ri-" + kind,
                          extra=["-c", "1"] + (["-f"] if kind ==
                                               "rbldnsd-f" else []),
                          spec=spec)
    try:
        s.wait_first(wire_query(PROBE4))
        s.wait_idle()
        if args.rt:
            s.realtime(True, rr=True)
        w_rm = wire_query(bd.ip4_qname(removed), qid=0x1111)
        w_add = wire_query(bd.ip4_qname(added), qid=0x2222)
        assert is_listed(probe(s.port, w_rm, 1)), "removed probe not listed"
        assert is_nxdomain(probe(s.port, w_add, 1)), "added probe listed"
        out = os.path.join(work, "dp-reimport-%s-%s.txt" % (kind, mode))
        argv = ["taskset", "-c", CLIENT_CPU] + NICE + (
            ["chrt", "-f", "1"] if args.rt else []) + [
                "dnsperf", "-s", "127.0.0.1",
                "-p", str(s.port), "-d", args.qfile, "-l",
                str(args.ri_seconds), "-c", str(args.clients), "-q",
                str(args.outstanding), "-t", "2", "-S", "1"]
        if mode == "rate":
            argv += ["-Q", str(int(rate))]
        f = open(out, "w")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
        if args.rt:  # the prober shares CPU 1 with an RT dnsperf
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        time.sleep(args.ri_change_at)
        t_change = time.time()
        m_change = time.monotonic()
        os.rename(newf, src)
        # poll both probes every 5 ms: when the new data is served, and
        # the longest wait for an answer (a server that stops answering
        # while it reloads shows it here, the queries queue meanwhile)
        t_served = None
        misses, rtts = 0, []
        end = m_change + min(args.ri_seconds - args.ri_change_at - 1,
                             args.ri_window)
        while time.monotonic() < end or (t_served is None and
                                         time.monotonic() <
                                         m_change + args.ri_seconds):
            t = time.monotonic()
            a = probe(s.port, w_rm, 0.5)
            t1 = time.monotonic()
            b = probe(s.port, w_add, 0.5)
            for x, dt in ((a, t1 - t), (b, time.monotonic() - t1)):
                if x is None:
                    misses += 1  # dropped, or later than 0.5 s
                else:
                    rtts.append(dt)
            if t_served is None and is_nxdomain(a) and is_listed(b):
                t_served = time.monotonic() - m_change
            time.sleep(0.005)
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        p.wait()
        f.close()
        res = parse_dnsperf(out)
        if "qps" not in res:
            raise RuntimeError("dnsperf failed: see %s" % out)
        # -S lines: q/s of the second that ends at the timestamp; the
        # first one covers dnsperf's start-up
        ps = [(round(t - t_change, 2), q) for t, q in res["persec"][1:]]
        before = [q for t, q in ps if t < 0]
        around = [q for t, q in ps if 0 <= t < 1 + (t_served or 5) + 1]
        res.update({"kind": kind, "mode": mode, "changed": nchanged,
                    "t_served": t_served, "probe_misses": misses,
                    "probe_max_ms": 1000 * max(rtts or [0]),
                    "probe_slow": sum(1 for x in rtts if x > 0.05),
                    "probes": len(rtts),
                    "steady": med(before), "min_around": min(around or [0]),
                    "series": ps, "log": re.findall(r"(?:zones reloaded|"
                                                    r"reload).*",
                                                    s.log_text())[-2:]})
        log("  re-import %-10s %-4s steady %8.0f q/s, lowest second from "
            "the change on %8.0f q/s (%3.0f%%), new data served after "
            "%s s, lost %d; probes: longest answer %.0f ms, %d of %d over "
            "50 ms, %d unanswered in 0.5 s" % (
                kind, mode, res["steady"], res["min_around"],
                100 * res["min_around"] / res["steady"] if res["steady"]
                else 0, "%.2f" % t_served if t_served is not None else "-",
                res.get("lost", 0), res["probe_max_ms"], res["probe_slow"],
                res["probes"], misses))
        log("    q/s by second from the change: " + " ".join(
            "%+.0f:%.0f" % (t, q) for t, q in ps if -3 < t < 8))
        return res
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        s.stop()
        if os.path.exists(newf):
            os.unlink(newf)


def icount(args, work, qs, db):
    """User-space instructions per query, counted by cachegrind: the
    machine's noise does not change them (perf stat cannot count
    instructions in a VM without a PMU).  Each server runs twice under
    valgrind, answering the first N1 and then N2 queries of the query
    file once each at --ic-rate q/s (batches of one, as at low load);
    (Ir(N2) - Ir(N1)) / (N2 - N1) leaves start-up and loading out."""
    cg = os.path.join(work, "cg")
    os.makedirs(cg, exist_ok=True)
    os.chmod(cg, 0o777)  # written by the server after it drops to nobody
    lines = []
    with open(args.qfile) as f:
        for line in f:
            lines.append(line)
            if len(lines) == args.ic_n2:
                break
    res = {}
    for name in ("rd-1t", "rbldnsd", "unbound"):
        ir = []
        for n in (args.ic_n1, args.ic_n2):
            qf = os.path.join(cg, "q-%d.txt" % n)
            with open(qf, "w") as f:
                f.writelines(lines[:n])
            out = os.path.join(cg, "%s-%d.out" % (name, n))
            WRAP[:] = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
                       "--cachegrind-out-file=" + out]
            try:
                if name == "rd-1t":
                    s = start_config(args, work, db, 1, "ic-rd-1t",
                                     MAIN_ZONES)
                    s.wait_first(wire_query(PROBE4))
                    # its check of the files against the database
                    s.wait_log(r"zones reloaded|zones up to date")
                elif name == "rbldnsd":
                    s = start_rbldnsd(work, "ic-rbldnsd")
                    s.wait_first(wire_query(PROBE4))
                else:
                    s = start_unbound(work, qs)
                    s.wait_first(wire_query(qs[0][0]),
                                 ok=lambda a: a is not None)
            finally:
                WRAP[:] = []
            s.wait_idle()
            dp = os.path.join(cg, "dp-%s-%d.txt" % (name, n))
            with open(dp, "w") as f:
                subprocess.run(["taskset", "-c", CLIENT_CPU, "dnsperf", "-s",
                                "127.0.0.1", "-p", str(s.port), "-d", qf,
                                "-n", "1", "-c", "1", "-t", "5", "-Q",
                                str(args.ic_rate)], stdout=f,
                               stderr=subprocess.STDOUT, check=True)
            done = parse_dnsperf(dp).get("completed", 0)
            time.sleep(0.5)
            s.stop()
            total = None
            with open(out) as f:
                for line in f:
                    if line.startswith("summary:"):
                        total = int(line.split()[1])
            if total is None or not done:
                raise RuntimeError("icount: no count for %s (see %s)" %
                                   (name, out))
            ir.append((total, done))
        res[name] = (ir[1][0] - ir[0][0]) / (ir[1][1] - ir[0][1])
        log("  %-8s %7.0f instructions:u per query (cachegrind; %d and %d "
            "answers)" % (name, res[name], ir[0][1], ir[1][1]))
    return res


def startup_big(args, work):
    d = mkdir755(os.path.join(work, "big"))
    src = os.path.join(d, "ip4-big.txt")
    stamp = os.path.join(d, "stamp.json")
    want = {"seed": args.seed, "n": args.big, "v": 2}
    rng = random.Random(args.seed + 99)
    have = None
    if os.path.exists(stamp):
        with open(stamp) as f:
            have = json.load(f)
    if have and have.get("want") == want and os.path.exists(src):
        probes = have["probes"]
    else:
        t0 = time.monotonic()
        m = bd.gen_ip4set(src, args.big, rng, pool_max=1000)
        probes = m.listed_pool[:20]
        del m
        with open(stamp, "w") as f:
            json.dump({"want": want, "probes": probes}, f)
        log("  generated %d-entry ip4set in %.0f s" % (args.big,
                                                      time.monotonic() - t0))
    zone = "big.bench"
    wire = wire_query(bd.ip4_qname(probes[-1])[:-len(bd.ZONE4)] + zone)
    res = {"entries": args.big, "file_bytes": os.path.getsize(src)}
    db = os.path.join(d, "db")
    shutil.rmtree(db, ignore_errors=True)
    t0 = time.monotonic()
    subprocess.run(["taskset", "-c", SERVER_CPU, args.zonetool, "compile",
                    "-d", db, "%s:ip4set:%s" % (zone, src)], check=True,
                   stdout=subprocess.DEVNULL)
    res["compile_s"] = time.monotonic() - t0
    res["db_bytes"] = os.path.getsize(os.path.join(db, "data.mdb"))
    chown_nobody(db)
    log("  zonetool compile %d entries: %.1f s, data.mdb %.0f MB" % (
        args.big, res["compile_s"], res["db_bytes"] / 1e6))
    res["rd_first"], res["rd_settled"], res["rbl_first"] = [], [], []
    for i in range(args.big_rounds):
        s = start_config(args, d, db, 1, "big-rd",
                         [(zone, "ip4set:ip4-big.txt")])
        try:
            res["rd_first"].append(s.wait_first(wire))
            # then it re-reads the files once to be sure the database is
            # current: how long that takes is reported, not waited for
            res["rd_settled"].append(s.wait_log(r"zones reloaded",
                                                seconds=600))
        finally:
            s.stop()
        s = start_rbldnsd(d, name="big-rbldnsd",
                          spec=["%s:ip4set:ip4-big.txt" % zone])
        try:
            res["rbl_first"].append(s.wait_first(wire, seconds=600))
        finally:
            s.stop()
        log("  round %d: resolverd first answer %.3f s (import of the "
            "unchanged file done at %.1f s), rbldnsd %.2f s" % (
                i + 1, res["rd_first"][-1], res["rd_settled"][-1],
                res["rbl_first"][-1]))
    if args.big_dropin:
        st = os.path.join(d, "state-dropin")
        shutil.rmtree(st, ignore_errors=True)
        for what in ("drop-in, empty state", "drop-in restart"):
            s = start_dropin(args, d, st, name="big-dropin",
                             spec=["%s:ip4set:ip4-big.txt" % zone])
            try:
                t = s.wait_first(wire, seconds=900)
                ts = s.wait_log(r"zones reloaded", seconds=900)
            finally:
                s.stop()
            res.setdefault("dropin", []).append((what, t, ts))
            log("  %s: first answer %.3f s, import done %.1f s" % (
                what, t, ts))
    return res


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="meson build dir (use a --buildtype=release one)")
    ap.add_argument("--work", help="data and logs (kept; data reused when "
                    "the seed and sizes match); default: a temp dir")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--n4", type=int, default=1000000)
    ap.add_argument("--ndn", type=int, default=500000)
    ap.add_argument("--n6", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=500000)
    ap.add_argument("--big", type=int, default=10000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--lat-rounds", type=int, default=3)
    ap.add_argument("--rate-frac", type=float, default=0.6,
                    help="equal-rate rounds: this fraction of rbldnsd's "
                    "median saturated q/s")
    ap.add_argument("--class-seconds", type=int, default=4)
    ap.add_argument("--thread-rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--outstanding", type=int, default=200)
    ap.add_argument("--ri-seconds", type=int, default=20)
    ap.add_argument("--ri-change-at", type=float, default=6)
    ap.add_argument("--ri-rate", type=float, default=0,
                    help="offered q/s of the re-import \"rate\" runs "
                    "(default: the equal rate, else 50000)")
    ap.add_argument("--ri-window", type=float, default=4,
                    help="seconds of probing after the change")
    ap.add_argument("--big-rounds", type=int, default=3)
    ap.add_argument("--big-dropin", action="store_true",
                    help="also time drop-in mode on the big file (its "
                    "first start compiles it)")
    ap.add_argument("--max-other", type=float, default=0.3,
                    help="a round during which other processes used more "
                    "CPUs than this is run again (see --retries)")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--retry-wait", type=int, default=10)
    ap.add_argument("--rt", action="store_true",
                    help="run servers and dnsperf SCHED_FIFO (chrt -f 1) "
                    "in the throughput and latency phases, so that other "
                    "processes' time slices do not delay their wake-ups")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the servers and dnsperf at this nice value "
                    "(e.g. -5 on a machine others use)")
    ap.add_argument("--ic-n1", type=int, default=2000,
                    help="icount phase: queries of the first run")
    ap.add_argument("--ic-n2", type=int, default=22000,
                    help="icount phase: queries of the second run")
    ap.add_argument("--ic-rate", type=int, default=2000,
                    help="icount phase: offered q/s (under valgrind)")
    ap.add_argument("--check", type=int, default=360,
                    help="queries in the answer check")
    ap.add_argument("--skip", default="",
                    help="comma list of: unbound,floor,dropin,latency,"
                    "classes,threads,reimport,icount,startup")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes and short rounds (a smoke test)")
    args = ap.parse_args()

    def on_term(sig, frame):
        raise SystemExit("bench_dns: signal %d" % sig)

    # the finally below stops every server, also when run in the
    # background (where SIGINT starts out ignored) or sent SIGTERM
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if args.quick:
        args.n4, args.ndn, args.n6, args.nq = 50000, 25000, 5000, 50000
        args.big, args.rounds, args.seconds = 200000, 2, 2
        args.lat_rounds, args.class_seconds, args.thread_rounds = 1, 1, 1
        args.ri_seconds, args.ri_change_at, args.big_rounds = 8, 3, 1
        args.check = 120
        args.ic_n1, args.ic_n2 = 1000, 6000
    skip = set(x for x in args.skip.split(",") if x)
    if args.nice:
        NICE[:] = ["nice", "-n", str(args.nice)]
    args.resolverd = os.path.join(args.build, "resolverd/resolverd")
    args.zonetool = os.path.join(args.build, "tools/zonetool/zonetool")
    args.floor = os.path.join(args.build, "tests/bench/dns_floor")
    for b in (args.resolverd, args.zonetool, RBLDNSD, UNBOUND):
        if not os.access(b, os.X_OK):
            sys.exit("bench_dns: %s: not found (build first; apt-get "
                     "install rbldnsd unbound dnsperf)" % b)
    if shutil.which("dnsperf") is None:
        sys.exit("bench_dns: dnsperf not found: apt-get install dnsperf")
    if os.cpu_count() < 2:
        sys.exit("bench_dns: needs 2 CPUs (server on 0, dnsperf on 1)")
    work = mkdir755(args.work or tempfile.mkdtemp(prefix="rd-bench-dns-"))
    args.qfile = os.path.join(work, "queries.txt")
    log("bench_dns: work dir %s, build %s" % (work, args.build))
    os.sched_setaffinity(0, {int(CLIENT_CPU)})  # keep the harness off 0
    R = {"args": {k: v for k, v in vars(args).items()}}
    rng = random.Random(args.seed + 1)
    try:
        m4, qs = prepare(args, work)
        qclass = {(q[0], q[1]): q[2] for q in qs}

        # servers
        db = os.path.join(work, "db")
        shutil.rmtree(db, ignore_errors=True)
        t0 = time.monotonic()
        subprocess.run(["taskset", "-c", SERVER_CPU, args.zonetool,
                        "compile", "-d", db] +
                       ["%s:%s" % (z, ds) for z, ds in
                        [(bd.ZONE4, "ip4set:" + os.path.join(work,
                                                             "ip4.txt")),
                         (bd.ZONEDN, "dnset:" + os.path.join(work,
                                                             "dn.txt")),
                         (bd.ZONE6, "ip6trie:" + os.path.join(work,
                                                              "ip6.txt"))]],
                       check=True, stdout=subprocess.DEVNULL)
        R["compile_s"] = time.monotonic() - t0
        R["db_bytes"] = os.path.getsize(os.path.join(db, "data.mdb"))
        chown_nobody(db)
        log("zonetool compile of the three zones: %.2f s, data.mdb %.0f MB"
            % (R["compile_s"], R["db_bytes"] / 1e6))
        rbl = start_rbldnsd(work)
        rbl_load = rbl.wait_first(wire_query(PROBE4))
        rd = start_config(args, work, db, 1, "rd-1t", MAIN_ZONES)
        rd_first = rd.wait_first(wire_query(PROBE4))
        rd.wait_log(r"zones reloaded|zones up to date")
        servers = [rd, rbl]
        if "dropin" not in skip:
            st = os.path.join(work, "state-dropin")
            shutil.rmtree(st, ignore_errors=True)
            drop = start_dropin(args, work, st)
            drop_first = drop.wait_first(wire_query(PROBE4))
            log("drop-in first start (import of the files): first answer "
                "after %.2f s" % drop_first)
            R["dropin_first_s"] = drop_first
            servers.append(drop)
        if "unbound" not in skip:
            ub = start_unbound(work, qs)
            ub.wait_first(wire_query(qs[0][0]), ok=lambda a: a is not None)
            servers.append(ub)
        for s in servers:
            s.wait_idle()
        log("rbldnsd load %.2f s; resolverd (config) first answer %.3f s"
            % (rbl_load, rd_first))
        R["rbl_load_s"], R["rd_first_s"] = rbl_load, rd_first

        R["check"] = check_answers([s for s in servers if s is not rbl], rbl,
                                   qs, args.check, rng)
        # the floor: servers that answer NXDOMAIN and do nothing else, one
        # batching like resolverd, one a syscall per packet like rbldnsd;
        # in the saturated rounds only (their answers are not real ones)
        floors = []
        if "floor" not in skip:
            for name, extra in (("floor-mmsg", []), ("floor-1", ["-1"])):
                port = rdtest.free_port()
                f = Server(name, [args.floor, "-p", str(port)] + extra,
                           port, work, os.path.join(work, "log-%s.txt" %
                                                    name))
                f.wait_first(wire_query(PROBE4), ok=is_nxdomain)
                floors.append(f)
        if args.rt:
            RT[:] = ["chrt", "-f", "1"]
            for s in servers + floors:
                s.realtime(True)

        log("saturated rounds: %d x %d s, server on CPU %s, dnsperf on CPU "
            "%s (-c %d -q %d)" % (args.rounds, args.seconds, SERVER_CPU,
                                  CLIENT_CPU, args.clients,
                                  args.outstanding))
        runs, per_round = saturated(args, work, servers + floors,
                                    args.rounds, args.seconds, "sat")
        for f in floors:
            f.stop()
        R["sat"] = runs
        R["sat_ratio"] = [row[rd.name]["qps"] / row[rbl.name]["qps"]
                          for row in per_round]
        R["sat_eff_ratio"] = [
            row[rd.name]["q_per_cpu_s"] / row[rbl.name]["q_per_cpu_s"]
            for row in per_round]
        R["sat_quiet"] = [not (row[rd.name]["noisy"] or
                               row[rbl.name]["noisy"]) for row in per_round]

        if "latency" not in skip:
            quiet = [r["qps"] for r in runs[rbl.name] if not r["noisy"]]
            rate = args.rate_frac * med(quiet or
                                        [r["qps"] for r in runs[rbl.name]])
            log("equal-rate rounds at %.0f q/s (%.0f%% of rbldnsd's "
                "saturated median), dnsperf -v" % (rate,
                                                   100 * args.rate_frac))
            R["rate"] = rate
            R["lat"] = equal_rate(args, work, servers, rate, qclass)

        if "classes" not in skip:
            log("per-class saturated rounds, %d s each" % args.class_seconds)
            R["classes"] = per_class(args, work, [rd, rbl])

        if "threads" not in skip:
            log("both cores: servers on CPUs 0-1, dnsperf -T 2 -c %d on "
                "CPUs 0-1" % (2 * args.clients))
            db2 = os.path.join(work, "db2")
            shutil.rmtree(db2, ignore_errors=True)
            shutil.copytree(db, db2)
            chown_nobody(db2)
            rd2 = start_config(args, work, db2, 2, "rd-2t", MAIN_ZONES,
                               cpus="0,1")
            rd2.wait_first(wire_query(PROBE4))
            rd2.wait_log(r"zones reloaded|zones up to date")
            rd2.wait_idle()
            if args.rt:
                rd2.realtime(True)
            for s in (rd, rbl):
                s.pin("0,1")
            ts = [rd2, rd, rbl]
            truns, _ = saturated(args, work, ts, args.thread_rounds,
                                 args.seconds, "2cpu", cpus="0,1",
                                 threads=2, clients=2 * args.clients)
            R["threads"] = truns
            rd2.stop()
            for s in (rd, rbl):
                s.pin(SERVER_CPU)

        for s in list(running):
            s.stop()
        RT[:] = []  # the start-up phase runs as usual; re-import: below

        if "icount" not in skip and shutil.which("valgrind"):
            log("instructions per query under cachegrind, %d q/s" %
                args.ic_rate)
            R["icount"] = icount(args, work, qs, db)
        elif "icount" not in skip:
            log("icount: valgrind not found (apt-get install valgrind)")

        if "reimport" not in skip:
            rate = args.ri_rate or R.get("rate") or 50000
            log("re-import under load: -c 1, %d s runs, 1%% of %s changed "
                "at %.0f s" % (args.ri_seconds, "ip4.txt",
                               args.ri_change_at))
            R["reimport"] = []
            for mode in ("sat", "rate"):
                for kind in ("rd-dropin", "rbldnsd", "rbldnsd-f"):
                    R["reimport"].append(reimport(args, work, m4, kind, mode,
                                                  rate))

        if "startup" not in skip:
            log("start to first answer, %d-entry ip4set" % args.big)
            R["startup"] = startup_big(args, work)
    finally:
        for s in list(running):
            s.stop()
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(R, f, indent=1, default=str)
    summary(R)
    bad = R["check"]["diffs"] + R["check"]["wrong"]
    if "lat" in R:
        bad += sum(v["bad_rcode"] for v in R["lat"].values())
    return 1 if bad else 0


def capacity(R):
    """Server capacity: answers per second of the server's own CPU, which
    the client's limit does not cap, with each server's ratio to
    rbldnsd's (per round, median).  Below ~95% server CPU the client or
    the machine was the bottleneck and q/s is not the server's capacity
    (93%: with --rt, RT throttling leaves every task at most 95%)."""
    sat = R["sat"]
    ref = sat.get("rbldnsd", [])
    log("\nserver capacity (saturated rounds, medians):")
    log("%-10s %8s %8s %11s %11s %8s %9s %9s  %s" % (
        "server", "q/s", "srv CPU", "q/CPU-s", "q/tick-s", "vs rbl",
        "ins:u/q", "ins:k/q", "bound by"))
    for n, runs in sat.items():
        util = med([r["server_util"] for r in runs])
        ratio = [r["q_per_cpu_s"] / b["q_per_cpu_s"] for r, b in
                 zip(runs, ref) if b.get("q_per_cpu_s")]
        iu = [r["ins_u"] for r in runs if "ins_u" in r]
        ik = [r["ins_k"] for r in runs if "ins_k" in r]
        log("%-10s %8.0f %7.0f%% %11.0f %11.0f %8s %9s %9s  %s" % (
            n, med([r["qps"] for r in runs]), 100 * util,
            med([r["q_per_cpu_s"] for r in runs]),
            med([r["q_per_tick_s"] for r in runs]),
            "%.2f" % med(ratio) if ratio and n != "rbldnsd" else "-",
            "%.0f" % med(iu) if iu else "-", "%.0f" % med(ik) if ik else "-",
            "server" if util >= 0.93 else "CLIENT/machine (server CPU "
            "< 93%: q/s is not its capacity)"))
    if not any("ins_u" in r for runs in sat.values() for r in runs):
        log("  (perf stat cannot count instructions here: no PMU; see "
            "the cachegrind figures)")
    if "icount" in R:
        ic = R["icount"]
        log("user-space instructions per query (cachegrind, low rate): " +
            ", ".join("%s %.0f" % kv for kv in ic.items()) +
            ("; rd-1t/rbldnsd %.2f" % (ic["rd-1t"] / ic["rbldnsd"])
             if ic.get("rbldnsd") else ""))


def summary(R):
    log("\n==== summary (medians over rounds; ratios per round, "
        "min..max) ====")
    sat = R["sat"]
    log("%-10s %8s %7s %7s %12s %7s %7s %7s %6s %6s" % (
        "server", "q/s", "srv CPU", "cli CPU", "q/s per core", "user us",
        "sys us", "avg ms", "lost", "other"))
    for n, runs in sat.items():
        q = med([r["qps"] for r in runs])
        sc = med([r["server_cpu"] for r in runs])
        log("%-10s %8.0f %6.0f%% %6.0f%% %12.0f %7.2f %7.2f %7.3f %6.0f "
            "%5.0f%%" % (
                n, q, 100 * sc, 100 * med([r["client_cpu"] for r in runs]),
                med([r["q_per_cpu_s"] for r in runs]),
                med([r["user_us"] for r in runs]),
                med([r["sys_us"] for r in runs]),
                1000 * med([r.get("avg_lat", 0) for r in runs]),
                sum(r.get("lost", 0) for r in runs),
                100 * med([r["other_cpu"] for r in runs])))
    capacity(R)
    rr = R["sat_ratio"]
    er = R["sat_eff_ratio"]
    log("rd-1t/rbldnsd per round: q/s %s; q/s per server CPU-second %s" % (
        " ".join("%.2f%s" % (x, "" if q else "*")
                 for x, q in zip(rr, R["sat_quiet"])),
        " ".join("%.2f%s" % (x, "" if q else "*")
                 for x, q in zip(er, R["sat_quiet"]))))
    log("  median q/s ratio %.2f (%.2f..%.2f), per CPU-second %.2f "
        "(%.2f..%.2f)" % (med(rr), min(rr), max(rr), med(er), min(er),
                          max(er)))
    qr = [x for x, q in zip(rr, R["sat_quiet"]) if q]
    qe = [x for x, q in zip(er, R["sat_quiet"]) if q]
    if qr and len(qr) < len(rr):
        log("  quiet rounds only (%d): q/s ratio %.2f, per CPU-second %.2f"
            % (len(qr), med(qr), med(qe)))
    noisy = sum(r["noisy"] for runs in sat.values() for r in runs)
    if noisy:
        log("  (* a round where other processes used more than %.0f%% CPU "
            "even after retries: %d runs)" % (
                100 * R["args"]["max_other"], noisy))
    if "lat" in R:
        log("\nequal offered rate %.0f q/s, latency in ms (dnsperf -v):" %
            R["rate"])
        log("%-12s %10s %8s %8s %8s %8s %10s" % (
            "server", "q/s", "p50", "p99", "p99.9", "lost", "bad rcode"))
        for n, v in R["lat"].items():
            log("%-12s %10.0f %8.3f %8.3f %8.3f %8.0f %10d" % (
                n, med(v["qps"]), 1000 * med(v["p50"]),
                1000 * med(v["p99"]), 1000 * med(v["p999"]), sum(v["lost"]),
                v["bad_rcode"]))
            for e in v.get("bad_examples", []):
                log("    bad rcode: %s for %s %s (%s)" % e)
        names = list(R["lat"])
        cls = sorted(R["lat"][names[0]]["cls"])
        log("p99 by class (ms): %-10s " % "" + " ".join(
            "%10s" % n[:10] for n in names))
        for c in cls:
            log("                   %-10s " % c + " ".join(
                "%10.3f" % (1000 * med(R["lat"][n]["cls"].get(c, [])))
                for n in names))
    if "classes" in R:
        log("\nper class, saturated (q/s):")
        for c, v in R["classes"].items():
            a, b = sorted(v)[::-1]  # rd-..., rbldnsd
            log("  %-11s %s %8.0f (%3.0f%% CPU)  %s %8.0f (%3.0f%% CPU)  "
                "q/s ratio %.2f  per CPU-second %.2f" % (
                    c, a, v[a]["qps"], 100 * v[a]["server_cpu"], b,
                    v[b]["qps"], 100 * v[b]["server_cpu"],
                    v[a]["qps"] / v[b]["qps"],
                    (v[a]["qps"] / v[a]["server_cpu"]) /
                    (v[b]["qps"] / v[b]["server_cpu"])))
    if "threads" in R:
        log("\nboth cores (servers and dnsperf -T 2 share CPUs 0-1):")
        for n, runs in R["threads"].items():
            log("  %-10s %9.0f q/s  server %3.0f%% client %3.0f%% CPU" % (
                n, med([r["qps"] for r in runs]),
                100 * med([r["server_cpu"] for r in runs]),
                100 * med([r["client_cpu"] for r in runs])))
    if "reimport" in R:
        log("\nre-import of a 1% change under load (-c 1):")
        log("  %-10s %-4s %10s %10s %5s %8s %6s %9s %9s" % (
            "server", "load", "steady q/s", "lowest q/s", "%", "served s",
            "lost", "probe max", "no answer"))
        for r in R["reimport"]:
            log("  %-10s %-4s %10.0f %10.0f %4.0f%% %8s %6.0f %6.0f ms %9d"
                % (r["kind"], r["mode"], r["steady"], r["min_around"],
                   100 * r["min_around"] / r["steady"] if r["steady"] else 0,
                   "%.2f" % r["t_served"] if r["t_served"] is not None
                   else "-", r.get("lost", 0), r["probe_max_ms"],
                   r["probe_misses"]))
    if "startup" in R:
        s = R["startup"]
        log("\nstart to first answer, %d-entry ip4set (file %.0f MB):" % (
            s["entries"], s["file_bytes"] / 1e6))
        log("  zonetool compile %.1f s (data.mdb %.0f MB)" % (
            s["compile_s"], s["db_bytes"] / 1e6))
        log("  resolverd (compiled db): first answer median %.3f s (%s); "
            "its re-read of the unchanged file ends at %.1f s" % (
                med(s["rd_first"]), " ".join("%.3f" % x
                                             for x in s["rd_first"]),
                med(s["rd_settled"])))
        log("  rbldnsd load: first answer median %.2f s (%s)" % (
            med(s["rbl_first"]), " ".join("%.2f" % x for x in
                                          s["rbl_first"])))
        for what, t, ts in s.get("dropin", []):
            log("  resolverd %s: first answer %.2f s, import done %.1f s"
                % (what, t, ts))
    c = R["check"]
    log("\nanswer check: %d queries, %d disagreements, %d wrong rcodes" % (
        c["sample"], c["diffs"], c["wrong"]))


if __name__ == "__main__":
    sys.exit(main())
