#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""zonetool compile with bad input for the database: a map too small for
the data (-m) fails with "database full" and leaves the database exactly
as it was; a missing, unreadable or non-regular file fails naming the file
and changes nothing; a bad -m is a usage error.  "Exactly as it was" is
checked twice: zonetool dump before and after, and the bytes of data.mdb.

usage: test_zonetool_bad.py ZONETOOL
"""
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

ZT = sys.argv[1]
ROOT = os.geteuid() == 0
failed = []
count = 0


def check(name, cond, detail=""):
    global count
    count += 1
    print(("ok   " if cond else "FAIL ") + name +
          ("" if cond else " %r" % (detail,)), flush=True)
    if not cond:
        failed.append(name)


def run(argv, as_nobody=False):
    if as_nobody and ROOT:
        return subprocess.run(rdtest.as_user([ZT] + argv, "nobody"),
                              capture_output=True, text=True, timeout=120)
    return subprocess.run([ZT] + argv, capture_output=True, text=True,
                          timeout=120)


def state(db):
    """What the database holds, twice over: its dump and its bytes."""
    dump = run(["dump", "-d", db])
    with open(os.path.join(db, "data.mdb"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return dump.returncode, dump.stdout, digest


def unchanged(what, db, before):
    after = state(db)
    check("%s: dump unchanged" % what, after[:2] == before[:2],
          (before[1][-300:], after[1][-300:]))
    check("%s: data.mdb unchanged" % what, after[2] == before[2])


def main():
    d = tempfile.mkdtemp(prefix="rd-ztbad-")
    os.chmod(d, 0o755)
    try:
        db = os.path.join(d, "db")
        small = os.path.join(d, "small.txt")
        big = os.path.join(d, "big.txt")
        with open(small, "w") as f:
            f.write("127.0.0.2 :2:listed\n10.0.0.0/8\n")
        rnd = random.Random(7)
        with open(big, "w") as f:
            for _ in range(50000):
                f.write("%d.%d.%d.%d :%d:reason %d\n" % (
                    rnd.randrange(1, 224), rnd.randrange(256),
                    rnd.randrange(256), rnd.randrange(256),
                    rnd.randrange(2, 5), rnd.randrange(100)))
        p = run(["compile", "-d", db, "a.test:ip4set:" + small])
        check("a first compile succeeds", p.returncode == 0, p.stderr)
        before = state(db)
        check("the database dumps", before[0] == 0 and
              "zone a.test" in before[1], before)

        # a map too small for what is written
        p = run(["compile", "-d", db, "-m", "64k", "a.test:ip4set:" + big,
                 "b.test:ip4set:" + small])
        check("tiny map: exit 1", p.returncode == 1, p)
        check("tiny map: says the database is full and unchanged",
              "database full" in p.stderr and
              "(database unchanged)" in p.stderr, p.stderr)
        unchanged("tiny map", db, before)

        # a missing file, after a good one
        missing = os.path.join(d, "nosuch.txt")
        p = run(["compile", "-d", db, "b.test:ip4set:" + small,
                 "a.test:ip4set:" + missing])
        check("missing file: exit 1 naming it", p.returncode == 1 and
              missing + ": No such file or directory" in p.stderr, p.stderr)
        unchanged("missing file", db, before)

        # a file the user cannot read
        secret = os.path.join(d, "secret.txt")
        shutil.copy(small, secret)
        os.chmod(secret, 0)
        p = run(["compile", "-d", db, "a.test:ip4set:" + secret],
                as_nobody=True)
        check("unreadable file: exit 1 naming it", p.returncode == 1 and
              secret + ": Permission denied" in p.stderr, p.stderr)
        unchanged("unreadable file", db, before)

        # a directory where a file should be
        sub = os.path.join(d, "adir")
        os.mkdir(sub)
        p = run(["compile", "-d", db, "a.test:ip4set:" + sub])
        check("a directory: exit 1 naming it", p.returncode == 1 and
              sub + ":" in p.stderr, p.stderr)
        unchanged("a directory", db, before)

        # usage errors
        p = run(["compile", "-d", db, "-m", "12x", "a.test:ip4set:" + small])
        check("-m 12x: usage error naming it", p.returncode == 2 and
              "-m 12x: not a size" in p.stderr, p)
        p = run(["compile", "-d", db, "a.test:nosuchtype:" + small])
        check("unknown type: usage error", p.returncode == 2 and
              "unknown dataset type" in p.stderr, p)
        unchanged("usage errors", db, before)

        # and the database still takes a good compile
        p = run(["compile", "-d", db, "a.test:ip4set:" + big])
        check("a good compile afterwards succeeds", p.returncode == 0,
              p.stderr)
        p = run(["lookup", "-d", db, "2.0.0.127.a.test"])
        check("and replaced the old data", "result nxdomain" in p.stdout,
              p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("%d checks, %d failed" % (count, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
