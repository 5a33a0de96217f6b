/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Explain an answer (zones.h, zn_explain): which zone, which dataset and
 * entry, which value, which feed serial and which local policy entry.
 * Not on the query path: it may allocate and reads the dataset records.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "feed.h"
#include "ip.h"

struct ex_ctx {
	MDB_txn *txn;
	struct zn_db *db;
	const struct zn_qname *q;
	struct zn_explain *ex;
	/* the address explain_ip found no interval for (alen 0: none) */
	size_t miss_alen;
	uint8_t miss[16];
};

/* Labels [first, first + n) of q as dotted text. */
static void
labels_text(const struct zn_qname *q, unsigned first, unsigned n, char *buf,
    size_t size)
{
	size_t pos = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = first; i < first + n; i++) {
		if (pos + q->len[i] + 2 > size)
			break;
		if (pos > 0)
			buf[pos++] = '.';
		memcpy(buf + pos, q->buf + q->off[i], q->len[i]);
		pos += q->len[i];
		buf[pos] = '\0';
	}
}

/* Labels [0, n) as a reversed IPv4 (n 4) or IPv6 (n 32) address. */
static bool
key_ip4(const struct zn_qname *q, unsigned n, uint8_t *a)
{
	return zn_rev_addr(q, n, ZN_REV_IP4 | ZN_REV_FULL, a) == 0;
}

static bool
key_ip6(const struct zn_qname *q, unsigned n, uint8_t *a)
{
	return zn_rev_addr(q, n, ZN_REV_IP6 | ZN_REV_FULL, a) == 0;
}

static void
addr_text(const uint8_t *a, size_t alen, char *buf)
{
	if (alen == 4)
		zn_ip4_format(zn_get32(a), buf);
	else
		zn_ip6_format(a, buf);
}

/* [lo, hi] as a CIDR if it is one, else "lo-hi". */
static void
range_text(const uint8_t *lo, const uint8_t *hi, size_t alen, char *out,
    size_t size)
{
	char a[48], b[48];
	unsigned bits = (unsigned)alen * 8, p, i;
	bool ok = false;

	for (p = 0; p <= bits && !ok; p++) {
		ok = true;
		for (i = 0; i < bits && ok; i++) {
			unsigned lb = lo[i / 8] >> (7 - i % 8) & 1;
			unsigned hb = hi[i / 8] >> (7 - i % 8) & 1;

			ok = i < p ? lb == hb : lb == 0 && hb == 1;
		}
		if (ok)
			break;
	}
	addr_text(lo, alen, a);
	if (ok && p == bits)
		snprintf(out, size, "%s", a);
	else if (ok)
		snprintf(out, size, "%s/%u", a, p);
	else {
		addr_text(hi, alen, b);
		snprintf(out, size, "%s-%s", a, b);
	}
}

/* Record the values of an answer blob, TXT expanded. */
static void
put_values(struct zn_explain_ds *d, const struct zn_dataset *ds,
    const uint8_t *b, size_t len, const char *subject)
{
	size_t off = 1;

	if (len < 1)
		return;
	if (b[0] & ZN_ANS_EXCLUDED) {
		d->excluded = true;
		return;
	}
	while (off + 6 <= len && d->nval < ZN_EXPLAIN_VALS) {
		uint8_t tl = b[off + 5];
		int n;

		if (off + 6 + tl > len)
			break;
		d->a[d->nval] = zn_get32(b + off);
		n = zn_txt_expand(ds, b[off + 4], (const char *)b + off + 6, tl,
		    subject, d->txt[d->nval]);
		d->txt[d->nval][n > 0 ? n : 0] = '\0';
		d->nval++;
		off += 6 + tl;
	}
}

static int
value_blob(struct ex_ctx *c, const uint8_t *idp, MDB_val *blob)
{
	uint8_t k[4];
	MDB_val key = { 4, k };
	int rc;

	memcpy(k, idp, 4);
	rc = mdb_get(c->txn, c->db->values, &key, blob);
	return rc == MDB_NOTFOUND ? -EIO : zn_mdb_errno(rc);
}

static int
explain_ip(struct ex_ctx *c, const struct zn_dsref *ref, const uint8_t *addr,
    size_t alen, struct zn_explain_ds *d)
{
	uint8_t kb[17];
	MDB_val key = { alen + 1, kb }, val, blob;
	MDB_cursor *cur;
	char subj[48];
	const uint8_t *lo;
	int rc;

	kb[0] = alen == 4 ? ZN_KEY_IP4 : ZN_KEY_IP6;
	memcpy(kb + 1, addr, alen);
	if ((rc = mdb_cursor_open(c->txn, ref->dbi, &cur)) != 0)
		return zn_mdb_errno(rc);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return zn_mdb_errno(rc);
	if (rc == 0 && key.mv_size == alen + 1 &&
	    ((uint8_t *)key.mv_data)[0] == kb[0] && val.mv_size != alen + 4)
		return -EIO;
	if (rc != 0 || key.mv_size != alen + 1 ||
	    ((uint8_t *)key.mv_data)[0] != kb[0] ||
	    memcmp(val.mv_data, addr, alen) > 0) {
		/* a gap: not listed, or excluded (explain_excl tells) */
		c->miss_alen = alen;
		memcpy(c->miss, addr, alen);
		return 0;
	}
	lo = val.mv_data;
	d->matched = true;
	range_text(lo, (const uint8_t *)key.mv_data + 1, alen, d->match,
	    sizeof(d->match));
	if ((rc = value_blob(c, lo + alen, &blob)) != 0)
		return rc;
	addr_text(addr, alen, subj);
	put_values(d, ref->ds, blob.mv_data, blob.mv_size, subj);
	return 0;
}

/* The name key of labels [first, first + n) plus kind; 0 if none. */
static size_t
name_key(const struct zn_qname *q, unsigned first, unsigned n, uint8_t kind,
    uint8_t *k)
{
	size_t len = 1;
	unsigned i;

	k[0] = ZN_KEY_NAME;
	for (i = first + n; i-- > first;) {
		if (memchr(q->buf + q->off[i], 0, q->len[i]) != NULL ||
		    len + q->len[i] + 2 > ZN_KEY_MAX)
			return 0;
		memcpy(k + len, q->buf + q->off[i], q->len[i]);
		len += q->len[i];
		k[len++] = 0;
	}
	k[len++] = kind;
	return len;
}

static int
explain_dnset(struct ex_ctx *c, const struct zn_dsref *ref, unsigned n,
    struct zn_explain_ds *d)
{
	uint8_t k[ZN_KEY_MAX];
	char name[ZN_NAME_MAX + 1];
	MDB_val key, val, blob;
	size_t kl;
	unsigned m;
	int rc;

	if (n == 0)
		return 0;
	for (m = n; m > 0; m--) {
		bool exact = m == n;

		if (!exact &&
		    (m >= 128 || !(ref->wild_depths[m / 64] >> (m % 64) & 1)))
			continue;
		kl = name_key(c->q, n - m, m,
		    exact ? ZN_NAME_EXACT : ZN_NAME_WILD, k);
		if (kl == 0)
			return 0;
		key = (MDB_val){ kl, k };
		rc = mdb_get(c->txn, ref->dbi, &key, &val);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return zn_mdb_errno(rc);
		if (val.mv_size != 4)
			return -EIO;
		labels_text(c->q, n - m, m, name, sizeof(name));
		d->matched = true;
		snprintf(d->match, sizeof(d->match), "%s%s", exact ? "" : "*.",
		    name);
		if ((rc = value_blob(c, val.mv_data, &blob)) != 0)
			return rc;
		put_values(d, ref->ds, blob.mv_data, blob.mv_size, name);
		return 0;
	}
	return 0;
}

static int
explain_generic(struct ex_ctx *c, const struct zn_dsref *ref, unsigned n,
    struct zn_explain_ds *d)
{
	uint8_t k[ZN_KEY_MAX];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t kl;
	unsigned nrec = 0;
	int rc;

	if ((kl = name_key(c->q, 0, n, 0, k)) == 0)
		return 0;
	k[0] = ZN_KEY_GENERIC;
	kl--; /* no kind byte: the type follows */
	if ((rc = mdb_cursor_open(c->txn, ref->dbi, &cur)) != 0)
		return zn_mdb_errno(rc);
	key = (MDB_val){ kl, k };
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0 &&
	     key.mv_size == kl + 2 && memcmp(key.mv_data, k, kl) == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		nrec++;
	mdb_cursor_close(cur);
	if (nrec > 0) {
		d->matched = true;
		snprintf(d->match, sizeof(d->match), "%u record type%s", nrec,
		    nrec == 1 ? "" : "s");
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : zn_mdb_errno(rc);
}

static unsigned
count_labels(const char *s)
{
	unsigned n = *s != '\0';

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

static int explain_ref(struct ex_ctx *c, const struct zn_dsref *ref,
    const char *spec, const char *sub, unsigned n);

/* A combined dataset: the subsets of the most specific subzone. */
static int
explain_combined(struct ex_ctx *c, const struct zn_dsref *ref, unsigned n)
{
	const struct zn_dataset *ds = ref->ds;
	const char *best = NULL;
	unsigned bestm = 0, m;
	size_t i, j;
	int rc;

	for (i = 0; i < ref->nsubs && i < ds->nsubsets; i++)
		for (j = 0; j < ds->subsets[i].nsub; j++) {
			const char *sz = ds->subsets[i].subzones[j];
			char tail[ZN_NAME_MAX + 1];

			m = count_labels(sz);
			if (m > n || (best != NULL && m <= bestm))
				continue;
			labels_text(c->q, n - m, m, tail, sizeof(tail));
			if (strcmp(tail, sz) == 0) {
				best = sz;
				bestm = m;
			}
		}
	if (best == NULL)
		return 0;
	for (i = 0; i < ref->nsubs && i < ds->nsubsets; i++)
		for (j = 0; j < ds->subsets[i].nsub; j++)
			if (strcmp(ds->subsets[i].subzones[j], best) == 0) {
				rc = explain_ref(c, &ref->subs[i],
				    zn_type_name(ref->subs[i].ds->type), best,
				    n - bestm);
				if (rc != 0)
					return rc;
				break;
			}
	return 0;
}

static int
explain_ref(struct ex_ctx *c, const struct zn_dsref *ref, const char *spec,
    const char *sub, unsigned n)
{
	struct zn_explain *ex = c->ex;
	struct zn_explain_ds *d;
	uint8_t a[16];
	enum zn_dstype t = ref->ds->type;

	if (t == ZN_COMBINED)
		return explain_combined(c, ref, n);
	if (ex->nds == ZN_EXPLAIN_DS)
		return 0;
	d = &ex->ds[ex->nds++];
	memset(d, 0, sizeof(*d));
	d->type = t;
	snprintf(d->spec, sizeof(d->spec), "%s", spec);
	snprintf(d->subzone, sizeof(d->subzone), "%s", sub);
	if (zn_type_is_ip4(t)) {
		if (key_ip4(c->q, n, a))
			return explain_ip(c, ref, a, 4, d);
		if (key_ip6(c->q, n, a)) {
			static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
				0, 0, 0, 0xff, 0xff };

			if (memcmp(a, mapped, 12) == 0)
				return explain_ip(c, ref, a + 12, 4, d);
			if (a[0] == 0x20 && a[1] == 0x02)
				return explain_ip(c, ref, a + 2, 4, d);
		}
		return 0;
	}
	if (zn_type_is_ip6(t))
		return key_ip6(c->q, n, a) ? explain_ip(c, ref, a, 16, d) : 0;
	if (t == ZN_DNSET)
		return explain_dnset(c, ref, n, d);
	if (t == ZN_GENERIC)
		return explain_generic(c, ref, n, d);
	return 0;
}

static void
put_u128(uint8_t *out, zn_u128 a, size_t alen)
{
	size_t i;

	for (i = 0; i < alen; i++)
		out[i] = (uint8_t)(a >> (8 * (alen - 1 - i)));
}

/* The digest of a dataset's canonical entries, as db.c keeps it. */
static void
ds_digest(const struct zn_dataset *ds, uint8_t *dg)
{
	size_t i, lo;

	memset(dg, 0, ZN_DIGEST_LEN);
	for (i = 0; i < ds->nent; i++) {
		const struct zn_entry *e = &ds->ent[i];

		lo = zn_lo_len(e->key[0]);
		if (e->blen < lo)
			continue;
		zn_digest_entry(dg, e->key, e->klen, e->blob, lo, e->blob + lo,
		    e->blen - lo, true);
	}
}

/*
 * The flattened intervals keep no trace of exclusions: an excluded
 * address is a gap like an unlisted one.  Tell them apart by parsing the
 * dataset's source files again with a flatten probe on the address, and
 * trust the probe only if the parse gives exactly the stored entries
 * (the same digest; with and without rbldnsd -e's host bits): then the
 * exclusion it saw is the one the stored data came from.  Datasets from
 * feeds keep no source here: they stay "no entry".  Off the query path;
 * costs one parse of the dataset.
 */
static void
explain_excl(struct ex_ctx *c, const struct zn_dsrec *rec, enum zn_dstype type,
    struct zn_explain_ds *d)
{
	struct zn_parse_opts opts;
	struct zn_flat_probe pr;
	struct zn_dataset *ds;
	struct zn_err err;
	uint8_t dg[ZN_DIGEST_LEN], lo[16], hi[16];
	size_t i, alen = c->miss_alen;
	int pass;

	if (alen == 0 || alen > sizeof(lo) || rec->nids == 0 ||
	    rec->paths == NULL)
		return;
	memset(&pr, 0, sizeof(pr));
	pr.alen = (unsigned)alen;
	for (i = 0; i < alen; i++)
		pr.addr = pr.addr << 8 | c->miss[i];
	for (pass = 0; pass < 2; pass++) {
		memset(&opts, 0, sizeof(opts));
		opts.host_bits_ok = pass == 1;
		zn_flat_probe_set(&pr);
		ds = NULL;
		if (zn_dataset_load(type, (const char *const *)rec->paths,
		        rec->nids, &opts, &ds, &err) != 0) {
			zn_flat_probe_set(NULL);
			return;
		}
		zn_flat_probe_set(NULL);
		ds_digest(ds, dg);
		zn_dataset_free(ds);
		if (memcmp(dg, rec->digest, ZN_DIGEST_LEN) == 0)
			break;
	}
	if (pass == 2 || !pr.excl)
		return;
	put_u128(lo, pr.lo, alen);
	put_u128(hi, pr.hi, alen);
	d->matched = true;
	d->excluded = true;
	d->match[0] = '!';
	range_text(lo, hi, alen, d->match + 1, sizeof(d->match) - 1);
}

int
zn_explain(struct zn_view *v, struct zn_db *db, const char *name,
    const uint8_t *client, size_t clen, uint32_t def_ttl, struct zn_explain *ex,
    struct zn_err *err)
{
	struct zn_qname q;
	struct zn_result *r;
	struct zn_resval aval;
	struct zn_feed_state fs;
	struct zn_err ferr;
	const struct zn_zone *z;
	const struct zn_policy_entry *pe;
	struct ex_ctx c;
	unsigned nkey;
	size_t i;
	int rc, acl = ZN_ACL_PASS;

	memset(ex, 0, sizeof(*ex));
	if (zn_qname_from_text(&q, name) != 0)
		return zn_err_set(err, EINVAL,
		    "name \"%.64s\": not a domain "
		    "name",
		    name);
	if (client != NULL && clen != 4 && clen != 16)
		return zn_err_set(err, EINVAL, "client: want an address");
	if ((z = zn_view_match(v, &q, &nkey)) == NULL) {
		if (client != NULL) {
			ex->client = true;
			ex->acl = zn_acl_check(v, NULL, client, clen, NULL);
		}
		return 0;
	}
	ex->zone_found = true;
	snprintf(ex->zone, sizeof(ex->zone), "%s", z->name);
	labels_text(&q, 0, nkey, ex->key, sizeof(ex->key));
	c = (struct ex_ctx){ zn_view_txn(v), db, &q, ex, 0, { 0 } };
	for (i = 0; i < z->nrefs; i++) {
		struct zn_dsrec rec;
		char spec[512];

		snprintf(spec, sizeof(spec), "%s",
		    zn_type_name(z->refs[i].ds->type));
		if (zn_dsrec_get(c.txn, db, z->refs[i].id, &rec, err) != 0)
			return -EIO;
		if (rec.spec != NULL)
			snprintf(spec, sizeof(spec), "%s", rec.spec);
		c.miss_alen = 0;
		rc = explain_ref(&c, &z->refs[i], spec, "", nkey);
		if (rc == 0 && c.miss_alen != 0 && ex->nds > 0 &&
		    z->refs[i].ds->type != ZN_COMBINED &&
		    !ex->ds[ex->nds - 1].matched)
			explain_excl(&c, &rec, z->refs[i].ds->type,
			    &ex->ds[ex->nds - 1]);
		zn_dsrec_cleanup(&rec);
		if (rc != 0)
			return zn_err_set(err, -rc, "dataset %s: %s", spec,
			    strerror(-rc));
	}
	if (zn_feed_state_get(db, z->name, &fs, &ferr) == 0) {
		ex->feed = true;
		ex->feed_serial = fs.serial;
		ex->feed_synced = fs.synced;
	}
	if (client != NULL) {
		ex->client = true;
		acl = zn_acl_check(v, z, client, clen, &aval);
		if (acl < 0)
			return zn_err_set(err, -acl, "acl: %s", strerror(-acl));
		ex->acl = acl;
		aval.subject = "";
	}
	if (acl == ZN_ACL_PASS && (pe = zn_policy_match(v, z, &q, nkey))) {
		ex->policy = true;
		ex->pol = *pe;
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	if (acl == ZN_ACL_IGNORE || acl == ZN_ACL_REFUSE)
		rc = 0;
	else
		rc = zn_lookup_client(v, z, &q, nkey, acl, &aval, r);
	if (rc == 0 && acl != ZN_ACL_IGNORE && acl != ZN_ACL_REFUSE) {
		ex->listed = (r->flags & ZN_R_LISTED) != 0;
		ex->exists = (r->flags & (ZN_R_EXISTS | ZN_R_ENT)) != 0;
		zn_result_render(r, def_ttl, &ex->ans);
	}
	free(r);
	if (rc != 0)
		return zn_err_set(err, -rc, "lookup: %s", strerror(-rc));
	return 0;
}
