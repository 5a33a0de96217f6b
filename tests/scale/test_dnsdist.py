# SPDX-License-Identifier: BSD-2-Clause
"""Scale-out behind dnsdist (issue 8, doc/scale-out.md), with the real
binaries on 127.0.0.1 at random ports:

  zonetool publishes a signed feed; two resolverd instances, each with
  its own database, serve its zone as a feed zone ("mode = feed") and are
  synced by zonesync -c from the same feed directory; dnsdist, run from
  contrib/dnsdist/dnsdist.conf with its addresses replaced, is in front.

  1. 200 queries through dnsdist all answer correctly and both backends'
     counters (resolverctl zones --json) show a share of them;
  2. one instance is killed (SIGKILL): queries that fail (timeouts,
     SERVFAIL) stop within the detection window, which is measured and
     printed; after it 200 queries all answer, all from the survivor, and
     dnsdist's /metrics (the endpoint contrib/prometheus scrapes) says the
     killed backend is down;
  3. v2 of the zone is published and both databases synced (the killed
     instance's too): both report the same serial (zonesync status
     --json, and resolverd_zone_serial in each one's /metrics, which
     contrib/prometheus scrapes), and the survivor answers v2;
  4. the killed instance is restarted: it rejoins and gets a share again,
     answering v2.

Skips (77) without dnsdist, or when resolverd does not know feed zones.

usage: test_dnsdist.py RESOLVERD ZONETOOL ZONESYNC RESOLVERCTL DNSDIST_CONF
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import rdtest  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

ZONE = "bl.scale.test"
NQ = 200
# dnsdist.conf: checkInterval 1 s, checkTimeout 0.5 s, maxCheckFailures 1;
# a failed query is one sent to the dead backend before its check fails
DETECT_MAX = 3.0


def ask(port, name, timeout=0.5):
    """(rcode or None on timeout, [A addresses])."""
    q = dns.message.make_query(name, "A")
    q.flags |= dns.flags.RD
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        while True:
            data = s.recv(4096)
            r = dns.message.from_wire(data)
            if r.id == q.id:
                break
    except (socket.timeout, OSError):
        return None, []
    finally:
        s.close()
    addrs = [rd.address for rr in r.answer for rd in rr
             if rr.rdtype == 1]
    return r.rcode(), sorted(addrs)


def zone_text(version):
    """The zone for version 1 or 2 and its expectations {name: A or
    None for NXDOMAIN}."""
    lines = [":127.0.0.2:listed v%d" % version, "127.0.0.2"]
    want = {"2.0.0.127." + ZONE: ["127.0.0.2"]}
    for i in range(1, 101):
        lines.append("10.%d.0.%d" % (version, i))
        want["%d.0.%d.10.%s" % (i, version, ZONE)] = ["127.0.0.2"]
        want["%d.0.9.10.%s" % (i, ZONE)] = None  # never listed
    return "\n".join(lines) + "\n", want


def queries(want, n):
    names = sorted(want)
    return [names[i % len(names)] for i in range(n)]


class Instance:
    def __init__(self, d, rd, ctl, n, feed, pub):
        self.rd, self.ctl = rd, ctl
        self.dir = os.path.join(d, "rd%d" % n)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        self.port = rdtest.free_port()
        self.db = os.path.join(self.dir, "db")
        self.sock = os.path.join(self.dir, "control.sock")
        user = "user = nobody\n" if os.geteuid() == 0 else ""
        self.http = "127.0.0.1:%d" % rdtest.free_port()
        self.conf = rdtest.write(self.dir, "resolverd.conf", (
            "[server]\nlisten = 127.0.0.1@%d\nthreads = 1\n"
            "database = %s\ncontrol = %s\nhttp = %s\n%s"
            "[zone %s]\nmode = feed\nfeed = %s\nkey = %s\n") %
            (self.port, self.db, self.sock, self.http.replace(":", "@"),
             user, ZONE, feed, pub))
        self.srv = None
        self.n = n

    def start(self):
        self.srv = rdtest.Server([self.rd, "-d", "-c", self.conf],
                                 cwd=self.dir,
                                 log=os.path.join(self.dir, "log%d" %
                                                  time.monotonic_ns()))

    def kill(self):
        self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait(10)
        self.srv.stop()

    def queries(self):
        """Queries of the zone counted by this instance."""
        p = subprocess.run([self.ctl, "-s", self.sock, "--json", "zones"],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            raise RuntimeError("resolverctl zones: %s" % p.stderr)
        for z in json.loads(p.stdout)["zones"]:
            if z["zone"] == ZONE:
                return z["queries"]
        raise RuntimeError("resolverctl zones: no %s: %s" %
                           (ZONE, p.stdout))


def sync(zs, inst):
    return subprocess.run([zs, "-q", "-c", inst.conf], capture_output=True,
                          text=True, timeout=60)


def serial(zs, inst):
    p = subprocess.run([zs, "status", "--json", "-d", inst.db],
                       capture_output=True, text=True, timeout=30)
    for z in json.loads(p.stdout)["zones"]:
        if z["zone"] == ZONE:
            return z["serial"]
    return None


def counters(insts):
    time.sleep(1.3)  # the workers' counters reach the main thread each 1 s
    return [i.queries() for i in insts]


def metrics(web):
    with urllib.request.urlopen("http://%s/metrics" % web, timeout=5) as r:
        return r.read().decode()


def server_metric(text, what, server):
    """dnsdist_server_WHAT{server="SERVER",...} from /metrics, or None."""
    m = re.search(r'(?m)^dnsdist_server_%s\{server="%s"[^}]*\}\s+(\S+)' %
                  (what, re.escape(server)), text)
    return float(m.group(1)) if m else None


def prom_serial(inst):
    """resolverd_zone_serial of the zone from the instance's /metrics."""
    m = re.search(r'(?m)^resolverd_zone_serial\{zone="%s"\}\s+(\d+)' %
                  re.escape(ZONE), metrics(inst.http))
    return int(m.group(1)) if m else None


def run_batch(port, want, n):
    """n queries through dnsdist: the list of wrong answers."""
    bad = []
    for name in queries(want, n):
        rc, addrs = ask(port, name)
        exp = want[name]
        ok = (rc == 0 and addrs == exp) if exp else rc == 3
        if not ok:
            bad.append((name, rc, addrs))
    return bad


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    rd, zt, zs, ctl, ddconf = sys.argv[1:]
    dnsdist = shutil.which("dnsdist")
    if dnsdist is None:
        print("SKIP: dnsdist is not installed (apt-get install dnsdist)")
        return 77
    check = rdtest.Checks()
    d = rdtest.tmpdir("rd-scale-")
    insts, dd = [], None
    t0 = time.monotonic()
    try:
        # the feed
        sec, pub = os.path.join(d, "feed.sec"), os.path.join(d, "feed.pub")
        feed = os.path.join(d, "feed")
        subprocess.run([zt, "keygen", "-p", pub, "-s", sec], check=True,
                       capture_output=True)
        text1, want1 = zone_text(1)
        zfile = rdtest.write(d, "bl.zone", text1)
        p = subprocess.run([zt, "publish", "-s", sec, "-o", feed,
                            "%s:ip4set:%s" % (ZONE, zfile)],
                           capture_output=True, text=True)
        check("zonetool publish v1", p.returncode == 0, p.stderr)

        insts = [Instance(d, rd, ctl, n, feed, pub) for n in (1, 2)]
        p = subprocess.run([rd, "-n", "-c", insts[0].conf],
                           capture_output=True, text=True)
        if p.returncode != 0 and "mode" in p.stderr:
            print("SKIP: resolverd does not know feed zones:", p.stderr)
            return 77
        check("resolverd -n on a feed-zone config", p.returncode == 0,
              p.stderr)
        for i in insts:
            p = sync(zs, i)
            check("zonesync -c %s: v1" % i.conf, p.returncode == 0,
                  p.stdout + p.stderr)
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "nobody:", i.dir],
                               check=True)
            i.start()
        for i in insts:
            rdtest.wait_answer(i.port, "2.0.0.127." + ZONE, i.srv.proc)

        # dnsdist from the shipped config, its four settings replaced
        dport = rdtest.free_port()
        web = "127.0.0.1:%d" % rdtest.free_port()
        with open(ddconf) as f:
            conf = f.read()
        subst = {
            "listen": '"127.0.0.1:%d"' % dport,
            "backends": "{ %s }" % ", ".join(
                '"127.0.0.1:%d"' % i.port for i in insts),
            "testpoint": '"2.0.0.127.%s."' % ZONE,
            "web": '"%s"' % web,
        }
        for k, v in subst.items():
            conf, n = re.subn(r"(?m)^local %s = .*$" % k,
                              "local %s = %s" % (k, v), conf)
            check("dnsdist.conf: local %s set" % k, n == 1)
        ddfile = rdtest.write(d, "dnsdist.conf", conf)
        # the Prometheus side of the recipe (Debian prometheus: promtool)
        prom = os.path.join(os.path.dirname(ddconf), "..", "prometheus",
                            "prometheus.yml")
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "config", prom],
                               capture_output=True, text=True)
            check("promtool check config contrib/prometheus/prometheus.yml",
                  p.returncode == 0, p.stdout + p.stderr)
        else:
            print("note: no promtool (Debian prometheus), "
                  "prometheus.yml not checked")
        p = subprocess.run([dnsdist, "--check-config", "-C", ddfile],
                           capture_output=True, text=True)
        check("dnsdist --check-config", p.returncode == 0,
              p.stdout + p.stderr)
        dd = rdtest.Server([dnsdist, "--supervised", "--disable-syslog",
                            "-C", ddfile], cwd=d,
                           log=os.path.join(d, "dnsdist.log"))
        rdtest.wait_answer(dport, "2.0.0.127." + ZONE, dd.proc)
        time.sleep(1.5)  # both backends' first health checks

        # 1. spread
        before = counters(insts)
        bad = run_batch(dport, want1, NQ)
        after = counters(insts)
        share = [a - b for a, b in zip(after, before)]
        print("queries per backend for %d through dnsdist: %s "
              "(incl. ~1/s health checks each)" % (NQ, share))
        check("%d queries through dnsdist all answer correctly" % NQ,
              not bad, bad[:5])
        check("both backends take a share (each >= %d)" % (NQ // 4),
              all(s >= NQ // 4 for s in share) and sum(share) >= NQ,
              share)

        # 2. one instance killed
        dead, live = insts[1], insts[0]
        before_live = counters([live])[0]
        dead.kill()
        tkill = time.monotonic()
        fails, sent, last_fail = [], 0, None
        names = queries(want1, 10 * NQ)
        while time.monotonic() - tkill < DETECT_MAX + 1.0:
            name = names[sent % len(names)]
            sent += 1
            rc, addrs = ask(dport, name, timeout=0.3)
            exp = want1[name]
            if not ((rc == 0 and addrs == exp) if exp else rc == 3):
                last_fail = time.monotonic() - tkill
                fails.append((round(last_fail, 2), name, rc))
        window = last_fail if last_fail is not None else 0.0
        print("after the kill: %d queries in %.1f s, %d failed; last "
              "failure %.2f s after the kill (detection window)" %
              (sent, DETECT_MAX + 1.0, len(fails), window))
        check("failed queries only within %.1f s of the kill" % DETECT_MAX,
              window <= DETECT_MAX, fails[:10])
        sent_dead = server_metric(metrics(web), "queries", "resolverd2")
        bad = run_batch(dport, want1, NQ)
        check("after detection, %d queries all answer correctly" % NQ,
              not bad, bad[:5])
        m = metrics(web)
        check("dnsdist sent none of them to the killed backend "
              "(dnsdist_server_queries)",
              sent_dead is not None and
              server_metric(m, "queries", "resolverd2") == sent_dead,
              (sent_dead, server_metric(m, "queries", "resolverd2")))
        got = counters([live])[0] - before_live
        check("... all from the survivor (its counter grew >= %d)" %
              (sent + NQ - len(fails)), got >= sent + NQ - len(fails),
              got)
        st = [server_metric(m, "status", "resolverd%d" % n) for n in (1, 2)]
        check("dnsdist /metrics: resolverd1 up, resolverd2 down",
              st == [1, 0], st)

        # 3. v2 published, both databases synced: the same serial
        text2, want2 = zone_text(2)
        rdtest.write(d, "bl.zone", text2)
        p = subprocess.run([zt, "publish", "-s", sec, "-o", feed,
                            "%s:ip4set:%s" % (ZONE, zfile)],
                           capture_output=True, text=True)
        check("zonetool publish v2", p.returncode == 0, p.stderr)
        for i in insts:
            p = sync(zs, i)
            check("zonesync -c rd%d: v2" % i.n, p.returncode == 0,
                  p.stdout + p.stderr)
        serials = [serial(zs, i) for i in insts]
        print("serials after v2:", serials)
        check("both databases at the same serial 2 (zonesync status)",
              serials == [2, 2], serials)
        # what Prometheus sees (contrib/prometheus/prometheus.yml): the
        # survivor's resolverd_zone_serial follows the commit by itself
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ms = prom_serial(live)
            if ms == 2:
                break
            time.sleep(0.2)
        check("survivor's /metrics: resolverd_zone_serial 2", ms == 2, ms)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            bad = run_batch(dport, want2, 20)
            if not bad:
                break
            time.sleep(0.2)
        bad = run_batch(dport, want2, NQ)
        check("the survivor answers v2 through dnsdist", not bad, bad[:5])

        # 4. the killed instance restarts and rejoins
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody:", dead.dir], check=True)
        dead.start()
        rdtest.wait_answer(dead.port, "2.0.0.127." + ZONE, dead.srv.proc)
        r = ask(dead.port, "1.0.2.10." + ZONE)
        check("restarted instance answers v2 itself", r == (0, ["127.0.0.2"]),
              r)
        check("restarted instance's /metrics: resolverd_zone_serial 2",
              prom_serial(dead) == 2, prom_serial(dead))
        time.sleep(2.5)  # its next health check puts it back
        before = counters(insts)
        bad = run_batch(dport, want2, NQ)
        share = [a - b for a, b in zip(counters(insts), before)]
        print("queries per backend after the restart:", share)
        check("after the restart %d queries all answer correctly" % NQ,
              not bad, bad[:5])
        check("the restarted backend takes a share again (>= %d)" %
              (NQ // 4), share[1] >= NQ // 4, share)
    finally:
        if dd is not None:
            dd.stop()
        for i in insts:
            if i.srv is not None:
                i.srv.stop()
        if check.failed:
            for root, _, files in os.walk(d):
                for f in files:
                    if f.startswith("log") or f == "dnsdist.log":
                        with open(os.path.join(root, f)) as fh:
                            print("----", os.path.join(root, f))
                            print(fh.read()[-3000:])
        rdtest.cleanup(d)
    print("scale-out test took %.1f s" % (time.monotonic() - t0))
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
