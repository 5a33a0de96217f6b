/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: what the feed_*.c files share (formats are drawn in feed.h).
 * Not for use outside zones/.
 */
#ifndef ZONES_FEED_INT_H
#define ZONES_FEED_INT_H

#include "db_int.h"
#include "feed.h"

_Static_assert(ZN_DIGEST_BYTES == ZN_DIGEST_LEN, "digest sizes differ");

#define FD_MAGIC_LEN 8
#define FD_VALUE_MAX (1u << 24) /* one answer or rrset blob */
#define FD_DEPTH_MAX 2 /* a combined dataset's subsets hold no subsets */

enum {
	FOP_ADD = 1,
	FOP_DEL = 2,
	FOP_SET = 3,
};

/* A growable output buffer; oom is sticky. */
struct fbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};
void fb_bytes(struct fbuf *b, const void *v, size_t n);
void fb_u8(struct fbuf *b, uint8_t v);
void fb_var(struct fbuf *b, uint64_t v);
void fb_str(struct fbuf *b, const void *s, size_t n);
void fb_free(struct fbuf *b);

/* A bounds-checked reader; the first problem is kept in why. */
struct frd {
	const uint8_t *p;
	size_t len, off;
	const char *why; /* NULL while all is well */
	size_t at; /* offset of the problem */
};
int frd_fail(struct frd *r, const char *why);
const uint8_t *frd_bytes(struct frd *r, size_t n);
uint8_t frd_u8(struct frd *r);
uint64_t frd_var(struct frd *r);

/* One entry: key, then its blob split into lo and the answer. */
struct fent {
	const uint8_t *key;
	size_t klen;
	const uint8_t *lo;
	size_t lolen;
	const uint8_t *ans;
	size_t alen;
	size_t vidx; /* index in the file's value table (file streams) */
};

/* One op of a delta; o is the old entry (del, set), n the new (add, set).
 * Both share the op's key. */
struct fop {
	int tag;
	struct fent o, n;
};

/* A dataset as a file holds it. */
struct fnode {
	const uint8_t *spec; /* "type:files", "" for a subset */
	size_t speclen;
	struct zn_dataset *ds; /* params; subsets[i] hold subzones, no ds */
	uint64_t n; /* entries or ops */
	const uint8_t *body; /* where they are encoded */
	size_t bodylen;
	size_t nsub;
	struct fnode *sub;
};

/* A decoded snapshot or delta; pointers go into the buffer. */
struct ffile {
	bool delta;
	char zone[ZN_NAME_MAX + 1];
	uint64_t from, to;
	uint8_t from_digest[ZN_DIGEST_LEN], digest[ZN_DIGEST_LEN];
	uint64_t from_entries, entries;
	size_t nval;
	const uint8_t **valp;
	size_t *vall;
	size_t nnode;
	struct fnode *node;
	uint64_t nadd, ndel, nset;
};
int ffile_decode(const uint8_t *buf, size_t len, const char *name,
    struct ffile *f, struct zn_err *err);
void ffile_cleanup(struct ffile *f);

/*
 * A stream of entries in key order.  next returns 1 with *e filled, 0 at
 * the end, or a negative errno (err filled).  Kinds: a compiled dataset,
 * a snapshot node, a snapshot node with a delta node's ops applied.
 */
struct esrc {
	int kind;
	/* compiled */
	const struct zn_dataset *ds;
	size_t i;
	/* file nodes */
	const struct ffile *f, *df;
	const struct fnode *node, *dnode;
	struct frd rd, drd;
	uint64_t left, dleft;
	bool have_e, have_op;
	struct fent e;
	struct fop op;
	struct zn_err *err;
};
void esrc_compiled(struct esrc *s, const struct zn_dataset *ds);
void esrc_snap(struct esrc *s, const struct ffile *f, const struct fnode *n,
    struct zn_err *err);
void esrc_patched(struct esrc *s, const struct ffile *f, const struct fnode *n,
    const struct ffile *df, const struct fnode *dn, struct zn_err *err);
int esrc_next(struct esrc *s, struct fent *e);

/* Ops of a delta node in key order: 1, 0 at the end, or -EINVAL. */
int fop_next(const struct ffile *f, struct frd *rd, uint64_t *left,
    struct fop *op);

/* memcmp order, shorter first: the LMDB key order. */
int fd_keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
/* Same blob (lo and answer). */
bool fd_same_val(const struct fent *a, const struct fent *b);
/* Length of lo for a key kind, or -1 for a key that is not canonical. */
int fd_key_lolen(const uint8_t *k, size_t klen);

/* Parameters, as in files and in the zone digest. */
void fd_params_encode(struct fbuf *b, const struct zn_dataset *ds);
struct zn_dataset *fd_params_decode(struct frd *r);
/* The subset list of a combined dataset: nsub, subzones (encoded by the
 * caller around each child). */
void fd_subzones_encode(struct fbuf *b, const struct zn_subset *s);
int fd_subzones_decode(struct frd *r, struct zn_subset *s);

/*
 * Zone digest: start it, add a node's skeleton (children are added by the
 * caller in order, after it), finish.
 */
struct fdigest {
	struct fbuf b;
};
void fdg_start(struct fdigest *d, const char *zone, size_t ndatasets);
void fdg_node(struct fdigest *d, const uint8_t *spec, size_t speclen,
    const struct zn_dataset *params, uint64_t nent, const uint8_t *edigest,
    size_t nsub);
void fdg_subset(struct fdigest *d, const struct zn_subset *s);
int fdg_finish(struct fdigest *d, uint8_t *out, struct zn_err *err);

/* The entry digest of one entry, added to (or taken from) acc. */
void fd_entry_digest(uint8_t *acc, const struct fent *e, bool add);

/*
 * For the publisher and the verifier.  fd_snap_from_files: the zone
 * digest and entry count of snapshot s, patched by delta d (from s) if
 * not NULL.  fd_diff_files_content: the delta from that state (serial sa,
 * digest adigest, aent entries) to compiled content c at serial sb, with
 * c's digest and entry count and the add/del/set counts (counts[3]).
 * fd_compose_files: delta f1 then f2 as one.  fd_snap_encode_content: a
 * snapshot of c with its digest and entry count.
 */
int fd_snap_from_files(const struct ffile *s, const struct ffile *d,
    uint8_t *digest, uint64_t *nent, struct zn_err *err);
int fd_diff_files_content(const struct ffile *s, const struct ffile *d,
    uint64_t sa, const uint8_t *adigest, uint64_t aent,
    const struct zn_feed_content *c, uint64_t sb, uint8_t **out, size_t *len,
    uint8_t *bdigest, uint64_t *bent, uint64_t *counts, struct zn_err *err);
int fd_compose_files(const struct ffile *f1, const struct ffile *f2,
    uint8_t **out, size_t *len, struct zn_err *err);
int fd_snap_encode_content(const struct zn_feed_content *c, uint64_t serial,
    uint8_t **out, size_t *len, uint8_t *digest, uint64_t *nent,
    struct zn_err *err);

/*
 * Read file f of a zone directory as a mirror must: its size against the
 * manifest before reading, then its BLAKE2b-256 (*out is f->size bytes,
 * malloc'ed).  Messages name the file as the manifest does.
 */
int fd_load_listed(const char *dir, const struct zn_feed_file *f, uint8_t **out,
    struct zn_err *err);
/* The manifest parsed without checking its signature (a publisher reading
 * its own feed, perhaps signed with a key it has since rolled). */
int fd_manifest_parse_unverified(const uint8_t *buf, size_t len,
    struct zn_feed_manifest *m, struct zn_err *err);

/* A whole file read into memory: at most max bytes; -EFBIG beyond. */
int fd_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
    struct zn_err *err);
/* Write data to dir/name atomically (temp file, fsync, rename). */
int fd_write_atomic(const char *dir, const char *name, const void *data,
    size_t len, struct zn_err *err);
int fd_fsync_dir(const char *dir, struct zn_err *err);

/* BLAKE2b-256 of a buffer. */
void fd_hash(const uint8_t *p, size_t n, uint8_t out[ZN_FEED_HASH_LEN]);

#endif /* ZONES_FEED_INT_H */
