/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The forwarded answers' cache (resolverd/cache.c): fresh and stale
 * windows on a clock the test sets, the byte bound under many distinct
 * keys (malloc's real sizes, buckets included), LRU order, TTL clamps,
 * RFC 2308 negative TTLs from SOA data, and a few threads at once.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"

static size_t
mkkey(uint8_t *k, unsigned i)
{
	return (size_t)snprintf((char *)k, CACHE_KEY_MAX,
	           "\x01%u\x07"
	           "example\x03"
	           "com",
	           i) +
	    1;
}

static void
test_fresh_stale_gone(void **state)
{
	struct cache *c = cache_new(1 << 20);
	uint8_t body[64] = "answer bytes", out[64];
	struct cache_hit h;
	struct cache_stats st;

	(void)state;
	assert_non_null(c);
	assert_int_equal(cache_put(c, (const uint8_t *)"k1", 2, 0, 1, 0, body,
	                     12, 300, 100, 1000),
	    0);
	/* fresh: TTL counts down */
	assert_int_equal(cache_get(c, (const uint8_t *)"k1", 2, 1000, false,
	                     out, sizeof(out), &h),
	    CACHE_FRESH);
	assert_int_equal(h.left, 300);
	assert_int_equal(h.ttl, 300);
	assert_int_equal(h.an, 1);
	assert_int_equal(h.blen, 12);
	assert_memory_equal(out, body, 12);
	assert_int_equal(cache_get(c, (const uint8_t *)"k1", 2, 1299, false,
	                     out, sizeof(out), &h),
	    CACHE_FRESH);
	assert_int_equal(h.left, 1);
	/* expired: a miss, unless stale answers are wanted */
	assert_int_equal(cache_get(c, (const uint8_t *)"k1", 2, 1300, false,
	                     out, sizeof(out), &h),
	    CACHE_MISS);
	assert_int_equal(cache_get(c, (const uint8_t *)"k1", 2, 1399, true, out,
	                     sizeof(out), &h),
	    CACHE_STALE);
	assert_int_equal(h.left, 0);
	/* past the stale window: gone, and removed */
	assert_int_equal(cache_get(c, (const uint8_t *)"k1", 2, 1400, true, out,
	                     sizeof(out), &h),
	    CACHE_MISS);
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.stale_hits, 1);
	/* an unknown key, a key of another length */
	assert_int_equal(cache_get(c, (const uint8_t *)"k", 1, 1000, true, out,
	                     sizeof(out), &h),
	    CACHE_MISS);
	cache_free(c);
}

static void
test_replace_and_limits(void **state)
{
	struct cache *c = cache_new(1 << 20), *none = cache_new(0);
	static uint8_t big[CACHE_BODY_MAX + 1];
	uint8_t out[64];
	struct cache_hit h;
	struct cache_stats st;

	(void)state;
	assert_int_equal(cache_put(c, (const uint8_t *)"k", 1, 0, 1, 0,
	                     (const uint8_t *)"old", 3, 60, 0, 0),
	    0);
	assert_int_equal(cache_put(c, (const uint8_t *)"k", 1, 3, 0, 1,
	                     (const uint8_t *)"newer", 5, 60, 0, 10),
	    0);
	assert_int_equal(cache_get(c, (const uint8_t *)"k", 1, 10, false, out,
	                     sizeof(out), &h),
	    CACHE_FRESH);
	assert_int_equal(h.rcode, 3);
	assert_int_equal(h.ns, 1);
	assert_memory_equal(out, "newer", 5);
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	/* a body larger than the caller's buffer is a miss */
	assert_int_equal(
	    cache_get(c, (const uint8_t *)"k", 1, 10, false, out, 4, &h),
	    CACHE_MISS);
	/* too big, nothing to keep, no cache */
	assert_int_equal(cache_put(c, (const uint8_t *)"b", 1, 0, 1, 0, big,
	                     sizeof(big), 60, 0, 0),
	    -E2BIG);
	assert_int_equal(cache_put(c, (const uint8_t *)"z", 1, 0, 1, 0,
	                     (const uint8_t *)"x", 1, 0, 0, 0),
	    0);
	assert_int_equal(cache_get(c, (const uint8_t *)"z", 1, 0, true, out,
	                     sizeof(out), &h),
	    CACHE_MISS);
	assert_int_equal(cache_put(none, (const uint8_t *)"k", 1, 0, 1, 0,
	                     (const uint8_t *)"x", 1, 60, 0, 0),
	    0);
	assert_int_equal(cache_get(none, (const uint8_t *)"k", 1, 0, true, out,
	                     sizeof(out), &h),
	    CACHE_MISS);
	/* a TTL of 0 with a stale window: kept for stale answers only */
	assert_int_equal(cache_put(c, (const uint8_t *)"s", 1, 0, 1, 0,
	                     (const uint8_t *)"x", 1, 0, 30, 100),
	    0);
	assert_int_equal(cache_get(c, (const uint8_t *)"s", 1, 100, false, out,
	                     sizeof(out), &h),
	    CACHE_MISS);
	assert_int_equal(cache_get(c, (const uint8_t *)"s", 1, 100, true, out,
	                     sizeof(out), &h),
	    CACHE_STALE);
	cache_flush(c);
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	cache_free(c);
	cache_free(none);
}

/* Many distinct names into a small cache: the bound holds throughout,
 * old names go first, and a name in use stays. */
static void
test_bound_lru(void **state)
{
	const size_t max = 256 * 1024;
	struct cache *c = cache_new(max);
	uint8_t key[CACHE_KEY_MAX], body[120], out[200];
	struct cache_hit h;
	struct cache_stats st;
	unsigned i, kept = 0;
	size_t klen;

	(void)state;
	memset(body, 0xab, sizeof(body));
	klen = mkkey(key, 999999);
	assert_int_equal(
	    cache_put(c, key, klen, 0, 1, 0, body, sizeof(body), 3600, 0, 0),
	    0);
	for (i = 0; i < 200000; i++) {
		klen = mkkey(key, i);
		assert_int_equal(cache_put(c, key, klen, 0, 1, 0, body,
		                     sizeof(body), 3600, 0, 1),
		    0);
		if (i % 64 == 0) {
			/* the hot name is used all the time */
			klen = mkkey(key, 999999);
			assert_int_equal(cache_get(c, key, klen, 1, false, out,
			                     sizeof(out), &h),
			    CACHE_FRESH);
			cache_get_stats(c, &st);
			assert_true(st.bytes <= max);
		}
	}
	cache_get_stats(c, &st);
	assert_true(st.bytes <= max);
	assert_true(st.bytes > max / 2); /* and it is used */
	assert_true(st.evictions > 190000);
	assert_true(st.entries > 500);
	/* the oldest are gone, the newest are there */
	klen = mkkey(key, 0);
	assert_int_equal(
	    cache_get(c, key, klen, 1, false, out, sizeof(out), &h),
	    CACHE_MISS);
	for (i = 199900; i < 200000; i++) {
		klen = mkkey(key, i);
		kept += cache_get(c, key, klen, 1, false, out, sizeof(out),
		            &h) == CACHE_FRESH;
	}
	assert_int_equal(kept, 100);
	klen = mkkey(key, 999999);
	assert_int_equal(
	    cache_get(c, key, klen, 1, false, out, sizeof(out), &h),
	    CACHE_FRESH);
	cache_free(c);
}

static void
test_ttl_clamp(void **state)
{
	(void)state;
	assert_int_equal(cache_ttl_clamp(10, 60, 0), 60);
	assert_int_equal(cache_ttl_clamp(100000, 0, 3600), 3600);
	assert_int_equal(cache_ttl_clamp(300, 60, 3600), 300);
	assert_int_equal(cache_ttl_clamp(0, 0, 0), 0);
	assert_int_equal(cache_ttl_clamp(0, 1, 0), 1);
	assert_int_equal(cache_ttl_clamp(UINT32_MAX, 0, 0), CACHE_TTL_CAP);
}

/* SOA rdata: mname, rname, serial, refresh, retry, expire, minimum. */
static size_t
soa_rdata(uint8_t *rd, uint32_t minimum)
{
	static const uint8_t names[] = "\x03ns1\x02"
	                               "bl\x04test\x00"
	                               "\x02hm\x02"
	                               "bl\x04test";
	size_t n = sizeof(names); /* the second name's root label too */
	uint32_t f[5] = { 2024010101, 600, 300, 86400, minimum };
	unsigned i;

	memcpy(rd, names, n);
	for (i = 0; i < 5; i++) {
		rd[n++] = (uint8_t)(f[i] >> 24);
		rd[n++] = (uint8_t)(f[i] >> 16);
		rd[n++] = (uint8_t)(f[i] >> 8);
		rd[n++] = (uint8_t)f[i];
	}
	return n;
}

static void
test_negative_ttl(void **state)
{
	uint8_t rd[128];
	size_t n;
	uint32_t ttl = 12345;

	(void)state;
	n = soa_rdata(rd, 60);
	/* min(SOA TTL, MINIMUM) */
	assert_int_equal(cache_soa_negative_ttl(rd, n, 3600, &ttl), 0);
	assert_int_equal(ttl, 60);
	assert_int_equal(cache_soa_negative_ttl(rd, n, 30, &ttl), 0);
	assert_int_equal(ttl, 30);
	n = soa_rdata(rd, 86400);
	assert_int_equal(cache_soa_negative_ttl(rd, n, 900, &ttl), 0);
	assert_int_equal(ttl, 900);
	/* malformed: cut, trailing bytes, a bad label */
	ttl = 7;
	assert_int_equal(cache_soa_negative_ttl(rd, n - 1, 900, &ttl), -EINVAL);
	assert_int_equal(cache_soa_negative_ttl(rd, 5, 900, &ttl), -EINVAL);
	rd[n] = 0;
	assert_int_equal(cache_soa_negative_ttl(rd, n + 1, 900, &ttl), -EINVAL);
	rd[0] = 0x40;
	assert_int_equal(cache_soa_negative_ttl(rd, n, 900, &ttl), -EINVAL);
	assert_int_equal(ttl, 7);
}

struct thr {
	struct cache *c;
	unsigned seed;
};

static void *
hammer(void *arg)
{
	struct thr *t = arg;
	uint8_t key[CACHE_KEY_MAX], body[300], out[400];
	struct cache_hit h;
	unsigned i, x = t->seed;

	memset(body, (int)t->seed, sizeof(body));
	for (i = 0; i < 100000; i++) {
		size_t klen;

		x = x * 1103515245u + 12345u;
		klen = mkkey(key, (x >> 8) % 20000);
		if (x & 1)
			(void)cache_put(t->c, key, klen, 0, 1, 0, body,
			    (x >> 4) % sizeof(body), 60, 60, i / 1000);
		else if (cache_get(t->c, key, klen, i / 1000, (x & 2) != 0, out,
		             sizeof(out), &h) != CACHE_MISS &&
		    h.blen > 0 && (out[0] != out[h.blen - 1]))
			return (void *)1; /* a torn body */
	}
	return NULL;
}

static void
test_threads(void **state)
{
	const size_t max = 512 * 1024;
	struct cache *c = cache_new(max);
	struct thr t[4];
	pthread_t tid[4];
	struct cache_stats st;
	void *rv;
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		t[i].c = c;
		t[i].seed = i + 1;
		assert_int_equal(pthread_create(&tid[i], NULL, hammer, &t[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], &rv), 0);
		assert_null(rv);
	}
	cache_get_stats(c, &st);
	assert_true(st.bytes <= max);
	assert_true(st.inserts > 0 && st.hits > 0);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_stale_gone),
		cmocka_unit_test(test_replace_and_limits),
		cmocka_unit_test(test_bound_lru),
		cmocka_unit_test(test_ttl_clamp),
		cmocka_unit_test(test_negative_ttl),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
