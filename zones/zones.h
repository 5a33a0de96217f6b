/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libzones: rbldnsd dataset parsers, the canonical entry model, the LMDB
 * schema and lookups.  This header is the contract between the daemon, the
 * tools and the tests.  libzones never prints, never exits and has no
 * mutable global state; failures are explained in a struct zn_err.
 *
 * Return convention: 0 on success or a negative errno (-EINVAL, -ENOENT,
 * -ENOSPC, -EIO, -ENOMEM, ...).  Functions returning pointers return NULL
 * and set errno.
 */
#ifndef ZONES_H
#define ZONES_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ZN_NAME_MAX 255 /* presentation name, no trailing dot */
#define ZN_TXT_MAX 255 /* one TXT string as stored */
#define ZN_TXT_OUT_MAX 254 /* a TXT after $ substitution (rbldnsd) */
#define ZN_NS_MAX 32
#define ZN_KEY_MAX 511 /* LMDB's default maximum key size */
#define ZN_DEFAULT_A 0x7f000002u /* 127.0.0.2 */

/* Why a call failed: "file:line: what: why" or "what: why". */
struct zn_err {
	char msg[512];
};

/* Fill err (if not NULL) printf-style and return -code (code > 0). */
int zn_err_set(struct zn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

enum zn_dstype {
	ZN_IP4SET = 0,
	ZN_IP4TSET,
	ZN_IP4TRIE,
	ZN_IP6TSET,
	ZN_IP6TRIE,
	ZN_DNSET,
	ZN_COMBINED,
	ZN_GENERIC,
	ZN_ACL,
	ZN_NTYPES,
};

/* Name of a dataset type ("ip4set"), or NULL for an invalid one. */
const char *zn_type_name(enum zn_dstype t);
/* Parse a type name; 0 or -EINVAL. */
int zn_type_parse(const char *name, enum zn_dstype *t);

/*
 * Canonical entries.
 *
 * Every dataset compiles to a set of (key, blob) pairs with unique keys,
 * sorted by memcmp() of the key.  That order is the LMDB key order, the
 * dump order and the diff order.  Keys start with a kind byte:
 *
 *   IPv4 interval  +------+--------+        blob: +--------+-----------+
 *                  | 0x04 | hi[4]  |              | lo[4]  | answer    |
 *                  +------+--------+              +--------+-----------+
 *   IPv6 interval  +------+--------+              +--------+-----------+
 *                  | 0x06 | hi[16] |              | lo[16] | answer    |
 *                  +------+--------+              +--------+-----------+
 *   name           +------+------------------+------+      +-----------+
 *                  | 'N'  | revname          | kind |      | answer    |
 *                  +------+------------------+------+      +-----------+
 *                     kind 0x01 = the name itself, 0x02 = strict
 *                     subdomains (wildcard "*.name")
 *   generic        +------+------------------+---------+   +-----------+
 *                  | 'G'  | revname          | type[2] |   | rrset     |
 *                  +------+------------------+---------+   +-----------+
 *
 * Addresses and integers are big-endian.  revname is the name's labels in
 * reverse order, lower-cased, each followed by a 0x00 byte ("www.ex.com" is
 * "com\0ex\0www\0"; the zone apex is empty), so a name sorts right before
 * its subdomains.
 *
 * IP datasets are stored flattened: the rbldnsd semantics of the dataset
 * (ip4set levels, longest prefix for tries, exclusions) are evaluated at
 * compile time into disjoint intervals [lo, hi] of addresses that share one
 * answer; excluded and unlisted addresses are gaps.  A lookup is then one
 * MDB_SET_RANGE on the address: the first interval whose hi >= address
 * answers if its lo <= address.
 *
 * An "answer" blob (A and TXT values; a set of one or more):
 *
 *   +-------+  then per value:  +------+-------+-----+-----------+
 *   | flags |                   | a[4] | tkind | len | txt[len]  |
 *   +-------+                   +------+-------+-----+-----------+
 *   flags: ZN_ANS_EXCLUDED (no values follow) or 0
 *   tkind: ZN_TXT_NONE (len 0), ZN_TXT_TEXT, ZN_TXT_OWN (the entry's TXT
 *          started with '=': it bypasses the $= base template)
 *   txt is the unexpanded template, at most 255 bytes.
 *
 * An "acl" answer is one byte ZN_ACL_* followed, for ZN_ACL_LISTED, by the
 * bytes of an answer blob.
 *
 * An "rrset" blob (generic records of one name and type):
 *
 *   per record: +--------+----------+-------------+
 *               | ttl[4] | rdlen[2] | rdata       |
 *               +--------+----------+-------------+
 *   ttl 0 means the server default (rbldnsd -t): the parser stores the
 *   $TTL in force at the record's line, so only a record read before any
 *   $TTL has 0.  rdata is DNS wire format:
 *   A: 4 bytes; AAAA: 16; TXT: one character-string; MX: preference[2] +
 *   uncompressed lower-case wire name.
 */
enum {
	ZN_KEY_IP4 = 0x04,
	ZN_KEY_IP6 = 0x06,
	ZN_KEY_NAME = 'N',
	ZN_KEY_GENERIC = 'G',
};
enum {
	ZN_NAME_EXACT = 0x01,
	ZN_NAME_WILD = 0x02,
};
enum {
	ZN_ANS_EXCLUDED = 0x01,
};
enum {
	ZN_TXT_NONE = 0,
	ZN_TXT_TEXT = 1,
	ZN_TXT_OWN = 2,
};
enum {
	ZN_ACL_IGNORE = 0,
	ZN_ACL_REFUSE = 1,
	ZN_ACL_EMPTY = 2,
	ZN_ACL_PASS = 3,
	ZN_ACL_LISTED = 4,
};

struct zn_entry {
	uint8_t *key; /* owned by the dataset */
	uint8_t *blob;
	uint16_t klen;
	uint32_t blen;
};

struct zn_soa {
	uint32_t ttl; /* 0: the server default */
	char mname[ZN_NAME_MAX + 1];
	char rname[ZN_NAME_MAX + 1];
	uint32_t serial, refresh, retry, expire, minimum;
};

struct zn_subset;

/*
 * A parsed dataset: the dataset-wide parameters and its canonical entries.
 * For ZN_COMBINED the entries are empty and the subsets hold the inner
 * datasets with the subzones they serve.
 */
struct zn_dataset {
	enum zn_dstype type;
	char *label; /* "$DATASET type:label", or NULL */

	uint32_t ttl; /* last $TTL; 0: not set, use the default */
	bool has_soa; /* first $SOA wins */
	struct zn_soa soa;
	uint32_t ns_ttl; /* from the first $NS line */
	size_t nns;
	char *ns[ZN_NS_MAX];
	char *vars[10]; /* $0..$9, first definition wins; NULL: unset */
	char *base; /* $= base template or NULL */
	int64_t ts_created; /* $TIMESTAMP, unix time; 0: none */
	int64_t ts_expires;
	int64_t mtime; /* newest file mtime (serial 0 uses it) */

	struct zn_entry *ent; /* sorted, unique keys */
	size_t nent;
	size_t cap;

	struct zn_subset *subsets; /* ZN_COMBINED only */
	size_t nsubsets;

	size_t nlines; /* lines read */
	size_t nsource; /* entries accepted from the source */
	size_t nskipped; /* bad lines skipped with a warning */
};

struct zn_subset {
	size_t nsub;
	char **subzones; /* relative to the zone; "" is the zone itself */
	struct zn_dataset *ds;
};

/* Called for every warning ("file:line: what: why"). */
typedef void (*zn_warn_fn)(void *ctx, const char *msg);

struct zn_parse_opts {
	bool host_bits_ok; /* rbldnsd -e: 1.2.3.4/8 means 1.0.0.0/8 */
	bool no_gunzip; /* rbldnsd -C */
	time_t now; /* for $TIMESTAMP; 0: time(NULL) */
	zn_warn_fn warn; /* may be NULL */
	void *warn_ctx;
};

/*
 * Parse the files of one dataset (read as one logical file, gzip detected)
 * into canonical entries.  Bad lines are warned about, counted in
 * nskipped, and skipped.  Fatal errors (a file that cannot be read, a
 * $TIMESTAMP in the future, a combined file with data before $DATASET, an
 * unparsable generic TTL, out of memory) return a negative errno with err
 * filled and *out untouched.  The caller frees *out with zn_dataset_free.
 */
int zn_dataset_load(enum zn_dstype type, const char *const *files,
    size_t nfiles, const struct zn_parse_opts *opts, struct zn_dataset **out,
    struct zn_err *err);

/* Same, from a memory buffer named "name" in messages (tests, fuzzers). */
int zn_dataset_load_mem(enum zn_dstype type, const char *name, const char *buf,
    size_t len, const struct zn_parse_opts *opts, struct zn_dataset **out,
    struct zn_err *err);

void zn_dataset_free(struct zn_dataset *ds);

/*
 * Value helpers shared by parsers, the dumper and the answering code.
 */

/* Parse rbldnsd's inet_aton-style A value ("2" = 127.0.0.2); 0 / -EINVAL. */
int zn_parse_a(const char *s, size_t len, uint32_t *a);

/*
 * Expand a TXT template at query time, per REFERENCE-rbldnsd.md 3.4.
 * txt/tkind: the entry's text; ds: for $0..$9 and the $= base template;
 * subject: the queried IP, the listed name, or the client address.
 * Writes at most ZN_TXT_OUT_MAX bytes (no NUL) to out; returns the length,
 * or -1 if the value has no TXT to answer.
 */
int zn_txt_expand(const struct zn_dataset *ds, int tkind, const char *txt,
    size_t tlen, const char *subject, char *out);

/* Append the canonical text form of an answer blob to the NUL-terminated
 * string in buf of size bytes (for dump); the result stays NUL-terminated
 * and is truncated if needed.  Returns the full length, like snprintf. */
size_t zn_blob_format(const uint8_t *blob, size_t len, char *buf, size_t size);

/*
 * Name keys.  Encode a presentation name (relative, no trailing dot; may be
 * "") as revname into out (at most ZN_KEY_MAX bytes); returns the length or
 * -1 if the name is too long or has an empty label.
 */
int zn_revname(const char *name, size_t len, uint8_t *out, size_t size);

/*
 * The LMDB database (db.c).
 *
 * One environment (a directory holding data.mdb) with these databases:
 *
 *   "meta"     "Z" zone-name      -> zone record: u32 n, n x u32 dataset id
 *                                    (command-line order)
 *              "D" id[4]          -> dataset record (parameters, counts,
 *                                    digest, subsets, source files'
 *                                    identities; see db.c)
 *              "S" "type:files"   -> id[4]: datasets shared by spec string
 *              "S" "feed:zone/id" -> id[4]: a feed-synced zone's own dataset
 *              "F" zone-name      -> feed state: serial, digest, times
 *                                    (feed.h)
 *              "#gen"             -> u64, bumped by every write that
 *                                    changes something
 *              "#ids" / "#vals"   -> u32 next dataset id / value id
 *   "values"   id[4]              -> interned answer or rrset blob
 *   "valhash"  BLAKE2b-128(blob)  -> id[4]
 *   "ds.<id>"  canonical key      -> IP kinds: lo[4|16] id[4]; others: id[4]
 *
 * Values are interned, so millions of entries that share a reason cost four
 * bytes each.  Interned values are never deleted (a later version may
 * collect unused ones); they are few in practice.
 */
struct zn_db;

#define ZN_DB_RDONLY 0x01u
#define ZN_DB_MAPSIZE_DEFAULT ((size_t)16 << 30)

/* Open (creating dir if needed and not read-only).  mapsize 0: default. */
int zn_db_open(const char *dir, unsigned flags, size_t mapsize,
    struct zn_db **out, struct zn_err *err);
void zn_db_close(struct zn_db *db);

/*
 * The identity of a source file as stat() tells it.  It is stored with
 * the dataset read from the file, so a restart or a periodic check whose
 * files all kept their identity costs one stat() per file, not a parse.
 */
struct zn_fileid {
	int64_t size;
	int64_t mtime_ns; /* st_mtim in nanoseconds since the epoch */
	uint64_t ino, dev;
};
/* stat() path into *id; 0 or a negative errno. */
int zn_fileid_stat(const char *path, struct zn_fileid *id);
bool zn_fileid_equal(const struct zn_fileid *a, const struct zn_fileid *b);

/* A zone spec "zone:type:file[,file...]" as rbldnsd takes it. */
struct zn_spec {
	char *zone; /* lower-case, no trailing dot; "" for a global acl */
	enum zn_dstype type;
	char *files; /* "file1,file2" as given */
	char **filev;
	size_t nfiles;
	/* NULL, or the nfiles identities of the files as they were when the
	 * dataset was read (zn_spec_stat); zn_db_replace stores them */
	struct zn_fileid *ids;
};
int zn_spec_parse(const char *arg, struct zn_spec *spec, struct zn_err *err);
/* A size such as "1048576", "64k", "32m" or "1g" (powers of 1024), at
 * most 64g: 0, -EINVAL (not a size) or -ERANGE (too big). */
int zn_parse_size(const char *s, size_t *out);
/* Fill spec->ids by stat()ing every file: 0, or a negative errno with err
 * naming the file (spec->ids is then NULL). */
int zn_spec_stat(struct zn_spec *spec, struct zn_err *err);
void zn_spec_cleanup(struct zn_spec *spec);
/*
 * The datasets of n specs, for zn_db_replace: ds[i] for every spec i with
 * want[i] true (want NULL: every spec), NULL for the others.  Specs with
 * equal type and files share one dataset, read once; loaded(ctx, i, ds[i]),
 * if not NULL, is called after each dataset read (progress lines).  0, or
 * the negative errno of the first dataset that fails to load, with err
 * naming the file, and every ds[i] freed and NULL.
 */
int zn_specs_load(const struct zn_spec *specs, size_t n, const bool *want,
    const struct zn_parse_opts *opts, struct zn_dataset **ds,
    void (*loaded)(void *ctx, size_t i, const struct zn_dataset *ds), void *ctx,
    struct zn_err *err);
/* Free the datasets of zn_specs_load (each shared one once); all NULL. */
void zn_specs_free(struct zn_dataset **ds, size_t n);

struct zn_write_stats {
	size_t puts, dels; /* entry changes written */
	size_t datasets_new, datasets_dropped;
	size_t zones_dropped;
	bool changed; /* false: nothing differed, nothing was written */
};

/*
 * Replace what the zones named in specs hold, in one write transaction:
 * each such zone is set to exactly its datasets (in spec order); a dataset
 * whose spec string ("type:files") is already stored is updated by a
 * merge-join diff of its entries; datasets no zone uses any more are
 * dropped.  ds[i] is the parsed dataset of specs[i] (specs with equal
 * "type:files" may share one), or NULL to keep what is stored for that
 * spec string (-ENOENT if nothing is).  A dataset written gets the file
 * identities of its spec (or none).  A call that changes nothing writes
 * nothing (st->changed false; the generation stays).  On any failure
 * nothing is changed.
 */
int zn_db_replace(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, struct zn_write_stats *st,
    struct zn_err *err);

/* Flags of zn_db_replace_flags. */
#define ZN_REPLACE_ALL 0x01u /* specs name every zone: drop the others */

/* zn_db_replace with flags; zones dropped are counted in st. */
int zn_db_replace_flags(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, unsigned flags,
    struct zn_write_stats *st, struct zn_err *err);
/*
 * zn_db_replace_flags where ZN_REPLACE_ALL also keeps, untouched, the
 * zones named in keep[0..nkeep) (lower-case, no trailing dot) that specs
 * do not name: the daemon's feed zones (mode = feed), whose data
 * zonesync writes.  A zone ZN_REPLACE_ALL drops loses its feed state
 * ("F") with it.
 */
int zn_db_replace_keep(struct zn_db *db, const struct zn_spec *specs,
    struct zn_dataset *const *ds, size_t n, unsigned flags,
    const char *const *keep, size_t nkeep, struct zn_write_stats *st,
    struct zn_err *err);

/*
 * The identities of spec's files stored with its dataset, into ids
 * (spec->nfiles of them).  0; -ENOENT if the dataset is not stored;
 * -ENODATA if it was stored without them (it must be read again).
 */
int zn_db_fileids(struct zn_db *db, const struct zn_spec *spec,
    struct zn_fileid *ids, struct zn_err *err);

/*
 * The datasets of a stored zone, in order, as parsed specs (without
 * identities).  The caller cleans each up and frees the array.  -ENOENT
 * if the zone is not stored.
 */
int zn_db_zone_specs(struct zn_db *db, const char *zone, struct zn_spec **specs,
    size_t *n, struct zn_err *err);

/*
 * Read views (lookup.c).  A view is a read transaction plus the zone table
 * read from it.  zn_view_refresh() renews the transaction (cheap) and
 * reloads the zone table only when the generation changed.  Everything a
 * lookup returns points into the view and is valid until the next
 * refresh or close.  One view per thread.
 */
struct zn_view;

struct zn_dsref {
	struct zn_dataset *ds; /* parameters only (no entries) */
	unsigned dbi; /* MDB_dbi of its entries */
	uint32_t id;
	uint64_t wild_depths[2]; /* dnset: label counts that have wildcards */
	struct zn_dsref *subs; /* combined: one per subset */
	size_t nsubs;
	void *cursor; /* an MDB_cursor kept open across refreshes, so a
			 lookup allocates nothing */
	/* IPv4 data: a bit per /24 that some entry touches, made when the
	 * view loads a new generation unless the dataset's entries are the
	 * same as in the last one; NULL: none (small or not IPv4) */
	uint8_t *f4;
	bool f4_kept; /* f4 taken over from the last generation */
	/* what the entries were when loaded: their digest and count (the
	 * digest is db_int.h's ZN_DIGEST_LEN bytes) */
	uint8_t digest[32];
	uint64_t nent;
};

struct zn_zone {
	char name[ZN_NAME_MAX + 1];
	unsigned nlabels;
	struct zn_dsref *refs; /* data datasets, in spec order */
	size_t nrefs;
	struct zn_dsref *acl; /* the zone's acl, or NULL */
	const struct zn_dataset *soa_ds; /* first dataset with $SOA or NULL */
	const struct zn_dataset *ns_ds; /* first dataset with $NS or NULL */
	/* the zone or one of its combined subzones has IPv4 / IPv6 data;
	 * lookups decide v4-mapped and 6to4 names per subzone (the datasets
	 * consulted together), as rbldnsd does, not from these */
	bool has_ip4, has_ip6;
	/* soa_ds's MNAME and RNAME, then ns_ds's NS names, in wire form,
	 * made when the view loads the zone table (NULL: neither) */
	struct zn_wname *wn;
};

/*
 * A name in wire form, compressed against a zone's name as rbldnsd
 * compresses: the longest suffix of the name that is also a suffix of the
 * zone's name becomes a pointer to where the zone's name holds it.  An
 * answer writes w[0, cut) and, if cut < len, a pointer to the question's
 * zone name (at offset apex) plus zoff; len 0: the name is unusable.
 */
struct zn_wname {
	uint8_t w[ZN_NAME_MAX + 2];
	uint16_t len, cut, zoff;
};
/* Make wn for name s (presentation form, maybe with a trailing dot) in
 * zone (no trailing dot; "" for none).  Returns wn->len. */
size_t zn_wname_make(struct zn_wname *wn, const char *s, const char *zone);

int zn_view_open(struct zn_db *db, struct zn_view **out, struct zn_err *err);
/* Returns 1 if the zone table changed, 0 if not, negative on error. */
int zn_view_refresh(struct zn_view *v, struct zn_err *err);
/*
 * Let go of the view's snapshot while the thread is idle (the read
 * transaction is reset), so an idle reader does not keep the writer from
 * reusing pages and the file from growing.  The zone table stays; no
 * lookup may run until the next zn_view_refresh(), which takes a new
 * snapshot.  Releasing a released view does nothing.
 */
void zn_view_release(struct zn_view *v);
void zn_view_close(struct zn_view *v);
/* The zone table and the global acl (zone "") of a view. */
const struct zn_zone *zn_view_zones(const struct zn_view *v, size_t *n);
const struct zn_zone *zn_view_global_acl(const struct zn_view *v);
uint64_t zn_view_generation(const struct zn_view *v);

/* A query name as labels, lower-cased, leftmost label first. */
#define ZN_LABELS_MAX 128
struct zn_qname {
	unsigned nlabels;
	uint8_t len[ZN_LABELS_MAX];
	uint8_t off[ZN_LABELS_MAX]; /* into buf */
	uint8_t buf[256];
};
/* From presentation ("2.0.0.127.bl.test", trailing dot optional; no
 * escapes) or from an uncompressed wire name.  0 or -EINVAL. */
int zn_qname_from_text(struct zn_qname *q, const char *s);
int zn_qname_from_wire(struct zn_qname *q, const uint8_t *w, size_t len);

/* The most specific served zone that is a suffix of q, or NULL.
 * *nkey is set to the number of leftmost labels left of the zone. */
const struct zn_zone *zn_view_match(const struct zn_view *v,
    const struct zn_qname *q, unsigned *nkey);

#define ZN_RES_VALS 64
#define ZN_RES_RRS 32

/* One A/TXT value found by a lookup. */
struct zn_resval {
	const struct zn_dataset *ds; /* for $n, $= and the TTL */
	uint32_t a;
	uint8_t tkind, tlen;
	const char *txt; /* unexpanded; points into the map */
	const char *subject;
};
/* One generic rrset found by a lookup. */
struct zn_resrr {
	const struct zn_dataset *ds;
	uint16_t type;
	const uint8_t *rrset; /* see "rrset" blob above */
	uint32_t len;
};

#define ZN_R_LISTED 0x01u /* A/TXT values found */
#define ZN_R_EXISTS 0x02u /* the name exists (apex, subzone, generic) */
#define ZN_R_ENT 0x04u /* something is listed below the name */
#define ZN_R_TRUNC 0x08u /* more values than ZN_RES_VALS/RRS: cut */

struct zn_result {
	unsigned flags;
	size_t nval;
	struct zn_resval val[ZN_RES_VALS];
	size_t nrr;
	struct zn_resrr rr[ZN_RES_RRS];
	char ip_subject[48]; /* the queried address, if an IP */
	char name_subject[ZN_NAME_MAX + 1]; /* the key as a name */
	/* where the subjects of val[] point: the address as each dataset
	 * saw it (IPv4 for a 6to4 name in an IPv4 dataset), the key of each
	 * subzone */
	size_t subj_used;
	char subjects[1024];
};

/*
 * Look up the nkey leftmost labels of q in zone z with rbldnsd's
 * semantics, merging all datasets of the zone; in a combined dataset only
 * the datasets of the most specific subzone holding the name answer, and
 * a subzone's own name exists.  No allocation; at most
 * one LMDB cursor operation per IP dataset (two for a 6to4 name), and for
 * name datasets one plus one per label count that holds wildcards.
 * 0 or a negative errno (-EIO for a damaged database).
 */
int zn_lookup(const struct zn_view *v, const struct zn_zone *z,
    const struct zn_qname *q, unsigned nkey, struct zn_result *r);

/*
 * zn_lookup for a client that zn_acl_check() gave action acl, with
 * rbldnsd's semantics.  ZN_ACL_EMPTY: the data datasets (all but generic)
 * report nothing, so the apex, subzone apexes and generic records still
 * exist.  ZN_ACL_LISTED: every data dataset for which the key is a
 * well-formed query (a full reversed IPv4 or a 32-nibble IPv6 name, as
 * that subzone reads it, for IP datasets; a non-empty name for dnset)
 * answers *aclval instead of looking at its data; the value is added once.
 * Never for the apex, partial addresses or non-IP names in IP zones.  The
 * caller sets aclval->subject (the client address); it must stay valid
 * while r is used.  Other actions: as zn_lookup.
 */
int zn_lookup_client(const struct zn_view *v, const struct zn_zone *z,
    const struct zn_qname *q, unsigned nkey, int acl,
    const struct zn_resval *aclval, struct zn_result *r);

/*
 * Client policy: the action (ZN_ACL_*) for a client address (4 or 16
 * bytes) under the global acl and zone z's acl, with rbldnsd's precedence
 * (ignore > refuse > empty > listed > pass); ZN_ACL_PASS if none matches.
 * For ZN_ACL_LISTED, *val is the value to answer.
 */
int zn_acl_check(const struct zn_view *v, const struct zn_zone *z,
    const uint8_t *addr, size_t alen, struct zn_resval *val);

/*
 * The answer as a DNS server sends it: A values deduplicated (first-seen
 * order), TXT expanded and deduplicated; TTLs the minimum over the values
 * of each type (dataset $TTL, else def_ttl).
 */
struct zn_rendered {
	size_t na;
	uint32_t a[ZN_RES_VALS];
	uint32_t a_ttl;
	size_t ntxt;
	uint8_t tlen[ZN_RES_VALS];
	char txt[ZN_RES_VALS][ZN_TXT_OUT_MAX];
	uint32_t txt_ttl;
};
void zn_result_render(const struct zn_result *r, uint32_t def_ttl,
    struct zn_rendered *out);

/*
 * Every zone as BIND master files, as "rbldnsd -d" prints them (bind.c):
 * IP intervals as octet/nibble-aligned names and wildcards, TXT expanded,
 * excluded names as "CNAME excluded"; def_ttl where no $TTL was given.
 */
int zn_db_dump_bind(struct zn_db *db, uint32_t def_ttl, FILE *f,
    struct zn_err *err);

/* Canonical dump of one zone or all (zone NULL) to a stdio stream. */
int zn_db_dump(struct zn_db *db, const char *zone, FILE *f, struct zn_err *err);

/*
 * Key/value stores (kv.c), for data the daemon keeps beside the zones:
 * the accounting counters.  A store is an LMDB database of its own
 * ("kv.<name>", name of a-z, 0-9 and '-'), opaque blobs to libzones, never
 * touched by imports or feed updates.
 */
struct zn_kv {
	const void *key; /* 1 to ZN_KEY_MAX bytes */
	size_t klen;
	const void *val;
	size_t vlen;
};
/*
 * Write n pairs in one transaction; with replace set the store is
 * emptied first (in the same transaction).  0 or a negative errno.
 */
int zn_kv_put(struct zn_db *db, const char *name, const struct zn_kv *kv,
    size_t n, bool replace, struct zn_err *err);
/*
 * Call fn for every pair in key order, in one read transaction (the
 * pointers are valid only during the call).  fn returns 0 to go on or a
 * negative errno to stop (returned).  A store never written is empty.
 */
typedef int zn_kv_fn(void *arg, const void *key, size_t klen, const void *val,
    size_t vlen);
int zn_kv_iter(struct zn_db *db, const char *name, zn_kv_fn *fn, void *arg,
    struct zn_err *err);

/*
 * Local policy (policy.c): per-zone allow and deny entries the operator
 * keeps in the database's "policy" store, beside the mirrored data and
 * never touched by zn_db_replace*, feed applies or zone drops.  An entry
 * is an IPv4 or IPv6 address or CIDR ("192.0.2.0/24", "2001:db8::/32"),
 * a domain name relative to the zone ("mail.example.com") or a wildcard
 * for its strict subdomains ("*.example.com").  In lookups of that zone
 * (zn_lookup, and zn_lookup_client for clients the acl passes) an allow
 * entry that matches the key unlists it whatever the datasets say; else a
 * deny entry answers its A value and its reason as TXT instead of the
 * datasets' values (the longest prefix, then an exact name over the
 * longest wildcard).  Writes bump the generation, so views pick them up
 * at their next zn_view_refresh.
 */
enum {
	ZN_POLICY_ALLOW = 1,
	ZN_POLICY_DENY = 2,
};
#define ZN_POLICY_ENTRY_MAX (ZN_NAME_MAX + 3)
#define ZN_POLICY_WHO_MAX 64

struct zn_policy_entry {
	char zone[ZN_NAME_MAX + 1]; /* lower-case, no trailing dot */
	char entry[ZN_POLICY_ENTRY_MAX]; /* canonical text (list) */
	int action; /* ZN_POLICY_* */
	uint32_t a; /* deny: the A value (0: ZN_DEFAULT_A) */
	int64_t when; /* unix time; 0 on add: now */
	char who[ZN_POLICY_WHO_MAX]; /* user name or uid */
	char reason[ZN_TXT_MAX + 1]; /* why; deny: the TXT answered */
};

/* Name of an action ("allow", "deny") or NULL. */
const char *zn_policy_action_name(int action);
/*
 * Check an entry's text and write its canonical form (the form list
 * gives) into canon (ZN_POLICY_ENTRY_MAX bytes): 0 or -EINVAL with err
 * saying what is wrong with it.
 */
int zn_policy_entry_check(const char *text, char *canon, struct zn_err *err);
/*
 * Add e (e->entry as given, e->zone, e->action, e->a, e->who, e->reason;
 * e->when 0: now), replacing the zone's entry for the same address, CIDR
 * or name whatever its action.  0, -EINVAL (err names the field) or an
 * LMDB failure.
 */
int zn_policy_add(struct zn_db *db, const struct zn_policy_entry *e,
    struct zn_err *err);
/*
 * Remove the zone's entry for text; with action non-zero only if it has
 * that action.  -ENOENT (err says so, and what is there instead) if there
 * is no such entry.  If old is not NULL it receives the removed entry.
 */
int zn_policy_remove(struct zn_db *db, const char *zone, const char *text,
    int action, struct zn_policy_entry *old, struct zn_err *err);
/*
 * Call fn for every entry of zone (NULL: of every zone), ordered by zone
 * then by key, in one read transaction.  fn returns 0 to go on or a
 * negative errno to stop (returned).
 */
typedef int zn_policy_fn(void *arg, const struct zn_policy_entry *e);
int zn_policy_list(struct zn_db *db, const char *zone, zn_policy_fn *fn,
    void *arg, struct zn_err *err);
/*
 * The policy entry of view v that decides the key (the nkey leftmost
 * labels of q) in zone z, or NULL.  No allocation.
 */
const struct zn_policy_entry *zn_policy_match(const struct zn_view *v,
    const struct zn_zone *z, const struct zn_qname *q, unsigned nkey);

/*
 * Why a name is answered as it is (explain.c): the zone, then for each
 * dataset consulted the entry that matched (an IP interval as a CIDR when
 * it is one, else "lo-hi"; a dnset name or wildcard; an exclusion) and
 * its values with TXT expanded, the feed state if the zone is
 * feed-synced, the local policy entry that applied, the client's acl
 * action if a client address was given, and the final answer.
 */
#define ZN_EXPLAIN_DS 32
#define ZN_EXPLAIN_VALS 8
struct zn_explain_ds {
	char spec[512]; /* "type:files", "feed:zone", or a combined subset's
			   "type" with its subzone */
	enum zn_dstype type;
	char subzone[ZN_NAME_MAX + 1]; /* combined: the subzone served */
	bool matched; /* an entry covers the key */
	bool excluded; /* ... and it is an exclusion */
	char match[ZN_POLICY_ENTRY_MAX + 48]; /* the entry that matched */
	size_t nval;
	uint32_t a[ZN_EXPLAIN_VALS];
	char txt[ZN_EXPLAIN_VALS][ZN_TXT_OUT_MAX + 1]; /* "" if none */
};
struct zn_explain {
	bool zone_found;
	char zone[ZN_NAME_MAX + 1];
	char key[ZN_NAME_MAX + 1]; /* the labels left of the zone */
	size_t nds;
	struct zn_explain_ds ds[ZN_EXPLAIN_DS];
	bool feed; /* the zone is feed-synced: */
	uint64_t feed_serial;
	int64_t feed_synced;
	bool policy; /* a local policy entry applied: */
	struct zn_policy_entry pol;
	bool client; /* a client address was given: */
	int acl; /* ZN_ACL_* for it */
	/* the answer */
	bool listed;
	bool exists;
	struct zn_rendered ans;
};
/*
 * Explain name (presentation form) in view v (refreshed by the caller);
 * client: NULL, or 4 or 16 address bytes (clen) for the acl.  0,
 * -EINVAL for a bad name, or a lookup failure; no zone is not an error
 * (zone_found false).  ex is large: allocate it.
 */
int zn_explain(struct zn_view *v, struct zn_db *db, const char *name,
    const uint8_t *client, size_t clen, uint32_t def_ttl, struct zn_explain *ex,
    struct zn_err *err);

/*
 * Report helpers (text.c).  zn_json_str writes s as a JSON string, bytes
 * outside printable ASCII as \u00XX.  zn_time_iso writes a unix time as
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC), or "-" for t <= 0.
 */
void zn_json_str(FILE *f, const char *s);
void zn_time_iso(int64_t t, char *buf, size_t size);

#endif /* ZONES_H */
