#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""resolverd over DNS: the real daemon in rbldnsd drop-in mode on loopback,
queried with dnspython, dig, kdig and drill; malformed packets; and unbound
in front with strict QNAME minimisation, where rbldnsd loses the listing.

usage: test_dns.py RESOLVERD
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

RD = sys.argv[1] if len(sys.argv) > 1 else "resolverd"
check = rdtest.Checks()

IP = """$SOA 3600 ns1.bl.test hostmaster.bl.test 0 600 300 86400 60
$NS 3600 ns1.bl.test
:127.0.0.2:Listed: see https://bl.test/q?$
127.0.0.2
127.0.0.3 :127.0.0.4:other $
10.0.0.0/8
!10.1.0.0/16
""" + "".join("1.2.3.4 :2:reason %02d for this listing, padded out a bit\n" % i
              for i in range(40))
GEN = """@ 300 A 192.0.2.1
@ MX 10 mx.bl.test
@ TXT "bl.test test zone"
ns1 A 192.0.2.53
www AAAA 2001:db8::1
"""
DN = """$SOA 3600 ns1.bl.test hostmaster.bl.test 1 600 300 86400 60
$NS 3600 ns1.bl.test
:127.0.1.2:Listed domain $
spam.example
.wild.example
"""
ZEN = """$SOA 3600 ns1.zen.test hostmaster.zen.test 1 600 300 86400 60
$NS 3600 ns1.zen.test
$DATASET ip4set:sbl @
127.0.0.2 :2:SBL $
$DATASET ip4set:pbl pbl
127.0.0.10 :10:PBL $
"""


def rrs(resp, rdtype):
    out = []
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rdtype):
            out += [r.to_text() for r in rrset]
    return sorted(out)


def tool(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    return p.stdout


def raw_udp(port, data, timeout=0.5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def malformed(port):
    good = dns.message.make_query("2.0.0.127.bl.test", "A").to_wire()
    hdr = good[:12]
    cases = {
        "short": good[:5],
        "qr set": bytes([good[0], good[1], good[2] | 0x80]) + good[3:],
        "qdcount 0": hdr[:4] + b"\0\0" + hdr[6:] + good[12:],
        "qdcount 2": hdr[:4] + b"\0\2" + hdr[6:] + good[12:],
        "bad label length": hdr + b"\x3f\x01abc\0\0\1\0\1",
        "compression loop": hdr + b"\xc0\x0c\0\1\0\1",
        "trailing garbage": good + b"\xde\xad\xbe\xef",
    }
    for name, data in cases.items():
        r = raw_udp(port, data)
        ok = r is None or (len(r) >= 12 and (r[3] & 0x0f) == 1)
        check("malformed %s: dropped or FORMERR" % name, ok, repr(r))
        check("still answers after %s" % name,
              rdtest.query(port, "2.0.0.127.bl.test").rcode() == 0)
    # oversized TCP length, then the connection must be closed
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(struct.pack(">H", 65535) + b"\0" * 100)
    s.shutdown(socket.SHUT_WR)
    try:
        left = s.recv(10)
    except OSError:
        left = b""
    s.close()
    check("oversized TCP length: no answer", left == b"", repr(left))
    # two pipelined TCP queries on one connection
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    for n in ("2.0.0.127.bl.test", "3.0.0.127.bl.test"):
        w = dns.message.make_query(n, "A").to_wire()
        s.sendall(struct.pack(">H", len(w)) + w)
    got = 0
    buf = b""
    deadline = time.monotonic() + 3
    while got < 2 and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            buf = buf[2 + struct.unpack(">H", buf[:2])[0]:]
            got += 1
    s.close()
    check("two queries on one TCP connection", got == 2, got)
    check("still answers after TCP abuse",
          rdtest.query(port, "2.0.0.127.bl.test").rcode() == 0)


def answers(port):
    q = lambda *a, **k: rdtest.query(port, *a, **k)
    r = q("2.0.0.127.bl.test", "A")
    check("listed A", rrs(r, "A") == ["127.0.0.2"], r)
    check("AA set, RA clear", r.flags & dns.flags.AA and
          not r.flags & dns.flags.RA)
    check("NS in authority", any(x.rdtype == dns.rdatatype.NS
                                 for x in r.authority))
    check("glue in additional", any(x.rdtype == dns.rdatatype.A
                                    for x in r.additional))
    r = q("2.0.0.127.bl.test", "TXT")
    check("listed TXT with $", rrs(r, "TXT") ==
          ['"Listed: see https://bl.test/q?127.0.0.2"'], rrs(r, "TXT"))
    r = q("3.0.0.127.bl.test", "ANY")
    check("ANY gives A and TXT", rrs(r, "A") == ["127.0.0.4"] and
          rrs(r, "TXT") == ['"other 127.0.0.3"'], r)
    r = q("2.0.0.127.BL.TeSt", "A")
    check("case echoed", r.answer and
          r.answer[0].name.to_text() == "2.0.0.127.BL.TeSt.", r.answer)
    r = q("9.0.0.127.bl.test", "A")
    check("NXDOMAIN", r.rcode() == dns.rcode.NXDOMAIN)
    soa = [x for x in r.authority if x.rdtype == dns.rdatatype.SOA]
    check("negative SOA TTL = min(TTL, MINIMUM)", soa and soa[0].ttl == 60,
          soa)
    r = q("2.0.0.127.bl.test", "AAAA")
    check("listed but AAAA: NODATA", r.rcode() == 0 and not r.answer and
          r.authority)
    for ent in ("0.0.127.bl.test", "0.127.bl.test", "127.bl.test"):
        r = q(ent, "A")
        check("empty non-terminal %s: NODATA" % ent, r.rcode() == 0 and
              not r.answer, r.rcode())
    r = q("5.5.1.10.bl.test", "A")
    check("exclusion inside a listed range", r.rcode() == dns.rcode.NXDOMAIN)
    r = q("5.5.2.10.bl.test", "A")
    check("listed range", rrs(r, "A") == ["127.0.0.2"])
    r = q("bl.test", "SOA")
    check("apex SOA", len(rrs(r, "SOA")) == 1)
    r = q("bl.test", "NS")
    check("apex NS", rrs(r, "NS") == ["ns1.bl.test."])
    r = q("bl.test", "MX")
    check("apex MX (generic)", rrs(r, "MX") == ["10 mx.bl.test."], r)
    r = q("bl.test", "A")
    check("apex A (generic)", rrs(r, "A") == ["192.0.2.1"])
    r = q("www.bl.test", "AAAA")
    check("AAAA in generic", rrs(r, "AAAA") == ["2001:db8::1"], r)
    r = q("spam.example.dbl.test", "TXT")
    check("dnset TXT $ = name", rrs(r, "TXT") ==
          ['"Listed domain spam.example"'], r)
    r = q("a.b.wild.example.dbl.test", "A")
    check("dnset wildcard", rrs(r, "A") == ["127.0.1.2"])
    r = q("example.dbl.test", "A")
    check("dnset ENT", r.rcode() == 0 and not r.answer)
    r = q("2.0.0.127.zen.test", "TXT")
    check("combined @", rrs(r, "TXT") == ['"SBL 127.0.0.2"'], r)
    r = q("10.0.0.127.pbl.zen.test", "A")
    check("combined subzone", rrs(r, "A") == ["127.0.0.10"], r)
    r = q("pbl.zen.test", "A")
    check("combined subzone apex: NODATA", r.rcode() == 0 and not r.answer)
    r = q("2.0.0.127.example.com", "A")
    check("outside zones: REFUSED", r.rcode() == dns.rcode.REFUSED)
    r = q("1.0.0.127.bl.test", "A")
    check("RFC 5782: 127.0.0.1 not listed", r.rcode() == dns.rcode.NXDOMAIN)
    r = q("test.dbl.test", "A")
    check("RFC 5782: TEST listed in a name list", len(rrs(r, "A")) == 1)
    r = q("invalid.dbl.test", "A")
    check("RFC 5782: INVALID not listed", r.rcode() == dns.rcode.NXDOMAIN)
    # EDNS and truncation
    r = q("4.3.2.1.bl.test", "TXT")
    check("40 TXT, no EDNS: TC", r.flags & dns.flags.TC and not r.answer)
    r = q("4.3.2.1.bl.test", "TXT", payload=1232)
    check("40 TXT, EDNS 1232: TC + OPT", r.flags & dns.flags.TC and
          r.edns == 0, r.flags)
    r = q("4.3.2.1.bl.test", "TXT", tcp=True)
    check("40 TXT over TCP", len(rrs(r, "TXT")) == 40 and
          not r.flags & dns.flags.TC)
    r = q("2.0.0.127.bl.test", "A", payload=4096)
    check("EDNS echoed", r.edns == 0 and r.payload == 1232, r.payload)
    m = dns.message.make_query("2.0.0.127.bl.test", "A")
    m.use_edns(edns=1, payload=1232)
    r = dns.query.udp(m, "127.0.0.1", port=port, timeout=2)
    check("EDNS version 1: BADVERS", r.rcode() == dns.rcode.BADVERS,
          r.rcode())
    m = dns.message.make_query("bl.test", "AXFR")
    r = dns.query.udp(m, "127.0.0.1", port=port, timeout=2)
    check("AXFR: NOTIMP", r.rcode() == dns.rcode.NOTIMP)
    m = dns.message.make_query("version.bind", "TXT", rdclass="CH")
    r = dns.query.udp(m, "127.0.0.1", port=port, timeout=2)
    check("version.bind hidden", r.rcode() == dns.rcode.REFUSED)
    # other real clients
    out = tool(["dig", "+short", "-p", str(port), "@127.0.0.1",
                "2.0.0.127.bl.test", "A"])
    check("dig", out.strip() == "127.0.0.2", out)
    out = tool(["kdig", "+short", "-p", str(port), "@127.0.0.1",
                "2.0.0.127.bl.test", "TXT"])
    check("kdig", "127.0.0.2" in out, out)
    out = tool(["kdig", "+tcp", "-p", str(port), "@127.0.0.1",
                "4.3.2.1.bl.test", "TXT"])
    check("kdig over TCP", out.count("reason ") == 40)
    out = tool(["drill", "-p", str(port), "2.0.0.127.bl.test", "@127.0.0.1"])
    check("drill", "127.0.0.2" in out and "NOERROR" in out, out)


UNBOUND_CONF = """server:
  interface: 127.0.0.1
  port: %(uport)d
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%(dir)s"
  pidfile: ""
  use-syslog: no
  verbosity: 0
  module-config: "iterator"
  qname-minimisation: yes
  qname-minimisation-strict: yes
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  cache-max-ttl: 0
  local-zone: "test." nodefault
stub-zone:
  name: "bl.test"
  stub-addr: 127.0.0.1@%(sport)d
"""


def via_unbound(d, sport, label):
    """Ask unbound (strict QNAME minimisation) for the test point."""
    uport = rdtest.free_port()
    conf = rdtest.write(d, "unbound-%s.conf" % label, UNBOUND_CONF % {
        "uport": uport, "dir": d, "sport": sport})
    ub = rdtest.Server(["unbound", "-d", "-c", conf],
                       log=os.path.join(d, "unbound-%s.log" % label))
    try:
        deadline = time.monotonic() + 10
        r = None
        while time.monotonic() < deadline:
            try:
                r = rdtest.query(uport, "2.0.0.127.bl.test", timeout=2)
                break
            except Exception:
                time.sleep(0.2)
        return r
    finally:
        ub.stop()


def main():
    d = rdtest.tmpdir("rd-dns-")
    try:
        for n, t in (("ip.txt", IP), ("gen.txt", GEN), ("dn.txt", DN),
                     ("zen.txt", ZEN)):
            rdtest.write(d, n, t)
        specs = ["bl.test:ip4set:ip.txt", "bl.test:generic:gen.txt",
                 "dbl.test:dnset:dn.txt", "zen.test:combined:zen.txt"]
        port = rdtest.free_port()
        srv = rdtest.resolverd_dropin(RD, d, port, specs)
        try:
            rdtest.wait_answer(port, "2.0.0.127.bl.test", srv.proc)
            answers(port)
            malformed(port)
            check("unbound is installed (contrib/debian-packages)",
                  shutil.which("unbound") is not None)
            r = via_unbound(d, port, "resolverd")
            check("unbound qname-minimisation-strict -> resolverd: listed",
                  r is not None and rrs(r, "A") == ["127.0.0.2"], r)
            check("resolverd still running", srv.proc.poll() is None)
        finally:
            rc = srv.stop()
        check("SIGTERM exits 0", rc == 0, rc)
        port2 = rdtest.free_port()
        rb = rdtest.rbldnsd(d, port2, specs[:2])
        try:
            rdtest.wait_answer(port2, "2.0.0.127.bl.test", rb.proc)
            r = via_unbound(d, port2, "rbldnsd")
            check("same through rbldnsd loses the listing (reference)",
                  r is None or rrs(r, "A") != ["127.0.0.2"], r)
        finally:
            rb.stop()
    finally:
        if check.failed:
            for log in ("resolverd.log",):
                p = os.path.join(d, log)
                if os.path.exists(p):
                    print("--- %s" % log)
                    print(open(p).read()[-3000:])
        rdtest.cleanup(d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
