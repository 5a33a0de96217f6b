/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP endpoint ([server] http = addr@port), served by libevent's
 * evhttp in the main thread's event base, so it never holds a worker up:
 * it reads the counters as "resolverctl stats" does (acct.c merges the
 * workers' counters under its own lock once a second) and the mirror
 * through its own libzones read view.
 *
 *   GET /metrics   Prometheus text format 0.0.4 (metric names below)
 *   GET /healthz   200 {"status":"ok",...} or 503 {"status":"fail",...}
 *
 * Anything else is 404, a method other than GET or HEAD 405.
 *
 * Zone state (also "resolverctl zones"): the serial is the feed's for a
 * feed-synced zone, else the first $SOA serial (0: none); entries the
 * feed's count, else the entries the datasets' sources gave; the data's
 * time the manifest's issue time, else the newest source file's mtime;
 * the last sync the feed's, else the last import that wrote data or
 * checked every dataset without an error;
 * the expiry the earliest of the feed's and the datasets' $TIMESTAMP
 * expiry.  State, first that applies: never-synced (a mode = feed zone
 * not in the database yet), expired (an expiry passed), stale (the last
 * import failed, or a feed zone less than a quarter of its manifest's
 * validity from expiry), empty (no entries), ok.
 *
 * /healthz checks each zone of the database with data datasets: the
 * RFC 5782 test points looked up in the data with zn_lookup (IPv4
 * data: 127.0.0.2 listed and 127.0.0.1 not; IPv6-only data:
 * ::ffff:127.0.0.2 and ::ffff:127.0.0.1; dnset data: TEST and INVALID),
 * then the state.  A negative test point that is listed, a lookup error,
 * state expired, stale or never-synced fail the zone; a positive test
 * point the data lacks is a warning only (the daemon answers it anyway,
 * as query.c does), as is an empty zone.
 */
#ifndef RESOLVERD_HTTP_H
#define RESOLVERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acct.h"
#include "conf.h"
#include "upstream.h"
#include "zones.h"

/* What the daemon tells the endpoint; main.c keeps it up to date. */
struct rd_status {
	int64_t start; /* the process started (unix time) */
	unsigned threads; /* worker threads */
	int64_t import_ok; /* the last import that wrote or fully checked */
	int64_t import_fail; /* the last that failed; 0: none */
	const struct config *conf; /* the current config */
};

enum zstate_kind {
	ZS_OK,
	ZS_STALE,
	ZS_EXPIRED,
	ZS_EMPTY,
	ZS_NEVER,
	ZS_N
};
extern const char *const zstate_names[ZS_N];

struct zstate {
	char name[ZN_NAME_MAX + 1];
	bool feed; /* feed-synced (a feed record in the database) */
	bool in_db; /* false: a mode = feed zone never synced */
	uint64_t serial;
	uint64_t entries;
	int64_t data_time; /* 0: unknown */
	int64_t synced; /* last successful sync or import; 0: unknown */
	int64_t expires; /* 0: none known */
	int64_t issued; /* feed manifest */
	bool import_failed;
	bool ip4, ip6, names; /* the kinds of data it has */
	enum zstate_kind state;
};

/*
 * The state of every zone of view v (refreshed by the caller) and of
 * every mode = feed zone of st->conf missing from it, at time now.
 * *out is malloc'ed.  0, or -1 with err.
 */
int zstates_get(struct zn_view *v, struct zn_db *db, const struct rd_status *st,
    int64_t now, struct zstate **out, size_t *n, char *err, size_t errlen);
/* "resolverctl zones": a table or JSON, with the zone's counters. */
void zstates_write(struct zn_db *db, struct acct *acct,
    const struct rd_status *st, FILE *f, bool json);

/* The bodies of the two pages (for the tests and the server); /healthz
 * returns the HTTP status, 200 or 503. */
void http_write_metrics(FILE *f, struct zn_db *db, struct acct *acct,
    struct upstream *up, const struct rd_status *st);
int http_write_healthz(FILE *f, struct zn_db *db, const struct rd_status *st);

struct http;
struct event_base;
/* Bind and listen on a (before privileges go); NULL with err. */
struct http *http_open(const struct cfg_addr *a, char *err, size_t errlen);
/* Serve on base.  0 or -1. */
int http_start(struct http *h, struct event_base *base, struct zn_db *db,
    struct acct *acct, struct upstream *up, const struct rd_status *st);
/* NULL: no-op. */
void http_close(struct http *h);
/*
 * A reload: serve where nc says ([server] http; none: stop) from now
 * on.  An unchanged address keeps h and its socket.  A new one is bound
 * now, as the server user (a port below 1024 fails then, as does one in
 * use): the new endpoint replaces h, or, when it cannot be served, h
 * stays, the log says "http address change needs a restart" and nc's
 * http is set back to oc's.  Returns the endpoint to keep (may be NULL).
 */
struct http *http_reload(struct http *h, struct config *nc,
    const struct config *oc, struct event_base *base, struct zn_db *db,
    struct acct *acct, struct upstream *up, const struct rd_status *st);

#endif /* RESOLVERD_HTTP_H */
