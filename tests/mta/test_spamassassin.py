# SPDX-License-Identifier: BSD-2-Clause
"""SpamAssassin against resolverd: the shipped contrib/spamassassin/
resolverd.cf (zone names rewritten to test zones) with dns_server aimed at
resolverd on a random loopback port.  A message whose last external relay
(203.0.113.7, TEST-NET-3) and envelope sender domain (spammy.example.net:
SpamAssassin looks up only domains under a known TLD) are listed must hit
RCVD_IN_RD_XBL and RCVD_IN_RD_DBL_FROM; one from an unlisted relay and
sender must hit neither.

--unlisted serves zones that do NOT list the relay and the domain: then
the listed-message checks must fail (meson runs this with should_fail, the
negative control that shows the test can fail); any other failure exits 0
(an unexpected pass for meson).

No network test other than DNS runs: only the shipped rule file and the
TLD list are loaded (no stock rules), and dns_server names resolverd, which
refuses every name outside its zones, so nothing leaves the host.

usage: test_spamassassin.py [--unlisted] RESOLVERD CONTRIB_DIR"""
import glob
import os
import re
import shutil
import subprocess
import sys

from mtatest import DBL, ZEN, rdtest
import mtatest

MSG = """\
Return-Path: <{sender}>
X-Envelope-From: <{sender}>
Received: from relay.example.net (relay.example.net [{relay}])
\tby mx.local.test (Postfix) with ESMTP id 4AbCdE1234
\tfor <user@local.test>; Sun, 29 Nov 2026 03:00:00 +0000 (UTC)
From: Sender <{sender}>
To: user@local.test
Subject: resolverd test message
Date: Sun, 29 Nov 2026 02:59:58 +0000
Message-ID: <{mid}@example.net>

Hello, this is a test message for the DNSBL rules.
"""


# What the negative control (--unlisted) must fail, and nothing else.
UNLISTED_FAILS = {"listed relay 203.0.113.7 hits RCVD_IN_RD_XBL",
                  "listed sender domain hits RCVD_IN_RD_DBL_FROM"}


def spamassassin(d, msg):
    """Run spamassassin -t on msg; return (hits, debug log)."""
    argv = ["spamassassin", "--configpath=" + os.path.join(d, "rules"),
            "--siteconfigpath=" + os.path.join(d, "site"),
            "--prefspath=" + os.path.join(d, "user_prefs"),
            "-D", "dns,check,rules", "-t"]
    env = dict(os.environ, HOME=d)
    p = subprocess.run(argv, input=msg, capture_output=True, text=True,
                       timeout=120, env=env)
    # the debug line of the final verdict: "dbg: check: tests=A,B,C"
    tests = ""
    for line in p.stderr.splitlines():
        m = re.search(r"dbg: check: tests=(\S*)", line)
        if m:
            tests = m.group(1)
    hits = set(t for t in tests.split(",") if t)
    if os.environ.get("SA_DEBUG"):
        print(p.stdout, p.stderr)
    return hits, p.stdout, p.stderr


def main():
    args = mtatest.parse_args(__doc__)
    if args is None:
        return 2
    unlisted, resolverd, contrib = args
    if shutil.which("spamassassin") is None:
        print("SKIP: spamassassin is not installed")
        return 77
    check = rdtest.Checks()
    d = rdtest.tmpdir("rd-sa-")
    srv = None
    try:
        port = rdtest.free_port()
        if unlisted:
            ip4 = "203.0.113.99 :127.0.0.4:Other host\n"
            dom = "other.example.net :127.0.1.2:Other domain\n"
        else:
            ip4 = ("203.0.113.7 :127.0.0.4:Listed relay $\n"
                   "203.0.113.9 :127.0.0.2:Listed relay $\n")
            dom = "spammy.example.net :127.0.1.2:Listed domain $\n"
        # RFC 5782 test point, present in both cases
        srv = mtatest.serve_zones(
            resolverd, d, port, "127.0.0.2 :127.0.0.2:Test point\n" + ip4,
            "test :127.0.1.2:Test point\n" + dom)

        # SpamAssassin's configuration: TLD list + the shipped file, with
        # the test zones and dns_server on; the stock .pre files (plugins).
        rules = os.path.join(d, "rules")
        site = os.path.join(d, "site")
        os.makedirs(rules)
        os.makedirs(site)
        shutil.copy("/usr/share/spamassassin/20_aux_tlds.cf", rules)
        for pre in glob.glob("/etc/spamassassin/*.pre"):
            shutil.copy(pre, site)
        with open(os.path.join(contrib, "spamassassin", "resolverd.cf")) as f:
            cf = f.read()
        check("shipped cf has the dns_server line",
              "#dns_server 127.0.0.1:53" in cf)
        cf = cf.replace("#dns_server 127.0.0.1:53",
                        "dns_server 127.0.0.1:%d" % port)
        cf = cf.replace("zen.spamhaus.org.", ZEN + ".")
        cf = cf.replace("dbl.spamhaus.org.", DBL + ".")
        cf += "\nrequired_score 5.0\nuse_bayes 0\n"
        # the header an MTA adds with the SMTP MAIL FROM (check_rbl_envfrom)
        cf += "envelope_sender_header X-Envelope-From\n"
        rdtest.write(rules, "50_resolverd.cf", cf)
        rdtest.write(d, "user_prefs", "")

        lint = subprocess.run(
            ["spamassassin", "--configpath=" + rules,
             "--siteconfigpath=" + site, "--prefspath=" +
             os.path.join(d, "user_prefs"), "--lint"],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, HOME=d))
        check("spamassassin --lint accepts the shipped rules",
              lint.returncode == 0, lint.stderr[-2000:])

        hits, out, err = spamassassin(d, MSG.format(
            sender="bob@spammy.example.net", relay="203.0.113.7", mid="a1"))
        check("debug log: dns_server is resolverd",
              ("[127.0.0.1]:%d" % port) in err,
              "\n".join(l for l in err.splitlines() if "server" in l)[-1000:])
        check("debug log: ZEN asked for 7.113.0.203." + ZEN,
              ("7.113.0.203." + ZEN) in err)
        check("listed relay 203.0.113.7 hits RCVD_IN_RD_XBL",
              "RCVD_IN_RD_XBL" in hits, sorted(hits))
        check("listed relay is not SBL (answer 127.0.0.4 only)",
              "RCVD_IN_RD_SBL" not in hits, sorted(hits))
        check("debug log: DBL asked for spammy.example.net." + DBL,
              ("spammy.example.net." + DBL) in err)
        check("listed sender domain hits RCVD_IN_RD_DBL_FROM",
              "RCVD_IN_RD_DBL_FROM" in hits, sorted(hits))

        hits, out, err = spamassassin(d, MSG.format(
            sender="alice@clean.example.net", relay="203.0.113.8", mid="b2"))
        check("debug log: ZEN asked for 8.113.0.203." + ZEN,
              ("8.113.0.203." + ZEN) in err)
        check("unlisted relay 203.0.113.8 hits no RCVD_IN_RD_ rule",
              not any(h.startswith("RCVD_IN_RD_") for h in hits),
              sorted(hits))
        check("resolverd still running", srv.proc.poll() is None)
    finally:
        if srv is not None:
            srv.stop()
        rdtest.cleanup(d)
    rc = check.done()
    return mtatest.negative_control(check, UNLISTED_FAILS) if unlisted else rc


if __name__ == "__main__":
    sys.exit(mtatest.guarded(main, "--unlisted" in sys.argv[1:2]))
