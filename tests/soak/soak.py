#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Network soak test (issue 7): resolverd under garbage at full speed.

usage: soak.py --resolverd PATH [--minutes 10] [--udp-workers 2]
               [--tcp-workers 1] [--rss-slack-mb 32] [--seed N] [--keep]

Starts resolverd (meant: the clang ASan/UBSan build) in rbldnsd drop-in
mode on 127.0.0.1 at a random port with five zones of different types
(ip4set, generic, dnset, ip4trie, combined), then for --minutes sends,
from several processes:

  UDP: random bytes, and valid queries mutated (bit flips, truncation,
       bytes appended, label lengths corrupted, compression pointers to
       themselves, forwards, loops and past the end, wrong section
       counts, opcodes, QR/TC set, EDNS with junk options);
  TCP: the same pipelined behind length prefixes, huge and zero lengths,
       lengths that promise more than is sent, half-closes and resets,
       and slowloris connections that dribble one byte a second;

while this process sends valid queries, over UDP and TCP in turn, whose
answers are checked against the zone data (listed A and TXT, NXDOMAIN,
NODATA, excluded entries, generic records, wildcards).  The daemon's RSS
is sampled every 10 s.

Fails on: the daemon gone, a sanitizer report in its output (also at its
exit: LeakSanitizer), any wrong answer, no valid answer for 30 s, RSS
growth after warm-up (the first fifth, at most 60 s) beyond the slack.

Not part of CI (minutes of full load): see tests/soak/README.md.
"""
import argparse
import multiprocessing as mp
import os
import random
import signal
import socket
import struct
import sys
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import rdtest  # noqa: E402

# --- zones and what they must answer ----------------------------------
IP = """$SOA 3600 ns1.bl.test hostmaster.bl.test 1 600 300 86400 60
$NS 3600 ns1.bl.test
:127.0.0.2:Listed: see https://bl.test/q?$
127.0.0.2
127.0.0.3 :127.0.0.4:other $
10.0.0.0/8
!10.1.0.0/16
""" + "".join("1.2.%d.4 :127.0.0.5:reason %02d\n" % (i, i) for i in range(40))
GEN = """@ 300 A 192.0.2.1
@ MX 10 mx.bl.test
@ TXT "bl.test test zone"
ns1 A 192.0.2.53
www AAAA 2001:db8::1
"""
DN = """$SOA 3600 ns1.dbl.test hostmaster.dbl.test 1 600 300 86400 60
$NS 3600 ns1.dbl.test
:127.0.1.2:Listed domain $
spam.example
*.wild.example
!ok.wild.example
"""
TRIE = """:127.0.2.2:trie $
192.0.2.0/24
192.0.2.128/25 :127.0.2.3:narrower
!192.0.2.200
"""
ZEN = """$SOA 3600 ns1.zen.test hostmaster.zen.test 1 600 300 86400 60
$NS 3600 ns1.zen.test
$DATASET ip4set:sbl @
127.0.0.2 :2:SBL $
$DATASET ip4set:pbl pbl
127.0.0.10 :10:PBL $
"""

NX, NODATA = "NXDOMAIN", "NODATA"
# (name, type, expected): a set of A addresses or TXT strings, or NX/NODATA
EXPECT = [
    ("2.0.0.127.bl.test", "A", {"127.0.0.2"}),
    ("2.0.0.127.bl.test", "TXT", {"Listed: see https://bl.test/q?127.0.0.2"}),
    ("3.0.0.127.bl.test", "A", {"127.0.0.4"}),
    ("3.0.0.127.bl.test", "TXT", {"other 127.0.0.3"}),
    ("4.0.0.127.bl.test", "A", NX),
    ("9.9.9.10.bl.test", "A", {"127.0.0.2"}),
    ("9.9.1.10.bl.test", "A", NX),
    ("4.7.2.1.bl.test", "A", {"127.0.0.5"}),
    ("4.7.2.1.bl.test", "TXT", {"reason 07"}),
    ("4.39.2.1.bl.test", "TXT", {"reason 39"}),
    ("4.40.2.1.bl.test", "A", NX),
    ("2.0.0.127.bl.test", "MX", NODATA),
    ("bl.test", "A", {"192.0.2.1"}),
    ("bl.test", "TXT", {"bl.test test zone"}),
    ("ns1.bl.test", "A", {"192.0.2.53"}),
    ("www.bl.test", "A", NODATA),
    ("nope.bl.test", "A", NX),
    ("spam.example.dbl.test", "A", {"127.0.1.2"}),
    ("spam.example.dbl.test", "TXT", {"Listed domain spam.example"}),
    ("a.spam.example.dbl.test", "A", NX),
    ("x.wild.example.dbl.test", "A", {"127.0.1.2"}),
    # $ in a wildcard hit is the wildcard's base (REFERENCE-rbldnsd.md)
    ("y.x.wild.example.dbl.test", "TXT", {"Listed domain wild.example"}),
    ("ok.wild.example.dbl.test", "A", NX),
    ("ham.example.dbl.test", "A", NX),
    ("1.2.0.192.trie.test", "A", {"127.0.2.2"}),
    ("1.2.0.192.trie.test", "TXT", {"trie 192.0.2.1"}),
    ("129.2.0.192.trie.test", "TXT", {"narrower"}),
    ("200.2.0.192.trie.test", "A", NX),
    ("1.3.0.192.trie.test", "A", NX),
    ("2.0.0.127.zen.test", "A", {"127.0.0.2"}),
    ("2.0.0.127.zen.test", "TXT", {"SBL 127.0.0.2"}),
    ("10.0.0.127.pbl.zen.test", "A", {"127.0.0.10"}),
    ("10.0.0.127.zen.test", "A", NX),
    ("2.0.0.127.pbl.zen.test", "A", NX),
]


def zones(d):
    files = {}
    for name, text in (("ip.txt", IP), ("gen.txt", GEN), ("dn.txt", DN),
                       ("trie.txt", TRIE), ("zen.txt", ZEN)):
        files[name] = rdtest.write(d, name, text)
    return ["bl.test:ip4set:" + files["ip.txt"],
            "bl.test:generic:" + files["gen.txt"],
            "dbl.test:dnset:" + files["dn.txt"],
            "trie.test:ip4trie:" + files["trie.txt"],
            "zen.test:combined:" + files["zen.txt"]]


def answer_of(resp, rdtype):
    """The answer as EXPECT writes it."""
    rc = resp.rcode()
    if rc == dns.rcode.NXDOMAIN:
        return NX
    if rc != dns.rcode.NOERROR:
        return "rcode %s" % dns.rcode.to_text(rc)
    t = dns.rdatatype.from_text(rdtype)
    out = set()
    for rrset in resp.answer:
        if rrset.rdtype != t:
            return "unexpected %s" % rrset
        for rd in rrset:
            if t == dns.rdatatype.TXT:
                out.add(b"".join(rd.strings).decode("latin-1"))
            else:
                out.add(rd.to_text())
    return out if out else NODATA


# --- mutations -------------------------------------------------------------
def valid_wire(rnd):
    name, t, _ = rnd.choice(EXPECT)
    q = dns.message.make_query(name, t, use_edns=rnd.random() < 0.5,
                               payload=rnd.choice([512, 1232, 4096, 65535]))
    q.id = rnd.randrange(65536)
    return bytearray(q.to_wire())


def mutate(rnd):
    """A packet: random bytes, or a valid query spoiled in one of many
    ways."""
    k = rnd.randrange(12)
    if k == 0:
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 600)))
    p = valid_wire(rnd)
    if k == 1:  # bit flips
        for _ in range(rnd.randrange(1, 8)):
            i = rnd.randrange(len(p))
            p[i] ^= 1 << rnd.randrange(8)
    elif k == 2:  # truncated
        p = p[:rnd.randrange(len(p))]
    elif k == 3:  # junk appended
        p += bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 300)))
    elif k == 4:  # a label length corrupted
        pos, i = [], 12
        while i < len(p) and p[i] != 0 and len(pos) < 40:
            pos.append(i)
            i += 1 + (p[i] & 0x3f)
        if pos:
            p[rnd.choice(pos)] = rnd.choice([0, 63, 64, 127, 191, 255,
                                             rnd.randrange(256)])
    elif k == 5:  # compression pointer: self, loop, forward, past the end
        i = rnd.randrange(12, max(13, len(p) - 2))
        tgt = rnd.choice([i, 12, len(p), 0x3fff, i + 2, rnd.randrange(16384)])
        p[i:i + 2] = struct.pack("!H", 0xc000 | (tgt & 0x3fff))
        if rnd.random() < 0.3:  # and a pointer back to it: a loop
            p += struct.pack("!H", 0xc000 | i)
    elif k == 6:  # section counts
        off = rnd.choice([4, 6, 8, 10])
        p[off:off + 2] = struct.pack("!H", rnd.choice(
            [0, 2, 3, 255, 0x7fff, 0xffff, rnd.randrange(65536)]))
    elif k == 7:  # opcode, QR, TC, AA, Z, rcode bits
        p[2] = rnd.getrandbits(8)
        p[3] = rnd.getrandbits(8)
    elif k == 8:  # an OPT record full of junk options
        q = dns.message.make_query(rnd.choice(EXPECT)[0], "A")
        opts = [dns.edns.GenericOption(rnd.randrange(65536), bytes(
            rnd.getrandbits(8) for _ in range(rnd.randrange(0, 40))))
            for _ in range(rnd.randrange(1, 6))]
        q.use_edns(rnd.choice([0, 1, 255]), rnd.getrandbits(16),
                   rnd.choice([0, 1, 511, 512, 65535]), options=opts)
        p = bytearray(q.to_wire())
        if rnd.random() < 0.5:  # OPT length fields lie
            i = rnd.randrange(max(1, len(p) - 4), len(p))
            p[i] ^= 0xff
    elif k == 9:  # qtype/qclass anything
        p[-4:] = bytes(rnd.getrandbits(8) for _ in range(4))
    elif k == 10:  # a name of maximal labels
        n = b"".join(b"\x3f" + b"a" * 63 for _ in range(rnd.randrange(3, 6)))
        p = p[:12] + n + b"\x00\x00\x01\x00\x01"
    else:  # two questions
        p[4:6] = b"\x00\x02"
        p += p[12:]
    return bytes(p)


# --- load ----------------------------------------------------------------
def udp_flood(port, seed, until, q):
    rnd = random.Random(seed)
    pool = [mutate(rnd) for _ in range(20000)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    addr = ("127.0.0.1", port)
    sent = recv = 0
    i = 0
    while time.monotonic() < until:
        for _ in range(256):
            try:
                s.sendto(pool[i % len(pool)], addr)
                sent += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
            except OSError:
                break
            i += 1
        while True:
            try:
                s.recv(65535)
                recv += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
            except OSError:
                break
        if i % 200000 < 256:  # refresh a part of the pool
            for j in range(rnd.randrange(1000)):
                pool[rnd.randrange(len(pool))] = mutate(rnd)
    s.close()
    q.put(("udp", sent, recv))


def tcp_connect(port, timeout=1.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def drain(s, seconds):
    n = 0
    end = time.monotonic() + seconds
    s.settimeout(seconds)
    try:
        while time.monotonic() < end:
            b = s.recv(65535)
            if not b:
                break
            n += len(b)
    except OSError:
        pass
    return n


def tcp_flood(port, seed, until, q):
    rnd = random.Random(seed)
    pool = [mutate(rnd) for _ in range(5000)]
    sent = conns = 0
    slow = []  # (socket, started)
    while time.monotonic() < until:
        now = time.monotonic()
        # slowloris: up to 40 connections dribbling a byte a second
        for ent in slow[:]:
            s, t0, last = ent
            if now - last >= 1.0:
                try:
                    s.send(bytes([rnd.getrandbits(8)]))
                    ent[2] = now
                except OSError:
                    s.close()
                    slow.remove(ent)
                    continue
            if now - t0 > 30:
                s.close()
                slow.remove(ent)
        if len(slow) < 40:
            try:
                s = tcp_connect(port)
                s.send(b"\x00")
                slow.append([s, now, now])
                conns += 1
            except OSError:
                pass
        k = rnd.randrange(6)
        try:
            s = tcp_connect(port)
        except OSError:
            time.sleep(0.01)
            continue
        conns += 1
        try:
            if k <= 1:  # pipelined mutated messages
                buf = b"".join(struct.pack("!H", len(m)) + m for m in
                               (rnd.choice(pool)
                                for _ in range(rnd.randrange(1, 30))))
                s.sendall(buf)
                sent += 1
                drain(s, 0.05)
            elif k == 2:  # a huge length, little data
                s.sendall(struct.pack("!H", rnd.choice([0xffff, 0x8000,
                                                        4096])) +
                          rnd.choice(pool))
                sent += 1
            elif k == 3:  # zero lengths, then a message
                m = rnd.choice(pool)
                s.sendall(b"\x00\x00" * rnd.randrange(1, 5) +
                          struct.pack("!H", len(m)) + m)
                sent += 1
                drain(s, 0.02)
            elif k == 4:  # one length-prefixed message, half-closed
                m = rnd.choice(pool)
                s.sendall(struct.pack("!H", len(m)) + m)
                s.shutdown(socket.SHUT_WR)
                sent += 1
                drain(s, 0.05)
            else:  # reset mid-message
                m = rnd.choice(pool)
                s.sendall(struct.pack("!H", len(m) + 50) + m)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                sent += 1
        except OSError:
            pass
        s.close()
    for ent in slow:
        ent[0].close()
    q.put(("tcp", sent, conns))


# --- the checker ---------------------------------------------------------
def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ask(port, name, rdtype, tcp, rnd):
    q = dns.message.make_query(name, rdtype, use_edns=rnd.random() < 0.5)
    q.id = rnd.randrange(65536)
    wire = q.to_wire()
    if tcp:
        with tcp_connect(port, 2.0) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            hdr = b""
            while len(hdr) < 2:
                b = s.recv(2 - len(hdr))
                if not b:
                    raise OSError("closed")
                hdr += b
            n = struct.unpack("!H", hdr)[0]
            data = b""
            while len(data) < n:
                b = s.recv(n - len(data))
                if not b:
                    raise OSError("closed")
                data += b
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            s.sendto(wire, ("127.0.0.1", port))
            while True:
                data = s.recv(65535)
                if len(data) >= 2 and data[:2] == wire[:2]:
                    break
    resp = dns.message.from_wire(data)
    if resp.id != q.id or not resp.flags & dns.flags.QR or \
            len(resp.question) != 1 or \
            resp.question[0].name != q.question[0].name:
        return "mismatched answer %s" % resp
    if not tcp and resp.flags & dns.flags.TC:
        return ask(port, name, rdtype, True, rnd)
    return answer_of(resp, rdtype)


SANITIZER = ("ERROR: AddressSanitizer", "LeakSanitizer",
             "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
             "ERROR: ThreadSanitizer")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolverd", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--udp-workers", type=int, default=2)
    ap.add_argument("--tcp-workers", type=int, default=1)
    ap.add_argument("--rss-slack-mb", type=float, default=32)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (resolverd.log)")
    a = ap.parse_args()

    print("seed %d" % a.seed)
    d = rdtest.tmpdir("soak.")
    port = rdtest.free_port()
    os.environ.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16:"
                          "detect_leaks=1:halt_on_error=1")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:"
                          "halt_on_error=1")
    extra = ["-u", "nobody"] if os.geteuid() == 0 else []
    env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(d, "state"))
    argv = [a.resolverd, "-n", "-b", "127.0.0.1/%d" % port] + extra + \
        zones(d)
    srv = rdtest.Server(argv, env=env, cwd=d,
                        log=os.path.join(d, "resolverd.log"))
    failures = []
    rnd = random.Random(a.seed)
    procs = []
    try:
        rdtest.wait_answer(port, "2.0.0.127.bl.test", srv.proc, 60)
        # every expectation once before the load: the zones are right
        for name, t, want in EXPECT:
            got = ask(port, name, t, False, rnd)
            if got != want:
                failures.append("before load: %s %s: got %s, want %s" %
                                (name, t, got, want))
        if failures:
            raise RuntimeError("wrong answers before the load")

        start = time.monotonic()
        until = start + a.minutes * 60
        warm = start + min(60.0, a.minutes * 12)
        q = mp.Queue()
        for i in range(a.udp_workers):
            procs.append(mp.Process(target=udp_flood, args=(
                port, a.seed * 100 + i, until, q)))
        for i in range(a.tcp_workers):
            procs.append(mp.Process(target=tcp_flood, args=(
                port, a.seed * 100 + 50 + i, until, q)))
        for p in procs:
            p.start()

        checked = timeouts = 0
        by = {"udp": 0, "tcp": 0}
        last_ok = time.monotonic()
        samples = []
        next_rss = start
        rss_warm = None
        while time.monotonic() < until:
            now = time.monotonic()
            if srv.proc.poll() is not None:
                failures.append("resolverd exited with %s during the load" %
                                srv.proc.returncode)
                break
            if now >= next_rss:
                r = rss_kb(srv.proc.pid)
                samples.append((round(now - start), r))
                print("t=%4ds rss %d kB, %d checked, %d timeouts" %
                      (now - start, r, checked, timeouts), flush=True)
                if rss_warm is None and now >= warm:
                    rss_warm = r
                next_rss += 10
            name, t, want = rnd.choice(EXPECT)
            tcp = rnd.random() < 0.2
            try:
                got = ask(port, name, t, tcp, rnd)
            except (OSError, socket.timeout, dns.exception.DNSException) as e:
                timeouts += 1
                if time.monotonic() - last_ok > 30:
                    failures.append("no valid answer for 30 s (%s)" % e)
                    break
                continue
            checked += 1
            by["tcp" if tcp else "udp"] += 1
            last_ok = time.monotonic()
            if got != want:
                failures.append("%s %s over %s: got %s, want %s" % (
                    name, t, "TCP" if tcp else "UDP", got, want))
                if len(failures) > 20:
                    break
        for p in procs:
            p.join(60)
        stats = {"udp": [0, 0], "tcp": [0, 0]}
        while not q.empty():
            kind, x, y = q.get()
            stats[kind][0] += x
            stats[kind][1] += y
        rss_last = rss_kb(srv.proc.pid) if srv.proc.poll() is None else 0
        samples.append((round(time.monotonic() - start), rss_last))
        elapsed = time.monotonic() - start
        print("load: %.0f s; UDP %d packets sent, %d answers read; TCP %d "
              "sends on %d connections" % (elapsed, stats["udp"][0],
                                          stats["udp"][1], stats["tcp"][0],
                                          stats["tcp"][1]))
        print("valid queries checked: %d (UDP %d, TCP %d), %d timeouts" %
              (checked, by["udp"], by["tcp"], timeouts))
        print("rss kB: first %d, after warm-up %s, last %d" % (
            samples[0][1], rss_warm, rss_last))
        if rss_warm is not None and rss_last:
            slack = max(a.rss_slack_mb * 1024, rss_warm * 0.10)
            if rss_last - rss_warm > slack:
                failures.append("RSS grew from %d kB to %d kB after warm-up "
                                "(slack %d kB)" % (rss_warm, rss_last,
                                                   slack))
        if checked == 0:
            failures.append("no valid query was answered during the load")
    except Exception as e:
        failures.append("error: %s" % e)
    finally:
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
                p.join(5)
        rc = srv.stop()
        log = open(os.path.join(d, "resolverd.log"), errors="replace").read()
        for pat in SANITIZER:
            if pat in log:
                failures.append("sanitizer report in resolverd's output: "
                                "%s" % pat)
        if rc not in (0, -signal.SIGTERM):
            failures.append("resolverd exit status %s" % rc)
        if failures:
            tail = log[-4000:]
            print("--- resolverd.log (end) ---\n" + tail)
        if a.keep or failures:
            print("temp dir kept: %s" % d)
        else:
            rdtest.cleanup(d)
    for f in failures:
        print("FAIL", f)
    print("soak: %s" % ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
