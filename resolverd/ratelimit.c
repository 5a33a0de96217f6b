/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "ratelimit.h"

#include <arpa/inet.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define WAYS 4
#define DAY_MS (86400ull * 1000)
#define TAG_SHIFT 48
#define LOW48 ((1ull << TAG_SHIFT) - 1)
#define QCOUNT_MAX 0xffffffffull

/*
 * A slot is one 64-bit word changed with compare-and-swap only, so every
 * worker thread uses the same table without a lock:
 *
 *   rate (and RRL): tag:16 | TAT:48, the GCRA's theoretical arrival
 *     time in microseconds modulo 2^48 (8.9 years; differences are
 *     taken modulo 2^48 too);
 *   quota: tag:16 | day:16 (UTC day modulo 2^16) | count:32.
 *
 * The tag is 16 bits of a keyed hash of the client (never 0: 0 is a free
 * slot), the set's index other bits of it.  Two clients with the same
 * set and tag share one bucket (a chance of 1 in 2^16 when both are in
 * the table at once).  A client not in its set takes the way whose
 * bucket is the fullest (the smallest TAT: a TAT in the past is the same
 * as a fresh bucket, so an idle client loses nothing) or, in quotas,
 * the way of an older day or else the smallest count.
 */
struct rl_table {
	size_t nsets; /* a power of two */
	_Atomic uint64_t *rate;
	_Atomic uint64_t *quota;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

struct rl_table *
rl_table_new(size_t nslots)
{
	struct rl_table *t;
	size_t n = 1, i;

	if (sodium_init() < 0)
		return NULL;
	while (n * WAYS < nslots)
		n <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nsets = n;
	t->rate = calloc(n * WAYS, sizeof(*t->rate));
	t->quota = calloc(n * WAYS, sizeof(*t->quota));
	if (t->rate == NULL || t->quota == NULL) {
		rl_table_free(t);
		return NULL;
	}
	for (i = 0; i < n * WAYS; i++) {
		atomic_init(&t->rate[i], 0);
		atomic_init(&t->quota[i], 0);
	}
	randombytes_buf(t->hkey, sizeof(t->hkey));
	return t;
}

void
rl_table_free(struct rl_table *t)
{
	if (t == NULL)
		return;
	free(t->rate);
	free(t->quota);
	free(t);
}

/* The set (its first slot's index) and the tag of a 17-byte key. */
static size_t
set_of(const struct rl_table *t, const uint8_t *key, uint64_t *tag)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, 17, t->hkey);
	memcpy(&v, h, sizeof(v));
	*tag = v >> TAG_SHIFT;
	if (*tag == 0)
		*tag = 1;
	return (size_t)(v & (t->nsets - 1)) * WAYS;
}

/* a - b modulo 2^48, as a signed number */
static int64_t
diff48(uint64_t a, uint64_t b)
{
	uint64_t d = (a - b) & LOW48;

	return d & (1ull << 47) ? (int64_t)d - (int64_t)(1ull << 48) :
	                          (int64_t)d;
}

/*
 * GCRA: one more event at now_us for a bucket of burst events refilled
 * at rate per second?  The way is found and taken with one CAS.
 */
/* The way of set holding tag, with its word in *w; NULL if none does. */
static _Atomic uint64_t *
find_way(_Atomic uint64_t *set, uint64_t tag, uint64_t *w)
{
	size_t i;

	for (i = 0; i < WAYS; i++) {
		*w = atomic_load_explicit(&set[i], memory_order_relaxed);
		if (*w != 0 && *w >> TAG_SHIFT == tag)
			return &set[i];
	}
	return NULL;
}

static bool
gcra(struct rl_table *t, const uint8_t *key, uint32_t rate, uint32_t burst,
    uint64_t now_us)
{
	uint64_t tag, T, tau, w, tat, nw;
	uint64_t now = now_us & LOW48;
	_Atomic uint64_t *set, *slot;
	int64_t best, d;
	size_t i;

	T = (1000000u + rate / 2) / rate;
	if (T == 0)
		T = 1;
	tau = (uint64_t)((burst ? burst : rate) - 1) * T;
	set = &t->rate[set_of(t, key, &tag)];
again:
	slot = find_way(set, tag, &w);
	if (slot != NULL) {
		do {
			tat = w & LOW48;
			if (diff48(tat, now) < 0)
				tat = now;
			d = diff48(tat, now);
			if ((uint64_t)d > tau)
				return false;
			nw = tag << TAG_SHIFT | ((tat + T) & LOW48);
		} while (!atomic_compare_exchange_weak_explicit(slot, &w, nw,
		             memory_order_relaxed, memory_order_relaxed) &&
		    w >> TAG_SHIFT == tag);
		if (w >> TAG_SHIFT != tag)
			goto again; /* pushed out meanwhile */
		return true;
	}
	/* a newcomer: the fullest bucket makes room */
	best = INT64_MAX;
	for (i = 0; i < WAYS; i++) {
		w = atomic_load_explicit(&set[i], memory_order_relaxed);
		d = w == 0 ? INT64_MIN : diff48(w & LOW48, now);
		if (slot == NULL || d < best) {
			slot = &set[i];
			best = d;
		}
	}
	w = atomic_load_explicit(slot, memory_order_relaxed);
	nw = tag << TAG_SHIFT | ((now + T) & LOW48);
	if (!atomic_compare_exchange_strong_explicit(slot, &w, nw,
	        memory_order_relaxed, memory_order_relaxed))
		goto again;
	return true;
}

/* One more query today within quota?  (Counted even if over.) */
static bool
quota_take(struct rl_table *t, const uint8_t *key, uint64_t quota,
    uint64_t now_us)
{
	uint64_t tag, w, nw, cnt, day = (now_us / 1000 / DAY_MS) & 0xffff;
	_Atomic uint64_t *set, *slot;
	uint64_t best;
	size_t i;

	if (quota > QCOUNT_MAX - 1)
		quota = QCOUNT_MAX - 1; /* the count's width */
	set = &t->quota[set_of(t, key, &tag)];
again:
	slot = find_way(set, tag, &w);
	if (slot != NULL) {
		do {
			cnt = ((w >> 32) & 0xffff) == day ? w & QCOUNT_MAX : 0;
			if (cnt >= quota)
				return false;
			nw = tag << TAG_SHIFT | day << 32 | (cnt + 1);
		} while (!atomic_compare_exchange_weak_explicit(slot, &w, nw,
		             memory_order_relaxed, memory_order_relaxed) &&
		    w >> TAG_SHIFT == tag);
		if (w >> TAG_SHIFT != tag)
			goto again;
		return true;
	}
	/* a newcomer takes a free way, one of an older day, or the one
	 * with the smallest count */
	best = UINT64_MAX;
	for (i = 0; i < WAYS; i++) {
		w = atomic_load_explicit(&set[i], memory_order_relaxed);
		cnt = w == 0 || ((w >> 32) & 0xffff) != day ?
		    0 :
		    (w & QCOUNT_MAX) + 1;
		if (slot == NULL || cnt < best) {
			slot = &set[i];
			best = cnt;
		}
	}
	w = atomic_load_explicit(slot, memory_order_relaxed);
	nw = tag << TAG_SHIFT | day << 32 | 1;
	if (!atomic_compare_exchange_strong_explicit(slot, &w, nw,
	        memory_order_relaxed, memory_order_relaxed))
		goto again;
	return quota > 0;
}

enum rl_verdict
rl_check(struct rl_table *t, const struct rl_params *p, const uint8_t *client,
    size_t clen, uint64_t now_us)
{
	uint8_t key[17] = { 0 };

	if (p->rate == 0 && p->quota == 0)
		return RL_PASS;
	key[0] = (uint8_t)clen;
	memcpy(key + 1, client, clen > 16 ? 16 : clen);
	if (p->quota != 0 && !quota_take(t, key, p->quota, now_us))
		return RL_OVER_QUOTA;
	if (p->rate != 0 && !gcra(t, key, p->rate, p->burst, now_us))
		return RL_LIMITED;
	return RL_PASS;
}

enum rrl_verdict
rrl_check(struct rl_table *t, const struct rl_params *p, const uint8_t *client,
    size_t clen, uint64_t now_us, uint32_t *limited)
{
	uint8_t key[17] = { 0 };

	if (p->rrl == 0)
		return RRL_PASS;
	key[0] = (uint8_t)(0x80 | clen); /* networks apart from clients */
	if (clen == 4)
		memcpy(key + 1, client, 3); /* /24 */
	else
		memcpy(key + 1, client, 7); /* /56 */
	if (gcra(t, key, p->rrl, p->rrl, now_us))
		return RRL_PASS;
	if (p->rrl_slip != 0 && ++*limited % p->rrl_slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

int
rl_parse_policy(struct rl_params *p, const char *s)
{
	struct in_addr a;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strcasecmp(s, "refused") == 0)
		p->policy = RL_REFUSED;
	else if (strcasecmp(s, "drop") == 0)
		p->policy = RL_DROP;
	else if ((s[0] == 'A' || s[0] == 'a') &&
	    (s[1] == ' ' || s[1] == '\t')) {
		s += 2;
		while (*s == ' ' || *s == '\t')
			s++;
		if (inet_pton(AF_INET, s, &a) != 1)
			return -1;
		p->policy = RL_A;
		p->over_a = ntohl(a.s_addr);
	} else
		return -1;
	return 0;
}
