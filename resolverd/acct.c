/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "acct.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#define LC_SLOTS 1024 /* a worker's client table */
#define LC_FLUSH 512 /* merge into the shared table at this many */
#define WZ_SLOTS 64 /* zones a worker counts between merges */
#define LN_CAP 256 /* a worker's own names sketch */
#define NAME_PLEN 0xff /* acct_key.plen of a name's hash */
#define ZONES_MAX 4096
#define RL_SLOTS 65536 /* clients and networks rate-limited at once */
#define KV_STORE "acct"
#define KV_VERSION 1
#define MAX_CLIENTS_LIMIT 10000000

const char *const acct_ctr_names[AC_N] = {
	"queries",
	"listed",
	"notlisted",
	"refused",
	"dropped",
	"ratelimited",
	"errors",
	"forwarded",
	"cached",
	"bytes_in",
	"bytes_out",
};

/* ---- clients ---- */

void
acct_client_key(const uint8_t *client, size_t clen, unsigned v6plen,
    struct acct_key *k)
{
	unsigned i, plen;

	memset(k, 0, sizeof(*k));
	if (clen == 4) {
		k->len = 4;
		k->plen = 32;
		memcpy(k->a, client, 4);
		return;
	}
	k->len = 16;
	plen = v6plen > 128 ? 128 : v6plen;
	k->plen = (uint8_t)plen;
	memcpy(k->a, client, 16);
	for (i = 0; i < 16; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		k->a[i] &= (uint8_t)(0xff << (8 - plen));
		plen = 0;
	}
}

void
acct_key_text(const struct acct_key *k, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (k->len == 4) {
		inet_ntop(AF_INET, k->a, buf, (socklen_t)size);
		return;
	}
	inet_ntop(AF_INET6, k->a, a, sizeof(a));
	if (k->plen < 128)
		snprintf(buf, size, "%s/%u", a, k->plen);
	else
		snprintf(buf, size, "%s", a);
}

static uint64_t
key_hash(const struct acct_key *k)
{
	uint64_t a, b, h;

	/* the unused bytes of a key are zero (acct_client_key) */
	memcpy(&a, k->a, 8);
	memcpy(&b, k->a + 8, 8);
	h = (a ^ ((uint64_t)k->len << 56)) * 0x9e3779b97f4a7c15ull;
	h ^= (b + k->plen) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static bool
key_eq(const struct acct_key *a, const struct acct_key *b)
{
	return a->len == b->len && a->plen == b->plen &&
	    memcmp(a->a, b->a, a->len) == 0;
}

static void
ctr_add(struct acct_counters *d, const struct acct_counters *s)
{
	size_t i;

	for (i = 0; i < AC_N; i++)
		d->v[i] += s->v[i];
}

/* ---- the Space-Saving sketch ---- */

struct ss {
	size_t cap, n;
	struct ss_entry *e;
	uint32_t *heap; /* entry indexes, a min-heap on rank */
	uint64_t *hrank; /* rank of heap[i], beside it: no entry loads */
	uint32_t *pos; /* heap position of each entry */
	uint32_t *ht; /* entry index + 1, 0: free; linear probing */
	size_t hmask;
	struct acct_counters other;
};

static inline uint64_t
rank(const struct ss_entry *e)
{
	return e->c.v[AC_Q] + e->err;
}

struct ss *
ss_new(size_t cap)
{
	struct ss *s;
	size_t h = 16;

	if (cap == 0 || cap > MAX_CLIENTS_LIMIT)
		cap = cap == 0 ? 1 : MAX_CLIENTS_LIMIT;
	while (h < cap * 2)
		h <<= 1;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cap = cap;
	s->hmask = h - 1;
	s->e = calloc(cap, sizeof(*s->e));
	s->heap = calloc(cap, sizeof(*s->heap));
	s->hrank = calloc(cap, sizeof(*s->hrank));
	s->pos = calloc(cap, sizeof(*s->pos));
	s->ht = calloc(h, sizeof(*s->ht));
	if (s->e == NULL || s->heap == NULL || s->hrank == NULL ||
	    s->pos == NULL || s->ht == NULL) {
		ss_free(s);
		return NULL;
	}
	return s;
}

void
ss_free(struct ss *s)
{
	if (s == NULL)
		return;
	free(s->e);
	free(s->heap);
	free(s->hrank);
	free(s->pos);
	free(s->ht);
	free(s);
}

size_t
ss_memory(const struct ss *s)
{
	return sizeof(*s) +
	    s->cap *
	    (sizeof(*s->e) + sizeof(*s->heap) + sizeof(*s->hrank) +
	        sizeof(*s->pos)) +
	    (s->hmask + 1) * sizeof(*s->ht);
}

void
ss_clear(struct ss *s)
{
	s->n = 0;
	memset(s->ht, 0, (s->hmask + 1) * sizeof(*s->ht));
	memset(&s->other, 0, sizeof(s->other));
}

size_t
ss_count(const struct ss *s)
{
	return s->n;
}

size_t
ss_capacity(const struct ss *s)
{
	return s->cap;
}

const struct ss_entry *
ss_entry_at(const struct ss *s, size_t i)
{
	return i < s->n ? &s->e[i] : NULL;
}

const struct acct_counters *
ss_other(const struct ss *s)
{
	return &s->other;
}

static size_t
ht_slot(const struct ss *s, const struct acct_key *k, bool *found)
{
	size_t i = key_hash(k) & s->hmask;

	while (s->ht[i] != 0) {
		if (key_eq(&s->e[s->ht[i] - 1].key, k)) {
			*found = true;
			return i;
		}
		i = (i + 1) & s->hmask;
	}
	*found = false;
	return i;
}

const struct ss_entry *
ss_find(const struct ss *s, const struct acct_key *k)
{
	bool found;
	size_t i = ht_slot(s, k, &found);

	return found ? &s->e[s->ht[i] - 1] : NULL;
}

/* Remove the slot at i, shifting later members of its cluster back. */
static void
ht_delete(struct ss *s, size_t i)
{
	size_t j = i, k;

	for (;;) {
		j = (j + 1) & s->hmask;
		if (s->ht[j] == 0)
			break;
		k = key_hash(&s->e[s->ht[j] - 1].key) & s->hmask;
		/* may the member at j move to i?  Yes unless its home k
		 * lies cyclically in (i, j] */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			s->ht[i] = s->ht[j];
			i = j;
		}
	}
	s->ht[i] = 0;
}

static void
heap_swap(struct ss *s, size_t a, size_t b)
{
	uint32_t t = s->heap[a];
	uint64_t r = s->hrank[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->hrank[a] = s->hrank[b];
	s->hrank[b] = r;
	s->pos[s->heap[a]] = (uint32_t)a;
	s->pos[s->heap[b]] = (uint32_t)b;
}

static void
sift_up(struct ss *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (s->hrank[p] <= s->hrank[i])
			break;
		heap_swap(s, p, i);
		i = p;
	}
}

static void
sift_down(struct ss *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n && s->hrank[l] < s->hrank[m])
			m = l;
		if (r < s->n && s->hrank[r] < s->hrank[m])
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

size_t
ss_add(struct ss *s, const struct acct_key *key, const struct acct_counters *c,
    uint64_t err)
{
	struct ss_entry *e;
	bool found;
	size_t slot = ht_slot(s, key, &found);
	uint32_t idx;

	if (found) {
		idx = s->ht[slot] - 1;
		e = &s->e[idx];
		ctr_add(&e->c, c);
		e->err += err;
		s->hrank[s->pos[idx]] = rank(e);
		sift_down(s, s->pos[idx]);
		return idx;
	}
	if (s->n < s->cap) {
		idx = (uint32_t)s->n++;
		e = &s->e[idx];
		e->key = *key;
		e->c = *c;
		e->err = err;
		s->ht[slot] = idx + 1;
		s->heap[s->n - 1] = idx;
		s->hrank[s->n - 1] = rank(e);
		s->pos[idx] = (uint32_t)(s->n - 1);
		sift_up(s, s->n - 1);
		return idx;
	}
	/* full: the smallest estimate makes room, its counts go to other */
	idx = s->heap[0];
	e = &s->e[idx];
	ctr_add(&s->other, &e->c);
	err += rank(e);
	{
		bool f2;
		size_t old = ht_slot(s, &e->key, &f2);

		if (f2)
			ht_delete(s, old);
	}
	e->key = *key;
	e->c = *c;
	e->err = err;
	slot = ht_slot(s, key, &found);
	s->ht[slot] = idx + 1;
	s->hrank[0] = rank(e);
	sift_down(s, 0);
	return idx;
}

/* ---- parameters ---- */

struct acct_params *
acct_params_new(bool dropin)
{
	struct acct_params *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	atomic_init(&p->refs, 1);
	p->enabled = true;
	p->max_clients = 10000;
	p->v6plen = 64;
	p->save_interval = 60;
	p->rl.rrl_slip = 2;
	if (dropin) {
		/* rbldnsd answers everybody */
		p->acl.nomatch = ACL_ALLOW;
	} else if (acl_set_default(&p->acl) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
acct_params_unref(struct acct_params *p)
{
	size_t i;

	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	acl_clear(&p->acl);
	for (i = 0; i < p->nzacl; i++)
		acl_clear(&p->zacl[i].acl);
	free(p->zacl);
	free(p);
}

struct pparse {
	struct acct_params *p;
	const char *path;
	FILE *f;
	unsigned line;
	bool server_acl; /* an acl line replaced the default */
	char err[512];
};

static int pp_err(struct pparse *pp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
pp_err(struct pparse *pp, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (pp->err[0] != '\0')
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(pp->err, sizeof(pp->err), "%s:%u: %s", pp->path, pp->line,
	    msg);
	return 0;
}

static int
pp_uint(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || n > max)
		return -1;
	if (*end == '/' && strcmp(end, "/s") == 0)
		end += 2;
	if (*end != '\0')
		return -1;
	*out = n;
	return 0;
}

static int
pp_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
	    strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0 ||
	    strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int
pp_server(struct pparse *pp, const char *name, const char *v)
{
	struct acct_params *p = pp->p;
	char msg[256];
	uint64_t n;

	if (strcmp(name, "accounting") == 0) {
		if (pp_bool(v, &p->enabled) != 0)
			return pp_err(pp, "accounting: %s: want yes or no", v);
	} else if (strcmp(name, "max-clients") == 0) {
		if (pp_uint(v, MAX_CLIENTS_LIMIT, &n) != 0 || n == 0)
			return pp_err(pp,
			    "max-clients: %s: not a number from 1 to %d", v,
			    MAX_CLIENTS_LIMIT);
		p->max_clients = (size_t)n;
	} else if (strcmp(name, "client6-prefix") == 0) {
		if (pp_uint(v, 128, &n) != 0)
			return pp_err(pp,
			    "client6-prefix: %s: not a number from 0 to 128",
			    v);
		p->v6plen = (unsigned)n;
	} else if (strcmp(name, "acct-save-interval") == 0) {
		if (pp_uint(v, 86400, &n) != 0 || n == 0)
			return pp_err(pp,
			    "acct-save-interval: %s: seconds from 1 to 86400",
			    v);
		p->save_interval = (unsigned)n;
	} else if (strcmp(name, "acl") == 0) {
		if (!pp->server_acl) {
			acl_clear(&p->acl);
			p->acl.nomatch = ACL_REFUSE;
			pp->server_acl = true;
		}
		if (acl_parse(&p->acl, v, msg, sizeof(msg)) != 0)
			return pp_err(pp, "%s", msg);
	} else if (strcmp(name, "rate-limit") == 0) {
		if (pp_uint(v, 10000000, &n) != 0)
			return pp_err(pp,
			    "rate-limit: %s: want queries per second, 0: none",
			    v);
		p->rl.rate = (uint32_t)n;
	} else if (strcmp(name, "rate-burst") == 0) {
		if (pp_uint(v, 10000000, &n) != 0)
			return pp_err(pp, "rate-burst: %s: not a number", v);
		p->rl.burst = (uint32_t)n;
	} else if (strcmp(name, "daily-quota") == 0) {
		if (pp_uint(v, RL_QUOTA_MAX, &n) != 0)
			return pp_err(pp,
			    "daily-quota: %s: want queries per day, 0: none, "
			    "at most %llu",
			    v, (unsigned long long)RL_QUOTA_MAX);
		p->rl.quota = n;
	} else if (strcmp(name, "limit-answer") == 0) {
		if (rl_parse_policy(&p->rl, v) != 0)
			return pp_err(pp,
			    "limit-answer: %s: want refused, drop or "
			    "A 127.0.0.N",
			    v);
	} else if (strcmp(name, "rrl") == 0) {
		if (pp_uint(v, 10000000, &n) != 0)
			return pp_err(pp,
			    "rrl: %s: want answers per second per /24, 0: off",
			    v);
		p->rl.rrl = (uint32_t)n;
	} else if (strcmp(name, "rrl-slip") == 0) {
		if (pp_uint(v, 100, &n) != 0)
			return pp_err(pp,
			    "rrl-slip: %s: a number from 0 to 100", v);
		p->rl.rrl_slip = (uint32_t)n;
	} else if (strcmp(name, "control-admin") == 0) {
		struct passwd *pw = getpwnam(v);

		if (p->nadmins >= sizeof(p->admins) / sizeof(p->admins[0]))
			return pp_err(pp, "control-admin: too many");
		if (pw != NULL)
			p->admins[p->nadmins++] = pw->pw_uid;
		else if (pp_uint(v, UINT32_MAX - 1, &n) == 0)
			p->admins[p->nadmins++] = (uid_t)n;
		else
			return pp_err(pp, "control-admin: %s: no such user", v);
	}
	return 1;
}

static int
pp_zone(struct pparse *pp, const char *zone, const char *name, const char *v)
{
	struct acct_params *p = pp->p;
	struct acct_zacl *z = NULL, *nz;
	char msg[256];
	size_t i;

	if (strcmp(name, "acl") != 0)
		return 1;
	if (strlen(zone) > ZN_NAME_MAX)
		return pp_err(pp, "[zone %s]: name too long", zone);
	for (i = 0; i < p->nzacl; i++)
		if (strcasecmp(p->zacl[i].name, zone) == 0)
			z = &p->zacl[i];
	if (z == NULL) {
		if (p->nzacl >= ZONES_MAX)
			return pp_err(pp, "acl: too many zones");
		nz = reallocarray(p->zacl, p->nzacl + 1, sizeof(*nz));
		if (nz == NULL)
			return pp_err(pp, "out of memory");
		p->zacl = nz;
		z = &p->zacl[p->nzacl++];
		memset(z, 0, sizeof(*z));
		for (i = 0; zone[i] != '\0'; i++)
			z->name[i] = (char)tolower((unsigned char)zone[i]);
		if (i > 0 && z->name[i - 1] == '.')
			z->name[i - 1] = '\0';
		z->acl.nomatch = ACL_ALLOW; /* the server's list decided */
	}
	if (acl_parse(&z->acl, v, msg, sizeof(msg)) != 0)
		return pp_err(pp, "[zone %s]: %s", zone, msg);
	return 1;
}

static int
pp_on_key(void *arg, const char *section, const char *name, const char *v)
{
	struct pparse *pp = arg;

	if (strcmp(section, "server") == 0)
		return pp_server(pp, name, v);
	if (strncmp(section, "zone ", 5) == 0)
		return pp_zone(pp, section + 5, name, v);
	return 1; /* conf.c explains unknown sections */
}

static char *
pp_read(char *str, int num, void *stream)
{
	struct pparse *pp = stream;

	pp->line++;
	return fgets(str, num, pp->f);
}

int
acct_params_load(const char *path, struct acct_params **out, char *err,
    size_t errlen)
{
	struct pparse pp;

	memset(&pp, 0, sizeof(pp));
	pp.path = path;
	if ((pp.p = acct_params_new(false)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((pp.f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		acct_params_unref(pp.p);
		return -1;
	}
	ini_parse_stream(pp_read, &pp, pp_on_key, &pp);
	fclose(pp.f);
	if (pp.err[0] != '\0') {
		snprintf(err, errlen, "%s", pp.err);
		acct_params_unref(pp.p);
		return -1;
	}
	*out = pp.p;
	return 0;
}

/* ---- shared state ---- */

struct gzone {
	char name[ZN_NAME_MAX + 1];
	struct acct_counters c;
	uint64_t hist[ACCT_HIST];
	uint64_t lat_sum; /* ns */
};

/* The text of the name in entry i of the names sketch is ntext[i]
 * (entries keep their index; a newcomer takes the evicted one's). */
struct nametext {
	uint8_t h[16]; /* the key it is the text of */
	uint16_t zoff; /* the zone's name starts at q + zoff */
	char q[ZN_NAME_MAX + 1];
};

struct acct {
	pthread_mutex_t mu; /* everything below */
	struct acct_params *p;
	atomic_uint gen;
	struct ss *clients;
	struct rl_table *rl; /* rate limits, quotas, RRL: every worker's
				(atomics, no lock) */
	struct acct_counters tot;
	uint64_t hist[ACCT_HIST];
	uint64_t lat_sum; /* ns */
	struct gzone *zones;
	size_t nzones;
	uint64_t since; /* first start (unix time) */
	struct zn_db *db;
	/* top names: the sketch and its names' texts */
	struct ss *names;
	struct nametext *ntext;
	uint8_t nkey[crypto_shorthash_siphashx24_KEYBYTES];
};

struct wzone {
	const struct zn_zone *z; /* NULL: re-resolve by name */
	char name[ZN_NAME_MAX + 1];
	const struct acl *zacl;
	struct acct_counters c;
	uint64_t hist[ACCT_HIST];
	uint64_t lat_sum;
	bool used;
};

struct lclient {
	struct acct_key key;
	bool used;
	struct acct_counters c;
};

struct acct_worker {
	struct acct *a;
	struct acct_params *p;
	unsigned gen;
	uint64_t vgen; /* the view generation the zone pointers are from */
	struct rl_table *rl; /* a->rl */
	uint32_t rrl_limited; /* for the RRL slip */
	struct acct_counters tot;
	uint64_t hist[ACCT_HIST];
	struct wzone wz[WZ_SLOTS];
	size_t nwz, lastwz;
	struct lclient lc[LC_SLOTS];
	size_t nlc;
	/* names: a Space-Saving sketch of its own, merged into the shared
	 * one with the rest (keys as there, texts by entry index) */
	struct ss *lns;
	struct nametext *lnt; /* LN_CAP */
	uint64_t lat_sum;
	/* the last query counted, for acct_worker_cached */
	struct lclient *last_lc;
	struct wzone *last_wz;
	struct acct_key last_nk;
	bool last_n;
	/* the query being answered: its latency is known when the next
	 * one starts or the batch ends (one clock reading per query) */
	bool pend;
	uint64_t pend_t0;
	struct wzone *pend_wz;
};

static struct gzone *
gzone_get(struct acct *a, const char *name)
{
	struct gzone *nz;
	size_t i;

	for (i = 0; i < a->nzones; i++)
		if (strcmp(a->zones[i].name, name) == 0)
			return &a->zones[i];
	if (a->nzones >= ZONES_MAX)
		return NULL;
	if ((nz = reallocarray(a->zones, a->nzones + 1, sizeof(*nz))) == NULL)
		return NULL;
	a->zones = nz;
	nz = &a->zones[a->nzones++];
	memset(nz, 0, sizeof(*nz));
	snprintf(nz->name, sizeof(nz->name), "%s", name);
	return nz;
}

/* stored values: little-endian u64 arrays */
static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define CTR_BYTES (AC_N * 8)
#define HIST_BYTES (ACCT_HIST * 8)

static void
get_ctrs(struct acct_counters *c, const uint8_t *p)
{
	size_t i;

	for (i = 0; i < AC_N; i++)
		c->v[i] = get64(p + 8 * i);
}

static void
put_ctrs(uint8_t *p, const struct acct_counters *c)
{
	size_t i;

	for (i = 0; i < AC_N; i++)
		put64(p + 8 * i, c->v[i]);
}

static int
load_one(void *arg, const void *kp, size_t klen, const void *vp, size_t vlen)
{
	struct acct *a = arg;
	const uint8_t *k = kp, *v = vp;
	struct acct_counters c;
	size_t i;

	if (klen == 1 && k[0] == 'v') {
		if (vlen != 8 || get64(v) != KV_VERSION)
			return -EPROTO;
	} else if (klen == 1 && k[0] == 't' &&
	    (vlen == CTR_BYTES + HIST_BYTES + 8 ||
	        vlen == CTR_BYTES + HIST_BYTES + 16)) {
		get_ctrs(&a->tot, v);
		for (i = 0; i < ACCT_HIST; i++)
			a->hist[i] = get64(v + CTR_BYTES + 8 * i);
		a->since = get64(v + CTR_BYTES + HIST_BYTES);
		if (vlen == CTR_BYTES + HIST_BYTES + 16) /* the sum, later */
			a->lat_sum = get64(v + CTR_BYTES + HIST_BYTES + 8);
	} else if (klen == 1 && k[0] == 'o' && vlen == CTR_BYTES) {
		get_ctrs(&c, v);
		ctr_add(&a->clients->other, &c);
	} else if (klen >= 2 && k[0] == 'z' && klen - 1 <= ZN_NAME_MAX &&
	    (vlen == CTR_BYTES + HIST_BYTES ||
	        vlen == CTR_BYTES + HIST_BYTES + 8)) {
		char name[ZN_NAME_MAX + 1];
		struct gzone *z;

		memcpy(name, k + 1, klen - 1);
		name[klen - 1] = '\0';
		if ((z = gzone_get(a, name)) == NULL)
			return -ENOMEM;
		get_ctrs(&z->c, v);
		for (i = 0; i < ACCT_HIST; i++)
			z->hist[i] = get64(v + CTR_BYTES + 8 * i);
		if (vlen == CTR_BYTES + HIST_BYTES + 8)
			z->lat_sum = get64(v + CTR_BYTES + HIST_BYTES);
	} else if (klen >= 3 && k[0] == 'c' && (k[1] == 4 || k[1] == 16) &&
	    klen == 3 + (size_t)k[1] && vlen == CTR_BYTES + 8) {
		struct acct_key key;

		memset(&key, 0, sizeof(key));
		key.len = k[1];
		key.plen = k[2];
		memcpy(key.a, k + 3, key.len);
		get_ctrs(&c, v);
		ss_add(a->clients, &key, &c, get64(v + CTR_BYTES));
	}
	/* anything else: from a later version, ignored */
	return 0;
}

struct acct *
acct_new(struct acct_params *p, struct zn_db *db, char *err, size_t errlen)
{
	struct acct *a;
	struct zn_err zerr;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	atomic_fetch_add(&p->refs, 1);
	a->p = p;
	atomic_init(&a->gen, 1);
	a->db = db;
	/* for the keyed hash; idempotent */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "accounting: libsodium failed");
		acct_free(a);
		return NULL;
	}
	randombytes_buf(a->nkey, sizeof(a->nkey));
	if ((a->names = ss_new(ACCT_NAMES)) == NULL ||
	    (a->ntext = calloc(ACCT_NAMES, sizeof(*a->ntext))) == NULL) {
		snprintf(err, errlen, "accounting: out of memory");
		acct_free(a);
		return NULL;
	}
	if ((a->rl = rl_table_new(RL_SLOTS)) == NULL) {
		snprintf(err, errlen, "accounting: out of memory");
		acct_free(a);
		return NULL;
	}
	if ((a->clients = ss_new(p->max_clients)) == NULL) {
		snprintf(err, errlen,
		    "accounting: out of memory for %zu "
		    "clients",
		    p->max_clients);
		acct_free(a);
		return NULL;
	}
	if (db != NULL && zn_kv_iter(db, KV_STORE, load_one, a, &zerr) != 0) {
		snprintf(err, errlen, "accounting: %s", zerr.msg);
		acct_free(a);
		return NULL;
	}
	if (a->since == 0)
		a->since = (uint64_t)time(NULL);
	return a;
}

void
acct_free(struct acct *a)
{
	if (a == NULL)
		return;
	ss_free(a->clients);
	rl_table_free(a->rl);
	ss_free(a->names);
	free(a->ntext);
	free(a->zones);
	acct_params_unref(a->p);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
acct_set_params(struct acct *a, struct acct_params *p)
{
	struct acct_params *old;

	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_lock(&a->mu);
	old = a->p;
	p->max_clients = ss_capacity(a->clients);
	a->p = p;
	atomic_fetch_add(&a->gen, 1);
	pthread_mutex_unlock(&a->mu);
	acct_params_unref(old);
}

struct acct_params *
acct_params_get(struct acct *a)
{
	struct acct_params *p;

	pthread_mutex_lock(&a->mu);
	p = a->p;
	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&a->mu);
	return p;
}

void
acct_reset(struct acct *a)
{
	pthread_mutex_lock(&a->mu);
	memset(&a->tot, 0, sizeof(a->tot));
	memset(a->hist, 0, sizeof(a->hist));
	a->lat_sum = 0;
	a->nzones = 0;
	ss_clear(a->clients);
	ss_clear(a->names);
	a->since = (uint64_t)time(NULL);
	pthread_mutex_unlock(&a->mu);
}

int
acct_save(struct acct *a, char *err, size_t errlen)
{
	struct zn_kv *kv = NULL;
	uint8_t *buf = NULL, *b;
	size_t n, i, nkv = 0, per;
	struct zn_err zerr;
	int rc = -1;

	if (a->db == NULL)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = 3 + a->nzones + ss_count(a->clients);
	per = 1 + ZN_NAME_MAX + CTR_BYTES + HIST_BYTES + 16;
	kv = calloc(n, sizeof(*kv));
	buf = malloc(n * per);
	if (kv == NULL || buf == NULL) {
		pthread_mutex_unlock(&a->mu);
		snprintf(err, errlen, "accounting: out of memory");
		goto out;
	}
	b = buf;
	/* version */
	b[0] = 'v';
	put64(b + 1, KV_VERSION);
	kv[nkv++] = (struct zn_kv){ b, 1, b + 1, 8 };
	b += per;
	/* totals */
	b[0] = 't';
	put_ctrs(b + 1, &a->tot);
	for (i = 0; i < ACCT_HIST; i++)
		put64(b + 1 + CTR_BYTES + 8 * i, a->hist[i]);
	put64(b + 1 + CTR_BYTES + HIST_BYTES, a->since);
	put64(b + 1 + CTR_BYTES + HIST_BYTES + 8, a->lat_sum);
	kv[nkv++] = (struct zn_kv){ b, 1, b + 1, CTR_BYTES + HIST_BYTES + 16 };
	b += per;
	b[0] = 'o';
	put_ctrs(b + 1, ss_other(a->clients));
	kv[nkv++] = (struct zn_kv){ b, 1, b + 1, CTR_BYTES };
	b += per;
	for (i = 0; i < a->nzones; i++) {
		size_t l = strlen(a->zones[i].name);

		if (l == 0)
			continue;
		b[0] = 'z';
		memcpy(b + 1, a->zones[i].name, l);
		put_ctrs(b + 1 + l, &a->zones[i].c);
		for (size_t h = 0; h < ACCT_HIST; h++)
			put64(b + 1 + l + CTR_BYTES + 8 * h,
			    a->zones[i].hist[h]);
		put64(b + 1 + l + CTR_BYTES + HIST_BYTES, a->zones[i].lat_sum);
		kv[nkv++] = (struct zn_kv){ b, 1 + l, b + 1 + l,
			CTR_BYTES + HIST_BYTES + 8 };
		b += per;
	}
	for (i = 0; i < ss_count(a->clients); i++) {
		const struct ss_entry *e = ss_entry_at(a->clients, i);
		size_t kl = 3 + e->key.len;

		b[0] = 'c';
		b[1] = e->key.len;
		b[2] = e->key.plen;
		memcpy(b + 3, e->key.a, e->key.len);
		put_ctrs(b + kl, &e->c);
		put64(b + kl + CTR_BYTES, e->err);
		kv[nkv++] = (struct zn_kv){ b, kl, b + kl, CTR_BYTES + 8 };
		b += per;
	}
	pthread_mutex_unlock(&a->mu);
	if (zn_kv_put(a->db, KV_STORE, kv, nkv, true, &zerr) != 0) {
		snprintf(err, errlen, "accounting: %s", zerr.msg);
		goto out;
	}
	rc = 0;
out:
	free(kv);
	free(buf);
	return rc;
}

/* ---- workers ---- */

struct acct_worker *
acct_worker_new(struct acct *a)
{
	struct acct_worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->a = a;
	w->p = acct_params_get(a);
	w->gen = atomic_load(&a->gen);
	w->rl = a->rl;
	if ((w->lns = ss_new(LN_CAP)) == NULL ||
	    (w->lnt = calloc(LN_CAP, sizeof(*w->lnt))) == NULL) {
		ss_free(w->lns);
		acct_params_unref(w->p);
		free(w);
		return NULL;
	}
	return w;
}

static uint64_t now_ns(void);

static void
close_pending(struct acct_worker *w, uint64_t now)
{
	uint64_t d;
	unsigned b;

	if (!w->pend)
		return;
	d = now > w->pend_t0 ? now - w->pend_t0 : 0;
	b = acct_hist_bucket(d);
	w->hist[b]++;
	w->lat_sum += d;
	if (w->pend_wz != NULL) {
		w->pend_wz->hist[b]++;
		w->pend_wz->lat_sum += d;
		w->pend_wz->used = true;
	}
	w->pend = false;
}

void
acct_worker_idle(struct acct_worker *w)
{
	if (w->pend)
		close_pending(w, now_ns());
}

/* Merge a worker's names into the sketch (a->mu held). */
static void
text_set(struct nametext *t, const struct nametext *from)
{
	size_t l = strnlen(from->q, sizeof(t->q) - 1);

	memcpy(t->h, from->h, sizeof(t->h));
	t->zoff = from->zoff;
	memcpy(t->q, from->q, l);
	t->q[l] = '\0';
}

/* Merge a worker's names sketch into the shared one (a->mu held). */
static void
names_merge(struct acct *a, struct acct_worker *w)
{
	size_t i, n = ss_count(w->lns);

	for (i = 0; i < n; i++) {
		const struct ss_entry *e = ss_entry_at(w->lns, i);
		struct nametext *t =
		    &a->ntext[ss_add(a->names, &e->key, &e->c, e->err)];

		if (memcmp(t->h, e->key.a, sizeof(t->h)) != 0)
			text_set(t, &w->lnt[i]);
	}
	ss_clear(w->lns);
}

void
acct_worker_flush(struct acct_worker *w)
{
	struct acct *a = w->a;
	size_t i, h;

	acct_worker_idle(w);
	w->last_lc = NULL;
	w->last_wz = NULL;
	w->last_n = false;
	if (w->tot.v[AC_Q] == 0)
		return;
	pthread_mutex_lock(&a->mu);
	ctr_add(&a->tot, &w->tot);
	for (h = 0; h < ACCT_HIST; h++)
		a->hist[h] += w->hist[h];
	a->lat_sum += w->lat_sum;
	names_merge(a, w);
	for (i = 0; i < w->nwz; i++) {
		struct wzone *z = &w->wz[i];
		struct gzone *g;

		if (!z->used)
			continue;
		if ((g = gzone_get(a, z->name)) != NULL) {
			ctr_add(&g->c, &z->c);
			for (h = 0; h < ACCT_HIST; h++)
				g->hist[h] += z->hist[h];
			g->lat_sum += z->lat_sum;
		}
		memset(&z->c, 0, sizeof(z->c));
		memset(z->hist, 0, sizeof(z->hist));
		z->lat_sum = 0;
		z->used = false;
	}
	for (i = 0; i < LC_SLOTS && w->nlc > 0; i++) {
		if (!w->lc[i].used)
			continue;
		ss_add(a->clients, &w->lc[i].key, &w->lc[i].c, 0);
		w->lc[i].used = false;
		w->nlc--;
	}
	pthread_mutex_unlock(&a->mu);
	memset(&w->tot, 0, sizeof(w->tot));
	memset(w->hist, 0, sizeof(w->hist));
	w->lat_sum = 0;
}

void
acct_worker_free(struct acct_worker *w)
{
	if (w == NULL)
		return;
	acct_worker_flush(w);
	ss_free(w->lns);
	free(w->lnt);
	acct_params_unref(w->p);
	free(w);
}

static void
worker_params(struct acct_worker *w)
{
	size_t i;

	acct_params_unref(w->p);
	w->p = acct_params_get(w->a);
	w->gen = atomic_load(&w->a->gen);
	for (i = 0; i < w->nwz; i++)
		w->wz[i].z = NULL; /* re-resolve the zone ACLs */
}

static const struct acl *
zone_acl(const struct acct_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nzacl; i++)
		if (strcasecmp(p->zacl[i].name, name) == 0)
			return &p->zacl[i].acl;
	return NULL;
}

static struct wzone *
worker_zone(struct acct_worker *w, const struct zn_zone *z)
{
	struct wzone *s;
	size_t i;

	if (w->lastwz < w->nwz && w->wz[w->lastwz].z == z)
		return &w->wz[w->lastwz];
	for (i = 0; i < w->nwz; i++)
		if (w->wz[i].z == z)
			goto found;
	for (i = 0; i < w->nwz; i++)
		if (w->wz[i].z == NULL && strcmp(w->wz[i].name, z->name) == 0)
			goto resolve;
	if (w->nwz == WZ_SLOTS) {
		acct_worker_flush(w);
		w->nwz = 0;
	}
	i = w->nwz++;
	memset(&w->wz[i], 0, sizeof(w->wz[i]));
	snprintf(w->wz[i].name, sizeof(w->wz[i].name), "%s", z->name);
resolve:
	s = &w->wz[i];
	s->z = z;
	s->zacl = zone_acl(w->p, z->name);
found:
	w->lastwz = i;
	return &w->wz[i];
}

/* A forwarded zone's slot, by name (it may have no zn_zone). */
static struct wzone *
worker_zone_name(struct acct_worker *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nwz; i++)
		if (strcmp(w->wz[i].name, name) == 0)
			return &w->wz[i];
	if (w->nwz == WZ_SLOTS) {
		acct_worker_flush(w);
		w->nwz = 0;
	}
	i = w->nwz++;
	memset(&w->wz[i], 0, sizeof(w->wz[i]));
	snprintf(w->wz[i].name, sizeof(w->wz[i].name), "%s", name);
	return &w->wz[i];
}

/* Count one query for name q (lower-cased) of zone (a suffix of q) with
 * outcome ctr; its key goes to *k.  false if q is not in zone. */
static bool
worker_name(struct acct_worker *w, const char *q, const char *zone, int ctr,
    struct acct_key *k)
{
	size_t ql = strlen(q), zl = strlen(zone), zoff;
	struct acct_counters c;
	struct nametext *t;

	if (zl > ql || ql > ZN_NAME_MAX)
		return false;
	zoff = ql - zl;
	memset(k, 0, sizeof(*k));
	k->len = 16;
	k->plen = NAME_PLEN;
	/* the full name, keyed; the zone's offset mixed in: "a.b" in zone
	 * "b.c" and "a" in zone "b.b.c" differ */
	crypto_shorthash_siphashx24(k->a, (const uint8_t *)q, ql, w->a->nkey);
	k->a[0] ^= (uint8_t)zoff;
	k->a[1] ^= (uint8_t)(zoff >> 8);
	memset(&c, 0, sizeof(c));
	c.v[AC_Q] = 1;
	c.v[ctr]++;
	t = &w->lnt[ss_add(w->lns, k, &c, 0)];
	if (memcmp(t->h, k->a, sizeof(t->h)) != 0) {
		memcpy(t->h, k->a, sizeof(t->h));
		t->zoff = (uint16_t)zoff;
		memcpy(t->q, q, ql + 1);
	}
	return true;
}

static struct lclient *
worker_client(struct acct_worker *w, const struct acct_key *k)
{
	size_t i;

	if (w->nlc >= LC_FLUSH)
		acct_worker_flush(w);
	i = key_hash(k) & (LC_SLOTS - 1);
	while (w->lc[i].used) {
		if (key_eq(&w->lc[i].key, k))
			return &w->lc[i];
		i = (i + 1) & (LC_SLOTS - 1);
	}
	w->lc[i].used = true;
	w->lc[i].key = *k;
	memset(&w->lc[i].c, 0, sizeof(w->lc[i].c));
	w->nlc++;
	return &w->lc[i];
}

/* The end of the question of a query, or 0 when there is none. */
static size_t
question_end(const uint8_t *pkt, size_t len)
{
	size_t off = 12;

	if (len < 12 || pkt[4] != 0 || pkt[5] != 1)
		return 0;
	while (off < len && pkt[off] != 0) {
		if ((pkt[off] & 0xc0) != 0)
			return 0;
		off += 1 + (size_t)pkt[off];
	}
	if (off + 5 > len)
		return 0;
	return off + 5;
}

/*
 * Our own answer: REFUSED, or (a != 0) an A record for an A question.
 * The question is copied; the header without one when it cannot be
 * parsed.  0 when there is no DNS header to answer.
 */
static size_t
own_answer(const uint8_t *pkt, size_t len, uint8_t *out, size_t outsize,
    int rcode, uint32_t a, struct query_info *info)
{
	size_t q = question_end(pkt, len), n;
	uint16_t qtype = 0, qclass = 0;

	if (len < 12 || (pkt[2] & 0x80) || outsize < 12)
		return 0;
	if (q > 0) {
		qtype = (uint16_t)(pkt[q - 4] << 8 | pkt[q - 3]);
		qclass = (uint16_t)(pkt[q - 2] << 8 | pkt[q - 1]);
	}
	if (a != 0 && (q == 0 || qtype != 1 || qclass != 1))
		a = 0, rcode = 5; /* an A value only answers A questions */
	n = q > 0 ? q : 12;
	if (n + (a != 0 ? 16 : 0) > outsize)
		return 0;
	memcpy(out, pkt, n);
	out[2] = (uint8_t)(0x80 | (pkt[2] & 0x79) | (a != 0 ? 0x04 : 0));
	out[3] = (uint8_t)(rcode & 0x0f);
	out[4] = 0;
	out[5] = q > 0 ? 1 : 0;
	memset(out + 6, 0, 6);
	if (a != 0) {
		static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0,
			60, 0, 4 };

		memcpy(out + n, rr, sizeof(rr));
		out[n + 12] = (uint8_t)(a >> 24);
		out[n + 13] = (uint8_t)(a >> 16);
		out[n + 14] = (uint8_t)(a >> 8);
		out[n + 15] = (uint8_t)a;
		n += 16;
		out[7] = 1;
	}
	info->dropped = false;
	info->rcode = rcode;
	info->ancount = a != 0 ? 1 : 0;
	info->listed = false;
	info->truncated = false;
	return n;
}

/* The answer past a limit, per the policy. */
static size_t
limit_answer(const struct rl_params *rl, const uint8_t *pkt, size_t len,
    uint8_t *out, size_t outsize, struct query_info *info)
{
	switch (rl->policy) {
	case RL_DROP:
		info->dropped = true;
		return 0;
	case RL_A:
		return own_answer(pkt, len, out, outsize, 0, rl->over_a, info);
	case RL_REFUSED:
		break;
	}
	return own_answer(pkt, len, out, outsize, 5, 0, info);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned
acct_hist_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	while (us > 0 && b < ACCT_HIST - 1) {
		us >>= 1;
		b++;
	}
	return b;
}

size_t
acct_answer(struct acct_worker *w, const struct query_cfg *qc,
    const struct zn_view *v, const uint8_t *pkt, size_t len,
    const uint8_t *client, size_t clen, bool tcp, uint8_t *out, size_t outsize,
    struct query_info *info)
{
	const struct acct_params *p;
	struct wzone *wz = NULL;
	uint64_t t0 = 0, vgen;
	size_t alen = 0;
	int ctr = -1; /* set by a check */
	enum acl_action act;

	if (atomic_load_explicit(&w->a->gen, memory_order_relaxed) != w->gen)
		worker_params(w);
	p = w->p;
	if (p->enabled || p->rl.rate != 0 || p->rl.quota != 0 || p->rl.rrl != 0)
		t0 = now_ns();
	act = acl_match(&p->acl, client, clen);
	if (act != ACL_ALLOW)
		memset(info, 0, sizeof(*info));
	if (act == ACL_DROP) {
		info->dropped = true;
		ctr = AC_DROPPED;
		goto count;
	}
	if (act == ACL_REFUSE) {
		alen = own_answer(pkt, len, out, outsize, 5, 0, info);
		info->dropped = alen == 0;
		ctr = AC_REFUSED;
		goto count;
	}
	alen = query_answer(qc, v, pkt, len, client, clen, tcp, out, outsize,
	    info);
	if (alen == 0 && info->forward) {
		/* upstream.c answers later, unless a zone ACL or a limit
		 * answers here first: never an upstream query for those */
		if (info->fwd_zone < qc->nfwd) {
			wz = worker_zone_name(w, qc->fwd[info->fwd_zone].name);
			if (wz->z == NULL)
				/* the ACL by name: reloads change it */
				wz->zacl = zone_acl(p, wz->name);
		}
	} else if (info->zone != NULL) {
		vgen = zn_view_generation(v);
		if (vgen != w->vgen) {
			size_t i;

			for (i = 0; i < w->nwz; i++)
				w->wz[i].z = NULL;
			w->vgen = vgen;
		}
		wz = worker_zone(w, info->zone);
	}
	if (wz != NULL && wz->zacl != NULL &&
	    (act = acl_match(wz->zacl, client, clen)) != ACL_ALLOW) {
		info->forward = false;
		if (act == ACL_DROP) {
			info->dropped = true;
			alen = 0;
			ctr = AC_DROPPED;
		} else {
			alen = own_answer(pkt, len, out, outsize, 5, 0, info);
			ctr = AC_REFUSED;
		}
		goto count;
	}
	if ((alen > 0 || info->forward) &&
	    rl_check(w->rl, &p->rl, client, clen, t0 / 1000) != RL_PASS) {
		info->forward = false;
		alen = limit_answer(&p->rl, pkt, len, out, outsize, info);
		ctr = AC_RATELIMITED;
		goto count;
	}
	if (info->forward) {
		/* counted as forwarded; acct_worker_rrl checks the answer */
		ctr = AC_FORWARDED;
		goto count;
	}
	if (alen > 0 && !tcp) {
		switch (rrl_check(w->rl, &p->rl, client, clen, t0 / 1000,
		    &w->rrl_limited)) {
		case RRL_PASS:
			break;
		case RRL_SLIP:
			/* TC and no records: a real client retries over TCP */
			alen = question_end(out, alen) > 0 ?
			    question_end(out, alen) :
			    12;
			out[2] |= 0x02;
			memset(out + 6, 0, 6);
			info->truncated = true;
			ctr = AC_RATELIMITED;
			break;
		case RRL_DROP:
			alen = 0;
			info->dropped = true;
			ctr = AC_RATELIMITED;
			break;
		}
	}
count:
	if (!p->enabled)
		return alen;
	if (ctr < 0) {
		if (alen == 0)
			ctr = AC_ERR;
		else if (info->rcode == 5)
			ctr = AC_REFUSED;
		else if (info->rcode == 0 || info->rcode == 3)
			ctr = info->listed ? AC_LISTED : AC_NOTLISTED;
		else
			ctr = AC_ERR;
	}
	{
		struct acct_key k;
		struct lclient *lc;

		acct_client_key(client, clen, p->v6plen, &k);
		lc = worker_client(w, &k);
		w->last_n = wz != NULL && info->qname[0] != '\0' &&
		    worker_name(w, info->qname, wz->name, ctr, &w->last_nk);
		w->last_lc = lc;
		w->last_wz = wz;
		lc->c.v[AC_Q]++;
		lc->c.v[ctr]++;
		lc->c.v[AC_IN] += len;
		lc->c.v[AC_OUT] += alen;
		w->tot.v[AC_Q]++;
		w->tot.v[ctr]++;
		w->tot.v[AC_IN] += len;
		w->tot.v[AC_OUT] += alen;
		if (wz != NULL) {
			wz->used = true;
			wz->c.v[AC_Q]++;
			wz->c.v[ctr]++;
			wz->c.v[AC_IN] += len;
			wz->c.v[AC_OUT] += alen;
		}
		/* the previous query took until now; this one is next */
		close_pending(w, t0);
		w->pend = true;
		w->pend_t0 = t0;
		w->pend_wz = wz;
	}
	return alen;
}

const uint8_t *
acct_worker_rrl(struct acct_worker *w, const uint8_t *client, size_t clen,
    const uint8_t *ans, size_t *len, uint8_t *buf, size_t bufsize)
{
	const struct acct_params *p = w->p;
	size_t n;

	if (p->rl.rrl == 0 || *len < 12)
		return ans;
	switch (rrl_check(w->rl, &p->rl, client, clen, now_ns() / 1000,
	    &w->rrl_limited)) {
	case RRL_PASS:
		return ans;
	case RRL_SLIP:
		/* TC and no records: a real client retries over TCP */
		n = question_end(ans, *len);
		if (n == 0)
			n = 12;
		if (n > bufsize)
			return NULL;
		memmove(buf, ans, n);
		buf[2] |= 0x02;
		memset(buf + 6, 0, 6);
		*len = n;
		return buf;
	case RRL_DROP:
		break;
	}
	return NULL;
}

/* ---- reports ---- */

static void
json_ctrs(FILE *f, const struct acct_counters *c)
{
	size_t i;

	for (i = 0; i < AC_N; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", acct_ctr_names[i],
		    c->v[i]);
}

static void
json_hist(FILE *f, const uint64_t *h)
{
	size_t i;

	fputs("\"latency_us\":{", f);
	for (i = 0; i < ACCT_HIST; i++) {
		if (i + 1 < ACCT_HIST)
			fprintf(f, "%s\"%llu\":%" PRIu64, i ? "," : "",
			    1ull << i, h[i]);
		else
			fprintf(f, ",\"+Inf\":%" PRIu64, h[i]);
	}
	fputc('}', f);
}

static void
text_head(FILE *f, const char *first)
{
	fprintf(f, "%-32s %10s %9s %9s %9s %9s %9s %9s %12s %12s\n", first,
	    "queries", "listed", "notlisted", "refused", "dropped", "ratelim",
	    "errors", "bytes_in", "bytes_out");
}

static void
text_row(FILE *f, const char *name, const struct acct_counters *c)
{
	fprintf(f,
	    "%-32s %10" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
	    " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %12" PRIu64 " %12" PRIu64
	    "\n",
	    name, c->v[AC_Q], c->v[AC_LISTED], c->v[AC_NOTLISTED],
	    c->v[AC_REFUSED], c->v[AC_DROPPED], c->v[AC_RATELIMITED],
	    c->v[AC_ERR], c->v[AC_IN], c->v[AC_OUT]);
}

void
acct_write_stats(struct acct *a, FILE *f, bool json)
{
	size_t i;

	pthread_mutex_lock(&a->mu);
	if (json) {
		fprintf(f, "{\"since\":%" PRIu64 ",\"total\":{", a->since);
		json_ctrs(f, &a->tot);
		fputc(',', f);
		json_hist(f, a->hist);
		fputs("},\"zones\":{", f);
		for (i = 0; i < a->nzones; i++) {
			fputs(i ? "," : "", f);
			zn_json_str(f, a->zones[i].name);
			fputs(":{", f);
			json_ctrs(f, &a->zones[i].c);
			fputc(',', f);
			json_hist(f, a->zones[i].hist);
			fputc('}', f);
		}
		fprintf(f,
		    "},\"clients\":{\"tracked\":%zu,\"capacity\":%zu,"
		    "\"memory_bytes\":%zu,\"other\":{",
		    ss_count(a->clients), ss_capacity(a->clients),
		    ss_memory(a->clients));
		json_ctrs(f, ss_other(a->clients));
		fputs("}}}\n", f);
	} else {
		time_t since = (time_t)a->since;
		char tbuf[64];
		struct tm tm;

		gmtime_r(&since, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(f, "counting since %s\n", tbuf);
		text_head(f, "zone");
		for (i = 0; i < a->nzones; i++)
			text_row(f, a->zones[i].name, &a->zones[i].c);
		text_row(f, "(total)", &a->tot);
		fprintf(f, "clients tracked %zu of %zu (%zu bytes); ",
		    ss_count(a->clients), ss_capacity(a->clients),
		    ss_memory(a->clients));
		fprintf(f, "other clients: %" PRIu64 " queries\n",
		    ss_other(a->clients)->v[AC_Q]);
	}
	pthread_mutex_unlock(&a->mu);
}

struct toprow {
	char name[ZN_NAME_MAX + 1];
	struct acct_counters c;
	uint64_t err;
};

static int by_idx;

static int
top_cmp(const void *x, const void *y)
{
	const struct toprow *a = x, *b = y;

	if (a->c.v[by_idx] != b->c.v[by_idx])
		return a->c.v[by_idx] < b->c.v[by_idx] ? 1 : -1;
	if (a->c.v[AC_Q] != b->c.v[AC_Q])
		return a->c.v[AC_Q] < b->c.v[AC_Q] ? 1 : -1;
	return strcmp(a->name, b->name);
}

void
acct_write_top(struct acct *a, FILE *f, bool json, bool zones, size_t n,
    enum acct_by by)
{
	struct toprow *rows;
	struct acct_counters other;
	size_t i, nrows;
	const char *byname;

	switch (by) {
	case ACCT_BY_LISTED:
		by_idx = AC_LISTED;
		break;
	case ACCT_BY_REFUSED:
		by_idx = AC_REFUSED;
		break;
	default:
		by_idx = AC_Q;
		break;
	}
	byname = acct_ctr_names[by_idx];
	pthread_mutex_lock(&a->mu);
	nrows = zones ? a->nzones : ss_count(a->clients);
	other = *ss_other(a->clients);
	rows = calloc(nrows + 1, sizeof(*rows));
	for (i = 0; rows != NULL && i < nrows; i++) {
		if (zones) {
			snprintf(rows[i].name, sizeof(rows[i].name), "%s",
			    a->zones[i].name);
			rows[i].c = a->zones[i].c;
		} else {
			const struct ss_entry *e = ss_entry_at(a->clients, i);

			acct_key_text(&e->key, rows[i].name,
			    sizeof(rows[i].name));
			rows[i].c = e->c;
			rows[i].err = e->err;
		}
	}
	pthread_mutex_unlock(&a->mu);
	if (rows == NULL) {
		fputs(json ? "{\"error\":\"out of memory\"}\n" :
		             "out of memory\n",
		    f);
		return;
	}
	/* a static sort key: reports run on one thread (the main loop) */
	qsort(rows, nrows, sizeof(*rows), top_cmp);
	if (n > nrows)
		n = nrows;
	if (json) {
		fprintf(f, "{\"by\":\"%s\",\"%s\":[", byname,
		    zones ? "zones" : "clients");
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{\"%s\":", i ? "," : "",
			    zones ? "zone" : "client");
			zn_json_str(f, rows[i].name);
			fputc(',', f);
			json_ctrs(f, &rows[i].c);
			if (!zones)
				fprintf(f, ",\"error_bound\":%" PRIu64,
				    rows[i].err);
			fputc('}', f);
		}
		fputs("]", f);
		if (!zones) {
			fputs(",\"other\":{", f);
			json_ctrs(f, &other);
			fputs("}", f);
		}
		fputs("}\n", f);
	} else {
		text_head(f, zones ? "zone" : "client");
		for (i = 0; i < n; i++)
			text_row(f, rows[i].name, &rows[i].c);
		if (!zones && other.v[AC_Q] > 0)
			text_row(f, "(other)", &other);
	}
	free(rows);
}

bool
acct_zone_counters(struct acct *a, const char *zone, struct acct_counters *c)
{
	size_t i;
	bool found = false;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nzones; i++)
		if (strcmp(a->zones[i].name, zone) == 0) {
			*c = a->zones[i].c;
			found = true;
		}
	pthread_mutex_unlock(&a->mu);
	return found;
}

void
acct_worker_cached(struct acct_worker *w, size_t alen)
{
	if (w == NULL || w->last_lc == NULL || !w->p->enabled)
		return;
	w->last_lc->c.v[AC_CACHED]++;
	w->last_lc->c.v[AC_OUT] += alen;
	w->tot.v[AC_CACHED]++;
	w->tot.v[AC_OUT] += alen;
	if (w->last_wz != NULL) {
		w->last_wz->c.v[AC_CACHED]++;
		w->last_wz->c.v[AC_OUT] += alen;
	}
	if (w->last_n) {
		struct acct_counters c;

		memset(&c, 0, sizeof(c));
		c.v[AC_CACHED] = 1;
		(void)ss_add(w->lns, &w->last_nk, &c, 0);
	}
	w->last_lc = NULL; /* once per query */
}

size_t
acct_zones_snapshot(struct acct *a, struct acct_zone_snap **out,
    uint64_t *since)
{
	struct acct_zone_snap *s = NULL;
	size_t i, n;

	pthread_mutex_lock(&a->mu);
	n = a->nzones;
	*since = a->since;
	if (n > 0 && (s = calloc(n, sizeof(*s))) == NULL) {
		pthread_mutex_unlock(&a->mu);
		*out = NULL;
		return (size_t)-1;
	}
	for (i = 0; i < n; i++) {
		snprintf(s[i].name, sizeof(s[i].name), "%s", a->zones[i].name);
		s[i].c = a->zones[i].c;
		memcpy(s[i].hist, a->zones[i].hist, sizeof(s[i].hist));
		s[i].lat_sum_ns = a->zones[i].lat_sum;
	}
	pthread_mutex_unlock(&a->mu);
	*out = s;
	return n;
}

struct namerow {
	char zone[ZN_NAME_MAX + 1];
	char name[ZN_NAME_MAX + 1]; /* the labels left of the zone */
	struct acct_counters c;
	uint64_t err;
};

static int
name_cmp(const void *x, const void *y)
{
	const struct namerow *a = x, *b = y;
	int r;

	if (a->c.v[by_idx] != b->c.v[by_idx])
		return a->c.v[by_idx] < b->c.v[by_idx] ? 1 : -1;
	if (a->c.v[AC_Q] != b->c.v[AC_Q])
		return a->c.v[AC_Q] < b->c.v[AC_Q] ? 1 : -1;
	if ((r = strcmp(a->zone, b->zone)) != 0)
		return r;
	return strcmp(a->name, b->name);
}

void
acct_write_top_names(struct acct *a, FILE *f, bool json, size_t n,
    enum acct_by by)
{
	struct namerow *rows;
	size_t i, j, nrows = 0, cnt;

	by_idx = by == ACCT_BY_LISTED ? AC_LISTED :
	    by == ACCT_BY_REFUSED     ? AC_REFUSED :
	                                AC_Q;
	pthread_mutex_lock(&a->mu);
	cnt = ss_count(a->names);
	rows = calloc(cnt + 1, sizeof(*rows));
	for (i = 0; rows != NULL && i < cnt; i++) {
		const struct ss_entry *e = ss_entry_at(a->names, i);
		const struct nametext *g = &a->ntext[i];
		struct namerow *r = &rows[nrows];
		size_t zoff = g->zoff;

		if (zoff > strlen(g->q))
			continue; /* cannot happen: its text is kept */
		snprintf(r->zone, sizeof(r->zone), "%s", g->q + zoff);
		/* the key: what is left of ".zone" ("" at the apex) */
		if (zoff > 0 && g->q[zoff] != '\0')
			zoff--;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)zoff, g->q);
		r->c = e->c;
		r->err = e->err;
		nrows++;
	}
	pthread_mutex_unlock(&a->mu);
	if (rows == NULL) {
		fputs(json ? "{\"error\":\"out of memory\"}\n" :
		             "out of memory\n",
		    f);
		return;
	}
	qsort(rows, nrows, sizeof(*rows), name_cmp);
	if (n > nrows)
		n = nrows;
	if (json) {
		fprintf(f, "{\"by\":\"%s\",\"capacity\":%d,\"names\":[",
		    acct_ctr_names[by_idx], ACCT_NAMES);
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{\"zone\":", i ? "," : "");
			zn_json_str(f, rows[i].zone);
			fputs(",\"name\":", f);
			zn_json_str(f, rows[i].name);
			fputc(',', f);
			/* names count queries and outcomes, not bytes */
			for (j = 0; j < AC_IN; j++)
				fprintf(f, "%s\"%s\":%" PRIu64, j ? "," : "",
				    acct_ctr_names[j], rows[i].c.v[j]);
			fprintf(f, ",\"error_bound\":%" PRIu64 "}",
			    rows[i].err);
		}
		fputs("]}\n", f);
	} else {
		char label[2 * ZN_NAME_MAX + 8];

		/* names count queries and their outcome, not bytes */
		fprintf(f, "%-40s %10s %9s %9s %9s %9s %9s %9s\n",
		    "name (zone)", "queries", "listed", "notlisted", "refused",
		    "ratelim", "errors", "cached");
		for (i = 0; i < n; i++) {
			size_t l;

			snprintf(label, sizeof(label), "%s (%s)",
			    rows[i].name[0] ? rows[i].name : "@",
			    rows[i].zone[0] ? rows[i].zone : ".");
			/* raw label bytes: nothing unprintable on a TTY */
			for (j = 0, l = strlen(label); j < l; j++)
				if ((unsigned char)label[j] < 0x20 ||
				    (unsigned char)label[j] >= 0x7f)
					label[j] = '?';
			fprintf(f,
			    "%-40s %10" PRIu64 " %9" PRIu64 " %9" PRIu64
			    " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
			    "\n",
			    label, rows[i].c.v[AC_Q], rows[i].c.v[AC_LISTED],
			    rows[i].c.v[AC_NOTLISTED], rows[i].c.v[AC_REFUSED],
			    rows[i].c.v[AC_RATELIMITED], rows[i].c.v[AC_ERR],
			    rows[i].c.v[AC_CACHED]);
		}
	}
	free(rows);
}
