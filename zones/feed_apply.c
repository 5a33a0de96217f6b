/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mirror side of the feed: feed state in meta, the zone digest of
 * what the database holds, choosing what to fetch, and applying a
 * snapshot and/or a delta in one LMDB write transaction that commits only
 * when the resulting zone digest is the publisher's.  Layouts: feed.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_int.h"

#define FREC_VERSION 1
#define FREC_LEN (1 + 8 + ZN_DIGEST_LEN + 8 + 8 + 8 + 8 + ZN_FEED_KEYID_LEN)

static void
put64(uint8_t *p, uint64_t v)
{
	zn_put32(p, v >> 32);
	zn_put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)zn_get32(p) << 32 | zn_get32(p + 4);
}

static int
mfail(struct zn_err *err, int rc, const char *what)
{
	int e = zn_mdb_errno(rc);

	if (rc == MDB_MAP_FULL)
		return zn_err_set(err, -e,
		    "%s: database full (LMDB map size reached)", what);
	return zn_err_set(err, -e, "%s: %s", what, mdb_strerror(rc));
}

/* A meta key: tag byte then text. */
static MDB_val
tkey(uint8_t *buf, size_t size, char tag, const char *text)
{
	size_t n = strlen(text);

	if (n + 1 > size)
		n = size - 1;
	buf[0] = tag;
	memcpy(buf + 1, text, n);
	return (MDB_val){ n + 1, buf };
}

static int
state_read(MDB_txn *txn, const struct zn_db *db, const char *zone,
    struct zn_feed_state *st, struct zn_err *err)
{
	uint8_t kb[ZN_NAME_MAX + 2];
	MDB_val key = tkey(kb, sizeof(kb), 'F', zone), val;
	const uint8_t *p;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = mdb_get(txn, db->meta, &key, &val)) == MDB_NOTFOUND)
		return zn_err_set(err, ENOENT, "zone %s: never synced", zone);
	if (rc != 0)
		return mfail(err, rc, "feed state");
	p = val.mv_data;
	if (val.mv_size != FREC_LEN || p[0] != FREC_VERSION)
		return zn_err_set(err, EIO, "zone %s: damaged feed state",
		    zone);
	p++;
	st->serial = get64(p);
	p += 8;
	memcpy(st->digest, p, ZN_DIGEST_LEN);
	p += ZN_DIGEST_LEN;
	st->entries = get64(p);
	st->issued = (int64_t)get64(p + 8);
	st->expires = (int64_t)get64(p + 16);
	st->synced = (int64_t)get64(p + 24);
	memcpy(st->keyid, p + 32, ZN_FEED_KEYID_LEN);
	return 0;
}

static int
state_write(MDB_txn *txn, const struct zn_db *db, const char *zone,
    const struct zn_feed_state *st, struct zn_err *err)
{
	uint8_t kb[ZN_NAME_MAX + 2], v[FREC_LEN], *p = v;
	MDB_val key = tkey(kb, sizeof(kb), 'F', zone), val = { FREC_LEN, v };
	int rc;

	*p++ = FREC_VERSION;
	put64(p, st->serial);
	p += 8;
	memcpy(p, st->digest, ZN_DIGEST_LEN);
	p += ZN_DIGEST_LEN;
	put64(p, st->entries);
	put64(p + 8, (uint64_t)st->issued);
	put64(p + 16, (uint64_t)st->expires);
	put64(p + 24, (uint64_t)st->synced);
	memcpy(p + 32, st->keyid, ZN_FEED_KEYID_LEN);
	if ((rc = mdb_put(txn, db->meta, &key, &val, 0)) != 0)
		return mfail(err, rc, "feed state");
	return 0;
}

/* The dataset ids of a zone; -ENOENT if it is not stored. */
static int
zone_ids(MDB_txn *txn, const struct zn_db *db, const char *zone, uint32_t **ids,
    size_t *n, struct zn_err *err)
{
	uint8_t kb[ZN_NAME_MAX + 2];
	MDB_val key = tkey(kb, sizeof(kb), 'Z', zone), val;
	const uint8_t *p;
	size_t i, cnt;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((rc = mdb_get(txn, db->meta, &key, &val)) == MDB_NOTFOUND)
		return zn_err_set(err, ENOENT, "zone %s: not in the database",
		    zone);
	if (rc != 0)
		return mfail(err, rc, "zone record");
	p = val.mv_data;
	if (val.mv_size < 4 || val.mv_size != 4 + 4 * (size_t)zn_get32(p))
		return zn_err_set(err, EIO, "zone %s: damaged record", zone);
	cnt = zn_get32(p);
	if ((*ids = calloc(cnt ? cnt : 1, sizeof(**ids))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < cnt; i++)
		(*ids)[i] = zn_get32(p + 4 + 4 * i);
	*n = cnt;
	return 0;
}

static int
db_node_digest(MDB_txn *txn, const struct zn_db *db, struct fdigest *dg,
    uint32_t id, int depth, uint64_t *total, struct zn_err *err)
{
	struct zn_dsrec rec;
	const char *spec;
	size_t i;
	int rc;

	if (depth >= FD_DEPTH_MAX)
		return zn_err_set(err, EIO, "dataset %u: nested too deep", id);
	if ((rc = zn_dsrec_get(txn, db, id, &rec, err)) != 0)
		return rc;
	spec = depth == 0 ? rec.spec : "";
	if (spec == NULL) {
		zn_dsrec_cleanup(&rec);
		return zn_err_set(err, EIO, "dataset %u: damaged record", id);
	}
	fdg_node(dg, (const uint8_t *)spec, strlen(spec), rec.ds, rec.nent,
	    rec.digest, rec.nchild);
	*total += rec.nent;
	for (i = 0; i < rec.nchild; i++) {
		fdg_subset(dg, &rec.ds->subsets[i]);
		rc = db_node_digest(txn, db, dg, rec.child[i], depth + 1, total,
		    err);
		if (rc != 0)
			break;
	}
	zn_dsrec_cleanup(&rec);
	return rc;
}

static int
db_digest_txn(MDB_txn *txn, const struct zn_db *db, const char *zone,
    uint8_t *digest, uint64_t *entries, struct zn_err *err)
{
	struct fdigest dg;
	uint32_t *ids;
	uint64_t total = 0;
	size_t n, i;
	int rc;

	if ((rc = zone_ids(txn, db, zone, &ids, &n, err)) != 0)
		return rc;
	fdg_start(&dg, zone, n);
	for (i = 0; i < n; i++)
		if ((rc = db_node_digest(txn, db, &dg, ids[i], 0, &total,
		         err)) != 0)
			break;
	free(ids);
	if (rc != 0) {
		fb_free(&dg.b);
		return rc;
	}
	if ((rc = fdg_finish(&dg, digest, err)) != 0)
		return rc;
	*entries = total;
	return 0;
}

int
zn_feed_db_digest(struct zn_db *db, const char *zone,
    uint8_t digest[ZN_DIGEST_BYTES], uint64_t *entries, struct zn_err *err)
{
	MDB_txn *txn;
	uint64_t n = 0;
	int rc;

	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mfail(err, rc, "read");
	rc = db_digest_txn(txn, db, zone, digest, &n, err);
	mdb_txn_abort(txn);
	if (rc == 0 && entries != NULL)
		*entries = n;
	return rc;
}

int
zn_feed_state_get(struct zn_db *db, const char *zone, struct zn_feed_state *st,
    struct zn_err *err)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mfail(err, rc, "read");
	rc = state_read(txn, db, zone, st, err);
	mdb_txn_abort(txn);
	return rc;
}

/*
 * Applying.
 */
struct applier {
	struct zn_writer *zw;
	MDB_txn *txn;
	struct zn_db *db;
	struct zn_err *err;
	const char *zone;
	const struct ffile *f;
	uint32_t *vmap; /* file value index -> interned id, 0: not yet */
	struct zn_feed_stats *st;
	const struct zn_feed_progress *pg; /* NULL: none */
	uint64_t done, total; /* entries and ops, for pg */
};

/* One more entry or op handled: tell pg now and then. */
static void
tick(struct applier *a)
{
	if (a->pg == NULL || a->pg->fn == NULL)
		return;
	if ((++a->done & 0x3fff) == 0)
		a->pg->fn(a->pg->ctx, a->done < a->total ? a->done : a->total,
		    a->total);
}

static int
file_val_id(struct applier *a, const struct fent *e, uint32_t *id)
{
	int rc;

	if (e->vidx < a->f->nval && a->vmap[e->vidx] != 0) {
		*id = a->vmap[e->vidx];
		return 0;
	}
	if ((rc = zn_writer_intern(a->zw, e->ans, e->alen, id)) != 0)
		return rc;
	if (e->vidx < a->f->nval)
		a->vmap[e->vidx] = *id;
	return 0;
}

/* The stored value (lo || id) of entry e. */
static int
stored_val(struct applier *a, const struct fent *e, uint8_t *buf, size_t *len)
{
	uint32_t id = 0;
	int rc;

	if ((rc = file_val_id(a, e, &id)) != 0)
		return rc;
	memcpy(buf, e->lo, e->lolen);
	zn_put32(buf + e->lolen, id);
	*len = e->lolen + 4;
	return 0;
}

/* The entry stored as (key, val): its answer bytes from the value table. */
static int
stored_ent(struct applier *a, const MDB_val *key, const MDB_val *val,
    struct fent *e)
{
	const uint8_t *k = key->mv_data;
	int lolen = fd_key_lolen(k, key->mv_size);
	uint8_t ib[4];
	MDB_val vk = { 4, ib }, blob;
	int rc;

	if (lolen < 0 || val->mv_size != (size_t)lolen + 4)
		return zn_err_set(a->err, EIO, "damaged entry in the database");
	memcpy(ib, (const uint8_t *)val->mv_data + lolen, 4);
	if ((rc = mdb_get(a->txn, a->db->values, &vk, &blob)) != 0)
		return mfail(a->err, rc, "value table");
	*e = (struct fent){ k, key->mv_size, val->mv_data, lolen, blob.mv_data,
		blob.mv_size, SIZE_MAX };
	return 0;
}

static void
account(struct zn_dsrec *rec, const struct fent *e, bool add)
{
	zn_dsrec_account(rec, e->key, e->klen, e->lo, e->lolen, e->ans, e->alen,
	    add);
}

static int
put_record(struct applier *a, uint32_t id, const struct fnode *n, uint64_t nent,
    const struct zn_dsrec *rec)
{
	struct zn_dataset p = *n->ds;

	p.ent = NULL;
	p.nent = nent;
	return zn_writer_put_record(a->zw, id, &p, rec);
}

static char *
spec_cstr(const struct fnode *n)
{
	char *s = malloc(n->speclen + 1);

	if (s != NULL) {
		memcpy(s, n->spec, n->speclen);
		s[n->speclen] = '\0';
	}
	return s;
}

/*
 * Set dataset id to snapshot node n: a merge-join of what it holds
 * against the node's entries (plain appends when fresh), then subsets by
 * position, then its record.
 */
static int
snap_node(struct applier *a, const struct fnode *n, uint32_t id, bool fresh,
    int depth)
{
	struct zn_dsrec old, rec;
	MDB_cursor *c = NULL;
	MDB_dbi dbi;
	MDB_val key, val;
	struct esrc s;
	struct fent e, se;
	uint8_t vb[16 + 4], kc[ZN_KEY_MAX];
	uint64_t nent = 0;
	size_t vl = 0, i;
	int rc, orc, er;

	memset(&old, 0, sizeof(old));
	memset(&rec, 0, sizeof(rec));
	if (!fresh) {
		if ((rc = zn_dsrec_get(a->txn, a->db, id, &old, a->err)) != 0)
			return rc;
		if (old.ds->type != n->ds->type) {
			zn_dsrec_cleanup(&old);
			if ((rc = zn_writer_drop(a->zw, id)) != 0)
				return rc;
			fresh = true;
		} else {
			memcpy(rec.digest, old.digest, sizeof(rec.digest));
			memcpy(rec.wild, old.wild, sizeof(rec.wild));
		}
	}
	if ((rc = zn_ds_dbi(a->txn, id, true, &dbi)) != 0) {
		zn_err_set(a->err, -rc, "dataset %u: cannot open: %s", id,
		    rc == -ENOSPC ? "LMDB map or table of databases full" :
		                    strerror(-rc));
		goto out;
	}
	if ((rc = mdb_cursor_open(a->txn, dbi, &c)) != 0) {
		rc = mfail(a->err, rc, "dataset");
		goto out;
	}
	esrc_snap(&s, a->f, n, a->err);
	orc = fresh ? MDB_NOTFOUND : mdb_cursor_get(c, &key, &val, MDB_FIRST);
	er = esrc_next(&s, &e);
	while (er > 0 || orc == 0) {
		int cmp;

		tick(a);
		if (orc != 0 && orc != MDB_NOTFOUND) {
			rc = mfail(a->err, orc, "dataset");
			goto out;
		}
		if (er <= 0)
			cmp = 1;
		else if (orc != 0)
			cmp = -1;
		else
			cmp =
			    fd_keycmp(e.key, e.klen, key.mv_data, key.mv_size);
		if (cmp > 0) {
			/* stored, no longer listed: delete, seek past it */
			MDB_val sk = { key.mv_size, kc };

			if (key.mv_size > sizeof(kc)) {
				rc = zn_err_set(a->err, EIO, "damaged entry");
				goto out;
			}
			if ((rc = stored_ent(a, &key, &val, &se)) != 0)
				goto out;
			account(&rec, &se, false);
			memcpy(kc, key.mv_data, key.mv_size);
			if ((rc = mdb_cursor_del(c, 0)) != 0) {
				rc = mfail(a->err, rc, "dataset");
				goto out;
			}
			a->st->dels++;
			orc = mdb_cursor_get(c, &sk, &val, MDB_SET_RANGE);
			key = sk;
			continue;
		}
		if ((rc = stored_val(a, &e, vb, &vl)) != 0)
			goto out;
		nent++;
		if (cmp == 0 && val.mv_size == vl &&
		    memcmp(val.mv_data, vb, vl) == 0) {
			orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
			er = esrc_next(&s, &e);
			continue;
		}
		if (cmp == 0) {
			if ((rc = stored_ent(a, &key, &val, &se)) != 0)
				goto out;
			account(&rec, &se, false);
			a->st->sets++;
		} else
			a->st->adds++;
		{
			MDB_val nk = { e.klen, (void *)(uintptr_t)e.key };
			MDB_val nv = { vl, vb };

			rc =
			    mdb_cursor_put(c, &nk, &nv, fresh ? MDB_APPEND : 0);
			if (rc != 0) {
				rc = mfail(a->err, rc, "dataset");
				goto out;
			}
		}
		account(&rec, &e, true);
		if (!fresh) {
			MDB_val sk = { e.klen, (void *)(uintptr_t)e.key };

			orc = mdb_cursor_get(c, &sk, &val, MDB_SET_KEY);
			key = sk;
			if (orc == 0)
				orc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
		}
		er = esrc_next(&s, &e);
	}
	if (er < 0) {
		rc = er;
		goto out;
	}
	mdb_cursor_close(c);
	c = NULL;

	/* subsets by position; a stored one of another type starts over */
	if (n->nsub > 0) {
		rec.child = calloc(n->nsub, sizeof(*rec.child));
		if (rec.child == NULL) {
			rc = zn_err_set(a->err, ENOMEM, "out of memory");
			goto out;
		}
		rec.nchild = n->nsub;
	}
	for (i = 0; i < n->nsub; i++) {
		bool cf = i >= old.nchild;

		rec.child[i] = cf ? zn_writer_new_id(a->zw) : old.child[i];
		if ((rc = snap_node(a, &n->sub[i], rec.child[i], cf,
		         depth + 1)) != 0)
			goto out;
	}
	for (i = n->nsub; i < old.nchild; i++)
		if ((rc = zn_writer_drop(a->zw, old.child[i])) != 0)
			goto out;
	if (depth == 0 && (rec.spec = spec_cstr(n)) == NULL) {
		rc = zn_err_set(a->err, ENOMEM, "out of memory");
		goto out;
	}
	rc = put_record(a, id, n, nent, &rec);
out:
	if (c != NULL)
		mdb_cursor_close(c);
	free(rec.child);
	free(rec.spec);
	zn_dsrec_cleanup(&old);
	return rc;
}

/* Apply delta node n to dataset id: every op checked against it. */
static int
delta_node(struct applier *a, const struct fnode *n, uint32_t id, int depth)
{
	struct zn_dsrec rec;
	MDB_dbi dbi;
	struct frd rd = { n->body, n->bodylen, 0, NULL, 0 };
	uint64_t left = n->n, nent;
	uint64_t adds = 0, dels = 0;
	struct fop op;
	size_t i;
	int rc;

	if ((rc = zn_dsrec_get(a->txn, a->db, id, &rec, a->err)) != 0)
		return rc;
	if (rec.ds->type != n->ds->type || rec.nchild != n->nsub ||
	    (depth == 0 &&
	        (rec.spec == NULL || strlen(rec.spec) != n->speclen ||
	            memcmp(rec.spec, n->spec, n->speclen) != 0))) {
		rc = zn_err_set(a->err, EINVAL,
		    "the database's datasets are not the delta's");
		goto out;
	}
	if ((rc = zn_ds_dbi(a->txn, id, false, &dbi)) != 0) {
		zn_err_set(a->err, -rc, "dataset %u: cannot open: %s", id,
		    rc == -ENOSPC ? "LMDB map or table of databases full" :
		                    strerror(-rc));
		goto out;
	}
	while ((rc = fop_next(a->f, &rd, &left, &op)) > 0) {
		MDB_val key = { op.o.klen, (void *)(uintptr_t)op.o.key }, val;
		struct fent se;

		tick(a);
		uint8_t vb[16 + 4];
		size_t vl = 0;

		if (op.tag != FOP_ADD) {
			rc = mdb_get(a->txn, dbi, &key, &val);
			if (rc == MDB_NOTFOUND) {
				rc = zn_err_set(a->err, EINVAL,
				    "the delta %s an entry the database "
				    "lacks",
				    op.tag == FOP_DEL ? "deletes" : "changes");
				goto out;
			}
			if (rc != 0) {
				rc = mfail(a->err, rc, "dataset");
				goto out;
			}
			if ((rc = stored_ent(a, &key, &val, &se)) != 0)
				goto out;
			if (!fd_same_val(&se, &op.o)) {
				rc = zn_err_set(a->err, EINVAL,
				    "the delta's old value of an entry is not "
				    "the database's");
				goto out;
			}
			account(&rec, &se, false);
		}
		if (op.tag == FOP_DEL) {
			if ((rc = mdb_del(a->txn, dbi, &key, NULL)) != 0) {
				rc = mfail(a->err, rc, "dataset");
				goto out;
			}
			dels++;
			continue;
		}
		if ((rc = stored_val(a, &op.n, vb, &vl)) != 0)
			goto out;
		val = (MDB_val){ vl, vb };
		rc = mdb_put(a->txn, dbi, &key, &val,
		    op.tag == FOP_ADD ? MDB_NOOVERWRITE : 0);
		if (rc == MDB_KEYEXIST) {
			rc = zn_err_set(a->err, EINVAL,
			    "the delta adds an entry the database has");
			goto out;
		}
		if (rc != 0) {
			rc = mfail(a->err, rc, "dataset");
			goto out;
		}
		account(&rec, &op.n, true);
		if (op.tag == FOP_ADD)
			adds++;
		else
			a->st->sets++;
	}
	if (rc < 0) {
		rc = zn_err_set(a->err, EINVAL, "damaged delta");
		goto out;
	}
	if (rec.nent + adds < dels) {
		rc = zn_err_set(a->err, EINVAL, "entry count below zero");
		goto out;
	}
	nent = rec.nent + adds - dels;
	a->st->adds += adds;
	a->st->dels += dels;
	for (i = 0; i < n->nsub; i++)
		if ((rc = delta_node(a, &n->sub[i], rec.child[i], depth + 1)) !=
		    0)
			goto out;
	rc = put_record(a, id, n, nent, &rec);
out:
	zn_dsrec_cleanup(&rec);
	return rc;
}

/* The "S" key that marks dataset id as this zone's feed dataset. */
static MDB_val
owner_key(uint8_t *buf, size_t size, const char *zone, uint32_t id)
{
	char text[ZN_NAME_MAX + 32];

	snprintf(text, sizeof(text), "feed:%s/%" PRIu32, zone, id);
	return tkey(buf, size, 'S', text);
}

static bool
owned(struct applier *a, uint32_t id)
{
	uint8_t kb[ZN_NAME_MAX + 40];
	MDB_val key = owner_key(kb, sizeof(kb), a->zone, id), val;

	return mdb_get(a->txn, a->db->meta, &key, &val) == 0;
}

/* Is dataset id named by any zone record? */
static int
referenced(struct applier *a, uint32_t id, bool *yes)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t zk[1] = { 'Z' };
	size_t i;
	int rc;

	*yes = false;
	if ((rc = mdb_cursor_open(a->txn, a->db->meta, &c)) != 0)
		return mfail(a->err, rc, "meta");
	key = (MDB_val){ 1, zk };
	for (rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0 &&
	     key.mv_size > 0 && *(uint8_t *)key.mv_data == 'Z' && !*yes;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
		for (i = 4; i + 4 <= val.mv_size; i += 4)
			if (zn_get32((uint8_t *)val.mv_data + i) == id)
				*yes = true;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mfail(a->err, rc, "meta");
	return 0;
}

/* Delete the "S" keys naming dataset id. */
static int
drop_spec_keys(struct applier *a, uint32_t id)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t sk[1] = { 'S' }, kc[ZN_KEY_MAX + 1];
	int rc;

	if ((rc = mdb_cursor_open(a->txn, a->db->meta, &c)) != 0)
		return mfail(a->err, rc, "meta");
	key = (MDB_val){ 1, sk };
	rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size > 0 && *(uint8_t *)key.mv_data == 'S') {
		if (val.mv_size == 4 && zn_get32(val.mv_data) == id &&
		    key.mv_size <= sizeof(kc)) {
			MDB_val k2 = { key.mv_size, kc };

			memcpy(kc, key.mv_data, key.mv_size);
			if ((rc = mdb_cursor_del(c, 0)) != 0)
				break;
			key = k2;
			rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
			continue;
		}
		rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mfail(a->err, rc, "meta");
	return 0;
}

/* A dataset the zone no longer uses: drop it unless another zone does. */
static int
release(struct applier *a, uint32_t id)
{
	bool yes;
	int rc;

	if ((rc = referenced(a, id, &yes)) != 0 || yes)
		return rc;
	if ((rc = drop_spec_keys(a, id)) != 0)
		return rc;
	return zn_writer_drop(a->zw, id);
}

static int
write_zone(struct applier *a, const uint32_t *ids, size_t n)
{
	uint8_t kb[ZN_NAME_MAX + 2], *v;
	MDB_val key = tkey(kb, sizeof(kb), 'Z', a->zone), val;
	size_t i;
	int rc;

	if ((v = malloc(4 + 4 * n)) == NULL)
		return zn_err_set(a->err, ENOMEM, "out of memory");
	zn_put32(v, n);
	for (i = 0; i < n; i++)
		zn_put32(v + 4 + 4 * i, ids[i]);
	val = (MDB_val){ 4 + 4 * n, v };
	rc = mdb_put(a->txn, a->db->meta, &key, &val, 0);
	free(v);
	return rc != 0 ? mfail(a->err, rc, "zone record") : 0;
}

static int
apply_snapshot(struct applier *a)
{
	const struct ffile *f = a->f;
	uint32_t *old = NULL, *ids = NULL;
	bool *used = NULL;
	size_t nold = 0, i, j;
	int rc;

	rc = zone_ids(a->txn, a->db, a->zone, &old, &nold, a->err);
	if (rc != 0 && rc != -ENOENT)
		return rc; /* damaged, out of memory, an LMDB error */
	ids = calloc(f->nnode, sizeof(*ids));
	used = calloc(nold ? nold : 1, sizeof(*used));
	if (ids == NULL || used == NULL) {
		rc = zn_err_set(a->err, ENOMEM, "out of memory");
		goto out;
	}
	for (j = 0; j < f->nnode; j++) {
		const struct fnode *n = &f->node[j];
		bool fresh = true;

		for (i = 0; i < nold && fresh; i++) {
			struct zn_dsrec rec;
			bool same;

			if (used[i] || !owned(a, old[i]))
				continue;
			rc = zn_dsrec_get(a->txn, a->db, old[i], &rec, a->err);
			if (rc == -ENOMEM)
				goto out;
			if (rc != 0)
				continue; /* damaged: not reused */
			same = rec.spec != NULL &&
			    strlen(rec.spec) == n->speclen &&
			    memcmp(rec.spec, n->spec, n->speclen) == 0 &&
			    rec.ds->type == n->ds->type;
			zn_dsrec_cleanup(&rec);
			if (same) {
				used[i] = true;
				ids[j] = old[i];
				fresh = false;
			}
		}
		if (fresh) {
			uint8_t kb[ZN_NAME_MAX + 40], idb[4];
			MDB_val key, val = { 4, idb };

			ids[j] = zn_writer_new_id(a->zw);
			key = owner_key(kb, sizeof(kb), a->zone, ids[j]);
			zn_put32(idb, ids[j]);
			if ((rc = mdb_put(a->txn, a->db->meta, &key, &val,
			         0)) != 0) {
				rc = mfail(a->err, rc, "meta");
				goto out;
			}
		}
		if ((rc = snap_node(a, n, ids[j], fresh, 0)) != 0)
			goto out;
	}
	if ((rc = write_zone(a, ids, f->nnode)) != 0)
		goto out;
	for (i = 0; i < nold; i++) {
		bool dup = false;

		for (j = 0; j < i && !dup; j++)
			dup = old[j] == old[i];
		if (!used[i] && !dup && (rc = release(a, old[i])) != 0)
			goto out;
	}
	rc = 0;
out:
	free(old);
	free(ids);
	free(used);
	return rc;
}

static int
apply_delta(struct applier *a)
{
	uint32_t *ids;
	size_t n, i;
	int rc;

	if ((rc = zone_ids(a->txn, a->db, a->zone, &ids, &n, a->err)) != 0)
		return rc;
	if (n != a->f->nnode)
		rc = zn_err_set(a->err, EINVAL,
		    "the database's datasets are not the delta's");
	for (i = 0; rc == 0 && i < n; i++)
		rc = delta_node(a, &a->f->node[i], ids[i], 0);
	free(ids);
	return rc;
}

static void
hex8(const uint8_t *d, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 8; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[16] = '\0';
}

int
zn_feed_apply_mem(struct zn_db *db, const char *zone, const uint8_t *snap,
    size_t snaplen, const uint8_t *delta, size_t deltalen,
    const struct zn_feed_target *t, int64_t now, struct zn_feed_stats *st,
    struct zn_err *err)
{
	return zn_feed_apply_mem_progress(db, zone, snap, snaplen, delta,
	    deltalen, t, now, NULL, st, err);
}

int
zn_feed_apply_mem_progress(struct zn_db *db, const char *zone,
    const uint8_t *snap, size_t snaplen, const uint8_t *delta, size_t deltalen,
    const struct zn_feed_target *t, int64_t now,
    const struct zn_feed_progress *pg, struct zn_feed_stats *st,
    struct zn_err *err)
{
	struct ffile fs, fd;
	struct applier a;
	struct zn_feed_stats dummy;
	struct zn_feed_state cur, nst;
	uint8_t d[ZN_DIGEST_LEN];
	char h1[17], h2[17];
	uint64_t nent = 0;
	bool have_s = false, have_d = false;
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	memset(&a, 0, sizeof(a));
	if (db->flags & ZN_DB_RDONLY)
		return zn_err_set(err, EROFS, "database is read-only");
	if (snap == NULL && delta == NULL)
		return zn_err_set(err, EINVAL, "nothing to apply");
	if (snap != NULL) {
		if ((rc = ffile_decode(snap, snaplen, "snapshot", &fs, err)))
			return rc;
		have_s = true;
		if (fs.delta) {
			rc = zn_err_set(err, EINVAL,
			    "snapshot: the file is a delta");
			goto out;
		}
	}
	if (delta != NULL) {
		if ((rc = ffile_decode(delta, deltalen, "delta", &fd, err)))
			goto out;
		have_d = true;
		if (!fd.delta) {
			rc = zn_err_set(err, EINVAL,
			    "delta: the file is a snapshot");
			goto out;
		}
	}
	if ((have_s && strcmp(fs.zone, zone) != 0) ||
	    (have_d && strcmp(fd.zone, zone) != 0)) {
		rc = zn_err_set(err, EINVAL, "%s for zone %s, not %s",
		    have_s && strcmp(fs.zone, zone) ? "snapshot" : "delta",
		    have_s && strcmp(fs.zone, zone) ? fs.zone : fd.zone, zone);
		goto out;
	}
	if (have_s && have_d &&
	    (fd.from != fs.to ||
	        memcmp(fd.from_digest, fs.digest, ZN_DIGEST_LEN) != 0 ||
	        fd.from_entries != fs.entries)) {
		rc = zn_err_set(err, EINVAL,
		    "delta %" PRIu64 "-%" PRIu64 " does not start at the "
		    "snapshot's serial %" PRIu64 " and digest",
		    fd.from, fd.to, fs.to);
		goto out;
	}
	if ((have_d ? fd.to : fs.to) != t->serial ||
	    memcmp(have_d ? fd.digest : fs.digest, t->digest, ZN_DIGEST_LEN) !=
	        0) {
		rc = zn_err_set(err, EINVAL,
		    "%s leads to serial %" PRIu64 ", the manifest says %" PRIu64
		    " (or a different digest)",
		    have_d ? "delta" : "snapshot", have_d ? fd.to : fs.to,
		    t->serial);
		goto out;
	}

	if ((rc = mdb_txn_begin(db->env, NULL, 0, &a.txn)) != 0) {
		rc = mfail(err, rc, "begin write");
		goto out;
	}
	a.db = db;
	a.err = err;
	a.zone = zone;
	a.st = st;
	a.pg = pg;
	a.total = (have_s ? fs.entries : 0) +
	    (have_d ? fd.nadd + fd.ndel + fd.nset : 0);
	if (pg != NULL && pg->fn != NULL)
		pg->fn(pg->ctx, 0, a.total);
	if ((a.zw = zn_writer_new(a.txn, db, err)) == NULL) {
		rc = -EIO;
		goto abort;
	}
	rc = state_read(a.txn, db, zone, &cur, NULL);
	if (rc != 0 && rc != -ENOENT) {
		rc = zn_err_set(err, -rc, "zone %s: damaged feed state", zone);
		goto abort;
	}
	if (rc == -ENOENT)
		memset(&cur, 0, sizeof(cur));
	if (t->serial < cur.serial) {
		rc = zn_err_set(err, ESTALE,
		    "refusing to go back from serial %" PRIu64 " to %" PRIu64,
		    cur.serial, t->serial);
		goto abort;
	}
	if (have_s) {
		a.f = &fs;
		if ((a.vmap = calloc(fs.nval ? fs.nval : 1, 4)) == NULL) {
			rc = zn_err_set(err, ENOMEM, "out of memory");
			goto abort;
		}
		if ((rc = apply_snapshot(&a)) != 0)
			goto abort;
		free(a.vmap);
		a.vmap = NULL;
		st->snapshot = true;
	} else {
		/* the delta must start where the database is */
		rc = db_digest_txn(a.txn, db, zone, d, &nent, err);
		if (rc != 0)
			goto abort;
		if (cur.serial != fd.from ||
		    memcmp(d, fd.from_digest, ZN_DIGEST_LEN) != 0 ||
		    nent != fd.from_entries) {
			hex8(d, h1);
			hex8(fd.from_digest, h2);
			rc = zn_err_set(err, EINVAL,
			    "delta %" PRIu64 "-%" PRIu64 " does not start "
			    "where the database is (serial %" PRIu64
			    ", digest %s..., the delta's %s...)",
			    fd.from, fd.to, cur.serial, h1, h2);
			goto abort;
		}
	}
	if (have_d) {
		a.f = &fd;
		if ((a.vmap = calloc(fd.nval ? fd.nval : 1, 4)) == NULL) {
			rc = zn_err_set(err, ENOMEM, "out of memory");
			goto abort;
		}
		if ((rc = apply_delta(&a)) != 0)
			goto abort;
	}
	/* prove the result is the publisher's state */
	if ((rc = db_digest_txn(a.txn, db, zone, d, &nent, err)) != 0)
		goto abort;
	if (memcmp(d, t->digest, ZN_DIGEST_LEN) != 0 || nent != t->entries) {
		hex8(d, h1);
		hex8(t->digest, h2);
		rc = zn_err_set(err, EIO,
		    "after applying, the zone digest is %s... with %" PRIu64
		    " entries, not the manifest's %s... with %" PRIu64,
		    h1, nent, h2, t->entries);
		goto abort;
	}
	st->entries = nent;
	memset(&nst, 0, sizeof(nst));
	nst.serial = t->serial;
	memcpy(nst.digest, d, ZN_DIGEST_LEN);
	nst.entries = nent;
	nst.issued = t->issued;
	nst.expires = t->expires;
	nst.synced = now;
	memcpy(nst.keyid, t->keyid, ZN_FEED_KEYID_LEN);
	if ((rc = state_write(a.txn, db, zone, &nst, err)) != 0)
		goto abort;
	if ((rc = zn_writer_finish(a.zw)) != 0)
		goto abort;
	if (pg != NULL && pg->fn != NULL)
		pg->fn(pg->ctx, a.total, a.total);
	rc = mdb_txn_commit(a.txn);
	a.txn = NULL;
	if (rc != 0) {
		rc = mfail(err, rc, "commit");
		goto out;
	}
	rc = 0;
	goto out;
abort:
	mdb_txn_abort(a.txn);
	a.txn = NULL;
out:
	free(a.vmap);
	zn_writer_free(a.zw);
	if (have_s)
		ffile_cleanup(&fs);
	if (have_d)
		ffile_cleanup(&fd);
	return rc;
}

/*
 * Choosing and fetching.
 */
int
zn_feed_plan(struct zn_db *db, const struct zn_feed_manifest *m,
    const char *zone, int64_t now, int64_t skew,
    const struct zn_feed_file *files[2], size_t *nfiles,
    struct zn_feed_state *cur, struct zn_err *err)
{
	uint8_t d[ZN_DIGEST_LEN];
	uint64_t nent = 0;
	bool in_sync = false;
	size_t i;
	int rc;

	*nfiles = 0;
	memset(cur, 0, sizeof(*cur));
	if (strcmp(m->zone, zone) != 0)
		return zn_err_set(err, EINVAL,
		    "manifest is for zone %s, not %s", m->zone, zone);
	if (m->issued > now + skew)
		return zn_err_set(err, EINVAL,
		    "manifest issued %" PRId64 " s in the future (clock "
		    "skew allowed: %" PRId64 " s)",
		    m->issued - now, skew);
	if (now >= m->expires)
		return zn_err_set(err, ETIMEDOUT,
		    "manifest expired %" PRId64 " s ago (serial %" PRIu64
		    "): the feed is stale or frozen",
		    now - m->expires, m->serial);
	rc = zn_feed_state_get(db, zone, cur, err);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		/*
		 * Only a zone that is not stored means "no digest, fetch a
		 * snapshot"; a read error or a damaged record fails the sync
		 * before anything is fetched or changed.
		 */
		rc = zn_feed_db_digest(db, zone, d, &nent, err);
		if (rc != 0 && rc != -ENOENT)
			return zn_err_set(err, -rc,
			    "zone %s: cannot read its digest: %s", zone,
			    err != NULL ? err->msg : "read error");
		in_sync = rc == 0 &&
		    memcmp(d, cur->digest, ZN_DIGEST_LEN) == 0 &&
		    nent == cur->entries;
	}
	if (m->serial < cur->serial)
		return zn_err_set(err, ESTALE,
		    "manifest serial %" PRIu64 " is older than ours, %" PRIu64
		    ": rollback refused",
		    m->serial, cur->serial);
	if (m->serial == cur->serial && in_sync) {
		if (memcmp(m->digest, cur->digest, ZN_DIGEST_LEN) != 0)
			return zn_err_set(err, EINVAL,
			    "serial %" PRIu64 " has another digest than the "
			    "one we hold: the publisher's history changed",
			    m->serial);
		return 0;
	}
	if (in_sync)
		for (i = 0; i < m->ndeltas; i++)
			if (m->deltas[i].from == cur->serial) {
				files[0] = &m->deltas[i];
				*nfiles = 1;
				return 0;
			}
	files[(*nfiles)++] = &m->snapshot;
	if (m->snapshot.to < m->serial)
		for (i = 0; i < m->ndeltas; i++)
			if (m->deltas[i].from == m->snapshot.to)
				files[(*nfiles)++] = &m->deltas[i];
	return 0;
}

int
fd_load_listed(const char *dir, const struct zn_feed_file *f, uint8_t **out,
    struct zn_err *err)
{
	char name[64], path[4096];
	struct stat st;
	uint8_t h[ZN_FEED_HASH_LEN], *buf;
	size_t off = 0;
	int fd, e;

	zn_feed_file_name(f, name, sizeof(name));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return zn_err_set(err, ENAMETOOLONG, "%s: name too long", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return zn_err_set(err, errno, "%s: %s", name, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return zn_err_set(err, EINVAL, "%s: not a regular file", name);
	}
	if ((uint64_t)st.st_size != f->size) {
		close(fd);
		return zn_err_set(err, EINVAL,
		    "%s: %lld bytes, the manifest says %" PRIu64
		    " (truncated, padded or replaced)",
		    name, (long long)st.st_size, f->size);
	}
	if (f->size > SIZE_MAX / 2 ||
	    (buf = malloc(f->size ? f->size : 1)) == NULL) {
		close(fd);
		return zn_err_set(err, ENOMEM, "%s: out of memory", name);
	}
	while (off < f->size) {
		ssize_t r = read(fd, buf + off, f->size - off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r == 0 ? EIO : errno;
			free(buf);
			close(fd);
			return zn_err_set(err, e, "%s: %s", name,
			    r == 0 ? "shrank while read" : strerror(e));
		}
		off += r;
	}
	close(fd);
	fd_hash(buf, off, h);
	if (memcmp(h, f->hash, sizeof(h)) != 0) {
		free(buf);
		return zn_err_set(err, EINVAL,
		    "%s: BLAKE2b-256 is not the manifest's: the file was "
		    "altered or damaged",
		    name);
	}
	*out = buf;
	return 0;
}

static int
touch_state(struct zn_db *db, const struct zn_feed_manifest *m,
    struct zn_err *err)
{
	struct zn_feed_state st;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return mfail(err, rc, "begin write");
	if ((rc = state_read(txn, db, m->zone, &st, err)) != 0)
		goto abort;
	if (m->issued <= st.issued) {
		mdb_txn_abort(txn);
		return 0;
	}
	st.issued = m->issued;
	st.expires = m->expires;
	memcpy(st.keyid, m->keyid, ZN_FEED_KEYID_LEN);
	if ((rc = state_write(txn, db, m->zone, &st, err)) != 0)
		goto abort;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mfail(err, rc, "commit");
	return 0;
abort:
	mdb_txn_abort(txn);
	return rc;
}

int
zn_feed_apply_files(struct zn_db *db, const struct zn_feed_manifest *m,
    const char *dir, const struct zn_feed_file *const *files, size_t nfiles,
    int64_t now, struct zn_feed_stats *st, struct zn_err *err)
{
	return zn_feed_apply_files_progress(db, m, dir, files, nfiles, now,
	    NULL, st, err);
}

int
zn_feed_apply_files_progress(struct zn_db *db, const struct zn_feed_manifest *m,
    const char *dir, const struct zn_feed_file *const *files, size_t nfiles,
    int64_t now, const struct zn_feed_progress *pg, struct zn_feed_stats *st,
    struct zn_err *err)
{
	struct zn_feed_target t;
	uint8_t *snap = NULL, *delta = NULL;
	size_t sl = 0, dl = 0, i;
	int rc = 0;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (nfiles == 0)
		return touch_state(db, m, err);
	if (nfiles > 2)
		return zn_err_set(err, EINVAL, "too many files to apply");
	for (i = 0; i < nfiles && rc == 0; i++) {
		const struct zn_feed_file *f = files[i];

		if (f->from == f->to && snap == NULL) {
			if ((rc = fd_load_listed(dir, f, &snap, err)) == 0)
				sl = f->size;
		} else if (f->from != f->to && delta == NULL) {
			if ((rc = fd_load_listed(dir, f, &delta, err)) == 0)
				dl = f->size;
		} else
			rc = zn_err_set(err, EINVAL, "bad file plan");
	}
	if (rc == 0) {
		memset(&t, 0, sizeof(t));
		t.serial = m->serial;
		memcpy(t.digest, m->digest, ZN_DIGEST_LEN);
		t.entries = m->entries;
		t.issued = m->issued;
		t.expires = m->expires;
		memcpy(t.keyid, m->keyid, ZN_FEED_KEYID_LEN);
		rc = zn_feed_apply_mem_progress(db, m->zone, snap, sl, delta,
		    dl, &t, now, pg, st, err);
	}
	free(snap);
	free(delta);
	return rc;
}
