/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Country databases (geo.h): CSV readers for DB-IP lite, IP2Location LITE
 * DB1 and MaxMind GeoLite2-Country, and the range to CIDR split.
 */
#include "config.h"

#include "geo.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "ip.h"

#define GEO_LINE_MAX 8192
#define GEO_MAXFIELDS 16

/* ::ffff:0:0/96, the IPv4-mapped addresses */
#define MAPPED_LO ((zn_geo_u128)0xffff << 32)
#define MAPPED_HI (MAPPED_LO | 0xffffffffu)
#define IP4_MAX ((zn_geo_u128)0xffffffffu)

enum kind {
	K_DBIP,
	K_IP2LOCATION,
	K_MM_BLOCKS,
	K_MM_LOCATIONS,
};

/* What one file is being read as. */
struct rd {
	struct zn_geo *g;
	const char *file;
	uint32_t fileno;
	unsigned long line;
	enum kind kind;
	bool ip2l_v6; /* IP2Location IPv6 edition */
	/* MaxMind columns, from the header */
	int c_net, c_geo, c_reg, c_cc;
};

static const char *const fmt_names[] = {
	[ZN_GEO_AUTO] = "auto",
	[ZN_GEO_DBIP] = "dbip",
	[ZN_GEO_IP2LOCATION] = "ip2location",
	[ZN_GEO_MAXMIND] = "maxmind",
};

/*
 * Parse a format name; 0 or -EINVAL.
 */
int
zn_geo_format_parse(const char *name, enum zn_geo_format *f)
{
	size_t i;

	for (i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++)
		if (strcasecmp(name, fmt_names[i]) == 0) {
			*f = i;
			return 0;
		}
	return -EINVAL;
}

/*
 * The name of a format.
 */
const char *
zn_geo_format_name(enum zn_geo_format f)
{
	if ((size_t)f >= sizeof(fmt_names) / sizeof(fmt_names[0]))
		return "?";
	return fmt_names[f];
}

/*
 * Initialise g; opts are copied.
 */
void
zn_geo_init(struct zn_geo *g, const struct zn_geo_opts *opts)
{
	memset(g, 0, sizeof(*g));
	if (opts != NULL)
		g->opts = *opts;
}

/*
 * Free what g holds.
 */
void
zn_geo_cleanup(struct zn_geo *g)
{
	size_t i;

	for (i = 0; i < g->nfiles; i++)
		free(g->files[i]);
	free(g->files);
	free(g->r);
	free(g->loc);
	memset(g, 0, sizeof(*g));
}

/* A bad line: warn and return 0 (skipped), or fail in strict mode. */
static int bad(struct rd *rd, struct zn_err *err, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
bad(struct rd *rd, struct zn_err *err, const char *field, const char *fmt, ...)
{
	struct zn_geo *g = rd->g;
	char why[256], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%lu: %s: %s", rd->file, rd->line, field,
	    why);
	if (g->opts.strict)
		return zn_err_set(err, EINVAL, "%s", msg);
	g->nbad++;
	if (g->opts.warn != NULL)
		g->opts.warn(g->opts.warn_ctx, msg);
	return 0;
}

/*
 * Split a CSV line in place into at most max fields.  Fields may be
 * quoted ("a, b" and "" for a quote).  Returns the number of fields, or
 * -1 for an unterminated quote or text after a closing quote.
 */
static int
split_csv(char *s, char **f, int max)
{
	int n = 0;

	for (;;) {
		char *out = s;

		if (n < max)
			f[n] = s;
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '\0')
					return -1;
				if (*s == '"' && s[1] == '"') {
					*out++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else
					*out++ = *s++;
			}
			if (*s != ',' && *s != '\0')
				return -1;
		} else {
			while (*s != ',' && *s != '\0')
				*out++ = *s++;
		}
		n++;
		if (*s == '\0') {
			*out = '\0';
			return n;
		}
		s++;
		*out = '\0';
	}
}

/* A decimal integer of at most 128 bits; 0 or -1. */
static int
parse_dec(const char *s, zn_geo_u128 *v)
{
	zn_geo_u128 x = 0, max = ~(zn_geo_u128)0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d = *s - '0';

		if (d > 9)
			return -1;
		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* An IPv4 or IPv6 address in text; *v6 tells which.  0 or -1. */
static int
parse_addr(const char *s, zn_geo_u128 *v, bool *v6)
{
	uint8_t a[16];
	size_t i;

	if (inet_pton(AF_INET, s, a) == 1) {
		*v = (zn_geo_u128)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*v = 0;
		for (i = 0; i < 16; i++)
			*v = *v << 8 | a[i];
		*v6 = true;
		return 0;
	}
	return -1;
}

/* A geoname id: empty (0) or a decimal 1..2^32-1; 0 or -1. */
static int
parse_id(const char *s, uint32_t *id)
{
	zn_geo_u128 v;

	if (*s == '\0') {
		*id = 0;
		return 0;
	}
	if (parse_dec(s, &v) != 0 || v == 0 || v > 0xffffffffu)
		return -1;
	*id = v;
	return 0;
}

/*
 * A country code: two letters (upper-cased into cc), or "-" / "" for no
 * country (cc empty).  0 or -1.
 */
static int
parse_cc(const char *s, char cc[3])
{
	if (*s == '\0' || strcmp(s, "-") == 0) {
		cc[0] = '\0';
		return 0;
	}
	if (strlen(s) != 2 ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) ||
	    !((s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z')))
		return -1;
	cc[0] = s[0] & ~0x20;
	cc[1] = s[1] & ~0x20;
	cc[2] = '\0';
	return 0;
}

static int
push(struct zn_geo *g, const struct zn_geo_range *r)
{
	if (g->nr == g->capr) {
		size_t cap = g->capr ? g->capr * 2 : 1024;
		struct zn_geo_range *p = reallocarray(g->r, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		g->r = p;
		g->capr = cap;
	}
	g->r[g->nr++] = *r;
	return 0;
}

/*
 * Add a range; an IPv6 range is split around ::ffff:0:0/96, whose part is
 * added as IPv4.
 */
static int
add_range(struct rd *rd, zn_geo_u128 lo, zn_geo_u128 hi, bool v6,
    const char *cc, uint32_t geoname, uint32_t regname)
{
	struct zn_geo_range r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.file = rd->fileno;
	r.line = rd->line > UINT32_MAX ? UINT32_MAX : rd->line;
	r.geoname = geoname;
	r.regname = regname;
	snprintf(r.cc, sizeof(r.cc), "%s", cc); /* "" or two letters */
	if (cc[0] == '\0' && geoname == 0 && regname == 0) {
		rd->g->nnocc++;
		return 0;
	}
	if (!v6 || hi < MAPPED_LO || lo > MAPPED_HI) {
		r.lo = lo;
		r.hi = hi;
		r.v6 = v6;
		return push(rd->g, &r);
	}
	r.v6 = true;
	if (lo < MAPPED_LO) {
		r.lo = lo;
		r.hi = MAPPED_LO - 1;
		if ((rc = push(rd->g, &r)) != 0)
			return rc;
	}
	if (hi > MAPPED_HI) {
		r.lo = MAPPED_HI + 1;
		r.hi = hi;
		if ((rc = push(rd->g, &r)) != 0)
			return rc;
	}
	r.v6 = false;
	r.lo = (lo < MAPPED_LO ? MAPPED_LO : lo) - MAPPED_LO;
	r.hi = (hi > MAPPED_HI ? MAPPED_HI : hi) - MAPPED_LO;
	return push(rd->g, &r);
}

/* start,end,country[,...] with text (DB-IP) or decimal (IP2Location)
 * addresses. */
static int
line_range(struct rd *rd, char **f, int nf, struct zn_err *err)
{
	zn_geo_u128 lo, hi;
	bool v6lo, v6hi;
	char cc[3];

	if (nf < 3)
		return bad(rd, err, "line",
		    "%d fields, expected start,end,country", nf);
	if (rd->kind == K_DBIP) {
		if (parse_addr(f[0], &lo, &v6lo) != 0)
			return bad(rd, err, "start", "not an IP address");
		if (parse_addr(f[1], &hi, &v6hi) != 0)
			return bad(rd, err, "end", "not an IP address");
		if (v6lo != v6hi)
			return bad(rd, err, "end",
			    "not the address family of start");
	} else {
		zn_geo_u128 max = rd->ip2l_v6 ? ~(zn_geo_u128)0 : IP4_MAX;

		if (parse_dec(f[0], &lo) != 0 || lo > max)
			return bad(rd, err, "start",
			    "not a decimal IP%s address number",
			    rd->ip2l_v6 ? "v6" : "v4");
		if (parse_dec(f[1], &hi) != 0 || hi > max)
			return bad(rd, err, "end",
			    "not a decimal IP%s address number",
			    rd->ip2l_v6 ? "v6" : "v4");
		v6lo = rd->ip2l_v6;
	}
	if (hi < lo)
		return bad(rd, err, "end", "before start");
	if (parse_cc(f[2], cc) != 0)
		return bad(rd, err, "country", "not a two-letter code");
	return add_range(rd, lo, hi, v6lo, cc, 0, 0);
}

static int
line_mm_blocks(struct rd *rd, char **f, int nf, struct zn_err *err)
{
	zn_geo_u128 a, size;
	uint32_t geo, reg;
	unsigned long bits;
	char *slash, *end;
	bool v6;

	if (nf <= rd->c_net || nf <= rd->c_geo || nf <= rd->c_reg)
		return bad(rd, err, "line", "%d fields, fewer than the header",
		    nf);
	if ((slash = strchr(f[rd->c_net], '/')) == NULL)
		return bad(rd, err, "network", "not a CIDR");
	*slash = '\0';
	if (parse_addr(f[rd->c_net], &a, &v6) != 0)
		return bad(rd, err, "network", "not an IP address");
	if (slash[1] < '0' || slash[1] > '9')
		return bad(rd, err, "network", "bad prefix length");
	bits = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || bits > (v6 ? 128u : 32u))
		return bad(rd, err, "network", "bad prefix length");
	bits = (v6 ? 128 : 32) - bits; /* host bits */
	size = bits == 128 ? 0 : (zn_geo_u128)1 << bits;
	/* ::/0 is the one network of 128 host bits (size 0 here) */
	if (bits < 128 ? (a & (size - 1)) != 0 : a != 0)
		return bad(rd, err, "network", "host bits set");
	if (parse_id(f[rd->c_geo], &geo) != 0)
		return bad(rd, err, "geoname_id", "not a geoname id");
	if (parse_id(f[rd->c_reg], &reg) != 0)
		return bad(rd, err, "registered_country_geoname_id",
		    "not a geoname id");
	return add_range(rd, a, a + (size - 1), v6, "", geo, reg);
}

static int
line_mm_locations(struct rd *rd, char **f, int nf, struct zn_err *err)
{
	struct zn_geo *g = rd->g;
	struct zn_geo_loc l;

	if (nf <= rd->c_geo || nf <= rd->c_cc)
		return bad(rd, err, "line", "%d fields, fewer than the header",
		    nf);
	if (parse_id(f[rd->c_geo], &l.id) != 0 || l.id == 0)
		return bad(rd, err, "geoname_id", "not a geoname id");
	if (parse_cc(f[rd->c_cc], l.cc) != 0)
		return bad(rd, err, "country_iso_code",
		    "not a two-letter code");
	l.seq = g->nloc > UINT32_MAX ? UINT32_MAX : g->nloc;
	if (g->nloc == g->caploc) {
		size_t cap = g->caploc ? g->caploc * 2 : 256;
		struct zn_geo_loc *p = reallocarray(g->loc, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		g->loc = p;
		g->caploc = cap;
	}
	g->loc[g->nloc++] = l;
	return 0;
}

static int
column(char **f, int nf, const char *name)
{
	int i;

	for (i = 0; i < nf && i < GEO_MAXFIELDS; i++)
		if (strcmp(f[i], name) == 0)
			return i;
	return -1;
}

static enum zn_geo_format
kind_format(enum kind k)
{
	switch (k) {
	case K_DBIP:
		return ZN_GEO_DBIP;
	case K_IP2LOCATION:
		return ZN_GEO_IP2LOCATION;
	default:
		return ZN_GEO_MAXMIND;
	}
}

static const char *
kind_label(enum kind k)
{
	switch (k) {
	case K_DBIP:
		return "DB-IP";
	case K_IP2LOCATION:
		return "IP2Location";
	default:
		return "MaxMind";
	}
}

/*
 * Decide what the file is from its first line; *data is set when that
 * line is data rather than a header.
 */
static int
detect(struct rd *rd, char **f, int nf, bool *data, struct zn_err *err)
{
	enum zn_geo_format want = rd->g->opts.format;
	zn_geo_u128 v;
	bool v6;

	*data = false;
	if (nf >= 1 && strcmp(f[0], "network") == 0) {
		rd->kind = K_MM_BLOCKS;
		rd->c_net = 0;
		rd->c_geo = column(f, nf, "geoname_id");
		rd->c_reg = column(f, nf, "registered_country_geoname_id");
		if (rd->c_geo < 0 || rd->c_reg < 0)
			return zn_err_set(err, EINVAL,
			    "%s:%lu: header: no geoname_id or registered_country_geoname_id column",
			    rd->file, rd->line);
	} else if (nf >= 1 && strcmp(f[0], "geoname_id") == 0) {
		rd->kind = K_MM_LOCATIONS;
		rd->c_geo = 0;
		rd->c_cc = column(f, nf, "country_iso_code");
		if (rd->c_cc < 0)
			return zn_err_set(err, EINVAL,
			    "%s:%lu: header: no country_iso_code column",
			    rd->file, rd->line);
	} else if (nf >= 3 && strcmp(f[0], "ip_from") == 0) {
		/* an IP2Location file with a header line; the edition is
		 * told by the first data line */
		rd->kind = K_IP2LOCATION;
	} else if (nf >= 3 && parse_dec(f[0], &v) == 0) {
		rd->kind = K_IP2LOCATION;
		*data = true;
	} else if (nf >= 3 && parse_addr(f[0], &v, &v6) == 0) {
		rd->kind = K_DBIP;
		*data = true;
	} else
		return zn_err_set(err, EINVAL,
		    "%s:%lu: format: not a DB-IP, IP2Location or MaxMind GeoLite2 CSV file",
		    rd->file, rd->line);
	if (want != ZN_GEO_AUTO && want != kind_format(rd->kind))
		return zn_err_set(err, EINVAL,
		    "%s:%lu: format: looks like %s, not %s", rd->file, rd->line,
		    kind_label(rd->kind), zn_geo_format_name(want));
	return 0;
}

/* The IP2Location edition, from the first data line: the IPv6 one has
 * numbers beyond 32 bits from its first line on (it starts with the
 * IPv6 space below ::ffff:0:0). */
static void
ip2l_edition(struct rd *rd, char **f, int nf)
{
	zn_geo_u128 v;

	rd->ip2l_v6 = nf >= 2 && parse_dec(f[1], &v) == 0 && v > IP4_MAX;
}

static int
add_file(struct zn_geo *g, const char *file, uint32_t *no)
{
	char **p, *copy;

	if ((copy = strdup(file)) == NULL)
		return -ENOMEM;
	p = reallocarray(g->files, g->nfiles + 1, sizeof(*p));
	if (p == NULL) {
		free(copy);
		return -ENOMEM;
	}
	g->files = p;
	*no = g->nfiles;
	g->files[g->nfiles++] = copy;
	return 0;
}

/*
 * Read one file (see geo.h).
 */
int
zn_geo_read(struct zn_geo *g, const char *file, enum zn_geo_format *fmt,
    struct zn_err *err)
{
	struct rd rd;
	char *buf, *f[GEO_MAXFIELDS];
	gzFile gz;
	bool first = true, ip2l_first = true, data;
	int rc = 0, nf;

	memset(&rd, 0, sizeof(rd));
	rd.g = g;
	rd.file = file;
	if ((buf = malloc(GEO_LINE_MAX)) == NULL)
		return zn_err_set(err, ENOMEM, "%s: out of memory", file);
	errno = 0;
	if ((gz = gzopen(file, "rb")) == NULL) {
		rc = errno ? errno : ENOMEM;
		free(buf);
		return zn_err_set(err, rc, "%s: %s", file, strerror(rc));
	}
	if ((rc = add_file(g, file, &rd.fileno)) != 0) {
		zn_err_set(err, ENOMEM, "%s: out of memory", file);
		goto out;
	}
	while (gzgets(gz, buf, GEO_LINE_MAX) != NULL) {
		size_t len = strlen(buf);
		char *s = buf;

		rd.line++;
		if (len == GEO_LINE_MAX - 1 && buf[len - 1] != '\n') {
			int c;

			while ((c = gzgetc(gz)) != -1 && c != '\n')
				;
			if ((rc = bad(&rd, err, "line", "longer than %d bytes",
			         GEO_LINE_MAX - 2)) != 0)
				goto out;
			continue;
		}
		while (
		    len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (rd.line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3; /* a UTF-8 byte order mark */
		if (*s == '\0' || *s == '#')
			continue;
		if ((nf = split_csv(s, f, GEO_MAXFIELDS)) < 0) {
			if (first) {
				rc = zn_err_set(err, EINVAL,
				    "%s:%lu: format: bad CSV quoting", file,
				    rd.line);
				goto out;
			}
			if ((rc = bad(&rd, err, "line", "bad CSV quoting")) !=
			    0)
				goto out;
			continue;
		}
		if (first) {
			first = false;
			if ((rc = detect(&rd, f, nf, &data, err)) != 0)
				goto out;
			if (!data)
				continue;
		}
		g->nlines++;
		switch (rd.kind) {
		case K_IP2LOCATION:
			if (ip2l_first) {
				ip2l_first = false;
				ip2l_edition(&rd, f, nf);
			}
			__attribute__((fallthrough));
		case K_DBIP:
			rc = line_range(&rd, f, nf, err);
			break;
		case K_MM_BLOCKS:
			g->maxmind_blocks = true;
			rc = line_mm_blocks(&rd, f, nf, err);
			break;
		case K_MM_LOCATIONS:
			rc = line_mm_locations(&rd, f, nf, err);
			break;
		}
		if (rc != 0) {
			if (rc == -ENOMEM)
				zn_err_set(err, ENOMEM, "%s: out of memory",
				    file);
			goto out;
		}
	}
	/* a read error, or a truncated or corrupt gzip file */
	{
		int zerr;
		const char *msg = gzerror(gz, &zerr);

		size_t flen = strlen(file);

		/* zlib's message starts with the path */
		if (strncmp(msg, file, flen) == 0 && msg[flen] == ':' &&
		    msg[flen + 1] == ' ')
			msg += flen + 2;
		if ((zerr != Z_OK && zerr != Z_STREAM_END) || !gzeof(gz)) {
			rc = zn_err_set(err, EIO, "%s: %s", file,
			    zerr == Z_ERRNO ? strerror(errno) : msg);
			goto out;
		}
	}
	if (first) {
		rc = zn_err_set(err, EINVAL, "%s: format: empty file", file);
		goto out;
	}
	if (fmt != NULL)
		*fmt = kind_format(rd.kind);
out:
	gzclose(gz);
	free(buf);
	return rc;
}

static int
cmp_loc(const void *a, const void *b)
{
	const struct zn_geo_loc *x = a, *y = b;

	/* qsort is not stable: the reading order decides between equal ids */
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort by family, start, then reading order (file, line). */
static int
cmp_range(const void *a, const void *b)
{
	const struct zn_geo_range *x = a, *y = b;

	if (x->v6 != y->v6)
		return x->v6 ? 1 : -1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* bsearch after the duplicates are gone: the id alone */
static int
cmp_loc_id(const void *a, const void *b)
{
	const struct zn_geo_loc *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct zn_geo_loc *
find_loc(const struct zn_geo *g, uint32_t id)
{
	struct zn_geo_loc key = { .id = id };

	if (id == 0 || g->nloc == 0)
		return NULL;
	return bsearch(&key, g->loc, g->nloc, sizeof(key), cmp_loc_id);
}

/* Resolve the MaxMind geoname ids; ranges left without a country are
 * dropped. */
static int
resolve(struct zn_geo *g, struct zn_err *err)
{
	size_t i, j, n = 0;
	int rc;

	if (g->maxmind_blocks && g->nloc == 0)
		return zn_err_set(err, EINVAL,
		    "no GeoLite2-Country-Locations file given for the MaxMind blocks");
	if (g->nloc > 1)
		qsort(g->loc, g->nloc, sizeof(*g->loc), cmp_loc);
	for (i = j = 0; i < g->nloc; i++) /* duplicates: the first read */
		if (j == 0 || g->loc[j - 1].id != g->loc[i].id)
			g->loc[j++] = g->loc[i];
	g->nloc = j;
	for (i = 0; i < g->nr; i++) {
		struct zn_geo_range *r = &g->r[i];

		if (r->cc[0] == '\0') {
			uint32_t id = r->geoname ? r->geoname : r->regname;
			const struct zn_geo_loc *l = find_loc(g, id);

			if (l == NULL) {
				struct rd rd = { .g = g,
					.file = g->files[r->file],
					.line = r->line };

				if ((rc = bad(&rd, err,
				         r->geoname ?
				             "geoname_id" :
				             "registered_country_geoname_id",
				         "%u not in the locations file",
				         (unsigned)id)) != 0)
					return rc;
				continue;
			}
			if (l->cc[0] == '\0') {
				g->nnocc++;
				continue;
			}
			memcpy(r->cc, l->cc, 3);
		}
		g->r[n++] = *r;
	}
	g->nr = n;
	return 0;
}

/*
 * The overlap sweep of zn_geo_finish: the ranges sorted by (v6, lo), an
 * address belongs to the range read first of those holding it.  A heap of
 * the ranges that have started holds them by reading order (expired ones
 * leave it when they reach the top); its top owns the addresses up to its
 * end or the next start.
 */
struct sweep {
	struct zn_geo *g;
	struct zn_err *err;
	size_t *heap, nheap;
	bool *told; /* per range: its overlap was reported */
	struct zn_geo_range *out;
	size_t nout;
};

/* Read before: file, line, then the order of the sort (mapped splits). */
static bool
read_before(const struct zn_geo_range *r, size_t a, size_t b)
{
	if (r[a].file != r[b].file)
		return r[a].file < r[b].file;
	if (r[a].line != r[b].line)
		return r[a].line < r[b].line;
	return a < b;
}

static void
heap_push(struct sweep *sw, size_t i)
{
	const struct zn_geo_range *r = sw->g->r;
	size_t k = sw->nheap++, up;

	while (k > 0 && read_before(r, i, sw->heap[up = (k - 1) / 2])) {
		sw->heap[k] = sw->heap[up];
		k = up;
	}
	sw->heap[k] = i;
}

static void
heap_pop(struct sweep *sw)
{
	const struct zn_geo_range *r = sw->g->r;
	size_t last = sw->heap[--sw->nheap], k = 0, c;

	while ((c = 2 * k + 1) < sw->nheap) {
		if (c + 1 < sw->nheap &&
		    read_before(r, sw->heap[c + 1], sw->heap[c]))
			c++;
		if (!read_before(r, sw->heap[c], last))
			break;
		sw->heap[k] = sw->heap[c];
		k = c;
	}
	if (sw->nheap > 0)
		sw->heap[k] = last;
}

/* Range lost (part of) its addresses to the earlier range won. */
static int
overlap(struct sweep *sw, size_t lost, size_t won)
{
	struct zn_geo *g = sw->g;
	const struct zn_geo_range *r = &g->r[lost], *p = &g->r[won];
	char a[64], b[64], msg[512];

	if (sw->told[lost])
		return 0; /* once per range */
	sw->told[lost] = true;
	zn_geo_cidr_format(p->v6, p->lo, p->v6 ? 128 : 32, a);
	zn_geo_cidr_format(p->v6, p->hi, p->v6 ? 128 : 32, b);
	*strchr(a, '/') = '\0';
	*strchr(b, '/') = '\0';
	if (g->opts.strict)
		return zn_err_set(sw->err, EINVAL,
		    "%s:%u: range: overlaps %s-%s (%s) from %s:%u",
		    g->files[r->file], r->line, a, b, p->cc, g->files[p->file],
		    p->line);
	g->noverlap++;
	if (g->opts.warn != NULL) {
		snprintf(msg, sizeof(msg),
		    "%s:%u: range: overlaps %s-%s (%s) from %s:%u; the overlap is kept as %s",
		    g->files[r->file], r->line, a, b, p->cc, g->files[p->file],
		    p->line, p->cc);
		g->opts.warn(g->opts.warn_ctx, msg);
	}
	return 0;
}

/* [lo, hi] belongs to range i: append it, merged with an adjacent range
 * of the same country. */
static void
emit(struct sweep *sw, size_t i, zn_geo_u128 lo, zn_geo_u128 hi)
{
	const struct zn_geo_range *r = &sw->g->r[i];
	struct zn_geo_range *p = sw->nout ? &sw->out[sw->nout - 1] : NULL;

	if (p != NULL && p->v6 == r->v6 && p->hi + 1 == lo &&
	    strcmp(p->cc, r->cc) == 0) {
		p->hi = hi;
		return;
	}
	p = &sw->out[sw->nout++];
	*p = *r;
	p->lo = lo;
	p->hi = hi;
}

/*
 * Every range of one family starting at first (sorted); returns the
 * index after them, or (size_t)-1 with err set (strict mode).
 */
static size_t
sweep_family(struct sweep *sw, size_t first)
{
	const struct zn_geo_range *r = sw->g->r;
	size_t i = first, n = sw->g->nr, top;
	bool v6 = r[first].v6;
	zn_geo_u128 x = r[first].lo, end;

	sw->nheap = 0;
	for (;;) {
		/* the ranges ended before x leave from the top */
		while (sw->nheap > 0 && r[sw->heap[0]].hi < x)
			heap_pop(sw);
		if (sw->nheap == 0) {
			if (i == n || r[i].v6 != v6)
				return i;
			x = r[i].lo;
		}
		/* the ranges starting at x: the one that is not on top has
		 * lost x (and the one below it had, see the invariant: an
		 * active range not on top has been reported) */
		for (; i < n && r[i].v6 == v6 && r[i].lo == x; i++) {
			top = sw->nheap > 0 ? sw->heap[0] : i;
			heap_push(sw, i);
			if (top == i)
				continue;
			if (sw->heap[0] == i ? overlap(sw, top, i) != 0 :
			                       overlap(sw, i, top) != 0)
				return (size_t)-1;
		}
		top = sw->heap[0];
		end = r[top].hi;
		if (i < n && r[i].v6 == v6 && r[i].lo <= end)
			end = r[i].lo - 1;
		emit(sw, top, x, end);
		if (end == ~(zn_geo_u128)0) /* the end of IPv6 */
			return i;
		x = end + 1;
	}
}

/*
 * Finish reading (see geo.h).
 */
int
zn_geo_finish(struct zn_geo *g, struct zn_err *err)
{
	struct sweep sw = { .g = g, .err = err };
	size_t i = 0;
	int rc;

	if ((rc = resolve(g, err)) != 0)
		return rc;
	if (g->nr == 0)
		return 0;
	if (g->nr > 1) /* qsort(NULL, 0) is undefined */
		qsort(g->r, g->nr, sizeof(*g->r), cmp_range);
	/* each start and end makes at most one piece */
	sw.heap = reallocarray(NULL, g->nr, sizeof(*sw.heap));
	sw.told = calloc(g->nr, sizeof(*sw.told));
	sw.out = reallocarray(NULL, g->nr, 2 * sizeof(*sw.out));
	if (sw.heap == NULL || sw.told == NULL || sw.out == NULL) {
		rc = zn_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (i < g->nr)
		if ((i = sweep_family(&sw, i)) == (size_t)-1) {
			rc = -EINVAL;
			goto out;
		}
	free(g->r);
	g->r = sw.out;
	g->capr = 2 * g->nr;
	g->nr = sw.nout;
	sw.out = NULL;
out:
	free(sw.heap);
	free(sw.told);
	free(sw.out);
	return rc;
}

/*
 * Split a range into CIDRs (see geo.h).
 */
int
zn_geo_split(zn_geo_u128 lo, zn_geo_u128 hi, unsigned width, zn_geo_cidr_fn fn,
    void *ctx)
{
	zn_geo_u128 max =
	    width == 128 ? ~(zn_geo_u128)0 : ((zn_geo_u128)1 << width) - 1;
	int rc;

	if ((width != 32 && width != 128) || lo > hi || hi > max)
		return -EINVAL;
	for (;;) {
		zn_geo_u128 mask = 0; /* size of the block - 1 */
		unsigned k = 0;

		/* the largest aligned block at lo that ends by hi */
		while (k < width) {
			zn_geo_u128 m = k + 1 == 128 ?
			    ~(zn_geo_u128)0 :
			    ((zn_geo_u128)1 << (k + 1)) - 1;

			if ((lo & m) != 0 || hi - lo < m)
				break;
			mask = m;
			k++;
		}
		if ((rc = fn(ctx, lo, width - k)) != 0)
			return rc;
		if (lo + mask == hi)
			return 0;
		lo += mask + 1;
	}
}

/*
 * Format a CIDR (see geo.h).
 */
void
zn_geo_cidr_format(bool v6, zn_geo_u128 addr, unsigned bits, char *buf)
{
	uint8_t a[16];
	int i;

	if (!v6) {
		zn_ip4_format((uint32_t)addr, buf);
	} else {
		for (i = 15; i >= 0; i--) {
			a[i] = (uint8_t)addr;
			addr >>= 8;
		}
		zn_ip6_format(a, buf);
	}
	snprintf(buf + strlen(buf), 5, "/%u", bits);
}
