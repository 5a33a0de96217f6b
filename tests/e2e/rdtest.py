# SPDX-License-Identifier: BSD-2-Clause
"""Shared helpers for the e2e tests: temp dirs, free ports, starting and
stopping resolverd (drop-in mode), rbldnsd and unbound by PID, and a
minimal check/report harness.  Every server listens on 127.0.0.1 only."""
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype


class Checks:
    def __init__(self):
        self.failed = []
        self.count = 0

    def __call__(self, name, cond, detail=""):
        self.count += 1
        if cond:
            print("ok  ", name)
        else:
            print("FAIL", name, detail)
            self.failed.append(name)

    def done(self):
        print("%d checks, %d failed" % (self.count, len(self.failed)))
        return 1 if self.failed else 0


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def tmpdir(prefix):
    """A temp dir that the unprivileged server user can read and write."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    return d


_copies = {}


def runnable_by_anyone(path):
    """A copy of the program path that any user can execute: a build tree
    under a private home directory (a clone in /root) is not reachable
    for the unprivileged users some tests run programs as."""
    if path not in _copies:
        d = tempfile.mkdtemp(prefix="rd-bin-")
        os.chmod(d, 0o755)
        c = os.path.join(d, os.path.basename(path))
        shutil.copy2(path, c)
        os.chmod(c, 0o755)
        atexit.register(shutil.rmtree, d, True)
        _copies[path] = c
    return _copies[path]


def as_user(argv, user):
    """argv run as user (setpriv: its uid and gid, no groups), the
    program copied where that user can run it."""
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--clear-groups", "--", runnable_by_anyone(argv[0])] + \
        list(argv[1:])


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    return p


def query(port, name, rdtype="A", tcp=False, payload=None, timeout=2.0,
          source=None, want_dnssec=False):
    q = dns.message.make_query(name, rdtype, use_edns=payload is not None,
                               payload=payload or 512,
                               want_dnssec=want_dnssec)
    q.flags |= dns.flags.RD
    fn = dns.query.tcp if tcp else dns.query.udp
    kw = {"source": source} if source else {}
    return fn(q, "127.0.0.1", port=port, timeout=timeout, **kw)


def wait_answer(port, name, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            query(port, name, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("server did not answer within %ss" % seconds)


class Server:
    """A process started with argv, stopped by its PID."""

    def __init__(self, argv, env=None, cwd=None, log=None):
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log is not subprocess.DEVNULL:
            self.log.close()
        return self.proc.returncode


def resolverd_dropin(resolverd, d, port, specs, extra=()):
    env = dict(os.environ, RESOLVERD_STATEDIR=os.path.join(d, "state"))
    argv = [resolverd, "-n", "-u", "nobody", "-b", "127.0.0.1/%d" % port]
    argv += list(extra) + list(specs)
    return Server(argv, env=env, cwd=d, log=os.path.join(d, "resolverd.log"))


def rbldnsd(d, port, specs, extra=()):
    argv = ["/usr/sbin/rbldnsd", "-n", "-u", "nobody", "-b",
            "127.0.0.1/%d" % port] + list(extra) + list(specs)
    return Server(argv, cwd=d, log=os.path.join(d, "rbldnsd.log"))


def rsyncd(d, modules, extra=""):
    """A real rsync daemon on 127.0.0.1 serving modules ({name: path},
    read only, ".lock" excluded) as the current user, its log in
    d/rsyncd.log; extra: more global rsyncd.conf lines.  (Server, port)."""
    port = free_port()
    conf = os.path.join(d, "rsyncd.conf")
    with open(conf, "w") as f:
        # log file here, not --log-file: with that, the module's
        # processes log nothing (rsync 3.x)
        f.write("use chroot = no\nuid = %d\ngid = %d\n"
                "pid file = %s/rsyncd.pid\nlog file = %s/rsyncd.log\n%s"
                % (os.getuid(), os.getgid(), d, d, extra))
        for name, path in modules.items():
            f.write("[%s]\npath = %s\nread only = yes\nexclude = .lock\n"
                    % (name, path))
    s = Server(["rsync", "--daemon", "--no-detach", "--config=" + conf,
                "--address=127.0.0.1", "--port=%d" % port])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return s, port
        except OSError:
            time.sleep(0.05)
    s.stop()
    raise RuntimeError("rsync daemon did not start")


def cleanup(d):
    shutil.rmtree(d, ignore_errors=True)
