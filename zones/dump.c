/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Canonical text dump of what the database holds: zones in name order,
 * their datasets in spec order, entries in key order.  The output depends
 * only on the content (no dataset ids, no times of compilation), so two
 * databases with the same content dump byte-identically.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

static void
put_escaped(FILE *f, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] > 0x7e)
			fprintf(f, "\\%03u", s[i]);
		else
			fputc(s[i], f);
	}
}

/* revname bytes back to a dotted name */
static void
put_revname(FILE *f, const uint8_t *k, size_t n)
{
	size_t ends[ZN_LABELS_MAX], starts[ZN_LABELS_MAX], nl = 0, i, st = 0;

	for (i = 0; i < n && nl < ZN_LABELS_MAX; i++)
		if (k[i] == 0) {
			starts[nl] = st;
			ends[nl++] = i;
			st = i + 1;
		}
	if (nl == 0) {
		fputc('@', f);
		return;
	}
	for (i = nl; i-- > 0;) {
		put_escaped(f, k + starts[i], ends[i] - starts[i]);
		if (i > 0)
			fputc('.', f);
	}
}

static void
put_rrset(FILE *f, uint16_t type, const uint8_t *b, size_t len)
{
	size_t off = 0;

	while (off + 6 <= len) {
		uint32_t ttl = zn_get32(b + off);
		size_t rdlen = (size_t)b[off + 4] << 8 | b[off + 5];
		const uint8_t *rd = b + off + 6;
		char buf[INET6_ADDRSTRLEN];

		if (off + 6 + rdlen > len)
			break;
		fprintf(f, " [ttl %" PRIu32 " ", ttl);
		if (type == 1 && rdlen == 4)
			fprintf(f, "A %s",
			    inet_ntop(AF_INET, rd, buf, sizeof(buf)));
		else if (type == 28 && rdlen == 16)
			fprintf(f, "AAAA %s",
			    inet_ntop(AF_INET6, rd, buf, sizeof(buf)));
		else if (type == 16 && rdlen >= 1) {
			fputs("TXT \"", f);
			put_escaped(f, rd + 1,
			    rdlen - 1 < rd[0] ? rdlen - 1 : rd[0]);
			fputc('"', f);
		} else if (type == 15 && rdlen >= 3) {
			size_t p = 2;

			fprintf(f, "MX %u ", (unsigned)(rd[0] << 8 | rd[1]));
			while (
			    p < rdlen && rd[p] != 0 && p + 1 + rd[p] <= rdlen) {
				put_escaped(f, rd + p + 1, rd[p]);
				fputc('.', f);
				p += 1 + rd[p];
			}
		} else
			fprintf(f, "TYPE%u len %zu", type, rdlen);
		fputc(']', f);
		off += 6 + rdlen;
	}
}

static void
put_key(FILE *f, const uint8_t *k, size_t klen, const uint8_t *lo)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (k[0] == ZN_KEY_IP4 && klen == 5)
		fprintf(f, "%s-%s", inet_ntop(AF_INET, lo, a, sizeof(a)),
		    inet_ntop(AF_INET, k + 1, b, sizeof(b)));
	else if (k[0] == ZN_KEY_IP6 && klen == 17)
		fprintf(f, "%s-%s", inet_ntop(AF_INET6, lo, a, sizeof(a)),
		    inet_ntop(AF_INET6, k + 1, b, sizeof(b)));
	else if (k[0] == ZN_KEY_NAME && klen >= 2) {
		if (k[klen - 1] == ZN_NAME_WILD)
			fputs("*.", f);
		put_revname(f, k + 1, klen - 2);
	} else if (k[0] == ZN_KEY_GENERIC && klen >= 3) {
		put_revname(f, k + 1, klen - 3);
		fprintf(f, " type %u",
		    (unsigned)(k[klen - 2] << 8 | k[klen - 1]));
	} else {
		fputs("?", f);
		put_escaped(f, k, klen);
	}
}

static int
dump_entries(FILE *f, MDB_txn *txn, const struct zn_db *db, uint32_t id,
    enum zn_dstype type, const char *indent, struct zn_err *err)
{
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val key, val, blob, bk;
	uint8_t kb[4];
	char text[8192];
	int rc;

	if ((rc = zn_ds_dbi(txn, id, false, &dbi)) != 0)
		return zn_err_set(err, -rc, "dataset %u: no entries", id);
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "dataset %u: %s", id,
		    mdb_strerror(rc));
	for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		const uint8_t *k = key.mv_data;
		size_t lo = key.mv_size ? zn_lo_len(k[0]) : 0;

		if (key.mv_size == 0 || val.mv_size != lo + 4) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kb, (uint8_t *)val.mv_data + lo, 4);
		bk = (MDB_val){ 4, kb };
		if ((rc = mdb_get(txn, db->values, &bk, &blob)) != 0)
			break;
		fprintf(f, "%s", indent);
		put_key(f, k, key.mv_size, val.mv_data);
		if (k[0] == ZN_KEY_GENERIC && key.mv_size >= 3)
			put_rrset(f,
			    (uint16_t)(k[key.mv_size - 2] << 8 |
			        k[key.mv_size - 1]),
			    blob.mv_data, blob.mv_size);
		else if (type == ZN_ACL) {
			static const char *const act[] = { "ignore", "refuse",
				"empty", "pass", "listed" };
			const uint8_t *b = blob.mv_data;

			if (blob.mv_size >= 1 && b[0] <= ZN_ACL_LISTED)
				fprintf(f, " :%s", act[b[0]]);
			if (blob.mv_size > 1 && b[0] == ZN_ACL_LISTED) {
				text[0] = '\0';
				zn_blob_format(b + 1, blob.mv_size - 1, text,
				    sizeof(text));
				fprintf(f, " %s", text);
			}
		} else {
			text[0] = '\0';
			zn_blob_format(blob.mv_data, blob.mv_size, text,
			    sizeof(text));
			fprintf(f, " %s", text);
		}
		fputc('\n', f);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return zn_err_set(err, -zn_mdb_errno(rc), "dataset %u: %s", id,
		    mdb_strerror(rc));
	return 0;
}

static void
dump_params(FILE *f, const struct zn_dsrec *rec, const char *indent)
{
	const struct zn_dataset *ds = rec->ds;
	size_t i;

	if (ds->ttl)
		fprintf(f, "%sttl %" PRIu32 "\n", indent, ds->ttl);
	if (ds->has_soa)
		fprintf(f,
		    "%ssoa %" PRIu32 " %s %s %" PRIu32 " %" PRIu32 " %" PRIu32
		    " %" PRIu32 " %" PRIu32 "\n",
		    indent, ds->soa.ttl, ds->soa.mname, ds->soa.rname,
		    ds->soa.serial, ds->soa.refresh, ds->soa.retry,
		    ds->soa.expire, ds->soa.minimum);
	if (ds->nns > 0) {
		fprintf(f, "%sns %" PRIu32, indent, ds->ns_ttl);
		for (i = 0; i < ds->nns; i++)
			fprintf(f, " %s", ds->ns[i]);
		fputc('\n', f);
	}
	for (i = 0; i < 10; i++)
		if (ds->vars[i] != NULL) {
			fprintf(f, "%s$%zu \"", indent, i);
			put_escaped(f, (const uint8_t *)ds->vars[i],
			    strlen(ds->vars[i]));
			fputs("\"\n", f);
		}
	if (ds->base != NULL) {
		fprintf(f, "%s$= \"", indent);
		put_escaped(f, (const uint8_t *)ds->base, strlen(ds->base));
		fputs("\"\n", f);
	}
	if (ds->ts_created || ds->ts_expires)
		fprintf(f, "%stimestamp %" PRId64 " %" PRId64 "\n", indent,
		    ds->ts_created, ds->ts_expires);
	fprintf(f, "%sentries %" PRIu64 "\n", indent, rec->nent);
}

static void
put_digest(FILE *f, const uint8_t *d, const char *indent)
{
	size_t i;

	fprintf(f, "%sdigest ", indent);
	for (i = 0; i < ZN_DIGEST_LEN; i++)
		fprintf(f, "%02x", d[i]);
	fputc('\n', f);
}

static int
dump_dataset(FILE *f, MDB_txn *txn, const struct zn_db *db, uint32_t id,
    struct zn_err *err)
{
	struct zn_dsrec rec;
	size_t i, j;
	int rc;

	if ((rc = zn_dsrec_get(txn, db, id, &rec, err)) != 0)
		return rc;
	fprintf(f, "dataset %s\n", rec.spec ? rec.spec : "?");
	dump_params(f, &rec, "  ");
	if (rec.ds->type != ZN_COMBINED)
		put_digest(f, rec.digest, "  ");
	rc = dump_entries(f, txn, db, id, rec.ds->type, "  ", err);
	for (i = 0; rc == 0 && i < rec.nchild; i++) {
		struct zn_dsrec sub;
		const struct zn_subset *s = &rec.ds->subsets[i];

		if ((rc = zn_dsrec_get(txn, db, rec.child[i], &sub, err)) != 0)
			break;
		fprintf(f, "  subset %s", zn_type_name(sub.ds->type));
		if (sub.ds->label)
			fprintf(f, ":%s", sub.ds->label);
		for (j = 0; j < s->nsub; j++)
			fprintf(f, " %s",
			    s->subzones[j][0] ? s->subzones[j] : "@");
		fputc('\n', f);
		dump_params(f, &sub, "    ");
		put_digest(f, sub.digest, "    ");
		rc = dump_entries(f, txn, db, rec.child[i], sub.ds->type,
		    "    ", err);
		zn_dsrec_cleanup(&sub);
	}
	zn_dsrec_cleanup(&rec);
	return rc;
}

int
zn_db_dump(struct zn_db *db, const char *zone, FILE *f, struct zn_err *err)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t zk[1] = { 'Z' };
	bool found = false;
	int rc, orc;

	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "read: %s",
		    mdb_strerror(rc));
	if ((rc = mdb_cursor_open(txn, db->meta, &c)) != 0) {
		mdb_txn_abort(txn);
		return zn_err_set(err, -zn_mdb_errno(rc), "meta: %s",
		    mdb_strerror(rc));
	}
	key = (MDB_val){ 1, zk };
	rc = 0;
	for (orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	     orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'Z';
	     orc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		const uint8_t *p = val.mv_data;
		size_t n, i, zl = key.mv_size - 1;

		if (zone != NULL &&
		    (strlen(zone) != zl ||
		        memcmp(zone, (uint8_t *)key.mv_data + 1, zl) != 0))
			continue;
		found = true;
		if (val.mv_size < 4 ||
		    val.mv_size != 4 + 4 * (size_t)zn_get32(p)) {
			rc = zn_err_set(err, EIO, "damaged zone record");
			break;
		}
		n = zn_get32(p);
		fprintf(f, "zone %.*s\n", (int)zl,
		    zl ? (const char *)key.mv_data + 1 : "(global acl)");
		for (i = 0; i < n && rc == 0; i++)
			rc = dump_dataset(f, txn, db, zn_get32(p + 4 + 4 * i),
			    err);
		if (rc != 0)
			break;
	}
	if (rc == 0 && orc != 0 && orc != MDB_NOTFOUND)
		rc = zn_err_set(err, -zn_mdb_errno(orc), "meta: %s",
		    mdb_strerror(orc));
	if (rc == 0 && zone != NULL && !found)
		rc = zn_err_set(err, ENOENT, "%s: no such zone", zone);
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}
