# SPDX-License-Identifier: BSD-2-Clause
"""meson install --destdir: install the build into a temp dir and check
that the binaries, man pages, systemd units, sysusers file, example
configurations, MTA snippets, dnsdist and Prometheus configurations, the
migration and scale-out guides land where they belong; the installed
resolverd checks the installed demo configuration and every installed
example (resolverd -n: OK, or only a site file such as a dataset or key
is absent), and the man pages render.

usage: test_install.py BUILDDIR PREFIX BINDIR SBINDIR MANDIR DATADIR
                       UNITDIR SYSUSERSDIR MAN(yes|no)"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import rdtest  # noqa: E402


def main():
    if len(sys.argv) != 10:
        print(__doc__)
        return 2
    (build, prefix, bindir, sbindir, mandir, datadir, unitdir, sysusersdir,
     man) = sys.argv[1:]
    check = rdtest.Checks()
    dest = tempfile.mkdtemp(prefix="rd-install-")
    # resolverd -n reads the datasets as the user it serves as (nobody)
    os.chmod(dest, 0o755)

    def at(*parts):
        # PREFIX/DIR/... under dest; DIR may be absolute (unit dirs)
        p = os.path.join(prefix, *parts)
        return os.path.join(dest, p.lstrip("/"))

    try:
        p = subprocess.run(["meson", "install", "-C", build, "--no-rebuild",
                            "--destdir", dest, "--quiet"],
                           capture_output=True, text=True, timeout=300)
        check("meson install --destdir", p.returncode == 0,
              p.stdout[-2000:] + p.stderr[-2000:])
        rd = at(sbindir, "resolverd")
        for f in [rd] + [at(bindir, t) for t in
                         ("zonetool", "zonesync", "resolverctl")]:
            check("binary " + os.path.relpath(f, dest),
                  os.path.isfile(f) and os.access(f, os.X_OK))
        units = [at(unitdir, u) for u in
                 ("resolverd.service", "resolverd-rbldnsd.service",
                  "zonesync.service", "zonesync.timer")]
        for u in units:
            check("unit " + os.path.relpath(u, dest), os.path.isfile(u))
        # systemd-analyze verify: every directive known, the timer's unit
        # there; the binaries' paths pointed at the installed ones
        if shutil.which("systemd-analyze") and all(map(os.path.isfile,
                                                       units)):
            vd = os.path.join(dest, "verify")
            os.mkdir(vd)
            for u in units:
                with open(u) as f:
                    t = f.read()
                # the units name where meson installed the binaries
                rd_at = os.path.join(prefix, sbindir, "resolverd")
                zs_at = os.path.join(prefix, bindir, "zonesync")
                if "ExecStart" in t:
                    check("%s names %s" % (os.path.basename(u),
                                           os.path.dirname(rd_at)),
                          rd_at in t or zs_at in t, t)
                t = t.replace(rd_at, rd)
                t = t.replace(zs_at, at(bindir, "zonesync"))
                rdtest.write(vd, os.path.basename(u), t)
            r = subprocess.run(["systemd-analyze", "verify"] +
                               [os.path.join(vd, os.path.basename(u))
                                for u in units],
                               capture_output=True, text=True, cwd=vd)
            check("systemd-analyze verify of the installed units",
                  r.returncode == 0 and "Unknown" not in r.stderr,
                  r.stdout + r.stderr)
        check("sysusers.d/resolverd.conf",
              os.path.isfile(at(sysusersdir, "resolverd.conf")))
        doc = at(datadir, "doc", "resolverd")
        ex = os.path.join(doc, "examples")
        for f in ("spamhaus-datafeed.conf", "dqs.conf", "feed-mirror.conf",
                  "dnsdist/dnsdist.conf", "prometheus/prometheus.yml",
                  "postfix/main.cf.resolverd",
                  "exim/dnsbl-acl.conf", "rspamd/local.d/rbl.conf",
                  "rspamd/local.d/options.inc", "spamassassin/resolverd.cf",
                  "cron/resolverd-zonesync", "logrotate/resolverd",
                  "demo/demo.conf",
                  "demo/bl.demo.zone", "demo/dbl.demo.zone"):
            check("example " + f, os.path.isfile(os.path.join(ex, f)))
        for f in ("migrating-from-rbldnsd.md", "scale-out.md"):
            check(f, os.path.isfile(os.path.join(doc, f)))
        if man == "yes":
            for page, sec in (("resolverd.8", "8"),
                              ("resolverd.conf.5", "5"),
                              ("zonetool.1", "1"),
                              ("zonesync.1", "1"),
                              ("resolverctl.8", "8")):
                f = at(mandir, "man" + sec, page)
                ok = os.path.isfile(f)
                check("man page man%s/%s" % (sec, page), ok)
                if ok and shutil.which("man"):
                    r = subprocess.run(["man", "-l", "-P", "cat", f],
                                       capture_output=True, text=True,
                                       env=dict(os.environ, MANWIDTH="80"))
                    name = page.rsplit(".", 1)[0]
                    check("man -l %s renders NAME and SYNOPSIS" % page,
                          r.returncode == 0 and "NAME" in r.stdout and
                          "SYNOPSIS" in r.stdout and name in r.stdout,
                          r.stderr)
        else:
            print("note: scdoc not found at setup, man pages not built")
        if os.access(rd, os.X_OK):
            confs = [os.path.join(ex, "demo", "demo.conf")]
            confs += [os.path.join(ex, f) for f in sorted(os.listdir(ex))
                      if f.endswith(".conf")]
            for c in confs:
                r = subprocess.run([rd, "-n", "-c", c], capture_output=True,
                                   text=True)
                # the examples name files of the site that uses them
                # (/var/lib/rbldns/..., keys): -n reports the first
                # absent one, and nothing else may be wrong
                absent = re.fullmatch(
                    r"resolverd: %s:\d+: (dataset|key|feed): /\S+: No "
                    r"such file or directory\n" % re.escape(c), r.stderr)
                demo = c.endswith("demo.conf")
                check("installed resolverd -n -c %s (%s)" %
                      (os.path.relpath(c, ex),
                       "OK" if demo else "OK or only absent site files"),
                      r.returncode == 0 or
                      (not demo and r.returncode == 1 and absent),
                      r.stdout + r.stderr)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
