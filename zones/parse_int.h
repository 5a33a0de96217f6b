/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal interface between the common line driver (parse.c, value.c) and
 * the per-type parsers (zone_<type>.c).  Not for use outside zones/.
 *
 * The driver reads the dataset's files as one logical file (gzip
 * detected, CRLF accepted, blanks stripped, comments skipped), handles the
 * special lines common to all types ($SOA, $NS, $TTL, $MAXRANGE4, $0-$9,
 * $=, $TIMESTAMP; $DATASET is passed to the type), the default-value lines
 * (":A:TXT") and their scope, and hands every other line to the type's
 * line() callback.  finish() turns what the type collected into the
 * dataset's sorted canonical entries.
 */
#ifndef ZONES_PARSE_INT_H
#define ZONES_PARSE_INT_H

#include "zones.h"

/* A parsed value (":A:TXT" and its variants, see REFERENCE 3.3). */
struct zn_val {
	uint32_t a;
	uint8_t tkind; /* ZN_TXT_* */
	uint8_t tlen;
	char txt[ZN_TXT_MAX + 1];
};

struct zn_parser;

struct zn_type_ops {
	enum zn_dstype type;
	/* Allocate p->tstate; may be NULL. */
	int (*begin)(struct zn_parser *p);
	/*
	 * One data line: blanks stripped, not a comment, not a special line
	 * the driver handled, not a default line.  NUL-terminated, writable.
	 * A bad line: call zn_warn() and return 0 (the driver counts it when
	 * p->skipped_line is set by zn_warn).  A fatal error: return a
	 * negative errno with p->err filled.
	 */
	int (*line)(struct zn_parser *p, char *s, size_t len);
	/* A "$KEYWORD args" the driver does not know ($DATASET); may be NULL.
	 * kw is the keyword without '$' as written (compare it with
	 * strcasecmp), args the rest of the line after blanks.
	 * Return 1 if handled, 0 to let the driver warn "unknown", or a
	 * negative errno (fatal, p->err filled). */
	int (*special)(struct zn_parser *p, const char *kw, char *args);
	/* Emit canonical entries into p->ds (zn_ds_add), sort them
	 * (zn_ds_sort) and free tstate, setting p->tstate to NULL (also on
	 * failure: the driver calls abort() only if p->tstate is still
	 * set). */
	int (*finish)(struct zn_parser *p);
	/* Free tstate after an error; may be NULL. */
	void (*abort)(struct zn_parser *p);
	/* ip4tset/ip6tset: one dataset-wide value from the first default
	 * line, applying to all entries (even earlier ones).  The driver
	 * then sets p->defval only from the first default line of the whole
	 * dataset and never resets it; line() must not resolve values, and
	 * finish() builds every entry's answer from the final p->defval
	 * (the built-in default if p->have_default is false). */
	bool dataset_wide_default;
	/* acl: "$SOA"/"$NS" are not allowed. */
	bool no_soa_ns;
	/* generic: $n variables are ignored. */
	bool no_vars;
};

struct zn_parser {
	struct zn_dataset *ds;
	const struct zn_type_ops *ops;
	const struct zn_parse_opts *opts;
	struct zn_err *err;
	const char *file; /* current file name, for messages */
	unsigned line; /* current line number in that file */
	bool skipped_line; /* set by zn_warn for the current line */

	/* default value for entries without one; reset per file unless
	 * ops->dataset_wide_default (then set once, by the first line) */
	struct zn_val defval;
	bool have_default;

	uint32_t maxrange4; /* addresses; 0: unlimited */
	void *tstate; /* the type's own state */

	/* driver-private */
	bool ns_seen; /* a $NS line was taken (first one wins) */
};

/* Warn "file:line: msg" through opts->warn and mark the line skipped. */
void zn_warn(struct zn_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Warn without marking the line as skipped (e.g. truncated TXT). */
void zn_note(struct zn_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parse the value part of an entry line (what follows the key and its
 * blanks, or ":" directly): "", ":A:TXT", ":A", ":A:", "TXT", or a comment
 * after a blank.  Missing parts come from p->defval (or the built-in
 * default 127.0.0.2, no TXT).  0, or -EINVAL after zn_warn ("invalid A RR").
 */
int zn_value_parse(struct zn_parser *p, const char *s, size_t len,
    struct zn_val *v);

/* Append a value to an answer blob being built (buf has room for
 * 1 + n * (6 + 255) bytes); returns the new length.  len 0 starts a new
 * blob: the flags byte 0 is written first. */
size_t zn_blob_put_val(uint8_t *buf, size_t len, const struct zn_val *v);

/*
 * Append a canonical entry (copies key and blob) to ds, unsorted.  Then
 * zn_ds_sort() sorts by key; entries with equal keys are merged by
 * zn_blob_merge (answer blobs: union of values, excluded wins), so types
 * that must keep only the first of duplicates filter them themselves.
 */
int zn_ds_add(struct zn_dataset *ds, const uint8_t *key, size_t klen,
    const uint8_t *blob, size_t blen);
int zn_ds_sort(struct zn_dataset *ds);

/*
 * Default lines.  A line starting with ':' is a default line handled by the
 * driver, except: for ip6tset/ip6trie a line starting with "::" is an
 * address; for acl every ':' line goes to line() (acl has its own default
 * syntax, ":kw"/"=kw"/":A:TXT", see REFERENCE 4.10).
 */

/* The built-in default value: A 127.0.0.2, no TXT. */
void zn_val_default(struct zn_val *v);
/* Parse a default line; missing parts come from the built-in default
 * (observed: ":5" after ":3:text" has no TXT).  0 or -EINVAL (warned). */
int zn_default_parse(struct zn_parser *p, const char *s, size_t len,
    struct zn_val *v);

/*
 * Handle one stripped, non-empty, NUL-terminated line for p: a special
 * line, a comment, a default line or a data line.  Used by the driver and
 * by combined for the lines of its subsets.  0 or a fatal -errno.
 */
int zn_parse_line(struct zn_parser *p, char *s, size_t len);

/*
 * Handle a special line ("$KW args", "#$KW", ";$KW", ":$KW") for p; ttl0 is
 * the TTL that a $SOA/$NS TTL of 0 stands for.  0 or a fatal -errno.
 */
int zn_parse_special(struct zn_parser *p, char *s, size_t len, uint32_t ttl0);

/* If s is a special line, return its keyword (after the '$'), else NULL. */
char *zn_special_kw(char *s, size_t len);

/* rbldnsd time value: digits with an optional unit s m h d w; 0/-EINVAL. */
int zn_parse_time(const char *s, size_t len, uint32_t *t);

/* combined: route one line (zone_combined.c); a new file starts. */
int zn_combined_line(struct zn_parser *p, char *s, size_t len);
void zn_combined_newfile(struct zn_parser *p);

/* Names (name.c). */
void zn_lower(char *s, size_t len);
int zn_name_wire(const char *name, size_t len, uint8_t *out, size_t size);
int zn_name_check(const char *name, size_t len);
size_t zn_name_squeeze(char *s, size_t len);

/* The ops of a type (the table in parse.c). */
const struct zn_type_ops *zn_type_ops(enum zn_dstype t);

extern const struct zn_type_ops zn_ops_ip4set; /* zone_ip4set.c */
extern const struct zn_type_ops zn_ops_ip4tset; /* zone_ip4tset.c */
extern const struct zn_type_ops zn_ops_ip4trie; /* zone_ip4trie.c */
extern const struct zn_type_ops zn_ops_ip6tset; /* zone_ip6tset.c */
extern const struct zn_type_ops zn_ops_ip6trie; /* zone_ip6trie.c */
extern const struct zn_type_ops zn_ops_dnset; /* zone_dnset.c */
extern const struct zn_type_ops zn_ops_generic; /* zone_generic.c */
extern const struct zn_type_ops zn_ops_combined; /* zone_combined.c */
extern const struct zn_type_ops zn_ops_acl; /* zone_acl.c */

#endif /* ZONES_PARSE_INT_H */
