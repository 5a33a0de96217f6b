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
	 * Return 1 if handled, 0 to let the driver warn "unknown". */
	int (*special)(struct zn_parser *p, const char *kw, char *args);
	/* Emit canonical entries into p->ds (zn_ds_add) and free tstate. */
	int (*finish)(struct zn_parser *p);
	/* Free tstate after an error; may be NULL. */
	void (*abort)(struct zn_parser *p);
	/* ip4tset/ip6tset: one dataset-wide value from the first default
	 * line, applying to all entries (even earlier ones). */
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
	unsigned line;	  /* current line number in that file */
	bool skipped_line; /* set by zn_warn for the current line */

	/* default value for entries without one; reset per file unless
	 * ops->dataset_wide_default (then set once, by the first line) */
	struct zn_val defval;
	bool have_default;

	uint32_t maxrange4; /* addresses; 0: unlimited */
	void *tstate;	    /* the type's own state */
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
 * 1 + n * (6 + 255) bytes); returns the new length. */
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

/* Nested parse of an inner dataset of a combined file. */
const struct zn_type_ops *zn_type_ops(enum zn_dstype t);

#endif /* ZONES_PARSE_INT_H */
