# SPDX-License-Identifier: BSD-2-Clause
"""Seeded data and query files for tests/bench/bench_dns.py.

Three rbldnsd-format datasets with the shapes real DNSBLs have, and a
query mix whose every name is classified (listed or not) by an
independent model of rbldnsd's semantics (REFERENCE-rbldnsd.md 4.1, 4.4,
4.7), so the benchmark can check answers per class:

  ip4set   /32s (most), small a.b.c.x-y ranges, /24s in both spellings,
           a few /16s, exclusions inside listed /24s and /16s, several
           values (inline :A:TXT, :A: without TXT, default lines);
  dnset    plain names, "*.base" and ".base" wildcards, exclusions under
           wildcards, several values;
  ip6trie  /128s, /64s (both spellings), /56s, /48s, /128 exclusions
           inside listed prefixes, several values.
"""
import ipaddress
import os

ZONE4, ZONEDN, ZONE6 = "ip.bench", "dn.bench", "ip6.bench"
ZONES = {"ip4": ZONE4, "dn": ZONEDN, "ip6": ZONE6}
HEADER = ("$SOA 3600 ns1.bench. hostmaster.bench. 2026112901 600 300 "
          "86400 300\n"
          "$NS 3600 ns1.bench ns2.bench\n")
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
TLDS = ["com", "net", "org", "info", "biz", "ru", "de", "xyz", "top", "cn"]


def _write_lines(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(lines))
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)  # atomic, as both servers want


def ip4_text(a):
    return "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)


def ip4_qname(a):
    return "%d.%d.%d.%d.%s" % (a & 255, a >> 8 & 255, a >> 16 & 255, a >> 24,
                               ZONE4)


def ip6_qname(a):
    h = "%032x" % a
    return ".".join(reversed(h)) + "." + ZONE6


def _rand_ip4(rng):
    while True:
        a = rng.getrandbits(32)
        if (a >> 24) not in (0, 10, 127) and a >> 28 < 14:
            return a


class Ip4Set:
    """The model: which address is listed, per rbldnsd's ip4set levels
    (/32, then /24, then /16; the first level with an entry decides and
    an exclusion at that level means not listed)."""

    def __init__(self):
        self.s32, self.x32 = set(), set()
        self.s24, self.s16 = set(), set()
        self.singles = []  # the /32 lines, for the re-import change
        self.listed_pool = []  # listed addresses to query
        self.excluded = []

    def listed(self, a):
        if a in self.s32 or a in self.x32:
            return a in self.s32 and a not in self.x32
        return (a >> 8) in self.s24 or (a >> 16) in self.s16


def ip4_value(rng):
    r = rng.random()
    if r < 0.70:
        return ""
    if r < 0.85:
        return " :127.0.0.3:"  # A only: TXT queries get NODATA
    if r < 0.95:
        return " :127.0.0.4:Dynamic address $, see https://bl.example/?$"
    return " Listed for spam from $"  # default A, own TXT


def gen_ip4set(path, n, rng, pool_max=200000):
    """Write an ip4set of n entry lines to path; return its Ip4Set."""
    m = Ip4Set()
    lines = [HEADER, ":127.0.0.2:Listed, see https://bl.example/?ip=$\n",
             "127.0.0.2\n"]
    nets = []  # listed /24 and /16 bases (address ints), for exclusions
    k = 1
    while k < n:
        if k % 100000 == 0:
            lines.append(":127.0.0.%d:Listed (%d), see https://bl.example/"
                         "?ip=$\n" % (2 + k // 100000 % 3, k // 100000))
        r = rng.random()
        if r < 0.80 or (r >= 0.951 and not nets):
            a = _rand_ip4(rng)
            if a in m.s32 or a in m.x32:
                continue
            m.s32.add(a)
            m.singles.append(len(lines))
            lines.append(ip4_text(a) + ip4_value(rng) + "\n")
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(a)
        elif r < 0.85:
            a = _rand_ip4(rng) & ~255
            lo = rng.randint(0, 240)
            hi = lo + rng.randint(1, 15)
            base = a | lo
            if any(a | x in m.s32 or a | x in m.x32
                   for x in range(lo, hi + 1)):
                continue
            for x in range(lo, hi + 1):
                m.s32.add(a | x)
            lines.append("%s-%d%s\n" % (ip4_text(base), hi, ip4_value(rng)))
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(a | rng.randint(lo, hi))
        elif r < 0.95:
            a = _rand_ip4(rng) & ~255
            if (a >> 8) in m.s24:
                continue
            m.s24.add(a >> 8)
            nets.append((a, 8))
            if rng.random() < 0.5:
                txt = "%s/24" % ip4_text(a)
            else:
                txt = "%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255)
            lines.append(txt + ip4_value(rng) + "\n")
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(a | rng.randint(0, 255))
        elif r < 0.951:
            a = _rand_ip4(rng) & ~0xffff
            if (a >> 16) in m.s16:
                continue
            m.s16.add(a >> 16)
            nets.append((a, 16))
            lines.append("%s/16%s\n" % (ip4_text(a), ip4_value(rng)))
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(a | rng.getrandbits(16))
        else:
            base, bits = nets[rng.randrange(len(nets))]
            a = base | rng.getrandbits(bits)
            if a in m.s32 or a in m.x32:
                continue
            m.x32.add(a)
            m.excluded.append(a)
            lines.append("!%s\n" % ip4_text(a))
        k += 1
    _write_lines(path, lines)
    m.lines = lines
    m.listed_pool = [a for a in m.listed_pool if m.listed(a)]
    return m


def ip4_unlisted(m, rng):
    if m.excluded and rng.random() < 0.05:
        return m.excluded[rng.randrange(len(m.excluded))]  # near miss
    while True:
        a = _rand_ip4(rng)
        if not m.listed(a):
            return a


def change_ip4set(m, path, frac, rng):
    """Rewrite path with frac of the /32 lines replaced by new /32s
    (atomic rename).  Returns (removed address, added address) to probe:
    the first must turn not listed, the second listed."""
    lines = list(m.lines)
    idx = rng.sample(m.singles, int(len(m.lines) * frac))
    removed = added = None
    new = set()
    for i in idx:
        old = lines[i].split()[0]
        while True:
            a = _rand_ip4(rng)
            if not m.listed(a) and a not in new:
                break
        new.add(a)
        lines[i] = ip4_text(a) + "\n"
        if removed is None:
            removed = int(ipaddress.IPv4Address(old))
            added = a
    _write_lines(path, lines)
    return removed, added, len(idx)


def _label(rng, lo, hi):
    k = rng.randint(lo, hi)
    v = rng.getrandbits(6 * k)
    return "".join(B36[(v >> (6 * i)) % 36] for i in range(k))


class DnSet:
    """plain: name -> excluded; wild: bases of "*.base" and ".base"."""

    def __init__(self):
        self.plain, self.wild = {}, set()
        self.listed_pool, self.near = [], []
        # names with an entry below them and none of their own: empty
        # non-terminals, NXDOMAIN in rbldnsd and NODATA in resolverd (a
        # documented improvement); kept out of the query mix
        self.ents = set()

    def add_ents(self, name):
        labs = name.split(".")
        for i in range(1, len(labs)):
            self.ents.add(".".join(labs[i:]))

    def listed(self, name):
        if name in self.plain:
            return not self.plain[name]
        labs = name.split(".")
        for i in range(1, len(labs)):
            if ".".join(labs[i:]) in self.wild:
                return True
        return False


def gen_dnset(path, n, rng, pool_max=200000):
    m = DnSet()
    lines = [HEADER, ":127.0.1.2:Listed domain $, see https://bl.example/\n"]
    bases = []
    k = 0
    while k < n:
        r = rng.random()
        val = ""
        v = rng.random()
        if v < 0.10:
            val = " :127.0.1.3:"
        elif v < 0.20:
            val = " :127.0.1.4:Spam domain $"
        dom = "%s.%s" % (_label(rng, 5, 14), rng.choice(TLDS))
        if r < 0.75:
            name = dom if rng.random() < 0.7 else _label(rng, 3, 8) + "." + dom
            if name in m.plain or m.listed(name):
                continue
            m.plain[name] = False
            m.add_ents(name)
            lines.append(name + val + "\n")
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(name)
            m.near.append("www." + name)  # not listed: plain is exact
        elif r < 0.95:
            if dom in m.wild or dom in m.plain:
                continue
            m.wild.add(dom)
            bases.append(dom)
            if r < 0.85:
                lines.append("*." + dom + val + "\n")
                m.add_ents("x." + dom)  # "*.dom" does not list dom
            else:
                m.add_ents(dom)
                m.plain[dom] = False
                lines.append("." + dom + val + "\n")
                if len(m.listed_pool) < pool_max:
                    m.listed_pool.append(dom)
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(_label(rng, 2, 6) + "." + dom)
        else:
            if not bases:
                continue
            name = _label(rng, 3, 8) + "." + bases[rng.randrange(len(bases))]
            if name in m.plain:
                continue
            m.plain[name] = True
            m.add_ents(name)
            lines.append("!" + name + "\n")
            m.near.append(name)
        k += 1
    _write_lines(path, lines)
    m.near = [x for x in m.near if not m.listed(x) and x not in m.ents]
    m.listed_pool = [x for x in m.listed_pool if m.listed(x)]
    return m


def dn_unlisted(m, rng):
    if m.near and rng.random() < 0.2:
        return m.near[rng.randrange(len(m.near))]
    while True:
        name = "%s.%s" % (_label(rng, 5, 14), rng.choice(TLDS))
        if rng.random() < 0.3:
            name = "mail." + name
        if not m.listed(name) and name not in m.ents:
            return name


class Ip6Trie:
    LENS = (128, 64, 56, 48)

    def __init__(self):
        self.p = {L: set() for L in self.LENS}
        self.x128 = set()
        self.listed_pool, self.excluded = [], []

    def listed(self, a):
        if a in self.x128:
            return False
        for L in self.LENS:
            if (a >> (128 - L)) in self.p[L]:
                return True
        return False


def _rand_ip6(rng):
    return 0x2 << 124 | rng.getrandbits(124)


def gen_ip6trie(path, n, rng, pool_max=100000):
    m = Ip6Trie()
    lines = [HEADER, ":127.0.2.2:Listed IPv6 $\n"]
    nets = []
    k = 0
    while k < n:
        r = rng.random()
        val = " :127.0.2.3:" if rng.random() < 0.1 else ""
        if r < 0.90 or not nets:
            L = 128 if r < 0.30 else 64 if r < 0.65 else 56 if r < 0.75 \
                else 48
            a = _rand_ip6(rng) >> (128 - L) << (128 - L)
            key = a >> (128 - L)
            if key in m.p[L] or a in m.x128:
                continue
            m.p[L].add(key)
            if L == 128:
                txt = str(ipaddress.IPv6Address(a))
            elif L == 64 and rng.random() < 0.5:
                txt = ":".join("%x" % (a >> s & 0xffff)
                               for s in (112, 96, 80, 64))
            else:
                txt = str(ipaddress.IPv6Network((a, L)))
                nets.append((a, L))
            lines.append(txt + val + "\n")
            if len(m.listed_pool) < pool_max:
                m.listed_pool.append(a | rng.getrandbits(128 - L)
                                     if L < 128 else a)
        else:
            base, L = nets[rng.randrange(len(nets))]
            a = base | rng.getrandbits(128 - L)
            if a in m.x128 or a in m.p[128]:
                continue
            m.x128.add(a)
            m.excluded.append(a)
            lines.append("!%s\n" % ipaddress.IPv6Address(a))
        k += 1
    _write_lines(path, lines)
    m.listed_pool = [a for a in m.listed_pool if m.listed(a)]
    return m


def ip6_unlisted(m, rng):
    if m.excluded and rng.random() < 0.05:
        return m.excluded[rng.randrange(len(m.excluded))]
    while True:
        a = _rand_ip6(rng)
        if not m.listed(a):
            return a


def gen_queries(m4, mdn, m6, nq, rng, listed_frac=0.2,
                weights=(0.5, 0.3, 0.2), txt_frac=0.25):
    """nq (qname, qtype, class) with class "ZONE/listed|not/TYPE"."""
    out = []
    for _ in range(nq):
        r = rng.random()
        listed = rng.random() < listed_frac
        qtype = "TXT" if rng.random() < txt_frac else "A"
        if r < weights[0]:
            z = "ip4"
            a = (m4.listed_pool[rng.randrange(len(m4.listed_pool))]
                 if listed else ip4_unlisted(m4, rng))
            name = ip4_qname(a)
        elif r < weights[0] + weights[1]:
            z = "dn"
            name = (mdn.listed_pool[rng.randrange(len(mdn.listed_pool))]
                    if listed else dn_unlisted(mdn, rng)) + "." + ZONEDN
        else:
            z = "ip6"
            a = (m6.listed_pool[rng.randrange(len(m6.listed_pool))]
                 if listed else ip6_unlisted(m6, rng))
            name = ip6_qname(a)
        out.append((name, qtype,
                    "%s/%s/%s" % (z, "listed" if listed else "not", qtype)))
    return out


def write_queries(path, queries):
    _write_lines(path, ["%s %s\n" % (q[0], q[1]) for q in queries])
