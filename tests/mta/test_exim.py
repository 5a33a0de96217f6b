# SPDX-License-Identifier: BSD-2-Clause
"""Exim against resolverd: the shipped contrib/exim/dnsbl-acl.conf (zone
names rewritten to test zones) in a minimal Exim configuration, run with
"exim -bh ADDRESS" (a fake SMTP session that runs the ACLs, with real DNS
lookups, and no daemon) inside "unshare --net --mount": resolverd on
127.0.0.1:53 and a bind-mounted resolv.conf, as for the Postfix test.

127.0.0.3 (listed) is refused at RCPT with "listed at zen.rd.test";
127.0.0.5 (not listed) is accepted; a DBL-listed sender domain is refused.

Exim and Postfix conflict as Debian packages, so the exim binary may come
from "dpkg -x exim4-daemon-light_*.deb DIR": EXIM=DIR/usr/sbin/exim4.  A
bind-mounted copy of /etc/passwd and /etc/group supplies its Debian-exim
user when the system has none.  Skips (77) without exim or root.

usage: test_exim.py RESOLVERD CONTRIB_DIR"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import rdtest  # noqa: E402

ZEN = "zen.rd.test"
DBL = "dbl.rd.test"
INNER = "RD_EXIM_INNER"

MAIN = """\
primary_hostname = mx.local.test
spool_directory = {d}/spool
log_file_path = {d}/%slog
domainlist local_domains = local.test
hostlist relay_from_hosts = 127.0.0.1
acl_smtp_rcpt = acl_check_rcpt
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
"""


def exim_bh(exim, conf, addr, sender):
    dialog = ("EHLO client.example.net\r\nMAIL FROM:<%s>\r\n"
              "RCPT TO:<user@local.test>\r\nQUIT\r\n" % sender)
    p = subprocess.run([exim, "-C", conf, "-bh", addr], input=dialog,
                       capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


def inner(resolverd, contrib, exim):
    check = rdtest.Checks()
    d = rdtest.tmpdir("rd-exim-")
    srv = None
    mounts = []
    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        rdtest.write(d, "resolv.conf", "nameserver 127.0.0.1\n")
        subprocess.run(["mount", "--bind", os.path.join(d, "resolv.conf"),
                        "/etc/resolv.conf"], check=True)
        mounts.append("/etc/resolv.conf")
        try:
            import pwd
            pwd.getpwnam("Debian-exim")
        except KeyError:
            for f, line in (("passwd", "Debian-exim:x:64999:64999::"
                             "/nonexistent:/usr/sbin/nologin\n"),
                            ("group", "Debian-exim:x:64999:\n")):
                with open("/etc/" + f) as src:
                    rdtest.write(d, f, src.read() + line)
                subprocess.run(["mount", "--bind", os.path.join(d, f),
                                "/etc/" + f], check=True)
                mounts.append("/etc/" + f)

        rdtest.write(d, "zen.txt", "127.0.0.3 :127.0.0.4:Listed host $\n")
        rdtest.write(d, "dbl.txt",
                     "spammy.example.net :127.0.1.2:Domain listed\n")
        conf = rdtest.write(d, "rd.conf", (
            "[server]\nlisten = 127.0.0.1@53\nthreads = 1\n"
            "database = %s\nuser = nobody\n\n"
            "[zone %s]\ndataset = ip4set:zen.txt\n\n"
            "[zone %s]\ndataset = dnset:dbl.txt\n")
            % (os.path.join(d, "db"), ZEN, DBL))
        srv = rdtest.Server([resolverd, "-d", "-c", conf], cwd=d,
                            log=os.path.join(d, "resolverd.log"))
        rdtest.wait_answer(53, "3.0.0.127." + ZEN, srv.proc)

        os.makedirs(os.path.join(d, "spool"))
        with open(os.path.join(contrib, "exim", "dnsbl-acl.conf")) as f:
            acl = f.read()
        acl = acl.replace("zen.spamhaus.org", ZEN)
        acl = acl.replace("dbl.spamhaus.org", DBL)
        econf = rdtest.write(d, "exim.conf", MAIN.format(d=d) + acl)
        p = subprocess.run([exim, "-C", econf, "-bV"], capture_output=True,
                           text=True, timeout=30)
        check("exim -bV accepts the shipped ACL", p.returncode == 0,
              p.stdout[-800:] + p.stderr[-800:])

        out = exim_bh(exim, econf, "127.0.0.3", "a@sender.example.net")
        check("127.0.0.3 refused at RCPT, listed at " + ZEN,
              re.search(r"550 127\.0\.0\.3 is listed at " + re.escape(ZEN) +
                        r" \(127\.0\.0\.4\): Listed host 127\.0\.0\.3", out)
              is not None, out[-1500:])
        out = exim_bh(exim, econf, "127.0.0.5", "a@sender.example.net")
        check("127.0.0.5 (not listed) accepted at RCPT",
              re.search(r"250 Accepted", out) is not None, out[-1500:])
        out = exim_bh(exim, econf, "127.0.0.5", "bob@spammy.example.net")
        check("DBL-listed sender domain refused",
              re.search(r"550 sender domain spammy\.example\.net is listed "
                        r"at " + re.escape(DBL), out) is not None,
              out[-1500:])
        check("resolverd still running", srv.proc.poll() is None)
    finally:
        if srv is not None:
            srv.stop()
        for m in reversed(mounts):
            subprocess.run(["umount", m], capture_output=True)
        rdtest.cleanup(d)
    return check.done()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    resolverd, contrib = [os.path.abspath(a) for a in sys.argv[1:]]
    exim = os.environ.get("EXIM") or shutil.which("exim4") or \
        shutil.which("exim")
    if os.environ.get(INNER) == "1":
        return inner(resolverd, contrib, exim)
    if exim is None or not os.access(exim, os.X_OK):
        print("SKIP: no exim (set EXIM=path to an exim4 binary)")
        return 77
    for prog in ("unshare", "ip"):
        if shutil.which(prog) is None:
            print("SKIP: %s is not installed" % prog)
            return 77
    if os.geteuid() != 0:
        print("SKIP: needs root (unshare --net --mount, port 53)")
        return 77
    p = subprocess.run(["unshare", "--net", "--mount", "--fork",
                        sys.executable, os.path.abspath(__file__),
                        resolverd, contrib],
                       env=dict(os.environ, EXIM=exim,
                                **{INNER: "1"}), timeout=300)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
