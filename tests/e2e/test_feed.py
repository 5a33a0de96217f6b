#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The signed zone feed end to end, with the real binaries: zonetool
keygen/publish/verify, zonesync from a local feed directory and from a
real rsync daemon on 127.0.0.1, and zonesync import.

A mirror synced by any path (snapshot, delta, snapshot + delta, rsync)
must dump byte-identically to `zonetool compile` of the same files.  Every
attack (bad signature, unknown key, another zone, rollback, expiry, issue
time in the future, truncated/flipped/padded/swapped/missing files, an
unwritable staging directory, a full map, a concurrent run) must exit 1
with a clear reason and leave the database as it was: its dump and the
bytes of data.mdb.  Keys roll.  zonesync killed with SIGKILL during large
applies leaves the old or the new state with a matching digest, and the
next run completes.

usage: test_feed.py ZONETOOL ZONESYNC
env:   FEED_KILLS=N (default 30) kills; FEED_SEED=N replays a run;
       FEED_NEEDS_LONG=1 (feed-sync-long) skips unless RD_LONG=1.
"""
import fcntl
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

ZT, ZS = sys.argv[1], sys.argv[2]
SEED = int(os.environ.get("FEED_SEED", random.randrange(1 << 30)))
KILLS = int(os.environ.get("FEED_KILLS", "30"))
if os.environ.get("FEED_NEEDS_LONG") and not os.environ.get("RD_LONG"):
    print("feed-sync-long: set RD_LONG=1 to run it (4 to 6 minutes)")
    sys.exit(77)
rnd = random.Random(SEED)
failed = []
count = 0
procs = []


def check(name, cond, detail=""):
    global count
    count += 1
    print(("ok   " if cond else "FAIL ") + name +
          ("" if cond else " %r" % (detail,)), flush=True)
    if not cond:
        failed.append(name)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 300), **kw)


def zt(*a):
    return run([ZT] + list(a))


def zs(*a):
    return run([ZS] + list(a))


def dump(db, zone=None):
    p = zt("dump", "-d", db, *([zone] if zone else []))
    return p.stdout if p.returncode == 0 else "ERROR " + p.stderr


def state(db):
    """The database as it is: its dump and the bytes of data.mdb."""
    with open(os.path.join(db, "data.mdb"), "rb") as f:
        return dump(db), hashlib.sha256(f.read()).hexdigest()


def compiled(d, specs):
    """Dump of `zonetool compile` of specs into a fresh database."""
    db = tempfile.mkdtemp(dir=d, prefix="compiled-")
    p = zt("compile", "-d", db, *specs)
    assert p.returncode == 0, p.stderr
    out = dump(db)
    shutil.rmtree(db)
    return out


def ip(x):
    return "%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255,
                            x & 255)


def write_ip4set(path, addrs, header=":127.0.0.2:Listed: $\n"):
    with open(path, "w") as f:
        f.write("$SOA 600 ns.bl.test. hm.bl.test. 0 1h 30m 1w 5m\n")
        f.write(header)
        for x in sorted(addrs):
            f.write(ip(x) + "\n")


def churn(addrs, share, r):
    """A copy of addrs with share of them replaced."""
    n = int(len(addrs) * share)
    keep = set(addrs)
    for x in r.sample(sorted(keep), n):
        keep.discard(x)
    while len(keep) < len(addrs):
        keep.add(r.randrange(1 << 24, 224 << 24))
    return keep


def write_dnset(path, v):
    with open(path, "w") as f:
        for i in range(300):
            if (i * 7 + v) % 11 == 0:
                continue
            f.write("d%d.example.com :%d:domain %d\n" % (i, 2 + (i + v) % 3,
                                                         v))
            if i % 5 == 0:
                f.write("*.w%d.example.net\n" % i)


def start_rsyncd(d, path):
    srv, port = rdtest.rsyncd(d, {"feed": path})
    procs.append(srv.proc)
    return srv.proc, port


def stop(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


def refused(what, db, argv, reason):
    """zonesync argv fails with reason and changes nothing in db."""
    before = state(db)
    p = zs(*argv)
    check("%s: exit 1" % what, p.returncode == 1,
          (p.returncode, p.stdout, p.stderr))
    check("%s: says %r" % (what, reason), reason in p.stderr, p.stderr)
    after = state(db)
    check("%s: dump unchanged" % what, after[0] == before[0])
    check("%s: data.mdb unchanged" % what, after[1] == before[1])
    return p


def main():
    d = tempfile.mkdtemp(prefix="rd-feed-")
    try:
        body(d)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(d, ignore_errors=True)
    print("seed %d: %d checks, %d failed" % (SEED, count, len(failed)))
    for f in failed:
        print("FAILED: " + f)
    sys.exit(1 if failed else 0)


def body(d):
    J = lambda *p: os.path.join(d, *p)
    now = int(time.time())

    # keys
    p = zt("keygen", "-p", J("k1.pub"), "-s", J("k1.sec"))
    check("keygen", p.returncode == 0, p.stderr)
    kid = p.stdout.split()[1].rstrip(":")
    check("secret key is 0600", os.stat(J("k1.sec")).st_mode & 0o777 == 0o600)
    check("key id in both files", kid in open(J("k1.pub")).read() and
          kid in open(J("k1.sec")).read())
    p = zt("keygen", "-p", J("k1.pub"), "-s", J("k1.sec"))
    check("keygen never overwrites", p.returncode == 1 and
          "not overwriting" in p.stderr, p.stderr)
    zt("keygen", "-p", J("k2.pub"), "-s", J("k2.sec"))
    os.chmod(J("k2.sec"), 0o644)
    p = zt("publish", "-s", J("k2.sec"), "-o", J("x"), "a.test:dnset:" + J(
        "k2.pub"))
    check("a readable secret key is refused", p.returncode == 1 and
          "chmod 600" in p.stderr, p.stderr)
    os.chmod(J("k2.sec"), 0o600)

    # three versions of a zone: an ip4set and a dnset
    feed = J("feed")
    ipf, dnf = J("ip.txt"), J("dom.txt")
    specs = ["bl.test:ip4set:" + ipf, "bl.test:dnset:" + dnf]
    base = set()
    while len(base) < 20000:
        base.add(rnd.randrange(1 << 24, 224 << 24))
    vers = [base]
    for _ in range(2):
        vers.append(churn(vers[-1], 0.02, rnd))
    want = []
    manifests = []

    def publish(v, *extra, key="k1.sec", out=feed):
        write_ip4set(ipf, vers[v])
        write_dnset(dnf, v)
        p = zt("publish", "-s", J(key), "-o", out, "--issued", str(now),
               *extra, *specs)
        return p

    dbs = {}
    for v in range(3):
        p = publish(v)
        check("publish v%d" % (v + 1), p.returncode == 0, p.stderr)
        print("  " + p.stdout.strip())
        want.append(compiled(d, specs))
        manifests.append(open(os.path.join(feed, "bl.test", "manifest")).read())
        if v == 0:
            check("v1 has a snapshot", "snapshot -" not in p.stdout)
            # a mirror at serial 1
            dbs[1] = J("db-at-1")
            p = zs("-d", dbs[1], "-k", J("k1.pub"), feed)
            check("sync v1 (snapshot)", p.returncode == 0 and
                  "0 -> 1 (snapshot)" in p.stdout, p.stdout + p.stderr)
            shutil.copytree(dbs[1], J("db-at-1-copy"))
            shutil.copytree(dbs[1], J("db-at-1-rsync"))
        if v == 1:
            dbs[2] = J("db-at-2")
            shutil.copytree(dbs[1], dbs[2])
            p = zs("-d", dbs[2], "-k", J("k1.pub"), feed)
            check("sync 1 -> 2 (delta)", p.returncode == 0 and
                  "1 -> 2 (delta)" in p.stdout, p.stdout + p.stderr)
            check("mirror at 2 dumps as compile of v2", dump(dbs[2]) ==
                  want[1])
            shutil.copytree(feed, J("feed-at-2"))
    # the same files again (a rewrite would change their mtime, which is
    # content: it is the SOA serial of a "$SOA ... 0" zone)
    p = zt("publish", "-s", J("k1.sec"), "-o", feed, "--issued", str(now),
           *specs)
    check("publishing the same content keeps the serial",
          p.returncode == 0 and "serial 3 unchanged" in p.stdout, p.stdout)
    mf = open(os.path.join(feed, "bl.test", "manifest")).read()
    check("manifest lists deltas 1-3 and 2-3",
          "\ndelta 1 3 " in mf and "\ndelta 2 3 " in mf, mf)

    p = zt("verify", "-k", J("k1.pub"), feed)
    check("zonetool verify", p.returncode == 0 and "ok" in p.stdout,
          p.stdout + p.stderr)
    p = zt("verify", "-k", J("k2.pub"), feed)
    check("zonetool verify with another key fails", p.returncode == 1 and
          "not a trusted key" in p.stderr, p.stderr)

    # local syncs: fresh (snapshot + delta), older (delta), current
    fresh = J("db-fresh")
    p = zs("-d", fresh, "-k", J("k1.pub"), "--json", feed, "bl.test")
    js = json.loads(p.stdout) if p.returncode == 0 else {}
    z = js.get("zones", [{}])[0]
    check("fresh mirror: snapshot", p.returncode == 0 and
          z.get("method") == "snapshot" and z.get("to") == 3, p.stdout)
    check("fresh mirror dumps as compile of v3", dump(fresh) == want[2])
    p = zs("-d", dbs[1], "-k", J("k1.pub"), feed)
    check("older mirror: one delta 1 -> 3", p.returncode == 0 and
          "1 -> 3 (delta)" in p.stdout, p.stdout + p.stderr)
    check("older mirror dumps as compile of v3", dump(dbs[1]) == want[2])
    p = zs("-d", dbs[1], "-k", J("k1.pub"), feed)
    check("then it is current", p.returncode == 0 and "3 current" in
          p.stdout, p.stdout)
    p = zs("status", "-d", dbs[1], "--json")
    js = json.loads(p.stdout)
    check("status: serial 3, digest ok", p.returncode == 0 and
          js["zones"][0]["serial"] == 3 and js["zones"][0]["state"] == "ok",
          p.stdout)

    # rsync: a real daemon on loopback
    rp, port = start_rsyncd(d, feed)
    src = "rsync://127.0.0.1:%d/feed" % port
    rfresh = J("db-rsync")
    p = zs("-d", rfresh, "-k", J("k1.pub"), src, "bl.test")
    check("rsync: fresh mirror", p.returncode == 0 and "0 -> 3 (snapshot)"
          in p.stdout, p.stdout + p.stderr)
    check("rsync: fresh mirror dumps as compile of v3",
          dump(rfresh) == want[2])
    p = zs("-d", J("db-at-1-rsync"), "-k", J("k1.pub"), "--json", src,
           "bl.test")
    z = json.loads(p.stdout)["zones"][0] if p.returncode == 0 else {}
    check("rsync: delta 1 -> 3", z.get("method") == "delta" and
          z.get("from") == 1 and z.get("to") == 3, p.stdout + p.stderr)
    check("rsync: delta mirror dumps as compile of v3",
          dump(J("db-at-1-rsync")) == want[2])
    snapsize = os.path.getsize(os.path.join(feed, "bl.test", "snap", "1"))
    check("rsync: fetched %s bytes (manifest + delta), not the %d of the "
          "snapshot" % (z.get("bytes"), snapsize),
          0 < z.get("bytes", 0) < snapsize / 4)
    check("staging left clean", os.listdir(J("db-rsync", "feed-staging"))
          == [])
    refused("rsync: missing zone", J("db-at-1-copy"),
            ["-d", J("db-at-1-copy"), "-k", J("k1.pub"), src, "no.test"],
            "a file is missing")
    with open(J("notadir"), "w") as f:
        f.write("x")
    refused("rsync: staging not writable", J("db-at-1-copy"),
            ["-d", J("db-at-1-copy"), "-k", J("k1.pub"), "-S",
             J("notadir", "stage"), src, "bl.test"], "staging directory")
    refused("rsync: no daemon", J("db-at-1-copy"),
            ["-d", J("db-at-1-copy"), "-k", J("k1.pub"), "--timeout", "5",
             "rsync://127.0.0.1:%d/feed" % rdtest.free_port(), "bl.test"],
            "rsync exited")
    stop(rp)

    # attacks, each on a copy of the feed, against a mirror at serial 1
    victim = J("db-at-1-copy")

    def tampered(name, fn):
        t = J("feed-" + name)
        shutil.copytree(feed, t)
        fn(os.path.join(t, "bl.test"))
        return t

    def edit(path, fn):
        with open(path, "rb") as f:
            b = bytearray(f.read())
        b = fn(b)
        with open(path, "wb") as f:
            f.write(b)

    def flip_digest(z):
        def f(b):
            i = b.index(b"\ndigest ") + 8
            b[i] = ord("0") if b[i] != ord("0") else ord("1")
            return b
        edit(os.path.join(z, "manifest"), f)
    t = tampered("badsig", flip_digest)
    refused("manifest altered", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "BAD SIGNATURE")

    def flip_sig(z):
        edit(os.path.join(z, "manifest"),
             lambda b: b[:-3] + (b"0" if b[-3] != ord("0") else b"1") +
             b[-2:])
    t = tampered("badsig2", flip_sig)
    refused("signature altered", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "BAD SIGNATURE")
    refused("unknown key", victim,
            ["-d", victim, "-k", J("k2.pub"), feed, "bl.test"],
            "not a trusted key")
    t = J("feed-otherzone")
    os.makedirs(t)
    shutil.copytree(os.path.join(feed, "bl.test"),
                    os.path.join(t, "other.test"))
    refused("manifest for another zone", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "other.test"],
            "manifest is for zone bl.test, not other.test")
    # rollback: the mirror at 3 is offered the old serial-2 feed
    refused("rollback (old manifest replayed)", dbs[1],
            ["-d", dbs[1], "-k", J("k1.pub"), J("feed-at-2"), "bl.test"],
            "rollback refused")
    # freeze and the future: serial 3 again, issued at other times
    write_ip4set(ipf, vers[2])
    write_dnset(dnf, 2)
    old = J("feed-expired")
    shutil.copytree(J("feed-at-2"), old)
    zt("publish", "-s", J("k1.sec"), "-o", old, "--issued",
       str(now - 7200), "--expires", "1h", *specs)
    refused("expired manifest", victim,
            ["-d", victim, "-k", J("k1.pub"), old, "bl.test"], "expired")
    fut = J("feed-future")
    shutil.copytree(J("feed-at-2"), fut)
    zt("publish", "-s", J("k1.sec"), "-o", fut, "--issued", str(now + 3600),
       *specs)
    refused("issued in the future", victim,
            ["-d", victim, "-k", J("k1.pub"), fut, "bl.test"],
            "in the future")
    p = zs("-d", victim, "-k", J("k1.pub"), "--skew", "7200", fut, "bl.test")
    check("a larger --skew accepts it", p.returncode == 0 and "1 -> 3" in
          p.stdout, p.stdout + p.stderr)
    # the file attacks, against a mirror at serial 2 (it needs delta/2-3)
    shutil.rmtree(victim)
    shutil.copytree(J("db-at-2"), victim)
    delta = os.path.join("delta", "2-3")
    t = tampered("trunc", lambda z: edit(os.path.join(z, delta),
                                         lambda b: b[:len(b) // 2]))
    refused("truncated delta", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "the manifest says")

    def flipbit(b):
        i = rnd.randrange(len(b))
        b[i] ^= 1 << rnd.randrange(8)
        return b
    t = tampered("flip", lambda z: edit(os.path.join(z, delta), flipbit))
    refused("one flipped bit in a delta", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "BLAKE2b-256 is not the manifest's")
    t = tampered("pad", lambda z: edit(os.path.join(z, delta),
                                       lambda b: b + b"\0" * 1000))
    refused("a delta larger than the manifest says", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "the manifest says")
    t = tampered("swap", lambda z: shutil.copy(
        os.path.join(z, "delta", "1-3"), os.path.join(z, delta)))
    refused("a delta from the wrong serial (1-3 as 2-3)", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "manifest says")
    t = tampered("missing", lambda z: os.unlink(os.path.join(z, delta)))
    refused("a missing delta", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "No such file")
    t = tampered("nomanifest",
                 lambda z: os.unlink(os.path.join(z, "manifest")))
    refused("a missing manifest", victim,
            ["-d", victim, "-k", J("k1.pub"), t, "bl.test"],
            "No such file")
    # a full map: the mirror at 2 cannot grow by a large change
    big = churn(vers[2], 0.5, rnd)
    write_ip4set(ipf, big)
    bigfeed = J("feed-big")
    shutil.copytree(feed, bigfeed)
    zt("publish", "-s", J("k1.sec"), "-o", bigfeed, "--issued", str(now),
       *specs)
    tiny = J("db-tiny")
    shutil.copytree(J("db-at-2"), tiny)
    before = state(tiny)
    p = zs("-d", tiny, "-m", "64k", "-k", J("k1.pub"), bigfeed, "bl.test")
    check("full map: exit 1, database full", p.returncode == 1 and
          "database full" in p.stderr, p.stderr)
    check("full map: dump unchanged", dump(tiny) == before[0])
    p = zs("status", "-d", tiny, "bl.test")
    check("full map: still serial 2, digest ok",
          p.returncode == 0 and "serial 2," in p.stdout and " ok;" in
          p.stdout, p.stdout)
    # a concurrent run
    with open(os.path.join(victim, "zonesync.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        refused("concurrent run", victim,
                ["-d", victim, "-k", J("k1.pub"), feed, "bl.test"],
                "another zonesync is running")
    p = zs("-d", victim, "-k", J("k1.pub"), feed, "bl.test")
    check("after all that, the mirror syncs", p.returncode == 0 and
          "2 -> 3 (delta)" in p.stdout, p.stdout + p.stderr)
    check("and dumps as compile of v3", dump(victim) == want[2])
    p = zs("-d", victim, "-k", J("k1.pub"), "-x", feed)
    check("usage error: exit 2", p.returncode == 2, p.stderr)

    # key rotation: v4 signed by k2; a mirror that pins k1 only refuses it
    vers.append(churn(vers[2], 0.02, rnd))
    p = publish(3, key="k2.sec")
    check("publish v4 with the new key", p.returncode == 0, p.stderr)
    want.append(compiled(d, specs))
    refused("key rolled, mirror pins the old key only", victim,
            ["-d", victim, "-k", J("k1.pub"), feed, "bl.test"],
            "not a trusted key")
    p = zs("-d", victim, "-k", J("k1.pub"), "-k", J("k2.pub"), feed)
    check("both keys pinned: 3 -> 4", p.returncode == 0 and "3 -> 4" in
          p.stdout, p.stdout + p.stderr)
    check("after the roll, dumps as compile of v4", dump(victim) == want[3])

    # zonesync import: plain rbldnsd files, diffed against the database
    imp = J("db-import")
    write_ip4set(ipf, vers[0])
    p = zs("import", "-d", imp, *specs)
    check("import", p.returncode == 0, p.stderr)
    write_ip4set(ipf, vers[1])
    p = zs("import", "--json", "-d", imp, *specs)
    js = json.loads(p.stdout) if p.returncode == 0 else {}
    imp_want = compiled(d, specs)
    check("import again: a diff, not a rewrite", p.returncode == 0 and
          0 < js["import"]["written"] < 2000 and js["import"]["changed"],
          p.stdout + p.stderr)
    check("import dumps as compile", dump(imp) == imp_want)
    p = zs("import", "-d", imp, *specs)
    check("import of the same files: current", p.returncode == 0 and
          "current" in p.stdout, p.stdout)

    kill_test(d, J)


def kill_test(d, J):
    """SIGKILL zonesync during large applies, at random moments."""
    ipf = J("kill.txt")
    specs = ["big.test:ip4set:" + ipf]
    feed = J("feed-kill")
    r = random.Random(SEED + 1)
    a = set()
    while len(a) < 400000:
        a.add(r.randrange(1 << 24, 224 << 24))
    b = churn(a, 0.3, r)
    now = int(time.time())
    write_ip4set(ipf, a)
    p = zt("publish", "-s", J("k1.sec"), "-o", feed, "--issued", str(now),
           *specs)
    check("kill test: publish v1", p.returncode == 0, p.stderr)
    h1 = hashlib.sha256(compiled(d, specs).encode()).hexdigest()
    base = J("kill-base")
    p = zs("-d", base, "-k", J("k1.pub"), feed)
    write_ip4set(ipf, b)
    p = zt("publish", "-s", J("k1.sec"), "-o", feed, "--issued", str(now),
           "--share", "0", *specs)
    check("kill test: publish v2 (30% changed)", p.returncode == 0, p.stderr)
    h2 = hashlib.sha256(compiled(d, specs).encode()).hexdigest()
    h0 = hashlib.sha256(b"").hexdigest()

    def sync_timed(db):
        t0 = time.monotonic()
        p = subprocess.Popen([ZS, "-v", "-d", db, "-k", J("k1.pub"), feed],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        procs.append(p)
        return p, t0

    # how long an apply takes, from "applying" to the end
    durations = {}
    for kind in ("delta", "snapshot"):
        db = J("kill-probe-" + kind)
        if kind == "delta":
            shutil.copytree(base, db)
        p, _ = sync_timed(db)
        for line in p.stderr:
            if "applying" in line:
                t1 = time.monotonic()
                break
        p.wait()
        durations[kind] = time.monotonic() - t1
        shutil.rmtree(db)
    print("  apply takes %.2fs (delta), %.2fs (snapshot)" %
          (durations["delta"], durations["snapshot"]))
    olds = news = 0
    for i in range(KILLS):
        kind = "delta" if i % 2 == 0 else "snapshot"
        db = J("kill-%d" % i)
        if kind == "delta":
            shutil.copytree(base, db)
        p, _ = sync_timed(db)
        for line in p.stderr:
            if "applying" in line:
                break
        time.sleep(r.uniform(0, durations[kind] * 1.1))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        p.stderr.close()
        procs.remove(p)
        out = zt("dump", "-d", db)
        h = hashlib.sha256(out.stdout.encode()).hexdigest()
        old = h1 if kind == "delta" else h0
        st = zs("status", "--json", "-d", db, "big.test")
        js = json.loads(st.stdout) if st.stdout.startswith("{") else {}
        zst = (js.get("zones") or [{}])[0]
        if h == old:
            olds += 1
            good = (kind == "snapshot" and zst.get("state") == "not-synced"
                    ) or (zst.get("serial") == 1 and zst.get("state") == "ok")
        elif h == h2:
            news += 1
            good = zst.get("serial") == 2 and zst.get("state") == "ok"
        else:
            good = False
        check("kill %d (%s): old or new state, digest matching" % (i, kind),
              good and out.returncode == 0, (h, zst, out.stderr[-300:]))
        p = zs("-d", db, "-k", J("k1.pub"), feed)
        check("kill %d: the next run completes" % i, p.returncode == 0 and
              hashlib.sha256(zt("dump", "-d", db).stdout.encode())
              .hexdigest() == h2, p.stdout + p.stderr)
        shutil.rmtree(db)
    print("  %d kills: %d left the old state, %d the new" %
          (KILLS, olds, news))
    check("kills landed during applies (some old states)", olds > 0)


if __name__ == "__main__":
    main()
