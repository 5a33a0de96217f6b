/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local policy (zones/policy.c): add, remove and list; entry checking;
 * allow over deny over the datasets in lookups, with CIDR and wildcard
 * precedence; the policy survives zn_db_replace_flags(ZN_REPLACE_ALL)
 * and zn_feed_apply_mem; explain names the entry and the policy.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db_int.h"
#include "feed.h"
#include "testutil.h"
#include "zones.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static struct zn_dataset *
load_text(enum zn_dstype t, const char *text)
{
	struct zn_parse_opts o;
	struct zn_dataset *ds = NULL;
	struct zn_err err;

	memset(&o, 0, sizeof(o));
	o.now = 1800000000;
	if (zn_dataset_load_mem(t, "t.txt", text, strlen(text), &o, &ds,
	        &err) != 0)
		fail_msg("load: %s", err.msg);
	return ds;
}

static const char ip_zone[] = ":127.0.0.2:Listed $\n"
                              "192.0.2.0/24\n"
                              "10.0.0.0/8\n"
                              "172.16.0.0/12\n"
                              "203.0.113.0/24\n";
static const char dn_zone[] = ":127.0.0.3:Spam $\n"
                              "*.example.com\n"
                              "spam.test\n";

/* Store bl.test (ip4set) and dbl.test (dnset); with all, drop others. */
static void
store(struct zn_db *db, bool with_dbl, unsigned flags)
{
	struct zn_spec s[2];
	struct zn_dataset *ds[2];
	struct zn_err err;
	size_t n = with_dbl ? 2 : 1, i;

	assert_int_equal(zn_spec_parse("bl.test:ip4set:bl.txt", &s[0], &err),
	    0);
	assert_int_equal(zn_spec_parse("dbl.test:dnset:dbl.txt", &s[1], &err),
	    0);
	ds[0] = load_text(ZN_IP4SET, ip_zone);
	ds[1] = load_text(ZN_DNSET, dn_zone);
	if (zn_db_replace_flags(db, s, ds, n, flags, NULL, &err) != 0)
		fail_msg("replace: %s", err.msg);
	for (i = 0; i < 2; i++) {
		zn_spec_cleanup(&s[i]);
		zn_dataset_free(ds[i]);
	}
}

/* Look name up: 0 if not listed, else the first A; txt gets the TXT. */
static uint32_t
look(struct zn_view *v, const char *name, char *txt)
{
	struct zn_qname q;
	struct zn_result r;
	struct zn_rendered out;
	const struct zn_zone *z;
	unsigned nkey;

	if (txt != NULL)
		txt[0] = '\0';
	assert_int_equal(zn_qname_from_text(&q, name), 0);
	z = zn_view_match(v, &q, &nkey);
	if (z == NULL)
		fail_msg("%s: no zone", name);
	assert_int_equal(zn_lookup(v, z, &q, nkey, &r), 0);
	if (!(r.flags & ZN_R_LISTED))
		return 0;
	zn_result_render(&r, 300, &out);
	assert_true(out.na >= 1);
	if (txt != NULL && out.ntxt > 0) {
		memcpy(txt, out.txt[0], out.tlen[0]);
		txt[out.tlen[0]] = '\0';
	}
	return out.a[0];
}

static int
add(struct zn_db *db, const char *zone, const char *entry, int action,
    uint32_t a, const char *reason, struct zn_err *err)
{
	struct zn_policy_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.zone, sizeof(e.zone), "%s", zone);
	snprintf(e.entry, sizeof(e.entry), "%s", entry);
	snprintf(e.who, sizeof(e.who), "tester");
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	e.action = action;
	e.a = a;
	e.when = 1800000123;
	return zn_policy_add(db, &e, err);
}

static void
add_ok(struct zn_db *db, const char *zone, const char *entry, int action,
    uint32_t a, const char *reason)
{
	struct zn_err err;

	if (add(db, zone, entry, action, a, reason, &err) != 0)
		fail_msg("add %s %s: %s", zone, entry, err.msg);
}

struct list {
	size_t n;
	struct zn_policy_entry e[32];
};

static int
collect(void *arg, const struct zn_policy_entry *e)
{
	struct list *l = arg;

	if (l->n == 32)
		return -ENOSPC;
	l->e[l->n++] = *e;
	return 0;
}

static const struct zn_policy_entry *
find(const struct list *l, const char *zone, const char *entry)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->e[i].zone, zone) == 0 &&
		    strcmp(l->e[i].entry, entry) == 0)
			return &l->e[i];
	return NULL;
}

static void
test_add_remove_list(void **state)
{
	char *dir = tu_tmpdir();
	struct zn_db *db;
	struct zn_err err;
	struct list l;
	const struct zn_policy_entry *e;
	struct zn_policy_entry old;

	(void)state;
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	/* an empty store lists nothing */
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 0);

	add_ok(db, "bl.test", "192.0.2.0/24", ZN_POLICY_ALLOW, 0, "fp #1");
	add_ok(db, "BL.test.", "10.0.0.0/8", ZN_POLICY_DENY, IP4(127, 0, 0, 9),
	    "local");
	add_ok(db, "bl.test", "2001:DB8::/32", ZN_POLICY_DENY, 0, "");
	add_ok(db, "dbl.test", "*.Example.COM", ZN_POLICY_DENY, 0, "spam");
	add_ok(db, "dbl.test", "good.example.com.", ZN_POLICY_ALLOW, 0, "ok");

	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 5);
	/* canonical text, the deny default value, who/when/why */
	assert_non_null(e = find(&l, "bl.test", "192.0.2.0/24"));
	assert_int_equal(e->action, ZN_POLICY_ALLOW);
	assert_string_equal(e->who, "tester");
	assert_int_equal(e->when, 1800000123);
	assert_string_equal(e->reason, "fp #1");
	assert_non_null(e = find(&l, "bl.test", "10.0.0.0/8"));
	assert_int_equal(e->action, ZN_POLICY_DENY);
	assert_int_equal(e->a, IP4(127, 0, 0, 9));
	assert_non_null(e = find(&l, "bl.test", "2001:db8::/32"));
	assert_int_equal(e->a, ZN_DEFAULT_A);
	assert_non_null(find(&l, "dbl.test", "*.example.com"));
	assert_non_null(find(&l, "dbl.test", "good.example.com"));

	/* per zone */
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, "dbl.test", collect, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.e[0].zone, "dbl.test");
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, "none.test", collect, &l, &err), 0);
	assert_int_equal(l.n, 0);

	/* the same entry again replaces it, whatever its action */
	add_ok(db, "bl.test", "10.0.0.0/8", ZN_POLICY_ALLOW, 0, "changed");
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, "bl.test", collect, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_non_null(e = find(&l, "bl.test", "10.0.0.0/8"));
	assert_int_equal(e->action, ZN_POLICY_ALLOW);
	assert_string_equal(e->reason, "changed");

	/* removal: by action, wrong action, absent */
	assert_int_equal(zn_policy_remove(db, "bl.test", "10.0.0.0/8",
	                     ZN_POLICY_DENY, NULL, &err),
	    -ENOENT);
	assert_non_null(strstr(err.msg, "not denied but allowed"));
	assert_int_equal(zn_policy_remove(db, "bl.test", "10.0.0.0/8",
	                     ZN_POLICY_ALLOW, &old, &err),
	    0);
	assert_string_equal(old.reason, "changed");
	assert_int_equal(zn_policy_remove(db, "bl.test", "10.0.0.0/8",
	                     ZN_POLICY_ALLOW, NULL, &err),
	    -ENOENT);
	assert_non_null(
	    strstr(err.msg, "no local policy entry for 10.0.0.0/8"));
	assert_int_equal(
	    zn_policy_remove(db, "bl.test", "2001:db8:0::/32", 0, NULL, &err),
	    0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 3);

	/* bad input names the field and changes nothing */
	assert_int_equal(
	    add(db, "bl.test", "10.1.0.0/8", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "host bits"));
	assert_non_null(strstr(err.msg, "10.0.0.0/8"));
	assert_int_equal(
	    add(db, "bl.test", "1.2.3.4/33", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "prefix length"));
	assert_int_equal(
	    add(db, "bl.test", "300.1.2.3", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "not an IPv4 address"));
	assert_int_equal(
	    add(db, "bl.test", "2001:db8::zz", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "IPv6"));
	assert_int_equal(
	    add(db, "bl.test", "a b.test", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "entry"));
	assert_int_equal(add(db, "bl.test", "*.", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_int_equal(
	    add(db, "bl.test", "a..b", ZN_POLICY_DENY, 0, "", &err), -EINVAL);
	assert_int_equal(add(db, "", "1.2.3.4", ZN_POLICY_DENY, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "zone"));
	assert_int_equal(add(db, "bl.test", "1.2.3.4", ZN_POLICY_DENY, 0,
	                     "bad\001reason", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "reason"));
	assert_int_equal(add(db, "bl.test", "1.2.3.4", 7, 0, "", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "action"));
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 3);

	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
}

static void
test_precedence(void **state)
{
	char *dir = tu_tmpdir(), txt[ZN_TXT_OUT_MAX + 1];
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	uint64_t gen;

	(void)state;
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	store(db, true, 0);
	assert_int_equal(zn_view_open(db, &v, &err), 0);
	assert_int_equal(look(v, "5.2.0.192.bl.test", NULL), IP4(127, 0, 0, 2));
	assert_int_equal(look(v, "200.2.0.192.bl.test", NULL),
	    IP4(127, 0, 0, 2));
	assert_int_equal(look(v, "1.100.51.198.bl.test", NULL), 0);
	assert_int_equal(look(v, "a.example.com.dbl.test", NULL),
	    IP4(127, 0, 0, 3));

	gen = zn_view_generation(v);
	/* allow a /25 inside a listed /24 */
	add_ok(db, "bl.test", "192.0.2.128/25", ZN_POLICY_ALLOW, 0, "fp");
	/* deny a range no dataset lists, with a value and a reason */
	add_ok(db, "bl.test", "198.51.100.0/24", ZN_POLICY_DENY,
	    IP4(127, 0, 0, 9), "blocked here: $");
	/* a wide allow beats a narrower deny */
	add_ok(db, "bl.test", "172.16.0.0/12", ZN_POLICY_ALLOW, 0, "");
	add_ok(db, "bl.test", "172.16.5.0/24", ZN_POLICY_DENY, 0, "");
	/* the longest deny gives the value */
	add_ok(db, "bl.test", "203.0.113.0/24", ZN_POLICY_DENY,
	    IP4(127, 0, 0, 4), "wide");
	add_ok(db, "bl.test", "203.0.113.128/25", ZN_POLICY_DENY,
	    IP4(127, 0, 0, 5), "narrow");
	/* a host entry: deny inside an allowed /8 still loses */
	add_ok(db, "bl.test", "10.0.0.0/8", ZN_POLICY_ALLOW, 0, "");
	add_ok(db, "bl.test", "10.1.2.3", ZN_POLICY_DENY, 0, "");
	/* names */
	add_ok(db, "dbl.test", "*.example.com", ZN_POLICY_ALLOW, 0, "");
	add_ok(db, "dbl.test", "bad.example.com", ZN_POLICY_DENY, 0, "");
	add_ok(db, "dbl.test", "*.x.test", ZN_POLICY_DENY, IP4(127, 0, 0, 6),
	    "wild");
	add_ok(db, "dbl.test", "a.x.test", ZN_POLICY_DENY, IP4(127, 0, 0, 7),
	    "exact");
	add_ok(db, "dbl.test", "*.y.test", ZN_POLICY_DENY, IP4(127, 0, 0, 8),
	    "");
	add_ok(db, "dbl.test", "*.z.y.test", ZN_POLICY_DENY, IP4(127, 0, 0, 9),
	    "");
	add_ok(db, "dbl.test", "spam.test", ZN_POLICY_ALLOW, 0, "");
	/* IPv6: a nibble name; a v4-mapped one reads as IPv4 */
	add_ok(db, "bl.test", "2001:db8::/32", ZN_POLICY_DENY,
	    IP4(127, 0, 0, 10), "v6");
	/* a policy of a zone not served changes nothing */
	add_ok(db, "other.test", "192.0.2.5", ZN_POLICY_ALLOW, 0, "");

	/* the view sees nothing until it is refreshed, then everything */
	assert_int_equal(look(v, "200.2.0.192.bl.test", NULL),
	    IP4(127, 0, 0, 2));
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_true(zn_view_generation(v) > gen);

	assert_int_equal(look(v, "5.2.0.192.bl.test", NULL), IP4(127, 0, 0, 2));
	assert_int_equal(look(v, "127.2.0.192.bl.test", NULL),
	    IP4(127, 0, 0, 2));
	assert_int_equal(look(v, "128.2.0.192.bl.test", NULL), 0);
	assert_int_equal(look(v, "255.2.0.192.bl.test", NULL), 0);
	assert_int_equal(look(v, "1.100.51.198.bl.test", txt),
	    IP4(127, 0, 0, 9));
	assert_string_equal(txt, "blocked here: 198.51.100.1");
	assert_int_equal(look(v, "1.5.16.172.bl.test", NULL), 0);
	assert_int_equal(look(v, "1.0.20.172.bl.test", NULL), 0);
	assert_int_equal(look(v, "1.113.0.203.bl.test", txt),
	    IP4(127, 0, 0, 4));
	assert_string_equal(txt, "wide");
	assert_int_equal(look(v, "200.113.0.203.bl.test", txt),
	    IP4(127, 0, 0, 5));
	assert_string_equal(txt, "narrow");
	assert_int_equal(look(v, "3.2.1.10.bl.test", NULL), 0);
	assert_int_equal(look(v, "4.2.1.10.bl.test", NULL), 0);
	assert_int_equal(look(v,
	                     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	                     "8.b.d.0.1.0.0.2.bl.test",
	                     txt),
	    IP4(127, 0, 0, 10));
	assert_string_equal(txt, "v6");
	assert_int_equal(look(v,
	                     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	                     "9.b.d.0.1.0.0.2.bl.test",
	                     NULL),
	    0);
	/* ::ffff:198.51.100.1 */
	assert_int_equal(look(v,
	                     "1.0.4.6.3.3.6.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0."
	                     "0.0.0.0.0.0.0.0.bl.test",
	                     NULL),
	    IP4(127, 0, 0, 9));
	/* names: a wildcard allow beats an exact deny */
	assert_int_equal(look(v, "a.example.com.dbl.test", NULL), 0);
	assert_int_equal(look(v, "bad.example.com.dbl.test", NULL), 0);
	assert_int_equal(look(v, "spam.test.dbl.test", NULL), 0);
	/* exact over wildcard, longest wildcard, strict subdomains only */
	assert_int_equal(look(v, "a.x.test.dbl.test", txt), IP4(127, 0, 0, 7));
	assert_string_equal(txt, "exact");
	assert_int_equal(look(v, "b.x.test.dbl.test", txt), IP4(127, 0, 0, 6));
	assert_string_equal(txt, "wild");
	assert_int_equal(look(v, "x.test.dbl.test", NULL), 0);
	assert_int_equal(look(v, "q.z.y.test.dbl.test", NULL),
	    IP4(127, 0, 0, 9));
	assert_int_equal(look(v, "q.w.y.test.dbl.test", txt),
	    IP4(127, 0, 0, 8));
	assert_string_equal(txt, "listed by local policy");
	assert_int_equal(look(v, "z.y.test.dbl.test", NULL), IP4(127, 0, 0, 8));

	/* removing restores the datasets' answer */
	assert_int_equal(zn_policy_remove(db, "bl.test", "192.0.2.128/25",
	                     ZN_POLICY_ALLOW, NULL, &err),
	    0);
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_int_equal(look(v, "200.2.0.192.bl.test", NULL),
	    IP4(127, 0, 0, 2));

	zn_view_close(v);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
}

static void
test_survives_updates(void **state)
{
	char *dir = tu_tmpdir(), *spec = strdup("ip4set:feed.txt");
	struct zn_db *db;
	struct zn_view *v;
	struct zn_err err;
	struct zn_dataset *fds;
	struct zn_feed_content c = { "feed.test", 1, &spec, &fds };
	struct zn_feed_target t;
	struct list l;
	uint8_t *snap;
	size_t sl;

	(void)state;
	assert_int_equal(zn_db_open(dir, 0, 0, &db, &err), 0);
	store(db, true, 0);
	add_ok(db, "bl.test", "192.0.2.0/24", ZN_POLICY_ALLOW, 0, "fp");
	add_ok(db, "dbl.test", "spam.test", ZN_POLICY_ALLOW, 0, "fp");
	add_ok(db, "feed.test", "192.0.2.7", ZN_POLICY_ALLOW, 0, "fp");
	add_ok(db, "feed.test", "192.0.2.8", ZN_POLICY_DENY, 0, "here");

	/* a full re-import that drops dbl.test keeps every entry */
	store(db, false, ZN_REPLACE_ALL);
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(zn_view_open(db, &v, &err), 0);
	assert_int_equal(look(v, "5.2.0.192.bl.test", NULL), 0);
	assert_int_equal(look(v, "5.0.0.10.bl.test", NULL), IP4(127, 0, 0, 2));
	/* the zone comes back: its policy with it */
	store(db, true, ZN_REPLACE_ALL);
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_int_equal(look(v, "spam.test.dbl.test", NULL), 0);
	assert_int_equal(look(v, "5.2.0.192.bl.test", NULL), 0);

	/* a feed-synced zone */
	fds = load_text(ZN_IP4SET, ":127.0.0.2:Feed $\n192.0.2.0/24\n");
	assert_int_equal(zn_feed_snapshot_encode(&c, 1, &snap, &sl, &err), 0);
	memset(&t, 0, sizeof(t));
	t.serial = 1;
	assert_int_equal(zn_feed_content_digest(&c, t.digest, &t.entries, &err),
	    0);
	t.expires = 1900000000;
	if (zn_feed_apply_mem(db, "feed.test", snap, sl, NULL, 0, &t,
	        1800000000, NULL, &err) != 0)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(zn_view_refresh(v, &err), 1);
	assert_int_equal(look(v, "6.2.0.192.feed.test", NULL),
	    IP4(127, 0, 0, 2));
	assert_int_equal(look(v, "7.2.0.192.feed.test", NULL), 0);
	assert_int_equal(look(v, "8.2.0.192.feed.test", NULL), ZN_DEFAULT_A);
	memset(&l, 0, sizeof(l));
	assert_int_equal(zn_policy_list(db, NULL, collect, &l, &err), 0);
	assert_int_equal(l.n, 4);

	/* explain: the CIDR, the value, the feed serial, the policy */
	{
		struct zn_explain *ex = malloc(sizeof(*ex));
		uint8_t cl[4] = { 127, 0, 0, 1 };

		assert_non_null(ex);
		assert_int_equal(zn_explain(v, db, "7.2.0.192.feed.test", cl, 4,
		                     300, ex, &err),
		    0);
		assert_true(ex->zone_found);
		assert_string_equal(ex->zone, "feed.test");
		assert_int_equal(ex->nds, 1);
		assert_true(ex->ds[0].matched);
		assert_string_equal(ex->ds[0].match, "192.0.2.0/24");
		assert_int_equal(ex->ds[0].a[0], ZN_DEFAULT_A);
		assert_string_equal(ex->ds[0].txt[0], "Feed 192.0.2.7");
		assert_true(ex->feed);
		assert_int_equal(ex->feed_serial, 1);
		assert_true(ex->policy);
		assert_int_equal(ex->pol.action, ZN_POLICY_ALLOW);
		assert_string_equal(ex->pol.entry, "192.0.2.7");
		assert_string_equal(ex->pol.who, "tester");
		assert_true(ex->client);
		assert_int_equal(ex->acl, ZN_ACL_PASS);
		assert_false(ex->listed);
		assert_int_equal(zn_explain(v, db, "7.2.0.192.nowhere.test",
		                     NULL, 0, 300, ex, &err),
		    0);
		assert_false(ex->zone_found);
		assert_int_equal(
		    zn_explain(v, db, "a..b", NULL, 0, 300, ex, &err), -EINVAL);
		free(ex);
	}

	zn_view_close(v);
	zn_db_close(db);
	tu_rmtree(dir);
	free(dir);
	free(snap);
	free(spec);
	zn_dataset_free(fds);
}

/* The one reversed-address parser (db_int.h) of lookup.c, policy.c and
 * explain.c, with the options each of them uses. */
static void
test_rev_addr(void **state)
{
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 192, 0, 2, 5 };
	uint8_t a[16];
	struct zn_qname q;
	char six[80];
	int i;

	(void)state;
	assert_int_equal(zn_qname_from_text(&q, "5.2.0.192.bl.test"), 0);
	/* lookup.c: partial or whole IPv4, a[0..n) */
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP4, a), 0);
	assert_memory_equal(a, "\xc0\x00\x02\x05", 4);
	assert_int_equal(zn_rev_addr(&q, 2, ZN_REV_IP4, a), 0);
	assert_memory_equal(a, "\x02\x05", 2);
	/* explain.c: whole only */
	assert_int_equal(zn_rev_addr(&q, 2, ZN_REV_IP4 | ZN_REV_FULL, a), -1);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP4 | ZN_REV_FULL, a), 0);
	/* policy.c: v4-mapped into 16 bytes */
	memset(a, 0x55, sizeof(a));
	assert_int_equal(
	    zn_rev_addr(&q, 4, ZN_REV_IP4 | ZN_REV_FULL | ZN_REV_MAPPED, a), 0);
	assert_memory_equal(a, mapped, 16);
	/* not addresses: a label past 255, four digits, a letter, too many
	 * labels */
	assert_int_equal(zn_qname_from_text(&q, "5.256.0.192.bl.test"), 0);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP4, a), -1);
	assert_int_equal(zn_qname_from_text(&q, "5.0002.0.192.bl.test"), 0);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP4, a), -1);
	assert_int_equal(zn_qname_from_text(&q, "5.x.0.192.bl.test"), 0);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP4, a), -1);
	assert_int_equal(zn_rev_addr(&q, 5, ZN_REV_IP4, a), -1);
	/* IPv6: 32 nibbles of 2001:db8::1 */
	for (i = 0; i < 32; i++) {
		six[2 * i] = "100000000000000000000000"
		             "8bd01002"[i];
		six[2 * i + 1] = '.';
	}
	snprintf(six + 64, sizeof(six) - 64, "bl.test");
	assert_int_equal(zn_qname_from_text(&q, six), 0);
	assert_int_equal(zn_rev_addr(&q, 32, ZN_REV_IP6 | ZN_REV_FULL, a), 0);
	assert_memory_equal(a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
	    16);
	/* lookup.c: a partial one, the rest zero: the top 4 nibbles of
	 * labels [28, 32) would need the key's last 4 labels; the first
	 * 4 labels read as the top nibbles "1000" */
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP6, a), 0);
	assert_memory_equal(a, "\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP6 | ZN_REV_FULL, a), -1);
	/* a label of two characters is no nibble */
	assert_int_equal(zn_qname_from_text(&q, "10.0.0.0.bl.test"), 0);
	assert_int_equal(zn_rev_addr(&q, 4, ZN_REV_IP6, a), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rev_addr),
		cmocka_unit_test(test_add_remove_list),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_survives_updates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
