/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Snapshot and delta files of the feed: the strict decoder, entry streams
 * over files and compiled datasets, the encoders (snapshot, diff of two
 * versions, composition of two deltas) and the zone digest.  The byte
 * layouts are drawn in feed.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "feed_int.h"

static const uint8_t snap_magic[FD_MAGIC_LEN] = "RDZSNAP\1";
static const uint8_t delta_magic[FD_MAGIC_LEN] = "RDZDLTA\1";
static const char digest_ctx[] = "resolverd-feed/zone-digest/v1";

/*
 * Output buffers.
 */
void
fb_bytes(struct fbuf *b, const void *v, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

void
fb_u8(struct fbuf *b, uint8_t v)
{
	fb_bytes(b, &v, 1);
}

void
fb_var(struct fbuf *b, uint64_t v)
{
	uint8_t x[10];
	size_t n = 0;

	do {
		x[n] = v & 0x7f;
		v >>= 7;
		if (v != 0)
			x[n] |= 0x80;
		n++;
	} while (v != 0);
	fb_bytes(b, x, n);
}

void
fb_str(struct fbuf *b, const void *s, size_t n)
{
	fb_var(b, n);
	fb_bytes(b, s, n);
}

static void
fb_ostr(struct fbuf *b, const char *s)
{
	if (s == NULL)
		fb_var(b, 0);
	else {
		fb_var(b, (uint64_t)strlen(s) + 1);
		fb_bytes(b, s, strlen(s));
	}
}

void
fb_free(struct fbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/*
 * Readers.  The first problem sticks, with its offset.
 */
int
frd_fail(struct frd *r, const char *why)
{
	if (r->why == NULL) {
		r->why = why;
		r->at = r->off;
	}
	return -1;
}

const uint8_t *
frd_bytes(struct frd *r, size_t n)
{
	const uint8_t *p;

	if (r->why != NULL)
		return NULL;
	if (r->len - r->off < n) {
		frd_fail(r, "truncated");
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t
frd_u8(struct frd *r)
{
	const uint8_t *p = frd_bytes(r, 1);

	return p ? *p : 0;
}

uint64_t
frd_var(struct frd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	size_t start = r->off;

	for (;;) {
		const uint8_t *p = frd_bytes(r, 1);

		if (p == NULL)
			return 0;
		if (shift == 63 && (*p & 0x7e) != 0) {
			r->off = start;
			frd_fail(r, "number out of range");
			return 0;
		}
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80)) {
			if (*p == 0 && shift > 0) {
				r->off = start;
				frd_fail(r, "number not minimally encoded");
				return 0;
			}
			return v;
		}
		shift += 7;
		if (shift > 63) {
			r->off = start;
			frd_fail(r, "number too long");
			return 0;
		}
	}
}

/* A string of at most max bytes without NUL; *n its length. */
static const uint8_t *
frd_str(struct frd *r, size_t max, size_t *n)
{
	size_t start = r->off;
	uint64_t l = frd_var(r);
	const uint8_t *p;

	if (r->why != NULL)
		return NULL;
	if (l > max) {
		r->off = start;
		frd_fail(r, "string too long");
		return NULL;
	}
	if ((p = frd_bytes(r, l)) == NULL)
		return NULL;
	if (memchr(p, 0, l) != NULL) {
		r->off = start;
		frd_fail(r, "string with a NUL byte");
		return NULL;
	}
	*n = l;
	return p;
}

static char *
frd_cstr(struct frd *r, size_t max)
{
	size_t n = 0;
	const uint8_t *p = frd_str(r, max, &n);
	char *s;

	if (p == NULL)
		return NULL;
	if ((s = malloc(n + 1)) == NULL) {
		frd_fail(r, "out of memory");
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* An optional string: NULL for "none" (check r->why). */
static char *
frd_ostr(struct frd *r, size_t max)
{
	size_t start = r->off;
	uint64_t l = frd_var(r);
	const uint8_t *p;
	char *s;

	if (r->why != NULL || l == 0)
		return NULL;
	l--;
	if (l > max) {
		r->off = start;
		frd_fail(r, "string too long");
		return NULL;
	}
	if ((p = frd_bytes(r, l)) == NULL)
		return NULL;
	if (memchr(p, 0, l) != NULL) {
		r->off = start;
		frd_fail(r, "string with a NUL byte");
		return NULL;
	}
	if ((s = malloc(l + 1)) == NULL) {
		frd_fail(r, "out of memory");
		return NULL;
	}
	memcpy(s, p, l);
	s[l] = '\0';
	return s;
}

static uint32_t
frd_u32var(struct frd *r)
{
	size_t start = r->off;
	uint64_t v = frd_var(r);

	if (v > UINT32_MAX) {
		r->off = start;
		frd_fail(r, "number above 2^32");
		return 0;
	}
	return (uint32_t)v;
}

/*
 * Keys and values.
 */
int
fd_keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

bool
fd_same_val(const struct fent *a, const struct fent *b)
{
	return a->lolen == b->lolen && a->alen == b->alen &&
	    memcmp(a->lo, b->lo, a->lolen) == 0 &&
	    (a->alen == 0 || memcmp(a->ans, b->ans, a->alen) == 0);
}

int
fd_key_lolen(const uint8_t *k, size_t n)
{
	if (n == 0 || n > ZN_KEY_MAX)
		return -1;
	switch (k[0]) {
	case ZN_KEY_IP4:
		return n == 5 ? 4 : -1;
	case ZN_KEY_IP6:
		return n == 17 ? 16 : -1;
	case ZN_KEY_NAME:
		if (n < 2 ||
		    (k[n - 1] != ZN_NAME_EXACT && k[n - 1] != ZN_NAME_WILD))
			return -1;
		return 0;
	case ZN_KEY_GENERIC:
		return n >= 3 ? 0 : -1;
	default:
		return -1;
	}
}

void
fd_entry_digest(uint8_t *acc, const struct fent *e, bool add)
{
	zn_digest_entry(acc, e->key, e->klen, e->lo, e->lolen, e->ans, e->alen,
	    add);
}

void
fd_hash(const uint8_t *p, size_t n, uint8_t out[ZN_FEED_HASH_LEN])
{
	crypto_generichash(out, ZN_FEED_HASH_LEN, p, n, NULL, 0);
}

/*
 * Dataset parameters.
 */
void
fd_params_encode(struct fbuf *b, const struct zn_dataset *ds)
{
	size_t i;

	fb_u8(b, ds->type);
	fb_ostr(b, ds->label);
	fb_var(b, ds->ttl);
	fb_u8(b, ds->has_soa ? 1 : 0);
	if (ds->has_soa) {
		fb_var(b, ds->soa.ttl);
		fb_str(b, ds->soa.mname, strlen(ds->soa.mname));
		fb_str(b, ds->soa.rname, strlen(ds->soa.rname));
		fb_var(b, ds->soa.serial);
		fb_var(b, ds->soa.refresh);
		fb_var(b, ds->soa.retry);
		fb_var(b, ds->soa.expire);
		fb_var(b, ds->soa.minimum);
	}
	fb_var(b, ds->ns_ttl);
	fb_var(b, ds->nns);
	for (i = 0; i < ds->nns && i < ZN_NS_MAX; i++)
		fb_str(b, ds->ns[i], strlen(ds->ns[i]));
	for (i = 0; i < 10; i++)
		fb_ostr(b, ds->vars[i]);
	fb_ostr(b, ds->base);
	fb_var(b, (uint64_t)ds->ts_created);
	fb_var(b, (uint64_t)ds->ts_expires);
	fb_var(b, (uint64_t)ds->mtime);
	fb_var(b, ds->nsource);
	fb_var(b, ds->nskipped);
	fb_var(b, ds->nlines);
}

static void
frd_name(struct frd *r, char *dst)
{
	size_t n = 0;
	const uint8_t *p = frd_str(r, ZN_NAME_MAX, &n);

	dst[0] = '\0';
	if (p != NULL) {
		memcpy(dst, p, n);
		dst[n] = '\0';
	}
}

struct zn_dataset *
fd_params_decode(struct frd *r)
{
	struct zn_dataset *ds;
	size_t i, at;
	uint64_t n;

	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		frd_fail(r, "out of memory");
		return NULL;
	}
	at = r->off;
	ds->type = frd_u8(r);
	if (r->why == NULL && ds->type >= ZN_NTYPES) {
		r->off = at;
		frd_fail(r, "unknown dataset type");
	}
	ds->label = frd_ostr(r, 0xfffe);
	ds->ttl = frd_u32var(r);
	at = r->off;
	switch (frd_u8(r)) {
	case 0:
		break;
	case 1:
		ds->has_soa = true;
		ds->soa.ttl = frd_u32var(r);
		frd_name(r, ds->soa.mname);
		frd_name(r, ds->soa.rname);
		ds->soa.serial = frd_u32var(r);
		ds->soa.refresh = frd_u32var(r);
		ds->soa.retry = frd_u32var(r);
		ds->soa.expire = frd_u32var(r);
		ds->soa.minimum = frd_u32var(r);
		break;
	default:
		r->off = at;
		frd_fail(r, "bad SOA flag");
	}
	ds->ns_ttl = frd_u32var(r);
	at = r->off;
	n = frd_var(r);
	if (n > ZN_NS_MAX) {
		r->off = at;
		frd_fail(r, "too many NS names");
		n = 0;
	}
	for (i = 0; i < n && r->why == NULL; i++) {
		ds->ns[i] = frd_cstr(r, ZN_NAME_MAX);
		if (ds->ns[i] != NULL)
			ds->nns = i + 1;
	}
	for (i = 0; i < 10; i++)
		ds->vars[i] = frd_ostr(r, 0xfffe);
	ds->base = frd_ostr(r, 0xfffe);
	ds->ts_created = (int64_t)frd_var(r);
	ds->ts_expires = (int64_t)frd_var(r);
	ds->mtime = (int64_t)frd_var(r);
	ds->nsource = frd_var(r);
	ds->nskipped = frd_var(r);
	ds->nlines = frd_var(r);
	if (r->why != NULL) {
		zn_dataset_free(ds);
		return NULL;
	}
	return ds;
}

void
fd_subzones_encode(struct fbuf *b, const struct zn_subset *s)
{
	size_t i;

	fb_var(b, s->nsub);
	for (i = 0; i < s->nsub; i++)
		fb_str(b, s->subzones[i], strlen(s->subzones[i]));
}

int
fd_subzones_decode(struct frd *r, struct zn_subset *s)
{
	size_t at = r->off, i;
	uint64_t n = frd_var(r);

	if (r->why != NULL)
		return -1;
	if (n == 0 || n > 0xffff || n > r->len - r->off) {
		r->off = at;
		return frd_fail(r, "bad subzone count");
	}
	if ((s->subzones = calloc(n, sizeof(char *))) == NULL)
		return frd_fail(r, "out of memory");
	s->nsub = n;
	for (i = 0; i < n; i++)
		if ((s->subzones[i] = frd_cstr(r, ZN_NAME_MAX)) == NULL)
			return frd_fail(r, "bad subzone");
	return 0;
}

/*
 * Zone digest.
 */
void
fdg_start(struct fdigest *d, const char *zone, size_t ndatasets)
{
	memset(d, 0, sizeof(*d));
	fb_bytes(&d->b, digest_ctx, sizeof(digest_ctx));
	fb_str(&d->b, zone, strlen(zone));
	fb_var(&d->b, ndatasets);
}

void
fdg_node(struct fdigest *d, const uint8_t *spec, size_t speclen,
    const struct zn_dataset *params, uint64_t nent, const uint8_t *edigest,
    size_t nsub)
{
	fb_str(&d->b, spec, speclen);
	fd_params_encode(&d->b, params);
	fb_var(&d->b, nent);
	fb_bytes(&d->b, edigest, ZN_DIGEST_LEN);
	fb_var(&d->b, nsub);
}

void
fdg_subset(struct fdigest *d, const struct zn_subset *s)
{
	fd_subzones_encode(&d->b, s);
}

int
fdg_finish(struct fdigest *d, uint8_t *out, struct zn_err *err)
{
	int rc = 0;

	if (d->b.oom)
		rc = zn_err_set(err, ENOMEM, "out of memory");
	else
		crypto_generichash(out, ZN_DIGEST_LEN, d->b.p, d->b.len, NULL,
		    0);
	fb_free(&d->b);
	return rc;
}

/*
 * Decoding.  A first pass checks everything and records where each
 * node's entries or ops are; the streams below walk them again.
 */
static void
fnode_cleanup(struct fnode *n)
{
	size_t i;

	for (i = 0; n->sub != NULL && i < n->nsub; i++)
		fnode_cleanup(&n->sub[i]);
	free(n->sub);
	zn_dataset_free(n->ds);
	memset(n, 0, sizeof(*n));
}

void
ffile_cleanup(struct ffile *f)
{
	size_t i;

	for (i = 0; f->node != NULL && i < f->nnode; i++)
		fnode_cleanup(&f->node[i]);
	free(f->node);
	free(f->valp);
	free(f->vall);
	memset(f, 0, sizeof(*f));
}

/* One entry (or one side of an op) at r: key already read. */
static int
rd_value(struct frd *r, const struct ffile *f, const uint8_t *key, size_t klen,
    struct fent *e)
{
	int lolen = fd_key_lolen(key, klen);
	size_t at = r->off;
	uint64_t v;

	e->key = key;
	e->klen = klen;
	if (lolen < 0)
		return frd_fail(r, "key not in canonical form");
	e->lolen = lolen;
	if ((e->lo = frd_bytes(r, lolen)) == NULL)
		return -1;
	if (lolen > 0 && memcmp(e->lo, key + 1, lolen) > 0) {
		r->off = at;
		return frd_fail(r, "interval ends before it starts");
	}
	at = r->off;
	v = frd_var(r);
	if (r->why != NULL)
		return -1;
	if (v >= f->nval) {
		r->off = at;
		return frd_fail(r, "value index out of range");
	}
	e->ans = f->valp[v];
	e->alen = f->vall[v];
	e->vidx = v;
	return 0;
}

static const uint8_t *
rd_key(struct frd *r, size_t *klen)
{
	size_t at = r->off;
	uint64_t n = frd_var(r);
	const uint8_t *k;

	if (r->why != NULL)
		return NULL;
	if (n == 0 || n > ZN_KEY_MAX) {
		r->off = at;
		frd_fail(r, "bad key length");
		return NULL;
	}
	if ((k = frd_bytes(r, n)) == NULL)
		return NULL;
	*klen = n;
	return k;
}

/* Next entry of a snapshot node: 1, 0 at the end, -1 (r->why set). */
static int
rd_entry(struct frd *r, const struct ffile *f, uint64_t *left, struct fent *e)
{
	const uint8_t *k;
	size_t klen = 0;

	if (*left == 0)
		return 0;
	if ((k = rd_key(r, &klen)) == NULL)
		return -1;
	if (rd_value(r, f, k, klen, e) != 0)
		return -1;
	(*left)--;
	return 1;
}

static int
rd_op(struct frd *r, const struct ffile *f, uint64_t *left, struct fop *op)
{
	const uint8_t *k;
	size_t klen = 0, at;

	if (*left == 0)
		return 0;
	at = r->off;
	op->tag = frd_u8(r);
	if (r->why == NULL && (op->tag < FOP_ADD || op->tag > FOP_SET)) {
		r->off = at;
		return frd_fail(r, "unknown op");
	}
	if ((k = rd_key(r, &klen)) == NULL)
		return -1;
	memset(&op->o, 0, sizeof(op->o));
	memset(&op->n, 0, sizeof(op->n));
	op->o.key = op->n.key = k;
	op->o.klen = op->n.klen = klen;
	if (op->tag == FOP_ADD)
		return rd_value(r, f, k, klen, &op->n) ? -1 : ((*left)--, 1);
	if (rd_value(r, f, k, klen, &op->o) != 0)
		return -1;
	if (op->tag == FOP_SET) {
		at = r->off;
		if (rd_value(r, f, k, klen, &op->n) != 0)
			return -1;
		if (fd_same_val(&op->o, &op->n)) {
			r->off = at;
			return frd_fail(r, "change to the same value");
		}
	}
	(*left)--;
	return 1;
}

int
fop_next(const struct ffile *f, struct frd *rd, uint64_t *left, struct fop *op)
{
	int rc = rd_op(rd, f, left, op);

	return rc < 0 ? -EINVAL : rc;
}

static int
node_decode(struct frd *r, struct ffile *f, struct fnode *n, int depth)
{
	size_t at, i, tl;
	uint64_t cnt, left;
	const uint8_t *prev = NULL;
	size_t prevlen = 0;
	const char *tname;

	at = r->off;
	if ((n->spec = frd_str(r, ZN_KEY_MAX, &n->speclen)) == NULL)
		return -1;
	if ((n->ds = fd_params_decode(r)) == NULL)
		return -1;
	tname = zn_type_name(n->ds->type);
	tl = strlen(tname);
	if (depth == 0 &&
	    (n->speclen < tl + 2 || memcmp(n->spec, tname, tl) != 0 ||
	        n->spec[tl] != ':')) {
		r->off = at;
		return frd_fail(r, "dataset spec does not match its type");
	}
	if (depth > 0 && n->speclen != 0) {
		r->off = at;
		return frd_fail(r, "subset with a spec");
	}
	at = r->off;
	cnt = frd_var(r);
	if (r->why != NULL)
		return -1;
	if (cnt > r->len - r->off) {
		r->off = at;
		return frd_fail(r, "entry count beyond the file");
	}
	n->n = cnt;
	n->body = r->p + r->off;
	left = cnt;
	for (;;) {
		struct fent e;
		struct fop op;
		const uint8_t *k;
		size_t kl;
		int rc;

		at = r->off;
		if (f->delta) {
			rc = rd_op(r, f, &left, &op);
			k = op.o.key;
			kl = op.o.klen;
			if (rc > 0 && op.tag == FOP_ADD)
				f->nadd++;
			else if (rc > 0 && op.tag == FOP_DEL)
				f->ndel++;
			else if (rc > 0)
				f->nset++;
		} else {
			rc = rd_entry(r, f, &left, &e);
			k = e.key;
			kl = e.klen;
		}
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (prev != NULL && fd_keycmp(prev, prevlen, k, kl) >= 0) {
			r->off = at;
			return frd_fail(r, "keys out of order");
		}
		prev = k;
		prevlen = kl;
	}
	n->bodylen = (size_t)(r->p + r->off - n->body);
	at = r->off;
	cnt = frd_var(r);
	if (r->why != NULL)
		return -1;
	if (cnt > 0 &&
	    (n->ds->type != ZN_COMBINED || depth + 1 >= FD_DEPTH_MAX)) {
		r->off = at;
		return frd_fail(r,
		    "subsets in a dataset that cannot have them");
	}
	if (cnt > 0xffff || cnt > r->len - r->off) {
		r->off = at;
		return frd_fail(r, "bad subset count");
	}
	if (cnt == 0)
		return 0;
	n->sub = calloc(cnt, sizeof(*n->sub));
	n->ds->subsets = calloc(cnt, sizeof(*n->ds->subsets));
	if (n->sub == NULL || n->ds->subsets == NULL)
		return frd_fail(r, "out of memory");
	n->nsub = n->ds->nsubsets = cnt;
	for (i = 0; i < cnt; i++) {
		if (fd_subzones_decode(r, &n->ds->subsets[i]) != 0)
			return -1;
		if (node_decode(r, f, &n->sub[i], depth + 1) != 0)
			return -1;
	}
	return 0;
}

static uint64_t
count_entries(const struct fnode *n)
{
	uint64_t c = n->n;
	size_t i;

	for (i = 0; i < n->nsub; i++)
		c += count_entries(&n->sub[i]);
	return c;
}

int
ffile_decode(const uint8_t *buf, size_t len, const char *name, struct ffile *f,
    struct zn_err *err)
{
	struct frd r = { buf, len, 0, NULL, 0 };
	const uint8_t *m;
	size_t i, zl = 0, at;
	uint64_t cnt;
	const uint8_t *z;

	memset(f, 0, sizeof(*f));
	if ((m = frd_bytes(&r, FD_MAGIC_LEN)) == NULL)
		goto bad;
	if (memcmp(m, snap_magic, FD_MAGIC_LEN) == 0)
		f->delta = false;
	else if (memcmp(m, delta_magic, FD_MAGIC_LEN) == 0)
		f->delta = true;
	else {
		r.off = 0;
		frd_fail(&r, "not a feed snapshot or delta (bad magic)");
		goto bad;
	}
	if ((z = frd_str(&r, ZN_NAME_MAX, &zl)) == NULL)
		goto bad;
	memcpy(f->zone, z, zl);
	f->zone[zl] = '\0';
	/* as the manifest's: no NUL, control bytes or upper case */
	if (memchr(z, '\0', zl) != NULL || !zn_feed_zone_ok(f->zone)) {
		r.off = FD_MAGIC_LEN;
		frd_fail(&r, "bad zone name");
		goto bad;
	}
	if (!f->delta) {
		f->from = f->to = frd_var(&r);
		f->entries = frd_var(&r);
		if ((m = frd_bytes(&r, ZN_DIGEST_LEN)) == NULL)
			goto bad;
		memcpy(f->digest, m, ZN_DIGEST_LEN);
		if (f->to == 0) {
			frd_fail(&r, "serial 0");
			goto bad;
		}
	} else {
		f->from = frd_var(&r);
		f->to = frd_var(&r);
		if (r.why == NULL && f->from >= f->to) {
			frd_fail(&r, "delta does not go forward");
			goto bad;
		}
		if ((m = frd_bytes(&r, ZN_DIGEST_LEN)) == NULL)
			goto bad;
		memcpy(f->from_digest, m, ZN_DIGEST_LEN);
		if ((m = frd_bytes(&r, ZN_DIGEST_LEN)) == NULL)
			goto bad;
		memcpy(f->digest, m, ZN_DIGEST_LEN);
		f->from_entries = frd_var(&r);
		f->entries = frd_var(&r);
	}
	at = r.off;
	cnt = frd_var(&r);
	if (r.why != NULL)
		goto bad;
	if (cnt > r.len - r.off) {
		r.off = at;
		frd_fail(&r, "value count beyond the file");
		goto bad;
	}
	f->valp = calloc(cnt ? cnt : 1, sizeof(*f->valp));
	f->vall = calloc(cnt ? cnt : 1, sizeof(*f->vall));
	if (f->valp == NULL || f->vall == NULL) {
		frd_fail(&r, "out of memory");
		goto bad;
	}
	f->nval = cnt;
	for (i = 0; i < cnt; i++) {
		at = r.off;
		f->vall[i] = frd_var(&r);
		if (r.why == NULL && f->vall[i] > FD_VALUE_MAX) {
			r.off = at;
			frd_fail(&r, "value too long");
		}
		if ((f->valp[i] = frd_bytes(&r, f->vall[i])) == NULL)
			goto bad;
	}
	at = r.off;
	cnt = frd_var(&r);
	if (r.why != NULL)
		goto bad;
	if (cnt == 0 || cnt > 0xffff || cnt > r.len - r.off) {
		r.off = at;
		frd_fail(&r, "bad dataset count");
		goto bad;
	}
	if ((f->node = calloc(cnt, sizeof(*f->node))) == NULL) {
		frd_fail(&r, "out of memory");
		goto bad;
	}
	f->nnode = cnt;
	for (i = 0; i < cnt; i++)
		if (node_decode(&r, f, &f->node[i], 0) != 0)
			goto bad;
	if (r.off != r.len) {
		frd_fail(&r, "trailing bytes");
		goto bad;
	}
	if (!f->delta) {
		uint64_t total = 0;

		for (i = 0; i < f->nnode; i++)
			total += count_entries(&f->node[i]);
		if (total != f->entries) {
			zn_err_set(err, EINVAL,
			    "%s: holds %llu entries, its header says %llu",
			    name, (unsigned long long)total,
			    (unsigned long long)f->entries);
			ffile_cleanup(f);
			return -EINVAL;
		}
	} else if (f->from_entries + f->nadd < f->ndel ||
	    f->from_entries + f->nadd - f->ndel != f->entries) {
		zn_err_set(err, EINVAL,
		    "%s: %llu entries + %llu - %llu is not the %llu its header "
		    "says",
		    name, (unsigned long long)f->from_entries,
		    (unsigned long long)f->nadd, (unsigned long long)f->ndel,
		    (unsigned long long)f->entries);
		ffile_cleanup(f);
		return -EINVAL;
	}
	return 0;

bad:
	zn_err_set(err, EINVAL, "%s: offset %zu: %s", name, r.at, r.why);
	ffile_cleanup(f);
	return -EINVAL;
}

/*
 * Entry streams.
 */
enum {
	ES_COMPILED,
	ES_SNAP,
	ES_PATCHED,
};

void
esrc_compiled(struct esrc *s, const struct zn_dataset *ds)
{
	memset(s, 0, sizeof(*s));
	s->kind = ES_COMPILED;
	s->ds = ds;
}

void
esrc_snap(struct esrc *s, const struct ffile *f, const struct fnode *n,
    struct zn_err *err)
{
	memset(s, 0, sizeof(*s));
	s->kind = ES_SNAP;
	s->f = f;
	s->node = n;
	s->rd = (struct frd){ n->body, n->bodylen, 0, NULL, 0 };
	s->left = n->n;
	s->err = err;
}

void
esrc_patched(struct esrc *s, const struct ffile *f, const struct fnode *n,
    const struct ffile *df, const struct fnode *dn, struct zn_err *err)
{
	esrc_snap(s, f, n, err);
	s->kind = ES_PATCHED;
	s->df = df;
	s->dnode = dn;
	s->drd = (struct frd){ dn->body, dn->bodylen, 0, NULL, 0 };
	s->dleft = dn->n;
}

static int
es_bad(struct esrc *s, const char *why)
{
	return zn_err_set(s->err, EINVAL, "%s", why);
}

int
esrc_next(struct esrc *s, struct fent *e)
{
	int rc, cmp;

	switch (s->kind) {
	case ES_COMPILED: {
		const struct zn_entry *x;
		int lolen;

		if (s->i >= s->ds->nent)
			return 0;
		x = &s->ds->ent[s->i++];
		lolen = fd_key_lolen(x->key, x->klen);
		if (lolen < 0 || x->blen < (uint32_t)lolen)
			return es_bad(s,
			    "compiled entry not in canonical form");
		*e = (struct fent){ x->key, x->klen, x->blob, lolen,
			x->blob + lolen, x->blen - lolen, SIZE_MAX };
		return 1;
	}
	case ES_SNAP:
		rc = rd_entry(&s->rd, s->f, &s->left, e);
		return rc < 0 ? es_bad(s, "damaged snapshot") : rc;
	}
	for (;;) {
		if (!s->have_e) {
			if ((rc = rd_entry(&s->rd, s->f, &s->left, &s->e)) < 0)
				return es_bad(s, "damaged snapshot");
			s->have_e = rc > 0;
		}
		if (!s->have_op) {
			rc = rd_op(&s->drd, s->df, &s->dleft, &s->op);
			if (rc < 0)
				return es_bad(s, "damaged delta");
			s->have_op = rc > 0;
		}
		if (!s->have_e && !s->have_op)
			return 0;
		if (s->have_e && s->have_op)
			cmp = fd_keycmp(s->e.key, s->e.klen, s->op.o.key,
			    s->op.o.klen);
		else
			cmp = s->have_e ? -1 : 1;
		if (cmp < 0) {
			*e = s->e;
			s->have_e = false;
			return 1;
		}
		if (cmp > 0) {
			if (s->op.tag != FOP_ADD)
				return es_bad(s,
				    "delta changes a key the snapshot lacks");
			*e = s->op.n;
			s->have_op = false;
			return 1;
		}
		if (s->op.tag == FOP_ADD)
			return es_bad(s, "delta adds a key the snapshot has");
		if (!fd_same_val(&s->e, &s->op.o))
			return es_bad(s,
			    "delta's old value differs from the snapshot");
		s->have_e = s->have_op = false;
		if (s->op.tag == FOP_SET) {
			*e = s->op.n;
			return 1;
		}
	}
}

/*
 * Encoding.  Values are interned per file; nodes are written into a body
 * buffer, and the file is header + value table + body.
 */
struct vtab {
	struct fbuf data; /* the value table as written: str each */
	size_t n;
	size_t *off, *len; /* per value: where its bytes are in data */
	size_t ocap;
	uint32_t *slot; /* index + 1, 0 empty */
	size_t nslot;
};

static uint64_t
vt_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int
vt_grow(struct vtab *v)
{
	size_t ns = v->nslot ? v->nslot * 2 : 1024, i;
	uint32_t *sl = calloc(ns, sizeof(*sl));

	if (sl == NULL)
		return -1;
	for (i = 0; i < v->n; i++) {
		size_t h = vt_hash(v->data.p + v->off[i], v->len[i]) & (ns - 1);

		while (sl[h] != 0)
			h = (h + 1) & (ns - 1);
		sl[h] = i + 1;
	}
	free(v->slot);
	v->slot = sl;
	v->nslot = ns;
	return 0;
}

/* Index of value (p, n) in the table, added if new; -1 out of memory. */
static int64_t
vt_intern(struct vtab *v, const uint8_t *p, size_t n)
{
	size_t h;

	if ((v->n + 1) * 2 > v->nslot && vt_grow(v) != 0)
		return -1;
	h = vt_hash(p, n) & (v->nslot - 1);
	while (v->slot[h] != 0) {
		size_t i = v->slot[h] - 1;

		if (v->len[i] == n &&
		    (n == 0 || memcmp(v->data.p + v->off[i], p, n) == 0))
			return i;
		h = (h + 1) & (v->nslot - 1);
	}
	if (v->n == v->ocap) {
		size_t nc = v->ocap ? v->ocap * 2 : 256;
		size_t *no = reallocarray(v->off, nc, sizeof(*no));
		size_t *nl;

		if (no == NULL)
			return -1;
		v->off = no;
		if ((nl = reallocarray(v->len, nc, sizeof(*nl))) == NULL)
			return -1;
		v->len = nl;
		v->ocap = nc;
	}
	fb_var(&v->data, n);
	v->off[v->n] = v->data.len;
	v->len[v->n] = n;
	fb_bytes(&v->data, p, n);
	if (v->data.oom)
		return -1;
	v->slot[h] = v->n + 1;
	return v->n++;
}

static void
vt_free(struct vtab *v)
{
	fb_free(&v->data);
	free(v->off);
	free(v->len);
	free(v->slot);
	memset(v, 0, sizeof(*v));
}

struct fenc {
	struct vtab vt;
	struct fbuf body;
	uint64_t nadd, ndel, nset, nent;
	struct zn_err *err;
	int rc; /* first error */
};

static int
enc_fail(struct fenc *e, int code, const char *why)
{
	if (e->rc == 0)
		e->rc = zn_err_set(e->err, code, "%s", why);
	return e->rc;
}

static void
enc_value(struct fenc *e, struct fbuf *b, const struct fent *x)
{
	int64_t i;

	fb_bytes(b, x->lo, x->lolen);
	if (x->alen > FD_VALUE_MAX) {
		enc_fail(e, EINVAL, "value too long for a feed file");
		return;
	}
	if ((i = vt_intern(&e->vt, x->ans, x->alen)) < 0) {
		enc_fail(e, ENOMEM, "out of memory");
		return;
	}
	fb_var(b, (uint64_t)i);
}

static void
enc_entry(struct fenc *e, struct fbuf *b, const struct fent *x)
{
	fb_str(b, x->key, x->klen);
	enc_value(e, b, x);
}

static void
enc_op(struct fenc *e, struct fbuf *b, int tag, const struct fent *o,
    const struct fent *n)
{
	const struct fent *k = n != NULL ? n : o;

	fb_u8(b, tag);
	fb_str(b, k->key, k->klen);
	if (o != NULL)
		enc_value(e, b, o);
	if (n != NULL)
		enc_value(e, b, n);
	e->nadd += tag == FOP_ADD;
	e->ndel += tag == FOP_DEL;
	e->nset += tag == FOP_SET;
}

/* The file: header (given), value table, dataset count, body. */
static int
enc_finish(struct fenc *e, struct fbuf *hdr, size_t nnodes, uint8_t **out,
    size_t *len)
{
	struct fbuf f = { 0 };

	if (e->rc != 0)
		return e->rc;
	if (hdr->oom || e->body.oom || e->vt.data.oom)
		return enc_fail(e, ENOMEM, "out of memory");
	fb_bytes(&f, hdr->p, hdr->len);
	fb_var(&f, e->vt.n);
	fb_bytes(&f, e->vt.data.p, e->vt.data.len);
	fb_var(&f, nnodes);
	fb_bytes(&f, e->body.p, e->body.len);
	if (f.oom) {
		fb_free(&f);
		return enc_fail(e, ENOMEM, "out of memory");
	}
	*out = f.p;
	*len = f.len;
	return 0;
}

static void
enc_free(struct fenc *e)
{
	vt_free(&e->vt);
	fb_free(&e->body);
}

/*
 * A dataset of any representation, for diffs: compiled (cds), a snapshot
 * node (f, fn) or a snapshot node patched by a delta node (df, dn).
 */
struct tnode {
	const uint8_t *spec;
	size_t speclen;
	const struct zn_dataset *params; /* subsets[i] give subzones */
	size_t nsub;
	const struct zn_dataset *cds;
	const struct ffile *f, *df;
	const struct fnode *fn, *dn;
};

static size_t
cds_nsub(const struct zn_dataset *ds)
{
	return ds->type == ZN_COMBINED ? ds->nsubsets : 0;
}

static void
tn_compiled(struct tnode *t, const char *spec, const struct zn_dataset *ds)
{
	memset(t, 0, sizeof(*t));
	t->spec = (const uint8_t *)spec;
	t->speclen = strlen(spec);
	t->params = ds;
	t->nsub = cds_nsub(ds);
	t->cds = ds;
}

static void
tn_file(struct tnode *t, const struct ffile *f, const struct fnode *fn,
    const struct ffile *df, const struct fnode *dn)
{
	memset(t, 0, sizeof(*t));
	t->spec = fn->spec;
	t->speclen = fn->speclen;
	t->params = dn != NULL ? dn->ds : fn->ds;
	t->nsub = fn->nsub;
	t->f = f;
	t->fn = fn;
	t->df = df;
	t->dn = dn;
}

static void
tn_child(const struct tnode *t, size_t i, struct tnode *c)
{
	if (t->cds != NULL)
		tn_compiled(c, "", t->cds->subsets[i].ds);
	else
		tn_file(c, t->f, &t->fn->sub[i], t->df,
		    t->dn != NULL ? &t->dn->sub[i] : NULL);
}

static void
tn_src(const struct tnode *t, struct esrc *s, struct zn_err *err)
{
	if (t->cds != NULL)
		esrc_compiled(s, t->cds);
	else if (t->dn != NULL)
		esrc_patched(s, t->f, t->fn, t->df, t->dn, err);
	else
		esrc_snap(s, t->f, t->fn, err);
	s->err = err;
}

static bool
tn_same_shape(const struct tnode *a, const struct tnode *b)
{
	struct tnode ca, cb;
	size_t i;

	if (a->speclen != b->speclen ||
	    memcmp(a->spec, b->spec, a->speclen) != 0 ||
	    a->params->type != b->params->type || a->nsub != b->nsub)
		return false;
	for (i = 0; i < a->nsub; i++) {
		tn_child(a, i, &ca);
		tn_child(b, i, &cb);
		if (!tn_same_shape(&ca, &cb))
			return false;
	}
	return true;
}

/* A snapshot node (and the zone digest's part of it) from any tnode. */
static int
enc_snap_node(struct fenc *e, struct fdigest *dg, const struct tnode *t)
{
	struct fbuf nb = { 0 };
	struct esrc s;
	struct fent x;
	uint8_t ed[ZN_DIGEST_LEN] = { 0 };
	const uint8_t *pk = NULL;
	size_t pkl = 0, i;
	uint64_t n = 0;
	int rc;

	tn_src(t, &s, e->err);
	while ((rc = esrc_next(&s, &x)) > 0) {
		if (pk != NULL && fd_keycmp(pk, pkl, x.key, x.klen) >= 0) {
			fb_free(&nb);
			return enc_fail(e, EINVAL, "entries out of order");
		}
		pk = x.key;
		pkl = x.klen;
		enc_entry(e, &nb, &x);
		fd_entry_digest(ed, &x, true);
		n++;
	}
	if (rc < 0) {
		fb_free(&nb);
		if (e->rc == 0)
			e->rc = rc;
		return rc;
	}
	fb_str(&e->body, t->spec, t->speclen);
	fd_params_encode(&e->body, t->params);
	fb_var(&e->body, n);
	fb_bytes(&e->body, nb.p, nb.len);
	if (nb.oom)
		enc_fail(e, ENOMEM, "out of memory");
	fb_free(&nb);
	fb_var(&e->body, t->nsub);
	e->nent += n;
	if (dg != NULL)
		fdg_node(dg, t->spec, t->speclen, t->params, n, ed, t->nsub);
	for (i = 0; i < t->nsub && e->rc == 0; i++) {
		struct tnode c;

		fd_subzones_encode(&e->body, &t->params->subsets[i]);
		if (dg != NULL)
			fdg_subset(dg, &t->params->subsets[i]);
		tn_child(t, i, &c);
		enc_snap_node(e, dg, &c);
	}
	return e->rc;
}

/* Snapshot of a tree of tnodes. */
static int
snap_encode(const char *zone, const struct tnode *t, size_t n, uint64_t serial,
    uint8_t **out, size_t *len, uint8_t *digest, uint64_t *nent,
    struct zn_err *err)
{
	struct fenc e = { .err = err };
	struct fdigest dg;
	struct fbuf hdr = { 0 };
	uint8_t d[ZN_DIGEST_LEN];
	size_t i;
	int rc;

	fdg_start(&dg, zone, n);
	for (i = 0; i < n && e.rc == 0; i++)
		enc_snap_node(&e, &dg, &t[i]);
	if ((rc = fdg_finish(&dg, d, err)) != 0 || (rc = e.rc) != 0)
		goto out;
	fb_bytes(&hdr, snap_magic, FD_MAGIC_LEN);
	fb_str(&hdr, zone, strlen(zone));
	fb_var(&hdr, serial);
	fb_var(&hdr, e.nent);
	fb_bytes(&hdr, d, ZN_DIGEST_LEN);
	if ((rc = enc_finish(&e, &hdr, n, out, len)) != 0)
		goto out;
	if (digest != NULL)
		memcpy(digest, d, ZN_DIGEST_LEN);
	if (nent != NULL)
		*nent = e.nent;
out:
	fb_free(&hdr);
	enc_free(&e);
	return rc;
}

/* Delta node a -> b (same shape), with b's part of the zone digest. */
static int
enc_diff_node(struct fenc *e, struct fdigest *dg, const struct tnode *a,
    const struct tnode *b)
{
	struct fbuf nb = { 0 };
	struct esrc sa, sb;
	struct fent xa, xb;
	uint8_t ed[ZN_DIGEST_LEN] = { 0 };
	uint64_t nops = 0, nb_ent = 0;
	int ra, rb;
	size_t i;

	tn_src(a, &sa, e->err);
	tn_src(b, &sb, e->err);
	ra = esrc_next(&sa, &xa);
	rb = esrc_next(&sb, &xb);
	while (ra > 0 || rb > 0) {
		int cmp;

		if (ra > 0 && rb > 0)
			cmp = fd_keycmp(xa.key, xa.klen, xb.key, xb.klen);
		else
			cmp = ra > 0 ? -1 : 1;
		if (cmp < 0) {
			enc_op(e, &nb, FOP_DEL, &xa, NULL);
			nops++;
			ra = esrc_next(&sa, &xa);
			continue;
		}
		fd_entry_digest(ed, &xb, true);
		nb_ent++;
		if (cmp > 0) {
			enc_op(e, &nb, FOP_ADD, NULL, &xb);
			nops++;
		} else {
			if (!fd_same_val(&xa, &xb)) {
				enc_op(e, &nb, FOP_SET, &xa, &xb);
				nops++;
			}
			ra = esrc_next(&sa, &xa);
		}
		rb = esrc_next(&sb, &xb);
	}
	if (ra < 0 || rb < 0) {
		fb_free(&nb);
		if (e->rc == 0)
			e->rc = ra < 0 ? ra : rb;
		return e->rc;
	}
	fb_str(&e->body, b->spec, b->speclen);
	fd_params_encode(&e->body, b->params);
	fb_var(&e->body, nops);
	fb_bytes(&e->body, nb.p, nb.len);
	if (nb.oom)
		enc_fail(e, ENOMEM, "out of memory");
	fb_free(&nb);
	fb_var(&e->body, b->nsub);
	e->nent += nb_ent;
	if (dg != NULL)
		fdg_node(dg, b->spec, b->speclen, b->params, nb_ent, ed,
		    b->nsub);
	for (i = 0; i < b->nsub && e->rc == 0; i++) {
		struct tnode ca, cb;

		fd_subzones_encode(&e->body, &b->params->subsets[i]);
		if (dg != NULL)
			fdg_subset(dg, &b->params->subsets[i]);
		tn_child(a, i, &ca);
		tn_child(b, i, &cb);
		enc_diff_node(e, dg, &ca, &cb);
	}
	return e->rc;
}

/*
 * Delta from tree a (serial sa, digest/entries known) to tree b (serial
 * sb).  -EXDEV when the shapes differ.
 */
static int
diff_encode(const char *zone, const struct tnode *a, size_t na, uint64_t sa,
    const uint8_t *adigest, uint64_t aent, const struct tnode *b, size_t nb,
    uint64_t sb, uint8_t **out, size_t *len, uint8_t *bdigest, uint64_t *bent,
    uint64_t *counts, struct zn_err *err)
{
	struct fenc e = { .err = err };
	struct fdigest dg;
	struct fbuf hdr = { 0 };
	uint8_t d[ZN_DIGEST_LEN];
	size_t i;
	int rc;

	if (na != nb)
		return zn_err_set(err, EXDEV, "the zone's datasets changed");
	for (i = 0; i < na; i++)
		if (!tn_same_shape(&a[i], &b[i]))
			return zn_err_set(err, EXDEV,
			    "the zone's datasets changed");
	if (sa >= sb)
		return zn_err_set(err, EINVAL, "delta does not go forward");
	fdg_start(&dg, zone, nb);
	for (i = 0; i < nb && e.rc == 0; i++)
		enc_diff_node(&e, &dg, &a[i], &b[i]);
	if ((rc = fdg_finish(&dg, d, err)) != 0 || (rc = e.rc) != 0)
		goto out;
	if (aent + e.nadd < e.ndel || aent + e.nadd - e.ndel != e.nent) {
		rc = zn_err_set(err, EINVAL,
		    "delta does not add up: the old version is not what its "
		    "digest says");
		goto out;
	}
	fb_bytes(&hdr, delta_magic, FD_MAGIC_LEN);
	fb_str(&hdr, zone, strlen(zone));
	fb_var(&hdr, sa);
	fb_var(&hdr, sb);
	fb_bytes(&hdr, adigest, ZN_DIGEST_LEN);
	fb_bytes(&hdr, d, ZN_DIGEST_LEN);
	fb_var(&hdr, aent);
	fb_var(&hdr, e.nent);
	if ((rc = enc_finish(&e, &hdr, nb, out, len)) != 0)
		goto out;
	if (bdigest != NULL)
		memcpy(bdigest, d, ZN_DIGEST_LEN);
	if (bent != NULL)
		*bent = e.nent;
	if (counts != NULL) {
		counts[0] = e.nadd;
		counts[1] = e.ndel;
		counts[2] = e.nset;
	}
out:
	fb_free(&hdr);
	enc_free(&e);
	return rc;
}

/* The tnodes of compiled content (n of them; free()). */
static struct tnode *
tn_content(const struct zn_feed_content *c, struct zn_err *err)
{
	struct tnode *t = calloc(c->n ? c->n : 1, sizeof(*t));
	size_t i;

	if (t == NULL) {
		zn_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < c->n; i++)
		tn_compiled(&t[i], c->spec[i], c->ds[i]);
	return t;
}

/* The tnodes of a snapshot, patched by a delta from it if d != NULL. */
static struct tnode *
tn_files(const struct ffile *s, const struct ffile *d, struct zn_err *err)
{
	struct tnode *t = calloc(s->nnode, sizeof(*t));
	size_t i;

	if (t == NULL) {
		zn_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < s->nnode; i++)
		tn_file(&t[i], s, &s->node[i], d, d ? &d->node[i] : NULL);
	return t;
}

static int
content_check(const struct zn_feed_content *c, struct zn_err *err)
{
	size_t i;

	if (!zn_feed_zone_ok(c->zone))
		return zn_err_set(err, EINVAL, "%s: not a usable zone name",
		    c->zone);
	if (c->n == 0 || c->n > 0xffff)
		return zn_err_set(err, EINVAL, "zone %s: no datasets", c->zone);
	for (i = 0; i < c->n; i++) {
		const char *t = zn_type_name(c->ds[i]->type);

		if (t == NULL || strncmp(c->spec[i], t, strlen(t)) != 0 ||
		    c->spec[i][strlen(t)] != ':' || strlen(c->spec[i]) < 2 ||
		    strlen(c->spec[i]) > ZN_KEY_MAX)
			return zn_err_set(err, EINVAL,
			    "zone %s: spec %s does not match its type", c->zone,
			    c->spec[i]);
	}
	return 0;
}

int
zn_feed_snapshot_encode(const struct zn_feed_content *c, uint64_t serial,
    uint8_t **out, size_t *len, struct zn_err *err)
{
	struct tnode *t;
	int rc;

	if ((rc = content_check(c, err)) != 0)
		return rc;
	if (serial == 0)
		return zn_err_set(err, EINVAL, "serial 0");
	if ((t = tn_content(c, err)) == NULL)
		return -ENOMEM;
	rc = snap_encode(c->zone, t, c->n, serial, out, len, NULL, NULL, err);
	free(t);
	return rc;
}

/* A node's part of the zone digest, children after it. */
static int
tn_digest(struct fdigest *dg, const struct tnode *t, uint64_t *total,
    struct zn_err *err)
{
	uint8_t ed[ZN_DIGEST_LEN] = { 0 };
	struct esrc s;
	struct fent e;
	uint64_t n = 0;
	size_t i;
	int rc;

	tn_src(t, &s, err);
	while ((rc = esrc_next(&s, &e)) > 0) {
		fd_entry_digest(ed, &e, true);
		n++;
	}
	if (rc < 0)
		return rc;
	fdg_node(dg, t->spec, t->speclen, t->params, n, ed, t->nsub);
	*total += n;
	for (i = 0; i < t->nsub; i++) {
		struct tnode c;

		fdg_subset(dg, &t->params->subsets[i]);
		tn_child(t, i, &c);
		if ((rc = tn_digest(dg, &c, total, err)) != 0)
			return rc;
	}
	return 0;
}

int
zn_feed_content_digest(const struct zn_feed_content *c,
    uint8_t digest[ZN_DIGEST_BYTES], uint64_t *entries, struct zn_err *err)
{
	struct fdigest dg;
	struct tnode *t;
	uint64_t total = 0;
	size_t i;
	int rc = 0;

	if ((rc = content_check(c, err)) != 0)
		return rc;
	if ((t = tn_content(c, err)) == NULL)
		return -ENOMEM;
	fdg_start(&dg, c->zone, c->n);
	for (i = 0; i < c->n && rc == 0; i++)
		rc = tn_digest(&dg, &t[i], &total, err);
	free(t);
	if (rc != 0) {
		fb_free(&dg.b);
		return rc;
	}
	if ((rc = fdg_finish(&dg, digest, err)) != 0)
		return rc;
	if (entries != NULL)
		*entries = total;
	return 0;
}

int
zn_feed_delta_encode(const struct zn_feed_content *a, uint64_t sa,
    const struct zn_feed_content *b, uint64_t sb, uint8_t **out, size_t *len,
    struct zn_err *err)
{
	struct tnode *ta = NULL, *tb = NULL;
	uint8_t ad[ZN_DIGEST_LEN];
	uint64_t aent;
	int rc;

	if ((rc = content_check(a, err)) != 0 ||
	    (rc = content_check(b, err)) != 0)
		return rc;
	if (strcmp(a->zone, b->zone) != 0)
		return zn_err_set(err, EINVAL, "delta between two zones");
	if ((rc = zn_feed_content_digest(a, ad, &aent, err)) != 0)
		return rc;
	if ((ta = tn_content(a, err)) == NULL ||
	    (tb = tn_content(b, err)) == NULL) {
		free(ta);
		return -ENOMEM;
	}
	rc = diff_encode(a->zone, ta, a->n, sa, ad, aent, tb, b->n, sb, out,
	    len, NULL, NULL, NULL, err);
	free(ta);
	free(tb);
	return rc;
}

/*
 * Composition: delta(a,b) then delta(b,c) is delta(a,c), key by key: the
 * old value from the first, the new from the second, nothing where they
 * are the same.
 */
static int
compose_node(struct fenc *e, const struct ffile *f1, const struct fnode *n1,
    const struct ffile *f2, const struct fnode *n2)
{
	struct fbuf nb = { 0 };
	struct frd r1 = { n1->body, n1->bodylen, 0, NULL, 0 };
	struct frd r2 = { n2->body, n2->bodylen, 0, NULL, 0 };
	uint64_t l1 = n1->n, l2 = n2->n, nops = 0;
	struct fop o1, o2;
	int a, b;
	size_t i;

	a = rd_op(&r1, f1, &l1, &o1);
	b = rd_op(&r2, f2, &l2, &o2);
	while (a > 0 || b > 0) {
		int cmp;
		const struct fent *old, *new, *mid1, *mid2;

		if (a > 0 && b > 0)
			cmp =
			    fd_keycmp(o1.o.key, o1.o.klen, o2.o.key, o2.o.klen);
		else
			cmp = a > 0 ? -1 : 1;
		if (cmp < 0) {
			enc_op(e, &nb, o1.tag, o1.tag != FOP_ADD ? &o1.o : NULL,
			    o1.tag != FOP_DEL ? &o1.n : NULL);
			nops++;
			a = rd_op(&r1, f1, &l1, &o1);
			continue;
		}
		if (cmp > 0) {
			enc_op(e, &nb, o2.tag, o2.tag != FOP_ADD ? &o2.o : NULL,
			    o2.tag != FOP_DEL ? &o2.n : NULL);
			nops++;
			b = rd_op(&r2, f2, &l2, &o2);
			continue;
		}
		old = o1.tag != FOP_ADD ? &o1.o : NULL;
		mid1 = o1.tag != FOP_DEL ? &o1.n : NULL;
		mid2 = o2.tag != FOP_ADD ? &o2.o : NULL;
		new = o2.tag != FOP_DEL ? &o2.n : NULL;
		if ((mid1 == NULL) != (mid2 == NULL) ||
		    (mid1 != NULL && !fd_same_val(mid1, mid2))) {
			fb_free(&nb);
			return enc_fail(e, EINVAL,
			    "the deltas do not chain (a key differs between "
			    "them)");
		}
		if (old == NULL && new != NULL)
			enc_op(e, &nb, FOP_ADD, NULL, new), nops++;
		else if (old != NULL && new == NULL)
			enc_op(e, &nb, FOP_DEL, old, NULL), nops++;
		else if (old != NULL && !fd_same_val(old, new))
			enc_op(e, &nb, FOP_SET, old, new), nops++;
		a = rd_op(&r1, f1, &l1, &o1);
		b = rd_op(&r2, f2, &l2, &o2);
	}
	if (a < 0 || b < 0) {
		fb_free(&nb);
		return enc_fail(e, EINVAL, "damaged delta");
	}
	fb_str(&e->body, n2->spec, n2->speclen);
	fd_params_encode(&e->body, n2->ds);
	fb_var(&e->body, nops);
	fb_bytes(&e->body, nb.p, nb.len);
	if (nb.oom)
		enc_fail(e, ENOMEM, "out of memory");
	fb_free(&nb);
	fb_var(&e->body, n2->nsub);
	for (i = 0; i < n2->nsub && e->rc == 0; i++) {
		fd_subzones_encode(&e->body, &n2->ds->subsets[i]);
		compose_node(e, f1, &n1->sub[i], f2, &n2->sub[i]);
	}
	return e->rc;
}

static bool
fn_same_shape(const struct fnode *a, const struct fnode *b)
{
	size_t i;

	if (a->speclen != b->speclen ||
	    memcmp(a->spec, b->spec, a->speclen) != 0 ||
	    a->ds->type != b->ds->type || a->nsub != b->nsub)
		return false;
	for (i = 0; i < a->nsub; i++)
		if (!fn_same_shape(&a->sub[i], &b->sub[i]))
			return false;
	return true;
}

static int
compose_files(const struct ffile *f1, const struct ffile *f2, uint8_t **out,
    size_t *len, struct zn_err *err)
{
	struct fenc e = { .err = err };
	struct fbuf hdr = { 0 };
	size_t i;
	int rc;

	if (!f1->delta || !f2->delta)
		return zn_err_set(err, EINVAL, "composing a snapshot");
	if (strcmp(f1->zone, f2->zone) != 0 || f1->to != f2->from ||
	    memcmp(f1->digest, f2->from_digest, ZN_DIGEST_LEN) != 0 ||
	    f1->entries != f2->from_entries)
		return zn_err_set(err, EINVAL,
		    "the deltas do not chain (%llu-%llu then %llu-%llu)",
		    (unsigned long long)f1->from, (unsigned long long)f1->to,
		    (unsigned long long)f2->from, (unsigned long long)f2->to);
	if (f1->nnode != f2->nnode)
		return zn_err_set(err, EXDEV, "the zone's datasets changed");
	for (i = 0; i < f1->nnode; i++)
		if (!fn_same_shape(&f1->node[i], &f2->node[i]))
			return zn_err_set(err, EXDEV,
			    "the zone's datasets changed");
	for (i = 0; i < f2->nnode && e.rc == 0; i++)
		compose_node(&e, f1, &f1->node[i], f2, &f2->node[i]);
	if ((rc = e.rc) != 0)
		goto out;
	fb_bytes(&hdr, delta_magic, FD_MAGIC_LEN);
	fb_str(&hdr, f2->zone, strlen(f2->zone));
	fb_var(&hdr, f1->from);
	fb_var(&hdr, f2->to);
	fb_bytes(&hdr, f1->from_digest, ZN_DIGEST_LEN);
	fb_bytes(&hdr, f2->digest, ZN_DIGEST_LEN);
	fb_var(&hdr, f1->from_entries);
	fb_var(&hdr, f2->entries);
	rc = enc_finish(&e, &hdr, f2->nnode, out, len);
out:
	fb_free(&hdr);
	enc_free(&e);
	return rc;
}

int
zn_feed_delta_compose(const uint8_t *d1, size_t l1, const uint8_t *d2,
    size_t l2, uint8_t **out, size_t *len, struct zn_err *err)
{
	struct ffile f1, f2;
	int rc;

	if ((rc = ffile_decode(d1, l1, "first delta", &f1, err)) != 0)
		return rc;
	if ((rc = ffile_decode(d2, l2, "second delta", &f2, err)) != 0) {
		ffile_cleanup(&f1);
		return rc;
	}
	rc = compose_files(&f1, &f2, out, len, err);
	ffile_cleanup(&f1);
	ffile_cleanup(&f2);
	return rc;
}

/* The zone digest of a snapshot's content, patched by d if not NULL. */
static int
files_digest(const struct ffile *s, const struct ffile *d, uint8_t *digest,
    uint64_t *nent, struct zn_err *err)
{
	struct fdigest dg;
	struct tnode *t;
	uint64_t total = 0;
	size_t i;
	int rc = 0;

	if ((t = tn_files(s, d, err)) == NULL)
		return -ENOMEM;
	fdg_start(&dg, s->zone, s->nnode);
	for (i = 0; i < s->nnode && rc == 0; i++)
		rc = tn_digest(&dg, &t[i], &total, err);
	free(t);
	if (rc != 0) {
		fb_free(&dg.b);
		return rc;
	}
	if ((rc = fdg_finish(&dg, digest, err)) != 0)
		return rc;
	*nent = total;
	return 0;
}

int
zn_feed_file_check(const uint8_t *buf, size_t len, const char *name,
    struct zn_feed_info *info, struct zn_err *err)
{
	struct ffile f;
	uint8_t d[ZN_DIGEST_LEN];
	uint64_t n = 0;
	int rc;

	if ((rc = ffile_decode(buf, len, name, &f, err)) != 0)
		return rc;
	if (!f.delta) {
		if ((rc = files_digest(&f, NULL, d, &n, err)) != 0)
			goto out;
		if (memcmp(d, f.digest, ZN_DIGEST_LEN) != 0) {
			rc = zn_err_set(err, EINVAL,
			    "%s: content does not match its digest", name);
			goto out;
		}
	}
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		info->delta = f.delta;
		memcpy(info->zone, f.zone, sizeof(info->zone));
		info->from = f.from;
		info->to = f.to;
		memcpy(info->from_digest, f.from_digest, ZN_DIGEST_LEN);
		memcpy(info->digest, f.digest, ZN_DIGEST_LEN);
		info->from_entries = f.from_entries;
		info->entries = f.entries;
		info->ops_add = f.nadd;
		info->ops_del = f.ndel;
		info->ops_set = f.nset;
		info->ndatasets = f.nnode;
		info->nvalues = f.nval;
	}
out:
	ffile_cleanup(&f);
	return rc;
}

/* Internal entry points for the publisher and the verifier. */
int
fd_snap_from_files(const struct ffile *s, const struct ffile *d,
    uint8_t *digest, uint64_t *nent, struct zn_err *err)
{
	return files_digest(s, d, digest, nent, err);
}

int
fd_diff_files_content(const struct ffile *s, const struct ffile *d, uint64_t sa,
    const uint8_t *adigest, uint64_t aent, const struct zn_feed_content *c,
    uint64_t sb, uint8_t **out, size_t *len, uint8_t *bdigest, uint64_t *bent,
    uint64_t *counts, struct zn_err *err)
{
	struct tnode *ta, *tb;
	int rc;

	if ((rc = content_check(c, err)) != 0)
		return rc;
	if ((ta = tn_files(s, d, err)) == NULL)
		return -ENOMEM;
	if ((tb = tn_content(c, err)) == NULL) {
		free(ta);
		return -ENOMEM;
	}
	rc = diff_encode(c->zone, ta, s->nnode, sa, adigest, aent, tb, c->n, sb,
	    out, len, bdigest, bent, counts, err);
	free(ta);
	free(tb);
	return rc;
}

int
fd_compose_files(const struct ffile *f1, const struct ffile *f2, uint8_t **out,
    size_t *len, struct zn_err *err)
{
	return compose_files(f1, f2, out, len, err);
}

int
fd_snap_encode_content(const struct zn_feed_content *c, uint64_t serial,
    uint8_t **out, size_t *len, uint8_t *digest, uint64_t *nent,
    struct zn_err *err)
{
	struct tnode *t;
	int rc;

	if ((rc = content_check(c, err)) != 0)
		return rc;
	if ((t = tn_content(c, err)) == NULL)
		return -ENOMEM;
	rc = snap_encode(c->zone, t, c->n, serial, out, len, digest, nent, err);
	free(t);
	return rc;
}

/*
 * Files.
 */
int
fd_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
    struct zn_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return zn_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		return zn_err_set(err, e, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return zn_err_set(err, EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return zn_err_set(err, EFBIG, "%s: %lld bytes, more than %zu",
		    path, (long long)st.st_size, max);
	}
	if ((buf = malloc(st.st_size ? st.st_size : 1)) == NULL) {
		close(fd);
		return zn_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, st.st_size - off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r == 0 ? EIO : errno;
			free(buf);
			close(fd);
			return zn_err_set(err, e, "%s: %s", path,
			    r == 0 ? "file shrank while read" : strerror(e));
		}
		off += r;
	}
	close(fd);
	*out = buf;
	*len = off;
	return 0;
}

int
fd_fsync_dir(const char *dir, struct zn_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

	if (fd == -1)
		return zn_err_set(err, errno, "%s: %s", dir, strerror(errno));
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		return zn_err_set(err, e, "%s: fsync: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

int
fd_write_atomic(const char *dir, const char *name, const void *data, size_t len,
    struct zn_err *err)
{
	char path[4096], tmp[4096], sub[4096];
	const char *slash = strrchr(name, '/');
	const uint8_t *p = data;
	size_t off = 0;
	int fd, e;

	if (slash != NULL)
		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - name),
		    name);
	else
		snprintf(sub, sizeof(sub), "%s", dir);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	        sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp.%s.%ld", sub,
	        slash ? slash + 1 : name, (long)getpid()) >= sizeof(tmp))
		return zn_err_set(err, ENAMETOOLONG, "%s/%s: name too long",
		    dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1)
		return zn_err_set(err, errno, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w == 0 ? EIO : errno;
			goto fail;
		}
		off += w;
	}
	if (fsync(fd) == -1) {
		e = errno;
		goto fail;
	}
	if (close(fd) == -1) {
		e = errno;
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		e = errno;
		goto fail;
	}
	return fd_fsync_dir(sub, err);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return zn_err_set(err, e, "%s: %s", path, strerror(e));
}
