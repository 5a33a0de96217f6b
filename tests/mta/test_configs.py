# SPDX-License-Identifier: BSD-2-Clause
"""Every resolverd configuration shipped in contrib/ passes
"resolverd -n -c FILE" as shipped (or fails only because a dataset file
is absent: -n checks every file); then a copy with its paths moved into a
temp dir (the dataset files generated there, small, of the right type;
listen on a random loopback port; database in the temp dir) is started
and every zone answers a name listed in its generated files.  A copy with
an unknown key must fail -n, naming file:line, so the check is real.

A directory argument stands for its *.conf files.

Feed zones (mode = feed) get a feed published with zonetool in the temp
dir and synced with zonesync -c before the start.

usage: test_configs.py [--tools ZONETOOL ZONESYNC] RESOLVERD CONF|DIR..."""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

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


def rewrite(text, d, port, upstream_port=None, rewrites=None, feeds=None):
    """The config with its paths and addresses moved into d, its
    upstreams replaced by 127.0.0.1@upstream_port, its feed zones' feed
    and keys by d/feed and d/feed.pub; returns (text, {zone: [probe
    names]}), fills rewrites with {zone: rewrite suffix} and feeds with
    {feed zone: []}."""
    out, probes, zone, nfile = [], {}, None, 0
    if rewrites is None:
        rewrites = {}
    if feeds is None:
        feeds = {}
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
        if k == "feed" and zone is not None:
            out.append("feed = " + os.path.join(d, "feed"))
            feeds.setdefault(zone, [])
            continue
        if k == "key" and zone is not None:
            out.append("key = " + os.path.join(d, "feed.pub"))
            continue
        if k == "upstream" and upstream_port:
            out.append("upstream = 127.0.0.1@%d" % upstream_port)
            continue
        if k == "rewrite" and zone is not None:
            rewrites[zone] = v.lower().rstrip(".")
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


class Upstream:
    """A UDP DNS server on 127.0.0.1 standing in for a forward zone's
    upstream: 2.0.0.127.* has A 127.0.0.2, anything else NXDOMAIN; the
    names asked are kept in .asked."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.asked = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            try:
                q = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - junk: no answer
                continue
            qname = q.question[0].name
            self.asked.append(qname.to_text().lower())
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            if qname.to_text().startswith("2.0.0.127."):
                r.answer.append(dns.rrset.from_text(qname, 60, "IN", "A",
                                                    "127.0.0.2"))
            else:
                r.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(r.to_wire(), peer)

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def dataset_broken(text, d, what):
    """text with the last dataset line's first file replaced by an absent
    file or a directory: (text, line number, path), or (None,) * 3 when
    there is no dataset."""
    lines = text.splitlines()
    idx = [i for i, l in enumerate(lines)
           if re.match(r"\s*dataset\s*=", l)]
    if not idx:
        return None, None, None
    i = idx[-1]
    path = os.path.join(d, "no-such-file.txt")
    if what == "directory":
        path = os.path.join(d, "a-directory")
        os.makedirs(path, exist_ok=True)
    typ, files = lines[i].split("=", 1)[1].strip().split(":", 1)
    lines[i] = "dataset = %s:%s" % (typ, ",".join(
        [path] + files.split(",")[1:]))
    return "\n".join(lines) + "\n", i + 1, path


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    args = sys.argv[1:]
    tools = None
    if args[0] == "--tools":
        tools, args = args[1:3], args[3:]
    rd = args[0]
    check = rdtest.Checks()
    confs = []
    for a in args[1:]:
        if os.path.isdir(a):
            confs += sorted(glob.glob(os.path.join(a, "*.conf")))
        else:
            confs.append(a)
    check("configurations found", len(confs) > 0)
    # resolverd (and -n) reads datasets as its unprivileged user: check
    # copies that user can read, whatever the checkout's permissions
    # (a clone in /root is private)
    copies = {}

    def copy_of(conf):
        src = os.path.dirname(conf)
        if src not in copies:
            dst = os.path.join(rdtest.tmpdir("rd-src-"), "c")
            shutil.copytree(src, dst)
            for dp, _, fs in os.walk(dst):
                os.chmod(dp, 0o755)
                for f in fs:
                    os.chmod(os.path.join(dp, f), 0o644)
            copies[src] = dst
        return os.path.join(copies[src], os.path.basename(conf))

    try:
        return check_all(check, rd, tools, [copy_of(os.path.abspath(c))
                                            for c in confs])
    finally:
        for c in copies.values():
            rdtest.cleanup(os.path.dirname(c))


def check_all(check, rd, tools, confs):
    for conf in confs:
        name = os.path.basename(conf)
        p = subprocess.run([rd, "-n", "-c", conf], capture_output=True,
                           text=True)
        # as shipped, the only acceptable failure is a dataset file that
        # is not on this machine (/var/lib/rbldns/...): -n checks them
        missing = re.fullmatch(r"resolverd: %s:\d+: (dataset|key|feed): "
                               r"/\S+: No such file or directory\n" %
                               re.escape(conf), p.stderr)
        check("%s: resolverd -n as shipped (OK, or only its absent "
              "dataset, key or feed files)" % name,
              p.returncode == 0 or (p.returncode == 1 and missing),
              p.stdout + p.stderr)
        d = rdtest.tmpdir("rd-conf-")
        srv = up = None
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
            up = Upstream()
            fwd = {}  # forward zone: the suffix asked upstream
            feeds = {}  # feed zone: probes
            new, probes = rewrite(text, d, port, up.port, fwd, feeds)
            for z in fwd:
                probes.pop(z, None)
            if feeds:
                # a signed feed of the feed zones, published in d
                if tools is None:
                    check("%s: feed zones need --tools ZONETOOL ZONESYNC" %
                          name, False)
                    continue
                zt, zs = tools
                p = subprocess.run([zt, "keygen", "-p",
                                    os.path.join(d, "feed.pub"), "-s",
                                    os.path.join(d, "feed.sec")],
                                   capture_output=True, text=True)
                specs = []
                for n, z in enumerate(sorted(feeds), 200):
                    f = rdtest.write(d, "feed-%s.txt" % z,
                                     "192.0.2.%d :127.0.0.2:feed\n" % n)
                    specs.append("%s:ip4set:%s" % (z, f))
                    probes[z] = ["%d.2.0.192.%s" % (n, z)]
                p = subprocess.run([zt, "publish", "-s",
                                    os.path.join(d, "feed.sec"), "-o",
                                    os.path.join(d, "feed")] + specs,
                                   capture_output=True, text=True)
                check("%s: zonetool publish of the feed zones" % name,
                      p.returncode == 0, p.stderr)
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
            for what, why in (("absent", "No such file or directory"),
                              ("directory", "Is a directory")):
                text2, ln, path = dataset_broken(new, d, what)
                if text2 is None:
                    continue  # forward zones only: no dataset to break
                bad = rdtest.write(d, "bad-%s-%s" % (what, name), text2)
                p = subprocess.run([rd, "-n", "-c", bad],
                                   capture_output=True, text=True)
                want = "%s:%d: dataset: %s: %s" % (bad, ln, path, why)
                check("%s: -n: %s dataset file: exit 1, %r" %
                      (name, what, want),
                      p.returncode == 1 and want in p.stderr, p.stderr)
            check("%s: has zones" % name, len(probes) + len(fwd) > 0)
            if feeds:
                p = subprocess.run([tools[1], "-c", cp],
                                   capture_output=True, text=True)
                check("%s: zonesync -c syncs the feed zones %s" %
                      (name, ", ".join(sorted(feeds))), p.returncode == 0,
                      p.stdout + p.stderr)
                if os.geteuid() == 0:
                    subprocess.run(["chown", "-R", "nobody:", d], check=True)
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
            for zone, suffix in sorted(fwd.items()):
                # the test point through the forward zone: the upstream
                # is asked the rewritten name, the client gets its answer
                # and never sees the suffix (the DQS key)
                n = "2.0.0.127." + zone
                if zone == sorted(fwd)[0]:
                    rdtest.wait_answer(port, n, srv.proc)
                r = rdtest.query(port, n)
                check("%s: %s forwarded: 127.0.0.2" % (name, n),
                      r.rcode() == 0 and "127.0.0.2" in r.to_text() and
                      suffix not in r.to_text().lower(), r.to_text())
                check("%s: %s: upstream asked 2.0.0.127.%s" %
                      (name, zone, suffix),
                      "2.0.0.127.%s." % suffix in up.asked, up.asked)
                r = rdtest.query(port, "9.9.9.9." + zone)
                check("%s: %s: unlisted name NXDOMAIN" % (name, zone),
                      r.rcode() == 3, r.to_text())
        finally:
            if up is not None:
                up.stop()
            if srv is not None:
                srv.stop()
            rdtest.cleanup(d)
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
