/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ip4trie: IPv4 CIDRs with one value each, longest prefix match
 * (REFERENCE 4.3).  A repeated prefix is warned about and the first one
 * kept.  The prefixes are flattened with their length as priority.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

struct ip4trie {
	struct zn_flat f;
	uint32_t seq;
};

static int
ip4trie_begin(struct zn_parser *p)
{
	struct ip4trie *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f, 4, true, true);
	p->tstate = st;
	return 0;
}

static int
ip4trie_line(struct zn_parser *p, char *s, size_t len)
{
	struct ip4trie *st = p->tstate;
	const char *k = s, *rest, *vs;
	char abuf[16];
	struct zn_val v;
	uint32_t a, id;
	unsigned bits;
	bool excl = false;
	int rc;

	(void)len;
	if (*k == '!') {
		excl = true;
		k = zn_ip_skip_blanks(k + 1);
	}
	rc = zn_ip4trie_key(k, p->opts->host_bits_ok, &a, &bits, &rest);
	if (rc != 0) {
		zn_ip_key_warn(p, rc);
		return 0;
	}
	if (!zn_ip_maxrange_ok(p, (uint64_t)1 << (32 - bits)))
		return 0;
	if (excl) {
		id = ZN_FLAT_EXCL;
	} else {
		vs = zn_ip_skip_blanks(rest);
		if (zn_value_parse(p, vs, strlen(vs), &v) != 0)
			return 0;
		if (zn_ip_value_id(&st->f, &v, &id) != 0)
			goto nomem;
	}
	rc = zn_flat_add(&st->f, a, a | ~zn_ip4_mask(bits), bits, id, st->seq);
	if (rc == -EEXIST) {
		zn_ip4_format(a, abuf);
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
ip4trie_abort(struct zn_parser *p)
{
	struct ip4trie *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f);
		free(st);
	}
	p->tstate = NULL;
}

static int
ip4trie_finish(struct zn_parser *p)
{
	struct ip4trie *st = p->tstate;
	int rc;

	rc = zn_ip_flat_finish(p, &st->f);
	ip4trie_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_ip4trie = {
	.type = ZN_IP4TRIE,
	.begin = ip4trie_begin,
	.line = ip4trie_line,
	.finish = ip4trie_finish,
	.abort = ip4trie_abort,
};
