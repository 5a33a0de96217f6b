/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "http.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "feed.h"
#include "log.h"

#define HTTP_TIMEOUT 5 /* seconds for a request */
#define HTTP_HEADERS_MAX 8192

const char *const zstate_names[ZS_N] = {
	"ok",
	"stale",
	"expired",
	"empty",
	"never-synced",
};

struct http {
	int fd;
	char text[64];
	struct evhttp *eh;
	struct zn_db *db;
	struct acct *acct;
	struct upstream *up;
	const struct rd_status *st;
};

/* ---- zone state ---- */

static void
ds_scan(const struct zn_dsref *r, struct zstate *s)
{
	const struct zn_dataset *ds = r->ds;
	size_t i;

	if (ds->type == ZN_COMBINED) {
		for (i = 0; i < r->nsubs; i++)
			ds_scan(&r->subs[i], s);
		return;
	}
	if (ds->type == ZN_ACL || ds->type == ZN_GENERIC)
		return;
	if (ds->type == ZN_DNSET)
		s->names = true;
	else if (ds->type == ZN_IP6TSET || ds->type == ZN_IP6TRIE)
		s->ip6 = true;
	else
		s->ip4 = true;
	s->entries += ds->nsource;
	if (ds->mtime > s->data_time)
		s->data_time = ds->mtime;
	if (ds->ts_expires > 0 &&
	    (s->expires == 0 || ds->ts_expires < s->expires))
		s->expires = ds->ts_expires;
}

static enum zstate_kind
zstate_eval(const struct zstate *s, int64_t now)
{
	if (!s->in_db)
		return ZS_NEVER;
	if (s->expires > 0 && now >= s->expires)
		return ZS_EXPIRED;
	if (s->import_failed)
		return ZS_STALE;
	if (s->feed && s->expires > s->issued && s->issued > 0 &&
	    now > s->expires - (s->expires - s->issued) / 4)
		return ZS_STALE;
	if (s->entries == 0)
		return ZS_EMPTY;
	return ZS_OK;
}

int
zstates_get(struct zn_view *v, struct zn_db *db, const struct rd_status *st,
    int64_t now, struct zstate **out, size_t *n, char *err, size_t errlen)
{
	const struct zn_zone *z;
	const struct config *c = st->conf;
	struct zstate *s;
	size_t nz, i, j, k = 0, nfeed = c != NULL ? c->nfeeds : 0;

	z = zn_view_zones(v, &nz);
	if ((s = calloc(nz + nfeed + 1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nz; i++) {
		struct zstate *e = &s[k];
		struct zn_feed_state fs;
		struct zn_err zerr;

		if (z[i].name[0] == '\0')
			continue;
		k++;
		snprintf(e->name, sizeof(e->name), "%s", z[i].name);
		e->in_db = true;
		for (j = 0; j < z[i].nrefs; j++)
			ds_scan(&z[i].refs[j], e);
		if (z[i].soa_ds != NULL)
			e->serial = z[i].soa_ds->soa.serial;
		if (zn_feed_state_get(db, z[i].name, &fs, &zerr) == 0) {
			e->feed = true;
			e->serial = fs.serial;
			e->entries = fs.entries;
			e->issued = fs.issued;
			e->data_time = fs.issued;
			e->synced = fs.synced;
			if (fs.expires > 0 &&
			    (e->expires == 0 || fs.expires < e->expires))
				e->expires = fs.expires;
		} else {
			e->synced = st->import_ok;
			e->import_failed = st->import_fail > st->import_ok;
		}
		e->state = zstate_eval(e, now);
	}
	for (i = 0; i < nfeed; i++) {
		bool found = false;

		/* feed or files-from: nothing stored yet */
		for (j = 0; j < k && !found; j++)
			found = strcmp(s[j].name, c->feeds[i].name) == 0;
		if (found)
			continue;
		snprintf(s[k].name, sizeof(s[k].name), "%s", c->feeds[i].name);
		s[k].feed = !c->feeds[i].files_from;
		s[k].state = ZS_NEVER;
		k++;
	}
	*out = s;
	*n = k;
	return 0;
}

/* A view of db, refreshed; NULL with err. */
static struct zn_view *
view_get(struct zn_db *db, char *err, size_t errlen)
{
	struct zn_view *v;
	struct zn_err zerr;

	if (zn_view_open(db, &v, &zerr) != 0) {
		snprintf(err, errlen, "database: %.200s", zerr.msg);
		return NULL;
	}
	if (zn_view_refresh(v, &zerr) < 0) {
		snprintf(err, errlen, "database: %.200s", zerr.msg);
		zn_view_close(v);
		return NULL;
	}
	return v;
}

void
zstates_write(struct zn_db *db, struct acct *acct, const struct rd_status *st,
    FILE *f, bool json)
{
	struct zn_view *v;
	struct zstate *s = NULL;
	char err[256];
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;

	if ((v = view_get(db, err, sizeof(err))) == NULL ||
	    zstates_get(v, db, st, now, &s, &n, err, sizeof(err)) != 0) {
		if (json) {
			fputs("{\"error\":", f);
			zn_json_str(f, err);
			fputs("}\n", f);
		} else
			fprintf(f, "%s\n", err);
		if (v != NULL)
			zn_view_close(v);
		return;
	}
	zn_view_close(v);
	if (json)
		fprintf(f, "{\"now\":%" PRId64 ",\"zones\":[", now);
	else
		fprintf(f, "%-28s %-12s %10s %10s %8s %-20s %-20s %10s %10s\n",
		    "zone", "state", "serial", "entries", "age", "last sync",
		    "expires", "queries", "listed");
	for (i = 0; i < n; i++) {
		struct acct_counters ac;
		char t1[32], t2[32], age[24];

		memset(&ac, 0, sizeof(ac));
		if (acct != NULL)
			acct_zone_counters(acct, s[i].name, &ac);
		if (json) {
			fputs(i ? ",{\"zone\":" : "{\"zone\":", f);
			zn_json_str(f, s[i].name);
			fprintf(f,
			    ",\"state\":\"%s\",\"source\":\"%s\","
			    "\"serial\":%" PRIu64 ",\"entries\":%" PRIu64,
			    zstate_names[s[i].state],
			    s[i].feed ? "feed" : "files", s[i].serial,
			    s[i].entries);
			if (s[i].data_time > 0)
				fprintf(f,
				    ",\"data_time\":%" PRId64
				    ",\"age\":%" PRId64,
				    s[i].data_time, now - s[i].data_time);
			else
				fputs(",\"data_time\":null,\"age\":null", f);
			if (s[i].synced > 0)
				fprintf(f, ",\"last_sync\":%" PRId64,
				    s[i].synced);
			else
				fputs(",\"last_sync\":null", f);
			if (s[i].expires > 0)
				fprintf(f,
				    ",\"expires\":%" PRId64
				    ",\"expires_in\":%" PRId64,
				    s[i].expires, s[i].expires - now);
			else
				fputs(",\"expires\":null,\"expires_in\":null",
				    f);
			fprintf(f,
			    ",\"import_failed\":%s,\"queries\":%" PRIu64
			    ",\"listed\":%" PRIu64 "}",
			    s[i].import_failed ? "true" : "false", ac.v[AC_Q],
			    ac.v[AC_LISTED]);
			continue;
		}
		zn_time_iso(s[i].synced, t1, sizeof(t1));
		zn_time_iso(s[i].expires, t2, sizeof(t2));
		if (s[i].data_time > 0)
			snprintf(age, sizeof(age), "%" PRId64 "s",
			    now - s[i].data_time);
		else
			snprintf(age, sizeof(age), "-");
		fprintf(f,
		    "%-28s %-12s %10" PRIu64 " %10" PRIu64
		    " %8s %-20s %-20s %10" PRIu64 " %10" PRIu64 "\n",
		    s[i].name, zstate_names[s[i].state], s[i].serial,
		    s[i].entries, age, t1, t2, ac.v[AC_Q], ac.v[AC_LISTED]);
	}
	if (json)
		fputs("]}\n", f);
	free(s);
}

/* ---- /metrics ---- */

/* A label value: \\, \" and \n escaped; bytes that are not printable
 * ASCII become U+FFFD, so the value is always valid UTF-8. */
static void
prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\' || ch == '"')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20 || ch >= 0x7f)
			fputs("\xef\xbf\xbd", f);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The metric families are tables: a family is a name, a type, a help
 * text and where its value is in a row (a struct the page's data comes
 * in: a zone's counters, a zone's state, the cache's stats, an upstream
 * server's health, the daemon's status), written as one sample per row
 * with the row's labels.  The zone state and the latency histogram,
 * several samples per row, are written by hand.
 */
enum mval {
	MV_U64, /* the uint64_t at off */
	MV_I64, /* the int64_t at off */
	MV_UINT, /* the unsigned at off */
	MV_BOOL, /* the bool at off, as 0 or 1 */
	MV_AGE, /* now - the int64_t at off; no sample if that is <= 0 */
	MV_UNTIL, /* the int64_t at off - now; no sample if that is <= 0 */
	MV_US, /* the uint64_t microseconds at off, as seconds */
};

#define NO_NEED ((size_t)-1)

struct metric {
	const char *name, *type, *help;
	enum mval val;
	size_t off;
	size_t need; /* NO_NEED, or a uint64_t that must not be 0 */
};

/* A row's labels, "{...}", or nothing. */
typedef void (*metric_labels)(FILE *f, const void *row);

static uint64_t
row_u64(const char *row, size_t off)
{
	uint64_t v;

	memcpy(&v, row + off, sizeof(v));
	return v;
}

static int64_t
row_i64(const char *row, size_t off)
{
	int64_t v;

	memcpy(&v, row + off, sizeof(v));
	return v;
}

/* One family: its head, then a sample per row of rows[0..n). */
static void
metric_write(FILE *f, const struct metric *m, const void *rows, size_t size,
    size_t n, metric_labels labels, int64_t now)
{
	size_t i;

	prom_head(f, m->name, m->type, m->help);
	for (i = 0; i < n; i++) {
		const char *row = (const char *)rows + i * size;
		int64_t t = 0;
		unsigned u;
		bool b;

		if (m->need != NO_NEED && row_u64(row, m->need) == 0)
			continue;
		if (m->val == MV_AGE || m->val == MV_UNTIL) {
			if ((t = row_i64(row, m->off)) <= 0)
				continue;
		}
		fputs(m->name, f);
		if (labels != NULL)
			labels(f, row);
		switch (m->val) {
		case MV_U64:
			fprintf(f, " %" PRIu64 "\n", row_u64(row, m->off));
			break;
		case MV_I64:
			fprintf(f, " %" PRId64 "\n", row_i64(row, m->off));
			break;
		case MV_UINT:
			memcpy(&u, row + m->off, sizeof(u));
			fprintf(f, " %u\n", u);
			break;
		case MV_BOOL:
			memcpy(&b, row + m->off, sizeof(b));
			fprintf(f, " %d\n", b ? 1 : 0);
			break;
		case MV_AGE:
			fprintf(f, " %" PRId64 "\n", now - t);
			break;
		case MV_UNTIL:
			fprintf(f, " %" PRId64 "\n", t - now);
			break;
		case MV_US:
			fprintf(f, " %.6f\n",
			    (double)row_u64(row, m->off) / 1e6);
			break;
		}
	}
}

static void
metric_table(FILE *f, const struct metric *m, size_t nm, const void *rows,
    size_t size, size_t n, metric_labels labels, int64_t now)
{
	size_t k;

	for (k = 0; k < nm; k++)
		metric_write(f, &m[k], rows, size, n, labels, now);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ZCTR(i) (offsetof(struct acct_zone_snap, c.v) + (i) * sizeof(uint64_t))

static const struct metric zone_ctrs[] = {
	{ "resolverd_zone_queries_total", "counter", "Queries for the zone.",
	    MV_U64, ZCTR(AC_Q), NO_NEED },
	{ "resolverd_zone_listed_total", "counter",
	    "Queries answered with a listing.", MV_U64, ZCTR(AC_LISTED),
	    NO_NEED },
	{ "resolverd_zone_notlisted_total", "counter",
	    "Queries answered NXDOMAIN or without a listing.", MV_U64,
	    ZCTR(AC_NOTLISTED), NO_NEED },
	{ "resolverd_zone_errors_total", "counter",
	    "Queries answered with another error, or dropped as malformed.",
	    MV_U64, ZCTR(AC_ERR), NO_NEED },
	{ "resolverd_zone_refused_total", "counter",
	    "Queries refused by an ACL.", MV_U64, ZCTR(AC_REFUSED), NO_NEED },
	{ "resolverd_zone_dropped_total", "counter",
	    "Queries dropped by an ACL.", MV_U64, ZCTR(AC_DROPPED), NO_NEED },
	{ "resolverd_zone_ratelimited_total", "counter",
	    "Queries over a rate limit, quota or RRL.", MV_U64,
	    ZCTR(AC_RATELIMITED), NO_NEED },
	{ "resolverd_zone_forwarded_total", "counter",
	    "Queries for upstream servers (cache hits included).", MV_U64,
	    ZCTR(AC_FORWARDED), NO_NEED },
	{ "resolverd_zone_cache_hits_total", "counter",
	    "Forwarded queries answered from the cache.", MV_U64,
	    ZCTR(AC_CACHED), NO_NEED },
	{ "resolverd_zone_bytes_in_total", "counter",
	    "DNS payload bytes received.", MV_U64, ZCTR(AC_IN), NO_NEED },
	{ "resolverd_zone_bytes_out_total", "counter",
	    "DNS payload bytes sent.", MV_U64, ZCTR(AC_OUT), NO_NEED },
};

static const struct metric since_metric = { "resolverd_counting_since_seconds",
	"gauge", "Unix time the counters started from (they survive restarts).",
	MV_U64, 0, NO_NEED };

static const struct metric zone_fresh[] = {
	{ "resolverd_zone_serial", "gauge",
	    "The zone's feed serial, else its SOA serial (0: none).", MV_U64,
	    offsetof(struct zstate, serial), NO_NEED },
	{ "resolverd_zone_entries", "gauge", "Entries of the zone's data.",
	    MV_U64, offsetof(struct zstate, entries), NO_NEED },
	{ "resolverd_zone_last_sync_age_seconds", "gauge",
	    "Seconds since the zone's last successful sync or import.", MV_AGE,
	    offsetof(struct zstate, synced), NO_NEED },
	{ "resolverd_zone_data_age_seconds", "gauge",
	    "Seconds since the zone's data was made (feed manifest issue "
	    "time, else the newest source file's mtime).",
	    MV_AGE, offsetof(struct zstate, data_time), NO_NEED },
	{ "resolverd_zone_expiry_seconds", "gauge",
	    "Seconds until the zone's data expires (feed or $TIMESTAMP; "
	    "negative: expired); only zones with an expiry.",
	    MV_UNTIL, offsetof(struct zstate, expires), NO_NEED },
};

static const struct metric cache_metrics[] = {
	{ "resolverd_cache_entries", "gauge",
	    "Answers in the forwarding cache.", MV_U64,
	    offsetof(struct cache_stats, entries), NO_NEED },
	{ "resolverd_cache_bytes", "gauge", "Bytes the forwarding cache holds.",
	    MV_U64, offsetof(struct cache_stats, bytes), NO_NEED },
	{ "resolverd_cache_max_bytes", "gauge", "The forwarding cache's bound.",
	    MV_U64, offsetof(struct cache_stats, max_bytes), NO_NEED },
	{ "resolverd_cache_hits_total", "counter",
	    "Cache lookups that found a fresh answer.", MV_U64,
	    offsetof(struct cache_stats, hits), NO_NEED },
	{ "resolverd_cache_stale_hits_total", "counter",
	    "Stale answers given when no upstream answered.", MV_U64,
	    offsetof(struct cache_stats, stale_hits), NO_NEED },
	{ "resolverd_cache_misses_total", "counter",
	    "Cache lookups that found nothing usable.", MV_U64,
	    offsetof(struct cache_stats, misses), NO_NEED },
	{ "resolverd_cache_evictions_total", "counter",
	    "Answers evicted to make room.", MV_U64,
	    offsetof(struct cache_stats, evictions), NO_NEED },
};

static const struct metric upstream_metrics[] = {
	{ "resolverd_upstream_up", "gauge",
	    "1 unless the upstream server's last attempt failed.", MV_BOOL,
	    offsetof(struct upstream_health, up), NO_NEED },
	{ "resolverd_upstream_failures_total", "counter",
	    "Attempts to the upstream server that failed (timeout, "
	    "unreachable, malformed or unusable answer).",
	    MV_U64, offsetof(struct upstream_health, failures), NO_NEED },
	{ "resolverd_upstream_answers_total", "counter",
	    "Attempts the upstream server answered.", MV_U64,
	    offsetof(struct upstream_health, answers), NO_NEED },
	{ "resolverd_upstream_rtt_seconds", "gauge",
	    "Round-trip time of the upstream server's last answer.", MV_US,
	    offsetof(struct upstream_health, rtt_us),
	    offsetof(struct upstream_health, answers) },
};

static const struct metric status_metrics[] = {
	{ "resolverd_start_time_seconds", "gauge",
	    "Unix time the process started.", MV_I64,
	    offsetof(struct rd_status, start), NO_NEED },
	{ "resolverd_threads", "gauge", "Worker threads.", MV_UINT,
	    offsetof(struct rd_status, threads), NO_NEED },
};

static void
labels_zone_snap(FILE *f, const void *row)
{
	fputs("{zone=", f);
	prom_label(f, ((const struct acct_zone_snap *)row)->name);
	fputc('}', f);
}

static void
labels_zstate(FILE *f, const void *row)
{
	fputs("{zone=", f);
	prom_label(f, ((const struct zstate *)row)->name);
	fputc('}', f);
}

static void
labels_server(FILE *f, const void *row)
{
	const struct upstream_health *h = row;

	fputs("{zone=", f);
	prom_label(f, h->zone);
	fputs(",server=", f);
	prom_label(f, h->server);
	fputc('}', f);
}

static void
metrics_zones(FILE *f, struct acct *acct)
{
	struct acct_zone_snap *zs = NULL;
	uint64_t since = 0;
	size_t n, i, h;

	if (acct == NULL)
		return;
	n = acct_zones_snapshot(acct, &zs, &since);
	if (n == (size_t)-1)
		return;
	metric_write(f, &since_metric, &since, sizeof(since), 1, NULL, 0);
	metric_table(f, zone_ctrs, NELEM(zone_ctrs), zs, sizeof(*zs), n,
	    labels_zone_snap, 0);
	prom_head(f, "resolverd_zone_latency_seconds", "histogram",
	    "Time to answer a query (worker side: from its start to the "
	    "next query or the end of its batch).");
	for (i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (h = 0; h < ACCT_HIST; h++) {
			cum += zs[i].hist[h];
			fputs("resolverd_zone_latency_seconds_bucket{zone=", f);
			prom_label(f, zs[i].name);
			if (h + 1 < ACCT_HIST)
				/* bucket h: under 2^h microseconds */
				fprintf(f, ",le=\"%.6f\"} %" PRIu64 "\n",
				    (double)(1ull << h) / 1e6, cum);
			else
				fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
		}
		fputs("resolverd_zone_latency_seconds_sum{zone=", f);
		prom_label(f, zs[i].name);
		fprintf(f, "} %.9f\n", (double)zs[i].lat_sum_ns / 1e9);
		fputs("resolverd_zone_latency_seconds_count{zone=", f);
		prom_label(f, zs[i].name);
		fprintf(f, "} %" PRIu64 "\n", cum);
	}
	free(zs);
}

static void
metrics_freshness(FILE *f, struct zn_db *db, const struct rd_status *st)
{
	struct zn_view *v;
	struct zstate *s = NULL;
	char err[256];
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i, k;

	if ((v = view_get(db, err, sizeof(err))) == NULL)
		return;
	if (zstates_get(v, db, st, now, &s, &n, err, sizeof(err)) != 0) {
		zn_view_close(v);
		return;
	}
	zn_view_close(v);
	metric_table(f, zone_fresh, NELEM(zone_fresh), s, sizeof(*s), n,
	    labels_zstate, now);
	prom_head(f, "resolverd_zone_state", "gauge",
	    "1 for the zone's state (ok, stale, expired, empty, "
	    "never-synced), 0 for the others.");
	for (i = 0; i < n; i++)
		for (k = 0; k < ZS_N; k++) {
			fputs("resolverd_zone_state{zone=", f);
			prom_label(f, s[i].name);
			fprintf(f, ",state=\"%s\"} %d\n", zstate_names[k],
			    s[i].state == k);
		}
	free(s);
}

static void
metrics_upstream(FILE *f, struct upstream *up)
{
	struct upstream_health *h;
	struct cache_stats cs;
	size_t n;

	if (up == NULL)
		return;
	upstream_cache_stats(up, &cs);
	metric_table(f, cache_metrics, NELEM(cache_metrics), &cs, sizeof(cs), 1,
	    NULL, 0);
	if ((h = calloc(UPSTREAM_HEALTH_MAX, sizeof(*h))) == NULL)
		return;
	n = upstream_health(up, h, UPSTREAM_HEALTH_MAX);
	metric_table(f, upstream_metrics, NELEM(upstream_metrics), h,
	    sizeof(*h), n, labels_server, 0);
	free(h);
}

void
http_write_metrics(FILE *f, struct zn_db *db, struct acct *acct,
    struct upstream *up, const struct rd_status *st)
{
	prom_head(f, "resolverd_build_info", "gauge",
	    "Always 1; the version in a label.");
	fputs("resolverd_build_info{version=", f);
	prom_label(f, RD_VERSION);
	fputs("} 1\n", f);
	metric_table(f, status_metrics, NELEM(status_metrics), st, sizeof(*st),
	    1, NULL, 0);
	metrics_zones(f, acct);
	metrics_freshness(f, db, st);
	metrics_upstream(f, up);
}

/* ---- /healthz ---- */

/* Is key.zone listed in z's data?  0, or a negative errno. */
static int
tp_lookup(const struct zn_view *v, const struct zn_zone *z, const char *key,
    struct zn_result *r, bool *listed)
{
	char name[2 * ZN_NAME_MAX + 2];
	struct zn_qname q;
	int rc;

	snprintf(name, sizeof(name), "%s.%s", key, z->name);
	if (zn_qname_from_text(&q, name) != 0 || q.nlabels <= z->nlabels)
		return -EINVAL;
	if ((rc = zn_lookup(v, z, &q, q.nlabels - z->nlabels, r)) != 0)
		return rc;
	*listed = (r->flags & ZN_R_LISTED) != 0;
	return 0;
}

/* ::ffff:127.0.0.<last> as reversed nibbles */
static void
v6_point(unsigned last, char *buf, size_t size)
{
	uint8_t a[16] = { 0 };
	size_t i, o = 0;

	a[10] = a[11] = 0xff;
	a[12] = 127;
	a[15] = (uint8_t)last;
	for (i = 16; i-- > 0 && o + 4 < size;) {
		o += (size_t)snprintf(buf + o, size - o, "%x.%x.", a[i] & 0xf,
		    a[i] >> 4);
	}
	if (o > 0)
		buf[o - 1] = '\0';
}

struct hz_msg {
	bool fail;
	char text[320];
};

static void hz_add(struct hz_msg *m, size_t *n, size_t max, bool fail,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
hz_add(struct hz_msg *m, size_t *n, size_t max, bool fail, const char *fmt, ...)
{
	va_list ap;

	if (*n >= max)
		return;
	m[*n].fail = fail;
	va_start(ap, fmt);
	vsnprintf(m[*n].text, sizeof(m[*n].text), fmt, ap);
	va_end(ap);
	(*n)++;
}

/* The test points of zone z (state s): messages into m. */
static void
hz_zone(const struct zn_view *v, const struct zn_zone *z,
    const struct zstate *s, struct zn_result *r, struct hz_msg *m, size_t *n,
    size_t max)
{
	struct {
		bool on;
		const char *kind, *pos, *neg;
		char posk[80], negk[80];
	} k[3] = {
		{ s->ip4, "IPv4", "127.0.0.2", "127.0.0.1", "2.0.0.127",
		    "1.0.0.127" },
		{ s->ip6 && !s->ip4, "IPv6", "::ffff:127.0.0.2",
		    "::ffff:127.0.0.1", "", "" },
		{ s->names, "name", "TEST", "INVALID", "test", "invalid" },
	};
	size_t i;

	v6_point(2, k[1].posk, sizeof(k[1].posk));
	v6_point(1, k[1].negk, sizeof(k[1].negk));
	for (i = 0; i < 3; i++) {
		bool listed = false;
		int rc;

		if (!k[i].on)
			continue;
		if ((rc = tp_lookup(v, z, k[i].negk, r, &listed)) != 0)
			hz_add(m, n, max, true, "lookup of %s failed: %s",
			    k[i].neg, strerror(-rc));
		else if (listed)
			hz_add(m, n, max, true,
			    "the data lists %s, the RFC 5782 negative test "
			    "point (never listed by a sane list)",
			    k[i].neg);
		if ((rc = tp_lookup(v, z, k[i].posk, r, &listed)) != 0)
			hz_add(m, n, max, true, "lookup of %s failed: %s",
			    k[i].pos, strerror(-rc));
		else if (!listed)
			hz_add(m, n, max, false,
			    "warning: the data does not list %s, the RFC 5782 "
			    "%s test point (many private lists do not carry "
			    "it; resolverd answers it anyway)",
			    k[i].pos, k[i].kind);
	}
}

int
http_write_healthz(FILE *f, struct zn_db *db, const struct rd_status *st)
{
	struct zn_view *v;
	struct zstate *s = NULL;
	struct zn_result *r = NULL;
	const struct zn_zone *zt;
	struct hz_msg m[16];
	char err[256];
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, nz = 0, i, j;
	bool fail = false, warn = false, first = true;

	if ((v = view_get(db, err, sizeof(err))) == NULL ||
	    (r = malloc(sizeof(*r))) == NULL ||
	    zstates_get(v, db, st, now, &s, &n, err, sizeof(err)) != 0) {
		if (r == NULL && v != NULL)
			snprintf(err, sizeof(err), "out of memory");
		fputs("{\"status\":\"fail\",\"error\":", f);
		zn_json_str(f, err);
		fputs("}\n", f);
		free(r);
		if (v != NULL)
			zn_view_close(v);
		return 503;
	}
	zt = zn_view_zones(v, &nz);
	fputs("{\"zones\":[", f);
	for (i = 0; i < n; i++) {
		const struct zn_zone *z = NULL;
		size_t nm = 0;
		bool zfail = false, zwarn = false;
		char t[32];

		for (j = 0; j < nz && s[i].in_db; j++)
			if (strcmp(zt[j].name, s[i].name) == 0)
				z = &zt[j];
		if (z != NULL)
			hz_zone(v, z, &s[i], r, m, &nm, 16);
		zn_time_iso(s[i].expires, t, sizeof(t));
		switch (s[i].state) {
		case ZS_NEVER:
			hz_add(m, &nm, 16, true,
			    "never synced: no data from its feed yet");
			break;
		case ZS_EXPIRED:
			hz_add(m, &nm, 16, true,
			    "expired: its %s expiry %s has passed",
			    s[i].feed ? "feed" : "$TIMESTAMP", t);
			break;
		case ZS_STALE:
			if (s[i].import_failed)
				hz_add(m, &nm, 16, true,
				    "stale: the last import failed");
			else
				hz_add(m, &nm, 16, true,
				    "stale: the feed expires at %s and the "
				    "mirror has not synced a newer manifest",
				    t);
			break;
		case ZS_EMPTY:
			hz_add(m, &nm, 16, false, "warning: no entries");
			break;
		case ZS_OK:
		case ZS_N:
			break;
		}
		for (j = 0; j < nm; j++) {
			zfail |= m[j].fail;
			zwarn |= !m[j].fail;
		}
		fail |= zfail;
		warn |= zwarn;
		fputs(first ? "{\"zone\":" : ",{\"zone\":", f);
		first = false;
		zn_json_str(f, s[i].name);
		fprintf(f, ",\"status\":\"%s\",\"state\":\"%s\",\"problems\":[",
		    zfail     ? "fail" :
		        zwarn ? "warning" :
		                "ok",
		    zstate_names[s[i].state]);
		for (j = 0; j < nm; j++) {
			fprintf(f,
			    "%s{\"severity\":\"%s\",\"reason\":", j ? "," : "",
			    m[j].fail ? "fail" : "warning");
			zn_json_str(f, m[j].text);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fprintf(f, "],\"status\":\"%s\"}\n",
	    fail     ? "fail" :
	        warn ? "warning" :
	               "ok");
	zn_view_close(v);
	free(s);
	free(r);
	return fail ? 503 : 200;
}

/* ---- the server ---- */

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const char *uri = evhttp_request_get_uri(req), *ctype;
	struct evbuffer *out;
	char *body = NULL;
	size_t blen = 0, plen;
	FILE *f;
	int code = 200;

	if (uri == NULL) {
		evhttp_send_error(req, HTTP_BADREQUEST, NULL);
		return;
	}
	/* the path alone: a query string is ignored */
	plen = strcspn(uri, "?#");
	if (!((plen == 8 && strncmp(uri, "/metrics", 8) == 0) ||
	        (plen == 8 && strncmp(uri, "/healthz", 8) == 0))) {
		evhttp_send_error(req, HTTP_NOTFOUND,
		    "Not found: try /metrics or /healthz");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method not allowed: GET or HEAD");
		return;
	}
	if ((f = open_memstream(&body, &blen)) == NULL ||
	    (out = evbuffer_new()) == NULL) {
		if (f != NULL) {
			fclose(f);
			free(body);
		}
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	if (uri[1] == 'm') {
		http_write_metrics(f, h->db, h->acct, h->up, h->st);
		ctype = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		code = http_write_healthz(f, h->db, h->st);
		ctype = "application/json";
	}
	if (fclose(f) != 0) {
		free(body);
		evbuffer_free(out);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evbuffer_add(out, body, blen);
	free(body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Service Unavailable",
	    out);
	evbuffer_free(out);
}

struct http *
http_open(const struct cfg_addr *a, char *err, size_t errlen)
{
	struct http *h;
	int one = 1;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	snprintf(h->text, sizeof(h->text), "%s", a->text);
	h->fd = socket(a->ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd == -1 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	        -1 ||
	    bind(h->fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(h->fd, 16) == -1) {
		snprintf(err, errlen, "http %s: %s", a->text, strerror(errno));
		if (h->fd != -1)
			close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

int
http_start(struct http *h, struct event_base *base, struct zn_db *db,
    struct acct *acct, struct upstream *up, const struct rd_status *st)
{
	h->db = db;
	h->acct = acct;
	h->up = up;
	h->st = st;
	if ((h->eh = evhttp_new(base)) == NULL)
		return -1;
	evhttp_set_timeout(h->eh, HTTP_TIMEOUT);
	evhttp_set_max_headers_size(h->eh, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->eh, 4096); /* read, then 405 */
	evhttp_set_allowed_methods(h->eh,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(h->eh, on_request, h);
	if (evhttp_accept_socket(h->eh, h->fd) != 0) {
		evhttp_free(h->eh);
		h->eh = NULL;
		return -1;
	}
	log_info("http: serving /metrics and /healthz on %s", h->text);
	return 0;
}

void
http_close(struct http *h)
{
	if (h == NULL)
		return;
	if (h->eh != NULL)
		evhttp_free(h->eh); /* closes the bound socket too */
	else
		close(h->fd);
	free(h);
}

static bool
same_addr(const struct config *a, const struct config *b)
{
	if (a->has_http != b->has_http)
		return false;
	return !a->has_http ||
	    (a->http.len == b->http.len &&
	        memcmp(&a->http.ss, &b->http.ss, a->http.len) == 0);
}

struct http *
http_reload(struct http *h, struct config *nc, const struct config *oc,
    struct event_base *base, struct zn_db *db, struct acct *acct,
    struct upstream *up, const struct rd_status *st)
{
	struct http *nh;
	char err[256];

	if (same_addr(nc, oc))
		return h;
	if (!nc->has_http) {
		if (h != NULL)
			log_info("http: no longer serving on %s", h->text);
		http_close(h);
		return NULL;
	}
	if ((nh = http_open(&nc->http, err, sizeof(err))) == NULL ||
	    http_start(nh, base, db, acct, up, st) != 0) {
		if (nh != NULL)
			snprintf(err, sizeof(err), "http %s: cannot serve",
			    nc->http.text);
		http_close(nh);
		log_warnx("reload: %s: http address change needs a restart; "
		          "%s",
		    err,
		    h != NULL ? "still serving on the old address" :
		                "not serving http");
		nc->has_http = oc->has_http;
		nc->http = oc->http;
		return h;
	}
	if (h != NULL)
		log_info("http: no longer serving on %s", h->text);
	http_close(h);
	return nh;
}
