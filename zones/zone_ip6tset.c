/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ip6tset: IPv6 /64s sharing one dataset-wide value, with /128 exclusions
 * (REFERENCE 4.5).  An entry is exactly four groups, an exclusion a full
 * address.  The value is the first default line's, even for earlier
 * entries, so it is resolved in finish().
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

struct ip6tset {
	struct zn_flat f;
	uint32_t seq;
};

static int
ip6tset_begin(struct zn_parser *p)
{
	struct ip6tset *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f, 16, true, false);
	p->tstate = st;
	return 0;
}

static int
ip6tset_line(struct zn_parser *p, char *s, size_t len)
{
	struct ip6tset *st = p->tstate;
	const char *k = s, *rest;
	uint8_t a[16];
	zn_u128 lo, hi;
	bool excl = false;
	int rc;

	(void)len;
	if (*k == '!') {
		excl = true;
		k = zn_ip_skip_blanks(k + 1);
	}
	rc = zn_ip6tset_key(k, excl, a, &rest);
	if (rc == -ERANGE) {
		zn_warn(p, "invalid address for %s (should be %d bits)",
		    excl ? "exclusion" : "regular entry", excl ? 128 : 64);
		return 0;
	}
	if (rc != 0) {
		zn_ip_key_warn(p, rc);
		return 0;
	}
	zn_ip6_range(a, excl ? 128 : 64, &lo, &hi);
	/* priority: an excluded /128 beats its /64; value id 0 is the
	 * dataset-wide value, interned in finish() */
	if (zn_flat_add(&st->f, lo, hi, excl ? 128 : 64,
	        excl ? ZN_FLAT_EXCL : 0, st->seq++) != 0)
		return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory",
		    p->file, p->line);
	return 0;
}

static void
ip6tset_abort(struct zn_parser *p)
{
	struct ip6tset *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f);
		free(st);
	}
	p->tstate = NULL;
}

static int
ip6tset_finish(struct zn_parser *p)
{
	struct ip6tset *st = p->tstate;
	struct zn_val v;
	uint32_t id;
	int rc;

	if (p->have_default)
		v = p->defval;
	else
		zn_val_default(&v);
	if ((rc = zn_ip_value_id(&st->f, &v, &id)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	else
		rc = zn_ip_flat_finish(p, &st->f);
	ip6tset_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_ip6tset = {
	.type = ZN_IP6TSET,
	.begin = ip6tset_begin,
	.line = ip6tset_line,
	.finish = ip6tset_finish,
	.abort = ip6tset_abort,
	.dataset_wide_default = true,
};
