/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnset: domain names with values (REFERENCE 4.7).
 *
 *   name        the name itself          key 'N' revname 0x01
 *   *.name      its strict subdomains    key 'N' revname 0x02
 *   .name       both (two entries)
 *   !...        an exclusion (answer flags ZN_ANS_EXCLUDED)
 *
 * Several entries for one key are merged by zn_ds_sort (all values; an
 * exclusion wins).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse_int.h"
#include "zones.h"

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
dnset_add(struct zn_parser *p, const uint8_t *rev, int rlen, uint8_t kind,
    const uint8_t *blob, size_t blen)
{
	uint8_t key[ZN_KEY_MAX];
	int rc;

	key[0] = ZN_KEY_NAME;
	memcpy(key + 1, rev, (size_t)rlen);
	key[1 + rlen] = kind;
	rc = zn_ds_add(p->ds, key, (size_t)rlen + 2, blob, blen);
	if (rc == -ENOMEM)
		return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory",
		    p->file, p->line);
	return rc;
}

static int
dnset_line(struct zn_parser *p, char *s, size_t len)
{
	uint8_t rev[ZN_NAME_MAX + 2];
	uint8_t blob[1 + 6 + ZN_TXT_MAX];
	struct zn_val v;
	size_t i, nlen, blen;
	char *name;
	bool excl = false, exact = true, wild = false;
	int rlen, rc;

	i = 0;
	if (s[i] == '!') {
		excl = true;
		i++;
		while (i < len && is_blank(s[i]))
			i++;
	}
	if (len - i >= 2 && s[i] == '*' && s[i + 1] == '.') {
		exact = false;
		wild = true;
		i += 2;
	} else if (i < len && s[i] == '.') {
		wild = true;
		i++;
	}
	/* The name is the whole word up to a blank, as in rbldnsd: in
	 * "name:2:text" the value is part of the name (unlike IP keys). */
	name = s + i;
	while (i < len && !is_blank(s[i]))
		i++;
	nlen = (size_t)(s + i - name);
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--; /* trailing dot ignored */
	if (nlen > 0) {
		char orig[65];
		size_t o = nlen;

		snprintf(orig, sizeof(orig), "%.*s", (int)nlen, name);
		nlen = zn_name_squeeze(name, nlen);
		if (nlen != o)
			zn_note(p,
			    "empty label in domain name %s: read as "
			    "%.*s (like rbldnsd)",
			    orig, (int)(nlen > 64 ? 64 : nlen), name);
	}
	if (nlen == 0) {
		zn_warn(p, "the zone apex can't be listed");
		return 0;
	}
	if (memchr(name, ':', nlen) != NULL)
		zn_note(p,
		    "domain name %.*s contains ':': rbldnsd reads the "
		    "whole word as the name; put a blank before a value",
		    (int)(nlen > 64 ? 64 : nlen), name);
	rlen = zn_revname(name, nlen, rev, sizeof(rev));
	if (rlen < 0 || (size_t)rlen + 2 > ZN_KEY_MAX) {
		zn_warn(p, "invalid domain name");
		return 0;
	}
	while (i < len && is_blank(s[i]))
		i++;
	if (excl) {
		/* The value of an exclusion is ignored. */
		blob[0] = ZN_ANS_EXCLUDED;
		blen = 1;
	} else {
		if (zn_value_parse(p, s + i, len - i, &v) != 0)
			return 0;
		blen = zn_blob_put_val(blob, 0, &v);
	}
	if (exact) {
		rc = dnset_add(p, rev, rlen, ZN_NAME_EXACT, blob, blen);
		if (rc != 0)
			return rc;
	}
	if (wild) {
		rc = dnset_add(p, rev, rlen, ZN_NAME_WILD, blob, blen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
dnset_finish(struct zn_parser *p)
{
	int rc = zn_ds_sort(p->ds);

	if (rc != 0)
		return zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return 0;
}

const struct zn_type_ops zn_ops_dnset = {
	.type = ZN_DNSET,
	.line = dnset_line,
	.finish = dnset_finish,
};
