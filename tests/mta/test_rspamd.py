# SPDX-License-Identifier: BSD-2-Clause
"""rspamd against resolverd: the shipped contrib/rspamd/local.d/rbl.conf
(zone names rewritten to test zones) and options.inc (nameserver aimed at
resolverd on a random loopback port), loaded by the Debian rspamd from
its stock /etc/rspamd/rspamd.conf with LOCAL_CONFDIR, DBDIR, RUNDIR and
LOGDIR in a temp dir and its workers on random loopback ports.  rspamc
scans a message as if sent from a given IP (--ip): from a listed IP
(203.0.113.7, TEST-NET-3) with a listed domain in a URL and as HELO it
must get RD_ZEN_XBL, RD_DBL_SPAM and RD_DBL_HELO; from an unlisted IP
with an unlisted URL and HELO none of them.

--unlisted serves zones that do NOT list the IP and the domain: then the
listed-message checks must fail (meson runs this with should_fail, the
negative control); any other failure exits 0 (an unexpected pass).

Nothing leaves the host: rspamd's only nameserver is resolverd, which
refuses every name outside its zones (so map downloads and other RBLs
fail quietly).  rspamd compiles its hyperscan databases at start: about
40 s on 2 cores.  On a failure (or with RSPAMD_DEBUG=1) the end of
rspamd's log is printed.

usage: test_rspamd.py [--unlisted] RESOLVERD CONTRIB_DIR"""
import os
import pwd
import shutil
import subprocess
import sys
import time

from mtatest import DBL, ZEN, rdtest
import mtatest

START_MAX = 180  # seconds for rspamd's first start (hyperscan compile)

MSG = """\
From: Sender <news@{dom}>
To: user@local.test
Subject: resolverd rspamd test
Date: Sun, 29 Nov 2026 02:59:58 +0000
Message-ID: <{mid}@{dom}>
Content-Type: text/plain

Hello, see http://www.{dom}/offer for the offer.
"""

UNLISTED_FAILS = {"listed IP 203.0.113.7 gets RD_ZEN_XBL",
                  "listed URL domain gets RD_DBL_SPAM",
                  "listed HELO name gets RD_DBL_HELO"}


def rspamc(port, ip, helo, msg, timeout=30):
    """rspamc symbols: (exit status, {symbol: options text}, output)."""
    p = subprocess.run(["rspamc", "-h", "127.0.0.1:%d" % port, "-t", "20",
                        "--ip", ip, "--helo", helo, "symbols"], input=msg,
                       capture_output=True, text=True, timeout=timeout)
    syms = {}
    for line in p.stdout.splitlines():
        if line.startswith("Symbol: "):
            rest = line[len("Symbol: "):]
            name = rest.split(" ", 1)[0]
            syms[name] = rest
    return p.returncode, syms, p.stdout + p.stderr


def main():
    args = mtatest.parse_args(__doc__)
    if args is None:
        return 2
    unlisted, resolverd, contrib = args
    for prog in ("rspamd", "rspamc"):
        if shutil.which(prog) is None:
            print("SKIP: %s is not installed (apt-get install rspamd)" % prog)
            return 77
    if not os.path.exists("/etc/rspamd/rspamd.conf"):
        print("SKIP: no /etc/rspamd/rspamd.conf")
        return 77
    check = rdtest.Checks()
    d = rdtest.tmpdir("rd-rspamd-")
    srv = rsp = None
    try:
        port = rdtest.free_port()
        if unlisted:
            ip4 = "203.0.113.99 :127.0.0.4:Other host\n"
            dom = "other-domain.net :127.0.1.2:Other domain\n"
        else:
            ip4 = "203.0.113.7 :127.0.0.4:Listed relay $\n"
            dom = "spammy-domain.net :127.0.1.2:Listed domain $\n"
        srv = mtatest.serve_zones(
            resolverd, d, port, "127.0.0.2 :127.0.0.2:Test point\n" + ip4,
            "test :127.0.1.2:Test point\n" + dom,
            query_log=os.path.join(d, "query.log"),
            user="nobody" if os.geteuid() == 0 else None)

        # rspamd: the stock configuration, our local.d
        local = os.path.join(d, "rspamd")
        ld = os.path.join(local, "local.d")
        os.makedirs(ld)
        with open(os.path.join(contrib, "rspamd", "local.d",
                               "rbl.conf")) as f:
            rbl = f.read()
        check("shipped rbl.conf names zen and dbl",
              '"zen.spamhaus.org"' in rbl and '"dbl.spamhaus.org"' in rbl)
        rbl = rbl.replace('"zen.spamhaus.org"', '"%s"' % ZEN)
        rbl = rbl.replace('"dbl.spamhaus.org"', '"%s"' % DBL)
        rdtest.write(ld, "rbl.conf", rbl)
        with open(os.path.join(contrib, "rspamd", "local.d",
                               "options.inc")) as f:
            opts = f.read()
        check("shipped options.inc names 127.0.0.1:53",
              '"127.0.0.1:53"' in opts)
        rdtest.write(ld, "options.inc",
                     opts.replace('"127.0.0.1:53"', '"127.0.0.1:%d"' % port))
        nport, cport = rdtest.free_port(), rdtest.free_port()
        rdtest.write(ld, "worker-normal.inc",
                     'bind_socket = "127.0.0.1:%d";\n' % nport)
        rdtest.write(ld, "worker-controller.inc",
                     'bind_socket = "127.0.0.1:%d";\n' % cport)
        rdtest.write(ld, "worker-proxy.inc", "enabled = false;\n")
        rdtest.write(ld, "worker-fuzzy.inc", "enabled = false;\n")
        rdtest.write(ld, "logging.inc",
                     'type = "console";\nlevel = "info";\n')
        argv = ["rspamd", "-f", "-c", "/etc/rspamd/rspamd.conf",
                "--var=LOCAL_CONFDIR=" + local]
        for var in ("DBDIR", "RUNDIR", "LOGDIR"):
            p = os.path.join(d, var.lower())
            os.makedirs(p)
            argv.append("--var=%s=%s" % (var, p))
            if os.geteuid() == 0:
                pw = pwd.getpwnam("_rspamd")
                os.chown(p, pw.pw_uid, pw.pw_gid)
        if os.geteuid() == 0:
            argv += ["-u", "_rspamd", "-g", "_rspamd"]
        p = subprocess.run(["rspamadm", argv[4], "configtest", "-c",
                            "/etc/rspamd/rspamd.conf"],
                           capture_output=True, text=True, timeout=120)
        check("rspamadm configtest accepts the shipped files",
              p.returncode == 0, (p.stdout + p.stderr)[-2000:])
        rsp = rdtest.Server(argv, cwd=d, log=os.path.join(d, "rspamd.log"))

        msg_listed = MSG.format(dom="spammy-domain.net", mid="a1")
        t0 = time.monotonic()
        while True:
            rc, syms, out = rspamc(nport, "203.0.113.7",
                                   "spammy-domain.net", msg_listed)
            if rc == 0 and syms:
                break
            if rsp.proc.poll() is not None or \
                    time.monotonic() - t0 > START_MAX:
                break
            time.sleep(1)
        print("rspamd answered after %.1f s" % (time.monotonic() - t0))
        check("rspamd scans a message", rc == 0 and syms, out[-2000:])
        check("listed IP 203.0.113.7 gets RD_ZEN_XBL",
              "RD_ZEN_XBL" in syms and "203.0.113.7" in syms["RD_ZEN_XBL"],
              sorted(syms))
        check("listed IP is not SBL (answer 127.0.0.4 only)",
              "RD_ZEN_SBL" not in syms, sorted(syms))
        check("listed URL domain gets RD_DBL_SPAM",
              "RD_DBL_SPAM" in syms and
              "spammy-domain.net" in syms["RD_DBL_SPAM"], sorted(syms))
        check("listed HELO name gets RD_DBL_HELO",
              "RD_DBL_HELO" in syms, sorted(syms))

        rc, syms, out = rspamc(nport, "203.0.113.8", "clean-domain.net",
                               MSG.format(dom="clean-domain.net", mid="b2"))
        check("unlisted message scanned", rc == 0 and syms, out[-2000:])
        check("unlisted IP and domain get no RD_ symbol",
              not any(s.startswith("RD_") for s in syms), sorted(syms))
        check("resolverd still running", srv.proc.poll() is None)
        with open(os.path.join(d, "query.log")) as f:
            qlog = f.read()
        if os.environ.get("RSPAMD_DEBUG"):
            print(qlog)
        if rsp.proc.poll() is not None:
            print("rspamd exited with %s" % rsp.proc.returncode)
        for n in ("7.113.0.203." + ZEN, "8.113.0.203." + ZEN,
                  "spammy-domain.net." + DBL, "clean-domain.net." + DBL):
            check("resolverd was asked " + n, n in qlog.lower())
        with open(os.path.join(d, "resolverd.log")) as f:
            log = f.read()
        check("resolverd log has no errors", "error" not in log.lower(),
              log[-2000:])
    finally:
        if rsp is not None:
            rsp.stop()
        if srv is not None:
            srv.stop()
        if (os.environ.get("RSPAMD_DEBUG") or check.failed) and \
                os.path.exists(os.path.join(d, "rspamd.log")):
            with open(os.path.join(d, "rspamd.log")) as f:
                print(f.read()[-5000:])
        rdtest.cleanup(d)
    rc = check.done()
    return mtatest.negative_control(check, UNLISTED_FAILS) if unlisted else rc


if __name__ == "__main__":
    sys.exit(mtatest.guarded(main, "--unlisted" in sys.argv[1:2]))
