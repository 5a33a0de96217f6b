/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The signed zone feed (DESIGN.md "The feed", REFERENCE-dnsbl.md 5): a
 * directory of static files any dumb mirror can serve, from which a
 * mirror moves its LMDB copy of a zone from one published version to a
 * later one in one write transaction.  Part of libzones: it never prints
 * and never exits.
 *
 * Feed directory
 * --------------
 *   FEEDDIR/<zone>/manifest        signed text, the only file that changes
 *   FEEDDIR/<zone>/snap/<s>        full content of version s
 *   FEEDDIR/<zone>/delta/<a>-<b>   changes from version a to b (b is the
 *                                  head: every delta is cumulative)
 *   FEEDDIR/<zone>/.lock           held by a publisher while it writes
 *
 * Serials are u64, start at 1 and grow by one per published version.  The
 * manifest names exactly one snapshot, the newest, at serial p <= head;
 * when p < head the delta p->head is always listed too, so any mirror
 * reaches the head with at most two files: its own delta, or else the
 * snapshot plus the delta from it.  File names derive from serials only;
 * nothing a mirror reads from a manifest becomes a path.
 *
 * Publisher state lives in the feed itself: the previous head is the
 * newest snapshot plus the delta from it, both checked against the signed
 * manifest (size and hash) before use, so a publisher keeps no private
 * database and a feed directory can be moved or restored as a whole.
 *
 * Manifest (text, every line in this order, '\n' ends each line):
 *
 *   resolverd-feed 1
 *   zone <zone>
 *   serial <u64>
 *   issued <unix time>
 *   expires <unix time>             > issued
 *   key <key id, 16 hex>            the key that signs it
 *   entries <u64>                   of the head, every dataset
 *   digest <64 hex>                 zone digest of the head (below)
 *   snapshot <s> <size> <hash>      hash: BLAKE2b-256 of the file, hex
 *   delta <a> <b> <size> <hash>     0..4096 lines, a ascending, b = serial
 *   signature <key id> <128 hex>
 *
 * Numbers are decimal without leading zeros.  The signature is Ed25519
 * over "resolverd-feed/manifest/v1\0" followed by every byte before the
 * "signature" line, so it binds the format version, zone, serial, times,
 * key id, head digest and the size and hash of every file listed.
 *
 * Key files (text; '#' comment lines and blank lines are ignored):
 *
 *   resolverd-feed-pubkey 1 <key id> <public key, 64 hex>
 *   resolverd-feed-seckey 1 <key id> <secret key, 128 hex>   (mode 0600)
 *
 * The key id is BLAKE2b-64 of the 32-byte public key, so a damaged key
 * file or a manifest naming another key is detected before verifying.
 *
 * Binary files (snapshot and delta)
 * ---------------------------------
 * var = LEB128 u64, minimal length; str = var length + bytes (no NUL);
 * ostr = var 0 for "none" or length + 1, then bytes; all checked against
 * the file's end, and a file must be consumed exactly.
 *
 *   +-------------+------+--------+ snapshot: +-----+---------+--------+
 *   | magic[8]    | zone | serial |           | ent | dig[32] | values |
 *   +-------------+------+--------+           +-----+---------+--------+
 *    "RDZSNAP\1"   str    var                  var              then var
 *                                                               ndatasets
 *                                                               and nodes
 *   delta:  "RDZDLTA\1" zone:str from:var to:var fdig[32] tdig[32]
 *           fent:var tent:var values ndatasets:var nodes
 *
 *   values: var n, then n x str   (distinct answer/rrset blobs; entries
 *                                  name them by index)
 *   node:   spec:str ("type:files" at the top, "" in a subset)
 *           params n:var, n x entry (snapshot) or n x op (delta)
 *           nsub:var, nsub x (nz:var, nz x subzone:str, node)
 *   params: type:u8 label:ostr ttl:var has_soa:u8 [soa ttl:var mname:str
 *           rname:str serial refresh retry expire minimum:var] ns_ttl:var
 *           nns:var nns x str, $0..$9: 10 x ostr, $=: ostr, ts_created
 *           ts_expires mtime (int64 as u64) nsource nskipped nlines:var
 *   entry:  klen:var key[klen] lo[0|4|16] value:var   (keys strictly
 *           ascending in canonical order; lo by the key's kind, zones.h)
 *   op:     tag:u8 klen:var key[klen], then
 *             1 add:  lo value            the key must be absent
 *             2 del:  lo value            old value; must match
 *             3 set:  lo value lo value   old, then new (they differ)
 *
 * A delta has the node structure of both ends: the same datasets (spec
 * and type) in the same order, the same number of subsets.  A version
 * whose structure differs from the previous one gets a snapshot and no
 * delta.  Deltas carry old values (as IXFR carries deleted records), so a
 * mirror checks every change against what it holds, and a publisher
 * composes delta(a,b) and delta(b,c) into delta(a,c) exactly.
 *
 * Zone digest
 * -----------
 * BLAKE2b-256 over "resolverd-feed/zone-digest/v1\0", zone:str,
 * ndatasets:var, then per node: spec:str params nent:var edigest[32]
 * nsub:var and per subset nz:var nz x subzone:str node; edigest is the
 * dataset's additive entry digest that the database maintains per write
 * (db.c), so a mirror proves the state it committed in O(datasets) after
 * an O(delta) apply.
 *
 * Database
 * --------
 * A synced zone's datasets are ordinary datasets (zones.h) whose "S" key
 * is "feed:<zone>/<id>" (no rbldnsd spec string starts so: they start with
 * a type name), so no other zone shares them and zn_db_replace's garbage
 * collection still drops them once no zone refers to them.  Their records
 * keep the publisher's "type:files", so a mirror dumps byte-identically to
 * a compile of the same files.  Feed state is one more meta record:
 *
 *   "F" zone  -> u8 version (1), serial[8], digest[32], entries[8],
 *                issued[8], expires[8], synced[8], key id[8]
 *
 * written in the same transaction as the data it describes.
 */
#ifndef ZONES_FEED_H
#define ZONES_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "zones.h"

#define ZN_DIGEST_BYTES 32 /* zone and dataset digests */
#define ZN_FEED_KEYID_LEN 8
#define ZN_FEED_HASH_LEN 32
#define ZN_FEED_MANIFEST_MAX (1u << 20)
#define ZN_FEED_DELTAS_MAX 4096
#define ZN_FEED_SKEW_DEFAULT 300 /* seconds a manifest may be early */

/* Keys. */
struct zn_feed_pubkey {
	uint8_t id[ZN_FEED_KEYID_LEN];
	uint8_t pk[32];
};
struct zn_feed_seckey; /* sodium_malloc'ed; see zn_feed_seckey_load */

/*
 * Make a key pair: the secret key file is created with mode 0600, the
 * public one 0644, both with O_EXCL (an existing file is an error).  The
 * key id is written to id.  0 or a negative errno.
 */
int zn_feed_keygen(const char *pubpath, const char *secpath,
    uint8_t id[ZN_FEED_KEYID_LEN], struct zn_err *err);
int zn_feed_pubkey_load(const char *path, struct zn_feed_pubkey *pk,
    struct zn_err *err);
/* Refuses a file that group or others may read.  Free with
 * zn_feed_seckey_free (it wipes the key). */
int zn_feed_seckey_load(const char *path, struct zn_feed_seckey **sk,
    struct zn_err *err);
void zn_feed_seckey_free(struct zn_feed_seckey *sk);
/* The public half and id of a secret key. */
void zn_feed_seckey_public(const struct zn_feed_seckey *sk,
    struct zn_feed_pubkey *pk);
/* Key id as 16 lower-case hex digits plus NUL. */
void zn_feed_keyid_hex(const uint8_t id[ZN_FEED_KEYID_LEN], char out[17]);

/* A file listed in a manifest: a snapshot (from == to) or a delta. */
struct zn_feed_file {
	uint64_t from, to;
	uint64_t size;
	uint8_t hash[ZN_FEED_HASH_LEN];
};

struct zn_feed_manifest {
	char zone[ZN_NAME_MAX + 1];
	uint64_t serial;
	int64_t issued, expires;
	uint8_t keyid[ZN_FEED_KEYID_LEN];
	uint64_t entries;
	uint8_t digest[ZN_DIGEST_BYTES];
	struct zn_feed_file snapshot;
	size_t ndeltas;
	struct zn_feed_file *deltas; /* sorted by from */
};

/*
 * Sign m with sk (m->keyid is set from sk) and return the manifest text
 * in *out (malloc'ed, *len bytes).  The signature is verified before
 * returning.  0 or a negative errno.
 */
int zn_feed_manifest_sign(struct zn_feed_manifest *m,
    const struct zn_feed_seckey *sk, char **out, size_t *len,
    struct zn_err *err);
/*
 * Verify a manifest's signature with one of keys (the one whose id it
 * names; -EPERM naming the id if none), then parse it strictly (-EINVAL
 * naming the line).  *m is filled only on success; clean it up with
 * zn_feed_manifest_cleanup.
 */
int zn_feed_manifest_verify(const uint8_t *buf, size_t len,
    const struct zn_feed_pubkey *keys, size_t nkeys, struct zn_feed_manifest *m,
    struct zn_err *err);
void zn_feed_manifest_cleanup(struct zn_feed_manifest *m);
/* The file name of f relative to the zone directory ("snap/5",
 * "delta/3-5"). */
void zn_feed_file_name(const struct zn_feed_file *f, char *buf, size_t size);

/* A zone's content as compiled: datasets in spec order. */
struct zn_feed_content {
	const char *zone;
	size_t n;
	char *const *spec; /* "type:files" of each dataset */
	struct zn_dataset *const *ds;
};

/* Zone digest and entry count of compiled content; O(entries). */
int zn_feed_content_digest(const struct zn_feed_content *c,
    uint8_t digest[ZN_DIGEST_BYTES], uint64_t *entries, struct zn_err *err);
/* The same from what the database holds for zone; O(datasets).
 * -ENOENT if the zone is not stored. */
int zn_feed_db_digest(struct zn_db *db, const char *zone,
    uint8_t digest[ZN_DIGEST_BYTES], uint64_t *entries, struct zn_err *err);

/*
 * Encoders (malloc'ed output).  A snapshot of c at serial; a delta from
 * content a at serial sa to content b at serial sb (-EXDEV if their
 * structures differ: that version needs a snapshot); the composition of
 * two chained deltas (-EINVAL if they do not chain).
 */
int zn_feed_snapshot_encode(const struct zn_feed_content *c, uint64_t serial,
    uint8_t **out, size_t *len, struct zn_err *err);
int zn_feed_delta_encode(const struct zn_feed_content *a, uint64_t sa,
    const struct zn_feed_content *b, uint64_t sb, uint8_t **out, size_t *len,
    struct zn_err *err);
int zn_feed_delta_compose(const uint8_t *d1, size_t l1, const uint8_t *d2,
    size_t l2, uint8_t **out, size_t *len, struct zn_err *err);

/* What a snapshot or delta file says about itself. */
struct zn_feed_info {
	bool delta;
	char zone[ZN_NAME_MAX + 1];
	uint64_t from, to; /* snapshot: both its serial */
	uint8_t from_digest[ZN_DIGEST_BYTES], digest[ZN_DIGEST_BYTES];
	uint64_t from_entries, entries;
	uint64_t ops_add, ops_del, ops_set; /* delta */
	size_t ndatasets, nvalues;
};
/*
 * Decode a file strictly, entries and all (name is for messages); for a
 * snapshot also recompute its zone digest and check it against the one
 * it carries.  0 or -EINVAL with err naming the offset and the problem.
 */
int zn_feed_file_check(const uint8_t *buf, size_t len, const char *name,
    struct zn_feed_info *info, struct zn_err *err);

/* Feed state of a synced zone (the "F" record). */
struct zn_feed_state {
	uint64_t serial;
	uint8_t digest[ZN_DIGEST_BYTES];
	uint64_t entries;
	int64_t issued, expires, synced;
	uint8_t keyid[ZN_FEED_KEYID_LEN];
};
/* -ENOENT if the zone was never synced. */
int zn_feed_state_get(struct zn_db *db, const char *zone,
    struct zn_feed_state *st, struct zn_err *err);

/* What the database must hold after an apply. */
struct zn_feed_target {
	uint64_t serial;
	uint8_t digest[ZN_DIGEST_BYTES];
	uint64_t entries;
	int64_t issued, expires;
	uint8_t keyid[ZN_FEED_KEYID_LEN];
};

struct zn_feed_stats {
	uint64_t adds, dels, sets; /* entries */
	uint64_t entries; /* after */
	bool snapshot;
};

/*
 * Apply, in one write transaction: the snapshot (if snap is not NULL),
 * then the delta (if delta is not NULL; from the snapshot's serial or
 * else from the zone's current feed serial, whose digest must match the
 * database).  Then the zone digest, entry count and serial must be t's,
 * and the feed state is written with synced = now.  On any failure the
 * transaction is aborted and the database is exactly as it was.
 */
int zn_feed_apply_mem(struct zn_db *db, const char *zone, const uint8_t *snap,
    size_t snaplen, const uint8_t *delta, size_t deltalen,
    const struct zn_feed_target *t, int64_t now, struct zn_feed_stats *st,
    struct zn_err *err);

/*
 * Progress of an apply: fn(ctx, done, total) is called with done 0 before
 * the first entry, then every 16384 entries or delta ops handled, and
 * with done == total before the commit.  total counts the snapshot's
 * entries plus the delta's ops.  fn runs in the applying thread, inside
 * the write transaction: it must be quick and must not use the database.
 */
struct zn_feed_progress {
	void (*fn)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
};

/* zn_feed_apply_mem with a progress callback (pg may be NULL). */
int zn_feed_apply_mem_progress(struct zn_db *db, const char *zone,
    const uint8_t *snap, size_t snaplen, const uint8_t *delta, size_t deltalen,
    const struct zn_feed_target *t, int64_t now,
    const struct zn_feed_progress *pg, struct zn_feed_stats *st,
    struct zn_err *err);

/*
 * Mirror side.  zn_feed_plan checks a verified manifest against the
 * database: zone name, issue time at most skew seconds ahead of now, not
 * expired, serial not below ours (rollback).  It sets *nfiles to 0 when
 * the zone is current (same serial, digest matching), else names the one
 * or two files to fetch in files[] (pointers into m): the delta from our
 * serial, or the snapshot and, if it is not at the head, the delta from
 * it.  cur gets our state (serial 0 if none).  0 or a negative errno
 * (-ESTALE rollback, -ETIMEDOUT expired, -EINVAL wrong zone or future).
 */
int zn_feed_plan(struct zn_db *db, const struct zn_feed_manifest *m,
    const char *zone, int64_t now, int64_t skew,
    const struct zn_feed_file *files[2], size_t *nfiles,
    struct zn_feed_state *cur, struct zn_err *err);

/*
 * Read the planned files from dir (the zone directory): size against the
 * manifest (before reading), then BLAKE2b-256, then parse and apply with
 * zn_feed_apply_mem.  nfiles 0 only refreshes the feed state's times.
 */
int zn_feed_apply_files(struct zn_db *db, const struct zn_feed_manifest *m,
    const char *dir, const struct zn_feed_file *const *files, size_t nfiles,
    int64_t now, struct zn_feed_stats *st, struct zn_err *err);
/* zn_feed_apply_files with a progress callback (pg may be NULL). */
int zn_feed_apply_files_progress(struct zn_db *db,
    const struct zn_feed_manifest *m, const char *dir,
    const struct zn_feed_file *const *files, size_t nfiles, int64_t now,
    const struct zn_feed_progress *pg, struct zn_feed_stats *st,
    struct zn_err *err);

/* Publisher. */
struct zn_feed_pubopts {
	const char *dir; /* FEEDDIR; the zone directory is made inside */
	const struct zn_feed_seckey *sk;
	unsigned keep; /* deltas from this many older serials */
	int64_t lifetime; /* expires = issued + lifetime */
	int64_t issued; /* 0: now */
	bool force_snapshot;
	/* a new snapshot when the delta from the newest snapshot is larger
	 * than this share of a snapshot */
	double snapshot_share;
};

struct zn_feed_pubres {
	uint64_t prev, serial; /* prev 0: first version */
	bool changed; /* false: same content, manifest re-signed */
	bool snapshot; /* a snapshot was written */
	uint64_t snap_size, delta_size; /* bytes; delta: prev -> serial */
	size_t ndeltas; /* listed */
	size_t removed; /* old files deleted */
	uint64_t adds, dels, sets, entries;
	/* with force_snapshot, a previous version that could not be read
	 * (why, or ""): only a snapshot was published */
	char broken[512];
};

/*
 * Publish content c as the next version of its zone: see the top of this
 * file.  Files are written to a temporary name, fsync()ed and renamed,
 * the manifest last; files neither the new nor the previous manifest
 * lists are then removed.  0 or a negative errno (-EAGAIN: another
 * publisher holds the lock).  A previous version whose files are damaged
 * or gone is an error, unless force_snapshot is set: then the next serial
 * gets a snapshot and no delta, and r->broken says what was wrong.
 */
int zn_feed_publish(const struct zn_feed_pubopts *o,
    const struct zn_feed_content *c, struct zn_feed_pubres *r,
    struct zn_err *err);

/* Result of checking one zone directory of a feed. */
struct zn_feed_verify {
	uint64_t serial;
	size_t nfiles; /* files checked */
	uint64_t bytes;
};
/*
 * Check everything a mirror could fetch from a zone directory: the
 * manifest's signature, every listed file's size, hash and strict decode,
 * their serials, zones and digests, and that the snapshot plus its delta
 * reproduce the head digest.  now is used for the expiry check.
 */
int zn_feed_verify_zone(const char *zonedir, const char *zone,
    const struct zn_feed_pubkey *keys, size_t nkeys, int64_t now,
    struct zn_feed_verify *v, struct zn_err *err);

/* True if zone is a name usable as a feed directory name. */
bool zn_feed_zone_ok(const char *zone);

#endif /* ZONES_FEED_H */
