/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The database as BIND master files, what "rbldnsd -d" prints: per zone
 * an $ORIGIN, its SOA and NS, then per dataset a $TTL and its records.
 * IP intervals become the octet- (IPv6: nibble-) aligned blocks that make
 * them up, a block of more than one address a wildcard; TXT templates are
 * expanded with the block's first address; an excluded name is a CNAME
 * to "excluded", as rbldnsd writes it.  Where rbldnsd writes a range and
 * a "CNAME excluded" hole in it, the flattened intervals give the blocks
 * around the hole: the same answers for every name.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

/* Presentation of one label: printable ASCII, the rest \DDD. */
static void
put_label(FILE *f, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '.' || s[i] == '\\' || s[i] == '"' || s[i] == ';' ||
		    s[i] == '(' || s[i] == ')' || s[i] == '$' || s[i] == '@')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] <= ' ' || s[i] >= 0x7f)
			fprintf(f, "\\%03u", s[i]);
		else
			fputc(s[i], f);
	}
}

/* The labels of a revname (in reverse, each ended by 0): their count. */
static size_t
rev_labels(const uint8_t *k, size_t n, size_t *starts, size_t *lens)
{
	size_t nl = 0, i, st = 0;

	for (i = 0; i < n && nl < ZN_LABELS_MAX; i++)
		if (k[i] == 0) {
			starts[nl] = st;
			lens[nl++] = i - st;
			st = i + 1;
		}
	return nl;
}

/* A revname as a relative name in presentation format ("@": the apex). */
static void
put_revname(FILE *f, const uint8_t *k, size_t n)
{
	size_t starts[ZN_LABELS_MAX], lens[ZN_LABELS_MAX], nl, i;

	if ((nl = rev_labels(k, n, starts, lens)) == 0) {
		fputc('@', f);
		return;
	}
	for (i = nl; i-- > 0;) {
		put_label(f, k + starts[i], lens[i]);
		if (i > 0)
			fputc('.', f);
	}
}

/* A revname as the dotted text a TXT "$" stands for. */
static void
revname_text(const uint8_t *k, size_t n, char *out, size_t size)
{
	size_t starts[ZN_LABELS_MAX], lens[ZN_LABELS_MAX], nl, i, o = 0;

	nl = rev_labels(k, n, starts, lens);
	for (i = nl; i-- > 0 && o + lens[i] + 2 <= size;) {
		memcpy(out + o, k + starts[i], lens[i]);
		o += lens[i];
		if (i > 0)
			out[o++] = '.';
	}
	out[o] = '\0';
}

static void
put_txt(FILE *f, const char *s, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			fprintf(f, "\\%03u", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * The records of an answer blob for the owner already printed: A and TXT
 * lines (the owner only on the first), TXT expanded for subject.
 */
static void
put_answer(FILE *f, const struct zn_dataset *ds, const uint8_t *b, size_t len,
    const char *subject)
{
	size_t off = 1;
	bool first = true;
	char out[ZN_TXT_OUT_MAX];

	if (len < 1)
		return;
	if (b[0] & ZN_ANS_EXCLUDED) {
		fputs("\tCNAME\texcluded\n", f);
		return;
	}
	while (off + 6 <= len && off + 6 + b[off + 5] <= len) {
		const uint8_t *v = b + off;
		int n;

		fprintf(f, "%s\tA\t%u.%u.%u.%u\n", first ? "" : "\t", v[0],
		    v[1], v[2], v[3]);
		first = false;
		n = zn_txt_expand(ds, v[4], (const char *)v + 6, v[5], subject,
		    out);
		if (n >= 0) {
			fputs("\tTXT\t", f);
			put_txt(f, out, (size_t)n);
			fputc('\n', f);
		}
		off += 6 + v[5];
	}
}

/*
 * Cover [lo, hi] (lo <= hi, big-endian, alen bytes) with the largest
 * aligned blocks of whole labels (bits per label: 8 for IPv4, 4 for IPv6)
 * and print each with the answer.
 */
static void
put_blocks(FILE *f, const struct zn_dataset *ds, const uint8_t *lo,
    const uint8_t *hi, size_t alen, const uint8_t *ans, size_t anslen)
{
	unsigned bits = alen == 4 ? 8 : 4, nlab = alen * 8 / bits;
	uint8_t cur[16], end[16];
	char subj[INET6_ADDRSTRLEN];

	memcpy(cur, lo, alen);
	for (;;) {
		unsigned free_labels, l, i;

		/* how many trailing labels may be wild: cur aligned to them
		 * and the block within hi */
		for (free_labels = nlab - 1; free_labels > 0; free_labels--) {
			bool ok = true;

			memcpy(end, cur, alen);
			for (l = 0; l < free_labels && ok; l++) {
				unsigned bit = (nlab - 1 - l) * bits,
				         byte = bit / 8,
				         sh = 8 - bits - bit % 8;
				uint8_t mask =
				    (uint8_t)(((1u << bits) - 1) << sh);

				ok = (cur[byte] & mask) == 0;
				end[byte] |= mask;
			}
			if (ok && memcmp(end, hi, alen) <= 0)
				break;
		}
		if (free_labels == 0)
			memcpy(end, cur, alen);
		inet_ntop(alen == 4 ? AF_INET : AF_INET6, cur, subj,
		    sizeof(subj));
		if (free_labels > 0)
			fputs("*.", f);
		for (l = nlab - free_labels; l-- > 0;) {
			unsigned bit = l * bits, v;

			v = alen == 4 ?
			    cur[l] :
			    (cur[bit / 8] >> (bit % 8 ? 0 : 4)) & 15;
			fprintf(f, alen == 4 ? "%u" : "%x", v);
			if (l > 0)
				fputc('.', f);
		}
		put_answer(f, ds, ans, anslen, subj);
		if (memcmp(end, hi, alen) >= 0)
			break;
		/* cur = end + 1 */
		memcpy(cur, end, alen);
		for (i = alen; i-- > 0;)
			if (++cur[i] != 0)
				break;
	}
}

static void
put_rrset(FILE *f, uint16_t type, const uint8_t *b, size_t len,
    uint32_t def_ttl)
{
	size_t off = 0;
	bool first = true;

	while (off + 6 <= len) {
		uint32_t ttl = zn_get32(b + off);
		size_t rdlen = (size_t)b[off + 4] << 8 | b[off + 5], p;
		const uint8_t *rd = b + off + 6;
		char buf[INET6_ADDRSTRLEN];

		if (off + 6 + rdlen > len)
			break;
		fprintf(f, "%s\t%" PRIu32 "\t", first ? "" : "\t",
		    ttl ? ttl : def_ttl);
		first = false;
		if (type == 1 && rdlen == 4)
			fprintf(f, "A\t%s\n",
			    inet_ntop(AF_INET, rd, buf, sizeof(buf)));
		else if (type == 28 && rdlen == 16)
			fprintf(f, "AAAA\t%s\n",
			    inet_ntop(AF_INET6, rd, buf, sizeof(buf)));
		else if (type == 16 && rdlen >= 1 && rd[0] < rdlen) {
			fputs("TXT\t", f);
			put_txt(f, (const char *)rd + 1, rd[0]);
			fputc('\n', f);
		} else if (type == 15 && rdlen >= 3) {
			fprintf(f, "MX\t%u\t", (unsigned)(rd[0] << 8 | rd[1]));
			for (p = 2;
			     p < rdlen && rd[p] != 0 && p + 1 + rd[p] <= rdlen;
			     p += 1 + rd[p]) {
				put_label(f, rd + p + 1, rd[p]);
				fputc('.', f);
			}
			if (p == 2)
				fputc('.', f);
			fputc('\n', f);
		} else {
			/* RFC 3597 */
			fprintf(f, "TYPE%u\t\\# %zu ", type, rdlen);
			for (p = 0; p < rdlen; p++)
				fprintf(f, "%02x", rd[p]);
			fputc('\n', f);
		}
		off += 6 + rdlen;
	}
}

/* The entries of dataset id (parameters ds) as records. */
static int
put_entries(FILE *f, MDB_txn *txn, const struct zn_db *db, uint32_t id,
    const struct zn_dataset *ds, uint32_t def_ttl, struct zn_err *err)
{
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val key, val, blob, bk;
	uint8_t kb[4];
	int rc;

	if (ds->type == ZN_ACL) {
		fputs("; acl dataset: not a zone's data\n", f);
		return 0;
	}
	fprintf(f, "$TTL %" PRIu32 "\n", ds->ttl ? ds->ttl : def_ttl);
	if ((rc = zn_ds_dbi(txn, id, false, &dbi)) != 0)
		return zn_err_set(err, -rc, "dataset %u: no entries", id);
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return zn_err_set(err, -zn_mdb_errno(rc), "dataset %u: %s", id,
		    mdb_strerror(rc));
	for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		const uint8_t *k = key.mv_data, *v = val.mv_data;
		size_t lo = key.mv_size ? zn_lo_len(k[0]) : 0;

		if (key.mv_size == 0 || val.mv_size != lo + 4 ||
		    (lo > 0 && key.mv_size != 1 + lo)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(kb, v + lo, 4);
		bk = (MDB_val){ 4, kb };
		if ((rc = mdb_get(txn, db->values, &bk, &blob)) != 0)
			break;
		if (lo > 0) {
			if (memcmp(v, k + 1, lo) > 0) {
				rc = MDB_CORRUPTED;
				break;
			}
			put_blocks(f, ds, v, k + 1, lo, blob.mv_data,
			    blob.mv_size);
		} else if (k[0] == ZN_KEY_NAME && key.mv_size >= 2) {
			char subj[ZN_NAME_MAX + 1];

			if (k[key.mv_size - 1] == ZN_NAME_WILD)
				fputs("*.", f);
			put_revname(f, k + 1, key.mv_size - 2);
			/* the listed name is the subject of its TXT */
			revname_text(k + 1, key.mv_size - 2, subj,
			    sizeof(subj));
			put_answer(f, ds, blob.mv_data, blob.mv_size, subj);
		} else if (k[0] == ZN_KEY_GENERIC && key.mv_size >= 3) {
			put_revname(f, k + 1, key.mv_size - 3);
			put_rrset(f,
			    (uint16_t)(k[key.mv_size - 2] << 8 |
			        k[key.mv_size - 1]),
			    blob.mv_data, blob.mv_size, def_ttl);
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return zn_err_set(err, -zn_mdb_errno(rc), "dataset %u: %s", id,
		    mdb_strerror(rc));
	return 0;
}

static void
put_origin(FILE *f, const char *sub, const char *zone)
{
	fprintf(f, "$ORIGIN\t%s%s%s.\n", sub, *sub ? "." : "", zone);
}

/* One zone: its record's datasets in order. */
static int
put_zone(FILE *f, MDB_txn *txn, const struct zn_db *db, const char *zone,
    const uint8_t *ids, size_t n, uint32_t def_ttl, struct zn_err *err)
{
	struct zn_dsrec *recs;
	const struct zn_dataset *soa = NULL, *ns = NULL;
	size_t i, j, k;
	int rc = 0;

	if ((recs = calloc(n ? n : 1, sizeof(*recs))) == NULL)
		return zn_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < n && rc == 0; i++)
		rc =
		    zn_dsrec_get(txn, db, zn_get32(ids + 4 * i), &recs[i], err);
	for (i = 0; rc == 0 && i < n; i++) {
		if (soa == NULL && recs[i].ds->has_soa)
			soa = recs[i].ds;
		if (ns == NULL && recs[i].ds->nns > 0)
			ns = recs[i].ds;
	}
	if (rc == 0) {
		put_origin(f, "", zone);
		if (soa != NULL)
			fprintf(f,
			    "@\t%" PRIu32 "\tSOA\t%s.\t%s.\t(%" PRIu32
			    " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32
			    ")\n",
			    soa->soa.ttl ? soa->soa.ttl : def_ttl,
			    soa->soa.mname, soa->soa.rname, soa->soa.serial,
			    soa->soa.refresh, soa->soa.retry, soa->soa.expire,
			    soa->soa.minimum);
		for (j = 0; ns != NULL && j < ns->nns; j++)
			fprintf(f, "%s\t%" PRIu32 "\tNS\t%s.\n",
			    soa != NULL || j > 0 ? "" : "@",
			    ns->ns_ttl ? ns->ns_ttl : def_ttl, ns->ns[j]);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		const struct zn_dataset *ds = recs[i].ds;

		if (ds->type != ZN_COMBINED) {
			rc = put_entries(f, txn, db, zn_get32(ids + 4 * i), ds,
			    def_ttl, err);
			continue;
		}
		for (j = 0; rc == 0 && j < recs[i].nchild; j++) {
			const struct zn_subset *s = &ds->subsets[j];
			struct zn_dsrec sub;

			if ((rc = zn_dsrec_get(txn, db, recs[i].child[j], &sub,
			         err)) != 0)
				break;
			for (k = 0; rc == 0 && k < s->nsub; k++) {
				put_origin(f, s->subzones[k], zone);
				rc = put_entries(f, txn, db, recs[i].child[j],
				    sub.ds, def_ttl, err);
			}
			zn_dsrec_cleanup(&sub);
		}
		if (rc == 0)
			put_origin(f, "", zone);
	}
	for (i = 0; i < n; i++)
		zn_dsrec_cleanup(&recs[i]);
	free(recs);
	return rc;
}

int
zn_db_dump_bind(struct zn_db *db, uint32_t def_ttl, FILE *f, struct zn_err *err)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val key, val;
	uint8_t zk[1] = { 'Z' };
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
	for (orc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0 &&
	     orc == 0 && key.mv_size > 0 && ((uint8_t *)key.mv_data)[0] == 'Z';
	     orc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		char zone[ZN_NAME_MAX + 1];
		size_t zl = key.mv_size - 1;

		if (zl > ZN_NAME_MAX || val.mv_size < 4 ||
		    val.mv_size != 4 + 4 * (size_t)zn_get32(val.mv_data)) {
			rc = zn_err_set(err, EIO, "damaged zone record");
			break;
		}
		if (zl == 0)
			continue; /* the global acl is no zone */
		memcpy(zone, (uint8_t *)key.mv_data + 1, zl);
		zone[zl] = '\0';
		rc = put_zone(f, txn, db, zone, (uint8_t *)val.mv_data + 4,
		    zn_get32(val.mv_data), def_ttl, err);
	}
	if (rc == 0 && orc != 0 && orc != MDB_NOTFOUND)
		rc = zn_err_set(err, -zn_mdb_errno(orc), "meta: %s",
		    mdb_strerror(orc));
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}
