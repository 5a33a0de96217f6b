/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Read views and lookups with rbldnsd's semantics over the flattened
 * LMDB layout of zones.h.  Nothing here allocates per lookup.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "ip.h"

struct zn_view {
	struct zn_db *db;
	MDB_txn *txn;
	uint64_t gen;
	size_t txnid; /* a snapshot whose "#gen" was gen, or 0 */
	struct zn_zone *zones;
	size_t nzones;
	struct zn_zone *global; /* zone "" (global acl), or NULL */
	bool released; /* txn reset by zn_view_release */
	struct zn_polset *pol; /* local policy, one per zone, or NULL */
};

static void
subs_close(struct zn_dsref *subs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (subs[i].cursor != NULL)
			mdb_cursor_close(subs[i].cursor);
		free(subs[i].f4);
	}
}

static void
refs_free(struct zn_dsref *refs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* subset parameters are owned by the parent's subsets */
		subs_close(refs[i].subs, refs[i].nsubs);
		free(refs[i].subs);
		if (refs[i].cursor != NULL)
			mdb_cursor_close(refs[i].cursor);
		free(refs[i].f4);
		zn_dataset_free(refs[i].ds);
	}
	free(refs);
}

static void
zones_free(struct zn_zone *zones, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		refs_free(zones[i].refs, zones[i].nrefs);
		if (zones[i].acl != NULL)
			refs_free(zones[i].acl, 1);
		free(zones[i].wn);
	}
	free(zones);
}

/* A presentation name as an uncompressed wire name; 0 if invalid. */
static size_t
name_to_wire(const char *s, uint8_t *w, size_t size)
{
	size_t n = 0, start = 0, i, sl = strlen(s);

	if (sl > 0 && s[sl - 1] == '.')
		sl--;
	for (i = 0; i <= sl && sl > 0; i++) {
		size_t l;

		if (i < sl && s[i] != '.')
			continue;
		l = i - start;
		if (l == 0 || l > 63 || n + 1 + l + 1 > size)
			return 0;
		w[n++] = (uint8_t)l;
		memcpy(w + n, s + start, l);
		n += l;
		start = i + 1;
	}
	if (n + 1 > size)
		return 0;
	w[n++] = 0;
	return n;
}

/* Wire names a and b (each ending in the root label) are equal, ASCII
 * case aside (length bytes are below 'A'). */
static bool
wire_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		uint8_t x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
		uint8_t y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i];

		if (x != y)
			return false;
	}
	return true;
}

size_t
zn_wname_make(struct zn_wname *wn, const char *s, const char *zone)
{
	uint8_t zw[ZN_NAME_MAX + 1];
	size_t n, zn, i, j;

	memset(wn, 0, sizeof(*wn));
	/* 256 bytes at most, as answers always wrote them */
	if ((n = name_to_wire(s, wn->w, ZN_NAME_MAX + 1)) == 0)
		return 0;
	wn->len = wn->cut = (uint16_t)n;
	if (zone[0] == '\0' || (zn = name_to_wire(zone, zw, sizeof(zw))) < 2)
		return n;
	for (i = 0; wn->w[i] != 0; i += 1 + wn->w[i])
		for (j = 0; zw[j] != 0; j += 1 + zw[j])
			if (wire_eq(wn->w + i, n - i, zw + j, zn - j)) {
				wn->cut = (uint16_t)i;
				wn->zoff = (uint16_t)j;
				return n;
			}
	return n;
}

/* The zone's SOA and NS names in wire form (see struct zn_wname). */
static int
zone_wnames(struct zn_zone *z, struct zn_err *err)
{
	size_t i, nns = z->ns_ds != NULL ? z->ns_ds->nns : 0;

	if (z->soa_ds == NULL && nns == 0)
		return 0;
	if ((z->wn = calloc(2 + nns, sizeof(*z->wn))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	if (z->soa_ds != NULL) {
		zn_wname_make(&z->wn[0], z->soa_ds->soa.mname, z->name);
		zn_wname_make(&z->wn[1], z->soa_ds->soa.rname, z->name);
	}
	for (i = 0; i < nns; i++)
		zn_wname_make(&z->wn[2 + i], z->ns_ds->ns[i], z->name);
	return 0;
}

/* Open the entries database of a dataset in a short transaction of its
 * own, so the handle outlives it (see lmdb.h on mdb_dbi_open). */
static int
open_dbi(struct zn_db *db, uint32_t id, unsigned *dbi)
{
	MDB_txn *txn;
	MDB_dbi d;
	int rc;

	pthread_mutex_lock(&db->dbi_lock);
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) == 0) {
		rc = zn_ds_dbi(txn, id, false, &d);
		if (rc == 0)
			rc = zn_mdb_errno(mdb_txn_commit(txn));
		else
			mdb_txn_abort(txn);
	} else
		rc = zn_mdb_errno(rc);
	pthread_mutex_unlock(&db->dbi_lock);
	if (rc == 0)
		*dbi = d;
	return rc;
}

static int
load_ref(struct zn_view *v, uint32_t id, struct zn_dsref *ref,
    struct zn_err *err)
{
	struct zn_dsrec rec;
	size_t i;
	int rc;

	memset(ref, 0, sizeof(*ref));
	if ((rc = zn_dsrec_get(v->txn, v->db, id, &rec, err)) != 0)
		return rc;
	ref->id = id;
	memcpy(ref->digest, rec.digest, sizeof(ref->digest));
	ref->nent = rec.nent;
	for (i = 0; i < ZN_LABELS_MAX; i++)
		if (rec.wild[i] != 0)
			ref->wild_depths[i / 64] |= 1ull << (i % 64);
	if ((rc = open_dbi(v->db, id, &ref->dbi)) != 0) {
		zn_err_set(err, -rc, "dataset %u: cannot open its entries", id);
		goto out;
	}
	if (rec.nchild > 0) {
		ref->subs = calloc(rec.nchild, sizeof(*ref->subs));
		if (ref->subs == NULL) {
			rc = zn_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < rec.nchild; i++) {
			struct zn_dsref *sub = &ref->subs[i];
			struct zn_dataset *holder = rec.ds->subsets[i].ds;

			rc = load_ref(v, rec.child[i], sub, err);
			if (rc != 0)
				goto out;
			/* move the subset's parameters into the parent's
			 * subset slot, which owns them from now on */
			zn_dataset_free(holder);
			rec.ds->subsets[i].ds = sub->ds;
			ref->nsubs = i + 1;
		}
	}
	ref->ds = rec.ds;
	rec.ds = NULL;
	rc = 0;
out:
	if (rc != 0) {
		if (ref->subs != NULL) {
			for (i = 0; i < ref->nsubs; i++)
				free(ref->subs[i].subs);
			free(ref->subs);
			ref->subs = NULL;
		}
	}
	zn_dsrec_cleanup(&rec);
	return rc;
}

static void
zone_flags(struct zn_zone *z, const struct zn_dsref *r)
{
	size_t i;

	if (zn_type_is_ip4(r->ds->type))
		z->has_ip4 = true;
	if (zn_type_is_ip6(r->ds->type))
		z->has_ip6 = true;
	for (i = 0; i < r->nsubs; i++)
		zone_flags(z, &r->subs[i]);
}

static int
load_zone(struct zn_view *v, const MDB_val *key, const MDB_val *val,
    struct zn_zone *z, struct zn_err *err)
{
	const uint8_t *p = val->mv_data;
	size_t n, i;
	int rc;

	memset(z, 0, sizeof(*z));
	if (key->mv_size - 1 > ZN_NAME_MAX || val->mv_size < 4)
		return zn_err_set(err, EIO, "damaged zone record");
	memcpy(z->name, (const uint8_t *)key->mv_data + 1, key->mv_size - 1);
	z->name[key->mv_size - 1] = '\0';
	z->nlabels = z->name[0] == '\0' ? 0 : 1;
	for (i = 0; z->name[i] != '\0'; i++)
		z->nlabels += z->name[i] == '.';
	n = zn_get32(p);
	if (val->mv_size != 4 + 4 * n)
		return zn_err_set(err, EIO, "zone %s: damaged record", z->name);
	if ((z->refs = calloc(n ? n : 1, sizeof(*z->refs))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		struct zn_dsref r;

		if ((rc = load_ref(v, zn_get32(p + 4 + 4 * i), &r, err)) != 0)
			return rc;
		if (r.ds->type == ZN_ACL) {
			if (z->acl != NULL)
				refs_free(z->acl, 1);
			if ((z->acl = calloc(1, sizeof(*z->acl))) == NULL) {
				free(r.subs);
				zn_dataset_free(r.ds);
				return zn_err_set(err, ENOMEM, "out of memory");
			}
			*z->acl = r;
			continue;
		}
		z->refs[z->nrefs++] = r;
		if (z->soa_ds == NULL && r.ds->has_soa)
			z->soa_ds = r.ds;
		if (z->ns_ds == NULL && r.ds->nns > 0)
			z->ns_ds = r.ds;
		zone_flags(z, &r);
	}
	return zone_wnames(z, err);
}

_Static_assert(sizeof(((struct zn_dsref *)0)->digest) == ZN_DIGEST_LEN,
    "zn_dsref.digest holds a dataset digest");

/*
 * A new zone table takes over the /24 filters of the old one's datasets
 * whose entries did not change (the same id, entry count and digest, a
 * sum of hashes over every entry): a write to one zone does not make
 * every worker walk every big IPv4 dataset again (~45 ms per 1M entries).
 * Top-level datasets only; the subsets of combined ones are made anew.
 */
static void
filters_keep(struct zn_zone *nz, size_t nn, struct zn_zone *oz, size_t on)
{
	size_t i, j, k, l;

	for (i = 0; i < nn; i++)
		for (j = 0; j < nz[i].nrefs; j++) {
			struct zn_dsref *r = &nz[i].refs[j];

			for (k = 0; k < on && !r->f4_kept; k++)
				for (l = 0; l < oz[k].nrefs; l++) {
					struct zn_dsref *o = &oz[k].refs[l];

					if (o->f4 == NULL || o->id != r->id ||
					    o->nent != r->nent ||
					    memcmp(o->digest, r->digest,
					        sizeof(r->digest)) != 0)
						continue;
					r->f4 = o->f4;
					r->f4_kept = true;
					o->f4 = NULL;
					break;
				}
		}
}

static int
load_table(struct zn_view *v, struct zn_err *err)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t zk[1] = { 'Z' };
	struct zn_zone *zones = NULL;
	size_t n = 0, cap = 0;
	MDB_dbi pdbi;
	int rc, orc;

	/* open the policy store's handle now, so that the transaction
	 * renewed after the load knows it (see sync_table) */
	(void)zn_policy_dbi(v->db, false, &pdbi);
	if ((rc = mdb_cursor_open(v->txn, v->db->meta, &c)) != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "meta: %s",
		    mdb_strerror(rc));
	key = (MDB_val){ 1, zk };
	for (orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	     orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'Z';
	     orc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		if (n == cap) {
			struct zn_zone *nz;

			cap = cap ? cap * 2 : 16;
			nz = reallocarray(zones, cap, sizeof(*zones));
			if (nz == NULL) {
				rc = zn_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			zones = nz;
		}
		rc = load_zone(v, &key, &val, &zones[n], err);
		n++;
		if (rc != 0)
			goto out;
	}
	if (orc != 0 && orc != MDB_NOTFOUND) {
		rc = zn_err_set(err, -zn_mdb_errno(orc), "meta: %s",
		    mdb_strerror(orc));
		goto out;
	}
	zn_policy_free(v->pol, v->nzones);
	v->pol = NULL;
	filters_keep(zones, n, v->zones, v->nzones);
	zones_free(v->zones, v->nzones);
	v->zones = zones;
	v->nzones = n;
	v->global = NULL;
	for (size_t i = 0; i < n; i++)
		if (zones[i].name[0] == '\0')
			v->global = &zones[i];
	zones = NULL;
	n = 0;
	rc = 0;
out:
	zones_free(zones, n);
	mdb_cursor_close(c);
	return rc;
}

static int
ref_cursor(MDB_txn *txn, struct zn_dsref *r)
{
	size_t i;
	int rc;

	if (r->cursor == NULL)
		rc = mdb_cursor_open(txn, r->dbi, (MDB_cursor **)&r->cursor);
	else
		rc = mdb_cursor_renew(txn, r->cursor);
	for (i = 0; rc == 0 && i < r->nsubs; i++)
		rc = ref_cursor(txn, &r->subs[i]);
	return rc;
}

/* Open (or renew, after the transaction was renewed) every cursor. */
static int
cursors_renew(struct zn_view *v, struct zn_err *err)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; rc == 0 && i < v->nzones; i++) {
		struct zn_zone *z = &v->zones[i];

		for (j = 0; rc == 0 && j < z->nrefs; j++)
			rc = ref_cursor(v->txn, &z->refs[j]);
		if (rc == 0 && z->acl != NULL)
			rc = ref_cursor(v->txn, z->acl);
	}
	if (rc != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "cursor: %s",
		    mdb_strerror(rc));
	return 0;
}

/*
 * The /24 filter of an IPv4 dataset: a lookup of an address whose /24
 * no entry touches needs no B-tree walk.  Made from the snapshot whose
 * generation the zone table has; every write of entries bumps the
 * generation, and a new one loads a new table and new filters, so a
 * filter never outlives the data it describes.  Anything unexpected in
 * the entries leaves the dataset without a filter (lookups as before).
 */
#define F4_BYTES ((size_t)1 << 21) /* 2^24 bits */
#define F4_MIN_ENTRIES 1024 /* smaller datasets: a short walk anyway */
#define F4_MAX_ENTRIES 4000000 /* the walk that makes it: ~0.2 s */

static void
ref_filter(MDB_txn *txn, struct zn_dsref *r)
{
	uint8_t k0 = ZN_KEY_IP4;
	MDB_val key = { 1, &k0 }, val;
	MDB_stat st;
	size_t i;
	int rc;

	for (i = 0; i < r->nsubs; i++)
		ref_filter(txn, &r->subs[i]);
	if (r->f4_kept) {
		r->f4_kept = false; /* the same entries: the same filter */
		return;
	}
	free(r->f4);
	r->f4 = NULL;
	if (!zn_type_is_ip4(r->ds->type) || r->cursor == NULL ||
	    mdb_stat(txn, r->dbi, &st) != 0 || st.ms_entries < F4_MIN_ENTRIES ||
	    st.ms_entries > F4_MAX_ENTRIES)
		return;
	if ((r->f4 = calloc(1, F4_BYTES)) == NULL)
		return;
	for (rc = mdb_cursor_get(r->cursor, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(r->cursor, &key, &val, MDB_NEXT)) {
		const uint8_t *k = key.mv_data;
		uint32_t lo, hi, p;

		if (key.mv_size == 0 || k[0] != ZN_KEY_IP4)
			return; /* past the IPv4 keys: done */
		if (key.mv_size != 5 || val.mv_size != 8)
			break;
		hi = zn_get32(k + 1) >> 8;
		lo = zn_get32(val.mv_data) >> 8;
		if (lo > hi)
			break;
		for (p = lo; p <= hi; p++)
			r->f4[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
	if (rc == MDB_NOTFOUND)
		return;
	free(r->f4); /* damaged entries or a read error: no filter */
	r->f4 = NULL;
}

static void
filters_make(struct zn_view *v)
{
	size_t i, j;

	for (i = 0; i < v->nzones; i++)
		for (j = 0; j < v->zones[i].nrefs; j++)
			ref_filter(v->txn, &v->zones[i].refs[j]);
}

static uint64_t
read_gen(struct zn_view *v)
{
	MDB_val key = { 4, (void *)(uintptr_t) "#gen" }, val;
	const uint8_t *p;

	if (mdb_get(v->txn, v->db->meta, &key, &val) != 0 || val.mv_size != 8)
		return 0;
	p = val.mv_data;
	return (uint64_t)zn_get32(p) << 32 | zn_get32(p + 4);
}

/*
 * Bring the zone table up to the generation the transaction sees.  The
 * entries' database handles are opened in transactions of their own,
 * which a read transaction begun earlier does not know, so after loading
 * the table the transaction is renewed; if a writer committed meanwhile,
 * the table is loaded again (bounded).
 */
static int
sync_table(struct zn_view *v, bool force, struct zn_err *err)
{
	int tries, rc, changed = 0;

	for (tries = 0; tries < 8; tries++) {
		uint64_t gen;

		/* no commit since that snapshot: the same generation, and
		 * no "#gen" look-up per batch */
		if (!force && v->txnid != 0 && mdb_txn_id(v->txn) == v->txnid)
			return changed ? changed : cursors_renew(v, err);
		gen = read_gen(v);
		if (!force && gen == v->gen) {
			v->txnid = mdb_txn_id(v->txn);
			return changed ? changed : cursors_renew(v, err);
		}
		force = false;
		v->txnid = 0;
		rc = load_table(v, err);
		if (rc == 0)
			v->gen = gen;
		mdb_txn_reset(v->txn);
		if ((rc = mdb_txn_renew(v->txn)) != 0)
			return zn_err_set(err, -zn_mdb_errno(rc), "read: %s",
			    mdb_strerror(rc));
		/* the renewed snapshot must still be that generation: the
		 * filters are made in it and kept on the digests read in the
		 * last one (filters_keep) */
		if (gen == v->gen && read_gen(v) == gen) {
			changed = 1;
			if ((rc = cursors_renew(v, err)) != 0)
				return rc;
			filters_make(v);
			rc = zn_policy_load(v->txn, v->db, v->zones, v->nzones,
			    &v->pol, err);
			if (rc == -EAGAIN) {
				force = true; /* a policy store this
						 transaction did not know */
				continue;
			}
			if (rc != 0) {
				v->gen = ~gen; /* load it all again next time */
				return rc;
			}
		} else
			force = true; /* the load failed or a writer
					 committed meanwhile: again */
	}
	return zn_err_set(err, EAGAIN,
	    "zone table: the database kept changing while it was read");
}

int
zn_view_open(struct zn_db *db, struct zn_view **out, struct zn_err *err)
{
	struct zn_view *v;
	int rc;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	v->db = db;
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &v->txn)) != 0) {
		rc = zn_err_set(err, -zn_mdb_errno(rc), "read: %s",
		    mdb_strerror(rc));
		free(v);
		return rc;
	}
	if ((rc = sync_table(v, true, err)) < 0) {
		zn_view_close(v);
		return rc;
	}
	*out = v;
	return 0;
}

int
zn_view_refresh(struct zn_view *v, struct zn_err *err)
{
	int rc;

	if (!v->released)
		mdb_txn_reset(v->txn);
	v->released = true;
	if ((rc = mdb_txn_renew(v->txn)) != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "read: %s",
		    mdb_strerror(rc));
	v->released = false;
	return sync_table(v, false, err);
}

void
zn_view_release(struct zn_view *v)
{
	if (v == NULL || v->released)
		return;
	mdb_txn_reset(v->txn);
	v->released = true;
}

void
zn_view_close(struct zn_view *v)
{
	if (v == NULL)
		return;
	zn_policy_free(v->pol, v->nzones);
	zones_free(v->zones, v->nzones);
	if (v->txn != NULL)
		mdb_txn_abort(v->txn);
	free(v);
}

const struct zn_zone *
zn_view_zones(const struct zn_view *v, size_t *n)
{
	*n = v->nzones;
	return v->zones;
}

const struct zn_zone *
zn_view_global_acl(const struct zn_view *v)
{
	return v->global;
}

uint64_t
zn_view_generation(const struct zn_view *v)
{
	return v->gen;
}

MDB_txn *
zn_view_txn(const struct zn_view *v)
{
	return v->txn;
}

const struct zn_policy_entry *
zn_policy_match(const struct zn_view *v, const struct zn_zone *z,
    const struct zn_qname *q, unsigned nkey)
{
	if (v->pol == NULL || z < v->zones || z >= v->zones + v->nzones)
		return NULL;
	return zn_polset_match(&v->pol[z - v->zones], q, nkey);
}

/*
 * Query names.
 */
static int
qname_add(struct zn_qname *q, const uint8_t *lab, size_t len, size_t *used)
{
	size_t i;

	if (len == 0 || len > 63 || q->nlabels >= ZN_LABELS_MAX ||
	    *used + len > sizeof(q->buf))
		return -EINVAL;
	q->off[q->nlabels] = *used;
	q->len[q->nlabels] = len;
	for (i = 0; i < len; i++) {
		uint8_t ch = lab[i];

		q->buf[*used + i] = ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
	}
	*used += len;
	q->nlabels++;
	return 0;
}

int
zn_qname_from_text(struct zn_qname *q, const char *s)
{
	size_t used = 0, n = strlen(s), start = 0, i;

	q->nlabels = 0;
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return 0;
	if (n > 253)
		return -EINVAL;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (qname_add(q, (const uint8_t *)s + start, i - start,
		        &used) != 0)
			return -EINVAL;
		start = i + 1;
	}
	return 0;
}

int
zn_qname_from_wire(struct zn_qname *q, const uint8_t *w, size_t len)
{
	size_t off = 0, used = 0;

	q->nlabels = 0;
	while (off < len) {
		size_t l = w[off];

		if (l == 0)
			return off + 1 == len ? 0 : -EINVAL;
		if (l > 63 || off + 1 + l > len)
			return -EINVAL;
		if (qname_add(q, w + off + 1, l, &used) != 0)
			return -EINVAL;
		off += 1 + l;
	}
	return -EINVAL;
}

static bool
label_eq(const struct zn_qname *q, unsigned i, const char *s, size_t n)
{
	return q->len[i] == n && memcmp(q->buf + q->off[i], s, n) == 0;
}

/* Does q end with the labels of dotted name s (m labels)? */
static bool
ends_with(const struct zn_qname *q, unsigned upto, const char *s, unsigned m)
{
	const char *end = s + strlen(s);
	unsigned i;

	if (m > upto)
		return false;
	for (i = upto; i-- > upto - m;) {
		const char *dot = end;

		while (dot > s && dot[-1] != '.')
			dot--;
		if (!label_eq(q, i, dot, (size_t)(end - dot)))
			return false;
		end = dot > s ? dot - 1 : s;
	}
	return true;
}

static unsigned
count_labels(const char *s)
{
	unsigned n = 0;

	if (*s == '\0')
		return 0;
	for (n = 1; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

const struct zn_zone *
zn_view_match(const struct zn_view *v, const struct zn_qname *q, unsigned *nkey)
{
	const struct zn_zone *best = NULL;
	size_t i;

	for (i = 0; i < v->nzones; i++) {
		const struct zn_zone *z = &v->zones[i];

		if (z->name[0] == '\0' || z->nrefs == 0)
			continue;
		if (best != NULL && z->nlabels <= best->nlabels)
			continue;
		if (ends_with(q, q->nlabels, z->name, z->nlabels))
			best = z;
	}
	if (best != NULL)
		*nkey = q->nlabels - best->nlabels;
	return best;
}

/*
 * Lookups.
 *
 * A key is always the labels [0, n) of the query name: the part left of
 * the zone, or left of a subzone inside a combined dataset.  The datasets
 * consulted together for one key form a scope: the zone's own datasets,
 * or the subsets of one combined dataset that serve the most specific
 * subzone holding the name (rbldnsd's findqzone).  How the key reads as
 * an address depends on the scope: a 32-nibble name is also an IPv4
 * address (6to4, v4-mapped) only where the scope has IPv4 datasets, and a
 * v4-mapped name then skips the IPv6 datasets of that scope.
 */
struct ctx {
	const struct zn_view *v;
	const struct zn_qname *q;
	struct zn_result *r;
	int acl; /* ZN_ACL_* of the client */
	const struct zn_resval *aclval; /* for ZN_ACL_LISTED */
	bool acl_added;
	int err;
};

struct scope {
	const struct zn_dsref *refs;
	size_t nrefs;
	const struct zn_dataset *comb; /* combined: its subsets; else NULL */
	const char *sub; /* combined: the subzone served */
	unsigned n; /* key labels */
	bool ip4, ip6; /* the key is an IPv4 / IPv6 address here */
	uint8_t a4[4], a6[16];
	const char *s4, *s6, *name; /* subjects, formatted when needed */
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* Keep a copy of s[0..len) in the result for a value's subject. */
static const char *
subject_put(struct ctx *c, const char *s, size_t len)
{
	struct zn_result *r = c->r;
	char *p;

	if (r->subj_used + len + 1 > sizeof(r->subjects))
		return "";
	p = r->subjects + r->subj_used;
	memcpy(p, s, len);
	p[len] = '\0';
	r->subj_used += len + 1;
	return p;
}

/* The labels [0, n) of q as text into buf (at least ZN_NAME_MAX + 1). */
static size_t
key_text(const struct zn_qname *q, unsigned n, char *buf)
{
	size_t pos = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (pos + q->len[i] + 1 > ZN_NAME_MAX)
			break;
		if (i > 0)
			buf[pos++] = '.';
		memcpy(buf + pos, q->buf + q->off[i], q->len[i]);
		pos += q->len[i];
	}
	buf[pos] = '\0';
	return pos;
}

/* The scope's i-th dataset, or NULL if it does not serve the subzone. */
static const struct zn_dsref *
scope_ref(const struct scope *s, size_t i)
{
	const struct zn_subset *ss;
	size_t j;

	if (s->comb == NULL)
		return &s->refs[i];
	if (i >= s->comb->nsubsets)
		return NULL;
	ss = &s->comb->subsets[i];
	for (j = 0; j < ss->nsub; j++)
		if (strcmp(ss->subzones[j], s->sub) == 0)
			return &s->refs[i];
	return NULL;
}

/* Add the values of an answer blob; excluded blobs are reported. */
static bool
add_answer(struct ctx *c, const struct zn_dataset *ds, const uint8_t *b,
    size_t len, const char *subject)
{
	size_t off = 1;

	if (len < 1 || (b[0] & ZN_ANS_EXCLUDED))
		return false;
	while (off + 6 <= len) {
		struct zn_resval *rv;
		uint8_t tl = b[off + 5];

		if (off + 6 + tl > len) {
			c->err = -EIO;
			break;
		}
		if (c->r->nval == ZN_RES_VALS) {
			c->r->flags |= ZN_R_TRUNC;
			break;
		}
		rv = &c->r->val[c->r->nval++];
		rv->ds = ds;
		rv->a = zn_get32(b + off);
		rv->tkind = b[off + 4];
		rv->tlen = tl;
		rv->txt = (const char *)b + off + 6;
		rv->subject = subject;
		off += 6 + tl;
	}
	c->r->flags |= ZN_R_LISTED;
	return true;
}

/*
 * rbldnsd's check_query_overwrites, for a data dataset that has a
 * well-formed query: true if the client's acl answers instead of the data
 * (nothing for "empty", the acl's value once for "always listed").
 */
static bool
acl_answers(struct ctx *c)
{
	if (c->acl == ZN_ACL_EMPTY)
		return true;
	if (c->acl != ZN_ACL_LISTED || c->aclval == NULL)
		return false;
	if (!c->acl_added) {
		c->acl_added = true;
		if (c->r->nval == ZN_RES_VALS)
			c->r->flags |= ZN_R_TRUNC;
		else
			c->r->val[c->r->nval++] = *c->aclval;
		c->r->flags |= ZN_R_LISTED;
	}
	return true;
}

static int
value_of(const struct ctx *c, const uint8_t *idp, MDB_val *blob)
{
	uint8_t k[4];
	MDB_val key = { 4, k };

	memcpy(k, idp, 4);
	return mdb_get(c->v->txn, c->v->db->values, &key, blob);
}

/*
 * The interval of dataset dbi holding address addr (alen 4 or 16), or
 * with any address in [addr, hi] if hi != NULL.  Returns 1 and the value
 * blob if found, 0 if not, negative on error.
 */
static int
interval_find(const struct ctx *c, const struct zn_dsref *ref,
    const uint8_t *addr, const uint8_t *hi, size_t alen, MDB_val *blob)
{
	uint8_t kb[17];
	MDB_val key = { alen + 1, kb }, val;
	const uint8_t *lo;
	int rc;

	if (alen == 4 && hi == NULL && ref->f4 != NULL) {
		uint32_t p = zn_get32(addr) >> 8;

		if ((ref->f4[p >> 3] & (1u << (p & 7))) == 0)
			return 0; /* no entry in addr's /24 */
	}
	kb[0] = alen == 4 ? ZN_KEY_IP4 : ZN_KEY_IP6;
	memcpy(kb + 1, addr, alen);
	rc = mdb_cursor_get(ref->cursor, &key, &val, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return zn_mdb_errno(rc);
	if (key.mv_size != alen + 1 || ((uint8_t *)key.mv_data)[0] != kb[0])
		return 0;
	if (val.mv_size != alen + 4)
		return -EIO;
	lo = val.mv_data;
	if (memcmp(lo, hi != NULL ? hi : addr, alen) > 0)
		return 0;
	if (blob == NULL)
		return 1;
	if ((rc = value_of(c, lo + alen, blob)) != 0)
		return rc == MDB_NOTFOUND ? -EIO : zn_mdb_errno(rc);
	return 1;
}

/* Parse the reversed IPv4 of labels [0, n); 0 or -1. */
static int
rev_ip4(const struct zn_qname *q, unsigned n, uint8_t *a)
{
	return zn_rev_addr(q, n, ZN_REV_IP4, a);
}

/* Parse n reversed nibbles; the address bits past them are zero. */
static int
rev_ip6(const struct zn_qname *q, unsigned n, uint8_t *a)
{
	return zn_rev_addr(q, n, ZN_REV_IP6, a);
}

/* How the scope's key reads as an address (rbldnsd's dntoip). */
static void
scope_parse(const struct ctx *c, struct scope *s)
{
	bool has4 = false;
	size_t i;

	for (i = 0; i < s->nrefs && !has4; i++) {
		const struct zn_dsref *ref = scope_ref(s, i);

		has4 = ref != NULL && zn_type_is_ip4(ref->ds->type);
	}
	s->ip4 = s->n == 4 && rev_ip4(c->q, 4, s->a4) == 0;
	s->ip6 = !s->ip4 && s->n == 32 && rev_ip6(c->q, 32, s->a6) == 0;
	if (s->ip6 && has4) {
		if (s->a6[0] == 0x20 && s->a6[1] == 0x02) {
			/* 6to4: both the IPv6 and the embedded IPv4 */
			memcpy(s->a4, s->a6 + 2, 4);
			s->ip4 = true;
		} else if (memcmp(s->a6, v4mapped, 12) == 0) {
			/* v4-mapped: the IPv4 datasets only */
			memcpy(s->a4, s->a6 + 12, 4);
			s->ip4 = true;
			s->ip6 = false;
		}
	}
}

/* Look up the scope's address in an IP dataset; the subject ($ in TXT)
 * is the address as this dataset reads it. */
static int
lookup_addr(struct ctx *c, struct scope *s, const struct zn_dsref *ref, bool v4)
{
	MDB_val blob;
	char buf[48];
	const char **subj = v4 ? &s->s4 : &s->s6;
	int rc =
	    interval_find(c, ref, v4 ? s->a4 : s->a6, NULL, v4 ? 4 : 16, &blob);

	if (rc <= 0)
		return rc;
	if (*subj == NULL) {
		if (v4)
			zn_ip4_format(zn_get32(s->a4), buf);
		else
			zn_ip6_format(s->a6, buf);
		*subj = subject_put(c, buf, strlen(buf));
		if (c->r->ip_subject[0] == '\0')
			memcpy(c->r->ip_subject, buf, strlen(buf) + 1);
	}
	add_answer(c, ref->ds, blob.mv_data, blob.mv_size, *subj);
	return 0;
}

static int
lookup_ip(struct ctx *c, struct scope *s, const struct zn_dsref *ref)
{
	bool v4 = zn_type_is_ip4(ref->ds->type);
	unsigned n = s->n, i;
	uint8_t a[16], hi[16];
	int rc;

	if (v4 ? s->ip4 : s->ip6) {
		if (acl_answers(c))
			return 0;
		return lookup_addr(c, s, ref, v4);
	}
	if (c->acl == ZN_ACL_EMPTY)
		return 0;
	/* a partial address with listings below it: an empty non-terminal */
	if (v4 && n > 0 && n < 4 && rev_ip4(c->q, n, a) == 0) {
		memset(hi, 0xff, 4);
		memcpy(hi, a, n);
		memset(a + n, 0, 4 - n);
	} else if (!v4 && n > 0 && n < 32 && rev_ip6(c->q, n, a) == 0) {
		memcpy(hi, a, 16);
		for (i = n; i < 32; i++)
			hi[i / 2] |= i % 2 ? 0x0f : 0xf0;
	} else
		return 0;
	if ((rc = interval_find(c, ref, a, hi, v4 ? 4 : 16, NULL)) > 0)
		c->r->flags |= ZN_R_ENT;
	return rc < 0 ? rc : 0;
}

/*
 * Name keys: 'N' or 'G', then labels [first, first+n) reversed, each
 * followed by 0.  Returns the key length or -1 (a label with a NUL byte
 * can never match a dataset entry).
 */
static int
name_key(const struct zn_qname *q, unsigned first, unsigned n, uint8_t tag,
    uint8_t *k)
{
	size_t len = 1;
	unsigned i;

	k[0] = tag;
	for (i = first + n; i-- > first;) {
		const uint8_t *l = q->buf + q->off[i];

		if (memchr(l, 0, q->len[i]) != NULL ||
		    len + q->len[i] + 1 > ZN_KEY_MAX - 3)
			return -1;
		memcpy(k + len, l, q->len[i]);
		len += q->len[i];
		k[len++] = 0;
	}
	return (int)len;
}

/* The subject of a dnset entry matching the key without its first skip
 * labels: the entry's name, relative to the zone or subzone. */
static const char *
name_subject(struct ctx *c, struct scope *s, unsigned skip)
{
	char buf[ZN_NAME_MAX + 1];
	size_t pos = 0, len;
	unsigned i;

	if (s->name == NULL) {
		len = key_text(c->q, s->n, buf);
		s->name = subject_put(c, buf, len);
	}
	for (i = 0; i < skip; i++)
		pos += c->q->len[i] + 1;
	len = strlen(s->name);
	return pos < len ? s->name + pos : "";
}

static int
lookup_dnset(struct ctx *c, struct scope *s, const struct zn_dsref *ref)
{
	uint8_t k[ZN_KEY_MAX];
	MDB_val key, val, blob;
	unsigned n = s->n, m;
	int klen, rc;

	if (n == 0 || acl_answers(c))
		return 0;
	if ((klen = name_key(c->q, 0, n, ZN_KEY_NAME, k)) < 0)
		return 0;
	k[klen] = ZN_NAME_EXACT;
	key = (MDB_val){ klen + 1, k };
	rc = mdb_cursor_get(ref->cursor, &key, &val, MDB_SET_RANGE);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return zn_mdb_errno(rc);
	if (rc == 0 && key.mv_size == (size_t)klen + 1 &&
	    memcmp(key.mv_data, k, klen + 1) == 0) {
		/* a plain entry decides, exclusion or not */
		if (val.mv_size != 4 || (rc = value_of(c, val.mv_data, &blob)))
			return -EIO;
		add_answer(c, ref->ds, blob.mv_data, blob.mv_size,
		    name_subject(c, s, 0));
		return 0;
	}
	/* the first key past the name itself, if it shares the prefix, is a
	 * wildcard for the name or a name below it */
	if (rc == 0 && key.mv_size > (size_t)klen &&
	    memcmp(key.mv_data, k, klen) == 0)
		c->r->flags |= ZN_R_ENT;
	/* the longest matching wildcard, stripping at least one label */
	for (m = n - 1;; m--) {
		int wl;

		if (m < 128 && (ref->wild_depths[m / 64] >> (m % 64) & 1)) {
			wl = name_key(c->q, n - m, m, ZN_KEY_NAME, k);
			if (wl < 0)
				return 0;
			k[wl] = ZN_NAME_WILD;
			key = (MDB_val){ wl + 1, k };
			rc = mdb_get(c->v->txn, ref->dbi, &key, &val);
			if (rc == 0) {
				if (val.mv_size != 4 ||
				    value_of(c, val.mv_data, &blob) != 0)
					return -EIO;
				if (add_answer(c, ref->ds, blob.mv_data,
				        blob.mv_size,
				        name_subject(c, s, n - m)))
					c->r->flags &= ~ZN_R_ENT;
				return 0;
			}
			if (rc != MDB_NOTFOUND)
				return zn_mdb_errno(rc);
		}
		if (m == 0)
			break;
	}
	return 0;
}

static int
lookup_generic(struct ctx *c, const struct zn_dsref *ref, unsigned n)
{
	uint8_t k[ZN_KEY_MAX];
	MDB_cursor *cur;
	MDB_val key, val, blob;
	int klen, rc;
	unsigned guard;

	if ((klen = name_key(c->q, 0, n, ZN_KEY_GENERIC, k)) < 0)
		return 0;
	key = (MDB_val){ klen, k };
	cur = ref->cursor;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	for (guard = 0; rc == 0 && guard < 65536; guard++) {
		const uint8_t *kd = key.mv_data;

		if (key.mv_size < (size_t)klen || memcmp(kd, k, klen) != 0)
			break;
		if (key.mv_size != (size_t)klen + 2 || kd[klen] != 0) {
			/* a name below this one */
			c->r->flags |= ZN_R_ENT;
			break;
		}
		c->r->flags |= ZN_R_EXISTS;
		if (val.mv_size != 4 || value_of(c, val.mv_data, &blob) != 0) {
			rc = -EIO;
			goto out;
		}
		if (c->r->nrr == ZN_RES_RRS) {
			c->r->flags |= ZN_R_TRUNC;
			break;
		}
		c->r->rr[c->r->nrr++] = (struct zn_resrr){ ref->ds,
			(uint16_t)(kd[klen] << 8 | kd[klen + 1]), blob.mv_data,
			(uint32_t)blob.mv_size };
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : zn_mdb_errno(rc);
out:
	return rc;
}

static int lookup_scope(struct ctx *c, struct scope *s);

/* Does subzone sz (m labels, m > n) lie below the key labels [0, n)? */
static bool
above_subzone(const struct ctx *c, unsigned n, const char *sz, unsigned m)
{
	struct zn_qname sq;
	unsigned k;

	if (zn_qname_from_text(&sq, sz) != 0 || sq.nlabels != m)
		return false;
	for (k = 0; k < n; k++)
		if (sq.len[m - n + k] != c->q->len[k] ||
		    memcmp(sq.buf + sq.off[m - n + k], c->q->buf + c->q->off[k],
		        sq.len[k + m - n]) != 0)
			return false;
	return true;
}

/*
 * A combined dataset: only the subsets serving the most specific subzone
 * that holds the key answer, with the key relative to that subzone; the
 * subzone's own name exists.
 */
static int
lookup_combined(struct ctx *c, const struct zn_dsref *ref, unsigned n)
{
	const struct zn_dataset *ds = ref->ds;
	const char *best = NULL;
	unsigned bestm = 0, m;
	size_t i, j;
	struct scope s;

	for (i = 0; i < ref->nsubs && i < ds->nsubsets; i++) {
		const struct zn_subset *ss = &ds->subsets[i];

		for (j = 0; j < ss->nsub; j++) {
			m = count_labels(ss->subzones[j]);
			if (m > n) {
				/* the name is above the subzone: an ENT */
				if (above_subzone(c, n, ss->subzones[j], m))
					c->r->flags |= ZN_R_ENT;
				continue;
			}
			if ((best == NULL || m > bestm) &&
			    ends_with(c->q, n, ss->subzones[j], m)) {
				best = ss->subzones[j];
				bestm = m;
			}
		}
	}
	if (best == NULL)
		return 0;
	if (n == bestm)
		c->r->flags |= ZN_R_EXISTS;
	memset(&s, 0, sizeof(s));
	s.refs = ref->subs;
	s.nrefs = ref->nsubs;
	s.comb = ds;
	s.sub = best;
	s.n = n - bestm;
	return lookup_scope(c, &s);
}

static int
lookup_ref(struct ctx *c, struct scope *s, const struct zn_dsref *ref)
{
	switch (ref->ds->type) {
	case ZN_IP4SET:
	case ZN_IP4TSET:
	case ZN_IP4TRIE:
	case ZN_IP6TSET:
	case ZN_IP6TRIE:
		return s->n == 0 ? 0 : lookup_ip(c, s, ref);
	case ZN_DNSET:
		return lookup_dnset(c, s, ref);
	case ZN_GENERIC:
		return lookup_generic(c, ref, s->n);
	case ZN_COMBINED:
		/* rbldnsd does not nest combined datasets */
		return s->comb == NULL ? lookup_combined(c, ref, s->n) : 0;
	case ZN_ACL:
	case ZN_NTYPES:
		break;
	}
	return 0;
}

static int
lookup_scope(struct ctx *c, struct scope *s)
{
	size_t i;
	int rc;

	scope_parse(c, s);
	for (i = 0; i < s->nrefs; i++) {
		const struct zn_dsref *ref = scope_ref(s, i);

		if (ref != NULL && (rc = lookup_ref(c, s, ref)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Local policy over what the datasets said: an allow entry unlists the
 * key, a deny entry answers its own value instead of theirs.
 */
static void
apply_policy(struct ctx *c, const struct zn_zone *z, unsigned nkey)
{
	const struct zn_policy_entry *pe = zn_policy_match(c->v, z, c->q, nkey);
	struct zn_result *r = c->r;
	struct zn_resval *rv;

	if (pe == NULL)
		return;
	r->nval = 0;
	r->flags &= ~(ZN_R_LISTED | ZN_R_TRUNC);
	if (pe->action != ZN_POLICY_DENY)
		return;
	rv = &r->val[r->nval++];
	rv->ds = z->nrefs > 0 ? z->refs[0].ds : NULL; /* for the TTL */
	rv->a = pe->a;
	rv->tkind = ZN_TXT_OWN;
	rv->txt = pe->reason[0] != '\0' ? pe->reason : "listed by local policy";
	rv->tlen = (uint8_t)strlen(rv->txt);
	if (r->ip_subject[0] == '\0') {
		uint8_t a[16];

		if (nkey == 4 && rev_ip4(c->q, 4, a) == 0)
			zn_ip4_format(zn_get32(a), r->ip_subject);
		else if (nkey == 32 && rev_ip6(c->q, 32, a) == 0)
			zn_ip6_format(a, r->ip_subject);
	}
	rv->subject =
	    r->ip_subject[0] != '\0' ? r->ip_subject : r->name_subject;
	r->flags |= ZN_R_LISTED;
}

int
zn_lookup_client(const struct zn_view *v, const struct zn_zone *z,
    const struct zn_qname *q, unsigned nkey, int acl,
    const struct zn_resval *aclval, struct zn_result *r)
{
	struct ctx c = { .v = v, .q = q, .r = r, .acl = acl, .aclval = aclval };
	struct scope s;
	int rc;

	r->flags = 0;
	r->nval = r->nrr = 0;
	r->ip_subject[0] = '\0';
	r->subj_used = 0;
	if (nkey > q->nlabels)
		return -EINVAL;
	key_text(q, nkey, r->name_subject);
	if (nkey == 0)
		r->flags |= ZN_R_EXISTS;
	memset(&s, 0, sizeof(s));
	s.refs = z->refs;
	s.nrefs = z->nrefs;
	s.n = nkey;
	if ((rc = lookup_scope(&c, &s)) != 0)
		return rc;
	if (c.err != 0)
		return c.err;
	if (v->pol != NULL && acl == ZN_ACL_PASS)
		apply_policy(&c, z, nkey);
	if (r->flags & (ZN_R_LISTED | ZN_R_EXISTS))
		r->flags &= ~ZN_R_ENT;
	return 0;
}

int
zn_lookup(const struct zn_view *v, const struct zn_zone *z,
    const struct zn_qname *q, unsigned nkey, struct zn_result *r)
{
	return zn_lookup_client(v, z, q, nkey, ZN_ACL_PASS, NULL, r);
}

static int
acl_one(const struct zn_view *v, const struct zn_dsref *ref,
    const uint8_t *addr, size_t alen, struct zn_resval *val, int *action)
{
	struct zn_result r;
	struct ctx c = { .v = v, .r = &r };
	MDB_val blob;
	const uint8_t *b;
	int rc;

	*action = -1;
	if (ref == NULL)
		return 0;
	rc = interval_find(&c, ref, addr, NULL, alen, &blob);
	if (rc <= 0)
		return rc;
	b = blob.mv_data;
	if (blob.mv_size < 1 || b[0] > ZN_ACL_LISTED)
		return -EIO;
	*action = b[0];
	if (b[0] == ZN_ACL_LISTED && val != NULL) {
		r.nval = 0;
		r.flags = 0;
		if (!add_answer(&c, ref->ds, b + 1, blob.mv_size - 1, NULL) ||
		    r.nval == 0)
			return -EIO;
		*val = r.val[0];
	}
	return 0;
}

int
zn_acl_check(const struct zn_view *v, const struct zn_zone *z,
    const uint8_t *addr, size_t alen, struct zn_resval *val)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	struct zn_resval gv, zv;
	int ga, za, rc;
	/* severity order: ignore > refuse > empty > listed > pass */
	static const int rank[] = { [ZN_ACL_IGNORE] = 4,
		[ZN_ACL_REFUSE] = 3,
		[ZN_ACL_EMPTY] = 2,
		[ZN_ACL_LISTED] = 1,
		[ZN_ACL_PASS] = 0 };

	if (alen == 16 && memcmp(addr, mapped, 12) == 0) {
		addr += 12;
		alen = 4;
	}
	if (alen != 4 && alen != 16)
		return -EINVAL;
	rc =
	    acl_one(v, v->global ? v->global->acl : NULL, addr, alen, &gv, &ga);
	if (rc == 0)
		rc = acl_one(v, z ? z->acl : NULL, addr, alen, &zv, &za);
	if (rc != 0)
		return rc;
	if (ga < 0 && za < 0)
		return ZN_ACL_PASS;
	if (za < 0 || (ga >= 0 && rank[ga] >= rank[za])) {
		if (ga == ZN_ACL_LISTED && val != NULL)
			*val = gv;
		return ga;
	}
	if (za == ZN_ACL_LISTED && val != NULL)
		*val = zv;
	return za;
}

void
zn_result_render(const struct zn_result *r, uint32_t def_ttl,
    struct zn_rendered *out)
{
	size_t i, j;

	out->na = out->ntxt = 0;
	out->a_ttl = out->txt_ttl = UINT32_MAX;
	for (i = 0; i < r->nval; i++) {
		const struct zn_resval *rv = &r->val[i];
		uint32_t ttl = rv->ds && rv->ds->ttl ? rv->ds->ttl : def_ttl;
		char buf[ZN_TXT_OUT_MAX + 1];
		int tl;

		for (j = 0; j < out->na && out->a[j] != rv->a; j++)
			;
		if (j == out->na)
			out->a[out->na++] = rv->a;
		if (ttl < out->a_ttl)
			out->a_ttl = ttl;
		tl = zn_txt_expand(rv->ds, rv->tkind, rv->txt, rv->tlen,
		    rv->subject ? rv->subject : "", buf);
		if (tl < 0)
			continue;
		for (j = 0; j < out->ntxt; j++)
			if (out->tlen[j] == tl &&
			    memcmp(out->txt[j], buf, tl) == 0)
				break;
		if (j == out->ntxt) {
			memcpy(out->txt[j], buf, tl);
			out->tlen[j] = tl;
			out->ntxt++;
		}
		if (ttl < out->txt_ttl)
			out->txt_ttl = ttl;
	}
	if (out->na == 0)
		out->a_ttl = def_ttl;
	if (out->ntxt == 0)
		out->txt_ttl = def_ttl;
}
