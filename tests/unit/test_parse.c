/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the common line driver (parse.c), values and templates
 * (value.c), names (name.c) and the dnset, generic and combined parsers.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "ip.h"
#include "parse_int.h"
#include "zones.h"

#define MAXW 64

struct wlog {
	char msg[MAXW][640];
	int n;
};

static void
collect(void *ctx, const char *msg)
{
	struct wlog *w = ctx;

	if (w->n < MAXW)
		snprintf(w->msg[w->n++], sizeof(w->msg[0]), "%s", msg);
}

static bool
has_warning(const struct wlog *w, const char *s)
{
	int i;

	for (i = 0; i < w->n; i++) {
		if (strcmp(w->msg[i], s) == 0)
			return true;
	}
	return false;
}

static void
dump_warnings(const struct wlog *w)
{
	int i;

	for (i = 0; i < w->n; i++)
		print_message("warning: %s\n", w->msg[i]);
}

#define assert_warning(w, s)                        \
	do {                                        \
		if (!has_warning((w), (s)))         \
			dump_warnings(w);           \
		assert_true(has_warning((w), (s))); \
	} while (0)

static struct zn_dataset *
load(enum zn_dstype t, const char *text, struct wlog *w)
{
	struct zn_parse_opts o = { 0 };
	struct zn_dataset *ds = NULL;
	struct zn_err err = { { 0 } };
	int rc;

	memset(w, 0, sizeof(*w));
	o.warn = collect;
	o.warn_ctx = w;
	o.now = 1800000000;
	rc =
	    zn_dataset_load_mem(t, "t.zone", text, strlen(text), &o, &ds, &err);
	if (rc != 0)
		print_message("load failed: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(ds);
	return ds;
}

/* Expect a fatal load error; returns the message. */
static void
load_fail(enum zn_dstype t, const char *text, int code, const char *msg)
{
	struct zn_parse_opts o = { 0 };
	struct zn_dataset *ds = (struct zn_dataset *)(uintptr_t)0x1;
	struct zn_err err = { { 0 } };
	int rc;

	o.now = 1800000000;
	rc =
	    zn_dataset_load_mem(t, "t.zone", text, strlen(text), &o, &ds, &err);
	assert_int_equal(rc, code);
	assert_ptr_equal(ds, (struct zn_dataset *)(uintptr_t)0x1);
	assert_string_equal(err.msg, msg);
}

static size_t
name_key(const char *name, uint8_t kind, uint8_t *key)
{
	int r;

	key[0] = ZN_KEY_NAME;
	r = zn_revname(name, strlen(name), key + 1, ZN_KEY_MAX - 2);
	assert_true(r >= 0);
	key[1 + r] = kind;
	return (size_t)r + 2;
}

static const struct zn_entry *
find(const struct zn_dataset *ds, const uint8_t *key, size_t klen)
{
	size_t i;

	for (i = 0; i < ds->nent; i++) {
		if (ds->ent[i].klen == klen &&
		    memcmp(ds->ent[i].key, key, klen) == 0)
			return &ds->ent[i];
	}
	return NULL;
}

/* The formatted answer of a dnset name, or "" if absent. */
static const char *
dn(const struct zn_dataset *ds, const char *name, uint8_t kind)
{
	static char buf[2048];
	uint8_t key[ZN_KEY_MAX];
	const struct zn_entry *e;
	size_t kl = name_key(name, kind, key);

	buf[0] = '\0';
	e = find(ds, key, kl);
	if (e != NULL)
		zn_blob_format(e->blob, e->blen, buf, sizeof(buf));
	return buf;
}

static void
assert_sorted(const struct zn_dataset *ds)
{
	size_t i, n;
	int r;

	for (i = 1; i < ds->nent; i++) {
		const struct zn_entry *a = &ds->ent[i - 1], *b = &ds->ent[i];

		n = a->klen < b->klen ? a->klen : b->klen;
		r = memcmp(a->key, b->key, n);
		assert_true(r < 0 || (r == 0 && a->klen < b->klen));
	}
}

/* ---- names, A values, types ---- */

static void
test_type_names(void **state)
{
	enum zn_dstype t;

	(void)state;
	assert_string_equal(zn_type_name(ZN_IP4SET), "ip4set");
	assert_string_equal(zn_type_name(ZN_COMBINED), "combined");
	assert_null(zn_type_name(ZN_NTYPES));
	assert_int_equal(zn_type_parse("dnset", &t), 0);
	assert_int_equal(t, ZN_DNSET);
	assert_int_equal(zn_type_parse("ACL", &t), 0);
	assert_int_equal(t, ZN_ACL);
	assert_int_equal(zn_type_parse("dnhash", &t), -EINVAL);
	for (t = 0; t < ZN_NTYPES; t++)
		assert_non_null(zn_type_ops(t));
}

static void
test_revname(void **state)
{
	uint8_t out[ZN_KEY_MAX];
	char big[300];

	(void)state;
	assert_int_equal(zn_revname("", 0, out, sizeof(out)), 0);
	assert_int_equal(zn_revname("www.Ex.COM", 10, out, sizeof(out)), 11);
	assert_memory_equal(out, "com\0ex\0www\0", 11);
	assert_int_equal(zn_revname("a..b", 4, out, sizeof(out)), -1);
	assert_int_equal(zn_revname("a.", 2, out, sizeof(out)), -1);
	assert_int_equal(zn_revname(".a", 2, out, sizeof(out)), -1);
	assert_int_equal(zn_revname("abc", 3, out, 3), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(zn_revname(big, 64, out, sizeof(out)), -1);
	assert_int_equal(zn_revname(big, 63, out, sizeof(out)), 64);
	assert_int_equal(zn_revname(big, 256, out, sizeof(out)), -1);
}

static void
test_name_wire(void **state)
{
	uint8_t out[300];

	(void)state;
	assert_int_equal(zn_name_wire("Mail.Ex.", 8, out, sizeof(out)), 9);
	assert_memory_equal(out, "\4mail\2ex\0", 9);
	assert_int_equal(zn_name_wire(".", 1, out, sizeof(out)), 1);
	assert_int_equal(zn_name_wire("a..", 3, out, sizeof(out)), -1);
	assert_int_equal(zn_name_wire("a..b", 4, out, sizeof(out)), -1);
}

static void
test_parse_a(void **state)
{
	uint32_t a;

	(void)state;
	assert_int_equal(zn_parse_a("2", 1, &a), 0);
	assert_int_equal(a, 0x7f000002);
	assert_int_equal(zn_parse_a("127.1", 5, &a), 0);
	assert_int_equal(a, 0x7f000001);
	assert_int_equal(zn_parse_a("1.2.3", 5, &a), 0);
	assert_int_equal(a, 0x01020003);
	assert_int_equal(zn_parse_a("010.0.0.1", 9, &a), 0);
	assert_int_equal(a, 0x0a000001);
	assert_int_equal(zn_parse_a("00003", 5, &a), 0);
	assert_int_equal(a, 0x7f000003);
	assert_int_equal(zn_parse_a("255.255.255.255", 15, &a), 0);
	assert_int_equal(a, 0xffffffff);
	assert_int_equal(zn_parse_a("127.0.0.0", 9, &a), 0);
	assert_int_equal(a, 0x7f000000);
	/* observed invalid in rbldnsd */
	assert_int_equal(zn_parse_a("0.0.0.0", 7, &a), -EINVAL);
	assert_int_equal(zn_parse_a("0", 1, &a), -EINVAL);
	assert_int_equal(zn_parse_a("256", 3, &a), -EINVAL);
	assert_int_equal(zn_parse_a("0x7f.1", 6, &a), -EINVAL);
	assert_int_equal(zn_parse_a("2.", 2, &a), -EINVAL);
	assert_int_equal(zn_parse_a("1.2.3.4.5", 9, &a), -EINVAL);
	assert_int_equal(zn_parse_a("127.65536", 9, &a), -EINVAL);
	assert_int_equal(zn_parse_a("+3", 2, &a), -EINVAL);
	assert_int_equal(zn_parse_a("4294967295", 10, &a), -EINVAL);
	assert_int_equal(zn_parse_a("", 0, &a), -EINVAL);
}

static void
test_parse_time(void **state)
{
	uint32_t t;

	(void)state;
	assert_int_equal(zn_parse_time("35", 2, &t), 0);
	assert_int_equal(t, 35);
	assert_int_equal(zn_parse_time("35m", 3, &t), 0);
	assert_int_equal(t, 2100);
	assert_int_equal(zn_parse_time("2H", 2, &t), 0);
	assert_int_equal(t, 7200);
	assert_int_equal(zn_parse_time("1d", 2, &t), 0);
	assert_int_equal(t, 86400);
	assert_int_equal(zn_parse_time("1w", 2, &t), 0);
	assert_int_equal(t, 604800);
	assert_int_equal(zn_parse_time("10s", 3, &t), 0);
	assert_int_equal(t, 10);
	assert_int_equal(zn_parse_time("300x", 4, &t), -EINVAL);
	assert_int_equal(zn_parse_time("1h30m", 5, &t), -EINVAL);
	assert_int_equal(zn_parse_time("m", 1, &t), -EINVAL);
	assert_int_equal(zn_parse_time("99999999w", 9, &t), -EINVAL);
}

/* ---- values (REFERENCE 3.3), through dnset ---- */

static void
test_values(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;
	char longtxt[400], buf[600];

	(void)state;
	ds = load(ZN_DNSET,
	    "a.ex\n"
	    "b.ex :3:txt\n"
	    "c.ex :4\n"
	    "d.ex :5:\n"
	    "e.ex listed # x\n"
	    "f.ex # comment\n"
	    "g.ex:6:direct\n"
	    "h.ex =own\n"
	    "i.ex :7:  blanks\n"
	    "j.ex :2:;semi\n"
	    "k.ex :3 text\n"
	    "l.ex ::t\n"
	    "m.ex :0.0.0.0\n"
	    "n.ex : 4:text\n"
	    "o.ex ;comment\n"
	    "p.ex :5:=own\n"
	    "q.ex :127.1:x:y\n",
	    &w);
	assert_string_equal(dn(ds, "a.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_string_equal(dn(ds, "b.ex", ZN_NAME_EXACT), ":127.0.0.3:txt");
	assert_string_equal(dn(ds, "c.ex", ZN_NAME_EXACT), ":127.0.0.4:");
	assert_string_equal(dn(ds, "d.ex", ZN_NAME_EXACT), ":127.0.0.5:");
	assert_string_equal(dn(ds, "e.ex", ZN_NAME_EXACT),
	    ":127.0.0.2:listed # x");
	assert_string_equal(dn(ds, "f.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	/* dnset, unlike IP keys: the name is the whole word (rbldnsd) */
	assert_string_equal(dn(ds, "g.ex", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "g.ex:6:direct", ZN_NAME_EXACT),
	    ":127.0.0.2:");
	assert_warning(&w,
	    "t.zone:7: domain name g.ex:6:direct contains ':': rbldnsd reads "
	    "the whole word as the name; put a blank before a value");
	assert_string_equal(dn(ds, "h.ex", ZN_NAME_EXACT), ":127.0.0.2:=own");
	assert_string_equal(dn(ds, "i.ex", ZN_NAME_EXACT), ":127.0.0.7:blanks");
	assert_string_equal(dn(ds, "j.ex", ZN_NAME_EXACT), ":127.0.0.2:;semi");
	assert_string_equal(dn(ds, "k.ex", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "l.ex", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "m.ex", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "n.ex", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "o.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_string_equal(dn(ds, "p.ex", ZN_NAME_EXACT), ":127.0.0.5:=own");
	assert_string_equal(dn(ds, "q.ex", ZN_NAME_EXACT), ":127.0.0.1:x:y");
	assert_warning(&w, "t.zone:11: unrecognized value for an entry");
	assert_warning(&w, "t.zone:12: invalid A RR");
	assert_warning(&w, "t.zone:13: invalid A RR");
	assert_warning(&w, "t.zone:14: invalid A RR");
	assert_int_equal(w.n, 5);
	assert_int_equal(ds->nlines, 17);
	assert_int_equal(ds->nskipped, 4);
	assert_int_equal(ds->nsource, 13);
	zn_dataset_free(ds);

	/* TXT longer than 255: truncated with a note, entry kept. */
	memset(longtxt, 'x', 300);
	longtxt[300] = '\0';
	snprintf(buf, sizeof(buf), "a.ex :2:%s\n", longtxt);
	ds = load(ZN_DNSET, buf, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.msg[0],
	    "t.zone:1: TXT longer than 255 bytes, truncated");
	assert_int_equal(ds->nskipped, 0);
	assert_int_equal(ds->nent, 1);
	assert_int_equal(ds->ent[0].blen, 1 + 6 + 255);
	zn_dataset_free(ds);
}

static void
test_default_lines(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;

	(void)state;
	ds = load(ZN_DNSET,
	    "a.ex\n"
	    ":3:deftxt\n"
	    "b.ex\n"
	    "c.ex :4\n"
	    "d.ex other\n"
	    ":5\n"
	    "e.ex\n"
	    ":6:\n"
	    "f.ex\n"
	    ":bad\n"
	    "g.ex\n",
	    &w);
	assert_string_equal(dn(ds, "a.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_string_equal(dn(ds, "b.ex", ZN_NAME_EXACT), ":127.0.0.3:deftxt");
	assert_string_equal(dn(ds, "c.ex", ZN_NAME_EXACT), ":127.0.0.4:deftxt");
	assert_string_equal(dn(ds, "d.ex", ZN_NAME_EXACT), ":127.0.0.3:other");
	/* observed: a default ":5" has no TXT, not the previous default's */
	assert_string_equal(dn(ds, "e.ex", ZN_NAME_EXACT), ":127.0.0.5:");
	assert_string_equal(dn(ds, "f.ex", ZN_NAME_EXACT), ":127.0.0.6:");
	assert_string_equal(dn(ds, "g.ex", ZN_NAME_EXACT), ":127.0.0.6:");
	assert_warning(&w, "t.zone:10: invalid A RR");
	assert_int_equal(ds->nskipped, 1);
	zn_dataset_free(ds);
}

/* ---- driver on a hand-built parser with test ops ---- */

struct rec {
	char lines[16][64];
	int n;
	char kw[16];
	char args[64];
};

static int
rec_line(struct zn_parser *p, char *s, size_t len)
{
	struct rec *r = p->tstate;

	assert_int_equal(strlen(s), len);
	if (r->n < 16)
		snprintf(r->lines[r->n++], sizeof(r->lines[0]), "%s", s);
	return 0;
}

static int
rec_special(struct zn_parser *p, const char *kw, char *args)
{
	struct rec *r = p->tstate;

	if (strcasecmp(kw, "dataset") != 0)
		return 0;
	snprintf(r->kw, sizeof(r->kw), "%s", kw);
	snprintf(r->args, sizeof(r->args), "%s", args);
	return 1;
}

static void
run_lines(struct zn_parser *p, const char *const *lines)
{
	char buf[256];
	int i;

	for (i = 0; lines[i] != NULL; i++) {
		snprintf(buf, sizeof(buf), "%s", lines[i]);
		p->line = (unsigned)i + 1;
		assert_int_equal(zn_parse_line(p, buf, strlen(buf)), 0);
	}
}

static void
init_parser(struct zn_parser *p, struct zn_dataset *ds,
    const struct zn_type_ops *ops, struct zn_parse_opts *o, struct wlog *w,
    struct rec *r)
{
	memset(p, 0, sizeof(*p));
	memset(ds, 0, sizeof(*ds));
	memset(o, 0, sizeof(*o));
	memset(w, 0, sizeof(*w));
	memset(r, 0, sizeof(*r));
	o->warn = collect;
	o->warn_ctx = w;
	p->ds = ds;
	p->ops = ops;
	p->opts = o;
	p->file = "f";
	p->tstate = r;
	zn_val_default(&p->defval);
}

static void
free_parts(struct zn_dataset *ds)
{
	size_t i;

	for (i = 0; i < ds->nns; i++)
		free(ds->ns[i]);
	for (i = 0; i < 10; i++)
		free(ds->vars[i]);
	free(ds->base);
}

static void
test_driver_routing(void **state)
{
	static const struct zn_type_ops ip6ops = {
		.type = ZN_IP6TRIE,
		.line = rec_line,
		.special = rec_special,
	};
	static const struct zn_type_ops aclops = {
		.type = ZN_ACL,
		.line = rec_line,
		.no_soa_ns = true,
	};
	static const char *const l6[] = {
		"::1 :3:x",
		":4:def",
		"# comment",
		"; comment",
		"$DATASET ip4set foo bar",
		"$Dataset x",
		"$UNKNOWN arg",
		"$TTLX 5",
		NULL,
	};
	static const char *const lacl[] = {
		":refuse",
		"=pass",
		"$SOA 0 a. b. 1 2 3 4 5",
		"$NS 60 ns.ex.",
		"$MAXRANGE4 /16",
		"$MAXRANGE4 1000000",
		"$MAXRANGE4 300",
		"$MAXRANGE4 /8",
		"$MAXRANGE4 x",
		NULL,
	};
	struct zn_parser p;
	struct zn_dataset ds;
	struct zn_parse_opts o;
	struct wlog w;
	struct rec r;

	(void)state;
	init_parser(&p, &ds, &ip6ops, &o, &w, &r);
	run_lines(&p, l6);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.lines[0], "::1 :3:x");
	assert_true(p.have_default);
	assert_int_equal(p.defval.a, 0x7f000004);
	assert_string_equal(p.defval.txt, "def");
	assert_string_equal(r.kw, "Dataset");
	assert_string_equal(r.args, "x");
	assert_warning(&w, "f:7: unknown special line $UNKNOWN");
	assert_warning(&w, "f:8: unknown special line $TTLX");
	assert_int_equal(ds.nskipped, 2);
	assert_int_equal(ds.nsource, 1);

	init_parser(&p, &ds, &aclops, &o, &w, &r);
	run_lines(&p, lacl);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.lines[0], ":refuse");
	assert_string_equal(r.lines[1], "=pass");
	assert_false(ds.has_soa);
	assert_int_equal(ds.nns, 0);
	assert_warning(&w, "f:3: $SOA not allowed in acl");
	assert_warning(&w, "f:4: $NS not allowed in acl");
	assert_warning(&w, "f:9: $MAXRANGE4: invalid value");
	/* /16, then lowered to 300; never raised again */
	assert_int_equal(p.maxrange4, 300);
	free_parts(&ds);
}

static void
test_dataset_wide_default(void **state)
{
	static const struct zn_type_ops tsetops = {
		.type = ZN_IP4TSET,
		.line = rec_line,
		.dataset_wide_default = true,
	};
	static const char *const l[] = {
		"1.2.3.4",
		":3:first",
		"1.2.3.5",
		":4:second",
		NULL,
	};
	struct zn_parser p;
	struct zn_dataset ds;
	struct zn_parse_opts o;
	struct wlog w;
	struct rec r;

	(void)state;
	init_parser(&p, &ds, &tsetops, &o, &w, &r);
	run_lines(&p, l);
	assert_int_equal(r.n, 2);
	assert_true(p.have_default);
	assert_int_equal(p.defval.a, 0x7f000003);
	assert_string_equal(p.defval.txt, "first");
}

/* ---- special lines ---- */

static void
test_specials(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;
	char buf[4096];
	size_t n;
	int i;

	(void)state;
	ds = load(ZN_DNSET,
	    "$TTL 10m\n"
	    "$SOA 0 NS1.Ex.Com. hostmaster.ex.com. 0 2h 30m 1w 5m\n"
	    "$SOA 99 other. other. 1 1 1 1 1\n"
	    "$NS 0 ns1.ex.com. -ns2.ex.com ns3.ex.com NS1.EX.COM. ns4.ex\n"
	    "$NAMESERVER 100 late.ex.\n"
	    "$1 first\n"
	    "$1 second\n"
	    "#$2 hash form\n"
	    ";$3 semi form\n"
	    ":$4 colon form\n"
	    "$= base $=\n"
	    "$= base2\n"
	    "$ttl 1h\n"
	    "$soa 1 a. b. 1 2 3\n"
	    "$TTL bogus\n"
	    "$5\n"
	    "$9text x\n"
	    "a.ex\n",
	    &w);
	assert_int_equal(ds->ttl, 3600);
	assert_true(ds->has_soa);
	assert_int_equal(ds->soa.ttl, 600); /* $SOA 0 with $TTL 10m */
	assert_string_equal(ds->soa.mname, "NS1.Ex.Com");
	assert_string_equal(ds->soa.rname, "hostmaster.ex.com");
	assert_int_equal(ds->soa.serial, 0);
	assert_int_equal(ds->soa.refresh, 7200);
	assert_int_equal(ds->soa.retry, 1800);
	assert_int_equal(ds->soa.expire, 604800);
	assert_int_equal(ds->soa.minimum, 300);
	assert_int_equal(ds->ns_ttl, 600);
	assert_int_equal(ds->nns, 3);
	assert_string_equal(ds->ns[0], "ns1.ex.com");
	assert_string_equal(ds->ns[1], "ns3.ex.com");
	assert_string_equal(ds->ns[2], "ns4.ex");
	assert_string_equal(ds->vars[1], "first");
	assert_string_equal(ds->vars[2], "hash form");
	assert_string_equal(ds->vars[3], "semi form");
	assert_string_equal(ds->vars[4], "colon form");
	assert_string_equal(ds->vars[5], "");
	assert_null(ds->vars[9]);
	assert_string_equal(ds->base, "base $=");
	assert_warning(&w, "t.zone:14: $SOA: missing fields");
	assert_warning(&w, "t.zone:15: $TTL: invalid time");
	assert_warning(&w, "t.zone:17: unknown special line $9text");
	assert_int_equal(w.n, 3);
	assert_int_equal(ds->nskipped, 3);
	assert_int_equal(ds->nlines, 18);
	zn_dataset_free(ds);

	/* $NS: a TTL is required; the first line wins; at most 32 */
	n = (size_t)snprintf(buf, sizeof(buf), "$NS ns0.ex.\n$NS 60");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " ns%d.ex.", i);
	snprintf(buf + n, sizeof(buf) - n, "\n$NS 70 x.ex.\na.ex\n");
	ds = load(ZN_DNSET, buf, &w);
	assert_warning(&w, "t.zone:1: $NS: a TTL is required");
	assert_int_equal(ds->nns, ZN_NS_MAX);
	assert_int_equal(ds->ns_ttl, 60);
	assert_string_equal(ds->ns[31], "ns31.ex");
	zn_dataset_free(ds);

	/* $SOA with ttl 0 and no $TTL: 0 (the server default) */
	ds = load(ZN_DNSET, "$SOA 0 a. b. 5 1 2 3 4\n", &w);
	assert_int_equal(ds->soa.ttl, 0);
	assert_int_equal(ds->soa.serial, 5);
	zn_dataset_free(ds);

	/* generic ignores $n */
	ds = load(ZN_GENERIC, "$1 x\n$= y\n", &w);
	assert_null(ds->vars[1]);
	assert_null(ds->base);
	assert_int_equal(w.n, 0);
	zn_dataset_free(ds);
}

static void
test_timestamp(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;

	(void)state;
	/* 1800000000 is 2027-01-15 08:00:00 UTC */
	ds = load(ZN_DNSET,
	    "$TIMESTAMP 2026-11-28 2027:01:20:10:30:05\n"
	    "$TIMESTAMP 20261201 +1d\n"
	    "$TIMESTAMP - -\n"
	    "$TIMESTAMP 2026-13-01\n"
	    "$TIMESTAMP 2026-11-28 +1x\n",
	    &w);
	assert_int_equal(ds->ts_created, 1795824000 + 3 * 86400);
	assert_int_equal(ds->ts_expires, 1795824000 + 4 * 86400);
	assert_warning(&w, "t.zone:4: $TIMESTAMP: invalid time");
	assert_warning(&w, "t.zone:5: $TIMESTAMP: invalid expiry");
	zn_dataset_free(ds);

	ds = load(ZN_DNSET, "$TIMESTAMP 2026-11-28 2027:01:20:10:30:05\n", &w);
	assert_int_equal(ds->ts_created, 1795824000);
	assert_int_equal(ds->ts_expires,
	    1800000000 + 5 * 86400 + 2 * 3600 + 30 * 60 + 5);
	zn_dataset_free(ds);

	load_fail(ZN_DNSET, "a.ex\n$TIMESTAMP 2027-01-15-08:00:01\n", -EINVAL,
	    "t.zone:2: $TIMESTAMP: creation time is in the future");
}

/* ---- lines: CRLF, length, last line, counting ---- */

static void
test_lines(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;
	char *big;
	size_t n;

	(void)state;
	ds = load(ZN_DNSET,
	    "a.ex :3:crlf\r\n"
	    "  \t b.ex\t:4:blanks \t\r\n"
	    "\r\n"
	    "$TTL 60\r\n"
	    "c.ex :5:last",
	    &w);
	assert_int_equal(w.n, 0);
	assert_string_equal(dn(ds, "a.ex", ZN_NAME_EXACT), ":127.0.0.3:crlf");
	assert_string_equal(dn(ds, "b.ex", ZN_NAME_EXACT), ":127.0.0.4:blanks");
	assert_string_equal(dn(ds, "c.ex", ZN_NAME_EXACT), ":127.0.0.5:last");
	assert_int_equal(ds->ttl, 60);
	assert_int_equal(ds->nlines, 5);
	zn_dataset_free(ds);

	/* a 40000-byte line is truncated to 32767 bytes with a note */
	n = 40000;
	big = malloc(n + 32);
	assert_non_null(big);
	memcpy(big, "a.ex :2:", 8);
	memset(big + 8, 'y', n - 8);
	memcpy(big + n, "\nb.ex\n", 7);
	ds = load(ZN_DNSET, big, &w);
	assert_warning(&w, "t.zone:1: line longer than 32767 bytes, truncated");
	assert_warning(&w, "t.zone:1: TXT longer than 255 bytes, truncated");
	assert_string_equal(dn(ds, "b.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_int_equal(ds->nent, 2);
	assert_int_equal(ds->nlines, 2);
	assert_int_equal(ds->nskipped, 0);
	zn_dataset_free(ds);
	free(big);

	/* empty input */
	ds = load(ZN_DNSET, "", &w);
	assert_int_equal(ds->nent, 0);
	assert_int_equal(ds->nlines, 0);
	zn_dataset_free(ds);
}

/* ---- files: gzip, per-file default scope, errors, mtime ---- */

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_parse.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
load_files(enum zn_dstype t, const char *const *files, size_t n, bool nogz,
    struct zn_dataset **ds, struct wlog *w, struct zn_err *err)
{
	struct zn_parse_opts o = { 0 };

	memset(w, 0, sizeof(*w));
	o.warn = collect;
	o.warn_ctx = w;
	o.no_gunzip = nogz;
	return zn_dataset_load(t, files, n, &o, ds, err);
}

static void
test_files(void **state)
{
	char f1[128], f2[128], f3[128], missing[128];
	const char *files[3];
	struct zn_dataset *ds = NULL, *sentinel;
	struct zn_err err;
	struct wlog w;
	struct stat st;
	gzFile gz;

	(void)state;
	snprintf(f1, sizeof(f1), "%s/one", tmpdir);
	snprintf(f2, sizeof(f2), "%s/two.gz", tmpdir);
	snprintf(f3, sizeof(f3), "%s/three", tmpdir);
	snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
	write_file(f1, ":3:deftxt\na.ex\n$TTL 5\n");
	gz = gzopen(f2, "wb");
	assert_non_null(gz);
	assert_true(gzputs(gz, "b.ex\r\n:4:second\nc.ex\nbad..ex\n") > 0);
	assert_int_equal(gzclose(gz), Z_OK);
	write_file(f3, "d.ex\n");

	files[0] = f1;
	files[1] = f2;
	files[2] = f3;
	assert_int_equal(load_files(ZN_DNSET, files, 3, false, &ds, &w, &err),
	    0);
	assert_string_equal(dn(ds, "a.ex", ZN_NAME_EXACT), ":127.0.0.3:deftxt");
	/* the default is reset at each file */
	assert_string_equal(dn(ds, "b.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_string_equal(dn(ds, "c.ex", ZN_NAME_EXACT), ":127.0.0.4:second");
	assert_string_equal(dn(ds, "d.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	/* empty labels are dropped, as rbldnsd does, with a note */
	assert_string_equal(dn(ds, "bad.ex", ZN_NAME_EXACT),
	    ":127.0.0.4:second");
	assert_int_equal(ds->ttl, 5);
	assert_int_equal(w.n, 1);
	{
		char exp[200];

		snprintf(exp, sizeof(exp),
		    "%s:4: empty label in domain name bad..ex: read as bad.ex "
		    "(like rbldnsd)",
		    f2);
		assert_warning(&w, exp);
	}
	assert_int_equal(ds->nlines, 8);
	assert_int_equal(ds->nskipped, 0);
	assert_int_equal(stat(f3, &st), 0);
	assert_true(ds->mtime >= (int64_t)st.st_mtime);
	assert_true(ds->mtime > 0);
	zn_dataset_free(ds);

	/* a missing file is fatal and named; *out untouched */
	files[1] = missing;
	sentinel = (struct zn_dataset *)(uintptr_t)0x1;
	ds = sentinel;
	assert_int_equal(load_files(ZN_DNSET, files, 2, false, &ds, &w, &err),
	    -ENOENT);
	assert_ptr_equal(ds, sentinel);
	assert_non_null(strstr(err.msg, missing));
	assert_non_null(strstr(err.msg, "No such file"));

	/* -C: the gzip file is read raw (garbage lines, no entries) */
	files[0] = f2;
	ds = NULL;
	assert_int_equal(load_files(ZN_DNSET, files, 1, true, &ds, &w, &err),
	    0);
	assert_null(find(ds,
	    (const uint8_t *)"N"
	                     "ex\0b\0\1",
	    7));
	zn_dataset_free(ds);
}

/* ---- dnset ---- */

static void
test_dnset(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;

	(void)state;
	ds = load(ZN_DNSET,
	    "Plain.Example.\n"
	    "*.wild.example :3:w\n"
	    ".both.example :4:b\n"
	    "!ok.both.example :9:ignored\n"
	    "multi.example :2:one\n"
	    "multi.example :3:two\n"
	    "MULTI.example :2:one\n"
	    "ex.example :5\n"
	    "!ex.example\n"
	    "ex.example :6\n"
	    "!*.wx.example\n"
	    ".\n"
	    "*.\n"
	    "a..b\n"
	    "! spaced.example\n"
	    "*.*.x.example\n"
	    "\n",
	    &w);
	assert_sorted(ds);
	assert_string_equal(dn(ds, "plain.example", ZN_NAME_EXACT),
	    ":127.0.0.2:");
	assert_string_equal(dn(ds, "plain.example", ZN_NAME_WILD), "");
	assert_string_equal(dn(ds, "wild.example", ZN_NAME_EXACT), "");
	assert_string_equal(dn(ds, "wild.example", ZN_NAME_WILD),
	    ":127.0.0.3:w");
	assert_string_equal(dn(ds, "both.example", ZN_NAME_EXACT),
	    ":127.0.0.4:b");
	assert_string_equal(dn(ds, "both.example", ZN_NAME_WILD),
	    ":127.0.0.4:b");
	assert_string_equal(dn(ds, "ok.both.example", ZN_NAME_EXACT),
	    "!excluded");
	assert_string_equal(dn(ds, "multi.example", ZN_NAME_EXACT),
	    ":127.0.0.2:one | :127.0.0.3:two");
	assert_string_equal(dn(ds, "ex.example", ZN_NAME_EXACT), "!excluded");
	assert_string_equal(dn(ds, "wx.example", ZN_NAME_WILD), "!excluded");
	assert_warning(&w, "t.zone:12: the zone apex can't be listed");
	assert_warning(&w, "t.zone:13: the zone apex can't be listed");
	assert_warning(&w,
	    "t.zone:14: empty label in domain name a..b: read as a.b (like "
	    "rbldnsd)");
	assert_string_equal(dn(ds, "a.b", ZN_NAME_EXACT), ":127.0.0.2:");
	/* blanks may follow the '!' */
	assert_string_equal(dn(ds, "spaced.example", ZN_NAME_EXACT),
	    "!excluded");
	/* only the first "*." makes a wildcard */
	assert_string_equal(dn(ds, "*.x.example", ZN_NAME_WILD), ":127.0.0.2:");
	assert_int_equal(ds->nskipped, 2);
	assert_int_equal(ds->nsource, 14);
	assert_int_equal(ds->nent, 11);
	/* the wildcard key sorts right after the name's exact key */
	{
		uint8_t k1[ZN_KEY_MAX], k2[ZN_KEY_MAX];
		size_t l1 = name_key("both.example", ZN_NAME_EXACT, k1);
		size_t l2 = name_key("both.example", ZN_NAME_WILD, k2);
		size_t i;

		for (i = 0; i + 1 < ds->nent; i++) {
			if (ds->ent[i].klen == l1 &&
			    memcmp(ds->ent[i].key, k1, l1) == 0)
				break;
		}
		assert_true(i + 1 < ds->nent);
		assert_int_equal(ds->ent[i + 1].klen, l2);
		assert_memory_equal(ds->ent[i + 1].key, k2, l2);
	}
	zn_dataset_free(ds);
}

/* ---- generic ---- */

static const struct zn_entry *
gen(const struct zn_dataset *ds, const char *name, unsigned type)
{
	uint8_t key[ZN_KEY_MAX];
	int r;

	key[0] = ZN_KEY_GENERIC;
	r = zn_revname(name, strlen(name), key + 1, ZN_KEY_MAX - 3);
	assert_true(r >= 0);
	key[1 + r] = (uint8_t)(type >> 8);
	key[2 + r] = (uint8_t)type;
	return find(ds, key, (size_t)r + 3);
}

static void
test_generic(void **state)
{
	struct wlog w;
	struct zn_dataset *ds;
	const struct zn_entry *e;

	(void)state;
	ds = load(ZN_GENERIC,
	    "@ A 2\n"
	    "$TTL 100\n"
	    "@ 300 IN TXT \"quoted text\"\n"
	    "www 0 A 1.2.3.4\n"
	    "WWW IN A 1.2.3.5\n"
	    "t TXT \"a\" b\"\n"
	    "t2 TXT noquote here\n"
	    "Up 1m in a 10.0.0.1\n"
	    "mx MX 10 Mail.Example.COM.\n"
	    "x AAAA 2001:db8::1\n"
	    "y A 1.2.3.4 trailing\n"
	    "bad 300x A 1.2.3.4\n"
	    "mx2 MX 10 mail.example.com. extra\n"
	    "c CNAME foo.\n"
	    "n A\n"
	    "z AAAA 1.2.3.4\n"
	    "www.sub. A 9.9.9.9\n"
	    "c..d A 1.2.3.6\n"
	    "mx3 MX 5 a..b.\n",
	    &w);
	assert_sorted(ds);
	e = gen(ds, "", 1);
	assert_non_null(e);
	assert_int_equal(e->blen, 10);
	assert_memory_equal(e->blob, "\0\0\0\0\0\4\0\0\0\2", 10);
	e = gen(ds, "", 16);
	assert_non_null(e);
	assert_int_equal(e->blen, 6 + 12);
	assert_memory_equal(e->blob, "\0\0\1\x2c\0\x0c\x0bquoted text", 18);
	e = gen(ds, "www", 1);
	assert_non_null(e);
	assert_int_equal(e->blen, 20);
	assert_memory_equal(e->blob,
	    "\0\0\0\x64\0\4\1\2\3\4\0\0\0\x64\0\4\1\2\3\5", 20);
	e = gen(ds, "t", 16);
	assert_non_null(e);
	assert_memory_equal(e->blob + 6, "\4a\" b", 5);
	e = gen(ds, "t2", 16);
	assert_non_null(e);
	assert_memory_equal(e->blob + 6, "\x0cnoquote here", 13);
	e = gen(ds, "up", 1);
	assert_non_null(e);
	assert_memory_equal(e->blob, "\0\0\0\x3c\0\4\x0a\0\0\1", 10);
	e = gen(ds, "mx", 15);
	assert_non_null(e);
	assert_int_equal(e->blen, 6 + 2 + 18);
	assert_memory_equal(e->blob + 4, "\0\x14\0\x0a\4mail\7example\3com\0",
	    22);
	e = gen(ds, "x", 28);
	assert_non_null(e);
	assert_int_equal(e->blen, 22);
	assert_memory_equal(e->blob + 6,
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	assert_non_null(gen(ds, "y", 1));
	assert_non_null(gen(ds, "www.sub", 1));
	/* empty labels are dropped, as rbldnsd does */
	assert_non_null(gen(ds, "c.d", 1));
	e = gen(ds, "mx3", 15);
	assert_non_null(e);
	assert_memory_equal(e->blob + 6, "\0\5\1a\1b\0", 7);
	assert_null(gen(ds, "bad", 1));
	assert_null(gen(ds, "mx2", 15));
	assert_warning(&w, "t.zone:12: invalid TTL");
	assert_warning(&w, "t.zone:13: invalid MX record data");
	assert_warning(&w, "t.zone:14: unsupported record type CNAME");
	assert_warning(&w, "t.zone:15: invalid A record data");
	assert_warning(&w, "t.zone:16: invalid AAAA record data");
	assert_int_equal(w.n, 5);
	assert_int_equal(ds->nskipped, 5);
	assert_int_equal(ds->nsource, 13);
	zn_dataset_free(ds);
}

/* ---- combined ---- */

static void
test_combined(void **state)
{
	struct wlog w;
	struct zn_dataset *ds, *s;

	(void)state;
	ds = load(ZN_COMBINED,
	    "# header\n"
	    "$TTL 77\n"
	    "$1 hdr\n"
	    "$= B[$=]\n"
	    "$SOA 0 ns.ex. h.ex. 1 2 3 4 5\n"
	    "$DATASET dnset:lbl one Two. # comment\n"
	    "$1 inner\n"
	    "$2 two\n"
	    "$TTL 88\n"
	    "$NS 0 ns1.ex.\n"
	    ":3:def\n"
	    "a.ex\n"
	    ".\n"
	    "$DATASET dnset\n"
	    "ignored.ex\n"
	    "$2 lost\n"
	    "$DATASET generic @\n"
	    "@ A 1.2.3.4\n"
	    "$DATASET dnset three\n"
	    "b.ex\n"
	    "$DATASET combined four\n"
	    "c.ex\n",
	    &w);
	assert_int_equal(ds->nent, 0);
	assert_int_equal(ds->ttl, 77);
	assert_true(ds->has_soa);
	assert_int_equal(ds->soa.ttl, 77);
	assert_int_equal(ds->nns, 1);
	assert_int_equal(ds->ns_ttl, 88); /* $NS 0 inside the subset */
	assert_string_equal(ds->vars[1], "hdr");
	assert_int_equal(ds->nsubsets, 3);

	assert_int_equal(ds->subsets[0].nsub, 2);
	assert_string_equal(ds->subsets[0].subzones[0], "one");
	assert_string_equal(ds->subsets[0].subzones[1], "two");
	s = ds->subsets[0].ds;
	assert_int_equal(s->type, ZN_DNSET);
	assert_string_equal(s->label, "lbl");
	assert_int_equal(s->ttl, 88);
	assert_string_equal(s->vars[1], "hdr"); /* observed: header wins */
	assert_string_equal(s->vars[2], "two");
	assert_string_equal(s->base, "B[$=]");
	assert_false(s->has_soa);
	assert_int_equal(s->nns, 0);
	assert_string_equal(dn(s, "a.ex", ZN_NAME_EXACT), ":127.0.0.3:def");
	assert_int_equal(s->nskipped, 1);
	assert_int_equal(s->nsource, 1);

	assert_int_equal(ds->subsets[1].nsub, 1);
	assert_string_equal(ds->subsets[1].subzones[0], "");
	s = ds->subsets[1].ds;
	assert_int_equal(s->type, ZN_GENERIC);
	assert_null(s->vars[1]);
	assert_int_equal(s->nent, 1);
	assert_int_equal(s->ttl, 77);

	s = ds->subsets[2].ds;
	assert_string_equal(ds->subsets[2].subzones[0], "three");
	/* the default line of subset one does not leak */
	assert_string_equal(dn(s, "b.ex", ZN_NAME_EXACT), ":127.0.0.2:");
	assert_int_equal(s->ttl, 77);

	assert_warning(&w, "t.zone:13: the zone apex can't be listed");
	assert_warning(&w,
	    "t.zone:14: $DATASET: no subzones specified, data ignored");
	assert_warning(&w,
	    "t.zone:21: $DATASET: invalid dataset type, data ignored");
	assert_int_equal(w.n, 3);
	assert_int_equal(ds->nskipped, 3);
	assert_int_equal(ds->nsource, 3);
	assert_int_equal(ds->nlines, 22);
	zn_dataset_free(ds);

	load_fail(ZN_COMBINED, "$TTL 5\n\n# c\na.ex\n", -EINVAL,
	    "t.zone:4: data line without a $DATASET line");
}

static void
test_combined_files(void **state)
{
	char f1[128], f2[128];
	const char *files[2];
	struct zn_dataset *ds = NULL;
	struct zn_err err;
	struct wlog w;
	char exp[256];

	(void)state;
	snprintf(f1, sizeof(f1), "%s/c1", tmpdir);
	snprintf(f2, sizeof(f2), "%s/c2", tmpdir);
	write_file(f1, "$DATASET dnset sub\na.example\n");
	write_file(f2, "b.example\n");
	files[0] = f1;
	files[1] = f2;
	/* observed: a new file does not continue the subset */
	assert_int_equal(
	    load_files(ZN_COMBINED, files, 2, false, &ds, &w, &err), -EINVAL);
	assert_null(ds);
	snprintf(exp, sizeof(exp), "%s:1: data line without a $DATASET line",
	    f2);
	assert_string_equal(err.msg, exp);

	write_file(f2, "$TTL 9\n$DATASET dnset sub\nb.example\n");
	assert_int_equal(
	    load_files(ZN_COMBINED, files, 2, false, &ds, &w, &err), 0);
	assert_int_equal(ds->nsubsets, 2);
	assert_int_equal(ds->subsets[0].ds->nent, 1);
	assert_int_equal(ds->subsets[1].ds->ttl, 9);
	zn_dataset_free(ds);
}

/* ---- templates (REFERENCE 3.4) ---- */

static const char *
expand(const struct zn_dataset *ds, int kind, const char *txt,
    const char *subject)
{
	static char out[ZN_TXT_OUT_MAX + 1];
	int n;

	n = zn_txt_expand(ds, kind, txt, strlen(txt), subject, out);
	if (n < 0)
		return NULL;
	assert_true(n <= ZN_TXT_OUT_MAX);
	out[n] = '\0';
	return out;
}

static void
test_txt_expand(void **state)
{
	struct zn_dataset ds;
	char big[600], *r;
	const char *e;

	(void)state;
	memset(&ds, 0, sizeof(ds));
	ds.vars[1] = (char *)(uintptr_t) "var $ val";
	/* observed on rbldnsd without a base template */
	assert_string_equal(
	    expand(&ds, ZN_TXT_TEXT, "txt $ $1 $9 $= $$ end$", "1.2.3.7"),
	    "txt 1.2.3.7 var $ val $9 txt $ $1 $9 $= $$ end$ $ end1.2.3.7");
	assert_string_equal(expand(&ds, ZN_TXT_TEXT, "$a", "1.2.3.8"),
	    "1.2.3.8a");
	assert_string_equal(expand(&ds, ZN_TXT_OWN, "hello", "x"), "hello");
	assert_null(expand(&ds, ZN_TXT_NONE, "", "x"));
	assert_null(expand(NULL, ZN_TXT_NONE, "", "x"));
	assert_string_equal(expand(NULL, ZN_TXT_TEXT, "a $1 $", NULL), "a $1 ");

	/* the REFERENCE 3.4 example */
	ds.vars[1] = (char *)(uintptr_t) "first";
	ds.base = (char *)(uintptr_t) "See http://bl.test/?$= ($)";
	assert_string_equal(expand(&ds, ZN_TXT_TEXT, "r123", "127.0.0.2"),
	    "See http://bl.test/?r123 (127.0.0.2)");
	assert_string_equal(expand(&ds, ZN_TXT_NONE, "", "127.0.0.3"),
	    "See http://bl.test/?127.0.0.3 (127.0.0.3)");
	assert_string_equal(
	    expand(&ds, ZN_TXT_OWN, "Own text for $ $1", "127.0.0.4"),
	    "Own text for 127.0.0.4 first");
	/* observed: the entry text goes into the base verbatim */
	ds.base = (char *)(uintptr_t) "base[$=]($)";
	assert_string_equal(expand(&ds, ZN_TXT_TEXT, "ent $ x $1", "1.2.3.1"),
	    "base[ent $ x $1](1.2.3.1)");
	/* an empty base template is no base template */
	ds.base = (char *)(uintptr_t) "";
	assert_null(expand(&ds, ZN_TXT_NONE, "", "x"));
	assert_string_equal(expand(&ds, ZN_TXT_TEXT, "$=", "x"), "$=");

	/* capped at 254 bytes */
	memset(big, 'z', 300);
	big[300] = '\0';
	ds.base = NULL;
	e = expand(&ds, ZN_TXT_TEXT, big, "s");
	assert_int_equal(strlen(e), ZN_TXT_OUT_MAX);
	r = big + 250;
	memcpy(r, "$$$$$$", 6);
	e = expand(&ds, ZN_TXT_TEXT, big, "subject");
	assert_int_equal(strlen(e), ZN_TXT_OUT_MAX);
}

/* ---- blobs: format, merge ---- */

static void
test_blob_format(void **state)
{
	uint8_t b[600];
	struct zn_val v;
	char buf[64];
	size_t n, r;

	(void)state;
	zn_val_default(&v);
	n = zn_blob_put_val(b, 0, &v);
	assert_int_equal(n, 7);
	v.a = 0x7f00000a;
	v.tkind = ZN_TXT_TEXT;
	memcpy(v.txt, "a|b\\\x01\xff", 6);
	v.tlen = 6;
	n = zn_blob_put_val(b, n, &v);
	v.tkind = ZN_TXT_OWN;
	v.tlen = 1;
	n = zn_blob_put_val(b, n, &v);
	strcpy(buf, "k ");
	r = zn_blob_format(b, n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "k :127.0.0.2: | :127.0.0.10:a\\124b\\092\\001\\255 | "
	    ":127.0.0.10:=a");
	assert_int_equal(r, strlen(buf));
	/* truncation: still NUL-terminated, returns the full length */
	buf[0] = '\0';
	r = zn_blob_format(b, n, buf, 10);
	assert_int_equal(strlen(buf), 9);
	assert_true(r > 9);
	b[0] = ZN_ANS_EXCLUDED;
	buf[0] = '\0';
	zn_blob_format(b, 1, buf, sizeof(buf));
	assert_string_equal(buf, "!excluded");
	buf[0] = '\0';
	b[0] = 0;
	zn_blob_format(b, 5, buf, sizeof(buf));
	assert_string_equal(buf, "!invalid");
}

static void
test_ds_sort(void **state)
{
	struct zn_dataset ds;
	uint8_t b1[] = { 0, 127, 0, 0, 2, 1, 1, 'x' };
	uint8_t b2[] = { 0, 127, 0, 0, 3, 0, 0, 127, 0, 0, 2, 1, 1, 'x' };
	uint8_t ex[] = { ZN_ANS_EXCLUDED };
	uint8_t ip1[] = { 1, 2, 3, 0, 0, 127, 0, 0, 2, 0, 0 };
	uint8_t ip2[] = { 1, 2, 3, 0, 0, 127, 0, 0, 4, 0, 0 };
	uint8_t g1[] = { 0, 0, 0, 1, 0, 1, 'a' };
	uint8_t g2[] = { 0, 0, 0, 2, 0, 1, 'b' };
	char buf[256];

	(void)state;
	memset(&ds, 0, sizeof(ds));
	ds.type = ZN_DNSET;
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"Nb\0\1", 4, b1, sizeof(b1)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"Na\0\1", 4, b1, sizeof(b1)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"Nb\0\1", 4, b2, sizeof(b2)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"Na\0\1", 4, ex, sizeof(ex)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"Na\0", 3, b1, sizeof(b1)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"G\0\0\1", 4, g2, sizeof(g2)), 0);
	assert_int_equal(
	    zn_ds_add(&ds, (const uint8_t *)"G\0\0\1", 4, g1, sizeof(g1)), 0);
	assert_int_equal(zn_ds_add(&ds, (const uint8_t *)"\4\1\2\3\xff", 5, ip1,
	                     sizeof(ip1)),
	    0);
	assert_int_equal(zn_ds_add(&ds, (const uint8_t *)"\4\1\2\3\xff", 5, ip2,
	                     sizeof(ip2)),
	    0);
	assert_int_equal(zn_ds_add(&ds, (const uint8_t *)"", 0, b1, 1),
	    -EINVAL);
	assert_int_equal(zn_ds_sort(&ds), 0);
	assert_sorted(&ds);
	assert_int_equal(ds.nent, 5);
	/* 0x04 < 'G' < 'N'; "Na\0" before "Na\0\1" */
	assert_int_equal(ds.ent[0].key[0], 4);
	assert_int_equal(ds.ent[0].blen, 4 + 1 + 12);
	assert_int_equal(ds.ent[1].key[0], 'G');
	assert_int_equal(ds.ent[1].blen, 14);
	assert_memory_equal(ds.ent[1].blob, "\0\0\0\2\0\1b\0\0\0\1\0\1a", 14);
	assert_int_equal(ds.ent[2].klen, 3);
	assert_int_equal(ds.ent[3].klen, 4);
	assert_int_equal(ds.ent[3].blen, 1);
	assert_int_equal(ds.ent[3].blob[0], ZN_ANS_EXCLUDED);
	buf[0] = '\0';
	zn_blob_format(ds.ent[4].blob, ds.ent[4].blen, buf, sizeof(buf));
	assert_string_equal(buf, ":127.0.0.2:x | :127.0.0.3:");
	ds.type = ZN_ACL;
	{
		uint8_t a1[] = { ZN_ACL_REFUSE };
		uint8_t a2[] = { ZN_ACL_PASS };
		size_t i;

		assert_int_equal(
		    zn_ds_add(&ds, (const uint8_t *)"\4\0\0\0\0", 5, a1, 1), 0);
		assert_int_equal(
		    zn_ds_add(&ds, (const uint8_t *)"\4\0\0\0\0", 5, a2, 1), 0);
		assert_int_equal(zn_ds_sort(&ds), 0);
		assert_int_equal(ds.nent, 6);
		assert_int_equal(ds.ent[0].blob[0], ZN_ACL_REFUSE);
		for (i = 0; i < ds.nent; i++) {
			free(ds.ent[i].key);
			free(ds.ent[i].blob);
		}
	}
	free(ds.ent);
}

/*
 * IPv6 keys with ":::": as rbldnsd, the address ends at the "::" and the
 * third ':' starts the value (diff seed 1214604019:
 * "2a01:2204:1491:f46c:::127.0.111.46:Blocked 100% see").
 */
static void
test_ip6_triple_colon(void **state)
{
	static const uint8_t f46c[16] = { 0x2a, 0x01, 0x22, 0x04, 0x14, 0x91,
		0xf4, 0x6c };
	static const uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t zero[16];
	uint8_t a[16];
	unsigned bits, alen;
	const char *rest;

	(void)state;
	assert_int_equal(zn_ip6trie_key("2a01:2204:1491:f46c:::127.0.111.46:"
	                                "Blocked 100% see",
	                     false, a, &bits, &rest),
	    0);
	assert_memory_equal(a, f46c, 16);
	assert_int_equal(bits, 128);
	assert_string_equal(rest, ":127.0.111.46:Blocked 100% see");
	assert_int_equal(
	    zn_ip6trie_key("2001:db8:::1 :127.0.0.4", false, a, &bits, &rest),
	    0);
	assert_memory_equal(a, db8, 16);
	assert_string_equal(rest, ":1 :127.0.0.4");
	assert_int_equal(zn_ip6trie_key(":::2", false, a, &bits, &rest), 0);
	assert_memory_equal(a, zero, 16);
	assert_string_equal(rest, ":2");
	assert_int_equal(zn_ip6tset_key("2001:db8:::5", true, a, &rest), 0);
	assert_memory_equal(a, db8, 16);
	assert_string_equal(rest, ":5");
	assert_int_equal(
	    zn_acl_key("2001:db8:::refuse", false, a, &alen, &bits, &rest), 0);
	assert_string_equal(rest, ":refuse");
	/* a second "::" still ends the address, a ':' after it is the value */
	assert_int_equal(zn_ip6trie_key("2001::1:::3", false, a, &bits, &rest),
	    0);
	assert_string_equal(rest, "::3");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_revname),
		cmocka_unit_test(test_name_wire),
		cmocka_unit_test(test_parse_a),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_ip6_triple_colon),
		cmocka_unit_test(test_default_lines),
		cmocka_unit_test(test_driver_routing),
		cmocka_unit_test(test_dataset_wide_default),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_dnset),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_combined),
		cmocka_unit_test(test_combined_files),
		cmocka_unit_test(test_txt_expand),
		cmocka_unit_test(test_blob_format),
		cmocka_unit_test(test_ds_sort),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
