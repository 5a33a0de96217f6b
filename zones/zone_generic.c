/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * generic: minimal BIND-like records (REFERENCE 4.8).
 *
 *   name [ttl] [IN] TYPE data       '@' is the zone apex
 *
 * Types A, AAAA (not in rbldnsd), TXT and MX.  Each record becomes an
 * entry 'G' revname type[2] with an rrset blob of one record (see zones.h);
 * zn_ds_sort concatenates the records of one name and type in file order.
 *
 * rbldnsd fails the whole load on an unparsable TTL or an MX line with
 * trailing text, without saying where.  We warn with file:line and skip
 * just that line instead, like any other bad line.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "parse_int.h"
#include "zones.h"

#define T_A 1
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next blank-separated token; NULL at the end of the line. */
static char *
tok(char **pp, size_t *len)
{
	char *s = *pp, *t;

	while (is_blank(*s))
		s++;
	if (*s == '\0') {
		*pp = s;
		return NULL;
	}
	t = s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	*len = (size_t)(s - t);
	*pp = s;
	return t;
}

static bool
tok_is(const char *t, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(t, word, len) == 0;
}

/* Parse rdata for type into rd; returns its length or -1 (warned). */
static int
parse_rdata(struct zn_parser *p, unsigned type, char *s, uint8_t *rd)
{
	struct in_addr in4;
	char *t, *rest;
	size_t l, n;
	int wl;

	switch (type) {
	case T_A:
		/* inet_aton: "2" is 0.0.0.2 here (observed), unlike values;
		 * anything after the address is ignored (observed). */
		t = tok(&s, &l);
		if (t == NULL)
			break;
		t[l] = '\0';
		if (inet_aton(t, &in4) == 0)
			break;
		memcpy(rd, &in4.s_addr, 4);
		return 4;
	case T_AAAA:
		t = tok(&s, &l);
		if (t == NULL)
			break;
		rest = s;
		t[l] = '\0';
		if (tok(&rest, &n) != NULL || inet_pton(AF_INET6, t, rd) != 1)
			break;
		return 16;
	case T_TXT:
		while (is_blank(*s))
			s++;
		l = strlen(s);
		if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
			s++;
			l -= 2;
		}
		if (l > ZN_TXT_MAX) {
			zn_note(p, "TXT longer than %d bytes, truncated",
			    ZN_TXT_MAX);
			l = ZN_TXT_MAX;
		}
		rd[0] = (uint8_t)l;
		memcpy(rd + 1, s, l);
		return (int)l + 1;
	case T_MX: {
		uint32_t pref = 0;

		t = tok(&s, &l);
		if (t == NULL || l > 5)
			break;
		for (n = 0; n < l; n++) {
			if (t[n] < '0' || t[n] > '9')
				break;
			pref = pref * 10 + (uint32_t)(t[n] - '0');
		}
		if (n < l || pref > 65535)
			break;
		t = tok(&s, &l);
		if (t == NULL)
			break;
		rest = s;
		if (tok(&rest, &n) != NULL)
			break; /* trailing text: rbldnsd fails the load */
		l = zn_name_squeeze(t, l);
		wl = l == 0 ? -1 : zn_name_wire(t, l, rd + 2, ZN_NAME_MAX + 2);
		if (wl < 0)
			break;
		rd[0] = (uint8_t)(pref >> 8);
		rd[1] = (uint8_t)pref;
		return wl + 2;
	}
	default:
		break;
	}
	zn_warn(p, "invalid %s record data",
	    type == T_A        ? "A" :
	        type == T_AAAA ? "AAAA" :
	        type == T_MX   ? "MX" :
	                         "TXT");
	return -1;
}

static int
generic_line(struct zn_parser *p, char *s, size_t len)
{
	uint8_t key[ZN_KEY_MAX];
	uint8_t blob[4 + 2 + 1 + ZN_NAME_MAX + 2 + ZN_TXT_MAX];
	char *t, *name;
	size_t l, nlen;
	uint32_t ttl = 0;
	unsigned type;
	int rlen, rdlen;

	(void)len;
	name = tok(&s, &nlen);
	if (name == NULL)
		return 0;
	if (nlen == 1 && name[0] == '@')
		nlen = 0;
	else
		nlen = zn_name_squeeze(name, nlen); /* "c..d" is c.d */
	rlen = zn_revname(name, nlen, key + 1, sizeof(key) - 3);
	if (rlen < 0 || (nlen == 0 && name[0] != '@')) {
		zn_warn(p, "invalid domain name");
		return 0;
	}
	t = tok(&s, &l);
	if (t != NULL && t[0] >= '0' && t[0] <= '9') {
		if (zn_parse_time(t, l, &ttl) != 0) {
			zn_warn(p, "invalid TTL");
			return 0;
		}
		t = tok(&s, &l);
	}
	if (t != NULL && tok_is(t, l, "IN"))
		t = tok(&s, &l);
	if (t == NULL) {
		zn_warn(p, "missing record type");
		return 0;
	}
	if (tok_is(t, l, "A")) {
		type = T_A;
	} else if (tok_is(t, l, "AAAA")) {
		type = T_AAAA;
	} else if (tok_is(t, l, "TXT")) {
		type = T_TXT;
	} else if (tok_is(t, l, "MX")) {
		type = T_MX;
	} else {
		zn_warn(p, "unsupported record type %.*s",
		    (int)(l > 16 ? 16 : l), t);
		return 0;
	}
	/* TTL 0 or none: the $TTL in force now (0: the server default). */
	if (ttl == 0)
		ttl = p->ds->ttl;
	rdlen = parse_rdata(p, type, s, blob + 6);
	if (rdlen < 0)
		return 0;
	blob[0] = (uint8_t)(ttl >> 24);
	blob[1] = (uint8_t)(ttl >> 16);
	blob[2] = (uint8_t)(ttl >> 8);
	blob[3] = (uint8_t)ttl;
	blob[4] = (uint8_t)((unsigned)rdlen >> 8);
	blob[5] = (uint8_t)rdlen;
	key[0] = ZN_KEY_GENERIC;
	key[1 + rlen] = (uint8_t)(type >> 8);
	key[2 + rlen] = (uint8_t)type;
	if (zn_ds_add(p->ds, key, (size_t)rlen + 3, blob, (size_t)rdlen + 6) !=
	    0)
		return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory",
		    p->file, p->line);
	return 0;
}

static int
generic_finish(struct zn_parser *p)
{
	int rc = zn_ds_sort(p->ds);

	if (rc != 0)
		return zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return 0;
}

const struct zn_type_ops zn_ops_generic = {
	.type = ZN_GENERIC,
	.line = generic_line,
	.finish = generic_finish,
	.no_vars = true,
};
