/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * combined: several datasets and subzones in one file (REFERENCE 4.9).
 *
 *   $SOA/$NS/$TIMESTAMP   anywhere: for the base (outer) dataset
 *   $TTL, $n, $=,         before the first $DATASET: defaults copied into
 *   $MAXRANGE4            each subset when its $DATASET line is read;
 *                         inside a subset: local to it
 *   $DATASET type[:label] subzone...    starts a subset ('@': the zone)
 *
 * Each subset is a full struct zn_dataset of its inner type in
 * ds->subsets, parsed by a nested struct zn_parser running that type's ops.
 * A new file does not continue the subset of the previous file: its data
 * lines need a $DATASET of their own (observed: rbldnsd fails the load with
 * "specify $DATASET line"); the header defaults carry on.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse_int.h"
#include "zones.h"

#define LABEL_MAX 20

enum cstate {
	C_HEADER, /* no subset yet in this file */
	C_SUBSET, /* lines go to the current subset */
	C_IGNORE, /* a $DATASET without subzones: data ignored */
};

struct combined {
	enum cstate state;
	struct zn_parser inner; /* valid in C_SUBSET */
	bool have_inner;
	bool seen_dataset;
};

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
nomem(struct zn_parser *p)
{
	return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory", p->file,
	    p->line);
}

/* Finish the current subset: its type's finish() sorts its entries. */
static int
end_subset(struct zn_parser *p, struct combined *c)
{
	int rc;

	if (!c->have_inner)
		return 0;
	c->have_inner = false;
	c->state = C_HEADER;
	rc = c->inner.ops->finish(&c->inner);
	if (rc != 0 && c->inner.tstate != NULL && c->inner.ops->abort != NULL)
		c->inner.ops->abort(&c->inner);
	(void)p;
	return rc;
}

/* Copy the header defaults of the outer dataset into a new subset. */
static int
copy_defaults(struct zn_parser *p, struct zn_parser *in)
{
	struct zn_dataset *ds = in->ds;
	unsigned i;

	ds->ttl = p->ds->ttl;
	in->maxrange4 = p->maxrange4;
	if (in->ops->no_vars)
		return 0;
	for (i = 0; i < 10; i++) {
		if (p->ds->vars[i] == NULL)
			continue;
		ds->vars[i] = strdup(p->ds->vars[i]);
		if (ds->vars[i] == NULL)
			return -ENOMEM;
	}
	if (p->ds->base != NULL) {
		ds->base = strdup(p->ds->base);
		if (ds->base == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* "$DATASET type[:label] subzone..." */
static int
start_subset(struct zn_parser *p, struct combined *c, char *args)
{
	struct zn_subset *sub, *nsubs;
	struct zn_dataset *ds = NULL;
	const struct zn_type_ops *ops;
	enum zn_dstype type;
	char *s = args, *t, *colon, **zones = NULL, **nz;
	size_t l, nz_n = 0;
	int rc;

	rc = end_subset(p, c);
	if (rc != 0)
		return rc;
	c->seen_dataset = true;
	c->state = C_IGNORE;
	while (is_blank(*s))
		s++;
	t = s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	l = (size_t)(s - t);
	if (*s != '\0')
		*s++ = '\0';
	colon = memchr(t, ':', l);
	if (colon != NULL)
		*colon++ = '\0';
	if (l == 0 || zn_type_parse(t, &type) != 0 || type == ZN_COMBINED ||
	    type == ZN_ACL) {
		zn_warn(p, "$DATASET: invalid dataset type, data ignored");
		return 0;
	}
	ops = zn_type_ops(type);
	/* Subzones up to the end or a comment. */
	for (;;) {
		uint8_t rev[ZN_NAME_MAX + 2];
		char *z;

		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#' || *s == ';')
			break;
		t = s;
		while (*s != '\0' && !is_blank(*s))
			s++;
		l = (size_t)(s - t);
		if (l == 1 && t[0] == '@') {
			l = 0;
		} else {
			/* "a..b" is a.b and "." the zone itself, as rbldnsd
			 * reads them */
			l = zn_name_squeeze(t, l);
			if (l > 0 && zn_revname(t, l, rev, sizeof(rev)) < 0) {
				zn_note(p,
				    "$DATASET: invalid subzone %.*s ignored",
				    (int)(l > 64 ? 64 : l), t);
				continue;
			}
		}
		z = strndup(t, l);
		if (z == NULL)
			goto out_nomem;
		zn_lower(z, l);
		nz = reallocarray(zones, nz_n + 1, sizeof(*zones));
		if (nz == NULL) {
			free(z);
			goto out_nomem;
		}
		zones = nz;
		zones[nz_n++] = z;
	}
	if (nz_n == 0) {
		zn_warn(p, "$DATASET: no subzones specified, data ignored");
		return 0;
	}
	ds = calloc(1, sizeof(*ds));
	if (ds == NULL)
		goto out_nomem;
	ds->type = type;
	if (colon != NULL && *colon != '\0') {
		ds->label = strndup(colon, LABEL_MAX);
		if (ds->label == NULL)
			goto out_nomem;
	}
	nsubs =
	    reallocarray(p->ds->subsets, p->ds->nsubsets + 1, sizeof(*nsubs));
	if (nsubs == NULL)
		goto out_nomem;
	p->ds->subsets = nsubs;
	sub = &nsubs[p->ds->nsubsets++];
	sub->nsub = nz_n;
	sub->subzones = zones;
	sub->ds = ds;
	zones = NULL;

	memset(&c->inner, 0, sizeof(c->inner));
	c->inner.ds = ds;
	c->inner.ops = ops;
	c->inner.opts = p->opts;
	c->inner.err = p->err;
	c->inner.file = p->file;
	c->inner.line = p->line;
	zn_val_default(&c->inner.defval);
	if (copy_defaults(p, &c->inner) != 0)
		return nomem(p);
	if (ops->begin != NULL) {
		rc = ops->begin(&c->inner);
		if (rc != 0) {
			if (c->inner.tstate != NULL && ops->abort != NULL)
				ops->abort(&c->inner);
			return rc;
		}
	}
	c->have_inner = true;
	c->state = C_SUBSET;
	return 0;

out_nomem:
	while (nz_n > 0)
		free(zones[--nz_n]);
	free(zones);
	zn_dataset_free(ds);
	return nomem(p);
}

/* Keywords that always belong to the base (outer) dataset. */
static bool
outer_kw(const char *kw)
{
	size_t n = 0;

	while (kw[n] != '\0' && !is_blank(kw[n]))
		n++;
	return (n == 3 && strncasecmp(kw, "soa", 3) == 0) ||
	    (n == 2 && strncasecmp(kw, "ns", 2) == 0) ||
	    (n == 10 && strncasecmp(kw, "nameserver", 10) == 0) ||
	    (n == 9 && strncasecmp(kw, "timestamp", 9) == 0);
}

/*
 * Route one stripped line of a combined dataset; see parse_int.h.
 */
int
zn_combined_line(struct zn_parser *p, char *s, size_t len)
{
	struct combined *c = p->tstate;
	char *kw;
	size_t n;
	int rc;

	p->skipped_line = false;
	kw = zn_special_kw(s, len);
	if (kw != NULL) {
		n = 0;
		while (kw[n] != '\0' && !is_blank(kw[n]))
			n++;
		if (n == 7 && strncasecmp(kw, "dataset", 7) == 0) {
			rc = start_subset(p, c, kw + n);
		} else if (outer_kw(kw)) {
			rc = zn_parse_special(p, s, len,
			    c->state == C_SUBSET ? c->inner.ds->ttl :
			                           p->ds->ttl);
		} else if (c->state == C_SUBSET) {
			goto inner;
		} else if (c->state == C_IGNORE) {
			rc = 0;
		} else {
			rc = zn_parse_special(p, s, len, p->ds->ttl);
		}
		if (p->skipped_line)
			p->ds->nskipped++;
		return rc;
	}
	if (s[0] == '#' || s[0] == ';')
		return 0;
	if (c->state == C_IGNORE)
		return 0;
	if (c->state == C_HEADER)
		return zn_err_set(p->err, EINVAL,
		    "%s:%u: data line without a $DATASET line", p->file,
		    p->line);
inner:
	c->inner.file = p->file;
	c->inner.line = p->line;
	c->inner.ds->nlines++;
	rc = zn_parse_line(&c->inner, s, len);
	if (c->inner.skipped_line)
		p->ds->nskipped++;
	return rc;
}

/*
 * A new file of a combined dataset starts: the current subset ends.
 * Errors of its finish() are reported by the next line or by finish.
 */
void
zn_combined_newfile(struct zn_parser *p)
{
	struct combined *c = p->tstate;

	if (c == NULL)
		return;
	/* The subset stays open until the next $DATASET or the end (where
	 * its entries are finished), but lines need a new $DATASET. */
	if (c->state == C_SUBSET || c->state == C_IGNORE)
		c->state = C_HEADER;
}

static int
combined_begin(struct zn_parser *p)
{
	p->tstate = calloc(1, sizeof(struct combined));
	if (p->tstate == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	return 0;
}

static int
combined_line(struct zn_parser *p, char *s, size_t len)
{
	return zn_combined_line(p, s, len);
}

static int
combined_finish(struct zn_parser *p)
{
	struct combined *c = p->tstate;
	size_t i;
	int rc;

	rc = end_subset(p, c);
	free(c);
	p->tstate = NULL;
	if (rc != 0)
		return rc;
	p->ds->nsource = 0;
	for (i = 0; i < p->ds->nsubsets; i++)
		p->ds->nsource += p->ds->subsets[i].ds->nsource;
	return 0;
}

static void
combined_abort(struct zn_parser *p)
{
	struct combined *c = p->tstate;

	if (c == NULL)
		return;
	if (c->have_inner && c->inner.tstate != NULL &&
	    c->inner.ops->abort != NULL)
		c->inner.ops->abort(&c->inner);
	free(c);
	p->tstate = NULL;
}

const struct zn_type_ops zn_ops_combined = {
	.type = ZN_COMBINED,
	.begin = combined_begin,
	.line = combined_line,
	.finish = combined_finish,
	.abort = combined_abort,
};
