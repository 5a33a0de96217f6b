/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ip6trie: IPv6 CIDRs with one value each, longest prefix match
 * (REFERENCE 4.4).  A repeated prefix is warned about and the first one
 * kept.  The prefixes are flattened with their length as priority.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

struct ip6trie {
	struct zn_flat f;
	uint32_t seq;
};

static int
ip6trie_begin(struct zn_parser *p)
{
	struct ip6trie *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f, 16, true, true);
	p->tstate = st;
	return 0;
}

static int
ip6trie_line(struct zn_parser *p, char *s, size_t len)
{
	struct ip6trie *st = p->tstate;
	const char *k = s, *rest, *vs;
	char abuf[40];
	struct zn_val v;
	uint8_t a[16];
	zn_u128 lo, hi;
	uint32_t id;
	unsigned bits;
	bool excl = false;
	int rc;

	(void)len;
	if (*k == '!') {
		excl = true;
		k = zn_ip_skip_blanks(k + 1);
	}
	rc = zn_ip6trie_key(k, p->opts->host_bits_ok, a, &bits, &rest);
	if (rc != 0) {
		zn_ip_key_warn(p, rc);
		return 0;
	}
	if (excl) {
		id = ZN_FLAT_EXCL;
	} else {
		vs = zn_ip_skip_blanks(rest);
		if (zn_value_parse(p, vs, strlen(vs), &v) != 0)
			return 0;
		if (zn_ip_value_id(&st->f, &v, &id) != 0)
			goto nomem;
	}
	zn_ip6_range(a, bits, &lo, &hi);
	rc = zn_flat_add(&st->f, lo, hi, bits, id, st->seq);
	if (rc == -EEXIST) {
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
ip6trie_abort(struct zn_parser *p)
{
	struct ip6trie *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f);
		free(st);
	}
	p->tstate = NULL;
}

static int
ip6trie_finish(struct zn_parser *p)
{
	struct ip6trie *st = p->tstate;
	int rc;

	rc = zn_ip_flat_finish(p, &st->f);
	ip6trie_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_ip6trie = {
	.type = ZN_IP6TRIE,
	.begin = ip6trie_begin,
	.line = ip6trie_line,
	.finish = ip6trie_finish,
	.abort = ip6trie_abort,
};
