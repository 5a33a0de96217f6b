#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The per-/24 "nothing listed here" filter of IPv4 datasets stays exact.

libzones gives an IPv4 dataset of 1024 entries or more a bit per /24 that
some entry touches, made when a view loads a generation; a lookup in a /24
without a bit answers "not listed" without the B-tree walk.  A stale
filter is a wrong answer, so: resolverd in drop-in mode with -c 1 serves a
1600-entry ip4set; addresses in empty /24s, at the edges of ranges and
inside listed /24s are checked, then the file is changed (an entry added
in a /24 that was empty, a range grown into new /24s, an entry removed)
and every probe must follow within a few re-import intervals.

    test_filter4.py RESOLVERD
"""

import os
import sys
import time

import dns.rcode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

ZONE = "f4.test"


def rev(a):
    return ".".join(reversed(a.split("."))) + "." + ZONE


def status(port, addr):
    """'listed', 'nx' or another rcode name for addr."""
    r = rdtest.query(port, rev(addr), timeout=1.0)
    if r.rcode() == dns.rcode.NXDOMAIN:
        return "nx"
    if r.rcode() == dns.rcode.NOERROR and r.answer:
        return "listed"
    return dns.rcode.to_text(r.rcode())


def data(extra):
    # 1600 /32s, one in each /24 10.b.c.0 (b < 8, c < 200), plus extra
    # lines
    lines = ["$SOA 3600 ns.f4.test. hm.f4.test. 1 600 300 86400 300",
             ":127.0.0.2:listed"]
    for b in range(8):
        for c in range(200):
            lines.append("10.%d.%d.%d" % (b, c, 7 + (b + c) % 200))
    return "\n".join(lines + list(extra)) + "\n"


def wait_for(port, want, seconds=15):
    """Until every probe answers as want says; the last mismatch or None."""
    end = time.monotonic() + seconds
    bad = None
    while time.monotonic() < end:
        bad = None
        for a, w in want.items():
            got = status(port, a)
            if got != w:
                bad = (a, w, got)
                break
        if bad is None:
            return None
        time.sleep(0.2)
    return bad


def main():
    resolverd = sys.argv[1]
    ck = rdtest.Checks()
    d = rdtest.tmpdir("rd-f4-")
    path = rdtest.write(d, "ip4.txt", data(["192.0.2.0/25", "10.9.0.1"]))
    port = rdtest.free_port()
    srv = rdtest.resolverd_dropin(resolverd, d, port,
                                  ["%s:ip4set:%s" % (ZONE, path)],
                                  extra=["-c", "1"])
    try:
        rdtest.wait_answer(port, rev("10.0.0.7"), srv.proc)
        want = {
            "10.0.0.7": "listed",      # the entry of 10.0.0.0/24
            "10.0.0.8": "nx",          # same /24, not listed
            "10.0.201.7": "nx",        # an empty /24
            "10.8.0.1": "nx",          # an empty /16
            "10.9.0.1": "listed",      # alone in its /24
            "10.9.0.2": "nx",
            "192.0.2.0": "listed",     # range start
            "192.0.2.127": "listed",   # range end
            "192.0.2.128": "nx",       # same /24, past the range
            "192.0.3.1": "nx",         # the next /24
            "127.0.0.2": "listed",     # RFC 5782 test point
            "127.0.0.1": "nx",
        }
        bad = wait_for(port, want, seconds=5)
        ck("first generation answers", bad is None, repr(bad))

        # a new entry in an empty /24, a range grown over new /24s, and
        # 10.9.0.1 removed (its /24 becomes empty)
        new = data(["192.0.2.0/23", "10.0.201.9", "172.16.4.0/22"])
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(new)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        want2 = dict(want)
        want2.update({
            "10.0.201.9": "listed",    # was an empty /24
            "10.0.201.7": "nx",        # same /24, not listed
            "10.9.0.1": "nx",          # removed
            "192.0.2.128": "listed",   # inside the grown range
            "192.0.3.1": "listed",
            "192.0.3.255": "listed",
            "192.0.4.0": "nx",
            "172.16.7.255": "listed",  # a new /22
            "172.16.8.0": "nx",
        })
        bad = wait_for(port, want2, seconds=20)
        ck("after the re-import every probe follows the new data",
           bad is None, repr(bad))

        # and back: the filter shrinks with the data
        with open(tmp, "w") as f:
            f.write(data(["10.9.0.1"]))
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        want3 = {a: "nx" for a in ("10.0.201.9", "192.0.2.0", "192.0.3.255",
                                   "172.16.7.255", "172.16.4.0")}
        want3.update({"10.9.0.1": "listed", "10.0.0.7": "listed",
                      "10.7.199.13": "listed", "10.7.199.14": "nx"})
        bad = wait_for(port, want3, seconds=20)
        ck("after a second re-import removed entries are gone",
           bad is None, repr(bad))
    finally:
        rc = srv.stop()
        if ck.failed:
            with open(os.path.join(d, "resolverd.log")) as f:
                print(f.read()[-3000:])
        ck("resolverd exits 0 on SIGTERM", rc == 0, "rc %s" % rc)
        rdtest.cleanup(d)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
