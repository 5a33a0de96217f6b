/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The answer cache of forwarded zones: one cache shared by every worker
 * and the upstream thread, bounded in bytes (every byte malloc hands us is
 * counted, the hash buckets too), least recently used entries evicted
 * first.  It is split into shards, each with its own lock, LRU list and
 * share of the bound, so workers rarely wait for each other.
 *
 * An entry is opaque bytes under an opaque key (upstream.c keeps the
 * answer body there, rewrite.c says what it holds) with an rcode, record
 * counts, the TTL it was stored with and a stale window: it is fresh for
 * ttl seconds, then stale for stale seconds (RFC 8767: answered only when
 * no upstream answers), then gone.  Times are seconds on a monotonic
 * clock, given by the caller, so tests control them.
 */
#ifndef RESOLVERD_CACHE_H
#define RESOLVERD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_KEY_MAX 300
#define CACHE_BODY_MAX 16384 /* larger answers are not cached */
#define CACHE_SHARDS 16
#define CACHE_STALE_TTL 30 /* TTL of a stale answer (RFC 8767 4) */
#define CACHE_TTL_CAP 604800 /* no TTL above a week (RFC 8767 4) */

enum cache_state {
	CACHE_MISS = 0,
	CACHE_FRESH = 1,
	CACHE_STALE = 2,
};

/* What cache_get found besides the body. */
struct cache_hit {
	uint8_t rcode;
	uint16_t an, ns;
	uint32_t ttl; /* as stored */
	uint32_t left; /* seconds of TTL left; 0 when stale */
	size_t blen;
};

struct cache_stats {
	uint64_t entries, bytes, max_bytes;
	uint64_t hits, stale_hits, misses, inserts, evictions, expired;
};

struct cache;

/*
 * A cache of at most max_bytes (0: a cache that stores nothing).  NULL
 * and errno on failure.  cache_free(NULL) is a no-op.
 */
struct cache *cache_new(size_t max_bytes);
void cache_free(struct cache *c);
/* Forget every entry. */
void cache_flush(struct cache *c);

/*
 * Store (or replace) key -> body.  Fresh until now + ttl, stale until
 * now + ttl + stale; nothing is stored when both are 0, when the key or
 * body is too long, or when it would need more than a shard's bound.
 * Older entries are evicted to make room.  0, or -ENOMEM / -E2BIG when
 * nothing was stored (the cache is still sound).
 */
int cache_put(struct cache *c, const uint8_t *key, size_t klen, uint8_t rcode,
    uint16_t an, uint16_t ns, const uint8_t *body, size_t blen, uint32_t ttl,
    uint32_t stale, uint64_t now);

/*
 * Look key up at time now; a stale entry counts only with stale_ok.  On a
 * hit the body is copied to body (at most bsize bytes: a larger one is a
 * miss) and *hit filled.  Returns a cache_state.  An entry past its stale
 * window is removed.
 */
enum cache_state cache_get(struct cache *c, const uint8_t *key, size_t klen,
    uint64_t now, bool stale_ok, uint8_t *body, size_t bsize,
    struct cache_hit *hit);

void cache_get_stats(struct cache *c, struct cache_stats *st);

/* ttl clamped to [min, max]; a bound of 0 is no bound; at most
 * CACHE_TTL_CAP. */
uint32_t cache_ttl_clamp(uint32_t ttl, uint32_t min, uint32_t max);

/*
 * The negative caching TTL of RFC 2308 5 from an SOA record in a
 * negative answer: min(the SOA record's TTL, its MINIMUM field), rdata in
 * wire format with uncompressed names.  0, or -EINVAL for bad rdata.
 */
int cache_soa_negative_ttl(const uint8_t *rdata, size_t rdlen, uint32_t rr_ttl,
    uint32_t *out);

#endif /* RESOLVERD_CACHE_H */
