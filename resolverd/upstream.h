/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Forwarding to upstream servers, for the zones of the config that have
 * them (mode forward, and mirror+fallback when the mirror is missing or
 * expired).  Only those zones are ever forwarded: query_answer decides
 * (info->forward) and everything else stays REFUSED.
 *
 * Workers answer cache hits themselves (upstream_query: a lookup in the
 * shared cache and a render, no allocation).  A miss goes to the upstream
 * thread, which owns every upstream socket on its own event base:
 * identical questions in flight are coalesced into one upstream query;
 * each query has a random ID and a fresh UDP socket (a random source port
 * from the kernel); the answer must come from the server asked, carry the
 * ID and the question, and parse with ldns (rewrite.c); TC=1 retries the
 * server over TCP; a timeout, a malformed answer or an rcode other than
 * NOERROR/NXDOMAIN moves on to the next server, and a failing server is
 * skipped for a while (1 s, doubling to a minute), then tried again.  When
 * every server failed, a stale cache entry is answered (RFC 8767), else
 * SERVFAIL.  Answers go back to the worker that took the query, through
 * its box (an eventfd in the worker's event base), and the worker sends
 * them.
 */
#ifndef RESOLVERD_UPSTREAM_H
#define RESOLVERD_UPSTREAM_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "cache.h"
#include "conf.h"
#include "query.h"

#define UPSTREAM_UDP_TIMEOUT_MS 1000
#define UPSTREAM_TCP_TIMEOUT_MS 2000

struct upstream;
struct upstream_box;

/* Where a forwarded query came from. */
struct upstream_client {
	int fd; /* UDP: the socket it came in on; -1 for TCP */
	const struct sockaddr_storage *peer; /* UDP */
	socklen_t peerlen;
	uint64_t conn; /* TCP: the worker's connection id; 0 for UDP */
	const uint8_t *addr; /* the client's address, 4 or 16 bytes */
	size_t alen;
};

/* An answer for a worker to send, in the worker's thread. */
struct upstream_done {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint64_t conn;
	uint8_t addr[16];
	size_t alen;
	size_t qlen; /* the query's length, for the counters */
	struct query_info info; /* for the query log and the counters */
	const uint8_t *ans;
	size_t len;
};

typedef void (*upstream_deliver_fn)(void *arg, const struct upstream_done *d);

/*
 * The forwarder for config c (its zones with upstreams, its cache size).
 * The thread starts with upstream_start.  0, or a negative errno with err
 * filled.
 */
int upstream_new(const struct config *c, struct upstream **out, char *err,
    size_t errlen);
int upstream_start(struct upstream *u);
/*
 * A reloaded config: the zones and their servers are replaced (queries in
 * flight finish with the old ones); the cache is flushed when anything
 * about the zones changed.  The cache size stays.
 */
void upstream_configure(struct upstream *u, const struct config *c);
/* Stop the thread; queries in flight get no answer.  Idempotent. */
void upstream_stop(struct upstream *u);
/* upstream_free(NULL) is a no-op; stops the thread first. */
void upstream_free(struct upstream *u);

/*
 * A worker's box: answers for it are handed over to fn(arg, ...), called
 * from base's loop.  NULL on failure.  Freed after upstream_stop, by its
 * worker.
 */
struct upstream_box *upstream_box_new(struct upstream *u,
    struct event_base *base, upstream_deliver_fn fn, void *arg);
void upstream_box_free(struct upstream_box *b);

/*
 * Answer a query that query_answer gave info->forward: from the cache
 * (the answer's length is returned, info updated for the log), or
 * SERVFAIL when it cannot be forwarded; 0 when it was handed to the
 * upstream thread and the answer will come through b.
 */
size_t upstream_query(struct upstream_box *b, const struct query_cfg *qc,
    const uint8_t *pkt, size_t len, struct query_info *info,
    const struct upstream_client *cl, uint8_t *out, size_t outsize);

/* One line of counters ("upstream: ...") and one of the cache. */
void upstream_stats_write(struct upstream *u, FILE *f);

/*
 * The health of each upstream server of each zone, as the upstream
 * thread last saw it (for /metrics); servers of the config the thread
 * was started or reconfigured with, and any it still asks.
 */
#define UPSTREAM_HEALTH_MAX (CFG_FZONES_MAX * CFG_UPSTREAM_MAX)
struct upstream_health {
	char zone[ZN_NAME_MAX + 1];
	char server[64]; /* cfg_addr.text */
	bool up; /* not backed off after a failure */
	uint64_t answers; /* attempts it answered */
	uint64_t failures; /* attempts that failed */
	uint64_t rtt_us; /* of the last answer; 0: none yet */
};
/* Copies at most max entries to out; returns how many. */
size_t upstream_health(struct upstream *u, struct upstream_health *out,
    size_t max);
/* The cache's counters. */
void upstream_cache_stats(struct upstream *u, struct cache_stats *st);

#endif /* RESOLVERD_UPSTREAM_H */
