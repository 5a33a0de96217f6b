/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * acl: per-client policy (REFERENCE 4.10).  IPv4 and IPv6 CIDRs in one
 * dataset, each with an action:
 *
 *   :ignore :blackhole   drop the query (the initial default)
 *   :refuse              REFUSED
 *   :empty               data datasets say "not listed"
 *   :pass                no effect (a hole in a larger entry)
 *   :A:TXT, TXT          "always listed" with this value
 *
 * "=kw" is the same as ":kw" but only a keyword is allowed there.  As in
 * rbldnsd a keyword may be abbreviated (":ref") and is case-insensitive.
 * A line starting with ':' (not "::") or '=' sets the default action for
 * the following bare entries of the file.  Longest prefix match, a
 * repeated prefix is warned about and the first kept.  Entries become
 * acl blobs: one ZN_ACL_* byte, for ZN_ACL_LISTED followed by an answer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

struct acl {
	struct zn_flat f4, f6;
	uint32_t seq;
	uint8_t defact; /* ZN_ACL_*; for LISTED the value is p->defval */
	const char *file; /* to notice a new file: the default resets */
	unsigned lastline;
};

static const struct {
	const char *name;
	uint8_t act;
} keywords[] = {
	{ "ignore", ZN_ACL_IGNORE },
	{ "blackhole", ZN_ACL_IGNORE },
	{ "refuse", ZN_ACL_REFUSE },
	{ "empty", ZN_ACL_EMPTY },
	{ "pass", ZN_ACL_PASS },
};

static inline char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline bool
kw_end(char c)
{
	return c == '\0' || c == ':' || c == ' ' || c == '\t' || c == '#' ||
	    c == ';';
}

/*
 * A keyword (or a prefix of one, as rbldnsd matches them) at s, ended by
 * the end of the line, ':', a blank or a comment character.  The ZN_ACL_*
 * action or -1.
 */
static int
keyword(const char *s)
{
	size_t i, j;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return -1;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const char *k = keywords[i].name;

		for (j = 0; k[j] != '\0' && lower(s[j]) == k[j]; j++)
			;
		if (j > 0 && kw_end(s[j]))
			return keywords[i].act;
	}
	return -1;
}

/*
 * An action: "=kw", ":kw" or a value.  0 with *act (and *v for LISTED) or
 * -EINVAL after a warning.  Missing parts of a value come from p->defval.
 */
static int
parse_action(struct zn_parser *p, const char *s, uint8_t *act, struct zn_val *v)
{
	int k;

	if (*s == '=') {
		if ((k = keyword(s + 1)) < 0) {
			zn_warn(p, "invalid keyword");
			return -EINVAL;
		}
		*act = (uint8_t)k;
		return 0;
	}
	if (*s == ':' && (k = keyword(s + 1)) >= 0) {
		*act = (uint8_t)k;
		return 0;
	}
	if (zn_value_parse(p, s, strlen(s), v) != 0)
		return -EINVAL;
	*act = ZN_ACL_LISTED;
	return 0;
}

static int
acl_begin(struct zn_parser *p)
{
	struct acl *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f4, 4, false, true);
	zn_flat_init(&st->f6, 16, false, true);
	st->defact = ZN_ACL_IGNORE;
	p->tstate = st;
	return 0;
}

/* Intern the acl blob of (act, v) in f. */
static int
acl_value_id(struct zn_flat *f, uint8_t act, const struct zn_val *v,
    uint32_t *id)
{
	uint8_t buf[1 + 1 + 6 + ZN_TXT_MAX];
	size_t n = 1;

	buf[0] = act;
	if (act == ZN_ACL_LISTED)
		n = 1 + zn_blob_put_val(buf + 1, 0, v);
	return zn_flat_value(f, buf, n, id);
}

static int
acl_line(struct zn_parser *p, char *s, size_t len)
{
	struct acl *st = p->tstate;
	struct zn_flat *f;
	const char *rest, *vs;
	char abuf[40];
	struct zn_val v;
	uint8_t a[16], act;
	zn_u128 lo, hi;
	uint32_t id;
	unsigned alen, bits;
	int rc;

	(void)len;
	/* the default action is per file, like the default value */
	if (p->file != st->file || p->line < st->lastline) {
		st->defact = ZN_ACL_IGNORE;
		st->file = p->file;
	}
	st->lastline = p->line;

	if ((s[0] == ':' && s[1] != ':') || s[0] == '=') {
		if (parse_action(p, s, &act, &v) != 0)
			return 0;
		st->defact = act;
		if (act == ZN_ACL_LISTED) {
			p->defval = v;
			p->have_default = true;
		}
		return 0;
	}
	rc = zn_acl_key(s, p->opts->host_bits_ok, a, &alen, &bits, &rest);
	if (rc != 0) {
		zn_ip_key_warn(p, rc);
		return 0;
	}
	if (alen == 4 && !zn_ip_maxrange_ok(p, (uint64_t)1 << (32 - bits)))
		return 0;
	vs = zn_ip_skip_blanks(rest);
	if (*vs == '\0' || *vs == '#' || *vs == ';') {
		act = st->defact;
		v = p->defval;
	} else if (parse_action(p, vs, &act, &v) != 0) {
		return 0;
	}
	f = alen == 4 ? &st->f4 : &st->f6;
	if (acl_value_id(f, act, &v, &id) != 0)
		goto nomem;
	if (alen == 4) {
		lo = (zn_u128)a[0] << 24 | (zn_u128)a[1] << 16 |
		    (zn_u128)a[2] << 8 | a[3];
		hi = lo | ~zn_ip4_mask(bits);
	} else {
		zn_ip6_range(a, bits, &lo, &hi);
	}
	rc = zn_flat_add(f, lo, hi, bits, id, st->seq);
	if (rc == -EEXIST) {
		if (alen == 4)
			zn_ip4_format((uint32_t)lo, abuf);
		else
			zn_ip6_format(a, abuf);
		zn_warn(p, "duplicated entry for %s/%u", abuf, bits);
		return 0;
	}
	if (rc != 0)
		goto nomem;
	st->seq++;
	return 0;
nomem:
	return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory", p->file,
	    p->line);
}

static void
acl_abort(struct zn_parser *p)
{
	struct acl *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f4);
		zn_flat_cleanup(&st->f6);
		free(st);
	}
	p->tstate = NULL;
}

static int
acl_finish(struct zn_parser *p)
{
	struct acl *st = p->tstate;
	int rc;

	rc = zn_ip_flat_finish(p, &st->f4);
	if (rc == 0)
		rc = zn_ip_flat_finish(p, &st->f6);
	acl_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_acl = {
	.type = ZN_ACL,
	.begin = acl_begin,
	.line = acl_line,
	.finish = acl_finish,
	.abort = acl_abort,
	.no_soa_ns = true,
};
