# SPDX-License-Identifier: BSD-2-Clause
"""Postfix against resolverd, in a private network and mount namespace.

Postfix asks the system resolver, which only talks to port 53.  So the
test re-runs itself under "unshare --net --mount": a network namespace
with only loopback, a private mount namespace in which a resolv.conf
saying "nameserver 127.0.0.1" is bind-mounted over /etc/resolv.conf (the
host's file is untouched), resolverd on 127.0.0.1:53, and a private
Postfix instance ("postfix -c DIR", queue, data and log in the temp dir;
the system Postfix is not touched).  The DNSBL lines come from the shipped
contrib/postfix/main.cf.resolverd with the zone names rewritten.

Checks (swaks as the client):
  * smtpd (port 2525): a client bound to 127.0.0.2, the RFC 5782 test
    point, gets "554 ... Client host [127.0.0.2] blocked using zen.rd.test"
    at RCPT with the zone's TXT; so does 127.0.0.3, listed in the zone; 127.0.0.5 (not listed) gets 250 for a local recipient, and
    resolverd's query log shows that Postfix did ask 5.0.0.127.zen.rd.test;
    a sender domain in the DBL zone is rejected with reject_rhsbl_sender.
  * postscreen (port 2526): 127.0.0.2 is rejected with "550 ... blocked
    using zen.rd.test" after its DNSBL rank reaches the threshold.

--unlisted serves a zen zone that lists neither 127.0.0.2 nor 127.0.0.3:
the listed-client checks must then fail (meson runs it with should_fail;
any other failure exits 0, an unexpected pass for meson).
(resolverd still answers 127.0.0.2, the RFC 5782 test point, with its own
TXT "RFC 5782 test point", so the 554 for it stays; its TXT check and
the 127.0.0.3 check fail.)

Needs root (unshare, port 53, Postfix); skips (77) otherwise or when
postfix, swaks or unshare are missing.

usage: test_postfix.py [--unlisted] RESOLVERD CONTRIB_DIR"""
import os
import re
import shutil
import subprocess
import sys
import time

from mtatest import DBL, ZEN, rdtest
import mtatest

INNER = "RD_POSTFIX_INNER"

MAIN_CF = """\
compatibility_level = 3.6
myhostname = mx.local.test
mydomain = local.test
myorigin = $myhostname
queue_directory = {d}/spool
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
mynetworks = 127.0.0.1/32
mydestination = local.test
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtputf8_enable = no
smtpd_banner = $myhostname ESMTP
alias_maps =
alias_database =
biff = no
postscreen_greet_wait = 2s
postscreen_access_list = permit_mynetworks
"""

MASTER_CF = """\
2525      inet  n       -       n       -       -       smtpd
2526      inet  n       -       n       -       1       postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


# What the negative control (--unlisted) must fail, and nothing else.
UNLISTED_FAILS = {"smtpd: the TXT record is in the reply",
                  "smtpd: listed 127.0.0.3 rejected with 554 naming " + ZEN}


def swaks(port, source, sender="a@sender.example.net"):
    p = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % port, "--local-interface",
         source, "--from", sender, "--to", "user@local.test",
         "--helo", "client.example.net", "--quit-after", "RCPT",
         "--timeout", "30"],
        capture_output=True, text=True, timeout=90)
    return p.stdout + p.stderr


def inner(resolverd, contrib, unlisted):
    check = rdtest.Checks()
    d = rdtest.tmpdir("rd-postfix-")
    os.chmod(d, 0o755)
    srv = None
    pfdir = os.path.join(d, "pf")
    started = False
    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        rdtest.write(d, "resolv.conf", "nameserver 127.0.0.1\n")
        subprocess.run(["mount", "--bind", os.path.join(d, "resolv.conf"),
                        "/etc/resolv.conf"], check=True)

        # resolverd answers the RFC 5782 test point 127.0.0.2 in every
        # ip4 zone, from the file or synthesized ("RFC 5782 test point"):
        # the negative control therefore drops the file's own TXT for it
        # and 127.0.0.3, an ordinary listed client.
        zen = "127.0.0.9 :127.0.0.9:Some other host\n"
        if not unlisted:
            zen += ("127.0.0.2 :127.0.0.2:Listed in test zone, see $\n"
                    "127.0.0.3 :127.0.0.4:Listed in test zone, see $\n")
        qlog = os.path.join(d, "query.log")
        srv = mtatest.serve_zones(
            resolverd, d, 53, zen,
            "test :127.0.1.2:Test point\n"
            "spammy.example.net :127.0.1.2:Domain listed\n",
            query_log=qlog)

        # The private Postfix instance.
        os.makedirs(pfdir)
        for sub in ("spool", "data"):
            os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, "data"), "postfix", "postfix")
        with open(os.path.join(contrib, "postfix",
                               "main.cf.resolverd")) as f:
            snippet = f.read()
        snippet = snippet.replace("zen.spamhaus.org", ZEN)
        snippet = snippet.replace("dbl.spamhaus.org", DBL)
        rdtest.write(pfdir, "main.cf", MAIN_CF.format(d=d) + snippet)
        rdtest.write(pfdir, "master.cf", MASTER_CF)
        p = subprocess.run(["postfix", "-c", pfdir, "check"],
                           capture_output=True, text=True)
        check("postfix check accepts the shipped lines", p.returncode == 0,
              p.stderr)
        p = subprocess.run(["postfix", "-c", pfdir, "start"],
                           capture_output=True, text=True)
        started = p.returncode == 0
        check("postfix -c DIR start", started, p.stdout + p.stderr)
        for _ in range(100):
            out = subprocess.run(["ss", "-ltn"], capture_output=True,
                                 text=True).stdout
            if ":2525 " in out and ":2526 " in out:
                break
            time.sleep(0.1)

        out = swaks(2525, "127.0.0.2")
        check("smtpd: 127.0.0.2 rejected with 554 naming " + ZEN,
              re.search(r"<\*\* +554 5\.7\.1 .*Client host \[127\.0\.0\.2\] "
                        r"blocked using " + re.escape(ZEN), out) is not None,
              out[-1500:])
        check("smtpd: the TXT record is in the reply",
              "Listed in test zone, see 127.0.0.2" in out, out[-800:])

        out = swaks(2525, "127.0.0.3")
        check("smtpd: listed 127.0.0.3 rejected with 554 naming " + ZEN,
              re.search(r"<\*\* +554 5\.7\.1 .*Client host \[127\.0\.0\.3\] "
                        r"blocked using " + re.escape(ZEN) +
                        r"; Listed in test zone, see 127\.0\.0\.3", out)
              is not None, out[-1500:])

        out = swaks(2525, "127.0.0.5")
        check("smtpd: unlisted 127.0.0.5 gets 250 at RCPT",
              re.search(r"-> +RCPT TO:<user@local\.test>\s+<- +250 ", out)
              is not None, out[-1500:])
        with open(qlog) as f:
            ql = f.read()
        check("resolverd was asked 5.0.0.127." + ZEN,
              ("5.0.0.127." + ZEN).lower() in ql.lower(), ql[-800:])

        out = swaks(2525, "127.0.0.5", sender="bob@spammy.example.net")
        check("smtpd: DBL-listed sender domain rejected with 554",
              re.search(r"<\*\* +554 5\.7\.1 .*Sender address "
                        r"\[?bob@spammy\.example\.net\]? blocked using " +
                        re.escape(DBL), out) is not None, out[-1500:])

        out = swaks(2526, "127.0.0.2")
        check("postscreen: 127.0.0.2 rejected (550 ... blocked using "
              + ZEN + ")",
              re.search(r"550 5\.7\.1 .*blocked using " + re.escape(ZEN),
                        out) is not None, out[-1500:])
        time.sleep(0.5)
        with open(os.path.join(d, "maillog")) as f:
            ml = f.read()
        check("postscreen log: listed by domain " + ZEN,
              re.search(r"addr 127\.0\.0\.2 listed by domain " +
                        re.escape(ZEN), ml) is not None, ml[-1500:])
        check("resolverd still running", srv.proc.poll() is None)
    finally:
        if started:
            subprocess.run(["postfix", "-c", pfdir, "stop"],
                           capture_output=True)
            # postfix stop signals its master; wait for it to go
            pid = os.path.join(d, "spool", "pid", "master.pid")
            for _ in range(100):
                if not os.path.exists(pid):
                    break
                time.sleep(0.1)
        if srv is not None:
            srv.stop()
        subprocess.run(["umount", "/etc/resolv.conf"], capture_output=True)
        rdtest.cleanup(d)
    rc = check.done()
    return mtatest.negative_control(check, UNLISTED_FAILS) if unlisted else rc


def main():
    args = mtatest.parse_args(__doc__)
    if args is None:
        return 2
    unlisted, resolverd, contrib = args
    if os.environ.get(INNER) == "1":
        return mtatest.guarded(lambda: inner(resolverd, contrib, unlisted),
                               unlisted)
    for prog in ("postfix", "swaks", "unshare", "ip", "ss"):
        if shutil.which(prog) is None:
            print("SKIP: %s is not installed" % prog)
            return 77
    if os.geteuid() != 0:
        print("SKIP: needs root (unshare --net --mount, port 53, postfix)")
        return 77
    argv = ["unshare", "--net", "--mount", "--fork", sys.executable,
            os.path.abspath(__file__)]
    if unlisted:
        argv.append("--unlisted")
    argv += [resolverd, contrib]
    # --propagation private (unshare's default) keeps the bind mount of
    # resolv.conf inside the new mount namespace.
    p = subprocess.run(argv, env=dict(os.environ, **{INNER: "1"}),
                       timeout=600)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
