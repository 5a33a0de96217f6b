/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "ratelimit.h"

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WAYS 4
#define DAY_MS (86400ull * 1000)

struct rl_slot {
	uint8_t key[17]; /* [0]: kind|length, then the address */
	uint64_t last_ms; /* 0: free */
	uint64_t milli; /* tokens * 1000 */
	uint64_t day; /* UTC day of dayq */
	uint64_t dayq;
};

struct rl_table {
	size_t nsets; /* a power of two */
	struct rl_slot *s;
	uint32_t rrl_count; /* limited answers, for the slip */
};

struct rl_table *
rl_table_new(size_t nslots)
{
	struct rl_table *t;
	size_t n = 1;

	while (n * WAYS < nslots)
		n <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nsets = n;
	if ((t->s = calloc(n * WAYS, sizeof(*t->s))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
rl_table_free(struct rl_table *t)
{
	if (t == NULL)
		return;
	free(t->s);
	free(t);
}

/* FNV-1a; the table is small and per worker, flooding one set only
 * pushes flooders out of it */
static uint64_t
hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static struct rl_slot *
lookup(struct rl_table *t, const uint8_t *key, uint64_t now_ms, bool *fresh)
{
	struct rl_slot *set, *old;
	size_t i;

	set = &t->s[(hash(key, 17) & (t->nsets - 1)) * WAYS];
	old = &set[0];
	for (i = 0; i < WAYS; i++) {
		if (set[i].last_ms != 0 && memcmp(set[i].key, key, 17) == 0) {
			*fresh = false;
			return &set[i];
		}
		if (set[i].last_ms < old->last_ms)
			old = &set[i];
	}
	memset(old, 0, sizeof(*old));
	memcpy(old->key, key, 17);
	old->last_ms = now_ms != 0 ? now_ms : 1;
	*fresh = true;
	return old;
}

/* One token from a bucket of rate/s holding at most burst. */
static bool
take(struct rl_slot *s, uint32_t rate, uint32_t burst, uint64_t now_ms,
    bool fresh)
{
	uint64_t cap = (uint64_t)(burst ? burst : rate) * 1000;

	if (fresh)
		s->milli = cap;
	else if (now_ms > s->last_ms) {
		s->milli += (now_ms - s->last_ms) * rate;
		if (s->milli > cap)
			s->milli = cap;
	}
	if (now_ms > s->last_ms)
		s->last_ms = now_ms;
	if (s->milli < 1000)
		return false;
	s->milli -= 1000;
	return true;
}

enum rl_verdict
rl_check(struct rl_table *t, const struct rl_params *p, const uint8_t *client,
    size_t clen, uint64_t now_ms)
{
	uint8_t key[17] = { 0 };
	struct rl_slot *s;
	bool fresh;

	if (p->rate == 0 && p->quota == 0)
		return RL_PASS;
	key[0] = (uint8_t)clen;
	memcpy(key + 1, client, clen > 16 ? 16 : clen);
	s = lookup(t, key, now_ms, &fresh);
	if (p->quota != 0) {
		uint64_t day = now_ms / DAY_MS;

		if (s->day != day) {
			s->day = day;
			s->dayq = 0;
		}
		if (s->dayq >= p->quota) {
			s->last_ms = now_ms > s->last_ms ? now_ms : s->last_ms;
			return RL_OVER_QUOTA;
		}
		s->dayq++;
	}
	if (p->rate != 0 && !take(s, p->rate, p->burst, now_ms, fresh))
		return RL_LIMITED;
	if (p->rate == 0 && now_ms > s->last_ms)
		s->last_ms = now_ms;
	return RL_PASS;
}

enum rrl_verdict
rrl_check(struct rl_table *t, const struct rl_params *p, const uint8_t *client,
    size_t clen, uint64_t now_ms)
{
	uint8_t key[17] = { 0 };
	struct rl_slot *s;
	bool fresh;

	if (p->rrl == 0)
		return RRL_PASS;
	key[0] = (uint8_t)(0x80 | clen); /* networks apart from clients */
	if (clen == 4)
		memcpy(key + 1, client, 3); /* /24 */
	else
		memcpy(key + 1, client, 7); /* /56 */
	s = lookup(t, key, now_ms, &fresh);
	if (take(s, p->rrl, p->rrl, now_ms, fresh))
		return RRL_PASS;
	if (p->rrl_slip != 0 && ++t->rrl_count % p->rrl_slip == 0)
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
