/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ip4tset: single IPv4 addresses sharing one dataset-wide value
 * (REFERENCE 4.2).  Only a full dotted quad is a key; the rest of the line
 * is ignored.  The value is the first default line's, even for earlier
 * entries (the driver keeps it in p->defval), so it is resolved in
 * finish().
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "parse_int.h"

struct ip4tset {
	struct zn_flat f;
	uint32_t seq;
};

static int
ip4tset_begin(struct zn_parser *p)
{
	struct ip4tset *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return zn_err_set(p->err, ENOMEM, "out of memory");
	zn_flat_init(&st->f, 4, true, false);
	p->tstate = st;
	return 0;
}

static int
ip4tset_line(struct zn_parser *p, char *s, size_t len)
{
	struct ip4tset *st = p->tstate;
	const char *rest;
	uint32_t a;

	(void)len;
	if (zn_ip4tset_key(s, &a, &rest) != 0) {
		zn_warn(p, "invalid address");
		return 0;
	}
	/* value id 0: the dataset-wide value, interned in finish() */
	if (zn_flat_add(&st->f, a, a, 32, 0, st->seq++) != 0)
		return zn_err_set(p->err, ENOMEM, "%s:%u: out of memory",
		    p->file, p->line);
	return 0;
}

static void
ip4tset_abort(struct zn_parser *p)
{
	struct ip4tset *st = p->tstate;

	if (st != NULL) {
		zn_flat_cleanup(&st->f);
		free(st);
	}
	p->tstate = NULL;
}

static int
ip4tset_finish(struct zn_parser *p)
{
	struct ip4tset *st = p->tstate;
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
	ip4tset_abort(p);
	if (rc == 0 && (rc = zn_ds_sort(p->ds)) != 0)
		rc = zn_err_set(p->err, -rc, "%s: out of memory", p->file);
	return rc;
}

const struct zn_type_ops zn_ops_ip4tset = {
	.type = ZN_IP4TSET,
	.begin = ip4tset_begin,
	.line = ip4tset_line,
	.finish = ip4tset_finish,
	.abort = ip4tset_abort,
	.dataset_wide_default = true,
};
