/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"
#include "zones.h"

#define VAL_HDR 6 /* a[4] tkind len */

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse rbldnsd's A value: one to four dot-separated decimal numbers of at
 * most 255 each (leading zeros allowed, no hex).  One number N means
 * 127.0.0.N, "a.b" is a.0.0.b and "a.b.c" is a.b.0.c (observed).  A value
 * of zero ("0", "0.0.0.0") is invalid.  0 or -EINVAL.
 */
int
zn_parse_a(const char *s, size_t len, uint32_t *a)
{
	uint32_t part[4], v, raw;
	size_t i, n;
	bool digit;

	n = 0;
	i = 0;
	for (;;) {
		if (n == 4)
			return -EINVAL;
		v = 0;
		digit = false;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (uint32_t)(s[i] - '0');
			if (v > 255)
				return -EINVAL;
			digit = true;
			i++;
		}
		if (!digit)
			return -EINVAL;
		part[n++] = v;
		if (i == len)
			break;
		if (s[i] != '.')
			return -EINVAL;
		i++;
	}
	switch (n) {
	case 1:
		if (part[0] == 0)
			return -EINVAL;
		*a = 0x7f000000u | part[0];
		return 0;
	case 2:
		raw = part[0] << 24 | part[1];
		break;
	case 3:
		raw = part[0] << 24 | part[1] << 16 | part[2];
		break;
	default:
		raw = part[0] << 24 | part[1] << 16 | part[2] << 8 | part[3];
		break;
	}
	if (raw == 0)
		return -EINVAL;
	*a = raw;
	return 0;
}

/*
 * Fill v with the built-in default value: A 127.0.0.2, no TXT.
 */
void
zn_val_default(struct zn_val *v)
{
	memset(v, 0, sizeof(*v));
	v->a = ZN_DEFAULT_A;
	v->tkind = ZN_TXT_NONE;
}

/* Store the TXT part of a value: '=' first makes it ZN_TXT_OWN. */
static void
val_set_txt(struct zn_parser *p, struct zn_val *v, const char *s, size_t len)
{
	if (len == 0) {
		v->tkind = ZN_TXT_NONE;
		v->tlen = 0;
		v->txt[0] = '\0';
		return;
	}
	/* rbldnsd cuts the text as written, a leading '=' included */
	if (len > ZN_TXT_MAX) {
		zn_note(p, "TXT longer than %d bytes, truncated", ZN_TXT_MAX);
		len = ZN_TXT_MAX;
	}
	v->tkind = ZN_TXT_TEXT;
	if (s[0] == '=') {
		v->tkind = ZN_TXT_OWN;
		s++;
		len--;
	}
	memcpy(v->txt, s, len);
	v->txt[len] = '\0';
	v->tlen = (uint8_t)len;
}

/*
 * Parse a value against the given default (see zn_value_parse).  Default
 * lines use the built-in default for their missing parts (observed: ":5"
 * after ":3:text" gives 127.0.0.5 with no TXT), entries the current
 * default.
 */
static int
value_parse(struct zn_parser *p, const char *s, size_t len,
    const struct zn_val *def, struct zn_val *v)
{
	size_t i, alen;
	uint32_t a;

	*v = *def;
	if (len == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] != ':') {
		val_set_txt(p, v, s, len);
		return 0;
	}
	/*
	 * ":A", ":A:", ":A:TXT".  A is the digits and dots right after the
	 * colon; blanks may follow it (":3 :text" is A+TXT); anything else
	 * but ':' after a valid A is "unrecognized" (":3 text", observed), a
	 * bad or empty A is "invalid A RR".
	 */
	i = 1;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	alen = i - 1;
	if (alen == 0 || zn_parse_a(s + 1, alen, &a) != 0) {
		zn_warn(p, "invalid A RR");
		return -EINVAL;
	}
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && s[i] != ':') {
		zn_warn(p, "unrecognized value for an entry");
		return -EINVAL;
	}
	v->a = a;
	if (i == len)
		return 0; /* ":A": the default TXT */
	i++;
	while (i < len && is_blank(s[i]))
		i++;
	val_set_txt(p, v, s + i, len - i);
	return 0;
}

/*
 * Parse the value part of an entry line; see parse_int.h.
 */
int
zn_value_parse(struct zn_parser *p, const char *s, size_t len, struct zn_val *v)
{
	return value_parse(p, s, len, &p->defval, v);
}

/*
 * Parse a default line (":A:TXT") into v; missing parts come from the
 * built-in default.  0 or -EINVAL after a warning.
 */
int
zn_default_parse(struct zn_parser *p, const char *s, size_t len,
    struct zn_val *v)
{
	struct zn_val def;

	zn_val_default(&def);
	return value_parse(p, s, len, &def, v);
}

/*
 * Append v to the answer blob in buf (len 0 writes the flags byte first);
 * returns the new length.
 */
size_t
zn_blob_put_val(uint8_t *buf, size_t len, const struct zn_val *v)
{
	size_t tlen;

	if (len == 0)
		buf[len++] = 0;
	tlen = v->tkind == ZN_TXT_NONE ? 0 : v->tlen;
	buf[len++] = (uint8_t)(v->a >> 24);
	buf[len++] = (uint8_t)(v->a >> 16);
	buf[len++] = (uint8_t)(v->a >> 8);
	buf[len++] = (uint8_t)v->a;
	buf[len++] = v->tkind;
	buf[len++] = (uint8_t)tlen;
	memcpy(buf + len, v->txt, tlen);
	return len + tlen;
}

/* Output buffer for TXT expansion, capped at ZN_TXT_OUT_MAX. */
struct xbuf {
	char *out;
	size_t n;
};

static void
xput(struct xbuf *x, const char *s, size_t len)
{
	size_t room = ZN_TXT_OUT_MAX - x->n;

	if (len > room)
		len = room;
	memcpy(x->out + x->n, s, len);
	x->n += len;
}

/*
 * Expand template t.  own/ownlen: the entry's text that "$=" stands for
 * inside a base template, or NULL outside one (then "$=" is the whole
 * template t itself, unexpanded: a quirk observed in rbldnsd).
 */
static void
expand(const struct zn_dataset *ds, const char *t, size_t tlen, const char *own,
    size_t ownlen, const char *subject, struct xbuf *x)
{
	size_t i, start;
	char c;

	i = 0;
	while (i < tlen && x->n < ZN_TXT_OUT_MAX) {
		start = i;
		while (i < tlen && t[i] != '$')
			i++;
		xput(x, t + start, i - start);
		if (i == tlen)
			break;
		i++; /* the '$' */
		if (i == tlen) {
			xput(x, subject, strlen(subject));
			break;
		}
		c = t[i];
		if (c == '$') {
			xput(x, "$", 1);
			i++;
		} else if (c >= '0' && c <= '9') {
			const char *var = ds != NULL ? ds->vars[c - '0'] : NULL;

			if (var != NULL)
				xput(x, var, strlen(var));
			else
				xput(x, t + i - 1, 2);
			i++;
		} else if (c == '=') {
			if (own != NULL)
				xput(x, own, ownlen);
			else
				xput(x, t, tlen);
			i++;
		} else {
			/* "$x": the subject, then x is kept. */
			xput(x, subject, strlen(subject));
		}
	}
}

/*
 * Expand a TXT template at query time; see zones.h and REFERENCE 3.4.
 * With a non-empty $= base template, a ZN_TXT_TEXT or ZN_TXT_NONE entry
 * answers the base template with "$=" replaced by the entry's text taken
 * verbatim (the subject when it is empty); a ZN_TXT_OWN entry bypasses it.
 */
int
zn_txt_expand(const struct zn_dataset *ds, int tkind, const char *txt,
    size_t tlen, const char *subject, char *out)
{
	struct xbuf x = { out, 0 };
	const char *base = ds != NULL ? ds->base : NULL;

	if (subject == NULL)
		subject = "";
	if (tkind == ZN_TXT_NONE)
		tlen = 0;
	if (tkind != ZN_TXT_OWN && base != NULL && base[0] != '\0') {
		if (tlen == 0) {
			txt = subject;
			tlen = strlen(subject);
		}
		expand(ds, base, strlen(base), txt, tlen, subject, &x);
		return (int)x.n;
	}
	if (tkind == ZN_TXT_NONE)
		return -1;
	expand(ds, txt, tlen, NULL, 0, subject, &x);
	return (int)x.n;
}

/* snprintf-style appending into buf[size]: keeps *n the full length. */
static void fmt_put(char *buf, size_t size, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fmt_put(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= size) {
		va_start(ap, fmt);
		r = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
	} else {
		va_start(ap, fmt);
		r = vsnprintf(buf + *n, size - *n, fmt, ap);
		va_end(ap);
	}
	if (r > 0)
		*n += (size_t)r;
}

/*
 * Append the canonical text form of an answer blob to the NUL-terminated
 * string in buf (size bytes in all; the result is always NUL-terminated
 * and truncated if needed).  Each value is written as rbldnsd would read it
 * back: ":A:" (no TXT), ":A:text", ":A:=text" (ZN_TXT_OWN); values are
 * separated by " | ".  An exclusion is "!excluded", a malformed blob
 * "!invalid".  Bytes outside printable ASCII, '\\' and '|' are written as
 * \DDD.  Returns the length the full string would have (like snprintf).
 */
size_t
zn_blob_format(const uint8_t *blob, size_t len, char *buf, size_t size)
{
	size_t n, off, i, tlen;
	uint8_t c;

	n = size > 0 ? strnlen(buf, size) : 0;
	if (n == size && size > 0) {
		buf[size - 1] = '\0';
		n = size - 1;
	}
	if (len < 1) {
		fmt_put(buf, size, &n, "!invalid");
		return n;
	}
	if (blob[0] & ZN_ANS_EXCLUDED) {
		fmt_put(buf, size, &n, "!excluded");
		return n;
	}
	off = 1;
	if (off == len)
		fmt_put(buf, size, &n, "!empty");
	while (off < len) {
		if (len - off < VAL_HDR ||
		    len - off - VAL_HDR < blob[off + 5] ||
		    blob[off + 4] > ZN_TXT_OWN) {
			fmt_put(buf, size, &n, "!invalid");
			return n;
		}
		if (off > 1)
			fmt_put(buf, size, &n, " | ");
		fmt_put(buf, size, &n, ":%u.%u.%u.%u:%s", blob[off],
		    blob[off + 1], blob[off + 2], blob[off + 3],
		    blob[off + 4] == ZN_TXT_OWN ? "=" : "");
		tlen = blob[off + 5];
		off += VAL_HDR;
		for (i = 0; i < tlen; i++) {
			c = blob[off + i];
			if (c < 0x20 || c >= 0x7f || c == '\\' || c == '|')
				fmt_put(buf, size, &n, "\\%03u", c);
			else
				fmt_put(buf, size, &n, "%c", c);
		}
		off += tlen;
	}
	return n;
}

/*
 * Append a copy of (key, blob) to ds->ent, unsorted.  0, -EINVAL for a key
 * longer than ZN_KEY_MAX or -ENOMEM.
 */
int
zn_ds_add(struct zn_dataset *ds, const uint8_t *key, size_t klen,
    const uint8_t *blob, size_t blen)
{
	struct zn_entry *e, *ne;
	size_t ncap;

	if (klen == 0 || klen > ZN_KEY_MAX || blen > UINT32_MAX)
		return -EINVAL;
	if (ds->nent == ds->cap) {
		ncap = ds->cap == 0 ? 64 : ds->cap * 2;
		ne = reallocarray(ds->ent, ncap, sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		ds->ent = ne;
		ds->cap = ncap;
	}
	e = &ds->ent[ds->nent];
	e->key = malloc(klen);
	e->blob = malloc(blen > 0 ? blen : 1);
	if (e->key == NULL || e->blob == NULL) {
		free(e->key);
		free(e->blob);
		return -ENOMEM;
	}
	memcpy(e->key, key, klen);
	if (blen > 0)
		memcpy(e->blob, blob, blen);
	e->klen = (uint16_t)klen;
	e->blen = (uint32_t)blen;
	ds->nent++;
	return 0;
}

struct sent {
	struct zn_entry e;
	size_t seq;
	uint64_t head; /* the key's first 8 bytes, big-endian, 0-padded */
};

static int
key_cmp(const struct zn_entry *a, const struct zn_entry *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int r = memcmp(a->key, b->key, n);

	if (r != 0)
		return r;
	return (a->klen > b->klen) - (a->klen < b->klen);
}

static int
sent_cmp(const void *x, const void *y)
{
	const struct sent *a = x, *b = y;
	int r;

	/* orders as key_cmp does, without touching the keys (cache misses) */
	if (a->head != b->head)
		return a->head < b->head ? -1 : 1;
	r = key_cmp(&a->e, &b->e);

	if (r != 0)
		return r;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Check that an answer blob's values are well-formed. */
static bool
answer_ok(const uint8_t *b, size_t len)
{
	size_t off = 1;

	if (len < 1)
		return false;
	while (off < len) {
		if (len - off < VAL_HDR || len - off - VAL_HDR < b[off + 5])
			return false;
		off += VAL_HDR + b[off + 5];
	}
	return true;
}

/*
 * Merge the answers of run[0..n) (prefix bytes before the answer: pre)
 * into one blob: union of the values in first-seen order, duplicates
 * removed; an exclusion anywhere wins.  Returns the new blob in *out.
 */
static int
merge_answers(struct sent *run, size_t n, size_t pre, uint8_t **out,
    size_t *outlen)
{
	size_t i, total, olen, off, vlen, k;
	uint8_t *buf;
	bool excl = false;

	total = pre + 1;
	for (i = 0; i < n; i++) {
		if (run[i].e.blen < pre ||
		    !answer_ok(run[i].e.blob + pre, run[i].e.blen - pre))
			return -EINVAL;
		if (run[i].e.blob[pre] & ZN_ANS_EXCLUDED)
			excl = true;
		total += run[i].e.blen - pre - 1;
	}
	buf = malloc(total);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, run[0].e.blob, pre);
	olen = pre;
	buf[olen++] = excl ? ZN_ANS_EXCLUDED : 0;
	for (i = 0; i < n && !excl; i++) {
		const uint8_t *b = run[i].e.blob + pre;
		size_t blen = run[i].e.blen - pre;

		for (off = 1; off < blen; off += vlen) {
			vlen = VAL_HDR + b[off + 5];
			/* Skip a value already present. */
			for (k = pre + 1; k < olen; k += VAL_HDR + buf[k + 5]) {
				if (VAL_HDR + (size_t)buf[k + 5] == vlen &&
				    memcmp(buf + k, b + off, vlen) == 0)
					break;
			}
			if (k < olen)
				continue;
			memcpy(buf + olen, b + off, vlen);
			olen += vlen;
		}
	}
	*out = buf;
	*outlen = olen;
	return 0;
}

/* Concatenate the blobs of run[0..n) in source order. */
static int
merge_concat(struct sent *run, size_t n, uint8_t **out, size_t *outlen)
{
	size_t i, total = 0, olen = 0;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		if (run[i].e.blen > UINT32_MAX - total)
			return -EINVAL;
		total += run[i].e.blen;
	}
	buf = malloc(total > 0 ? total : 1);
	if (buf == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (run[i].e.blen > 0)
			memcpy(buf + olen, run[i].e.blob, run[i].e.blen);
		olen += run[i].e.blen;
	}
	*out = buf;
	*outlen = olen;
	return 0;
}

/*
 * Merge a run of entries with equal keys into run[0] and free the others.
 * Generic rrsets ('G' keys) are concatenated in source order; acl keeps
 * the first; IP intervals with the same lo and names merge their answers;
 * anything else (or a malformed blob) keeps the first.
 */
static int
merge_run(const struct zn_dataset *ds, struct sent *run, size_t n)
{
	uint8_t *nb = NULL;
	size_t nlen = 0, i, pre;
	uint8_t kind = run[0].e.key[0];
	int rc = -EINVAL;

	if (kind == ZN_KEY_GENERIC) {
		rc = merge_concat(run, n, &nb, &nlen);
	} else if (ds->type != ZN_ACL) {
		pre = kind == ZN_KEY_IP4 ? 4 : kind == ZN_KEY_IP6 ? 16 : 0;
		for (i = 1; i < n; i++) {
			if (run[i].e.blen < pre || run[0].e.blen < pre ||
			    memcmp(run[i].e.blob, run[0].e.blob, pre) != 0)
				break;
		}
		if (i == n)
			rc = merge_answers(run, n, pre, &nb, &nlen);
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc == 0) {
		free(run[0].e.blob);
		run[0].e.blob = nb;
		run[0].e.blen = (uint32_t)nlen;
	}
	for (i = 1; i < n; i++) {
		free(run[i].e.key);
		free(run[i].e.blob);
		run[i].e.key = NULL;
		run[i].e.blob = NULL;
	}
	return 0;
}

/*
 * Sort ds->ent by key (memcmp, a shorter prefix first) and merge entries
 * with equal keys (see merge_run).  0 or -ENOMEM (ds is then still valid).
 */
int
zn_ds_sort(struct zn_dataset *ds)
{
	struct sent *s;
	size_t i, j, k, o;
	int rc;

	if (ds->nent == 0)
		return 0;
	/* the IP types emit their intervals in order, each key once */
	for (i = 1; i < ds->nent; i++)
		if (key_cmp(&ds->ent[i - 1], &ds->ent[i]) >= 0)
			break;
	if (i == ds->nent)
		return 0;
	s = calloc(ds->nent, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	for (i = 0; i < ds->nent; i++) {
		s[i].e = ds->ent[i];
		s[i].seq = i;
		for (k = 0; k < 8; k++)
			s[i].head = s[i].head << 8 |
			    (k < s[i].e.klen ? s[i].e.key[k] : 0);
	}
	qsort(s, ds->nent, sizeof(*s), sent_cmp);
	rc = 0;
	for (i = 0; i < ds->nent; i = j) {
		for (j = i + 1; j < ds->nent && s[i].head == s[j].head &&
		     key_cmp(&s[i].e, &s[j].e) == 0;
		     j++)
			;
		if (j - i > 1 && rc == 0)
			rc = merge_run(ds, s + i, j - i);
	}
	/* Even after a failed merge, keep what is left consistent. */
	o = 0;
	for (i = 0; i < ds->nent; i++) {
		if (s[i].e.key != NULL)
			ds->ent[o++] = s[i].e;
	}
	ds->nent = o;
	free(s);
	return rc;
}
