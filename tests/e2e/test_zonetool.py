#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""zonetool end to end: compile, dump, check, lookup on real files.

usage: test_zonetool.py ZONETOOL
Checks that bad lines are reported as file:line and the rest compiles,
that a missing file or a full map fails with a clear message and leaves
the database exactly as it was, that dump is byte-stable and content-only,
that recompiling a changed file writes only the difference, and that
lookup answers with rbldnsd's semantics.
"""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

ZT = sys.argv[1] if len(sys.argv) > 1 else "zonetool"
failures = []


def run(*args, ok=True, stdin=None):
    p = subprocess.run([ZT] + list(args), capture_output=True, text=True,
                       input=stdin)
    if ok is True and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args, p.returncode,
                                                      p.stderr))
    if ok is False and p.returncode == 0:
        raise AssertionError("%s should have failed" % (args,))
    return p


def check(name, cond, detail=""):
    if not cond:
        failures.append("%s: %s" % (name, detail))
        print("FAIL", name, detail)
    else:
        print("ok  ", name)


def lookup(db, *names, client=None):
    args = ["lookup", "-d", db] + (["-c", client] if client else [])
    out = run(*(args + list(names)), ok=None).stdout
    blocks = {}
    for block in out.strip().split("\n\n"):
        lines = block.split("\n")
        name = lines[0].split(" ", 1)[1]
        res = [l for l in lines if l.startswith("result ")][0].split()[1]
        vals = sorted(l.rsplit(" ttl ", 1)[0] for l in lines
                      if l.startswith(("A ", "TXT ", "MX ", "AAAA ")))
        blocks[name] = (res, vals)
    return blocks


def main():
    tmp = tempfile.mkdtemp(prefix="zt-e2e-")
    try:
        w = lambda n, s: open(os.path.join(tmp, n), "w").write(s)
        p = lambda n: os.path.join(tmp, n)
        w("ip.txt", "$SOA 3600 ns.bl.test host.bl.test 1 600 300 86400 60\n"
          "$NS 3600 ns.bl.test\n"
          ":127.0.0.2:Listed $\n"
          "127.0.0.2\n"
          "10.0.0.0/8 :3:ten\n"
          "not-an-address\n"
          "192.168.1.0/33\n"
          "1.2.3.4\r\n")
        db = p("db")
        r = run("compile", "-d", db, "bl.test:ip4set:" + p("ip.txt"))
        check("bad lines named", p("ip.txt") + ":6:" in r.stderr and
              p("ip.txt") + ":7:" in r.stderr, r.stderr)
        res = lookup(db, "2.0.0.127.bl.test", "4.3.2.1.bl.test",
                     "1.1.1.10.bl.test", "1.0.0.127.bl.test", "0.0.127.bl.test",
                     "2.0.0.127.other.test")
        check("listed with template", res["2.0.0.127.bl.test"] == (
            "listed", ["A 127.0.0.2", 'TXT "Listed 127.0.0.2"']),
              res["2.0.0.127.bl.test"])
        check("CRLF line accepted", res["4.3.2.1.bl.test"][0] == "listed")
        check("range value", res["1.1.1.10.bl.test"] == (
            "listed", ["A 127.0.0.3", 'TXT "ten"']), res["1.1.1.10.bl.test"])
        check("not listed", res["1.0.0.127.bl.test"][0] == "nxdomain")
        check("empty non-terminal", res["0.0.127.bl.test"][0] == "ent")
        check("no zone", res["2.0.0.127.other.test"][0] == "nozone")

        d1 = run("dump", "-d", db).stdout
        d2 = run("dump", "-d", db).stdout
        check("dump byte-stable", d1 == d2 and "zone bl.test" in d1)

        # a missing file: clear error, database untouched
        r = run("compile", "-d", db, "bl.test:ip4set:" + p("nosuch.txt"),
                ok=False)
        check("missing file named", "nosuch.txt" in r.stderr, r.stderr)
        check("missing file leaves db", run("dump", "-d", db).stdout == d1)

        # a second database compiled from the same content dumps the same
        db2 = p("db2")
        run("compile", "-d", db2, "bl.test:ip4set:" + p("ip.txt"))
        check("dump is content-only", run("dump", "-d", db2).stdout == d1)

        # gzip'd files are read transparently
        with gzip.open(p("ip.txt.gz"), "wt") as f:
            f.write(open(p("ip.txt")).read())
        db3 = p("db3")
        run("compile", "-d", db3, "bl.test:ip4set:" + p("ip.txt.gz"))
        d3 = run("dump", "-d", db3).stdout
        check("gzip", d3.replace(p("ip.txt.gz"), p("ip.txt")) == d1)

        # an incremental recompile writes only the change
        with open(p("ip.txt"), "a") as f:
            f.write("5.6.7.8\n")
        r = run("compile", "-d", db, "bl.test:ip4set:" + p("ip.txt"))
        check("diff is small", "1 entries written, 0 deleted" in r.stdout,
              r.stdout)
        check("diff applied", lookup(db, "8.7.6.5.bl.test")[
            "8.7.6.5.bl.test"][0] == "listed")

        # a full map: clear error, database untouched
        big = "".join("10.%d.%d.%d\n" % (i >> 16 & 255, i >> 8 & 255, i & 255)
                      for i in range(1, 600000, 3))
        w("big.txt", big)
        small = p("small")
        run("compile", "-d", small, "-m", "1M", "s.test:ip4set:" + p("ip.txt"))
        before = run("dump", "-d", small).stdout
        r = run("compile", "-d", small, "-m", "1M",
                "s.test:ip4trie:" + p("big.txt"), ok=False)
        check("map full message", "database full" in r.stderr, r.stderr)
        check("map full leaves db", run("dump", "-d", small).stdout == before)

        # check: warnings and exit status
        r = run("check", "ip4set:" + p("ip.txt"), ok=False)
        check("check reports bad lines", ":6:" in r.stderr and r.returncode == 1)
        w("good.txt", "1.2.3.4\n")
        run("check", p("good.txt"))

        # lookup with rbldnsd's acl semantics (REFERENCE 4.10): "empty"
        # keeps the apex and generic records, "always listed" answers
        # well-formed data queries only
        w("a4.txt", "1.2.3.4 :3:listed\n")
        w("gen.txt", "@ A 127.0.0.1\nwww A 192.0.2.1\n"
          "early TXT \"no ttl\"\n$TTL 600\nlate TXT \"ttl\"\n"
          "only-mx MX 10 mx.example.com\n")
        w("acl.txt", "127.0.0.5 :empty\n127.0.0.6 :2:always $\n"
          "127.0.0.7 :refuse\n127.0.0.8 :ignore\n")
        dba = p("dba")
        run("compile", "-d", dba, "acl.test:ip4set:" + p("a4.txt"),
            "acl.test:generic:" + p("gen.txt"),
            "acl.test:acl:" + p("acl.txt"))
        e = lookup(dba, "acl.test", "4.3.2.1.acl.test", "www.acl.test",
                   client="127.0.0.5")
        check("acl empty: apex exists", e["acl.test"] == (
            "listed", ["A 127.0.0.1"]), e["acl.test"])
        check("acl empty: data hidden", e["4.3.2.1.acl.test"][0] ==
              "nxdomain", e["4.3.2.1.acl.test"])
        check("acl empty: generic kept", e["www.acl.test"] == (
            "listed", ["A 192.0.2.1"]), e["www.acl.test"])
        a = lookup(dba, "acl.test", "5.3.2.1.acl.test", "3.2.1.acl.test",
                   "x.acl.test", "www.acl.test", client="127.0.0.6")
        check("always listed: valid query", a["5.3.2.1.acl.test"] == (
            "listed", ["A 127.0.0.2", 'TXT "always 127.0.0.6"']),
              a["5.3.2.1.acl.test"])
        check("always listed: not the apex", a["acl.test"] == (
            "listed", ["A 127.0.0.1"]), a["acl.test"])
        check("always listed: not a partial IP",
              a["3.2.1.acl.test"][0] in ("nxdomain", "ent"),
              a["3.2.1.acl.test"])
        check("always listed: not a name in an IP zone",
              a["x.acl.test"][0] == "nxdomain", a["x.acl.test"])
        r = lookup(dba, "4.3.2.1.acl.test", client="127.0.0.7")
        check("acl refuse", r["4.3.2.1.acl.test"][0] == "refused", r)
        r = lookup(dba, "4.3.2.1.acl.test", client="127.0.0.8")
        check("acl ignore", r["4.3.2.1.acl.test"][0] == "dropped", r)
        out = run("lookup", "-d", dba, "-c", "127.0.0.5", "www.acl.test",
                  "early.acl.test", "late.acl.test", "only-mx.acl.test",
                  ok=None).stdout
        check("acl action printed", "\nacl empty\n" in out, out)
        check("generic types printed", "\ngeneric A\n" in out, out)
        check("generic TXT without $TTL: the default",
              'TXT "no ttl" ttl 2100' in out, out)
        check("generic TXT after $TTL 600", 'TXT "ttl" ttl 600' in out,
              out)
        g = lookup(dba, "only-mx.acl.test")
        check("generic MX only: exists", g["only-mx.acl.test"] == (
            "exists", ["MX 10 mx.example.com."]), g)

        # usage errors exit 2
        r = run("compile", "-d", db, "bad-spec", ok=False)
        check("bad spec exit 2", r.returncode == 2, r.returncode)
        r = run("nosuchcmd", ok=False)
        check("unknown command exit 2", r.returncode == 2)
        r = run("-h")
        check("-h exits 0", r.returncode == 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
