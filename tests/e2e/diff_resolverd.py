#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Differential test: the resolverd daemon versus rbldnsd, over the wire.

Generates random zones of every dataset type with diff_rbldnsd.py's
generator (same seed, same zones), serves them side by side with the
Debian rbldnsd and with resolverd in rbldnsd drop-in mode (the same
command line: -b 127.0.0.1/PORT -t 35m -c 0 -w DIR zone:type:file...),
sends both the same random UDP queries (A, TXT, ANY, NS, SOA, MX, AAAA;
listed, unlisted, apex, empty non-terminal and RFC 5782 test point names;
with and without EDNS; from several client addresses for the acls) and
compares rcode, AA, the answer, authority and additional sections as sets
of records, and every TTL.  Within one reply all records of a name and type
must carry one TTL and appear once (RFC 2181 5.2).

resolverd answers better than rbldnsd on purpose in a few places
(DESIGN.md, REFERENCE-rbldnsd.md section 10).  A difference is accepted
only when one of these allowances explains it; each is counted and the
counts are printed:

  ent           an empty non-terminal (a name with listings below it, a
                partial address, a name above a combined subzone): rbldnsd
                says NXDOMAIN, we NOERROR/NODATA (RFC 8020, QNAME
                minimisation).  Checked with "zonetool lookup" on the
                daemon's database, which must say "ent".
  neg-soa-ttl   the SOA in the authority section of a negative answer:
                rbldnsd gives it the MINIMUM as TTL, we min(SOA TTL,
                MINIMUM) (RFC 2308).
  edns-opt      an EDNS query gets an OPT from us always (RFC 6891), from
                rbldnsd only when the reply is over 512 bytes.
  tc            a reply over the client's limit (512 bytes, or its EDNS
                size capped at our 1232): we set TC and send only the
                question (RFC 2181 9); rbldnsd drops records silently.
  rbldnsd-size  rbldnsd could not fit the reply (its limit: 512 bytes, or
                the EDNS size up to 2048, less 11 for an OPT) and dropped
                records or NS/glue silently where ours fitted: what
                rbldnsd sent is a subset of ours.
  our-size      the other way round: the answer fits our limit (the EDNS
                size up to 1232) but the optional NS/glue of a positive
                answer do not, so we leave them out where rbldnsd's larger
                limit took them: same answer, our authority and additional
                sections a subset of rbldnsd's, and rbldnsd's reply over
                our limit.
  outside       a name under no served zone: we say REFUSED.
  test-point    RFC 5782 test points: 127.0.0.2 (::ffff:7f00:2, "test" in
                name zones) is listed and 127.0.0.1 ("invalid") is not,
                in every zone, whatever the data says.
  generic-acl, generic-aaaa, v6colons
                the documented libzones deviations, see the top of
                diff_rbldnsd.py.

Domain names inside MX, NS and SOA data compare case-insensitively:
rbldnsd keeps the case the data was written in, libzones lower-cases it.

    diff_resolverd.py [--seed N] [--scale F] RESOLVERD ZONETOOL
    DIFF_SEED=N replays a run; DIFF_SCALE scales the zones (default 0.35).

Exit 0: no unexplained difference; 1: differences (printed); 77: skipped
(no rbldnsd or dnspython); 2: the harness failed.
"""

import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import time

try:
    import dns.message  # noqa: F401
except ImportError:
    # a required package (contrib/debian-packages): fail, don't skip
    print("FAIL: python3-dnspython is not installed")
    sys.exit(1)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_rbldnsd as drb  # noqa: E402
import rdtest  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

QTYPES = ["A", "TXT", "ANY", "NS", "SOA", "MX", "AAAA"]
QWEIGHTS = [30, 25, 10, 8, 8, 9, 10]
ALLOWANCES = ["ent", "neg-soa-ttl", "edns-opt", "tc", "rbldnsd-size",
              "our-size", "outside", "test-point", "generic-acl", "generic-aaaa",
              "v6colons"]
# rdata made of domain names (and numbers): compared case-insensitively,
# as DNS names are; rbldnsd keeps the case of the data, we lower-case it
NAME_RDATA = (dns.rdatatype.MX, dns.rdatatype.NS, dns.rdatatype.SOA)
RBLDNSD_BUF = 2048  # rbldnsd's largest reply (DNS_EDNS0_MAXPACKET)
OUR_EDNS = 1232  # resolverd's default EDNS limit


class Reply:
    """A reply reduced to what is compared."""

    def __init__(self, wire):
        self.wire = wire
        self.dropped = wire is None
        self.problems = []
        if self.dropped:
            return
        m = dns.message.from_wire(wire, one_rr_per_rrset=True)
        self.rcode = m.rcode()
        self.aa = bool(m.flags & dns.flags.AA)
        self.tc = bool(m.flags & dns.flags.TC)
        self.opt = m.edns >= 0
        self.sections = {}
        for sec, rrsets in (("answer", m.answer), ("authority", m.authority),
                            ("additional", m.additional)):
            recs = {}
            ttls = {}
            for rrset in rrsets:
                for rd in rrset:
                    text = rd.to_text()
                    if rrset.rdtype in NAME_RDATA:
                        text = text.lower()  # names: case-insensitive
                    key = (rrset.name.to_text(), rrset.rdtype, text)
                    if key in recs:
                        self.problems.append("duplicate %s record %s" %
                                             (sec, fmt_key(key)))
                    recs[key] = rrset.ttl
                    ttls.setdefault((rrset.name.to_text().lower(),
                                     rrset.rdtype), set()).add(rrset.ttl)
            for (name, t), v in ttls.items():
                if len(v) > 1:
                    self.problems.append(
                        "%s %s %s: records with different TTLs %s" %
                        (sec, name, dns.rdatatype.to_text(t), sorted(v)))
            self.sections[sec] = recs

    def text(self):
        if self.dropped:
            return "(no reply)"
        out = ["%s%s%s%s" % (dns.rcode.to_text(self.rcode),
                             " aa" if self.aa else "", " tc" if self.tc
                             else "", " opt" if self.opt else "")]
        for sec in ("answer", "authority", "additional"):
            for key, ttl in sorted(self.sections[sec].items(),
                                   key=lambda kv: str(kv[0])):
                out.append("    %-10s %s ttl %d" % (sec, fmt_key(key), ttl))
        return "\n".join(out)


def fmt_key(key):
    return "%s %s %s" % (key[0], dns.rdatatype.to_text(key[1]), key[2])


def differences(r, o):
    """What differs between rbldnsd's reply r and ours o."""
    if r.dropped or o.dropped:
        return [] if r.dropped and o.dropped else ["dropped"]
    d = []
    if r.rcode != o.rcode:
        d.append("rcode")
    if r.aa != o.aa:
        d.append("aa")
    for sec in ("answer", "authority", "additional"):
        rs, os_ = r.sections[sec], o.sections[sec]
        if set(rs) != set(os_):
            d.append(sec)
        elif any(rs[k] != os_[k] for k in rs):
            d.append(sec + "-ttl")
    return d


def soa_minimum(key):
    # "mname rname serial refresh retry expire minimum"
    return int(key[2].split()[-1])


def fix_neg_soa_ttl(r, o):
    """neg-soa-ttl: make our negative SOA TTL rbldnsd's if it is what
    RFC 2308 asks for.  True if anything was changed."""
    changed = False
    if r.rcode == o.rcode == dns.rcode.NOERROR and \
            (r.sections["answer"] or o.sections["answer"]):
        return False  # not a negative answer
    for key, ottl in o.sections["authority"].items():
        if key[1] != dns.rdatatype.SOA or \
                key not in r.sections["authority"]:
            continue
        rttl = r.sections["authority"][key]
        mn = soa_minimum(key)
        if rttl != ottl and rttl == mn and ottl < mn:
            o.sections["authority"][key] = rttl
            changed = True
    return changed


def rbldnsd_limit(payload):
    if payload is None or payload < 512 + 11:
        return 512
    return min(payload, RBLDNSD_BUF) - 11


def subset(r, o, secs=("answer", "authority", "additional")):
    return all(set(r.sections[s]) <= set(o.sections[s]) for s in secs)


class Zones:
    """The served zones, for the key of a name."""

    def __init__(self, specs):
        self.names = sorted({s.split(":", 1)[0] for s in specs
                             if s.split(":", 1)[0]},
                            key=lambda z: -z.count("."))

    def match(self, qname):
        q = qname.lower().rstrip(".")
        for z in self.names:
            if q == z or q.endswith("." + z):
                return z, q[:-len(z)].rstrip(".")
        return None, None


TP4 = {"2.0.0.127": 1, "1.0.0.127": -1}
TP6 = {drb.rev6((0xffff << 32) | 0x7f000002): 1,
       drb.rev6((0xffff << 32) | 0x7f000001): -1}
TPN = {"test": 1, "invalid": -1}


def test_point(key):
    """1 for a listed test point key, -1 for the unlisted one, else 0."""
    k = key.lower()
    return TP4.get(k) or TP6.get(k) or TPN.get(k) or 0


def zonetool_facts(zonetool, state, items):
    """{(client, name): zonetool lookup block} for the items."""
    by_client = collections.defaultdict(list)
    for client, name in items:
        by_client[client].append(name)
    out = {}
    for client, names in by_client.items():
        names = sorted(set(names))
        blocks = drb.zonetool_lookup(zonetool, state, names,
                                     None if client == "127.0.0.1"
                                     else client)
        for n, b in zip(names, blocks):
            out[(client, n)] = b
    return out


def explain(q, r, o, d, zones, facts):
    """The allowance that explains difference d of query q, or None."""
    client, name, qtype, payload = q
    zone, key = zones.match(name)
    if zone is None:
        return "outside" if not o.dropped and \
            o.rcode == dns.rcode.REFUSED else None
    if r.dropped or o.dropped:
        return None
    if name.lower() in drb.DEVIATION_NAMES:
        return drb.DEVIATION_NAMES[name.lower()]
    if o.tc:
        return "tc" if not o.sections["answer"] else None
    limit = rbldnsd_limit(payload)
    olen = len(o.wire) - (11 if o.opt else 0)
    if olen > limit and r.rcode == o.rcode and subset(r, o):
        return "rbldnsd-size"
    ours = 512 if payload is None else min(max(payload, 512), OUR_EDNS)
    if len(r.wire) + (11 if o.opt and not r.opt else 0) > ours and \
            r.rcode == o.rcode and \
            set(r.sections["answer"]) == set(o.sections["answer"]) and \
            subset(o, r, ("authority", "additional")):
        return "our-size"
    tp = test_point(key)
    if tp > 0 and o.rcode == dns.rcode.NOERROR and (
            qtype not in ("A", "TXT", "ANY") or any(
                k[2] in ("127.0.0.2", '"RFC 5782 test point"')
                for k in o.sections["answer"])):
        return "test-point"
    if tp < 0 and o.rcode == dns.rcode.NXDOMAIN:
        return "test-point"
    f = facts.get((client, name))
    if f is None:
        return None
    if f["result"] == "ent" and r.rcode == dns.rcode.NXDOMAIN and \
            o.rcode == dns.rcode.NOERROR and not o.sections["answer"]:
        return "ent"
    gen = f.get("generic", set())
    if f.get("acl") in ("empty", "listed") and gen and r.rcode == o.rcode \
            and subset(r, o, ("answer",)):
        # rbldnsd leaves out the generic records; with nothing left its
        # answer is NODATA (SOA in AUTHORITY) where ours is positive
        extra = set(o.sections["answer"]) - set(r.sections["answer"])
        rauth = {k[1] for k in r.sections["authority"]}
        if all(dns.rdatatype.to_text(k[1]) in gen for k in extra) and (
                set(r.sections["authority"]) ==
                set(o.sections["authority"]) or
                (not r.sections["answer"] and
                 rauth <= {dns.rdatatype.SOA})):
            return "generic-acl"
    if "AAAA" in gen:
        extra = set(o.sections["answer"]) - set(r.sections["answer"])
        if qtype in ("AAAA", "ANY") and extra and \
                r.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and \
                subset(r, o, ("answer",)) and \
                all(k[1] == dns.rdatatype.AAAA for k in extra):
            return "generic-aaaa"
        if gen == {"AAAA"} and r.rcode == dns.rcode.NXDOMAIN and \
                o.rcode == dns.rcode.NOERROR and not o.sections["answer"]:
            return "generic-aaaa"
    return None


def plan_queries(rng, queries):
    """(client, name, qtype, payload) for every name of the generator:
    two or three query types each, a third without EDNS."""
    out = []
    for client, name, _ in queries:
        n = rng.choice([2, 2, 3])
        types = set()
        while len(types) < n:
            types.add(rng.choices(QTYPES, QWEIGHTS)[0])
        for t in sorted(types):
            payload = rng.choice([None, None, 1232, 4096, 4096, 4096])
            out.append((client, name, t, payload))
    return out


def start_resolverd(resolverd, d, specs):
    for attempt in range(5):
        port = rdtest.free_port()
        env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(d, "state"))
        argv = [resolverd, "-n", "-b", "127.0.0.1/%d" % port, "-t", "35m",
                "-c", "0", "-w", d]
        if os.geteuid() == 0:
            argv[1:1] = ["-u", "nobody"]
        srv = rdtest.Server(argv + specs, env=env, cwd=d,
                            log=os.path.join(d, "resolverd.log"))
        drb._children.append(srv.proc)
        try:
            rdtest.wait_answer(port, "ns.gen.test", srv.proc, seconds=60)
            return srv, port
        except RuntimeError:
            srv.stop()
            with open(os.path.join(d, "resolverd.log")) as f:
                log = f.read()
            if "in use" not in log.lower():
                raise RuntimeError("resolverd did not start:\n" + log[-3000:])
    raise RuntimeError("resolverd: no free port")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("resolverd")
    ap.add_argument("zonetool")
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("DIFF_SEED", "0")) or None)
    ap.add_argument("--scale", type=float,
                    default=float(os.environ.get("DIFF_SCALE", "0.35")))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--max-report", type=int, default=60)
    args = ap.parse_args()

    if not os.access(drb.RBLDNSD, os.X_OK):
        print("SKIP: %s is not installed" % drb.RBLDNSD)
        return drb.SKIP
    resolverd = os.path.abspath(args.resolverd)
    zonetool = os.path.abspath(args.zonetool)
    seed = args.seed if args.seed is not None else \
        random.SystemRandom().randrange(1, 1 << 31)
    print("seed %d (replay with DIFF_SEED=%d)" % (seed, seed))
    rng = random.Random(seed)
    t0 = time.time()
    tmp = rdtest.tmpdir("diff-resolverd.")
    rbl = srv = None
    try:
        specs, gq = drb.build_random(rng, tmp, args.scale)
        queries = plan_queries(rng, gq)
        # test points and apex metadata in every zone, from 127.0.0.1
        zones = Zones(specs)
        for z in zones.names:
            for k in ("2.0.0.127", "1.0.0.127", "test", "invalid",
                      drb.rev6((0xffff << 32) | 0x7f000002), ""):
                for t in QTYPES:
                    queries.append(("127.0.0.1", k + "." + z if k else z,
                                    t, rng.choice([None, 4096])))
        print("%d zone specs, %d queries" % (len(specs), len(queries)))
        sys.stdout.flush()

        rbl = drb.Rbldnsd(tmp, specs, extra_args=("-w", tmp))
        srv, port = start_resolverd(resolverd, tmp, specs)
        print("rbldnsd on port %d, resolverd on port %d, both up after "
              "%.1fs" % (rbl.port, port, time.time() - t0))
        t1 = time.time()
        rw = drb.query_many(rbl.port, queries, raw=True)
        ow = drb.query_many(port, queries, raw=True)
        print("asked both in %.1fs" % (time.time() - t1))
        if srv.proc.poll() is not None or rbl.proc.poll() is not None:
            raise RuntimeError("a server died during the queries")

        replies = [(q, Reply(a), Reply(b)) for q, a, b in
                   zip(queries, rw, ow)]
        counts = collections.Counter()
        allowed = collections.Counter()
        bad = []
        pending = []
        for q, r, o in replies:
            for p in o.problems:
                bad.append((q, r, o, ["ours: " + p]))
            if not r.dropped:
                counts["rcode " + dns.rcode.to_text(r.rcode)] += 1
                if r.rcode == 0 and r.sections["answer"]:
                    counts["answers"] += 1
            else:
                counts["dropped"] += 1
            if not r.dropped and not o.dropped and r.opt != o.opt:
                allowed["edns-opt"] += 1
            if not r.dropped and not o.dropped and fix_neg_soa_ttl(r, o):
                allowed["neg-soa-ttl"] += 1
            d = differences(r, o)
            if d:
                pending.append((q, r, o, d))
            else:
                counts["same"] += 1
        facts = zonetool_facts(zonetool, os.path.join(tmp, "state"),
                               [(q[0], q[1]) for q, r, o, d in pending])
        for q, r, o, d in pending:
            why = explain(q, r, o, d, zones, facts)
            if why is not None:
                allowed[why] += 1
            else:
                bad.append((q, r, o, d))
        for q, r, o, d in bad[:args.max_report]:
            f = facts.get((q[0], q[1]))
            print("MISMATCH %s %s%s%s [%s]\n  rbldnsd:  %s\n  resolverd: "
                  "%s%s" % (
                      q[1], q[2],
                      "" if q[3] is None else " edns %d" % q[3],
                      "" if q[0] == "127.0.0.1" else " client %s" % q[0],
                      ",".join(d), r.text(), o.text(),
                      "" if f is None else "\n  zonetool: " +
                      " / ".join(f["raw"])))
        if len(bad) > args.max_report:
            print("... %d more" % (len(bad) - args.max_report))
        print("replies: " + ", ".join("%s %d" % kv
                                      for kv in sorted(counts.items())))
        print("allowed differences: " + ", ".join(
            "%s %d" % (a, allowed[a]) for a in ALLOWANCES))
        # the comparison must have compared something real
        if counts["answers"] < len(queries) // 10 or \
                counts["same"] < len(queries) // 2:
            print("FAIL: too few positive or identical answers (%d, %d)" %
                  (counts["answers"], counts["same"]))
            bad.append(None)
        print("%d queries, %d unexplained differences, %.1fs, seed %d" %
              (len(queries), len(bad), time.time() - t0, seed))
        return 1 if bad else 0
    finally:
        for s in (srv, rbl):
            if s is not None:
                s.stop()
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("ERROR: %s" % e)
        sys.exit(2)
