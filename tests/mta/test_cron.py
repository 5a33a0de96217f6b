# SPDX-License-Identifier: BSD-2-Clause
"""The cron file contrib/cron/resolverd-zonesync: its one job line is
well-formed (five time fields, a user, a command), and its command, with
the feed source, key and database moved to a local signed feed in a temp
dir (published here with zonetool for the zones the line names), runs
under /bin/sh: exit 0, nothing printed (cron mails any output), and every
zone synced to serial 1.  The random delay is kept but shortened.

usage: test_cron.py ZONETOOL ZONESYNC CRONFILE"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import rdtest  # noqa: E402


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    zt, zs, cronfile = sys.argv[1:]
    check = rdtest.Checks()
    with open(cronfile) as f:
        lines = [l.rstrip("\n") for l in f
                 if l.strip() and not l.lstrip().startswith("#")]
    env = [l for l in lines if re.match(r"^[A-Z_]+=", l)]
    jobs = [l for l in lines if l not in env]
    check("one job line", len(jobs) == 1, jobs)
    fields = jobs[0].split(None, 6)
    check("five time fields, user, command", len(fields) == 7, fields)
    check("time fields are cron syntax",
          all(re.match(r"^[\d*/,-]+$", x) for x in fields[:5]), fields[:5])
    cmd = fields[6]
    check("random delay with shuf", "sleep $(shuf -i 0-60 -n 1);" in cmd)
    m = re.search(r"zonesync (.*)$", cmd)
    check("runs zonesync", m is not None, cmd)
    args = m.group(1).split()
    opts = {}
    rest = []
    i = 0
    while i < len(args):
        if args[i] in ("-d", "-k"):
            opts[args[i]] = args[i + 1]
            i += 2
        elif args[i].startswith("-"):
            opts[args[i]] = True
            i += 1
        else:
            rest.append(args[i])
            i += 1
    check("-q (quiet: cron mails only errors)", opts.get("-q") is True)
    check("-d and -k given", "-d" in opts and "-k" in opts, opts)
    source, zones = rest[0], rest[1:]
    check("a source and zones", source.startswith("rsync://") and zones,
          rest)

    d = rdtest.tmpdir("rd-cron-")
    try:
        pub, sec = os.path.join(d, "feed.pub"), os.path.join(d, "feed.sec")
        feed, db = os.path.join(d, "feed"), os.path.join(d, "db")
        p = subprocess.run([zt, "keygen", "-p", pub, "-s", sec],
                           capture_output=True, text=True)
        check("keygen", p.returncode == 0, p.stderr)
        specs = []
        for n, z in enumerate(zones):
            f = rdtest.write(d, "z%d.txt" % n, "192.0.2.%d\n" % (n + 1))
            specs.append("%s:ip4set:%s" % (z, f))
        p = subprocess.run([zt, "publish", "-s", sec, "-o", feed] + specs,
                           capture_output=True, text=True)
        check("publish", p.returncode == 0, p.stderr)
        run = cmd.replace("sleep $(shuf -i 0-60 -n 1);",
                          "sleep $(shuf -i 0-1 -n 1);")
        run = run.replace(source, feed).replace(opts["-d"], db)
        run = run.replace(opts["-k"], pub)
        run = re.sub(r"\bzonesync\b", zs, run)
        p = subprocess.run(["/bin/sh", "-c", run], capture_output=True,
                           text=True, timeout=60,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        check("the job's command exits 0", p.returncode == 0,
              run + "\n" + p.stderr)
        check("and prints nothing", p.stdout == "" and p.stderr == "",
              p.stdout + p.stderr)
        p = subprocess.run([zs, "status", "-d", db], capture_output=True,
                           text=True)
        for z in zones:
            check("%s synced to serial 1" % z,
                  re.search(r"(?m)^%s: serial 1, .* ok" % re.escape(z),
                            p.stdout) is not None, p.stdout + p.stderr)
    finally:
        rdtest.cleanup(d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
