/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "geo": libzones' country database readers (zones/geo.c:
 * zn_geo_read of DB-IP lite, IP2Location LITE DB1 and MaxMind
 * GeoLite2-Country CSV files, zn_geo_finish) and the CIDR split
 * (zn_geo_split, zn_geo_cidr_format) that zonetool geo writes with.
 *
 * Input: one selector byte, then the files' text.  The text is split at
 * NUL bytes into at most three files (a MaxMind run needs the blocks and
 * the locations file), read in that order.  Selector bits:
 *   0-1  the format asked for: 0 auto, 1 dbip, 2 ip2location, 3 maxmind
 *   2    strict (a bad line or an overlap fails)
 *   3    write the files gzip-compressed
 *   4    with bit 3: cut the last byte of the first file (a truncated
 *        gzip file must fail the read)
 *   5    no warning callback
 * So ASCII '@' is auto, 'A' dbip, 'B' ip2location, 'C' maxmind, 'D'..'G'
 * the same strict, 'H'..'K' gzip'd.
 *
 * Checked after each input: a failure explains itself naming the file
 * (or the missing locations file), warnings name file:line, a format
 * asked for is the one found; after zn_geo_finish the ranges are sorted
 * by (family, start), lo <= hi within the family's space, disjoint, have
 * a two-letter upper-case country, adjacent ranges of one country are
 * merged, and every address has the country of the range geo.h says
 * keeps it: the range read first of those that hold it (MaxMind ones
 * given their location's country, the first location read for an id; a
 * model computed here from the ranges as read, at every boundary); so
 * nothing outside the input is emitted and nothing with a country is
 * lost.  Strict success means no two such ranges overlap.  Each range's
 * CIDR split is checked: consecutive aligned blocks from lo to hi, each
 * maximal (the fewest), and every block renders and parses back.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"
#include "geo.h"

#define NFILES 3
#define MODEL_MAX 600 /* ranges; beyond this only the cheap checks */

static char dir[64];
static char paths[NFILES][96];
static size_t nwarn;

static void
cleanup(void)
{
	int i;

	for (i = 0; i < NFILES; i++)
		unlink(paths[i]);
	rmdir(dir);
}

static void
setup(void)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int i;

	snprintf(dir, sizeof(dir), "%s/fuzz-geo.XXXXXX", tmp);
	FUZZ_SETUP(mkdtemp(dir) != NULL, "mkdtemp");
	for (i = 0; i < NFILES; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/f%d.csv", dir, i);
	atexit(cleanup);
}

/* A warning is "file:line: field: why" for one of the files read. */
static void
warn_cb(void *ctx, const char *msg)
{
	int nfiles = *(int *)ctx, i;
	bool named = false;

	FUZZ_CHECK(msg != NULL && strlen(msg) < 512);
	for (i = 0; i < nfiles; i++) {
		size_t n = strlen(paths[i]);

		if (strncmp(msg, paths[i], n) == 0 && msg[n] == ':' &&
		    msg[n + 1] >= '1' && msg[n + 1] <= '9')
			named = true;
	}
	FUZZ_CHECK(named);
	nwarn++;
}

static void
write_file(const char *path, const uint8_t *p, size_t n, bool gz, bool cut)
{
	FILE *f;

	if (!gz) {
		FUZZ_SETUP((f = fopen(path, "wb")) != NULL, path);
		FUZZ_SETUP(n == 0 || fwrite(p, 1, n, f) == n, "write");
		FUZZ_SETUP(fclose(f) == 0, "write");
		return;
	}
	{
		gzFile z = gzopen(path, "wb");

		FUZZ_SETUP(z != NULL, path);
		FUZZ_SETUP(n == 0 || gzwrite(z, p, n) == (int)n, "gzwrite");
		FUZZ_SETUP(gzclose(z) == Z_OK, "gzclose");
	}
	if (cut) {
		FUZZ_SETUP((f = fopen(path, "r+b")) != NULL, path);
		FUZZ_SETUP(fseek(f, 0, SEEK_END) == 0, "fseek");
		FUZZ_SETUP(ftruncate(fileno(f), ftell(f) - 1) == 0, "truncate");
		FUZZ_SETUP(fclose(f) == 0, "close");
	}
}

/* Reading order: the range read first keeps an address. */
static bool
before(const struct zn_geo_range *a, const struct zn_geo_range *b)
{
	if (a->file != b->file)
		return a->file < b->file;
	return a->line < b->line;
}

/*
 * The model: the ranges as read, MaxMind ones given the country of the
 * first location read with their id (or dropped).
 */
static size_t
resolve_model(const struct zn_geo *g, struct zn_geo_range *m)
{
	size_t i, j, n = 0;

	for (i = 0; i < g->nr; i++) {
		struct zn_geo_range r = g->r[i];

		if (r.cc[0] == '\0') {
			uint32_t id = r.geoname ? r.geoname : r.regname;

			for (j = 0; j < g->nloc; j++)
				if (g->loc[j].id == id)
					break;
			if (id == 0 || j == g->nloc || g->loc[j].cc[0] == '\0')
				continue;
			memcpy(r.cc, g->loc[j].cc, 3);
		}
		FUZZ_CHECK(r.lo <= r.hi);
		m[n++] = r;
	}
	return n;
}

/* The range of the model that keeps x, or NULL. */
static const struct zn_geo_range *
model_at(const struct zn_geo_range *m, size_t nm, bool v6, zn_geo_u128 x)
{
	const struct zn_geo_range *best = NULL;
	size_t i;

	for (i = 0; i < nm; i++)
		if (m[i].v6 == v6 && m[i].lo <= x && x <= m[i].hi &&
		    (best == NULL || before(&m[i], best)))
			best = &m[i];
	return best;
}

/* The output range holding x, or NULL. */
static const struct zn_geo_range *
out_at(const struct zn_geo *g, bool v6, zn_geo_u128 x)
{
	size_t i;

	for (i = 0; i < g->nr; i++)
		if (g->r[i].v6 == v6 && g->r[i].lo <= x && x <= g->r[i].hi)
			return &g->r[i];
	return NULL;
}

static void
check_point(const struct zn_geo *g, const struct zn_geo_range *m, size_t nm,
    bool v6, zn_geo_u128 x)
{
	const struct zn_geo_range *want = model_at(m, nm, v6, x);
	const struct zn_geo_range *got = out_at(g, v6, x);

	FUZZ_CHECK((want == NULL) == (got == NULL));
	if (want != NULL)
		FUZZ_CHECK(strcmp(want->cc, got->cc) == 0);
}

struct split_ctx {
	zn_geo_u128 next; /* where the next block must start */
	zn_geo_u128 lo, hi;
	unsigned width;
	bool v6, done;
	size_t n;
};

static int
split_cb(void *ctx, zn_geo_u128 addr, unsigned bits)
{
	struct split_ctx *s = ctx;
	unsigned host;
	zn_geo_u128 mask, big;
	char *buf;
	char *slash;
	uint8_t a[16];
	zn_geo_u128 back = 0;
	int i;

	FUZZ_CHECK(!s->done);
	FUZZ_CHECK(bits <= s->width);
	FUZZ_CHECK(addr == s->next);
	host = s->width - bits;
	mask = host == 128 ? ~(zn_geo_u128)0 : ((zn_geo_u128)1 << host) - 1;
	FUZZ_CHECK((addr & mask) == 0);
	FUZZ_CHECK(s->hi - addr >= mask);
	/* maximal: the block twice the size holding this one does not fit */
	if (host < s->width) {
		big = host + 1 == 128 ? ~(zn_geo_u128)0 :
		                        ((zn_geo_u128)1 << (host + 1)) - 1;
		FUZZ_CHECK(
		    (addr & ~big) < s->lo || s->hi - (addr & ~big) < big);
	}
	s->n++;
	FUZZ_CHECK(s->n <= 2 * s->width);
	if (addr + mask == s->hi)
		s->done = true;
	else
		s->next = addr + mask + 1;

	/* renders in 44 bytes and parses back */
	FUZZ_SETUP((buf = malloc(44)) != NULL, "malloc");
	zn_geo_cidr_format(s->v6, addr, bits, buf);
	FUZZ_CHECK(strlen(buf) < 44);
	FUZZ_CHECK((slash = strchr(buf, '/')) != NULL);
	FUZZ_CHECK((unsigned)atoi(slash + 1) == bits);
	*slash = '\0';
	FUZZ_CHECK(inet_pton(s->v6 ? AF_INET6 : AF_INET, buf, a) == 1);
	for (i = 0; i < (s->v6 ? 16 : 4); i++)
		back = back << 8 | a[i];
	FUZZ_CHECK(back == addr);
	if (s->v6)
		FUZZ_CHECK(strchr(buf, '.') == NULL);
	free(buf);
	return 0;
}

static void
check_split(const struct zn_geo_range *r)
{
	struct split_ctx s;

	memset(&s, 0, sizeof(s));
	s.lo = s.next = r->lo;
	s.hi = r->hi;
	s.v6 = r->v6;
	s.width = r->v6 ? 128 : 32;
	FUZZ_CHECK(zn_geo_split(r->lo, r->hi, s.width, split_cb, &s) == 0);
	FUZZ_CHECK(s.done);
	/* bad arguments are refused */
	FUZZ_CHECK(zn_geo_split(r->lo, r->hi, 64, split_cb, &s) == -EINVAL);
	if (r->lo > 0)
		FUZZ_CHECK(zn_geo_split(r->lo, r->lo - 1, s.width, split_cb,
		               &s) == -EINVAL);
}

static void
check_result(const struct zn_geo *g, const struct zn_geo_range *m, size_t nm,
    bool strict)
{
	size_t i, j;

	for (i = 0; i < g->nr; i++) {
		const struct zn_geo_range *r = &g->r[i], *p = i ? r - 1 : NULL;

		FUZZ_CHECK(r->lo <= r->hi);
		if (!r->v6)
			FUZZ_CHECK(r->hi <= 0xffffffffu);
		FUZZ_CHECK(r->cc[0] >= 'A' && r->cc[0] <= 'Z');
		FUZZ_CHECK(r->cc[1] >= 'A' && r->cc[1] <= 'Z');
		FUZZ_CHECK(r->cc[2] == '\0');
		FUZZ_CHECK(r->file < g->nfiles && r->line >= 1);
		if (p != NULL) {
			FUZZ_CHECK(!p->v6 || r->v6);
			if (p->v6 == r->v6) {
				FUZZ_CHECK(r->lo > p->hi);
				FUZZ_CHECK(r->lo != p->hi + 1 ||
				    strcmp(r->cc, p->cc) != 0);
			}
		}
		check_split(r);
	}
	if (m == NULL)
		return;
	/* the country at every boundary of the model and of the output */
	for (i = 0; i < nm; i++) {
		zn_geo_u128 max = m[i].v6 ? ~(zn_geo_u128)0 : 0xffffffffu;

		check_point(g, m, nm, m[i].v6, m[i].lo);
		check_point(g, m, nm, m[i].v6, m[i].hi);
		if (m[i].lo > 0)
			check_point(g, m, nm, m[i].v6, m[i].lo - 1);
		if (m[i].hi < max)
			check_point(g, m, nm, m[i].v6, m[i].hi + 1);
	}
	for (i = 0; i < g->nr; i++) {
		check_point(g, m, nm, g->r[i].v6, g->r[i].lo);
		check_point(g, m, nm, g->r[i].v6, g->r[i].hi);
	}
	if (strict)
		for (i = 0; i < nm; i++)
			for (j = i + 1; j < nm; j++)
				FUZZ_CHECK(m[i].v6 != m[j].v6 ||
				    m[i].hi < m[j].lo || m[j].hi < m[i].lo);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct zn_geo_opts opts;
	struct zn_geo g;
	struct zn_err err;
	struct zn_geo_range *model = NULL;
	enum zn_geo_format fmt;
	const uint8_t *p, *end;
	size_t nm = 0;
	int nfiles = 0, i, rc = 0;
	bool gz, cut;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.format = data[0] & 3;
	opts.strict = (data[0] & 4) != 0;
	gz = (data[0] & 8) != 0;
	cut = gz && (data[0] & 0x10) != 0;
	if (!(data[0] & 0x20)) {
		opts.warn = warn_cb;
		opts.warn_ctx = &nfiles;
	}
	p = data + 1;
	end = data + size;
	while (nfiles < NFILES) {
		const uint8_t *nul = nfiles < NFILES - 1 ?
		    memchr(p, '\0', (size_t)(end - p)) :
		    NULL;
		size_t n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

		write_file(paths[nfiles], p, n, gz, cut && nfiles == 0);
		nfiles++;
		if (nul == NULL)
			break;
		p = nul + 1;
	}

	zn_geo_init(&g, &opts);
	for (i = 0; i < nfiles; i++) {
		memset(&err, 0, sizeof(err));
		fmt = ZN_GEO_AUTO;
		rc = zn_geo_read(&g, paths[i], &fmt, &err);
		FUZZ_CHECK(
		    rc == 0 || rc == -EINVAL || rc == -EIO || rc == -ENOMEM);
		if (rc != 0) {
			/* the message names the file */
			FUZZ_CHECK(
			    strncmp(err.msg, paths[i], strlen(paths[i])) == 0);
			FUZZ_CHECK(err.msg[strlen(paths[i])] == ':');
			break;
		}
		FUZZ_CHECK(!(i == 0 && cut));
		FUZZ_CHECK(fmt != ZN_GEO_AUTO);
		FUZZ_CHECK(opts.format == ZN_GEO_AUTO || fmt == opts.format);
		FUZZ_CHECK(g.nfiles == (size_t)i + 1);
		if (opts.strict)
			FUZZ_CHECK(g.nbad == 0);
	}
	if (rc == 0) {
		for (i = 0; (size_t)i < g.nr; i++) {
			FUZZ_CHECK(g.r[i].lo <= g.r[i].hi);
			FUZZ_CHECK(g.r[i].v6 || g.r[i].hi <= 0xffffffffu);
		}
		if (g.nr <= MODEL_MAX) {
			model = malloc((g.nr ? g.nr : 1) * sizeof(*model));
			FUZZ_SETUP(model != NULL, "malloc");
			nm = resolve_model(&g, model);
		}
		memset(&err, 0, sizeof(err));
		rc = zn_geo_finish(&g, &err);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
		if (rc != 0) {
			/* a file:line, or the missing locations file */
			bool named = strncmp(err.msg, "no GeoLite2-", 12) == 0;

			for (i = 0; i < nfiles; i++)
				if (strncmp(err.msg, paths[i],
				        strlen(paths[i])) == 0 &&
				    err.msg[strlen(paths[i])] == ':')
					named = true;
			FUZZ_CHECK(named || rc == -ENOMEM);
		} else {
			if (opts.strict)
				FUZZ_CHECK(g.nbad == 0 && g.noverlap == 0);
			check_result(&g, model, nm, opts.strict);
		}
	}
	free(model);
	zn_geo_cleanup(&g);
	return 0;
}
