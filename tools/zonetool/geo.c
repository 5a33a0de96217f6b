/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zonetool geo: a country database (DB-IP lite, IP2Location LITE DB1 or
 * MaxMind GeoLite2-Country CSV; zones/geo.h reads them) into rbldnsd
 * datasets listing the networks of selected countries:
 *
 *   geo [-o OUTPREFIX] [--format dbip|ip2location|maxmind] [--strict]
 *       --country CC[=A[:TXT]] ... [--default-value A] FILE...
 *
 * writes OUTPREFIX.ip4 (ip4trie) and OUTPREFIX.ip6 (ip6trie), each
 * replaced atomically (a temporary file, then rename), and prints a
 * summary per country.  Exit codes: 0 success, 1 failure (a file that
 * cannot be read, a bad line with --strict, a write error), 2 usage.
 */
#include "config.h"

#include "geo.h"

#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zones.h"

int cmd_geo(int argc, char **argv);

#define GEO_MAXCOUNTRIES 300
#define DEFAULT_PREFIX "country"

static const char *prog = "zonetool";

struct country {
	char cc[3];
	char a[INET_ADDRSTRLEN]; /* "" the default value */
	const char *txt; /* NULL: the default text; "" none */
	uint64_t nets4, nets6, addrs4;
	zn_geo_u128 addrs6;
};

struct out {
	FILE *f;
	char *tmp, *path;
};

static void
geo_usage(void)
{
	fprintf(stderr,
	    "usage: %s geo [-o OUTPREFIX] [--format dbip|ip2location|maxmind] "
	    "[--strict]\n"
	    "           --country CC[=A[:TXT]] ... [--default-value A] "
	    "FILE...\n",
	    prog);
	exit(2);
}

static void
warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", prog, msg);
}

static bool
valid_a(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1 && a.s_addr != 0;
}

/* CC[=A[:TXT]]; 0 or -1 with a message. */
static int
parse_country(char *arg, struct country *c)
{
	char *eq = strchr(arg, '='), *colon = NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (eq != NULL) {
		*eq++ = '\0';
		if ((colon = strchr(eq, ':')) != NULL)
			*colon++ = '\0';
	}
	if (strlen(arg) != 2 ||
	    strspn(arg,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != 2) {
		fprintf(stderr, "%s: --country %s: not a two-letter code\n",
		    prog, arg);
		return -1;
	}
	c->cc[0] = arg[0] & ~0x20;
	c->cc[1] = arg[1] & ~0x20;
	if (eq != NULL) {
		if (!valid_a(eq)) {
			fprintf(stderr,
			    "%s: --country %s: %s: not an IPv4 address for the A record\n",
			    prog, c->cc, eq);
			return -1;
		}
		snprintf(c->a, sizeof(c->a), "%s", eq);
	}
	if (colon != NULL) {
		if (strlen(colon) > ZN_TXT_MAX) {
			fprintf(stderr,
			    "%s: --country %s: TXT longer than %d bytes\n",
			    prog, c->cc, ZN_TXT_MAX);
			return -1;
		}
		for (i = 0; colon[i] != '\0'; i++)
			if ((unsigned char)colon[i] < 0x20 ||
			    colon[i] == 0x7f) {
				fprintf(stderr,
				    "%s: --country %s: control character in the TXT\n",
				    prog, c->cc);
				return -1;
			}
		c->txt = colon;
	}
	return 0;
}

/* A decimal u128 into buf (at least 40 bytes). */
static const char *
u128_str(zn_geo_u128 v, char *buf)
{
	char tmp[40];
	size_t n = 0, i;

	do {
		tmp[n++] = '0' + (int)(v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return buf;
}

struct count_ctx {
	uint64_t nets;
	zn_geo_u128 addrs;
	unsigned width;
};

static int
count_cidr(void *ctx, zn_geo_u128 addr, unsigned bits)
{
	struct count_ctx *c = ctx;
	unsigned host = c->width - bits;
	zn_geo_u128 size =
	    host == 128 ? ~(zn_geo_u128)0 : (zn_geo_u128)1 << host;

	(void)addr;
	c->nets++;
	/* saturate: all of IPv6 does not fit */
	c->addrs =
	    c->addrs + size < c->addrs ? ~(zn_geo_u128)0 : c->addrs + size;
	return 0;
}

struct write_ctx {
	FILE *f;
	bool v6;
};

static int
write_cidr(void *ctx, zn_geo_u128 addr, unsigned bits)
{
	struct write_ctx *w = ctx;
	char buf[64];

	zn_geo_cidr_format(w->v6, addr, bits, buf);
	if (fprintf(w->f, "%s\n", buf) < 0)
		return -EIO;
	return 0;
}

static void
count_all(const struct zn_geo *g, struct country *c, size_t nc)
{
	size_t i, j;

	for (j = 0; j < nc; j++) {
		struct count_ctx c4 = { .width = 32 }, c6 = { .width = 128 };

		for (i = 0; i < g->nr; i++) {
			const struct zn_geo_range *r = &g->r[i];

			if (strcmp(r->cc, c[j].cc) != 0)
				continue;
			zn_geo_split(r->lo, r->hi, r->v6 ? 128 : 32, count_cidr,
			    r->v6 ? &c6 : &c4);
		}
		c[j].nets4 = c4.nets;
		c[j].addrs4 = (uint64_t)c4.addrs;
		c[j].nets6 = c6.nets;
		c[j].addrs6 = c6.addrs;
	}
}

/* A name for a header comment: control characters replaced. */
static void
put_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static int
out_open(struct out *o, const char *prefix, const char *ext)
{
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	if (asprintf(&o->path, "%s.%s", prefix, ext) < 0) {
		o->path = NULL;
		return -1;
	}
	if (asprintf(&o->tmp, "%s.%s.XXXXXX", prefix, ext) < 0) {
		o->tmp = NULL;
		return -1;
	}
	if ((fd = mkstemp(o->tmp)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->tmp, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* readable by the server's user, as a plain file would be */
	mask = umask(022);
	umask(mask);
	if (fchmod(fd, 0644 & ~mask) != 0 || (o->f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->tmp, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* Flush, sync and close o's temporary file; 0 or -1 with a message. */
static int
out_sync(struct out *o)
{
	int rc = 0;

	if (fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->tmp,
		    strerror(errno ? errno : EIO));
		rc = -1;
	}
	if (fclose(o->f) != 0 && rc == 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->tmp, strerror(errno));
		rc = -1;
	}
	o->f = NULL;
	return rc;
}

/* Rename o's temporary file into place; 0 or -1 with a message. */
static int
out_rename(struct out *o)
{
	if (rename(o->tmp, o->path) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->path, strerror(errno));
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

/* Drop what is left of o: close and remove its temporary file. */
static void
out_cleanup(struct out *o)
{
	if (o->f != NULL)
		fclose(o->f);
	if (o->tmp != NULL)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

static int
write_dataset(FILE *f, const struct zn_geo *g, bool v6, const struct country *c,
    size_t nc, const char *defa, char **files, const enum zn_geo_format *fmts,
    int nfiles)
{
	struct write_ctx w = { .f = f, .v6 = v6 };
	char stamp[32], buf[40];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, j;
	int k;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f,
	    "# %s dataset of countries, written by zonetool geo on %s\n"
	    "# from:\n",
	    v6 ? "ip6trie" : "ip4trie", stamp);
	for (k = 0; k < nfiles; k++) {
		fputs("#   ", f);
		put_safe(f, files[k]);
		fprintf(f, " (%s)\n", zn_geo_format_name(fmts[k]));
	}
	for (j = 0; j < nc; j++)
		fprintf(f, "# %s: %ju networks, %s addresses\n", c[j].cc,
		    (uintmax_t)(v6 ? c[j].nets6 : c[j].nets4),
		    v6 ? u128_str(c[j].addrs6, buf) :
		         u128_str(c[j].addrs4, buf));
	for (j = 0; j < nc; j++) {
		/* a default line sets the value of the entries after it */
		fprintf(f, "\n# %s\n:%s:", c[j].cc, c[j].a[0] ? c[j].a : defa);
		if (c[j].txt == NULL)
			fprintf(f, "Mail from %s refused: listed by country\n",
			    c[j].cc);
		else
			fprintf(f, "%s\n", c[j].txt);
		for (i = 0; i < g->nr; i++) {
			const struct zn_geo_range *r = &g->r[i];

			if (r->v6 != v6 || strcmp(r->cc, c[j].cc) != 0)
				continue;
			if (zn_geo_split(r->lo, r->hi, v6 ? 128 : 32,
			        write_cidr, &w) != 0)
				return -1;
		}
	}
	return ferror(f) ? -1 : 0;
}

/*
 * zonetool geo (see the top of this file).
 */
int
cmd_geo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "country", required_argument, NULL, 'c' },
		{ "default-value", required_argument, NULL, 'a' },
		{ "strict", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct zn_geo_opts gopts = { .warn = warn_stderr };
	struct country *c;
	struct zn_geo g;
	struct zn_err err;
	struct out o4, o6;
	enum zn_geo_format *fmts = NULL;
	const char *prefix = DEFAULT_PREFIX, *defa = "127.0.0.2";
	char buf[40];
	size_t nc = 0, i, j;
	int ch, k, rc = 1;

	if ((c = calloc(GEO_MAXCOUNTRIES, sizeof(*c))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	while (
	    (ch = getopt_long(argc, argv, "o:f:c:a:s", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			prefix = optarg;
			break;
		case 'f':
			if (zn_geo_format_parse(optarg, &gopts.format) != 0) {
				fprintf(stderr,
				    "%s: --format %s: not dbip, ip2location or maxmind\n",
				    prog, optarg);
				free(c);
				return 2;
			}
			break;
		case 'c':
			if (nc == GEO_MAXCOUNTRIES) {
				fprintf(stderr, "%s: more than %d countries\n",
				    prog, GEO_MAXCOUNTRIES);
				free(c);
				return 2;
			}
			if (parse_country(optarg, &c[nc]) != 0) {
				free(c);
				return 2;
			}
			for (j = 0; j < nc; j++)
				if (strcmp(c[j].cc, c[nc].cc) == 0) {
					fprintf(stderr,
					    "%s: --country %s: given twice\n",
					    prog, c[nc].cc);
					free(c);
					return 2;
				}
			nc++;
			break;
		case 'a':
			if (!valid_a(optarg)) {
				fprintf(stderr,
				    "%s: --default-value %s: not an IPv4 address\n",
				    prog, optarg);
				free(c);
				return 2;
			}
			defa = optarg;
			break;
		case 's':
			gopts.strict = true;
			break;
		default:
			free(c);
			geo_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || nc == 0 || *prefix == '\0') {
		free(c);
		geo_usage();
	}
	if ((fmts = calloc(argc, sizeof(*fmts))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		free(c);
		return 1;
	}
	zn_geo_init(&g, &gopts);
	memset(&o4, 0, sizeof(o4));
	memset(&o6, 0, sizeof(o6));
	for (k = 0; k < argc; k++) {
		size_t before = g.nlines;

		if (zn_geo_read(&g, argv[k], &fmts[k], &err) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			goto out;
		}
		printf("%s: %s, %zu lines\n", argv[k],
		    zn_geo_format_name(fmts[k]), g.nlines - before);
	}
	if (zn_geo_finish(&g, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	count_all(&g, c, nc);
	if (out_open(&o4, prefix, "ip4") != 0 ||
	    out_open(&o6, prefix, "ip6") != 0)
		goto out;
	if (write_dataset(o4.f, &g, false, c, nc, defa, argv, fmts, argc) !=
	        0 ||
	    write_dataset(o6.f, &g, true, c, nc, defa, argv, fmts, argc) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, prefix, strerror(errno));
		goto out;
	}
	/* both files complete on disk before either replaces the old one */
	if (out_sync(&o4) != 0 || out_sync(&o6) != 0 || out_rename(&o4) != 0 ||
	    out_rename(&o6) != 0)
		goto out;
	for (i = 0; i < nc; i++) {
		printf("%s: %ju IPv4 networks (%ju addresses), %ju IPv6 "
		       "networks (%s addresses)\n",
		    c[i].cc, (uintmax_t)c[i].nets4, (uintmax_t)c[i].addrs4,
		    (uintmax_t)c[i].nets6, u128_str(c[i].addrs6, buf));
		if (c[i].nets4 == 0 && c[i].nets6 == 0)
			fprintf(stderr, "%s: --country %s: not in the input\n",
			    prog, c[i].cc);
	}
	printf("%s.ip4, %s.ip6 written; %zu bad lines skipped, %zu "
	       "overlapping ranges trimmed, %zu ranges without a country\n",
	    prefix, prefix, g.nbad, g.noverlap, g.nnocc);
	rc = 0;
out:
	out_cleanup(&o4);
	out_cleanup(&o6);
	zn_geo_cleanup(&g);
	free(fmts);
	free(c);
	return rc;
}
