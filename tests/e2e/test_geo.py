#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""zonetool geo end to end: country zones from generated DB-IP,
IP2Location (IPv4 and IPv6 editions) and MaxMind GeoLite2 CSV files.

usage: test_geo.py ZONETOOL [RESOLVERD]

The same made-up country data is written in each format; `zonetool geo`
turns each into OUTPREFIX.ip4/.ip6, which must be identical apart from
the header comment; they are compiled with `zonetool compile` and looked
up: addresses of the selected countries (range ends, a middle, IPv6) are
listed with their country's A and TXT ($ expanded), others are not.
With RESOLVERD the files are also served over DNS (drop-in mode).  Bad
input: --strict exits 1 naming file:line and leaves the old files; the
default warns naming file:line and skips the line; a file of no known
format, a missing file exit 1; bad options exit 2.  Never downloads.
"""
import ipaddress
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

ZT = sys.argv[1] if len(sys.argv) > 1 else "zonetool"
RD = sys.argv[2] if len(sys.argv) > 2 else None
check = rdtest.Checks()

# (first, last, country): the "truth" every format is generated from.
# Odd-sized ranges (not one CIDR) test the split; AU's two neighbouring
# ranges are merged; "-" is unassigned space.
DATA = [
    ("0.0.0.0", "0.255.255.255", "-"),
    ("1.0.0.0", "1.0.0.255", "AU"),
    ("1.0.1.0", "1.0.3.255", "CN"),
    ("1.0.4.0", "1.0.7.255", "AU"),
    ("1.0.8.0", "1.0.15.255", "AU"),
    ("3.0.0.0", "3.255.255.255", "US"),
    ("5.1.2.3", "5.1.2.200", "DE"),
    ("5.1.2.201", "5.1.3.255", "FR"),
    ("223.255.255.0", "223.255.255.255", "AU"),
    ("2001:200::", "2001:200:ffff:ffff:ffff:ffff:ffff:ffff", "JP"),
    ("2400:cb00::", "2400:cb00:ffff:ffff:ffff:ffff:ffff:ffff", "AU"),
    ("2a00:1000::", "2a00:1fff:ffff:ffff:ffff:ffff:ffff:ffff", "DE"),
    ("2a01::1", "2a01::ffff", "CN"),
]
NAMES = {"AU": "Australia", "CN": "China", "US": "United States",
         "DE": "Germany", "FR": "France", "JP": "Japan"}
GEONAME = {"AU": 2077456, "CN": 1814991, "US": 6252001, "DE": 2921044,
           "FR": 3017382, "JP": 1861060}
CONTINENT = {"AU": "OC", "CN": "AS", "US": "NA", "DE": "EU", "FR": "EU",
             "JP": "AS"}

SELECT = ["--country", "AU", "--country", "cn=127.0.0.3:China $ refused",
          "--country", "DE=127.0.0.4", "--default-value", "127.0.0.9"]
WANT = {"AU": ("127.0.0.9", "Mail from AU refused: listed by country"),
        "CN": ("127.0.0.3", "China %s refused"),
        "DE": ("127.0.0.4", "Mail from DE refused: listed by country")}


def run(*args, cwd=None):
    return subprocess.run([ZT] + list(args), capture_output=True, text=True,
                          cwd=cwd)


def addr(s):
    return ipaddress.ip_address(s)


def write_dbip(d):
    return [rdtest.write(d, "dbip-country-lite.csv", "".join(
        "%s,%s,%s\n" % (a, b, "ZZ" if c == "-" else c)
        for a, b, c in DATA))]


def write_ip2location(d):
    """The IPv6 edition: IPv4 ranges as ::ffff:a.b.c.d integers."""
    rows = ['"0","281470681743359","-","-"\n']
    for a, b, c in sorted(DATA, key=lambda r: (addr(r[0]).version,
                                                int(addr(r[0])))):
        lo, hi = int(addr(a)), int(addr(b))
        if addr(a).version == 4:
            lo += 0xffff << 32
            hi += 0xffff << 32
        rows.append('"%d","%d","%s","%s"\n' % (lo, hi, c,
                                               NAMES.get(c, "-")))
    return [rdtest.write(d, "IP2LOCATION-LITE-DB1.IPV6.CSV", "".join(rows))]


def write_ip2location4(d):
    """The IPv4 edition (its output must equal the others' .ip4)."""
    return [rdtest.write(d, "IP2LOCATION-LITE-DB1.CSV", "".join(
        '"%d","%d","%s","%s"\n' % (int(addr(a)), int(addr(b)), c,
                                   NAMES.get(c, "-"))
        for a, b, c in DATA if addr(a).version == 4))]


def write_maxmind(d):
    blocks = {4: [], 6: []}
    for a, b, c in DATA:
        if c == "-":
            continue
        for net in ipaddress.summarize_address_range(addr(a), addr(b)):
            g = GEONAME[c]
            # CN's blocks only have the registered country: the fallback
            blocks[net.version].append(
                "%s,%s,%d,,0,0,0\n" % (net, "" if c == "CN" else g, g))
    head = ("network,geoname_id,registered_country_geoname_id,"
            "represented_country_geoname_id,is_anonymous_proxy,"
            "is_satellite_provider,is_anycast\n")
    files = [rdtest.write(d, "GeoLite2-Country-Locations-en.csv",
                          "geoname_id,locale_code,continent_code,"
                          "continent_name,country_iso_code,country_name,"
                          "is_in_european_union\n" + "".join(
                              '%d,en,%s,Continent,%s,"%s",0\n'
                              % (GEONAME[c], CONTINENT[c], c, NAMES[c])
                              for c in sorted(GEONAME)) +
                          "6255148,en,EU,Europe,,,0\n")]
    for v in (4, 6):
        files.append(rdtest.write(
            d, "GeoLite2-Country-Blocks-IPv%d.csv" % v,
            head + "".join(blocks[v])))
    return files


def body(path):
    """A dataset file without its comment lines."""
    with open(path) as f:
        return [l for l in f.read().splitlines()
                if l and not l.startswith("#")]


def probes():
    """(address, country or None) for the ends and middle of every range
    and the addresses just outside them."""
    out = {}
    for a, b, c in DATA:
        lo, hi = addr(a), addr(b)
        cc = None if c == "-" else c
        for x in (lo, hi, lo + (int(hi) - int(lo)) // 2):
            out[x] = cc
    for a, b, c in DATA:
        for x in (int(addr(a)) - 1, int(addr(b)) + 1):
            if x < 0 or x >= 2 ** addr(a).max_prefixlen:
                continue
            x = (ipaddress.IPv6Address(x) if addr(a).version == 6
                 else ipaddress.IPv4Address(x))
            if x not in out:
                out[x] = None
    out[addr("9.9.9.9")] = None
    out[addr("2001:db8::1")] = None
    return out


def qname(x, zone):
    return x.reverse_pointer.replace(".in-addr.arpa", "").replace(
        ".ip6.arpa", "") + "." + zone


def lookup(db, names):
    """{name: (result, [A and TXT lines])} from zonetool lookup."""
    p = subprocess.run([ZT, "lookup", "-d", db, "-"], input="\n".join(names),
                       capture_output=True, text=True)
    res = {}
    for block in p.stdout.strip().split("\n\n"):
        lines = block.split("\n")
        name = lines[0].split(" ", 1)[1]
        r = [l for l in lines if l.startswith("result ")][0].split()[1]
        vals = sorted(l.rsplit(" ttl ", 1)[0] for l in lines
                      if l.startswith(("A ", "TXT ")))
        res[name] = (r, vals)
    return res


def expected(x, cc):
    if cc not in WANT:
        return ("nxdomain", [])
    a, txt = WANT[cc]
    if "%s" in txt:
        txt = txt % x.compressed
    return ("listed", sorted(["A " + a, 'TXT "%s"' % txt]))


def serve(d, prefix, answers):
    """Serve prefix.ip4/.ip6 with resolverd (drop-in) and compare a few
    DNS answers with zonetool lookup's."""
    port = rdtest.free_port()
    srv = rdtest.resolverd_dropin(RD, d, port, [
        "geo.test:ip4trie:%s.ip4" % prefix,
        "geo.test:ip6trie:%s.ip6" % prefix])
    try:
        rdtest.wait_answer(port, "2.0.0.1.geo.test", srv.proc)
        # range ends: probes() asked zonetool lookup about them
        for x in (addr("1.0.0.0"), addr("1.0.3.255"), addr("5.1.2.3"),
                  addr("2400:cb00::"), addr("3.0.0.0"), addr("2a01::1"),
                  addr("2a00:1000::")):
            n = qname(x, "geo.test")
            r = rdtest.query(port, n, "TXT")
            ra = rdtest.query(port, n, "A")
            got_a = sorted(rr.to_text() for rrs in ra.answer for rr in rrs)
            got_t = sorted(rr.to_text() for rrs in r.answer for rr in rrs)
            want_r, want_v = answers[n]
            if want_r == "listed":
                ok = (got_a == [v[2:] for v in want_v if v[0] == "A"] and
                      got_t == [v[4:] for v in want_v if v[0] == "T"])
            else:
                ok = r.rcode() == 3 and ra.rcode() == 3
            check("resolverd serves %s as zonetool lookup says" % n, ok,
                  "%s %s vs %s" % (got_a, got_t, answers[n]))
    finally:
        srv.stop()


def main():
    d = rdtest.tmpdir("geo-e2e-")
    try:
        inputs = {"dbip": write_dbip(d),
                  "ip2location": write_ip2location(d),
                  "maxmind": write_maxmind(d)}
        pr = probes()
        names = {qname(x, "geo.test"): (x, cc) for x, cc in pr.items()}
        outputs = {}
        for fmt, files in inputs.items():
            prefix = os.path.join(d, fmt)
            p = run("geo", "-o", prefix, *(SELECT + files))
            check("%s: zonetool geo exits 0" % fmt, p.returncode == 0,
                  p.stderr)
            check("%s: format detected" % fmt,
                  "%s: %s," % (files[-1], fmt) in p.stdout, p.stdout)
            check("%s: summary per country" % fmt,
                  "AU: 4 IPv4 networks (3584 addresses), 1 IPv6 networks "
                  "(79228162514264337593543950336 addresses)" in p.stdout
                  and "CN: 2 IPv4 networks (768 addresses), 16 IPv6 "
                  "networks (65535 addresses)" in p.stdout, p.stdout)
            check("%s: no warnings" % fmt, p.stderr == "", p.stderr)
            outputs[fmt] = (body(prefix + ".ip4"), body(prefix + ".ip6"))
            with open(prefix + ".ip4") as f:
                head = f.read()
            check("%s: header names the sources and counts" % fmt,
                  files[0] in head and "# AU: 4 networks, 3584 addresses"
                  in head and "written by zonetool geo on 20" in head, head)
            db = os.path.join(d, "db-" + fmt)
            os.mkdir(db)
            p = run("compile", "-d", db, "geo.test:ip4trie:%s.ip4" % prefix,
                    "geo.test:ip6trie:%s.ip6" % prefix)
            check("%s: the output compiles without skipped lines" % fmt,
                  p.returncode == 0 and
                  p.stdout.count(" 0 skipped lines") == 2 and
                  p.stderr == "",
                  p.stdout + p.stderr)
            got = lookup(db, list(names))
            bad = [(n, got.get(n), expected(x, cc))
                   for n, (x, cc) in names.items()
                   if got.get(n) != expected(x, cc)]
            check("%s: %d lookups: selected countries listed with their "
                  "value, others not" % (fmt, len(names)), not bad,
                  bad[:5])
            outputs[fmt + "-answers"] = got
        check("the three formats give the same .ip4 and .ip6",
              outputs["dbip"] == outputs["ip2location"]
              == outputs["maxmind"],
              [outputs[f] for f in ("dbip", "ip2location", "maxmind")])
        check("the three formats give the same answers",
              outputs["dbip-answers"] == outputs["ip2location-answers"]
              == outputs["maxmind-answers"])
        # the DNS answers are not all NXDOMAIN: the test would be empty
        listed = [n for n, v in outputs["dbip-answers"].items()
                  if v[0] == "listed"]
        check("some probes are listed, some not",
              len(listed) > 10 and len(listed) < len(names) - 10,
              len(listed))

        # the IPv4 edition of IP2Location gives the same .ip4
        files = write_ip2location4(d)
        p = run("geo", "-o", os.path.join(d, "ip2l4"), "--format",
                "ip2location", *(SELECT + files))
        check("ip2location IPv4 edition: same .ip4",
              p.returncode == 0 and
              body(os.path.join(d, "ip2l4.ip4")) == outputs["dbip"][0],
              p.stderr)
        check("ip2location IPv4 edition: empty .ip6",
              body(os.path.join(d, "ip2l4.ip6")) == [
                  ":127.0.0.9:Mail from AU refused: listed by country",
                  ":127.0.0.3:China $ refused",
                  ":127.0.0.4:Mail from DE refused: listed by country"],
              body(os.path.join(d, "ip2l4.ip6")))

        # "CC=A:" (an empty TXT) lists with the A value and no TXT
        prefix = os.path.join(d, "notxt")
        p = run("geo", "-o", prefix, "--country", "AU=127.0.0.5:",
                *inputs["dbip"])
        db = os.path.join(d, "db-notxt")
        os.mkdir(db)
        p2 = run("compile", "-d", db, "n.test:ip4trie:%s.ip4" % prefix)
        got = lookup(db, ["0.0.0.1.n.test", "0.1.0.1.n.test"])
        check("an empty TXT: A only",
              p.returncode == 0 and p2.returncode == 0 and
              ":127.0.0.5:" in body(prefix + ".ip4") and
              got == {"0.0.0.1.n.test": ("listed", ["A 127.0.0.5"]),
                      "0.1.0.1.n.test": ("nxdomain", [])},
              (p.stderr, p2.stderr, got))

        if RD:
            serve(d, os.path.join(d, "maxmind"),
                  outputs["maxmind-answers"])

        # bad input
        bad = rdtest.write(d, "bad.csv", "1.0.0.0,1.0.0.255,AU\n"
                           "1.0.1.0,1.0.1.255,CN\n"
                           "1.0.2.0,1.0.1.0,AU\n"
                           "1.0.3.0,1.0.3.255,AU\n")
        prefix = os.path.join(d, "dbip")
        before = [open(prefix + e).read() for e in (".ip4", ".ip6")]
        p = run("geo", "--strict", "-o", prefix, *(SELECT + [bad]))
        check("strict: a bad line exits 1 naming file:line:field",
              p.returncode == 1 and
              "%s:3: end: before start" % bad in p.stderr, p.stderr)
        check("strict: the old output is kept",
              [open(prefix + e).read() for e in (".ip4", ".ip6")] == before)
        p = run("geo", "-o", os.path.join(d, "lax"), *(SELECT + [bad]))
        check("default: warns naming file:line, skips the line, exits 0",
              p.returncode == 0 and
              "%s:3: end: before start" % bad in p.stderr and
              "1 bad lines skipped" in p.stdout, p.stdout + p.stderr)
        check("default: the good lines are written",
              "1.0.0.0/24" in body(os.path.join(d, "lax.ip4")) and
              "1.0.3.0/24" in body(os.path.join(d, "lax.ip4")) and
              "1.0.1.0/24" in body(os.path.join(d, "lax.ip4")))
        junk = rdtest.write(d, "junk.csv", "hello,world\nx,y,z\n")
        p = run("geo", "-o", os.path.join(d, "junk"), "--country", "AU",
                junk)
        check("a file of no known format exits 1 naming file:1",
              p.returncode == 1 and "%s:1: format:" % junk in p.stderr,
              p.stderr)
        p = run("geo", "--format", "maxmind", "-o",
                os.path.join(d, "junk"), "--country", "AU",
                inputs["dbip"][0])
        check("a forced format that does not fit exits 1",
              p.returncode == 1 and "looks like DB-IP, not maxmind"
              in p.stderr, p.stderr)
        p = run("geo", "-o", os.path.join(d, "junk"), "--country", "AU",
                inputs["maxmind"][1])
        check("MaxMind blocks without locations exit 1",
              p.returncode == 1 and "no GeoLite2-Country-Locations"
              in p.stderr, p.stderr)
        p = run("geo", "-o", os.path.join(d, "junk"), "--country", "AU",
                os.path.join(d, "missing.csv"))
        check("a missing file exits 1 naming it",
              p.returncode == 1 and "missing.csv: No such file"
              in p.stderr, p.stderr)
        check("no output after failures",
              not os.path.exists(os.path.join(d, "junk.ip4")))
        for args, what in ((["--country", "AUS"], "AUS"),
                           (["--country", "AU=300.1.2.3"], "300.1.2.3"),
                           (["--country", "AU", "--country", "au"],
                            "given twice"),
                           (["--country", "AU", "--default-value", "x"],
                            "--default-value x"),
                           (["--country", "AU", "--format", "geoip"],
                            "--format geoip"),
                           ([], "usage")):
            p = run("geo", "-o", os.path.join(d, "junk"),
                    *(args + inputs["dbip"]))
            check("bad option %s exits 2" % (args or "none"),
                  p.returncode == 2 and what in p.stderr, p.stderr)
        left = [f for f in os.listdir(d) if ".ip4." in f or ".ip6." in f]
        check("no temporary files left", not left, left)
    finally:
        rdtest.cleanup(d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
