/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flattening of address blocks into the disjoint intervals of zones.h.
 *
 * The blocks are sorted by their low address and swept once: a min-heap
 * of the active blocks by high address gives the end events, and per
 * priority the active blocks are kept in an array with a count of
 * exclusions.  Between two consecutive events the answer is constant: the
 * highest priority with an active block decides.  Its answer is rebuilt
 * only when that priority's active set changed since the last build: many
 * blocks of one priority covering the same addresses (a /8 repeated with
 * many values, holes punched by /32s) cost one build, not one per
 * interval.  Blocks of one priority are equal or disjoint except
 * ip4set's runs, whose ends fall on the cells of their level, so the
 * builds stay near O(n log n) on real data.  IPv4 blocks are radix
 * sorted.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"

#define NPRIO (ZN_FLAT_MAXPRIO + 1)
#define VAL_MAX_LEN 65535u

/*
 * Initialise a builder; see ip.h.
 */
void
zn_flat_init(struct zn_flat *f, unsigned alen, bool answer, bool unique)
{
	memset(f, 0, sizeof(*f));
	f->alen = alen == 4 ? 4 : 16;
	f->answer = answer;
	f->unique = unique;
}

/*
 * Free a builder's memory; see ip.h.
 */
void
zn_flat_cleanup(struct zn_flat *f)
{
	free(f->blk);
	free(f->pool);
	free(f->voff);
	free(f->vlen);
	free(f->vhash);
	free(f->uhash);
	zn_flat_init(f, f->alen, f->answer, f->unique);
}

static uint32_t
hash_bytes(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t
hash_key(zn_u128 lo, unsigned prio)
{
	uint64_t a = (uint64_t)lo, b = (uint64_t)(lo >> 64);
	uint64_t h = a * 0x9e3779b97f4a7c15ull;

	h ^= (b + prio) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	h *= 0x165667b19e3779f9ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* Grow an array to hold at least n elements. */
static int
grow(void *pp, size_t *cap, size_t n, size_t size)
{
	void **p = pp;
	size_t nc = *cap ? *cap : 16;
	void *np;

	if (n <= *cap)
		return 0;
	while (nc < n) {
		if (nc > SIZE_MAX / 2)
			return -ENOMEM;
		nc *= 2;
	}
	if ((np = reallocarray(*p, nc, size)) == NULL)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int
vhash_rebuild(struct zn_flat *f, size_t size)
{
	uint32_t *t, id;
	size_t mask = size - 1, h;

	if ((t = calloc(size, sizeof(*t))) == NULL)
		return -ENOMEM;
	for (id = 0; id < f->nval; id++) {
		h = hash_bytes(f->pool + f->voff[id], f->vlen[id]) & mask;
		while (t[h] != 0)
			h = (h + 1) & mask;
		t[h] = id + 1;
	}
	free(f->vhash);
	f->vhash = t;
	f->nvhash = size;
	return 0;
}

/*
 * Intern a value; see ip.h.
 */
int
zn_flat_value(struct zn_flat *f, const uint8_t *v, size_t len, uint32_t *id)
{
	size_t h, mask;
	uint32_t e;
	int rc;

	if (len > VAL_MAX_LEN || f->nval >= UINT32_MAX - 1)
		return -EINVAL;
	/* runs of lines with one value (a default) skip the hash */
	if (f->vlast != 0 && f->vlen[f->vlast - 1] == len &&
	    memcmp(f->pool + f->voff[f->vlast - 1], v, len) == 0) {
		*id = f->vlast - 1;
		return 0;
	}
	if (f->nval * 2 >= f->nvhash &&
	    (rc = vhash_rebuild(f, f->nvhash ? f->nvhash * 2 : 64)) != 0)
		return rc;
	mask = f->nvhash - 1;
	h = hash_bytes(v, len) & mask;
	while ((e = f->vhash[h]) != 0) {
		if (f->vlen[e - 1] == len &&
		    memcmp(f->pool + f->voff[e - 1], v, len) == 0) {
			*id = e - 1;
			f->vlast = e;
			return 0;
		}
		h = (h + 1) & mask;
	}
	if ((rc = grow(&f->pool, &f->cappool, f->npool + len + 1, 1)) != 0)
		return rc;
	if (f->nval == f->capval) {
		size_t nc = f->capval ? f->capval * 2 : 64;
		size_t *no;
		uint32_t *nl;

		if ((no = reallocarray(f->voff, nc, sizeof(*no))) == NULL)
			return -ENOMEM;
		f->voff = no;
		if ((nl = reallocarray(f->vlen, nc, sizeof(*nl))) == NULL)
			return -ENOMEM;
		f->vlen = nl;
		f->capval = nc;
	}
	if (len > 0)
		memcpy(f->pool + f->npool, v, len);
	f->voff[f->nval] = f->npool;
	f->vlen[f->nval] = (uint32_t)len;
	f->npool += len;
	f->vhash[h] = (uint32_t)f->nval + 1;
	f->vlast = f->vhash[h];
	*id = (uint32_t)f->nval++;
	return 0;
}

static int
uhash_rebuild(struct zn_flat *f, size_t size)
{
	uint32_t *t;
	size_t mask = size - 1, h, i;

	if ((t = calloc(size, sizeof(*t))) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->nblk; i++) {
		h = hash_key(f->blk[i].lo, f->blk[i].prio) & mask;
		while (t[h] != 0)
			h = (h + 1) & mask;
		t[h] = (uint32_t)i + 1;
	}
	free(f->uhash);
	f->uhash = t;
	f->nuhash = size;
	return 0;
}

static _Thread_local struct zn_flat_probe *probe;
static _Thread_local bool probe_orig; /* an ip4set range is being split */
static _Thread_local zn_u128 probe_lo, probe_hi; /* ... this one */

void
zn_flat_probe_set(struct zn_flat_probe *p)
{
	probe = p;
	probe_orig = false;
	if (p != NULL) {
		p->top = -1;
		p->excl = false;
	}
}

static void
probe_note(const struct zn_flat *f, zn_u128 lo, zn_u128 hi, unsigned prio,
    uint32_t val)
{
	struct zn_flat_probe *p = probe;
	bool excl = val == ZN_FLAT_EXCL;

	if (p->alen != f->alen || p->addr < lo || p->addr > hi)
		return;
	if ((int)prio > p->top)
		p->excl = false;
	else if ((int)prio < p->top || p->excl || !excl)
		return;
	p->top = (int)prio;
	if (excl && !p->excl) {
		p->excl = true;
		p->lo = probe_orig ? probe_lo : lo;
		p->hi = probe_orig ? probe_hi : hi;
	}
}

/*
 * Add a block; see ip.h.
 */
int
zn_flat_add(struct zn_flat *f, zn_u128 lo, zn_u128 hi, unsigned prio,
    uint32_t val, uint32_t seq)
{
	struct zn_flat_blk *b;
	size_t h = 0, mask;
	uint32_t e;
	int rc;

	if (lo > hi || prio > ZN_FLAT_MAXPRIO || f->nblk >= UINT32_MAX - 1 ||
	    (f->alen == 4 && hi > UINT32_MAX))
		return -EINVAL;
	if (f->unique) {
		if (f->nblk * 2 >= f->nuhash &&
		    (rc = uhash_rebuild(f, f->nuhash ? f->nuhash * 2 : 64)) !=
		        0)
			return rc;
		mask = f->nuhash - 1;
		h = hash_key(lo, prio) & mask;
		while ((e = f->uhash[h]) != 0) {
			if (f->blk[e - 1].lo == lo &&
			    f->blk[e - 1].prio == prio)
				return -EEXIST;
			h = (h + 1) & mask;
		}
	}
	if ((rc = grow(&f->blk, &f->capblk, f->nblk + 1, sizeof(*f->blk))) != 0)
		return rc;
	b = &f->blk[f->nblk];
	b->lo = lo;
	b->hi = hi;
	b->val = val;
	b->seq = seq;
	b->prio = (uint8_t)prio;
	if (f->unique)
		f->uhash[h] = (uint32_t)f->nblk + 1;
	f->nblk++;
	if (probe != NULL)
		probe_note(f, lo, hi, prio, val);
	return 0;
}

/*
 * Add an ip4set range as octet-boundary runs; see ip.h.  At each level
 * (/32, /24, /16) the partial cells at both ends become runs of that
 * level and the rest moves up one level; a range that is exactly one full
 * cell of the level above is stored at that level (rbldnsd does the same).
 */
static int add_ip4set(struct zn_flat *f, uint32_t lo, uint32_t hi, uint32_t val,
    uint32_t seq);

int
zn_flat_add_ip4set(struct zn_flat *f, uint32_t lo, uint32_t hi, uint32_t val,
    uint32_t seq)
{
	int rc;

	if (probe == NULL)
		return add_ip4set(f, lo, hi, val, seq);
	probe_orig = true;
	probe_lo = lo;
	probe_hi = hi;
	rc = add_ip4set(f, lo, hi, val, seq);
	probe_orig = false;
	return rc;
}

static int
add_ip4set(struct zn_flat *f, uint32_t lo, uint32_t hi, uint32_t val,
    uint32_t seq)
{
	uint64_t a = lo, b = hi, start, end;
	unsigned shift, prio;
	int rc;

	if (lo > hi)
		return -EINVAL;
	for (shift = 0; shift < 24; shift += 8) {
		prio = 32 - shift;
		/* a and b count cells of 2^shift addresses */
		if ((a | 255) >= b) {
			if (a > b)
				return 0; /* the ends took everything */
			if (b - a == 255) {
				start = a << shift;
				end = ((b + 1) << shift) - 1;
				return zn_flat_add(f, start, end, prio - 8, val,
				    seq);
			}
			return zn_flat_add(f, a << shift,
			    ((b + 1) << shift) - 1, prio, val, seq);
		}
		if (a & 255) {
			end = (((a | 255) + 1) << shift) - 1;
			if ((rc = zn_flat_add(f, a << shift, end, prio, val,
			         seq)) != 0)
				return rc;
			a = (a >> 8) + 1;
		} else {
			a >>= 8;
		}
		if ((b & 255) != 255) {
			start = (b & ~(uint64_t)255) << shift;
			if ((rc = zn_flat_add(f, start, ((b + 1) << shift) - 1,
			         prio, val, seq)) != 0)
				return rc;
			b = (b >> 8) - 1;
		} else {
			b >>= 8;
		}
	}
	if (a > b)
		return 0;
	return zn_flat_add(f, a << 24, ((b + 1) << 24) - 1, 8, val, seq);
}

static int
cmp_lo(const void *x, const void *y)
{
	const struct zn_flat_blk *a = x, *b = y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/*
 * Sort the blocks by lo.  IPv4 blocks (the big datasets) get an LSD radix
 * sort of (lo, index) keys, several times faster than qsort on 48-byte
 * elements; IPv6 ones use qsort.  0 or -ENOMEM.
 */
static int
sort_blocks(struct zn_flat *f)
{
	size_t n = f->nblk, i, cnt[256], sum, t;
	struct zn_flat_blk *nb;
	uint64_t *k, *k2, *sw;
	unsigned pass;

	if (f->alen != 4) {
		qsort(f->blk, n, sizeof(*f->blk), cmp_lo);
		return 0;
	}
	k = reallocarray(NULL, n, sizeof(*k));
	k2 = reallocarray(NULL, n, sizeof(*k2));
	nb = reallocarray(NULL, n, sizeof(*nb));
	if (k == NULL || k2 == NULL || nb == NULL) {
		free(k);
		free(k2);
		free(nb);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		k[i] = (uint64_t)f->blk[i].lo << 32 | i;
	for (pass = 0; pass < 4; pass++) {
		unsigned sh = 32 + 8 * pass;

		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(k[i] >> sh) & 255]++;
		for (i = sum = 0; i < 256; i++) {
			t = cnt[i];
			cnt[i] = sum;
			sum += t;
		}
		for (i = 0; i < n; i++)
			k2[cnt[(k[i] >> sh) & 255]++] = k[i];
		sw = k;
		k = k2;
		k2 = sw;
	}
	for (i = 0; i < n; i++)
		nb[i] = f->blk[k[i] & UINT32_MAX];
	free(k);
	free(k2);
	free(f->blk);
	f->blk = nb;
	f->capblk = n;
	return 0;
}

static int
cmp_seq(const void *x, const void *y, void *arg)
{
	const struct zn_flat_blk *blk = arg;
	uint32_t a = blk[*(const uint32_t *)x].seq;
	uint32_t b = blk[*(const uint32_t *)y].seq;

	return a < b ? -1 : a > b;
}

/* The state of one sweep. */
struct sweep {
	struct zn_flat *f;
	zn_u128 amax;

	uint32_t *heap; /* active blocks, min-heap by hi */
	size_t nheap;

	uint32_t *act[NPRIO]; /* active blocks per priority */
	size_t nact[NPRIO], capact[NPRIO];
	uint32_t nexcl[NPRIO];
	uint64_t ver[NPRIO]; /* bumped on every change */
	uint64_t bm[(NPRIO + 63) / 64]; /* priorities with active blocks */
	uint32_t *pos; /* block index -> position in act[prio] */

	/* per-priority answer cache */
	uint8_t *ans[NPRIO];
	size_t nans[NPRIO], capans[NPRIO];
	uint64_t ansver[NPRIO];
	uint32_t *stamp; /* value id -> build stamp, for dedup */
	uint32_t curstamp;
	uint32_t *tmp; /* scratch: indices sorted by seq */
	size_t captmp;

	/* the interval being merged */
	bool pending;
	zn_u128 plo, phi;
	uint8_t *pblob;
	size_t npblob, cappblob;

	uint8_t *out; /* emit buffer */
	size_t capout;
	zn_flat_emit_fn emit;
	void *ctx;
};

static void
heap_push(struct sweep *s, uint32_t idx)
{
	const struct zn_flat_blk *blk = s->f->blk;
	size_t i = s->nheap++, parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (blk[s->heap[parent]].hi <= blk[idx].hi)
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = idx;
}

static void
heap_pop(struct sweep *s)
{
	const struct zn_flat_blk *blk = s->f->blk;
	size_t i = 0, c, n = --s->nheap;
	uint32_t last = s->heap[n];

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && blk[s->heap[c + 1]].hi < blk[s->heap[c]].hi)
			c++;
		if (blk[last].hi <= blk[s->heap[c]].hi)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n > 0)
		s->heap[i] = last;
}

static int
activate(struct sweep *s, uint32_t idx)
{
	const struct zn_flat_blk *b = &s->f->blk[idx];
	unsigned p = b->prio;
	int rc;

	if ((rc = grow(&s->act[p], &s->capact[p], s->nact[p] + 1,
	         sizeof(uint32_t))) != 0)
		return rc;
	s->pos[idx] = (uint32_t)s->nact[p];
	s->act[p][s->nact[p]++] = idx;
	if (b->val == ZN_FLAT_EXCL)
		s->nexcl[p]++;
	s->ver[p]++;
	s->bm[p / 64] |= (uint64_t)1 << (p % 64);
	heap_push(s, idx);
	return 0;
}

static void
deactivate(struct sweep *s, uint32_t idx)
{
	const struct zn_flat_blk *b = &s->f->blk[idx];
	unsigned p = b->prio;
	uint32_t at = s->pos[idx], last;

	last = s->act[p][--s->nact[p]];
	s->act[p][at] = last;
	s->pos[last] = at;
	if (b->val == ZN_FLAT_EXCL)
		s->nexcl[p]--;
	s->ver[p]++;
	if (s->nact[p] == 0)
		s->bm[p / 64] &= ~((uint64_t)1 << (p % 64));
}

static int
top_prio(const struct sweep *s)
{
	int w;

	for (w = (int)(sizeof(s->bm) / sizeof(s->bm[0])) - 1; w >= 0; w--)
		if (s->bm[w] != 0)
			return w * 64 + 63 - __builtin_clzll(s->bm[w]);
	return -1;
}

/* Build (or reuse) the answer of priority p. */
static int
build_answer(struct sweep *s, unsigned p)
{
	const struct zn_flat *f = s->f;
	size_t n = s->nact[p], i, len, nv;
	uint32_t *ix = s->act[p], v;
	int rc;

	if (s->ansver[p] == s->ver[p] && s->nans[p] > 0)
		return 0;
	if (n > 1) {
		if ((rc = grow(&s->tmp, &s->captmp, n, sizeof(uint32_t))) != 0)
			return rc;
		memcpy(s->tmp, ix, n * sizeof(uint32_t));
		qsort_r(s->tmp, n, sizeof(uint32_t), cmp_seq, f->blk);
		ix = s->tmp;
	}
	if (++s->curstamp == 0) {
		memset(s->stamp, 0, f->nval * sizeof(uint32_t));
		s->curstamp = 1;
	}
	len = 0;
	if (f->answer) {
		if ((rc = grow(&s->ans[p], &s->capans[p], 1, 1)) != 0)
			return rc;
		s->ans[p][len++] = 0;
	}
	for (i = nv = 0; i < n && nv < ZN_FLAT_MAXVALS; i++) {
		v = f->blk[ix[i]].val;
		if (s->stamp[v] == s->curstamp)
			continue;
		s->stamp[v] = s->curstamp;
		if ((rc = grow(&s->ans[p], &s->capans[p], len + f->vlen[v],
		         1)) != 0)
			return rc;
		memcpy(s->ans[p] + len, f->pool + f->voff[v], f->vlen[v]);
		len += f->vlen[v];
		nv++;
	}
	s->nans[p] = len;
	s->ansver[p] = s->ver[p];
	return 0;
}

static void
put_addr(uint8_t *out, zn_u128 a, unsigned alen)
{
	unsigned i;

	for (i = 0; i < alen; i++)
		out[i] = (uint8_t)(a >> (8 * (alen - 1 - i)));
}

static int
flush(struct sweep *s)
{
	unsigned alen = s->f->alen;
	uint8_t key[17];
	int rc;

	if (!s->pending)
		return 0;
	s->pending = false;
	key[0] = alen == 4 ? ZN_KEY_IP4 : ZN_KEY_IP6;
	put_addr(key + 1, s->phi, alen);
	if ((rc = grow(&s->out, &s->capout, alen + s->npblob, 1)) != 0)
		return rc;
	put_addr(s->out, s->plo, alen);
	memcpy(s->out + alen, s->pblob, s->npblob);
	return s->emit(s->ctx, key, alen + 1, s->out, alen + s->npblob);
}

/* The answer for [lo, hi] is priority p's: merge or start an interval. */
static int
segment(struct sweep *s, zn_u128 lo, zn_u128 hi, unsigned p)
{
	const uint8_t *a = s->ans[p];
	size_t n = s->nans[p];
	int rc;

	if (s->pending && s->phi + 1 == lo && s->npblob == n &&
	    memcmp(s->pblob, a, n) == 0) {
		s->phi = hi;
		return 0;
	}
	if ((rc = flush(s)) != 0)
		return rc;
	if ((rc = grow(&s->pblob, &s->cappblob, n, 1)) != 0)
		return rc;
	memcpy(s->pblob, a, n);
	s->npblob = n;
	s->plo = lo;
	s->phi = hi;
	s->pending = true;
	return 0;
}

static void
sweep_free(struct sweep *s)
{
	unsigned p;

	for (p = 0; p < NPRIO; p++) {
		free(s->act[p]);
		free(s->ans[p]);
	}
	free(s->heap);
	free(s->pos);
	free(s->stamp);
	free(s->tmp);
	free(s->pblob);
	free(s->out);
}

static int
sweep_run(struct sweep *s)
{
	const struct zn_flat_blk *blk = s->f->blk;
	size_t n = s->f->nblk, i = 0;
	zn_u128 x, next, end;
	bool have_next;
	int rc, p;

	x = blk[0].lo;
	for (;;) {
		/* blocks ending before x, then blocks starting at x */
		while (s->nheap > 0 && blk[s->heap[0]].hi < x) {
			uint32_t idx = s->heap[0];

			heap_pop(s);
			deactivate(s, idx);
		}
		while (i < n && blk[i].lo == x)
			if ((rc = activate(s, (uint32_t)i++)) != 0)
				return rc;
		have_next = false;
		next = 0;
		if (i < n) {
			next = blk[i].lo;
			have_next = true;
		}
		if (s->nheap > 0 && blk[s->heap[0]].hi < s->amax &&
		    (!have_next || blk[s->heap[0]].hi + 1 < next)) {
			next = blk[s->heap[0]].hi + 1;
			have_next = true;
		}
		if (s->nheap == 0 && !have_next)
			break;
		end = have_next ? next - 1 : s->amax;
		p = top_prio(s);
		if (p >= 0 && s->nexcl[p] == 0) {
			if ((rc = build_answer(s, (unsigned)p)) != 0 ||
			    (rc = segment(s, x, end, (unsigned)p)) != 0)
				return rc;
		}
		if (!have_next)
			break;
		x = next;
	}
	return flush(s);
}

/*
 * Compute and emit the intervals; see ip.h.
 */
int
zn_flat_run(struct zn_flat *f, zn_flat_emit_fn emit, void *ctx)
{
	struct sweep *s;
	size_t i;
	int rc;

	if (f->nblk == 0)
		return 0;
	for (i = 0; i < f->nblk; i++)
		if (f->blk[i].val != ZN_FLAT_EXCL && f->blk[i].val >= f->nval)
			return -EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->f = f;
	s->emit = emit;
	s->ctx = ctx;
	s->amax = f->alen == 4 ? (zn_u128)UINT32_MAX : ~(zn_u128)0;
	s->heap = reallocarray(NULL, f->nblk, sizeof(uint32_t));
	s->pos = reallocarray(NULL, f->nblk, sizeof(uint32_t));
	s->stamp = calloc(f->nval ? f->nval : 1, sizeof(uint32_t));
	if (s->heap == NULL || s->pos == NULL || s->stamp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* the unique index refers to block positions: sorting ends it */
	free(f->uhash);
	f->uhash = NULL;
	f->nuhash = 0;
	if ((rc = sort_blocks(f)) == 0)
		rc = sweep_run(s);
out:
	sweep_free(s);
	free(s);
	return rc;
}
