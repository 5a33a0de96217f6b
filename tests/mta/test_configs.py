# SPDX-License-Identifier: BSD-2-Clause
"""Every resolverd configuration shipped in contrib/ passes
"resolverd -n -c FILE" as shipped; then a copy with its paths moved into a
temp dir (the dataset files generated there, small, of the right type;
listen on a random loopback port; database in the temp dir) is started
and every zone answers a name listed in its generated files.  A copy with
an unknown key must fail -n, naming file:line, so the check is real.

A directory argument stands for its *.conf files.

usage: test_configs.py RESOLVERD CONF|DIR..."""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import rdtest  # noqa: E402

# per dataset type: file content and the name under the zone it lists;
# {n} is the file's number, so each file of a zone is probed on its own
SAMPLE = {
    "ip4set": ("192.0.2.{n} :127.0.0.2:sample\n", "{n}.2.0.192"),
    "ip4tset": ("192.0.2.{n}\n", "{n}.2.0.192"),
    "ip4trie": ("192.0.2.{n}\n", "{n}.2.0.192"),
    "dnset": ("sample{n}.example.net :127.0.1.2:sample\n",
              "sample{n}.example.net"),
    "ip6tset": ("2001:db8::1\n", None),
    "ip6trie": ("2001:db8::1\n", None),
    "generic": ("sample{n} A 127.0.0.2\n", "sample{n}"),
    "acl": ("127.0.0.1\n", None),
    "combined": (None, None),
}


def rewrite(text, d, port):
    """The config with its paths and addresses moved into d; returns
    (text, {zone: [probe names]})."""
    out, probes, zone, nfile = [], {}, None, 0
    listen_done = False
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"\[\s*zone\s+(\S+)\s*\]", s)
        if m:
            zone = m.group(1)
            probes.setdefault(zone, [])
        key = re.match(r"([a-z-]+)\s*=\s*(.*)$", s)
        if s.startswith("[") or key is None:
            out.append(line)
            continue
        k, v = key.group(1), key.group(2).split(";")[0].strip()
        if k == "listen":
            if not listen_done:
                out.append("listen = 127.0.0.1@%d" % port)
                listen_done = True
            continue
        if k == "database":
            out.append("database = " + os.path.join(d, "db"))
            continue
        if k in ("user", "control", "query-log"):
            continue
        if k == "dataset" and zone is not None:
            typ, files = v.split(":", 1)
            new = []
            for f in files.split(","):
                nfile += 1
                p = os.path.join(d, "f%d-%s" % (nfile, os.path.basename(f)))
                content, probe = SAMPLE[typ]
                rdtest.write(d, os.path.basename(p),
                             (content or "").format(n=nfile))
                new.append(p)
                if probe:
                    probes[zone].append(probe.format(n=nfile) + "." + zone)
            out.append("dataset = %s:%s" % (typ, ",".join(new)))
            continue
        out.append(line)
    if os.geteuid() == 0:
        out.insert(next(i for i, l in enumerate(out)
                        if l.strip() == "[server]") + 1, "user = nobody")
    return "\n".join(out) + "\n", probes


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    rd = sys.argv[1]
    check = rdtest.Checks()
    confs = []
    for a in sys.argv[2:]:
        if os.path.isdir(a):
            confs += sorted(glob.glob(os.path.join(a, "*.conf")))
        else:
            confs.append(a)
    check("configurations found", len(confs) > 0)
    for conf in [os.path.abspath(c) for c in confs]:
        name = os.path.basename(conf)
        p = subprocess.run([rd, "-n", "-c", conf], capture_output=True,
                           text=True)
        check("%s: resolverd -n as shipped" % name, p.returncode == 0,
              p.stdout + p.stderr)
        d = rdtest.tmpdir("rd-conf-")
        srv = None
        try:
            with open(conf) as f:
                text = f.read()
            # relative dataset paths are relative to the file: make them
            # absolute before moving the file
            base = os.path.dirname(os.path.abspath(conf))
            text = re.sub(r"(?m)^(\s*dataset\s*=\s*[a-z0-9]+:)(?!/)(\S+)",
                          lambda m: m.group(1) + ",".join(
                              os.path.join(base, x)
                              for x in m.group(2).split(",")), text)
            port = rdtest.free_port()
            new, probes = rewrite(text, d, port)
            cp = rdtest.write(d, name, new)
            p = subprocess.run([rd, "-n", "-c", cp], capture_output=True,
                               text=True)
            check("%s: resolverd -n on the temp-dir copy" % name,
                  p.returncode == 0, p.stdout + p.stderr + new)
            bad = rdtest.write(d, "bad-" + name,
                               new.replace("[server]\n",
                                           "[server]\nno-such-key = 1\n", 1))
            p = subprocess.run([rd, "-n", "-c", bad], capture_output=True,
                               text=True)
            line = new.splitlines().index("[server]") + 2
            check("%s: an unknown key fails -n with file:line" % name,
                  p.returncode != 0 and
                  ("bad-%s:%d:" % (name, line)) in p.stderr,
                  p.stderr)
            check("%s: has zones" % name, len(probes) > 0)
            srv = rdtest.Server([rd, "-d", "-c", cp], cwd=d,
                                log=os.path.join(d, "resolverd.log"))
            first = next((n for v in probes.values() for n in v), None)
            if first:
                rdtest.wait_answer(port, first, srv.proc)
            for zone, names in sorted(probes.items()):
                if not names:
                    continue  # forward zones: no files, no upstream here
                for n in names:
                    r = rdtest.query(port, n)
                    check("%s: %s answered (listed)" % (name, n),
                          r.rcode() == 0 and len(r.answer) > 0, r.to_text())
                r = rdtest.query(port, "nonexistent-probe." + zone)
                check("%s: %s: unlisted name NXDOMAIN" % (name, zone),
                      r.rcode() == 3, r.to_text())
        finally:
            if srv is not None:
                srv.stop()
            rdtest.cleanup(d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
