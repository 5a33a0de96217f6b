#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Failure-injection loop (issue 7): run one operation failing at call N
of each class (tests/inject/inject.h), for N = 1, 2, ... until a run
completes without reaching N, and check after every run:

  - no crash: exit status 0, 1 or 2 (usage or environment), no signal,
    no sanitizer report (the sanitizer exit code is set to 86), no leak:
    the wrapped allocations all freed at exit (the injection report),
    and LeakSanitizer quiet in a sanitizer build;
  - a failure at N (exit 1 or 2) says why on stderr, prefixed by the tool,
    naming the failed call's errno or LMDB error;
  - the database dumps byte-identically to before the run or to the
    fully updated state (exit 0 only with the latter); for publish, the
    feed directory passes `zonetool verify` with the old head or the new
    head (its digest);
  - the next run without injection completes the update from there
    (no stale lock, temporary file or half state in the way).

Operations (--op): compile (zonetool compile of a changed multi-type
zone set into an existing database), replace-all (zn_db_replace_flags
with ZN_REPLACE_ALL, which also drops a zone), sync-delta (zonesync of a
delta), sync-snapshot (zonesync of a snapshot plus delta into a database
holding another zone), publish (zonetool publish of the next version
into a feed directory).

Prints the number of injection points per class and operation.  env:
INJECT_STRIDE=S runs every S-th point (and the last; default
INJECT_DEFAULT_STRIDE, which meson sets, or 7); INJECT_STRIDE=1 runs them
all; INJECT_CLASSES=alloc,write limits the classes; INJECT_TMPDIR=DIR
works there (default /dev/shm).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

CLASSES = ["alloc", "mdbput", "mdbtxn", "open", "read", "write", "fsync",
           "rename"]
# What a failure of each class must be reported as (any of these, case
# insensitive).  A message that names none of them hides the cause.
REASONS = {
    "alloc": ["out of memory", "cannot allocate memory"],
    "mdbput": ["mdb_map_full", "map_full", "mapsize", "map size",
               "environment mapsize limit"],
    "mdbtxn": ["input/output error", "mdb_dbs_full", "databases full",
               "maxdbs"],
    "open": ["input/output error"],
    "read": ["input/output error", "read error", "short read"],
    "write": ["no space left on device"],
    "fsync": ["input/output error"],
    "rename": ["input/output error"],
}
SAN_EXIT = 86

ap = argparse.ArgumentParser()
for a in ("zonetool", "zonesync", "zonetool-inject", "zonesync-inject",
          "replace-all-inject", "op"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()
STRIDE = max(1, int(os.environ.get(
    "INJECT_STRIDE", os.environ.get("INJECT_DEFAULT_STRIDE", "7"))))
ONLY = [c for c in os.environ.get("INJECT_CLASSES", "").split(",") if c]

failures = []
nchecks = 0


def check(what, cond, detail=""):
    global nchecks
    nchecks += 1
    if not cond:
        failures.append(what)
        print("FAIL " + what + (": %s" % (detail,) if detail else ""),
              flush=True)
    return cond


def run(argv, env=None, timeout=120):
    e = dict(os.environ)
    san = "exitcode=%d" % SAN_EXIT
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        e[k] = (e[k] + ":" if e.get(k) else "") + san
    e.pop("INJECT", None)
    e.pop("INJECT_REPORT", None)
    if env:
        e.update(env)
    return subprocess.run(argv, capture_output=True, text=True, env=e,
                          errors="backslashreplace", timeout=timeout)


def zt(*a):
    p = run([args.zonetool] + list(a))
    if p.returncode != 0:
        raise RuntimeError("zonetool %s: %s" % (" ".join(a), p.stderr))
    return p.stdout


def dump(db, zone=None):
    p = run([args.zonetool, "dump", "-d", db] + ([zone] if zone else []))
    return p.stdout if p.returncode == 0 else "ERROR " + p.stderr


# ---- zone files: every dataset type, version 1 and version 2 ----------

def ip(x):
    return "%d.%d.%d.%d" % (x >> 24, (x >> 16) & 255, (x >> 8) & 255,
                            x & 255)


def write_zones(zd, v):
    """Version v (1 or 2) of a small multi-type zone set."""
    def w(name, text):
        with open(os.path.join(zd, name), "w") as f:
            f.write(text)

    lines = ["$SOA 600 ns.bl.test. hm.bl.test. %d 1h 30m 1w 5m" % v,
             "$NS 3600 ns1.bl.test", ":127.0.0.2:Listed v%d: $" % v]
    for i in range(24):
        if (i + v) % 5:
            lines.append(ip((10 << 24) + i * 7919 * v))
    lines += ["10.9.0.0/16", "!10.9.1.1", "192.0.2.%d :3:own" % (v * 10)]
    w("ip4set", "\n".join(lines) + "\n")
    w("ip4trie", "".join("172.%d.0.0/%d :%d:trie %d\n" %
                         (16 + i, 16 + (i + v) % 8, 2 + i % 3, i)
                         for i in range(8 + v)) + "!172.17.1.0/24\n")
    w("ip6tset", "".join("2001:db8:0:%x\n" % (i * v + 1)
                         for i in range(10)))
    w("ip6trie", ":127.0.0.4:v6\n" + "".join(
        "2001:db8:%x::/%d\n" % (i + v, 48 + i % 3 * 8) for i in range(6)))
    w("dnset", "".join("d%d.example.com :%d:domain %d\n" % (i, 2 + i % 3, v)
                       for i in range(20) if (i * 3 + v) % 7) +
      "*.w%d.example.net\n!x.w%d.example.net\n" % (v, v))
    w("generic", "$TTL 300\n@ A 127.0.0.%d\n@ TXT \"generic v%d\"\n"
      "www MX 10 mx%d.example.com.\nh%d AAAA 2001:db8::%d\n" %
      (v, v, v, v, v))
    w("combined", "$DATASET ip4set lst\n:2:combined v%d\n10.1.%d.0/24\n"
      "$DATASET dnset names @\nbad%d.example :3\n"
      "$DATASET ip4trie sub sub\n10.%d.0.0/16\n" % (v, v, v, v))
    w("other", "1.2.3.4\n5.6.7.8\n")


def specs(zd, v, drop=False):
    J = lambda n: os.path.join(zd, n)
    s = ["bl.test:ip4set:" + J("ip4set"),
         "bl.test:dnset:" + J("dnset"),
         "ip.test:ip4trie:" + J("ip4trie"),
         "ip.test:ip6tset:" + J("ip6tset"),
         "ip.test:ip6trie:" + J("ip6trie"),
         "gen.test:generic:" + J("generic"),
         "comb.test:combined:" + J("combined")]
    if v == 2:
        # a zone gains a dataset
        s.append("gen.test:dnset:" + J("dnset"))
        if drop:
            # replace-all: a zone not named any more is dropped
            s = [x for x in s if not x.startswith("ip.test:")]
    return s


FEED_SPECS = lambda s: [x for x in s if x.startswith(("bl.test:",
                                                      "comb.test:"))]
FEED_ZONES = ["bl.test", "comb.test"]


# ---- operations ----------------------------------------------------------
# Each prepares a pristine "before" state once; run(dir, env) runs the
# operation on a copy; state(dir) describes the result; the reference
# "after" state is the result of a run without injection.

class Op:
    def __init__(self, d):
        self.d = d
        self.zd = os.path.join(d, "zones")
        os.mkdir(self.zd)
        write_zones(self.zd, 1)

    def mkpristine(self):
        self.pristine = os.path.join(self.d, "pristine")
        os.mkdir(self.pristine)

    def copy(self, dst):
        shutil.copytree(self.pristine, dst, symlinks=True)


class DbOp(Op):
    """The database in DIR/db is the state: one part, its whole dump, as
    the operation is one transaction."""
    zones = None

    def state(self, w):
        db = os.path.join(w, "db")
        if self.zones is None:
            return [dump(db)]
        return [dump(db, z) for z in self.zones]


class Compile(DbOp):
    tool = "zonetool"

    def prepare(self):
        self.mkpristine()
        zt("compile", "-d", os.path.join(self.pristine, "db"),
           *specs(self.zd, 1))
        write_zones(self.zd, 2)

    def argv(self, w):
        return [args.zonetool_inject, "compile", "-d",
                os.path.join(w, "db")] + specs(self.zd, 2)


class ReplaceAll(DbOp):
    tool = "inject-replace-all"

    def prepare(self):
        self.mkpristine()
        zt("compile", "-d", os.path.join(self.pristine, "db"),
           *specs(self.zd, 1))
        write_zones(self.zd, 2)

    def argv(self, w):
        return [args.replace_all_inject,
                os.path.join(w, "db")] + specs(self.zd, 2, drop=True)


class FeedOp(Op):
    def keys(self):
        self.pub = os.path.join(self.d, "k.pub")
        self.sec = os.path.join(self.d, "k.sec")
        zt("keygen", "-p", self.pub, "-s", self.sec)

    def publish(self, feed, v):
        write_zones(self.zd, v)
        zt("publish", "-s", self.sec, "-o", feed,
           *FEED_SPECS(specs(self.zd, v)))


class Sync(FeedOp, DbOp):
    """One transaction per zone: each zone's dump is a part."""
    tool = "zonesync"
    zones = FEED_ZONES + ["other.test"]

    def __init__(self, d, delta):
        super().__init__(d)
        self.delta = delta

    def prepare(self):
        self.keys()
        self.mkpristine()
        self.feed = os.path.join(self.d, "feed")
        db = os.path.join(self.pristine, "db")
        zt("compile", "-d", db, "other.test:ip4set:" +
           os.path.join(self.zd, "other"))
        self.publish(self.feed, 1)
        if self.delta:
            p = run([args.zonesync, "-q", "-d", db, "-k", self.pub,
                     self.feed] + FEED_ZONES)
            if p.returncode != 0:
                raise RuntimeError("zonesync: " + p.stderr)
        self.publish(self.feed, 2)
        # the mirror runs without a staging directory of its own: a local
        # feed is read in place

    def argv(self, w):
        return [args.zonesync_inject, "-q", "-d", os.path.join(w, "db"),
                "-k", self.pub, self.feed] + FEED_ZONES


class Publish(FeedOp):
    tool = "zonetool"

    def prepare(self):
        self.keys()
        self.mkpristine()
        self.publish(os.path.join(self.pristine, "feed"), 1)
        write_zones(self.zd, 2)

    def argv(self, w):
        return [args.zonetool_inject, "publish", "-s", self.sec, "-o",
                os.path.join(w, "feed")] + FEED_SPECS(specs(self.zd, 2))

    def state(self, w):
        """Verify result, serial and digest of each zone's manifest."""
        feed = os.path.join(w, "feed")
        p = run([args.zonetool, "verify", "-k", self.pub, feed] +
                FEED_ZONES)
        if p.returncode != 0:
            return ["VERIFY FAILED " + p.stdout + p.stderr]
        out = []
        for z in FEED_ZONES:
            with open(os.path.join(feed, z, "manifest")) as f:
                m = f.read()
            out.append("%s %s" % (z, " ".join(
                l for l in m.splitlines()
                if l.startswith(("digest ", "entries ")))))
        return out


def make_op(name, d):
    return {"compile": lambda: Compile(d),
            "replace-all": lambda: ReplaceAll(d),
            "sync-delta": lambda: Sync(d, True),
            "sync-snapshot": lambda: Sync(d, False),
            "publish": lambda: Publish(d)}[name]()


def read_report(path):
    rep = {}
    try:
        with open(path) as f:
            for line in f:
                k, *v = line.split()
                rep[k] = [int(x) for x in v]
    except OSError:
        return None
    return rep


def one_run(op, w, cls, n):
    """Run op in w failing call n of cls (n 0: none): (process, report)."""
    rpath = os.path.join(w, "inject.report")
    if os.path.exists(rpath):
        os.unlink(rpath)
    env = {"INJECT_REPORT": rpath}
    if n:
        env["INJECT"] = "%s:%d" % (cls, n)
    p = run(op.argv(w), env)
    return p, read_report(rpath)


def sound(what, p, rep):
    """No crash, no sanitizer report, no leak."""
    ok = check(what + ": no signal", p.returncode >= 0,
               "signal %d" % -p.returncode)
    ok &= check(what + ": no sanitizer report", p.returncode != SAN_EXIT and
                "Sanitizer" not in p.stderr, p.stderr[-2000:])
    ok &= check(what + ": exit 0, 1 or 2", p.returncode in (0, 1, 2),
                (p.returncode, p.stderr[-1000:]))
    ok &= check(what + ": exit report written", rep is not None)
    if rep is not None:
        ok &= check(what + ": no leak", rep["live"][0] == 0,
                    "%d allocations, %d bytes not freed" %
                    tuple(rep["live"]))
    return ok


def scratch_dir():
    """Where to work: hundreds of LMDB commits, each with an fsync, are
    I/O-bound on a disk and take seconds instead of minutes on a tmpfs
    (INJECT_TMPDIR, else /dev/shm when writable, else the default)."""
    for c in (os.environ.get("INJECT_TMPDIR"), "/dev/shm"):
        if c and os.path.isdir(c) and os.access(c, os.W_OK | os.X_OK):
            return c
    return None


def main():
    d = tempfile.mkdtemp(prefix="rd-inject-", dir=scratch_dir())
    try:
        body(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("%s: %d checks, %d failed" % (args.op, nchecks, len(failures)))
    for f in failures[:50]:
        print("FAILED: " + f)
    sys.exit(1 if failures else 0)


def body(d):
    t0 = time.time()
    op = make_op(args.op, d)
    op.prepare()
    before = op.state(op.pristine)
    check("before: state readable", not any(
        s.startswith(("ERROR", "VERIFY")) and "no such zone" not in s
        for s in before), before)

    # reference run, no injection: the updated state and the call counts
    w = os.path.join(d, "ref")
    op.copy(w)
    p, rep = one_run(op, w, None, 0)
    if not (sound("reference run", p, rep) and
            check("reference run: exit 0", p.returncode == 0, p.stderr)):
        return
    after = op.state(w)
    check("reference run: changes the state", after != before)
    counts = {c: rep[c][0] for c in CLASSES}
    shutil.rmtree(w)

    stats = {}
    runs = 0
    for cls in CLASSES:
        if ONLY and cls not in ONLY:
            continue
        total = counts[cls]
        points = list(range(1, total + 1, STRIDE))
        if total and points[-1] != total:
            points.append(total)
        points.append(total + 1)  # must complete without reaching it
        tolerated = errors = 0
        tol_points = []
        for n in points:
            what = "%s %s:%d" % (args.op, cls, n)
            w = os.path.join(d, "w")
            op.copy(w)
            p, rep = one_run(op, w, cls, n)
            runs += 1
            if not sound(what, p, rep):
                shutil.rmtree(w)
                continue
            reached = rep["failed"][0] == 1
            st = op.state(w)
            if not reached:
                check(what + ": reached (call counts are deterministic)",
                      n > total, "only %d calls" % rep[cls][0])
                check(what + ": exit 0 without a failure",
                      p.returncode == 0, p.stderr)
                check(what + ": fully updated", st == after)
                shutil.rmtree(w)
                continue
            if p.returncode == 0:
                # the failure was tolerated: the result must be complete
                tolerated += 1
                tol_points.append(n)
                check(what + ": exit 0 means fully updated", st == after,
                      p.stderr)
            else:
                errors += 1
                err = p.stderr.lower()
                check(what + ": error names the tool",
                      err.startswith(op.tool + ":") or
                      ("\n" + op.tool + ":") in err, p.stderr)
                check(what + ": error says why", any(
                    r in err for r in REASONS[cls]), p.stderr)
                check(what + ": each part old or fully updated", all(
                    s in (b, a) for s, b, a in zip(st, before, after)),
                    [s[:1000] for s in st])
            # the next run without injection completes the update
            p2, rep2 = one_run(op, w, None, 0)
            if sound(what + " then a clean run", p2, rep2):
                check(what + " then a clean run: exit 0",
                      p2.returncode == 0, p2.stderr)
                check(what + " then a clean run: fully updated",
                      op.state(w) == after)
            shutil.rmtree(w)
        stats[cls] = (total, len(points) - 1, errors, tolerated)
        if tol_points:
            print("%s: %s: failures tolerated (exit 0, fully updated) at "
                  "%s" % (args.op, cls, " ".join(map(str, tol_points))))
    print("%s: injection points per class (calls; points run; failed "
          "with an error; failures tolerated):" % args.op)
    for cls, (total, nrun, errors, tolerated) in stats.items():
        print("  %-7s %5d  %5d  %5d  %5d" % (cls, total, nrun, errors,
                                             tolerated))
    print("%s: %d injection points in all, %d runs (stride %d), %.1fs" %
          (args.op, sum(s[0] for s in stats.values()), runs, STRIDE,
           time.time() - t0))


main()
