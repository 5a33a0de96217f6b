/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ip4set: IPv4 ranges with per-entry values (REFERENCE 4.1), and the
 * helpers the IP dataset types share.
 *
 * Every range is split on octet boundaries as rbldnsd does (ip.h,
 * zn_flat_add_ip4set); the most specific level with an entry for an
 * address decides, and all values of that level are answered.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

/*
 * Encode v as a flatten value ("a[4] tkind len txt", the bytes an answer
 * blob holds per value) and intern it in f.
 */
int
zn_ip_value_id(struct zn_flat *f, const struct zn_val *v, uint32_t *id)
{
	uint8_t buf[1 + 6 + ZN_TXT_MAX];
	size_t n;

	n = zn_blob_put_val(buf, 0, v);
	return zn_flat_value(f, buf + 1, n - 1, id);
}

static int
emit_ds(void *ctx, const uint8_t *key, size_t klen, const uint8_t *blob,
    size_t blen)
{
	return zn_ds_add(ctx, key, klen, blob, blen);
}

/*
 * Flatten f into p's dataset (unsorted; the caller sorts).  0 or a
 * negative errno with p->err filled.
 */
int
zn_ip_flat_finish(struct zn_parser *p, struct zn_flat *f)
{
	int rc = zn_flat_run(f, emit_ds, p->ds);

	if (rc == -ENOMEM)
		return zn_err_set(p->err, ENOMEM, "%s: out of memory", p->file);
	if (rc != 0)
		return zn_err_set(p->err, -rc, "%s: cannot flatten: %s",
		    p->file, strerror(-rc));
	return 0;
}

/*
 * Skip blanks (space, tab) at s; returns the first other character.
 */
const char *
zn_ip_skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * Warn about a key parse error (a code from the ip.h key parsers) with
 * rbldnsd's wording.
 */
void
zn_ip_key_warn(struct zn_parser *p, int rc)
{
	if (rc == -EDOM)
		zn_warn(p, "invalid range (non-zero host part)");
	else
		zn_warn(p, "invalid address");
}

/*
 * $MAXRANGE4: warn (rbldnsd's wording; the size is exact here, where
 * rbldnsd prints 0 for all of IPv4) and return false if an IPv4 entry of
 * size addresses is too large.
 */
bool
zn_ip_maxrange_ok(struct zn_parser *p, uint64_t size)
{
	if (p->maxrange4 == 0 || size <= p->maxrange4)
		return true;
	zn_warn(p, "too large range (%llu) ignored (%u max)",
	    (unsigned long long)size, p->maxrange4);
	return false;
}

struct ip4set {
	struct zn_flat f;
	uint32_t seq;
};

static int
nomem(struct zn_parser *p)
{
	return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory", p->file,
	    p->line);
}

static int
ip4set_begin(struct zn_parser *p)
{
	struct ip4set *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f, 4, true, false);
	p->tstate = st;
	return 0;
}

static int
ip4set_line(struct zn_parser *p, char *s, size_t len)
{
	struct ip4set *st = p->tstate;
	const char *k = s, *rest, *vs;
	struct zn_val v;
	uint32_t lo, hi, id;
	bool excl = false;
	int rc;

	(void)len;
	if (*k == '!') {
		excl = true;
		k = zn_ip_skip_blanks(k + 1);
	}
	rc = zn_ip4set_key(k, p->opts->host_bits_ok, &lo, &hi, &rest);
	if (rc != 0) {
		zn_ip_key_warn(p, rc);
		return 0;
	}
	if (!zn_ip_maxrange_ok(p, (uint64_t)hi - lo + 1))
		return 0;
	if (excl) {
		/* the value of an exclusion is ignored, as in rbldnsd */
		id = ZN_FLAT_EXCL;
	} else {
		vs = zn_ip_skip_blanks(rest);
		if (zn_value_parse(p, vs, strlen(vs), &v) != 0)
			return 0;
		if (zn_ip_value_id(&st->f, &v, &id) != 0)
			return nomem(p);
	}
	if (zn_flat_add_ip4set(&st->f, lo, hi, id, st->seq++) != 0)
		return nomem(p);
	return 0;
}

static void
ip4set_abort(struct zn_parser *p)
{
	struct ip4set *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f);
		free(st);
	}
	p->tstate = NULL;
}

static int
ip4set_finish(struct zn_parser *p)
{
	struct ip4set *st = p->tstate;
	int rc;

	rc = zn_ip_flat_finish(p, &st->f);
	ip4set_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_ip4set = {
	.type = ZN_IP4SET,
	.begin = ip4set_begin,
	.line = ip4set_line,
	.finish = ip4set_finish,
	.abort = ip4set_abort,
};
