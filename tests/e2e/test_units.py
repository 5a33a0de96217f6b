#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The systemd units in contrib/systemd: systemd-analyze verify accepts
them, every directive has a comment, they name the paths a --prefix=/usr
build installs to (sbindir, statedir, user), and their command lines,
run with the built binary on a free port, start a server that sends
READY=1 and answers.

usage: test_units.py RESOLVERD UNITDIR SBINDIR STATEDIR USER
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode

RD, UNITDIR, SBINDIR, STATEDIR, USER = sys.argv[1:6]
ROOT = os.geteuid() == 0
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdtest  # noqa: E402

check = rdtest.Checks()
free_port = rdtest.free_port


def directives(text):
    """(key, value, commented) for every directive of a unit."""
    out = []
    prev = ""
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            k, _, v = line.partition("=")
            out.append((k.strip(), v.strip(), prev.startswith("#")))
        prev = line
    return out


def installed_binary():
    sbin = SBINDIR if SBINDIR.startswith("/") else "/usr/" + SBINDIR
    return os.path.join(sbin, "resolverd")


class Server:
    """argv started with a notify socket of ours, stopped by its PID."""

    def __init__(self, argv, d, what):
        self.what = what
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(d, "notify"))
        env.pop("RESOLVERD_STATEDIR", None)
        if "-r" in argv:
            # LeakSanitizer (the ASan build) needs /proc at exit
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
                ":detect_leaks=0"
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(os.path.join(d, "notify"))
        ns.settimeout(20)
        self.logpath = os.path.join(d, "server.log")
        self.log = open(self.logpath, "w")
        self.p = subprocess.Popen(argv, env=env, stdout=self.log,
                                  stderr=subprocess.STDOUT)
        self.ready = False
        end = time.monotonic() + 20
        try:
            while time.monotonic() < end and not self.ready:
                m = ns.recv(4096).decode()
                self.ready = "READY=1" in m.split("\n")
        except socket.timeout:
            pass
        ns.close()
        check("%s: READY=1" % what, self.ready, open(self.logpath).read())

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.log.close()
        check("%s: exits 0 on SIGTERM" % self.what, self.p.returncode == 0,
              (self.p.returncode, open(self.logpath).read()))


def listed(port, name):
    q = dns.message.make_query(name, "A")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
    except Exception as e:
        return e
    return r.rcode() == dns.rcode.NOERROR and len(r.answer) > 0


def exec_line(units, unit, key):
    return shlex.split([v for k, v, _ in units[unit] if k == key][0])


def main():
    names = ("resolverd.service", "resolverd-rbldnsd.service")
    texts = {n: open(os.path.join(UNITDIR, n)).read() for n in names}
    units = {n: directives(t) for n, t in texts.items()}
    d = tempfile.mkdtemp(prefix="rd-units-")
    os.chmod(d, 0o755)
    try:
        for n in names:
            bad = [k for k, _, c in units[n] if not c]
            check("%s: every directive is commented" % n, not bad, bad)
            kv = dict((k, v) for k, v, _ in units[n])
            check("%s: Type=notify" % n, kv.get("Type") == "notify")
            for k in ("ExecStart", "ExecStartPre"):
                if k in kv:
                    b = shlex.split(kv[k])[0]
                    check("%s: %s runs %s" % (n, k, installed_binary()),
                          b == installed_binary(), b)
            if shutil.which("systemd-analyze") is None:
                print("skip systemd-analyze verify: not installed")
                continue
            # verify wants the binary to exist: point it at the build
            vd = os.path.join(d, "verify")
            os.makedirs(vd, exist_ok=True)
            with open(os.path.join(vd, n), "w") as f:
                f.write(texts[n].replace(installed_binary(), RD))
            p = subprocess.run(["systemd-analyze", "verify",
                                os.path.join(vd, n)],
                               capture_output=True, text=True)
            check("%s: systemd-analyze verify" % n,
                  p.returncode == 0 and p.stderr.strip() == "",
                  p.stderr)

        kv = dict((k, v) for k, v, _ in units["resolverd.service"])
        check("resolverd.service: StateDirectory is the build's statedir",
              "/var/lib/" + kv.get("StateDirectory", "") == STATEDIR,
              (kv.get("StateDirectory"), STATEDIR))
        check("resolverd.service: User is the build's user",
              kv.get("User") == USER, (kv.get("User"), USER))

        # the config-mode command lines, with a config of ours
        port = free_port()
        cd = os.path.join(d, "cfg")
        os.mkdir(cd)
        os.chmod(cd, 0o777)
        with open(os.path.join(cd, "bl.txt"), "w") as f:
            f.write("127.0.0.2 :2:listed\n")
        conf = os.path.join(cd, "resolverd.conf")
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1@%d\ndatabase = %s\n"
                    "%s[zone bl.example.org]\ndataset = ip4set:bl.txt\n" % (
                        port, os.path.join(cd, "db"),
                        "user = nobody\n" if ROOT else ""))
        pre = exec_line(units, "resolverd.service", "ExecStartPre")
        pre = [RD if a == installed_binary() else
               conf if a.endswith("resolverd.conf") else a for a in pre]
        p = subprocess.run(pre, capture_output=True, text=True)
        check("resolverd.service: ExecStartPre checks the config",
              p.returncode == 0 and "configuration OK" in p.stderr, p)
        argv = exec_line(units, "resolverd.service", "ExecStart")
        argv = [RD if a == installed_binary() else
                conf if a.endswith("resolverd.conf") else a for a in argv]
        srv = Server(argv, cd, "resolverd.service")
        try:
            if srv.ready:
                check("resolverd.service: answers",
                      listed(port, "2.0.0.127.bl.example.org") is True)
        finally:
            srv.stop()

        # the drop-in command line: our port, chroot and user
        if not ROOT:
            print("skip the drop-in command line: -r needs root")
        else:
            rd = os.path.join(d, "rbldns")
            os.mkdir(rd)
            os.chmod(rd, 0o755)
            with open(os.path.join(rd, "bl.txt"), "w") as f:
                f.write("127.0.0.2 :2:listed\n")
            with open(os.path.join(rd, "dbl.txt"), "w") as f:
                f.write("bad.example\n")
            port = free_port()
            argv = exec_line(units, "resolverd-rbldnsd.service", "ExecStart")
            check("resolverd-rbldnsd.service: -r /var/lib/rbldns",
                  argv[argv.index("-r") + 1] == "/var/lib/rbldns", argv)
            argv[0] = RD
            argv[argv.index("-r") + 1] = rd
            argv[argv.index("-b") + 1] = "127.0.0.1/%d" % port
            argv[argv.index("-u") + 1] = "nobody"
            srv = Server(argv, d, "resolverd-rbldnsd.service")
            try:
                if srv.ready:
                    check("resolverd-rbldnsd.service: answers",
                          listed(port, "2.0.0.127.bl.example.org") is True
                          and listed(port, "bad.example.dbl.example.org")
                          is True)
                    check("resolverd-rbldnsd.service: mirror in the chroot",
                          os.path.exists(os.path.join(
                              rd, ".resolverd-db", "data.mdb")))
            finally:
                srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
