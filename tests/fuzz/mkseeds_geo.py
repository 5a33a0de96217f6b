#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Seeds for the fuzz target "geo" (fuzz_geo.c): small files of every
format zones/geo.c reads, with the selector byte fuzz_geo.c expects
(low bits: format 0 auto 1 dbip 2 ip2location 3 maxmind; 4 strict;
8 gzip; 0x10 gzip cut short; 0x20 no warning callback) and files
separated by NUL bytes.

    mkseeds_geo.py OUTDIR
"""
import hashlib
import os
import random
import sys

AUTO, DBIP, IP2L, MM = 0, 1, 2, 3
STRICT, GZ, CUT, NOWARN = 4, 8, 0x10, 0x20

DBIP4 = (b"1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,CN\n"
         b"1.0.4.0,1.0.7.255,AU\n1.0.8.0,1.0.15.255,CN\n"
         b"223.255.255.0,223.255.255.255,AU\n")
DBIP6 = (b"2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n"
         b"::ffff:1.2.3.0,::ffff:1.2.3.255,US\n"
         b"::,::fffe:ffff:ffff,ZZ\n"
         b"2c0f:fff0::,2c0f:ffff:ffff:ffff:ffff:ffff:ffff:ffff,NG\n")
IP2L4 = (b'"ip_from","ip_to","country_code","country_name"\n'
         b'"0","16777215","-","-"\n'
         b'"16777216","16777471","AU","Australia"\n'
         b'"16777472","16778239","CN","China"\n'
         b'"16778240","16779263","AU","Australia"\n')
IP2L6 = (b'"0","281470681743359","-","-"\n'
         b'"281470681743360","281470698520575","-","-"\n'
         b'"281470698520576","281470698520831","US","United States"\n'
         b'"42540528726795050063891204319802818560",'
         b'"42540528806023212578155541913346768895","JP","Japan"\n'
         b'"340282366920938463463374607431768211455",'
         b'"340282366920938463463374607431768211455","ZZ","x, ""q"""\n')
MMB = (b"network,geoname_id,registered_country_geoname_id,"
       b"represented_country_geoname_id,is_anonymous_proxy,"
       b"is_satellite_provider,is_anycast\n"
       b"1.0.0.0/24,2077456,2077456,,0,0,\n"
       b"1.0.1.0/24,1814991,1814991,,0,0,\n"
       b"1.0.2.0/23,,1814991,,0,0,\n"
       b"2.0.0.0/8,6255148,,,0,0,\n"
       b"2001:200::/32,1861060,1861060,,0,0,\n"
       b"::ffff:5.0.0.0/104,99,99,,0,0,\n")
MML = (b"geoname_id,locale_code,continent_code,continent_name,"
       b"country_iso_code,country_name,is_in_european_union\n"
       b"2077456,en,OC,Oceania,AU,Australia,0\n"
       b"1814991,en,AS,Asia,CN,China,0\n"
       b"1861060,en,AS,Asia,JP,Japan,0\n"
       b'6255148,en,EU,Europe,,,0\n'
       b'99,en,EU,Europe,de,"Germany, ""DE""",1\n'
       b"1814991,en,AS,Asia,TW,dup,0\n")
BAD = (b"1.0.0.0,1.0.0.255,AU\n1.0.0.300,1.0.1.0,CN\n1.0.2.0,1.0.1.0,CN\n"
       b"1.0.3.0,1.0.3.255,CHN\n1.0.4.0,::1,AU\n\"1.0.5.0,x\n1.0.6.0\n"
       b"\xef\xbb\xbf# comment\n\n1.0.0.128,1.0.1.127,NZ\n"
       b"0.0.0.0,255.255.255.255,US\n")


def rnd_dbip(r):
    out, a = [], r.randrange(1 << 24)
    for _ in range(r.randrange(2, 30)):
        b = a + r.randrange(1, 4096)
        if b > 0xffffffff:
            break
        out.append("%d.%d.%d.%d,%d.%d.%d.%d,%s\n" % (
            a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255,
            b >> 24, b >> 16 & 255, b >> 8 & 255, b & 255,
            r.choice(["AU", "CN", "us", "-", ""])))
        a = b + r.choice([1, 1, 1, 0, -5, 100])
    return "".join(out).encode()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = [
        (AUTO, [DBIP4 + DBIP6]), (DBIP, [DBIP4]), (DBIP | STRICT, [DBIP6]),
        (AUTO, [IP2L4]), (IP2L, [IP2L6]), (IP2L | STRICT, [IP2L4]),
        (AUTO, [MMB, MML]), (MM, [MML, MMB]), (MM | STRICT, [MMB, MML]),
        (AUTO, [MMB]), (AUTO, [DBIP4, IP2L4, MMB]), (AUTO, [BAD]),
        (STRICT, [BAD]), (NOWARN, [BAD, DBIP4]), (GZ, [DBIP4, IP2L6]),
        (GZ | CUT, [IP2L4]), (GZ | MM, [MMB, MML]), (IP2L, [DBIP4]),
        (AUTO, [b""]), (AUTO, [b"network,x\n"]), (AUTO, [b"geoname_id\n"]),
    ]
    r = random.Random(7)
    for i in range(6):
        seeds.append((r.choice([AUTO, DBIP, STRICT]),
                      [rnd_dbip(r) for _ in range(r.randrange(1, 4))]))
    for sel, files in seeds:
        data = bytes([0x40 | sel]) + b"\0".join(files)
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
