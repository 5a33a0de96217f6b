/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-client and per-zone accounting, and the checks around answering
 * (client ACLs, rate limits, RRL; acl.h, ratelimit.h).
 *
 * Counters (enum acct_ctr): every query is counted once in q and in
 * exactly one of listed, notlisted (NXDOMAIN or NOERROR without listed
 * data), refused (by an ACL or outside the served zones), dropped (by an
 * ACL), ratelimited (rate, quota or RRL) and err (anything else, garbage
 * dropped included); forwarded counts every query for a zone answered
 * by upstream servers (in place of listed/notlisted), per zone too, and
 * cached those of them a worker answered from the cache
 * (acct_worker_cached); bytes in and out are DNS payload (a forwarded
 * answer's bytes out only when it came from the cache).  Each zone also
 * has a latency histogram and the sum of its latencies (/metrics).
 *
 * The most queried names (per zone, the labels left of the zone) are a
 * second Space-Saving sketch of ACCT_NAMES entries, keyed by a keyed
 * 128-bit hash (SipHash) of the name and the zone's place in it, with
 * the text kept per entry; each worker counts into a Space-Saving sketch
 * of its own (256 names, no lock) merged with the rest, error bounds
 * included, so memory stays bounded under floods of random names and a
 * flood costs no shared lock per query.  Names are not stored in the
 * database: they start over with the daemon.
 *
 * Clients are IPv4 addresses and IPv6 networks (/64 by default).  Each
 * worker counts into private tables without any lock and merges them
 * into the shared struct acct once a second (or when its client table
 * fills up).  The shared client table is a Space-Saving sketch of at
 * most max-clients entries: when full, the client with the smallest
 * estimate (queries counted plus the error it inherited) makes room,
 * its counters go to the "other" bucket.  Any client that sent more than
 * total/max-clients queries is in the table; one that was never pushed
 * out (err 0) has exact counts; entries plus other always add up to the
 * totals.
 *
 * The totals, zones and clients are stored in the database's key/value
 * store "acct" every save-interval and at shutdown, and read back at
 * start: counters grow monotonically across restarts.
 *
 * Configuration (read from the daemon's INI file by acct_params_load;
 * conf.c accepts the keys; SIGHUP or "resolverctl reload" applies them,
 * except max-clients):
 *
 *   [server]
 *   accounting = yes             ; no: ACLs and limits only
 *   max-clients = 10000          ; clients counted exactly, then "other"
 *   client6-prefix = 64          ; IPv6 clients per /64
 *   acct-save-interval = 60      ; seconds between saves
 *   acl = allow 127.0.0.0/8 ::1  ; repeatable, first match wins; without
 *   acl = drop 192.0.2.0/24      ;   any: loopback and private allowed;
 *                                ;   no match: refuse
 *   rate-limit = 100             ; queries/s per client (0: none),
 *                                ;   all workers together
 *   rate-burst = 200
 *   daily-quota = 100000         ; queries per client per UTC day
 *                                ;   (at most 4294967294)
 *   limit-answer = A 127.0.0.255 ; or refused (default) or drop
 *   rrl = 50                     ; answers/s per /24 or /56 (UDP)
 *   rrl-slip = 2                 ; every 2nd limited answer: TC, empty
 *   control-admin = alice        ; may run changing control commands
 *
 *   [zone bl.example]
 *   acl = refuse 198.51.100.0/24 ; checked after the server's list
 *
 * A forwarded query passes the server's and its zone's ACL and the rate
 * limit and quota before upstream.c sees it (a refused or limited
 * client never costs an upstream query); the answers upstream.c gives
 * later, from its cache or a server, pass RRL in acct_worker_rrl.
 */
#ifndef RESOLVERD_ACCT_H
#define RESOLVERD_ACCT_H

#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acl.h"
#include "query.h"
#include "ratelimit.h"
#include "zones.h"

enum acct_ctr {
	AC_Q = 0,
	AC_LISTED,
	AC_NOTLISTED,
	AC_REFUSED,
	AC_DROPPED,
	AC_RATELIMITED,
	AC_ERR,
	AC_FORWARDED,
	AC_CACHED,
	AC_IN,
	AC_OUT,
	AC_N
};
extern const char *const acct_ctr_names[AC_N];

/* Latency buckets: [i] counts answers that took less than 2^i
 * microseconds (and at least 2^(i-1)); the last counts the rest. */
#define ACCT_HIST 24
unsigned acct_hist_bucket(uint64_t ns);

struct acct_counters {
	uint64_t v[AC_N];
};

/* A client: an IPv4 address or an IPv6 network (masked). */
struct acct_key {
	uint8_t len; /* 4 or 16 */
	uint8_t plen; /* prefix length kept */
	uint8_t a[16];
};
void acct_client_key(const uint8_t *client, size_t clen, unsigned v6plen,
    struct acct_key *k);
/* "192.0.2.1", "2001:db8::/64" */
void acct_key_text(const struct acct_key *k, char *buf, size_t size);

/*
 * The Space-Saving sketch (exposed for the unit tests).
 */
struct ss_entry {
	struct acct_key key;
	struct acct_counters c; /* counted since the key (last) came in */
	uint64_t err; /* estimate inherited: true queries <= c.v[AC_Q]+err */
};
struct ss;
struct ss *ss_new(size_t cap);
void ss_free(struct ss *s);
/* Add c to key's counters (err: an error carried from a saved entry).
 * Returns the key's entry index: entries keep their index, a newcomer
 * takes the index of the entry it pushed out. */
size_t ss_add(struct ss *s, const struct acct_key *key,
    const struct acct_counters *c, uint64_t err);
size_t ss_count(const struct ss *s);
size_t ss_capacity(const struct ss *s);
const struct ss_entry *ss_entry_at(const struct ss *s, size_t i);
const struct ss_entry *ss_find(const struct ss *s, const struct acct_key *k);
const struct acct_counters *ss_other(const struct ss *s);
void ss_clear(struct ss *s);
/* Bytes this sketch holds (the bound of its memory). */
size_t ss_memory(const struct ss *s);

/* The parameters from the config file; immutable once published. */
struct acct_zacl {
	char name[ZN_NAME_MAX + 1];
	struct acl acl;
};
struct acct_params {
	atomic_uint refs;
	bool enabled; /* accounting = yes */
	size_t max_clients;
	unsigned v6plen;
	unsigned save_interval; /* seconds */
	struct acl acl; /* the server's */
	struct acct_zacl *zacl;
	size_t nzacl;
	struct rl_params rl;
	uid_t admins[16]; /* uids allowed changing control commands
			     besides root */
	size_t nadmins;
};
/* Defaults: config-file mode (private ACL) or drop-in (allow all). */
struct acct_params *acct_params_new(bool dropin);
/* Read the accounting keys of an INI file ([server] and [zone] acl);
 * 0, or -1 with "file:line: why" in err. */
int acct_params_load(const char *path, struct acct_params **out, char *err,
    size_t errlen);
void acct_params_unref(struct acct_params *p);

struct acct;
struct acct_worker;

/* Shared state; loads what db holds (db may be NULL: nothing saved). */
struct acct *acct_new(struct acct_params *p, struct zn_db *db, char *err,
    size_t errlen);
void acct_free(struct acct *a);
/* Publish new parameters (a reload); max-clients keeps its old value. */
void acct_set_params(struct acct *a, struct acct_params *p);
struct acct_params *acct_params_get(struct acct *a); /* a new reference */
/* Store everything in the database; 0 or -1 with err. */
int acct_save(struct acct *a, char *err, size_t errlen);
/* Zero every counter (and the stored ones at the next save). */
void acct_reset(struct acct *a);

/* A worker's private side; NULL on ENOMEM. */
struct acct_worker *acct_worker_new(struct acct *a);
void acct_worker_free(struct acct_worker *w); /* flushes first */
void acct_worker_flush(struct acct_worker *w);
/*
 * The batch is answered.  A query's latency runs from the start of its
 * handling to the start of the next query's or the end of its batch
 * (call this then): one clock reading per query.
 */
void acct_worker_idle(struct acct_worker *w);

/*
 * query_answer() with the ACLs, rate limits and accounting around it;
 * same arguments and result, info is required.
 */
size_t acct_answer(struct acct_worker *w, const struct query_cfg *qc,
    const struct zn_view *v, const uint8_t *pkt, size_t len,
    const uint8_t *client, size_t clen, bool tcp, uint8_t *out, size_t outsize,
    struct query_info *info);

/* Reports (control socket, resolverctl): text or JSON to f. */
enum acct_by {
	ACCT_BY_QUERIES,
	ACCT_BY_LISTED,
	ACCT_BY_REFUSED
};
void acct_write_stats(struct acct *a, FILE *f, bool json);
/* A zone's counters; false if it was never counted. */
bool acct_zone_counters(struct acct *a, const char *zone,
    struct acct_counters *c);
void acct_write_top(struct acct *a, FILE *f, bool json, bool zones, size_t n,
    enum acct_by by);
/* "top names": the most queried names, per zone. */
#define ACCT_NAMES 1024
void acct_write_top_names(struct acct *a, FILE *f, bool json, size_t n,
    enum acct_by by);

/*
 * The query just passed to acct_answer (forwarded) was answered from
 * the cache with alen bytes: count it as cached for its client and zone.
 */
void acct_worker_cached(struct acct_worker *w, size_t alen);

/*
 * An answer of *len bytes for a forwarded query (from the cache or an
 * upstream server) about to go to client over UDP: response-rate
 * limited like the worker's own answers (the query stays counted as
 * forwarded).  Returns ans to send it as it is, NULL to drop it, or buf
 * (bufsize bytes; may be ans) holding a copy cut to the question with
 * TC set, *len its length.  The worker's thread only; no lock.
 */
const uint8_t *acct_worker_rrl(struct acct_worker *w, const uint8_t *client,
    size_t clen, const uint8_t *ans, size_t *len, uint8_t *buf, size_t bufsize);

/* A copy of one zone's counters (for /metrics). */
struct acct_zone_snap {
	char name[ZN_NAME_MAX + 1];
	struct acct_counters c;
	uint64_t hist[ACCT_HIST];
	uint64_t lat_sum_ns; /* the latencies counted in hist, summed */
};
/* Every zone counted; *out is malloc'ed (NULL when none).  The count,
 * or (size_t)-1 when out of memory.  since: the start of counting. */
size_t acct_zones_snapshot(struct acct *a, struct acct_zone_snap **out,
    uint64_t *since);

#endif /* RESOLVERD_ACCT_H */
