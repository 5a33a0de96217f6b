/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Country databases (zones/geo.c): the range to CIDR split at its edges
 * and against a brute-force check, each CSV format (DB-IP, IP2Location
 * IPv4 and IPv6 editions, MaxMind blocks joined with locations, gzip),
 * bad lines warned as file:line: field: why or failing in strict mode,
 * and overlapping ranges.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "geo.h"
#include "zones.h"

#define IP4(a, b, c, d)                                                   \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | \
	    (uint32_t)(d))
#define U128_MAX (~(zn_geo_u128)0)

/*
 * Split.
 */

struct cidrs {
	zn_geo_u128 addr[300];
	unsigned bits[300];
	size_t n;
};

static int
collect(void *ctx, zn_geo_u128 addr, unsigned bits)
{
	struct cidrs *c = ctx;

	if (c->n == 300)
		return -ENOSPC;
	c->addr[c->n] = addr;
	c->bits[c->n] = bits;
	c->n++;
	return 0;
}

static void
split(zn_geo_u128 lo, zn_geo_u128 hi, unsigned width, struct cidrs *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(zn_geo_split(lo, hi, width, collect, c), 0);
}

static void
fmt(bool v6, zn_geo_u128 a, unsigned bits, const char *want)
{
	char buf[64];

	zn_geo_cidr_format(v6, a, bits, buf);
	assert_string_equal(buf, want);
}

static void
test_split_edges(void **state)
{
	struct cidrs c;
	unsigned i;

	(void)state;
	/* all of IPv4 */
	split(0, 0xffffffffu, 32, &c);
	assert_int_equal(c.n, 1);
	assert_true(c.addr[0] == 0);
	assert_int_equal(c.bits[0], 0);
	fmt(false, c.addr[0], c.bits[0], "0.0.0.0/0");

	/* single addresses, including both ends of the space */
	split(IP4(1, 2, 3, 4), IP4(1, 2, 3, 4), 32, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.bits[0], 32);
	fmt(false, c.addr[0], c.bits[0], "1.2.3.4/32");
	split(0, 0, 32, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.bits[0], 32);
	split(0xffffffffu, 0xffffffffu, 32, &c);
	assert_int_equal(c.n, 1);
	fmt(false, c.addr[0], c.bits[0], "255.255.255.255/32");

	/* 1.0.0.1-1.0.0.6: /32 /31 /31 /32 */
	split(IP4(1, 0, 0, 1), IP4(1, 0, 0, 6), 32, &c);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.bits[0], 32);
	assert_int_equal(c.bits[1], 31);
	assert_int_equal(c.bits[2], 31);
	assert_int_equal(c.bits[3], 32);
	fmt(false, c.addr[1], c.bits[1], "1.0.0.2/31");
	fmt(false, c.addr[3], c.bits[3], "1.0.0.6/32");

	/* 0.0.0.1-255.255.255.255: one block per length /32../1 */
	split(1, 0xffffffffu, 32, &c);
	assert_int_equal(c.n, 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(c.bits[i], 32 - i);
	fmt(false, c.addr[31], c.bits[31], "128.0.0.0/1");
	/* 0.0.0.0-255.255.255.254 */
	split(0, 0xfffffffeu, 32, &c);
	assert_int_equal(c.n, 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(c.bits[i], i + 1);

	/* all of IPv6, a single IPv6 address, its last address */
	split(0, U128_MAX, 128, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.bits[0], 0);
	fmt(true, c.addr[0], c.bits[0], "::/0");
	split(U128_MAX, U128_MAX, 128, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.bits[0], 128);
	fmt(true, c.addr[0], c.bits[0],
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	split(1, U128_MAX, 128, &c);
	assert_int_equal(c.n, 128);
	for (i = 0; i < 128; i++)
		assert_int_equal(c.bits[i], 128 - i);
	fmt(true, c.addr[127], c.bits[127], "8000::/1");
	split(0, U128_MAX - 1, 128, &c);
	assert_int_equal(c.n, 128);

	/* 2001:db8::/32 as a range; a v4-looking IPv6 stays hex */
	split((zn_geo_u128)0x20010db8 << 96,
	    ((zn_geo_u128)0x20010db8 << 96) | (U128_MAX >> 32), 128, &c);
	assert_int_equal(c.n, 1);
	fmt(true, c.addr[0], c.bits[0], "2001:db8::/32");
	fmt(true, IP4(1, 2, 3, 4), 128, "::102:304/128");

	/* bad calls */
	assert_int_equal(zn_geo_split(2, 1, 32, collect, &c), -EINVAL);
	assert_int_equal(zn_geo_split(0, (zn_geo_u128)1 << 32, 32, collect, &c),
	    -EINVAL);
	assert_int_equal(zn_geo_split(0, 1, 64, collect, &c), -EINVAL);
}

/* Random IPv4 ranges: the CIDRs are aligned, contiguous, cover exactly
 * [lo, hi], and no two neighbours could be one larger block. */
static void
test_split_random(void **state)
{
	struct cidrs c;
	unsigned seed = 12345, i;
	size_t k;

	(void)state;
	for (i = 0; i < 20000; i++) {
		uint32_t lo, hi, t;
		zn_geo_u128 next;

		seed = seed * 1103515245u + 12345u;
		lo = seed;
		seed = seed * 1103515245u + 12345u;
		/* mostly short ranges, some long ones */
		hi = (i % 8 == 0) ? seed : lo + (seed >> (8 + i % 20));
		if (hi < lo) {
			t = lo;
			lo = hi;
			hi = t;
		}
		split(lo, hi, 32, &c);
		next = lo;
		for (k = 0; k < c.n; k++) {
			zn_geo_u128 size = (zn_geo_u128)1 << (32 - c.bits[k]);

			assert_true(c.addr[k] == next);
			assert_true((c.addr[k] & (size - 1)) == 0);
			if (k > 0 && c.bits[k] == c.bits[k - 1]) {
				/* equal neighbours must not form an aligned
				 * pair */
				assert_true(c.bits[k] == 0 ||
				    (c.addr[k - 1] & (2 * size - 1)) != 0);
			}
			next = c.addr[k] + size;
		}
		assert_true(next == (zn_geo_u128)hi + 1);
		assert_true(c.n <= 62);
	}
}

/*
 * Readers.
 */

struct fixture {
	char dir[64];
	char warns[8192];
	size_t nwarn;
	struct zn_geo g;
	struct zn_err err;
};

static void
warn_collect(void *ctx, const char *msg)
{
	struct fixture *fx = ctx;
	size_t len = strlen(fx->warns);

	snprintf(fx->warns + len, sizeof(fx->warns) - len, "%s\n", msg);
	fx->nwarn++;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_geo.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	/* file names in messages are then the short ones given */
	if (chdir(fx->dir) != 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	zn_geo_cleanup(&fx->g);
	if (chdir("/") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void
geo_start(struct fixture *fx, enum zn_geo_format f, bool strict)
{
	struct zn_geo_opts o = {
		.format = f,
		.strict = strict,
		.warn = warn_collect,
		.warn_ctx = fx,
	};

	zn_geo_cleanup(&fx->g);
	zn_geo_init(&fx->g, &o);
	fx->warns[0] = '\0';
	fx->nwarn = 0;
}

static const char *
wfile(struct fixture *fx, const char *name, const char *text)
{
	FILE *f;

	(void)fx;
	f = fopen(name, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return name;
}

static int
rdfile(struct fixture *fx, const char *name, const char *text,
    enum zn_geo_format *got)
{
	return zn_geo_read(&fx->g, wfile(fx, name, text), got, &fx->err);
}

/* The i-th range after zn_geo_finish is [lo, hi] of cc. */
static void
range_is(struct fixture *fx, size_t i, bool v6, zn_geo_u128 lo, zn_geo_u128 hi,
    const char *cc)
{
	const struct zn_geo_range *r;

	assert_true(i < fx->g.nr);
	r = &fx->g.r[i];
	assert_int_equal(r->v6, v6);
	assert_true(r->lo == lo);
	assert_true(r->hi == hi);
	assert_string_equal(r->cc, cc);
}

static void
test_dbip(void **state)
{
	struct fixture *fx = *state;
	enum zn_geo_format got;
	zn_geo_u128 jp = (zn_geo_u128)0x20010200 << 96;

	geo_start(fx, ZN_GEO_AUTO, false);
	/* a byte order mark, CRLF, a merge of adjacent AU ranges, a
	 * gap before the second AU range, IPv6 */
	assert_int_equal(
	    rdfile(fx, "dbip.csv",
	        "\xef\xbb\xbf"
	        "1.0.0.0,1.0.0.255,AU\r\n"
	        "1.0.1.0,1.0.3.255,CN\r\n"
	        "1.0.4.0,1.0.7.255,au\r\n"
	        "1.0.8.0,1.0.8.255,AU\r\n"
	        "1.0.16.0,1.0.16.0,AU\r\n"
	        "2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\r\n",
	        &got),
	    0);
	assert_int_equal(got, ZN_GEO_DBIP);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->nwarn, 0);
	assert_int_equal(fx->g.nlines, 6);
	assert_int_equal(fx->g.nr, 5);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "AU");
	range_is(fx, 1, false, IP4(1, 0, 1, 0), IP4(1, 0, 3, 255), "CN");
	range_is(fx, 2, false, IP4(1, 0, 4, 0), IP4(1, 0, 8, 255), "AU");
	range_is(fx, 3, false, IP4(1, 0, 16, 0), IP4(1, 0, 16, 0), "AU");
	range_is(fx, 4, true, jp, jp | (U128_MAX >> 32), "JP");
}

static void
test_dbip_gzip(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	gzFile gz;

	snprintf(path, sizeof(path), "%s/dbip.csv.gz", fx->dir);
	gz = gzopen(path, "wb");
	assert_non_null(gz);
	gzputs(gz, "10.0.0.0,10.255.255.255,ZZ\n0.0.0.0,0.255.255.255,-\n");
	assert_int_equal(gzclose(gz), Z_OK);
	geo_start(fx, ZN_GEO_DBIP, false);
	assert_int_equal(zn_geo_read(&fx->g, path, NULL, &fx->err), 0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->g.nr, 1);
	assert_int_equal(fx->g.nnocc, 1);
	range_is(fx, 0, false, IP4(10, 0, 0, 0), IP4(10, 255, 255, 255), "ZZ");

	/* a truncated gzip file fails the read, it is not a short file */
	{
		FILE *in = fopen(path, "rb"), *out;
		unsigned char b[256];
		size_t n;

		assert_non_null(in);
		n = fread(b, 1, sizeof(b), in);
		fclose(in);
		assert_true(n > 20);
		out = fopen("trunc.csv.gz", "wb");
		assert_non_null(out);
		assert_int_equal(fwrite(b, 1, n - 12, out), n - 12);
		assert_int_equal(fclose(out), 0);
	}
	geo_start(fx, ZN_GEO_DBIP, false);
	assert_int_equal(zn_geo_read(&fx->g, "trunc.csv.gz", NULL, &fx->err),
	    -EIO);
	assert_string_equal(fx->err.msg,
	    "trunc.csv.gz: unexpected end of file");
}

static void
test_ip2location(void **state)
{
	struct fixture *fx = *state;
	enum zn_geo_format got;
	zn_geo_u128 mapped = (zn_geo_u128)0xffff << 32;

	/* the IPv4 edition */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(rdfile(fx, "ip2l4.csv",
	                     "\"0\",\"16777215\",\"-\",\"-\"\n"
	                     "\"16777216\",\"16777471\",\"AU\",\"Australia\"\n"
	                     "\"16777472\",\"16778239\",\"CN\",\"China\"\n"
	                     "\"16778240\",\"16779263\",\"KR\","
	                     "\"Korea (Republic of)\"\n"
	                     "\"4294967295\",\"4294967295\",\"US\","
	                     "\"United States, \"\"quoted\"\"\"\n",
	                     &got),
	    0);
	assert_int_equal(got, ZN_GEO_IP2LOCATION);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_string_equal(fx->warns, "");
	assert_int_equal(fx->g.nr, 4);
	assert_int_equal(fx->g.nnocc, 1);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "AU");
	range_is(fx, 1, false, IP4(1, 0, 1, 0), IP4(1, 0, 3, 255), "CN");
	range_is(fx, 2, false, IP4(1, 0, 4, 0), IP4(1, 0, 7, 255), "KR");
	range_is(fx, 3, false, 0xffffffffu, 0xffffffffu, "US");

	/* the IPv6 edition: ::ffff:1.0.0.0 is IPv4; a range across the
	 * end of the mapped space is split; 2^128-1 is read */
	geo_start(fx, ZN_GEO_IP2LOCATION, false);
	assert_int_equal(
	    rdfile(fx, "ip2l6.csv",
	        "\"0\",\"281470681743359\",\"-\",\"-\"\n"
	        "\"281470698520576\",\"281470698520831\",\"AU\","
	        "\"Australia\"\n"
	        "\"281474976710400\",\"281474976710911\",\"NZ\","
	        "\"New Zealand\"\n"
	        "\"42540528726795050063891204319802818560\","
	        "\"42540528806023212578155541913346768895\",\"JP\","
	        "\"Japan\"\n"
	        "\"340282366920938463463374607431768211455\","
	        "\"340282366920938463463374607431768211455\",\"FR\","
	        "\"France\"\n"
	        "\"340282366920938463463374607431768211456\","
	        "\"340282366920938463463374607431768211456\",\"FR\","
	        "\"France\"\n",
	        NULL),
	    0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->nwarn, 1);
	assert_non_null(strstr(fx->warns,
	    "ip2l6.csv:6: start: not a decimal IPv6 address number"));
	assert_int_equal(fx->g.nr, 5);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "AU");
	range_is(fx, 1, false, IP4(255, 255, 255, 0), 0xffffffffu, "NZ");
	range_is(fx, 2, true, (mapped | 0xffffffffu) + 1,
	    (mapped | 0xffffffffu) + 256, "NZ");
	range_is(fx, 3, true, (zn_geo_u128)0x20010200 << 96,
	    ((zn_geo_u128)0x20010200 << 96) | (U128_MAX >> 32), "JP");
	range_is(fx, 4, true, U128_MAX, U128_MAX, "FR");
}

static void
test_maxmind(void **state)
{
	struct fixture *fx = *state;
	enum zn_geo_format got;

	geo_start(fx, ZN_GEO_AUTO, false);
	/* blocks before the locations: the join is done at the end */
	assert_int_equal(
	    rdfile(fx, "GeoLite2-Country-Blocks-IPv4.csv",
	        "network,geoname_id,registered_country_geoname_id,"
	        "represented_country_geoname_id,is_anonymous_proxy,"
	        "is_satellite_provider,is_anycast\n"
	        "1.0.0.0/24,2077456,2077456,,0,0,\n"
	        "1.0.1.0/24,,1814991,,0,0,\n"
	        "1.0.2.0/23,1814991,2077456,,0,0,\n"
	        "2.0.0.0/8,6255148,,,0,0,\n"
	        "3.0.0.0/8,,,,1,0,\n"
	        "4.0.0.0/8,999,,,0,0,\n",
	        &got),
	    0);
	assert_int_equal(got, ZN_GEO_MAXMIND);
	assert_int_equal(
	    rdfile(fx, "GeoLite2-Country-Blocks-IPv6.csv",
	        "network,geoname_id,registered_country_geoname_id,"
	        "represented_country_geoname_id,is_anonymous_proxy,"
	        "is_satellite_provider\n"
	        "2001:200::/32,1861060,1861060,,0,0\n"
	        "::ffff:5.0.0.0/104,2077456,,,0,0\n",
	        NULL),
	    0);
	assert_int_equal(rdfile(fx, "GeoLite2-Country-Locations-en.csv",
	                     "geoname_id,locale_code,continent_code,"
	                     "continent_name,country_iso_code,country_name,"
	                     "is_in_european_union\n"
	                     "2077456,en,OC,Oceania,AU,Australia,0\n"
	                     "1814991,en,AS,Asia,CN,China,0\n"
	                     "1861060,en,AS,Asia,JP,Japan,0\n"
	                     "6255148,en,EU,Europe,,,0\n"
	                     "1835841,en,AS,Asia,KR,\"Korea, Republic of\",0\n",
	                     NULL),
	    0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	/* 4.0.0.0/8 names an unknown geoname_id */
	assert_int_equal(fx->nwarn, 1);
	assert_non_null(strstr(fx->warns,
	    "GeoLite2-Country-Blocks-IPv4.csv:7: geoname_id: 999 not in the locations file"));
	assert_int_equal(fx->g.nbad, 1);
	/* 2.0.0.0/8 (continent only) and 3.0.0.0/8 (no ids) */
	assert_int_equal(fx->g.nnocc, 2);
	assert_int_equal(fx->g.nr, 4);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "AU");
	range_is(fx, 1, false, IP4(1, 0, 1, 0), IP4(1, 0, 3, 255), "CN");
	range_is(fx, 2, false, IP4(5, 0, 0, 0), IP4(5, 255, 255, 255), "AU");
	range_is(fx, 3, true, (zn_geo_u128)0x20010200 << 96,
	    ((zn_geo_u128)0x20010200 << 96) | (U128_MAX >> 32), "JP");

	/* blocks without any locations file */
	geo_start(fx, ZN_GEO_MAXMIND, false);
	assert_int_equal(
	    rdfile(fx, "b.csv",
	        "network,geoname_id,registered_country_geoname_id\n"
	        "1.0.0.0/24,2077456,2077456\n",
	        NULL),
	    0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), -EINVAL);
	assert_non_null(strstr(fx->err.msg, "no GeoLite2-Country-Locations"));
}

static void
test_bad_lines(void **state)
{
	struct fixture *fx = *state;
	static const char *const want[] = {
		"bad.csv:2: start: not an IP address",
		"bad.csv:3: end: not an IP address",
		"bad.csv:4: end: not the address family of start",
		"bad.csv:5: end: before start",
		"bad.csv:6: country: not a two-letter code",
		"bad.csv:7: line: 2 fields, expected start,end,country",
		"bad.csv:8: line: bad CSV quoting",
		"bad.csv:9: start: not an IP address",
	};
	const char *text = "1.0.0.0,1.0.0.255,AU\n"
	                   "1.0.0.256,1.0.1.0,AU\n"
	                   "1.0.1.0,x,AU\n"
	                   "1.0.2.0,2001:db8::,AU\n"
	                   "1.0.3.9,1.0.3.0,AU\n"
	                   "1.0.4.0,1.0.4.255,AUS\n"
	                   "1.0.5.0,1.0.5.255\n"
	                   "\"1.0.6.0,1.0.6.255,AU\n"
	                   " 1.0.7.0,1.0.7.255,AU\n"
	                   "1.0.8.0,1.0.8.255,CN\n";
	size_t i;

	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(rdfile(fx, "bad.csv", text, NULL), 0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->g.nbad, 8);
	assert_int_equal(fx->nwarn, 8);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_non_null(strstr(fx->warns, want[i]));
	assert_int_equal(fx->g.nr, 2);

	/* strict: the first bad line fails the read */
	geo_start(fx, ZN_GEO_AUTO, true);
	assert_int_equal(rdfile(fx, "bad.csv", text, NULL), -EINVAL);
	assert_non_null(strstr(fx->err.msg, want[0]));
	assert_int_equal(fx->nwarn, 0);

	/* MaxMind network errors */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(
	    rdfile(fx, "mm.csv",
	        "network,geoname_id,registered_country_geoname_id\n"
	        "1.0.0.1/24,1,1\n"
	        "1.0.0.0/33,1,1\n"
	        "1.0.0.0,1,1\n"
	        "1.0.0.0/-1,1,1\n"
	        "1.0.0.0/24,x,1\n"
	        "1.0.0.0/24,1,0\n"
	        "1.0.0.0/24\n",
	        NULL),
	    0);
	assert_int_equal(fx->g.nbad, 7);
	assert_non_null(strstr(fx->warns, "mm.csv:2: network: host bits set"));
	assert_non_null(
	    strstr(fx->warns, "mm.csv:3: network: bad prefix length"));
	assert_non_null(strstr(fx->warns, "mm.csv:4: network: not a CIDR"));
	assert_non_null(
	    strstr(fx->warns, "mm.csv:5: network: bad prefix length"));
	assert_non_null(
	    strstr(fx->warns, "mm.csv:6: geoname_id: not a geoname id"));
	assert_non_null(strstr(fx->warns,
	    "mm.csv:7: registered_country_geoname_id: not a geoname id"));
	assert_non_null(strstr(fx->warns, "mm.csv:8: line: 1 fields"));

	/* /0 networks: ::/0 and 0.0.0.0/0 are the whole space; any other
	 * address with /0 has host bits set (a fuzz find: the IPv6 one
	 * wrapped around to a range ending before its start) */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(
	    rdfile(fx, "mm0.csv",
	        "network,geoname_id,registered_country_geoname_id\n"
	        "::ffff:5.0.0.0/0,1,1\n"
	        "2001:db8::/0,1,1\n"
	        "1.0.0.0/0,1,1\n"
	        "::/0,1,1\n"
	        "0.0.0.0/0,1,1\n",
	        NULL),
	    0);
	assert_int_equal(fx->g.nbad, 3);
	for (i = 2; i <= 4; i++) {
		char line[64];

		snprintf(line, sizeof(line), "mm0.csv:%zu: network: host bits",
		    i);
		assert_non_null(strstr(fx->warns, line));
	}
	/* ::/0 is read as IPv6 around ::ffff:0:0/96 and all of IPv4 */
	assert_int_equal(fx->g.nr, 4);
	for (i = 0; i < fx->g.nr; i++)
		assert_true(fx->g.r[i].lo <= fx->g.r[i].hi);

	/* a geoname_id twice in the locations: the first read is used,
	 * whatever order qsort leaves equal ids in */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(
	    rdfile(fx, "b.csv",
	        "network,geoname_id,registered_country_geoname_id\n"
	        "1.0.0.0/24,7,\n",
	        NULL),
	    0);
	assert_int_equal(rdfile(fx, "l.csv",
	                     "geoname_id,country_iso_code\n"
	                     "9,CN\n7,NZ\n8,JP\n7,AU\n7,CN\n3,DE\n7,US\n",
	                     NULL),
	    0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->g.nr, 1);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "NZ");

	/* files of no known format, a forced format that does not fit, a
	 * missing file, an empty file */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(rdfile(fx, "what.csv", "hello,world,AU\n", NULL),
	    -EINVAL);
	assert_non_null(strstr(fx->err.msg, "what.csv:1: format: not a DB-IP"));
	geo_start(fx, ZN_GEO_IP2LOCATION, false);
	assert_int_equal(rdfile(fx, "d.csv", "1.0.0.0,1.0.0.255,AU\n", NULL),
	    -EINVAL);
	assert_non_null(strstr(fx->err.msg,
	    "d.csv:1: format: looks like DB-IP, not ip2location"));
	assert_int_equal(
	    zn_geo_read(&fx->g, "/nonexistent/x.csv", NULL, &fx->err), -ENOENT);
	assert_non_null(strstr(fx->err.msg, "/nonexistent/x.csv: "));
	assert_int_equal(rdfile(fx, "empty.csv", "", NULL), -EINVAL);
	assert_non_null(strstr(fx->err.msg, "empty.csv: format: empty file"));
}

static void
test_overlaps(void **state)
{
	struct fixture *fx = *state;
	const char *text = "1.0.0.0,1.0.0.255,AU\n"
	                   "1.0.0.128,1.0.1.127,CN\n"
	                   "1.0.0.10,1.0.0.20,NZ\n"
	                   "1.0.1.0,1.0.1.255,CN\n";
	static const char *const owarn[] = {
		"db.csv:1: range: overlaps 1.0.0.10-1.0.0.20 (US) from override.csv:1",
		"db.csv:2: range: overlaps 1.0.2.0-1.0.2.255 (CN) from override.csv:2",
	};
	static const struct {
		uint32_t lo, hi;
		const char *cc;
	} oranges[] = {
		{ IP4(1, 0, 0, 0), IP4(1, 0, 0, 9), "DE" },
		{ IP4(1, 0, 0, 10), IP4(1, 0, 0, 20), "US" },
		{ IP4(1, 0, 0, 21), IP4(1, 0, 1, 255), "DE" },
		{ IP4(1, 0, 2, 0), IP4(1, 0, 3, 255), "CN" },
	};
	size_t i;

	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(rdfile(fx, "ov.csv", text, NULL), 0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	assert_int_equal(fx->g.noverlap, 3);
	assert_non_null(strstr(fx->warns,
	    "ov.csv:3: range: overlaps 1.0.0.0-1.0.0.255 (AU) from ov.csv:1"));
	assert_non_null(strstr(fx->warns,
	    "ov.csv:2: range: overlaps 1.0.0.0-1.0.0.255 (AU) from ov.csv:1"));
	assert_int_equal(fx->g.nr, 2);
	range_is(fx, 0, false, IP4(1, 0, 0, 0), IP4(1, 0, 0, 255), "AU");
	range_is(fx, 1, false, IP4(1, 0, 1, 0), IP4(1, 0, 1, 255), "CN");

	geo_start(fx, ZN_GEO_AUTO, true);
	assert_int_equal(rdfile(fx, "ov.csv", text, NULL), 0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), -EINVAL);
	assert_non_null(strstr(fx->err.msg, "ov.csv:3: range: overlaps"));

	/* the range read first keeps the overlap even when it starts
	 * later: an override file given before the database */
	geo_start(fx, ZN_GEO_AUTO, false);
	assert_int_equal(rdfile(fx, "override.csv",
	                     "1.0.0.10,1.0.0.20,US\n1.0.2.0,1.0.2.255,CN\n",
	                     NULL),
	    0);
	assert_int_equal(rdfile(fx, "db.csv",
	                     "1.0.0.0,1.0.1.255,DE\n1.0.2.128,1.0.3.255,CN\n",
	                     NULL),
	    0);
	assert_int_equal(zn_geo_finish(&fx->g, &fx->err), 0);
	for (i = 0; i < sizeof(owarn) / sizeof(owarn[0]); i++)
		assert_non_null(strstr(fx->warns, owarn[i]));
	assert_int_equal(fx->g.noverlap, i);
	for (i = 0; i < sizeof(oranges) / sizeof(oranges[0]); i++)
		range_is(fx, i, false, oranges[i].lo, oranges[i].hi,
		    oranges[i].cc);
	assert_int_equal(fx->g.nr, i);
}

static void
test_format_names(void **state)
{
	enum zn_geo_format f;

	(void)state;
	assert_int_equal(zn_geo_format_parse("dbip", &f), 0);
	assert_int_equal(f, ZN_GEO_DBIP);
	assert_int_equal(zn_geo_format_parse("IP2Location", &f), 0);
	assert_int_equal(f, ZN_GEO_IP2LOCATION);
	assert_int_equal(zn_geo_format_parse("maxmind", &f), 0);
	assert_int_equal(f, ZN_GEO_MAXMIND);
	assert_int_equal(zn_geo_format_parse("geoip", &f), -EINVAL);
	assert_string_equal(zn_geo_format_name(ZN_GEO_MAXMIND), "maxmind");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_edges),
		cmocka_unit_test(test_split_random),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test_setup_teardown(test_dbip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbip_gzip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ip2location, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_maxmind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overlaps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
