#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""/metrics, /healthz, `top names` and `zones` (issue 6, items 1, 5, 6).

Two resolverd: U serves fwd.test as an upstream server; M mirrors
bl.test (IPv4, with the RFC 5782 test points and a $SOA) and nt.test (a
dnset without TEST: a warning, not a failure), forwards fwd.test to U
and serves http on 127.0.0.1.  Scripted queries from 127.0.0.2, 127.0.0.3
and ::1 (client sockets bound to them): the per zone counters of
/metrics (queries, listed, not listed, forwarded, cache hits, bytes in
and out, the latency histogram's count) must grow by exactly what was
sent and received.  The body must pass `promtool check metrics` and a
strict parser of the text format 0.0.4 written here (HELP and TYPE
before the samples of a family, escapes, histogram buckets cumulative
with +Inf equal to _count).  /healthz: 200 with bl.test ok and
nt.test a warning; after a reload adding bad.test (data lists
127.0.0.1) and old.test (past its $TIMESTAMP expiry), 503 naming both
with their reasons while bl.test stays ok.  `resolverctl top names
--json` and `zones --json` parse and hold the expected values.

usage: test_metrics.py RESOLVERD RESOLVERCTL
"""
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import dns.message
import dns.rcode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

RD, CTL = sys.argv[1], sys.argv[2]
ROOT = os.geteuid() == 0
check = rdtest.Checks()

BL = """$SOA 3600 ns.bl.test. hostmaster.bl.test. 2026112901 3600 600 86400 300
:127.0.0.2:Listed, see http://bl.test/$
127.0.0.2
192.0.2.0/24
198.51.100.7
"""
NT = """:127.0.0.2:Listed name
spam.example
*.bad.example
"""
FWD = """:127.0.0.3:Listed upstream
192.0.2.0/24
"""
BAD = """:127.0.0.2:Lists everything
127.0.0.0/8
"""
OLD = """$TIMESTAMP 2020-01-01 2020-01-02
:127.0.0.2:Old
127.0.0.2
192.0.2.1
"""


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


IPV6 = have_ipv6()


def log_has(path, text, seconds=5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def refused(hport):
    try:
        socket.create_connection(("127.0.0.1", hport), timeout=2).close()
        return False
    except OSError:
        return True


def reload_http(d, port, hport, uport, srv):
    """A reload moves /metrics to a new address at once; one that cannot
    be bound (in use) is refused with a clear log line and the old one
    keeps serving.  Returns the port served at the end."""
    log = os.path.join(d, "rd.log")
    new = rdtest.free_port()
    rdtest.write(d, "rd.conf", config(d, port, new, uport, True))
    srv.proc.send_signal(signal.SIGHUP)
    ok = False
    deadline = time.monotonic() + 10
    while not ok and time.monotonic() < deadline:
        try:
            ok = http_get(new, "/metrics")[0] == 200
        except OSError:
            time.sleep(0.1)
    check("reload: http moves to the new port", ok, new)
    check("reload: the old http port is closed", refused(hport), hport)
    check("reload: the move is logged",
          log_has(log, "http: no longer serving on"), log)
    # a port in use: refused, the old one stays
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        rdtest.write(d, "rd.conf", config(d, port, busy.getsockname()[1],
                                          uport, True))
        srv.proc.send_signal(signal.SIGHUP)
        check("reload: an http address that cannot be bound is refused",
              log_has(log, "http address change needs a restart"), log)
        check("reload: the old http address keeps serving",
              http_get(new, "/metrics")[0] == 200 and
              srv.proc.poll() is None)
    finally:
        busy.close()
    # and back to one that can be bound: the refused change left the
    # served address as it was, so this is a move again
    rdtest.write(d, "rd.conf", config(d, port, hport, uport, True))
    srv.proc.send_signal(signal.SIGHUP)
    ok = False
    deadline = time.monotonic() + 10
    while not ok and time.monotonic() < deadline:
        try:
            ok = http_get(hport, "/metrics")[0] == 200
        except OSError:
            time.sleep(0.1)
    check("reload: http moves back", ok and refused(new), (hport, new))
    return hport


def config(d, port, hport, uport, extra_zones=False):
    s = "[server]\nlisten = 127.0.0.1@%d\n" % port
    if IPV6:
        s += "listen = ::1@%d\n" % port
    s += ("threads = 2\ndatabase = %s\ncontrol = %s\nhttp = 127.0.0.1@%d\n"
          "acl = allow 127.0.0.0/8 ::1\nacct-save-interval = 1\n" % (
              os.path.join(d, "db"), os.path.join(d, "ctl.sock"), hport))
    if ROOT:
        s += "user = nobody\n"
    s += "\n[zone bl.test]\ndataset = ip4set:%s\n" % os.path.join(d, "bl.txt")
    s += "\n[zone nt.test]\ndataset = dnset:%s\n" % os.path.join(d, "nt.txt")
    s += "\n[zone fwd.test]\nmode = forward\nupstream = 127.0.0.1@%d\n" % (
        uport)
    if extra_zones:
        s += "\n[zone bad.test]\ndataset = ip4set:%s\n" % os.path.join(
            d, "bad.txt")
        s += "\n[zone old.test]\ndataset = ip4set:%s\n" % os.path.join(
            d, "old.txt")
    return s


def upstream_config(d, port):
    s = ("[server]\nlisten = 127.0.0.1@%d\nthreads = 1\ndatabase = %s\n"
         "acl = allow 127.0.0.0/8\n" % (port, os.path.join(d, "udb")))
    if ROOT:
        s += "user = nobody\n"
    s += "\n[zone fwd.test]\ndataset = ip4set:%s\n" % os.path.join(
        d, "fwd.txt")
    return s


class Client:
    """A UDP client on a fixed source address."""

    def __init__(self, src, port):
        fam = socket.AF_INET6 if ":" in src else socket.AF_INET
        self.dst = ("::1" if fam == socket.AF_INET6 else "127.0.0.1", port)
        self.s = socket.socket(fam, socket.SOCK_DGRAM)
        self.s.bind((src, 0))

    def ask(self, name, timeout=3.0):
        """(query bytes, answer bytes, message) or an exception."""
        q = dns.message.make_query(name, "A")
        w = q.to_wire()
        self.s.settimeout(timeout)
        self.s.sendto(w, self.dst)
        while True:
            data, _ = self.s.recvfrom(65535)
            r = dns.message.from_wire(data)
            if r.id == q.id:
                return len(w), len(data), r

    def close(self):
        self.s.close()


DUMP = os.environ.get("RD_METRICS_DUMP")  # a dir: keep every body
_dumped = [0]


def http_get(hport, path):
    """(status, content type, body text)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (hport, path),
                                    timeout=10) as r:
            out = r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        out = e.code, e.headers.get("Content-Type"), e.read().decode()
    if DUMP and path == "/metrics":
        # to compare two builds' output on the same scripted queries
        _dumped[0] += 1
        rdtest.write(DUMP, "metrics-%02d.txt" % _dumped[0], out[2])
    return out


def ctl_json(d, *args):
    p = subprocess.run([CTL, "-s", os.path.join(d, "ctl.sock")] +
                       list(args) + ["--json"], capture_output=True,
                       text=True, timeout=20)
    if p.returncode != 0:
        raise RuntimeError("resolverctl %s: %s" % (args, p.stderr))
    return json.loads(p.stdout)


# ---- a strict parser of the Prometheus text format 0.0.4 ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(Exception):
    pass


def parse_labels(s, lineno):
    """'{a="x",b="y"}' body (without braces) -> dict; strict escapes."""
    out = {}
    i = 0
    while i < len(s):
        m = re.match(LABEL, s[i:])
        if not m:
            raise PromError("line %d: bad label name at %r" % (lineno, s[i:]))
        name = m.group(0)
        i += len(name)
        if s[i:i + 2] != '="':
            raise PromError("line %d: want =\" after %s" % (lineno, name))
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise PromError("line %d: unterminated value" % lineno)
            c = s[i]
            if c == "\\":
                nx = s[i + 1:i + 2]
                if nx not in ("\\", '"', "n"):
                    raise PromError("line %d: bad escape \\%s" % (lineno, nx))
                val.append({"n": "\n"}.get(nx, nx))
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                raise PromError("line %d: raw newline in value" % lineno)
            val.append(c)
            i += 1
        if name in out:
            raise PromError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                raise PromError("line %d: want , at %r" % (lineno, s[i:]))
            i += 1
    return out


def parse_value(v, lineno):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v):
        raise PromError("line %d: bad value %r" % (lineno, v))
    return float(v)


def parse_prom(text):
    """-> {family: {"type", "help", "samples": [(name, labels, value)]}}"""
    if not text.endswith("\n"):
        raise PromError("the body does not end with a newline")
    fams = {}
    cur = None
    seen_done = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            raise PromError("line %d: empty line" % n)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise PromError("line %d: malformed %r" % (n, line))
                continue
            kind, fam, rest = m.groups()
            f = fams.setdefault(fam, {"type": None, "help": None,
                                      "samples": []})
            if fam in seen_done:
                raise PromError("line %d: family %s again" % (n, fam))
            if kind == "TYPE":
                if rest not in TYPES or f["type"] is not None:
                    raise PromError("line %d: bad TYPE %r" % (n, line))
                if f["samples"]:
                    raise PromError("line %d: TYPE after samples" % n)
                f["type"] = rest
            else:
                if f["help"] is not None:
                    raise PromError("line %d: second HELP" % n)
                f["help"] = rest
            if cur is not None and cur != fam:
                seen_done.add(cur)
            cur = fam
            continue
        m = re.fullmatch(r"(%s)(\{(.*)\})? (\S+)( -?\d+)?" % NAME, line)
        if not m:
            raise PromError("line %d: malformed sample %r" % (n, line))
        name, _, lab, val, _ts = m.groups()
        labels = parse_labels(lab or "", n)
        value = parse_value(val, n)
        fam = name
        for suf in ("_bucket", "_sum", "_count"):
            base = name[:-len(suf)]
            if name.endswith(suf) and base in fams and \
                    fams[base]["type"] == "histogram":
                fam = base
        if fam not in fams or fams[fam]["type"] is None:
            raise PromError("line %d: %s has no TYPE before it" % (n, name))
        if fam != cur:
            raise PromError("line %d: %s outside its family's group" %
                            (n, name))
        if fams[fam]["type"] == "counter" and (value < 0 or
                                               math.isnan(value)):
            raise PromError("line %d: negative counter" % n)
        fams[fam]["samples"].append((name, labels, value))
    for fam, f in fams.items():
        if f["type"] == "histogram":
            check_histogram(fam, f["samples"])
    return fams


def check_histogram(fam, samples):
    series = {}
    for name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None,
                                    "count": None})
        if name == fam + "_bucket":
            if "le" not in labels:
                raise PromError("%s: a bucket without le" % fam)
            s["buckets"].append((parse_value(labels["le"], 0), value))
        elif name == fam + "_sum":
            s["sum"] = value
        elif name == fam + "_count":
            s["count"] = value
    for key, s in series.items():
        les = [b[0] for b in s["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise PromError("%s%s: le not ascending" % (fam, key))
        if not les or les[-1] != float("inf"):
            raise PromError("%s%s: no +Inf bucket" % (fam, key))
        vals = [b[1] for b in s["buckets"]]
        if vals != sorted(vals):
            raise PromError("%s%s: buckets not cumulative" % (fam, key))
        if s["count"] is None or s["sum"] is None:
            raise PromError("%s%s: no _sum or _count" % (fam, key))
        if vals[-1] != s["count"]:
            raise PromError("%s%s: +Inf %s != count %s" % (
                fam, key, vals[-1], s["count"]))


def sample(fams, fam, name=None, **labels):
    for n, lab, v in fams.get(fam, {"samples": []})["samples"]:
        if n == (name or fam) and all(lab.get(k) == w
                                      for k, w in labels.items()):
            return v
    return None


ZCTRS = ("queries", "listed", "notlisted", "forwarded", "cache_hits",
         "bytes_in", "bytes_out", "errors", "refused", "ratelimited")


def zone_counts(fams, zone):
    out = {}
    for c in ZCTRS:
        out[c] = int(sample(fams, "resolverd_zone_%s_total" % c,
                            zone=zone) or 0)
    out["latency_count"] = int(sample(
        fams, "resolverd_zone_latency_seconds",
        "resolverd_zone_latency_seconds_count", zone=zone) or 0)
    return out


def metrics(hport):
    st, ctype, body = http_get(hport, "/metrics")
    return st, ctype, body, parse_prom(body)


def wait_metrics(hport, want, seconds=15):
    """Workers merge once a second: poll until every zone in want has
    at least its expected queries (then one more tick for the rest)."""
    deadline = time.monotonic() + seconds
    fams = None
    while time.monotonic() < deadline:
        fams = metrics(hport)[3]
        if all(zone_counts(fams, z)["queries"] >= q and
               zone_counts(fams, z)["latency_count"] >= q
               for z, q in want.items()):
            time.sleep(1.2)
            return metrics(hport)[3]
        time.sleep(0.2)
    return fams


def wait_healthz(hport, cond, seconds=15):
    deadline = time.monotonic() + seconds
    while True:
        st, ctype, body = http_get(hport, "/healthz")
        js = json.loads(body)
        if cond(st, js) or time.monotonic() > deadline:
            return st, ctype, js
        time.sleep(0.2)


def zone_of(js, name):
    for z in js["zones"]:
        if z["zone"] == name:
            return z
    return None


def main():
    d = rdtest.tmpdir("rd-metrics-")
    port, uport, hport = (rdtest.free_port(), rdtest.free_port(),
                          rdtest.free_port())
    for name, text in (("bl.txt", BL), ("nt.txt", NT), ("fwd.txt", FWD),
                       ("bad.txt", BAD), ("old.txt", OLD)):
        rdtest.write(d, name, text)
    rdtest.write(d, "rd.conf", config(d, port, hport, uport))
    rdtest.write(d, "up.conf", upstream_config(d, uport))

    # bad http values fail -n, naming file:line
    for bad in ("localhost@9153", "127.0.0.1@notaport", "@9153"):
        rdtest.write(d, "bad.conf", config(d, port, hport, uport).replace(
            "http = 127.0.0.1@%d" % hport, "http = %s" % bad))
        p = subprocess.run([RD, "-n", "-c", os.path.join(d, "bad.conf")],
                           capture_output=True, text=True)
        check("http = %s fails -n with file:line" % bad,
              p.returncode != 0 and "bad.conf:" in p.stderr and
              "http" in p.stderr, p.stderr)

    up = rdtest.Server([RD, "-d", "-c", os.path.join(d, "up.conf")],
                       log=os.path.join(d, "up.log"))
    srv = None
    clients = []
    try:
        rdtest.wait_answer(uport, "2.0.0.127.fwd.test", up.proc)
        srv = rdtest.Server([RD, "-d", "-c", os.path.join(d, "rd.conf")],
                            log=os.path.join(d, "rd.log"))
        rdtest.wait_answer(port, "2.0.0.127.bl.test", srv.proc)
        # the warm-up queries are merged within a second: a stable base
        fams0, last = None, None
        for _ in range(50):
            time.sleep(0.4)
            st, ctype, body, fams0 = metrics(hport)
            now = zone_counts(fams0, "bl.test")
            if now == last and now["queries"] > 0:
                break
            last = now
        check("/metrics: 200", st == 200, st)
        check("/metrics: the 0.0.4 content type",
              ctype is not None and "version=0.0.4" in ctype, ctype)

        # -- scripted queries --
        srcs = ["127.0.0.2", "127.0.0.3"] + (["::1"] if IPV6 else [])
        clients = [Client(s, port) for s in srcs]
        exp = {z: dict.fromkeys(ZCTRS, 0) for z in ("bl.test", "nt.test",
                                                    "fwd.test")}
        names = {}

        def ask(c, name, zone, outcome):
            qb, ab, r = c.ask(name)
            e = exp[zone]
            e["queries"] += 1
            e["bytes_in"] += qb
            e[outcome] += 1
            if outcome != "forwarded":
                e["bytes_out"] += ab
            key = name[:-len(zone) - 1]
            names[(zone, key)] = names.get((zone, key), 0) + 1
            return r, ab

        for i, c in enumerate(clients):
            for _ in range(i + 1):
                r, _ = ask(c, "5.2.0.192.bl.test", "bl.test", "listed")
                check("listed answer", len(r.answer) == 1, r)
            r, _ = ask(c, "1.1.168.192.bl.test", "bl.test", "notlisted")
            check("NXDOMAIN", r.rcode() == dns.rcode.NXDOMAIN, r)
            r, _ = ask(c, "spam.example.nt.test", "nt.test", "listed")
            r, _ = ask(c, "ham.example.nt.test", "nt.test", "notlisted")
        # forwarded: a miss then (the answer cached) hits
        r, _ = ask(clients[0], "9.2.0.192.fwd.test", "fwd.test",
                   "forwarded")
        check("forwarded answer", len(r.answer) == 1 and
              "127.0.0.3" in r.answer[0].to_text(), r)
        hits_out = 0
        for c in clients[1:] + clients[:1]:
            r, ab = ask(c, "9.2.0.192.fwd.test", "fwd.test", "forwarded")
            exp["fwd.test"]["cache_hits"] += 1
            hits_out += ab
        exp["fwd.test"]["bytes_out"] += hits_out

        fams1 = wait_metrics(hport, {
            z: zone_counts(fams0, z)["queries"] + e["queries"]
            for z, e in exp.items()})
        for z, e in exp.items():
            c0, c1 = zone_counts(fams0, z), zone_counts(fams1, z)
            got = {k: c1[k] - c0[k] for k in ZCTRS}
            check("/metrics %s: counters grew by exactly what was sent" % z,
                  got == e, (got, e))
            check("/metrics %s: latency _count grew by its queries" % z,
                  c1["latency_count"] - c0["latency_count"] ==
                  e["queries"], (c1, c0))
        # the forwarding cache and the upstream server
        check("cache: hits counted", (sample(
            fams1, "resolverd_cache_hits_total") or 0) >= len(clients),
            sample(fams1, "resolverd_cache_hits_total"))
        check("cache: one entry at least",
              (sample(fams1, "resolverd_cache_entries") or 0) >= 1)
        server = "127.0.0.1 port %d" % uport
        upv = [(n, lab, v) for n, lab, v in
               fams1["resolverd_upstream_up"]["samples"]]
        check("upstream up{zone=fwd.test} = 1",
              sample(fams1, "resolverd_upstream_up", zone="fwd.test") == 1,
              upv)
        check("upstream answered once (later ones were cache hits)",
              sample(fams1, "resolverd_upstream_answers_total",
                     zone="fwd.test") == 1,
              fams1["resolverd_upstream_answers_total"]["samples"])
        rtt = sample(fams1, "resolverd_upstream_rtt_seconds",
                     zone="fwd.test")
        check("upstream rtt known and sane", rtt is not None and
              0 <= rtt < 3, (rtt, server))
        check("process: start time and threads",
              abs(sample(fams1, "resolverd_start_time_seconds") -
                  time.time()) < 120 and
              sample(fams1, "resolverd_threads") == 2)
        check("freshness: bl.test serial from its $SOA",
              sample(fams1, "resolverd_zone_serial",
                     zone="bl.test") == 2026112901)
        check("freshness: bl.test entries",
              sample(fams1, "resolverd_zone_entries", zone="bl.test") == 3)
        age = sample(fams1, "resolverd_zone_last_sync_age_seconds",
                     zone="bl.test")
        check("freshness: bl.test last import seconds ago",
              age is not None and 0 <= age < 60, age)
        check("freshness: bl.test state ok",
              sample(fams1, "resolverd_zone_state", zone="bl.test",
                     state="ok") == 1)

        # promtool reads the same body
        body = http_get(hport, "/metrics")[2]
        rdtest.write(d, "metrics.txt", body)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=body,
                               capture_output=True, text=True, timeout=60)
            check("promtool check metrics: no problems",
                  p.returncode == 0 and p.stdout.strip() == "" and
                  p.stderr.strip() == "", (p.returncode, p.stdout,
                                           p.stderr))
        else:
            check("promtool installed (contrib/debian-packages: "
                  "prometheus)", False)
        # the strict parser catches what it should
        for broken in ('x_total{zone="a} 1\n', "# TYPE x counter\nx 1",
                       '# TYPE x counter\nx{zone="\\q"} 1\n',
                       "# TYPE x counter\nx -1\n"):
            try:
                parse_prom(broken)
                check("strict parser rejects %r" % broken, False)
            except PromError:
                check("strict parser rejects %r" % broken, True)

        # -- top names --
        tn = ctl_json(d, "top", "names", "-n", "50")
        got = {(r["zone"], r["name"]): r["queries"] for r in tn["names"]}
        check("top names: every name queried, exact counts",
              all(got.get(k, 0) >= v for k, v in names.items()) and
              got.get(("nt.test", "spam.example")) ==
              names[("nt.test", "spam.example")] and
              got.get(("fwd.test", "9.2.0.192")) ==
              names[("fwd.test", "9.2.0.192")], (got, names))
        top = tn["names"][0]
        check("top names: the most queried first",
              (top["zone"], top["name"]) == ("bl.test", "5.2.0.192"), top)
        fw = [r for r in tn["names"] if r["zone"] == "fwd.test"]
        check("top names: cache hits per name",
              fw and fw[0]["cached"] == len(clients), fw)
        t1 = ctl_json(d, "top", "names", "-n", "1")
        check("top names -n 1: one row", len(t1["names"]) == 1, t1)

        # -- a flood of distinct names: the sketch stays bounded and the
        # heavy hitter keeps its exact count --
        c = clients[0]
        heavy = 0
        before = ctl_json(d, "top", "names", "-n", "1")["names"][0]
        for i in range(3000):
            c.ask("%d.%d.%d.10.bl.test" % (i % 256, i // 256, i % 7))
            if i % 15 == 0:
                c.ask("7.100.51.198.bl.test")
                heavy += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tf = ctl_json(d, "top", "names", "-n", "100000")
            if tf["names"] and tf["names"][0]["name"] == "7.100.51.198" and \
                    tf["names"][0]["queries"] >= heavy:
                break
            time.sleep(0.3)
        check("names flood: at most the sketch's capacity kept",
              0 < len(tf["names"]) <= tf["capacity"] == 1024,
              (len(tf["names"]), tf["capacity"]))
        check("names flood: the heavy name on top, exact count",
              tf["names"][0]["name"] == "7.100.51.198" and
              tf["names"][0]["queries"] == heavy and
              tf["names"][0]["error_bound"] == 0, (tf["names"][0], heavy))
        check("names flood: the earlier top name was counted before",
              before["name"] == "5.2.0.192", before)

        # -- zones --
        zs = ctl_json(d, "zones")
        zb = {z["zone"]: z for z in zs["zones"]}
        b = zb.get("bl.test", {})
        check("zones: bl.test ok, serial, entries, last sync, no expiry",
              b.get("state") == "ok" and b.get("serial") == 2026112901 and
              b.get("entries") == 3 and b.get("source") == "files" and
              isinstance(b.get("last_sync"), int) and
              b.get("expires") is None and b.get("age", -1) >= 0, b)
        check("zones: nt.test ok", zb.get("nt.test", {}).get("state") ==
              "ok", zb.get("nt.test"))

        # -- healthz, healthy --
        st, ctype, js = wait_healthz(hport, lambda s, j: True)
        check("/healthz: 200 when all is well", st == 200, (st, js))
        check("/healthz: JSON", ctype == "application/json", ctype)
        check("/healthz: bl.test ok", (zone_of(js, "bl.test") or {}).get(
            "status") == "ok", js)
        nt = zone_of(js, "nt.test") or {}
        check("/healthz: nt.test lacks TEST: a warning, explicit",
              nt.get("status") == "warning" and
              any(p["severity"] == "warning" and "TEST" in p["reason"]
                  for p in nt.get("problems", [])), nt)
        check("/healthz: forwarded zones are not mirrored: not listed",
              zone_of(js, "fwd.test") is None, js)
        for path, want in (("/nope", 404), ("/metricsx", 404)):
            check("GET %s: %d" % (path, want),
                  http_get(hport, path)[0] == want)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % hport,
                                     data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        check("POST /metrics: 405", code == 405, code)

        # bad HTTP input: answered with an error or closed, never a crash
        for raw in (b"\x00\xff\xfe garbage\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 +
                    b"\r\n\r\n",
                    b"GET " + b"/" * 9000 + b" HTTP/1.0\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", hport), timeout=5)
            try:
                s.sendall(raw)
                s.shutdown(socket.SHUT_WR)
                reply = s.recv(200)
            except OSError:
                reply = b""
            finally:
                s.close()
            check("bad HTTP request %r...: no 200" % raw[:16],
                  not reply.startswith(b"HTTP/1.1 200"), reply[:60])
        check("still serving after bad HTTP requests",
              http_get(hport, "/metrics")[0] == 200 and
              srv.proc.poll() is None)

        # -- healthz, broken zones (reload) --
        rdtest.write(d, "rd.conf", config(d, port, hport, uport, True))
        srv.proc.send_signal(signal.SIGHUP)
        st, _, js = wait_healthz(
            hport, lambda s, j: zone_of(j, "bad.test") is not None and
            zone_of(j, "old.test") is not None)
        check("/healthz: 503 with a broken zone", st == 503, (st, js))
        check("/healthz: status fail", js.get("status") == "fail", js)
        bad = zone_of(js, "bad.test") or {}
        check("/healthz: bad.test fails: lists 127.0.0.1",
              bad.get("status") == "fail" and
              any("127.0.0.1" in p["reason"] and p["severity"] == "fail"
                  for p in bad.get("problems", [])), bad)
        old = zone_of(js, "old.test") or {}
        check("/healthz: old.test fails: past its $TIMESTAMP expiry",
              old.get("status") == "fail" and old.get("state") ==
              "expired" and any("$TIMESTAMP" in p["reason"]
                                for p in old.get("problems", [])), old)
        check("/healthz: bl.test still ok",
              (zone_of(js, "bl.test") or {}).get("status") == "ok", js)
        zs = {z["zone"]: z for z in ctl_json(d, "zones")["zones"]}
        o = zs.get("old.test", {})
        check("zones: old.test expired, expiry in the past",
              o.get("state") == "expired" and o.get("expires") ==
              1577923200 and o.get("expires_in", 0) < 0, o)
        fams2 = metrics(hport)[3]
        check("/metrics: old.test expiry negative",
              (sample(fams2, "resolverd_zone_expiry_seconds",
                      zone="old.test") or 0) < 0)
        check("/metrics: old.test state expired",
              sample(fams2, "resolverd_zone_state", zone="old.test",
                     state="expired") == 1)

        # -- [server] http = changes on reload --
        hport = reload_http(d, port, hport, uport, srv)
    finally:
        for c in clients:
            c.close()
        if srv is not None:
            srv.stop()
        up.stop()
    if not check.failed:
        rdtest.cleanup(d)
    else:
        print("left for inspection: %s" % d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
