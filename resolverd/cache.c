/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shared answer cache: CACHE_SHARDS hash tables with chaining, each
 * under its own mutex with its own LRU list (most recent first) and an
 * equal share of the byte bound.  A shard is chosen by the high bits of a
 * keyed hash (SipHash, random key per cache), so names an attacker picks
 * cannot pile up in one chain.  Memory is what malloc really gives us
 * (malloc_usable_size plus its chunk header), so the bound holds for RSS,
 * not just for payload bytes.
 */
#include "config.h"

#include "cache.h"

#include <sys/queue.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define CHUNK_OVERHEAD (2 * sizeof(size_t)) /* glibc's per-chunk header */
#define BUCKETS_MIN 16

struct entry {
	struct entry *hnext; /* hash chain */
	TAILQ_ENTRY(entry) lru;
	uint64_t hash;
	uint64_t expires; /* fresh before this */
	uint64_t dead; /* stale before this, gone after */
	uint64_t stored;
	size_t size; /* bytes charged */
	uint32_t ttl;
	uint16_t klen, blen;
	uint16_t an, ns;
	uint8_t rcode;
	uint8_t data[]; /* key, then body */
};

TAILQ_HEAD(lru_head, entry);

struct shard {
	pthread_mutex_t lock;
	struct entry **b;
	size_t nb; /* buckets, a power of two; 0 before the first put */
	size_t n;
	size_t bytes, max;
	struct lru_head lru;
	uint64_t hits, stale_hits, misses, inserts, evictions, expired;
};

struct cache {
	size_t max;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct shard sh[CACHE_SHARDS];
};

static size_t
charge(void *p)
{
	return malloc_usable_size(p) + CHUNK_OVERHEAD;
}

struct cache *
cache_new(size_t max_bytes)
{
	struct cache *c;
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max = max_bytes;
	arc4random_buf(c->hkey, sizeof(c->hkey));
	for (i = 0; i < CACHE_SHARDS; i++) {
		struct shard *s = &c->sh[i];

		pthread_mutex_init(&s->lock, NULL);
		TAILQ_INIT(&s->lru);
		s->max = max_bytes / CACHE_SHARDS;
	}
	return c;
}

static void
shard_clear(struct shard *s)
{
	struct entry *e;

	while ((e = TAILQ_FIRST(&s->lru)) != NULL) {
		TAILQ_REMOVE(&s->lru, e, lru);
		free(e);
	}
	if (s->b != NULL)
		s->bytes -= charge(s->b);
	free(s->b);
	s->b = NULL;
	s->nb = 0;
	s->n = 0;
	s->bytes = 0;
}

void
cache_free(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SHARDS; i++) {
		shard_clear(&c->sh[i]);
		pthread_mutex_destroy(&c->sh[i].lock);
	}
	free(c);
}

void
cache_flush(struct cache *c)
{
	size_t i;

	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->sh[i].lock);
		shard_clear(&c->sh[i]);
		pthread_mutex_unlock(&c->sh[i].lock);
	}
}

static uint64_t
hash_key(const struct cache *c, const uint8_t *key, size_t klen)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, klen, c->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct shard *
shard_of(struct cache *c, uint64_t h)
{
	return &c->sh[h >> 60 & (CACHE_SHARDS - 1)];
}

/* The entry for key in s, with the link that points to it. */
static struct entry *
find(struct shard *s, uint64_t h, const uint8_t *key, size_t klen,
    struct entry ***linkp)
{
	struct entry **link, *e;

	if (s->nb == 0)
		return NULL;
	for (link = &s->b[h & (s->nb - 1)]; (e = *link) != NULL;
	     link = &e->hnext)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->data, key, klen) == 0) {
			if (linkp != NULL)
				*linkp = link;
			return e;
		}
	return NULL;
}

static void
unlink_entry(struct shard *s, struct entry *e)
{
	struct entry **link;

	for (link = &s->b[e->hash & (s->nb - 1)]; *link != e;
	     link = &(*link)->hnext)
		;
	*link = e->hnext;
	TAILQ_REMOVE(&s->lru, e, lru);
	s->bytes -= e->size;
	s->n--;
	free(e);
}

/* Double the buckets when the table is full and the bound allows. */
static void
grow(struct shard *s)
{
	struct entry **nb, *e, *next;
	size_t n = s->nb == 0 ? BUCKETS_MIN : s->nb * 2, i, size;

	if (s->nb != 0 && s->n < s->nb)
		return;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	size = charge(nb);
	if (s->bytes + size - (s->b != NULL ? charge(s->b) : 0) > s->max) {
		free(nb); /* longer chains rather than more memory */
		return;
	}
	for (i = 0; i < s->nb; i++)
		for (e = s->b[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	if (s->b != NULL)
		s->bytes -= charge(s->b);
	free(s->b);
	s->b = nb;
	s->nb = n;
	s->bytes += size;
}

int
cache_put(struct cache *c, const uint8_t *key, size_t klen, uint8_t rcode,
    uint16_t an, uint16_t ns, const uint8_t *body, size_t blen, uint32_t ttl,
    uint32_t stale, uint64_t now)
{
	struct shard *s;
	struct entry *e, *old, *victim;
	uint64_t h;
	size_t size;

	if (c->max == 0 || (ttl == 0 && stale == 0))
		return 0;
	if (klen == 0 || klen > CACHE_KEY_MAX || blen > CACHE_BODY_MAX)
		return -E2BIG;
	if ((e = malloc(sizeof(*e) + klen + blen)) == NULL)
		return -ENOMEM;
	size = charge(e);
	h = hash_key(c, key, klen);
	s = shard_of(c, h);
	if (size > s->max / 4) {
		free(e);
		return -E2BIG;
	}
	e->hash = h;
	e->stored = now;
	e->ttl = ttl;
	e->expires = now + ttl;
	e->dead = e->expires + stale;
	e->size = size;
	e->klen = (uint16_t)klen;
	e->blen = (uint16_t)blen;
	e->an = an;
	e->ns = ns;
	e->rcode = rcode;
	memcpy(e->data, key, klen);
	if (blen > 0)
		memcpy(e->data + klen, body, blen);

	pthread_mutex_lock(&s->lock);
	if ((old = find(s, h, key, klen, NULL)) != NULL)
		unlink_entry(s, old);
	grow(s);
	while (s->bytes + size > s->max &&
	    (victim = TAILQ_LAST(&s->lru, lru_head)) != NULL) {
		unlink_entry(s, victim);
		s->evictions++;
	}
	if (s->nb == 0 || s->bytes + size > s->max) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return -ENOMEM;
	}
	e->hnext = s->b[h & (s->nb - 1)];
	s->b[h & (s->nb - 1)] = e;
	TAILQ_INSERT_HEAD(&s->lru, e, lru);
	s->bytes += size;
	s->n++;
	s->inserts++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

enum cache_state
cache_get(struct cache *c, const uint8_t *key, size_t klen, uint64_t now,
    bool stale_ok, uint8_t *body, size_t bsize, struct cache_hit *hit)
{
	struct shard *s;
	struct entry *e;
	enum cache_state st;
	uint64_t h;

	if (c->max == 0 || klen == 0 || klen > CACHE_KEY_MAX)
		return CACHE_MISS;
	h = hash_key(c, key, klen);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	if ((e = find(s, h, key, klen, NULL)) == NULL) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return CACHE_MISS;
	}
	if (now >= e->dead) {
		unlink_entry(s, e);
		s->expired++;
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return CACHE_MISS;
	}
	st = now < e->expires ? CACHE_FRESH : CACHE_STALE;
	if ((st == CACHE_STALE && !stale_ok) || e->blen > bsize) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return CACHE_MISS;
	}
	memcpy(body, e->data + e->klen, e->blen);
	hit->rcode = e->rcode;
	hit->an = e->an;
	hit->ns = e->ns;
	hit->ttl = e->ttl;
	hit->left = st == CACHE_FRESH ? (uint32_t)(e->expires - now) : 0;
	hit->blen = e->blen;
	if (TAILQ_FIRST(&s->lru) != e) {
		TAILQ_REMOVE(&s->lru, e, lru);
		TAILQ_INSERT_HEAD(&s->lru, e, lru);
	}
	if (st == CACHE_FRESH)
		s->hits++;
	else
		s->stale_hits++;
	pthread_mutex_unlock(&s->lock);
	return st;
}

void
cache_get_stats(struct cache *c, struct cache_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->max_bytes = c->max;
	for (i = 0; i < CACHE_SHARDS; i++) {
		struct shard *s = &c->sh[i];

		pthread_mutex_lock(&s->lock);
		st->entries += s->n;
		st->bytes += s->bytes;
		st->hits += s->hits;
		st->stale_hits += s->stale_hits;
		st->misses += s->misses;
		st->inserts += s->inserts;
		st->evictions += s->evictions;
		st->expired += s->expired;
		pthread_mutex_unlock(&s->lock);
	}
}

uint32_t
cache_ttl_clamp(uint32_t ttl, uint32_t min, uint32_t max)
{
	if (min != 0 && ttl < min)
		ttl = min;
	if (max != 0 && ttl > max)
		ttl = max;
	if (ttl > CACHE_TTL_CAP)
		ttl = CACHE_TTL_CAP;
	return ttl;
}

/* Skip an uncompressed wire name; false if malformed. */
static bool
skip_wire_name(const uint8_t *p, size_t len, size_t *off)
{
	size_t o = *off, total = 0;

	while (o < len) {
		uint8_t l = p[o];

		if (l == 0) {
			*off = o + 1;
			return total + 1 <= 255;
		}
		if (l > 63 || o + 1 + l > len)
			return false;
		total += 1 + l;
		o += 1 + l;
	}
	return false;
}

int
cache_soa_negative_ttl(const uint8_t *rdata, size_t rdlen, uint32_t rr_ttl,
    uint32_t *out)
{
	size_t off = 0;
	uint32_t min;

	if (!skip_wire_name(rdata, rdlen, &off) ||
	    !skip_wire_name(rdata, rdlen, &off) || off + 20 != rdlen)
		return -EINVAL;
	min = (uint32_t)rdata[off + 16] << 24 |
	    (uint32_t)rdata[off + 17] << 16 | (uint32_t)rdata[off + 18] << 8 |
	    rdata[off + 19];
	*out = rr_ttl < min ? rr_ttl : min;
	return 0;
}
