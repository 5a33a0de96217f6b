/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: what db.c (writing) and lookup.c (reading) share about the
 * LMDB layout.  Not for use outside zones/.
 */
#ifndef ZONES_DB_INT_H
#define ZONES_DB_INT_H

#include <pthread.h>
#include <string.h>

#include <lmdb.h>

#include "zones.h"

#define ZN_DIGEST_LEN 32
#define ZN_MAXDBS 8192
#define ZN_RECORD_VERSION 1

struct zn_db {
	MDB_env *env;
	MDB_dbi meta;
	MDB_dbi values;
	MDB_dbi valhash;
	unsigned flags;
	/* mdb_dbi_open must not run in two transactions at once */
	pthread_mutex_t dbi_lock;
	/* the local policy store (policy.c), opened on first use */
	MDB_dbi policy;
	bool policy_open;
};

/* A dataset record as stored under "D" id in meta. */
struct zn_dsrec {
	struct zn_dataset *ds; /* parameters; entries not loaded */
	uint8_t digest[ZN_DIGEST_LEN];
	uint32_t wild[ZN_LABELS_MAX]; /* dnset: wildcard entries per depth */
	size_t nchild;
	uint32_t *child; /* combined: dataset ids of the subsets */
	char *spec; /* "type:files", or NULL for a subset */
	uint64_t nent; /* entries stored (ds->nent stays 0) */
	size_t nids; /* source files whose identity is known, or 0 */
	char **paths; /* their names as given in the spec */
	struct zn_fileid *ids;
};

/* Translate an LMDB return code into a negative errno (the only place). */
int zn_mdb_errno(int rc);

/* Decode the record of dataset id; rec is filled and must be cleaned up.
 * Subset datasets are created (without entries) for ZN_COMBINED, one per
 * child, in ds->subsets[i].ds with their subzones; their own records are
 * not read. */
int zn_dsrec_get(MDB_txn *txn, const struct zn_db *db, uint32_t id,
    struct zn_dsrec *rec, struct zn_err *err);
void zn_dsrec_cleanup(struct zn_dsrec *rec);

/* Open the entries database of dataset id ("ds.<id>"). */
int zn_ds_dbi(MDB_txn *txn, uint32_t id, bool create, MDB_dbi *dbi);

/* Length of the "lo" prefix of a stored value for a key kind byte. */
static inline size_t
zn_lo_len(uint8_t kind)
{
	return kind == ZN_KEY_IP4 ? 4 : kind == ZN_KEY_IP6 ? 16 : 0;
}

static inline uint32_t
zn_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
zn_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * For the feed (feed_apply.c): a writer over a write transaction the
 * caller owns (db.c's interning, dataset records and drops), and the
 * additive entry digest.  zn_writer_finish bumps the generation and
 * stores the id counters; the caller commits or aborts the transaction,
 * then frees the writer.
 */
struct zn_writer;
struct zn_writer *zn_writer_new(MDB_txn *txn, struct zn_db *db,
    struct zn_err *err);
int zn_writer_intern(struct zn_writer *zw, const uint8_t *blob, size_t len,
    uint32_t *id);
uint32_t zn_writer_new_id(struct zn_writer *zw);
/* Write the record of dataset id: parameters from ds (ds->nent is the
 * entry count stored; for ZN_COMBINED ds->subsets give the subzones),
 * the rest from rec (digest, wildcard counts, children, spec string). */
int zn_writer_put_record(struct zn_writer *zw, uint32_t id,
    const struct zn_dataset *ds, const struct zn_dsrec *rec);
/* Delete dataset id with its subsets, entries and record (not "S"). */
int zn_writer_drop(struct zn_writer *zw, uint32_t id);
int zn_writer_finish(struct zn_writer *zw);
void zn_writer_free(struct zn_writer *zw);
/* Add (or remove) entry (key, lo || ans) to a dataset digest. */
void zn_digest_entry(uint8_t *digest, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add);
/* The same for rec's digest, also keeping its wildcard counts. */
void zn_dsrec_account(struct zn_dsrec *rec, const uint8_t *key, size_t klen,
    const uint8_t *lo, size_t lolen, const uint8_t *ans, size_t alen, bool add);

/*
 * Local policy as views hold it (policy.c, lookup.c): per zone, the IP
 * entries sorted by lo with the running maximum of hi, and the name
 * entries sorted by key ('N' revname, then ZN_NAME_EXACT or _WILD).
 */
struct zn_polent {
	struct zn_policy_entry e;
	uint8_t lo[16], hi[16]; /* IP: the range; IPv4 as v4-mapped */
	unsigned plen; /* IP: prefix length over the 128 bits */
	uint8_t *nkey; /* name: the key; NULL for an IP entry */
	size_t nklen;
};
struct zn_polset {
	struct zn_polent *ip;
	uint8_t (*maxhi)[16]; /* the greatest hi of ip[0..i] */
	size_t nip;
	struct zn_polent *nm;
	size_t nnm;
	uint64_t wild_depths[2]; /* label counts with wildcards */
};
/* Open the policy store (creating it if create): 0, or -ENOENT if it
 * was never written, or another negative errno. */
int zn_policy_dbi(struct zn_db *db, bool create, MDB_dbi *dbi);
/* The policy of every zone of a zone table, read in txn: *out is NULL if
 * there is none, else n sets (one per zone, maybe empty). */
int zn_policy_load(MDB_txn *txn, struct zn_db *db, const struct zn_zone *zones,
    size_t n, struct zn_polset **out, struct zn_err *err);
void zn_policy_free(struct zn_polset *ps, size_t n);
/* The entry deciding the key labels [0, nkey) of q, or NULL. */
const struct zn_policy_entry *zn_polset_match(const struct zn_polset *ps,
    const struct zn_qname *q, unsigned nkey);
/* For explain.c: the view's read transaction. */
MDB_txn *zn_view_txn(const struct zn_view *v);

/* Address-keyed dataset types (shared by lookup.c, explain.c). */
static inline bool
zn_type_is_ip4(enum zn_dstype t)
{
	return t == ZN_IP4SET || t == ZN_IP4TSET || t == ZN_IP4TRIE;
}

static inline bool
zn_type_is_ip6(enum zn_dstype t)
{
	return t == ZN_IP6TSET || t == ZN_IP6TRIE;
}

/* The value of a hex digit (either case), or -1: reversed IPv6 labels
 * (query names are lower-cased before) and IPv6 addresses in files. */
static inline int
zn_hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Labels [0, n) of q read as a reversed address (rbldnsd's dntoip): the
 * one parser of lookup.c, policy.c and explain.c.  how is one of
 *   ZN_REV_IP4: n (0 to 4) decimal labels of at most 3 digits, each at
 *     most 255, the last label first, into a[0..n);
 *   ZN_REV_IP6: n (0 to 32) one-character lower-case hex labels, the
 *     last first, into the top n nibbles of a[0..16), the rest zero;
 * with the flags
 *   ZN_REV_FULL: only a whole address (n 4 or 32);
 *   ZN_REV_MAPPED (IP4): a[0..16) gets ::ffff:a.b.c.d instead.
 * 0, or -1 when the labels are not such an address (a is then partly
 * written).  Inline: the flags fold away in the lookup path.
 */
enum {
	ZN_REV_IP4 = 0x01,
	ZN_REV_IP6 = 0x02,
	ZN_REV_FULL = 0x04,
	ZN_REV_MAPPED = 0x08,
};

static inline int
zn_rev_addr(const struct zn_qname *q, unsigned n, unsigned how, uint8_t *a)
{
	unsigned i, j, off = 0;

	if (how & ZN_REV_IP4) {
		if (n > 4 || ((how & ZN_REV_FULL) && n != 4))
			return -1;
		if (how & ZN_REV_MAPPED) {
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
			off = 12;
		}
		for (i = 0; i < n; i++) {
			const uint8_t *l = q->buf + q->off[i];
			unsigned v = 0;

			if (q->len[i] > 3)
				return -1;
			for (j = 0; j < q->len[i]; j++) {
				if (l[j] < '0' || l[j] > '9')
					return -1;
				v = v * 10 + (unsigned)(l[j] - '0');
			}
			if (v > 255)
				return -1;
			a[off + n - 1 - i] = (uint8_t)v;
		}
		return 0;
	}
	if (n > 32 || ((how & ZN_REV_FULL) && n != 32))
		return -1;
	memset(a, 0, 16);
	for (i = 0; i < n; i++) {
		unsigned nib = n - 1 - i; /* nibble index from the top */
		int h;

		if (q->len[i] != 1 || (h = zn_hexval(q->buf[q->off[i]])) < 0)
			return -1;
		a[nib / 2] |= (uint8_t)(nib % 2 ? h : h << 4);
	}
	return 0;
}

#endif /* ZONES_DB_INT_H */
