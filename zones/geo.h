/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Country databases for "country zones" (zonetool geo): readers for the
 * free CSV editions of DB-IP, IP2Location and MaxMind, and the split of
 * address ranges into CIDRs.  Like the rest of libzones this never prints
 * and never exits: warnings go to a callback, failures to a struct zn_err.
 *
 * Formats, told apart by the first line of each file:
 *
 *   DB-IP lite      1.0.0.0,1.0.0.255,AU
 *                   2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP
 *   IP2Location     "16777216","16777471","AU","Australia"
 *   LITE DB1        (decimal integers; the IPv6 edition uses 128-bit
 *                   integers and IPv4-mapped ::ffff:a.b.c.d for IPv4)
 *   MaxMind         a header line, then
 *   GeoLite2        network,geoname_id,registered_country_geoname_id,...
 *   Country         1.0.0.0/24,2077456,2077456,,0,0
 *                   joined on geoname_id with a locations file:
 *                   geoname_id,locale_code,...,country_iso_code,...
 *                   (columns found by their header names); an empty
 *                   geoname_id falls back to registered_country_geoname_id
 *
 * Files may be gzip-compressed.  A country "-" (IP2Location's unassigned
 * space) or an empty one is no country: such ranges are counted, not
 * warned about.  IPv4-mapped IPv6 ranges (::ffff:0:0/96) are read as the
 * IPv4 ranges they stand for.
 */
#ifndef ZONES_GEO_H
#define ZONES_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones.h"

__extension__ typedef unsigned __int128 zn_geo_u128;

enum zn_geo_format {
	ZN_GEO_AUTO = 0, /* from each file's first line */
	ZN_GEO_DBIP,
	ZN_GEO_IP2LOCATION,
	ZN_GEO_MAXMIND,
};

/* "dbip", "ip2location", "maxmind" (and "auto"); 0 or -EINVAL. */
int zn_geo_format_parse(const char *name, enum zn_geo_format *f);
/* The name of a format, "auto" for ZN_GEO_AUTO. */
const char *zn_geo_format_name(enum zn_geo_format f);

/* One address range of one country.  IPv4 ranges hold 32-bit values. */
struct zn_geo_range {
	zn_geo_u128 lo, hi;
	uint32_t geoname; /* MaxMind, until zn_geo_finish: 0 none */
	uint32_t regname; /* registered_country_geoname_id, 0 none */
	uint32_t file; /* index into zn_geo.files */
	uint32_t line;
	bool v6;
	char cc[3]; /* upper case, NUL-terminated; "" no country (yet) */
};

struct zn_geo_loc {
	uint32_t id;
	uint32_t seq; /* reading order: of equal ids the first read is used */
	char cc[3];
};

struct zn_geo_opts {
	enum zn_geo_format format; /* ZN_GEO_AUTO: detect per file */
	bool strict; /* a bad line or an overlap fails the read */
	zn_warn_fn warn; /* may be NULL */
	void *warn_ctx;
};

struct zn_geo {
	struct zn_geo_opts opts;

	struct zn_geo_range *r; /* sorted by (v6, lo) after zn_geo_finish */
	size_t nr, capr;
	struct zn_geo_loc *loc; /* MaxMind locations */
	size_t nloc, caploc;
	char **files; /* copies of the file names read */
	size_t nfiles;
	bool maxmind_blocks; /* a MaxMind blocks file was read */

	size_t nlines; /* data lines read */
	size_t nbad; /* bad lines skipped (with a warning) */
	size_t noverlap; /* ranges overlapping an earlier one (trimmed) */
	size_t nnocc; /* ranges without a country */
};

/* Initialise g with a copy of opts (NULL: defaults). */
void zn_geo_init(struct zn_geo *g, const struct zn_geo_opts *opts);
/* Free what g holds. */
void zn_geo_cleanup(struct zn_geo *g);

/*
 * Read one file into g; *fmt (may be NULL) is set to the format found.
 * Bad lines are warned about as "file:line: field: why" and skipped
 * (counted in nbad), or with opts.strict fail the read with that message.
 * 0, or a negative errno: -ENOENT etc. for the file, -EIO for a read
 * error or a truncated or corrupt gzip file, -EINVAL for a bad line in
 * strict mode or a file of no known format, -ENOMEM.  The IP2Location
 * edition is told by the first data line: its end beyond 2^32-1 means
 * the IPv6 edition (which starts with the IPv6 space below ::ffff:0:0).
 */
int zn_geo_read(struct zn_geo *g, const char *file, enum zn_geo_format *fmt,
    struct zn_err *err);

/*
 * After the last zn_geo_read: give MaxMind ranges their country from the
 * locations read (the first read of an id; an unknown geoname_id is a bad
 * line), sort the ranges, trim each range overlapping one read earlier
 * (the one read first keeps the overlap, even when it starts later, so an
 * override file goes first; each trimmed range is warned about once,
 * counted in noverlap; a failure in strict mode) and merge adjacent
 * ranges of the same country.  0, -EINVAL or -ENOMEM.
 */
int zn_geo_finish(struct zn_geo *g, struct zn_err *err);

/* Called for each CIDR addr/bits, in address order; 0 or a negative errno
 * that stops the split. */
typedef int (*zn_geo_cidr_fn)(void *ctx, zn_geo_u128 addr, unsigned bits);

/*
 * Split [lo, hi] (lo <= hi, both below 2^width) into the fewest CIDRs of a
 * width-bit address space (32 or 128).  0, -EINVAL, or fn's error.
 */
int zn_geo_split(zn_geo_u128 lo, zn_geo_u128 hi, unsigned width,
    zn_geo_cidr_fn fn, void *ctx);

/*
 * "a.b.c.d/n" or rbldnsd's IPv6 form "2001:db8::/32" (no dotted quad, so
 * ip6trie reads it) into buf of at least 44 bytes.
 */
void zn_geo_cidr_format(bool v6, zn_geo_u128 addr, unsigned bits, char *buf);

#endif /* ZONES_GEO_H */
