/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The LMDB side of libzones: opening the environment, the record formats
 * in "meta", interning values and writing datasets as diffs in one
 * transaction.  The layout is drawn in zones.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db_int.h"

int
zn_mdb_errno(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_DBS_FULL:
	case MDB_PAGE_FULL:
	case MDB_CURSOR_FULL:
		return -ENOSPC;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_MAP_RESIZED:
		return -ESTALE;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return -EIO;
	case MDB_BAD_VALSIZE:
	case MDB_BAD_DBI:
	case MDB_INCOMPATIBLE:
		return -EINVAL;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static int
mdb_fail(struct zn_err *err, int rc, const char *what)
{
	int e = zn_mdb_errno(rc);

	if (rc == MDB_MAP_FULL)
		return zn_err_set(err, -e,
		    "%s: database full (LMDB map size reached): %s", what,
		    mdb_strerror(rc));
	return zn_err_set(err, -e, "%s: %s", what, mdb_strerror(rc));
}

int
zn_db_open(const char *dir, unsigned flags, size_t mapsize, struct zn_db **out,
    struct zn_err *err)
{
	struct zn_db *db;
	MDB_txn *txn;
	unsigned eflags = MDB_NOTLS;
	unsigned dflags = (flags & ZN_DB_RDONLY) ? 0 : MDB_CREATE;
	int rc;

	if (!(flags & ZN_DB_RDONLY)) {
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return zn_err_set(err, errno, "%s: %s", dir,
			    strerror(errno));
	} else
		eflags |= MDB_RDONLY;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return zn_err_set(err, ENOMEM, "%s: out of memory", dir);
	db->flags = flags;
	if ((rc = mdb_env_create(&db->env)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out_free;
	}
	mdb_env_set_maxdbs(db->env, ZN_MAXDBS);
	mdb_env_set_maxreaders(db->env, 1024);
	if (!(flags & ZN_DB_RDONLY) || mapsize != 0)
		mdb_env_set_mapsize(db->env,
		    mapsize ? mapsize : ZN_DB_MAPSIZE_DEFAULT);
	if ((rc = mdb_env_open(db->env, dir, eflags, 0644)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out_close;
	}
	if ((rc = mdb_txn_begin(db->env, NULL, eflags & MDB_RDONLY, &txn)) !=
	    0) {
		rc = mdb_fail(err, rc, dir);
		goto out_close;
	}
	if ((rc = mdb_dbi_open(txn, "meta", dflags, &db->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "values", dflags, &db->values)) != 0 ||
	    (rc = mdb_dbi_open(txn, "valhash", dflags, &db->valhash)) != 0) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			rc = zn_err_set(err, ENOENT, "%s: not a zone database",
			    dir);
		else
			rc = mdb_fail(err, rc, dir);
		goto out_close;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out_close;
	}
	pthread_mutex_init(&db->dbi_lock, NULL);
	*out = db;
	return 0;

out_close:
	mdb_env_close(db->env);
out_free:
	free(db);
	return rc;
}

void
zn_db_close(struct zn_db *db)
{
	if (db == NULL)
		return;
	mdb_env_close(db->env);
	pthread_mutex_destroy(&db->dbi_lock);
	free(db);
}

/*
 * The order of canonical keys is memcmp, shorter first.  This comparator
 * gives exactly that order (so mdb_dump and friends still read the file)
 * but compares the common IPv4 key, kind byte + 4 address bytes, with two
 * loads instead of a memcmp call: it is the inner loop of every IP lookup.
 */
static int
key_cmp(const MDB_val *a, const MDB_val *b)
{
	const uint8_t *x = a->mv_data, *y = b->mv_data;
	size_t n;
	int c;

	if (a->mv_size == 5 && b->mv_size == 5 && x[0] == y[0]) {
		uint32_t u = zn_get32(x + 1), v = zn_get32(y + 1);

		return u < v ? -1 : u > v;
	}
	n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	if ((c = memcmp(x, y, n)) != 0)
		return c;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

int
zn_ds_dbi(MDB_txn *txn, uint32_t id, bool create, MDB_dbi *dbi)
{
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "ds.%u", id);
	rc = mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, dbi);
	if (rc == 0)
		rc = mdb_set_compare(txn, *dbi, key_cmp);
	return zn_mdb_errno(rc);
}

/*
 * Record encoding: a growable byte buffer written with put_* and read back
 * with a bounds-checked cursor.  Strings are u16 length + bytes, 0xffff
 * for NULL.
 */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void
put_bytes(struct wbuf *b, const void *v, size_t n)
{
	if (b->oom)
		return;
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

static void
put_u8(struct wbuf *b, uint8_t v)
{
	put_bytes(b, &v, 1);
}

static void
put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4];

	zn_put32(x, v);
	put_bytes(b, x, 4);
}

static void
put_u64(struct wbuf *b, uint64_t v)
{
	put_u32(b, v >> 32);
	put_u32(b, (uint32_t)v);
}

static void
put_str(struct wbuf *b, const char *s)
{
	size_t n;
	uint8_t x[2];

	if (s == NULL) {
		x[0] = x[1] = 0xff;
		put_bytes(b, x, 2);
		return;
	}
	n = strlen(s);
	if (n > 0xfffe)
		n = 0xfffe;
	x[0] = n >> 8;
	x[1] = n;
	put_bytes(b, x, 2);
	put_bytes(b, s, n);
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
	bool nomem; /* bad because an allocation failed */
};

static const uint8_t *
get_bytes(struct rbuf *b, size_t n)
{
	const uint8_t *r;

	if (b->bad || b->len - b->off < n) {
		b->bad = true;
		return NULL;
	}
	r = b->p + b->off;
	b->off += n;
	return r;
}

static uint8_t
get_u8(struct rbuf *b)
{
	const uint8_t *p = get_bytes(b, 1);

	return p ? p[0] : 0;
}

static uint32_t
get_u32(struct rbuf *b)
{
	const uint8_t *p = get_bytes(b, 4);

	return p ? zn_get32(p) : 0;
}

static uint64_t
get_u64(struct rbuf *b)
{
	uint64_t hi = get_u32(b);

	return hi << 32 | get_u32(b);
}

/* A malloc'ed copy of the string, NULL for a NULL string (check b->bad). */
static char *
get_str(struct rbuf *b)
{
	const uint8_t *p = get_bytes(b, 2);
	size_t n;
	char *s;

	if (p == NULL || (p[0] == 0xff && p[1] == 0xff))
		return NULL;
	n = (size_t)p[0] << 8 | p[1];
	if ((p = get_bytes(b, n)) == NULL)
		return NULL;
	if ((s = malloc(n + 1)) == NULL) {
		b->bad = b->nomem = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
get_name(struct rbuf *b, char *dst, size_t size)
{
	char *s = get_str(b);

	dst[0] = '\0';
	if (s != NULL) {
		snprintf(dst, size, "%s", s);
		free(s);
	}
}

static void
encode_params(struct wbuf *b, const struct zn_dataset *ds)
{
	size_t i;

	put_u8(b, ds->type);
	put_str(b, ds->label);
	put_u32(b, ds->ttl);
	put_u8(b, ds->has_soa);
	if (ds->has_soa) {
		put_u32(b, ds->soa.ttl);
		put_str(b, ds->soa.mname);
		put_str(b, ds->soa.rname);
		put_u32(b, ds->soa.serial);
		put_u32(b, ds->soa.refresh);
		put_u32(b, ds->soa.retry);
		put_u32(b, ds->soa.expire);
		put_u32(b, ds->soa.minimum);
	}
	put_u32(b, ds->ns_ttl);
	put_u8(b, ds->nns);
	for (i = 0; i < ds->nns; i++)
		put_str(b, ds->ns[i]);
	for (i = 0; i < 10; i++)
		put_str(b, ds->vars[i]);
	put_str(b, ds->base);
	put_u64(b, ds->ts_created);
	put_u64(b, ds->ts_expires);
	put_u64(b, ds->mtime);
	put_u64(b, ds->nent);
	put_u64(b, ds->nsource);
	put_u64(b, ds->nskipped);
	put_u64(b, ds->nlines);
}

static struct zn_dataset *
decode_params(struct rbuf *b, uint64_t *nent)
{
	struct zn_dataset *ds;
	size_t i;

	if ((ds = calloc(1, sizeof(*ds))) == NULL) {
		b->bad = b->nomem = true;
		return NULL;
	}
	ds->type = get_u8(b);
	if (ds->type >= ZN_NTYPES)
		b->bad = true;
	ds->label = get_str(b);
	ds->ttl = get_u32(b);
	ds->has_soa = get_u8(b);
	if (ds->has_soa) {
		ds->soa.ttl = get_u32(b);
		get_name(b, ds->soa.mname, sizeof(ds->soa.mname));
		get_name(b, ds->soa.rname, sizeof(ds->soa.rname));
		ds->soa.serial = get_u32(b);
		ds->soa.refresh = get_u32(b);
		ds->soa.retry = get_u32(b);
		ds->soa.expire = get_u32(b);
		ds->soa.minimum = get_u32(b);
	}
	ds->ns_ttl = get_u32(b);
	ds->nns = get_u8(b);
	if (ds->nns > ZN_NS_MAX) {
		b->bad = true;
		ds->nns = 0;
	}
	for (i = 0; i < ds->nns; i++)
		ds->ns[i] = get_str(b);
	for (i = 0; i < 10; i++)
		ds->vars[i] = get_str(b);
	ds->base = get_str(b);
	ds->ts_created = (int64_t)get_u64(b);
	ds->ts_expires = (int64_t)get_u64(b);
	ds->mtime = (int64_t)get_u64(b);
	*nent = get_u64(b);
	ds->nsource = get_u64(b);
	ds->nskipped = get_u64(b);
	ds->nlines = get_u64(b);
	return ds;
}

static uint8_t *
dkey(uint8_t *k, uint32_t id)
{
	k[0] = 'D';
	zn_put32(k + 1, id);
	return k;
}

void
zn_dsrec_cleanup(struct zn_dsrec *rec)
{
	size_t i;

	zn_dataset_free(rec->ds);
	free(rec->child);
	free(rec->spec);
	for (i = 0; rec->paths != NULL && i < rec->nids; i++)
		free(rec->paths[i]);
	free(rec->paths);
	free(rec->ids);
	memset(rec, 0, sizeof(*rec));
}

/*
 * The identities of the source files, after the spec string.  Records
 * written before they existed end at the spec string: no identities.
 */
static void
decode_ids(struct rbuf *b, struct zn_dsrec *rec)
{
	size_t n, i;

	if (b->bad || b->off == b->len)
		return;
	n = get_u32(b);
	if (n > 65536)
		b->bad = true;
	if (n == 0 || b->bad)
		return;
	rec->paths = calloc(n, sizeof(*rec->paths));
	rec->ids = calloc(n, sizeof(*rec->ids));
	if (rec->paths == NULL || rec->ids == NULL) {
		b->bad = b->nomem = true;
		return;
	}
	for (i = 0; i < n && !b->bad; i++) {
		rec->nids = i + 1;
		if ((rec->paths[i] = get_str(b)) == NULL)
			b->bad = true;
		rec->ids[i].size = (int64_t)get_u64(b);
		rec->ids[i].mtime_ns = (int64_t)get_u64(b);
		rec->ids[i].ino = get_u64(b);
		rec->ids[i].dev = get_u64(b);
	}
}

int
zn_dsrec_get(MDB_txn *txn, const struct zn_db *db, uint32_t id,
    struct zn_dsrec *rec, struct zn_err *err)
{
	uint8_t k[5];
	MDB_val key = { 5, dkey(k, id) }, val;
	struct rbuf b;
	const uint8_t *d;
	size_t i, j, n;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = mdb_get(txn, db->meta, &key, &val)) != 0)
		return mdb_fail(err, rc, "dataset record");
	b = (struct rbuf){ val.mv_data, val.mv_size, 0, false, false };
	if (get_u8(&b) != ZN_RECORD_VERSION)
		return zn_err_set(err, EIO,
		    "dataset %u: unknown record version", id);
	rec->ds = decode_params(&b, &rec->nent);
	if ((d = get_bytes(&b, ZN_DIGEST_LEN)) != NULL)
		memcpy(rec->digest, d, ZN_DIGEST_LEN);
	n = get_u8(&b);
	for (i = 0; i < n && !b.bad; i++) {
		uint8_t depth = get_u8(&b);
		uint32_t cnt = get_u32(&b);

		if (depth >= ZN_LABELS_MAX)
			b.bad = true;
		else
			rec->wild[depth] = cnt;
	}
	n = get_u32(&b);
	if (n > 65536)
		b.bad = true;
	if (!b.bad && n > 0 && rec->ds != NULL) {
		rec->child = calloc(n, sizeof(*rec->child));
		rec->ds->subsets = calloc(n, sizeof(*rec->ds->subsets));
		if (rec->child == NULL || rec->ds->subsets == NULL)
			b.bad = b.nomem = true;
	}
	for (i = 0; i < n && !b.bad; i++) {
		struct zn_subset *s = &rec->ds->subsets[i];
		size_t ns;

		rec->child[i] = get_u32(&b);
		rec->nchild = rec->ds->nsubsets = i + 1;
		ns = (size_t)get_u8(&b) << 8;
		ns |= get_u8(&b);
		if (ns == 0 || b.bad) {
			b.bad = true;
			break;
		}
		if ((s->subzones = calloc(ns, sizeof(char *))) == NULL) {
			b.bad = b.nomem = true;
			break;
		}
		s->nsub = ns;
		for (j = 0; j < ns; j++) {
			s->subzones[j] = get_str(&b);
			if (s->subzones[j] == NULL)
				b.bad = true;
		}
		if ((s->ds = calloc(1, sizeof(*s->ds))) == NULL)
			b.bad = b.nomem = true;
	}
	rec->spec = get_str(&b);
	decode_ids(&b, rec);
	if (b.bad || rec->ds == NULL) {
		zn_dsrec_cleanup(rec);
		if (b.nomem)
			return zn_err_set(err, ENOMEM,
			    "dataset %u: out of memory", id);
		return zn_err_set(err, EIO, "dataset %u: damaged record", id);
	}
	return 0;
}

/*
 * Interning.  A small in-memory table in front of "valhash" keeps the
 * common case (millions of entries sharing a few values) to one memcmp.
 */
#define INTERN_SLOTS 4096

struct intern_slot {
	uint8_t *blob;
	size_t len;
	uint32_t id;
};

struct writer {
	MDB_txn *txn;
	struct zn_db *db;
	struct zn_err *err;
	struct zn_write_stats *st;
	uint32_t next_val;
	uint32_t next_id;
	bool changed; /* something differed from what was stored */
	struct intern_slot slot[INTERN_SLOTS];
};

static uint64_t
fnv64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

static int
intern(struct writer *w, const uint8_t *blob, size_t len, uint32_t *id)
{
	struct intern_slot *s = &w->slot[fnv64(blob, len) % INTERN_SLOTS];
	uint8_t h[16], idb[4];
	MDB_val key = { sizeof(h), h }, val;
	int rc;

	if (s->blob != NULL && s->len == len &&
	    memcmp(s->blob, blob, len) == 0) {
		*id = s->id;
		return 0;
	}
	crypto_generichash(h, sizeof(h), blob, len, NULL, 0);
	rc = mdb_get(w->txn, w->db->valhash, &key, &val);
	if (rc == 0 && val.mv_size == 4) {
		*id = zn_get32(val.mv_data);
	} else if (rc == MDB_NOTFOUND) {
		*id = w->next_val++;
		zn_put32(idb, *id);
		val = (MDB_val){ 4, idb };
		if ((rc = mdb_put(w->txn, w->db->valhash, &key, &val, 0)) != 0)
			return mdb_fail(w->err, rc, "value table");
		key = (MDB_val){ 4, idb };
		val = (MDB_val){ len, (void *)(uintptr_t)blob };
		if ((rc = mdb_put(w->txn, w->db->values, &key, &val, 0)) != 0)
			return mdb_fail(w->err, rc, "value table");
		w->changed = true;
	} else
		return mdb_fail(w->err, rc ? rc : MDB_CORRUPTED, "value table");
	free(s->blob);
	if ((s->blob = malloc(len ? len : 1)) != NULL) {
		memcpy(s->blob, blob, len);
		s->len = len;
		s->id = *id;
	}
	return 0;
}

/* Put key -> val in meta unless it is stored so already; an LMDB code. */
static int
meta_put_changed(struct writer *w, MDB_val *key, MDB_val *val)
{
	MDB_val old;
	int rc = mdb_get(w->txn, w->db->meta, key, &old);

	if (rc == 0 && old.mv_size == val->mv_size &&
	    memcmp(old.mv_data, val->mv_data, val->mv_size) == 0)
		return 0;
	if ((rc = mdb_put(w->txn, w->db->meta, key, val, 0)) == 0)
		w->changed = true;
	return rc;
}

/* Write the record of dataset id unless the stored one is the same. */
static int
dsrec_put(struct writer *w, uint32_t id, const struct zn_dataset *ds,
    const struct zn_dsrec *rec)
{
	struct wbuf b = { 0 };
	uint8_t k[5];
	MDB_val key = { 5, dkey(k, id) }, val;
	size_t i, j, nw = 0;
	int rc;

	put_u8(&b, ZN_RECORD_VERSION);
	encode_params(&b, ds);
	put_bytes(&b, rec->digest, ZN_DIGEST_LEN);
	for (i = 0; i < ZN_LABELS_MAX; i++)
		nw += rec->wild[i] != 0;
	put_u8(&b, nw);
	for (i = 0; i < ZN_LABELS_MAX; i++)
		if (rec->wild[i] != 0) {
			put_u8(&b, i);
			put_u32(&b, rec->wild[i]);
		}
	put_u32(&b, ds->type == ZN_COMBINED ? ds->nsubsets : 0);
	for (i = 0; ds->type == ZN_COMBINED && i < ds->nsubsets; i++) {
		const struct zn_subset *s = &ds->subsets[i];

		put_u32(&b, rec->child[i]);
		put_u8(&b, s->nsub >> 8);
		put_u8(&b, s->nsub);
		for (j = 0; j < s->nsub; j++)
			put_str(&b, s->subzones[j]);
	}
	put_str(&b, rec->spec);
	if (rec->nids > 0) {
		put_u32(&b, rec->nids);
		for (i = 0; i < rec->nids; i++) {
			put_str(&b, rec->paths[i]);
			put_u64(&b, rec->ids[i].size);
			put_u64(&b, rec->ids[i].mtime_ns);
			put_u64(&b, rec->ids[i].ino);
			put_u64(&b, rec->ids[i].dev);
		}
	}
	if (b.oom) {
		free(b.p);
		return zn_err_set(w->err, ENOMEM,
		    "dataset record: out of memory");
	}
	val = (MDB_val){ b.len, b.p };
	rc = meta_put_changed(w, &key, &val);
	free(b.p);
	return rc != 0 ? mdb_fail(w->err, rc, "dataset record") : 0;
}

/* The interned blob of value id (points into the map). */
static int
value_get(MDB_txn *txn, const struct zn_db *db, uint32_t id, MDB_val *out)
{
	uint8_t k[4];
	MDB_val key = { 4, k };

	zn_put32(k, id);
	return mdb_get(txn, db->values, &key, out);
}

/*
 * Digest: the lane-wise sum (mod 2^64) of BLAKE2b-256(key-length, key,
 * blob) over all entries, so adding or removing an entry updates it in
 * O(1) and a diff is verified in O(diff).
 */
static void
digest_entry(uint8_t *digest, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add)
{
	crypto_generichash_state st;
	uint8_t h[ZN_DIGEST_LEN], kl[2] = { klen >> 8, klen };
	size_t i, j;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, kl, 2);
	crypto_generichash_update(&st, key, klen);
	crypto_generichash_update(&st, lo, lolen);
	crypto_generichash_update(&st, ans, alen);
	crypto_generichash_final(&st, h, sizeof(h));
	for (i = 0; i < ZN_DIGEST_LEN; i += 8) {
		uint64_t a = 0, b = 0, r;

		for (j = 0; j < 8; j++) {
			a = a << 8 | digest[i + j];
			b = b << 8 | h[i + j];
		}
		r = add ? a + b : a - b;
		for (j = 8; j-- > 0; r >>= 8)
			digest[i + j] = (uint8_t)r;
	}
}

/* Wildcard depth of a name key (labels in revname), or -1. */
static int
wild_depth(const uint8_t *key, size_t klen)
{
	size_t i;
	int n = 0;

	if (klen < 2 || key[0] != ZN_KEY_NAME || key[klen - 1] != ZN_NAME_WILD)
		return -1;
	for (i = 1; i < klen - 1; i++)
		n += key[i] == 0;
	return n < ZN_LABELS_MAX ? n : -1;
}

static void
account(struct zn_dsrec *rec, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add)
{
	int d = wild_depth(key, klen);

	digest_entry(rec->digest, key, klen, lo, lolen, ans, alen, add);
	if (d >= 0)
		rec->wild[d] += add ? 1 : -1;
}

/* The stored form of a canonical entry: lo prefix + interned id. */
static int
entry_val(struct writer *w, const struct zn_entry *e, uint8_t *buf, size_t *len)
{
	size_t lo = zn_lo_len(e->key[0]);
	uint32_t id = 0;
	int rc;

	if (e->blen < lo)
		return zn_err_set(w->err, EINVAL, "entry with a short value");
	if ((rc = intern(w, e->blob + lo, e->blen - lo, &id)) != 0)
		return rc;
	memcpy(buf, e->blob, lo);
	zn_put32(buf + lo, id);
	*len = lo + 4;
	return 0;
}

/* Remove the stored entry (key, val) from the digest. */
static int
unaccount_stored(struct writer *w, struct zn_dsrec *rec, const MDB_val *key,
    const MDB_val *val)
{
	const uint8_t *k = key->mv_data, *v = val->mv_data;
	size_t lo;
	MDB_val blob;
	int rc;

	if (key->mv_size == 0)
		return zn_err_set(w->err, EIO, "damaged entry");
	lo = zn_lo_len(k[0]);
	if (val->mv_size != lo + 4)
		return zn_err_set(w->err, EIO, "damaged entry");
	if ((rc = value_get(w->txn, w->db, zn_get32(v + lo), &blob)) != 0)
		return mdb_fail(w->err, rc, "value table");
	account(rec, k, key->mv_size, v, lo, blob.mv_data, blob.mv_size, false);
	return 0;
}

/*
 * Write the entries of ds into dbi as the diff against what dbi holds
 * (a merge-join of two sorted sequences), updating rec's digest.
 */
static int
write_entries(struct writer *w, MDB_dbi dbi, const struct zn_dataset *ds,
    struct zn_dsrec *rec, bool fresh)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t vbuf[16 + 4];
	size_t i = 0, vlen = 0;
	int rc, orc;

	if ((rc = mdb_cursor_open(w->txn, dbi, &c)) != 0)
		return mdb_fail(w->err, rc, "dataset");
	orc = fresh ? MDB_NOTFOUND : mdb_cursor_get(c, &key, &val, MDB_FIRST);
	while (i < ds->nent || orc == 0) {
		const struct zn_entry *e = i < ds->nent ? &ds->ent[i] : NULL;
		int cmp;

		if (orc != 0 && orc != MDB_NOTFOUND) {
			rc = mdb_fail(w->err, orc, "dataset");
			goto out;
		}
		if (e == NULL)
			cmp = 1;
		else if (orc != 0)
			cmp = -1;
		else {
			size_t m =
			    e->klen < key.mv_size ? e->klen : key.mv_size;

			cmp = memcmp(e->key, key.mv_data, m);
			if (cmp == 0)
				cmp = e->klen < key.mv_size ? -1 :
				    e->klen > key.mv_size   ? 1 :
				                              0;
		}
		if (cmp > 0) {
			/* stored entry no longer present: delete, then seek
			 * to what follows it (a copy: the page changes) */
			uint8_t kc[ZN_KEY_MAX];
			MDB_val sk = { key.mv_size, kc };

			if (key.mv_size > sizeof(kc)) {
				rc = zn_err_set(w->err, EIO, "damaged entry");
				goto out;
			}
			memcpy(kc, key.mv_data, key.mv_size);
			if ((rc = unaccount_stored(w, rec, &key, &val)) != 0)
				goto out;
			if ((rc = mdb_cursor_del(c, 0)) != 0) {
				rc = mdb_fail(w->err, rc, "dataset");
				goto out;
			}
			w->st->dels++;
			key = sk;
			orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
			continue;
		}
		if ((rc = entry_val(w, e, vbuf, &vlen)) != 0)
			goto out;
		if (cmp == 0 && val.mv_size == vlen &&
		    memcmp(val.mv_data, vbuf, vlen) == 0) {
			i++;
			orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
			continue;
		}
		if (cmp == 0 && (rc = unaccount_stored(w, rec, &key, &val)))
			goto out;
		{
			MDB_val nk = { e->klen, e->key }, nv = { vlen, vbuf };
			size_t lo = zn_lo_len(e->key[0]);

			if (e->klen == 0 || e->klen > ZN_KEY_MAX) {
				rc = zn_err_set(w->err, EINVAL,
				    "entry key of %u bytes", e->klen);
				goto out;
			}
			rc =
			    mdb_cursor_put(c, &nk, &nv, fresh ? MDB_APPEND : 0);
			if (rc != 0) {
				rc = mdb_fail(w->err, rc, "dataset");
				goto out;
			}
			account(rec, e->key, e->klen, e->blob, lo, e->blob + lo,
			    e->blen - lo, true);
		}
		w->st->puts++;
		i++;
		if (!fresh) {
			/* reposition after the key just written */
			MDB_val sk = { e->klen, e->key };

			orc = mdb_cursor_get(c, &sk, &val, MDB_SET_KEY);
			key = sk;
			if (orc == 0)
				orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
		}
	}
	rc = 0;
out:
	mdb_cursor_close(c);
	return rc;
}

static int drop_dataset(struct writer *w, uint32_t id);

/*
 * Write dataset ds under id: entries as a diff, subsets recursively (matched
 * to the stored ones by position), then the record with the spec string
 * and the file identities of zs (NULL for a subset).
 */
static int
write_dataset(struct writer *w, uint32_t id, const struct zn_dataset *ds,
    const char *spec, const struct zn_spec *zs)
{
	struct zn_dsrec old, rec;
	MDB_dbi dbi;
	bool fresh;
	size_t i;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = zn_dsrec_get(w->txn, w->db, id, &old, w->err);
	if (rc != 0 && rc != -ENOENT)
		return rc; /* not "not stored": a new dataset would clash */
	fresh = rc != 0;
	if (!fresh) {
		memcpy(rec.digest, old.digest, sizeof(rec.digest));
		memcpy(rec.wild, old.wild, sizeof(rec.wild));
		if (old.ds->type != ds->type) {
			/* same spec, other type: start over */
			zn_dsrec_cleanup(&old);
			if ((rc = drop_dataset(w, id)) != 0)
				return rc;
			memset(&rec, 0, sizeof(rec));
			fresh = true;
		}
	} else {
		memset(&old, 0, sizeof(old));
		w->st->datasets_new++;
	}
	rec.spec = (char *)(uintptr_t)spec;
	if (zs != NULL && zs->ids != NULL) {
		/* borrowed, like spec: rec is not cleaned up */
		rec.nids = zs->nfiles;
		rec.paths = zs->filev;
		rec.ids = zs->ids;
	}
	if ((rc = zn_ds_dbi(w->txn, id, true, &dbi)) != 0) {
		zn_err_set(w->err, -rc, "dataset %u: cannot open: %s", id,
		    rc == -ENOSPC ? "LMDB map or table of databases full" :
		                    strerror(-rc));
		goto out;
	}
	if ((rc = write_entries(w, dbi, ds, &rec, fresh)) != 0)
		goto out;
	if (ds->type == ZN_COMBINED && ds->nsubsets > 0) {
		rec.child = calloc(ds->nsubsets, sizeof(*rec.child));
		if (rec.child == NULL) {
			rc = zn_err_set(w->err, ENOMEM, "out of memory");
			goto out;
		}
		rec.nchild = ds->nsubsets;
		for (i = 0; i < ds->nsubsets; i++) {
			rec.child[i] =
			    i < old.nchild ? old.child[i] : w->next_id++;
			rc = write_dataset(w, rec.child[i], ds->subsets[i].ds,
			    NULL, NULL);
			if (rc != 0)
				goto out;
		}
		for (i = ds->nsubsets; i < old.nchild; i++)
			if ((rc = drop_dataset(w, old.child[i])) != 0)
				goto out;
	}
	rc = dsrec_put(w, id, ds, &rec);
out:
	free(rec.child);
	zn_dsrec_cleanup(&old);
	return rc;
}

/* Delete dataset id, its subsets, entries and record. */
static int
drop_dataset(struct writer *w, uint32_t id)
{
	struct zn_dsrec rec;
	uint8_t k[5];
	MDB_val key = { 5, dkey(k, id) };
	MDB_dbi dbi;
	size_t i;
	int rc;

	if ((rc = zn_dsrec_get(w->txn, w->db, id, &rec, w->err)) != 0)
		return rc;
	for (i = 0; i < rec.nchild; i++)
		if ((rc = drop_dataset(w, rec.child[i])) != 0)
			goto out;
	if (zn_ds_dbi(w->txn, id, false, &dbi) == 0 &&
	    (rc = mdb_drop(w->txn, dbi, 1)) != 0) {
		rc = mdb_fail(w->err, rc, "drop dataset");
		goto out;
	}
	if ((rc = mdb_del(w->txn, w->db->meta, &key, NULL)) != 0) {
		rc = mdb_fail(w->err, rc, "drop dataset");
		goto out;
	}
	w->st->datasets_dropped++;
	w->changed = true;
out:
	zn_dsrec_cleanup(&rec);
	return rc;
}

static int
meta_get_u(MDB_txn *txn, const struct zn_db *db, const char *name, uint64_t *v)
{
	MDB_val key = { strlen(name), (void *)(uintptr_t)name }, val;
	int rc = mdb_get(txn, db->meta, &key, &val);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (val.mv_size == 8) {
		struct rbuf b = { val.mv_data, 8, 0, false, false };

		*v = get_u64(&b);
	}
	return 0;
}

static int
meta_put_u(MDB_txn *txn, const struct zn_db *db, const char *name, uint64_t v)
{
	MDB_val key = { strlen(name), (void *)(uintptr_t)name }, val;
	uint8_t b[8];

	zn_put32(b, v >> 32);
	zn_put32(b + 4, (uint32_t)v);
	val = (MDB_val){ 8, b };
	return mdb_put(txn, db->meta, &key, &val, 0);
}

static char *
spec_string(const struct zn_spec *s)
{
	const char *t = zn_type_name(s->type);
	size_t n = strlen(t) + 1 + strlen(s->files) + 1;
	char *r = malloc(n);

	if (r != NULL)
		snprintf(r, n, "%s:%s", t, s->files);
	return r;
}

/* The key of a meta record: a tag byte then the text. */
static MDB_val
tagkey(uint8_t *buf, size_t size, char tag, const char *text)
{
	size_t n = strlen(text);

	if (n + 1 > size)
		n = size - 1;
	buf[0] = tag;
	memcpy(buf + 1, text, n);
	return (MDB_val){ n + 1, buf };
}

/* Drop every dataset no zone refers to any more. */
static int
collect_garbage(struct writer *w)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint32_t *used = NULL;
	size_t nused = 0, cap = 0, i;
	int rc, orc;
	uint8_t zk[1] = { 'Z' }, sk[1] = { 'S' };

	if ((rc = mdb_cursor_open(w->txn, w->db->meta, &c)) != 0)
		return mdb_fail(w->err, rc, "meta");
	key = (MDB_val){ 1, zk };
	for (orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	     orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'Z';
	     orc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		for (i = 4; i + 4 <= val.mv_size; i += 4) {
			if (nused == cap) {
				uint32_t *nu;

				cap = cap ? cap * 2 : 64;
				nu = reallocarray(used, cap, sizeof(*used));
				if (nu == NULL) {
					rc = zn_err_set(w->err, ENOMEM,
					    "out of memory");
					goto out;
				}
				used = nu;
			}
			used[nused++] = zn_get32((uint8_t *)val.mv_data + i);
		}
	}
	key = (MDB_val){ 1, sk };
	orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	while (
	    orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'S') {
		uint32_t id = val.mv_size == 4 ? zn_get32(val.mv_data) : 0;
		bool live = false;

		for (i = 0; i < nused && !live; i++)
			live = used[i] == id;
		if (live) {
			orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
			continue;
		}
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			rc = mdb_fail(w->err, rc, "meta");
			goto out;
		}
		w->changed = true;
		if ((rc = drop_dataset(w, id)) != 0)
			goto out;
		/* drop_dataset wrote through another path; re-seek */
		key = (MDB_val){ 1, sk };
		orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	}
	rc =
	    orc == 0 || orc == MDB_NOTFOUND ? 0 : mdb_fail(w->err, orc, "meta");
out:
	free(used);
	mdb_cursor_close(c);
	return rc;
}

/* Whether the zone name[0..len) is one of keep[0..nkeep). */
static bool
kept(const char *name, size_t len, const char *const *keep, size_t nkeep)
{
	size_t i;

	for (i = 0; i < nkeep; i++)
		if (strlen(keep[i]) == len && memcmp(keep[i], name, len) == 0)
			return true;
	return false;
}

/* Whether zone name[0..len) has a feed state ("F"): 1, 0 or an error. */
static int
has_feed_state(struct writer *w, const char *name, size_t len)
{
	uint8_t fb[ZN_NAME_MAX + 2];
	MDB_val fk = { len + 1, fb }, fv;
	int rc;

	if (len + 1 > sizeof(fb))
		return zn_err_set(w->err, EIO, "damaged zone record");
	fb[0] = 'F';
	memcpy(fb + 1, name, len);
	if ((rc = mdb_get(w->txn, w->db->meta, &fk, &fv)) == MDB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : mdb_fail(w->err, rc, "meta");
}

/* Delete the feed state of zone name[0..len), if it has one. */
static int
del_feed_state(struct writer *w, const char *name, size_t len)
{
	uint8_t fb[ZN_NAME_MAX + 2];
	MDB_val fk = { len + 1, fb };
	int rc;

	if (len + 1 > sizeof(fb))
		return zn_err_set(w->err, EIO, "damaged zone record");
	fb[0] = 'F';
	memcpy(fb + 1, name, len);
	rc = mdb_del(w->txn, w->db->meta, &fk, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return mdb_fail(w->err, rc, "meta");
	w->changed = true;
	return 0;
}

/*
 * ZN_REPLACE_ALL: delete the records of the zones specs do not name and
 * keep does not list, with their feed state ("F") if they have one.  A
 * kept zone (a feed zone) without a feed state was never synced: what is
 * stored under its name came from elsewhere (it had datasets before) and
 * is dropped too.  A zone specs name loses its feed state (it was a feed
 * zone before): its data now comes from its datasets.
 */
static int
drop_other_zones(struct writer *w, const struct zn_spec *specs, size_t n,
    const char *const *keep, size_t nkeep)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t zk[ZN_NAME_MAX + 2] = { 'Z' }, fb[ZN_NAME_MAX + 2];
	MDB_val fk;
	size_t i;
	int rc, orc;

	if ((rc = mdb_cursor_open(w->txn, w->db->meta, &c)) != 0)
		return mdb_fail(w->err, rc, "meta");
	key = (MDB_val){ 1, zk };
	orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	while (
	    orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'Z') {
		const char *name = (const char *)key.mv_data + 1;
		size_t len = key.mv_size - 1;

		for (i = 0; i < n; i++)
			if (strlen(specs[i].zone) == len &&
			    memcmp(specs[i].zone, name, len) == 0)
				break;
		if (i < n) {
			if (key.mv_size > sizeof(zk)) {
				rc = zn_err_set(w->err, EIO,
				    "damaged zone record");
				goto out;
			}
			memcpy(zk, key.mv_data, key.mv_size);
			key.mv_data = zk;
			if ((rc = del_feed_state(w, (char *)zk + 1, len)) != 0)
				goto out;
			/* back to this zone (a delete may move the cursor) */
			orc = mdb_cursor_get(c, &key, &val, MDB_SET_KEY);
			if (orc == 0)
				orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
			continue;
		}
		if (kept(name, len, keep, nkeep) &&
		    (rc = has_feed_state(w, name, len)) != 0) {
			if (rc < 0)
				goto out;
			orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
			continue;
		}
		if (key.mv_size > sizeof(zk)) {
			rc = zn_err_set(w->err, EIO, "damaged zone record");
			goto out;
		}
		memcpy(zk, key.mv_data, key.mv_size);
		key.mv_data = zk;
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			rc = mdb_fail(w->err, rc, "meta");
			goto out;
		}
		/* a feed state without its zone would claim a serial */
		fk = (MDB_val){ key.mv_size, fb };
		memcpy(fb, zk, key.mv_size);
		fb[0] = 'F';
		rc = mdb_del(w->txn, w->db->meta, &fk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = mdb_fail(w->err, rc, "meta");
			goto out;
		}
		w->st->zones_dropped++;
		w->changed = true;
		/* what follows the deleted key */
		orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	}
	rc =
	    orc == 0 || orc == MDB_NOTFOUND ? 0 : mdb_fail(w->err, orc, "meta");
out:
	mdb_cursor_close(c);
	return rc;
}

/*
 * The dataset of the spec string of specs[i] (its first occurrence): find
 * or make its id, and write the first parsed dataset given for it.
 */
static int
put_spec_dataset(struct writer *w, const struct zn_spec *specs,
    struct zn_dataset *const *ds, char *const *sstr, size_t n, size_t i,
    uint32_t *id)
{
	uint8_t kb[ZN_KEY_MAX], idb[4];
	MDB_val key, val;
	size_t k;
	int rc;

	for (k = i; k < n; k++)
		if (ds[k] != NULL && strcmp(sstr[k], sstr[i]) == 0)
			break;
	if (strlen(sstr[i]) + 1 > sizeof(kb))
		return zn_err_set(w->err, ENAMETOOLONG,
		    "%s: zone spec too long", sstr[i]);
	key = tagkey(kb, sizeof(kb), 'S', sstr[i]);
	rc = mdb_get(w->txn, w->db->meta, &key, &val);
	if (rc == 0 && val.mv_size == 4)
		*id = zn_get32(val.mv_data);
	else if (rc == MDB_NOTFOUND && k == n)
		return zn_err_set(w->err, ENOENT,
		    "zone %s: %s: not in the database, and no data given",
		    specs[i].zone[0] ? specs[i].zone : "(global acl)", sstr[i]);
	else if (rc == MDB_NOTFOUND) {
		*id = w->next_id++;
		zn_put32(idb, *id);
		val = (MDB_val){ 4, idb };
		if ((rc = mdb_put(w->txn, w->db->meta, &key, &val, 0)) != 0)
			return mdb_fail(w->err, rc, "database");
		w->changed = true;
	} else
		return mdb_fail(w->err, rc ? rc : MDB_CORRUPTED, "database");
	if (k == n)
		return 0; /* keep what is stored */
	return write_dataset(w, *id, ds[k], sstr[i], &specs[k]);
}

/* The record of the zone of specs[i]: every dataset it names, in order. */
static int
put_zone(struct writer *w, const struct zn_spec *specs, const uint32_t *ids,
    size_t n, size_t i)
{
	struct wbuf b = { 0 };
	uint8_t kb[ZN_NAME_MAX + 2];
	MDB_val key, val;
	size_t cnt = 0, j;
	int rc;

	for (j = i; j < n; j++)
		cnt += strcmp(specs[j].zone, specs[i].zone) == 0;
	put_u32(&b, cnt);
	for (j = i; j < n; j++)
		if (strcmp(specs[j].zone, specs[i].zone) == 0)
			put_u32(&b, ids[j]);
	if (b.oom) {
		free(b.p);
		return zn_err_set(w->err, ENOMEM, "out of memory");
	}
	key = tagkey(kb, sizeof(kb), 'Z', specs[i].zone);
	val = (MDB_val){ b.len, b.p };
	rc = meta_put_changed(w, &key, &val);
	free(b.p);
	return rc != 0 ? mdb_fail(w->err, rc, "database") : 0;
}

int
zn_db_replace(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, struct zn_write_stats *st,
    struct zn_err *err)
{
	return zn_db_replace_flags(db, specs, ds, n, 0, st, err);
}

int
zn_db_replace_flags(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, unsigned flags,
    struct zn_write_stats *st, struct zn_err *err)
{
	return zn_db_replace_keep(db, specs, ds, n, flags, NULL, 0, st, err);
}

int
zn_db_replace_keep(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, unsigned flags,
    const char *const *keep, size_t nkeep, struct zn_write_stats *st,
    struct zn_err *err)
{
	struct writer *w;
	struct zn_write_stats dummy;
	uint32_t *ids = NULL;
	char **sstr = NULL;
	uint64_t v;
	size_t i, j;
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (db->flags & ZN_DB_RDONLY)
		return zn_err_set(err, EROFS, "database is read-only");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (sstr = calloc(n + 1, sizeof(*sstr))) == NULL) {
		rc = zn_err_set(err, ENOMEM, "out of memory");
		goto out_free;
	}
	w->db = db;
	w->err = err;
	w->st = st;
	for (i = 0; i < n; i++)
		if ((sstr[i] = spec_string(&specs[i])) == NULL) {
			rc = zn_err_set(err, ENOMEM, "out of memory");
			goto out_free;
		}
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &w->txn)) != 0) {
		rc = mdb_fail(err, rc, "begin write");
		goto out_free;
	}
	if ((rc = meta_get_u(w->txn, db, "#ids", &v)) != 0)
		goto out_mdb;
	w->next_id = v ? (uint32_t)v : 1;
	if ((rc = meta_get_u(w->txn, db, "#vals", &v)) != 0)
		goto out_mdb;
	w->next_val = v ? (uint32_t)v : 1;

	/* datasets, each spec string written once */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(sstr[j], sstr[i]) == 0)
				break;
		if (j < i)
			ids[i] = ids[j];
		else if ((rc = put_spec_dataset(w, specs, ds, sstr, n, i,
		              &ids[i])) != 0)
			goto out_abort;
	}

	/* zone records: every spec of the zone, in order */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(specs[j].zone, specs[i].zone) == 0)
				break;
		if (j == i && (rc = put_zone(w, specs, ids, n, i)) != 0)
			goto out_abort;
	}
	if ((flags & ZN_REPLACE_ALL) &&
	    (rc = drop_other_zones(w, specs, n, keep, nkeep)) != 0)
		goto out_abort;
	if ((rc = collect_garbage(w)) != 0)
		goto out_abort;
	if (!w->changed) {
		/* nothing differs: no commit, no new generation */
		mdb_txn_abort(w->txn);
		rc = 0;
		goto out_free;
	}
	if ((rc = meta_get_u(w->txn, db, "#gen", &v)) != 0 ||
	    (rc = meta_put_u(w->txn, db, "#gen", v + 1)) != 0 ||
	    (rc = meta_put_u(w->txn, db, "#ids", w->next_id)) != 0 ||
	    (rc = meta_put_u(w->txn, db, "#vals", w->next_val)) != 0)
		goto out_mdb;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if (rc != 0) {
		rc = mdb_fail(err, rc, "commit");
		goto out_free;
	}
	st->changed = true;
	rc = 0;
	goto out_free;

out_mdb:
	rc = mdb_fail(err, rc, "database");
out_abort:
	mdb_txn_abort(w->txn);
out_free:
	if (sstr != NULL)
		for (i = 0; i < n; i++)
			free(sstr[i]);
	free(sstr);
	free(ids);
	if (w != NULL)
		for (i = 0; i < INTERN_SLOTS; i++)
			free(w->slot[i].blob);
	free(w);
	return rc;
}

/* The id stored for spec string sstr: 0, -ENOENT or another error. */
static int
spec_id(MDB_txn *txn, const struct zn_db *db, const char *sstr, uint32_t *id,
    struct zn_err *err)
{
	uint8_t kb[ZN_KEY_MAX];
	MDB_val key, val;
	int rc;

	if (strlen(sstr) + 1 > sizeof(kb))
		return zn_err_set(err, ENOENT, "%s: not in the database", sstr);
	key = tagkey(kb, sizeof(kb), 'S', sstr);
	rc = mdb_get(txn, db->meta, &key, &val);
	if (rc == MDB_NOTFOUND)
		return zn_err_set(err, ENOENT, "%s: not in the database", sstr);
	if (rc != 0)
		return mdb_fail(err, rc, sstr);
	if (val.mv_size != 4)
		return zn_err_set(err, EIO, "%s: damaged record", sstr);
	*id = zn_get32(val.mv_data);
	return 0;
}

int
zn_db_fileids(struct zn_db *db, const struct zn_spec *spec,
    struct zn_fileid *ids, struct zn_err *err)
{
	struct zn_dsrec rec;
	MDB_txn *txn;
	uint32_t id = 0;
	char *sstr;
	size_t i;
	int rc;

	if ((sstr = spec_string(spec)) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		free(sstr);
		return mdb_fail(err, rc, "read");
	}
	if ((rc = spec_id(txn, db, sstr, &id, err)) != 0)
		goto out;
	if ((rc = zn_dsrec_get(txn, db, id, &rec, err)) != 0)
		goto out;
	if (rec.nids != spec->nfiles)
		rc = zn_err_set(err, ENODATA,
		    "%s: stored without its files' identities", sstr);
	for (i = 0; rc == 0 && i < rec.nids; i++) {
		if (strcmp(rec.paths[i], spec->filev[i]) != 0)
			rc = zn_err_set(err, ENODATA,
			    "%s: stored for other files", sstr);
		ids[i] = rec.ids[i];
	}
	zn_dsrec_cleanup(&rec);
out:
	mdb_txn_abort(txn);
	free(sstr);
	return rc;
}

int
zn_db_zone_specs(struct zn_db *db, const char *zone, struct zn_spec **specs,
    size_t *n, struct zn_err *err)
{
	struct zn_spec *sp = NULL;
	uint8_t kb[ZN_NAME_MAX + 2];
	MDB_txn *txn;
	MDB_val key, val;
	size_t cnt = 0, i;
	int rc;

	*specs = NULL;
	*n = 0;
	if (strlen(zone) > ZN_NAME_MAX)
		return zn_err_set(err, ENOENT, "zone %s: not in the database",
		    zone);
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_fail(err, rc, "read");
	key = tagkey(kb, sizeof(kb), 'Z', zone);
	if ((rc = mdb_get(txn, db->meta, &key, &val)) != 0) {
		rc = rc == MDB_NOTFOUND ?
		    zn_err_set(err, ENOENT, "zone %s: not in the database",
		        zone) :
		    mdb_fail(err, rc, "zone record");
		goto out;
	}
	if (val.mv_size < 4 ||
	    val.mv_size != 4 + 4 * (size_t)zn_get32(val.mv_data)) {
		rc = zn_err_set(err, EIO, "zone %s: damaged record", zone);
		goto out;
	}
	cnt = zn_get32(val.mv_data);
	if ((sp = calloc(cnt ? cnt : 1, sizeof(*sp))) == NULL) {
		rc = zn_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		const uint8_t *p = (const uint8_t *)val.mv_data + 4 + 4 * i;
		struct zn_dsrec rec;
		char *arg;

		if ((rc = zn_dsrec_get(txn, db, zn_get32(p), &rec, err)) != 0)
			break;
		if (rec.spec == NULL) {
			zn_dsrec_cleanup(&rec);
			rc = zn_err_set(err, EIO,
			    "zone %s: dataset %zu: damaged record", zone, i);
			break;
		}
		if (asprintf(&arg, "%s:%s", zone, rec.spec) == -1) {
			zn_dsrec_cleanup(&rec);
			rc = zn_err_set(err, ENOMEM, "out of memory");
			break;
		}
		zn_dsrec_cleanup(&rec);
		rc = zn_spec_parse(arg, &sp[i], err);
		free(arg);
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		for (i = 0; i < cnt; i++)
			zn_spec_cleanup(&sp[i]);
		free(sp);
		goto out;
	}
	*specs = sp;
	*n = cnt;
out:
	mdb_txn_abort(txn);
	return rc;
}

/*
 * Entry points for the feed (feed_apply.c), which writes zones from
 * snapshots and deltas in a transaction it owns: a writer over that
 * transaction, and the per-entry digest.  See db_int.h.
 */
struct zn_writer {
	struct writer w;
	struct zn_write_stats st;
};

struct zn_writer *
zn_writer_new(MDB_txn *txn, struct zn_db *db, struct zn_err *err)
{
	struct zn_writer *zw;
	uint64_t v;
	int rc;

	if ((zw = calloc(1, sizeof(*zw))) == NULL) {
		zn_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	zw->w.txn = txn;
	zw->w.db = db;
	zw->w.err = err;
	zw->w.st = &zw->st;
	if ((rc = meta_get_u(txn, db, "#ids", &v)) != 0)
		goto fail;
	zw->w.next_id = v ? (uint32_t)v : 1;
	if ((rc = meta_get_u(txn, db, "#vals", &v)) != 0)
		goto fail;
	zw->w.next_val = v ? (uint32_t)v : 1;
	return zw;
fail:
	mdb_fail(err, rc, "database");
	free(zw);
	return NULL;
}

int
zn_writer_intern(struct zn_writer *zw, const uint8_t *blob, size_t len,
    uint32_t *id)
{
	return intern(&zw->w, blob, len, id);
}

uint32_t
zn_writer_new_id(struct zn_writer *zw)
{
	return zw->w.next_id++;
}

int
zn_writer_put_record(struct zn_writer *zw, uint32_t id,
    const struct zn_dataset *ds, const struct zn_dsrec *rec)
{
	return dsrec_put(&zw->w, id, ds, rec);
}

int
zn_writer_drop(struct zn_writer *zw, uint32_t id)
{
	return drop_dataset(&zw->w, id);
}

int
zn_writer_finish(struct zn_writer *zw)
{
	uint64_t v;
	int rc;

	if ((rc = meta_get_u(zw->w.txn, zw->w.db, "#gen", &v)) != 0 ||
	    (rc = meta_put_u(zw->w.txn, zw->w.db, "#gen", v + 1)) != 0 ||
	    (rc = meta_put_u(zw->w.txn, zw->w.db, "#ids", zw->w.next_id)) !=
	        0 ||
	    (rc = meta_put_u(zw->w.txn, zw->w.db, "#vals", zw->w.next_val)) !=
	        0)
		return mdb_fail(zw->w.err, rc, "database");
	return 0;
}

void
zn_writer_free(struct zn_writer *zw)
{
	size_t i;

	if (zw == NULL)
		return;
	for (i = 0; i < INTERN_SLOTS; i++)
		free(zw->w.slot[i].blob);
	free(zw);
}

void
zn_digest_entry(uint8_t *digest, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add)
{
	digest_entry(digest, key, klen, lo, lolen, ans, alen, add);
}

void
zn_dsrec_account(struct zn_dsrec *rec, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add)
{
	account(rec, key, klen, lo, lolen, ans, alen, add);
}
